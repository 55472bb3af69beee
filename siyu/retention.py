"""Retention reports (n-day, unbounded, bracket), repurchase rates and inter-purchase times.

Day gaps are calendar-day differences from a customer's first purchase (a row with
amount >= 0; refunds are never purchases).  Only rows on or before ``end`` count.
Counting runs in C (``siyu._core.retention_count``, ``cohort_second``,
``interpurchase``).
"""
from __future__ import annotations

import html
import numbers
from typing import TYPE_CHECKING, Any, Iterable, Sequence

import numpy as np
import pandas as pd

from siyu import _core
from siyu import _input as inp
from siyu._periods import show as _show
from siyu._periods import (NO_DAY, acquisition, bitset_budget, check_period, check_table_size,
                           dense_codes, period_labels, warn_existing, whole_numbers)

if TYPE_CHECKING:  # pragma: no cover
    from siyu.transactions import Transactions

_KINDS = {"n-day": 0, "unbounded": 1, "bracket": 2}
_MAX_DAYS = 36_525
_KIND_ALIASES = {"nday": "n-day", "n_day": "n-day", "n day": "n-day", "classic": "n-day",
                 "rolling": "unbounded", "brackets": "bracket", "range": "bracket"}


def _check_kind(kind: Any) -> str:
    if not isinstance(kind, str):
        raise TypeError(f"kind must be 'n-day', 'unbounded' or 'bracket', got {_show(kind)}")
    key = kind.strip().lower()
    key = _KIND_ALIASES.get(key, key)
    if key not in _KINDS:
        raise ValueError(f"unknown kind {_show(kind)}; use 'n-day', 'unbounded' or 'bracket'")
    return key


