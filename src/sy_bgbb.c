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
    const int64_t nterms = (int64_t)(n - tx);
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
        switch (what) {
        case SY_PRED_EXPECTED: {
            /* E[X(n*)] for a new customer: al/(al+be) sum_{i=1}^{n*} B(ga, de+i)/B(ga,de) */
            double ns = cols[0][i], s = 0.0, lb = 0.0;
            for (int64_t k = 1; k <= (int64_t)ns; k++) {
                lb += log((de + k - 1) / (ga + de + k - 1));
                s += exp(lb);
            }
            v = al / (al + be) * s;
            break;
        }
        case SY_PRED_COND_EXPECTED:
        case SY_PRED_DERT: {
            double a0 = cols[0][i], x = cols[1][i], tx = cols[2][i], nn = cols[3][i], ll, la;
            int st = bgbb_row(p, x, tx, nn, &ll, NULL, &la);
            if (st != SY_OK) return st;
            double lA = sy_lbeta(al + x + 1, be + nn - x) - lbab - ll;
            /* B(ga, de+nn+k)/B(ga,de) built recursively from B(ga, de+nn) */
            double lb = sy_lbeta(ga, de + nn) - lbgd, s = 0.0;
            if (what == SY_PRED_COND_EXPECTED) {
                for (int64_t k = 1; k <= (int64_t)a0; k++) {
                    lb += log((de + nn + k - 1) / (ga + de + nn + k - 1));
                    s += exp(lb);
                }
            } else {
                if (!(a0 > 0)) return SY_EINVAL;
                double ld = log1p(a0);
                int64_t k;
                for (k = 1; k < 100000000; k++) {
                    lb += log((de + nn + k - 1) / (ga + de + nn + k - 1));
                    double term = exp(lb - k * ld);
                    s += term;
                    if (term < 1e-17 * s * (1.0 - 1.0 / (1.0 + a0))) break;
                }
                if (k >= 100000000) return SY_ENOCONV;
            }
            v = exp(lA) * s;
            break;
        }
        case SY_PRED_PALIVE: {
            double ll, la;
            int st = bgbb_row(p, cols[0][i], cols[1][i], cols[2][i], &ll, NULL, &la);
            if (st != SY_OK) return st;
            /* alive at n+1: B(ga, de+n+1) instead of B(ga, de+n) in the alive term */
            double nn = cols[2][i];
            v = exp(la + log((de + nn) / (ga + de + nn)));
            break;
        }
        default:
            return SY_EINVAL;
        }
        if (!isfinite(v)) return SY_ENAN;
        out[i] = v;
    }
    return SY_OK;
}
