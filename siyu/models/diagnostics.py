"""Diagnostics of fitted purchase models: the tracking plot's data, period transactions,
calibration vs holdout, frequency/recency matrices, P(alive) histories, holdout errors,
model comparison and fits by segment.

Every function returns a plain pandas object (plots in :mod:`siyu.model_plots` take these
frames); nothing loops over customers in Python.
"""
from __future__ import annotations

import math
import warnings
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from siyu import _core
from siyu import _input as inp
from siyu.models._base import (PRED_PALIVE, UNIT_DAYS, BaseFitter, ConvergenceError, _pick,
                               check_unit, validate_pred)
from siyu.models._rft import RFTModel
from siyu.models.bgbb import BetaGeoBetaBinom

_INT64_MIN = np.iinfo(np.int64).min
_CALENDAR = {"M": inp.PERIOD_CODES["M"], "Q": inp.PERIOD_CODES["Q"], "Y": inp.PERIOD_CODES["Y"]}
_BLOCKS = {"D": 1, "W": 7}


def _fitted_rft(model: Any, what: str) -> RFTModel:
    if not isinstance(model, RFTModel):
        raise TypeError(f"{what} needs a fitted BetaGeo, ModifiedBetaGeo or ParetoNBD model, got "
                        f"{type(model).__name__}")
    model._check_fitted()
    return model


def _model_unit(model: Any, what: str) -> str:
    unit = check_unit(model.unit, "model.unit")
    if unit is None:
        raise ValueError(f"{what}: the model's time unit is unknown; fit it on a summary from "
                         "tx.summary(..., unit=...) / tx.calibration_holdout(...) or set "
                         "model.unit = 'W' (the unit of the data it was fitted on)")
    return unit


