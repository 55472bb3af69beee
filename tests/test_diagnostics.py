"""Model diagnostics, conditional PMFs, per-customer likelihoods and the sBG / BG/BB extras,
against published values (BTYD, Fader & Hardie, lifetimes' asserted numbers) and the
oracles in reference_trust.py / reference_models.py."""
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import siyu
import reference_models as rm
import reference_trust as rt
from siyu.models.diagnostics import chi2_sf

CAL, OBS = "1997-09-30", "1998-06-30"


@pytest.fixture(scope="module")
def cdnow():
    df = siyu.datasets.load_cdnow()
    tx = siyu.Transactions(df, customer="customer_id", time="date", amount="amount")
    return df, tx


@pytest.fixture(scope="module")
def fitted(cdnow):
    _, tx = cdnow
    s = tx.summary(end=CAL, unit="W")
    ch = tx.calibration_holdout(CAL, OBS, unit="W")
    models = {"bg": siyu.BetaGeo().fit(s), "mbg": siyu.ModifiedBetaGeo().fit(s),
              "pnbd": siyu.ParetoNBD().fit(s)}
    return s, ch, models


def _model(cls, params, unit="W"):
    m = cls()
    m.params_ = pd.Series(params, index=list(cls._param_names), dtype=float)
    m.unit = unit
    return m


# ---- tracking ------------------------------------------------------------------------------

def test_tracking_reproduces_btyd(cdnow, fitted, shared_data):
    _, tx = cdnow
    _, _, models = fitted
    tr = siyu.expected_cumulative_transactions(models["pnbd"], tx, CAL, OBS, freq="W")
    ref = pd.read_csv(shared_data / "cdnow_btyd_cum_tracking.csv")
    assert len(tr) == 78 and list(tr.index) == list(ref["week"])
    np.testing.assert_array_equal(tr["actual"].to_numpy(), ref["cum_repeat_trans"].to_numpy())
    # BTYD walkthrough, cum.tracking[, 20:25] and inc.tracking[, 20:25] as printed
    assert list(tr["expected"].iloc[19:25].round().astype(int)) == [1309, 1385, 1460, 1533,
                                                                   1604, 1674]
    np.testing.assert_allclose(tr["expected_incremental"].iloc[19:25],
                               [78.31, 76.42, 74.65, 72.98, 71.41, 69.93], atol=0.01)
    assert list(tr["actual_incremental"].iloc[19:25]) == [73, 55, 70, 33, 56, 99]
    assert tr["holdout"].sum() == 39 and not tr["partial"].any()
    assert tr.loc[1, "start"] == pd.Timestamp("1997-01-01")
    assert tr.attrs["n_customers"] == 2357 and tr.attrs["unit"] == "W"


def test_tracking_against_per_customer_sum_and_pandas(cdnow, fitted):
    df, tx = cdnow
    s, _, models = fitted
    bg = models["bg"]
    tr = siyu.expected_cumulative_transactions(bg, tx, CAL, OBS, freq="W")
    # expected: every customer's own E[X(t)], no grouping by birth day
    birth = (s["first_purchase"] - pd.Timestamp("1997-01-01")).dt.days.to_numpy() / 7.0
    naive = [float(bg.expected_purchases(np.clip(w - birth, 0, None)).sum()) for w in (10, 39, 78)]
    np.testing.assert_allclose(tr.loc[[10, 39, 78], "expected"], naive, rtol=1e-12)
    # actual: recounted with pandas
    counts = rt.tracking_actual(df, "customer_id", "date", "amount", CAL, "1997-01-01", OBS)
    np.testing.assert_array_equal(tr["actual_incremental"].to_numpy(), counts)
    # daily periods: same totals; incremental = cumulative differences
    daily = siyu.expected_cumulative_transactions(bg, tx, CAL, OBS, freq="D")
    assert len(daily) == 546 and daily["actual"].iloc[-1] == 4339
    assert daily["expected"].iloc[-1] == pytest.approx(tr["expected"].iloc[-1], rel=1e-12)
    np.testing.assert_allclose(np.cumsum(daily["expected_incremental"]), daily["expected"])


