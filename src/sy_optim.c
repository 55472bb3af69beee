/*
 * sy_optim.c -- model dispatch, BFGS on log-parameters with a backtracking line search,
 * multiple starts, and the numerical Hessian (central differences of the analytic
 * gradient) used for standard errors.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "siyu.h"
#include "sy_models.h"

int sy_models_npar(int model)
{
    switch (model) {
    case SY_MODEL_BGNBD:
    case SY_MODEL_MBGNBD:
    case SY_MODEL_PARETO:
    case SY_MODEL_BGBB:
        return 4;
    case SY_MODEL_GG:
        return 3;
    case SY_MODEL_SBG:
        return 2;
    default:
        return 0;
    }
}

void sy_models_release(sy_mdata *d)
{
    free(d->owned);
    d->owned = NULL;
    d->ux = d->ut = NULL;
    d->ix = d->i1 = d->i2 = NULL;
    d->nx = d->nt = 0;
}

int sy_models_prepare(int model, sy_mdata *d)
{
    if (model != SY_MODEL_BGNBD && model != SY_MODEL_MBGNBD) return SY_OK;
    const int64_t n = d->n;
    int64_t n2, bytes;
    if (!sy_mul_ok(n, 2, &n2) || !sy_mul_ok(n2 + 1, 6 * (int64_t)sizeof(double), &bytes))
        return SY_ENOMEM;
    /* layout: ux[n] ut[2n] ix[n] inv2[2n] tmp[2n] */
    char *buf = (char *)malloc((size_t)bytes);
    if (!buf) return SY_ENOMEM;
    double *ux = (double *)buf;
    double *ut = ux + n;
    int64_t *ix = (int64_t *)(ut + n2);
    int64_t *inv2 = ix + n;
    double *tmp = (double *)(inv2 + n2);
    int64_t nx = 0, nt = 0;
    const double *c0[1] = {d->c0};
    double *u0[1] = {ux};
    int st = sy_dedup(c0, 1, NULL, n, u0, NULL, ix, &nx);
    if (st == SY_OK) {
        if (n) memcpy(tmp, d->c1, (size_t)n * sizeof(double));
        if (n) memcpy(tmp + n, d->c2, (size_t)n * sizeof(double));
        const double *c1[1] = {tmp};
        double *u1[1] = {ut};
        st = sy_dedup(c1, 1, NULL, n2, u1, NULL, inv2, &nt);
    }
    if (st != SY_OK) {
        free(buf);
        return st;
    }
    d->owned = buf;
    d->ux = ux;
    d->ut = ut;
    d->ix = ix;
    d->i1 = inv2;
    d->i2 = inv2 + n;
    d->nx = nx;
    d->nt = nt;
    return SY_OK;
}

int sy_models_loglik(int model, const double *params, const sy_mdata *d, double *ll, double *grad)
{
    switch (model) {
    case SY_MODEL_BGNBD:
        return sy_bgnbd_loglik(params, d, 0, ll, grad);
    case SY_MODEL_MBGNBD:
        return sy_bgnbd_loglik(params, d, 1, ll, grad);
    case SY_MODEL_PARETO:
        return sy_paretonbd_loglik(params, d, ll, grad);
    case SY_MODEL_BGBB:
        return sy_bgbb_loglik(params, d, ll, grad);
    case SY_MODEL_GG:
        return sy_gammagamma_loglik(params, d, ll, grad);
    case SY_MODEL_SBG:
        return sy_sbg_loglik(params, d, ll, grad);
    default:
        return SY_EINVAL;
    }
}

/* Number of input columns prediction `what` of `model` reads, 0 if the model does not
   answer it (the glue checks a caller's column tuple against this before any read). */
