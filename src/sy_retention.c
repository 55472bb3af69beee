/*
 * sy_retention.c -- n-day / unbounded / bracket retention counts and inter-purchase
 * gaps.  One pass over the log marks, per customer, the day gaps (from the first
 * purchase) on which they bought; counts are then read off those marks.
 */
#include "sy_cohort.h"

#include <stdlib.h>
#include <string.h>

#define IS_PURCHASE(amount, i) (!(amount) || (amount)[i] >= 0.0)

/* any bit set in [lo, hi] of bitset b */
static int any_bit(const uint64_t *b, int64_t lo, int64_t hi)
{
    int64_t wlo = lo >> 6, whi = hi >> 6;
    for (int64_t w = wlo; w <= whi; w++) {
        uint64_t x = b[w];
        if (w == wlo) x &= ~(uint64_t)0 << (lo & 63);
        if (w == whi && (hi & 63) != 63) x &= ((uint64_t)1 << ((hi & 63) + 1)) - 1;
        if (x) return 1;
    }
    return 0;
}

typedef struct {
    const int64_t *cust, *day;
    const double *amount;
    int64_t lo_row, hi_row, k, end, max_gap, stride;
    int kind;
    int64_t *rec;
    int atomic, st;
} retention_job;

/* Row pass over rows [lo_row, hi_row): mark each purchase's gap in its customer's
   record (atomically when several threads share the records). */
static void *retention_worker(void *arg)
{
    retention_job *j = (retention_job *)arg;
    const int64_t *cust = j->cust, *day = j->day;
    const double *amount = j->amount;
    const int64_t n = j->hi_row, k = j->k, end = j->end, max_gap = j->max_gap, stride = j->stride;
    int64_t *rec = j->rec;
    const int unbounded = j->kind == SY_RET_UNBOUNDED, atomic = j->atomic;
    for (int64_t i = j->lo_row; i < n; i++) {
        int64_t c = cust[i];
        if (c < 0 || c >= k) {
            j->st = SY_EINVAL;
            return NULL;
        }
        if (((i - j->lo_row) & (SY_POLL_WORK - 1)) == SY_POLL_WORK - 1 && sy_interrupted()) {
            j->st = SY_EINTR;
            return NULL;
        }
        if (i + SY_PREFETCH < n) {
            int64_t cp = cust[i + SY_PREFETCH];
            if (cp >= 0 && cp < k) __builtin_prefetch(rec + cp * stride, 1, 0);
        }
        int64_t *rc = rec + c * stride;
        if (day[i] > end || rc[1] < 0 || !IS_PURCHASE(amount, i)) continue;
        int64_t gap = day[i] - rc[0];
        if (unbounded) {
            int64_t old = __atomic_load_n(&rc[2], __ATOMIC_RELAXED);
            while (gap > old) {
                if (!atomic) {
                    rc[2] = gap;
                    break;
                }
                if (__atomic_compare_exchange_n(&rc[2], &old, gap, 1, __ATOMIC_RELAXED,
                                                __ATOMIC_RELAXED))
                    break;
            }
        } else if (gap >= 0 && gap <= max_gap) {
            uint64_t *w = (uint64_t *)rc + 2 + (gap >> 6);
            uint64_t m = (uint64_t)1 << (gap & 63);
            if (__atomic_load_n(w, __ATOMIC_RELAXED) & m) continue;
            if (atomic)
                __atomic_fetch_or(w, m, __ATOMIC_RELAXED);
            else
                *w |= m;
        }
    }
    return NULL;
}

/* Checks shared by both retention kernels; the largest window end and the size of a
   groups x gaps histogram. */
