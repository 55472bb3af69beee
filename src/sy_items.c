/*
 * sy_items.c -- item-level kernels (see sy_items.h): replenishment intervals and their
 * Kaplan-Meier curves, due products, customers' own purchase gaps, cross-sell records.
 *
 * Every kernel makes one pass over each customer's rows.  Within a customer the rows
 * are copied to a small scratch buffer and sorted by (key, day) (insertion sort when
 * short, qsort otherwise), so no array of size n_keys is needed per customer or thread.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "siyu.h"
#include "sy_items.h"

#define POLL_MASK 0x3FFF  /* poll for Ctrl-C every 16k customers / rows */

typedef struct {
    int64_t key;
    int64_t day;
} kd_pair;

static int kd_cmp(const void *a, const void *b)
{
    const kd_pair *x = (const kd_pair *)a, *y = (const kd_pair *)b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return (x->day > y->day) - (x->day < y->day);
}

static void kd_sort(kd_pair *p, int64_t n)
{
    if (n > 24) {
        qsort(p, (size_t)n, sizeof(kd_pair), kd_cmp);
        return;
    }
    for (int64_t i = 1; i < n; i++) {
        kd_pair v = p[i];
        int64_t j = i - 1;
        while (j >= 0 && kd_cmp(&p[j], &v) > 0) {
            p[j + 1] = p[j];
            j--;
        }
        p[j + 1] = v;
    }
}

static int i64_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void i64_sort(int64_t *v, int64_t n)
{
    if (n > 24) {
        qsort(v, (size_t)n, sizeof(int64_t), i64_cmp);
        return;
    }
    for (int64_t i = 1; i < n; i++) {
        int64_t x = v[i], j = i - 1;
        while (j >= 0 && v[j] > x) {
            v[j + 1] = v[j];
            j--;
        }
        v[j + 1] = x;
    }
}

/* Longest customer segment among customers lo..hi-1 (0 when offsets are inconsistent:
   the caller validates offsets first). */
static int64_t max_len(const int64_t *offsets, int64_t lo, int64_t hi)
{
    int64_t m = 0;
    for (int64_t c = lo; c < hi; c++) {
        int64_t len = offsets[c + 1] - offsets[c];
        if (len > m) m = len;
    }
    return m;
}

/* offsets must start at 0, be non-decreasing; returns the row count or -1. */
static int64_t check_offsets(const int64_t *offsets, int64_t k)
{
    if (k < 0 || !offsets || offsets[0] != 0) return -1;
    for (int64_t c = 0; c < k; c++)
        if (offsets[c + 1] < offsets[c]) return -1;
    return offsets[k];
}

/* Copy customer c's rows dated <= end with key >= 0 into buf; -1 when a key is out of
   range or days are not sorted. */
static int64_t gather(const int64_t *day, const int64_t *key, int64_t n_keys, int64_t a,
                      int64_t b, int64_t end, kd_pair *buf)
{
    int64_t n = 0;
    for (int64_t i = a; i < b; i++) {
        if (i > a && day[i] < day[i - 1]) return -1;
        if (day[i] > end) break;
        int64_t q = key[i];
        if (q >= n_keys) return -1;
        if (q < 0) continue;
        buf[n].key = q;
        buf[n].day = day[i];
        n++;
    }
    return n;
}

static void set_err(atomic_int *err, int code)
{
    int expected = SY_OK;
    atomic_compare_exchange_strong(err, &expected, code);
}

/* ====================================================================== gaps */
/* Two layouts.  Dense (the common case: n_keys x (span + 1) small): per key a histogram
   of closed (hev) and open (hcz) intervals by duration 0 .. span, and rebuyer counts.
   Sorted (otherwise): every interval, sorted by (key, duration) with counting sorts. */
struct sy_gap_state {
    int64_t n_keys;
    int dense;
    /* dense */
    int64_t span;           /* durations 0 .. span */
    int32_t *hev, *hcz;     /* n_keys * (span + 1) */
    int64_t *rebuy;         /* n_keys */
    /* sorted */
    int64_t n;            /* intervals */
    int32_t *key, *dur;   /* sorted by (key, dur) */
    uint8_t *ev;          /* 0 censored, bit 0 closed, bit 1 the pair's first closed one */
    int64_t *koff;        /* n_keys + 1 */
};

typedef struct {
    const int64_t *day, *offsets, *key;
    int64_t n_keys, end;
    int32_t *rkey, *rdur;   /* holey: customer c's intervals start at offsets[c] */
    uint8_t *rev;
    int64_t *nrec;
    _Atomic int64_t maxdur;
    atomic_int err;
} gap_scan;

