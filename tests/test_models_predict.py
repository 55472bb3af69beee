"""Predictions against closed forms (scipy.special.hyp2f1, numerical integration)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from siyu.models import (BetaGeo, BetaGeoBetaBinom, GammaGamma, ModifiedBetaGeo, ParetoNBD,
                         ShiftedBetaGeometric, clv)
import reference_models as ref


def _make(cls, params):
    m = cls()
    m.params_ = pd.Series(params, index=list(cls._param_names), dtype=float)
    m.unit = "W"
    return m


BG_P = [[0.2426, 4.4136, 0.7929, 2.4258], [1.5, 20.0, 2.5, 0.7], [0.5, 3.0, 1.0 + 1e-9, 3.0],
        [0.8, 0.5, 0.3, 12.0]]
HIST = [(0, 0, 38.0), (1, 10.0, 38.0), (2, 30.4, 38.86), (5, 20.0, 30.0), (20, 29.0, 30.0),
        (3, 5.0, 5.0)]


@pytest.mark.parametrize("params", BG_P)
@pytest.mark.parametrize("t", [1.0, 39.0, 300.0])
def test_bgnbd_predictions(params, t):
    m = _make(BetaGeo, params)
    mm = _make(ModifiedBetaGeo, params)
    # the closed form divides by (a - 1): the oracle itself loses digits when a ~ 1
    # (near a = 1 compare with the mean of the oracle at a +- 1e-4 instead)
    near1 = abs(params[2] - 1) < 1e-6
    rel = 1e-6 if near1 else 1e-8

    def oracle(f, *args):
        if not near1:
            return f(params, *args)
        lo, hi = list(params), list(params)
        lo[2], hi[2] = 1 - 1e-4, 1 + 1e-4
        return 0.5 * (f(lo, *args) + f(hi, *args))
    for x, tx, T in HIST:
        assert m.conditional_expected_purchases(t, x, tx, T) == pytest.approx(
            oracle(ref.bgnbd_cond_expected, t, x, tx, T), rel=rel)
        assert mm.conditional_expected_purchases(t, x, tx, T) == pytest.approx(
            oracle(ref.mbgnbd_cond_expected, t, x, tx, T), rel=rel)
        assert m.probability_alive(x, tx, T) == pytest.approx(ref.bg_palive(params, x, tx, T),
                                                              rel=1e-12)
        assert mm.probability_alive(x, tx, T) == pytest.approx(
            ref.bg_palive(params, x, tx, T, modified=True), rel=1e-12)
    assert m.expected_purchases(t) == pytest.approx(ref.bg_expected_quad(params, t), rel=1e-7)
    assert mm.expected_purchases(t) == pytest.approx(
        ref.bg_expected_quad(params, t, modified=True), rel=1e-7)


@pytest.mark.parametrize("cls", [BetaGeo, ModifiedBetaGeo, ParetoNBD])
def test_pmf_sums_to_one_and_mean(cls):
    m = _make(cls, [0.5533, 10.578, 1.6062, 11.668] if cls is ParetoNBD else BG_P[0])
    n = np.arange(0, 400)
    pmf = m.purchase_pmf(n, 39.0)
    assert np.all(pmf >= 0)
    assert pmf.sum() == pytest.approx(1.0, abs=1e-9)
    assert (n * pmf).sum() == pytest.approx(m.expected_purchases(39.0), rel=1e-6)


PNBD_P = [[0.5533, 10.578, 0.6062, 11.668], [0.5533, 11.668, 0.6062, 10.578],
          [1.2, 5.0, 1.0 + 1e-10, 20.0], [0.3, 2.0, 3.0, 40.0]]


@pytest.mark.parametrize("params", PNBD_P)
def test_paretonbd_predictions(params):
    m = _make(ParetoNBD, params)
    r, al, s, be = params
    for t in (1.0, 39.0):
        if abs(s - 1) > 1e-6:
            assert m.expected_purchases(t) == pytest.approx(
                r * be / (al * (s - 1)) * (1 - (be / (be + t)) ** (s - 1)), rel=1e-9)
        for x, tx, T in HIST:
            pa = ref.pnbd_palive(params, x, tx, T)
            assert m.probability_alive(x, tx, T) == pytest.approx(pa, rel=1e-7)
            if abs(s - 1) > 1e-6:
                assert m.conditional_expected_purchases(t, x, tx, T) == pytest.approx(
                    ref.pnbd_cond_expected(params, t, x, tx, T), rel=1e-7)
    for x, tx, T in HIST[:3]:
        assert m.dert(0.01, x, tx, T) == pytest.approx(ref.pnbd_dert(params, 0.01, x, tx, T),
                                                       rel=1e-7)


def test_bgbb_predictions():
    p = [1.2035, 0.7497, 0.6567, 2.7835]
    m = _make(BetaGeoBetaBinom, p)
    for x, tx, n in [(0, 0, 6), (1, 1, 6), (3, 5, 6), (6, 6, 6), (2, 2, 6)]:
        assert m.conditional_expected_purchases(5, x, tx, n) == pytest.approx(
            ref.bgbb_cond_expected(p, 5, x, tx, n), rel=1e-8)
        assert m.probability_alive(x, tx, n) == pytest.approx(ref.bgbb_palive(p, x, tx, n),
                                                              rel=1e-10)
        assert m.dert(0.1, x, tx, n) == pytest.approx(ref.bgbb_dert(p, 0.1, x, tx, n), rel=1e-8)
    al, be, ga, de = p
    exp6 = al / (al + be) * de / (ga - 1) * (1 - np.exp(
        __import__("scipy").special.gammaln(ga + de) - __import__("scipy").special.gammaln(ga + de + 6)
        + __import__("scipy").special.gammaln(1 + de + 6) - __import__("scipy").special.gammaln(1 + de)))
    assert m.expected_purchases(6) == pytest.approx(exp6, rel=1e-10)


def test_gg_and_sbg_predictions():
    gg = _make(GammaGamma, [6.25, 3.74, 15.44])
    v = gg.conditional_expected_average_value(np.array([1, 2, 10]), np.array([20.0, 30.0, 5.0]))
    p, q, g = 6.25, 3.74, 15.44
    x = np.array([1, 2, 10])
    w = (q - 1) / (p * x + q - 1)
    assert np.allclose(v, w * p * g / (q - 1) + (1 - w) * np.array([20.0, 30.0, 5.0]))
    assert gg.expected_average_value() == pytest.approx(p * g / (q - 1))
    sb = _make(ShiftedBetaGeometric, [0.7041, 1.1820])
    a, b = 0.7041, 1.1820
    S = sb.survival(np.arange(0, 6))
    assert S[0] == 1.0
    assert np.allclose(S[1:] / S[:-1], sb.retention(np.arange(1, 6)))
    assert np.allclose(sb.retention(np.arange(1, 6)), (b + np.arange(1, 6) - 1) / (a + b + np.arange(1, 6) - 1))
    for n in (0, 3):
        assert sb.discounted_expected_residual_lifetime(0.1, n) == pytest.approx(
            ref.sbg_derl([a, b], 0.1, n), rel=1e-9)
    sb2 = _make(ShiftedBetaGeometric, [2.0, 3.0])
    assert sb2.expected_lifetime() == pytest.approx(4.0)
    assert sb.expected_lifetime() == np.inf


def test_series_alignment():
    m = _make(BetaGeo, BG_P[0])
    df = pd.DataFrame({"frequency": [0, 2, 5], "recency": [0, 10.0, 20.0], "T": [30.0, 30, 30]},
                      index=pd.Index(["u1", "u2", "u3"], name="customer"))
    s = m.conditional_expected_purchases(10, df)
    assert isinstance(s, pd.Series) and list(s.index) == ["u1", "u2", "u3"]
    s2 = m.probability_alive(df["frequency"], df["recency"], df["T"])
    assert list(s2.index) == ["u1", "u2", "u3"]
    arr = m.conditional_expected_purchases(np.array([1.0, 2.0, 3.0]), 1, 5.0, 10.0)
    assert isinstance(arr, np.ndarray) and arr.shape == (3,)
    assert isinstance(m.expected_purchases(3.0), float)


def test_clv_units():
    bg = _make(BetaGeo, BG_P[0])
    gg = _make(GammaGamma, [6.25, 3.74, 15.44])
    s = pd.DataFrame({"frequency": [0, 2, 5], "recency": [0, 10.0, 20.0], "T": [30.0, 30, 30],
                      "monetary_value": [0.0, 25.0, 40.0]}, index=[10, 11, 12])
    s.attrs["unit"] = "W"
    out = clv(bg, gg, s, horizon=12, discount_rate=0.01, unit="M")
    assert list(out.columns) == ["expected_purchases", "expected_average_value", "clv"]
    assert list(out.index) == [10, 11, 12]
    # 12 months = 365.25 days exactly in model weeks
    ep = bg.conditional_expected_purchases(365.25 / 7, s["frequency"], s["recency"], s["T"])
    assert np.allclose(out["expected_purchases"], ep)
    # no discounting: clv = value * purchases
    out0 = clv(bg, gg, s, horizon=12, discount_rate=0.0, unit="M", margin=0.5)
    assert np.allclose(out0["clv"], 0.5 * out0["expected_average_value"] * ep)
    assert np.all(out["clv"] < out0["clv"] / 0.5)
    # the same horizon stated in weeks (with an equivalent weekly rate) gives nearly the same
    wk = clv(bg, gg, s, horizon=365.25 / 7, discount_rate=1.01 ** (12 / (365.25 / 7)) - 1, unit="W")
    # (weekly steps discount purchases earlier than month-end steps: slightly larger)
    assert np.allclose(wk["clv"], out["clv"], rtol=1e-2) and np.all(wk["clv"] >= out["clv"])
    assert np.allclose(wk["expected_purchases"], out["expected_purchases"])
    with pytest.raises(ValueError, match="unit"):
        clv(bg, gg, s, horizon=12, discount_rate=0.01, unit="fortnight")


def test_predictions_over_many_blocks_match_small_calls():
    """Long inputs are predicted in 4096-row blocks on all threads: every row equals the
    prediction of a short call (one block) on the same rows, for shared and per-row
    parameters."""
    from siyu import _core
    rng = np.random.default_rng(5)
    n = 3 * 4096 + 77
    x = rng.integers(0, 20, n).astype(float)
    T = rng.uniform(5, 60, n)
    tx = np.where(x > 0, T * rng.random(n), 0.0)
    t = rng.uniform(1, 50, n)
    for cls, p in ((ParetoNBD, [0.55, 10.5, 0.6, 11.7]), (BetaGeo, [0.24, 4.4, 0.8, 2.4])):
        code = cls()._code
        p = np.array(p)
        pr = np.tile(p, (n, 1)) * rng.uniform(0.8, 1.2, (n, 1))
        for params in (p, pr):
            full = _core.model_predict(code, 1, params, (t, x, tx, T))
            parts = []
            for lo in range(0, n, 1000):
                sl = slice(lo, lo + 1000)
                parts.append(_core.model_predict(code, 1, params if params.ndim == 1
                                                 else params[sl], (t[sl], x[sl], tx[sl], T[sl])))
            np.testing.assert_array_equal(full, np.concatenate(parts))