def test_tracking_calendar_months_partial_and_edges():
    log = pd.DataFrame({
        "c": ["a", "a", "a", "a", "b", "b", "b", "c", "c"],
        "t": ["2024-01-10", "2024-01-10", "2024-02-05", "2024-03-20",   # same-day twice
              "2024-01-31", "2024-02-01", "2024-02-01",
              "2024-03-01", "2024-03-05"],                              # c: first after cal
        "amt": [10.0, 5.0, 20.0, -20.0, 3.0, 4.0, 1.0, 2.0, 2.0]})     # a's 03-20 is a refund
    tx = siyu.Transactions(log, customer="c", time="t", amount="amt")
    m = _model(siyu.BetaGeo, [0.5, 10.0, 0.8, 2.0], unit="D")
    tr = siyu.expected_cumulative_transactions(m, tx, "2024-02-15", "2024-03-25", freq="M")
    assert list(tr["start"]) == [pd.Timestamp("2024-01-10"), pd.Timestamp("2024-02-01"),
                                 pd.Timestamp("2024-03-01")]
    assert list(tr["partial"]) == [True, False, True]
    # a: 02-05 (repeat); b: 02-01 (one occasion for two rows); c is not counted; the refund
    # is not an occasion
    assert list(tr["actual_incremental"]) == [0, 2, 0]
    assert tr.attrs["n_customers"] == 2 and tr.attrs["n_excluded"] == 1
    assert list(tr["holdout"]) == [False, False, True]
    # expectation: a born 01-10, b born 01-31, E at the period ends (exclusive end days)
    ends = pd.to_datetime(["2024-02-01", "2024-03-01", "2024-03-26"])
    e = [float(m.expected_purchases((d - pd.Timestamp("2024-01-10")).days)
               + m.expected_purchases((d - pd.Timestamp("2024-01-31")).days)) for d in ends]
    np.testing.assert_allclose(tr["expected"], e, rtol=1e-12)


def test_tracking_errors(cdnow, fitted):
    _, tx = cdnow
    _, _, models = fitted
    with pytest.raises(ValueError, match="freq"):
        siyu.expected_cumulative_transactions(models["bg"], tx, CAL, OBS, freq="H")
    nounit = _model(siyu.BetaGeo, models["bg"].params_.to_numpy(), unit=None)
    with pytest.raises(ValueError, match="unit"):
        siyu.expected_cumulative_transactions(nounit, tx, CAL, OBS)
    with pytest.raises(TypeError, match="BetaGeo"):
        siyu.expected_cumulative_transactions(siyu.GammaGamma(), tx, CAL, OBS)
    with pytest.raises(ValueError, match="before the first purchase"):
        siyu.expected_cumulative_transactions(models["bg"], tx, "1990-01-01", OBS)


# ---- calibration fit and holdout -------------------------------------------------------

def test_period_transactions(fitted):
    s, _, models = fitted
    for key in ("bg", "pnbd"):
        pt = siyu.period_transactions(models[key], s, max_frequency=7)
        assert list(pt.index) == ["0", "1", "2", "3", "4", "5", "6", "7+"]
        assert pt["actual"].iloc[0] == 1411 and pt["actual"].sum() == 2357
        assert pt["expected"].sum() == pytest.approx(2357, rel=1e-12)
    # BG/NBD expected count of customers with k repeat purchases: sum over T of the PMF
    bg = models["bg"]
    T = s["T"].to_numpy()
    exp1 = sum(float(bg.purchase_pmf(1, Ti)) for Ti in T)
    pt = siyu.period_transactions(bg, s)
    assert pt.loc["1", "expected"] == pytest.approx(exp1, rel=1e-10)


def test_period_transactions_bgbb_matches_hardie(shared_data):
    d = pd.read_csv(shared_data / "donations.csv").rename(columns={"periods": "n_periods"})
    m = siyu.BetaGeoBetaBinom().fit(d)
    pt = siyu.period_transactions(m, d, max_frequency=6)
    # Hardie's BG/BB spreadsheet, In-Sample Fit cells C18 and C24 (asserted by lifetimes)
    assert pt.loc["0", "expected"] == pytest.approx(3454.9, abs=0.05)
    assert pt.loc["6+", "expected"] == pytest.approx(1253.1, abs=0.05)
    assert pt["actual"].sum() == 11104