static void gap_range(void *ctx, int64_t lo, int64_t hi)
{
    gap_scan *x = (gap_scan *)ctx;
    int64_t cap = max_len(x->offsets, lo, hi);
    kd_pair *buf = (kd_pair *)malloc(sizeof(kd_pair) * (size_t)(cap > 0 ? cap : 1));
    if (!buf) {
        set_err(&x->err, SY_ENOMEM);
        return;
    }
    int64_t local_max = 0;
    for (int64_t c = lo; c < hi; c++) {
        if (((c - lo) & POLL_MASK) == 0 && (atomic_load(&x->err) != SY_OK || sy_interrupted())) {
            set_err(&x->err, SY_EINTR);
            break;
        }
        int64_t a = x->offsets[c];
        int64_t n = gather(x->day, x->key, x->n_keys, a, x->offsets[c + 1], x->end, buf);
        if (n < 0) {
            set_err(&x->err, SY_EINVAL);
            break;
        }
        kd_sort(buf, n);
        int64_t w = a;
        for (int64_t i = 0; i < n;) {
            int64_t q = buf[i].key, prev = buf[i].day;
            int first = 1;
            int64_t j = i + 1;
            for (; j < n && buf[j].key == q; j++) {
                if (buf[j].day == prev) continue;     /* same day: one purchase */
                int64_t g = buf[j].day - prev;
                x->rkey[w] = (int32_t)q;
                x->rdur[w] = (int32_t)g;
                x->rev[w] = (uint8_t)(first ? 3 : 1);
                if (g > local_max) local_max = g;
                first = 0;
                prev = buf[j].day;
                w++;
            }
            int64_t open = x->end - prev;
            x->rkey[w] = (int32_t)q;
            x->rdur[w] = (int32_t)open;
            x->rev[w] = 0;
            if (open > local_max) local_max = open;
            w++;
            i = j;
        }
        x->nrec[c] = w - a;
    }
    free(buf);
    int64_t cur = atomic_load(&x->maxdur);
    while (local_max > cur && !atomic_compare_exchange_weak(&x->maxdur, &cur, local_max)) {
    }
}

typedef struct {
    const int64_t *day, *offsets, *key;
    int64_t n_keys, end, span;
    int32_t *hev[SY_THREADS_CAP], *hcz[SY_THREADS_CAP];
    int64_t *rebuy[SY_THREADS_CAP];
    atomic_int next_slot;
    atomic_int err;
} dense_scan;

static void dense_range(void *ctx, int64_t lo, int64_t hi)
{
    dense_scan *x = (dense_scan *)ctx;
    const int slot = atomic_fetch_add(&x->next_slot, 1);
    if (slot >= SY_THREADS_CAP) {
        set_err(&x->err, SY_EINVAL);
        return;
    }
    const size_t cells = (size_t)x->n_keys * (size_t)(x->span + 1);
    int32_t *hev = (int32_t *)calloc(cells > 0 ? cells : 1, sizeof(int32_t));
    int32_t *hcz = (int32_t *)calloc(cells > 0 ? cells : 1, sizeof(int32_t));
    int64_t *rebuy = (int64_t *)calloc((size_t)(x->n_keys > 0 ? x->n_keys : 1), sizeof(int64_t));
    int64_t cap = max_len(x->offsets, lo, hi);
    kd_pair *buf = (kd_pair *)malloc(sizeof(kd_pair) * (size_t)(cap > 0 ? cap : 1));
    x->hev[slot] = hev;
    x->hcz[slot] = hcz;
    x->rebuy[slot] = rebuy;
    if (!hev || !hcz || !rebuy || !buf) {
        set_err(&x->err, SY_ENOMEM);
        free(buf);
        return;
    }
    const int64_t w = x->span + 1;
    for (int64_t c = lo; c < hi; c++) {
        if (((c - lo) & POLL_MASK) == 0 && (atomic_load(&x->err) != SY_OK || sy_interrupted())) {
            set_err(&x->err, SY_EINTR);
            break;
        }
        int64_t n = gather(x->day, x->key, x->n_keys, x->offsets[c], x->offsets[c + 1], x->end,
                           buf);
        if (n < 0) {
            set_err(&x->err, SY_EINVAL);
            break;
        }
        kd_sort(buf, n);
        for (int64_t i = 0; i < n;) {
            const int64_t q = buf[i].key;
            int64_t prev = buf[i].day, j = i + 1;
            int first = 1;
            for (; j < n && buf[j].key == q; j++) {
                if (buf[j].day == prev) continue;
                hev[q * w + (buf[j].day - prev)]++;
                if (first) rebuy[q]++;
                first = 0;
                prev = buf[j].day;
            }
            hcz[q * w + (x->end - prev)]++;
            i = j;
        }
    }
    free(buf);
}

void sy_items_gaps_free(sy_gap_state *s)
{
    if (!s) return;
    free(s->hev);
    free(s->hcz);
    free(s->rebuy);
    free(s->key);
    free(s->dur);
    free(s->ev);
    free(s->koff);
    free(s);
}

