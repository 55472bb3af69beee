/*
 * sy_summary.c -- per-customer purchase summaries in one pass over the log.
 *
 * The log is never fully sorted: rows are bucketed by customer code with a counting
 * sort (O(n + k)), then each customer's few rows are ordered by day in place.
 * Definitions (DESIGN.md section 2):
 *   occasion  = a calendar period (freq) holding at least one row with amount >= 0;
 *               its amount is the sum of all rows of that period (refunds included).
 *   refund    = a row with amount < 0: reduces revenue, never creates an occasion.
 *   first/last purchase day = first/last day with a row of amount >= 0.
 */
#include "siyu.h"

#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>

static int row_cmp(const void *a, const void *b)
{
    int64_t x = ((const sy_row *)a)->day, y = ((const sy_row *)b)->day;
    return (x > y) - (x < y);
}

void sy_sort_rows(sy_row *r, int64_t len)
{
    if (len <= 32) {
        for (int64_t i = 1; i < len; i++) {
            sy_row v = r[i];
            int64_t j = i - 1;
            while (j >= 0 && r[j].day > v.day) {
                r[j + 1] = r[j];
                j--;
            }
            r[j + 1] = v;
        }
    } else {
        qsort(r, (size_t)len, sizeof(sy_row), row_cmp);
    }
}

/*
 * Bucket the rows with lo < day <= hi by customer.  On success *rows_out holds the
 * selected rows grouped by customer and offsets[c]..offsets[c+1] delimit customer c
 * (offsets has k + 1 entries and is filled here).  The caller frees *rows_out.
 */
int sy_bucket_by_customer(const int64_t *cust, const int64_t *day, const double *amount,
                          int64_t n, int64_t k, int64_t lo, int64_t hi,
                          int64_t *offsets, sy_row **rows_out)
{
    int64_t bytes;
    *rows_out = NULL;
    if (n < 0 || k < 0) return SY_EINVAL;
    memset(offsets, 0, sizeof(int64_t) * (size_t)(k + 1));
    for (int64_t i = 0; i < n; i++) {
        int64_t c = cust[i];
        if (c < 0 || c >= k) return SY_EINVAL;
        if (day[i] > lo && day[i] <= hi) offsets[c + 1]++;
    }
    for (int64_t c = 0; c < k; c++) offsets[c + 1] += offsets[c];
    int64_t m = offsets[k];
    if (!sy_mul_ok(m > 0 ? m : 1, (int64_t)sizeof(sy_row), &bytes)) return SY_ENOMEM;
    sy_row *rows = (sy_row *)malloc((size_t)bytes);
    int64_t *fill = (int64_t *)malloc(sizeof(int64_t) * (size_t)(k > 0 ? k : 1));
    if (!rows || !fill) {
        free(rows);
        free(fill);
        return SY_ENOMEM;
    }
    memcpy(fill, offsets, sizeof(int64_t) * (size_t)k);
    for (int64_t i = 0; i < n; i++) {
        if (day[i] > lo && day[i] <= hi) {
            int64_t p = fill[cust[i]]++;
            rows[p].day = day[i];
            rows[p].amount = amount ? amount[i] : 0.0;
        }
    }
    free(fill);
    *rows_out = rows;
    return SY_OK;
}

typedef struct {
    int64_t day;
    int64_t idx;
} day_idx;

static int day_idx_cmp(const void *a, const void *b)
{
    const day_idx *x = (const day_idx *)a, *y = (const day_idx *)b;
    if (x->day != y->day) return (x->day > y->day) - (x->day < y->day);
    return (x->idx > y->idx) - (x->idx < y->idx);
}

typedef struct {
    const int64_t *cust, *day;
    int64_t n, k, nchunks;
    int64_t *counts;        /* nchunks x k row counts; then k scatter positions */
    const int64_t *offsets;
    int64_t *perm, *day_out, *cust_out;
    int bad;                /* set when a customer code is out of range */
    int nomem;              /* set when a long segment's scratch buffer failed */
} group_ctx;

