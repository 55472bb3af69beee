"""Acting on the log: replenishment cycles, this week's recall list, cross-sell.

The item-level analyses of a private-domain shop (issue #16), on the line items that
:class:`siyu.Transactions` stores when ``product=`` / ``category=`` are given:

- :func:`replenishment` -- per product (or category), the days between a customer's
  consecutive purchases of it: observed quartiles, a Kaplan--Meier estimate that treats
  the still-open interval after each customer's last purchase as censored, and the share
  of buyers who ever rebuy (消费后：耗材更换、配件补充).
- :func:`recall_list` -- one row per customer worth contacting, ranked, with the reason
  in plain words (due products, overdue against their own rhythm, falling P(alive)).
- :func:`cross_sell` -- of customers who bought A first, the share who later bought B
  and how long it took; category breadth by month of tenure per acquisition cohort; the
  share of revenue from categories beyond a customer's first (价值延伸).
- :func:`report_section` / :func:`contact_table` / :func:`cycle_table` /
  :func:`write_recall_csv` -- the pieces the HTML report and the command line show.

Definitions (the contract, see DESIGN.md §2):

- A *purchase* of a product is a calendar day on which the customer has a line item of
  it (several items of it in one order or on one day are one purchase).  Items are
  those of paid orders; refunded items are not items.  Quantities do not change gaps.
- A *closed interval* is the calendar-day difference between two consecutive purchase
  days of the same product by the same customer; the *open interval* runs from the
  customer's last purchase of it to ``end`` (censored).  Each buyer of a product has
  exactly one open interval.
- The *cycle* of a product is the Kaplan--Meier median of its intervals (the first day
  on which the estimated share of intervals not yet ended by a rebuy is <= 0.5).  It is
  NaN when fewer than ``min_customers`` customers bought the product, or when fewer than
  half of the intervals end in a rebuy (then the product is not a replenishment product
  and gets no reminders).
- Rows whose product (or category) is missing are labelled ``"(missing)"`` by
  :class:`~siyu.Transactions`; the item analyses leave them out (it is not one product)
  and count them in ``attrs["n_missing"]``.
"""
from __future__ import annotations

import html
import math
import numbers
import os
from statistics import NormalDist
from typing import TYPE_CHECKING, Any, Iterable, Sequence

import numpy as np
import pandas as pd

from siyu import _core
from siyu import _input as inp
from siyu._i18n import check_lang, text

if TYPE_CHECKING:  # pragma: no cover
    from siyu.transactions import Transactions

__all__ = ["Replenishment", "CrossSell", "replenishment", "recall_list", "cross_sell",
           "contact_table", "cycle_table", "report_section", "write_recall_csv",
           "format_days", "format_money", "format_share", "format_probability", "REASONS"]

#: Reason codes of :func:`recall_list`, in priority order (the first that applies is a
#: row's ``reason_code``).
REASONS: tuple[str, ...] = ("due", "alive_drop", "overdue")

_MISSING_LABEL = "(missing)"
#: days per model time unit (an average Gregorian month, quarter, year)
_UNIT_DAYS = {"D": 1.0, "W": 7.0, "M": 365.25 / 12, "Q": 365.25 / 4, "Y": 365.25}
_NO_DAY = np.iinfo(np.int64).min


# ---------------------------------------------------------------------------- helpers
def _items(tx: "Transactions", by: str, what: str) -> tuple[Any, np.ndarray, pd.Index, int]:
    """(items, key codes with missing labels as -1, labels, n_missing) for ``by``."""
    if by not in ("product", "category"):
        raise ValueError(f"by must be 'product' or 'category', got {by!r}")
    items = tx._log.items
    codes = None if items is None else getattr(items, by)
    if codes is None:
        raise ValueError(f"{what} needs line items with a {by} column: build the log with "
                         f"siyu.Transactions(df, customer=..., time=..., amount=..., "
                         f"{by}='<your {by} column>')")
    # quantity > 0 on every item is checked when the log is built (siyu.Transactions)
    labels = getattr(items, f"{by}_labels")
    key = codes
    n_missing = 0
    if len(labels) and labels[-1] == _MISSING_LABEL:
        miss = codes == len(labels) - 1
        n_missing = int(miss.sum())
        if n_missing:
            key = np.where(miss, -1, codes)
    return items, np.ascontiguousarray(key, dtype=np.int64), labels, n_missing


def _as_of_day(tx: "Transactions", value: Any, name: str) -> int:
    log = tx._log
    if value is None:
        if not tx.n_rows:
            raise ValueError(f"the log is empty; pass {name}= explicitly")
        return int(log.day.max())
    try:
        d = inp.to_day(value, name)
    except ValueError as exc:
        raise ValueError(f"{exc}; pass a date such as '2024-06-30' or a pandas Timestamp"
                         ) from None
    if tx.n_rows and d < int(log.day.min()):
        raise ValueError(f"{name}={inp.day_to_timestamp(d).date()} is before the first purchase "
                         f"in the log ({tx.start.date()}); choose a later {name}")
    return d


