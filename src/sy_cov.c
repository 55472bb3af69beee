/*
 * sy_cov.c -- time-invariant covariates in Pareto/NBD, BG/NBD and Gamma-Gamma (Fader &
 * Hardie's note 019 as CLVTools parametrises it): log-likelihood, analytic gradient with
 * respect to theta = (log base parameters, covariate effects), and the fit.
 *
 * Each customer i has a purchase linear predictor ep_i = gp'zp_i and a dropout one
 * ed_i = gd'zd_i; the scale parameters become
 *   Pareto/NBD : alpha_i = alpha e^{-ep_i}, beta_i = beta e^{-ed_i}
 *   BG/NBD     : alpha_i = alpha e^{-ep_i}, a_i = a e^{ed_i}, b_i = b e^{ed_i}
 *   Gamma-Gamma: gamma_i = gamma e^{ep_i}            (higher ep: higher mean spend)
 * so a positive purchase effect raises the purchase rate and a positive Pareto/NBD
 * dropout effect raises the dropout rate.  The per-customer likelihood is the model's
 * own, evaluated at the customer's parameters; its gradient with respect to the natural
 * parameters is chained to theta.
 *
 * Rows identical in (data, covariates) are collapsed first.  For BG/NBD with few distinct
 * covariate patterns (dummies), the rows are grouped by pattern before they are collapsed
 * and the rows of each pattern are fitted with the tabulated no-covariate kernel
 * (sy_bgnbd_loglik), which makes the covariate fit nearly as fast as the plain one;
 * otherwise each row is evaluated on its own, in parallel blocks.  The fit starts from
 * the fit without covariates and that start's Hessian, both taken on a spread-out subset
 * of about COV_WARM_ROWS rows when there are many more (they only steer the first steps;
 * the optimum and the final Hessian use every row).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "siyu.h"
#include "sy_models.h"

#define COV_MAXGROUPS 256
/* rows the warm start (the fit without covariates) is fitted on, at most about twice */
#define COV_WARM_ROWS 50000
/* rows looked at before a full pass over the covariate patterns */
#define COV_PROBE 4096

typedef struct {
    int model, nb, ng, kp, kd;
    const sy_mdata *d;       /* rows (c0, c1, c2, w)                               */
    const double *zp, *zd;   /* column-major, d->n rows                            */
    const int *ip, *id;
    const double *shift;     /* lower bounds of the base parameters (may be NULL)  */
    const double *theta;     /* current point                                      */
    /* group path (BG/NBD) */
    int64_t ngroups;
    sy_mdata *gd;            /* per-group prepared rows                            */
    double *gz;              /* ngroups x (kp + kd) covariate rows of the groups   */
} cov_ctx;

/* ---- per-row kernels (gradients wrt the natural parameters) ----------------------- */

/* log Gamma(v + x) - log Gamma(v) and psi(v + x) - psi(v) for x = frequency (x >= 0).
   - v >= 1000: Stirling's series, written so nothing cancels:
       (v - 1/2) log1p(x/v) + x log(v + x) - x + D1/12 - D3/360
     and log1p(x/v) - D1/2 - D2/12 + D4/120, with Dk = 1/(v+x)^k - 1/v^k (the next terms
     are below 1e-18); the difference of two log-gammas of size v log v loses digits;
   - integer x <= 16: the product (v)(v+1)...(v+x-1) and its derivative, exact and several
     times faster than log-gamma and digamma calls;
   - otherwise log-gamma/digamma differences (lgv / psiv: log Gamma(v), psi(v) when known,
     else NAN). */
static inline void gamma_ratio(double v, double x, double lgv, double psiv, double *lg,
                               double *dpsi)
{
    if (x == 0.0) {
        *lg = *dpsi = 0.0;
        return;
    }
    if (v >= 1e3) {
        const double vx = v + x, l1 = log1p(x / v), u = 1.0 / vx, w = 1.0 / v;
        const double u2 = u * u, w2 = w * w;
        const double d1 = u - w, d2 = u2 - w2, d3 = u2 * u - w2 * w, d4 = u2 * u2 - w2 * w2;
        *lg = (v - 0.5) * l1 + x * log(vx) - x + d1 / 12.0 - d3 / 360.0;
        *dpsi = l1 - 0.5 * d1 - d2 / 12.0 + d4 / 120.0;
        return;
    }
    if (x <= 16.0 && x == floor(x) && v > 1e-6) {
        /* P <= (1e3 + 16)^16 and D = dP/dv <= x P / v stay finite */
        double P = 1.0, D = 0.0;
        const int n = (int)x;
        for (int j = 0; j < n; j++) {
            const double vj = v + (double)j;
            D = D * vj + P;
            P *= vj;
        }
        *lg = log(P);
        *dpsi = D / P;
        return;
    }
    *lg = sy_lgamma(v + x) - (isnan(lgv) ? sy_lgamma(v) : lgv);
    *dpsi = sy_digamma(v + x) - (isnan(psiv) ? sy_digamma(v) : psiv);
}

/* [log Gamma(b+x) - log Gamma(b)] - [log Gamma(c+x) - log Gamma(c)] (c = a + b) and the
   digamma differences psi(b+x) - psi(b), psi(c+x) - psi(c): as gamma_ratio, with one log
   of the quotient of the two products. */
static inline void beta_ratio(double b, double c, double x, double *G, double *Db, double *Dc)
{
    if (x <= 16.0 && x == floor(x) && b > 1e-6 && c < 1e3) {
        double Pb = 1.0, Qb = 0.0, Pc = 1.0, Qc = 0.0;
        const int n = (int)x;
        for (int j = 0; j < n; j++) {
            const double bj = b + (double)j, cj = c + (double)j;
            Qb = Qb * bj + Pb;
            Pb *= bj;
            Qc = Qc * cj + Pc;
            Pc *= cj;
        }
        *G = log(Pb / Pc);
        *Db = Qb / Pb;
        *Dc = Qc / Pc;
        return;
    }
    double Gb, Gc;
    gamma_ratio(b, x, NAN, NAN, &Gb, Db);
    gamma_ratio(c, x, NAN, NAN, &Gc, Dc);
    *G = Gb - Gc;
}

/* BG/NBD row: ll and g = d ll / d(r, alpha, a, b); lal = log(alpha), la = log(a).
   B(a, b+x)/B(a, b) = [Gamma(b+x)/Gamma(b)] / [Gamma(a+b+x)/Gamma(a+b)] and
   B(a+1, b+x-1)/B(a, b) = a/(b+x-1) times the same: Gamma(a) cancels. */
