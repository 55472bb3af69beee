"""Customer segments: lifecycle stages, value tiers, RFM, migration and Markov value.

Private-domain (私域) operators run different plays for recent, stable and lapsing
customers (lifecycle), and for one-time, repeat and member customers (value tiers).
This module assigns those segments at any day, follows them over consecutive
calendar periods (migration matrices) and turns a migration matrix into expected
customer value by starting stage (:func:`markov_clv`).

Definitions (DESIGN.md section 2):

- A *purchase* is a row with amount >= 0 (every row when the log has no amounts);
  refunds reduce revenue but never make a customer active.  An *occasion* is a
  calendar day with at least one purchase.
- ``days_since_last`` = whole calendar days from the last purchase to ``as_of``.
- **Lifecycle stage** by ``d = days_since_last`` and ``bounds=(b1, b2)``:
  ``d <= b1`` recent (新交易后), ``b1 < d <= b2`` stable (稳定关系), ``d > b2`` lapsing
  (关系衰退).  Default bounds (30, 180).
- **Value tier**: member (会员用户; a member flag on any row up to ``as_of`` wins),
  else by occasions up to ``as_of``: 1 one-time (已购一次), 2 repeat (复购用户),
  3+ multi-repeat (复购多次); roster ids without a purchase are potential (潜在用户).

Stages and tiers are ordered pandas Categoricals, so they sort in stage order (not
alphabetically) in English and in Chinese.  The heavy parts (stage assignment at
many period ends, quantile binning, transition counting) run in C.
"""
from __future__ import annotations

import html
import itertools
import math
import numbers
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Hashable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from siyu import _core
from siyu import _input as inp
from siyu import _periods as per
from siyu._i18n import LANGS, check_lang, labels, text

if TYPE_CHECKING:  # pragma: no cover
    from siyu.transactions import Transactions

__all__ = ["LIFECYCLE_LABELS", "VALUE_TIER_LABELS", "DEFAULT_RFM_SEGMENTS", "Migration",
           "lifecycle", "value_tiers", "rfm", "stage_summary", "migration", "markov_clv"]

_MODE_LIFECYCLE = 0
_MODE_VALUE_TIER = 1

_STAGE_KEYS = ("stage.recent", "stage.stable", "stage.lapsing")
_TIER_KEYS = ("tier.potential", "tier.one_time", "tier.repeat", "tier.multi_repeat",
              "tier.member")

#: Lifecycle stage labels, in stage order (from the text catalogue ``siyu._i18n``).
LIFECYCLE_LABELS: dict[str, tuple[str, ...]] = {
    lang: tuple(labels(_STAGE_KEYS, lang)) for lang in LANGS}
#: Value tier labels, in tier order.
VALUE_TIER_LABELS: dict[str, tuple[str, ...]] = {
    lang: tuple(labels(_TIER_KEYS, lang)) for lang in LANGS}

#: (catalogue key, R range, F range) of the default RFM segments on a 5-point scale,
#: ranges inclusive.  First match wins; together they cover all 25 (R, F) cells.
_RFM_SEGMENT_KEYS: tuple[tuple[str, tuple[int, int], tuple[int, int]], ...] = (
    ("rfm.champions", (5, 5), (4, 5)),
    ("rfm.loyal", (3, 4), (4, 5)),
    ("rfm.potential_loyalists", (4, 5), (2, 3)),
    ("rfm.new_customers", (5, 5), (1, 1)),
    ("rfm.promising", (4, 4), (1, 1)),
    ("rfm.need_attention", (3, 3), (3, 3)),
    ("rfm.about_to_sleep", (3, 3), (1, 2)),
    ("rfm.cannot_lose", (1, 2), (5, 5)),
    ("rfm.at_risk", (1, 2), (3, 4)),
    ("rfm.hibernating", (1, 2), (1, 2)),
)
#: Default RFM segment map on a 5-point scale: (English, Chinese, R range, F range).
DEFAULT_RFM_SEGMENTS: tuple[tuple[str, str, tuple[int, int], tuple[int, int]], ...] = tuple(
    (text(key, "en"), text(key, "zh"), r, f) for key, r, f in _RFM_SEGMENT_KEYS)

_TIES = {"min": 0, "average": 1, "max": 2}

# markov_clv: longest finite horizon, and the largest condition number of I - P/(1+d)
# whose solve is trusted (relative error about cond * 2.2e-16 <= 1e-7)
_MAX_HORIZON = 10 ** 15
_MAX_COND = 1e9

# a day count longer than any gap between two supported days (years 1..9999)
_NEVER = 1 << 40
# most snapshots migration() takes (one column of its stages frame each)
MAX_SNAPSHOTS = 20_000


# ---------------------------------------------------------------------------- helpers
def _check_bounds(bounds: Any) -> tuple[int, int]:
    try:
        items = list(itertools.islice(iter(bounds), 3))   # never more than needed
    except TypeError:
        raise TypeError(f"bounds must be a pair of day counts such as (30, 180), "
                        f"got {per.show(bounds)}") from None
    if len(items) != 2:
        raise ValueError(f"bounds must have exactly 2 entries (recent/stable and stable/lapsing "
                         f"limits in days), e.g. (30, 180); got {per.show(bounds)}")
    out = []
    for b in items:
        if isinstance(b, (bool, np.bool_)):
            raise TypeError(f"bounds must be whole numbers of days, e.g. (30, 180); got {per.show(bounds)}")
        if not isinstance(b, numbers.Integral):
            if isinstance(b, numbers.Real) and float(b).is_integer():
                b = int(b)
            else:
                raise TypeError(f"bounds must be whole numbers of days, e.g. (30, 180); "
                                f"got {per.show(bounds)}")
        out.append(int(b))
    if out[0] < 1 or out[1] <= out[0]:
        raise ValueError(f"bounds must be strictly increasing positive day counts, e.g. "
                         f"(30, 180); got {tuple(out)}")
    # no gap between two days of the supported calendar exceeds _NEVER: a larger bound
    # means the same (that stage is never left), so it is clipped, order kept
    return min(out[0], _NEVER - 1), min(out[1], _NEVER)


def _as_of_day(tx: "Transactions", as_of: Any) -> int:
    """Resolve ``as_of`` to a day; before the first row of the log is an error."""
    if as_of is not None:
        try:
            inp.to_day(as_of, "as_of")
        except ValueError as exc:
            raise ValueError(f"{exc}; pass a date such as '2024-06-30' or a pandas "
                             "Timestamp") from None
    # the range check (and the default) is the log's own, as for end=
    return tx._end_day(as_of, "as_of")


def _sweep(tx: "Transactions", ends: Any, mode: int, bounds: Sequence[int] = (),
           with_stages: bool = True) -> tuple[Any, ...]:
    """C sweep: (stages (m, k) int8 or None, last_day, occasions, revenue or None,
    member_day), the last four being each customer's state at ends[-1]."""
    log = tx._log
    return _core.segment_sweep(log.cust, log.day, log.amount, log.member, tx.n_customers,
                               np.ascontiguousarray(ends, dtype=np.int64), mode,
                               np.asarray(bounds, dtype=np.int64), with_stages)


