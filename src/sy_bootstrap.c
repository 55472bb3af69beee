/*
 * sy_bootstrap.c -- nonparametric bootstrap of the model fits and of sample means.
 *
 * Fits: the data are collapsed once to m unique rows with integer counts c_j (N = sum c_j
 * customers).  A bootstrap sample of N customers drawn with replacement is the same as
 * multinomial(N, c/N) weights on those m rows, so each replicate draws N rows from a Walker
 * alias table (O(1) per draw), and refits on the m rows with the new weights.  The lookup
 * tables a model builds from the row values (sy_models_prepare) do not depend on the
 * weights: they are built once and shared by every replicate and thread.  Each replicate b
 * has its own random stream (seed, b), so the result does not depend on the thread count.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "siyu.h"
#include "sy_models.h"
#include "sy_rng.h"

/* ---- Walker alias table ------------------------------------------------------------- */

typedef struct {
    double *prob;   /* m */
    int64_t *alias; /* m */
    int64_t m;
} alias_table;

static void alias_free(alias_table *a)
{
    free(a->prob);
    free(a->alias);
    a->prob = NULL;
    a->alias = NULL;
}

/* Vose's construction from nonnegative weights w (sum W > 0). */
static int alias_build(const double *w, int64_t m, double W, alias_table *a)
{
    a->m = m;
    a->prob = (double *)malloc((size_t)m * sizeof(double) + 1);
    a->alias = (int64_t *)malloc((size_t)m * sizeof(int64_t) + 1);
    int64_t *work = (int64_t *)malloc((size_t)m * sizeof(int64_t) + 1);
    double *q = (double *)malloc((size_t)m * sizeof(double) + 1);
    if (!a->prob || !a->alias || !work || !q) {
        free(work);
        free(q);
        alias_free(a);
        return SY_ENOMEM;
    }
    /* small indices fill work from the front, large from the back */
    int64_t ns = 0, nl = 0;
    for (int64_t j = 0; j < m; j++) {
        q[j] = w[j] * (double)m / W;
        if (q[j] < 1.0) work[ns++] = j;
        else work[m - 1 - nl++] = j;
    }
    while (ns > 0 && nl > 0) {
        int64_t s = work[--ns];
        int64_t l = work[m - nl];
        a->prob[s] = q[s];
        a->alias[s] = l;
        q[l] = (q[l] + q[s]) - 1.0;
        if (q[l] < 1.0) {
            nl--;
            work[ns++] = l;
        }
    }
    while (nl > 0) {
        int64_t l = work[m - nl--];
        a->prob[l] = 1.0;
        a->alias[l] = l;
    }
    while (ns > 0) { /* rounding leftovers */
        int64_t s = work[--ns];
        a->prob[s] = 1.0;
        a->alias[s] = s;
    }
    free(work);
    free(q);
    return SY_OK;
}

static inline int64_t alias_draw(const alias_table *a, sy_rng *rg)
{
    double u = sy_rng_unif(rg) * (double)a->m;
    int64_t j = (int64_t)u; /* 0 <= u < m */
    if (j >= a->m) j = a->m - 1;
    return (u - (double)j) < a->prob[j] ? j : a->alias[j];
}

/* ---- the refit objective ------------------------------------------------------------ */

typedef struct {
    int model, k, pen_kind;
    const sy_mdata *d; /* prepared unique rows; w points at the replicate's weights */
    double W, pen;
} boot_obj;

static int boot_objective(const double *theta, void *vctx, double *f, double *g)
{
    boot_obj *c = (boot_obj *)vctx;
    double p[SY_MODEL_MAXPAR], gr[SY_MODEL_MAXPAR], ll;
    for (int i = 0; i < c->k; i++) {
        if (!(fabs(theta[i]) < 50.0)) return SY_ENAN; /* parameters beyond e^+-50 */
        p[i] = exp(theta[i]);
    }
    int st = sy_models_loglik(c->model, p, c->d, &ll, gr);
    if (st != SY_OK) return st;
    double pen = 0.0;
    for (int i = 0; i < c->k; i++) {
        double v = c->pen_kind ? p[i] : theta[i];
        pen += v * v;
    }
    *f = -ll / c->W + c->pen * pen;
    for (int i = 0; i < c->k; i++) {
        double dp = c->pen_kind ? 2.0 * p[i] * p[i] : 2.0 * theta[i];
        g[i] = -gr[i] * p[i] / c->W + c->pen * dp;
    }
    return SY_OK;
}

