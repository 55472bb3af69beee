"""Turning user input (pandas, NumPy, dicts, polars, Arrow) into validated arrays.

Everything here produces fresh, C-contiguous arrays; the caller's data is never
modified.  Errors name the column and say how to fix the problem.
"""
from __future__ import annotations

import copy
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
    if key not in tuple(allowed):   # exact names: "DW" or "" is not a substring match
        raise ValueError(f"unknown {what} {value!r}; use one of "
                         f"{', '.join(repr(a) for a in allowed)}")
    return key


# Supported calendar range of every time column: years 1 to 9999 (proleptic
# Gregorian).  Nanosecond times (pandas' default) are always inside it; coarser
# datetime64 units and parsed strings are checked once, at construction.
DAY_MIN = -719_162        # 0001-01-01
DAY_MAX = 2_932_896       # 9999-12-31
TIME_RANGE_TEXT = "years 1 to 9999"

# datetime64 units -> (units per day, day multiplier) of the raw int64 values
_UNIT_SCALE = {"ns": (NS_PER_DAY, 1), "us": (86_400_000_000, 1), "ms": (86_400_000, 1),
               "s": (86_400, 1), "m": (1_440, 1), "h": (24, 1), "D": (1, 1), "W": (1, 7)}


def _describe_rows(mask: np.ndarray, limit: int = 5) -> str:
    idx = np.flatnonzero(mask)
    shown = ", ".join(str(i) for i in idx[:limit])
    more = f" and {idx.size - limit} more" if idx.size > limit else ""
    return f"{idx.size} row(s) (positions {shown}{more})"


def show(value: Any) -> str:
    """A value as a user would type it (no NumPy reprs such as np.int64(3))."""
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)


def _is_polars(obj: Any) -> bool:
    return type(obj).__module__.split(".")[0] == "polars"


def _is_arrow(obj: Any) -> bool:
    return type(obj).__module__.split(".")[0] == "pyarrow"


def table_columns(data: Any, names: list[str]) -> dict[str, Any]:
    """Fetch the named columns of a DataFrame-like object (pandas Series or Arrow arrays)."""
    if data is None:
        raise TypeError("no data given: pass a DataFrame, or arrays as customer=, time=, amount=")
    names = list(dict.fromkeys(names))
    if _is_polars(data):
        available = list(data.columns)
        missing = [c for c in names if c not in available]
        if missing:
            raise ValueError(_missing_message(missing, available))
        table = data.select(names).to_arrow()
        return {c: table.column(c) for c in names}
    if _is_arrow(data) and hasattr(data, "column_names"):
        available = list(data.column_names)
        missing = [c for c in names if c not in available]
        if missing:
            raise ValueError(_missing_message(missing, available))
        return {c: data.column(c) for c in names}
    if isinstance(data, pd.DataFrame):
        missing = [c for c in names if c not in data.columns]
        if missing:
            raise ValueError(_missing_message(missing, list(data.columns)))
        out = {}
        for c in names:
            col = data[c]
            if isinstance(col, pd.DataFrame):
                raise ValueError(f"the data has several columns named {c!r}; rename them first")
            out[c] = col
        return out
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


def check_column(values: Any, key: str) -> Any:
    """Reject what is not a column: scalars, generators, iterators, sets, 2-d arrays."""
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{key}= got the text {values!r} where a column is needed: pass the name "
                        f"of a column of data= (with data given) or an array of values")
    if isinstance(values, (set, frozenset, Mapping)) or (
            not hasattr(values, "__len__") and (hasattr(values, "__next__") or
                                                hasattr(values, "__iter__"))):
        raise TypeError(f"{key}= must be a list, array or Series, got a "
                        f"{type(values).__name__}; pass list(...) of it")
    if not hasattr(values, "__len__"):
        raise TypeError(f"{key}= must be a column name or an array of values (one per row), "
                        f"got the single value {show(values)}")
    return values


def _native(arr: np.ndarray) -> np.ndarray:
    """The same values in native byte order (big-endian arrays are converted)."""
    if arr.dtype.byteorder not in ("=", "|") and arr.dtype.byteorder != (
            "<" if np.little_endian else ">"):
        return arr.astype(arr.dtype.newbyteorder("="))
    return arr


