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
    np.random.default_rng(3).integers(-60, 60, 5000) * 2**56 + 12345,   # radix: equal low bytes
    np.repeat(np.array([-2**63, -1, 2**63 - 1]), 3),            # sign bit across the radix
    np.repeat(np.arange(10**17, 10**17 + 7919 * 3000, 7919), 2),    # sorted: runs
    np.repeat(np.arange(10**17, 10**17 + 7919 * 3000, 7919), 3)[::-1],  # sorted descending
    np.full(7, -5),                                              # one value
    np.array([2**63 - 1, -2**63]),                               # descending extremes
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


# ---------------------------------------------------------------------- the stored log
NS_PER_DAY = 86_400 * 10**9


def _paths(rng):
    """(name, ids, times datetime64, amounts) for every construction path."""
    n = 60_000
    out = []
    ids = rng.integers(0, 5_000, n)
    t = np.sort(rng.integers(0, 700 * NS_PER_DAY, n))
    out.append(("time-ordered", ids, t.view("datetime64[ns]"), rng.normal(20, 9, n)))
    out.append(("shuffled", rng.permutation(ids), rng.permutation(t).view("datetime64[ns]"),
                rng.normal(20, 9, n)))
    out.append(("one customer", np.full(n, 42), rng.integers(0, 900, n).view("datetime64[D]"),
                rng.normal(20, 9, n)))
    out.append(("all distinct", rng.permutation(n) * 7 - 10**6,
                rng.integers(0, 900, n).view("datetime64[D]"), rng.normal(20, 9, n)))
    long_ids = np.concatenate([np.full(120_000, 5), rng.integers(0, 300, 20_000)])
    out.append(("long customer", rng.permutation(long_ids),
                rng.integers(0, 3000, long_ids.size).astype("datetime64[h]"),
                rng.normal(20, 9, long_ids.size)))
    out.append(("wide ids", rng.integers(-2**63, 2**63 - 1, n, dtype=np.int64)[rng.integers(0, 3000, n)],
                rng.integers(0, 40, n).astype("datetime64[W]"), rng.normal(20, 9, n)))
    out.append(("sparse ids", rng.integers(0, 10**12, 4_000)[rng.integers(0, 4_000, n)],
                rng.integers(-10**9, 10**9, n).astype("datetime64[s]"), rng.normal(20, 9, n)))
    ties = rng.integers(0, 50, n)
    out.append(("same-day ties", ties, rng.integers(0, 3, n).view("datetime64[D]"),
                np.round(rng.normal(20, 9, n))))
    return out


def _oracle(ids, times, amount):
    uniq, codes = np.unique(ids, return_inverse=True)
    day = times.astype("datetime64[D]").view(np.int64)
    order = np.lexsort((np.arange(len(ids)), day, codes))
    offsets = np.concatenate([[0], np.cumsum(np.bincount(codes, minlength=len(uniq)))])
    return uniq, codes[order], day[order], amount[order], offsets, order


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_stored_log_matches_lexsort_oracle_on_every_path(threads):
    rng = np.random.default_rng(threads)
    before, old_min = siyu.get_num_threads(), _core.set_parallel_min_rows(0)
    try:
        siyu.set_num_threads(threads)
        for name, ids, times, amount in _paths(rng):
            uniq, cust, day, amt, offsets, order = _oracle(ids, times, amount)
            log = siyu.Transactions(customer=ids, time=times, amount=amount)._log
            assert log.ids.tolist() == uniq.tolist(), name
            np.testing.assert_array_equal(log.cust, cust, err_msg=name)
            np.testing.assert_array_equal(log.day, day, err_msg=name)
            np.testing.assert_array_equal(log.amount, amt, err_msg=name)
            np.testing.assert_array_equal(log.offsets, offsets, err_msg=name)
            # the row permutation itself, and the duplicate count
            t = times.astype("datetime64[ns]") if times.dtype != "datetime64[W]" else times
            res = _core.build_log(ids, times.view(np.int64), *{
                "ns": (NS_PER_DAY, 1), "D": (1, 1), "h": (24, 1), "W": (1, 7),
                "s": (86_400, 1)}[np.datetime_data(times.dtype)[0]], amount, True,
                -719_162, 2_932_896)
            np.testing.assert_array_equal(res[4], order, err_msg=name)
            want_dups = int(pd.DataFrame({"c": ids, "t": t.view(np.int64), "a": amount}).duplicated().sum())
            assert res[5] == want_dups, name
            assert (res[6], res[7]) == (day.min(), day.max()), name
            assert (res[8], res[9]) == ((amount < 0).sum(), (amount == 0).sum()), name
    finally:
        siyu.set_num_threads(before)
        _core.set_parallel_min_rows(old_min)