def _categorical(codes: np.ndarray, labels: Sequence[str]) -> pd.Categorical:
    return pd.Categorical.from_codes(np.asarray(codes, dtype=np.int64), categories=list(labels),
                                     ordered=True)


def _picker(keep: np.ndarray) -> Callable[[Any], Any]:
    """``x[keep]``, or ``x`` itself when every entry is kept (no copy of 2M-row arrays)."""
    if keep.all():
        return lambda x: x
    return lambda x: x[keep]


def _index_name(tx: "Transactions") -> Any:
    return tx._log.ids.name


# ---------------------------------------------------------------------------- lifecycle
def lifecycle(tx: "Transactions", as_of: Any = None, bounds: Sequence[int] = (30, 180),
              lang: str = "en") -> pd.DataFrame:
    """Lifecycle stage (recent / stable / lapsing) of every customer at ``as_of``.

    The stage depends on ``d``, the whole calendar days from the customer's last
    purchase (row with amount >= 0) on or before ``as_of`` to ``as_of``:
    ``d <= bounds[0]`` recent (新交易后), ``bounds[0] < d <= bounds[1]`` stable
    (稳定关系), ``d > bounds[1]`` lapsing (关系衰退).  With the default bounds a
    customer who last bought 30 days ago is recent, 31 days ago stable, 180 days ago
    stable and 181 days ago lapsing.  Rows after ``as_of`` are ignored; customers
    whose first purchase is after ``as_of`` (or who only have refunds) are left out
    and counted in ``attrs["n_excluded"]``.  "Recent" means *bought recently*, not
    "newly acquired" (newly acquired customers are what the cohorts and
    :func:`siyu.metrics.new_customer_repeat_rate` count).

    Parameters
    ----------
    tx : Transactions
        The log (called as ``tx.lifecycle(...)``).
    as_of : date-like, optional
        Snapshot day (inclusive).  Defaults to the last day in the log.  A day before
        the first purchase in the log is an error.
    bounds : pair of int, default (30, 180)
        Strictly increasing positive day limits of the recent and stable stages.
    lang : {"en", "zh"}, default "en"
        Stage labels in English or Chinese.

    Returns
    -------
    pandas.DataFrame
        Indexed by customer id (customers with a purchase by ``as_of``), columns
        ``days_since_last`` (int), ``last_purchase`` (date), ``occasions`` (int),
        ``revenue`` (net amount up to ``as_of``; only with amounts) and ``stage``
        (ordered Categorical recent < stable < lapsing).  A frame rather than a Series,
        so that :func:`stage_summary` can report revenue and mean days per stage.
        ``attrs``: ``as_of``, ``bounds``, ``lang``, ``n_excluded``, ``segmentation``.

    Raises
    ------
    ValueError
        ``bounds`` not two strictly increasing positive integers, ``as_of``
        unparseable or before the first purchase, unknown ``lang``.

    Examples
    --------
    >>> import pandas as pd, siyu
    >>> df = pd.DataFrame({"id": ["a", "b", "c"],
    ...                    "t": ["2024-06-30", "2024-05-01", "2023-01-01"],
    ...                    "amount": [10.0, 20.0, 5.0]})
    >>> tx = siyu.Transactions(df, customer="id", time="t", amount="amount")
    >>> lc = tx.lifecycle(as_of="2024-06-30")
    >>> lc["stage"].tolist()
    ['recent', 'stable', 'lapsing']
    >>> lc["days_since_last"].tolist()
    [0, 60, 546]
    """
    b = _check_bounds(bounds)
    lang = check_lang(lang)
    day = _as_of_day(tx, as_of)
    stages, lday, occ, rev, _ = _sweep(tx, [day], _MODE_LIFECYCLE, b)
    codes = stages[0]
    keep = occ > 0
    pick = _picker(keep)
    lday = pick(lday)
    cols: dict[str, Any] = {
        "days_since_last": day - lday,
        "last_purchase": inp.days_to_dates(lday),
        "occasions": pick(occ),
    }
    if tx.has_amount:
        cols["revenue"] = pick(rev)
    cols["stage"] = _categorical(pick(codes), LIFECYCLE_LABELS[lang])
    # fresh arrays: no copy (the frame owns them)
    out = pd.DataFrame(cols, index=pick(tx._log.ids), copy=False)
    out.attrs.update(segmentation="lifecycle", as_of=inp.day_to_timestamp(day), bounds=b,
                     lang=lang, n_excluded=int((~keep).sum()))
    return out


# ---------------------------------------------------------------------------- value tiers
def _roster_index(roster: Any) -> pd.Index:
    if isinstance(roster, range):
        return pd.RangeIndex(roster.start, roster.stop, roster.step).unique()
    if isinstance(roster, (str, bytes)):
        raise TypeError("roster must be an iterable of customer ids (e.g. a list or a "
                        "pandas Series), not a single string")
    try:
        idx = pd.Index(roster if isinstance(roster, (pd.Index, pd.Series, np.ndarray))
                       else list(roster))
    except TypeError:
        raise TypeError(f"roster must be an iterable of customer ids, got "
                        f"{type(roster).__name__}") from None
    if idx.nlevels != 1:
        raise TypeError("roster must be a flat iterable of customer ids")
    try:
        uniq = idx.unique()
        if uniq.dtype == object:           # pandas 3's unique() accepts unhashable values
            pd.unique(uniq.to_numpy())
    except TypeError:
        bad = next((v for v in idx if not isinstance(v, Hashable)), None)
        raise TypeError(f"roster must hold customer ids (numbers or strings), one per entry; "
                        f"it holds {type(bad).__name__} values such as {per.show(bad)}"
                        + (" (a list of lists: pass the flat list, e.g. "
                           f"roster={list(bad)!r})" if isinstance(bad, (list, tuple)) else "")
                        ) from None
    if uniq.isna().any():
        raise ValueError(f"roster has {int(idx.isna().sum())} missing id(s); drop them first, "
                         "e.g. roster=ids.dropna()")
    return uniq


