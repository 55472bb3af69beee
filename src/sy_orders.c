/*
 * sy_orders.c -- shop exports to orders (DESIGN.md section 2a): rows sharing an order id
 * become one order, statuses and refunds are applied, and the exact duplicate rows of
 * an export are counted.  One pass over the rows with per-order accumulators; no sort.
 */
#include "sy_orders.h"

#include <stdlib.h>
#include <string.h>

/* per-order bits gathered in the row pass */
#define HAS_PAID 1      /* a paid row with amount >= 0 */
#define HAS_REFD 2      /* a refunded-status row with amount >= 0 */
#define HAS_NEG 4       /* a non-void row with amount < 0 */
#define HAS_VOID 8
#define HAS_REFCOL 16   /* a counted row with refund > 0 */

#define POLL_ROWS 65536

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
    int st = SY_OK;
    size_t mm = (size_t)(m > 0 ? m : 1);
    memset(flags, 0, (size_t)m);
    int64_t *first_any = (int64_t *)malloc(sizeof(int64_t) * mm);
    int64_t *first_neg = (int64_t *)malloc(sizeof(int64_t) * mm);
    double *gross = (double *)calloc(mm, sizeof(double));
    double *neg = (double *)calloc(mm, sizeof(double));
    double *ref = (double *)calloc(mm, sizeof(double));
    uint8_t *bits = (uint8_t *)calloc(mm, 1);
    if (!first_any || !first_neg || !gross || !neg || !ref || !bits) {
        st = SY_ENOMEM;
        goto done;
    }
    for (int64_t o = 0; o < m; o++) {
        first_any[o] = -1;
        first_neg[o] = -1;
        row[o] = -1;                 /* first paid purchase row, by (day, row) */
    }
    int64_t mixed = 0;
    for (int64_t i = 0; i < n; i++) {
        if ((i & (POLL_ROWS - 1)) == 0 && sy_interrupted()) {
            st = SY_EINTR;
            goto done;
        }
        int64_t o = order[i];
        if (o < 0 || o >= m) {
            st = SY_EINVAL;
            goto done;
        }
        if (first_any[o] < 0) {
            first_any[o] = i;
        } else if (cust[i] != cust[first_any[o]]) {
            if (!(flags[o] & SY_ORDF_MIXED_CUSTOMERS)) mixed++;
            flags[o] |= SY_ORDF_MIXED_CUSTOMERS;   /* flags doubles as scratch here */
        }
        int purchase;
        uint8_t b = row_bits(status ? status[i] : SY_STATUS_PAID, amount ? amount[i] : 0.0,
                             refund ? refund[i] : 0.0, &gross[o], &neg[o], &ref[o], &purchase);
        bits[o] |= b;
        if (purchase) {
            if (row[o] < 0 || day[i] < day[row[o]]) row[o] = i;
        } else if (b & HAS_NEG) {
            if (first_neg[o] < 0 || day[i] < day[first_neg[o]]) first_neg[o] = i;
        }
    }
    *n_mixed = mixed;
    for (int64_t o = 0; o < m; o++) {
        uint8_t mix = flags[o] & SY_ORDF_MIXED_CUSTOMERS;
        classify(bits[o], gross[o], neg[o], ref[o], &outcome[o], &flags[o], &net[o]);
        flags[o] |= mix;
        if (outcome[o] == SY_ORD_REFUND) row[o] = first_neg[o];
        else if (outcome[o] != SY_ORD_PURCHASE) row[o] = first_any[o];
    }
done:
    free(first_any);
    free(first_neg);
    free(gross);
    free(neg);
    free(ref);
    free(bits);
    return st;
}

/* ---- exact duplicate rows ------------------------------------------------ */
static inline uint64_t mix_word(uint64_t h, uint64_t x)
{
    h ^= x + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 29;
    return h;
}

static inline uint64_t row_hash(const uint64_t *const *cols, int ncols, int64_t i)
{
    uint64_t h = 0x243f6a8885a308d3ULL;
    for (int c = 0; c < ncols; c++) h = mix_word(h, cols[c][i]);
    return h;
}

static inline int rows_equal(const uint64_t *const *cols, int ncols, int64_t a, int64_t b)
{
    for (int c = 0; c < ncols; c++)
        if (cols[c][a] != cols[c][b]) return 0;
    return 1;
}

int sy_count_duplicate_rows(const uint64_t *const *cols, int ncols, int64_t n, int64_t *dups)
{
    *dups = 0;
    if (n < 0 || ncols < 1) return SY_EINVAL;
    if (n < 2) return SY_OK;
    if ((uint64_t)n >= (uint64_t)UINT32_MAX) return SY_ENOMEM;
    int64_t cap = 64;
    while (cap < n + n / 2) cap *= 2;
    /* slot: high 32 bits = hash tag, low 32 bits = row + 1 (0 = empty) */
    uint64_t *tab = (uint64_t *)calloc((size_t)cap, sizeof(uint64_t));
    if (!tab) return SY_ENOMEM;
    const uint64_t mask = (uint64_t)cap - 1;
    int64_t count = 0;
#define DUP_AHEAD 8
    uint64_t ring[DUP_AHEAD];
    for (int64_t i = 0; i < n && i < DUP_AHEAD; i++) ring[i] = row_hash(cols, ncols, i);
    for (int64_t i = 0; i < n; i++) {
        if ((i & (POLL_ROWS - 1)) == 0 && sy_interrupted()) {
            free(tab);
            return SY_EINTR;
        }
        uint64_t h = ring[i % DUP_AHEAD];
        if (i + DUP_AHEAD < n) {
            uint64_t ha = row_hash(cols, ncols, i + DUP_AHEAD);
            ring[i % DUP_AHEAD] = ha;
            __builtin_prefetch(&tab[ha & mask], 1, 0);
        }
        uint64_t tag = h >> 32, s = h & mask;
        for (;;) {
            uint64_t v = tab[s];
            if (v == 0) {
                tab[s] = (tag << 32) | (uint64_t)(i + 1);
                break;
            }
            if ((v >> 32) == tag && rows_equal(cols, ncols, (int64_t)(v & 0xffffffffu) - 1, i)) {
                count++;
                break;
            }
            s = (s + 1) & mask;
        }
    }
    free(tab);
    *dups = count;
    return SY_OK;
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
