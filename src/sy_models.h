/*
 * sy_models.h -- probabilistic customer-value models (BG/NBD, MBG/NBD, Pareto/NBD,
 * BG/BB, Gamma-Gamma, sBG): log-likelihoods with analytic gradients, the optimiser,
 * predictions and simulation.  Pure C, no Python.
 *
 * Parameters are always passed in their natural (positive) scale, in this order:
 *   BG/NBD, MBG/NBD : r, alpha, a, b           data: x, t_x, T
 *   Pareto/NBD      : r, alpha, s, beta        data: x, t_x, T
 *   BG/BB           : alpha, beta, gamma, delta data: x, t_x, n (opportunities)
 *   Gamma-Gamma     : p, q, gamma              data: x, mean spend m   (x >= 1, m > 0)
 *   sBG             : alpha, beta              data: period of churn t, T (t == T: alive)
 */
#ifndef SY_MODELS_H
#define SY_MODELS_H

#include <stdint.h>

#define SY_MODEL_BGNBD  0
#define SY_MODEL_MBGNBD 1
#define SY_MODEL_PARETO 2
#define SY_MODEL_BGBB   3
#define SY_MODEL_GG     4
#define SY_MODEL_SBG    5
#define SY_MODEL_COUNT  6

#define SY_MODEL_MAXPAR 4
/* Parameters the optimiser handles: base parameters plus covariate effects. */
#define SY_FIT_MAXPAR 64

/* Rows of a model's data set.  c0, c1, c2 are the model's three data columns (see above;
   unused columns may be NULL).  w may be NULL (all weights 1). */
typedef struct {
    int64_t n;
    const double *c0, *c1, *c2, *w;
    /* Optional tables used by BG/NBD-type models (filled by sy_models_prepare). */
    int64_t nx, nt;
    double *ux, *ut;          /* unique x values, unique time values         */
    int64_t *ix, *i1, *i2;    /* per row: index into ux, index of c1, of c2 in ut */
    void *owned;              /* storage to free in sy_models_release       */
} sy_mdata;

/* number of parameters of a model (0 for an unknown id) */
int sy_models_npar(int model);

/* Build lookup tables (no-op for models that do not use them). */
int sy_models_prepare(int model, sy_mdata *d);
void sy_models_release(sy_mdata *d);

/* Total weighted log-likelihood and its gradient with respect to the natural
   parameters (grad may be NULL).  d must have been prepared. */
int sy_models_loglik(int model, const double *params, const sy_mdata *d, double *ll, double *grad);

/* Per-model kernels (used by sy_models_loglik). */
int sy_bgnbd_loglik(const double *p, const sy_mdata *d, int modified, double *ll, double *grad);
int sy_paretonbd_loglik(const double *p, const sy_mdata *d, double *ll, double *grad);
int sy_bgbb_loglik(const double *p, const sy_mdata *d, double *ll, double *grad);
int sy_gammagamma_loglik(const double *p, const sy_mdata *d, double *ll, double *grad);
int sy_sbg_loglik(const double *p, const sy_mdata *d, double *ll, double *grad);

/* Sum a per-row kernel over fixed blocks of rows, in parallel when the data are large.
   fn adds the weighted log-likelihood of rows [lo, hi) to acc[0] and its gradient to
   acc[1..k] (grad NULL: gradient not needed).  Block sums are combined in block order,
   so the result is identical for any thread count. */
typedef int (*sy_rowfn)(const double *p, const sy_mdata *d, int64_t lo, int64_t hi, int want_grad,
                        double *acc);
int sy_models_blocked(sy_rowfn fn, const double *p, const sy_mdata *d, int k, double *ll,
                      double *grad);
/* The same over n rows with an opaque context (k <= SY_FIT_MAXPAR): fn adds rows [lo, hi)
   to acc[0] (log-likelihood) and acc[1..k] (gradient).  Workers poll sy_interrupted(). */
typedef int (*sy_rowfn_ctx)(void *ctx, int64_t lo, int64_t hi, int want_grad, double *acc);
int sy_blocked_sum(sy_rowfn_ctx fn, void *ctx, int64_t n, int k, double *ll, double *grad);

/* One Pareto/NBD row: log-likelihood and its gradient (g may be NULL) with respect to
   the natural parameters (r, alpha, s, beta); lgr = lgamma(r), psir = digamma(r). */
