"""Calendar periods and acquisition: the helpers cohorts, retention, survival and unit
economics share (DESIGN.md section 2 and 2b').

This module sits below every analysis module and imports none of them.

- a customer's **first purchase** is their first row with amount >= 0 on or before
  ``end``; the acquisition group is the channel of that row;
- with ``existing_before=D`` the customers whose first purchase in the log is before D
  are **existing**: their group code is -1 (in no acquisition cohort) and
  :attr:`Acquisition.existing` marks them;
- a calendar period that ``end`` cuts short (``end`` before its last day) is
  **partial** (:func:`end_period`).
"""
from __future__ import annotations

import itertools
import math
import numbers
import os
import sys
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np
import pandas as pd

from siyu import _core
from siyu import _input as inp

if TYPE_CHECKING:  # pragma: no cover
    from siyu.transactions import Transactions

NO_DAY = np.iinfo(np.int64).max
PERIOD_FREQ = {"D": "D", "W": "W-SUN", "M": "M", "Q": "Q-DEC", "Y": "Y-DEC"}

# Largest per-customer bitset (in 64-bit words) the kernels may allocate; None means
# "no more memory than bucketing the log would take".  Tests set it to 0 to exercise
# the bucketing path.
MAX_BITSET_WORDS: int | None = None

#: The first cohort is suspect (probably customers acquired before the log starts)
#: when it is more than this many times the median size of the next three cohorts.
EXISTING_RATIO = 2.0


#: Largest table an analysis may build, in bytes (its C counts plus the pandas frames
#: of the result).  A table whose size comes from the span of the data (daily cohorts
#: over decades, migration over thousands of period ends) is checked against it before
#: anything is allocated; the error says what it would need and what to change.  Raise
#: it on a big machine (``siyu._periods.MAX_TABLE_BYTES = 16 << 30``).
MAX_TABLE_BYTES = 2 << 30


def show(value: Any) -> str:
    """A value as a user would type it, for messages (no NumPy reprs: 3, not np.int64(3))."""
    if isinstance(value, np.generic):
        value = value.item()
    elif isinstance(value, np.ndarray) and value.size <= 10:
        return f"array({value.tolist()!r})"
    return repr(value)


def table_bytes(cells: int, bytes_per_cell: int) -> int:
    """Bytes of a table of ``cells`` cells (Python ints: never overflows)."""
    return int(cells) * int(bytes_per_cell)


def size_text(nbytes: int) -> str:
    """Human size: '3.2 GiB', '640 MiB'."""
    if nbytes >= 1 << 30:
        return f"{nbytes / (1 << 30):,.1f} GiB"
    return f"{max(nbytes, 1) / (1 << 20):,.0f} MiB"


def check_table_size(what: str, shape: tuple[int, ...], bytes_per_cell: int,
                     fixes: list[str]) -> None:
    """ValueError when a table of ``shape`` would exceed :data:`MAX_TABLE_BYTES`.

    ``what`` names the call (e.g. "cohorts(period='D')"), ``fixes`` are pasteable
    suggestions, best first."""
    cells = 1
    for dim in shape:
        cells *= int(dim)
    need = table_bytes(cells, bytes_per_cell)
    if need <= MAX_TABLE_BYTES:
        return
    dims = " x ".join(f"{int(d):,}" for d in shape)
    gib = 1 << max((need - 1) >> 30, 1).bit_length()     # a power of two >= need, in GiB
    tips = "; ".join(fixes + [f"or raise the limit on a machine with the memory: "
                              f"siyu._periods.MAX_TABLE_BYTES = {gib} << 30"])
    raise ValueError(f"{what} would build a {dims} table ({cells:,} cells, about "
                     f"{size_text(need)}), more than the {size_text(MAX_TABLE_BYTES)} siyu "
                     f"allows for one table.  To fit: {tips}")


def _range_text(name: str, low: int, high: int, unit: str, got: int, hint: str) -> str:
    bound = f">= {low:,}" if got < low else f"<= {high:,}"
    return f"{name} must be {bound} {unit} (from {low:,} to {high:,}); got {got:,} ({hint})"