static void group_count(void *vctx, int64_t t0, int64_t t1)
{
    group_ctx *g = (group_ctx *)vctx;
    for (int64_t t = t0; t < t1; t++) {
        int64_t *cnt = g->counts + t * g->k;
        int64_t i0 = g->n * t / g->nchunks, i1 = g->n * (t + 1) / g->nchunks;
        for (int64_t i = i0; i < i1; i++) {
            int64_t c = g->cust[i];
            if (c < 0 || c >= g->k) {
                g->bad = 1;
                return;
            }
            cnt[c]++;
        }
    }
}

/* Thread t places the rows of customers [k t / T, k (t + 1) / T), scanning all rows in
   order (stable): the threads write disjoint output blocks, so no cache line is shared
   (chunks by rows would interleave inside each customer's block: false sharing). */
static void group_scatter(void *vctx, int64_t t0, int64_t t1)
{
    group_ctx *g = (group_ctx *)vctx;
    int64_t *perm = g->perm, *dout = g->day_out, *pos = g->counts;
    for (int64_t t = t0; t < t1; t++) {
        int64_t c0 = g->k * t / g->nchunks, c1 = g->k * (t + 1) / g->nchunks;
        for (int64_t i = 0; i < g->n; i++) {
            int64_t c = g->cust[i];
            if (c < c0 || c >= c1) continue;
            int64_t p = pos[c]++;
            perm[p] = i;
            dout[p] = g->day[i];
        }
    }
}

static void group_sort(void *vctx, int64_t c0, int64_t c1)
{
    group_ctx *g = (group_ctx *)vctx;
    int64_t *perm = g->perm, *d = g->day_out;
    for (int64_t c = c0; c < c1; c++) {
        int64_t lo = g->offsets[c], len = g->offsets[c + 1] - lo;
        if (g->cust_out)
            for (int64_t j = lo; j < lo + len; j++) g->cust_out[j] = c;
        if (len <= 32) {           /* insertion sort: stable, so ties keep row order */
            for (int64_t a = lo + 1; a < lo + len; a++) {
                int64_t vd = d[a], vp = perm[a], b = a - 1;
                while (b >= lo && d[b] > vd) {
                    d[b + 1] = d[b];
                    perm[b + 1] = perm[b];
                    b--;
                }
                d[b + 1] = vd;
                perm[b + 1] = vp;
            }
            continue;
        }
        int sorted = 1;
        for (int64_t j = lo + 1; j < lo + len && sorted; j++) sorted = d[j - 1] <= d[j];
        if (sorted) continue;
        day_idx *r = (day_idx *)malloc(sizeof(day_idx) * (size_t)len);
        if (!r) {
            g->nomem = 1;
            return;
        }
        for (int64_t j = 0; j < len; j++) {
            r[j].day = d[lo + j];
            r[j].idx = perm[lo + j];
        }
        qsort(r, (size_t)len, sizeof(day_idx), day_idx_cmp);   /* ties by row: stable */
        for (int64_t j = 0; j < len; j++) {
            d[lo + j] = r[j].day;
            perm[lo + j] = r[j].idx;
        }
        free(r);
    }
}