int sy_items_gaps_prepare(const int64_t *day, const int64_t *offsets, int64_t k,
                          const int64_t *key, int64_t n_keys, int64_t end,
                          int64_t max_dense_cells, sy_gap_state **state,
                          int64_t *n_curve_rows)
{
    if (!state || !n_curve_rows) return SY_EINVAL;
    *state = NULL;
    *n_curve_rows = 0;
    int64_t rows = check_offsets(offsets, k);
    if (rows < 0 || n_keys < 0 || n_keys > INT32_MAX) return SY_EINVAL;
    if (rows > 0 && (!day || !key)) return SY_EINVAL;
    /* every interval is at most end - (first day); both must fit an int32 */
    for (int64_t i = 0; i < rows; i++) {
        if (day[i] <= end && end - day[i] > INT32_MAX) return SY_ERANGE;
        if ((i & 0xFFFFF) == 0 && sy_interrupted()) return SY_EINTR;
    }
    int st = SY_OK;
    int64_t lo_day = end;
    for (int64_t i = 0; i < rows; i++)
        if (day[i] < lo_day) lo_day = day[i];
    const int64_t span = end - lo_day;      /* >= 0; <= INT32_MAX (checked above) */
    int64_t cells;
    if (sy_mul_ok(n_keys, span + 1, &cells) && cells <= max_dense_cells && rows < INT32_MAX) {
        sy_gap_state *d = (sy_gap_state *)calloc(1, sizeof(sy_gap_state));
        if (!d) return SY_ENOMEM;
        d->n_keys = n_keys;
        d->dense = 1;
        d->span = span;
        dense_scan x;
        memset(&x, 0, sizeof(x));
        x.day = day;
        x.offsets = offsets;
        x.key = key;
        x.n_keys = n_keys;
        x.end = end;
        x.span = span;
        atomic_init(&x.next_slot, 0);
        atomic_init(&x.err, SY_OK);
        sy_parallel_for(k, 8192, dense_range, &x);
        const int used = atomic_load(&x.next_slot);
        st = atomic_load(&x.err);
        if (st == SY_OK && used == 0) {   /* no customer: empty histograms */
            x.hev[0] = (int32_t *)calloc((size_t)(cells > 0 ? cells : 1), sizeof(int32_t));
            x.hcz[0] = (int32_t *)calloc((size_t)(cells > 0 ? cells : 1), sizeof(int32_t));
            x.rebuy[0] = (int64_t *)calloc((size_t)(n_keys > 0 ? n_keys : 1), sizeof(int64_t));
            if (!x.hev[0] || !x.hcz[0] || !x.rebuy[0]) st = SY_ENOMEM;
        }
        const int n_slots = used > 0 ? (used < SY_THREADS_CAP ? used : SY_THREADS_CAP) : 1;
        if (st == SY_OK) {
            for (int t = 1; t < n_slots; t++) {     /* merge into slot 0 */
                for (int64_t j = 0; j < cells; j++) {
                    x.hev[0][j] += x.hev[t][j];
                    x.hcz[0][j] += x.hcz[t][j];
                }
                for (int64_t q = 0; q < n_keys; q++) x.rebuy[0][q] += x.rebuy[t][q];
            }
            d->hev = x.hev[0];
            d->hcz = x.hcz[0];
            d->rebuy = x.rebuy[0];
            x.hev[0] = x.hcz[0] = NULL;
            x.rebuy[0] = NULL;
        }
        for (int t = 0; t < n_slots; t++) {
            free(x.hev[t]);
            free(x.hcz[t]);
            free(x.rebuy[t]);
        }
        if (st != SY_OK) {
            sy_items_gaps_free(d);
            return st;
        }
        int64_t rowsc = 0;
        for (int64_t q = 0; q < n_keys; q++) {
            const int32_t *e = d->hev + q * (span + 1), *z = d->hcz + q * (span + 1);
            int64_t any = 0, extra = 0;
            for (int64_t t = 0; t <= span; t++) {
                if (e[t] || z[t]) {
                    any = 1;
                    if (t > 0) extra++;
                }
            }
            rowsc += any + extra;
        }
        *n_curve_rows = rowsc;
        *state = d;
        return SY_OK;
    }
    sy_gap_state *s = (sy_gap_state *)calloc(1, sizeof(sy_gap_state));
    int64_t *nrec = (int64_t *)calloc((size_t)(k > 0 ? k : 1), sizeof(int64_t));
    int64_t *cnt = NULL;
    int32_t *tkey = NULL, *tdur = NULL;
    uint8_t *tev = NULL;
    size_t nr = (size_t)(rows > 0 ? rows : 1);
    if (!s || !nrec) goto nomem;
    s->n_keys = n_keys;
    s->key = (int32_t *)malloc(nr * sizeof(int32_t));
    s->dur = (int32_t *)malloc(nr * sizeof(int32_t));
    s->ev = (uint8_t *)malloc(nr);
    s->koff = (int64_t *)calloc((size_t)n_keys + 1, sizeof(int64_t));
    if (!s->key || !s->dur || !s->ev || !s->koff) goto nomem;

    gap_scan x;
    x.day = day;
    x.offsets = offsets;
    x.key = key;
    x.n_keys = n_keys;
    x.end = end;
    x.rkey = s->key;
    x.rdur = s->dur;
    x.rev = s->ev;
    x.nrec = nrec;
    atomic_init(&x.maxdur, 0);
    atomic_init(&x.err, SY_OK);
    sy_parallel_for(k, 8192, gap_range, &x);
    st = atomic_load(&x.err);
    if (st != SY_OK) goto done;

    int64_t n = 0;
    for (int64_t c = 0; c < k; c++) n += nrec[c];
    s->n = n;
    int64_t maxdur = atomic_load(&x.maxdur);
    size_t nn = (size_t)(n > 0 ? n : 1);
    cnt = (int64_t *)calloc((size_t)maxdur + 2, sizeof(int64_t));
    tkey = (int32_t *)malloc(nn * sizeof(int32_t));
    tdur = (int32_t *)malloc(nn * sizeof(int32_t));
    tev = (uint8_t *)malloc(nn);
    if (!cnt || !tkey || !tdur || !tev) goto nomem;
    /* pass 1: stable counting sort by duration, holey -> compact */
    for (int64_t c = 0; c < k; c++)
        for (int64_t j = offsets[c], e = offsets[c] + nrec[c]; j < e; j++) cnt[s->dur[j] + 1]++;
    for (int64_t t = 0; t <= maxdur; t++) cnt[t + 1] += cnt[t];
    for (int64_t c = 0; c < k; c++) {
        if ((c & 0xFFFFF) == 0 && sy_interrupted()) {
            st = SY_EINTR;
            goto done;
        }
        for (int64_t j = offsets[c], e = offsets[c] + nrec[c]; j < e; j++) {
            int64_t p = cnt[s->dur[j]]++;
            tkey[p] = s->key[j];
            tdur[p] = s->dur[j];
            tev[p] = s->ev[j];
        }
    }
    /* pass 2: stable counting sort by key, compact -> the state's arrays */
    int64_t *ko = s->koff;
    for (int64_t i = 0; i < n; i++) ko[tkey[i] + 1]++;
    for (int64_t q = 0; q < n_keys; q++) ko[q + 1] += ko[q];
    {
        int64_t *cur = (int64_t *)malloc(sizeof(int64_t) * (size_t)(n_keys > 0 ? n_keys : 1));
        if (!cur) goto nomem;
        memcpy(cur, ko, sizeof(int64_t) * (size_t)n_keys);
        for (int64_t i = 0; i < n; i++) {
            if ((i & 0xFFFFF) == 0 && sy_interrupted()) {
                free(cur);
                st = SY_EINTR;
                goto done;
            }
            int64_t p = cur[tkey[i]]++;
            s->key[p] = tkey[i];
            s->dur[p] = tdur[i];
            s->ev[p] = tev[i];
        }
        free(cur);
    }
    /* curve rows: time 0 plus every other distinct duration, per bought key */
    int64_t rowsc = 0;
    for (int64_t q = 0; q < n_keys; q++) {
        int64_t a = ko[q], b = ko[q + 1];
        if (a == b) continue;
        rowsc++;
        for (int64_t i = a; i < b; i++)
            if (s->dur[i] > 0 && (i == a || s->dur[i] != s->dur[i - 1])) rowsc++;
    }
    *n_curve_rows = rowsc;
    goto done;
nomem:
    st = SY_ENOMEM;
done:
    free(nrec);
    free(cnt);
    free(tkey);
    free(tdur);
    free(tev);
    if (st != SY_OK) {
        sy_items_gaps_free(s);
        return st;
    }
    *state = s;
    return SY_OK;
}