def _period_bounds(start: int, end: int, freq: str) -> tuple[np.ndarray, np.ndarray]:
    """Day bounds [b_0 = start, ..., b_K = end + 1] of the periods and a partial flag per
    period (shorter than a full period: cut by start or end)."""
    last = end + 1
    if freq in _BLOCKS:
        L = _BLOCKS[freq]
        K = -(-(last - start) // L)
        b = start + L * np.arange(K + 1, dtype=np.int64)
        b[-1] = min(int(b[-1]), last)
        partial = np.diff(b) < L
        return b, partial
    code = _CALENDAR[freq]
    p0, p1 = (int(v) for v in _core.period_index(np.array([start, end], dtype=np.int64), code))
    inner = _core.period_start(np.arange(p0 + 1, p1 + 1, dtype=np.int64), code)
    b = np.concatenate(([start], inner, [last])).astype(np.int64)
    full_first = int(_core.period_start(np.array([p0], dtype=np.int64), code)[0]) == start
    full_last = int(_core.period_start(np.array([p1 + 1], dtype=np.int64), code)[0]) == last
    partial = np.zeros(b.size - 1, dtype=bool)
    partial[0] |= not full_first
    partial[-1] |= not full_last
    return b, partial


def expected_cumulative_transactions(model: Any, tx: Any, calibration_end: Any, end: Any = None,
                                     freq: str = "W", start: Any = None) -> pd.DataFrame:
    """Actual and expected repeat transactions per period: the data of the tracking plot.

    Actual: repeat purchase occasions (days with a purchase after a customer's first, as
    in :meth:`Transactions.summary`) per period, counted in C from the log.  Expected: the
    sum over customers of the model's E[X(t)] for a new customer, with t the time from the
    customer's first purchase to the end of each period (customers grouped by their day of
    first purchase, so the cost does not grow with the number of customers).  Only
    customers whose first purchase is on or before ``calibration_end`` -- the population
    the model was fitted on -- are counted in either series.

    Parameters
    ----------
    model : BetaGeo, ModifiedBetaGeo or ParetoNBD
        Fitted on the calibration summary (its ``unit`` converts days to model time).
    tx : Transactions
        The log.
    calibration_end : date-like
        End of the calibration period (marks the holdout periods and picks the customers).
    end : date-like, optional
        Last day tracked (default: the last day of the log).
    freq : {"D", "W", "M", "Q", "Y"}, default "W"
        Period: "D" days and "W" 7-day weeks counted from ``start`` (as BTYD and lifetimes
        do), or calendar months / quarters / years (the first may be partial).
    start : date-like, optional
        First day of period 1 (default: the first day of the log).  Purchases before it are
        not tracked; the expectation then counts only purchases from ``start`` on.

    Returns
    -------
    DataFrame indexed by period number (1, 2, ...) with ``start`` (first day), ``actual``,
    ``expected`` (cumulative), ``actual_incremental``, ``expected_incremental``,
    ``holdout`` (period starts after ``calibration_end``) and ``partial`` (a period cut
    short by ``start``/``end``; its counts cover fewer days, so do not compare it with
    full periods).  ``attrs``: freq, unit, calibration_end, end, n_customers, n_excluded.

    Examples
    --------
    >>> import siyu
    >>> tx = siyu.Transactions(siyu.datasets.load_cdnow(), customer="customer_id",
    ...                        time="date", amount="amount")
    >>> bg = siyu.BetaGeo().fit(tx.summary(end="1997-09-30", unit="W"))
    >>> tr = siyu.expected_cumulative_transactions(bg, tx, "1997-09-30", "1998-06-30")
    >>> int(tr["actual"].iloc[-1]), len(tr)
    (4339, 78)
    """
    model = _fitted_rft(model, "expected_cumulative_transactions")
    unit = _model_unit(model, "expected_cumulative_transactions")
    if not isinstance(freq, str) or freq.upper() not in ("D", "W", "M", "Q", "Y"):
        raise ValueError(f"freq must be one of 'D', 'W', 'M', 'Q', 'Y', got {freq!r}")
    freq = freq.upper()
    log = tx._log
    if log.day.size == 0:
        raise ValueError("the log is empty: nothing to track")
    cal_day = tx._end_day(calibration_end, "calibration_end")
    end_day = tx._end_day(end, "end")
    start_day = int(log.day.min()) if start is None else inp.to_day(start, "start")
    if end_day < start_day:
        raise ValueError(f"end ({inp.day_to_timestamp(end_day).date()}) is before start "
                         f"({inp.day_to_timestamp(start_day).date()})")
    bounds, partial = _period_bounds(start_day, end_day, freq)
    first, counts = _core.trust_tracking(log.day, log.amount, log.offsets, cal_day, bounds)
    kept = first != _INT64_MIN
    if not kept.any():
        raise ValueError("no customer made a first purchase on or before calibration_end")
    births, n_born = np.unique(first[kept], return_counts=True)
    dpu = UNIT_DAYS[unit]
    ends = bounds[1:].astype(float)
    t0 = np.clip((start_day - births) / dpu, 0.0, None)
    E0 = np.asarray(model.expected_purchases(t0), dtype=float).reshape(-1)
    base = float(E0 @ n_born)
    expected = np.empty(ends.size)
    step = max(1, 2_000_000 // births.size)          # periods per block of evaluations
    for lo in range(0, ends.size, step):
        e = ends[lo:lo + step]
        t = np.clip((e[:, None] - births[None, :]) / dpu, 0.0, None)
        E = np.asarray(model.expected_purchases(t.reshape(-1)), dtype=float).reshape(t.shape)
        expected[lo:lo + step] = E @ n_born.astype(float) - base
    actual = np.cumsum(counts)
    K = counts.size
    out = pd.DataFrame({
        "start": inp.days_to_dates(bounds[:-1]),
        "actual": actual.astype(np.int64),
        "expected": expected,
        "actual_incremental": counts.astype(np.int64),
        "expected_incremental": np.diff(np.concatenate(([0.0], expected))),
        "holdout": bounds[:-1] > cal_day,
        "partial": partial,
    }, index=pd.RangeIndex(1, K + 1, name="period"))
    out.attrs.update({"freq": freq, "unit": unit, "model": type(model).__name__,
                      "calibration_end": inp.day_to_timestamp(cal_day),
                      "start": inp.day_to_timestamp(start_day),
                      "end": inp.day_to_timestamp(end_day),
                      "n_customers": int(kept.sum()), "n_excluded": int((~kept).sum())})
    return out


def _summary_cols(summary: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = np.asarray(_pick(summary, ("frequency_cal", "frequency", "x"), "frequency"), dtype=float)
    tx = np.asarray(_pick(summary, ("recency_cal", "recency", "t_x"), "recency"), dtype=float)
    T = np.asarray(_pick(summary, ("T_cal", "T", "n_periods", "periods"), "T"), dtype=float)
    return x, tx, T


def _check_summary_unit(model: Any, summary: pd.DataFrame) -> None:
    du = summary.attrs.get("unit")
    if du is not None and model.unit is not None and str(du).upper() != model.unit:
        raise ValueError(f"the summary is in unit {du!r} but the model was fitted in "
                         f"{model.unit!r}; recompute the summary with unit={model.unit!r}")


def _freq_labels(max_frequency: int) -> list[str]:
    return [str(k) for k in range(max_frequency)] + [f"{max_frequency}+"]


def _check_max(value: Any, name: str, lo: int = 1, hi: int = 10_000) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a whole number, got {value!r}")
    if not (lo <= int(value) <= hi):
        raise ValueError(f"{name} must be between {lo} and {hi}, got {value}")
    return int(value)


def period_transactions(model: Any, summary: pd.DataFrame, max_frequency: int = 7) -> pd.DataFrame:
    """Customers by number of repeat transactions in the calibration period: actual counts
    against the model's expectation (the calibration fit plot of BTYD).

    The expected number of customers with k repeat transactions is sum_i P(X(T_i) = k) over
    the customers' ages T_i (their ``T``, or ``n_periods`` for BG/BB); the last row collects
    ``max_frequency`` and more, so both columns sum to the number of customers.

    Returns
    -------
    DataFrame indexed by frequency label ("0", ..., "6", "7+") with ``actual`` and
    ``expected`` numbers of customers.
    """
    if not isinstance(model, (RFTModel, BetaGeoBetaBinom)):
        raise TypeError("period_transactions needs a fitted BetaGeo, ModifiedBetaGeo, ParetoNBD "
                        "or BetaGeoBetaBinom model")
    model._check_fitted()
    if not isinstance(summary, pd.DataFrame):
        raise TypeError("summary must be the DataFrame the model was fitted on")
    _check_summary_unit(model, summary)
    K = _check_max(max_frequency, "max_frequency", 1, 1000)
    x, _, T = _summary_cols(summary)
    w = summary["weights"].to_numpy(dtype=float) if "weights" in summary.columns else \
        np.ones(x.size)
    N = float(w.sum())
    actual = np.array([w[x == k].sum() for k in range(K)] + [w[x >= K].sum()])
    uT, inv = np.unique(T, return_inverse=True)
    nT = np.bincount(inv, weights=w)
    ks = np.arange(K, dtype=float)
    P = np.asarray(model.purchase_pmf(ks[None, :], uT[:, None]), dtype=float)  # (nT, K)
    exp_k = nT @ P
    expected = np.concatenate((exp_k, [N - exp_k.sum()]))
    out = pd.DataFrame({"actual": actual, "expected": expected},
                       index=pd.Index(_freq_labels(K), name="frequency"))
    out.attrs.update({"model": type(model).__name__, "n_customers": N,
                      "max_frequency": K})
    return out


def calibration_vs_holdout(model: Any, calibration_holdout: pd.DataFrame, by: str = "frequency",
                           max_frequency: int = 7, bins: Any = None) -> pd.DataFrame:
    """Mean holdout purchases per group of customers against the model's conditional
    expectation (BTYD's ``PlotFreqVsConditionalExpectedFrequency`` and
    ``PlotRecVsConditionalExpectedFrequency``; lifetimes'
    ``plot_calibration_purchases_vs_holdout_purchases``).

    Parameters
    ----------
    model : fitted BetaGeo, ModifiedBetaGeo or ParetoNBD
        Fitted on the calibration columns of ``calibration_holdout``.
    calibration_holdout : DataFrame
        From ``tx.calibration_holdout(...)``: frequency_cal, recency_cal, T_cal,
        frequency_holdout and duration_holdout.
    by : {"frequency", "recency"}, default "frequency"
        Group by calibration frequency (0, 1, ..., ``max_frequency - 1``, then
        ``max_frequency``+) or by calibration recency.
    max_frequency : int, default 7
        First frequency pooled with all larger ones.
    bins : int or sequence, optional
        Recency groups: a number of equal-width bins over [0, max T_cal] or explicit bin
        edges; default whole model time units (recency 0 <= r < 1, 1 <= r < 2, ...).

    Returns
    -------
    DataFrame indexed by group with ``n_customers``, ``actual`` (mean holdout purchases)
    and ``expected`` (mean conditional expectation over each customer's holdout duration).

    Examples
    --------
    >>> import siyu
    >>> tx = siyu.Transactions(siyu.datasets.load_cdnow(), customer="customer_id",
    ...                        time="date", amount="amount")
    >>> ch = tx.calibration_holdout("1997-09-30", "1998-06-30", unit="W")
    >>> bg = siyu.BetaGeo().fit(ch)
    >>> t = siyu.calibration_vs_holdout(bg, ch)
    >>> list(t.index)
    ['0', '1', '2', '3', '4', '5', '6', '7+']
    >>> int(t["n_customers"].sum())
    2357
    """
    model = _fitted_rft(model, "calibration_vs_holdout")
    ch = calibration_holdout
    if not isinstance(ch, pd.DataFrame):
        raise TypeError("calibration_holdout must be the DataFrame of tx.calibration_holdout()")
    for c in ("frequency_holdout", "duration_holdout"):
        if c not in ch.columns:
            raise ValueError(f"calibration_holdout has no {c!r} column; build it with "
                             "tx.calibration_holdout(calibration_end, observation_end)")
    _check_summary_unit(model, ch)
    x, tx_, T = _summary_cols(ch)
    validate_pred(x, tx_, T)
    actual = ch["frequency_holdout"].to_numpy(dtype=float)
    dur = ch["duration_holdout"].to_numpy(dtype=float)
    expected = np.asarray(model.conditional_expected_purchases(dur, x, tx_, T), dtype=float)
    if by == "frequency":
        K = _check_max(max_frequency, "max_frequency", 1, 1000)
        code = np.minimum(x, K).astype(np.int64)
        labels = _freq_labels(K)
        name = "frequency_cal"
    elif by == "recency":
        if bins is None:
            edges = np.arange(0.0, math.floor(float(T.max())) + 2.0)
        elif isinstance(bins, (int, np.integer)) and not isinstance(bins, bool):
            nb = _check_max(bins, "bins", 1, 10_000)
            edges = np.linspace(0.0, float(T.max()), nb + 1)
            edges[-1] = np.nextafter(edges[-1], np.inf)
        else:
            edges = np.asarray(bins, dtype=float)
            if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
                raise ValueError("bins must be a number of bins or increasing bin edges")
        if tx_.min() < edges[0] or tx_.max() >= edges[-1]:
            raise ValueError(f"recency values lie outside the bin edges [{edges[0]:g}, "
                             f"{edges[-1]:g}); widen the edges")
        code = np.searchsorted(edges, tx_, side="right") - 1
        labels = [f"[{edges[i]:g}, {edges[i + 1]:g})" for i in range(edges.size - 1)]
        name = "recency_cal"
    else:
        raise ValueError(f"by must be 'frequency' or 'recency', got {by!r}")
    nlab = len(labels)
    n = np.bincount(code, minlength=nlab).astype(np.int64)
    sa = np.bincount(code, weights=actual, minlength=nlab)
    se = np.bincount(code, weights=expected, minlength=nlab)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = pd.DataFrame({"n_customers": n, "actual": sa / n, "expected": se / n},
                           index=pd.Index(labels, name=name))
    if by == "recency":
        out = out[out["n_customers"] > 0]
    out.attrs.update({"model": type(model).__name__, "by": by, "unit": model.unit,
                      "actual_total": float(actual.sum()), "expected_total": float(expected.sum())})
    return out


def _grid(model: Any, summary: pd.DataFrame | None, T: Any, max_frequency: Any,
          max_recency: Any) -> tuple[float, np.ndarray, np.ndarray]:
    if summary is not None:
        if not isinstance(summary, pd.DataFrame):
            raise TypeError("summary must be a DataFrame (tx.summary() output)")
        _check_summary_unit(model, summary)
        x, tx_, TT = _summary_cols(summary)
    if T is None:
        if summary is None:
            raise TypeError("pass T (the customers' age) or summary (T = its largest T)")
        T = float(TT.max())
    T = float(T)
    if not (T > 0) or not math.isfinite(T):
        raise ValueError("T must be a finite number > 0")
    if max_frequency is None:
        if summary is None:
            raise TypeError("pass max_frequency or summary")
        max_frequency = int(x.max())
    mf = _check_max(max_frequency, "max_frequency", 0, 10_000)
    mr = math.floor(T) if max_recency is None else float(max_recency)
    if not (0 <= mr <= T):
        raise ValueError(f"max_recency must be between 0 and T={T:g}")
    rec = np.arange(0.0, math.floor(mr) + 1.0)
    if rec.size > 100_000:
        raise ValueError("the recency grid has more than 100,000 rows; pass a smaller max_recency")
    return T, np.arange(mf + 1, dtype=float), rec


def _matrix(model: Any, what: str, t: float, T: float, freqs: np.ndarray,
            rec: np.ndarray) -> pd.DataFrame:
    F, R = np.meshgrid(freqs, rec)
    valid = ~((F == 0) & (R > 0))
    Z = np.full(F.shape, np.nan)
    f, r = F[valid], R[valid]
    if what == "expected":
        Z[valid] = np.asarray(model.conditional_expected_purchases(t, f, r, T), dtype=float)
    else:
        Z[valid] = np.asarray(model.probability_alive(f, r, T), dtype=float)
    out = pd.DataFrame(Z, index=pd.Index(rec, name="recency"),
                       columns=pd.Index(freqs.astype(np.int64), name="frequency"))
    out.attrs.update({"model": type(model).__name__, "T": T, "unit": model.unit, "what": what})
    if what == "expected":
        out.attrs["t"] = t
    return out


def frequency_recency_matrix(model: Any, summary: pd.DataFrame | None = None, t: float = 1.0,
                             T: float | None = None, max_frequency: int | None = None,
                             max_recency: float | None = None) -> pd.DataFrame:
    """Expected purchases in the next ``t`` time units for every (frequency, recency) of a
    customer observed for ``T`` (lifetimes' ``plot_frequency_recency_matrix``).

    Rows: recency 0, 1, ..., ``max_recency`` (model time units); columns: frequency 0, ...,
    ``max_frequency``.  Frequency 0 with recency > 0 cannot happen and is NaN.
    ``T`` defaults to the largest T of ``summary``, ``max_frequency`` to its largest
    frequency, ``max_recency`` to T.
    """
    model = _fitted_rft(model, "frequency_recency_matrix")
    t = float(t)
    if not (t > 0) or not math.isfinite(t):
        raise ValueError("t must be a finite number > 0")
    T_, freqs, rec = _grid(model, summary, T, max_frequency, max_recency)
    return _matrix(model, "expected", t, T_, freqs, rec)


def probability_alive_matrix(model: Any, summary: pd.DataFrame | None = None,
                             T: float | None = None, max_frequency: int | None = None,
                             max_recency: float | None = None) -> pd.DataFrame:
    """P(alive) for every (frequency, recency) of a customer observed for ``T``
    (lifetimes' ``plot_probability_alive_matrix``); same grid as
    :func:`frequency_recency_matrix`."""
    model = _fitted_rft(model, "probability_alive_matrix")
    T_, freqs, rec = _grid(model, summary, T, max_frequency, max_recency)
    return _matrix(model, "alive", 0.0, T_, freqs, rec)


def probability_alive_history(model: Any, tx: Any, customer: Any, end: Any = None) -> pd.DataFrame:
    """One customer's P(alive) on every day from their first purchase to ``end``.

    On day d the history is the customer's purchase occasions up to and including d
    (frequency = repeat occasions, recency = time of the last one, T = time since the
    first purchase, in the model's unit), exactly as :meth:`Transactions.summary` would
    give with ``end=d``; on the first day T = 0.

    Returns
    -------
    DataFrame indexed by date with ``frequency``, ``recency``, ``T``, ``purchase`` (an
    occasion that day) and ``p_alive``.
    """
    model = _fitted_rft(model, "probability_alive_history")
    unit = _model_unit(model, "probability_alive_history")
    log = tx._log
    try:
        code = log.ids.get_loc(customer)
    except KeyError:
        raise ValueError(f"customer {customer!r} is not in the log (ids are matched exactly, "
                         "e.g. '00123' and 123 differ)") from None
    if not isinstance(code, (int, np.integer)):
        raise ValueError(f"customer {customer!r} matches several ids")
    lo, hi = int(log.offsets[code]), int(log.offsets[code + 1])
    days = log.day[lo:hi]
    if log.amount is not None:
        days = days[log.amount[lo:hi] >= 0]
    occ = np.unique(days)
    if occ.size == 0:
        raise ValueError(f"customer {customer!r} has no purchase (only refunds)")
    first = int(occ[0])
    end_day = tx._end_day(end)
    if end_day < first:
        raise ValueError(f"end is before the customer's first purchase "
                         f"({inp.day_to_timestamp(first).date()})")
    if end_day - first > 100_000:
        raise ValueError("the history spans more than 100,000 days; pass a later first day or "
                         "an earlier end")
    d = np.arange(first, end_day + 1, dtype=np.int64)
    n_upto = np.searchsorted(occ, d, side="right")          # occasions on or before d
    x = (n_upto - 1).astype(float)
    last = occ[n_upto - 1]
    dpu = UNIT_DAYS[unit]
    rec = (last - first) / dpu
    T = (d - first) / dpu
    p = np.asarray(model._predict(PRED_PALIVE, [x, rec, T], ["frequency", "recency", "T"]),
                   dtype=float)
    out = pd.DataFrame({"frequency": x.astype(np.int64), "recency": rec, "T": T,
                        "purchase": np.isin(d, occ), "p_alive": p},
                       index=pd.DatetimeIndex(inp.days_to_dates(d), name="date"))
    out.attrs.update({"model": type(model).__name__, "customer": customer, "unit": unit})
    return out


def holdout_errors(model: Any, calibration_holdout: pd.DataFrame) -> pd.Series:
    """How far the conditional expectation is from the holdout purchases: per-customer MAE,
    RMSE and bias (mean of predicted - actual) and the totals predicted vs actual.

    Examples
    --------
    >>> import siyu
    >>> tx = siyu.Transactions(siyu.datasets.load_cdnow(), customer="customer_id",
    ...                        time="date", amount="amount")
    >>> ch = tx.calibration_holdout("1997-09-30", "1998-06-30", unit="W")
    >>> e = siyu.holdout_errors(siyu.BetaGeo().fit(ch), ch)
    >>> int(e["actual_total"])
    1882
    """
    model = _fitted_rft(model, "holdout_errors")
    ch = calibration_holdout
    if not isinstance(ch, pd.DataFrame) or "frequency_holdout" not in ch.columns:
        raise TypeError("calibration_holdout must be the DataFrame of tx.calibration_holdout()")
    _check_summary_unit(model, ch)
    x, tx_, T = _summary_cols(ch)
    actual = ch["frequency_holdout"].to_numpy(dtype=float)
    dur = ch["duration_holdout"].to_numpy(dtype=float)
    pred = np.asarray(model.conditional_expected_purchases(dur, x, tx_, T), dtype=float)
    err = pred - actual
    out = pd.Series({"n_customers": float(actual.size), "mae": float(np.abs(err).mean()),
                     "rmse": float(np.sqrt((err ** 2).mean())), "bias": float(err.mean()),
                     "predicted_total": float(pred.sum()), "actual_total": float(actual.sum()),
                     "ratio": float(pred.sum() / actual.sum()) if actual.sum() > 0 else np.nan})
    out.attrs.update({"model": type(model).__name__})
    return out


def chi2_sf(stat: float, df: int) -> float:
    """Upper tail of the chi-squared distribution for a whole number of degrees of freedom,
    Q(df/2, stat/2) in closed form: sum_{i<df/2} h^i e^-h / i! for even df; for odd df
    erfc(sqrt(h)) + sum_{s=1/2, 3/2, ...<df/2-1} h^s e^-h / Gamma(s+1), h = stat/2."""
    if isinstance(df, bool) or not isinstance(df, (int, np.integer)) or not (1 <= df <= 10**6):
        raise ValueError("df must be a whole number between 1 and 1000000")
    stat = float(stat)
    if not (stat > 0):
        return 1.0
    h = stat / 2.0
    lh = math.log(h)
    if df % 2 == 0:
        sf = sum(math.exp(i * lh - h - math.lgamma(i + 1.0)) for i in range(df // 2))
    else:
        sf = math.erfc(math.sqrt(h))
        sf += sum(math.exp((i + 0.5) * lh - h - math.lgamma(i + 1.5)) for i in range(df // 2))
    return min(1.0, max(0.0, sf))


def _nests(full: BaseFitter, restricted: BaseFitter) -> bool:
    """True when ``full`` is the same model as ``restricted`` with extra parameters (e.g.
    covariate effects): the restricted model is full with those parameters at zero."""
    if type(full) is not type(restricted):
        return False
    a, b = list(full.params_.index), list(restricted.params_.index)
    return len(a) > len(b) and set(b) <= set(a)


def compare_models(models: Any, calibration_holdout: pd.DataFrame, nested: Any = None,
                   fit: bool = True) -> pd.DataFrame:
    """Fit several purchase models on the same calibration data and compare them.

    Parameters
    ----------
    models : list or dict of models
        E.g. ``[BetaGeo(), ParetoNBD(), ModifiedBetaGeo()]`` (names: the class names) or
        ``{"BG": BetaGeo(), ...}``.  With ``fit=True`` each is fitted in place on the
        calibration columns.
    calibration_holdout : DataFrame
        From ``tx.calibration_holdout(...)``.
    nested : list of (restricted, full) pairs, optional
        Pairs of model names for a likelihood-ratio test, where ``restricted`` is ``full``
        with some parameters fixed (e.g. a model without covariates and the same model with
        them).  Same-class pairs whose parameters are a subset are found automatically.
        BG/NBD, MBG/NBD and Pareto/NBD are *not* nested in each other (none is a special
        case of another: BG/NBD customers drop out only after a repeat purchase, MBG/NBD
        customers also right after the first, Pareto/NBD customers at an exponential time),
        so compare those by AIC/BIC and holdout errors; an LR test between them is invalid.
    fit : bool, default True
        Fit the models first (False: use them as fitted).

    Returns
    -------
    DataFrame indexed by model name: n_params, log_likelihood, AIC, BIC, one column per
    parameter name (NaN where a model lacks it), the holdout errors (mae, rmse, bias,
    predicted_total, actual_total) and, for a model that nests another, lr_vs,
    lr_statistic (2 x the log-likelihood gain), lr_df and lr_p_value (chi-squared).

    Examples
    --------
    >>> import siyu
    >>> tx = siyu.Transactions(siyu.datasets.load_cdnow(), customer="customer_id",
    ...                        time="date", amount="amount")
    >>> ch = tx.calibration_holdout("1997-09-30", "1998-06-30", unit="W")
    >>> t = siyu.compare_models([siyu.BetaGeo(), siyu.ParetoNBD(), siyu.ModifiedBetaGeo()], ch)
    >>> t["log_likelihood"].round(1).to_dict()
    {'BetaGeo': -9582.4, 'ParetoNBD': -9595.0, 'ModifiedBetaGeo': -9582.1}
    """
    if isinstance(models, Mapping):
        items = [(str(k), m) for k, m in models.items()]
    elif isinstance(models, Sequence) and not isinstance(models, str):
        items, seen = [], {}
        for m in models:
            base = type(m).__name__
            seen[base] = seen.get(base, 0) + 1
            items.append((base if seen[base] == 1 else f"{base}#{seen[base]}", m))
    else:
        raise TypeError("models must be a list or dict of siyu models")
    if not items:
        raise ValueError("pass at least one model")
    for name, m in items:
        if not isinstance(m, RFTModel):
            raise TypeError(f"{name}: compare_models takes BetaGeo, ModifiedBetaGeo or ParetoNBD "
                            f"models, got {type(m).__name__}")
    if not isinstance(calibration_holdout, pd.DataFrame):
        raise TypeError("calibration_holdout must be the DataFrame of tx.calibration_holdout()")
    if fit:
        for name, m in items:
            m.fit(calibration_holdout)
    rows, pnames = [], []
    for name, m in items:
        m._check_fitted()
        for p in m.params_.index:
            if p not in pnames:
                pnames.append(p)
    for name, m in items:
        row = {"n_params": len(m.params_), "log_likelihood": m.log_likelihood_, "AIC": m.AIC_,
               "BIC": m.BIC_}
        row.update({p: float(m.params_[p]) if p in m.params_.index else np.nan for p in pnames})
        err = holdout_errors(m, calibration_holdout)
        row.update({k: err[k] for k in ("mae", "rmse", "bias", "predicted_total",
                                        "actual_total")})
        rows.append(row)
    out = pd.DataFrame(rows, index=pd.Index([n for n, _ in items], name="model"))
    byname = dict(items)
    pairs = []
    if nested is not None:
        for pair in nested:
            if len(pair) != 2 or pair[0] not in byname or pair[1] not in byname:
                raise ValueError(f"nested pairs must be (restricted, full) model names from "
                                 f"{list(byname)}, got {pair!r}")
            r, f = byname[pair[0]], byname[pair[1]]
            if len(f.params_) <= len(r.params_):
                raise ValueError(f"{pair[1]} must have more parameters than {pair[0]} to nest it")
            pairs.append((pair[0], pair[1]))
    for rn, r in items:
        for fn_, f in items:
            if rn != fn_ and _nests(f, r) and (rn, fn_) not in pairs:
                pairs.append((rn, fn_))
    out["lr_vs"] = None
    out["lr_statistic"] = np.nan
    out["lr_df"] = np.nan
    out["lr_p_value"] = np.nan
    for rn, fn_ in pairs:
        r, f = byname[rn], byname[fn_]
        stat = max(0.0, 2.0 * (f.log_likelihood_ - r.log_likelihood_))
        df = len(f.params_) - len(r.params_)
        out.loc[fn_, ["lr_vs", "lr_statistic", "lr_df", "lr_p_value"]] = [
            rn, stat, float(df), chi2_sf(stat, df)]
    out.attrs.update({"unit": calibration_holdout.attrs.get("unit"),
                      "nested_pairs": pairs,
                      "note": "BG/NBD, MBG/NBD and Pareto/NBD are not nested: compare them by "
                              "AIC/BIC and holdout errors"})
    return out


def fit_by(model: Any, summary: pd.DataFrame, by: Any, min_customers: int = 20) -> pd.DataFrame:
    """Fit one copy of ``model`` per segment (e.g. per acquisition channel) and tabulate
    the parameters, with a likelihood-ratio test of "one set of parameters for all".

    Parameters
    ----------
    model : siyu model (fitted or not)
        The template: its class and settings (penalizer, maxiter, tol) are copied.
    summary : DataFrame
        The data the model's ``fit`` takes (a summary, a calibration/holdout frame, ...).
    by : str or array-like
        A column of ``summary`` or one label per row.
    min_customers : int, default 20
        Segments with fewer rows are skipped (listed in ``attrs["skipped"]``).

    Returns
    -------
    DataFrame indexed by segment: n_customers, log_likelihood, AIC, converged, each
    parameter and its standard error (``<name>_se``).  ``attrs``: ``models`` (the fitted
    copies), ``pooled_log_likelihood`` (one fit on all segments), ``lr_statistic``,
    ``lr_df`` and ``lr_p_value`` (segments differ vs one model for all; the pooled model is
    the segmented one with equal parameters, so the test is valid), ``skipped``.

    Examples
    --------
    >>> import numpy as np, siyu
    >>> from siyu.datasets.simulate import simulate
    >>> s = simulate({"r": 0.25, "alpha": 4.4, "a": 0.8, "b": 2.4}, 4000, T=52, seed=2,
    ...              unit="W", acquisition=26, output="summary")
    >>> s["channel"] = np.where(s.index % 2 == 0, "wechat", "douyin")
    >>> t = siyu.fit_by(siyu.BetaGeo(), s, by="channel")
    >>> list(t.index), int(t["n_customers"].sum())
    (['douyin', 'wechat'], 4000)
    """
    if not isinstance(model, BaseFitter):
        raise TypeError("model must be a siyu model such as siyu.BetaGeo()")
    if not isinstance(summary, pd.DataFrame):
        raise TypeError("summary must be a DataFrame")
    if isinstance(by, str):
        if by not in summary.columns:
            raise ValueError(f"summary has no column {by!r}; add the segment column first, e.g. "
                             f"summary.join(customers[{by!r}])")
        labels = summary[by]
        name = by
    else:
        labels = pd.Series(np.asarray(by), index=summary.index)
        if len(labels) != len(summary):
            raise ValueError(f"by has {len(labels)} labels for {len(summary)} rows")
        name = getattr(by, "name", None) or "segment"
    if labels.isna().any():
        raise ValueError(f"{name} has {int(labels.isna().sum())} missing labels; fill them "
                         "(e.g. with 'unknown') or drop those rows")
    mc = _check_max(min_customers, "min_customers", 1, 10**9)

    def clone() -> BaseFitter:
        c = type(model)(penalizer=model.penalizer, maxiter=model.maxiter, tol=model.tol)
        if hasattr(model, "penalizer_kind"):
            c.penalizer_kind = model.penalizer_kind
        return c

    def sub(mask: np.ndarray) -> pd.DataFrame:
        s = summary.loc[mask]
        s.attrs = dict(summary.attrs)
        return s

    rows, index, models, skipped = [], [], {}, []
    pnames = list(model._param_names)
    for key in sorted(pd.unique(labels), key=lambda v: str(v)):
        mask = (labels == key).to_numpy()
        if mask.sum() < mc:
            skipped.append(key)
            continue
        m = clone()
        row = {"n_customers": int(mask.sum())}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                m.fit(sub(mask))
        except (ConvergenceError, ValueError) as exc:
            row.update({"log_likelihood": np.nan, "AIC": np.nan, "converged": False,
                        "error": str(exc)})
            rows.append(row)
            index.append(key)
            continue
        row.update({"log_likelihood": m.log_likelihood_, "AIC": m.AIC_,
                    "converged": bool(m.converged_)})
        for p in pnames:
            row[p] = float(m.params_[p])
            row[f"{p}_se"] = float(m.standard_errors_[p])
        rows.append(row)
        index.append(key)
        models[key] = m
    cols = ["n_customers", "log_likelihood", "AIC", "converged"] + \
        [c for p in pnames for c in (p, f"{p}_se")]
    out = pd.DataFrame(rows, index=pd.Index(index, name=name))
    extra = [c for c in out.columns if c not in cols]
    out = out.reindex(columns=cols + extra)
    attrs: dict[str, Any] = {"models": models, "skipped": skipped, "by": name}
    fitted = [k for k in index if k in models]
    if len(fitted) >= 2 and len(fitted) == len(index):
        pooled = clone()
        mask = labels.isin(fitted).to_numpy()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                pooled.fit(sub(mask))
            stat = max(0.0, 2.0 * (sum(models[k].log_likelihood_ for k in fitted)
                                   - pooled.log_likelihood_))
            df = (len(fitted) - 1) * len(pnames)
            attrs.update({"pooled_log_likelihood": pooled.log_likelihood_, "lr_statistic": stat,
                          "lr_df": df, "lr_p_value": chi2_sf(stat, df)})
        except (ConvergenceError, ValueError):
            pass
    out.attrs.update(attrs)
    return out
