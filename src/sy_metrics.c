/*
 * sy_metrics.c -- the Chinese operators' metrics over calendar periods (DESIGN §2c).
 *
 * One pass over the log as siyu.Transactions stores it (grouped by customer, days
 * ascending within a customer), so a customer's purchases arrive bucket by bucket and
 * day by day: a few scalars of state per customer, counts per (group, bucket).
 *
 *   复购率 repeat-purchase rate = repeaters / buyers (customers), and
 *          (units - buyers) / units (orders), per bucket;
 *   回购率 return rate          = returned[b] / buyers[b].
 *
 * The rows are split across threads at customer boundaries; every thread counts into
 * its own table and the tables are summed (integer counts: identical for any thread
 * count).
 */
#include "siyu.h"
#include "sy_metrics.h"

#include <stdlib.h>
#include <string.h>

/* Rows per thread below which one thread is used, and the largest scratch table
   (int64 cells) a helper thread may allocate. */
#define SY_METRICS_MIN_ROWS 100000
#define SY_METRICS_MAX_SCRATCH ((int64_t)1 << 24)
/* Longest window (days) whose day -> bucket map is tabulated. */
#define SY_METRICS_LUT_DAYS ((uint64_t)1 << 20)
/* Rows between two sy_interrupted() polls. */
#define SY_METRICS_POLL 65536

typedef struct {
    const int64_t *cust, *day;
    const double *amount;
    const int64_t *group;
    int64_t n_groups, lo, hi, p0, n_buckets;
    int period, count_orders;
    const int64_t *table;         /* bucket of day lo + j (NULL: computed per day) */
    int64_t begin, end;           /* rows [begin, end) start and end at customer changes */
    int64_t *out;                 /* 4 tables of n_groups * n_buckets: buyers, repeaters,
                                     units, returned */
    int st;
} periods_job;

static inline void flush(int64_t *out, int64_t cells, int64_t cell, int64_t units)
{
    out[cell]++;
    if (units >= 2) out[cells + cell]++;
    out[2 * cells + cell] += units;
}

static void *periods_worker(void *arg)
{
    periods_job *jb = (periods_job *)arg;
    const int64_t *cust = jb->cust, *day = jb->day;
    const double *amount = jb->amount;
    const int64_t B = jb->n_buckets, cells = jb->n_groups * B;
    int64_t *out = jb->out;
    int64_t cur = -1, g = -1, bcur = -1, units = 0, lastd = INT64_MIN;
    int64_t cached_day = INT64_MIN, cached_b = 0;
    jb->st = SY_OK;
    for (int64_t i = jb->begin; i < jb->end; i++) {
        if (((i - jb->begin) & (SY_METRICS_POLL - 1)) == SY_METRICS_POLL - 1 && sy_interrupted()) {
            jb->st = SY_EINTR;
            return NULL;
        }
        int64_t c = cust[i], d = day[i];
        if (c != cur) {
            if (i > jb->begin && c < cur) { jb->st = SY_EINVAL; return NULL; }
            if (bcur >= 0) flush(out, cells, g * B + bcur, units);
            cur = c;
            g = jb->group ? jb->group[c] : 0;
            bcur = -1;
            units = 0;
            lastd = INT64_MIN;
        } else if (d < day[i - 1]) {
            jb->st = SY_EINVAL;
            return NULL;
        }
        if (g < 0 || d < jb->lo || d > jb->hi) continue;
        if (amount && !(amount[i] >= 0.0)) continue;
        int64_t b = 0;
        if (jb->table) {
            b = jb->table[d - jb->lo];
        } else if (jb->period != SY_METRICS_WINDOW) {
            if (d != cached_day) {
                cached_day = d;
                cached_b = sy_period_index(d, jb->period) - jb->p0;
            }
            b = cached_b;
            if (b < 0 || b >= B) { jb->st = SY_EINVAL; return NULL; }
        }
        if (b != bcur) {
            if (bcur >= 0) {
                flush(out, cells, g * B + bcur, units);
                if (b == bcur + 1) out[3 * cells + g * B + bcur]++;
            }
            bcur = b;
            units = 0;
            lastd = INT64_MIN;
        }
        if (jb->count_orders || d != lastd) {
            units++;
            lastd = d;
        }
    }
    if (bcur >= 0) flush(out, cells, g * B + bcur, units);
    return NULL;
}

