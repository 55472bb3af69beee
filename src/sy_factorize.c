/*
 * sy_factorize.c -- int64 customer ids -> dense codes 0..k-1 that follow sorted ids.
 *
 * Ids already sorted (either way) are coded run by run.  Dense ids (max - min small
 * compared with n) use direct addressing: one pass marks the ids present, a prefix sum
 * ranks them, a second pass writes codes.  Other ids use an open-addressing hash table (linear probing, grown at 50% load); the distinct
 * ids are then sorted and the codes remapped so code order = id order.
 */
#include "siyu.h"

#include <stdlib.h>
#include <string.h>

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static int factorize_dense(const int64_t *ids, int64_t n, int64_t lo, int64_t range,
                           int64_t *codes, int64_t *uniques, int64_t *k_out)
{
    int32_t *rank = (int32_t *)calloc((size_t)range, sizeof(int32_t));
    if (!rank) return SY_ENOMEM;
    for (int64_t i = 0; i < n; i++) {
        if ((i & 4095) == 0 && sy_interrupted()) {
            free(rank);
            return SY_EINTR;
        }
        rank[ids[i] - lo] = 1;
    }
    int64_t k = 0;
    for (int64_t v = 0; v < range; v++) {
        if (rank[v]) {
            uniques[k] = lo + v;
            rank[v] = (int32_t)k++;
        }
    }
    for (int64_t i = 0; i < n; i++) {
        if ((i & 4095) == 0 && sy_interrupted()) {
            free(rank);
            return SY_EINTR;
        }
        codes[i] = rank[ids[i] - lo];
    }
    free(rank);
    *k_out = k;
    return SY_OK;
}

typedef struct {
    int64_t key;
    int64_t code; /* -1 = empty */
} slot;

static int grow(slot **tab, int64_t *cap)
{
    int64_t ncap = *cap * 2;
    slot *nt = (slot *)malloc(sizeof(slot) * (size_t)ncap);
    if (!nt) return SY_ENOMEM;
    for (int64_t j = 0; j < ncap; j++) {
        if ((j & 65535) == 0 && sy_interrupted()) {
            free(nt);
            return SY_EINTR;
        }
        nt[j].code = -1;
    }
    uint64_t mask = (uint64_t)ncap - 1;
    for (int64_t j = 0; j < *cap; j++) {
        if ((j & 4095) == 0 && sy_interrupted()) {
            free(nt);
            return SY_EINTR;
        }
        if ((*tab)[j].code < 0) continue;
        uint64_t h = mix64((uint64_t)(*tab)[j].key) & mask;
        while (nt[h].code >= 0) h = (h + 1) & mask;
        nt[h] = (*tab)[j];
    }
    free(*tab);
    *tab = nt;
    *cap = ncap;
    return SY_OK;
}

static int factorize_hash(const int64_t *ids, int64_t n, int64_t *codes, int64_t *uniques,
                          int64_t *k_out)
{
    int64_t cap = 1024;
    slot *tab = (slot *)malloc(sizeof(slot) * (size_t)cap);
    if (!tab) return SY_ENOMEM;
    for (int64_t j = 0; j < cap; j++) tab[j].code = -1;
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++) {
        if ((i & 4095) == 0 && sy_interrupted()) {
            free(tab);
            return SY_EINTR;
        }
        if (2 * (k + 1) > cap) {
            int g = grow(&tab, &cap);
            if (g != SY_OK) {
                free(tab);
                return g;
            }
        }
        uint64_t mask = (uint64_t)cap - 1;
        uint64_t h = mix64((uint64_t)ids[i]) & mask;
        while (tab[h].code >= 0 && tab[h].key != ids[i]) h = (h + 1) & mask;
        if (tab[h].code < 0) {
            tab[h].key = ids[i];
            tab[h].code = k;
            uniques[k++] = ids[i];
        }
        codes[i] = tab[h].code;
    }
    free(tab);
    /* sort the distinct ids (sy_radix_sort_u64 over the sign-flipped bits) and remap
       first-seen codes to ranks */
    size_t kk = (size_t)(k > 0 ? k : 1);
    uint64_t *key = (uint64_t *)malloc(sizeof(uint64_t) * kk);
    int64_t *code = (int64_t *)malloc(sizeof(int64_t) * kk);
    int64_t *code2 = (int64_t *)malloc(sizeof(int64_t) * kk);
    int st = SY_OK;
    if (!key || !code || !code2) {
        st = SY_ENOMEM;
        goto out;
    }
    for (int64_t c = 0; c < k; c++) {
        key[c] = (uint64_t)uniques[c] ^ ((uint64_t)1 << 63);
        code[c] = c;
    }
    if ((st = sy_radix_sort_u64(key, code, k)) != SY_OK) goto out;
    /* code2 becomes the rank of each first-seen code */
    for (int64_t r = 0; r < k; r++) {
        code2[code[r]] = r;
        uniques[r] = (int64_t)(key[r] ^ ((uint64_t)1 << 63));
    }
    for (int64_t i = 0; i < n; i++) {
        if ((i & 4095) == 0 && sy_interrupted()) {
            st = SY_EINTR;
            goto out;
        }
        codes[i] = code2[codes[i]];
    }
    *k_out = k;
out:
    free(key);
    free(code);
    free(code2);
    return st;
}

/* ids already in order (non-decreasing, or non-increasing when descending): each run of
   equal ids is one code, k runs in all. */
static int factorize_sorted(const int64_t *ids, int64_t n, int descending, int64_t k,
                            int64_t *codes, int64_t *uniques, int64_t *k_out)
{
    int64_t r = 0;              /* run index in input order */
    uniques[descending ? k - 1 : 0] = ids[0];
    for (int64_t i = 0; i < n; i++) {
        if ((i & 65535) == 0 && sy_interrupted()) return SY_EINTR;
        if (i > 0 && ids[i] != ids[i - 1]) {
            r++;
            uniques[descending ? k - 1 - r : r] = ids[i];
        }
        codes[i] = descending ? k - 1 - r : r;
    }
    *k_out = k;
    return SY_OK;
}

