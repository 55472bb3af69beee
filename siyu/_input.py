"""Turning user input (pandas, NumPy, dicts, polars, Arrow) into validated arrays.

Everything here produces fresh, C-contiguous arrays; the caller's data is never
modified.  Errors name the column and say how to fix the problem.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import pandas as pd

NS_PER_DAY = 86_400_000_000_000
# Days per time unit.  "M" is an average calendar month: 365.25 / 12 days.
UNIT_DAYS = {"D": 1.0, "W": 7.0, "M": 365.25 / 12.0}
PERIOD_CODES = {"D": 0, "W": 1, "M": 2, "Q": 3, "Y": 4}
_PERIOD_ALIASES = {"DAY": "D", "WEEK": "W", "MONTH": "M", "QUARTER": "Q", "YEAR": "Y",
                   "MS": "M", "ME": "M", "QS": "Q", "QE": "Q", "YS": "Y", "YE": "Y", "A": "Y"}


def period_code(value: str, allowed: str, what: str) -> str:
    """Normalise a period/unit name ("D", "W", "M", ...) and check it is allowed."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a string such as {', '.join(repr(a) for a in allowed)}; "
                        f"got {value!r}")
    key = value.strip().upper()
    key = _PERIOD_ALIASES.get(key, key)
    if key not in allowed:
        raise ValueError(f"unknown {what} {value!r}; use one of "
                         f"{', '.join(repr(a) for a in allowed)}")
    return key


def _describe_rows(mask: np.ndarray, limit: int = 5) -> str:
    idx = np.flatnonzero(mask)
    shown = ", ".join(str(i) for i in idx[:limit])
    more = f" and {idx.size - limit} more" if idx.size > limit else ""
    return f"{idx.size} row(s) (positions {shown}{more})"


def _is_polars(obj: Any) -> bool:
    return type(obj).__module__.split(".")[0] == "polars"


def _is_arrow(obj: Any) -> bool:
    return type(obj).__module__.split(".")[0] == "pyarrow"


def table_columns(data: Any, names: list[str]) -> dict[str, Any]:
    """Fetch the named columns of a DataFrame-like object as pandas Series or arrays."""
    if data is None:
        raise TypeError("no data given: pass a DataFrame, or arrays as customer=, time=, amount=")
    if _is_polars(data) or _is_arrow(data):
        cols = [c for c in names]
        available = list(data.columns) if _is_polars(data) else list(data.column_names)
        missing = [c for c in cols if c not in available]
        if missing:
            raise ValueError(_missing_message(missing, available))
        sub = data.select(cols)
        frame = sub.to_pandas()
        return {c: frame[c] for c in cols}
    if isinstance(data, pd.DataFrame):
        missing = [c for c in names if c not in data.columns]
        if missing:
            raise ValueError(_missing_message(missing, list(data.columns)))
        return {c: data[c] for c in names}
    if isinstance(data, Mapping):
        missing = [c for c in names if c not in data]
        if missing:
            raise ValueError(_missing_message(missing, list(data.keys())))
        return {c: data[c] for c in names}
    raise TypeError(f"unsupported data type {type(data).__name__}: pass a pandas or polars "
                    "DataFrame, a pyarrow Table or a dict of arrays")


def _missing_message(missing: list[str], available: list[Any]) -> str:
    avail = ", ".join(repr(a) for a in available[:20])
    return (f"column(s) {', '.join(repr(m) for m in missing)} not found in the data; "
            f"available columns: {avail}. Pass the right names as customer=, time=, amount=")


def _as_series(values: Any, name: str) -> pd.Series:
    if isinstance(values, pd.Series):
        return values
    if isinstance(values, (pd.Index, pd.Categorical)):
        return pd.Series(values, name=name)
    if _is_polars(values) or _is_arrow(values):
        return values.to_pandas()
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"column {name!r} must be 1-dimensional, got shape {arr.shape}")
    return pd.Series(arr, name=name, copy=False)


def customers(values: Any, name: str) -> tuple[np.ndarray, pd.Index]:
    """Factorise customer ids into int64 codes 0..k-1 (codes follow sorted ids)."""
    s = _as_series(values, name)
    if s.isna().any():
        raise ValueError(f"customer column {name!r} has missing ids in "
                         f"{_describe_rows(s.isna().to_numpy())}; drop or fill them first")
    if s.dtype == bool:
        raise TypeError(f"customer column {name!r} is boolean; pass customer ids")
    if s.dtype.kind in "iu" and (s.dtype.kind == "i" or s.max() <= np.iinfo(np.int64).max):
        # integer ids: direct addressing or a hash table in C (much faster than pandas)
        from siyu import _core

        codes, uniques = _core.factorize_int64(s.to_numpy(dtype=np.int64))
        return codes, pd.Index(uniques.astype(s.dtype, copy=False), name=name)
    codes, uniques = pd.factorize(s, sort=True)
    index = pd.Index(uniques, name=name)
    return np.ascontiguousarray(codes, dtype=np.int64), index


