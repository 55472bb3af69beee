/*
 * py_models.c -- CLV model likelihoods, fits, predictions and simulators.
 *
 * Glue only: parse -> coerce -> check -> allocate -> run the kernel without the GIL
 * (SY_NOGIL_BEGIN/END, which lets kernels poll for Ctrl-C) -> map status to exception.
 */
#include "py_glue.h"

/* ------------------------------------------------------------------------ */
/* CLV models (kernels in sy_bgnbd.c, sy_paretonbd.c, sy_bgbb.c,            */
/* sy_gammagamma.c, sy_sbg.c, sy_optim.c, sy_simulate.c)                    */
/* ------------------------------------------------------------------------ */
#include "sy_models.h"

static int sy_model_check(int model)
{
    if (sy_models_npar(model) == 0) {
        PyErr_Format(PyExc_ValueError, "unknown model code %d", model);
        return -1;
    }
    return 0;
}

/* Coerce the model's data columns; c2 and w may be None.  Returns 0 on success. */
static int sy_model_data(PyObject *o0, PyObject *o1, PyObject *o2, PyObject *ow,
                         PyArrayObject **a0, PyArrayObject **a1, PyArrayObject **a2,
                         PyArrayObject **aw, sy_mdata *d)
{
    if (!(*a0 = sy_as_1d(o0, NPY_FLOAT64, "c0", -1))) return -1;
    npy_intp n = PyArray_DIM(*a0, 0);
    if (!(*a1 = sy_as_1d(o1, NPY_FLOAT64, "c1", n))) return -1;
    if (o2 != Py_None && !(*a2 = sy_as_1d(o2, NPY_FLOAT64, "c2", n))) return -1;
    if (ow != Py_None && !(*aw = sy_as_1d(ow, NPY_FLOAT64, "weights", n))) return -1;
    memset(d, 0, sizeof *d);
    d->n = (int64_t)n;
    d->c0 = (const double *)PyArray_DATA(*a0);
    d->c1 = (const double *)PyArray_DATA(*a1);
    d->c2 = *a2 ? (const double *)PyArray_DATA(*a2) : NULL;
    d->w = *aw ? (const double *)PyArray_DATA(*aw) : NULL;
    return 0;
}

/* model_loglik(model, params, c0, c1, c2, w) -> (loglik, gradient wrt params) */
static PyObject *py_model_loglik(PyObject *self, PyObject *args)
{
    (void)self;
    int model, st;
    PyObject *po, *o0, *o1, *o2, *ow;
    PyArrayObject *par = NULL, *a0 = NULL, *a1 = NULL, *a2 = NULL, *aw = NULL, *grad = NULL;
    sy_mdata d;
    double ll = 0.0;
    if (!PyArg_ParseTuple(args, "iOOOOO", &model, &po, &o0, &o1, &o2, &ow)) return NULL;
    if (sy_model_check(model)) return NULL;
    int k = sy_models_npar(model);
    if (!(par = sy_as_1d(po, NPY_FLOAT64, "params", k))) goto fail;
    if (sy_model_data(o0, o1, o2, ow, &a0, &a1, &a2, &aw, &d)) goto fail;
    if ((model == SY_MODEL_BGNBD || model == SY_MODEL_MBGNBD || model == SY_MODEL_PARETO ||
         model == SY_MODEL_BGBB) && !a2) {
        PyErr_SetString(PyExc_ValueError, "model_loglik: this model needs three data columns");
        goto fail;
    }
    if (!(grad = sy_new_1d(k, NPY_FLOAT64))) goto fail;
    SY_NOGIL_BEGIN
    st = sy_models_prepare(model, &d);
    if (st == SY_OK) st = sy_models_loglik(model, (const double *)PyArray_DATA(par), &d, &ll,
                                           (double *)PyArray_DATA(grad));
    sy_models_release(&d);
    SY_NOGIL_END
    if (st != SY_OK) {
        sy_raise(st, "model_loglik");
        goto fail;
    }
    Py_DECREF(par);
    Py_DECREF(a0);
    Py_DECREF(a1);
    Py_XDECREF(a2);
    Py_XDECREF(aw);
    return Py_BuildValue("(dN)", ll, grad);
fail:
    Py_XDECREF(par);
    Py_XDECREF(a0);
    Py_XDECREF(a1);
    Py_XDECREF(a2);
    Py_XDECREF(aw);
    Py_XDECREF(grad);
    return NULL;
}

/* model_fit(model, c0, c1, c2, w, starts, penalizer, maxiter, gtol)
   -> (logparams, loglik, objective, hessian (k*k, log-params), n_iter, converged,
       start_used, n_unique) */
/* The exception of a failed fit: no finite start is a ConvergenceError with the fix. */
static void fit_failed(int st)
{
    if (st == SY_ENAN || st == SY_ENOCONV || st == SY_EINVAL)
        PyErr_SetString(sy_ConvergenceError,
                        "model_fit: every start produced non-finite likelihoods; check the "
                        "data (units, recency <= T) or try penalizer > 0");
    else
        sy_raise(st, "model_fit");
}

