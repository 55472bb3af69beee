"""C log-likelihoods against the NumPy/SciPy oracles, analytic gradients against central
finite differences at random parameter points."""
from __future__ import annotations

import numpy as np
import pytest

from siyu import _core
import reference_models as ref

RNG = np.random.default_rng(20240501)


def _rft_data(n=60, seed=0, big=False):
    rng = np.random.default_rng(seed)
    T = rng.uniform(5, 60, n)
    x = rng.poisson(2.0, n).astype(float)
    x[: n // 4] = 0
    tx = np.where(x > 0, rng.uniform(0, 1, n) * T, 0.0)
    tx[n // 4: n // 4 + 3] = T[n // 4: n // 4 + 3]   # recency == T
    if big:
        x[-3:] = [200, 1000, 5000]
        tx[-3:] = T[-3:] * 0.9
    return x, tx, T


def _bgbb_data(n=40, seed=1):
    rng = np.random.default_rng(seed)
    nper = rng.integers(1, 12, n).astype(float)
    tx = np.floor(rng.uniform(0, 1, n) * (nper + 1))
    x = np.where(tx > 0, np.floor(rng.uniform(0, 1, n) * tx) + 1, 0.0)
    w = rng.integers(1, 5, n).astype(float)
    return x, tx, nper, w


def _cols(model, data):
    if model in (0, 1, 2, 3):
        x, tx, T = data[:3]
        w = data[3] if len(data) > 3 else None
        return (x, tx, T, w)
    if model == 4:
        return (data[0], data[1], None, None)
    return (data[0], data[1], None, None)


def _rand_params(model, rng):
    k = {0: 4, 1: 4, 2: 4, 3: 4, 4: 3, 5: 2}[model]
    return np.exp(rng.uniform(-1.5, 2.0, k))


ORACLES = {
    0: lambda p, d: ref.bgnbd_ll(p, *d[:3]),
    1: lambda p, d: ref.mbgnbd_ll(p, *d[:3]),
    2: lambda p, d: ref.paretonbd_ll_quad(p, *d[:3]),
    3: lambda p, d: ref.bgbb_ll(p, *d[:3]),
    4: lambda p, d: ref.gg_ll(p, *d[:2]),
    5: lambda p, d: ref.sbg_ll(p, *d[:2]),
}


def _data(model, seed):
    rng = np.random.default_rng(seed)
    if model in (0, 1, 2):
        return _rft_data(seed=seed)
    if model == 3:
        return _bgbb_data(seed=seed)
    if model == 4:
        x = rng.integers(1, 15, 50).astype(float)
        return x, rng.gamma(3, 10, 50)
    T = np.full(50, 8.0)
    t = rng.integers(1, 9, 50).astype(float)
    return t, T


@pytest.mark.parametrize("model", range(6))
@pytest.mark.parametrize("seed", range(4))
def test_loglik_matches_oracle(model, seed):
    rng = np.random.default_rng(100 + seed)
    d = _data(model, seed)
    p = _rand_params(model, rng)
    ll, _ = _core.model_loglik(model, p, *_cols(model, d))
    w = d[3] if model == 3 else 1.0
    expect = float(np.sum(w * ORACLES[model](p, d)))
    assert ll == pytest.approx(expect, rel=1e-9, abs=1e-7)


def test_pareto_matches_hyp2f1_form():
    x, tx, T = _rft_data(seed=3)
    for p in ([0.55, 10.6, 0.61, 11.7], [0.55, 11.7, 0.61, 10.6], [2.0, 3.0, 0.2, 40.0]):
        ll, _ = _core.model_loglik(2, np.array(p), x, tx, T, None)
        assert ll == pytest.approx(ref.paretonbd_ll(p, x, tx, T).sum(), rel=1e-9)


@pytest.mark.parametrize("model", range(6))
@pytest.mark.parametrize("seed", range(5))
def test_gradient_finite_differences(model, seed):
    rng = np.random.default_rng(200 + seed)
    d = _data(model, seed)
    p = _rand_params(model, rng)
    cols = _cols(model, d)
    _, g = _core.model_loglik(model, p, *cols)
    for j in range(len(p)):
        h = 1e-5 * p[j]
        pp, pm = p.copy(), p.copy()
        pp[j] += h
        pm[j] -= h
        num = (_core.model_loglik(model, pp, *cols)[0] - _core.model_loglik(model, pm, *cols)[0]) / (2 * h)
        assert g[j] == pytest.approx(num, rel=2e-5, abs=1e-5 * (1 + abs(num))), (model, j, p)


@pytest.mark.parametrize("p", [[0.5, 10.0, 0.6, 12.0], [0.5, 1e-3, 0.6, 50.0],
                               [0.5, 50.0, 0.6, 1e-3], [1e-3, 1e3, 1e-3, 1e3],
                               [50.0, 1e-2, 20.0, 1e-2], [0.3, 5.0, 30.0, 0.5]])
def test_pareto_extreme_parameters_finite(p):
    """Large frequency, long T, tiny/huge alpha, beta: finite values and gradients that agree
    with finite differences (exercises the series and the quadrature fallback)."""
    x = np.array([0, 1, 5, 50, 5000, 10000, 3.0])
    T = np.array([1000, 1000, 40, 1000, 1000, 1000, 0.5])
    tx = np.array([0, 3, 39.99, 999, 10, 900, 0.2])
    p = np.array(p)
    ll, g = _core.model_loglik(2, p, x, tx, T, None)
    assert np.isfinite(ll) and np.all(np.isfinite(g))
    ref_ll = ref.paretonbd_ll_quad(p, x, tx, T).sum()
    assert ll == pytest.approx(ref_ll, rel=1e-7)
    for j in range(4):
        h = 1e-6 * p[j]
        pp, pm = p.copy(), p.copy()
        pp[j] += h
        pm[j] -= h
        num = (_core.model_loglik(2, pp, x, tx, T, None)[0]
               - _core.model_loglik(2, pm, x, tx, T, None)[0]) / (2 * h)
        assert g[j] == pytest.approx(num, rel=1e-4, abs=1e-4 * (1 + abs(num)))


def test_bgnbd_large_frequency_finite():
    x, tx, T = _rft_data(seed=5, big=True)
    for m in (0, 1):
        ll, g = _core.model_loglik(m, np.array([0.24, 4.4, 0.79, 2.4]), x, tx, T, None)
        assert np.isfinite(ll) and np.all(np.isfinite(g))
        assert ll == pytest.approx(ORACLES[m](np.array([0.24, 4.4, 0.79, 2.4]), (x, tx, T)).sum(),
                                   rel=1e-9)


def test_thread_count_invariance():
    """Blocked sums: identical log-likelihood and gradient for any thread count."""
    rng = np.random.default_rng(9)
    n = 60_000
    T = rng.uniform(1, 52, n)
    x = rng.poisson(1.5, n).astype(float)
    tx = np.where(x > 0, rng.uniform(0, 1, n) * T, 0.0)
    p = np.array([0.55, 10.6, 0.61, 11.7])
    old = _core.get_num_threads()
    try:
        res = []
        for k in (1, 2, 3, 8):
            _core.set_num_threads(k)
            res.append(_core.model_loglik(2, p, x, tx, T, None))
    finally:
        _core.set_num_threads(old)
    for ll, g in res[1:]:
        assert ll == res[0][0] and np.array_equal(g, res[0][1])