def value_tiers(tx: "Transactions", as_of: Any = None, roster: Iterable[Any] | None = None,
                lang: str = "en") -> pd.DataFrame:
    """Value tier (potential / one-time / repeat / multi-repeat / member) per customer.

    Up to ``as_of`` (rows after it are ignored): a customer with a member flag on
    any row (the ``member`` column given to :class:`Transactions`) is a member
    (会员用户) whatever their purchases; otherwise the tier follows the number of
    purchase occasions (calendar days with a row of amount >= 0): 1 one-time
    (已购一次), 2 repeat (复购用户), 3 or more multi-repeat (复购多次).  Ids of
    ``roster`` with no purchase by ``as_of`` (and no member flag) are potential
    (潜在用户).  Customers of the log with no purchase by ``as_of`` who are not in
    the roster are left out and counted in ``attrs["n_excluded"]``.

    Pass the result to :func:`stage_summary` for counts, revenue and revenue share
    per tier.

    Parameters
    ----------
    tx : Transactions
        The log (called as ``tx.value_tiers(...)``).
    as_of : date-like, optional
        Snapshot day (inclusive); defaults to the last day in the log.
    roster : iterable of customer ids, optional
        The whole customer list (e.g. followers of the official account).  Ids must
        have the same type as the log's customer ids.
    lang : {"en", "zh"}, default "en"
        Tier labels in English or Chinese.

    Returns
    -------
    pandas.DataFrame
        Indexed by customer id, columns ``occasions`` (int), ``revenue`` (only with
        amounts), ``member`` (bool), ``days_since_last`` (nullable Int64; missing for
        customers without a purchase) and ``tier`` (ordered Categorical potential <
        one-time < repeat < multi-repeat < member).  Log customers come first (in id
        order), then roster-only ids.  ``attrs``: ``as_of``, ``lang``,
        ``n_excluded``, ``n_roster``, ``n_potential``, ``segmentation``.

    Examples
    --------
    >>> import pandas as pd, siyu
    >>> df = pd.DataFrame({"id": [1, 2, 2, 3, 3, 3, 4],
    ...                    "t": ["2024-01-01", "2024-01-01", "2024-02-01", "2024-01-01",
    ...                          "2024-02-01", "2024-03-01", "2024-03-01"],
    ...                    "amount": [5.0, 5.0, 5.0, 5.0, 5.0, 5.0, 50.0],
    ...                    "vip": [0, 0, 0, 0, 0, 0, 1]})
    >>> tx = siyu.Transactions(df, customer="id", time="t", amount="amount", member="vip")
    >>> vt = tx.value_tiers(roster=[1, 2, 3, 4, 5])
    >>> vt["tier"].astype(str).to_dict()
    {1: 'one-time', 2: 'repeat', 3: 'multi-repeat', 4: 'member', 5: 'potential'}
    >>> siyu.segments.stage_summary(vt)["customers"].tolist()
    [1, 1, 1, 1, 1]
    """
    lang = check_lang(lang)
    day = _as_of_day(tx, as_of)
    stages, lday, occ, rev, _ = _sweep(tx, [day], _MODE_VALUE_TIER)
    codes = stages[0].astype(np.int64)
    ids = tx._log.ids
    present = codes >= 0
    tier = np.where(present, codes + 1, 0)          # 0 = potential
    roster_ids = None
    in_roster = np.zeros(ids.size, dtype=bool)
    if roster is not None:
        roster_ids = _roster_index(roster)
        in_roster = ids.isin(roster_ids)
        if (roster_ids.size and ids.size and not in_roster.any()
                and roster_ids.dtype.kind != ids.dtype.kind):
            warnings.warn(f"no roster id matches a customer id of the log and the id types "
                          f"differ ({roster_ids.dtype} vs {ids.dtype}); check that the "
                          "roster holds the same ids (and id type) as the customer column",
                          UserWarning, stacklevel=3)
    keep = present | in_roster
    member = np.zeros(ids.size, dtype=bool)
    if tx._log.member is not None:
        member = codes == 3
    bought = occ > 0
    pick = _picker(keep)
    dsl = pd.arrays.IntegerArray(pick(day - np.where(bought, lday, day)),   # no INT64_MIN overflow
                                 pick(~bought))
    labels_ = VALUE_TIER_LABELS[lang]
    cols: dict[str, Any] = {"occasions": pick(occ)}
    if tx.has_amount:
        cols["revenue"] = pick(rev)
    cols["member"] = pick(member)
    cols["days_since_last"] = dsl
    cols["tier"] = _categorical(pick(tier), labels_)
    # fresh arrays of distinct dtypes: the frame takes them without a copy
    out = pd.DataFrame(cols, index=pick(ids), copy=False)
    n_roster = 0
    if roster_ids is not None:
        n_roster = int(roster_ids.size)
        extra = roster_ids.difference(ids, sort=False) if ids.size else roster_ids
        if extra.size:
            add: dict[str, Any] = {"occasions": np.zeros(extra.size, np.int64)}
            if tx.has_amount:
                add["revenue"] = np.zeros(extra.size)
            add["member"] = np.zeros(extra.size, bool)
            add["days_since_last"] = pd.array([pd.NA] * extra.size, dtype="Int64")
            add["tier"] = _categorical(np.zeros(extra.size, np.int64), labels_)
            out = pd.concat([out, pd.DataFrame(add, index=extra)])
    out.index.name = _index_name(tx)
    out.attrs.update(segmentation="value_tiers", as_of=inp.day_to_timestamp(day), lang=lang,
                     n_excluded=int((~keep).sum()), n_roster=n_roster,
                     n_potential=int((out["tier"].cat.codes == 0).sum()))
    return out


# ---------------------------------------------------------------------------- summary
def stage_summary(data: Any, by: str | None = None, **kwargs: Any) -> pd.DataFrame:
    """Customers, share, revenue and mean days since last purchase per stage.

    Parameters
    ----------
    data : pandas.DataFrame or Transactions
        The output of :func:`lifecycle`, :func:`value_tiers` or :func:`rfm`; or a
        :class:`Transactions`, in which case ``lifecycle(data, **kwargs)`` is used.
    by : str, optional
        The Categorical column to group by; default the first of ``stage``,
        ``tier``, ``segment`` present.
    **kwargs
        Passed to :func:`lifecycle` when ``data`` is a Transactions.

    Returns
    -------
    pandas.DataFrame
        One row per stage, in stage order and including empty stages (0
        customers), columns ``customers``, ``share`` (of customers),
        ``revenue`` and ``revenue_share`` (when the frame has revenue), and
        ``mean_days_since_last`` (when it has ``days_since_last``; NaN for stages
        without purchases, e.g. potential).  ``attrs`` are carried over.

    Examples
    --------
    >>> import pandas as pd, siyu
    >>> df = pd.DataFrame({"id": [1, 2, 3], "t": ["2024-06-30", "2024-06-01", "2023-01-01"],
    ...                    "amount": [10.0, 20.0, 70.0]})
    >>> tx = siyu.Transactions(df, customer="id", time="t", amount="amount")
    >>> s = siyu.segments.stage_summary(tx.lifecycle())
    >>> s[["customers", "revenue_share"]].to_dict("list")
    {'customers': [2, 0, 1], 'revenue_share': [0.3, 0.0, 0.7]}
    """
    from siyu.transactions import Transactions

    if type(data).__module__.split(".")[0] == "dask" or \
            type(data).__module__.startswith("siyu.dask"):
        from siyu.dask import stage_summary as distributed_stage_summary   # optional extra

        return distributed_stage_summary(data, by=by, **kwargs)
    if isinstance(data, Transactions):
        data = lifecycle(data, **kwargs)
    elif kwargs:
        raise TypeError(f"unexpected argument(s) {', '.join(kwargs)}: they are only used when "
                        "data is a Transactions")
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be the DataFrame returned by lifecycle(), value_tiers() or "
                        f"rfm(), or a Transactions; got {type(data).__name__}")
    if by is None:
        by = next((c for c in ("stage", "tier", "segment") if c in data.columns), None)
        if by is None:
            raise ValueError("no 'stage', 'tier' or 'segment' column found; pass by= with the "
                             "name of the Categorical column to summarise")
    elif not isinstance(by, Hashable) or isinstance(by, (list, np.ndarray)) \
            or by not in data.columns:
        raise ValueError(f"by={per.show(by)} is not a column of data; columns are {list(data.columns)}, "
                         "e.g. by='stage'")
    key = data[by]
    if not isinstance(key.dtype, pd.CategoricalDtype):
        key = key.astype("category")
    g = data.groupby(key, observed=False, sort=True)
    has_days = "days_since_last" in data.columns
    return stage_summary_from_sums(
        g.size(), g["revenue"].sum() if "revenue" in data.columns else None,
        g["days_since_last"].sum() if has_days else None,
        g["days_since_last"].count() if has_days else None, by, data.attrs)


