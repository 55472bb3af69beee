/*
 * sy_paretonbd.c -- Pareto/NBD (Schmittlein, Morrison & Colombo 1987; the likelihood as
 * in Fader, Hardie & Lee's 2005 note): log-likelihood, analytic gradient, predictions.
 *
 *   L = C [ (al+T)^-(r+x) (be+T)^-s + s * I ],   C = Gamma(r+x) al^r be^s / Gamma(r)
 *   I = int_{t_x}^{T} (al+u)^-(r+x) (be+u)^-(s+1) du
 *
 * I is the difference of two Gaussian hypergeometric functions, 2F1(r+s+x, .; r+s+x+1; z).
 * We evaluate the tail integral J(t) = int_t^inf (al+u)^-A (be+u)^-B du (A = r+x, B = s+1)
 * through Euler's transformation of that 2F1, which gives a series of positive terms
 *   J(t) = (u0+t)^-U (v0+t)^(1-V) / (U+V-1) * G,  G = sum_k prod_{j<k} (U+j)/(U+V+j) z^k,
 * where (u0, U) is the pair (al, A) or (be, B) with the larger shift, (v0, V) the other,
 * z = (u0 - v0)/(u0 + t) in [0, 1).  Its ratio of consecutive terms is below z, there is no
 * cancellation, and the derivatives with respect to U, V, z are summed alongside.  When the
 * series converges slowly (z close to 1) we fall back to adaptive Gauss-Legendre quadrature
 * of I in the variable log(v0 + u), where the integrand is log-smooth and monotone.
 */
#include <math.h>
#include <stdlib.h>

#include "siyu.h"
#include "sy_models.h"

#define PNBD_MAXTERMS 400

/* log J(t) and its gradient wrt (r, al, s, be); returns SY_ENOCONV when the series is slow */
static int pnbd_tail(double r, double al, double s, double be, double x, double t, double *lj,
                     double *g)
{
    const double A = r + x, B = s + 1.0;
    int swap = !(al >= be);
    const double u0 = swap ? be : al, U = swap ? B : A;
    const double v0 = swap ? al : be, V = swap ? A : B;
    const double z = (u0 - v0) / (u0 + t);
    const double UV = U + V;
    double gk = 1.0, G = 1.0, hk = 0.0;  /* g_k and h_k = g_k / z */
    double SU = 0.0, SV = 0.0;             /* running sum_{j<k} of 1/(U+j)-1/(U+V+j), -1/(U+V+j) */
    double GU = 0.0, GV = 0.0, GZ = 0.0;   /* sum g_k SU_k, sum g_k SV_k, sum k h_k */
    int k;
    for (k = 0; k < PNBD_MAXTERMS; k++) {
        const double rho = (U + k) / (UV + k);
        SU += 1.0 / (U + k) - 1.0 / (UV + k);
        SV -= 1.0 / (UV + k);
        hk = (k == 0) ? rho : hk * rho * z;
        gk *= rho * z;
        G += gk;
        GU += gk * SU;
        GV += gk * SV;
        GZ += (k + 1.0) * hk;
        if (gk * z <= 1e-17 * G * (1.0 - z)) break;
    }
    if (k >= PNBD_MAXTERMS) return SY_ENOCONV;
    const double lu = log(u0 + t), lv = log(v0 + t);
    *lj = -U * lu + (1.0 - V) * lv + log(G) - log(UV - 1.0);
    const double dG_U = GU / G, dG_V = GV / G, dG_z = GZ / G;
    const double dU = -lu + dG_U - 1.0 / (UV - 1.0);
    const double dV = -lv + dG_V - 1.0 / (UV - 1.0);
    const double du = -U / (u0 + t) + dG_z * (v0 + t) / ((u0 + t) * (u0 + t));
    const double dv = (1.0 - V) / (v0 + t) - dG_z / (u0 + t);
    if (!swap) {
        g[0] = dU;
        g[1] = du;
        g[2] = dV;
        g[3] = dv;
    } else {
        g[0] = dV;
        g[1] = dv;
        g[2] = dU;
        g[3] = du;
    }
    return SY_OK;
}