int sy_factorize_int64(const int64_t *ids, int64_t n, int64_t *codes, int64_t *uniques,
                       int64_t *k_out)
{
    *k_out = 0;
    if (n < 0) return SY_EINVAL;
    if (n == 0) return SY_OK;
    int64_t lo = ids[0], hi = ids[0];
    int64_t ups = 0, downs = 0;     /* steps up and down between neighbours */
    for (int64_t i = 1; i < n; i++) {
        if (ids[i] < lo) lo = ids[i];
        if (ids[i] > hi) hi = ids[i];
        ups += ids[i] > ids[i - 1];
        downs += ids[i] < ids[i - 1];
    }
    if (ups == 0 || downs == 0)        /* sorted (exports often are, by order id): runs */
        return factorize_sorted(ids, n, downs > 0, ups + downs + 1, codes, uniques, k_out);
    /* range = hi - lo + 1 without overflow */
    uint64_t range = (uint64_t)hi - (uint64_t)lo + 1u;
    if (range != 0 && range <= (uint64_t)4 * (uint64_t)n + 4096u && range < (uint64_t)INT32_MAX)
        return factorize_dense(ids, n, lo, (int64_t)range, codes, uniques, k_out);
    return factorize_hash(ids, n, codes, uniques, k_out);
}

/* ========================================================================== */
/* Building the stored log in one go: validate, factorise, group, sort.        */
/* ========================================================================== */
/*
 * Rows are radix-partitioned by the high bits of (id - min id) into P partitions of
 * ~16k rows (one streaming pass that writes 24-byte tuples), then each partition --
 * a contiguous range of ids, hence of customer codes and of output rows -- is
 * factorised, counting-sorted by customer and sorted by day inside the cache, and
 * written to its slice of the outputs.  Partitions are processed by all threads
 * (dynamic scheduling); every step is stable, so the result is identical for any
 * thread count: rows ordered by (customer code, day, input row).
 */
#include "sy_cohort.h"   /* sy_pass_threads */

#include <stdatomic.h>

#define BUILD_PART_ROWS 16384   /* target rows per partition */
#define BUILD_MAX_PBITS 16
#define BUILD_POLL 65536
#define BUILD_BLOCK_ROWS ((int64_t)1 << 18)   /* rows per dynamic block of passes A-C */
#define BUILD_MAX_BLOCKS 256

typedef struct {
    int64_t d;          /* distinct ids in the partition */
    uint32_t *keys;     /* their keys, sorted */
    int64_t *start;     /* first row (relative to the partition start) of each, d + 1 */
} build_part;

struct sy_build {
    int64_t n, k, P, div, mult;
    int64_t day_min, day_max;   /* of the whole log */
    int time_ordered;           /* input rows already in time order */
    uint64_t range;          /* max id - min id */
    int shift;
    uint64_t min;            /* smallest id (as unsigned offset base) */
    int64_t *fact_uniq;      /* ids when they were pre-factorised (wide range), else NULL */
    int64_t *part_start;     /* P + 1 */
    build_part *parts;       /* P */
    int64_t dups;
};

/* ---- pass A: validation and id range -------------------------------------- */
typedef struct {
    const int64_t *ids, *t;
    const double *amount;
    int64_t lo, hi, t_lo, t_hi;     /* rows; raw time values of the supported days */
    int64_t mn, mx, nat, out_of_range, nonfinite, tmin, tmax, negative, zero;
    double abs_sum;
    int unordered;          /* a time smaller than the one before it */
    int st;
} check_job;

