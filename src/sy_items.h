/*
 * sy_items.h -- item-level kernels: replenishment cycles, due products, customers' own
 * purchase gaps and cross-sell records (issue #16).  Pure C: no Python.h.
 *
 * Inputs are the line items (or the log) as Transactions stores them: grouped by
 * customer code (rows of customer c are offsets[c] .. offsets[c + 1] - 1) and sorted by
 * day within a customer.  Rows dated after `end` are ignored (a customer's rows stop at
 * the first such row).  `key` holds product (or category) codes 0 .. n_keys - 1; a
 * negative code marks a row to leave out (e.g. a missing product label).
 */
#ifndef SY_ITEMS_H
#define SY_ITEMS_H

#include <stdint.h>

/* ---- replenishment cycles ------------------------------------------------------------
   For every (customer, key) pair, the purchase days of that key (several rows on one day
   are one purchase) give closed intervals (the calendar-day gaps between consecutive
   purchase days: events) and one open interval from the last purchase day to `end`
   (censored).  prepare() scans the customers (threads), sorts the intervals by (key,
   duration) -- per-key histograms by duration when n_keys x (span + 1) <=
   max_dense_cells (per thread), else two counting-sort passes -- and counts the rows of
   the Kaplan-Meier curves;
   finish() writes the per-key statistics and the curves; free() releases the state. */
typedef struct sy_gap_state sy_gap_state;

int sy_items_gaps_prepare(const int64_t *day, const int64_t *offsets, int64_t k,
                          const int64_t *key, int64_t n_keys, int64_t end,
                          int64_t max_dense_cells, sy_gap_state **state,
                          int64_t *n_curve_rows);
/* Per key (n_keys entries; 3 * n_keys for the quantile arrays, q25/q50/q75 of key j at
   3j .. 3j+2): buyers (customers with a purchase), rebuyers (customers with a closed
   interval), closed intervals; quantiles of the closed intervals (linear interpolation
   between order statistics, as pandas; NaN without any); Kaplan-Meier quantiles (the
   first day on which the estimate is <= 1 - q; NaN when it never gets there).
   Curves (n_curve_rows, key-major): key, day (0 and every day with an event or a
   censoring), at risk, events, censored, survival, Greenwood sum d / (r (r - d)). */
int sy_items_gaps_finish(const sy_gap_state *state, int64_t *n_buyers, int64_t *n_rebuyers,
                         int64_t *n_closed, double *obs_q, double *km_q, int64_t *c_key,
                         int64_t *c_time, int64_t *c_risk, int64_t *c_events,
                         int64_t *c_censored, double *c_surv, double *c_var);
void sy_items_gaps_free(sy_gap_state *state);

/* ---- due products ---------------------------------------------------------------------
   For each customer and each key with a finite cycle[key] > 0 they bought by `as_of`:
   overdue = as_of - (last purchase day of the key + cycle).  The key is *due* when
   overdue >= -lead and overdue <= stale * cycle.  Per customer: n_due, the shortest cycle
   among the keys they bought (NaN when none has a cycle) and the m most overdue due keys
   (ties: smaller code first) in due_key / due_over / due_last (k * m entries, customer
   major; unused slots key -1, NaN, INT64_MIN). */
int sy_items_due(const int64_t *day, const int64_t *offsets, int64_t k, const int64_t *key,
                 int64_t n_keys, const double *cycle, int64_t as_of, double lead, double stale,
                 int64_t m, int64_t *n_due, double *min_cycle, int64_t *due_key,
                 double *due_over, int64_t *due_last);

/* ---- a customer's own gaps -------------------------------------------------------------
   Purchase occasions = distinct days of rows with amount >= 0 (all rows when amount is
   NULL) on or before as_of.  Per customer: number of gaps between consecutive occasions
   and their median (mean of the two middle gaps for an even count; NaN without gaps),
   the last occasion day (INT64_MIN without any) and the net amount of all rows on or
   before as_of, refunds included (0 when amount is NULL). */
int sy_items_own_gaps(const int64_t *day, const double *amount, const int64_t *offsets,
                      int64_t k, int64_t as_of, int64_t *n_gaps, double *median_gap,
                      int64_t *last_day, double *revenue);

/* ---- cross-sell -----------------------------------------------------------------------
   Per customer with an item by `end`: E = the keys bought on their first item day (one
   first record (customer, key) each).  For every key b first bought (again, for b in E)
   on a later day L, one cross record (customer, a, b, L - first day) per a in E.  For
   every key first bought at all, one breadth record (customer, period age of that day:
   period index minus that of the first day).  Revenue of the items (amount, may be NULL)
   in total and outside E.  With the record arrays NULL only the counts are computed
   (call once to size, once to fill with caps equal to those counts).  first_day:
   INT64_MIN for customers without items. */
typedef struct {
    int64_t *first_day;            /* k */
    double *rev_total, *rev_beyond; /* k */
    int64_t cross_cap, first_cap, breadth_cap;
    int64_t *x_cust, *x_a, *x_b, *x_days;   /* cross records (NULL: count only) */
    int64_t *f_cust, *f_key;                /* first records */
    int64_t *b_cust, *b_age;                /* breadth records */
    int64_t n_cross, n_first, n_breadth;    /* out: record counts */
} sy_cross_out;

int sy_items_cross(const int64_t *day, const int64_t *offsets, int64_t k, const int64_t *key,
                   int64_t n_keys, const double *amount, int64_t end, int period,
                   sy_cross_out *out);

/* ---- ranking -------------------------------------------------------------------------
   order = 0 .. n-1 sorted by (k1, k2, k3, position) ascending (NaN must be mapped to +inf
   by the caller; a NaN key is SY_EINVAL). */
int sy_items_rank(const double *k1, const double *k2, const double *k3, int64_t n,
                  int64_t *order);

/* ---- texts of many rows (the recall list's reasons and product lists) ---------------
   Row i is the join, by sep, of the present parts p (choice[p * n + i] = template k >= 0);
   a template is a sequence of pieces: literal UTF-8 bytes, the decimal text of
   ints[field * n + i], or tables[table].s[ints[field * n + i]].  The texts are laid out
   as an Arrow large_string array: offsets (n + 1) then bytes.  sy_text_offsets checks
   every index and the total size (threads); sy_text_write fills dst (offsets[n] bytes). */
typedef struct {
    int kind;             /* 0 literal, 1 integer field, 2 table lookup */
    const char *s;        /* literal bytes */
    int64_t len;
    int64_t field;        /* row of ints */
    int64_t table;        /* index into tables */
} sy_text_piece;

typedef struct {
    int64_t n_str;
    const char **s;
    int64_t *len;
} sy_text_table;

typedef struct {
    sy_text_piece **tpl;        /* n_tpl templates of tpl_len[k] pieces */
    const int64_t *tpl_len;
    int64_t n_tpl;
    const sy_text_table *tabs;
    const char *sep;
    int64_t sep_len;
    const int64_t *choice, *ints;   /* (P, n) and (F, n), row-major */
    int64_t P, n;
    const int64_t *lit_len;     /* per template: total bytes of its literal pieces */
} sy_text_job;

#define SY_TEXT_ETABLE 100      /* a table index out of range (SY_EINVAL: a template's) */

int sy_text_offsets(const sy_text_job *job, int64_t *offsets);
int sy_text_write(const sy_text_job *job, const int64_t *offsets, char *dst);

#endif /* SY_ITEMS_H */
