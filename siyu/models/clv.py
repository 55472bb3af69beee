"""Customer lifetime value from a purchase model and a spend model."""
from __future__ import annotations

import math
import numpy as np
import pandas as pd

from siyu.models._base import UNIT_DAYS, _pick, check_unit, dask_aware
from siyu.models._rft import RFTModel
from siyu.models.gammagamma import GammaGamma


@dask_aware
def clv(transaction_model: RFTModel, spend_model: GammaGamma, summary: pd.DataFrame,
        horizon: float, discount_rate: float, margin: float = 1.0,
        unit: str | None = None) -> pd.DataFrame:
    """Expected discounted margin per customer over a horizon.

    The horizon is cut into steps of one ``unit``; the expected purchases in step i
    (converted to the transaction model's time unit with the exact number of days per
    unit: D=1, W=7, M=365.25/12, Q=365.25/4, Y=365.25 -- no 30-day months) are valued at
    the spend model's expected average value and discounted by ``(1 + discount_rate)**i``
    (a final partial step is discounted at its fractional time).

    Parameters
    ----------
    transaction_model : BetaGeo, ModifiedBetaGeo or ParetoNBD (fitted)
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

    Returns
    -------
    DataFrame indexed like ``summary`` with expected_purchases (undiscounted, over the
    horizon), expected_average_value and clv.

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
    if not isinstance(transaction_model, RFTModel):
        raise TypeError("transaction_model must be a fitted BetaGeo, ModifiedBetaGeo or ParetoNBD")
    if not isinstance(spend_model, GammaGamma):
        raise TypeError("spend_model must be a fitted GammaGamma")
    if not isinstance(summary, pd.DataFrame):
        raise TypeError("summary must be a DataFrame from tx.summary() or calibration_holdout()")
    horizon = float(horizon)
    if not (horizon >= 0) or not math.isfinite(horizon):
        raise ValueError("horizon must be a finite number >= 0")
    discount_rate = float(discount_rate)
    if not (discount_rate > -1) or not math.isfinite(discount_rate):
        raise ValueError("discount_rate must be > -1 (a rate per unit, e.g. 0.01 per month)")
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
    x = _pick(summary, ("frequency_cal", "frequency"), "frequency")
    tx = _pick(summary, ("recency_cal", "recency"), "recency")
    T = _pick(summary, ("T_cal", "T"), "T")
    m = _pick(summary, ("monetary_value_cal", "monetary_value"), "monetary_value")
    value = np.asarray(spend_model.conditional_expected_average_value(
        np.asarray(x, float), np.asarray(m, float)), dtype=float)
    steps = np.arange(1, int(math.ceil(horizon)) + 1, dtype=float)
    steps = np.minimum(steps, horizon)
    prev = np.zeros(len(summary))
    disc_sum = np.zeros(len(summary))
    for s in steps:
        cum = np.asarray(transaction_model.conditional_expected_purchases(
            s * factor, np.asarray(x, float), np.asarray(tx, float), np.asarray(T, float)),
            dtype=float)
        disc_sum += (cum - prev) / (1.0 + discount_rate) ** s
        prev = cum
    out = pd.DataFrame({"expected_purchases": prev, "expected_average_value": value,
                        "clv": margin * value * disc_sum}, index=summary.index)
    out.attrs.update({"unit": unit, "horizon": horizon, "discount_rate": discount_rate,
                      "margin": margin, "model_unit": model_unit})
    return out
