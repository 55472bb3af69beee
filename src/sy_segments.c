/*
 * sy_segments.c -- customer segmentation kernels: lifecycle stages and value tiers at
 * a series of snapshot days, transition counts between consecutive snapshots
 * (migration), and quantile scores with deterministic ties (RFM).
 *
 * Definitions (DESIGN.md section 2):
 *   purchase  = a row with amount >= 0 (every row when there are no amounts);
 *               refunds never make a customer active or add an occasion.
 *   occasion  = a calendar day with at least one purchase row.
 *   lifecycle = days since the last purchase d: d <= b0 -> 0, b0 < d <= b1 -> 1, ...
 *   value tier= member (flag on any row so far) wins; else occasions 1 / 2 / 3+.
 *
 * Stages over time come from one pass over the rows keeping a small running state per
 * customer: O(n + k * m).  A log grouped by customer with days ascending (the order
 * siyu.Transactions stores) is walked customer by customer, snapshot by snapshot, on
 * threads over customer ranges, with no reordering; otherwise the rows are swept in
 * day order (as given when already in time order, else a counting sort on the day,
 * O(n + days)), writing all customers' stages at each snapshot day.  The grouped walk
 * polls sy_interrupted() (Ctrl-C).
 */
#include "siyu.h"
#include "sy_segments.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Malloc n * size bytes (at least one element), NULL on overflow or failure. */
static void *alloc_n(int64_t n, int64_t size)
{
    int64_t bytes;
    if (!sy_mul_ok(n > 0 ? n : 1, size, &bytes)) return NULL;
    if ((uint64_t)bytes > (uint64_t)SIZE_MAX) return NULL;
    return malloc((size_t)bytes);
}

typedef struct {
    int64_t day;
    int64_t idx;
} day_idx;

static int cmp_day_idx(const void *a, const void *b)
{
    const day_idx *x = (const day_idx *)a, *y = (const day_idx *)b;
    if (x->day != y->day) return (x->day > y->day) - (x->day < y->day);
    return (x->idx > y->idx) - (x->idx < y->idx);
}

/* Per-customer running state of the sweep, interleaved so that one row touches one
   cache line. */
typedef struct {
    int64_t last;    /* last purchase day, INT64_MIN = none */
    int64_t occ;     /* distinct purchase days */
    int64_t memd;    /* first member day, INT64_MAX = none */
    double rev;      /* net amount */
} cust_state;

static inline void sweep_vals(cust_state *s, int64_t c, int64_t d, int purchase, double amt,
                              int mflag)
{
    cust_state *x = s + c;
    if (purchase && x->last != d) {   /* rows arrive in day order: a new day is a new occasion */
        x->occ++;
        x->last = d;
    }
    x->rev += amt;
    if (mflag && d < x->memd) x->memd = d;
}

/* A row scattered into day order by the counting sort: customer code * 2 + member flag,
   and the amount (the day is implied by the bucket). */
typedef struct {
    int64_t cm;
    double amount;
} day_rec;

/* Stage of one customer at snapshot day e. */
static inline int8_t stage_of(const cust_state *x, int64_t e, int mode, const int64_t *bounds,
                              int64_t nb)
{
    if (mode == SY_SEG_LIFECYCLE) {
        if (x->last == INT64_MIN) return SY_SEG_ABSENT;
        int64_t d = e - x->last;
        int8_t st = 0;
        while (st < nb && d > bounds[st]) st++;
        return st;
    }
    int64_t o = x->occ;
    return x->memd <= e ? 3 : (o >= 3 ? 2 : (o > 0 ? (int8_t)(o - 1) : SY_SEG_ABSENT));
}

static void emit_snapshot(const cust_state *s, int64_t k, int64_t e, int mode,
                          const int64_t *bounds, int64_t nb, int8_t *out)
{
    for (int64_t c = 0; c < k; c++) out[c] = stage_of(s + c, e, mode, bounds, nb);
}

enum { SWEEP_SORTED, SWEEP_BUCKETS, SWEEP_PAIRS };

