/*
 * py_trust.c -- glue of the model diagnostics and intervals: predictions with more input
 * columns or per-customer parameters, per-customer log-likelihoods, bootstrap refits and
 * means, the BG/BB simulator and the tracking counts.
 *
 * Glue only: parse -> coerce -> check -> allocate -> run the kernel without the GIL
 * (SY_NOGIL_BEGIN/END, Ctrl-C polled) -> map status to exception.
 */
#include "py_glue.h"

#include "sy_models.h"

static int trust_check_model(int model)
{
    if (sy_models_npar(model) == 0) {
        PyErr_Format(PyExc_ValueError, "unknown model code %d", model);
        return -1;
    }
    return 0;
}

static PyObject *trust_raise(int st, const char *what)
{
    if (st == SY_ENOCONV) {
        PyErr_Format(sy_ConvergenceError,
                     "%s: a series or integral did not converge for these inputs (extreme "
                     "parameters or a very long horizon); refit with a penalizer or use a "
                     "shorter horizon", what);
        return NULL;
    }
    if (st == SY_ERANGE) {
        PyErr_Format(PyExc_ValueError,
                     "%s: a count or number of opportunities is beyond the supported range "
                     "(at most %.0f opportunities, %.0f purchases)", what, SY_MAX_OPPORTUNITIES,
                     SY_MAX_PMF_N);
        return NULL;
    }
    return sy_raise(st, what);
}

/* A C-contiguous float64 array with ndim 1 (length npar) or 2 (n x npar). */
static PyArrayObject *trust_params(PyObject *po, int npar, npy_intp n, int *per_row)
{
    PyArrayObject *a = (PyArrayObject *)PyArray_FROM_OTF(po, NPY_FLOAT64, NPY_ARRAY_IN_ARRAY);
    if (!a) return NULL;
    if (PyArray_NDIM(a) == 1 && PyArray_DIM(a, 0) == npar) {
        *per_row = 0;
        return a;
    }
    if (PyArray_NDIM(a) == 2 && PyArray_DIM(a, 1) == npar && PyArray_DIM(a, 0) == n) {
        *per_row = 1;
        return a;
    }
    PyErr_Format(PyExc_ValueError, "params must have shape (%d,) or (%zd, %d)", npar,
                 (Py_ssize_t)n, npar);
    Py_DECREF(a);
    return NULL;
}

/* The prediction columns of `tup` for (model, what): their count checked against what
   the prediction reads, each a float64 array of one length.  Returns the length, or -1
   with the exception set (arrays already taken stay in cols[] for the caller to free). */
static npy_intp trust_columns(const char *fn, int model, int what, PyObject *tup,
                              PyArrayObject **cols, const double **cp, Py_ssize_t *nc_out)
{
    Py_ssize_t nc = PyTuple_GET_SIZE(tup);
    if (nc < 1 || nc > SY_PRED_MAXCOLS) {
        PyErr_Format(PyExc_ValueError, "%s: 1 to %d input columns expected", fn,
                     SY_PRED_MAXCOLS);
        return -1;
    }
    if (nc != sy_models_pred_ncols(model, what)) {
        PyErr_Format(PyExc_ValueError, "%s: prediction code %d of model code %d takes %d "
                     "input column(s), got %d", fn, what, model,
                     sy_models_pred_ncols(model, what), (int)nc);
        return -1;
    }
    npy_intp n = -1;
    for (Py_ssize_t j = 0; j < nc; j++) {
        if (!(cols[j] = sy_as_1d(PyTuple_GET_ITEM(tup, j), NPY_FLOAT64, "prediction input", n)))
            return -1;
        n = PyArray_DIM(cols[j], 0);
        cp[j] = SY_F64(cols[j]);
    }
    *nc_out = nc;
    return n;
}

/* trust_predict(model, what, params, (col0, ...)) -> float64 array.  params is (npar,) or
   (n, npar): one parameter vector per row. */
