/*
 * sy_orders.c -- shop exports to orders (DESIGN.md section 2a): rows sharing an order id
 * become one order, statuses and refunds are applied, and the exact duplicate rows of
 * an export are counted.  One pass over the rows with per-order accumulators (in place,
 * run by run, when the order codes are already in order); no sort.
 */
#include "sy_orders.h"
#include "sy_cohort.h"   /* sy_pass_threads, SY_MAX_THREADS */

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* per-order bits gathered in the row pass */
#define HAS_PAID 1      /* a paid row with amount >= 0 */
#define HAS_REFD 2      /* a refunded-status row with amount >= 0 */
#define HAS_NEG 4       /* a non-void row with amount < 0 */
#define HAS_VOID 8
#define HAS_REFCOL 16   /* a counted row with refund > 0 */

#define POLL_ROWS 4096   /* rows between polls: random access, each may fault a fresh page */

static void classify(uint8_t bits, double gross, double neg, double ref, uint8_t *outcome,
                     uint8_t *flags, double *net)
{
    *flags = 0;
    *net = 0.0;
    if (bits & HAS_PAID) {
        double v = gross + neg - ref;
        int refunded = (bits & (HAS_NEG | HAS_REFCOL)) != 0;
        if (bits & HAS_REFD) *flags |= SY_ORDF_REFUNDED_ITEMS;
        if (bits & HAS_NEG) *flags |= SY_ORDF_NETTED_NEGATIVE;
        if (refunded && v <= 0.0) {
            *outcome = (bits & HAS_REFCOL) ? SY_ORD_FULL_COLUMN : SY_ORD_FULL_NEGATIVE;
            return;
        }
        *outcome = SY_ORD_PURCHASE;
        *net = v;
        if (refunded && v < gross) *flags |= SY_ORDF_PARTIAL;
        if (!refunded && gross == 0.0) *flags |= SY_ORDF_ZERO;
    } else if (bits & HAS_REFD) {
        *outcome = SY_ORD_REFUNDED;
    } else if (bits & HAS_NEG) {
        *outcome = SY_ORD_REFUND;
        *net = neg - ref;
    } else if (bits & HAS_VOID) {
        *outcome = SY_ORD_VOID;
    } else {
        *outcome = SY_ORD_NONE;
    }
}

/* bits of one row; accumulates its amount into gross / neg / ref */
static inline uint8_t row_bits(int8_t c, double a, double r, double *gross, double *neg,
                               double *ref, int *purchase)
{
    *purchase = 0;
    if (c == SY_STATUS_VOID) return HAS_VOID;
    if (a >= 0.0) {
        if (c == SY_STATUS_REFUNDED) return HAS_REFD;
        *gross += a;
        *ref += r;
        *purchase = 1;
        return (uint8_t)(HAS_PAID | (r > 0.0 ? HAS_REFCOL : 0));
    }
    *neg += a;
    *ref += r;
    return (uint8_t)(HAS_NEG | (r > 0.0 ? HAS_REFCOL : 0));
}

/* Per-order accumulators of the rows' pass, in one record so that a row touches one or
   two cache lines (orders arrive in any order).  Zero is the empty state: row numbers
   are kept plus one (0 = none), so a calloc'd array needs no initialising and its
   untouched pages cost nothing; the negative-row fields live apart, touched only by
   negative rows. */
typedef struct {
    int64_t cust;      /* customer of the order's first row */
    int64_t first;     /* first row + 1 */
    int64_t prow;      /* first paid purchase row by (day, row) + 1 */
    int64_t pday;      /* its day */
    double gross, ref;
    uint8_t bits, mixed;
} order_acc;

typedef struct {
    int64_t row;       /* first negative row by (day, row) + 1 */
    int64_t day;
    double neg;
} order_neg;

/* adds row i to its order's accumulators; returns 1 when the row is the first to show
   that the order has rows of several customers */
static inline int acc_row(order_acc *a, order_neg *g, int64_t i, const int64_t *cust,
                          const int64_t *day, const double *amount, const double *refund,
                          const int8_t *status)
{
    int new_mixed = 0;
    if (a->first == 0) {
        a->first = i + 1;
        a->cust = cust[i];
    } else if (cust[i] != a->cust && !a->mixed) {
        a->mixed = 1;
        new_mixed = 1;
    }
    int purchase;
    double neg = 0.0;
    uint8_t b = row_bits(status ? status[i] : SY_STATUS_PAID, amount ? amount[i] : 0.0,
                         refund ? refund[i] : 0.0, &a->gross, &neg, &a->ref, &purchase);
    a->bits |= b;
    if (purchase) {
        if (a->prow == 0 || day[i] < a->pday) {
            a->prow = i + 1;
            a->pday = day[i];
        }
    } else if (b & HAS_NEG) {
        g->neg += neg;
        if (g->row == 0 || day[i] < g->day) {
            g->row = i + 1;
            g->day = day[i];
        }
    }
    return new_mixed;
}

