"""``siyu.dask.Transactions``: a transaction log hash-partitioned by customer on a cluster.

Layout: the input is read lazily, its time column turned into day numbers (and amounts
checked) partition by partition, then shuffled once by customer id, so that every
customer's rows sit in one partition.  Each partition becomes a C
:class:`siyu.Transactions` (persisted on the workers).  A method runs the single-machine
function on every partition with the *global* end date and adds up exact pieces; the
caller validates arguments by running the same single-machine function on a two-row
"probe" log spanning the same days, so every error message is the single-machine one.
"""
from __future__ import annotations

import glob
import inspect
import os
import re
import warnings
from dataclasses import dataclass, field, fields
from typing import Any, Callable, Iterable, Sequence

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
from dask import delayed
from dask.sizeof import sizeof

from siyu import _core
from siyu import _input as inp
from siyu import _periods as _per
from siyu import cohorts as _cohorts
from siyu import economics as _economics
from siyu import retention as _retention
from siyu import segments as _segments
from siyu import survival as _survival
from siyu.dask import _select
from siyu.transactions import Transactions as _Single

_COLUMN_KEYS = ("customer", "time", "amount", "order", "status", "refund", "channel", "member",
                "product", "category", "quantity")
_ID_KEYS = ("customer", "order")
_PARQUET = (".parquet", ".parq", ".pq")
_SPLIT_EVERY = 8


# --------------------------------------------------------------------------- parts
class _Part(_Single):
    """One partition of the log: a :class:`siyu.Transactions` holding whole customers.

    Its ``end=`` / ``as_of=`` are resolved and checked by the caller against the whole
    log (a partition may start after a valid end), so here they are only converted.
    """

    def _end_day(self, end: Any, name: str = "end") -> int:
        if end is None:      # never reached: siyu.dask passes explicit days
            raise ValueError(f"{name}= must be given explicitly to a partition")
        return inp.to_day(end, name)


@sizeof.register(_Part)
def _sizeof_part(part: _Part) -> int:
    log = part._log
    n = sum(a.nbytes for a in (log.cust, log.day, log.amount, log.channel, log.member,
                               log.offsets) if a is not None)
    ids = log.ids
    n += int(ids.memory_usage(deep=False)) + (56 * len(ids) if ids.dtype == object else 0)
    return int(n) + 1024


@dataclass(frozen=True)
class _Spec:
    columns: dict[str, str]            # key (customer, time, ...) -> column name
    tz: str | None = None
    options: dict[str, Any] = field(default_factory=dict)


class _InputError(Exception):
    """An input error found in one partition before the shuffle; its row positions are
    local to that partition (the caller turns them into positions in the whole input)."""

    def __init__(self, kind: str, message: str, partition: int) -> None:
        super().__init__(kind, message, partition)
        self.kind, self.message, self.partition = kind, message, partition


_POSITIONS = re.compile(r"\(positions ([0-9, ]+?)( and \d+ more)?\)")


def _shift_positions(message: str, offset: int) -> str:
    def fix(m: re.Match[str]) -> str:
        nums = ", ".join(str(int(x) + offset) for x in m.group(1).split(", "))
        return f"(positions {nums}{m.group(2) or ''})"
    return _POSITIONS.sub(fix, message)


def _prepare(df: pd.DataFrame, spec: _Spec, partition_info: dict | None = None) -> pd.DataFrame:
    """Check one input partition as siyu.Transactions would and shrink it for the shuffle:
    times become int64 day numbers, numeric amounts float64."""
    number = int(partition_info["number"]) if partition_info else 0
    c = spec.columns
    try:
        out: dict[str, Any] = {}
        for key, name in c.items():
            s = df[name]
            if key == "customer":
                if s.dtype == bool or bool(s.isna().any()):
                    inp.customers(s, name)                    # raises the single-machine error
                out[name] = _stripped(s, name).array
            elif key == "time":
                days = inp.times_to_days(s, name, spec.tz)
                # days since 1970 fit int32 for +-5.8 million years: 4 bytes less to shuffle
                if days.size and (days.min() <= -2**31 or days.max() >= 2**31):
                    raise ValueError(f"time column {name!r} has dates more than 5 million "
                                     "years from 1970; fix or drop them")
                out[name] = days.astype(np.int32)
            elif key == "amount" and s.dtype != bool and s.dtype.kind in "iuf":
                out[name] = inp.amounts(s, name)
            elif name not in out:
                out[name] = s.array
        return pd.DataFrame(out)
    except (ValueError, TypeError) as exc:
        raise _InputError(type(exc).__name__, str(exc), number) from None


def _stripped(s: pd.Series, name: str) -> pd.Series:
    """Text ids with surrounding whitespace stripped before the shuffle (as one machine
    strips them), so " a" and "a" hash to the same partition; blank ids raise the
    single-machine missing-id error."""
    if not (isinstance(s.dtype, pd.StringDtype) or s.dtype == object) or not len(s):
        return s
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    u = np.asarray(uniques, dtype=object)
    is_str = np.fromiter((isinstance(v, str) for v in u), bool, len(u))
    if not is_str.any():
        return s
    st = u.copy()
    st[is_str] = [v.strip() for v in u[is_str]]
    if (st[is_str] == "").any():
        inp.customers(s, name)                                # raises the single-machine error
    if not (is_str & (st != u)).any():
        return s
    return pd.Series(st[np.asarray(codes, dtype=np.int64)], index=s.index, name=s.name,
                     dtype=s.dtype)


_TEXT = pd.Series(["x"]).dtype        # how pandas holds text: object (2.x) or str (3.x)


def _as_object(s: pd.Series) -> pd.Series:
    """Dask's Arrow strings as pandas holds text, so results match siyu.Transactions'."""
    return s.astype(_TEXT) if isinstance(s.dtype, pd.StringDtype) and s.dtype != _TEXT else s


# At most this many (input x output partition) pieces are moved as tasks of their own;
# beyond it the graph gets too big for the scheduler and Dask's own shuffle is used.
_MAX_PIECES = 10_000


def _split(df: pd.DataFrame, column: str, n: int) -> tuple[pd.DataFrame, ...]:
    """The rows of one prepared input partition in ``n`` pieces by a hash of the customer
    id (pandas' stable value hash, as Dask's shuffle uses: equal ids land in the same
    piece on every worker), each piece keeping the rows' input order."""
    if n == 1:
        return (df,)
    h = pd.util.hash_pandas_object(df[column], index=False).to_numpy()
    bucket = (h % np.uint64(n)).astype(np.int16 if n <= 2**15 else np.int64)
    order = np.argsort(bucket, kind="stable")       # a radix sort on 16-bit keys
    bounds = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(bucket, minlength=n), out=bounds[1:])
    cols = {name: df[name].array for name in df.columns}
    out = []
    for i in range(n):
        idx = order[bounds[i]:bounds[i + 1]]
        out.append(pd.DataFrame({name: a.take(idx) for name, a in cols.items()}))
    return tuple(out)


def _concat(*pieces: pd.DataFrame) -> pd.DataFrame:
    """One output partition: its pieces of every input partition, in input order."""
    return pd.concat(pieces, ignore_index=True) if len(pieces) > 1 else pieces[0]


