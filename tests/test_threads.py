"""Python threads sharing siyu objects while the thread settings change.

Kernels read the thread count and the parallel threshold once per call (atomics in C),
so concurrent calls from several Python threads, with another thread flipping the
settings, must give exactly the single-threaded results.  CI also runs this file under
ThreadSanitizer.
"""
import threading

import numpy as np
import pandas as pd
import pytest

import siyu
from siyu import _core


@pytest.fixture(scope="module")
def tx():
    rng = np.random.default_rng(7)
    n = 60_000
    df = pd.DataFrame({
        "c": rng.integers(0, 5_000, n),
        "t": np.datetime64("2022-01-01") + rng.integers(0, 700, n).astype("timedelta64[D]"),
        "a": rng.gamma(2.0, 30.0, n),
    })
    return siyu.Transactions(df, customer="c", time="t", amount="a")


def _results(tx):
    s = tx.summary(unit="W")
    ct = tx.cohorts(period="M")
    rt = tx.retention(kind="n-day", days=range(0, 60, 7))
    # model predictions in row blocks on all threads (shared and per-row parameters)
    cols = tuple(np.tile(s[c].to_numpy(float), 4) for c in ("frequency", "recency", "T"))
    t = np.full(cols[0].size, 12.0)
    p = np.array([0.55, 10.5, 0.6, 11.7])
    code = siyu.ParetoNBD()._code
    pred = _core.model_predict(code, 1, p, (t,) + cols)
    pred_rows = _core.model_predict(code, 1, np.tile(p, (t.size, 1)) * 1.01, (t,) + cols)
    return (s[["frequency", "recency", "T", "monetary_value"]].to_numpy(),
            ct.active.to_numpy(), ct.revenue.to_numpy(), rt.table["retained"].to_numpy(),
            pred, pred_rows)


def test_concurrent_calls_with_changing_settings(tx):
    old_threads = siyu.get_num_threads()
    old_min = _core.set_parallel_min_rows(0)
    try:
        siyu.set_num_threads(1)
        expected = _results(tx)
        stop = threading.Event()
        errors: list[BaseException] = []
        mismatches: list[int] = []

        def flipper():
            i = 0
            while not stop.is_set():
                siyu.set_num_threads(1 + i % 3)
                _core.set_parallel_min_rows(0 if i % 2 else 10**9)
                i += 1

        def worker(k):
            try:
                for _ in range(3):
                    got = _results(tx)
                    for a, b in zip(got, expected):
                        if not np.array_equal(a, b, equal_nan=True):
                            mismatches.append(k)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        f = threading.Thread(target=flipper)
        f.start()
        ws = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
        for w in ws:
            w.start()
        for w in ws:
            w.join()
        stop.set()
        f.join()
        assert not errors, errors[:1]
        assert not mismatches
    finally:
        siyu.set_num_threads(old_threads)
        _core.set_parallel_min_rows(old_min)


def test_concurrent_fits_share_nothing():
    s = siyu.Transactions(siyu.datasets.load_cdnow(), customer="customer_id", time="date",
                          amount="amount").summary(end="1997-09-30", unit="W")
    ref = siyu.BetaGeo().fit(s).params_.to_numpy()
    out: list[np.ndarray] = []

    def fit():
        out.append(siyu.BetaGeo().fit(s).params_.to_numpy())

    ts = [threading.Thread(target=fit) for _ in range(6)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert len(out) == 6
    for p in out:
        np.testing.assert_array_equal(p, ref)


def test_bgnbd_sums_and_nested_fits_do_not_depend_on_threads():
    """The BG/NBD likelihood sums its rows in fixed blocks on the threads: 1 and 2 threads
    give the same bits, and match a NumPy oracle.  A covariate fit whose patterns run on
    the threads, each calling that kernel (a nested parallel region, run on the one
    thread), gives the same fit on 1 and 2 threads."""
    from scipy.special import betaln, gammaln

    rng = np.random.default_rng(3)
    n = 70_000
    T = rng.integers(5, 60, n).astype(float)
    x = rng.poisson(1.5, n).astype(float)
    tx = np.where(x > 0, np.floor(rng.uniform(0, 1, n) * T), 0.0)
    w = rng.integers(1, 4, n).astype(float)
    p = np.array([0.3, 6.0, 0.8, 2.5])
    r, al, a, b = p
    t1 = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(al + T)
    with np.errstate(all="ignore"):
        t2 = np.where(x > 0, betaln(a + 1, b + np.maximum(x, 1) - 1) - betaln(a, b)
                      - (r + x) * np.log(al + tx), -np.inf)
    want = float(np.sum(w * (gammaln(r + x) - gammaln(r) + r * np.log(al)
                             + np.logaddexp(t1, t2))))
    code = siyu.BetaGeo()._code
    from siyu.datasets.simulate import simulate
    covs = pd.DataFrame({"member": rng.integers(0, 2, 40_000)})
    frame = simulate({"r": 0.25, "alpha": 4.4, "a": 0.8, "b": 2.4}, 40_000, T=52, seed=5,
                     unit="W", acquisition=26, output="summary", covariates=covs,
                     effects={"purchase": {"member": 0.4}, "dropout": {"member": -0.5}})
    old = siyu.get_num_threads()
    got = {}
    try:
        for t in (1, 2):
            siyu.set_num_threads(t)
            ll, g = _core.model_loglik(code, p, x, tx, T, w)
            m = siyu.BetaGeo().fit(frame, covariates=["member"])
            got[t] = (ll, tuple(g), tuple(m.summary.iloc[:, 0]), tuple(m.summary.iloc[:, 1]))
    finally:
        siyu.set_num_threads(old)
    assert got[1] == got[2]
    assert got[1][0] == pytest.approx(want, rel=1e-12)