def whole_numbers(values: Any, name: str, low: int, high: int, example: str,
                  unit: str = "days", sort: bool = True) -> np.ndarray:
    """Distinct whole numbers in [low, high] from an int or an iterable of them.

    Sorted (``sort``) or in first-seen order.  Never iterates more than a bounded
    number of entries (a ``range`` is checked from its ends; an endless generator is
    refused), so a huge argument is an error at once, not a hang.  Errors name the
    argument and show ``example``.
    """
    hint = f"e.g. {name}={example}"
    if isinstance(values, (bool, np.bool_, str, bytes, Mapping)) or values is None:
        raise TypeError(f"{name} must be whole numbers of {unit} ({hint}), got {show(values)}")
    if isinstance(values, (numbers.Number, np.generic)):
        values = [values]
    if isinstance(values, range):
        if len(values) == 0:
            raise ValueError(f"{name} is empty; {hint}")
        ends = (min(values[0], values[-1]), max(values[0], values[-1]))
        if ends[0] < low or ends[1] > high:
            bad = ends[0] if ends[0] < low else ends[1]
            raise ValueError(_range_text(name, low, high, unit, bad, hint))
        arr = np.arange(values.start, values.stop, values.step, dtype=np.int64)
    else:
        limit = 4 * (high - low + 1) + 16          # generous: duplicates are allowed
        try:
            items = list(itertools.islice(iter(values), limit + 1))
        except TypeError:
            raise TypeError(f"{name} must be whole numbers of {unit} ({hint}), got "
                            f"{show(values)}") from None
        if len(items) > limit:
            raise ValueError(f"{name} has more than {limit:,} entries; {name} lists distinct "
                             f"{unit} in {low:,}..{high:,} ({hint})")
        out = []
        for v in items:
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (numbers.Real, np.number)):
                raise TypeError(f"{name} must be whole numbers of {unit} ({hint}); got {show(v)}")
            if not isinstance(v, (numbers.Integral, np.integer)):
                fv = float(v)
                if not (math.isfinite(fv) and fv.is_integer()):
                    raise TypeError(f"{name} must be whole numbers of {unit} ({hint}); got {show(v)}")
                v = int(fv)
            v = int(v)
            if v < low or v > high:
                raise ValueError(_range_text(name, low, high, unit, v, hint))
            out.append(v)
        if not out:
            raise ValueError(f"{name} is empty; {hint}")
        arr = np.array(out, dtype=np.int64)
    if sort:
        return np.unique(arr)
    _, first = np.unique(arr, return_index=True)
    return arr[np.sort(first)]


def bitset_budget(n_rows: int, k: int) -> int:
    """Bitset budget (64-bit words) for the cohort and retention kernels."""
    if MAX_BITSET_WORDS is not None:
        return int(MAX_BITSET_WORDS)
    return max(2 * n_rows + k, 1 << 20)


def check_period(period: Any) -> str:
    """Normalise a cohort period ("D", "W", "M", "Q", "Y"); ValueError/TypeError otherwise."""
    return inp.period_code(period, "DWMQY", "period")


def _dense(values: np.ndarray, counts: bool) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values of an int64 array, with each value's count (``counts``) or
    each entry's position among them.  O(n + range) with no sort when the values span a
    range not much wider than their number (periods, groups, small keys); ``np.unique``
    otherwise."""
    values = np.asarray(values)
    if values.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    lo, hi = int(values.min()), int(values.max())
    if hi - lo > 4 * values.size + (1 << 16):
        uniq, other = np.unique(values, return_inverse=not counts, return_counts=counts)
        return uniq.astype(np.int64), np.asarray(other).ravel().astype(np.int64)
    shifted = values - lo
    per = np.bincount(shifted)
    present = np.flatnonzero(per)
    uniq = present.astype(np.int64) + lo
    if counts:
        return uniq, per[present].astype(np.int64)
    lut = np.cumsum(per > 0, dtype=np.int64) - 1
    return uniq, lut[shifted]


def dense_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values of an int64 array and each value's position among them
    (``np.unique(values, return_inverse=True)``; no sort for a small range)."""
    return _dense(values, counts=False)


