/*
 * sy_metrics.h -- the Chinese operators' metrics (复购率, 回购率) over calendar periods.
 *
 * Pure C kernels (no Python.h); see sy_metrics.c for the definitions.
 */
#ifndef SY_METRICS_H
#define SY_METRICS_H

#include <stdint.h>

/* `period` value of sy_metrics_periods meaning "the whole window is one bucket". */
#define SY_METRICS_WINDOW (-1)

/*
 * Per (group, bucket) counts of purchasing customers, in one pass over a log grouped
 * by customer (cust non-decreasing, day non-decreasing within a customer: the order
 * siyu.Transactions stores; anything else is SY_EINVAL).
 *
 * A purchase is a row with amount >= 0 (every row when amount is NULL) dated
 * lo <= day <= hi.  Buckets are the calendar periods `period` (SY_PERIOD_*), bucket
 * b = sy_period_index(day, period) - p0, which must lie in [0, n_buckets) for every
 * purchase in the window; with period = SY_METRICS_WINDOW the window is one bucket
 * (n_buckets must be 1, p0 is ignored).  A customer's *units* in a bucket are their
 * distinct purchase days there (count_orders = 0) or their purchase rows (1).
 *
 *   group     k codes in [0, n_groups) or -1 (customer skipped); NULL = all in group 0
 *   buyers    [g * n_buckets + b] customers with >= 1 unit in bucket b
 *   repeaters                     customers with >= 2 units in b
 *   units                         sum of units in b
 *   returned                      customers with a unit in b and one in b + 1
 *
 * Each output has n_groups * n_buckets int64 entries and is overwritten.  Splits the
 * customers across sy_get_num_threads() threads (results identical for any count);
 * polls sy_interrupted() and returns SY_EINTR when stopped.
 */
int sy_metrics_periods(const int64_t *cust, const int64_t *day, const double *amount,
                       int64_t n, int64_t k, const int64_t *group, int64_t n_groups,
                       int64_t lo, int64_t hi, int period, int64_t p0, int64_t n_buckets,
                       int count_orders, int64_t *buyers, int64_t *repeaters, int64_t *units,
                       int64_t *returned);

#endif /* SY_METRICS_H */
