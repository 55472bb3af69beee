"""Tests of siyu.segments: lifecycle, value tiers, RFM, migration, Markov CLV."""
from __future__ import annotations

import io
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

import siyu
from siyu import _core
from siyu import segments as sg

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import reference_segments as ref  # noqa: E402


# ---------------------------------------------------------------------------- fixtures
def random_log(seed: int, n_cust: int = 60, n_rows: int = 500, member: bool = True,
               str_ids: bool = False, amount: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cust = rng.integers(0, n_cust, n_rows)
    # customers start at different times so as_of can precede some first purchases
    start = rng.integers(0, 500, n_cust)
    days = start[cust] + rng.integers(0, 250, n_rows)
    hours = rng.integers(0, 24, n_rows)
    date = pd.Timestamp("2022-01-01") + pd.to_timedelta(days, "D") + pd.to_timedelta(hours, "h")
    df = pd.DataFrame({"customer": [f"c{c:03d}" for c in cust] if str_ids else cust,
                       "date": date})
    if amount:
        amt = np.round(rng.exponential(30.0, n_rows), 2)
        amt[rng.random(n_rows) < 0.08] *= -1       # refunds
        df["amount"] = amt
    if member:
        df["member"] = (rng.random(n_rows) < 0.04).astype(int)
    return df


def make_tx(df: pd.DataFrame) -> siyu.Transactions:
    return siyu.Transactions(df, customer="customer", time="date",
                             amount="amount" if "amount" in df else None,
                             member="member" if "member" in df else None)


def one_row_each(days_before: dict, as_of: str = "2024-06-30") -> siyu.Transactions:
    ts = pd.Timestamp(as_of)
    df = pd.DataFrame({"customer": list(days_before),
                       "date": [ts - pd.Timedelta(days=d) for d in days_before.values()],
                       "amount": 1.0})
    return make_tx(df)


@pytest.fixture(scope="module")
def retail() -> pd.DataFrame:
    df = siyu.datasets.load_online_retail()
    return df.rename(columns={"customer_id": "customer"})[["customer", "date", "amount"]]


# ---------------------------------------------------------------------------- lifecycle
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("bounds", [(30, 180), (7, 45)])
def test_lifecycle_matches_oracle(seed, bounds):
    df = random_log(seed, str_ids=seed % 2 == 1)
    tx = make_tx(df)
    for as_of in ["2022-09-15", "2023-05-01", str(df["date"].max().date())]:
        got = tx.lifecycle(as_of=as_of, bounds=bounds)
        exp = ref.ref_lifecycle(df, as_of, bounds)
        assert list(got.index) == list(exp.index)
        np.testing.assert_array_equal(got["days_since_last"], exp["days_since_last"])
        np.testing.assert_array_equal(got["occasions"], exp["occasions"])
        np.testing.assert_allclose(got["revenue"], exp["revenue"], rtol=1e-12, atol=1e-9)
        assert got["stage"].astype(str).tolist() == exp["stage"].astype(str).tolist()
        n_all = df["customer"].nunique()
        assert got.attrs["n_excluded"] == n_all - len(exp)
        assert got.attrs["as_of"] == pd.Timestamp(as_of)
        assert got.attrs["bounds"] == bounds


def test_lifecycle_boundaries_exact():
    tx = one_row_each({"a": 0, "b": 30, "c": 31, "d": 180, "e": 181, "f": 1000})
    lc = tx.lifecycle(as_of="2024-06-30")
    assert lc["days_since_last"].to_dict() == {"a": 0, "b": 30, "c": 31, "d": 180, "e": 181,
                                               "f": 1000}
    assert lc["stage"].astype(str).to_dict() == {"a": "recent", "b": "recent", "c": "stable",
                                                 "d": "stable", "e": "lapsing", "f": "lapsing"}
    lc2 = tx.lifecycle(as_of="2024-06-30", bounds=(31, 181))
    assert lc2["stage"].astype(str).tolist() == ["recent", "recent", "recent", "stable", "stable",
                                                 "lapsing"]


def test_lifecycle_times_within_day_and_refunds():
    df = pd.DataFrame({"customer": [1, 1, 2, 2],
                       "date": pd.to_datetime(["2024-05-31 23:59", "2024-06-30 00:01",
                                               "2024-01-01 00:00", "2024-06-20 00:00"]),
                       "amount": [5.0, -5.0, 10.0, -3.0]})
    lc = make_tx(df).lifecycle(as_of="2024-06-30")
    # refunds never count as a purchase: customer 1 last bought on 05-31 (30 days)
    assert lc.loc[1, "days_since_last"] == 30 and lc.loc[1, "stage"] == "recent"
    assert lc.loc[2, "days_since_last"] == 181 and lc.loc[2, "stage"] == "lapsing"
    assert lc.loc[1, "revenue"] == 0.0 and lc.loc[2, "revenue"] == 7.0


def test_lifecycle_as_of_excludes_and_counts_later_customers():
    df = pd.DataFrame({"customer": ["x", "y", "z", "z"],
                       "date": pd.to_datetime(["2024-01-01", "2024-03-01", "2024-05-01",
                                               "2023-12-31"]),
                       "amount": [1.0, 1.0, 1.0, -1.0]})
    tx = make_tx(df)
    lc = tx.lifecycle(as_of="2024-02-01")
    assert list(lc.index) == ["x"]
    assert lc.attrs["n_excluded"] == 2        # y first buys later; z only refunded so far
    with pytest.raises(ValueError, match="as_of=2023-01-01 is before the first purchase"):
        tx.lifecycle(as_of="2023-01-01")


@pytest.mark.parametrize("bounds,exc,msg", [
    ((180, 30), ValueError, "strictly increasing"),
    ((30, 30), ValueError, "strictly increasing"),
    ((0, 30), ValueError, "positive"),
    ((30,), ValueError, "exactly 2"),
    ((30, 90, 180), ValueError, "exactly 2"),
    (30, TypeError, "pair"),
    ((30.5, 100), TypeError, "whole numbers"),
    (("a", "b"), TypeError, "whole numbers"),
])
def test_lifecycle_bad_bounds(bounds, exc, msg):
    tx = one_row_each({"a": 3})
    with pytest.raises(exc, match=msg) as info:
        tx.lifecycle(bounds=bounds)
    assert "bounds" in str(info.value)


@pytest.mark.parametrize("as_of", ["not a date", "2024-13-45", [1, 2]])
def test_bad_as_of(as_of):
    tx = one_row_each({"a": 3})
    for f in (tx.lifecycle, tx.value_tiers, tx.rfm):
        with pytest.raises((ValueError, TypeError), match="as_of"):
            f(as_of=as_of)


def test_bad_lang():
    tx = one_row_each({"a": 3})
    with pytest.raises(ValueError, match="lang"):
        tx.lifecycle(lang="fr")


def test_empty_log():
    tx = siyu.Transactions({"customer": np.array([], dtype=np.int64),
                            "date": np.array([], dtype="datetime64[ns]"),
                            "amount": np.array([], dtype=float)},
                           customer="customer", time="date", amount="amount")
    with pytest.raises(ValueError, match="as_of"):
        tx.lifecycle()
    lc = tx.lifecycle(as_of="2024-01-01")
    assert len(lc) == 0 and lc["stage"].cat.categories.tolist() == ref.LIFE_EN
    assert len(tx.rfm(as_of="2024-01-01")) == 0
    assert len(tx.value_tiers(as_of="2024-01-01", roster=[1, 2])) == 2


def test_chinese_labels_round_trip_and_sort_in_stage_order():
    tx = one_row_each({"a": 500, "b": 10, "c": 100, "d": 1})
    lc = tx.lifecycle(lang="zh")
    zh = list(sg.LIFECYCLE_LABELS["zh"])
    assert lc["stage"].cat.categories.tolist() == zh == ["新交易后", "稳定关系", "关系衰退"]
    assert lc["stage"].cat.ordered
    assert sorted(zh) != zh                 # alphabetical (code point) order would differ
    assert lc.sort_values("stage")["stage"].tolist() == ["新交易后", "新交易后", "稳定关系",
                                                         "关系衰退"]
    assert lc["stage"].max() == "关系衰退" and lc["stage"].min() == "新交易后"
    # round trip through CSV text: labels survive and re-categorise to the same order
    buf = io.StringIO()
    lc["stage"].astype(str).to_csv(buf)
    back = pd.read_csv(io.StringIO(buf.getvalue()), index_col=0)["stage"]
    again = pd.Categorical(back, categories=zh, ordered=True)
    assert list(again) == list(lc["stage"])
    summ = sg.stage_summary(lc)
    assert summ.index.tolist() == zh
    vt = tx.value_tiers(lang="zh", roster=["a", "zz"])
    assert vt["tier"].cat.categories.tolist() == ["潜在用户", "已购一次", "复购用户", "复购多次",
                                                  "会员用户"]
    assert vt.sort_values("tier")["tier"].iloc[0] == "潜在用户"


# ---------------------------------------------------------------------------- stage_summary
@pytest.mark.parametrize("seed", range(3))
def test_stage_summary_matches_oracle(seed):
    df = random_log(seed)
    tx = make_tx(df)
    as_of = "2023-03-01"
    s = sg.stage_summary(tx.lifecycle(as_of=as_of))
    exp = ref.ref_lifecycle(df, as_of)
    g = exp.groupby("stage", observed=False)
    assert s.index.tolist() == ref.LIFE_EN
    np.testing.assert_array_equal(s["customers"], g.size().to_numpy())
    np.testing.assert_allclose(s["revenue"], g["revenue"].sum().to_numpy(), atol=1e-9)
    np.testing.assert_allclose(s["mean_days_since_last"], g["days_since_last"].mean(),
                               rtol=1e-12)
    assert s["share"].sum() == pytest.approx(1.0)
    assert s["revenue_share"].sum() == pytest.approx(1.0)
    s2 = sg.stage_summary(tx, as_of=as_of)      # Transactions shortcut
    pd.testing.assert_frame_equal(s, s2)


def test_stage_summary_keeps_empty_stages_and_errors():
    tx = one_row_each({"a": 1, "b": 2})
    s = sg.stage_summary(tx.lifecycle())
    assert s["customers"].tolist() == [2, 0, 0]
    assert np.isnan(s.loc["stable", "mean_days_since_last"])
    with pytest.raises(TypeError, match="DataFrame"):
        sg.stage_summary([1, 2])
    with pytest.raises(ValueError, match="by="):
        sg.stage_summary(pd.DataFrame({"x": [1]}))
    with pytest.raises(ValueError, match="not a column"):
        sg.stage_summary(tx.lifecycle(), by="nope")


# ---------------------------------------------------------------------------- value tiers
@pytest.mark.parametrize("seed", range(5))
def test_value_tiers_match_oracle(seed):
    df = random_log(seed, member=seed != 0)
    tx = make_tx(df)
    roster = list(range(0, 80, 2)) + [1000, 1001]
    for as_of in ["2022-10-01", str(df["date"].max().date())]:
        for r in (None, roster):
            got = tx.value_tiers(as_of=as_of, roster=r)
            exp = ref.ref_value_tiers(df, as_of, r)
            got = got.sort_index()
            assert list(got.index) == list(exp.index)
            assert got["tier"].astype(str).tolist() == exp["tier"].tolist()
            np.testing.assert_array_equal(got["occasions"], exp["occasions"])
            np.testing.assert_array_equal(got["member"], exp["member"])
            np.testing.assert_allclose(got["revenue"], exp["revenue"], atol=1e-9)
            assert got.attrs["n_potential"] == int((exp["tier"] == "potential").sum())
            summ = sg.stage_summary(got)
            np.testing.assert_array_equal(
                summ["customers"],
                exp["tier"].value_counts().reindex(ref.TIER_EN, fill_value=0).to_numpy())


def test_value_tiers_member_wins_and_occasions_are_days():
    df = pd.DataFrame({
        "customer": [1, 1, 2, 2, 2, 3, 3, 3, 4, 5],
        "date": pd.to_datetime(["2024-01-01 09:00", "2024-01-01 18:00",   # 1: one day
                                "2024-01-01 00:00", "2024-01-02 00:00", "2024-01-02 00:00",  # 2: two days
                                "2024-01-01 00:00", "2024-01-02 00:00", "2024-01-03 00:00",  # 3
                                "2024-01-05 00:00", "2024-01-06 00:00"]),
        "amount": [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, -2.0],
        "member": [0, 0, 0, 0, 0, 0, 0, 1, 0, 1]})
    tx = make_tx(df)
    vt = tx.value_tiers(roster=[1, 2, 3, 4, 5, 6])
    assert vt["tier"].astype(str).to_dict() == {1: "one-time", 2: "repeat", 3: "member",
                                                4: "one-time", 5: "member", 6: "potential"}
    # before customer 3's member flag he is multi-repeat
    assert tx.value_tiers(as_of="2024-01-02")["tier"].astype(str).to_dict() == {
        1: "one-time", 2: "repeat", 3: "repeat"}
    assert tx.value_tiers(as_of="2024-01-02").attrs["n_excluded"] == 2


def test_value_tiers_roster_checks():
    tx = one_row_each({"a": 1, "b": 2})
    with pytest.raises(TypeError, match="roster"):
        tx.value_tiers(roster="a")
    with pytest.raises(ValueError, match="missing"):
        tx.value_tiers(roster=["a", None])
    with pytest.warns(UserWarning, match="roster"):
        tx.value_tiers(roster=[1, 2])
    vt = tx.value_tiers(roster=["a", "a", "q"])
    assert vt.attrs["n_roster"] == 2 and vt.attrs["n_potential"] == 1


# ---------------------------------------------------------------------------- RFM
@pytest.mark.parametrize("ties", ["min", "average", "max"])
@pytest.mark.parametrize("bins", [2, 3, 5, 10])
def test_quantile_scores_match_pandas_rank(ties, bins):
    rng = np.random.default_rng(bins)
    for n in (1, 2, 7, 100, 1000):
        v = rng.integers(0, 6, n).astype(float) * 1.5
        got = _core.quantile_scores(v, bins, sg._TIES[ties])
        np.testing.assert_array_equal(got, ref.ref_scores(v, bins, ties))
        w = rng.normal(size=n)
        np.testing.assert_array_equal(_core.quantile_scores(w, bins, sg._TIES[ties]),
                                      ref.ref_scores(w, bins, ties))
        # integer values: compact range (counting path), negative, and sparse (sort path)
        for x in (rng.integers(0, 40, n), rng.integers(-900, -850, n),
                  rng.integers(0, 10**12, n), np.append(rng.integers(0, 3, n - 1), 2**60)):
            np.testing.assert_array_equal(
                _core.quantile_scores(x.astype(float), bins, sg._TIES[ties]),
                ref.ref_scores(x, bins, ties))


def test_quantile_scores_hypothesis():
    hyp = pytest.importorskip("hypothesis")
    st = pytest.importorskip("hypothesis.strategies")

    @hyp.settings(max_examples=200, deadline=None)
    @hyp.given(st.lists(st.one_of(st.integers(-50, 50).map(float),
                                  st.floats(-1e6, 1e6, allow_nan=False)), max_size=60),
               st.integers(2, 12), st.sampled_from(["min", "average", "max"]))
    def check(values, bins, ties):
        v = np.array(values, dtype=float)
        got = _core.quantile_scores(v, bins, sg._TIES[ties])
        if v.size:
            np.testing.assert_array_equal(got, ref.ref_scores(v, bins, ties))
        else:
            assert got.size == 0

    check()


def test_quantile_scores_properties():
    rng = np.random.default_rng(0)
    v = rng.integers(0, 20, 997).astype(float)
    s = _core.quantile_scores(v, 5, 1)
    for x in np.unique(v):                       # ties share a bin
        assert np.unique(s[v == x]).size == 1
    order = np.argsort(v, kind="stable")
    assert (np.diff(s[order]) >= 0).all()        # monotone
    perm = rng.permutation(v.size)               # row order does not matter
    np.testing.assert_array_equal(_core.quantile_scores(v[perm], 5, 1), s[perm])
    distinct = _core.quantile_scores(np.arange(100.0), 5, 0)
    assert np.bincount(distinct)[1:].tolist() == [20] * 5
    assert _core.quantile_scores(np.zeros(0), 5, 0).size == 0
    with pytest.raises(ValueError, match="finite"):
        _core.quantile_scores([1.0, np.nan], 5, 0)
    # non-contiguous input is fine and not modified
    base = np.arange(20.0)
    view = base[::2]
    np.testing.assert_array_equal(_core.quantile_scores(view, 2, 0), [1] * 5 + [2] * 5)
    np.testing.assert_array_equal(base, np.arange(20.0))


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("ties", ["min", "average"])
def test_rfm_matches_oracle(seed, ties):
    df = random_log(seed, n_cust=120, n_rows=900)
    tx = make_tx(df)
    as_of = "2023-02-15"
    got = tx.rfm(as_of=as_of, bins=5, ties=ties)
    exp = ref.ref_rfm(df, as_of, 5, ties)
    assert list(got.index) == list(exp.index)
    for c in ("days_since_last", "occasions", "R", "F", "M"):
        np.testing.assert_array_equal(got[c], exp[c], err_msg=c)
    np.testing.assert_allclose(got["revenue"], exp["revenue"], atol=1e-9)
    assert (got["rfm_score"] == got["R"] + got["F"] + got["M"]).all()
    assert (got["rfm_code"] == got["R"].astype(str) + got["F"].astype(str)
            + got["M"].astype(str)).all()
    # most recent customers score highest on R
    top = got["days_since_last"] == got["days_since_last"].min()
    assert (got.loc[top, "R"] == got["R"].max()).all()
    assert not got["segment"].isna().any()
    assert got.attrs["n_excluded"] == df["customer"].nunique() - len(exp)


def test_rfm_default_segment_map():
    table, names = sg._segment_table(None, 5, "en")
    assert (table >= 0).all() and "other" not in names      # covers every (R, F) cell
    assert names[table[4, 4]] == "champions"
    assert names[table[0, 0]] == "hibernating"
    assert names[table[4, 0]] == "new customers"
    assert names[table[0, 4]] == "cannot lose them"
    assert names[table[1, 3]] == "at risk"
    _, zh = sg._segment_table(None, 5, "zh")
    assert zh[0] == "冠军客户" and len(zh) == len(names) == 10
    for b in (2, 3, 4, 7, 10):
        t, n = sg._segment_table(None, b, "en")
        assert (t >= 0).all() and n[t[-1, -1]] == "champions" and n[t[0, 0]] == "hibernating"


def test_rfm_custom_segment_map_lang_and_errors():
    df = random_log(3, n_cust=80, n_rows=600)
    tx = make_tx(df)
    seg = {"best": ((4, 5), (4, 5)), "recent": (5, (1, 5)), "old": ((1, 2), (1, 5))}
    r = tx.rfm(segment_map=seg)
    assert r["segment"].cat.categories.tolist() == ["best", "recent", "old", "other"]
    best = (r["R"] >= 4) & (r["F"] >= 4)
    assert (r.loc[best, "segment"] == "best").all()
    assert (r.loc[~best & (r["R"] == 5), "segment"] == "recent").all()
    assert (r.loc[(r["R"] == 3), "segment"] == "other").all()
    rz = tx.rfm(lang="zh")
    assert rz["segment"].cat.categories[0] == "冠军客户"
    assert (rz["segment"].cat.codes == tx.rfm()["segment"].cat.codes).all()
    with pytest.raises(ValueError, match="bins"):
        tx.rfm(bins=1)
    with pytest.raises(TypeError, match="bins"):
        tx.rfm(bins=2.5)
    with pytest.raises(ValueError, match="ties"):
        tx.rfm(ties="dense")
    with pytest.raises(ValueError, match="segment_map"):
        tx.rfm(segment_map={"x": ((0, 9), 1)})
    with pytest.raises(TypeError, match="segment_map"):
        tx.rfm(segment_map=[("x", 1, 1)])
    r10 = tx.rfm(bins=10)
    assert r10["rfm_code"].str.count("-").eq(2).all()


def test_rfm_without_amounts():
    df = random_log(1, amount=False)
    r = make_tx(df).rfm(bins=4)
    assert "M" not in r and "revenue" not in r
    assert (r["rfm_score"] == r["R"] + r["F"]).all()


# ---------------------------------------------------------------------------- migration
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("period", ["M", "Q", "W"])
def test_migration_lifecycle_matches_oracle(seed, period):
    df = random_log(seed, n_cust=50, n_rows=400)
    tx = make_tx(df)
    end = "2023-10-17"
    mg = tx.migration(period=period, end=end, bounds=(30, 90))
    stages, mat, per = ref.ref_migration(df, period, end, (30, 90))
    assert list(mg.period_ends) == list(stages.columns)
    got = mg.stages.reindex(stages.index)
    assert got.astype(object).where(got.notna(), None).values.tolist() == \
        stages.astype(object).where(stages.notna(), None).values.tolist()
    np.testing.assert_array_equal(mg.matrix.to_numpy(), mat.to_numpy())
    for j, ct in enumerate(per):
        np.testing.assert_array_equal(mg.counts.xs(mg.period_ends[j + 1]).to_numpy(),
                                      ct.to_numpy())
    assert int(mg.counts.to_numpy().sum()) == int(mg.matrix.to_numpy().sum())
    p = mg.probabilities.to_numpy()
    ok = ~np.isnan(p).any(axis=1)
    np.testing.assert_allclose(p[ok].sum(axis=1), 1.0)
    # entries + previous presence = presence
    present = mg.stages.notna().sum(axis=0).to_numpy()
    np.testing.assert_array_equal(np.cumsum(mg.entries.sum(axis=1).to_numpy()), present)


@pytest.mark.parametrize("seed", range(3))
def test_migration_value_tiers_matches_oracle(seed):
    df = random_log(seed, n_cust=50, n_rows=400)
    tx = make_tx(df)
    end = "2023-12-31"
    mg = tx.migration(period="M", segmentation="value_tiers", end=end)
    stages, mat, _ = ref.ref_migration(df, "M", end, segmentation="value_tiers")
    assert mg.matrix.index.tolist() == ref.TIER_EN[1:]
    np.testing.assert_array_equal(mg.matrix.to_numpy(), mat.to_numpy())
    # value tiers never move down except into member
    m = mg.matrix.to_numpy()
    assert np.tril(m[:3, :3], -1).sum() == 0 and m[3, :3].sum() == 0


def test_migration_period_ends_and_errors():
    df = pd.DataFrame({"customer": [1, 1, 2], "amount": 1.0,
                       "date": pd.to_datetime(["2024-01-10", "2024-03-05", "2024-02-20"])})
    tx = make_tx(df)
    mg = tx.migration(end="2024-03-30")           # March incomplete -> not a snapshot
    assert [str(d.date()) for d in mg.period_ends] == ["2024-01-31", "2024-02-29"]
    mg = tx.migration(end="2024-03-31")
    assert [str(d.date()) for d in mg.period_ends] == ["2024-01-31", "2024-02-29",
                                                       "2024-03-31"]
    assert mg.entries.sum(axis=1).tolist() == [1, 1, 0]
    assert "Migration" in repr(mg) and "<table" in mg._repr_html_()
    with pytest.raises(ValueError, match="segmentation"):
        tx.migration(segmentation="rfm")
    with pytest.raises(ValueError, match="period"):
        tx.migration(period="fortnight")
    with pytest.raises(ValueError, match="first complete period"):
        tx.migration(end="2024-01-20")
    zh = tx.migration(end="2024-03-31", lang="zh")
    assert zh.matrix.index.tolist() == list(sg.LIFECYCLE_LABELS["zh"])


def _sweep(cust, day, amt, member, k, ends, mode, bounds, with_stages=True):
    return _core.segment_sweep(np.asarray(cust, np.int64), np.asarray(day, np.int64), amt,
                               member, k, np.asarray(ends, np.int64), mode,
                               np.asarray(bounds, np.int64), with_stages)


def test_transition_kernel_checks():
    st = np.array([[0, 1, -1], [2, 2, 0]], dtype=np.int8).T.copy()   # (m=3, k=2)
    c = _core.segment_transitions(st, 3)
    assert c.shape == (2, 3, 3)
    assert c[0, 0, 1] == 1 and c[0, 2, 2] == 1 and c[1, 2, 0] == 1 and c.sum() == 3
    # non-contiguous (transposed view) input gives the same counts
    np.testing.assert_array_equal(
        _core.segment_transitions(np.array([[0, 1, -1], [2, 2, 0]], dtype=np.int8).T, 3), c)
    with pytest.raises(ValueError, match="stage codes"):
        _core.segment_transitions(st, 2)
    with pytest.raises(ValueError, match="2-dimensional"):
        _core.segment_transitions(st[0], 3)
    assert _core.segment_transitions(np.zeros((1, 4), np.int8), 3).shape == (0, 3, 3)
    with pytest.raises(ValueError, match="strictly increasing"):
        _sweep([0], [0], None, None, 1, [5, 5], 0, [30, 180])
    with pytest.raises(ValueError, match="at least one"):
        _sweep([0], [0], None, None, 1, [], 0, [30, 180])
    with pytest.raises(ValueError, match="bounds"):
        _sweep([0], [0], None, None, 1, [5], 0, [180, 30])
    with pytest.raises(ValueError, match=r"\[0, k\)"):
        _sweep([3], [0], None, None, 1, [5], 0, [30, 180])
    with pytest.raises(ValueError, match="mode"):
        _sweep([0], [0], None, None, 1, [5], 7, [30, 180])


# ---------------------------------------------------------------------------- markov_clv
P3 = np.array([[0.5, 0.3, 0.2], [0.2, 0.5, 0.3], [0.0, 0.0, 1.0]])
V3 = np.array([100.0, 50.0, 0.0])


def test_markov_clv_hand_computed():
    # horizon 1: just this period's value
    np.testing.assert_allclose(sg.markov_clv(P3, V3, 0.1, 1), V3)
    # horizon 2: v + P v / 1.1, P v = (0.5*100 + 0.3*50, 0.2*100 + 0.5*50, 0) = (65, 45, 0)
    np.testing.assert_allclose(sg.markov_clv(P3, V3, 0.1, 2),
                               [100 + 65 / 1.1, 50 + 45 / 1.1, 0.0])
    # horizon 3: + P^2 v / 1.21, P^2 v = P (65, 45, 0) = (46, 35.5, 0)
    np.testing.assert_allclose(sg.markov_clv(P3, V3, 0.1, 3),
                               [100 + 65 / 1.1 + 46 / 1.21, 50 + 45 / 1.1 + 35.5 / 1.21, 0.0])
    # infinite horizon: (I - P/1.1) V = v solved by hand on the 2 transient states:
    #   V1 (1 - 0.5/1.1) - V2 0.3/1.1 = 100 ;  -V1 0.2/1.1 + V2 (1 - 0.5/1.1) = 50
    #   (0.6 V1 - 0.3 V2 = 110, -0.2 V1 + 0.6 V2 = 55)  ->  V1 = 275/1.0 * ... see below
    #   from the first: V1 = (110 + 0.3 V2) / 0.6 ; substitute: -0.2 (110 + 0.3 V2)/0.6
    #   + 0.6 V2 = 55  ->  -36.666.. - 0.1 V2 + 0.6 V2 = 55  ->  V2 = 183.333.., V1 = 275
    inf = sg.markov_clv(P3, V3, 0.1, None)
    np.testing.assert_allclose(inf, [275.0, 550.0 / 3.0, 0.0])
    assert inf.attrs["horizon"] is None and inf.name == "clv"
    # long finite horizon (closed form branch) converges to the infinite value
    np.testing.assert_allclose(sg.markov_clv(P3, V3, 0.1, 2000), inf, rtol=1e-10)
    loop = V3.copy()
    term = V3.copy()
    for _ in range(99):
        term = P3 @ term / 1.1
        loop += term
    np.testing.assert_allclose(sg.markov_clv(P3, V3, 0.1, 100), loop, rtol=1e-12)
    # no discount, finite horizon
    np.testing.assert_allclose(sg.markov_clv(P3, V3, 0.0, 2), [165.0, 95.0, 0.0])


def test_markov_clv_labels_and_migration_input():
    labels = ["recent", "stable", "lapsing"]
    P = pd.DataFrame(P3, index=labels, columns=labels)
    v = pd.Series({"lapsing": 0.0, "recent": 100.0, "stable": 50.0})
    out = sg.markov_clv(P, v, 0.1, 2)
    assert out.index.tolist() == labels
    assert out["recent"] == pytest.approx(100 + 65 / 1.1)
    assert sg.markov_clv(P, {"recent": 100, "stable": 50, "lapsing": 0}, 0.1, 2).equals(out)
    df = random_log(0, n_cust=80, n_rows=800)
    mg = make_tx(df).migration(end="2023-12-31")
    clv = sg.markov_clv(mg.probabilities, [30.0, 10.0, 0.0], 0.01, 12)
    assert clv.index.tolist() == labels and (clv >= 0).all()


@pytest.mark.parametrize("kwargs,exc,msg", [
    (dict(transition_matrix=P3[:2]), ValueError, "square"),
    (dict(transition_matrix=P3 * 0.9), ValueError, "row-stochastic"),
    (dict(transition_matrix=np.array([[1.5, -0.5], [0, 1]]), value_per_stage=[1, 2]),
     ValueError, "negative"),
    (dict(transition_matrix=np.full((3, 3), np.nan)), ValueError, "NaN"),
    (dict(value_per_stage=[1.0, 2.0]), ValueError, "one value per stage"),
    (dict(discount_rate=-0.1), ValueError, "discount_rate"),
    (dict(discount_rate="5%"), TypeError, "discount_rate"),
    (dict(horizon=0), ValueError, "horizon"),
    (dict(horizon=2.5), TypeError, "horizon"),
    (dict(horizon=None, discount_rate=0.0), ValueError, "discount_rate > 0"),
])
def test_markov_clv_errors(kwargs, exc, msg):
    args = dict(transition_matrix=P3, value_per_stage=V3, discount_rate=0.1, horizon=5)
    args.update(kwargs)
    with pytest.raises(exc, match=msg):
        sg.markov_clv(**args)


def test_markov_clv_label_mismatch():
    labels = ["a", "b", "c"]
    P = pd.DataFrame(P3, index=labels, columns=labels)
    with pytest.raises(ValueError, match="no value for stage"):
        sg.markov_clv(P, pd.Series({"a": 1.0, "b": 2.0}), 0.1, 3)
    with pytest.raises(ValueError, match="same stages"):
        sg.markov_clv(pd.DataFrame(P3, index=labels, columns=["a", "c", "b"]), V3, 0.1, 3)


# ---------------------------------------------------------------------------- online retail
def test_online_retail_against_oracles(retail):
    tx = make_tx(retail)
    for as_of in ["2011-06-30", "2011-12-09"]:
        lc = tx.lifecycle(as_of=as_of)
        exp = ref.ref_lifecycle(retail, as_of)
        assert lc["stage"].astype(str).tolist() == exp["stage"].astype(str).tolist()
        np.testing.assert_array_equal(lc["days_since_last"], exp["days_since_last"])
        vt = tx.value_tiers(as_of=as_of)
        vexp = ref.ref_value_tiers(retail, as_of)
        assert vt["tier"].astype(str).tolist() == vexp["tier"].tolist()
        r = tx.rfm(as_of=as_of)
        rexp = ref.ref_rfm(retail, as_of)
        for c in ("R", "F", "M"):
            np.testing.assert_array_equal(r[c], rexp[c])
    assert tx.lifecycle(as_of="2011-06-30").attrs["n_excluded"] > 0
    mg = tx.migration(period="M")
    stages, mat, _ = ref.ref_migration(retail, "M", "2011-12-09")
    np.testing.assert_array_equal(mg.matrix.to_numpy(), mat.to_numpy())
    assert str(mg.period_ends[-1].date()) == "2011-11-30"
    mv = tx.migration(period="Q", segmentation="value_tiers")
    _, vmat, _ = ref.ref_migration(retail, "Q", "2011-12-09", segmentation="value_tiers")
    np.testing.assert_array_equal(mv.matrix.to_numpy(), vmat.to_numpy())


# ---------------------------------------------------------------------------- robustness
def test_inputs_unchanged_and_refcounts_stable():
    df = random_log(7)
    snapshot = df.copy()
    tx = make_tx(df)
    log = tx._log
    ends = np.array([19300, 19400], dtype=np.int64)
    bounds = np.array([30, 180], dtype=np.int64)
    arrays = (log.cust, log.day, log.amount, log.member, ends, bounds)
    refs = [sys.getrefcount(a) for a in arrays]
    for _ in range(50):
        out = _core.segment_sweep(log.cust, log.day, log.amount, log.member, tx.n_customers,
                                  ends, 0, bounds, True)
        assert out[0].shape == (2, tx.n_customers)
        with pytest.raises(ValueError):
            _core.segment_sweep(log.cust, log.day, log.amount, log.member, 1, ends, 0, bounds,
                                True)
        with pytest.raises(ValueError):
            _core.segment_sweep(log.cust, log.day[:-1], log.amount, None, tx.n_customers, ends,
                                0, bounds, True)
        with pytest.raises(TypeError):
            _core.segment_sweep(log.cust, log.day, "x", None, tx.n_customers, ends, 0, bounds,
                                True)
    del out
    assert refs == [sys.getrefcount(a) for a in arrays]
    tx.lifecycle(), tx.value_tiers(), tx.rfm(), tx.migration()
    pd.testing.assert_frame_equal(df, snapshot)


@pytest.mark.parametrize("order", ["given", "sorted", "reversed"])
def test_sweep_one_customer_unsorted_duplicates(order):
    # rows out of order, duplicates on a day, refund after the last purchase
    cust = np.zeros(6, np.int64)
    day = np.array([50, 10, 50, 30, 10, 70], np.int64)
    amt = np.array([1.0, 1.0, 1.0, 1.0, 1.0, -1.0])
    mem = np.array([0, 0, 0, 0, 0, 1], np.int8)   # flagged on the refund row, day 70
    idx = {"given": np.arange(6), "sorted": np.argsort(day, kind="stable"),
           "reversed": np.argsort(day, kind="stable")[::-1]}[order]
    cust, day, amt, mem = cust[idx], day[idx], amt[idx], mem[idx]
    ends = [9, 10, 40, 80, 300]
    st, last, occ, rev, memd = _sweep(cust, day, amt, None, 1, ends, 0, [20, 100])
    assert st[:, 0].tolist() == [-1, 0, 0, 1, 2]   # last purchases 10, 30, 50, 50
    assert last.tolist() == [50] and occ.tolist() == [3] and rev.tolist() == [4.0]
    assert memd.tolist() == [np.iinfo(np.int64).max]
    st = _sweep(cust, day, amt, None, 1, ends, 1, [])[0]
    assert st[:, 0].tolist() == [-1, 0, 1, 2, 2]
    st, _, _, _, memd = _sweep(cust, day, amt, mem, 1, ends, 1, [])
    assert st[:, 0].tolist() == [-1, 0, 1, 3, 3] and memd.tolist() == [70]
    st, last, occ, rev, _ = _sweep(cust, day, None, None, 1, ends, 0, [20, 100], False)
    assert st is None and rev is None and last.tolist() == [70] and occ.tolist() == [4]


def test_sweep_sort_paths_agree():
    """Sorted input, counting sort and the comparison-sort fallback give one answer."""
    rng = np.random.default_rng(5)
    n, k = 3000, 200
    cust = rng.integers(0, k, n)
    for spread in (400, 10_000_000):          # compact day range vs sparse (qsort path)
        day = rng.integers(0, spread, n)
        amt = rng.normal(10, 10, n)
        mem = (rng.random(n) < 0.02).astype(np.int8)
        ends = np.unique(rng.integers(0, spread, 12))
        for mode, b in ((0, [30, 180]), (1, [])):
            a = _sweep(cust, day, amt, mem, k, ends, mode, b)
            o = np.argsort(day, kind="stable")
            s = _sweep(cust[o], day[o], amt[o], mem[o], k, ends, mode, b)
            g = np.lexsort((day, cust))              # grouped by customer: the stored order
            gr = _sweep(cust[g], day[g], amt[g], mem[g], k, ends, mode, b)
            for other in (s, gr):
                np.testing.assert_array_equal(a[0], other[0])
                for x, y in zip(a[1:], other[1:]):
                    np.testing.assert_allclose(x, y, rtol=1e-12)
            # oracle for the stages at every end
            for j, e in enumerate(ends):
                sel = day <= e
                p = sel & (amt >= 0)
                last = np.full(k, np.iinfo(np.int64).min)
                np.maximum.at(last, cust[p], day[p])
                if mode == 0:
                    d = e - last
                    exp = np.where(last == np.iinfo(np.int64).min, -1,
                                   (d > 30).astype(int) + (d > 180))
                else:
                    occ = pd.Series(day[p]).groupby(cust[p]).nunique().reindex(
                        range(k), fill_value=0).to_numpy()
                    ism = np.zeros(k, bool)
                    ism[cust[sel & (mem == 1)]] = True
                    exp = np.where(ism, 3, np.where(occ >= 3, 2, occ - 1))
                np.testing.assert_array_equal(a[0][j], exp)


def test_docstring_examples_run():
    import doctest

    res = doctest.testmod(sg, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert res.attempted >= 20 and res.failed == 0
    for name in ("lifecycle", "value_tiers", "rfm", "migration", "stage_summary", "markov_clv"):
        doc = getattr(sg, name).__doc__
        assert all(sec in doc for sec in ("Parameters", "Returns", "Examples")), name
    assert siyu.Transactions.lifecycle is sg.lifecycle      # delegated method


@pytest.mark.parametrize("layout", ["unsorted", "sorted", "sparse", "grouped"])
def test_sweep_identical_for_any_thread_count(layout):
    rng = np.random.default_rng(11)
    n, k = 250_000, 70_000                       # above the kernel's threading threshold
    cust = rng.integers(0, k, n)
    day = rng.integers(0, 10**7 if layout == "sparse" else 900, n)
    if layout == "sorted":
        day = np.sort(day)
    if layout == "grouped":
        g = np.lexsort((day, cust))
        cust, day = cust[g], day[g]
    amt = np.round(rng.normal(20, 15, n), 2)
    mem = (rng.random(n) < 0.01).astype(np.int8)
    ends = np.unique(np.quantile(day, np.linspace(0.05, 1, 15)).astype(np.int64))
    before = siyu.get_num_threads()
    try:
        results = []
        for nt in (1, 2, 3):
            siyu.set_num_threads(nt)
            results.append([_sweep(cust, day, amt, mem, k, ends, mode, b)
                            for mode, b in ((0, [30, 180]), (1, []))])
    finally:
        siyu.set_num_threads(before)
    for other in results[1:]:
        for a, b in zip(results[0], other):
            for x, y in zip(a, b):
                np.testing.assert_array_equal(x, y)


def test_tz_aware_times_use_local_calendar_days():
    # 2024-06-30 20:00 UTC is already 2024-07-01 in Shanghai
    df = pd.DataFrame({"customer": ["a", "b"],
                       "date": pd.to_datetime(["2024-06-30 20:00", "2024-05-31 12:00"], utc=True),
                       "amount": [1.0, 1.0]})
    tx = siyu.Transactions(df, customer="customer", time="date", amount="amount",
                           tz="Asia/Shanghai")
    lc = tx.lifecycle(as_of="2024-07-01")
    assert lc["days_since_last"].to_dict() == {"a": 0, "b": 31}
    assert lc["stage"].astype(str).to_dict() == {"a": "recent", "b": "stable"}


def test_migration_plot():
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg")
    import matplotlib.pyplot as plt

    mg = make_tx(random_log(2)).migration(period="Q", end="2023-12-31")
    ax = mg.plot()
    assert ax.get_xlabel() == "to" and ax.get_ylabel() == "from"
    assert len(ax.texts) == 9                                   # one probability per cell
    assert [t.get_text() for t in ax.get_xticklabels()] == ["recent", "stable", "lapsing"]
    zh = make_tx(random_log(2)).migration(period="Q", end="2023-12-31", lang="zh").plot()
    assert (zh.get_xlabel(), zh.get_ylabel()) == ("本期阶段", "上期阶段")
    assert [t.get_text() for t in zh.get_yticklabels()] == ["新交易后", "稳定关系", "关系衰退"]
    plt.close("all")


def test_labels_come_from_the_catalogue():
    from siyu._i18n import CATALOGUE

    assert sg.LIFECYCLE_LABELS == {lang: tuple(CATALOGUE[f"stage.{k}"][lang]
                                               for k in ("recent", "stable", "lapsing"))
                                   for lang in ("en", "zh")}
    assert sg.LIFECYCLE_LABELS["en"] == ("recent", "stable", "lapsing")    # DESIGN section 2
    assert sg.VALUE_TIER_LABELS["zh"] == ("潜在用户", "已购一次", "复购用户", "复购多次", "会员用户")
    assert [e[:2] for e in sg.DEFAULT_RFM_SEGMENTS][0] == ("champions", "冠军客户")
    tx = make_tx(random_log(4))
    # a map that leaves cells uncovered gets the catalogue's "other"; a map that already
    # uses that name gets "other (unmatched)"
    r = tx.rfm(segment_map={"best": ((5, 5), (5, 5))}, lang="zh")
    assert list(r["segment"].cat.categories) == ["best", "其他"]
    r = tx.rfm(segment_map={"other": ((5, 5), (5, 5))})
    assert list(r["segment"].cat.categories) == ["other", "other (unmatched)"]
    r = tx.rfm(segment_map={"其他": ((5, 5), (5, 5))}, lang="zh")
    assert list(r["segment"].cat.categories) == ["其他", "其他（未匹配）"]
    zh = tx.migration(lang="zh", end="2023-06-30")
    assert "转移概率" in zh._repr_html_()
    assert "Transition probabilities" in tx.migration(end="2023-06-30")._repr_html_()


def test_segments_hypothesis_small_logs():
    hyp = pytest.importorskip("hypothesis")
    st = pytest.importorskip("hypothesis.strategies")

    row = st.tuples(st.integers(0, 5), st.integers(0, 120), st.integers(-3, 10),
                    st.booleans())

    @hyp.settings(max_examples=30, deadline=None)
    @hyp.given(st.lists(row, min_size=1, max_size=30), st.integers(0, 130),
               st.booleans())
    def check(rows, offset, with_amount):
        c, d, a, mflag = zip(*rows)
        df = pd.DataFrame({"customer": c,
                           "date": pd.Timestamp("2024-01-01") + pd.to_timedelta(d, "D"),
                           "member": np.array(mflag, dtype=int)})
        if with_amount:
            df["amount"] = np.array(a, dtype=float)
        tx = make_tx(df)
        as_of = str((df["date"].min() + pd.Timedelta(days=offset)).date())
        got = tx.lifecycle(as_of=as_of, bounds=(10, 40))
        exp = ref.ref_lifecycle(df, as_of, (10, 40))
        assert list(got.index) == list(exp.index)
        assert got["stage"].astype(str).tolist() == exp["stage"].astype(str).tolist()
        assert ("revenue" in got) == with_amount
        vt = tx.value_tiers(as_of=as_of, roster=[0, 1, 9]).sort_index()
        vexp = ref.ref_value_tiers(df, as_of, [0, 1, 9])
        assert list(vt.index) == list(vexp.index)
        assert vt["tier"].astype(str).tolist() == vexp["tier"].tolist()
        s = sg.stage_summary(vt)
        assert int(s["customers"].sum()) == len(vt)
        mg = tx.migration(period="W", end="2024-05-31", bounds=(10, 40))
        _, mat, _ = ref.ref_migration(df, "W", "2024-05-31", (10, 40))
        np.testing.assert_array_equal(mg.matrix.to_numpy(), mat.to_numpy())

    check()


def test_markov_clv_every_horizon_equals_the_explicit_sum():
    """V = sum_{t<H} (P / (1+d))^t v by a plain loop, on both sides of the closed form used
    for long horizons (H > 64), and the infinite horizon as the limit."""
    P = np.array([[0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [0.0, 0.1, 0.9]])
    v = np.array([100.0, 40.0, 5.0])
    d = 0.02
    for H in (1, 2, 3, 64, 65, 66, 200):
        want, term = np.zeros(3), v.copy()
        for _ in range(H):
            want += term
            term = P @ term / (1 + d)
        got = siyu.segments.markov_clv(P, v, discount_rate=d, horizon=H)
        np.testing.assert_allclose(got.to_numpy(), want, rtol=1e-12, err_msg=str(H))
    inf = siyu.segments.markov_clv(P, v, discount_rate=d, horizon=None).to_numpy()
    want, term = np.zeros(3), v.copy()
    for _ in range(5000):
        want += term
        term = P @ term / (1 + d)
    np.testing.assert_allclose(inf, want, rtol=1e-12)