static int bg_row(double r, double al, double lal, double a, double la, double b, double x,
                  double tx, double T, double lgr, double psir, double *ll, double *g)
{
    const double la_T = log(al + T);
    if (x == 0.0) { /* B(a, b)/B(a, b) = 1: only the purchase process */
        *ll = r * (lal - la_T);
        if (g) {
            g[0] = lal - la_T;
            g[1] = r / al - r / (al + T);
            g[2] = g[3] = 0.0;
        }
        return SY_OK;
    }
    const double rx = r + x;
    double Gr, Dr, G, Db, Dab;
    gamma_ratio(r, x, lgr, psir, &Gr, &Dr);
    beta_ratio(b, a + b, x, &G, &Db, &Dab);
    const double la_t = log(al + tx), lbx = log(b + x - 1);
    const double L1 = G - rx * la_T;
    const double L2 = la + G - lbx - rx * la_t;
    double p1, p2;
    const double m = sy_logadd2(L1, L2, &p1, &p2);
    *ll = Gr + r * lal + m;
    if (g) {
        g[0] = Dr + lal - p1 * la_T - p2 * la_t;
        g[1] = r / al - rx * (p1 / (al + T) + p2 / (al + tx));
        g[2] = p2 / a - Dab;
        g[3] = Db - Dab - p2 / (b + x - 1);
    }
    return SY_OK;
}

/* Gamma-Gamma row: ll and g = d ll / d(p, q, gamma) */
static int gg_row(double p, double q, double gm, double x, double mv, double *ll, double *g)
{
    if (!(x > 0 && mv > 0)) return SY_EINVAL;
    const double px = p * x, lx = log(x), lm = log(mv), lgxm = log(gm + x * mv), lg = log(gm);
    *ll = sy_lgamma(px + q) - sy_lgamma(px) - sy_lgamma(q) + q * lg + px * lx + (px - 1) * lm -
          (px + q) * lgxm;
    if (g) {
        const double ps = sy_digamma(px + q);
        g[0] = x * (ps - sy_digamma(px) + lx + lm - lgxm);
        g[1] = ps - sy_digamma(q) + lg - lgxm;
        g[2] = q / gm - (px + q) / (gm + x * mv);
    }
    return SY_OK;
}

static inline double base_p(const cov_ctx *c, int j)
{
    return (c->shift ? c->shift[j] : 0.0) + exp(c->theta[j]);
}

/* linear predictors of row i (column-major blocks with m rows) */
static inline void lin_pred(const cov_ctx *c, int64_t i, int64_t m, double *ep, double *ed)
{
    const double *gam = c->theta + c->nb;
    double a = 0.0, b = 0.0;
    for (int j = 0; j < c->kp; j++) a += gam[c->ip[j]] * c->zp[(size_t)j * (size_t)m + (size_t)i];
    for (int j = 0; j < c->kd; j++) b += gam[c->id[j]] * c->zd[(size_t)j * (size_t)m + (size_t)i];
    *ep = a;
    *ed = b;
}

/* Add w * (chain of the natural gradient g at row scale factors) to acc[1..]. */
static void chain(const cov_ctx *c, double w, const double *g, const double *e, double sp,
                  double sd, const double *zrowp, const double *zrowd, int64_t stride, double *acc)
{
    double *ga = acc + 1;
    double *gg = ga + c->nb;
    switch (c->model) {
    case SY_MODEL_PARETO: {
        /* natural (r, alpha_i, s, beta_i); alpha_i = alpha sp, beta_i = beta sd */
        double dal = g[1] * e[1] * sp, dbe = g[3] * e[3] * sd;
        ga[0] += w * g[0] * e[0];
        ga[1] += w * dal;
        ga[2] += w * g[2] * e[2];
        ga[3] += w * dbe;
        for (int j = 0; j < c->kp; j++) gg[c->ip[j]] -= w * dal * zrowp[(size_t)j * (size_t)stride];
        for (int j = 0; j < c->kd; j++) gg[c->id[j]] -= w * dbe * zrowd[(size_t)j * (size_t)stride];
        break;
    }
    case SY_MODEL_BGNBD: {
        double dal = g[1] * e[1] * sp, da = g[2] * e[2] * sd, db = g[3] * e[3] * sd;
        ga[0] += w * g[0] * e[0];
        ga[1] += w * dal;
        ga[2] += w * da;
        ga[3] += w * db;
        for (int j = 0; j < c->kp; j++) gg[c->ip[j]] -= w * dal * zrowp[(size_t)j * (size_t)stride];
        for (int j = 0; j < c->kd; j++)
            gg[c->id[j]] += w * (da + db) * zrowd[(size_t)j * (size_t)stride];
        break;
    }
    default: { /* Gamma-Gamma: natural (p, q, gamma_i), gamma_i = gamma sp */
        double dg = g[2] * e[2] * sp;
        ga[0] += w * g[0] * e[0];
        ga[1] += w * g[1] * e[1];
        ga[2] += w * dg;
        for (int j = 0; j < c->kp; j++) gg[c->ip[j]] += w * dg * zrowp[(size_t)j * (size_t)stride];
        break;
    }
    }
}

static int cov_rows(void *vctx, int64_t lo, int64_t hi, int want_grad, double *acc)
{
    const cov_ctx *c = (const cov_ctx *)vctx;
    const sy_mdata *d = c->d;
    const int64_t m = d->n;
    double P[4], e[4];
    for (int j = 0; j < c->nb; j++) {
        P[j] = base_p(c, j);
        e[j] = exp(c->theta[j]);
    }
    const double lgr = sy_lgamma(P[0]), psir = sy_digamma(P[0]);
    const double lP1 = log(P[1]), lP2 = c->nb > 2 ? log(P[2]) : 0.0;
    for (int64_t i = lo; i < hi; i++) {
        const double w = d->w ? d->w[i] : 1.0;
        double ep, ed, l, g[4];
        lin_pred(c, i, m, &ep, &ed);
        int st;
        double sp, sd = 1.0;
        switch (c->model) {
        case SY_MODEL_PARETO:
            sp = exp(-ep);
            sd = exp(-ed);
            if (!(isfinite(sp) && isfinite(sd) && sp > 0 && sd > 0)) return SY_ENAN;
            st = sy_paretonbd_row(P[0], P[1] * sp, P[2], P[3] * sd, d->c0[i], d->c1[i], d->c2[i],
                                  lgr, psir, &l, want_grad ? g : NULL);
            break;
        case SY_MODEL_BGNBD:
            sp = exp(-ep);
            sd = exp(ed);
            if (!(isfinite(sp) && isfinite(sd) && sp > 0 && sd > 0)) return SY_ENAN;
            st = bg_row(P[0], P[1] * sp, lP1 - ep, P[2] * sd, lP2 + ed, P[3] * sd, d->c0[i],
                        d->c1[i], d->c2[i], lgr, psir, &l, want_grad ? g : NULL);
            break;
        default:
            sp = exp(ep);
            if (!(isfinite(sp) && sp > 0)) return SY_ENAN;
            st = gg_row(P[0], P[1], P[2] * sp, d->c0[i], d->c1[i], &l, want_grad ? g : NULL);
            break;
        }
        if (st != SY_OK) return st;
        acc[0] += w * l;
        if (want_grad)
            chain(c, w, g, e, sp, sd, c->zp ? c->zp + i : NULL, c->zd ? c->zd + i : NULL, m, acc);
    }
    return SY_OK;
}

