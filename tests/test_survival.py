"""Kaplan-Meier survival against the pandas oracle durations and lifelines (or, where
lifelines does not install, a NumPy product-limit oracle checked against it)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import siyu
from siyu.survival import kaplan_meier

import reference_cohorts as ref



class NumpyKM:
    """A plain NumPy Kaplan-Meier (product limit, Greenwood, log-log bands) with the
    lifelines attributes the tests read; the oracle when lifelines is not installed."""

    def fit(self, duration, event, alpha: float = 0.05) -> "NumpyKM":
        from statistics import NormalDist

        d = np.asarray(duration, dtype=float)
        e = np.asarray(event).astype(bool)
        times = np.unique(np.concatenate([[0.0], d]))
        at_risk = np.array([(d >= t).sum() for t in times])
        observed = np.array([((d == t) & e).sum() for t in times])
        removed = np.array([(d == t).sum() for t in times])
        with np.errstate(divide="ignore", invalid="ignore"):
            surv = np.cumprod(1.0 - observed / at_risk)
            green = np.cumsum(observed / (at_risk * (at_risk - observed)))
            z = NormalDist().inv_cdf(1 - alpha / 2)
            v = np.log(surv)
            a = np.exp(-np.exp(np.log(-v) - z * np.sqrt(green) / v))
            b = np.exp(-np.exp(np.log(-v) + z * np.sqrt(green) / v))
        idx = pd.Index(times, name="timeline")
        self.survival_function_ = pd.DataFrame({"KM_estimate": surv}, index=idx)
        # no event yet: S = 1 exactly; everybody gone: S = 0 exactly
        lower = np.where(surv == 1.0, 1.0, np.where(surv == 0.0, 0.0, np.fmin(a, b)))
        upper = np.where(surv == 1.0, 1.0, np.where(surv == 0.0, 0.0, np.fmax(a, b)))
        self.confidence_interval_ = pd.DataFrame({"lower": lower, "upper": upper}, index=idx)
        self.event_table = pd.DataFrame({"removed": removed, "observed": observed,
                                         "censored": removed - observed, "at_risk": at_risk},
                                        index=idx)
        below = surv <= 0.5
        self.median_survival_time_ = float(times[below.argmax()]) if below.any() else np.inf
        return self


def numpy_rmst(km: NumpyKM, t: float) -> float:
    """Area under the step survival curve on [0, t]."""
    sf = km.survival_function_.iloc[:, 0]
    times, surv = sf.index.to_numpy(dtype=float), sf.to_numpy()
    edges = np.append(times[times < t], t)
    return float(np.sum(np.diff(edges) * surv[:len(edges) - 1]))


try:  # lifelines is the reference when it installs (it pins pandas < 3)
    from lifelines import KaplanMeierFitter
    from lifelines.utils import restricted_mean_survival_time
except ImportError:  # pragma: no cover - depends on the environment
    KaplanMeierFitter, restricted_mean_survival_time = NumpyKM, numpy_rmst


def test_numpy_oracle_agrees_with_lifelines():
    """The fallback oracle itself is checked against lifelines where both exist."""
    lf = pytest.importorskip("lifelines")
    rng = np.random.default_rng(11)
    cases = [(np.array([1, 2, 2, 3]), np.array([1, 1, 0, 1]))]        # ends at S = 0
    for _ in range(5):
        n = int(rng.integers(1, 300))
        cases.append((rng.integers(0, 40, n), (rng.random(n) < rng.random()).astype(int)))
    for d, e in cases:
        ours, theirs = NumpyKM().fit(d, e), lf.KaplanMeierFitter().fit(d, e)
        pd.testing.assert_frame_equal(ours.survival_function_, theirs.survival_function_,
                                      check_names=False, atol=1e-12, check_dtype=False)
        np.testing.assert_allclose(ours.confidence_interval_.to_numpy(),
                                   theirs.confidence_interval_.to_numpy(), atol=1e-12)
        for col in ("observed", "censored", "at_risk"):
            np.testing.assert_array_equal(ours.event_table[col], theirs.event_table[col])
        assert ours.median_survival_time_ == theirs.median_survival_time_
        for t in (0, 7, 19.5, 100):
            assert numpy_rmst(ours, t) == pytest.approx(
                lf.utils.restricted_mean_survival_time(theirs, t=t), abs=1e-10)


def make_tx(df, channel=True):
    return siyu.Transactions(df, customer="customer", time="date",
                             amount="amount" if "amount" in df else None,
                             channel="channel" if channel and "channel" in df else None)


def assert_km_matches_lifelines(table, duration, event):
    kmf = KaplanMeierFitter().fit(duration, event)
    t = table.set_index("time")
    sf = kmf.survival_function_.iloc[:, 0]
    ci = kmf.confidence_interval_
    et = kmf.event_table
    for time in sf.index:
        assert time in t.index, time
    t = t.reindex(sf.index)
    np.testing.assert_allclose(t["survival"].to_numpy(), sf.to_numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(t["lower"].to_numpy(), ci.iloc[:, 0].to_numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(t["upper"].to_numpy(), ci.iloc[:, 1].to_numpy(), rtol=0, atol=1e-10)
    et = et.reindex(sf.index)
    np.testing.assert_array_equal(t["at_risk"].to_numpy(), et["at_risk"].to_numpy())
    np.testing.assert_array_equal(t["events"].to_numpy(), et["observed"].to_numpy())
    np.testing.assert_array_equal(t["censored"].to_numpy(), et["censored"].to_numpy())
    return kmf


@pytest.mark.parametrize("seed", range(6))
def test_kaplan_meier_random(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    d = rng.integers(0, 60, n)
    e = (rng.random(n) < rng.random()).astype(int)
    table = kaplan_meier(d, e)
    kmf = assert_km_matches_lifelines(table, d, e)
    med = kmf.median_survival_time_
    ours = float(table["time"][table["survival"] <= 0.5].iloc[0]) if (table["survival"] <= 0.5).any() else np.inf
    assert ours == med


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("churn_after", [30, 90, 180.5])
def test_survival_matches_oracle_and_lifelines(seed, churn_after):
    df = ref.random_log(seed, n_customers=120, n_rows=500, str_ids=seed == 1)
    before = df.copy()
    tx = make_tx(df)
    for end in (None, "2020-10-01"):
        sc = tx.survival(churn_after=churn_after, end=end)
        exp = ref.durations(df, churn_after, end)
        got = sc.durations
        assert list(got.index) == list(exp.index)
        np.testing.assert_array_equal(got["duration"].to_numpy(), exp["duration"].to_numpy())
        np.testing.assert_array_equal(got["event"].to_numpy(), exp["event"].to_numpy())
        kmf = assert_km_matches_lifelines(sc.table, exp["duration"], exp["event"])
        assert sc.median_ == kmf.median_survival_time_
        for t in (0, 10, 45.5, 400):
            assert sc.rmst(t) == pytest.approx(restricted_mean_survival_time(kmf, t=t),
                                               rel=1e-10, abs=1e-10)
    pd.testing.assert_frame_equal(df, before)


def test_survival_by_channel():
    df = ref.random_log(3, n_customers=150, n_rows=700)
    sc = make_tx(df).survival(churn_after=60, by="channel")
    exp = ref.durations(df, 60, None, "channel")
    assert set(sc.groups) == set(exp["group"])
    for g in sc.groups:
        sub = exp[exp["group"] == g]
        assert_km_matches_lifelines(sc.table.loc[g], sub["duration"], sub["event"])
    assert sc.table.index.names[0] == "channel"
    # per group: median, RMST and S(t) of each group's own Kaplan-Meier curve
    med, rmst, s30 = sc.median_, sc.rmst(100), sc.survival_at(30)
    assert set(med.index) == set(rmst.index) == set(sc.groups)
    for g in sc.groups:
        sub = exp[exp["group"] == g]
        kmf = KaplanMeierFitter().fit(sub["duration"], sub["event"])
        assert med[g] == kmf.median_survival_time_
        assert rmst[g] == pytest.approx(restricted_mean_survival_time(kmf, t=100),
                                        rel=1e-10, abs=1e-10)
        sf = kmf.survival_function_.iloc[:, 0]
        assert s30[g] == pytest.approx(float(sf[sf.index <= 30].iloc[-1]), abs=1e-12)
        pd.testing.assert_frame_equal(sc.group_table(g), sc.table.loc[g])
    # the groups differ, so a pooled curve would not pass the checks above
    assert rmst.nunique() > 1


def test_survival_existing_before_leaves_them_out():
    df = ref.random_log(4, n_customers=150, n_rows=700)
    tx = make_tx(df)
    cut = "2020-03-01"
    sc = tx.survival(churn_after=60, existing_before=cut)
    exp = ref.durations(df, 60)
    keep = exp[exp["first"] >= cut]
    assert sc.n_existing == int((exp["first"] < cut).sum()) > 0
    assert list(sc.durations.index) == list(keep.index)
    assert_km_matches_lifelines(sc.table, keep["duration"], keep["event"])


def test_survival_online_retail():
    raw = siyu.datasets.load_online_retail()
    df = raw.rename(columns={"customer_id": "customer"})[["customer", "date", "amount"]]
    sc = make_tx(df).survival(churn_after=90)
    exp = ref.durations(df, 90)
    np.testing.assert_array_equal(sc.durations["duration"].to_numpy(), exp["duration"].to_numpy())
    assert_km_matches_lifelines(sc.table, exp["duration"], exp["event"])
    assert len(sc.durations) == 4338


def test_survival_semantics():
    # end 2021-12-31: customer 1 last bought 2021-03-01 (305 days before end) -> churned;
    # customer 2's 2021-12-20 row is a refund, so they churned at 2021-06-01 (213 days);
    # customer 3 bought 30 days before end -> censored at end.
    df = pd.DataFrame({"customer": [1, 1, 2, 2, 3], "amount": [1.0, 2.0, 3.0, -3.0, 1.0],
                       "date": pd.to_datetime(["2021-01-01", "2021-03-01", "2021-06-01",
                                               "2021-12-20", "2021-12-01"])})
    sc = make_tx(df).survival(churn_after=180, end="2021-12-31")
    assert sc.durations["event"].tolist() == [1, 1, 0]
    assert sc.durations["duration"].tolist() == [59, 0, 30]
    assert sc.survival_at(0) == pytest.approx(2 / 3)
    assert sc.survival_at(30) == pytest.approx(2 / 3)
    assert sc.survival_at(59) == 0.0
    assert sc.median_ == 59.0
    # not churned yet with a longer window
    assert make_tx(df).survival(churn_after=250, end="2021-12-31").durations["event"].tolist() == [1, 0, 0]


def test_survival_bad_input():
    tx = make_tx(ref.random_log(0))
    for bad in (0, -5):
        with pytest.raises(ValueError, match="churn_after"):
            tx.survival(churn_after=bad)
    with pytest.raises(TypeError, match="churn_after"):
        tx.survival(churn_after="180")
    with pytest.raises(ValueError, match="alpha"):
        tx.survival(alpha=1.5)
    with pytest.raises(ValueError, match="rmst"):
        tx.survival().rmst(-1)
    with pytest.raises(ValueError, match="durations"):
        kaplan_meier(np.array([-1, 2]), np.array([1, 1]))


def test_median_when_survival_reaches_exactly_one_half():
    """The median is the first time with S(t) <= 0.5, as lifelines reports it: with two
    customers, one churning at day 10 and one censored later, S(10) = 1/2 exactly, so
    the median is 10 days (not inf), also per group; RMST(20) = 10 * 1 + 10 * 1/2."""
    # a: last purchase 390 days before end -> churned at 10 days; b: 100 days -> censored
    df = pd.DataFrame({"customer": ["a", "a", "b", "b"], "amount": 1.0,
                       "channel": "wechat",
                       "date": pd.to_datetime(["2023-01-01", "2023-01-11", "2023-01-01",
                                               "2023-10-28"])})
    tx = siyu.Transactions(df, customer="customer", time="date", amount="amount",
                           channel="channel")
    sc = tx.survival(churn_after=180, end="2024-02-05")
    assert sc.durations["duration"].tolist() == [10, 400]
    assert sc.durations["event"].tolist() == [1, 0]
    assert sc.survival_at(10) == 0.5
    assert sc.median_ == 10.0
    assert sc.rmst(20) == pytest.approx(15.0, rel=1e-12)
    by = tx.survival(churn_after=180, end="2024-02-05", by="channel")
    assert by.median_.to_dict() == {"wechat": 10.0}