static inline void acc_finish(const order_acc *a, const order_neg *g, uint8_t *outcome,
                              uint8_t *flags, double *net, int64_t *row)
{
    classify(a->bits, a->gross, g->neg, a->ref, outcome, flags, net);
    if (a->mixed) *flags |= SY_ORDF_MIXED_CUSTOMERS;
    if (*outcome == SY_ORD_PURCHASE) *row = a->prow - 1;
    else if (*outcome == SY_ORD_REFUND) *row = g->row - 1;
    else *row = a->first - 1;
}

int sy_orders_aggregate(const int64_t *order, int64_t m, const int64_t *cust, const int64_t *day,
                        const double *amount, const double *refund, const int8_t *status,
                        int64_t n, uint8_t *outcome, uint8_t *flags, double *net, int64_t *row,
                        int64_t *n_mixed)
{
    *n_mixed = 0;
    if (n < 0 || m < 0 || (!order && m != n)) return SY_EINVAL;
    if (status)
        for (int64_t i = 0; i < n; i++)
            if (status[i] < SY_STATUS_PAID || status[i] > SY_STATUS_VOID) return SY_EINVAL;
    if (!order) {
        /* each row is its own order */
        for (int64_t i = 0; i < n; i++) {
            if ((i & (POLL_ROWS - 1)) == 0 && sy_interrupted()) return SY_EINTR;
            double gross = 0.0, neg = 0.0, ref = 0.0;
            int purchase;
            uint8_t bits = row_bits(status ? status[i] : SY_STATUS_PAID, amount ? amount[i] : 0.0,
                                    refund ? refund[i] : 0.0, &gross, &neg, &ref, &purchase);
            classify(bits, gross, neg, ref, &outcome[i], &flags[i], &net[i]);
            row[i] = outcome[i] == SY_ORD_NONE ? -1 : i;
        }
        return SY_OK;
    }
    int64_t ups = 0, downs = 0;
    for (int64_t i = 0; i < n; i++) {
        if (order[i] < 0 || order[i] >= m) return SY_EINVAL;
        if (i) {
            ups += order[i] > order[i - 1];
            downs += order[i] < order[i - 1];
        }
    }
    int64_t mixed = 0;
    if (ups == 0 || downs == 0) {
        /* order codes in order (line items adjacent and orders sorted, either way, as
           exports usually are): one run per order, accumulated in place */
        const order_acc empty = {0};
        const order_neg no_neg = {0};
        for (int64_t o = 0; o < m; o++) acc_finish(&empty, &no_neg, &outcome[o], &flags[o],
                                                   &net[o], &row[o]);
        int64_t i = 0;
        while (i < n) {
            order_acc a = {0};
            order_neg g = {0};
            const int64_t o = order[i];
            for (; i < n && order[i] == o; i++) {
                if ((i & (POLL_ROWS - 1)) == 0 && sy_interrupted()) return SY_EINTR;
                mixed += acc_row(&a, &g, i, cust, day, amount, refund, status);
            }
            acc_finish(&a, &g, &outcome[o], &flags[o], &net[o], &row[o]);
        }
        *n_mixed = mixed;
        return SY_OK;
    }
    int st = SY_OK;
    size_t mm = (size_t)(m > 0 ? m : 1);
    order_acc *acc = (order_acc *)calloc(mm, sizeof(order_acc));
    order_neg *ng = (order_neg *)calloc(mm, sizeof(order_neg));
    if (!acc || !ng) {
        st = SY_ENOMEM;
        goto done;
    }
    for (int64_t i = 0; i < n; i++) {
        if ((i & (POLL_ROWS - 1)) == 0 && sy_interrupted()) {
            st = SY_EINTR;
            goto done;
        }
        const int64_t o = order[i];
        mixed += acc_row(&acc[o], &ng[o], i, cust, day, amount, refund, status);
    }
    *n_mixed = mixed;
    for (int64_t o = 0; o < m; o++) {
        if ((o & (POLL_ROWS - 1)) == 0 && sy_interrupted()) {
            st = SY_EINTR;
            goto done;
        }
        acc_finish(&acc[o], &ng[o], &outcome[o], &flags[o], &net[o], &row[o]);
    }
done:
    free(acc);
    free(ng);
    return st;
}

