"""The HTML report (siyu.report) and the command line (python -m siyu report / demo).

The report must be one self-contained page (embedded PNGs, no scripts, no network),
with every section under a stable id, numbers equal to the API's, Chinese labels with
lang="zh", and a command line that turns every bad input into one line and exit 2.
"""
from __future__ import annotations

import base64
import contextlib
import doctest
import io
import os
import re
import subprocess
import time
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("matplotlib")

import siyu  # noqa: E402
from siyu import __main__ as cli  # noqa: E402
from siyu import report  # noqa: E402
from siyu import _i18n  # noqa: E402
from siyu.report import SECTION_IDS, build_report, write_report  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
ALWAYS = [s for s in SECTION_IDS if s not in ("unit-economics", "channels")]
EXISTING = "2011-01-01"          # the demo's existing_before for the UCI log


# --------------------------------------------------------------------------- parsing
class Page(HTMLParser):
    """Sections, headings, tables (cell texts by table id), attributes of a page."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: list[str] = []
        self.h2: dict[str, str] = {}
        self.tables: dict[str, list[list[str]]] = {}
        self.srcs: list[str] = []
        self.hrefs: list[str] = []
        self.tags: set[str] = set()
        self._section: str | None = None
        self._in_h2 = False
        self._table: str | None = None
        self._cell: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        if tag == "section":
            self._section = a.get("id")
            self.sections.append(a.get("id"))
        elif tag == "h2":
            self._in_h2 = True
            self.h2[self._section] = ""
        elif tag == "table":
            self._table = a.get("id")
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []
        if "src" in a:
            self.srcs.append(a["src"])
        if "href" in a:
            self.hrefs.append(a["href"])

    def handle_endtag(self, tag):
        if tag == "h2":
            self._in_h2 = False
        elif tag in ("td", "th") and self._cell is not None:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._in_h2:
            self.h2[self._section] += data
        if self._cell is not None:
            self._cell.append(data)

    def rows(self, table_id: str) -> dict[str, list[str]]:
        """Body rows of a table keyed by their first cell."""
        return {r[0]: r[1:] for r in self.tables[table_id][1:]}

    def header(self, table_id: str) -> list[str]:
        return self.tables[table_id][0]


def pct(x: float) -> str:
    return "" if np.isnan(x) else f"{x:.1%}"


# --------------------------------------------------------------------------- data
def small_log(seed: int = 1, n_customers: int = 300, days: int = 540,
              channels: tuple[str, ...] = ("<wechat>", "mini & app")) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    first = rng.integers(0, days, n_customers)
    n_orders = rng.geometric(0.35, n_customers)
    cust = np.repeat(np.arange(n_customers), n_orders)
    day = np.minimum(first[cust] + (rng.geometric(1 / 40, cust.size) - 1)
                     * (np.arange(cust.size) != np.searchsorted(cust, cust)), days - 1)
    amount = np.round(rng.gamma(2.0, 30.0, cust.size), 2)
    amount[rng.random(cust.size) < 0.03] *= -1
    return pd.DataFrame({"user": [f"u{c:04d}" for c in cust],
                         "paid_at": pd.Timestamp("2023-01-01") + pd.to_timedelta(day, "D"),
                         "amount": amount,
                         "source": np.asarray(channels, dtype=object)[cust % len(channels)]})


def spend_for(df: pd.DataFrame, by: str | None = "source") -> pd.DataFrame:
    months = pd.period_range(df["paid_at"].min(), df["paid_at"].max(), freq="M")
    if by is None:
        return pd.DataFrame({"period": months.astype(str), "amount": 3000.0})
    labels = sorted(df[by].unique())
    return pd.DataFrame({"period": np.repeat(months.astype(str), len(labels)),
                         by: labels * len(months), "amount": 1500.0})


@pytest.fixture(scope="module")
def retail_tx():
    return siyu.Transactions(siyu.datasets.load_online_retail(), customer="customer_id",
                             time="date", amount="amount")


@pytest.fixture(scope="module")
def retail_ct(retail_tx):
    return retail_tx.cohorts(period="M", existing_before=EXISTING)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """`python -m siyu demo` run in-process: its stdout and the report it wrote."""
    out = tmp_path_factory.mktemp("demo") / "demo.html"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = cli.main(["demo", "--out", str(out), "--quiet"])
    assert code == 0
    return buf.getvalue(), out


@pytest.fixture(scope="module")
def page(demo):
    return demo[1].read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def small():
    return small_log()


@pytest.fixture(scope="module")
def small_tx(small):
    return siyu.Transactions(small, customer="user", time="paid_at", amount="amount",
                             channel="source")


@pytest.fixture(scope="module")
def spend_run(small_tx, small, tmp_path_factory):
    """write_report with spend and channels; records progress calls and pyplot state."""
    import matplotlib
    import matplotlib.pyplot as plt

    folder = tmp_path_factory.mktemp("spend")
    calls: list[tuple] = []
    before = (plt.get_fignums(), matplotlib.get_backend(), dict(matplotlib.rcParams))
    path = write_report(small_tx, spend=spend_for(small), title="Shop <A> & B", margin=0.5,
                        horizon=6, progress=lambda *a: calls.append(a),
                        out=folder / "r.html", currency="¥")
    after = (plt.get_fignums(), matplotlib.get_backend(), dict(matplotlib.rcParams))
    return {"path": path, "folder": folder, "calls": calls, "pyplot": (before, after),
            "text": Path(path).read_text(encoding="utf-8")}


@pytest.fixture(scope="module")
def page_spend(spend_run):
    return spend_run["text"]


@pytest.fixture(scope="module")
def page_zh(small):
    tx = siyu.Transactions(small, customer="user", time="paid_at", amount="amount")
    return build_report(tx, spend=spend_for(small, None), lang="zh", period="W")


# --------------------------------------------------------------------------- structure
def test_demo_prints_summary_and_report_path(demo):
    out, path = demo
    assert out.startswith("siyu demo: UCI Online Retail invoices")
    assert "Monthly acquisition cohorts" in out and "Second purchase within 30 days" in out
    # the data section prints the log's own quality counts
    tx = siyu.Transactions(siyu.datasets.load_online_retail(), customer="customer_id",
                           time="date", amount="amount")
    for count, desc in zip(tx.quality["count"], tx.quality["description"]):
        assert f"{int(count):,}  {desc}" in out
    last = out.strip().splitlines()[-1]
    assert last == f"report written to {path}"
    assert path.stat().st_size > 50_000


def test_every_section_once_in_order(page):
    p = Page(page)
    assert p.sections == ALWAYS                      # no spend, no channel in the demo
    for sid in ALWAYS:
        assert page.count(f'id="{sid}"') == 1
        assert f'href="#{sid}"' in page              # linked from the contents
    assert p.h2["cohorts"] == "Acquisition cohorts"
    assert p.h2["value-tiers"] == "Value tiers"


def test_self_contained_no_network_no_scripts(page, page_spend, page_zh):
    for text in (page, page_spend, page_zh):
        p = Page(text)
        assert "http://" not in text and "https://" not in text and "//" not in \
            re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", text).replace("<!DOCTYPE", "")
        assert p.srcs and all(s.startswith("data:image/png;base64,") for s in p.srcs)
        assert all(h.startswith("#") for h in p.hrefs)
        assert not {"script", "link", "iframe", "object", "embed"} & p.tags
        assert "@import" not in text and "url(" not in text and "@font-face" not in text


def test_images_decode_as_png_and_are_not_blank(page):
    import matplotlib.image as mpimg

    p = Page(page)
    assert len(p.srcs) == 6          # heatmap, retention, survival, repurchase, 2 segments
    for src in p.srcs:
        raw = base64.b64decode(src.split(",", 1)[1], validate=True)
        assert raw.startswith(PNG_MAGIC)
        img = mpimg.imread(io.BytesIO(raw), format="png")
        assert img.shape[0] > 250 and img.shape[1] > 500
        assert img[..., :3].std() > 0.05            # a drawing, not one flat colour


def test_report_leaves_pyplot_alone(spend_run):
    before, after = spend_run["pyplot"]
    assert after == before and after[0] == []          # no pyplot figure, same backend/rc


# --------------------------------------------------------------------------- numbers
def test_overview_numbers(page, retail_tx):
    kpis = re.findall(r"<div class='kpi'><b>([^<]*)</b><span>([^<]*)</span>", page)
    got = {label: value for value, label in kpis}
    assert got["rows (orders and refunds)"] == "18,532"
    assert got["customers"] == "4,338"
    assert got["first day"] == "2010-12-01" and got["last day"] == "2011-12-09"
    s = retail_tx.summary()
    assert got["repeat buyers (2+ purchase days)"] == pct((s["frequency"] > 0).mean())
    assert got["net revenue (£)"] == f"{s['revenue'].sum():,.0f}"          # the demo's £


def test_cohort_table_matches_api(page, retail_ct):
    ct = retail_ct
    rows = Page(page).rows("cohort-table")
    assert list(rows) == ["existing customers"] + [str(c) for c in ct.sizes.index]
    for label, size, ret in [("existing customers", ct.n_existing,
                              ct.existing.retention.iloc[0])] + \
            [(str(c), ct.sizes[c], ct.retention.loc[c]) for c in ct.sizes.index]:
        cells = rows[label]
        assert cells[0] == f"{size:,}"
        ret = ret.dropna()
        assert cells[1:1 + len(ret)] == [pct(v) for v in ret]
        assert all(c == "" for c in cells[1 + len(ret):])      # unobserved cells blank
    # partial cells are marked (hatched class) and explained
    assert page.count('class="partial"') == int(ct.partial.to_numpy().sum()) + \
        int(ct.existing.partial.to_numpy().sum())
    assert "Hatched cells: last period (2011-12): 9 of 31 days." in page
    # the averages are balanced: the same 6 cohorts at ages 0..5, stated
    bal = ct.average("retention")
    assert bal.attrs["through"] == 5 and bal.attrs["cohorts"][0] == "2011-01"
    avg = Page(page).rows("cohort-average")
    label = "balanced average retention (6 cohorts: 2011-01 – 2011-06)"
    assert avg[label] == [pct(bal[a]) for a in range(6)]
    assert avg["customers in the average"] == [f"{int(bal.attrs['n_customers'][0]):,}"] * 6
    ltv = list(Page(page).rows("cohort-ltv").values())[0]
    assert ltv == [f"{ct.average('ltv', through=5)[a]:,.2f}" for a in range(6)]
    assert "885 customers who bought before 2011-01-01 are existing customers" in page
    assert "is more than twice the median" not in page         # told: no suspicion note


def test_report_flags_the_suspect_first_cohort(retail_tx):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")             # the report shows it; it does not warn
        page = build_report(retail_tx, period="M")
    p = Page(page)
    assert "The first cohort (2010-12, 885 customers) is more than twice the median" in page
    assert "--existing-before 2011-01-01" in page
    assert list(p.rows("cohort-table"))[0] == "2010-12"
    zh = build_report(retail_tx, period="M", lang="zh")
    assert "请加上 --existing-before 2011-01-01" in zh


def test_retention_survival_repurchase_match_api(page, retail_tx):
    p = Page(page)
    br = retail_tx.retention(kind="bracket", brackets=[(1, 30), (31, 90), (91, 180), (181, 365)],
                             existing_before=EXISTING)
    rows = p.rows("retention-table")
    for iv, rec in br.table.iterrows():
        assert rows[f"{iv.left}-{iv.right}"] == [f"{int(rec['eligible']):,}", f"{int(rec['retained']):,}",
                                                 pct(rec["rate"])]
    sc = retail_tx.survival(churn_after=180, existing_before=EXISTING)
    assert p.header("survival-table") == [
        "customers", "customers", "median lifetime (days)",
        "share still active after 30 days", "share still active after 90 days",
        "share still active after 180 days", "share still active after 365 days",
        "mean lifetime within the first 365 days (days)"]
    srow = p.rows("survival-table")["all customers"]
    assert srow[0] == f"{len(sc.durations):,}" == "3,453"
    assert srow[1] == ("not reached" if not np.isfinite(sc.median_) else f"{sc.median_:,.0f}")
    assert srow[2:6] == [pct(sc.survival_at(d)) for d in (30, 90, 180, 365)]
    assert srow[6] == f"{sc.rmst(365):,.1f}"
    rp = retail_tx.repurchase(within=(30, 90, 180), existing_before=EXISTING)
    rrows = p.rows("repurchase-table")
    for k, rec in rp.overall.iterrows():
        assert rrows[f"within {k} days"] == [f"{int(rec['eligible']):,}", f"{int(rec['repurchased']):,}",
                                             pct(rec["rate"])]
    assert rrows["within 30 days"][2] == "15.9%"                        # 508 / 3,201
    assert page.count("885 existing customers (first purchase before") == 3


def test_segments_match_api(page, retail_tx):
    p = Page(page)
    lc = siyu.stage_summary(retail_tx.lifecycle())
    rows = p.rows("lifecycle-table")
    assert list(rows) == ["recent", "stable", "lapsing"]
    for stage, rec in lc.iterrows():
        assert rows[stage][:2] == [f"{int(rec['customers']):,}", pct(rec["share"])]
        assert rows[stage][3] == pct(rec["revenue_share"])
    vt = siyu.stage_summary(retail_tx.value_tiers())
    rows = p.rows("value-tiers-table")
    # no roster: no potential tier; no member column: no member tier
    assert list(rows) == ["one-time", "repeat", "multi-repeat"]
    for tier in rows:
        assert rows[tier][0] == f"{vt.loc[tier, 'customers']:,}"
    assert sum(int(r[0].replace(",", "")) for r in rows.values()) == 4338


def test_unit_economics_only_with_spend(page, page_spend, small_tx, small):
    assert 'id="unit-economics"' not in page
    p = Page(page_spend)
    assert p.sections == ["overview", "data", "cohorts", "retention", "survival", "repurchase",
                          "lifecycle", "value-tiers", "contact", "unit-economics", "channels",
                          "definitions"]
    ue = siyu.unit_economics(small_tx, spend_for(small), by="source", margin=0.5, horizon=6)
    rows = p.rows("unit-economics-table")
    assert p.header("unit-economics-table")[1:4] == ["new customers", "spend (¥)", "CAC (¥)"]
    for key, rec in ue.iloc[:-1].iterrows():
        cells = rows[" · ".join(key)]
        assert cells[0] == f"{int(rec['new_customers']):,}"
        assert cells[2] == ("" if np.isnan(rec["cac"]) else f"{rec['cac']:,.2f}")
    tot = ue.iloc[-1]
    assert rows["total"][:3] == [f"{int(tot['new_customers']):,}", f"{tot['spend']:,.0f}",
                                 f"{tot['cac']:,.2f}"]


def test_channels_section_and_escaping(page_spend, small_tx):
    p = Page(page_spend)
    cmp = siyu.compare_channels(small_tx, by="source")
    rows = p.rows("channels-table")
    assert set(rows) == {"<wechat>", "mini & app"}               # unescaped by the parser
    for ch, rec in cmp.iterrows():
        assert rows[ch][0] == f"{int(rec['customers']):,}"
        assert rows[ch][1] == pct(rec["repurchase_rate"])
    # user text is escaped in the raw HTML
    assert "<wechat>" not in page_spend and "&lt;wechat&gt;" in page_spend
    assert "<title>Shop &lt;A&gt; &amp; B</title>" in page_spend
    # survival per channel: one row per channel, the headers say what the cells are
    assert p.header("survival-table")[:3] == ["source", "customers", "median lifetime (days)"]
    sc = small_tx.survival(churn_after=180, by="source")
    srows = p.rows("survival-table")
    assert list(srows) == [str(g) for g in sc.groups]
    for g in sc.groups:
        assert srows[g][0] == f"{int((sc.durations['source'] == g).sum()):,}"
        assert srows[g][6] == f"{sc.rmst(365)[g]:,.1f}"


def test_chinese_labels(page_zh):
    p = Page(page_zh)
    assert '<html lang="zh-CN">' in page_zh
    assert p.h2 == {"overview": "数据概览", "data": "数据处理", "cohorts": "获客同期群",
                    "retention": "留存",
                    "survival": "客户生存曲线", "repurchase": "复购", "lifecycle": "生命周期阶段",
                    "value-tiers": "客户价值分层", "contact": "本周联系谁",
                    "unit-economics": "单位经济模型",
                    "definitions": "指标定义"}
    assert list(p.rows("lifecycle-table")) == ["新交易后", "稳定关系", "关系衰退"]
    assert p.header("lifecycle-table")[1:3] == ["客户数", "客户占比"]
    assert p.header("unit-economics-table")[1:4] == ["新客数", "投放费用", "获客成本"]
    assert "合计" in p.rows("unit-economics-table")
    assert "Acquisition cohorts" not in page_zh
    assert '"Noto Sans CJK SC"' in page_zh and '"Microsoft YaHei"' in page_zh   # font fallback


def test_large_cohort_tables_are_cut_to_the_latest(page_zh, small):
    tx = siyu.Transactions(small, customer="user", time="paid_at", amount="amount")
    ct = tx.cohorts(period="W")
    assert len(ct.sizes) > 36 and ct.active.shape[1] > 37
    p = Page(page_zh)
    rows = p.rows("cohort-table")
    assert len(rows) == 36 and list(rows) == [str(c) for c in ct.sizes.index[-36:]]
    assert p.header("cohort-table")[:3] == ["同期群", "规模", "0"]
    assert len(p.header("cohort-table")) == 2 + 37                  # cohort, size, ages 0..36
    for cohort in ct.sizes.index[-36:]:
        assert rows[str(cohort)][0] == f"{ct.sizes[cohort]:,}"
    assert f"表中显示最近 36 个同期群（共 {len(ct.sizes)} 个）" in page_zh


def test_progress_callback_sees_every_step(spend_run):
    calls = spend_run["calls"]
    starts = [c for c in calls if c[3] is None]
    ends = [c for c in calls if c[3] is not None]
    assert [c[0] for c in starts] == ["cohorts", "retention", "survival", "repurchase",
                                      "lifecycle", "value tiers", "contact", "unit economics",
                                      "channels", "overview"]
    assert [c[:3] for c in ends] == [c[:3] for c in starts]
    assert [c[1] for c in starts] == list(range(1, 11))
    assert all(c[2] == 10 for c in calls) and all(c[3] >= 0 for c in ends)


def test_bad_arguments_raise(small_tx, small):
    with pytest.raises(ValueError, match="unknown lang 'fr'"):
        build_report(small_tx, lang="fr")
    with pytest.raises(ValueError, match="unknown period 'H'"):
        build_report(small_tx, period="H")
    with pytest.raises(TypeError, match="siyu.Transactions"):
        build_report(small)
    with pytest.raises(TypeError, match="spend must be a DataFrame"):
        build_report(small_tx, spend="spend.csv")
    with pytest.raises(ValueError, match="missing column"):
        build_report(small_tx, spend=pd.DataFrame({"period": ["2023-01"], "amount": [1.0]}))
    refunds = siyu.Transactions(small.assign(amount=-small["amount"].abs() - 1), customer="user",
                                time="paid_at", amount="amount")
    with pytest.raises(ValueError, match="no purchases"):
        build_report(refunds)
    no_amount = siyu.Transactions(small, customer="user", time="paid_at", amount=None)
    with pytest.raises(ValueError, match="order amounts"):
        build_report(no_amount)


def test_write_report_is_atomic(spend_run, small_tx, tmp_path):
    assert spend_run["path"] == str(spend_run["folder"] / "r.html")
    assert os.listdir(spend_run["folder"]) == ["r.html"]            # no .part left behind
    with pytest.raises(OSError, match="does not exist"):
        write_report(small_tx, out=tmp_path / "missing" / "r.html")


def test_docstring_examples():
    res = doctest.testmod(report, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert res.failed == 0 and res.attempted > 0


# --------------------------------------------------------------------------- CLI
def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "siyu", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=300)


@pytest.fixture(scope="module")
def files(tmp_path_factory, small):
    d = tmp_path_factory.mktemp("cli")
    small.to_csv(d / "log.csv", index=False)
    small.to_parquet(d / "log.parquet")
    spend_for(small).to_csv(d / "spend.csv", index=False)
    spend_for(small, None).to_csv(d / "spend_total.csv", index=False)
    bad = small.head(20).astype({"amount": object})
    bad.loc[5, "amount"] = "12,50"
    bad.to_csv(d / "bad.csv", index=False)
    return d


COLS = ["--customer", "user", "--time", "paid_at", "--amount", "amount"]


def test_cli_csv_report_subprocess(files):
    proc = run_cli("report", "log.csv", *COLS, "--spend", "spend_total.csv", "--out", "r.html",
                   cwd=files)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"report written to {files / 'r.html'}\n"
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert lines[0].startswith("siyu: reading log.csv ... ") and "rows" in lines[0]
    assert re.fullmatch(r"siyu: \[1/9\] cohorts \.\.\. \d+\.\d\d s", lines[1])
    assert lines[-1].startswith("siyu: total ")
    p = Page((files / "r.html").read_text(encoding="utf-8"))
    assert "unit-economics" in p.sections and "channels" not in p.sections


@pytest.mark.parametrize("args, message", [
    (["missing.csv", *COLS], "input file 'missing.csv' not found"),
    (["log.csv", "--customer", "user_id", "--time", "paid_at", "--amount", "amount"],
     "--customer 'user_id': no such column in log.csv (columns: user, paid_at, amount, source)"),
    (["log.csv", *COLS, "--period", "H"], "unknown period 'H'"),
    (["bad.csv", *COLS], "amount column 'amount'"),
])
def test_cli_errors_subprocess(files, args, message):
    proc = run_cli("report", *args, "--out", "x.html", cwd=files)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("siyu: error: ")]
    assert len(errors) == 1 and message in errors[0], proc.stderr
    assert proc.stderr.endswith(errors[0] + "\n")
    assert not (files / "x.html").exists()


def test_cli_parquet_channel_spend_zh(files, capsys):
    out = files / "zh.html"
    code = cli.main(["report", str(files / "log.parquet"), *COLS, "--channel", "source",
                     "--spend", str(files / "spend.csv"), "--lang", "zh", "--period", "m",
                     "--margin", "0.4", "--out", str(out), "--quiet"])
    cap = capsys.readouterr()
    assert code == 0 and cap.err == ""
    assert cap.out == f"报告已写入 {out}\n"
    p = Page(out.read_text(encoding="utf-8"))
    assert p.h2["unit-economics"] == "单位经济模型" and p.h2["channels"] == "渠道对比"


@pytest.mark.parametrize("args, message", [
    (["log.json", *COLS], "use a .csv / .tsv / .txt export, an .xlsx / .xls workbook or a "
                          ".parquet file"),
    (["log.csv", *COLS, "--spend", "log.csv"], "--spend log.csv: missing column(s) period"),
    (["log.csv", *COLS, "--channel", "source", "--spend", "spend_total.csv"],
     "missing column(s) source"),
    (["log.csv", *COLS, "--spend", "nope.csv"], "--spend file 'nope.csv' not found"),
    (["log.csv", *COLS, "--margin", "1.5"], "--margin 1.5"),
    (["log.csv", *COLS, "--horizon", "0"], "--horizon 0"),
    (["log.csv", *COLS, "--churn-after", "-3"], "--churn-after -3"),
    (["log.csv", *COLS, "--out", "no/such/dir/r.html"], "does not exist"),
    (["log.csv", *COLS, "--tz", "Mars/Olympus"], "Mars/Olympus"),
    (["log.csv", "--customer", "user", "--time", "amount", "--amount", "amount"],
     "column 'amount' is given as both time= and amount="),
    (["log.csv", *COLS, "--lang", "fr"], "invalid choice: 'fr'"),
    (["log.csv", "--customer", "user"], "the following arguments are required: --time"),
    (["log.csv", *COLS, "--horizon", "twelve"], "invalid int value: 'twelve'"),
])
def test_cli_errors_in_process(files, capsys, monkeypatch, args, message):
    monkeypatch.chdir(files)
    try:
        code = cli.main(["report", *args, "--quiet"])
    except SystemExit as exc:                       # argparse's own errors
        code = exc.code
    cap = capsys.readouterr()
    assert code == 2
    assert cap.out == ""
    lines = cap.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("siyu: error: ") and message in lines[0], \
        cap.err


def test_cli_empty_input(files, capsys):
    (files / "empty.csv").write_text("user,paid_at,amount\n")
    assert cli.main(["report", str(files / "empty.csv"), *COLS]) == 2
    assert capsys.readouterr().err == f"siyu: error: {files / 'empty.csv'} has no data rows: " \
                                      "nothing to report\n"


def test_cli_member_column_adds_member_tier(files, small, capsys):
    df = small.assign(vip=(small["user"].str[-1] == "7").astype(int))
    df.to_csv(files / "vip.csv", index=False)
    out = files / "vip.html"
    assert cli.main(["report", str(files / "vip.csv"), *COLS, "--member", "vip", "--period", "Q",
                     "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    tx = siyu.Transactions(df, customer="user", time="paid_at", amount="amount", member="vip")
    vt = siyu.stage_summary(tx.value_tiers())
    rows = Page(out.read_text(encoding="utf-8")).rows("value-tiers-table")
    assert list(rows) == ["one-time", "repeat", "multi-repeat", "member"]
    assert rows["member"][0] == f"{int(vt.loc['member', 'customers']):,}"
    assert int(vt.loc["member", "customers"]) == df.loc[df["vip"] == 1, "user"].nunique() > 0


def _titles(monkeypatch):
    titles = []
    real = report._image

    def spy(fig, alt, fmt):
        titles.extend(ax.get_title(loc="left") for ax in fig.axes if ax.get_title(loc="left"))
        return real(fig, alt, fmt)

    monkeypatch.setattr(report, "_image", spy)
    return titles


def test_chinese_plot_text_with_a_cjk_font(monkeypatch, small_tx):
    """With a CJK font the plot titles are Chinese (simulated: the font lookup is faked)."""
    from siyu import plotting

    monkeypatch.setattr(plotting, "find_cjk_font", lambda refresh=False: "DejaVu Sans")
    titles = _titles(monkeypatch)
    page = build_report(small_tx, lang="zh", period="Q")
    assert "各季度同期群留存率" in titles and "生命周期阶段" in titles and "客户价值分层" in titles
    assert "图表暂用英文标注" not in page
    titles.clear()
    build_report(small_tx, lang="en", period="Q")                  # English stays English
    assert "Lifecycle stages" in titles and not any("生命" in t for t in titles)


def test_chinese_report_without_a_cjk_font_says_what_to_install(monkeypatch, small_tx):
    from siyu import plotting

    monkeypatch.setattr(plotting, "find_cjk_font", lambda refresh=False: None)
    titles = _titles(monkeypatch)
    page = build_report(small_tx, lang="zh", period="Q")
    assert "图表暂用英文标注：未找到含中文字形的字体" in page and "fonts-noto-cjk" in page
    assert "Microsoft YaHei" in page and "<p class=\"warn\">图表暂用英文标注" in page
    assert "retention by quarterly cohort" in titles                # readable, not boxes
    assert "获客同期群" in page                                       # the page stays Chinese


def test_without_matplotlib_demo_skips_report_and_report_says_how_to_fix(tmp_path):
    """The base install has no matplotlib: demo still works, report exits 2 with advice."""
    import subprocess
    import sys

    block = "import sys; sys.modules['matplotlib'] = None; from siyu.__main__ import main; "
    demo = subprocess.run([sys.executable, "-c", block + "sys.exit(main(['demo', '--out', "
                           f"{str(tmp_path / 'd.html')!r}]))"], capture_output=True, text=True)
    assert demo.returncode == 0, demo.stderr
    assert "HTML report skipped: it needs matplotlib" in demo.stdout
    assert not (tmp_path / "d.html").exists()
    csv = tmp_path / "log.csv"
    csv.write_text("c,t,a\n1,2024-01-01,5\n", encoding="utf-8")
    rep = subprocess.run([sys.executable, "-c", block + "sys.exit(main(['report', "
                          f"{str(csv)!r}, '--customer', 'c', '--time', 't', '--amount', 'a', "
                          f"'--out', {str(tmp_path / 'r.html')!r}]))"],
                         capture_output=True, text=True)
    assert rep.returncode == 2
    lines = rep.stderr.strip().splitlines()
    assert len(lines) == 1 and "matplotlib" in lines[0] and "siyu[plot]" in lines[0]


# --------------------------------------------------------------------------- honest headlines
def test_demo_headlines_come_from_complete_cells_and_balanced_averages(demo, retail_ct):
    out, _ = demo
    ct = retail_ct
    bal = ct.average("retention")
    k = bal.attrs["through"]
    ltv = ct.average("ltv", through=k)
    assert k == 5 and len(bal.attrs["cohorts"]) == 6
    lines = out.splitlines()
    # the LTV headline: balanced average at ages 0, 2, 5 -- nothing from a partial cell
    ltv_line = next(ln for ln in lines if ln.startswith("Historical LTV"))
    got = dict(re.findall(r"m(\d+): £(\d[\d,]*\d|\d)\b", ltv_line))
    assert got == {str(a): f"{ltv[a]:,.0f}" for a in (0, 2, 5)}
    assert "balanced average over 6 cohorts" in ltv_line and "m11" not in ltv_line
    # the table's average row is the balanced average, partial cells carry a star
    avg_line = next(ln for ln in lines if ln.startswith("average "))
    assert avg_line.split()[1:] == [f"{bal[a]:.1%}" for a in range(6)] + ["-"]
    assert "average = balanced average over 6 cohorts (2011-01..2011-06)" in out
    row = next(ln for ln in lines if ln.startswith("2011-06 "))
    assert row.split()[-1] == f"{ct.retention.loc['2011-06', 6]:.1%}*"       # December
    assert next(ln for ln in lines if ln.startswith("existing customers"))
    assert 'existing_before="2011-01-01"' in out and "9 of 31 days" in out
    # repurchase without the existing customers
    rp = siyu.Transactions(siyu.datasets.load_online_retail(), customer="customer_id",
                           time="date", amount="amount").repurchase(existing_before=EXISTING)
    assert f"within 30 days: {rp.overall['rate'].iloc[0]:.1%} of 3,201 eligible" in out


def many_channels(small: pd.DataFrame) -> pd.DataFrame:
    """A mistaken channel column: an order id, one value per row."""
    return small.assign(source=[f"order-{i:05d}" for i in range(len(small))])


def test_too_many_channels_keep_the_top_ones_plus_other(small):
    df = many_channels(small)
    tx = siyu.Transactions(df, customer="user", time="paid_at", amount="amount", channel="source")
    t0 = time.perf_counter()
    page = build_report(tx, period="Q", top_channels=5)
    assert time.perf_counter() - t0 < 120                      # (not a timing test: a hang guard)
    p = Page(page)
    rows = p.rows("channels-table")
    assert len(rows) == 6 and "other" in rows
    n_ch = int(tx.cohorts("Q").sizes.sum())        # first purchase rows: one channel each
    assert f"has {n_ch:,} distinct values" in page and "--top-channels N" in page
    assert sum(int(r[0].replace(",", "")) for r in rows.values()) == n_ch
    assert int(rows["other"][0].replace(",", "")) == n_ch - 5
    assert len(p.rows("survival-table")) == 6
    # the log itself is untouched
    assert len(tx._log.channel_labels) == len(df)
    # few channels: nothing is grouped
    few = build_report(siyu.Transactions(small, customer="user", time="paid_at",
                                         amount="amount", channel="source"), period="Q")
    assert "distinct values" not in few


def test_spend_outside_the_data_and_cohorts_without_spend(small_tx, small):
    spend = spend_for(small)
    extra = pd.DataFrame({"period": ["2020-01", "2030-05"], "source": ["<wechat>"] * 2,
                          "amount": [10.0, 20.0]})
    gap = spend[spend["period"] != "2023-03"]
    page = build_report(small_tx, spend=pd.concat([gap, extra]), period="M", horizon=3)
    assert "2 spend period(s) lie outside the data" in page
    assert "&lt;wechat&gt; · 2020-01, &lt;wechat&gt; · 2030-05" in page
    assert "cohort(s) have customers but no spend row, so no CAC: " in page
    assert "last period (2024-06): 23 of 30 days: that period is not counted as observed" in page
    assert "&lt;wechat&gt; · 2023-03" in page and "mini &amp; app · 2023-03" in page


def test_currency_in_money_headers(page_spend, small_tx):
    p = Page(page_spend)
    header = p.header("unit-economics-table")
    assert "LTV (¥)" in header and "cost per order (¥)" in header and "LTV/CAC" in header
    assert "annual spend per customer (¥)" in p.header("channels-table")
    kpis = dict((b, a) for a, b in re.findall(r"<div class='kpi'><b>([^<]*)</b><span>([^<]*)</span>",
                                               page_spend))
    assert "net revenue (¥)" in kpis
    plain = build_report(small_tx, period="Q")
    assert "(¥)" not in plain and "(£)" not in plain               # none by default
    with pytest.raises(TypeError, match="currency"):
        build_report(small_tx, currency="  ")


def test_existing_before_in_the_report(small_tx, small):
    page = build_report(small_tx, spend=spend_for(small), period="M", existing_before="2023-03-01")
    p = Page(page)
    assert list(p.rows("cohort-table"))[0] == "existing customers"
    ue = siyu.unit_economics(small_tx, spend_for(small), by="source", existing_before="2023-03-01")
    rows = p.rows("unit-economics-table")
    for ch in ("<wechat>", "mini & app"):
        assert rows[f"{ch} · existing customers"][0] == \
            f"{int(ue.loc[(ch, 'existing'), 'new_customers']):,}"
    assert rows["total"][0] == f"{int(ue.loc[('total', ''), 'new_customers']):,}"
    assert "existing customers (left out)" in p.header("channels-table")
    with pytest.raises(ValueError, match="existing_before"):
        build_report(small_tx, existing_before="2999-01-01")


def test_data_section_renders_a_quality_frame(small_tx):
    dq = pd.DataFrame({"count": [12, 3], "description": ["rows with status 交易关闭 dropped",
                                                        "<b>refunds</b> netted"]},
                      index=pd.Index(["void", "netted"], name="reason"))
    page = build_report(small_tx, period="Q", data_quality=dq)
    p = Page(page)
    assert p.sections[:2] == ["overview", "data"]
    # rows labelled by their description (the rule keys are English identifiers)
    assert p.rows("data-table") == {"rows with status 交易关闭 dropped": ["12"],
                                    "<b>refunds</b> netted": ["3"]}
    assert p.header("data-table") == ["what", "rows"]
    assert "&lt;b&gt;refunds" in page                             # escaped
    assert 'href="#data"' in page
    with pytest.raises(TypeError, match="data_quality"):
        build_report(small_tx, data_quality=[1, 2])


def test_definitions_table_lists_siyu_and_operators_metrics(small_tx):
    page = build_report(small_tx, period="Q")
    rows = Page(page).rows("definitions-table")
    assert "retention (siyu)" in rows and "repurchase within k days (siyu)" in rows
    assert rows["purchase / refund"][1] == "Transactions(amount=...)"
    zh = Page(build_report(small_tx, period="Q", lang="zh")).rows("definitions-table")
    assert "冲减当期收入" in zh["购买 / 退款"][0] and "计入收入" not in zh["购买 / 退款"][0]
    assert rows["repeat-purchase rate (复购率)"][1] == "tx.repeat_rate(start, end)"
    for term, key, api in report._DEFINITIONS:
        label = _i18n.text(term, "en")
        assert rows[label] == [_i18n.text(key, "en"), api]
        assert zh[_i18n.text(term, "zh")] == [_i18n.text(key, "zh"), api]


def test_svg_plots_and_templates_are_packaged(small_tx):
    page = build_report(small_tx, period="Q", plot_format="svg")
    srcs = Page(page).srcs
    assert srcs and all(s.startswith("data:image/svg+xml;base64,") for s in srcs)
    with pytest.raises(ValueError, match="plot_format"):
        build_report(small_tx, plot_format="gif")
    tpl = ROOT / "siyu" / "templates"
    sections = {p.stem.replace(".html", "") for p in (tpl / "sections").glob("*.html.j2")}
    assert set(SECTION_IDS) <= sections                         # one include per section
    assert '"templates/*"' in (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def test_cli_currency_existing_before_top_channels(files, small, capsys):
    many_channels(small).to_csv(files / "many.csv", index=False)
    out = files / "honest.html"
    code = cli.main(["report", str(files / "many.csv"), *COLS, "--channel", "source",
                     "--currency", "¥", "--existing-before", "2023-02-01", "--top-channels",
                     "3", "--period", "Q", "--out", str(out), "--quiet"])
    cap = capsys.readouterr()
    assert code == 0 and cap.err == "", cap.err
    text_ = out.read_text(encoding="utf-8")
    p = Page(text_)
    assert len(p.rows("channels-table")) == 4 and "net revenue (¥)" in text_
    assert list(p.rows("cohort-table"))[0] == "existing customers"
    for bad, msg in ((["--top-channels", "0"], "--top-channels 0"),
                     (["--existing-before", "soon"], "--existing-before 'soon'"),
                     (["--currency", " "], "--currency needs")):
        assert cli.main(["report", str(files / "log.csv"), *COLS, *bad, "--out",
                         str(files / "x.html"), "--quiet"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("siyu: error: ") and msg in err and err.count("\n") == 1


def test_cli_zh_without_cjk_font_prints_one_line(files, capsys, monkeypatch):
    from siyu import plotting

    monkeypatch.setattr(plotting, "find_cjk_font", lambda refresh=False: None)
    out = files / "nofont.html"
    assert cli.main(["report", str(files / "log.csv"), *COLS, "--lang", "zh", "--period", "Q",
                     "--out", str(out), "--quiet"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("siyu: 图表中文需要 CJK 字体：")
    assert "fonts-noto-cjk" in err[0]


# --------------------------------------------------------------------------- chart worker
def _no_footer_time(page: str) -> str:
    return re.sub(r"Generated: [0-9: -]+UTC", "", page)


needs_fork = pytest.mark.skipif(not report._fork_charts(), reason="charts worker needs fork (Linux)")


@needs_fork
def test_background_charts_draw_the_same_page(small_tx, small):
    """Plots drawn by the forked worker: the page is byte for byte the inline one (every
    chart kind: heat map, curves, survival, repurchase, bars, CAC/LTV, Chinese labels)."""
    for kw in ({"spend": spend_for(small), "currency": "¥"},
               {"lang": "zh", "period": "W"}, {"plot_format": "svg"}):
        inline = build_report(small_tx, **kw)
        worker = build_report(small_tx, background_charts=True, **kw)
        assert _no_footer_time(worker) == _no_footer_time(inline), kw
        assert worker.count("data:image/") >= 6


def _die() -> None:
    os._exit(3)


@needs_fork
def test_background_charts_worker_dies_plots_drawn_here(small_tx, monkeypatch):
    """A worker that dies (here: at start) leaves the plots to the report's process."""
    monkeypatch.setattr(report, "_worker_warm", _die)
    page = build_report(small_tx, background_charts=True)
    assert _no_footer_time(page) == _no_footer_time(build_report(small_tx))


