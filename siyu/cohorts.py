"""Acquisition cohorts: who was acquired when, and what they did afterwards.

Definitions (DESIGN.md section 2):

- a *purchase* is a row with amount >= 0 (every row when the log has no amounts); a
  *refund* (amount < 0) reduces revenue but is never a purchase;
- a customer's **cohort** is the calendar period (``D``, ``W`` Monday-start, ``M``,
  ``Q``, ``Y``) of their first purchase on or before ``end``;
- **age** k of a cell = calendar period index minus the cohort's period index;
- a cell whose calendar period starts after ``end`` is **not observed** (NaN); an
  observed cell without activity is 0.  A period that contains ``end`` is observed
  (partially: only rows up to ``end`` count).

The counting runs in C (``siyu._core.cohort_first`` / ``cohort_matrix``): one pass
finds each customer's first purchase, one pass drops every row into its cell.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from siyu import _core
from siyu import _input as inp

if TYPE_CHECKING:  # pragma: no cover
    from siyu.transactions import Transactions

NO_DAY = np.iinfo(np.int64).max
_PERIOD_FREQ = {"D": "D", "W": "W-SUN", "M": "M", "Q": "Q-DEC", "Y": "Y-DEC"}
_METRICS = ("active", "retention", "orders", "revenue", "ltv")
_FORMATS = {"retention": "{:.1%}", "ltv": "{:,.2f}", "revenue": "{:,.0f}"}

# Largest per-customer bitset (in 64-bit words) the kernels may allocate; None means
# "no more memory than bucketing the log would take".  Tests set it to 0 to exercise
# the bucketing path.
_MAX_BITSET_WORDS: int | None = None


def _bitset_budget(n_rows: int, k: int) -> int:
    if _MAX_BITSET_WORDS is not None:
        return int(_MAX_BITSET_WORDS)
    return max(2 * n_rows + k, 1 << 20)


# --------------------------------------------------------------------------- helpers
@dataclass
class Acquisition:
    """Per-customer first purchase (by ``end``) and acquisition group."""

    first_day: np.ndarray        # int64, NO_DAY when the customer has no purchase by end
    group: np.ndarray            # int64 group code (0..n_groups-1), -1 when no cohort
    group_labels: pd.Index | None  # labels of the group codes, None without by
    by_name: str | None
    n_excluded: int              # customers with rows by end but no purchase (only refunds)


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
        raise ValueError(f"by={by!r}: the log has no channel column; pass channel={by!r} "
                         "when building siyu.Transactions to split by it")
    if by not in (chname, "channel"):
        raise ValueError(f"by={by!r} is not a column of this log; the available column is "
                         f"{chname!r} (the channel= given to Transactions)")
    return chname or "channel"


def acquisition(tx: "Transactions", end_day: int, by: Any) -> Acquisition:
    """First purchase day and acquisition group (channel of the first purchase row)."""
    log = tx._log
    by_name = resolve_by(tx, by)
    k = tx.n_customers
    group_in = log.channel if by_name is not None else None
    first, fgroup, n_excluded = _core.cohort_first(log.cust, log.day, log.amount, group_in, k,
                                                   end_day)
    has = first != NO_DAY
    if by_name is None:
        group = np.where(has, 0, -1).astype(np.int64)
        labels = None
    else:
        group = np.where(has, fgroup, -1).astype(np.int64)
        labels = log.channel_labels
    return Acquisition(first, group, labels, by_name, int(n_excluded))


def dense_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values of a small-range int64 array and each value's position
    among them (O(n + range), no sort)."""
    if values.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    lo = int(values.min())
    shifted = values - lo
    present = np.bincount(shifted) > 0
    uniq = np.flatnonzero(present).astype(np.int64) + lo
    lut = np.cumsum(present, dtype=np.int64) - 1
    return uniq, lut[shifted]


def period_labels(index: np.ndarray, period: str) -> pd.PeriodIndex:
    """pandas Periods for siyu period indices."""
    code = inp.PERIOD_CODES[period]
    starts = _core.period_start(np.asarray(index, dtype=np.int64), code)
    dates = pd.DatetimeIndex(inp.days_to_dates(starts))
    return dates.to_period(_PERIOD_FREQ[period])


def check_end_period(period: Any) -> str:
    return inp.period_code(period, "DWMQY", "period")


