"""One self-contained HTML report of a transaction log.

:func:`build_report` runs the standard analyses of siyu on a
:class:`~siyu.Transactions` log -- acquisition cohorts, retention, survival,
repurchase, lifecycle stages, value tiers and (with acquisition spend) unit
economics -- and returns a single HTML page.  Plots are drawn with matplotlib's Agg
canvas and embedded as base64 PNG ``data:`` URIs; styles are inline; the page has no
scripts and references no external resource, so it opens offline and can be mailed
as one file.  :func:`write_report` writes it to disk; ``python -m siyu report``
is the command-line front end.

Every section has a stable ``id`` (see :data:`SECTION_IDS`) so that links such as
``report.html#repurchase`` keep working.  Labels are English by default and Chinese
with ``lang="zh"``; the plots keep English (ASCII) text unless a CJK font is
installed, with the Chinese titles in the HTML around them.
"""
from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import math
import os
import re
import time
import warnings
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np
import pandas as pd

from siyu import _input as inp

if TYPE_CHECKING:  # pragma: no cover
    from siyu.transactions import Transactions

__all__ = ["SECTION_IDS", "build_report", "write_report"]

#: Section ids of the report, in page order (``unit-economics`` only with spend,
#: ``channels`` only when the log has a channel column).
SECTION_IDS: tuple[str, ...] = ("overview", "cohorts", "retention", "survival", "repurchase",
                                "lifecycle", "value-tiers", "unit-economics", "channels",
                                "definitions")

#: A progress callback: ``progress(step, index, total, seconds)``; called with
#: ``seconds=None`` when a step starts and with its duration when it ends.
Progress = Callable[[str, int, int, "float | None"], None]

_MAX_TABLE_COHORTS = 36     # rows of cohort tables shown in HTML (latest cohorts)
_MAX_TABLE_AGES = 37        # ages 0..36
_CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
              "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Microsoft YaHei", "SimHei",
              "PingFang SC", "Heiti SC", "Hiragino Sans GB", "AR PL UMing CN",
              "Droid Sans Fallback")

_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "Customer value report",
        "overview": "Overview",
        "cohorts": "Acquisition cohorts",
        "retention": "Retention",
        "survival": "Customer survival",
        "repurchase": "Repurchase",
        "lifecycle": "Lifecycle stages",
        "value-tiers": "Value tiers",
        "unit-economics": "Unit economics",
        "channels": "Channels",
        "definitions": "Definitions",
        "contents": "Contents",
        "rows": "rows (orders and refunds)",
        "customers": "customers",
        "first_day": "first day",
        "last_day": "last day",
        "revenue_total": "net revenue",
        "repeat_share": "repeat buyers (2+ purchase days)",
        "rev_per_customer": "net revenue per customer",
        "columns": "columns",
        "period": "cohort period",
        "generated": "generated",
        "cohorts_lead": "Share of each {period} cohort (customers by the {period} of their first "
                        "purchase) that bought again k {periods} later.",
        "cohorts_table_note": "Latest {shown} of {total} cohorts and ages 0-{ages} shown; the "
                              "heat map above covers all of them.",
        "avg_retention": "Average retention by age (size-weighted over observed cohorts)",
        "avg_ltv": "Average cumulative net revenue per acquired customer by age",
        "age": "age",
        "retention_lead": "Retention curves of the cohorts (thin lines) and their size-weighted "
                          "average (black); below, the share of eligible customers who bought "
                          "again within day ranges after their first purchase.",
        "bracket": "days after first purchase",
        "survival_lead": "Kaplan-Meier estimate of the share of customers still active, where "
                         "a customer churns at their last purchase when more than {d} days "
                         "pass without another one.",
        "median_life": "median lifetime (days)",
        "never": "not reached",
        "survival_at": "still active after {t} days",
        "rmst": "mean lifetime within the first 365 days (days)",
        "repurchase_lead": "Share of customers whose second purchase day came within k days of "
                           "the first, among customers observed for at least k days.",
        "lifecycle_lead": "Customers by days since their last purchase at {date}: "
                          "new up to {b1} days, stable up to {b2} days, lapsing beyond.",
        "tiers_lead": "Customers by purchase days up to {date}: one-time, repeat (2), "
                      "multi-repeat (3+); members (membership flag) win over the count.",
        "ue_lead": "Acquisition spend against customer value per {period} cohort: CAC = spend "
                   "/ new customers; LTV = cumulative net revenue{margin} per customer over "
                   "the first {h} {periods}; payback = first age at which it covers CAC.",
        "ue_table_note": "Latest {shown} of {total} cohorts shown, plus the blended total.",
        "channels_lead": "One row per acquisition channel (the channel of a customer's first "
                         "purchase).",
        "within": "within {k} days",
        "total": "total",
        "footer": "Made with siyu {version}. Self-contained page: no scripts, no network.",
    },
    "zh": {
        "title": "客户价值报告",
        "overview": "数据概览",
        "cohorts": "获客同期群",
        "retention": "留存",
        "survival": "客户生存曲线",
        "repurchase": "复购",
        "lifecycle": "生命周期阶段",
        "value-tiers": "客户价值分层",
        "unit-economics": "单位经济模型",
        "channels": "渠道对比",
        "definitions": "指标定义",
        "contents": "目录",
        "rows": "记录数（订单与退款）",
        "customers": "客户数",
        "first_day": "首日",
        "last_day": "末日",
        "revenue_total": "净收入",
        "repeat_share": "复购客户占比（2个及以上购买日）",
        "rev_per_customer": "人均净收入",
        "columns": "字段",
        "period": "同期群周期",
        "generated": "生成时间",
        "cohorts_lead": "按首次购买所在{period}划分的客户同期群，在其后第 k 个{period}再次购买的客户占比。",
        "cohorts_table_note": "表中显示最近 {shown} 个同期群（共 {total} 个）及第 0-{ages} 期；"
                              "上方热力图包含全部同期群。",
        "avg_retention": "各期平均留存率（按同期群规模加权，仅含已观察到的同期群）",
        "avg_ltv": "各期人均累计净收入（历史 LTV）",
        "age": "期数",
        "retention_lead": "各同期群的留存曲线（细线）及按规模加权的平均值（黑线）；下表为首次购买后"
                          "各天数区间内再次购买的客户占比（仅统计可完整观察的客户）。",
        "bracket": "首次购买后天数",
        "survival_lead": "客户存活率的 Kaplan-Meier 估计：若客户最后一次购买后超过 {d} 天未再购买，"
                         "则视为在最后一次购买时流失。",
        "median_life": "生命周期中位数（天）",
        "never": "未达到",
        "survival_at": "{t} 天后仍活跃的比例",
        "rmst": "前 365 天内的平均生命周期（天）",
        "repurchase_lead": "首次购买后 k 天内产生第二个购买日的客户占比（仅统计已观察满 k 天的客户）。",
        "lifecycle_lead": "按截至 {date} 距上次购买的天数划分：{b1} 天内为新交易后，{b2} 天内为稳定关系，"
                          "超过则为关系衰退。",
        "tiers_lead": "按截至 {date} 的购买日数划分：已购一次、复购用户（2 次）、复购多次（3 次及以上）；"
                      "会员标记优先。",
        "ue_lead": "各{period}获客同期群的投放费用与客户价值：获客成本 = 投放费用 / 新客数；"
                   "LTV = 前 {h} 个{period}人均累计净收入{margin}；回本周期 = 累计价值首次覆盖获客成本的期数。",
        "ue_table_note": "显示最近 {shown} 个同期群（共 {total} 个）及汇总行。",
        "channels_lead": "每个获客渠道一行（客户首次购买所在的渠道）。",
        "within": "{k} 天内",
        "total": "合计",
        "footer": "由 siyu {version} 生成。本页面独立完整：无脚本，无网络请求。",
    },
}