/* Statistics and curve rows of one key from its distinct durations t[0..m-1] (ascending)
   with closed (d) and open (z) counts; returns the curve rows written at r. */
static int64_t key_stats(int64_t q, const int64_t *t, const int64_t *d, const int64_t *z,
                         int64_t m, double *obs_q, double *km_q, int64_t *c_key,
                         int64_t *c_time, int64_t *c_risk, int64_t *c_events,
                         int64_t *c_censored, double *c_surv, double *c_var, int64_t r)
{
    static const double qs[3] = {0.25, 0.5, 0.75};
    int64_t closed = 0, total = 0;
    for (int64_t j = 0; j < m; j++) {
        closed += d[j];
        total += d[j] + z[j];
    }
    /* quantiles of the closed intervals: order statistics lo and lo + 1 of each q */
    for (int k = 0; k < 3; k++) {
        km_q[3 * q + k] = NAN;
        if (closed == 0) {
            obs_q[3 * q + k] = NAN;
            continue;
        }
        const double pos = qs[k] * (double)(closed - 1);
        const int64_t lo = (int64_t)floor(pos);
        const double frac = pos - (double)lo;
        const int64_t hi = lo + 1 < closed ? lo + 1 : lo;
        double vlo = NAN, vhi = NAN;
        int64_t seen = 0;
        for (int64_t j = 0; j < m && isnan(vhi); j++) {
            if (!d[j]) continue;
            seen += d[j];                          /* ranks seen - d[j] .. seen - 1 */
            if (isnan(vlo) && lo < seen) vlo = (double)t[j];
            if (hi < seen) vhi = (double)t[j];
        }
        obs_q[3 * q + k] = frac > 0 ? vlo + (vhi - vlo) * frac : vlo;
    }
    if (total == 0) return r;
    /* Kaplan-Meier over all intervals of the key: a row at time 0, then each duration */
    int64_t risk = total;
    double surv = 1.0, vs = 0.0;
    if (t[0] != 0) {
        c_key[r] = q;
        c_time[r] = 0;
        c_risk[r] = risk;
        c_events[r] = 0;
        c_censored[r] = 0;
        c_surv[r] = 1.0;
        c_var[r] = 0.0;
        r++;
    }
    for (int64_t j = 0; j < m; j++) {
        if (d[j] > 0) {
            surv *= 1.0 - (double)d[j] / (double)risk;
            if (risk > d[j]) vs += (double)d[j] / ((double)risk * (double)(risk - d[j]));
        }
        c_key[r] = q;
        c_time[r] = t[j];
        c_risk[r] = risk;
        c_events[r] = d[j];
        c_censored[r] = z[j];
        c_surv[r] = surv;
        c_var[r] = vs;
        r++;
        for (int k = 0; k < 3; k++) /* q25 of the time to rebuy: S <= 0.75, etc. */
            if (isnan(km_q[3 * q + k]) && surv <= 1.0 - qs[k] + 1e-12) km_q[3 * q + k] = t[j];
        risk -= d[j] + z[j];
    }
    return r;
}

