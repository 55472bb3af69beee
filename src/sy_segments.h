/*
 * sy_segments.h -- lifecycle stages, value tiers, RFM scores and migration counts.
 *
 * Pure C kernels (no Python.h); see sy_segments.c for the definitions.
 */
#ifndef SY_SEGMENTS_H
#define SY_SEGMENTS_H

#include <stdint.h>

/* Segmentations understood by sy_segments_stages. */
#define SY_SEG_LIFECYCLE  0   /* stage by days since last purchase vs. bounds       */
#define SY_SEG_VALUE_TIER 1   /* 0 one-time, 1 repeat, 2 multi-repeat, 3 member     */

/* Stage code of a customer not yet acquired at a period end. */
#define SY_SEG_ABSENT (-1)

/* Tie rules of sy_segments_scores. */
#define SY_TIES_MIN     0
#define SY_TIES_AVERAGE 1
#define SY_TIES_MAX     2

/*
 * Stage of every customer at every snapshot day ends[0] < ends[1] < ... < ends[m-1],
 * plus each customer's state at the last snapshot, in one sweep over the log in day
 * order (no per-customer grouping).  Rows after ends[m-1] are ignored.
 *
 *   cust, day      n rows (customer codes in [0, k), days since 1970-01-01), any order
 *   amount         may be NULL (every row is a purchase); rows with amount < 0 are
 *                  refunds and never purchases
 *   member         may be NULL; int8 flags, a customer is a member from the day of
 *                  their first flagged row (any amount)
 *   bounds         nb strictly increasing non-negative day bounds (lifecycle only)
 *   stages         m * k int8 or NULL, snapshot-major: stage of customer c at ends[j]
 *                  is stages[j * k + c]
 *   last_day, occ, revenue, member_day   (each k entries or NULL) state at ends[m-1]:
 *                  day of the last purchase (INT64_MIN if none), occasions (distinct
 *                  purchase days), net amount of all rows (refunds included), first
 *                  flagged day (INT64_MAX if none)
 *
 * Lifecycle: d = ends[j] - last purchase day on or before ends[j]; stage = number of
 * bounds b with d > b (so with bounds (30, 180): d <= 30 -> 0, 31..180 -> 1,
 * > 180 -> 2); SY_SEG_ABSENT when no purchase on or before ends[j].
 * Value tier: member (3) once flagged on or before ends[j]; else by occasions on or
 * before ends[j]: 1 -> 0, 2 -> 1, 3+ -> 2; SY_SEG_ABSENT when neither.
 */
int sy_segments_sweep(const int64_t *cust, const int64_t *day, const double *amount,
                      const int8_t *member, int64_t n, int64_t k,
                      const int64_t *ends, int64_t m, int mode,
                      const int64_t *bounds, int64_t nb, int8_t *stages,
                      int64_t *last_day, int64_t *occ, double *revenue, int64_t *member_day);

/*
 * Transition counts between consecutive snapshots.  stages is m * k snapshot-major
 * (as produced by sy_segments_sweep, codes in [0, s) or SY_SEG_ABSENT); counts receives
 * (m - 1) * s * s int64 entries, counts[(j * s + from) * s + to] = customers in stage
 * `from` at snapshot j and `to` at snapshot j + 1 (customers absent at either are
 * skipped).  m may be 0 or 1 (nothing written).
 */
int sy_segments_transitions(const int8_t *stages, int64_t k, int64_t m, int64_t s,
                            int64_t *counts);

/*
 * Quantile scores 1..bins of n finite values: rank the values ascending, give every
 * block of equal values one rank r (its first 1-based position for SY_TIES_MIN, the
 * mean of first and last for SY_TIES_AVERAGE, the last for SY_TIES_MAX), then
 * score = ceil(r * bins / n).  Equal values always share a score; larger values never
 * get a lower score.  Deterministic (exact integer arithmetic).
 */
int sy_segments_scores(const double *values, int64_t n, int64_t bins, int ties,
                       int64_t *out);

#endif /* SY_SEGMENTS_H */
