/*
 * sy_bgnbd.c -- BG/NBD (Fader, Hardie & Lee 2005) and MBG/NBD (Batislam, Denizel &
 * Filiztekin 2007): log-likelihood, analytic gradient and predictions.
 *
 * Per customer with x repeat purchases, last at t_x, observed for T:
 *   BG/NBD : L = C(x) [ B(a, b+x)/B(a,b) (a+T)^-(r+x)  + [x>0] B(a+1, b+x-1)/B(a,b) (a+t_x)^-(r+x) ]
 *   MBG/NBD: L = C(x) [ B(a, b+x+1)/B(a,b) (al+T)^-(r+x) + B(a+1, b+x)/B(a,b) (al+t_x)^-(r+x) ]
 * with C(x) = Gamma(r+x) alpha^r / Gamma(r) (alpha written "al" above).  Everything is
 * evaluated in log space; the terms that depend only on x or only on a time value are
 * tabulated once per evaluation (x and the time values repeat a lot in real data).
 */
#include <math.h>
#include <stdlib.h>

#include "siyu.h"
#include "sy_models.h"

/* The rows' sums, block by block on the threads (sy_blocked_sum): acc[0] log-likelihood,
   acc[1..4] the gradient wrt (r, alpha, a, b), from the per-x and per-time tables. */
typedef struct {
    const sy_mdata *d;
    const double *lc, *l1, *l2, *dc_r, *da1, *db1, *da2, *db2, *lt, *it;
    double r, al;
} bg_rows_ctx;

static int bg_rows(void *vctx, int64_t lo, int64_t hi, int want_grad, double *acc)
{
    const bg_rows_ctx *c = (const bg_rows_ctx *)vctx;
    const sy_mdata *d = c->d;
    const double r = c->r, ral = c->r / c->al;
    double tot = 0.0, g_r = 0.0, g_al = 0.0, g_a = 0.0, g_b = 0.0;
    for (int64_t i = lo; i < hi; i++) {
        const double w = d->w ? d->w[i] : 1.0;
        const int64_t jx = d->ix[i], j1 = d->i1[i], j2 = d->i2[i];
        const double rx = r + d->ux[jx];
        double L1 = c->l1[jx] - rx * c->lt[j2];     /* alive at T   (c2 = T)   */
        double L2 = c->l2[jx] - rx * c->lt[j1];     /* dropped after t_x (c1)  */
        double pi1, pi2;
        const double m = sy_logadd2(L1, L2, &pi1, &pi2);
        tot += w * (c->lc[jx] + m);
        if (want_grad) {
            g_r += w * (c->dc_r[jx] - pi1 * c->lt[j2] - pi2 * c->lt[j1]);
            g_al += w * (ral - rx * (pi1 * c->it[j2] + pi2 * c->it[j1]));
            g_a += w * (pi1 * c->da1[jx] + pi2 * c->da2[jx]);
            g_b += w * (pi1 * c->db1[jx] + pi2 * c->db2[jx]);
        }
    }
    acc[0] += tot;
    if (want_grad) {
        acc[1] += g_r;
        acc[2] += g_al;
        acc[3] += g_a;
        acc[4] += g_b;
    }
    return SY_OK;
}

