"""Tests of siyu.metrics: 复购率, 回购率, 新客复购率, RFM 八大类, R×F / R×M matrices."""
from __future__ import annotations

import sys
import warnings

import numpy as np
import pandas as pd
import pytest

import siyu
from siyu import _core
from siyu import metrics as mt
from siyu._i18n import CATALOGUE

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import reference_metrics as ref  # noqa: E402

FREQ = ref.FREQ


# ---------------------------------------------------------------------------- fixtures
def random_log(seed: int, n_cust: int = 80, n_rows: int = 400, str_ids: bool = False,
               channel: bool = True) -> pd.DataFrame:
    """Customers starting at different days, same-day duplicates (several orders a day,
    at different hours), about 8% refunds, some refund-only customers, a channel."""
    rng = np.random.default_rng(seed)
    cust = rng.integers(0, n_cust, n_rows)
    start = rng.integers(0, 400, n_cust)
    days = start[cust] + rng.integers(0, 240, n_rows) // rng.integers(1, 4, n_rows)
    dup = rng.random(n_rows) < 0.25                  # a second order on the same day
    cust = np.concatenate([cust, cust[dup]])
    days = np.concatenate([days, days[dup]])
    n = cust.size
    hours = rng.integers(0, 24, n)
    date = pd.Timestamp("2022-01-01") + pd.to_timedelta(days, "D") + pd.to_timedelta(hours, "h")
    amt = np.round(rng.exponential(30.0, n), 2)
    amt[rng.random(n) < 0.08] *= -1
    refund_only = n_cust + np.arange(3)              # customers who only have refunds
    df = pd.DataFrame({"customer": np.concatenate([cust, refund_only]),
                       "date": np.concatenate([date.values, date.values[:3]]),
                       "amount": np.concatenate([amt, [-5.0, -1.0, -2.0]])})
    if str_ids:
        df["customer"] = [f"u{c:04d}" for c in df["customer"]]
    if channel:
        df["channel"] = rng.choice(["公域", "私域", "社群"], len(df))
    return df.sample(frac=1.0, random_state=seed).reset_index(drop=True)   # unsorted input


def make_tx(df: pd.DataFrame) -> siyu.Transactions:
    return siyu.Transactions(df, customer="customer", time="date", amount="amount",
                             channel="channel" if "channel" in df else None)


def log_of(rows, channel=False) -> siyu.Transactions:
    """Hand-built log from (customer, date, amount[, channel]) tuples."""
    cols = ["customer", "date", "amount"] + (["channel"] if channel else [])
    df = pd.DataFrame(rows, columns=cols)
    df["date"] = pd.to_datetime(df["date"], format="mixed")
    return make_tx(df)


def _period_ends(index: pd.PeriodIndex) -> tuple[np.ndarray, np.ndarray]:
    return index.start_time.normalize().values, index.end_time.normalize().values


# ---------------------------------------------------------------------------- 复购率
def test_repeat_rate_hand_case():
    tx = log_of([
        ("a", "2024-01-03 09:00", 10.0), ("a", "2024-01-03 18:00", 5.0),   # same day: 1 occasion
        ("a", "2024-01-20", 8.0),                                          # a repeats
        ("b", "2024-01-05", 9.0), ("b", "2024-01-05", 4.0),                # 2 orders, 1 day
        ("c", "2024-01-07", 6.0), ("c", "2024-01-15", -6.0),               # refund: no purchase
        ("d", "2023-12-30", 7.0), ("d", "2024-01-10", 3.0),                # once before, once in
        ("e", "2024-02-02", 5.0), ("e", "2024-02-03", 5.0),                # outside the window
        ("f", "2024-01-09", -3.0),                                         # refund only
    ])
    r = tx.repeat_rate("2024-01-01", "2024-01-31")
    row = r.iloc[0]
    assert r.index.tolist() == ["all"] and r.index.name == "window"
    assert (row["buyers"], row["repeat_buyers"]) == (4, 1)                 # a, b, c, d; a
    assert row["rate"] == 0.25
    assert (row["orders"], row["repeat_orders"]) == (5, 1)                 # a 2 days, b, c, d
    assert row["order_rate"] == pytest.approx(1 / 5)
    assert not row["partial"]
    o = tx.repeat_rate("2024-01-01", "2024-01-31", same_day="orders").iloc[0]
    assert (o["buyers"], o["repeat_buyers"], o["orders"], o["repeat_orders"]) == (4, 2, 7, 3)
    assert o["rate"] == 0.5 and o["order_rate"] == pytest.approx(3 / 7)
    assert r.attrs["same_day"] == "merge" and r.attrs["start"] == pd.Timestamp("2024-01-01")
    zh = tx.repeat_rate("2024-01-01", "2024-01-31", lang="zh")
    assert zh.index.tolist() == ["全部"]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("same_day", ["merge", "orders"])
