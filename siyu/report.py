"""One self-contained HTML report of a transaction log.

:func:`build_report` runs the standard analyses of siyu on a
:class:`~siyu.Transactions` log -- acquisition cohorts, retention, survival,
repurchase, lifecycle stages, value tiers and (with acquisition spend) unit
economics -- and returns a single HTML page.  The numbers and words are prepared
here, in Python; the markup lives in jinja2 templates (``siyu/templates/``: the page,
one include per section, shared macros).  Plots are drawn with matplotlib's Agg
canvas and embedded as base64 ``data:`` URIs; styles are inline; the page has no
scripts and references no external resource, so it opens offline and can be mailed
as one file.  :func:`write_report` writes it to disk; ``python -m siyu report`` is the
command-line front end.

Every section has a stable ``id`` (see :data:`SECTION_IDS`) so that links such as
``report.html#repurchase`` keep working.  Every word comes from the text catalogue
(``siyu._i18n``): English by default, Chinese with ``lang="zh"`` (plots too, with a
CJK font; without one the page says which font to install and the plots use English).

Honest tables (DESIGN.md 2b'): partial last periods are hatched and left out of
averages, the averages are balanced (the same cohorts at every age, their number
stated), ``existing_before`` keeps customers acquired before the log out of the
cohorts, and a first cohort that looks like them is flagged at the top of the page.
"""
from __future__ import annotations

import base64
import datetime as _dt
import io
import math
import os
import sys
import time
import warnings
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import pandas as pd

from siyu import _input as inp
from siyu import _periods as per
from siyu._periods import show as _show
from siyu._i18n import CATALOGUE, check_lang, text

if TYPE_CHECKING:  # pragma: no cover
    from siyu.transactions import Transactions

__all__ = ["SECTION_IDS", "build_report", "write_report"]

#: Section ids of the report, in page order (``data`` only with ``data_quality``,
#: ``unit-economics`` only with spend, ``channels`` only when the log has a channel
#: column).
SECTION_IDS: tuple[str, ...] = ("overview", "data", "cohorts", "retention", "survival",
                                "repurchase", "lifecycle", "value-tiers", "contact",
                                "unit-economics", "channels", "definitions")

#: A progress callback: ``progress(step, index, total, seconds)``; called with
#: ``seconds=None`` when a step starts and with its duration when it ends.
Progress = Callable[[str, int, int, "float | None"], None]

MAX_CHANNELS = 20           # more distinct channels than this: keep the top ones + other
_MAX_TABLE_COHORTS = 36     # rows of cohort tables shown in HTML (latest cohorts)
_MAX_TABLE_AGES = 37        # ages 0..36
_BRACKETS = [(1, 30), (31, 90), (91, 180), (181, 365)]
_SURVIVAL_DAYS = (30, 90, 180, 365)

# Definitions table: (term key, definition key, siyu API): siyu's own metrics next to the
# operators' metrics with similar names, so nobody confuses them.
_DEFINITIONS = (
    ("report.term.purchase", "report.def.purchase", "Transactions(amount=...)"),
    ("report.term.occasion", "report.def.occasion", "tx.summary()"),
    ("report.term.cohort", "report.def.cohort", "tx.cohorts()"),
    ("report.term.partial", "report.def.partial", "CohortTable.partial"),
    ("report.term.existing", "report.def.existing", "existing_before="),
    ("report.term.balanced", "report.def.balanced", "CohortTable.average(balanced=True)"),
    ("report.term.retention", "report.def.retention", "tx.retention()"),
    ("report.term.repurchase", "report.def.repurchase", "tx.repurchase(within=...)"),
    ("report.term.survival", "report.def.survival", "tx.survival(churn_after=...)"),
    ("report.term.lifecycle", "report.def.lifecycle", "tx.lifecycle()"),
    ("report.term.value_tier", "report.def.value_tier", "tx.value_tiers()"),
    ("report.term.cac_ltv", "report.def.cac_ltv", "siyu.unit_economics()"),
    ("report.term.repeat_rate", "def.repeat_rate", "tx.repeat_rate(start, end)"),
    ("report.term.return_rate", "def.return_rate", "tx.return_rate(period)"),
    ("report.term.new_customer_repeat_rate", "def.new_customer_repeat_rate",
     "tx.new_customer_repeat_rate(period, within)"),
    ("report.term.rfm8", "def.rfm8", "tx.rfm(scheme=\"8\")"),
    ("report.term.rfm_matrix", "def.rfm_matrix", "tx.rfm_matrix(rows, cols)"),
)


# --------------------------------------------------------------------------- formatting
def _pct(x: Any) -> str:
    return "" if x is None or not np.isfinite(x) else f"{x:.1%}"