def test_calibration_vs_holdout_against_btyd_cbs(fitted, shared_data):
    s, ch, models = fitted
    cbs = pd.read_csv(shared_data / "cdnow_btyd_cbs.csv")
    bg = models["bg"]
    t = siyu.calibration_vs_holdout(bg, ch, by="frequency", max_frequency=7)
    grp = np.minimum(cbs["x"], 7)
    np.testing.assert_array_equal(t["n_customers"].to_numpy(), grp.value_counts().sort_index())
    np.testing.assert_allclose(t["actual"].to_numpy(),
                               cbs.groupby(grp)["x.star"].mean().to_numpy(), rtol=1e-12)
    p = bg._p()
    ce = np.array([rm.bgnbd_cond_expected(p, 39.0, x, r, T) for x, r, T in
                   zip(ch["frequency_cal"], ch["recency_cal"], ch["T_cal"])])
    exp_mean = pd.Series(ce).groupby(np.minimum(ch["frequency_cal"].to_numpy(), 7)).mean()
    np.testing.assert_allclose(t["expected"].to_numpy(), exp_mean.to_numpy(), rtol=1e-9)
    assert t.attrs["actual_total"] == 1882
    # by recency, whole-week bins and explicit edges
    r = siyu.calibration_vs_holdout(bg, ch, by="recency")
    assert r["n_customers"].sum() == 2357 and r.index[0] == "[0, 1)"
    assert r.loc["[0, 1)", "n_customers"] == (ch["recency_cal"] < 1).sum()
    r2 = siyu.calibration_vs_holdout(bg, ch, by="recency", bins=[0, 10, 20, 40])
    assert list(r2["n_customers"]) == [int(((ch.recency_cal >= a) & (ch.recency_cal < b)).sum())
                                       for a, b in [(0, 10), (10, 20), (20, 40)]]
    with pytest.raises(ValueError, match="by must be"):
        siyu.calibration_vs_holdout(bg, ch, by="T")
    with pytest.raises(ValueError, match="outside the bin edges"):
        siyu.calibration_vs_holdout(bg, ch, by="recency", bins=[0, 10])


def test_holdout_errors(fitted):
    _, ch, models = fitted
    m = models["pnbd"]
    e = siyu.holdout_errors(m, ch)
    pred = m.conditional_expected_purchases(ch["duration_holdout"], ch).to_numpy()
    act = ch["frequency_holdout"].to_numpy()
    assert e["mae"] == pytest.approx(np.abs(pred - act).mean())
    assert e["rmse"] == pytest.approx(np.sqrt(((pred - act) ** 2).mean()))
    assert e["bias"] == pytest.approx((pred - act).mean())
    assert e["actual_total"] == 1882 and e["predicted_total"] == pytest.approx(pred.sum())
    assert 0.85 < e["ratio"] < 0.95          # both models under-predict this holdout


def test_matrices(fitted):
    s, _, models = fitted
    bg = models["bg"]
    Z = siyu.frequency_recency_matrix(bg, s, t=10, max_frequency=5)
    assert Z.shape == (39, 6) and Z.index.name == "recency" and Z.attrs["T"] == s["T"].max()
    assert Z.loc[12.0, 3] == pytest.approx(float(bg.conditional_expected_purchases(
        10, 3, 12.0, s["T"].max())))
    assert np.isnan(Z.loc[5.0, 0]) and not np.isnan(Z.loc[0.0, 0])
    P = siyu.probability_alive_matrix(bg, T=30, max_frequency=4, max_recency=20)
    assert P.shape == (21, 5)
    assert P.loc[20.0, 4] == pytest.approx(rm.bg_palive(bg._p(), 4, 20.0, 30.0))
    assert P.loc[0.0, 0] == 1.0
    with pytest.raises(TypeError, match="pass T"):
        siyu.probability_alive_matrix(bg)
    with pytest.raises(ValueError, match="max_recency"):
        siyu.probability_alive_matrix(bg, T=30, max_frequency=2, max_recency=31)


def test_probability_alive_history_against_daily_recount(cdnow, fitted):
    df, tx = cdnow
    s, _, models = fitted
    cust = int(s.index[s["frequency"] == 5][0])
    for key, palive in [("bg", lambda x, r, T: rm.bg_palive(bg_p, x, r, T)),
                        ("mbg", lambda x, r, T: rm.bg_palive(mbg_p, x, r, T, modified=True)),
                        ("pnbd", lambda x, r, T: rm.pnbd_palive(pn_p, x, r, T))]:
        bg_p, mbg_p, pn_p = models["bg"]._p(), models["mbg"]._p(), models["pnbd"]._p()
        h = siyu.probability_alive_history(models[key], tx, cust, end=CAL)
        if key == "pnbd":      # the quadrature oracle is slow: check every 13th day
            ref = rt.alive_history(palive, df, "customer_id", "date", "amount", cust, CAL, 7.0)
            idx = np.arange(0, len(h), 13)
            np.testing.assert_allclose(h["p_alive"].to_numpy()[idx], ref[idx], rtol=1e-8)
        else:
            ref = rt.alive_history(palive, df, "customer_id", "date", "amount", cust, CAL, 7.0)
            np.testing.assert_allclose(h["p_alive"].to_numpy(), ref, rtol=1e-10)
        # the last day is the calibration summary's P(alive)
        assert h["p_alive"].iloc[-1] == pytest.approx(float(models[key].probability_alive(
            s.loc[cust, "frequency"], s.loc[cust, "recency"], s.loc[cust, "T"])), rel=1e-12)
        assert h["purchase"].sum() == 6 and h["frequency"].iloc[-1] == 5
    with pytest.raises(ValueError, match="not in the log"):
        siyu.probability_alive_history(models["bg"], tx, "nobody")