@pytest.mark.parametrize("by", [False, True])
def test_repeat_rate_matches_oracle(seed, same_day, by):
    df = random_log(seed, str_ids=seed % 2 == 1)
    tx = make_tx(df)
    rng = np.random.default_rng(seed)
    lo = pd.Timestamp("2022-01-01") + pd.Timedelta(days=int(rng.integers(0, 300)))
    hi = lo + pd.Timedelta(days=int(rng.integers(0, 250)))
    got = tx.repeat_rate(lo, hi, same_day=same_day, by="channel" if by else None)
    exp = ref.ref_repeat_rate(df, lo, hi, same_day, by=by)
    if by:
        exp = exp.reindex(got.index).fillna(0)
    for col in ("buyers", "repeat_buyers", "orders"):
        np.testing.assert_array_equal(got[col].to_numpy(), exp[col].to_numpy(dtype=np.int64))
    assert got["buyers"].sum() > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        np.testing.assert_allclose(got["rate"], exp["repeat_buyers"] / exp["buyers"])
        np.testing.assert_allclose(got["order_rate"],
                                   (exp["orders"] - exp["buyers"]) / exp["orders"])
    d = df["date"].dt.normalize()
    assert (got["partial"] == ((lo < d.min()) or (hi > d.max()))).all()


@pytest.mark.parametrize("period", ["D", "W", "M", "Q"])
@pytest.mark.parametrize("by", [False, True])
def test_repeat_rate_by_period_matches_oracle(period, by):
    df = random_log(7)
    tx = make_tx(df)
    lo, hi = pd.Timestamp("2022-02-10"), pd.Timestamp("2022-11-20")
    got = tx.repeat_rate(lo, hi, period=period, by="channel" if by else None)
    exp = ref.ref_repeat_rate(df, lo, hi, "merge", by=by, period=period)
    exp = exp.reindex(got.index).fillna(0)
    for col in ("buyers", "repeat_buyers", "orders"):
        np.testing.assert_array_equal(got[col].to_numpy(), exp[col].to_numpy(dtype=np.int64))
    assert got["buyers"].sum() > 0
    per = got.index.get_level_values("period")
    assert per.freqstr == pd.Period("2022-01-01", FREQ[period]).freqstr
    first, last = _period_ends(per)
    dmin, dmax = df["date"].dt.normalize().min(), df["date"].dt.normalize().max()
    exp_partial = (first < max(lo, dmin).to_datetime64()) | (last > min(hi, dmax).to_datetime64())
    np.testing.assert_array_equal(got["partial"].to_numpy(), exp_partial)
    if period == "M":
        # Feb (from the 10th) and Nov (to the 20th) are cut by the window; March is whole
        assert got["partial"].groupby(level="period").all().tolist()[:2] == [True, False]


def test_repeat_rate_empty_and_cut_windows():
    tx = log_of([("a", "2024-01-03", 10.0), ("a", "2024-01-20", 8.0), ("b", "2024-03-05", 1.0)])
    empty = tx.repeat_rate("2024-02-01", "2024-02-29").iloc[0]      # a gap in the log
    assert (empty["buyers"], empty["repeat_buyers"], empty["orders"]) == (0, 0, 0)
    assert np.isnan(empty["rate"]) and np.isnan(empty["order_rate"]) and not empty["partial"]
    before = tx.repeat_rate("2020-01-01", "2020-12-31").iloc[0]     # wholly before the log
    assert before["buyers"] == 0 and before["partial"]
    cut = tx.repeat_rate("2024-01-01", "2024-06-30")                 # cut by the log end
    assert cut["partial"].iloc[0] and cut["buyers"].iloc[0] == 2
    whole = tx.repeat_rate()                                         # default: the log span
    assert not whole["partial"].iloc[0] and whole["repeat_buyers"].iloc[0] == 1
    one_day = tx.repeat_rate("2024-01-03", "2024-01-03").iloc[0]
    assert (one_day["buyers"], one_day["repeat_buyers"]) == (1, 0)
    months = tx.repeat_rate("2024-01-01", "2024-03-31", period="M")
    assert months["buyers"].tolist() == [1, 0, 1]
    # January starts before the log's first day (the 3rd), March ends after its last (5th)
    assert months["partial"].tolist() == [True, False, True]


def test_repeat_rate_by_uses_acquisition_channel():
    tx = log_of([("a", "2024-01-02", 1.0, "私域"), ("a", "2024-01-09", 1.0, "公域"),
                 ("b", "2023-11-01", 1.0, "公域"), ("b", "2024-01-03", 1.0, "私域"),
                 ("b", "2024-01-04", 1.0, "私域"), ("c", "2024-01-05", -1.0, "私域")],
                channel=True)
    r = tx.repeat_rate("2024-01-01", "2024-01-31", by="channel")
    assert r.index.name == "channel" and r.index.tolist() == ["公域", "私域"]
    # a was acquired in 私域, b (first purchase in November) in 公域; c never bought
    assert r.loc["私域", ["buyers", "repeat_buyers"]].tolist() == [1, 1]
    assert r.loc["公域", ["buyers", "repeat_buyers"]].tolist() == [1, 1]


def test_repeat_rate_errors():
    tx = log_of([("a", "2024-01-03", 10.0)])
    with pytest.raises(ValueError, match=r"start \(2024-02-01\) is after end \(2024-01-01\)"):
        tx.repeat_rate("2024-02-01", "2024-01-01")
    with pytest.raises(ValueError, match="same_day must be 'merge'"):
        tx.repeat_rate(same_day="day")
    with pytest.raises(ValueError, match="unknown period 'fortnight'"):
        tx.repeat_rate(period="fortnight")
    with pytest.raises(ValueError, match="start='yesterday' is not a valid date"):
        tx.repeat_rate("yesterday", "2024-01-31")
    with pytest.raises(ValueError, match="no channel column"):
        tx.repeat_rate(by="channel")
    with pytest.raises(ValueError, match="lang must be"):
        tx.repeat_rate(lang="fr")
    with pytest.raises(ValueError, match="too many cells"):     # checked before allocating
        _core.metric_periods(np.zeros(1, np.int64), np.zeros(1, np.int64), None, 1, None,
                             10_000, 0, 0, 0, 0, 10_000, False)
    ch = log_of([("a", "2024-01-03", 10.0, "x")], channel=True)
    with pytest.raises(ValueError, match="by='source' is not a column"):
        ch.repeat_rate(by="source")
    with pytest.raises(TypeError, match="by must be a column name"):
        ch.repeat_rate(by=["channel"])