static PyObject *py_trust_predict(PyObject *self, PyObject *args)
{
    (void)self;
    int model, what, st = SY_OK, per_row = 0;
    PyObject *po, *tup;
    PyArrayObject *par = NULL, *out = NULL;
    PyArrayObject *cols[SY_PRED_MAXCOLS] = {NULL};
    const double *cp[SY_PRED_MAXCOLS] = {NULL};
    if (!PyArg_ParseTuple(args, "iiOO!", &model, &what, &po, &PyTuple_Type, &tup)) return NULL;
    if (trust_check_model(model)) return NULL;
    Py_ssize_t nc = 0;
    npy_intp n = trust_columns("trust_predict", model, what, tup, cols, cp, &nc);
    if (n < 0) goto fail;
    const int k = sy_models_npar(model);
    if (!(par = trust_params(po, k, n, &per_row))) goto fail;
    if (!(out = sy_new_1d(n, NPY_FLOAT64))) goto fail;
    {
        const double *pp = SY_F64(par);
        double *o = SY_F64(out);
        SY_NOGIL_BEGIN
        st = sy_models_predict_many(model, what, pp, per_row, (int64_t)n, cp, (int)nc, o);
        SY_NOGIL_END
    }
    if (st != SY_OK) {
        trust_raise(st, "prediction");
        goto fail;
    }
    Py_DECREF(par);
    for (int j = 0; j < SY_PRED_MAXCOLS; j++) Py_XDECREF(cols[j]);
    return (PyObject *)out;
fail:
    Py_XDECREF(par);
    for (int j = 0; j < SY_PRED_MAXCOLS; j++) Py_XDECREF(cols[j]);
    Py_XDECREF(out);
    return NULL;
}

/* trust_predict_draws(model, what, params (B, npar), (col0, ...)) -> (out (B, n), ok int8 (B)) */
static PyObject *py_trust_predict_draws(PyObject *self, PyObject *args)
{
    (void)self;
    int model, what, st;
    PyObject *po, *tup;
    PyArrayObject *par = NULL, *out = NULL, *ok = NULL;
    PyArrayObject *cols[SY_PRED_MAXCOLS] = {NULL};
    const double *cp[SY_PRED_MAXCOLS] = {NULL};
    if (!PyArg_ParseTuple(args, "iiOO!", &model, &what, &po, &PyTuple_Type, &tup)) return NULL;
    if (trust_check_model(model)) return NULL;
    Py_ssize_t nc = 0;
    npy_intp n = trust_columns("trust_predict_draws", model, what, tup, cols, cp, &nc);
    if (n < 0) goto fail;
    const int k = sy_models_npar(model);
    par = (PyArrayObject *)PyArray_FROM_OTF(po, NPY_FLOAT64, NPY_ARRAY_IN_ARRAY);
    if (!par) goto fail;
    if (PyArray_NDIM(par) != 2 || PyArray_DIM(par, 1) != k) {
        PyErr_Format(PyExc_ValueError, "params must have shape (n_draws, %d)", k);
        goto fail;
    }
    npy_intp B = PyArray_DIM(par, 0);
    int64_t tot;
    if (!sy_mul_ok((int64_t)B, (int64_t)n, &tot)) {
        PyErr_NoMemory();
        goto fail;
    }
    npy_intp dims[2] = {B, n};
    if (!(out = (PyArrayObject *)PyArray_EMPTY(2, dims, NPY_FLOAT64, 0))) goto fail;
    if (!(ok = sy_new_1d(B, NPY_INT8))) goto fail;
    {
        const double *pp = SY_F64(par);
        double *o = SY_F64(out);
        int8_t *okp = (int8_t *)PyArray_DATA(ok);
        SY_NOGIL_BEGIN
        st = sy_predict_draws(model, what, pp, (int64_t)B, (int64_t)n, cp, o, okp);
        SY_NOGIL_END
    }
    if (st != SY_OK) {
        trust_raise(st, "prediction");
        goto fail;
    }
    Py_DECREF(par);
    for (int j = 0; j < SY_PRED_MAXCOLS; j++) Py_XDECREF(cols[j]);
    return Py_BuildValue("(NN)", out, ok);
fail:
    Py_XDECREF(par);
    for (int j = 0; j < SY_PRED_MAXCOLS; j++) Py_XDECREF(cols[j]);
    Py_XDECREF(out);
    Py_XDECREF(ok);
    return NULL;
}

