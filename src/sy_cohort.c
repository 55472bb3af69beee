/*
 * sy_cohort.c -- acquisition cohorts: first/second purchase per customer and the
 * cohort x age matrices (active customers, orders, revenue).
 *
 * No sort of the log: one pass finds each customer's first purchase, one pass drops
 * every row into its (cohort, age) cell.  Distinct active customers per cell come from
 * a per-customer bitset of ages (or, when that would be large, from bucketing the log
 * by customer).  Definitions: DESIGN.md section 2.
 */
#define _DEFAULT_SOURCE 1   /* madvise */
#include "sy_cohort.h"

#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

/* Allocate a zeroed per-customer table that is read at random once per log row.
   Large tables are 2 MiB aligned and marked for transparent huge pages, which removes
   most TLB misses of the random accesses (several-fold faster on 10M-row logs). */
void *sy_table_alloc(int64_t bytes)
{
    const int64_t huge = (int64_t)1 << 21;
    void *p;
    if (bytes <= 0) bytes = 64;
    if (bytes >= huge) {
        int64_t rounded = (bytes + huge - 1) / huge * huge;
        p = aligned_alloc((size_t)huge, (size_t)rounded);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
        if (p) madvise(p, (size_t)rounded, MADV_HUGEPAGE);
#endif
    } else {
        p = aligned_alloc(64, (size_t)((bytes + 63) / 64 * 64));
    }
    if (p) memset(p, 0, (size_t)bytes);
    return p;
}

#define IS_PURCHASE(amount, i) (!(amount) || (amount)[i] >= 0.0)

int sy_cohort_first(const int64_t *cust, const int64_t *day, const double *amount,
                    const int64_t *group, int64_t n, int64_t k, int64_t end,
                    int64_t *first_day, int64_t *first_group, int64_t *n_refund_only)
{
    if (n < 0 || k < 0) return SY_EINVAL;
    /* (day, group) side by side: one cache miss per row instead of two */
    int64_t *rec = (int64_t *)sy_table_alloc((int64_t)sizeof(int64_t) * 2 * k);
    if (!rec) return SY_ENOMEM;
    for (int64_t c = 0; c < k; c++) {
        rec[2 * c] = SY_NO_DAY;
        rec[2 * c + 1] = -1;   /* -1: no row by end; -2: only refunds so far */
    }
    for (int64_t i = 0; i < n; i++) {
        int64_t c = cust[i];
        if (c < 0 || c >= k) {
            free(rec);
            return SY_EINVAL;
        }
        if (i + SY_PREFETCH < n) {
            int64_t cp = cust[i + SY_PREFETCH];
            if (cp >= 0 && cp < k) __builtin_prefetch(rec + 2 * cp, 1, 0);
        }
        int64_t d = day[i];
        if (d > end) continue;
        int64_t *r = rec + 2 * c;
        if (!IS_PURCHASE(amount, i)) {
            if (r[1] == -1) r[1] = -2;
            continue;
        }
        if (d < r[0]) {   /* strict: ties keep the lowest row index */
            r[0] = d;
            r[1] = group ? group[i] : 0;
        }
    }
    int64_t refund_only = 0;
    for (int64_t c = 0; c < k; c++) {
        first_day[c] = rec[2 * c];
        int64_t g = rec[2 * c + 1];
        if (g == -2) {
            refund_only++;
            g = -1;
        }
        if (first_group) first_group[c] = g;
    }
    free(rec);
    if (n_refund_only) *n_refund_only = refund_only;
    return SY_OK;
}

int sy_cohort_second(const int64_t *cust, const int64_t *day, const double *amount,
                     int64_t n, int64_t k, int64_t end, const int64_t *first_day,
                     int64_t *second_day)
{
    if (n < 0 || k < 0) return SY_EINVAL;
    for (int64_t c = 0; c < k; c++) second_day[c] = SY_NO_DAY;
    for (int64_t i = 0; i < n; i++) {
        int64_t c = cust[i];
        if (c < 0 || c >= k) return SY_EINVAL;
        int64_t d = day[i];
        if (d > end || !IS_PURCHASE(amount, i)) continue;
        if (first_day[c] != SY_NO_DAY && d > first_day[c] && d < second_day[c]) second_day[c] = d;
    }
    return SY_OK;
}

/* Neumaier compensated addition. */
static inline void kahan_add(double *sum, double *comp, double x)
{
    double s = *sum, t = s + x;
    if ((s >= 0 ? s : -s) >= (x >= 0 ? x : -x))
        *comp += (s - t) + x;
    else
        *comp += (x - t) + s;
    *sum = t;
}

/* Largest day span for which period indices are tabulated instead of computed. */
#define SY_TABLE_MAX_DAYS ((int64_t)1 << 22)