/* log I over [t1, t2] and its gradient by adaptive Gauss-Legendre quadrature */
/* 12-point Gauss-Legendre on [-1, 1]: panels are chosen so that the log-integrand changes
   by at most 3 over one, where 12 points are exact to double precision for this smooth,
   monotone integrand (the 24-point rule of sy_gl_get halves no error, only the speed) */
static const double gl12_x[12] = {
    -0.98156063424671924, -0.9041172563704748, -0.76990267419430469, -0.58731795428661748,
    -0.36783149899818018, -0.12523340851146891, 0.12523340851146891, 0.36783149899818018,
    0.58731795428661748,  0.76990267419430469,  0.9041172563704748,  0.98156063424671924};
static const double gl12_w[12] = {
    0.047175336386511411, 0.10693932599531907, 0.16007832854334642, 0.20316742672306573,
    0.23349253653835461,  0.24914704581340269, 0.24914704581340269, 0.23349253653835461,
    0.20316742672306573,  0.16007832854334642, 0.10693932599531907, 0.047175336386511411};

static int pnbd_quad(double r, double al, double s, double be, double x, double t1, double t2,
                     double *li, double *g)
{
    const double *gx = gl12_x, *gw = gl12_w;
    const double A = r + x, B = s + 1.0;
    const double v0 = al < be ? al : be;
    double y = log(v0 + t1);
    const double y1 = log(v0 + t2);
    /* log integrand in y at the start (the maximum: the integrand decreases) */
    double u = t1;
    const double f0 = -A * log(al + u) - B * log(be + u) + log(v0 + u);
    double S = 0.0, Sg[4] = {0, 0, 0, 0};
    int panels = 0;
    while (y < y1 && panels < 10000) {
        u = exp(y) - v0;
        if (u < t1) u = t1;
        double fy = -A * log(al + u) - B * log(be + u) + log(v0 + u);
        if (fy < f0 - 50.0) break;
        double slope = 1.0 - B * (v0 + u) / (be + u) - A * (v0 + u) / (al + u);
        double h = 3.0 / (fabs(slope) + 1e-300);
        if (h > 0.5) h = 0.5;
        if (y + h > y1) h = y1 - y;
        for (int q = 0; q < 12; q++) {
            double yy = y + 0.5 * h * (gx[q] + 1.0);
            double uu = exp(yy) - v0, lv = yy; /* lv = log(v0 + uu) */
            if (uu < t1 || uu > t2) {
                uu = uu < t1 ? t1 : t2;
                lv = log(v0 + uu);
            }
            /* v0 is al or be: that logarithm is lv, only the other one is computed */
            double la = v0 == al ? lv : log(al + uu), lb = v0 == be ? lv : log(be + uu);
            double f = exp(-A * la - B * lb + lv - f0) * 0.5 * h * gw[q];
            S += f;
            Sg[0] -= f * la;
            Sg[1] -= f * A / (al + uu);
            Sg[2] -= f * lb;
            Sg[3] -= f * B / (be + uu);
        }
        y += h;
        panels++;
    }
    if (!(S > 0.0)) return SY_ENAN;
    *li = f0 + log(S);
    for (int j = 0; j < 4; j++) g[j] = Sg[j] / S;
    return SY_OK;
}

/* log I and gradient; I = 0 (log = -inf) when t_x == T */
static int pnbd_logI(double r, double al, double s, double be, double x, double tx, double T,
                     double *li, double *g)
{
    if (!(T > tx)) {
        *li = -INFINITY;
        g[0] = g[1] = g[2] = g[3] = 0.0;
        return SY_OK;
    }
    double l1, l2, g1[4], g2[4];
    /* the tail series needs about 39 / -log(z) terms: when z is close to 1 (one scale
       parameter much larger than the other plus t_x), go straight to quadrature */
    {
        const double u0 = al >= be ? al : be, v0 = al >= be ? be : al;
        if ((u0 - v0) / (u0 + tx) > 0.8) return pnbd_quad(r, al, s, be, x, tx, T, li, g);
    }
    int st1 = pnbd_tail(r, al, s, be, x, tx, &l1, g1);
    int st2 = st1 == SY_OK ? pnbd_tail(r, al, s, be, x, T, &l2, g2) : st1;
    if (st1 == SY_OK && st2 == SY_OK) {
        double D = l2 - l1; /* <= 0 */
        if (D < -1e-6) {
            double e = exp(D);
            *li = l1 + log1p(-e);
            for (int j = 0; j < 4; j++) g[j] = (g1[j] - e * g2[j]) / (1.0 - e);
            return SY_OK;
        }
        /* t_x very close to T: cancellation; use quadrature instead */
    }
    return pnbd_quad(r, al, s, be, x, tx, T, li, g);
}