/* Coerce two or three data columns (c2 may be None) and optional weights. */
static int trust_data(PyObject *o0, PyObject *o1, PyObject *o2, PyObject *ow, PyArrayObject **a0,
                      PyArrayObject **a1, PyArrayObject **a2, PyArrayObject **aw, sy_mdata *d)
{
    if (!(*a0 = sy_as_1d(o0, NPY_FLOAT64, "c0", -1))) return -1;
    npy_intp n = PyArray_DIM(*a0, 0);
    if (!(*a1 = sy_as_1d(o1, NPY_FLOAT64, "c1", n))) return -1;
    if (o2 != Py_None && !(*a2 = sy_as_1d(o2, NPY_FLOAT64, "c2", n))) return -1;
    if (ow != Py_None && !(*aw = sy_as_1d(ow, NPY_FLOAT64, "weights", n))) return -1;
    memset(d, 0, sizeof *d);
    d->n = (int64_t)n;
    d->c0 = SY_F64(*a0);
    d->c1 = SY_F64(*a1);
    d->c2 = SY_OPT_F64(*a2);
    d->w = SY_OPT_F64(*aw);
    return 0;
}

static int trust_needs3(int model)
{
    return model == SY_MODEL_BGNBD || model == SY_MODEL_MBGNBD || model == SY_MODEL_PARETO ||
           model == SY_MODEL_BGBB;
}

/* trust_loglik_rows(model, params, c0, c1, c2) -> per-row log-likelihood */
static PyObject *py_trust_loglik_rows(PyObject *self, PyObject *args)
{
    (void)self;
    int model, st;
    PyObject *po, *o0, *o1, *o2;
    PyArrayObject *par = NULL, *a0 = NULL, *a1 = NULL, *a2 = NULL, *aw = NULL, *out = NULL;
    sy_mdata d;
    if (!PyArg_ParseTuple(args, "iOOOO", &model, &po, &o0, &o1, &o2)) return NULL;
    if (trust_check_model(model)) return NULL;
    if (!(par = sy_as_1d(po, NPY_FLOAT64, "params", sy_models_npar(model)))) goto fail;
    if (trust_data(o0, o1, o2, Py_None, &a0, &a1, &a2, &aw, &d)) goto fail;
    if (trust_needs3(model) && !a2) {
        PyErr_SetString(PyExc_ValueError, "trust_loglik_rows: this model needs three data columns");
        goto fail;
    }
    if (!(out = sy_new_1d((npy_intp)d.n, NPY_FLOAT64))) goto fail;
    {
        const double *pp = SY_F64(par);
        double *o = SY_F64(out);
        SY_NOGIL_BEGIN
        st = sy_models_loglik_rows(model, pp, &d, o);
        SY_NOGIL_END
    }
    if (st != SY_OK) {
        trust_raise(st, "loglik");
        goto fail;
    }
    Py_DECREF(par);
    Py_DECREF(a0);
    Py_DECREF(a1);
    Py_XDECREF(a2);
    return (PyObject *)out;
fail:
    Py_XDECREF(par);
    Py_XDECREF(a0);
    Py_XDECREF(a1);
    Py_XDECREF(a2);
    Py_XDECREF(aw);
    Py_XDECREF(out);
    return NULL;
}

/* trust_bootstrap(model, c0, c1, c2, w, starts, hinv0 or None, penalizer, pen_kind, maxiter,
                   gtol, n_boot, seed, return_counts)
   -> (logp (n_boot*k), loglik, status int8, n_iter int32, unique rows tuple or None,
       counts (n_boot*m) or None, m) */
