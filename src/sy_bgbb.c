/*
 * sy_bgbb.c -- BG/BB for discrete purchase opportunities (Fader, Hardie & Shang 2010):
 * log-likelihood, analytic gradient and predictions.
 *
 * A customer with x transactions in n opportunities, the last at opportunity t_x:
 *   L = B(al+x, be+n-x)/B(al,be) B(ga, de+n)/B(ga,de)
 *     + sum_{i=0}^{n-t_x-1} B(al+x, be+t_x-x+i)/B(al,be) B(ga+1, de+t_x+i)/B(ga,de)
 */
#include <math.h>
#include <stdlib.h>

#include "siyu.h"
#include "sy_models.h"
#include "sy_rng.h"

/* per-row log-likelihood and gradient (g may be NULL); log of the alive term in *lalive */
static int bgbb_row(const double *p, double x, double tx, double n, double *ll, double *g,
                    double *lalive)
{
    const double al = p[0], be = p[1], ga = p[2], de = p[3];
    const double lbab = sy_lbeta(al, be), lbgd = sy_lbeta(ga, de);
    const double pab = sy_digamma(al + be), pgd = sy_digamma(ga + de);
    const double pa = sy_digamma(al), pb = sy_digamma(be), pg = sy_digamma(ga), pd = sy_digamma(de);
    const double pax = sy_digamma(al + x);
    /* alive-through-n term */
    double l0 = sy_lbeta(al + x, be + n - x) - lbab + sy_lbeta(ga, de + n) - lbgd;
    double g0[4];
    if (g) {
        double pabn = sy_digamma(al + be + n), pgdn = sy_digamma(ga + de + n);
        g0[0] = pax - pabn - pa + pab;
        g0[1] = sy_digamma(be + n - x) - pabn - pb + pab;
        g0[2] = pgd - pgdn;
        g0[3] = sy_digamma(de + n) - pgdn - pd + pgd;
    }
    double m = l0;
    double acc[4] = {0, 0, 0, 0};
    double S = 1.0; /* sum of exp(l_i - m) */
    if (g)
        for (int j = 0; j < 4; j++) acc[j] = g0[j];
    if (!(n >= 0) || !(tx >= 0) || !(tx <= n) || !(x >= 0) || !(x <= n)) return SY_EINVAL;
    if (n > SY_MAX_OPPORTUNITIES) return SY_ERANGE;
    const int64_t nterms = (int64_t)(n - tx); /* 0 <= n - tx <= SY_MAX_OPPORTUNITIES */
    for (int64_t i = 0; i < nterms; i++) {
        double bq = be + tx - x + i, dq = de + tx + i;
        double li = sy_lbeta(al + x, bq) - lbab + sy_lbeta(ga + 1, dq) - lbgd;
        double gi[4] = {0, 0, 0, 0};
        if (g) {
            double pq = sy_digamma(al + x + bq), pr = sy_digamma(ga + 1 + dq);
            gi[0] = pax - pq - pa + pab;
            gi[1] = sy_digamma(bq) - pq - pb + pab;
            gi[2] = 1.0 / ga + pg - pr - pg + pgd;
            gi[3] = sy_digamma(dq) - pr - pd + pgd;
        }
        if (li > m) {
            double sc = exp(m - li);
            S *= sc;
            for (int j = 0; j < 4; j++) acc[j] *= sc;
            m = li;
        }
        double e = exp(li - m);
        S += e;
        for (int j = 0; j < 4; j++) acc[j] += e * gi[j];
    }
    *ll = m + log(S);
    if (lalive) *lalive = l0 - *ll;
    if (g)
        for (int j = 0; j < 4; j++) g[j] = acc[j] / S;
    return isfinite(*ll) ? SY_OK : SY_ENAN;
}

