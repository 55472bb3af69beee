"""Plots of cohorts, retention, LTV, survival and unit economics (matplotlib, lazily).

Every function takes plain data -- DataFrames, Series, arrays -- draws on ``ax`` (a
new figure when None) and returns the Axes; the result objects' ``.plot()`` methods
pass their frames here.  Every word drawn comes from the text catalogue
(``lang="en"`` or ``"zh"``); money axes carry ``currency`` when given.  Partial
periods (``end`` cuts them short) are drawn distinguishably: hatched heat-map cells,
hollow last markers.  Legends sit outside the axes so they never cover data.

Chinese text needs a font with CJK glyphs.  :func:`find_cjk_font` looks for one in
matplotlib's font list and, when matplotlib's font cache predates an installed font,
in the font files on the machine; siyu's plots use it per text object, without
changing matplotlib's settings (rcParams).  matplotlib is an optional dependency: a
clear ImportError says how to install it.
"""
from __future__ import annotations

import functools
import os
import warnings
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from siyu._i18n import check_lang, text

__all__ = ["CJK_FONTS", "cjk_fallback_fonts", "cjk_install_hint", "find_cjk_font", "use_cjk",
           "get_pyplot", "cohort_heatmap", "cohort_curves", "retention_curves", "ltv_curves",
           "survival_curve", "repurchase_rates", "interpurchase_histogram", "share_bars",
           "cac_ltv", "DeferredAxes", "draw_deferred"]

# Fonts with Chinese glyphs, most common first (Linux, macOS, Windows).
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
             "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Droid Sans Fallback", "PingFang SC",
             "Heiti SC", "Hiragino Sans GB", "Microsoft YaHei", "SimHei", "AR PL UMing CN",
             "Arial Unicode MS")
# Substrings (lower case, no spaces/dashes) of CJK font file names.
_CJK_FILE_HINTS = ("notosanscjk", "notoserifcjk", "notosanssc", "notoserifsc", "sourcehan",
                   "wqy", "wenquanyi", "droidsansfallback", "msyh", "simhei", "simsun", "simkai",
                   "pingfang", "hiragino", "stheiti", "heiti", "songti", "uming", "ukai",
                   "arialuni", "sarasa", "lxgw", "zenhei", "microhei")
_CJK_NAME_HINTS = ("cjk", "hei", "song", "kai", "ming", "yahei", "han sans", "han serif",
                   "wenquanyi", "sarasa", "lxgw", "fallback", "pingfang", "hiragino")
_MAX_FONT_FILES = 400        # font files inspected when matplotlib's list has no CJK font
_font_cache: dict[str, str | None] = {}
_warned: set[str] = set()


# --------------------------------------------------------------------------- fonts
def _has_cjk_glyphs(path: str) -> bool:
    try:
        from matplotlib.ft2font import FT2Font

        return FT2Font(path).get_char_index(0x4E2D) != 0        # 中
    except Exception:         # unreadable or unsupported font file
        return False


def find_cjk_font(refresh: bool = False) -> str | None:
    """Family name of a font that can draw Chinese, or None when the machine has none.

    Looks in matplotlib's font list first (the common CJK fonts of Linux, macOS and
    Windows by name, then any font whose name suggests CJK and that has the glyph
    中).  When none is there -- matplotlib caches its font list, so a font installed
    after the cache was built is missing from it -- the font files on the machine are
    inspected, and the first one with Chinese glyphs is added to matplotlib's font
    list (``font_manager.fontManager.addfont``; rcParams are not changed).  The
    answer is remembered; ``refresh=True`` looks again.
    """
    if not refresh and "name" in _font_cache:
        return _font_cache["name"]
    from matplotlib import font_manager as fm

    name: str | None = None
    entries = list(fm.fontManager.ttflist)
    names = {f.name for f in entries}
    name = next((n for n in CJK_FONTS if n in names), None)
    if name is None:
        for f in entries:
            low = f.name.lower()
            if any(h in low for h in _CJK_NAME_HINTS) and _has_cjk_glyphs(f.fname):
                name = f.name
                break
    if name is None:
        known = {os.path.abspath(f.fname) for f in entries}
        try:
            files = [os.path.abspath(p) for p in fm.findSystemFonts()]
        except Exception:        # pragma: no cover - a broken font directory
            files = []
        files = [p for p in files if p not in known]

        def hinted(p: str) -> bool:
            base = os.path.basename(p).lower().replace(" ", "").replace("-", "").replace("_", "")
            return any(h in base for h in _CJK_FILE_HINTS)

        ordered = sorted(files, key=lambda p: (not hinted(p), p))[:_MAX_FONT_FILES]
        for path in ordered:
            if _has_cjk_glyphs(path):
                try:
                    fm.fontManager.addfont(path)
                    name = fm.FontProperties(fname=path).get_name()
                except Exception:     # pragma: no cover - matplotlib cannot use the file
                    continue
                break
    _font_cache["name"] = name
    return name