static PyObject *py_trust_bootstrap(PyObject *self, PyObject *args)
{
    (void)self;
    int model, pen_kind, maxiter, ret_counts, st;
    double pen, gtol;
    long long n_boot_ll;
    unsigned long long seed;
    PyObject *o0, *o1, *o2, *ow, *so, *ho;
    PyArrayObject *a0 = NULL, *a1 = NULL, *a2 = NULL, *aw = NULL, *starts = NULL, *hinv = NULL;
    PyArrayObject *logp = NULL, *ll = NULL, *stat = NULL, *nit = NULL, *counts = NULL;
    PyArrayObject *u[3] = {NULL, NULL, NULL};
    sy_mdata d;
    if (!PyArg_ParseTuple(args, "iOOOOOOdiidLKp", &model, &o0, &o1, &o2, &ow, &so, &ho, &pen,
                          &pen_kind, &maxiter, &gtol, &n_boot_ll, &seed, &ret_counts))
        return NULL;
    if (trust_check_model(model)) return NULL;
    const int k = sy_models_npar(model);
    if (n_boot_ll < 1 || n_boot_ll > 1000000) {
        PyErr_SetString(PyExc_ValueError, "n_boot must be between 1 and 1000000");
        return NULL;
    }
    if (!(pen >= 0.0) || maxiter < 1 || !(gtol > 0.0) || (pen_kind != 0 && pen_kind != 1)) {
        PyErr_SetString(PyExc_ValueError, "bootstrap: penalizer must be >= 0, maxiter >= 1, "
                                          "gtol > 0 and pen_kind 0 or 1");
        return NULL;
    }
    const npy_intp n_boot = (npy_intp)n_boot_ll;
    if (trust_data(o0, o1, o2, ow, &a0, &a1, &a2, &aw, &d)) goto fail;
    if (d.n < 1) {
        PyErr_SetString(PyExc_ValueError, "bootstrap: no rows");
        goto fail;
    }
    if (trust_needs3(model) && !a2) {
        PyErr_SetString(PyExc_ValueError, "bootstrap: this model needs three data columns");
        goto fail;
    }
    if (!(starts = sy_as_1d(so, NPY_FLOAT64, "starts", -1))) goto fail;
    npy_intp ns = PyArray_DIM(starts, 0);
    if (ns < k || ns % k != 0 || ns / k > 1000) {
        PyErr_Format(PyExc_ValueError, "bootstrap: starts must hold 1 to 1000 rows of %d values", k);
        goto fail;
    }
    if (ho != Py_None) {
        if (!(hinv = sy_as_1d(ho, NPY_FLOAT64, "hinv0", (npy_intp)k * k))) goto fail;
        const double *hp = SY_F64(hinv);
        for (int i = 0; i < k * k; i++)
            if (!isfinite(hp[i])) {
                PyErr_SetString(PyExc_ValueError, "bootstrap: hinv0 must be finite");
                goto fail;
            }
    }
    int64_t tot;
    if (!sy_mul_ok((int64_t)n_boot, k, &tot)) {
        PyErr_NoMemory();
        goto fail;
    }
    if (!(logp = sy_new_1d((npy_intp)tot, NPY_FLOAT64)) || !(ll = sy_new_1d(n_boot, NPY_FLOAT64)) ||
        !(stat = sy_new_1d(n_boot, NPY_INT8)) || !(nit = sy_new_1d(n_boot, NPY_INT32)))
        goto fail;
    const int ncol = a2 ? 3 : 2;
    if (ret_counts) {
        int64_t tc;
        if (!sy_mul_ok((int64_t)n_boot, d.n, &tc)) {
            PyErr_NoMemory();
            goto fail;
        }
        if (!(counts = sy_new_1d((npy_intp)tc, NPY_FLOAT64))) goto fail;
        for (int c = 0; c < ncol; c++)
            if (!(u[c] = sy_new_1d((npy_intp)d.n, NPY_FLOAT64))) goto fail;
    }
    int64_t m = 0;
    {
        double *ucp[3] = {u[0] ? SY_F64(u[0]) : NULL, u[1] ? SY_F64(u[1]) : NULL,
                          u[2] ? SY_F64(u[2]) : NULL};
        const double *sp = SY_F64(starts);
        int nstart = (int)(ns / k);
        double *cnt = counts ? SY_F64(counts) : NULL;
        SY_NOGIL_BEGIN
        const double *hp = hinv ? SY_F64(hinv) : NULL;
        st = sy_bootstrap_fit(model, &d, sp, nstart, hp, pen, pen_kind, maxiter, gtol, (int64_t)n_boot,
                              (uint64_t)seed, SY_F64(logp), SY_F64(ll), (int8_t *)PyArray_DATA(stat),
                              (int32_t *)PyArray_DATA(nit), cnt, ret_counts ? ucp : NULL, &m);
        SY_NOGIL_END
    }
    if (st != SY_OK) {
        if (st == SY_EINVAL)
            PyErr_SetString(PyExc_ValueError,
                            "bootstrap: the weights must be whole numbers >= 0 (counts of "
                            "customers) with a positive total");
        else if (st == SY_ERANGE)
            PyErr_Format(PyExc_ValueError,
                         "bootstrap: the weights add up to more than %.0f customers; a "
                         "bootstrap resamples every customer, so weights must be counts of "
                         "customers (use method='asymptotic' otherwise)", SY_BOOT_MAX_CUSTOMERS);
        else
            trust_raise(st, "bootstrap");
        goto fail;
    }
    Py_DECREF(a0);
    Py_DECREF(a1);
    Py_XDECREF(a2);
    Py_XDECREF(aw);
    Py_DECREF(starts);
    Py_XDECREF(hinv);
    PyObject *urows = Py_None, *cnts = Py_None;
    if (ret_counts) {
        /* keep the first m values (the unique rows) and the n_boot x m counts */
        PyObject *tu = PyTuple_New(ncol);
        if (!tu) goto fail_out;
        for (int c = 0; c < ncol; c++) {
            PyObject *sl = PySequence_GetSlice((PyObject *)u[c], 0, (Py_ssize_t)m);
            if (!sl) {
                Py_DECREF(tu);
                goto fail_out;
            }
            PyTuple_SET_ITEM(tu, c, sl);
        }
        urows = tu;
        PyObject *slc = PySequence_GetSlice((PyObject *)counts, 0, (Py_ssize_t)(n_boot * m));
        if (!slc) {
            Py_DECREF(tu);
            goto fail_out;
        }
        cnts = slc;
        for (int c = 0; c < 3; c++) Py_XDECREF(u[c]);
        Py_DECREF(counts);
    } else {
        Py_INCREF(Py_None);
        Py_INCREF(Py_None);
    }
    return Py_BuildValue("(NNNNNNL)", logp, ll, stat, nit, urows, cnts, (long long)m);
fail_out:
    for (int c = 0; c < 3; c++) Py_XDECREF(u[c]);
    Py_XDECREF(counts);
    Py_XDECREF(logp);
    Py_XDECREF(ll);
    Py_XDECREF(stat);
    Py_XDECREF(nit);
    return NULL;
fail:
    Py_XDECREF(a0);
    Py_XDECREF(a1);
    Py_XDECREF(a2);
    Py_XDECREF(aw);
    Py_XDECREF(starts);
    Py_XDECREF(hinv);
    Py_XDECREF(logp);
    Py_XDECREF(ll);
    Py_XDECREF(stat);
    Py_XDECREF(nit);
    Py_XDECREF(counts);
    for (int c = 0; c < 3; c++) Py_XDECREF(u[c]);
    return NULL;
}

