/*
 * sy_special.c -- special functions and helpers for the CLV models: digamma, log-beta,
 * log-add-exp, Gauss-Legendre nodes and a hash-based collapse of identical data rows.
 * (The Gaussian hypergeometric functions of Pareto/NBD and BG/NBD are summed in
 * sy_paretonbd.c and sy_bgnbd.c as transformed series specialised to those models.)
 */
/* lgamma_r (thread-safe: plain lgamma writes the global signgam) */
#define _DEFAULT_SOURCE 1
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "siyu.h"
#include "sy_models.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

double sy_digamma(double x)
{
    double r = 0.0;
    if (!(x > 0.0)) return NAN;
    while (x < 8.0) {
        r -= 1.0 / x;
        x += 1.0;
    }
    double f = 1.0 / (x * x);
    /* asymptotic expansion */
    double t = f * (-1.0 / 12 + f * (1.0 / 120 + f * (-1.0 / 252 + f * (1.0 / 240 + f * (-1.0 / 132)))));
    return r + log(x) - 0.5 / x + t;
}

double sy_lgamma(double x)
{
    int sign;
    return lgamma_r(x, &sign);
}

double sy_lbeta(double a, double b)
{
    return sy_lgamma(a) + sy_lgamma(b) - sy_lgamma(a + b);
}

double sy_logaddexp(double a, double b)
{
    if (a == -INFINITY) return b;
    if (b == -INFINITY) return a;
    return a > b ? a + log1p(exp(b - a)) : b + log1p(exp(a - b));
}

/* ---- Gauss-Legendre ------------------------------------------------------ */
static double gl_x[SY_GL_N], gl_w[SY_GL_N];
static pthread_once_t gl_once = PTHREAD_ONCE_INIT;

static void gl_init(void)
{
    const int n = SY_GL_N;
    for (int i = 0; i < n; i++) {
        double x = cos(M_PI * (i + 0.75) / (n + 0.5));
        double dp = 1.0;
        for (int it = 0; it < 100; it++) {
            double p0 = 1.0, p1 = x;
            for (int k = 2; k <= n; k++) {
                double p2 = ((2.0 * k - 1.0) * x * p1 - (k - 1.0) * p0) / k;
                p0 = p1;
                p1 = p2;
            }
            dp = n * (x * p1 - p0) / (x * x - 1.0);
            double dx = p1 / dp;
            x -= dx;
            if (fabs(dx) < 1e-16) break;
        }
        {
            double p0 = 1.0, p1 = x;
            for (int k = 2; k <= n; k++) {
                double p2 = ((2.0 * k - 1.0) * x * p1 - (k - 1.0) * p0) / k;
                p0 = p1;
                p1 = p2;
            }
            dp = n * (x * p1 - p0) / (x * x - 1.0);
        }
        gl_x[i] = x;
        gl_w[i] = 2.0 / ((1.0 - x * x) * dp * dp);
    }
}

void sy_gl_get(const double **nodes, const double **weights)
{
    pthread_once(&gl_once, gl_init);
    *nodes = gl_x;
    *weights = gl_w;
}

/* ---- hash collapse of identical rows -------------------------------------- */
static uint64_t mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

static uint64_t dbits(double v)
{
    uint64_t u;
    if (v == 0.0) v = 0.0; /* -0 == +0 */
    memcpy(&u, &v, sizeof u);
    return u;
}

/* one multiply per column and a full mix at the end: the columns' bits do not wait on
   a chain of k mixes (wide covariate rows), and the final mix spreads every bit */
static inline uint64_t dedup_hash(const double *const *cols, int k, int64_t i)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL;
    for (int j = 0; j < k; j++) {
        h ^= dbits(cols[j][i]);
        h = (h << 23 | h >> 41) * 0xff51afd7ed558ccdULL;
    }
    return mix64(h ^ (uint64_t)k);
}

