/*
 * sy_cohort.h -- kernels of acquisition cohorts, retention, repurchase and survival.
 *
 * Pure C (no Python.h).  Days are int64 day numbers (siyu.h); a row is a *purchase*
 * when it has no amount or amount >= 0, a refund otherwise.  Rows dated after `end`
 * are ignored everywhere.  Customer codes lie in [0, k).
 */
#ifndef SY_COHORT_H
#define SY_COHORT_H

#include "siyu.h"

/* "no such day" marker for per-customer day outputs. */
#define SY_NO_DAY INT64_MAX

/* Units of work (rows, cells, snapshots) between two sy_interrupted() polls of a loop:
   a few hundred microseconds, so Ctrl-C stops a kernel well within a second. */
#define SY_POLL_WORK 65536

/* How many rows ahead the row loops prefetch per-customer records. */
#define SY_PREFETCH 16

/* Parallel row passes split the log into contiguous row ranges, one per thread;
   per-customer marks are set with relaxed atomic OR / max, whose results do not depend
   on the order, so results never depend on the thread count. */
#define SY_MAX_THREADS 16
/* Row count below which kernels stay on one thread (default 2,000,000: below that a
   pass takes a few ms and a second thread does not pay, certainly not on a busy
   machine).  Settable for tests through siyu._core.set_parallel_min_rows. */
#define SY_PARALLEL_MIN_ROWS 2000000
void sy_set_parallel_min_rows(int64_t n);

/* Threads a row pass over n rows may use (1..SY_MAX_THREADS). */
int sy_pass_threads(int64_t n);

/* Retention kinds. */
#define SY_RET_NDAY      0
#define SY_RET_UNBOUNDED 1
#define SY_RET_BRACKET   2

/* ---- sy_cohort.c --------------------------------------------------------- */

/* Zeroed allocation for per-customer tables read at random once per row (huge pages
   when large); release with free().  NULL when out of memory. */
void *sy_table_alloc(int64_t bytes);

/* Stride (in int64 words) of a per-customer record of `words` payload words after a
   two-word header, padded to a power of two so records never straddle cache lines. */
static inline int64_t sy_record_stride(int64_t words)
{
    int64_t need = 2 + words;
    if (need <= 2) return 2;
    if (need <= 4) return 4;
    if (need <= 8) return 8;
    return need;
}

/* Per customer: day of the first purchase row with day <= end (SY_NO_DAY if none) and,
   when group != NULL, the group of that row (the lowest row index among rows of that
   day; 0 when group is NULL, -1 for customers without a purchase); first_group may be
   NULL.  *n_refund_only (may be NULL) receives the number of customers whose rows up
   to end are all refunds. */
int sy_cohort_first(const int64_t *cust, const int64_t *day, const double *amount,
                    const int64_t *group, int64_t n, int64_t k, int64_t end,
                    int64_t *first_day, int64_t *first_group, int64_t *n_refund_only);

/* Per customer: first purchase day strictly after first_day[c] and <= end
   (SY_NO_DAY if none or first_day[c] == SY_NO_DAY). */
int sy_cohort_second(const int64_t *cust, const int64_t *day, const double *amount,
                     int64_t n, int64_t k, int64_t end, const int64_t *first_day,
                     int64_t *second_day);

/*
 * Cohort x age matrices.  cell_row[c] is the matrix row of customer c (cohort and
 * group) or -1 to skip the customer; cust_per[c] is the period index of its cohort.
 * A row of customer c dated d <= end falls in age = period(d) - cust_per[c]; rows with
 * age < 0 (refunds dated before the first purchase period) are skipped and counted in
 * *n_dropped.  Outputs are row-major n_rows x n_ages and must be zeroed by the caller:
 *   active[r, a]   distinct customers with >= 1 purchase row at that age
 *   orders[r, a]   purchase rows
 *   revenue[r, a]  sum of all amounts (refunds included; compensated summation);
 *                  may be NULL (and must be NULL when amount is NULL).
 * lo_day must be <= the first day of every cohort period.  When k * ceil(n_ages/64)
 * exceeds max_bitset_words, distinct customers are found by bucketing the log by
 * customer instead of a per-customer bitset (same result, less memory).
 */
int sy_cohort_matrix(const int64_t *cust, const int64_t *day, const double *amount,
                     int64_t n, int64_t k, int64_t end, int period,
                     const int64_t *cell_row, const int64_t *cust_per,
                     int64_t n_rows, int64_t n_ages, int64_t lo_day,
                     int64_t max_bitset_words,
                     int64_t *active, int64_t *orders, double *revenue, int64_t *n_dropped);

