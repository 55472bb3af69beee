/*
 * sy_take.c -- gathers: out[i] = values[idx[i]], on all threads, with a Ctrl-C poll per
 * block.  Building the log from an export gathers several columns by row numbers; a
 * NumPy fancy index would hold the GIL (and Ctrl-C) for the whole of each one.
 */
#include "siyu.h"

#include <string.h>

#define TAKE_BLOCK 65536

typedef struct {
    const char *values;
    int64_t n_values;
    size_t itemsize;
    const int64_t *idx;
    char *out;
} take_ctx;

static int take_block(void *vctx, int64_t b, int64_t e)
{
    const take_ctx *c = (const take_ctx *)vctx;
    for (int64_t i = b; i < e; i++)
        if ((uint64_t)c->idx[i] >= (uint64_t)c->n_values) return SY_EINVAL;
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
            memcpy(c->out + (size_t)i * c->itemsize, c->values + (size_t)c->idx[i] * c->itemsize,
                   c->itemsize);
    }
    return SY_OK;
}

int sy_take(const void *values, int64_t n_values, size_t itemsize, const int64_t *idx, int64_t n,
            void *out)
{
    if (n < 0 || n_values < 0 || itemsize == 0) return SY_EINVAL;
    take_ctx c = {(const char *)values, n_values, itemsize, idx, (char *)out};
    return sy_parallel_blocks(n, TAKE_BLOCK, 4, take_block, &c);
}
