"""BG/BB for discrete purchase opportunities (Fader, Hardie & Shang 2010)."""
from __future__ import annotations

from typing import Any

import numpy as np

from siyu.models._base import (PRED_COND, PRED_DERT, PRED_EXPECTED, PRED_PALIVE, BaseFitter,
                               _pick, check_integer, dask_aware, rft_input)


def _bgbb_input(frequency: Any, recency: Any, n_periods: Any):
    if hasattr(frequency, "columns"):
        df = frequency
        return (_pick(df, ("frequency_cal", "frequency", "x"), "frequency"),
                _pick(df, ("recency_cal", "recency", "t_x"), "recency"),
                _pick(df, ("n_periods", "periods", "n", "T_cal", "T"), "n_periods"), df.index)
    idx = getattr(frequency, "index", None)
    return frequency, recency, n_periods, idx


def _check_bgbb(x: np.ndarray, tx: np.ndarray, n: np.ndarray) -> None:
    check_integer(tx, "recency")
    check_integer(n, "n_periods")
    if np.any(n < 1):
        raise ValueError("n_periods must be >= 1 (number of purchase opportunities)")
    if np.any(tx > n):
        raise ValueError("recency (the last opportunity with a transaction) must be <= n_periods")
    if np.any(x > tx):
        raise ValueError("frequency must be <= recency (one transaction per opportunity)")
    if np.any((x == 0) & (tx != 0)) or np.any((x > 0) & (tx == 0)):
        raise ValueError("recency must be 0 exactly when frequency is 0")


class BetaGeoBetaBinom(BaseFitter):
    """BG/BB model for discrete opportunities (e.g. annual donations): transactions with
    probability p ~ Beta(alpha, beta) per opportunity while alive; dropout with probability
    theta ~ Beta(gamma, delta) before each opportunity.

    Data: ``frequency`` = number of opportunities with a transaction, ``recency`` = the last
    such opportunity (0 if none), ``n_periods`` = opportunities observed.

    Examples
    --------
    >>> x  = [0, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 5, 5, 6]
    >>> tx = [0, 1, 2, 3, 4, 5, 6, 2, 3, 4, 5, 6, 3, 4, 5, 6, 4, 5, 6, 5, 6, 6]
    >>> w = [3464, 1091, 277, 129, 78, 119, 129, 613, 255, 155, 173, 234, 322, 181,
    ...      225, 357, 240, 284, 512, 335, 728, 1203]
    >>> m = BetaGeoBetaBinom().fit(x, tx, [6] * 22, weights=w)
    >>> [round(v, 2) for v in m.params_]
    [1.2, 0.75, 0.66, 2.78]
    >>> round(float(m.probability_alive(1, 1, 6)), 3) < 0.1
    True
    """

    _param_names = ("alpha", "beta", "gamma", "delta")
    _default_starts = ((0.0, 0.0, 0.0, 0.0), (-1.0, 0.0, -1.0, 1.0), (1.0, 1.0, 1.0, 1.0))

    @dask_aware
    def fit(self, frequency: Any, recency: Any = None, n_periods: Any = None,
            weights: Any = None) -> "BetaGeoBetaBinom":
        """Fit by maximum likelihood (``frequency`` may be a DataFrame with columns
        frequency, recency, periods/n_periods and optional weights). Returns self."""
        if hasattr(frequency, "columns"):
            df = frequency
            if isinstance(weights, str):
                weights = df[weights].to_numpy()
            elif weights is None and "weights" in df.columns:
                weights = df["weights"].to_numpy()
            x, tx, n, idx = _bgbb_input(df, None, None)
            self.unit = df.attrs.get("unit")
        else:
            x, tx, n, idx = frequency, recency, n_periods, None
        x, tx, n, w, _, _ = rft_input(x, tx, n, weights, t_label="n_periods")
        _check_bgbb(x, tx, n)
        self._run_fit(x, tx, n, w)
        return self

    def expected_purchases(self, n: Any) -> Any:
        """Expected transactions of a new customer in the first ``n`` opportunities."""
        na = np.asarray(n, dtype=float)
        if np.any(na < 0) or np.any(na != np.round(na)):
            raise ValueError("n must hold whole numbers >= 0")
        return self._predict(PRED_EXPECTED, [n], ["n"])

    def _hist(self, frequency, recency, n_periods):
        x, tx, n, idx = _bgbb_input(frequency, recency, n_periods)
        xa, ta, na = (np.asarray(v, dtype=float) for v in (x, tx, n))
        b = np.broadcast_arrays(xa, ta, na)
        _check_bgbb(*[v.reshape(-1) for v in b])
        return x, tx, n, idx

    @dask_aware
    def conditional_expected_purchases(self, n_star: Any, frequency: Any, recency: Any = None,
                                       n_periods: Any = None) -> Any:
        """Expected transactions in the next ``n_star`` opportunities given the history."""
        x, tx, n, idx = self._hist(frequency, recency, n_periods)
        return self._predict(PRED_COND, [n_star, x, tx, n],
                             ["n_star", "frequency", "recency", "n_periods"], idx)

    @dask_aware
    def probability_alive(self, frequency: Any, recency: Any = None,
                          n_periods: Any = None) -> Any:
        """Probability of being alive at opportunity n_periods + 1."""
        x, tx, n, idx = self._hist(frequency, recency, n_periods)
        return self._predict(PRED_PALIVE, [x, tx, n], ["frequency", "recency", "n_periods"], idx)

    @dask_aware
    def dert(self, discount_rate: float, frequency: Any, recency: Any = None,
             n_periods: Any = None) -> Any:
        """Discounted expected residual transactions, ``sum_i E[Y_{n+i}] / (1+d)^i``,
        with ``discount_rate`` d per opportunity."""
        if not (float(discount_rate) > 0):
            raise ValueError("discount_rate must be > 0")
        x, tx, n, idx = self._hist(frequency, recency, n_periods)
        return self._predict(PRED_DERT, [float(discount_rate), x, tx, n],
                             ["discount_rate", "frequency", "recency", "n_periods"], idx)