int sy_metrics_periods(const int64_t *cust, const int64_t *day, const double *amount,
                       int64_t n, int64_t k, const int64_t *group, int64_t n_groups,
                       int64_t lo, int64_t hi, int period, int64_t p0, int64_t n_buckets,
                       int count_orders, int64_t *buyers, int64_t *repeaters, int64_t *units,
                       int64_t *returned)
{
    int64_t cells, table;
    if (n < 0 || k < 0 || n_groups < 1 || n_buckets < 1) return SY_EINVAL;
    if (period != SY_METRICS_WINDOW && (period < SY_PERIOD_D || period > SY_PERIOD_Y))
        return SY_EINVAL;
    if (period == SY_METRICS_WINDOW && n_buckets != 1) return SY_EINVAL;
    if (!sy_mul_ok(n_groups, n_buckets, &cells) || !sy_mul_ok(cells, 4, &table)) return SY_ENOMEM;
    if ((uint64_t)table > (uint64_t)(SIZE_MAX / sizeof(int64_t))) return SY_ENOMEM;
    for (int64_t i = 0; i < n; i++)
        if (cust[i] < 0 || cust[i] >= k) return SY_EINVAL;
    if (group)
        for (int64_t c = 0; c < k; c++)
            if (group[c] < -1 || group[c] >= n_groups) return SY_EINVAL;

    int T = sy_get_num_threads();
    if (T > SY_THREADS_CAP) T = SY_THREADS_CAP;
    if ((int64_t)T > n / SY_METRICS_MIN_ROWS) T = (int)(n / SY_METRICS_MIN_ROWS);
    if (T > 1 && table > SY_METRICS_MAX_SCRATCH / (T - 1)) {
        int64_t t = SY_METRICS_MAX_SCRATCH / table + 1;
        T = (int)(t < T ? t : T);
    }
    if (T < 1) T = 1;

    int64_t *main_table = (int64_t *)calloc((size_t)table, sizeof(int64_t));
    int64_t *scratch = NULL, *lut = NULL;
    periods_job *jobs = (periods_job *)calloc((size_t)T, sizeof(periods_job));
    int st = SY_ENOMEM;
    if (!main_table || !jobs) goto done;
    /* day -> bucket table over the window when it is short (a few KB for years of days) */
    if (period != SY_METRICS_WINDOW && hi >= lo && (uint64_t)hi - (uint64_t)lo < SY_METRICS_LUT_DAYS
            && (uint64_t)hi - (uint64_t)lo < (uint64_t)n) {
        int64_t span = hi - lo + 1;
        lut = (int64_t *)malloc(sizeof(int64_t) * (size_t)span);
        if (lut) {
            for (int64_t j = 0; j < span; j++) {
                lut[j] = sy_period_index(lo + j, period) - p0;
                if (lut[j] < 0 || lut[j] >= n_buckets) { st = SY_EINVAL; goto done; }
            }
        }
    }
    if (T > 1) {
        int64_t sc;
        if (!sy_mul_ok(table, T - 1, &sc)) goto done;
        scratch = (int64_t *)calloc((size_t)sc, sizeof(int64_t));
        if (!scratch) {
            T = 1;     /* no memory for per-thread tables: count on one thread */
        }
    }
    /* chunk boundaries at customer changes */
    int64_t prev = 0;
    for (int t = 0; t < T; t++) {
        int64_t b = t == T - 1 ? n : n / T * (t + 1);
        if (b < prev) b = prev;
        while (b > 0 && b < n && cust[b] == cust[b - 1]) b++;
        periods_job jb = {cust, day, amount, group, n_groups, lo, hi, p0, n_buckets, period,
                          count_orders != 0, lut, prev, b,
                          t == 0 ? main_table : scratch + (int64_t)(t - 1) * table, SY_OK};
        jobs[t] = jb;
        prev = b;
    }
    for (int t = 1; t < T; t++) {     /* rows across a boundary must also be ordered */
        int64_t b = jobs[t].begin;
        if (b > 0 && b < n && cust[b] < cust[b - 1]) { st = SY_EINVAL; goto done; }
    }
    sy_run_jobs(periods_worker, jobs, sizeof(periods_job), T);
    st = SY_OK;
    for (int t = 0; t < T; t++) {
        if (jobs[t].st == SY_EINTR) { st = SY_EINTR; goto done; }
        if (jobs[t].st != SY_OK && st == SY_OK) st = jobs[t].st;
    }
    if (st != SY_OK) goto done;
    for (int t = 1; t < T; t++) {
        const int64_t *s = scratch + (int64_t)(t - 1) * table;
        for (int64_t j = 0; j < table; j++) main_table[j] += s[j];
    }
    memcpy(buyers, main_table, sizeof(int64_t) * (size_t)cells);
    memcpy(repeaters, main_table + cells, sizeof(int64_t) * (size_t)cells);
    memcpy(units, main_table + 2 * cells, sizeof(int64_t) * (size_t)cells);
    memcpy(returned, main_table + 3 * cells, sizeof(int64_t) * (size_t)cells);
done:
    free(main_table);
    free(scratch);
    free(lut);
    free(jobs);
    return st;
}