def _by_customer(prepared: dd.DataFrame, column: str, n: int) -> list[Any]:
    """The prepared log as ``n`` delayed frames, each holding whole customers.

    Every input partition is split once into ``n`` pieces and every output partition
    concatenates its pieces: in memory (spilled by the workers like any task result when
    memory runs short), with no disk round trip, which on one machine is 2-3x faster
    than Dask's P2P shuffle.  Beyond ``_MAX_PIECES`` pieces Dask's own shuffle is used.
    """
    parts = prepared.to_delayed()
    if len(parts) * n > _MAX_PIECES:
        shuffled = prepared.shuffle(on=column, npartitions=n, ignore_index=True)
        return list(shuffled.to_delayed())
    split = [delayed(_split, nout=n, pure=True)(d, column, n) for d in parts]
    return [delayed(_concat, pure=True)(*[s[i] for s in split]) for i in range(n)]


def _pin_threads() -> None:
    """On a distributed worker, let siyu's C kernels use no more threads than the worker
    runs tasks with (several worker processes per machine would oversubscribe it)."""
    try:
        from distributed import get_worker

        n = int(get_worker().state.nthreads)
    except (ImportError, ValueError, AttributeError):
        return
    if _core.get_num_threads() > n:
        _core.set_num_threads(n)


def _build(df: pd.DataFrame, spec: _Spec) -> _Part:
    """The C log of one shuffled partition, with the facts the caller needs."""
    _pin_threads()
    c = spec.columns
    if any(isinstance(v.dtype, pd.StringDtype) for _, v in df.items()):
        df = pd.DataFrame({k: _as_object(v) for k, v in df.items()})
    day = df[c["time"]].to_numpy(dtype=np.int64).view("datetime64[D]")
    kwargs = {k: v for k, v in c.items() if k not in ("customer", "time")}
    kwargs.setdefault("amount", None)
    part = _Part(df, customer=c["customer"], time=day, **kwargs, **spec.options)
    part._log.names["time"] = c["time"]
    log = part._log
    ch = c.get("channel")
    part._dask_facts = {
        "n_rows": part.n_rows, "n_customers": part.n_customers,
        "min_day": int(log.day.min()) if part.n_rows else None,
        "max_day": int(log.day.max()) if part.n_rows else None,
        "revenue": float(log.amount.sum()) if log.amount is not None else None,
        "purchases": int((log.amount >= 0).sum()) if log.amount is not None else part.n_rows,
        "channels": df[ch].drop_duplicates() if ch else None,
        "names": dict(log.names),
    }
    return part


def _facts(part: _Part) -> dict[str, Any]:
    return part._dask_facts


def _from_delayed(frames: list[Any], meta: pd.DataFrame) -> dd.DataFrame:
    """dd.from_delayed keeping pandas' dtypes (text stays ``object``, as on one machine)."""
    with dask.config.set({"dataframe.convert-string": False}):
        out = dd.from_delayed(frames, meta=meta, verify_meta=False)
    out.attrs = dict(meta.attrs)      # the settings (not per-partition counts), as on one machine
    return out


def _combine_all(combine: Callable[[Any, Any], Any], items: list[Any]) -> Any:
    out = items[0]
    for x in items[1:]:
        out = combine(out, x)
    return out


# --------------------------------------------------------------------------- reading
def _paths(data: Any) -> list[str] | None:
    if isinstance(data, (str, os.PathLike)):
        items = [os.fspath(data)]
    elif isinstance(data, (list, tuple)) and data and all(isinstance(d, (str, os.PathLike))
                                                          for d in data):
        items = [os.fspath(d) for d in data]
    else:
        return None
    out: list[str] = []
    for p in items:
        if "://" in p:
            out.append(p)
        elif os.path.isdir(p):
            files = sorted(f for f in glob.glob(os.path.join(p, "**", "*"), recursive=True)
                           if os.path.isfile(f) and not os.path.basename(f).startswith(("_", ".")))
            if not files:
                raise ValueError(f"the folder {p!r} holds no files; pass a folder of Parquet "
                                 "or CSV files")
            out.extend(files)
        elif any(ch in p for ch in "*?["):
            files = sorted(glob.glob(p))
            if not files:
                raise ValueError(f"no file matches {p!r}")
            out.extend(files)
        else:
            if not os.path.exists(p):
                raise ValueError(f"no such file or folder: {p!r}")
            out.append(p)
    return out


