"""Reading shop exports: siyu.read_orders, its parsers and the report command's input.

Every format and encoding of one realistic export (tests/exports.py) must give the same
log as the hand-parsed frame through siyu.Transactions; the C parsers are checked
against slow pure-Python oracles on random and edge inputs; every bad input gets one
clear error whose proposed fix works when applied, in process and on the command line.
"""
from __future__ import annotations

import codecs
import gzip
import io
import math
import os
import re
import subprocess
import sys
import time
import unicodedata
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import siyu
from siyu import _parse as P
from siyu import io as sio

sys.path.insert(0, os.path.dirname(__file__))
import exports  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
C = exports.COLUMNS
BASE = dict(customer=C["customer"], time=C["time"], amount=C["amount"], channel=C["channel"],
            member=C["member"])
LINES = lambda rows: [f"line {int(r) + 2}" for r in rows]  # noqa: E731


@pytest.fixture(scope="module")
def export():
    return exports.make_export(3)


@pytest.fixture(scope="module")
def files(export, tmp_path_factory):
    d = tmp_path_factory.mktemp("exports")
    out = exports.write_all(export, str(d))
    out["whitespace.txt"] = exports.write_whitespace(export, str(d / "aligned.txt"))
    gz = d / "orders.csv.gz"
    with open(out["gbk.csv"], "rb") as f, gzip.open(gz, "wb") as g:
        g.write(f.read())
    out["gbk.csv.gz"] = str(gz)
    return out


@pytest.fixture(scope="module")
def reference(export):
    return siyu.Transactions(export.parsed, **BASE)


def _same_log(tx, ref):
    assert tx.n_rows == ref.n_rows and tx.n_customers == ref.n_customers
    assert tx.customer_ids.tolist() == ref.customer_ids.tolist()
    pd.testing.assert_frame_equal(tx.summary(), ref.summary())
    pd.testing.assert_frame_equal(tx.summary(freq="W", unit="D"), ref.summary(freq="W", unit="D"))
    a, b = tx.repurchase(within=(30,)).overall, ref.repurchase(within=(30,)).overall
    pd.testing.assert_frame_equal(a, b)
    assert np.array_equal(tx._log.member, ref._log.member)
    assert tx._log.channel_labels.tolist() == ref._log.channel_labels.tolist()
    assert np.array_equal(tx._log.channel, ref._log.channel)


@pytest.mark.parametrize("name", ["gbk.csv", "utf8bom.csv", "utf16.txt", "semicolon.csv",
                                  "xlsx", "parquet", "whitespace.txt", "gbk.csv.gz"])
def test_every_format_reads_the_same_log(files, reference, name):
    tx = siyu.read_orders(files[name], **BASE)
    _same_log(tx, reference)
    assert _quality(tx) == {"total_rows_dropped": 1}


def _quality(tx):
    table = tx.quality
    return {k: int(v) for k, v in table["count"].items()
            if k in ("total_rows_dropped", "blank_rows_dropped", "unreadable_rows_dropped",
                     "customer_ids_stripped") and int(v)}


FULL = dict(BASE, order=C["order"], status=C["status"], refund=C["refund"])


@pytest.mark.parametrize("name", ["gbk.csv", "utf16.txt", "xlsx", "parquet"])
def test_order_semantics_match_the_plain_pandas_oracle(files, export, name):
    """Every figure of read_orders with order ids, statuses and refunds = the §2a oracle."""
    import reference as ref
    import reference_orders as ro
    from test_orders import assert_summary_equal, repurchase_oracle

    tx = siyu.read_orders(files[name], **FULL)
    kw = {k: v for k, v in FULL.items() if k not in ("channel", "member")}
    want = ro.order_log(export.parsed, **kw)
    assert sorted(tx.customer_ids) == sorted(want.log["customer"].unique())
    q = tx.quality["count"].to_dict()
    assert q.pop("total_rows_dropped") == 1
    assert q == want.quality
    end = want.log["day"].max()
    s = tx.summary(end=end)
    w = ref.summary(want.log, end, customer="customer", time="day", amount="amount")
    assert_summary_equal(s, w)
    purchases = want.log[want.log["kind"] == "purchase"]
    assert int(s["n_orders"].sum()) == len(purchases) == tx.n_rows - int(
        (want.log["kind"] == "refund").sum())
    assert s["revenue"].sum() == pytest.approx(want.log["amount"].sum())
    assert (s["frequency"] > 0).mean() == pytest.approx((w["frequency"] > 0).mean())
    rp = tx.repurchase(within=(30,), end=end).overall
    assert (int(rp["eligible"].iloc[0]), int(rp["repurchased"].iloc[0])) == \
        repurchase_oracle(want.log, end, 30)
    # and the same as the hand-parsed frame through Transactions
    pd.testing.assert_frame_equal(s, siyu.Transactions(export.parsed, **FULL).summary(end=end))


def test_ids_are_text_and_keep_their_zeros(files, export):
    tx = siyu.read_orders(files["gbk.csv"], **BASE)
    ids = set(tx.customer_ids)
    padded = [i for i in ids if i.startswith("0") and i.lstrip("0") in ids]
    assert padded, "the export has two ids that differ only by leading zeros"
    assert ids == set(export.parsed[C["customer"]])
    # text ids: a string Index (the same dtype as text ids from a DataFrame), never numbers
    assert pd.api.types.is_string_dtype(tx.customer_ids.dtype)
    assert all(isinstance(i, str) for i in ids)


def test_file_objects_bytes_and_text(files, reference, export):
    raw = Path(files["gbk.csv"]).read_bytes()
    _same_log(siyu.read_orders(io.BytesIO(raw), **BASE), reference)
    _same_log(siyu.read_orders(raw, **BASE), reference)
    text = raw.decode("gbk")
    _same_log(siyu.read_orders(io.StringIO(text), **BASE), reference)
    xlsx = Path(files["xlsx"]).read_bytes()
    _same_log(siyu.read_orders(io.BytesIO(xlsx), **BASE), reference)
    pq = Path(files["parquet"]).read_bytes()
    _same_log(siyu.read_orders(io.BytesIO(pq), **BASE), reference)


