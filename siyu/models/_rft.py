"""Shared predictions of the continuous-time purchase models (BG/NBD, MBG/NBD, Pareto/NBD)."""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from siyu.models._base import (PRED_COND, PRED_EXPECTED, PRED_PALIVE, BaseFitter, check_rft,
                               dask_aware, rft_input, time_input, validate_pred)


class RFTModel(BaseFitter):
    """Base of the continuous-time models fitted on (frequency, recency, T)."""

    @dask_aware
    def fit(self, frequency: Any, recency: Any = None, T: Any = None,
            weights: Any = None) -> "RFTModel":
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

        Returns
        -------
        self
        """
        x, tx, T_, w, index, unit = rft_input(frequency, recency, T, weights)
        check_rft(x, tx, T_)
        if not np.any(x > 0):
            warnings.warn(f"{type(self).__name__}: no customer has a repeat purchase "
                          "(frequency is 0 everywhere), so the purchase and dropout rates are "
                          "not identified; the fit runs to a boundary", UserWarning, stacklevel=2)
        self.unit = unit
        mx = float(np.average(x, weights=w)) if w is None or w.sum() > 0 else 0.0
        mT = float(np.average(T_, weights=w)) if w is None or w.sum() > 0 else 1.0
        self._run_fit(x, tx, T_, w, self._data_start(mx, mT))
        return self

    def _data_start(self, mean_x: float, mean_T: float) -> list[float]:
        return [1.0, max(mean_T / (mean_x + 0.1), 1e-3), 1.0, 1.0]

    def expected_purchases(self, t: Any) -> Any:
        """Expected number of repeat purchases of a new customer within ``t`` time units.

        Parameters
        ----------
        t : float or array-like
            Horizon(s) in the model's time unit.
        """
        if np.any(np.asarray(t, dtype=float) < 0):
            raise ValueError("t must be >= 0")
        return self._predict(PRED_EXPECTED, [t], ["t"])

    @dask_aware
    def conditional_expected_purchases(self, t: Any, frequency: Any, recency: Any = None,
                                       T: Any = None) -> Any:
        """Expected repeat purchases in the next ``t`` time units given each customer's history.

        ``frequency`` may be a summary DataFrame; the result is then a Series on its index.
        """
        x, tx, T_, idx = time_input(self, frequency, recency, T)
        validate_pred(x, tx, T_)
        if np.any(np.asarray(t, dtype=float) < 0):
            raise ValueError("t must be >= 0")
        return self._predict(PRED_COND, [t, x, tx, T_], ["t", "frequency", "recency", "T"], idx)

    @dask_aware
    def probability_alive(self, frequency: Any, recency: Any = None, T: Any = None) -> Any:
        """Probability that each customer is still active at the end of the observation."""
        x, tx, T_, idx = time_input(self, frequency, recency, T)
        validate_pred(x, tx, T_)
        return self._predict(PRED_PALIVE, [x, tx, T_], ["frequency", "recency", "T"], idx)