static inline int64_t floordiv64(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Raw time values (already range-checked) to day numbers; constant divisors let the
   compiler turn the division into a multiplication. */
#define DAYS_LOOP(DIV) for (int64_t i = 0; i < n; i++) out[i] = floordiv64(in[i], DIV)
/* times_to_days, also counting the days into h[day - dmin + 1] */
#define DAYS_HIST_LOOP(DIV)                                                   \
    for (int64_t i = 0; i < n; i++) {                                         \
        int64_t d_ = floordiv64(in[i], DIV);                                  \
        out[i] = d_;                                                          \
        h[d_ - dmin + 1]++;                                                   \
    }
static void times_to_days_hist(const int64_t *in, int64_t *out, int64_t n, int64_t div,
                               int64_t mult, int32_t *h, int64_t dmin)
{
    if (mult == 7) {
        for (int64_t i = 0; i < n; i++) {
            out[i] = 7 * in[i];
            h[out[i] - dmin + 1]++;
        }
        return;
    }
    switch (div) {
    case 1: DAYS_HIST_LOOP(1); break;
    case 86400: DAYS_HIST_LOOP(86400); break;
    case 86400000: DAYS_HIST_LOOP(86400000); break;
    case 86400000000: DAYS_HIST_LOOP(86400000000); break;
    case 86400000000000: DAYS_HIST_LOOP(86400000000000); break;
    default: DAYS_HIST_LOOP(div); break;
    }
}

static void times_to_days(const int64_t *in, int64_t *out, int64_t n, int64_t div, int64_t mult)
{
    if (mult == 7) {
        for (int64_t i = 0; i < n; i++) out[i] = 7 * in[i];
        return;
    }
    switch (div) {
    case 1: memcpy(out, in, sizeof(int64_t) * (size_t)n); break;
    case 24: DAYS_LOOP(24); break;
    case 1440: DAYS_LOOP(1440); break;
    case 86400: DAYS_LOOP(86400); break;
    case 86400000: DAYS_LOOP(86400000); break;
    case 86400000000: DAYS_LOOP(86400000000); break;
    case 86400000000000: DAYS_LOOP(86400000000000); break;
    default: DAYS_LOOP(div); break;
    }
}

/* Raw time values whose day lies in [day_lo, day_hi] (NaT = INT64_MIN is below). */
static void time_bounds(int64_t div, int64_t mult, int64_t day_lo, int64_t day_hi, int64_t *t_lo,
                        int64_t *t_hi)
{
    if (mult == 7) {
        *t_lo = floordiv64(day_lo + 6, 7);
        *t_hi = floordiv64(day_hi, 7);
    } else {
        *t_lo = day_lo < INT64_MIN / div + 1 ? INT64_MIN + 1 : day_lo * div;
        *t_hi = day_hi > (INT64_MAX - (div - 1)) / div ? INT64_MAX : day_hi * div + (div - 1);
    }
    if (*t_lo == INT64_MIN) *t_lo = INT64_MIN + 1;
}

int sy_days_from_times(const int64_t *t, int64_t n, int64_t div, int64_t mult, int64_t day_lo,
                       int64_t day_hi, int64_t *out, int64_t *n_nat, int64_t *n_out_of_range)
{
    int64_t t_lo, t_hi, nat = 0, oor = 0;
    *n_nat = *n_out_of_range = 0;
    if (n < 0 || div < 1 || (mult != 1 && mult != 7) || (mult == 7 && div != 1)) return SY_EINVAL;
    time_bounds(div, mult, day_lo, day_hi, &t_lo, &t_hi);
    for (int64_t b = 0; b < n; b += BUILD_POLL) {
        if (sy_interrupted()) return SY_EINTR;
        int64_t e = b + BUILD_POLL < n ? b + BUILD_POLL : n;
        for (int64_t i = b; i < e; i++) {
            nat += t[i] == INT64_MIN;
            oor += (t[i] < t_lo) | (t[i] > t_hi);
        }
        if (nat || oor) continue;
        times_to_days(t + b, out + b, e - b, div, mult);
    }
    *n_nat = nat;
    *n_out_of_range = oor - nat;
    return SY_OK;
}

static void *check_worker(void *arg)
{
    check_job *j = (check_job *)arg;
    int64_t mn = INT64_MAX, mx = INT64_MIN, nat = 0, oor = 0, nonfinite = 0;
    int64_t tmin = INT64_MAX, tmax = INT64_MIN;
    double abs_sum = 0.0;
    for (int64_t b = j->lo; b < j->hi; b += BUILD_POLL) {
        if (sy_interrupted()) {
            j->st = SY_EINTR;
            return NULL;
        }
        int64_t e = b + BUILD_POLL < j->hi ? b + BUILD_POLL : j->hi;
        for (int64_t i = b; i < e; i++) {
            int64_t v = j->ids[i];
            mn = v < mn ? v : mn;
            mx = v > mx ? v : mx;
        }
        int64_t prev = b > 0 ? j->t[b - 1] : INT64_MIN;
        int unordered = 0;
        for (int64_t i = b; i < e; i++) {
            int64_t t = j->t[i];
            nat += t == INT64_MIN;
            oor += (t < j->t_lo) | (t > j->t_hi);
            tmin = t < tmin ? t : tmin;
            tmax = t > tmax ? t : tmax;
            unordered |= t < prev;
            prev = t;
        }
        j->unordered |= unordered;
        if (j->amount) {
            int64_t neg = 0, zero = 0;
            for (int64_t i = b; i < e; i++) {
                double a = j->amount[i];
                double x = a < 0 ? -a : a;
                nonfinite += !(x <= 1.79769313486231570815e308);   /* NaN or inf */
                abs_sum += x;
                neg += a < 0;
                zero += a == 0;
            }
            j->negative += neg;
            j->zero += zero;
        }
    }
    j->mn = mn;
    j->mx = mx;
    j->nat = nat;
    j->out_of_range = oor - nat;   /* NaT is below t_lo too */
    j->tmin = tmin;
    j->tmax = tmax;
    j->nonfinite = nonfinite;
    j->abs_sum = abs_sum;
    return NULL;
}

/* ---- dynamic jobs ------------------------------------------------------------
   The row passes cut the log into blocks (more than threads) that the threads pull
   from a counter: a descheduled thread does not hold the others up.  Each block has its
   own partial results, combined in block order, so results never depend on scheduling
   or the thread count. */
typedef struct {
    void *(*fn)(void *);
    char *jobs;
    size_t job_size;
    int64_t njobs;
    _Atomic int64_t next;
} dyn_jobs;

static void *dyn_worker(void *arg)
{
    dyn_jobs *d = *(dyn_jobs **)arg;
    for (;;) {
        int64_t j = atomic_fetch_add_explicit(&d->next, 1, memory_order_relaxed);
        if (j >= d->njobs) return NULL;
        d->fn(d->jobs + (size_t)j * d->job_size);
    }
}

static void run_dynamic(void *(*fn)(void *), void *jobs, size_t job_size, int64_t njobs, int T)
{
    dyn_jobs d = {fn, (char *)jobs, job_size, njobs, 0};
    dyn_jobs *ptrs[SY_MAX_THREADS];
    if (T > njobs) T = njobs > 0 ? (int)njobs : 1;
    for (int t = 0; t < T; t++) ptrs[t] = &d;
    sy_run_jobs(dyn_worker, ptrs, sizeof(dyn_jobs *), T);
}

/* ---- pre-faulting the outputs ---------------------------------------------
   The scatter pass writes all over the outputs from its first rows on, so fresh
   (never touched) output memory would be faulted in -- zeroed by the kernel, slow on
   a VM -- inside one polling interval.  Touching it first, page by page with polls in
   between, costs nothing extra and keeps Ctrl-C responsive. */
typedef struct {
    char *p[4];
    int64_t bytes[4];
    int t, T, st;
} fault_job;

static void *fault_worker(void *arg)
{
    fault_job *j = (fault_job *)arg;
    for (int a = 0; a < 4; a++) {
        if (!j->p[a]) continue;
        int64_t lo = j->bytes[a] * j->t / j->T, hi = j->bytes[a] * (j->t + 1) / j->T;
        for (int64_t off = lo; off < hi; off += 4096) {
            if (((off - lo) & (((int64_t)1 << 24) - 1)) < 4096 && sy_interrupted()) {
                j->st = SY_EINTR;
                return NULL;
            }
            j->p[a][off] = 0;
        }
    }
    return NULL;
}

#define FAULT_JOBS 64
static int prefault(int T, int64_t n, int64_t *a, int64_t *b, double *c, int64_t *d,
                    int64_t a_bytes)
{
    fault_job jobs[FAULT_JOBS];
    int nj = T > 1 ? FAULT_JOBS : 1;
    for (int t = 0; t < nj; t++) {
        fault_job f = {{(char *)a, (char *)b, (char *)c, (char *)d},
                       {a_bytes, 8 * n, c ? 8 * n : 0, d ? 8 * n : 0}, t, nj, SY_OK};
        jobs[t] = f;
    }
    run_dynamic(fault_worker, jobs, sizeof(fault_job), nj, T);
    for (int t = 0; t < nj; t++)
        if (jobs[t].st != SY_OK) return jobs[t].st;
    return SY_OK;
}

/* ---- pass B/C: partition histogram and scatter ---------------------------- */
typedef struct {
    const int64_t *ids, *t;
    const double *amount;
    int64_t lo, hi, P;
    uint64_t min;
    int shift;
    int64_t *hist;          /* P counts, then P write cursors */
    uint32_t *key_out;      /* partition buffer of keys (temporary) */
    int64_t *t_out, *row_out;   /* the outputs' memory, used as partition buffer */
    double *amount_out;
    int st;
} part_job;

static void *hist_worker(void *arg)
{
    part_job *j = (part_job *)arg;
    int64_t *h = j->hist;
    const int shift = j->shift;
    const uint64_t mn = j->min;
    for (int64_t b = j->lo; b < j->hi; b += BUILD_POLL) {
        if (sy_interrupted()) {
            j->st = SY_EINTR;
            return NULL;
        }
        int64_t e = b + BUILD_POLL < j->hi ? b + BUILD_POLL : j->hi;
        for (int64_t i = b; i < e; i++) h[((uint64_t)j->ids[i] - mn) >> shift]++;
    }
    return NULL;
}

static void *scatter_worker(void *arg)
{
    part_job *j = (part_job *)arg;
    int64_t *cur = j->hist;
    const int shift = j->shift;
    const uint64_t mn = j->min, mask = shift >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << shift) - 1);
    uint32_t *ko = j->key_out;
    int64_t *to = j->t_out, *ro = j->row_out;
    double *ao = j->amount_out;
    const int64_t *ids = j->ids, *t = j->t;
    const double *amount = j->amount;
    for (int64_t b = j->lo; b < j->hi; b += BUILD_POLL) {
        if (sy_interrupted()) {
            j->st = SY_EINTR;
            return NULL;
        }
        int64_t e = b + BUILD_POLL < j->hi ? b + BUILD_POLL : j->hi;
        for (int64_t i = b; i < e; i++) {
            uint64_t off = (uint64_t)ids[i] - mn;
            int64_t q = cur[off >> shift]++;
            ko[q] = (uint32_t)(off & mask);
            to[q] = t[i];
            ao[q] = amount ? amount[i] : 0.0;
            if (ro) ro[q] = i;
        }
    }
    return NULL;
}