/* trust_bootstrap_means(X (n, k) float64, n_boot, seed) -> (n_boot, k) float64 */
static PyObject *py_trust_bootstrap_means(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *xo;
    long long n_boot_ll;
    unsigned long long seed;
    PyArrayObject *X = NULL, *out = NULL;
    int st;
    if (!PyArg_ParseTuple(args, "OLK", &xo, &n_boot_ll, &seed)) return NULL;
    if (n_boot_ll < 1 || n_boot_ll > 1000000) {
        PyErr_SetString(PyExc_ValueError, "n_boot must be between 1 and 1000000");
        return NULL;
    }
    X = (PyArrayObject *)PyArray_FROM_OTF(xo, NPY_FLOAT64, NPY_ARRAY_IN_ARRAY);
    if (!X) return NULL;
    if (PyArray_NDIM(X) != 2 || PyArray_DIM(X, 0) < 1 || PyArray_DIM(X, 1) < 1 ||
        PyArray_DIM(X, 1) > 1000) {
        PyErr_SetString(PyExc_ValueError, "bootstrap_means: X must be a 2-d array with at least "
                                          "one row and 1 to 1000 columns");
        goto fail;
    }
    {
        const npy_intp n = PyArray_DIM(X, 0);
        const int k = (int)PyArray_DIM(X, 1);
        npy_intp dims[2] = {(npy_intp)n_boot_ll, (npy_intp)k};
        int64_t tot;
        if (!sy_mul_ok((int64_t)n_boot_ll, k, &tot)) {
            PyErr_NoMemory();
            goto fail;
        }
        if (!(out = (PyArrayObject *)PyArray_ZEROS(2, dims, NPY_FLOAT64, 0))) goto fail;
        const double *xp = SY_F64(X);
        double *op = SY_F64(out);
        SY_NOGIL_BEGIN
        st = sy_bootstrap_means(xp, (int64_t)n, k, (int64_t)n_boot_ll, (uint64_t)seed, op);
        SY_NOGIL_END
    }
    if (st != SY_OK) {
        trust_raise(st, "bootstrap_means");
        goto fail;
    }
    Py_DECREF(X);
    return (PyObject *)out;
fail:
    Py_XDECREF(X);
    Py_XDECREF(out);
    return NULL;
}