/* Units of work (rows, stages written) between two sy_interrupted() polls. */
#define SY_SEG_POLL 65536

/* Everything one sweep over the day-ordered rows needs. */
typedef struct {
    const int64_t *cust, *day;
    const double *amount;
    const int8_t *member;
    int64_t n, k, hi;
    const int64_t *ends;
    int64_t m;
    int mode;
    const int64_t *bounds;
    int64_t nb;
    int8_t *stages;
    cust_state *s;
    int variant;                /* SWEEP_SORTED: rows as given; BUCKETS: rec by day; PAIRS */
    const int64_t *bucket_end;  /* BUCKETS: end of the records of (part, day), part-major */
    int64_t dmin, ndays;
    const day_rec *rec;
    const day_idx *pairs;       /* PAIRS: (day, row) sorted */
    int64_t nrel;
    _Atomic int *stop;          /* set when a poll saw Ctrl-C: every range returns */
} sweep_ctx;

/* Count `units` of work; every SY_SEG_POLL units poll for Ctrl-C.  Nonzero: stop. */
static int sweep_poll(const sweep_ctx *x, int64_t *work, int64_t units)
{
    if ((*work += units) < SY_SEG_POLL) return 0;
    *work = 0;
    if (atomic_load_explicit(x->stop, memory_order_relaxed)) return 1;
    if (sy_interrupted()) {
        atomic_store_explicit(x->stop, 1, memory_order_relaxed);
        return 1;
    }
    return 0;
}

/* Sweep the rows in day order, updating and emitting only customers c0 <= c < c1
   (with SWEEP_BUCKETS: the records of part `part`, which hold exactly those customers):
   snapshot j is written just before the first row dated after ends[j]. */
static void sweep_range(const sweep_ctx *x, int64_t c0, int64_t c1, int64_t part)
{
    cust_state *s = x->s;
    const double *amount = x->amount;
    const int8_t *member = x->member;
    int64_t j = 0, w = c1 - c0, work = 0;
#define SY_ADVANCE(d)                                                                   \
    while ((d) > x->ends[j]) {                                                          \
        if (x->stages)                                                                  \
            emit_snapshot(s + c0, w, x->ends[j], x->mode, x->bounds, x->nb,             \
                          x->stages + j * x->k + c0);                                   \
        j++;                                                                            \
        if (sweep_poll(x, &work, w)) return;                                            \
    }
    if (x->variant == SWEEP_SORTED) {
        for (int64_t i = 0; i < x->n; i++) {
            int64_t d = x->day[i], c = x->cust[i];
            if (sweep_poll(x, &work, 1)) return;
            if (d > x->hi) continue;
            SY_ADVANCE(d);
            if (c < c0 || c >= c1) continue;
            sweep_vals(s, c, d, !amount || amount[i] >= 0.0, amount ? amount[i] : 0.0,
                       member && member[i]);
        }
    } else if (x->variant == SWEEP_BUCKETS) {
        /* this part's records are contiguous, bucketed by day: no filtering needed */
        const int64_t *be = x->bucket_end + part * x->ndays;
        int64_t t = part == 0 ? 0 : be[-1];
        for (int64_t b = 0; b < x->ndays; b++) {
            int64_t d = x->dmin + b, stop = be[b];
            if (sweep_poll(x, &work, 1 + stop - t)) return;
            if (t == stop) continue;
            SY_ADVANCE(d);
            for (; t < stop; t++) {
                double a = x->rec[t].amount;
                sweep_vals(s, x->rec[t].cm >> 1, d, !amount || a >= 0.0, a,
                           (int)(x->rec[t].cm & 1));
            }
        }
    } else {
        for (int64_t t = 0; t < x->nrel; t++) {
            int64_t i = x->pairs[t].idx, d = x->pairs[t].day, c = x->cust[i];
            if (sweep_poll(x, &work, 1)) return;
            SY_ADVANCE(d);
            if (c < c0 || c >= c1) continue;
            sweep_vals(s, c, d, !amount || amount[i] >= 0.0, amount ? amount[i] : 0.0,
                       member && member[i]);
        }
    }
    for (; j < x->m; j++) {
        if (x->stages)
            emit_snapshot(s + c0, w, x->ends[j], x->mode, x->bounds, x->nb,
                          x->stages + j * x->k + c0);
        if (sweep_poll(x, &work, w)) return;
    }
#undef SY_ADVANCE
}