# ---- model comparison and fits by segment ------------------------------------------------

def test_compare_models_ranks_like_published_lls(fitted):
    _, ch, _ = fitted
    t = siyu.compare_models([siyu.BetaGeo(), siyu.ParetoNBD(), siyu.ModifiedBetaGeo()], ch)
    # published: MBG/NBD -9582.13 > BG/NBD -9582.43 > Pareto/NBD -9594.97
    assert list(t.sort_values("log_likelihood", ascending=False).index) == [
        "ModifiedBetaGeo", "BetaGeo", "ParetoNBD"]
    np.testing.assert_allclose(t["log_likelihood"], [-9582.43, -9594.97, -9582.13], atol=0.01)
    assert t.loc["BetaGeo", "AIC"] == pytest.approx(8 + 2 * 9582.4256, abs=0.01)
    assert t.loc["BetaGeo", "BIC"] == pytest.approx(4 * np.log(2357) + 2 * 9582.4256, abs=0.01)
    assert np.isnan(t.loc["BetaGeo", "s"]) and t.loc["ParetoNBD", "s"] == pytest.approx(0.606, abs=1e-3)
    assert (t["actual_total"] == 1882).all()
    assert t["lr_statistic"].isna().all()          # none of the three nests another
    with pytest.raises(ValueError, match="more parameters"):
        siyu.compare_models({"a": siyu.BetaGeo(), "b": siyu.ModifiedBetaGeo()}, ch,
                            nested=[("a", "b")])
    with pytest.raises(TypeError, match="compare_models takes"):
        siyu.compare_models([siyu.GammaGamma()], ch)


def test_chi2_sf_closed_form():
    stats = pytest.importorskip("scipy.stats")
    for df in (1, 2, 3, 4, 7, 12):
        for x in (0.01, 0.5, 3.84, 11.0, 60.0):
            assert chi2_sf(x, df) == pytest.approx(stats.chi2.sf(x, df), rel=1e-12, abs=1e-300)
    assert chi2_sf(0.0, 3) == 1.0


def test_fit_by_matches_separate_fits_and_lr_by_hand():
    from siyu.datasets.simulate import simulate
    a = simulate({"r": 0.25, "alpha": 4.4, "a": 0.8, "b": 2.4}, 3000, T=52, seed=3, unit="W",
                 acquisition=26, output="summary")
    b = simulate({"r": 0.6, "alpha": 4.0, "a": 0.8, "b": 2.4}, 2000, T=52, seed=4, unit="W",
                 acquisition=26, output="summary")
    s = pd.concat([a.assign(channel="wechat"), b.assign(channel="douyin")], ignore_index=True)
    s.attrs["unit"] = "W"
    small = pd.DataFrame({"frequency": [1, 0], "recency": [3.0, 0.0], "T": [40.0, 30.0],
                          "channel": ["tiny", "tiny"]})
    s2 = pd.concat([s, small], ignore_index=True)
    s2.attrs["unit"] = "W"
    t = siyu.fit_by(siyu.BetaGeo(), s2, by="channel", min_customers=20)
    assert list(t.index) == ["douyin", "wechat"] and t.attrs["skipped"] == ["tiny"]
    sep = {k: siyu.BetaGeo().fit(s[s["channel"] == k]) for k in ("douyin", "wechat")}
    for k, m in sep.items():
        np.testing.assert_allclose(t.loc[k, ["r", "alpha", "a", "b"]].to_numpy(dtype=float),
                                   m.params_.to_numpy(), rtol=1e-10)
        assert t.loc[k, "r_se"] == pytest.approx(m.standard_errors_["r"], rel=1e-8)
    pooled = siyu.BetaGeo().fit(s)
    stat = 2 * (sep["douyin"].log_likelihood_ + sep["wechat"].log_likelihood_
                - pooled.log_likelihood_)
    assert t.attrs["lr_statistic"] == pytest.approx(stat, rel=1e-10)
    assert t.attrs["lr_df"] == 4 and t.attrs["lr_p_value"] < 1e-6    # r differs by design
    assert t.loc["wechat", "r"] == pytest.approx(0.25, abs=0.05)
    with pytest.raises(ValueError, match="no column"):
        siyu.fit_by(siyu.BetaGeo(), s, by="region")


# ---- conditional PMFs ------------------------------------------------------------------------

