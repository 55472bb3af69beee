/*
 * sy_sbg.c -- shifted-beta-geometric contractual retention model (Fader & Hardie 2007).
 *   P(churn in period t) = B(al+1, be+t-1)/B(al,be),  S(t) = B(al, be+t)/B(al,be).
 * Data per customer: t = period of churn (1-based) and T; t >= T means still active after
 * T-1 renewals (censored), contributing S(T-1).
 */
#include <math.h>

#include "siyu.h"
#include "sy_models.h"

int sy_sbg_loglik(const double *p, const sy_mdata *d, double *ll, double *grad)
{
    const double a = p[0], b = p[1];
    if (!(a > 0 && b > 0) || !isfinite(a + b)) return SY_EINVAL;
    const double lb0 = sy_lbeta(a, b), pab = sy_digamma(a + b), pb = sy_digamma(b);
    double tot = 0.0, G0 = 0.0, G1 = 0.0;
    for (int64_t i = 0; i < d->n; i++) {
        const double w = d->w ? d->w[i] : 1.0, t = d->c0[i], T = d->c1[i];
        if (t < T) {
            double bq = b + t - 1, ps = sy_digamma(a + 1 + bq);
            tot += w * (sy_lbeta(a + 1, bq) - lb0);
            G0 += w * (1.0 / a - ps + pab);
            G1 += w * (sy_digamma(bq) - ps - pb + pab);
        } else {
            double bq = b + T - 1, ps = sy_digamma(a + bq);
            tot += w * (sy_lbeta(a, bq) - lb0);
            G0 += w * (pab - ps);
            G1 += w * (sy_digamma(bq) - ps - pb + pab);
        }
    }
    if (!isfinite(tot) || !isfinite(G0 + G1)) return SY_ENAN;
    *ll = tot;
    if (grad) {
        grad[0] = G0;
        grad[1] = G1;
    }
    return SY_OK;
}

/* log Gamma(x + a) - log Gamma(x) for x, a > 0 without the cancellation of two huge
   lgamma values when x is large (S(1e16) would otherwise be off by a factor e^35): Stirling's
   series for both terms, differenced term by term (truncation error < 1e-20 for x >= 1e4). */
static double lgamma_shift(double x, double a)
{
    if (x < 1e4) return sy_lgamma(x + a) - sy_lgamma(x);
    const double y = x + a;
    return (x - 0.5) * log1p(a / x) + a * log(y) - a + (1.0 / y - 1.0 / x) / 12.0 -
           (1.0 / (y * y * y) - 1.0 / (x * x * x)) / 360.0;
}

int sy_sbg_predict(const double *p, int what, int64_t n, const double *const *cols, double *out)
{
    const double a = p[0], b = p[1];
    if (!(a > 0 && b > 0)) return SY_EINVAL;
    for (int64_t i = 0; i < n; i++) {
        double v;
        switch (what) {
        case SY_PRED_SURVIVAL: {
            double t = cols[0][i];
            /* log S(t) = lbeta(a, b+t) - lbeta(a, b) = [lgG(a+b) - lgG(b)] - [lgG(a+b+t) - lgG(b+t)] */
            if (!(t >= 0)) return SY_EINVAL;
            v = t == 0 ? 1.0 : exp(lgamma_shift(b, a) - lgamma_shift(b + t, a));
            break;
        }
        case SY_PRED_RETENTION: {
            double t = cols[0][i];
            if (!(t >= 1)) return SY_EINVAL;
            v = (b + t - 1) / (a + b + t - 1);
            break;
        }
        case SY_PRED_DERL: {
            /* sum_{k>=0} S(n+k)/S(n-1) / (1+d)^k with n = renewals + 1 */
            double d = cols[0][i], nn = cols[1][i] + 1.0;
            if (!(d > 0)) return SY_EINVAL;
            double term = (b + nn - 1) / (a + b + nn - 1), s = term; /* S(n)/S(n-1) */
            int64_t k;
            for (k = 1; k < 100000000; k++) {
                term *= (b + nn + k - 1) / (a + b + nn + k - 1) / (1.0 + d);
                s += term;
                if (term < 1e-17 * s * (d / (1.0 + d))) break;
            }
            if (k >= 100000000) return SY_ENOCONV;
            v = s;
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
