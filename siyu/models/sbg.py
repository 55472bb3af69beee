"""Shifted-beta-geometric model of contractual retention (Fader & Hardie 2007)."""
from __future__ import annotations

from typing import Any

import numpy as np

from siyu.models._base import (PRED_DERL, PRED_RETENTION, PRED_SURVIVAL, BaseFitter, _pick,
                               as_float, check_integer)


class ShiftedBetaGeometric(BaseFitter):
    """sBG: each subscriber churns at the end of each period with probability
    theta ~ Beta(alpha, beta).

    Data per subscriber: ``recency`` = the period (1, 2, ...) in which they churned, and
    ``T`` = periods observed + 1, so ``recency == T`` means still active (censored after
    T - 1 renewals), as in ``sbg_paper.csv``.

    Examples
    --------
    >>> import numpy as np
    >>> churn_year = np.repeat([1, 2, 3, 4, 5, 6, 7, 8], [369, 163, 86, 56, 37, 27, 21, 241])
    >>> m = ShiftedBetaGeometric().fit(churn_year, np.full(1000, 8))
    >>> [round(v, 3) for v in m.params_]
    [0.704, 1.182]
    >>> float(m.survival(0))
    1.0
    """

    _param_names = ("alpha", "beta")
    _default_starts = ((0.0, 0.0), (-1.0, 1.0), (1.0, 2.0))

    def fit(self, recency: Any, T: Any = None, weights: Any = None) -> "ShiftedBetaGeometric":
        """Fit by maximum likelihood (``recency`` may be a DataFrame with ``recency`` and
        ``T`` columns). Returns self."""
        if hasattr(recency, "columns"):
            df = recency
            if isinstance(weights, str):
                weights = df[weights].to_numpy()
            t = _pick(df, ("recency",), "recency")
            T = _pick(df, ("T",), "T")
            self.unit = df.attrs.get("unit")
        else:
            if T is None:
                raise TypeError("fit needs recency and T")
            t = recency
        t = as_float(t, "recency")
        T = as_float(T, "T")
        if T.shape != t.shape:
            raise ValueError("T must have the same length as recency")
        check_integer(t, "recency")
        check_integer(T, "T")
        if np.any(t < 1):
            raise ValueError("recency (churn period) must be >= 1")
        if np.any(T < 2):
            raise ValueError("T must be >= 2 (at least one renewal opportunity observed)")
        if np.any(t > T):
            raise ValueError("recency must be <= T (recency == T marks an active subscriber)")
        w = None if weights is None else as_float(weights, "weights")
        self._run_fit(t, T, None, w)
        return self

    def survival(self, t: Any) -> Any:
        """S(t): share of a cohort still subscribed after t periods (t = 0 gives 1)."""
        return self._predict(PRED_SURVIVAL, [t], ["t"])

    def retention(self, t: Any) -> Any:
        """r(t) = S(t)/S(t-1): retention rate in period t (t >= 1)."""
        if np.any(np.asarray(t, dtype=float) < 1):
            raise ValueError("t must be >= 1")
        return self._predict(PRED_RETENTION, [t], ["t"])

    def expected_lifetime(self) -> float:
        """Expected number of periods a new subscriber pays for, (alpha+beta-1)/(alpha-1);
        infinite when alpha <= 1."""
        a, b = self._p()
        return float((a + b - 1) / (a - 1)) if a > 1 else float("inf")

    def discounted_expected_residual_lifetime(self, discount_rate: float,
                                              n_renewals: Any = 0) -> Any:
        """DERL (Fader & Hardie 2010): expected discounted number of future payments of a
        subscriber who has made ``n_renewals`` renewals, the next one counted undiscounted:
        ``sum_{k>=0} S(n+k)/S(n-1) / (1+d)^k`` with n = n_renewals + 1."""
        if not (float(discount_rate) > 0):
            raise ValueError("discount_rate must be > 0")
        n = np.asarray(n_renewals, dtype=float)
        if np.any(n < 0) or np.any(n != np.round(n)):
            raise ValueError("n_renewals must hold whole numbers >= 0")
        return self._predict(PRED_DERL, [float(discount_rate), n_renewals],
                             ["discount_rate", "n_renewals"])