def cjk_install_hint(lang: str = "en") -> str:
    """How to install a CJK font on each OS (one line, from the text catalogue)."""
    return text("plot.no_cjk_font", check_lang(lang))


def cjk_fallback_fonts() -> list[str]:
    """Add an installed CJK font to matplotlib's global fallback list; return the CJK
    fonts found.

    siyu's own plots already draw Chinese labels with an installed CJK font without
    touching global settings; call this to get the same in your own matplotlib plots.
    The font is appended to the end of ``font.family`` (matplotlib's per-glyph
    fallback list), so your fonts still draw Latin text.  Without any CJK font
    installed, Chinese labels show as boxes: install one (see
    :func:`cjk_install_hint`).
    """
    import matplotlib

    font = find_cjk_font()
    if font is None:
        return []
    current = list(matplotlib.rcParams["font.family"])
    if font not in current:
        matplotlib.rcParams["font.family"] = current + [font]
    return [font]


def _all_texts(ax: Any) -> list[Any]:
    texts = [ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label,
             *ax.texts, *ax.get_xticklabels(), *ax.get_yticklabels()]
    legend = ax.get_legend()
    if legend is not None:
        texts += [*legend.get_texts(), legend.get_title()]
    return texts


def use_cjk(ax: Any) -> Any:
    """Let the text of one Axes fall back to a CJK font (no global change); returns ax."""
    import matplotlib

    font = find_cjk_font()
    if font is None:
        return ax
    families = list(matplotlib.rcParams["font.family"])
    if font in families:
        return ax
    families.append(font)
    for t in _all_texts(ax):
        t.set_fontfamily(families)
    try:
        ax.tick_params(labelfontfamily=families)       # matplotlib >= 3.8
    except (TypeError, ValueError, AttributeError):    # pragma: no cover - older matplotlib
        pass
    return ax




class DeferredAxes:
    """A stand-in for an Axes that records the plot call instead of drawing it.

    Passed as ``ax=`` to a plot function of this module, it keeps the function's name
    and arguments (plain frames and numbers: picklable), so the figure can be drawn
    later or in another process -- the HTML report draws its charts in a worker process
    while it computes the next section.  ``figure`` holds the keyword arguments of the
    figure to draw on; :func:`draw_deferred` draws the recorded call on a real Axes.
    """

    def __init__(self, **figure: Any) -> None:
        self.figure = figure
        self.call: tuple[str, tuple[Any, ...], dict[str, Any]] | None = None


def draw_deferred(deferred: DeferredAxes, ax: Any) -> Any:
    """Draw the plot call recorded on ``deferred`` on the matplotlib Axes ``ax``."""
    if deferred.call is None:
        raise ValueError("no plot call was recorded on this DeferredAxes")
    name, args, kwargs = deferred.call
    if name not in _DEFERRABLE:
        raise ValueError(f"{name!r} is not a siyu plot function")
    return globals()[name](*args, **dict(kwargs, ax=ax))


_DEFERRABLE: set[str] = set()        # the plot functions a DeferredAxes can record