def test_stored_log_identical_for_any_thread_count_with_channels():
    rng = np.random.default_rng(11)
    n = 300_000
    df = pd.DataFrame({"c": rng.integers(0, 40_000, n).astype(str),
                       "t": rng.integers(0, 800, n).view("datetime64[D]"),
                       "a": rng.normal(20, 9, n), "ch": rng.choice(["公域", "私域", None], n),
                       "m": rng.random(n) < 0.1})
    before, old_min = siyu.get_num_threads(), _core.set_parallel_min_rows(0)
    try:
        logs = []
        for threads in (1, 2, 4):
            siyu.set_num_threads(threads)
            logs.append(siyu.Transactions(df, customer="c", time="t", amount="a", channel="ch",
                                          member="m")._log)
        for other in logs[1:]:
            for f in ("cust", "day", "amount", "channel", "member", "offsets"):
                np.testing.assert_array_equal(getattr(logs[0], f), getattr(other, f), err_msg=f)
        codes = pd.factorize(df["c"], sort=True)[0]
        order = np.lexsort((np.arange(n), df["t"].to_numpy().view(np.int64), codes))
        ch_codes = pd.factorize(df["ch"], sort=True, use_na_sentinel=True)[0]
        ch_codes = np.where(ch_codes < 0, ch_codes.max() + 1, ch_codes)
        np.testing.assert_array_equal(logs[0].channel, ch_codes[order])
        np.testing.assert_array_equal(logs[0].member, df["m"].to_numpy()[order].astype(np.int8))
    finally:
        siyu.set_num_threads(before)
        _core.set_parallel_min_rows(old_min)


def test_build_log_reports_bad_rows_and_checks_arguments():
    t = np.array([0, 1, 2], dtype=np.int64)
    ids = np.array([1, 2, 3])
    assert _core.build_log(ids, np.array([0, np.iinfo(np.int64).min, 1]), 1, 1, None, False,
                           -10, 10) == 1
    assert _core.build_log(ids, np.array([0, 11, 1]), 1, 1, None, False, -10, 10) == 2
    assert _core.build_log(ids, t, 1, 1, np.array([1.0, np.nan, 2.0]), False, -10, 10) == 3
    assert _core.build_log(ids, t, 1, 1, np.array([1e308, 1e308, 2.0]), False, -10, 10) == 4
    for bad in ((0, 1), (1, 3), (2, 7)):
        with pytest.raises(ValueError, match="time scale"):
            _core.build_log(ids, t, *bad, None, False, -10, 10)
    with pytest.raises(ValueError, match="length"):
        _core.build_log(ids, t[:2], 1, 1, None, False, -10, 10)
    # weeks: range checked before multiplying by 7
    assert _core.build_log(ids, np.array([0, 2**62, 1]), 1, 7, None, False, -10, 10) == 2
    res = _core.build_log(np.zeros(0, np.int64), np.zeros(0, np.int64), 1, 1, None, False, -10, 10)
    assert res[0].tolist() == [0] and len(res[3]) == 0 and res[2] is None


def test_summary_kernel_checks_stored_offsets():
    cust, day = np.array([0, 0, 1]), np.array([1, 2, 3])
    with pytest.raises(ValueError, match="offsets must rise"):
        _core.summary(cust, day, None, 2, 0, -10, 10, np.array([0, 2, 2]))
    with pytest.raises(ValueError, match="offsets must rise"):
        _core.summary(cust, day, None, 2, 0, -10, 10, np.array([0, 3, 2]))
    a = _core.summary(cust, day, None, 2, 0, -10, 10, np.array([0, 2, 3]))
    b = _core.summary(cust, day, None, 2, 0, -10, 10)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_order_kernels_check_arguments():
    c = np.array([0, 0, 1])
    d = np.array([1, 2, 3])
    with pytest.raises(ValueError, match="order codes"):
        _core.orders_aggregate(np.array([0, 5, 1]), 2, c, d, None, None, None)
    with pytest.raises(ValueError, match="status classes"):
        _core.orders_aggregate(None, 3, c, d, None, None, np.array([0, 3, 1], np.int8))
    with pytest.raises(ValueError, match="refunds must be"):
        _core.orders_aggregate(None, 3, c, d, np.ones(3), np.array([0, -1.0, 0]), None)
    with pytest.raises(ValueError, match="m must be"):
        _core.orders_aggregate(None, 2, c, d, None, None, None)
    with pytest.raises(ValueError, match="codes must be < m"):
        _core.group_first(np.array([0, 3]), 2)
    assert _core.group_first(np.array([1, -1, 1, 0]), 3).tolist() == [3, 0, -1]
    assert _core.count_duplicates((np.array([1, 2, 1, 1]), np.array([5, 5, 5, 6]))) == 1
    with pytest.raises(ValueError, match="length"):
        _core.count_duplicates((np.array([1, 2]), np.array([1])))
    got = _core.days_from_times(np.array([-1, 0, 86_399, 86_400]), 86_400, 1, -5, 5)
    assert got.tolist() == [-1, 0, 0, 1]
    assert _core.days_from_times(np.array([0, np.iinfo(np.int64).min]), 1, 1, -5, 5) == 1