static int check_windows(int64_t k, const int64_t *group, int64_t n_groups, int kind,
                         const int64_t *lo, const int64_t *hi, int64_t n_out, int64_t *max_gap,
                         int64_t *hist_cells)
{
    int64_t mg = 0;
    if (k < 0 || n_groups < 0 || n_out < 0) return SY_EINVAL;
    if (kind != SY_RET_NDAY && kind != SY_RET_UNBOUNDED && kind != SY_RET_BRACKET) return SY_EINVAL;
    for (int64_t j = 0; j < n_out; j++) {
        if (lo[j] < 0 || hi[j] < lo[j]) return SY_EINVAL;
        if (hi[j] > mg) mg = hi[j];
    }
    if (mg > ((int64_t)1 << 40)) return SY_ENOMEM;
    if (!sy_mul_ok(n_groups, mg + 1, hist_cells)) return SY_ENOMEM;
    for (int64_t c = 0; c < k; c++)
        if (group[c] >= n_groups) return SY_EINVAL;
    *max_gap = mg;
    return SY_OK;
}

/* eligible[g, j]: customers of group g whose first purchase + hi[j] <= end, from a
   histogram (zeroed, groups x (max_gap + 1)) of observable days capped at max_gap */
static void count_eligible(int64_t k, int64_t end, const int64_t *first_day, const int64_t *group,
                           int64_t n_groups, const int64_t *hi, int64_t n_out, int64_t max_gap,
                           int64_t *hist, int64_t *eligible)
{
    const int64_t width = max_gap + 1;
    for (int64_t c = 0; c < k; c++) {
        int64_t g = group[c];
        if (g < 0) continue;
        int64_t avail = end - first_day[c];
        if (avail < 0) continue;
        hist[g * width + (avail > max_gap ? max_gap : avail)]++;
    }
    for (int64_t g = 0; g < n_groups; g++) {
        int64_t *h = hist + g * width;
        for (int64_t a = max_gap - 1; a >= 0; a--) h[a] += h[a + 1];   /* h[a] = #avail >= a */
        for (int64_t j = 0; j < n_out; j++) eligible[g * n_out + j] = h[hi[j]];
    }
}

