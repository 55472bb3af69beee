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

#include <string.h>

#include "siyu.h"
#include "sy_cohort.h"

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

/* An uninitialised 1-d array, for outputs the kernel writes in full. */
static PyArrayObject *sy_empty_1d(npy_intp n, int typenum)
{
    npy_intp dims[1] = {n};
    return (PyArrayObject *)PyArray_EMPTY(1, dims, typenum, 0);
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

/* ==== cohorts: begin ==== */
/* Wrappers of the cohort / retention / survival kernels (sy_cohort.h). */

/* Coerce the (customer, time, amount-or-None) columns of a log; returns 0 or -1. */
static int sy_coerce_log(PyObject *cust_obj, PyObject *day_obj, PyObject *amount_obj,
                         PyArrayObject **cust, PyArrayObject **day, PyArrayObject **amount)
{
    if (!(*cust = sy_as_1d(cust_obj, NPY_INT64, "customer", -1))) return -1;
    npy_intp n = PyArray_DIM(*cust, 0);
    if (!(*day = sy_as_1d(day_obj, NPY_INT64, "time", n))) return -1;
    if (amount_obj != Py_None && !(*amount = sy_as_1d(amount_obj, NPY_FLOAT64, "amount", n)))
        return -1;
    return 0;
}

#define SY_I64(a) ((int64_t *)PyArray_DATA(a))
#define SY_F64(a) ((double *)PyArray_DATA(a))
#define SY_OPT_F64(a) ((a) ? (const double *)PyArray_DATA(a) : NULL)

static PyObject *sy_raise_codes(int st, const char *what)
{
    if (st == SY_EINVAL) {
        PyErr_Format(PyExc_ValueError, "%s: customer codes must lie in [0, k) and arguments "
                     "must be consistent", what);
        return NULL;
    }
    return sy_raise(st, what);
}

/* cohort_first(cust, day, amount|None, group|None, k, end)
       -> (first_day, first_group, n_refund_only)
   first_day is INT64_MAX and first_group -1 for customers with no purchase by end. */
static PyObject *py_cohort_first(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *cust_obj, *day_obj, *amount_obj, *group_obj;
    Py_ssize_t k;
    long long end;
    PyArrayObject *cust = NULL, *day = NULL, *amount = NULL, *group = NULL;
    PyArrayObject *first = NULL, *fgroup = NULL;
    int64_t refund_only = 0;
    int st;
    if (!PyArg_ParseTuple(args, "OOOOnL", &cust_obj, &day_obj, &amount_obj, &group_obj, &k, &end))
        return NULL;
    if (k < 0) {
        PyErr_SetString(PyExc_ValueError, "number of customers must be >= 0");
        return NULL;
    }
    if (sy_coerce_log(cust_obj, day_obj, amount_obj, &cust, &day, &amount)) goto fail;
    npy_intp n = PyArray_DIM(cust, 0);
    if (group_obj != Py_None && !(group = sy_as_1d(group_obj, NPY_INT64, "group", n))) goto fail;
    if (!(first = sy_new_1d(k, NPY_INT64)) || !(fgroup = sy_new_1d(k, NPY_INT64))) goto fail;
    Py_BEGIN_ALLOW_THREADS
    st = sy_cohort_first(SY_I64(cust), SY_I64(day), SY_OPT_F64(amount),
                         group ? SY_I64(group) : NULL, (int64_t)n, (int64_t)k, (int64_t)end,
                         SY_I64(first), SY_I64(fgroup), &refund_only);
    Py_END_ALLOW_THREADS
    if (st != SY_OK) {
        sy_raise_codes(st, "cohort_first");
        goto fail;
    }
    Py_DECREF(cust);
    Py_DECREF(day);
    Py_XDECREF(amount);
    Py_XDECREF(group);
    return Py_BuildValue("(NNL)", first, fgroup, (long long)refund_only);
fail:
    Py_XDECREF(cust);
    Py_XDECREF(day);
    Py_XDECREF(amount);
    Py_XDECREF(group);
    Py_XDECREF(first);
    Py_XDECREF(fgroup);
    return NULL;
}

/* cohort_second(cust, day, amount|None, k, end, first_day) -> second_day (INT64_MAX: none) */
static PyObject *py_cohort_second(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *cust_obj, *day_obj, *amount_obj, *first_obj;
    Py_ssize_t k;
    long long end;
    PyArrayObject *cust = NULL, *day = NULL, *amount = NULL, *first = NULL, *second = NULL;
    int st;
    if (!PyArg_ParseTuple(args, "OOOnLO", &cust_obj, &day_obj, &amount_obj, &k, &end, &first_obj))
        return NULL;
    if (k < 0) {
        PyErr_SetString(PyExc_ValueError, "number of customers must be >= 0");
        return NULL;
    }
    if (sy_coerce_log(cust_obj, day_obj, amount_obj, &cust, &day, &amount)) goto fail;
    npy_intp n = PyArray_DIM(cust, 0);
    if (!(first = sy_as_1d(first_obj, NPY_INT64, "first_day", k))) goto fail;
    if (!(second = sy_new_1d(k, NPY_INT64))) goto fail;
    Py_BEGIN_ALLOW_THREADS
    st = sy_cohort_second(SY_I64(cust), SY_I64(day), SY_OPT_F64(amount), (int64_t)n, (int64_t)k,
                          (int64_t)end, SY_I64(first), SY_I64(second));
    Py_END_ALLOW_THREADS
    if (st != SY_OK) {
        sy_raise_codes(st, "cohort_second");
        goto fail;
    }
    Py_DECREF(cust);
    Py_DECREF(day);
    Py_XDECREF(amount);
    Py_DECREF(first);
    return (PyObject *)second;
fail:
    Py_XDECREF(cust);
    Py_XDECREF(day);
    Py_XDECREF(amount);
    Py_XDECREF(first);
    Py_XDECREF(second);
    return NULL;
}

/* cohort_matrix(cust, day, amount|None, k, end, period, cell_row, cust_per, n_rows, n_ages,
                 lo_day, max_bitset_words) -> (active, orders, revenue|None, n_dropped)
   with 2-d (n_rows, n_ages) outputs; revenue only when amounts are given. */
static PyObject *py_cohort_matrix(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *cust_obj, *day_obj, *amount_obj, *row_obj, *per_obj;
    Py_ssize_t k, n_rows, n_ages;
    long long end, lo_day, max_words;
    int period, st;
    int64_t dropped = 0;
    PyArrayObject *cust = NULL, *day = NULL, *amount = NULL, *row = NULL, *per = NULL;
    PyArrayObject *active = NULL, *orders = NULL, *revenue = NULL;
    if (!PyArg_ParseTuple(args, "OOOnLiOOnnLL", &cust_obj, &day_obj, &amount_obj, &k, &end,
                          &period, &row_obj, &per_obj, &n_rows, &n_ages, &lo_day, &max_words))
        return NULL;
    if (sy_check_period(period)) return NULL;
    if (k < 0 || n_rows < 0 || n_ages < 0) {
        PyErr_SetString(PyExc_ValueError, "cohort_matrix: sizes must be >= 0");
        return NULL;
    }
    {
        int64_t cells;
        if (!sy_mul_ok((int64_t)n_rows, (int64_t)n_ages, &cells) || cells > NPY_MAX_INTP / 8) {
            PyErr_SetString(PyExc_MemoryError, "cohort_matrix: cohort x age matrix too large");
            return NULL;
        }
    }
    if (sy_coerce_log(cust_obj, day_obj, amount_obj, &cust, &day, &amount)) goto fail;
    npy_intp n = PyArray_DIM(cust, 0);
    if (!(row = sy_as_1d(row_obj, NPY_INT64, "cell_row", k))) goto fail;
    if (!(per = sy_as_1d(per_obj, NPY_INT64, "cust_per", k))) goto fail;
    {
        npy_intp dims[2] = {n_rows, n_ages};
        if (!(active = (PyArrayObject *)PyArray_ZEROS(2, dims, NPY_INT64, 0))) goto fail;
        if (!(orders = (PyArrayObject *)PyArray_ZEROS(2, dims, NPY_INT64, 0))) goto fail;
        if (amount && !(revenue = (PyArrayObject *)PyArray_ZEROS(2, dims, NPY_FLOAT64, 0)))
            goto fail;
    }
    Py_BEGIN_ALLOW_THREADS
    st = sy_cohort_matrix(SY_I64(cust), SY_I64(day), SY_OPT_F64(amount), (int64_t)n, (int64_t)k,
                          (int64_t)end, period, SY_I64(row), SY_I64(per), (int64_t)n_rows,
                          (int64_t)n_ages, (int64_t)lo_day, (int64_t)max_words, SY_I64(active),
                          SY_I64(orders), revenue ? SY_F64(revenue) : NULL, &dropped);
    Py_END_ALLOW_THREADS
    if (st != SY_OK) {
        sy_raise_codes(st, "cohort_matrix");
        goto fail;
    }
    Py_DECREF(cust);
    Py_DECREF(day);
    Py_XDECREF(amount);
    Py_DECREF(row);
    Py_DECREF(per);
    if (!revenue) {
        Py_INCREF(Py_None);
        revenue = (PyArrayObject *)Py_None;
    }
    return Py_BuildValue("(NNNL)", active, orders, revenue, (long long)dropped);
fail:
    Py_XDECREF(cust);
    Py_XDECREF(day);
    Py_XDECREF(amount);
    Py_XDECREF(row);
    Py_XDECREF(per);
    Py_XDECREF(active);
    Py_XDECREF(orders);
    Py_XDECREF(revenue);
    return NULL;
}

/* retention_count(cust, day, amount|None, k, end, first_day, group, n_groups, kind, lo, hi,
                   max_bitset_words) -> (eligible, retained), each (n_groups, len(lo)) */
static PyObject *py_retention_count(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *cust_obj, *day_obj, *amount_obj, *first_obj, *group_obj, *lo_obj, *hi_obj;
    Py_ssize_t k, n_groups;
    long long end, max_words;
    int kind, st;
    PyArrayObject *cust = NULL, *day = NULL, *amount = NULL, *first = NULL, *group = NULL;
    PyArrayObject *lo = NULL, *hi = NULL, *elig = NULL, *ret = NULL;
    if (!PyArg_ParseTuple(args, "OOOnLOOniOOL", &cust_obj, &day_obj, &amount_obj, &k, &end,
                          &first_obj, &group_obj, &n_groups, &kind, &lo_obj, &hi_obj, &max_words))
        return NULL;
    if (k < 0 || n_groups < 0) {
        PyErr_SetString(PyExc_ValueError, "retention_count: sizes must be >= 0");
        return NULL;
    }
    if (kind != SY_RET_NDAY && kind != SY_RET_UNBOUNDED && kind != SY_RET_BRACKET) {
        PyErr_Format(PyExc_ValueError, "retention_count: kind code must be 0, 1 or 2, got %d", kind);
        return NULL;
    }
    if (sy_coerce_log(cust_obj, day_obj, amount_obj, &cust, &day, &amount)) goto fail;
    npy_intp n = PyArray_DIM(cust, 0);
    if (!(first = sy_as_1d(first_obj, NPY_INT64, "first_day", k))) goto fail;
    if (!(group = sy_as_1d(group_obj, NPY_INT64, "group", k))) goto fail;
    if (!(lo = sy_as_1d(lo_obj, NPY_INT64, "lo", -1))) goto fail;
    npy_intp m = PyArray_DIM(lo, 0);
    if (!(hi = sy_as_1d(hi_obj, NPY_INT64, "hi", m))) goto fail;
    {
        int64_t cells;
        if (!sy_mul_ok((int64_t)n_groups, (int64_t)m, &cells)) {
            PyErr_SetString(PyExc_MemoryError, "retention_count: output too large");
            goto fail;
        }
        npy_intp dims[2] = {n_groups, m};
        if (!(elig = (PyArrayObject *)PyArray_ZEROS(2, dims, NPY_INT64, 0))) goto fail;
        if (!(ret = (PyArrayObject *)PyArray_ZEROS(2, dims, NPY_INT64, 0))) goto fail;
    }
    Py_BEGIN_ALLOW_THREADS
    st = sy_retention_count(SY_I64(cust), SY_I64(day), SY_OPT_F64(amount), (int64_t)n,
                            (int64_t)k, (int64_t)end, SY_I64(first), SY_I64(group),
                            (int64_t)n_groups, kind, SY_I64(lo), SY_I64(hi), (int64_t)m,
                            (int64_t)max_words, SY_I64(elig), SY_I64(ret));
    Py_END_ALLOW_THREADS
    if (st != SY_OK) {
        sy_raise_codes(st, "retention_count");
        goto fail;
    }
    Py_DECREF(cust);
    Py_DECREF(day);
    Py_XDECREF(amount);
    Py_DECREF(first);
    Py_DECREF(group);
    Py_DECREF(lo);
    Py_DECREF(hi);
    return Py_BuildValue("(NN)", elig, ret);
fail:
    Py_XDECREF(cust);
    Py_XDECREF(day);
    Py_XDECREF(amount);
    Py_XDECREF(first);
    Py_XDECREF(group);
    Py_XDECREF(lo);
    Py_XDECREF(hi);
    Py_XDECREF(elig);
    Py_XDECREF(ret);
    return NULL;
}

/* interpurchase(cust, day, amount|None, k, end) -> (count per customer, gaps) */
static PyObject *py_interpurchase(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *cust_obj, *day_obj, *amount_obj;
    Py_ssize_t k;
    long long end;
    int st;
    int64_t *gaps = NULL, n_gaps = 0;
    PyArrayObject *cust = NULL, *day = NULL, *amount = NULL, *count = NULL, *out = NULL;
    if (!PyArg_ParseTuple(args, "OOOnL", &cust_obj, &day_obj, &amount_obj, &k, &end)) return NULL;
    if (k < 0) {
        PyErr_SetString(PyExc_ValueError, "number of customers must be >= 0");
        return NULL;
    }
    if (sy_coerce_log(cust_obj, day_obj, amount_obj, &cust, &day, &amount)) goto fail;
    npy_intp n = PyArray_DIM(cust, 0);
    if (!(count = sy_new_1d(k, NPY_INT64))) goto fail;
    Py_BEGIN_ALLOW_THREADS
    st = sy_retention_interpurchase(SY_I64(cust), SY_I64(day), SY_OPT_F64(amount), (int64_t)n,
                                    (int64_t)k, (int64_t)end, SY_I64(count), &gaps, &n_gaps);
    Py_END_ALLOW_THREADS
    if (st != SY_OK) {
        sy_raise_codes(st, "interpurchase");
        goto fail;
    }
    if (!(out = sy_new_1d((npy_intp)n_gaps, NPY_INT64))) goto fail;
    if (n_gaps > 0) memcpy(PyArray_DATA(out), gaps, sizeof(int64_t) * (size_t)n_gaps);
    free(gaps);
    Py_DECREF(cust);
    Py_DECREF(day);
    Py_XDECREF(amount);
    return Py_BuildValue("(NN)", count, out);
fail:
    free(gaps);
    Py_XDECREF(cust);
    Py_XDECREF(day);
    Py_XDECREF(amount);
    Py_XDECREF(count);
    Py_XDECREF(out);
    return NULL;
}

/* survival_km(duration, event, tmax) -> (events, censored, at_risk, survival, var_sum),
   dense over times 0..tmax */
static PyObject *py_survival_km(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *dur_obj, *ev_obj;
    long long tmax;
    int st;
    PyArrayObject *dur = NULL, *ev = NULL, *out[5] = {NULL, NULL, NULL, NULL, NULL};
    if (!PyArg_ParseTuple(args, "OOL", &dur_obj, &ev_obj, &tmax)) return NULL;
    if (tmax < 0 || tmax >= (long long)NPY_MAX_INTP / 16) {
        PyErr_SetString(PyExc_ValueError, "survival_km: tmax must be >= 0 and not huge");
        return NULL;
    }
    if (!(dur = sy_as_1d(dur_obj, NPY_INT64, "duration", -1))) goto fail;
    npy_intp n = PyArray_DIM(dur, 0);
    if (!(ev = sy_as_1d(ev_obj, NPY_INT64, "event", n))) goto fail;
    for (int j = 0; j < 5; j++)
        if (!(out[j] = sy_new_1d((npy_intp)tmax + 1, j >= 3 ? NPY_FLOAT64 : NPY_INT64))) goto fail;
    Py_BEGIN_ALLOW_THREADS
    st = sy_survival_km(SY_I64(dur), SY_I64(ev), (int64_t)n, (int64_t)tmax, SY_I64(out[0]),
                        SY_I64(out[1]), SY_I64(out[2]), SY_F64(out[3]), SY_F64(out[4]));
    Py_END_ALLOW_THREADS
    if (st != SY_OK) {
        if (st == SY_EINVAL)
            PyErr_SetString(PyExc_ValueError,
                            "survival_km: durations must lie in [0, tmax] and events be 0 or 1");
        else
            sy_raise(st, "survival_km");
        goto fail;
    }
    Py_DECREF(dur);
    Py_DECREF(ev);
    return Py_BuildValue("(NNNNN)", out[0], out[1], out[2], out[3], out[4]);
fail:
    Py_XDECREF(dur);
    Py_XDECREF(ev);
    for (int j = 0; j < 5; j++) Py_XDECREF(out[j]);
    return NULL;
}

/* set_parallel_min_rows(n) -> previous value; row count from which the cohort and
   retention row passes use several threads (tests lower it to exercise threads). */
static PyObject *py_set_parallel_min_rows(PyObject *self, PyObject *args)
{
    (void)self;
    long long n;
    static long long current = SY_PARALLEL_MIN_ROWS;
    if (!PyArg_ParseTuple(args, "L", &n)) return NULL;
    if (n < 0) {
        PyErr_SetString(PyExc_ValueError, "set_parallel_min_rows: n must be >= 0");
        return NULL;
    }
    long long previous = current;
    current = n;
    sy_set_parallel_min_rows((int64_t)n);
    return PyLong_FromLongLong(previous);
}

#undef SY_I64
#undef SY_F64
#undef SY_OPT_F64
/* ==== cohorts: end ==== */

/* ------------------------------------------------------------------------ */
/* ids and row order                                                         */
/* ------------------------------------------------------------------------ */

/* factorize_int64(ids) -> (codes, uniques): codes 0..k-1 in sorted-id order. */
static PyObject *py_factorize_int64(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *ids_obj, *res = NULL;
    PyArrayObject *ids = NULL, *codes = NULL, *uniques = NULL;
    int64_t k = 0;
    int st;
    if (!PyArg_ParseTuple(args, "O", &ids_obj)) return NULL;
    if (!(ids = sy_as_1d(ids_obj, NPY_INT64, "customer", -1))) goto fail;
    npy_intp n = PyArray_DIM(ids, 0);
    if (!(codes = sy_empty_1d(n, NPY_INT64)) || !(uniques = sy_empty_1d(n, NPY_INT64))) goto fail;
    {
        const int64_t *in = (const int64_t *)PyArray_DATA(ids);
        int64_t *c = (int64_t *)PyArray_DATA(codes), *u = (int64_t *)PyArray_DATA(uniques);
        Py_BEGIN_ALLOW_THREADS
        st = sy_factorize_int64(in, (int64_t)n, c, u, &k);
        Py_END_ALLOW_THREADS
    }
    if (st != SY_OK) {
        sy_raise(st, "factorize_int64");
        goto fail;
    }
    {
        /* copy the k distinct ids out of the n-sized scratch array so it can be freed */
        PyArrayObject *trimmed = sy_empty_1d((npy_intp)k, NPY_INT64);
        if (!trimmed) goto fail;
        if (k > 0)
            memcpy(PyArray_DATA(trimmed), PyArray_DATA(uniques), sizeof(int64_t) * (size_t)k);
        res = Py_BuildValue("(ON)", (PyObject *)codes, (PyObject *)trimmed);
    }
fail:
    Py_XDECREF(ids);
    Py_XDECREF(codes);
    Py_XDECREF(uniques);
    return res;
}

/* group_rows(cust, day, k) -> (offsets, perm, day_sorted, cust_sorted):
   order rows by (customer, day, row). */
static PyObject *py_group_rows(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *cust_obj, *day_obj, *res = NULL;
    Py_ssize_t k;
    PyArrayObject *cust = NULL, *day = NULL, *offsets = NULL, *perm = NULL;
    PyArrayObject *day_out = NULL, *cust_out = NULL;
    int st;
    if (!PyArg_ParseTuple(args, "OOn", &cust_obj, &day_obj, &k)) return NULL;
    if (k < 0) {
        PyErr_SetString(PyExc_ValueError, "number of customers must be >= 0");
        return NULL;
    }
    if (!(cust = sy_as_1d(cust_obj, NPY_INT64, "customer", -1))) goto fail;
    npy_intp n = PyArray_DIM(cust, 0);
    if (!(day = sy_as_1d(day_obj, NPY_INT64, "time", n))) goto fail;
    if (!(offsets = sy_empty_1d(k + 1, NPY_INT64)) || !(perm = sy_empty_1d(n, NPY_INT64)) ||
        !(day_out = sy_empty_1d(n, NPY_INT64)) || !(cust_out = sy_empty_1d(n, NPY_INT64)))
        goto fail;
    {
        const int64_t *c = (const int64_t *)PyArray_DATA(cust), *d = (const int64_t *)PyArray_DATA(day);
        int64_t *o = (int64_t *)PyArray_DATA(offsets), *p = (int64_t *)PyArray_DATA(perm);
        int64_t *dout = (int64_t *)PyArray_DATA(day_out), *cout = (int64_t *)PyArray_DATA(cust_out);
        Py_BEGIN_ALLOW_THREADS
        st = sy_group_rows(c, d, (int64_t)n, (int64_t)k, o, p, dout, cout);
        Py_END_ALLOW_THREADS
    }
    if (st != SY_OK) {
        if (st == SY_EINVAL)
            PyErr_SetString(PyExc_ValueError, "group_rows: customer codes must lie in [0, k)");
        else
            sy_raise(st, "group_rows");
        goto fail;
    }
    res = Py_BuildValue("(OOOO)", (PyObject *)offsets, (PyObject *)perm, (PyObject *)day_out,
                        (PyObject *)cust_out);
fail:
    Py_XDECREF(cust);
    Py_XDECREF(day);
    Py_XDECREF(offsets);
    Py_XDECREF(perm);
    Py_XDECREF(day_out);
    Py_XDECREF(cust_out);
    return res;
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

/* ==== models: begin ==== */
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
    Py_BEGIN_ALLOW_THREADS
    st = sy_models_prepare(model, &d);
    if (st == SY_OK) st = sy_models_loglik(model, (const double *)PyArray_DATA(par), &d, &ll,
                                           (double *)PyArray_DATA(grad));
    sy_models_release(&d);
    Py_END_ALLOW_THREADS
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
        sy_fit_opts opts = {pen, maxiter, gtol};
        const double *sp = (const double *)PyArray_DATA(starts);
        int nstart = (int)(ns / k);
        Py_BEGIN_ALLOW_THREADS
        st = sy_models_fit(model, &d, sp, nstart, &opts, &res);
        Py_END_ALLOW_THREADS
    }
    if (st != SY_OK) {
        if (st == SY_ENAN || st == SY_ENOCONV || st == SY_EINVAL)
            PyErr_SetString(ConvergenceError,
                            "model_fit: every start produced non-finite likelihoods; check the "
                            "data (units, recency <= T) or try penalizer > 0");
        else
            sy_raise(st, "model_fit");
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
    if (!(par = sy_as_1d(po, NPY_FLOAT64, "params", sy_models_npar(model)))) goto fail;
    npy_intp n = -1;
    for (Py_ssize_t j = 0; j < nc; j++) {
        if (!(cols[j] = sy_as_1d(PyTuple_GET_ITEM(tup, j), NPY_FLOAT64, "prediction input", n)))
            goto fail;
        n = PyArray_DIM(cols[j], 0);
        cp[j] = (const double *)PyArray_DATA(cols[j]);
    }
    if (!(out = sy_new_1d(n, NPY_FLOAT64))) goto fail;
    Py_BEGIN_ALLOW_THREADS
    st = sy_models_predict(model, what, (const double *)PyArray_DATA(par), (int64_t)n, cp,
                           (double *)PyArray_DATA(out));
    Py_END_ALLOW_THREADS
    if (st != SY_OK) {
        if (st == SY_ENOCONV)
            PyErr_SetString(ConvergenceError,
                            "model_predict: a hypergeometric series did not converge (extreme "
                            "parameters, or a horizon t far beyond alpha + T); refit with a "
                            "penalizer or use a shorter horizon");
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
    if (!(par = sy_as_1d(po, NPY_FLOAT64, "params", 4))) goto fail;
    if (!(T = sy_as_1d(to, NPY_FLOAT64, "T", -1))) goto fail;
    npy_intp n = PyArray_DIM(T, 0);
    if (!(count = sy_new_1d(n, NPY_INT64)) || !(offset = sy_new_1d(n, NPY_INT64)) ||
        !(tx = sy_new_1d(n, NPY_FLOAT64)))
        goto fail;
    int64_t total = 0;
    Py_BEGIN_ALLOW_THREADS
    st = sy_simulate_purchases(model, (const double *)PyArray_DATA(par), (int64_t)n,
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
    Py_END_ALLOW_THREADS
    if (st != SY_OK) {
        sy_raise(st, "simulate_purchases");
        goto fail;
    }
    if (!(times = sy_new_1d((npy_intp)total, NPY_FLOAT64))) goto fail;
    Py_BEGIN_ALLOW_THREADS
    st = sy_simulate_purchases(model, (const double *)PyArray_DATA(par), (int64_t)n,
                               (const double *)PyArray_DATA(T), (uint64_t)seed,
                               (int64_t *)PyArray_DATA(count), (const int64_t *)PyArray_DATA(offset),
                               (double *)PyArray_DATA(times), (double *)PyArray_DATA(tx));
    Py_END_ALLOW_THREADS
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
    if (!(par = sy_as_1d(po, NPY_FLOAT64, "params", 3))) goto fail;
    if (!(k = sy_as_1d(ko, NPY_INT64, "k", -1))) goto fail;
    npy_intp n = PyArray_DIM(k, 0);
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
    Py_BEGIN_ALLOW_THREADS
    st = sy_simulate_amounts((const double *)PyArray_DATA(par), (int64_t)n,
                             (const int64_t *)PyArray_DATA(k), (const int64_t *)PyArray_DATA(offset),
                             (uint64_t)seed, (double *)PyArray_DATA(out));
    Py_END_ALLOW_THREADS
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
/* ==== models: end ==== */

/* ==== shop: begin ==== */
/* ------------------------------------------------------------------------ */
/* shop scenario simulator (sy_shop.c)                                       */
/* ------------------------------------------------------------------------ */
#include "sy_shop.h"

/* shop_simulate(share_cum, rate, life, aov, aov_shape, day_mult, scalars, n, seed[, acq_cdf]) ->
   (count, order_day, order_amount, order_member, channel, acq_day, dropout, member_since,
    eligible, service).  scalars = [member_share, member_threshold, member_rate_mult,
    member_life_mult, member_discount, service_share, service_aov_mult]; acq_cdf (None or
   n_days values): cumulative acquisition probability by day, default uniform. */
static PyObject *py_shop_simulate(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *o[7], *cdf_obj = Py_None;
    PyArrayObject *cdf = NULL;
    Py_ssize_t n_in;
    unsigned long long seed;
    static const char *names[7] = {"share_cum", "rate", "life", "aov", "aov_shape", "day_mult",
                                   "scalars"};
    PyArrayObject *in[7] = {NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    PyArrayObject *count = NULL, *offset = NULL, *oday = NULL, *oamt = NULL, *omem = NULL;
    PyArrayObject *chan = NULL, *acq = NULL, *drop = NULL, *since = NULL, *elig = NULL,
                  *svc = NULL;
    int st;
    if (!PyArg_ParseTuple(args, "OOOOOOOnK|O", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6],
                          &n_in, &seed, &cdf_obj))
        return NULL;
    if (n_in < 0) {
        PyErr_SetString(PyExc_ValueError, "shop_simulate: n_customers must be >= 0");
        return NULL;
    }
    for (int j = 0; j < 7; j++)
        if (!(in[j] = sy_as_1d(o[j], NPY_FLOAT64, names[j], -1))) goto fail;
    npy_intp nc = PyArray_DIM(in[0], 0);
    for (int j = 1; j < 5; j++)
        if (PyArray_DIM(in[j], 0) != nc) {
            PyErr_Format(PyExc_ValueError, "shop_simulate: '%s' has length %zd, expected %zd",
                         names[j], (Py_ssize_t)PyArray_DIM(in[j], 0), (Py_ssize_t)nc);
            goto fail;
        }
    if (PyArray_DIM(in[6], 0) != 7) {
        PyErr_SetString(PyExc_ValueError, "shop_simulate: 'scalars' must have 7 values");
        goto fail;
    }
    if (cdf_obj != Py_None &&
        !(cdf = sy_as_1d(cdf_obj, NPY_FLOAT64, "acq_cdf", PyArray_DIM(in[5], 0))))
        goto fail;
    const double *sc = (const double *)PyArray_DATA(in[6]);
    sy_shop_params p = {
        (int64_t)nc, (const double *)PyArray_DATA(in[0]), (const double *)PyArray_DATA(in[1]),
        (const double *)PyArray_DATA(in[2]), (const double *)PyArray_DATA(in[3]),
        (const double *)PyArray_DATA(in[4]), (int64_t)PyArray_DIM(in[5], 0),
        (const double *)PyArray_DATA(in[5]), cdf ? (const double *)PyArray_DATA(cdf) : NULL,
        sc[0], sc[1], sc[2], sc[3], sc[4], sc[5], sc[6]};
    st = sy_shop_check(&p);
    if (st != SY_OK) {
        if (st == SY_ERANGE)
            PyErr_SetString(PyExc_OverflowError, "shop_simulate: orders_per_year x rate "
                            "multipliers x window days exceeds 1e8 orders per customer; lower "
                            "orders_per_year or shorten the window");
        else
            PyErr_SetString(PyExc_ValueError, "shop_simulate: invalid parameters");
        goto fail;
    }
    npy_intp n = (npy_intp)n_in;
    if (!(count = sy_empty_1d(n, NPY_INT64)) || !(offset = sy_empty_1d(n, NPY_INT64))) goto fail;
    int64_t total = 0;
    Py_BEGIN_ALLOW_THREADS
    st = sy_shop_count(&p, (int64_t)n, (uint64_t)seed, (int64_t *)PyArray_DATA(count));
    if (st == SY_OK) {
        const int64_t *c = (const int64_t *)PyArray_DATA(count);
        int64_t *of = (int64_t *)PyArray_DATA(offset);
        for (npy_intp i = 0; i < n; i++) {
            of[i] = total;
            if (c[i] < 0 || c[i] > INT64_MAX - total) {
                st = SY_ENOMEM;
                break;
            }
            total += c[i];
        }
    }
    Py_END_ALLOW_THREADS
    if (st != SY_OK) {
        sy_raise(st, "shop_simulate");
        goto fail;
    }
    if ((uint64_t)total > (uint64_t)NPY_MAX_INTP / 8) {
        sy_raise(SY_ENOMEM, "shop_simulate");
        goto fail;
    }
    if (!(oday = sy_empty_1d((npy_intp)total, NPY_INT64)) ||
        !(oamt = sy_empty_1d((npy_intp)total, NPY_FLOAT64)) ||
        !(omem = sy_empty_1d((npy_intp)total, NPY_BOOL)) || !(chan = sy_empty_1d(n, NPY_INT64)) ||
        !(acq = sy_empty_1d(n, NPY_INT64)) || !(drop = sy_empty_1d(n, NPY_FLOAT64)) ||
        !(since = sy_empty_1d(n, NPY_INT64)) || !(elig = sy_empty_1d(n, NPY_BOOL)) ||
        !(svc = sy_empty_1d(n, NPY_BOOL)))
        goto fail;
    Py_BEGIN_ALLOW_THREADS
    st = sy_shop_fill(&p, (int64_t)n, (uint64_t)seed, (const int64_t *)PyArray_DATA(count),
                      (const int64_t *)PyArray_DATA(offset), (int64_t *)PyArray_DATA(oday),
                      (double *)PyArray_DATA(oamt), (uint8_t *)PyArray_DATA(omem),
                      (int64_t *)PyArray_DATA(chan), (int64_t *)PyArray_DATA(acq),
                      (double *)PyArray_DATA(drop), (int64_t *)PyArray_DATA(since),
                      (uint8_t *)PyArray_DATA(elig), (uint8_t *)PyArray_DATA(svc));
    Py_END_ALLOW_THREADS
    if (st != SY_OK) {
        sy_raise(st, "shop_simulate");
        goto fail;
    }
    for (int j = 0; j < 7; j++) Py_DECREF(in[j]);
    Py_XDECREF(cdf);
    Py_DECREF(offset);
    return Py_BuildValue("(NNNNNNNNNN)", count, oday, oamt, omem, chan, acq, drop, since, elig,
                         svc);
fail:
    for (int j = 0; j < 7; j++) Py_XDECREF(in[j]);
    Py_XDECREF(cdf);
    Py_XDECREF(count);
    Py_XDECREF(offset);
    Py_XDECREF(oday);
    Py_XDECREF(oamt);
    Py_XDECREF(omem);
    Py_XDECREF(chan);
    Py_XDECREF(acq);
    Py_XDECREF(drop);
    Py_XDECREF(since);
    Py_XDECREF(elig);
    Py_XDECREF(svc);
    return NULL;
}
/* ==== shop: end ==== */

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
    {"factorize_int64", py_factorize_int64, METH_VARARGS,
     "factorize_int64(ids) -> (codes, sorted uniques)"},
    {"group_rows", py_group_rows, METH_VARARGS,
     "group_rows(cust, day, k) -> (offsets, perm, day_sorted, cust_sorted)"},
    /* cohorts methods: begin */
    {"cohort_first", py_cohort_first, METH_VARARGS,
     "cohort_first(cust, day, amount, group, k, end) -> (first_day, first_group, n_refund_only)"},
    {"cohort_second", py_cohort_second, METH_VARARGS,
     "cohort_second(cust, day, amount, k, end, first_day) -> second_day"},
    {"cohort_matrix", py_cohort_matrix, METH_VARARGS,
     "cohort_matrix(cust, day, amount, k, end, period, cell_row, cust_per, n_rows, n_ages, "
     "lo_day, max_bitset_words) -> (active, orders, revenue, n_dropped)"},
    {"retention_count", py_retention_count, METH_VARARGS,
     "retention_count(cust, day, amount, k, end, first_day, group, n_groups, kind, lo, hi, "
     "max_bitset_words) -> (eligible, retained)"},
    {"interpurchase", py_interpurchase, METH_VARARGS,
     "interpurchase(cust, day, amount, k, end) -> (count, gaps)"},
    {"survival_km", py_survival_km, METH_VARARGS,
     "survival_km(duration, event, tmax) -> (events, censored, at_risk, survival, var_sum)"},
    {"set_parallel_min_rows", py_set_parallel_min_rows, METH_VARARGS,
     "set_parallel_min_rows(n) -> previous; rows from which cohort/retention passes use threads"},
    /* cohorts methods: end */
    /* segments methods: begin */
    {"segment_sweep", py_segment_sweep, METH_VARARGS,
     "segment_sweep(cust, day, amount, member, k, ends, mode, bounds, with_stages) -> "
     "(stages (m, k) int8 or None, last_day, occasions, revenue or None, member_day)"},
    {"segment_transitions", py_segment_transitions, METH_VARARGS,
     "segment_transitions(stages, n_states) -> int64 (m-1, s, s) counts"},
    {"quantile_scores", py_quantile_scores, METH_VARARGS,
     "quantile_scores(values, bins, ties) -> int64 scores 1..bins"},
    /* segments methods: end */
    /* models methods: begin */
    {"model_loglik", py_model_loglik, METH_VARARGS,
     "model_loglik(model, params, c0, c1, c2, w) -> (loglik, gradient)"},
    {"model_fit", py_model_fit, METH_VARARGS,
     "model_fit(model, c0, c1, c2, w, starts, penalizer, maxiter, gtol) -> fit tuple"},
    {"model_predict", py_model_predict, METH_VARARGS,
     "model_predict(model, what, params, cols) -> float64 array"},
    {"simulate_purchases", py_simulate_purchases, METH_VARARGS,
     "simulate_purchases(model, params, T, seed) -> (count, times, tx)"},
    {"simulate_amounts", py_simulate_amounts, METH_VARARGS,
     "simulate_amounts(pqg, k, seed) -> amounts"},
    /* models methods: end */
    /* shop methods: begin */
    {"shop_simulate", py_shop_simulate, METH_VARARGS,
     "shop_simulate(share_cum, rate, life, aov, aov_shape, day_mult, scalars, n, seed[, acq_cdf]) "
     "-> 10 arrays"},
    /* shop methods: end */
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