static PyObject *py_model_fit(PyObject *self, PyObject *args)
{
    (void)self;
    int model, maxiter, st;
    double pen, gtol;
    PyObject *o0, *o1, *o2, *ow, *so;
    PyArrayObject *a0 = NULL, *a1 = NULL, *a2 = NULL, *aw = NULL, *starts = NULL;
    PyArrayObject *lp = NULL, *hess = NULL;
    sy_mdata d;
    sy_fit_result res;
    if (!PyArg_ParseTuple(args, "iOOOOOdid", &model, &o0, &o1, &o2, &ow, &so, &pen, &maxiter, &gtol))
        return NULL;
    if (sy_model_check(model)) return NULL;
    int k = sy_models_npar(model);
    if (!(pen >= 0.0) || maxiter < 1 || !(gtol > 0.0)) {
        PyErr_SetString(PyExc_ValueError,
                        "model_fit: penalizer must be >= 0, maxiter >= 1 and gtol > 0");
        return NULL;
    }
    if (sy_model_data(o0, o1, o2, ow, &a0, &a1, &a2, &aw, &d)) goto fail;
    if ((model == SY_MODEL_BGNBD || model == SY_MODEL_MBGNBD || model == SY_MODEL_PARETO ||
         model == SY_MODEL_BGBB) && !a2) {
        PyErr_SetString(PyExc_ValueError, "model_fit: this model needs three data columns");
        goto fail;
    }
    if (d.n < 1) {
        PyErr_SetString(PyExc_ValueError, "model_fit: no rows to fit");
        goto fail;
    }
    if (!(starts = sy_as_1d(so, NPY_FLOAT64, "starts", -1))) goto fail;
    npy_intp ns = PyArray_DIM(starts, 0);
    if (ns < k || ns % k != 0) {
        PyErr_Format(PyExc_ValueError, "model_fit: starts must hold a multiple of %d values", k);
        goto fail;
    }
    if (!(lp = sy_new_1d(k, NPY_FLOAT64)) || !(hess = sy_new_1d((npy_intp)k * k, NPY_FLOAT64)))
        goto fail;
    {
        sy_fit_opts opts = {pen, maxiter, gtol, SY_PEN_LOG, NULL, 0, NULL, NULL, 0, 0};
        const double *sp = (const double *)PyArray_DATA(starts);
        int nstart = (int)(ns / k);
        SY_NOGIL_BEGIN
        st = sy_models_fit(model, &d, sp, nstart, &opts, &res);
        SY_NOGIL_END
    }
    if (st != SY_OK) {
        fit_failed(st);
        goto fail;
    }
    memcpy(PyArray_DATA(lp), res.logp, (size_t)k * sizeof(double));
    memcpy(PyArray_DATA(hess), res.hess, (size_t)k * k * sizeof(double));
    Py_DECREF(a0);
    Py_DECREF(a1);
    Py_XDECREF(a2);
    Py_XDECREF(aw);
    Py_DECREF(starts);
    return Py_BuildValue("(NddNiiiL)", lp, res.loglik, res.objective, hess, res.n_iter,
                         res.converged, res.start_used, (long long)res.n_unique);
fail:
    Py_XDECREF(a0);
    Py_XDECREF(a1);
    Py_XDECREF(a2);
    Py_XDECREF(aw);
    Py_XDECREF(starts);
    Py_XDECREF(lp);
    Py_XDECREF(hess);
    return NULL;
}