/* ---- sy_retention.c ------------------------------------------------------ */

/*
 * Retention counts per group.  group[c] in [0, n_groups) or -1 (skip); first_day[c]
 * is the first purchase day of customers with group >= 0.  For output j with window
 * [lo[j], hi[j]] (lo == hi for n-day and unbounded):
 *   eligible[g, j]  customers of group g with first_day + hi[j] <= end
 *   retained[g, j]  eligible customers with a purchase whose day gap from the first
 *                   purchase is == lo[j] (n-day), >= lo[j] (unbounded) or in
 *                   [lo[j], hi[j]] (bracket).
 * Outputs are n_groups x n_out, row-major, zeroed by the caller.
 */
int sy_retention_count(const int64_t *cust, const int64_t *day, const double *amount,
                       int64_t n, int64_t k, int64_t end, const int64_t *first_day,
                       const int64_t *group, int64_t n_groups, int kind,
                       const int64_t *lo, const int64_t *hi, int64_t n_out,
                       int64_t max_bitset_words, int64_t *eligible, int64_t *retained);

/* Gaps in days between consecutive distinct purchase days of each customer (rows with
   day <= end).  count[c] receives the number of gaps of customer c; *gaps_out
   (malloc'ed, owned by the caller) holds them grouped by customer code, in time order;
   *n_gaps is their total. */
int sy_retention_interpurchase(const int64_t *cust, const int64_t *day, const double *amount,
                               int64_t n, int64_t k, int64_t end, int64_t *count,
                               int64_t **gaps_out, int64_t *n_gaps);

/* ---- grouped log ---------------------------------------------------------- */
/* The same results for a log whose rows are grouped by customer and sorted by day
   (siyu.Transactions stores it so): offsets (k + 1) delimit customer c's rows.  They
   split the work by customer ranges (no per-customer record tables, no atomics) and
   give identical results for any thread count. */
int sy_offsets_ok(const int64_t *offsets, int64_t k, int64_t n);
int sy_cohort_first_grouped(const int64_t *day, const double *amount, const int64_t *group,
                            const int64_t *offsets, int64_t k, int64_t end, int64_t *first_day,
                            int64_t *first_group, int64_t *n_refund_only);
int sy_cohort_second_grouped(const int64_t *day, const double *amount, const int64_t *offsets,
                             int64_t k, int64_t end, const int64_t *first_day, int64_t *second_day);
int sy_cohort_matrix_grouped(const int64_t *day, const double *amount, const int64_t *offsets,
                             int64_t k, int64_t end, int period, const int64_t *cell_row,
                             const int64_t *cust_per, int64_t n_rows, int64_t n_ages,
                             int64_t lo_day, int64_t *active, int64_t *orders, double *revenue,
                             int64_t *n_dropped);
int sy_retention_count_grouped(const int64_t *day, const double *amount, const int64_t *offsets,
                               int64_t k, int64_t end, const int64_t *first_day,
                               const int64_t *group, int64_t n_groups, int kind,
                               const int64_t *lo, const int64_t *hi, int64_t n_out,
                               int64_t *eligible, int64_t *retained);
int sy_retention_interpurchase_grouped(const int64_t *day, const double *amount,
                                       const int64_t *offsets, int64_t k, int64_t end,
                                       int64_t *count, int64_t **gaps_out, int64_t *n_gaps);

/* ---- sy_survival.c ------------------------------------------------------- */

/* Kaplan-Meier with Greenwood's variance on integer durations (>= 0).  event[i] is 1
   (observed) or 0 (censored).  Outputs have tmax + 1 entries, one per time 0..tmax,
   where tmax >= max(duration):
     events[t], censored[t]  counts at time t
     at_risk[t]              subjects with duration >= t
     survival[t]             product over s <= t of (1 - events[s] / at_risk[s])
     var_sum[t]              sum over s <= t of events[s] / (at_risk[s] (at_risk[s] - events[s]))
                             (the term is skipped when events[s] == at_risk[s]: survival is
                             then 0 and so are its bands, as in lifelines). */
int sy_survival_km(const int64_t *duration, const int64_t *event, int64_t n, int64_t tmax,
                   int64_t *events, int64_t *censored, int64_t *at_risk,
                   double *survival, double *var_sum);

#endif /* SY_COHORT_H */
