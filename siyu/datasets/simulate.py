"""Simulate transaction logs from BG/NBD or Pareto/NBD with Gamma-Gamma amounts (in C)."""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd

from siyu import _core

#: most customers one call simulates (checked before anything is allocated)
MAX_CUSTOMERS = 50_000_000

_UNIT_DAYS = {"D": 1.0, "W": 7.0, "M": 365.25 / 12.0}
_BG = ("r", "alpha", "a", "b")
_PNBD = ("r", "alpha", "s", "beta")
_DEFAULT_SPEND = {"p": 6.25, "q": 3.74, "gamma": 15.44}


def _params(obj: Any, what: str) -> dict[str, float]:
    if hasattr(obj, "params_"):
        return {k: float(v) for k, v in obj.params_.items()}
    if isinstance(obj, Mapping):
        return {k: float(v) for k, v in obj.items()}
    raise TypeError(f"{what} must be a dict of parameters or a fitted model")


def simulate(model_params: Any, n_customers: int, T: float, seed: int | None = None, *,
             start: str | pd.Timestamp = "2020-01-01", unit: str = "D",
             acquisition: float = 0.0, spend_params: Any = None,
             output: str = "transactions", covariates: Any = None,
             effects: Mapping[str, Mapping[str, float]] | None = None) -> pd.DataFrame:
    """Draw customers from BG/NBD or Pareto/NBD and their transaction amounts from Gamma-Gamma.

    Parameters
    ----------
    model_params : dict or fitted model
        ``{"r", "alpha", "a", "b"}`` for BG/NBD or ``{"r", "alpha", "s", "beta"}`` for
        Pareto/NBD (rates per ``unit``), or a fitted ``BetaGeo``/``ParetoNBD``.
    n_customers : int
        Number of customers.
    T : float
        Length of the observation window in ``unit``, from ``start``.
    seed : int, optional
        Seed; the same seed gives the same log.
    start : date, default "2020-01-01"
        Day of the first acquisitions.
    unit : {"D", "W", "M"}, default "D"
        Time unit of the parameters, ``T`` and ``acquisition``.
    acquisition : float, default 0
        Customers' first purchases are spread uniformly over ``[0, acquisition)`` units after
        ``start`` (0: everyone starts on ``start``). Must be < T.
    spend_params : dict or fitted GammaGamma, optional
        ``{"p", "q", "gamma"}`` for the amounts; default p=6.25, q=3.74, gamma=15.44.
    output : {"transactions", "summary"}
        ``"transactions"``: a log with columns customer_id, date (datetime64, day
        resolution), amount, ready for ``siyu.Transactions`` (same-day purchases of a
        customer are separate rows). ``"summary"``: the exact continuous-time
        frequency, recency, T per customer (in ``unit``), indexed by customer_id.
    covariates : DataFrame or dict of arrays, optional
        Customer attributes with known effects (one row per customer, in customer order);
        they are added to the output as columns (repeated on every row of a log).
    effects : dict, optional
        Known effects per process, as the covariate models estimate them:
        ``{"purchase": {...}, "dropout": {...}, "spend": {...}}``, each mapping a numeric
        column to its coefficient, or ``"column[level]"`` to the effect of that level of
        a text column against all others. Customer i gets
        ``alpha_i = alpha * exp(-purchase'z_i)``; Pareto/NBD ``beta_i = beta *
        exp(-dropout'z_i)``; BG/NBD ``a_i = a * exp(dropout'z_i)``, ``b_i = b *
        exp(dropout'z_i)``; Gamma-Gamma ``gamma_i = gamma * exp(spend'z_i)``.

    Returns
    -------
    DataFrame

    Examples
    --------
    >>> log = simulate({"r": 0.25, "alpha": 4.4, "a": 0.8, "b": 2.4}, 1000, T=52,
    ...                seed=1, unit="W")
    >>> list(log.columns)
    ['customer_id', 'date', 'amount']
    """
    p = _params(model_params, "model_params")
    if set(_BG) <= set(p):
        code, names = 0, _BG
    elif set(_PNBD) <= set(p):
        code, names = 2, _PNBD
    else:
        raise ValueError("model_params needs keys r, alpha, a, b (BG/NBD) or r, alpha, s, beta "
                         f"(Pareto/NBD); got {sorted(p)}")
    par = np.array([p[k] for k in names], dtype=np.float64)
    if not np.all(np.isfinite(par)) or np.any(par <= 0):
        raise ValueError(f"model parameters must be finite and > 0, got {dict(zip(names, par))}")
    if isinstance(n_customers, bool) or not isinstance(n_customers, (int, np.integer)):
        raise TypeError(f"n_customers must be a whole number, e.g. n_customers=1000, got "
                        f"{n_customers!r}")
    n = int(n_customers)
    if n < 0:
        raise ValueError("n_customers must be >= 0")
    if n > MAX_CUSTOMERS:
        raise ValueError(f"n_customers is larger than {MAX_CUSTOMERS:,}; simulate in batches "
                         "with different seeds")
    T = float(T)
    if not (T > 0) or not np.isfinite(T):
        raise ValueError("T must be a finite number > 0 (observation length in unit)")
    unit = str(unit).upper()
    if unit not in _UNIT_DAYS:
        raise ValueError(f"unit must be one of {sorted(_UNIT_DAYS)}, got {unit!r}")
    acquisition = float(acquisition)
    if not (0 <= acquisition < T):
        raise ValueError("acquisition must satisfy 0 <= acquisition < T")
    if output not in ("transactions", "summary"):
        raise ValueError("output must be 'transactions' or 'summary'")
    cov, lin = _covariate_effects(covariates, effects, n)
    if lin is not None:
        P = np.tile(par, (n, 1))
        P[:, 1] *= np.exp(-lin["purchase"])
        if code == 2:
            P[:, 3] *= np.exp(-lin["dropout"])
        else:
            P[:, 2] *= np.exp(lin["dropout"])
            P[:, 3] *= np.exp(lin["dropout"])
        if not np.all(np.isfinite(P)) or np.any(P <= 0):
            raise ValueError("effects give non-finite customer parameters; use smaller effects")
        par = np.ascontiguousarray(P)
    seed_int = int(np.random.SeedSequence(seed).generate_state(1, dtype=np.uint64)[0])
    days = _UNIT_DAYS[unit]
    if acquisition > 0:
        rng = np.random.default_rng(seed_int)
        first = np.floor(rng.uniform(0, acquisition * days, n))  # whole days
        first_units = first / days
    else:
        first = np.zeros(n)
        first_units = np.zeros(n)
    Ti = np.ascontiguousarray(T - first_units)
    count, times, tx = _core.simulate_purchases(code, par, Ti, seed_int)
    ids = np.arange(1, n + 1, dtype=np.int64)
    if output == "summary":
        out = pd.DataFrame({"frequency": count.astype(np.int64), "recency": tx, "T": Ti},
                           index=pd.Index(ids, name="customer_id"))
        if cov is not None:
            for c in cov.columns:
                out[c] = cov[c].to_numpy()
        out.attrs["unit"] = unit
        return out
    sp = _params(spend_params if spend_params is not None else _DEFAULT_SPEND, "spend_params")
    pqg = np.array([sp.get("p"), sp.get("q"), sp.get("gamma")], dtype=np.float64)
    if not np.all(np.isfinite(pqg)) or np.any(pqg <= 0):
        raise ValueError("spend_params needs positive p, q, gamma")
    k = count + 1
    if lin is not None and np.any(lin["spend"] != 0):
        Q = np.tile(pqg, (n, 1))
        Q[:, 2] *= np.exp(lin["spend"])
        pqg = np.ascontiguousarray(Q)
    amounts = _core.simulate_amounts(pqg, k, seed_int)
    if not np.all(np.isfinite(amounts)):
        raise ValueError(f"spend_params {dict(zip(('p', 'q', 'gamma'), pqg.tolist()))} are so "
                         "extreme that simulated amounts overflow; use parameters of a fitted "
                         "GammaGamma model")
    # each customer: the first purchase at time 0, then the repeat purchases
    cust = np.repeat(ids, k)
    offs = np.concatenate(([0], np.cumsum(k)[:-1])) if n else np.zeros(0, np.int64)
    t_all = np.zeros(int(k.sum()))
    rep_mask = np.ones(int(k.sum()), dtype=bool)
    rep_mask[offs] = False
    t_all[rep_mask] = times
    day = np.repeat(first, k) + np.floor(t_all * days)
    base = np.datetime64(pd.Timestamp(start).date(), "D")
    dates = base + day.astype(np.int64).astype("timedelta64[D]")
    out = pd.DataFrame({"customer_id": cust, "date": dates.astype("datetime64[s]"),
                        "amount": np.round(amounts, 2)})
    if cov is not None:
        rows = np.repeat(np.arange(n), k)
        for c in cov.columns:
            out[c] = cov[c].to_numpy()[rows]
    return out