def check_tz(tz: Any, name: str = "tz") -> None:
    """None, a tzinfo, or an IANA zone name pandas knows; else an error naming the argument."""
    if tz is None or isinstance(tz, _dt.tzinfo):
        return
    if not isinstance(tz, str):
        raise TypeError(f"{name} must be a time zone name such as {name}='Asia/Shanghai', got "
                        f"{type(tz).__name__}")
    try:
        pd.Timestamp(0, tz="UTC").tz_convert(tz)
    except Exception:
        raise ValueError(f"{name}={tz!r} is not a known time zone; use an IANA name such as "
                         f"{name}='Asia/Shanghai'") from None


def times_to_days(values: Any, name: str, tz: str | None = None) -> np.ndarray:
    """Convert a time column to int64 days since 1970-01-01 (local calendar days).

    tz-aware times are converted to ``tz`` (when given) and then taken as local wall
    time; naive times are taken as given.
    """
    check_tz(tz)
    if isinstance(values, np.ndarray) and values.dtype.kind == "M":
        arr = values
        if np.isnat(arr).any():
            raise ValueError(f"time column {name!r} has missing times (NaT) in "
                             f"{_describe_rows(np.isnat(arr))}; drop them or fill them")
        return np.ascontiguousarray(arr.astype("datetime64[D]").view(np.int64))
    s = _as_series(values, name)
    dtype = s.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        if tz is not None:
            s = s.dt.tz_convert(tz)
        s = s.dt.tz_localize(None)
    elif dtype.kind == "M":
        pass
    elif dtype.kind in "iufcb":
        raise TypeError(f"time column {name!r} has numeric dtype {dtype}; convert it first, "
                        f"e.g. pd.to_datetime(df[{name!r}], unit='s')")
    else:
        s = _parse_times(s, name, tz)
    arr = s.to_numpy()
    if np.isnat(arr).any():
        raise ValueError(f"time column {name!r} has missing times (NaT) in "
                         f"{_describe_rows(np.isnat(arr))}; drop them or fill them")
    return np.ascontiguousarray(arr.astype("datetime64[D]").view(np.int64))


def _parse_times(s: pd.Series, name: str, tz: str | None) -> pd.Series:
    was_null = s.isna().to_numpy()
    try:
        parsed = pd.to_datetime(s, errors="coerce", format="mixed")
    except (ValueError, TypeError, OverflowError) as exc:
        # mixed offsets or out-of-range values: go through UTC
        try:
            parsed = pd.to_datetime(s, errors="coerce", utc=True, format="mixed")
        except Exception:
            raise ValueError(f"time column {name!r} could not be parsed as dates: {exc}") from None
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        if tz is not None:
            parsed = parsed.dt.tz_convert(tz)
        parsed = parsed.dt.tz_localize(None)
    bad = parsed.isna().to_numpy() & ~was_null
    if bad.any():
        first = s[bad].iloc[0]
        raise ValueError(f"time column {name!r} has unparseable or out-of-range values in "
                         f"{_describe_rows(bad)}, e.g. {first!r}; fix them or parse the column "
                         "yourself with pd.to_datetime")
    return parsed


def amounts(values: Any, name: str, what: str = "amount") -> np.ndarray:
    """Validate an amount (or quantity) column: numeric and finite.

    Returns a float64 array that may share memory with the input: callers must not
    modify it (Transactions stores a reordered copy).
    """
    s = _as_series(values, name)
    if s.dtype == bool or s.dtype.kind not in "iuf":
        raise TypeError(f"{what} column {name!r} has dtype {s.dtype}; it must be numeric. "
                        f"Convert it with pd.to_numeric(df[{name!r}])")
    arr = s.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(arr)
    if bad.any():
        hint = " (refunds are negative amounts)" if what == "amount" else ""
        raise ValueError(f"{what} column {name!r} has NaN or infinite values in "
                         f"{_describe_rows(bad)}; drop or fill them{hint}")
    return arr