int sy_paretonbd_row(double r, double al, double s, double be, double x, double tx, double T,
                     double lgr, double psir, double *ll, double *g);

/* ---- fitting -------------------------------------------------------------- */
/* Penalizer kinds.  The optimiser works on theta = (log(p - shift) for the base
   parameters, covariate effects as they are).  SY_PEN_LOG: penalizer * sum(theta^2);
   SY_PEN_PARAMS (lifetimes' form): penalizer * (sum(p^2) over base parameters + sum of
   squared covariate effects). */
#define SY_PEN_LOG    0
#define SY_PEN_PARAMS 1

/* Progress hook, called once per BFGS iteration (without the GIL) with the iteration,
   the total (unpenalised-scale) objective W*f and the max-norm of its gradient wrt theta.
   A nonzero return stops the fit with SY_EINTR. */
typedef int (*sy_progress_fn)(void *ctx, int iter, double wf, double gnorm);

typedef struct {
    double penalizer;   /* objective = -LL/W + penalizer * penalty (see SY_PEN_*)            */
    int maxiter;        /* BFGS iterations, over all starts                                  */
    double gtol;        /* convergence: max |gradient of objective wrt theta| < gtol         */
    int pen_kind;       /* SY_PEN_LOG (default) or SY_PEN_PARAMS                             */
    const double *shift;/* per base parameter lower bound (p = shift + e^theta); NULL = 0   */
    int boundary;       /* 1: stop early when parameters run to a boundary (flat direction) */
    sy_progress_fn progress;
    void *progress_ctx;
    int no_hessian;     /* 1: skip the Hessian (res->hess all NaN): a warm start needs none */
    int warm_start;     /* sy_cov_fit: 1 = first fit without covariates (on the collapsed
                           rows, from the starts' base parts) and start from it, effects 0 */
} sy_fit_opts;

typedef struct {
    double logp[SY_FIT_MAXPAR];       /* optimum theta (log-parameters, then effects) */
    double loglik;                    /* unpenalised total log-likelihood at optimum  */
    double objective;                 /* penalised objective (mean scale)             */
    double hess[SY_MODEL_MAXPAR * SY_MODEL_MAXPAR]; /* Hessian (no-covariate fits)     */
    int n_iter;                       /* iterations of the accepted start             */
    int converged;                    /* 1 if a start met the gradient tolerance      */
    int start_used;                   /* index of the accepted start                  */
    int64_t n_unique;                 /* rows after collapsing identical rows         */
    int at_boundary;                  /* 1: stopped because parameters ran off        */
    int bflag[SY_FIT_MAXPAR];         /* per theta: +1 ran to +inf, -1 to -inf, 0 no  */
    int n_total_iter;                 /* iterations over all starts                   */
    double gnorm;                     /* max |gradient| of the objective at the end   */
} sy_fit_result;

/* Static covariates (sy_cov.c).  theta = (log base parameters, ng effects).  Column j of
   the purchase block zp (column-major, n x kp) uses effect ip[j]; of the dropout block zd
   (n x kd) effect id[j] (several columns may share one effect: constrained covariates).
   Per customer:
     Pareto/NBD : alpha_i = alpha e^{-gp'z},  beta_i = beta e^{-gd'z}     (CLVTools)
     BG/NBD     : alpha_i = alpha e^{-gp'z},  a_i = a e^{gd'z}, b_i = b e^{gd'z} (CLVTools)
     Gamma-Gamma: gamma_i = gamma e^{gp'z}   (spend scale; kd must be 0)            */
typedef struct {
    int kp, kd, ng;
    const double *zp, *zd;
    const int *ip, *id;
} sy_covspec;

/* Total log-likelihood, gradient wrt theta (grad may be NULL) and Hessian wrt theta
   (hess, k x k, may be NULL; the chain-rule Hessian the fit's standard errors use) on raw
   rows. */
int sy_cov_loglik(int model, const double *theta, const sy_mdata *d, const sy_covspec *cs,
                  double *ll, double *grad, double *hess);
/* Collapse identical (data, covariate) rows, then fit as sy_models_fit; hess receives the
   (nb + ng)^2 Hessian of -LL (penalised) wrt theta. */
int sy_cov_fit(int model, const sy_mdata *raw, const sy_covspec *cs, const double *starts,
               int n_starts, const sy_fit_opts *opts, sy_fit_result *res, double *hess);