int sy_retention_count(const int64_t *cust, const int64_t *day, const double *amount,
                       int64_t n, int64_t k, int64_t end, const int64_t *first_day,
                       const int64_t *group, int64_t n_groups, int kind,
                       const int64_t *lo, const int64_t *hi, int64_t n_out,
                       int64_t max_bitset_words, int64_t *eligible, int64_t *retained)
{
    int64_t max_gap, width, hist_cells, words, nbits, stride, bytes;
    int st;
    if (n < 0) return SY_EINVAL;
    if ((st = check_windows(k, group, n_groups, kind, lo, hi, n_out, &max_gap, &hist_cells)) != SY_OK)
        return st;
    st = SY_OK;
    width = max_gap + 1;

    /* per-customer record [first day, group, payload...]: the payload is the largest
       gap (unbounded) or a bitset of the gaps 0..max_gap with a purchase */
    int64_t *hist = (int64_t *)calloc((size_t)(hist_cells > 0 ? hist_cells : 1), sizeof(int64_t));
    int64_t *hits = (int64_t *)calloc((size_t)(hist_cells > 0 ? hist_cells : 1), sizeof(int64_t));
    int64_t *rec = NULL;
    uint64_t *one = NULL;
    int64_t *offsets = NULL;
    sy_row *rows = NULL;
    if (!hist || !hits) { st = SY_ENOMEM; goto done; }

    count_eligible(k, end, first_day, group, n_groups, hi, n_out, max_gap, hist, eligible);

    words = kind == SY_RET_UNBOUNDED ? 1 : (width + 63) / 64;
    int use_rec = sy_mul_ok(k, words, &nbits) && (kind == SY_RET_UNBOUNDED || nbits <= max_bitset_words);
    stride = sy_record_stride(use_rec ? words : 0);
    if (!sy_mul_ok(k > 0 ? k : 1, stride * (int64_t)sizeof(int64_t), &bytes)) { st = SY_ENOMEM; goto done; }
    rec = (int64_t *)sy_table_alloc(bytes);
    if (!rec) { st = SY_ENOMEM; goto done; }
    for (int64_t c = 0; c < k; c++) {
        rec[c * stride] = first_day[c];
        rec[c * stride + 1] = group[c];
        if (kind == SY_RET_UNBOUNDED) rec[c * stride + 2] = -1;
    }

    if (use_rec) {
        retention_job jobs[SY_MAX_THREADS];
        int T = sy_pass_threads(n);
        for (int t = 0; t < T; t++) {
            retention_job jb = {cust, day, amount, n * t / T, n * (t + 1) / T, k, end, max_gap,
                                stride, kind, rec, T > 1, SY_OK};
            jobs[t] = jb;
        }
        sy_run_jobs(retention_worker, jobs, sizeof(retention_job), T);
        for (int t = 0; t < T; t++)
            if (jobs[t].st != SY_OK) { st = jobs[t].st; goto done; }
    } else {
        /* too many customers x gaps for a bitset: bucket the log by customer and
           use one customer-sized bitset at a time */
        offsets = (int64_t *)malloc(sizeof(int64_t) * (size_t)(k + 1));
        one = (uint64_t *)calloc((size_t)words, sizeof(uint64_t));
        if (!offsets || !one) { st = SY_ENOMEM; goto done; }
        st = sy_bucket_by_customer(cust, day, amount, n, k, INT64_MIN, end, offsets, &rows);
        if (st != SY_OK) goto done;
    }

    if (kind == SY_RET_UNBOUNDED) {
        for (int64_t c = 0; c < k; c++) {
            const int64_t *rc = rec + c * stride;
            if (rc[1] < 0 || rc[2] < 0) continue;
            hits[rc[1] * width + (rc[2] > max_gap ? max_gap : rc[2])]++;
        }
        for (int64_t g = 0; g < n_groups; g++) {
            int64_t *h = hits + g * width;
            for (int64_t a = max_gap - 1; a >= 0; a--) h[a] += h[a + 1];
            for (int64_t j = 0; j < n_out; j++) retained[g * n_out + j] = h[lo[j]];
        }
        goto done;
    }

    int64_t work = 0;
    for (int64_t c = 0; c < k; c++) {
        int64_t g = group[c];
        if (g < 0) continue;
        if ((work += words + (kind == SY_RET_BRACKET ? n_out : 0) +
                     (rows ? offsets[c + 1] - offsets[c] : 0)) >= SY_POLL_WORK) {
            work = 0;
            if (sy_interrupted()) { st = SY_EINTR; goto done; }
        }
        const uint64_t *b;
        if (rows) {
            memset(one, 0, sizeof(uint64_t) * (size_t)words);
            for (int64_t j = offsets[c]; j < offsets[c + 1]; j++) {
                if (amount && rows[j].amount < 0.0) continue;
                int64_t gap = rows[j].day - first_day[c];
                if (gap < 0 || gap > max_gap) continue;
                one[gap >> 6] |= (uint64_t)1 << (gap & 63);
            }
            b = one;
        } else {
            b = (const uint64_t *)(rec + c * stride) + 2;
        }
        if (kind == SY_RET_NDAY) {
            int64_t *h = hits + g * width;
            for (int64_t w = 0; w < words; w++) {
                uint64_t x = b[w];
                while (x) {
                    h[w * 64 + __builtin_ctzll(x)]++;
                    x &= x - 1;
                }
            }
        } else {
            int64_t avail = end - first_day[c];
            for (int64_t j = 0; j < n_out; j++)
                if (hi[j] <= avail && any_bit(b, lo[j], hi[j])) retained[g * n_out + j]++;
        }
    }
    if (kind == SY_RET_NDAY)
        for (int64_t g = 0; g < n_groups; g++)
            for (int64_t j = 0; j < n_out; j++) retained[g * n_out + j] = hits[g * width + lo[j]];
done:
    free(hist);
    free(hits);
    free(rec);
    free(one);
    free(offsets);
    free(rows);
    return st;
}

