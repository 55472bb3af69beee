/*
 * sy_gammagamma.c -- Gamma-Gamma spend model (Fader & Hardie 2013 note; Colombo & Jiang
 * 1999).  The data are x >= 1 repeat transactions with mean value m > 0 per customer; the
 * log-likelihood is the full density of the mean m:
 *   log f = sy_lgamma(px+q) - sy_lgamma(px) - sy_lgamma(q) + q log g + px log x + (px-1) log m
 *           - (px+q) log(g + x m)
 */
#include <math.h>

#include "siyu.h"
#include "sy_models.h"

int sy_gammagamma_loglik(const double *p, const sy_mdata *d, double *ll, double *grad)
{
    const double pp = p[0], q = p[1], g = p[2];
    if (!(pp > 0 && q > 0 && g > 0) || !isfinite(pp + q + g)) return SY_EINVAL;
    const double lgq = sy_lgamma(q), psiq = sy_digamma(q), lg = log(g);
    double tot = 0.0, G0 = 0.0, G1 = 0.0, G2 = 0.0;
    for (int64_t i = 0; i < d->n; i++) {
        const double w = d->w ? d->w[i] : 1.0, x = d->c0[i], m = d->c1[i];
        if (!(x > 0 && m > 0)) return SY_EINVAL;
        const double px = pp * x, lx = log(x), lm = log(m), lgxm = log(g + x * m);
        tot += w * (sy_lgamma(px + q) - sy_lgamma(px) - lgq + q * lg + px * lx + (px - 1) * lm
                    - (px + q) * lgxm);
        if (grad) {
            const double ps = sy_digamma(px + q);
            G0 += w * x * (ps - sy_digamma(px) + lx + lm - lgxm);
            G1 += w * (ps - psiq + lg - lgxm);
            G2 += w * (q / g - (px + q) / (g + x * m));
        }
    }
    if (!isfinite(tot) || !isfinite(G0 + G1 + G2)) return SY_ENAN;
    *ll = tot;
    if (grad) {
        grad[0] = G0;
        grad[1] = G1;
        grad[2] = G2;
    }
    return SY_OK;
}

/* E[M | x, m] = (q - 1)/(px + q - 1) * p g/(q - 1) + px/(px + q - 1) * m
               = p (g + x m) / (p x + q - 1); a new customer (x = 0): p g / (q - 1). */
int sy_gammagamma_predict(const double *p, int what, int64_t n, const double *const *cols,
                          double *out)
{
    const double pp = p[0], q = p[1], g = p[2];
    if (what != SY_PRED_GG_VALUE) return SY_EINVAL;
    if (!(pp > 0 && q > 0 && g > 0) || !isfinite(pp) || !isfinite(q) || !isfinite(g))
        return SY_EINVAL;
    for (int64_t i = 0; i < n; i++) {
        const double x = cols[0][i], m = x > 0 ? cols[1][i] : 0.0;
        if (!(x >= 0) || !(m >= 0)) return SY_EINVAL; /* counts and spends are >= 0 */
        const double den = pp * x + q - 1.0;
        out[i] = den > 0 ? pp * (g + x * m) / den : INFINITY;
    }
    return SY_OK;
}
