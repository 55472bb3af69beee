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

#include "siyu.h"
#include "sy_rng.h"
#include "sy_shop.h"

static int finite_ge(double x, double lo) { return isfinite(x) && x >= lo; }

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
    return SY_OK;
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
    atomic_int bad;
} shop_ctx;

/* Simulate customer i; returns its number of orders.  With x->write, writes at most
   cap orders starting at off (cap = the count pass's result, so never out of bounds). */
static int64_t shop_one(const shop_ctx *x, int64_t i, int64_t off, int64_t cap)
{
    const sy_shop_params *p = x->p;
    sy_rng rt, ra;
    sy_rng_seed(&rt, x->seed, (uint64_t)i);
    sy_rng_seed(&ra, x->seed ^ 0x5bd1e9955bd1e995ULL, (uint64_t)i);
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
    for (int64_t i = lo; i < hi; i++) {
        if (!x->write) {
            x->count_out[i] = shop_one(x, i, 0, 0);
        } else {
            int64_t k = shop_one(x, i, x->offset[i], x->count_in[i]);
            if (k != x->count_in[i]) atomic_store(&x->bad, 1);
        }
    }
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
    sy_parallel_for(n, 20000, shop_range, &x);
    return SY_OK;
}

int sy_shop_fill(const sy_shop_params *p, int64_t n, uint64_t seed, const int64_t *count,
                 const int64_t *offset, int64_t *order_day, double *order_amount,
                 uint8_t *order_member, int64_t *channel, int64_t *acq_day, double *dropout,
                 int64_t *member_since, uint8_t *eligible, uint8_t *service)
{
    int st = sy_shop_check(p);
    if (st != SY_OK) return st;
    if (n < 0) return SY_EINVAL;
    if (n > 0 && (!count || !offset || !channel || !acq_day || !dropout || !member_since ||
                  !eligible || !service))
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
    atomic_init(&x.bad, 0);
    sy_parallel_for(n, 20000, shop_range, &x);
    return atomic_load(&x.bad) ? SY_EINVAL : SY_OK;
}
