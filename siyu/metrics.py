"""The metrics Chinese shop operators read daily (DESIGN.md section 2c).

======================================  =============================================
``tx.repeat_rate(start, end)``          复购率 repeat-purchase rate of a window
``tx.return_rate(period="M")``          回购率 return rate, a series over periods
``tx.new_customer_repeat_rate()``       新客复购率 new-customer repeat rate by cohort
``tx.rfm(scheme="8")``                  RFM 八大类, the eight RFM classes
``tx.rfm_matrix(rows="R", cols="F")``   R×F / R×M grids as shop dashboards show them
======================================  =============================================

They follow the operators' definitions, which differ from siyu's own metrics of
similar names: :meth:`~siyu.Transactions.repurchase` (second purchase within k days of
the *first*, over the customers for whom k days are observable) and
:meth:`~siyu.Transactions.retention` (purchase at a given age).  Both kinds exist
under distinct names, and the report's definitions table lists them side by side.

Common rules (DESIGN.md section 2): a *purchase* is a row with amount >= 0 (every row
when the log has no amounts); refunds (negative amounts) reduce revenue but are never a
purchase or an occasion.  An *occasion* is a calendar day with at least one purchase
of the customer (same-day orders merge).  ``by=`` splits by acquisition channel: the
``channel=`` column of the customer's first purchase row, as for cohorts.  Every
count scans the log in C (one pass, GIL released, Ctrl-C honoured).
"""
from __future__ import annotations

import itertools
import math
import numbers
import warnings
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np
import pandas as pd

from siyu import _core
from siyu import _input as inp
from siyu import _periods as per
from siyu._i18n import check_lang, labels, text

if TYPE_CHECKING:  # pragma: no cover
    from siyu.transactions import Transactions

__all__ = ["RFM8_LABELS", "repeat_rate", "return_rate", "new_customer_repeat_rate", "rfm8",
           "rfm_matrix"]

_NO_DAY = np.iinfo(np.int64).max
# bytes per (group, period) row of the counts and the result frame
_BUCKET_BYTES = 96
_WINDOW = -1                                  # metric_periods: the window is one bucket
_SAME_DAY = ("merge", "orders")

#: Catalogue keys of the eight RFM classes in the order of DESIGN.md section 2c, with
#: their (R, F, M) highs (1 = high, 0 = low).
_RFM8: tuple[tuple[str, tuple[int, int, int]], ...] = (
    ("rfm8.important_value", (1, 1, 1)),
    ("rfm8.important_develop", (1, 0, 1)),
    ("rfm8.important_keep", (0, 1, 1)),
    ("rfm8.important_win_back", (0, 0, 1)),
    ("rfm8.general_value", (1, 1, 0)),
    ("rfm8.general_develop", (1, 0, 0)),
    ("rfm8.general_keep", (0, 1, 0)),
    ("rfm8.general_win_back", (0, 0, 0)),
)
#: The eight class names in class order, per language.
RFM8_LABELS: dict[str, tuple[str, ...]] = {
    lang: tuple(labels([k for k, _ in _RFM8], lang)) for lang in ("en", "zh")}
# class code of R * 4 + F * 2 + M
_RFM8_CODE = np.zeros(8, dtype=np.int64)
for _code, (_, (_r, _f, _m)) in enumerate(_RFM8):
    _RFM8_CODE[_r * 4 + _f * 2 + _m] = _code


# ---------------------------------------------------------------------------- helpers
class _DefaultWithin(int):
    """The default ``within`` (30 days), told apart from an explicit ``within=30``."""

    def __repr__(self) -> str:
        return "30"


_WITHIN_DEFAULT = _DefaultWithin(30)


def _whole(value: Any, name: str, low: int, example: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) \
            or not float(value).is_integer():
        raise TypeError(f"{name} must be a whole number, e.g. {name}={example}; got {per.show(value)}")
    v = int(value)
    if v < low:
        raise ValueError(f"{name} must be >= {low}, e.g. {name}={example}; got {v}")
    if v > 36_600:
        raise ValueError(f"{name} must be <= 36,600 (about 100 years); got {v:,}")
    return v