def as_series(values: Any, name: str) -> pd.Series:
    """Any 1-d column as a pandas Series (Arrow data stays Arrow-backed, zero-copy)."""
    if isinstance(values, pd.Series):
        return values
    if isinstance(values, (pd.Index, pd.Categorical)) or isinstance(values, pd.api.extensions.ExtensionArray):
        return pd.Series(values, name=name)
    if _is_polars(values):
        values = values.to_arrow()
    if _is_arrow(values):
        import pyarrow as pa

        if isinstance(values, pa.ChunkedArray) and values.num_chunks == 0:
            values = pa.array([], type=values.type)
        return pd.Series(pd.arrays.ArrowExtensionArray(values), name=name, copy=False)
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"column {name!r} must be 1-dimensional, got shape {arr.shape}")
    return pd.Series(_native(arr), name=name, copy=False)


def arrow_type(s: pd.Series) -> Any:
    dt = s.dtype
    return dt.pyarrow_dtype if isinstance(dt, pd.ArrowDtype) else None


def from_arrow(s: pd.Series) -> pd.Series:
    """An Arrow-backed Series as a NumPy-backed one (nulls as NaN / NaT / None)."""
    import pyarrow as pa

    arr = pa.chunked_array(s.array._pa_array) if hasattr(s.array, "_pa_array") else pa.array(s)
    return pd.Series(arr.to_pandas(), name=s.name, copy=False).set_axis(s.index)


def _is_text(s: pd.Series) -> bool:
    if isinstance(s.dtype, pd.StringDtype):
        return True
    t = arrow_type(s)
    if t is not None:
        import pyarrow as pa

        return pa.types.is_string(t) or pa.types.is_large_string(t)
    return False