def stage_summary_from_sums(customers: pd.Series, revenue: pd.Series | None,
                            days_sum: pd.Series | None, days_count: pd.Series | None,
                            by: str, attrs: Mapping[str, Any]) -> pd.DataFrame:
    """The :func:`stage_summary` table from per-stage customer counts and sums (its last
    step; the sums of several parts of a frame can be added up first)."""
    n = customers.astype(np.int64)
    total = int(n.sum())
    out = pd.DataFrame({"customers": n})
    out["share"] = n / total if total else np.nan
    if revenue is not None:
        rev = revenue.astype(float)
        out["revenue"] = rev
        tot = float(rev.sum())
        out["revenue_share"] = rev / tot if tot != 0 else np.nan
    if days_sum is not None and days_count is not None:
        cnt = days_count.astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            out["mean_days_since_last"] = np.where(cnt > 0, days_sum.astype(float) / cnt, np.nan)
    out.index.name = by
    out.attrs.update(attrs)
    return out


# ---------------------------------------------------------------------------- RFM
def _check_bins(bins: Any) -> int:
    if isinstance(bins, (bool, np.bool_)) or not isinstance(bins, numbers.Integral):
        raise TypeError(f"bins must be an integer >= 2 (e.g. 5), got {per.show(bins)}")
    bins = int(bins)
    if bins < 2:
        raise ValueError(f"bins must be >= 2 (e.g. 5 for quintile scores), got {bins}")
    if bins > 100:
        raise ValueError(f"bins must be <= 100, got {bins}")
    return bins


def _range(value: Any, bins: int, name: str) -> tuple[int, int]:
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        lo = hi = int(value)
    else:
        try:
            lo, hi = (int(v) for v in value)
        except (TypeError, ValueError):
            raise TypeError(f"segment_map entry {per.show(name)}: ranges must be an int or an "
                            f"inclusive (low, high) pair, got {per.show(value)}") from None
    if not (1 <= lo <= hi <= bins):
        raise ValueError(f"segment_map entry {per.show(name)}: range {per.show(value)} must satisfy "
                         f"1 <= low <= high <= bins ({bins})")
    return lo, hi


def _segment_table(segment_map: Any, bins: int, lang: str) -> tuple[np.ndarray, list[str]]:
    """Lookup table [R-1, F-1] -> segment code, and the segment names."""
    if segment_map is None:
        # score -> 1..5 linearly, ends to ends: 1 + round((s - 1) * 4 / (bins - 1))
        scale = 1 + np.floor((np.arange(bins) * 4) / (bins - 1) + 0.5).astype(int)
        entries = []
        for key, (rl, rh), (fl, fh) in _RFM_SEGMENT_KEYS:
            rs = np.flatnonzero((scale >= rl) & (scale <= rh)) + 1
            fs = np.flatnonzero((scale >= fl) & (scale <= fh)) + 1
            name = text(key, lang)
            entries.append((name, (int(rs.min()), int(rs.max())) if rs.size else None,
                            (int(fs.min()), int(fs.max())) if fs.size else None))
    else:
        if not isinstance(segment_map, Mapping):
            raise TypeError("segment_map must be a dict {name: (R range, F range)}, e.g. "
                            "{'best': ((4, 5), (4, 5)), 'rest': ((1, 5), (1, 5))}")
        entries = []
        for name, spec in segment_map.items():
            try:
                r, f = spec
            except (TypeError, ValueError):
                raise TypeError(f"segment_map entry {per.show(name)} must be a pair (R range, F range), "
                                f"got {per.show(spec)}") from None
            entries.append((str(name), _range(r, bins, str(name)), _range(f, bins, str(name))))
    names = [e[0] for e in entries]
    if len(set(names)) != len(names):
        raise ValueError("segment_map names must be unique")
    table = np.full((bins, bins), -1, dtype=np.int64)
    for code, (_, r, f) in enumerate(entries):
        if r is None or f is None:
            continue
        sub = table[r[0] - 1:r[1], f[0] - 1:f[1]]
        sub[sub < 0] = code                      # first match wins
    if (table < 0).any():
        other = text("word.other", lang)
        if other in names:
            other = text("segments.unmatched", lang, other=other)
        table[table < 0] = len(names)
        names.append(other)
    return table, names