typedef struct {
    const sweep_ctx *ctx;
    int64_t c0, c1, part;
} sweep_job;

static void *sweep_thread(void *arg)
{
    const sweep_job *jb = (const sweep_job *)arg;
    sweep_range(jb->ctx, jb->c0, jb->c1, jb->part);
    return NULL;
}

/* The log as siyu.Transactions stores it (grouped by customer, days ascending within a
   customer): each customer's rows are walked once, snapshot by snapshot, with no
   reordering at all.  A job covers rows [i0, i1), which start and end at customer
   changes, and writes only its own customers' state and stages. */
typedef struct {
    const sweep_ctx *ctx;
    int64_t i0, i1;
    int st;
} grouped_job;

static void *grouped_worker(void *arg)
{
    grouped_job *jb = (grouped_job *)arg;
    const sweep_ctx *x = jb->ctx;
    const int64_t *cust = x->cust, *day = x->day, *ends = x->ends;
    const double *amount = x->amount;
    const int8_t *member = x->member;
    int64_t i = jb->i0, work = 0;
    jb->st = SY_OK;
    while (i < jb->i1) {
        if (work >= SY_SEG_POLL) {        /* work: rows walked and stages written */
            work = 0;
            if (sy_interrupted()) {
                jb->st = SY_EINTR;
                return NULL;
            }
        }
        int64_t c = cust[i], j = 0, i_first = i;
        cust_state *st = x->s + c;
        for (; i < jb->i1 && cust[i] == c; i++) {
            int64_t d = day[i];
            if (d > x->hi) continue;
            while (d > ends[j]) {
                if (x->stages) x->stages[j * x->k + c] = stage_of(st, ends[j], x->mode, x->bounds, x->nb);
                j++;
            }
            sweep_vals(x->s, c, d, !amount || amount[i] >= 0.0, amount ? amount[i] : 0.0,
                       member && member[i]);
        }
        if (x->stages)
            for (; j < x->m; j++)
                x->stages[j * x->k + c] = stage_of(st, ends[j], x->mode, x->bounds, x->nb);
        work += (i - i_first) + (x->stages ? x->m : 0);
    }
    return NULL;
}

