"""Low-level kernels: id factorisation, row grouping, thread-count invariance."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import siyu
from siyu import _core


@pytest.mark.parametrize("ids", [
    np.array([5, 3, 5, 4, 3]),                                   # dense path
    np.array([-7, 2**62, -2**63, 2**63 - 1, 0, -7]),             # extremes: hash path
    np.random.default_rng(0).integers(-10**12, 10**12, 5000),    # sparse: hash path
    np.random.default_rng(1).integers(0, 300, 5000),             # dense, many repeats
    np.array([], dtype=np.int64),
])
def test_factorize_matches_numpy_unique(ids):
    codes, uniques = _core.factorize_int64(ids)
    want_u, want_c = np.unique(ids, return_inverse=True)
    np.testing.assert_array_equal(uniques, want_u)
    np.testing.assert_array_equal(codes, want_c.ravel())


def test_factorize_hash_table_growth():
    rng = np.random.default_rng(2)
    ids = rng.permutation(np.arange(0, 200_000 * 1_000_003, 1_000_003))[:200_000]
    codes, uniques = _core.factorize_int64(np.concatenate([ids, ids[:1000]]))
    assert len(uniques) == 200_000 and (np.diff(uniques) > 0).all()
    np.testing.assert_array_equal(uniques[codes], np.concatenate([ids, ids[:1000]]))


def test_integer_id_dtypes_round_trip():
    for dtype in (np.int8, np.int32, np.uint16, np.uint64):
        ids = np.array([3, 1, 3, 2], dtype=dtype)
        tx = siyu.Transactions(customer=ids, time=np.array(["2024-01-01"] * 4, dtype="datetime64[D]"),
                               amount=np.ones(4))
        assert tx.customer_ids.tolist() == [1, 2, 3]
        assert tx.customer_ids.dtype == dtype
    big = np.array([2**64 - 1, 5], dtype=np.uint64)               # beyond int64: pandas path
    tx = siyu.Transactions(customer=big, time=np.array(["2024-01-01"] * 2, dtype="datetime64[D]"),
                           amount=np.ones(2))
    assert tx.customer_ids.tolist() == [5, 2**64 - 1]


@pytest.mark.parametrize("seed", range(4))
def test_group_rows_orders_by_customer_then_day_then_row(seed):
    rng = np.random.default_rng(seed)
    n, k = 3000, 1 + seed * 100
    cust = rng.integers(0, k, n)
    day = rng.integers(0, 50 if seed % 2 else 5, n)       # many ties
    if seed == 3:
        cust[:200] = 0                                   # one long segment -> qsort path
    offsets, perm, day_s, cust_s = _core.group_rows(cust, day, k)
    want = np.lexsort((np.arange(n), day, cust))
    np.testing.assert_array_equal(perm, want)
    np.testing.assert_array_equal(day_s, day[want])
    np.testing.assert_array_equal(cust_s, cust[want])
    np.testing.assert_array_equal(offsets, np.concatenate([[0], np.cumsum(np.bincount(cust, minlength=k))]))


def test_results_identical_for_any_thread_count():
    rng = np.random.default_rng(5)
    n, k = 2_500_000, 60_000
    cust = rng.integers(0, k, n)
    day = rng.integers(0, 900, n)
    amount = rng.normal(20, 10, n)
    before = siyu.get_num_threads()
    try:
        out = {}
        for nt in (1, 2, 3):
            siyu.set_num_threads(nt)
            g = _core.group_rows(cust, day, k)
            s = _core.summary(cust, day, amount, k, 2, -1, 800)
            out[nt] = (g, s)
        for nt in (2, 3):
            for a, b in zip(out[1][0] + out[1][1], out[nt][0] + out[nt][1]):
                np.testing.assert_array_equal(a, b)
    finally:
        siyu.set_num_threads(before)
    with pytest.raises(ValueError):
        siyu.set_num_threads(0)


def test_summary_on_grouped_and_ungrouped_rows_agree():
    rng = np.random.default_rng(6)
    n, k = 5000, 300
    cust = rng.integers(0, k, n)
    day = rng.integers(0, 400, n)
    amount = rng.normal(20, 30, n)
    order = np.lexsort((day, cust))
    a = _core.summary(cust, day, amount, k, 1, 10, 350)
    b = _core.summary(cust[order], day[order], amount[order], k, 1, 10, 350)
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-9)


def test_transactions_store_grouped_log():
    df = pd.DataFrame({"customer_id": ["b", "a", "b", "a"],
                       "date": ["2024-01-05", "2024-01-03", "2024-01-01", "2024-01-03"],
                       "amount": [1.0, 2.0, 3.0, 4.0]})
    log = siyu.Transactions(df)._log
    assert log.ids.tolist() == ["a", "b"]
    assert log.cust.tolist() == [0, 0, 1, 1]
    assert log.amount.tolist() == [2.0, 4.0, 3.0, 1.0]     # ties keep input order
    assert log.offsets.tolist() == [0, 2, 4]
