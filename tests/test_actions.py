"""siyu.actions: replenishment cycles, recall lists and cross-sell against pandas oracles
(tests/reference_actions.py), hand-built logs and the models' own predictions."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import siyu
from siyu import _core
from siyu import actions

import reference_actions as ref

END = "2024-08-31"


def random_log(seed: int, n_cust: int = 80, n_rows: int = 700, n_prod: int = 6,
               span: int = 240) -> pd.DataFrame:
    """Line items with every awkward case: the same product twice on one day (one order),
    one-time products, one-purchase customers, refund rows of an item, missing labels."""
    rng = np.random.default_rng(seed)
    cust = rng.integers(0, n_cust, n_rows)
    day = rng.integers(0, span, n_rows)
    prods = np.array([f"p{j}" for j in range(n_prod)] + ["once"], dtype=object)
    w = np.r_[np.linspace(3, 1, n_prod), 0.05]
    prod = rng.choice(prods, n_rows, p=w / w.sum())
    amount = np.round(rng.uniform(1, 80, n_rows), 2)
    df = pd.DataFrame({"cust": cust, "t": pd.Timestamp("2024-01-01") + pd.to_timedelta(day, "D"),
                       "amount": amount, "product": prod})
    dup = df.sample(frac=0.15, random_state=seed)                     # same day, same product
    refund = df.sample(frac=0.05, random_state=seed + 1).assign(amount=lambda d: -d["amount"])
    refund["t"] = refund["t"] + pd.Timedelta(days=3)                  # an item refunded later
    singles = pd.DataFrame({"cust": np.arange(n_cust, n_cust + 6),
                            "t": pd.Timestamp("2024-03-01") + pd.to_timedelta(np.arange(6), "D"),
                            "amount": 10.0, "product": "p0"})          # one purchase each
    missing = df.sample(n=8, random_state=seed + 2).assign(product=None)
    out = pd.concat([df, dup, refund, singles, missing], ignore_index=True)
    out["category"] = out["product"].map(lambda p: None if p is None else
                                         ("c" + str(int(p[1:]) % 3) if p != "once" else "c9"))
    return out.sample(frac=1.0, random_state=seed + 3).reset_index(drop=True)


def make_tx(df: pd.DataFrame, **kw) -> siyu.Transactions:
    return siyu.Transactions(df, customer="cust", time="t", amount="amount", product="product",
                             category=kw.pop("category", "category"), **kw)


# --------------------------------------------------------------------------- replenishment
@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("by", ["product", "category"])
def test_replenishment_matches_pandas_oracle(seed, by):
    df = random_log(seed)
    tx = make_tx(df)
    r = tx.replenishment(by=by, min_customers=5, end=END)
    want, curves = ref.replenishment(df, by, END, min_customers=5)
    got = r.table
    assert sorted(got.index) == sorted(want.index)
    want = want.loc[got.index]
    for col in ["n_buyers", "n_rebuyers", "n_intervals"]:
        np.testing.assert_array_equal(got[col].to_numpy(), want[col].to_numpy().astype(int), col)
    for col in ["rebuy_share", "gap_q25", "gap_median", "gap_q75", "km_q25", "km_median",
                "km_q75", "cycle"]:
        np.testing.assert_allclose(got[col].to_numpy(float), want[col].to_numpy(float),
                                   rtol=1e-12, equal_nan=True, err_msg=col)
    np.testing.assert_array_equal(got["enough_data"], want["enough_data"].astype(bool))
    assert got.attrs["n_missing"] == int(df[by].isna().sum())
    for label in got.index:
        c, w = r.curve(label), curves[label]
        for col in ["time", "at_risk", "events", "censored"]:
            np.testing.assert_array_equal(c[col].to_numpy(), w[col].to_numpy(), f"{label} {col}")
        np.testing.assert_allclose(c["survival"], w["survival"], rtol=1e-12)
        long = r.curves.xs(label, level=0)
        np.testing.assert_allclose(long["survival"].to_numpy(), w["survival"], rtol=1e-12)


@pytest.mark.parametrize("seed", [1, 4])
def test_replenishment_dense_and_sorted_layouts_agree(seed):
    """The kernel histograms intervals per key when n_keys x span is small and sorts
    them otherwise: both give the same numbers, with threads too."""
    df = random_log(seed, n_cust=30_000, n_rows=90_000, n_prod=40)
    tx = make_tx(df)
    it = tx._log.items
    key = np.where(it.product == len(it.product_labels) - 1, -1, it.product)
    end = int(it.day.max())
    old = _core.get_num_threads()
    try:
        outs = []
        for th, cells in ((1, 10**9), (3, 10**9), (1, 0), (3, 0)):
            _core.set_num_threads(th)
            outs.append(_core.items_gaps(it.day, it.offsets, key, len(it.product_labels), end,
                                         cells))
    finally:
        _core.set_num_threads(old)
    for other in outs[1:]:
        for x, y in zip(outs[0], other):
            np.testing.assert_array_equal(x, y)


def test_replenishment_curve_matches_lifelines():
    lifelines = pytest.importorskip("lifelines")
    df = random_log(7, n_cust=150, n_rows=2000)
    r = make_tx(df).replenishment(min_customers=1, end=END)
    want, _ = ref.replenishment(df, "product", END)
    p = purchases = ref.purchases(df, "product", END)
    del p
    purchases = purchases[purchases["product"] == "p0"].copy()
    purchases["gap"] = purchases.groupby("cust")["day"].diff().dt.days
    last = purchases.groupby("cust")["day"].max()
    dur = np.r_[purchases["gap"].dropna(), (pd.Timestamp(END) - last).dt.days]
    ev = np.r_[np.ones(purchases["gap"].notna().sum()), np.zeros(last.size)]
    kmf = lifelines.KaplanMeierFitter().fit(dur, ev)
    c = r.curve("p0").set_index("time")
    sf = kmf.survival_function_.iloc[:, 0]
    np.testing.assert_allclose(c["survival"].to_numpy(), sf.reindex(c.index).to_numpy(),
                               rtol=1e-10)
    ci = kmf.confidence_interval_survival_function_
    np.testing.assert_allclose(c["lower"].to_numpy(), ci.iloc[:, 0].reindex(c.index).to_numpy(),
                               rtol=1e-6, atol=1e-9)
    assert kmf.median_survival_time_ == r.table.loc["p0", "km_median"]


def test_censoring_matters():
    """A renewal process with long gaps seen through a short window: the median of the
    closed gaps (what groupby-diff-median gives) underestimates the cycle, the
    Kaplan-Meier median does not."""
    rng = np.random.default_rng(11)
    n, shape, mean, window = 6000, 2.0, 70.0, 240
    rows = []
    start = rng.uniform(0, window, n)
    for i in range(n):
        t = start[i]
        while t < window:
            rows.append((i, int(t)))
            t += rng.gamma(shape, mean / shape)
    cust, day = np.array(rows).T
    df = pd.DataFrame({"cust": cust, "t": pd.Timestamp("2024-01-01") + pd.to_timedelta(day, "D"),
                       "amount": 1.0, "product": "pods"})
    end = pd.Timestamp("2024-01-01") + pd.Timedelta(days=window - 1)
    tab = siyu.Transactions(df, customer="cust", time="t", amount="amount",
                            product="product").replenishment(end=end).table
    from scipy import stats
    truth = stats.gamma(shape, scale=mean / shape).median()        # ~58.7 days
    naive = tab.loc["pods", "gap_median"]
    kmm = tab.loc["pods", "km_median"]
    assert naive < 0.85 * truth, (naive, truth)                     # biased low by > 15 %
    assert abs(kmm - truth) / truth < 0.04, (kmm, truth)            # siyu within 4 %
    assert tab.loc["pods", "cycle"] == kmm


def test_replenishment_same_day_is_one_purchase_and_refunds_ignored():
    df = pd.DataFrame({"cust": [1, 1, 1, 1, 1, 2],
                       "t": ["2024-01-01", "2024-01-01", "2024-01-11", "2024-01-15",
                             "2024-01-21", "2024-01-05"],
                       "amount": [5.0, 5.0, 5.0, -5.0, 5.0, 5.0],
                       "product": ["a", "a", "a", "a", "a", "a"]})
    tx = siyu.Transactions(df, customer="cust", time="t", amount="amount", product="product")
    t = tx.replenishment(min_customers=1, end="2024-01-31").table.loc["a"]
    # customer 1: days 0, 10, 20 (the refund on day 14 is not a purchase); customer 2: day 4
    assert (t["n_buyers"], t["n_rebuyers"], t["n_intervals"]) == (2, 1, 2)
    assert t["gap_median"] == 10.0
    c = tx.replenishment(min_customers=1, end="2024-01-31").curve("a")
    # intervals 10, 10 (closed), 10 (open, customer 1), 26 (open, customer 2)
    assert c["time"].tolist() == [0, 10, 26]
    assert c["events"].tolist() == [0, 2, 0] and c["censored"].tolist() == [0, 1, 1]
    assert c["survival"].tolist() == pytest.approx([1.0, 0.5, 0.5])


def test_replenishment_min_customers_and_attrs():
    df = random_log(4)
    r = make_tx(df).replenishment(min_customers=40, end=END)
    t = r.table
    assert (t["enough_data"] == (t["n_buyers"] >= 40)).all()
    assert t.loc[~t["enough_data"], "cycle"].isna().all()
    assert t.loc[t["enough_data"], "cycle"].equals(t.loc[t["enough_data"], "km_median"])
    assert "once" in t.index and not t.loc["once", "enough_data"]
    assert t.attrs["by"] == "product" and t.attrs["min_customers"] == 40
    assert "(missing)" not in t.index
    assert "cycle" in repr(r) or "with a cycle" in repr(r)
    assert "<table" in r._repr_html_()
    with pytest.raises(KeyError, match="not a product"):
        r.curve("nope")


def test_replenishment_threads_identical():
    rng = np.random.default_rng(5)
    n = 60_000
    df = pd.DataFrame({"cust": rng.integers(0, 25_000, n),
                       "t": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 300, n), "D"),
                       "amount": 1.0, "product": rng.integers(0, 50, n)})
    tx = siyu.Transactions(df, customer="cust", time="t", amount="amount", product="product")
    old = _core.get_num_threads()
    try:
        _core.set_num_threads(1)
        a = tx.replenishment(min_customers=1)
        b = tx.recall_list()
        _core.set_num_threads(3)
        c = tx.replenishment(min_customers=1)
        d = tx.recall_list()
    finally:
        _core.set_num_threads(old)
    pd.testing.assert_frame_equal(a.table, c.table)
    pd.testing.assert_frame_equal(a.curves, c.curves)
    pd.testing.assert_frame_equal(b, d)


# --------------------------------------------------------------------------- recall list
AS_OF = "2024-03-31"


def hand_log() -> pd.DataFrame:
    rows = [
        # X1, X2 set the cycles: pods every 20 days, shampoo every 45 days
        ("X1", "2024-01-01", "pods"), ("X1", "2024-01-21", "pods"), ("X1", "2024-02-10", "pods"),
        ("X1", "2024-03-01", "pods"), ("X1", "2024-03-21", "pods"),
        ("X2", "2024-01-05", "pods"), ("X2", "2024-01-25", "pods"), ("X2", "2024-02-14", "pods"),
        ("X2", "2024-03-05", "pods"), ("X2", "2024-03-25", "pods"),
        ("X1", "2024-01-01", "shampoo"), ("X1", "2024-02-15", "shampoo"),
        ("X2", "2024-01-10", "shampoo"), ("X2", "2024-02-24", "shampoo"),
        # A: shampoo 14 days past due, pods 5 days past due
        ("A", "2024-02-01", "shampoo"), ("A", "2024-03-06", "pods"),
        # B: pods due in 17 days (not yet); C: pods due in 4 days
        ("B", "2024-03-28", "pods"), ("C", "2024-03-15", "pods"),
        # D, E1, E2: identical rhythm (every 10 days), quiet for 70 days
        ("D", "2024-01-01", "gift"), ("D", "2024-01-11", "gift"), ("D", "2024-01-21", "gift"),
        ("E2", "2024-01-01", "gift"), ("E2", "2024-01-11", "gift"), ("E2", "2024-01-21", "gift"),
        ("E1", "2024-01-01", "gift"), ("E1", "2024-01-11", "gift"), ("E1", "2024-01-21", "gift"),
        # F: acquired after as_of
        ("F", "2024-04-02", "pods"),
    ]
    df = pd.DataFrame(rows, columns=["cust", "t", "product"])
    df["amount"] = 10.0
    return df


def hand_tx(df=None):
    df = hand_log() if df is None else df
    return siyu.Transactions(df, customer="cust", time="t", amount="amount", product="product")


def test_recall_list_hand_built():
    tx = hand_tx()
    r = tx.replenishment(min_customers=2, end=AS_OF).table
    assert r.loc["pods", "cycle"] == 20 and r.loc["shampoo", "cycle"] == 45
    assert r.loc["gift", "cycle"] == 10                     # D, E1, E2: 60 days past due,
    assert tx.replenishment(min_customers=6, end=AS_OF).table["cycle"].isna().all()  # stale
    rl = tx.recall_list(as_of=AS_OF, min_customers=2)
    # value at stake (mean purchase-day amount x 30 / typical gap): D, E1, E2 30 (tied:
    # by id); X1 70 / 6 x 30 / 20 = 17.5 (two items on Jan 1); A, C 15 (A more overdue)
    assert rl.index.tolist() == ["D", "E1", "E2", "X1", "A", "C"]
    assert rl["rank"].tolist() == [1, 2, 3, 4, 5, 6]
    assert rl.loc["X1", "value_at_stake"] == pytest.approx(70 / 6 * 30 / 20)
    assert "F" not in rl.index and "B" not in rl.index
    a = rl.loc["A"]
    assert a["due_products"] == "shampoo, pods" and a["n_due"] == 2
    assert a["days_past_due"] == 14
    assert a["typical_gap"] == 20 and a["gap_basis"] == "product"   # one own gap only
    assert a["overdue_ratio"] == pytest.approx(25 / 20)
    assert a["reason_code"] == "due" and a["reason"] == "shampoo due 14 days ago (+1 more due)"
    assert a["value_at_stake"] == pytest.approx(10 * 30 / 20)
    assert a["tag"] == "replenish"
    c = rl.loc["C"]
    assert c["due_products"] == "pods" and c["days_past_due"] == -4
    assert c["reason"] == "pods due in 4 days"
    x1 = rl.loc["X1"]
    assert x1["due_products"] == "shampoo" and x1["reason"] == "shampoo due today"
    assert x1["typical_gap"] == 20 and x1["gap_basis"] == "own"     # gaps 20, 20, 5, 14, 20
    d = rl.loc["D"]
    assert d["typical_gap"] == 10 and d["days_since_last"] == 70
    assert d["overdue_ratio"] == pytest.approx(7.0) and d["n_due"] == 0
    assert d["reason_code"] == "overdue"
    assert d["reason"] == "usually buys every 10 days; 70 days since last order"
    assert d["stage"] == "stable" and d["tag"] == "re-engage"
    assert d["value_at_stake"] == pytest.approx(30.0)
    assert rl.attrs["value_basis"] == "pace" and rl.attrs["n_considered"] == 8
    assert np.isnan(rl["p_alive"]).all()


def test_recall_list_chinese_and_rules():
    tx = hand_tx()
    rl = tx.recall_list(as_of=AS_OF, min_customers=2, lang="zh")
    assert rl.loc["A", "reason"] == "shampoo 已到期 14 天（另有 2 件到期）".replace("2 件", "1 件")
    assert rl.loc["A", "due_products"] == "shampoo、pods"
    assert rl.loc["D", "reason"] == "通常每 10 天购买一次；距上次下单已 70 天"
    assert rl.loc["D", "tag"] == "激活需求"
    # only the due rule; a tighter lead drops C (due in 4 days)
    due = tx.recall_list(as_of=AS_OF, min_customers=2, reasons=["due"], lead=3)
    assert due.index.tolist() == ["X1", "A"]
    # stale: shampoo 14 days past due is stale when stale * 45 < 14, pods (5) not
    st = tx.recall_list(as_of=AS_OF, min_customers=2, reasons=["due"], stale=0.3)
    assert st.loc["A", "due_products"] == "pods"
    # overdue_at and top
    top = tx.recall_list(as_of=AS_OF, min_customers=2, top=2)
    assert top.index.tolist() == ["D", "E1"]
    assert tx.recall_list(as_of=AS_OF, min_customers=2, rank_by="days_since_last"
                          ).index[:3].tolist() == ["D", "E1", "E2"]
    lapsing = tx.recall_list(as_of="2024-08-31", min_customers=2, reasons=["overdue"])
    assert (lapsing.loc[["D", "E1", "E2"], "tag"] == "win back").all()
    # B bought once: the typical gap is the pods cycle, and the reason says so
    assert lapsing.loc["B", "gap_basis"] == "product"
    assert lapsing.loc["B", "reason"] == ("their products are usually rebought every 20 days; "
                                          "156 days since last order")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_recall_stage_is_the_lifecycle_stage(lang):
    df = random_log(12, n_cust=300, n_rows=2500, span=400)
    tx = make_tx(df)
    for as_of, bounds in (("2024-06-30", (30, 180)), ("2024-12-31", (10, 60))):
        rl = tx.recall_list(as_of=as_of, bounds=bounds, lang=lang, min_customers=5,
                            overdue_at=1e-9)
        lc = tx.lifecycle(as_of=as_of, bounds=bounds, lang=lang).loc[rl.index]
        assert len(rl) > 100
        assert (rl["stage"].astype(str) == lc["stage"].astype(str)).all()
        assert list(rl["stage"].cat.categories) == list(lc["stage"].cat.categories)
        np.testing.assert_array_equal(rl["days_since_last"], lc["days_since_last"])
        np.testing.assert_array_equal(rl["last_purchase"], lc["last_purchase"])


def test_recall_list_cycles_given():
    tx = hand_tx()
    rep = tx.replenishment(min_customers=2, end=AS_OF)
    base = tx.recall_list(as_of=AS_OF, min_customers=2)
    pd.testing.assert_frame_equal(base, tx.recall_list(as_of=AS_OF, cycles=rep))
    own = tx.recall_list(as_of=AS_OF, cycles={"pods": 30.0}, reasons=["due"])
    # pods every 30 days: A (25 days) due in 5, B (3) no, C (16) no, X1 (10) no, X2 (6) no
    assert own.index.tolist() == ["A"] and own.loc["A", "reason"] == "pods due in 5 days"
    with pytest.raises(ValueError, match="no product of the log"):
        tx.recall_list(cycles={"podz": 30.0})
    with pytest.raises(ValueError, match="positive"):
        tx.recall_list(cycles={"pods": -3.0})
    with pytest.raises(TypeError, match="cycles must be"):
        tx.recall_list(cycles=[30])
    with pytest.raises(ValueError, match="numbers of days"):
        tx.recall_list(cycles={"pods": "monthly"})


def test_recall_list_ties_deterministic_under_shuffles():
    df = hand_log()
    base = hand_tx(df).recall_list(as_of=AS_OF, min_customers=2)
    for seed in range(3):
        shuffled = df.sample(frac=1.0, random_state=seed)
        got = hand_tx(shuffled).recall_list(as_of=AS_OF, min_customers=2)
        pd.testing.assert_frame_equal(base, got)


def test_recall_list_without_items():
    df = hand_log().drop(columns="product")
    tx = siyu.Transactions(df, customer="cust", time="t", amount="amount")
    rl = tx.recall_list(as_of=AS_OF)
    # only own rhythms: D, E1, E2 (overdue); A/B/C have < 2 gaps
    assert rl.index.tolist() == ["D", "E1", "E2"]
    assert (rl["due_products"] == "").all() and (rl["n_due"] == 0).all()
    with pytest.raises(ValueError, match="needs line items"):
        tx.recall_list(as_of=AS_OF, reasons=["due"])
    with pytest.raises(ValueError, match="needs line items"):
        tx.replenishment()


def test_recall_due_products_match_oracle():
    df = random_log(9, n_cust=120, n_rows=1500)
    tx = make_tx(df)
    as_of = "2024-07-15"
    cyc = tx.replenishment(min_customers=5, end=as_of).table["cycle"]
    rl = tx.recall_list(as_of=as_of, min_customers=5, reasons=["due"], max_products=2,
                        lead=5, stale=2.0)
    want = ref.due_products(df, "product", as_of, cyc, lead=5, stale=2.0)
    n_due = want.groupby("cust").size()
    assert sorted(rl.index) == sorted(n_due.index)
    np.testing.assert_array_equal(rl["n_due"].to_numpy(), n_due.reindex(rl.index).to_numpy())
    top2 = want.groupby("cust").head(2).groupby("cust")["product"].agg(", ".join)
    assert (rl["due_products"] == top2.reindex(rl.index)).all()
    first = want.groupby("cust")["over"].first()
    np.testing.assert_allclose(rl["days_past_due"], first.reindex(rl.index))
    own = ref.own_median_gap(df, as_of)
    full = tx.recall_list(as_of=as_of, min_customers=5, min_own_gaps=3, overdue_at=1e-9)
    o = own.reindex(full.index)
    use_own = o["n_gaps"] >= 3
    np.testing.assert_allclose(full.loc[use_own, "typical_gap"], o.loc[use_own, "median"])
    assert (full.loc[use_own, "gap_basis"] == "own").all()
    dsl = (pd.Timestamp(as_of) - o["last"]).dt.days
    np.testing.assert_array_equal(full["days_since_last"], dsl)
    np.testing.assert_allclose(full["overdue_ratio"], dsl / full["typical_gap"])


@pytest.fixture(scope="module")
def fitted():
    from siyu.datasets.shop import simulate_shop
    sim = simulate_shop(3000, "2023-01-01", "2024-06-30", seed=3)
    tx = siyu.Transactions(sim.transactions, customer="customer_id", time="date",
                           amount="amount")
    s = tx.summary(end="2024-06-30", unit="W")
    s = s[s["T"] > 0]
    bg = siyu.BetaGeo().fit(s)
    gg = siyu.GammaGamma().fit(s[s["frequency"] > 0])
    return tx, bg, gg


def test_recall_list_with_model_equals_model_predictions(fitted):
    tx, bg, gg = fitted
    as_of = "2024-06-30"
    rl = tx.recall_list(as_of=as_of, model=bg, spend_model=gg, horizon=28)
    assert len(rl) > 100 and rl.attrs["value_basis"] == "model"
    s = tx.summary(end=as_of, unit="W").loc[rl.index]
    ok = s["T"] > 0
    np.testing.assert_allclose(rl.loc[ok, "p_alive"], bg.probability_alive(s[ok]), rtol=1e-12)
    ep = np.asarray(bg.conditional_expected_purchases(4.0, s[ok]))
    np.testing.assert_allclose(rl.loc[ok, "expected_purchases"], ep, rtol=1e-12)
    val = np.asarray(gg.conditional_expected_average_value(s[ok]))
    np.testing.assert_allclose(rl.loc[ok, "expected_value"], ep * val, rtol=1e-12)
    np.testing.assert_allclose(rl.loc[ok, "value_at_stake"],
                               ep * val / bg.probability_alive(s[ok]), rtol=1e-12)
    # P(alive) a month ago, from the summary at as_of - 30 days
    prev = tx.summary(end="2024-05-31", unit="W")
    prev = prev[prev["T"] > 0]
    both = rl.index.intersection(prev.index)
    np.testing.assert_allclose(rl.loc[both, "p_alive_before"],
                               bg.probability_alive(prev.loc[both]), rtol=1e-12)
    drop = rl[rl["reason_code"] == "alive_drop"]
    assert len(drop) > 0
    assert ((drop["p_alive_before"] - drop["p_alive"]) >= 0.2).all()
    assert "since last month" in drop["reason"].iloc[0]
    # the probabilities in the words are the row's own (hundredths below 0.1, else tenths)
    fmt = lambda p: f"{p:.2f}" if 0 < round(p * 100) < 10 else f"{round(p * 10) / 10:.1f}"  # noqa: E731
    for _, row in drop.head(20).iterrows():
        assert (f"from {fmt(row['p_alive_before'])} to {fmt(row['p_alive'])}"
                in row["reason"]), row["reason"]
    # ranked by value at stake (to 6 decimals), descending
    v = np.round(rl["value_at_stake"].to_numpy(), 6)
    assert (np.diff(v[~np.isnan(v)]) <= 0).all()


def test_recall_list_model_errors(fitted):
    tx, bg, gg = fitted
    with pytest.raises(TypeError, match="model must be"):
        tx.recall_list(model=gg)
    with pytest.raises(ValueError, match="not fitted"):
        tx.recall_list(model=siyu.BetaGeo())
    with pytest.raises(ValueError, match="needs a transaction model"):
        tx.recall_list(spend_model=gg)
    with pytest.raises(ValueError, match="spend_model .* not fitted"):
        tx.recall_list(model=bg, spend_model=siyu.GammaGamma())
    with pytest.raises(TypeError, match="spend_model must be"):
        tx.recall_list(model=bg, spend_model=bg)
    with pytest.raises(ValueError, match="needs a fitted model"):
        tx.recall_list(rank_by="expected_value")


def test_recall_list_bad_input():
    tx = hand_tx()
    with pytest.raises(ValueError, match="before the first purchase"):
        tx.recall_list(as_of="2023-12-31")
    with pytest.raises(ValueError, match="not a valid date"):
        tx.recall_list(as_of="soon")
    with pytest.raises(ValueError, match="unknown reason"):
        tx.recall_list(reasons=["birthday"])
    with pytest.raises(ValueError, match="rank_by"):
        tx.recall_list(rank_by="age")
    with pytest.raises(ValueError, match="lang"):
        tx.recall_list(lang="fr")
    with pytest.raises(TypeError, match="top"):
        tx.recall_list(top=2.5)
    with pytest.raises(ValueError, match="horizon"):
        tx.recall_list(horizon=0)
    with pytest.raises(ValueError, match="by must be"):
        tx.recall_list(by="sku")


def test_missing_product_and_bad_quantity():
    df = hand_log()
    df.loc[0, "product"] = np.nan
    tx = hand_tx(df)
    r = tx.replenishment(min_customers=1, end=AS_OF)
    assert "(missing)" not in r.table.index and r.table.attrs["n_missing"] == 1
    assert r.table.loc["pods", "n_intervals"] == 7                 # X1's first pods row gone
    df = hand_log()
    df["qty"] = 1
    df.loc[3, "qty"] = 0
    with pytest.raises(ValueError, match="quantity column 'qty' must be > 0"):
        siyu.Transactions(df, customer="cust", time="t", amount="amount", product="product",
                          quantity="qty")
    with pytest.raises(ValueError, match="before the first purchase"):
        hand_tx().replenishment(end="2020-01-01")
    with pytest.raises(TypeError, match="min_customers"):
        hand_tx().replenishment(min_customers=1.5)


# --------------------------------------------------------------------------- cross-sell
@pytest.mark.parametrize("seed", [1, 5])
@pytest.mark.parametrize("within", [None, 60])
def test_cross_sell_matches_oracle(seed, within):
    df = random_log(seed, n_cust=150, n_rows=1200)
    cs = make_tx(df).cross_sell(by="category", end=END, within=within)
    want, n_first = ref.cross_sell(df, "category", END, within=within)
    got = cs.table
    assert sorted(got.index) == sorted(want.index)
    want = want.loc[got.index]
    np.testing.assert_array_equal(got["customers"], want["customers"])
    np.testing.assert_allclose(got["median_days"], want["median_days"])
    np.testing.assert_array_equal(cs.n_first.sort_index(), n_first.sort_index())
    np.testing.assert_allclose(got["share"], want["customers"] / n_first.reindex(
        got.index.get_level_values("first")).to_numpy())
    m = cs.share
    assert m.shape == (len(n_first), len(n_first))
    a, b = got.index[0]
    assert m.loc[a, b] == got["share"].iloc[0]


def test_cross_sell_breadth_and_revenue_by_hand():
    rows = [  # customer, day, category, amount
        (1, "2024-01-05", "washer", 100.0), (1, "2024-01-05", "pods", 10.0),
        (1, "2024-02-10", "pods", 10.0), (1, "2024-03-01", "softener", 20.0),
        (2, "2024-01-20", "pods", 10.0), (2, "2024-03-15", "washer", 200.0),
        (3, "2024-02-02", "pods", 10.0), (3, "2024-02-03", "pods", 10.0),
    ]
    df = pd.DataFrame(rows, columns=["cust", "t", "category", "amount"])
    tx = siyu.Transactions(df, customer="cust", time="t", amount="amount", category="category")
    cs = tx.cross_sell(end="2024-03-31")
    b = cs.breadth
    # January cohort (1, 2): age 0: (2 + 1) / 2; age 1: customer 1 unchanged, customer 2
    # unchanged -> 1.5; age 2: customer 1 adds softener, customer 2 adds washer -> 2.5
    assert b.loc[pd.Period("2024-01", "M")].tolist() == [1.5, 1.5, 2.5]
    # February cohort (3): 1 category at ages 0, 1; age 2 not observed
    feb = b.loc[pd.Period("2024-02", "M")]
    assert feb.iloc[:2].tolist() == [1.0, 1.0] and np.isnan(feb.iloc[2])
    assert cs.cohort_sizes.tolist() == [2, 1]
    assert not cs.breadth_partial.to_numpy().any()           # end is a month's last day
    assert "cohort" in repr(b)            # printable: no DataFrames in attrs (pandas chokes)
    rev = cs.revenue
    # beyond first: customer 1 softener 20; customer 2 washer 200; customer 3 none
    assert rev.loc["2024-01", "revenue_beyond_first"] == 220.0
    assert rev.loc["2024-01", "revenue"] == 350.0
    assert rev.loc["total", "share_beyond_first"] == pytest.approx(220 / 370)
    assert cs.share_beyond_first == pytest.approx(220 / 370)
    # transitions: washer first (customer 1): later pods (day 36), softener (day 56)
    t = cs.table
    assert t.loc[("washer", "pods"), "median_days"] == 36
    assert t.loc[("pods", "washer"), "customers"] == 1         # customer 2 (customer 1 had it first)
    assert t.loc[("pods", "pods"), "customers"] == 2           # customers 1 and 3 rebuy pods
    assert cs.n_first.to_dict() == {"pods": 3, "washer": 1}
    part = tx.cross_sell(end="2024-03-20").breadth_partial
    assert part.loc[pd.Period("2024-01", "M"), 2] and not part.loc[pd.Period("2024-01", "M"), 1]


def test_cross_sell_errors():
    with pytest.raises(ValueError, match="needs line items with a category"):
        hand_tx().cross_sell()
    with pytest.raises(ValueError, match="period"):
        hand_tx().cross_sell(by="product", period="H")
    cs = hand_tx().cross_sell(by="product", end=AS_OF)
    assert "CrossSell" in repr(cs)


# --------------------------------------------------------------------------- report pieces, CLI
def test_write_recall_csv_and_headers(tmp_path):
    tx = hand_tx()
    p = actions.write_recall_csv(tx, tmp_path / "r.csv", as_of=AS_OF, min_customers=2,
                                 lang="zh")
    back = pd.read_csv(p, encoding="utf-8-sig")
    rl = tx.recall_list(as_of=AS_OF, min_customers=2, lang="zh")
    assert back.columns[0] == "cust" and back["cust"].tolist() == rl.index.tolist()
    assert "联系理由" in back.columns and "标签" in back.columns and "存活概率" not in back.columns
    assert back["联系理由"].tolist() == rl["reason"].tolist()
    assert back["间隔依据"].iloc[0] == "本人间隔"
    en = pd.read_csv(actions.write_recall_csv(tx, tmp_path / "e.csv", as_of=AS_OF, top=2),
                     encoding="utf-8-sig")
    assert list(en.columns[:3]) == ["cust", "rank", "stage"] and len(en) == 2
    with pytest.raises(ValueError, match="does not exist"):
        actions.write_recall_csv(tx, tmp_path / "nope" / "r.csv")


def test_report_section_and_tables():
    tx = hand_tx()
    sec = actions.report_section(tx, as_of=AS_OF, min_customers=2, top=3, lang="zh",
                                 csv_path="recall.csv")
    assert sec["title"] == "本周联系谁" and "8 位客户中有 6 位" in sec["intro"]
    assert len(sec["contacts"]) == 3 and sec["contacts"].columns[-1] == "标签"
    assert sec["cycles"].index.name == "商品" and sec["cycles"].index[0] == "pods"
    assert sec["cycles"].loc["pods", "补货周期（天，含删失）"] == 20
    assert "recall.csv" in sec["csv_note"] and "商品" in sec["cycles_intro"]
    assert "未提供模型" in sec["value_note"]
    ct = actions.cycle_table(tx, min_customers=2, top=None)
    assert list(ct.index) == ["pods", "gift", "shampoo"]           # by buyers: 5, 3, 3
    assert actions.format_days(19.5) == "20" and actions.format_days(np.nan) == ""
    assert actions.format_money(1234.5) == "1,234.50" and actions.format_share(0.1234) == "12.3%"
    assert actions.format_probability(0.456) == "0.46"


def test_cli_item_flags_and_recall_csv(tmp_path, capsys):
    from siyu import __main__ as cli
    from siyu.report import build_report
    args = cli._parser().parse_args(["report", "x.csv", "--customer", "c", "--time", "t",
                                     "--amount", "a", "--product", "sku", "--category", "cat",
                                     "--quantity", "q", "--recall-csv", str(tmp_path / "r.csv"),
                                     "--lang", "zh"])
    assert (args.product, args.category, args.quantity) == ("sku", "cat", "q")
    assert cli._recall_csv_path(args) == str(tmp_path / "r.csv")
    args.recall_csv = None
    assert cli._recall_csv_path(args) is None
    args.recall_csv = str(tmp_path / "missing" / "r.csv")
    with pytest.raises(cli.UsageError, match="does not exist"):
        cli._recall_csv_path(args)
    # end to end: the report's "Who to contact" section is the top of the list the CSV holds
    df = hand_log()
    log = tmp_path / "log.csv"
    df.to_csv(log, index=False)
    csv, html = tmp_path / "recall.csv", tmp_path / "r.html"
    code = cli.main(["report", str(log), "--customer", "cust", "--time", "t", "--amount",
                     "amount", "--product", "product", "--recall-csv", str(csv), "--out",
                     str(html), "--quiet", "--lang", "zh"])
    assert code == 0, capsys.readouterr().err
    full = pd.read_csv(csv, encoding="utf-8-sig", dtype=str)
    assert full.columns[1] == "排名"
    tx = siyu.read_orders(log, customer="cust", time="t", amount="amount", product="product")
    want = actions.recall_list(tx, lang="zh")
    assert list(full.iloc[:, 0]) == [str(i) for i in want.index]
    page = html.read_text(encoding="utf-8")
    for sid in ("contact", "contact-table", "cycles-table"):
        assert re.search(rf"id=['\"]{sid}['\"]", page), sid
    assert "本周联系谁" in page
    for cid in list(want.index)[:3]:
        assert f">{cid}<" in page


def test_rank_order_equals_lexsort():
    rng = np.random.default_rng(3)
    for n, k in ((0, 3), (1, 3), (500, 3), (2000, 40)):
        a = rng.integers(0, k, n).astype(float)
        a[rng.random(n) < 0.1] = np.inf
        b = rng.integers(0, 4, n).astype(float)
        c = rng.integers(0, 3, n).astype(float)
        want = np.lexsort((np.arange(n), c, b, a))
        np.testing.assert_array_equal(actions._rank_order(a, b, c), want)
    # signs, -0.0 against 0.0 (equal), infinities, continuous values, long tie runs
    n = 150_000
    a = np.round(rng.normal(0, 50, n), 1)
    a[rng.random(n) < 0.05] = -0.0
    a[rng.random(n) < 0.05] = 0.0
    a[rng.random(n) < 0.02] = -np.inf
    a[rng.random(n) < 0.02] = np.inf
    a[rng.random(n) < 0.3] = 7.25
    b = rng.integers(-3, 3, n) * 0.5
    c = rng.normal(size=n)
    c[rng.random(n) < 0.5] = 0.0
    want = np.lexsort((np.arange(n), c, b, a))
    np.testing.assert_array_equal(actions._rank_order(a, b, c), want)
    with pytest.raises(ValueError, match="NaN"):
        _core.items_rank(np.array([1.0, np.nan]), np.zeros(2), np.zeros(2))


def _decoded(parts):
    """text_rows' (offsets, UTF-8 bytes) decoded row by row in Python."""
    off, data = parts
    assert off.dtype == np.int64 and data.dtype == np.uint8 and off[0] == 0
    raw = data.tobytes()
    assert off[-1] == len(raw) and (np.diff(off) >= 0).all()
    return [raw[a:b].decode("utf-8") for a, b in zip(off[:-1], off[1:])]


