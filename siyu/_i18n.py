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
    "word.cohort": {"en": "cohort", "zh": "同期群"},
    "word.size": {"en": "size", "zh": "规模"},
    "word.age": {"en": "age", "zh": "期数"},
    "word.total": {"en": "total", "zh": "合计"},
    "word.metric": {"en": "metric", "zh": "指标"},
    "word.all_customers": {"en": "all customers", "zh": "全部客户"},
    "money.suffix": {"en": " ({currency})", "zh": "（{currency}）"},
    # calendar periods: noun, plural (for "k months"), adjective (for "monthly cohort")
    "period.D": {"en": "day", "zh": "日"},
    "period.W": {"en": "week", "zh": "周"},
    "period.M": {"en": "month", "zh": "月"},
    "period.Q": {"en": "quarter", "zh": "季度"},
    "period.Y": {"en": "year", "zh": "年"},
    "period.D.plural": {"en": "days", "zh": "天"},
    "period.W.plural": {"en": "weeks", "zh": "周"},
    "period.M.plural": {"en": "months", "zh": "月"},
    "period.Q.plural": {"en": "quarters", "zh": "季度"},
    "period.Y.plural": {"en": "years", "zh": "年"},
    "period.D.adj": {"en": "daily", "zh": "日"},
    "period.W.adj": {"en": "weekly", "zh": "周"},
    "period.M.adj": {"en": "monthly", "zh": "月"},
    "period.Q.adj": {"en": "quarterly", "zh": "季度"},
    "period.Y.adj": {"en": "yearly", "zh": "年度"},
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
_COHORTS: dict[str, Entry] = {
    "metric.retention": {"en": "retention", "zh": "留存率"},
    "metric.active": {"en": "active customers", "zh": "活跃客户数"},
    "metric.orders": {"en": "orders", "zh": "订单数"},
    "metric.revenue": {"en": "net revenue", "zh": "净收入"},
    "metric.ltv": {"en": "cumulative revenue per customer (historical LTV)",
                   "zh": "人均累计收入（历史 LTV）"},
    "cohorts.existing": {"en": "existing customers", "zh": "存量客户"},
    "cohorts.partial_note": {"en": "last period ({period}): {n} of {m} days",
                             "zh": "最后一期（{period}）仅含 {n}/{m} 天"},
    "cohorts.caption": {"en": "{metric} by {period} cohort (end {end})",
                        "zh": "各{period}同期群{metric}（截至 {end}）"},
}

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
_PLOTS: dict[str, Entry] = {
    "plot.x.age": {"en": "age ({periods} since acquisition)", "zh": "获客后期数（{periods}）"},
    "plot.x.days": {"en": "days since first purchase", "zh": "首次购买后天数"},
    "plot.x.day_range": {"en": "days since first purchase (range)", "zh": "首次购买后天数区间"},
    "plot.x.gap": {"en": "days between purchases", "zh": "两次购买间隔天数"},
    "plot.y.retention": {"en": "share of the cohort buying", "zh": "同期群购买客户占比"},
    "plot.y.active": {"en": "active customers", "zh": "活跃客户数"},
    "plot.y.orders": {"en": "orders", "zh": "订单数"},
    "plot.y.revenue": {"en": "net revenue", "zh": "净收入"},
    "plot.y.ltv": {"en": "cumulative revenue per customer", "zh": "人均累计收入"},
    "plot.y.margin": {"en": "cumulative margin per customer", "zh": "人均累计毛利"},
    "plot.y.retention_rate": {"en": "retention rate", "zh": "留存率"},
    "plot.y.survival": {"en": "share of customers not churned", "zh": "未流失客户占比"},
    "plot.y.repurchase": {"en": "repurchase rate", "zh": "复购率"},
    "plot.y.gaps": {"en": "number of gaps", "zh": "间隔次数"},
    "plot.y.per_customer": {"en": "per acquired customer", "zh": "每位新客"},
    "plot.title.heatmap": {"en": "{metric} by {period} cohort", "zh": "各{period}同期群{metric}"},
    "plot.title.retention_curves": {"en": "retention by {period} cohort",
                                    "zh": "各{period}同期群留存曲线"},
    "plot.title.ltv_curves": {"en": "historical LTV by {period} cohort",
                              "zh": "各{period}同期群历史 LTV"},
    "plot.title.retention.n-day": {"en": "day-k retention (a purchase exactly k days later)",
                                   "zh": "第 k 天留存（恰在第 k 天再次购买）"},
    "plot.title.retention.unbounded": {"en": "unbounded retention (a purchase on day k or later)",
                                       "zh": "k 天及以后留存（第 k 天或之后再次购买）"},
    "plot.title.retention.bracket": {"en": "retention by day range",
                                     "zh": "分天数区间留存"},
    "plot.title.survival": {"en": "survival (churn after {d} days without a purchase)",
                            "zh": "客户存活率（{d} 天未购买视为流失）"},
    "plot.title.repurchase": {"en": "second purchase within k days, by {period} cohort",
                              "zh": "各{period}同期群 k 天内复购率"},
    "plot.title.interpurchase": {"en": "days between consecutive purchases",
                                 "zh": "相邻两次购买的间隔天数"},
    "plot.title.cac_ltv": {"en": "acquisition cost and LTV by {period} cohort",
                           "zh": "各{period}同期群获客成本与 LTV"},
    "plot.legend.balanced": {"en": "balanced average ({n} cohorts, ages 0-{k})",
                             "zh": "平衡平均（{n} 个同期群，第 0-{k} 期）"},
    "plot.legend.unbalanced": {"en": "average (cohorts change with age)",
                               "zh": "平均（各期同期群不同）"},
    "plot.legend.average": {"en": "average", "zh": "平均"},
    "plot.legend.partial": {"en": "partial last period (hollow)",
                            "zh": "不完整的最后一期（空心点）"},
    "plot.legend.all": {"en": "all customers", "zh": "全部客户"},
    "plot.legend.within": {"en": "within {k} days", "zh": "{k} 天内"},
    "plot.legend.median": {"en": "median {m} days", "zh": "中位数 {m} 天"},
    "plot.legend.customer_share": {"en": "share of customers", "zh": "客户占比"},
    "plot.legend.revenue_share": {"en": "share of revenue", "zh": "收入占比"},
    "plot.legend.ltv_h": {"en": "LTV over {h} {periods} (cohorts observed that long)",
                          "zh": "{h} 个{periods}的 LTV（已观察满期的同期群）"},
    "plot.legend.ltv_to_date": {"en": "LTV to date (younger cohorts, fewer periods)",
                                "zh": "至今 LTV（未满期的同期群，期数较少）"},
    "plot.legend.cac": {"en": "acquisition cost (CAC)", "zh": "获客成本"},
    "plot.no_cjk_font": {
        "en": "no font with Chinese glyphs found, so Chinese labels cannot be drawn: install "
              "one (Debian/Ubuntu: sudo apt-get install fonts-noto-cjk or fonts-wqy-microhei; "
              "Fedora: sudo dnf install google-noto-sans-cjk-fonts; macOS: PingFang SC and "
              "Heiti SC come with the system; Windows: Microsoft YaHei and SimHei come with "
              "the system) and run again; siyu finds a newly installed font without clearing "
              "matplotlib's font cache",
        "zh": "未找到含中文字形的字体，图中的中文无法显示：请安装一种（Debian/Ubuntu：sudo apt-get "
              "install fonts-noto-cjk 或 fonts-wqy-microhei；Fedora：sudo dnf install "
              "google-noto-sans-cjk-fonts；macOS 自带 PingFang SC、Heiti SC；Windows 自带 "
              "Microsoft YaHei、SimHei）后重新运行；siyu 会自动找到新安装的字体，无需清除 "
              "matplotlib 的字体缓存"},
}

