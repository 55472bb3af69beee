"""Order semantics (DESIGN.md section 2a) and tx.quality against the plain-pandas oracle."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import siyu

import reference as ref
import reference_orders as ro

COLS = dict(customer="买家ID", time="付款时间", amount="金额", order="订单号", status="状态",
            refund="退款金额")
PRODUCTS = {"P1": "茶", "P2": "茶", "P3": "杯", "P4": "壶"}


def random_export(seed: int, n_orders: int = 160, n_customers: int = 36,
                  unknown: bool = False) -> pd.DataFrame:
    """A 有赞/微盟-style export: line items, statuses, refunds, negative rows, duplicates."""
    rng = np.random.default_rng(seed)
    half = n_customers // 2
    # zero-padded ids; "00000007" and "0000007" differ only by leading zeros
    cids = [f"{i:08d}" for i in range(half)] + [f"{i:07d}" for i in range(n_customers - half)]
    statuses = ["交易成功"] * 10 + ["已发货", "completed", "已签收", "交易关闭", "待付款", "已退款",
                                    "已取消"]
    if unknown:
        statuses.append("部分退款")
    day0 = pd.Timestamp("2023-01-01")
    rows = []
    for j in range(n_orders):
        c = cids[int(rng.integers(0, n_customers))]
        if rng.random() < 0.1:
            c = f" {c} " if rng.random() < 0.5 else f"{c}\t"
        oid = f"E{j:06d}"
        if rng.random() < 0.08:
            oid = f"  {oid}"
        when = day0 + pd.Timedelta(days=int(rng.integers(0, 500)),
                                   seconds=int(rng.integers(0, 86400)))
        st = statuses[int(rng.integers(0, len(statuses)))]
        n_items = int(rng.integers(1, 4))
        for _ in range(n_items):
            p = f"P{int(rng.integers(1, 5))}"
            a = float(np.round(rng.gamma(2.0, 30.0), 2))
            if rng.random() < 0.05 or st in ("交易关闭", "待付款") and rng.random() < 0.5:
                a = 0.0
            item_status = st
            if st == "交易成功" and n_items > 1 and rng.random() < 0.15:
                item_status = "已退款"           # one item of a paid order refunded
            r = 0.0
            u = rng.random()
            if u < 0.06:
                r = a                           # full refund of the line
            elif u < 0.12:
                r = float(np.round(a * 0.4, 2))  # partial refund
            elif u < 0.15:
                r = np.nan                      # blank refund cell
            rows.append({"买家ID": c, "订单号": oid, "付款时间": str(when), "金额": a,
                         "退款金额": r, "状态": item_status, "商品": p, "类目": PRODUCTS[p],
                         "数量": int(rng.integers(1, 4))})
        u = rng.random()
        if u < 0.12:
            # a separate refund row of the order, days later (full or partial)
            total = sum(x["金额"] for x in rows[-n_items:])
            share = 1.0 if rng.random() < 0.5 else 0.3
            rows.append({"买家ID": c.strip(), "订单号": oid.strip(),
                         "付款时间": str(when + pd.Timedelta(days=int(rng.integers(1, 20)))),
                         "金额": -float(np.round(total * share, 2)), "退款金额": 0.0,
                         "状态": "退款成功", "商品": rows[-1]["商品"] if rng.random() < 0.5 else None,
                         "类目": None, "数量": 1})
        elif u < 0.16:
            # a refund row without an order id, or for an order not in the log
            rows.append({"买家ID": c, "订单号": None if rng.random() < 0.5 else f"OLD{j}",
                         "付款时间": str(when), "金额": -float(np.round(rng.uniform(1, 30), 2)),
                         "退款金额": 0.0, "状态": "退款成功", "商品": None, "类目": None,
                         "数量": 1})
    df = pd.DataFrame(rows)
    dup = rng.choice(len(df), size=max(1, len(df) // 40), replace=False)
    df = pd.concat([df, df.iloc[dup]], ignore_index=True)        # exact duplicate rows
    return df.iloc[rng.permutation(len(df))].reset_index(drop=True)


def assert_summary_equal(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.index) == list(want.index)
    for c in ("frequency", "n_orders", "days_since_last"):
        assert got[c].tolist() == want[c].tolist(), c
    for c in ("recency", "T"):
        np.testing.assert_allclose(got[c].to_numpy(), want[c].to_numpy(float), atol=1e-12)
    for c in ("monetary_value", "revenue"):
        if c in want and c in got:
            np.testing.assert_allclose(got[c].to_numpy(), want[c].to_numpy(float), rtol=1e-9,
                                       atol=1e-9, err_msg=c)
    for c in ("first_purchase", "last_purchase"):
        assert (pd.to_datetime(got[c]).to_numpy() == pd.to_datetime(want[c]).to_numpy()).all()


def repurchase_oracle(log: pd.DataFrame, end: pd.Timestamp, k: int) -> tuple[int, int]:
    buys = log[log["amount"].isna() | (log["amount"] >= 0)]
    eligible = repurchased = 0
    for _, g in buys.groupby("customer"):
        days = sorted(g["day"].unique())
        if days[0] + pd.Timedelta(days=k) > end:
            continue
        eligible += 1
        repurchased += len(days) > 1 and (days[1] - days[0]).days <= k
    return eligible, repurchased


def check_against_oracle(df: pd.DataFrame, end: str | None = None, **kw) -> siyu.Transactions:
    tx = siyu.Transactions(df, **kw)
    want = ro.order_log(df, **kw)
    end_ts = pd.Timestamp(end) if end else want.log["day"].max()
    # customers, rows, quality
    assert sorted(tx.customer_ids) == sorted(want.log["customer"].unique())
    q = tx.quality["count"].to_dict()
    assert set(q) == set(want.quality), (set(q) ^ set(want.quality))
    for key, count in want.quality.items():
        assert q[key] == count, (key, q[key], count)
    assert tx.quality.attrs == q
    # every summary column
    amount = kw.get("amount")
    s = tx.summary(end=end_ts)
    w = ref.summary(want.log, end_ts, customer="customer", time="day",
                    amount="amount" if amount else None)
    assert_summary_equal(s, w)
    assert int(s["n_orders"].sum()) == int(((want.log["kind"] == "purchase")
                                            & (want.log["day"] <= end_ts)).sum())
    assert (s["frequency"] > 0).mean() == pytest.approx((w["frequency"] > 0).mean())
    if amount:
        upto = want.log[(want.log["day"] <= end_ts) & want.log["customer"].isin(w.index)]
        assert s["revenue"].sum() == pytest.approx(upto["amount"].sum())
    # 30-day repurchase
    rp = tx.repurchase(within=(30,), end=end_ts).overall
    e, r = repurchase_oracle(want.log, end_ts, 30)
    assert (int(rp["eligible"].iloc[0]), int(rp["repurchased"].iloc[0])) == (e, r)
    # line items
    items = tx._log.items
    if items is not None:
        log = tx._log
        got = pd.DataFrame({
            "customer": np.asarray(log.ids)[items.cust],
            "day": items.day.astype("datetime64[D]").astype("datetime64[ns]")})
        if items.product is not None:
            got["product"] = np.asarray(items.product_labels, dtype=object)[items.product]
        if items.category is not None:
            got["category"] = np.asarray(items.category_labels, dtype=object)[items.category]
        if items.quantity is not None:
            got["quantity"] = items.quantity
        if items.amount is not None:
            got["amount"] = items.amount
        wi = want.items.copy()
        code = {c: i for i, c in enumerate(log.ids)}
        wi["code"] = wi["customer"].map(code)
        wi = wi.sort_values(["code", "day", "row"], kind="stable").reset_index(drop=True)
        assert len(got) == len(wi)
        assert got["customer"].tolist() == wi["customer"].tolist()
        assert (got["day"].to_numpy() == wi["day"].to_numpy()).all()
        for c in ("product", "category"):
            if c in got:
                assert got[c].tolist() == wi[c].tolist(), c
        for c in ("quantity", "amount"):
            if c in got:
                np.testing.assert_allclose(got[c].to_numpy(), wi[c].to_numpy(float), rtol=1e-9,
                                           atol=1e-9)
        # offsets delimit the customers
        assert items.offsets[-1] == len(items.cust)
        assert (np.repeat(np.arange(len(log.ids)), np.diff(items.offsets)) == items.cust).all()
    return tx


# ---------------------------------------------------------------------- random exports
@pytest.mark.parametrize("seed", range(8))
def test_random_exports_match_oracle(seed):
    df = random_export(seed)
    check_against_oracle(df, **COLS, product="商品", category="类目", quantity="数量")


@pytest.mark.parametrize("seed", range(3))
def test_random_exports_partial_options_match_oracle(seed):
    df = random_export(100 + seed)
    # each option alone, and without amounts
    check_against_oracle(df, customer="买家ID", time="付款时间", amount="金额", order="订单号")
    check_against_oracle(df, customer="买家ID", time="付款时间", amount="金额", status="状态")
    check_against_oracle(df, customer="买家ID", time="付款时间", amount="金额", refund="退款金额")
    check_against_oracle(df[df["金额"] >= 0], customer="买家ID", time="付款时间", amount=None,
                         order="订单号", status="状态")
    check_against_oracle(df, **COLS, category="类目", end="2023-09-30")


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("ascending", [True, False])
def test_exports_sorted_by_order_id_match_oracle(seed, ascending):
    """Exports sorted by (integer) order id, either way: the aggregation then takes its
    run-by-run path (codes in order) instead of the per-order table."""
    df = random_export(200 + seed)
    df = df[df["订单号"].notna()].copy()
    key = df["订单号"].str.strip()
    old = key.str.startswith("OLD")
    num = np.empty(len(df), np.int64)
    num[old.to_numpy()] = 10**6 + key[old].str[3:].astype(int).to_numpy() * 7
    num[~old.to_numpy()] = key[~old].str[1:].astype(int).to_numpy() * 13 + 5
    df["订单号"] = num
    df = df.sort_values("订单号", ascending=ascending, kind="stable").reset_index(drop=True)
    check_against_oracle(df, **COLS, product="商品", category="类目", quantity="数量")


def test_order_aggregation_paths_agree():
    """The in-place run path (order codes non-decreasing or non-increasing) and the
    per-order table (any order) give the same outcome, flags, net amount and row for
    every order, on rows with every status, refunds, negative rows and mixed customers."""
    from siyu import _core

    rng = np.random.default_rng(7)
    m = 3000
    sizes = rng.integers(0, 5, m)                    # orders with 0 rows stay empty
    code = np.repeat(np.arange(m), sizes)
    n = code.size
    cust = code // 3 + (rng.random(n) < 0.01)        # a few orders span two customers
    day = rng.integers(0, 400, n)
    amount = np.round(rng.gamma(2.0, 30.0, n), 2)
    amount[rng.random(n) < 0.1] *= -1                # refund rows
    amount[rng.random(n) < 0.03] = 0.0
    refund = np.where(rng.random(n) < 0.1, np.round(amount.clip(0) * 0.5, 2), 0.0)
    status = rng.choice(np.array([0, 0, 0, 1, 2], np.int8), n)

    def run(codes, rows):
        return _core.orders_aggregate(codes, m, cust[rows], day[rows], amount[rows],
                                      refund[rows], status[rows])

    rows = np.arange(n)
    up = run(code, rows)
    assert up[4] > 0                                 # mixed orders are counted
    down = run(m - 1 - code[::-1], rows[::-1])       # non-increasing codes
    relabel = rng.permutation(m)                      # any order: the per-order table
    shuffle = rng.permutation(n)
    table = run(relabel[code[shuffle]], shuffle)
    for name, got, order_of, row_of in (("descending", down, m - 1 - np.arange(m), rows[::-1]),
                                        ("table", table, relabel, shuffle)):
        assert got[4] == up[4], name
        for j in range(2):
            np.testing.assert_array_equal(got[j][order_of], up[j], err_msg=f"{name} {j}")
        # net: the same rows summed in another order
        np.testing.assert_allclose(got[2][order_of], up[2], rtol=1e-12, atol=1e-9)
        r = got[3][order_of]
        mapped = np.where(r >= 0, row_of[np.maximum(r, 0)], -1)
        # a row of the same order; for purchases and refunds the earliest day (ties on a
        # day, and "the first row" of dropped orders, follow the input order)
        assert ((mapped >= 0) == (up[3] >= 0)).all(), name
        has = up[3] >= 0
        assert (code[mapped[has]] == np.flatnonzero(has)).all(), name
        dated = has & np.isin(up[0], [1, 2])         # SY_ORD_PURCHASE, SY_ORD_REFUND
        assert (day[mapped[dated]] == day[up[3][dated]]).all(), name


def test_unknown_status_lists_values_and_the_pasted_hint_works():
    df = random_export(3, unknown=True)
    with pytest.raises(ValueError) as info:
        siyu.Transactions(df, **COLS)
    msg = str(info.value)
    n_unknown = int((df["状态"] == "部分退款").sum())
    assert f"'部分退款' ({n_unknown:,} rows)" in msg
    assert "np." not in msg
    for arg in ("paid", "refunded", "void"):
        hint = re.search(arg + r"=(\[[^\]]*\])", msg).group(1)
        tx = siyu.Transactions(df, **COLS, **{arg: eval(hint)})
        check_against_oracle(df, **COLS, **{arg: eval(hint)})
        assert tx.n_rows > 0


def test_missing_status_is_unknown_until_mapped():
    df = random_export(4)
    df.loc[df.index[:3], "状态"] = None
    with pytest.raises(ValueError, match=r"None \(3 rows\)") as info:
        siyu.Transactions(df, **COLS)
    hint = re.search(r"void=(\[[^\]]*\])", str(info.value)).group(1)
    tx = siyu.Transactions(df, **COLS, void=eval(hint))
    assert tx.quality.loc["void_rows[None]", "count"] == 3


# ---------------------------------------------------------------------- hand cases
def export(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["买家ID", "订单号", "付款时间", "金额", "退款金额", "状态"])


def test_line_items_are_one_order():
    df = export([("u1", "A", "2024-01-01 10:00", 10.0, 0, "交易成功"),
                 ("u1", "A", "2024-01-01 10:00", 5.0, 0, "交易成功"),
                 ("u1", "B", "2024-01-01 18:00", 7.0, 0, "交易成功"),
                 ("u1", "C", "2024-01-03", 1.0, 0, "交易成功")])
    tx = siyu.Transactions(df, **COLS)
    s = tx.summary()
    assert s.loc["u1", "n_orders"] == 3 and s.loc["u1", "frequency"] == 1
    assert s.loc["u1", "revenue"] == 23.0 and s.loc["u1", "monetary_value"] == 1.0
    assert tx.quality.loc["line_items_merged", "count"] == 1
    assert tx.quality.loc["orders", "count"] == 3


def test_status_void_refunded_and_overrides():
    df = export([("u1", "A", "2024-01-01", 10.0, 0, "交易成功"),
                 ("u1", "B", "2024-01-02", 0.0, 0, "交易关闭"),
                 ("u1", "C", "2024-01-03", 8.0, 0, "待付款"),
                 ("u1", "D", "2024-01-04", 9.0, 0, "已退款"),
                 ("u1", "D", "2024-01-09", -9.0, 0, "退款成功"),
                 ("u2", "E", "2024-01-05", 3.0, 0, " Shipped "),
                 ("u2", "F", "2024-01-06", 4.0, 0, "已发货")])
    tx = siyu.Transactions(df, **COLS)
    q = tx.quality["count"]
    assert q["void_rows[交易关闭]"] == 1 and q["void_rows[待付款]"] == 1
    assert q["refunded_orders"] == 1 and q["orders"] == 3
    s = tx.summary()
    assert s.loc["u1", "revenue"] == 10.0 and s.loc["u1", "frequency"] == 0
    assert s.loc["u2", "frequency"] == 1
    # override: 已发货 (shipped, not yet received) treated as not paid yet
    tx2 = siyu.Transactions(df, **COLS, void=["已发货"])
    assert tx2.summary().loc["u2", "frequency"] == 0
    assert tx2.quality.loc["void_rows[已发货]", "count"] == 1
    with pytest.raises(ValueError, match="both as paid= and void="):
        siyu.Transactions(df, **COLS, paid=["交易关闭"], void=[" 交易关闭"])


def test_refund_column_full_and_partial():
    df = export([("u1", "A", "2024-01-01", 10.0, 10.0, "交易成功"),
                 ("u1", "B", "2024-01-02", 10.0, 4.0, "交易成功"),
                 ("u1", "C", "2024-01-03", 10.0, 12.0, "交易成功"),     # over-refunded
                 ("u1", "D", "2024-01-04", 6.0, np.nan, "交易成功")])
    tx = siyu.Transactions(df, **COLS)
    s = tx.summary()
    assert s.loc["u1", "n_orders"] == 2 and s.loc["u1", "revenue"] == 12.0
    assert s.loc["u1", "first_purchase"] == pd.Timestamp("2024-01-02")
    q = tx.quality["count"]
    assert q["fully_refunded_refund_column"] == 2 and q["partial_refunds"] == 1


def test_negative_rows_net_against_their_order_on_its_day():
    df = export([("u1", "A", "2024-01-01", 30.0, 0, "交易成功"),
                 ("u1", "A", "2024-01-20", -30.0, 0, "退款成功"),     # full: order gone
                 ("u1", "B", "2024-02-01", 30.0, 0, "交易成功"),
                 ("u1", "B", "2024-02-20", -10.0, 0, "退款成功"),     # partial
                 ("u1", None, "2024-03-01", -5.0, 0, "退款成功"),     # no order id
                 ("u1", "OLD", "2024-03-02", -2.0, 0, "退款成功")])   # order before the log
    tx = siyu.Transactions(df, **COLS)
    s = tx.summary(end="2024-03-31")
    assert s.loc["u1", "n_orders"] == 1 and s.loc["u1", "frequency"] == 0
    assert s.loc["u1", "first_purchase"] == pd.Timestamp("2024-02-01")
    assert s.loc["u1", "revenue"] == pytest.approx(20.0 - 5.0 - 2.0)
    ct = tx.cohorts("M", end="2024-03-31")
    assert float(np.nansum(ct.revenue.to_numpy())) == pytest.approx(20.0 - 7.0)
    q = tx.quality["count"]
    assert q["fully_refunded_negative_rows"] == 1 and q["partial_refunds"] == 1
    assert q["negative_rows_netted"] == 2 and q["refunds_without_order"] == 1
    assert q["refunds_order_not_in_log"] == 1 and q["rows_without_order_id"] == 1


def test_refunds_without_order_semantics_keep_the_plain_rule():
    df = export([("u1", "A", "2024-01-01", 30.0, 0, "交易成功"),
                 ("u1", "A", "2024-01-20", -30.0, 0, "退款成功")])
    s = siyu.Transactions(df, customer="买家ID", time="付款时间", amount="金额").summary()
    assert s.loc["u1", "n_orders"] == 1 and s.loc["u1", "revenue"] == 0.0


def test_zero_amount_paid_order_is_a_purchase():
    df = export([("u1", "A", "2024-01-01", 0.0, 0, "交易成功"),
                 ("u1", "B", "2024-01-05", 20.0, 0, "交易成功"),
                 ("u2", "C", "2024-01-02", 0.0, 0, "交易关闭")])
    tx = siyu.Transactions(df, **COLS)
    s = tx.summary()
    assert list(s.index) == ["u1"]
    assert s.loc["u1", "frequency"] == 1 and s.loc["u1", "first_purchase"] == pd.Timestamp("2024-01-01")
    assert tx.quality.loc["zero_amount_orders", "count"] == 1


def test_ids_are_text_leading_zeros_kept_whitespace_counted():
    df = export([("00123", "A", "2024-01-01", 1.0, 0, "交易成功"),
                 ("0123", "B", "2024-01-01", 1.0, 0, "交易成功"),
                 (" 00123", " C ", "2024-01-02", 1.0, 0, "交易成功"),
                 ("00123\u3000", "C", "2024-01-02", 2.0, 0, "交易成功")])
    tx = siyu.Transactions(df, **COLS)
    assert list(tx.customer_ids) == ["00123", "0123"]
    s = tx.summary()
    assert s.loc["00123", "n_orders"] == 2 and s.loc["00123", "revenue"] == 4.0
    q = tx.quality["count"]
    assert q["customer_ids_stripped"] == 2 and q["order_ids_stripped"] == 1
    # integer ids stay integers
    tx2 = siyu.Transactions(customer=np.array([123, 123]), time=["2024-01-01"] * 2,
                            amount=[1.0, 2.0], order=np.array([7, 7]))
    assert tx2.customer_ids.tolist() == [123] and tx2.summary()["n_orders"].tolist() == [1]


def test_order_shared_by_two_customers_is_an_error():
    df = export([("u1", "A", "2024-01-01", 1.0, 0, "交易成功"),
                 ("u2", "A", "2024-01-01", 1.0, 0, "交易成功")])
    with pytest.raises(ValueError, match=r"1 order id\(s\) have rows of several customers, e.g. 'A'"):
        siyu.Transactions(df, **COLS)


def test_items_netted_per_order_and_product():
    df = pd.DataFrame([
        ("u1", "A", "2024-01-01", 10.0, 0, "交易成功", "P1", 2),
        ("u1", "A", "2024-01-01", 6.0, 0, "交易成功", "P2", 1),
        ("u1", "A", "2024-01-08", -6.0, 0, "退款成功", "P2", 1),       # P2 returned
        ("u1", "A", "2024-01-08", -4.0, 0, "退款成功", "P1", 1),       # P1 partly refunded
        ("u1", "B", "2024-01-02", 5.0, 5.0, "交易成功", "P3", 1),      # fully refunded order
        ("u1", "C", "2024-01-03", 5.0, 0, "交易关闭", "P3", 1),        # void order
        ("u1", "D", "2024-01-04", 3.0, 0, "交易成功", None, 1),        # missing product
        ("u1", "E", "2024-01-05", 8.0, 0, "交易成功", "P4", 1),
        ("u1", "E", "2024-01-05", 8.0, 0, "已退款", "P1", 1)],         # refunded item
        columns=["买家ID", "订单号", "付款时间", "金额", "退款金额", "状态", "商品", "数量"])
    tx = check_against_oracle(df, **COLS, product="商品", quantity="数量")
    it = tx._log.items
    prods = np.asarray(it.product_labels, dtype=object)[it.product].tolist()
    assert prods == ["P1", "(missing)", "P4"]
    assert it.amount.tolist() == [6.0, 3.0, 8.0] and it.quantity.tolist() == [2.0, 1.0, 1.0]
    assert tx.quality.loc["refunded_items", "count"] == 1


def test_quantity_must_be_positive():
    df = pd.DataFrame({"c": [1, 2], "t": ["2024-01-01"] * 2, "a": [1.0, 2.0], "q": [1, 0]})
    with pytest.raises(ValueError, match=r"quantity column 'q' must be > 0.*positions 1"):
        siyu.Transactions(df, customer="c", time="t", amount="a", quantity="q")


def test_bad_refund_and_option_combinations():
    df = export([("u1", "A", "2024-01-01", 10.0, -1.0, "交易成功")])
    with pytest.raises(ValueError, match=r"refund column '退款金额' must hold refunded amounts >= 0"):
        siyu.Transactions(df, **COLS)
    with pytest.raises(TypeError, match="refund= needs amount="):
        siyu.Transactions(df.assign(退款金额=0.0), customer="买家ID", time="付款时间", amount=None,
                          refund="退款金额")
    with pytest.raises(TypeError, match="pass status= too"):
        siyu.Transactions(df, customer="买家ID", time="付款时间", amount="金额", paid=["x"])
    with pytest.raises(TypeError, match=r"refund column '退款金额' holds text; it must be numeric"):
        siyu.Transactions(df.assign(退款金额=["x"]), **COLS)


def test_text_member_flags_and_text_amount_message_in_any_string_dtype():
    # object (pandas 2's text), str (pandas 3's) and "string": the same flags, the same words
    for dtype in (object, "string", pd.Series(["x"]).dtype):
        df = pd.DataFrame({"c": [1, 2, 3], "t": ["2024-01-01"] * 3, "a": [1.0, 2.0, 3.0],
                           "vip": pd.Series(["1", "0", None], dtype=dtype)})
        vt = siyu.Transactions(df, customer="c", time="t", amount="a", member="vip").value_tiers()
        assert vt["member"].tolist() == [True, False, False], dtype
        with pytest.raises(TypeError, match=r"^amount column 'a' holds text; it must be numeric"):
            siyu.Transactions(df.assign(a=pd.Series(["1", "2", "x"], dtype=dtype)),
                              customer="c", time="t", amount="a")


def test_quality_from_a_reader_first_and_in_both_languages():
    df = export([("u1", "A", "2024-01-01", 10.0, 0, "交易成功"),
                 ("u1", "A", "2024-01-01", 10.0, 0, "交易成功"),
                 ("u2", "B", "2024-02-03", 5.0, 0, "交易成功")])
    tx = siyu.Transactions(df, **COLS, quality={"total_rows_dropped": 1})
    q = tx.quality
    assert q.index[0] == "total_rows_dropped" and q["count"].iloc[0] == 1
    assert q.loc["duplicate_rows", "count"] == 1
    assert list(q.columns) == ["count", "description"] and q.index.name == "rule"
    zh = tx.data_quality("zh", end="2024-01-31")
    assert list(zh.index[:-1]) == list(q.index)
    assert zh.loc["rows_after_end", "count"] == 1 and "2024-01-31" in zh["description"].iloc[-1]
    assert zh.loc["duplicate_rows", "description"] == "完全重复的行(已计数,保留)"
    assert "data quality" in repr(tx) and "duplicate_rows" in repr(tx)
    assert "duplicate_rows" in tx._repr_html_()
    with pytest.raises(ValueError, match="lang must be"):
        tx.data_quality("fr")
    with pytest.raises(ValueError, match="must be a count"):
        siyu.Transactions(df, **COLS, quality={"total_rows_dropped": -1})


def test_plain_log_quality_matches_oracle():
    rng = np.random.default_rng(9)
    df = pd.DataFrame({"c": rng.integers(0, 30, 300), "t": rng.choice(
        pd.date_range("2024-01-01", periods=40).astype(str), 300),
                       "a": rng.choice([-3.0, 0.0, 5.0, 7.5, 12.0], 300)})
    tx = siyu.Transactions(df, customer="c", time="t", amount="a")
    assert tx.quality["count"].to_dict() == ro.plain_quality(df, "c", "t", "a")


def test_cdnow_and_uci_unchanged_and_quality_plain():
    cd = siyu.datasets.load_cdnow()
    tx = siyu.Transactions(cd, customer="customer_id", time="date", amount="amount")
    q = tx.quality["count"]
    assert q["rows_read"] == len(cd) and q["orders"] == int((cd["amount"] >= 0).sum())
    assert list(q.index) == ["rows_read", "refund_rows", "zero_amount_orders", "duplicate_rows",
                             "orders"]
    assert q["duplicate_rows"] == int(cd.duplicated().sum())


def test_items_without_order_ids_follow_the_row_rules():
    df = random_export(21)
    check_against_oracle(df, customer="买家ID", time="付款时间", amount="金额", status="状态",
                         refund="退款金额", product="商品", quantity="数量")


def test_channel_and_member_of_an_order():
    df = pd.DataFrame([
        ("u1", "A", "2024-01-02", 5.0, "私域", 0),
        ("u1", "A", "2024-01-01", 5.0, "公域", 1),     # the order's first paid row
        ("u1", "B", "2024-02-01", 7.0, "私域", 0),
        ("u2", "C", "2024-01-15", 3.0, "私域", 0),
        ("u2", None, "2024-01-20", -1.0, "公域", 0)],  # a refund row, no order id
        columns=["c", "o", "t", "a", "ch", "m"])
    tx = siyu.Transactions(df, customer="c", time="t", amount="a", order="o", channel="ch",
                           member="m")
    log = tx._log
    labels = np.asarray(log.channel_labels, dtype=object)[log.channel].tolist()
    assert labels == ["公域", "私域", "私域", "公域"]
    assert log.member.tolist() == [1, 0, 0, 0]
    assert log.amount.tolist() == [10.0, 7.0, 3.0, -1.0]
    ct = tx.cohorts("M", by="ch", end="2024-02-29")
    assert ct.sizes.sum() == 2
    vt = tx.value_tiers(as_of="2024-02-29")
    assert len(vt) == 2


def test_duplicates_count_every_column():
    df = pd.DataFrame({"c": [1, 1, 1, 1], "t": ["2024-01-01"] * 4, "a": [5.0, 5.0, 5.0, 5.0],
                       "o": ["A", "A", "B", "B"], "s": ["交易成功", "交易成功", "交易成功", "已发货"]})
    tx = siyu.Transactions(df, customer="c", time="t", amount="a", order="o", status="s")
    assert tx.quality.loc["duplicate_rows", "count"] == 1
    tx = siyu.Transactions(df, customer="c", time="t", amount="a")
    assert tx.quality.loc["duplicate_rows", "count"] == 3
    tx = siyu.Transactions(df.assign(ch=["x", "y", "x", "x"]), customer="c", time="t",
                           amount="a", channel="ch")
    assert tx.quality.loc["duplicate_rows", "count"] == 2


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_duplicates_with_item_columns_match_pandas(seed):
    """With item or channel columns the duplicates are found among log neighbours (one
    customer, one day): the count equals pandas' duplicated() over the input columns, with
    times of one day that differ, equal rows far apart in the input and refunds."""
    rng = np.random.default_rng(seed)
    n = 4000
    base = pd.Timestamp("2024-03-01")
    t = base + pd.to_timedelta(rng.integers(0, 6, n), unit="D") \
        + pd.to_timedelta(rng.choice([0, 3600, 7200], n), unit="s")
    df = pd.DataFrame({"c": rng.integers(0, 40, n), "t": t,
                       "a": rng.choice([-2.0, 0.0, 5.0, 5.0, 9.5], n),
                       "p": rng.choice(["x", "y", "洗衣凝珠"], n),
                       "ch": rng.choice(["私域", "公域"], n)})
    df = pd.concat([df, df.sample(300, random_state=seed)], ignore_index=True)
    df = df.sample(frac=1.0, random_state=seed + 1).reset_index(drop=True)
    for kw, cols in (({"product": "p"}, ["c", "t", "a", "p"]),
                     ({"product": "p", "channel": "ch"}, ["c", "t", "a", "p", "ch"]),
                     ({"channel": "ch"}, ["c", "t", "a", "ch"])):
        tx = siyu.Transactions(df, customer="c", time="t", amount="a", **kw)
        assert tx.quality.loc["duplicate_rows", "count"] == int(df[cols].duplicated().sum())