def _cjk_aware(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator: the plot function's Axes gets the CJK fallback font; with lang="zh"
    and no CJK font a warning says which font to install (once per session).  With a
    :class:`DeferredAxes` as ``ax=`` the call is only recorded on it."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ax = kwargs.get("ax")
        if isinstance(ax, DeferredAxes):
            ax.call = (fn.__name__, args, {k: v for k, v in kwargs.items() if k != "ax"})
            return ax
        lang = check_lang(kwargs.get("lang", "en"))
        if lang == "zh" and find_cjk_font() is None and "zh" not in _warned:
            _warned.add("zh")
            warnings.warn(cjk_install_hint("en"), UserWarning, stacklevel=2)
        return use_cjk(fn(*args, **kwargs))

    _DEFERRABLE.add(fn.__name__)
    return wrapper


def get_pyplot() -> Any:
    """matplotlib.pyplot, or an ImportError that says how to install matplotlib."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("siyu plotting needs matplotlib, which is not installed; install it "
                          "with `pip install matplotlib` (or `pip install siyu[plot]`)") from exc
    return plt




def _axes(ax: Any, figsize: tuple[float, float] = (8.0, 5.0)) -> Any:
    if ax is not None:
        return ax
    plt = get_pyplot()
    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


# --------------------------------------------------------------------------- words
def _money(label: str, currency: str | None, lang: str) -> str:
    return label + text("money.suffix", lang, currency=currency) if currency else label


def _metric_label(metric: str, lang: str, currency: str | None) -> str:
    key = {"retention": "plot.y.retention", "active": "plot.y.active",
           "orders": "plot.y.orders", "revenue": "plot.y.revenue", "ltv": "plot.y.ltv",
           "margin": "plot.y.margin"}[metric]
    out = text(key, lang)
    return _money(out, currency, lang) if metric in ("revenue", "ltv", "margin") else out


def _age_label(period: str, lang: str) -> str:
    return text("plot.x.age", lang, periods=text(f"period.{period}.plural", lang))


def _row_labels(index: pd.Index, lang: str = "en") -> list[str]:
    def one(x: Any) -> str:
        return text("cohorts.existing", lang) if x == "existing" else str(x)
    if isinstance(index, pd.MultiIndex):
        return [" · ".join(one(x) for x in t) for t in index]
    return [one(x) for x in index]


def _legend_outside(ax: Any, title: str | None = None, ncol: int = 1) -> None:
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize=7,
              ncol=ncol, title=title, title_fontsize=7, frameon=False)


def _count(value: Any, name: str, low: int, high: int) -> int:
    """A whole-number drawing setting in [low, high] (ValueError/TypeError naming it)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a whole number from {low:,} to {high:,}, got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be a whole number from {low:,} to {high:,}, got {int(value):,}")
    return int(value)


def _thin_ticks(ax: Any, axis: str, labels: list[str], max_ticks: int) -> None:
    """Label at most ``max_ticks`` positions of a categorical axis."""
    n = len(labels)
    step = max(1, int(np.ceil(n / max_ticks))) if max_ticks else 1
    pos = np.arange(0, n, step)
    if axis == "x":
        ax.set_xticks(pos)
        ax.set_xticklabels([labels[i] for i in pos])
    else:
        ax.set_yticks(pos)
        ax.set_yticklabels([labels[i] for i in pos])


def _integer_ticks(axis: Any) -> None:
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def _percent() -> Any:
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(1.0)


def _notes(ax: Any, title: str, note: str | None) -> None:
    ax.set_title(title, loc="left", fontsize=10)
    if note:
        ax.set_title(note, loc="right", fontsize=7, color="#52606d")


# --------------------------------------------------------------------------- cohorts
@_cjk_aware
def cohort_heatmap(frame: pd.DataFrame, metric: str = "retention", period: str = "M",
                   partial: pd.DataFrame | np.ndarray | None = None, note: str | None = None,
                   ax: Any = None, annot: bool | None = None, fmt: str | None = None,
                   cmap: str = "YlGnBu", max_annot_cells: int = 600, colorbar: bool = True,
                   max_ticks: int = 40, lang: str = "en", currency: str | None = None,
                   title: str | None = None) -> Any:
    """Heat map of a cohort × age frame (rows cohorts, columns ages 0..; NaN blank).

    Parameters
    ----------
    frame : pandas.DataFrame
        E.g. ``ct.retention`` of a :class:`~siyu.CohortTable`; rows labelled
        ``"existing"`` are shown as the existing customers.
    metric : {"retention", "active", "orders", "revenue", "ltv"}
        What the cells are (axis words and the default annotation format).
    period : {"D", "W", "M", "Q", "Y"}
    partial : bool frame or array, optional
        Cells whose period ``end`` cuts short: hatched.
    note : str, optional
        Shown at the top right (e.g. ``ct.partial_note()``).
    annot : bool, optional
        Write the value in each observed cell (default: at most ``max_annot_cells``).
    fmt : str, optional
        Annotation format (default ``"{:.0%}"`` for retention, ``"{:,.0f}"`` otherwise).
    max_ticks : int
        Most labelled rows (and columns, at most 20).
    lang, currency, title
        Language, currency sign for money metrics, title override.

    Returns
    -------
    matplotlib.axes.Axes
    """
    max_annot_cells = _count(max_annot_cells, "max_annot_cells", 0, 10**7)
    max_ticks = _count(max_ticks, "max_ticks", 1, 10**4)
    from matplotlib.patches import Rectangle

    data = frame.to_numpy(dtype=float)
    n_rows, n_cols = data.shape
    ax = _axes(ax, figsize=(max(6.0, 0.55 * min(n_cols, 40) + 2.5),
                            max(3.0, 0.3 * min(n_rows, 40) + 1.5)))
    im = ax.imshow(np.ma.masked_invalid(data), aspect="auto", cmap=cmap,
                   interpolation="nearest")
    _thin_ticks(ax, "x", [str(c) for c in frame.columns], min(20, max_ticks))
    _thin_ticks(ax, "y", _row_labels(frame.index, lang), max_ticks)
    ax.set_xlabel(_age_label(period, lang))
    ax.set_ylabel(text("word.cohort", lang))
    mname = text(f"metric.{metric}", lang)
    _notes(ax, title or text("plot.title.heatmap", lang, metric=mname,
                             period=text(f"period.{period}.adj", lang)), note)
    if annot is None:
        annot = data.size <= max_annot_cells
    if annot and data.size:
        fmt = fmt or ("{:.0%}" if metric == "retention" else "{:,.0f}")
        finite = data[np.isfinite(data)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        mid = (lo + hi) / 2
        for i, j in zip(*np.nonzero(np.isfinite(data))):
            v = data[i, j]
            ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=7,
                    color="white" if v > mid else "black")
    if partial is not None:
        pmask = np.asarray(partial, dtype=bool)
        for i, j in zip(*np.nonzero(pmask & np.isfinite(data))):
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="///",
                                   edgecolor="#7b8794", lw=0.0, gid="partial"))
    if colorbar:
        cb = ax.figure.colorbar(im, ax=ax)
        if metric == "retention":
            cb.ax.yaxis.set_major_formatter(_percent())
    return ax


