"""Gamma-Gamma spend model (Colombo & Jiang 1999; Fader & Hardie 2013 note)."""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from siyu.models import _covariates as covmod
from siyu.models._base import (PRED_GG_VALUE, BaseFitter, _pick, as_float, check_integer,
                               check_weights, dask_aware)


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
    # gamma_i = gamma exp(spend'z): a positive effect raises the expected spend
    _cov_blocks = {"spend": ((2, 1),)}

    def __init__(self, penalizer: float = 0.0, *, penalizer_kind: str = "log",
                 q_constraint: bool = False, maxiter: int = 1000, tol: float = 1e-9) -> None:
        super().__init__(penalizer, penalizer_kind=penalizer_kind, maxiter=maxiter, tol=tol)
        if not isinstance(q_constraint, (bool, np.bool_)):
            raise TypeError("q_constraint must be True or False")
        self.q_constraint = bool(q_constraint)

    def _shift(self) -> np.ndarray | None:
        # q_constraint: q = 1 + e^theta > 1, so the expected spend p*gamma/(q-1) is finite
        return np.array([0.0, 1.0, 0.0]) if getattr(self, "q_constraint", False) else None

    def _boundary_meanings(self) -> list[tuple[tuple[str, ...], tuple[str, ...], str]]:
        return [(("q", "gamma"), (), "models.boundary.spend_homogeneous")]

    @dask_aware
    def fit(self, frequency: Any, monetary_value: Any = None,
            weights: Any = None, *, covariates: Any = None, reference: Any = None,
            verbose: bool = False) -> "GammaGamma":
        """Fit by maximum likelihood; ``frequency`` may be a summary DataFrame with
        ``frequency`` and ``monetary_value`` (or ``_cal``) columns. Returns self.

        ``covariates`` (column names of the summary or a DataFrame indexed by customer id)
        scale the spend: ``gamma_i = gamma * exp(effect'z_i)``, so a positive effect means
        higher spend (the expected mean spend is multiplied by ``exp(effect)``); rows
        ``spend:<covariate>`` in :attr:`summary`. ``verbose=True`` prints the iterations."""
        frame = frequency if hasattr(frequency, "columns") else None
        index = frame.index if frame is not None else None
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
        cov = None
        if covariates is not None:
            cov = covmod.setup(frame, index, x.shape[0], {"spend": covariates}, None, reference)
        elif reference is not None:
            raise ValueError("reference= needs covariates=")
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
        if cov is not None:
            sub = covmod.CovSetup(cov.encoder, cov.blocks, cov.effects, cov.effect_names,
                                  cov.F[keep], index[keep] if index is not None else None)
            covmod.check_collinear(sub.F, sub.encoder.names, "spend")
            sub.prepare(("spend",))
            cov = sub
        if x.size == 0:
            raise ValueError("no customer with frequency > 0: Gamma-Gamma needs repeat buyers")
        # weights count identical customers: the same warning and start as unweighted rows
        if x.size > 2 and np.std(x) > 0 and np.std(m) > 0:
            cm = np.cov(x, m, aweights=w)
            c = float(cm[0, 1] / np.sqrt(cm[0, 0] * cm[1, 1]))
            if c > 0.3:
                warnings.warn(f"frequency and monetary_value correlate ({c:.2f} > 0.3); the "
                              "Gamma-Gamma model assumes they are independent, so spend "
                              "predictions may be biased", UserWarning, stacklevel=2)
        self.unit = unit
        mean_m = float(np.average(m, weights=w)) if w is not None and w.sum() > 0 \
            else float(np.mean(m))
        self._run_fit(np.ascontiguousarray(x), np.ascontiguousarray(m), None, w,
                      [2.0, 2.0, max(mean_m, 1e-6)], cov=cov, verbose=verbose)
        return self

    @dask_aware
    def conditional_expected_average_value(self, frequency: Any,
                                           monetary_value: Any = None,
                                           covariates: Any = None, *,
                                           interval: float | None = None,
                                           method: str = "asymptotic", n_boot: int = 200,
                                           seed: int | None = None) -> Any:
        """E[mean transaction value | frequency, monetary_value]; for frequency 0 the
        population mean p*gamma/(q-1) (inf when q <= 1).

        With ``interval`` (e.g. 0.9) a DataFrame of ``estimate``, ``lower``, ``upper``
        (``method`` "asymptotic" or "bootstrap", ``n_boot`` draws, ``seed``; see
        ``BetaGeo.conditional_expected_purchases``)."""
        idx = None
        frame = frequency if hasattr(frequency, "columns") else None
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
        n = int(np.broadcast(np.asarray(frequency), np.asarray(monetary_value)).size)
        if interval is not None:
            from siyu.models import _intervals
            return _intervals.predict_interval(self, PRED_GG_VALUE, [frequency, monetary_value],
                                               ["frequency", "monetary_value"], idx, interval,
                                               method, n_boot, seed,
                                               F=self._cov_rows(frame, covariates, n))
        params = self._cov_params(frame, covariates, n)
        return self._predict(PRED_GG_VALUE, [frequency, monetary_value],
                             ["frequency", "monetary_value"], idx, params=params)

    def loglik(self, frequency: Any, monetary_value: Any = None) -> Any:
        """Log-likelihood of each customer's mean spend at the fitted parameters (NaN for
        customers with frequency 0, who carry no spend information); on the fit data the
        sum is :attr:`log_likelihood_`."""
        self._check_fitted()
        self._check_no_covariates("loglik")
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

    def expected_average_value(self, covariates: Any = None) -> Any:
        """Population mean transaction value p*gamma/(q-1) (inf when q <= 1); for a
        covariate model, of the profile(s) in ``covariates`` (dict or DataFrame)."""
        if getattr(self, "_covs", None) is None:
            if covariates is not None:
                self._cov_rows(None, covariates, 1)
            p, q, g = self._p()
            return float(p * g / (q - 1)) if q > 1 else float("inf")
        if covariates is None:
            raise ValueError("this model has covariates: give a profile, e.g. "
                             "expected_average_value(covariates={...})")
        P = self._row_params(self._theta(), self._cov_rows(None, covariates, 1))
        v = np.where(P[:, 1] > 1, P[:, 0] * P[:, 2] / np.maximum(P[:, 1] - 1, 1e-300), np.inf)
        return float(v[0]) if v.shape[0] == 1 and isinstance(covariates, dict) else v