int sy_bgnbd_loglik(const double *p, const sy_mdata *d, int modified, double *ll, double *grad)
{
    const double r = p[0], al = p[1], a = p[2], b = p[3];
    if (!(r > 0 && al > 0 && a > 0 && b > 0) || !isfinite(r + al + a + b)) return SY_EINVAL;
    if (!d->ux || !d->ut) return SY_EINVAL;
    const int64_t nx = d->nx, nt = d->nt, n = d->n;
    const int mb = modified ? 1 : 0;
    /* per-x tables: constant part, term 1 / term 2 log coefficient, gradient pieces */
    int64_t bytes;
    if (!sy_mul_ok(nx, 8 * (int64_t)sizeof(double), &bytes)) return SY_ENOMEM;
    double *xt = (double *)malloc((size_t)bytes + 1);
    if (!sy_mul_ok(nt, 2 * (int64_t)sizeof(double), &bytes)) {
        free(xt);
        return SY_ENOMEM;
    }
    double *tt = (double *)malloc((size_t)bytes + 1);
    if (!xt || !tt) {
        free(xt);
        free(tt);
        return SY_ENOMEM;
    }
    double *lc = xt, *l1 = xt + nx, *l2 = xt + 2 * nx;
    double *dc_r = xt + 3 * nx;                  /* d lc / dr */
    double *da1 = xt + 4 * nx, *db1 = xt + 5 * nx, *da2 = xt + 6 * nx, *db2 = xt + 7 * nx;
    double *lt = tt, *it = tt + nt;
    const double lbab = sy_lbeta(a, b);
    const double psi_ab = sy_digamma(a + b), psi_a = sy_digamma(a), psi_b = sy_digamma(b);
    const double lgr = sy_lgamma(r), psir = sy_digamma(r), lal = log(al);
    for (int64_t j = 0; j < nx; j++) {
        double x = d->ux[j];
        lc[j] = sy_lgamma(r + x) - lgr + r * lal;
        dc_r[j] = sy_digamma(r + x) - psir + lal;
        double bx1 = b + x + mb;               /* second argument of term-1 beta */
        double psi_abx = sy_digamma(a + bx1);
        l1[j] = sy_lbeta(a, bx1) - lbab;
        da1[j] = psi_ab - psi_abx;
        db1[j] = sy_digamma(bx1) - psi_abx - psi_b + psi_ab;
        if (x > 0 || mb) {
            double bx2 = b + x - 1 + mb;        /* term 2: B(a+1, bx2) */
            double psi2 = sy_digamma(a + 1 + bx2);
            l2[j] = sy_lbeta(a + 1, bx2) - lbab;
            da2[j] = 1.0 / a + psi_a - psi2 - psi_a + psi_ab;
            db2[j] = sy_digamma(bx2) - psi2 - psi_b + psi_ab;
        } else {
            l2[j] = -INFINITY;
            da2[j] = db2[j] = 0.0;
        }
    }
    for (int64_t j = 0; j < nt; j++) {
        lt[j] = log(al + d->ut[j]);
        it[j] = 1.0 / (al + d->ut[j]);
    }
    bg_rows_ctx c = {d, lc, l1, l2, dc_r, da1, db1, da2, db2, lt, it, r, al};
    double g[4];
    int st = sy_blocked_sum(bg_rows, &c, n, 4, ll, grad ? g : NULL);
    free(xt);
    free(tt);
    if (grad && (st == SY_OK || st == SY_ENAN))
        for (int j = 0; j < 4; j++) grad[j] = g[j];
    return st;
}

/* ---- predictions ---------------------------------------------------------- */

/* -expm1(-u L)/u, the limit L as u -> 0 */
static double e1(double u, double L)
{
    if (fabs(u * L) < 1e-8) return L * (1.0 - 0.5 * u * L);
    return -expm1(-u * L) / u;
}

/*
 * E[Y(t) | x, t_x, T] for BG/NBD (bshift 0) or MBG/NBD (bshift 1), before dividing by the
 * "alive" normaliser.  With z = t/(alpha+T+t), L = log((alpha+T+t)/(alpha+T)), bb = b+bshift,
 * the closed form (a+bb+x-1)/(a-1) [1 - (1-z)^{r+x} 2F1(r+x, bb+x; a+bb+x-1; z)] is rewritten
 * with Pfaff's transformation as (a+bb+x-1) [e1(a-1, L) - e^{-(a-1)L} H] where
 *   2F1(a+bb-1-r, a-1; a+bb+x-1; z) = 1 + (a-1) H,
 * which is a well-behaved series for a <= 2 (its terms decay like k^(a-r-x-2) z^k) and
 * has no singularity at a = 1.  For a > 2 the original series is used instead.
 */
