"""Customer survival under inactivity churn: Kaplan–Meier with Greenwood variance.

A customer whose last purchase is more than ``churn_after`` days before ``end`` has
churned at their last purchase; the others are censored at ``end`` (DESIGN.md §2).
Lifetimes are in days.  Counting and the product-limit estimate run in C
(``siyu._core.survival_km``).
"""
from __future__ import annotations

import numbers
from statistics import NormalDist
from typing import TYPE_CHECKING, Any, Hashable

import numpy as np
import pandas as pd

from siyu import _core
from siyu import _input as inp
from siyu._periods import show as _show
from siyu._periods import acquisition, warn_existing

if TYPE_CHECKING:  # pragma: no cover
    from siyu.transactions import Transactions

_COLUMNS = ["time", "at_risk", "events", "censored", "survival", "lower", "upper"]


def kaplan_meier(duration: np.ndarray, event: np.ndarray, alpha: float = 0.05) -> pd.DataFrame:
    """Kaplan–Meier table of integer durations (days) and 0/1 events.

    Returns one row per time with an event or a censoring, plus time 0, with columns
    ``time, at_risk, events, censored, survival, lower, upper``.  The bands are the
    log-log ("exponential Greenwood") ``1 - alpha`` intervals, as lifelines.

    Raises
    ------
    ValueError, TypeError
        ``duration`` not whole numbers of days in 0..3,652,058 (the supported
        calendar), ``event`` not 0/1 (or bool), different lengths, ``alpha`` outside
        (0, 1).
    """
    _check_alpha(alpha)
    duration = _whole_days(duration, "duration", _MAX_DURATION)
    event = _whole_days(event, "event", 1)
    if event.shape != duration.shape:
        raise ValueError(f"event has {event.size:,} entries but duration has {duration.size:,}; "
                         "give one 0/1 event per duration")
    if duration.size == 0:
        return pd.DataFrame({c: np.zeros(0, dtype=np.int64 if c in _COLUMNS[:4] else float)
                             for c in _COLUMNS})
    tmax = int(duration.max())
    return _km_frame(*_core.survival_km(duration, event, tmax), alpha)


def kaplan_meier_from_counts(time: np.ndarray, events: np.ndarray, censored: np.ndarray,
                             alpha: float = 0.05) -> pd.DataFrame:
    """:func:`kaplan_meier` from event and censoring counts per integer time (days).

    ``time`` holds distinct times >= 0 (any order); ``events`` / ``censored`` the number
    of customers churning / censored at each.  Counts of several parts of a log can be
    added up first: the result equals :func:`kaplan_meier` of all their durations (the
    same product-limit arithmetic, in the same order).
    """
    time = np.asarray(time, dtype=np.int64)
    if time.size == 0 or int(np.sum(events) + np.sum(censored)) == 0:
        return kaplan_meier(np.zeros(0, np.int64), np.zeros(0, np.int64), alpha)
    if time.min() < 0:
        raise ValueError("durations must be >= 0 days")
    tmax = int(time.max())
    ev = np.zeros(tmax + 1, dtype=np.int64)
    ce = np.zeros(tmax + 1, dtype=np.int64)
    np.add.at(ev, time, np.asarray(events, dtype=np.int64))
    np.add.at(ce, time, np.asarray(censored, dtype=np.int64))
    n = int(ev.sum() + ce.sum())
    at_risk = n - np.concatenate([[0], np.cumsum(ev + ce)[:-1]])
    hit = ev > 0
    risk_f = at_risk.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(hit, 1.0 - ev / risk_f, 1.0)
        term = np.where(hit & (at_risk > ev),
                        ev / (risk_f * (at_risk - ev).astype(np.float64)), 0.0)
    return _km_frame(ev, ce, at_risk, np.cumprod(factor), np.cumsum(term), alpha)


