/*
 * sy_shop.c -- scenario simulator of a private-domain shop (see sy_shop.h).
 *
 * Every customer owns two random streams (xoshiro256** seeded by splitmix64 of the seed
 * and the customer index, as in sy_simulate.c): one for channel, acquisition, lifetime
 * and order times, one for order values.  The count pass draws order values only when
 * they decide membership (spend threshold > 0), so it is cheap; the fill pass repeats
 * the same draws and writes them out.  Results do not depend on the thread count.
 *
 * Purchase process of one customer (times in window days, day d = [d, d+1)):
 *   acquisition (first order) at t = a, a drawn from acq_cdf on {0..n_days-1} (uniform
 *   when acq_cdf is NULL);
 *   dropout at a + Exp(mean life[c]);
 *   repeat orders: Poisson with intensity rate[c] * day_mult[floor(t)] * (member ?
 *   member_rate_mult : 1) while t < min(dropout, n_days) -- drawn by thinning against
 *   the maximum day multiplier;
 *   joining: an eligible customer joins at the order whose cumulative paid amount
 *   reaches member_threshold (threshold <= 0: at the first order); the remaining
 *   lifetime is then redrawn as Exp(mean life[c] * member_life_mult) (memoryless, so
 *   this is the same as dividing the dropout hazard by member_life_mult), and orders
 *   after the joining one are priced at (1 - member_discount) of list.
 *   order values: list price = Gamma(shape, mean aov[c]) * (service ? service_aov_mult : 1).
 */
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "siyu.h"
#include "sy_rng.h"
#include "sy_shop.h"

static int finite_ge(double x, double lo) { return isfinite(x) && x >= lo; }

/* 1 when cum[0 .. n-1] is a non-decreasing sequence in [0, 1] ending at 1. */
static int is_cum(const double *cum, int64_t n)
{
    double prev = 0.0;
    for (int64_t j = 0; j < n; j++) {
        if (!finite_ge(cum[j], prev) || cum[j] > 1.0 + 1e-9) return 0;
        prev = cum[j];
    }
    return n > 0 && fabs(prev - 1.0) <= 1e-9;
}

static int check_products(const sy_shop_products *P)
{
    const int64_t np = P->n_products, nc = P->n_categories;
    if (np < 1 || nc < 1 || nc > 100000 || !P->category || !P->entry_cum || !P->cycle_mean ||
        !P->cycle_shape || !P->ext_cum || !P->dur_off || !P->dur_prod || !P->dur_cum)
        return SY_EINVAL;
    if (!is_cum(P->entry_cum, np)) return SY_EINVAL;
    for (int64_t j = 0; j < np; j++) {
        if (P->category[j] < 0 || P->category[j] >= nc || !isfinite(P->cycle_mean[j]))
            return SY_EINVAL;
        if (P->cycle_mean[j] > 0 && !(P->cycle_shape[j] > 0 && isfinite(P->cycle_shape[j])))
            return SY_EINVAL;
    }
    if (P->dur_off[0] != 0) return SY_EINVAL;
    for (int64_t b = 0; b < nc; b++) {
        const int64_t lo = P->dur_off[b], hi = P->dur_off[b + 1];
        if (hi < lo || hi > np) return SY_EINVAL;
        for (int64_t j = lo; j < hi; j++)
            if (P->dur_prod[j] < 0 || P->dur_prod[j] >= np || P->category[P->dur_prod[j]] != b ||
                P->cycle_mean[P->dur_prod[j]] > 0)
                return SY_EINVAL;
        if (hi > lo && !is_cum(P->dur_cum + lo, hi - lo)) return SY_EINVAL;
    }
    /* the row of every entry category is a distribution over categories with durables */
    for (int64_t j = 0; j < np; j++) {
        const double w = P->entry_cum[j] - (j ? P->entry_cum[j - 1] : 0.0);
        if (!(w > 0)) continue;
        const double *row = P->ext_cum + P->category[j] * nc;
        if (!is_cum(row, nc)) return SY_EINVAL;
        for (int64_t b = 0; b < nc; b++) {
            const double pb = row[b] - (b ? row[b - 1] : 0.0);
            if (pb > 0 && P->dur_off[b + 1] == P->dur_off[b]) return SY_EINVAL;
        }
    }
    return SY_OK;
}

/* First index j in 0 .. n-1 with cum[j] > u (n - 1 when none: rounding at the top). */
static int64_t draw_cum(const double *cum, int64_t n, double u)
{
    int64_t lo = 0, hi = n - 1;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (cum[mid] > u) hi = mid;
        else lo = mid + 1;
    }
    return lo;
}

/* Per-thread scratch copy of a customer's regular orders for the merge with the
   replenishment orders. */
typedef struct {
    int64_t cap;
    int64_t *day, *prod;
    double *amount;
    uint8_t *member;
} shop_scratch;