/* model_predict(model, what, params, (col0, col1, ...)) -> float64 array */
static PyObject *py_model_predict(PyObject *self, PyObject *args)
{
    (void)self;
    int model, what, st;
    PyObject *po, *tup;
    PyArrayObject *par = NULL, *out = NULL;
    PyArrayObject *cols[4] = {NULL, NULL, NULL, NULL};
    const double *cp[4] = {NULL, NULL, NULL, NULL};
    if (!PyArg_ParseTuple(args, "iiOO!", &model, &what, &po, &PyTuple_Type, &tup)) return NULL;
    if (sy_model_check(model)) return NULL;
    Py_ssize_t nc = PyTuple_GET_SIZE(tup);
    if (nc < 1 || nc > 4) {
        PyErr_SetString(PyExc_ValueError, "model_predict: 1 to 4 input columns expected");
        return NULL;
    }
    const int need = sy_models_pred_ncols(model, what);
    if (need == 0) {
        PyErr_Format(PyExc_ValueError, "model_predict: model code %d has no prediction code %d",
                     model, what);
        return NULL;
    }
    if (nc != need) {
        PyErr_Format(PyExc_ValueError,
                     "model_predict: prediction code %d of model code %d takes %d input "
                     "column(s), got %d", what, model, need, (int)nc);
        return NULL;
    }
    const int k = sy_models_npar(model);
    int per_row = 0;
    if (PyArray_Check(po) && PyArray_NDIM((PyArrayObject *)po) == 2) {
        /* one parameter vector per row: params of shape (n, k) */
        par = (PyArrayObject *)PyArray_FROM_OTF(po, NPY_FLOAT64, NPY_ARRAY_IN_ARRAY);
        if (!par) goto fail;
        if (PyArray_DIM(par, 1) != k) {
            PyErr_Format(PyExc_ValueError, "model_predict: params of shape (n, %d) expected", k);
            goto fail;
        }
        per_row = 1;
    } else if (!(par = sy_as_1d(po, NPY_FLOAT64, "params", k))) {
        goto fail;
    }
    npy_intp n = per_row ? PyArray_DIM(par, 0) : -1;
    {
        /* every parameter finite and > 0 (one vector, or one per row) */
        const double *pv = (const double *)PyArray_DATA(par);
        const npy_intp total = PyArray_SIZE(par);
        for (npy_intp j = 0; j < total; j++)
            if (!(pv[j] > 0.0) || !isfinite(pv[j])) {
                PyErr_SetString(PyExc_ValueError,
                                "model_predict: params must be finite and > 0 (refit the model)");
                goto fail;
            }
    }
    for (Py_ssize_t j = 0; j < nc; j++) {
        if (!(cols[j] = sy_as_1d(PyTuple_GET_ITEM(tup, j), NPY_FLOAT64, "prediction input", n)))
            goto fail;
        n = PyArray_DIM(cols[j], 0);
        cp[j] = (const double *)PyArray_DATA(cols[j]);
    }
    if (!(out = sy_new_1d(n, NPY_FLOAT64))) goto fail;
    SY_NOGIL_BEGIN
    st = sy_models_predict_many(model, what, (const double *)PyArray_DATA(par), per_row,
                                (int64_t)n, cp, (int)nc, (double *)PyArray_DATA(out));
    SY_NOGIL_END
    if (st != SY_OK) {
        if (st == SY_ENOCONV)
            PyErr_SetString(sy_ConvergenceError,
                            "model_predict: a series or integral did not converge for these "
                            "inputs (extreme parameters, a very large count, or a horizon far "
                            "beyond the observation period); refit with a penalizer or use a "
                            "smaller count or shorter horizon");
        else if (st == SY_ERANGE)
            PyErr_Format(PyExc_ValueError,
                         "model_predict: a count or number of opportunities is beyond the "
                         "supported range (at most %.0f opportunities, %.0f purchases)",
                         SY_MAX_OPPORTUNITIES, SY_MAX_PMF_N);
        else if (st == SY_ENAN)
            PyErr_SetString(PyExc_FloatingPointError,
                            "model_predict: the prediction overflowed for these parameters "
                            "(extreme fit); refit with a penalizer");
        else
            sy_raise(st, "model_predict");
        goto fail;
    }
    Py_DECREF(par);
    for (int j = 0; j < 4; j++) Py_XDECREF(cols[j]);
    return (PyObject *)out;
fail:
    Py_XDECREF(par);
    for (int j = 0; j < 4; j++) Py_XDECREF(cols[j]);
    Py_XDECREF(out);
    return NULL;
}

/* simulate_purchases(model, params, T, seed) -> (count int64, times float64 (flat), tx) */
static PyObject *py_simulate_purchases(PyObject *self, PyObject *args)
{
    (void)self;
    int model, st;
    unsigned long long seed;
    PyObject *po, *to;
    PyArrayObject *par = NULL, *T = NULL, *count = NULL, *offset = NULL, *times = NULL, *tx = NULL;
    if (!PyArg_ParseTuple(args, "iOOK", &model, &po, &to, &seed)) return NULL;
    if (model != SY_MODEL_BGNBD && model != SY_MODEL_PARETO) {
        PyErr_SetString(PyExc_ValueError, "simulate_purchases: model must be BG/NBD or Pareto/NBD");
        return NULL;
    }
    int per_row = PyArray_Check(po) && PyArray_NDIM((PyArrayObject *)po) == 2;
    if (per_row) {
        if (!(par = (PyArrayObject *)PyArray_FROM_OTF(po, NPY_FLOAT64, NPY_ARRAY_IN_ARRAY))) goto fail;
    } else if (!(par = sy_as_1d(po, NPY_FLOAT64, "params", 4))) {
        goto fail;
    }
    if (!(T = sy_as_1d(to, NPY_FLOAT64, "T", -1))) goto fail;
    npy_intp n = PyArray_DIM(T, 0);
    if (per_row && (PyArray_DIM(par, 0) != n || PyArray_DIM(par, 1) != 4)) {
        PyErr_SetString(PyExc_ValueError, "simulate_purchases: params must have shape (4,) or (n, 4)");
        goto fail;
    }
    if (!(count = sy_new_1d(n, NPY_INT64)) || !(offset = sy_new_1d(n, NPY_INT64)) ||
        !(tx = sy_new_1d(n, NPY_FLOAT64)))
        goto fail;
    int64_t total = 0;
    SY_NOGIL_BEGIN
    st = sy_simulate_purchases_ex(model, (const double *)PyArray_DATA(par), per_row, (int64_t)n,
                                  (const double *)PyArray_DATA(T), (uint64_t)seed,
                                  (int64_t *)PyArray_DATA(count), NULL, NULL, NULL);
    if (st == SY_OK) {
        int64_t *c = (int64_t *)PyArray_DATA(count), *o = (int64_t *)PyArray_DATA(offset);
        for (npy_intp i = 0; i < n; i++) {
            o[i] = total;
            if (c[i] > INT64_MAX - total) {
                st = SY_ENOMEM;
                break;
            }
            total += c[i];
        }
    }
    SY_NOGIL_END
    if (st != SY_OK) {
        sy_raise(st, "simulate_purchases");
        goto fail;
    }
    if (!(times = sy_new_1d((npy_intp)total, NPY_FLOAT64))) goto fail;
    SY_NOGIL_BEGIN
    st = sy_simulate_purchases_ex(model, (const double *)PyArray_DATA(par), per_row, (int64_t)n,
                                  (const double *)PyArray_DATA(T), (uint64_t)seed,
                                  (int64_t *)PyArray_DATA(count), (const int64_t *)PyArray_DATA(offset),
                                  (double *)PyArray_DATA(times), (double *)PyArray_DATA(tx));
    SY_NOGIL_END
    if (st != SY_OK) {
        sy_raise(st, "simulate_purchases");
        goto fail;
    }
    Py_DECREF(par);
    Py_DECREF(T);
    Py_DECREF(offset);
    return Py_BuildValue("(NNN)", count, times, tx);
fail:
    Py_XDECREF(par);
    Py_XDECREF(T);
    Py_XDECREF(count);
    Py_XDECREF(offset);
    Py_XDECREF(times);
    Py_XDECREF(tx);
    return NULL;
}