/* Quasi-Newton (BFGS) started from a given inverse Hessian H0 of the objective.  A
   replicate's objective has nearly the curvature of the full-data fit, so from the fitted
   point it converges in a few steps.  Returns 1 when the gradient tolerance is met, 0
   otherwise (the caller then falls back to sy_optim_bfgs from the usual starts). */
static int qn_from(boot_obj *ctx, const double *H0, double *th, int maxiter, double gtol,
                   double *fout, int *nit)
{
    const int k = ctx->k;
    double H[SY_MODEL_MAXPAR * SY_MODEL_MAXPAR], g[SY_MODEL_MAXPAR], gn[SY_MODEL_MAXPAR];
    double d[SY_MODEL_MAXPAR], tn[SY_MODEL_MAXPAR], sv[SY_MODEL_MAXPAR], yv[SY_MODEL_MAXPAR];
    double f, fn;
    memcpy(H, H0, (size_t)(k * k) * sizeof(double));
    if (boot_objective(th, ctx, &f, g) != SY_OK || !isfinite(f)) return 0;
    int stalled = 0;
    if (maxiter > 200) maxiter = 200; /* a fast path: long runs go to the fallback */
    for (int it = 0; it < maxiter; it++) {
        double gmax = 0.0, gd = 0.0;
        for (int i = 0; i < k; i++) gmax = fmax(gmax, fabs(g[i]));
        /* converged, or no further progress at rounding level with a near-zero gradient
           (the same acceptance as sy_optim_bfgs) */
        if (gmax < gtol || (stalled >= 3 && gmax < 1e3 * gtol)) {
            *fout = f;
            *nit = it;
            return 1;
        }
        for (int i = 0; i < k; i++) {
            double v = 0.0;
            for (int j = 0; j < k; j++) v -= H[i * k + j] * g[j];
            d[i] = v;
            gd += v * g[i];
        }
        if (!(gd < 0.0)) return 0;
        double step = 1.0;
        int ok = 0;
        for (int ls = 0; ls < 30 && !ok; ls++, step *= 0.5) {
            for (int i = 0; i < k; i++) tn[i] = th[i] + step * d[i];
            ok = boot_objective(tn, ctx, &fn, gn) == SY_OK && isfinite(fn) &&
                 fn <= f + 1e-4 * step * gd;
        }
        if (!ok) return 0;
        double sy = 0.0, yHy = 0.0, Hy[SY_MODEL_MAXPAR], smax = 0.0;
        for (int i = 0; i < k; i++) {
            sv[i] = tn[i] - th[i];
            yv[i] = gn[i] - g[i];
            sy += sv[i] * yv[i];
            smax = fmax(smax, fabs(sv[i]));
        }
        stalled = (fabs(f - fn) <= 1e-15 * fabs(f) && smax < 1e-10) ? stalled + 1 : 0;
        if (sy > 0.0) {
            for (int i = 0; i < k; i++) {
                double v = 0.0;
                for (int j = 0; j < k; j++) v += H[i * k + j] * yv[j];
                Hy[i] = v;
                yHy += yv[i] * v;
            }
            const double rho = 1.0 / sy, c = rho * rho * yHy + rho;
            for (int i = 0; i < k; i++)
                for (int j = 0; j < k; j++)
                    H[i * k + j] += c * sv[i] * sv[j] - rho * (Hy[i] * sv[j] + sv[i] * Hy[j]);
        }
        memcpy(th, tn, (size_t)k * sizeof(double));
        memcpy(g, gn, (size_t)k * sizeof(double));
        f = fn;
    }
    return 0;
}