static int scratch_reserve(shop_scratch *s, int64_t n)
{
    if (n <= s->cap) return 1;
    int64_t cap = n > 2 * s->cap ? n : 2 * s->cap;
    int64_t *d = (int64_t *)realloc(s->day, sizeof(int64_t) * (size_t)cap);
    if (!d) return 0;
    s->day = d;
    int64_t *q = (int64_t *)realloc(s->prod, sizeof(int64_t) * (size_t)cap);
    if (!q) return 0;
    s->prod = q;
    double *a = (double *)realloc(s->amount, sizeof(double) * (size_t)cap);
    if (!a) return 0;
    s->amount = a;
    uint8_t *m = (uint8_t *)realloc(s->member, (size_t)cap);
    if (!m) return 0;
    s->member = m;
    s->cap = cap;
    return 1;
}

int sy_shop_check(const sy_shop_params *p)
{
    if (!p || p->n_channels < 1 || p->n_days < 1) return SY_EINVAL;
    if (!p->share_cum || !p->rate || !p->life || !p->aov || !p->aov_shape || !p->day_mult)
        return SY_EINVAL;
    double prev = 0.0, max_rate = 0.0, hmax = 0.0;
    for (int64_t c = 0; c < p->n_channels; c++) {
        if (!finite_ge(p->share_cum[c], prev) || p->share_cum[c] > 1.0 + 1e-9) return SY_EINVAL;
        prev = p->share_cum[c];
        if (!finite_ge(p->rate[c], 0.0) || !(p->life[c] > 0) || !isfinite(p->life[c]))
            return SY_EINVAL;
        if (!finite_ge(p->aov[c], 0.0) || !finite_ge(p->aov_shape[c], 0.0)) return SY_EINVAL;
        if (p->rate[c] > max_rate) max_rate = p->rate[c];
    }
    if (fabs(prev - 1.0) > 1e-9) return SY_EINVAL;
    for (int64_t d = 0; d < p->n_days; d++) {
        if (!finite_ge(p->day_mult[d], 0.0)) return SY_EINVAL;
        if (p->day_mult[d] > hmax) hmax = p->day_mult[d];
    }
    if (p->acq_cdf) {
        double q = 0.0;
        for (int64_t d = 0; d < p->n_days; d++) {
            if (!finite_ge(p->acq_cdf[d], q) || p->acq_cdf[d] > 1.0 + 1e-9) return SY_EINVAL;
            q = p->acq_cdf[d];
        }
        if (fabs(q - 1.0) > 1e-9) return SY_EINVAL;
    }
    if (!(p->member_share >= 0 && p->member_share <= 1) || !isfinite(p->member_threshold) ||
        !finite_ge(p->member_rate_mult, 0.0) || !(p->member_life_mult > 0) ||
        !isfinite(p->member_life_mult) || !(p->member_discount >= 0 && p->member_discount < 1) ||
        !(p->service_share >= 0 && p->service_share <= 1) || !finite_ge(p->service_aov_mult, 0.0))
        return SY_EINVAL;
    double m = p->member_rate_mult > 1.0 ? p->member_rate_mult : 1.0;
    if (max_rate * m * hmax * (double)p->n_days > 1e8) return SY_ERANGE;
    return p->products ? check_products(p->products) : SY_OK;
}

typedef struct {
    const sy_shop_params *p;
    double hmax;
    uint64_t seed;
    int write;
    int64_t *count_out;        /* count pass */
    const int64_t *count_in;   /* fill pass: the count pass's result */
    const int64_t *offset;
    int64_t *order_day;
    double *order_amount;
    uint8_t *order_member;
    int64_t *channel, *acq_day, *member_since;
    double *dropout;
    uint8_t *eligible, *service;
    int64_t *order_product, *entry_product;
    uint8_t *order_replenish;
    atomic_int bad;
    atomic_int nomem;
} shop_ctx;

/* Simulate customer i; returns its number of orders.  With x->write, writes at most
   cap orders starting at off (cap = the count pass's result, so never out of bounds). */