/* ---- phase 1: one partition ------------------------------------------------ */
typedef struct {
    int64_t cap_rows, cap_span;
    int64_t *t, *row;     /* the partition's rows, copied out of the outputs */
    int64_t *dayin;       /* their days */
    double *amount;
    uint32_t *lc;         /* local code per row (first-seen, then rank) */
    int32_t *table;       /* dense: rank per key; hash: slot values */
    int64_t *cnt;
    int64_t *traw;        /* raw times in grouped order */
    int64_t *traw_cur;    /* where they are for the current partition (not owned) */
    int64_t *sort_a, *sort_b;   /* merge sort scratch (pairs), grown on demand */
    int64_t sort_cap;
    uint32_t *ukeys;      /* distinct keys (first-seen order) */
    uint64_t *slots;      /* hash table of the sparse-key partitions */
    int64_t cap_slots;
    int64_t *uorder;      /* sort scratch for distinct keys */
} build_scratch;

static void scratch_free(build_scratch *s)
{
    free(s->t);
    free(s->row);
    free(s->dayin);
    free(s->amount);
    free(s->lc);
    free(s->table);
    free(s->cnt);
    free(s->traw);
    free(s->sort_a);
    free(s->sort_b);
    free(s->ukeys);
    free(s->uorder);
    free(s->slots);
    memset(s, 0, sizeof(*s));
}

static int scratch_reserve(build_scratch *s, int64_t rows, int64_t span)
{
    if (rows > s->cap_rows) {
        int64_t r = rows;
        free(s->t);
        free(s->row);
        free(s->dayin);
        free(s->amount);
        free(s->lc);
        free(s->cnt);
        free(s->traw);
        free(s->ukeys);
        free(s->uorder);
        s->t = (int64_t *)malloc(sizeof(int64_t) * (size_t)r);
        s->row = (int64_t *)malloc(sizeof(int64_t) * (size_t)r);
        s->dayin = (int64_t *)malloc(sizeof(int64_t) * (size_t)r);
        s->amount = (double *)malloc(sizeof(double) * (size_t)r);
        s->lc = (uint32_t *)malloc(sizeof(uint32_t) * (size_t)r);
        s->cnt = (int64_t *)malloc(sizeof(int64_t) * (size_t)(r + 1));
        s->traw = (int64_t *)malloc(sizeof(int64_t) * (size_t)r);
        s->ukeys = (uint32_t *)malloc(sizeof(uint32_t) * (size_t)r);
        s->uorder = (int64_t *)malloc(sizeof(int64_t) * 2 * (size_t)r);
        if (!s->t || !s->row || !s->dayin || !s->amount || !s->lc || !s->cnt || !s->traw || !s->ukeys || !s->uorder) {
            s->cap_rows = 0;
            return SY_ENOMEM;
        }
        s->cap_rows = r;
    }
    /* the table serves both as a dense rank table (span entries) and as the hash
       table's values (4 * rows entries) */
    int64_t need = span > 4 * rows + 16 ? span : 4 * rows + 16;
    if (need > s->cap_span) {
        free(s->table);
        s->table = (int32_t *)malloc(sizeof(int32_t) * (size_t)need);
        if (!s->table) {
            s->cap_span = 0;
            return SY_ENOMEM;
        }
        s->cap_span = need;
    }
    return SY_OK;
}

/* sort distinct keys: (key, first-seen index) pairs packed in uint64, radix on key */
static void sort_u64(uint64_t *a, uint64_t *tmp, int64_t n)
{
    if (n <= 48) {
        for (int64_t i = 1; i < n; i++) {
            uint64_t v = a[i];
            int64_t j = i - 1;
            while (j >= 0 && a[j] > v) {
                a[j + 1] = a[j];
                j--;
            }
            a[j + 1] = v;
        }
        return;
    }
    /* LSD radix over the upper 32 bits (the key), 4 passes of 8 bits */
    uint64_t *src = a, *dst = tmp;
    for (int pass = 0; pass < 4; pass++) {
        int sh = 32 + 8 * pass;
        int64_t c[257] = {0};
        for (int64_t i = 0; i < n; i++) c[((src[i] >> sh) & 255) + 1]++;
        if (c[((src[0] >> sh) & 255) + 1] == n) continue;   /* all in one bucket */
        for (int b = 0; b < 256; b++) c[b + 1] += c[b];
        for (int64_t i = 0; i < n; i++) dst[c[(src[i] >> sh) & 255]++] = src[i];
        uint64_t *x = src;
        src = dst;
        dst = x;
    }
    if (src != a) memcpy(a, src, sizeof(uint64_t) * (size_t)n);
}

typedef struct {
    int64_t day, idx;
} day_pos;

