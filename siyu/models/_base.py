"""Shared machinery of the CLV fitters: input handling, the C fit call, fitted attributes,
summaries, JSON round-trips."""
from __future__ import annotations

import functools
import json
import math
import warnings
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from siyu import _core
from siyu._i18n import text
from siyu.models import _covariates as covmod
from siyu.models import _linalg

ConvergenceError = _core.ConvergenceError

#: days in one time unit; "M" is an average Gregorian month (no hidden 30-day months)
UNIT_DAYS: dict[str, float] = {"D": 1.0, "W": 7.0, "M": 365.25 / 12.0, "Q": 365.25 / 4.0,
                               "Y": 365.25}

_Z95 = 1.959963984540054

MODEL_CODES = {"BetaGeo": 0, "ModifiedBetaGeo": 1, "ParetoNBD": 2, "BetaGeoBetaBinom": 3,
               "GammaGamma": 4, "ShiftedBetaGeometric": 5}

# prediction codes (sy_models.h)
PRED_EXPECTED, PRED_COND, PRED_PALIVE, PRED_PMF, PRED_DERT = 0, 1, 2, 3, 4
PRED_GG_VALUE, PRED_SURVIVAL, PRED_RETENTION, PRED_DERL = 5, 6, 7, 8
PRED_COND_PMF, PRED_COND_NONE = 9, 10    # conditional PMF, P(no purchase | history)


def check_unit(unit: str | None, name: str = "unit") -> str | None:
    if unit is None:
        return None
    if not isinstance(unit, str) or unit.upper() not in UNIT_DAYS:
        raise ValueError(f"{name} must be one of {sorted(UNIT_DAYS)}, got {unit!r}")
    return unit.upper()


def _is_dask(obj: Any) -> bool:
    return type(obj).__module__.split(".")[0] == "dask"


def dask_aware(func: Any) -> Any:
    """Hand a call with a Dask DataFrame / Series argument to :mod:`siyu.dask`: ``fit``
    reduces the partitions to distinct rows with counts and fits once; predictions map
    over the partitions with the fitted parameters.  Dask is never imported otherwise."""
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if any(_is_dask(a) for a in args) or any(_is_dask(v) for v in kwargs.values()):
            from siyu.dask import _models   # optional extra: pip install "siyu[dask]"

            return _models.dispatch(func, args, kwargs)
        return func(*args, **kwargs)
    return wrapper


def pick_column(df: pd.DataFrame, names: Sequence[str], what: str) -> str:
    """The first of ``names`` that is a column of ``df`` (the error names them all)."""
    for n in names:
        if n in df.columns:
            return n
    raise ValueError(f"the DataFrame has no {what} column (looked for {', '.join(names)}); "
                     f"pass the arrays explicitly or rename the column")


def _pick(df: pd.DataFrame, names: Sequence[str], what: str) -> np.ndarray:
    return df[pick_column(df, names, what)].to_numpy()