static int64_t shop_one(shop_ctx *x, int64_t i, int64_t off, int64_t cap, shop_scratch *scr)
{
    const sy_shop_params *p = x->p;
    const sy_shop_products *P = p->products;
    sy_rng rt, ra, rp, rc, rca;
    sy_rng_seed(&rt, x->seed, (uint64_t)i);
    sy_rng_seed(&ra, x->seed ^ 0x5bd1e9955bd1e995ULL, (uint64_t)i);
    int64_t entry = -1, entry_cat = -1;
    if (P) { /* own streams: the draws above are the same with and without products */
        sy_rng_seed(&rp, x->seed ^ 0x9e3779b97f4a7c15ULL, (uint64_t)i);
        sy_rng_seed(&rc, x->seed ^ 0xc2b2ae3d27d4eb4fULL, (uint64_t)i);
        sy_rng_seed(&rca, x->seed ^ 0x165667b19e3779f9ULL, (uint64_t)i);
        entry = draw_cum(P->entry_cum, P->n_products, sy_rng_unif(&rp));
        entry_cat = P->category[entry];
    }
    double u = sy_rng_unif(&rt);
    int64_t c = 0;
    while (c < p->n_channels - 1 && u >= p->share_cum[c]) c++;
    int64_t a;
    const double ua = sy_rng_unif(&rt);
    if (p->acq_cdf) { /* first day with cdf > ua (binary search) */
        int64_t lo = 0, hi = p->n_days - 1;
        while (lo < hi) {
            int64_t mid = lo + (hi - lo) / 2;
            if (p->acq_cdf[mid] > ua) hi = mid;
            else lo = mid + 1;
        }
        a = lo;
    } else {
        a = (int64_t)(ua * (double)p->n_days);
        if (a >= p->n_days) a = p->n_days - 1;
    }
    const int svc = sy_rng_unif(&rt) < p->service_share;
    const int elig = sy_rng_unif(&rt) < p->member_share;
    double death = (double)a + sy_rng_exp(&rt) * p->life[c];
    const double value_mult = svc ? p->service_aov_mult : 1.0;
    const double shape = p->aov_shape[c], mean = p->aov[c], D = (double)p->n_days;
    const double hmax = x->hmax, thr = p->member_threshold;
    int member = 0;
    int64_t since = -1;
    double cum = 0.0, t = (double)a;
    int64_t k = 0;
    for (;;) {
        /* an order at time t */
        const int64_t day = (int64_t)t;
        const int need_value = x->write || (elig && !member && thr > 0);
        double paid = 0.0;
        if (need_value) {
            double list = (shape > 0 ? sy_rng_gamma(&ra, shape) / shape : 1.0) * mean * value_mult;
            paid = member ? list * (1.0 - p->member_discount) : list;
        }
        if (!member && elig) {
            cum += paid;
            if (thr <= 0 || cum >= thr) {
                member = 1;
                since = day;
                death = t + sy_rng_exp(&rt) * p->life[c] * p->member_life_mult;
            }
        }
        if (x->write && k < cap) {
            x->order_day[off + k] = day;
            x->order_amount[off + k] = paid;
            x->order_member[off + k] = (uint8_t)member;
            if (P) {
                int64_t prod = entry;
                if (day != a) { /* a later day: a durable of a category drawn from the row */
                    const int64_t b = draw_cum(P->ext_cum + entry_cat * P->n_categories,
                                               P->n_categories, sy_rng_unif(&rp));
                    const int64_t lo = P->dur_off[b], hi = P->dur_off[b + 1];
                    const double u = sy_rng_unif(&rp);
                    if (hi > lo) prod = P->dur_prod[lo + draw_cum(P->dur_cum + lo, hi - lo, u)];
                }
                x->order_product[off + k] = prod;
                x->order_replenish[off + k] = 0;
            }
        }
        k++;
        /* the next order, by thinning */
        const double rate = p->rate[c] * (member ? p->member_rate_mult : 1.0) * hmax;
        if (!(rate > 0)) break;
        const double stop = death < D ? death : D;
        int accepted = 0;
        for (;;) {
            t += sy_rng_exp(&rt) / rate;
            if (!(t < stop)) break;
            if (sy_rng_unif(&rt) * hmax < p->day_mult[(int64_t)t]) {
                accepted = 1;
                break;
            }
        }
        if (!accepted) break;
    }
    if (P && P->cycle_mean[entry] > 0) {
        /* replenishment orders of the entry product, every max(1, round(G)) days */
        const int64_t kr = k;
        const double cshape = P->cycle_shape[entry], cmean = P->cycle_mean[entry];
        int64_t d = a;
        for (;;) {
            const double g = sy_rng_gamma(&rc, cshape) / cshape * cmean;
            if (!(g < D)) break;
            int64_t gd = (int64_t)floor(g + 0.5);
            if (gd < 1) gd = 1;
            d += gd;
            if (d >= p->n_days || (double)d >= death) break;
            if (x->write && k < cap) {
                double list = (shape > 0 ? sy_rng_gamma(&rca, shape) / shape : 1.0) * mean * value_mult;
                const int is_mem = since >= 0 && d >= since;
                x->order_day[off + k] = d;
                x->order_amount[off + k] = (since >= 0 && d > since) ? list * (1.0 - p->member_discount)
                                                                     : list;
                x->order_member[off + k] = (uint8_t)is_mem;
                x->order_product[off + k] = entry;
                x->order_replenish[off + k] = 1;
            }
            k++;
        }
        if (x->write && k > kr && k <= cap) {
            /* merge the regular orders [off, off + kr) with the replenishment orders
               [off + kr, off + k) by day (regular first on a tie), in place */
            if (!scratch_reserve(scr, kr)) {
                atomic_store(&x->nomem, 1);
            } else {
                for (int64_t j = 0; j < kr; j++) {
                    scr->day[j] = x->order_day[off + j];
                    scr->amount[j] = x->order_amount[off + j];
                    scr->member[j] = x->order_member[off + j];
                    scr->prod[j] = x->order_product[off + j];
                }
                int64_t r = 0, q = kr, w = off;
                while (r < kr || q < k) {
                    if (q >= k || (r < kr && scr->day[r] <= x->order_day[off + q])) {
                        x->order_day[w] = scr->day[r];
                        x->order_amount[w] = scr->amount[r];
                        x->order_member[w] = scr->member[r];
                        x->order_product[w] = scr->prod[r];
                        x->order_replenish[w] = 0;
                        r++;
                    } else {
                        x->order_day[w] = x->order_day[off + q];
                        x->order_amount[w] = x->order_amount[off + q];
                        x->order_member[w] = x->order_member[off + q];
                        x->order_product[w] = x->order_product[off + q];
                        x->order_replenish[w] = 1;
                        q++;
                    }
                    w++;
                }
            }
        }
    }
    if (x->write && P) x->entry_product[i] = entry;
    if (x->write) {
        x->channel[i] = c;
        x->acq_day[i] = a;
        x->dropout[i] = death;
        x->member_since[i] = since;
        x->eligible[i] = (uint8_t)elig;
        x->service[i] = (uint8_t)svc;
    }
    return k;
}

