"""CLV models on Dask summaries: fit once on distinct rows, predict per partition.

``model.fit(dask_summary)`` reduces every partition to its distinct sufficient-statistic
rows -- (frequency, recency, T) for BG/NBD, MBG/NBD and Pareto/NBD, (frequency, recency,
n_periods) for BG/BB, (frequency, monetary_value) of repeat buyers for Gamma-Gamma --
with the number of customers on each, adds the counts over partitions and fits the
model once in C on those weighted rows: the likelihood is the same sum, so the optimum
is the single-machine one.  Predictions and :func:`siyu.clv` run the single-machine code
on every partition with the fitted model broadcast, and return Dask objects.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
from dask import delayed

from siyu import _core
from siyu.models._base import pick_column

_FREQ = ("frequency_cal", "frequency", "x")
_REC = ("recency_cal", "recency", "t_x")
_SPLIT_EVERY = 8


def _is_dask(obj: Any) -> bool:
    return type(obj).__module__.split(".")[0] == "dask"


def dispatch(func: Callable[..., Any], args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    """Entry point of :func:`siyu.models._base.dask_aware`."""
    if func.__name__ == "fit":
        return fit(args[0], list(args[1:]), kwargs)
    if "." in func.__qualname__:          # a method: call it by name on each partition
        return _map(_call_method, (args[0], func.__name__), list(args[1:]), kwargs)
    import importlib

    public = getattr(importlib.import_module(func.__module__), func.__name__)
    return _map(_call_function, (public,), list(args), kwargs)


# --------------------------------------------------------------------------- fit
def _columns(model: Any, meta: pd.DataFrame) -> tuple[list[str], str]:
    name = type(model).__name__
    if name == "GammaGamma":
        return [pick_column(meta, _FREQ, "frequency"),
                pick_column(meta, ("monetary_value_cal", "monetary_value", "zbar", "m_x"),
                            "monetary_value")], "gg"
    if name == "BetaGeoBetaBinom":
        return [pick_column(meta, _FREQ, "frequency"), pick_column(meta, _REC, "recency"),
                pick_column(meta, ("n_periods", "periods", "n", "T_cal", "T"), "n_periods")], ""
    return [pick_column(meta, _FREQ, "frequency"), pick_column(meta, _REC, "recency"),
            pick_column(meta, ("T_cal", "T"), "T")], ""


def _distinct(cols: list[str], arrays: list[np.ndarray], w: np.ndarray | None) -> pd.DataFrame:
    """The distinct rows of the arrays with their summed weights (C: one hash pass)."""
    u, uw = _core.collapse_rows(tuple(arrays), w)
    out = pd.DataFrame({c: u[j] for j, c in enumerate(cols)})
    out["weights"] = uw
    return out


def _collapse(df: pd.DataFrame, cols: list[str], weights: str | None,
              repeat_only: bool) -> tuple[pd.DataFrame, Any]:
    """Distinct rows of ``cols`` with the number (or summed weights) of customers."""
    arrays = [df[c].to_numpy(dtype=np.float64) for c in cols]
    w = df[weights].to_numpy(dtype=np.float64) if weights else None
    if repeat_only:
        keep = arrays[0] > 0
        arrays = [a[keep] for a in arrays]
        w = None if w is None else w[keep]
    return _distinct(cols, arrays, w), df.attrs.get("unit")


def _add_collapsed(items: list[tuple[pd.DataFrame, Any]]) -> tuple[pd.DataFrame, Any]:
    """Distinct rows of several collapsed pieces, with their counts added."""
    cols = [c for c in items[0][0].columns if c != "weights"]
    arrays = [np.concatenate([f[c].to_numpy() for f, _ in items]) for c in cols]
    w = np.concatenate([f["weights"].to_numpy() for f, _ in items])
    units = [u for _, u in items if u is not None]
    return _distinct(cols, arrays, w), units[0] if units else None


def collapse(frame: dd.DataFrame, cols: list[str], weights: str | None = None,
             repeat_only: bool = False, distinct: bool = True) -> pd.DataFrame:
    """The distinct rows of ``cols`` over all partitions, with a ``weights`` column
    (customers per row); ``attrs["unit"]`` from the partitions.  distinct=False: the last
    (at most 8) collapsed pieces are only concatenated, so a row may appear in several of
    them -- for a consumer that collapses again anyway (the C fits do)."""
    # only the columns the collapse reads: dask then filters and moves nothing else
    frame = frame[list(dict.fromkeys(cols + ([weights] if weights else [])))]
    pieces = [delayed(_collapse)(p, cols, weights, repeat_only) for p in frame.to_delayed()]
    while len(pieces) > (1 if distinct else _SPLIT_EVERY):
        pieces = [delayed(_add_collapsed)(pieces[i:i + _SPLIT_EVERY])
                  for i in range(0, len(pieces), _SPLIT_EVERY)]
    items = dask.compute(*pieces)
    units = [u for _, u in items if u is not None]
    out = items[0][0] if len(items) == 1 else pd.concat([f for f, _ in items],
                                                         ignore_index=True)
    out.attrs["unit"] = units[0] if units else None
    return out


def fit(model: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """``model.fit`` on a Dask summary: collapse, add, fit once."""
    frame = args.pop(0) if args else kwargs.pop("frequency", None)
    if not isinstance(frame, dd.DataFrame):
        raise TypeError(f"{type(model).__name__}.fit with Dask input takes the summary as a Dask "
                        "DataFrame, e.g. model.fit(dtx.summary()); pass pandas objects otherwise")
    weights = kwargs.pop("weights", None)
    if args or any(v is not None for v in kwargs.values()):
        raise TypeError(f"{type(model).__name__}.fit with a Dask DataFrame takes no other "
                        "arrays: the columns come from the frame (weights= may name a column)")
    if weights is not None and not isinstance(weights, str):
        raise TypeError("with a Dask DataFrame, weights= must be the name of a column")
    meta = frame._meta
    cols, kind = _columns(model, meta)
    if weights is None and "weights" in meta.columns and kind != "gg":
        weights = "weights"
    if weights is not None and weights not in meta.columns:
        raise ValueError(f"weights={weights!r} is not a column of the summary")
    # the fit collapses identical rows itself: the last pieces need no extra pass
    rows = collapse(frame, cols, weights, repeat_only=kind == "gg", distinct=False)
    return model.fit(rows, weights="weights")


# --------------------------------------------------------------------------- predictions
def _call_method(target: tuple[Any, str], names: list[str], *values: Any) -> Any:
    model, name = target
    n = len(values) - len(names)
    return getattr(model, name)(*values[:n], **dict(zip(names, values[n:])))


def _call_function(target: tuple[Any], names: list[str], *values: Any) -> Any:
    n = len(values) - len(names)
    return target[0](*values[:n], **dict(zip(names, values[n:])))


def _map(call: Callable[..., Any], target: tuple[Any, ...], args: list[Any],
         kwargs: dict[str, Any]) -> Any:
    names = list(kwargs)
    values = list(args) + [kwargs[k] for k in names]
    meta = call(target, names, *[v._meta if _is_dask(v) else v for v in values])
    if not isinstance(meta, (pd.Series, pd.DataFrame)):
        raise TypeError("with Dask input, predictions need a summary Dask DataFrame (or Dask "
                        "Series with an index); got a result without an index")
    with dask.config.set({"dataframe.convert-string": False}):
        return dd.map_partitions(call, target, names, *values, meta=meta)