/* ---- replicates ----------------------------------------------------------------------- */

typedef struct {
    int model, k, n_starts, pen_kind, maxiter;
    const double *starts;
    const double *hinv0;  /* inverse Hessian of the objective at starts[0], or NULL */
    double pen, gtol;
    const sy_mdata *d;    /* prepared unique rows (w unused) */
    const alias_table *at;
    int64_t N, n_boot;
    uint64_t seed;
    int tid, nth;
    double *logp, *loglik, *counts_out;
    int8_t *status;
    int32_t *n_iter;
    int err;
} boot_job;

static void *boot_worker(void *arg)
{
    boot_job *j = (boot_job *)arg;
    const int64_t m = j->d->n;
    const int k = j->k;
    j->err = SY_OK;
    /* per replicate: counts over the m rows, then the rows drawn at least once gathered
       into these buffers (with their lookup indices), so each likelihood evaluation skips
       the ~37% of single-customer rows that a resample leaves out */
    const sy_mdata *full = j->d;
    int64_t bytes;
    if (!sy_mul_ok(m, 4 * (int64_t)sizeof(double) + 3 * (int64_t)sizeof(int64_t), &bytes)) {
        j->err = SY_ENOMEM;
        return NULL;
    }
    char *buf = (char *)malloc((size_t)bytes + 1);
    if (!buf) {
        j->err = SY_ENOMEM;
        return NULL;
    }
    double *w = (double *)buf, *cc0 = w + m, *cc1 = cc0 + m, *cc2 = cc1 + m;
    int64_t *cix = (int64_t *)(cc2 + m), *ci1 = cix + m, *ci2 = ci1 + m;
    sy_mdata d = *full;
    d.w = w;
    d.c0 = cc0;
    d.c1 = cc1;
    d.c2 = full->c2 ? cc2 : NULL;
    if (full->ix) {
        d.ix = cix;
        d.i1 = ci1;
        d.i2 = ci2;
    }
    d.owned = NULL;
    for (int64_t b = j->tid; b < j->n_boot; b += j->nth) {
        if (sy_interrupted()) {
            j->err = SY_EINTR;
            break;
        }
        sy_rng rg;
        sy_rng_seed(&rg, j->seed, (uint64_t)b);
        memset(w, 0, (size_t)m * sizeof(double));
        for (int64_t i = 0; i < j->N; i++) {
            if ((i & 0xFFFFF) == 0xFFFFF && sy_interrupted()) {
                j->err = SY_EINTR;
                break;
            }
            w[alias_draw(j->at, &rg)] += 1.0;
        }
        if (j->err != SY_OK) break;
        if (j->counts_out) memcpy(j->counts_out + b * m, w, (size_t)m * sizeof(double));
        int64_t mm = 0;
        for (int64_t r = 0; r < m; r++) {
            if (!(w[r] > 0)) continue;
            w[mm] = w[r]; /* in place: mm <= r */
            cc0[mm] = full->c0[r];
            cc1[mm] = full->c1[r];
            if (full->c2) cc2[mm] = full->c2[r];
            if (full->ix) {
                cix[mm] = full->ix[r];
                ci1[mm] = full->i1[r];
                ci2[mm] = full->i2[r];
            }
            mm++;
        }
        d.n = mm;
        boot_obj ctx = {j->model, k, j->pen_kind, &d, (double)j->N, j->pen};
        double best_th[SY_MODEL_MAXPAR], best_f = INFINITY;
        int have = 0, conv_best = 0, it_best = 0;
        if (j->hinv0) {
            double th[SY_MODEL_MAXPAR], fmin;
            int nit;
            memcpy(th, j->starts, (size_t)k * sizeof(double));
            if (qn_from(&ctx, j->hinv0, th, j->maxiter, j->gtol, &fmin, &nit)) {
                memcpy(best_th, th, (size_t)k * sizeof(double));
                best_f = fmin;
                conv_best = 1;
                it_best = nit;
                have = 1;
            }
            if (sy_interrupted()) {
                j->err = SY_EINTR;
                break;
            }
        }
        for (int s = 0; s < j->n_starts && !conv_best; s++) {
            double th[SY_MODEL_MAXPAR], fmin;
            int nit, conv;
            memcpy(th, j->starts + (size_t)s * (size_t)k, (size_t)k * sizeof(double));
            int st = sy_optim_bfgs(boot_objective, &ctx, k, th, j->maxiter, j->gtol, &fmin, &nit,
                                   &conv);
            if (st == SY_EINTR || st == SY_ENOMEM) {
                j->err = st;
                break;
            }
            if (st != SY_OK || !isfinite(fmin)) continue;
            if ((conv && (!conv_best || fmin < best_f)) || (!conv_best && fmin < best_f)) {
                memcpy(best_th, th, (size_t)k * sizeof(double));
                best_f = fmin;
                conv_best = conv;
                it_best = nit;
                have = 1;
            }
            if (conv_best) break;
        }
        if (j->err != SY_OK) break;
        double *lp = j->logp + b * k;
        if (!have) {
            for (int i = 0; i < k; i++) lp[i] = NAN;
            j->loglik[b] = NAN;
            j->status[b] = -1;
            j->n_iter[b] = 0;
            continue;
        }
        double p[SY_MODEL_MAXPAR], ll = NAN;
        for (int i = 0; i < k; i++) {
            lp[i] = best_th[i];
            p[i] = exp(best_th[i]);
        }
        if (sy_models_loglik(j->model, p, &d, &ll, NULL) != SY_OK) ll = NAN;
        j->loglik[b] = ll;
        j->status[b] = (int8_t)(conv_best ? 1 : 0);
        j->n_iter[b] = it_best;
    }
    free(buf);
    return NULL;
}