def _num(x: Any, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    if isinstance(x, float) and math.isinf(x):
        return "∞"
    return f"{x:,.{digits}f}"


def _int(x: Any) -> str:
    return "" if x is None or (isinstance(x, float) and not np.isfinite(x)) else f"{int(x):,}"


def _text_of(x: Any) -> str:
    return _num(x) if isinstance(x, float) else str(x)


def _figure(width: float = 9.0, height: float = 4.5, left: float = 0.9,
            bottom: float = 0.6, right: float = 0.25, top: float = 0.45) -> tuple[Any, Any]:
    """A matplotlib Figure on an Agg canvas (never pyplot: no global state).

    Margins are fixed (inches) rather than computed by ``tight_layout``, which would
    draw every figure twice; ``right`` leaves room for a legend outside the axes.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=left / width, right=1 - right / width, bottom=bottom / height,
                        top=1 - top / height)
    return fig, fig.add_subplot(1, 1, 1)


def _image(fig: Any, alt: str, fmt: str) -> dict[str, Any]:
    """Render ``fig`` (PNG, or SVG with text kept as text) into an image block."""
    buf = io.BytesIO()
    if fmt == "svg":
        import matplotlib

        # text kept as text; no date and fixed clip-path ids: the same plot, the same SVG
        with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "siyu"}):
            fig.savefig(buf, format="svg", metadata={"Date": None})
        mime = "image/svg+xml"
    else:
        fig.savefig(buf, format="png", dpi=100)
        mime = "image/png"
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return {"kind": "image", "alt": alt, "src": f"data:{mime};base64,{data}"}


def _note(msg: str, level: str = "note") -> dict[str, Any]:
    return {"kind": "note", "text": msg, "level": level}


def _table(df: pd.DataFrame, formats: dict[str, Callable[[Any], str]], table_id: str,
           index_label: str, headers: dict[str, str] | None = None,
           classes: list[str] | None = None, text_cells: bool = False) -> dict[str, Any]:
    """A table block: header labels, row labels and formatted cells (escaped by jinja)."""
    headers = headers or {}
    columns = [index_label] + [headers.get(str(c), str(c)) for c in df.columns]
    rows = []
    for i, (key, rec) in enumerate(zip(df.index, df.itertuples(index=False))):
        label = " · ".join(map(str, key)) if isinstance(key, tuple) else str(key)
        cells = [formats.get(str(c), _text_of)(v) for c, v in zip(df.columns, rec)]
        rows.append({"label": label, "cells": cells, "cls": classes[i] if classes else ""})
    return {"kind": "table", "id": table_id, "columns": columns, "rows": rows,
            "text_cells": text_cells, "code_last": False}


def _check_spend(spend: Any, channel: str | None) -> pd.DataFrame | None:
    """Fail before any work when spend cannot be used (the full check is
    :func:`siyu.unit_economics`'s)."""
    if spend is None:
        return None
    if not isinstance(spend, pd.DataFrame):
        raise TypeError("spend must be a DataFrame with columns 'period' and 'amount' (and the "
                        f"channel column when splitting by channel); got {type(spend).__name__}")
    need = ["period", "amount"] + ([channel] if channel else [])
    missing = [c for c in need if c not in spend.columns]
    if missing:
        raise ValueError(f"spend is missing column(s) {missing}; it needs {need} "
                         f"(got {list(spend.columns)})")
    return spend


def _environment() -> Any:
    try:
        import jinja2
    except ImportError:
        raise ImportError("the siyu HTML report is rendered with jinja2, which is not "
                          "installed; install it with: pip install \"siyu[plot]\"") from None
    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")
    return jinja2.Environment(loader=jinja2.FileSystemLoader(folder),
                              autoescape=jinja2.select_autoescape(["html", "j2"],
                                                                  default_for_string=True),
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


# --------------------------------------------------------------------------- channels
def top_channels(tx: "Transactions", top: int, lang: str,
                 max_channels: int = MAX_CHANNELS) -> tuple["Transactions", dict | None]:
    """``tx`` with its channel column cut to the ``top`` acquisition channels (by
    customers) plus ``other``, when it has more than ``max_channels`` distinct values.

    Returns the (possibly new) log and None, or a summary dict (``n_channels``,
    ``kept``, ``n_other_customers``, ``other`` label) when channels were grouped.
    The input is never modified.
    """
    from siyu.transactions import Transactions

    log = getattr(tx, "_log", None)
    if not isinstance(tx, Transactions) or log.channel is None \
            or len(log.channel_labels) <= max(max_channels, top):
        return tx, None
    acq = per.acquisition(tx, int(log.day.max()), log.names.get("channel") or "channel")
    counts = np.bincount(acq.group[acq.group >= 0], minlength=len(log.channel_labels))
    n_present = int((counts > 0).sum())
    if n_present <= max(max_channels, top):
        return tx, None
    order = np.argsort(-counts, kind="stable")[:top]
    other = text("word.other", lang)
    labels = [str(log.channel_labels[c]) for c in order]
    while other in labels:
        other = other + "*"
    new_tx = tx.lump_channels(labels, other=other)
    info = {"n_channels": n_present, "kept": len(order), "other": other,
            "n_other_customers": int(counts.sum() - counts[order].sum()),
            "labels": labels}
    return new_tx, info


# --------------------------------------------------------------------------- chart worker
_REPORT_RC = {"font.size": 9}
_QUIET_FONT_WARNINGS = ("Glyph .* missing from font", "no font with Chinese glyphs")


def _worker_start() -> None:
    """In the chart worker: Ctrl-C is the parent's to handle (it stops the worker), and
    SIGTERM ends the worker whatever handler the parent had installed (a forked child
    inherits them)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _worker_warm() -> None:
    """matplotlib's drawing modules, loaded while the report computes its first section."""
    import matplotlib  # noqa: F401
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401
    from matplotlib.figure import Figure  # noqa: F401


def _draw(deferred: Any, alt: str, fmt: str) -> tuple[dict[str, Any], list[tuple[str, type]]]:
    """One chart, drawn as the report draws it inline: the image block and the warnings
    the drawing gave (the report's own font warnings left out)."""
    import matplotlib

    from siyu import plotting

    with matplotlib.rc_context(_REPORT_RC), warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        for message in _QUIET_FONT_WARNINGS:
            warnings.filterwarnings("ignore", message=message)
        fig, ax = _figure(**deferred.figure)
        plotting.draw_deferred(deferred, ax)
        img = _image(fig, alt, fmt)
    return img, [(str(w.message), w.category) for w in seen]


class _Charts:
    """The report's charts, drawn by one forked worker process while the report computes
    its next sections (Linux, big logs: drawing is single-threaded Python, the sections'
    kernels leave a core free).  A chart whose worker died is drawn here instead; an
    error of the drawing itself is raised here, as it would be inline."""

    def __init__(self) -> None:
        import concurrent.futures
        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        before = {p.pid for p in multiprocessing.active_children()}
        with warnings.catch_warnings():   # Python >= 3.12 warns of fork with threads
            warnings.simplefilter("ignore", DeprecationWarning)
            self.pool = concurrent.futures.ProcessPoolExecutor(1, mp_context=ctx,
                                                               initializer=_worker_start)
            self.pool.submit(_worker_warm)
        self.procs = [p for p in multiprocessing.active_children() if p.pid not in before]
        self.pending: list[tuple[Any, dict[str, Any], Any, str, str]] = []

    def submit(self, deferred: Any, alt: str, fmt: str) -> dict[str, Any]:
        from concurrent.futures.process import BrokenProcessPool

        block = {"kind": "image", "alt": alt, "src": ""}
        try:
            fut = self.pool.submit(_draw, deferred, alt, fmt)
        except (BrokenProcessPool, RuntimeError):             # the worker is gone
            self._fill(block, *_draw(deferred, alt, fmt))
            return block
        self.pending.append((fut, block, deferred, alt, fmt))
        return block

    @staticmethod
    def _fill(block: dict[str, Any], img: dict[str, Any], seen: list[tuple[str, type]]) -> None:
        block["src"] = img["src"]
        for message, category in seen:
            warnings.warn(message, category, stacklevel=3)

    def finish(self) -> None:
        """Wait for the charts and put them in their blocks; warnings are warned here."""
        from concurrent.futures.process import BrokenProcessPool

        for fut, block, deferred, alt, fmt in self.pending:
            try:
                img, seen = fut.result()
            except (BrokenProcessPool, OSError, EOFError):     # the worker is gone
                img, seen = _draw(deferred, alt, fmt)
            self._fill(block, img, seen)
        self.pending = []
        self.pool.shutdown(wait=True)

    def stop(self) -> None:
        """Leave at once (an error or Ctrl-C in the report): the worker is terminated."""
        for p in self.procs:
            if p.is_alive():
                p.terminate()
        for p in self.procs:
            p.join(1.0)
            if p.is_alive():          # still there: no more asking
                p.kill()
                p.join(1.0)
        self.pool.shutdown(wait=False, cancel_futures=True)


def _fork_charts() -> bool:
    """Whether charts can be drawn by a forked worker here (Linux with fork)."""
    import multiprocessing

    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


# --------------------------------------------------------------------------- report
class _Report:
    def __init__(self, tx: "Transactions", spend: pd.DataFrame | None, period: str, lang: str,
                 title: str | None, churn_after: float, margin: float, horizon: int,
                 progress: Progress | None, currency: str | None, existing_before: Any,
                 top: int, plot_format: str, data_quality: pd.DataFrame | None,
                 recall_csv: str | None = None, background_charts: bool = False) -> None:
        from siyu import plotting

        self.tx = tx
        self.spend = spend
        self.period = period
        self.lang = lang
        self.title = title
        self.churn_after = churn_after
        self.margin = margin
        self.horizon = horizon
        self.progress = progress
        self.currency = currency
        self.existing_before = existing_before
        self.top = top
        self.plot_format = plot_format
        self.data_quality = data_quality
        self.recall_csv = recall_csv
        self.background_charts = background_charts
        self.charts: _Charts | None = None
        self.channel = tx._log.names.get("channel") if tx._log.channel is not None else None
        if self.channel is None and tx._log.channel is not None:
            self.channel = "channel"
        self.font = plotting.find_cjk_font() if lang == "zh" else None
        self.plot_lang = "zh" if (lang == "zh" and self.font is not None) else "en"
        self.timings: dict[str, float] = {}
        from siyu.transactions import Transactions
        self.native = isinstance(tx, Transactions)
        self.notes: list[dict[str, Any]] = []
        self.channel_info: dict | None = None
        self.suspect: str | None = None

    # ------------------------------------------------------------------ words
    def t(self, key: str, **fmt: Any) -> str:
        return text(key, self.lang, **fmt)

    def money(self, label: str) -> str:
        return label + text("money.suffix", self.lang, currency=self.currency) \
            if self.currency else label

    def pname(self, form: str = "") -> str:
        return self.t(f"period.{self.period}{form}")

    def figure(self, width: float = 9.0, height: float = 4.5, **margins: float) -> tuple[Any, Any]:
        """A figure and its Axes (see :func:`_figure`), or -- charts drawn by the worker --
        a DeferredAxes standing for both, which records the plot call."""
        if self.charts is not None:
            from siyu import plotting

            d = plotting.DeferredAxes(width=width, height=height, **margins)
            return d, d
        return _figure(width, height, **margins)

    def image(self, fig: Any, alt: str) -> dict[str, Any]:
        if self.charts is not None:
            from siyu import plotting

            if isinstance(fig, plotting.DeferredAxes):
                return self.charts.submit(fig, alt, self.plot_format)
        return _image(fig, alt, self.plot_format)

    def section(self, sid: str, title_key: str, blocks: list[dict[str, Any]],
                lead: str | None = None) -> dict[str, Any]:
        return {"id": sid, "title": self.t(title_key), "lead": lead, "blocks": blocks,
                "template": f"sections/{sid}.html.j2"}

    # ------------------------------------------------------------------ running
    def steps(self) -> list[tuple[str, Callable[[], dict[str, Any]]]]:
        s: list[tuple[str, Callable[[], dict[str, Any]]]] = [
            ("cohorts", self.cohorts), ("retention", self.retention),
            ("survival", self.survival), ("repurchase", self.repurchase),
            ("lifecycle", self.lifecycle), ("value tiers", self.value_tiers)]
        if self.native:
            s.append(("contact", self.contact))
        if self.spend is not None:
            s.append(("unit economics", self.unit_economics))
        if self.channel is not None:
            s.append(("channels", self.channels))
        return s

    def run(self) -> str:
        try:
            import matplotlib
        except ImportError:
            raise ImportError("the siyu HTML report draws its plots with matplotlib, which is "
                              "not installed; install it with: pip install \"siyu[plot]\"") from None
        env = _environment()
        if self.channel is not None:
            self.tx, self.channel_info = top_channels(self.tx, self.top, self.lang)
            if self.channel_info is not None and self.spend is not None:
                self.spend = self._lump_spend(self.spend)
        steps = self.steps()
        total = len(steps) + 1
        sections = []
        if self.background_charts and _fork_charts():
            self.charts = _Charts()
        try:
            with matplotlib.rc_context(_REPORT_RC), warnings.catch_warnings(record=True) as seen:
                warnings.simplefilter("always", per.ExistingCustomersWarning)
                # labels such as 公域/私域 without a CJK font: the HTML tables show them right
                for message in _QUIET_FONT_WARNINGS:
                    warnings.filterwarnings("ignore", message=message)
                for i, (name, fn) in enumerate(steps, start=1):
                    sections.append(self._timed(name, i, total, fn))
                overview = self._timed("overview", total, total, self.overview)
                if self.charts is not None:
                    self.charts.finish()
        except BaseException:
            if self.charts is not None:
                self.charts.stop()
            raise
        finally:
            self.charts = None
        for w in seen:           # anything else that was warned stays visible to the caller
            if not issubclass(w.category, per.ExistingCustomersWarning):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        head = [overview]
        if self.data_quality is not None:
            head.append(self.data())
        return self.page(env, head + sections + [self.definitions()])

    def _timed(self, name: str, i: int, total: int, fn: Callable[[], Any]) -> Any:
        if self.progress is not None:
            self.progress(name, i, total, None)
        t0 = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t0
        self.timings[name] = dt
        if self.progress is not None:
            self.progress(name, i, total, dt)
        return out

    def _lump_spend(self, spend: pd.DataFrame) -> pd.DataFrame:
        info = self.channel_info
        col = self.channel
        kept = set(info["labels"])
        lab = spend[col].astype(object).where(spend[col].notna(), text("word.missing", "en"))
        out = spend.copy()
        out[col] = [x if str(x) in kept else info["other"] for x in lab]
        return out

    # ------------------------------------------------------------------ overview
    def overview(self) -> dict[str, Any]:
        tx, t = self.tx, self.t
        lc = self._lifecycle_frame
        n_buyers = len(lc)
        repeat = (lc["occasions"] >= 2).mean() if n_buyers else float("nan")
        repeat = float(repeat.compute() if hasattr(repeat, "compute") else repeat)  # Dask log
        kpis = [(t("report.kpi.rows"), _int(tx.n_rows)),
                (t("report.kpi.customers"), _int(tx.n_customers)),
                (t("report.kpi.first_day"), str(tx.start.date())),
                (t("report.kpi.last_day"), str(tx.end.date())),
                (t("report.kpi.repeat_share"), _pct(repeat))]
        if tx.has_amount:
            rev = float(tx._log.amount.sum())
            kpis.append((self.money(t("report.kpi.revenue")), _num(rev, 0)))
            if n_buyers:
                kpis.append((self.money(t("report.kpi.rev_per_customer")), _num(rev / n_buyers)))
        names = tx._log.names
        roles = ", ".join(f"{self._role(k)} = {v}" for k, v in names.items() if v)
        note = t("report.columns_note", columns=roles, period=self.pname())
        return self.section("overview", "report.section.overview",
                            [{"kind": "kpis", "items": [{"label": k, "value": v}
                                                        for k, v in kpis]}, _note(note)])

    def _role(self, key: str) -> str:
        k = f"report.role.{key}"
        return self.t(k) if k in CATALOGUE else key

    def data(self) -> dict[str, Any]:
        dq = self.data_quality
        # rows labelled by their description (the rule keys are English identifiers)
        rows = dq.set_index("description")[["count"]] if "description" in dq.columns \
            else dq[["count"]]
        table = _table(rows, {"count": _int}, "data-table", self.t("report.col.description"),
                       {"count": self.t("report.col.count")})
        return self.section("data", "report.section.data", [table],
                            self.t("report.lead.data"))

    # ------------------------------------------------------------------ cohorts
    def cohorts(self) -> dict[str, Any]:
        t = self.t
        ct = self.tx.cohorts(period=self.period, existing_before=self.existing_before)
        self._ct = ct
        if ct.suspect_existing:
            self.suspect = ct.suspect_existing
            self.notes.append(_note(t("report.note.suspect", first=str(ct.sizes.index[0]),
                                      n=f"{int(ct.sizes.iloc[0]):,}",
                                      day=self._suggest_existing(ct)), "warn"))
        n_c, n_a = ct.active.shape
        n_rows = n_c + (len(ct.existing.sizes) if ct.existing is not None else 0)
        fig, ax = self.figure(10.0, max(3.5, min(12.0, 0.22 * n_rows + 1.8)), left=1.7, right=1.3)
        ct.plot("heatmap", "retention", ax=ax, annot=n_rows * n_a <= 400, lang=self.plot_lang)
        blocks: list[dict[str, Any]] = [self.image(fig, t("report.section.cohorts"))]
        shown, note = ct, None
        if n_c > _MAX_TABLE_COHORTS or n_a > _MAX_TABLE_AGES:
            shown = ct.subset(slice(max(n_c - _MAX_TABLE_COHORTS, 0), n_c),
                              min(n_a, _MAX_TABLE_AGES))
            note = t("report.note.cohort_cut", shown=len(shown.sizes), total=n_c,
                     ages=min(n_a, _MAX_TABLE_AGES) - 1)
        blocks.append(self._cohort_table(shown, "cohort-table"))
        if note:
            blocks.append(_note(note))
        pnote = ct.partial_note(self.lang)
        if pnote:
            blocks.append(_note(t("report.note.partial", note=pnote)))
        if ct.existing is not None:
            blocks.append(_note(t("report.note.existing", n=f"{ct.n_existing:,}",
                                  day=str(ct.existing_before.date()))))
        blocks += self._averages(ct)
        lead = t("report.lead.cohorts", period=self.pname(), periods=self.pname(".plural"))
        return self.section("cohorts", "report.section.cohorts", blocks, lead)

    def _suggest_existing(self, ct: Any) -> str:
        first = ct.sizes.index[0]
        first = first[-1] if isinstance(first, tuple) else first
        return str((first + 1).start_time.date())

    def _cohort_table(self, ct: Any, table_id: str) -> dict[str, Any]:
        rows = ct.html_cells("retention")
        for r in rows:
            if r["existing"]:
                r["keys"] = r["keys"][:-1] + [self.t("cohorts.existing")]
        names = [self.t("word.cohort") if n == "cohort" else str(n)
                 for n in ct.active.index.names] + [self.t("word.size")]
        return {"kind": "cohort_table", "id": table_id, "rows": rows,
                "columns": names + [str(c) for c in range(ct.n_ages_shown)],
                "partial_title": ct.partial_note(self.lang) or ""}

    def _averages(self, ct: Any) -> list[dict[str, Any]]:
        t = self.t
        avg = ct.average("retention")
        k = avg.attrs["through"]
        if k is None:
            return [_note(t("report.note.no_average"))]
        cohorts = avg.attrs["cohorts"]
        span = cohorts[0] if len(cohorts) == 1 else f"{cohorts[0]} – {cohorts[-1]}"
        ages = list(range(k + 1))
        label = t("report.avg.retention", n=len(cohorts), span=span)
        rows = [(label, [_pct(avg[a]) for a in ages]),
                (t("report.avg.customers"), [_int(avg.attrs["n_customers"][a]) for a in ages])]
        table = {"kind": "table", "id": "cohort-average", "text_cells": False, "code_last": False,
                 "columns": [t("word.age")] + [str(a) for a in ages],
                 "rows": [{"label": name, "cells": c, "cls": ""} for name, c in rows]}
        out = [table]
        if self.tx.has_amount:
            ltv = ct.average("ltv", through=k)
            out.append({"kind": "table", "id": "cohort-ltv", "text_cells": False, "code_last": False,
                        "columns": [t("word.age")] + [str(a) for a in ages],
                        "rows": [{"label": self.money(t("report.avg.ltv", n=len(cohorts))),
                                  "cells": [_num(ltv[a]) for a in ages], "cls": ""}]})
        out.append(_note(t("report.note.balanced", n=len(cohorts), k=k, span=span)))
        return out

    # ------------------------------------------------------------------ retention
    def retention(self) -> dict[str, Any]:
        t = self.t
        fig, ax = self.figure(9.0, 4.5, right=2.4)
        self._ct.plot("retention", ax=ax, max_lines=12, lang=self.plot_lang)
        img = self.image(fig, t("report.section.retention"))
        br = self.tx.retention(kind="bracket", brackets=_BRACKETS,
                               existing_before=self.existing_before)
        tab = br.table[["eligible", "retained", "rate"]].copy()
        if isinstance(tab.index, pd.MultiIndex):
            tab.index = [f"{g} · {iv.left}-{iv.right}" for g, iv in tab.index]
        else:
            tab.index = [f"{iv.left}-{iv.right}" for iv in tab.index]
        fm = {"eligible": _int, "retained": _int, "rate": _pct}
        table = _table(tab, fm, "retention-table", t("report.col.bracket"), self._headers())
        blocks = [img, table]
        if br.n_existing:
            blocks.append(_note(t("report.note.existing_excluded", n=f"{br.n_existing:,}")))
        return self.section("retention", "report.section.retention", blocks,
                            t("report.lead.retention"))

    def _headers(self) -> dict[str, str]:
        cols = ("customers", "share", "revenue", "revenue_share", "mean_days_since_last",
                "eligible", "repurchased", "retained", "rate", "new_customers", "spend", "cac",
                "ltv", "ltv_to_date", "ltv_cac", "payback_periods", "orders_per_customer",
                "cost_per_order", "observed_periods", "repurchase_rate",
                "annual_spend_per_customer", "existing_customers")
        money = {"revenue", "spend", "cac", "ltv", "ltv_to_date", "cost_per_order",
                 "annual_spend_per_customer"}
        out = {c: self.t(f"report.col.{c}") for c in cols}
        for c in money:
            out[c] = self.money(out[c])
        out["payback_periods"] = self.t("report.col.payback_periods",
                                        periods=self.pname(".plural"))
        for age in (1, 3, 6, 12):
            out[f"retention_m{age}"] = self.t("report.col.retention_m", k=age)
        return out

    # ------------------------------------------------------------------ survival
    def survival(self) -> dict[str, Any]:
        t = self.t
        by = self.channel
        sc = self.tx.survival(churn_after=self.churn_after, by=by,
                              existing_before=self.existing_before)
        fig, ax = self.figure(9.0, 4.5, right=2.4 if by else 0.25)
        sc.plot(ax=ax, lang=self.plot_lang)
        img = self.image(fig, t("report.section.survival"))
        groups = [None] if by is None else sc.groups
        cols: dict[str, list[str]] = {}

        def med(v: float) -> str:
            return t("report.never") if not np.isfinite(v) else _num(v, 0)

        # a group's customers: at risk at its first time (the durations of a Dask log
        # are on the cluster; the curve's tables are here)
        cols[t("report.col.customers")] = [
            _int(len(sc.durations)) if by is None else
            _int(sc.table.loc[g, "at_risk"].iloc[0]) for g in groups]
        cols[t("report.col.median_life")] = [med(sc.median_ if by is None else sc.median_[g])
                                             for g in groups]
        for d in _SURVIVAL_DAYS:
            s = sc.survival_at(d)
            cols[t("report.col.survival_at", t=d)] = [_pct(s if by is None else s[g])
                                                      for g in groups]
        r = sc.rmst(365)
        cols[t("report.col.rmst")] = [_num(r if by is None else r[g], 1) for g in groups]
        index = [t("word.all_customers")] if by is None else [str(g) for g in groups]
        df = pd.DataFrame(cols, index=index)
        table = _table(df, {c: str for c in df.columns}, "survival-table",
                       t("report.col.group") if by is None else str(by))
        blocks = [img, table]
        if sc.n_existing:
            blocks.append(_note(t("report.note.existing_excluded", n=f"{sc.n_existing:,}")))
        lead = t("report.lead.survival", d=f"{self.churn_after:g}")
        return self.section("survival", "report.section.survival", blocks, lead)

    # ------------------------------------------------------------------ repurchase
    def repurchase(self) -> dict[str, Any]:
        t = self.t
        rp = self.tx.repurchase(within=(30, 90, 180), period=self.period,
                                existing_before=self.existing_before)
        fig, ax = self.figure(9.0, 4.8, bottom=1.1, right=1.6)
        rp.plot(ax=ax, lang=self.plot_lang)
        img = self.image(fig, t("report.section.repurchase"))
        ov = rp.overall.copy()
        if isinstance(ov.index, pd.MultiIndex):
            ov.index = [f"{g} · " + t("plot.legend.within", k=int(k)) for g, k in ov.index]
        else:
            ov.index = [t("plot.legend.within", k=int(k)) for k in ov.index]
        fm = {"eligible": _int, "repurchased": _int, "rate": _pct}
        table = _table(ov[["eligible", "repurchased", "rate"]], fm, "repurchase-table",
                       t("report.col.window"), self._headers())
        blocks = [img, table]
        if rp.n_existing:
            blocks.append(_note(t("report.note.existing_excluded", n=f"{rp.n_existing:,}")))
        return self.section("repurchase", "report.section.repurchase", blocks,
                            t("report.lead.repurchase"))

    # ------------------------------------------------------------------ segments
    def _segment_blocks(self, s: pd.DataFrame, title: str, table_id: str,
                        plot_labels: list[str]) -> list[dict[str, Any]]:
        from siyu import plotting

        fig, ax = self.figure(9.0, 3.6, right=1.7)
        shown = s.copy()
        shown.index = plot_labels
        plotting.share_bars(shown, title, ax=ax, lang=self.plot_lang)
        cols = [c for c in ("customers", "share", "revenue", "revenue_share",
                            "mean_days_since_last") if c in s.columns]
        fm = {"customers": _int, "share": _pct, "revenue": lambda x: _num(x, 0),
              "revenue_share": _pct, "mean_days_since_last": lambda x: _num(x, 1)}
        return [self.image(fig, title), _table(s[cols], fm, table_id, "", self._headers())]

    def _labels_for_plot(self, shown: pd.Index, all_labels: dict[str, tuple[str, ...]]) -> list[str]:
        if self.plot_lang == self.lang:
            return [str(x) for x in shown]
        own = list(all_labels[self.lang])
        return [all_labels[self.plot_lang][own.index(str(x))] if str(x) in own else str(x)
                for x in shown]

    def lifecycle(self) -> dict[str, Any]:
        from siyu.segments import LIFECYCLE_LABELS, stage_summary

        t = self.t
        lc = self.tx.lifecycle(lang=self.lang)
        self._lifecycle_frame = lc
        s = stage_summary(lc)
        blocks = self._segment_blocks(s, t("report.section.lifecycle"), "lifecycle-table",
                                      self._labels_for_plot(s.index, LIFECYCLE_LABELS))
        b1, b2 = lc.attrs["bounds"]
        names = LIFECYCLE_LABELS[self.lang]
        lead = t("report.lead.lifecycle", date=lc.attrs["as_of"].date(), b1=b1, b2=b2,
                 s1=names[0], s2=names[1], s3=names[2])
        return self.section("lifecycle", "report.section.lifecycle", blocks, lead)

    def value_tiers(self) -> dict[str, Any]:
        from siyu.segments import VALUE_TIER_LABELS, stage_summary

        t = self.t
        vt = self.tx.value_tiers(lang=self.lang)
        s = stage_summary(vt)
        if self.tx._log.member is None:       # no members without a member column
            s = s.iloc[:-1]
        if not vt.attrs.get("n_roster"):      # no potential customers without a roster
            s = s.iloc[1:]
        blocks = self._segment_blocks(s, t("report.section.value-tiers"), "value-tiers-table",
                                      self._labels_for_plot(s.index, VALUE_TIER_LABELS))
        lead = t("report.lead.tiers", date=vt.attrs["as_of"].date())
        return self.section("value-tiers", "report.section.value-tiers", blocks, lead)

    def contact(self) -> dict[str, Any]:
        """Who to contact this week (the top of the recall list) and, with line items,
        the replenishment cycles (siyu.actions)."""
        from siyu import actions

        csv = None
        if self.recall_csv is not None:
            csv = actions.write_recall_csv(self.tx, self.recall_csv, lang=self.lang)
        sec = actions.report_section(self.tx, lang=self.lang, csv_path=csv)
        blocks: list[dict[str, Any]] = [_note(sec["value_note"])]
        if sec["csv_note"]:
            blocks.append(_note(sec["csv_note"]))
        contacts = sec["contacts"]
        blocks.append(_table(contacts, {}, "contact-table", str(contacts.index.name or ""),
                             text_cells=True))
        if sec["cycles"] is not None:
            blocks.append({"kind": "heading", "text": sec["cycles_title"]})
            blocks.append(_note(sec["cycles_intro"]))
            cyc = sec["cycles"]
            blocks.append(_table(cyc, {}, "cycles-table", str(cyc.index.name or "")))
        return self.section("contact", "actions.section.title", blocks, sec["intro"])

    # ------------------------------------------------------------------ economics
    def unit_economics(self) -> dict[str, Any]:
        import siyu
        from siyu import plotting

        t = self.t
        ue = siyu.unit_economics(self.tx, self.spend, period=self.period, by=self.channel,
                                 margin=self.margin, horizon=self.horizon,
                                 existing_before=self.existing_before)
        self._ue = ue
        is_cohort = ~ue["existing"].to_numpy(dtype=bool)
        label0 = ue.index.get_level_values(0) if isinstance(ue.index, pd.MultiIndex) else ue.index
        is_cohort &= np.asarray(label0 != "total")
        body_rows = ue[is_cohort]
        fig, ax = self.figure(9.0, 4.8, bottom=1.1, right=2.9)
        plotting.cac_ltv(body_rows, self.horizon, period=self.period, ax=ax,
                         lang=self.plot_lang, currency=self.currency)
        img = self.image(fig, t("report.section.unit-economics"))
        cols = ["new_customers", "spend", "cac", "ltv_to_date", "ltv", "ltv_cac",
                "payback_periods", "orders_per_customer", "cost_per_order"]
        shown = ue[cols]
        blocks: list[dict[str, Any]] = [img]
        cohort = (body_rows.index.get_level_values(-1)
                  if isinstance(body_rows.index, pd.MultiIndex) else body_rows.index)
        latest = sorted(set(cohort))[-_MAX_TABLE_COHORTS:]
        keep = np.ones(len(ue), dtype=bool)
        if len(latest) < len(set(cohort)):
            cl = (ue.index.get_level_values(-1) if isinstance(ue.index, pd.MultiIndex)
                  else ue.index)
            keep = ~is_cohort | np.asarray(cl.isin(latest))
        shown = shown[keep]
        classes = ["existing" if e else "" for e in ue["existing"].to_numpy(dtype=bool)[keep]]
        labels = []
        for key in shown.index:
            parts = list(key) if isinstance(key, tuple) else [key]
            if parts[0] == "total":
                labels.append(t("word.total"))
                continue
            parts = [t("cohorts.existing") if p == "existing" else str(p) for p in parts]
            labels.append(" · ".join(p for p in parts if p))
        shown = shown.copy()
        shown.index = labels
        fm = {"new_customers": _int, "spend": lambda x: _num(x, 0), "cac": _num,
              "ltv_to_date": _num, "ltv": _num, "ltv_cac": _num,
              "payback_periods": lambda x: _num(x, 0), "orders_per_customer": _num,
              "cost_per_order": _num}
        blocks.append(_table(shown, fm, "unit-economics-table", t("word.cohort"),
                             self._headers(), classes))
        if len(latest) < len(set(cohort)):
            blocks.append(_note(t("report.note.ue_cut", shown=len(latest),
                                  total=len(set(cohort)))))
        blocks += self._spend_notes(ue)
        margin = "" if self.margin == 1.0 else t("report.margin_factor", m=f"{self.margin:g}")
        lead = t("report.lead.ue", period=self.pname(), periods=self.pname(".plural"),
                 h=self.horizon, margin=margin)
        return self.section("unit-economics", "report.section.unit-economics", blocks, lead)

    def _spend_notes(self, ue: pd.DataFrame) -> list[dict[str, Any]]:
        t = self.t
        out = []
        outside = ue.attrs.get("spend_outside", [])
        if outside:
            out.append(_note(t("report.note.spend_outside", n=len(outside),
                               periods=", ".join(_fmt_key(k) for k in outside[:12])
                               + (" …" if len(outside) > 12 else "")), "warn"))
        idle = [k for k in ue.attrs.get("no_customers", []) if k not in outside]
        if idle:
            out.append(_note(t("report.note.spend_no_customers", n=len(idle),
                               periods=", ".join(_fmt_key(k) for k in idle[:12])
                               + (" …" if len(idle) > 12 else ""))))
        missing = ue.attrs.get("no_spend_row", [])
        if missing:
            out.append(_note(t("report.note.no_spend_row", n=len(missing),
                               periods=", ".join(_fmt_key(k) for k in missing[:12])
                               + (" …" if len(missing) > 12 else "")), "warn"))
        note = self._ct.partial_note(self.lang) if ue.attrs.get("partial") else None
        if note:
            out.append(_note(t("report.note.ue_partial", note=note)))
        return out

    def channels(self) -> dict[str, Any]:
        import siyu

        t = self.t
        cmp = siyu.compare_channels(self.tx, by=self.channel, horizon=12, margin=self.margin,
                                    existing_before=self.existing_before)
        cols = [c for c in ("customers", "repurchase_rate", "annual_spend_per_customer",
                            "orders_per_customer", "retention_m1", "retention_m3",
                            "retention_m6", "retention_m12", "ltv", "existing_customers")
                if c in cmp.columns]
        fm: dict[str, Callable[[Any], str]] = {"customers": _int, "repurchase_rate": _pct,
                                               "existing_customers": _int}
        fm.update({c: _pct for c in cols if c.startswith("retention_m")})
        headers = self._headers()
        headers["ltv"] = self.money(t("report.col.ltv_12"))
        blocks = [_table(cmp[cols], fm, "channels-table", str(self.channel), headers)]
        return self.section("channels", "report.section.channels", blocks,
                            t("report.lead.channels"))

    def definitions(self) -> dict[str, Any]:
        t = self.t
        rows = []
        for term, key, api in _DEFINITIONS:
            rows.append({"label": t(term), "cells": [t(key), api], "cls": ""})
        table = {"kind": "table", "id": "definitions-table", "text_cells": True, "code_last": True,
                 "columns": [t("report.col.term"), t("report.col.definition"),
                             t("report.col.api")], "rows": rows}
        return self.section("definitions", "report.section.definitions", [table],
                            t("report.lead.definitions"))

    # ------------------------------------------------------------------ page
    def page(self, env: Any, sections: list[dict[str, Any]]) -> str:
        import siyu

        t = self.t
        title = self.title or t("report.title")
        notes = []
        if self.lang == "zh" and self.font is None:
            notes.append(_note(t("report.note.no_font", hint=t("plot.no_cjk_font")), "warn"))
        if self.channel_info is not None:
            ci = self.channel_info
            notes.append(_note(t("report.note.top_channels", column=str(self.channel),
                                 n=f"{ci['n_channels']:,}", top=ci["kept"], other=ci["other"],
                                 customers=f"{ci['n_other_customers']:,}"), "warn"))
        notes += self.notes
        sub = t("report.subtitle", rows=f"{self.tx.n_rows:,}",
                customers=f"{self.tx.n_customers:,}", start=self.tx.start.date(),
                end=self.tx.end.date())
        stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        footer = t("report.footer", version=siyu.__version__, stamp=stamp)
        nav = [{"id": s["id"], "title": s["title"]} for s in sections]
        page = {"html_lang": "zh-CN" if self.lang == "zh" else "en", "title": title,
                "subtitle": sub, "contents": t("report.contents"), "nav": nav,
                "notes": notes, "sections": sections, "footer": footer}
        return env.get_template("report.html.j2").render(page=page)


def _fmt_key(key: Any) -> str:
    return " · ".join(map(str, key)) if isinstance(key, tuple) else str(key)


# --------------------------------------------------------------------------- API
def build_report(tx: "Transactions", spend: pd.DataFrame | None = None, period: str = "M",
                 lang: str = "en", title: str | None = None, progress: Progress | None = None,
                 *, churn_after: float = 180, margin: float = 1.0, horizon: int = 12,
                 currency: str | None = None, existing_before: Any = None,
                 top_channels: int = 10, plot_format: str = "png",
                 data_quality: pd.DataFrame | None = None,
                 recall_csv: str | os.PathLike[str] | None = None,
                 background_charts: bool = False) -> str:
    """The customer-value report of a log as one self-contained HTML page.

    Sections (each a ``<section>`` with a stable id, see :data:`SECTION_IDS`):
    ``overview`` (data overview), ``data`` (only with ``data_quality``: what happened
    to the rows), ``cohorts`` (retention heat map and coloured cohort table, balanced
    average retention and LTV by age), ``retention`` (cohort curves and day-bracket
    retention), ``survival`` (Kaplan-Meier curve under inactivity churn),
    ``repurchase`` (second purchase within 30/90/180 days), ``lifecycle``,
    ``value-tiers``, ``unit-economics`` (only with ``spend``: CAC, LTV, LTV/CAC,
    payback per cohort), ``channels`` (only when the log has a channel column) and
    ``definitions`` (siyu's metrics next to the operators' ones).  The definitions
    are those of the underlying functions (:meth:`Transactions.cohorts`,
    :func:`siyu.unit_economics`, ...).

    The page flags what would mislead: partial last periods (hatched, left out of
    averages), a first cohort that looks like customers acquired before the log
    (suggesting ``existing_before``), spend periods outside the data or cohorts with
    no spend row, a channel column with too many values (more than 20: the
    ``top_channels`` largest by customers are kept, the rest grouped as "other"), and
    -- in Chinese -- a machine without a CJK font (the plots then use English).

    Plots are embedded as ``data:`` URIs, drawn on matplotlib's Agg canvas without
    touching pyplot's state; the page has no scripts and loads nothing from the
    network.

    Parameters
    ----------
    tx : Transactions
        The log (with order amounts for revenue, LTV and unit economics).
    spend : pandas.DataFrame, optional
        Acquisition spend: columns ``period`` (any date in the period), ``amount``
        and, when ``tx`` has a channel column, that column; passed to
        :func:`siyu.unit_economics`.  Without it there is no unit-economics section.
    period : {"D", "W", "M", "Q", "Y"}, default "M"
        Cohort period (of cohorts, repurchase by cohort and unit economics).
    lang : {"en", "zh"}, default "en"
        Language of every word on the page and in the plots.
    title : str, optional
        Page title (default "Customer value report" / "客户价值报告").
    progress : callable, optional
        ``progress(step, index, total, seconds)``, called with ``seconds=None`` when
        a step starts and with its duration in seconds when it ends.
    churn_after : float, default 180
        Days of inactivity after which a customer counts as churned (survival).
    margin : float, default 1.0
        Gross margin applied to LTV in unit economics.
    horizon : int, default 12
        Periods of LTV in unit economics.
    currency : str, optional
        Currency sign shown with money headers and axes (e.g. ``"¥"``); none by default.
    existing_before : date-like, optional
        Customers whose first purchase is before this date are existing customers:
        one row of their own, in no cohort, average, CAC or payback.
    top_channels : int, default 10
        With more than 20 distinct channels, how many to keep (the rest: "other").
    plot_format : {"png", "svg"}, default "png"
        Image format of the embedded plots (SVG keeps text as text).
    data_quality : pandas.DataFrame, optional
        Rows with ``count`` and ``description``, shown as the Data section (what reading
        and the order rules did to the rows).  Default: the log's own
        ``tx.data_quality(lang)``.
    recall_csv : path, optional
        Also write the full recall list (who to contact and why, with CRM tags; see
        :func:`siyu.actions.write_recall_csv`) to this CSV; the "Who to contact" section
        shows its top 50 either way.
    background_charts : bool, default False
        Draw the plots in a worker process (forked from this one) while the next
        sections are computed: on a 10-million-row log this takes about a second off
        the report on two cores.  Linux only (elsewhere, and if the worker fails, the
        plots are drawn here); the page is the same either way.  ``python -m siyu
        report`` sets it for logs of a million rows or more.

    Returns
    -------
    str
        The HTML document.

    Raises
    ------
    ValueError
        Unknown ``period``, ``lang`` or ``plot_format``, an empty log, bad ``spend``
        (see :func:`siyu.unit_economics`), bad ``existing_before``.
    TypeError
        ``tx`` is not a Transactions or ``spend`` not a DataFrame.

    Examples
    --------
    >>> import pandas as pd, siyu
    >>> from siyu.report import build_report
    >>> df = pd.DataFrame({"user_id": [1, 1, 2, 3, 3],
    ...                    "paid_at": ["2024-01-03", "2024-02-10", "2024-01-20", "2024-02-01",
    ...                                "2024-03-05"],
    ...                    "amount": [30.0, 25.0, 12.0, 80.0, 40.0]})
    >>> tx = siyu.Transactions(df, customer="user_id", time="paid_at", amount="amount")
    >>> page = build_report(tx, lang="en", currency="¥")
    >>> page.startswith("<!DOCTYPE html>"), 'id="repurchase"' in page
    (True, True)
    >>> 'id="unit-economics"' in page      # only with spend
    False
    """
    from siyu.transactions import Transactions

    native = isinstance(tx, Transactions)
    if not native and not type(tx).__module__.startswith("siyu.dask"):
        raise TypeError(f"tx must be a siyu.Transactions, got {type(tx).__name__}")
    if not isinstance(lang, str) or lang not in ("en", "zh"):
        raise ValueError(f"unknown lang {_show(lang)}; use 'en' or 'zh'")
    period = inp.period_code(period, "DWMQY", "period")
    if tx.n_rows == 0:
        raise ValueError("the log is empty: nothing to report")
    if not tx.has_amount:
        raise ValueError("the report needs order amounts: pass amount= to siyu.Transactions")
    if not (tx._log.amount >= 0).any():
        raise ValueError("the log has no purchases (every amount is negative, i.e. a refund): "
                         "nothing to report")
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title must be a string, got {type(title).__name__}")
    if currency is not None and (not isinstance(currency, str) or not currency.strip()):
        raise TypeError(f"currency must be a short text such as '¥' or 'CNY', got {_show(currency)}")
    if progress is not None and not callable(progress):
        raise TypeError("progress must be a callable progress(step, index, total, seconds)")
    from siyu.economics import check_horizon, check_margin
    from siyu.survival import check_churn_after

    horizon = check_horizon(horizon)
    margin = check_margin(margin)
    churn_after = check_churn_after(churn_after)
    if isinstance(top_channels, (bool, np.bool_)) or not isinstance(top_channels, (int, np.integer)) \
            or top_channels < 1:
        raise ValueError(f"top_channels must be a positive whole number, got {_show(top_channels)}")
    if not isinstance(plot_format, str) or plot_format not in ("png", "svg"):
        raise ValueError(f"plot_format must be 'png' or 'svg', got {_show(plot_format)}")
    if data_quality is not None and not isinstance(data_quality, pd.DataFrame):
        raise TypeError("data_quality must be a DataFrame with columns 'count' and "
                        f"'description', got {type(data_quality).__name__}")
    if data_quality is None and native:
        data_quality = tx.data_quality(lang)
    if existing_before is not None and native:
        per.acquisition(tx, int(tx._log.day.max()), None, existing_before)   # validate early
    spend = _check_spend(spend, tx._log.names.get("channel") if tx._log.channel is not None
                         else None)
    rep = _Report(tx, spend, period, lang, title, churn_after, margin, horizon, progress,
                  currency.strip() if currency else None, existing_before, int(top_channels),
                  plot_format, data_quality,
                  None if recall_csv is None else os.fspath(recall_csv),
                  background_charts=bool(background_charts) and native)
    return rep.run()


def write_report(tx: "Transactions", spend: pd.DataFrame | None = None, period: str = "M",
                 lang: str = "en", title: str | None = None, progress: Progress | None = None,
                 *, out: str | os.PathLike[str], **kwargs: Any) -> str:
    """Build the report (see :func:`build_report`) and write it to ``out`` (UTF-8).

    The file is written to a temporary name next to ``out`` and renamed, so a failed
    run never leaves a half-written report.

    Returns
    -------
    str
        The absolute path of the written file.

    Examples
    --------
    >>> import os, tempfile, pandas as pd, siyu
    >>> from siyu.report import write_report
    >>> df = pd.DataFrame({"user_id": [1, 1, 2], "amount": [30.0, 25.0, 12.0],
    ...                    "paid_at": ["2024-01-03", "2024-02-10", "2024-01-20"]})
    >>> tx = siyu.Transactions(df, customer="user_id", time="paid_at", amount="amount")
    >>> path = write_report(tx, lang="zh", out=os.path.join(tempfile.mkdtemp(), "r.html"))
    >>> "客户价值报告" in open(path, encoding="utf-8").read()
    True
    """
    path = os.path.abspath(os.fspath(out))
    folder = os.path.dirname(path)
    if os.path.isdir(path):
        raise OSError(f"cannot write {out!s}: it is a folder; name a file in it, e.g. "
                      f"out={os.path.join(os.fspath(out), 'report.html')!r}")
    if not os.path.isdir(folder):
        raise OSError(f"cannot write {out!s}: folder {folder} does not exist")
    page = build_report(tx, spend=spend, period=period, lang=lang, title=title,
                        progress=progress, **kwargs)
    tmp = path + ".part"
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(page)
        os.replace(tmp, path)
    except BaseException:
        # a failed write or rename (disk full, out replaced by a folder meanwhile, Ctrl-C)
        # leaves no .part file behind
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise
    return path

