"""Acquisition cohorts: who was acquired when, and what they did afterwards.

Definitions (DESIGN.md sections 2 and 2b'):

- a *purchase* is a row with amount >= 0 (every row when the log has no amounts); a
  *refund* (amount < 0) reduces revenue but is never a purchase;
- a customer's **cohort** is the calendar period (``D``, ``W`` Monday-start, ``M``,
  ``Q``, ``Y``) of their first purchase on or before ``end``;
- **age** k of a cell = calendar period index minus the cohort's period index;
- a cell whose calendar period starts after ``end`` is **not observed** (NaN); an
  observed cell without activity is 0.  The period that contains ``end`` is observed
  up to ``end``; when ``end`` is before its last day its cells are **partial**
  (:attr:`CohortTable.partial`): shown, but left out of averages by default;
- with ``existing_before=D``, customers whose first purchase in the log is before D
  are **existing**: one row of their own (:attr:`CohortTable.existing`), in no
  acquisition cohort and no average;
- the **balanced average** (:meth:`CohortTable.average`, the default) averages every
  age over the same cohorts.

The counting runs in C (``siyu._core.cohort_first`` / ``cohort_matrix``): one pass
finds each customer's first purchase, one pass drops every row into its cell.
"""
from __future__ import annotations

import html
import math
import numbers
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from siyu import _core
from siyu import _input as inp
from siyu import _periods as per
from siyu._i18n import check_lang, text
# moved to siyu._periods (import them from there); kept here for callers not moved yet
from siyu._periods import acquisition, dense_codes, period_labels  # noqa: F401

if TYPE_CHECKING:  # pragma: no cover
    from siyu.transactions import Transactions

_METRICS = ("active", "retention", "orders", "revenue", "ltv")
_FORMATS = {"retention": "{:.1%}", "ltv": "{:,.2f}", "revenue": "{:,.0f}"}
_MONEY = ("revenue", "ltv")


def _check_metric(metric: Any) -> str:
    if not isinstance(metric, str) or metric not in _METRICS:
        raise ValueError(f"unknown metric {per.show(metric)}; use one of {', '.join(map(repr, _METRICS))}")
    return metric