int sy_bgbb_loglik(const double *p, const sy_mdata *d, double *ll, double *grad)
{
    if (!(p[0] > 0 && p[1] > 0 && p[2] > 0 && p[3] > 0) || !isfinite(p[0] + p[1] + p[2] + p[3]))
        return SY_EINVAL;
    double tot = 0.0, G[4] = {0, 0, 0, 0};
    for (int64_t i = 0; i < d->n; i++) {
        double w = d->w ? d->w[i] : 1.0, l, g[4];
        int st = bgbb_row(p, d->c0[i], d->c1[i], d->c2[i], &l, grad ? g : NULL, NULL);
        if (st != SY_OK) return st;
        tot += w * l;
        if (grad)
            for (int j = 0; j < 4; j++) G[j] += w * g[j];
    }
    if (!isfinite(tot)) return SY_ENAN;
    *ll = tot;
    if (grad)
        for (int j = 0; j < 4; j++) {
            if (!isfinite(G[j])) return SY_ENAN;
            grad[j] = G[j];
        }
    return SY_OK;
}

/*
 * sum_{i=1}^{m} B(ga, de+n0+i)/B(ga, de): the probability-weighted count of the next m
 * opportunities at which a customer alive at n0 is still alive.  Closed form (the terms
 * telescope: Gamma(d+i)/Gamma(g+d+i) = [Gamma(d+i)/Gamma(g+d+i-1) - Gamma(d+i+1)/Gamma(g+d+i)]
 * / (g-1), d = de+n0):
 *   Gamma(ga+de)/Gamma(de) [Gamma(d+1)/Gamma(ga+d) - Gamma(d+m+1)/Gamma(ga+d+m)] / (ga-1),
 * used when its cancellation error (ga close to 1) is below 1e-12; otherwise the m terms are
 * summed (m <= SY_MAX_OPPORTUNITIES).
 */
static int bgbb_alive_sum(double ga, double de, double n0, double m, double *out)
{
    if (!(m >= 0) || m != floor(m)) return SY_EINVAL;
    if (m > SY_MAX_OPPORTUNITIES) return SY_ERANGE;
    if (m == 0) {
        *out = 0.0;
        return SY_OK;
    }
    const double d = de + n0;
    const double g1 = sy_lgamma(d + 1.0), g2 = sy_lgamma(ga + d);
    const double g3 = sy_lgamma(d + m + 1.0), g4 = sy_lgamma(ga + d + m);
    const double L1 = g1 - g2, D = (g3 - g4) - L1;
    const double err = 4.4e-16 * (fabs(g1) + fabs(g2) + fabs(g3) + fabs(g4) + 1.0);
    const double lead = sy_lgamma(ga + de) - sy_lgamma(de);
    if (ga != 1.0 && err < 1e-12 * fabs(D)) {
        *out = exp(lead + L1) * (-expm1(D)) / (ga - 1.0);
        return SY_OK;
    }
    /* ga (nearly) 1: sum the terms, B(ga, d+k)/B(ga,de) built recursively */
    double lb = sy_lbeta(ga, d) - sy_lbeta(ga, de), sum = 0.0;
    const int64_t mm = (int64_t)m;
    for (int64_t k = 1; k <= mm; k++) {
        if ((k & 0xFFFFF) == 0 && sy_interrupted()) return SY_EINTR;
        lb += log((d + k - 1) / (ga + d + k - 1));
        sum += exp(lb);
    }
    *out = sum;
    return SY_OK;
}

/* P(X(n) = x) for a new customer (Fader, Hardie & Shang 2010, eq. 7):
   C(n,x) B(al+x, be+n-x)/B(al,be) B(ga, de+n)/B(ga,de)
   + sum_{i=x}^{n-1} C(i,x) B(al+x, be+i-x)/B(al,be) B(ga+1, de+i)/B(ga,de). */