/* simulate_amounts(pqg, k, seed) -> amounts (sum(k) values, customer-major) */
static PyObject *py_simulate_amounts(PyObject *self, PyObject *args)
{
    (void)self;
    int st;
    unsigned long long seed;
    PyObject *po, *ko;
    PyArrayObject *par = NULL, *k = NULL, *offset = NULL, *out = NULL;
    if (!PyArg_ParseTuple(args, "OOK", &po, &ko, &seed)) return NULL;
    int per_row = PyArray_Check(po) && PyArray_NDIM((PyArrayObject *)po) == 2;
    if (per_row) {
        if (!(par = (PyArrayObject *)PyArray_FROM_OTF(po, NPY_FLOAT64, NPY_ARRAY_IN_ARRAY))) goto fail;
    } else if (!(par = sy_as_1d(po, NPY_FLOAT64, "params", 3))) {
        goto fail;
    }
    if (!(k = sy_as_1d(ko, NPY_INT64, "k", -1))) goto fail;
    npy_intp n = PyArray_DIM(k, 0);
    if (per_row && (PyArray_DIM(par, 0) != n || PyArray_DIM(par, 1) != 3)) {
        PyErr_SetString(PyExc_ValueError, "simulate_amounts: params must have shape (3,) or (n, 3)");
        goto fail;
    }
    if (!(offset = sy_new_1d(n, NPY_INT64))) goto fail;
    int64_t total = 0;
    {
        const int64_t *kk = (const int64_t *)PyArray_DATA(k);
        int64_t *o = (int64_t *)PyArray_DATA(offset);
        for (npy_intp i = 0; i < n; i++) {
            if (kk[i] < 0 || kk[i] > INT64_MAX - total) {
                PyErr_SetString(PyExc_ValueError, "simulate_amounts: counts must be >= 0");
                goto fail;
            }
            o[i] = total;
            total += kk[i];
        }
    }
    if (!(out = sy_new_1d((npy_intp)total, NPY_FLOAT64))) goto fail;
    SY_NOGIL_BEGIN
    st = sy_simulate_amounts_ex((const double *)PyArray_DATA(par), per_row, (int64_t)n,
                             (const int64_t *)PyArray_DATA(k), (const int64_t *)PyArray_DATA(offset),
                             (uint64_t)seed, (double *)PyArray_DATA(out));
    SY_NOGIL_END
    if (st != SY_OK) {
        sy_raise(st, "simulate_amounts");
        goto fail;
    }
    Py_DECREF(par);
    Py_DECREF(k);
    Py_DECREF(offset);
    return (PyObject *)out;
fail:
    Py_XDECREF(par);
    Py_XDECREF(k);
    Py_XDECREF(offset);
    Py_XDECREF(out);
    return NULL;
}

/* ---- fits with options and static covariates -------------------------------------- */

static int py_progress(void *ctx, int iter, double wf, double gnorm)
{
    PyGILState_STATE gs = PyGILState_Ensure();
    PyObject *r = PyObject_CallFunction((PyObject *)ctx, "idd", iter, -wf, gnorm);
    int stop = r == NULL;
    Py_XDECREF(r);
    PyGILState_Release(gs);
    return stop;
}

/* Coerce an optional covariate block: None, or a C-contiguous 2-d (k, n) float64 array
   (one row per covariate, i.e. column-major n x k). */