int sy_retention_interpurchase(const int64_t *cust, const int64_t *day, const double *amount,
                               int64_t n, int64_t k, int64_t end, int64_t *count,
                               int64_t **gaps_out, int64_t *n_gaps)
{
    int64_t *offsets = NULL, *gaps = NULL;
    sy_row *rows = NULL;
    int st;
    *gaps_out = NULL;
    *n_gaps = 0;
    if (n < 0 || k < 0) return SY_EINVAL;
    offsets = (int64_t *)malloc(sizeof(int64_t) * (size_t)(k + 1));
    if (!offsets) return SY_ENOMEM;
    st = sy_bucket_by_customer(cust, day, amount, n, k, INT64_MIN, end, offsets, &rows);
    if (st != SY_OK) goto done;
    gaps = (int64_t *)malloc(sizeof(int64_t) * (size_t)(offsets[k] > 0 ? offsets[k] : 1));
    if (!gaps) { st = SY_ENOMEM; goto done; }
    int64_t m = 0, work = 0;
    for (int64_t c = 0; c < k; c++) {
        sy_row *r = rows + offsets[c];
        int64_t len = offsets[c + 1] - offsets[c];
        if ((work += len + 1) >= SY_POLL_WORK) {
            work = 0;
            if (sy_interrupted()) { st = SY_EINTR; goto done; }
        }
        sy_sort_rows(r, len);
        int64_t prev = 0, have = 0, cnt = 0;
        for (int64_t j = 0; j < len; j++) {
            if (amount && r[j].amount < 0.0) continue;
            if (have && r[j].day != prev) {
                gaps[m++] = r[j].day - prev;
                cnt++;
            }
            prev = r[j].day;
            have = 1;
        }
        count[c] = cnt;
    }
    *gaps_out = gaps;
    *n_gaps = m;
    gaps = NULL;
done:
    free(gaps);
    free(rows);
    free(offsets);
    return st;
}

/* ========================================================================== */
/* Grouped log (rows grouped by customer, sorted by day: siyu.Transactions).   */
/* ========================================================================== */
/* Customer ranges with their own integer counts (summed after: identical for any
   thread count); no per-customer records, no atomics. */

typedef struct {
    const int64_t *day, *offsets, *first_day, *group, *lo, *hi;
    const double *amount;
    int64_t end, max_gap, width, n_groups, n_out, k;
    int kind, T;
    int64_t *hits_t, *ret_t;     /* per job: n_groups x width, n_groups x n_out */
    _Atomic int stop;
} gret_ctx;

typedef struct {
    gret_ctx *x;
    int t;
} gret_job;