# ---------------------------------------------------------------------- grouped kernels
def _grouped_log(seed, n=40_000, k=3_000):
    rng = np.random.default_rng(seed)
    cust = np.sort(rng.integers(0, k, n))
    cust[: n // 10] = 7                                  # one long customer
    cust = np.sort(cust)
    day = rng.integers(0, 700, n)
    order = np.lexsort((day, cust))
    cust, day = cust[order], day[order]
    amount = np.round(rng.normal(20, 15, n), 2)          # refunds included
    offsets = np.concatenate([[0], np.cumsum(np.bincount(cust, minlength=k))])
    return cust, day, amount, offsets, k


@pytest.mark.parametrize("seed", range(3))
def test_grouped_kernels_equal_the_row_kernels_for_any_thread_count(seed):
    cust, day, amount, offsets, k = _grouped_log(seed)
    rng = np.random.default_rng(100 + seed)
    group = rng.integers(0, 3, len(cust))
    split = rng.integers(0, 2, k)
    end = 650
    before, old_min = siyu.get_num_threads(), _core.set_parallel_min_rows(0)
    try:
        ref_out = None
        for threads in (1, 2, 3):
            siyu.set_num_threads(threads)
            out = []
            for amt in (amount, None):
                f_row = _core.cohort_first(cust, day, amt, group, k, end)
                f_grp = _core.cohort_first(None, day, amt, group, k, end, offsets)
                for a, b in zip(f_row[:2], f_grp[:2]):
                    np.testing.assert_array_equal(a, b)
                assert f_row[2] == f_grp[2]
                first = f_row[0]
                s_row = _core.cohort_second(cust, day, amt, k, end, first)
                np.testing.assert_array_equal(s_row, _core.cohort_second(None, day, amt, k, end,
                                                                           first, offsets))
                has = first != np.iinfo(np.int64).max
                cper = np.where(has, _core.period_index(np.where(has, first, 0), 2), 0)
                cohorts = np.unique(cper[has])
                cell_row = np.where(has, np.searchsorted(cohorts, cper), -1)
                end_per = int(_core.period_index(np.array([end]), 2)[0])
                n_ages = end_per - int(cohorts[0]) + 1
                lo_day = int(_core.period_start(cohorts[:1], 2)[0])
                m_args = (k, end, 2, cell_row, cper, len(cohorts), n_ages, lo_day, 10**9)
                m_row = _core.cohort_matrix(cust, day, amt, *m_args)
                m_grp = _core.cohort_matrix(None, day, amt, *m_args, offsets)
                np.testing.assert_array_equal(m_row[0], m_grp[0])
                np.testing.assert_array_equal(m_row[1], m_grp[1])
                if amt is not None:
                    np.testing.assert_allclose(m_row[2], m_grp[2], rtol=1e-12, atol=1e-9)
                assert m_row[3] == m_grp[3]
                g = np.where(has, split, -1)
                for kind, lo, hi in ((0, [0, 1, 7, 30], [0, 1, 7, 30]), (1, [1, 30, 90], [1, 30, 90]),
                                     (2, [1, 8, 31], [7, 30, 90])):
                    args = (k, end, np.where(has, first, 0), g, 2, kind, np.array(lo), np.array(hi))
                    r_row = _core.retention_count(cust, day, amt, *args, 10**9)
                    r_grp = _core.retention_count(None, day, amt, *args, 10**9, offsets)
                    for a, b in zip(r_row, r_grp):
                        np.testing.assert_array_equal(a, b)
                    out.append(r_grp)
                i_row = _core.interpurchase(cust, day, amt, k, end)
                i_grp = _core.interpurchase(None, day, amt, k, end, offsets)
                for a, b in zip(i_row, i_grp):
                    np.testing.assert_array_equal(a, b)
                s_a = _core.summary(cust, day, amt, k, 1, -10, end)
                s_b = _core.summary(None, day, amt, k, 1, -10, end, offsets)
                for a, b in zip(s_a, s_b):
                    np.testing.assert_array_equal(a, b)
                out += [f_grp, s_row, m_grp, i_grp]
            if ref_out is None:
                ref_out = out
            else:                                        # identical for any thread count
                for a, b in zip(ref_out, out):
                    for x, y in zip(a if isinstance(a, tuple) else (a,), b if isinstance(b, tuple) else (b,)):
                        if isinstance(x, np.ndarray):
                            np.testing.assert_array_equal(x, y)
                        else:
                            assert x == y
    finally:
        siyu.set_num_threads(before)
        _core.set_parallel_min_rows(old_min)


def test_grouped_kernels_check_offsets():
    day = np.arange(4)
    for bad in (np.array([0, 3, 2]), np.array([1, 2, 4]), np.array([0, 2, 5])):
        with pytest.raises(ValueError, match="offsets must rise"):
            _core.cohort_first(None, day, None, None, 2, 10, bad)
    with pytest.raises(ValueError, match="length"):
        _core.cohort_first(None, day, None, None, 2, 10, np.array([0, 4]))
    with pytest.raises(TypeError, match="customer codes are needed"):
        _core.cohort_first(None, day, None, None, 2, 10)


# ---- small symmetric eigen-decomposition (fit Hessians and covariances) ---------------

@pytest.mark.parametrize("k", [1, 2, 3, 4, 12, 40, 64])
def test_sym_eigen_against_numpy(k):
    rng = np.random.default_rng(k)
    B = rng.normal(size=(k, k))
    cases = [B + B.T,                                   # indefinite
             B @ B.T + 1e-9 * np.eye(k),                 # ill-conditioned positive definite
             np.diag(rng.normal(size=k)),                # already diagonal
             np.ones((k, k)),                            # rank one: k-1 equal eigenvalues 0
             1e200 * (B + B.T), 1e-200 * (B + B.T)]      # extreme scales
    for A in cases:
        w, V = _core.sym_eigen(A)
        w0 = np.linalg.eigvalsh(A)
        scale = np.abs(w0).max() or 1.0
        np.testing.assert_allclose(w, w0, rtol=0, atol=1e-13 * k * scale)
        assert np.all(np.diff(w) >= 0)
        np.testing.assert_allclose(V.T @ V, np.eye(k), atol=1e-13 * k)
        np.testing.assert_allclose(V @ np.diag(w) @ V.T, A, atol=1e-13 * k * scale)
    assert not np.shares_memory(w, A)


def test_sym_eigen_bad_input():
    w, V = _core.sym_eigen(np.zeros((3, 3)))
    assert np.all(w == 0) and np.array_equal(V, np.eye(3))
    for bad in (np.ones((2, 3)), np.ones(4), np.ones((65, 65)), np.zeros((0, 0))):
        with pytest.raises(ValueError, match="square matrix"):
            _core.sym_eigen(bad)
    with pytest.raises(ValueError, match="NaN or inf"):
        _core.sym_eigen(np.array([[1.0, np.nan], [np.nan, 1.0]]))
    # the upper triangle is what is read: a symmetric input is left as it was
    A = np.array([[2.0, 1.0], [1.0, 3.0]])
    before = A.copy()
    _core.sym_eigen(A)
    assert np.array_equal(A, before)


def test_fit_covariance_is_the_inverse_hessian():
    """What the fits report as the parameters' covariance is the inverse of their
    Hessian (computed without LAPACK) as numpy.linalg.inv gives it."""
    import siyu
    from siyu.models import _linalg
    rng = np.random.default_rng(3)
    B = rng.normal(size=(6, 6))
    H = B @ B.T + 0.5 * np.eye(6)
    np.testing.assert_allclose(_linalg.inv_sym(H), np.linalg.inv(H), rtol=1e-12, atol=1e-14)
    with pytest.raises(np.linalg.LinAlgError):
        _linalg.inv_sym(np.zeros((3, 3)))
    s = siyu.Transactions(siyu.datasets.load_cdnow(), customer="customer_id", time="date",
                          amount="amount").summary(end="1997-09-30", unit="W")
    m = siyu.BetaGeo().fit(s)
    e = m.params_.to_numpy()
    # SEs from the Hessian of the log parameters: delta method back to the parameters
    assert np.all(np.isfinite(m.standard_errors_)) and np.all(m.standard_errors_ > 0)
    np.testing.assert_allclose(np.sqrt(np.diag(m.variance_matrix_)), m.standard_errors_,
                               rtol=1e-12)
    np.testing.assert_allclose(m.variance_matrix_.to_numpy() / np.outer(e, e),
                               m._cov_theta, rtol=1e-12)


@pytest.mark.parametrize("dtype", [bool, np.int8, np.uint16, np.int32, np.int64, np.float64,
                                   ">f8", "<i4", "datetime64[ns]", np.complex128])
def test_take_matches_numpy_fancy_index(dtype):
    rng = np.random.default_rng(4)
    values = rng.integers(0, 100, 300_001).astype(dtype)
    idx = rng.integers(0, len(values), 1_000_003)
    got = _core.take(values, idx)
    want = values[idx]
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)
    # strided input, empty index
    np.testing.assert_array_equal(_core.take(values[::3], idx[:5] // 3), values[::3][idx[:5] // 3])
    assert len(_core.take(values, np.array([], np.int64))) == 0


def test_take_refuses_what_it_cannot_gather():
    values = np.arange(10.0)
    for bad in ([10], [-1], [0, 2**62]):
        with pytest.raises(IndexError, match="outside"):
            _core.take(values, np.array(bad, np.int64))
    with pytest.raises(TypeError, match="1-d"):
        _core.take(np.zeros((2, 2)), np.array([0]))
    with pytest.raises(TypeError, match="1-d"):
        _core.take(np.array(["a", "b"], object), np.array([0]))
    with pytest.raises(TypeError):
        _core.take([1.0, 2.0], np.array([0]))


@pytest.mark.parametrize("k,levels,n", [(1, 5, 50_000), (3, 40, 200_000), (7, 2, 120_000),
                                        (4, 1000, 30)])
def test_collapse_rows_matches_pandas(k, levels, n):
    """The hash collapse (with its look-ahead prefetching) against pandas: the distinct
    rows in first-occurrence order, each with its summed weight; -0.0 equals 0.0."""
    rng = np.random.default_rng(k * 1000 + levels)
    cols = [rng.integers(-levels // 2, levels // 2 + 1, n).astype(np.float64) / 4
            for _ in range(k)]
    cols[0][rng.random(n) < 0.1] = -0.0
    w = rng.random(n)
    u, uw = _core.collapse_rows(tuple(cols), w)
    df = pd.DataFrame({f"c{j}": c + 0.0 for j, c in enumerate(cols)})   # -0.0 -> 0.0
    df["w"] = w
    exp = df.groupby([f"c{j}" for j in range(k)], sort=False)["w"].sum()
    assert len(uw) == len(exp)
    got = np.column_stack([np.asarray(u[j]) + 0.0 for j in range(k)])
    np.testing.assert_array_equal(got, np.array(exp.index.tolist()).reshape(len(exp), k))
    np.testing.assert_allclose(uw, exp.to_numpy(), rtol=1e-12)
    # no weights: counts
    u1, c1 = _core.collapse_rows(tuple(cols), None)
    np.testing.assert_array_equal(c1, df.groupby([f"c{j}" for j in range(k)], sort=False)
                                  .size().to_numpy())


@pytest.mark.parametrize("values", [
    np.random.default_rng(2).integers(-5, 40, 5000),           # small range: bincount
    np.random.default_rng(3).integers(0, 10**12, 700),         # wide range: np.unique
    np.array([7]), np.zeros(0, np.int64), np.array([-3, -3, 10**15])])
def test_dense_codes_and_counts_equal_np_unique(values):
    from siyu._periods import dense_codes, dense_counts

    u, inv = dense_codes(values)
    eu, einv = np.unique(values, return_inverse=True)
    np.testing.assert_array_equal(u, eu)
    np.testing.assert_array_equal(inv, einv.ravel())
    u, c = dense_counts(values)
    eu, ec = np.unique(values, return_counts=True)
    np.testing.assert_array_equal(u, eu)
    np.testing.assert_array_equal(c, ec)
