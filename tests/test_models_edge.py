"""Extreme and invalid inputs: finite outputs or clear errors, never NaN."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize

import reference_models as R
from siyu import _core
from siyu.models import (BetaGeo, BetaGeoBetaBinom, ConvergenceError, GammaGamma,
                         ModifiedBetaGeo, ParetoNBD, ShiftedBetaGeometric)

RFT = [BetaGeo, ModifiedBetaGeo, ParetoNBD]


def _finite_or_clear(cls, x, tx, T, allow_error=False):
    """Fit and predict: every number finite.  Only with ``allow_error`` (random histories)
    may the fit instead raise the documented ConvergenceError with its advice; the fixed
    edge cases must fit (they stop at a boundary with a warning instead)."""
    x, tx, T = (np.asarray(v, float) for v in (x, tx, T))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = cls().fit(x, tx, T)
    except ConvergenceError as e:
        if not allow_error:
            raise
        assert "penalizer" in str(e)
        return None
    assert np.all(np.isfinite(m.params_)) and np.isfinite(m.log_likelihood_)
    for f in (lambda: m.conditional_expected_purchases(10, x, tx, T),
              lambda: m.probability_alive(x, tx, T),
              lambda: m.expected_purchases(np.array([0.0, 1.0, 100.0]))):
        try:
            v = f()
        except ConvergenceError as e:   # boundary fits: a clear error, not a NaN
            assert "did not converge" in str(e)
            continue
        assert np.all(np.isfinite(v))
    return m


@pytest.mark.parametrize("cls", RFT)
def test_frequency_zero_everywhere(cls):
    with pytest.warns(UserWarning, match="repeat purchase"), \
            pytest.warns(RuntimeWarning, match="ran to a boundary"):
        m = cls().fit([0, 0, 0, 0], [0, 0, 0, 0], [10, 20, 30, 40.0])
    assert "alpha" in m.at_boundary_           # no repeat: the purchase rate runs off
    _finite_or_clear(cls, [0, 0, 0, 0], [0, 0, 0, 0], [10, 20, 30, 40.0])


# one customer's likelihood given their own rate lam and dropout p (BG) or mu (Pareto)
def _individual_ll(cls, lam, d, x, tx, T):
    if cls is ParetoNBD:
        return x * np.log(lam) + np.log(np.exp(-(lam + d) * T) + d / (lam + d)
                                        * (np.exp(-(lam + d) * tx) - np.exp(-(lam + d) * T)))
    k = x + (cls is ModifiedBetaGeo)            # purchases after which a dropout may happen
    alive = k * np.log1p(-d) - lam * T
    gone = np.log(d) + (k - 1) * np.log1p(-d) - lam * tx if k > 0 else -np.inf
    return x * np.log(lam) + np.logaddexp(alive, gone)


def _individual_sup(cls, x, tx, T):
    """sup over (lam, p) / (lam, mu) of the individual likelihood: the mixture likelihood
    of one customer is an average of it, so no fit of the model can exceed it."""
    def f(th):
        lam = np.exp(th[0])
        d = np.exp(th[1]) if cls is ParetoNBD else 1 / (1 + np.exp(-th[1]))
        return -_individual_ll(cls, lam, d, x, tx, T)
    res = [minimize(f, [a, b], method="Nelder-Mead",
                    options={"xatol": 1e-10, "fatol": 1e-13, "maxiter": 4000})
           for a in (-2.0, 0.0) for b in (-3.0, 0.0, 2.0)]
    return -min(r.fun for r in res)


# measured gap between the fit and that supremum (the fit stops where the likelihood
# turns flat), with a little room: BG/NBD 0.273, MBG/NBD 0.064, Pareto/NBD 0.051
_ONE_CUSTOMER_GAP = {BetaGeo: 0.30, ModifiedBetaGeo: 0.08, ParetoNBD: 0.07}


@pytest.mark.parametrize("cls", RFT)
def test_one_customer(cls):
    """One customer: no heterogeneity is identified, so the fit runs to a boundary and
    says so (RuntimeWarning, ``at_boundary_``); log-likelihood and P(alive) are those of
    the returned parameters (independent oracle), and the log-likelihood sits just below
    the supremum of the individual likelihood (which no parameter value can exceed)."""
    x, tx, T = np.array([3.0]), np.array([5.0]), np.array([10.0])
    with pytest.warns(RuntimeWarning, match="ran to a boundary") as rec:
        m = cls().fit(x, tx, T)
    assert "alpha" in m.at_boundary_ and "alpha" in str(rec[-1].message)
    p = m.params_.to_numpy()
    ll_oracle = R.paretonbd_ll_quad if cls is ParetoNBD else \
        (R.mbgnbd_ll if cls is ModifiedBetaGeo else R.bgnbd_ll)
    assert m.log_likelihood_ == pytest.approx(float(np.sum(ll_oracle(p, x, tx, T))), rel=1e-9)
    sup = _individual_sup(cls, 3.0, 5.0, 10.0)
    assert sup - _ONE_CUSTOMER_GAP[cls] <= m.log_likelihood_ <= sup + 1e-9
    pa = R.pnbd_palive(p, 3.0, 5.0, 10.0) if cls is ParetoNBD else \
        R.bg_palive(p, x, tx, T, modified=cls is ModifiedBetaGeo)[0]
    assert m.probability_alive(x, tx, T)[0] == pytest.approx(pa, rel=1e-9)
    _finite_or_clear(cls, x, tx, T)


@pytest.mark.parametrize("cls", RFT)
def test_frequency_10000_and_recency_equal_T(cls):
    _finite_or_clear(cls, [10000, 0, 2, 1, 4], [99.0, 0, 5, 7, 30], [100.0, 50, 30, 7, 30])


@pytest.mark.parametrize("cls", RFT)
def test_predictions_extreme_histories_finite(cls):
    m = cls()
    names = cls._param_names
    m.params_ = pd.Series([0.55, 10.6, 0.6, 11.7] if cls is ParetoNBD else [0.24, 4.4, 0.79, 2.4],
                          index=list(names))
    x = np.array([0, 5000, 10000, 1, 3])
    tx = np.array([0, 999.0, 1.0, 1000, 0.5])
    T = np.array([1000, 1000, 1000, 1000, 0.5])
    for v in (m.conditional_expected_purchases(np.array([1.0, 52.0, 1000.0, 1e4, 1.0]), x, tx, T),
              m.probability_alive(x, tx, T)):
        assert np.all(np.isfinite(v)) and np.all(v >= 0)
    assert np.all(np.isfinite(m.expected_purchases(np.array([1e-8, 1.0, 1e3, 1e5]))))


@pytest.mark.parametrize("cls", RFT)
@pytest.mark.parametrize("x,tx,T,msg", [
    ([1, 2], [1.0, 2.0], [5.0, 0.0], "T must be > 0"),
    ([1, -2], [1.0, 2.0], [5.0, 5.0], "frequency must be >= 0"),
    ([1, 2], [-1.0, 2.0], [5.0, 5.0], "recency must be >= 0"),
    ([1, 2], [6.0, 2.0], [5.0, 5.0], "recency must be <= T"),
    ([1.5, 2], [1.0, 2.0], [5.0, 5.0], "whole numbers"),
    ([0, 2], [1.0, 2.0], [5.0, 5.0], "recency must be 0 when frequency is 0"),
    ([1, np.nan], [1.0, 2.0], [5.0, 5.0], "NaN"),
    ([1, 2], [1.0, 2.0], [5.0], "length"),
])
def test_invalid_inputs(cls, x, tx, T, msg):
    with pytest.raises(ValueError, match=msg):
        cls().fit(np.array(x, float), np.array(tx, float), np.array(T, float))


def test_invalid_inputs_other_models():
    with pytest.raises(ValueError, match="no customers"):
        BetaGeo().fit([], [], [])
    with pytest.raises(ValueError, match="monetary_value must be > 0"):
        GammaGamma().fit([1, 2], [0.0, 3.0])
    with pytest.raises(ValueError, match="no customer with frequency > 0"):
        GammaGamma().fit([0, 0], [0.0, 0.0])
    with pytest.raises(ValueError, match="recency must be <= T"):
        ShiftedBetaGeometric().fit([1, 9], [8, 8])
    with pytest.raises(ValueError, match="frequency must be <= recency"):
        BetaGeoBetaBinom().fit([3], [2], [6])
    with pytest.raises(ValueError, match="recency"):
        BetaGeoBetaBinom().fit([1], [7], [6])
    with pytest.raises(TypeError, match="frequency, recency and T"):
        BetaGeo().fit([1, 2])
    with pytest.raises(RuntimeError, match="not fitted"):
        BetaGeo().probability_alive(1, 1, 2)
    m = BetaGeo()
    m.params_ = pd.Series([0.24, 4.4, 0.79, 2.4], index=["r", "alpha", "a", "b"])
    with pytest.raises(ValueError, match="recency must be <= T"):
        m.probability_alive(1, 5, 2)
    with pytest.raises(ValueError, match="t must be >= 0"):
        m.expected_purchases(-1)


def test_core_rejects_bad_arguments():
    with pytest.raises(ValueError):
        _core.model_loglik(99, np.ones(4), np.ones(2), np.ones(2), np.ones(2), None)
    with pytest.raises(ValueError, match="length"):
        _core.model_loglik(0, np.ones(3), np.ones(2), np.ones(2), np.ones(2), None)
    with pytest.raises(ValueError):
        _core.model_loglik(0, -np.ones(4), np.ones(2), np.ones(2), np.ones(2), None)
    with pytest.raises(ValueError, match="starts"):
        _core.model_fit(0, np.ones(2), np.ones(2), np.ones(2), None, np.zeros(3), 0.0, 10, 1e-8)


@pytest.mark.filterwarnings("ignore:.*boundary")
def test_inputs_not_modified_and_noncontiguous():
    rng = np.random.default_rng(0)
    big = rng.poisson(1, (200, 2)).astype(float)
    x = big[:, 0]                       # strided view
    T = np.full(200, 30.0)
    tx = np.where(x > 0, rng.uniform(1, 30, 200), 0.0)
    x0 = x.copy()
    m = BetaGeo().fit(x, tx, T)
    assert np.array_equal(x, x0)
    m2 = BetaGeo().fit(x.copy(), tx, T)
    assert np.allclose(m.params_, m2.params_)


def test_refcounts_stable():
    import sys
    x = np.array([0, 2, 1, 5.0])
    tx = np.array([0, 3.0, 1.0, 4.0])
    T = np.array([5.0, 5.0, 5.0, 5.0])
    p = np.array([0.5, 2.0, 1.0, 2.0])
    before = [sys.getrefcount(a) for a in (x, tx, T, p)]
    for _ in range(50):
        _core.model_loglik(0, p, x, tx, T, None)
        _core.model_predict(0, 2, p, (x, tx, T))
        try:
            _core.model_loglik(0, -p, x, tx, T, None)
        except ValueError:
            pass
    assert [sys.getrefcount(a) for a in (x, tx, T, p)] == before


try:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover
    given = None

if given is not None:
    @st.composite
    def _histories(draw):
        n = draw(st.integers(1, 25))
        T = np.array(draw(st.lists(st.floats(0.5, 2000.0), min_size=n, max_size=n)))
        x = np.array(draw(st.lists(st.integers(0, 12000), min_size=n, max_size=n)), float)
        frac = np.array(draw(st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n)))
        tx = np.where(x > 0, frac * T, 0.0)
        return x, tx, T

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(_histories(), st.sampled_from(RFT))
    def test_random_histories_never_nan(h, cls):
        x, tx, T = h
        _finite_or_clear(cls, x, tx, T, allow_error=True)