/* BG/NBD, few covariate patterns: the tabulated kernel per pattern, patterns spread over
   threads; each pattern's sums are kept apart and added in pattern order, so the result
   does not depend on the number of threads */
typedef struct {
    const cov_ctx *c;
    double *acc;      /* ngroups x (k + 1) */
    int want_grad, tid, nth, status;
} grp_job;

static void *grp_worker(void *arg)
{
    grp_job *j = (grp_job *)arg;
    const cov_ctx *c = j->c;
    const int k = c->nb + c->ng, kz = c->kp + c->kd;
    const double *gam = c->theta + c->nb;
    double P[4], e[4];
    for (int q = 0; q < 4; q++) {
        P[q] = base_p(c, q);
        e[q] = exp(c->theta[q]);
    }
    j->status = SY_OK;
    for (int64_t gi = j->tid; gi < c->ngroups; gi += j->nth) {
        if (sy_interrupted()) {
            j->status = SY_EINTR;
            return NULL;
        }
        double *acc = j->acc + (size_t)gi * (size_t)(k + 1);
        const double *z = c->gz + (size_t)gi * (size_t)kz;
        double ep = 0.0, ed = 0.0;
        for (int q = 0; q < c->kp; q++) ep += gam[c->ip[q]] * z[q];
        for (int q = 0; q < c->kd; q++) ed += gam[c->id[q]] * z[c->kp + q];
        double sp = exp(-ep), sd = exp(ed);
        if (!(isfinite(sp) && isfinite(sd) && sp > 0 && sd > 0)) {
            j->status = SY_ENAN;
            return NULL;
        }
        double p[4] = {P[0], P[1] * sp, P[2] * sd, P[3] * sd}, l, g[4];
        int st = sy_bgnbd_loglik(p, &c->gd[gi], 0, &l, j->want_grad ? g : NULL);
        if (st != SY_OK) {
            j->status = st;
            return NULL;
        }
        acc[0] = l;
        if (j->want_grad) chain(c, 1.0, g, e, sp, sd, z, z + c->kp, 1, acc);
    }
    return NULL;
}

static int cov_groups(const cov_ctx *c, double *ll, double *grad)
{
    const int k = c->nb + c->ng;
    double *acc = (double *)calloc((size_t)c->ngroups * (size_t)(k + 1), sizeof(double));
    if (!acc) return SY_ENOMEM;
    int nth = sy_get_num_threads();
    if (nth > 64) nth = 64;
    if ((int64_t)nth > c->ngroups) nth = (int)c->ngroups;
    if (c->d->n < 16384) nth = 1;
    if (nth < 1) nth = 1;
    grp_job jobs[64];
    for (int t = 0; t < nth; t++) jobs[t] = (grp_job){c, acc, grad != NULL, t, nth, SY_OK};
    sy_run_jobs(grp_worker, jobs, sizeof(grp_job), nth);
    int st = SY_OK;
    for (int t = 0; t < nth; t++)
        if (jobs[t].status != SY_OK && st != SY_EINTR) st = jobs[t].status;
    double tot[SY_FIT_MAXPAR + 1] = {0.0};
    if (st == SY_OK) {
        for (int64_t gi = 0; gi < c->ngroups; gi++)
            for (int j = 0; j <= k; j++) tot[j] += acc[(size_t)gi * (size_t)(k + 1) + (size_t)j];
        for (int j = 0; j <= k; j++)
            if (!isfinite(tot[j])) st = SY_ENAN;
    }
    free(acc);
    if (st != SY_OK) return st;
    *ll = tot[0];
    if (grad)
        for (int j = 0; j < k; j++) grad[j] = tot[1 + j];
    return SY_OK;
}

static int cov_eval(cov_ctx *c, const double *theta, double *ll, double *grad)
{
    c->theta = theta;
    if (c->gd) return cov_groups(c, ll, grad);
    return sy_blocked_sum(cov_rows, c, c->d->n, c->nb + c->ng, ll, grad);
}

/* ---- Hessian of the log-likelihood wrt theta ----------------------------------------
   Each row's log-likelihood depends on theta only through its natural parameters
   q_m = P_m S_m (P_m = shift_m + e^{theta_m}; S_m = e^{sigma_m eta}, eta the row's purchase
   or dropout linear predictor).  In u_m = log q_m, linear in the effects:
     H_theta = J' H_uu J + sum_m g_u[m] kappa_m (1 - kappa_m) e_m e_m',
   J[m][m] = kappa_m = e^{theta_m} / P_m, J[m][effect of covariate j of m's process] =
   sigma_m z_j.  H_uu (nb x nb) comes from differences of the row's analytic gradient in u
   (2 nb row gradients central, nb + 1 forward): for k effects that is 2 nb row
   evaluations instead of the 2 (nb + k) whole-data evaluations of differencing the total
   gradient over theta.  The row path sums rows in fixed blocks on the threads; the group
   path (BG/NBD patterns) differences each pattern's tabulated sum. */

#define COV_HSTEP_CENTRAL 1e-4
#define COV_HSTEP_FORWARD 1e-6
#define COV_HBLOCK 8192

/* sigma_m and the process of natural parameter m (0 none, 1 purchase, 2 dropout) */
static void cov_roles(int model, int *sig, int *proc)
{
    static const int ps[4] = {0, -1, 0, -1}, pp[4] = {0, 1, 0, 2};
    static const int bs[4] = {0, -1, 1, 1}, bp[4] = {0, 1, 2, 2};
    static const int gs[4] = {0, 0, 1, 0}, gp[4] = {0, 0, 1, 0};
    const int *a = model == SY_MODEL_PARETO ? ps : model == SY_MODEL_BGNBD ? bs : gs;
    const int *b = model == SY_MODEL_PARETO ? pp : model == SY_MODEL_BGNBD ? bp : gp;
    for (int m = 0; m < 4; m++) {
        sig[m] = a[m];
        proc[m] = b[m];
    }
}

/* Natural gradient of one row at natural parameters q; lgr/psir: log Gamma and digamma
   of q[0] (the unscaled shape r or p). */
static int nat_row(int model, const double *q, double lgr, double psir, double x, double tx,
                   double T, double *l, double *g)
{
    switch (model) {
    case SY_MODEL_PARETO:
        return sy_paretonbd_row(q[0], q[1], q[2], q[3], x, tx, T, lgr, psir, l, g);
    case SY_MODEL_BGNBD:
        return bg_row(q[0], q[1], log(q[1]), q[2], log(q[2]), q[3], x, tx, T, lgr, psir, l, g);
    default:
        return gg_row(q[0], q[1], q[2], x, tx, l, g);
    }
}

