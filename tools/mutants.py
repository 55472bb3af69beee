#!/usr/bin/env python3
"""Mutation check: does the test suite catch small, plausible bugs?

Each mutant is one textual change to one file (a `<` that becomes `<=`, a dropped
refund rule, a unit off by a factor, ...) plus the tests that should catch it.  For
every mutant this script copies the repository to a scratch folder, applies the change,
rebuilds the extension when a C file changed, runs the named tests and records whether
they failed (killed) or passed (survived).  It prints the kill table and exits 1 when a
mutant survives.

    python tools/mutants.py                 # all mutants
    python tools/mutants.py -k calendar     # those whose name contains "calendar"
    python tools/mutants.py -k km-,rfm8     # several name parts
    python tools/mutants.py --check         # is every mutant's text still found once?
    python tools/mutants.py --list

Run it before resolving an issue that touches the kernels or the definitions it covers;
it is not part of CI (a full run rebuilds the extension once per C mutant).  A mutant
whose original text is not found is reported as "stale" (the code moved: update it).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str           # relative to the repository root
    old: str            # exact text, must occur exactly once
    new: str
    tests: tuple[str, ...]   # pytest node ids / files expected to kill it
    why: str = ""


M = Mutant
# test files, by area (each mutant runs only the files it names, with -x)
CAL = "tests/test_calendar.py"
SUM = "tests/test_summary.py"
COH = "tests/test_cohorts.py"
RET = "tests/test_retention.py"
SURV = "tests/test_survival.py"
ECO = "tests/test_economics.py"
MET = "tests/test_metrics.py"
SEG = "tests/test_segments.py"
ACT = "tests/test_actions.py"
ORD = "tests/test_orders.py"
IO = "tests/test_io.py"
KER = "tests/test_kernels.py"
LIK = "tests/test_models_likelihood.py"
FIT = "tests/test_models_fit.py"
PRED = "tests/test_models_predict.py"
SIM = "tests/test_models_simulate.py"
EDGE = "tests/test_models_edge.py"
COV = "tests/test_covariates.py"
KILL = "tests/test_mutant_kills.py"

MUTANTS: list[Mutant] = [
    # ---- calendar and periods --------------------------------------------------------
    M("calendar-week-start", "src/sy_calendar.c",
      "        return index * 7 - 3;", "        return index * 7 - 2;",
      (CAL, COH), "weeks start on Tuesday"),
    M("calendar-month-index", "src/sy_calendar.c",
      "        return y * 12 + (m - 1);", "        return y * 12 + m;",
      (CAL,), "month index off by one"),
    M("calendar-quarter", "src/sy_calendar.c",
      "        return y * 4 + (m - 1) / 3;", "        return y * 4 + m / 3;",
      (CAL, COH), "quarter boundaries shifted"),
    M("period-partial-days", "siyu/_periods.py",
      "    return EndPeriod(idx, end_day - start + 1, nxt - start)",
      "    return EndPeriod(idx, end_day - start, nxt - start)",
      (COH, MET), "days observed off by one: a period ending on its last day is partial"),
    M("period-existing-before", "siyu/_periods.py",
      "        existing = has & (first < ex_day)", "        existing = has & (first <= ex_day)",
      (COH, RET, SURV), "customers first buying ON existing_before counted as existing"),
    # ---- summaries (sy_summary.c, _input.py) -------------------------------------------
    M("summary-unit-month", "siyu/_input.py",
      'UNIT_DAYS = {"D": 1.0, "W": 7.0, "M": 365.25 / 12.0}',
      'UNIT_DAYS = {"D": 1.0, "W": 7.0, "M": 30.0}',
      (SUM,), "30-day months"),
    M("summary-unit-week", "siyu/_input.py",
      'UNIT_DAYS = {"D": 1.0, "W": 7.0, "M": 365.25 / 12.0}',
      'UNIT_DAYS = {"D": 1.0, "W": 7.02, "M": 365.25 / 12.0}',
      (SUM,), "a week a little longer than 7 days"),
    M("summary-include-first", "src/sy_summary.c",
      "x->monetary[c] = occ > 0 ? (famt + rsum) / (double)occ : 0.0;",
      "x->monetary[c] = occ > 0 ? rsum / (double)occ : 0.0;",
      (SUM,), "include_first drops the first amount"),
    M("summary-days-since-last", "src/sy_summary.c",
      "        x->since[c] = x->end_day - lday;", "        x->since[c] = x->end_day - lday + 1;",
      (SUM,), "days_since_last off by one"),
    M("summary-T-off-by-one", "src/sy_summary.c",
      "        x->T[c] = (double)(x->end_per - fper) * x->scale;",
      "        x->T[c] = (double)(x->end_per - fper + 1) * x->scale;",
      (SUM,), "T counts the first period"),
    M("summary-period-end", "src/sy_summary.c",
      "sy_period_start(per + 1, period) - 1;", "sy_period_start(per + 1, period);",
      (SUM,), "a week/month occasion swallows the next period's first day"),
    M("summary-refund-occasion", "src/sy_summary.c",
      "            if (a >= 0.0) {\n                if (!purchase) pfirst = day[j];",
      "            if (a >= 0.0 || a < 0.0) {\n                if (!purchase) pfirst = day[j];",
      (SUM,), "refund rows become purchase occasions"),
    M("summary-refund-not-netted", "src/sy_summary.c",
      "            double a = amount ? amount[j] : 0.0;\n            amt += a;",
      "            double a = amount ? amount[j] : 0.0;\n            amt += a > 0.0 ? a : 0.0;",
      (SUM,), "refunds not netted against their period's amount"),
    # ---- cohorts (sy_cohort.c, cohorts.py) ---------------------------------------------
    M("cohort-active-distinct", "src/sy_cohort.c",
      "                    if (age != last) {", "                    if (age >= last) {",
      (COH,), "active counts orders, not distinct customers"),
    M("cohort-revenue-refunds", "src/sy_cohort.c",
      "                if (ramount) kahan_add(&rev[r * x->n_ages + age]",
      "                if (ramount && ramount[i] >= 0.0) kahan_add(&rev[r * x->n_ages + age]",
      (COH,), "cohort revenue ignores refunds"),
    M("cohort-balanced-last-age", "siyu/cohorts.py",
      "                chosen = ok[:, :kk + 1].all(axis=1)", "                chosen = ok[:, :kk].all(axis=1)",
      (COH,), "balanced average includes cohorts not observed at its last age"),
    M("cohort-average-unweighted", "siyu/cohorts.py",
      "        w = np.where(take, sizes[:, None], 0.0)", "        w = np.where(take, 1.0, 0.0)",
      (COH,), "average row not weighted by cohort size"),
    M("cohort-balanced-half", "siyu/cohorts.py",
      "        need = max(1, math.ceil(n / 2))", "        need = max(1, n // 2)",
      (COH,), "balanced_through takes ages fewer than half of the cohorts reached"),
    M("cohort-n-ages", "siyu/cohorts.py",
      "    n_ages = end_per - int(cohorts[0]) + 1 if n_c else 0",
      "    n_ages = end_per - int(cohorts[0]) if n_c else 0",
      (COH,), "the last age (the period holding end) is cut off"),
    M("cohort-observed-end", "siyu/cohorts.py",
      "    observed = cell_per <= end_per", "    observed = cell_per < end_per",
      (COH,), "cells of the period holding end are NaN (unobserved)"),
    # ---- retention and repurchase -----------------------------------------------------
    M("retention-eligible", "src/sy_retention.c",
      "        int64_t avail = end - first_day[c];\n        if (avail < 0) continue;\n"
      "        hist[g * width",
      "        int64_t avail = end - first_day[c] - 1;\n        if (avail < 0) continue;\n"
      "        hist[g * width",
      (RET,), "eligible only when first day + k < end"),
    M("retention-bracket-avail", "src/sy_retention.c",
      "                if (x->hi[j] > avail) continue;", "                if (x->hi[j] >= avail) continue;",
      (RET,), "bracket retention skips customers whose bracket ends on `end`"),
    M("repurchase-within", "siyu/retention.py",
      'hit = below(row[again] * width + gap[again], "right")',
      'hit = below(row[again] * width + gap[again], "left")',
      (RET,), "second purchase exactly k days later not counted"),
    M("repurchase-eligible", "siyu/retention.py",
      "    avail = end_day - first\n", "    avail = end_day - first - 1\n",
      (RET,), "repurchase eligibility needs k + 1 days"),
    # ---- survival (sy_survival.c, survival.py) -----------------------------------------
    M("km-censored-at-risk", "src/sy_survival.c",
      "        risk -= d + censored[t];", "        risk -= d;",
      (SURV,), "censored customers stay at risk"),
    M("km-greenwood", "src/sy_survival.c",
      "v += (double)d / ((double)risk * (double)(risk - d));",
      "v += (double)d / ((double)risk * (double)risk);",
      (SURV,), "Greenwood term d/(n^2) instead of d/(n(n-d))"),
    M("survival-churn-boundary", "siyu/survival.py",
      "    churned = (end_day - last) > churn_after", "    churned = (end_day - last) >= churn_after",
      (SURV,), "inactive exactly churn_after days counts as churned"),
    M("survival-median-strict", "siyu/survival.py",
      "    hit = table[\"survival\"].to_numpy() <= 0.5", "    hit = table[\"survival\"].to_numpy() < 0.5",
      (SURV,), "median needs survival below one half"),
    M("survival-group-rmst", "siyu/survival.py",
      "        return pd.Series({g: _rmst(tab, float(t)) for g, tab in self._tables.items()},",
      "        return pd.Series({g: _rmst(self._tables[self.groups[0]], float(t)) for g, tab in self._tables.items()},",
      (SURV,), "per-group RMST from one group's table (issue 17)"),
    # ---- economics and CLV --------------------------------------------------------------
    M("econ-total-ltv-unweighted", "siyu/economics.py",
      'ltv = float(np.average(comp["ltv"], weights=w))', 'ltv = float(np.average(comp["ltv"]))',
      (ECO,), "total-row LTV not weighted by cohort size (issue 17)"),
    M("econ-complete-horizon", "siyu/economics.py",
      "    complete = obs_periods >= horizon", "    complete = obs_periods > horizon",
      (ECO,), "a cohort observed exactly `horizon` periods is incomplete"),
    M("econ-payback-boundary", "siyu/economics.py",
      "ok = np.nan_to_num(curve, nan=-np.inf) >= target[:, None]",
      "ok = np.nan_to_num(curve, nan=-np.inf) > target[:, None]",
      (ECO,), "payback needs margin strictly above CAC"),
    M("econ-predicted-last-period", "siyu/economics.py",
      "            per.period_of(start, period) + horizon, period)",
      "            per.period_of(start, period) + horizon - 1, period)",
      (ECO,), "predicted LTV drops the horizon's last period (issue 17)"),
    M("econ-predicted-no-discount", "siyu/economics.py",
      "                   discount_rate=discount_rate, margin=margin)",
      "                   discount_rate=0.0, margin=margin)",
      (ECO,), "predicted LTV ignores discount_rate"),
    M("econ-compare-unobserved", "siyu/economics.py",
      "w = np.bincount(row_ch, weights=sizes * ok[:, age], minlength=n_ch)",
      "w = np.bincount(row_ch, weights=sizes, minlength=n_ch)",
      (ECO,), "compare_channels retention counts unobserved cohorts (issue 17)"),
    M("clv-discount-step", "siyu/models/clv.py",
      "disc_sum += (inc / ((1.0 + discount_rate) ** st)[:, None]).sum(axis=0)",
      "disc_sum += (inc / ((1.0 + discount_rate) ** (st - 1))[:, None]).sum(axis=0)",
      (PRED, ECO), "the first step is not discounted"),
    M("clv-unit-factor", "siyu/models/clv.py",
      "    factor = UNIT_DAYS[unit] / UNIT_DAYS[model_unit]",
      "    factor = UNIT_DAYS[model_unit] / UNIT_DAYS[unit]",
      (PRED, ECO), "clv converts its steps to model units the wrong way round"),
    M("migration-clv-closed-form", "siyu/segments.py",
      "                total = total + power\n                power = power @ Q",
      "                total = total + power @ Q\n                power = power @ Q",
      (SEG,), "binary powering adds Q^(n+1) instead of Q^n for a set bit"),
    M("migration-clv-loop", "siyu/segments.py",
      "            total = total + power @ total           # S(2n)",
      "            total = total + total                   # S(2n)",
      (SEG,), "the doubling step S(2n) forgets the Q^n shift"),
    # ---- operators' metrics (sy_metrics.c, metrics.py) --------------------------------
    M("metrics-repeat-threshold", "src/sy_metrics.c",
      "    if (units >= 2) out[cells + cell]++;", "    if (units > 2) out[cells + cell]++;",
      (MET,), "repeat buyers need 3 occasions"),
    M("metrics-return-next-period", "src/sy_metrics.c",
      "                if (b == bcur + 1) out[3 * cells + g * B + bcur]++;",
      "                if (b >= bcur + 1) out[3 * cells + g * B + bcur]++;",
      (MET,), "return rate counts any later period, not t + 1"),
    M("metrics-same-day-merge", "src/sy_metrics.c",
      "        if (jb->count_orders || d != lastd) {", "        if (jb->count_orders || d >= lastd) {",
      (MET,), "same_day='merge' counts each order"),
    M("metrics-zero-amount", "src/sy_metrics.c",
      "        if (amount && !(amount[i] >= 0.0)) continue;",
      "        if (amount && !(amount[i] > 0.0)) continue;",
      (MET,), "zero-amount orders are not purchases"),
    M("metrics-order-rate-denominator", "siyu/metrics.py",
      '"order_rate": _ratio(extra, units)', '"order_rate": _ratio(extra, buyers)',
      (MET,), "repeat orders over buyers instead of orders"),
    M("metrics-return-partial", "siyu/metrics.py",
      "    partial = cut | np.append(cut[1:], True)", "    partial = cut",
      (MET,), "a return rate whose next period is cut is not flagged"),
    M("ncrr-within", "siyu/metrics.py",
      "        rep = (s != _NO_DAY) & (s - f <= k_days)", "        rep = (s != _NO_DAY) & (s - f < k_days)",
      (MET,), "second purchase on day `within` not counted"),
    M("ncrr-partial", "siyu/metrics.py",
      "        partial = last_days + k_days > end_day", "        partial = last_days + k_days >= end_day",
      (MET,), "a cohort whose window ends on `end` flagged partial"),
    M("rfm8-r-tie", "siyu/metrics.py",
      '    r = (values["R"] < thr["R"]).astype(np.int64)', '    r = (values["R"] <= thr["R"]).astype(np.int64)',
      (MET,), "R equal to the threshold counts as high (recent)"),
    M("rfm8-f-tie", "siyu/metrics.py",
      '    f = (values["F"] > thr["F"]).astype(np.int64)', '    f = (values["F"] >= thr["F"]).astype(np.int64)',
      (MET,), "F equal to the threshold counts as high"),
    M("rfm8-m-direction", "siyu/metrics.py",
      '    m = (values["M"] > thr["M"]).astype(np.int64)', '    m = (values["M"] < thr["M"]).astype(np.int64)',
      (MET,), "M high/low swapped"),
    M("rfm-matrix-edges", "siyu/metrics.py",
      '    bi = np.searchsorted(edges[rows], var[rows], side="left")',
      '    bi = np.searchsorted(edges[rows], var[rows], side="right")',
      (MET,), "R×F rows: a value on an edge falls in the bucket above"),
    # ---- segments (sy_segments.c) ------------------------------------------------------
    M("lifecycle-bound", "src/sy_segments.c",
      "        while (st < nb && d > bounds[st]) st++;", "        while (st < nb && d >= bounds[st]) st++;",
      (SEG,), "d == 30 is stable, not recent"),
    M("value-tier-multi", "src/sy_segments.c",
      "(o >= 3 ? 2 :", "(o >= 2 ? 2 :",
      (SEG,), "2 occasions is 'multi-repeat', not 'repeat'"),
    M("value-tier-member-day", "src/sy_segments.c",
      "    return x->memd <= e ? 3 :", "    return x->memd < e ? 3 :",
      (SEG,), "membership from as_of itself ignored"),
    M("quantile-score-floor", "src/sy_segments.c",
      "        int64_t score = (r2 * bins + twon - 1) / twon;   /* ceil(r * bins / n) */",
      "        int64_t score = (r2 * bins) / twon;   /* ceil(r * bins / n) */",
      (SEG,), "quantile score floor instead of ceil (sorting path)"),
    M("quantile-ties-split", "src/sy_segments.c",
      "        while (hi + 1 < n && key[hi + 1] == key[lo]) hi++;",
      "        while (hi + 1 < n && key[hi + 1] == key[lo] && 0) hi++;",
      (SEG,), "tied values get different scores (sorting path)"),
    M("quantile-counting-ties", "src/sy_segments.c",
      "                           : ties == SY_TIES_MAX ? 2 * (hi + 1) : (lo + 1) + (hi + 1);\n"
      "                int64_t score",
      "                           : ties == SY_TIES_MAX ? 2 * (hi + 1) : 2 * (lo + 1);\n"
      "                int64_t score",
      (SEG,), "average-rank ties scored as min rank (counting path)"),
    # ---- actions (sy_items.c, actions.py) ----------------------------------------------
    M("items-km-censored", "src/sy_items.c",
      "        risk -= d[j] + z[j];", "        risk -= d[j];",
      (ACT,), "replenishment KM keeps open intervals at risk"),
    M("recall-overdue-at", "siyu/actions.py",
      '        "overdue": ratio >= overdue_at,', '        "overdue": ratio > overdue_at,',
      (ACT,), "overdue needs a ratio strictly above overdue_at"),
    M("recall-own-gaps", "siyu/actions.py",
      "    use_own = n_own >= min_own_gaps", "    use_own = n_own > min_own_gaps",
      (ACT,), "own rhythm needs one more gap than min_own_gaps"),
    M("recall-typical-basis", "siyu/actions.py",
      "    typical = np.where(use_own, own, min_cycle)", "    typical = np.where(use_own, min_cycle, own)",
      (ACT,), "typical gap from the product cycle when the customer's own rhythm is known"),
    # ---- orders (sy_orders.c, _orders.py) -----------------------------------------------
    M("orders-full-refund-zero", "src/sy_orders.c",
      "        if (refunded && v <= 0.0) {", "        if (refunded && v < 0.0) {",
      (ORD,), "an order refunded to exactly 0 stays an occasion"),
    M("orders-refund-column", "src/sy_orders.c",
      "        double v = gross + neg - ref;", "        double v = gross + neg;",
      (ORD,), "refund column ignored"),
    M("orders-first-line-day", "src/sy_orders.c",
      "        if (a->prow == 0 || day[i] < a->pday) {",
      "        if (a->prow == 0 || day[i] > a->pday) {",
      (ORD,), "an order is dated by its last line item"),
    M("orders-run-boundary", "src/sy_orders.c",
      "            for (; i < n && order[i] == o; i++) {",
      "            for (; i < n && (order[i] == o || order[i] == o + 1); i++) {",
      (ORD,), "an export sorted by order id merges neighbouring orders"),
    M("factorize-sorted-descending", "src/sy_factorize.c",
      "            uniques[descending ? k - 1 - r : r] = ids[i];",
      "            uniques[r] = ids[i];",
      (KER,), "ids sorted descending get their distinct values in the wrong order"),
    M("radix-skip-pass", "src/sy_radix.c",
      "        if (c[(ks[0] >> sh) & 0xFF] == n) continue;   /* one byte value: skip the pass */",
      "        if (c[(ks[0] >> sh) & 0xFF] * 2 >= n) continue;   /* one byte value: skip the pass */",
      (KER, ACT, SEG), "a radix pass skipped when most (not all) keys share its byte"),
    M("radix-f64-key-sign", "src/siyu.h",
      "    return (u >> 63) ? ~u : (u | ((uint64_t)1 << 63));",
      "    return (u >> 63) ? (u & ~((uint64_t)1 << 63)) : (u | ((uint64_t)1 << 63));",
      (ACT, SEG), "negative values sorted by magnitude instead of value"),
    M("rank-tie-runs", "src/sy_items.c",
      "        while (hi < n && key[hi] == key[lo]) hi++;",
      "        while (hi < n && key[hi] == key[lo] && hi < lo + 2) hi++;",
      (ACT,), "rows tied on the first ranking key ordered by position, not by the next keys"),
    M("text-separator-count", "src/sy_text.c",
      "    return used + (parts > 1 ? (parts - 1) * J->sep_len : 0);",
      "    return used + (parts > 1 ? parts * J->sep_len : 0);",
      (ACT,), "rows of several parts get room for one separator too many"),
    M("log-duplicates-pairs", "siyu/_orders.py",
      "    cand[1:] |= same\n", "    cand[1:] |= False\n",
      (ORD,), "only the first row of each same-day pair is compared: duplicates missed"),
    M("cov-hess-process-sign", "src/sy_cov.c",
      "            for (int q = 1; q < 3; q++) D[x->proc[m]][q] += x->sig[m] * C[m][q];",
      "            for (int q = 1; q < 3; q++) D[x->proc[m]][q] += C[m][q];",
      (COV,), "covariate Hessian: effect-effect block without the scale's sign"),
    M("cov-hess-cross-half", "src/sy_cov.c",
      "            H[sg[t] * k + m] += v;\n", "",
      (COV,), "covariate Hessian: base-effect cross terms added on one side only"),
    M("dedup-hash-tag", "src/sy_special.c",
      "            if ((sv >> 40) == tag) {", "            if ((sv >> 40) == tag + 1) {",
      (FIT, COV), "identical rows never collapse (their stored hash tag is never matched)"),
    M("take-bounds", "src/sy_take.c",
      "        if ((uint64_t)c->idx[i] >= (uint64_t)c->n_values) return SY_EINVAL;",
      "        if (c->idx[i] > c->n_values) return SY_EINVAL;",
      (KER,), "a gather reads past the end, or before the start"),
    M("orders-status-closed-paid", "siyu/_orders.py",
      '    "paid": ("交易成功", "已完成",', '    "paid": ("交易关闭", "交易成功", "已完成",',
      (ORD, IO), "交易关闭 (closed, never paid) mapped to paid"),
    M("orders-item-refund-net", "siyu/_orders.py",
      "            keep_item = has_pur & ~(had_ref & (iamt <= 0))",
      "            keep_item = has_pur & ~(had_ref & (iamt < 0))",
      (ORD, ACT), "a line item refunded to exactly 0 stays a purchase"),
    # ---- parsing and reading (sy_parse.c, _parse.py, io.py) -----------------------------
    M("parse-paren-negative", "src/sy_parse.c",
      "    *out = (neg || paren) ? -v : v;", "    *out = neg ? -v : v;",
      (IO,), "(1,234.00) read as positive"),
    M("parse-thousands-last-group", "src/sy_parse.c",
      "    if (grouped && !seen_point && !seen_exp && ngroup != 3) return SY_PARSE_BAD;",
      "    if (grouped && !seen_point && !seen_exp && ngroup > 3) return SY_PARSE_BAD;",
      (IO,), "'1,23' accepted as 123"),
    M("parse-fullwidth-digit", "src/sy_parse.c",
      "        return p[2] - 0x90;", "        return p[2] - 0x8F;",
      (IO,), "full-width digits off by one"),
    M("parse-fullwidth-yen", "src/sy_parse.c",
      'eat(s, "\\xEF\\xBF\\xA5") || ', "",
      (IO,), "full-width ￥ not recognised"),
    M("parse-yyyymmdd", "src/sy_parse.c",
      "        m = (q[4] - '0') * 10 + (q[5] - '0');\n        d = (q[6] - '0') * 10 + (q[7] - '0');",
      "        d = (q[4] - '0') * 10 + (q[5] - '0');\n        m = (q[6] - '0') * 10 + (q[7] - '0');",
      (IO,), "yyyymmdd read as yyyyddmm"),
    M("parse-nianyueri-day", "src/sy_parse.c",
      "        if (!read_int(&s, 2, &d)) return SY_PARSE_BAD;\n        if (!eat(&s, \"\\xE6\\x97\\xA5\"))",
      "        if (!read_int(&s, 1, &d)) return SY_PARSE_BAD;\n        if (!eat(&s, \"\\xE6\\x97\\xA5\"))",
      (IO,), "年月日 dates read one digit of the day"),
    M("parse-dmy-mdy", "siyu/_parse.py",
      "        mode = _TIME_DMY if first_big else _TIME_MDY", "        mode = _TIME_MDY if first_big else _TIME_DMY",
      (IO,), "day-first / month-first decision swapped"),
    M("encoding-utf16-endianness", "siyu/io.py",
      '        return "utf-16-le" if odd > even else "utf-16-be"',
      '        return "utf-16-le" if odd < even else "utf-16-be"',
      (IO,), "BOM-less UTF-16 byte order swapped"),
    M("encoding-bom", "siyu/io.py",
      '    if sample.startswith(codecs.BOM_UTF8):\n        return "utf-8-sig"',
      '    if sample.startswith(codecs.BOM_UTF8):\n        return "utf-8"',
      (IO,), "UTF-8 BOM left in the first header"),
    # ---- models: likelihoods, predictions, fits -----------------------------------------
    M("bgnbd-ll-dropout-time", "src/sy_bgnbd.c",
      "        double L2 = c->l2[jx] - rx * c->lt[j1];", "        double L2 = c->l2[jx] - rx * c->lt[j2];",
      (LIK,), "BG/NBD dropout term at T instead of t_x"),
    M("bgnbd-weights", "src/sy_bgnbd.c",
      "        tot += w * (c->lc[jx] + m);", "        tot += c->lc[jx] + w * m;",
      (LIK, FIT), "BG/NBD: collapsed duplicate rows counted once in the x-only terms"),
    M("bgnbd-palive-odds", "src/sy_bgnbd.c",
      "    double den = mb ? (b + x) : (b + x - 1);", "    double den = mb ? (b + x) : (b + x);",
      (PRED,), "BG/NBD P(alive) odds with b + x"),
    M("pareto-ll-s-factor", "src/sy_paretonbd.c",
      "    const double lS = log(s) + li;", "    const double lS = li;",
      (LIK,), "Pareto/NBD dropout integral without its factor s"),
    M("pareto-cond-expected", "src/sy_paretonbd.c",
      "(be + T) / (al + T) * pnbd_e(s, be + T, t);", "(be + T) / (al + T) * pnbd_e(s, be, t);",
      (PRED,), "Pareto/NBD conditional expectation with beta instead of beta + T"),
    M("gg-ll-jacobian", "src/sy_gammagamma.c",
      "px * lx + (px - 1) * lm", "px * lx + px * lm",
      (LIK, FIT), "Gamma-Gamma density of the mean: (px - 1) log m -> px log m"),
    M("gg-predict-denominator", "src/sy_gammagamma.c",
      "        const double den = pp * x + q - 1.0;", "        const double den = pp * x + q;",
      (PRED,), "Gamma-Gamma conditional mean with p x + q"),
    M("sbg-censored", "src/sy_sbg.c",
      "            double bq = b + T - 1, ps = sy_digamma(a + bq);",
      "            double bq = b + T, ps = sy_digamma(a + bq);",
      (LIK, FIT), "sBG censored customers contribute S(T) instead of S(T-1)"),
    M("penalizer-half", "src/sy_optim.c",
      "            pen += theta[i] * theta[i];\n            if (g) g[i] += 2.0 * o->penalizer * theta[i];",
      "            pen += 0.5 * theta[i] * theta[i];\n            if (g) g[i] += o->penalizer * theta[i];",
      (FIT, COV), "L2 penalizer at half strength (issue 17)"),
    M("cov-pareto-sign", "src/sy_cov.c",
      "            sp = exp(-ep);\n            sd = exp(-ed);",
      "            sp = exp(ep);\n            sd = exp(-ed);",
      (COV,), "Pareto/NBD purchase covariate enters alpha e^{+g'z}"),
    M("cov-gg-sign", "src/sy_cov.c",
      "            sp = exp(ep);\n            if (!(isfinite(sp) && sp > 0)) return SY_ENAN;",
      "            sp = exp(-ep);\n            if (!(isfinite(sp) && sp > 0)) return SY_ENAN;",
      (COV,), "Gamma-Gamma covariate sign flipped"),
    # ---- stop 20: covariate row, starting Hessian, prediction blocks, Jacobi ------------
    M("cov-bg-db2-sign", "src/sy_cov.c",
      "        g[3] = Db - Dab - p2 / (b + x - 1);", "        g[3] = Db - Dab + p2 / (b + x - 1);",
      (COV,), "BG/NBD covariate row: d/db of the second term with the wrong sign"),
    M("cov-product-limit", "src/sy_cov.c",
      "    if (x <= 16.0 && x == floor(x) && v > 1e-6) {",
      "    if (x <= 16.0 && v > 1e-6) {",
      (COV,), "product form of Gamma(v+x)/Gamma(v) used for a fractional x"),
    M("predict-block-end", "src/sy_parallel.c",
      "        const int64_t lo = b * c->block, hi = c->n - lo < c->block ? c->n : lo + c->block;",
      "        const int64_t lo = b * c->block, hi = c->n - lo < c->block ? c->n : lo + c->block - 1;",
      (PRED, COV, KER), "fixed blocks skip the last item of every full block (predictions, gathers)"),
    M("jacobi-order", "src/sy_optim.c",
      "            if (w[j] < w[m]) m = j;", "            if (w[j] > w[m]) m = j;",
      (KER, FIT), "eigenvalues sorted descending"),
    M("jacobi-rotation", "src/sy_optim.c",
      "                    V[r * k + q] = sn * vrp + c * vrq;",
      "                    V[r * k + q] = sn * vrp - c * vrq;",
      (KER, FIT), "eigenvectors accumulated with a wrong rotation"),
    M("cov-standardise", "siyu/models/_covariates.py",
      "                out[:, j] = (out[:, j] - f.mean) / f.sd", "                out[:, j] = out[:, j] - f.mean",
      (COV,), "numeric covariates centred but not scaled"),
    M("repurchase-histogram-side", "siyu/retention.py",
      "            return cum[:, ks - 1 if side == \"left\" else ks]",
      "            return cum[:, ks if side == \"left\" else ks]",
      (RET,), "the histogram count of 'fewer than k days' counts k days too"),
    M("dense-offset", "siyu/_periods.py",
      "    uniq = present.astype(np.int64) + lo",
      "    uniq = present.astype(np.int64)",
      (KER, COH, RET), "dense codes and counts lose the offset of the smallest value"),
    M("strict-ids-less-equal", "siyu/_input.py",
      "    return bool(pc.all(pc.less(arr.slice(0, len(arr) - 1), arr.slice(1))).as_py())",
      "    return bool(pc.all(pc.less_equal(arr.slice(0, len(arr) - 1), arr.slice(1))).as_py())",
      ("tests/test_transactions_api.py",), "repeated Arrow ids taken as distinct"),
    M("dedup-prefetch-wrong-row", "src/sy_special.c",
      "        const uint64_t h = hq[i % DEDUP_AHEAD];",
      "        const uint64_t h = hq[(i + 1) % DEDUP_AHEAD];",
      (KER,), "the look-ahead hash queue read one slot off: a row probed with another's hash"),
    M("lifecycle-pick-all", "siyu/segments.py",
      "    if keep.all():\n        return lambda x: x",
      "    if keep.any():\n        return lambda x: x",
      (SEG,), "customers with no purchase by as_of kept in the frames"),
    M("dask-split-unstable", "siyu/dask/_transactions.py",
      "    order = np.argsort(bucket, kind=\"stable\")       # a radix sort on 16-bit keys",
      "    order = np.argsort(bucket)",
      ("tests/test_dask.py",), "the customer split loses the rows' input order"),
    M("dask-split-bucket-off", "siyu/dask/_transactions.py",
      "        idx = order[bounds[i]:bounds[i + 1]]",
      "        idx = order[bounds[i]:bounds[i + 1] + 1]",
      ("tests/test_dask.py",), "a piece takes the first row of the next piece too"),
    M("cov-pattern-bits-one-column", "src/sy_cov.c",
      "            for (int j = 0; j < kz; j++) v |= (zc[j][i] != 0.0) << j;",
      "            for (int j = 0; j < kz; j++) v |= (zc[j][i] != 0.0);",
      (COV,), "dummy patterns numbered by whether any dummy is set: customers of different "
      "patterns fitted as one"),
    M("cov-pattern-group-weights", "src/sy_cov.c",
      "        sw[q] = d->w ? d->w[i] : 1.0;",
      "        sw[q] = 1.0;",
      (COV,), "the pattern grouping drops the rows' weights"),
    M("dedup-row-copy-stale", "src/sy_special.c",
      "                    for (int j = 0; j < k; j++) rows[cnt * k + j] = cols[j][i];",
      "                    for (int j = 1; j < k; j++) rows[cnt * k + j] = cols[j][i];",
      (KER, COV), "the row-major copy of distinct rows misses its first column"),
    M("report-worker-chart-lost", "siyu/report.py",
      '        block["src"] = img["src"]',
      '        block["src"] = ""',
      ("tests/test_report.py",), "a chart drawn by the worker never reaches its block"),
    M("report-worker-fallback-skipped", "siyu/report.py",
      "                img, seen = _draw(deferred, alt, fmt)",
      "                img, seen = {\"src\": \"\"}, []",
      ("tests/test_report.py",), "charts of a dead worker are left empty"),
    M("sim-spend-per-transaction", "src/sy_simulate.c",
      "        double nu = sy_rng_gamma(&rg, q) / g;\n"
      "        for (int64_t j = 0; j < k[i]; j++) amounts[offset[i] + j] = sy_rng_gamma(&rg, pp) / nu;",
      "        for (int64_t j = 0; j < k[i]; j++) amounts[offset[i] + j] = sy_rng_gamma(&rg, pp) / (sy_rng_gamma(&rg, q) / g);",
      (SIM, KILL), "spend heterogeneity drawn per transaction, not per customer (issue 17)"),
]


def _run(cmd: list[str], cwd: str, timeout: float, env: dict[str, str]) -> tuple[int, str]:
    try:
        p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return 124, "timeout"
    return p.returncode, (p.stdout + p.stderr)[-2000:]


def _copy_tree(dst: str) -> None:
    ignore = shutil.ignore_patterns(".git", "build", "*.egg-info", "__pycache__",
                                    ".pytest_cache", ".hypothesis", "*.html")
    shutil.copytree(ROOT, dst, ignore=ignore, symlinks=True)


def _extension(scratch: str) -> list[str]:
    """The built extension file(s) of the scratch copy (siyu/_core*.so / .pyd)."""
    d = os.path.join(scratch, "siyu")
    return sorted(os.path.join(d, f) for f in os.listdir(d)
                  if f.startswith("_core") and f.endswith((".so", ".pyd")))


def run_mutant(m: Mutant, scratch: str, timeout: float, saved: dict[str, bytes]
               ) -> tuple[str, float, str]:
    """Apply one mutant to the scratch copy, rebuild when it is C, run its tests, undo.

    ``saved`` holds the unmutated extension (path -> bytes): after a C mutant it is put
    back instead of rebuilding the original a second time.
    """
    path = os.path.join(scratch, m.path)
    with open(os.path.join(ROOT, m.path), encoding="utf-8") as f:
        original = f.read()
    if original.count(m.old) != 1:
        return "stale", 0.0, f"text found {original.count(m.old)} times"
    with open(path, "w", encoding="utf-8") as f:
        f.write(original.replace(m.old, m.new))
    env = dict(os.environ, PYTHONPATH=scratch, PYTHONDONTWRITEBYTECODE="1")
    is_c = m.path.endswith((".c", ".h"))
    t0 = time.perf_counter()
    try:
        if is_c:
            # --force: mtimes within one second of the last build would skip the rebuild
            rc, out = _run([sys.executable, "setup.py", "-q", "build_ext", "--inplace",
                            "--force"], scratch, timeout, env)
            if rc != 0:
                return "killed (build)", time.perf_counter() - t0, out
        rc, out = _run([sys.executable, "-m", "pytest", "-x", "-q", "-rs", "-p",
                        "no:cacheprovider", *m.tests], scratch, timeout, env)
        status = "survived" if rc == 0 else ("killed" if rc in (1, 124) else f"error rc={rc}")
        return status, time.perf_counter() - t0, out
    finally:
        with open(path, "w", encoding="utf-8") as f:
            f.write(original)
        if is_c:
            for so in _extension(scratch):
                if so not in saved:
                    os.remove(so)
            for so, data in saved.items():
                with open(so, "wb") as f:
                    f.write(data)


def check(chosen: list[Mutant]) -> list[str]:
    """Mutants whose text is not found exactly once, or whose tests do not exist."""
    bad = []
    for m in chosen:
        with open(os.path.join(ROOT, m.path), encoding="utf-8") as f:
            n = f.read().count(m.old)
        missing = [t for t in m.tests if not os.path.exists(os.path.join(ROOT, t.split("::")[0]))]
        if n != 1 or missing or m.old == m.new:
            bad.append(f"{m.name}: text found {n} times" + (f"; no {missing}" if missing else ""))
    return bad


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-k", default="", help="only mutants whose name contains this "
                    "(several: comma-separated)")
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    ap.add_argument("--check", action="store_true",
                    help="only check that every mutant's text is found once (no build)")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per mutant")
    ap.add_argument("-v", action="store_true", help="show test output of survivors")
    args = ap.parse_args(argv)
    keys = [k for k in args.k.split(",") if k] or [""]
    chosen = [m for m in MUTANTS if any(k in m.name for k in keys)]
    names = [m.name for m in MUTANTS]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        print(f"duplicate mutant names: {dup}")
        return 2
    if args.check:
        bad = check(chosen)
        print("\n".join(bad) if bad else f"{len(chosen)} mutants: every text found once")
        return 1 if bad else 0
    if args.list:
        for m in chosen:
            print(f"{m.name:32s} {m.path:28s} {m.why}")
        return 0
    t_start = time.perf_counter()
    # the scratch copy is not next to ../shared/data: point the tests at it, or tests that
    # need the reference data would skip and their mutants survive unseen
    if not os.environ.get("SIYU_SHARED_DATA"):
        data = os.path.realpath(os.path.join(ROOT, "..", "shared", "data"))
        if os.path.isdir(data):
            os.environ["SIYU_SHARED_DATA"] = data
        else:
            print("warning: ../shared/data not found (set SIYU_SHARED_DATA): the tests that "
                  "need it skip", flush=True)
    with tempfile.TemporaryDirectory(prefix="siyu-mutants-") as tmp:
        scratch = os.path.join(tmp, "repo")
        _copy_tree(scratch)
        env = dict(os.environ, PYTHONPATH=scratch)
        rc, out = _run([sys.executable, "setup.py", "-q", "build_ext", "--inplace"], scratch,
                       args.timeout, env)
        if rc != 0:
            print(out)
            return 2
        saved = {}
        for so in _extension(scratch):
            with open(so, "rb") as f:
                saved[so] = f.read()
        rows = []
        for m in chosen:
            status, secs, out = run_mutant(m, scratch, args.timeout, saved)
            rows.append((m, status, secs))
            print(f"{status:16s} {secs:7.1f} s  {m.name}", flush=True)
            if (status == "survived" or status.startswith("error")) and args.v:
                print(out)
    killed = sum(s.startswith("killed") for _, s, _ in rows)
    errors = [m.name for m, s, _ in rows if s.startswith("error")]
    stale = [m.name for m, s, _ in rows if s == "stale"]
    survived = [m.name for m, s, _ in rows if s == "survived"]
    print(f"\nkilled {killed} of {len(rows)}; survived: {', '.join(survived) or 'none'}; "
          f"stale: {', '.join(stale) or 'none'}; errors: {', '.join(errors) or 'none'}; "
          f"{time.perf_counter() - t_start:.0f} s in all")
    return 1 if survived or stale or errors else 0


if __name__ == "__main__":
    sys.exit(main())