static int bgbb_pmf(const double *p, double x, double n, double *out)
{
    const double al = p[0], be = p[1], ga = p[2], de = p[3];
    if (!(x >= 0) || x != floor(x) || !(n >= 0) || n != floor(n)) return SY_EINVAL;
    if (n > SY_MAX_OPPORTUNITIES) return SY_ERANGE;
    if (x > n) {
        *out = 0.0;
        return SY_OK;
    }
    const double lbab = sy_lbeta(al, be), lbgd = sy_lbeta(ga, de), lgx = sy_lgamma(x + 1.0);
    double v = exp(sy_lgamma(n + 1.0) - lgx - sy_lgamma(n - x + 1.0) + sy_lbeta(al + x, be + n - x)
                   - lbab + sy_lbeta(ga, de + n) - lbgd);
    const int64_t lo = (int64_t)x, hi = (int64_t)n; /* both checked: 0 <= x <= n <= cap */
    for (int64_t i = lo; i < hi; i++) {
        if (((i - lo) & 0xFFFFF) == 0xFFFFF && sy_interrupted()) return SY_EINTR;
        const double di = (double)i;
        v += exp(sy_lgamma(di + 1.0) - lgx - sy_lgamma(di - x + 1.0) + sy_lbeta(al + x, be + di - x)
                 - lbab + sy_lbeta(ga + 1.0, de + di) - lbgd);
    }
    *out = v;
    return SY_OK;
}

/*
 * Predictions.  With P(alive at opportunity n+1 | data) and the posterior of p,
 *   E[transactions in (n, n+n*]] = exp(log A) * sum_{i=1}^{n*} B(ga, de+n+i)/B(ga,de)
 *   A = B(al+x+1, be+n-x)/B(al,be) / L.
 * DERT(d) = exp(log A) * sum_{i>=1} B(ga, de+n+i)/B(ga,de) / (1+d)^i (series to convergence).
 */
int sy_bgbb_predict(const double *p, int what, int64_t n, const double *const *cols,
                    double *out)
{
    const double al = p[0], be = p[1], ga = p[2], de = p[3];
    if (!(al > 0 && be > 0 && ga > 0 && de > 0)) return SY_EINVAL;
    const double lbab = sy_lbeta(al, be), lbgd = sy_lbeta(ga, de);
    for (int64_t i = 0; i < n; i++) {
        double v = NAN;
        int st = SY_OK;
        switch (what) {
        case SY_PRED_EXPECTED: {
            /* E[X(n*)] for a new customer: al/(al+be) sum_{i=1}^{n*} B(ga, de+i)/B(ga,de) */
            double s = 0.0;
            st = bgbb_alive_sum(ga, de, 0.0, cols[0][i], &s);
            v = al / (al + be) * s;
            break;
        }
        case SY_PRED_COND_EXPECTED:
        case SY_PRED_DERT: {
            double a0 = cols[0][i], x = cols[1][i], tx = cols[2][i], nn = cols[3][i], ll, la;
            st = bgbb_row(p, x, tx, nn, &ll, NULL, &la);
            if (st != SY_OK) return st;
            double lA = sy_lbeta(al + x + 1, be + nn - x) - lbab - ll;
            double s = 0.0;
            if (what == SY_PRED_COND_EXPECTED) {
                st = bgbb_alive_sum(ga, de, nn, a0, &s);
            } else {
                /* B(ga, de+nn+k)/B(ga,de) built recursively from B(ga, de+nn) */
                double lb = sy_lbeta(ga, de + nn) - lbgd;
                if (!(a0 > 0)) return SY_EINVAL;
                double ld = log1p(a0);
                int64_t k;
                for (k = 1; k < 100000000; k++) {
                    lb += log((de + nn + k - 1) / (ga + de + nn + k - 1));
                    double term = exp(lb - k * ld);
                    s += term;
                    if (term < 1e-17 * s * (1.0 - 1.0 / (1.0 + a0))) break;
                    if ((k & 0xFFFFF) == 0 && sy_interrupted()) return SY_EINTR;
                }
                if (k >= 100000000) return SY_ENOCONV;
            }
            v = exp(lA) * s;
            break;
        }
        case SY_PRED_PALIVE: {
            double ll, la;
            st = bgbb_row(p, cols[0][i], cols[1][i], cols[2][i], &ll, NULL, &la);
            if (st != SY_OK) return st;
            /* alive at n+1: B(ga, de+n+1) instead of B(ga, de+n) in the alive term */
            double nn = cols[2][i];
            v = exp(la + log((de + nn) / (ga + de + nn)));
            break;
        }
        case SY_PRED_PMF:
            st = bgbb_pmf(p, cols[0][i], cols[1][i], &v);
            break;
        default:
            return SY_EINVAL;
        }
        if (st != SY_OK) return st;
        if (!isfinite(v)) return SY_ENAN;
        out[i] = v;
    }
    return SY_OK;
}