_PERIOD_NAMES = {
    "en": {"D": ("day", "days"), "W": ("week", "weeks"), "M": ("month", "months"),
           "Q": ("quarter", "quarters"), "Y": ("year", "years")},
    "zh": {"D": ("日", "日"), "W": ("周", "周"), "M": ("月", "月"), "Q": ("季度", "季度"),
           "Y": ("年", "年")},
}

_COLUMNS: dict[str, dict[str, str]] = {
    "en": {"customers": "customers", "share": "share", "revenue": "revenue",
           "revenue_share": "revenue share", "mean_days_since_last": "mean days since last",
           "eligible": "eligible", "repurchased": "repurchased", "retained": "retained",
           "rate": "rate", "new_customers": "new customers", "spend": "spend", "cac": "CAC",
           "ltv": "LTV", "ltv_to_date": "LTV to date", "ltv_cac": "LTV/CAC",
           "payback_periods": "payback (periods)", "orders_per_customer": "orders per customer",
           "cost_per_order": "cost per order", "observed_periods": "periods observed",
           "repurchase_rate": "repurchase rate",
           "annual_spend_per_customer": "annual spend per customer", "metric": "metric",
           "value": "value"},
    "zh": {"customers": "客户数", "share": "客户占比", "revenue": "净收入",
           "revenue_share": "收入占比", "mean_days_since_last": "平均距上次购买天数",
           "eligible": "可观察客户数", "repurchased": "复购客户数", "retained": "留存客户数",
           "rate": "比例", "new_customers": "新客数", "spend": "投放费用", "cac": "获客成本",
           "ltv": "LTV", "ltv_to_date": "至今 LTV", "ltv_cac": "LTV/获客成本",
           "payback_periods": "回本周期（期）", "orders_per_customer": "人均订单数",
           "cost_per_order": "每单获客成本", "observed_periods": "已观察期数",
           "repurchase_rate": "复购率", "annual_spend_per_customer": "人均年消费",
           "metric": "指标", "value": "数值"},
}