def dense_counts(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values of an int64 array and how often each occurs
    (``np.unique(values, return_counts=True)``; no sort for a small range)."""
    return _dense(values, counts=True)


def period_labels(index: np.ndarray, period: str) -> pd.PeriodIndex:
    """pandas Periods for siyu period indices."""
    code = inp.PERIOD_CODES[period]
    starts = _core.period_start(np.asarray(index, dtype=np.int64), code)
    dates = pd.DatetimeIndex(inp.days_to_dates(starts))
    return dates.to_period(PERIOD_FREQ[period])


def period_of(day: int, period: str) -> int:
    """siyu period index of one day."""
    code = inp.PERIOD_CODES[period]
    return int(_core.period_index(np.array([day], dtype=np.int64), code)[0])


def period_start_day(index: int, period: str) -> int:
    """First day of the period with siyu index ``index``."""
    code = inp.PERIOD_CODES[period]
    return int(_core.period_start(np.array([index], dtype=np.int64), code)[0])


@dataclass(frozen=True)
class EndPeriod:
    """The calendar period holding ``end`` and how much of it is observed."""

    index: int          # siyu period index of the period holding end
    days_observed: int  # days from the period's first day through end (inclusive)
    days: int           # days in the period

    @property
    def partial(self) -> bool:
        """True when ``end`` is before the period's last day."""
        return self.days_observed < self.days


def end_period(end_day: int, period: str) -> EndPeriod:
    """The period holding ``end_day``: index, days observed, days in it."""
    idx = period_of(end_day, period)
    start = period_start_day(idx, period)
    nxt = period_start_day(idx + 1, period)
    return EndPeriod(idx, end_day - start + 1, nxt - start)


def existing_day(tx: "Transactions", existing_before: Any) -> int | None:
    """Day number of ``existing_before`` (None when not given), checked against the log."""
    if existing_before is None:
        return None
    if isinstance(existing_before, (bool, int, float, np.integer, np.floating)):
        raise TypeError(f"existing_before must be a date such as '2011-01-01', got "
                        f"{show(existing_before)}")
    return inp.to_day(existing_before, "existing_before")


# --------------------------------------------------------------------------- acquisition
@dataclass
class Acquisition:
    """Per-customer first purchase (by ``end``) and acquisition group."""

    first_day: np.ndarray        # int64, NO_DAY when the customer has no purchase by end
    group: np.ndarray            # int64 group code, -1 when in no cohort (none or existing)
    group_labels: pd.Index | None  # labels of the group codes, None without by
    by_name: str | None
    n_excluded: int              # customers with rows by end but no purchase (only refunds)
    existing: np.ndarray | None = None   # bool per customer: existing (existing_before=)
    existing_group: np.ndarray | None = None  # group code of existing customers, else -1
    existing_before: pd.Timestamp | None = None

    @property
    def n_existing(self) -> int:
        return 0 if self.existing is None else int(self.existing.sum())


def resolve_by(tx: "Transactions", by: Any) -> str | None:
    """Check ``by`` against the columns of the log; return the column name or None."""
    if by is None:
        return None
    log = tx._log
    chname = log.names.get("channel")
    if not isinstance(by, str):
        raise TypeError(f"by must be a column name (str) such as {chname or 'channel'!r}, "
                        f"got {type(by).__name__}")
    if log.channel is None:
        raise ValueError(f"by={show(by)}: the log has no channel column; pass channel={show(by)} "
                         "when building siyu.Transactions to split by it")
    if by not in (chname, "channel"):
        raise ValueError(f"by={show(by)} is not a column of this log; the available column is "
                         f"{show(chname)} (the channel= given to Transactions)")
    return chname or "channel"


def acquisition(tx: "Transactions", end_day: int, by: Any,
                existing_before: Any = None) -> Acquisition:
    """First purchase day and acquisition group (channel of the first purchase row).

    With ``existing_before``, customers whose first purchase is before that date get
    group -1 (in no acquisition cohort) and are marked in ``existing``.
    """
    log = tx._log
    by_name = resolve_by(tx, by)
    ex_day = existing_day(tx, existing_before)
    if ex_day is not None and ex_day > end_day:
        raise ValueError(f"existing_before={inp.day_to_timestamp(ex_day).date()} is after the "
                         f"end of the analysis ({inp.day_to_timestamp(end_day).date()}): every "
                         "customer would be 'existing'; choose an earlier date, e.g. the first "
                         "day of the second month of the log")
    k = tx.n_customers
    group_in = log.channel if by_name is not None else None
    first, fgroup, n_excluded = _core.cohort_first(None, log.day, log.amount, group_in, k,
                                                   end_day, log.offsets)
    has = first != NO_DAY
    if by_name is None:
        group = np.where(has, 0, -1).astype(np.int64)
        labels = None
    else:
        group = np.where(has, fgroup, -1).astype(np.int64)
        labels = log.channel_labels
    existing = existing_group = None
    if ex_day is not None:
        existing = has & (first < ex_day)
        existing_group = np.where(existing, group, -1).astype(np.int64)
        group = np.where(existing, -1, group)
    return Acquisition(first, group, labels, by_name, int(n_excluded), existing, existing_group,
                       None if ex_day is None else inp.day_to_timestamp(ex_day))


def existing_suspect(first_day: np.ndarray, period: str = "M") -> str | None:
    """A message when the first acquisition cohort looks like pre-existing customers.

    ``first_day``: first purchase days of the customers in acquisition cohorts.  Daily
    and weekly cohorts are checked by month (a day or a week is too noisy).  The first
    cohort is suspect when it has at least 10 customers and more than
    :data:`EXISTING_RATIO` times the median size of the (up to) three cohorts after it.
    """
    return existing_suspect_from_counts(*suspect_counts(first_day, period), period)


def suspect_counts(first_day: np.ndarray, period: str = "M") -> tuple[np.ndarray, np.ndarray]:
    """The checked periods (siyu period index) of ``first_day`` and their customer counts:
    what :func:`existing_suspect_from_counts` needs (counts of disjoint logs add up)."""
    check = period if period in ("M", "Q", "Y") else "M"
    if first_day.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    per = _core.period_index(np.ascontiguousarray(first_day, dtype=np.int64),
                             inp.PERIOD_CODES[check])
    return dense_counts(per)


def existing_suspect_from_counts(index: np.ndarray, counts: np.ndarray,
                                 period: str = "M") -> str | None:
    """:func:`existing_suspect` from :func:`suspect_counts` (sorted distinct periods)."""
    if len(index) == 0:
        return None
    check = period if period in ("M", "Q", "Y") else "M"
    index = np.asarray(index, dtype=np.int64)
    lo = int(index[0])
    n_next = min(3, int(index[-1]) - lo)       # cohorts after the first, up to the last one
    if n_next == 0:
        return None
    near = index <= lo + 3
    sizes = np.zeros(4, np.int64)
    sizes[index[near] - lo] = np.asarray(counts, dtype=np.int64)[near]
    nxt = sizes[1:1 + n_next]
    if sizes[0] < 10:
        return None
    med = float(np.median(nxt))
    if sizes[0] <= EXISTING_RATIO * med:
        return None
    first = period_labels(np.array([lo]), check)[0]
    nxt_start = inp.day_to_timestamp(period_start_day(lo + 1, check)).date()
    return (f"the first cohort ({first}: {int(sizes[0]):,} customers) is more than "
            f"{EXISTING_RATIO:g}x the median of the next ones ({med:,.0f}): the log probably "
            "starts after the shop did, and that cohort holds customers acquired earlier. "
            f"Pass existing_before='{nxt_start}' to keep them out of the acquisition cohorts")


def user_stacklevel() -> int:
    """stacklevel for warnings.warn pointing at the first frame outside siyu."""
    here = os.path.dirname(os.path.abspath(__file__))
    frame = sys._getframe(1)
    level = 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(here):
        frame = frame.f_back
        level += 1
    return level


class ExistingCustomersWarning(UserWarning):
    """The first acquisition cohort looks like customers acquired before the log starts."""


def warn_existing(acq: Acquisition, period: str = "M") -> str | None:
    """Warn (UserWarning) when the first cohort looks pre-existing; return the message."""
    if acq.existing is not None:
        return None
    return warn_suspect(existing_suspect(acq.first_day[acq.group >= 0], period))


def warn_suspect(msg: str | None) -> str | None:
    """Give the :class:`ExistingCustomersWarning` ``msg`` (if any); return it."""
    if msg is not None:
        warnings.warn(msg, ExistingCustomersWarning, stacklevel=user_stacklevel())
    return msg