@_cjk_aware
def cohort_curves(frame: pd.DataFrame, average: pd.Series | None = None,
                  metric: str = "retention", period: str = "M",
                  partial: pd.DataFrame | np.ndarray | None = None, note: str | None = None,
                  ax: Any = None, max_lines: int = 24, lang: str = "en",
                  currency: str | None = None, title: str | None = None) -> Any:
    """One curve per cohort (row of ``frame``) by age, plus an average curve.

    Each cohort's partial last cell (``partial``) is drawn as a hollow marker, never
    joined to the line (a period cut short is not a drop).  ``average`` (e.g.
    ``ct.average("retention")``) is drawn in black; its legend says how many cohorts
    it covers (``average.attrs["n_cohorts"]``) and whether it is balanced.

    Parameters
    ----------
    frame : pandas.DataFrame
        Cohort × age values (``ct.retention`` or ``ct.ltv``).
    metric : {"retention", "ltv", "margin", "revenue", "orders", "active"}
    max_lines : int
        The latest ``max_lines`` cohorts are drawn.

    Returns
    -------
    matplotlib.axes.Axes
    """
    max_lines = _count(max_lines, "max_lines", 1, 10**4)
    plt = get_pyplot()
    ax = _axes(ax)
    pmask = np.zeros(frame.shape, dtype=bool) if partial is None else \
        np.asarray(partial, dtype=bool)
    if len(frame) > max_lines:
        frame, pmask = frame.iloc[-max_lines:], pmask[-max_lines:]
    colors = plt.get_cmap("viridis")(np.linspace(0, 1, max(len(frame), 1)))
    x = frame.columns.to_numpy()
    hollow = False
    for label, values, pm, color in zip(_row_labels(frame.index, lang), frame.to_numpy(dtype=float),
                                        pmask, colors):
        solid = np.where(pm, np.nan, values)
        ax.plot(x, solid, color=color, lw=1, alpha=0.85, label=label)
        for j in np.flatnonzero(pm & np.isfinite(values)):     # not joined: no fake cliff
            ax.plot(x[j], values[j], ls="none", marker="o", ms=5, mfc="none", mec=color,
                    gid="partial")
            hollow = True
    if average is not None:
        n = average.attrs.get("n_cohorts")
        if average.attrs.get("balanced") and n is not None:
            k = average.attrs.get("through")
            label = text("plot.legend.balanced", lang, n=int(n.max()) if len(n) else 0,
                         k=k if k is not None else 0)
        elif n is not None:
            label = text("plot.legend.unbalanced", lang)
        else:
            label = text("plot.legend.average", lang)
        ax.plot(average.index.to_numpy(), average.to_numpy(dtype=float), color="black", lw=2.5,
                label=label)
    if hollow:
        ax.plot([], [], ls="none", marker="o", mfc="none", mec="gray",
                label=text("plot.legend.partial", lang))
    ax.set_xlabel(_age_label(period, lang))
    ax.set_ylabel(_metric_label(metric, lang, currency))
    key = "plot.title.retention_curves" if metric == "retention" else "plot.title.ltv_curves"
    _notes(ax, title or text(key, lang, period=text(f"period.{period}.adj", lang)), note)
    _integer_ticks(ax.xaxis)
    if metric == "retention":
        ax.yaxis.set_major_formatter(_percent())
    ax.grid(alpha=0.3)
    _legend_outside(ax, ncol=2 if len(frame) > 12 else 1)
    return ax