def test_text_rows_kernel():
    import sys
    tables = [["pods", "洗衣凝珠"], ["0.5"]]
    tpl = [["due ", (0, 0), " in ", 1, " days"], ["P=", (2, 1)]]
    choice = np.array([[0, -1, 0], [1, 1, -1]])
    ints = np.array([[1, 0, 0], [3, 4, -2], [0, 0, 0]])
    word = tables[0][1]
    before = sys.getrefcount(word)
    for _ in range(50):
        out = _core.text_rows(tpl, choice, ints, tables, "; ")
    after = sys.getrefcount(word)
    assert after == before                                 # no reference leaked
    assert _decoded(out) == ["due 洗衣凝珠 in 3 days; P=0.5", "P=0.5", "due pods in -2 days"]
    big = _core.text_rows([[0]], np.zeros((1, 3), np.int64),
                          np.array([[np.iinfo(np.int64).min, 0, 1234567890123]]), [], "")
    assert _decoded(big) == [str(np.iinfo(np.int64).min), "0", "1234567890123"]
    none = _core.text_rows(tpl, np.zeros((2, 0), np.int64), np.zeros((3, 0), np.int64),
                           tables, "; ")
    assert _decoded(none) == []
    absent = _core.text_rows(tpl, np.full((2, 2), -1), ints[:, :2], tables, "; ")
    assert _decoded(absent) == ["", ""]
    with pytest.raises(ValueError, match="table index"):
        _core.text_rows(tpl, choice, np.array([[2, 0, 0], [3, 4, 1], [0, 0, 0]]), tables, "; ")
    with pytest.raises(ValueError, match="template index"):
        _core.text_rows(tpl, np.array([[5, 0, 0]]), ints, tables, "; ")
    with pytest.raises(ValueError, match="piece"):
        _core.text_rows([[(9, 0)]], choice, ints, tables, "; ")
    with pytest.raises(TypeError, match="str"):
        _core.text_rows(tpl, choice, ints, [["a", 3], ["b"]], "; ")
    with pytest.raises(ValueError, match="same n"):
        _core.text_rows(tpl, choice, ints[:, :2], tables, "; ")
    assert _decoded(_core.text_rows([[]], np.zeros((1, 0), np.int64),
                                    np.zeros((1, 0), np.int64), [], "; ")) == []