/* stable merge sort of (day, idx) pairs by day */
static void merge_sort_days(day_pos *a, day_pos *tmp, int64_t n)
{
    /* insertion sort runs of 32, then bottom-up merges */
    const int64_t RUN = 32;
    for (int64_t lo = 0; lo < n; lo += RUN) {
        int64_t hi = lo + RUN < n ? lo + RUN : n;
        for (int64_t i = lo + 1; i < hi; i++) {
            day_pos v = a[i];
            int64_t j = i - 1;
            while (j >= lo && a[j].day > v.day) {
                a[j + 1] = a[j];
                j--;
            }
            a[j + 1] = v;
        }
    }
    day_pos *src = a, *dst = tmp;
    for (int64_t w = RUN; w < n; w *= 2) {
        for (int64_t lo = 0; lo < n; lo += 2 * w) {
            int64_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            int64_t i = lo, j = mid, o = lo;
            while (i < mid && j < hi) dst[o++] = src[j].day < src[i].day ? src[j++] : src[i++];
            while (i < mid) dst[o++] = src[i++];
            while (j < hi) dst[o++] = src[j++];
        }
        day_pos *x = src;
        src = dst;
        dst = x;
    }
    if (src != a) memcpy(a, src, sizeof(day_pos) * (size_t)n);
}

typedef struct {
    sy_build *b;
    uint32_t *keys;
    int64_t *day_out, *perm_out;
    double *amount_out;
    _Atomic int64_t *next;
    build_scratch s;
    int64_t dups;
    int st;
} phase1_job;

/* Stable sort of one customer's rows [lo, lo + len) by day, carrying amount, perm and
   raw time; long unsorted segments use a merge sort. */
static int sort_segment(phase1_job *j, int64_t lo, int64_t len, int64_t rel)
{
    int64_t *d = j->day_out + lo, *p = j->perm_out ? j->perm_out + lo : NULL;
    double *a = j->amount_out + lo;
    int64_t *tr = j->s.traw_cur + rel;
    if (len <= 32) {
        for (int64_t x = 1; x < len; x++) {
            int64_t vd = d[x];
            if (d[x - 1] <= vd) continue;
            double va = a[x];
            int64_t vt = tr[x], vp = p ? p[x] : 0, y = x - 1;
            while (y >= 0 && d[y] > vd) {
                d[y + 1] = d[y];
                a[y + 1] = a[y];
                tr[y + 1] = tr[y];
                if (p) p[y + 1] = p[y];
                y--;
            }
            d[y + 1] = vd;
            a[y + 1] = va;
            tr[y + 1] = vt;
            if (p) p[y + 1] = vp;
        }
        return SY_OK;
    }
    int sorted = 1;
    for (int64_t x = 1; x < len && sorted; x++) sorted = d[x - 1] <= d[x];
    if (sorted) return SY_OK;
    /* scratch: 2 x len pairs, plus len values for each permuted column */
    if (len > j->s.sort_cap) {
        free(j->s.sort_a);
        free(j->s.sort_b);
        j->s.sort_a = (int64_t *)malloc(sizeof(day_pos) * (size_t)len);
        j->s.sort_b = (int64_t *)malloc(sizeof(day_pos) * (size_t)len);
        if (!j->s.sort_a || !j->s.sort_b) {
            j->s.sort_cap = 0;
            return SY_ENOMEM;
        }
        j->s.sort_cap = len;
    }
    day_pos *pa = (day_pos *)j->s.sort_a, *pb = (day_pos *)j->s.sort_b;
    for (int64_t x = 0; x < len; x++) {
        pa[x].day = d[x];
        pa[x].idx = x;
    }
    merge_sort_days(pa, pb, len);
    /* apply the permutation column by column through pb's memory (2 x len int64) */
    int64_t *tmp = (int64_t *)pb;
    for (int64_t x = 0; x < len; x++) d[x] = pa[x].day;
    for (int64_t x = 0; x < len; x++) tmp[x] = tr[pa[x].idx];
    memcpy(tr, tmp, sizeof(int64_t) * (size_t)len);
    double *tmpd = (double *)tmp;
    for (int64_t x = 0; x < len; x++) tmpd[x] = a[pa[x].idx];
    memcpy(a, tmpd, sizeof(double) * (size_t)len);
    if (p) {
        for (int64_t x = 0; x < len; x++) tmp[x] = p[pa[x].idx];
        memcpy(p, tmp, sizeof(int64_t) * (size_t)len);
    }
    return SY_OK;
}

static int cmp_pair_u64(const void *x, const void *y)
{
    const uint64_t *a = (const uint64_t *)x, *b = (const uint64_t *)y;
    if (a[0] != b[0]) return a[0] < b[0] ? -1 : 1;
    return (a[1] > b[1]) - (a[1] < b[1]);
}

/* Rows equal to an earlier row of the same customer and day in (raw time, amount). */
static int64_t count_run_dups(const int64_t *tr, const double *a, int64_t len, int64_t *scratch)
{
    int64_t dups = 0;
    if (len <= 16) {
        for (int64_t x = 1; x < len; x++)
            for (int64_t y = 0; y < x; y++)
                if (tr[y] == tr[x] && a[y] == a[x]) {
                    dups++;
                    break;
                }
        return dups;
    }
    uint64_t *pr = (uint64_t *)scratch;
    for (int64_t x = 0; x < len; x++) {
        double v = a[x] == 0.0 ? 0.0 : a[x];   /* -0.0 equals 0.0 */
        uint64_t bits;
        memcpy(&bits, &v, sizeof bits);
        pr[2 * x] = (uint64_t)tr[x];
        pr[2 * x + 1] = bits;
    }
    qsort(pr, (size_t)len, 2 * sizeof(uint64_t), cmp_pair_u64);
    for (int64_t x = 1; x < len; x++)
        dups += pr[2 * x] == pr[2 * x - 2] && pr[2 * x + 1] == pr[2 * x - 1];
    return dups;
}