typedef struct {
    const cov_ctx *c;
    int central;
    double h;
    double P[4], kap[4];
    int sig[4], proc[4];
    double lgr[3], psir[3];     /* at q0, q0 e^h, q0 e^-h */
    int64_t block;
    int64_t stride;             /* every stride-th row, weighted stride times (>= 1) */
    double *acc;                /* per block (or group): k x k */
} hess_ctx;

/* Add w * (the row's theta-Hessian) to H (k x k).  gu: u-gradient, Huu: u-Hessian, zp/zd:
   the row's covariates (stride apart). */
static void hess_add(const hess_ctx *x, double w, const double *gu, const double *Huu,
                     const double *zp, const double *zd, int64_t stride, double *H)
{
    const cov_ctx *c = x->c;
    const int nb = c->nb, k = nb + c->ng;
    double C[4][3] = {{0}}, D[3][3] = {{0}};
    for (int m = 0; m < nb; m++)
        for (int n = 0; n < nb; n++)
            if (x->proc[n]) C[m][x->proc[n]] += x->sig[n] * Huu[m * nb + n];
    for (int m = 0; m < nb; m++)
        if (x->proc[m])
            for (int q = 1; q < 3; q++) D[x->proc[m]][q] += x->sig[m] * C[m][q];
    for (int m = 0; m < nb; m++) {
        for (int n = 0; n < nb; n++) H[m * k + n] += w * x->kap[m] * x->kap[n] * Huu[m * nb + n];
        H[m * k + m] += w * gu[m] * x->kap[m] * (1.0 - x->kap[m]);
    }
    /* covariate slots: (process, value, effect index) */
    int sp[2 * SY_FIT_MAXPAR], sg[2 * SY_FIT_MAXPAR], ns = 0;
    double sz[2 * SY_FIT_MAXPAR];
    for (int j = 0; j < c->kp; j++) {
        sp[ns] = 1;
        sz[ns] = zp[(size_t)j * (size_t)stride];
        sg[ns++] = nb + c->ip[j];
    }
    for (int j = 0; j < c->kd; j++) {
        sp[ns] = 2;
        sz[ns] = zd[(size_t)j * (size_t)stride];
        sg[ns++] = nb + c->id[j];
    }
    for (int t = 0; t < ns; t++) {
        if (sz[t] == 0.0) continue;
        for (int m = 0; m < nb; m++) {
            const double v = w * x->kap[m] * C[m][sp[t]] * sz[t];
            H[m * k + sg[t]] += v;
            H[sg[t] * k + m] += v;
        }
        for (int u = 0; u < ns; u++)
            if (sz[u] != 0.0) H[sg[t] * k + sg[u]] += w * D[sp[t]][sp[u]] * sz[t] * sz[u];
    }
}

/* u-gradient and u-Hessian of a row (or a group: grp != NULL) at natural parameters q */
static int hess_point(const hess_ctx *x, const double *q, const sy_mdata *grp, double c0,
                      double c1, double c2, double *gu, double *Huu)
{
    const int nb = x->c->nb, model = x->c->model;
    double g[4], gp[4], gm[4], qq[4], l;
    int st;
#define HESS_EVAL(QV, V, G)                                                                  \
    (grp ? sy_bgnbd_loglik((QV), grp, 0, &l, (G))                                          \
         : nat_row(model, (QV), x->lgr[V], x->psir[V], c0, c1, c2, &l, (G)))
    if ((st = HESS_EVAL(q, 0, g)) != SY_OK) return st;
    for (int m = 0; m < nb; m++) gu[m] = q[m] * g[m];
    const double ep = exp(x->h), em = exp(-x->h);
    for (int n = 0; n < nb; n++) {
        memcpy(qq, q, sizeof qq);
        qq[n] = q[n] * ep;
        if ((st = HESS_EVAL(qq, n == 0 ? 1 : 0, gp)) != SY_OK) return st;
        if (x->central) {
            qq[n] = q[n] * em;
            if ((st = HESS_EVAL(qq, n == 0 ? 2 : 0, gm)) != SY_OK) return st;
        }
        for (int m = 0; m < nb; m++) {
            const double up = (m == n ? q[m] * ep : q[m]) * gp[m];
            const double um = x->central ? (m == n ? q[m] * em : q[m]) * gm[m] : gu[m];
            Huu[m * nb + n] = (up - um) / (x->central ? 2.0 * x->h : x->h);
        }
    }
#undef HESS_EVAL
    for (int m = 0; m < nb; m++)
        for (int n = 0; n < m; n++)
            Huu[m * nb + n] = Huu[n * nb + m] = 0.5 * (Huu[m * nb + n] + Huu[n * nb + m]);
    return SY_OK;
}

/* the natural parameters of a row or group with linear predictors ep, ed */
static int hess_q(const hess_ctx *x, double ep, double ed, double *q)
{
    for (int m = 0; m < x->c->nb; m++) {
        const double eta = x->proc[m] == 1 ? ep : x->proc[m] == 2 ? ed : 0.0;
        q[m] = x->P[m] * exp(x->sig[m] * eta);
        if (!(isfinite(q[m]) && q[m] > 0)) return SY_ENAN;
    }
    return SY_OK;
}

/* rows lo .. hi - 1: one block, into its own matrix */
static int hess_rows(void *vctx, int64_t lo, int64_t hi)
{
    const hess_ctx *x = (const hess_ctx *)vctx;
    const cov_ctx *c = x->c;
    const sy_mdata *d = c->d;
    const int64_t m = d->n;
    const int k = c->nb + c->ng;
    double *H = x->acc + (size_t)(lo / x->block) * (size_t)k * (size_t)k;
    const int64_t st0 = x->stride;
    for (int64_t i = lo + (st0 - lo % st0) % st0; i < hi; i += st0) {
        double ep, ed, q[4], gu[4], Huu[16];
        lin_pred(c, i, m, &ep, &ed);
        int st = hess_q(x, ep, ed, q);
        if (st == SY_OK)
            st = hess_point(x, q, NULL, d->c0[i], d->c1[i], d->c2 ? d->c2[i] : 0.0, gu, Huu);
        if (st != SY_OK) return st;
        hess_add(x, (double)st0 * (d->w ? d->w[i] : 1.0), gu, Huu, c->zp ? c->zp + i : NULL,
                 c->zd ? c->zd + i : NULL, m, H);
    }
    return SY_OK;
}