int sy_models_pred_ncols(int model, int what)
{
    const int rft = model == SY_MODEL_BGNBD || model == SY_MODEL_MBGNBD || model == SY_MODEL_PARETO;
    switch (what) {
    case SY_PRED_EXPECTED:
        return (rft || model == SY_MODEL_BGBB) ? 1 : 0;
    case SY_PRED_COND_EXPECTED:
        return (rft || model == SY_MODEL_BGBB) ? 4 : 0;
    case SY_PRED_PALIVE:
        return (rft || model == SY_MODEL_BGBB) ? 3 : 0;
    case SY_PRED_PMF:
        return (rft || model == SY_MODEL_BGBB) ? 2 : 0;
    case SY_PRED_DERT:
        return (model == SY_MODEL_PARETO || model == SY_MODEL_BGBB) ? 4 : 0;
    case SY_PRED_GG_VALUE:
        return model == SY_MODEL_GG ? 2 : 0;
    case SY_PRED_SURVIVAL:
    case SY_PRED_RETENTION:
        return model == SY_MODEL_SBG ? 1 : 0;
    case SY_PRED_DERL:
        return model == SY_MODEL_SBG ? 2 : 0;
    case SY_PRED_COND_PMF:
        return rft ? 5 : 0;
    case SY_PRED_COND_NONE:
        return rft ? 4 : 0;
    default:
        return 0;
    }
}

int sy_models_predict(int model, int what, const double *params, int64_t n,
                      const double *const *cols, double *out)
{
    switch (model) {
    case SY_MODEL_BGNBD:
        return sy_bgnbd_predict(params, 0, what, n, cols, out);
    case SY_MODEL_MBGNBD:
        return sy_bgnbd_predict(params, 1, what, n, cols, out);
    case SY_MODEL_PARETO:
        return sy_paretonbd_predict(params, what, n, cols, out);
    case SY_MODEL_BGBB:
        return sy_bgbb_predict(params, what, n, cols, out);
    case SY_MODEL_GG:
        return sy_gammagamma_predict(params, what, n, cols, out);
    case SY_MODEL_SBG:
        return sy_sbg_predict(params, what, n, cols, out);
    default:
        return SY_EINVAL;
    }
}

/* ---- predictions over many rows: blocks on all threads, Ctrl-C between blocks ---- */
#define PRED_BLOCK 4096
typedef struct {
    int model, what, k, per_row, ncols;
    const double *params;
    const double *const *cols;
    double *out;
} pred_ctx;

static int pred_block(void *vctx, int64_t b, int64_t e)
{
    const pred_ctx *c = (const pred_ctx *)vctx;
    const double *bc[SY_PRED_MAXCOLS];
    if (!c->per_row) {
        for (int j = 0; j < c->ncols; j++) bc[j] = c->cols[j] + b;
        return sy_models_predict(c->model, c->what, c->params, e - b, bc, c->out + b);
    }
    int st = SY_OK;
    for (int64_t i = b; i < e && st == SY_OK; i++) {
        for (int j = 0; j < c->ncols; j++) bc[j] = c->cols[j] + i;
        st = sy_models_predict(c->model, c->what, c->params + (size_t)i * (size_t)c->k, 1, bc,
                               c->out + i);
    }
    return st;
}

int sy_models_predict_many(int model, int what, const double *params, int per_row, int64_t n,
                           const double *const *cols, int ncols, double *out)
{
    const int k = sy_models_npar(model);
    if (k == 0 || n < 0 || ncols < 0 || ncols > SY_PRED_MAXCOLS) return SY_EINVAL;
    pred_ctx c = {model, what, k, per_row, ncols, params, cols, out};
    /* Pareto/NBD rows cost microseconds: blocks are worth a thread from a few thousand */
    return sy_parallel_blocks(n, PRED_BLOCK, 2, pred_block, &c);
}

/* ---- blocked (parallel) sums over rows ------------------------------------- */

#define SY_BLOCK 4096

typedef struct {
    sy_rowfn_ctx fn;
    void *ctx;
    int64_t n;
    int k, want_grad, tid, nth;
    int64_t nblocks;
    double *acc; /* nblocks x (1 + k) */
    int status;
} blk_job;

static void *blk_worker(void *arg)
{
    blk_job *j = (blk_job *)arg;
    j->status = SY_OK;
    for (int64_t b = j->tid; b < j->nblocks; b += j->nth) {
        if (sy_interrupted()) {
            j->status = SY_EINTR;
            break;
        }
        int64_t lo = b * SY_BLOCK, hi = lo + SY_BLOCK < j->n ? lo + SY_BLOCK : j->n;
        double *a = j->acc + b * (j->k + 1);
        int st = j->fn(j->ctx, lo, hi, j->want_grad, a);
        if (st != SY_OK) {
            j->status = st;
            break;
        }
    }
    return NULL;
}

