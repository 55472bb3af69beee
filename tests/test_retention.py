"""Retention, repurchase and inter-purchase gaps against tests/reference_cohorts.py."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import siyu
from siyu import _periods

import reference_cohorts as ref


def make_tx(df, channel=True):
    return siyu.Transactions(df, customer="customer", time="date",
                             amount="amount" if "amount" in df else None,
                             channel="channel" if channel and "channel" in df else None)


def _check(rt, df, kind, windows, end, by):
    exp = ref.retention(df, kind, windows, end, by)
    t = rt.table
    if by is None:
        got = t.to_numpy()[:, :2]
        e = exp.droplevel(0).to_numpy()
        np.testing.assert_array_equal(got, e)
    else:
        for g in t.index.get_level_values(0).unique():
            got = t.loc[g].to_numpy()[:, :2]
            np.testing.assert_array_equal(got, exp.loc[g].to_numpy(), err_msg=str(g))
        assert set(t.index.get_level_values(0)) == set(exp.index.get_level_values(0))
    rate = np.where(t["eligible"] > 0, t["retained"] / t["eligible"].clip(lower=1), np.nan)
    np.testing.assert_allclose(t["rate"].to_numpy(), rate)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("by", [None, "channel"])
@pytest.mark.parametrize("end", [None, "2020-09-30"])
def test_retention_matches_oracle(seed, by, end):
    df = ref.random_log(seed, n_customers=50, n_rows=900, days=200, str_ids=seed == 2)
    before = df.copy()
    tx = make_tx(df)
    days = list(range(0, 40)) + [60, 90, 150]
    for kind in ("n-day", "unbounded"):
        _check(tx.retention(kind=kind, days=days, end=end, by=by), df, kind,
               [(d, d) for d in days], end, by)
    br = [(0, 0), (1, 7), (8, 30), (31, 90), (100, 300)]
    _check(tx.retention(kind="bracket", brackets=br, end=end, by=by), df, "bracket", br, end, by)
    pd.testing.assert_frame_equal(df, before)


def test_bucketing_path(monkeypatch):
    df = ref.random_log(5, n_customers=30, n_rows=600, days=150)
    tx = make_tx(df)
    br = [(1, 7), (8, 70)]
    a = tx.retention(days=range(0, 100), by="channel").table
    ab = tx.retention(kind="bracket", brackets=br).table
    monkeypatch.setattr(_periods, "MAX_BITSET_WORDS", 0)
    b = tx.retention(days=range(0, 100), by="channel").table
    bb = tx.retention(kind="bracket", brackets=br).table
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(ab, bb)


def test_day0_is_100_percent_and_semantics():
    df = pd.DataFrame({"customer": [1, 1, 1, 2, 2, 3],
                       "date": pd.to_datetime(["2021-01-01", "2021-01-03", "2021-01-03",
                                               "2021-01-02", "2021-01-04", "2021-01-09"]),
                       "amount": [5.0, 1.0, 2.0, 3.0, -3.0, 1.0]})
    tx = make_tx(df)
    t = tx.retention(days=[0, 1, 2, 8], end="2021-01-09").table
    assert t["rate"].iloc[0] == 1.0
    assert t["eligible"].tolist() == [3, 2, 2, 1]
    assert t["retained"].tolist() == [3, 0, 1, 0]     # customer 2's day-2 row is a refund
    u = tx.retention(kind="unbounded", days=[1, 2, 3]).table
    assert u["retained"].tolist() == [1, 1, 0]
    b = tx.retention(kind="bracket", brackets=[(1, 2), (3, 7)]).table
    assert b["eligible"].tolist() == [2, 2]            # customer 3 not observable for 2 days
    assert b["retained"].tolist() == [1, 0]
    assert isinstance(b.index, pd.IntervalIndex)
    assert tx.retention(days=[5], end="2021-01-02").table["rate"].isna().all()


def test_online_retail_retention():
    raw = siyu.datasets.load_online_retail()
    df = raw.rename(columns={"customer_id": "customer"})[["customer", "date", "amount"]]
    tx = make_tx(df)
    days = [0, 1, 7, 14, 30, 60, 90]
    _check(tx.retention(days=days), df, "n-day", [(d, d) for d in days], None, None)
    br = [(1, 30), (31, 90), (91, 180)]
    _check(tx.retention(kind="bracket", brackets=br), df, "bracket", br, None, None)


def test_retention_bad_input():
    tx = make_tx(ref.random_log(0))
    with pytest.raises(ValueError, match="kind"):
        tx.retention(kind="weekly")
    with pytest.raises(ValueError, match="days must be >= 0"):
        tx.retention(days=[-1, 3])
    with pytest.raises(TypeError, match="days"):
        tx.retention(days=[1.5])
    with pytest.raises(ValueError, match="brackets="):
        tx.retention(kind="bracket")
    with pytest.raises(ValueError, match="reversed"):
        tx.retention(kind="bracket", brackets=[(7, 1)])
    with pytest.raises(ValueError, match="overlap"):
        tx.retention(kind="bracket", brackets=[(1, 7), (7, 30)])
    with pytest.raises(ValueError, match="only used with kind='bracket'"):
        tx.retention(brackets=[(1, 7)])
    with pytest.raises(ValueError, match="'channel'"):
        tx.retention(by="city")
    with pytest.raises(ValueError, match="days must be <="):
        tx.retention(days=[10**12])
    with pytest.raises(ValueError, match="100 years"):
        tx.retention(kind="bracket", brackets=[(1, 10**9)])


# ------------------------------------------------------------------ repurchase
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("by", [None, "channel"])
# the second case has too many (cohort, day) cells for the histogram count: sorted keys
@pytest.mark.parametrize("within,period", [((7, 30, 90), "M"), ((1, 7, 30, 90, 30000), "D")])
def test_repurchase_matches_oracle(seed, by, within, period):
    df = ref.random_log(seed, n_customers=80, n_rows=500)
    tx = make_tx(df)
    for end in (None, "2020-06-15"):
        rp = tx.repurchase(within=within, end=end, by=by, period=period)
        exp = ref.repurchase(df, within, period, end, by)
        bc = rp.by_cohort
        for _, row in exp.iterrows():
            key = row["cohort"] if by is None else (row["group"], row["cohort"])
            assert bc.loc[key, ("eligible", row["within"])] == row["eligible"]
            assert bc.loc[key, ("repurchased", row["within"])] == row["repurchased"]
        tot = exp.groupby(["group", "within"])[["eligible", "repurchased"]].sum()
        if by is None:
            np.testing.assert_array_equal(rp.overall[["eligible", "repurchased"]].to_numpy(),
                                          tot.to_numpy())
        else:
            for (g, k), v in tot.iterrows():
                assert rp.overall.loc[(g, k), "eligible"] == v["eligible"]
                assert rp.overall.loc[(g, k), "repurchased"] == v["repurchased"]


@pytest.mark.parametrize("by", [None, "channel"])
def test_existing_before_leaves_them_out_of_retention_and_repurchase(by):
    """Existing customers' first purchase is unknown: retention and repurchase equal the
    oracle on the log of the other customers (same end), and they are counted."""
    df = ref.random_log(6, n_customers=90, n_rows=800)
    tx = make_tx(df)
    cut = "2020-02-15"
    end = df["date"].max().normalize()
    fp = ref.first_purchase(df)
    late = df[df["customer"].isin(fp.index[fp["first"] >= cut])]
    n_ex = int((fp["first"] < cut).sum())
    days = [0, 1, 7, 30, 90]
    rt = tx.retention(days=days, by=by, existing_before=cut)
    assert rt.n_existing == n_ex > 0 and rt.table.attrs["n_existing"] == n_ex
    _check(rt, late.assign(date=late["date"]), "n-day", [(d, d) for d in days], end, by)
    rp = tx.repurchase(within=(30, 90), by=by, existing_before=cut)
    assert rp.n_existing == n_ex
    exp = ref.repurchase(late, (30, 90), "M", end, by)
    tot = exp.groupby(["group", "within"])[["eligible", "repurchased"]].sum()
    assert rp.overall[["eligible", "repurchased"]].to_numpy().sum() == tot.to_numpy().sum()
    assert rp.by_cohort.index.get_level_values(-1).min() >= pd.Period(cut, "M")


def test_repurchase_bad_input():
    tx = make_tx(ref.random_log(0))
    with pytest.raises(ValueError, match="within"):
        tx.repurchase(within=(0, 30))
    with pytest.raises(TypeError, match="within"):
        tx.repurchase(within="30")


# ------------------------------------------------------------------ gaps
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_interpurchase_matches_oracle(seed):
    df = ref.random_log(seed, str_ids=seed == 1)
    tx = make_tx(df)
    for end in (None, "2020-05-01"):
        ip = tx.interpurchase_times(end=end)
        exp = ref.interpurchase(df, end)
        got = ip.gaps
        assert list(got.index) == list(exp.index)
        np.testing.assert_array_equal(got.to_numpy(), exp.to_numpy())
        assert ip.median_ == float(np.median(exp.to_numpy()))
        q = ip.quantiles((0.25, 0.9))
        np.testing.assert_allclose(q.to_numpy(), exp.quantile([0.25, 0.9]).to_numpy())


def test_interpurchase_empty_and_repr():
    df = pd.DataFrame({"customer": [1, 2], "date": pd.to_datetime(["2021-01-01", "2021-01-02"]),
                       "amount": [1.0, 2.0]})
    ip = make_tx(df).interpurchase_times()
    assert len(ip) == 0 and np.isnan(ip.median_)
    assert ip.quantiles().isna().all()
    assert "InterpurchaseTimes" in repr(ip)


# ------------------------------------------------------------------ property tests
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@st.composite
def small_logs(draw):
    n = draw(st.integers(1, 40))
    cust = draw(st.lists(st.integers(0, 6), min_size=n, max_size=n))
    day = draw(st.lists(st.integers(0, 120), min_size=n, max_size=n))
    amt = draw(st.lists(st.sampled_from([-5.0, 0.0, 3.5]), min_size=n, max_size=n))
    ch = draw(st.lists(st.sampled_from(["a", "b", None]), min_size=n, max_size=n))
    df = pd.DataFrame({"customer": cust,
                       "date": pd.Timestamp("2020-02-20") + pd.to_timedelta(day, unit="D"),
                       "amount": amt, "channel": pd.Series(ch, dtype=object)})
    return df, draw(st.integers(0, 130))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_logs(), st.sampled_from([None, "channel"]))
def test_property_retention_matches_oracle(log, by):
    df, end_off = log
    end = pd.Timestamp("2020-02-20") + pd.Timedelta(days=end_off)
    tx = make_tx(df)
    if end < df["date"].min():
        with pytest.raises(ValueError, match="before the first purchase"):
            tx.retention(days=[0, 1], end=end, by=by)
        return
    days = [0, 1, 2, 5, 30, 64, 65, 100]
    br = [(0, 3), (4, 4), (5, 70)]
    if ref.first_purchase(df, end, by).empty:
        assert tx.retention(days=days, end=end, by=by).table["retained"].sum() == 0
        return
    for kind in ("n-day", "unbounded"):
        _check(tx.retention(kind=kind, days=days, end=end, by=by), df, kind,
               [(d, d) for d in days], end, by)
    _check(tx.retention(kind="bracket", brackets=br, end=end, by=by), df, "bracket", br, end, by)


def test_online_retail_repurchase_and_gaps():
    raw = siyu.datasets.load_online_retail()
    df = raw.rename(columns={"customer_id": "customer"})[["customer", "date", "amount"]]
    tx = make_tx(df)
    within = (30, 90, 180)
    rp = tx.repurchase(within=within)
    exp = ref.repurchase(df, within, "M")
    tot = exp.groupby("within")[["eligible", "repurchased"]].sum()
    np.testing.assert_array_equal(rp.overall[["eligible", "repurchased"]].to_numpy(), tot.to_numpy())
    assert str(rp.by_cohort.index[0]) == "2010-12"
    ip = tx.interpurchase_times()
    g = ref.interpurchase(df)
    np.testing.assert_array_equal(ip.gaps.to_numpy(), g.to_numpy())
    assert ip.median_ == float(g.median())


def test_cohort_attrs():
    ct = make_tx(ref.random_log(1)).cohorts("W", end="2020-06-01")
    for df in (ct.active, ct.retention, ct.ltv):
        assert df.attrs["period"] == "W"
        assert df.attrs["end"] == pd.Timestamp("2020-06-01")
