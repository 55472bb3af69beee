"""Parsing text columns of shop exports (amounts, times, flags, ids) into arrays.

The columns arrive as pyarrow arrays (what the readers of :mod:`siyu.io` produce); the
work happens in C (``_core.parse_amounts`` / ``_core.parse_times``, multi-threaded) or
in Arrow compute, never in a Python loop over rows.  Every function takes ``where``, a
callable mapping row positions to the file locations shown in errors (``"line 12"``),
and raises a one-line ``ValueError`` naming the column, up to three offending raw values
with their locations, and a fix.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from siyu import _core

OK, EMPTY, BAD, AMBIG = 0, 1, 2, 3
_TIME_AUTO, _TIME_DMY, _TIME_MDY = 0, 1, 2
NO_OFFSET = -32768
SHOWN = 3            # offending values shown in an error

Where = Callable[[np.ndarray], list[str]]

# member flags: (value as written, lower-cased where ASCII) -> flag
TRUE_WORDS = ("是", "会员", "y", "yes", "true", "t", "1", "1.0", "是会员", "√")
FALSE_WORDS = ("否", "非会员", "n", "no", "false", "f", "0", "0.0", "不是", "×", "")

TOTAL_WORDS = ("合计", "总计", "小计", "总和", "汇总", "total", "subtotal", "grand total", "sum")


class ParseError(ValueError):
    """A column that could not be parsed; ``rows`` holds the offending row positions."""

    def __init__(self, message: str, rows: np.ndarray | None = None) -> None:
        super().__init__(message)
        self.rows = rows


def _text(arr: Any) -> pa.Array:
    """One contiguous string (or large_string) array, nulls -> ""."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = pc.cast(arr, pa.string())
    if arr.null_count:
        arr = pc.fill_null(arr, "")
    return arr