@pytest.mark.parametrize("cls,params", [
    (siyu.BetaGeo, [0.243, 4.414, 0.793, 2.426]),
    (siyu.ModifiedBetaGeo, [0.525, 6.183, 0.891, 1.614]),
    (siyu.ParetoNBD, [0.553, 10.578, 0.606, 11.669]),
    (siyu.BetaGeo, [2.5, 1.0, 3.5, 0.7]),            # a > 2 path, fast buyers
    (siyu.ParetoNBD, [1.5, 30.0, 2.0, 5.0]),         # alpha > beta
])
def test_conditional_pmf_sums_to_one_and_mean(cls, params):
    m = _model(cls, params)
    rng = np.random.default_rng(7)
    for t in (1.0, 13.0, 52.0, 200.0):
        T = float(rng.uniform(5, 60))
        x = int(rng.integers(0, 16))
        tx = 0.0 if x == 0 else float(rng.uniform(0.1, T))
        n = np.arange(0, 1200)
        pmf = m.conditional_purchase_pmf(n, t, x, tx, T)
        assert np.all(pmf >= 0)
        tail = pmf[-1]
        assert tail < 1e-15
        assert pmf.sum() == pytest.approx(1.0, abs=1e-10)
        assert (n * pmf).sum() == pytest.approx(
            float(m.conditional_expected_purchases(t, x, tx, T)), abs=1e-8, rel=1e-10)
        assert float(m.probability_no_purchase(t, x, tx, T)) == pytest.approx(pmf[0], rel=1e-14)


def test_conditional_pmf_against_integration_oracle():
    bg = _model(siyu.BetaGeo, [0.24, 4.4, 0.79, 2.4])
    mbg = _model(siyu.ModifiedBetaGeo, [0.52, 6.2, 0.89, 1.6])
    pn = _model(siyu.ParetoNBD, [0.55, 10.6, 0.61, 11.7])
    for x, tx, T, t in [(0, 0.0, 30.0, 39.0), (2, 20.5, 38.0, 39.0), (12, 37.0, 38.5, 100.0)]:
        for n in (0, 1, 3, 10):
            assert float(bg.conditional_purchase_pmf(n, t, x, tx, T)) == pytest.approx(
                rt.bgnbd_cond_pmf(bg._p(), n, t, x, tx, T), rel=1e-9, abs=1e-15)
            assert float(mbg.conditional_purchase_pmf(n, t, x, tx, T)) == pytest.approx(
                rt.bgnbd_cond_pmf(mbg._p(), n, t, x, tx, T, modified=True), rel=1e-9, abs=1e-15)
            assert float(pn.conditional_purchase_pmf(n, t, x, tx, T)) == pytest.approx(
                rt.pnbd_cond_pmf(pn._p(), n, t, x, tx, T), rel=1e-9, abs=1e-15)


def test_conditional_pmf_edges_and_errors(fitted):
    s, _, models = fitted
    bg = models["bg"]
    p0 = bg.conditional_purchase_pmf(0, 0.0, 2, 10.0, 30.0)
    assert p0 == 1.0 and bg.conditional_purchase_pmf(3, 0.0, 2, 10.0, 30.0) == 0.0
    ser = bg.conditional_purchase_pmf(1, 39.0, s)
    assert isinstance(ser, pd.Series) and ser.index.equals(s.index)
    with pytest.raises(ValueError, match="whole numbers"):
        bg.conditional_purchase_pmf(1.5, 10, 2, 10.0, 30.0)
    with pytest.raises(ValueError, match="t must be"):
        bg.probability_no_purchase(-1, 2, 10.0, 30.0)
    with pytest.raises(ValueError, match="supported range"):
        bg.conditional_purchase_pmf(2e9, 10, 2, 10.0, 30.0)


# ---- per-customer likelihoods ------------------------------------------------------------------

def test_loglik_rows_sum_to_fit(fitted, shared_data):
    s, _, models = fitted
    for key, ref in (("bg", rm.bgnbd_ll), ("mbg", rm.mbgnbd_ll)):
        ll = models[key].loglik(s)
        assert ll.index.equals(s.index)
        assert ll.sum() == pytest.approx(models[key].log_likelihood_, rel=1e-12)
        np.testing.assert_allclose(ll.to_numpy(), ref(models[key]._p(), s["frequency"],
                                                      s["recency"], s["T"]), rtol=1e-10)
    assert models["pnbd"].loglik(s).sum() == pytest.approx(models["pnbd"].log_likelihood_,
                                                           rel=1e-12)
    d = pd.read_csv(shared_data / "donations.csv")
    bb = siyu.BetaGeoBetaBinom().fit(d["frequency"], d["recency"], d["periods"], weights=d["weights"])
    l = bb.loglik(d["frequency"], d["recency"], d["periods"])
    assert (l * d["weights"]).sum() == pytest.approx(bb.log_likelihood_, rel=1e-12)
    np.testing.assert_allclose(l, rm.bgbb_ll(bb._p(), d["frequency"], d["recency"], d["periods"]),
                               rtol=1e-10)
    gdat = pd.read_csv(shared_data / "cdnow_customers_summary_with_transactions.csv")
    gg = siyu.GammaGamma().fit(gdat["x"], gdat["zbar"])
    g = gg.loglik(gdat["x"], gdat["zbar"])
    assert np.isnan(g[gdat["x"] == 0]).all()
    assert np.nansum(g) == pytest.approx(gg.log_likelihood_, rel=1e-12)
    sp = pd.read_csv(shared_data / "sbg_paper.csv")
    hi = sp[sp["cohorts"] == "highend"]
    sb = siyu.ShiftedBetaGeometric().fit(hi["recency"], hi["T"])
    assert sb.loglik(hi).sum() == pytest.approx(sb.log_likelihood_, rel=1e-12)