int sy_bootstrap_fit(int model, const sy_mdata *raw, const double *starts, int n_starts,
                     const double *hinv0, double penalizer, int pen_kind, int maxiter,
                     double gtol, int64_t n_boot,
                     uint64_t seed, double *logp, double *loglik, int8_t *status, int32_t *n_iter,
                     double *counts_out, double *const *ucols_out, int64_t *m_out)
{
    const int k = sy_models_npar(model);
    if (k == 0 || n_starts < 1 || n_boot < 0 || raw->n < 1 || maxiter < 1 || !(gtol > 0) ||
        !(penalizer >= 0) || (pen_kind != 0 && pen_kind != 1))
        return SY_EINVAL;
    const int64_t n = raw->n;
    if (raw->w)
        for (int64_t i = 0; i < n; i++) {
            double c = raw->w[i];
            if (!(c >= 0) || c != floor(c) || c > 9.0e15) return SY_EINVAL;
        }
    int64_t bytes;
    if (!sy_mul_ok(n, 4 * (int64_t)sizeof(double), &bytes)) return SY_ENOMEM;
    double *buf = (double *)malloc((size_t)bytes);
    if (!buf) return SY_ENOMEM;
    const int ncol = raw->c2 ? 3 : 2;
    const double *cols[3] = {raw->c0, raw->c1, raw->c2};
    double *ucols[3] = {buf, buf + n, buf + 2 * n};
    double *uw = buf + 3 * n;
    int64_t m = 0;
    int st = sy_dedup(cols, ncol, raw->w, n, ucols, uw, NULL, &m);
    if (st != SY_OK) {
        free(buf);
        return st;
    }
    /* drop rows of count 0 (they can never be drawn) */
    int64_t mm = 0;
    double N = 0.0;
    for (int64_t j = 0; j < m; j++) {
        if (uw[j] <= 0) continue;
        for (int c = 0; c < ncol; c++) ucols[c][mm] = ucols[c][j];
        uw[mm] = uw[j];
        N += uw[j];
        mm++;
    }
    m = mm;
    if (m_out) *m_out = m;
    if (!(N >= 1)) {
        free(buf);
        return SY_EINVAL;
    }
    if (N > SY_BOOT_MAX_CUSTOMERS) { /* each replicate draws N customers */
        free(buf);
        return SY_ERANGE;
    }
    if (ucols_out)
        for (int c = 0; c < ncol; c++) memcpy(ucols_out[c], ucols[c], (size_t)m * sizeof(double));
    sy_mdata d;
    memset(&d, 0, sizeof d);
    d.n = m;
    d.c0 = ucols[0];
    d.c1 = ucols[1];
    d.c2 = ncol == 3 ? ucols[2] : NULL;
    d.w = uw;
    alias_table at = {NULL, NULL, 0};
    st = sy_models_prepare(model, &d);
    if (st == SY_OK) st = alias_build(uw, m, N, &at);
    if (st != SY_OK) {
        sy_models_release(&d);
        free(buf);
        return st;
    }
    int nth = sy_get_num_threads();
    if (nth > SY_THREADS_CAP) nth = SY_THREADS_CAP;
    if ((int64_t)nth > n_boot) nth = (int)(n_boot > 0 ? n_boot : 1);
    boot_job *jobs = (boot_job *)calloc((size_t)nth, sizeof(boot_job));
    if (!jobs) {
        alias_free(&at);
        sy_models_release(&d);
        free(buf);
        return SY_ENOMEM;
    }
    for (int t = 0; t < nth; t++) {
        jobs[t] = (boot_job){model, k, n_starts, pen_kind, maxiter, starts, hinv0, penalizer, gtol, &d,
                             &at, (int64_t)N, n_boot, seed, t, nth, logp, loglik, counts_out,
                             status, n_iter, SY_OK};
    }
    sy_run_jobs(boot_worker, jobs, sizeof(boot_job), nth);
    st = SY_OK;
    for (int t = 0; t < nth; t++)
        if (jobs[t].err != SY_OK && st != SY_EINTR) st = jobs[t].err;
    free(jobs);
    alias_free(&at);
    sy_models_release(&d);
    free(buf);
    return st;
}

