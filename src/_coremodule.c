/*
 * _coremodule.c -- the only file of siyu that knows Python.
 *
 * Every wrapper follows one pattern: parse arguments -> coerce arrays (copying only
 * when needed) -> check shapes and values -> allocate outputs -> run the kernel with
 * the GIL released -> map the status code to an exception.  Owned references start
 * NULL and a single `fail:` label releases them all.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_1_23_API_VERSION
#include <numpy/arrayobject.h>

#include "siyu.h"

/* ------------------------------------------------------------------------ */
/* helpers                                                                   */
/* ------------------------------------------------------------------------ */

static PyObject *ConvergenceError = NULL;

/* Raise the exception that matches a kernel status; returns NULL. */
static PyObject *sy_raise(int status, const char *what)
{
    switch (status) {
    case SY_ENOMEM:
        PyErr_Format(PyExc_MemoryError, "%s: out of memory (or size overflow)", what);
        break;
    case SY_ERANGE:
        PyErr_Format(PyExc_OverflowError, "%s: value out of range", what);
        break;
    case SY_ENOCONV:
        PyErr_Format(ConvergenceError, "%s: optimiser did not converge", what);
        break;
    case SY_ENAN:
        PyErr_Format(PyExc_FloatingPointError, "%s: non-finite value encountered", what);
        break;
    default:
        PyErr_Format(PyExc_ValueError, "%s: invalid argument (status %d)", what, status);
        break;
    }
    return NULL;
}

/*
 * Coerce `obj` to an aligned, C-contiguous 1-d array of `typenum` (a new reference).
 * `expected` < 0 accepts any length.  Errors name the argument.
 */
static PyArrayObject *sy_as_1d(PyObject *obj, int typenum, const char *name, npy_intp expected)
{
    PyArrayObject *arr = (PyArrayObject *)PyArray_FROM_OTF(obj, typenum, NPY_ARRAY_IN_ARRAY);
    if (!arr) {
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        PyErr_Format(PyExc_TypeError, "argument '%s' must be convertible to a 1-d %s array",
                     name, typenum == NPY_INT64 ? "int64" : (typenum == NPY_FLOAT64 ? "float64" : "numeric"));
        Py_XDECREF(type);
        Py_XDECREF(value);
        Py_XDECREF(tb);
        return NULL;
    }
    if (PyArray_NDIM(arr) != 1) {
        PyErr_Format(PyExc_ValueError, "argument '%s' must be 1-dimensional, got %d dimensions",
                     name, PyArray_NDIM(arr));
        Py_DECREF(arr);
        return NULL;
    }
    if (expected >= 0 && PyArray_DIM(arr, 0) != expected) {
        PyErr_Format(PyExc_ValueError, "argument '%s' has length %zd, expected %zd", name,
                     (Py_ssize_t)PyArray_DIM(arr, 0), (Py_ssize_t)expected);
        Py_DECREF(arr);
        return NULL;
    }
    return arr;
}

static PyArrayObject *sy_new_1d(npy_intp n, int typenum)
{
    npy_intp dims[1] = {n};
    return (PyArrayObject *)PyArray_ZEROS(1, dims, typenum, 0);
}

