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
 */
int sy_summary_compute(const int64_t *cust, const int64_t *day, const double *amount,
                       int64_t n, int64_t k, int period, int64_t lo, int64_t hi,
                       int64_t *n_occ, int64_t *first_day, int64_t *last_day,
                       int64_t *first_per, int64_t *last_per, int64_t *n_orders,
                       double *revenue, double *first_amount, double *repeat_sum)
{
    if (period < SY_PERIOD_D || period > SY_PERIOD_Y) return SY_EINVAL;
    if (k < 0 || n < 0 || !n_occ) return SY_EINVAL;
    int64_t *offsets = (int64_t *)malloc(sizeof(int64_t) * (size_t)(k + 1));
    if (!offsets) return SY_ENOMEM;
    sy_row *rows = NULL;
    int st = sy_bucket_by_customer(cust, day, amount, n, k, lo, hi, offsets, &rows);
    if (st != SY_OK) {
        free(offsets);
        return st;
    }
    for (int64_t c = 0; c < k; c++) {
        sy_row *r = rows + offsets[c];
        int64_t len = offsets[c + 1] - offsets[c];
        sy_sort_rows(r, len);
        int64_t occ = 0, orders = 0, fday = 0, lday = 0, fper = 0, lper = 0;
        double rev = 0.0, famt = 0.0, rsum = 0.0;
        int64_t i = 0;
        while (i < len) {
            /* one calendar period: rows i..j-1 */
            int64_t per = sy_period_index(r[i].day, period);
            int64_t j = i;
            int purchase = 0;
            double amt = 0.0;
            int64_t pfirst = 0, plast = 0;
            while (j < len && (j == i || sy_period_index(r[j].day, period) == per)) {
                amt += r[j].amount;
                if (r[j].amount >= 0.0) {
                    if (!purchase) pfirst = r[j].day;
                    plast = r[j].day;
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
        n_occ[c] = occ;
        if (first_day) first_day[c] = fday;
        if (last_day) last_day[c] = lday;
        if (first_per) first_per[c] = fper;
        if (last_per) last_per[c] = lper;
        if (n_orders) n_orders[c] = orders;
        if (revenue) revenue[c] = rev;
        if (first_amount) first_amount[c] = famt;
        if (repeat_sum) repeat_sum[c] = rsum;
    }
    free(rows);
    free(offsets);
    return SY_OK;
}
