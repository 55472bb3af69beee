"""Gamma-Gamma spend model (Colombo & Jiang 1999; Fader & Hardie 2013 note)."""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from siyu.models._base import (PRED_GG_VALUE, BaseFitter, _pick, as_float, check_integer,
                               check_weights)


class GammaGamma(BaseFitter):
    """Gamma-Gamma model of the mean value of repeat transactions: each transaction value is
    Gamma(p, nu) with nu ~ Gamma(q, gamma) per customer.

    Fit on customers with at least one repeat purchase (rows with frequency 0 are ignored).
    The log-likelihood is the full density of each customer's mean spend (CLVTools
    convention), so it matches the published -4055.92 on CDNOW.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.integers(1, 10, 2000)
    >>> nu = rng.gamma(3.7, 1 / 15.4, 2000)
    >>> mean_spend = rng.gamma(6.2 * x, 1 / (nu * x))
    >>> m = GammaGamma().fit(x, mean_spend)
    >>> list(m.params_.index)
    ['p', 'q', 'gamma']
    >>> bool(20 < m.expected_average_value() < 50)
    True
    """

    _param_names = ("p", "q", "gamma")
    _default_starts = ((0.0, 0.0, 0.0), (1.0, 1.0, 2.0), (2.0, 1.0, 3.0), (0.0, 2.0, 0.0))

    def fit(self, frequency: Any, monetary_value: Any = None,
            weights: Any = None) -> "GammaGamma":
        """Fit by maximum likelihood; ``frequency`` may be a summary DataFrame with
        ``frequency`` and ``monetary_value`` (or ``_cal``) columns. Returns self."""
        if hasattr(frequency, "columns"):
            df = frequency
            if monetary_value is not None:
                raise TypeError("pass either a DataFrame or the arrays, not both")
            if isinstance(weights, str):
                weights = df[weights].to_numpy()
            x = _pick(df, ("frequency_cal", "frequency", "x"), "frequency")
            m = _pick(df, ("monetary_value_cal", "monetary_value", "zbar", "m_x"),
                      "monetary_value")
            unit = df.attrs.get("unit")
        else:
            if monetary_value is None:
                raise TypeError("fit needs frequency and monetary_value")
            x, m, unit = frequency, monetary_value, None
        x = as_float(x, "frequency")
        m = as_float(m, "monetary_value")
        if m.shape != x.shape:
            raise ValueError("monetary_value must have the same length as frequency")
        if np.any(x < 0):
            raise ValueError("frequency must be >= 0")
        check_integer(x, "frequency")
        w = check_weights(weights, x.shape[0])
        keep = x > 0
        if np.any(m[keep] <= 0):
            raise ValueError("monetary_value must be > 0 for customers with frequency > 0 "
                             "(drop zero-value customers or add a small amount)")
        x, m = x[keep], m[keep]
        if w is not None:
            w = w[keep]
        if x.size == 0:
            raise ValueError("no customer with frequency > 0: Gamma-Gamma needs repeat buyers")
        if x.size > 2 and np.std(x) > 0 and np.std(m) > 0:
            c = float(np.corrcoef(x, m)[0, 1])
            if c > 0.3:
                warnings.warn(f"frequency and monetary_value correlate ({c:.2f} > 0.3); the "
                              "Gamma-Gamma model assumes they are independent, so spend "
                              "predictions may be biased", UserWarning, stacklevel=2)
        self.unit = unit
        mean_m = float(np.mean(m))
        self._run_fit(np.ascontiguousarray(x), np.ascontiguousarray(m), None, w,
                      [2.0, 2.0, max(mean_m, 1e-6)])
        return self

    def conditional_expected_average_value(self, frequency: Any,
                                           monetary_value: Any = None, *,
                                           interval: float | None = None,
                                           method: str = "asymptotic", n_boot: int = 200,
                                           seed: int | None = None) -> Any:
        """E[mean transaction value | frequency, monetary_value]; for frequency 0 the
        population mean p*gamma/(q-1) (inf when q <= 1).

        With ``interval`` (e.g. 0.9) a DataFrame of ``estimate``, ``lower``, ``upper``
        (``method`` "asymptotic" or "bootstrap", ``n_boot`` draws, ``seed``; see
        ``BetaGeo.conditional_expected_purchases``)."""
        idx = None
        if hasattr(frequency, "columns"):
            df = frequency
            idx = df.index
            frequency = _pick(df, ("frequency_cal", "frequency", "x"), "frequency")
            monetary_value = _pick(df, ("monetary_value_cal", "monetary_value", "zbar", "m_x"),
                                   "monetary_value")
        if monetary_value is None:
            raise TypeError("pass frequency and monetary_value (or a summary DataFrame)")
        fa = np.asarray(frequency, dtype=float)
        if np.any(fa < 0) or np.any(fa != np.round(fa)):
            raise ValueError("frequency must hold whole numbers >= 0 (repeat purchases)")
        if np.any(np.asarray(monetary_value, dtype=float) < 0):
            raise ValueError("monetary_value must be >= 0 (the mean spend per transaction)")
        if interval is not None:
            from siyu.models import _intervals
            return _intervals.predict_interval(self, PRED_GG_VALUE, [frequency, monetary_value],
                                               ["frequency", "monetary_value"], idx, interval,
                                               method, n_boot, seed)
        return self._predict(PRED_GG_VALUE, [frequency, monetary_value],
                             ["frequency", "monetary_value"], idx)

    def loglik(self, frequency: Any, monetary_value: Any = None) -> Any:
        """Log-likelihood of each customer's mean spend at the fitted parameters (NaN for
        customers with frequency 0, who carry no spend information); on the fit data the
        sum is :attr:`log_likelihood_`."""
        self._check_fitted()
        idx = None
        if hasattr(frequency, "columns"):
            df = frequency
            idx = df.index
            frequency = _pick(df, ("frequency_cal", "frequency", "x"), "frequency")
            monetary_value = _pick(df, ("monetary_value_cal", "monetary_value", "zbar", "m_x"),
                                   "monetary_value")
        elif isinstance(frequency, pd.Series):
            idx = frequency.index
        if monetary_value is None:
            raise TypeError("pass frequency and monetary_value (or a summary DataFrame)")
        x = as_float(frequency, "frequency")
        m = as_float(monetary_value, "monetary_value")
        if m.shape != x.shape:
            raise ValueError("monetary_value must have the same length as frequency")
        check_integer(x, "frequency")
        keep = x > 0
        if np.any(m[keep] <= 0):
            raise ValueError("monetary_value must be > 0 for customers with frequency > 0")
        out = np.full(x.shape[0], np.nan)
        if keep.any():
            out[keep] = self._loglik_rows(np.ascontiguousarray(x[keep]),
                                          np.ascontiguousarray(m[keep]), None)
        return pd.Series(out, index=idx) if idx is not None else out

    def expected_average_value(self) -> float:
        """Population mean transaction value p*gamma/(q-1) (inf when q <= 1)."""
        p, q, g = self._p()
        return float(p * g / (q - 1)) if q > 1 else float("inf")