static int bg_core(double r, double al, double a, double bb, double x, double T, double t,
                   double *out)
{
    if (t <= 0) {
        *out = 0.0;
        return SY_OK;
    }
    const double z = t / (al + T + t);
    const double L = log1p(t / (al + T));
    const double C = a + bb + x - 1;
    const int64_t kmax = 2000000;
    const double A = a + bb - 1 - r;
    double v;
    if (a > 2.0 || fabs(A) * z > 5.0) {
        /* Large a (or a very large r making A = a+bb-1-r hugely negative): the Pfaff series
           below has a huge hump or alternates wildly.  The original series
           2F1(r+x, bb+x; C; z) has positive terms; it is summed with rescaling (terms may
           exceed the double range before decaying when (r+x) z is large). */
        double term = 1.0, sum = 1.0, lscale = 0.0;
        int64_t k = 0;
        for (; k < kmax; k++) {
            double ratio = (r + x + k) * (bb + x + k) / ((C + k) * (k + 1.0)) * z;
            term *= ratio;
            sum += term;
            if (sum > 1e280) {
                lscale += log(sum);
                term /= sum;
                sum = 1.0;
            }
            if (ratio < 1.0 && term * ratio / (1.0 - ratio) <= 1e-17 * sum) break;
            if (term == 0.0) break;
        }
        if (k >= kmax) return SY_ENOCONV;
        double y = (r + x) * log1p(-z) + lscale + log(sum);
        v = C / (a - 1.0) * (-expm1(y));
    } else {
        /* H = sum_{k>=1} (A)_k (a)_{k-1} / ((C)_k k!) z^k  (terms decay: a <= 2) */
        double term = A / C * z; /* k = 1 */
        double H = term;
        int64_t k = 1;
        for (; k < kmax; k++) {
            double ratio = (A + k) * (a + k - 1) / ((C + k) * (k + 1.0)) * z;
            term *= ratio;
            H += term;
            double q = fabs(ratio) > z ? fabs(ratio) : z;
            if (q < 1.0 && fabs(term) * q / (1.0 - q) <= 1e-16 * fabs(H)) break;
            if (term == 0.0) break;
        }
        if (k >= kmax) return SY_ENOCONV;
        v = C * (e1(a - 1.0, L) - exp(-(a - 1.0) * L) * H);
    }
    if (!isfinite(v)) return SY_ENAN;
    *out = v;
    return SY_OK;
}

/* log of the odds "dropped after t_x" : "alive" for the P(alive) normaliser */
static double bg_log_odds(double r, double al, double a, double b, int mb, double x, double tx,
                          double T)
{
    if (!mb && x <= 0) return -INFINITY;
    double den = mb ? (b + x) : (b + x - 1);
    return log(a / den) + (r + x) * (log(al + T) - log(al + tx));
}

/*
 * Conditional PMF of BG/NBD (mb = 0) and MBG/NBD (mb = 1): P(X(T, T+t] = n | x, t_x, T).
 * Alive at T (probability pa), the posterior rate is Gamma(R = r+x, A = alpha+T) and the
 * dropout probability Beta(a, B = b+x+mb).  In (T, T+t] the count N of purchase chances is
 * NBD(R, A, t); the customer makes n of them when N >= n and the first n-1 were not followed
 * by a dropout and either the n-th was (p) or N == n and it was not (1-p):
 *   P(n | alive) = E[p (1-p)^(n-1)] P(N >= n) + E[(1-p)^n] P(N = n)   (n >= 1),
 *   P(0 | alive) = P(N = 0) = (A/(A+t))^R,
 * with E[p (1-p)^(n-1)] = B(a+1, B+n-1)/B(a, B), E[(1-p)^n] = B(a, B+n)/B(a, B) and the
 * NBD tail P(N >= n) = I_z(n, R), z = t/(A+t) (regularised incomplete beta, no series to
 * truncate).  A customer who has dropped out makes 0 purchases.
 */
static int bg_cond_pmf(double r, double al, double a, double b, int mb, double n, double t,
                       double x, double tx, double T, double *out)
{
    if (!(n >= 0) || n != floor(n) || !(t >= 0)) return SY_EINVAL;
    if (n > SY_MAX_PMF_N) return SY_ERANGE;
    const double lo = bg_log_odds(r, al, a, b, mb, x, tx, T);
    /* pa = 1/(1+e^lo), dead = e^lo/(1+e^lo), both without overflow */
    const double pa = lo > 0 ? exp(-lo) / (1.0 + exp(-lo)) : 1.0 / (1.0 + exp(lo));
    const double dead = lo > 0 ? 1.0 / (1.0 + exp(-lo)) : exp(lo) / (1.0 + exp(lo));
    if (t == 0.0) {
        *out = n == 0 ? 1.0 : 0.0;
        return SY_OK;
    }
    const double R = r + x, A = al + T, B = b + x + mb;
    const double lq = -R * log1p(t / A);          /* log (A/(A+t))^R */
    double alive;
    if (n == 0) {
        alive = exp(lq);
    } else {
        const double z = t / (A + t);
        const double lnb = sy_lgamma(R + n) - sy_lgamma(R) - sy_lgamma(n + 1.0) + lq + n * log(z);
        double tail;
        int st = sy_betainc_reg(n, R, z, &tail);
        if (st != SY_OK) return st;
        const double lb = sy_lbeta(a, B);
        alive = exp(sy_lbeta(a + 1.0, B + n - 1.0) - lb) * tail + exp(sy_lbeta(a, B + n) - lb + lnb);
    }
    double v = pa * alive + (n == 0 ? dead : 0.0);
    if (!isfinite(v)) return SY_ENAN;
    *out = v;
    return SY_OK;
}