def _check_bool(value: Any, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {per.show(value)}")
    return bool(value)


def _date(day: int) -> Any:
    return inp.day_to_timestamp(day).date()


def _groups(tx: "Transactions", by: Any, end_day: int, need_first: bool = False
            ) -> tuple[np.ndarray | None, pd.Index | None, str | None, np.ndarray | None, int]:
    """Acquisition group of every customer: (group codes or None without ``by``, group
    labels, by name, first purchase day (_NO_DAY: none by end_day; None when neither
    ``by`` nor ``need_first``), refund-only count)."""
    log = tx._log
    by_name = per.resolve_by(tx, by)
    if by_name is None and not need_first:
        return None, None, None, None, 0
    first, group, n_refund_only = _core.cohort_first(
        None, log.day, log.amount, log.channel if by_name else None, tx.n_customers,
        end_day, log.offsets)
    if by_name is None:
        return None, None, None, first, int(n_refund_only)
    return group, log.channel_labels, by_name, first, int(n_refund_only)


def _check_buckets(what: str, n_groups: int, nb: int, lo: int, hi: int, code: str) -> None:
    """A clear error before allocating when n_groups x periods would be too big."""
    coarser = [p for p in "DWMQY"[("DWMQY".index(code) + 1):]
               if per.table_bytes(n_groups * (per.period_of(hi, p) - per.period_of(lo, p) + 1),
                                  _BUCKET_BYTES) <= per.MAX_TABLE_BYTES]
    per.check_table_size(f"{what}(period={per.show(code)})", (n_groups, nb), _BUCKET_BYTES,
                         ([f"a longer period, period={per.show(coarser[0])}"] if coarser else [])
                         + ["a later start= or an earlier end= (fewer periods)"])


def _period_bounds(p0: int, n: int, code: str) -> tuple[np.ndarray, np.ndarray]:
    """First and last day of the periods p0 .. p0 + n - 1."""
    starts = _core.period_start(np.arange(p0, p0 + n + 1, dtype=np.int64),
                                inp.PERIOD_CODES[code])
    return starts[:-1], starts[1:] - 1


def _period_labels(p0: int, n: int, code: str, name: str) -> pd.PeriodIndex:
    return per.period_labels(np.arange(p0, p0 + n, dtype=np.int64), code).rename(name)


def _rows_index(inner: pd.Index, group_labels: pd.Index | None, by_name: str | None) -> pd.Index:
    if by_name is None:
        return inner
    return pd.MultiIndex.from_product([group_labels, inner], names=[by_name, inner.name])


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    return np.divide(num, den, out=np.full(num.shape, np.nan), where=den > 0)


def _pooled(num: np.ndarray, den: np.ndarray, keep: np.ndarray) -> float:
    d = float(np.sum(den[keep]))
    return float(np.sum(num[keep])) / d if d > 0 else float("nan")


def _log_span(tx: "Transactions") -> tuple[int, int]:
    if not tx.n_rows:
        return 0, -1
    return int(tx._log.day.min()), int(tx._log.day.max())


# ---------------------------------------------------------------------------- 复购率
def repeat_rate(tx: "Transactions", start: Any = None, end: Any = None, same_day: str = "merge",
                by: str | None = None, period: str | None = None,
                lang: str = "en") -> pd.DataFrame:
    """复购率 repeat-purchase rate: share of a window's buyers who bought again in it.

    A customer *bought* in the window ``[start, end]`` (both days included) with at
    least one purchase (row with amount >= 0) dated in it; they *repeated* with at
    least two purchase units in it.  A unit is an occasion (a calendar day with a
    purchase: same-day orders merge) with ``same_day="merge"``, or an order (a row)
    with ``same_day="orders"``.  Refunds are never purchases.  Purchases outside the
    window do not count: a customer who bought once before the window and once in it
    is a buyer who did not repeat.

    - customer rate ``rate`` = repeat buyers ÷ buyers;
    - order rate ``order_rate`` = repeat orders ÷ orders, where repeat orders are the
      units beyond each buyer's first (orders − buyers).

    This is the operators' 复购率 and differs from :meth:`~siyu.Transactions.repurchase`
    (second purchase within k days of the customer's *first* purchase ever, over the
    customers for whom k days are observable): here only the window matters.

    Parameters
    ----------
    tx : Transactions
        The log (called as ``tx.repeat_rate(...)``).
    start, end : date-like, optional
        First and last day of the window (inclusive); default the log's first and
        last day.
    same_day : {"merge", "orders"}, default "merge"
        What counts as a second purchase: another day (``"merge"``) or another order,
        even on the same day (``"orders"``).
    by : str, optional
        Split by acquisition channel (the ``channel=`` column of Transactions, taken
        from the customer's first purchase row).
    period : {"D", "W", "M", "Q", "Y"}, optional
        One window per calendar period (weeks start on Monday) between ``start`` and
        ``end`` instead of the whole window: the monthly 复购率 of a dashboard.  A
        customer repeats within a period only with two units in that period.
    lang : {"en", "zh"}, default "en"
        Language of the ``all`` row label.

    Returns
    -------
    pandas.DataFrame
        Columns ``buyers``, ``repeat_buyers``, ``rate``, ``orders``,
        ``repeat_orders``, ``order_rate`` (rates NaN without buyers) and ``partial``
        (True when the window or period is not wholly inside the log's first..last day
        or, with ``period=``, when ``start``/``end`` cut the period: such rows undercount
        repeats and should not be headlined).  Indexed by one row ``all`` (全部), by
        channel with ``by=``, by period (``PeriodIndex`` named ``period``) with
        ``period=``, or by (channel, period).  ``attrs``: ``start``, ``end``,
        ``same_day``, ``period``, ``by``, ``lang``, ``metric``.

    Raises
    ------
    ValueError
        ``start`` after ``end``, an unknown ``same_day``, ``period`` or ``by``.

    Examples
    --------
    >>> import pandas as pd, siyu
    >>> df = pd.DataFrame({"id": [1, 1, 1, 2, 2, 3],
    ...                    "t": ["2024-01-03", "2024-01-03", "2024-01-20", "2024-01-05",
    ...                          "2024-01-05", "2023-12-30"],
    ...                    "amount": [10.0, 5.0, 8.0, 9.0, 4.0, 7.0]})
    >>> tx = siyu.Transactions(df, customer="id", time="t", amount="amount")
    >>> r = tx.repeat_rate("2024-01-01", "2024-01-31")
    >>> r[["buyers", "repeat_buyers", "rate", "orders", "repeat_orders"]].values.tolist()
    [[2.0, 1.0, 0.5, 3.0, 1.0]]
    >>> float(tx.repeat_rate("2024-01-01", "2024-01-31", same_day="orders")["rate"].iloc[0])
    1.0
    """
    lang = check_lang(lang)
    if not isinstance(same_day, str) or same_day not in _SAME_DAY:
        raise ValueError(f"same_day must be 'merge' (same-day orders are one purchase) or "
                         f"'orders' (every order counts), got {per.show(same_day)}")
    lo_log, hi_log = _log_span(tx)
    lo = inp.to_day(start, "start") if start is not None else lo_log
    hi = inp.to_day(end, "end") if end is not None else hi_log
    if start is None and end is None and not tx.n_rows:
        raise ValueError("the log is empty; pass start= and end= explicitly")
    if lo > hi:
        raise ValueError(f"start ({_date(lo)}) is after end ({_date(hi)}); pass start <= end, "
                         f"e.g. start='{_date(hi)}', end='{_date(lo)}'")
    code = None if period is None else inp.period_code(period, "DWMQY", "period")
    group, glabels, by_name, _, _ = _groups(tx, by, hi)
    n_groups = 1 if group is None else max(len(glabels), 1)
    if code is None:
        p0, nb, pcode = 0, 1, _WINDOW
        first = np.array([lo], np.int64)
        last = np.array([hi], np.int64)
        partial = (first < lo_log) | (last > hi_log)
        inner = pd.Index([text("metrics.all", lang)], name="window")
    else:
        p0 = per.period_of(lo, code)
        nb = per.period_of(hi, code) - p0 + 1
        _check_buckets("repeat_rate", n_groups, nb, lo, hi, code)
        pcode = inp.PERIOD_CODES[code]
        first, last = _period_bounds(p0, nb, code)
        partial = ((first < max(lo, lo_log)) | (last > min(hi, hi_log)))
        inner = _period_labels(p0, nb, code, "period")
    log = tx._log
    buyers, rep, units, _ = _core.metric_periods(
        log.cust, log.day, log.amount, tx.n_customers, group, n_groups, lo, hi, pcode, p0, nb,
        same_day == "orders")
    buyers, rep, units = buyers.ravel(), rep.ravel(), units.ravel()
    extra = units - buyers
    out = pd.DataFrame({
        "buyers": buyers, "repeat_buyers": rep, "rate": _ratio(rep, buyers),
        "orders": units, "repeat_orders": extra, "order_rate": _ratio(extra, units),
        "partial": np.tile(partial, n_groups),
    }, index=glabels.rename(by_name) if code is None and by_name else
        _rows_index(inner, glabels, by_name))
    out.attrs.update(metric="repeat_rate", start=inp.day_to_timestamp(lo),
                     end=inp.day_to_timestamp(hi), same_day=same_day, period=code, by=by_name,
                     lang=lang)
    return out


# ---------------------------------------------------------------------------- 回购率
def return_rate(tx: "Transactions", period: str = "M", by: str | None = None, start: Any = None,
                end: Any = None, lang: str = "en") -> pd.DataFrame:
    """回购率 return rate: of the customers who bought in period t, the share who buy
    again in period t + 1; one row per calendar period t.

    A customer bought in a period with at least one purchase (row with amount >= 0)
    dated in it; refunds never count.  ``rate[t]`` = (customers with a purchase in
    both t and t + 1) ÷ (customers with a purchase in t).  It differs from
    :meth:`~siyu.Transactions.retention` and the cohort tables, which follow the
    customers *acquired* in a period: here every buyer of period t counts, however
    long they have been a customer.

    Parameters
    ----------
    tx : Transactions
        The log (called as ``tx.return_rate(...)``).
    period : {"D", "W", "M", "Q", "Y"}, default "M"
        Calendar period (weeks start on Monday).
    by : str, optional
        Split by acquisition channel (channel of the customer's first purchase row).
    start, end : date-like, optional
        First and last day considered (default the log's first and last day).
    lang : {"en", "zh"}, default "en"
        Accepted for symmetry with the other metrics (labels are periods).

    Returns
    -------
    pandas.DataFrame
        Indexed by period t (``PeriodIndex`` named ``period``; (channel, period) with
        ``by=``), columns ``buyers`` (in t), ``returned`` (of them, buying in t + 1),
        ``rate`` and ``partial``.  ``partial`` is True when period t or t + 1 is not
        wholly observed (cut by ``end``, or by ``start`` when given): the last row
        (t + 1 after ``end``: rate NaN) and, when ``end`` is not a period's last day,
        the row before it, whose t + 1 is a partial period (its rate is biased low).
        ``end`` is taken as the last day observed, even after the log's last row.  Flagged
        rows are kept but left out of ``attrs["pooled_rate"]`` (returned ÷ buyers
        over the other rows).  ``attrs``: ``period``, ``start``, ``end``, ``by``,
        ``pooled_rate``, ``metric``.

    Examples
    --------
    >>> import pandas as pd, siyu
    >>> df = pd.DataFrame({"id": [1, 1, 2, 2, 3],
    ...                    "t": ["2024-01-05", "2024-02-10", "2024-01-09", "2024-03-01",
    ...                          "2024-02-20"],
    ...                    "amount": 10.0})
    >>> tx = siyu.Transactions(df, customer="id", time="t", amount="amount")
    >>> r = tx.return_rate(end="2024-03-31")
    >>> r[["buyers", "returned", "rate"]].to_dict("list")
    {'buyers': [2, 2, 1], 'returned': [1, 0, 0], 'rate': [0.5, 0.0, nan]}
    >>> r["partial"].tolist()
    [False, False, True]
    """
    check_lang(lang)
    code = inp.period_code(period, "DWMQY", "period")
    lo_log, hi_log = _log_span(tx)
    hi = tx._end_day(end, "end")
    lo = inp.to_day(start, "start") if start is not None else lo_log
    if lo > hi:
        raise ValueError(f"start ({_date(lo)}) is after end ({_date(hi)}); pass start <= end")
    group, glabels, by_name, _, _ = _groups(tx, by, hi)
    n_groups = 1 if group is None else max(len(glabels), 1)
    p0 = per.period_of(lo, code)
    nb = per.period_of(hi, code) - p0 + 1
    _check_buckets("return_rate", n_groups, nb, lo, hi, code)
    first, last = _period_bounds(p0, nb, code)
    # observed: start (when given; the log's first period is taken as whole) .. end
    cut = (last > hi) if start is None else (first < lo) | (last > hi)
    # row t is partial when t or t + 1 is cut; t + 1 of the last row is unobserved
    partial = cut | np.append(cut[1:], True)
    log = tx._log
    buyers, _, _, returned = _core.metric_periods(
        log.cust, log.day, log.amount, tx.n_customers, group, n_groups, lo, hi,
        inp.PERIOD_CODES[code], p0, nb, False)
    rate = _ratio(returned, buyers)
    rate[:, -1] = np.nan
    buyers, returned, rate = buyers.ravel(), returned.ravel(), rate.ravel()
    flags = np.tile(partial, n_groups)
    out = pd.DataFrame({"buyers": buyers, "returned": returned, "rate": rate,
                        "partial": flags},
                       index=_rows_index(_period_labels(p0, nb, code, "period"), glabels,
                                         by_name))
    out.attrs.update(metric="return_rate", period=code, start=inp.day_to_timestamp(lo),
                     end=inp.day_to_timestamp(hi), by=by_name,
                     pooled_rate=_pooled(returned, buyers, ~flags))
    return out


# ---------------------------------------------------------------------------- 新客复购率
def new_customer_repeat_rate(tx: "Transactions", period: str = "M", within: int | None =
                             _WITHIN_DEFAULT, *, periods: int | None = None, end: Any = None,
                             by: str | None = None, existing_before: Any = None,
                             lang: str = "en") -> pd.DataFrame:
    """新客复购率 new-customer repeat rate: of the customers acquired in period t, the
    share with a second purchase occasion within ``within`` days of the first.

    A customer is acquired on their first purchase (row with amount >= 0) in the log,
    on or before ``end``; their cohort is the calendar period of that day.  They
    *repeated* when their second occasion (the next calendar day with a purchase;
    same-day orders merge, refunds never count) is at most ``within`` days after the
    first, or, with ``periods=n``, falls by the end of period t + n (n = 0: the same
    period).  Every new customer of the cohort is in the denominator.

    **Flagged cohorts.**  A cohort is *partial* when not all its customers can be
    observed for the whole window: its last day + ``within`` is after ``end`` (or, with
    ``periods=n``, period t + n ends after ``end``).  Its rate undercounts and is kept
    out of ``attrs["pooled_rate"]``; headline only the other rows.

    Compared with :meth:`~siyu.Transactions.repurchase` (same second-purchase rule,
    but each customer eligible only once k days after *their own* first purchase are
    observable): on cohorts that are not partial both give the same rate.

    Parameters
    ----------
    tx : Transactions
        The log (called as ``tx.new_customer_repeat_rate(...)``).
    period : {"D", "W", "M", "Q", "Y"}, default "M"
        Cohort period (weeks start on Monday).
    within : int, default 30
        Days after the first purchase (>= 1).  Not used with ``periods=``.
    periods : int, optional
        Count a second occasion by the end of period t + ``periods`` instead
        (``periods=0``: within the acquisition period, 当月复购).
    end : date-like, optional
        Last day observed (default the log's last day).
    by : str, optional
        Split by acquisition channel (channel of the first purchase row).
    existing_before : date-like, optional
        Customers whose first purchase in the log is before this day were acquired
        before the log started (existing customers, not new ones): they are left out
        and counted in ``attrs["n_existing"]``.  Without it, when the first cohort is
        more than twice the median size of the next three (and has at least 10
        customers) a ``UserWarning`` suggests it (a log that starts years into a
        shop's life puts every existing customer in its first cohort).
    lang : {"en", "zh"}, default "en"
        Accepted for symmetry with the other metrics (labels are periods).

    Returns
    -------
    pandas.DataFrame
        Indexed by cohort (``PeriodIndex`` named ``cohort``; (channel, cohort) with
        ``by=``), every period from the first to the last cohort; columns
        ``new_customers``, ``repeated``, ``rate`` (NaN without new customers) and
        ``partial``.  ``attrs``: ``period``, ``within`` (None with ``periods``),
        ``periods``, ``end``, ``by``, ``existing_before``, ``n_existing``,
        ``n_excluded`` (customers with only refunds by ``end``), ``pooled_rate``
        (repeated ÷ new customers over the cohorts that are not partial),
        ``metric``.

    Raises
    ------
    ValueError / TypeError
        Unknown ``period`` or ``by``; ``within`` not a whole number >= 1; ``periods``
        not a whole number >= 0; ``within`` and ``periods`` both given.

    Examples
    --------
    >>> import pandas as pd, siyu
    >>> df = pd.DataFrame({"id": [1, 1, 2, 3, 3],
    ...                    "t": ["2024-01-05", "2024-01-20", "2024-01-28", "2024-02-03",
    ...                          "2024-03-20"],
    ...                    "amount": 10.0})
    >>> tx = siyu.Transactions(df, customer="id", time="t", amount="amount")
    >>> r = tx.new_customer_repeat_rate(within=30, end="2024-04-30")
    >>> r[["new_customers", "repeated", "rate", "partial"]].values.tolist()
    [[2, 1, 0.5, False], [1, 0, 0.0, False]]
    >>> tx.new_customer_repeat_rate(periods=1, end="2024-04-30")["repeated"].tolist()
    [1, 1]
    """
    check_lang(lang)
    code = inp.period_code(period, "DWMQY", "period")
    pcode = inp.PERIOD_CODES[code]
    if periods is not None:
        if within is not _WITHIN_DEFAULT and within is not None:
            raise ValueError("pass either within= (days after the first purchase) or periods= "
                             "(by the end of period t + n), not both")
        n_after = _whole(periods, "periods", 0, "1")
        k_days = None
    else:
        if within is None:
            raise ValueError("within=None needs periods=; pass within=30 (days) or periods=1")
        k_days = _whole(within, "within", 1, "30")
        n_after = None
    end_day = tx._end_day(end, "end")
    group, glabels, by_name, first, n_refund_only = _groups(tx, by, end_day, need_first=True)
    log = tx._log
    second = _core.cohort_second(log.cust, log.day, log.amount, tx.n_customers, end_day, first)
    has = first != _NO_DAY
    n_existing = 0
    eb_day = None
    if existing_before is not None:
        eb_day = inp.to_day(existing_before, "existing_before")
        old = has & (first < eb_day)
        n_existing = int(old.sum())
        has &= ~old
    f = first[has]
    s = second[has]
    g = np.zeros(f.size, np.int64) if group is None else group[has]
    n_groups = 1 if group is None else max(len(glabels), 1)
    if f.size:
        cper = _core.period_index(f, pcode)
        p0 = int(cper.min())
        nb = int(cper.max()) - p0 + 1
        _check_buckets("new_customer_repeat_rate", n_groups, nb, int(f.min()), int(f.max()), code)
    else:
        cper = np.zeros(0, np.int64)
        p0, nb = per.period_of(end_day, code), 0
    if k_days is not None:
        rep = (s != _NO_DAY) & (s - f <= k_days)
    else:
        rep = np.zeros(f.size, bool)
        got = s != _NO_DAY
        rep[got] = _core.period_index(s[got], pcode) <= cper[got] + n_after
    cell = g * nb + (cper - p0)
    size = np.bincount(cell, minlength=n_groups * nb)
    repeated = np.bincount(cell[rep], minlength=n_groups * nb)
    first_days, last_days = _period_bounds(p0, nb, code)
    if k_days is not None:
        partial = last_days + k_days > end_day
    else:
        _, last_after = _period_bounds(p0 + n_after, nb, code)
        partial = last_after > end_day
    flags = np.tile(partial, n_groups)
    if existing_before is None and nb >= 4:
        total = size.reshape(n_groups, nb).sum(axis=0)
        nxt = np.median(total[1:4])
        if total[0] > 2 * nxt and total[0] >= 10:
            warnings.warn(
                f"the first cohort ({inp.day_to_timestamp(first_days[0]).date()}: "
                f"{int(total[0]):,} customers) is more than twice the median size of the next "
                f"three ({nxt:,.0f}): the log probably starts after the shop did, so it holds "
                "customers acquired earlier; pass existing_before='YYYY-MM-DD' (e.g. the "
                "start of the second cohort) to leave them out", UserWarning, stacklevel=3)
    out = pd.DataFrame({"new_customers": size, "repeated": repeated,
                        "rate": _ratio(repeated, size), "partial": flags},
                       index=_rows_index(_period_labels(p0, nb, code, "cohort"), glabels,
                                         by_name))
    out.attrs.update(metric="new_customer_repeat_rate", period=code, within=k_days,
                     periods=n_after, end=inp.day_to_timestamp(end_day), by=by_name,
                     existing_before=None if eb_day is None else inp.day_to_timestamp(eb_day),
                     n_existing=n_existing, n_excluded=n_refund_only,
                     pooled_rate=_pooled(repeated, size, ~flags))
    return out


# ---------------------------------------------------------------------------- RFM 八大类
def _customer_table(tx: "Transactions", as_of_day: int) -> dict[str, np.ndarray]:
    """Per customer with a purchase by as_of_day: days since last, occasions, orders,
    net revenue (None without amounts), and the keep mask over all customers."""
    log = tx._log
    occ, _, lday, _, _, orders, rev, _, _ = _core.summary(
        log.cust, log.day, log.amount, tx.n_customers, inp.PERIOD_CODES["D"],
        np.iinfo(np.int64).min, as_of_day)
    keep = occ > 0
    return {"keep": keep, "R": (as_of_day - lday[keep]).astype(np.int64), "F": occ[keep],
            "orders": orders[keep], "M": None if log.amount is None else rev[keep]}


def _as_of(tx: "Transactions", as_of: Any) -> int:
    if as_of is None and not tx.n_rows:
        raise ValueError("the log is empty; pass as_of= explicitly")
    return tx._end_day(as_of, "as_of")


def _thresholds(threshold: Any, values: dict[str, np.ndarray]) -> dict[str, float]:
    if isinstance(threshold, str):
        spec: dict[str, Any] = {key: threshold for key in "RFM"}
    elif isinstance(threshold, Mapping):
        bad = [key for key in threshold if key not in ("R", "F", "M")]
        if bad:
            raise ValueError(f"threshold keys must be 'R', 'F' and/or 'M'; got {bad}; e.g. "
                             "threshold={'R': 90, 'F': 1.5, 'M': 'median'}")
        spec = {key: threshold.get(key, "mean") for key in "RFM"}
    else:
        raise TypeError(f"threshold must be 'mean', 'median' or a dict such as "
                        f"{{'R': 90, 'F': 1.5, 'M': 500}}; got {per.show(threshold)}")
    out = {}
    for key, rule in spec.items():
        v = values[key]
        if isinstance(rule, str):
            if rule not in ("mean", "median"):
                raise ValueError(f"threshold for {key} must be 'mean', 'median' or a number, "
                                 f"got {per.show(rule)}")
            if v.size == 0:
                out[key] = float("nan")
            elif rule == "mean":
                out[key] = math.fsum(v.tolist()) / v.size
            else:
                out[key] = float(np.median(v))
        elif isinstance(rule, numbers.Real) and not isinstance(rule, (bool, np.bool_)) \
                and math.isfinite(float(rule)):
            out[key] = float(rule)
        else:
            raise TypeError(f"threshold for {key} must be 'mean', 'median' or a finite number, "
                            f"got {per.show(rule)}")
    return out


def rfm8(tx: "Transactions", as_of: Any = None, threshold: Any = "mean",
         lang: str = "en") -> pd.DataFrame:
    """RFM 八大类: eight RFM classes from R, F and M each high or low against a threshold.

    For every customer with a purchase (row with amount >= 0) by ``as_of``:
    R = ``days_since_last`` (whole days from the last purchase to ``as_of``),
    F = ``occasions`` (calendar days with a purchase), M = ``revenue`` (net amount up to
    ``as_of``, refunds subtracted).  Each is compared with its threshold (the mean over
    these customers by default, or the median, or given values):

    - **R is high when the customer bought more recently**: ``days_since_last <``
      threshold (R high = recent);
    - F high when ``occasions >`` threshold; M high when ``revenue >`` threshold.

    **Ties**: a value equal to its threshold is *low* (for R: as many days as the
    threshold is not recent).  M and its threshold are compared rounded to 6
    decimals, so a total equal to the threshold in money is low even when
    floating-point sums differ in the last bits.  With ``threshold="median"`` and
    mostly one-time buyers the F median is 1, so F high means a repeat buyer.  With
    explicit values write the boundary you mean: ``{"F": 1}`` makes two or more
    occasions high, ``{"R": 31}`` makes the last 30 days recent.

    The classes (DESIGN.md section 2c), Chinese / English by ``lang``:
    重要价值客户 important value (R high, F high, M high), 重要发展客户 important to
    develop (R high, F low, M high), 重要保持客户 important to keep (R low, F high,
    M high), 重要挽留客户 important to win back (R low, F low, M high), 一般价值客户
    general value (R high, F high, M low), 一般发展客户 general to develop (R high,
    F low, M low), 一般保持客户 general to keep (R low, F high, M low), 一般挽留客户
    general to win back (R low, F low, M low).

    Called as ``tx.rfm(scheme="8", threshold=...)``.  Unlike the default
    ``tx.rfm()`` (quantile scores 1..5 for each of R, F, M and segments such as
    champions / 冠军客户 chosen from the R and F scores), each variable here is
    only high or low, and the eight classes also use M.

    Parameters
    ----------
    tx : Transactions
        The log; it must have amounts.
    as_of : date-like, optional
        Snapshot day (inclusive); default the log's last day.  Customers without a
        purchase by then are left out (``attrs["n_excluded"]``).
    threshold : "mean", "median" or dict, default "mean"
        One rule for all three, or ``{"R": days, "F": occasions, "M": amount}`` where
        each value is a number or ``"mean"`` / ``"median"``; missing keys use the mean.
    lang : {"en", "zh"}, default "en"
        Language of the class names.

    Returns
    -------
    pandas.DataFrame
        Indexed by customer id: ``days_since_last``, ``occasions``, ``revenue``, ``R``,
        ``F``, ``M`` (1 high, 0 low), ``rfm_code`` (e.g. ``"101"``) and ``segment``
        (ordered Categorical of the eight classes, in the order above).  ``attrs``:
        ``scheme`` ("8"), ``as_of``, ``threshold`` (the rule), ``thresholds`` (the
        values used, {"R", "F", "M"}), ``lang``, ``n_excluded``, ``segmentation``.

    Examples
    --------
    >>> import pandas as pd, siyu
    >>> df = pd.DataFrame({"id": [1, 1, 2, 3, 3, 3],
    ...                    "t": ["2024-06-01", "2024-06-28", "2024-06-25", "2024-01-05",
    ...                          "2024-02-05", "2024-03-05"],
    ...                    "amount": [300.0, 200.0, 80.0, 50.0, 60.0, 40.0]})
    >>> tx = siyu.Transactions(df, customer="id", time="t", amount="amount")
    >>> r = tx.rfm(scheme="8", lang="zh")
    >>> r[["R", "F", "M"]].values.tolist()
    [[1, 0, 1], [1, 0, 0], [0, 1, 0]]
    >>> r["segment"].tolist()
    ['重要发展客户', '一般发展客户', '一般保持客户']
    """
    lang = check_lang(lang)
    if not tx.has_amount:
        raise ValueError("the 8-class RFM needs amounts (M); build Transactions with amount=")
    day = _as_of(tx, as_of)
    c = _customer_table(tx, day)
    # M at micro-unit precision: equal money totals compare equal whatever the
    # floating-point summation order made of their last bits
    values = {"R": c["R"].astype(float), "F": c["F"].astype(float), "M": np.round(c["M"], 6)}
    thr = _thresholds(threshold, values)
    thr["M"] = round(thr["M"], 6) if math.isfinite(thr["M"]) else thr["M"]
    r = (values["R"] < thr["R"]).astype(np.int64)
    f = (values["F"] > thr["F"]).astype(np.int64)
    m = (values["M"] > thr["M"]).astype(np.int64)
    bits = r * 4 + f * 2 + m
    codes = np.array(["000", "001", "010", "011", "100", "101", "110", "111"], dtype=object)
    keep = c["keep"]
    out = pd.DataFrame({"days_since_last": c["R"], "occasions": c["F"], "revenue": c["M"],
                        "R": r, "F": f, "M": m, "rfm_code": codes[bits],
                        "segment": pd.Categorical.from_codes(_RFM8_CODE[bits],
                                                             categories=list(RFM8_LABELS[lang]),
                                                             ordered=True)},
                       index=tx._log.ids[keep])
    out.attrs.update(segmentation="rfm", scheme="8", as_of=inp.day_to_timestamp(day),
                     threshold=threshold if isinstance(threshold, str) else dict(threshold),
                     thresholds=thr, lang=lang, n_excluded=int((~keep).sum()))
    return out


# ---------------------------------------------------------------------------- R×F, R×M
_DEFAULT_EDGES = {"R": (30, 60, 90, 180, 365), "F": (1, 2, 3, 4)}
_VALUES = ("customers", "revenue", "aov")


def _edges(value: Any, key: str, name: str) -> np.ndarray:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise TypeError(f"{name} must be a list of increasing numbers (inclusive upper bounds "
                        f"of the buckets), e.g. {name}={list(_DEFAULT_EDGES.get(key, (100, 500)))}"
                        f"; got {per.show(value)}")
    if hasattr(value, "__len__") and len(value) > 1000:
        raise ValueError(f"{name} has {len(value):,} bounds; at most 1,000 buckets per axis")
    items = list(itertools.islice(iter(value), 1001))     # never more than allowed
    if len(items) > 1000:
        raise ValueError(f"{name} has more than 1,000 bounds; at most 1,000 buckets per axis")
    if not items:
        raise ValueError(f"{name} is empty; give at least one bucket bound, e.g. "
                         f"{name}={list(_DEFAULT_EDGES.get(key, (100, 500)))}")
    for v in items:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real) \
                or not math.isfinite(float(v)):
            raise TypeError(f"{name} must hold finite numbers; got {per.show(v)} in {per.show(items)}")
    if len(items) > 1000:
        raise ValueError(f"{name} has {len(items):,} bounds; at most 1,000 buckets per axis")
    e = np.array([float(v) for v in items])
    if (np.diff(e) <= 0).any():
        raise ValueError(f"{name} must be strictly increasing, e.g. sorted({per.show(items)}) without "
                         f"repeats; got {per.show(items)}")
    if key in "RF":
        if not all(float(v).is_integer() for v in e):
            unit = "days" if key == "R" else "occasions"
            raise ValueError(f"{name} must be whole numbers ({unit}); got {per.show(items)}")
        low = 0 if key == "R" else 1
        if e[0] < low:
            raise ValueError(f"{name} must start at >= {low} (the smallest "
                             f"{'days since the last purchase' if key == 'R' else 'occasions'}); "
                             f"got {per.show(items)}")
    return e


