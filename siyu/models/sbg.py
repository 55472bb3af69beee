"""Shifted-beta-geometric model of contractual retention (Fader & Hardie 2007)."""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from siyu.models._base import (PRED_DERL, PRED_RETENTION, PRED_SURVIVAL, BaseFitter, _pick,
                               as_float, check_discount, check_integer, check_weights)


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
        w = check_weights(weights, t.shape[0])
        self._run_fit(t, T, None, w)
        return self

    def fit_survival(self, alive: Any, cohort: str | None = None, *, size: float | None = None,
                     period: str = "period", count: str = "alive") -> "ShiftedBetaGeometric":
        """Fit from survival counts: how many of a cohort are still subscribed after each
        period (the form of Fader & Hardie 2007, Table 1).

        Parameters
        ----------
        alive : array-like, Series or DataFrame
            One cohort: the numbers still active at periods 0, 1, ..., K (period 0 = the
            cohort size).  With ``size=``, the shares still active (1.0 at period 0).
            Several cohorts fitted jointly (one alpha, beta): a long DataFrame with the
            ``cohort`` column, a ``period`` column (0, 1, ... per cohort) and a ``count``
            column; cohorts may be observed for different numbers of periods.
        cohort : str, optional
            Name of the cohort column of a long DataFrame.
        size : float, optional
            Cohort size when ``alive`` holds shares.
        period, count : str
            Column names of the long form.

        Returns
        -------
        self

        Examples
        --------
        >>> import siyu
        >>> pct = [100.0, 86.9, 74.3, 65.3, 59.3, 55.1, 51.7, 49.1]   # high end, years 0-7
        >>> m = siyu.ShiftedBetaGeometric().fit_survival([p / 100 for p in pct], size=1000)
        >>> [round(v, 3) for v in m.params_]
        [0.668, 3.806]
        """
        if isinstance(alive, pd.DataFrame):
            if cohort is None:
                raise TypeError("with a DataFrame pass cohort= (the cohort column) and its "
                                f"{period!r} and {count!r} columns, or pass one cohort's counts")
            for c in (cohort, period, count):
                if c not in alive.columns:
                    raise ValueError(f"fit_survival: the DataFrame has no {c!r} column")
            groups = []
            for key, g in alive.groupby(cohort, sort=True):
                g = g.sort_values(period)
                per = g[period].to_numpy(dtype=float)
                if not np.array_equal(per, np.arange(per.size)):
                    raise ValueError(f"fit_survival: cohort {key!r} must have periods 0, 1, 2, "
                                     f"... without gaps, got {per.tolist()}")
                groups.append((key, g[count].to_numpy(dtype=float)))
        elif cohort is not None:
            raise TypeError("cohort= needs a long DataFrame of (cohort, period, count) rows")
        else:
            groups = [(None, as_float(alive, "alive"))]
        rec, Ts, ws = [], [], []
        for key, a in groups:
            name = "alive" if key is None else f"alive of cohort {key!r}"
            a = as_float(a, name)
            if size is not None:
                if not (float(size) > 0):
                    raise ValueError("size must be > 0 (the cohort size)")
                a = a * float(size)
            if a.size < 2:
                raise ValueError(f"{name} needs at least periods 0 and 1")
            if np.any(a < 0):
                raise ValueError(f"{name} must be >= 0")
            drop = np.diff(a)
            if np.any(drop > 1e-9 * max(a[0], 1.0)):
                bad = int(np.flatnonzero(drop > 1e-9 * max(a[0], 1.0))[0]) + 1
                raise ValueError(f"{name} rises at period {bad} ({a[bad - 1]:g} -> {a[bad]:g}); "
                                 "survival counts can only fall. Is this a retention rate of a "
                                 "non-contractual business (customers who come back)? sBG needs "
                                 "counts of customers still subscribed.")
            if not (a[0] > 0):
                raise ValueError(f"{name}: the cohort is empty at period 0")
            K = a.size - 1
            churn = -np.diff(a)
            rec += list(range(1, K + 1)) + [K + 1]
            Ts += [K + 1] * (K + 1)
            ws += list(np.maximum(churn, 0.0)) + [a[-1]]
        r_, T_, w_ = (np.asarray(v, dtype=float) for v in (rec, Ts, ws))
        keep = w_ > 0
        self.fit(r_[keep], T_[keep], weights=w_[keep])
        self.n_cohorts_ = len(groups)
        return self

    def loglik(self, recency: Any, T: Any = None) -> Any:
        """Log-likelihood of each subscriber's (churn period, T) at the fitted parameters."""
        self._check_fitted()
        idx = None
        if hasattr(recency, "columns"):
            idx = recency.index
            T = _pick(recency, ("T",), "T")
            recency = _pick(recency, ("recency",), "recency")
        elif isinstance(recency, pd.Series):
            idx = recency.index
        if T is None:
            raise TypeError("loglik needs recency and T")
        t = as_float(recency, "recency")
        TT = as_float(T, "T")
        if TT.shape != t.shape:
            raise ValueError("T must have the same length as recency")
        check_integer(t, "recency")
        check_integer(TT, "T")
        if np.any(t < 1) or np.any(t > TT):
            raise ValueError("recency must be in 1..T (recency == T: still active)")
        out = self._loglik_rows(t, TT, None)
        return pd.Series(out, index=idx) if idx is not None else out

    def survival(self, t: Any) -> Any:
        """S(t): share of a cohort still subscribed after t periods (t = 0 gives 1)."""
        if np.any(np.asarray(t, dtype=float) < 0):
            raise ValueError("t must be >= 0 (periods since the start)")
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
        discount_rate = check_discount(discount_rate, 1e-6)
        n = np.asarray(n_renewals, dtype=float)
        if np.any(n < 0) or np.any(n != np.round(n)):
            raise ValueError("n_renewals must hold whole numbers >= 0")
        return self._predict(PRED_DERL, [float(discount_rate), n_renewals],
                             ["discount_rate", "n_renewals"])