# ---- sBG -------------------------------------------------------------------------------

def test_fit_survival_reproduces_fader_hardie(shared_data):
    tab = pd.read_csv(shared_data / "sbg_fader_hardie_2007_table1.csv")
    hi = siyu.ShiftedBetaGeometric().fit_survival(tab["highend_pct"][:8] / 100, size=1000)
    re = siyu.ShiftedBetaGeometric().fit_survival(tab["regular_pct"][:8] / 100, size=1000)
    np.testing.assert_allclose(hi.params_, [0.668, 3.806], atol=5e-4)
    np.testing.assert_allclose(re.params_, [0.704, 1.182], atol=5e-4)
    assert hi.log_likelihood_ == pytest.approx(-1611.16, abs=0.01)
    assert re.log_likelihood_ == pytest.approx(-1680.27, abs=0.01)
    # counts instead of shares give the same fit; equal to fitting the per-customer file
    cnt = siyu.ShiftedBetaGeometric().fit_survival((tab["highend_pct"][:8] * 10).round())
    np.testing.assert_allclose(cnt.params_, hi.params_, rtol=1e-6)
    sp = pd.read_csv(shared_data / "sbg_paper.csv")
    per = siyu.ShiftedBetaGeometric().fit(sp.loc[sp.cohorts == "highend", "recency"],
                                          sp.loc[sp.cohorts == "highend", "T"])
    np.testing.assert_allclose(per.params_, hi.params_, rtol=1e-6)
    # several cohorts jointly (one alpha, beta) = the pooled per-customer fit
    long = pd.concat([pd.DataFrame({"cohort": c, "period": range(8),
                                    "alive": (tab[f"{c}_pct"][:8] * 10).round()})
                      for c in ("regular", "highend")])
    joint = siyu.ShiftedBetaGeometric().fit_survival(long, cohort="cohort")
    pooled = siyu.ShiftedBetaGeometric().fit(sp["recency"], sp["T"])
    np.testing.assert_allclose(joint.params_, pooled.params_, rtol=1e-6)
    assert joint.n_cohorts_ == 2
    # cohorts observed for different lengths
    short = long[~((long.cohort == "regular") & (long.period > 4))]
    s2 = siyu.ShiftedBetaGeometric().fit_survival(short, cohort="cohort")
    assert s2.n_obs_ == 2000


def test_fit_survival_errors():
    m = siyu.ShiftedBetaGeometric()
    with pytest.raises(ValueError, match="rises at period 2"):
        m.fit_survival([100, 60, 70, 50])
    with pytest.raises(ValueError, match="periods 0, 1, 2"):
        m.fit_survival(pd.DataFrame({"cohort": ["a"] * 3, "period": [0, 2, 3],
                                     "alive": [10, 8, 5]}), cohort="cohort")
    with pytest.raises(TypeError, match="cohort="):
        m.fit_survival(pd.DataFrame({"alive": [10, 8]}))
    with pytest.raises(ValueError, match="at least periods 0 and 1"):
        m.fit_survival([100])


def test_sbg_from_cohorts(shared_data):
    tab = pd.read_csv(shared_data / "sbg_fader_hardie_2007_table1.csv")
    active = pd.DataFrame([(tab["regular_pct"][:8] * 10).round().to_numpy(),
                           np.r_[(tab["highend_pct"][:6] * 10).round().to_numpy(), np.nan, np.nan],
                           [50.0, 40.0, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan]],
                          columns=range(8))
    sizes = pd.Series([1000, 1000, 50], index=pd.PeriodIndex(["2024-01", "2024-02", "2024-03"],
                                                             freq="M", name="cohort"))
    ct = SimpleNamespace(sizes=sizes, active=active, period="M")
    out = siyu.sbg_from_cohorts(ct)
    assert list(out.index) == list(sizes.index[:2]) and out.attrs["n_skipped"] == 1
    assert out.iloc[0][["alpha", "beta"]].to_numpy() == pytest.approx([0.704, 1.182], abs=5e-4)
    assert out.iloc[1]["n_periods"] == 5
    ref = siyu.ShiftedBetaGeometric().fit_survival((tab["highend_pct"][:6] * 10).round())
    assert out.iloc[1]["alpha"] == pytest.approx(ref.params_["alpha"], rel=1e-10)
    assert out.iloc[0]["churn_probability"] == pytest.approx(0.704 / (0.704 + 1.182), abs=1e-3)
    active.iloc[0, 3] = 900.0
    with pytest.raises(ValueError, match="cohort 2024-01.*rises"):
        siyu.sbg_from_cohorts(ct)