def test_zipped_export(files, reference, tmp_path):
    import zipfile

    path = tmp_path / "orders.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.write(files["gbk.csv"], "订单导出.csv")
    _same_log(siyu.read_orders(path, **BASE), reference)
    with zipfile.ZipFile(tmp_path / "two.zip", "w") as zf:
        zf.writestr("a.csv", "x")
        zf.writestr("b.csv", "y")
    with pytest.raises(ValueError, match="holds 2 files"):
        siyu.read_orders(tmp_path / "two.zip", **BASE)


def test_read_csv_is_an_alias(files, reference):
    tx = siyu.read_csv(files["utf8bom.csv"], **BASE)
    _same_log(tx, reference)


@pytest.mark.parametrize("enc", ["utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16",
                                 "utf-16-le", "utf-16-be"])
def test_detect_encoding(enc):
    text = "订单编号,买家ID,实付金额\nE1,00123,￥1,299.00\n" * 50
    got = sio.detect_encoding(text.encode(enc))
    assert got in ({"gbk": "gb18030"}.get(enc, enc),)
    # a sample cut inside a multi-byte character still decodes
    data = text.encode(enc)
    cut = data[: len(data) // 2 + 1]
    assert sio.detect_encoding(cut, complete=False) == got


@pytest.mark.parametrize("enc", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_reads_the_same_numbers(enc):
    text = ("订单编号,买家ID,实付金额,付款时间\nE1,00123,\"￥1,299.00\",2024-03-01\n"
            "E2,7,5.00,2024-03-02\nE3,00123,(12.50),2024-03-03\n")
    tx = siyu.read_orders(io.BytesIO(text.encode(enc)), customer="买家ID", time="付款时间",
                          amount="实付金额")
    assert tx.customer_ids.tolist() == ["00123", "7"]
    assert tx.summary()["revenue"].tolist() == [1286.5, 5.0]


def test_detect_big5_with_charset_normalizer():
    pytest.importorskip("charset_normalizer")
    text = "訂單編號,買家,金額\n1,張三,100\n2,李四,200\n" * 30
    assert sio.detect_encoding(text.encode("big5")) == "big5"
    assert sio.detect_encoding("买家ID,金额\n".encode("gbk")) == "gb18030"


def test_sniff_delimiter():
    assert sio.sniff_delimiter(["a\tb\tc", "1\t2\t3"]) == "\t"
    assert sio.sniff_delimiter(['a,b,c', '1,"2,5",3']) == ","
    assert sio.sniff_delimiter(["a|b", "1|2"]) == "|"
    assert sio.sniff_delimiter(["a  b c", "1 2    3"]) is None
    assert sio.sniff_delimiter(["only"]) == ","


# ---- the amount parser against a pure-Python oracle ------------------------------------
_FULL = str.maketrans({chr(0xFF10 + i): str(i) for i in range(10)} |
                      {"，": ",", "．": ".", "－": "-", "＋": "+", "（": "(", "）": ")"})


def amount_oracle(text: str) -> float | None:
    """Slow and obvious: strip blanks and currency, check grouping, parse with Decimal."""
    t = text.translate(_FULL).replace("\u3000", " ").replace("\xa0", " ").strip()
    neg = False
    if t.startswith("(") and t.endswith(")"):
        neg, t = True, t[1:-1].strip()
    m = re.fullmatch(r"([-+−]?)\s*(?:(?:[¥￥$€£＄]|RMB|CNY)\s*)?([-+−]?)\s*(.*?)\s*(?:元|RMB|CNY)?",
                     t, flags=re.IGNORECASE)
    if not m:
        return None
    s1, s2, num = m.groups()
    if s1 and s2 or (neg and (s1 or s2)):
        return None
    sign = s1 or s2
    if not re.fullmatch(r"(\d{1,3}(,\d{3})+|\d+)(\.\d*)?([eE][-+]?\d+)?|\.\d+", num):
        return None
    v = float(Decimal(num.replace(",", "")))
    if not math.isfinite(v):
        return None
    return -v if (neg or sign in ("-", "−")) else v


def _arrow(values):
    return pa.array(values, pa.string())


def test_amounts_match_oracle_on_random_texts():
    rng = np.random.default_rng(11)
    texts = []
    for _ in range(3000):
        v = float(np.round(rng.lognormal(4, 3), int(rng.integers(0, 4))))
        body = f"{v:,.{int(rng.integers(0, 3))}f}" if rng.random() < .6 else repr(v)
        if rng.random() < .2:
            body = body.translate({ord(str(i)): chr(0xFF10 + i) for i in range(10)})
        pre = ["", "￥", "¥", "$", "RMB ", "CNY", "€", "£"][int(rng.integers(0, 8))]
        suf = ["", "", "元", " RMB"][int(rng.integers(0, 4))] if not pre else ""
        sign = ["", "-", "+"][int(rng.integers(0, 3))]
        t = f"{sign}{pre}{body}{suf}" if rng.random() < .5 else f"{pre}{sign}{body}{suf}"
        if rng.random() < .1:
            t = f"({pre}{body})"
        if rng.random() < .1:
            t = f"  {t}\u3000"
        texts.append(t)
    texts += ["1,2,3", "12,50", "1,234,56", ",123", "1.2.3", "abc", "--5", "￥￥5", "(5", "5)",
              "(-5)", "1e999", "e5", ".", "-", "1,234.5,6", "１２３", "0.1", "1e3", "(1,234.00)",
              "$-2", "100CNY", "12元", "RMB 7", "１，２３４．５０", "1 234", "12.", ".5"]
    vals, bad = P.amounts(_arrow(texts), "amt", LINES)
    for t, v, b in zip(texts, vals, bad):
        want = amount_oracle(t)
        if want is None:
            assert b, t
        else:
            assert not b and v == want, (t, v, want)


def test_amounts_blank_and_numeric_columns():
    v, bad = P.amounts(_arrow(["", " ", "5"]), "r", LINES, blank=0.0)
    assert v.tolist() == [0.0, 0.0, 5.0] and not bad.any()
    v, bad = P.amounts(_arrow(["", "5"]), "a", LINES)
    assert bad.tolist() == [True, False]
    v, bad = P.amounts(pa.array([1.5, None, float("inf")]), "a", LINES)
    assert bad.tolist() == [False, True, True]
    with pytest.raises(TypeError, match="true/false"):
        P.amounts(pa.array([True]), "a", LINES)


# ---- the time parser against pandas ---------------------------------------------------------
def _forms(ts: pd.Timestamp, k: int) -> str:
    y, m, d, H, M, S = ts.year, ts.month, ts.day, ts.hour, ts.minute, ts.second
    return [f"{y}-{m:02d}-{d:02d} {H:02d}:{M:02d}:{S:02d}",
            f"{y}/{m}/{d} {H}:{M:02d}:{S:02d}",
            f"{y}年{m}月{d}日 {H}:{M:02d}:{S:02d}",
            f"{y}{m:02d}{d:02d}{H:02d}{M:02d}{S:02d}",
            f"{y}-{m:02d}-{d:02d}T{H:02d}:{M:02d}:{S:02d}",
            f"{y}.{m}.{d} {H}:{M:02d}:{S:02d}",
            f"{y}年{m}月{d}日 {H}时{M}分{S}秒"][k]


def test_times_match_truth_in_every_form():
    rng = np.random.default_rng(5)
    secs = rng.integers(-2_000_000_000, 4_000_000_000, 2000)
    truth = pd.to_datetime(secs, unit="s")
    for k in range(7):
        texts = [_forms(t, k) for t in truth]
        got, bad = P.times(_arrow(texts), "t", LINES)
        assert not bad.any()
        assert np.array_equal(got, secs), k
    dates = [f"{t.year}年{t.month}月{t.day}日" for t in truth]
    got, bad = P.times(_arrow(dates), "t", LINES)
    assert np.array_equal(got, (secs // 86400) * 86400)
    ymd = [t.strftime("%Y%m%d") for t in truth]
    got, _ = P.times(_arrow(ymd), "t", LINES)
    assert np.array_equal(got, (secs // 86400) * 86400)


def test_times_invalid_and_edge_values():
    texts = ["2023-02-29", "2024-02-29", "2023-13-01", "2023-00-10", "2023-04-31", "24:00",
             "2024-03-05 24:00:00", "2024-03-05 12:60", "", "0000-01-01", "9999-12-31",
             "2024-3-5", "2024/03/05 7:05", "2024-03-05 14:22:01.5", "2024-03-05x"]
    got, bad = P.times(_arrow(texts), "t", LINES)
    assert bad.tolist() == [True, False, True, True, True, True, True, True, True, True,
                            False, False, False, False, True]
    assert got[1] == pd.Timestamp("2024-02-29").value // 10**9


def test_times_with_offsets_and_tz():
    texts = ["2024-03-05T23:30:00+08:00", "2024-03-05T15:30:00Z", "2024-03-05 23:30:00+0800"]
    secs, offs, bad = P.times_with_offsets(_arrow(texts), "t", LINES)
    assert offs.tolist() == [480, 0, 480] and not bad.any()
    utc = secs - offs.astype(np.int64) * 60
    assert len(set(utc.tolist())) == 1
    with pytest.raises(ValueError, match="mixes times with a UTC offset"):
        P.times(_arrow(["2024-03-05T23:30:00+08:00", "2024-03-05 10:00"]), "t", LINES)
    data = "id,t,amt\n1,2024-03-05T17:30:00Z,5\n".encode()
    tx = siyu.read_orders(data, "id", "t", "amt", tz="Asia/Shanghai")
    assert str(tx.start.date()) == "2024-03-06"          # 01:30 the next day in Shanghai
    tx = siyu.read_orders(data, "id", "t", "amt")
    assert str(tx.start.date()) == "2024-03-05"          # the wall time as written


def test_day_first_or_month_first():
    got, _ = P.times(_arrow(["13/5/2024", "4/6/2024"]), "t", LINES)
    assert pd.to_datetime(got, unit="s").strftime("%Y-%m-%d").tolist() == ["2024-05-13",
                                                                          "2024-06-04"]
    got, _ = P.times(_arrow(["5/13/2024", "4/6/2024"]), "t", LINES)
    assert pd.to_datetime(got, unit="s").strftime("%Y-%m-%d").tolist() == ["2024-05-13",
                                                                          "2024-04-06"]
    got, _ = P.times(_arrow(["4/6/2024"]), "t", LINES, "mdy")
    assert pd.to_datetime(got, unit="s")[0] == pd.Timestamp("2024-04-06")
    with pytest.raises(ValueError, match="both orders occur"):
        P.times(_arrow(["13/5/2024", "5/13/2024"]), "t", LINES)


def test_numeric_times():
    v = pa.array([20240305, 20231231])
    got, bad = P.times(v, "t", LINES)
    assert pd.to_datetime(got, unit="s").strftime("%Y-%m-%d").tolist() == ["2024-03-05",
                                                                          "2023-12-31"]
    serial = pa.array([45356.5, 45357.0])                    # Excel: 2024-03-05 12:00
    with pytest.raises(ValueError, match='time_format="excel"'):
        P.times(serial, "t", LINES)
    got, _ = P.times(serial, "t", LINES, "excel")
    assert pd.to_datetime(got, unit="s")[0] == pd.Timestamp("2024-03-05 12:00")
    epoch = pa.array([1_709_600_000, 1_709_700_000])
    with pytest.raises(ValueError, match='time_format="s"'):
        P.times(epoch, "t", LINES)
    got, _ = P.times(epoch, "t", LINES, "s")
    assert got[0] == 1_709_600_000
    got, _ = P.times(pa.array([1_709_600_000_123]), "t", LINES, "ms")
    assert got[0] == 1_709_600_000
    got, bad = P.times(_arrow(["05.03.2024 14:22"]), "t", LINES, "%d.%m.%Y %H:%M")
    assert pd.to_datetime(got, unit="s")[0] == pd.Timestamp("2024-03-05 14:22")


# ---- ids -----------------------------------------------------------------------------------
@pytest.mark.parametrize("case", ["fixed", "mixed", "text", "blank"])
def test_factorize_ids_against_sorted_set(case):
    rng = np.random.default_rng(2)
    nums = rng.integers(0, 5000, 4000)
    if case == "fixed":
        ids = [f"{v:08d}" for v in nums]
    elif case == "mixed":
        ids = [f"{v:0{int(w)}d}" for v, w in zip(nums, rng.integers(1, 12, nums.size))]
    elif case == "text":
        ids = [(" " if v % 7 == 0 else "") + f"u{v}" + (" " if v % 5 == 0 else "")
               for v in nums]
    else:
        ids = [f"{v:d}" if v % 11 else "" for v in nums]
    codes, texts, stripped = P.factorize_ids(_arrow(ids))
    clean = [i.strip() for i in ids]
    uniq = sorted({c for c in clean if c})
    assert texts.to_pylist() == uniq
    want = [uniq.index(c) if c else -1 for c in clean]
    assert codes.tolist() == want
    assert stripped == sum(1 for i in ids if i.strip() and i != i.strip())


def test_member_flags():
    vals = ["是", "否", "会员", "非会员", "Y", "n", "YES", "no", "True", "false", "1", "0", "",
            " 是 "]
    assert P.flags(_arrow(vals), "m", LINES).tolist() == [
        True, False, True, False, True, False, True, False, True, False, True, False, False, True]
    with pytest.raises(ValueError, match=r"true_values=\['VIP'\]"):
        P.flags(_arrow(["VIP", "是"]), "m", LINES)
    assert P.flags(_arrow(["VIP", "是"]), "m", LINES, true_values=["VIP"]).tolist() == [True, True]


# ---- bad inputs: one clear error, and the fix it proposes works --------------------------
GOOD = "id,t,amt\n1,2024-01-01,12\n2,2024-01-02,3\n"
BAD_INPUTS = {
    "unparseable amount": ("id,t,amt\n1,2024-01-01,12\n2,2024-01-02,abc\n3,2024-01-03,1.2.3\n",
                           {}, "line 3: 'abc', line 4: '1.2.3'", 'on_bad="drop"'),
    "ambiguous date": ("id,t,amt\n1,03/05/2024,12\n2,04/06/2024,3\n", {},
                       "could be day/month/year or month/day/year", 'time_format="dmy"'),
    "unknown date form": ("id,t,amt\n1,2024-01-01,12\n2,yesterday,3\n", {},
                          "line 3: 'yesterday'", 'on_bad="drop"'),
    "wrong forced encoding": ("id,t,amt,名字\n1,2024-01-01,12,张三\n".encode("gbk"),
                              {"encoding": "utf-8"}, "is not UTF-8 text", 'encoding="gb18030"'),
    "wrong forced encoding (gbk on utf-8)": ("id,t,amt,名字\n1,2024-01-01,12,张三\n".encode(),
                                             {"encoding": "gbk"}, "is UTF-8 text",
                                             'encoding="utf-8"'),
    "missing column": ("id,t,amount\n1,2024-01-01,12\n", {}, "amount='amt': no such column",
                       "amount='amount'"),
    "column name with blanks": ("id ,t,amt\n1,2024-01-01,12\n", {}, "no such column",
                                "customer='id '"),
    "no header line": ("00001 19970101 1 11.77\n00002 19970112 2 12.00\n", {},
                       "looks like data", "header=None, names=['customer', 'date', 'quantity', "
                       "'amount']"),
    "blank customer id": ("id,t,amt\n1,2024-01-01,12\n,2024-01-02,3\n", {},
                          "line 3: ''", 'on_bad="drop"'),
    "unknown member flag": ("id,t,amt,m\n1,2024-01-01,12,VIP\n2,2024-01-01,3,是\n",
                            {"member": "m"}, "line 2: 'VIP'", "true_values=['VIP']"),
    "unknown status": ("id,t,amt,st\n1,2024-01-01,12,交易成功\n2,2024-01-02,3,售后中\n"
                       "3,2024-01-02,3,售后中\n", {"status": "st"},
                       "'售后中' (2 rows)", "paid=['售后中']"),
    "empty file": ("", {}, "is empty", None),
    "header-only file": ("id,t,amt\n", {}, "has a header but no data rows", None),
    "ragged line": ("id,t,amt\n1,2024-01-01,12\n2,2024-01-01,12,5\n", {}, "line 3 has 4", None),
}


def _apply_hint(kwargs: dict, hint: str) -> dict:
    """Paste the fix: evaluate `key=value, ...` from the message as keyword arguments."""
    out = dict(kwargs)
    out.update(eval(f"dict({hint})"))  # noqa: S307 - the hint is ours
    if "names" in out:
        # the named columns are then customer, date, amount
        out.update(customer="customer", time="date", amount="amount")
    return out


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_error_and_its_fix(case):
    data, extra, message, hint = BAD_INPUTS[case]
    raw = data if isinstance(data, bytes) else data.encode()
    kwargs = dict(customer="id", time="t", amount="amt", **extra)
    with pytest.raises((ValueError, TypeError)) as info:
        siyu.read_orders(io.BytesIO(raw), **kwargs)
    text = str(info.value)
    assert message in text, text
    assert "\n" not in text and "np." not in text and "array(" not in text
    if hint is None:
        return
    assert hint in text, text
    tx = siyu.read_orders(io.BytesIO(raw), **_apply_hint(kwargs, hint))
    assert tx.n_rows >= 1
    if "on_bad" in hint:
        assert _quality(tx)["unreadable_rows_dropped"] >= 1


def test_unknown_status_error_names_values_and_fix():
    data = "id,t,amt,st\n1,2024-01-01,12,交易成功\n2,2024-01-02,3,售后中\n3,2024-01-02,3,售后中\n"
    with pytest.raises(ValueError) as info:
        siyu.read_orders(io.BytesIO(data.encode()), "id", "t", "amt", status="st")
    text = str(info.value)
    assert "'售后中' (2 rows)" in text and "first at line 3: '售后中', line 4: '售后中'" in text
    hint = re.search(r"pass (paid=\[[^\]]*\])", text).group(1)
    tx = siyu.read_orders(io.BytesIO(data.encode()), "id", "t", "amt", status="st",
                          **eval(f"dict({hint})"))
    assert tx.n_customers == 3


def test_total_rows_are_dropped_and_counted_not_elsewhere():
    data = ("单号,id,t,amt\nA1,1,2024-01-01,12\nA2,2,2024-01-02,3\n合计,,,15\n"
            "总计：,,,15\n")
    tx = siyu.read_orders(io.BytesIO(data.encode()), "id", "t", "amt")
    assert tx.n_rows == 2 and _quality(tx) == {"total_rows_dropped": 2}
    # a customer called "Total" with a valid time is a customer
    data = "id,t,amt\nTotal,2024-01-01,12\n2,2024-01-02,3\n"
    tx = siyu.read_orders(io.BytesIO(data.encode()), "id", "t", "amt")
    assert tx.n_customers == 2
    # blank rows (an Excel export's trailing ,,,) are dropped and counted
    data = "id,t,amt\n1,2024-01-01,12\n,,\n"
    tx = siyu.read_orders(io.BytesIO(data.encode()), "id", "t", "amt")
    assert tx.n_rows == 1 and _quality(tx) == {"blank_rows_dropped": 1}


def test_line_numbers_count_quoted_newlines_and_blank_lines():
    data = 'id,note,t,amt\n1,"two\nlines",2024-01-01,5\n\n2,x,2024-01-02,bad\n'
    with pytest.raises(ValueError, match="line 5: 'bad'"):
        siyu.read_orders(io.BytesIO(data.encode()), "id", "t", "amt")


def test_skiprows_sep_line_and_options():
    data = "导出时间 2024-05-01\nid;t;amt\n1;2024-01-01;5\n"
    tx = siyu.read_orders(io.BytesIO(data.encode()), "id", "t", "amt", skiprows=1)
    assert tx.n_rows == 1
    data = "sep=;\nid;t;amt\n1;2024-01-01;5\n"
    assert siyu.read_orders(io.BytesIO(data.encode()), "id", "t", "amt").n_rows == 1
    with pytest.raises(TypeError, match="unexpected keyword"):
        siyu.read_orders(io.BytesIO(GOOD.encode()), "id", "t", "amt", usecols=["id"])
    with pytest.raises(ValueError, match="on_bad"):
        siyu.read_orders(io.BytesIO(GOOD.encode()), "id", "t", "amt", on_bad="skip")
    with pytest.raises(ValueError, match="both customer= and order="):
        siyu.read_orders(io.BytesIO(GOOD.encode()), "id", "t", "amt", order="id")
    with pytest.raises(TypeError, match="time= is required"):
        siyu.read_orders(io.BytesIO(GOOD.encode()), "id", None, "amt")
    with pytest.raises(TypeError, match="column name"):
        siyu.read_orders(io.BytesIO(GOOD.encode()), "id", "t", 3)


def test_excel_sheets_and_missing_extra(tmp_path, monkeypatch):
    df = pd.DataFrame({"id": ["007", "7"], "t": ["2024-01-01", "2024-01-02"], "amt": [5.0, 6.0]})
    path = tmp_path / "book.xlsx"
    with pd.ExcelWriter(path) as w:
        pd.DataFrame({"x": [1]}).to_excel(w, sheet_name="说明", index=False)
        df.to_excel(w, sheet_name="订单", index=False)
    tx = siyu.read_orders(path, "id", "t", "amt", sheet="订单")
    assert tx.customer_ids.tolist() == ["007", "7"]
    assert siyu.read_orders(path, "id", "t", "amt", sheet=1).n_rows == 2
    with pytest.raises(ValueError, match="'说明', '订单'"):
        siyu.read_orders(path, "id", "t", "amt", sheet="Sheet1")
    # numeric cells as times: Excel serial days are read as such from a workbook only
    serial = pd.DataFrame({"id": ["1", "2"], "t": [45356.5, 45357.25], "amt": [1.0, 2.0]})
    serial.to_excel(tmp_path / "serial.xlsx", index=False)
    tx = siyu.read_orders(tmp_path / "serial.xlsx", "id", "t", "amt")
    assert [str(d.date()) for d in (tx.start, tx.end)] == ["2024-03-05", "2024-03-06"]
    serial.to_csv(tmp_path / "serial.csv", index=False)
    with pytest.raises(ValueError, match='pass time_format="excel"'):
        siyu.read_orders(tmp_path / "serial.csv", "id", "t", "amt")
    tx = siyu.read_orders(tmp_path / "serial.csv", "id", "t", "amt", time_format="excel")
    assert str(tx.start.date()) == "2024-03-05"
    import builtins

    real = builtins.__import__

    def no_excel(name, *a, **k):
        if name in ("python_calamine", "openpyxl", "xlrd"):
            raise ImportError(name)
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_excel)
    with pytest.raises(ImportError, match=r'pip install "siyu\[excel\]"'):
        siyu.read_orders(path, "id", "t", "amt")


@pytest.mark.parametrize("polled", [True, False])
def test_progress_lines_for_large_files(tmp_path, monkeypatch, polled):
    # polled: a thread watches the file position; else (a pyarrow that cannot give the
    # descriptor) the bytes are counted through a Python file object
    if not polled:
        monkeypatch.setattr(sio, "_file_descriptor", lambda f: None)
    monkeypatch.setattr(sio, "PROGRESS_ROWS", 10)
    path = tmp_path / "big.csv"
    path.write_text("id,t,amt\n" + "".join(f"{i},2024-01-01,1\n" for i in range(50_000)))
    monkeypatch.setattr(sio, "SAMPLE_BYTES", 1000)
    got = []
    tx = siyu.read_orders(path, "id", "t", "amt", progress=got.append)
    assert tx.n_rows == 50_000
    assert got and all(line.startswith("siyu: reading big.csv: ") for line in got)
    assert got[-1].startswith("siyu: reading big.csv: 100% ")     # the whole file counted
    # compressed: the compressed bytes are counted, up to the file's size
    import gzip
    gz = tmp_path / "big.csv.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    got_gz = []
    assert siyu.read_orders(gz, "id", "t", "amt", progress=got_gz.append).n_rows == 50_000
    assert got_gz and got_gz[-1].startswith("siyu: reading big.csv.gz: 100% ")
    none = []
    siyu.read_orders(path, "id", "t", "amt", progress=False)
    assert none == []


def test_inputs_not_modified(export):
    buf = io.BytesIO(export.raw.to_csv(index=False).encode("gbk"))
    before = buf.getvalue()
    siyu.read_orders(buf, **BASE)
    assert buf.getvalue() == before


def test_read_spend_months():
    data = ("月份,渠道,投放金额\n2023年1月,社群,\"￥1,000.00\"\n2023-02,社群,800\n2023/3,小程序,5元\n"
            "202304,小程序,7\n合计,,\"￥1,812.00\"\n")
    s = sio.read_spend(io.BytesIO(data.encode("gbk")), period="月份", amount="投放金额",
                       channel="渠道", channel_as="source")
    assert s["period"].dt.strftime("%Y-%m").tolist() == ["2023-01", "2023-02", "2023-03",
                                                        "2023-04"]
    assert s["amount"].tolist() == [1000.0, 800.0, 5.0, 7.0]
    assert s["source"].tolist() == ["社群", "社群", "小程序", "小程序"]
    with pytest.raises(ValueError, match="line 2: '2023年13月'"):
        sio.read_spend(io.BytesIO("p,a\n2023年13月,5\n".encode()), period="p", amount="a")


# ---- the command line ------------------------------------------------------------------------
def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "siyu", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=300)


CLI_COLS = ["--customer", "id", "--time", "t", "--amount", "amt"]


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_cli_bad_input_exit_2_one_line_and_the_fix(case, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from siyu import __main__ as cli

    data, extra, message, hint = BAD_INPUTS[case]
    path = tmp_path / "in.csv"
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    args = ["report", str(path), *CLI_COLS, "--out", str(tmp_path / "r.html"), "--quiet"]
    for k, v in extra.items():
        args += [f"--{k}", v]
    code = cli.main(args)
    cap = capsys.readouterr()
    assert code == 2 and cap.out == ""
    lines = cap.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("siyu: error: "), cap.err
    if hint is None:
        return
    # the fix follows the last "pass ", "with " or "did you mean "
    tail = re.split(r"\b(?:pass|with|did you mean) (?=--)", lines[0])[-1]
    m = re.match(r"--[a-z-]+ (?:'[^']*'|[^\s?]+)", tail)
    assert m, lines[0]
    import shlex

    fix = shlex.split(m.group(0))
    if "--names" in fix:
        args = [a for a in args if a not in CLI_COLS] + ["--customer", "customer", "--time",
                                                          "date", "--amount", "amount"]
    flags = dict(zip(fix[::2], fix[1::2]))
    for flag, value in flags.items():
        if flag in args:
            i = args.index(flag)
            args[i + 1] = value
        else:
            args += [flag, value]
    code = cli.main(args)
    cap = capsys.readouterr()
    assert code == 0, (fix, cap.err)


def test_cli_report_numbers_equal_api(files, tmp_path):
    pytest.importorskip("matplotlib")
    from siyu.report import build_report

    out = tmp_path / "r.html"
    proc = run_cli("report", files["gbk.csv"], "--customer", C["customer"], "--time", C["time"],
                   "--amount", C["amount"], "--channel", C["channel"], "--member", C["member"],
                   "--order", C["order"], "--status", C["status"], "--refund", C["refund"],
                   "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    html = out.read_text(encoding="utf-8")
    tx = siyu.read_orders(files["gbk.csv"], **FULL)
    s = tx.summary()
    kpis = {label: value for value, label in
            re.findall(r"<div class='kpi'><b>([^<]*)</b><span>([^<]*)</span>", html)}
    assert kpis["customers"] == f"{tx.n_customers:,}"
    assert kpis["net revenue"] == f"{s['revenue'].sum():,.0f}"
    assert kpis["repeat buyers (2+ purchase days)"] == f"{(s['frequency'] > 0).mean():.1%}"
    api = build_report(tx)
    def strip(h: str) -> str:   # images, and the footer's time stamp (minutes may differ)
        h = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", h)
        return re.sub(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", "<time>", h)
    assert strip(api) == strip(html)


def test_cli_spend_file_with_chinese_months(files, tmp_path):
    pytest.importorskip("matplotlib")
    spend = tmp_path / "spend.csv"
    spend.write_text("月份,投放\n2023年1月,\"￥1,000\"\n2023-02,800\n2023/3,￥900.50\n",
                     encoding="gbk")
    out = tmp_path / "r.html"
    proc = run_cli("report", files["xlsx"], "--customer", C["customer"], "--time", C["time"],
                   "--amount", C["amount"], "--spend", str(spend), "--spend-period", "月份",
                   "--spend-amount", "投放", "--out", str(out), "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "unit-economics" in out.read_text(encoding="utf-8")
    proc = run_cli("report", files["xlsx"], "--customer", C["customer"], "--time", C["time"],
                   "--amount", C["amount"], "--spend", str(spend), "--out", str(out),
                   cwd=tmp_path)
    assert proc.returncode == 2 and "--spend-period" in proc.stderr
    assert len(proc.stderr.splitlines()) == 1


def test_docstring_examples():
    import doctest

    import siyu.datasets

    for mod in (sio, siyu.datasets):
        res = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
        assert res.failed == 0 and res.attempted > 0, mod.__name__


def test_ctrl_c_stops_reading_a_large_file(tmp_path):
    """SIGINT during read_orders on a few million rows: KeyboardInterrupt within a second."""
    path = tmp_path / "big.csv"
    with open(path, "w", encoding="utf-8") as f:
        f.write("id,t,amt\n")
        f.write("00000001,2024/3/5 14:22:01,￥1299.00\n" * 3_000_000)
    code = f"""
import os, signal, sys, threading, time
import siyu
def fire():
    time.sleep(float(sys.argv[1]))
    os.kill(os.getpid(), signal.SIGINT)
threading.Thread(target=fire, daemon=True).start()
t0 = time.perf_counter()
try:
    siyu.read_orders({str(path)!r}, "id", "t", "amt")
    print("finished", time.perf_counter() - t0)
except KeyboardInterrupt:
    print("interrupted", time.perf_counter() - t0)
"""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    seen = []
    for delay in (0.3, 1.0):
        proc = subprocess.run([sys.executable, "-c", code, str(delay)], capture_output=True,
                              text=True, env=env, timeout=120)
        out = proc.stdout.split()
        assert out and out[0] in ("interrupted", "finished"), proc.stderr
        seen.append(out[0])
        if out[0] == "interrupted":
            assert float(out[1]) < delay + 1.0, out
    assert seen[0] == "interrupted", seen       # 3M rows take longer than 0.3 s to read


def test_parse_kernels_check_their_arguments():
    from siyu import _core

    data, offsets = np.frombuffer(b"12abc", np.uint8), np.array([0, 2, 5], np.int64)
    v, st, nb, ne = _core.parse_amounts(data, offsets, float("nan"))
    assert v[0] == 12.0 and st.tolist() == [0, 2] and (nb, ne) == (1, 0)
    with pytest.raises(ValueError, match="offsets"):
        _core.parse_amounts(data, np.array([0, 9], np.int64), 0.0)
    with pytest.raises(ValueError, match="offsets"):
        _core.parse_times(data, np.array([3, 1], np.int64), 0)
    with pytest.raises(ValueError, match="n \\+ 1"):
        _core.parse_amounts(data, np.array([], np.int64), 0.0)
    with pytest.raises(ValueError, match="mode"):
        _core.parse_times(data, offsets, 7)
    out, status = np.zeros(3), np.zeros(3, np.uint8)
    with pytest.raises(ValueError, match="too short"):
        _core.parse_amounts(data, offsets, 0.0, out, status, 2)
    with pytest.raises(ValueError, match="too short"):
        _core.parse_amounts(data, offsets, 0.0, out, status, -1)
    with pytest.raises(TypeError, match="dtype"):
        _core.parse_amounts(data, offsets, 0.0, np.zeros(3, np.float32), status, 0)
    _core.parse_amounts(data, offsets, 0.0, out, status, 1)
    assert out[1] == 12.0 and status[2] == 2
    assert _core.digit_keys(data, offsets) is None
    keys = _core.digit_keys(np.frombuffer(b"0071", np.uint8), np.array([0, 3, 4], np.int64))
    assert keys[0] < keys[1]                         # "007" < "1"


def test_readme_status_table_is_the_built_in_table():
    from siyu._orders import STATUS_TABLE

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for cls, values in STATUS_TABLE.items():
        row = re.search(rf"^\| {cls} \| ([^|]*) \|", text, re.M)
        assert row, cls
        listed = [v.strip() for v in re.split(r"[,;]", row.group(1))]
        assert sorted(listed) == sorted(values), cls


def test_gb18030_transcoder_matches_pythons_codec():
    from siyu import _core

    two, four = sio._GbToUtf8.tables()
    text = "".join(chr(c) for c in range(0x20, 0x10000) if not 0xD800 <= c < 0xE000)
    text += "\U0001F600\U00010000\U0010FFFF\n￥1,299.00 买家"
    data = text.encode("gb18030")
    out = np.empty(2 * len(data), np.uint8)
    n, bad = _core.gb18030_to_utf8(np.frombuffer(data, np.uint8), two, four, out)
    assert bad == -1 and out[:n].tobytes() == text.encode("utf-8")
    broken = "张三\n李四".encode("gbk") + b"\xff\x41" + "王".encode("gbk")
    out = np.empty(2 * len(broken), np.uint8)
    n, bad = _core.gb18030_to_utf8(np.frombuffer(broken, np.uint8), two, four, out)
    assert bad == len("张三\n李四".encode("gbk"))
    assert out[:n].tobytes() == "张三\n李四".encode("utf-8")
    with pytest.raises(ValueError, match="2 \\* len"):
        _core.gb18030_to_utf8(np.frombuffer(broken, np.uint8), two, four, out[:3])


def test_gbk_streamed_in_small_blocks(files, reference, monkeypatch):
    monkeypatch.setattr(sio._GbToUtf8, "BLOCK", 7)     # sequences cut at every block edge
    _same_log(siyu.read_orders(files["gbk.csv"], **BASE), reference)


def test_damaged_gbk_file_is_an_error_with_its_line():
    good = "id,t,amt,name\n1,2024-01-01,5,张三\n2,2024-01-01,5,李四\n".encode("gbk")
    damaged = good + b"3,2024-01-01,5,\xff\xfe\n"
    for enc in ("auto", "gb18030"):
        with pytest.raises(ValueError, match="byte 0xff on line 4") as info:
            siyu.read_orders(io.BytesIO(damaged), "id", "t", "amt", encoding=enc)
        assert "cp125" not in str(info.value)
    big = good + b"".join(f"{i},2024-01-01,5,张三\n".encode("gbk") for i in range(200_000))
    with pytest.raises(ValueError, match="line 200,?004|line 200004"):
        siyu.read_orders(io.BytesIO(big + b"9,2024-01-01,5,\xff\xfe\n"), "id", "t", "amt")


def test_bad_tz_is_refused_before_the_file_is_read(tmp_path):
    # a zone pandas does not know: one clear error naming tz, even for a file that does
    # not exist (the check comes before reading)
    with pytest.raises(ValueError, match=r"tz='Not/AZone' is not a known time zone.*Asia/Shanghai"):
        siyu.read_orders(tmp_path / "missing.csv", customer="c", time="t", tz="Not/AZone")
    with pytest.raises(TypeError, match="tz must be a time zone name"):
        siyu.read_orders(tmp_path / "missing.csv", customer="c", time="t", tz=8)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_cli_reading_progress_lines(lang, capsys, monkeypatch):
    # the progress callback the report passes to read_orders for files over 1M rows:
    # each line on stderr, and after the 100% line the "reading FILE" line starts again
    import argparse
    import builtins

    from siyu import __main__ as cli

    real_import = builtins.__import__

    def no_tqdm(name, *a, **k):
        if name == "tqdm":
            raise ImportError(name)
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_tqdm)
    # the CLI's "a line is open on stderr" state: this test's own, not the next test's
    monkeypatch.setattr(cli, "_mid_line", [False])
    args = argparse.Namespace(quiet=False, lang=lang, input="orders.csv")
    line = cli._read_progress(args)
    assert callable(line)
    line("siyu: reading orders.csv: 50% (1 of 2 MB, 0.1 s)")
    line("siyu: reading orders.csv: 100% (2 of 2 MB, 0.2 s)")
    err = capsys.readouterr().err
    assert "50% (1 of 2 MB" in err and "100% (2 of 2 MB" in err
    assert err.rstrip().endswith(("reading orders.csv ...", "读取 orders.csv ...",
                                  "reading orders.csv", "读取 orders.csv"))


def test_duplicates_compare_the_full_time_as_construction_does(tmp_path):
    # two orders of one customer on one day with the same amount are not duplicates;
    # an exact repeat of a row is.  read_orders and Transactions on the same rows agree.
    p = tmp_path / "orders.csv"
    p.write_text("买家ID,下单时间,实付金额\n"
                 "0001,2024/3/5 10:00:00,￥10.00\n"
                 "0001,2024/3/5 18:30:00,￥10.00\n"
                 "0002,2024/3/6 09:00:00,￥5.00\n"
                 "0002,2024/3/6 09:00:00,￥5.00\n", encoding="utf-8")
    tx = siyu.read_orders(p, customer="买家ID", time="下单时间", amount="实付金额")
    df = pd.DataFrame({"c": ["0001", "0001", "0002", "0002"],
                       "t": pd.to_datetime(["2024-03-05 10:00", "2024-03-05 18:30",
                                            "2024-03-06 09:00", "2024-03-06 09:00"]),
                       "a": [10.0, 10.0, 5.0, 5.0]})
    ref = siyu.Transactions(df, customer="c", time="t", amount="a")
    assert tx.quality.loc["duplicate_rows", "count"] == 1
    assert ref.quality.loc["duplicate_rows", "count"] == 1
    pd.testing.assert_frame_equal(tx.summary(), ref.summary(), check_index_type=False,
                                  check_names=False)


@pytest.mark.parametrize("overlap", [False, True])
def test_ids_factorised_alongside_times_give_the_same_log_and_errors(tmp_path, monkeypatch,
                                                                    overlap):
    """Large files factorise the ids in a thread while the times are parsed: the same
    Transactions, and the same first error, as one after the other."""
    monkeypatch.setattr(sio, "_OVERLAP_ROWS", 0 if overlap else 10**18)
    rng = np.random.default_rng(3)
    n = 3000
    ids = [f"{v:06d}" for v in rng.integers(0, 400, n)]
    days = [f"2024/{m}/{d} 10:00:00" for m, d in zip(rng.integers(1, 13, n), rng.integers(1, 29, n))]
    amts = [f"￥{v:,.2f}" for v in rng.random(n) * 3000]
    path = tmp_path / "e.csv"
    pd.DataFrame({"id": ids, "t": days, "amt": amts}).to_csv(path, index=False)
    tx = siyu.read_orders(path, "id", "t", "amt")
    s = tx.summary()
    exp = (pd.DataFrame({"id": ids, "d": pd.to_datetime(days, format="%Y/%m/%d %H:%M:%S")})
           .groupby("id")["d"].agg(["min", "max"]))
    assert list(s.index) == sorted(set(ids))
    assert (tx.summary(unit="D")["recency"].to_numpy() ==
            (exp["max"].dt.normalize() - exp["min"].dt.normalize()).dt.days.to_numpy()).all()
    # a blank id and a bad time: the id error comes first, as without the thread
    bad = path.read_text(encoding="utf-8").splitlines()
    bad[5] = ",2024/1/1 10:00:00,￥1.00"
    bad[9] = "000007,not a time,￥1.00"
    (tmp_path / "bad.csv").write_text("\n".join(bad) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"no customer id.*line 6"):
        siyu.read_orders(tmp_path / "bad.csv", "id", "t", "amt")
    bad[5] = "000001,2024/1/1 10:00:00,￥1.00"
    (tmp_path / "bad.csv").write_text("\n".join(bad) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"time column 't'.*line 10"):
        siyu.read_orders(tmp_path / "bad.csv", "id", "t", "amt")