int sy_group_rows(const int64_t *cust, const int64_t *day, int64_t n, int64_t k,
                  int64_t *offsets, int64_t *perm, int64_t *day_out, int64_t *cust_out)
{
    int64_t cbytes;
    if (n < 0 || k < 0 || !day_out) return SY_EINVAL;
    /* one chunk of rows per thread, at least 1M rows each */
    int64_t nchunks = sy_get_num_threads();
    if (nchunks > 1 + n / 1000000) nchunks = 1 + n / 1000000;
    if (!sy_mul_ok(nchunks, k > 0 ? k : 1, &cbytes) || !sy_mul_ok(cbytes, 8, &cbytes))
        return SY_ENOMEM;
    group_ctx g = {cust, day, n, k, nchunks, NULL, offsets, perm, day_out, cust_out, 0, 0};
    g.counts = (int64_t *)calloc(1, (size_t)cbytes);
    if (!g.counts) return SY_ENOMEM;
    sy_parallel_for(nchunks, 1, group_count, &g);
    if (g.bad) {
        free(g.counts);
        return SY_EINVAL;
    }
    /* offsets; the first k counts become each customer's next output position */
    int64_t run = 0;
    for (int64_t c = 0; c < k; c++) {
        offsets[c] = run;
        for (int64_t t = 0; t < nchunks; t++) run += g.counts[t * k + c];
        g.counts[c] = offsets[c];
    }
    offsets[k] = run;
    sy_parallel_for(nchunks, 1, group_scatter, &g);
    free(g.counts);
    sy_parallel_for(k, 20000, group_sort, &g);
    return g.nomem ? SY_ENOMEM : SY_OK;
}

int sy_is_grouped(const int64_t *cust, const int64_t *day, int64_t n)
{
    for (int64_t i = 1; i < n; i++) {
        if (cust[i] < cust[i - 1]) return 0;
        if (cust[i] == cust[i - 1] && day[i] < day[i - 1]) return 0;
    }
    return 1;
}

typedef struct {
    const int64_t *day;
    const double *amount;
    const int64_t *offsets;
    int period;
    int64_t lo, hi;
    int64_t *n_occ, *first_day, *last_day, *first_per, *last_per, *n_orders;
    double *revenue, *first_amount, *repeat_sum;
    _Atomic int stop;       /* Ctrl-C seen by a worker */
} summary_ctx;

typedef struct {
    int64_t occ, fday, lday, fper, lper, orders;
    double rev, famt, rsum;
} cust_summary;

/* One customer's rows [i, end), sorted by day: the figures of rows with lo < day <= hi. */
static void summarise_customer(const int64_t *day, const double *amount, int64_t i, int64_t end,
                               int period, int64_t lo, int64_t hi, cust_summary *o)
{
    while (i < end && day[i] <= lo) i++;
    int64_t occ = 0, orders = 0, fday = 0, lday = 0, fper = 0, lper = 0;
    double rev = 0.0, famt = 0.0, rsum = 0.0;
    while (i < end && day[i] <= hi) {
        /* one calendar period: rows i..j-1 */
        int64_t per = sy_period_index(day[i], period);
        int64_t pend = period == SY_PERIOD_D ? day[i] : sy_period_start(per + 1, period) - 1;
        int64_t j = i;
        int purchase = 0;
        double amt = 0.0;
        int64_t pfirst = 0, plast = 0;
        while (j < end && day[j] <= pend && day[j] <= hi) {
            double a = amount ? amount[j] : 0.0;
            amt += a;
            if (a >= 0.0) {
                if (!purchase) pfirst = day[j];
                plast = day[j];
                purchase = 1;
                orders++;
            }
            j++;
        }
        rev += amt;
        if (purchase) {
            if (occ == 0) {
                fday = pfirst;
                fper = per;
                famt = amt;
            } else {
                rsum += amt;
            }
            lday = plast;
            lper = per;
            occ++;
        }
        i = j;
    }
    o->occ = occ;
    o->fday = fday;
    o->lday = lday;
    o->fper = fper;
    o->lper = lper;
    o->orders = orders;
    o->rev = rev;
    o->famt = famt;
    o->rsum = rsum;
}

