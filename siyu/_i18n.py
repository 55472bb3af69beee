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
_QUALITY: dict[str, Entry] = {
    "quality.rule": {"en": "rule", "zh": "规则"},
    "quality.count": {"en": "count", "zh": "数量"},
    "quality.description": {"en": "description", "zh": "说明"},
    "quality.title": {"en": "Data quality", "zh": "数据质量"},
    "quality.rows_read": {"en": "rows read", "zh": "读取行数"},
    "quality.rows_without_order_id": {
        "en": "rows without an order id (each kept as its own order)",
        "zh": "无订单号的行(各自视为一笔订单)"},
    "quality.void_rows": {"en": "void rows dropped (status {status})",
                          "zh": "无效行已剔除(状态 {status})"},
    "quality.refunded_orders": {"en": "refunded orders dropped (by status; revenue 0)",
                                "zh": "已退款订单已剔除(按状态,收入计 0)"},
    "quality.refunded_items": {
        "en": "refunded line items dropped from orders that stay paid (by status)",
        "zh": "仍有效订单中已退款的商品行已剔除(按状态)"},
    "quality.fully_refunded_refund_column": {
        "en": "orders fully refunded by the refund column, dropped",
        "zh": "按退款列全额退款的订单已剔除"},
    "quality.fully_refunded_negative_rows": {
        "en": "orders fully refunded by negative rows, dropped",
        "zh": "被负金额行全额冲销的订单已剔除"},
    "quality.partial_refunds": {"en": "orders partially refunded (amount lowered)",
                                "zh": "部分退款订单(金额已扣减)"},
    "quality.negative_rows_netted": {"en": "negative rows netted against their order",
                                     "zh": "负金额行已冲抵其订单"},
    "quality.refunds_without_order": {
        "en": "refund rows without an order id (reduce revenue, not purchases)",
        "zh": "无订单号的退款行(冲减收入,不计为购买)"},
    "quality.refunds_order_not_in_log": {
        "en": "refunds of orders not in the log (reduce revenue, not purchases)",
        "zh": "原订单不在数据中的退款(冲减收入,不计为购买)"},
    "quality.refund_rows": {"en": "refund rows (negative amounts: reduce revenue, not purchases)",
                            "zh": "退款行(负金额:冲减收入,不计为购买)"},
    "quality.zero_amount_orders": {"en": "orders of amount 0 (kept: they are purchases)",
                                   "zh": "金额为 0 的订单(保留,计为购买)"},
    "quality.line_items_merged": {"en": "line items merged into their order",
                                  "zh": "并入所属订单的商品行"},
    "quality.duplicate_rows": {"en": "exact duplicate rows (counted, kept)",
                               "zh": "完全重复的行(已计数,保留)"},
    "quality.customer_ids_stripped": {"en": "customer ids with surrounding spaces stripped",
                                      "zh": "已去除首尾空格的客户ID"},
    "quality.order_ids_stripped": {"en": "order ids with surrounding spaces stripped",
                                   "zh": "已去除首尾空格的订单号"},
    "quality.orders": {"en": "orders in the log (purchases)", "zh": "有效订单数(购买)"},
    "quality.rows_after_end": {"en": "orders after {end} (ignored by analyses ending then)",
                               "zh": "{end} 之后的订单(截至该日的分析不计入)"},
    # reading a file (siyu.read_orders)
    "quality.total_rows_dropped": {"en": "total rows dropped (合计 / 总计 / Total, no time)",
                                   "zh": "已删除的合计行(合计 / 总计 / Total,无时间)"},
    "quality.blank_rows_dropped": {"en": "blank rows dropped", "zh": "已删除的空行"},
    "quality.unreadable_rows_dropped": {
        "en": "rows with an unreadable id, time or amount dropped (on_bad=\"drop\")",
        "zh": "无法读取客户ID、时间或金额而删除的行(on_bad=\"drop\")"},
}

# ---- cohorts, retention, survival, repurchase, unit economics ---------------------------
_COHORTS: dict[str, Entry] = {}

# ---- segments: lifecycle, value tiers, RFM, operators' metrics ----------------------------
_SEGMENTS: dict[str, Entry] = {}

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
