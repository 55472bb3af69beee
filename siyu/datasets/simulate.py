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
             output: str = "transactions") -> pd.DataFrame:
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
        return pd.DataFrame({"frequency": count.astype(np.int64), "recency": tx, "T": Ti},
                            index=pd.Index(ids, name="customer_id"))
    sp = _params(spend_params if spend_params is not None else _DEFAULT_SPEND, "spend_params")
    pqg = np.array([sp.get("p"), sp.get("q"), sp.get("gamma")], dtype=np.float64)
    if not np.all(np.isfinite(pqg)) or np.any(pqg <= 0):
        raise ValueError("spend_params needs positive p, q, gamma")
    k = count + 1
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
    return pd.DataFrame({"customer_id": cust, "date": dates.astype("datetime64[s]"),
                         "amount": np.round(amounts, 2)})