# ---------------------------------------------------------------------------- 回购率
def test_return_rate_hand_case_and_partial_flags():
    rows = [("a", "2024-01-05", 1.0), ("a", "2024-02-10", 1.0), ("a", "2024-02-11", 1.0),
            ("b", "2024-01-09", 1.0), ("b", "2024-03-01", 1.0), ("b", "2024-04-02", 1.0),
            ("c", "2024-02-20", 1.0), ("c", "2024-03-02", -1.0),          # refund: no return
            ("d", "2024-04-10", 1.0)]
    tx = log_of(rows)
    r = tx.return_rate()                                                  # end = 2024-04-10
    assert r.index.astype(str).tolist() == ["2024-01", "2024-02", "2024-03", "2024-04"]
    assert r["buyers"].tolist() == [2, 2, 1, 2]
    assert r["returned"].tolist() == [1, 0, 1, 0]
    np.testing.assert_allclose(r["rate"], [0.5, 0.0, 1.0, np.nan])
    # April is cut at the 10th: March (t + 1 = April) and April (t + 1 unobserved) flagged
    assert r["partial"].tolist() == [False, False, True, True]
    assert r.attrs["pooled_rate"] == pytest.approx(1 / 4)
    full = tx.return_rate(end="2024-04-30")                               # April observed
    assert full["partial"].tolist() == [False, False, False, True]
    assert full.attrs["pooled_rate"] == pytest.approx(2 / 5)
    cut = tx.return_rate(start="2024-01-07", end="2024-04-30")            # January cut
    assert cut["partial"].tolist() == [True, False, False, True]
    assert cut["buyers"].tolist() == [1, 2, 1, 2]                          # a's 01-05 is out


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("period", ["D", "W", "M", "Q", "Y"])
def test_return_rate_matches_oracle(seed, period):
    df = random_log(seed + 10)
    tx = make_tx(df)
    by = seed == 1
    start = None if seed != 2 else "2022-03-15"
    end = "2022-12-31" if seed == 0 else None
    got = tx.return_rate(period=period, by="channel" if by else None, start=start, end=end)
    exp = ref.ref_return_rate(df, period, start=start, end=end, by=by)
    exp = exp.reindex(got.index).fillna(0)
    np.testing.assert_array_equal(got["buyers"].to_numpy(), exp["buyers"].to_numpy(np.int64))
    # the last period's t + 1 is not observed: no returns counted, rate NaN
    returned = exp["returned"].to_numpy(np.int64, copy=True)
    last = got.index.get_level_values("period") == got.index.get_level_values("period").max()
    returned[last] = 0
    np.testing.assert_array_equal(got["returned"].to_numpy(), returned)
    assert got["returned"].sum() > 0 or period == "Y"
    assert got.loc[last, "rate"].isna().all()
    per = got.index.get_level_values("period")
    first, lastd = _period_ends(per)
    hi = (pd.Timestamp(end) if end else df["date"].dt.normalize().max()).to_datetime64()
    cut = lastd > hi
    if start is not None:
        cut |= first < pd.Timestamp(start).to_datetime64()
    nxt_cut = np.append(cut[1:], True) if not by else None
    if not by:
        np.testing.assert_array_equal(got["partial"].to_numpy(), cut | nxt_cut)


def test_return_rate_errors():
    tx = log_of([("a", "2024-01-03", 10.0)])
    with pytest.raises(ValueError, match="unknown period"):
        tx.return_rate(period="H")
    with pytest.raises(TypeError, match="period must be a string"):
        tx.return_rate(period=3)
    with pytest.raises(ValueError, match="is after end"):
        tx.return_rate(start="2024-02-01", end="2024-01-31")
    with pytest.raises(ValueError, match="before the first purchase"):
        tx.return_rate(end="2023-01-01")