def ltv_curves(frame: pd.DataFrame, average: pd.Series | None = None, margin: bool = False,
               **kwargs: Any) -> Any:
    """Historical LTV curves (cumulative revenue, or margin with ``margin=True``, per
    cohort customer by age): :func:`cohort_curves` with the LTV axis words."""
    return cohort_curves(frame, average=average, metric="margin" if margin else "ltv", **kwargs)


# --------------------------------------------------------------------------- retention
@_cjk_aware
def retention_curves(rate: pd.Series | pd.DataFrame, kind: str = "n-day", by: str | None = None,
                     ax: Any = None, lang: str = "en", title: str | None = None) -> Any:
    """Retention rate by day (or day range), one line per group.

    Parameters
    ----------
    rate : pandas.Series or DataFrame
        ``RetentionTable.rate``: indexed by day (or a closed IntervalIndex of day
        ranges for ``kind="bracket"``), one column per group when split.
    kind : {"n-day", "unbounded", "bracket"}
    by : str, optional
        Legend title (the channel column).
    """
    if not isinstance(rate, (pd.Series, pd.DataFrame)):
        raise TypeError("retention_curves() takes a retention rate Series or DataFrame "
                        "(RetentionTable.rate); for a CohortTable use ct.plot('retention') or "
                        f"cohort_curves(ct.retention); got {type(rate).__name__}")
    ax = _axes(ax)
    frame = rate.to_frame(text("plot.legend.all", lang)) if isinstance(rate, pd.Series) else rate
    if kind == "bracket":
        x = np.arange(len(frame))
        ax.set_xticks(x)
        ax.set_xticklabels([f"{iv.left}-{iv.right}" for iv in frame.index])
        ax.set_xlabel(text("plot.x.day_range", lang))
    else:
        x = frame.index.to_numpy()
        ax.set_xlabel(text("plot.x.days", lang))
        _integer_ticks(ax.xaxis)
    for col in frame.columns:
        ax.plot(x, frame[col].to_numpy(dtype=float), marker="o" if len(x) <= 20 else None,
                label=str(col))
    ax.set_ylabel(text("plot.y.retention_rate", lang))
    _notes(ax, title or text(f"plot.title.retention.{kind}", lang), None)
    ax.grid(alpha=0.3)
    ax.yaxis.set_major_formatter(_percent())
    if frame.shape[1] > 1:
        _legend_outside(ax, title=by)
    return ax