def as_float(a: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be numeric, got {type(a).__name__}") from exc
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-dimensional, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        bad = np.flatnonzero(~np.isfinite(arr))[:5].tolist()
        raise ValueError(f"{name} contains NaN or inf (positions {bad}); drop or fix those rows")
    return np.ascontiguousarray(arr)


def check_integer(arr: np.ndarray, name: str) -> None:
    if np.any(arr != np.round(arr)):
        bad = np.flatnonzero(arr != np.round(arr))[:5].tolist()
        raise ValueError(f"{name} must hold whole numbers (repeat purchase counts); "
                         f"non-integer values at positions {bad}")


def check_nonneg(arr: np.ndarray, name: str) -> None:
    if np.any(arr < 0):
        bad = np.flatnonzero(arr < 0)[:5].tolist()
        raise ValueError(f"{name} must be >= 0; negative values at positions {bad}")


#: largest purchase count a PMF accepts (the C kernels return an error above it)
MAX_PMF_N = 1_000_000_000


def check_pmf_counts(n: Any, name: str = "n") -> None:
    """PMF counts: whole numbers in [0, MAX_PMF_N] (NaN and inf are errors)."""
    a = np.asarray(n, dtype=float)
    if not np.all(np.isfinite(a)) or np.any(a < 0) or np.any(a != np.round(a)):
        raise ValueError(f"{name} must hold whole numbers >= 0 (purchase counts)")
    if np.any(a > MAX_PMF_N):
        raise ValueError(f"{name} is larger than {MAX_PMF_N:,} purchases, beyond the "
                         f"supported range; use a smaller {name}")


def check_discount(value: Any, minimum: float, name: str = "discount_rate") -> float:
    """A discount rate per period: a finite number >= minimum (smaller rates make the
    discounted sums so long that they cannot be summed in bounded time)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise TypeError(f"{name} must be a number, e.g. {name}=0.01, got {type(value).__name__}")
    d = float(value)
    if not math.isfinite(d) or not (d >= minimum):
        raise ValueError(f"{name} must be a finite rate >= {minimum:g} per period, e.g. "
                         f"{name}=0.01; got {d!r}")
    return d


def check_weights(weights: Any, n: int) -> np.ndarray | None:
    """Fit weights (counts of identical customers): None, or n finite values >= 0, not all 0."""
    if weights is None:
        return None
    w = as_float(weights, "weights")
    if w.shape[0] != n:
        raise ValueError(f"weights has length {w.shape[0]}, expected {n} (one per row)")
    if np.any(w < 0):
        bad = np.flatnonzero(w < 0)[:5].tolist()
        raise ValueError(f"weights must be >= 0 (counts of identical customers); negative "
                         f"values at positions {bad}")
    if n > 0 and not np.any(w > 0):
        raise ValueError("weights are all 0: nothing to fit; pass weights=None to weigh every "
                         "row once")
    return w


def rft_input(frequency: Any, recency: Any = None, T: Any = None, weights: Any = None,
              *, t_names: Sequence[str] = ("T_cal", "T"), t_label: str = "T",
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, pd.Index | None,
                         str | None]:
    """Turn a summary DataFrame or three arrays into validated float arrays.

    Returns (frequency, recency, T, weights, index, unit)."""
    index = None
    unit = None
    if isinstance(frequency, pd.DataFrame):
        df = frequency
        if recency is not None or T is not None:
            raise TypeError("pass either a summary DataFrame or the frequency/recency/T arrays, "
                            "not both")
        f = _pick(df, ("frequency_cal", "frequency", "x"), "frequency")
        r = _pick(df, ("recency_cal", "recency", "t_x"), "recency")
        t = _pick(df, t_names, t_label)
        if isinstance(weights, str):
            weights = df[weights].to_numpy()
        elif weights is None and "weights" in df.columns:
            weights = df["weights"].to_numpy()
        index = df.index
        unit = check_unit(df.attrs.get("unit"), "summary.attrs['unit']")
        frequency, recency, T = f, r, t
    else:
        if recency is None or T is None:
            raise TypeError(f"fit needs frequency, recency and {t_label} (arrays) or a summary "
                            "DataFrame")
        if isinstance(frequency, pd.Series):
            index = frequency.index
    x = as_float(frequency, "frequency")
    tx = as_float(recency, "recency")
    tt = as_float(T, t_label)
    n = x.shape[0]
    for arr, name in ((tx, "recency"), (tt, t_label)):
        if arr.shape[0] != n:
            raise ValueError(f"{name} has length {arr.shape[0]}, expected {n} (same as frequency)")
    w = check_weights(weights, n)
    if n == 0:
        raise ValueError("no customers to fit: the input is empty")
    check_nonneg(x, "frequency")
    check_integer(x, "frequency")
    check_nonneg(tx, "recency")
    return x, tx, tt, w, index, unit


def check_rft(x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> None:
    """Continuous-time checks: T > 0, recency <= T, recency = 0 when frequency = 0."""
    if np.any(T <= 0):
        bad = np.flatnonzero(T <= 0)[:5].tolist()
        raise ValueError(f"T must be > 0 (time from first purchase to the end of the period); "
                         f"T <= 0 at positions {bad}. Customers first seen on the last day "
                         "carry no information: drop them, e.g. s = s[s['T'] > 0]")
    if np.any(tx > T * (1 + 1e-12)):
        bad = np.flatnonzero(tx > T * (1 + 1e-12))[:5].tolist()
        raise ValueError(f"recency must be <= T; recency > T at positions {bad} "
                         "(are both in the same time unit?)")
    if np.any((x == 0) & (tx != 0)):
        bad = np.flatnonzero((x == 0) & (tx != 0))[:5].tolist()
        raise ValueError(f"recency must be 0 when frequency is 0; violated at positions {bad}")


class BaseFitter:
    """Common base of the fitters (not for direct use)."""

    _param_names: tuple[str, ...] = ()
    _default_starts: tuple[tuple[float, ...], ...] = ()

    #: covariate blocks of the model: block name -> ((base parameter index, sign), ...):
    #: the parameter of customer i is p_j * exp(sign * effects'z_i) (see sy_cov.c)
    _cov_blocks: dict[str, tuple[tuple[int, int], ...]] = {}

    def __init__(self, penalizer: float = 0.0, *, penalizer_kind: str = "log",
                 maxiter: int = 1000, tol: float = 1e-9) -> None:
        penalizer = float(penalizer)
        if not (penalizer >= 0.0) or not math.isfinite(penalizer):
            raise ValueError(f"penalizer must be a finite number >= 0, got {penalizer}")
        if penalizer_kind not in ("log", "params"):
            raise ValueError(f"penalizer_kind must be 'log' (L2 on the log-parameters) or "
                             f"'params' (L2 on the parameters, as lifetimes), got "
                             f"{penalizer_kind!r}")
        if int(maxiter) < 1:
            raise ValueError("maxiter must be >= 1")
        if not (tol > 0):
            raise ValueError("tol must be > 0")
        self.penalizer = penalizer
        self.penalizer_kind = penalizer_kind
        self.maxiter = int(maxiter)
        self.tol = float(tol)
        self.unit: str | None = None

    # ---- fitting -------------------------------------------------------------
    @property
    def _code(self) -> int:
        return MODEL_CODES[type(self).__name__]

    def _shift(self) -> np.ndarray | None:
        """Lower bound of each base parameter (p = shift + e^theta); None = all 0."""
        return None

    def _starts(self, data_start: Sequence[float] | None = None) -> np.ndarray:
        st = []
        sh = self._shift()
        if data_start is not None:
            ds = np.asarray(data_start, dtype=float)
            if sh is not None:
                ds = np.maximum(ds - sh, 1e-3)
            st.append(np.log(ds))
        st += [np.asarray(s, dtype=float) for s in self._default_starts]
        return np.ascontiguousarray(np.concatenate(st))

    def _progress(self, verbose: bool) -> Any:
        if not verbose:
            return None
        import time
        t0 = time.perf_counter()

        def show(it: int, ll: float, gnorm: float) -> None:
            print(text("models.fit.iteration", "en", model=type(self).__name__, it=it,
                       ll=f"{ll:.6f}", g=f"{gnorm:.3g}",
                       s=f"{time.perf_counter() - t0:.2f}"), flush=True)
        return show

    def _fit_core(self, c0: np.ndarray, c1: np.ndarray, c2: np.ndarray | None,
                  w: np.ndarray | None, starts: np.ndarray, cov: "CovSetup | None",
                  progress: Any, boundary: int = 1) -> dict[str, Any]:
        pk = 0 if self.penalizer_kind == "log" else 1
        sh = self._shift()
        if cov is None:
            return _core.model_fit_ex(self._code, c0, c1, c2, w, None, None, None, None, 0,
                                      starts, self.penalizer, pk, sh, self.maxiter, self.tol,
                                      boundary, progress)
        # warm start in C: the fit without covariates on the rows it has collapsed, tried
        # first with every effect 0
        return _core.model_fit_ex(self._code, c0, c1, c2, w, cov.zp, cov.zd, cov.ip, cov.id,
                                  cov.ng, starts, self.penalizer, pk, sh, self.maxiter, self.tol,
                                  boundary, progress, False, True)

    def _run_fit(self, c0: np.ndarray, c1: np.ndarray, c2: np.ndarray | None,
                 w: np.ndarray | None, data_start: Sequence[float] | None = None,
                 cov: "CovSetup | None" = None, verbose: bool = False) -> None:
        starts = self._starts(data_start)
        # the data, for bootstrap refits (a copy: later edits of the user's frame do not leak)
        self._fit_data = tuple(None if a is None else np.array(a, dtype=np.float64, copy=True)
                               for a in (c0, c1, c2, w))
        self._boot_cache: dict = {}
        nb = len(self._param_names)
        progress = self._progress(verbose)
        if cov is not None:
            # every start with its effects 0 (the C fit tries the no-covariate fit first)
            base = [starts[i:i + nb] for i in range(0, len(starts), nb)]
            starts = np.ascontiguousarray(np.concatenate(
                [np.concatenate([b, np.zeros(cov.ng)]) for b in base]))
        res = self._fit_core(c0, c1, c2, w, starts, cov, progress)
        k = nb + (cov.ng if cov is not None else 0)
        flags = _flat_flags(res, k)
        if res["at_boundary"] and not flags.any():
            # the early stop was not at a flat direction after all: finish the fit
            res = self._fit_core(c0, c1, c2, w, np.ascontiguousarray(res["theta"]), cov,
                                 progress, boundary=0)
            flags = _flat_flags(res, k)
        res["at_boundary"] = bool(flags.any())
        ll = res["loglik"]
        names_int = list(self._param_names) + (list(cov.effect_names) if cov else [])
        if not res["converged"] and not res["at_boundary"]:
            raise ConvergenceError(
                f"{type(self).__name__}.fit did not converge within maxiter={self.maxiter} "
                f"iterations over {len(starts) // k} starting points (best log-likelihood "
                f"{ll:.4f}, gradient norm {res['gnorm']:.3g}). Try: a small penalizer (e.g. "
                f"0.001), a larger maxiter, checking that frequency/recency/T share one time "
                f"unit, or removing extreme customers.")
        if not np.isfinite(ll):
            raise FloatingPointError(f"{type(self).__name__}.fit: non-finite log-likelihood")
        theta_int = np.asarray(res["theta"], dtype=float)
        H = np.asarray(res["hessian"]).reshape(k, k)
        try:
            cov_int = _linalg.inv_sym(H)
        except np.linalg.LinAlgError:
            cov_int = np.full((k, k), np.nan)
        if cov is not None:
            J = cov.jacobian(nb, self._cov_blocks)
            theta = J @ theta_int
            cov_t = J @ cov_int @ J.T
        else:
            theta, cov_t = theta_int, cov_int
        var = np.diag(cov_t)
        se_t = np.sqrt(np.where(var > 0, var, np.nan))
        shift = self._shift()
        e = np.exp(theta[:nb])
        p = e + (shift if shift is not None else 0.0)
        self.params_ = pd.Series(p, index=list(self._param_names), name="coef")
        self.log_likelihood_ = float(ll)
        self.n_iter_ = int(res["n_total_iter"])
        self.converged_ = bool(res["converged"])
        self.n_obs_ = float(w.sum()) if w is not None else float(c0.shape[0])
        self.n_unique_ = int(res["n_unique"])
        self._theta_fit = theta
        self._se_log = se_t[:nb]
        self._cov_theta = cov_t
        self._covs = cov
        if cov is not None:
            self.effects_ = pd.Series(theta[nb:], index=list(cov.effect_names), name="coef")
            self.effects_se_ = pd.Series(se_t[nb:], index=list(cov.effect_names), name="se")
        else:
            for a in ("effects_", "effects_se_"):
                if hasattr(self, a):
                    delattr(self, a)
        self.variance_matrix_ = pd.DataFrame(cov_t[:nb, :nb] * np.outer(e, e),
                                             index=self.params_.index,
                                             columns=self.params_.index)
        self.standard_errors_ = pd.Series(e * se_t[:nb], index=self.params_.index, name="se")
        self.at_boundary_ = [names_int[j] for j in range(k) if flags[j] != 0]
        if res["at_boundary"]:
            warnings.warn(self._boundary_message(names_int, flags, theta), RuntimeWarning,
                          stacklevel=3)

    def _boundary_message(self, names: Sequence[str], flags: np.ndarray,
                          theta: np.ndarray) -> str:
        """What the parameters that ran off mean (model-specific meanings first)."""
        model = type(self).__name__
        nb = len(self._param_names)
        up = {names[j] for j in range(nb) if flags[j] > 0}
        down = {names[j] for j in range(nb) if flags[j] < 0}
        parts: list[str] = []
        meanings = self._boundary_meanings()
        used: set[str] = set()
        keys: set[str] = set()
        for need_up, need_down, key in meanings:
            if set(need_up) <= up and set(need_down) <= down:
                new = key not in keys
                keys.add(key)
                if not new or (set(need_up) | set(need_down)) <= used:
                    used |= set(need_up) | set(need_down)
                    continue
                rate = ""
                if "r" in self._param_names and "alpha" in self._param_names:
                    rate = f"{self.params_['r'] / self.params_['alpha']:.4g}"
                parts.append(text(key, "en", rate=rate))
                used |= set(need_up) | set(need_down)
        sh = self._shift()
        low = [("0" if sh is None or sh[j] == 0 else f"{sh[j]:g}") for j in range(nb)]
        for j in range(nb):
            if flags[j] != 0 and names[j] not in used:
                parts.append(text("models.boundary.generic", "en", param=names[j],
                                  to="∞" if flags[j] > 0 else low[j]))
        for j in range(nb, len(names)):
            if flags[j] != 0:
                parts.append(text("models.boundary.effect", "en", param=names[j],
                                  to="+∞" if flags[j] > 0 else "-∞"))
        arrows = ", ".join(
            f"{names[j]} → {('∞' if flags[j] > 0 else low[j]) if j < nb else ('+∞' if flags[j] > 0 else '-∞')}"
            for j in range(len(names)) if flags[j] != 0)
        return text("models.boundary.head", "en", model=model, arrows=arrows,
                    what=" ".join(parts))

    def _boundary_meanings(self) -> list[tuple[tuple[str, ...], tuple[str, ...], str]]:
        return []

    def _check_fitted(self) -> None:
        if not hasattr(self, "params_"):
            raise RuntimeError(f"this {type(self).__name__} is not fitted yet; call .fit(...) "
                               "or load one with from_json")

    def _p(self) -> np.ndarray:
        self._check_fitted()
        return np.ascontiguousarray(self.params_.to_numpy(dtype=np.float64))

    # ---- derived attributes ------------------------------------------------------
    @property
    def _n_free(self) -> int:
        return len(self._param_names) + len(getattr(self, "effects_", ()))

    @property
    def AIC_(self) -> float:
        self._check_fitted()
        return 2 * self._n_free - 2 * self.log_likelihood_

    @property
    def BIC_(self) -> float:
        self._check_fitted()
        return self._n_free * math.log(self.n_obs_) - 2 * self.log_likelihood_

    @property
    def summary(self) -> pd.DataFrame:
        """coef, se, lower and upper 95% bounds (from a normal interval on the log scale)."""
        self._check_fitted()
        p = self.params_.to_numpy()
        se_log = getattr(self, "_se_log", self.standard_errors_.to_numpy() / p)
        sh = self._shift()
        e = p - (sh if sh is not None else 0.0)
        df = pd.DataFrame({"coef": p, "se": self.standard_errors_.to_numpy(),
                           "lower": p - e + e * np.exp(-_Z95 * se_log),
                           "upper": p - e + e * np.exp(_Z95 * se_log)}, index=self.params_.index)
        eff = getattr(self, "effects_", None)
        if eff is not None:
            from math import erf, sqrt
            g = eff.to_numpy()
            se = self.effects_se_.to_numpy()
            z = g / se
            pv = np.array([2.0 * (1.0 - 0.5 * (1.0 + erf(abs(v) / sqrt(2.0)))) if np.isfinite(v)
                           else np.nan for v in z])
            de = pd.DataFrame({"coef": g, "se": se, "lower": g - _Z95 * se,
                               "upper": g + _Z95 * se, "z": z, "p": pv}, index=eff.index)
            df = pd.concat([df.assign(z=np.nan, p=np.nan), de])
        df.attrs.update({"model": type(self).__name__, "penalizer": self.penalizer,
                         "penalizer_kind": self.penalizer_kind,
                         "log_likelihood": self.log_likelihood_, "unit": self.unit,
                         "n_obs": self.n_obs_})
        return df

    def print_summary(self, decimals: int = 4, lang: str = "en") -> None:
        """Print the model, data size, log-likelihood, AIC/BIC and the parameter table with
        95% confidence intervals (lifelines style).

        Parameters
        ----------
        decimals : int, default 4
            Decimals of the parameter table.
        lang : {"en", "zh"}, default "en"
            Language of the labels.

        Examples
        --------
        >>> import siyu
        >>> m = siyu.ShiftedBetaGeometric().fit_survival([1000, 631, 468, 382, 326, 289, 262, 241])
        >>> m.print_summary(decimals=3)  # doctest: +ELLIPSIS
        <siyu.ShiftedBetaGeometric> sBG (shifted beta-geometric retention)
        number of customers = 1,000 (8 distinct rows)
        ...
        log-likelihood = -1680.265
        ...
        alpha  0.704 ...
        """
        from siyu._i18n import text
        self._check_fitted()
        name = type(self).__name__
        rows = [(text("models.summary.model", lang), text(f"models.name.{name}", lang))]
        n_obs = self.n_obs_ if self.n_obs_ is not None else float("nan")
        size = f"{n_obs:,.0f}"
        if getattr(self, "n_unique_", None):
            size += " " + text("models.summary.distinct", lang, n=f"{self.n_unique_:,}")
        rows.append((text("models.summary.n_obs", lang), size))
        rows.append((text("models.summary.unit", lang), repr(self.unit)))
        if self.log_likelihood_ is not None:
            rows.append((text("models.summary.loglik", lang), f"{self.log_likelihood_:.{decimals}f}"))
            rows.append(("AIC", f"{self.AIC_:.2f}"))
            if self.n_obs_:
                rows.append(("BIC", f"{self.BIC_:.2f}"))
        rows.append((text("models.summary.penalizer", lang), f"{self.penalizer:g}"))
        if getattr(self, "converged_", None) is not None:
            rows.append((text("models.summary.converged", lang),
                         text("models.summary.iterations", lang,
                              ok=text("models.summary.yes" if self.converged_ else
                                      "models.summary.no", lang), n=self.n_iter_)))
        width = max(len(k) for k, _ in rows)
        print(f"<siyu.{name}> {text(f'models.name.{name}', lang)}")
        for k, v in rows[1:]:
            print(f"{k:>{width}} = {v}")
        print("---")
        tab = self.summary[["coef", "se", "lower", "upper"]].copy()
        tab.columns = [text("models.summary.coef", lang), text("models.summary.se", lang),
                       text("models.summary.lower95", lang), text("models.summary.upper95", lang)]
        print(tab.round(decimals).to_string())

    def __repr__(self) -> str:
        if not hasattr(self, "params_"):
            return f"<siyu.{type(self).__name__}: not fitted>"
        ps = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        return f"<siyu.{type(self).__name__}: {ps}; LL={self.log_likelihood_:.2f}; unit={self.unit!r}>"

    def _repr_html_(self) -> str:
        if not hasattr(self, "params_"):
            return f"<p><b>siyu.{type(self).__name__}</b>: not fitted</p>"
        head = (f"<p><b>siyu.{type(self).__name__}</b> &mdash; log-likelihood "
                f"{self.log_likelihood_:.4f}, AIC {self.AIC_:.2f}, unit {self.unit!r}, "
                f"penalizer {self.penalizer:g}</p>")
        return head + self.summary.to_html(float_format=lambda v: f"{v:.4f}")

    # ---- JSON --------------------------------------------------------------------
    def to_json(self) -> str:
        """Serialise the fitted model (parameters, standard errors, unit, penalizer, version)."""
        self._check_fitted()
        from siyu import __version__
        doc = {"model": type(self).__name__, "siyu_version": __version__,
               "params": {k: float(v) for k, v in self.params_.items()},
               "standard_errors": {k: (None if not np.isfinite(v) else float(v))
                                   for k, v in self.standard_errors_.items()},
               "unit": self.unit, "penalizer": self.penalizer,
               "theta_cov": (None if getattr(self, "_cov_theta", None) is None
                             or not np.all(np.isfinite(self._cov_theta))
                             else np.asarray(self._cov_theta, dtype=float).tolist()),
               "log_likelihood": getattr(self, "log_likelihood_", None),
               "n_obs": getattr(self, "n_obs_", None),
               "converged": getattr(self, "converged_", None),
               "n_iter": getattr(self, "n_iter_", None)}
        doc["penalizer_kind"] = self.penalizer_kind
        if getattr(self, "q_constraint", False):
            doc["q_constraint"] = True
        cov = getattr(self, "_covs", None)
        if cov is not None:
            doc["covariates"] = {"encoder": cov.encoder.to_dict(), "blocks": cov.blocks,
                                 "effects": cov.effects, "effect_names": cov.effect_names,
                                 "theta": [float(v) for v in self._theta()],
                                 "theta_cov": [[float(v) for v in r] for r in self._theta_cov()]}
        return json.dumps(doc)

    @classmethod
    def from_json(cls, text: str) -> "BaseFitter":
        """Rebuild a fitted model from :meth:`to_json` output."""
        doc = json.loads(text)
        if doc.get("model") != cls.__name__:
            raise ValueError(f"this JSON holds a {doc.get('model')!r} model, not {cls.__name__}; "
                             f"use siyu.{doc.get('model')}.from_json")
        kw: dict[str, Any] = {"penalizer_kind": doc.get("penalizer_kind", "log")}
        if doc.get("q_constraint"):
            kw["q_constraint"] = True
        m = cls(penalizer=doc.get("penalizer", 0.0), **kw)
        names = list(cls._param_names)
        missing = [n for n in names if n not in doc["params"]]
        if missing:
            raise ValueError(f"JSON model lacks parameters {missing}")
        m.params_ = pd.Series([float(doc["params"][n]) for n in names], index=names, name="coef")
        se = doc.get("standard_errors") or {}
        m.standard_errors_ = pd.Series([np.nan if se.get(n) is None else float(se[n])
                                        for n in names], index=names, name="se")
        m._se_log = m.standard_errors_.to_numpy() / m.params_.to_numpy()
        if doc.get("theta_cov") is not None:
            cov = np.asarray(doc["theta_cov"], dtype=float)
            if cov.shape == (len(names), len(names)):
                m._cov_theta = cov
        m.unit = check_unit(doc.get("unit"))
        m.log_likelihood_ = doc.get("log_likelihood")
        m.n_obs_ = doc.get("n_obs")
        m.converged_ = doc.get("converged")
        m.n_iter_ = doc.get("n_iter")
        cd = doc.get("covariates")
        if cd is not None:
            enc = covmod.Encoder.from_dict(cd["encoder"])
            m._covs = covmod.CovSetup(enc, {k: list(v) for k, v in cd["blocks"].items()},
                                      {k: list(v) for k, v in cd["effects"].items()},
                                      list(cd["effect_names"]),
                                      np.zeros((0, len(enc.features))), None)
            m._theta_fit = np.asarray(cd["theta"], dtype=float)
            m._cov_theta = np.asarray(cd["theta_cov"], dtype=float)
            nb = len(names)
            se = np.sqrt(np.maximum(np.diag(m._cov_theta), 0))
            m.effects_ = pd.Series(m._theta_fit[nb:], index=m._covs.effect_names, name="coef")
            m.effects_se_ = pd.Series(se[nb:], index=m._covs.effect_names, name="se")
        m.at_boundary_ = []
        return m

    # ---- parameter vector (the optimiser's scale) -----------------------------------
    # theta = log of the natural parameters (plus, for covariate models, the covariate
    # effects).  Intervals draw theta from N(theta_hat, cov) or refit it by bootstrap;
    # _row_params turns any theta into the natural parameters each prediction uses: one
    # vector for all customers, or one row per customer when covariates are fitted.
    def _theta(self) -> np.ndarray:
        """The fitted parameter vector on the optimiser's scale: log(p - shift) of the base
        parameters, then (covariate models) the effects on the user's scale."""
        t = getattr(self, "_theta_fit", None)
        if t is not None:
            return np.asarray(t, dtype=float).copy()
        sh = self._shift()
        p = self._p()
        return np.log(p - sh) if sh is not None else np.log(p)

    def _theta_cov(self) -> np.ndarray:
        """Covariance of :meth:`_theta` (inverse Hessian of -LL on that scale)."""
        self._check_fitted()
        cov = getattr(self, "_cov_theta", None)
        if cov is None:
            se = np.asarray(self._se_log, dtype=float)
            cov = np.diag(se * se)
        return np.asarray(cov, dtype=float)

    def _row_params(self, theta: np.ndarray, rows: Any = None) -> np.ndarray:
        """Natural parameters for ``theta``: shape (npar,), or (n, npar) per customer.

        For covariate models ``rows`` is the (n, n_features) covariate matrix on the
        user's scale (as :meth:`_cov_rows` returns it; None = the fitted customers)."""
        theta = np.asarray(theta, dtype=np.float64)
        nb = len(self._param_names)
        sh = self._shift()
        base = np.exp(theta[:nb]) + (sh if sh is not None else 0.0)
        cov = getattr(self, "_covs", None)
        if cov is None:
            return np.ascontiguousarray(base)
        F = cov.F if rows is None else np.asarray(rows, dtype=np.float64)
        return np.ascontiguousarray(cov.row_params(base, theta[nb:], F, self._cov_blocks))

    def _cov_rows(self, frame: Any, covariates: Any, n: int) -> np.ndarray | None:
        """The (m, n_features) user-scale covariates for a prediction over n rows (m = n,
        or 1 for one profile), or None for a model without covariates."""
        cov = getattr(self, "_covs", None)
        if cov is None:
            if covariates is not None:
                raise ValueError(f"this {type(self).__name__} was fitted without covariates; "
                                 "drop covariates=")
            return None
        enc = cov.encoder
        if covariates is not None:
            if isinstance(covariates, Mapping):
                cf = pd.DataFrame({k: [v] for k, v in covariates.items()})
            elif isinstance(covariates, pd.Series):
                cf = covariates.to_frame().T
            elif isinstance(covariates, pd.DataFrame):
                cf = covariates
            else:
                raise TypeError("covariates must be a DataFrame (one row per customer) or a "
                                "dict (one customer profile)")
            idx = frame.index if isinstance(frame, pd.DataFrame) else None
            if len(cf) != 1:
                cf = covmod.align(cf, idx, n, "covariates")
            return enc.transform(cf, "covariates")
        if isinstance(frame, pd.DataFrame) and all(c in frame.columns for c in enc.columns):
            return enc.transform(frame[enc.columns], "the summary")
        if isinstance(frame, pd.DataFrame) and cov.index is not None:
            pos = cov.index.get_indexer(frame.index)
            if np.all(pos >= 0):
                return cov.F[pos]
            missing = frame.index[pos < 0][:5].tolist()
            raise ValueError(f"customers {missing} were not in the fit; pass their "
                             f"covariates=... (columns {enc.columns})")
        if n == cov.F.shape[0]:
            return cov.F
        raise ValueError(f"this model has covariates {enc.columns}: pass covariates= (a "
                         "DataFrame with one row per customer, or a dict for one profile)")

    def _cov_params(self, frame: Any, covariates: Any, n: int) -> np.ndarray | None:
        F = self._cov_rows(frame, covariates, n)
        if F is None:
            return None
        P = self._row_params(self._theta(), F)
        if P.shape[0] == 1 and n != 1:
            P = np.repeat(P, n, axis=0)
        if P.shape[0] != n:
            raise ValueError(f"covariates give {P.shape[0]} customers but the prediction has "
                             f"{n} rows")
        return np.ascontiguousarray(P)

    # ---- bootstrap refits and per-row likelihoods (siyu.models._intervals) ------------
    def _bootstrap_thetas(self, n_boot: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Parameter vectors (n_boot, k) refitted in C on customers resampled with
        replacement, and a status per refit (1 converged, 0 not, -1 failed)."""
        self._check_fitted()
        data = getattr(self, "_fit_data", None)
        if data is None:
            raise ValueError(f"{type(self).__name__}: bootstrap intervals refit the model on "
                             "its data, which a model loaded from JSON does not have; refit it "
                             "with .fit(...) or use method='asymptotic'")
        k = len(self._param_names)
        self._check_no_covariates("method='bootstrap'", "use method='asymptotic'")
        if self._shift() is not None:
            raise ValueError(f"{type(self).__name__}: bootstrap refits do not support the "
                             "q_constraint=True parametrisation (q > 1); use "
                             "method='asymptotic' or fit with q_constraint=False")
        kind = getattr(self, "penalizer_kind", None)
        if kind in (None, "log", "log_params", "log-params", "logparams"):
            pen_kind = 0
        elif kind == "params":
            pen_kind = 1
        else:
            raise NotImplementedError(f"bootstrap: penalizer_kind={kind!r} is not supported")
        c0, c1, c2, w = data
        if w is not None and np.any(w != np.round(w)):
            raise ValueError("bootstrap intervals resample customers, so the fit weights must be "
                             "whole numbers (counts of identical customers); use "
                             "method='asymptotic' for fractional weights")
        key = (int(n_boot), int(seed))
        cache = getattr(self, "_boot_cache", None)
        if cache is not None and key in cache:
            return cache[key]
        starts = np.ascontiguousarray(np.concatenate(
            [np.log(self._p())] + [np.asarray(st, dtype=float) for st in self._default_starts]))
        # inverse Hessian of the mean objective at the fit: W * covariance of theta
        cov = getattr(self, "_cov_theta", None)
        W = float(w.sum()) if w is not None else float(c0.shape[0])
        hinv = None
        if cov is not None and np.all(np.isfinite(cov)) and np.all(_linalg.eigvalsh(cov) > 0):
            hinv = np.ascontiguousarray((W * np.asarray(cov, dtype=float)).reshape(-1))
        lp, _, status, _, _, _, _ = _core.trust_bootstrap(
            self._code, c0, c1, c2, w, starts, hinv, self.penalizer, pen_kind, self.maxiter,
            self.tol, int(n_boot), int(seed), False)
        out = (np.asarray(lp).reshape(int(n_boot), k), np.asarray(status))
        if cache is not None:
            cache[key] = out
        return out

    def _check_no_covariates(self, what: str, fix: str = "") -> None:
        """ValueError for the features that do not (yet) handle covariate models."""
        if getattr(self, "_covs", None) is not None:
            raise ValueError(f"{type(self).__name__} with covariates: {what} is not available "
                             "(it needs per-customer covariates in the C refits / likelihood "
                             f"rows, which are not implemented){'; ' + fix if fix else ''}")

    def _loglik_rows(self, c0: np.ndarray, c1: np.ndarray, c2: np.ndarray | None) -> np.ndarray:
        """Log-likelihood of each row alone at the fitted parameters."""
        return _core.trust_loglik_rows(self._code, self._p(), c0, c1, c2)

    # ---- predictions helpers -----------------------------------------------------
    def _predict(self, what: int, cols: Sequence[Any], names: Sequence[str],
                 index: pd.Index | None = None, params: np.ndarray | None = None) -> Any:
        arrs = [np.asarray(c, dtype=np.float64) for c in cols]
        for a, nm in zip(arrs, names):
            if not np.all(np.isfinite(a)):
                raise ValueError(f"{nm} contains NaN or inf")
        if index is None:
            for c in cols:
                if isinstance(c, pd.Series):
                    index = c.index
                    break
        scalar = all(a.ndim == 0 for a in arrs)
        b = np.broadcast_arrays(*arrs)
        shape = b[0].shape
        flat = tuple(np.ascontiguousarray(x.reshape(-1)) for x in b)
        p = self._p() if params is None else np.ascontiguousarray(params, dtype=np.float64)
        if p.ndim == 2:
            m = p.shape[0]
            if flat[0].shape[0] != m:
                if int(np.prod(shape)) == 1:
                    flat = tuple(np.ascontiguousarray(np.repeat(x, m)) for x in flat)
                    shape = (m,)
                    scalar = False
                else:
                    raise ValueError(f"per-customer parameters for {m} customers but the "
                                     f"inputs have {flat[0].shape[0]} rows")
        kernel = _core.model_predict if len(flat) <= 4 else _core.trust_predict  # 5-column codes
        out = kernel(self._code, what, p, flat).reshape(shape)
        if scalar:
            return float(out.reshape(-1)[0])
        if index is not None and out.ndim == 1 and len(index) == out.shape[0]:
            return pd.Series(out, index=index)
        return out


def _flat_flags(res: dict[str, Any], k: int) -> np.ndarray:
    """Parameters that sit at a boundary: far out (|theta| > 4.6, a factor 100) and loading
    on a flat direction of the log-likelihood (Hessian eigenvalue < 0.1: moving a factor e
    along it changes the log-likelihood by less than 0.05), or flagged by the optimiser
    when no Hessian is available.  +1 ran to +inf, -1 to -inf."""
    theta = np.asarray(res["theta"], dtype=float)
    H = np.asarray(res["hessian"], dtype=float).reshape(k, k)
    out = np.zeros(k, dtype=np.int64)
    far = np.abs(theta) > 4.6
    if not far.any():
        return out
    if not np.all(np.isfinite(H)):
        return np.where(far & (np.asarray(res["boundary_flags"]) != 0), np.sign(theta), 0
                        ).astype(np.int64)
    lam, V = _linalg.eigh(H)
    flat = lam < 0.1
    if not flat.any():
        return out
    load = np.max(np.abs(V[:, flat]), axis=1) > 0.2
    return np.where(far & load, np.sign(theta), 0).astype(np.int64)


def time_input(model: BaseFitter, frequency: Any, recency: Any, T: Any,
               t_names: Sequence[str] = ("T_cal", "T")) -> tuple[Any, Any, Any, pd.Index | None]:
    """Accept a summary DataFrame or three array-likes for predictions."""
    if isinstance(frequency, pd.DataFrame):
        df = frequency
        du = df.attrs.get("unit")
        if du is not None and model.unit is not None and str(du).upper() != model.unit:
            raise ValueError(f"the summary is in unit {du!r} but the model was fitted in "
                             f"{model.unit!r}; recompute the summary with unit={model.unit!r}")
        return (_pick(df, ("frequency_cal", "frequency", "x"), "frequency"),
                _pick(df, ("recency_cal", "recency", "t_x"), "recency"),
                _pick(df, t_names, "T"), df.index)
    if frequency is None or recency is None or T is None:
        raise TypeError("pass frequency, recency and T (or a summary DataFrame)")
    idx = frequency.index if isinstance(frequency, pd.Series) else None
    return frequency, recency, T, idx


def validate_pred(x: Any, tx: Any, T: Any, discrete: bool = False) -> None:
    xa, ta, Ta = (np.asarray(v, dtype=float) for v in (x, tx, T))
    if np.any(xa < 0) or np.any(xa != np.round(xa)):
        raise ValueError("frequency must hold whole numbers >= 0")
    if np.any(ta < 0):
        raise ValueError("recency must be >= 0")
    if np.any(Ta <= 0) if not discrete else np.any(Ta < 0):
        raise ValueError("T must be > 0")
    if np.any(np.broadcast_to(ta, np.broadcast_shapes(ta.shape, Ta.shape)) >
              np.broadcast_to(Ta, np.broadcast_shapes(ta.shape, Ta.shape)) * (1 + 1e-12)):
        raise ValueError("recency must be <= T")