# ---------------------------------------------------------------------------- 新客复购率
def test_new_customer_repeat_rate_hand_case():
    rows = [("a", "2024-01-05", 1.0), ("a", "2024-01-05", 1.0), ("a", "2024-02-04", 1.0),  # 30 d
            ("b", "2024-01-28", 1.0), ("b", "2024-02-28", 1.0),                            # 31 d
            ("c", "2024-01-10", 1.0), ("c", "2024-01-12", -1.0),                           # refund
            ("d", "2024-02-03", 1.0), ("d", "2024-03-20", 1.0),
            ("e", "2024-03-30", 1.0), ("e", "2024-03-31", 1.0)]
    tx = log_of(rows)
    r = tx.new_customer_repeat_rate(within=30, end="2024-04-30")
    assert r.index.name == "cohort"
    assert r.index.astype(str).tolist() == ["2024-01", "2024-02", "2024-03"]
    assert r["new_customers"].tolist() == [3, 1, 1]
    assert r["repeated"].tolist() == [1, 0, 1]
    # 01-31 + 30 = 03-01 and 02-29 + 30 = 03-30 are observed; 03-31 + 30 = 04-30 too
    assert r["partial"].tolist() == [False, False, False]
    assert r.attrs["pooled_rate"] == pytest.approx(2 / 5)
    short = tx.new_customer_repeat_rate(within=30, end="2024-04-29")
    assert short["partial"].tolist() == [False, False, True]
    assert short.attrs["pooled_rate"] == pytest.approx(1 / 4)
    p0 = tx.new_customer_repeat_rate(periods=0, end="2024-04-30")            # 当月复购
    assert p0["repeated"].tolist() == [0, 0, 1] and p0.attrs["within"] is None
    p1 = tx.new_customer_repeat_rate(periods=1, end="2024-04-30")
    assert p1["repeated"].tolist() == [2, 1, 1]                              # d: 03-20
    assert p1["partial"].tolist() == [False, False, False]                  # April observed
    p1 = tx.new_customer_repeat_rate(periods=1, end="2024-04-29")
    assert p1["partial"].tolist() == [False, False, True]                   # April not over
    assert p1["repeated"].tolist() == [2, 1, 1]


def test_new_customer_repeat_rate_equals_repurchase_on_complete_cohorts():
    df = random_log(3, channel=False)
    tx = make_tx(df)
    r = tx.new_customer_repeat_rate(within=30, period="M")
    rp = tx.repurchase(within=(30,), period="M").by_cohort
    done = r.index[~r["partial"] & (r["new_customers"] > 0)]
    assert len(done) >= 5
    np.testing.assert_array_equal(r.loc[done, "new_customers"],
                                  rp.loc[done, ("eligible", 30)])
    np.testing.assert_allclose(r.loc[done, "rate"], rp.loc[done, ("rate", 30)])


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("period,within,periods", [("M", 30, None), ("W", 7, None),
                                                   ("Q", 90, None), ("M", None, 0),
                                                   ("M", None, 2)])
def test_new_customer_repeat_rate_matches_oracle(seed, period, within, periods):
    df = random_log(seed + 20)
    tx = make_tx(df)
    by = seed == 1
    end = "2022-10-15" if seed == 2 else None
    eb = "2022-04-01" if seed == 0 else None
    kw = {"within": within} if periods is None else {"periods": periods}
    got = tx.new_customer_repeat_rate(period=period, end=end, existing_before=eb,
                                      by="channel" if by else None, **kw)
    exp = ref.ref_new_customer_repeat_rate(df, period, within=within, periods=periods, end=end,
                                           existing_before=eb, by=by)
    exp = exp.reindex(got.index).fillna(0)
    np.testing.assert_array_equal(got["new_customers"], exp["new_customers"].astype(np.int64))
    np.testing.assert_array_equal(got["repeated"], exp["repeated"].astype(np.int64))
    assert got["repeated"].sum() > 0
    hi = (pd.Timestamp(end) if end else df["date"].dt.normalize().max()).to_datetime64()
    coh = got.index.get_level_values("cohort")
    if periods is None:
        last = coh.end_time.normalize().values + np.timedelta64(within, "D")
    else:
        last = (coh + periods).end_time.normalize().values
    np.testing.assert_array_equal(got["partial"].to_numpy(), last > hi)
    if eb:
        d = df[df["amount"] >= 0].groupby("customer")["date"].min()
        assert got.attrs["n_existing"] == int((d < pd.Timestamp(eb)).sum()) > 0
    upto = df[df["date"].dt.normalize() <= hi]
    refund_only = set(upto["customer"]) - set(upto.loc[upto["amount"] >= 0, "customer"])
    assert got.attrs["n_excluded"] == len(refund_only) >= 3               # refund-only ids


def test_new_customer_repeat_rate_existing_warning():
    retail = siyu.datasets.load_online_retail()
    tx = siyu.Transactions(retail, customer="customer_id", time="date", amount="amount")
    with pytest.warns(UserWarning, match=r"first cohort \(2010-12-01: 885 customers\)"):
        tx.new_customer_repeat_rate()
    split = retail.assign(src=np.where(retail["customer_id"] % 2 == 0, "a", "b"))
    by_tx = siyu.Transactions(split, customer="customer_id", time="date", amount="amount",
                              channel="src")
    with pytest.warns(UserWarning, match="885 customers"):     # the total over channels
        by_tx.new_customer_repeat_rate(by="src")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = tx.new_customer_repeat_rate(existing_before="2011-01-01")
    assert r.index[0] == pd.Period("2011-01", "M") and r.attrs["n_existing"] > 800
    cdnow = siyu.Transactions(siyu.datasets.load_cdnow(), customer="customer_id", time="date",
                              amount="amount")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cdnow.new_customer_repeat_rate()