/* pattern gi (a block of one), into its own matrix */
static int hess_group(void *vctx, int64_t gi, int64_t end)
{
    (void)end;
    const hess_ctx *x = (const hess_ctx *)vctx;
    const cov_ctx *c = x->c;
    const int k = c->nb + c->ng, kz = c->kp + c->kd;
    const double *gam = c->theta + c->nb;
    const double *z = c->gz + (size_t)gi * (size_t)kz;
    double ep = 0.0, ed = 0.0, q[4], gu[4], Huu[16];
    for (int j = 0; j < c->kp; j++) ep += gam[c->ip[j]] * z[j];
    for (int j = 0; j < c->kd; j++) ed += gam[c->id[j]] * z[c->kp + j];
    int st = hess_q(x, ep, ed, q);
    if (st == SY_OK) st = hess_point(x, q, &c->gd[gi], 0, 0, 0, gu, Huu);
    if (st != SY_OK) return st;
    hess_add(x, 1.0, gu, Huu, z, z + c->kp, 1, x->acc + (size_t)gi * (size_t)k * (size_t)k);
    return SY_OK;
}

/* H (k x k) = Hessian of the log-likelihood with respect to theta at theta: central
   differences of the analytic row gradients (central = 1, for standard errors), or
   forward ones (central = 0: the BFGS start's, on every row of a group or on a subset of
   the rows, see hess_ctx.stride). */
static int cov_loglik_hessian(cov_ctx *c, const double *theta, int central, double *Hout)
{
    c->theta = theta;
    const int nb = c->nb, k = nb + c->ng;
    const size_t kk = (size_t)k * (size_t)k;
    hess_ctx x;
    memset(&x, 0, sizeof x);
    x.c = c;
    x.central = central;
    x.stride = 1;
    x.h = central ? COV_HSTEP_CENTRAL : COV_HSTEP_FORWARD;
    cov_roles(c->model, x.sig, x.proc);
    for (int m = 0; m < nb; m++) {
        const double e = exp(theta[m]);
        x.P[m] = base_p(c, m);
        x.kap[m] = e / x.P[m];
    }
    for (int v = 0; v < 3; v++) {
        const double r = x.P[0] * (v == 0 ? 1.0 : exp(v == 1 ? x.h : -x.h));
        x.lgr[v] = sy_lgamma(r);
        x.psir[v] = sy_digamma(r);
    }
    const int groups = c->gd != NULL;
    const int64_t n = c->d->n;
    int64_t nunits;
    if (groups) {
        nunits = c->ngroups;
    } else {
        /* at most 256 blocks, so the per-block matrices stay small */
        x.block = n / 256 + 1 > COV_HBLOCK ? n / 256 + 1 : COV_HBLOCK;
        /* the forward-difference Hessian only starts BFGS off: on many rows, a
           spread-out subset (each row standing for stride rows) shapes it as well */
        if (!central && n > 2 * COV_WARM_ROWS) x.stride = n / COV_WARM_ROWS;
        nunits = n > 0 ? (n + x.block - 1) / x.block : 0;
    }
    x.acc = (double *)calloc((size_t)(nunits > 0 ? nunits : 1) * kk, sizeof(double));
    if (!x.acc) return SY_ENOMEM;
    int st = groups ? sy_parallel_blocks(nunits, 1, 1, hess_group, &x)
                    : sy_parallel_blocks(n, x.block, 1, hess_rows, &x);
    if (st == SY_OK) {
        for (size_t j = 0; j < kk; j++) Hout[j] = 0.0;
        for (int64_t u = 0; u < nunits; u++)
            for (size_t j = 0; j < kk; j++) Hout[j] += x.acc[(size_t)u * kk + j];
        for (size_t j = 0; j < kk; j++)
            if (!isfinite(Hout[j])) st = SY_ENAN;
        for (int i = 0; i < k; i++)
            for (int j = 0; j < i; j++)
                Hout[i * k + j] = Hout[j * k + i] = 0.5 * (Hout[i * k + j] + Hout[j * k + i]);
    }
    free(x.acc);
    return st;
}

/* hess = W x (the objective's Hessian) = -H_loglik + W x penalty'' */
static int cov_obj_hessian(cov_ctx *c, const sy_fit_opts *o, double W, const double *theta,
                           int central, double *hess)
{
    const int k = c->nb + c->ng;
    int st = cov_loglik_hessian(c, theta, central, hess);
    if (st != SY_OK) return st;
    double pd[SY_FIT_MAXPAR];
    sy_fit_penalty_hess(o, c->nb, k, theta, pd);
    for (int i = 0; i < k * k; i++) hess[i] = -hess[i];
    for (int i = 0; i < k; i++) hess[i * k + i] += W * pd[i];
    return SY_OK;
}

static int nbase(int model)
{
    switch (model) {
    case SY_MODEL_PARETO:
    case SY_MODEL_BGNBD:
        return 4;
    case SY_MODEL_GG:
        return 3;
    default:
        return 0;
    }
}

static int check_spec(int model, const sy_mdata *d, const sy_covspec *cs)
{
    const int nb = nbase(model);
    if (nb == 0 || !cs || cs->kp < 0 || cs->kd < 0 || cs->ng < 0) return SY_EINVAL;
    if (nb + cs->ng > SY_FIT_MAXPAR || cs->kp + cs->kd > SY_FIT_MAXPAR) return SY_EINVAL;
    if (model == SY_MODEL_GG && cs->kd != 0) return SY_EINVAL;
    if ((cs->kp && (!cs->zp || !cs->ip)) || (cs->kd && (!cs->zd || !cs->id))) return SY_EINVAL;
    for (int j = 0; j < cs->kp; j++)
        if (cs->ip[j] < 0 || cs->ip[j] >= cs->ng) return SY_EINVAL;
    for (int j = 0; j < cs->kd; j++)
        if (cs->id[j] < 0 || cs->id[j] >= cs->ng) return SY_EINVAL;
    if (!d->c0 || !d->c1 || (model != SY_MODEL_GG && !d->c2)) return SY_EINVAL;
    return SY_OK;
}

/* ---- group path: sort rows by covariate pattern and prepare each pattern --------- */

typedef struct {
    char *buf;
    sy_mdata *gd;
    double *gz;
    int64_t ngroups;
} groups_t;

static void groups_free(groups_t *G)
{
    if (G->gd)
        for (int64_t g = 0; g < G->ngroups; g++) sy_models_release(&G->gd[g]);
    free(G->gd);
    free(G->gz);
    free(G->buf);
    memset(G, 0, sizeof *G);
}

/* The covariate pattern of each of n rows (inv) and the distinct patterns, row by row in
   pat (room for COV_MAXGROUPS x kz), numbered in order of first appearance.  room: kz
   columns of n doubles of scratch.  *ng > COV_MAXGROUPS: too many patterns (inv and pat
   are then incomplete). */