static int build_partition(phase1_job *j, int64_t p)
{
    sy_build *b = j->b;
    const int64_t s0 = b->part_start[p], r = b->part_start[p + 1] - s0;
    build_part *part = &b->parts[p];
    if (r == 0) return SY_OK;
    /* span of keys in this partition */
    uint64_t full = b->shift >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << b->shift) - 1);
    uint64_t base = (uint64_t)p << b->shift;
    uint64_t rest = b->range - base;
    uint64_t spanm1 = rest < full ? rest : full;
    int dense = spanm1 < (uint64_t)(2 * r + 4096);
    int64_t span = dense ? (int64_t)spanm1 + 1 : 0;
    /* the log's day range decides whether a counting sort by day fits the scratch */
    uint64_t drange = (uint64_t)(b->day_max - b->day_min) + 1;
    int lsd = drange < (uint64_t)(4 * r + 16);
    int64_t need = span > (lsd ? (int64_t)drange + 1 : 0) ? span : (lsd ? (int64_t)drange + 1 : 0);
    int st = scratch_reserve(&j->s, r, need);
    if (st != SY_OK) return st;
    build_scratch *s = &j->s;
    const uint32_t *K = j->keys + s0;
    int64_t *dout = j->day_out + s0;
    int64_t *pout = j->perm_out ? j->perm_out + s0 : NULL;
    double *aout = j->amount_out + s0;
    /* this partition's rows (input order) are in its slice of day_out (raw times),
       amount_out and perm_out (input rows): they are read from there and the grouped
       rows written back */
    int64_t d = 0;
    uint32_t *lc = s->lc;
    if (dense) {
        int32_t *rank = s->table;
        memset(rank, 0, sizeof(int32_t) * (size_t)span);
        for (int64_t i = 0; i < r; i++) rank[K[i]] = 1;
        for (int64_t v = 0; v < span; v++) {   /* branch-free ranking */
            int32_t present = rank[v];
            s->ukeys[d] = (uint32_t)v;
            rank[v] = (int32_t)d;
            d += present;
        }
    } else {
        int64_t cap = 16;
        while (cap < 2 * r) cap *= 2;
        if (cap > s->cap_slots) {
            free(s->slots);
            s->slots = (uint64_t *)malloc(sizeof(uint64_t) * (size_t)cap);
            s->cap_slots = s->slots ? cap : 0;
            if (!s->slots) return SY_ENOMEM;
        }
        /* one 8-byte slot per entry: key << 32 | (first-seen index + 1), 0 = empty */
        uint64_t *slot = s->slots;
        const uint32_t mask = (uint32_t)(cap - 1);
        memset(slot, 0, sizeof(uint64_t) * (size_t)cap);
        for (int64_t i = 0; i < r; i++) {
            uint32_t key = K[i], h = (uint32_t)mix64(key) & mask;
            uint64_t v;
            while ((v = slot[h]) != 0 && (uint32_t)(v >> 32) != key) h = (h + 1) & mask;
            if (v == 0) {
                v = ((uint64_t)key << 32) | (uint64_t)(d + 1);
                slot[h] = v;
                s->ukeys[d++] = key;
            }
            lc[i] = (uint32_t)(v & 0xffffffffu) - 1;
        }
        int32_t *val = s->table;
        /* rank the distinct keys: sort (key << 32 | first-seen) */
        uint64_t *pk = (uint64_t *)s->uorder, *tmp = (uint64_t *)s->traw;
        for (int64_t c = 0; c < d; c++) pk[c] = ((uint64_t)s->ukeys[c] << 32) | (uint64_t)c;
        sort_u64(pk, tmp, d);
        /* first-seen -> rank (the table holds >= 4r entries >= d) */
        int32_t *rank_of = val;
        for (int64_t c = 0; c < d; c++) {
            rank_of[pk[c] & 0xffffffffu] = (int32_t)c;
            s->ukeys[c] = (uint32_t)(pk[c] >> 32);
        }
        for (int64_t i = 0; i < r; i++) lc[i] = (uint32_t)rank_of[lc[i]];
    }
    /* rows per customer -> each customer's first row */
    int64_t *cnt = s->cnt;
    memset(cnt, 0, sizeof(int64_t) * (size_t)(d + 1));
    if (dense) {
        const int32_t *rank = s->table;
        for (int64_t i = 0; i < r; i++) {
            uint32_t l = (uint32_t)rank[K[i]];
            lc[i] = l;
            cnt[l + 1]++;
        }
    } else {
        for (int64_t i = 0; i < r; i++) cnt[lc[i] + 1]++;
    }
    for (int64_t c = 0; c < d; c++) cnt[c + 1] += cnt[c];
    part->d = d;
    part->keys = (uint32_t *)malloc(sizeof(uint32_t) * (size_t)(d > 0 ? d : 1));
    part->start = (int64_t *)malloc(sizeof(int64_t) * (size_t)(d + 1));
    if (!part->keys || !part->start) return SY_ENOMEM;
    memcpy(part->keys, s->ukeys, sizeof(uint32_t) * (size_t)d);
    memcpy(part->start, cnt, sizeof(int64_t) * (size_t)(d + 1));
    int64_t *tr = s->traw, *dy = s->dayin;
    if (lsd && !b->time_ordered) {
        /* pass 1, stable by day: outputs -> scratch; pass 2, stable by customer:
           scratch -> outputs.  Rows end up ordered by (customer, day, input row). */
        const int64_t dmin = b->day_min, R = (int64_t)drange;
        int32_t *h = s->table;           /* the rank table is no longer needed */
        memset(h, 0, sizeof(int32_t) * (size_t)(R + 1));
        times_to_days_hist(dout, dy, r, b->div, b->mult, h, dmin);
        for (int64_t x = 0; x < R; x++) h[x + 1] += h[x];
        int64_t *st_ = s->t, *sd = tr, *sr = s->row;
        double *sa = s->amount;
        uint32_t *slc = (uint32_t *)s->uorder;
        for (int64_t i = 0; i < r; i++) {
            int64_t q = h[dy[i] - dmin]++;
            st_[q] = dout[i];
            sa[q] = aout[i];
            sd[q] = dy[i];
            slc[q] = lc[i];
            if (pout) sr[q] = pout[i];
        }
        for (int64_t x = 0; x < r; x++) {
            int64_t q = cnt[slc[x]]++, dd = sd[x];
            dout[q] = dd;
            aout[q] = sa[x];
            dy[q] = st_[x];              /* dy now holds the raw times, grouped */
            if (pout) pout[q] = sr[x];
        }
        tr = dy;
    } else {
        /* one stable pass by customer; when the input rows arrive in time order each
           customer's rows then come sorted by day already */
        int64_t *sr = s->row, *st_ = s->t;
        double *sa = s->amount;
        times_to_days(dout, dy, r, b->div, b->mult);
        memcpy(st_, dout, sizeof(int64_t) * (size_t)r);
        memcpy(sa, aout, sizeof(double) * (size_t)r);
        if (pout) memcpy(sr, pout, sizeof(int64_t) * (size_t)r);
        for (int64_t i = 0; i < r; i++) {
            int64_t q = cnt[lc[i]]++;
            dout[q] = dy[i];
            aout[q] = sa[i];
            tr[q] = st_[i];
            if (pout) pout[q] = sr[i];
        }
        lsd = b->time_ordered;            /* sorted: no per-customer sort below */
    }
    /* per customer: sort by day (unless done), count exact duplicates within a day */
    for (int64_t c = 0; c < d; c++) {
        int64_t lo = part->start[c], len = part->start[c + 1] - lo;
        if (len < 2) continue;
        if (!lsd) {
            j->s.traw_cur = tr;
            if ((st = sort_segment(j, s0 + lo, len, lo)) != SY_OK) return st;
        }
        for (int64_t x = lo; x < lo + len;) {
            int64_t y = x + 1;
            while (y < lo + len && dout[y] == dout[x]) y++;
            if (y - x > 1) {
                if (y - x > 16 && y - x > j->s.sort_cap) {
                    free(j->s.sort_a);
                    free(j->s.sort_b);
                    j->s.sort_a = (int64_t *)malloc(sizeof(day_pos) * (size_t)(y - x));
                    j->s.sort_b = (int64_t *)malloc(sizeof(day_pos) * (size_t)(y - x));
                    j->s.sort_cap = (j->s.sort_a && j->s.sort_b) ? y - x : 0;
                    if (!j->s.sort_cap) return SY_ENOMEM;
                }
                j->dups += count_run_dups(tr + x, aout + x, y - x, j->s.sort_a);
            }
            x = y;
        }
    }
    return SY_OK;
}