def test_new_customer_repeat_rate_errors():
    tx = log_of([("a", "2024-01-03", 10.0)])
    with pytest.raises(ValueError, match="either within= .* or periods="):
        tx.new_customer_repeat_rate(within=60, periods=1)
    with pytest.raises(ValueError, match="within must be >= 1"):
        tx.new_customer_repeat_rate(within=0)
    with pytest.raises(TypeError, match="within must be a whole number"):
        tx.new_customer_repeat_rate(within=2.5)
    with pytest.raises(ValueError, match="periods must be >= 0"):
        tx.new_customer_repeat_rate(periods=-1)
    with pytest.raises(ValueError, match="within=None needs periods="):
        tx.new_customer_repeat_rate(within=None)
    with pytest.raises(ValueError, match="unknown period"):
        tx.new_customer_repeat_rate(period="X")
    with pytest.raises(ValueError, match="existing_before='soon' is not a valid date"):
        tx.new_customer_repeat_rate(existing_before="soon")
    # within=30 passed explicitly with periods= is the same conflict
    with pytest.raises(ValueError, match="not both"):
        tx.new_customer_repeat_rate(within=30, periods=1)
    assert tx.new_customer_repeat_rate(within=None, periods=1)["new_customers"].tolist() == [1]


# ---------------------------------------------------------------------------- RFM 八大类
def _rfm_hand_log() -> siyu.Transactions:
    """Six customers at as_of 2024-06-30 with R = days since last, F = occasions,
    M = net revenue chosen so that values sit exactly on the mean and the median."""
    base = pd.Timestamp("2024-06-30")
    spec = {  # id: (days since last, occasions, revenue)
        "a": (0, 4, 400.0), "b": (10, 2, 100.0), "c": (20, 1, 300.0),
        "d": (40, 3, 200.0), "e": (50, 1, 100.0), "f": (60, 1, 100.0)}
    rows = []
    for cid, (dsl, occ, rev) in spec.items():
        last = base - pd.Timedelta(days=dsl)
        for j in range(occ):
            rows.append((cid, last - pd.Timedelta(days=7 * j), rev / occ))
    return log_of(rows)


def test_rfm8_hand_table_with_ties_at_the_threshold():
    tx = _rfm_hand_log()
    r = tx.rfm(scheme="8")
    # means: R = 30, F = 2, M = 200; b's F = 2 and d's M = 200 sit on them -> low
    assert r.attrs["thresholds"] == {"R": 30.0, "F": 2.0, "M": 200.0}
    assert r["days_since_last"].tolist() == [0, 10, 20, 40, 50, 60]
    assert r[["R", "F", "M"]].values.tolist() == [[1, 1, 1], [1, 0, 0], [1, 0, 1],
                                                  [0, 1, 0], [0, 0, 0], [0, 0, 0]]
    assert r["rfm_code"].tolist() == ["111", "100", "101", "010", "000", "000"]
    assert r["segment"].astype(str).tolist() == [
        "important value", "general to develop", "important to develop", "general to keep",
        "general to win back", "general to win back"]
    assert list(r["segment"].cat.categories) == list(mt.RFM8_LABELS["en"])
    # medians: R = 30, F = 1.5, M = 150; nobody on them except none -> check F, M
    med = tx.rfm(scheme="8", threshold="median", lang="zh")
    assert med.attrs["thresholds"] == {"R": 30.0, "F": 1.5, "M": 150.0}
    assert med[["R", "F", "M"]].values.tolist() == [[1, 1, 1], [1, 1, 0], [1, 0, 1],
                                                    [0, 1, 1], [0, 0, 0], [0, 0, 0]]
    assert med["segment"].astype(str).tolist() == ["重要价值客户", "一般价值客户", "重要发展客户",
                                                   "重要保持客户", "一般挽留客户", "一般挽留客户"]
    # explicit values: R 20 days (c at exactly 20 is not recent), F 1 (2+ high), M 300
    d = tx.rfm(scheme="8", threshold={"R": 20, "F": 1, "M": 300})
    assert d[["R", "F", "M"]].values.tolist() == [[1, 1, 1], [1, 1, 0], [0, 0, 0],
                                                  [0, 1, 0], [0, 0, 0], [0, 0, 0]]
    # a partial dict: missing keys use the mean; "median" per key
    p = tx.rfm(scheme="8", threshold={"M": "median"})
    assert p.attrs["thresholds"] == {"R": 30.0, "F": 2.0, "M": 150.0}
    assert p.attrs["scheme"] == "8" and p.attrs["threshold"] == {"M": "median"}


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("threshold", ["mean", "median", {"R": 45, "F": 1, "M": "median"}])
def test_rfm8_matches_oracle(seed, threshold):
    df = random_log(seed + 30, str_ids=True)
    tx = make_tx(df)
    as_of = "2022-09-30" if seed % 2 else None
    got = tx.rfm(scheme="8", threshold=threshold, as_of=as_of, lang="zh")
    exp = ref.ref_rfm8(df, as_of or df["date"].max().normalize(), threshold)
    assert got.index.tolist() == exp.index.tolist()
    for col in ("days_since_last", "occasions", "R", "F", "M"):
        np.testing.assert_array_equal(got[col].to_numpy(), exp[col].to_numpy(), err_msg=col)
    np.testing.assert_allclose(got["revenue"], exp["revenue"])
    assert got["segment"].astype(str).tolist() == exp["segment"].tolist()
    for k in "RFM":
        assert got.attrs["thresholds"][k] == pytest.approx(exp.attrs["thresholds"][k])
    assert got["segment"].nunique() >= 4
    s = siyu.stage_summary(got)
    assert s["customers"].sum() == len(got) and len(s) == 8


