/*
 * siyu.h -- shared types and status codes of the siyu C kernels.
 *
 * Kernels (sy_<area>.c) never include Python.h or NumPy headers: they take plain
 * pointers and int64 lengths and return an int status.  Only _coremodule.c knows
 * Python; it maps the status codes below to exceptions.
 */
#ifndef SIYU_H
#define SIYU_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---- status codes ------------------------------------------------------ */
#define SY_OK          0
#define SY_ENOMEM      1   /* allocation failed or size overflow          -> MemoryError   */
#define SY_EINVAL      2   /* invalid argument (caller should have caught) -> ValueError    */
#define SY_ERANGE      3   /* value out of the representable range        -> OverflowError */
#define SY_ENOCONV     4   /* optimiser did not converge                  -> ConvergenceError */
#define SY_ENAN        5   /* a NaN/inf appeared where it must not        -> FloatingPointError */
#define SY_EINTR       6   /* stopped by sy_interrupted() (Ctrl-C)         -> KeyboardInterrupt */

/* ---- interrupts -------------------------------------------------------- */
/* Nonzero once the running call should stop (Ctrl-C).  Cheap (a flag read, plus a clock
   read on the calling thread): long kernels call it every few thousand rows or once per
   optimiser iteration and return SY_EINTR when it is nonzero, after freeing what they
   own.  Outside a Python call (or from a plain C caller) it always returns 0.  Defined by
   the glue (py_glue.c). */
int sy_interrupted(void);
/* The calling thread's interrupt context, and adopting it on a worker thread
   (sy_parallel_for does this, so its workers see the caller's stop flag). */
void *sy_intr_context(void);
void sy_intr_adopt(void *ctx);

/* ---- periods ----------------------------------------------------------- */
/* Calendar period codes shared by every kernel that buckets days. */
#define SY_PERIOD_D 0   /* calendar day                         */
#define SY_PERIOD_W 1   /* ISO week, Monday start               */
#define SY_PERIOD_M 2   /* calendar month                       */
#define SY_PERIOD_Q 3   /* calendar quarter                     */
#define SY_PERIOD_Y 4   /* calendar year                        */

/* Days are int64 counts since 1970-01-01 (proleptic Gregorian, local wall clock).
   Kernels accept days in [SY_DAY_MIN, SY_DAY_MAX] (about +-2.7 million years: every
   calendar, period-index and period-start computation is overflow-free there); the glue
   rejects anything outside.  The supported calendar for users is narrower (years
   1..9999, checked when a log is built). */
#define SY_DAY_MIN (-1000000000LL)
#define SY_DAY_MAX (1000000000LL)

/* Convert a day number to (year, month 1..12, day 1..31). */
void sy_civil_from_days(int64_t z, int64_t *y, int64_t *m, int64_t *d);
/* Convert (year, month, day) to a day number. */
int64_t sy_days_from_civil(int64_t y, int64_t m, int64_t d);
/* Index of the calendar period that contains `day` (monotone in day; consecutive
   periods have consecutive indices).  Week 0 is the week starting Monday 1969-12-29. */
int64_t sy_period_index(int64_t day, int period);
/* First day of period `index` (inverse of sy_period_index). */
int64_t sy_period_start(int64_t index, int period);
/* Map a whole array of days to period indices (SY_EINTR when Ctrl-C stops it). */
int sy_period_index_array(const int64_t *day, int64_t n, int period, int64_t *out);
/* First days of a whole array of period indices (SY_EINTR when Ctrl-C stops it). */
int sy_period_start_array(const int64_t *index, int64_t n, int period, int64_t *out);

/* ---- summaries (sy_summary.c) ------------------------------------------ */
typedef struct {
    int64_t day;
    double amount;
} sy_row;

/* Group the rows with lo < day <= hi by customer code (counting sort, O(n + k)).
   offsets (k + 1 entries) is filled; *rows_out is malloc'ed and owned by the caller. */
int sy_bucket_by_customer(const int64_t *cust, const int64_t *day, const double *amount,
                          int64_t n, int64_t k, int64_t lo, int64_t hi,
                          int64_t *offsets, sy_row **rows_out);
/* Sort one customer's rows by day (insertion sort when short). */
void sy_sort_rows(sy_row *r, int64_t len);
/* Order rows by (customer, day, original position): counting sort on the customer code,
   then short stable sorts by day within each customer.  offsets (k + 1) is filled and
   perm[j] = original index of the j-th row in the new order; day_out / cust_out (may be
   NULL) receive the reordered days and customer codes.  Uses sy_get_num_threads(). */