static int sy_cov_block(PyObject *o, npy_intp n, const char *name, PyArrayObject **out, int *k)
{
    *k = 0;
    if (o == Py_None) return 0;
    *out = (PyArrayObject *)PyArray_FROM_OTF(o, NPY_FLOAT64, NPY_ARRAY_IN_ARRAY);
    if (!*out) return -1;
    if (PyArray_NDIM(*out) != 2 || PyArray_DIM(*out, 1) != n || PyArray_DIM(*out, 0) > SY_FIT_MAXPAR) {
        PyErr_Format(PyExc_ValueError, "%s must have shape (k, %zd) with k <= %d", name, (Py_ssize_t)n,
                     SY_FIT_MAXPAR);
        return -1;
    }
    *k = (int)PyArray_DIM(*out, 0);
    const double *z = (const double *)PyArray_DATA(*out);
    for (npy_intp i = 0; i < PyArray_SIZE(*out); i++)
        if (!isfinite(z[i])) {
            PyErr_Format(PyExc_ValueError, "%s contains NaN or inf", name);
            return -1;
        }
    return 0;
}

static int sy_cov_index(PyObject *o, int k, int ng, const char *name, PyArrayObject **out)
{
    if (k == 0) return 0;
    *out = (PyArrayObject *)PyArray_FROM_OTF(o, NPY_INT32, NPY_ARRAY_IN_ARRAY | NPY_ARRAY_FORCECAST);
    if (!*out) return -1;
    if (PyArray_NDIM(*out) != 1 || PyArray_DIM(*out, 0) != k) {
        PyErr_Format(PyExc_ValueError, "%s must hold %d effect indices", name, k);
        return -1;
    }
    const int *ix = (const int *)PyArray_DATA(*out);
    for (int j = 0; j < k; j++)
        if (ix[j] < 0 || ix[j] >= ng) {
            PyErr_Format(PyExc_ValueError, "%s: effect index out of range 0..%d", name, ng - 1);
            return -1;
        }
    return 0;
}

static int sy_cov_nbase(int model)
{
    if (model == SY_MODEL_PARETO || model == SY_MODEL_BGNBD) return 4;
    if (model == SY_MODEL_GG) return 3;
    return 0;
}

/* model_loglik_cov(model, theta, c0, c1, c2, w, zp, zd, ip, id, ng[, hessian]) -> (loglik,
   grad wrt theta), or (loglik, grad, Hessian k x k) when hessian is true */
static PyObject *py_model_loglik_cov(PyObject *self, PyObject *args)
{
    (void)self;
    int model, ng, st, kp = 0, kd = 0;
    PyObject *to, *o0, *o1, *o2, *ow, *ozp, *ozd, *oip, *oid;
    PyArrayObject *th = NULL, *a0 = NULL, *a1 = NULL, *a2 = NULL, *aw = NULL, *zp = NULL, *zd = NULL;
    PyArrayObject *ip = NULL, *id = NULL, *grad = NULL, *hess = NULL;
    sy_mdata d;
    double ll = 0.0;
    int want_hess = 0;
    if (!PyArg_ParseTuple(args, "iOOOOOOOOOi|p", &model, &to, &o0, &o1, &o2, &ow, &ozp, &ozd, &oip,
                          &oid, &ng, &want_hess))
        return NULL;
    const int nb = sy_cov_nbase(model);
    if (nb == 0 || ng < 0 || nb + ng > SY_FIT_MAXPAR) {
        PyErr_SetString(PyExc_ValueError, "model_loglik_cov: model must be BG/NBD, Pareto/NBD or "
                                          "Gamma-Gamma with at most 60 effects");
        return NULL;
    }
    if (!(th = sy_as_1d(to, NPY_FLOAT64, "theta", nb + ng))) goto fail;
    if (sy_model_data(o0, o1, o2, ow, &a0, &a1, &a2, &aw, &d)) goto fail;
    if (model != SY_MODEL_GG && !a2) {
        PyErr_SetString(PyExc_ValueError, "model_loglik_cov: this model needs three data columns");
        goto fail;
    }
    if (sy_cov_block(ozp, (npy_intp)d.n, "zp", &zp, &kp) || sy_cov_block(ozd, (npy_intp)d.n, "zd", &zd, &kd))
        goto fail;
    if (sy_cov_index(oip, kp, ng, "ip", &ip) || sy_cov_index(oid, kd, ng, "id", &id)) goto fail;
    if (model == SY_MODEL_GG && kd) {
        PyErr_SetString(PyExc_ValueError, "model_loglik_cov: Gamma-Gamma takes one covariate block");
        goto fail;
    }
    if (!(grad = sy_new_1d(nb + ng, NPY_FLOAT64))) goto fail;
    if (want_hess && !(hess = sy_new_1d((npy_intp)(nb + ng) * (nb + ng), NPY_FLOAT64))) goto fail;
    {
        sy_covspec cs = {kp, kd, ng, zp ? SY_F64(zp) : NULL, zd ? SY_F64(zd) : NULL,
                         ip ? (const int *)PyArray_DATA(ip) : NULL, id ? (const int *)PyArray_DATA(id) : NULL};
        SY_NOGIL_BEGIN
        st = sy_cov_loglik(model, SY_F64(th), &d, &cs, &ll, SY_F64(grad), hess ? SY_F64(hess) : NULL);
        SY_NOGIL_END
    }
    if (st != SY_OK) {
        sy_raise(st, "model_loglik_cov");
        goto fail;
    }
    Py_DECREF(th);
    Py_DECREF(a0);
    Py_DECREF(a1);
    Py_XDECREF(a2);
    Py_XDECREF(aw);
    Py_XDECREF(zp);
    Py_XDECREF(zd);
    Py_XDECREF(ip);
    Py_XDECREF(id);
    if (hess) return Py_BuildValue("(dNN)", ll, grad, hess);
    return Py_BuildValue("(dN)", ll, grad);
fail:
    Py_XDECREF(th);
    Py_XDECREF(a0);
    Py_XDECREF(a1);
    Py_XDECREF(a2);
    Py_XDECREF(aw);
    Py_XDECREF(zp);
    Py_XDECREF(zd);
    Py_XDECREF(ip);
    Py_XDECREF(id);
    Py_XDECREF(grad);
    Py_XDECREF(hess);
    return NULL;
}