int sy_items_gaps_finish(const sy_gap_state *s, int64_t *n_buyers, int64_t *n_rebuyers,
                         int64_t *n_closed, double *obs_q, double *km_q, int64_t *c_key,
                         int64_t *c_time, int64_t *c_risk, int64_t *c_events,
                         int64_t *c_censored, double *c_surv, double *c_var)
{
    if (!s) return SY_EINVAL;
    int64_t cap = 1;
    if (s->dense) {
        cap = s->span + 1;
    } else {
        for (int64_t q = 0; q < s->n_keys; q++)
            if (s->koff[q + 1] - s->koff[q] > cap) cap = s->koff[q + 1] - s->koff[q];
    }
    int64_t *t = (int64_t *)malloc(sizeof(int64_t) * (size_t)cap);
    int64_t *d = (int64_t *)malloc(sizeof(int64_t) * (size_t)cap);
    int64_t *z = (int64_t *)malloc(sizeof(int64_t) * (size_t)cap);
    if (!t || !d || !z) {
        free(t);
        free(d);
        free(z);
        return SY_ENOMEM;
    }
    int64_t r = 0;
    int st = SY_OK;
    for (int64_t q = 0; q < s->n_keys; q++) {
        if ((q & 0x3FF) == 0 && sy_interrupted()) {
            st = SY_EINTR;
            break;
        }
        int64_t m = 0, buyers = 0, rebuyers = 0, closed = 0;
        if (s->dense) {
            const int64_t w = s->span + 1;
            const int32_t *he = s->hev + q * w, *hz = s->hcz + q * w;
            for (int64_t k = 0; k < w; k++) {
                if (!he[k] && !hz[k]) continue;
                t[m] = k;
                d[m] = he[k];
                z[m] = hz[k];
                closed += he[k];
                buyers += hz[k];
                m++;
            }
            rebuyers = s->rebuy[q];
        } else {
            for (int64_t i = s->koff[q], b = s->koff[q + 1]; i < b; i++) {
                const uint8_t e = s->ev[i];
                if (m == 0 || t[m - 1] != s->dur[i]) {
                    t[m] = s->dur[i];
                    d[m] = z[m] = 0;
                    m++;
                }
                if (e & 1) {
                    d[m - 1]++;
                    closed++;
                } else {
                    z[m - 1]++;
                    buyers++;
                }
                if (e & 2) rebuyers++;
            }
        }
        n_buyers[q] = buyers;       /* every buyer has exactly one open interval */
        n_rebuyers[q] = rebuyers;
        n_closed[q] = closed;
        r = key_stats(q, t, d, z, m, obs_q, km_q, c_key, c_time, c_risk, c_events, c_censored,
                      c_surv, c_var, r);
    }
    free(t);
    free(d);
    free(z);
    return st;
}

/* ====================================================================== due */
typedef struct {
    const int64_t *day, *offsets, *key;
    int64_t n_keys, as_of, m;
    const double *cycle;
    double lead, stale;
    int64_t *n_due, *due_key, *due_last;
    double *min_cycle, *due_over;
    atomic_int err;
} due_ctx;