def _km_frame(events: np.ndarray, censored: np.ndarray, at_risk: np.ndarray, surv: np.ndarray,
              var_sum: np.ndarray, alpha: float) -> pd.DataFrame:
    keep = (events + censored) > 0
    keep[0] = True
    t = np.flatnonzero(keep)
    s, vs = surv[keep], var_sum[keep]
    z = NormalDist().inv_cdf(1 - alpha / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.log(s)
        lower = np.exp(-np.exp(np.log(-v) - z * np.sqrt(vs) / v))
        upper = np.exp(-np.exp(np.log(-v) + z * np.sqrt(vs) / v))
    lower = np.where(np.isnan(lower), 1.0, lower)
    upper = np.where(np.isnan(upper), 1.0, upper)
    return pd.DataFrame({"time": t, "at_risk": at_risk[keep], "events": events[keep],
                         "censored": censored[keep], "survival": s, "lower": lower,
                         "upper": upper})


# longest duration: the supported calendar (years 1..9999) in days
_MAX_DURATION = 3_652_058


def check_churn_after(churn_after: Any) -> float:
    """Days of inactivity after which a customer counts as churned: a number > 0."""
    if isinstance(churn_after, (bool, np.bool_)) or not isinstance(churn_after, numbers.Real):
        raise TypeError(f"churn_after must be a number of days such as 180, got {_show(churn_after)}")
    churn_after = float(churn_after)
    if not np.isfinite(churn_after) or churn_after <= 0:
        raise ValueError(f"churn_after={churn_after:g} must be > 0 days of inactivity, "
                         "e.g. churn_after=180")
    return churn_after


def _check_alpha(alpha: Any) -> float:
    if isinstance(alpha, (bool, np.bool_)) or not isinstance(alpha, numbers.Real):
        raise TypeError(f"alpha must be a number in (0, 1), e.g. alpha=0.05; got {_show(alpha)}")
    if not 0 < float(alpha) < 1:
        raise ValueError(f"alpha must lie in (0, 1), e.g. alpha=0.05; got {float(alpha)!r}")
    return float(alpha)


def _whole_days(values: Any, name: str, high: int) -> np.ndarray:
    """A 1-d int64 array of whole numbers in [0, high] (ValueError/TypeError naming it)."""
    what = ("0/1 events (or bools)" if high == 1 else
            f"durations: whole numbers of days in 0..{high:,}")
    if isinstance(values, (str, bytes)) or values is None:
        raise TypeError(f"{name} must be an array of {what}; got {_show(values)}")
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-dimensional (one entry per subject), got shape "
                         f"{arr.shape}")
    if arr.dtype.kind == "b":
        arr = arr.astype(np.int64)
    if arr.dtype.kind not in "iuf" and not (arr.dtype == object and arr.size == 0):
        raise TypeError(f"{name} must be an array of {what}, got dtype {arr.dtype}")
    if arr.size == 0:
        return np.zeros(0, np.int64)
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr) | (arr != np.round(arr))
        if bad.any():
            raise ValueError(f"{name} must hold {what}; got {arr[bad][0].item()!r} at position "
                             f"{int(np.flatnonzero(bad)[0])}")
    lo, hi = arr.min(), arr.max()
    if lo < 0 or hi > high:
        v = lo if lo < 0 else hi
        raise ValueError(f"{name} must hold {what}; got {v.item()!r} at position "
                         f"{int(np.flatnonzero(arr == v)[0])}")
    return np.ascontiguousarray(arr, dtype=np.int64)


def _median(table: pd.DataFrame) -> float:
    hit = table["survival"].to_numpy() <= 0.5
    return float(table["time"].to_numpy()[hit][0]) if hit.any() else float("inf")


def _rmst(table: pd.DataFrame, t: float) -> float:
    times = table["time"].to_numpy(dtype=float)
    s = table["survival"].to_numpy()
    nxt = np.append(times[1:], np.inf)
    width = np.clip(np.minimum(nxt, t) - times, 0.0, None)
    # before the first row (time 0) survival is 1; the first row is always time 0
    return float((s * width).sum())


