/*
 * sy_trust.c -- kernels behind the model diagnostics: the regularised incomplete beta
 * function (NBD tail probabilities of the conditional PMFs), per-customer
 * log-likelihoods, and the repeat-transaction counts of the tracking plot.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "siyu.h"
#include "sy_models.h"

/* ---- regularised incomplete beta I_x(a, b) ----------------------------------------- */

/* Continued fraction of I_x(a, b) (modified Lentz); valid and fast for
   x < (a + 1) / (a + b + 2).  Returns SY_ENOCONV when it needs more than 10000 terms. */
static int betacf(double a, double b, double x, double *out)
{
    const double tiny = 1e-300;
    double c = 1.0, d = 1.0 - (a + b) * x / (a + 1.0);
    if (fabs(d) < tiny) d = tiny;
    d = 1.0 / d;
    double h = d;
    int m;
    for (m = 1; m <= 10000; m++) {
        const double m2 = 2.0 * m;
        double aa = m * (b - m) * x / ((a + m2 - 1.0) * (a + m2));
        d = 1.0 + aa * d;
        if (fabs(d) < tiny) d = tiny;
        c = 1.0 + aa / c;
        if (fabs(c) < tiny) c = tiny;
        d = 1.0 / d;
        h *= d * c;
        aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0));
        d = 1.0 + aa * d;
        if (fabs(d) < tiny) d = tiny;
        c = 1.0 + aa / c;
        if (fabs(c) < tiny) c = tiny;
        d = 1.0 / d;
        const double del = d * c;
        h *= del;
        if (fabs(del - 1.0) < 1e-16) break;
    }
    if (m > 10000) return SY_ENOCONV;
    *out = h;
    return SY_OK;
}

int sy_betainc_reg(double a, double b, double x, double *out)
{
    if (!(a > 0) || !(b > 0) || !(x >= 0) || !(x <= 1)) return SY_EINVAL;
    if (x == 0.0) {
        *out = 0.0;
        return SY_OK;
    }
    if (x == 1.0) {
        *out = 1.0;
        return SY_OK;
    }
    /* log of x^a (1-x)^b / B(a, b) */
    const double lf = a * log(x) + b * log1p(-x) - sy_lbeta(a, b);
    double cf;
    int st;
    if (x < (a + 1.0) / (a + b + 2.0)) {
        st = betacf(a, b, x, &cf);
        if (st != SY_OK) return st;
        *out = exp(lf) * cf / a;
    } else {
        st = betacf(b, a, 1.0 - x, &cf);
        if (st != SY_OK) return st;
        *out = 1.0 - exp(lf) * cf / b;
    }
    if (*out < 0.0) *out = 0.0;
    if (*out > 1.0) *out = 1.0;
    return SY_OK;
}

/* ---- per-row log-likelihoods -------------------------------------------------------- */

typedef struct {
    int model;
    const double *p;
    const sy_mdata *d;
    double *out;
    int64_t lo, hi;
    int status;
} llrow_job;

static void *llrow_worker(void *arg)
{
    llrow_job *j = (llrow_job *)arg;
    j->status = SY_OK;
    for (int64_t i = j->lo; i < j->hi; i++) {
        if (((i - j->lo) & 4095) == 4095 && sy_interrupted()) {
            j->status = SY_EINTR;
            return NULL;
        }
        sy_mdata r;
        memset(&r, 0, sizeof r);
        r.n = 1;
        r.c0 = j->d->c0 + i;
        r.c1 = j->d->c1 + i;
        r.c2 = j->d->c2 ? j->d->c2 + i : NULL;
        double ll = NAN;
        int st = sy_models_prepare(j->model, &r);
        if (st == SY_OK) st = sy_models_loglik(j->model, j->p, &r, &ll, NULL);
        sy_models_release(&r);
        if (st == SY_ENAN) {
            ll = NAN; /* a row the parameters cannot explain: reported, not fatal */
            st = SY_OK;
        }
        if (st != SY_OK) {
            j->status = st;
            return NULL;
        }
        j->out[i] = ll;
    }
    return NULL;
}

int sy_models_loglik_rows(int model, const double *params, const sy_mdata *d, double *out)
{
    if (sy_models_npar(model) == 0 || d->n < 0) return SY_EINVAL;
    const int64_t n = d->n;
    int nth = sy_get_num_threads();
    if (nth > SY_THREADS_CAP) nth = SY_THREADS_CAP;
    if (n < 2048) nth = 1;
    llrow_job jobs[SY_THREADS_CAP];
    for (int t = 0; t < nth; t++) {
        jobs[t] = (llrow_job){model, params, d, out, n * t / nth, n * (t + 1) / nth, SY_OK};
    }
    sy_run_jobs(llrow_worker, jobs, sizeof(llrow_job), nth);
    for (int t = 0; t < nth; t++)
        if (jobs[t].status != SY_OK) return jobs[t].status;
    return SY_OK;
}

/* ---- tracking: repeat occasions per calendar period --------------------------------- */

typedef struct {
    const int64_t *day;
    const double *amount;
    const int64_t *offsets;
    int64_t cal_day;
    const int64_t *bounds;
    int64_t nper;
    int64_t *first_day;
    int64_t *counts; /* this job's own nper counters */
    int64_t lo, hi;
    int status;
} track_job;

