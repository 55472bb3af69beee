"""Prediction intervals: asymptotic draws of the parameters and the bootstrap.

Every interval is built the same way, through the models' parameter hooks
(``_theta``, ``_theta_cov``, ``_row_params``, ``_predict(params=...)``):

1. draw parameter vectors theta on the optimiser's (log) scale --
   ``"asymptotic"``: from the normal N(theta_hat, inverse Hessian) of the fit;
   ``"bootstrap"``: by refitting on customers resampled with replacement (a multinomial
   reweighting of the collapsed data table, all refits in C on all cores);
2. map each draw to the natural parameters (``_row_params``) and predict with them;
3. report the point prediction at the fitted parameters with the percentile interval of
   the draws.

Also :func:`bootstrap_means`, a percentile bootstrap of any statistic of column means of
per-customer values (customers resampled within each group, in C).
"""
from __future__ import annotations

import math
import warnings
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from siyu import _core

METHODS = ("asymptotic", "bootstrap")
MAX_DRAWS = 100_000
#: values kept in memory per block of customers (draws x customers)
_BLOCK_VALUES = 4_000_000


def check_interval(interval: Any, method: Any, n_boot: Any) -> tuple[float, str, int]:
    """Validate ``interval``, ``method`` and ``n_boot``; return them normalised."""
    try:
        level = float(interval)
    except (TypeError, ValueError):
        raise TypeError(f"interval must be a number in (0, 1) such as 0.9, got {interval!r}")
    if not (0.0 < level < 1.0):
        raise ValueError(f"interval must be in (0, 1) (e.g. 0.9 for a 90% interval), got {level}")
    if method not in METHODS:
        raise ValueError(f"method must be 'asymptotic' or 'bootstrap', got {method!r}")
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)):
        raise TypeError(f"n_boot must be a whole number, got {n_boot!r}")
    n_boot = int(n_boot)
    if not (20 <= n_boot <= MAX_DRAWS):
        raise ValueError(f"n_boot must be between 20 and {MAX_DRAWS}, got {n_boot}; "
                         "200 is a good default")
    if n_boot * min(level, 1 - level) < 2.5:
        raise ValueError(f"n_boot={n_boot} is too small for a {level:.0%} interval: use at "
                         f"least {math.ceil(2.5 / min(level, 1 - level))} draws")
    return level, method, n_boot


def seed_value(seed: Any) -> int:
    """A 64-bit seed from None (fresh entropy), an int or a numpy SeedSequence."""
    if isinstance(seed, np.random.SeedSequence):
        ss = seed
    else:
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise TypeError(f"seed must be None or a whole number, got {seed!r}")
        if seed is not None and int(seed) < 0:
            raise ValueError("seed must be >= 0")
        ss = np.random.SeedSequence(None if seed is None else int(seed))
    return int(ss.generate_state(1, dtype=np.uint64)[0])


def _asymptotic_thetas(model: Any, n_draws: int, seed: int) -> np.ndarray:
    theta = np.asarray(model._theta(), dtype=float)
    cov = np.asarray(model._theta_cov(), dtype=float)
    k = theta.shape[0]
    bad = (cov.shape != (k, k) or not np.all(np.isfinite(cov)))
    if not bad:
        cov = 0.5 * (cov + cov.T)
        w, V = np.linalg.eigh(cov)
        bad = not (w.min() > 0)
    if bad:
        raise ValueError(f"{type(model).__name__}: the fitted covariance of the parameters is "
                         "not positive definite (the data do not identify every parameter), so "
                         "asymptotic intervals are not available; use method='bootstrap' or "
                         "refit with a small penalizer")
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n_draws, k))
    return theta[None, :] + (z * np.sqrt(w)[None, :]) @ V.T


