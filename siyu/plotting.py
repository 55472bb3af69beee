"""Plots of cohorts, retention, LTV and survival (matplotlib, imported lazily).

Every function takes the result object (or passes through its ``.plot()``), draws on
``ax`` (a new figure when None) and returns the Axes.  matplotlib is an optional
dependency: a clear ImportError says how to install it.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["cjk_fallback_fonts", "cohort_heatmap", "retention_curves", "ltv_curves", "survival_curve",
           "repurchase_rates", "interpurchase_histogram"]


# Fonts with Chinese glyphs, most common first (Linux, macOS, Windows).
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei",
             "WenQuanYi Micro Hei", "Droid Sans Fallback", "PingFang SC", "Heiti SC",
             "Microsoft YaHei", "SimHei", "Arial Unicode MS")
def _installed_cjk_fonts() -> list[str]:
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return [name for name in CJK_FONTS if name in installed]


def cjk_fallback_fonts() -> list[str]:
    """Add an installed CJK font to matplotlib's global fallback list; return the CJK
    fonts found.

    siyu's own plots already draw Chinese labels with an installed CJK font without
    touching global settings; call this to get the same in your own matplotlib plots.
    The font is appended to the end of ``font.family`` (matplotlib's per-glyph
    fallback list), so your fonts still draw Latin text.  Without any CJK font
    installed, Chinese labels show as boxes: install one (e.g. Debian
    ``fonts-noto-cjk`` or ``fonts-wqy-microhei``).
    """
    import matplotlib

    found = _installed_cjk_fonts()
    current = list(matplotlib.rcParams["font.family"])
    if found and found[0] not in current:
        matplotlib.rcParams["font.family"] = current + found[:1]
    return found


def _with_cjk(ax: Any) -> Any:
    """Let the text of one Axes fall back to an installed CJK font (no global change)."""
    import matplotlib

    found = _installed_cjk_fonts()
    if not found:
        return ax
    families = list(matplotlib.rcParams["font.family"])
    if found[0] in families:
        return ax
    families.append(found[0])
    texts = [ax.title, ax.xaxis.label, ax.yaxis.label, *ax.texts,
             *ax.get_xticklabels(), *ax.get_yticklabels()]
    legend = ax.get_legend()
    if legend is not None:
        texts += [*legend.get_texts(), legend.get_title()]
    for t in texts:
        t.set_fontfamily(families)
    try:
        ax.tick_params(labelfontfamily=families)       # matplotlib >= 3.8
    except (TypeError, ValueError, AttributeError):    # pragma: no cover - older matplotlib
        pass
    return ax


def _cjk_aware(fn: Any) -> Any:
    """Decorator: the plot function's Axes gets the CJK fallback font."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return _with_cjk(fn(*args, **kwargs))

    return wrapper


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("siyu plotting needs matplotlib, which is not installed; install it "
                          "with `pip install matplotlib` (or `pip install siyu[plot]`)") from exc
    return plt


def _axes(ax: Any, figsize: tuple[float, float] = (8.0, 5.0)) -> Any:
    if ax is not None:
        return ax
    plt = _pyplot()
    _, ax = plt.subplots(figsize=figsize)
    return ax


def _row_labels(index: pd.Index) -> list[str]:
    if isinstance(index, pd.MultiIndex):
        return [" · ".join(str(x) for x in t) for t in index]
    return [str(x) for x in index]


@_cjk_aware
def cohort_heatmap(table: Any, metric: str = "retention", ax: Any = None,
                   annot: bool | None = None, fmt: str | None = None, cmap: str = "YlGnBu",
                   max_annot_cells: int = 600, colorbar: bool = True) -> Any:
    """Heatmap of a cohort × age metric of a :class:`~siyu.cohorts.CohortTable`.

    Parameters
    ----------
    table : CohortTable
    metric : {"retention", "active", "orders", "revenue", "ltv"}
    annot : bool, optional
        Write the value in each observed cell (default: when there are at most
        ``max_annot_cells`` cells).
    fmt : str, optional
        Format of the annotations (default ``"{:.0%}"`` for retention, ``"{:,.0f}"``
        otherwise).
    cmap : str
        matplotlib colour map.

    Returns
    -------
    matplotlib.axes.Axes
    """
    df = table.table(metric)
    data = df.to_numpy(dtype=float)
    n_rows, n_cols = data.shape
    ax = _axes(ax, figsize=(max(6.0, 0.55 * n_cols + 2), max(3.0, 0.35 * n_rows + 1.5)))
    masked = np.ma.masked_invalid(data)
    im = ax.imshow(masked, aspect="auto", cmap=cmap, interpolation="nearest")
    ax.set_xticks(np.arange(n_cols))
    ax.set_xticklabels([str(c) for c in df.columns])
    ax.set_yticks(np.arange(n_rows))
    ax.set_yticklabels(_row_labels(df.index))
    ax.set_xlabel(f"age ({table.period})")
    ax.set_ylabel("cohort")
    ax.set_title(f"{metric} by {table.period} cohort")
    if annot is None:
        annot = data.size <= max_annot_cells
    if annot and data.size:
        fmt = fmt or ("{:.0%}" if metric == "retention" else "{:,.0f}")
        finite = data[np.isfinite(data)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        mid = (lo + hi) / 2
        for i in range(n_rows):
            for j in range(n_cols):
                v = data[i, j]
                if np.isfinite(v):
                    ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=7,
                            color="white" if v > mid else "black")
    if colorbar:
        ax.figure.colorbar(im, ax=ax)
    return ax