def _buffers(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(bytes, int64 offsets) of a string array; the bytes are not copied."""
    bufs = arr.buffers()
    n = len(arr)
    if pa.types.is_large_string(arr.type):
        offsets = np.frombuffer(bufs[1], dtype=np.int64, count=n + 1, offset=8 * arr.offset)
    else:
        offsets = np.frombuffer(bufs[1], dtype=np.int32, count=n + 1,
                                offset=4 * arr.offset).astype(np.int64)
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    return data, offsets


def _chunks(col: Any) -> list[pa.Array]:
    if isinstance(col, pa.ChunkedArray):
        return [c for c in col.chunks if len(c)] or [pa.array([], pa.string())]
    return [col]


def raw_values(col: Any, rows: np.ndarray) -> list[str]:
    """The raw text of some rows (for messages)."""
    if isinstance(col, (pa.Array, pa.ChunkedArray)):
        return [("" if v is None else str(v)) for v in col.take(pa.array(rows)).to_pylist()]
    return [str(col[int(r)]) for r in rows]


def show_rows(col: Any, rows: np.ndarray, where: Where, total: int | None = None) -> str:
    """``line 5: '￥1.2.3', line 9: 'abc' (and 7 more)`` for the first rows."""
    rows = np.asarray(rows)[:SHOWN]
    locs = where(rows)
    vals = raw_values(col, rows)
    parts = [f"{loc}: {val!r}" for loc, val in zip(locs, vals)]
    total = len(rows) if total is None else total
    more = f" (and {total - len(rows):,} more)" if total > len(rows) else ""
    return ", ".join(parts) + more


def drop_hint(what: str = "such rows") -> str:
    return (f"fix those lines in the file, or pass on_bad=\"drop\" to drop {what} "
            "(they are counted in tx.quality)")


# ---- amounts ------------------------------------------------------------------------
def amounts(col: Any, name: str, where: Where, *, what: str = "amount",
            blank: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Parse an amount column (text or numeric) to float64.

    Returns ``(values, bad)`` where ``bad`` is a boolean mask of unparseable values
    (and of blanks when ``blank`` is None); the caller decides whether they are an
    error or dropped.  Numeric Arrow columns are taken as they are (NaN/inf are bad).
    """
    chunks = _chunks(col)
    typ = chunks[0].type
    if pa.types.is_integer(typ) or pa.types.is_floating(typ) or pa.types.is_decimal(typ):
        arr = pa.chunked_array(chunks).cast(pa.float64())
        vals = arr.to_numpy(zero_copy_only=False).astype(np.float64, copy=True)
        missing = np.isnan(vals)
        if blank is not None:
            vals[missing] = blank
            missing[:] = False
        bad = missing | ~np.isfinite(vals)
        return vals, bad
    if pa.types.is_boolean(typ):
        raise TypeError(f"{what} column {name!r} holds true/false values, not amounts; "
                        f"pass the column of amounts as {what}=")
    n = sum(len(c) for c in chunks)
    out = np.empty(n, dtype=np.float64)
    empty_value = np.nan if blank is None else float(blank)
    status = np.empty(n, dtype=np.uint8)
    pos = 0
    for chunk in chunks:                      # each chunk parsed in place, on all cores
        data, offsets = _buffers(_text(chunk))
        _core.parse_amounts(data, offsets, empty_value, out, status, pos)
        pos += len(offsets) - 1
    bad = status == BAD if blank is not None else status != OK
    return out, bad


def amount_error(col: Any, name: str, bad: np.ndarray, where: Where, what: str = "amount",
                 arg: str = "amount") -> ParseError:
    rows = np.flatnonzero(bad)
    vals = raw_values(col, rows[:SHOWN])
    blank = all(v.strip() == "" for v in vals)
    kind = "blank" if blank else "not amounts"
    return ParseError(
        f"{what} column {name!r} ({arg}=): {rows.size:,} value(s) are {kind}: "
        f"{show_rows(col, rows, where, rows.size)}. Amounts may carry currency signs "
        f"(¥ ￥ $ € £ 元 RMB CNY), thousands separators and (1,234.00) negatives; "
        f"{drop_hint()}", rows)


# ---- times ----------------------------------------------------------------------------
def _numeric_times(vals: np.ndarray, name: str, time_format: str | None,
                   excel_ok: bool, col: Any, where: Where) -> tuple[np.ndarray, np.ndarray]:
    """Numbers as times: yyyymmdd, or Excel serial / epoch when told (or unambiguous)."""
    finite = np.isfinite(vals)
    secs = np.zeros(vals.size, dtype=np.int64)
    bad = ~finite
    v = np.where(finite, vals, 0.0)
    if time_format in ("s", "ms"):
        scale = 1.0 if time_format == "s" else 1e-3
        s = np.floor(v * scale)
        ok = finite & (s > -62135596800) & (s < 253402300800)     # years 1..9999
        secs[ok] = s[ok].astype(np.int64)
        return secs, ~ok
    is_int = finite & (v == np.floor(v))
    if time_format is None:
        ymd = is_int & (v >= 10000101) & (v <= 99991231)
        if ymd[finite].all() and finite.any():
            iv = v.astype(np.int64)
            y, m, d = iv // 10000, iv // 100 % 100, iv % 100
            okm = (m >= 1) & (m <= 12) & (d >= 1) & (d <= 31)
            month = ((y - 1970) * 12 + np.where(okm, m - 1, 0)).astype("datetime64[M]")
            day = month.astype("datetime64[D]") + np.where(okm, d - 1, 0)
            okd = okm & (day.astype("datetime64[M]") == month)
            secs = np.where(okd, day.view(np.int64) * 86400, 0).astype(np.int64)
            return secs, bad | ~okd
        serial = finite & (v >= 20000) & (v < 80000)
        if not (excel_ok and serial[finite].all()):
            rows = np.flatnonzero(finite)[:SHOWN]
            fix = _numeric_fix(float(np.median(v[finite])) if finite.any() else 0.0)
            raise ParseError(
                f"time column {name!r} holds numbers, not dates ({show_rows(col, rows, where, int(finite.sum()))}); "
                f"say what they are: pass {fix}", rows)
        time_format = "excel"
    if time_format == "excel":
        ok = finite & (v >= 1) & (v < 2958466)
        # Excel day 1 = 1900-01-01 with the 1900 leap-year bug: serial 60 is 1900-02-29
        s = np.round((v - 25569.0) * 86400.0)
        secs[ok] = s[ok].astype(np.int64)
        return secs, ~ok
    raise ValueError(f"time_format={time_format!r} does not apply to a numeric time column")


def _numeric_fix(sample: float) -> str:
    """What numbers in a time column most likely are, as the argument that reads them."""
    if 20000 <= sample < 80000:
        return 'time_format="excel" (Excel serial day numbers)'
    if 1e8 <= sample < 1e10:
        return 'time_format="s" (seconds since 1970-01-01)'
    if 1e11 <= sample < 1e13:
        return 'time_format="ms" (milliseconds since 1970-01-01)'
    return 'time_format= (a strftime format such as "%Y%m%d", or "excel", "s", "ms")'


def times(col: Any, name: str, where: Where, time_format: str | None = None, *,
          excel_ok: bool = False, raw: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Parse a time column to wall-clock seconds since 1970-01-01 (int64).

    Returns ``(seconds, bad)``; blanks and unparseable values are ``bad``.  UTC offsets
    in the text are applied (the result is then UTC) only when some value carries one;
    see :func:`times_with_offsets` for that case.
    """
    secs, offs, bad = times_with_offsets(col, name, where, time_format, excel_ok=excel_ok,
                                         raw=raw)
    if offs is not None:
        secs = secs - offs.astype(np.int64) * 60
    return secs, bad


def times_with_offsets(col: Any, name: str, where: Where, time_format: str | None = None, *,
                       excel_ok: bool = False, raw: Any = None
                       ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """As :func:`times`, returning the wall time and the offsets (minutes) separately.

    ``offsets`` is None when no value has a UTC offset.  A column where only some
    values carry an offset is an error (wall times and UTC times cannot be mixed).
    """
    raw = col if raw is None else raw
    chunks = _chunks(col)
    typ = chunks[0].type
    if pa.types.is_timestamp(typ) or pa.types.is_date(typ):
        arr = pa.chunked_array(chunks)
        tz = getattr(typ, "tz", None)
        if pa.types.is_date(typ):
            arr = arr.cast(pa.timestamp("s"))
        elif tz is not None:
            # keep the wall time of the stored zone; the caller converts with tz=
            arr = pc.local_timestamp(arr) if hasattr(pc, "local_timestamp") else arr
        arr = arr.cast(pa.timestamp(arr.type.unit, None)) if getattr(arr.type, "tz", None) else arr
        vals = arr.cast(pa.int64()).to_numpy(zero_copy_only=False)
        unit = {"s": 1, "ms": 1000, "us": 10**6, "ns": 10**9}[arr.type.unit]
        mask = arr.is_null().to_numpy(zero_copy_only=False)
        secs = np.where(mask, 0, vals // unit).astype(np.int64)
        return secs, None, mask
    if pa.types.is_integer(typ) or pa.types.is_floating(typ) or pa.types.is_decimal(typ):
        vals = pa.chunked_array(chunks).cast(pa.float64()).to_numpy(zero_copy_only=False)
        secs, bad = _numeric_times(np.asarray(vals, dtype=np.float64), name, time_format,
                                   excel_ok, raw, where)
        return secs, None, bad
    if time_format in ("excel", "s", "ms"):
        vals, badnum = amounts(col, name, where, what="time")
        secs, bad = _numeric_times(vals, name, time_format, True, raw, where)
        return secs, None, bad | badnum
    if time_format is not None and time_format not in ("dmy", "mdy"):
        return _strftime_times(col, name, time_format)
    mode = {"dmy": _TIME_DMY, "mdy": _TIME_MDY}.get(time_format or "", _TIME_AUTO)
    n = sum(len(c) for c in chunks)
    secs = np.empty(n, dtype=np.int64)
    offs = np.empty(n, dtype=np.int16)
    status = np.empty(n, dtype=np.uint8)
    stats = np.zeros(6, dtype=np.int64)
    texts = [_text(c) for c in chunks]
    pos = 0
    for text in texts:                        # each chunk parsed in place, on all cores
        data, offsets = _buffers(text)
        _, _, _, cst = _core.parse_times(data, offsets, mode, secs, offs, status, pos)
        stats[:4] += cst[:4]
        stats[4] = max(stats[4], cst[4])
        stats[5] = max(stats[5], cst[5])
        pos += len(offsets) - 1
    if stats[2]:                       # a/b/YYYY values: decide the order from the column
        first_big, second_big = stats[4] > 12, stats[5] > 12
        rows = np.flatnonzero(status == AMBIG)
        if first_big == second_big:
            why = ("both orders occur" if first_big
                   else "every day and month is 12 or less, so both readings are valid")
            raise ParseError(
                f"time column {name!r}: dates like {show_rows(raw, rows, where, rows.size)} "
                f"could be day/month/year or month/day/year ({why}); pass "
                f"time_format=\"dmy\" (day first) or time_format=\"mdy\" (month first)", rows)
        mode = _TIME_DMY if first_big else _TIME_MDY
        pos = 0
        for text in texts:
            data, offsets = _buffers(text)
            _core.parse_times(data, offsets, mode, secs, offs, status, pos)
            pos += len(offsets) - 1
        stats[3] = int(np.count_nonzero((offs != NO_OFFSET) & (status == OK)))
    bad = status != OK
    if not stats[3]:
        return secs, None, bad
    has = offs != NO_OFFSET
    mixed = ~has & ~bad
    if mixed.any():
        rows = np.flatnonzero(mixed)
        withoff = np.flatnonzero(has)[:1]
        raise ParseError(
            f"time column {name!r} mixes times with a UTC offset "
            f"({show_rows(raw, withoff, where, 1)}) and times without one "
            f"({show_rows(raw, rows, where, rows.size)}); give every time an offset, or "
            f"none", rows)
    return secs, np.where(has, offs, 0).astype(np.int16), bad


def _strftime_times(col: Any, name: str, fmt: str) -> tuple[np.ndarray, None, np.ndarray]:
    if "%" not in fmt:
        raise ValueError(f"time_format={fmt!r} is not a strftime format (e.g. \"%Y-%m-%d %H:%M\") "
                         f"nor one of \"dmy\", \"mdy\", \"excel\", \"s\", \"ms\"")
    text = pa.chunked_array([_text(c) for c in _chunks(col)])
    s = pd.Series(text.to_numpy(zero_copy_only=False), dtype=object).str.strip()
    parsed = pd.to_datetime(s, format=fmt, errors="coerce")
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    vals = parsed.to_numpy(dtype="datetime64[s]")
    bad = np.isnat(vals)
    secs = np.where(bad, 0, vals.view(np.int64))
    return secs.astype(np.int64), None, bad


def time_error(col: Any, name: str, bad: np.ndarray, where: Where,
               time_format: str | None) -> ParseError:
    rows = np.flatnonzero(bad)
    vals = raw_values(col, rows[:SHOWN])
    if all(v.strip() == "" for v in vals):
        return ParseError(f"time column {name!r} (time=): {rows.size:,} blank time(s): "
                          f"{show_rows(col, rows, where, rows.size)}; {drop_hint()}", rows)
    nums = []
    for v in vals:
        try:
            nums.append(float(v))
        except ValueError:
            break
    if not time_format and len(nums) == len(vals):
        return ParseError(f"time column {name!r} (time=) holds numbers, not dates: "
                          f"{show_rows(col, rows, where, rows.size)}; say what they are: pass "
                          f"{_numeric_fix(float(np.median(nums)))}", rows)
    known = ("" if time_format else
             "; the forms read without help are 2024-03-05, 2024/3/5 14:22:01, 2024年3月5日 "
             "14:22, 20240305 and ISO times with offsets, or pass time_format= (a strftime "
             "format such as \"%d.%m.%Y %H:%M\")")
    fmt = f" with time_format={time_format!r}" if time_format else ""
    return ParseError(f"time column {name!r} (time=): {rows.size:,} value(s) are not dates"
                      f"{fmt}: {show_rows(col, rows, where, rows.size)}{known}; {drop_hint()}",
                      rows)


# ---- flags, ids, labels ------------------------------------------------------------------
def flags(col: Any, name: str, where: Where, true_values: Sequence[str] = (),
          false_values: Sequence[str] = ()) -> np.ndarray:
    """Member flags (是/否, 会员/非会员, Y/N, yes/no, true/false, 1/0) -> bool array."""
    chunks = _chunks(col)
    typ = chunks[0].type
    arr = pa.chunked_array(chunks)
    if pa.types.is_boolean(typ):
        return arr.fill_null(False).to_numpy(zero_copy_only=False).astype(bool)
    if not (pa.types.is_string(typ) or pa.types.is_large_string(typ)):
        arr = arr.cast(pa.string())
    arr = pc.utf8_lower(pc.utf8_trim_whitespace(arr.fill_null("")))
    enc = arr.combine_chunks().dictionary_encode() if arr.num_chunks else pa.array([]).dictionary_encode()
    words = [str(w) for w in enc.dictionary.to_pylist()]
    yes = {w.lower() for w in TRUE_WORDS} | {str(w).strip().lower() for w in true_values}
    no = {w.lower() for w in FALSE_WORDS} | {str(w).strip().lower() for w in false_values}
    table = np.array([1 if w in yes else (0 if w in no else -1) for w in words] or [0],
                     dtype=np.int8)
    codes = enc.indices.to_numpy(zero_copy_only=False)
    out = table[codes] if codes.size else np.zeros(0, np.int8)
    if (out < 0).any():
        rows = np.flatnonzero(out < 0)
        first = {}
        for r, v in zip(rows[:200], raw_values(col, rows[:200])):
            first.setdefault(v.strip().lower(), v.strip())
        unknown = sorted({first.get(words[c], words[c]) for c in np.unique(codes[rows])})
        shown = ", ".join(repr(u) for u in unknown[:5])
        raise ParseError(
            f"member column {name!r} (member=): value(s) {shown} are not member flags "
            f"({show_rows(col, rows, where, rows.size)}); flags read as members: 是, 会员, "
            f"Y, yes, true, 1; as non-members: 否, 非会员, N, no, false, 0, blank. Map the "
            f"others with true_values=[{', '.join(repr(u) for u in unknown[:5])}] (members) "
            f"or false_values=[...] (non-members)", rows)
    return out.astype(bool)


def is_total_row(col: Any) -> np.ndarray:
    """Rows whose text is a totals label (合计 / 总计 / Total, ...)."""
    arr = pa.chunked_array(_chunks(col))
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return np.zeros(len(arr), dtype=bool)
    low = pc.utf8_lower(pc.utf8_trim_whitespace(arr.fill_null("")))
    hit = None
    for w in TOTAL_WORDS:
        m = pc.starts_with(low, w)
        hit = m if hit is None else pc.or_(hit, m)
    return hit.to_numpy(zero_copy_only=False).astype(bool) if hit is not None else \
        np.zeros(len(arr), dtype=bool)


def blank(col: Any) -> np.ndarray:
    """Rows that are null or only whitespace."""
    arr = pa.chunked_array(_chunks(col))
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return arr.is_null().to_numpy(zero_copy_only=False)
    t = pc.utf8_trim_whitespace(arr.fill_null(""))
    return pc.equal(pc.utf8_length(t), 0).to_numpy(zero_copy_only=False).astype(bool)


def as_text_ids(col: Any) -> pa.ChunkedArray:
    """Ids as text: strings stay as written; integers become their decimal text."""
    arr = pa.chunked_array(_chunks(col))
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        return arr
    if pa.types.is_floating(arr.type):
        # a spreadsheet stores 123 as 123.0: integral floats are written without ".0"
        vals = arr.to_numpy(zero_copy_only=False)
        integral = np.isfinite(vals) & (vals == np.floor(vals)) & (np.abs(vals) < 2**53)
        if integral[~np.isnan(vals)].all():
            return pa.chunked_array([pc.cast(pa.array(vals, mask=np.isnan(vals)).cast(pa.int64()),
                                             pa.string())])
    return arr.cast(pa.string())


def categorical(col: Any) -> pd.Categorical:
    """A text column as a pandas Categorical with sorted categories (one Arrow pass)."""
    arr = pa.chunked_array(_chunks(col))
    if arr.num_chunks != 1:
        arr = pa.chunked_array([arr.combine_chunks()])
    enc = arr.chunk(0).dictionary_encode()
    dictionary = enc.dictionary
    order = pc.array_sort_indices(dictionary).to_numpy(zero_copy_only=False)
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size)
    codes = enc.indices.to_numpy(zero_copy_only=False)
    if enc.null_count:
        valid = ~enc.is_null().to_numpy(zero_copy_only=False)
        codes = np.where(valid, rank[np.where(valid, codes, 0)], -1)
    else:
        codes = rank[codes] if codes.size else codes.astype(np.int64)
    cats = pd.Index(dictionary.take(pa.array(order)).to_numpy(zero_copy_only=False),
                    dtype=object)
    return pd.Categorical.from_codes(codes, categories=cats, validate=False)


def _keys_to_text(keys: np.ndarray) -> pa.Array:
    """Texts of digit keys (see _core.digit_keys): vectorised, 17 passes over the uniques."""
    k = keys.size
    v, ln = keys // 18, keys % 18
    mat = np.empty((k, 17), dtype=np.uint8)
    p = 10 ** np.arange(16, -1, -1, dtype=np.int64)
    for i in range(17):
        mat[:, i] = (v // p[i]) % 10 + 48
    data = mat[np.arange(17)[None, :] < ln[:, None]]
    offsets = np.zeros(k + 1, dtype=np.int64)
    np.cumsum(ln, out=offsets[1:])
    return pa.LargeStringArray.from_buffers(k, pa.py_buffer(offsets), pa.py_buffer(data))


def factorize_ids(col: Any) -> tuple[np.ndarray, pa.Array, int]:
    """Ids as text -> (codes, sorted unique texts, rows whose id had blanks stripped).

    Codes are int64 ranks of the stripped texts (-1 for a blank id).  Ids of digits
    only (zero-padded or not) take a C path; others go through Arrow's hash encoding.
    """
    arr = pa.chunked_array(_chunks(as_text_ids(col)))
    n = len(arr)
    keys = np.empty(n, dtype=np.int64)
    pos, digits = 0, True
    for chunk in arr.chunks:                  # chunk by chunk: no combined copy
        data, offsets = _buffers(_text(chunk))
        k = _core.digit_keys(data, offsets)
        if k is None:
            digits = False
            break
        keys[pos:pos + len(k)] = k
        pos += len(k)
    if digits and n:
        lens = pc.min_max(pc.binary_length(arr)).as_py()
        lo, hi = lens["min"], lens["max"]
        if lo == hi and lo > 0:
            # fixed-width ids (the usual zero-padded kind): the numbers themselves sort
            # like the texts and are dense when the ids are, so factorising is cheap
            scale = 18 * 10 ** (17 - lo)
            np.floor_divide(keys, scale, out=keys)
            codes, uniq = _core.factorize_int64(keys)
            del keys
            texts = pc.utf8_lpad(pc.cast(pa.array(uniq), pa.large_string()), lo, "0")
            return codes, texts, 0
        codes, uniq = _core.factorize_int64(keys)
        del keys
        if uniq.size and uniq[0] == -1:
            codes -= 1                       # the blank key sorts first
            uniq = uniq[1:]
        return codes, _keys_to_text(uniq), 0
    del keys
    text = _text(arr)
    enc = text.dictionary_encode()
    dictionary = enc.dictionary
    idx = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    stripped = pc.utf8_trim_whitespace(dictionary)
    changed = pc.not_equal(stripped, dictionary).to_numpy(zero_copy_only=False)
    n_stripped = 0
    if changed.any():
        per = np.bincount(idx, minlength=len(dictionary))
        n_stripped = int(per[changed & (pc.utf8_length(stripped).to_numpy(
            zero_copy_only=False) > 0)].sum())
    enc2 = stripped.dictionary_encode()
    d2 = enc2.dictionary
    order = pc.array_sort_indices(d2).to_numpy(zero_copy_only=False)
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size)
    sorted_d2 = d2.take(pa.array(order))
    blank_rank = -1
    lens = pc.utf8_length(sorted_d2).to_numpy(zero_copy_only=False)
    if lens.size and lens[0] == 0:
        blank_rank = 0                   # "" sorts first
    step = rank[enc2.indices.to_numpy(zero_copy_only=False)]
    codes = step[idx] if idx.size else idx
    if blank_rank == 0:
        codes = codes - 1
        sorted_d2 = sorted_d2.slice(1)
    return codes, sorted_d2, n_stripped


def text_index(texts: pa.Array, name: str) -> pd.Index:
    """A pandas Index of the texts, Arrow-backed like text ids from a DataFrame."""
    return pd.Index(pd.array(texts, dtype="string[pyarrow]"), name=name)