static void *phase1_worker(void *arg)
{
    phase1_job *j = (phase1_job *)arg;
    for (;;) {
        int64_t p = atomic_fetch_add_explicit(j->next, 1, memory_order_relaxed);
        if (p >= j->b->P) break;
        if (sy_interrupted()) {
            j->st = SY_EINTR;
            break;
        }
        int st = build_partition(j, p);
        if (st != SY_OK) {
            j->st = st;
            break;
        }
    }
    scratch_free(&j->s);
    return NULL;
}

void sy_build_free(sy_build *b)
{
    if (!b) return;
    if (b->parts) {
        for (int64_t p = 0; p < b->P; p++) {
            free(b->parts[p].keys);
            free(b->parts[p].start);
        }
    }
    free(b->parts);
    free(b->part_start);
    free(b->fact_uniq);
    free(b);
}

int sy_build_begin(const int64_t *ids, const int64_t *t, int64_t div, int64_t mult,
                   const double *amount, int64_t n, int64_t day_lo, int64_t day_hi,
                   int64_t *day_out, double *amount_out, int64_t *perm_out,
                   sy_build_check *check, sy_build **out)
{
    int st = SY_OK;
    int64_t *codes = NULL;
    int64_t *hist = NULL;
    uint32_t *keys = NULL;
    sy_build *b = NULL;
    *out = NULL;
    memset(check, 0, sizeof(*check));
    if (n < 0 || div < 1 || (mult != 1 && mult != 7) || (mult == 7 && div != 1)) return SY_EINVAL;
    if ((uint64_t)n > (uint64_t)UINT32_MAX) return SY_ENOMEM;   /* row index in 32 bits */
    if (!(b = (sy_build *)calloc(1, sizeof(sy_build)))) return SY_ENOMEM;
    b->n = n;
    b->div = div;
    b->mult = mult;
    b->time_ordered = 1;
    int T = sy_pass_threads(n);
    /* row blocks of the passes A-C: dynamic (see run_dynamic) when threaded */
    int64_t B = T > 1 ? n / BUILD_BLOCK_ROWS : 1;
    if (B < T) B = T;
    if (B > BUILD_MAX_BLOCKS) B = BUILD_MAX_BLOCKS;
    int64_t t_lo, t_hi;
    time_bounds(div, mult, day_lo, day_hi, &t_lo, &t_hi);
    check_job *cj = NULL;
    part_job *pj = NULL;

    /* pass A */
    {
        cj = (check_job *)malloc(sizeof(check_job) * (size_t)B);
        if (!cj) { st = SY_ENOMEM; goto fail; }
        for (int64_t x = 0; x < B; x++) {
            check_job c = {ids, t, amount, n * x / B, n * (x + 1) / B, t_lo, t_hi,
                           0, 0, 0, 0, 0, 0, 0, 0, 0, 0.0, 0, SY_OK};
            cj[x] = c;
        }
        run_dynamic(check_worker, cj, sizeof(check_job), B, T);
        int64_t mn = INT64_MAX, mx = INT64_MIN, tmin = INT64_MAX, tmax = INT64_MIN;
        double abs_sum = 0.0;
        for (int64_t x = 0; x < B; x++) {
            if (cj[x].st != SY_OK) st = cj[x].st;
            tmin = cj[x].tmin < tmin ? cj[x].tmin : tmin;
            tmax = cj[x].tmax > tmax ? cj[x].tmax : tmax;
            mn = cj[x].mn < mn ? cj[x].mn : mn;
            mx = cj[x].mx > mx ? cj[x].mx : mx;
            check->nat += cj[x].nat;
            check->out_of_range += cj[x].out_of_range;
            check->nonfinite += cj[x].nonfinite;
            check->negative += cj[x].negative;
            check->zero += cj[x].zero;
            b->time_ordered &= !cj[x].unordered;
            abs_sum += cj[x].abs_sum;
        }
        free(cj);
        cj = NULL;
        if (st != SY_OK) goto fail;
        check->sum_overflow = !(abs_sum <= 1.79769313486231570815e308) && !check->nonfinite;
        if (check->nat || check->out_of_range || check->nonfinite || check->sum_overflow) {
            sy_build_free(b);
            return SY_OK;   /* nothing built: the caller reports the bad rows */
        }
        if (n == 0) {
            mn = mx = 0;
        } else {
            times_to_days(&tmin, &check->day_min, 1, div, mult);
            times_to_days(&tmax, &check->day_max, 1, div, mult);
        }
        uint64_t range = (uint64_t)mx - (uint64_t)mn;
        int bits = range ? 64 - __builtin_clzll(range) : 0;
        int pbits = 0;
        while (pbits < BUILD_MAX_PBITS && ((int64_t)BUILD_PART_ROWS << pbits) < n) pbits++;
        /* keys must fit 32 bits: wide id ranges get more (smaller) partitions */
        if (bits - pbits > 32 && bits - 32 <= BUILD_MAX_PBITS) pbits = bits - 32;
        int shift = bits > pbits ? bits - pbits : 0;
        if (shift > 32) {
            /* ids too spread for 32-bit keys: factorise them first (hash table), then
               build on the dense codes */
            int64_t k = 0;
            codes = (int64_t *)malloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
            b->fact_uniq = (int64_t *)malloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
            if (!codes || !b->fact_uniq) { st = SY_ENOMEM; goto fail; }
            if ((st = sy_factorize_int64(ids, n, codes, b->fact_uniq, &k)) != SY_OK) goto fail;
            ids = codes;
            mn = 0;
            range = k > 0 ? (uint64_t)(k - 1) : 0;
            bits = range ? 64 - __builtin_clzll(range) : 0;
            shift = bits > pbits ? bits - pbits : 0;
        }
        b->min = (uint64_t)mn;
        b->shift = shift;
        b->range = range;
        b->day_min = check->day_min;
        b->day_max = check->day_max;
        b->P = n == 0 ? 0 : (int64_t)(range >> shift) + 1;
    }
    /* pass B: per-block histograms */
    {
        const int64_t P = b->P;
        int64_t cells;
        /* at most ~8M histogram cells: fewer (larger) blocks for very many partitions */
        if (B > 1 && B * (P > 0 ? P : 1) > ((int64_t)1 << 23)) {
            B = ((int64_t)1 << 23) / (P > 0 ? P : 1);
            if (B < T) B = T;
        }
        if (!sy_mul_ok(P > 0 ? P : 1, B, &cells)) { st = SY_ENOMEM; goto fail; }
        hist = (int64_t *)calloc((size_t)cells, sizeof(int64_t));
        b->part_start = (int64_t *)calloc((size_t)(P + 1), sizeof(int64_t));
        b->parts = (build_part *)calloc((size_t)(P > 0 ? P : 1), sizeof(build_part));
        keys = (uint32_t *)malloc(sizeof(uint32_t) * (size_t)(n > 0 ? n : 1));
        if (!hist || !b->part_start || !b->parts || !keys) { st = SY_ENOMEM; goto fail; }
        pj = (part_job *)malloc(sizeof(part_job) * (size_t)B);
        if (!pj) { st = SY_ENOMEM; goto fail; }
        for (int64_t x = 0; x < B; x++) {
            part_job q = {ids, t, amount, n * x / B, n * (x + 1) / B, P, b->min, b->shift,
                          hist + x * P, keys, day_out, perm_out, amount_out, SY_OK};
            pj[x] = q;
        }
        run_dynamic(hist_worker, pj, sizeof(part_job), B, T);
        for (int64_t x = 0; x < B; x++)
            if (pj[x].st != SY_OK) { st = pj[x].st; goto fail; }
        /* cursors: partition start + rows of earlier blocks (stable) */
        int64_t run = 0;
        for (int64_t p = 0; p < P; p++) {
            b->part_start[p] = run;
            for (int64_t x = 0; x < B; x++) {
                int64_t c = hist[(int64_t)x * P + p];
                hist[(int64_t)x * P + p] = run;
                run += c;
            }
        }
        b->part_start[P] = run;
        if ((st = prefault(T, n, (int64_t *)keys, day_out, amount_out, perm_out, 4 * n)) != SY_OK)
            goto fail;
        /* pass C */
        run_dynamic(scatter_worker, pj, sizeof(part_job), B, T);
        for (int64_t x = 0; x < B; x++)
            if (pj[x].st != SY_OK) { st = pj[x].st; goto fail; }
        free(pj);
        pj = NULL;
        free(hist);
        hist = NULL;
        free(codes);
        codes = NULL;
    }
    /* phase 1 */
    {
        _Atomic int64_t next = 0;
        phase1_job jobs[SY_MAX_THREADS];
        int T1 = T;
        if (T1 > b->P) T1 = b->P > 0 ? (int)b->P : 1;
        for (int x = 0; x < T1; x++) {
            memset(&jobs[x], 0, sizeof(phase1_job));
            jobs[x].b = b;
            jobs[x].keys = keys;
            jobs[x].day_out = day_out;
            jobs[x].perm_out = perm_out;
            jobs[x].amount_out = amount_out;
            jobs[x].next = &next;
        }
        sy_run_jobs(phase1_worker, jobs, sizeof(phase1_job), T1);
        for (int x = 0; x < T1; x++) {
            if (jobs[x].st != SY_OK) st = jobs[x].st;
            b->dups += jobs[x].dups;
        }
        if (st != SY_OK) goto fail;
        free(keys);
        keys = NULL;
    }
    {
        int64_t k = 0;
        for (int64_t p = 0; p < b->P; p++) k += b->parts[p].d;
        b->k = k;
    }
    check->dups = b->dups;
    *out = b;
    return SY_OK;
fail:
    free(cj);
    free(pj);
    free(codes);
    free(hist);
    free(keys);
    sy_build_free(b);
    return st;
}