int sy_blocked_sum(sy_rowfn_ctx fn, void *ctx, int64_t n, int k, double *ll, double *grad)
{
    if (k < 0 || k > SY_FIT_MAXPAR || n < 0) return SY_EINVAL;
    const int64_t nblocks = n > 0 ? (n + SY_BLOCK - 1) / SY_BLOCK : 0;
    int64_t bytes;
    if (!sy_mul_ok(nblocks + 1, (int64_t)(k + 1) * (int64_t)sizeof(double), &bytes)) return SY_ENOMEM;
    double *acc = (double *)calloc(1, (size_t)bytes);
    if (!acc) return SY_ENOMEM;
    int nth = sy_get_num_threads();
    if (nth > 64) nth = 64;
    if ((int64_t)nth > nblocks) nth = (int)(nblocks > 0 ? nblocks : 1);
    if (n < 4 * SY_BLOCK) nth = 1;
    blk_job jobs[64];
    for (int t = 0; t < nth; t++)
        jobs[t] = (blk_job){fn, ctx, n, k, grad != NULL, t, nth, nblocks, acc, SY_OK};
    sy_run_jobs(blk_worker, jobs, sizeof(blk_job), nth);
    int st = SY_OK;
    for (int t = 0; t < nth; t++)
        if (jobs[t].status != SY_OK && st != SY_EINTR) st = jobs[t].status;
    if (st == SY_OK) {
        double tot[SY_FIT_MAXPAR + 1];
        for (int j = 0; j <= k; j++) tot[j] = 0.0;
        for (int64_t b = 0; b < nblocks; b++)
            for (int j = 0; j <= k; j++) tot[j] += acc[b * (k + 1) + j];
        for (int j = 0; j <= k; j++)
            if (!isfinite(tot[j])) st = SY_ENAN;
        *ll = tot[0];
        if (grad)
            for (int j = 0; j < k; j++) grad[j] = tot[j + 1];
    }
    free(acc);
    return st;
}

/* the per-model row functions take (p, d): adapt them to the context form */
typedef struct {
    sy_rowfn fn;
    const double *p;
    const sy_mdata *d;
} rowfn_adapt;

static int rowfn_adapter(void *ctx, int64_t lo, int64_t hi, int want_grad, double *acc)
{
    rowfn_adapt *a = (rowfn_adapt *)ctx;
    return a->fn(a->p, a->d, lo, hi, want_grad, acc);
}

int sy_models_blocked(sy_rowfn fn, const double *p, const sy_mdata *d, int k, double *ll,
                      double *grad)
{
    rowfn_adapt a = {fn, p, d};
    return sy_blocked_sum(rowfn_adapter, &a, d->n, k, ll, grad);
}

/* ---- BFGS ------------------------------------------------------------------ */

#define SY_BHIST 8 /* iterations looked back on by the boundary detection */