/* Collapse identical rows, then run BFGS from each start (n_starts x npar log-params,
   row-major) until one converges; the best start is kept.  Status SY_ENAN when every
   start produced non-finite values. */
int sy_models_fit(int model, const sy_mdata *raw, const double *starts, int n_starts,
                  const sy_fit_opts *opts, sy_fit_result *res);

/* Generic BFGS minimiser on R^k (k <= SY_FIT_MAXPAR). */
typedef int (*sy_objfn)(const double *theta, void *ctx, double *f, double *g);
int sy_optim_bfgs(sy_objfn fn, void *ctx, int k, double *theta, int maxiter, double gtol,
                  double *fmin, int *n_iter, int *converged);
/* As sy_optim_bfgs with a progress hook and boundary detection: when over the last
   iterations some coordinates kept moving outward (|theta| > 4.6 and growing by more than
   a factor e) while the total objective fscale*f improved by less than 1 + 1e-5 *
   fscale, the run stops with at_boundary = 1 and bflag[j] = +-1 for those coordinates;
   likewise when the run ends without converging with such coordinates. */
typedef struct {
    sy_progress_fn progress;
    void *progress_ctx;
    int boundary;
    double fscale;       /* W: converts the mean objective to log-likelihood units */
    int iter0;           /* iterations already spent (numbering for progress)      */
    int *bflag;          /* out (k), may be NULL                                   */
    int at_boundary;     /* out                                                    */
    double gnorm;        /* out                                                    */
    const double *h0;    /* in, may be NULL: initial inverse Hessian (k x k, SPD) instead of
                            the scaled identity; used until a restart                 */
} sy_bfgs_ext;
int sy_optim_bfgs_ex(sy_objfn fn, void *ctx, int k, double *theta, int maxiter, double gtol,
                     sy_bfgs_ext *ext, double *fmin, int *n_iter, int *converged);

/* Pieces of sy_models_fit shared with sy_cov.c. */
double sy_fit_penalty(const sy_fit_opts *o, int nb, int k, const double *theta, double *g);
int sy_fit_run_starts(sy_objfn obj, void *ctx, int k, const double *starts, int n_starts,
                      const sy_fit_opts *opts, double W, const double *h0, sy_fit_result *res);
/* hinv = inverse of the symmetric part of H (k x k; hinv may be H) when it is clearly
   positive definite (smallest eigenvalue > 1e-10 x largest), else SY_ENOCONV. */
int sy_fit_invert_pd(int k, const double *H, double *hinv);
/* diag (k) = second derivatives of sy_fit_penalty's penalty (it has no cross terms). */
void sy_fit_penalty_hess(const sy_fit_opts *o, int nb, int k, const double *theta, double *diag);
/* Symmetric eigen-decomposition (Jacobi) of a k x k matrix, k <= SY_FIT_MAXPAR: w (k)
   ascending, V (k x k, row-major) with the unit eigenvectors as columns. */
int sy_sym_eigen(int k, const double *a, double *w, double *V);

/* ---- predictions ---------------------------------------------------------- */
/* what codes */
#define SY_PRED_EXPECTED      0  /* E[X(t)] new customer          cols: t                    */
#define SY_PRED_COND_EXPECTED 1  /* E[X(t)|x,tx,T]                 cols: t, x, tx, T          */
#define SY_PRED_PALIVE        2  /* P(alive|x,tx,T)                cols: x, tx, T             */
#define SY_PRED_PMF           3  /* P(X(t)=n)                      cols: n, t                 */
#define SY_PRED_DERT          4  /* discounted expected residual transactions  cols: d, x, tx, T */
#define SY_PRED_GG_VALUE      5  /* Gamma-Gamma E[M|x, m]          cols: x, m                 */
#define SY_PRED_SURVIVAL      6  /* sBG S(t)                       cols: t                    */
#define SY_PRED_RETENTION     7  /* sBG r(t)                       cols: t                    */
#define SY_PRED_DERL          8  /* sBG DERL                       cols: d, n_renewals        */

/* out[i] = prediction for row i; cols[j][i] are the inputs listed above. */
/* Columns prediction `what` of `model` reads (0: not answered by that model). */
int sy_models_pred_ncols(int model, int what);
int sy_models_predict(int model, int what, const double *params, int64_t n,
                      const double *const *cols, double *out);