def rfm(tx: "Transactions", as_of: Any = None, bins: int = 5, lang: str = "en",
        segment_map: Mapping[str, Any] | None = None, ties: str = "min",
        scheme: str = "scores", threshold: Any = "mean") -> pd.DataFrame:
    """RFM table: days since last purchase, occasions, revenue, scores and segments.

    Two schemes: ``scheme="scores"`` (default, described here) scores R, F and M
    1..``bins`` by quantiles; ``scheme="8"`` is the Chinese operators' RFM 八大类, each
    of R, F, M high or low against ``threshold`` (mean, median or given values), in
    eight classes 重要价值客户 ... 一般挽留客户: see :func:`siyu.metrics.rfm8` for its
    definition, ties and columns.

    For every customer with a purchase by ``as_of``: R = ``days_since_last`` (whole
    days from last purchase to ``as_of``), F = purchase ``occasions`` (calendar days
    with a row of amount >= 0), M = net ``revenue`` up to ``as_of`` (refunds
    included).  Each is scored 1..``bins`` by quantile bins, higher = better: the
    *most recent* customers get the highest R score.

    **Ties (deterministic).**  Customers are ranked by value (for R by
    ``-days_since_last``); every block of equal values gets one rank ``r`` — its
    first 1-based position with ``ties="min"`` (default), the mean of its first and
    last with ``"average"``, its last with ``"max"`` — and
    ``score = ceil(r * bins / n)`` in exact integer arithmetic.  Equal values thus
    always share a score, larger values never score lower, and the result does not
    depend on row order.  With ``"min"`` a large block at the bottom (e.g. the many
    one-time buyers) scores 1 and bins above it may stay empty.  Revenue is ranked
    rounded to 6 decimals, so equal money totals tie even when floating-point sums
    of their rows differ in the last bits.

    **Segments** come from the R and F scores.  The default map (English or Chinese
    by ``lang``), on the 5-point scale (other ``bins`` are rescaled with
    ``1 + round((score - 1) * 4 / (bins - 1))``, half up), is :data:`DEFAULT_RFM_SEGMENTS`:
    champions 冠军客户 (R5, F4-5), loyal 忠诚客户 (R3-4, F4-5), potential
    loyalists 潜力客户 (R4-5, F2-3), new customers 新客户 (R5, F1), promising
    有潜力新客 (R4, F1), need attention 需要关注 (R3, F3), about to sleep 即将沉睡
    (R3, F1-2), cannot lose them 不能流失 (R1-2, F5), at risk 流失风险 (R1-2, F3-4),
    hibernating 沉睡客户 (R1-2, F1-2).

    Parameters
    ----------
    tx : Transactions
        The log (called as ``tx.rfm(...)``).
    as_of : date-like, optional
        Snapshot day (inclusive); defaults to the last day in the log.  Customers
        first buying after it are left out (``attrs["n_excluded"]``).
    bins : int, default 5
        Number of score bins (2..100).
    lang : {"en", "zh"}, default "en"
        Language of the default segment names.
    segment_map : dict, optional
        ``{name: (R range, F range)}`` on the ``bins`` scale, each range an int or an
        inclusive ``(low, high)`` pair; the first matching entry wins and cells no
        entry covers are labelled "other" / "其他".  Segment order = dict order.
    ties : {"min", "average", "max"}, default "min"
        Rank given to a block of equal values (see above).
    scheme : {"scores", "8"}, default "scores"
        Quantile scores with segments (this page), or the 8-class RFM
        (:func:`siyu.metrics.rfm8`; ``bins``, ``segment_map`` and ``ties`` do not
        apply to it).
    threshold : "mean", "median" or dict, default "mean"
        High/low threshold of ``scheme="8"`` (see :func:`siyu.metrics.rfm8`).

    Returns
    -------
    pandas.DataFrame
        Indexed by customer id: ``days_since_last``, ``occasions``, ``revenue``
        (only with amounts), ``R``, ``F``, ``M`` (int scores; no ``M`` without
        amounts), ``rfm_code`` (e.g. ``"545"``; joined with "-" when bins > 9),
        ``rfm_score`` (R + F + M) and ``segment`` (ordered Categorical in map
        order).  ``attrs``: ``as_of``, ``bins``, ``ties``, ``lang``, ``n_excluded``.

    Examples
    --------
    >>> import pandas as pd, siyu
    >>> df = pd.DataFrame({"id": [1, 1, 1, 2, 3, 3],
    ...                    "t": ["2024-01-01", "2024-02-01", "2024-03-01", "2024-03-01",
    ...                          "2023-06-01", "2023-07-01"],
    ...                    "amount": [10.0, 10.0, 10.0, 50.0, 5.0, 5.0]})
    >>> tx = siyu.Transactions(df, customer="id", time="t", amount="amount")
    >>> r = tx.rfm(bins=3)
    >>> r[["R", "F", "M"]].values.tolist()
    [[2, 3, 2], [2, 1, 3], [1, 2, 1]]
    >>> r["segment"].tolist()
    ['loyal', 'about to sleep', 'at risk']
    """
    if isinstance(scheme, np.ndarray) or scheme is None:
        scheme = repr(scheme)             # never a valid scheme: the error below
    if scheme == "8" or scheme == 8:
        if bins != 5 or segment_map is not None or ties != "min":
            raise ValueError("bins=, segment_map= and ties= belong to scheme='scores'; the "
                             "8-class RFM (scheme='8') takes threshold= instead")
        from siyu.metrics import rfm8

        return rfm8(tx, as_of=as_of, threshold=threshold, lang=lang)
    if scheme != "scores":
        raise ValueError(f"scheme must be 'scores' (quantile scores 1..bins) or '8' (RFM 八大类, "
                         f"eight classes), got {per.show(scheme)}")
    if not (isinstance(threshold, str) and threshold == "mean"):
        raise ValueError("threshold= belongs to the 8-class RFM; pass scheme='8' with it")
    bins = _check_bins(bins)
    lang = check_lang(lang)
    if not isinstance(ties, str) or ties not in _TIES:
        raise ValueError(f"ties must be 'min', 'average' or 'max', got {per.show(ties)}")
    day = _as_of_day(tx, as_of)
    _, lday, occ, rev, _ = _sweep(tx, [day], _MODE_LIFECYCLE, (), with_stages=False)
    keep = occ > 0
    dsl = (day - lday[keep]).astype(np.int64)
    freq = occ[keep]
    t = _TIES[ties]
    scores = [_core.quantile_scores(-dsl.astype(np.float64), bins, t),
              _core.quantile_scores(freq.astype(np.float64), bins, t)]
    if tx.has_amount:
        # ranked at micro-unit precision: equal money totals tie whatever the
        # floating-point summation order made of their last bits
        scores.append(_core.quantile_scores(np.round(rev[keep], 6), bins, t))
    return rfm_from_scores(tx._log.ids[keep], dsl, freq, rev[keep] if tx.has_amount else None,
                           scores, as_of_day=day, bins=bins, lang=lang,
                           segment_map=segment_map, ties=ties,
                           n_excluded=int((~keep).sum()))


def rfm_from_scores(ids: pd.Index, days_since_last: np.ndarray, occasions: np.ndarray,
                    revenue: np.ndarray | None, scores: Sequence[np.ndarray], *,
                    as_of_day: int, bins: int, lang: str, segment_map: Any, ties: str,
                    n_excluded: int) -> pd.DataFrame:
    """The :func:`rfm` table from each customer's values and R, F (, M) scores (its last
    step; the scores may come from the whole log when ``ids`` is one part of it)."""
    scores = [np.asarray(sc, dtype=np.int64) for sc in scores]
    r, f = scores[0], scores[1]
    n = len(ids)
    cols: dict[str, Any] = {"days_since_last": np.asarray(days_since_last, dtype=np.int64),
                            "occasions": occasions}
    if revenue is not None:
        cols["revenue"] = revenue
    cols["R"] = r
    cols["F"] = f
    if revenue is not None:
        cols["M"] = scores[2]
    sep = "" if bins <= 9 else "-"
    # rfm_code: format each distinct score combination once
    flat = np.zeros(n, dtype=np.int64)
    for sc in scores:
        flat = flat * bins + (sc - 1)
    uniq, inv = per.dense_codes(flat)
    digits = []
    rest = uniq.copy()
    for _ in scores:
        digits.append(rest % bins + 1)
        rest //= bins
    labels_u = np.array([sep.join(str(int(d[i])) for d in reversed(digits))
                         for i in range(uniq.size)], dtype=object)
    cols["rfm_code"] = labels_u[inv.reshape(-1)] if uniq.size else np.zeros(0, dtype=object)
    cols["rfm_score"] = np.sum(scores, axis=0) if n else np.zeros(0, np.int64)
    table, names = _segment_table(segment_map, bins, lang)
    seg = table[r - 1, f - 1] if n else np.zeros(0, np.int64)
    cols["segment"] = _categorical(seg, names)
    out = pd.DataFrame(cols, index=ids)
    out.attrs.update(segmentation="rfm", scheme="scores", as_of=inp.day_to_timestamp(as_of_day),
                     bins=bins, ties=ties, lang=lang, n_excluded=int(n_excluded))
    return out


