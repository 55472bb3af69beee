"""BG/BB for discrete purchase opportunities (Fader, Hardie & Shang 2010)."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from siyu import _core
from siyu.models import _intervals
from siyu.models._base import (PRED_COND, PRED_DERT, PRED_EXPECTED, PRED_PALIVE, PRED_PMF,
                               BaseFitter, _pick, check_discount, check_integer, check_pmf_counts,
                               dask_aware, rft_input)


#: most purchase opportunities accepted (loops over opportunities are bounded by it)
MAX_OPPORTUNITIES = 10_000_000


def bgbb_input(frequency: Any, recency: Any, n_periods: Any):
    if hasattr(frequency, "columns"):
        df = frequency
        return (_pick(df, ("frequency_cal", "frequency", "x"), "frequency"),
                _pick(df, ("recency_cal", "recency", "t_x"), "recency"),
                _pick(df, ("n_periods", "periods", "n", "T_cal", "T"), "n_periods"), df.index)
    idx = getattr(frequency, "index", None)
    return frequency, recency, n_periods, idx


def check_opportunities(n: Any, name: str, minimum: int = 0) -> None:
    a = np.asarray(n, dtype=float)
    if not np.all(np.isfinite(a)) or np.any(a != np.round(a)) or np.any(a < minimum):
        raise ValueError(f"{name} must hold whole numbers >= {minimum} (purchase opportunities)")
    if np.any(a > MAX_OPPORTUNITIES):
        raise ValueError(f"{name} is larger than {MAX_OPPORTUNITIES:,} opportunities; BG/BB "
                         "counts discrete opportunities (e.g. years or campaigns), not days")


def check_bgbb(x: np.ndarray, tx: np.ndarray, n: np.ndarray) -> None:
    for arr, name in ((x, "frequency"), (tx, "recency")):
        if not np.all(np.isfinite(arr)) or np.any(arr < 0):
            raise ValueError(f"{name} must hold whole numbers >= 0 (opportunities)")
    check_integer(x, "frequency")
    check_integer(tx, "recency")
    check_integer(n, "n_periods")
    if np.any(n < 1):
        raise ValueError("n_periods must be >= 1 (number of purchase opportunities)")
    check_opportunities(n, "n_periods", 1)
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
            x, tx, n, idx = bgbb_input(df, None, None)
            self.unit = df.attrs.get("unit")
        else:
            x, tx, n, idx = frequency, recency, n_periods, None
        x, tx, n, w, _, _ = rft_input(x, tx, n, weights, t_label="n_periods")
        check_bgbb(x, tx, n)
        self._run_fit(x, tx, n, w)
        return self

    def expected_purchases(self, n: Any, *, interval: float | None = None,
                           method: str = "asymptotic", n_boot: int = 200,
                           seed: int | None = None) -> Any:
        """Expected transactions of a new customer in the first ``n`` opportunities
        (closed form, Fader, Hardie & Shang 2010 eq. 8).  ``interval``, ``method``,
        ``n_boot``, ``seed``: a prediction interval (see
        ``BetaGeo.conditional_expected_purchases``)."""
        check_opportunities(n, "n")
        if interval is not None:
            idx = None if isinstance(n, pd.Series) else pd.Index(
                np.atleast_1d(np.asarray(n, dtype=float)).reshape(-1), name="n")
            return _intervals.predict_interval(self, PRED_EXPECTED, [n], ["n"], idx, interval,
                                               method, n_boot, seed)
        return self._predict(PRED_EXPECTED, [n], ["n"])

    def purchase_pmf(self, x: Any, n: Any) -> Any:
        """P(a new customer makes exactly ``x`` transactions in the first ``n``
        opportunities) (Fader, Hardie & Shang 2010 eq. 7).

        Examples
        --------
        >>> import numpy as np, pandas as pd, siyu
        >>> m = siyu.BetaGeoBetaBinom()
        >>> m.params_ = pd.Series([1.2035, 0.7497, 0.6567, 2.7834], index=list(m._param_names))
        >>> p = m.purchase_pmf(np.arange(7), 6)
        >>> round(float(p.sum()), 12)
        1.0
        >>> round(float(p[0] * 11104), 1)          # donors with no donation in 6 years
        3454.9
        """
        check_pmf_counts(x, "x")
        check_opportunities(n, "n")
        return self._predict(PRED_PMF, [x, n], ["x", "n"])

    def loglik(self, frequency: Any, recency: Any = None, n_periods: Any = None) -> Any:
        """Log-likelihood of each (frequency, recency, n_periods) row at the fitted
        parameters; with the fit's weights, their weighted sum is :attr:`log_likelihood_`."""
        self._check_fitted()
        x, tx, n, idx = bgbb_input(frequency, recency, n_periods)
        x, tx, n, _, _, _ = rft_input(x, tx, n, t_label="n_periods")
        check_bgbb(x, tx, n)
        out = self._loglik_rows(x, tx, n)
        return pd.Series(out, index=idx) if idx is not None else out

    def simulate(self, n_customers: int, n_periods: Any, n_holdout: int = 0,
                 seed: int | None = None, output: str = "summary") -> pd.DataFrame:
        """Draw customers from this fitted BG/BB model; see :func:`simulate_bgbb`."""
        return simulate_bgbb(self, n_customers, n_periods, n_holdout=n_holdout, seed=seed,
                             output=output)

    def _hist(self, frequency, recency, n_periods):
        x, tx, n, idx = bgbb_input(frequency, recency, n_periods)
        xa, ta, na = (np.asarray(v, dtype=float) for v in (x, tx, n))
        b = np.broadcast_arrays(xa, ta, na)
        check_bgbb(*[v.reshape(-1) for v in b])
        return x, tx, n, idx

    @dask_aware
    def conditional_expected_purchases(self, n_star: Any, frequency: Any, recency: Any = None,
                                       n_periods: Any = None, *,
                                       interval: float | None = None,
                                       method: str = "asymptotic", n_boot: int = 200,
                                       seed: int | None = None) -> Any:
        """Expected transactions in the next ``n_star`` opportunities given the history
        (closed form, FHS 2010 eq. 13).  ``interval``, ``method``, ``n_boot``, ``seed``: a
        prediction interval (see ``BetaGeo.conditional_expected_purchases``)."""
        x, tx, n, idx = self._hist(frequency, recency, n_periods)
        check_opportunities(n_star, "n_star")
        cols, names = [n_star, x, tx, n], ["n_star", "frequency", "recency", "n_periods"]
        if interval is not None:
            return _intervals.predict_interval(self, PRED_COND, cols, names, idx, interval,
                                               method, n_boot, seed)
        return self._predict(PRED_COND, cols, names, idx)

    @dask_aware
    def probability_alive(self, frequency: Any, recency: Any = None,
                          n_periods: Any = None, *, interval: float | None = None,
                          method: str = "asymptotic", n_boot: int = 200,
                          seed: int | None = None) -> Any:
        """Probability of being alive at opportunity n_periods + 1 (``interval`` etc.: a
        prediction interval)."""
        x, tx, n, idx = self._hist(frequency, recency, n_periods)
        cols, names = [x, tx, n], ["frequency", "recency", "n_periods"]
        if interval is not None:
            return _intervals.predict_interval(self, PRED_PALIVE, cols, names, idx, interval,
                                               method, n_boot, seed)
        return self._predict(PRED_PALIVE, cols, names, idx)

    @dask_aware
    def dert(self, discount_rate: float, frequency: Any, recency: Any = None,
             n_periods: Any = None) -> Any:
        """Discounted expected residual transactions, ``sum_i E[Y_{n+i}] / (1+d)^i``,
        with ``discount_rate`` d per opportunity."""
        discount_rate = check_discount(discount_rate, 1e-6)
        x, tx, n, idx = self._hist(frequency, recency, n_periods)
        return self._predict(PRED_DERT, [float(discount_rate), x, tx, n],
                             ["discount_rate", "frequency", "recency", "n_periods"], idx)


