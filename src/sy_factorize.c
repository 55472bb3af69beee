/*
 * sy_factorize.c -- int64 customer ids -> dense codes 0..k-1 that follow sorted ids.
 *
 * Dense ids (max - min small compared with n) use direct addressing: one pass marks
 * the ids present, a prefix sum ranks them, a second pass writes codes.  Other ids
 * use an open-addressing hash table (linear probing, grown at 50% load); the distinct
 * ids are then sorted and the codes remapped so code order = id order.
 */
#include "siyu.h"

#include <stdlib.h>
#include <string.h>

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

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
    for (int64_t i = 0; i < n; i++) rank[ids[i] - lo] = 1;
    int64_t k = 0;
    for (int64_t v = 0; v < range; v++) {
        if (rank[v]) {
            uniques[k] = lo + v;
            rank[v] = (int32_t)k++;
        }
    }
    for (int64_t i = 0; i < n; i++) codes[i] = rank[ids[i] - lo];
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
    for (int64_t j = 0; j < ncap; j++) nt[j].code = -1;
    uint64_t mask = (uint64_t)ncap - 1;
    for (int64_t j = 0; j < *cap; j++) {
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
    int64_t *order = NULL;
    if (!tab) return SY_ENOMEM;
    for (int64_t j = 0; j < cap; j++) tab[j].code = -1;
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++) {
        if (2 * (k + 1) > cap && grow(&tab, &cap) != SY_OK) {
            free(tab);
            return SY_ENOMEM;
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
    /* sort the distinct ids and remap first-seen codes to sorted ranks */
    order = (int64_t *)malloc(sizeof(int64_t) * (size_t)(k > 0 ? k : 1));
    int64_t *sorted = (int64_t *)malloc(sizeof(int64_t) * (size_t)(k > 0 ? k : 1));
    if (!order || !sorted) {
        free(order);
        free(sorted);
        return SY_ENOMEM;
    }
    memcpy(sorted, uniques, sizeof(int64_t) * (size_t)k);
    qsort(sorted, (size_t)k, sizeof(int64_t), cmp_i64);
    /* rank of each first-seen code: binary search of its id in the sorted list */
    for (int64_t c = 0; c < k; c++) {
        int64_t a = 0, b = k - 1, key = uniques[c];
        while (a < b) {
            int64_t mid = a + (b - a) / 2;
            if (sorted[mid] < key) a = mid + 1;
            else b = mid;
        }
        order[c] = a;
    }
    for (int64_t i = 0; i < n; i++) codes[i] = order[codes[i]];
    memcpy(uniques, sorted, sizeof(int64_t) * (size_t)k);
    free(order);
    free(sorted);
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
    for (int64_t i = 1; i < n; i++) {
        if (ids[i] < lo) lo = ids[i];
        if (ids[i] > hi) hi = ids[i];
    }
    /* range = hi - lo + 1 without overflow */
    uint64_t range = (uint64_t)hi - (uint64_t)lo + 1u;
    if (range != 0 && range <= (uint64_t)4 * (uint64_t)n + 4096u && range < (uint64_t)INT32_MAX)
        return factorize_dense(ids, n, lo, (int64_t)range, codes, uniques, k_out);
    return factorize_hash(ids, n, codes, uniques, k_out);
}
