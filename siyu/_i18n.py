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
    "rfm.champions": {"en": "champions", "zh": "重要价值客户"},
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
}

# ---- operators' metrics (复购率, 回购率, 新客复购率, RFM 八大类, R×F) ----------------------
_METRICS: dict[str, Entry] = {}

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
