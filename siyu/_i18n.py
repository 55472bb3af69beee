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
    # fit progress (fit(..., verbose=True)) and fits that stop at a boundary (covariates)
    "models.fit.iteration": {
        "en": "{model} iteration {it}: log-likelihood = {ll}, gradient norm = {g}, {s} s",
        "zh": "{model} 第 {it} 次迭代：对数似然 = {ll}，梯度范数 = {g}，{s} 秒"},
    "models.boundary.head": {
        "en": "{model}: the fit ran to a boundary ({arrows}; the log-likelihood is flat that "
              "way). {what} Predictions stay finite, but these parameters are not estimates.",
        "zh": "{model}：拟合到达参数边界（{arrows}；对数似然在该方向几乎不变）。{what} "
              "预测仍然有限，但这些参数不是有意义的估计。"},
    "models.boundary.rate_homogeneous": {
        "en": "r, alpha → ∞: purchase rates are nearly the same for every customer "
              "(r/alpha = {rate} per unit); the Gamma mixing collapses to one Poisson rate.",
        "zh": "r、alpha → ∞：所有客户的购买频率几乎相同（r/alpha = 每单位时间 {rate}），"
              "Gamma 异质性退化为单一泊松频率。"},
    "models.boundary.dropout_homogeneous": {
        "en": "The dropout parameters grow together: dropout is nearly the same for every "
              "customer.",
        "zh": "流失参数同步增大：所有客户的流失倾向几乎相同。"},
    "models.boundary.bg_no_dropout": {
        "en": "a → 0 or b → ∞: almost no customer drops out (dropout probability a/(a+b) → 0); "
              "consider ParetoNBD or a longer calibration period.",
        "zh": "a → 0 或 b → ∞：几乎没有客户流失（流失概率 a/(a+b) → 0）；可考虑 ParetoNBD 或更长的校准期。"},
    "models.boundary.pnbd_no_dropout": {
        "en": "s → 0 or beta → ∞: almost no customer drops out (dropout rates → 0); consider "
              "a longer calibration period.",
        "zh": "s → 0 或 beta → ∞：几乎没有客户流失（流失率 → 0）；可考虑更长的校准期。"},
    "models.boundary.spend_homogeneous": {
        "en": "q, gamma → ∞: the spend level is nearly the same for every customer.",
        "zh": "q、gamma → ∞：所有客户的客单价水平几乎相同。"},
    "models.boundary.generic": {
        "en": "{param} → {to}: the data do not identify this parameter.",
        "zh": "{param} → {to}：数据无法识别该参数。"},
    "models.boundary.effect": {
        "en": "{param} → {to}: the customers with this attribute behave as an extreme group "
              "(e.g. none of them repeats: perfect separation); merge levels, drop the "
              "covariate or use penalizer > 0.",
        "zh": "{param} → {to}：具有该属性的客户表现极端（例如没有一个复购：完全分离）；"
              "可合并类别、删除该协变量或设置 penalizer > 0。"},
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