/* per-row log-likelihood and gradient; also returns the log of the "alive" share */
static int pnbd_row(double r, double al, double s, double be, double x, double tx, double T,
                    double lgr, double psir, double *ll, double *g, double *lpalive)
{
    double li, gi[4];
    int st = pnbd_logI(r, al, s, be, x, tx, T, &li, gi);
    if (st != SY_OK) return st;
    const double rx = r + x;
    const double lat = log(al + T), lbt = log(be + T);
    const double lE = -rx * lat - s * lbt;
    const double lS = log(s) + li;
    double pE, pS;
    const double m = sy_logadd2(lE, lS, &pE, &pS);
    const double lal = log(al), lbe = log(be);
    *ll = sy_lgamma(rx) - lgr + r * lal + s * lbe + m;
    if (lpalive) *lpalive = lE - m;
    if (g) {
        g[0] = sy_digamma(rx) - psir + lal + pE * (-lat) + pS * gi[0];
        g[1] = r / al + pE * (-rx / (al + T)) + pS * gi[1];
        g[2] = lbe + pE * (-lbt) + pS * (1.0 / s + gi[2]);
        g[3] = s / be + pE * (-s / (be + T)) + pS * gi[3];
    }
    return SY_OK;
}

static int pnbd_rows(const double *p, const sy_mdata *d, int64_t lo, int64_t hi, int want_grad,
                     double *acc)
{
    const double r = p[0], al = p[1], s = p[2], be = p[3];
    const double lgr = sy_lgamma(r), psir = sy_digamma(r);
    for (int64_t i = lo; i < hi; i++) {
        double w = d->w ? d->w[i] : 1.0, l, g[4];
        int st = pnbd_row(r, al, s, be, d->c0[i], d->c1[i], d->c2[i], lgr, psir, &l,
                          want_grad ? g : NULL, NULL);
        if (st != SY_OK) return st;
        acc[0] += w * l;
        if (want_grad)
            for (int j = 0; j < 4; j++) acc[1 + j] += w * g[j];
    }
    return SY_OK;
}

int sy_paretonbd_loglik(const double *p, const sy_mdata *d, double *ll, double *grad)
{
    if (!(p[0] > 0 && p[1] > 0 && p[2] > 0 && p[3] > 0) || !isfinite(p[0] + p[1] + p[2] + p[3]))
        return SY_EINVAL;
    return sy_models_blocked(pnbd_rows, p, d, 4, ll, grad);
}

/* [1 - (c/(c+t))^(s-1)] / (s-1), stable near s = 1 */
static double pnbd_e(double s, double c, double t)
{
    double L = log1p(t / c);
    double u = s - 1.0;
    if (fabs(u * L) < 1e-8) return L * (1.0 - 0.5 * u * L);
    return -expm1(-u * L) / u;
}

/* int_0^inf e^{-d t} (1 + t/c)^{-s} dt by Gauss-Legendre on geometric panels */
static double pnbd_dert_integral(double d, double c, double s)
{
    const double *gx, *gw;
    sy_gl_get(&gx, &gw);
    /* in y = d t: int_0^inf e^{-y} (1 + y/(d c))^{-s} dy / d */
    const double dc = d * c;
    /* d*c below 1e-300 (or underflowed to 0) would make the geometric panels start at 0
       and never grow: the caller reports that range as an error */
    if (!(dc >= 1e-300)) return NAN;
    double lo = 0.0, hi = dc < 1.0 ? dc : 1.0;
    double S = 0.0;
    while (lo < 60.0) { /* at most ~1000 doublings from 1e-300, then 15 panels of 4 */
        if (hi > 60.0) hi = 60.0;
        double h = hi - lo;
        for (int q = 0; q < SY_GL_N; q++) {
            double y = lo + 0.5 * h * (gx[q] + 1.0);
            S += 0.5 * h * gw[q] * exp(-y - s * log1p(y / dc));
        }
        lo = hi;
        hi = lo * 2.0 > lo + 4.0 ? lo + 4.0 : lo * 2.0;
    }
    return S / d;
}