int sy_optim_bfgs_ex(sy_objfn fn, void *ctx, int k, double *theta, int maxiter, double gtol,
                     sy_bfgs_ext *ext, double *fmin, int *n_iter, int *converged)
{
    double f, fnew;
    if (k < 1 || k > SY_FIT_MAXPAR || maxiter < 0) return SY_EINVAL;
    *converged = 0;
    *n_iter = 0;
    if (ext) {
        ext->at_boundary = 0;
        ext->gnorm = NAN;
        if (ext->bflag)
            for (int i = 0; i < k; i++) ext->bflag[i] = 0;
    }
    /* work space: H (k*k), g, gn, dvec, tn, s, y, Hy (k each), history (SY_BHIST x k + f) */
    const size_t kk = (size_t)k;
    double *work = (double *)malloc(sizeof(double) * (kk * kk + 8 * kk + SY_BHIST * (kk + 1)));
    if (!work) return SY_ENOMEM;
    double *H = work, *g = H + kk * kk, *gn = g + kk, *dvec = gn + kk, *tn = dvec + kk;
    double *s = tn + kk, *y = s + kk, *Hy = y + kk, *hist = Hy + kk, *hf = hist + SY_BHIST * kk;
    double *t0 = hf + SY_BHIST;
    memcpy(t0, theta, kk * sizeof(double));
    int st = fn(theta, ctx, &f, g);
    if (st != SY_OK) goto done;
    if (!isfinite(f)) {
        st = SY_ENAN;
        goto done;
    }
    int fresh = 1, small_steps = 0, nacc = 0;
    if (ext && ext->h0) {
        memcpy(H, ext->h0, kk * kk * sizeof(double));
        fresh = 0;
    } else {
        for (size_t i = 0; i < kk * kk; i++) H[i] = 0.0;
        for (int i = 0; i < k; i++) H[i * k + i] = 1.0;
    }
    int it;
    double gmax = 0.0;
    for (it = 0; it < maxiter; it++) {
        if (sy_interrupted()) {
            st = SY_EINTR;
            goto done;
        }
        gmax = 0.0;
        for (int i = 0; i < k; i++) gmax = fmax(gmax, fabs(g[i]));
        if (ext && ext->progress &&
            ext->progress(ext->progress_ctx, ext->iter0 + it, f * ext->fscale, gmax * ext->fscale)) {
            st = SY_EINTR;
            goto done;
        }
        if (gmax < gtol) {
            *converged = 1;
            break;
        }
        double gd = 0.0, dmax = 0.0;
        for (int i = 0; i < k; i++) {
            double v = 0.0;
            for (int j = 0; j < k; j++) v -= H[i * k + j] * g[j];
            dvec[i] = v;
            gd += v * g[i];
            dmax = fmax(dmax, fabs(v));
        }
        if (!(gd < 0.0)) { /* not a descent direction: restart from steepest descent */
            for (size_t i = 0; i < kk * kk; i++) H[i] = 0.0;
            for (int i = 0; i < k; i++) H[i * k + i] = 1.0;
            gd = 0.0;
            dmax = 0.0;
            for (int i = 0; i < k; i++) {
                dvec[i] = -g[i];
                gd -= g[i] * g[i];
                dmax = fmax(dmax, fabs(g[i]));
            }
            fresh = 1;
        }
        double step = 1.0;
        if (dmax * step > 3.0) step = 3.0 / dmax; /* at most a factor e^3 per iteration */
        int ok = 0;
        for (int ls = 0; ls < 60; ls++) {
            for (int i = 0; i < k; i++) tn[i] = theta[i] + step * dvec[i];
            st = fn(tn, ctx, &fnew, gn);
            if (st == SY_OK && isfinite(fnew) && fnew <= f + 1e-4 * step * gd) {
                ok = 1;
                break;
            }
            if (st != SY_OK && st != SY_ENAN && st != SY_EINVAL && st != SY_ENOCONV) goto done;
            step *= (st == SY_OK) ? 0.5 : 0.1;
            /* steps whose predicted decrease is below the rounding of f (a sum over many
               rows), or that no longer move theta, cannot show a decrease: stop */
            if (step * dmax < 1e-11 * (1.0 + dmax) || -step * gd < 1e-15 * fabs(f)) break;
        }
        st = SY_OK;
        if (!ok) {
            if (-gd < 1e-14 * fabs(f) && gmax < 1e3 * gtol) { /* at the rounding floor */
                *converged = 1;
                break;
            }
            if (!fresh) { /* retry with steepest descent */
                for (size_t i = 0; i < kk * kk; i++) H[i] = 0.0;
                for (int i = 0; i < k; i++) H[i * k + i] = 1.0;
                fresh = 1;
                continue;
            }
            /* cannot decrease any more: accept if the gradient is nearly zero */
            if (gmax < 1e3 * gtol) *converged = 1;
            break;
        }
        double sy = 0.0, yy = 0.0, smax = 0.0;
        for (int i = 0; i < k; i++) {
            s[i] = tn[i] - theta[i];
            y[i] = gn[i] - g[i];
            sy += s[i] * y[i];
            yy += y[i] * y[i];
            smax = fmax(smax, fabs(s[i]));
        }
        double fold = f;
        memcpy(theta, tn, kk * sizeof(double));
        memcpy(g, gn, kk * sizeof(double));
        f = fnew;
        if (sy > 1e-12 * sqrt(yy) * smax) {
            if (fresh) { /* scale the initial inverse Hessian */
                double sc = sy / yy;
                for (size_t i = 0; i < kk * kk; i++) H[i] = 0.0;
                for (int i = 0; i < k; i++) H[i * k + i] = sc;
                fresh = 0;
            }
            /* H <- (I - rho s y') H (I - rho y s') + rho s s' */
            double rho = 1.0 / sy, yHy = 0.0;
            for (int i = 0; i < k; i++) {
                double v = 0.0;
                for (int j = 0; j < k; j++) v += H[i * k + j] * y[j];
                Hy[i] = v;
                yHy += y[i] * v;
            }
            for (int i = 0; i < k; i++)
                for (int j = 0; j < k; j++)
                    H[i * k + j] += -rho * (Hy[i] * s[j] + s[i] * Hy[j]) + (rho * rho * yHy + rho) * s[i] * s[j];
        }
        /* boundary detection on the accepted iterates */
        if (ext && ext->boundary) {
            int slot = nacc % SY_BHIST;
            if (nacc >= SY_BHIST) {
                const double *old = hist + (size_t)slot * kk;
                /* log-likelihood gained over the last SY_BHIST iterations while some
                   far-out parameters moved by more than a factor e: below 1 plus 1e-5 per
                   customer the likelihood is flat along that path (the caller checks the
                   Hessian and finishes the fit when it is not) */
                double gain = (hf[slot] - f) * ext->fscale;
                int nflag = 0;
                if (gain < 1.0 + 1e-5 * ext->fscale) {
                    for (int j = 0; j < k; j++) {
                        double d = theta[j] - old[j];
                        if (fabs(theta[j]) > 4.6 && fabs(d) > 1.0 && d * theta[j] > 0) nflag++;
                    }
                }
                if (nflag > 0) {
                    if (ext->bflag)
                        for (int j = 0; j < k; j++) {
                            double d = theta[j] - old[j];
                            ext->bflag[j] = (fabs(theta[j]) > 4.6 && fabs(d) > 1.0 && d * theta[j] > 0)
                                                ? (theta[j] > 0 ? 1 : -1)
                                                : 0;
                        }
                    ext->at_boundary = 1;
                    it++;
                    break;
                }
            }
            memcpy(hist + (size_t)slot * kk, theta, kk * sizeof(double));
            hf[slot] = f;
            nacc++;
        }
        if (fabs(fold - f) <= 1e-15 * fabs(f) && smax < 1e-10) {
            if (++small_steps >= 3) {
                if (gmax < 1e3 * gtol) *converged = 1;
                it++;
                break;
            }
        } else {
            small_steps = 0;
        }
    }
    gmax = 0.0;
    for (int i = 0; i < k; i++) gmax = fmax(gmax, fabs(g[i]));
    if (!*converged && gmax < gtol) *converged = 1;
    if (ext) ext->gnorm = gmax;
    /* stopped without converging (no descent possible, or steps too small) with
       parameters far out and still heading out: a boundary, not a failure */
    if (ext && ext->boundary && !*converged && !ext->at_boundary && it < maxiter) {
        int nflag = 0;
        for (int j = 0; j < k; j++) {
            double d = theta[j] - t0[j];
            int out = fabs(theta[j]) > 4.6 && fabs(d) > 1.0 && d * theta[j] > 0;
            if (ext->bflag) ext->bflag[j] = out ? (theta[j] > 0 ? 1 : -1) : 0;
            nflag += out;
        }
        if (nflag) ext->at_boundary = 1;
    }
    *n_iter = it;
    *fmin = f;
done:
    free(work);
    return st;
}