# ---- BG/BB extras ----------------------------------------------------------------------------

def test_bgbb_pmf_and_closed_forms(shared_data):
    d = pd.read_csv(shared_data / "donations.csv")
    m = siyu.BetaGeoBetaBinom().fit(d["frequency"], d["recency"], d["periods"], weights=d["weights"])
    p = m._p()
    pmf = m.purchase_pmf(np.arange(7), 6)
    np.testing.assert_allclose(pmf, [rt.bgbb_pmf(p, x, 6) for x in range(7)], rtol=1e-12)
    assert pmf.sum() == pytest.approx(1.0, abs=1e-13)
    assert (np.arange(7) * pmf).sum() == pytest.approx(float(m.expected_purchases(6)), rel=1e-12)
    for n in (1, 6, 50, 400):
        assert float(m.expected_purchases(n)) == pytest.approx(rt.bgbb_expected_new(p, n),
                                                               rel=1e-11)
    # lifetimes / Hardie's spreadsheet: 12,884.2 expected donations in the next 5 years
    ce = m.conditional_expected_purchases(5, d["frequency"], d["recency"], d["periods"])
    assert (ce * d["weights"]).sum() == pytest.approx(12884.2, abs=0.05)
    np.testing.assert_allclose(ce, [rm.bgbb_cond_expected(p, 5, *r) for r in
                                    zip(d["frequency"], d["recency"], d["periods"])], rtol=1e-10)
    # gamma = 1 (no closed form): summed path, same value as the oracle
    m1 = _model(siyu.BetaGeoBetaBinom, [1.2, 0.75, 1.0, 2.8], unit=None)
    assert float(m1.expected_purchases(30)) == pytest.approx(
        rt.bgbb_expected_new(m1._p(), 30), rel=1e-12)
    with pytest.raises(ValueError, match="opportunities"):
        m.expected_purchases(2e7)
    with pytest.raises(ValueError, match="whole numbers"):
        m.purchase_pmf(1, 2.5)


def test_bgbb_simulator_recovers_parameters_and_holdout():
    true = {"alpha": 1.2, "beta": 0.75, "gamma": 0.66, "delta": 2.8}
    s = siyu.simulate_bgbb(true, 40000, 6, n_holdout=5, seed=11, output="collapsed")
    assert s["weights"].sum() == 40000
    assert set(s.columns) == {"frequency", "recency", "n_periods", "frequency_holdout", "weights"}
    assert siyu.simulate_bgbb(true, 100, 6, seed=3).equals(siyu.simulate_bgbb(true, 100, 6, seed=3))
    cal = s.groupby(["frequency", "recency", "n_periods"], as_index=False)["weights"].sum()
    m = siyu.BetaGeoBetaBinom().fit(cal)
    se = m.standard_errors_.to_numpy()
    assert np.all(np.abs(m.params_.to_numpy() - list(true.values())) < 4 * se)
    # holdout transactions per pattern vs the conditional expectation at the true parameters
    mt = _model(siyu.BetaGeoBetaBinom, list(true.values()), unit=None)
    ce = mt.conditional_expected_purchases(5, s["frequency"], s["recency"], s["n_periods"])
    tot_sim = (s["frequency_holdout"] * s["weights"]).sum()
    tot_exp = (ce * s["weights"]).sum()
    assert abs(tot_sim - tot_exp) < 4 * np.sqrt(tot_exp * 3)   # generous over-dispersion
    with pytest.raises(ValueError, match="alpha, beta, gamma and delta"):
        siyu.simulate_bgbb({"alpha": 1.0}, 10, 6)