int sy_group_rows(const int64_t *cust, const int64_t *day, int64_t n, int64_t k,
                  int64_t *offsets, int64_t *perm, int64_t *day_out, int64_t *cust_out);
/* 1 when cust is non-decreasing and day non-decreasing within each customer. */
int sy_is_grouped(const int64_t *cust, const int64_t *day, int64_t n);
/* Per-customer summaries (see sy_summary.c).  grouped_offsets (k + 1, may be NULL): the
   rows are already grouped by customer and sorted by day (the stored log) and these are
   their offsets; otherwise the rows are grouped first when they are not. */
int sy_summary_compute(const int64_t *cust, const int64_t *day, const double *amount,
                       const int64_t *grouped_offsets,
                       int64_t n, int64_t k, int period, int64_t lo, int64_t hi,
                       int64_t *n_occ, int64_t *first_day, int64_t *last_day,
                       int64_t *first_per, int64_t *last_per, int64_t *n_orders,
                       double *revenue, double *first_amount, double *repeat_sum);

/* The columns of Transactions.summary() for the stored log (rows grouped by customer
   and sorted by day, delimited by offsets), rows with lo < day <= hi: frequency,
   recency and T (in units of `scale` periods), monetary (may be NULL), n_orders,
   revenue (may be NULL), first / last purchase day * date_scale, days since the last
   purchase.  Customers without a purchase are dropped: keep[c] says which, and the
   n_kept buyers fill the first entries of each column, in code order. */
int sy_summary_table(const int64_t *day, const double *amount, const int64_t *offsets, int64_t k,
                     int period, int64_t lo, int64_t hi, int64_t end_per, int64_t end_day,
                     double scale, int include_first, int64_t date_scale,
                     int64_t *frequency, double *recency, double *T, double *monetary,
                     int64_t *n_orders, double *revenue, int64_t *first, int64_t *last,
                     int64_t *since, uint8_t *keep, int64_t *n_kept);

/* ---- size helpers ------------------------------------------------------ */
/* Multiply two non-negative sizes, returning 0 and leaving *out untouched on overflow. */
static inline int sy_mul_ok(int64_t a, int64_t b, int64_t *out)
{
    if (a < 0 || b < 0) return 0;
    if (a != 0 && b > INT64_MAX / a) return 0;
    *out = a * b;
    return 1;
}

#define SY_THREADS_CAP 256
/* Number of worker threads kernels may use (1..SY_THREADS_CAP).  Set from Python with
   siyu.set_num_threads(); default = number of online cores. */
int sy_get_num_threads(void);
void sy_set_num_threads(int n);
/* Run fn(ctx, begin, end) over [0, n) split into contiguous chunks (at least
   min_per_thread items each) that the threads pull dynamically.  fn must write only its
   own chunk's outputs (results then never depend on the thread count or scheduling). */
void sy_parallel_for(int64_t n, int64_t min_per_thread, void (*fn)(void *, int64_t, int64_t),
                     void *ctx);
/* Run fn(ctx, lo, hi) over [0, n) in fixed blocks of `block` items ([b*block, (b+1)*block)
   clipped to n), the blocks spread over the threads (at least min_blocks per thread).
   Ctrl-C is polled before every block; the first status other than SY_OK (fn's, or
   SY_EINTR) stops every thread and is returned.  fn must write only its block's outputs. */
int sy_parallel_blocks(int64_t n, int64_t block, int64_t min_blocks,
                       int (*fn)(void *, int64_t, int64_t), void *ctx);
/* Run fn(jobs + t * job_size) for t = 0..nthreads-1 (nthreads <= SY_THREADS_CAP), job 0 on
   the calling thread, the others on pthreads when possible (sequentially when a thread
   cannot be started).  Workers adopt the caller's interrupt context. */
void sy_run_jobs(void *(*fn)(void *), void *jobs, size_t job_size, int nthreads);

/* ---- sorting (sy_radix.c) ----------------------------------------------- */
/* Sorts the n pairs (key[i], val[i]) by key ascending, stably (equal keys keep their
   order): LSD radix, a byte per pass, passes skipped whose byte every key shares.  On
   SY_ENOMEM or SY_EINTR (Ctrl-C) the arrays hold some permutation of the pairs. */
