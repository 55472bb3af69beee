/*
 * sy_rng.h -- the random number generator shared by siyu's simulators.
 *
 * xoshiro256** (Blackman & Vigna) seeded through splitmix64 from (seed, stream), so
 * each customer (stream) has its own reproducible sequence whatever the thread count.
 * Samplers: uniform (0, 1), exponential, standard normal (Marsaglia polar method, the
 * pair's second value kept), Gamma(shape, 1) (Marsaglia & Tsang 2000, with the
 * u^(1/shape) boost for shape < 1).
 */
#ifndef SY_RNG_H
#define SY_RNG_H

#include <math.h>
#include <stdint.h>

typedef struct {
    uint64_t s[4];
    double spare;   /* second normal of the last polar pair */
    int has_spare;
} sy_rng;

static inline uint64_t sy_rng_splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline void sy_rng_seed(sy_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xd1342543de82ef95ULL + 0x632be59bd9b4e019ULL);
    for (int i = 0; i < 4; i++) r->s[i] = sy_rng_splitmix(&x);
    r->spare = 0.0;
    r->has_spare = 0;
}

static inline uint64_t sy_rng_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t sy_rng_next(sy_rng *r)
{
    uint64_t *s = r->s;
    uint64_t res = sy_rng_rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = sy_rng_rotl(s[3], 45);
    return res;
}

/* uniform in (0, 1), never 0 or 1 */
static inline double sy_rng_unif(sy_rng *r)
{
    return ((double)(sy_rng_next(r) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

static inline double sy_rng_exp(sy_rng *r) { return -log(sy_rng_unif(r)); }

static inline double sy_rng_norm(sy_rng *r)
{
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    double v1, v2, s;
    do {
        v1 = 2.0 * sy_rng_unif(r) - 1.0;
        v2 = 2.0 * sy_rng_unif(r) - 1.0;
        s = v1 * v1 + v2 * v2;
    } while (s >= 1.0 || s == 0.0);
    const double f = sqrt(-2.0 * log(s) / s);
    r->spare = v2 * f;
    r->has_spare = 1;
    return v1 * f;
}

static inline double sy_rng_gamma(sy_rng *r, double shape)
{
    double boost = 1.0;
    if (shape < 1.0) {
        boost = exp(log(sy_rng_unif(r)) / shape);
        shape += 1.0;
    }
    const double dd = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * dd);
    for (;;) {
        double x = sy_rng_norm(r), v = 1.0 + c * x;
        if (v <= 0) continue;
        v = v * v * v;
        double u = sy_rng_unif(r), x2 = x * x;
        if (u < 1.0 - 0.0331 * x2 * x2 || log(u) < 0.5 * x2 + dd - dd * v + dd * log(v)) {
            double g = dd * v * boost;
            return g > 0 ? g : 1e-300;
        }
    }
}

#endif /* SY_RNG_H */