def _whole(value: Any, name: str, lo: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a whole number, got {value!r}")
    if int(value) < lo:
        raise ValueError(f"{name} must be >= {lo}, got {int(value)}")
    return int(value)


def _real(value: Any, name: str, lo: float | None = None, allow_none: bool = False,
          lo_open: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    x = float(value)
    if not math.isfinite(x):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if lo is not None and (x < lo or (lo_open and x == lo)):
        raise ValueError(f"{name} must be {'>' if lo_open else '>='} {lo:g}, got {x:g}")
    return x


def _km_bands(surv: np.ndarray, var_sum: np.ndarray, alpha: float = 0.05
              ) -> tuple[np.ndarray, np.ndarray]:
    """Log-log (exponential Greenwood) bands, as lifelines and siyu.survival."""
    z = NormalDist().inv_cdf(1 - alpha / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.log(surv)
        lower = np.exp(-np.exp(np.log(-v) - z * np.sqrt(var_sum) / v))
        upper = np.exp(-np.exp(np.log(-v) + z * np.sqrt(var_sum) / v))
    return np.where(np.isnan(lower), 1.0, lower), np.where(np.isnan(upper), 1.0, upper)


# ---------------------------------------------------------------------------- replenishment
_CURVE_COLUMNS = ["time", "at_risk", "events", "censored", "survival", "lower", "upper"]


class Replenishment:
    """Replenishment cycles per product (or category): the result of :func:`replenishment`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per product bought by ``end`` (label order), columns described in
        :func:`replenishment`.
    by : str
        ``"product"`` or ``"category"``.
    end : pandas.Timestamp
        The day the open intervals are censored at.
    """

    def __init__(self, table: pd.DataFrame, curve_arrays: tuple[np.ndarray, ...],
                 labels: pd.Index, by: str, end: pd.Timestamp) -> None:
        self.table = table
        self.by = by
        self.end = end
        self._curve_arrays = curve_arrays
        self._labels = labels
        self._curves: pd.DataFrame | None = None

    @property
    def cycle(self) -> pd.Series:
        """The cycle (days) per product, NaN where there is none (see :func:`replenishment`)."""
        return self.table["cycle"]

    @property
    def curves(self) -> pd.DataFrame:
        """Kaplan--Meier curves of all products in long form: indexed by (product, time),
        columns ``at_risk, events, censored, survival, lower, upper`` (95 % log-log
        bands).  ``survival`` at ``t`` is the estimated share of intervals with no rebuy
        within ``t`` days; rows at time 0 and every day with a rebuy or a censoring."""
        if self._curves is None:
            key, t, risk, ev, cens, surv, var = self._curve_arrays
            lower, upper = _km_bands(surv, var)
            idx = pd.MultiIndex.from_arrays(
                [pd.CategoricalIndex(pd.Categorical.from_codes(key, categories=self._labels)),
                 t], names=[self._labels.name or self.by, "time"])
            self._curves = pd.DataFrame({"at_risk": risk, "events": ev, "censored": cens,
                                         "survival": surv, "lower": lower, "upper": upper},
                                        index=idx)
        return self._curves

    def curve(self, label: Any) -> pd.DataFrame:
        """The Kaplan--Meier table of one product: ``time, at_risk, events, censored,
        survival, lower, upper`` (as :func:`siyu.survival.kaplan_meier`)."""
        if label not in self.table.index:
            shown = ", ".join(repr(x) for x in self.table.index[:10])
            raise KeyError(f"{label!r} is not a {self.by} with purchases by {self.end.date()}; "
                           f"e.g. {shown}")
        code = self._labels.get_loc(label)
        key = self._curve_arrays[0]
        lo, hi = np.searchsorted(key, [code, code + 1])
        cols = [a[lo:hi] for a in self._curve_arrays[1:]]
        lower, upper = _km_bands(cols[4], cols[5])
        return pd.DataFrame({"time": cols[0], "at_risk": cols[1], "events": cols[2],
                             "censored": cols[3], "survival": cols[4], "lower": lower,
                             "upper": upper})

    def __repr__(self) -> str:
        n = len(self.table)
        has = int(self.table["cycle"].notna().sum())
        return (f"<siyu.Replenishment: {n:,} {self.by}s bought by {self.end.date()}, "
                f"{has:,} with a cycle>")

    def _repr_html_(self) -> str:
        head = html.escape(repr(self))
        return head + self.table.sort_values("n_buyers", ascending=False, kind="stable"
                                             ).head(30).to_html(na_rep="", float_format="{:.3g}".format)


def replenishment(tx: "Transactions", by: str = "product", min_customers: int = 30,
                  end: Any = None) -> Replenishment:
    """Replenishment cycles: days between a customer's consecutive purchases of a product.

    For every customer and product, the purchase days of that product (several line
    items of it in one order or on one day are one purchase) give *closed intervals*
    (calendar-day gaps between consecutive purchase days) and one *open interval* from
    the last purchase to ``end``.  Per product this reports the quartiles of the closed
    intervals (what ``groupby([customer, product]).diff().median()`` gives, which
    ignores the open ones and so underestimates long cycles), a Kaplan--Meier estimate
    over all intervals with the open ones censored, and the share of buyers who ever
    rebuy.  One C pass over each customer's items (threads), then two counting sorts.

    Parameters
    ----------
    tx : Transactions
        The log, built with ``product=`` (and/or ``category=``); called as
        ``tx.replenishment(...)``.
    by : {"product", "category"}, default "product"
        Which item label is "the same product".
    min_customers : int, default 30
        Products bought by fewer customers get no ``cycle`` (``enough_data`` False); all
        their other columns are still shown.
    end : date-like, optional
        Items after ``end`` are ignored and open intervals run to ``end`` (default: the
        last day of the log).  A day before the first purchase is an error.

    Returns
    -------
    Replenishment
        ``.table``: indexed by product label (products bought by ``end``), columns

        - ``n_buyers`` customers who bought it; ``n_rebuyers`` who bought it again on a
          later day; ``rebuy_share`` = n_rebuyers / n_buyers;
        - ``n_intervals``: closed intervals; ``gap_q25, gap_median, gap_q75``: their
          quartiles (linear interpolation as pandas; NaN without any);
        - ``km_q25, km_median, km_q75``: Kaplan--Meier quantiles of the time to rebuy
          (the first day the estimate of "not yet rebought" is <= 0.75, 0.5, 0.25);
          NaN when the estimate never gets that low;
        - ``cycle``: ``km_median`` when ``enough_data``, else NaN;
        - ``enough_data``: ``n_buyers >= min_customers``.

        ``.curves`` / ``.curve(label)``: the Kaplan--Meier tables.  ``table.attrs``:
        ``by``, ``end``, ``min_customers``, ``n_items`` (items used), ``n_missing``
        (items with a missing label, left out).

    Raises
    ------
    ValueError
        No line items for ``by``, a quantity <= 0, ``end`` before the log, bad
        ``min_customers``.

    Examples
    --------
    >>> import pandas as pd, siyu
    >>> df = pd.DataFrame({"id": [1, 1, 1, 2, 2],
    ...                    "t": ["2024-01-01", "2024-01-11", "2024-01-31", "2024-01-05",
    ...                          "2024-01-20"],
    ...                    "amount": [9.0, 9.0, 9.0, 9.0, 9.0],
    ...                    "sku": ["pods", "pods", "pods", "pods", "pods"]})
    >>> tx = siyu.Transactions(df, customer="id", time="t", amount="amount", product="sku")
    >>> r = tx.replenishment(min_customers=1, end="2024-02-10")
    >>> r.table.loc[["pods"], ["n_buyers", "n_intervals", "gap_median", "km_median"]]
          n_buyers  n_intervals  gap_median  km_median
    sku
    pods         2            3        15.0       20.0
    """
    min_customers = _whole(min_customers, "min_customers")
    items, key, labels, n_missing = _items(tx, by, "replenishment")
    end_day = _as_of_day(tx, end, "end")
    n_keys = len(labels)
    (buyers, rebuyers, closed, obs_q, km_q, c_key, c_time, c_risk, c_ev, c_cens, c_surv,
     c_var) = _core.items_gaps(items.day, items.offsets, key, n_keys, end_day)
    obs_q = obs_q.reshape(n_keys, 3)
    km_q = km_q.reshape(n_keys, 3)
    keep = buyers > 0
    enough = buyers >= max(min_customers, 1)
    cycle = np.where(enough, km_q[:, 1], np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = rebuyers / buyers
    cols = {
        "n_buyers": buyers, "n_rebuyers": rebuyers, "rebuy_share": share,
        "n_intervals": closed, "gap_q25": obs_q[:, 0], "gap_median": obs_q[:, 1],
        "gap_q75": obs_q[:, 2], "km_q25": km_q[:, 0], "km_median": km_q[:, 1],
        "km_q75": km_q[:, 2], "cycle": cycle, "enough_data": enough,
    }
    table = pd.DataFrame({k: v[keep] for k, v in cols.items()},
                         index=pd.Index(labels[keep], name=labels.name or by))
    n_used = int(((items.day <= end_day) & (key >= 0)).sum())
    table.attrs.update(by=by, end=inp.day_to_timestamp(end_day), min_customers=min_customers,
                       n_items=n_used, n_missing=n_missing)
    return Replenishment(table, (c_key, c_time, c_risk, c_ev, c_cens, c_surv, c_var),
                         pd.Index(labels, name=labels.name or by), by,
                         inp.day_to_timestamp(end_day))


# ---------------------------------------------------------------------------- recall list
def _model_columns(tx: "Transactions", model: Any, spend_model: Any, as_of: int,
                   horizon: float, window: int, freq: str, keep: np.ndarray
                   ) -> dict[str, np.ndarray]:
    """P(alive) now and ``window`` days ago, expected purchases in the next ``horizon``
    days and the spend model's expected value, aligned to customers ``keep``."""
    from siyu.models import BetaGeo, ModifiedBetaGeo, ParetoNBD

    if not isinstance(model, (BetaGeo, ModifiedBetaGeo, ParetoNBD)):
        raise TypeError(f"model must be a fitted BetaGeo, ModifiedBetaGeo or ParetoNBD (a "
                        f"continuous-time model of tx.summary()); got {type(model).__name__}")
    if getattr(model, "params_", None) is None:
        raise ValueError(f"model ({type(model).__name__}) is not fitted: call "
                         "model.fit(tx.summary(unit='W')) first")
    unit = str(getattr(model, "unit", None) or "D").upper()
    if unit not in _UNIT_DAYS:
        raise ValueError(f"model.unit must be one of {sorted(_UNIT_DAYS)}, got {unit!r}")
    if spend_model is not None:
        from siyu.models import GammaGamma

        if not isinstance(spend_model, GammaGamma):
            raise TypeError(f"spend_model must be a fitted GammaGamma, got "
                            f"{type(spend_model).__name__}")
        if getattr(spend_model, "params_", None) is None:
            raise ValueError("spend_model (GammaGamma) is not fitted: call "
                             "spend_model.fit(s[s['frequency'] > 0]) first")
        if not tx.has_amount:
            raise ValueError("spend_model needs amounts: build the log with amount=")
    codes = np.flatnonzero(keep)
    out: dict[str, np.ndarray] = {}

    def predict(end_day: int) -> tuple[np.ndarray, pd.DataFrame, np.ndarray]:
        s = tx.summary(end=inp.day_to_timestamp(end_day), freq=freq, unit=unit)
        pos = tx._log.ids.get_indexer(s.index)       # codes of the summary's customers
        ok = s["T"].to_numpy() > 0                   # first seen on end_day: no history
        return pos, s, ok

    pos, s, ok = predict(as_of)
    p_alive = np.full(tx.n_customers, np.nan)
    e_purch = np.full(tx.n_customers, np.nan)
    value = np.full(tx.n_customers, np.nan)
    if ok.any():
        sub = s[ok]
        p_alive[pos[ok]] = np.asarray(model.probability_alive(sub), dtype=float)
        t = horizon / _UNIT_DAYS[unit]
        e_purch[pos[ok]] = np.asarray(model.conditional_expected_purchases(t, sub), dtype=float)
    if spend_model is not None and len(s):
        value[pos] = np.asarray(spend_model.conditional_expected_average_value(s), dtype=float)
    before = np.full(tx.n_customers, np.nan)
    prev_day = as_of - window
    if tx.n_rows and prev_day >= int(tx._log.day.min()):
        ppos, ps, pok = predict(prev_day)
        if pok.any():
            before[ppos[pok]] = np.asarray(model.probability_alive(ps[pok]), dtype=float)
    out["p_alive"] = p_alive[codes]
    out["p_alive_before"] = before[codes]
    out["expected_purchases"] = e_purch[codes]
    out["value"] = value[codes]
    return out


def _check_reasons(reasons: Any) -> tuple[str, ...]:
    if isinstance(reasons, str):
        reasons = (reasons,)
    try:
        out = tuple(reasons)
    except TypeError:
        raise TypeError(f"reasons must be a list of reason codes from {list(REASONS)}") from None
    bad = [r for r in out if r not in REASONS]
    if bad or not out:
        raise ValueError(f"unknown reason code(s) {bad}; use some of {list(REASONS)}")
    return out


def _rank_order(primary: np.ndarray, second: np.ndarray, third: np.ndarray) -> np.ndarray:
    """Positions sorted by (primary, second, third, position) ascending (C; as
    ``np.lexsort((positions, third, second, primary))``)."""
    return _core.items_rank(primary, second, third)


def _check_bounds(bounds: Any) -> tuple[int, int]:
    try:
        lo, hi = bounds
    except (TypeError, ValueError):
        raise TypeError(f"bounds must be a pair of day counts, e.g. (30, 180); got {bounds!r}"
                        ) from None
    lo = _whole(lo, "bounds[0]", 1)
    hi = _whole(hi, "bounds[1]", 1)
    if hi <= lo:
        raise ValueError(f"bounds must be strictly increasing, e.g. (30, 180); got {(lo, hi)}")
    return lo, hi


def _cycle_array(tx: "Transactions", cycles: Any, labels: pd.Index, by: str,
                 min_customers: int, day: int) -> np.ndarray:
    """Cycle (days, NaN = none) per label code."""
    if cycles is None:
        cycles = replenishment(tx, by=by, min_customers=min_customers,
                               end=inp.day_to_timestamp(day)).table["cycle"]
    elif isinstance(cycles, Replenishment):
        cycles = cycles.table["cycle"]
    elif isinstance(cycles, dict):
        cycles = pd.Series(cycles, dtype=object)
    elif not isinstance(cycles, pd.Series):
        raise TypeError("cycles must be a Replenishment result, a Series or a dict mapping "
                        f"{by} labels to days, got {type(cycles).__name__}")
    pos = labels.get_indexer(cycles.index)
    if (pos < 0).any():
        unknown = cycles.index[pos < 0][:5].tolist()
        raise ValueError(f"cycles has labels that are no {by} of the log: {unknown}")
    try:
        vals = pd.to_numeric(cycles).to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise ValueError("cycles must be numbers of days (NaN: no cycle), e.g. "
                         "{'洗衣凝珠': 30}") from None
    if ((vals <= 0) | np.isinf(vals)).any():
        raise ValueError("cycles must be positive, finite numbers of days (NaN: no cycle)")
    cyc = np.full(len(labels), np.nan)
    cyc[pos] = vals
    return cyc


_RANK_KEYS = ("value_at_stake", "expected_value", "overdue_ratio", "days_since_last",
              "p_alive_drop")


def recall_list(tx: "Transactions", as_of: Any = None, model: Any = None,
                spend_model: Any = None, top: int | None = None, lang: str = "en", *,
                by: str = "product", reasons: Sequence[str] = REASONS, horizon: float = 30,
                lead: float = 7, stale: float | None = 3.0, overdue_at: float = 1.5,
                min_own_gaps: int = 2, alive_drop: float = 0.2, alive_window: int = 30,
                max_products: int = 3, min_customers: int = 30,
                bounds: Sequence[int] = (30, 180), rank_by: str = "value_at_stake",
                freq: str = "D", cycles: Any = None) -> pd.DataFrame:
    """Who to contact this week, and why: one row per customer worth contacting, ranked.

    Customers with a purchase by ``as_of`` are considered (customers first seen after
    ``as_of`` are absent); a customer is listed when at least one of ``reasons``
    applies:

    - ``"due"`` -- a product they bought has a cycle (:func:`replenishment` computed on
      the items up to ``as_of``) and is *due*: ``overdue = days since their last purchase
      of it − cycle`` is ≥ ``−lead`` (due within ``lead`` days, or past due) and at most
      ``stale`` × cycle (longer past due: they have moved on).  Needs line items.
    - ``"alive_drop"`` -- with a ``model``: P(alive) fell by at least ``alive_drop``
      over the last ``alive_window`` days.
    - ``"overdue"`` -- ``overdue_ratio`` = days since last purchase ÷ typical gap is ≥
      ``overdue_at``.  The *typical gap* is the median of the customer's own gaps between
      purchase days when they have ≥ ``min_own_gaps`` gaps (``gap_basis`` "own"), else the
      shortest cycle among the products they bought ("product", and the reason says
      so: "their products are usually rebought every 30 days"); without either the
      ratio is NaN.

    The first reason in :data:`REASONS` order that applies is the row's ``reason_code``;
    ``reason`` spells all that apply in plain words (``lang``), e.g. "洗衣凝珠 due 5 days
    ago; usually buys every 21 days; 48 days since last order".

    **Value.**  With a fitted transaction ``model`` (BetaGeo, ModifiedBetaGeo,
    ParetoNBD), ``p_alive`` is ``model.probability_alive`` and ``expected_purchases``
    ``model.conditional_expected_purchases`` over the next ``horizon`` days, on
    ``tx.summary(end=as_of, freq=freq, unit=model.unit)`` (customers first seen on
    ``as_of`` have no history: NaN).  The value per purchase is the ``spend_model``'s
    ``conditional_expected_average_value`` (GammaGamma), else the customer's mean
    purchase-day amount.  ``expected_value`` = expected purchases × value per purchase;
    ``value_at_stake`` = the expected value *if retained* = expected_value / p_alive
    (what the next ``horizon`` days are worth if the customer is kept).  Without a
    model, ``value_at_stake`` = mean purchase-day amount × horizon ÷ typical gap (the
    customer buying at their own pace), ``p_alive`` and ``expected_value`` are NaN.

    **Ranking.**  By ``rank_by`` (descending, compared to 6 decimals; NaN last), then
    overdue ratio (descending, 9 decimals), days since last purchase (descending), and
    finally customer id (ascending) -- so ties always come out in the same order, and
    amounts summed in another order cannot reorder them.

    Parameters
    ----------
    tx : Transactions
        Called as ``tx.recall_list(...)``.
    as_of : date-like, optional
        The day of the list (default: last day of the log).  Only rows up to it are used.
        A day before the first purchase is an error.
    model, spend_model : fitted models, optional
        See **Value**.  The model's time unit (``model.unit``, from the summary it was
        fitted on) is used for the summary; ``freq`` is the occasion period it used.
    top : int, optional
        Keep the first ``top`` rows.
    lang : {"en", "zh"}
        Language of ``stage``, ``reason``, ``tag`` and product separators.
    by : {"product", "category"}
        Which item label the due products are.
    reasons : list of str
        Which rules may list a customer (default all of :data:`REASONS`).
    horizon : float, default 30
        Days of "the next period" for the values.
    lead, stale, overdue_at, min_own_gaps, alive_drop, alive_window
        Rule thresholds (see above); ``stale=None`` never stops a due product.
    max_products : int, default 3
        Due products listed per customer (most overdue first; ties by label order).
    min_customers : int, default 30
        Passed to :func:`replenishment`: products with fewer buyers have no cycle.
    bounds : (int, int)
        Lifecycle bounds of :meth:`Transactions.lifecycle`.
    rank_by : {"value_at_stake", "expected_value", "overdue_ratio", "days_since_last",
               "p_alive_drop"}
    freq : str, default "D"
        Occasion period of the summary given to the model.
    cycles : Replenishment, Series or dict, optional
        The cycle (days) per product to use instead of computing :func:`replenishment`
        up to ``as_of`` (e.g. a result already at hand, or the shop's own numbers:
        ``{"洗衣凝珠": 30}``).  Products missing from it have no cycle; unknown labels are
        an error.

    Returns
    -------
    pandas.DataFrame
        Indexed by customer id in rank order, columns ``rank``, ``stage``,
        ``days_since_last``, ``last_purchase``, ``typical_gap``, ``gap_basis``,
        ``overdue_ratio``, ``n_due``, ``due_products`` (labels joined by ", " or "、"),
        ``days_past_due`` (of the most overdue product; negative = due in that many
        days), ``p_alive``, ``p_alive_before``, ``expected_purchases``,
        ``expected_value``, ``value_at_stake``, ``reason_code``, ``reason``, ``tag``
        (a short CRM / 企业微信 label).  The texts ``due_products`` and ``reason`` are
        pandas ``string[pyarrow]`` columns (one Arrow buffer each, no Python object per
        row; ``.astype(object)`` gives plain ``str``).  ``to_csv`` ready.  ``attrs``: ``as_of``,
        ``rules``, ``n_considered``, ``n_listed``, ``value_basis`` ("model" or "pace").

    Raises
    ------
    ValueError
        ``as_of`` before the log; thresholds out of range; ``"due"`` asked explicitly
        without line items; unfitted models.
    TypeError
        A model of the wrong kind; non-numeric thresholds.

    Examples
    --------
    >>> import pandas as pd, siyu
    >>> df = pd.DataFrame({"id": ["a", "a", "a", "b", "b"],
    ...                    "t": ["2024-01-01", "2024-01-11", "2024-01-21", "2024-01-01",
    ...                          "2024-02-20"],
    ...                    "amount": [10.0, 10.0, 10.0, 30.0, 30.0]})
    >>> tx = siyu.Transactions(df, customer="id", time="t", amount="amount")
    >>> rl = tx.recall_list(as_of="2024-03-01")
    >>> rl.index.tolist(), rl["overdue_ratio"].round(1).tolist()
    (['a'], [4.0])
    >>> rl["reason"].iloc[0]
    'usually buys every 10 days; 40 days since last order'
    """
    lang = check_lang(lang)
    if by not in ("product", "category"):
        raise ValueError(f"by must be 'product' or 'category', got {by!r}")
    reasons = _check_reasons(reasons)
    horizon = _real(horizon, "horizon", 0.0, lo_open=True)
    lead = _real(lead, "lead", 0.0)
    stale = _real(stale, "stale", 0.0, allow_none=True)
    overdue_at = _real(overdue_at, "overdue_at", 0.0, lo_open=True)
    min_own_gaps = _whole(min_own_gaps, "min_own_gaps", 1)
    alive_drop = _real(alive_drop, "alive_drop", 0.0, lo_open=True)
    alive_window = _whole(alive_window, "alive_window", 1)
    max_products = _whole(max_products, "max_products", 1)
    if max_products > 1000:
        raise ValueError(f"max_products must be <= 1000, got {max_products}")
    if top is not None:
        top = _whole(top, "top", 0)
    if rank_by not in _RANK_KEYS:
        raise ValueError(f"rank_by must be one of {list(_RANK_KEYS)}, got {rank_by!r}")
    if rank_by in ("expected_value", "p_alive_drop") and model is None:
        raise ValueError(f"rank_by={rank_by!r} needs a fitted model=")
    if "alive_drop" in reasons and model is None and tuple(reasons) != REASONS:
        raise ValueError("the 'alive_drop' reason needs a fitted model=")
    b_lo, b_hi = _check_bounds(bounds)
    day = _as_of_day(tx, as_of, "as_of")
    log = tx._log
    n_gaps, own, last, revenue = _core.items_own_gaps(log.day, log.amount, log.offsets, day)
    k = tx.n_customers
    keep = last != _NO_DAY                   # customers with a purchase by as_of
    codes = np.flatnonzero(keep)
    n = codes.size
    last = last[codes]
    dsl = day - last
    # lifecycle stage as tx.lifecycle defines it (DESIGN §2; a test checks they agree)
    stage_codes = np.where(dsl <= b_lo, 0, np.where(dsl <= b_hi, 1, 2)).astype(np.int8)
    own = own[codes]
    n_own = n_gaps[codes]

    # due products and the product-cycle fallback
    has_items = (log.items is not None and getattr(log.items, by) is not None)
    if "due" in reasons and not has_items and tuple(reasons) != REASONS:
        raise ValueError(f"the 'due' reason needs line items with a {by} column: build the log "
                         f"with siyu.Transactions(..., {by}='<your {by} column>')")
    labels = None
    if has_items:
        items, key, labels, _ = _items(tx, by, "recall_list")
        cyc = _cycle_array(tx, cycles, labels, by, min_customers, day)
        nd, mc, dk, dov, _ = _core.items_due(items.day, items.offsets, key, len(labels), cyc,
                                             day, lead, math.inf if stale is None else stale,
                                             max_products)
        n_due = nd[codes]
        min_cycle = mc[codes]
        # per customer code; only the listed rows are gathered, once they are ranked
        due_key = dk.reshape(k, max_products)
        due_over = dov.reshape(k, max_products)
    else:
        if cycles is not None:
            raise ValueError(f"cycles= needs line items with a {by} column")
        n_due = np.zeros(n, dtype=np.int64)
        min_cycle = None                 # no product cycles: nothing due, no fallback
        due_key = due_over = None

    use_own = n_own >= min_own_gaps
    if min_cycle is None:
        typical = np.where(use_own, own, np.nan)
        basis = np.where(use_own, 0, -1).astype(np.int8)
    else:
        typical = np.where(use_own, own, min_cycle)
        basis = np.where(use_own, 0, np.where(np.isnan(min_cycle), -1, 1)).astype(np.int8)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(typical > 0, dsl / typical, np.nan)

    # values
    occasions = n_own + 1
    mean_value = revenue[codes] / occasions if tx.has_amount else np.full(n, np.nan)
    if model is not None:
        mcols = _model_columns(tx, model, spend_model, day, horizon, alive_window, freq, keep)
        p_alive, p_before = mcols["p_alive"], mcols["p_alive_before"]
        e_purch = mcols["expected_purchases"]
        value = mcols["value"] if spend_model is not None else mean_value
        e_value = e_purch * value
        with np.errstate(divide="ignore", invalid="ignore"):
            at_stake = np.where(p_alive > 0, e_value / p_alive, np.nan)
        value_basis = "model"
    else:
        if spend_model is not None:
            raise ValueError("spend_model= needs a transaction model= as well")
        p_alive = p_before = e_purch = e_value = np.full(n, np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            at_stake = np.where(typical > 0, mean_value * horizon / typical, np.nan)
        value_basis = "pace"

    # rules
    fired = {
        "due": n_due > 0,
        "alive_drop": (p_before - p_alive) >= alive_drop if model is not None
        else np.zeros(n, dtype=bool),
        "overdue": ratio >= overdue_at,
    }
    listed = np.zeros(n, dtype=bool)
    for r in reasons:
        listed |= fired[r]
    primary = np.full(n, -1, dtype=np.int64)
    for j in range(len(REASONS) - 1, -1, -1):
        r = REASONS[j]
        if r in reasons:
            primary[fired[r]] = j
    sel = np.flatnonzero(listed)

    # ranking: rank_by desc (NaN last), overdue ratio desc, days since last desc, id asc
    rank_values = {"value_at_stake": at_stake, "expected_value": e_value,
                   "overdue_ratio": ratio, "days_since_last": dsl.astype(float),
                   "p_alive_drop": p_before - p_alive}[rank_by]

    def desc(v: np.ndarray, decimals: int | None = None) -> np.ndarray:
        v = np.asarray(v, dtype=float)[sel]
        if decimals is not None:
            v = np.round(v, decimals)
        return np.where(np.isnan(v), np.inf, -v)

    # values compared to 6 decimals: sums taken in another order cannot reorder a tie
    order = sel[_rank_order(desc(rank_values, 6), desc(ratio, 9), desc(dsl))]
    if top is not None:
        order = order[:top]

    lab_text = [] if labels is None else [str(x) for x in labels]
    listed_codes = codes[order]
    dk = (due_key[listed_codes] if due_key is not None
          else np.full((order.size, max_products), -1, dtype=np.int64))
    if labels is not None and order.size:
        prod_text = _product_texts(lang, dk, lab_text)
    else:
        prod_text = _text_array((np.zeros(order.size + 1, np.int64), np.zeros(0, np.uint8)))
    days_past = (due_over[listed_codes, 0] if due_over is not None
                 else np.full(order.size, np.nan))
    from siyu.segments import LIFECYCLE_LABELS

    stage = pd.Categorical.from_codes(stage_codes[order], categories=LIFECYCLE_LABELS[lang],
                                      ordered=True)
    cols: dict[str, Any] = {
        "rank": np.arange(1, order.size + 1, dtype=np.int64),
        "stage": stage,
        "days_since_last": dsl[order],
        "last_purchase": inp.days_to_dates(last[order]),
        "typical_gap": typical[order],
        "gap_basis": pd.Categorical.from_codes(basis[order], categories=["own", "product"]),
        "overdue_ratio": ratio[order],
        "n_due": n_due[order],
        "due_products": prod_text,
        "days_past_due": days_past,
        "p_alive": p_alive[order],
        "p_alive_before": p_before[order],
        "expected_purchases": e_purch[order],
        "expected_value": e_value[order],
        "value_at_stake": at_stake[order],
    }
    code_names = np.array(REASONS, dtype=object)
    cols["reason_code"] = code_names[primary[order]] if order.size else np.zeros(0, object)
    cols["reason"] = _reason_texts(lang, reasons, fired, order, dk[:, 0], n_due, days_past,
                                   typical, dsl, p_before, p_alive, alive_window,
                                   lab_text or [""], use_own)
    cols["tag"] = _tags(lang, primary[order], stage_codes[order])
    out = pd.DataFrame(cols, index=pd.Index(log.ids[listed_codes], name=log.ids.name),
                       copy=False)
    out.attrs.update(
        as_of=inp.day_to_timestamp(day), lang=lang, by=by, value_basis=value_basis,
        n_considered=int(n), n_listed=int(sel.size),
        rules=dict(reasons=list(reasons), horizon=horizon, lead=lead, stale=stale,
                   overdue_at=overdue_at, min_own_gaps=min_own_gaps, alive_drop=alive_drop,
                   alive_window=alive_window, max_products=max_products,
                   min_customers=min_customers, bounds=(b_lo, b_hi),
                   rank_by=rank_by, freq=freq),
        model=None if model is None else type(model).__name__,
        spend_model=None if spend_model is None else type(spend_model).__name__)
    return out


def _pieces(template: str, fields: dict[str, Any]) -> list[Any]:
    """A catalogue template as text_rows pieces: literals, and each {name} replaced by
    ``fields[name]`` (a field index, a (field, table) pair, or a literal str)."""
    import string

    out: list[Any] = []
    for literal, name, _, _ in string.Formatter().parse(template):
        if literal:
            out.append(literal)
        if name is not None:
            out.append(fields[name])
    return out


_P1 = [f"{i / 100:.1f}" for i in range(101)]
_P2 = [f"{i / 100:.2f}" for i in range(101)]
_PTEXT = [(_P1[i] if (i >= 10 or i == 0) else _P2[i]) for i in range(101)]


def _p_index(x: np.ndarray) -> np.ndarray:
    """Probabilities as indices into _PTEXT (hundredths; one decimal from 0.1 on)."""
    x = np.clip(np.nan_to_num(np.asarray(x, dtype=float)), 0.0, 1.0)
    h = np.floor(x * 100 + 0.5).astype(np.int64)
    tenth = np.floor(x * 10 + 0.5).astype(np.int64) * 10
    return np.where(h >= 10, tenth, h)


def _round_int(x: np.ndarray) -> np.ndarray:
    v = np.asarray(x, dtype=float)
    return np.floor(np.nan_to_num(v) + 0.5).astype(np.int64)


def _reason_texts(lang: str, reasons: Sequence[str], fired: dict[str, np.ndarray],
                  order: np.ndarray, due_label: np.ndarray, n_due: np.ndarray,
                  days_past: np.ndarray, typical: np.ndarray, dsl: np.ndarray,
                  p_before: np.ndarray, p_alive: np.ndarray, window: int,
                  labels: list[str], own_basis: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """The plain-words reasons of the listed rows (only those: cheap with ``top``), built
    in C (``_core.text_rows``) from the catalogue's templates."""
    n = order.size
    d = _round_int(days_past)
    c = order
    # fields: 0 product code, 1 |days past due|, 2 more due, 3 gap, 4 days since last,
    # 5 P(alive) before, 6 P(alive) now; tables: 0 labels, 1 probabilities
    ints = np.zeros((7, n), dtype=np.int64)
    np.maximum(due_label, 0, out=ints[0])
    np.abs(d, out=ints[1])
    np.subtract(n_due[c], 1, out=ints[2])
    ints[3] = _round_int(typical[c])
    ints[4] = dsl[c]
    if "alive_drop" in reasons and fired["alive_drop"][c].any():   # the one template with P
        ints[5] = _p_index(p_before[c])
        ints[6] = _p_index(p_alive[c])
    f = {"product": (0, 0), "days": 1, "n": 2, "gap": 3, "before": (5, 1), "now": (6, 1),
         "window": str(window)}
    more = _pieces(text("actions.reason.more", lang), f)
    templates: list[list[Any]] = []
    due_keys = ("due_ago", "due_yesterday", "due_today", "due_tomorrow", "due_in")
    for key in due_keys:
        base = _pieces(text(f"actions.reason.{key}", lang), f)
        templates += [base, base + more]
    templates.append(_pieces(text("actions.reason.overdue", lang), {**f, "days": 4}))
    templates.append(_pieces(text("actions.reason.alive_drop_month" if window == 30 else
                                  "actions.reason.alive_drop", lang), f))
    templates.append(_pieces(text("actions.reason.overdue_product", lang), {**f, "days": 4}))
    which = np.select([d > 1, d == 1, d == 0, d == -1], [0, 1, 2, 3], 4) * 2 + (n_due[c] > 1)
    choice = np.full((len(REASONS), n), -1, dtype=np.int64)
    for j, r in enumerate(REASONS):
        if r not in reasons:
            continue
        hit = fired[r][c]
        val = {"due": which, "overdue": np.where(own_basis[c], 10, 12),
               "alive_drop": np.full(n, 11)}[r]
        choice[j] = np.where(hit, val, -1)
    return _text_array(_core.text_rows(templates, choice, ints, [labels, _PTEXT],
                                       text("actions.sep.reasons", lang)))


def _product_texts(lang: str, keys: np.ndarray, labels: list[str]
                   ) -> pd.api.extensions.ExtensionArray:
    """Due product labels joined ("" when none), one row per line of ``keys`` (n, m)."""
    n, m = keys.shape
    sep = text("actions.sep.products", lang)
    templates = []
    for k in range(1, m + 1):
        t: list[Any] = []
        for j in range(k):
            if j:
                t.append(sep)
            t.append((j, 0))
        templates.append(t)
    count = (keys >= 0).sum(axis=1)
    choice = (count - 1)[None, :].astype(np.int64)
    return _text_array(_core.text_rows(templates, choice, np.maximum(keys, 0).T.copy(),
                                       [labels], sep))


def _text_array(parts: tuple[np.ndarray, np.ndarray]) -> pd.api.extensions.ExtensionArray:
    """``text_rows``' (offsets, UTF-8 bytes) as a pandas string column backed by one
    Arrow buffer (pandas' ``string[pyarrow]``): no Python object per row."""
    import pyarrow as pa

    offsets, data = parts
    arr = pa.Array.from_buffers(pa.large_string(), len(offsets) - 1,
                                [None, pa.py_buffer(offsets), pa.py_buffer(data)])
    return pd.arrays.ArrowStringArray(arr)


def _tags(lang: str, primary: np.ndarray, stage_codes: np.ndarray) -> np.ndarray:
    """Short CRM labels: replenish (due), churn warning (alive_drop), re-engage (overdue,
    not lapsing) or win back (overdue, lapsing)."""
    names = np.array([text(f"actions.tag.{r}", lang) for r in REASONS]
                     + [text("actions.tag.win_back", lang)], dtype=object)
    j = np.where((primary == REASONS.index("overdue")) & (stage_codes == 2), len(REASONS),
                 primary)
    return names[j]


# ---------------------------------------------------------------------------- cross-sell
class CrossSell:
    """Cross-sell and value extension (价值延伸): the result of :func:`cross_sell`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per (first, later) pair with at least one customer: ``n_first``
        (customers in the row), ``customers`` (who later bought ``later``), ``share``,
        ``median_days`` (median days from the first purchase to the first later
        purchase of ``later``).
    share, median_days : pandas.DataFrame
        The same as matrices (rows: first, columns: later; 0 / NaN where nobody).
    n_first : pandas.Series
        Customers per first label (a customer whose first purchase day holds several
        labels counts in each of those rows).
    breadth : pandas.DataFrame
        Acquisition cohort × period of tenure: mean number of distinct labels bought by
        the end of that period of tenure, per customer of the cohort (NaN where the
        period starts after ``end``).
    breadth_partial : pandas.DataFrame
        True for the cells of ``breadth`` whose period ``end`` cuts short (DESIGN §2b':
        shown, but not comparable with full periods).
    cohort_sizes : pandas.Series
        Customers per acquisition cohort (the denominators of ``breadth``).
    revenue : pandas.DataFrame
        Per cohort (plus a ``total`` row): ``revenue`` of items, ``revenue_beyond_first``
        (items whose label was not among the customer's first-day labels) and
        ``share_beyond_first``.  Empty without amounts.
    """

    def __init__(self, table: pd.DataFrame, n_first: pd.Series, breadth: pd.DataFrame,
                 breadth_partial: pd.DataFrame, cohort_sizes: pd.Series,
                 revenue: pd.DataFrame, labels: pd.Index, attrs: dict[str, Any]) -> None:
        self.table = table
        self.n_first = n_first
        self.breadth = breadth
        self.breadth_partial = breadth_partial
        self.cohort_sizes = cohort_sizes
        self.revenue = revenue
        self._labels = labels
        self.attrs = attrs

    def _matrix(self, col: str, fill: float) -> pd.DataFrame:
        lab = self.n_first.index
        m = self.table[col].unstack("later") if len(self.table) else pd.DataFrame()
        m = m.reindex(index=lab, columns=lab)
        if fill == fill:
            m = m.fillna(fill)
        m.index.name, m.columns.name = "first", "later"
        return m

    @property
    def share(self) -> pd.DataFrame:
        return self._matrix("share", 0.0)

    @property
    def median_days(self) -> pd.DataFrame:
        return self._matrix("median_days", float("nan"))

    @property
    def share_beyond_first(self) -> float:
        """Share of all item revenue from labels beyond each customer's first (NaN
        without amounts)."""
        if self.revenue.empty:
            return float("nan")
        return float(self.revenue.loc["total", "share_beyond_first"])

    def __repr__(self) -> str:
        return (f"<siyu.CrossSell: {len(self.n_first)} {self.attrs['by']} labels, "
                f"{int(self.attrs['n_customers']):,} customers, end {self.attrs['end'].date()}>")


def cross_sell(tx: "Transactions", by: str = "category", end: Any = None,
               within: int | None = None, period: str = "M") -> CrossSell:
    """Cross-sell and value extension: what customers buy after their first category.

    For each customer with an item by ``end``, the *first* labels are those bought on
    their first item day.  For each first label A and any label B: the customer *later
    bought B* when they have an item of B on a later day (for B among their first labels:
    bought it again on a later day).  ``share`` = customers who later bought B / customers
    with A first; ``median_days`` = median days from the first day to their first later
    purchase of B.  With ``within``, only customers acquired at least ``within`` days
    before ``end`` count (all observed that long), and only later purchases within
    ``within`` days of the first day -- comparable shares across shops and dates.

    Parameters
    ----------
    tx : Transactions
        Built with ``category=`` (or ``product=``); called as ``tx.cross_sell(...)``.
    by : {"category", "product"}, default "category"
    end : date-like, optional
        Items after ``end`` are ignored (default: last day of the log).
    within : int, optional
        Observation window in days (see above).
    period : {"D", "W", "M", "Q", "Y"}, default "M"
        Cohort and tenure period of ``breadth`` and ``revenue``.

    Returns
    -------
    CrossSell
        ``.table`` (long), ``.share`` / ``.median_days`` (matrices), ``.n_first``,
        ``.breadth``, ``.revenue``, ``.share_beyond_first``.

    Examples
    --------
    >>> import pandas as pd, siyu
    >>> df = pd.DataFrame({"id": [1, 1, 2, 2, 3],
    ...                    "t": ["2024-01-01", "2024-01-10", "2024-01-02", "2024-01-30",
    ...                          "2024-01-03"],
    ...                    "amount": [100.0, 20.0, 100.0, 100.0, 50.0],
    ...                    "cat": ["washer", "pods", "washer", "washer", "pods"]})
    >>> tx = siyu.Transactions(df, customer="id", time="t", amount="amount", category="cat")
    >>> cs = tx.cross_sell()
    >>> cs.share.loc["washer"].tolist()        # columns: pods, washer
    [0.5, 0.5]
    >>> round(cs.share_beyond_first, 3)        # the 20.0 of pods after a washer
    0.054
    """
    period = inp.period_code(period, "DWMQY", "period")
    items, key, labels, n_missing = _items(tx, by, "cross_sell")
    end_day = _as_of_day(tx, end, "end")
    if within is not None:
        within = _whole(within, "within", 0)
    code = inp.PERIOD_CODES[period]
    (first, rev_total, rev_beyond, x_cust, x_a, x_b, x_days, f_cust, f_key, b_cust,
     b_age) = _core.items_cross(items.day, items.offsets, key, len(labels), items.amount,
                                end_day, code)
    eligible = first != _NO_DAY
    if within is not None:
        eligible &= first <= end_day - within
    n_lab = len(labels)
    n_first = np.bincount(f_key[eligible[f_cust]], minlength=n_lab)
    ok = eligible[x_cust]
    if within is not None:
        ok &= x_days <= within
    pair = x_a[ok] * np.int64(n_lab) + x_b[ok]
    if pair.size:
        g = pd.DataFrame({"pair": pair, "days": x_days[ok]}).groupby("pair", sort=True)["days"]
        pairs = g.size().index.to_numpy()
        counts = g.size().to_numpy()
        medians = g.median().to_numpy(dtype=float)
    else:
        pairs = np.zeros(0, np.int64)
        counts = np.zeros(0, np.int64)
        medians = np.zeros(0)
    pa, pb = pairs // n_lab, pairs % n_lab
    lab = np.asarray(labels, dtype=object)
    idx = pd.MultiIndex.from_arrays([lab[pa], lab[pb]], names=["first", "later"])
    table = pd.DataFrame({"n_first": n_first[pa], "customers": counts,
                          "share": counts / n_first[pa], "median_days": medians}, index=idx)
    present = np.flatnonzero(n_first > 0)
    nf = pd.Series(n_first[present], index=pd.Index(lab[present], name="first"),
                   name="customers")
    breadth, partial, sizes = _breadth(first, eligible, b_cust, b_age, code, end_day, period)
    revenue = _revenue_split(first, eligible, rev_total, rev_beyond, code, period,
                             items.amount is not None)
    attrs = dict(by=by, end=inp.day_to_timestamp(end_day), within=within, period=period,
                 n_customers=int(eligible.sum()), n_missing=n_missing)
    table.attrs.update(attrs)
    return CrossSell(table, nf, breadth, partial, sizes, revenue, labels, attrs)


def _breadth(first: np.ndarray, eligible: np.ndarray, bc: np.ndarray, bage: np.ndarray,
             code: int, end_day: int, period: str
             ) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    from siyu._periods import period_labels

    has = eligible
    if not has.any():
        return pd.DataFrame(), pd.DataFrame(), pd.Series(dtype=np.int64, name="customers")
    fper = _core.period_index(np.where(has, first, 0), code)
    end_per = int(_core.period_index(np.array([end_day], dtype=np.int64), code)[0])
    coh = np.where(has, fper, 0)
    c0 = int(coh[has].min())
    n_coh = end_per - c0 + 1
    n_age = n_coh
    ok = has[bc]
    ci = coh[bc[ok]] - c0
    new = np.bincount(ci * n_age + bage[ok], minlength=n_coh * n_age).reshape(n_coh, n_age)
    size = np.bincount(coh[has] - c0, minlength=n_coh).astype(float)
    cum = np.cumsum(new, axis=1).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = cum / size[:, None]
    ages = np.arange(n_age)
    observed = (np.arange(n_coh)[:, None] + ages[None, :]) <= (end_per - c0)
    mean[~observed] = np.nan
    rows = size > 0
    idx = pd.PeriodIndex(period_labels(np.arange(c0, end_per + 1)[rows], period), name="cohort")
    out = pd.DataFrame(mean[rows], index=idx, columns=pd.Index(ages, name="age"))
    out = out.loc[:, out.notna().any(axis=0)]
    # the period containing end is partial unless end is its last day
    last_full = int(_core.period_index(np.array([end_day + 1], dtype=np.int64), code)[0]) > end_per
    partial = pd.DataFrame(False, index=out.index, columns=out.columns)
    if not last_full:
        cper = np.arange(c0, end_per + 1)[rows]
        for j, a in enumerate(out.columns):
            partial.iloc[:, j] = (cper + a) == end_per
    sizes = pd.Series(size[rows].astype(np.int64), index=idx, name="customers")
    return out, partial, sizes


def _revenue_split(first: np.ndarray, eligible: np.ndarray, rev_total: np.ndarray,
                   rev_beyond: np.ndarray, code: int, period: str,
                   has_amount: bool) -> pd.DataFrame:
    from siyu._periods import dense_codes, period_labels

    if not has_amount or not eligible.any():
        return pd.DataFrame(columns=["revenue", "revenue_beyond_first", "share_beyond_first"])
    fper = _core.period_index(first[eligible], code)
    uniq, inv = dense_codes(fper)
    tot = np.bincount(inv, weights=rev_total[eligible], minlength=uniq.size)
    bey = np.bincount(inv, weights=rev_beyond[eligible], minlength=uniq.size)
    idx = list(period_labels(uniq, period).astype(str)) + ["total"]
    tot = np.append(tot, tot.sum())
    bey = np.append(bey, bey.sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(tot > 0, bey / tot, np.nan)
    return pd.DataFrame({"revenue": tot, "revenue_beyond_first": bey,
                         "share_beyond_first": share}, index=pd.Index(idx, name="cohort"))


# ---------------------------------------------------------------------------- report pieces
#: Columns of the recall list in the CSV (the model columns only with a model).
_MODEL_COLUMNS = ("p_alive", "p_alive_before", "expected_purchases", "expected_value")


def format_days(x: Any) -> str:
    """Whole days ("" for NaN)."""
    return "" if x is None or x != x else f"{int(math.floor(float(x) + 0.5)):d}"


def format_money(x: Any) -> str:
    """An amount with thousands separators and 2 decimals ("" for NaN)."""
    return "" if x is None or x != x else f"{float(x):,.2f}"


def format_share(x: Any) -> str:
    """A share as a percentage with one decimal ("" for NaN)."""
    return "" if x is None or x != x else f"{float(x):.1%}"


def format_probability(x: Any) -> str:
    """A probability with two decimals ("" for NaN)."""
    return "" if x is None or x != x else f"{float(x):.2f}"


def _header(col: str, lang: str) -> str:
    return text(f"actions.col.{col}", lang)


def _translated(rl: pd.DataFrame, lang: str, columns: Sequence[str]) -> pd.DataFrame:
    out = rl.loc[:, list(columns)].copy()
    if "gap_basis" in out:
        out["gap_basis"] = out["gap_basis"].cat.rename_categories(
            [text("actions.basis.own", lang), text("actions.basis.product", lang)])
    out.columns = [_header(c, lang) for c in columns]
    return out


def write_recall_csv(tx: "Transactions", path: Any, as_of: Any = None, model: Any = None,
                     spend_model: Any = None, lang: str = "en", **rules: Any) -> str:
    """Write the full recall list (:func:`recall_list`) as a CSV for a CRM import.

    One row per customer in rank order; the first column is the customer id (header: the
    log's customer column), then rank, stage, days since last purchase, typical gap,
    due products, value at stake, reason and tag (企业微信 label).  Headers are in ``lang``
    (Chinese with ``"zh"``); the model columns appear only with a ``model``.  Encoded
    UTF-8 with a byte-order mark, so Excel opens Chinese text correctly.

    Parameters
    ----------
    tx : Transactions
    path : str or path-like
        Where to write; the folder must exist.
    as_of, model, spend_model, lang, **rules
        As in :func:`recall_list` (``top`` too).

    Returns
    -------
    str
        The absolute path written.

    Examples
    --------
    >>> import os, tempfile, pandas as pd, siyu
    >>> from siyu.actions import write_recall_csv
    >>> df = pd.DataFrame({"id": ["a", "a", "a"], "t": ["2024-01-01", "2024-01-11", "2024-01-21"],
    ...                    "amount": [10.0, 10.0, 10.0]})
    >>> tx = siyu.Transactions(df, customer="id", time="t", amount="amount")
    >>> p = write_recall_csv(tx, os.path.join(tempfile.mkdtemp(), "r.csv"), as_of="2024-03-01")
    >>> pd.read_csv(p, encoding="utf-8-sig")[["id", "rank", "tag"]].values.tolist()
    [['a', 1, 're-engage']]
    """
    folder = os.path.dirname(os.path.abspath(os.fspath(path)))
    if not os.path.isdir(folder):
        raise ValueError(f"cannot write {os.fspath(path)!r}: folder {folder} does not exist")
    rl = recall_list(tx, as_of, model, spend_model, lang=lang, **rules)
    cols = [c for c in rl.columns if model is not None or c not in _MODEL_COLUMNS]
    out = _translated(rl, lang, cols)
    out.index.name = tx._log.names.get("customer") or rl.index.name or \
        _header("customer", lang)
    out.to_csv(path, encoding="utf-8-sig", float_format="%.6g", date_format="%Y-%m-%d")
    return os.path.abspath(os.fspath(path))


def contact_table(tx: "Transactions", as_of: Any = None, model: Any = None,
                  spend_model: Any = None, top: int = 50, lang: str = "en",
                  **rules: Any) -> pd.DataFrame:
    """The report's "Who to contact" table: the top of :func:`recall_list`, display-ready.

    Columns (headers in ``lang``): stage, days since last purchase, due products,
    P(alive) (with a model), value at stake, reason, tag; values rounded for display
    (days whole, P(alive) 2 decimals, value 2 decimals).  Indexed by customer id.
    ``attrs`` carry the recall list's (``n_listed``, ``n_considered``, ``as_of``, ...).

    Examples
    --------
    >>> import pandas as pd, siyu
    >>> from siyu.actions import contact_table
    >>> df = pd.DataFrame({"id": ["a", "a", "a"], "t": ["2024-01-01", "2024-01-11", "2024-01-21"],
    ...                    "amount": [10.0, 10.0, 10.0]})
    >>> tx = siyu.Transactions(df, customer="id", time="t", amount="amount")
    >>> list(contact_table(tx, as_of="2024-03-01", lang="zh").columns)[:3]
    ['生命周期阶段', '距上次购买天数', '到期商品']
    """
    rl = recall_list(tx, as_of, model, spend_model, top=top, lang=lang, **rules)
    cols = ["stage", "days_since_last", "due_products"]
    if model is not None:
        cols.append("p_alive")
    cols += ["value_at_stake", "reason", "tag"]
    show = rl.loc[:, cols].copy()
    if "p_alive" in show:
        show["p_alive"] = show["p_alive"].round(2)
    show["value_at_stake"] = show["value_at_stake"].round(2)
    show.columns = [_header(c, lang) for c in cols]
    show.index.name = rl.index.name
    show.attrs.update(rl.attrs)
    return show


def cycle_table(tx: "Transactions", by: str = "product", min_customers: int = 30,
                top: int | None = 30, lang: str = "en", end: Any = None) -> pd.DataFrame:
    """The report's replenishment-cycle table: :func:`replenishment` by buyers, display-ready.

    The ``top`` most-bought products (all with ``None``), most buyers first; columns
    (headers in ``lang``): buyers, rebuy share, median observed gap, cycle
    (censoring-aware), 25 % / 75 % rebuy-by days.  ``attrs`` as the replenishment
    table's.

    Examples
    --------
    >>> import pandas as pd, siyu
    >>> from siyu.actions import cycle_table
    >>> df = pd.DataFrame({"id": [1, 1, 2, 2], "t": ["2024-01-01", "2024-01-21", "2024-01-05",
    ...                    "2024-01-25"], "amount": 5.0, "sku": "pods"})
    >>> tx = siyu.Transactions(df, customer="id", time="t", amount="amount", product="sku")
    >>> cycle_table(tx, min_customers=2).iloc[0].tolist()
    [2.0, 1.0, 20.0, 20.0, 20.0, 20.0]
    """
    rep = replenishment(tx, by=by, min_customers=min_customers, end=end).table
    order = rep.sort_values(["n_buyers"], ascending=False, kind="stable")
    if top is not None:
        order = order.head(_whole(top, "top", 0))
    cols = ["n_buyers", "rebuy_share", "gap_median", "cycle", "km_q25", "km_q75"]
    show = order.loc[:, cols].astype(float)
    show["rebuy_share"] = show["rebuy_share"].round(3)
    show.columns = [_header(c, lang) for c in cols]
    show.index.name = _header(by, lang)
    show.attrs.update(rep.attrs)
    return show


def report_section(tx: "Transactions", as_of: Any = None, model: Any = None,
                   spend_model: Any = None, lang: str = "en", top: int = 50,
                   by: str | None = None, min_customers: int = 30,
                   csv_path: str | None = None, **rules: Any) -> dict[str, Any]:
    """Everything the report's "Who to contact" section shows, as plain values.

    Returns a dict: ``title``, ``intro`` and ``value_note`` (sentences in ``lang``),
    ``contacts`` (:func:`contact_table`), and -- when the log has line items -- the
    replenishment part ``cycles_title``, ``cycles_intro``, ``cycles``
    (:func:`cycle_table`; otherwise these are None), plus ``csv_note`` when ``csv_path``
    (the full list written by :func:`write_recall_csv`) is given.  ``by`` defaults to
    "product" when the log has products, else "category".

    Examples
    --------
    >>> import pandas as pd, siyu
    >>> from siyu.actions import report_section
    >>> df = pd.DataFrame({"id": ["a", "a", "a"], "t": ["2024-01-01", "2024-01-11", "2024-01-21"],
    ...                    "amount": [10.0, 10.0, 10.0]})
    >>> sec = report_section(siyu.Transactions(df, customer="id", time="t", amount="amount"),
    ...                      as_of="2024-03-01")
    >>> sec["title"], len(sec["contacts"]), sec["cycles"] is None
    ('Who to contact', 1, True)
    """
    lang = check_lang(lang)
    items = tx._log.items
    if by is None and items is not None:
        by = "product" if items.product is not None else (
            "category" if items.category is not None else None)
    rules = dict(rules)
    if by is not None:
        rules.setdefault("by", by)
    rules.setdefault("min_customers", min_customers)
    contacts = contact_table(tx, as_of, model, spend_model, top=top, lang=lang, **rules)
    a = contacts.attrs
    out: dict[str, Any] = {
        "title": text("actions.section.title", lang),
        "intro": text("actions.section.intro", lang, n_listed=a["n_listed"],
                      n_considered=a["n_considered"], as_of=str(a["as_of"].date()),
                      top=min(top, a["n_listed"])),
        "value_note": (text("actions.section.value_model", lang,
                            horizon=a["rules"]["horizon"], model=a["model"])
                       if model is not None else
                       text("actions.section.value_pace", lang, horizon=a["rules"]["horizon"])),
        "contacts": contacts,
        "cycles_title": None, "cycles_intro": None, "cycles": None,
        "csv_note": None if csv_path is None else text("actions.section.csv", lang,
                                                       path=os.fspath(csv_path)),
    }
    if by is not None:
        out["cycles_title"] = text("actions.cycles.title", lang)
        out["cycles_intro"] = text("actions.cycles.intro", lang,
                                   by=text(f"actions.word.{by}", lang),
                                   min_customers=min_customers)
        out["cycles"] = cycle_table(tx, by=by, min_customers=min_customers, lang=lang,
                                    end=a["as_of"])
    return out