/* trust_bgbb_simulate(params, n_opp int64 array, n_star, seed) -> (x, tx, x_star, alive) */
static PyObject *py_trust_bgbb_simulate(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *po, *no;
    long long n_star;
    unsigned long long seed;
    PyArrayObject *par = NULL, *nopp = NULL, *x = NULL, *tx = NULL, *xs = NULL, *al = NULL;
    int st;
    if (!PyArg_ParseTuple(args, "OOLK", &po, &no, &n_star, &seed)) return NULL;
    if (!(par = sy_as_1d(po, NPY_FLOAT64, "params", 4))) goto fail;
    if (!(nopp = sy_as_1d(no, NPY_INT64, "n_periods", -1))) goto fail;
    npy_intp n = PyArray_DIM(nopp, 0);
    if (!(x = sy_new_1d(n, NPY_INT64)) || !(tx = sy_new_1d(n, NPY_INT64)) ||
        !(xs = sy_new_1d(n, NPY_INT64)) || !(al = sy_new_1d(n, NPY_INT8)))
        goto fail;
    {
        const double *pp = SY_F64(par);
        const int64_t *np_ = SY_I64(nopp);
        SY_NOGIL_BEGIN
        st = sy_bgbb_simulate(pp, (int64_t)n, np_, (int64_t)n_star, (uint64_t)seed, SY_I64(x),
                              SY_I64(tx), SY_I64(xs), (int8_t *)PyArray_DATA(al));
        SY_NOGIL_END
    }
    if (st != SY_OK) {
        if (st == SY_EINVAL)
            PyErr_Format(PyExc_ValueError, "simulate BG/BB: parameters must be > 0 and the numbers "
                                           "of opportunities between 0 and %.0f",
                         SY_MAX_OPPORTUNITIES);
        else
            trust_raise(st, "simulate BG/BB");
        goto fail;
    }
    Py_DECREF(par);
    Py_DECREF(nopp);
    return Py_BuildValue("(NNNN)", x, tx, xs, al);
fail:
    Py_XDECREF(par);
    Py_XDECREF(nopp);
    Py_XDECREF(x);
    Py_XDECREF(tx);
    Py_XDECREF(xs);
    Py_XDECREF(al);
    return NULL;
}