static int find_patterns(const double *const *zc, int kz, int64_t n, int64_t *inv,
                         double *pat, double *const *room, int64_t *ng)
{
    *ng = 0;
    /* 0/1 covariates (dummies, flags; the usual case): the pattern is the number whose
       bits they are -- no hashing */
    int bits = kz <= 12;
    for (int j = 0; j < kz && bits; j++)
        for (int64_t i = 0; i < n; i++)
            if (zc[j][i] != 0.0 && zc[j][i] != 1.0) {
                bits = 0;
                break;
            }
    if (bits) {
        int32_t id[1 << 12];
        int64_t g = 0;
        for (int v = 0; v < (1 << kz); v++) id[v] = -1;
        for (int64_t i = 0; i < n && g <= COV_MAXGROUPS; i++) {
            int v = 0;
            for (int j = 0; j < kz; j++) v |= (zc[j][i] != 0.0) << j;
            if (id[v] < 0) {
                if (g < COV_MAXGROUPS)
                    for (int j = 0; j < kz; j++) pat[g * kz + j] = (double)((v >> j) & 1);
                id[v] = (int32_t)g++;
            }
            inv[i] = id[v];
        }
        *ng = g;
        return SY_OK;
    }
    /* hashed patterns: continuous covariates show many within the first rows already, so
       a cheap look at those comes before the full pass, which would only find too many */
    const int64_t probe = n < COV_PROBE ? n : COV_PROBE;
    int st = sy_dedup(zc, kz, NULL, probe, room, NULL, inv, ng);
    if (st == SY_OK && *ng <= COV_MAXGROUPS && probe < n)
        st = sy_dedup(zc, kz, NULL, n, room, NULL, inv, ng);
    if (st == SY_OK && *ng <= COV_MAXGROUPS)
        for (int j = 0; j < kz; j++)
            for (int64_t g = 0; g < *ng; g++) pat[g * kz + j] = room[j][g];
    return st;
}

/* The rows of d by pattern (counting sort): group g's c0, c1, c2, w at cnt[g] ..
   cnt[g + 1] - 1 of sorted (4 x n). */
static void sort_by_pattern(const sy_mdata *d, const int64_t *inv, int64_t ng, int64_t *cnt,
                            double *sorted)
{
    const int64_t n = d->n;
    int64_t pos[COV_MAXGROUPS];
    for (int64_t g = 0; g <= ng; g++) cnt[g] = 0;
    for (int64_t i = 0; i < n; i++) cnt[inv[i] + 1]++;
    for (int64_t g = 0; g < ng; g++) cnt[g + 1] += cnt[g];
    for (int64_t g = 0; g < ng; g++) pos[g] = cnt[g];
    double *s0 = sorted, *s1 = sorted + n, *s2 = sorted + 2 * n, *sw = sorted + 3 * n;
    for (int64_t i = 0; i < n; i++) {
        const int64_t q = pos[inv[i]]++;
        s0[q] = d->c0[i];
        s1[q] = d->c1[i];
        s2[q] = d->c2[i];
        sw[q] = d->w ? d->w[i] : 1.0;
    }
}

/* 1 = built, 0 = too many patterns (use rows), < 0 = -status */
static int groups_build(const sy_mdata *d, const sy_covspec *cs, groups_t *G)
{
    memset(G, 0, sizeof *G);
    const int64_t m = d->n;
    const int kz = cs->kp + cs->kd;
    if (kz == 0 || m == 0) return 0;
    const double *zc[SY_FIT_MAXPAR];
    for (int j = 0; j < cs->kp; j++) zc[j] = cs->zp + (size_t)j * (size_t)m;
    for (int j = 0; j < cs->kd; j++) zc[cs->kp + j] = cs->zd + (size_t)j * (size_t)m;
    int64_t bytes, nz;
    if (!sy_mul_ok(m, (int64_t)kz, &nz) || !sy_mul_ok(nz + 5 * m + 1, (int64_t)sizeof(double), &bytes))
        return -SY_ENOMEM;
    char *buf = (char *)malloc((size_t)bytes);
    /* the patterns, row by row: the groups' covariate rows */
    double *gz = (double *)malloc((size_t)COV_MAXGROUPS * (size_t)kz * sizeof(double));
    if (!buf || !gz) {
        free(buf);
        free(gz);
        return -SY_ENOMEM;
    }
    double *uz = (double *)buf;            /* scratch of find_patterns: kz x m */
    int64_t *inv = (int64_t *)(uz + nz);   /* pattern of each row */
    double *sorted = (double *)(inv + m);  /* 4 x m: c0, c1, c2, w sorted by pattern */
    double *room[SY_FIT_MAXPAR];
    for (int j = 0; j < kz; j++) room[j] = uz + (size_t)j * (size_t)m;
    int64_t ng = 0;
    int st = find_patterns(zc, kz, m, inv, gz, room, &ng);
    if (st != SY_OK || ng > COV_MAXGROUPS) {
        free(buf);
        free(gz);
        return st != SY_OK ? -st : 0;
    }
    int64_t cnt[COV_MAXGROUPS + 1];
    sort_by_pattern(d, inv, ng, cnt, sorted);
    G->buf = buf;
    G->gz = gz;
    G->ngroups = ng;
    G->gd = (sy_mdata *)calloc((size_t)ng, sizeof(sy_mdata));
    if (!G->gd) {
        groups_free(G);
        return -SY_ENOMEM;
    }
    for (int64_t g = 0; g < ng; g++) {
        sy_mdata *q = &G->gd[g];
        q->n = cnt[g + 1] - cnt[g];
        q->c0 = sorted + cnt[g];
        q->c1 = sorted + m + cnt[g];
        q->c2 = sorted + 2 * m + cnt[g];
        q->w = sorted + 3 * m + cnt[g];
        st = sy_models_prepare(SY_MODEL_BGNBD, q);
        if (st != SY_OK) {
            groups_free(G);
            return -st;
        }
    }
    return 1;
}

/* BG/NBD with few covariate patterns: the rows are grouped by pattern first, then each
   group's identical (x, t_x, T) rows are collapsed with its own small table.  This gives
   the same distinct rows as one collapse of (data, covariates) -- a row is distinct iff
   its pattern or its data differ -- in pattern order, with the groups ready; the wide
   collapse would probe a table of all distinct rows for every customer.  The distinct
   rows go to ucols (nd data columns, then the kz pattern columns) and uw, capacity
   n rows; zc are the kz covariate columns of the raw rows.
   1 = built (*m rows, G set), 0 = more than COV_MAXGROUPS patterns, < 0 = -status. */