# ---------------------------------------------------------------------------- migration
@dataclass
class Migration:
    """Stages of customers at consecutive period ends and the transitions between them.

    Attributes
    ----------
    stages : pandas.DataFrame
        Customer id x period end; each column an ordered Categorical of stages (NaN
        while the customer is not yet acquired).
    counts : pandas.DataFrame
        Per-period transition counts: rows a MultiIndex (``period_end``, ``from``)
        where ``period_end`` is the end of the period *into* which customers moved,
        ``from`` their stage at the previous period end; columns ``to``.
    matrix : pandas.DataFrame
        Counts summed over all periods (from x to).
    probabilities : pandas.DataFrame
        ``matrix`` row-normalised: the pooled (time-homogeneous maximum-likelihood)
        transition matrix; rows of stages never observed are NaN.
    period_probabilities : pandas.DataFrame
        ``counts`` row-normalised within each period.
    entries : pandas.DataFrame
        Period end x stage: customers acquired during the period, by their stage at
        its end (not part of the transition counts).
    period_ends : pandas.DatetimeIndex
        The snapshot days.
    attrs : dict
        ``period``, ``segmentation``, ``end``, ``bounds``, ``lang``, ``n_excluded``.
    """

    stages: pd.DataFrame
    counts: pd.DataFrame
    matrix: pd.DataFrame
    probabilities: pd.DataFrame
    period_probabilities: pd.DataFrame
    entries: pd.DataFrame
    period_ends: pd.DatetimeIndex
    attrs: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        a = self.attrs
        return (f"<siyu.segments.Migration: {a.get('segmentation')} by {a.get('period')}, "
                f"{len(self.period_ends)} period ends, {len(self.stages)} customers, "
                f"{int(self.matrix.to_numpy().sum())} transitions>")

    def _repr_html_(self) -> str:
        caption = text("segments.pooled_probabilities", self.attrs.get("lang", "en"))
        return (f"<b>{html.escape(self.__repr__()[1:-1])}</b><br>{caption}:"
                + self.probabilities.to_html(float_format=lambda x: f"{x:.3f}"))

    def clv(self, value_per_stage: Any, discount_rate: float,
            horizon: int | None) -> pd.Series:
        """:func:`markov_clv` on the pooled ``probabilities`` (periods = ``attrs["period"]``).

        Examples
        --------
        >>> import pandas as pd, siyu
        >>> df = pd.DataFrame({"id": [1, 1, 2], "amount": 1.0,
        ...                    "t": ["2024-01-10", "2024-02-05", "2024-01-20"]})
        >>> tx = siyu.Transactions(df, customer="id", time="t")
        >>> mg = tx.migration(end="2024-04-30", bounds=(30, 60))
        >>> mg.probabilities.round(2).values.tolist()
        [[0.33, 0.67, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 1.0]]
        >>> mg.clv({"recent": 10.0, "stable": 2.0, "lapsing": 0.0}, 0.01, 3).round(3).tolist()
        [16.145, 2.0, 0.0]
        """
        return markov_clv(self.probabilities, value_per_stage, discount_rate, horizon)

    def plot(self, ax: Any = None, cmap: str = "Blues") -> Any:
        """Heat map of the pooled transition probabilities (needs matplotlib)."""
        from siyu.plotting import get_pyplot, use_cjk

        plt = get_pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(1.2 * len(self.matrix) + 2, 1.0 * len(self.matrix) + 1))
        p = self.probabilities.to_numpy(dtype=float)
        im = ax.imshow(np.nan_to_num(p), cmap=cmap, vmin=0, vmax=1)
        labels = [str(c) for c in self.probabilities.columns]
        ax.set_xticks(range(len(labels)), labels)
        ax.set_yticks(range(len(labels)), [str(c) for c in self.probabilities.index])
        lang = self.attrs.get("lang", "en")
        ax.set_xlabel(text("segments.to", lang))
        ax.set_ylabel(text("segments.from", lang))
        for i in range(p.shape[0]):
            for j in range(p.shape[1]):
                if np.isfinite(p[i, j]):
                    ax.text(j, i, f"{p[i, j]:.2f}", ha="center", va="center",
                            color="white" if p[i, j] > 0.5 else "black")
        ax.figure.colorbar(im, ax=ax)
        return use_cjk(ax)


def _period_ends(first_day: int, end_day: int, period: int) -> np.ndarray:
    """Last days of the calendar periods from the one holding first_day, up to end_day."""
    p0, p1 = (int(x) for x in _core.period_index(np.array([first_day, end_day], np.int64),
                                                 period))
    starts = _core.period_start(np.arange(p0 + 1, p1 + 2, dtype=np.int64), period)
    ends = starts - 1
    return ends[ends <= end_day]


def _row_normalise(counts: np.ndarray) -> np.ndarray:
    tot = counts.sum(axis=-1, keepdims=True).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(tot > 0, counts / np.where(tot > 0, tot, 1.0), np.nan)