/* index of the period holding `day` (bounds[i] <= day < bounds[i+1]) or -1 */
static int64_t period_of(const int64_t *bounds, int64_t nper, int64_t day)
{
    if (day < bounds[0] || day >= bounds[nper]) return -1;
    int64_t lo = 0, hi = nper; /* bounds[lo] <= day < bounds[hi] */
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        if (bounds[mid] <= day) lo = mid;
        else hi = mid;
    }
    return lo;
}

static void *track_worker(void *arg)
{
    track_job *j = (track_job *)arg;
    j->status = SY_OK;
    for (int64_t c = j->lo; c < j->hi; c++) {
        if (((c - j->lo) & 4095) == 4095 && sy_interrupted()) {
            j->status = SY_EINTR;
            return NULL;
        }
        const int64_t a = j->offsets[c], b = j->offsets[c + 1];
        int64_t first = INT64_MIN, last = INT64_MIN;
        for (int64_t i = a; i < b; i++) {
            if (j->amount && !(j->amount[i] >= 0)) continue; /* refunds are not occasions */
            const int64_t dd = j->day[i];
            if (first == INT64_MIN) {
                if (dd > j->cal_day) break; /* first purchase after calibration: not modelled */
                first = last = dd;
                continue;
            }
            if (dd == last) continue; /* same day: one occasion */
            last = dd;
            int64_t p = period_of(j->bounds, j->nper, dd);
            if (p >= 0) j->counts[p]++;
        }
        j->first_day[c] = first;
    }
    return NULL;
}

int sy_tracking_counts(const int64_t *day, const double *amount, const int64_t *offsets,
                       int64_t k, int64_t cal_day, const int64_t *bounds, int64_t nper,
                       int64_t *first_day, int64_t *counts)
{
    if (k < 0 || nper < 1) return SY_EINVAL;
    for (int64_t i = 0; i < nper; i++)
        if (!(bounds[i] < bounds[i + 1])) return SY_EINVAL;
    for (int64_t c = 0; c < k; c++)
        if (offsets[c + 1] < offsets[c]) return SY_EINVAL;
    int nth = sy_get_num_threads();
    if (nth > SY_THREADS_CAP) nth = SY_THREADS_CAP;
    if (k < 20000) nth = 1;
    int64_t bytes;
    if (!sy_mul_ok(nper, (int64_t)nth * (int64_t)sizeof(int64_t), &bytes)) return SY_ENOMEM;
    int64_t *buf = (int64_t *)calloc(1, (size_t)bytes);
    if (!buf) return SY_ENOMEM;
    track_job jobs[SY_THREADS_CAP];
    for (int t = 0; t < nth; t++)
        jobs[t] = (track_job){day, amount, offsets, cal_day, bounds, nper, first_day,
                              buf + (int64_t)t * nper, k * t / nth, k * (t + 1) / nth, SY_OK};
    sy_run_jobs(track_worker, jobs, sizeof(track_job), nth);
    int st = SY_OK;
    for (int t = 0; t < nth; t++)
        if (jobs[t].status != SY_OK) st = jobs[t].status;
    if (st == SY_OK) {
        memset(counts, 0, (size_t)nper * sizeof(int64_t));
        for (int t = 0; t < nth; t++)
            for (int64_t i = 0; i < nper; i++) counts[i] += buf[(int64_t)t * nper + i];
    }
    free(buf);
    return st;
}

/* ---- predictions for many parameter draws --------------------------------------------- */

typedef struct {
    int model, what, k;
    const double *params;
    int64_t B, n;
    const double *const *cols;
    double *out;
    int8_t *ok;
    int tid, nth;
    int status;
} draws_job;

static void *draws_worker(void *arg)
{
    draws_job *j = (draws_job *)arg;
    j->status = SY_OK;
    for (int64_t b = j->tid; b < j->B; b += j->nth) {
        if (sy_interrupted()) {
            j->status = SY_EINTR;
            return NULL;
        }
        double *o = j->out + b * j->n;
        int st = sy_models_predict(j->model, j->what, j->params + b * j->k, j->n, j->cols, o);
        if (st == SY_OK) {
            j->ok[b] = 1;
        } else if (st == SY_ENOCONV || st == SY_ENAN || st == SY_ERANGE) {
            /* extreme draw: no finite prediction; reported, the interval uses the others */
            j->ok[b] = 0;
            for (int64_t i = 0; i < j->n; i++) o[i] = NAN;
        } else {
            j->status = st;
            return NULL;
        }
    }
    return NULL;
}

int sy_predict_draws(int model, int what, const double *params, int64_t B, int64_t n,
                     const double *const *cols, double *out, int8_t *ok)
{
    const int k = sy_models_npar(model);
    if (k == 0 || B < 0 || n < 0) return SY_EINVAL;
    int nth = sy_get_num_threads();
    if (nth > SY_THREADS_CAP) nth = SY_THREADS_CAP;
    if ((int64_t)nth > B) nth = (int)(B > 0 ? B : 1);
    int64_t work;
    if (!sy_mul_ok(B, n, &work)) return SY_ENOMEM;
    if (work < 20000) nth = 1;
    draws_job jobs[SY_THREADS_CAP];
    for (int t = 0; t < nth; t++)
        jobs[t] = (draws_job){model, what, k, params, B, n, cols, out, ok, t, nth, SY_OK};
    sy_run_jobs(draws_worker, jobs, sizeof(draws_job), nth);
    for (int t = 0; t < nth; t++)
        if (jobs[t].status != SY_OK) return jobs[t].status;
    return SY_OK;
}