def _dtype_words(s: pd.Series) -> str:
    """A non-numeric column's type in words, the same for text under pandas 2 (dtype
    object) and pandas 3 (dtype str)."""
    if _is_text(s) or (s.dtype == object
                       and pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty")):
        return "holds text"
    return f"has dtype {s.dtype}"


# ---------------------------------------------------------------------------- ids
@dataclass
class Ids:
    """Customer (or order) ids as int64 values for the C kernels.

    ``index`` is None when ``values`` are the user's own integer ids (``dtype`` is
    theirs); otherwise ``values`` are codes 0..k-1 following the sorted ids in
    ``index``.  ``missing`` marks rows without an id (only when allowed).
    """

    values: np.ndarray
    index: pd.Index | None
    dtype: Any
    n_stripped: int = 0
    missing: np.ndarray | None = None
    text: bool = False          # ids were text (stripped, never parsed)

    def labels(self, uniques: np.ndarray, name: str | None) -> pd.Index:
        """The ids of the given values (as returned by the grouping kernel)."""
        if self.index is None:
            return pd.Index(uniques.astype(self.dtype, copy=False), name=name)
        if len(uniques) == len(self.index):
            return self.index.rename(name)
        return self.index[uniques].rename(name)


def _arrow_text(s: pd.Series) -> Any:
    """The values as a pyarrow string array when they are all text (or missing); None
    without pyarrow (the pandas path then factorises them)."""
    try:
        import pyarrow as pa
    except ImportError:
        return None

    if _is_text(s):
        arr = s.array
        if hasattr(arr, "_pa_array"):
            return pa.chunked_array(arr._pa_array).combine_chunks()
        return pa.array(arr, type=pa.large_string() if len(s) > 2**26 else pa.string(),
                        from_pandas=True)
    if s.dtype != object:
        return None
    try:
        arr = pa.array(s, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return None                       # mixed types: the pandas path
    return arr if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type) else None


def _arrow_text_codes(arr: Any, sort: bool) -> tuple[np.ndarray, pd.Index, int, np.ndarray]:
    """Factorise text with Arrow compute: encode, strip the distinct values and merge
    those that became equal, sort them; "" after stripping is missing.  The distinct
    ids come back as an Arrow-backed string Index (pandas' ``string[pyarrow]``, the
    default string type of pandas 3): no Python string per id is created."""
    import pyarrow as pa
    import pyarrow.compute as pc

    enc = pc.dictionary_encode(arr)
    idx = enc.indices.to_numpy(zero_copy_only=False)
    if enc.indices.null_count:
        idx = np.where(enc.indices.is_null().to_numpy(zero_copy_only=False), -1, idx)
    idx = idx.astype(np.int64, copy=False)
    dic = enc.dictionary
    trimmed = pc.utf8_trim_whitespace(dic)
    changed = pc.not_equal(dic, trimmed).to_numpy(zero_copy_only=False)
    n_stripped = 0
    if changed.any():
        counts = np.bincount(idx[idx >= 0], minlength=len(dic))
        n_stripped = int(counts[changed].sum())
    enc2 = pc.dictionary_encode(trimmed)
    j = enc2.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    tu = enc2.dictionary
    if sort and len(tu) > 1:
        order = pc.sort_indices(tu).to_numpy(zero_copy_only=False)
        rank = np.empty(len(order), np.int64)
        rank[order] = np.arange(len(order))
        j = rank[j]
        tu = tu.take(pa.array(order))
    empty = np.flatnonzero(pc.equal(pc.utf8_length(tu), 0).to_numpy(zero_copy_only=False))
    if empty.size:                          # "" or "   " is a missing id
        e = int(empty[0])
        j = np.where(j == e, -1, np.where(j > e, j - 1, j))
        tu = pc.filter(tu, pc.not_equal(pc.utf8_length(tu), 0))
    codes = np.where(idx >= 0, j[np.maximum(idx, 0)], -1) if len(j) else np.full(len(idx), -1)
    uniques = pd.Index(pd.arrays.ArrowStringArray(pa.chunked_array([tu.cast(pa.string())])))
    return np.ascontiguousarray(codes, dtype=np.int64), uniques, n_stripped, codes < 0


def _text_codes(s: pd.Series, what: str, name: str, allow_missing: bool, sort: bool
                ) -> tuple[np.ndarray, pd.Index, int, np.ndarray]:
    """Factorise ids that are text (or mixed): surrounding whitespace stripped and
    counted, never parsed as numbers.  Returns (codes, uniques, n_stripped, missing,
    whether the ids are text)."""
    arr = _arrow_text(s)
    if arr is not None:
        codes, uniques, n_stripped, missing = _arrow_text_codes(arr, sort)
        text = True
    else:
        codes, uniques, n_stripped, missing = _pandas_text_codes(s, sort)
        text = uniques.dtype == object and any(isinstance(v, str) for v in uniques[:1000])
    if missing.any() and not allow_missing:
        raise ValueError(f"{what} column {name!r} has missing ids in {_describe_rows(missing)}; "
                         "drop or fill them first")
    return codes, uniques.rename(name), n_stripped, missing, text


def _pandas_text_codes(s: pd.Series, sort: bool) -> tuple[np.ndarray, pd.Index, int, np.ndarray]:
    """Mixed or non-text ids (e.g. text and numbers in one object column)."""
    raw_codes, raw_uniques = pd.factorize(s, sort=False, use_na_sentinel=True)
    raw_codes = np.asarray(raw_codes, dtype=np.int64)
    raw_uniques = pd.Index(raw_uniques)
    n_stripped = 0
    if raw_uniques.dtype == object:
        u = raw_uniques.to_numpy(dtype=object)
        is_str = np.fromiter((isinstance(v, str) for v in u), bool, len(u))
        stripped = u.copy()
        stripped[is_str] = [v.strip() for v in u[is_str]]
        changed = np.flatnonzero(is_str & (stripped != u))
        if changed.size:
            per_unique = np.bincount(raw_codes[raw_codes >= 0], minlength=len(u))
            n_stripped = int(per_unique[changed].sum())
        blank = is_str & (stripped == "")
        stripped[blank] = None
        uniq_codes, uniques = pd.factorize(pd.Index(stripped, dtype=object), sort=sort,
                                           use_na_sentinel=True)
        uniq_codes = np.asarray(uniq_codes, dtype=np.int64)
        codes = np.where(raw_codes >= 0, uniq_codes[np.maximum(raw_codes, 0)], -1) \
            if len(uniq_codes) else np.full(len(raw_codes), -1)
        uniques = pd.Index(uniques, dtype=object)
    elif sort:
        order = np.argsort(raw_uniques.to_numpy(), kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        codes = np.where(raw_codes >= 0, rank[np.maximum(raw_codes, 0)], -1)
        uniques = raw_uniques[order]
    else:
        codes, uniques = raw_codes, raw_uniques
    return np.ascontiguousarray(codes, dtype=np.int64), uniques, n_stripped, codes < 0


def ids(values: Any, name: str, what: str = "customer", allow_missing: bool = False,
        sort: bool = True) -> Ids:
    """Validate an id column.  Integer ids pass through as int64 (the grouping kernel
    factorises them); text ids are stripped and factorised, never parsed as numbers."""
    s = as_series(values, name)
    at = arrow_type(s)
    if at is not None and not _is_text(s):
        s = from_arrow(s)
    if s.dtype == bool or str(s.dtype) == "boolean":
        raise TypeError(f"{what} column {name!r} is boolean; pass {what} ids")
    if s.dtype.kind in "iu" and not isinstance(s.dtype, pd.api.extensions.ExtensionDtype) \
            or str(s.dtype) in ("Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32"):
        nullable = isinstance(s.dtype, pd.api.extensions.ExtensionDtype)
        if nullable and s.isna().any():          # NumPy integers cannot be missing
            na = s.isna().to_numpy()
            if not allow_missing:
                raise ValueError(f"{what} column {name!r} has missing ids in {_describe_rows(na)}; "
                                 "drop or fill them first")
            return _int_ids_with_missing(s, na, name)
        dtype = s.dtype.numpy_dtype if hasattr(s.dtype, "numpy_dtype") else s.dtype
        if dtype.kind == "i" or len(s) == 0 or s.max() <= np.iinfo(np.int64).max:
            arr = _native(s.to_numpy(dtype=np.int64))
            return Ids(np.ascontiguousarray(arr), None, dtype,
                       missing=np.zeros(len(arr), bool) if allow_missing else None)
    codes, uniques, n_stripped, missing, text = _text_codes(s, what, name, allow_missing, sort)
    return Ids(codes, uniques, uniques.dtype, n_stripped, missing if allow_missing else None,
               text)


def _int_ids_with_missing(s: pd.Series, na: np.ndarray, name: str) -> Ids:
    from siyu import _core

    vals = s.to_numpy(dtype=np.float64, na_value=0).astype(np.int64)
    codes, uniques = _core.factorize_int64(vals)
    codes = np.where(na, -1, codes)
    return Ids(np.ascontiguousarray(codes), pd.Index(uniques, name=name), np.int64, 0, na)


def _strictly_increasing_text(index: pd.Index) -> bool:
    """An Arrow-backed text Index whose ids are sorted and distinct, checked in one Arrow
    pass (pandas would first convert 2M Arrow strings to Python objects for its engine)."""
    if len(index) < 2 or not str(index.dtype).startswith(("string", "large_string")):
        return False
    try:
        import pyarrow as pa
        import pyarrow.compute as pc

        arr = pa.array(index.array)
    except Exception:                       # not Arrow-backed (e.g. python storage)
        return False
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)) or arr.null_count:
        return False
    return bool(pc.all(pc.less(arr.slice(0, len(arr) - 1), arr.slice(1))).as_py())


