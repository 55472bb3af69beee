"""Shared machinery of the CLV fitters: input handling, the C fit call, fitted attributes,
summaries, JSON round-trips."""
from __future__ import annotations

import functools
import json
import math
import warnings
from typing import Any, Sequence

import numpy as np
import pandas as pd

from siyu import _core

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
    w = None
    if weights is not None:
        w = as_float(weights, "weights")
        if w.shape[0] != n:
            raise ValueError(f"weights has length {w.shape[0]}, expected {n}")
        if np.any(w < 0):
            raise ValueError("weights must be >= 0 (counts of identical customers)")
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

    def __init__(self, penalizer: float = 0.0, *, maxiter: int = 1000, tol: float = 1e-9) -> None:
        penalizer = float(penalizer)
        if not (penalizer >= 0.0) or not math.isfinite(penalizer):
            raise ValueError(f"penalizer must be a finite number >= 0, got {penalizer}")
        if int(maxiter) < 1:
            raise ValueError("maxiter must be >= 1")
        if not (tol > 0):
            raise ValueError("tol must be > 0")
        self.penalizer = penalizer
        self.maxiter = int(maxiter)
        self.tol = float(tol)
        self.unit: str | None = None

    # ---- fitting -------------------------------------------------------------
    @property
    def _code(self) -> int:
        return MODEL_CODES[type(self).__name__]

    def _starts(self, data_start: Sequence[float] | None = None) -> np.ndarray:
        st = []
        if data_start is not None:
            st.append(np.log(np.asarray(data_start, dtype=float)))
        st += [np.asarray(s, dtype=float) for s in self._default_starts]
        return np.ascontiguousarray(np.concatenate(st))

    def _run_fit(self, c0: np.ndarray, c1: np.ndarray, c2: np.ndarray | None,
                 w: np.ndarray | None, data_start: Sequence[float] | None = None) -> None:
        starts = self._starts(data_start)
        lp, ll, obj, hess, nit, conv, used, nuniq = _core.model_fit(
            self._code, c0, c1, c2, w, starts, self.penalizer, self.maxiter, self.tol)
        if not conv:
            raise ConvergenceError(
                f"{type(self).__name__}.fit did not converge from any of "
                f"{len(starts) // len(self._param_names)} starting points "
                f"(best log-likelihood {ll:.4f}). Try: a small penalizer (e.g. 0.001), "
                f"a larger maxiter, checking that frequency/recency/T share one time unit, "
                f"or removing extreme customers.")
        if not np.isfinite(ll):
            raise FloatingPointError(f"{type(self).__name__}.fit: non-finite log-likelihood")
        k = len(self._param_names)
        p = np.exp(lp)
        self.params_ = pd.Series(p, index=list(self._param_names), name="coef")
        self.log_likelihood_ = float(ll)
        self.n_iter_ = int(nit)
        self.converged_ = bool(conv)
        self.n_obs_ = float(w.sum()) if w is not None else float(c0.shape[0])
        self.n_unique_ = int(nuniq)
        H = np.asarray(hess).reshape(k, k)
        try:
            cov_log = np.linalg.inv(H)
            se_log = np.sqrt(np.where(np.diag(cov_log) > 0, np.diag(cov_log), np.nan))
        except np.linalg.LinAlgError:
            cov_log = np.full((k, k), np.nan)
            se_log = np.full(k, np.nan)
        self._se_log = se_log
        self._cov_theta = cov_log
        self.variance_matrix_ = pd.DataFrame(cov_log * np.outer(p, p), index=self.params_.index,
                                             columns=self.params_.index)
        self.standard_errors_ = pd.Series(p * se_log, index=self.params_.index, name="se")
        extreme = [n for n, v in zip(self._param_names, lp) if abs(v) > 12]
        if extreme:
            warnings.warn(
                f"{type(self).__name__}: parameter(s) {extreme} ran to the boundary "
                f"({', '.join(f'{n}={self.params_[n]:.3g}' for n in extreme)}); the data do not "
                "identify the model (e.g. no or too few repeat purchases). Predictions stay "
                "finite but the parameters are not meaningful; try penalizer > 0 or more data.",
                UserWarning, stacklevel=3)

    def _check_fitted(self) -> None:
        if not hasattr(self, "params_"):
            raise RuntimeError(f"this {type(self).__name__} is not fitted yet; call .fit(...) "
                               "or load one with from_json")

    def _p(self) -> np.ndarray:
        self._check_fitted()
        return np.ascontiguousarray(self.params_.to_numpy(dtype=np.float64))

    # ---- derived attributes ------------------------------------------------------
    @property
    def AIC_(self) -> float:
        self._check_fitted()
        return 2 * len(self._param_names) - 2 * self.log_likelihood_

    @property
    def BIC_(self) -> float:
        self._check_fitted()
        return len(self._param_names) * math.log(self.n_obs_) - 2 * self.log_likelihood_

    @property
    def summary(self) -> pd.DataFrame:
        """coef, se, lower and upper 95% bounds (from a normal interval on the log scale)."""
        self._check_fitted()
        p = self.params_.to_numpy()
        se_log = getattr(self, "_se_log", self.standard_errors_.to_numpy() / p)
        df = pd.DataFrame({"coef": p, "se": self.standard_errors_.to_numpy(),
                           "lower": p * np.exp(-_Z95 * se_log),
                           "upper": p * np.exp(_Z95 * se_log)}, index=self.params_.index)
        df.attrs.update({"model": type(self).__name__, "penalizer": self.penalizer,
                         "log_likelihood": self.log_likelihood_, "unit": self.unit,
                         "n_obs": self.n_obs_})
        return df

    def print_summary(self, decimals: int = 4) -> None:
        """Print the parameter table with the log-likelihood, AIC, penalizer and time unit."""
        self._check_fitted()
        print(f"<siyu.{type(self).__name__}> fitted on {self.n_obs_:g} customers; "
              f"unit={self.unit!r}; penalizer={self.penalizer:g}")
        print(f"log-likelihood = {self.log_likelihood_:.{decimals}f}, AIC = {self.AIC_:.2f}, "
              f"converged = {self.converged_} after {self.n_iter_} iterations")
        print(self.summary.round(decimals).to_string())

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
               "log_likelihood": getattr(self, "log_likelihood_", None),
               "n_obs": getattr(self, "n_obs_", None),
               "converged": getattr(self, "converged_", None),
               "n_iter": getattr(self, "n_iter_", None)}
        return json.dumps(doc)

    @classmethod
    def from_json(cls, text: str) -> "BaseFitter":
        """Rebuild a fitted model from :meth:`to_json` output."""
        doc = json.loads(text)
        if doc.get("model") != cls.__name__:
            raise ValueError(f"this JSON holds a {doc.get('model')!r} model, not {cls.__name__}; "
                             f"use siyu.{doc.get('model')}.from_json")
        m = cls(penalizer=doc.get("penalizer", 0.0))
        names = list(cls._param_names)
        missing = [n for n in names if n not in doc["params"]]
        if missing:
            raise ValueError(f"JSON model lacks parameters {missing}")
        m.params_ = pd.Series([float(doc["params"][n]) for n in names], index=names, name="coef")
        se = doc.get("standard_errors") or {}
        m.standard_errors_ = pd.Series([np.nan if se.get(n) is None else float(se[n])
                                        for n in names], index=names, name="se")
        m._se_log = m.standard_errors_.to_numpy() / m.params_.to_numpy()
        m.unit = check_unit(doc.get("unit"))
        m.log_likelihood_ = doc.get("log_likelihood")
        m.n_obs_ = doc.get("n_obs")
        m.converged_ = doc.get("converged")
        m.n_iter_ = doc.get("n_iter")
        return m

    # ---- parameter vector (the optimiser's scale) -----------------------------------
    # theta = log of the natural parameters (plus, for covariate models, the covariate
    # effects).  Intervals draw theta from N(theta_hat, cov) or refit it by bootstrap;
    # _row_params turns any theta into the natural parameters each prediction uses: one
    # vector for all customers, or one row per customer when covariates are fitted.
    def _theta(self) -> np.ndarray:
        """The fitted parameter vector on the optimiser's (log) scale."""
        return np.log(self._p())

    def _theta_cov(self) -> np.ndarray:
        """Covariance of :meth:`_theta` (inverse Hessian of -LL on that scale)."""
        self._check_fitted()
        cov = getattr(self, "_cov_theta", None)
        if cov is None:
            se = np.asarray(self._se_log, dtype=float)
            cov = np.diag(se * se)
        return np.asarray(cov, dtype=float)

    def _row_params(self, theta: np.ndarray, rows: Any = None) -> np.ndarray:
        """Natural parameters for ``theta``: shape (npar,), or (n, npar) per customer."""
        return np.ascontiguousarray(np.exp(np.asarray(theta, dtype=np.float64)))

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
        out = _core.model_predict(self._code, what, p, flat).reshape(shape)
        if scalar:
            return float(out.reshape(-1)[0])
        if index is not None and out.ndim == 1 and len(index) == out.shape[0]:
            return pd.Series(out, index=index)
        return out


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
