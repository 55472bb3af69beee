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

    def purchase_pmf(self, n: Any, t: Any) -> Any:
        """P(a new customer makes exactly ``n`` repeat purchases in ``t`` time units)."""
        check_pmf_counts(n, "n")
        if np.any(np.asarray(t, dtype=float) < 0):
            raise ValueError("t must be >= 0")
        return self._predict(PRED_PMF, [n, t], ["n", "t"])


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
