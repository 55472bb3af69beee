/*
 * sy_take.c -- gathers: out[i] = values[idx[i]], on all threads, with a Ctrl-C poll per
 * block.  Building the log from an export gathers several columns by row numbers; a
 * NumPy fancy index would hold the GIL (and Ctrl-C) for the whole of each one.
 */
#include "siyu.h"

#include <stdatomic.h>
#include <string.h>

#define TAKE_BLOCK 65536

typedef struct {
    const char *values;
    int64_t n_values;
    size_t itemsize;
    const int64_t *idx;
    char *out;
    _Atomic int status;
} take_ctx;

static void take_chunk(void *vctx, int64_t lo, int64_t hi)
{
    take_ctx *c = (take_ctx *)vctx;
    for (int64_t b = lo; b < hi; b += TAKE_BLOCK) {
        if (atomic_load_explicit(&c->status, memory_order_relaxed) != SY_OK) return;
        if (sy_interrupted()) {
            int ok = SY_OK;
            atomic_compare_exchange_strong(&c->status, &ok, SY_EINTR);
            return;
        }
        const int64_t e = hi - b < TAKE_BLOCK ? hi : b + TAKE_BLOCK;
        for (int64_t i = b; i < e; i++) {
            if ((uint64_t)c->idx[i] >= (uint64_t)c->n_values) {
                int ok = SY_OK;
                atomic_compare_exchange_strong(&c->status, &ok, SY_EINVAL);
                return;
            }
        }
        switch (c->itemsize) {
        case 1: {
            const uint8_t *v = (const uint8_t *)c->values;
            uint8_t *o = (uint8_t *)c->out;
            for (int64_t i = b; i < e; i++) o[i] = v[c->idx[i]];
            break;
        }
        case 4: {
            const uint32_t *v = (const uint32_t *)c->values;
            uint32_t *o = (uint32_t *)c->out;
            for (int64_t i = b; i < e; i++) o[i] = v[c->idx[i]];
            break;
        }
        case 8: {
            const uint64_t *v = (const uint64_t *)c->values;
            uint64_t *o = (uint64_t *)c->out;
            for (int64_t i = b; i < e; i++) o[i] = v[c->idx[i]];
            break;
        }
        default:
            for (int64_t i = b; i < e; i++)
                memcpy(c->out + (size_t)i * c->itemsize,
                       c->values + (size_t)c->idx[i] * c->itemsize, c->itemsize);
        }
    }
}

int sy_take(const void *values, int64_t n_values, size_t itemsize, const int64_t *idx, int64_t n,
            void *out)
{
    if (n < 0 || n_values < 0 || itemsize == 0) return SY_EINVAL;
    take_ctx c = {(const char *)values, n_values, itemsize, idx, (char *)out, SY_OK};
    sy_parallel_for(n, 4 * TAKE_BLOCK, take_chunk, &c);
    return atomic_load(&c.status);
}
