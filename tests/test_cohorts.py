"""Cohort matrices against the pandas oracles of tests/reference_cohorts.py."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import siyu
from siyu import _periods

import reference_cohorts as ref


def make_tx(df: pd.DataFrame, **kw) -> siyu.Transactions:
    return siyu.Transactions(df, customer="customer", time="date",
                             amount="amount" if "amount" in df else None,
                             channel="channel" if "channel" in df and kw.pop("channel", True) else None,
                             **kw)


def _keyed(frame, by):
    """siyu frame/series -> (group, cohort) index like the oracle."""
    out = frame.copy()
    if by is None:
        out.index = pd.MultiIndex.from_arrays([["all"] * len(out), out.index],
                                              names=["group", "cohort"])
    else:
        out.index = out.index.set_names(["group", "cohort"])
    return out


def assert_matches(ct, expected, by, amounts=True):
    exp_sizes = expected["sizes"]
    got_sizes = _keyed(ct.sizes, by)
    assert sorted(got_sizes.index) == sorted(exp_sizes.index)
    order = got_sizes.index
    exp_sizes = exp_sizes.reindex(order)
    np.testing.assert_array_equal(got_sizes.to_numpy(), exp_sizes.to_numpy())
    names = ["active", "orders", "retention"] + (["revenue", "ltv"] if amounts else [])
    for name in names:
        got = _keyed(getattr(ct, name), by).to_numpy()
        exp = expected[name].reindex(order).to_numpy()
        assert got.shape == exp.shape, name
        np.testing.assert_array_equal(np.isnan(got), np.isnan(exp), err_msg=name)
        if name in ("active", "orders"):
            np.testing.assert_array_equal(got, exp, err_msg=name)
        else:
            np.testing.assert_allclose(got, exp, rtol=1e-9, atol=1e-9, err_msg=name)


@pytest.mark.parametrize("period", ["D", "W", "M", "Q", "Y"])
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("by", [None, "channel"])
def test_random_logs_match_oracle(period, seed, by):
    df = ref.random_log(seed, str_ids=bool(seed))
    before = df.copy()
    tx = make_tx(df)
    for end in (None, "2020-08-17", "2020-02-29"):
        ct = tx.cohorts(period=period, end=end, by=by)
        assert_matches(ct, ref.cohorts(df, period, end, by), by)
        assert ct.period == period
    pd.testing.assert_frame_equal(df, before)


@pytest.mark.parametrize("period", ["D", "W", "M"])
def test_bucketing_path_matches_bitset_path(period, monkeypatch):
    df = ref.random_log(3, n_customers=40, n_rows=500)
    tx = make_tx(df)
    a = tx.cohorts(period=period, by="channel")
    monkeypatch.setattr(_periods, "MAX_BITSET_WORDS", 0)
    b = tx.cohorts(period=period, by="channel")
    pd.testing.assert_frame_equal(a.active, b.active)
    pd.testing.assert_frame_equal(a.orders, b.orders)
    assert_matches(b, ref.cohorts(df, period, None, "channel"), "channel")


def test_no_amounts():
    df = ref.random_log(4, amounts=False, channel=False)
    tx = make_tx(df)
    ct = tx.cohorts("M")
    assert_matches(ct, ref.cohorts(df, "M"), None, amounts=False)
    with pytest.raises(AttributeError, match="amount="):
        ct.revenue
    with pytest.raises(AttributeError, match="amount="):
        ct.ltv
    assert "revenue" not in ct.to_frame().columns


def test_margin_scales_ltv():
    df = ref.random_log(5)
    tx = make_tx(df)
    a = tx.cohorts("M")
    b = tx.cohorts("M", margin=0.3)
    np.testing.assert_allclose(b.ltv.to_numpy(), 0.3 * a.ltv.to_numpy(), rtol=1e-12)
    exp = ref.cohorts(df, "M", margin=0.3)
    np.testing.assert_allclose(_keyed(b.ltv, None).to_numpy(), exp["ltv"].to_numpy(), rtol=1e-9)


def test_online_retail_monthly():
    raw = siyu.datasets.load_online_retail()
    df = raw.rename(columns={"customer_id": "customer"})[["customer", "date", "amount"]]
    tx = make_tx(df)
    ct = tx.cohorts("M")
    assert str(ct.sizes.index[0]) == "2010-12"
    assert int(ct.sizes.sum()) == 4338
    assert_matches(ct, ref.cohorts(df, "M"), None)
    # the last month (2011-12) is observed up to 2011-12-09
    assert not np.isnan(ct.active.iloc[0, 12])
    assert np.isnan(ct.active.iloc[1, 12])


# ----------------------------------------------------------------- calendar edges
def tiny(rows, channel=None):
    df = pd.DataFrame(rows, columns=["customer", "date", "amount"])
    df["date"] = pd.to_datetime(df["date"])
    if channel is not None:
        df["channel"] = channel
    return df


def test_weeks_start_monday():
    # 2024-01-07 is a Sunday, 2024-01-08 a Monday
    df = tiny([(1, "2024-01-07", 10.0), (1, "2024-01-08", 5.0), (2, "2024-01-08", 1.0)])
    ct = make_tx(df).cohorts("W")
    assert [str(p.start_time.date()) for p in ct.sizes.index] == ["2024-01-01", "2024-01-08"]
    assert ct.active.iloc[0].tolist() == [1.0, 1.0]
    assert ct.sizes.tolist() == [1, 1]


def test_quarter_and_year_boundaries():
    df = tiny([(1, "2020-12-31", 10.0), (1, "2021-01-01", 5.0), (1, "2021-03-31", 1.0),
               (1, "2021-04-01", 2.0)])
    tx = make_tx(df)
    assert tx.cohorts("Q").orders.iloc[0].tolist() == [1.0, 2.0, 1.0]
    assert tx.cohorts("Y").orders.iloc[0].tolist() == [1.0, 3.0]
    assert tx.cohorts("M").active.iloc[0].tolist() == [1.0, 1.0, 0.0, 1.0, 1.0]


def test_leap_day():
    df = tiny([(1, "2020-02-29", 10.0), (1, "2020-03-01", 5.0), (2, "2020-02-28", 3.0)])
    tx = make_tx(df)
    d = tx.cohorts("D")
    assert [str(p) for p in d.sizes.index] == ["2020-02-28", "2020-02-29"]
    np.testing.assert_array_equal(d.active.to_numpy(),
                                  [[1.0, 0.0, 0.0], [1.0, 1.0, np.nan]])
    m = tx.cohorts("M")
    assert m.sizes.tolist() == [2] and m.active.iloc[0].tolist() == [2.0, 1.0]


def test_one_customer_cohort_and_end_mid_period():
    df = tiny([(1, "2021-01-05", 10.0), (2, "2021-02-10", 4.0), (2, "2021-03-20", 6.0),
               (1, "2021-03-25", 1.0)])
    ct = make_tx(df).cohorts("M", end="2021-03-15")
    assert ct.sizes.tolist() == [1, 1]
    # March is observed (partially): rows after end ignored -> 0 not NaN
    np.testing.assert_array_equal(ct.active.to_numpy(), [[1, 0, 0], [1, 0, np.nan]])
    np.testing.assert_array_equal(ct.revenue.to_numpy(), [[10, 0, 0], [4, 0, np.nan]])
    np.testing.assert_allclose(ct.ltv.to_numpy(), [[10, 10, 10], [4, 4, np.nan]])
    assert ct.end == pd.Timestamp("2021-03-15")


def test_refunds():
    df = tiny([(1, "2021-01-05", 10.0), (1, "2021-02-01", -4.0), (1, "2020-12-20", -1.0),
               (2, "2021-01-07", -3.0), (3, "2021-01-09", 8.0), (3, "2021-01-10", -8.0)])
    ct = make_tx(df).cohorts("M")
    assert ct.sizes.tolist() == [2]          # customer 2 has only a refund
    assert ct.n_excluded == 1
    assert ct.n_dropped == 1                 # refund before customer 1's first purchase
    assert ct.active.iloc[0].tolist() == [2.0, 0.0]   # a refund is not activity
    assert ct.orders.iloc[0].tolist() == [2.0, 0.0]
    assert ct.revenue.iloc[0].tolist() == [10.0, -4.0]
    np.testing.assert_allclose(ct.ltv.iloc[0].to_numpy(), [5.0, 3.0])


def test_by_missing_channel_is_its_own_group():
    df = tiny([(1, "2021-01-05", 10.0), (1, "2021-01-06", 1.0), (2, "2021-01-07", 3.0),
               (3, "2021-02-01", 8.0), (3, "2021-01-01", -1.0)],
              channel=["私域", "公域", None, "公域", "私域"])
    ct = make_tx(df).cohorts("M", by="channel")
    assert ct.sizes.index.names == ["channel", "cohort"]
    got = {(g, str(c)): int(v) for (g, c), v in ct.sizes.items()}
    # customer 3's first *purchase* row is the 公域 one; the earlier row is a refund
    assert got == {("(missing)", "2021-01"): 1, ("私域", "2021-01"): 1, ("公域", "2021-02"): 1}
    assert_matches(ct, ref.cohorts(df, "M", None, "channel"), "channel")


def test_unbalanced_average_is_size_weighted_over_observed():
    df = ref.random_log(7)
    ct = make_tx(df).cohorts("M")
    obs = ~np.isnan(ct.active.to_numpy())
    ok = obs & ~ct.partial.to_numpy()
    sizes = ct.sizes.to_numpy(float)
    for include_partial, use in ((False, ok), (True, obs)):
        avg = ct.average("retention", balanced=False, include_partial=include_partial)
        ltv = ct.average("ltv", balanced=False, include_partial=include_partial)
        for k in range(ct.active.shape[1]):
            w = sizes[use[:, k]]
            if not w.size:
                assert np.isnan(avg.iloc[k]) and avg.attrs["n_cohorts"].iloc[k] == 0
                continue
            exp = ct.active.to_numpy()[use[:, k], k].sum() / w.sum()
            assert avg.iloc[k] == pytest.approx(exp, rel=1e-12)
            exp_ltv = (ct.ltv.to_numpy()[use[:, k], k] * w).sum() / w.sum()
            assert ltv.iloc[k] == pytest.approx(exp_ltv, rel=1e-12)
            assert avg.attrs["n_cohorts"].iloc[k] == use[:, k].sum()
            assert avg.attrs["n_customers"].iloc[k] == w.sum()
        assert avg.attrs["balanced"] is False
    t = ct.table("retention", average=True)
    assert t.index[-1] == "average"


def small_cohorts():
    """Three monthly cohorts (sizes 2, 1, 4) observed to 2024-03-20: March is partial."""
    rows = [(1, "2024-01-03", 10.0), (2, "2024-01-09", 5.0), (1, "2024-02-01", 7.0),
            (1, "2024-03-02", 1.0), (2, "2024-03-05", 2.0),
            (3, "2024-02-10", 4.0), (3, "2024-03-01", 4.0),
            (4, "2024-03-01", 1.0), (5, "2024-03-02", 1.0), (6, "2024-03-03", 1.0),
            (7, "2024-03-04", 1.0)]
    return make_tx(tiny(rows)).cohorts("M", end="2024-03-20")


def test_partial_cells_and_note_by_hand():
    ct = small_cohorts()
    assert ct.sizes.tolist() == [2, 1, 4]
    # March 2024 is cut at the 20th: cells (Jan, 2), (Feb, 1), (Mar, 0)
    np.testing.assert_array_equal(ct.partial.to_numpy(),
                                  [[False, False, True], [False, True, False],
                                   [True, False, False]])
    assert ct.last_period == {"period": pd.Period("2024-03", "M"), "days_observed": 20,
                              "days": 31, "partial": True, "existing_start": None}
    assert ct.partial_note() == "last period (2024-03): 20 of 31 days"
    assert ct.partial_note("zh") == "最后一期（2024-03）仅含 20/31 天"
    long = ct.to_frame()
    assert long["partial"].tolist() == [False, False, True, False, True, True]
    assert "20 of 31 days" in repr(ct) and "hatched" in ct._repr_html_()
    assert ct.to_html().count("class='partial'") == 3


def test_balanced_average_by_hand():
    ct = small_cohorts()
    # complete cells: Jan at ages 0, 1; Feb at age 0; Mar none -> half of 3 cohorts = 2
    # cohorts are complete through age 0 (Jan, Feb), one through age 1: through = 0
    avg = ct.average("retention")
    assert ct.balanced_through() == 0
    assert avg.attrs["through"] == 0 and avg.attrs["cohorts"] == ["2024-01", "2024-02"]
    assert avg.iloc[0] == 1.0 and np.isnan(avg.iloc[1]) and np.isnan(avg.iloc[2])
    assert avg.attrs["n_cohorts"].tolist() == [2, 0, 0]
    assert avg.attrs["n_customers"].tolist() == [3, 0, 0]
    # through=1: only Jan (2 customers): active 2, 1 -> 1.0, 0.5
    a1 = ct.average("retention", through=1)
    assert a1.iloc[:2].tolist() == [1.0, 0.5] and np.isnan(a1.iloc[2])
    assert a1.attrs["n_cohorts"].tolist() == [1, 1, 0] and a1.attrs["cohorts"] == ["2024-01"]
    ltv = ct.average("ltv", through=1)
    assert ltv.iloc[:2].tolist() == [7.5, 11.0]       # (10+5)/2, (10+5+7)/2
    # the partial March cells join only with include_partial=True
    a2 = ct.average("retention", through=2, include_partial=True)
    assert a2.tolist() == [1.0, 0.5, 1.0] and a2.attrs["cohorts"] == ["2024-01"]
    assert ct.average("retention", through=2).isna().all()     # nobody complete through 2
    unb = ct.average("retention", balanced=False)
    assert unb.iloc[0] == 1.0 and unb.attrs["n_cohorts"].tolist() == [2, 1, 0]
    assert unb.iloc[1] == 0.5                                     # Jan only; Feb is partial
    unb_p = ct.average("retention", balanced=False, include_partial=True)
    assert unb_p.tolist() == [1.0, (1 + 1) / 3, 1.0]
    assert unb_p.attrs["n_customers"].tolist() == [7, 3, 2]
    with pytest.raises(ValueError, match="through"):
        ct.average(through=-1)
    with pytest.raises(ValueError, match="balanced=True"):
        ct.average(balanced=False, through=1)
    t = ct.table("retention", average=True, through=1)
    assert t.loc["average"].tolist()[:2] == [1.0, 0.5]


def test_balanced_average_is_flat_where_the_unbalanced_one_rises():
    """Every cohort retains 20% at every age; young cohorts are bigger.  The unbalanced
    average over whichever cohorts reached an age is the same here, but with retention
    that differs by cohort it moves; the balanced one is one fixed set of cohorts."""
    rows = []
    cid = 0
    # cohort m (Jan..Jun 2023) of size 10*(m+1); the first 2*(m+1) come back every month
    for m in range(6):
        for i in range(10 * (m + 1)):
            cid += 1
            start = pd.Timestamp(2023, m + 1, 5)
            rows.append((cid, start, 1.0))
            if i < (m + 1) * (6 - m) // 3:        # older cohorts retain more
                for k in range(1, 6 - m):
                    rows.append((cid, start + pd.DateOffset(months=k), 1.0))
    ct = make_tx(tiny(rows)).cohorts("M", end="2023-06-30")
    ret = ct.retention.to_numpy()
    bal = ct.average("retention", through=2)
    chosen = ct.complete.to_numpy()[:, :3].all(axis=1)
    sizes = ct.sizes.to_numpy(float)
    for k in range(3):
        assert bal.iloc[k] == pytest.approx((ret[chosen, k] * sizes[chosen]).sum()
                                            / sizes[chosen].sum())
    assert bal.attrs["n_cohorts"].iloc[:3].tolist() == [int(chosen.sum())] * 3


@pytest.mark.parametrize("period, last_day, before", [
    ("M", "2024-02-29", "2024-02-28"), ("M", "2023-12-31", "2023-12-30"),
    ("W", "2024-01-14", "2024-01-13"),           # 2024-01-14 is a Sunday
    ("Q", "2024-03-31", "2024-03-30"), ("Q", "2024-06-30", "2024-06-29"),
    ("Y", "2023-12-31", "2023-12-30")])
def test_partial_mask_at_period_ends(period, last_day, before):
    df = ref.random_log(12, start="2023-01-02", days=420)
    tx = make_tx(df)
    for end, partial in ((last_day, False), (before, True)):
        ct = tx.cohorts(period, end=end)
        exp = ref.partial_cells(ct.sizes.index, ct.active.shape[1], end, period)
        np.testing.assert_array_equal(ct.partial.to_numpy(), exp)
        assert ct.partial.to_numpy().any() == partial
        assert ct.last_period["partial"] == partial
        # averages (both kinds) never use a partial cell unless asked
        ok = ct.complete.to_numpy()
        unb = ct.average("orders", balanced=False)
        assert (unb.attrs["n_cohorts"].to_numpy() == ok.sum(axis=0)).all()
    assert not tx.cohorts("D", end=before).partial.to_numpy().any()     # a day is whole


def test_existing_before_excludes_and_counts():
    df = ref.random_log(13, n_customers=80, n_rows=700)
    tx = make_tx(df)
    cut = "2020-02-01"
    ct = tx.cohorts("M", existing_before=cut)
    fp = ref.first_purchase(df)
    n_ex = int((fp["first"] < cut).sum())
    assert ct.n_existing == n_ex > 0
    assert ct.existing_before == pd.Timestamp(cut)
    assert ct.sizes.sum() + n_ex == tx.cohorts("M").sizes.sum()
    assert ct.sizes.index.min() >= pd.Period(cut, "M")
    # the acquisition cohorts are those of the customers acquired from the cut on
    late = df[df["customer"].isin(fp.index[fp["first"] >= cut])]
    assert_matches(ct, ref.cohorts(late, "M", df["date"].max().normalize()), None)
    # the existing row against its oracle
    exp = ref.existing_row(df, cut, "M")
    ex = ct.existing
    assert ex.sizes.tolist() == [exp["size"]] and list(ex.sizes.index) == ["existing"]
    np.testing.assert_array_equal(ex.active.to_numpy()[0], exp["active"])
    np.testing.assert_array_equal(ex.orders.to_numpy()[0], exp["orders"])
    np.testing.assert_allclose(ex.revenue.to_numpy()[0], exp["revenue"], rtol=1e-9, atol=1e-9)
    assert ct.last_period["existing_start"] == exp["start"]
    # never in averages; first in table(); its own to_frame
    t = ct.table("retention", average=True, balanced=False)
    assert t.index[0] == "existing" and t.index[-1] == "average"
    np.testing.assert_allclose(t.loc["average"].to_numpy()[:ct.active.shape[1]],
                               ct.average("retention", balanced=False).to_numpy())
    assert "existing" not in set(ct.to_frame()["cohort"].astype(str))
    assert len(ex.to_frame()) == len(exp["active"])
    assert "existing" in repr(ct)
    # by channel: one existing row per channel of the first purchase
    byc = tx.cohorts("M", by="channel", existing_before=cut)
    assert byc.existing.sizes.sum() == n_ex
    assert set(byc.existing.sizes.index.get_level_values(1)) == {"existing"}


def test_existing_before_errors_and_edges():
    tx = make_tx(ref.random_log(14))
    with pytest.raises(ValueError, match="existing_before=2030-01-01 is after the end"):
        tx.cohorts(existing_before="2030-01-01")
    with pytest.raises(TypeError, match="existing_before must be a date"):
        tx.cohorts(existing_before=2020)
    with pytest.raises(ValueError, match="existing_before"):
        tx.cohorts(existing_before="not a date")
    early = tx.cohorts(existing_before="1999-01-01")          # nobody before: empty row set
    assert early.n_existing == 0 and len(early.sizes) == len(tx.cohorts().sizes)
    # the boundary: a first purchase on the day itself is an acquisition, the day before
    # is existing; a refund-only customer is neither
    df = tiny([(1, "2024-01-31", 5.0), (2, "2024-02-01", 6.0), (3, "2024-01-10", -2.0),
               (1, "2024-02-03", 1.0), (3, "2024-02-05", 4.0)])
    ct = make_tx(df).cohorts("M", existing_before="2024-02-01")
    assert ct.n_existing == 1 and ct.sizes.tolist() == [2]      # customers 2 and 3 (Feb)
    assert ct.existing.active.to_numpy().tolist() == [[1.0, 1.0]]


def test_existing_warning_on_uci_not_on_cdnow():
    retail = siyu.Transactions(siyu.datasets.load_online_retail(), customer="customer_id",
                               time="date", amount="amount")
    with pytest.warns(UserWarning, match=r"existing_before='2011-01-01'"):
        ct = retail.cohorts("M")
    assert "2010-12: 885 customers" in ct.suspect_existing
    for call in (lambda: retail.retention(days=[0, 30]), lambda: retail.repurchase(),
                 lambda: retail.survival(), lambda: retail.cohorts("W")):
        with pytest.warns(UserWarning, match="existing_before"):
            call()
    cdnow = siyu.Transactions(siyu.datasets.load_cdnow(), customer="customer_id", time="date",
                              amount="amount")
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for period in ("D", "W", "M", "Q", "Y"):
            assert cdnow.cohorts(period).suspect_existing is None
        cdnow.retention(days=[0, 30])
        cdnow.survival()
        retail.cohorts("M", existing_before="2011-01-01")     # told: no warning
        retail.cohorts("Y")                                    # 2010 (Dec only) is small


def test_to_frame_style_repr():
    df = ref.random_log(8)
    ct = make_tx(df).cohorts("M", by="channel")
    long = ct.to_frame()
    assert {"channel", "cohort", "age", "period", "size", "active", "retention", "orders",
            "revenue", "ltv"} <= set(long.columns)
    assert len(long) == int((~np.isnan(ct.active.to_numpy())).sum())
    assert (long["period"] == long["cohort"] + long["age"]).all()
    html = ct._repr_html_()
    assert "CohortTable" in html and "<table" in html
    assert "CohortTable" in repr(ct)


def test_bad_input():
    df = ref.random_log(9)
    tx = make_tx(df)
    with pytest.raises(ValueError, match="period"):
        tx.cohorts(period="X")
    with pytest.raises(TypeError, match="period"):
        tx.cohorts(period=3)
    with pytest.raises(ValueError, match="'channel'"):
        tx.cohorts(by="region")
    with pytest.raises(ValueError, match="margin"):
        tx.cohorts(margin=1.5)
    with pytest.raises(ValueError, match="end"):
        tx.cohorts(end="1990-01-01")
    with pytest.raises(ValueError, match="channel="):
        make_tx(df, channel=False).cohorts(by="channel")
    with pytest.raises(ValueError, match="metric"):
        tx.cohorts().average("bogus")


def test_kernel_refcounts_and_errors():
    import sys
    from siyu import _core
    cust = np.array([0, 1, 5], dtype=np.int64)
    day = np.array([1, 2, 3], dtype=np.int64)
    rc = sys.getrefcount(cust)
    for _ in range(50):
        with pytest.raises(ValueError):
            _core.cohort_first(cust, day, None, None, 2, 10)
    assert sys.getrefcount(cust) == rc
    with pytest.raises(ValueError):
        _core.cohort_first(cust, day[:2], None, None, 6, 10)
    # non-contiguous and non-int64 inputs are coerced, not modified
    big = (np.arange(12, dtype=np.int32) % 3)[::2]      # [0, 2, 1, 0, 2, 1], strided
    assert not big.flags.c_contiguous
    days = np.arange(6, dtype=np.int64) * 40
    f, g, _ = _core.cohort_first(big, days, None, None, 3, 10**6)
    assert f.tolist() == [0, 80, 40]


# ----------------------------------------------------------------- property tests
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@st.composite
def small_logs(draw):
    n = draw(st.integers(1, 40))
    cust = draw(st.lists(st.integers(0, 6), min_size=n, max_size=n))
    day = draw(st.lists(st.integers(0, 800), min_size=n, max_size=n))
    amt = draw(st.lists(st.sampled_from([-5.0, 0.0, 1.25, 10.0, 99.5]), min_size=n, max_size=n))
    ch = draw(st.lists(st.sampled_from(["a", "b", None]), min_size=n, max_size=n))
    df = pd.DataFrame({"customer": cust,
                       "date": pd.Timestamp("2019-11-15") + pd.to_timedelta(day, unit="D"),
                       "amount": amt, "channel": pd.Series(ch, dtype=object)})
    end_off = draw(st.integers(0, 900))
    return df, end_off


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_logs(), st.sampled_from(["D", "W", "M", "Q", "Y"]), st.sampled_from([None, "channel"]))
def test_property_cohorts_match_oracle(log, period, by):
    df, end_off = log
    end = pd.Timestamp("2019-11-15") + pd.Timedelta(days=end_off)
    tx = make_tx(df)
    if end < df["date"].min():
        with pytest.raises(ValueError, match="end"):
            tx.cohorts(period, end=end, by=by)
        return
    ct = tx.cohorts(period, end=end, by=by)
    exp = ref.cohorts(df, period, end, by)
    if len(exp["sizes"]) == 0:
        assert len(ct.sizes) == 0
        return
    assert_matches(ct, exp, by)


def test_wrappers_refcounts_on_error_paths():
    import sys
    from siyu import _core
    cust = np.array([0, 1, 7], dtype=np.int64)
    day = np.array([1, 2, 3], dtype=np.int64)
    amt = np.array([1.0, 2.0, 3.0])
    per = np.zeros(2, dtype=np.int64)
    before = [sys.getrefcount(a) for a in (cust, day, amt, per)]
    for _ in range(30):
        with pytest.raises(ValueError):
            _core.cohort_second(cust, day, amt, 2, 10, per)
        with pytest.raises(ValueError):
            _core.cohort_matrix(cust, day, amt, 2, 10, 2, per, per, 1, 1, 0, 100)
        with pytest.raises(ValueError):
            _core.retention_count(cust, day, amt, 2, 10, per, per, 1, 0, per, per, 100)
        with pytest.raises(ValueError):
            _core.interpurchase(cust, day, amt, 2, 10)
        with pytest.raises(ValueError):
            _core.survival_km(day, cust, 2)
        with pytest.raises(TypeError):
            _core.cohort_first(cust, day, "x", None, 2, 10)
    assert [sys.getrefcount(a) for a in (cust, day, amt, per)] == before


def test_threads_give_identical_results():
    """With the parallel threshold lowered, the cohort-matrix and retention row passes
    split the log across threads; any thread count gives the same bits."""
    from siyu import _core
    df = ref.random_log(11, n_customers=30_000, n_rows=260_000, days=500)
    tx = make_tx(df)
    old = siyu.get_num_threads()
    old_min = _core.set_parallel_min_rows(0)
    outs = []
    try:
        for t in (1, 2, 3, 8):
            siyu.set_num_threads(t)
            ct = tx.cohorts("M", by="channel")
            rt = tx.retention(days=range(0, 61), by="channel").table
            ru = tx.retention(kind="unbounded", days=range(0, 61)).table
            outs.append((ct, rt, ru))
    finally:
        siyu.set_num_threads(old)
        _core.set_parallel_min_rows(old_min)
    base = outs[0]
    for ct, rt, ru in outs[1:]:
        for name in ("active", "orders", "revenue"):
            np.testing.assert_array_equal(getattr(ct, name).to_numpy(),
                                          getattr(base[0], name).to_numpy())
        pd.testing.assert_frame_equal(rt, base[1])
        pd.testing.assert_frame_equal(ru, base[2])
    assert_matches(base[0], ref.cohorts(df, "M", None, "channel"), "channel")