def migration(tx: "Transactions", period: str = "M", segmentation: str = "lifecycle",
              end: Any = None, bounds: Sequence[int] = (30, 180),
              lang: str = "en") -> Migration:
    """Stage of each customer at consecutive period ends, and transition matrices.

    Snapshots are taken at the last day of every *complete* calendar period, from
    the period of the first row in the log up to ``end`` (a period that ends after
    ``end`` is not included; with ``period="M"`` and ``end="2024-06-15"`` the last
    snapshot is 2024-05-31).  At each snapshot the stage of every customer acquired
    so far is computed as :func:`lifecycle` (or :func:`value_tiers`) would with
    ``as_of`` = that day; customers not yet acquired are absent.  Transitions are
    counted between consecutive snapshots for customers present at both (a
    customer's first snapshot counts in ``entries`` instead).  Value-tier
    migration has no roster, so its stages are one-time, repeat, multi-repeat and
    member (the potential tier never occurs).

    Parameters
    ----------
    tx : Transactions
        The log (called as ``tx.migration(...)``).
    period : {"D", "W", "M", "Q", "Y"}, default "M"
        Calendar period between snapshots (weeks start on Monday).
    segmentation : {"lifecycle", "value_tiers"}, default "lifecycle"
        Which stages to follow.
    end : date-like, optional
        Last day considered; defaults to the last day in the log.
    bounds : pair of int, default (30, 180)
        Lifecycle bounds (see :func:`lifecycle`).
    lang : {"en", "zh"}, default "en"
        Stage labels.

    Returns
    -------
    Migration
        ``stages``, ``counts`` (per period), ``matrix`` (summed counts),
        ``probabilities`` (row-normalised pooled matrix, the input of
        :func:`markov_clv`), ``period_probabilities``, ``entries``,
        ``period_ends`` and ``attrs`` (``n_excluded`` counts customers with no
        purchase by the last snapshot).

    Raises
    ------
    ValueError
        Unknown ``period`` or ``segmentation``, bad ``bounds``, an empty log, ``end``
        before the first complete period; more than :data:`MAX_SNAPSHOTS` (20,000)
        period ends, or a customers x snapshots table above
        ``siyu._periods.MAX_TABLE_BYTES`` (checked before anything is allocated; the
        message names a longer period and an earlier ``end`` that fit).

    Examples
    --------
    >>> import pandas as pd, siyu
    >>> df = pd.DataFrame({"id": [1, 1, 2, 2],
    ...                    "t": ["2024-01-10", "2024-03-05", "2024-01-20", "2024-01-25"],
    ...                    "amount": [1.0, 1.0, 1.0, 1.0]})
    >>> tx = siyu.Transactions(df, customer="id", time="t", amount="amount")
    >>> mg = tx.migration(period="M", end="2024-03-31")
    >>> mg.stages.astype(str).values.tolist()
    [['recent', 'stable', 'recent'], ['recent', 'stable', 'stable']]
    >>> mg.matrix.values.tolist()
    [[0, 2, 0], [1, 1, 0], [0, 0, 0]]
    """
    code = inp.period_code(period, "DWMQY", "period")
    lang = check_lang(lang)
    if not isinstance(segmentation, str):
        raise TypeError(f"segmentation must be 'lifecycle' or 'value_tiers', got "
                        f"{per.show(segmentation)}")
    if segmentation == "lifecycle":
        mode, labels = _MODE_LIFECYCLE, LIFECYCLE_LABELS[lang]
        b: tuple[int, ...] = _check_bounds(bounds)
    elif segmentation in ("value_tiers", "value_tier"):
        segmentation = "value_tiers"
        mode, labels = _MODE_VALUE_TIER, VALUE_TIER_LABELS[lang][1:]
        b = ()
    else:
        raise ValueError(f"unknown segmentation {per.show(segmentation)}; use 'lifecycle' or "
                         "'value_tiers'")
    end_day = tx._end_day(end, "end")
    if not tx.n_rows:
        raise ValueError("the log is empty: there are no customers to follow from period to "
                         "period")
    first_day = int(tx._log.day.min())
    pcode = inp.PERIOD_CODES[code]
    ends = _period_ends(first_day, end_day, pcode)
    if ends.size == 0:
        raise ValueError(f"end={inp.day_to_timestamp(end_day).date()} is before the end of the "
                         f"first complete period {per.show(code)} of the log; pass a later end or a "
                         "shorter period")
    m = int(ends.size)
    what = f"migration(period={per.show(code)})"
    if m > MAX_SNAPSHOTS:
        last_ok = inp.day_to_timestamp(int(ends[MAX_SNAPSHOTS - 1])).date()
        coarser = [p for p in "DWMQY"[("DWMQY".index(code) + 1):]
                   if _period_ends(first_day, end_day, inp.PERIOD_CODES[p]).size
                   <= MAX_SNAPSHOTS]
        fixes = [f"period={per.show(coarser[0])}"] if coarser else []
        raise ValueError(f"{what} from {inp.day_to_timestamp(first_day).date()} to "
                         f"{inp.day_to_timestamp(end_day).date()} would take {m:,} snapshots "
                         f"(one per period end); at most {MAX_SNAPSHOTS:,} are taken.  Use "
                         + " or ".join(fixes + [f"an earlier end, e.g. end='{last_ok}'"]))
    per.check_table_size(what, (m, tx.n_customers), 4,
                         ["a longer period (fewer snapshots)", "an earlier end=",
                          "or fewer customers (a sample of the log)"])
    codes = _sweep(tx, ends, mode, b)[0]                          # (m, k) int8
    s = len(labels)
    counts3 = _core.segment_transitions(codes, s)                  # (m-1, s, s)
    seen = (codes >= 0).any(axis=0)
    sub = codes[:, seen]
    ent = np.zeros((m, s), dtype=np.int64)
    if m and codes.shape[1]:
        # a customer's entry: present at snapshot j and absent at j - 1 (or j == 0)
        fresh = codes >= 0
        fresh[1:] &= codes[:-1] < 0
        j, c = np.nonzero(fresh)
        ent = np.bincount(j * s + codes[j, c], minlength=m * s).reshape(m, s)
    dates = pd.DatetimeIndex(inp.days_to_dates(ends), name="period_end")
    sdt = pd.CategoricalDtype(list(labels), ordered=True)
    stages = pd.DataFrame({j: pd.Categorical.from_codes(sub[j], dtype=sdt) for j in range(m)},
                          index=tx._log.ids[seen])
    stages.columns = dates
    attrs = dict(period=code, segmentation=segmentation, end=inp.day_to_timestamp(end_day),
                 bounds=b if b else None, lang=lang, n_excluded=int((~seen).sum()))
    return migration_from_counts(stages, counts3, ent, ends, labels, attrs)


def migration_from_counts(stages: Any, transitions: np.ndarray, entries: np.ndarray,
                          ends: np.ndarray, labels: Sequence[str],
                          attrs: dict[str, Any]) -> Migration:
    """A :class:`Migration` from its counts (the last step of :func:`migration`).

    ``transitions`` is (m − 1, s, s) counts between consecutive period ends ``ends``
    (m day numbers), ``entries`` (m, s) counts of customers first seen at each end,
    ``stages`` the per-customer stage frame; counts of several parts of a log can be
    added up first.
    """
    counts3 = np.asarray(transitions, dtype=np.int64)
    ent = np.asarray(entries, dtype=np.int64)
    s = len(labels)
    dates = pd.DatetimeIndex(inp.days_to_dates(np.asarray(ends, dtype=np.int64)),
                             name="period_end")
    cats = pd.CategoricalIndex(list(labels), categories=list(labels), ordered=True)
    trans_dates = dates[1:]
    mi = pd.MultiIndex.from_product([trans_dates, cats], names=["period_end", "from"])
    counts = pd.DataFrame(counts3.reshape(-1, s), index=mi,
                          columns=cats.rename("to"))
    total = counts3.sum(axis=0)
    matrix = pd.DataFrame(total, index=cats.rename("from"), columns=cats.rename("to"))
    probabilities = pd.DataFrame(_row_normalise(total), index=matrix.index, columns=matrix.columns)
    period_probabilities = pd.DataFrame(_row_normalise(counts3).reshape(-1, s), index=mi,
                                        columns=counts.columns)
    entries_df = pd.DataFrame(ent, index=dates, columns=cats.rename("stage"))
    for frame in (stages, counts, matrix, probabilities, period_probabilities, entries_df):
        if isinstance(frame, pd.DataFrame):      # stages of a Dask log stay lazy
            frame.attrs.update(attrs)
    return Migration(stages=stages, counts=counts, matrix=matrix, probabilities=probabilities,
                     period_probabilities=period_probabilities, entries=entries_df,
                     period_ends=dates, attrs=attrs)