/* model_fit_ex(model, c0, c1, c2, w, zp, zd, ip, id, ng, starts, penalizer, pen_kind, shift,
                maxiter, gtol, boundary, progress) -> dict
   zp/zd None for a fit without covariates (any model); shift None or one value per base
   parameter; progress None or a callable (iteration, loglik, gradient norm). */
static PyObject *py_model_fit_ex(PyObject *self, PyObject *args)
{
    (void)self;
    int model, ng, pen_kind, maxiter, boundary, st, kp = 0, kd = 0;
    double pen, gtol;
    PyObject *o0, *o1, *o2, *ow, *ozp, *ozd, *oip, *oid, *so, *osh, *prog;
    PyArrayObject *a0 = NULL, *a1 = NULL, *a2 = NULL, *aw = NULL, *zp = NULL, *zd = NULL;
    PyArrayObject *ip = NULL, *id = NULL, *starts = NULL, *shift = NULL, *lp = NULL, *hess = NULL;
    PyArrayObject *bfl = NULL;
    sy_mdata d;
    sy_fit_result res;
    int no_hess = 0, warm = 0;
    if (!PyArg_ParseTuple(args, "iOOOOOOOOiOdiOidiO|pp", &model, &o0, &o1, &o2, &ow, &ozp, &ozd,
                          &oip, &oid, &ng, &so, &pen, &pen_kind, &osh, &maxiter, &gtol, &boundary,
                          &prog, &no_hess, &warm))
        return NULL;
    if (sy_model_check(model)) return NULL;
    if (!(pen >= 0.0) || !isfinite(pen) || maxiter < 1 || !(gtol > 0.0) ||
        (pen_kind != SY_PEN_LOG && pen_kind != SY_PEN_PARAMS)) {
        PyErr_SetString(PyExc_ValueError, "model_fit_ex: penalizer must be >= 0, maxiter >= 1, "
                                          "gtol > 0 and pen_kind 0 or 1");
        return NULL;
    }
    if (prog != Py_None && !PyCallable_Check(prog)) {
        PyErr_SetString(PyExc_TypeError, "model_fit_ex: progress must be None or callable");
        return NULL;
    }
    const int cov = ozp != Py_None || ozd != Py_None;
    const int nb = sy_models_npar(model);
    if (cov && (sy_cov_nbase(model) == 0 || ng < 0 || nb + ng > SY_FIT_MAXPAR)) {
        PyErr_SetString(PyExc_ValueError, "model_fit_ex: covariates need BG/NBD, Pareto/NBD or "
                                          "Gamma-Gamma and at most 60 effects");
        return NULL;
    }
    if (!cov) ng = 0;
    const int k = nb + ng;
    if (sy_model_data(o0, o1, o2, ow, &a0, &a1, &a2, &aw, &d)) goto fail;
    if (d.n < 1) {
        PyErr_SetString(PyExc_ValueError, "model_fit: no rows to fit");
        goto fail;
    }
    if (cov) {
        if (sy_cov_block(ozp, (npy_intp)d.n, "zp", &zp, &kp) ||
            sy_cov_block(ozd, (npy_intp)d.n, "zd", &zd, &kd))
            goto fail;
        if (sy_cov_index(oip, kp, ng, "ip", &ip) || sy_cov_index(oid, kd, ng, "id", &id)) goto fail;
        if (model != SY_MODEL_GG && !a2) {
            PyErr_SetString(PyExc_ValueError, "model_fit_ex: this model needs three data columns");
            goto fail;
        }
    }
    if (!(starts = sy_as_1d(so, NPY_FLOAT64, "starts", -1))) goto fail;
    npy_intp ns = PyArray_DIM(starts, 0);
    if (ns < k || ns % k != 0) {
        PyErr_Format(PyExc_ValueError, "model_fit: starts must hold a multiple of %d values", k);
        goto fail;
    }
    if (osh != Py_None) {
        if (!(shift = sy_as_1d(osh, NPY_FLOAT64, "shift", nb))) goto fail;
        for (int j = 0; j < nb; j++)
            if (!(SY_F64(shift)[j] >= 0.0) || !isfinite(SY_F64(shift)[j])) {
                PyErr_SetString(PyExc_ValueError, "model_fit_ex: shift must be finite and >= 0");
                goto fail;
            }
    }
    if (!(lp = sy_new_1d(k, NPY_FLOAT64)) || !(hess = sy_new_1d((npy_intp)k * k, NPY_FLOAT64)) ||
        !(bfl = sy_new_1d(k, NPY_INT64)))
        goto fail;
    {
        sy_fit_opts opts = {pen, maxiter, gtol, pen_kind, shift ? SY_F64(shift) : NULL, boundary != 0,
                            prog != Py_None ? py_progress : NULL, prog != Py_None ? (void *)prog : NULL,
                            no_hess, warm};
        const double *sp = SY_F64(starts);
        int nstart = (int)(ns / k);
        sy_covspec cs = {kp, kd, ng, zp ? SY_F64(zp) : NULL, zd ? SY_F64(zd) : NULL,
                         ip ? (const int *)PyArray_DATA(ip) : NULL, id ? (const int *)PyArray_DATA(id) : NULL};
        SY_NOGIL_BEGIN
        if (cov)
            st = sy_cov_fit(model, &d, &cs, sp, nstart, &opts, &res, SY_F64(hess));
        else
            st = sy_models_fit(model, &d, sp, nstart, &opts, &res);
        SY_NOGIL_END
    }
    if (st != SY_OK) {
        fit_failed(st);
        goto fail;
    }
    memcpy(PyArray_DATA(lp), res.logp, (size_t)k * sizeof(double));
    if (!cov) memcpy(PyArray_DATA(hess), res.hess, (size_t)k * k * sizeof(double));
    for (int j = 0; j < k; j++) SY_I64(bfl)[j] = res.bflag[j];
    Py_DECREF(a0);
    Py_DECREF(a1);
    Py_XDECREF(a2);
    Py_XDECREF(aw);
    Py_XDECREF(zp);
    Py_XDECREF(zd);
    Py_XDECREF(ip);
    Py_XDECREF(id);
    Py_DECREF(starts);
    Py_XDECREF(shift);
    return Py_BuildValue("{s:N,s:d,s:d,s:N,s:i,s:i,s:i,s:L,s:i,s:N,s:i,s:d}", "theta", lp, "loglik",
                         res.loglik, "objective", res.objective, "hessian", hess, "n_iter", res.n_iter,
                         "converged", res.converged, "start_used", res.start_used, "n_unique",
                         (long long)res.n_unique, "at_boundary", res.at_boundary, "boundary_flags", bfl,
                         "n_total_iter", res.n_total_iter, "gnorm", res.gnorm);
fail:
    Py_XDECREF(a0);
    Py_XDECREF(a1);
    Py_XDECREF(a2);
    Py_XDECREF(aw);
    Py_XDECREF(zp);
    Py_XDECREF(zd);
    Py_XDECREF(ip);
    Py_XDECREF(id);
    Py_XDECREF(starts);
    Py_XDECREF(shift);
    Py_XDECREF(lp);
    Py_XDECREF(hess);
    Py_XDECREF(bfl);
    return NULL;
}

