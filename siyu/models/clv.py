"""Customer lifetime value from a purchase model and a spend model."""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from siyu.models import _intervals
from siyu.models._base import (PRED_COND, PRED_GG_VALUE, UNIT_DAYS, _pick, check_unit,
                               dask_aware, validate_pred)
from siyu.models._rft import RFTModel
from siyu.models.bgbb import BetaGeoBetaBinom, bgbb_input, check_bgbb, check_opportunities
from siyu.models.gammagamma import GammaGamma


#: most discounting steps (horizon / unit) a CLV accepts
MAX_CLV_STEPS = 100_000
#: values evaluated per C call when the steps are batched
_STEP_BATCH = 1 << 20


def _step_blocks(steps: np.ndarray, per_step: int):
    """Slices of ``steps`` holding about _STEP_BATCH predictions each (per_step per step),
    so one C call serves many steps without a Python loop per step."""
    size = max(1, _STEP_BATCH // max(1, per_step))
    return [slice(i, i + size) for i in range(0, steps.shape[0], size)]


def _real(value: Any, name: str, example: str) -> float:
    """A finite real number, or an error naming the argument."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise TypeError(f"{name} must be a number, e.g. {name}={example}, got "
                        f"{type(value).__name__}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, e.g. {name}={example}")
    return v


def _clv_draws(tm: Any, sm: Any, cols: tuple, m: np.ndarray, steps: np.ndarray, factor: float,
               discount_rate: float, margin: float, ptx: np.ndarray, pgg: np.ndarray,
               rows: slice) -> tuple[np.ndarray, np.ndarray]:
    """CLV of the customers ``rows`` for every pair of parameter draws (ptx, pgg: one row
    per draw), all draws in parallel C calls.  Returns (values (n_draws, rows), ok)."""
    from siyu import _core
    x, tx, T = (np.ascontiguousarray(c[rows]) for c in cols)
    mv = np.ascontiguousarray(m[rows])
    value, ok = _core.trust_predict_draws(sm._code, PRED_GG_VALUE, pgg, (x, mv))
    ok = ok.astype(bool)
    prev = np.zeros_like(value)
    disc = np.zeros_like(value)
    n = x.shape[0]
    for blk in _step_blocks(steps, n * max(1, ptx.shape[0])):
        st = steps[blk]
        t = np.repeat(st * factor, n)
        cum, ok_s = _core.trust_predict_draws(tm._code, PRED_COND, ptx,
                                              (t, np.tile(x, st.size), np.tile(tx, st.size),
                                               np.tile(T, st.size)))
        cum = cum.reshape(cum.shape[0], st.size, n)
        ok &= ok_s.astype(bool)
        inc = np.diff(cum, axis=1, prepend=prev[:, None, :])
        disc += (inc / ((1.0 + discount_rate) ** st)[None, :, None]).sum(axis=1)
        prev = cum[:, -1, :]
    return margin * value * disc, ok


def _clv_values(tm: Any, sm: Any, cols: tuple, m: np.ndarray, steps: np.ndarray, factor: float,
                discount_rate: float, margin: float, ptx: Any = None, pgg: Any = None,
                rows: slice = slice(None)) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(expected purchases over the horizon, expected value, clv) for the customers ``rows``
    at the parameters ptx / pgg (None: the fitted ones)."""
    x, tx, T = (c[rows] for c in cols)
    mv = m[rows]
    n_all = cols[0].shape[0]
    if ptx is None and getattr(tm, "_covs", None) is not None:
        ptx = tm._cov_params(None, None, n_all)[rows]   # the fitted customers' covariates
    if pgg is None and getattr(sm, "_covs", None) is not None:
        pgg = sm._cov_params(None, None, n_all)[rows]
    value = np.asarray(sm._predict(PRED_GG_VALUE, [x, mv], ["frequency", "monetary_value"],
                                   params=pgg), dtype=float).reshape(-1)
    n = x.shape[0]
    prev = np.zeros(n)
    disc_sum = np.zeros(n)
    names = ["t", "frequency", "recency", "T"]
    for blk in _step_blocks(steps, n):
        st = steps[blk]
        t = np.repeat(st * factor, n)
        # per-customer parameters (covariates) repeat with the customers in each step
        pst = None if ptx is None else np.tile(ptx, (st.size, 1))
        cum = np.asarray(tm._predict(PRED_COND, [t, np.tile(x, st.size), np.tile(tx, st.size),
                                                 np.tile(T, st.size)], names, params=pst),
                         dtype=float).reshape(st.size, n)
        inc = np.diff(cum, axis=0, prepend=prev[None, :])
        disc_sum += (inc / ((1.0 + discount_rate) ** st)[:, None]).sum(axis=0)
        prev = cum[-1]
    return prev, value, margin * value * disc_sum


@dask_aware
def clv(transaction_model: RFTModel | BetaGeoBetaBinom, spend_model: GammaGamma,
        summary: pd.DataFrame, horizon: float, discount_rate: float, margin: float = 1.0,
        unit: str | None = None, *, interval: float | None = None,
        method: str = "asymptotic", n_boot: int = 200, seed: int | None = None) -> pd.DataFrame:
    """Expected discounted margin per customer over a horizon.

    The horizon is cut into steps of one ``unit``; the expected purchases in step i
    (converted to the transaction model's time unit with the exact number of days per
    unit: D=1, W=7, M=365.25/12, Q=365.25/4, Y=365.25 -- no 30-day months) are valued at
    the spend model's expected average value and discounted by ``(1 + discount_rate)**i``
    (a final partial step is discounted at its fractional time).

    Parameters
    ----------
    transaction_model : BetaGeo, ModifiedBetaGeo, ParetoNBD or BetaGeoBetaBinom (fitted)
        With BG/BB the horizon and the discount rate are in purchase opportunities (e.g.
        years of an annual campaign): ``horizon`` must be a whole number, ``unit`` is not
        used, and the summary holds frequency, recency, n_periods (or periods) and
        monetary_value.
    spend_model : GammaGamma (fitted)
    summary : DataFrame
        Customer summary (``tx.summary()`` or ``calibration_holdout()`` output) with
        frequency, recency, T and monetary_value columns (``_cal`` suffix accepted).
    horizon : float
        Length of the horizon in ``unit`` (e.g. 12 with ``unit="M"``).
    discount_rate : float
        Discount rate per ``unit`` (e.g. 0.01 per month).
    margin : float, default 1.0
        Profit margin applied to revenue.
    unit : {"D", "W", "M", "Q", "Y"}, optional
        Unit of ``horizon`` and ``discount_rate``; defaults to the transaction model's unit.
    interval : float, optional
        With e.g. ``interval=0.9``, return a DataFrame with ``estimate``, ``lower`` and
        ``upper`` CLV per customer: the percentile interval over draws of both models'
        parameters (drawn independently for the two models).
    method : {"asymptotic", "bootstrap"}, default "asymptotic"
        Draws from the fitted normal of the log-parameters, or bootstrap refits (in C).
    n_boot : int, default 200
        Number of draws or refits per model.
    seed : int, optional
        Seed of the draws.

    Returns
    -------
    DataFrame indexed like ``summary`` with expected_purchases (undiscounted, over the
    horizon), expected_average_value and clv; with ``interval``: estimate, lower, upper.

    Examples
    --------
    >>> import numpy as np
    >>> from siyu.models import BetaGeo, GammaGamma
    >>> from siyu.datasets.simulate import simulate
    >>> s = simulate({"r": 0.25, "alpha": 4.4, "a": 0.8, "b": 2.4}, 3000, T=52, seed=1,
    ...              unit="W", acquisition=26, output="summary")
    >>> s["monetary_value"] = np.where(s.frequency > 0, 20.0 + (s.index % 7), 0.0)
    >>> s.attrs["unit"] = "W"
    >>> bg = BetaGeo().fit(s)
    >>> gg = GammaGamma().fit(s[s.frequency > 0])
    >>> out = clv(bg, gg, s, horizon=12, unit="M", discount_rate=0.01)
    >>> list(out.columns)
    ['expected_purchases', 'expected_average_value', 'clv']
    """
    discrete = isinstance(transaction_model, BetaGeoBetaBinom)
    if not isinstance(transaction_model, RFTModel) and not discrete:
        raise TypeError("transaction_model must be a fitted BetaGeo, ModifiedBetaGeo, ParetoNBD "
                        "or BetaGeoBetaBinom")
    if not isinstance(spend_model, GammaGamma):
        raise TypeError("spend_model must be a fitted GammaGamma")
    if not isinstance(summary, pd.DataFrame):
        raise TypeError("summary must be a DataFrame from tx.summary() or calibration_holdout()")
    transaction_model._check_fitted()
    spend_model._check_fitted()
    horizon = _real(horizon, "horizon", "12")
    if not (horizon >= 0):
        raise ValueError("horizon must be >= 0 (a length in unit, e.g. horizon=12 with unit='M')")
    if math.ceil(horizon) > MAX_CLV_STEPS:
        raise ValueError(f"horizon is {horizon:g} steps of one unit, more than {MAX_CLV_STEPS:,}; "
                         "use a coarser unit (e.g. unit='M' or 'Y') or a shorter horizon")
    discount_rate = _real(discount_rate, "discount_rate", "0.01")
    if not (discount_rate > -1):
        raise ValueError("discount_rate must be > -1 (a rate per unit, e.g. 0.01 per month)")
    margin = _real(margin, "margin", "0.3")
    if not (0 <= margin <= 1):
        raise ValueError(f"margin must be a fraction between 0 and 1 (e.g. margin=0.3 for a "
                         f"30% margin), got {margin:g}")
    m = np.asarray(_pick(summary, ("monetary_value_cal", "monetary_value"), "monetary_value"),
                   dtype=float)
    if discrete:
        if unit is not None:
            raise ValueError("with a BG/BB model the horizon counts purchase opportunities; "
                             "leave unit=None")
        check_opportunities(horizon, "horizon")
        x, tx, T, _ = bgbb_input(summary, None, None)
        x, tx, T = (np.asarray(v, dtype=float) for v in (x, tx, T))
        check_bgbb(x, tx, T)
        factor, unit, model_unit = 1.0, None, None
        steps = np.arange(1, int(horizon) + 1, dtype=float)
    else:
        model_unit = check_unit(transaction_model.unit, "transaction_model.unit")
        data_unit = check_unit(summary.attrs.get("unit"), "summary.attrs['unit']")
        if model_unit is None:
            model_unit = data_unit
        if data_unit is not None and model_unit is not None and data_unit != model_unit:
            raise ValueError(f"summary is in unit {data_unit!r} but the model was fitted in "
                             f"{model_unit!r}; recompute the summary with unit={model_unit!r}")
        unit = check_unit(unit, "unit") or model_unit
        if unit is None:
            raise ValueError("the time unit is unknown: pass unit= (and fit on a summary whose "
                             "attrs carry 'unit')")
        if model_unit is None:
            model_unit = unit
        factor = UNIT_DAYS[unit] / UNIT_DAYS[model_unit]   # model units per user unit
        x = np.asarray(_pick(summary, ("frequency_cal", "frequency"), "frequency"), dtype=float)
        tx = np.asarray(_pick(summary, ("recency_cal", "recency"), "recency"), dtype=float)
        T = np.asarray(_pick(summary, ("T_cal", "T"), "T"), dtype=float)
        validate_pred(x, tx, T)
        steps = np.arange(1, int(math.ceil(horizon)) + 1, dtype=float)
        steps = np.minimum(steps, horizon)
    if m.shape != x.shape or not np.all(np.isfinite(m)):
        raise ValueError("monetary_value must be finite for every customer")
    cols = tuple(np.ascontiguousarray(v) for v in (x, tx, T))
    m = np.ascontiguousarray(m)
    attrs = {"unit": unit, "horizon": horizon, "discount_rate": discount_rate,
             "margin": margin, "model_unit": model_unit}
    if interval is not None:
        level, method, n_boot = _intervals.check_interval(interval, method, n_boot)
        for mod in (transaction_model, spend_model):
            mod._check_no_covariates("clv(interval=...)",
                                     "use the model's own interval= methods with covariates=")

        ucols, inv = _intervals.distinct_rows([*cols, m])
        ucols, um = tuple(ucols[:3]), ucols[3]

        def fn(params: list, rows: slice) -> np.ndarray:
            return _clv_values(transaction_model, spend_model, ucols, um, steps, factor,
                               discount_rate, margin, params[0], params[1], rows)[2]

        def fn_batch(mats: list, rows: slice) -> tuple[np.ndarray, np.ndarray]:
            return _clv_draws(transaction_model, spend_model, ucols, um, steps, factor,
                              discount_rate, margin, mats[0], mats[1], rows)

        out = _intervals.draws_interval([transaction_model, spend_model], fn, um.shape[0], level,
                                        method, n_boot, seed, summary.index, fn_batch, inv)
        out.attrs.update(attrs)
        return out
    purchases, value, clv_ = _clv_values(transaction_model, spend_model, cols, m, steps, factor,
                                         discount_rate, margin)
    out = pd.DataFrame({"expected_purchases": purchases, "expected_average_value": value,
                        "clv": clv_}, index=summary.index)
    out.attrs.update(attrs)
    return out
