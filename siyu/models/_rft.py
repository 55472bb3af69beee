"""Shared predictions of the continuous-time purchase models (BG/NBD, MBG/NBD, Pareto/NBD)."""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from siyu.models import _covariates as covmod
from siyu.models import _intervals
from siyu.models._base import (PRED_COND, PRED_COND_NONE, PRED_COND_PMF, PRED_EXPECTED,
                               PRED_PALIVE, BaseFitter, check_pmf_counts, check_rft, dask_aware,
                               rft_input, time_input, validate_pred)


class RFTModel(BaseFitter):
    """Base of the continuous-time models fitted on (frequency, recency, T)."""

    @dask_aware
    def fit(self, frequency: Any, recency: Any = None, T: Any = None,
            weights: Any = None, *, covariates: Any = None, purchase_covariates: Any = None,
            dropout_covariates: Any = None, constrain: Any = None, reference: Any = None,
            verbose: bool = False) -> "RFTModel":
        """Fit by maximum likelihood.

        Parameters
        ----------
        frequency : DataFrame or array-like
            Either the output of ``tx.summary()`` / ``tx.calibration_holdout()`` (columns
            ``frequency``/``recency``/``T``, or with the ``_cal`` suffix; ``attrs["unit"]``
            becomes :attr:`unit`) or the number of repeat purchases per customer.
        recency, T : array-like, optional
            Time of the last purchase and the age of each customer, measured from their
            first purchase, in one time unit.
        weights : array-like or str, optional
            Number of customers sharing each row (or the name of a weights column).
            Identical rows are collapsed automatically.
        covariates : list of column names or DataFrame, optional
            Time-invariant customer attributes for both processes (Fader & Hardie's note
            on time-invariant covariates, parametrised as CLVTools): column names of the
            summary (e.g. those added by ``tx.summary(attributes=["channel", "member"])``)
            or a DataFrame indexed by customer id. Categorical columns are dummy-coded
            against their most frequent level, 0/1 and bool columns used as they are, other
            numbers standardised internally (effects are reported on your scale).
            A positive purchase effect raises the purchase rate
            (``alpha_i = alpha * exp(-effect'z_i)``); see each model for dropout.
        purchase_covariates, dropout_covariates : optional
            Separate sets per process (each defaults to ``covariates``).
        constrain : list of str, optional
            Covariates whose effect is forced equal on both processes (rows ``both:<name>``).
        reference : dict or level, optional
            Reference level per categorical covariate, e.g. ``{"channel": "公域"}``.
        verbose : bool, default False
            Print iteration, log-likelihood and gradient norm while the fit runs.

        Returns
        -------
        self
        """
        x, tx, T_, w, index, unit = rft_input(frequency, recency, T, weights)
        check_rft(x, tx, T_)
        cov = self._setup_covariates(frequency, index, x.shape[0], covariates,
                                     purchase_covariates, dropout_covariates, constrain,
                                     reference)
        if not np.any(x > 0):
            warnings.warn(f"{type(self).__name__}: no customer has a repeat purchase "
                          "(frequency is 0 everywhere), so the purchase and dropout rates are "
                          "not identified; the fit runs to a boundary", UserWarning, stacklevel=2)
        self.unit = unit
        mx = float(np.average(x, weights=w)) if w is None or w.sum() > 0 else 0.0
        mT = float(np.average(T_, weights=w)) if w is None or w.sum() > 0 else 1.0
        self._run_fit(x, tx, T_, w, self._data_start(mx, mT), cov=cov, verbose=verbose)
        return self

    def _setup_covariates(self, frame: Any, index: Any, n: int, covariates: Any,
                          purchase: Any, dropout: Any, constrain: Any,
                          reference: Any) -> "covmod.CovSetup | None":
        specs = {"purchase": purchase if purchase is not None else covariates,
                 "dropout": dropout if dropout is not None else covariates}
        if all(v is None for v in specs.values()):
            if constrain or reference:
                raise ValueError("constrain= and reference= need covariates=")
            return None
        if not self._cov_blocks:
            raise ValueError(f"{type(self).__name__} has no covariate version; use BetaGeo or "
                             "ParetoNBD for covariates")
        cov = covmod.setup(frame if isinstance(frame, pd.DataFrame) else None, index, n, specs,
                           constrain, reference)
        if cov is not None:
            cov.prepare(("purchase", "dropout"))
        return cov

    def _data_start(self, mean_x: float, mean_T: float) -> list[float]:
        return [1.0, max(mean_T / (mean_x + 0.1), 1e-3), 1.0, 1.0]

    def expected_purchases(self, t: Any, covariates: Any = None, *,
                           interval: float | None = None, method: str = "asymptotic",
                           n_boot: int = 200, seed: int | None = None) -> Any:
        """Expected number of repeat purchases of a new customer within ``t`` time units.

        Parameters
        ----------
        t : float or array-like
            Horizon(s) in the model's time unit.
        covariates : dict or DataFrame, optional
            For a covariate model: the new customer's profile (a dict such as
            ``{"channel": "私域", "member": True}``) or one row per customer.
        interval, method, n_boot, seed : optional
            Prediction interval, see :meth:`conditional_expected_purchases`.
        """
        if np.any(np.asarray(t, dtype=float) < 0):
            raise ValueError("t must be >= 0")
        params = None
        index = None
        F = None
        if getattr(self, "_covs", None) is not None:
            if covariates is None:
                raise ValueError("this model has covariates: give the new customer's profile, "
                                 "e.g. expected_purchases(t, covariates={...})")
            many = isinstance(covariates, pd.DataFrame)
            F = self._cov_rows(None, covariates, len(covariates) if many else 1)
            params = self._row_params(self._theta(), F)
            nt = int(np.asarray(t).size)
            if params.shape[0] == 1 and nt > 1:
                params = np.repeat(params, nt, axis=0)
                F = np.repeat(F, nt, axis=0)
            elif nt not in (1, params.shape[0]):
                raise ValueError(f"{params.shape[0]} covariate rows for {nt} horizons")
            if many and np.ndim(t) == 0:
                index = covariates.index
        elif covariates is not None:
            self._cov_rows(None, covariates, 1)
        if interval is not None:
            if index is None and not isinstance(t, pd.Series):
                index = pd.Index(np.atleast_1d(np.asarray(t, dtype=float)).reshape(-1), name="t")
            return _intervals.predict_interval(self, PRED_EXPECTED, [t], ["t"], index, interval,
                                               method, n_boot, seed, F=F)
        return self._predict(PRED_EXPECTED, [t], ["t"], index, params=params)

    @dask_aware
    def conditional_expected_purchases(self, t: Any, frequency: Any, recency: Any = None,
                                       T: Any = None, covariates: Any = None, *,
                                       interval: float | None = None,
                                       method: str = "asymptotic", n_boot: int = 200,
                                       seed: int | None = None) -> Any:
        """Expected repeat purchases in the next ``t`` time units given each customer's history.

        ``frequency`` may be a summary DataFrame; the result is then a Series on its index.
        Covariate models use each customer's own covariates: ``covariates=``, else the
        covariate columns of the summary, else the fitted customers' (by id).

        Parameters
        ----------
        t : float or array-like
            Length of the future window in the model's time unit.
        frequency, recency, T : DataFrame or array-like
            A summary (``tx.summary()`` / ``calibration_holdout()``) or the three arrays.
        covariates : DataFrame or dict, optional
            Covariate model only: each customer's covariates (one row per customer) or one
            profile for all.
        interval : float, optional
            With e.g. ``interval=0.9``, return a DataFrame with ``estimate`` (the prediction
            at the fitted parameters), ``lower`` and ``upper`` (the 5% and 95% points of the
            predictions over parameter draws) aligned to the input.
        method : {"asymptotic", "bootstrap"}, default "asymptotic"
            ``"asymptotic"``: draws from the normal distribution of the log-parameters with
            the fitted covariance; ``"bootstrap"``: refits on customers resampled with
            replacement (a multinomial reweighting of the collapsed data, all refits in C
            on all cores; not available for covariate models).
        n_boot : int, default 200
            Number of draws or refits.
        seed : int, optional
            Seed of the draws (same seed, same interval on any number of threads).
        """
        x, tx, T_, idx = time_input(self, frequency, recency, T)
        validate_pred(x, tx, T_)
        if np.any(np.asarray(t, dtype=float) < 0):
            raise ValueError("t must be >= 0")
        n = _rows(t, x, tx, T_)
        if interval is not None:
            return _intervals.predict_interval(self, PRED_COND, [t, x, tx, T_],
                                               ["t", "frequency", "recency", "T"], idx, interval,
                                               method, n_boot, seed,
                                               F=self._cov_rows(frequency, covariates, n))
        params = self._cov_params(frequency, covariates, n)
        return self._predict(PRED_COND, [t, x, tx, T_], ["t", "frequency", "recency", "T"], idx,
                             params=params)

    @dask_aware
    def probability_alive(self, frequency: Any, recency: Any = None, T: Any = None,
                          covariates: Any = None, *, interval: float | None = None,
                          method: str = "asymptotic", n_boot: int = 200,
                          seed: int | None = None) -> Any:
        """Probability that each customer is still active at the end of the observation.

        ``covariates``: as in :meth:`conditional_expected_purchases`. ``interval``,
        ``method``, ``n_boot``, ``seed``: a prediction interval, as there."""
        x, tx, T_, idx = time_input(self, frequency, recency, T)
        validate_pred(x, tx, T_)
        n = _rows(x, tx, T_)
        if interval is not None:
            return _intervals.predict_interval(self, PRED_PALIVE, [x, tx, T_],
                                               ["frequency", "recency", "T"], idx, interval,
                                               method, n_boot, seed,
                                               F=self._cov_rows(frequency, covariates, n))
        params = self._cov_params(frequency, covariates, n)
        return self._predict(PRED_PALIVE, [x, tx, T_], ["frequency", "recency", "T"], idx,
                             params=params)

    # ---- conditional PMFs and per-customer likelihoods ----------------------------------
    def conditional_purchase_pmf(self, n: Any, t: Any, frequency: Any, recency: Any = None,
                                 T: Any = None, covariates: Any = None) -> Any:
        """P(exactly ``n`` repeat purchases in the next ``t`` time units | history).

        Computed in C from the posterior of the customer's purchase and dropout rates: the
        NBD tail probabilities through the regularised incomplete beta function (BG/NBD,
        MBG/NBD) and, for Pareto/NBD, the remaining-lifetime integral by Gauss-Legendre
        quadrature checked against a doubled grid.  Over n = 0, 1, 2, ... the values sum to
        1 and their mean is :meth:`conditional_expected_purchases`.

        Parameters
        ----------
        n : int or array-like
            Number(s) of purchases (whole numbers >= 0).
        t : float or array-like
            Length of the future window in the model's time unit.
        frequency, recency, T : as in :meth:`conditional_expected_purchases` (a summary
            DataFrame is accepted for ``frequency``).

        Examples
        --------
        >>> import numpy as np, pandas as pd, siyu
        >>> m = siyu.BetaGeo()
        >>> m.params_ = pd.Series({"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.4})
        >>> p = m.conditional_purchase_pmf(np.arange(200), 39.0, 2, 30.4, 38.9)
        >>> round(float(p.sum()), 10)
        1.0
        >>> bool(abs((np.arange(200) * p).sum() - m.conditional_expected_purchases(39.0, 2, 30.4, 38.9)) < 1e-10)
        True
        """
        x, tx, T_, idx = time_input(self, frequency, recency, T)
        validate_pred(x, tx, T_)
        check_pmf_counts(n, "n")
        if np.any(np.asarray(t, dtype=float) < 0):
            raise ValueError("t must be >= 0")
        params = self._cov_params(frequency, covariates, _rows(n, t, x, tx, T_))
        return self._predict(PRED_COND_PMF, [n, t, x, tx, T_],
                             ["n", "t", "frequency", "recency", "T"], idx, params=params)

    def probability_no_purchase(self, t: Any, frequency: Any, recency: Any = None,
                                T: Any = None, covariates: Any = None) -> Any:
        """P(no purchase in the next ``t`` time units | history): the customer has dropped
        out, or is alive and makes no purchase (``conditional_purchase_pmf`` at n = 0)."""
        x, tx, T_, idx = time_input(self, frequency, recency, T)
        validate_pred(x, tx, T_)
        if np.any(np.asarray(t, dtype=float) < 0):
            raise ValueError("t must be >= 0")
        params = self._cov_params(frequency, covariates, _rows(t, x, tx, T_))
        return self._predict(PRED_COND_NONE, [t, x, tx, T_],
                             ["t", "frequency", "recency", "T"], idx, params=params)

    def loglik(self, frequency: Any, recency: Any = None, T: Any = None) -> Any:
        """Log-likelihood of each customer's (frequency, recency, T) at the fitted parameters
        (a Series on the summary's index); their sum is :attr:`log_likelihood_` on the fit data.
        """
        self._check_fitted()
        x, tx, T_, _, index, _ = rft_input(frequency, recency, T)
        check_rft(x, tx, T_)
        self._check_no_covariates("loglik")
        out = self._loglik_rows(x, tx, T_)
        return pd.Series(out, index=index) if index is not None else out


def _rows(*cols: Any) -> int:
    """Number of rows the broadcast inputs of a prediction have."""
    return int(np.prod(np.broadcast_shapes(*(np.shape(c) for c in cols))) or 0) if cols else 0