/* sym_eigen(a) -> (w, V) for a symmetric (k, k) float64 matrix, k <= 64: as
   numpy.linalg.eigh, without LAPACK (see sy_sym_eigen). */
static PyObject *py_sym_eigen(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *obj;
    PyArrayObject *a = NULL, *w = NULL, *V = NULL;
    if (!PyArg_ParseTuple(args, "O", &obj)) return NULL;
    a = (PyArrayObject *)PyArray_FROM_OTF(obj, NPY_FLOAT64, NPY_ARRAY_IN_ARRAY);
    if (!a) return NULL;
    if (PyArray_NDIM(a) != 2 || PyArray_DIM(a, 0) != PyArray_DIM(a, 1) || PyArray_DIM(a, 0) < 1 ||
        PyArray_DIM(a, 0) > SY_FIT_MAXPAR) {
        PyErr_Format(PyExc_ValueError, "sym_eigen: a square matrix of size 1 to %d expected",
                     SY_FIT_MAXPAR);
        Py_DECREF(a);
        return NULL;
    }
    const int k = (int)PyArray_DIM(a, 0);
    npy_intp dims[2] = {k, k};
    w = sy_new_1d(k, NPY_FLOAT64);
    V = (PyArrayObject *)PyArray_SimpleNew(2, dims, NPY_FLOAT64);
    int st = SY_EINVAL;
    if (w && V) {
        SY_NOGIL_BEGIN
        st = sy_sym_eigen(k, (const double *)PyArray_DATA(a), (double *)PyArray_DATA(w),
                          (double *)PyArray_DATA(V));
        SY_NOGIL_END
    }
    Py_DECREF(a);
    if (!w || !V || st != SY_OK) {
        if (w && V) {
            if (st == SY_ENAN)
                PyErr_SetString(PyExc_ValueError, "sym_eigen: the matrix holds NaN or inf");
            else
                sy_raise(st, "sym_eigen");
        }
        Py_XDECREF(w);
        Py_XDECREF(V);
        return NULL;
    }
    return Py_BuildValue("(NN)", (PyObject *)w, (PyObject *)V);
}