int sy_radix_sort_u64(uint64_t *key, int64_t *val, int64_t n);

/* Order-preserving unsigned key of a non-NaN double (-0.0 and 0.0 share a key). */
static inline uint64_t sy_f64_key(double v)
{
    uint64_t u;
    if (v == 0.0) v = 0.0;
    memcpy(&u, &v, sizeof u);
    return (u >> 63) ? ~u : (u | ((uint64_t)1 << 63));
}

/* ---- two-term log-sum-exp ----------------------------------------------------- */
/* log(e^a + e^b) without overflow, and the shares *pa = e^a / (e^a + e^b), *pb = 1 - *pa
   (the two-branch likelihoods of BG/NBD and Pareto/NBD).  b = -inf gives (a, 1, 0). */
static inline double sy_logadd2(double a, double b, double *pa, double *pb)
{
    if (b == -INFINITY) {
        *pa = 1.0;
        *pb = 0.0;
        return a;
    }
    if (a >= b) {
        const double e = exp(b - a);
        *pa = 1.0 / (1.0 + e);
        *pb = e * *pa;
        return a + log1p(e);
    }
    const double e = exp(a - b);
    *pb = 1.0 / (1.0 + e);
    *pa = e * *pb;
    return b + log1p(e);
}

/* ---- gathers (sy_take.c) ------------------------------------------------ */
/* out[i] = values[idx[i]] for i < n, items of itemsize bytes; SY_EINVAL when an index
   lies outside [0, n_values) (out is then partly written), SY_EINTR on Ctrl-C. */
int sy_take(const void *values, int64_t n_values, size_t itemsize, const int64_t *idx, int64_t n,
            void *out);

/* ---- ids (sy_factorize.c) ---------------------------------------------- */
/* Codes 0..k-1 following sorted ids; uniques needs room for n values. */
int sy_factorize_int64(const int64_t *ids, int64_t n, int64_t *codes, int64_t *uniques,
                       int64_t *k_out);

/* ---- building the stored log (sy_factorize.c) --------------------------- */
/* What the validation pass found; nothing is built when any of the first four is set. */
typedef struct {
    int64_t nat;            /* missing times (INT64_MIN) */
    int64_t out_of_range;   /* times whose day lies outside [day_lo, day_hi] */
    int64_t nonfinite;      /* NaN / inf amounts */
    int sum_overflow;       /* the sum of |amount| overflows a double */
    int64_t dups;           /* rows equal to an earlier row in (id, raw time, amount) */
    int64_t day_min, day_max;   /* range of the days (0 for an empty log) */
    int64_t negative, zero;     /* amounts < 0 and == 0 */
} sy_build_check;

typedef struct sy_build sy_build;

/* day numbers of raw time values (as sy_build_begin); *n_nat / *n_out_of_range count the
   bad values (out is then incomplete). */
int sy_days_from_times(const int64_t *t, int64_t n, int64_t div, int64_t mult, int64_t day_lo,
                       int64_t day_hi, int64_t *out, int64_t *n_nat, int64_t *n_out_of_range);

/* Validate and group a log in one go.  Rows are ordered by (customer code, day, input
   row), customer codes following sorted ids.  day = floor(t / div) (mult == 1) or
   t * 7 (mult == 7, div == 1: datetime64[W]); days must lie in [day_lo, day_hi].
   amount may be NULL (amount_out then receives zeros); perm_out (may be NULL) receives
   the input row of each output row.  day_out / amount_out / perm_out (n entries each)
   double as the partition buffer; the customer code of each row is not written (it
   follows from the offsets).  On SY_OK either *out is NULL and `check` says which rows
   are bad (the outputs are then garbage), or *out holds the grouping: sy_build_k gives
   the number of customers and sy_build_finish writes offsets_out (k + 1) and
   uniques_out (k); release it with sy_build_free.  Uses
   sy_pass_threads(n) threads; polls sy_interrupted(). */
int sy_build_begin(const int64_t *ids, const int64_t *t, int64_t div, int64_t mult,
                   const double *amount, int64_t n, int64_t day_lo, int64_t day_hi,
                   int64_t *day_out, double *amount_out, int64_t *perm_out,
                   sy_build_check *check, sy_build **out);
int64_t sy_build_k(const sy_build *b);
int sy_build_finish(const sy_build *b, int64_t *offsets_out, int64_t *uniques_out);
void sy_build_free(sy_build *b);

#endif /* SIYU_H */
