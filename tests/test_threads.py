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
