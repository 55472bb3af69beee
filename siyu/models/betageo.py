"""BG/NBD (Fader, Hardie & Lee 2005) and MBG/NBD (Batislam, Denizel & Filiztekin 2007)."""
from __future__ import annotations

from typing import Any

import numpy as np

from siyu.models._base import PRED_PMF, check_pmf_counts
from siyu.models._rft import RFTModel

_STARTS = ((0.0, 0.0, 0.0, 0.0), (-1.0, 1.0, -1.0, 1.0), (1.0, 2.0, 0.5, 1.0),
           (-2.0, 0.0, 0.0, 0.0), (0.0, 3.0, 1.0, 2.0))


class BetaGeo(RFTModel):
    """BG/NBD purchase model: Poisson purchases at rate lambda ~ Gamma(r, alpha) while alive;
    after each repeat purchase the customer drops out with probability p ~ Beta(a, b).

    Parameters
    ----------
    penalizer : float, default 0
        L2 penalty on the log-parameters: the fit minimises
        ``-LL/n + penalizer * sum(log(params)**2)``. Recorded in ``summary.attrs``.
    maxiter, tol : optimiser settings (BFGS on log-parameters; tol bounds the gradient).

    Attributes
    ----------
    params_ : Series (r, alpha, a, b)
    standard_errors_, summary, log_likelihood_, AIC_, BIC_, converged_, n_iter_, unit

    Examples
    --------
    >>> from siyu.datasets.simulate import simulate
    >>> s = simulate({"r": 0.25, "alpha": 4.4, "a": 0.8, "b": 2.4}, 5000, T=52, seed=1,
    ...              unit="W", acquisition=26, output="summary")
    >>> m = BetaGeo().fit(s)
    >>> bool(0.15 < m.params_["r"] < 0.35)
    True
    >>> float(m.probability_alive(0, 0, 38.9))
    1.0
    """

    _param_names = ("r", "alpha", "a", "b")
    _default_starts = _STARTS
    # CLVTools' BG/NBD: alpha_i = alpha exp(-purchase'z) (a positive effect raises the
    # purchase rate); a_i = a exp(dropout'z), b_i = b exp(dropout'z): the same factor on
    # a and b keeps the mean dropout probability a/(a+b) and changes its concentration
    _cov_blocks = {"purchase": ((1, -1),), "dropout": ((2, 1), (3, 1))}

    def _boundary_meanings(self) -> list[tuple[tuple[str, ...], tuple[str, ...], str]]:
        a, b = float(self.params_["a"]), float(self.params_["b"])
        # b -> inf with a/(a+b) not small: a and b grow together (the Beta concentrates)
        b_up = "models.boundary.bg_no_dropout" if a / (a + b) < 0.01 else \
            "models.boundary.dropout_homogeneous"
        return [(("r", "alpha"), (), "models.boundary.rate_homogeneous"),
                (("a", "b"), (), "models.boundary.dropout_homogeneous"),
                ((), ("a",), "models.boundary.bg_no_dropout"),
                (("b",), (), b_up)]

    def purchase_pmf(self, n: Any, t: Any, covariates: Any = None) -> Any:
        """P(a new customer makes exactly ``n`` repeat purchases in ``t`` time units)."""
        check_pmf_counts(n, "n")
        if np.any(np.asarray(t, dtype=float) < 0):
            raise ValueError("t must be >= 0")
        params = self._cov_params(None, covariates, int(np.broadcast(n, t).size))
        return self._predict(PRED_PMF, [n, t], ["n", "t"], params=params)


class ModifiedBetaGeo(BetaGeo):
    """MBG/NBD purchase model: as BG/NBD, but customers may also drop out right after their
    first purchase (so a customer with no repeat purchase is not certainly alive).

    Examples
    --------
    >>> from siyu.datasets.simulate import simulate
    >>> s = simulate({"r": 0.25, "alpha": 4.4, "a": 0.8, "b": 2.4}, 5000, T=52, seed=1,
    ...              unit="W", acquisition=26, output="summary")
    >>> m = ModifiedBetaGeo().fit(s)
    >>> 0 < float(m.probability_alive(0, 0, 38.9)) < 1
    True
    """

    _cov_blocks: dict = {}  # no covariate version (fit(covariates=...) raises)