int sy_optim_bfgs(sy_objfn fn, void *ctx, int k, double *theta, int maxiter, double gtol,
                  double *fmin, int *n_iter, int *converged)
{
    return sy_optim_bfgs_ex(fn, ctx, k, theta, maxiter, gtol, NULL, fmin, n_iter, converged);
}

/* ---- fitting ---------------------------------------------------------------- */

/* Penalty of theta (k entries, the first nb base parameters) and its gradient (added). */
static double penalty(const sy_fit_opts *o, int nb, int k, const double *theta, double *g)
{
    double pen = 0.0;
    for (int i = 0; i < k; i++) {
        if (o->pen_kind == SY_PEN_PARAMS && i < nb) {
            double e = exp(theta[i]), p = (o->shift ? o->shift[i] : 0.0) + e;
            pen += p * p;
            if (g) g[i] += 2.0 * o->penalizer * p * e;
        } else {
            pen += theta[i] * theta[i];
            if (g) g[i] += 2.0 * o->penalizer * theta[i];
        }
    }
    return o->penalizer * pen;
}

typedef struct {
    int model, k;
    const sy_mdata *d;
    double W;
    const sy_fit_opts *o;
} fit_ctx;

static int fit_obj(const double *theta, void *vctx, double *f, double *g)
{
    fit_ctx *c = (fit_ctx *)vctx;
    double p[SY_MODEL_MAXPAR], e[SY_MODEL_MAXPAR], gr[SY_MODEL_MAXPAR], ll;
    for (int i = 0; i < c->k; i++) {
        if (!(fabs(theta[i]) < 50.0)) return SY_ENAN; /* parameters beyond e^+-50 */
        e[i] = exp(theta[i]);
        p[i] = (c->o->shift ? c->o->shift[i] : 0.0) + e[i];
    }
    int st = sy_models_loglik(c->model, p, c->d, &ll, gr);
    if (st != SY_OK) return st;
    for (int i = 0; i < c->k; i++) g[i] = -gr[i] * e[i] / c->W;
    *f = -ll / c->W + penalty(c->o, c->k, c->k, theta, g);
    return SY_OK;
}