def simulate_bgbb(params: Any, n_customers: int, n_periods: Any, n_holdout: int = 0,
                  seed: int | None = None, output: str = "summary") -> pd.DataFrame:
    """Draw BG/BB customers (in C): each has p ~ Beta(alpha, beta) and theta ~ Beta(gamma,
    delta); before each opportunity an alive customer dies with probability theta, and an
    alive customer transacts with probability p.

    Parameters
    ----------
    params : dict or fitted BetaGeoBetaBinom
        ``{"alpha", "beta", "gamma", "delta"}``.
    n_customers : int
        Number of customers.
    n_periods : int or array-like
        Calibration opportunities (one number for everyone, or one per customer).
    n_holdout : int, default 0
        Further opportunities whose transactions go to ``frequency_holdout``.
    seed : int, optional
        Same seed, same customers (whatever the thread count).
    output : {"summary", "collapsed"}
        ``"summary"``: one row per customer (frequency, recency, n_periods, plus
        frequency_holdout with a holdout, and alive: still alive after the last opportunity).
        ``"collapsed"``: one row per (frequency, recency, n_periods[, frequency_holdout])
        pattern with its ``weights`` (number of customers), ready for ``fit``.

    Examples
    --------
    >>> from siyu.models.bgbb import simulate_bgbb
    >>> s = simulate_bgbb({"alpha": 1.2, "beta": 0.75, "gamma": 0.66, "delta": 2.8}, 1000, 6,
    ...                   seed=1)
    >>> list(s.columns)
    ['frequency', 'recency', 'n_periods', 'alive']
    >>> bool((s["recency"] <= 6).all() and (s["frequency"] <= s["recency"]).all())
    True
    """
    if hasattr(params, "params_"):
        p = {k: float(v) for k, v in params.params_.items()}
    elif isinstance(params, dict):
        p = {k: float(v) for k, v in params.items()}
    else:
        raise TypeError("params must be a dict {alpha, beta, gamma, delta} or a fitted "
                        "BetaGeoBetaBinom")
    names = BetaGeoBetaBinom._param_names
    missing = [k for k in names if k not in p]
    if missing:
        raise ValueError(f"params lacks {missing}; pass alpha, beta, gamma and delta")
    par = np.array([p[k] for k in names], dtype=np.float64)
    if not np.all(np.isfinite(par)) or np.any(par <= 0):
        raise ValueError(f"BG/BB parameters must be finite and > 0, got {dict(zip(names, par))}")
    if isinstance(n_customers, bool) or not isinstance(n_customers, (int, np.integer)):
        raise TypeError("n_customers must be a whole number, e.g. n_customers=1000")
    n = int(n_customers)
    if n < 0:
        raise ValueError("n_customers must be >= 0")
    if n > 50_000_000:
        raise ValueError("n_customers is larger than 50,000,000; simulate in batches with "
                         "different seeds")
    nper = np.asarray(n_periods, dtype=float)
    check_opportunities(nper, "n_periods", 1)
    nper = np.ascontiguousarray(np.broadcast_to(nper, (n,)).astype(np.int64))
    if isinstance(n_holdout, bool) or not isinstance(n_holdout, (int, np.integer)):
        raise TypeError("n_holdout must be a whole number")
    check_opportunities(n_holdout, "n_holdout")
    if output not in ("summary", "collapsed"):
        raise ValueError("output must be 'summary' or 'collapsed'")
    s = _intervals.seed_value(seed)
    x, tx, xs, alive = _core.trust_bgbb_simulate(par, nper, int(n_holdout), s)
    cols = {"frequency": x, "recency": tx, "n_periods": nper}
    if n_holdout:
        cols["frequency_holdout"] = xs
    cols["alive"] = alive.astype(bool)
    out = pd.DataFrame(cols, index=pd.RangeIndex(1, n + 1, name="customer_id"))
    if output == "collapsed":
        keys = [c for c in out.columns if c != "alive"]
        out = (out.groupby(keys).size().rename("weights").reset_index())
    out.attrs.update({"model": "BetaGeoBetaBinom", "seed": s, "n_holdout": int(n_holdout)})
    return out