int sy_segments_sweep(const int64_t *cust, const int64_t *day, const double *amount,
                      const int8_t *member, int64_t n, int64_t k,
                      const int64_t *ends, int64_t m, int mode,
                      const int64_t *bounds, int64_t nb, int8_t *stages,
                      int64_t *last_day, int64_t *occ, double *revenue, int64_t *member_day)
{
    int64_t cells;
    if (n < 0 || k < 0 || m < 0 || nb < 0) return SY_EINVAL;
    if (mode != SY_SEG_LIFECYCLE && mode != SY_SEG_VALUE_TIER) return SY_EINVAL;
    if (mode == SY_SEG_LIFECYCLE) {
        if (nb > 126) return SY_EINVAL;
        for (int64_t b = 0; b < nb; b++)
            if (bounds[b] < 0 || (b > 0 && bounds[b] <= bounds[b - 1])) return SY_EINVAL;
    }
    for (int64_t j = 1; j < m; j++)
        if (ends[j] <= ends[j - 1]) return SY_EINVAL;
    if (!sy_mul_ok(k, m, &cells) || k > INT64_MAX / 2) return SY_ENOMEM;
    for (int64_t i = 0; i < n; i++)
        if (cust[i] < 0 || cust[i] >= k) return SY_EINVAL;
    if (m == 0) return SY_OK;

    int st = SY_ENOMEM;
    int64_t *cnt = NULL;
    day_idx *pairs = NULL;
    day_rec *rec = NULL;
    cust_state *s = (cust_state *)alloc_n(k, (int64_t)sizeof(cust_state));
    if (!s) goto done;
    for (int64_t c = 0; c < k; c++) {
        s[c].last = INT64_MIN;
        s[c].occ = 0;
        s[c].memd = INT64_MAX;
        s[c].rev = 0.0;
    }

    /* rows that matter (day <= last end): are they already in day order? */
    const int64_t hi = ends[m - 1];
    int64_t nrel = 0, dmin = INT64_MAX, dmax = INT64_MIN, prev = INT64_MIN;
    int sorted = 1, grouped = 1;
    for (int64_t i = 0; i < n; i++) {
        int64_t d = day[i];
        if (i > 0 && (cust[i] < cust[i - 1] || (cust[i] == cust[i - 1] && d < day[i - 1])))
            grouped = 0;
        if (d > hi) continue;
        nrel++;
        if (d < prev) sorted = 0;
        prev = d;
        if (d < dmin) dmin = d;
        if (d > dmax) dmax = d;
    }
    _Atomic int stop = 0;
    sweep_ctx ctx = {cust, day, amount, member, n, k, hi, ends, m, mode, bounds, nb, stages, s,
                     SWEEP_SORTED, NULL, 0, 0, NULL, NULL, nrel, &stop};
    if (grouped && n > 0) {
        /* customers without rows stay absent at every snapshot */
        if (stages) memset(stages, 0xFF, (size_t)cells);
        int T = sy_get_num_threads();
        if (T > SY_THREADS_CAP) T = SY_THREADS_CAP;
        if ((int64_t)T > n / 100000) T = (int)(n / 100000);
        if (T < 1) T = 1;
        grouped_job jobs[SY_THREADS_CAP];
        int64_t prev_end = 0;
        for (int t = 0; t < T; t++) {
            int64_t b = t == T - 1 ? n : n / T * (t + 1);
            if (b < prev_end) b = prev_end;
            while (b > 0 && b < n && cust[b] == cust[b - 1]) b++;
            jobs[t].ctx = &ctx;
            jobs[t].i0 = prev_end;
            jobs[t].i1 = b;
            jobs[t].st = SY_OK;
            prev_end = b;
        }
        sy_run_jobs(grouped_worker, jobs, sizeof(grouped_job), T);
        for (int t = 0; t < T; t++)
            if (jobs[t].st != SY_OK) { st = jobs[t].st; goto done; }
        goto copy_out;
    }
    /* order the rows by day: as given when already sorted, else a counting sort into
       compact records when the day range is small, else a comparison sort */
    uint64_t range = nrel ? (uint64_t)dmax - (uint64_t)dmin + 1u : 0u;
    int buckets = !sorted && range != 0u && range <= (uint64_t)nrel * 4u + 4096u;
    /* threads only for the bucketed layout, where each part's rows are contiguous;
       customers are split in nt ranges of `per` codes (the last takes the rest) */
    int64_t nt = sy_get_num_threads();
    if (nt > 64) nt = 64;
    if (!buckets || k < 65536 || nrel < 200000) nt = 1;
    int64_t per = k / nt;
    if (buckets) {
        int64_t D = (int64_t)range, ncnt;
        if (!sy_mul_ok(nt, D, &ncnt)) goto done;
        if (!(cnt = (int64_t *)alloc_n(ncnt + 1, (int64_t)sizeof(int64_t)))) goto done;
        if (!(rec = (day_rec *)alloc_n(nrel, (int64_t)sizeof(day_rec)))) goto done;
        memset(cnt, 0, sizeof(int64_t) * (size_t)(ncnt + 1));
#define SY_KEY(i) ((cust[i] / per < nt ? cust[i] / per : nt - 1) * D + (day[i] - dmin))
        if (sy_interrupted()) { st = SY_EINTR; goto done; }
        for (int64_t i = 0; i < n; i++)
            if (day[i] <= hi) cnt[SY_KEY(i) + 1]++;
        if (sy_interrupted()) { st = SY_EINTR; goto done; }
        for (int64_t b = 0; b < ncnt; b++) cnt[b + 1] += cnt[b];
        for (int64_t i = 0; i < n; i++) {
            if (day[i] <= hi) {
                int64_t p = cnt[SY_KEY(i)]++;
                rec[p].cm = cust[i] * 2 + (member && member[i] ? 1 : 0);
                rec[p].amount = amount ? amount[i] : 0.0;
            }
        }
#undef SY_KEY
        /* cnt[b] is now the end of bucket b */
        ctx.variant = SWEEP_BUCKETS;
        ctx.bucket_end = cnt;
        ctx.dmin = dmin;
        ctx.ndays = D;
        ctx.rec = rec;
    } else if (!sorted) {
        if (!(pairs = (day_idx *)alloc_n(nrel, (int64_t)sizeof(day_idx)))) goto done;
        int64_t p = 0;
        for (int64_t i = 0; i < n; i++) {
            if (day[i] <= hi) {
                pairs[p].day = day[i];
                pairs[p].idx = i;
                p++;
            }
        }
        qsort(pairs, (size_t)nrel, sizeof(day_idx), cmp_day_idx);
        ctx.variant = SWEEP_PAIRS;
        ctx.pairs = pairs;
    }

    /* the sweep; with threads, each updates and emits only its own customers, so the
       results (including every floating-point sum) do not depend on the thread count */
    if (nt <= 1) {
        sweep_range(&ctx, 0, k, 0);
    } else {
        /* sy_run_jobs: the workers see the caller's Ctrl-C (and run here when a thread
           cannot be started) */
        sweep_job jobs[64];
        for (int64_t t = 0; t < nt; t++) {
            jobs[t].ctx = &ctx;
            jobs[t].c0 = per * t;
            jobs[t].c1 = t == nt - 1 ? k : per * (t + 1);
            jobs[t].part = t;
        }
        sy_run_jobs(sweep_thread, jobs, sizeof(sweep_job), (int)nt);
    }
    if (atomic_load_explicit(&stop, memory_order_relaxed)) {
        st = SY_EINTR;
        goto done;
    }
copy_out:
    for (int64_t c = 0; c < k; c++) {
        if (last_day) last_day[c] = s[c].last;
        if (occ) occ[c] = s[c].occ;
        if (member_day) member_day[c] = s[c].memd;
        if (revenue) revenue[c] = s[c].rev;
    }
    st = SY_OK;
done:
    free(s);
    free(cnt);
    free(pairs);
    free(rec);
    return st;
}

