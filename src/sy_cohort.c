/*
 * sy_cohort.c -- acquisition cohorts: first/second purchase per customer and the
 * cohort x age matrices (active customers, orders, revenue).
 *
 * No sort of the log: one pass finds each customer's first purchase, one pass drops
 * every row into its (cohort, age) cell.  Distinct active customers per cell come from
 * a per-customer bitset of ages (or, when that would be large, from bucketing the log
 * by customer).  Definitions: DESIGN.md section 2.
 */
#include "sy_cohort.h"

#include <stdlib.h>
#include <string.h>

#define IS_PURCHASE(amount, i) (!(amount) || (amount)[i] >= 0.0)

int sy_cohort_first(const int64_t *cust, const int64_t *day, const double *amount,
                    const int64_t *group, int64_t n, int64_t k, int64_t end,
                    int64_t *first_day, int64_t *first_group)
{
    if (n < 0 || k < 0) return SY_EINVAL;
    for (int64_t c = 0; c < k; c++) {
        first_day[c] = SY_NO_DAY;
        if (first_group) first_group[c] = -1;
    }
    for (int64_t i = 0; i < n; i++) {
        int64_t c = cust[i];
        if (c < 0 || c >= k) return SY_EINVAL;
        int64_t d = day[i];
        if (d > end || !IS_PURCHASE(amount, i)) continue;
        if (d < first_day[c]) {   /* strict: ties keep the lowest row index */
            first_day[c] = d;
            if (first_group) first_group[c] = group ? group[i] : 0;
        }
    }
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

int sy_cohort_matrix(const int64_t *cust, const int64_t *day, const double *amount,
                     int64_t n, int64_t k, int64_t end, int period,
                     const int64_t *cell_row, const int64_t *cust_per,
                     int64_t n_rows, int64_t n_ages, int64_t lo_day,
                     int64_t max_bitset_words,
                     int64_t *active, int64_t *orders, double *revenue, int64_t *n_dropped)
{
    int64_t cells, words, nbits, bytes;
    int st = SY_OK;
    if (period < SY_PERIOD_D || period > SY_PERIOD_Y) return SY_EINVAL;
    if (n < 0 || k < 0 || n_rows < 0 || n_ages < 0 || lo_day > end + 1) return SY_EINVAL;
    if (revenue && !amount) return SY_EINVAL;
    if (!sy_mul_ok(n_rows, n_ages, &cells)) return SY_ENOMEM;
    *n_dropped = 0;
    words = (n_ages + 63) / 64;
    int use_bits = sy_mul_ok(k, words, &nbits) && nbits <= max_bitset_words;

    int64_t *table = NULL;
    double *comp = NULL;
    uint64_t *bits = NULL;
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
    if (use_bits) {
        bits = (uint64_t *)calloc((size_t)(nbits > 0 ? nbits : 1), sizeof(uint64_t));
        if (!bits) use_bits = 0;   /* fall back to bucketing */
    }

    for (int64_t i = 0; i < n; i++) {
        int64_t c = cust[i];
        if (c < 0 || c >= k) { st = SY_EINVAL; goto done; }
        int64_t d = day[i];
        if (d > end) continue;
        int64_t r = cell_row[c];
        if (r < 0) continue;
        if (r >= n_rows) { st = SY_EINVAL; goto done; }
        int64_t per;
        if (d < lo_day) { (*n_dropped)++; continue; }
        per = table ? table[d - lo_day] : sy_period_index(d, period);
        int64_t age = per - cust_per[c];
        if (age < 0) { (*n_dropped)++; continue; }
        if (age >= n_ages) { st = SY_EINVAL; goto done; }
        int64_t cell = r * n_ages + age;
        if (revenue) kahan_add(&revenue[cell], &comp[cell], amount[i]);
        if (IS_PURCHASE(amount, i)) {
            orders[cell]++;
            if (use_bits) bits[c * words + (age >> 6)] |= (uint64_t)1 << (age & 63);
        }
    }
    if (revenue)
        for (int64_t j = 0; j < cells; j++) revenue[j] += comp[j];

    if (use_bits) {
        for (int64_t c = 0; c < k; c++) {
            int64_t r = cell_row[c];
            if (r < 0) continue;
            const uint64_t *b = bits + c * words;
            int64_t *row = active + r * n_ages;
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
    free(bits);
    return st;
}