@_cjk_aware
def survival_curve(tables: pd.DataFrame | Mapping[Any, pd.DataFrame], churn_after: float,
                   by: str | None = None, ax: Any = None, bands: bool = True,
                   lang: str = "en", title: str | None = None) -> Any:
    """Kaplan–Meier step curve(s) with confidence bands.

    Parameters
    ----------
    tables : DataFrame or mapping label -> DataFrame
        Kaplan–Meier tables with columns ``time, survival, lower, upper``
        (``SurvivalCurve.table``, or one per group).
    churn_after : float
        Days of inactivity counted as churn (in the title).
    """
    ax = _axes(ax)
    items = [(None, tables)] if isinstance(tables, pd.DataFrame) else list(tables.items())
    for label, tab in items:
        t = tab["time"].to_numpy()
        line, = ax.step(t, tab["survival"].to_numpy(), where="post",
                        label=text("plot.legend.all", lang) if label is None else str(label))
        if bands:
            ax.fill_between(t, tab["lower"].to_numpy(), tab["upper"].to_numpy(), step="post",
                            alpha=0.25, color=line.get_color())
    ax.set_xlabel(text("plot.x.days", lang))
    ax.set_ylabel(text("plot.y.survival", lang))
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(_percent())
    _integer_ticks(ax.xaxis)
    _notes(ax, title or text("plot.title.survival", lang, d=f"{churn_after:g}"), None)
    ax.grid(alpha=0.3)
    if len(items) > 1:
        _legend_outside(ax, title=by)
    return ax


@_cjk_aware
def repurchase_rates(rate: pd.DataFrame, period: str = "M", ax: Any = None,
                     max_ticks: int = 20, lang: str = "en", title: str | None = None) -> Any:
    """Repurchase rate by cohort (rows of ``rate``), one line per window (columns, days)."""
    max_ticks = _count(max_ticks, "max_ticks", 1, 10**4)
    ax = _axes(ax)
    labels = _row_labels(rate.index, lang)
    x = np.arange(len(labels))
    for k in rate.columns:
        ax.plot(x, rate[k].to_numpy(dtype=float), marker="o", ms=3,
                label=text("plot.legend.within", lang, k=int(k)))
    _thin_ticks(ax, "x", labels, max_ticks)
    for t in ax.get_xticklabels():
        t.set_rotation(45)
        t.set_horizontalalignment("right")
    ax.set_xlabel(text("word.cohort", lang))
    ax.set_ylabel(text("plot.y.repurchase", lang))
    ax.yaxis.set_major_formatter(_percent())
    _notes(ax, title or text("plot.title.repurchase", lang,
                             period=text(f"period.{period}.adj", lang)), None)
    ax.grid(alpha=0.3)
    _legend_outside(ax)
    return ax


@_cjk_aware
def interpurchase_histogram(gaps: Any, median: float | None = None, ax: Any = None,
                            bins: int = 50, lang: str = "en", title: str | None = None) -> Any:
    """Histogram of inter-purchase gaps (days) with the median marked."""
    bins = _count(bins, "bins", 1, 10**5)
    ax = _axes(ax)
    gaps = np.asarray(gaps)
    if gaps.size:
        ax.hist(gaps, bins=bins, color="#4c72b0", alpha=0.85)
        med = float(np.median(gaps)) if median is None else float(median)
        ax.axvline(med, color="black", ls="--", label=text("plot.legend.median", lang, m=f"{med:g}"))
        _legend_outside(ax)
    ax.set_xlabel(text("plot.x.gap", lang))
    ax.set_ylabel(text("plot.y.gaps", lang))
    _notes(ax, title or text("plot.title.interpurchase", lang), None)
    return ax


