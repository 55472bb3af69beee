"""Plots of model diagnostics (matplotlib, imported lazily).

Each function takes the plain frame a diagnostic returns (``siyu.
expected_cumulative_transactions``, ``period_transactions``, ``calibration_vs_holdout``,
``frequency_recency_matrix``, ``probability_alive_matrix``, ``probability_alive_history``),
draws on ``ax`` (a new figure when None) and returns the Axes.  Labels come from the
catalogue in ``siyu._i18n`` (``lang="en"`` or ``"zh"``).  Also available as
``siyu.plotting.plot_*``.
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator

import numpy as np
import pandas as pd

from siyu._i18n import check_lang, text

__all__ = ["plot_tracking", "plot_period_transactions", "plot_calibration_vs_holdout",
           "plot_frequency_recency_matrix", "plot_probability_alive_matrix",
           "plot_probability_alive_history", "plot_prediction_interval"]

# font families with Chinese glyphs, tried in this order when lang="zh"
_CJK_CANDIDATES = ("Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei",
                   "WenQuanYi Zen Hei", "PingFang SC", "Microsoft YaHei", "SimHei")


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("siyu's plots need matplotlib: pip install 'siyu[plot]' "
                          "(or pip install matplotlib)") from exc
    return plt


@contextlib.contextmanager
def _fonts(lang: str) -> Iterator[None]:
    """Draw with a CJK font appended to the family list when lang is "zh" (this call only)."""
    import matplotlib
    from matplotlib import font_manager

    if lang != "zh":
        yield
        return
    names = {f.name for f in font_manager.fontManager.ttflist}
    found = [n for n in _CJK_CANDIDATES if n in names]
    fam = list(matplotlib.rcParams["font.family"])
    with matplotlib.rc_context({"font.family": fam + found[:1]} if found else {}):
        yield


def _new_axes(ax: Any, figsize: tuple[float, float] = (8.0, 4.8)) -> Any:
    if ax is not None:
        return ax
    plt = _pyplot()
    _, ax = plt.subplots(figsize=figsize)
    return ax


def _require(frame: Any, cols: tuple[str, ...], what: str) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{what} takes the DataFrame of the matching siyu diagnostic, got "
                        f"{type(frame).__name__}")
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise ValueError(f"{what}: the frame lacks columns {missing}")
    return frame


def plot_tracking(frame: pd.DataFrame, ax: Any = None, cumulative: bool = True,
                  lang: str = "en") -> Any:
    """Actual vs expected repeat transactions per period (from
    :func:`siyu.expected_cumulative_transactions`); a vertical line marks the end of the
    calibration period and partial periods are drawn hollow."""
    check_lang(lang)
    f = _require(frame, ("actual", "expected", "actual_incremental", "expected_incremental",
                         "holdout", "partial"), "plot_tracking")
    a, e = ("actual", "expected") if cumulative else ("actual_incremental",
                                                      "expected_incremental")
    with _fonts(lang):
        ax = _new_axes(ax)
        x = f.index.to_numpy()
        ax.plot(x, f[a].to_numpy(), color="black", lw=1.5, label=text("models.plot.actual", lang))
        ax.plot(x, f[e].to_numpy(), color="C0", ls="--", lw=1.5,
                label=text("models.plot.expected", lang, model=f.attrs.get("model", "")))
        part = f["partial"].to_numpy(dtype=bool)
        if part.any():
            ax.scatter(x[part], f[a].to_numpy()[part], facecolors="none", edgecolors="black",
                       zorder=3, label=text("models.plot.partial", lang))
        hold = f["holdout"].to_numpy(dtype=bool)
        if hold.any() and not hold.all():
            cut = x[np.argmax(hold)] - 0.5
            ax.axvline(cut, color="grey", lw=0.8)
            ax.text(cut, ax.get_ylim()[1], " " + text("models.plot.holdout", lang), va="top",
                    ha="left", color="grey")
        freq = f.attrs.get("freq", "")
        ax.set_xlabel(text("models.plot.period", lang, freq=freq))
        ax.set_ylabel(text("models.plot.cum_repeat" if cumulative else "models.plot.inc_repeat",
                           lang))
        ax.set_title(text("models.plot.tracking_title", lang))
        ax.legend()
    return ax


def plot_period_transactions(frame: pd.DataFrame, ax: Any = None, lang: str = "en") -> Any:
    """Customers by calibration repeat transactions, actual vs model (from
    :func:`siyu.period_transactions`)."""
    check_lang(lang)
    f = _require(frame, ("actual", "expected"), "plot_period_transactions")
    with _fonts(lang):
        ax = _new_axes(ax)
        pos = np.arange(len(f))
        w = 0.4
        ax.bar(pos - w / 2, f["actual"].to_numpy(), w, color="0.3",
               label=text("models.plot.actual", lang))
        ax.bar(pos + w / 2, f["expected"].to_numpy(), w, color="C0",
               label=text("models.plot.expected", lang, model=f.attrs.get("model", "")))
        ax.set_xticks(pos)
        ax.set_xticklabels([str(v) for v in f.index])
        ax.set_xlabel(text("models.plot.cal_repeat", lang))
        ax.set_ylabel(text("models.plot.customers", lang))
        ax.set_title(text("models.plot.period_title", lang))
        ax.legend()
    return ax


def plot_calibration_vs_holdout(frame: pd.DataFrame, ax: Any = None, lang: str = "en") -> Any:
    """Mean holdout purchases per calibration group, actual vs conditional expectation
    (from :func:`siyu.calibration_vs_holdout`)."""
    check_lang(lang)
    f = _require(frame, ("n_customers", "actual", "expected"), "plot_calibration_vs_holdout")
    with _fonts(lang):
        ax = _new_axes(ax)
        pos = np.arange(len(f))
        ax.plot(pos, f["actual"].to_numpy(), "o-", color="black",
                label=text("models.plot.actual", lang))
        ax.plot(pos, f["expected"].to_numpy(), "s--", color="C0",
                label=text("models.plot.expected", lang, model=f.attrs.get("model", "")))
        ax.set_xticks(pos)
        ax.set_xticklabels([str(v) for v in f.index], rotation=0 if len(f) <= 12 else 90)
        by = f.attrs.get("by", "frequency")
        ax.set_xlabel(text("models.plot.cal_frequency" if by == "frequency"
                           else "models.plot.cal_recency", lang))
        ax.set_ylabel(text("models.plot.mean_holdout", lang))
        ax.set_title(text("models.plot.cvh_title", lang))
        ax.legend()
    return ax


def _heatmap(frame: pd.DataFrame, ax: Any, lang: str, title_key: str, cbar_key: str) -> Any:
    if not isinstance(frame, pd.DataFrame) or frame.index.name != "recency":
        raise TypeError("pass the frame of siyu.frequency_recency_matrix / "
                        "probability_alive_matrix (rows: recency, columns: frequency)")
    with _fonts(lang):
        ax = _new_axes(ax, (7.0, 5.5))
        Z = frame.to_numpy(dtype=float)
        freqs = frame.columns.to_numpy()
        rec = frame.index.to_numpy()
        im = ax.imshow(Z, origin="lower", aspect="auto", interpolation="nearest",
                       extent=(freqs[0] - 0.5, freqs[-1] + 0.5, rec[0] - 0.5, rec[-1] + 0.5))
        ax.figure.colorbar(im, ax=ax, label=text(cbar_key, lang, t=frame.attrs.get("t", "")))
        ax.set_xlabel(text("models.plot.frequency", lang))
        ax.set_ylabel(text("models.plot.recency", lang, unit=frame.attrs.get("unit") or ""))
        ax.set_title(text(title_key, lang, T=f"{frame.attrs.get('T', float('nan')):.4g}"))
    return ax


def plot_frequency_recency_matrix(frame: pd.DataFrame, ax: Any = None, lang: str = "en") -> Any:
    """Heat map of expected purchases by (frequency, recency) (from
    :func:`siyu.frequency_recency_matrix`)."""
    check_lang(lang)
    return _heatmap(frame, ax, lang, "models.plot.frm_title", "models.plot.frm_cbar")


def plot_probability_alive_matrix(frame: pd.DataFrame, ax: Any = None, lang: str = "en") -> Any:
    """Heat map of P(alive) by (frequency, recency) (from
    :func:`siyu.probability_alive_matrix`)."""
    check_lang(lang)
    return _heatmap(frame, ax, lang, "models.plot.pam_title", "models.plot.p_alive")


def plot_probability_alive_history(frame: pd.DataFrame, ax: Any = None, lang: str = "en") -> Any:
    """One customer's P(alive) over time with their purchases marked (from
    :func:`siyu.probability_alive_history`)."""
    check_lang(lang)
    f = _require(frame, ("p_alive", "purchase"), "plot_probability_alive_history")
    with _fonts(lang):
        ax = _new_axes(ax, (9.0, 3.6))
        ax.plot(f.index, f["p_alive"].to_numpy(), color="C0", lw=1.5,
                label=text("models.plot.p_alive", lang))
        buys = f.index[f["purchase"].to_numpy(dtype=bool)]
        for d in buys:
            ax.axvline(d, color="grey", lw=0.7, ls=":")
        ax.plot([], [], color="grey", lw=0.7, ls=":", label=text("models.plot.purchase", lang))
        ax.set_ylim(0, 1.05)
        ax.set_ylabel(text("models.plot.p_alive", lang))
        ax.set_title(text("models.plot.history_title", lang,
                          customer=f.attrs.get("customer", "")))
        ax.legend(loc="lower left")
    return ax


def plot_prediction_interval(frame: pd.DataFrame, ax: Any = None, lang: str = "en") -> Any:
    """Estimate with its interval band against the frame's index (e.g. the output of
    ``model.expected_purchases(ts, interval=0.9)``)."""
    check_lang(lang)
    f = _require(frame, ("estimate", "lower", "upper"), "plot_prediction_interval")
    with _fonts(lang):
        ax = _new_axes(ax)
        x = f.index.to_numpy()
        ax.fill_between(x, f["lower"].to_numpy(), f["upper"].to_numpy(), color="C0", alpha=0.25,
                        label=text("models.plot.interval", lang,
                                   level=f"{100 * f.attrs.get('interval', float('nan')):.0f}",
                                   method=f.attrs.get("method", "")))
        ax.plot(x, f["estimate"].to_numpy(), color="C0", lw=1.5,
                label=text("models.plot.estimate", lang))
        ax.set_xlabel(str(f.index.name or ""))
        ax.legend()
    return ax