def _covariate_effects(covariates: Any, effects: Any, n: int
                       ) -> tuple[pd.DataFrame | None, dict[str, np.ndarray] | None]:
    """The covariate frame and the linear predictor of each process."""
    if covariates is None:
        if effects:
            raise ValueError("effects= needs covariates= (the customers' attributes)")
        return None, None
    cov = pd.DataFrame(covariates).reset_index(drop=True)
    if len(cov) != n:
        raise ValueError(f"covariates has {len(cov)} rows; give one per customer ({n})")
    effects = dict(effects or {})
    bad = [b for b in effects if b not in ("purchase", "dropout", "spend")]
    if bad:
        raise ValueError(f"effects: unknown processes {bad}; use 'purchase', 'dropout', 'spend'")
    lin = {b: np.zeros(n) for b in ("purchase", "dropout", "spend")}
    for b, eff in effects.items():
        for key, coef in dict(eff).items():
            col, level = key, None
            if key not in cov.columns and key.endswith("]") and "[" in key:
                col, level = key[:-1].split("[", 1)
            if col not in cov.columns:
                raise ValueError(f"effects[{b!r}] names {key!r}, which is not a covariate "
                                 f"(columns: {list(cov.columns)})")
            if level is not None:
                z = (cov[col].astype(str).to_numpy() == level).astype(float)
            else:
                try:
                    z = cov[col].to_numpy(dtype=float)
                except (TypeError, ValueError):
                    raise ValueError(f"covariate {col!r} is text: give effects per level, e.g. "
                                     f"'{col}[{cov[col].iloc[0]}]'") from None
            if not np.all(np.isfinite(z)):
                raise ValueError(f"covariate {col!r} contains NaN or inf")
            lin[b] = lin[b] + float(coef) * z
    return cov, lin