/* Summarise customers [c0, c1); rows of a customer are contiguous and sorted by day. */
static void summarise_range(void *vctx, int64_t c0, int64_t c1)
{
    summary_ctx *x = (summary_ctx *)vctx;
    for (int64_t c = c0; c < c1; c++) {
        if ((c & 8191) == 0 && sy_interrupted()) {
            x->stop = 1;
            return;
        }
        cust_summary o;
        summarise_customer(x->day, x->amount, x->offsets[c], x->offsets[c + 1], x->period, x->lo,
                           x->hi, &o);
        x->n_occ[c] = o.occ;
        if (x->first_day) x->first_day[c] = o.fday;
        if (x->last_day) x->last_day[c] = o.lday;
        if (x->first_per) x->first_per[c] = o.fper;
        if (x->last_per) x->last_per[c] = o.lper;
        if (x->n_orders) x->n_orders[c] = o.orders;
        if (x->revenue) x->revenue[c] = o.rev;
        if (x->first_amount) x->first_amount[c] = o.famt;
        if (x->repeat_sum) x->repeat_sum[c] = o.rsum;
    }
}

/*
 * Summarise each customer's rows with lo < day <= hi.
 *
 * Outputs (length k each; any may be NULL except n_occ):
 *   n_occ        occasions (0 = no purchase in the window)
 *   first_day    day of the first purchase row (undefined when n_occ == 0)
 *   last_day     day of the last purchase row
 *   first_per    period index of the first occasion
 *   last_per     period index of the last occasion
 *   n_orders     rows with amount >= 0
 *   revenue      sum of all amounts (refunds included)
 *   first_amount amount of the first occasion
 *   repeat_sum   summed amount of the occasions after the first
 *
 * Rows already grouped by customer and sorted by day (as siyu.Transactions stores
 * them) are scanned in place; otherwise they are grouped first (O(n + k)).
 */
int sy_summary_compute(const int64_t *cust, const int64_t *day, const double *amount,
                       const int64_t *grouped_offsets,
                       int64_t n, int64_t k, int period, int64_t lo, int64_t hi,
                       int64_t *n_occ, int64_t *first_day, int64_t *last_day,
                       int64_t *first_per, int64_t *last_per, int64_t *n_orders,
                       double *revenue, double *first_amount, double *repeat_sum)
{
    if (period < SY_PERIOD_D || period > SY_PERIOD_Y) return SY_EINVAL;
    if (k < 0 || n < 0 || !n_occ) return SY_EINVAL;
    int st = SY_OK;
    if (grouped_offsets) {
        /* the stored log: rows already grouped and sorted, offsets checked by the caller */
        summary_ctx ctx = {day, amount, grouped_offsets, period, lo, hi, n_occ, first_day,
                           last_day, first_per, last_per, n_orders, revenue, first_amount,
                           repeat_sum, 0};
        sy_parallel_for(k, 20000, summarise_range, &ctx);
        return ctx.stop ? SY_EINTR : SY_OK;
    }
    int64_t *offsets = (int64_t *)calloc((size_t)(k + 1), sizeof(int64_t));
    int64_t *perm = NULL, *day2 = NULL;
    double *amount2 = NULL;
    if (!offsets) return SY_ENOMEM;
    if (sy_is_grouped(cust, day, n)) {
        for (int64_t i = 0; i < n; i++) {
            if (cust[i] < 0 || cust[i] >= k) {
                st = SY_EINVAL;
                goto done;
            }
            offsets[cust[i] + 1]++;
        }
        for (int64_t c = 0; c < k; c++) offsets[c + 1] += offsets[c];
    } else {
        perm = (int64_t *)malloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
        day2 = (int64_t *)malloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
        if (amount) amount2 = (double *)malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
        if (!perm || !day2 || (amount && !amount2)) {
            st = SY_ENOMEM;
            goto done;
        }
        if ((st = sy_group_rows(cust, day, n, k, offsets, perm, day2, NULL)) != SY_OK) goto done;
        if (amount)
            for (int64_t j = 0; j < n; j++) amount2[j] = amount[perm[j]];
        day = day2;
        amount = amount2;
    }
    summary_ctx ctx = {day, amount, offsets, period, lo, hi, n_occ, first_day, last_day,
                       first_per, last_per, n_orders, revenue, first_amount, repeat_sum, 0};
    sy_parallel_for(k, 20000, summarise_range, &ctx);
    if (ctx.stop) st = SY_EINTR;
done:
    free(offsets);
    free(perm);
    free(day2);
    free(amount2);
    return st;
}