static void due_range(void *ctx, int64_t lo, int64_t hi)
{
    due_ctx *x = (due_ctx *)ctx;
    int64_t cap = max_len(x->offsets, lo, hi);
    kd_pair *buf = (kd_pair *)malloc(sizeof(kd_pair) * (size_t)(cap > 0 ? cap : 1));
    if (!buf) {
        set_err(&x->err, SY_ENOMEM);
        return;
    }
    const int64_t m = x->m;
    for (int64_t c = lo; c < hi; c++) {
        if (((c - lo) & POLL_MASK) == 0 && (atomic_load(&x->err) != SY_OK || sy_interrupted())) {
            set_err(&x->err, SY_EINTR);
            break;
        }
        int64_t *dk = x->due_key + c * m, *dl = x->due_last + c * m;
        double *dov = x->due_over + c * m;
        for (int64_t j = 0; j < m; j++) {
            dk[j] = -1;
            dl[j] = INT64_MIN;
            dov[j] = NAN;
        }
        int64_t n = gather(x->day, x->key, x->n_keys, x->offsets[c], x->offsets[c + 1],
                           x->as_of, buf);
        if (n < 0) {
            set_err(&x->err, SY_EINVAL);
            break;
        }
        kd_sort(buf, n);
        int64_t nd = 0, filled = 0;
        double mc = NAN;
        for (int64_t i = 0; i < n;) {
            int64_t q = buf[i].key, j = i;
            while (j + 1 < n && buf[j + 1].key == q) j++;
            const int64_t last = buf[j].day;
            i = j + 1;
            const double cyc = x->cycle[q];
            if (!(cyc > 0) || !isfinite(cyc)) continue;
            if (isnan(mc) || cyc < mc) mc = cyc;
            const double over = (double)(x->as_of - last) - cyc;
            if (!(over >= -x->lead) || over > x->stale * cyc) continue;
            nd++;
            /* insert into the m most overdue (keys arrive in increasing order, so a tie
               keeps the earlier, smaller key first) */
            int64_t pos = filled;
            while (pos > 0 && dov[pos - 1] < over) pos--;
            if (pos >= m) continue;
            int64_t top = filled < m ? filled : m - 1;
            for (int64_t t = top; t > pos; t--) {
                dk[t] = dk[t - 1];
                dov[t] = dov[t - 1];
                dl[t] = dl[t - 1];
            }
            dk[pos] = q;
            dov[pos] = over;
            dl[pos] = last;
            if (filled < m) filled++;
        }
        x->n_due[c] = nd;
        x->min_cycle[c] = mc;
    }
    free(buf);
}

int sy_items_due(const int64_t *day, const int64_t *offsets, int64_t k, const int64_t *key,
                 int64_t n_keys, const double *cycle, int64_t as_of, double lead, double stale,
                 int64_t m, int64_t *n_due, double *min_cycle, int64_t *due_key,
                 double *due_over, int64_t *due_last)
{
    int64_t rows = check_offsets(offsets, k);
    int64_t km;
    if (rows < 0 || n_keys < 0 || m < 1 || !sy_mul_ok(k, m, &km)) return SY_EINVAL;
    if ((rows > 0 && (!day || !key)) || (n_keys > 0 && !cycle)) return SY_EINVAL;
    if (isnan(lead) || isnan(stale)) return SY_EINVAL;
    due_ctx x;
    x.day = day;
    x.offsets = offsets;
    x.key = key;
    x.n_keys = n_keys;
    x.as_of = as_of;
    x.m = m;
    x.cycle = cycle;
    x.lead = lead;
    x.stale = stale;
    x.n_due = n_due;
    x.due_key = due_key;
    x.due_last = due_last;
    x.min_cycle = min_cycle;
    x.due_over = due_over;
    atomic_init(&x.err, SY_OK);
    sy_parallel_for(k, 8192, due_range, &x);
    return atomic_load(&x.err);
}

/* ====================================================================== own gaps */
typedef struct {
    const int64_t *day, *offsets;
    const double *amount;
    int64_t as_of;
    int64_t *n_gaps, *last;
    double *median, *revenue;
    atomic_int err;
} own_ctx;

