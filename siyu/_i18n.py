"""The one catalogue of user-facing text (English and Chinese).

Every label, axis title, legend entry, table header, definition, reason code and report
sentence that a user reads comes from here: ``text(key, lang)`` returns it, formatted
with any keyword arguments.  Modules never spell user-facing words themselves.

The catalogue is kept in sections, one per area of the package (``_COMMON``,
``_REPORT``, ...); each entry maps a stable key to ``{"en": ..., "zh": ...}``.  Keys
are dotted by area (``"report.title"``, ``"stage.recent"``); a key must exist in both
languages (a test checks this).
"""
from __future__ import annotations

from typing import Any

LANGS = ("en", "zh")

Entry = dict[str, str]

# ---- common words -------------------------------------------------------------------
_COMMON: dict[str, Entry] = {
    "word.customers": {"en": "customers", "zh": "客户数"},
    "word.other": {"en": "other", "zh": "其他"},
    "word.missing": {"en": "(missing)", "zh": "(缺失)"},
}

# ---- data quality (tx.quality, the report's Data section) -----------------------------
_QUALITY: dict[str, Entry] = {}

# ---- cohorts, retention, survival, repurchase, unit economics ---------------------------
_COHORTS: dict[str, Entry] = {}

# ---- segments: lifecycle, value tiers, RFM, operators' metrics ----------------------------
_SEGMENTS: dict[str, Entry] = {}

# ---- operators' metrics (复购率, 回购率, 新客复购率, RFM 八大类, R×F) ----------------------
_METRICS: dict[str, Entry] = {}

# ---- actions: replenishment, recall lists, cross-sell ------------------------------------
_ACTIONS: dict[str, Entry] = {}