def theta_draws(model: Any, method: str, n_boot: int, seed: int) -> tuple[np.ndarray, dict]:
    """Parameter draws (n, k) on the optimiser's scale and a dict of details."""
    model._check_fitted()
    if method == "asymptotic":
        return _asymptotic_thetas(model, n_boot, seed), {"n_failed": 0}
    thetas, status = model._bootstrap_thetas(n_boot, seed)
    ok = status >= 0
    n_failed = int((~ok).sum())
    n_unconv = int((status == 0).sum())
    if n_failed > 0.05 * n_boot:
        warnings.warn(f"{type(model).__name__}: {n_failed} of {n_boot} bootstrap refits failed "
                      "(no finite likelihood from any start); the interval uses the others and "
                      "may be too narrow. A small penalizer usually helps.",
                      UserWarning, stacklevel=4)
    if n_unconv > 0.05 * n_boot:
        warnings.warn(f"{type(model).__name__}: {n_unconv} of {n_boot} bootstrap refits did not "
                      "meet the gradient tolerance; they are kept at their best point.",
                      UserWarning, stacklevel=4)
    if ok.sum() < 2:
        raise ValueError(f"{type(model).__name__}: fewer than two bootstrap refits succeeded; "
                         "no interval can be formed. Try a penalizer > 0 or method='asymptotic'.")
    return thetas[ok], {"n_failed": n_failed, "n_not_converged": n_unconv}


def _safe(fn: Callable[..., np.ndarray], *args: Any) -> np.ndarray | None:
    from siyu.models._base import ConvergenceError
    try:
        with np.errstate(all="ignore"):
            return np.asarray(fn(*args), dtype=float)
    except (ConvergenceError, FloatingPointError, OverflowError):
        return None


def batchable(model: Any) -> bool:
    """True when the model predicts through the plain C kernel with one parameter vector for
    every customer, so all draws can be predicted in one parallel C call."""
    from siyu.models._base import BaseFitter
    return (type(model)._predict is BaseFitter._predict
            and np.asarray(model._row_params(model._theta())).ndim == 1)