static void shop_range(void *ctx, int64_t lo, int64_t hi)
{
    shop_ctx *x = (shop_ctx *)ctx;
    shop_scratch scr = {0, NULL, NULL, NULL, NULL};
    for (int64_t i = lo; i < hi; i++) {
        if (!x->write) {
            x->count_out[i] = shop_one(x, i, 0, 0, &scr);
        } else {
            int64_t k = shop_one(x, i, x->offset[i], x->count_in[i], &scr);
            if (k != x->count_in[i]) atomic_store(&x->bad, 1);
        }
    }
    free(scr.day);
    free(scr.prod);
    free(scr.amount);
    free(scr.member);
}

static double shop_hmax(const sy_shop_params *p)
{
    double h = 0.0;
    for (int64_t d = 0; d < p->n_days; d++)
        if (p->day_mult[d] > h) h = p->day_mult[d];
    return h;
}

int sy_shop_count(const sy_shop_params *p, int64_t n, uint64_t seed, int64_t *count)
{
    int st = sy_shop_check(p);
    if (st != SY_OK) return st;
    if (n < 0 || (n > 0 && !count)) return SY_EINVAL;
    shop_ctx x = {0};
    x.p = p;
    x.hmax = shop_hmax(p);
    x.seed = seed;
    x.write = 0;
    x.count_out = count;
    atomic_init(&x.bad, 0);
    atomic_init(&x.nomem, 0);
    sy_parallel_for(n, 20000, shop_range, &x);
    return SY_OK;
}

int sy_shop_fill(const sy_shop_params *p, int64_t n, uint64_t seed, const int64_t *count,
                 const int64_t *offset, int64_t *order_day, double *order_amount,
                 uint8_t *order_member, int64_t *channel, int64_t *acq_day, double *dropout,
                 int64_t *member_since, uint8_t *eligible, uint8_t *service,
                 int64_t *order_product, uint8_t *order_replenish, int64_t *entry_product)
{
    int st = sy_shop_check(p);
    if (st != SY_OK) return st;
    if (n < 0) return SY_EINVAL;
    if (n > 0 && (!count || !offset || !channel || !acq_day || !dropout || !member_since ||
                  !eligible || !service))
        return SY_EINVAL;
    if (n > 0 && p->products && (!order_product || !order_replenish || !entry_product))
        return SY_EINVAL;
    shop_ctx x = {0};
    x.p = p;
    x.hmax = shop_hmax(p);
    x.seed = seed;
    x.write = 1;
    x.count_in = count;
    x.offset = offset;
    x.order_day = order_day;
    x.order_amount = order_amount;
    x.order_member = order_member;
    x.channel = channel;
    x.acq_day = acq_day;
    x.dropout = dropout;
    x.member_since = member_since;
    x.eligible = eligible;
    x.service = service;
    x.order_product = order_product;
    x.order_replenish = order_replenish;
    x.entry_product = entry_product;
    atomic_init(&x.bad, 0);
    atomic_init(&x.nomem, 0);
    sy_parallel_for(n, 20000, shop_range, &x);
    if (atomic_load(&x.nomem)) return SY_ENOMEM;
    return atomic_load(&x.bad) ? SY_EINVAL : SY_OK;
}