/* trust_tracking(day, amount or None, offsets, cal_day, bounds) -> (first_day, counts) */
static PyObject *py_trust_tracking(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *dobj, *aobj, *oobj, *bobj;
    long long cal_day;
    PyArrayObject *day = NULL, *amt = NULL, *off = NULL, *bnd = NULL, *first = NULL, *cnt = NULL;
    int st;
    if (!PyArg_ParseTuple(args, "OOOLO", &dobj, &aobj, &oobj, &cal_day, &bobj)) return NULL;
    if (!(day = sy_as_1d(dobj, NPY_INT64, "day", -1))) goto fail;
    npy_intp n = PyArray_DIM(day, 0);
    if (aobj != Py_None && !(amt = sy_as_1d(aobj, NPY_FLOAT64, "amount", n))) goto fail;
    if (!(off = sy_as_1d(oobj, NPY_INT64, "offsets", -1))) goto fail;
    if (!(bnd = sy_as_1d(bobj, NPY_INT64, "bounds", -1))) goto fail;
    npy_intp k1 = PyArray_DIM(off, 0), nb = PyArray_DIM(bnd, 0);
    if (k1 < 1 || SY_I64(off)[0] != 0 || SY_I64(off)[k1 - 1] != (int64_t)n || nb < 2) {
        PyErr_SetString(PyExc_ValueError, "tracking: offsets must run from 0 to the number of "
                                          "rows and bounds need at least two days");
        goto fail;
    }
    if (!(first = sy_new_1d(k1 - 1, NPY_INT64)) || !(cnt = sy_new_1d(nb - 1, NPY_INT64))) goto fail;
    {
        const int64_t *dp = SY_I64(day), *op = SY_I64(off), *bp = SY_I64(bnd);
        const double *ap = SY_OPT_F64(amt);
        SY_NOGIL_BEGIN
        st = sy_tracking_counts(dp, ap, op, (int64_t)(k1 - 1), (int64_t)cal_day, bp,
                                (int64_t)(nb - 1), SY_I64(first), SY_I64(cnt));
        SY_NOGIL_END
    }
    if (st != SY_OK) {
        if (st == SY_EINVAL)
            PyErr_SetString(PyExc_ValueError, "tracking: period bounds must increase strictly "
                                              "and offsets must not decrease");
        else
            trust_raise(st, "tracking");
        goto fail;
    }
    Py_DECREF(day);
    Py_XDECREF(amt);
    Py_DECREF(off);
    Py_DECREF(bnd);
    return Py_BuildValue("(NN)", first, cnt);
fail:
    Py_XDECREF(day);
    Py_XDECREF(amt);
    Py_XDECREF(off);
    Py_XDECREF(bnd);
    Py_XDECREF(first);
    Py_XDECREF(cnt);
    return NULL;
}

PyMethodDef sy_trust_methods[] = {
    {"trust_predict", py_trust_predict, METH_VARARGS,
     "trust_predict(model, what, params, cols) -> float64 array (params (npar,) or (n, npar))"},
    {"trust_predict_draws", py_trust_predict_draws, METH_VARARGS,
     "trust_predict_draws(model, what, params (B, npar), cols) -> (out (B, n), ok (B,))"},
    {"trust_loglik_rows", py_trust_loglik_rows, METH_VARARGS,
     "trust_loglik_rows(model, params, c0, c1, c2) -> per-row log-likelihood"},
    {"trust_bootstrap", py_trust_bootstrap, METH_VARARGS,
     "trust_bootstrap(model, c0, c1, c2, w, starts, hinv0, penalizer, pen_kind, maxiter, gtol, "
     "n_boot, seed, return_counts) -> (logp, loglik, status, n_iter, unique_rows, counts, m)"},
    {"trust_bootstrap_means", py_trust_bootstrap_means, METH_VARARGS,
     "trust_bootstrap_means(X, n_boot, seed) -> (n_boot, k) means of resampled rows"},
    {"trust_bgbb_simulate", py_trust_bgbb_simulate, METH_VARARGS,
     "trust_bgbb_simulate(params, n_periods, n_star, seed) -> (x, tx, x_star, alive)"},
    {"trust_tracking", py_trust_tracking, METH_VARARGS,
     "trust_tracking(day, amount, offsets, cal_day, bounds) -> (first_day, counts)"},
    {NULL, NULL, 0, NULL},
};