# --------------------------------------------------------------------------- segments, money
@_cjk_aware
def share_bars(summary: pd.DataFrame, title: str, ax: Any = None, lang: str = "en") -> Any:
    """Share of customers (and of revenue, when a ``revenue_share`` column exists) per
    segment (index of ``summary``, e.g. ``siyu.stage_summary(...)``)."""
    ax = _axes(ax, (8.0, 3.6))
    labels = [str(x) for x in summary.index]
    x = np.arange(len(labels))
    ax.bar(x - 0.2, summary["share"].to_numpy(dtype=float), width=0.4, color="#457b9d",
           label=text("plot.legend.customer_share", lang))
    if "revenue_share" in summary:
        ax.bar(x + 0.2, summary["revenue_share"].to_numpy(dtype=float), width=0.4,
               color="#e76f51", label=text("plot.legend.revenue_share", lang))
    ax.set_xticks(x)
    ax.set_xticklabels(labels)
    ax.yaxis.set_major_formatter(_percent())
    _notes(ax, title, None)
    ax.grid(axis="y", alpha=0.3)
    _legend_outside(ax)
    return ax


@_cjk_aware
def cac_ltv(rows: pd.DataFrame, horizon: int, period: str = "M", ax: Any = None,
            max_ticks: int = 20, lang: str = "en", currency: str | None = None,
            title: str | None = None) -> Any:
    """CAC (dashed) and LTV per acquisition cohort, one colour per channel.

    ``rows``: :func:`siyu.unit_economics` rows (no total, no existing row), indexed
    by cohort or (channel, cohort), with ``cac``, ``ltv``, ``ltv_to_date`` and
    ``complete``.  Complete cohorts show their LTV over the horizon (solid line);
    younger cohorts their LTV to date as separate hollow markers -- not joined to the
    line, since fewer periods of value are not a drop in value.
    """
    max_ticks = _count(max_ticks, "max_ticks", 1, 10**4)
    ax = _axes(ax, (9.0, 4.8))
    if isinstance(rows.index, pd.MultiIndex):
        groups = [(str(g), rows.xs(g, level=0, drop_level=True))
                  for g in pd.unique(rows.index.get_level_values(0))]
    else:
        groups = [(None, rows)]
    cohorts = sorted({str(c) for _, r in groups for c in r.index})
    pos = {c: i for i, c in enumerate(cohorts)}
    palette = ["#1d3557", "#e76f51", "#2a9d8f", "#e9c46a", "#8d5fd3", "#6c757d"]
    plabel = text(f"period.{period}.plural", lang)
    for i, (g, r) in enumerate(groups):
        x = np.array([pos[str(c)] for c in r.index])
        color = palette[i % len(palette)]
        prefix = "" if g is None else f"{g}: "
        done = r["complete"].to_numpy(dtype=bool)
        ltv = np.where(done, r["ltv"].to_numpy(dtype=float), np.nan)
        ax.plot(x, ltv, marker="o", ms=3, color=color,
                label=prefix + text("plot.legend.ltv_h", lang, h=horizon, periods=plabel))
        young = ~done & np.isfinite(r["ltv_to_date"].to_numpy(dtype=float))
        if young.any():
            ax.plot(x[young], r["ltv_to_date"].to_numpy(dtype=float)[young], ls="none",
                    marker="o", ms=4, mfc="none", mec=color, gid="partial",
                    label=prefix + text("plot.legend.ltv_to_date", lang))
        ax.plot(x, r["cac"].to_numpy(dtype=float), ls="--", color=color,
                label=prefix + text("plot.legend.cac", lang))
    _thin_ticks(ax, "x", cohorts, max_ticks)
    for t in ax.get_xticklabels():
        t.set_rotation(45)
        t.set_horizontalalignment("right")
    ax.set_xlabel(text("word.cohort", lang))
    ax.set_ylabel(_money(text("plot.y.per_customer", lang), currency, lang))
    _notes(ax, title or text("plot.title.cac_ltv", lang,
                             period=text(f"period.{period}.adj", lang)), None)
    ax.grid(alpha=0.3)
    _legend_outside(ax)
    return ax


# ---- model diagnostics (siyu.model_plots) ---------------------------------------------
from siyu.model_plots import (plot_calibration_vs_holdout, plot_frequency_recency_matrix,  # noqa: E402
                              plot_period_transactions, plot_prediction_interval,
                              plot_probability_alive_history, plot_probability_alive_matrix,
                              plot_tracking)

__all__ += ["plot_tracking", "plot_period_transactions", "plot_calibration_vs_holdout",
            "plot_frequency_recency_matrix", "plot_probability_alive_matrix",
            "plot_probability_alive_history", "plot_prediction_interval"]