int64_t sy_build_k(const sy_build *b)
{
    return b ? b->k : 0;
}

typedef struct {
    const sy_build *b;
    const int64_t *code_base;
    int64_t *offsets, *uniques;
    _Atomic int64_t *next;
    int st;
} phase2_job;

static void *phase2_worker(void *arg)
{
    phase2_job *j = (phase2_job *)arg;
    const sy_build *b = j->b;
    for (;;) {
        int64_t p = atomic_fetch_add_explicit(j->next, 1, memory_order_relaxed);
        if (p >= b->P) break;
        if ((p & 63) == 0 && sy_interrupted()) {
            j->st = SY_EINTR;
            break;
        }
        const build_part *part = &b->parts[p];
        int64_t cb = j->code_base[p], s0 = b->part_start[p];
        uint64_t base = b->min + ((uint64_t)p << b->shift);
        for (int64_t c = 0; c < part->d; c++) {
            j->offsets[cb + c] = s0 + part->start[c];
            int64_t id = (int64_t)(base + part->keys[c]);
            j->uniques[cb + c] = b->fact_uniq ? b->fact_uniq[id] : id;
        }
    }
    return NULL;
}

int sy_build_finish(const sy_build *b, int64_t *offsets_out, int64_t *uniques_out)
{
    int64_t *base = (int64_t *)malloc(sizeof(int64_t) * (size_t)(b->P > 0 ? b->P : 1));
    if (!base) return SY_ENOMEM;
    int64_t run = 0;
    for (int64_t p = 0; p < b->P; p++) {
        base[p] = run;
        run += b->parts[p].d;
    }
    offsets_out[b->k] = b->n;
    _Atomic int64_t next = 0;
    int T = sy_pass_threads(b->n);
    if (T > b->P) T = b->P > 0 ? (int)b->P : 1;
    phase2_job jobs[SY_MAX_THREADS];
    for (int x = 0; x < T; x++) {
        phase2_job q = {b, base, offsets_out, uniques_out, &next, SY_OK};
        jobs[x] = q;
    }
    sy_run_jobs(phase2_worker, jobs, sizeof(phase2_job), T);
    int st = SY_OK;
    for (int x = 0; x < T; x++)
        if (jobs[x].st != SY_OK) st = jobs[x].st;
    free(base);
    return st;
}