static void *gret_worker(void *arg)
{
    gret_job *jb = (gret_job *)arg;
    gret_ctx *x = jb->x;
    const int64_t *day = x->day;
    const double *amount = x->amount;
    int64_t c0 = x->k * jb->t / x->T, c1 = x->k * (jb->t + 1) / x->T;
    int64_t *hits = x->hits_t + (int64_t)jb->t * x->n_groups * x->width;
    int64_t *ret = x->ret_t + (int64_t)jb->t * x->n_groups * x->n_out;
    int64_t work = 0;
    for (int64_t c = c0; c < c1; c++) {
        /* work: the customer's rows, and its windows for brackets */
        if ((work += x->offsets[c + 1] - x->offsets[c] + 1 +
                     (x->kind == SY_RET_BRACKET ? x->n_out : 0)) >= SY_POLL_WORK) {
            work = 0;
            if (sy_interrupted()) {
                x->stop = 1;
                return NULL;
            }
        }
        int64_t g = x->group[c];
        if (g < 0) continue;
        int64_t f = x->first_day[c], i0 = x->offsets[c], i1 = x->offsets[c + 1];
        int64_t *h = hits + g * x->width;
        if (x->kind == SY_RET_NDAY) {
            int64_t last = -1;
            for (int64_t i = i0; i < i1 && day[i] <= x->end; i++) {
                if (!IS_PURCHASE(amount, i)) continue;
                int64_t gap = day[i] - f;
                if (gap < 0 || gap > x->max_gap) {
                    if (gap > x->max_gap) break;
                    continue;
                }
                if (gap != last) {
                    h[gap]++;
                    last = gap;
                }
            }
        } else if (x->kind == SY_RET_UNBOUNDED) {
            int64_t best = -1;
            for (int64_t i = i0; i < i1 && day[i] <= x->end; i++)
                if (IS_PURCHASE(amount, i) && day[i] - f > best) best = day[i] - f;
            if (best >= 0) h[best > x->max_gap ? x->max_gap : best]++;
        } else {
            int64_t avail = x->end - f;
            for (int64_t j = 0; j < x->n_out; j++) {
                if (x->hi[j] > avail) continue;
                int64_t dlo = f + x->lo[j], dhi = f + x->hi[j];
                /* first row with day >= dlo (rows sorted by day) */
                int64_t a = i0, b = i1;
                while (a < b) {
                    int64_t mid = a + (b - a) / 2;
                    if (day[mid] < dlo) a = mid + 1;
                    else b = mid;
                }
                for (int64_t i = a; i < i1 && day[i] <= dhi && day[i] <= x->end; i++) {
                    if (IS_PURCHASE(amount, i)) {
                        ret[g * x->n_out + j]++;
                        break;
                    }
                }
            }
        }
    }
    return NULL;
}

int sy_retention_count_grouped(const int64_t *day, const double *amount, const int64_t *offsets,
                               int64_t k, int64_t end, const int64_t *first_day,
                               const int64_t *group, int64_t n_groups, int kind,
                               const int64_t *lo, const int64_t *hi, int64_t n_out,
                               int64_t *eligible, int64_t *retained)
{
    int64_t max_gap, width, hist_cells, total;
    int st;
    if ((st = check_windows(k, group, n_groups, kind, lo, hi, n_out, &max_gap, &hist_cells)) != SY_OK)
        return st;
    st = SY_OK;
    width = max_gap + 1;
    int T = sy_pass_threads(offsets[k]);
    if (!sy_mul_ok(hist_cells + n_groups * n_out, T, &total) || total > ((int64_t)1 << 27))
        T = 1;
    int64_t *hist = (int64_t *)calloc((size_t)(hist_cells > 0 ? hist_cells : 1), sizeof(int64_t));
    int64_t *hits_t = (int64_t *)calloc((size_t)(T * (hist_cells > 0 ? hist_cells : 1)), sizeof(int64_t));
    int64_t *ret_t = (int64_t *)calloc((size_t)(T * (n_groups * n_out > 0 ? n_groups * n_out : 1)),
                                       sizeof(int64_t));
    if (!hist || !hits_t || !ret_t) { st = SY_ENOMEM; goto done; }
    count_eligible(k, end, first_day, group, n_groups, hi, n_out, max_gap, hist, eligible);
    {
        gret_ctx x = {day, offsets, first_day, group, lo, hi, amount, end, max_gap, width,
                      n_groups, n_out, k, kind, T, hits_t, ret_t, 0};
        gret_job jobs[SY_MAX_THREADS];
        for (int t = 0; t < T; t++) {
            jobs[t].x = &x;
            jobs[t].t = t;
        }
        sy_run_jobs(gret_worker, jobs, sizeof(gret_job), T);
        if (x.stop) { st = SY_EINTR; goto done; }
    }
    for (int t = 1; t < T; t++) {
        for (int64_t i = 0; i < hist_cells; i++) hits_t[i] += hits_t[t * hist_cells + i];
        for (int64_t i = 0; i < n_groups * n_out; i++) ret_t[i] += ret_t[t * n_groups * n_out + i];
    }
    for (int64_t g = 0; g < n_groups; g++) {
        int64_t *h = hits_t + g * width;
        if (kind == SY_RET_UNBOUNDED)
            for (int64_t a = max_gap - 1; a >= 0; a--) h[a] += h[a + 1];
        for (int64_t j = 0; j < n_out; j++)
            retained[g * n_out + j] = kind == SY_RET_BRACKET ? ret_t[g * n_out + j] : h[lo[j]];
    }
done:
    free(hist);
    free(hits_t);
    free(ret_t);
    return st;
}

