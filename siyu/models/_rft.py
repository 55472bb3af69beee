"""Shared predictions of the continuous-time purchase models (BG/NBD, MBG/NBD, Pareto/NBD)."""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from siyu.models import _covariates as covmod
from siyu.models._base import (PRED_COND, PRED_EXPECTED, PRED_PALIVE, BaseFitter, check_rft,
                               dask_aware, rft_input, time_input, validate_pred)


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

    def expected_purchases(self, t: Any, covariates: Any = None) -> Any:
        """Expected number of repeat purchases of a new customer within ``t`` time units.

        Parameters
        ----------
        t : float or array-like
            Horizon(s) in the model's time unit.
        covariates : dict or DataFrame, optional
            For a covariate model: the new customer's profile (a dict such as
            ``{"channel": "私域", "member": True}``) or one row per customer.
        """
        if np.any(np.asarray(t, dtype=float) < 0):
            raise ValueError("t must be >= 0")
        params = None
        index = None
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
            elif nt not in (1, params.shape[0]):
                raise ValueError(f"{params.shape[0]} covariate rows for {nt} horizons")
            if many and np.ndim(t) == 0:
                index = covariates.index
        elif covariates is not None:
            self._cov_rows(None, covariates, 1)
        return self._predict(PRED_EXPECTED, [t], ["t"], index, params=params)

    @dask_aware
    def conditional_expected_purchases(self, t: Any, frequency: Any, recency: Any = None,
                                       T: Any = None, covariates: Any = None) -> Any:
        """Expected repeat purchases in the next ``t`` time units given each customer's history.

        ``frequency`` may be a summary DataFrame; the result is then a Series on its index.
        Covariate models use each customer's own covariates: ``covariates=``, else the
        covariate columns of the summary, else the fitted customers' (by id).
        """
        x, tx, T_, idx = time_input(self, frequency, recency, T)
        validate_pred(x, tx, T_)
        if np.any(np.asarray(t, dtype=float) < 0):
            raise ValueError("t must be >= 0")
        params = self._cov_params(frequency, covariates, _rows(t, x, tx, T_))
        return self._predict(PRED_COND, [t, x, tx, T_], ["t", "frequency", "recency", "T"], idx,
                             params=params)

    @dask_aware
    def probability_alive(self, frequency: Any, recency: Any = None, T: Any = None,
                          covariates: Any = None) -> Any:
        """Probability that each customer is still active at the end of the observation."""
        x, tx, T_, idx = time_input(self, frequency, recency, T)
        validate_pred(x, tx, T_)
        params = self._cov_params(frequency, covariates, _rows(x, tx, T_))
        return self._predict(PRED_PALIVE, [x, tx, T_], ["frequency", "recency", "T"], idx,
                             params=params)


def _rows(*cols: Any) -> int:
    """Number of rows the broadcast inputs of a prediction have."""
    return int(np.prod(np.broadcast_shapes(*(np.shape(c) for c in cols))) or 0) if cols else 0