static void own_range(void *ctx, int64_t lo, int64_t hi)
{
    own_ctx *x = (own_ctx *)ctx;
    int64_t cap = max_len(x->offsets, lo, hi);
    int64_t *g = (int64_t *)malloc(sizeof(int64_t) * (size_t)(cap > 0 ? cap : 1));
    if (!g) {
        set_err(&x->err, SY_ENOMEM);
        return;
    }
    for (int64_t c = lo; c < hi; c++) {
        if (((c - lo) & POLL_MASK) == 0 && (atomic_load(&x->err) != SY_OK || sy_interrupted())) {
            set_err(&x->err, SY_EINTR);
            break;
        }
        int64_t n = 0, prev = INT64_MIN;
        int bad = 0;
        double rev = 0.0, comp = 0.0; /* Kahan-compensated sum of the amounts */
        for (int64_t i = x->offsets[c], e = x->offsets[c + 1]; i < e; i++) {
            if (i > x->offsets[c] && x->day[i] < x->day[i - 1]) {
                bad = 1;
                break;
            }
            if (x->day[i] > x->as_of) break;
            if (x->amount) {
                const double y = x->amount[i] - comp, t = rev + y;
                comp = (t - rev) - y;
                rev = t;
            }
            if (x->amount && !(x->amount[i] >= 0)) continue;
            if (prev != INT64_MIN && x->day[i] > prev) g[n++] = x->day[i] - prev;
            if (prev == INT64_MIN || x->day[i] > prev) prev = x->day[i];
        }
        if (bad) {
            set_err(&x->err, SY_EINVAL);
            break;
        }
        x->n_gaps[c] = n;
        x->last[c] = prev;
        x->revenue[c] = rev;
        if (n == 0) {
            x->median[c] = NAN;
            continue;
        }
        i64_sort(g, n);
        x->median[c] = (n & 1) ? (double)g[n / 2] : 0.5 * ((double)g[n / 2 - 1] + (double)g[n / 2]);
    }
    free(g);
}

int sy_items_own_gaps(const int64_t *day, const double *amount, const int64_t *offsets,
                      int64_t k, int64_t as_of, int64_t *n_gaps, double *median_gap,
                      int64_t *last_day, double *revenue)
{
    int64_t rows = check_offsets(offsets, k);
    if (rows < 0 || (rows > 0 && !day)) return SY_EINVAL;
    own_ctx x;
    x.day = day;
    x.offsets = offsets;
    x.amount = amount;
    x.as_of = as_of;
    x.n_gaps = n_gaps;
    x.median = median_gap;
    x.last = last_day;
    x.revenue = revenue;
    atomic_init(&x.err, SY_OK);
    sy_parallel_for(k, 8192, own_range, &x);
    return atomic_load(&x.err);
}

/* ====================================================================== cross-sell */
int sy_items_cross(const int64_t *day, const int64_t *offsets, int64_t k, const int64_t *key,
                   int64_t n_keys, const double *amount, int64_t end, int period,
                   sy_cross_out *o)
{
    int64_t rows = check_offsets(offsets, k);
    if (!o || rows < 0 || n_keys < 0 || (rows > 0 && (!day || !key))) return SY_EINVAL;
    if (period < SY_PERIOD_D || period > SY_PERIOD_Y) return SY_EINVAL;
    if (k > 0 && (!o->first_day || !o->rev_total || !o->rev_beyond)) return SY_EINVAL;
    const int write = o->x_cust != NULL;
    if (write && (!o->x_a || !o->x_b || !o->x_days || !o->f_cust || !o->f_key || !o->b_cust ||
                  !o->b_age))
        return SY_EINVAL;
    int64_t cap = max_len(offsets, 0, k);
    uint8_t *state = (uint8_t *)calloc((size_t)(n_keys > 0 ? n_keys : 1), 1);
    int64_t *seen = (int64_t *)malloc(sizeof(int64_t) * (size_t)(cap > 0 ? cap : 1));
    if (!state || !seen) {
        free(state);
        free(seen);
        return SY_ENOMEM;
    }
    int st = SY_OK;
    int64_t nc = 0, nf = 0, nb = 0;
    for (int64_t c = 0; c < k && st == SY_OK; c++) {
        if ((c & POLL_MASK) == 0 && sy_interrupted()) {
            st = SY_EINTR;
            break;
        }
        int64_t ns = 0, ne = 0, f = INT64_MIN, fper = 0;
        double tot = 0.0, beyond = 0.0;
        for (int64_t i = offsets[c], e = offsets[c + 1]; i < e; i++) {
            if (i > offsets[c] && day[i] < day[i - 1]) {
                st = SY_EINVAL;
                break;
            }
            if (day[i] > end) break;
            const int64_t q = key[i];
            if (q >= n_keys) {
                st = SY_EINVAL;
                break;
            }
            if (q < 0) continue;
            const double amt = amount ? amount[i] : 0.0;
            if (f == INT64_MIN) {
                f = day[i];
                fper = sy_period_index(f, period);
            }
            tot += amt;
            if (state[q] == 0) { /* first purchase of this key */
                seen[ns++] = q;
                if (write) {
                    if (nb >= o->breadth_cap) {
                        st = SY_EINVAL;
                        break;
                    }
                    o->b_cust[nb] = c;
                    o->b_age[nb] = sy_period_index(day[i], period) - fper;
                }
                nb++;
            }
            if (day[i] == f) {
                if (!(state[q] & 1)) {
                    state[q] |= 1;
                    ne++; /* E = seen[0 .. ne - 1] */
                    if (write) {
                        if (nf >= o->first_cap) {
                            st = SY_EINVAL;
                            break;
                        }
                        o->f_cust[nf] = c;
                        o->f_key[nf] = q;
                    }
                    nf++;
                }
                continue;
            }
            if (!(state[q] & 1)) beyond += amt;
            if (state[q] & 2) continue;
            state[q] |= 2;
            if (write) {
                if (ne > o->cross_cap - nc) {
                    st = SY_EINVAL;
                    break;
                }
                for (int64_t j = 0; j < ne; j++) {
                    o->x_cust[nc + j] = c;
                    o->x_a[nc + j] = seen[j];
                    o->x_b[nc + j] = q;
                    o->x_days[nc + j] = day[i] - f;
                }
            }
            nc += ne;
        }
        for (int64_t j = 0; j < ns; j++) state[seen[j]] = 0;
        o->first_day[c] = f;
        o->rev_total[c] = tot;
        o->rev_beyond[c] = beyond;
    }
    free(state);
    free(seen);
    if (st == SY_OK) {
        o->n_cross = nc;
        o->n_first = nf;
        o->n_breadth = nb;
    }
    return st;
}