typedef struct {
    const int64_t *day, *offsets, *gap_start;
    const double *amount;
    int64_t end;
    int64_t *count, *gaps;
    _Atomic int stop;
} gip_ctx;

/* gaps of customer c; writes them when out != NULL; returns how many */
static int64_t customer_gaps(const gip_ctx *x, int64_t c, int64_t *out)
{
    int64_t prev = 0, have = 0, cnt = 0;
    for (int64_t i = x->offsets[c]; i < x->offsets[c + 1] && x->day[i] <= x->end; i++) {
        if (x->amount && x->amount[i] < 0.0) continue;
        if (have && x->day[i] != prev) {
            if (out) out[cnt] = x->day[i] - prev;
            cnt++;
        }
        prev = x->day[i];
        have = 1;
    }
    return cnt;
}

static void gip_count(void *vctx, int64_t c0, int64_t c1)
{
    gip_ctx *x = (gip_ctx *)vctx;
    int64_t work = 0;
    for (int64_t c = c0; c < c1; c++) {
        if ((work += x->offsets[c + 1] - x->offsets[c] + 1) >= SY_POLL_WORK) {
            work = 0;
            if (sy_interrupted()) {
                x->stop = 1;
                return;
            }
        }
        x->count[c] = customer_gaps(x, c, NULL);
    }
}

static void gip_fill(void *vctx, int64_t c0, int64_t c1)
{
    gip_ctx *x = (gip_ctx *)vctx;
    int64_t work = 0;
    for (int64_t c = c0; c < c1; c++) {
        if ((work += x->offsets[c + 1] - x->offsets[c] + 1) >= SY_POLL_WORK) {
            work = 0;
            if (sy_interrupted()) {
                x->stop = 1;
                return;
            }
        }
        (void)customer_gaps(x, c, x->gaps + x->gap_start[c]);
    }
}

int sy_retention_interpurchase_grouped(const int64_t *day, const double *amount,
                                       const int64_t *offsets, int64_t k, int64_t end,
                                       int64_t *count, int64_t **gaps_out, int64_t *n_gaps)
{
    *gaps_out = NULL;
    *n_gaps = 0;
    if (k < 0) return SY_EINVAL;
    int64_t *start = (int64_t *)malloc(sizeof(int64_t) * (size_t)(k + 1));
    if (!start) return SY_ENOMEM;
    gip_ctx x = {day, offsets, start, amount, end, count, NULL, 0};
    sy_parallel_for(k, 50000, gip_count, &x);
    if (x.stop) {
        free(start);
        return SY_EINTR;
    }
    start[0] = 0;
    for (int64_t c = 0; c < k; c++) start[c + 1] = start[c] + count[c];
    x.gaps = (int64_t *)malloc(sizeof(int64_t) * (size_t)(start[k] > 0 ? start[k] : 1));
    if (!x.gaps) {
        free(start);
        return SY_ENOMEM;
    }
    sy_parallel_for(k, 50000, gip_fill, &x);
    int64_t total = start[k];
    free(start);
    if (x.stop) {
        free(x.gaps);
        return SY_EINTR;
    }
    *gaps_out = x.gaps;
    *n_gaps = total;
    return SY_OK;
}