# ---------------------------------------------------------------------------- Markov CLV
def markov_clv(transition_matrix: Any, value_per_stage: Any, discount_rate: float,
               horizon: int | None) -> pd.Series:
    """Expected discounted customer value by starting stage (Markov chain model).

    Following Pfeifer & Carraway (2000), a customer moves between stages with the
    one-period transition matrix ``P`` and yields ``v[s]`` in each period spent in
    stage ``s``.  The value of a customer *currently* in stage ``s`` is

    ``V = sum_{t=0}^{horizon-1} P^t v / (1 + d)^t``

    i.e. **t starts at 0**: the current period's value counts, undiscounted, and
    ``horizon`` periods are counted in total (``horizon=1`` gives ``v``).  With
    ``horizon=None`` the sum is infinite, ``V = (I - P / (1 + d))^{-1} v``, which
    needs ``d > 0``.  Include an absorbing "lost" stage with value 0 (or use
    lapsing/hibernating stages) for customers who stop buying.

    Parameters
    ----------
    transition_matrix : pandas.DataFrame or 2-d array-like
        Square, non-negative, rows summing to 1 (e.g.
        ``tx.migration().probabilities``).  Labels of a DataFrame name the stages
        (index and columns must match).
    value_per_stage : pandas.Series, dict or 1-d array-like
        Value per period in each stage; a Series/dict is matched by stage label.
    discount_rate : float
        Per-period discount rate ``d >= 0`` (e.g. 0.01 per month).
    horizon : int or None
        Number of periods (>= 1), or None for an infinite horizon.

    Returns
    -------
    pandas.Series
        Expected discounted value by starting stage, named ``"clv"``; ``attrs``
        hold ``discount_rate`` and ``horizon``.

    Raises
    ------
    ValueError
        Non-square, negative, non-finite or non-stochastic matrix, value vector of
        the wrong length or labels, negative discount rate, horizon < 1, or an
        infinite horizon with ``discount_rate == 0`` or so close to 0 that the sum
        cannot be computed accurately (the condition number of ``I - P / (1 + d)``
        above 1e9), a horizon above 10**15 periods, or a value that overflows.

    Notes
    -----
    A finite horizon is summed by binary powering (``S(2n) = S(n) + Q^n S(n)``), in
    O(s^3 log horizon) for any horizon and any ``d >= 0`` (also ``d = 0``, where
    ``I - P`` has no inverse).

    Examples
    --------
    >>> import siyu
    >>> P = [[0.5, 0.3, 0.2], [0.2, 0.5, 0.3], [0.0, 0.0, 1.0]]
    >>> v = siyu.segments.markov_clv(P, [100.0, 50.0, 0.0], discount_rate=0.1, horizon=2)
    >>> [round(x, 4) for x in v]
    [159.0909, 90.9091, 0.0]
    """
    # --- matrix
    if isinstance(transition_matrix, pd.DataFrame):
        labels = list(transition_matrix.index)
        if list(transition_matrix.columns) != labels:
            raise ValueError("transition_matrix: index and columns must list the same stages in "
                             "the same order")
        P = transition_matrix.to_numpy(dtype=float)
        index = transition_matrix.index
    else:
        try:
            P = np.asarray(transition_matrix, dtype=float)
        except (TypeError, ValueError):
            raise TypeError("transition_matrix must be a square numeric array or DataFrame") \
                from None
        index = None
    if P.ndim != 2 or P.shape[0] != P.shape[1] or P.shape[0] == 0:
        raise ValueError(f"transition_matrix must be square (n x n, n >= 1), got shape {P.shape}")
    s = P.shape[0]
    if not np.isfinite(P).all():
        raise ValueError("transition_matrix has NaN/inf entries (e.g. a stage never observed in "
                         "migration counts); drop that stage or fill its row, e.g. with an "
                         "absorbing row (1 on the diagonal)")
    if (P < 0).any():
        raise ValueError("transition_matrix has negative entries; probabilities must be >= 0")
    rows = P.sum(axis=1)
    bad = np.flatnonzero(np.abs(rows - 1.0) > 1e-6)
    if bad.size:
        who = index[bad[0]] if index is not None else int(bad[0])
        raise ValueError(f"transition_matrix is not row-stochastic: row {per.show(who)} sums to "
                         f"{rows[bad[0]]:.6g}; normalise it, e.g. P.div(P.sum(axis=1), axis=0)")
    if index is None:
        index = pd.RangeIndex(s, name="stage")
    # --- values
    if isinstance(value_per_stage, Mapping) and not isinstance(value_per_stage, pd.Series):
        value_per_stage = pd.Series(dict(value_per_stage))
    if isinstance(value_per_stage, pd.Series) and isinstance(transition_matrix, pd.DataFrame):
        missing = [lab for lab in index if lab not in value_per_stage.index]
        if missing:
            raise ValueError(f"value_per_stage has no value for stage(s) {missing}; give one "
                             "value per row of transition_matrix")
        v = value_per_stage.reindex(index).to_numpy(dtype=float)
    else:
        try:
            v = np.asarray(value_per_stage, dtype=float)
        except (TypeError, ValueError):
            raise TypeError("value_per_stage must be numeric (Series, dict or array)") from None
    if v.ndim != 1 or v.size != s:
        raise ValueError(f"value_per_stage must have one value per stage ({s}), got shape "
                         f"{v.shape}")
    if not np.isfinite(v).all():
        raise ValueError("value_per_stage has NaN/inf values")
    # --- discount and horizon
    if isinstance(discount_rate, (bool, np.bool_)) or not isinstance(discount_rate, numbers.Real):
        raise TypeError(f"discount_rate must be a number >= 0 (e.g. 0.01 per period), "
                        f"got {per.show(discount_rate)}")
    d = float(discount_rate)
    if not math.isfinite(d) or d < 0:
        raise ValueError(f"discount_rate must be finite and >= 0 (e.g. 0.01 per period), got {d}")
    if horizon is not None:
        if isinstance(horizon, (bool, np.bool_)) or not isinstance(horizon, numbers.Integral):
            raise TypeError(f"horizon must be a whole number of periods or None (infinite), "
                            f"got {per.show(horizon)}")
        horizon = int(horizon)
        if horizon < 1:
            raise ValueError(f"horizon must be >= 1 period (or None for infinite), got {horizon}")
        if horizon > _MAX_HORIZON:
            raise ValueError(f"horizon={horizon:,} periods is beyond any use (at most "
                             f"{_MAX_HORIZON:,}); for an unlimited horizon pass horizon=None "
                             "with a discount_rate > 0")
    Q = P / (1.0 + d)
    if horizon is None:
        if d <= 0:
            raise ValueError("an infinite horizon needs discount_rate > 0 (the undiscounted sum "
                             "diverges); pass a positive discount_rate or a finite horizon")
        # (I - P / (1 + d)) V = v; with d tiny the matrix is singular to working precision
        # (the sum diverges as d -> 0) and the solution would be noise
        A = np.eye(s) - Q
        if not np.linalg.cond(A) < _MAX_COND:
            raise ValueError(f"discount_rate={per.show(d)} is too close to 0 for an infinite horizon: "
                             "the discounted sum is then too large to compute accurately "
                             "(it diverges as the rate goes to 0); pass a larger rate "
                             "(e.g. discount_rate=0.01 per period) or a finite horizon "
                             "(e.g. horizon=120)")
        value = np.linalg.solve(A, v)
    else:
        # sum_{t<H} Q^t v by binary powering (O(s^3 log H), no loop of H steps; exact
        # for any d, including d = 0 or tiny, where (I - Q)^-1 does not exist)
        total = np.zeros((s, s))
        power = np.eye(s)                           # Q^n for the n bits read so far
        for bit in bin(horizon)[2:]:
            total = total + power @ total           # S(2n) = S(n) + Q^n S(n)
            power = power @ power
            if bit == "1":                          # S(n + 1) = S(n) + Q^n
                total = total + power
                power = power @ Q
        value = total @ v
    if not np.isfinite(value).all():
        raise ValueError("the expected value overflows (value_per_stage or horizon too large "
                         "for floating point); rescale value_per_stage (e.g. in thousands) or "
                         "shorten the horizon")
    out = pd.Series(value, index=index, name="clv")
    out.attrs.update(discount_rate=d, horizon=horizon)
    return out