def _read(data: Any, id_columns: Sequence[str]) -> dd.DataFrame:
    """A Dask DataFrame from a Dask / pandas DataFrame or Parquet / CSV paths (lazy)."""
    if isinstance(data, dd.DataFrame):
        return data
    if isinstance(data, pd.DataFrame):
        n = max(1, min(os.cpu_count() or 1, len(data) // 100_000 + 1))
        return dd.from_pandas(data, npartitions=n)
    paths = _paths(data)
    if paths is None:
        raise TypeError(f"unsupported data type {type(data).__name__}: pass a Dask DataFrame, "
                        "a pandas DataFrame, or a path / glob / folder of Parquet or CSV files")
    lower = [p.lower().split("?")[0] for p in paths]
    if all(p.endswith(_PARQUET) for p in lower):
        return dd.read_parquet(paths)
    if all(p.endswith((".csv", ".csv.gz", ".txt", ".tsv")) for p in lower):
        # ids are text: "00123" and "123" are two customers
        return dd.read_csv(paths, dtype={c: str for c in id_columns}, blocksize="64MB"
                           if not any(p.endswith(".gz") for p in lower) else None)
    kinds = sorted({os.path.splitext(p)[1] or "(none)" for p in lower})
    raise ValueError(f"cannot tell the file format from the extension(s) {', '.join(kinds)}: "
                     "pass Parquet (.parquet) or CSV (.csv) files, or read them with "
                     "dask.dataframe yourself and pass the Dask DataFrame")


def _check_keywords(spec_keys: Iterable[str], options: dict[str, Any]) -> None:
    params = inspect.signature(_Single).parameters
    unknown = [k for k in list(spec_keys) + list(options) if k not in params]
    if unknown:
        raise TypeError(f"siyu.Transactions of this siyu version does not accept "
                        f"{', '.join(k + '=' for k in unknown)}; upgrade siyu or drop them")


# --------------------------------------------------------------------------- facade
class _AmountFacts:
    """What callers read of a log's amounts without the rows: the total and whether
    any row is a purchase (``amount.sum()``, ``(amount >= 0).any()``)."""

    def __init__(self, total: float, purchases: int) -> None:
        self.total, self.purchases = total, purchases

    def sum(self) -> float:
        return self.total

    def __ge__(self, other: Any) -> Any:
        if other != 0:
            raise TypeError("only (amount >= 0) is available for a distributed log")
        return np.array([self.purchases > 0])


@dataclass
class _GlobalLog:
    """The log-level facts of a distributed log that analyses read from ``tx._log``."""

    names: dict[str, str | None]
    channel_labels: pd.Index | None
    channel: Any
    member: Any
    amount: _AmountFacts | None


class DistributedSurvivalCurve(_survival.SurvivalCurve):
    """A :class:`siyu.SurvivalCurve` whose ``durations`` is a Dask DataFrame."""

    n_customers: int = 0

    def __repr__(self) -> str:
        med = self.median_ if self.by is None else dict(self.median_)
        return (f"<siyu.SurvivalCurve: churn_after={self.churn_after:g} days, end "
                f"{self.end.date()}, {self.n_customers:,} customers, median {med}"
                + (f", {self.n_existing:,} existing customers left out" if self.n_existing
                   else "") + ">")

    def _repr_html_(self) -> str:
        return (f"<b>siyu.SurvivalCurve</b>: churn after {self.churn_after:g} days of "
                f"inactivity, end {self.end.date()}, {self.n_customers:,} customers"
                + self.table.head(30).to_html(na_rep=""))


@dataclass(repr=False)
class DistributedMigration(_segments.Migration):
    """A :class:`siyu.segments.Migration` whose ``stages`` is a Dask DataFrame."""

    n_customers: int = 0

    def __repr__(self) -> str:
        a = self.attrs
        return (f"<siyu.segments.Migration: {a.get('segmentation')} by {a.get('period')}, "
                f"{len(self.period_ends)} period ends, {self.n_customers} customers, "
                f"{int(self.matrix.to_numpy().sum())} transitions>")


# --------------------------------------------------------------------------- the log
class Transactions:
    """A transaction log on a Dask cluster, partitioned by customer.

    The same analyses as :class:`siyu.Transactions`, with the same definitions and the
    same results: per-customer results (``summary``, ``lifecycle``, ``rfm``, ...) are
    Dask DataFrames indexed by customer id whose ``.compute()`` equals the
    single-machine frame up to row order; tables (``cohorts``, ``retention``,
    ``survival``, ...) are the single-machine objects, built from counts and sums added
    over partitions (counts exact, sums to rounding).

    Parameters
    ----------
    data : dask.dataframe.DataFrame, pandas.DataFrame, str or list of str
        A Dask DataFrame, or a path / glob / folder of Parquet (``.parquet``) or CSV
        (``.csv``) files, read lazily (CSV ids are read as text).
    customer, time, amount, order, status, refund, channel, member : str
        Column names, as in :class:`siyu.Transactions` (``order=`` and the other order
        columns need a siyu version whose ``Transactions`` accepts them).
    tz : str, optional
        Time zone tz-aware times are converted to before taking the calendar day.
    npartitions : int, optional
        Partitions after the shuffle (default: as many as the input has).  Each holds
        whole customers; aim for 1–10 million rows per partition.
    **options
        Passed to :class:`siyu.Transactions` on every partition (e.g. ``paid=``).

    Notes
    -----
    Construction reads the input once, shuffles it once by customer (the only time rows
    cross the network) and keeps the C logs in the workers' memory (spilled to disk
    when it runs short).  It blocks until that is done, so input errors surface here,
    with the single-machine message and row positions counted in the input order.
    Strings (ids, channels) come back as pandas holds text (``object`` dtype under
    pandas 2, ``str`` under pandas 3), as :class:`siyu.Transactions` returns them.

    Examples
    --------
    >>> import dask.dataframe as dd, pandas as pd, siyu.dask
    >>> df = pd.DataFrame({"user": [1, 2, 1, 3], "paid": ["2024-01-02", "2024-01-05",
    ...                    "2024-02-01", "2024-02-03"], "amount": [10.0, 5.0, 7.5, 3.0]})
    >>> dtx = siyu.dask.Transactions(dd.from_pandas(df, npartitions=2), customer="user",
    ...                              time="paid", amount="amount")
    >>> dtx.n_rows, dtx.n_customers
    (4, 3)
    >>> dtx.cohorts(period="M").sizes.tolist()
    [2, 1]
    """

    def __init__(self, data: Any, customer: str = "customer_id", time: str = "date",
                 amount: str | None = None, *, order: str | None = None,
                 status: str | None = None, refund: str | None = None,
                 channel: str | None = None, member: str | None = None, tz: str | None = None,
                 npartitions: int | None = None, **options: Any) -> None:
        given = {"customer": customer, "time": time, "amount": amount, "order": order,
                 "status": status, "refund": refund, "channel": channel, "member": member}
        for key in ("product", "category", "quantity"):
            if key in options:
                given[key] = options.pop(key)
        cols = {k: v for k, v in given.items() if v is not None}
        if customer is None or time is None:
            raise TypeError("customer= and time= are required")
        for key, name in cols.items():
            if not isinstance(name, str):
                raise TypeError(f"{key}= must be a column name (str) for siyu.dask.Transactions, "
                                f"got {type(name).__name__}")
        if npartitions is not None and (isinstance(npartitions, bool) or
                                        not isinstance(npartitions, int) or npartitions < 1):
            raise ValueError(f"npartitions must be a whole number >= 1, got {npartitions!r}")
        _check_keywords([k for k in cols if k not in ("customer", "time", "amount", "channel",
                                                      "member")], options)
        raw = _read(data, [cols[k] for k in _ID_KEYS if k in cols])
        names = list(dict.fromkeys(cols.values()))
        inp.table_columns(raw._meta, names)           # the single-machine missing-column error
        raw = raw[names]
        spec = _Spec(columns=cols, tz=tz, options=options)
        self._spec = spec
        meta = _prepare(raw._meta, spec)
        prepared = raw.map_partitions(_prepare, spec, meta=meta)
        nparts = int(npartitions or raw.npartitions)
        built = [delayed(_build)(d, spec) for d in _by_customer(prepared, customer, nparts)]
        try:
            self._parts = list(dask.persist(*built))
            facts = dask.compute(*[delayed(_facts)(p) for p in self._parts])
        except _InputError as exc:
            offset = 0
            if exc.partition:
                lengths = raw.partitions[list(range(exc.partition))].map_partitions(len)
                offset = int(sum(lengths.compute()))
            cls = TypeError if exc.kind == "TypeError" else ValueError
            raise cls(_shift_positions(exc.message, offset)) from None
        self.npartitions = len(self._parts)
        self.tz = tz
        self._empty = _build(meta, spec)
        self._setup(list(facts))

    def _setup(self, facts: list[dict[str, Any]]) -> None:
        spec = self._spec
        self.n_rows = int(sum(f["n_rows"] for f in facts))
        self.n_customers = int(sum(f["n_customers"] for f in facts))
        days = [f["min_day"] for f in facts if f["min_day"] is not None]
        self._min_day = min(days) if days else None
        self._max_day = max(f["max_day"] for f in facts if f["max_day"] is not None) \
            if days else None
        ch = spec.columns.get("channel")
        labels = None
        if ch:
            values = pd.concat([f["channels"] for f in facts], ignore_index=True)
            labels = inp.labels(values.drop_duplicates(), ch)[1]
        self._labels = labels
        has_amount = "amount" in spec.columns
        revenue = float(sum(f["revenue"] for f in facts)) if has_amount else None
        self._log = _GlobalLog(
            names=dict(facts[0]["names"]) if facts else {},
            channel_labels=labels, channel=True if ch else None,
            member=True if spec.columns.get("member") else None,
            amount=_AmountFacts(revenue, sum(f["purchases"] for f in facts))
            if has_amount else None)
        self._revenue = revenue
        self._probe = self._make_probe()

    def _make_probe(self) -> _Single:
        """A two-row log spanning the same days, with the same columns: the analyses run
        on it check every argument exactly as on one machine."""
        c = self._spec.columns
        n = 2 if self.n_rows else 0
        days = np.array([self._min_day, self._max_day] if n else [], dtype=np.int64)
        data: dict[str, Any] = {c["customer"]: np.zeros(n, np.int64),
                                c["time"]: days.view("datetime64[D]")}
        kw: dict[str, Any] = {"amount": None}
        if "amount" in c:
            data[c["amount"]] = np.zeros(n)
            kw["amount"] = c["amount"]
        if "channel" in c:
            data[c["channel"]] = np.array(["x"] * n, dtype=object)
            kw["channel"] = c["channel"]
        if "member" in c:
            data[c["member"]] = np.zeros(n, np.int64)
            kw["member"] = c["member"]
        return _Single(data, customer=c["customer"], time=c["time"], **kw)

    # ------------------------------------------------------------------ basics
    @property
    def start(self) -> pd.Timestamp:
        """Day of the earliest row (NaT for an empty log)."""
        return inp.day_to_timestamp(self._min_day) if self.n_rows else pd.NaT

    @property
    def end(self) -> pd.Timestamp:
        """Day of the latest row (NaT for an empty log); the default analysis end."""
        return inp.day_to_timestamp(self._max_day) if self.n_rows else pd.NaT

    @property
    def has_amount(self) -> bool:
        return "amount" in self._spec.columns

    @property
    def customer_ids(self) -> dd.Series:
        """The distinct customer ids, as a Dask Series (each partition sorted)."""
        return self._frame(_ids)[self._spec.columns["customer"]]

    def __len__(self) -> int:
        return self.n_rows

    def __repr__(self) -> str:
        if not self.n_rows:
            return "<siyu.dask.Transactions: empty log>"
        rev = f", revenue {self._revenue:,.2f}" if self._revenue is not None else ""
        return (f"<siyu.dask.Transactions: {self.n_rows:,} rows, {self.n_customers:,} "
                f"customers in {self.npartitions} partitions, {self.start.date()} to "
                f"{self.end.date()}{rev}>")

    # ------------------------------------------------------------------ machinery
    def _resolve(self, value: Any, name: str = "end") -> pd.Timestamp | None:
        """The day an analysis runs to, checked as on one machine (None: empty log)."""
        if value is None and not self.n_rows:
            return None
        return inp.day_to_timestamp(self._probe._end_day(value, name))

    def _frame(self, func: Callable[..., pd.DataFrame], *args: Any) -> dd.DataFrame:
        """A Dask DataFrame of ``func(part, *args)`` over the partitions."""
        meta = func(self._empty, *args)
        return _from_delayed([delayed(func)(p, *args) for p in self._parts], meta)

    def _reduce(self, func: Callable[..., Any], combine: Callable[[Any, Any], Any],
                *args: Any, parts: Sequence[Any] | None = None) -> Any:
        """``func(part, *args)`` on every partition, combined pairwise on the cluster."""
        pieces = [delayed(func)(p, *args) for p in (self._parts if parts is None else parts)]
        while len(pieces) > 1:
            pieces = [delayed(_combine_all)(combine, pieces[i:i + _SPLIT_EVERY])
                      for i in range(0, len(pieces), _SPLIT_EVERY)]
        return pieces[0].compute()

    # ------------------------------------------------------------------ summaries
    def summary(self, end: Any = None, freq: str = "D", unit: str | None = None,
                include_first: bool = False) -> dd.DataFrame:
        """:meth:`siyu.Transactions.summary` per customer, as a Dask DataFrame.

        ``attrs`` of every partition (and of the computed frame) hold ``freq``,
        ``unit``, ``end`` and ``include_first``; ``n_excluded`` is left out (it is a
        count over the whole log).
        """
        self._probe.summary(end=end, freq=freq, unit=unit, include_first=include_first)
        return self._frame(_summary, self._resolve(end), freq, unit, include_first)

    def calibration_holdout(self, calibration_end: Any, observation_end: Any = None,
                            freq: str = "D", unit: str | None = None) -> dd.DataFrame:
        """:meth:`siyu.Transactions.calibration_holdout` per customer, as a Dask DataFrame."""
        self._probe.calibration_holdout(calibration_end, observation_end, freq=freq, unit=unit)
        cal = self._resolve(calibration_end, "calibration_end")
        obs = self._resolve(observation_end, "observation_end")
        return self._frame(_calibration_holdout, cal, obs, freq, unit)

    # ------------------------------------------------------------------ tables
    def cohorts(self, period: str = "M", end: Any = None, by: str | None = None,
                margin: float | None = None,
                existing_before: Any = None) -> _cohorts.CohortTable:
        """:meth:`siyu.Transactions.cohorts`: count and sum matrices added over partitions
        (the existing customers' rows too); the first-cohort check runs once, on the sums."""
        check = self._probe.cohorts(period=period, end=end, by=by, margin=margin,
                                    existing_before=existing_before)
        if not self.n_rows:
            return check
        end_ts = self._resolve(end)
        labels = self._labels if check.by else None
        piece = self._reduce(_cohort_piece, _add_cohort_pieces, check.period, end_ts, by, labels,
                             existing_before)
        sizes = piece["sizes"].sort_index()
        keys = sizes.index
        g = keys.get_level_values(0).to_numpy(dtype=np.int64)
        c = keys.get_level_values(1).to_numpy(dtype=np.int64)
        end_day = inp.to_day(end_ts, "end")
        end_per = _per.period_of(end_day, check.period)
        n_ages = end_per - int(c.min()) + 1 if c.size else 0

        def mat(got: dict[str, Any], name: str, index: pd.Index, columns: Any) -> Any:
            if got.get(name) is None:
                return None
            return got[name].reindex(index=index, columns=columns).fillna(0.0) \
                .to_numpy(dtype=np.float64)

        existing = None
        if check.existing_before is not None:
            ex = piece["existing"]
            start = ex["start"]
            ex_sizes = ex["sizes"].sort_index()
            cols = range(start, end_per + 1) if start is not None else range(n_ages)
            existing = _cohorts.ExistingCounts(
                row_group=ex_sizes.index.to_numpy(dtype=np.int64), start=start,
                sizes=ex_sizes.to_numpy().astype(np.int64),
                active=mat(ex, "active", ex_sizes.index, cols),
                orders=mat(ex, "orders", ex_sizes.index, cols),
                revenue=mat(ex, "revenue", ex_sizes.index, cols) if self.has_amount else None)
        suspect = None if check.existing_before is not None else \
            _per.warn_suspect(_suspect_message(piece["suspect"], check.period))
        return _cohorts.cohort_table_from_counts(
            period=check.period, end_day=end_day, margin=check.margin, by=check.by,
            group_labels=labels, row_group=g, row_cohort=c,
            sizes=sizes.to_numpy().astype(np.int64),
            active=mat(piece, "active", keys, range(n_ages)),
            orders=mat(piece, "orders", keys, range(n_ages)),
            revenue=mat(piece, "revenue", keys, range(n_ages)) if self.has_amount else None,
            n_excluded=int(piece["n_excluded"]), n_dropped=int(piece["n_dropped"]),
            existing_before=check.existing_before, suspect_existing=suspect, existing=existing)

    def retention(self, kind: str = "n-day", days: Iterable[int] = range(0, 91),
                  brackets: Sequence[tuple[int, int]] | None = None, end: Any = None,
                  by: str | None = None,
                  existing_before: Any = None) -> _retention.RetentionTable:
        """:meth:`siyu.Transactions.retention`: eligible / retained counts added."""
        check = self._probe.retention(kind=kind, days=days, brackets=brackets, end=end, by=by,
                                      existing_before=existing_before)
        if not self.n_rows:
            return check
        if existing_before is not None:   # the probe's one customer may be existing: no rows
            check = self._probe.retention(kind=kind, days=days, brackets=brackets, end=end,
                                          by=by)
        inner = check.table.index if check.by is None else check.table.index.get_level_values(1)
        end_ts = self._resolve(end)
        labels = self._labels if check.by else None
        got = self._reduce(_retention_piece, _add_keyed, check.kind, days, brackets, end_ts, by,
                           labels, existing_before)
        n_excl, n_ex = got.pop("n_excluded"), got.pop("n_existing")
        _per.warn_suspect(_suspect_message(got.pop("suspect", None), "M"))
        codes = sorted(got)
        e = np.concatenate([got[k][0] for k in codes]) if codes else np.zeros(0, np.int64)
        r = np.concatenate([got[k][1] for k in codes]) if codes else np.zeros(0, np.int64)
        if check.by is None:
            index: pd.Index = inner
        else:
            index = pd.MultiIndex.from_product([labels[np.array(codes, dtype=np.int64)], inner],
                                               names=[check.by, inner.name])
        return _retention.retention_table_from_counts(e, r, index, check.kind,
                                                      inp.to_day(end_ts, "end"), check.by,
                                                      int(n_excl), int(n_ex))

    def repurchase(self, within: Iterable[int] = (30, 90, 180), end: Any = None,
                   by: str | None = None, period: str = "M",
                   existing_before: Any = None) -> _retention.RepurchaseTable:
        """:meth:`siyu.Transactions.repurchase`: eligible / repurchased counts added."""
        check = self._probe.repurchase(within=within, end=end, by=by, period=period,
                                       existing_before=existing_before)
        if not self.n_rows:
            return check
        end_ts = self._resolve(end)
        labels = self._labels if check.by else None
        got = self._reduce(_repurchase_piece, _add_frames, within, end_ts, by, check.period,
                           labels, existing_before)
        _per.warn_suspect(_suspect_message(got["suspect"], check.period))
        k = len(check.within)
        e = got["eligible"].sort_index()
        r = got["repurchased"].reindex(e.index).fillna(0)
        rows = np.stack([e.index.get_level_values(0), e.index.get_level_values(1)], axis=1) \
            .astype(np.int64) if len(e) else np.zeros((0, 2), np.int64)
        return _retention.repurchase_table_from_counts(
            rows, e.reindex(columns=range(k)).fillna(0).to_numpy(dtype=np.int64),
            r.reindex(columns=range(k)).fillna(0).to_numpy(dtype=np.int64), check.within,
            np.unique(rows[:, 0]), labels, check.period, inp.to_day(end_ts, "end"), check.by,
            int(got["n_existing"]))

    def survival(self, churn_after: float = 180, end: Any = None, by: str | None = None,
                 alpha: float = 0.05, existing_before: Any = None) -> _survival.SurvivalCurve:
        """:meth:`siyu.Transactions.survival`: Kaplan–Meier from summed event and
        censoring counts (exact); ``durations`` is a Dask DataFrame."""
        check = self._probe.survival(churn_after=churn_after, end=end, by=by, alpha=alpha,
                                     existing_before=existing_before)
        if not self.n_rows:
            return check
        end_ts = self._resolve(end)
        labels = self._labels if check.by else None
        got = self._reduce(_survival_piece, _add_keyed, churn_after, end_ts, by, alpha, labels,
                           existing_before)
        n_ex = int(got.pop("n_existing"))
        _per.warn_suspect(_suspect_message(got.pop("suspect", None), "M"))
        tables: dict[Any, pd.DataFrame] = {}
        n = 0
        for code in sorted(got):
            counts = got[code]
            key = None if check.by is None else labels[code]
            tables[key] = _survival.kaplan_meier_from_counts(
                counts.index.to_numpy(), counts["events"].to_numpy(),
                counts["censored"].to_numpy(), alpha)
            n += int(counts.to_numpy().sum())
        if check.by is None and None not in tables:
            tables[None] = _survival.kaplan_meier(np.zeros(0, np.int64), np.zeros(0, np.int64),
                                                  alpha)
        durations = self._frame(_survival_durations, churn_after, end_ts, by, alpha,
                                existing_before)
        curve = DistributedSurvivalCurve(tables, durations, check.churn_after, end_ts,
                                         check.by, float(alpha), n_ex)
        curve.n_customers = n
        return curve

    # ------------------------------------------------------------------ segments
    def lifecycle(self, as_of: Any = None, bounds: Sequence[int] = (30, 180),
                  lang: str = "en") -> dd.DataFrame:
        """:meth:`siyu.Transactions.lifecycle` per customer, as a Dask DataFrame
        (``attrs`` without ``n_excluded``)."""
        self._probe.lifecycle(as_of=as_of, bounds=bounds, lang=lang)
        return self._frame(_lifecycle, self._resolve(as_of, "as_of"), bounds, lang)

    def value_tiers(self, as_of: Any = None, roster: Iterable[Any] | None = None,
                    lang: str = "en") -> dd.DataFrame:
        """:meth:`siyu.Transactions.value_tiers` per customer, as a Dask DataFrame.

        Roster ids absent from the log form one extra partition of potential customers.
        ``attrs`` keep ``as_of``, ``lang``, ``n_roster`` and ``segmentation``.
        """
        self._probe.value_tiers(as_of=as_of, roster=None, lang=lang)
        day = self._resolve(as_of, "as_of")
        if roster is None:
            return self._frame(_value_tiers, day, None, lang, 0)
        ids = _roster(roster)
        rid = delayed(ids)
        found = self._reduce(_roster_found, np.logical_or, rid)
        extra = ids[~found] if len(ids) else ids
        if (len(ids) and self.n_customers and not found.any()
                and ids.dtype.kind != self._empty._log.ids.dtype.kind):
            import warnings
            warnings.warn(f"no roster id matches a customer id of the log and the id types "
                          f"differ ({ids.dtype} vs {self._empty._log.ids.dtype}); check that "
                          "the roster holds the same ids (and id type) as the customer column",
                          UserWarning, stacklevel=2)
        n_roster = int(len(ids))
        meta = _value_tiers(self._empty, day, None, lang, n_roster)
        frames = [delayed(_value_tiers)(p, day, rid, lang, n_roster) for p in self._parts]
        frames.append(delayed(_value_tiers)(self._empty, day, delayed(extra), lang, n_roster))
        return _from_delayed(frames, meta)

    def stage_summary(self, **kwargs: Any) -> pd.DataFrame:
        """:func:`siyu.segments.stage_summary` of :meth:`lifecycle` (``**kwargs``)."""
        return stage_summary(self.lifecycle(**kwargs))

    def rfm(self, as_of: Any = None, bins: int = 5, lang: str = "en",
            segment_map: Any = None, ties: str = "min") -> dd.DataFrame:
        """:meth:`siyu.Transactions.rfm` with scores over the whole log, exact.

        R and F are scored from global value counts; M (revenue, a float) from the
        exact values at the score boundaries, found by histogram refinement of the
        values' bit patterns (no sketch, no sampling).
        """
        self._probe.rfm(as_of=as_of, bins=bins, lang=lang, segment_map=segment_map, ties=ties)
        day = self._resolve(as_of, "as_of")
        vals = list(dask.persist(*[delayed(_rfm_values)(p, day) for p in self._parts]))
        (r_u, r_c), (f_u, f_c), n = self._reduce(_value_counts, _add_counts, parts=vals)
        m_cut = None
        if self.has_amount:
            sorted_m = list(dask.persist(*[delayed(_sorted_revenue)(v) for v in vals]))

            def reduce(func: Callable[..., Any], combine: Callable[[Any, Any], Any],
                       *args: Any) -> Any:
                return self._reduce(func, combine, *args, parts=sorted_m)

            m_cut = _select.thresholds(reduce, sorted_m, n, int(bins), ties)
        scoring = (r_u, r_c, f_u, f_c, m_cut)
        meta = _rfm_frame(_rfm_values(self._empty, day), scoring, day, bins, lang, segment_map,
                          ties)
        return _from_delayed([delayed(_rfm_frame)(v, scoring, day, bins, lang, segment_map,
                                                  ties) for v in vals], meta)

    def migration(self, period: str = "M", segmentation: str = "lifecycle", end: Any = None,
                  bounds: Sequence[int] = (30, 180), lang: str = "en") -> _segments.Migration:
        """:meth:`siyu.Transactions.migration`: transition and entry counts added;
        ``stages`` is a Dask DataFrame."""
        check = self._probe.migration(period=period, segmentation=segmentation, end=end,
                                      bounds=bounds, lang=lang)
        end_ts = self._resolve(end)
        ends = check.period_ends.to_numpy().astype("datetime64[D]").view(np.int64)
        labels = list(check.matrix.index.categories)
        got = self._reduce(_migration_piece, _add_keyed, period, segmentation, end_ts, bounds,
                           lang, ends)
        m, s = ends.size, len(labels)
        trans = got.get("transitions", np.zeros((max(m - 1, 0), s, s), np.int64))
        entries = got.get("entries", np.zeros((m, s), np.int64))
        attrs = dict(check.attrs, n_excluded=int(got["n_excluded"]))
        meta = _migration_stages(self._empty, period, segmentation, end_ts, bounds, lang, ends)
        stages = _from_delayed([delayed(_migration_stages)(p, period, segmentation, end_ts,
                                                           bounds, lang, ends)
                                for p in self._parts], meta)
        mg = _segments.migration_from_counts(stages, trans, entries, ends, labels, attrs)
        out = DistributedMigration(**{f.name: getattr(mg, f.name) for f in fields(mg)})
        out.n_customers = int(entries.sum())
        return out

    # ------------------------------------------------------------------ economics
    def channel_totals(self, end: Any, by: str, existing_before: Any = None) -> pd.DataFrame:
        """:func:`siyu.economics.channel_totals` added over partitions (each customer's
        rows are in one partition, so ``existing_before`` applies per partition)."""
        end_ts = self._resolve(end)
        return self._reduce(_channel_totals, _add_frame, end_ts, by, existing_before)

    def predicted_sums(self, ct: _cohorts.CohortTable, models: tuple[Any, Any],
                       remaining: np.ndarray, period: str, margin: float,
                       discount_rate: float) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
        """:func:`siyu.economics.predicted_sums` added over partitions (the models and
        the cohort table are broadcast)."""
        return self._reduce(_predicted_sums, _add_nested, delayed(ct), delayed(models),
                            remaining, period, margin, discount_rate)


# --------------------------------------------------------------------------- partition tasks
def _drop_attrs(out: pd.DataFrame, *names: str) -> pd.DataFrame:
    for n in names:
        out.attrs.pop(n, None)
    return out


def _ids(part: _Part) -> pd.DataFrame:
    ids = part.customer_ids
    return pd.DataFrame({ids.name: ids}, index=pd.RangeIndex(len(ids)))


def _summary(part: _Part, end: Any, freq: str, unit: str | None,
             include_first: bool) -> pd.DataFrame:
    return _drop_attrs(part.summary(end=end, freq=freq, unit=unit, include_first=include_first),
                       "n_excluded")


def _calibration_holdout(part: _Part, cal: Any, obs: Any, freq: str,
                         unit: str | None) -> pd.DataFrame:
    return _drop_attrs(part.calibration_holdout(cal, obs, freq=freq, unit=unit), "n_excluded")


def _period_ints(periods: pd.PeriodIndex, period: str) -> np.ndarray:
    if len(periods) == 0:
        return np.zeros(0, np.int64)
    days = np.asarray(periods.start_time.values.astype("datetime64[D]").view(np.int64))
    return _core.period_index(np.ascontiguousarray(days, dtype=np.int64),
                              inp.PERIOD_CODES[period])


def _keyed(index: pd.Index, labels: pd.Index | None, period: str) -> pd.MultiIndex:
    """(global group code, cohort period index) keys of a (by, cohort) or cohort index."""
    if isinstance(index, pd.MultiIndex):
        g = labels.get_indexer(index.get_level_values(0))
        coh = index.get_level_values(1)
    else:
        g = np.zeros(len(index), np.int64)
        coh = index
    return pd.MultiIndex.from_arrays([np.asarray(g, np.int64), _period_ints(coh, period)],
                                     names=["group", "cohort"])


def _quiet(func: Callable[..., Any]) -> Callable[..., Any]:
    """A partition task that gives no ExistingCustomersWarning: a partition holds a
    fraction of the customers; the caller checks the added counts once."""
    def task(*args: Any) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", _per.ExistingCustomersWarning)
            return func(*args)
    task.__name__ = task.__qualname__ = func.__name__
    task.__doc__ = func.__doc__
    return task


def _suspect_piece(part: _Part, end: Any, by: Any, period: str) -> pd.Series:
    """Customers of the acquisition cohorts per checked period (added over partitions)."""
    acq = _per.acquisition(part, inp.to_day(end, "end"), by)
    index, counts = _per.suspect_counts(acq.first_day[acq.group >= 0], period)
    return pd.Series(counts.astype(np.float64), index=index)


def _suspect_message(counts: pd.Series | None, period: str) -> str | None:
    if counts is None or not len(counts):
        return None
    counts = counts.sort_index()
    return _per.existing_suspect_from_counts(counts.index.to_numpy(np.int64),
                                             counts.to_numpy().astype(np.int64), period)


@_quiet
def _cohort_piece(part: _Part, period: str, end: Any, by: Any, labels: pd.Index | None,
                  existing_before: Any) -> dict[str, Any]:
    ct = _cohorts.cohort_table(part, period=period, end=end, by=by,
                               existing_before=existing_before)
    keys = _keyed(ct.sizes.index, labels, period)

    def frame(df: pd.DataFrame, index: pd.Index, columns: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(np.nan_to_num(df.to_numpy(dtype=np.float64)), index=index,
                            columns=columns)

    def metrics(t: _cohorts.CohortTable, index: pd.Index, columns: np.ndarray) -> dict:
        return {"sizes": pd.Series(t.sizes.to_numpy(dtype=np.float64), index=index),
                "active": frame(t.active, index, columns),
                "orders": frame(t.orders, index, columns),
                "revenue": frame(t._revenue, index, columns) if t._revenue is not None
                else None}

    out = metrics(ct, keys, ct.active.columns.to_numpy())
    out.update(n_excluded=ct.n_excluded, n_dropped=ct.n_dropped)
    if existing_before is None:
        out["suspect"] = _suspect_piece(part, end, by, period)
    else:
        ex = ct.existing
        start = ct.last_period["existing_start"]
        start = None if start is None else int(_period_ints(pd.PeriodIndex([start]), period)[0])
        sizes = ex.sizes.index if ct.by is None else ex.sizes.index.get_level_values(0)
        # existing rows keyed by group code, columns by absolute period (starts differ)
        ex_keys = pd.Index(_group_codes(sizes, labels) if ct.by else np.zeros(len(sizes), np.int64))
        cols = (start if start is not None else 0) + ex.active.columns.to_numpy()
        out["existing"] = dict(metrics(ex, ex_keys, cols), start=start)
    return out


def _add_cohort_pieces(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = _add_frames({k: v for k, v in a.items() if k != "existing"},
                      {k: v for k, v in b.items() if k != "existing"})
    if "existing" in a:
        ea, eb = dict(a["existing"]), dict(b["existing"])
        starts = [x for x in (ea.pop("start"), eb.pop("start")) if x is not None]
        out["existing"] = dict(_add_frames(ea, eb), start=min(starts) if starts else None)
    return out


def _add_frames(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Add two dicts of pandas objects / numbers, aligning rows and columns."""
    out: dict[str, Any] = {}
    for key in a:
        x, y = a[key], b[key]
        out[key] = None if x is None else x.add(y, fill_value=0) \
            if isinstance(x, (pd.Series, pd.DataFrame)) else x + y
    return out


def _add_frame(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    return a.add(b, fill_value=0)


def _add_keyed(a: dict[Any, Any], b: dict[Any, Any]) -> dict[Any, Any]:
    """Add two dicts of arrays / frames / numbers key by key (missing keys: absent)."""
    out = dict(a)
    for k, v in b.items():
        if k not in out:
            out[k] = v
        elif isinstance(v, (pd.Series, pd.DataFrame)):
            out[k] = out[k].add(v, fill_value=0)
        elif isinstance(v, tuple):
            out[k] = tuple(x + y for x, y in zip(out[k], v))
        else:
            out[k] = out[k] + v
    return out


def _group_codes(index: pd.Index, labels: pd.Index | None) -> np.ndarray:
    if labels is None:
        return np.zeros(len(index), np.int64)
    return np.asarray(labels.get_indexer(index), dtype=np.int64)


@_quiet
def _retention_piece(part: _Part, kind: str, days: Any, brackets: Any, end: Any, by: Any,
                     labels: pd.Index | None, existing_before: Any) -> dict[Any, Any]:
    rt = _retention.retention(part, kind=kind, days=days, brackets=brackets, end=end, by=by,
                              existing_before=existing_before)
    t = rt.table
    out: dict[Any, Any] = {"n_excluded": int(t.attrs.get("n_excluded", 0)),
                           "n_existing": int(rt.n_existing)}
    if existing_before is None:
        out["suspect"] = _suspect_piece(part, end, by, "M")
    if rt.by is None:
        out[0] = (t["eligible"].to_numpy(np.int64), t["retained"].to_numpy(np.int64))
        return out
    for label, sub in t.groupby(level=0, sort=False):
        code = int(labels.get_indexer([label])[0])
        out[code] = (sub["eligible"].to_numpy(np.int64), sub["retained"].to_numpy(np.int64))
    return out


@_quiet
def _repurchase_piece(part: _Part, within: Any, end: Any, by: Any, period: str,
                      labels: pd.Index | None, existing_before: Any) -> dict[str, Any]:
    rp = _retention.repurchase(part, within=within, end=end, by=by, period=period,
                               existing_before=existing_before)
    bc = rp.by_cohort
    keys = _keyed(bc.index, labels, period)
    k = len(rp.within)
    out: dict[str, Any] = {
        name: pd.DataFrame(bc[name].to_numpy(dtype=np.float64).reshape(len(keys), k),
                           index=keys, columns=range(k))
        for name in ("eligible", "repurchased")}
    out["n_existing"] = int(rp.n_existing)
    out["suspect"] = _suspect_piece(part, end, by, period) if existing_before is None else None
    return out


@_quiet
def _survival_piece(part: _Part, churn_after: float, end: Any, by: Any, alpha: float,
                    labels: pd.Index | None, existing_before: Any) -> dict[Any, Any]:
    sc = _survival.survival(part, churn_after=churn_after, end=end, by=by, alpha=alpha,
                            existing_before=existing_before)
    out: dict[Any, Any] = {"n_existing": int(sc.n_existing)}
    if existing_before is None:
        out["suspect"] = _suspect_piece(part, end, by, "M")
    for key, tab in sc._tables.items():
        code = 0 if sc.by is None else int(labels.get_indexer([key])[0])
        hit = (tab["events"] + tab["censored"]).to_numpy() > 0
        out[code] = pd.DataFrame({"events": tab["events"].to_numpy()[hit],
                                  "censored": tab["censored"].to_numpy()[hit]},
                                 index=tab["time"].to_numpy()[hit])
    return out


@_quiet
def _survival_durations(part: _Part, churn_after: float, end: Any, by: Any,
                        alpha: float, existing_before: Any) -> pd.DataFrame:
    sc = _survival.survival(part, churn_after=churn_after, end=end, by=by, alpha=alpha,
                            existing_before=existing_before)
    return sc.durations


def _lifecycle(part: _Part, as_of: Any, bounds: Any, lang: str) -> pd.DataFrame:
    return _drop_attrs(_segments.lifecycle(part, as_of=as_of, bounds=bounds, lang=lang),
                       "n_excluded")


def _roster(roster: Any) -> pd.Index:
    """The roster as a flat Index of distinct ids (the single-machine checks)."""
    probe = _Single({"c": np.zeros(0, np.int64), "t": np.zeros(0, "datetime64[D]")},
                    customer="c", time="t", amount=None)
    probe.value_tiers(as_of="2000-01-01", roster=roster)   # raises the single-machine errors
    idx = pd.Index(roster if isinstance(roster, (pd.Index, pd.Series, np.ndarray))
                   else list(roster))
    return idx.unique()


def _roster_found(part: _Part, roster: pd.Index) -> np.ndarray:
    return np.asarray(roster.isin(part.customer_ids), dtype=bool)


def _value_tiers(part: _Part, as_of: Any, roster: pd.Index | None, lang: str,
                 n_roster: int) -> pd.DataFrame:
    mine = None
    if roster is not None:
        mine = roster[roster.isin(part.customer_ids)] if part.n_customers else roster
    out = _segments.value_tiers(part, as_of=as_of, roster=mine, lang=lang)
    out.attrs["n_roster"] = n_roster
    return _drop_attrs(out, "n_excluded", "n_potential")


def _rfm_values(part: _Part, as_of: Any) -> pd.DataFrame:
    """Days since last purchase, occasions and revenue of the part's buyers at as_of."""
    lc = _segments.lifecycle(part, as_of=as_of)
    lc.attrs["n_excluded"] = int(lc.attrs.get("n_excluded", 0))
    return lc.drop(columns=["stage", "last_purchase"])


def _value_counts(vals: pd.DataFrame) -> tuple[Any, ...]:
    """Value counts of the R quantity (-days since last) and of F (occasions), and n."""
    out = []
    for v in (-vals["days_since_last"].to_numpy(np.float64),
              vals["occasions"].to_numpy(np.float64)):
        u, c = np.unique(v, return_counts=True)
        out.append((u, c.astype(np.int64)))
    return out[0], out[1], len(vals)


def _add_count_pair(a: tuple[np.ndarray, np.ndarray],
                    b: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    u, inv = np.unique(np.concatenate([a[0], b[0]]), return_inverse=True)
    c = np.bincount(inv.ravel(), weights=np.concatenate([a[1], b[1]]), minlength=u.size)
    return u, c.astype(np.int64)


def _add_counts(a: tuple[Any, ...], b: tuple[Any, ...]) -> tuple[Any, ...]:
    return _add_count_pair(a[0], b[0]), _add_count_pair(a[1], b[1]), a[2] + b[2]


def _sorted_revenue(vals: pd.DataFrame) -> np.ndarray:
    return np.sort(vals["revenue"].to_numpy(np.float64) + 0.0)


def _rfm_frame(vals: pd.DataFrame, scoring: tuple[Any, ...], as_of: Any, bins: int, lang: str,
               segment_map: Any, ties: str) -> pd.DataFrame:
    r_u, r_c, f_u, f_c, m_cut = scoring
    dsl = vals["days_since_last"].to_numpy(np.int64)
    occ = vals["occasions"].to_numpy()
    scores = [_select.scores_from_counts(-dsl.astype(np.float64), r_u, r_c, bins, ties),
              _select.scores_from_counts(occ.astype(np.float64), f_u, f_c, bins, ties)]
    rev = None
    if m_cut is not None:
        rev = vals["revenue"].to_numpy(np.float64)
        scores.append(_select.scores_from_thresholds(rev, m_cut, bins))
    out = _segments.rfm_from_scores(vals.index, dsl, occ, rev, scores,
                                    as_of_day=inp.to_day(as_of, "as_of"), bins=int(bins),
                                    lang=lang, segment_map=segment_map, ties=ties, n_excluded=0)
    return _drop_attrs(out, "n_excluded")


def _first_snapshot(part: _Part, period: str, end_day: int) -> bool:
    """Whether the part has a period end on or before end (its own migration exists)."""
    if not part.n_rows:
        return False
    code = inp.PERIOD_CODES[inp.period_code(period, "DWMQY", "period")]
    p0 = _core.period_index(np.array([int(part._log.day.min())], np.int64), code)
    first_end = int(_core.period_start(p0 + 1, code)[0]) - 1
    return first_end <= end_day


def _migration_piece(part: _Part, period: str, segmentation: str, end: Any, bounds: Any,
                     lang: str, ends: np.ndarray) -> dict[str, Any]:
    end_day = inp.to_day(end, "end")
    if not _first_snapshot(part, period, end_day):
        return {"n_excluded": part.n_customers}
    mg = _segments.migration(part, period=period, segmentation=segmentation, end=end,
                             bounds=bounds, lang=lang)
    mine = mg.period_ends.to_numpy().astype("datetime64[D]").view(np.int64)
    off = int(np.searchsorted(ends, mine[0]))
    s = mg.matrix.shape[0]
    trans = np.zeros((max(ends.size - 1, 0), s, s), np.int64)
    if mine.size > 1:
        trans[off:] = mg.counts.to_numpy(np.int64).reshape(-1, s, s)
    entries = np.zeros((ends.size, s), np.int64)
    entries[off:] = mg.entries.to_numpy(np.int64)
    return {"transitions": trans, "entries": entries, "n_excluded": int(mg.attrs["n_excluded"])}


def _migration_stages(part: _Part, period: str, segmentation: str, end: Any, bounds: Any,
                      lang: str, ends: np.ndarray) -> pd.DataFrame:
    dates = pd.DatetimeIndex(inp.days_to_dates(ends), name="period_end")
    if segmentation in ("value_tiers", "value_tier"):
        labels = list(_segments.VALUE_TIER_LABELS[lang][1:])
    else:
        labels = list(_segments.LIFECYCLE_LABELS[lang])
    if _first_snapshot(part, period, inp.to_day(end, "end")):
        st = _segments.migration(part, period=period, segmentation=segmentation, end=end,
                                 bounds=bounds, lang=lang).stages
    else:
        st = pd.DataFrame(index=part.customer_ids[:0])
    empty = pd.Categorical.from_codes(np.full(len(st), -1), categories=labels, ordered=True)
    out = pd.DataFrame({d: st[d] if d in st.columns else empty for d in dates}, index=st.index)
    out.columns = dates
    return out


def _channel_totals(part: _Part, end: Any, by: str, existing_before: Any) -> pd.DataFrame:
    return _economics.channel_totals(part, end=end, by=by, existing_before=existing_before)


def _predicted_sums(part: _Part, ct: Any, models: Any, remaining: np.ndarray, period: str,
                    margin: float, discount_rate: float) -> tuple[Any, ...]:
    return _economics.predicted_sums(part, ct, models, remaining, period, margin,
                                     discount_rate)


def _add_nested(a: Any, b: Any) -> Any:
    if isinstance(a, tuple):
        return tuple(_add_nested(x, y) for x, y in zip(a, b))
    return a + b


# --------------------------------------------------------------------------- stage summary
def _stage_piece(df: pd.DataFrame, by: str) -> pd.DataFrame:
    key = df[by]
    if not isinstance(key.dtype, pd.CategoricalDtype):
        key = key.astype("category")
    g = df.groupby(key, observed=False, sort=True)
    out = pd.DataFrame({"customers": g.size().astype(np.float64)})
    if "revenue" in df.columns:
        out["revenue"] = g["revenue"].sum().astype(float)
    if "days_since_last" in df.columns:
        out["days_sum"] = g["days_since_last"].sum().astype(float)
        out["days_count"] = g["days_since_last"].count().astype(float)
    return out


def stage_summary(data: Any, by: str | None = None, **kwargs: Any) -> pd.DataFrame:
    """:func:`siyu.segments.stage_summary` of a Dask DataFrame (from :meth:`Transactions.
    lifecycle`, ``value_tiers`` or ``rfm``) or of a :class:`Transactions`: per-stage
    counts and sums added over partitions.

    Examples
    --------
    >>> import dask.dataframe as dd, siyu, siyu.dask
    >>> df = siyu.datasets.load_cdnow()
    >>> dtx = siyu.dask.Transactions(dd.from_pandas(df, npartitions=2),
    ...                              customer="customer_id", time="date", amount="amount")
    >>> int(siyu.segments.stage_summary(dtx.lifecycle())["customers"].sum())
    2357
    """
    if isinstance(data, Transactions):
        data = data.lifecycle(**kwargs)
    elif kwargs:
        raise TypeError(f"unexpected argument(s) {', '.join(kwargs)}: they are only used when "
                        "data is a Transactions")
    if not isinstance(data, dd.DataFrame):
        raise TypeError(f"data must be the Dask DataFrame returned by lifecycle(), "
                        f"value_tiers() or rfm(), or a siyu.dask.Transactions; got "
                        f"{type(data).__name__}")
    meta = data._meta
    shape = _segments.stage_summary(meta, by=by)      # checks by= as on one machine
    by = shape.index.name
    parts = data.to_delayed()
    pieces = [delayed(_stage_piece)(p, by) for p in parts]
    attrs = delayed(lambda p: dict(p.attrs))(parts[0]) if parts else None
    while len(pieces) > 1:
        pieces = [delayed(_combine_all)(_add_frame, pieces[i:i + _SPLIT_EVERY])
                  for i in range(0, len(pieces), _SPLIT_EVERY)]
    tot, attrs = dask.compute(pieces[0], attrs)
    tot = tot.reindex(shape.index).fillna(0.0)
    return _segments.stage_summary_from_sums(
        tot["customers"], tot.get("revenue"), tot.get("days_sum"), tot.get("days_count"),
        by, attrs or meta.attrs)
