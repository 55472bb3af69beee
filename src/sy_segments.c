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
 * The log is never sorted as a whole: purchase days are bucketed by customer with a
 * counting sort (O(n + k)) and each customer's few days are ordered in place.
 */
#include "siyu.h"
#include "sy_segments.h"

#include <stdlib.h>
#include <string.h>

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void sort_days(int64_t *r, int64_t len)
{
    if (len <= 32) {
        for (int64_t i = 1; i < len; i++) {
            int64_t v = r[i];
            int64_t j = i - 1;
            while (j >= 0 && r[j] > v) {
                r[j + 1] = r[j];
                j--;
            }
            r[j + 1] = v;
        }
    } else {
        qsort(r, (size_t)len, sizeof(int64_t), cmp_i64);
    }
}

/* Malloc n * size bytes (at least one element), NULL on overflow or failure. */
static void *alloc_n(int64_t n, int64_t size)
{
    int64_t bytes;
    if (!sy_mul_ok(n > 0 ? n : 1, size, &bytes)) return NULL;
    if ((uint64_t)bytes > (uint64_t)SIZE_MAX) return NULL;
    return malloc((size_t)bytes);
}

int sy_segments_stages(const int64_t *cust, const int64_t *day, const double *amount,
                       const int8_t *member, int64_t n, int64_t k,
                       const int64_t *ends, int64_t m, int mode,
                       const int64_t *bounds, int64_t nb, int8_t *out)
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
    if (!sy_mul_ok(k, m, &cells)) return SY_ENOMEM;
    for (int64_t i = 0; i < n; i++)
        if (cust[i] < 0 || cust[i] >= k) return SY_EINVAL;
    if (k == 0 || m == 0) return SY_OK;

    int64_t *offsets = (int64_t *)alloc_n(k + 1, (int64_t)sizeof(int64_t));
    int64_t *memday = (int64_t *)alloc_n(k, (int64_t)sizeof(int64_t));
    int64_t *days = NULL, *fill = NULL;
    if (!offsets || !memday) goto nomem;
    memset(offsets, 0, sizeof(int64_t) * (size_t)(k + 1));
    for (int64_t c = 0; c < k; c++) memday[c] = INT64_MAX;
    /* count purchase rows per customer; first member day */
    for (int64_t i = 0; i < n; i++) {
        int64_t c = cust[i];
        if (!amount || amount[i] >= 0.0) offsets[c + 1]++;
        if (member && member[i] && day[i] < memday[c]) memday[c] = day[i];
    }
    for (int64_t c = 0; c < k; c++) offsets[c + 1] += offsets[c];
    if (!(days = (int64_t *)alloc_n(offsets[k], (int64_t)sizeof(int64_t)))) goto nomem;
    if (!(fill = (int64_t *)alloc_n(k, (int64_t)sizeof(int64_t)))) goto nomem;
    memcpy(fill, offsets, sizeof(int64_t) * (size_t)k);
    for (int64_t i = 0; i < n; i++)
        if (!amount || amount[i] >= 0.0) days[fill[cust[i]]++] = day[i];
    free(fill);
    fill = NULL;

    for (int64_t c = 0; c < k; c++) {
        int64_t *r = days + offsets[c];
        int64_t len = offsets[c + 1] - offsets[c];
        int8_t *o = out + c * m;
        sort_days(r, len);
        int64_t p = 0;      /* rows with day <= current end */
        int64_t occ = 0;    /* distinct days among them */
        for (int64_t j = 0; j < m; j++) {
            int64_t e = ends[j];
            while (p < len && r[p] <= e) {
                if (p == 0 || r[p] != r[p - 1]) occ++;
                p++;
            }
            int8_t st = SY_SEG_ABSENT;
            if (mode == SY_SEG_LIFECYCLE) {
                if (p > 0) {
                    int64_t d = e - r[p - 1];
                    int8_t s = 0;
                    while (s < nb && d > bounds[s]) s++;
                    st = s;
                }
            } else {
                if (memday[c] <= e) st = 3;
                else if (occ >= 3) st = 2;
                else if (occ > 0) st = (int8_t)(occ - 1);
            }
            o[j] = st;
        }
    }
    free(days);
    free(offsets);
    free(memday);
    return SY_OK;
nomem:
    free(days);
    free(fill);
    free(offsets);
    free(memday);
    return SY_ENOMEM;
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
    for (int64_t c = 0; c < k; c++) {
        const int8_t *r = stages + c * m;
        for (int64_t j = 0; j < m; j++)
            if (r[j] < SY_SEG_ABSENT || r[j] >= s) return SY_EINVAL;
        for (int64_t j = 0; j + 1 < m; j++) {
            int8_t a = r[j], b = r[j + 1];
            if (a >= 0 && b >= 0) counts[(j * s + a) * s + b]++;
        }
    }
    return SY_OK;
}

typedef struct {
    double v;
    int64_t i;
} val_idx;

static int cmp_val(const void *a, const void *b)
{
    const val_idx *x = (const val_idx *)a, *y = (const val_idx *)b;
    if (x->v < y->v) return -1;
    if (x->v > y->v) return 1;
    return (x->i > y->i) - (x->i < y->i);
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
    val_idx *a = (val_idx *)alloc_n(n, (int64_t)sizeof(val_idx));
    if (!a) return SY_ENOMEM;
    for (int64_t i = 0; i < n; i++) {
        a[i].v = values[i];
        a[i].i = i;
    }
    qsort(a, (size_t)n, sizeof(val_idx), cmp_val);
    int64_t lo = 0;
    while (lo < n) {
        int64_t hi = lo;
        while (hi + 1 < n && a[hi + 1].v == a[lo].v) hi++;
        /* 1-based positions lo + 1 .. hi + 1; twice the rank r */
        int64_t r2 = ties == SY_TIES_MIN ? 2 * (lo + 1)
                   : ties == SY_TIES_MAX ? 2 * (hi + 1) : (lo + 1) + (hi + 1);
        int64_t score = (r2 * bins + twon - 1) / twon;   /* ceil(r * bins / n) */
        if (score < 1) score = 1;
        if (score > bins) score = bins;
        for (int64_t t = lo; t <= hi; t++) out[a[t].i] = score;
        lo = hi + 1;
    }
    free(a);
    return SY_OK;
}