static int collapse_by_pattern(const sy_mdata *raw, const double *const *zc, int kz,
                               int shared, const sy_covspec *cs, double *const *ucols,
                               double *uw, int64_t *m, groups_t *G)
{
    memset(G, 0, sizeof *G);
    const int64_t n = raw->n;
    if (kz == 0 || n == 0) return 0;
    int64_t bytes;
    if (!sy_mul_ok(n, 5 * (int64_t)sizeof(double), &bytes)) return -SY_ENOMEM;
    char *tmp = (char *)malloc((size_t)bytes);
    double *pat = (double *)malloc((size_t)COV_MAXGROUPS * (size_t)kz * sizeof(double));
    if (!tmp || !pat) {
        free(tmp);
        free(pat);
        return -SY_ENOMEM;
    }
    int64_t *inv = (int64_t *)tmp;                   /* pattern of each row */
    double *sorted = (double *)(inv + n);            /* 4 x n: c0, c1, c2, w by pattern */
    int64_t ng = 0;
    /* the output columns (n rows each) are free until the groups are collapsed below:
       find_patterns' scratch */
    int st = find_patterns(zc, kz, n, inv, pat, ucols, &ng);
    if (st != SY_OK || ng > COV_MAXGROUPS) {
        free(tmp);
        free(pat);
        return st != SY_OK ? -st : 0;
    }
    int64_t cnt[COV_MAXGROUPS + 1];
    sort_by_pattern(raw, inv, ng, cnt, sorted);
    const double *s0 = sorted, *s1 = sorted + n, *s2 = sorted + 2 * n, *sw = sorted + 3 * n;
    /* each group's distinct data rows, one after the other */
    int64_t off[COV_MAXGROUPS + 1];
    int64_t tot = 0;
    for (int64_t g = 0; g < ng && st == SY_OK; g++) {
        const double *gc[3] = {s0 + cnt[g], s1 + cnt[g], s2 + cnt[g]};
        double *go[3] = {ucols[0] + tot, ucols[1] + tot, ucols[2] + tot};
        int64_t mg = 0;
        off[g] = tot;
        st = sy_dedup(gc, 3, sw + cnt[g], cnt[g + 1] - cnt[g], go, uw + tot, NULL, &mg);
        for (int j = 0; j < kz && st == SY_OK; j++)
            for (int64_t i = 0; i < mg; i++) ucols[3 + j][tot + i] = pat[g * kz + j];
        tot += mg;
    }
    off[ng] = tot;
    free(tmp);
    if (st != SY_OK) {
        free(pat);
        return -st;
    }
    *m = tot;
    /* the groups, as groups_build makes them (pattern rows: purchase then dropout) */
    const int kg = cs->kp + cs->kd;
    G->ngroups = ng;
    G->gd = (sy_mdata *)calloc((size_t)ng, sizeof(sy_mdata));
    G->gz = (double *)malloc((size_t)ng * (size_t)kg * sizeof(double) + 1);
    if (!G->gd || !G->gz) {
        free(pat);
        groups_free(G);
        return -SY_ENOMEM;
    }
    for (int64_t g = 0; g < ng; g++) {
        double *row = G->gz + (size_t)g * (size_t)kg;
        for (int j = 0; j < cs->kp; j++) row[j] = pat[g * kz + j];
        for (int j = 0; j < cs->kd; j++) row[cs->kp + j] = pat[g * kz + (shared ? j : cs->kp + j)];
        sy_mdata *q = &G->gd[g];
        q->n = off[g + 1] - off[g];
        q->c0 = ucols[0] + off[g];
        q->c1 = ucols[1] + off[g];
        q->c2 = ucols[2] + off[g];
        q->w = uw + off[g];
        st = sy_models_prepare(SY_MODEL_BGNBD, q);
        if (st != SY_OK) break;
    }
    free(pat);
    if (st != SY_OK) {
        groups_free(G);
        return -st;
    }
    return 1;
}

/* ---- public: log-likelihood ------------------------------------------------------ */

int sy_cov_loglik(int model, const double *theta, const sy_mdata *d, const sy_covspec *cs,
                  double *ll, double *grad, double *hess)
{
    int st = check_spec(model, d, cs);
    if (st != SY_OK) return st;
    const int nb = nbase(model);
    for (int j = 0; j < nb + cs->ng; j++)
        if (!isfinite(theta[j])) return SY_EINVAL;
    cov_ctx c = {model, nb, cs->ng, cs->kp, cs->kd, d, cs->zp, cs->zd, cs->ip, cs->id, NULL,
                 theta, 0, NULL, NULL};
    groups_t G;
    int gb = 0;
    if (model == SY_MODEL_BGNBD) {
        gb = groups_build(d, cs, &G);
        if (gb < 0) return -gb;
        if (gb == 1) {
            c.ngroups = G.ngroups;
            c.gd = G.gd;
            c.gz = G.gz;
        }
    }
    st = cov_eval(&c, theta, ll, grad);
    if (st == SY_OK && hess) st = cov_loglik_hessian(&c, theta, 1, hess);
    if (gb == 1) groups_free(&G);
    return st;
}

/* ---- public: fit ----------------------------------------------------------------- */

typedef struct {
    cov_ctx *c;
    double W;
    const sy_fit_opts *o;
} covfit_ctx;

static int cov_obj(const double *theta, void *vctx, double *f, double *g)
{
    covfit_ctx *F = (covfit_ctx *)vctx;
    const int k = F->c->nb + F->c->ng;
    for (int i = 0; i < k; i++)
        if (!(fabs(theta[i]) < 50.0)) return SY_ENAN;
    double ll, gr[SY_FIT_MAXPAR];
    int st = cov_eval(F->c, theta, &ll, gr);
    if (st != SY_OK) return st;
    for (int i = 0; i < k; i++) g[i] = -gr[i] / F->W;
    *f = -ll / F->W + sy_fit_penalty(F->o, F->c->nb, k, theta, g);
    return SY_OK;
}

/* The rows the warm start is fitted on: every step-th of d's (c0, c1, c2, w) rows when d
   has many more than COV_WARM_ROWS (a spread-out subset is enough for a start: the
   covariate fit then takes a Newton-like step from it with the full data's Hessian),
   else d itself.  Returns the subset's buffer (to free; NULL: *sub is d). */
static double *warm_subset(const sy_mdata *d, sy_mdata *sub)
{
    *sub = *d;
    const int64_t m = d->n;
    const int64_t step = m > 2 * COV_WARM_ROWS ? m / COV_WARM_ROWS : 1;
    if (step == 1) return NULL;
    const int64_t mw = (m + step - 1) / step;
    double *sb = (double *)malloc((size_t)mw * 4 * sizeof(double));
    if (!sb) return NULL;                  /* then the start is fitted on every row */
    for (int64_t i = 0; i < mw; i++) {
        sb[i] = d->c0[i * step];
        sb[mw + i] = d->c1[i * step];
        sb[2 * mw + i] = d->c2 ? d->c2[i * step] : 0.0;
        sb[3 * mw + i] = d->w[i * step];
    }
    sub->n = mw;
    sub->c0 = sb;
    sub->c1 = sb + mw;
    sub->c2 = d->c2 ? sb + 2 * mw : NULL;
    sub->w = sb + 3 * mw;
    return sb;
}