int sy_dedup(const double *const *cols, int k, const double *w, int64_t n,
             double *const *ucols, double *uw, int64_t *inv, int64_t *m)
{
    if (k < 1 || k > 67 || n < 0) return SY_EINVAL;
    *m = 0;
    if (n == 0) return SY_OK;
    if (n >= ((int64_t)1 << 40)) return SY_ENOMEM;
    int64_t cap = 16;
    while (cap < 2 * n) cap *= 2;
    int64_t bytes;
    if (!sy_mul_ok(cap, (int64_t)sizeof(uint64_t), &bytes)) return SY_ENOMEM;
    /* a slot holds the unique row's index + 1 (low 40 bits; 0 = empty) and 24 bits of its
       hash, compared before any column is read */
    uint64_t *slot = (uint64_t *)calloc((size_t)cap, sizeof(uint64_t));
    if (!slot) return SY_ENOMEM;
    /* several columns: the distinct rows are also kept row by row, so checking a candidate
       reads one cache line (and one page) instead of one per column */
    double *rows = NULL;
    if (k > 1) {
        int64_t rb;
        if (!sy_mul_ok(n, (int64_t)k * (int64_t)sizeof(double), &rb)) {
            free(slot);
            return SY_ENOMEM;
        }
        rows = (double *)malloc((size_t)rb);
        if (!rows) {
            free(slot);
            return SY_ENOMEM;
        }
    }
    const uint64_t IDX = ((uint64_t)1 << 40) - 1;
    int64_t cnt = 0;
    /* the hashes of the next DEDUP_AHEAD rows are computed (and their slots prefetched)
       ahead of the probes: the table is larger than the caches, and a probe waits for
       memory otherwise */
#define DEDUP_AHEAD 32
    uint64_t hq[DEDUP_AHEAD];
    for (int64_t i = 0; i < n && i < DEDUP_AHEAD; i++) {
        hq[i] = dedup_hash(cols, k, i);
        __builtin_prefetch(&slot[hq[i] & (uint64_t)(cap - 1)]);
    }
    for (int64_t i = 0; i < n; i++) {
        if ((i & 0xFFFF) == 0xFFFF && sy_interrupted()) {
            free(rows);
            free(slot);
            return SY_EINTR;
        }
        const uint64_t h = hq[i % DEDUP_AHEAD];
        if (i + DEDUP_AHEAD / 2 < n) {
            /* halfway: the slot is in cache now; fetch the row it points to */
            const uint64_t sv = slot[hq[(i + DEDUP_AHEAD / 2) % DEDUP_AHEAD] & (uint64_t)(cap - 1)];
            if (sv != 0) {
                const int64_t u = (int64_t)(sv & IDX) - 1;
                if (rows) {
                    __builtin_prefetch(&rows[u * k]);
                    __builtin_prefetch(&rows[u * k + k - 1]);
                } else {
                    __builtin_prefetch(&ucols[0][u]);
                }
                if (uw) __builtin_prefetch(&uw[u], 1);
            }
        }
        if (i + DEDUP_AHEAD < n) {
            const uint64_t h2 = dedup_hash(cols, k, i + DEDUP_AHEAD);
            hq[i % DEDUP_AHEAD] = h2;
            __builtin_prefetch(&slot[h2 & (uint64_t)(cap - 1)]);
        }
        const uint64_t tag = h >> 40;
        int64_t pos = (int64_t)(h & (uint64_t)(cap - 1));
        for (;;) {
            const uint64_t sv = slot[pos];
            if (sv == 0) {
                slot[pos] = (tag << 40) | (uint64_t)(cnt + 1);
                for (int j = 0; j < k; j++) ucols[j][cnt] = cols[j][i];
                if (rows)
                    for (int j = 0; j < k; j++) rows[cnt * k + j] = cols[j][i];
                if (uw) uw[cnt] = w ? w[i] : 1.0;
                if (inv) inv[i] = cnt;
                cnt++;
                break;
            }
            if ((sv >> 40) == tag) {
                const int64_t u = (int64_t)(sv & IDX) - 1;
                const double *row = rows ? rows + u * k : NULL;
                int same = 1;
                for (int j = 0; j < k; j++) {
                    if (!((row ? row[j] : ucols[j][u]) == cols[j][i])) {
                        same = 0;
                        break;
                    }
                }
                if (same) {
                    if (uw) uw[u] += w ? w[i] : 1.0;
                    if (inv) inv[i] = u;
                    break;
                }
            }
            pos = (pos + 1) & (cap - 1);
        }
    }
    free(rows);
    free(slot);
    *m = cnt;
    return SY_OK;
}