/* ---- exact duplicate rows ------------------------------------------------ */
/* Rows are hashed over all their columns (a parallel sequential pass), radix-partitioned
   by hash into cache-sized partitions, and each partition is counted with a small hash
   table; rows are compared column by column only when their hashes are equal. */

static inline uint64_t mix_word(uint64_t h, uint64_t x)
{
    h ^= x + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 29;
    return h;
}

/* column c of row i as 64 bits: integers widened, floats with -0.0 as 0.0 */
static inline uint64_t cell(const sy_column *col, int64_t i)
{
    switch (col->kind) {
    case SY_COL_I8: return (uint64_t)(int64_t)((const int8_t *)col->data)[i];
    case SY_COL_I16: return (uint64_t)(int64_t)((const int16_t *)col->data)[i];
    case SY_COL_I32: return (uint64_t)(int64_t)((const int32_t *)col->data)[i];
    case SY_COL_F64: {
        double v = ((const double *)col->data)[i];
        uint64_t bits;
        v = v == 0.0 ? 0.0 : v;
        memcpy(&bits, &v, sizeof bits);
        return bits;
    }
    default: return (uint64_t)((const int64_t *)col->data)[i];
    }
}

static inline int rows_equal(const sy_column *cols, int ncols, int64_t a, int64_t b)
{
    for (int c = 0; c < ncols; c++)
        if (cell(&cols[c], a) != cell(&cols[c], b)) return 0;
    return 1;
}

#define DUP_PBITS_MAX 12
#define DUP_BLOCK ((int64_t)1 << 18)

typedef struct {
    const sy_column *cols;
    int ncols, pbits;
    int64_t n, nblocks;
    uint64_t *h;               /* row hashes */
    int64_t *hist;             /* nblocks x P counts, then cursors */
    uint64_t *ph;              /* hashes in partition order */
    uint32_t *prow;            /* rows in partition order */
    int64_t *part_start;
    int64_t *dups;             /* per partition */
    _Atomic int64_t next;
    _Atomic int stop;
} dup_ctx;

static void *dup_hash(void *arg)
{
    dup_ctx *x = *(dup_ctx **)arg;
    const int64_t P = (int64_t)1 << x->pbits;
    for (;;) {
        int64_t blk = atomic_fetch_add_explicit(&x->next, 1, memory_order_relaxed);
        if (blk >= x->nblocks || x->stop) return NULL;
        if (sy_interrupted()) {
            x->stop = 1;
            return NULL;
        }
        int64_t lo = x->n * blk / x->nblocks, hi = x->n * (blk + 1) / x->nblocks;
        int64_t *hist = x->hist + blk * P;
        for (int64_t i = lo; i < hi; i++) {
            uint64_t h = 0x243f6a8885a308d3ULL;
            for (int c = 0; c < x->ncols; c++) h = mix_word(h, cell(&x->cols[c], i));
            x->h[i] = h;
            hist[h >> (64 - x->pbits)]++;
        }
    }
}

static void *dup_scatter(void *arg)
{
    dup_ctx *x = *(dup_ctx **)arg;
    const int64_t P = (int64_t)1 << x->pbits;
    for (;;) {
        int64_t blk = atomic_fetch_add_explicit(&x->next, 1, memory_order_relaxed);
        if (blk >= x->nblocks || x->stop) return NULL;
        int64_t lo = x->n * blk / x->nblocks, hi = x->n * (blk + 1) / x->nblocks;
        int64_t *cur = x->hist + blk * P;
        for (int64_t i = lo; i < hi; i++) {
            uint64_t h = x->h[i];
            int64_t q = cur[h >> (64 - x->pbits)]++;
            x->ph[q] = h;
            x->prow[q] = (uint32_t)i;
        }
    }
}