def test_recall_overdue_boundaries_by_hand():
    """overdue_ratio = days since last / median own gap, listed when >= overdue_at (equal
    counts); the own rhythm needs >= min_own_gaps gaps (else NaN without line items)."""
    d0 = pd.Timestamp("2024-01-01")
    rows = [("a", 0), ("a", 20), ("a", 40), ("b", 10), ("b", 30), ("b", 50), ("c", 0), ("c", 20)]
    df = pd.DataFrame({"c": [r[0] for r in rows], "amt": 10.0,
                       "t": [d0 + pd.Timedelta(days=r[1]) for r in rows]})
    tx = siyu.Transactions(df, customer="c", time="t", amount="amt")
    as_of = d0 + pd.Timedelta(days=70)
    # a: gaps 20, 20, 30 days since last -> 1.5 exactly; b: 20 / 20 = 1.0; c: one gap only
    rl = tx.recall_list(as_of=as_of)
    assert rl.index.tolist() == ["a"]
    assert rl.loc["a", "overdue_ratio"] == 1.5 and rl.loc["a", "typical_gap"] == 20.0
    assert rl.loc["a", "gap_basis"] == "own" and rl.loc["a", "reason_code"] == "overdue"
    assert rl.loc["a", "value_at_stake"] == 10.0 * 30 / 20       # mean value x horizon / gap
    assert tx.recall_list(as_of=as_of, overdue_at=1.5 + 1e-9).empty
    # one own gap is enough with min_own_gaps=1: c (50 / 20 = 2.5) is listed first
    rl1 = tx.recall_list(as_of=as_of, min_own_gaps=1)
    assert rl1.index.tolist() == ["c", "a"]
    assert rl1["overdue_ratio"].tolist() == [2.5, 1.5]