_DEFINITIONS = {
    "en": [
        ("Purchase / refund", "A row with amount ≥ 0 is a purchase; a negative amount is a "
                              "refund that reduces revenue but is never a purchase."),
        ("Occasion", "All purchases of one customer on one calendar day."),
        ("Cohort, age", "A customer's cohort is the calendar period of their first purchase; "
                        "age k is the number of periods after it. Blank cells are not "
                        "observed yet."),
        ("Retention", "Share of a cohort (or of the eligible customers) active at an age or "
                      "within a day range; only customers who could be observed count."),
        ("Survival", "Inactivity churn: a customer whose last purchase is more than the churn "
                     "window before the end has churned at that purchase; others are "
                     "censored (Kaplan-Meier)."),
        ("Lifecycle stage", "By days since the last purchase: new, stable, lapsing."),
        ("Value tier", "one-time (1 purchase day), repeat (2), multi-repeat (3+), member "
                       "(membership flag wins)."),
        ("CAC, LTV, payback", "CAC = acquisition spend / new customers; LTV = cumulative net "
                              "revenue (× margin) per acquired customer; payback = first age "
                              "at which LTV ≥ CAC."),
    ],
    "zh": [
        ("购买 / 退款", "金额 ≥ 0 的记录为购买；金额为负的记录为退款，计入收入但不算购买。"),
        ("购买日", "同一客户同一自然日的所有购买合并为一次。"),
        ("同期群、期数", "客户首次购买所在的自然周期为其同期群；期数 k 为此后的周期数；空白单元格表示尚未观察到。"),
        ("留存", "同期群（或可观察客户）在某期或某天数区间内活跃的比例；只统计可观察到的客户。"),
        ("生存曲线", "不活跃流失：最后一次购买距截止日超过流失窗口的客户视为在最后一次购买时流失，"
                     "其余客户为删失（Kaplan-Meier 估计）。"),
        ("生命周期阶段", "按距上次购买的天数：新交易后、稳定关系、关系衰退。"),
        ("价值分层", "已购一次（1 个购买日）、复购用户（2 个）、复购多次（3 个及以上）、会员用户（会员标记优先）。"),
        ("获客成本、LTV、回本周期", "获客成本 = 投放费用 / 新客数；LTV = 人均累计净收入（× 毛利率）；"
                                  "回本周期 = LTV 首次 ≥ 获客成本的期数。"),
    ],
}

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,
"PingFang SC","Hiragino Sans GB","Microsoft YaHei","Noto Sans CJK SC","Source Han Sans SC",
"WenQuanYi Micro Hei","Noto Sans",sans-serif;margin:0;color:#1f2933;background:#f5f7fa}
main{max-width:1180px;margin:0 auto;padding:24px}
header{background:#1d3557;color:#fff;padding:24px}
header h1{margin:0 0 6px 0;font-size:26px}
header p{margin:0;opacity:.85}
nav{margin:12px 0 0 0;font-size:14px}
nav a{color:#fff;margin-right:14px}
section{background:#fff;border-radius:8px;padding:18px 22px;margin:18px 0;
box-shadow:0 1px 3px rgba(0,0,0,.08)}
h2{margin-top:0;color:#1d3557;border-bottom:2px solid #e4e7eb;padding-bottom:6px}
h3{font-size:15px;color:#3e4c59}
p.lead{color:#52606d}
p.note{color:#7b8794;font-size:12px}
img{max-width:100%;height:auto;display:block;margin:8px 0}
table{border-collapse:collapse;font-size:12px;margin:8px 0}
th,td{border:1px solid #e4e7eb;padding:3px 6px}
th{white-space:nowrap}
td{text-align:right}
thead th{background:#f0f4f8}
.scroll{overflow-x:auto}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(220px,1fr));gap:10px}
.kpi{background:#f0f4f8;border-radius:6px;padding:10px}
.kpi b{display:block;font-size:20px;color:#1d3557}
.kpi span{font-size:12px;color:#52606d}
dl dt{font-weight:600;margin-top:6px}
dl dd{margin:2px 0 0 16px;color:#52606d}
footer{color:#7b8794;font-size:12px;text-align:center;padding:12px}
"""


# --------------------------------------------------------------------------- helpers
def _esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _pct(x: float) -> str:
    return "" if x is None or not np.isfinite(x) else f"{x:.1%}"


def _num(x: float, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    if isinstance(x, float) and math.isinf(x):
        return "∞"
    return f"{x:,.{digits}f}"


def _int(x: Any) -> str:
    return "" if x is None or (isinstance(x, float) and not np.isfinite(x)) else f"{int(x):,}"


def _cjk_font() -> str | None:
    """Name of an installed matplotlib font that can draw Chinese, or None."""
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    return next((n for n in _CJK_FONTS if n in names), None)


def _figure(width: float = 9.0, height: float = 4.5, left: float = 0.9,
            bottom: float = 0.6) -> tuple[Any, Any]:
    """A matplotlib Figure on an Agg canvas (never pyplot: no global state).

    Margins are fixed (inches) rather than computed by ``tight_layout``, which would
    draw every figure twice.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=left / width, right=1 - 0.25 / width, bottom=bottom / height,
                        top=1 - 0.4 / height)
    return fig, fig.add_subplot(1, 1, 1)


def _png(fig: Any, alt: str) -> str:
    """Render ``fig`` to PNG and return an ``<img>`` with a base64 data URI."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img alt="{_esc(alt)}" src="data:image/png;base64,{data}">'


def _thin_ticks(ax: Any, axis: str, max_ticks: int = 20) -> None:
    """Keep at most ``max_ticks`` labelled ticks on a categorical axis."""
    get = ax.get_xticks if axis == "x" else ax.get_yticks
    labels = (ax.get_xticklabels() if axis == "x" else ax.get_yticklabels())
    ticks = list(get())
    if len(ticks) <= max_ticks:
        return
    step = int(math.ceil(len(ticks) / max_ticks))
    keep = list(range(0, len(ticks), step))
    texts = [labels[i].get_text() for i in keep]
    if axis == "x":
        ax.set_xticks([ticks[i] for i in keep])
        ax.set_xticklabels(texts, rotation=ax.get_xticklabels()[0].get_rotation()
                           if ax.get_xticklabels() else 0)
    else:
        ax.set_yticks([ticks[i] for i in keep])
        ax.set_yticklabels(texts)


def _table(df: pd.DataFrame, formats: dict[str, Callable[[Any], str]], lang: str,
           table_id: str, index_label: str | None = None) -> str:
    """A small HTML table; column names translated, cells formatted, all escaped."""
    names = [index_label if index_label is not None else (df.index.name or "")]
    head = "".join(f"<th>{_esc(n)}</th>" for n in names)
    head += "".join(f"<th>{_esc(_col_label(str(c), lang))}</th>" for c in df.columns)
    rows = []
    for key, rec in zip(df.index, df.itertuples(index=False)):
        label = " · ".join(map(str, key)) if isinstance(key, tuple) else str(key)
        cells = f"<th style='text-align:left'>{_esc(label)}</th>"
        for c, v in zip(df.columns, rec):
            f = formats.get(str(c), lambda x: _num(x) if isinstance(x, float) else str(x))
            cells += f"<td>{_esc(f(v))}</td>"
        rows.append(f"<tr>{cells}</tr>")
    return (f"<div class='scroll'><table id='{_esc(table_id)}'><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>")


def _col_label(col: str, lang: str) -> str:
    m = re.fullmatch(r"retention_m(\d+)", col)
    if m:
        return f"retention month {m.group(1)}" if lang == "en" else f"第 {m.group(1)} 月留存率"
    return _COLUMNS[lang].get(col, col)


def _section(sid: str, title: str, body: str) -> str:
    return f'<section id="{sid}"><h2>{_esc(title)}</h2>\n{body}\n</section>'


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


# --------------------------------------------------------------------------- sections
class _Report:
    def __init__(self, tx: "Transactions", spend: pd.DataFrame | None, period: str, lang: str,
                 title: str | None, churn_after: float, margin: float, horizon: int,
                 progress: Progress | None) -> None:
        self.tx = tx
        self.spend = spend
        self.period = period
        self.lang = lang
        self.t = _TEXT[lang]
        self.title = title
        self.churn_after = churn_after
        self.margin = margin
        self.horizon = horizon
        self.progress = progress
        self.channel = tx._log.names.get("channel") if tx._log.channel is not None else None
        font = _cjk_font() if lang == "zh" else None
        self.font = font
        self.zh_plots = font is not None
        self.timings: dict[str, float] = {}

    # plot text: Chinese only when a CJK font is installed
    def ptext(self, en: str, zh: str) -> str:
        return zh if self.zh_plots else en

    def pname(self, plural: bool = False) -> str:
        return _PERIOD_NAMES[self.lang][self.period][1 if plural else 0]

    def steps(self) -> list[tuple[str, Callable[[], str]]]:
        s: list[tuple[str, Callable[[], str]]] = [
            ("cohorts", self.cohorts), ("retention", self.retention),
            ("survival", self.survival), ("repurchase", self.repurchase),
            ("lifecycle", self.lifecycle), ("value tiers", self.value_tiers)]
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

        steps = self.steps()
        total = len(steps) + 1
        rc = {"font.size": 9}
        if self.font:
            rc["font.sans-serif"] = [self.font] + list(matplotlib.rcParams["font.sans-serif"])
            rc["axes.unicode_minus"] = False
        parts = []
        with matplotlib.rc_context(rc), warnings.catch_warnings():
            # labels such as 公域/私域 without a CJK font: the HTML tables show them right
            warnings.filterwarnings("ignore", message="Glyph .* missing from font")
            for i, (name, fn) in enumerate(steps, start=1):
                parts.append(self._timed(name, i, total, fn))
            overview = self._timed("overview", total, total, self.overview)
        return self.page(overview, parts)

    def _timed(self, name: str, i: int, total: int, fn: Callable[[], str]) -> str:
        if self.progress is not None:
            self.progress(name, i, total, None)
        t0 = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t0
        self.timings[name] = dt
        if self.progress is not None:
            self.progress(name, i, total, dt)
        return out

    # ------------------------------------------------------------------ overview
    def overview(self) -> str:
        tx, t = self.tx, self.t
        lc = self._lifecycle_frame
        n_buyers = len(lc)
        repeat = (lc["occasions"] >= 2).mean() if n_buyers else float("nan")
        repeat = float(repeat.compute() if hasattr(repeat, "compute") else repeat)  # Dask log
        kpis = [(t["rows"], _int(tx.n_rows)), (t["customers"], _int(tx.n_customers)),
                (t["first_day"], str(tx.start.date())), (t["last_day"], str(tx.end.date())),
                (t["repeat_share"], _pct(repeat))]
        if tx.has_amount:
            rev = float(tx._log.amount.sum())
            kpis.append((t["revenue_total"], _num(rev, 0)))
            if n_buyers:
                kpis.append((t["rev_per_customer"], _num(rev / n_buyers)))
        grid = "".join(f"<div class='kpi'><b>{_esc(v)}</b><span>{_esc(k)}</span></div>"
                       for k, v in kpis)
        names = tx._log.names
        cols = ", ".join(f"{k} = {v}" for k, v in names.items() if v)
        note = (f"<p class='note'>{_esc(t['columns'])}: {_esc(cols)} · {_esc(t['period'])}: "
                f"{_esc(self.pname())}</p>")
        return _section("overview", t["overview"],
                        f"<div class='grid' id='overview-kpis'>{grid}</div>{note}")

    # ------------------------------------------------------------------ cohorts
    def cohorts(self) -> str:
        from siyu import plotting
        from siyu.cohorts import CohortTable

        t = self.t
        ct = self.tx.cohorts(period=self.period)
        self._ct = ct
        n_c, n_a = ct.active.shape
        fig, ax = _figure(10.0, max(3.5, min(12.0, 0.22 * n_c + 1.8)), left=1.0)
        plotting.cohort_heatmap(ct, "retention", ax=ax, annot=n_c * n_a <= 400)
        ax.set_title(self.ptext(f"retention by {self.period} cohort", "各同期群留存率"))
        _thin_ticks(ax, "x")
        _thin_ticks(ax, "y", 40)
        img = _png(fig, t["cohorts"])
        # coloured HTML table of the latest cohorts (CohortTable.to_html)
        shown = ct
        note = ""
        if n_c > _MAX_TABLE_COHORTS or n_a > _MAX_TABLE_AGES:
            rows = slice(max(n_c - _MAX_TABLE_COHORTS, 0), n_c)
            ages = min(n_a, _MAX_TABLE_AGES)
            shown = CohortTable(period=ct.period, end=ct.end, margin=ct.margin, by=ct.by,
                                sizes=ct.sizes.iloc[rows], active=ct.active.iloc[rows, :ages],
                                orders=ct.orders.iloc[rows, :ages],
                                revenue=None,
                                observed=ct._observed[rows, :ages], n_excluded=ct.n_excluded,
                                n_dropped=ct.n_dropped)
            note = (f"<p class='note'>{_esc(t['cohorts_table_note'].format(shown=len(shown.sizes), total=n_c, ages=ages - 1))}</p>")
        table = shown.to_html("retention").replace("<table class='siyu-cohorts'>",
                                                   "<table class='siyu-cohorts' id='cohort-table'>",
                                                   1)
        if self.lang == "zh":
            table = table.replace("<th>cohort</th><th>size</th>", "<th>同期群</th><th>规模</th>", 1)
        lead = t["cohorts_lead"].format(period=self.pname(), periods=self.pname(True))
        body = (f"<p class='lead'>{_esc(lead)}</p>{img}<div class='scroll'>{table}</div>{note}")
        # average rows
        avg = ct.average("retention")
        ages_shown = [a for a in avg.index if a < 13]
        rows_df = pd.DataFrame({str(a): [avg[a]] for a in ages_shown},
                               index=pd.Index([t["avg_retention"]]))
        fm = {str(a): _pct for a in ages_shown}
        tables = _table(rows_df, fm, self.lang, "cohort-average", t["age"])
        if self.tx.has_amount:
            ltv = ct.average("ltv")
            ltv_df = pd.DataFrame({str(a): [ltv[a]] for a in ages_shown},
                                  index=pd.Index([t["avg_ltv"]]))
            tables += _table(ltv_df, {}, self.lang, "cohort-ltv", t["age"])
        return _section("cohorts", t["cohorts"], body + tables)

    # ------------------------------------------------------------------ retention
    def retention(self) -> str:
        from siyu import plotting

        t = self.t
        fig, ax = _figure(9.0, 4.5)
        plotting.retention_curves(self._ct, ax=ax, max_lines=12)
        ax.set_title(self.ptext(f"retention by {self.period} cohort (latest 12 and average)",
                                "各同期群留存曲线（最近 12 个及平均）"))
        img = _png(fig, t["retention"])
        br = self.tx.retention(kind="bracket", brackets=[(1, 30), (31, 90), (91, 180),
                                                         (181, 365)])
        tab = br.table[["eligible", "retained", "rate"]].copy()
        tab.index = [f"{iv.left}-{iv.right}" for iv in tab.index]
        fm = {"eligible": _int, "retained": _int, "rate": _pct}
        table = _table(tab, fm, self.lang, "retention-table", t["bracket"])
        return _section("retention", t["retention"],
                        f"<p class='lead'>{_esc(t['retention_lead'])}</p>{img}{table}")

    # ------------------------------------------------------------------ survival
    def survival(self) -> str:
        t = self.t
        by = self.channel
        sc = self.tx.survival(churn_after=self.churn_after, by=by)
        fig, ax = _figure(9.0, 4.5)
        sc.plot(ax=ax)
        ax.set_title(self.ptext(f"survival (churn after {self.churn_after:g} days inactive)",
                                f"客户存活率（{self.churn_after:g} 天未购买视为流失）"))
        img = _png(fig, t["survival"])

        def med(v: float) -> str:
            return t["never"] if not np.isfinite(v) else _num(v, 0)

        rows: dict[str, list[str]] = {}
        groups = [None] if by is None else sc.groups
        rows[t["median_life"]] = [med(sc.median_ if by is None else sc.median_[g])
                                  for g in groups]
        for d in (30, 90, 180, 365):
            s = sc.survival_at(d)
            rows[t["survival_at"].format(t=d)] = [_pct(s if by is None else s[g]) for g in groups]
        r = sc.rmst(365)
        rows[t["rmst"]] = [_num(r if by is None else r[g], 1) for g in groups]
        head = [t["customers"]] if by is None else [str(g) for g in groups]
        df = pd.DataFrame(rows, index=head).T
        table = _table(df, {c: str for c in df.columns}, self.lang, "survival-table",
                       _COLUMNS[self.lang]["metric"])
        lead = t["survival_lead"].format(d=f"{self.churn_after:g}")
        return _section("survival", t["survival"], f"<p class='lead'>{_esc(lead)}</p>{img}{table}")

    # ------------------------------------------------------------------ repurchase
    def repurchase(self) -> str:
        t = self.t
        rp = self.tx.repurchase(within=(30, 90, 180), period=self.period)
        fig, ax = _figure(9.0, 4.8, bottom=1.1)
        rp.plot(ax=ax)
        ax.set_title(self.ptext(f"second purchase within k days, by {self.period} cohort",
                                "各同期群 k 天内复购率"))
        _thin_ticks(ax, "x")
        img = _png(fig, t["repurchase"])
        ov = rp.overall.copy()
        if isinstance(ov.index, pd.MultiIndex):
            ov.index = [f"{g} · " + t["within"].format(k=int(k)) for g, k in ov.index]
        else:
            ov.index = [t["within"].format(k=int(k)) for k in ov.index]
        fm = {"eligible": _int, "repurchased": _int, "rate": _pct}
        table = _table(ov[["eligible", "repurchased", "rate"]], fm, self.lang,
                       "repurchase-table", "")
        return _section("repurchase", t["repurchase"],
                        f"<p class='lead'>{_esc(t['repurchase_lead'])}</p>{img}{table}")

    # ------------------------------------------------------------------ segments
    def _bars(self, summary: pd.DataFrame, en_labels: Sequence[str], title_en: str,
              title_zh: str, alt: str) -> str:
        fig, ax = _figure(9.0, 3.6)
        labels = [str(x) for x in summary.index] if self.zh_plots else list(en_labels)
        x = np.arange(len(labels))
        share = summary["share"].to_numpy(dtype=float)
        ax.bar(x - 0.2, share, width=0.4, color="#457b9d",
               label=self.ptext("customers", "客户占比"))
        if "revenue_share" in summary:
            ax.bar(x + 0.2, summary["revenue_share"].to_numpy(dtype=float), width=0.4,
                   color="#e76f51", label=self.ptext("revenue", "收入占比"))
        ax.set_xticks(x)
        ax.set_xticklabels(labels)
        from matplotlib.ticker import PercentFormatter

        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_title(self.ptext(title_en, title_zh))
        ax.grid(axis="y", alpha=0.3)
        ax.legend()
        return _png(fig, alt)

    def _segment_table(self, s: pd.DataFrame, table_id: str) -> str:
        cols = [c for c in ("customers", "share", "revenue", "revenue_share",
                            "mean_days_since_last") if c in s.columns]
        fm = {"customers": _int, "share": _pct, "revenue": lambda x: _num(x, 0),
              "revenue_share": _pct, "mean_days_since_last": lambda x: _num(x, 1)}
        return _table(s[cols], fm, self.lang, table_id, "")

    def lifecycle(self) -> str:
        from siyu.segments import LIFECYCLE_LABELS, stage_summary

        t = self.t
        lc = self.tx.lifecycle(lang=self.lang)
        self._lifecycle_frame = lc
        s = stage_summary(lc)
        img = self._bars(s, LIFECYCLE_LABELS["en"], "lifecycle stages", "生命周期阶段",
                         t["lifecycle"])
        b1, b2 = lc.attrs["bounds"]
        lead = t["lifecycle_lead"].format(date=lc.attrs["as_of"].date(), b1=b1, b2=b2)
        return _section("lifecycle", t["lifecycle"],
                        f"<p class='lead'>{_esc(lead)}</p>{img}"
                        + self._segment_table(s, "lifecycle-table"))

    def value_tiers(self) -> str:
        from siyu.segments import VALUE_TIER_LABELS, stage_summary

        t = self.t
        vt = self.tx.value_tiers(lang=self.lang)
        s = stage_summary(vt)
        if self.tx._log.member is None:       # no members without a member column
            s = s.iloc[:-1]
        if not vt.attrs.get("n_roster"):      # no potential customers without a roster
            s = s.iloc[1:]
        en = [VALUE_TIER_LABELS["en"][VALUE_TIER_LABELS[self.lang].index(str(x))]
              for x in s.index]
        img = self._bars(s, en, "value tiers", "客户价值分层", t["value-tiers"])
        lead = t["tiers_lead"].format(date=vt.attrs["as_of"].date())
        return _section("value-tiers", t["value-tiers"],
                        f"<p class='lead'>{_esc(lead)}</p>{img}"
                        + self._segment_table(s, "value-tiers-table"))

    # ------------------------------------------------------------------ economics
    def unit_economics(self) -> str:
        import siyu

        t = self.t
        ue = siyu.unit_economics(self.tx, self.spend, period=self.period, by=self.channel,
                                 margin=self.margin, horizon=self.horizon)
        self._ue = ue
        body_rows = ue.iloc[:-1]
        img = self._ue_plot(body_rows)
        cols = ["new_customers", "spend", "cac", "ltv_to_date", "ltv", "ltv_cac",
                "payback_periods", "orders_per_customer", "cost_per_order"]
        shown = ue[cols]
        note = ""
        cohort = (body_rows.index.get_level_values(-1) if isinstance(body_rows.index, pd.MultiIndex)
                  else body_rows.index)
        latest = sorted(set(cohort))[-_MAX_TABLE_COHORTS:]
        if len(latest) < len(set(cohort)):
            keep = np.asarray(cohort.isin(latest))
            shown = pd.concat([shown.iloc[:-1][keep], shown.iloc[-1:]])
            note = ("<p class='note'>" + _esc(t["ue_table_note"].format(
                shown=len(latest), total=len(set(cohort)))) + "</p>")
        shown = shown.rename(index={"total": t["total"]})
        if isinstance(shown.index, pd.MultiIndex):
            shown.index = [t["total"] if k[0] == "total" else " · ".join(k)
                           for k in shown.index]
        fm = {"new_customers": _int, "spend": lambda x: _num(x, 0), "cac": _num,
              "ltv_to_date": _num, "ltv": _num, "ltv_cac": _num,
              "payback_periods": lambda x: _num(x, 0), "orders_per_customer": _num,
              "cost_per_order": _num}
        table = _table(shown, fm, self.lang, "unit-economics-table", "")
        margin = "" if self.margin == 1.0 else (f" × {self.margin:g}" if self.lang == "en"
                                               else f" × 毛利率 {self.margin:g}")
        lead = t["ue_lead"].format(period=self.pname(), periods=self.pname(True),
                                   h=self.horizon, margin=margin)
        return _section("unit-economics", t["unit-economics"],
                        f"<p class='lead'>{_esc(lead)}</p>{img}{table}{note}")

    def _ue_plot(self, rows: pd.DataFrame) -> str:
        """CAC (dashed) and LTV to date (solid) by cohort, one colour per channel."""
        fig, ax = _figure(9.0, 4.8, bottom=1.1)
        if isinstance(rows.index, pd.MultiIndex):
            groups = [(str(g), rows.xs(g, level=0, drop_level=True))
                      for g in pd.unique(rows.index.get_level_values(0))]
        else:
            groups = [(None, rows)]
        cohorts = sorted({str(c) for _, r in groups for c in r.index})
        pos = {c: i for i, c in enumerate(cohorts)}
        colors = ["#1d3557", "#e76f51", "#2a9d8f", "#e9c46a", "#8d5fd3", "#6c757d"]
        ltv_label = self.ptext(f"LTV to date (first {self.horizon} periods)",
                               f"至今 LTV（前 {self.horizon} 期）")
        for i, (g, r) in enumerate(groups):
            x = [pos[str(c)] for c in r.index]
            color = colors[i % len(colors)]
            prefix = "" if g is None else f"{g}: "
            ax.plot(x, r["ltv_to_date"].to_numpy(dtype=float), marker="o", ms=3, color=color,
                    label=prefix + ltv_label)
            ax.plot(x, r["cac"].to_numpy(dtype=float), ls="--", color=color,
                    label=prefix + "CAC")
        ax.set_xticks(np.arange(len(cohorts)))
        ax.set_xticklabels(cohorts, rotation=45, ha="right")
        _thin_ticks(ax, "x")
        ax.set_title(self.ptext(f"CAC and LTV by {self.period} cohort", "各同期群获客成本与 LTV"))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, ncol=2 if len(groups) > 1 else 1)
        return _png(fig, self.t["unit-economics"])

    def channels(self) -> str:
        import siyu

        t = self.t
        cmp = siyu.compare_channels(self.tx, by=self.channel, horizon=12, margin=self.margin)
        cols = [c for c in ("customers", "repurchase_rate", "annual_spend_per_customer",
                            "orders_per_customer", "retention_m1", "retention_m3",
                            "retention_m6", "retention_m12", "ltv") if c in cmp.columns]
        fm: dict[str, Callable[[Any], str]] = {"customers": _int, "repurchase_rate": _pct}
        fm.update({c: _pct for c in cols if c.startswith("retention_m")})
        table = _table(cmp[cols], fm, self.lang, "channels-table", str(self.channel))
        return _section("channels", t["channels"],
                        f"<p class='lead'>{_esc(t['channels_lead'])}</p>{table}")

    # ------------------------------------------------------------------ page
    def page(self, overview: str, parts: list[str]) -> str:
        import siyu

        t = self.t
        title = self.title or t["title"]
        present = ["overview"] + [sid for sid in SECTION_IDS[1:-1]
                                  if any(p.startswith(f'<section id="{sid}"') for p in parts)]
        present.append("definitions")
        nav = "".join(f'<a href="#{sid}">{_esc(t[sid])}</a>' for sid in present)
        defs = "".join(f"<dt>{_esc(k)}</dt><dd>{_esc(v)}</dd>" for k, v in _DEFINITIONS[self.lang])
        definitions = _section("definitions", t["definitions"], f"<dl>{defs}</dl>")
        sub = (f"{self.tx.n_rows:,} {t['rows']} · {self.tx.n_customers:,} {t['customers']} · "
               f"{self.tx.start.date()} – {self.tx.end.date()}")
        stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        footer = _esc(t["footer"].format(version=siyu.__version__)) + f" {_esc(t['generated'])}: {stamp}"
        html_lang = "zh-CN" if self.lang == "zh" else "en"
        return (f'<!DOCTYPE html>\n<html lang="{html_lang}">\n<head>\n<meta charset="utf-8">\n'
                f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
                f"<title>{_esc(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
                f"<header><h1>{_esc(title)}</h1><p>{_esc(sub)}</p>"
                f"<nav aria-label='{_esc(t['contents'])}'>{nav}</nav></header>\n<main>\n"
                + overview + "\n" + "\n".join(parts) + "\n" + definitions
                + f"\n</main>\n<footer>{footer}</footer>\n</body>\n</html>\n")


# --------------------------------------------------------------------------- API
def build_report(tx: "Transactions", spend: pd.DataFrame | None = None, period: str = "M",
                 lang: str = "en", title: str | None = None, progress: Progress | None = None,
                 *, churn_after: float = 180, margin: float = 1.0, horizon: int = 12) -> str:
    """The customer-value report of a log as one self-contained HTML page.

    Sections (each a ``<section>`` with a stable id, see :data:`SECTION_IDS`):
    ``overview`` (data overview), ``cohorts`` (retention heat map and coloured
    cohort table, average retention and LTV by age), ``retention`` (cohort curves
    and day-bracket retention), ``survival`` (Kaplan-Meier curve under inactivity
    churn), ``repurchase`` (second purchase within 30/90/180 days), ``lifecycle``
    (new / stable / lapsing), ``value-tiers`` (one-time / repeat / multi-repeat /
    member), ``unit-economics`` (only with ``spend``: CAC, LTV, LTV/CAC, payback per
    cohort), ``channels`` (only when the log has a channel column) and
    ``definitions``.  The definitions are those of the underlying functions
    (:meth:`Transactions.cohorts`, :func:`siyu.unit_economics`, ...).

    Plots are PNGs embedded as ``data:`` URIs, drawn on matplotlib's Agg canvas
    without touching pyplot's state; the page has no scripts and loads nothing from
    the network.

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
        Language of titles, texts and column labels.
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

    Returns
    -------
    str
        The HTML document.

    Raises
    ------
    ValueError
        Unknown ``period`` or ``lang``, an empty log, bad ``spend`` (see
        :func:`siyu.unit_economics`).
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
    >>> page = build_report(tx, lang="en")
    >>> page.startswith("<!DOCTYPE html>"), 'id="repurchase"' in page
    (True, True)
    >>> 'id="unit-economics"' in page      # only with spend
    False
    """
    from siyu.transactions import Transactions

    if not isinstance(tx, Transactions) and not type(tx).__module__.startswith("siyu.dask"):
        raise TypeError(f"tx must be a siyu.Transactions, got {type(tx).__name__}")
    if lang not in _TEXT:
        raise ValueError(f"unknown lang {lang!r}; use 'en' or 'zh'")
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
    if progress is not None and not callable(progress):
        raise TypeError("progress must be a callable progress(step, index, total, seconds)")
    spend = _check_spend(spend, tx._log.names.get("channel") if tx._log.channel is not None
                         else None)
    rep = _Report(tx, spend, period, lang, title, churn_after, margin, horizon, progress)
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
    if not os.path.isdir(folder):
        raise OSError(f"cannot write {out!s}: folder {folder} does not exist")
    page = build_report(tx, spend=spend, period=period, lang=lang, title=title,
                        progress=progress, **kwargs)
    tmp = path + ".part"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(page)
    os.replace(tmp, path)
    return path