def test_rfm8_errors():
    tx = _rfm_hand_log()
    with pytest.raises(ValueError, match="scheme must be 'scores'.* or '8'"):
        tx.rfm(scheme="9")
    with pytest.raises(ValueError, match="threshold keys must be 'R', 'F' and/or 'M'"):
        tx.rfm(scheme="8", threshold={"X": 1})
    with pytest.raises(ValueError, match="threshold for F must be 'mean', 'median'"):
        tx.rfm(scheme="8", threshold={"F": "mode"})
    with pytest.raises(ValueError, match="threshold for R must be 'mean', 'median'"):
        tx.rfm(scheme="8", threshold="average")
    with pytest.raises(TypeError, match="threshold for M must be"):
        tx.rfm(scheme="8", threshold={"M": float("nan")})
    with pytest.raises(TypeError, match="threshold must be 'mean', 'median' or a dict"):
        tx.rfm(scheme="8", threshold=3)
    with pytest.raises(ValueError, match="belong to scheme='scores'"):
        tx.rfm(scheme="8", bins=3)
    with pytest.raises(ValueError, match="threshold= belongs to the 8-class RFM"):
        tx.rfm(threshold="median")
    no_amt = siyu.Transactions(pd.DataFrame({"c": [1], "t": ["2024-01-01"]}), customer="c",
                               time="t", amount=None)
    with pytest.raises(ValueError, match="needs amounts"):
        no_amt.rfm(scheme="8")
    assert tx.rfm().attrs["scheme"] == "scores"                 # the default is unchanged


# ---------------------------------------------------------------------------- R×F, R×M
def test_rfm_matrix_hand_case_labels_and_totals():
    tx = _rfm_hand_log()
    rf = tx.rfm_matrix(r_edges=(15, 45), f_edges=(1, 3))
    assert rf.index.tolist() == ["0–15", "16–45", "46+"]
    assert rf.columns.tolist() == ["1", "2–3", "4+"]
    assert rf.index.name == "R (days since last purchase)"
    assert rf.values.tolist() == [[0, 1, 1], [1, 1, 0], [2, 0, 0]]
    assert rf.values.sum() == 6 == rf.attrs["n_customers"]
    rev = tx.rfm_matrix(cols="M", values="revenue", r_edges=(15, 45), m_edges=(100, 250))
    assert rev.columns.tolist() == ["≤100", "100–250", ">250"]
    assert rev.values.tolist() == [[100.0, 0.0, 400.0], [0.0, 200.0, 300.0],
                                   [200.0, 0.0, 0.0]]
    assert rev.values.sum() == pytest.approx(1200.0) == rev.attrs["revenue"]
    aov = tx.rfm_matrix(r_edges=(15, 45), f_edges=(1, 3), values="aov", lang="zh")
    assert aov.index.name == "R（距上次购买天数）" and aov.columns.name == "F（购买天数）"
    # f has a zero "refund" row (amount -0.0 >= 0 counts as an order): 100 / 2 orders
    exp = [[np.nan, 50.0, 100.0], [300.0, 200 / 3, np.nan], [(100 + 100) / 2, np.nan, np.nan]]
    np.testing.assert_allclose(aov.to_numpy(), exp)
    fm = tx.rfm_matrix(rows="F", cols="M", f_edges=(1,), m_edges=(150.5,))
    assert fm.columns.tolist() == ["≤150.50", ">150.50"] and fm.values.sum() == 6


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("rows,cols,values", [("R", "F", "customers"), ("R", "M", "revenue"),
                                              ("R", "F", "aov"), ("F", "M", "customers"),
                                              ("M", "R", "aov")])
def test_rfm_matrix_matches_oracle(seed, rows, cols, values):
    df = random_log(seed + 40)
    tx = make_tx(df)
    as_of = "2022-08-31" if seed == 1 else None
    edges = {"R": [7, 30, 90, 180], "F": [1, 2, 4], "M": [0, 25.5, 80, 200]}
    got = tx.rfm_matrix(rows=rows, cols=cols, values=values, r_edges=edges["R"],
                        f_edges=edges["F"], m_edges=edges["M"], as_of=as_of)
    exp = ref.ref_rfm_matrix(df, as_of or df["date"].max().normalize(), rows, cols, values,
                             edges)
    np.testing.assert_allclose(got.to_numpy(dtype=float), exp, rtol=1e-12)
    c = ref.customer_rfm(df, as_of or df["date"].max().normalize())
    if values == "customers":
        assert got.values.sum() == len(c) == got.attrs["n_customers"]
        assert got.to_numpy().dtype == np.int64
    if values == "revenue":
        assert got.values.sum() == pytest.approx(c["revenue"].sum())
    assert got.attrs["edges"] == {rows: edges[rows], cols: edges[cols]}


def test_rfm_matrix_default_m_edges_are_quintiles():
    df = random_log(5)
    tx = make_tx(df)
    g = tx.rfm_matrix(cols="M")
    c = ref.customer_rfm(df, df["date"].max().normalize())
    q = np.unique(np.round(np.quantile(c["revenue"], [0.2, 0.4, 0.6, 0.8]), 2))
    assert g.attrs["edges"]["M"] == q.tolist()
    # about a fifth of the customers per M column
    share = g.sum(axis=0) / g.values.sum()
    assert ((share > 0.15) & (share < 0.25)).all()