def coded_ids(codes: Any, ids: Any, name: str) -> Ids:
    """Customer ids given as integer codes (positions) into an Index of distinct ids.

    The ids are taken as given (not stripped); they are sorted when they are not already
    (codes follow sorted ids), and ids no row refers to are dropped.
    """
    index = ids if isinstance(ids, pd.Index) else pd.Index(ids)
    s = as_series(codes, name)
    if s.dtype.kind not in "iu" or isinstance(s.dtype, pd.api.extensions.ExtensionDtype):
        raise TypeError(f"customer column {name!r}: with customer_ids= the customer column "
                        f"must hold integer codes (positions into customer_ids), got dtype "
                        f"{s.dtype}")
    arr = np.ascontiguousarray(_native(s.to_numpy()).astype(np.int64, copy=False))
    k = len(index)
    if arr.size and (int(arr.min()) < 0 or int(arr.max()) >= k):
        bad = (arr < 0) | (arr >= k)
        raise ValueError(f"customer column {name!r}: codes must lie in 0..{k - 1} (positions "
                         f"into customer_ids, which has {k} ids); out of range in "
                         f"{_describe_rows(bad)}")
    if index.hasnans:
        raise ValueError("customer_ids has missing ids; every position must hold an id")
    # sorted and distinct text ids (what siyu's readers give) need neither step below
    strict = _strictly_increasing_text(index)
    if not strict and not index.is_monotonic_increasing:
        order = np.asarray(index.argsort(kind="stable"), dtype=np.int64)
        index = index.take(order)
        rank = np.empty(k, dtype=np.int64)
        rank[order] = np.arange(k, dtype=np.int64)
        arr = rank[arr]
    if k > 1 and not strict:
        same = np.asarray(index[1:] == index[:-1], dtype=bool)
        if same.any():
            shown = ", ".join(repr(str(v)) for v in index[1:][same][:3])
            raise ValueError(f"customer_ids must be distinct; repeated: {shown}")
    used = np.bincount(arr, minlength=k) > 0 if arr.size else np.zeros(k, bool)
    if not used.all():
        remap = np.cumsum(used, dtype=np.int64) - 1
        arr = remap[arr]
        index = index[used]
    text = index.dtype.kind not in "iuf"
    return Ids(np.ascontiguousarray(arr, dtype=np.int64), index.rename(name), index.dtype,
               text=text)


