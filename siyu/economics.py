"""Unit economics: CAC, LTV, LTV/CAC, payback and cost per order; channel comparison.

Both functions build on the acquisition-cohort table (:meth:`siyu.Transactions.cohorts`);
the arithmetic on top of it is plain pandas.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Hashable

import numpy as np
import pandas as pd

from siyu import _core
from siyu import _input as inp
from siyu import _periods as per

if TYPE_CHECKING:  # pragma: no cover
    from siyu.cohorts import CohortTable
    from siyu.transactions import Transactions

__all__ = ["unit_economics", "compare_channels", "check_horizon", "check_margin"]

# days per period in the models' calendar (siyu.clv): no 30-day months
_PERIOD_DAYS = {"D": 1.0, "W": 7.0, "M": 365.25 / 12.0, "Q": 365.25 / 4.0, "Y": 365.25}


# longest horizon (periods) and retention age (months) accepted: more periods than the
# supported calendar (years 1..9999) holds days, so no cohort could ever be observed that long
_MAX_PERIODS = 3_652_059
_MAX_AGE = 120_000


def check_horizon(value: Any, name: str = "horizon") -> int:
    """A horizon / number of periods: a whole number from 1 to the calendar's span."""
    return _check_positive_int(value, name)


def check_margin(margin: Any) -> float:
    """A gross margin in (0, 1]."""
    return _check_margin(margin)


def _check_positive_int(value: Any, name: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a positive whole number of periods (e.g. {name}=12), "
                        f"got {per.show(value)}")
    if not 1 <= value <= _MAX_PERIODS:
        raise ValueError(f"{name} must be a whole number of periods from 1 to {_MAX_PERIODS:,} "
                         f"(e.g. {name}=12), got {int(value):,}")
    return int(value)


def _check_margin(margin: Any) -> float:
    if isinstance(margin, (bool, np.bool_)) or not isinstance(margin, (int, float, np.integer, np.floating)):
        raise TypeError(f"margin must be a number in (0, 1], got {per.show(margin)}")
    margin = float(margin)
    if not 0.0 < margin <= 1.0:
        raise ValueError(f"margin={per.show(margin)} must be a gross-margin fraction in (0, 1], "
                         "e.g. margin=0.35")
    return margin


def _spend_table(spend: pd.DataFrame, period: str, by: str | None,
                 channels: pd.Index | None) -> pd.Series:
    """Validate acquisition spend and sum it per (channel,) cohort period."""
    if not isinstance(spend, pd.DataFrame):
        raise TypeError("spend must be a DataFrame with columns 'period' (date-like) and "
                        "'amount'" + (f" and {per.show(by)}" if by else ""))
    need = ["period", "amount"] + ([by] if by else [])
    missing = [c for c in need if c not in spend.columns]
    if missing:
        raise ValueError(f"spend is missing column(s) {missing}; it needs {need} "
                         f"(got {list(spend.columns)})")
    amount = pd.to_numeric(spend["amount"], errors="coerce")
    if amount.isna().any() or not np.isfinite(amount.to_numpy(dtype=float)).all():
        raise ValueError("spend 'amount' must be finite numbers; fix the rows "
                         f"{np.flatnonzero(~np.isfinite(amount.to_numpy(dtype=float)))[:5].tolist()}")
    if (amount < 0).any():
        raise ValueError("spend 'amount' has negative values in rows "
                         f"{np.flatnonzero(amount.to_numpy() < 0)[:5].tolist()}; acquisition "
                         "spend must be >= 0")
    try:
        when = pd.PeriodIndex(pd.to_datetime(spend["period"].astype(str)
                                             if isinstance(spend["period"].dtype, pd.PeriodDtype)
                                             else spend["period"]), freq=_pandas_freq(period))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"spend 'period' must be date-like: {exc}") from None
    keys: list[Any] = [when]
    names = ["cohort"]
    if by:
        labels = spend[by].astype(object).where(spend[by].notna(), "(missing)")
        unknown = sorted(set(labels) - set(channels if channels is not None else []), key=str)
        if unknown:
            raise ValueError(f"spend has channel(s) {unknown} that never appear in the "
                             f"transactions' {per.show(by)} column (known: {list(channels)}); fix the "
                             "labels or drop those rows")
        keys = [pd.Index(labels, name=by), when]
        names = [by, "cohort"]
    s = pd.Series(amount.to_numpy(dtype=float), index=pd.MultiIndex.from_arrays(keys, names=names)
                  if by else pd.PeriodIndex(when, name="cohort"))
    return s.groupby(level=list(range(len(names)))).sum()