@pytest.mark.parametrize("kwargs,exc,msg", [
    ({"r_edges": (60, 30)}, ValueError, "r_edges must be strictly increasing"),
    ({"f_edges": (1, 1, 2)}, ValueError, "f_edges must be strictly increasing"),
    ({"r_edges": ("30", 60)}, TypeError, "r_edges must hold finite numbers"),
    ({"m_edges": (10, float("inf")), "cols": "M"}, TypeError, "m_edges must hold finite"),
    ({"r_edges": "30,60"}, TypeError, "r_edges must be a list of increasing numbers"),
    ({"f_edges": 3}, TypeError, "f_edges must be a list"),
    ({"r_edges": ()}, ValueError, "r_edges is empty"),
    ({"r_edges": (30.5, 60)}, ValueError, "r_edges must be whole numbers"),
    ({"f_edges": (0, 2)}, ValueError, "f_edges must start at >= 1"),
    ({"r_edges": (-1, 2)}, ValueError, "r_edges must start at >= 0"),
    ({"r_edges": range(2000)}, ValueError, "r_edges has 2,000 bounds"),
    ({"rows": "X"}, ValueError, "rows must be 'R', 'F' or 'M'"),
    ({"cols": "R"}, ValueError, "rows and cols must differ"),
    ({"values": "count"}, ValueError, "values must be 'customers', 'revenue' or 'aov'"),
    ({"as_of": "2020-01-01"}, ValueError, "before the first purchase"),
    ({"lang": "de"}, ValueError, "lang must be"),
])
def test_rfm_matrix_bad_input(kwargs, exc, msg):
    tx = _rfm_hand_log()
    with pytest.raises(exc, match=msg):
        tx.rfm_matrix(**kwargs)


def test_rfm_matrix_without_amounts():
    tx = siyu.Transactions(pd.DataFrame({"c": [1, 1, 2], "t": ["2024-01-01", "2024-01-05",
                                                               "2024-01-02"]}),
                           customer="c", time="t", amount=None)
    assert tx.rfm_matrix(r_edges=(2,), f_edges=(1,)).values.tolist() == [[0, 1], [1, 0]]
    # without amounts every row is a purchase
    assert tx.repeat_rate()[["buyers", "repeat_buyers"]].values.tolist() == [[2, 1]]
    assert tx.return_rate("D")["buyers"].tolist() == [1, 1, 0, 0, 1]
    assert tx.new_customer_repeat_rate("W", within=3)["repeated"].tolist() == [0]
    assert tx.new_customer_repeat_rate("W", within=4)["repeated"].tolist() == [1]
    with pytest.raises(ValueError, match="need amounts"):
        tx.rfm_matrix(cols="M")
    with pytest.raises(ValueError, match="need amounts"):
        tx.rfm_matrix(values="revenue")


# ---------------------------------------------------------------------------- kernel
def test_metric_periods_checks_grouped_rows():
    cust = np.array([0, 1, 0], np.int64)
    day = np.array([1, 2, 3], np.int64)
    with pytest.raises(ValueError, match="grouped by customer"):
        _core.metric_periods(cust, day, None, 2, None, 1, 0, 10, -1, 0, 1, False)
    with pytest.raises(ValueError, match="grouped by customer"):          # days descending
        _core.metric_periods(np.array([0, 0]), np.array([5, 3]), None, 1, None, 1, 0, 10, -1,
                             0, 1, False)
    with pytest.raises(ValueError, match="grouped by customer"):          # day outside buckets
        _core.metric_periods(np.array([0]), np.array([40]), None, 1, None, 1, 0, 100, 0, 0, 5,
                             False)
    with pytest.raises(ValueError, match="grouped by customer"):          # buckets too few
        _core.metric_periods(np.zeros(50, np.int64), np.arange(50), None, 1, None, 1, 0, 40, 0,
                             0, 30, False)                                # (tabulated days)
    with pytest.raises(ValueError, match="grouped by customer"):          # bad group code
        _core.metric_periods(np.array([0]), np.array([4]), None, 1, np.array([3]), 2, 0, 10,
                             -1, 0, 1, False)
    with pytest.raises(ValueError, match="one bucket"):
        _core.metric_periods(np.array([0]), np.array([4]), None, 1, None, 1, 0, 10, -1, 0, 2,
                             False)
    with pytest.raises(ValueError, match="period"):
        _core.metric_periods(np.array([0]), np.array([4]), None, 1, None, 1, 0, 10, 9, 0, 2,
                             False)
    with pytest.raises(ValueError, match="group"):                       # group array length
        _core.metric_periods(np.array([0]), np.array([4]), None, 2, np.array([0]), 1, 0, 10,
                             -1, 0, 1, False)


def test_metric_periods_identical_for_any_thread_count():
    rng = np.random.default_rng(2)
    n, k = 400_000, 50_000                         # above the kernel's threading threshold
    cust = np.sort(rng.integers(0, k, n))
    day = rng.integers(0, 800, n)
    order = np.lexsort((day, cust))
    cust, day = cust[order], day[order]
    amt = np.round(rng.normal(20, 15, n), 2)
    group = rng.integers(-1, 4, k)
    p0 = int(_core.period_index(np.array([0]), 2)[0])
    nb = int(_core.period_index(np.array([799]), 2)[0]) - p0 + 1
    before = siyu.get_num_threads()
    try:
        res = {}
        for nt in (1, 2, 3):
            siyu.set_num_threads(nt)
            for orders in (False, True):
                res[nt, orders] = _core.metric_periods(cust, day, amt, k, group, 4, 10, 790, 2,
                                                       p0, nb, orders)
    finally:
        siyu.set_num_threads(before)
    for orders in (False, True):
        for nt in (2, 3):
            for x, y in zip(res[1, orders], res[nt, orders]):
                np.testing.assert_array_equal(x, y)
    assert res[1, False][1].sum() > 0 and res[1, False][3].sum() > 0
    assert res[1, True][1].sum() > res[1, False][1].sum()       # same-day orders repeat