def _bucket_labels(e: np.ndarray, key: str) -> list[str]:
    if key in "RF":
        low = 0 if key == "R" else 1
        bounds = [low - 1] + [int(x) for x in e]
        out = []
        for a, b in zip(bounds[:-1], bounds[1:]):
            out.append(str(b) if a + 1 == b else f"{a + 1}–{b}")
        return out + [f"{bounds[-1] + 1}+"]
    fmt = "{:,.0f}" if all(float(x).is_integer() for x in e) else "{:,.2f}"
    s = [fmt.format(x) for x in e]
    return [f"≤{s[0]}"] + [f"{a}–{b}" for a, b in zip(s[:-1], s[1:])] + [f">{s[-1]}"]


def rfm_matrix(tx: "Transactions", rows: str = "R", cols: str = "F", values: str = "customers",
               r_edges: Sequence[float] = (30, 60, 90, 180, 365),
               f_edges: Sequence[float] = (1, 2, 3, 4), m_edges: Sequence[float] | None = None,
               as_of: Any = None, lang: str = "en") -> pd.DataFrame:
    """R×F or R×M matrix: customers, revenue or average order value per grid cell.

    For every customer with a purchase (row with amount >= 0) by ``as_of``: R =
    ``days_since_last`` (whole days from the last purchase to ``as_of``), F =
    purchase occasions (calendar days with a purchase), M = net revenue up to
    ``as_of`` (refunds subtracted).  Each is put in a bucket by its *edges*, the
    inclusive upper bounds of the buckets, the last bucket open: ``r_edges=(30, 60)``
    gives 0–30, 31–60 and 61+ days; ``f_edges=(1, 2, 3, 4)`` gives 1, 2, 3, 4 and 5+
    occasions; ``m_edges=(100, 500)`` gives ≤100, 100–500 (over 100, at most 500) and
    >500 (M is bucketed rounded to 6 decimals, so a total of exactly 100 in money is in
    ≤100 whatever the last bits of its floating-point sum).

    Parameters
    ----------
    tx : Transactions
        The log (called as ``tx.rfm_matrix(...)``).
    rows, cols : {"R", "F", "M"}, default "R" and "F"
        The variables of the grid's rows and columns (different).
    values : {"customers", "revenue", "aov"}, default "customers"
        Cell value: number of customers, their net revenue, or their average order
        value (net revenue ÷ orders, orders = purchase rows; NaN for an empty cell).
    r_edges, f_edges : increasing whole numbers
        Bucket bounds of R (days, >= 0) and F (occasions, >= 1).
    m_edges : increasing numbers, optional
        Bucket bounds of M; default the quintiles of the customers' net revenue
        (rounded to cents, repeats dropped), so the default grid depends on the data.
    as_of : date-like, optional
        Snapshot day (inclusive); default the log's last day.
    lang : {"en", "zh"}, default "en"
        Language of the axis names.

    Returns
    -------
    pandas.DataFrame
        Rows and columns are the bucket labels in bucket order (every bucket, empty
        ones too), named after the variables (e.g. "R (days since last purchase)").
        Customer counts sum to the number of customers with a purchase by ``as_of``;
        revenue cells sum to their net revenue.  ``attrs``: ``rows``, ``cols``,
        ``values``, ``edges`` ({variable: bounds}), ``as_of``, ``n_customers``,
        ``revenue`` (total, with amounts), ``n_excluded``, ``lang``, ``metric``.

    Raises
    ------
    ValueError / TypeError
        ``rows``/``cols`` not R, F, M or equal; unknown ``values``; M or revenue
        without amounts; edges empty, not numeric, not strictly increasing, not
        whole (R, F) or below the smallest possible value.

    Examples
    --------
    >>> import pandas as pd, siyu
    >>> df = pd.DataFrame({"id": [1, 1, 2, 3, 3, 3],
    ...                    "t": ["2024-06-01", "2024-06-28", "2024-06-25", "2024-01-05",
    ...                          "2024-02-05", "2024-03-05"],
    ...                    "amount": [300.0, 200.0, 80.0, 50.0, 60.0, 40.0]})
    >>> tx = siyu.Transactions(df, customer="id", time="t", amount="amount")
    >>> tx.rfm_matrix(r_edges=(30,), f_edges=(1, 2)).values.tolist()
    [[1, 1, 0], [0, 0, 1]]
    >>> tx.rfm_matrix(cols="M", values="revenue", r_edges=(30,), m_edges=(100,)).values.tolist()
    [[80.0, 500.0], [0.0, 150.0]]
    """
    lang = check_lang(lang)
    for name, v in (("rows", rows), ("cols", cols)):
        if not isinstance(v, str) or v not in ("R", "F", "M"):
            raise ValueError(f"{name} must be 'R', 'F' or 'M', got {per.show(v)}")
    if rows == cols:
        raise ValueError(f"rows and cols must differ (got {per.show(rows)} for both); e.g. rows='R', "
                         "cols='F'")
    if not isinstance(values, str) or values not in _VALUES:
        raise ValueError(f"values must be 'customers', 'revenue' or 'aov' (average order "
                         f"value), got {per.show(values)}")
    needs_amount = "M" in (rows, cols) or values != "customers"
    if needs_amount and not tx.has_amount:
        raise ValueError("M, revenue and aov need amounts; build Transactions with amount=")
    edges = {"R": _edges(r_edges, "R", "r_edges"), "F": _edges(f_edges, "F", "f_edges")}
    if m_edges is not None:
        edges["M"] = _edges(m_edges, "M", "m_edges")
    day = _as_of(tx, as_of)
    c = _customer_table(tx, day)
    if "M" in (rows, cols) and m_edges is None:
        m = c["M"]
        q = np.unique(np.round(np.quantile(m, [0.2, 0.4, 0.6, 0.8]), 2)) if m.size else \
            np.array([0.0])
        edges["M"] = q
    var = {"R": c["R"], "F": c["F"], "M": None if c["M"] is None else np.round(c["M"], 6)}
    bi = np.searchsorted(edges[rows], var[rows], side="left")
    bj = np.searchsorted(edges[cols], var[cols], side="left")
    nr, ncol = edges[rows].size + 1, edges[cols].size + 1
    cell = bi * ncol + bj
    if values == "customers":
        grid = np.bincount(cell, minlength=nr * ncol).astype(np.int64)
    else:
        rev = np.bincount(cell, weights=c["M"], minlength=nr * ncol)
        if values == "revenue":
            grid = rev
        else:
            grid = _ratio(rev, np.bincount(cell, weights=c["orders"], minlength=nr * ncol))
    axis = {key: text(f"metrics.axis.{key}", lang) for key in "RFM"}
    out = pd.DataFrame(grid.reshape(nr, ncol),
                       index=pd.Index(_bucket_labels(edges[rows], rows), name=axis[rows]),
                       columns=pd.Index(_bucket_labels(edges[cols], cols), name=axis[cols]))
    keep = c["keep"]
    out.attrs.update(metric="rfm_matrix", rows=rows, cols=cols, values=values,
                     edges={key: edges[key].tolist() for key in (rows, cols)},
                     as_of=inp.day_to_timestamp(day), n_customers=int(keep.sum()),
                     n_excluded=int((~keep).sum()), lang=lang)
    if tx.has_amount:
        out.attrs["revenue"] = math.fsum(c["M"].tolist())
    return out