def _pandas_freq(period: str) -> str:
    return {"D": "D", "W": "W-SUN", "M": "M", "Q": "Q", "Y": "Y"}[period]


def _first_reached(curve: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First column index where curve >= target per row (NaN-aware); -1 when never."""
    ok = np.nan_to_num(curve, nan=-np.inf) >= target[:, None]
    reached = ok.any(axis=1)
    first = np.where(reached, ok.argmax(axis=1), -1)
    return first, reached


def unit_economics(tx: "Transactions", spend: pd.DataFrame | None = None, period: str = "M",
                   by: str | None = None, margin: float = 1.0, horizon: int = 12,
                   ltv: str = "historical", models: tuple[Any, Any] | None = None,
                   discount_rate: float = 0.0, end: Any = None,
                   existing_before: Any = None) -> pd.DataFrame:
    """Acquisition cost against customer value per acquisition cohort (× channel).

    For each cohort of customers acquired in a calendar ``period`` (split by the
    channel column when ``by`` is given):

    - ``new_customers``; ``spend`` (acquisition spend of that period and channel);
    - ``cac`` = spend / new customers;
    - ``ltv`` = cumulative gross margin (revenue × ``margin``) per acquired customer over
      the first ``horizon`` periods (ages 0 .. horizon−1);
    - ``ltv_cac`` = ltv / cac and ``profit_per_customer`` = ltv − cac;
    - ``payback_periods`` = first age at which cumulative margin per customer ≥ CAC
      (0 = paid back in the acquisition period); NaN when not reached by ``end``, with
      ``payback_reached`` False — never an extrapolated number;
    - ``orders_per_customer`` over the horizon and ``cost_per_order`` = CAC / orders per
      customer: the acquisition ("connection") cost spread over the orders it bought;
    - ``ltv_to_date`` (cumulative margin per customer through ``end``, within the
      horizon) and ``observed_periods`` (periods observed *in full*: a last period that
      ``end`` cuts short is partial and does not count).

    With ``ltv="historical"`` a cohort not yet observed in full for ``horizon`` periods
    has NaN ``ltv``, ``ltv_cac``, ``profit_per_customer`` and ``cost_per_order`` and
    ``complete`` False.  With ``ltv="predicted"`` (``models=(transaction_model,
    spend_model)`` fitted on ``tx.summary()``), the rest of the horizon after ``end``
    (to the day) is filled by :func:`siyu.clv` from each customer's history at
    ``end`` (discounted at ``discount_rate`` per period from ``end``), so every cohort
    gets a value: observed margin to ``end`` + predicted margin; ``orders_per_customer``
    likewise adds the expected purchases.

    A totals row (``"total"``) gives blended figures: spend and customers summed, CAC =
    Σ spend / Σ customers, LTV and orders averaged over complete cohorts weighted by
    size.  Flags: ``zero_spend`` (CAC 0, ltv_cac = inf), ``no_spend_row`` (customers
    acquired in a period/channel absent from ``spend``: spend, CAC NaN),
    ``no_customers`` (spend in a period/channel without new customers; ``attrs``
    ``spend_outside`` lists those before the log's first period or after ``end``).
    These rows are reported, never dropped; ``attrs`` lists them too.

    With ``existing_before``, customers whose first purchase is before that date are
    *existing*: one row ``"existing"`` (per channel with ``by``; column ``existing``
    True) whose ``new_customers`` counts them and whose ``ltv_to_date`` is their margin
    per customer over the log; they are in no cohort, CAC, payback or total.

    Parameters
    ----------
    tx : Transactions
    spend : DataFrame, optional
        Acquisition spend with columns ``period`` (any date in the period, or a
        Period), ``amount`` (≥ 0) and, with ``by``, the channel column.  Several rows of
        one period (and channel) are summed.  Without it only the value side is filled.
    period : {"D", "W", "M", "Q", "Y"}, default "M"
        Cohort period; ``horizon`` and ``payback_periods`` count these periods.
    by : str, optional
        Channel column given to :class:`~siyu.Transactions` (``channel=``).
    margin : float, default 1.0
        Gross margin fraction applied to revenue.
    horizon : int, default 12
        Number of periods (ages 0..horizon−1) the LTV covers.
    ltv : {"historical", "predicted"}
    models : (transaction_model, spend_model), optional
        Fitted models for ``ltv="predicted"``.
    discount_rate : float, default 0
        Per-period discount rate for predicted LTV.
    end : date-like, optional
        Last day observed (default: last day of the log).
    existing_before : date-like, optional
        See above.

    Returns
    -------
    pandas.DataFrame
        One row per cohort (× channel), the ``"existing"`` row(s) with
        ``existing_before``, and ``"total"``.

    Raises
    ------
    ValueError
        Negative or non-finite spend, spend channels unknown to the log, bad
        ``horizon``/``margin``/``ltv``/``existing_before``.

    Examples
    --------
    >>> import pandas as pd, siyu
    >>> tx = siyu.Transactions(siyu.datasets.load_online_retail(), customer="customer_id",
    ...                        time="date", amount="amount")
    >>> spend = pd.DataFrame({"period": pd.period_range("2010-12", "2011-12", freq="M"),
    ...                       "amount": 20000.0})
    >>> ue = siyu.unit_economics(tx, spend, horizon=6, margin=0.3,
    ...                          existing_before="2011-01-01")
    >>> round(float(ue.loc["2011-01", "cac"]), 2), int(ue.loc["existing", "new_customers"])
    (47.96, 885)
    >>> ue.attrs["no_customers"]        # spend in Dec 2010, but nobody there is acquired
    ['2010-12']
    """
    horizon = _check_positive_int(horizon, "horizon")
    margin = _check_margin(margin)
    if not isinstance(ltv, str) or ltv not in ("historical", "predicted"):
        raise ValueError(f"ltv must be 'historical' or 'predicted', got {per.show(ltv)}")
    if ltv == "predicted" and (models is None or len(models) != 2):
        raise ValueError("ltv='predicted' needs models=(transaction_model, spend_model), "
                         "e.g. (siyu.BetaGeo().fit(s), siyu.GammaGamma().fit(s))")
    period = inp.period_code(period, "DWMQY", "period")
    if not tx.has_amount:
        raise ValueError("unit_economics needs order amounts: pass amount= to siyu.Transactions")
    ct = tx.cohorts(period=period, end=end, by=by, margin=margin,
                    existing_before=existing_before)
    sizes = ct.sizes.astype(float)
    index = sizes.index
    n = len(sizes)
    ltv_curve = ct.ltv.to_numpy()                      # cumulative margin per customer
    orders = np.nan_to_num(ct.orders.to_numpy(), nan=0.0)
    observed = ct.observed.to_numpy()
    complete_cells = ct.complete.to_numpy()
    n_ages = ltv_curve.shape[1] if ltv_curve.ndim == 2 else 0
    obs_all = observed.sum(axis=1) if n_ages else np.zeros(n, dtype=int)
    obs_periods = complete_cells.sum(axis=1) if n_ages else np.zeros(n, dtype=int)
    complete = obs_periods >= horizon
    h = min(horizon, n_ages)
    last_obs = np.maximum(np.minimum(obs_all, horizon) - 1, 0)
    rows = np.arange(n)
    ltv_to_date = ltv_curve[rows, last_obs] if n_ages else np.full(n, np.nan)
    orders_h = orders[:, :h].sum(axis=1) if n_ages else np.zeros(n)
    ltv_h = np.where(complete, ltv_curve[:, h - 1] if n_ages else np.nan, np.nan)
    orders_pc = np.where(complete, orders_h / sizes.to_numpy(), np.nan)
    if ltv == "predicted":
        ltv_h, orders_pc = _predicted(tx, ct, models, horizon, period, margin, discount_rate,
                                      ltv_curve, orders, obs_all, complete, ltv_h, orders_pc)

    out = pd.DataFrame({"new_customers": sizes.astype(np.int64)}, index=index)
    spend_s = None
    if spend is not None:
        spend_s = _spend_table(spend, period, ct.by, tx._log.channel_labels if ct.by else None)
        if ct.by is None:
            spend_s.index = pd.PeriodIndex(spend_s.index, name="cohort")
        full = index.union(spend_s.index, sort=True) if len(index) else spend_s.index
        out = out.reindex(full)
        out["new_customers"] = out["new_customers"].fillna(0).astype(np.int64)
        out["spend"] = spend_s.reindex(full)
    else:
        out["spend"] = np.nan
    pos = pd.Series(np.arange(n), index=index).reindex(out.index)
    have = pos.notna().to_numpy()
    take = pos.fillna(0).to_numpy(dtype=np.int64)

    def col(values: np.ndarray) -> np.ndarray:
        return np.where(have, np.asarray(values, dtype=float)[take] if n else np.nan, np.nan)

    out["cac"] = np.where(out["new_customers"] > 0,
                          out["spend"] / out["new_customers"].where(out["new_customers"] > 0),
                          np.nan)
    out["ltv"] = col(ltv_h)
    out["ltv_to_date"] = col(ltv_to_date)
    out["observed_periods"] = np.where(have, obs_periods[take] if n else 0, 0).astype(np.int64)
    out["complete"] = np.where(have, complete[take] if n else False, False).astype(bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["ltv_cac"] = np.where(out["cac"] == 0, np.inf, out["ltv"] / out["cac"])
        out["ltv_cac"] = out["ltv_cac"].where(out["ltv"].notna() & out["cac"].notna())
        out["profit_per_customer"] = out["ltv"] - out["cac"]
        out["orders_per_customer"] = col(orders_pc)
        out["cost_per_order"] = out["cac"] / out["orders_per_customer"]
    # payback: first age with cumulative margin per customer >= CAC
    cac_rows = out["cac"].to_numpy(dtype=float)
    payback = np.full(len(out), np.nan)
    reached = np.zeros(len(out), dtype=bool)
    if n:
        curve = np.where(have[:, None], ltv_curve[take], np.nan)
        target = np.where(np.isnan(cac_rows), np.inf, cac_rows)
        first, ok = _first_reached(curve, target)
        ok &= ~np.isnan(cac_rows)
        payback = np.where(ok, first, np.nan)
        reached = ok
    out["payback_periods"] = payback
    out["payback_reached"] = reached
    out["zero_spend"] = (out["spend"] == 0) & (out["new_customers"] > 0)
    out["no_spend_row"] = out["spend"].isna() & (out["new_customers"] > 0) & (spend is not None)
    out["no_customers"] = out["new_customers"] == 0
    out["existing"] = False
    outside = _outside(out.index[out["no_customers"].to_numpy()], tx, ct, period)

    total = _totals(out)
    out = _with_str_index(out)
    flagged = {f: [i if isinstance(i, str) else tuple(i) for i in out.index[out[f]]]
               for f in ("no_spend_row", "no_customers", "zero_spend")}
    parts = [out]
    if ct.existing is not None:
        parts.append(_existing_rows(ct, out.columns, horizon))
    out = pd.concat(parts + [total])
    out.attrs.update(period=period, horizon=horizon, margin=margin, ltv=ltv, end=ct.end,
                     by=ct.by, spend_outside=outside, partial=bool(ct.last_period["partial"]),
                     n_existing=ct.n_existing, **flagged)
    return out


def _outside(keys: pd.Index, tx: "Transactions", ct: "CohortTable", period: str) -> list[Any]:
    """Spend keys whose period lies before the log's first period or after ``end``."""
    if not len(keys):
        return []
    freq = _pandas_freq(period)
    first = pd.Period(tx.start, freq=freq)
    last = pd.Period(ct.end, freq=freq)
    cohort = keys.get_level_values(-1) if isinstance(keys, pd.MultiIndex) else keys
    cohort = pd.PeriodIndex(cohort, freq=freq)
    bad = np.asarray((cohort < first) | (cohort > last))
    out = []
    for key in keys[bad]:
        out.append(tuple(str(x) for x in key) if isinstance(key, tuple) else str(key))
    return out


def _existing_rows(ct: "CohortTable", columns: pd.Index, horizon: int) -> pd.DataFrame:
    """The existing customers' row(s): counted, with their margin to date, nothing else."""
    ex = ct.existing
    ltv = ex.ltv.to_numpy()
    obs = ex.observed.to_numpy()
    last = np.maximum(obs.sum(axis=1) - 1, 0)
    rows = pd.DataFrame(np.nan, index=range(len(ex.sizes)), columns=columns)
    rows["new_customers"] = ex.sizes.to_numpy().astype(np.int64)
    rows["ltv_to_date"] = ltv[np.arange(len(last)), last] if ltv.size else np.nan
    rows["observed_periods"] = (ex.complete.to_numpy().sum(axis=1)).astype(np.int64)
    for c in ("complete", "payback_reached", "zero_spend", "no_spend_row", "no_customers"):
        rows[c] = False
    rows["existing"] = True
    if isinstance(ex.sizes.index, pd.MultiIndex):
        rows.index = pd.MultiIndex.from_arrays(
            [ex.sizes.index.get_level_values(0).astype(str), ["existing"] * len(rows)],
            names=[ex.sizes.index.names[0], "cohort"])
    else:
        rows.index = pd.Index(["existing"] * len(rows), name="cohort")
    return rows


def _with_str_index(out: pd.DataFrame) -> pd.DataFrame:
    """Index rows by cohort label strings so a 'total' row can sit beside them."""
    if isinstance(out.index, pd.MultiIndex):
        out.index = pd.MultiIndex.from_arrays(
            [out.index.get_level_values(0).astype(str), out.index.get_level_values(1).astype(str)],
            names=out.index.names)
    else:
        out.index = pd.Index(out.index.astype(str), name="cohort")
    return out


def _totals(out: pd.DataFrame) -> pd.DataFrame:
    n_new = out["new_customers"].sum()
    spend = out["spend"].sum(min_count=1)
    comp = out[out["complete"] & (out["new_customers"] > 0)]
    w = comp["new_customers"].to_numpy(dtype=float)
    ltv = float(np.average(comp["ltv"], weights=w)) if w.sum() > 0 else np.nan
    opc = float(np.average(comp["orders_per_customer"], weights=w)) if w.sum() > 0 else np.nan
    with_spend = out[out["spend"].notna() & (out["new_customers"] > 0)]
    cac = (with_spend["spend"].sum() / with_spend["new_customers"].sum()
           if with_spend["new_customers"].sum() > 0 else np.nan)
    row = {c: np.nan for c in out.columns}
    row.update(new_customers=n_new, spend=spend, cac=cac, ltv=ltv, orders_per_customer=opc,
               ltv_to_date=np.nan, observed_periods=0, complete=bool(len(comp) == (out["new_customers"] > 0).sum()),
               payback_reached=False, zero_spend=bool(spend == 0), no_spend_row=bool(out["no_spend_row"].any()),
               no_customers=bool(out["no_customers"].any()), existing=False)
    with np.errstate(divide="ignore", invalid="ignore"):
        row["ltv_cac"] = np.inf if cac == 0 and not np.isnan(ltv) else ltv / cac
        row["profit_per_customer"] = ltv - cac
        row["cost_per_order"] = cac / opc
    key: Any = ("total", "") if isinstance(out.index, pd.MultiIndex) else "total"
    idx = pd.MultiIndex.from_tuples([key], names=out.index.names) \
        if isinstance(out.index, pd.MultiIndex) else pd.Index([key], name=out.index.name)
    frame = pd.DataFrame([row], index=idx)
    return frame.astype({c: out[c].dtype for c in out.columns if out[c].dtype != float},
                        errors="ignore")


def _predicted(tx: "Transactions", ct: "CohortTable", models: tuple[Any, Any], horizon: int,
               period: str, margin: float, discount_rate: float, ltv_curve: np.ndarray,
               orders: np.ndarray, obs_all: np.ndarray, complete: np.ndarray,
               ltv_h: np.ndarray, orders_pc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Observed margin (and orders) through ``end`` plus the model's prediction for the
    rest of each incomplete cohort's horizon, from the day after ``end`` to the day the
    horizon ends."""
    end_day = inp.to_day(ct.end, "end")
    cohort_index = ct.sizes.index.get_level_values(-1) if ct.by else ct.sizes.index
    remaining = np.zeros(len(ct.sizes))
    for r in np.flatnonzero(~complete):
        start = inp.to_day(cohort_index[r].start_time, "cohort")
        horizon_end = per.period_start_day(
            per.period_of(start, period) + horizon, period)      # first day after the horizon
        remaining[r] = max(horizon_end - (end_day + 1), 0) / _PERIOD_DAYS[period]
    clv_sum, (exp_sum, _) = predicted_sums(tx, ct, models, remaining, period, margin,
                                           discount_rate)
    ltv_out, orders_out = ltv_h.copy(), orders_pc.copy()
    sizes = ct.sizes.to_numpy(dtype=float)
    for r in np.flatnonzero(~complete):
        done = int(obs_all[r]) - 1
        observed_value = ltv_curve[r, done] if done >= 0 else 0.0
        ltv_out[r] = observed_value + clv_sum[r] / sizes[r]
        orders_out[r] = (orders[r, :done + 1].sum() + exp_sum[r]) / sizes[r]
    return ltv_out, orders_out


def predicted_sums(tx: "Transactions", ct: "CohortTable", models: tuple[Any, Any],
                   remaining: np.ndarray, period: str, margin: float,
                   discount_rate: float) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Per row of ``ct``: the summed :func:`siyu.clv` of its customers over ``remaining``
    periods (fractional; 0: none), and (summed expected purchases, customers predicted).
    Customers are assigned to rows by the cohort table's own rule (``ct.existing_before``
    included).  A log with its own ``predicted_sums`` method (a ``siyu.dask.Transactions``)
    adds its parts'."""
    if hasattr(tx, "predicted_sums"):
        return tx.predicted_sums(ct, models, remaining, period, margin, discount_rate)
    from siyu.models import clv

    trans_model, spend_model = models
    model_unit = getattr(trans_model, "unit", None) or "D"
    end_day = inp.to_day(ct.end, "end")
    s = tx.summary(end=ct.end, unit=model_unit if model_unit in ("D", "W", "M") else "D")
    # cohort row of each customer in the summary (same rule as the cohort table)
    acq = per.acquisition(tx, end_day, ct.by, ct.existing_before)
    code = inp.PERIOD_CODES[period]
    cper = pd.Series(np.where(acq.group >= 0, _core.period_index(
        np.where(acq.group >= 0, acq.first_day, end_day), code), -1), index=tx.customer_ids)
    cper = cper.reindex(s.index).to_numpy()
    coh = per.period_labels(np.maximum(cper, 0), period)
    if ct.by:
        codes = pd.Series(acq.group, index=tx.customer_ids).reindex(s.index).to_numpy()
        labels = tx._log.channel_labels[np.maximum(codes, 0)]
        keys: pd.Index = pd.MultiIndex.from_arrays([labels, coh])
    else:
        keys = coh
    pos = pd.Series(np.arange(len(ct.sizes)), index=ct.sizes.index).reindex(keys).to_numpy()
    pos = np.where(cper >= 0, pos, np.nan)
    n = len(ct.sizes)
    clv_sum, exp_sum, count = np.zeros(n), np.zeros(n), np.zeros(n, dtype=np.int64)
    for r in np.flatnonzero(np.asarray(remaining) > 0):
        members = s[pos == r]
        if members.empty:
            continue
        pred = clv(trans_model, spend_model, members, horizon=float(remaining[r]), unit=period,
                   discount_rate=discount_rate, margin=margin)
        clv_sum[r] = pred["clv"].sum()
        exp_sum[r] = pred["expected_purchases"].sum()
        count[r] = len(members)
    return clv_sum, (exp_sum, count)


def channel_totals(tx: "Transactions", end: Any, by: str,
                   existing_before: Any = None) -> pd.DataFrame:
    """Per acquisition channel (of the first purchase): ``customers``, ``repeat``
    (customers with a repeat purchase), ``orders`` (purchase rows), ``revenue`` and
    ``years`` (customer-years observed, each customer at least one day) up to ``end``
    -- the sums behind :func:`compare_channels`.  Existing customers
    (``existing_before``) are left out.  A log with its own ``channel_totals`` method
    adds them over its parts.
    """
    if hasattr(tx, "channel_totals"):
        return tx.channel_totals(end=end, by=by, existing_before=existing_before)
    s = tx.summary(end=end)
    acq = per.acquisition(tx, inp.to_day(end, "end"), by, existing_before)
    grp = pd.Series(acq.group, index=tx.customer_ids).reindex(s.index).to_numpy()
    acquired = grp >= 0
    lab = np.asarray(tx._log.channel_labels, dtype=object)[np.maximum(grp, 0)][acquired]
    years = np.maximum(s["T"].to_numpy(dtype=float), 1.0)[acquired] / 365.25
    frame = pd.DataFrame({"ch": lab, "repeat": s["frequency"].to_numpy()[acquired] > 0,
                          "orders": s["n_orders"].to_numpy()[acquired],
                          "revenue": s["revenue"].to_numpy()[acquired] if "revenue" in s
                          else np.nan, "years": years})
    g = frame.groupby("ch", sort=False)
    return pd.DataFrame({"customers": g.size(), "repeat": g["repeat"].sum(),
                         "orders": g["orders"].sum(), "revenue": g["revenue"].sum(),
                         "years": g["years"].sum()})


def compare_channels(tx: "Transactions", by: str = "channel", spend: pd.DataFrame | None = None,
                     horizon: int = 12, reference: Any = None, margin: float = 1.0,
                     retention_ages: tuple[int, ...] = (1, 3, 6, 12),
                     existing_before: Any = None) -> pd.DataFrame:
    """One row per acquisition channel, with ratios to a reference channel.

    The table behind statements like "private-domain customers spend 2.3× more per
    year" or "repurchase 85% vs 40%".  Per channel (a customer's channel is that of
    their first purchase):

    - ``customers``; ``repurchase_rate``: share with a second purchase day by the end;
    - ``annual_spend_per_customer``: net revenue / customer-years observed (each
      customer from first purchase to the end of the log, at least one day) — an
      exposure-weighted yearly spend that does not favour older channels;
    - ``orders_per_customer``: purchase rows per customer;
    - ``retention_m{k}``: size-weighted share of customers active in month k after
      acquisition, over the monthly cohorts whose month k is observed in full (not
      yet observed and partial months are left out);
    - ``ltv``: cumulative margin per customer over the first ``horizon`` months,
      over cohorts observed that long in full (NaN when none);
    - ``cac``: spend / customers (when ``spend`` is given; see :func:`unit_economics`)
      and ``ltv_cac``.

    With ``existing_before``, customers whose first purchase is before that date are
    existing: counted in ``existing_customers`` and left out of every other column.
    Columns ``<metric>_vs_<reference>`` divide each metric by the reference channel's.

    Parameters
    ----------
    tx : Transactions
        Built with ``channel=``.
    by : str, default "channel"
        The channel column (its name, or ``"channel"``).
    spend : DataFrame, optional
        As in :func:`unit_economics` (monthly, with the channel column).
    horizon : int, default 12
        Months of LTV.
    reference : label, optional
        Channel to compare against (default: the first channel).
    margin : float, default 1.0
        Gross margin applied to LTV.
    retention_ages : tuple of int
        Months after acquisition at which retention is reported.
    existing_before : date-like, optional
        See above.

    Returns
    -------
    pandas.DataFrame
        Indexed by channel.

    Examples
    --------
    >>> import pandas as pd, siyu
    >>> df = siyu.datasets.load_online_retail()
    >>> df["channel"] = (df["customer_id"] % 2).map({0: "public", 1: "private"})
    >>> tx = siyu.Transactions(df, customer="customer_id", time="date", amount="amount",
    ...                        channel="channel")
    >>> cmp = siyu.compare_channels(tx, reference="public", existing_before="2011-01-01")
    >>> list(cmp.index), int(cmp["existing_customers"].sum())
    (['private', 'public'], 885)
    """
    horizon = _check_positive_int(horizon, "horizon")
    margin = _check_margin(margin)
    ages = per.whole_numbers(retention_ages, "retention_ages", 0, _MAX_AGE, "(1, 3, 6, 12)",
                             unit="months", sort=False).tolist()
    ct = tx.cohorts(period="M", by=by, margin=margin, existing_before=existing_before)
    if ct.by is None:
        raise ValueError("compare_channels needs a channel column: pass channel= to "
                         "siyu.Transactions and by= its name")
    level = ct.sizes.index.get_level_values(0)
    channels = pd.Index(pd.unique(level), name=ct.by)
    tot = channel_totals(tx, end=ct.end, by=ct.by,
                         existing_before=existing_before).reindex(channels)
    out = pd.DataFrame(index=channels)
    out["customers"] = tot["customers"].astype(np.int64)
    out["repurchase_rate"] = tot["repeat"] / tot["customers"]
    out["annual_spend_per_customer"] = tot["revenue"] / tot["years"]
    out["orders_per_customer"] = tot["orders"] / tot["customers"]
    # size-weighted over the cohorts whose cell is complete at that age, per channel
    row_ch = channels.get_indexer(level)
    n_ch = len(channels)
    ok = ct.complete.to_numpy()
    active = np.nan_to_num(ct.active.to_numpy(), nan=0.0)
    sizes = ct.sizes.to_numpy(dtype=float)
    ltv_tot = np.nan_to_num(ct.ltv.to_numpy(), nan=0.0) * sizes[:, None]
    n_ages = active.shape[1]

    def pooled(values: np.ndarray, age: int) -> np.ndarray:
        if age >= n_ages:
            return np.full(n_ch, np.nan)
        w = np.bincount(row_ch, weights=sizes * ok[:, age], minlength=n_ch)
        v = np.bincount(row_ch, weights=values[:, age] * ok[:, age], minlength=n_ch)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(w > 0, v / np.where(w > 0, w, 1.0), np.nan)

    for age in ages:
        out[f"retention_m{age}"] = pooled(active, age)
    out["ltv"] = pooled(ltv_tot, horizon - 1)
    if spend is not None:
        ue = unit_economics(tx, spend, period="M", by=by, margin=margin, horizon=horizon,
                            existing_before=existing_before)
        ue = ue[~ue["existing"].to_numpy(dtype=bool)].drop(index="total", level=0)
        sp = ue.groupby(level=0)[["spend", "new_customers"]].sum(min_count=1)
        sp.index = sp.index.astype(object)
        cac = (sp["spend"] / sp["new_customers"]).reindex([str(c) for c in channels])
        out["cac"] = cac.to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            out["ltv_cac"] = out["ltv"] / out["cac"]
    if existing_before is not None:
        out["existing_customers"] = ct.existing.sizes.droplevel(-1).reindex(
            channels, fill_value=0).to_numpy(np.int64) if ct.existing is not None else 0
    ref = channels[0] if reference is None else reference
    if not isinstance(ref, Hashable) or isinstance(ref, np.ndarray) or ref not in out.index:
        raise ValueError(f"reference channel {per.show(ref)} not found; channels are {list(channels)}")
    metrics = [c for c in out.columns if c not in ("customers", "existing_customers")]
    with np.errstate(divide="ignore", invalid="ignore"):
        for c in metrics:
            out[f"{c}_vs_{ref}"] = out[c] / out.loc[ref, c]
    out.attrs.update(reference=ref, horizon=horizon, end=ct.end, by=ct.by,
                     n_existing=ct.n_existing)
    return out