/* As sy_models_predict over n rows, in blocks on all threads, returning SY_EINTR soon
   after Ctrl-C.  per_row: params holds k parameters for each row, else one set.  The
   outputs are written row by row, so they never depend on the thread count. */
int sy_models_predict_many(int model, int what, const double *params, int per_row, int64_t n,
                           const double *const *cols, int ncols, double *out);

int sy_bgnbd_predict(const double *p, int modified, int what, int64_t n,
                     const double *const *cols, double *out);
int sy_paretonbd_predict(const double *p, int what, int64_t n, const double *const *cols,
                         double *out);
int sy_bgbb_predict(const double *p, int what, int64_t n, const double *const *cols,
                    double *out);
int sy_gammagamma_predict(const double *p, int what, int64_t n, const double *const *cols,
                          double *out);
int sy_sbg_predict(const double *p, int what, int64_t n, const double *const *cols,
                   double *out);

/* ---- special functions (sy_special.c) ------------------------------------- */
double sy_digamma(double x);
/* log|Gamma(x)| without touching the global signgam (safe with the GIL released) */
double sy_lgamma(double x);
double sy_lbeta(double a, double b);
/* log(exp(a) + exp(b)) */
double sy_logaddexp(double a, double b);
/* Gauss-Legendre nodes/weights on [-1, 1] (SY_GL_N points), computed once. */
#define SY_GL_N 24
void sy_gl_get(const double **nodes, const double **weights);

/* Collapse identical rows of k (<= SY_FIT_MAXPAR + 3) double columns.  ucols[j] (capacity n) receive the
   unique rows in first-seen order, uw (capacity n, may be NULL) the summed weights
   (w NULL = 1 each), inv (may be NULL) the unique index of each row, *m the count.
   SY_EINTR on Ctrl-C (polled every 65,536 rows). */
int sy_dedup(const double *const *cols, int k, const double *w, int64_t n,
             double *const *ucols, double *uw, int64_t *inv, int64_t *m);

/* ---- simulation (sy_simulate.c) ------------------------------------------- */
/* Draw from BG/NBD (model SY_MODEL_BGNBD, p = r, alpha, a, b) or Pareto/NBD
   (SY_MODEL_PARETO, p = r, alpha, s, beta) for n customers observed for T[i] units
   after their first purchase (time 0).  Phase 1 (times == NULL): count the repeat
   purchases of each customer into count[i] (uses seed).  Phase 2: with the same seed,
   write each customer's repeat purchase times (sorted) into times at offset[i]
   (offset = exclusive cumsum of count).  x/tx summary per customer into x, tx (may be NULL). */
int sy_simulate_purchases(int model, const double *p, int64_t n, const double *T, uint64_t seed,
                          int64_t *count, const int64_t *offset, double *times, double *tx);
/* The same with one parameter vector per customer when per_row (p: n x 4, row-major). */
int sy_simulate_purchases_ex(int model, const double *p, int per_row, int64_t n, const double *T,
                             uint64_t seed, int64_t *count, const int64_t *offset, double *times,
                             double *tx);
/* per_row: pqg is n x 3 (one (p, q, gamma) per customer). */
int sy_simulate_amounts_ex(const double *pqg, int per_row, int64_t n, const int64_t *k,
                           const int64_t *offset, uint64_t seed, double *amounts);
/* Gamma-Gamma amounts: for customer i with k[i] = count[i] + 1 occasions, fill
   amounts[offset2[i] .. offset2[i]+k[i]) with Gamma(p, nu_i), nu_i ~ Gamma(q, gamma). */
int sy_simulate_amounts(const double *pqg, int64_t n, const int64_t *k, const int64_t *offset,
                        uint64_t seed, double *amounts);


/* ---- diagnostics, intervals and extras (sy_trust.c, sy_bootstrap.c) ----------- */
/* More prediction codes (appended; the codes above are unchanged). */
#define SY_PRED_COND_PMF      9  /* P(X(T, T+t] = n | x,tx,T)      cols: n, t, x, tx, T      */
#define SY_PRED_COND_NONE    10  /* P(no purchase in (T, T+t] | x,tx,T)  cols: t, x, tx, T    */
/* BG/BB answers SY_PRED_PMF with P(X(n) = x) of a new customer, cols: x, n.                */
#define SY_PRED_MAXCOLS       5
/* Largest number of purchase opportunities (BG/BB) and of purchases n (PMFs) accepted:
   loops over them are bounded by these (larger values are SY_ERANGE). */
