/*
 * sy_text.c -- texts of many rows from templates, laid out as an Arrow large_string
 * array (offsets, then UTF-8 bytes): the recall list's plain-words reasons and product
 * lists without a Python object per row.  Pure C: no Python.h.  Both passes run on the
 * threads (rows are independent); between them one serial prefix sum turns lengths into
 * offsets, checking the total.
 */
#include <string.h>

#include "siyu.h"
#include "sy_items.h"

/* Number of characters of the decimal text of v ('-' included when negative). */
static inline int64_t text_ndigits(int64_t v)
{
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    int64_t d = 1;
    while (u >= 10000) {
        u /= 10000;
        d += 4;
    }
    d += (u >= 10) + (u >= 100) + (u >= 1000);
    return d + (v < 0);
}

/* Writes the decimal text of v, text_ndigits(v) bytes, at dst; returns that count. */
static inline int64_t text_digits(int64_t v, char *dst)
{
    const int64_t w0 = text_ndigits(v);
    int64_t w = w0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    if (v < 0) dst[0] = '-';
    do {
        dst[--w] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u);
    return w0;
}

/* Row i's byte length, or -1 for a template index out of range, -2 for a table index
   out of range.  Literal pieces count through lit_len[k] (their total per template). */
static int64_t text_row_len(const sy_text_job *J, int64_t i)
{
    int64_t used = 0, parts = 0;
    for (int64_t p = 0; p < J->P; p++) {
        const int64_t k = J->choice[p * J->n + i];
        if (k < 0) continue;
        if (k >= J->n_tpl) return -1;
        parts++;
        used += J->lit_len[k];
        for (int64_t j = 0; j < J->tpl_len[k]; j++) {
            const sy_text_piece *q = &J->tpl[k][j];
            if (q->kind == 1) {
                used += text_ndigits(J->ints[q->field * J->n + i]);
            } else if (q->kind == 2) {
                const int64_t v = J->ints[q->field * J->n + i];
                if (v < 0 || v >= J->tabs[q->table].n_str) return -2;
                used += J->tabs[q->table].len[v];
            }
        }
    }
    return used + (parts > 1 ? (parts - 1) * J->sep_len : 0);
}

/* Writes row i (its indices already checked by text_row_len) at dst. */
static void text_row_write(const sy_text_job *J, int64_t i, char *dst)
{
    int first = 1;
    for (int64_t p = 0; p < J->P; p++) {
        const int64_t k = J->choice[p * J->n + i];
        if (k < 0) continue;
        if (!first) {
            memcpy(dst, J->sep, (size_t)J->sep_len);
            dst += J->sep_len;
        }
        first = 0;
        for (int64_t j = 0; j < J->tpl_len[k]; j++) {
            const sy_text_piece *q = &J->tpl[k][j];
            if (q->kind == 0) {
                memcpy(dst, q->s, (size_t)q->len);
                dst += q->len;
            } else if (q->kind == 1) {
                dst += text_digits(J->ints[q->field * J->n + i], dst);
            } else {
                const sy_text_table *t = &J->tabs[q->table];
                const int64_t v = J->ints[q->field * J->n + i];
                memcpy(dst, t->s[v], (size_t)t->len[v]);
                dst += t->len[v];
            }
        }
    }
}

typedef struct {
    const sy_text_job *job;
    int64_t *off;
    char *dst;
} text_ctx;

#define TEXT_BLOCK 16384

static int text_len_block(void *ctx, int64_t lo, int64_t hi)
{
    const text_ctx *x = (const text_ctx *)ctx;
    for (int64_t i = lo; i < hi; i++) {
        const int64_t len = text_row_len(x->job, i);
        if (len < 0) return len == -1 ? SY_EINVAL : SY_TEXT_ETABLE;
        x->off[i + 1] = len;
    }
    return SY_OK;
}

static int text_write_block(void *ctx, int64_t lo, int64_t hi)
{
    const text_ctx *x = (const text_ctx *)ctx;
    for (int64_t i = lo; i < hi; i++) text_row_write(x->job, i, x->dst + x->off[i]);
    return SY_OK;
}

int sy_text_offsets(const sy_text_job *job, int64_t *offsets)
{
    if (job->n < 0 || job->P < 0) return SY_EINVAL;
    text_ctx x = {job, offsets, NULL};
    offsets[0] = 0;
    int st = sy_parallel_blocks(job->n, TEXT_BLOCK, 1, text_len_block, &x);
    if (st != SY_OK) return st;
    for (int64_t i = 0; i < job->n; i++) {
        if (offsets[i] > ((int64_t)1 << 62) - offsets[i + 1]) return SY_ERANGE;
        offsets[i + 1] += offsets[i];
    }
    return SY_OK;
}

int sy_text_write(const sy_text_job *job, const int64_t *offsets, char *dst)
{
    text_ctx x = {job, (int64_t *)offsets, dst};
    return sy_parallel_blocks(job->n, TEXT_BLOCK, 1, text_write_block, &x);
}