# ---------------------------------------------------------------------------- misc
def test_inputs_unchanged_and_results_independent():
    df = random_log(50)
    copy = df.copy(deep=True)
    tx = make_tx(df)
    tx.repeat_rate(by="channel", period="M")
    tx.return_rate(by="channel")
    tx.new_customer_repeat_rate(by="channel")
    tx.rfm(scheme="8")
    tx.rfm_matrix(cols="M", values="aov")
    pd.testing.assert_frame_equal(df, copy)
    assert not tx._log.day.flags.writeable


def test_docstrings_and_definitions():
    import doctest

    res = doctest.testmod(mt, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert res.attempted >= 10 and res.failed == 0
    for name in ("repeat_rate", "return_rate", "new_customer_repeat_rate", "rfm8", "rfm_matrix"):
        doc = getattr(mt, name).__doc__
        assert all(sec in doc for sec in ("Parameters", "Returns", "Examples")), name
    for name in ("repeat_rate", "return_rate", "new_customer_repeat_rate"):
        assert "repurchase" in getattr(mt, name).__doc__ or "retention" in \
            getattr(mt, name).__doc__, name
    assert siyu.Transactions.repeat_rate is mt.repeat_rate
    for key in ("def.repeat_rate", "def.return_rate", "def.new_customer_repeat_rate",
                "def.rfm8", "def.rfm_matrix"):
        assert set(CATALOGUE[key]) == {"en", "zh"}
    assert CATALOGUE["def.repeat_rate"]["zh"].startswith("复购率")
    assert [CATALOGUE[k]["zh"] for k, _ in mt._RFM8] == ref.RFM8_ZH
    # the two RFM schemes never share a class name (a 重要价值客户 means one thing)
    from siyu.segments import DEFAULT_RFM_SEGMENTS
    for j, lang in enumerate(("en", "zh")):
        assert not set(mt.RFM8_LABELS[lang]) & {seg[j] for seg in DEFAULT_RFM_SEGMENTS}


def test_metrics_hypothesis_small_logs():
    """Tiny random logs (one customer, a single day, all refunds, ...) against the oracles."""
    hyp = pytest.importorskip("hypothesis")
    st = pytest.importorskip("hypothesis.strategies")

    rows = st.lists(st.tuples(st.integers(0, 4), st.integers(0, 70),
                              st.sampled_from([-3.0, 0.0, 1.5, 4.0, 10.0]),
                              st.sampled_from(["x", "y"])), min_size=1, max_size=25)

    @hyp.settings(max_examples=60, deadline=None,
                  suppress_health_check=list(hyp.HealthCheck))
    @hyp.given(rows, st.integers(0, 70), st.integers(0, 40), st.integers(1, 40))
    def check(data, a, span, within):
        df = pd.DataFrame(data, columns=["customer", "day", "amount", "channel"])
        df["date"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(df["day"], "D")
        df = df.drop(columns="day")
        tx = make_tx(df)
        lo = pd.Timestamp("2024-01-01") + pd.Timedelta(days=a)
        hi = lo + pd.Timedelta(days=span)
        for same_day in ("merge", "orders"):
            got = tx.repeat_rate(lo, hi, same_day=same_day, period="W")
            exp = ref.ref_repeat_rate(df, lo, hi, same_day, period="W")
            exp = exp.reindex(got.index).fillna(0)
            for col in ("buyers", "repeat_buyers", "orders"):
                assert got[col].tolist() == exp[col].astype(int).tolist()
        got = tx.return_rate(period="W")             # all refunds: no buyers, no error
        exp = ref.ref_return_rate(df, "W").reindex(got.index).fillna(0)
        assert got["buyers"].tolist() == exp["buyers"].astype(int).tolist()
        assert got["returned"].iloc[:-1].tolist() == exp["returned"].astype(int).iloc[:-1].tolist()
        got = tx.new_customer_repeat_rate(period="W", within=within, by="channel")
        exp = ref.ref_new_customer_repeat_rate(df, "W", within=within, by=True)
        exp = exp.reindex(got.index).fillna(0)
        assert got["new_customers"].tolist() == exp["new_customers"].astype(int).tolist()
        assert got["repeated"].tolist() == exp["repeated"].astype(int).tolist()
        as_of = df["date"].max()
        r8 = tx.rfm(scheme="8", threshold="median")
        e8 = ref.ref_rfm8(df, as_of, "median")
        assert r8["segment"].astype(str).map(dict(zip(mt.RFM8_LABELS["en"], ref.RFM8_ZH))
                                              ).tolist() == e8["segment"].tolist()
        g = tx.rfm_matrix(cols="M", values="revenue", r_edges=(5, 20), m_edges=(0, 5))
        e = ref.ref_rfm_matrix(df, as_of, "R", "M", "revenue", {"R": (5, 20), "M": (0, 5)})
        np.testing.assert_allclose(g.to_numpy(), e)

    check()