def labels(values: Any, name: str) -> tuple[np.ndarray, pd.Index]:
    """Factorise a label column (e.g. channel).  Missing values get their own label."""
    s = _as_series(values, name)
    codes, uniques = pd.factorize(s, sort=True, use_na_sentinel=True)
    codes = np.asarray(codes, dtype=np.int64)
    if (codes < 0).any():
        codes = codes.copy()
        codes[codes < 0] = len(uniques)
        uniques = pd.Index(list(uniques) + ["(missing)"], name=name)
    return np.ascontiguousarray(codes), pd.Index(uniques, name=name)


def flags(values: Any, name: str) -> np.ndarray:
    """Validate a membership flag column: booleans or 0/1; missing counts as False."""
    s = _as_series(values, name)
    if s.dtype == bool:
        return np.ascontiguousarray(s.to_numpy(), dtype=np.int8)
    if s.dtype.kind in "iuf" or s.dtype == object or str(s.dtype) == "boolean":
        filled = s.fillna(0) if s.dtype.kind != "b" else s
        try:
            arr = filled.to_numpy(dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"member column {name!r} must be boolean or 0/1") from None
        if not np.isin(arr, (0.0, 1.0)).all():
            raise ValueError(f"member column {name!r} must hold only True/False or 0/1")
        return np.ascontiguousarray(arr, dtype=np.int8)
    raise TypeError(f"member column {name!r} has dtype {s.dtype}; it must be boolean or 0/1")


def to_day(value: Any, name: str) -> int:
    """Convert a scalar date-like (str, Timestamp, datetime, date, datetime64) to a day number."""
    if value is None:
        raise ValueError(f"{name} must be a date")
    if isinstance(value, (bool, int, float, np.bool_, np.integer, np.floating)):
        # pandas would read a number as nanoseconds since 1970 (20240101 -> 1970-01-01)
        shown = value.item() if isinstance(value, np.generic) else value
        raise TypeError(f"{name}={shown!r} is a number, not a date; pass a date string such "
                        f"as {name}='2024-01-01' (or a Timestamp / datetime)")
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ValueError(f"{name}={value!r} is not a valid date: {exc}") from None
    if ts is pd.NaT:
        raise ValueError(f"{name} must be a date, got NaT")
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return int(np.datetime64(ts.to_datetime64(), "D").view(np.int64))


def days_to_dates(days: np.ndarray) -> np.ndarray:
    """int64 day numbers -> datetime64 array (ns when representable, else s)."""
    d = np.asarray(days, dtype=np.int64).view("datetime64[D]")
    if d.size == 0 or (days.min() > -106_000 and days.max() < 106_000):
        return d.astype("datetime64[ns]")
    return d.astype("datetime64[s]")


def day_to_timestamp(day: int) -> pd.Timestamp:
    return pd.Timestamp(np.datetime64(int(day), "D"))


@dataclass
class Log:
    """The validated transaction log, one contiguous array per column.

    Rows are stored grouped by customer code and sorted by day within a customer
    (ties keep the input order), so rows of customer ``c`` are
    ``offsets[c]:offsets[c + 1]``.  The input's own row order is not kept.
    """

    cust: np.ndarray          # int64 codes 0..k-1, non-decreasing
    ids: pd.Index             # customer ids, position = code
    day: np.ndarray           # int64 days since epoch
    amount: np.ndarray | None  # float64
    channel: np.ndarray | None  # int64 codes
    channel_labels: pd.Index | None
    member: np.ndarray | None  # int8 flags
    names: dict[str, str | None]
    offsets: np.ndarray       # int64, k + 1 entries
    items: "Items | None" = None  # line items, when product/category/quantity are given


@dataclass
class Items:
    """Line items of paid orders (item-level analyses: replenishment, recall, cross-sell).

    One row per line item that was bought and not refunded away, grouped by customer
    code and sorted by day within a customer (ties keep the input order), with the same
    customer codes as the :class:`Log`; rows of customer ``c`` are
    ``offsets[c]:offsets[c + 1]``.  Refund rows (negative amounts) are not items.
    """

    cust: np.ndarray                  # int64 codes, non-decreasing
    day: np.ndarray                   # int64 days since epoch
    offsets: np.ndarray               # int64, k + 1 entries
    product: np.ndarray | None        # int64 codes into product_labels
    product_labels: pd.Index | None
    category: np.ndarray | None       # int64 codes into category_labels
    category_labels: pd.Index | None
    quantity: np.ndarray | None       # float64 units
    amount: np.ndarray | None         # float64 line amount
