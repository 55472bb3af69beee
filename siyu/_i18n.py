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
_SEGMENTS: dict[str, Entry] = {
    # lifecycle stages (DESIGN section 2), in stage order
    "stage.recent": {"en": "recent", "zh": "新交易后"},
    "stage.stable": {"en": "stable", "zh": "稳定关系"},
    "stage.lapsing": {"en": "lapsing", "zh": "关系衰退"},
    # value tiers, in tier order
    "tier.potential": {"en": "potential", "zh": "潜在用户"},
    "tier.one_time": {"en": "one-time", "zh": "已购一次"},
    "tier.repeat": {"en": "repeat", "zh": "复购用户"},
    "tier.multi_repeat": {"en": "multi-repeat", "zh": "复购多次"},
    "tier.member": {"en": "member", "zh": "会员用户"},
    # default segments of the quantile-score RFM (tx.rfm(scheme="scores"))
    "rfm.champions": {"en": "champions", "zh": "冠军客户"},
    "rfm.loyal": {"en": "loyal", "zh": "忠诚客户"},
    "rfm.potential_loyalists": {"en": "potential loyalists", "zh": "潜力客户"},
    "rfm.new_customers": {"en": "new customers", "zh": "新客户"},
    "rfm.promising": {"en": "promising", "zh": "有潜力新客"},
    "rfm.need_attention": {"en": "need attention", "zh": "需要关注"},
    "rfm.about_to_sleep": {"en": "about to sleep", "zh": "即将沉睡"},
    "rfm.cannot_lose": {"en": "cannot lose them", "zh": "不能流失"},
    "rfm.at_risk": {"en": "at risk", "zh": "流失风险"},
    "rfm.hibernating": {"en": "hibernating", "zh": "沉睡客户"},
    "segments.unmatched": {"en": "{other} (unmatched)", "zh": "{other}（未匹配）"},
    # migration heat map axes
    "segments.from": {"en": "from", "zh": "上期阶段"},
    "segments.to": {"en": "to", "zh": "本期阶段"},
    "segments.pooled_probabilities": {"en": "Transition probabilities (pooled)",
                                      "zh": "转移概率（各期合计）"},
}

# ---- operators' metrics (复购率, 回购率, 新客复购率, RFM 八大类, R×F) ----------------------
_METRICS: dict[str, Entry] = {
    "metrics.all": {"en": "all", "zh": "全部"},
    # metric names, as dashboards title them
    "metric.repeat_rate": {"en": "repeat-purchase rate", "zh": "复购率"},
    "metric.return_rate": {"en": "return rate", "zh": "回购率"},
    "metric.new_customer_repeat_rate": {"en": "new-customer repeat rate", "zh": "新客复购率"},
    "metric.rfm8": {"en": "8-class RFM", "zh": "RFM 八大类"},
    "metric.rfm_matrix": {"en": "R×F / R×M matrix", "zh": "R×F / R×M 矩阵"},
    # definitions (the report's definitions table lists them next to repurchase/retention)
    "def.repeat_rate": {
        "en": "Repeat-purchase rate (复购率): of the customers who bought in a window, the "
              "share who bought on at least two different days in it (or placed at least two "
              "orders, counting by orders); by orders: orders beyond each buyer's first ÷ all "
              "orders. Only purchases inside the window count, unlike repurchase.",
        "zh": "复购率：统计期内下单的客户中，期内在两天及以上购买（按订单计：两笔及以上订单）的客户"
              "占比；按订单计算：每位客户首单以外的订单数 ÷ 总订单数。只看统计期内的购买，与“复购"
              "（首购后 k 天内再购）”不同。"},
    "def.return_rate": {
        "en": "Return rate (回购率): of the customers who bought in a period, the share who "
              "bought again in the next period; one value per period, flagged when the next "
              "period is not fully observed.",
        "zh": "回购率：某一期购买的客户中，下一期再次购买的占比；每期一个值，下一期未完整观察时"
              "予以标注。"},
    "def.new_customer_repeat_rate": {
        "en": "New-customer repeat rate (新客复购率): of the customers acquired in a period, the "
              "share with a second purchase within k days of their first (or by the end of a "
              "later period); cohorts not yet observable for k days are flagged.",
        "zh": "新客复购率：某一期首次购买的新客中，首购后 k 天内（或到之后某期期末）再次购买的"
              "占比；尚不能完整观察 k 天的新客批次予以标注。"},
    "def.rfm8": {
        "en": "8-class RFM (RFM 八大类): recency (days since the last purchase), frequency "
              "(purchase days) and monetary value (net revenue) are each high or low against a "
              "threshold (the mean by default), giving eight classes from important value to "
              "general win-back; recent is high, and a value equal to the threshold is low.",
        "zh": "RFM 八大类：R（距上次购买天数）、F（购买天数）、M（净消费金额）分别与阈值（默认"
              "平均值）比较分高低，组合成从重要价值客户到一般挽留客户的八类；R 以最近购买为高，"
              "等于阈值算低。"},
    "def.rfm_matrix": {
        "en": "R×F / R×M matrix: customers, revenue or average order value in a grid of "
              "recency buckets (days since the last purchase) by frequency buckets (purchase "
              "days) or monetary buckets (net revenue).",
        "zh": "R×F / R×M 矩阵：按最近购买天数分段与购买天数分段（或净消费金额分段）交叉统计的"
              "客户数、收入或客单价。"},
    # RFM 八大类, in class order (DESIGN section 2c)
    "rfm8.important_value": {"en": "important value", "zh": "重要价值客户"},
    "rfm8.important_develop": {"en": "important to develop", "zh": "重要发展客户"},
    "rfm8.important_keep": {"en": "important to keep", "zh": "重要保持客户"},
    "rfm8.important_win_back": {"en": "important to win back", "zh": "重要挽留客户"},
    "rfm8.general_value": {"en": "general value", "zh": "一般价值客户"},
    "rfm8.general_develop": {"en": "general to develop", "zh": "一般发展客户"},
    "rfm8.general_keep": {"en": "general to keep", "zh": "一般保持客户"},
    "rfm8.general_win_back": {"en": "general to win back", "zh": "一般挽留客户"},
    # axes of tx.rfm_matrix()
    "metrics.axis.R": {"en": "R (days since last purchase)", "zh": "R（距上次购买天数）"},
    "metrics.axis.F": {"en": "F (purchase days)", "zh": "F（购买天数）"},
    "metrics.axis.M": {"en": "M (net revenue)", "zh": "M（净消费金额）"},
    "metrics.value.revenue": {"en": "revenue", "zh": "收入"},
    "metrics.value.aov": {"en": "average order value", "zh": "客单价"},
}

# ---- actions: replenishment, recall lists, cross-sell ------------------------------------
_ACTIONS: dict[str, Entry] = {}

# ---- models and diagnostics ----------------------------------------------------------
_MODELS: dict[str, Entry] = {}

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
