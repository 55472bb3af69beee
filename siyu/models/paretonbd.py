"""Pareto/NBD (Schmittlein, Morrison & Colombo 1987)."""
from __future__ import annotations

from typing import Any

import numpy as np

from siyu.models._base import (PRED_DERT, PRED_PMF, check_discount, check_pmf_counts, dask_aware,
                               time_input, validate_pred)
from siyu.models._rft import RFTModel


class ParetoNBD(RFTModel):
    """Pareto/NBD purchase model: Poisson purchases at rate lambda ~ Gamma(r, alpha) during
    an exponential lifetime with rate mu ~ Gamma(s, beta).

    The likelihood's Gaussian hypergeometric terms are evaluated in C through an
    Euler-transformed series with a convergence check and a quadrature fallback, so large
    frequencies, long histories and extreme parameters stay finite.

    Examples
    --------
    >>> from siyu.datasets.simulate import simulate
    >>> s = simulate({"r": 0.55, "alpha": 10.6, "s": 0.6, "beta": 11.7}, 5000, T=52, seed=1,
    ...              unit="W", acquisition=26, output="summary")
    >>> m = ParetoNBD().fit(s)
    >>> list(m.params_.index)
    ['r', 'alpha', 's', 'beta']
    >>> bool(m.dert(0.001, 2, 30.0, 40.0) > 0)
    True

    With static covariates (here membership raising the purchase rate by e^0.5):

    >>> import numpy as np, pandas as pd
    >>> cov = pd.DataFrame({"member": np.random.default_rng(0).integers(0, 2, 5000)})
    >>> s = simulate({"r": 0.55, "alpha": 10.6, "s": 0.6, "beta": 11.7}, 5000, T=52, seed=1,
    ...              unit="W", acquisition=26, output="summary", covariates=cov,
    ...              effects={"purchase": {"member": 0.5}})
    >>> mc = ParetoNBD().fit(s, covariates=["member"])
    >>> list(mc.effects_.index)
    ['purchase:member', 'dropout:member']
    >>> bool(abs(mc.effects_["purchase:member"] - 0.5) < 3 * mc.effects_se_["purchase:member"])
    True
    >>> e = mc.expected_purchases(52.0, covariates={"member": 1})
    """

    _param_names = ("r", "alpha", "s", "beta")
    # alpha_i = alpha exp(-purchase'z): a positive effect raises the purchase rate;
    # beta_i = beta exp(-dropout'z): a positive effect raises the dropout rate (shorter life)
    _cov_blocks = {"purchase": ((1, -1),), "dropout": ((3, -1),)}
    _default_starts = ((0.0, 0.0, 0.0, 0.0), (-1.0, 1.0, -1.0, 1.0), (0.0, 2.0, 0.0, 2.0),
                       (1.0, 3.0, 1.0, 3.0), (-2.0, 0.0, -2.0, 0.0))

    def _data_start(self, mean_x: float, mean_T: float) -> list[float]:
        return [1.0, max(mean_T / (mean_x + 0.1), 1e-3), 1.0, max(mean_T, 1e-3)]

    def _boundary_meanings(self) -> list[tuple[tuple[str, ...], tuple[str, ...], str]]:
        return [(("r", "alpha"), (), "models.boundary.rate_homogeneous"),
                (("s", "beta"), (), "models.boundary.dropout_homogeneous"),
                ((), ("s",), "models.boundary.pnbd_no_dropout"),
                (("beta",), (), "models.boundary.pnbd_no_dropout")]

    @dask_aware
    def dert(self, discount_rate: float, frequency: Any, recency: Any = None,
             T: Any = None, covariates: Any = None) -> Any:
        """Discounted expected residual transactions (Fader, Hardie & Lee 2005, "RFM and CLV").

        Parameters
        ----------
        discount_rate : float
            Continuously compounded discount rate per model time unit (for an annual rate
            d and weekly data use ``log(1 + d) / 52``).
        """
        discount_rate = check_discount(discount_rate, 1e-12)
        x, tx, T_, idx = time_input(self, frequency, recency, T)
        validate_pred(x, tx, T_)
        params = self._cov_params(frequency, covariates, int(np.broadcast(x, tx, T_).size))
        return self._predict(PRED_DERT, [float(discount_rate), x, tx, T_],
                             ["discount_rate", "frequency", "recency", "T"], idx, params=params)

    def purchase_pmf(self, n: Any, t: Any, covariates: Any = None) -> Any:
        """P(a new customer makes exactly ``n`` repeat purchases in ``t`` time units)
        (NBD count over the Pareto-distributed lifetime, integrated numerically in C)."""
        check_pmf_counts(n, "n")
        if np.any(np.asarray(t, dtype=float) < 0):
            raise ValueError("t must be >= 0")
        params = self._cov_params(None, covariates, int(np.broadcast(n, t).size))
        return self._predict(PRED_PMF, [n, t], ["n", "t"], params=params)