/* Run the starts; shared by the plain and the covariate fits. */
static int run_starts(sy_objfn obj, void *ctx, int k, const double *starts, int n_starts,
                      const sy_fit_opts *opts, double W, const double *h0, sy_fit_result *res)
{
    double best_f = INFINITY;
    int have = 0, last_st = SY_ENOCONV, spent = 0;
    int bflag[SY_FIT_MAXPAR];
    for (int s = 0; s < n_starts && spent < opts->maxiter; s++) {
        double th[SY_FIT_MAXPAR], fmin;
        int nit, conv;
        memcpy(th, starts + (size_t)s * (size_t)k, (size_t)k * sizeof(double));
        sy_bfgs_ext ext = {.progress = opts->progress, .progress_ctx = opts->progress_ctx,
                           .boundary = opts->boundary, .fscale = W, .iter0 = spent,
                           .bflag = bflag, .at_boundary = 0, .gnorm = NAN,
                           .h0 = s == 0 ? h0 : NULL};
        int st = sy_optim_bfgs_ex(obj, ctx, k, th, opts->maxiter - spent, opts->gtol, &ext, &fmin,
                                  &nit, &conv);
        if (st == SY_ENOMEM || st == SY_EINTR) return st;
        if (st != SY_OK) {
            last_st = st;
            spent += 1;
            continue;
        }
        spent += nit;
        int done = conv || ext.at_boundary;
        int have_done = res->converged || res->at_boundary;
        /* keep the best finished start (converged or at a boundary); an unfinished one only
           when nothing finished */
        if ((done && (!have_done || fmin < best_f)) || (!have_done && !done && fmin < best_f)) {
            best_f = fmin;
            memcpy(res->logp, th, (size_t)k * sizeof(double));
            res->converged = conv;
            res->at_boundary = ext.at_boundary;
            for (int j = 0; j < k; j++) res->bflag[j] = ext.at_boundary ? bflag[j] : 0;
            res->n_iter = nit;
            res->start_used = s;
            res->gnorm = ext.gnorm;
            have = 1;
        }
        if (done) break;
    }
    res->n_total_iter = spent;
    if (!have) return last_st == SY_OK ? SY_ENOCONV : last_st;
    res->objective = best_f;
    return SY_OK;
}

/* Hessian of W * objective wrt theta by central differences of the analytic gradient. */
static int num_hessian(sy_objfn obj, void *ctx, int k, const double *theta, double W, double *hess)
{
    double th[SY_FIT_MAXPAR], gp[SY_FIT_MAXPAR], gm[SY_FIT_MAXPAR], f;
    const double h = 1e-5;
    int st = SY_OK;
    for (int j = 0; j < k && st == SY_OK; j++) {
        memcpy(th, theta, (size_t)k * sizeof(double));
        th[j] += h;
        st = obj(th, ctx, &f, gp);
        if (st != SY_OK) break;
        th[j] -= 2 * h;
        st = obj(th, ctx, &f, gm);
        if (st != SY_OK) break;
        for (int i = 0; i < k; i++) hess[i * k + j] = W * (gp[i] - gm[i]) / (2 * h);
    }
    if (st == SY_EINTR || st == SY_ENOMEM) return st;
    if (st != SY_OK) {
        for (int i = 0; i < k * k; i++) hess[i] = NAN;
    } else {
        for (int i = 0; i < k; i++)
            for (int j = 0; j < i; j++) {
                double v = 0.5 * (hess[i * k + j] + hess[j * k + i]);
                hess[i * k + j] = hess[j * k + i] = v;
            }
    }
    return SY_OK;
}