@needs_fork
def test_background_charts_errors_and_warnings_reach_the_caller(small_tx, monkeypatch):
    from siyu import plotting

    real = plotting.draw_deferred

    def warns(deferred, ax):
        warnings_mod.warn("a chart warning", UserWarning)
        return real(deferred, ax)

    import warnings as warnings_mod
    monkeypatch.setattr(plotting, "draw_deferred", warns)
    with pytest.warns(UserWarning, match="a chart warning"):
        build_report(small_tx, background_charts=True)

    def fails(deferred, ax):
        raise ValueError("the chart broke")

    monkeypatch.setattr(plotting, "draw_deferred", fails)
    # a SIGTERM handler of the caller's (dask's, a web server's) is inherited by the fork:
    # the worker must end anyway
    import multiprocessing
    import signal

    handler = signal.signal(signal.SIGTERM, lambda *a: None)
    earlier = {p.pid for p in multiprocessing.active_children()}
    try:
        with pytest.raises(ValueError, match="the chart broke"):
            build_report(small_tx, background_charts=True)
    finally:
        signal.signal(signal.SIGTERM, handler)
    # the failed report's worker is gone (children of earlier tests are not this test's)
    assert not [p for p in multiprocessing.active_children()
                if p.pid not in earlier and p.is_alive()]


def test_deferred_axes_record_a_plot_call():
    from siyu import plotting

    d = plotting.DeferredAxes(width=4.0, height=3.0)
    frame = pd.DataFrame({"customers": [3, 1], "share": [0.75, 0.25]}, index=["a", "b"])
    assert plotting.share_bars(frame, "t", ax=d, lang="en") is d
    name, args, kwargs = d.call
    assert name == "share_bars" and args[1] == "t" and "ax" not in kwargs
    fig, ax = report._figure(**d.figure)
    assert plotting.draw_deferred(d, ax) is ax and ax.patches
    d.call = ("get_pyplot", (), {})
    with pytest.raises(ValueError, match="not a siyu plot function"):
        plotting.draw_deferred(d, ax)
    with pytest.raises(ValueError, match="no plot call"):
        plotting.draw_deferred(plotting.DeferredAxes(), ax)