# --------------------------------------------------------------------------- table
class CohortTable:
    """Cohort × age matrices of an acquisition-cohort analysis.

    Built by :meth:`siyu.Transactions.cohorts` (see there for the definitions).

    Attributes
    ----------
    period : str
        ``"D"``, ``"W"``, ``"M"``, ``"Q"`` or ``"Y"``.
    end : pandas.Timestamp
        Last day observed.
    margin : float or None
        Gross margin applied to ``ltv`` (None: revenue).
    by : str or None
        Column the cohorts are split by.
    sizes : pandas.Series
        Customers acquired per cohort (index: ``cohort`` Periods, or
        ``(by, cohort)`` with ``by``).
    active, orders, revenue : pandas.DataFrame
        Cohort × age (columns ``0..``) counts of active customers, purchase rows and
        net revenue; NaN where the cell is not observed.
    """

    def __init__(self, *, period: str, end: pd.Timestamp, margin: float | None,
                 by: str | None, sizes: pd.Series, active: pd.DataFrame,
                 orders: pd.DataFrame, revenue: pd.DataFrame | None,
                 observed: np.ndarray, n_excluded: int, n_dropped: int) -> None:
        self.period = period
        self.end = end
        self.margin = margin
        self.by = by
        self.sizes = sizes
        self.active = active
        self.orders = orders
        self._revenue = revenue
        self._observed = observed
        self.n_excluded = n_excluded
        self.n_dropped = n_dropped

    # ------------------------------------------------------------------ metrics
    @property
    def retention(self) -> pd.DataFrame:
        """Share of the cohort active at each age (active / size); NaN when unobserved."""
        out = self.active.div(self.sizes.to_numpy(dtype=float), axis=0)
        out.attrs.update(self.active.attrs)
        return out

    @property
    def revenue(self) -> pd.DataFrame:
        """Net revenue (refunds included) per cohort and age; NaN when unobserved."""
        if self._revenue is None:
            raise AttributeError("revenue is unavailable: the log has no amounts. Pass "
                                 "amount= (the order amount column) to siyu.Transactions")
        return self._revenue

    @property
    def ltv(self) -> pd.DataFrame:
        """Historical LTV curve: cumulative revenue (× margin) through age k per cohort
        customer; NaN when unobserved."""
        rev = self.revenue
        cum = np.cumsum(np.nan_to_num(rev.to_numpy(), nan=0.0), axis=1)
        cum = np.where(self._observed, cum, np.nan)
        if self.margin is not None:
            cum = cum * self.margin
        out = pd.DataFrame(cum / self.sizes.to_numpy(dtype=float)[:, None],
                           index=rev.index, columns=rev.columns)
        out.attrs.update(rev.attrs, margin=self.margin)
        return out

    def average(self, metric: str = "retention") -> pd.Series:
        """Size-weighted average over the cohorts observed at each age.

        For age k, only cohorts whose cell k is observed take part, with weights equal
        to their sizes: ``retention`` → Σ active / Σ size; ``ltv`` → Σ (cumulative
        revenue × margin) / Σ size; ``orders`` / ``revenue`` / ``active`` → per cohort
        customer (Σ value / Σ size).

        Parameters
        ----------
        metric : {"retention", "ltv", "orders", "revenue", "active"}

        Returns
        -------
        pandas.Series
            Indexed by age; NaN for ages no cohort has reached.
        """
        metric = _check_metric(metric)
        if metric in ("retention", "active"):
            values = self.active.to_numpy()
        elif metric == "ltv":
            values = self.ltv.to_numpy() * self.sizes.to_numpy(dtype=float)[:, None]
        else:
            values = getattr(self, metric).to_numpy()
        obs = self._observed
        w = np.where(obs, self.sizes.to_numpy(dtype=float)[:, None], 0.0)
        num = np.where(obs, values, 0.0).sum(axis=0)
        den = w.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            avg = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
        return pd.Series(avg, index=self.active.columns, name=f"average {metric}")

    def table(self, metric: str = "retention", average: bool = False) -> pd.DataFrame:
        """One metric as a cohort × age DataFrame, optionally with an "average" row."""
        metric = _check_metric(metric)
        df = getattr(self, metric)
        if not average:
            return df
        avg = self.average(metric)
        out = df.copy()
        out.index = out.index.map(str) if out.index.nlevels == 1 else \
            pd.Index([" ".join(map(str, t)) for t in out.index], name="cohort")
        out.loc["average"] = avg.to_numpy()
        return out

    def to_frame(self) -> pd.DataFrame:
        """Long format: one row per observed (cohort, age) cell.

        Columns: [by,] cohort, age, period (calendar period of the cell), size,
        active, retention, orders, and with amounts revenue, ltv.
        """
        obs = self._observed
        r, a = np.nonzero(obs)
        idx = self.sizes.index
        cols: dict[str, Any] = {}
        if isinstance(idx, pd.MultiIndex):
            cols[idx.names[0]] = idx.get_level_values(0)[r]
            cohorts = idx.get_level_values(1)[r]
        else:
            cohorts = idx[r]
        cols["cohort"] = cohorts
        cols["age"] = self.active.columns.to_numpy()[a]
        cols["period"] = pd.PeriodIndex(cohorts) + a
        cols["size"] = self.sizes.to_numpy()[r]
        cols["active"] = self.active.to_numpy()[r, a].astype(np.int64)
        cols["retention"] = self.retention.to_numpy()[r, a]
        cols["orders"] = self.orders.to_numpy()[r, a].astype(np.int64)
        if self._revenue is not None:
            cols["revenue"] = self._revenue.to_numpy()[r, a]
            cols["ltv"] = self.ltv.to_numpy()[r, a]
        return pd.DataFrame(cols)

    # ------------------------------------------------------------------ display
    def style(self, metric: str = "retention", cmap: str = "YlGnBu") -> Any:
        """A pandas Styler of one metric with a colour gradient.

        Needs jinja2 (pandas' Styler) and matplotlib (the gradient); see
        :meth:`to_html` for a dependency-free coloured table.
        """
        metric = _check_metric(metric)
        df = getattr(self, metric)
        try:
            sty = df.style
        except AttributeError as exc:
            raise ImportError("CohortTable.style() needs jinja2 (pip install jinja2); "
                              "CohortTable.to_html() works without it") from exc
        sty = sty.format(_FORMATS.get(metric, "{:,.0f}"), na_rep="")
        try:
            import matplotlib  # noqa: F401
            sty = sty.background_gradient(cmap=cmap, axis=None)
        except ImportError:
            pass
        return sty.set_caption(f"{metric} by {self.period} cohort (end {self.end.date()})")

    def to_html(self, metric: str = "retention") -> str:
        """HTML table of one metric with a white-to-blue colour gradient (no extra
        dependencies); unobserved cells are blank."""
        metric = _check_metric(metric)
        df = getattr(self, metric)
        data = df.to_numpy(dtype=float)
        finite = data[np.isfinite(data)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        span = hi - lo if hi > lo else 1.0
        fmt = _FORMATS.get(metric, "{:,.0f}")
        names = list(df.index.names) + ["size"]
        head = "".join(f"<th>{html.escape(str(n))}</th>" for n in names)
        head += "".join(f"<th>{c}</th>" for c in df.columns)
        rows = []
        sizes = self.sizes.to_numpy()
        for i, key in enumerate(df.index):
            key = key if isinstance(key, tuple) else (key,)
            cells = "".join(f"<th style='text-align:left'>{html.escape(str(x))}</th>" for x in key)
            cells += f"<td>{sizes[i]:,}</td>"
            for v in data[i]:
                if not np.isfinite(v):
                    cells += "<td></td>"
                    continue
                t = (v - lo) / span
                r, g, b = (int(255 - t * (255 - c)) for c in (33, 102, 172))
                fg = "white" if t > 0.6 else "black"
                cells += (f"<td style='background-color:rgb({r},{g},{b});color:{fg};"
                          f"text-align:right'>{fmt.format(v)}</td>")
            rows.append(f"<tr>{cells}</tr>")
        return (f"<table class='siyu-cohorts'><thead><tr>{head}</tr></thead>"
                f"<tbody>{''.join(rows)}</tbody></table>")

    def _repr_html_(self) -> str:
        head = (f"<b>siyu.CohortTable</b>: {len(self.sizes)} {self.period} cohorts, "
                f"{int(self.sizes.sum()):,} customers, end {self.end.date()}"
                + (f", by {html.escape(str(self.by))}" if self.by else "")
                + " &mdash; retention")
        if self.active.size > 20_000:   # keep notebooks responsive (e.g. daily cohorts)
            return head + "<p>(large table: use .retention, .to_html() or .plot())</p>"
        return head + self.to_html("retention")

    def __repr__(self) -> str:
        return (f"<siyu.CohortTable: {len(self.sizes)} {self.period} cohorts, "
                f"{int(self.sizes.sum()):,} customers, ages 0..{self.active.shape[1] - 1}, "
                f"end {self.end.date()}" + (f", by {self.by}" if self.by else "") + ">")

    def plot(self, kind: str = "heatmap", metric: str = "retention", ax: Any = None,
             **kwargs: Any) -> Any:
        """Plot with matplotlib; returns the Axes.

        kind : {"heatmap", "retention", "ltv"}
            ``heatmap`` of ``metric`` with annotations; ``retention`` curves (one per
            cohort plus the average); ``ltv`` curves.
        """
        from siyu import plotting

        kind = str(kind).lower()
        if kind == "heatmap":
            return plotting.cohort_heatmap(self, metric=metric, ax=ax, **kwargs)
        if kind == "retention":
            return plotting.retention_curves(self, ax=ax, **kwargs)
        if kind == "ltv":
            return plotting.ltv_curves(self, ax=ax, **kwargs)
        raise ValueError(f"unknown kind {kind!r}; use 'heatmap', 'retention' or 'ltv'")


def _check_metric(metric: Any) -> str:
    if metric not in _METRICS:
        raise ValueError(f"unknown metric {metric!r}; use one of {', '.join(map(repr, _METRICS))}")
    return metric


# --------------------------------------------------------------------------- entry
def cohort_table(tx: "Transactions", period: str = "M", end: Any = None, by: str | None = None,
                 margin: float | None = None) -> CohortTable:
    """Acquisition-cohort matrices: size, active customers, retention, orders, revenue, LTV.

    A customer's cohort is the calendar period of their first purchase (a row with
    amount ≥ 0) on or before ``end``; the age of a later row is its calendar period
    index minus the cohort's (period differences, not elapsed time).  For each
    cohort × age cell:

    - ``active``: distinct customers with at least one purchase row in that period;
    - ``retention``: active / cohort size;
    - ``orders``: purchase rows (amount ≥ 0);
    - ``revenue``: sum of all amounts, refunds included;
    - ``ltv``: cumulative revenue through age k (× ``margin`` when given) per cohort
      customer — the historical LTV curve.

    A cell whose calendar period starts after ``end`` is NaN (not observed); an
    observed cell without activity is 0; the period containing ``end`` is observed up
    to ``end``.  Rows after ``end`` are ignored.  Customers whose rows are all refunds
    have no cohort and are counted in ``n_excluded``; refunds dated before a
    customer's first purchase period have no age and are counted in ``n_dropped``.
    :meth:`CohortTable.average` gives the size-weighted average row over the observed
    cells.  Only cohorts with at least one customer are listed.

    Parameters
    ----------
    period : {"D", "W", "M", "Q", "Y"}, default "M"
        Calendar period of cohorts and ages (weeks start on Monday).
    end : date-like, optional
        Last day observed (inclusive); default the last day of the log.
    by : str, optional
        Split cohorts by the acquisition channel: the ``channel=`` column given to
        :class:`~siyu.Transactions` (its name, or ``"channel"``).  A customer's group
        is the channel of their first purchase row; missing channel values form their
        own group labelled ``"(missing)"``.  Results get a ``(by, cohort)`` MultiIndex.
    margin : float, optional
        Gross margin in (0, 1]; ``ltv`` then is cumulative gross margin.

    Returns
    -------
    CohortTable
        ``sizes``, ``active``, ``retention``, ``orders``, ``revenue``, ``ltv``,
        ``average()``, ``to_frame()``, ``style()``, ``plot()``, ``period``, ``end``.
        ``revenue`` and ``ltv`` raise AttributeError when the log has no amounts.

    Raises
    ------
    ValueError
        Unknown ``period``, ``end`` before the first purchase, unknown ``by``,
        ``margin`` outside (0, 1].

    Examples
    --------
    >>> import siyu
    >>> tx = siyu.Transactions(siyu.datasets.load_online_retail(), customer="customer_id",
    ...                        time="date", amount="amount")
    >>> ct = tx.cohorts(period="M")
    >>> int(ct.sizes.iloc[0]), str(ct.sizes.index[0])
    (885, '2010-12')
    >>> round(float(ct.retention.iloc[0, 1]), 4)
    0.3661
    """
    period = check_end_period(period)
    if margin is not None:
        if isinstance(margin, bool) or not isinstance(margin, (int, float, np.integer, np.floating)):
            raise TypeError(f"margin must be a number in (0, 1], got {margin!r}")
        margin = float(margin)
        if not (0.0 < margin <= 1.0):
            raise ValueError(f"margin={margin!r} must be a gross-margin fraction in (0, 1], "
                             "e.g. margin=0.35")
    log = tx._log
    k = tx.n_customers
    end_day = tx._end_day(end)
    code = inp.PERIOD_CODES[period]
    acq = acquisition(tx, end_day, by)
    has = acq.group >= 0
    cper = np.zeros(k, dtype=np.int64)
    cper[has] = _core.period_index(acq.first_day[has], code)
    end_per = int(_core.period_index(np.array([end_day], dtype=np.int64), code)[0])

    cohorts, ci = dense_codes(cper[has])
    groups, gi = dense_codes(acq.group[has])
    n_c, n_g = cohorts.size, max(groups.size, 1)
    cell_row = np.full(k, -1, dtype=np.int64)
    if n_c:
        cell_row[has] = gi * n_c + ci
        n_ages = end_per - int(cohorts[0]) + 1
        lo_day = int(_core.period_start(cohorts[:1], code)[0])
    else:
        n_ages = 0
        lo_day = end_day
    n_rows = n_g * n_c
    active, orders, revenue, n_dropped = _core.cohort_matrix(
        log.cust, log.day, log.amount, k, end_day, code, cell_row, cper, n_rows, n_ages,
        lo_day, _bitset_budget(tx.n_rows, k))
    sizes = np.bincount(cell_row[has], minlength=n_rows).astype(np.int64)
    keep = sizes > 0
    row_group = np.repeat(np.arange(n_g, dtype=np.int64), n_c)[keep]
    row_cohort = np.tile(cohorts, n_g)[keep]
    glabels = None if acq.by_name is None else acq.group_labels[groups] if groups.size \
        else acq.group_labels[:0]
    return cohort_table_from_counts(
        period=period, end_day=end_day, margin=margin, by=acq.by_name, group_labels=glabels,
        row_group=row_group, row_cohort=row_cohort, sizes=sizes[keep], active=active[keep],
        orders=orders[keep], revenue=None if revenue is None else revenue[keep],
        n_excluded=acq.n_excluded, n_dropped=int(n_dropped))


def cohort_table_from_counts(*, period: str, end_day: int, margin: float | None, by: str | None,
                             group_labels: pd.Index | None, row_group: np.ndarray,
                             row_cohort: np.ndarray, sizes: np.ndarray, active: np.ndarray,
                             orders: np.ndarray, revenue: np.ndarray | None, n_excluded: int,
                             n_dropped: int) -> CohortTable:
    """A :class:`CohortTable` from its counts (the last step of :func:`cohort_table`).

    One row per (group, cohort) with at least one customer, sorted by group code then
    cohort: ``row_group`` indexes ``group_labels`` (ignored without ``by``),
    ``row_cohort`` is the siyu period index of the cohort.  ``active``, ``orders`` and
    ``revenue`` are rows × ages (age 0 .. last age observed for the oldest cohort)
    counts and sums with 0 in unobserved cells.  Partial results (e.g. of the
    partitions of a Dask log) can be added up and passed here.
    """
    code = inp.PERIOD_CODES[period]
    end_per = int(_core.period_index(np.array([end_day], dtype=np.int64), code)[0])
    n_ages = int(active.shape[1]) if active.ndim == 2 else 0
    row_cohort = np.asarray(row_cohort, dtype=np.int64)
    observed = (row_cohort[:, None] + np.arange(n_ages)[None, :]) <= end_per
    labels = period_labels(row_cohort, period)
    if by is None:
        index: pd.Index = pd.PeriodIndex(labels, name="cohort")
    else:
        glab = group_labels[np.asarray(row_group, dtype=np.int64)]
        index = pd.MultiIndex.from_arrays([glab, labels], names=[by, "cohort"])
    ages = pd.RangeIndex(n_ages, name="age")

    attrs = {"period": period, "end": inp.day_to_timestamp(end_day), "by": by}

    def frame(a: np.ndarray) -> pd.DataFrame:
        a = np.array(a, dtype=np.float64).reshape(len(index), n_ages)
        a[~observed] = np.nan
        out = pd.DataFrame(a, index=index, columns=ages)
        out.attrs.update(attrs)
        return out

    table = CohortTable(
        period=period, end=inp.day_to_timestamp(end_day), margin=margin, by=by,
        sizes=pd.Series(np.asarray(sizes, dtype=np.int64), index=index, name="size"),
        active=frame(active), orders=frame(orders),
        revenue=None if revenue is None else frame(revenue),
        observed=observed, n_excluded=int(n_excluded), n_dropped=int(n_dropped))
    return table