int sy_cov_fit(int model, const sy_mdata *raw, const sy_covspec *cs, const double *starts,
               int n_starts, const sy_fit_opts *opts, sy_fit_result *res, double *hess)
{
    int st = check_spec(model, raw, cs);
    if (st != SY_OK) return st;
    if (n_starts < 1) return SY_EINVAL;
    memset(res, 0, sizeof *res);
    const int nb = nbase(model), k = nb + cs->ng;
    const int64_t n = raw->n;
    if (n < 1) return SY_EINVAL;
    const int nd = model == SY_MODEL_GG ? 2 : 3;
    /* the same covariates on both processes (the default): one copy of the columns */
    const int shared = cs->kd > 0 && cs->zd == cs->zp && cs->kd == cs->kp;
    const int kz = shared ? cs->kp : cs->kp + cs->kd, ncol = nd + kz;
    /* collapse identical (data, covariate) rows */
    int64_t bytes, cells;
    if (!sy_mul_ok(n, (int64_t)(ncol + 1), &cells) || !sy_mul_ok(cells, (int64_t)sizeof(double), &bytes))
        return SY_ENOMEM;
    double *buf = (double *)malloc((size_t)bytes);
    if (!buf) return SY_ENOMEM;
    const double *cols[SY_FIT_MAXPAR + 3];
    double *ucols[SY_FIT_MAXPAR + 3];
    cols[0] = raw->c0;
    cols[1] = raw->c1;
    if (nd == 3) cols[2] = raw->c2;
    for (int j = 0; j < cs->kp; j++) cols[nd + j] = cs->zp + (size_t)j * (size_t)n;
    if (!shared)
        for (int j = 0; j < cs->kd; j++) cols[nd + cs->kp + j] = cs->zd + (size_t)j * (size_t)n;
    for (int j = 0; j < ncol; j++) ucols[j] = buf + (size_t)j * (size_t)n;
    double *uw = buf + (size_t)ncol * (size_t)n;
    int64_t m = 0;
    groups_t G;
    int gb = 0;
    if (model == SY_MODEL_BGNBD) {
        gb = collapse_by_pattern(raw, cols + nd, kz, shared, cs, ucols, uw, &m, &G);
        if (gb < 0) {
            free(buf);
            return -gb;
        }
    }
    if (gb == 0) st = sy_dedup(cols, ncol, raw->w, n, ucols, uw, NULL, &m);
    if (st != SY_OK) {
        if (gb == 1) groups_free(&G);
        free(buf);
        return st;
    }
    /* the collapsed covariate blocks must be contiguous with m rows per column */
    double *zbuf = NULL;
    if (kz > 0) {
        int64_t zc;
        if (!sy_mul_ok(m, (int64_t)kz, &zc)) {
            if (gb == 1) groups_free(&G);
            free(buf);
            return SY_ENOMEM;
        }
        zbuf = (double *)malloc((size_t)zc * sizeof(double));
        if (!zbuf) {
            if (gb == 1) groups_free(&G);
            free(buf);
            return SY_ENOMEM;
        }
        for (int j = 0; j < kz; j++)
            memcpy(zbuf + (size_t)j * (size_t)m, ucols[nd + j], (size_t)m * sizeof(double));
    }
    sy_mdata d;
    memset(&d, 0, sizeof d);
    d.n = m;
    d.c0 = ucols[0];
    d.c1 = ucols[1];
    d.c2 = nd == 3 ? ucols[2] : NULL;
    d.w = uw;
    double W = 0.0;
    for (int64_t i = 0; i < m; i++) W += uw[i];
    const double *zd_c = cs->kd == 0 ? NULL : shared ? zbuf : zbuf + (size_t)cs->kp * (size_t)m;
    cov_ctx c = {model, nb, cs->ng, cs->kp, cs->kd, &d, zbuf, zd_c,
                 cs->ip, cs->id, opts->shift, starts, 0, NULL, NULL};
    if (!(W > 0)) st = SY_EINVAL;
    if (gb == 1) {
        c.ngroups = G.ngroups;
        c.gd = G.gd;
        c.gz = G.gz;
    }
    /* the warm start: the fit without covariates on the same collapsed rows, effects 0,
       tried before the given starts (skipped when it fails) */
    double *wstarts = NULL;
    if (st == SY_OK && opts->warm_start) {
        sy_fit_opts wo = *opts;
        wo.no_hessian = 1;
        wo.warm_start = 0;
        wo.progress = NULL;
        wo.progress_ctx = NULL;
        double *bs = (double *)malloc((size_t)n_starts * (size_t)nb * sizeof(double));
        wstarts = (double *)calloc((size_t)(n_starts + 1) * (size_t)k, sizeof(double));
        sy_fit_result wr;
        int ws = bs && wstarts ? SY_OK : SY_ENOMEM;
        if (ws == SY_OK) {
            for (int s = 0; s < n_starts; s++)
                memcpy(bs + (size_t)s * (size_t)nb, starts + (size_t)s * (size_t)k,
                       (size_t)nb * sizeof(double));
            sy_mdata sub;
            double *sb = warm_subset(&d, &sub);
            ws = sy_models_fit(model, &sub, bs, n_starts, &wo, &wr);
            free(sb);
        }
        free(bs);
        if (ws == SY_EINTR || ws == SY_ENOMEM) {
            st = ws;
        } else if (ws == SY_OK) {
            memcpy(wstarts, wr.logp, (size_t)nb * sizeof(double));
            memcpy(wstarts + k, starts, (size_t)n_starts * (size_t)k * sizeof(double));
            starts = wstarts;
            n_starts++;
            c.theta = starts;
        }
    }
    if (st == SY_OK) {
        covfit_ctx F = {&c, W, opts};
        /* the first start is the warm start (the fit without covariates, effects 0): its
           Hessian makes the BFGS steps Newton-like from the first iteration, instead of
           learning the curvature of k directions from scratch */
        double *h0 = (double *)malloc((size_t)k * (size_t)k * sizeof(double));
        int h0st = h0 ? cov_obj_hessian(&c, opts, W, starts, 0, h0) : SY_ENOMEM;
        if (h0st == SY_OK) {
            for (int i = 0; i < k * k; i++) h0[i] /= W;
            h0st = sy_fit_invert_pd(k, h0, h0);
        } else if (h0st != SY_EINTR && h0st != SY_ENOMEM) {
            h0st = SY_ENOCONV;
        }
        if (h0st == SY_EINTR || h0st == SY_ENOMEM) st = h0st;
        else st = sy_fit_run_starts(cov_obj, &F, k, starts, n_starts, opts, W,
                                    h0st == SY_OK ? h0 : NULL, res);
        free(h0);
        if (st == SY_OK) {
            res->n_unique = m;
            double ll;
            int st2 = cov_eval(&c, res->logp, &ll, NULL);
            res->loglik = st2 == SY_OK ? ll : NAN;
            st = cov_obj_hessian(&c, opts, W, res->logp, 1, hess);
            if (st != SY_OK && st != SY_EINTR && st != SY_ENOMEM) {
                for (int i = 0; i < k * k; i++) hess[i] = NAN;   /* no standard errors */
                st = SY_OK;
            }
        }
    }
    if (gb == 1) groups_free(&G);
    free(wstarts);
    free(zbuf);
    free(buf);
    return st;
}