int sy_models_fit(int model, const sy_mdata *raw, const double *starts, int n_starts,
                  const sy_fit_opts *opts, sy_fit_result *res)
{
    const int k = sy_models_npar(model);
    if (k == 0 || n_starts < 1) return SY_EINVAL;
    memset(res, 0, sizeof *res);
    const int64_t n = raw->n;
    if (n < 1) return SY_EINVAL;
    /* collapse identical rows */
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
    sy_mdata d;
    memset(&d, 0, sizeof d);
    d.n = m;
    d.c0 = ucols[0];
    d.c1 = ucols[1];
    d.c2 = ncol == 3 ? ucols[2] : NULL;
    d.w = uw;
    st = sy_models_prepare(model, &d);
    if (st != SY_OK) {
        free(buf);
        return st;
    }
    double W = 0.0;
    for (int64_t i = 0; i < m; i++) W += uw[i];
    if (!(W > 0)) {
        sy_models_release(&d);
        free(buf);
        return SY_EINVAL;
    }
    fit_ctx ctx = {model, k, &d, W, opts};
    st = run_starts(fit_obj, &ctx, k, starts, n_starts, opts, W, NULL, res);
    if (st == SY_OK) {
        res->n_unique = m;
        /* unpenalised log-likelihood */
        double p[SY_MODEL_MAXPAR], ll;
        for (int i = 0; i < k; i++) p[i] = (opts->shift ? opts->shift[i] : 0.0) + exp(res->logp[i]);
        int st2 = sy_models_loglik(model, p, &d, &ll, NULL);
        res->loglik = st2 == SY_OK ? ll : NAN;
        if (opts->no_hessian)
            for (int i = 0; i < k * k; i++) res->hess[i] = NAN;
        else
            st = num_hessian(fit_obj, &ctx, k, res->logp, W, res->hess);
    }
    sy_models_release(&d);
    free(buf);
    return st;
}

/* exported for sy_cov.c */
double sy_fit_penalty(const sy_fit_opts *o, int nb, int k, const double *theta, double *g)
{
    return penalty(o, nb, k, theta, g);
}
int sy_fit_run_starts(sy_objfn obj, void *ctx, int k, const double *starts, int n_starts,
                      const sy_fit_opts *opts, double W, const double *h0, sy_fit_result *res)
{
    return run_starts(obj, ctx, k, starts, n_starts, opts, W, h0, res);
}

/* Eigen-decomposition of a symmetric k x k matrix (row-major, only its upper triangle is
   read) by cyclic Jacobi rotations: w ascending, V[i * k + j] = component i of the j-th
   unit eigenvector.  Accurate to rounding for the small matrices of fits (k <= 64), and it
   keeps tiny dense algebra off LAPACK, whose first call in a process starts the BLAS
   thread pool (0.02-0.5 s).  SY_ENAN for non-finite input, SY_ENOCONV after 100 sweeps. */