def draws_interval(models: Sequence[Any], fn: Callable[..., np.ndarray], n: int, level: float,
                   method: str, n_boot: int, seed: Any, index: pd.Index | None,
                   fn_batch: Callable[..., tuple[np.ndarray, np.ndarray]] | None = None,
                   inverse: np.ndarray | None = None,
                   row_maps: Sequence[Callable[..., np.ndarray] | None] | None = None
                   ) -> pd.DataFrame:
    """Point estimate and percentile interval of ``fn`` over parameter draws.

    ``fn(params_list, rows)`` returns the prediction for the rows ``rows`` (a slice of
    0..n) with one natural-parameter array per model (``None`` in params_list: the fitted
    parameters).  ``fn_batch(matrices, rows)``, used when every model is :func:`batchable`,
    takes one (n_draws, npar) matrix per model and returns (values (n_draws, rows), ok
    (n_draws,)).  Each model gets its own draws (independent seeds derived from ``seed``).
    With ``inverse``, the n rows are the distinct input rows and the result is expanded to
    ``inverse`` (one entry per input row).  ``row_maps`` (one per model, None = the
    model's ``_row_params``) maps a draw to natural parameters, e.g. per-customer ones
    from a covariate model's rows.
    """
    s = seed_value(seed)
    ss = np.random.SeedSequence(s).spawn(len(models))
    draws, infos = [], []
    for m, sq in zip(models, ss):
        th, info = theta_draws(m, method, n_boot, int(sq.generate_state(1, dtype=np.uint64)[0]))
        draws.append(th)
        infos.append(info)
    maps = [m._row_params if (row_maps is None or f is None) else f
            for m, f in zip(models, row_maps if row_maps is not None else [None] * len(models))]
    B = min(d.shape[0] for d in draws)
    point = np.asarray(fn([None] * len(models), slice(0, n)), dtype=float).reshape(-1)
    if point.shape[0] != n:
        raise RuntimeError("internal error: prediction length does not match the input")
    lower = np.empty(n)
    upper = np.empty(n)
    q = [(1.0 - level) / 2.0, (1.0 + level) / 2.0]
    block = max(1, min(n, _BLOCK_VALUES // max(B, 1)))
    bad = np.zeros(B, dtype=bool)
    use_batch = (fn_batch is not None and row_maps is None
                 and all(batchable(m) for m in models))
    mats = ([np.ascontiguousarray(np.stack([np.asarray(m._row_params(th), dtype=np.float64)
                                            for th in d[:B]])) for m, d in zip(models, draws)]
            if use_batch else None)
    for start in range(0, n, block):
        rows = slice(start, min(n, start + block))
        width = rows.stop - rows.start
        if use_batch:
            with np.errstate(all="ignore"):
                vals, ok = fn_batch(mats, rows)
            vals = np.array(vals, dtype=float, copy=True)
            bad |= ~np.asarray(ok, dtype=bool)
            vals[~np.asarray(ok, dtype=bool)] = np.nan
        else:
            vals = np.full((B, width), np.nan)
            for b in range(B):
                pb = []
                for f, d in zip(maps, draws):
                    p = np.asarray(f(d[b]), dtype=np.float64)
                    pb.append(np.ascontiguousarray(p[rows]) if p.ndim == 2 else p)
                v = _safe(fn, pb, rows)
                if v is None or v.shape[0] != width:
                    bad[b] = True
                    continue
                vals[b] = v
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            lo, hi = np.nanquantile(vals, q, axis=0)
        lower[rows], upper[rows] = lo, hi
    n_bad = int(bad.sum())
    if n_bad > 0.05 * B:
        warnings.warn(f"{n_bad} of {B} parameter draws gave no finite prediction (extreme "
                      "parameters); the interval uses the others", UserWarning, stacklevel=3)
    if inverse is not None:
        point, lower, upper = point[inverse], lower[inverse], upper[inverse]
    out = pd.DataFrame({"estimate": point, "lower": lower, "upper": upper},
                       index=index if index is not None and len(index) == point.shape[0]
                       else None)
    out.attrs.update({"interval": level, "method": method, "n_draws": int(B),
                      "seed": s, "n_failed_draws": n_bad,
                      "n_failed_refits": int(sum(i.get("n_failed", 0) for i in infos))})
    return out


def distinct_rows(cols: Sequence[np.ndarray]) -> tuple[list[np.ndarray], np.ndarray | None]:
    """The distinct rows of equal-length columns and the inverse index (None when there are
    few repeats: then the columns are returned as they are)."""
    n = cols[0].shape[0]
    if n < 64:
        return list(cols), None
    uniq, inv = np.unique(np.column_stack(cols), axis=0, return_inverse=True)
    if uniq.shape[0] > 0.8 * n:
        return list(cols), None
    return [np.ascontiguousarray(uniq[:, j]) for j in range(uniq.shape[1])], inv.reshape(-1)


def predict_interval(model: Any, what: int, cols: Sequence[Any], names: Sequence[str],
                     index: pd.Index | None, interval: Any, method: Any, n_boot: Any,
                     seed: Any, F: np.ndarray | None = None) -> pd.DataFrame:
    """Interval of one of the model's ``_predict`` codes over broadcast input columns
    (predicted once per distinct input row).  ``F``: a covariate model's (n or 1,
    n_features) covariate rows of the inputs (None without covariates)."""
    level, method, n_boot = check_interval(interval, method, n_boot)
    arrs = np.broadcast_arrays(*[np.asarray(c, dtype=np.float64) for c in cols])
    flat = [np.ascontiguousarray(a.reshape(-1)) for a in arrs]
    n = flat[0].shape[0]
    if index is None:
        for c in cols:
            if isinstance(c, pd.Series) and len(c) == n:
                index = c.index
                break
    nc = len(flat)
    if F is not None:
        F = np.asarray(F, dtype=np.float64)
        F = F.reshape(1, -1) if F.ndim == 1 else F
        if F.shape[0] == 1 and n != 1:
            F = np.repeat(F, n, axis=0)
        elif n == 1 and F.shape[0] != 1:   # one horizon for several profiles
            n = F.shape[0]
            flat = [np.ascontiguousarray(np.repeat(f, n)) for f in flat]
        if F.shape[0] != n:
            raise ValueError(f"covariates give {F.shape[0]} customers but the prediction has "
                             f"{n} rows")
        flat = flat + [np.ascontiguousarray(F[:, j]) for j in range(F.shape[1])]
    ucols, inv = distinct_rows(flat)
    UF = None if F is None else np.ascontiguousarray(np.column_stack(ucols[nc:]))
    ucols = ucols[:nc]
    m = ucols[0].shape[0]

    def fn(params: list, rows: slice) -> np.ndarray:
        p = params[0]
        if p is None and UF is not None:
            p = model._row_params(model._theta(), UF)[rows]
        return np.asarray(model._predict(what, [f[rows] for f in ucols], names,
                                         params=p), dtype=float).reshape(-1)

    def fn_batch(mats: list, rows: slice) -> tuple[np.ndarray, np.ndarray]:
        return _core.trust_predict_draws(model._code, what, mats[0],
                                         tuple(np.ascontiguousarray(f[rows]) for f in ucols))

    maps = None if UF is None else [lambda th: model._row_params(th, UF)]
    return draws_interval([model], fn, m, level, method, n_boot, seed, index, fn_batch, inv,
                          maps)


def bootstrap_means(stat: Callable[..., Any], *groups: Any, n_boot: int = 1000,
                    interval: float = 0.95, seed: Any = None) -> pd.Series:
    """Percentile bootstrap of a statistic of column means, resampling customers.

    Each group is an array of per-customer values (n_customers x k, or 1-d for k = 1);
    every replicate resamples the customers of each group with replacement (in C, on all
    cores) and passes the column means of each group to ``stat``.  ``stat`` is called once
    with arrays of shape (k,) for the point estimate and once with arrays of shape
    (n_boot, k) for the replicates, so write it with ``[..., j]`` indexing.  Means cover
    rates (mean of 0/1 indicators), averages, ratios of totals (customer counts are fixed
    under resampling) and ratios between groups.

    Parameters
    ----------
    stat : callable
        ``stat(means_1, means_2, ...)`` -> number (or array of numbers per replicate).
    *groups : array-like
        Per-customer values of each group; groups are resampled independently.
    n_boot : int, default 1000
        Replicates.
    interval : float, default 0.95
        Coverage of the percentile interval.
    seed : int, optional
        Seed; the same seed gives the same interval on any number of threads.

    Returns
    -------
    Series with ``estimate``, ``lower``, ``upper`` (``attrs``: interval, n_boot, seed).

    Examples
    --------
    >>> import numpy as np
    >>> import siyu
    >>> bought_again = np.r_[np.ones(300), np.zeros(700)]     # 30% of 1,000 customers
    >>> r = siyu.bootstrap_means(lambda m: m[..., 0], bought_again, seed=1)
    >>> float(r["estimate"])
    0.3
    >>> bool(0.26 < r["lower"] < 0.3 < r["upper"] < 0.34)
    True
    """
    if not callable(stat):
        raise TypeError("stat must be a function of the groups' column means")
    if not groups:
        raise TypeError("pass at least one group of per-customer values")
    level, _, n_boot = check_interval(interval, "bootstrap", n_boot)
    s = seed_value(seed)
    mats = []
    for g_i, g in enumerate(groups):
        a = np.asarray(g, dtype=np.float64)
        if a.ndim == 1:
            a = a[:, None]
        if a.ndim != 2 or a.shape[0] < 1:
            raise ValueError(f"group {g_i + 1} must be a non-empty 1-d or 2-d array "
                             f"(customers x values), got shape {a.shape}")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"group {g_i + 1} contains NaN or inf; drop or fill those customers")
        mats.append(np.ascontiguousarray(a))
    seeds = np.random.SeedSequence(s).spawn(len(mats))
    point_args = [m.mean(axis=0) for m in mats]
    reps = [_core.trust_bootstrap_means(m, n_boot, int(sq.generate_state(1, dtype=np.uint64)[0]))
            for m, sq in zip(mats, seeds)]
    est = np.asarray(stat(*point_args), dtype=float)
    if est.size != 1:
        raise ValueError("stat must return one number for the point estimate")
    vals = np.asarray(stat(*reps), dtype=float).reshape(-1)
    if vals.shape[0] != n_boot:
        raise ValueError("stat must return one value per replicate (use [..., j] indexing so it "
                         "works on arrays of shape (n_boot, k))")
    finite = np.isfinite(vals)
    if finite.sum() < n_boot * 0.95:
        warnings.warn(f"{int((~finite).sum())} of {n_boot} replicates gave a non-finite "
                      "statistic (e.g. a zero denominator); they are left out",
                      UserWarning, stacklevel=2)
    lo, hi = np.quantile(vals[finite], [(1 - level) / 2, (1 + level) / 2])
    out = pd.Series({"estimate": float(est.reshape(-1)[0]), "lower": float(lo),
                     "upper": float(hi)})
    out.attrs.update({"interval": level, "n_boot": n_boot, "seed": s})
    return out