def _curves(ax: Any, frame: pd.DataFrame, avg: pd.Series | None, ylabel: str,
            max_lines: int) -> None:
    plt = _pyplot()
    rows = frame.iloc[-max_lines:] if len(frame) > max_lines else frame
    colors = plt.get_cmap("viridis")(np.linspace(0, 1, max(len(rows), 1)))
    for (label, values), color in zip(zip(_row_labels(rows.index), rows.to_numpy()), colors):
        ax.plot(rows.columns.to_numpy(), values, color=color, lw=1, alpha=0.8, label=label)
    if avg is not None:
        ax.plot(avg.index.to_numpy(), avg.to_numpy(), color="black", lw=2.5, label="average")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2 if len(rows) > 8 else 1)


@_cjk_aware
def retention_curves(obj: Any, ax: Any = None, max_lines: int = 24) -> Any:
    """Retention curves: one line per cohort (plus the size-weighted average) for a
    CohortTable; one line per group for a RetentionTable.  Returns the Axes."""
    from siyu.cohorts import CohortTable
    from siyu.retention import RetentionTable

    ax = _axes(ax)
    if isinstance(obj, CohortTable):
        _curves(ax, obj.retention, obj.average("retention"), "retention", max_lines)
        ax.set_xlabel(f"age ({obj.period})")
        ax.set_title(f"retention by {obj.period} cohort")
    elif isinstance(obj, RetentionTable):
        rate = obj.rate
        frame = rate.to_frame("all") if isinstance(rate, pd.Series) else rate
        if obj.kind == "bracket":
            x = np.arange(len(frame))
            ax.set_xticks(x)
            ax.set_xticklabels([f"{iv.left}-{iv.right}" for iv in frame.index])
            ax.set_xlabel("days since first purchase (bracket)")
        else:
            x = frame.index.to_numpy()
            ax.set_xlabel("days since first purchase")
        for col in frame.columns:
            ax.plot(x, frame[col].to_numpy(), marker="o" if len(x) <= 20 else None,
                    label=str(col))
        ax.set_ylabel("retention rate")
        ax.set_title(f"{obj.kind} retention")
        ax.grid(alpha=0.3)
        if frame.shape[1] > 1:
            ax.legend(title=obj.by)
    else:
        raise TypeError("retention_curves() takes a CohortTable or a RetentionTable, got "
                        f"{type(obj).__name__}")
    ax.yaxis.set_major_formatter(_percent())
    return ax


def _percent() -> Any:
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(1.0)


@_cjk_aware
def ltv_curves(table: Any, ax: Any = None, max_lines: int = 24) -> Any:
    """Historical LTV curves of a CohortTable (cumulative revenue or margin per cohort
    customer by age), with the size-weighted average.  Returns the Axes."""
    ax = _axes(ax)
    what = "margin" if table.margin is not None else "revenue"
    _curves(ax, table.ltv, table.average("ltv"), f"cumulative {what} per customer", max_lines)
    ax.set_xlabel(f"age ({table.period})")
    ax.set_title(f"LTV by {table.period} cohort")
    return ax


@_cjk_aware
def survival_curve(curve: Any, ax: Any = None, bands: bool = True) -> Any:
    """Kaplan–Meier step curve(s) of a SurvivalCurve with confidence bands."""
    ax = _axes(ax)
    tables = [(None, curve.table)] if curve.by is None else list(curve._tables.items())
    for label, tab in tables:
        t = tab["time"].to_numpy()
        line, = ax.step(t, tab["survival"].to_numpy(), where="post",
                        label="all" if label is None else str(label))
        if bands:
            ax.fill_between(t, tab["lower"].to_numpy(), tab["upper"].to_numpy(), step="post",
                            alpha=0.25, color=line.get_color())
    ax.set_xlabel("days since first purchase")
    ax.set_ylabel("share of customers not churned")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"survival (churn after {curve.churn_after:g} days inactive)")
    ax.grid(alpha=0.3)
    if curve.by is not None:
        ax.legend(title=curve.by)
    return ax


@_cjk_aware
def repurchase_rates(rp: Any, ax: Any = None) -> Any:
    """Repurchase rate by cohort, one line per window.  Returns the Axes."""
    ax = _axes(ax)
    rate = rp.rate
    labels = _row_labels(rate.index)
    x = np.arange(len(labels))
    for k in rate.columns:
        ax.plot(x, rate[k].to_numpy(), marker="o", label=f"within {k} days")
    ax.set_xticks(x)
    ax.set_xticklabels(labels, rotation=45, ha="right")
    ax.set_ylabel("repurchase rate")
    ax.yaxis.set_major_formatter(_percent())
    ax.set_title("second purchase within k days, by cohort")
    ax.grid(alpha=0.3)
    ax.legend()
    return ax


@_cjk_aware
def interpurchase_histogram(ip: Any, ax: Any = None, bins: int = 50) -> Any:
    """Histogram of inter-purchase gaps (days) with the median marked."""
    ax = _axes(ax)
    gaps = ip.gaps.to_numpy()
    if gaps.size:
        ax.hist(gaps, bins=bins, color="#4c72b0", alpha=0.85)
        ax.axvline(ip.median_, color="black", ls="--", label=f"median {ip.median_:g} days")
        ax.legend()
    ax.set_xlabel("days between purchases")
    ax.set_ylabel("gaps")
    ax.set_title("inter-purchase times")
    return ax


# ---- model diagnostics (siyu.model_plots) ---------------------------------------------
from siyu.model_plots import (plot_calibration_vs_holdout, plot_frequency_recency_matrix,  # noqa: E402
                              plot_period_transactions, plot_prediction_interval,
                              plot_probability_alive_history, plot_probability_alive_matrix,
                              plot_tracking)

__all__ += ["plot_tracking", "plot_period_transactions", "plot_calibration_vs_holdout",
            "plot_frequency_recency_matrix", "plot_probability_alive_matrix",
            "plot_probability_alive_history", "plot_prediction_interval"]