/* log NBD probability of k purchases in a window of length u (rate ~ Gamma(r, al)) */
static double pnbd_lnb(double r, double al, double k, double u, double lgk)
{
    if (u <= 0) return k == 0 ? 0.0 : -INFINITY;
    return lgk + r * log(al / (al + u)) + (k > 0 ? k * log(u / (al + u)) : 0.0);
}

/*
 * Conditional PMF of Pareto/NBD: P(X(T, T+t] = n | x, t_x, T).  Alive at T (probability
 * pa), the posterior rates are lambda ~ Gamma(R = r+x, A = alpha+T) and mu ~ Gamma(s,
 * Bt = beta+T); the remaining lifetime is exponential, so
 *   P(n | alive) = (Bt/(Bt+t))^s NB(n | t) + int_0^t s Bt^s (Bt+u)^-(s+1) NB(n | u) du
 * (NB: the NBD(R, A) probability of n purchases in a window of length u).  The integral is
 * taken in y = log(1 + u/c), c = min(A, Bt), on equal Gauss-Legendre panels no wider than
 * 1/sqrt(R+n+s+2) (the log-integrand's curvature near its peak is about R+n+s+2), and
 * accepted when doubling the panels changes it by less than 1e-14 + 1e-11 of its value (at
 * most three doublings; SY_ENOCONV otherwise).  A customer who has dropped out makes 0 purchases.
 */
static int pnbd_cond_integral(double R, double A, double s, double Bt, double n, double t,
                              int64_t panels, double *out)
{
    const double *gx, *gw;
    sy_gl_get(&gx, &gw);
    const double c = A < Bt ? A : Bt;
    const double Y = log1p(t / c);
    const double h = Y / (double)panels;
    const double lgk = sy_lgamma(R + n) - sy_lgamma(R) - sy_lgamma(n + 1.0);
    const double ls = log(s) + s * log(Bt);
    double acc = 0.0;
    for (int64_t j = 0; j < panels; j++) {
        for (int q = 0; q < SY_GL_N; q++) {
            const double y = h * ((double)j + 0.5 * (gx[q] + 1.0));
            const double u = c * expm1(y);
            if (!(u > 0)) continue;
            const double lf = ls - (s + 1.0) * log(Bt + u) + pnbd_lnb(R, A, n, u, lgk) + log(c + u);
            acc += 0.5 * h * gw[q] * exp(lf);
        }
    }
    *out = acc;
    return isfinite(acc) ? SY_OK : SY_ENAN;
}