#define SY_MAX_OPPORTUNITIES 10000000.0
#define SY_MAX_PMF_N       1000000000.0
/* Most customers (sum of the weights) a bootstrap replicate resamples. */
#define SY_BOOT_MAX_CUSTOMERS 1000000000.0

/* Regularised incomplete beta function I_x(a, b) (continued fraction, convergence
   checked: SY_ENOCONV when it fails). */
int sy_betainc_reg(double a, double b, double x, double *out);

/* out[i] = log-likelihood of row i alone (NaN where the row has zero likelihood). */
int sy_models_loglik_rows(int model, const double *params, const sy_mdata *d, double *out);

/* Predictions for B parameter vectors (params: B x npar, row major) on the same n rows:
   out is B x n.  A draw whose prediction fails numerically (SY_ENOCONV, SY_ENAN, SY_ERANGE)
   gets NaN and ok[b] = 0; other failures are returned.  Draws run on all threads. */
int sy_predict_draws(int model, int what, const double *params, int64_t B, int64_t n,
                     const double *const *cols, double *out, int8_t *ok);

/* Repeat occasions per period for the tracking plot.  Rows grouped by customer
   (offsets, k + 1 entries), sorted by day within a customer; rows with amount < 0 (amount
   may be NULL) are refunds.  An occasion is a day with a purchase row; a customer's first
   occasion is their acquisition and counts nowhere.  Customers whose first occasion is after
   cal_day are left out (first_day = INT64_MIN), others get their first occasion day.
   counts[i] = repeat occasions of the kept customers on days bounds[i] <= d < bounds[i+1]
   (nper periods, bounds strictly increasing). */
int sy_tracking_counts(const int64_t *day, const double *amount, const int64_t *offsets,
                       int64_t k, int64_t cal_day, const int64_t *bounds, int64_t nper,
                       int64_t *first_day, int64_t *counts);

/* Bootstrap refits: the rows of raw are collapsed to m unique rows with integer counts
   (raw->w, NULL = 1 each; non-integer counts are SY_EINVAL); each replicate b draws
   N = sum(counts) customers with replacement (a multinomial reweighting of the m rows, from
   its own random stream (seed, b), so results do not depend on the thread count) and refits
   by BFGS from the starts (n_starts x npar log-parameters; the first that converges wins).
   hinv0 (npar x npar, may be NULL): the inverse Hessian of the objective -LL/N + penalty at
   starts[0] (the full-data fit); each refit first runs a quasi-Newton from starts[0] with it,
   which usually converges in a few steps, and falls back to the starts otherwise.
   pen_kind 0 penalises sum(log(p)^2), 1 sum(p^2).  Outputs per replicate: logp (n_boot x
   npar; NaN when every start failed), loglik, status (1 converged, 0 not converged, -1
   failed) and iterations.  When counts_out is not NULL it receives the n_boot x m counts and
   ucols[0..2] (capacity n) the unique rows (ucols[2] ignored for two-column models); *m_out
   is the number of unique rows.  Replicates run on all threads; Ctrl-C stops them. */
int sy_bootstrap_fit(int model, const sy_mdata *raw, const double *starts, int n_starts,
                     const double *hinv0, double penalizer, int pen_kind, int maxiter,
                     double gtol, int64_t n_boot,
                     uint64_t seed, double *logp, double *loglik, int8_t *status, int32_t *n_iter,
                     double *counts_out, double *const *ucols, int64_t *m_out);

/* Column means of n_boot resamples (with replacement) of the n rows of X (n x k, row
   major): out is n_boot x k.  Replicate b uses the random stream (seed, b). */
int sy_bootstrap_means(const double *X, int64_t n, int k, int64_t n_boot, uint64_t seed,
                       double *out);

/* Simulate BG/BB customers: customer i has n_opp[i] calibration opportunities followed by
   n_star holdout opportunities; x[i] = transactions in calibration, tx[i] = last
   calibration opportunity with a transaction (0 if none), x_star[i] = holdout
   transactions, alive[i] = 1 when still alive after the last opportunity. */
int sy_bgbb_simulate(const double *p, int64_t n, const int64_t *n_opp, int64_t n_star,
                     uint64_t seed, int64_t *x, int64_t *tx, int64_t *x_star, int8_t *alive);

#endif /* SY_MODELS_H */