def sbg_from_cohorts(cohorts: Any, min_periods: int = 2) -> pd.DataFrame:
    """Fit an sBG model to each acquisition cohort's retention row.

    Each cohort's active counts by age (``cohorts.active``, with ``cohorts.sizes`` at age 0)
    are read as survival counts: the share still subscribed after each period.  That holds
    for subscriptions (contractual data: a customer who stops never comes back); rows that
    rise again (customers returning, as in shop purchases) are rejected with an error.
    Cells flagged partial (``cohorts.partial``, a period cut short by the end of the data)
    and unobserved cells are left out.

    Parameters
    ----------
    cohorts : CohortTable
        From ``tx.cohorts(...)`` (any object with ``sizes`` and ``active``).
    min_periods : int, default 2
        Cohorts observed for fewer renewal periods are skipped (counted in
        ``attrs["n_skipped"]``).

    Returns
    -------
    DataFrame indexed like ``cohorts.sizes``: n_customers, n_periods, alpha, beta,
    alpha_se, beta_se, log_likelihood, converged, churn_probability (alpha/(alpha+beta),
    the mean first-period churn) and expected_lifetime (periods; inf when alpha <= 1).
    """
    if not hasattr(cohorts, "sizes") or not hasattr(cohorts, "active"):
        raise TypeError("cohorts must be a CohortTable from tx.cohorts(...) (with .sizes and "
                        ".active)")
    if isinstance(min_periods, bool) or not isinstance(min_periods, (int, np.integer)) \
            or min_periods < 1:
        raise ValueError("min_periods must be a whole number >= 1")
    sizes = cohorts.sizes
    act = cohorts.active
    partial = getattr(cohorts, "partial", None)
    rows, index, skipped = [], [], 0
    for pos, key in enumerate(sizes.index):
        a = act.iloc[pos].to_numpy(dtype=float)
        if isinstance(partial, pd.DataFrame) and partial.shape == act.shape:
            a = np.where(partial.iloc[pos].to_numpy(dtype=bool), np.nan, a)
        obs = np.isfinite(a)
        # observed ages are a prefix 0..K (later cells are not yet observed)
        K = int(np.argmin(obs)) - 1 if not obs.all() else a.size - 1
        counts = a[:K + 1].copy()
        if counts.size:
            counts[0] = float(sizes.iloc[pos])
        if K < min_periods or not counts.size or counts[0] <= 0:
            skipped += 1
            continue
        m = ShiftedBetaGeometric()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                m.fit_survival(counts)
        except ValueError as exc:
            raise ValueError(f"cohort {key}: {exc}") from None
        al, be = m.params_
        se = m.standard_errors_
        rows.append({"n_customers": int(counts[0]), "n_periods": K, "alpha": al, "beta": be,
                     "alpha_se": se.iloc[0], "beta_se": se.iloc[1],
                     "log_likelihood": m.log_likelihood_, "converged": m.converged_,
                     "churn_probability": al / (al + be),
                     "expected_lifetime": m.expected_lifetime()})
        index.append(key)
    idx = pd.Index(index, name=sizes.index.name) if not isinstance(sizes.index, pd.MultiIndex) \
        else pd.MultiIndex.from_tuples(index, names=sizes.index.names)
    out = pd.DataFrame(rows, index=idx, columns=["n_customers", "n_periods", "alpha", "beta",
                                                 "alpha_se", "beta_se", "log_likelihood",
                                                 "converged", "churn_probability",
                                                 "expected_lifetime"])
    out.attrs.update({"n_skipped": skipped, "period": getattr(cohorts, "period", None)})
    return out