class SurvivalCurve:
    """Kaplan–Meier curve of customer lifetimes (days) under inactivity churn.

    Attributes
    ----------
    table : pandas.DataFrame
        ``time, at_risk, events, censored, survival, lower, upper`` (time 0 and every
        day with an event or a censoring); with ``by``, a leading index level per group.
    median_ : float or pandas.Series
        Median lifetime: first time with survival ≤ 0.5 (inf when never reached);
        a Series per group with ``by``.
    durations : pandas.DataFrame
        Per customer: ``duration`` (days), ``event`` (1 churned, 0 censored) [, group].
    churn_after : float
    end : pandas.Timestamp
    by : str or None
    n_existing : int
        Existing customers left out (``existing_before``).
    """

    def __init__(self, tables: dict[Any, pd.DataFrame], durations: pd.DataFrame,
                 churn_after: float, end: pd.Timestamp, by: str | None, alpha: float,
                 n_existing: int = 0) -> None:
        self.n_existing = n_existing
        self._tables = tables
        self.durations = durations
        self.churn_after = churn_after
        self.end = end
        self.by = by
        self.alpha = alpha
        if by is None:
            self.table = tables[None]
            self.median_: float | pd.Series = _median(self.table)
        else:
            self.table = pd.concat(tables, names=[by, None]) if tables else \
                pd.DataFrame(columns=_COLUMNS)
            self.median_ = pd.Series({g: _median(t) for g, t in tables.items()},
                                     name="median", dtype=float)
            self.median_.index.name = by

    @property
    def groups(self) -> list[Any]:
        return list(self._tables)

    def group_table(self, group: Any) -> pd.DataFrame:
        """The Kaplan–Meier table of one group (``by``), or the pooled one without ``by``."""
        if self.by is None:
            return self.table
        if not isinstance(group, Hashable) or isinstance(group, np.ndarray) \
                or group not in self._tables:
            raise ValueError(f"group={_show(group)} is not a group of this curve; groups are "
                             f"{list(self.groups)}")
        return self._tables[group]

    def rmst(self, t: float) -> float | pd.Series:
        """Restricted mean lifetime up to ``t`` days: the area under the curve on [0, t]."""
        if isinstance(t, bool) or not isinstance(t, numbers.Real) or not np.isfinite(t) or t < 0:
            raise ValueError(f"rmst(t): t must be a finite number of days >= 0, got {_show(t)}")
        if self.by is None:
            return _rmst(self.table, float(t))
        return pd.Series({g: _rmst(tab, float(t)) for g, tab in self._tables.items()},
                         name=f"rmst({t:g})", dtype=float)

    def survival_at(self, t: float) -> float | pd.Series:
        """Survival probability at ``t`` days (step function)."""
        def at(tab: pd.DataFrame) -> float:
            i = np.searchsorted(tab["time"].to_numpy(), t, side="right") - 1
            return float(tab["survival"].to_numpy()[i]) if i >= 0 else 1.0
        if self.by is None:
            return at(self.table)
        return pd.Series({g: at(tab) for g, tab in self._tables.items()}, dtype=float)

    def plot(self, ax: Any = None, lang: str = "en", **kwargs: Any) -> Any:
        """Survival curve(s) with confidence bands; returns the Axes."""
        from siyu import plotting

        tables = self.table if self.by is None else dict(self._tables)
        return plotting.survival_curve(tables, self.churn_after, by=self.by, ax=ax, lang=lang,
                                       **kwargs)

    def __repr__(self) -> str:
        med = self.median_ if self.by is None else dict(self.median_)
        return (f"<siyu.SurvivalCurve: churn_after={self.churn_after:g} days, end "
                f"{self.end.date()}, {len(self.durations):,} customers, median {med}"
                + (f", {self.n_existing:,} existing customers left out" if self.n_existing
                   else "") + ">")

    def _repr_html_(self) -> str:
        head = (f"<b>siyu.SurvivalCurve</b>: churn after {self.churn_after:g} days of "
                f"inactivity, end {self.end.date()}, {len(self.durations):,} customers")
        return head + self.table.head(30).to_html(na_rep="")