static int sy_check_period(int period)
{
    if (period < SY_PERIOD_D || period > SY_PERIOD_Y) {
        PyErr_Format(PyExc_ValueError, "period code must be in 0..4, got %d", period);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* calendar                                                                  */
/* ------------------------------------------------------------------------ */

static PyObject *py_period_index(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *day_obj;
    int period;
    PyArrayObject *day = NULL, *out = NULL;
    int st;
    if (!PyArg_ParseTuple(args, "Oi", &day_obj, &period)) return NULL;
    if (sy_check_period(period)) return NULL;
    if (!(day = sy_as_1d(day_obj, NPY_INT64, "day", -1))) goto fail;
    npy_intp n = PyArray_DIM(day, 0);
    if (!(out = sy_new_1d(n, NPY_INT64))) goto fail;
    Py_BEGIN_ALLOW_THREADS
    st = sy_period_index_array((const int64_t *)PyArray_DATA(day), (int64_t)n, period,
                               (int64_t *)PyArray_DATA(out));
    Py_END_ALLOW_THREADS
    if (st != SY_OK) {
        sy_raise(st, "period_index");
        goto fail;
    }
    Py_DECREF(day);
    return (PyObject *)out;
fail:
    Py_XDECREF(day);
    Py_XDECREF(out);
    return NULL;
}

static PyObject *py_period_start(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *idx_obj;
    int period;
    PyArrayObject *idx = NULL, *out = NULL;
    if (!PyArg_ParseTuple(args, "Oi", &idx_obj, &period)) return NULL;
    if (sy_check_period(period)) return NULL;
    if (!(idx = sy_as_1d(idx_obj, NPY_INT64, "index", -1))) goto fail;
    npy_intp n = PyArray_DIM(idx, 0);
    if (!(out = sy_new_1d(n, NPY_INT64))) goto fail;
    {
        const int64_t *in = (const int64_t *)PyArray_DATA(idx);
        int64_t *o = (int64_t *)PyArray_DATA(out);
        Py_BEGIN_ALLOW_THREADS
        for (npy_intp i = 0; i < n; i++) o[i] = sy_period_start(in[i], period);
        Py_END_ALLOW_THREADS
    }
    Py_DECREF(idx);
    return (PyObject *)out;
fail:
    Py_XDECREF(idx);
    Py_XDECREF(out);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* summaries                                                                 */
/* ------------------------------------------------------------------------ */

/*
 * summary(cust, day, amount_or_None, k, period, lo, hi) -> tuple of 9 arrays
 *   (n_occ, first_day, last_day, first_per, last_per, n_orders, revenue,
 *    first_amount, repeat_sum), each of length k, for rows with lo < day <= hi.
 */
static PyObject *py_summary(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *cust_obj, *day_obj, *amount_obj;
    Py_ssize_t k;
    int period;
    long long lo, hi;
    PyArrayObject *cust = NULL, *day = NULL, *amount = NULL;
    PyArrayObject *out[9] = {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    int st;
    if (!PyArg_ParseTuple(args, "OOOniLL", &cust_obj, &day_obj, &amount_obj, &k, &period, &lo, &hi))
        return NULL;
    if (sy_check_period(period)) return NULL;
    if (k < 0) {
        PyErr_SetString(PyExc_ValueError, "number of customers must be >= 0");
        return NULL;
    }
    if (!(cust = sy_as_1d(cust_obj, NPY_INT64, "customer", -1))) goto fail;
    npy_intp n = PyArray_DIM(cust, 0);
    if (!(day = sy_as_1d(day_obj, NPY_INT64, "time", n))) goto fail;
    if (amount_obj != Py_None && !(amount = sy_as_1d(amount_obj, NPY_FLOAT64, "amount", n))) goto fail;
    for (int j = 0; j < 9; j++) {
        if (!(out[j] = sy_new_1d(k, j >= 6 ? NPY_FLOAT64 : NPY_INT64))) goto fail;
    }
    {
        const int64_t *c = (const int64_t *)PyArray_DATA(cust);
        const int64_t *d = (const int64_t *)PyArray_DATA(day);
        const double *a = amount ? (const double *)PyArray_DATA(amount) : NULL;
        Py_BEGIN_ALLOW_THREADS
        st = sy_summary_compute(c, d, a, (int64_t)n, (int64_t)k, period, (int64_t)lo, (int64_t)hi,
                                (int64_t *)PyArray_DATA(out[0]), (int64_t *)PyArray_DATA(out[1]),
                                (int64_t *)PyArray_DATA(out[2]), (int64_t *)PyArray_DATA(out[3]),
                                (int64_t *)PyArray_DATA(out[4]), (int64_t *)PyArray_DATA(out[5]),
                                (double *)PyArray_DATA(out[6]), (double *)PyArray_DATA(out[7]),
                                (double *)PyArray_DATA(out[8]));
        Py_END_ALLOW_THREADS
    }
    if (st != SY_OK) {
        if (st == SY_EINVAL)
            PyErr_SetString(PyExc_ValueError, "summary: customer codes must lie in [0, k)");
        else
            sy_raise(st, "summary");
        goto fail;
    }
    Py_DECREF(cust);
    Py_DECREF(day);
    Py_XDECREF(amount);
    return Py_BuildValue("(NNNNNNNNN)", out[0], out[1], out[2], out[3], out[4], out[5], out[6],
                         out[7], out[8]);
fail:
    Py_XDECREF(cust);
    Py_XDECREF(day);
    Py_XDECREF(amount);
    for (int j = 0; j < 9; j++) Py_XDECREF(out[j]);
    return NULL;
}

/* ==== segments: begin ==== */
/* ------------------------------------------------------------------------ */
/* segments: lifecycle stages, value tiers, migration counts, RFM scores     */
/* ------------------------------------------------------------------------ */
#include "sy_segments.h"

/*
 * segment_sweep(cust, day, amount_or_None, member_or_None, k, ends, mode, bounds,
 *               with_stages)
 *   -> (stages, last_day, occasions, revenue, member_day)
 *   stages: int8 (len(ends), k) snapshot-major codes, -1 = not yet acquired (None when
 *   with_stages is false); the other four (length k) are each customer's state at
 *   ends[-1]: last purchase day (INT64_MIN = none), occasions, net revenue (None
 *   without amounts), first member day (INT64_MAX = none).
 */
static PyObject *py_segment_sweep(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *cust_obj, *day_obj, *amount_obj, *member_obj, *ends_obj, *bounds_obj;
    Py_ssize_t k;
    int mode, with_stages;
    PyArrayObject *cust = NULL, *day = NULL, *amount = NULL, *member = NULL;
    PyArrayObject *ends = NULL, *bounds = NULL, *stages = NULL;
    PyArrayObject *last = NULL, *occ = NULL, *rev = NULL, *memd = NULL;
    int st;
    if (!PyArg_ParseTuple(args, "OOOOnOiOp", &cust_obj, &day_obj, &amount_obj, &member_obj, &k,
                          &ends_obj, &mode, &bounds_obj, &with_stages))
        return NULL;
    if (k < 0) {
        PyErr_SetString(PyExc_ValueError, "segment_sweep: number of customers must be >= 0");
        return NULL;
    }
    if (mode != SY_SEG_LIFECYCLE && mode != SY_SEG_VALUE_TIER) {
        PyErr_Format(PyExc_ValueError, "segment_sweep: mode must be 0 (lifecycle) or 1 "
                     "(value tiers), got %d", mode);
        return NULL;
    }
    if (!(cust = sy_as_1d(cust_obj, NPY_INT64, "customer", -1))) goto fail;
    npy_intp n = PyArray_DIM(cust, 0);
    if (!(day = sy_as_1d(day_obj, NPY_INT64, "time", n))) goto fail;
    if (amount_obj != Py_None && !(amount = sy_as_1d(amount_obj, NPY_FLOAT64, "amount", n)))
        goto fail;
    if (member_obj != Py_None && !(member = sy_as_1d(member_obj, NPY_INT8, "member", n)))
        goto fail;
    if (!(ends = sy_as_1d(ends_obj, NPY_INT64, "ends", -1))) goto fail;
    if (!(bounds = sy_as_1d(bounds_obj, NPY_INT64, "bounds", -1))) goto fail;
    npy_intp m = PyArray_DIM(ends, 0);
    {
        const int64_t *e = (const int64_t *)PyArray_DATA(ends);
        if (m < 1) {
            PyErr_SetString(PyExc_ValueError, "segment_sweep: ends must hold at least one day");
            goto fail;
        }
        for (npy_intp j = 1; j < m; j++) {
            if (e[j] <= e[j - 1]) {
                PyErr_SetString(PyExc_ValueError, "segment_sweep: ends must be strictly increasing");
                goto fail;
            }
        }
        const int64_t *b = (const int64_t *)PyArray_DATA(bounds);
        npy_intp nb = PyArray_DIM(bounds, 0);
        if (nb > 126) {
            PyErr_SetString(PyExc_ValueError, "segment_sweep: at most 126 bounds");
            goto fail;
        }
        for (npy_intp j = 0; j < nb; j++) {
            if (b[j] < 0 || (j > 0 && b[j] <= b[j - 1])) {
                PyErr_SetString(PyExc_ValueError, "segment_sweep: bounds must be non-negative "
                                "and strictly increasing");
                goto fail;
            }
        }
    }
    if (with_stages) {
        npy_intp dims[2] = {m, k};
        int64_t cells;
        if (!sy_mul_ok((int64_t)k, (int64_t)m, &cells)) {
            sy_raise(SY_ENOMEM, "segment_sweep");
            goto fail;
        }
        if (!(stages = (PyArrayObject *)PyArray_EMPTY(2, dims, NPY_INT8, 0))) goto fail;
    }
    if (!(last = sy_new_1d(k, NPY_INT64)) || !(occ = sy_new_1d(k, NPY_INT64)) ||
        !(memd = sy_new_1d(k, NPY_INT64)))
        goto fail;
    if (amount && !(rev = sy_new_1d(k, NPY_FLOAT64))) goto fail;
    {
        const int64_t *c = (const int64_t *)PyArray_DATA(cust);
        const int64_t *d = (const int64_t *)PyArray_DATA(day);
        const double *a = amount ? (const double *)PyArray_DATA(amount) : NULL;
        const int8_t *mb = member ? (const int8_t *)PyArray_DATA(member) : NULL;
        const int64_t *e = (const int64_t *)PyArray_DATA(ends);
        const int64_t *b = (const int64_t *)PyArray_DATA(bounds);
        int64_t nb = (int64_t)PyArray_DIM(bounds, 0);
        int8_t *so = stages ? (int8_t *)PyArray_DATA(stages) : NULL;
        int64_t *lo = (int64_t *)PyArray_DATA(last), *oo = (int64_t *)PyArray_DATA(occ);
        int64_t *mo = (int64_t *)PyArray_DATA(memd);
        double *ro = rev ? (double *)PyArray_DATA(rev) : NULL;
        Py_BEGIN_ALLOW_THREADS
        st = sy_segments_sweep(c, d, a, mb, (int64_t)n, (int64_t)k, e, (int64_t)m, mode, b, nb,
                               so, lo, oo, ro, mo);
        Py_END_ALLOW_THREADS
    }
    if (st != SY_OK) {
        if (st == SY_EINVAL)
            PyErr_SetString(PyExc_ValueError, "segment_sweep: customer codes must lie in [0, k)");
        else
            sy_raise(st, "segment_sweep");
        goto fail;
    }
    Py_DECREF(cust);
    Py_DECREF(day);
    Py_XDECREF(amount);
    Py_XDECREF(member);
    Py_DECREF(ends);
    Py_DECREF(bounds);
    if (!stages) {
        Py_INCREF(Py_None);
        stages = (PyArrayObject *)Py_None;
    }
    if (!rev) {
        Py_INCREF(Py_None);
        rev = (PyArrayObject *)Py_None;
    }
    return Py_BuildValue("(NNNNN)", stages, last, occ, rev, memd);
fail:
    Py_XDECREF(cust);
    Py_XDECREF(day);
    Py_XDECREF(amount);
    Py_XDECREF(member);
    Py_XDECREF(ends);
    Py_XDECREF(bounds);
    Py_XDECREF(stages);
    Py_XDECREF(last);
    Py_XDECREF(occ);
    Py_XDECREF(rev);
    Py_XDECREF(memd);
    return NULL;
}

/*
 * segment_transitions(stages, n_states) -> int64 array (m - 1, n_states, n_states)
 *   stages: 2-d (m, k) snapshot-major int8 codes in [0, n_states) or -1 (absent).
 */
static PyObject *py_segment_transitions(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *stages_obj;
    Py_ssize_t s;
    PyArrayObject *stages = NULL, *out = NULL;
    int st;
    if (!PyArg_ParseTuple(args, "On", &stages_obj, &s)) return NULL;
    if (s < 1 || s > 127) {
        PyErr_Format(PyExc_ValueError, "segment_transitions: n_states must be in 1..127, got %zd", s);
        return NULL;
    }
    stages = (PyArrayObject *)PyArray_FROM_OTF(stages_obj, NPY_INT8, NPY_ARRAY_IN_ARRAY);
    if (!stages) goto fail;
    if (PyArray_NDIM(stages) != 2) {
        PyErr_Format(PyExc_ValueError, "segment_transitions: stages must be 2-dimensional "
                     "(periods x customers), got %d dimensions", PyArray_NDIM(stages));
        goto fail;
    }
    npy_intp m = PyArray_DIM(stages, 0), k = PyArray_DIM(stages, 1);
    {
        npy_intp dims[3] = {m > 0 ? m - 1 : 0, s, s};
        if (!(out = (PyArrayObject *)PyArray_ZEROS(3, dims, NPY_INT64, 0))) goto fail;
    }
    {
        const int8_t *in = (const int8_t *)PyArray_DATA(stages);
        int64_t *o = (int64_t *)PyArray_DATA(out);
        Py_BEGIN_ALLOW_THREADS
        st = sy_segments_transitions(in, (int64_t)k, (int64_t)m, (int64_t)s, o);
        Py_END_ALLOW_THREADS
    }
    if (st != SY_OK) {
        if (st == SY_EINVAL)
            PyErr_SetString(PyExc_ValueError, "segment_transitions: stage codes must lie in "
                            "[0, n_states) or be -1");
        else
            sy_raise(st, "segment_transitions");
        goto fail;
    }
    Py_DECREF(stages);
    return (PyObject *)out;
fail:
    Py_XDECREF(stages);
    Py_XDECREF(out);
    return NULL;
}

/*
 * quantile_scores(values, bins, ties) -> int64 scores 1..bins
 *   ties: 0 min, 1 average, 2 max (rank given to a block of equal values).
 */
static PyObject *py_quantile_scores(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *values_obj;
    Py_ssize_t bins;
    int ties;
    PyArrayObject *values = NULL, *out = NULL;
    int st;
    if (!PyArg_ParseTuple(args, "Oni", &values_obj, &bins, &ties)) return NULL;
    if (bins < 1) {
        PyErr_Format(PyExc_ValueError, "quantile_scores: bins must be >= 1, got %zd", bins);
        return NULL;
    }
    if (ties < SY_TIES_MIN || ties > SY_TIES_MAX) {
        PyErr_Format(PyExc_ValueError, "quantile_scores: ties must be 0 (min), 1 (average) or "
                     "2 (max), got %d", ties);
        return NULL;
    }
    if (!(values = sy_as_1d(values_obj, NPY_FLOAT64, "values", -1))) goto fail;
    npy_intp n = PyArray_DIM(values, 0);
    if (!(out = sy_new_1d(n, NPY_INT64))) goto fail;
    {
        const double *v = (const double *)PyArray_DATA(values);
        int64_t *o = (int64_t *)PyArray_DATA(out);
        Py_BEGIN_ALLOW_THREADS
        st = sy_segments_scores(v, (int64_t)n, (int64_t)bins, ties, o);
        Py_END_ALLOW_THREADS
    }
    if (st != SY_OK) {
        if (st == SY_ENAN)
            PyErr_SetString(PyExc_ValueError, "quantile_scores: values must be finite (no NaN/inf)");
        else
            sy_raise(st, "quantile_scores");
        goto fail;
    }
    Py_DECREF(values);
    return (PyObject *)out;
fail:
    Py_XDECREF(values);
    Py_XDECREF(out);
    return NULL;
}
/* ==== segments: end ==== */

/* ------------------------------------------------------------------------ */
/* threads                                                                   */
/* ------------------------------------------------------------------------ */

static PyObject *py_set_num_threads(PyObject *self, PyObject *args)
{
    (void)self;
    int n;
    if (!PyArg_ParseTuple(args, "i", &n)) return NULL;
    if (n < 1) {
        PyErr_SetString(PyExc_ValueError, "number of threads must be >= 1");
        return NULL;
    }
    sy_set_num_threads(n);
    Py_RETURN_NONE;
}

static PyObject *py_get_num_threads(PyObject *self, PyObject *noargs)
{
    (void)self;
    (void)noargs;
    return PyLong_FromLong(sy_get_num_threads());
}

/* ------------------------------------------------------------------------ */
/* module                                                                    */
/* ------------------------------------------------------------------------ */

static PyMethodDef core_methods[] = {
    {"period_index", py_period_index, METH_VARARGS, "period_index(day, period) -> int64 array"},
    {"period_start", py_period_start, METH_VARARGS, "period_start(index, period) -> int64 array"},
    {"summary", py_summary, METH_VARARGS,
     "summary(cust, day, amount, k, period, lo, hi) -> 9 per-customer arrays"},
    /* segments methods: begin */
    {"segment_sweep", py_segment_sweep, METH_VARARGS,
     "segment_sweep(cust, day, amount, member, k, ends, mode, bounds, with_stages) -> "
     "(stages (m, k) int8 or None, last_day, occasions, revenue or None, member_day)"},
    {"segment_transitions", py_segment_transitions, METH_VARARGS,
     "segment_transitions(stages, n_states) -> int64 (m-1, s, s) counts"},
    {"quantile_scores", py_quantile_scores, METH_VARARGS,
     "quantile_scores(values, bins, ties) -> int64 scores 1..bins"},
    /* segments methods: end */
    {"set_num_threads", py_set_num_threads, METH_VARARGS, "set_num_threads(n)"},
    {"get_num_threads", py_get_num_threads, METH_NOARGS, "get_num_threads() -> int"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef core_module = {
    PyModuleDef_HEAD_INIT, "siyu._core", "siyu C kernels (internal; use the siyu package).", -1,
    core_methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__core(void)
{
    import_array();
    PyObject *m = PyModule_Create(&core_module);
    if (!m) return NULL;
    ConvergenceError = PyErr_NewExceptionWithDoc(
        "siyu._core.ConvergenceError",
        "The optimiser did not converge. Try more iterations, a penalizer > 0, or check the data.",
        PyExc_RuntimeError, NULL);
    if (!ConvergenceError || PyModule_AddObject(m, "ConvergenceError", ConvergenceError) < 0) {
        Py_XDECREF(ConvergenceError);
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(ConvergenceError);  /* the module's reference was stolen; keep ours */
    if (PyModule_AddIntConstant(m, "PERIOD_D", SY_PERIOD_D) < 0 ||
        PyModule_AddIntConstant(m, "PERIOD_W", SY_PERIOD_W) < 0 ||
        PyModule_AddIntConstant(m, "PERIOD_M", SY_PERIOD_M) < 0 ||
        PyModule_AddIntConstant(m, "PERIOD_Q", SY_PERIOD_Q) < 0 ||
        PyModule_AddIntConstant(m, "PERIOD_Y", SY_PERIOD_Y) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