/* ---- means of resampled rows ---------------------------------------------------------- */

typedef struct {
    const double *X;
    int64_t n;
    int k;
    int64_t n_boot;
    uint64_t seed;
    int tid, nth;
    double *out;
    int err;
} means_job;

static void *means_worker(void *arg)
{
    means_job *j = (means_job *)arg;
    j->err = SY_OK;
    for (int64_t b = j->tid; b < j->n_boot; b += j->nth) {
        sy_rng rg;
        sy_rng_seed(&rg, j->seed, (uint64_t)b);
        double *o = j->out + b * j->k;
        for (int c = 0; c < j->k; c++) o[c] = 0.0;
        for (int64_t i = 0; i < j->n; i++) {
            if ((i & 0xFFFFF) == 0xFFFFF && sy_interrupted()) {
                j->err = SY_EINTR;
                return NULL;
            }
            double u = sy_rng_unif(&rg) * (double)j->n;
            int64_t r = (int64_t)u;
            if (r >= j->n) r = j->n - 1;
            const double *row = j->X + r * j->k;
            for (int c = 0; c < j->k; c++) o[c] += row[c];
        }
        for (int c = 0; c < j->k; c++) o[c] /= (double)j->n;
        if (sy_interrupted()) {
            j->err = SY_EINTR;
            return NULL;
        }
    }
    return NULL;
}

int sy_bootstrap_means(const double *X, int64_t n, int k, int64_t n_boot, uint64_t seed,
                       double *out)
{
    if (n < 1 || k < 1 || n_boot < 0) return SY_EINVAL;
    int nth = sy_get_num_threads();
    if (nth > SY_THREADS_CAP) nth = SY_THREADS_CAP;
    if ((int64_t)nth > n_boot) nth = (int)(n_boot > 0 ? n_boot : 1);
    means_job jobs[SY_THREADS_CAP];
    for (int t = 0; t < nth; t++) jobs[t] = (means_job){X, n, k, n_boot, seed, t, nth, out, SY_OK};
    sy_run_jobs(means_worker, jobs, sizeof(means_job), nth);
    for (int t = 0; t < nth; t++)
        if (jobs[t].err != SY_OK) return jobs[t].err;
    return SY_OK;
}