# ---- the HTML report, the demo and the command line ------------------------------------
_REPORT: dict[str, Entry] = {
    "report.title": {"en": "Customer value report", "zh": "客户价值报告"},
    "report.contents": {"en": "Contents", "zh": "目录"},
    "report.subtitle": {"en": "{rows} rows (orders and refunds) · {customers} customers · "
                              "{start} – {end}",
                        "zh": "{rows} 条记录（订单与退款）· {customers} 位客户 · {start} – {end}"},
    "report.footer": {"en": "Made with siyu {version}. Self-contained page: no scripts, no "
                            "network. Generated: {stamp}",
                      "zh": "由 siyu {version} 生成。本页面独立完整：无脚本，无网络请求。生成时间：{stamp}"},
    "report.section.overview": {"en": "Overview", "zh": "数据概览"},
    "report.section.data": {"en": "Data", "zh": "数据处理"},
    "report.section.cohorts": {"en": "Acquisition cohorts", "zh": "获客同期群"},
    "report.section.retention": {"en": "Retention", "zh": "留存"},
    "report.section.survival": {"en": "Customer survival", "zh": "客户生存曲线"},
    "report.section.repurchase": {"en": "Repurchase", "zh": "复购"},
    "report.section.lifecycle": {"en": "Lifecycle stages", "zh": "生命周期阶段"},
    "report.section.value-tiers": {"en": "Value tiers", "zh": "客户价值分层"},
    "report.section.unit-economics": {"en": "Unit economics", "zh": "单位经济模型"},
    "report.section.channels": {"en": "Channels", "zh": "渠道对比"},
    "report.section.definitions": {"en": "Definitions", "zh": "指标定义"},
    # overview
    "report.kpi.rows": {"en": "rows (orders and refunds)", "zh": "记录数（订单与退款）"},
    "report.kpi.customers": {"en": "customers", "zh": "客户数"},
    "report.kpi.first_day": {"en": "first day", "zh": "首日"},
    "report.kpi.last_day": {"en": "last day", "zh": "末日"},
    "report.kpi.repeat_share": {"en": "repeat buyers (2+ purchase days)",
                                "zh": "复购客户占比（2个及以上购买日）"},
    "report.kpi.revenue": {"en": "net revenue", "zh": "净收入"},
    "report.kpi.rev_per_customer": {"en": "net revenue per customer", "zh": "人均净收入"},
    "report.columns_note": {"en": "Columns: {columns} · cohort period: {period}",
                            "zh": "字段：{columns} · 同期群周期：{period}"},
    "report.role.customer": {"en": "customer", "zh": "客户"},
    "report.role.time": {"en": "time", "zh": "时间"},
    "report.role.amount": {"en": "amount", "zh": "金额"},
    "report.role.channel": {"en": "channel", "zh": "渠道"},
    "report.role.member": {"en": "member flag", "zh": "会员标记"},
    "report.role.order": {"en": "order id", "zh": "订单号"},
    "report.role.status": {"en": "status", "zh": "订单状态"},
    "report.role.refund": {"en": "refund", "zh": "退款金额"},
    "report.role.product": {"en": "product", "zh": "商品"},
    "report.role.category": {"en": "category", "zh": "品类"},
    "report.role.quantity": {"en": "quantity", "zh": "数量"},
    "report.lead.data": {"en": "What happened to the rows of the input: every row dropped, "
                               "merged, netted or normalised is counted.",
                         "zh": "输入数据的处理情况：每一条被删除、合并、冲减或规范化的记录都有计数。"},
    "report.col.count": {"en": "rows", "zh": "记录数"},
    "report.col.description": {"en": "what", "zh": "说明"},
    # cohorts
    "report.lead.cohorts": {
        "en": "Share of each {period} cohort (customers by the {period} of their first "
              "purchase) that bought again k {periods} later.",
        "zh": "按首次购买所在{period}划分的客户同期群，在其后第 k 个{periods}再次购买的客户占比。"},
    "report.note.cohort_cut": {
        "en": "Latest {shown} of {total} cohorts and ages 0-{ages} shown; the heat map above "
              "covers all of them.",
        "zh": "表中显示最近 {shown} 个同期群（共 {total} 个）及第 0-{ages} 期；上方热力图包含全部同期群。"},
    "report.note.partial": {
        "en": "Hatched cells: {note}. They are shown but left out of the averages.",
        "zh": "斜线单元格：{note}。这些单元格照常显示，但不计入平均值。"},
    "report.note.existing": {
        "en": "{n} customers who bought before {day} are existing customers (acquired before "
              "the log starts): one row of their own, in no cohort, average, CAC or payback.",
        "zh": "{day} 之前已购买的 {n} 位客户为存量客户（在数据开始前获客）：单独一行，不计入任何同期群、"
              "平均值、获客成本或回本周期。"},
    "report.note.existing_excluded": {
        "en": "{n} existing customers (first purchase before the log's acquisition period) "
              "are left out: their first purchase is unknown.",
        "zh": "{n} 位存量客户（首次购买早于获客期）未计入：其真实首次购买时间未知。"},
    "report.note.suspect": {
        "en": "The first cohort ({first}, {n} customers) is more than twice the median of the "
              "next ones: the log probably starts after the shop did, and that cohort holds "
              "customers acquired earlier, which inflates its retention and LTV. Rerun with "
              "--existing-before {day} (existing_before=\"{day}\") to keep them out of the "
              "cohorts.",
        "zh": "第一个同期群（{first}，{n} 位客户）超过其后几个同期群中位数的两倍：数据很可能始于店铺开业之后，"
              "该同期群包含更早获客的客户，会抬高其留存率和 LTV。请加上 --existing-before {day}"
              "（existing_before=\"{day}\"）重新运行，把他们排除在同期群之外。"},
    "report.note.no_average": {
        "en": "No cohort is completely observed yet: no average is shown.",
        "zh": "尚无完整观察到的同期群：不显示平均值。"},
    "report.avg.retention": {
        "en": "balanced average retention ({n} cohorts: {span})",
        "zh": "平衡平均留存率（{n} 个同期群：{span}）"},
    "report.avg.customers": {"en": "customers in the average", "zh": "平均所含客户数"},
    "report.avg.ltv": {"en": "balanced average cumulative net revenue per customer ({n} cohorts)",
                       "zh": "平衡平均人均累计净收入（{n} 个同期群）"},
    "report.note.balanced": {
        "en": "Balanced average: every age over the same {n} cohorts ({span}), each observed "
              "through age {k} without a partial period; an average over whichever cohorts "
              "reached an age would mix old and young cohorts.",
        "zh": "平衡平均：每一期都基于同样的 {n} 个同期群（{span}），它们都已完整观察到第 {k} 期；"
              "若每期取当期可观察到的同期群，新老同期群会混在一起。"},
    # retention, survival, repurchase
    "report.lead.retention": {
        "en": "Retention curves of the latest cohorts (thin lines) and their balanced "
              "average (black); below, the share of eligible customers who bought again "
              "within day ranges after their first purchase.",
        "zh": "最近各同期群的留存曲线（细线）及其平衡平均（黑线）；下表为首次购买后各天数区间内再次购买的"
              "客户占比（仅统计可完整观察的客户）。"},
    "report.col.bracket": {"en": "days after first purchase", "zh": "首次购买后天数"},
    "report.col.window": {"en": "window", "zh": "时间窗口"},
    "report.lead.survival": {
        "en": "Kaplan-Meier estimate of the share of customers still active, where a "
              "customer churns at their last purchase when more than {d} days pass without "
              "another one.",
        "zh": "客户存活率的 Kaplan-Meier 估计：若客户最后一次购买后超过 {d} 天未再购买，则视为在最后一次"
              "购买时流失。"},
    "report.col.group": {"en": "customers", "zh": "客户"},
    "report.col.customers": {"en": "customers", "zh": "客户数"},
    "report.col.median_life": {"en": "median lifetime (days)", "zh": "生命周期中位数（天）"},
    "report.col.survival_at": {"en": "share still active after {t} days",
                               "zh": "{t} 天后仍活跃的比例"},
    "report.col.rmst": {"en": "mean lifetime within the first 365 days (days)",
                        "zh": "前 365 天内的平均生命周期（天）"},
    "report.never": {"en": "not reached", "zh": "未达到"},
    "report.lead.repurchase": {
        "en": "Share of customers whose second purchase day came within k days of the "
              "first, among customers observed for at least k days.",
        "zh": "首次购买后 k 天内产生第二个购买日的客户占比（仅统计已观察满 k 天的客户）。"},
    # segments
    "report.lead.lifecycle": {
        "en": "Customers by days since their last purchase at {date}: {s1} up to {b1} days, "
              "{s2} up to {b2} days, {s3} beyond.",
        "zh": "按截至 {date} 距上次购买的天数划分：{b1} 天内为{s1}，{b2} 天内为{s2}，超过则为{s3}。"},
    "report.lead.tiers": {
        "en": "Customers by purchase days up to {date}: one-time, repeat (2), multi-repeat "
              "(3+); members (membership flag) win over the count.",
        "zh": "按截至 {date} 的购买日数划分：已购一次、复购用户（2 次）、复购多次（3 次及以上）；会员标记优先。"},
    # table headers
    "report.col.share": {"en": "share", "zh": "客户占比"},
    "report.col.revenue": {"en": "net revenue", "zh": "净收入"},
    "report.col.revenue_share": {"en": "revenue share", "zh": "收入占比"},
    "report.col.mean_days_since_last": {"en": "mean days since last purchase",
                                        "zh": "平均距上次购买天数"},
    "report.col.eligible": {"en": "eligible", "zh": "可观察客户数"},
    "report.col.repurchased": {"en": "repurchased", "zh": "复购客户数"},
    "report.col.retained": {"en": "retained", "zh": "留存客户数"},
    "report.col.rate": {"en": "rate", "zh": "比例"},
    "report.col.new_customers": {"en": "new customers", "zh": "新客数"},
    "report.col.spend": {"en": "spend", "zh": "投放费用"},
    "report.col.cac": {"en": "CAC", "zh": "获客成本"},
    "report.col.ltv": {"en": "LTV", "zh": "LTV（客户终身价值）"},
    "report.col.ltv_12": {"en": "LTV over 12 months", "zh": "12 个月 LTV"},
    "report.col.ltv_to_date": {"en": "LTV to date", "zh": "至今 LTV"},
    "report.col.ltv_cac": {"en": "LTV/CAC", "zh": "LTV/获客成本"},
    "report.col.payback_periods": {"en": "payback ({periods})", "zh": "回本周期（{periods}）"},
    "report.col.orders_per_customer": {"en": "orders per customer", "zh": "人均订单数"},
    "report.col.cost_per_order": {"en": "cost per order", "zh": "每单获客成本"},
    "report.col.observed_periods": {"en": "periods observed", "zh": "已观察期数"},
    "report.col.repurchase_rate": {"en": "repurchase rate", "zh": "复购率"},
    "report.col.annual_spend_per_customer": {"en": "annual spend per customer",
                                             "zh": "人均年消费"},
    "report.col.existing_customers": {"en": "existing customers (left out)",
                                      "zh": "存量客户（未计入）"},
    "report.col.retention_m": {"en": "retention month {k}", "zh": "第 {k} 月留存率"},
    "report.col.term": {"en": "term", "zh": "指标"},
    "report.col.definition": {"en": "definition", "zh": "定义"},
    "report.col.api": {"en": "in siyu", "zh": "siyu 函数"},
    # unit economics, channels
    "report.lead.ue": {
        "en": "Acquisition spend against customer value per {period} cohort: CAC = spend / "
              "new customers; LTV = cumulative net revenue{margin} per customer over the "
              "first {h} {periods} (cohorts observed that long); payback = first age at which "
              "it covers CAC.",
        "zh": "各{period}获客同期群的投放费用与客户价值：获客成本 = 投放费用 / 新客数；LTV = 前 {h} 个"
              "{periods}人均累计净收入{margin}（仅限已观察满期的同期群）；回本周期 = 累计价值首次覆盖获客成本的期数。"},
    "report.margin_factor": {"en": " × margin {m}", "zh": " × 毛利率 {m}"},
    "report.note.ue_cut": {"en": "Latest {shown} of {total} cohorts shown, plus the blended total.",
                           "zh": "显示最近 {shown} 个同期群（共 {total} 个）及汇总行。"},
    "report.note.spend_outside": {
        "en": "{n} spend period(s) lie outside the data (no customer could be acquired then): "
              "{periods}. Their spend is listed but in no CAC.",
        "zh": "{n} 个投放期不在数据范围内（当期不可能获客）：{periods}。其费用照列，但不计入获客成本。"},
    "report.note.spend_no_customers": {
        "en": "{n} spend period(s) acquired no customer: {periods}.",
        "zh": "{n} 个投放期没有获得新客：{periods}。"},
    "report.note.no_spend_row": {
        "en": "{n} cohort(s) have customers but no spend row, so no CAC: {periods}.",
        "zh": "{n} 个同期群有新客但没有投放记录，因此没有获客成本：{periods}。"},
    "report.note.ue_partial": {
        "en": "{note}: that period is not counted as observed, so no cohort reaches its "
              "horizon with it.",
        "zh": "{note}：该期不计为已观察期，任何同期群都不会因它而视为满期。"},
    "report.lead.channels": {
        "en": "One row per acquisition channel (the channel of a customer's first purchase).",
        "zh": "每个获客渠道一行（客户首次购买所在的渠道）。"},
    "report.note.top_channels": {
        "en": "The channel column '{column}' has {n} distinct values, too many to compare: "
              "the {top} channels with the most customers are kept and the other "
              "{customers} customers are grouped as '{other}' (--top-channels N keeps "
              "more). Is it really the acquisition channel?",
        "zh": "渠道字段“{column}”有 {n} 个不同取值，无法逐一对比：保留客户最多的 {top} 个渠道，其余 "
              "{customers} 位客户归为“{other}”（--top-channels N 可保留更多）。请确认该字段确实是获客渠道。"},
    "report.note.no_font": {
        "en": "The plots use English labels: {hint}.",
        "zh": "图表暂用英文标注：{hint}。"},
    # definitions
    "report.lead.definitions": {
        "en": "siyu's metrics, next to the operators' metrics with similar names: they are "
              "different numbers.",
        "zh": "siyu 的指标与名称相近的运营常用指标并列：它们是不同的数字。"},
    "report.term.purchase": {"en": "purchase / refund", "zh": "购买 / 退款"},
    "report.def.purchase": {
        "en": "A row with amount ≥ 0 is a purchase; a negative amount is a refund that "
              "reduces the revenue of its period but is never a purchase.",
        "zh": "金额 ≥ 0 的记录为购买；金额为负的记录为退款，冲减当期收入，但不算购买。"},
    "report.term.occasion": {"en": "occasion (purchase day)", "zh": "购买日"},
    "report.def.occasion": {"en": "All purchases of one customer on one calendar day.",
                            "zh": "同一客户同一自然日的所有购买合并为一次。"},
    "report.term.cohort": {"en": "cohort, age", "zh": "同期群、期数"},
    "report.def.cohort": {
        "en": "A customer's cohort is the calendar period of their first purchase; age k is "
              "the number of periods after it. Blank cells are not observed yet.",
        "zh": "客户首次购买所在的自然周期为其同期群；期数 k 为此后的周期数；空白单元格表示尚未观察到。"},
    "report.term.partial": {"en": "partial period", "zh": "不完整期"},
    "report.def.partial": {
        "en": "A period that the end of the data cuts short: its cells are shown (hatched) "
              "but left out of averages and headlines.",
        "zh": "被数据截止日截断的周期：其单元格照常显示（斜线标记），但不计入平均值和关键数字。"},
    "report.term.existing": {"en": "existing customers", "zh": "存量客户"},
    "report.def.existing": {
        "en": "Customers whose first purchase in the data is before existing_before: "
              "acquired before the data starts, so one row of their own, in no cohort.",
        "zh": "在数据中的首次购买早于 existing_before 的客户：在数据开始前已获客，单独一行，不属于任何同期群。"},
    "report.term.balanced": {"en": "balanced average", "zh": "平衡平均"},
    "report.def.balanced": {
        "en": "The size-weighted average row over the same cohorts at every age (those "
              "observed through the last age shown), with the number of cohorts stated.",
        "zh": "每一期都基于同一组同期群（已观察到所示最后一期的同期群）的按规模加权平均，并注明同期群个数。"},
    "report.term.retention": {"en": "retention (siyu)", "zh": "留存率（siyu）"},
    "report.def.retention": {
        "en": "Share of a cohort active at age k, or of the eligible customers buying on "
              "day k (or within a day range) after their first purchase; only customers who "
              "could be observed count.",
        "zh": "同期群在第 k 期活跃的比例，或可观察客户在首次购买后第 k 天（或某天数区间内）再次购买的比例；"
              "只统计可观察到的客户。"},
    "report.term.repurchase": {"en": "repurchase within k days (siyu)",
                               "zh": "k 天内复购（siyu）"},
    "report.def.repurchase": {
        "en": "Share of customers whose second purchase day came within k days of their "
              "first purchase, among those observed for k days.",
        "zh": "首次购买后 k 天内产生第二个购买日的客户占比（仅统计已观察满 k 天的客户）。"},
    "report.term.survival": {"en": "survival", "zh": "生存曲线"},
    "report.def.survival": {
        "en": "Inactivity churn: a customer whose last purchase is more than the churn "
              "window before the end has churned at that purchase; others are censored "
              "(Kaplan-Meier).",
        "zh": "不活跃流失：最后一次购买距截止日超过流失窗口的客户视为在最后一次购买时流失，其余客户为删失"
              "（Kaplan-Meier 估计）。"},
    "report.term.lifecycle": {"en": "lifecycle stage", "zh": "生命周期阶段"},
    "report.def.lifecycle": {
        "en": "By days since the last purchase: recent (up to 30), stable (up to 180), "
              "lapsing (beyond); bounds configurable.",
        "zh": "按距上次购买的天数：新交易后（30 天内）、稳定关系（180 天内）、关系衰退（超过 180 天）；"
              "界限可调。"},
    "report.term.value_tier": {"en": "value tier", "zh": "价值分层"},
    "report.def.value_tier": {
        "en": "one-time (1 purchase day), repeat (2), multi-repeat (3+), member (membership "
              "flag wins).",
        "zh": "已购一次（1 个购买日）、复购用户（2 个）、复购多次（3 个及以上）、会员用户（会员标记优先）。"},
    "report.term.cac_ltv": {"en": "CAC, LTV, payback", "zh": "获客成本、LTV、回本周期"},
    "report.def.cac_ltv": {
        "en": "CAC = acquisition spend / new customers; LTV = cumulative net revenue "
              "(× margin) per acquired customer; payback = first age at which LTV ≥ CAC. "
              "Existing customers are in none of them.",
        "zh": "获客成本 = 投放费用 / 新客数；LTV = 人均累计净收入（× 毛利率）；回本周期 = LTV 首次 ≥ "
              "获客成本的期数。存量客户不计入其中任何一项。"},
    "report.term.repeat_rate": {"en": "repeat-purchase rate (复购率)", "zh": "复购率"},
    "report.term.return_rate": {"en": "return rate (回购率)", "zh": "回购率"},
    "report.term.new_customer_repeat_rate": {"en": "new-customer repeat rate (新客复购率)",
                                             "zh": "新客复购率"},
    "report.term.rfm8": {"en": "8-class RFM (RFM 八大类)", "zh": "RFM 八大类"},
    "report.term.rfm_matrix": {"en": "R×F and R×M matrices", "zh": "R×F、R×M 矩阵"},
    # the demo and the command line
    "demo.head": {"en": "siyu demo: UCI Online Retail invoices (UK e-commerce, GBP; CC BY 4.0)",
                  "zh": "siyu 示例：UCI Online Retail 在线零售发票（英国网店，英镑；CC BY 4.0）"},
    "demo.data": {"en": "Data: what building the log did to the rows (tx.data_quality())",
                  "zh": "数据处理：构建日志时对各行的处理（tx.data_quality()）"},
    "demo.title": {"en": "siyu demo: UCI Online Retail", "zh": "siyu 示例：UCI Online Retail 在线零售数据"},
    "demo.size": {"en": "  {rows} invoices, {customers} customers, {start} to {end}",
                  "zh": "  {rows} 张发票，{customers} 位客户，{start} 至 {end}"},
    "demo.revenue": {"en": "  revenue {cur}{total}; per customer: mean {cur}{mean}, median {cur}{median}",
                     "zh": "  收入 {cur}{total}；每位客户：平均 {cur}{mean}，中位数 {cur}{median}"},
    "demo.repeat": {"en": "  repeat buyers (2+ purchase days): {share}; mean purchase days per "
                          "customer {mean}",
                    "zh": "  复购客户（2个及以上购买日）：{share}；人均购买日 {mean}"},
    "demo.dsl": {"en": "  days since last purchase: median {d}", "zh": "  距上次购买天数：中位数 {d}"},
    "demo.existing": {
        "en": "The log starts on {start}, in the middle of the shop's life: the {n} customers "
              "first seen in its first month were acquired before it, so they are existing "
              "customers (existing_before=\"{day}\"), not a cohort.",
        "zh": "数据始于 {start}，店铺早已在经营：首月出现的 {n} 位客户在数据开始前就已获客，因此按存量客户处理"
              "（existing_before=\"{day}\"），不算一个同期群。"},
    "demo.partial": {"en": "{note}: those cells are marked * and left out of the averages.",
                     "zh": "{note}：这些单元格标 *，不计入平均值。"},
    "demo.cohorts": {
        "en": "Monthly acquisition cohorts: share of each cohort buying in month k after "
              "acquisition",
        "zh": "月度获客同期群：各同期群在获客后第 k 个月购买的客户占比"},
    "demo.balanced": {
        "en": "average = balanced average over {n} cohorts ({span}), each complete through m{k}",
        "zh": "平均 = {n} 个同期群（{span}）的平衡平均，均已完整观察到第 {k} 月"},
    "demo.repurchase": {"en": "Second purchase {parts}", "zh": "第二次购买：{parts}"},
    "demo.repurchase_part": {"en": "within {k} days: {rate} of {n} eligible",
                             "zh": "{k} 天内 {rate}（可观察 {n} 人）"},
    "demo.ltv": {
        "en": "Historical LTV (cumulative revenue per acquired customer, {cur}; balanced "
              "average over {n} cohorts): {points}",
        "zh": "历史 LTV（每位新客的累计收入，{cur}；{n} 个同期群的平衡平均）：{points}"},
    "demo.no_plot": {"en": "HTML report skipped: it needs matplotlib (pip install -e \".[plot]\")",
                     "zh": "未生成 HTML 报告：需要 matplotlib（pip install -e \".[plot]\"）"},
    "cli.written": {"en": "report written to {path}", "zh": "报告已写入 {path}"},
    "cli.reading": {"en": "reading {name}", "zh": "读取 {name}"},
    "cli.read_done": {"en": "{seconds} s ({rows} rows, {customers} customers)",
                      "zh": "{seconds} 秒（{rows} 条记录，{customers} 位客户）"},
    "cli.total": {"en": "total {seconds} s", "zh": "共 {seconds} 秒"},
    "cli.no_font": {"en": "Chinese plot labels need a CJK font: {hint}",
                    "zh": "图表中文需要 CJK 字体：{hint}"},
    "cli.step.cohorts": {"en": "cohorts", "zh": "同期群"},
    "cli.step.retention": {"en": "retention", "zh": "留存"},
    "cli.step.survival": {"en": "survival", "zh": "生存曲线"},
    "cli.step.repurchase": {"en": "repurchase", "zh": "复购"},
    "cli.step.lifecycle": {"en": "lifecycle", "zh": "生命周期"},
    "cli.step.value tiers": {"en": "value tiers", "zh": "价值分层"},
    "cli.step.contact": {"en": "who to contact", "zh": "联系名单"},
    "cli.step.unit economics": {"en": "unit economics", "zh": "单位经济"},
    "cli.step.channels": {"en": "channels", "zh": "渠道对比"},
    "cli.step.overview": {"en": "overview", "zh": "概览"},
}


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
    if not isinstance(lang, str) or lang not in LANGS:
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