def _check_flag(value: Any, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {per.show(value)}")
    return bool(value)


def _check_age(value: Any, name: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name} must be a whole number of periods >= 0 (an age), got {per.show(value)}")
    return int(value)


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
    partial : pandas.DataFrame
        True where the cell's calendar period is cut short by ``end``.
    last_period : dict
        The period holding ``end``: ``period`` (a pandas Period), ``days_observed``,
        ``days`` and ``partial``.
    existing : CohortTable or None
        With ``existing_before``: the existing customers as one row (per ``by`` group)
        labelled ``"existing"``, ages counted from the period of the log's first
        purchase; None otherwise.
    existing_before : pandas.Timestamp or None
    suspect_existing : str or None
        Without ``existing_before``: the warning given when the first cohort looks like
        customers acquired before the log starts (None when it does not).
    """

    def __init__(self, *, period: str, end: pd.Timestamp, margin: float | None,
                 by: str | None, sizes: pd.Series, active: pd.DataFrame,
                 orders: pd.DataFrame, revenue: pd.DataFrame | None,
                 observed: np.ndarray, n_excluded: int, n_dropped: int,
                 partial: np.ndarray | None = None, last_period: dict | None = None,
                 existing: "CohortTable | None" = None,
                 existing_before: pd.Timestamp | None = None,
                 suspect_existing: str | None = None) -> None:
        self.period = period
        self.end = end
        self.margin = margin
        self.by = by
        self.sizes = sizes
        self.active = active
        self.orders = orders
        self._revenue = revenue
        self._observed = np.asarray(observed, dtype=bool)
        self._partial = (np.zeros_like(self._observed) if partial is None
                         else np.asarray(partial, dtype=bool) & self._observed)
        self.last_period = last_period or {"period": None, "days_observed": 0, "days": 0,
                                           "partial": False}
        self.n_excluded = n_excluded
        self.n_dropped = n_dropped
        self.existing = existing
        self.existing_before = existing_before
        self.suspect_existing = suspect_existing

    # ------------------------------------------------------------------ masks
    @property
    def observed(self) -> pd.DataFrame:
        """True where the cell's calendar period starts on or before ``end``."""
        return pd.DataFrame(self._observed.copy(), index=self.active.index,
                            columns=self.active.columns)

    @property
    def partial(self) -> pd.DataFrame:
        """True where the cell's period is cut short by ``end`` (``end`` before its last
        day); such cells are shown but left out of :meth:`average` by default."""
        return pd.DataFrame(self._partial.copy(), index=self.active.index,
                            columns=self.active.columns)

    @property
    def complete(self) -> pd.DataFrame:
        """True where the cell is observed for its whole period (observed, not partial)."""
        return pd.DataFrame(self._observed & ~self._partial, index=self.active.index,
                            columns=self.active.columns)

    @property
    def n_ages_shown(self) -> int:
        """Ages of the cohorts and of the ``existing`` row together (the existing row
        can start a period earlier than the first cohort)."""
        n = self.active.shape[1]
        return max(n, self.existing.active.shape[1]) if self.existing is not None else n

    @property
    def n_existing(self) -> int:
        """Customers in the ``existing`` row (0 without ``existing_before``)."""
        return 0 if self.existing is None else int(self.existing.sizes.sum())

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
        with np.errstate(invalid="ignore", divide="ignore"):
            out = pd.DataFrame(cum / self.sizes.to_numpy(dtype=float)[:, None],
                               index=rev.index, columns=rev.columns)
        out.attrs.update(rev.attrs, margin=self.margin)
        return out

    def _cell_values(self, metric: str) -> np.ndarray:
        """Per-cell totals whose sum over cohorts divided by Σ size is the average."""
        if metric in ("retention", "active"):
            return self.active.to_numpy()
        if metric == "ltv":
            return self.ltv.to_numpy() * self.sizes.to_numpy(dtype=float)[:, None]
        return getattr(self, metric).to_numpy()

    def balanced_through(self, include_partial: bool = False) -> int | None:
        """The last age of the default balanced average: the largest age K such that at
        least half of the cohorts are observed (complete, unless ``include_partial``)
        at every age 0..K; None when no cohort has a complete cell."""
        ok = self._observed if _check_flag(include_partial, "include_partial") \
            else (self._observed & ~self._partial)
        n = ok.shape[0]
        if n == 0 or not ok.any():
            return None
        run = np.cumprod(ok, axis=1).sum(axis=1)        # complete ages from age 0
        need = max(1, math.ceil(n / 2))
        counts = np.array([(run > k).sum() for k in range(ok.shape[1])])
        good = np.flatnonzero(counts >= need)
        return int(good[-1]) if good.size else None

    def average(self, metric: str = "retention", balanced: bool = True,
                through: int | None = None, include_partial: bool = False) -> pd.Series:
        """Size-weighted average row over the cohorts.

        For age k the cohorts that take part are weighted by their sizes:
        ``retention`` → Σ active / Σ size; ``ltv`` → Σ (cumulative revenue × margin) /
        Σ size; ``orders`` / ``revenue`` / ``active`` → per cohort customer (Σ value /
        Σ size).  The ``existing`` row never takes part.

        - ``balanced=True`` (default): every age over the **same** cohorts — those
          observed at every age 0..K, where K = ``through`` or, by default,
          :meth:`balanced_through` (the last age at least half of the cohorts reached).
          Ages after K are NaN.  This is the average plots and reports use.
        - ``balanced=False``: each age over whichever cohorts reached it.  Old and
          young cohorts then mix, and the row can rise with age although no cohort's
          does; use it knowingly.

        Partial cells (``end`` cuts their period short) take part only with
        ``include_partial=True``.

        Parameters
        ----------
        metric : {"retention", "ltv", "orders", "revenue", "active"}
        balanced : bool, default True
        through : int, optional
            Last age of the balanced average (default: :meth:`balanced_through`).
        include_partial : bool, default False

        Returns
        -------
        pandas.Series
            Indexed by age; NaN where no cohort takes part.  ``attrs`` holds
            ``n_cohorts`` and ``n_customers`` (Series by age: how many cohorts and
            customers each value averages), ``balanced``, ``through``,
            ``include_partial`` and ``cohorts`` (labels of the cohorts of a balanced
            average).

        Examples
        --------
        >>> import siyu
        >>> tx = siyu.Transactions(siyu.datasets.load_online_retail(),
        ...                        customer="customer_id", time="date", amount="amount")
        >>> ct = tx.cohorts(period="M", existing_before="2011-01-01")
        >>> avg = ct.average("retention")
        >>> avg.attrs["through"], int(avg.attrs["n_cohorts"][0])
        (5, 6)
        >>> round(float(avg[1]), 4)
        0.1884
        """
        metric = _check_metric(metric)
        balanced = _check_flag(balanced, "balanced")
        ok = self._observed if _check_flag(include_partial, "include_partial") \
            else (self._observed & ~self._partial)
        n_ages = ok.shape[1]
        sizes = self.sizes.to_numpy(dtype=float)
        chosen: np.ndarray | None = None
        if through is not None:
            through = _check_age(through, "through")
            if not balanced:
                raise ValueError("through= sets the last age of a balanced average; use it "
                                 "with balanced=True")
        if balanced:
            k = through if through is not None else self.balanced_through(include_partial)
            if k is None:
                take = np.zeros_like(ok)
            else:
                kk = min(k, n_ages - 1)
                chosen = ok[:, :kk + 1].all(axis=1) if (n_ages and k < n_ages) else \
                    np.zeros(ok.shape[0], dtype=bool)
                take = np.zeros_like(ok)
                if k < n_ages:
                    take[:, :kk + 1] = chosen[:, None]
            through_used = k
        else:
            take = ok
            through_used = None
        values = np.where(take, np.nan_to_num(self._cell_values(metric), nan=0.0), 0.0)
        w = np.where(take, sizes[:, None], 0.0)
        num, den = values.sum(axis=0), w.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            avg = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
        ages = self.active.columns
        out = pd.Series(avg, index=ages, name=f"average {metric}")
        labels = [] if chosen is None else [_label(i) for i in self.sizes.index[chosen]]
        out.attrs.update(
            metric=metric, balanced=bool(balanced), through=through_used,
            include_partial=bool(include_partial), cohorts=labels,
            n_cohorts=pd.Series(take.sum(axis=0).astype(np.int64), index=ages, name="n_cohorts"),
            n_customers=pd.Series(w.sum(axis=0).astype(np.int64), index=ages,
                                  name="n_customers"))
        return out

    def table(self, metric: str = "retention", average: bool = False, *,
              balanced: bool = True, through: int | None = None,
              include_partial: bool = False, existing: bool = True) -> pd.DataFrame:
        """One metric as a cohort × age DataFrame, optionally with an ``average`` row
        (:meth:`average` with the same arguments) and, with ``existing_before``, the
        ``existing`` row first."""
        metric = _check_metric(metric)
        average = _check_flag(average, "average")
        existing = _check_flag(existing, "existing")
        df = getattr(self, metric)
        ex = self.existing if existing else None
        if not average and ex is None:
            return df
        out = df.copy()
        out.index = pd.Index([_label(i) for i in out.index], name="cohort")
        if ex is not None:
            exdf = getattr(ex, metric).copy()
            exdf.index = pd.Index([_label(i) for i in exdf.index], name="cohort")
            out = pd.concat([exdf, out])
        if average:
            avg = self.average(metric, balanced=balanced, through=through,
                               include_partial=include_partial)
            out.loc["average"] = avg.reindex(out.columns).to_numpy()
        return out

    def subset(self, cohorts: slice | None = None, ages: int | None = None) -> "CohortTable":
        """A CohortTable of some cohorts (a positional slice of the rows) and the first
        ``ages`` ages; the ``existing`` row is kept (same ages)."""
        if cohorts is not None and not isinstance(cohorts, slice):
            raise TypeError(f"cohorts must be a slice of cohort rows, e.g. cohorts=slice(0, 6) "
                            f"(the first six) or slice(-12, None) (the last twelve); got "
                            f"{per.show(cohorts)}")
        rows = slice(None) if cohorts is None else cohorts
        for part in (rows.start, rows.stop, rows.step):
            if part is not None and (isinstance(part, (bool, np.bool_))
                                     or not isinstance(part, numbers.Integral)):
                raise TypeError(f"cohorts must be a slice of whole row positions, e.g. "
                                f"slice(0, 6); got {per.show(cohorts)}")
        if rows.step is not None and rows.step == 0:
            raise ValueError("cohorts: a slice step cannot be 0; e.g. cohorts=slice(0, 6)")
        cols = slice(None) if ages is None else slice(0, _check_age(ages, "ages"))

        def cut(f: pd.DataFrame | None) -> pd.DataFrame | None:
            return None if f is None else f.iloc[rows, cols]

        ex = None if self.existing is None else self.existing.subset(None, ages)
        return CohortTable(period=self.period, end=self.end, margin=self.margin, by=self.by,
                           sizes=self.sizes.iloc[rows], active=cut(self.active),
                           orders=cut(self.orders), revenue=cut(self._revenue),
                           observed=self._observed[rows, cols], n_excluded=self.n_excluded,
                           n_dropped=self.n_dropped, partial=self._partial[rows, cols],
                           last_period=self.last_period, existing=ex,
                           existing_before=self.existing_before,
                           suspect_existing=self.suspect_existing)

    def partial_note(self, lang: str = "en") -> str | None:
        """"last period: N of M days" when the period holding ``end`` is partial."""
        lp = self.last_period
        if not lp.get("partial"):
            return None
        return text("cohorts.partial_note", lang, period=str(lp["period"]),
                    n=lp["days_observed"], m=lp["days"])

    def to_frame(self) -> pd.DataFrame:
        """Long format: one row per observed (cohort, age) cell.

        Columns: [by,] cohort, age, period (calendar period of the cell), size,
        active, retention, orders, partial, and with amounts revenue, ltv.  The
        ``existing`` row is not included (see ``existing.to_frame()``).
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
        if isinstance(cohorts, pd.PeriodIndex) or len(cohorts) == 0:
            cols["period"] = pd.PeriodIndex(cohorts, freq=per.PERIOD_FREQ[self.period]) + a
        else:       # the existing row: calendar period from the log's first period
            start = self.last_period.get("existing_start")
            cols["period"] = pd.PeriodIndex([start + int(x) for x in a]) if start is not None \
                else np.nan
        cols["size"] = self.sizes.to_numpy()[r]
        cols["active"] = self.active.to_numpy()[r, a].astype(np.int64)
        cols["retention"] = self.retention.to_numpy()[r, a]
        cols["orders"] = self.orders.to_numpy()[r, a].astype(np.int64)
        cols["partial"] = self._partial[r, a]
        if self._revenue is not None:
            cols["revenue"] = self._revenue.to_numpy()[r, a]
            cols["ltv"] = self.ltv.to_numpy()[r, a]
        return pd.DataFrame(cols)

    # ------------------------------------------------------------------ display
    def style(self, metric: str = "retention", cmap: str = "YlGnBu", lang: str = "en") -> Any:
        """A pandas Styler of one metric with a colour gradient; partial cells in italics.

        Needs jinja2 (pandas' Styler) and matplotlib (the gradient); see
        :meth:`to_html` for a dependency-free coloured table.
        """
        metric = _check_metric(metric)
        lang = check_lang(lang)
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
        mask = self._partial
        sty = sty.apply(lambda _: np.where(mask, "font-style:italic;opacity:0.7", ""), axis=None)
        caption = text("cohorts.caption", lang, metric=text(f"metric.{metric}", lang),
                       period=text(f"period.{self.period}", lang), end=self.end.date())
        note = self.partial_note(lang)
        return sty.set_caption(caption + (f" · {note}" if note else ""))

    def html_cells(self, metric: str = "retention") -> list[dict[str, Any]]:
        """Rows of :meth:`to_html` as plain data (label, size, cells with text, colours and
        the partial flag): for templates.  The ``existing`` row comes first."""
        metric = _check_metric(metric)
        tables = ([self.existing] if self.existing is not None else []) + [self]
        data_all = [getattr(t, metric).to_numpy(dtype=float) for t in tables]
        finite = np.concatenate([d[np.isfinite(d)] for d in data_all]) if data_all else np.zeros(0)
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        span = hi - lo if hi > lo else 1.0
        fmt = _FORMATS.get(metric, "{:,.0f}")
        n_cols = self.n_ages_shown
        rows = []
        for t, data in zip(tables, data_all):
            sizes = t.sizes.to_numpy()
            for i, key in enumerate(t.sizes.index):
                cells = []
                for j in range(n_cols):
                    v = data[i, j] if j < data.shape[1] else np.nan
                    if not np.isfinite(v):
                        cells.append({"text": "", "bg": None, "fg": None, "partial": False})
                        continue
                    x = (v - lo) / span
                    r, g, b = (int(255 - x * (255 - c)) for c in (33, 102, 172))
                    cells.append({"text": fmt.format(v), "bg": f"rgb({r},{g},{b})",
                                  "fg": "white" if x > 0.6 else "black",
                                  "partial": bool(t._partial[i, j]) if j < data.shape[1] else False})
                keyt = key if isinstance(key, tuple) else (key,)
                rows.append({"keys": [str(x) for x in keyt], "size": f"{int(sizes[i]):,}",
                             "existing": t is self.existing, "cells": cells})
        return rows

    def to_html(self, metric: str = "retention", lang: str = "en",
                table_id: str | None = None) -> str:
        """HTML table of one metric with a white-to-blue colour gradient (no extra
        dependencies); unobserved cells are blank, partial cells hatched and in italics."""
        lang = check_lang(lang)
        if table_id is not None and not isinstance(table_id, str):
            raise TypeError(f"table_id must be a string (the HTML id of the table), e.g. "
                            f"table_id='cohorts'; got {per.show(table_id)}")
        names = [text("word.cohort", lang) if n == "cohort" else str(n)
                 for n in self.active.index.names] + [text("word.size", lang)]
        head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
        head += "".join(f"<th>{c}</th>" for c in range(self.n_ages_shown))
        partial_title = html.escape(self.partial_note(lang) or "", quote=True)
        out = []
        for row in self.html_cells(metric):
            keys = row["keys"]
            if row["existing"]:
                keys = keys[:-1] + [text("cohorts.existing", lang)]
            cells = "".join(f"<th style='text-align:left'>{html.escape(x)}</th>" for x in keys)
            cells += f"<td>{row['size']}</td>"
            for c in row["cells"]:
                if c["bg"] is None:
                    cells += "<td></td>"
                    continue
                extra = ""
                if c["partial"]:
                    extra = ("background-image:repeating-linear-gradient(45deg,"
                             "rgba(255,255,255,.55) 0 3px,transparent 3px 7px);font-style:italic;")
                title = f" class='partial' title='{partial_title}'" if c["partial"] else ""
                cells += (f"<td{title} style='background-color:{c['bg']};color:{c['fg']};{extra}"
                          f"text-align:right'>{c['text']}</td>")
            out.append(f"<tr>{cells}</tr>")
        tid = f" id='{html.escape(table_id, quote=True)}'" if table_id else ""
        return (f"<table class='siyu-cohorts'{tid}><thead><tr>{head}</tr></thead>"
                f"<tbody>{''.join(out)}</tbody></table>")

    def _repr_html_(self) -> str:
        head = (f"<b>siyu.CohortTable</b>: {len(self.sizes)} {self.period} cohorts, "
                f"{int(self.sizes.sum()):,} customers, end {self.end.date()}"
                + (f", by {html.escape(str(self.by))}" if self.by else "")
                + (f", {self.n_existing:,} existing customers (before "
                   f"{self.existing_before.date()})" if self.existing is not None else "")
                + " &mdash; retention")
        note = self.partial_note("en")
        if note:
            head += f" ({html.escape(note)}, hatched)"
        if self.active.size > 20_000:   # keep notebooks responsive (e.g. daily cohorts)
            return head + "<p>(large table: use .retention, .to_html() or .plot())</p>"
        return head + self.to_html("retention")

    def __repr__(self) -> str:
        note = self.partial_note("en")
        return (f"<siyu.CohortTable: {len(self.sizes)} {self.period} cohorts, "
                f"{int(self.sizes.sum()):,} customers, ages 0..{self.active.shape[1] - 1}, "
                f"end {self.end.date()}" + (f", by {self.by}" if self.by else "")
                + (f", {self.n_existing:,} existing" if self.existing is not None else "")
                + (f", {note}" if note else "") + ">")

    def plot(self, kind: str = "heatmap", metric: str = "retention", ax: Any = None,
             lang: str = "en", currency: str | None = None, **kwargs: Any) -> Any:
        """Plot with matplotlib; returns the Axes.

        kind : {"heatmap", "retention", "ltv"}
            ``heatmap`` of ``metric`` with annotations (partial cells hatched, the
            ``existing`` row on top); ``retention`` / ``ltv`` curves, one per cohort
            (the partial last point hollow) plus the balanced average.
        lang : {"en", "zh"}
            Language of titles, axes and legends.
        currency : str, optional
            Currency sign for money axes (e.g. ``"¥"``).
        """
        from siyu import plotting

        kind = str(kind).lower()
        lang = check_lang(lang)
        note = self.partial_note(lang)
        if kind == "heatmap":
            metric = _check_metric(metric)
            frame = getattr(self, metric)
            partial = self.partial
            if self.existing is not None:
                frame = pd.concat([getattr(self.existing, metric), frame])
                partial = pd.concat([self.existing.partial, partial]) \
                    .reindex(columns=frame.columns).astype("boolean").fillna(False).astype(bool)
                frame.index = pd.Index([_label(i) if isinstance(i, tuple) else
                                        (text("cohorts.existing", lang) if i == "existing"
                                         else str(i)) for i in frame.index])
                partial.index = frame.index
            return plotting.cohort_heatmap(frame, metric=metric, period=self.period,
                                           partial=partial, note=note, ax=ax, lang=lang,
                                           currency=currency, **kwargs)
        if kind in ("retention", "ltv"):
            frame = self.retention if kind == "retention" else self.ltv
            avg = self.average(kind)
            what = "margin" if (kind == "ltv" and self.margin is not None) else kind
            return plotting.cohort_curves(frame, average=avg, metric=what, period=self.period,
                                          partial=self.partial, note=note, ax=ax, lang=lang,
                                          currency=currency, **kwargs)
        raise ValueError(f"unknown kind {per.show(kind)}; use 'heatmap', 'retention' or 'ltv'")


def _label(key: Any) -> str:
    return " · ".join(map(str, key)) if isinstance(key, tuple) else str(key)


# --------------------------------------------------------------------------- entry
def cohort_table(tx: "Transactions", period: str = "M", end: Any = None, by: str | None = None,
                 margin: float | None = None, existing_before: Any = None) -> CohortTable:
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
    to ``end`` and, when ``end`` is before its last day, its cells are **partial**
    (``.partial``; left out of ``average()`` by default).  Rows after ``end`` are
    ignored.  Customers whose rows are all refunds have no cohort and are counted in
    ``n_excluded``; refunds dated before a customer's first purchase period have no
    age and are counted in ``n_dropped``.  :meth:`CohortTable.average` gives the
    size-weighted (balanced, by default) average row.  Only cohorts with at least one
    customer are listed.

    A log that starts in the middle of a shop's life holds customers acquired before
    it: they all land in the first cohort.  When the first cohort is more than twice
    the median size of the next three, a UserWarning suggests ``existing_before``
    (also in ``suspect_existing``).

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
    existing_before : date-like, optional
        Customers whose first purchase in the log is before this date are *existing*
        (acquired before the log starts): they form the one ``existing`` row
        (``.existing``, ages from the period of the log's first purchase), never a
        cohort and never in averages.

    Returns
    -------
    CohortTable
        ``sizes``, ``active``, ``retention``, ``orders``, ``revenue``, ``ltv``,
        ``partial``, ``existing``, ``average()``, ``to_frame()``, ``style()``,
        ``plot()``, ``period``, ``end``.  ``revenue`` and ``ltv`` raise AttributeError
        when the log has no amounts.

    Raises
    ------
    ValueError
        Unknown ``period``, ``end`` before the first purchase, unknown ``by``,
        ``margin`` outside (0, 1], ``existing_before`` after ``end``; or a table too
        big to build (e.g. daily cohorts over decades): its size is checked before
        anything is allocated against ``siyu._periods.MAX_TABLE_BYTES`` (2 GiB), and
        the message gives the size needed, the finest coarser ``period`` and the
        latest ``end`` that fit.

    Examples
    --------
    >>> import siyu, warnings
    >>> tx = siyu.Transactions(siyu.datasets.load_online_retail(), customer="customer_id",
    ...                        time="date", amount="amount")
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     ct = tx.cohorts(period="M")
    >>> int(ct.sizes.iloc[0]), str(ct.sizes.index[0]), len(caught)   # suspect first cohort
    (885, '2010-12', 1)
    >>> round(float(ct.retention.iloc[0, 1]), 4)
    0.3661
    >>> ct.partial_note()
    'last period (2011-12): 9 of 31 days'
    >>> ct = tx.cohorts(period="M", existing_before="2011-01-01")
    >>> ct.n_existing, str(ct.sizes.index[0])
    (885, '2011-01')
    """
    period = per.check_period(period)
    if margin is not None:
        if isinstance(margin, bool) or not isinstance(margin, (int, float, np.integer, np.floating)):
            raise TypeError(f"margin must be a number in (0, 1], got {per.show(margin)}")
        margin = float(margin)
        if not (0.0 < margin <= 1.0):
            raise ValueError(f"margin={per.show(margin)} must be a gross-margin fraction in (0, 1], "
                             "e.g. margin=0.35")
    log = tx._log
    k = tx.n_customers
    end_day = tx._end_day(end)
    code = inp.PERIOD_CODES[period]
    acq = per.acquisition(tx, end_day, by, existing_before)
    suspect = per.warn_existing(acq, period)
    has = acq.group >= 0
    cper = np.zeros(k, dtype=np.int64)
    cper[has] = _core.period_index(acq.first_day[has], code)
    ep = per.end_period(end_day, period)
    end_per = ep.index

    cohorts, ci = per.dense_codes(cper[has])
    groups, gi = per.dense_codes(acq.group[has])
    n_c, n_g = cohorts.size, max(groups.size, 1)
    n_rows = n_g * n_c
    cell_row = np.full(k, -1, dtype=np.int64)
    if n_c:
        cell_row[has] = gi * n_c + ci
    # the existing customers: one row per group, ages from the log's first period
    ex = None if acq.existing_group is None else acq.existing_group >= 0
    ex_groups = np.zeros(0, np.int64)
    ex_start = None
    if ex is not None and ex.any():
        ex_start = int(_core.period_index(np.array([acq.first_day[ex].min()], np.int64), code)[0])
        ex_groups, exi = per.dense_codes(acq.existing_group[ex])
        cell_row[ex] = n_rows + exi
        cper[ex] = ex_start
    starts = ([int(cohorts[0])] if n_c else []) + ([ex_start] if ex_start is not None else [])
    if starts:
        lo_per = min(starts)
        n_ages_all = end_per - lo_per + 1
        lo_day = per.period_start_day(lo_per, period)
    else:
        n_ages_all, lo_day = 0, end_day
    n_ages = end_per - int(cohorts[0]) + 1 if n_c else 0
    n_all_rows = n_rows + ex_groups.size
    if per.table_bytes(n_all_rows * n_ages_all, _CELL_BYTES) > per.MAX_TABLE_BYTES:
        per.check_table_size(f"cohorts(period={per.show(period)})", (n_all_rows, n_ages_all), _CELL_BYTES,
                             _size_fixes(acq, has, n_g, ex_groups.size, end_day, period))
    active, orders, revenue, n_dropped = _core.cohort_matrix(
        None, log.day, log.amount, k, end_day, code, cell_row, cper, n_all_rows,
        n_ages_all, lo_day, per.bitset_budget(tx.n_rows, k), log.offsets)

    last_period = _last_period(ep, period, ex_start)
    all_sizes = np.bincount(cell_row[cell_row >= 0], minlength=n_all_rows).astype(np.int64)
    sizes = all_sizes[:n_rows]
    keep = sizes > 0
    row_group = np.repeat(np.arange(n_g, dtype=np.int64), n_c)[keep]
    row_cohort = np.tile(cohorts, n_g)[keep]
    glabels = None if acq.by_name is None else (acq.group_labels[groups] if groups.size
                                                else acq.group_labels[:0])
    table = cohort_table_from_counts(
        period=period, end_day=end_day, margin=margin, by=acq.by_name, group_labels=glabels,
        row_group=row_group, row_cohort=row_cohort, sizes=sizes[keep],
        active=active[:n_rows][keep][:, :n_ages], orders=orders[:n_rows][keep][:, :n_ages],
        revenue=None if revenue is None else revenue[:n_rows][keep][:, :n_ages],
        n_excluded=acq.n_excluded, n_dropped=int(n_dropped),
        existing_before=acq.existing_before, suspect_existing=suspect)
    table.last_period = last_period
    if ex is not None:
        ex_sizes = all_sizes[n_rows:]
        ex_keep = ex_sizes > 0
        if acq.by_name is None:
            ex_index: pd.Index = pd.Index(["existing"] * int(ex_keep.sum()), name="cohort")
        else:
            labels = acq.group_labels[ex_groups[ex_keep]] if ex_groups.size else \
                acq.group_labels[:0]
            ex_index = pd.MultiIndex.from_arrays([labels, ["existing"] * len(labels)],
                                                 names=[acq.by_name, "cohort"])
        start_per = np.full(int(ex_keep.sum()), ex_start if ex_start is not None else 0)
        table.existing = _table(
            period, end_day, margin, acq.by_name, ex_index, start_per, ex_sizes[ex_keep],
            active[n_rows:][ex_keep], orders[n_rows:][ex_keep],
            None if revenue is None else revenue[n_rows:][ex_keep], acq.n_excluded,
            int(n_dropped), last_period, acq.existing_before, suspect)
    return table


# peak bytes per cohort x age cell: the kernel's counts and partial sums, the frames
_CELL_BYTES = 80
_PERIOD_ORDER = "DWMQY"


def _size_fixes(acq: "per.Acquisition", has: np.ndarray, n_g: int, n_ex: int, end_day: int,
                period: str) -> list[str]:
    """Pasteable ways to make a too-big cohort table fit: a coarser period, an earlier end."""
    first = acq.first_day[has]
    ex = acq.existing_group is not None and bool((acq.existing_group >= 0).any())
    lo_day = int(first.min()) if first.size else end_day
    if ex:
        lo_day = min(lo_day, int(acq.first_day[acq.existing_group >= 0].min()))
    fixes = []
    for p in _PERIOD_ORDER[_PERIOD_ORDER.index(period) + 1:]:
        code = inp.PERIOD_CODES[p]
        n_c = np.unique(_core.period_index(first, code)).size if first.size else 0
        ages = per.period_of(end_day, p) - per.period_of(lo_day, p) + 1
        shape = (n_g * n_c + n_ex, ages)
        if per.table_bytes(shape[0] * shape[1], _CELL_BYTES) <= per.MAX_TABLE_BYTES:
            fixes.append(f"a coarser period, period={per.show(p)} ({shape[0]:,} x {shape[1]:,})")
            break
    # the latest end whose table fits (cells grow with the end)
    code = inp.PERIOD_CODES[period]
    cohorts = np.unique(_core.period_index(first, code)) if first.size else np.zeros(0, np.int64)
    lo_per = per.period_of(lo_day, period)

    def cells(e: int) -> int:
        return (n_g * int(np.searchsorted(cohorts, e, side="right")) + n_ex) * (e - lo_per + 1)

    a, b = lo_per, per.period_of(end_day, period)
    while a < b:      # largest e in [lo_per, b] with cells(e) within the limit
        mid = (a + b + 1) // 2
        if per.table_bytes(cells(mid), _CELL_BYTES) <= per.MAX_TABLE_BYTES:
            a = mid
        else:
            b = mid - 1
    if per.table_bytes(cells(a), _CELL_BYTES) <= per.MAX_TABLE_BYTES:
        last = inp.day_to_timestamp(per.period_start_day(a + 1, period) - 1).date()
        fixes.append(f"an earlier end, end='{last}' (the latest that fits)")
    fixes.append("or a shorter log: keep the recent rows only (and pass existing_before= "
                 "their first day, so earlier customers stay out of the cohorts)")
    return fixes


def _last_period(ep: "per.EndPeriod", period: str, existing_start: int | None) -> dict:
    return {"period": per.period_labels(np.array([ep.index]), period)[0],
            "days_observed": ep.days_observed, "days": ep.days, "partial": ep.partial,
            "existing_start": (per.period_labels(np.array([existing_start]), period)[0]
                               if existing_start is not None else None)}


def _table(period: str, end_day: int, margin: float | None, by: str | None, index: pd.Index,
           row_start: np.ndarray, sizes: np.ndarray, active: np.ndarray, orders: np.ndarray,
           revenue: np.ndarray | None, n_excluded: int, n_dropped: int, last_period: dict,
           existing_before: pd.Timestamp | None, suspect: str | None) -> CohortTable:
    """A CohortTable from rows × ages counts (0 in unobserved cells) whose row r starts
    at siyu period index ``row_start[r]``."""
    ages = int(active.shape[1]) if active.ndim == 2 else 0
    end_per = per.period_of(end_day, period)
    cell_per = np.asarray(row_start, dtype=np.int64)[:, None] + np.arange(ages)[None, :]
    observed = cell_per <= end_per
    partial = observed & (cell_per == end_per) & bool(last_period["partial"])
    cols = pd.RangeIndex(ages, name="age")
    end_ts = inp.day_to_timestamp(end_day)
    attrs = {"period": period, "end": end_ts, "by": by}

    def frame(a: np.ndarray) -> pd.DataFrame:
        a = np.array(a, dtype=np.float64).reshape(len(index), ages)
        a[~observed] = np.nan
        out = pd.DataFrame(a, index=index, columns=cols)
        out.attrs.update(attrs)
        return out

    return CohortTable(
        period=period, end=end_ts, margin=margin, by=by,
        sizes=pd.Series(np.asarray(sizes, dtype=np.int64), index=index, name="size"),
        active=frame(active), orders=frame(orders),
        revenue=None if revenue is None else frame(revenue),
        observed=observed, n_excluded=int(n_excluded), n_dropped=int(n_dropped),
        partial=partial, last_period=last_period, existing_before=existing_before,
        suspect_existing=suspect)


def cohort_table_from_counts(*, period: str, end_day: int, margin: float | None, by: str | None,
                             group_labels: pd.Index | None, row_group: np.ndarray,
                             row_cohort: np.ndarray, sizes: np.ndarray, active: np.ndarray,
                             orders: np.ndarray, revenue: np.ndarray | None, n_excluded: int,
                             n_dropped: int, existing_before: pd.Timestamp | None = None,
                             suspect_existing: str | None = None) -> CohortTable:
    """A :class:`CohortTable` from its counts (the last step of :func:`cohort_table`).

    One row per (group, cohort) with at least one customer, sorted by group code then
    cohort: ``row_group`` indexes ``group_labels`` (ignored without ``by``),
    ``row_cohort`` is the siyu period index of the cohort.  ``active``, ``orders`` and
    ``revenue`` are rows × ages (age 0 .. last age observed for the oldest cohort)
    counts and sums with 0 in unobserved cells.  Partial results (e.g. of the
    partitions of a Dask log) can be added up and passed here; partial cells and the
    last period follow from ``end_day``.
    """
    row_cohort = np.asarray(row_cohort, dtype=np.int64)
    labels = per.period_labels(row_cohort, period)
    if by is None:
        index: pd.Index = pd.PeriodIndex(labels, name="cohort")
    else:
        glab = group_labels[np.asarray(row_group, dtype=np.int64)]
        index = pd.MultiIndex.from_arrays([glab, labels], names=[by, "cohort"])
    last_period = _last_period(per.end_period(end_day, period), period, None)
    return _table(period, end_day, margin, by, index, row_cohort, sizes, active, orders,
                  revenue, n_excluded, n_dropped, last_period, existing_before, suspect_existing)