/* ---- the summary table ----------------------------------------------------- */
typedef struct {
    const int64_t *day;
    const double *amount;
    const int64_t *offsets;
    int period, include_first;
    int64_t lo, hi, end_per, end_day, date_scale;
    double scale;
    int64_t *frequency, *n_orders, *first, *last, *since;
    double *recency, *T, *monetary, *revenue;
    uint8_t *keep;
    _Atomic int stop;
} table_ctx;

static void table_range(void *vctx, int64_t c0, int64_t c1)
{
    table_ctx *x = (table_ctx *)vctx;
    for (int64_t c = c0; c < c1; c++) {
        if ((c & 8191) == 0 && sy_interrupted()) {
            x->stop = 1;
            return;
        }
        cust_summary o;
        summarise_customer(x->day, x->amount, x->offsets[c], x->offsets[c + 1], x->period, x->lo,
                           x->hi, &o);
        const int64_t occ = o.occ, fper = o.fper, lper = o.lper, lday = o.lday;
        const double famt = o.famt, rsum = o.rsum;
        x->keep[c] = occ > 0;
        int64_t f = occ > 0 ? occ - 1 : 0;
        x->frequency[c] = f;
        x->recency[c] = (double)(lper - fper) * x->scale;
        x->T[c] = (double)(x->end_per - fper) * x->scale;
        if (x->monetary) {
            if (x->include_first)
                x->monetary[c] = occ > 0 ? (famt + rsum) / (double)occ : 0.0;
            else
                x->monetary[c] = f > 0 ? rsum / (double)f : 0.0;
        }
        x->n_orders[c] = o.orders;
        if (x->revenue) x->revenue[c] = o.rev;
        x->first[c] = o.fday * x->date_scale;
        x->last[c] = lday * x->date_scale;
        x->since[c] = x->end_day - lday;
    }
}

#define COMPACT(arr, T_)                                                      \
    do {                                                                      \
        if (arr) {                                                            \
            T_ *a_ = (arr);                                                   \
            int64_t m_ = 0;                                                   \
            for (int64_t c = 0; c < k; c++)                                   \
                if (keep[c]) a_[m_++] = a_[c];                                \
        }                                                                     \
    } while (0)

int sy_summary_table(const int64_t *day, const double *amount, const int64_t *offsets, int64_t k,
                     int period, int64_t lo, int64_t hi, int64_t end_per, int64_t end_day,
                     double scale, int include_first, int64_t date_scale,
                     int64_t *frequency, double *recency, double *T, double *monetary,
                     int64_t *n_orders, double *revenue, int64_t *first, int64_t *last,
                     int64_t *since, uint8_t *keep, int64_t *n_kept)
{
    if (period < SY_PERIOD_D || period > SY_PERIOD_Y || k < 0) return SY_EINVAL;
    table_ctx ctx = {day, amount, offsets, period, include_first, lo, hi, end_per, end_day,
                     date_scale, scale, frequency, n_orders, first, last, since, recency, T,
                     monetary, revenue, keep, 0};
    sy_parallel_for(k, 20000, table_range, &ctx);
    if (ctx.stop) return SY_EINTR;
    int64_t m = 0;
    for (int64_t c = 0; c < k; c++) m += keep[c];
    *n_kept = m;
    if (m < k) {   /* move the buyers to the front of every column, in code order */
        COMPACT(frequency, int64_t);
        COMPACT(recency, double);
        COMPACT(T, double);
        COMPACT(monetary, double);
        COMPACT(n_orders, int64_t);
        COMPACT(revenue, double);
        COMPACT(first, int64_t);
        COMPACT(last, int64_t);
        COMPACT(since, int64_t);
    }
    return SY_OK;
}
