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
_ACTIONS: dict[str, Entry] = {
    # reason codes of the recall list (plain words; {product} is the shop's own label)
    "actions.reason.due_ago": {"en": "{product} due {days} days ago",
                               "zh": "{product} 已到期 {days} 天"},
    "actions.reason.due_yesterday": {"en": "{product} due yesterday", "zh": "{product} 昨天到期"},
    "actions.reason.due_today": {"en": "{product} due today", "zh": "{product} 今天到期"},
    "actions.reason.due_tomorrow": {"en": "{product} due tomorrow", "zh": "{product} 明天到期"},
    "actions.reason.due_in": {"en": "{product} due in {days} days",
                              "zh": "{product} {days} 天后到期"},
    "actions.reason.more": {"en": " (+{n} more due)", "zh": "（另有 {n} 件到期）"},
    "actions.reason.overdue": {"en": "usually buys every {gap} days; {days} days since last order",
                               "zh": "通常每 {gap} 天购买一次；距上次下单已 {days} 天"},
    "actions.reason.overdue_product": {
        "en": "their products are usually rebought every {gap} days; {days} days since last order",
        "zh": "所购商品通常每 {gap} 天复购一次；距上次下单已 {days} 天"},
    "actions.reason.alive_drop": {"en": "P(alive) fell from {before} to {now} in the last "
                                        "{window} days",
                                  "zh": "存活概率 {window} 天内从 {before} 降至 {now}"},
    "actions.reason.alive_drop_month": {"en": "P(alive) fell from {before} to {now} since "
                                              "last month",
                                        "zh": "存活概率较上月从 {before} 降至 {now}"},
    "actions.sep.reasons": {"en": "; ", "zh": "；"},
    "actions.sep.products": {"en": ", ", "zh": "、"},
    # CRM / 企业微信 tags
    "actions.tag.due": {"en": "replenish", "zh": "补货提醒"},
    "actions.tag.alive_drop": {"en": "churn warning", "zh": "流失预警"},
    "actions.tag.overdue": {"en": "re-engage", "zh": "激活需求"},
    "actions.tag.win_back": {"en": "win back", "zh": "召回"},
    "actions.basis.own": {"en": "own gaps", "zh": "本人间隔"},
    "actions.basis.product": {"en": "product cycle", "zh": "商品周期"},
    # recall-list headers (report table, CSV with lang="zh")
    "actions.col.customer": {"en": "customer", "zh": "客户"},
    "actions.col.rank": {"en": "rank", "zh": "排名"},
    "actions.col.stage": {"en": "stage", "zh": "生命周期阶段"},
    "actions.col.days_since_last": {"en": "days since last purchase", "zh": "距上次购买天数"},
    "actions.col.last_purchase": {"en": "last purchase", "zh": "上次购买日期"},
    "actions.col.typical_gap": {"en": "typical gap (days)", "zh": "典型购买间隔（天）"},
    "actions.col.gap_basis": {"en": "gap from", "zh": "间隔依据"},
    "actions.col.overdue_ratio": {"en": "overdue ratio", "zh": "逾期倍数"},
    "actions.col.n_due": {"en": "products due", "zh": "到期商品数"},
    "actions.col.due_products": {"en": "due products", "zh": "到期商品"},
    "actions.col.days_past_due": {"en": "days past due", "zh": "已过期天数"},
    "actions.col.p_alive": {"en": "P(alive)", "zh": "存活概率"},
    "actions.col.p_alive_before": {"en": "P(alive) before", "zh": "此前存活概率"},
    "actions.col.expected_purchases": {"en": "expected purchases", "zh": "预期购买次数"},
    "actions.col.expected_value": {"en": "expected value", "zh": "预期价值"},
    "actions.col.value_at_stake": {"en": "value at stake", "zh": "挽留价值"},
    "actions.col.reason_code": {"en": "reason code", "zh": "理由代码"},
    "actions.col.reason": {"en": "why contact", "zh": "联系理由"},
    "actions.col.tag": {"en": "tag", "zh": "标签"},
    # replenishment-cycle table headers
    "actions.col.product": {"en": "product", "zh": "商品"},
    "actions.col.category": {"en": "category", "zh": "品类"},
    "actions.col.n_buyers": {"en": "buyers", "zh": "购买人数"},
    "actions.col.rebuy_share": {"en": "rebuy share", "zh": "复购占比"},
    "actions.col.gap_median": {"en": "median observed gap (days)", "zh": "已观察间隔中位数（天）"},
    "actions.col.cycle": {"en": "cycle (days, censoring-aware)", "zh": "补货周期（天，含删失）"},
    "actions.col.km_q25": {"en": "25% rebuy by (days)", "zh": "25% 复购天数"},
    "actions.col.km_q75": {"en": "75% rebuy by (days)", "zh": "75% 复购天数"},
    # the report section
    "actions.section.title": {"en": "Who to contact", "zh": "本周联系谁"},
    "actions.section.intro": {
        "en": "{n_listed:,} of {n_considered:,} customers are worth contacting as of {as_of}: "
              "a product they buy is due, they are well past their usual gap, or their "
              "P(alive) is falling. The top {top} by value at stake:",
        "zh": "截至 {as_of}，{n_considered:,} 位客户中有 {n_listed:,} 位值得联系：常购商品到期、"
              "明显超过平时的购买间隔，或存活概率正在下降。按挽留价值排前 {top} 位："},
    "actions.section.value_model": {
        "en": "Value at stake: the expected value of the next {horizon:g} days if the "
              "customer is retained ({model}).",
        "zh": "挽留价值：若客户留存，未来 {horizon:g} 天的预期价值（{model}）。"},
    "actions.section.value_pace": {
        "en": "Value at stake: mean order-day amount × {horizon:g} days ÷ typical gap (no "
              "model given).",
        "zh": "挽留价值：平均单日消费额 × {horizon:g} 天 ÷ 典型购买间隔（未提供模型）。"},
    "actions.section.csv": {"en": "The full list is in {path}.", "zh": "完整名单见 {path}。"},
    "actions.cycles.title": {"en": "Replenishment cycles", "zh": "补货周期"},
    "actions.cycles.intro": {
        "en": "Days between a customer's consecutive purchases of the same {by}. The cycle "
              "counts still-open intervals as censored (Kaplan–Meier median), so long "
              "cycles are not underestimated; {by}s bought by fewer than {min_customers} "
              "customers, or rebought by fewer than half, have none.",
        "zh": "同一客户连续两次购买同一{by}的间隔天数。补货周期把尚未结束的间隔作为删失处理"
              "（Kaplan–Meier 中位数），不会低估长周期；购买人数少于 {min_customers} 或复购不足"
              "一半的{by}不给出周期。"},
    "actions.word.product": {"en": "product", "zh": "商品"},
    "actions.word.category": {"en": "category", "zh": "品类"},
}

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