def customers(values: Any, name: str) -> tuple[np.ndarray, pd.Index]:
    """Factorise customer ids into int64 codes 0..k-1 (codes follow sorted ids)."""
    from siyu import _core

    got = ids(values, name)
    if got.index is not None:
        return got.values, got.index
    codes, uniques = _core.factorize_int64(got.values)
    return codes, pd.Index(uniques.astype(got.dtype, copy=False), name=name)


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


# ---------------------------------------------------------------------------- times
@dataclass
class Times:
    """Raw int64 time values with day = floor(values / div) * mult."""

    values: np.ndarray
    div: int
    mult: int
    source: Any = None    # what was parsed (for error messages): the input Series


def _datetime64_raw(arr: np.ndarray, name: str) -> Times:
    arr = _native(arr)
    unit, count = np.datetime_data(arr.dtype)
    raw = arr.view(np.int64)
    if unit in ("M", "Y"):
        # calendar units: convert to days, after checking the supported range
        ok = raw != np.iinfo(np.int64).min
        lo, hi = (1 - 1970) * (12 if unit == "M" else 1), (9999 - 1970 + 1) * (12 if unit == "M" else 1) - 1
        bad = ok & ((raw < lo // count) | (raw > hi // count))
        if bad.any():
            raise ValueError(_range_message(name, bad, arr))
        if not ok.all():
            raise ValueError(_nat_message(name, ~ok))
        return Times(np.ascontiguousarray(arr.astype("datetime64[D]").view(np.int64)), 1, 1, arr)
    if unit not in _UNIT_SCALE:
        raise TypeError(f"time column {name!r} has unsupported datetime64 unit {unit!r}; "
                        f"convert it with .astype('datetime64[s]')")
    if count != 1:
        # e.g. datetime64[10s]: to the base unit, checking that it fits
        nat = raw == np.iinfo(np.int64).min
        big = ~nat & (np.abs(raw.astype(np.float64)) * count >= 2.0 ** 62)
        if big.any():
            raise ValueError(_range_message(name, big, arr))
        raw = np.where(nat, raw, raw * count)
    div, mult = _UNIT_SCALE[unit]
    return Times(np.ascontiguousarray(raw), div, mult, arr)


def times(values: Any, name: str, tz: str | None = None) -> Times:
    """A time column as raw int64 values and their scale (see :class:`Times`).

    tz-aware times are converted to ``tz`` (when given) and then taken as local wall
    time; naive times are taken as given.  The supported range (years 1 to 9999) is
    checked by the grouping kernel (or :func:`days_of`).
    """
    check_tz(tz)
    if isinstance(values, np.ndarray) and values.dtype.kind == "M":
        return _datetime64_raw(values, name)
    s = as_series(values, name)
    if arrow_type(s) is not None:
        s = from_arrow(s)
    dtype = s.dtype
    if len(s) == 0 and not isinstance(dtype, pd.DatetimeTZDtype):
        return Times(np.zeros(0, np.int64), 1, 1, s)
    if isinstance(dtype, pd.DatetimeTZDtype):
        if tz is not None:
            s = s.dt.tz_convert(tz)
        s = s.dt.tz_localize(None)
    elif dtype.kind == "M":
        pass
    elif dtype.kind in "iufcb" or str(dtype) in ("Int64", "Float64", "boolean"):
        raise TypeError(_numeric_time_message(s, name))
    else:
        s = _parse_times(s, name, tz)
    return _datetime64_raw(s.to_numpy(), name)


def _numeric_time_message(s: pd.Series, name: str) -> str:
    """Numbers as times: propose the conversion their magnitude suggests."""
    v = pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    v = v[np.isfinite(v)]
    col = f"df[{name!r}]"
    if v.size and (v == np.round(v)).all() and v.min() >= 1000_01_01 and v.max() <= 9999_12_31:
        fix = f"pd.to_datetime({col}.astype('int64').astype(str), format='%Y%m%d')"
        what = "they look like yyyymmdd dates"
    elif v.size and v.min() >= 1e11 and v.max() < 1e14:
        fix, what = f"pd.to_datetime({col}, unit='ms')", "they look like epoch milliseconds"
    elif v.size and v.min() >= 1e8 and v.max() < 1e11:
        fix, what = f"pd.to_datetime({col}, unit='s')", "they look like epoch seconds"
    elif v.size and v.min() >= 20_000 and v.max() < 80_000:      # 1954 .. 2119
        fix = f"pd.to_datetime({col}, unit='D', origin='1899-12-30')"
        what = "they look like Excel serial dates"
    else:
        fix = f"pd.to_datetime({col}, unit='s')"
        what = "say which unit they are in"
    return (f"time column {name!r} holds numbers (dtype {s.dtype}), not times; {what}: "
            f"convert it first, e.g. {fix}")


def _parse_times(s: pd.Series, name: str, tz: str | None) -> pd.Series:
    """Parse text / objects as times.  Values in several time zones need ``tz=`` (the
    local calendar day is ambiguous otherwise); one zone gives its own wall time."""
    import warnings

    was_null = s.isna().to_numpy()
    plain = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            plain = pd.to_datetime(s, errors="coerce", format="mixed")
        except (ValueError, TypeError, OverflowError):
            plain = None
        if plain is not None and plain.dtype.kind != "M":
            plain = None                     # mixed offsets came back as objects
        parsed = plain
        if plain is None or isinstance(plain.dtype, pd.DatetimeTZDtype):
            # tz-aware values: through UTC, which never drops a value of another zone
            try:
                utc = pd.to_datetime(s, errors="coerce", utc=True, format="mixed")
            except Exception as exc:
                raise ValueError(f"time column {name!r} could not be parsed as dates: "
                                 f"{exc}") from None
            several = plain is None or int(plain.isna().sum()) != int(utc.isna().sum())
            if several:
                if tz is None:
                    raise ValueError(f"time column {name!r} mixes several time zones; say which "
                                     "local calendar day to use, e.g. tz='Asia/Shanghai'")
                parsed = utc
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        if tz is not None:
            parsed = parsed.dt.tz_convert(tz)
        parsed = parsed.dt.tz_localize(None)
    bad = parsed.isna().to_numpy() & ~was_null
    if bad.any():
        first = s[bad].iloc[0]
        raise ValueError(f"time column {name!r} has unparseable or out-of-range values in "
                         f"{_describe_rows(bad)}, e.g. {show(first)}; fix them or parse the "
                         "column yourself with pd.to_datetime")
    return parsed


def _nat_message(name: str, mask: np.ndarray) -> str:
    return (f"time column {name!r} has missing times (NaT) in {_describe_rows(mask)}; "
            "drop them or fill them")


def _range_message(name: str, mask: np.ndarray, source: Any) -> str:
    ex = ""
    try:
        first = np.asarray(source)[np.flatnonzero(mask)[0]]
        ex = f", e.g. {np.datetime_as_string(first) if isinstance(first, np.datetime64) else show(first)}"
    except Exception:
        pass
    return (f"time column {name!r} has times outside the supported range ({TIME_RANGE_TEXT}) in "
            f"{_describe_rows(mask)}{ex}; fix or drop those rows")


def time_problem(t: Times, name: str, code: int) -> ValueError:
    """The error for a bad-time code of the kernels (1 missing, 2 out of range)."""
    raw = t.values
    nat = raw == np.iinfo(np.int64).min
    if code == 1:
        return ValueError(_nat_message(name, nat))
    days = np.floor_divide(raw, t.div) if t.mult == 1 else raw.astype(np.float64) * t.mult
    bad = ~nat & ((days < DAY_MIN) | (days > DAY_MAX))
    return ValueError(_range_message(name, bad, t.source if t.source is not None else raw))


def days_of(t: Times, name: str) -> np.ndarray:
    """Day numbers of a time column, range-checked."""
    from siyu import _core

    got = _core.days_from_times(t.values, t.div, t.mult, DAY_MIN, DAY_MAX)
    if isinstance(got, int):
        raise time_problem(t, name, got)
    return got


def times_to_days(values: Any, name: str, tz: str | None = None) -> np.ndarray:
    """Convert a time column to int64 days since 1970-01-01 (local calendar days)."""
    return days_of(times(values, name, tz), name)


# ---------------------------------------------------------------------------- amounts
def numeric(values: Any, name: str, what: str) -> np.ndarray:
    s = as_series(values, name)
    if arrow_type(s) is not None:
        s = from_arrow(s)
    if s.dtype == bool or str(s.dtype) == "boolean" or (
            s.dtype.kind not in "iuf" and not (len(s) == 0 and (s.dtype == object or _is_text(s)))):
        fix = (f"pd.to_numeric(df[{name!r}].astype(str).str.replace(r'[￥¥$€£,\\s]|元|RMB|CNY', "
               "'', regex=True))")
        raise TypeError(f"{what} column {name!r} {_dtype_words(s)}; it must be numeric. "
                        f"Convert it first, e.g. {fix}, or read the file with siyu.read_orders, "
                        "which parses shop amounts such as '￥1,299.00'")
    return _native(np.ascontiguousarray(s.to_numpy(dtype=np.float64, na_value=np.nan)))


def amounts(values: Any, name: str, what: str = "amount") -> np.ndarray:
    """Validate an amount (or quantity) column: numeric and finite.

    Returns a float64 array that may share memory with the input: callers must not
    modify it.
    """
    arr = numeric(values, name, what)
    problem = amount_problem(arr)
    if problem:
        raise amount_error(arr, name, problem, what)
    return arr


def amount_problem(arr: np.ndarray) -> int:
    """0 when fine; 3 NaN/inf values; 4 values whose sum overflows."""
    # the sum of |values| is finite exactly when every value is finite and the sum does
    # not overflow; taken in cache-sized blocks (no full-size temporaries)
    total = 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        for lo in range(0, len(arr), 1 << 20):
            total += float(np.abs(arr[lo:lo + (1 << 20)]).sum())
        if np.isfinite(total):
            return 0
        return 3 if not np.isfinite(arr).all() else 4


def amount_error(arr: np.ndarray, name: str, code: int, what: str = "amount") -> ValueError:
    if code == 3:
        bad = ~np.isfinite(arr)
        hint = " (refunds are negative amounts)" if what == "amount" else ""
        return ValueError(f"{what} column {name!r} has NaN or infinite values in "
                          f"{_describe_rows(bad)}; drop or fill them{hint}")
    big = np.abs(arr) > np.finfo(np.float64).max / max(len(arr), 1)
    ex = show(float(arr[np.flatnonzero(big)[0]])) if big.any() else ""
    return ValueError(f"{what} column {name!r} has values so large that their sum overflows "
                      f"(becomes infinite) in {_describe_rows(big)}, e.g. {ex}; check the "
                      "column's units or drop those rows")


def refunds(values: Any, name: str) -> np.ndarray:
    """A refund column: numeric, >= 0, finite; missing means no refund (0)."""
    arr = numeric(values, name, "refund")
    arr = np.where(np.isnan(arr), 0.0, arr)
    bad = ~np.isfinite(arr) | (arr < 0)
    if bad.any():
        raise ValueError(f"refund column {name!r} must hold refunded amounts >= 0 (blank = no "
                         f"refund); it has negative or infinite values in {_describe_rows(bad)}")
    if not np.isfinite(arr.sum()):
        raise amount_error(arr, name, 4, "refund")
    return arr


def quantities(values: Any, name: str) -> np.ndarray:
    """A quantity column: numeric, finite and > 0."""
    arr = amounts(values, name, what="quantity")
    bad = ~(arr > 0)
    if bad.any():
        raise ValueError(f"quantity column {name!r} must be > 0; it has zero or negative values "
                         f"in {_describe_rows(bad)}; drop those rows (a returned item is a "
                         "negative amount, not a negative quantity)")
    return arr


def labels(values: Any, name: str) -> tuple[np.ndarray, pd.Index]:
    """Factorise a label column (e.g. channel).  Missing values get the "(missing)" label."""
    s = as_series(values, name)
    if arrow_type(s) is not None:
        s = from_arrow(s)
    codes, uniques = pd.factorize(s, sort=True, use_na_sentinel=True)
    codes = np.asarray(codes, dtype=np.int64)
    if (codes < 0).any():
        codes = codes.copy()
        codes[codes < 0] = len(uniques)
        uniques = pd.Index(list(uniques) + ["(missing)"], name=name)
    return np.ascontiguousarray(codes), pd.Index(uniques, name=name)


def flags(values: Any, name: str) -> np.ndarray:
    """Validate a membership flag column: booleans or 0/1; missing counts as False."""
    s = as_series(values, name)
    if arrow_type(s) is not None:
        s = from_arrow(s)
    if s.dtype == bool:
        return np.ascontiguousarray(s.to_numpy(), dtype=np.int8)
    if _is_text(s):                       # pandas 3's str dtype: as pandas 2's object
        s = s.astype(object)
    if s.dtype.kind in "iuf" or s.dtype == object or str(s.dtype) == "boolean":
        filled = s.fillna(0) if s.dtype.kind != "b" else s
        try:
            arr = filled.to_numpy(dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"member column {name!r} must be boolean or 0/1") from None
        if not np.isin(arr, (0.0, 1.0)).all():
            raise ValueError(f"member column {name!r} must hold only True/False or 0/1")
        return np.ascontiguousarray(arr, dtype=np.int8)
    raise TypeError(f"member column {name!r} {_dtype_words(s)}; it must be boolean or 0/1")


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
    day = int(np.datetime64(ts.to_datetime64(), "D").view(np.int64))
    if not DAY_MIN <= day <= DAY_MAX:      # e.g. "0000-01-01": outside the supported calendar
        raise ValueError(f"{name}={show(value)} is outside the supported range ({TIME_RANGE_TEXT})")
    return day


def days_to_dates(days: np.ndarray) -> np.ndarray:
    """int64 day numbers -> datetime64 array (ns when representable, else s)."""
    d = np.asarray(days, dtype=np.int64).view("datetime64[D]")
    if d.size == 0 or (days.min() > -106_000 and days.max() < 106_000):
        return d.astype("datetime64[ns]")
    return d.astype("datetime64[s]")


def day_to_timestamp(day: int) -> pd.Timestamp:
    return pd.Timestamp(np.datetime64(int(day), "D"))


class Log:
    """The validated transaction log, one contiguous array per column.

    Rows are stored grouped by customer code and sorted by day within a customer
    (ties keep the input order), so rows of customer ``c`` are
    ``offsets[c]:offsets[c + 1]``.  The input's own row order is not kept.  With order
    semantics each row is an order (or a refund) after the rules of DESIGN.md 2a.

    Fields: ``cust`` (int64 codes 0..k-1, non-decreasing: built from ``offsets`` on
    first use), ``ids`` (customer ids, position = code), ``day`` (int64 days since
    epoch), ``amount`` (float64 or None), ``channel`` (int64 codes or None),
    ``channel_labels``, ``member`` (int8 flags or None), ``names`` (column names),
    ``offsets`` (int64, k + 1 entries), ``items`` (line items or None); ``day_min`` /
    ``day_max`` (range of ``day``, None for an empty log).
    """

    def __init__(self, cust: np.ndarray | None, ids: pd.Index, day: np.ndarray,
                 amount: np.ndarray | None, channel: np.ndarray | None,
                 channel_labels: pd.Index | None, member: np.ndarray | None,
                 names: dict[str, str | None], offsets: np.ndarray,
                 items: "Items | None" = None, day_min: int | None = None,
                 day_max: int | None = None) -> None:
        self._cust = cust
        self.ids, self.day, self.amount = ids, day, amount
        self.channel, self.channel_labels, self.member = channel, channel_labels, member
        self.names, self.offsets, self.items = names, offsets, items
        if day.size and (day_min is None or day_max is None):
            day_min, day_max = int(day.min()), int(day.max())
        self.day_min = int(day_min) if day.size else None
        self.day_max = int(day_max) if day.size else None

    def with_channels(self, channel: np.ndarray, channel_labels: pd.Index) -> "Log":
        """A copy sharing every array but the channel codes and labels."""
        out = copy.copy(self)
        out.channel, out.channel_labels = channel, channel_labels
        return out

    @property
    def cust(self) -> np.ndarray:
        """Customer code of each row (read-only; materialised on first use)."""
        if self._cust is None:
            c = np.repeat(np.arange(len(self.offsets) - 1, dtype=np.int64), np.diff(self.offsets))
            c.flags.writeable = False
            self._cust = c
        return self._cust


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