def test_clv_with_bgbb(shared_data):
    d = pd.read_csv(shared_data / "donations.csv").rename(columns={"periods": "n_periods"})
    m = siyu.BetaGeoBetaBinom().fit(d)
    summ = d.assign(monetary_value=np.where(d["frequency"] > 0, 50.0 + d["recency"], 0.0))
    gg = siyu.GammaGamma().fit(pd.DataFrame({"frequency": np.repeat(summ.frequency, 3),
                                             "monetary_value": np.repeat(summ.monetary_value, 3)
                                             * np.tile([0.4, 1.0, 1.9], len(summ))}))
    out = siyu.clv(m, gg, summ, horizon=5, discount_rate=0.1)
    value = gg.conditional_expected_average_value(summ["frequency"], summ["monetary_value"])
    cum = [m.conditional_expected_purchases(k, summ["frequency"], summ["recency"],
                                            summ["n_periods"]).to_numpy() for k in range(6)]
    hand = sum((cum[k] - cum[k - 1]) / 1.1 ** k for k in range(1, 6)) * value.to_numpy()
    np.testing.assert_allclose(out["clv"], hand, rtol=1e-12)
    with pytest.raises(ValueError, match="leave unit=None"):
        siyu.clv(m, gg, summ, horizon=5, discount_rate=0.1, unit="Y")


# ---- print_summary and plots ----------------------------------------------------------------

def test_print_summary(fitted, capsys):
    _, _, models = fitted
    models["bg"].print_summary()
    out = capsys.readouterr().out
    for word in ("<siyu.BetaGeo> BG/NBD", "number of customers = 2,357", "log-likelihood",
                 "AIC", "BIC", "coef lower 95%", "time unit = 'W'", "converged = yes"):
        assert word in out
    models["pnbd"].print_summary(lang="zh", decimals=2)
    out = capsys.readouterr().out
    assert "对数似然" in out and "95% 下限" in out


def test_model_plots(cdnow, fitted):
    pytest.importorskip("matplotlib")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from siyu import plotting
    _, tx = cdnow
    s, ch, models = fitted
    bg = models["bg"]
    frames = [
        (plotting.plot_tracking, siyu.expected_cumulative_transactions(bg, tx, CAL, OBS)),
        (plotting.plot_period_transactions, siyu.period_transactions(bg, s)),
        (plotting.plot_calibration_vs_holdout, siyu.calibration_vs_holdout(bg, ch)),
        (plotting.plot_frequency_recency_matrix, siyu.frequency_recency_matrix(bg, s)),
        (plotting.plot_probability_alive_matrix, siyu.probability_alive_matrix(bg, s)),
        (plotting.plot_probability_alive_history,
         siyu.probability_alive_history(bg, tx, s.index[0])),
        (plotting.plot_prediction_interval, bg.expected_purchases(np.arange(1, 40.0),
                                                                  interval=0.9, seed=1)),
    ]
    for fn, frame in frames:
        for lang in ("en", "zh"):
            ax = fn(frame, lang=lang)
            assert isinstance(ax, matplotlib.axes.Axes)
            texts = [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
            if lang == "zh" and fn is not plotting.plot_prediction_interval:
                assert any(any("\u4e00" <= ch_ <= "\u9fff" for ch_ in t) for t in texts), fn
            plt.close(ax.figure)
    ax = plotting.plot_tracking(frames[0][1], cumulative=False)
    assert ax.get_ylabel() == "repeat transactions per period"
    plt.close("all")
    with pytest.raises(TypeError, match="DataFrame"):
        plotting.plot_tracking(s["frequency"])
    with pytest.raises(ValueError, match="lang"):
        plotting.plot_tracking(frames[0][1], lang="fr")


def test_sbg_from_a_real_cohort_table_of_subscriptions():
    """Monthly subscribers who renew on their signup day until they churn (sBG with
    alpha=0.7, beta=1.2): each monthly cohort's active counts are its survival counts."""
    rng = np.random.default_rng(5)
    cohort = np.repeat(np.arange(3), 3000)              # cohorts Jan, Feb, Mar 2023
    life = np.minimum(rng.geometric(rng.beta(0.7, 1.2, cohort.size)), 24)  # paid months
    cust = np.repeat(np.arange(cohort.size), life)
    k = np.arange(cust.size) - np.repeat(np.cumsum(life) - life, life)     # month of life
    month = np.datetime64("2023-01", "M") + (cohort[cust] + k).astype("timedelta64[M]")
    log = pd.DataFrame({"customer": cust, "date": month.astype("datetime64[D]") + 4,
                        "amount": 9.9})
    tx = siyu.Transactions(log, customer="customer", time="date", amount="amount")
    ct = tx.cohorts(period="M", end="2024-06-30")
    out = siyu.sbg_from_cohorts(ct)
    assert len(out) == 3 and (out["n_customers"] == 3000).all()
    assert list(out["n_periods"]) == [17, 16, 15]
    for _, r in out.iterrows():
        assert abs(r["alpha"] - 0.7) < 4 * r["alpha_se"] and abs(r["beta"] - 1.2) < 4 * r["beta_se"]