int sy_bgnbd_predict(const double *p, int modified, int what, int64_t n,
                     const double *const *cols, double *out)
{
    const double r = p[0], al = p[1], a = p[2], b = p[3];
    const int mb = modified ? 1 : 0;
    if (!(r > 0 && al > 0 && a > 0 && b > 0)) return SY_EINVAL;
    int st = SY_OK;
    for (int64_t i = 0; i < n && st == SY_OK; i++) {
        double v = NAN;
        switch (what) {
        case SY_PRED_EXPECTED: {
            double t = cols[0][i];
            if (mb) {
                /* new MBG customer: like a conditional customer with x=0, T=t_x=0 */
                double lo = bg_log_odds(r, al, a, b, 1, 0.0, 0.0, 0.0);
                st = bg_core(r, al, a, b + 1, 0.0, 0.0, t, &v);
                v /= 1.0 + exp(lo);
            } else {
                st = bg_core(r, al, a, b, 0.0, 0.0, t, &v);
            }
            break;
        }
        case SY_PRED_COND_EXPECTED: {
            double t = cols[0][i], x = cols[1][i], tx = cols[2][i], T = cols[3][i];
            double lo = bg_log_odds(r, al, a, b, mb, x, tx, T);
            st = bg_core(r, al, a, b + mb, x, T, t, &v);
            v = lo > 0 ? v * exp(-lo) / (1.0 + exp(-lo)) : v / (1.0 + exp(lo));
            break;
        }
        case SY_PRED_PALIVE: {
            double lo = bg_log_odds(r, al, a, b, mb, cols[0][i], cols[1][i], cols[2][i]);
            v = lo > 0 ? exp(-lo) / (1.0 + exp(-lo)) : 1.0 / (1.0 + exp(lo));
            break;
        }
        case SY_PRED_PMF: {
            /* P(X(t) = k) for a new customer, all terms in log space:
               P = B(a, b+k+mb)/B(a, b) NB(k; r, t)  +  B(a+1, b+k-1+mb)/B(a, b) P(N >= k),
               N ~ NBD(r, alpha, t), with the tail P(N >= k) = I_z(k, r), z = t/(alpha+t)
               (k = 0: the second term is the MBG drop at time 0, tail 1). */
            double k = cols[0][i], t = cols[1][i];
            if (!(k >= 0) || k != floor(k) || !(t >= 0) || !isfinite(t)) return SY_EINVAL;
            if (k > SY_MAX_PMF_N) return SY_ERANGE;
            double lq = -log1p(t / al), lz = (t > 0) ? log(t / (al + t)) : -INFINITY;
            double lbab = sy_lbeta(a, b);
            double l1 = sy_lbeta(a, b + k + mb) - lbab + sy_lgamma(r + k) - sy_lgamma(r) - sy_lgamma(k + 1)
                        + r * lq + (k > 0 ? k * lz : 0.0);
            v = exp(l1);
            if (k > 0 || mb) {
                /* dropped after the k-th purchase (or at time 0 for MBG, k = 0) */
                double l2 = sy_lbeta(a + 1, b + k - 1 + mb) - lbab;
                double tail = 1.0;
                if (k > 0) {
                    st = sy_betainc_reg(k, r, t / (al + t), &tail);
                    if (st != SY_OK) return st;
                }
                v += exp(l2) * tail;
            }
            break;
        }
        case SY_PRED_COND_PMF:
            st = bg_cond_pmf(r, al, a, b, mb, cols[0][i], cols[1][i], cols[2][i], cols[3][i],
                             cols[4][i], &v);
            break;
        case SY_PRED_COND_NONE:
            st = bg_cond_pmf(r, al, a, b, mb, 0.0, cols[0][i], cols[1][i], cols[2][i],
                             cols[3][i], &v);
            break;
        default:
            return SY_EINVAL;
        }
        if (st == SY_OK && !isfinite(v)) st = SY_ENAN;
        out[i] = v;
    }
    return st;
}
