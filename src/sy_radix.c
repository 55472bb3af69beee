/*
 * sy_radix.c -- one stable LSD radix sort of (uint64 key, int64 value) pairs, shared by
 * the kernels that sort many keys (distinct ids, ranking values, score values).
 * Pure C: no Python.h.
 */
#include <stdlib.h>
#include <string.h>

#include "siyu.h"

#define RADIX_POLL 0xFFFF

int sy_radix_sort_u64(uint64_t *key, int64_t *val, int64_t n)
{
    if (n < 0 || (n > 0 && (!key || !val))) return SY_EINVAL;
    if (n < 2) return SY_OK;
    /* the histograms of all eight bytes in one read of the keys */
    int64_t (*cnt)[256] = (int64_t (*)[256])calloc(8, sizeof(int64_t[256]));
    if (!cnt) return SY_ENOMEM;
    for (int64_t i = 0; i < n; i++) {
        if ((i & RADIX_POLL) == RADIX_POLL && sy_interrupted()) {
            free(cnt);
            return SY_EINTR;
        }
        const uint64_t k = key[i];
        for (int b = 0; b < 8; b++) cnt[b][(k >> (8 * b)) & 0xFF]++;
    }
    int passes = 0;
    for (int b = 0; b < 8; b++) passes += cnt[b][(key[0] >> (8 * b)) & 0xFF] != n;
    if (passes == 0) {               /* every key equal: already in (stable) order */
        free(cnt);
        return SY_OK;
    }
    uint64_t *k2 = (uint64_t *)malloc(sizeof(uint64_t) * (size_t)n);
    int64_t *v2 = (int64_t *)malloc(sizeof(int64_t) * (size_t)n);
    if (!k2 || !v2) {
        free(cnt);
        free(k2);
        free(v2);
        return SY_ENOMEM;
    }
    uint64_t *ks = key, *kd = k2;
    int64_t *vs = val, *vd = v2;
    int st = SY_OK;
    for (int b = 0; b < 8 && st == SY_OK; b++) {
        const int sh = 8 * b;
        int64_t *c = cnt[b];
        if (c[(ks[0] >> sh) & 0xFF] == n) continue;   /* one byte value: skip the pass */
        int64_t pos = 0;
        for (int d = 0; d < 256; d++) {
            const int64_t m = c[d];
            c[d] = pos;
            pos += m;
        }
        for (int64_t i = 0; i < n; i++) {
            if ((i & RADIX_POLL) == RADIX_POLL && sy_interrupted()) {
                st = SY_EINTR;
                break;
            }
            const int64_t d = c[(ks[i] >> sh) & 0xFF]++;
            kd[d] = ks[i];
            vd[d] = vs[i];
        }
        uint64_t *tk = ks;
        ks = kd;
        kd = tk;
        int64_t *tv = vs;
        vs = vd;
        vd = tv;
    }
    if (st == SY_OK && ks != key) {
        memcpy(key, ks, sizeof(uint64_t) * (size_t)n);
        memcpy(val, vs, sizeof(int64_t) * (size_t)n);
    }
    free(cnt);
    free(k2);
    free(v2);
    return st;
}