/* collapse_rows((col, ...), w) -> (u, weights): the distinct rows of 1 to 16 float64
   columns (first-seen order; -0.0 equals 0.0, a NaN row is never equal to another) as u
   (k x m) and the summed weights (w None: 1 per row). */
static PyObject *py_collapse_rows(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *seq, *ow, *res = NULL;
    PyArrayObject *cols[16] = {NULL}, *w = NULL, *buf = NULL, *ubuf = NULL, *u = NULL, *uw = NULL;
    int k = 0, st;
    if (!PyArg_ParseTuple(args, "O!O", &PyTuple_Type, &seq, &ow)) return NULL;
    const Py_ssize_t nc = PyTuple_GET_SIZE(seq);
    if (nc < 1 || nc > 16) {
        PyErr_SetString(PyExc_ValueError, "collapse_rows: 1 to 16 columns");
        return NULL;
    }
    npy_intp n = -1;
    for (k = 0; k < (int)nc; k++) {
        if (!(cols[k] = sy_as_1d(PyTuple_GET_ITEM(seq, k), NPY_FLOAT64, "column", n))) goto fail;
        n = PyArray_DIM(cols[k], 0);
    }
    if (ow != Py_None && !(w = sy_as_1d(ow, NPY_FLOAT64, "w", n))) goto fail;
    {
        npy_intp dims[2] = {(npy_intp)k, n};
        if (!(buf = (PyArrayObject *)PyArray_SimpleNew(2, dims, NPY_FLOAT64))) goto fail;
        if (!(ubuf = sy_new_1d(n, NPY_FLOAT64))) goto fail;
        const double *cp[16];
        double *up[16];
        for (int j = 0; j < k; j++) {
            cp[j] = SY_F64(cols[j]);
            up[j] = SY_F64(buf) + (size_t)j * (size_t)n;
        }
        int64_t m = 0;
        SY_NOGIL_BEGIN
        st = sy_dedup(cp, k, w ? SY_F64(w) : NULL, (int64_t)n, up, SY_F64(ubuf), NULL, &m);
        SY_NOGIL_END
        if (st != SY_OK) {
            sy_raise(st, "collapse_rows");
            goto fail;
        }
        npy_intp od[2] = {(npy_intp)k, (npy_intp)m};
        if (!(u = (PyArrayObject *)PyArray_SimpleNew(2, od, NPY_FLOAT64)) ||
            !(uw = sy_new_1d((npy_intp)m, NPY_FLOAT64)))
            goto fail;
        for (int j = 0; j < k; j++)
            memcpy(SY_F64(u) + (size_t)j * (size_t)m, up[j], (size_t)m * sizeof(double));
        memcpy(SY_F64(uw), SY_F64(ubuf), (size_t)m * sizeof(double));
    }
    res = Py_BuildValue("(OO)", u, uw);
fail:
    for (int j = 0; j < 16; j++) Py_XDECREF(cols[j]);
    Py_XDECREF(w);
    Py_XDECREF(buf);
    Py_XDECREF(ubuf);
    Py_XDECREF(u);
    Py_XDECREF(uw);
    return res;
}

PyMethodDef sy_model_methods[] = {
    {"collapse_rows", py_collapse_rows, METH_VARARGS,
     "collapse_rows((col, ...), w) -> (u (k x m), weights): distinct rows and summed weights"},
    {"model_loglik", py_model_loglik, METH_VARARGS,
     "model_loglik(model, params, c0, c1, c2, w) -> (loglik, gradient)"},
    {"model_fit", py_model_fit, METH_VARARGS,
     "model_fit(model, c0, c1, c2, w, starts, penalizer, maxiter, gtol) -> fit tuple"},
    {"model_loglik_cov", py_model_loglik_cov, METH_VARARGS,
     "model_loglik_cov(model, theta, c0, c1, c2, w, zp, zd, ip, id, ng[, hessian]) -> (loglik, gradient[, hessian])"},
    {"model_fit_ex", py_model_fit_ex, METH_VARARGS,
     "model_fit_ex(model, c0, c1, c2, w, zp, zd, ip, id, ng, starts, penalizer, pen_kind, shift, "
     "maxiter, gtol, boundary, progress) -> dict"},
    {"model_predict", py_model_predict, METH_VARARGS,
     "model_predict(model, what, params, cols) -> float64 array"},
    {"simulate_purchases", py_simulate_purchases, METH_VARARGS,
     "simulate_purchases(model, params, T, seed) -> (count, times, tx)"},
    {"simulate_amounts", py_simulate_amounts, METH_VARARGS,
     "simulate_amounts(pqg, k, seed) -> amounts"},
    {"sym_eigen", py_sym_eigen, METH_VARARGS,
     "sym_eigen(a) -> (w ascending, V with eigenvectors as columns), symmetric a, k <= 64"},
    {NULL, NULL, 0, NULL},
};