def survival(tx: "Transactions", churn_after: float = 180, end: Any = None,
             by: str | None = None, alpha: float = 0.05,
             existing_before: Any = None) -> SurvivalCurve:
    """Kaplan–Meier curve of customer lifetimes under inactivity churn.

    For each customer with a purchase (row with amount ≥ 0) on or before ``end``:
    if their last purchase is more than ``churn_after`` days before ``end`` they
    churned, with lifetime = days from first to last purchase (event = 1); otherwise
    they are censored with duration = days from first purchase to ``end``.  The
    product-limit estimate uses Greenwood's variance and log-log ("exponential
    Greenwood") ``1 - alpha`` bands, matching ``lifelines.KaplanMeierFitter`` on the
    same durations.

    One-time buyers who have been inactive for more than ``churn_after`` days have a
    lifetime of 0 days, so the curve usually starts below 1: ``S(0)`` is the share of
    customers who did not churn right after their first purchase.

    Parameters
    ----------
    churn_after : float, default 180
        Days of inactivity (> 0) after which a customer counts as churned.
    end : date-like, optional
        Last day observed (default: last day of the log).
    by : str, optional
        One curve per acquisition channel (the ``channel=`` column of Transactions).
    alpha : float, default 0.05
        1 − confidence level of the bands.
    existing_before : date-like, optional
        Customers whose first purchase in the log is before this date are existing:
        their lifetime started before the log (left-truncated), so they are left out
        and counted in ``n_existing``.

    Returns
    -------
    SurvivalCurve
        ``.table``, ``.median_``, ``.rmst(t)``, ``.survival_at(t)``, ``.durations``,
        ``.plot()``.

    Raises
    ------
    ValueError
        ``churn_after`` ≤ 0, ``alpha`` outside (0, 1), unknown ``by``.

    Examples
    --------
    >>> import siyu
    >>> tx = siyu.Transactions(siyu.datasets.load_online_retail(), customer="customer_id",
    ...                        time="date", amount="amount")
    >>> sc = tx.survival(churn_after=90)
    >>> sc.median_                 # more than half of the customers never churn
    inf
    >>> round(sc.rmst(180), 2)      # restricted mean lifetime over 180 days
    132.25
    """
    churn_after = check_churn_after(churn_after)
    alpha = _check_alpha(alpha)
    end_day = tx._end_day(end)
    acq = acquisition(tx, end_day, by, existing_before)
    warn_existing(acq)
    log = tx._log
    occ, first, last = _core.summary(None, log.day, log.amount, tx.n_customers, 0,
                                     np.iinfo(np.int64).min, end_day, log.offsets)[:3]
    has = acq.group >= 0
    first, last = first[has], last[has]
    churned = (end_day - last) > churn_after
    duration = np.where(churned, last - first, end_day - first).astype(np.int64)
    event = churned.astype(np.int64)
    dur = pd.DataFrame({"duration": duration, "event": event}, index=log.ids[has])
    tables: dict[Any, pd.DataFrame] = {}
    if acq.by_name is None:
        tables[None] = kaplan_meier(duration, event, alpha)
    else:
        grp = acq.group[has]
        dur[acq.by_name] = acq.group_labels[grp]
        order = np.argsort(grp, kind="stable")          # one sort, not one scan per group
        codes, starts = np.unique(grp[order], return_index=True)
        for code, part in zip(codes, np.split(order, starts[1:])):
            tables[acq.group_labels[code]] = kaplan_meier(duration[part], event[part], alpha)
    return SurvivalCurve(tables, dur, churn_after, inp.day_to_timestamp(end_day), acq.by_name,
                         float(alpha), acq.n_existing)