static int pnbd_cond_pmf(double r, double al, double s, double be, double n, double t, double x,
                         double tx, double T, double lgr, double psir, double *out)
{
    if (!(n >= 0) || n != floor(n) || !(t >= 0)) return SY_EINVAL;
    if (n > SY_MAX_PMF_N) return SY_ERANGE;
    double ll, lpa;
    int st = pnbd_row(r, al, s, be, x, tx, T, lgr, psir, &ll, NULL, &lpa);
    if (st != SY_OK) return st;
    const double pa = exp(lpa), dead = -expm1(lpa);
    if (t == 0.0) {
        *out = n == 0 ? 1.0 : 0.0;
        return SY_OK;
    }
    const double R = r + x, A = al + T, Bt = be + T;
    const double lgk = sy_lgamma(R + n) - sy_lgamma(R) - sy_lgamma(n + 1.0);
    const double v0 = exp(-s * log1p(t / Bt) + pnbd_lnb(R, A, n, t, lgk));
    const double c = A < Bt ? A : Bt;
    const double Y = log1p(t / c);
    /* near its peak the log-integrand has curvature ~ (R+n+s+2): panels of width
       1/sqrt(R+n+s+2) keep it smooth there (the doubling check below guards the rest) */
    double hmax = 1.0 / sqrt(R + n + s + 2.0);
    if (hmax > 0.25) hmax = 0.25;
    double pd = ceil(Y / hmax);
    if (pd < 1) pd = 1;
    if (!(pd <= 100000)) return SY_ENOCONV;
    int64_t panels = (int64_t)pd;
    double i1, i2;
    st = pnbd_cond_integral(R, A, s, Bt, n, t, panels, &i1);
    int ok = 0;
    for (int k = 0; k < 3 && st == SY_OK; k++) {
        panels *= 2;
        st = pnbd_cond_integral(R, A, s, Bt, n, t, panels, &i2);
        if (st != SY_OK) break;
        if (fabs(i2 - i1) <= 1e-14 + 1e-11 * i2) {
            ok = 1;
            break;
        }
        i1 = i2;
    }
    if (st != SY_OK) return st;
    if (!ok) return SY_ENOCONV;
    double v = pa * (v0 + i2) + (n == 0 ? dead : 0.0);
    if (!isfinite(v)) return SY_ENAN;
    *out = v;
    return SY_OK;
}

int sy_paretonbd_predict(const double *p, int what, int64_t n, const double *const *cols,
                         double *out)
{
    const double r = p[0], al = p[1], s = p[2], be = p[3];
    if (!(r > 0 && al > 0 && s > 0 && be > 0)) return SY_EINVAL;
    const double lgr = sy_lgamma(r), psir = sy_digamma(r);
    for (int64_t i = 0; i < n; i++) {
        double v = NAN, ll, lpa;
        int st = SY_OK;
        switch (what) {
        case SY_PRED_EXPECTED: {
            double t = cols[0][i];
            v = r * be / al * pnbd_e(s, be, t);
            break;
        }
        case SY_PRED_COND_EXPECTED: {
            double t = cols[0][i], x = cols[1][i], tx = cols[2][i], T = cols[3][i];
            st = pnbd_row(r, al, s, be, x, tx, T, lgr, psir, &ll, NULL, &lpa);
            if (st == SY_OK) v = exp(lpa) * (r + x) * (be + T) / (al + T) * pnbd_e(s, be + T, t);
            break;
        }
        case SY_PRED_PMF:
            /* a new customer is the conditional case with no history (x = t_x = T = 0,
               alive with probability 1): the same checked, adaptive integral */
            st = pnbd_cond_pmf(r, al, s, be, cols[0][i], cols[1][i], 0.0, 0.0, 0.0, lgr, psir, &v);
            break;
        case SY_PRED_PALIVE:
            st = pnbd_row(r, al, s, be, cols[0][i], cols[1][i], cols[2][i], lgr, psir, &ll, NULL,
                          &lpa);
            if (st == SY_OK) v = exp(lpa);
            break;
        case SY_PRED_DERT: {
            double dd = cols[0][i], x = cols[1][i], tx = cols[2][i], T = cols[3][i];
            if (!(dd > 0)) return SY_EINVAL;
            st = pnbd_row(r, al, s, be, x, tx, T, lgr, psir, &ll, NULL, &lpa);
            if (st == SY_OK)
                v = exp(lpa) * (r + x) / (al + T) * pnbd_dert_integral(dd, be + T, s);
            break;
        }
        case SY_PRED_COND_PMF:
            st = pnbd_cond_pmf(r, al, s, be, cols[0][i], cols[1][i], cols[2][i], cols[3][i],
                               cols[4][i], lgr, psir, &v);
            break;
        case SY_PRED_COND_NONE:
            st = pnbd_cond_pmf(r, al, s, be, 0.0, cols[0][i], cols[1][i], cols[2][i], cols[3][i],
                               lgr, psir, &v);
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

/* exported for the covariate likelihood (sy_cov.c): one row, gradient wrt natural params */
int sy_paretonbd_row(double r, double al, double s, double be, double x, double tx, double T,
                     double lgr, double psir, double *ll, double *g)
{
    return pnbd_row(r, al, s, be, x, tx, T, lgr, psir, ll, g, NULL);
}