static void *dup_count(void *arg)
{
    dup_ctx *x = *(dup_ctx **)arg;
    const int64_t P = (int64_t)1 << x->pbits;
    uint32_t *tab = NULL;
    int64_t cap_have = 0;
    for (;;) {
        int64_t p = atomic_fetch_add_explicit(&x->next, 1, memory_order_relaxed);
        if (p >= P || x->stop) break;
        if ((p & 63) == 0 && sy_interrupted()) {
            x->stop = 1;
            break;
        }
        int64_t s0 = x->part_start[p], r = x->part_start[p + 1] - s0, cap = 16;
        while (cap < 2 * r) cap *= 2;
        if (cap > cap_have) {
            free(tab);
            tab = (uint32_t *)malloc(sizeof(uint32_t) * (size_t)cap);
            if (!tab) {
                x->stop = 2;
                break;
            }
            cap_have = cap;
        }
        /* slots hold 1 + the position in the partition (0 = empty) */
        memset(tab, 0, sizeof(uint32_t) * (size_t)cap);
        const uint64_t *ph = x->ph + s0;
        const uint32_t *prow = x->prow + s0;
        const uint64_t mask = (uint64_t)cap - 1;
        int64_t d = 0;
        for (int64_t q = 0; q < r; q++) {
            uint64_t sl = ph[q] & mask;
            for (;;) {
                uint32_t v = tab[sl];
                if (v == 0) {
                    tab[sl] = (uint32_t)(q + 1);
                    break;
                }
                if (ph[v - 1] == ph[q] && rows_equal(x->cols, x->ncols, prow[v - 1], prow[q])) {
                    d++;
                    break;
                }
                sl = (sl + 1) & mask;
            }
        }
        x->dups[p] = d;
    }
    free(tab);
    return NULL;
}

static int dup_run(void *(*fn)(void *), dup_ctx *x, int T)
{
    dup_ctx *ptrs[SY_MAX_THREADS];
    atomic_store(&x->next, 0);
    for (int t = 0; t < T; t++) ptrs[t] = x;
    sy_run_jobs(fn, ptrs, sizeof(dup_ctx *), T);
    return x->stop == 1 ? SY_EINTR : x->stop == 2 ? SY_ENOMEM : SY_OK;
}

int sy_count_duplicate_rows(const sy_column *cols, int ncols, int64_t n, int64_t *dups)
{
    *dups = 0;
    if (n < 0 || ncols < 1) return SY_EINVAL;
    if (n < 2) return SY_OK;
    if ((uint64_t)n >= (uint64_t)UINT32_MAX) return SY_ENOMEM;
    int st = SY_OK;
    int T = sy_pass_threads(n);
    dup_ctx x;
    memset(&x, 0, sizeof x);
    x.cols = cols;
    x.ncols = ncols;
    x.n = n;
    while (x.pbits < DUP_PBITS_MAX && ((int64_t)8192 << x.pbits) < n) x.pbits++;
    if (x.pbits == 0) x.pbits = 1;
    const int64_t P = (int64_t)1 << x.pbits;
    x.nblocks = n / DUP_BLOCK + 1;
    if (x.nblocks > 64) x.nblocks = 64;
    x.h = (uint64_t *)malloc(sizeof(uint64_t) * (size_t)n);
    x.hist = (int64_t *)calloc((size_t)(x.nblocks * P), sizeof(int64_t));
    x.ph = (uint64_t *)malloc(sizeof(uint64_t) * (size_t)n);
    x.prow = (uint32_t *)malloc(sizeof(uint32_t) * (size_t)n);
    x.part_start = (int64_t *)malloc(sizeof(int64_t) * (size_t)(P + 1));
    x.dups = (int64_t *)calloc((size_t)P, sizeof(int64_t));
    if (!x.h || !x.hist || !x.ph || !x.prow || !x.part_start || !x.dups) {
        st = SY_ENOMEM;
        goto done;
    }
    if ((st = dup_run(dup_hash, &x, T)) != SY_OK) goto done;
    int64_t run = 0;
    for (int64_t p = 0; p < P; p++) {        /* cursors in block order */
        x.part_start[p] = run;
        for (int64_t blk = 0; blk < x.nblocks; blk++) {
            int64_t c = x.hist[blk * P + p];
            x.hist[blk * P + p] = run;
            run += c;
        }
    }
    x.part_start[P] = run;
    if ((st = dup_run(dup_scatter, &x, T)) != SY_OK) goto done;
    free(x.h);
    x.h = NULL;
    if ((st = dup_run(dup_count, &x, T)) != SY_OK) goto done;
    for (int64_t p = 0; p < P; p++) *dups += x.dups[p];
done:
    free(x.h);
    free(x.hist);
    free(x.ph);
    free(x.prow);
    free(x.part_start);
    free(x.dups);
    return st;
}

/* ---- first row of each group --------------------------------------------- */
int sy_group_first(const int64_t *codes, int64_t n, int64_t m, int64_t *first)
{
    if (n < 0 || m < 0) return SY_EINVAL;
    for (int64_t g = 0; g < m; g++) first[g] = -1;
    for (int64_t i = 0; i < n; i++) {
        int64_t g = codes[i];
        if (g < 0) continue;
        if (g >= m) return SY_EINVAL;
        if (first[g] < 0) first[g] = i;
    }
    return SY_OK;
}