/* Per-customer records of the matrix pass: [row, cohort period, bits...]. */
int sy_cohort_matrix(const int64_t *cust, const int64_t *day, const double *amount,
                     int64_t n, int64_t k, int64_t end, int period,
                     const int64_t *cell_row, const int64_t *cust_per,
                     int64_t n_rows, int64_t n_ages, int64_t lo_day,
                     int64_t max_bitset_words,
                     int64_t *active, int64_t *orders, double *revenue, int64_t *n_dropped)
{
    int64_t cells, words, nbits, bytes, stride;
    int st = SY_OK;
    if (period < SY_PERIOD_D || period > SY_PERIOD_Y) return SY_EINVAL;
    if (n < 0 || k < 0 || n_rows < 0 || n_ages < 0 || lo_day > end + 1) return SY_EINVAL;
    if (revenue && !amount) return SY_EINVAL;
    if (!sy_mul_ok(n_rows, n_ages, &cells)) return SY_ENOMEM;
    *n_dropped = 0;
    words = (n_ages + 63) / 64;
    int use_bits = sy_mul_ok(k, words, &nbits) && nbits <= max_bitset_words;
    stride = sy_record_stride(use_bits ? words : 0);

    int64_t *table = NULL;
    double *comp = NULL;
    int64_t *rec = NULL;
    int64_t span = end - lo_day + 1;
    if (span > 0 && span <= SY_TABLE_MAX_DAYS) {
        table = (int64_t *)malloc(sizeof(int64_t) * (size_t)span);
        if (!table) return SY_ENOMEM;
        for (int64_t j = 0; j < span; j++) table[j] = sy_period_index(lo_day + j, period);
    }
    if (revenue) {
        if (!sy_mul_ok(cells > 0 ? cells : 1, (int64_t)sizeof(double), &bytes)) { st = SY_ENOMEM; goto done; }
        comp = (double *)calloc(1, (size_t)bytes);
        if (!comp) { st = SY_ENOMEM; goto done; }
    }
    if (!sy_mul_ok(k > 0 ? k : 1, stride * (int64_t)sizeof(int64_t), &bytes)) { st = SY_ENOMEM; goto done; }
    rec = (int64_t *)sy_table_alloc(bytes);
    if (!rec && use_bits) {   /* retry without the bitset; distinct customers by bucketing */
        use_bits = 0;
        stride = 2;
        if (!sy_mul_ok(k > 0 ? k : 1, stride * (int64_t)sizeof(int64_t), &bytes)) { st = SY_ENOMEM; goto done; }
        rec = (int64_t *)sy_table_alloc(bytes);
    }
    if (!rec) { st = SY_ENOMEM; goto done; }
    for (int64_t c = 0; c < k; c++) {
        int64_t r = cell_row[c];
        if (r >= n_rows) { st = SY_EINVAL; goto done; }
        rec[c * stride] = r < 0 ? -1 : r;
        rec[c * stride + 1] = cust_per[c];
    }

    for (int64_t i = 0; i < n; i++) {
        int64_t c = cust[i];
        if (c < 0 || c >= k) { st = SY_EINVAL; goto done; }
        if (i + SY_PREFETCH < n) {
            int64_t cp = cust[i + SY_PREFETCH];
            if (cp >= 0 && cp < k) __builtin_prefetch(rec + cp * stride, 1, 0);
        }
        int64_t d = day[i];
        if (d > end) continue;
        int64_t *rc = rec + c * stride;
        int64_t r = rc[0];
        if (r < 0) continue;
        if (d < lo_day) { (*n_dropped)++; continue; }
        int64_t per = table ? table[d - lo_day] : sy_period_index(d, period);
        int64_t age = per - rc[1];
        if (age < 0) { (*n_dropped)++; continue; }
        if (age >= n_ages) { st = SY_EINVAL; goto done; }
        int64_t cell = r * n_ages + age;
        if (revenue) kahan_add(&revenue[cell], &comp[cell], amount[i]);
        if (IS_PURCHASE(amount, i)) {
            orders[cell]++;
            if (use_bits) ((uint64_t *)rc)[2 + (age >> 6)] |= (uint64_t)1 << (age & 63);
        }
    }
    if (revenue)
        for (int64_t j = 0; j < cells; j++) revenue[j] += comp[j];

    if (use_bits) {
        for (int64_t c = 0; c < k; c++) {
            const int64_t *rc = rec + c * stride;
            if (rc[0] < 0) continue;
            const uint64_t *b = (const uint64_t *)rc + 2;
            int64_t *row = active + rc[0] * n_ages;
            for (int64_t w = 0; w < words; w++) {
                uint64_t x = b[w];
                while (x) {
                    row[w * 64 + __builtin_ctzll(x)]++;
                    x &= x - 1;
                }
            }
        }
    } else {
        /* bucket the rows by customer, order each customer's rows by day, count each
           (customer, age) once */
        int64_t *offsets = (int64_t *)malloc(sizeof(int64_t) * (size_t)(k + 1));
        sy_row *rows = NULL;
        if (!offsets) { st = SY_ENOMEM; goto done; }
        st = sy_bucket_by_customer(cust, day, amount, n, k, lo_day - 1, end, offsets, &rows);
        if (st != SY_OK) { free(offsets); goto done; }
        for (int64_t c = 0; c < k; c++) {
            int64_t r = cell_row[c];
            if (r < 0) continue;
            sy_row *rr = rows + offsets[c];
            int64_t len = offsets[c + 1] - offsets[c];
            sy_sort_rows(rr, len);
            int64_t last = -1;
            for (int64_t j = 0; j < len; j++) {
                if (amount && rr[j].amount < 0.0) continue;
                int64_t d = rr[j].day;
                int64_t age = (table ? table[d - lo_day] : sy_period_index(d, period)) - cust_per[c];
                if (age < 0 || age >= n_ages || age == last) continue;
                active[r * n_ages + age]++;
                last = age;
            }
        }
        free(rows);
        free(offsets);
    }
done:
    free(table);
    free(comp);
    free(rec);
    return st;
}