# ---- models and diagnostics ----------------------------------------------------------
_MODELS: dict[str, Entry] = {
    # model names (print_summary, plots)
    "models.name.BetaGeo": {"en": "BG/NBD (beta-geometric / negative binomial)",
                            "zh": "BG/NBD 模型（贝塔几何/负二项）"},
    "models.name.ModifiedBetaGeo": {"en": "MBG/NBD (modified BG/NBD)",
                                    "zh": "MBG/NBD 模型（修正 BG/NBD）"},
    "models.name.ParetoNBD": {"en": "Pareto/NBD", "zh": "Pareto/NBD 模型"},
    "models.name.BetaGeoBetaBinom": {"en": "BG/BB (beta-geometric / beta-binomial)",
                                     "zh": "BG/BB 模型（贝塔几何/贝塔二项）"},
    "models.name.GammaGamma": {"en": "Gamma-Gamma spend model", "zh": "Gamma-Gamma 客单价模型"},
    "models.name.ShiftedBetaGeometric": {"en": "sBG (shifted beta-geometric retention)",
                                         "zh": "sBG 模型（移位贝塔几何留存）"},
    # print_summary
    "models.summary.model": {"en": "model", "zh": "模型"},
    "models.summary.n_obs": {"en": "number of customers", "zh": "客户数"},
    "models.summary.distinct": {"en": "({n} distinct rows)", "zh": "（{n} 个不同行）"},
    "models.summary.unit": {"en": "time unit", "zh": "时间单位"},
    "models.summary.loglik": {"en": "log-likelihood", "zh": "对数似然"},
    "models.summary.penalizer": {"en": "penalizer", "zh": "惩罚系数"},
    "models.summary.converged": {"en": "converged", "zh": "是否收敛"},
    "models.summary.iterations": {"en": "{ok} ({n} iterations)", "zh": "{ok}（迭代 {n} 次）"},
    "models.summary.coef": {"en": "coef", "zh": "估计值"},
    "models.summary.se": {"en": "se(coef)", "zh": "标准误"},
    "models.summary.lower95": {"en": "coef lower 95%", "zh": "95% 下限"},
    "models.summary.upper95": {"en": "coef upper 95%", "zh": "95% 上限"},
    "models.summary.yes": {"en": "yes", "zh": "是"},
    "models.summary.no": {"en": "no", "zh": "否"},
    # diagnostic plots
    "models.plot.actual": {"en": "actual", "zh": "实际"},
    "models.plot.expected": {"en": "expected ({model})", "zh": "模型预期（{model}）"},
    "models.plot.partial": {"en": "partial period", "zh": "不完整周期"},
    "models.plot.holdout": {"en": "holdout", "zh": "留出期"},
    "models.plot.period": {"en": "period ({freq})", "zh": "周期（{freq}）"},
    "models.plot.cum_repeat": {"en": "cumulative repeat transactions", "zh": "累计复购次数"},
    "models.plot.inc_repeat": {"en": "repeat transactions per period", "zh": "每期复购次数"},
    "models.plot.tracking_title": {"en": "Tracking: actual vs expected repeat transactions",
                                   "zh": "跟踪图：实际与预期复购次数"},
    "models.plot.cal_repeat": {"en": "repeat transactions in the calibration period",
                               "zh": "校准期复购次数"},
    "models.plot.customers": {"en": "customers", "zh": "客户数"},
    "models.plot.period_title": {"en": "Frequency of repeat transactions",
                                 "zh": "复购次数分布"},
    "models.plot.cal_frequency": {"en": "repeat transactions in the calibration period",
                                  "zh": "校准期复购次数"},
    "models.plot.cal_recency": {"en": "recency at the end of calibration",
                                "zh": "校准期末的最近购买时间"},
    "models.plot.mean_holdout": {"en": "mean purchases in the holdout period",
                                 "zh": "留出期平均购买次数"},
    "models.plot.cvh_title": {"en": "Calibration vs holdout purchases",
                              "zh": "校准期与留出期购买对比"},
    "models.plot.frequency": {"en": "frequency (repeat transactions)", "zh": "频次（复购次数）"},
    "models.plot.recency": {"en": "recency ({unit})", "zh": "最近购买时间（{unit}）"},
    "models.plot.frm_title": {"en": "Expected purchases by frequency and recency (T = {T})",
                              "zh": "按频次与最近购买时间的预期购买次数（T = {T}）"},
    "models.plot.frm_cbar": {"en": "expected purchases in the next {t}",
                             "zh": "未来 {t} 内的预期购买次数"},
    "models.plot.pam_title": {"en": "Probability alive by frequency and recency (T = {T})",
                              "zh": "按频次与最近购买时间的存活概率（T = {T}）"},
    "models.plot.p_alive": {"en": "P(alive)", "zh": "存活概率"},
    "models.plot.purchase": {"en": "purchase", "zh": "购买"},
    "models.plot.history_title": {"en": "P(alive) history of customer {customer}",
                                  "zh": "客户 {customer} 的存活概率变化"},
    "models.plot.interval": {"en": "{level}% interval ({method})", "zh": "{level}% 区间（{method}）"},
    "models.plot.estimate": {"en": "estimate", "zh": "估计值"},
}

# ---- plots -----------------------------------------------------------------------------
_PLOTS: dict[str, Entry] = {}

# ---- the HTML report, the demo and the command line ------------------------------------
_REPORT: dict[str, Entry] = {}


def _merge(*sections: dict[str, Entry]) -> dict[str, Entry]:
    out: dict[str, Entry] = {}
    for sec in sections:
        for key, entry in sec.items():
            if key in out:
                raise RuntimeError(f"duplicate i18n key {key!r}")
            out[key] = entry
    return out


CATALOGUE: dict[str, Entry] = _merge(_COMMON, _QUALITY, _COHORTS, _SEGMENTS, _METRICS,
                                     _ACTIONS, _MODELS, _PLOTS, _REPORT)


def check_lang(lang: Any) -> str:
    """Return ``lang`` when it is a supported language, else raise a ValueError."""
    if lang not in LANGS:
        raise ValueError(f"lang must be 'en' (English labels) or 'zh' (Chinese labels), "
                         f"got {lang!r}")
    return lang


def text(key: str, lang: str = "en", **fmt: Any) -> str:
    """The catalogue text for ``key`` in ``lang``, formatted with ``fmt``.

    Examples
    --------
    >>> from siyu._i18n import text
    >>> text("word.customers", "zh")
    '客户数'
    """
    entry = CATALOGUE[key]
    s = entry[check_lang(lang)]
    return s.format(**fmt) if fmt else s


def labels(keys: list[str] | tuple[str, ...], lang: str = "en") -> list[str]:
    """Texts of several keys, in order."""
    return [text(k, lang) for k in keys]