@pytest.mark.parametrize("threads", [1, 2])
def test_text_rows_many_rows_against_python(threads):
    """Random rows (absent parts, negative and 19-digit numbers, Chinese labels) over
    several thread chunks equal the same texts joined in Python."""
    import siyu

    rng = np.random.default_rng(7)
    n = 70_000
    labels = ["洗衣凝珠", "pods", "", "牙膏 120g"]
    tpl = [["due ", (0, 0), " in ", 1, " 天"], ["gap ", 2], [(0, 0), "/", 1, "/", 2]]
    choice = rng.integers(-1, 3, (3, n))
    ints = np.vstack([rng.integers(0, 4, n), rng.integers(-10**6, 10**6, n),
                      rng.choice([0, -1, 9, 10, 99, 10**18, -(10**18), 2**63 - 1], n)])
    old = siyu.get_num_threads()
    siyu.set_num_threads(threads)
    try:
        got = _decoded(_core.text_rows(tpl, choice, ints, [labels], "；"))
    finally:
        siyu.set_num_threads(old)

    def piece(p, i):
        return p if isinstance(p, str) else (labels[ints[p[0], i]] if isinstance(p, tuple)
                                             else str(ints[p, i]))

    want = ["；".join("".join(piece(p, i) for p in tpl[k]) for k in choice[:, i] if k >= 0)
            for i in range(n)]
    assert got == want