int sy_sym_eigen(int k, const double *a, double *w, double *V)
{
    if (k < 1 || k > SY_FIT_MAXPAR) return SY_EINVAL;
    const size_t kk = (size_t)k * (size_t)k;
    double *A = (double *)malloc(kk * sizeof(double));
    if (!A) return SY_ENOMEM;
    double amax = 0.0;
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) {
            const double v = j >= i ? a[i * k + j] : a[j * k + i];
            A[i * k + j] = v;
            V[i * k + j] = i == j ? 1.0 : 0.0;
            amax = isfinite(v) ? fmax(amax, fabs(v)) : INFINITY;
        }
    if (!isfinite(amax)) {
        free(A);
        return SY_ENAN;
    }
    /* norms in units of the largest entry: no overflow near 1e308, no underflow near 1e-308 */
    const double inv = amax > 0 ? 1.0 / amax : 1.0;
    double norm = 0.0;
    for (size_t i = 0; i < kk; i++) norm += (A[i] * inv) * (A[i] * inv);
    int st = SY_ENOCONV;
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0.0;
        for (int p = 0; p < k; p++)
            for (int q = p + 1; q < k; q++) off += (A[p * k + q] * inv) * (A[p * k + q] * inv);
        if (off <= 1e-32 * norm || off == 0.0) {
            st = SY_OK;
            break;
        }
        for (int p = 0; p < k; p++)
            for (int q = p + 1; q < k; q++) {
                const double apq = A[p * k + q];
                if (apq == 0.0) continue;
                /* the rotation that zeroes A[p][q]: t = tan, the smaller root of
                   t^2 + 2 theta t - 1 = 0 */
                const double theta = (A[q * k + q] - A[p * k + p]) / (2.0 * apq);
                const double t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1.0));
                const double c = 1.0 / sqrt(t * t + 1.0), sn = t * c;
                for (int r = 0; r < k; r++) { /* columns p, q of A J */
                    const double arp = A[r * k + p], arq = A[r * k + q];
                    A[r * k + p] = c * arp - sn * arq;
                    A[r * k + q] = sn * arp + c * arq;
                }
                for (int r = 0; r < k; r++) { /* rows p, q of J' (A J) */
                    const double apr = A[p * k + r], aqr = A[q * k + r];
                    A[p * k + r] = c * apr - sn * aqr;
                    A[q * k + r] = sn * apr + c * aqr;
                }
                A[p * k + q] = A[q * k + p] = 0.0;
                for (int r = 0; r < k; r++) {
                    const double vrp = V[r * k + p], vrq = V[r * k + q];
                    V[r * k + p] = c * vrp - sn * vrq;
                    V[r * k + q] = sn * vrp + c * vrq;
                }
            }
    }
    if (st == SY_OK) {
        /* ascending eigenvalues, the vectors alongside (selection sort: k is small) */
        for (int i = 0; i < k; i++) w[i] = A[i * k + i];
        for (int i = 0; i < k; i++) {
            int m = i;
            for (int j = i + 1; j < k; j++)
                if (w[j] < w[m]) m = j;
            if (m != i) {
                double tw = w[i];
                w[i] = w[m];
                w[m] = tw;
                for (int r = 0; r < k; r++) {
                    double tv = V[r * k + i];
                    V[r * k + i] = V[r * k + m];
                    V[r * k + m] = tv;
                }
            }
        }
    }
    free(A);
    return st;
}

int sy_fit_invert_pd(int k, const double *H, double *hinv)
{
    if (k < 1 || k > SY_FIT_MAXPAR) return SY_EINVAL;
    double S[SY_FIT_MAXPAR * SY_FIT_MAXPAR];
    for (int i = 0; i < k; i++)
        for (int j = 0; j <= i; j++)
            S[i * k + j] = S[j * k + i] = 0.5 * (H[i * k + j] + H[j * k + i]);
    /* inverse = V diag(1/w) V' when every eigenvalue is clearly positive */
    double w[SY_FIT_MAXPAR];
    double *V = (double *)malloc((size_t)k * (size_t)k * sizeof(double));
    if (!V) return SY_ENOMEM;
    int st = sy_sym_eigen(k, S, w, V);
    if (st == SY_OK && !(w[0] > 1e-10 * w[k - 1])) st = SY_ENOCONV;
    if (st == SY_OK)
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++) {
                double v = 0.0;
                for (int m = 0; m < k; m++) v += V[i * k + m] * V[j * k + m] / w[m];
                hinv[i * k + j] = v;
            }
    free(V);
    return st == SY_OK || st == SY_ENOMEM ? st : SY_ENOCONV;
}

void sy_fit_penalty_hess(const sy_fit_opts *o, int nb, int k, const double *theta, double *diag)
{
    /* second derivatives of penalty(): lambda p^2 with p = shift + e^theta gives
       2 lambda e (e + p); lambda theta^2 gives 2 lambda */
    for (int i = 0; i < k; i++) {
        if (o->pen_kind == SY_PEN_PARAMS && i < nb) {
            double e = exp(theta[i]), p = (o->shift ? o->shift[i] : 0.0) + e;
            diag[i] = 2.0 * o->penalizer * e * (e + p);
        } else {
            diag[i] = 2.0 * o->penalizer;
        }
    }
}

