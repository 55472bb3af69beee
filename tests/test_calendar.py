"""Calendar kernels at the edges of their range: no overflow, inverse pairs hold."""
import datetime

import numpy as np
import pytest

from siyu import _core

EPOCH = datetime.date(1970, 1, 1).toordinal()


def _stdlib_index(day: int, period: int) -> int:
    d = datetime.date.fromordinal(day + EPOCH)
    if period == 0:
        return day
    if period == 1:
        return (day + 3) // 7
    if period == 2:
        return d.year * 12 + d.month - 1
    if period == 3:
        return d.year * 4 + (d.month - 1) // 3
    return d.year


@pytest.mark.parametrize("period", range(5))
def test_random_days_match_stdlib(period):
    rng = np.random.default_rng(period)
    lo = datetime.date(1, 1, 1).toordinal() - EPOCH
    hi = datetime.date(9999, 12, 31).toordinal() - EPOCH
    days = rng.integers(lo, hi + 1, 5000)
    idx = _core.period_index(days, period)
    assert idx.tolist() == [_stdlib_index(int(d), period) for d in days]
    start = _core.period_start(idx, period)
    assert (start <= days).all()
    assert (_core.period_index(start, period) == idx).all()
    assert (_core.period_index(start - 1, period) == idx - 1).all()


@pytest.mark.parametrize("period", range(5))
def test_extreme_days_are_consistent(period):
    ext = np.array([-10**9, -10**9 + 1, -1, 0, 10**9 - 1, 10**9], dtype=np.int64)
    idx = _core.period_index(ext, period)
    assert (np.diff(idx) >= 0).all()
    start = _core.period_start(idx, period)
    assert (start <= ext).all()
    assert (_core.period_index(start, period) == idx).all()