def _as_int(value: Any, what: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        if isinstance(value, numbers.Real) and float(value).is_integer():
            return int(value)
        raise TypeError(f"{what} must be whole numbers of days, got {_show(value)}")
    return int(value)


def _check_days(days: Any) -> np.ndarray:
    return whole_numbers(days, "days", 0, _MAX_DAYS, "range(0, 91)")


def _check_brackets(brackets: Any) -> np.ndarray:
    if brackets is None:
        raise ValueError("kind='bracket' needs brackets=, e.g. brackets=[(1, 7), (8, 30), (31, 90)]")
    try:
        pairs = [tuple(b) for b in brackets]
    except TypeError:
        raise TypeError("brackets must be a list of (lo, hi) day pairs, e.g. [(1, 7), (8, 30)]") \
            from None
    if not pairs:
        raise ValueError("brackets is empty; pass e.g. brackets=[(1, 7), (8, 30)]")
    out = []
    for p in pairs:
        if len(p) != 2:
            raise ValueError(f"bracket {_show(p)} must be a (lo, hi) pair of days")
        lo, hi = _as_int(p[0], "brackets"), _as_int(p[1], "brackets")
        if lo < 0:
            raise ValueError(f"bracket {_show(p)}: days must be >= 0")
        if hi < lo:
            raise ValueError(f"bracket {_show(p)} is reversed: write it as ({hi}, {lo}) (lo <= hi)")
        if hi > _MAX_DAYS:
            raise ValueError(f"bracket {_show(p)}: days must be <= {_MAX_DAYS:,} (about 100 years)")
        out.append((lo, hi))
    arr = np.array(sorted(out), dtype=np.int64)
    for a, b in zip(arr[:-1], arr[1:]):
        if b[0] <= a[1]:
            raise ValueError(f"brackets ({a[0]}, {a[1]}) and ({b[0]}, {b[1]}) overlap; brackets "
                             "must be disjoint, e.g. (1, 7), (8, 30)")
    return arr


def _group_index(acq: Any, codes: np.ndarray, inner: pd.Index) -> pd.Index:
    if acq.by_name is None:
        return inner
    labels = acq.group_labels[codes]
    return pd.MultiIndex.from_product([labels, inner], names=[acq.by_name, inner.name])


def _groups(acq: Any) -> tuple[np.ndarray, np.ndarray, int]:
    """Present group codes, compact per-customer group index (-1 = none), count."""
    has = acq.group >= 0
    codes, pos = dense_codes(acq.group[has])
    compact = np.full(acq.group.size, -1, dtype=np.int64)
    compact[has] = pos
    return codes, compact, max(codes.size, 1) if acq.by_name is None else codes.size


# --------------------------------------------------------------------------- retention
class RetentionTable:
    """An Amplitude/Mixpanel-style retention report.

    Attributes
    ----------
    table : pandas.DataFrame
        ``eligible``, ``retained``, ``rate`` per day (index ``day``) or bracket (index
        ``bracket``, closed intervals), with a leading ``by`` level when split.
    kind : str
    end : pandas.Timestamp
    by : str or None
    n_existing : int
        Existing customers left out (``existing_before``): their real first purchase
        is unknown, so no day gap from it can be counted.
    """

    def __init__(self, table: pd.DataFrame, kind: str, end: pd.Timestamp, by: str | None,
                 n_existing: int = 0) -> None:
        self.table = table
        self.kind = kind
        self.end = end
        self.by = by
        self.n_existing = n_existing

    @property
    def rate(self) -> pd.Series | pd.DataFrame:
        """Retention rate per day/bracket (one column per group when split)."""
        r = self.table["rate"]
        return r.unstack(0) if self.by else r

    def to_frame(self) -> pd.DataFrame:
        return self.table.reset_index()

    def plot(self, ax: Any = None, lang: str = "en", **kwargs: Any) -> Any:
        """Retention curve(s) with matplotlib (``lang`` "en" or "zh"); returns the Axes."""
        from siyu import plotting

        return plotting.retention_curves(self.rate, kind=self.kind, by=self.by, ax=ax,
                                         lang=lang, **kwargs)

    def __repr__(self) -> str:
        return (f"<siyu.RetentionTable: {self.kind}, end {self.end.date()}"
                + (f", by {self.by}" if self.by else "")
                + (f", {self.n_existing:,} existing customers left out" if self.n_existing else "")
                + f">\n{_show(self.table)}")

    def _repr_html_(self) -> str:
        head = (f"<b>siyu.RetentionTable</b>: {html.escape(self.kind)} retention, end "
                f"{self.end.date()}" + (f", by {html.escape(str(self.by))}" if self.by else ""))
        return head + self.table.to_html(formatters={"rate": lambda x: f"{x:.1%}"}, na_rep="")


def retention(tx: "Transactions", kind: str = "n-day", days: Iterable[int] = range(0, 91),
              brackets: Sequence[tuple[int, int]] | None = None, end: Any = None,
              by: str | None = None, existing_before: Any = None) -> RetentionTable:
    """Retention report: of the customers who could be observed, how many came back.

    Day gaps are calendar-day differences from the customer's first purchase day
    (first row with amount ≥ 0 on or before ``end``); refunds are never purchases.

    - ``kind="n-day"``: retained on day k = a purchase exactly k days after the first
      purchase (day 0 is 100% by definition);
    - ``kind="unbounded"``: a purchase on day k or later (up to ``end``);
    - ``kind="bracket"``: a purchase with lo ≤ gap ≤ hi, for each (lo, hi) of
      ``brackets``.

    A customer is **eligible** for day k when first day + k ≤ ``end``; for a bracket
    when the whole bracket is observable, first day + hi ≤ ``end``.  ``rate`` =
    retained / eligible (NaN when nobody is eligible).

    Parameters
    ----------
    kind : {"n-day", "unbounded", "bracket"}, default "n-day"
    days : iterable of int, default range(0, 91)
        Days (≥ 0) to report for n-day and unbounded retention (sorted, de-duplicated).
    brackets : sequence of (lo, hi), optional
        Disjoint closed day ranges for ``kind="bracket"``, e.g. ``[(1, 7), (8, 30)]``.
    end : date-like, optional
        Last day observed (default: last day of the log).
    by : str, optional
        Split by acquisition channel (the ``channel=`` column of Transactions); a
        customer's group is the channel of their first purchase row; missing values
        form the group ``"(missing)"``.
    existing_before : date-like, optional
        Customers whose first purchase in the log is before this date are existing
        (acquired before the log starts): left out and counted in ``n_existing``.

    Returns
    -------
    RetentionTable
        ``.table`` (eligible, retained, rate), ``.rate``, ``.plot()``, ``n_existing``.

    Raises
    ------
    ValueError
        Unknown ``kind``; negative ``days``; missing, reversed or overlapping
        ``brackets``; ``brackets`` given with another kind; unknown ``by``.

    Examples
    --------
    >>> import siyu
    >>> tx = siyu.Transactions(siyu.datasets.load_online_retail(), customer="customer_id",
    ...                        time="date", amount="amount")
    >>> r = tx.retention(days=[0, 7, 30])
    >>> r.table["eligible"].tolist()
    [4338, 4307, 4086]
    >>> tx.retention(kind="bracket", brackets=[(1, 30), (31, 90)]).table["retained"].tolist()
    [778, 1328]
    """
    kind = _check_kind(kind)
    if kind == "bracket":
        win = _check_brackets(brackets)
        lo, hi = np.ascontiguousarray(win[:, 0]), np.ascontiguousarray(win[:, 1])
        inner: pd.Index = pd.IntervalIndex.from_arrays(lo, hi, closed="both", name="bracket")
    else:
        if brackets is not None:
            raise ValueError(f"brackets= is only used with kind='bracket' (got kind={_show(kind)})")
        lo = _check_days(days)
        hi = lo
        inner = pd.Index(lo, name="day")
    end_day = tx._end_day(end)
    acq = acquisition(tx, end_day, by, existing_before)
    warn_existing(acq)
    codes, compact, n_groups = _groups(acq)
    log = tx._log
    first = np.where(acq.group >= 0, acq.first_day, 0).astype(np.int64)
    elig, ret = _core.retention_count(None, log.day, log.amount, tx.n_customers, end_day,
                                      first, compact, n_groups, _KINDS[kind], lo, hi,
                                      bitset_budget(tx.n_rows, tx.n_customers), log.offsets)
    index = _group_index(acq, codes, inner)
    return retention_table_from_counts(elig.ravel(), ret.ravel(), index, kind, end_day,
                                       acq.by_name, acq.n_excluded, acq.n_existing)


def retention_table_from_counts(eligible: np.ndarray, retained: np.ndarray, index: pd.Index,
                                kind: str, end_day: int, by: str | None, n_excluded: int,
                                n_existing: int = 0) -> RetentionTable:
    """A :class:`RetentionTable` from eligible / retained counts per row of ``index``
    (the last step of :func:`retention`; partial counts can be added up first)."""
    e = np.asarray(eligible, dtype=np.int64)
    r = np.asarray(retained, dtype=np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(e > 0, r / np.where(e > 0, e, 1), np.nan)
    table = pd.DataFrame({"eligible": e, "retained": r, "rate": rate}, index=index)
    table.attrs.update(kind=kind, end=inp.day_to_timestamp(end_day), n_excluded=int(n_excluded),
                       n_existing=int(n_existing))
    return RetentionTable(table, kind, inp.day_to_timestamp(end_day), by, int(n_existing))


# --------------------------------------------------------------------------- repurchase
class RepurchaseTable:
    """Repurchase rates: share of customers whose second purchase day came within k days.

    Attributes
    ----------
    overall : pandas.DataFrame
        Index ``within`` (days; with a leading ``by`` level when split), columns
        ``eligible``, ``repurchased``, ``rate``.
    by_cohort : pandas.DataFrame
        Index ``cohort`` (or ``(by, cohort)``), columns MultiIndex
        (``eligible`` / ``repurchased`` / ``rate``, within).
    """

    def __init__(self, overall: pd.DataFrame, by_cohort: pd.DataFrame, within: np.ndarray,
                 period: str, end: pd.Timestamp, by: str | None, n_existing: int = 0) -> None:
        self.overall = overall
        self.by_cohort = by_cohort
        self.within = within
        self.period = period
        self.end = end
        self.by = by
        self.n_existing = n_existing

    @property
    def rate(self) -> pd.DataFrame:
        """Repurchase rate per cohort (rows) and window (columns)."""
        return self.by_cohort["rate"]

    def plot(self, ax: Any = None, lang: str = "en", **kwargs: Any) -> Any:
        """Repurchase rate by cohort, one line per window; returns the Axes."""
        from siyu import plotting

        return plotting.repurchase_rates(self.rate, period=self.period, ax=ax, lang=lang,
                                         **kwargs)

    def __repr__(self) -> str:
        return f"<siyu.RepurchaseTable: end {self.end.date()}>\n{_show(self.overall)}"

    def _repr_html_(self) -> str:
        return ("<b>siyu.RepurchaseTable</b> (overall)" +
                self.overall.to_html(formatters={"rate": lambda x: f"{x:.1%}"}, na_rep="") +
                "<b>by cohort (rate)</b>" +
                self.rate.to_html(float_format=lambda x: f"{x:.1%}", na_rep=""))


def repurchase(tx: "Transactions", within: Iterable[int] = (30, 90, 180), end: Any = None,
               by: str | None = None, period: str = "M",
               existing_before: Any = None) -> RepurchaseTable:
    """Share of customers who bought a second time within k days of their first purchase.

    The second occasion is the customer's second distinct purchase day (rows with
    amount ≥ 0 on or before ``end``).  For each k in ``within``, a customer is
    eligible when first purchase day + k ≤ ``end`` (k days observable) and has
    repurchased when second day − first day ≤ k.

    Parameters
    ----------
    within : iterable of int, default (30, 90, 180)
        Windows in days (≥ 1).
    end : date-like, optional
        Last day observed (default: last day of the log).
    by : str, optional
        Split by acquisition channel (see :meth:`Transactions.cohorts`).
    period : {"D", "W", "M", "Q", "Y"}, default "M"
        Cohort period for ``by_cohort``.
    existing_before : date-like, optional
        Customers whose first purchase in the log is before this date are existing
        (their real first purchase is unknown): left out, counted in ``n_existing``.

    Returns
    -------
    RepurchaseTable
        ``overall`` and ``by_cohort`` tables of eligible, repurchased, rate;
        ``n_existing``.

    Examples
    --------
    >>> import siyu
    >>> tx = siyu.Transactions(siyu.datasets.load_online_retail(), customer="customer_id",
    ...                        time="date", amount="amount")
    >>> rp = tx.repurchase(within=(30, 90))
    >>> rp.overall["repurchased"].tolist()
    [778, 1533]
    """
    ks_arr = whole_numbers(within, "within", 1, _MAX_DAYS, "(30, 90, 180)")
    period = check_period(period)
    end_day = tx._end_day(end)
    acq = acquisition(tx, end_day, by, existing_before)
    warn_existing(acq, period)
    log = tx._log
    k = tx.n_customers
    second = _core.cohort_second(None, log.day, log.amount, k, end_day, acq.first_day,
                                 log.offsets)
    has = acq.group >= 0
    first = acq.first_day[has]
    gap = np.where(second[has] == NO_DAY, np.iinfo(np.int64).max, second[has] - first)
    avail = end_day - first
    code = inp.PERIOD_CODES[period]
    cper = _core.period_index(first, code) if first.size else np.zeros(0, np.int64)
    grp = acq.group[has]
    codes = dense_codes(grp)[0]

    # cohort rows: (group, cohort)
    # one int64 key per (group, cohort): np.unique on a 1-d array is far faster than axis=0
    if first.size:
        lo = int(cper.min())
        span = int(cper.max()) - lo + 1
        ukeys, inv = dense_codes(grp * span + (cper - lo))
        uniq = np.stack([ukeys // span, ukeys % span + lo], axis=1)
    else:
        uniq, inv = np.zeros((0, 2), np.int64), np.zeros(0, np.int64)
    inv = inv.ravel()
    n_rows = uniq.shape[0]
    check_table_size(f"repurchase(period={period!r})", (n_rows, ks_arr.size), 64,
                     ["fewer within= windows", "a longer period (fewer cohorts)"])
    elig, rep = _repurchase_counts(inv, n_rows, avail, gap, ks_arr)
    return repurchase_table_from_counts(uniq, elig, rep, ks_arr, codes, acq.group_labels,
                                        period, end_day, acq.by_name, acq.n_existing)


def _repurchase_counts(row: np.ndarray, n_rows: int, avail: np.ndarray, gap: np.ndarray,
                       ks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per (row, k): customers with k days observable (avail >= k) and those of them who
    repurchased within k days (gap <= k), for all k at once (no loop over ``ks``).

    A second purchase lies on or before ``end``, so gap <= avail: every repeat buyer
    with avail < k also has gap <= k.  Hence eligible(k) = n - #(avail < k) and
    repurchased(k) = #(gap <= k) - #(repeat buyers with avail < k).
    """
    if n_rows == 0 or ks.size == 0:
        z = np.zeros((n_rows, ks.size), np.int64)
        return z, z.copy()
    width = int(ks.max()) + 2                       # values clipped to width - 1 > every k
    base = np.arange(n_rows, dtype=np.int64)[:, None] * width
    q = base + ks[None, :]

    cells = n_rows * width

    def below(key: np.ndarray, side: str) -> np.ndarray:
        """Per (row, k): how many of the row's values are < k (side "left") or <= k."""
        if cells <= 4 * key.size + (1 << 20):      # a histogram per row: O(n), no sort
            cum = np.cumsum(np.bincount(key, minlength=cells).reshape(n_rows, width), axis=1)
            return cum[:, ks - 1 if side == "left" else ks]
        key = np.sort(key)
        return np.searchsorted(key, q, side=side) - np.searchsorted(key, base, side="left")

    # repeat buyers whose gap can be <= some k (a larger gap, and avail >= gap, count for
    # no k at all)
    again = gap < width - 1
    short = below(row * width + np.minimum(avail, width - 1), "left")
    n = np.bincount(row, minlength=n_rows)[:, None]
    hit = below(row[again] * width + gap[again], "right")
    short_again = below(row[again] * width + np.minimum(avail[again], width - 1), "left")
    return n - short, hit - short_again


def repurchase_table_from_counts(rows: np.ndarray, eligible: np.ndarray, repurchased: np.ndarray,
                                 within: np.ndarray, codes: np.ndarray,
                                 group_labels: pd.Index | None, period: str, end_day: int,
                                 by: str | None, n_existing: int = 0) -> RepurchaseTable:
    """A :class:`RepurchaseTable` from counts (the last step of :func:`repurchase`).

    ``rows`` is (n, 2): group code and cohort period index per cohort row, sorted;
    ``eligible`` / ``repurchased`` are n × len(within) counts; ``codes`` the sorted
    group codes present (``[0]`` without ``by``).  Partial counts can be added up first.
    """
    uniq = np.asarray(rows, dtype=np.int64).reshape(-1, 2)
    elig = np.asarray(eligible, dtype=np.int64).reshape(uniq.shape[0], len(within))
    rep = np.asarray(repurchased, dtype=np.int64).reshape(elig.shape)
    ks_arr = np.asarray(within, dtype=np.int64)
    codes = np.asarray(codes, dtype=np.int64)
    n_rows = uniq.shape[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(elig > 0, rep / np.maximum(elig, 1), np.nan)
    cohort_lab = period_labels(uniq[:, 1], period) if n_rows else period_labels(np.zeros(0, np.int64), period)
    if by is None:
        row_index: pd.Index = pd.PeriodIndex(cohort_lab, name="cohort")
    else:
        row_index = pd.MultiIndex.from_arrays([group_labels[uniq[:, 0]], cohort_lab],
                                              names=[by, "cohort"])
    cols = pd.MultiIndex.from_product([["eligible", "repurchased", "rate"], ks_arr],
                                      names=["", "within"])
    by_cohort = pd.DataFrame(np.hstack([elig, rep, rate]), index=row_index, columns=cols)
    for name in ("eligible", "repurchased"):
        by_cohort[name] = by_cohort[name].astype(np.int64)

    # overall (per group)
    if by is None:
        oe, orp = elig.sum(axis=0)[None, :], rep.sum(axis=0)[None, :]
    else:
        gi = np.searchsorted(codes, uniq[:, 0]) if n_rows else np.zeros(0, np.int64)
        oe = np.zeros((codes.size, ks_arr.size), np.int64)
        orp = np.zeros_like(oe)
        np.add.at(oe, gi, elig)
        np.add.at(orp, gi, rep)
    inner = pd.Index(ks_arr, name="within")
    index: pd.Index = inner if by is None else pd.MultiIndex.from_product(
        [group_labels[codes], inner], names=[by, inner.name])
    oe, orp = oe.ravel(), orp.ravel()
    with np.errstate(invalid="ignore", divide="ignore"):
        orate = np.where(oe > 0, orp / np.maximum(oe, 1), np.nan)
    overall = pd.DataFrame({"eligible": oe, "repurchased": orp, "rate": orate}, index=index)
    return RepurchaseTable(overall, by_cohort, ks_arr, period, inp.day_to_timestamp(end_day),
                           by, int(n_existing))


# --------------------------------------------------------------------------- gaps
class InterpurchaseTimes:
    """Gaps in days between consecutive purchase days of each customer.

    Attributes
    ----------
    gaps : pandas.Series
        One entry per gap (int days), indexed by customer id, in time order per
        customer.
    median_ : float
        Median gap (NaN when there are none).
    """

    def __init__(self, gaps: pd.Series, end: pd.Timestamp) -> None:
        self.gaps = gaps
        self.end = end
        self.median_ = float(np.median(gaps.to_numpy())) if len(gaps) else float("nan")

    def quantiles(self, q: Sequence[float] = (0.1, 0.25, 0.5, 0.75, 0.9)) -> pd.Series:
        """Quantiles of the gaps (linear interpolation, as numpy/pandas)."""
        if hasattr(q, "__len__") and not isinstance(q, str) and len(q) > 10_000:
            raise ValueError("q must be a short list of quantiles in [0, 1], e.g. "
                             "q=(0.25, 0.5, 0.75)")
        try:
            qs = np.asarray(q, dtype=float)
        except (TypeError, ValueError):
            raise TypeError(f"q must be numbers in [0, 1], e.g. q=(0.25, 0.5, 0.75); got "
                            f"{_show(q)}") from None
        if qs.ndim > 1 or qs.size > 10_000:
            raise ValueError("q must be a short list of quantiles in [0, 1], e.g. "
                             "q=(0.25, 0.5, 0.75)")
        if not np.isfinite(qs).all() or ((qs < 0) | (qs > 1)).any():
            raise ValueError("quantiles q must lie in [0, 1], e.g. q=(0.25, 0.5, 0.75)")
        if not len(self.gaps):
            return pd.Series(np.nan, index=pd.Index(qs, name="q"), name="gap_days")
        return pd.Series(np.quantile(self.gaps.to_numpy(), qs), index=pd.Index(qs, name="q"),
                         name="gap_days")

    def describe(self) -> pd.Series:
        return self.gaps.describe()

    def plot(self, ax: Any = None, lang: str = "en", **kwargs: Any) -> Any:
        """Histogram of the gaps; returns the Axes."""
        from siyu import plotting

        return plotting.interpurchase_histogram(self.gaps.to_numpy(), self.median_, ax=ax,
                                                lang=lang, **kwargs)

    def __len__(self) -> int:
        return len(self.gaps)

    def __repr__(self) -> str:
        return (f"<siyu.InterpurchaseTimes: {len(self.gaps):,} gaps, median {self.median_:g} "
                f"days, end {self.end.date()}>")


def interpurchase_times(tx: "Transactions", end: Any = None) -> InterpurchaseTimes:
    """Days between consecutive purchase occasions (distinct purchase days) of each customer.

    Rows with amount ≥ 0 on or before ``end`` are purchases; several purchases on one
    day are one occasion; refunds are ignored.  A customer with n occasions
    contributes n − 1 gaps.

    Parameters
    ----------
    end : date-like, optional
        Last day observed (default: last day of the log).

    Returns
    -------
    InterpurchaseTimes
        ``.gaps`` (Series indexed by customer id), ``.median_``, ``.quantiles(q)``,
        ``.describe()``, ``.plot()``.

    Examples
    --------
    >>> import siyu
    >>> tx = siyu.Transactions(siyu.datasets.load_online_retail(), customer="customer_id",
    ...                        time="date", amount="amount")
    >>> ip = tx.interpurchase_times()
    >>> len(ip), ip.median_
    (12425, 28.0)
    """
    end_day = tx._end_day(end)
    log = tx._log
    count, gaps = _core.interpurchase(None, log.day, log.amount, tx.n_customers, end_day,
                                      log.offsets)
    ids = log.ids.repeat(count)
    s = pd.Series(gaps, index=ids, name="gap_days")
    return InterpurchaseTimes(s, inp.day_to_timestamp(end_day))