int sy_segments_transitions(const int8_t *stages, int64_t k, int64_t m, int64_t s,
                            int64_t *counts)
{
    int64_t cells, ss;
    if (k < 0 || m < 0 || s < 1 || s > 127) return SY_EINVAL;
    if (!sy_mul_ok(k, m, &cells)) return SY_ENOMEM;
    if (m < 2) return SY_OK;
    if (!sy_mul_ok(m - 1, s * s, &ss)) return SY_ENOMEM;
    memset(counts, 0, sizeof(int64_t) * (size_t)ss);
    for (int64_t t = 0; t < cells; t++)
        if (stages[t] < SY_SEG_ABSENT || stages[t] >= s) return SY_EINVAL;
    int64_t work = 0;
    for (int64_t j = 0; j + 1 < m; j++) {
        if ((work += k) >= SY_SEG_POLL) {
            work = 0;
            if (sy_interrupted()) return SY_EINTR;
        }
        const int8_t *from = stages + j * k, *to = from + k;
        int64_t *cj = counts + j * s * s;
        for (int64_t c = 0; c < k; c++) {
            int8_t a = from[c], b = to[c];
            if (a >= 0 && b >= 0) cj[a * s + b]++;
        }
    }
    return SY_OK;
}

int sy_segments_scores(const double *values, int64_t n, int64_t bins, int ties,
                       int64_t *out)
{
    int64_t twon, top;
    if (n < 0 || bins < 1) return SY_EINVAL;
    if (ties != SY_TIES_MIN && ties != SY_TIES_AVERAGE && ties != SY_TIES_MAX) return SY_EINVAL;
    if (n == 0) return SY_OK;
    for (int64_t i = 0; i < n; i++)
        if (!(values[i] == values[i]) || values[i] - values[i] != 0.0) return SY_ENAN;
    /* largest numerator: (2n) * bins + 2n must fit */
    if (!sy_mul_ok(n, 2, &twon) || !sy_mul_ok(twon, bins, &top) || top > INT64_MAX - twon)
        return SY_ERANGE;
    /* integer values in a compact range (days, occasions): counting, O(n + range) */
    double vmin = values[0], vmax = values[0];
    int integral = 1;
    for (int64_t i = 0; i < n; i++) {
        double v = values[i];
        if (v < vmin) vmin = v;
        if (v > vmax) vmax = v;
        if (integral && (v > 9.0e15 || v < -9.0e15 || v != (double)(int64_t)v)) integral = 0;
    }
    if (integral && vmax - vmin <= 4.0 * (double)n + 4096.0) {
        int64_t lo0 = (int64_t)vmin, R = (int64_t)(vmax - vmin) + 1;
        int64_t *cnt = (int64_t *)alloc_n(R + 1, (int64_t)sizeof(int64_t));
        if (!cnt) return SY_ENOMEM;
        memset(cnt, 0, sizeof(int64_t) * (size_t)(R + 1));
        for (int64_t i = 0; i < n; i++) cnt[(int64_t)values[i] - lo0 + 1]++;
        /* cnt[v] becomes the score of value lo0 + v (positions before it = prefix) */
        int64_t before = 0;
        for (int64_t v = 0; v < R; v++) {
            int64_t g = cnt[v + 1];
            if (g > 0) {
                int64_t lo = before, hi = before + g - 1;
                int64_t r2 = ties == SY_TIES_MIN ? 2 * (lo + 1)
                           : ties == SY_TIES_MAX ? 2 * (hi + 1) : (lo + 1) + (hi + 1);
                int64_t score = (r2 * bins + twon - 1) / twon;
                cnt[v] = score < 1 ? 1 : (score > bins ? bins : score);
            }
            before += g;
        }
        for (int64_t i = 0; i < n; i++) out[i] = cnt[(int64_t)values[i] - lo0];
        free(cnt);
        return SY_OK;
    }
    /* otherwise the values sorted (sy_radix_sort_u64 on their order-preserving keys; equal
       keys are equal values) and scored run by run */
    uint64_t *key = (uint64_t *)alloc_n(n, (int64_t)sizeof(uint64_t));
    int64_t *idx = (int64_t *)alloc_n(n, (int64_t)sizeof(int64_t));
    if (!key || !idx) {
        free(key);
        free(idx);
        return SY_ENOMEM;
    }
    for (int64_t i = 0; i < n; i++) {
        key[i] = sy_f64_key(values[i]);
        idx[i] = i;
    }
    int rs = sy_radix_sort_u64(key, idx, n);
    if (rs != SY_OK) {
        free(key);
        free(idx);
        return rs;
    }
    int64_t lo = 0;
    while (lo < n) {
        int64_t hi = lo;
        while (hi + 1 < n && key[hi + 1] == key[lo]) hi++;
        /* 1-based positions lo + 1 .. hi + 1; twice the rank r */
        int64_t r2 = ties == SY_TIES_MIN ? 2 * (lo + 1)
                   : ties == SY_TIES_MAX ? 2 * (hi + 1) : (lo + 1) + (hi + 1);
        int64_t score = (r2 * bins + twon - 1) / twon;   /* ceil(r * bins / n) */
        if (score < 1) score = 1;
        if (score > bins) score = bins;
        for (int64_t t = lo; t <= hi; t++) out[idx[t]] = score;
        lo = hi + 1;
    }
    free(key);
    free(idx);
    return SY_OK;
}