/* ====================================================================== ranking */
typedef struct {
    double a, b, c;
    int64_t i;
} rank_row;

static inline int rank_less(const rank_row *p, const rank_row *q)
{
    if (p->a != q->a) return p->a < q->a;
    if (p->b != q->b) return p->b < q->b;
    if (p->c != q->c) return p->c < q->c;
    return p->i < q->i;
}

/* Bottom-up merge sort (insertion-sorted runs of 32 first) with the comparison inlined:
   O(n log n) always; the position key makes the order total, so stability is moot. */
static int rank_sort(rank_row *r, int64_t n)
{
    const int64_t RUN = 32;
    for (int64_t lo = 0; lo < n; lo += RUN) {
        int64_t hi = lo + RUN < n ? lo + RUN : n;
        for (int64_t j = lo + 1; j < hi; j++) {
            rank_row v = r[j];
            int64_t k = j - 1;
            while (k >= lo && rank_less(&v, &r[k])) {
                r[k + 1] = r[k];
                k--;
            }
            r[k + 1] = v;
        }
    }
    if (n <= RUN) return SY_OK;
    rank_row *tmp = (rank_row *)malloc(sizeof(rank_row) * (size_t)n);
    if (!tmp) return SY_ENOMEM;
    rank_row *src = r, *dst = tmp;
    for (int64_t width = RUN; width < n; width *= 2) {
        if (sy_interrupted()) {
            free(tmp);
            return SY_EINTR;
        }
        for (int64_t lo = 0; lo < n; lo += 2 * width) {
            int64_t mid = lo + width < n ? lo + width : n;
            int64_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            int64_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) dst[k++] = rank_less(&src[j], &src[i]) ? src[j++] : src[i++];
            while (i < mid) dst[k++] = src[i++];
            while (j < hi) dst[k++] = src[j++];
        }
        rank_row *t = src;
        src = dst;
        dst = t;
    }
    if (src != r) memcpy(r, src, sizeof(rank_row) * (size_t)n);
    free(tmp);
    return SY_OK;
}

int sy_items_rank(const double *k1, const double *k2, const double *k3, int64_t n,
                  int64_t *order)
{
    if (n < 0 || (n > 0 && (!k1 || !k2 || !k3 || !order))) return SY_EINVAL;
    for (int64_t j = 0; j < n; j++)
        if (isnan(k1[j]) || isnan(k2[j]) || isnan(k3[j])) return SY_EINVAL;
    if (n == 0) return SY_OK;
    /* radix sort by the first key (stable: ties stay in position order), then each run of
       equal first keys merge-sorted by (k2, k3, position) */
    uint64_t *key = (uint64_t *)malloc(sizeof(uint64_t) * (size_t)n);
    if (!key) return SY_ENOMEM;
    for (int64_t j = 0; j < n; j++) {
        key[j] = sy_f64_key(k1[j]);
        order[j] = j;
    }
    int st = sy_radix_sort_u64(key, order, n);
    rank_row *r = NULL;
    int64_t cap = 0;
    for (int64_t lo = 0; st == SY_OK && lo < n;) {
        int64_t hi = lo + 1;
        while (hi < n && key[hi] == key[lo]) hi++;
        const int64_t m = hi - lo;
        if (m > 1) {
            if (m > cap) {
                free(r);
                cap = m > 64 ? m : 64;
                if (!(r = (rank_row *)malloc(sizeof(rank_row) * (size_t)cap))) {
                    st = SY_ENOMEM;
                    break;
                }
            }
            for (int64_t j = 0; j < m; j++) {
                const int64_t i = order[lo + j];
                r[j].a = 0.0;
                r[j].b = k2[i];
                r[j].c = k3[i];
                r[j].i = i;
            }
            st = rank_sort(r, m);
            for (int64_t j = 0; st == SY_OK && j < m; j++) order[lo + j] = r[j].i;
        }
        lo = hi;
    }
    free(r);
    free(key);
    return st;
}