/* ---- simulation -------------------------------------------------------------------- */

typedef struct {
    const double *p;
    const int64_t *n_opp;
    int64_t n_star;
    uint64_t seed;
    int64_t *x, *tx, *x_star;
    int8_t *alive;
    int64_t lo, hi;
    int status;
} bgbb_sim_job;

static void *bgbb_sim_worker(void *arg)
{
    bgbb_sim_job *j = (bgbb_sim_job *)arg;
    const double *p = j->p;
    j->status = SY_OK;
    for (int64_t i = j->lo; i < j->hi; i++) {
        if (((i - j->lo) & 4095) == 4095 && sy_interrupted()) {
            j->status = SY_EINTR;
            return NULL;
        }
        const int64_t n = j->n_opp[i];
        if (n < 0 || n > (int64_t)SY_MAX_OPPORTUNITIES) {
            j->status = SY_EINVAL;
            return NULL;
        }
        sy_rng rg;
        sy_rng_seed(&rg, j->seed, (uint64_t)i);
        double g1 = sy_rng_gamma(&rg, p[0]), g2 = sy_rng_gamma(&rg, p[1]);
        const double pt = g1 / (g1 + g2);
        double h1 = sy_rng_gamma(&rg, p[2]), h2 = sy_rng_gamma(&rg, p[3]);
        const double th = h1 / (h1 + h2);
        int64_t x = 0, tx = 0, xs = 0, k;
        int alive = 1;
        for (k = 1; k <= n + j->n_star; k++) {
            if (sy_rng_unif(&rg) < th) { /* dies before opportunity k */
                alive = 0;
                break;
            }
            if (sy_rng_unif(&rg) < pt) {
                if (k <= n) {
                    x++;
                    tx = k;
                } else {
                    xs++;
                }
            }
        }
        j->x[i] = x;
        j->tx[i] = tx;
        j->x_star[i] = xs;
        j->alive[i] = (int8_t)alive;
    }
    return NULL;
}

int sy_bgbb_simulate(const double *p, int64_t n, const int64_t *n_opp, int64_t n_star,
                     uint64_t seed, int64_t *x, int64_t *tx, int64_t *x_star, int8_t *alive)
{
    for (int j = 0; j < 4; j++)
        if (!(p[j] > 0) || !isfinite(p[j])) return SY_EINVAL;
    if (n < 0 || n_star < 0 || n_star > (int64_t)SY_MAX_OPPORTUNITIES) return SY_EINVAL;
    int nth = sy_get_num_threads();
    if (nth > SY_THREADS_CAP) nth = SY_THREADS_CAP;
    if (n < 20000) nth = 1;
    bgbb_sim_job jobs[SY_THREADS_CAP];
    for (int t = 0; t < nth; t++)
        jobs[t] = (bgbb_sim_job){p, n_opp, n_star, seed, x, tx, x_star, alive,
                                 n * t / nth, n * (t + 1) / nth, SY_OK};
    sy_run_jobs(bgbb_sim_worker, jobs, sizeof(bgbb_sim_job), nth);
    for (int t = 0; t < nth; t++)
        if (jobs[t].status != SY_OK) return jobs[t].status;
    return SY_OK;
}
