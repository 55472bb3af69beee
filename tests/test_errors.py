"""Bad input gets a clear Python error naming the column, never a crash or a leak."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

import siyu
from siyu import _core


def good() -> pd.DataFrame:
    return pd.DataFrame({"customer_id": [1, 1, 2], "date": ["2024-01-01", "2024-01-02", "2024-01-03"],
                         "amount": [1.0, 2.0, 3.0]})


BAD_INPUTS = {
    "missing_column": ("siyu.Transactions(df, customer='user')", ValueError, "'user' not found"),
    "nan_amount": ("siyu.Transactions(df.assign(amount=[1.0, np.nan, 2.0]))", ValueError,
                   "amount column 'amount' has NaN or infinite values in 1 row"),
    "inf_amount": ("siyu.Transactions(df.assign(amount=[1.0, 2.0, np.inf]))", ValueError,
                   "positions 2"),
    "text_amount": ("siyu.Transactions(df.assign(amount=['1', '2', 'x']))", TypeError,
                    "pd.to_numeric"),
    "nat_time": ("siyu.Transactions(df.assign(date=pd.to_datetime(['2024-01-01', None, '2024-01-02'])))",
                 ValueError, "missing times"),
    "unparseable_time": ("siyu.Transactions(df.assign(date=['2024-01-01', 'yesterday', '2024-01-02']))",
                         ValueError, "unparseable"),
    "out_of_range_time": ("siyu.Transactions(df.assign(date=['2024-01-01', '99999-01-01', '2024-01-02']))",
                          ValueError, "time column 'date'"),
    "numeric_time": ("siyu.Transactions(df.assign(date=[1, 2, 3]))", TypeError, "unit='s'"),
    "missing_id": ("siyu.Transactions(df.assign(customer_id=[1, None, 2]))", ValueError,
                   "missing ids"),
    "end_before_first": ("siyu.Transactions(df).summary(end='2023-01-01')", ValueError,
                         "before the first purchase"),
    "unknown_freq": ("siyu.Transactions(df).summary(freq='H')", ValueError, "unknown freq 'H'"),
    "unknown_unit": ("siyu.Transactions(df).summary(unit='fortnight')", ValueError, "unknown unit"),
    "bad_end": ("siyu.Transactions(df).summary(end='not a date')", ValueError, "end='not a date'"),
    "length_mismatch": ("siyu.Transactions(customer=np.arange(3), time=np.arange(2).astype('datetime64[D]'), amount=np.ones(3))",
                        ValueError, "has 2 rows"),
    "unsupported_data": ("siyu.Transactions([1, 2, 3])", TypeError, "unsupported data type"),
    "kernel_bad_codes": ("_core.summary(np.array([0, 5]), np.array([1, 2]), None, 2, 0, -10, 10)",
                         ValueError, "customer codes"),
    "kernel_bad_period": ("_core.summary(np.array([0]), np.array([1]), None, 1, 9, -10, 10)",
                          ValueError, "period code"),
    "kernel_2d": ("_core.summary(np.zeros((2, 2), dtype=np.int64), np.array([1, 2]), None, 1, 0, 0, 9)",
                  ValueError, "1-dimensional"),
    "kernel_float_codes": ("_core.summary(np.array([0.5]), np.array([1]), None, 1, 0, 0, 9)",
                           TypeError, "customer"),
    "kernel_negative_k": ("_core.summary(np.array([0]), np.array([1]), None, -1, 0, 0, 9)",
                          ValueError, ">= 0"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_raises_clear_error(name):
    code, exc, msg = BAD_INPUTS[name]
    df = good()
    with pytest.raises(exc) as info:
        eval(code, {"siyu": siyu, "np": np, "pd": pd, "df": df, "_core": _core})
    assert msg in str(info.value)


def test_far_future_dates_are_right_or_a_clear_error():
    """Year 2500 is outside pandas 2's nanosecond range but fine for pandas 3."""
    df = good().assign(date=["2024-01-01", "2500-01-01", "2024-01-02"])
    try:
        tx = siyu.Transactions(df)
    except ValueError as exc:
        assert "time column 'date'" in str(exc)
    else:
        assert tx.end == pd.Timestamp("2500-01-01")
        s = tx.summary()
        assert s.loc[1, "recency"] == (pd.Timestamp("2500-01-01") - pd.Timestamp("2024-01-01")).days
    # datetime64[s] arrays far outside the ns range are always handled
    times = np.array(["1500-03-01", "2600-01-01", "2024-01-01"], dtype="datetime64[s]")
    tx = siyu.Transactions(customer=np.array([1, 1, 2]), time=times, amount=np.ones(3))
    s = tx.summary()
    assert s.loc[1, "frequency"] == 1 and s.loc[1, "recency"] == (np.datetime64("2600-01-01") - np.datetime64("1500-03-01")).astype(int)


def test_bad_inputs_exit_with_python_error_not_a_signal():
    """Each bad input runs in its own interpreter: it must die of the exception."""
    for name, (code, exc, msg) in sorted(BAD_INPUTS.items()):
        script = textwrap.dedent(f"""
            import numpy as np, pandas as pd, siyu
            from siyu import _core
            df = pd.DataFrame({{"customer_id": [1, 1, 2],
                               "date": ["2024-01-01", "2024-01-02", "2024-01-03"],
                               "amount": [1.0, 2.0, 3.0]}})
            {code}
        """)
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 1, (name, proc.returncode, proc.stderr[-2000:])
        assert exc.__name__ in proc.stderr, (name, proc.stderr[-2000:])


def test_reference_counts_stable_on_success_and_error_paths():
    cust = np.array([0, 1, 0, 2], dtype=np.int64)
    day = np.array([10, 11, 12, 13], dtype=np.int64)
    amount = np.array([1.0, -2.0, 3.0, 4.0])
    bad_cust = np.array([0, 7, 0, 2], dtype=np.int64)
    f32 = amount.astype(np.float32)                       # forces a converted copy
    before = [sys.getrefcount(a) for a in (cust, day, amount, bad_cust, f32)]
    for _ in range(1000):
        out = _core.summary(cust, day, amount, 3, 0, -100, 100)
        _core.summary(cust, day, f32, 3, 2, -100, 100)
        with pytest.raises(ValueError):
            _core.summary(bad_cust, day, amount, 3, 0, -100, 100)
        with pytest.raises(ValueError):
            _core.summary(cust, day[:3], amount, 3, 0, -100, 100)
        _core.period_index(day, 2)
    after = [sys.getrefcount(a) for a in (cust, day, amount, bad_cust, f32)]
    assert before == after
    assert [sys.getrefcount(out[i]) for i in range(len(out))] == [2] * len(out)
    np.testing.assert_array_equal(out[0], [2, 0, 1])     # customer 1 only has a refund


def test_kernel_leaves_inputs_unchanged():
    rng = np.random.default_rng(0)
    cust = rng.integers(0, 50, 1000)
    day = rng.integers(0, 300, 1000)
    amount = rng.normal(10, 5, 1000)
    copies = [a.copy() for a in (cust, day, amount)]
    _core.summary(cust, day, amount, 50, 1, -1, 250)
    for a, c in zip((cust, day, amount), copies):
        np.testing.assert_array_equal(a, c)
