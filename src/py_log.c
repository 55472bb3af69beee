/*
 * py_log.c -- calendar, summaries, id factorisation, row grouping, threads.
 *
 * Glue only: parse -> coerce -> check -> allocate -> run the kernel without the GIL
 * (SY_NOGIL_BEGIN/END, which lets kernels poll for Ctrl-C) -> map status to exception.
 */
#include "py_glue.h"

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
    SY_NOGIL_BEGIN
    st = sy_period_index_array((const int64_t *)PyArray_DATA(day), (int64_t)n, period,
                               (int64_t *)PyArray_DATA(out));
    SY_NOGIL_END
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
        SY_NOGIL_BEGIN
        for (npy_intp i = 0; i < n; i++) o[i] = sy_period_start(in[i], period);
        SY_NOGIL_END
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
        SY_NOGIL_BEGIN
        st = sy_summary_compute(c, d, a, (int64_t)n, (int64_t)k, period, (int64_t)lo, (int64_t)hi,
                                (int64_t *)PyArray_DATA(out[0]), (int64_t *)PyArray_DATA(out[1]),
                                (int64_t *)PyArray_DATA(out[2]), (int64_t *)PyArray_DATA(out[3]),
                                (int64_t *)PyArray_DATA(out[4]), (int64_t *)PyArray_DATA(out[5]),
                                (double *)PyArray_DATA(out[6]), (double *)PyArray_DATA(out[7]),
                                (double *)PyArray_DATA(out[8]));
        SY_NOGIL_END
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
        SY_NOGIL_BEGIN
        st = sy_factorize_int64(in, (int64_t)n, c, u, &k);
        SY_NOGIL_END
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
        SY_NOGIL_BEGIN
        st = sy_group_rows(c, d, (int64_t)n, (int64_t)k, o, p, dout, cout);
        SY_NOGIL_END
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


PyMethodDef sy_log_methods[] = {
    {"period_index", py_period_index, METH_VARARGS, "period_index(day, period) -> int64 array"},
    {"period_start", py_period_start, METH_VARARGS, "period_start(index, period) -> int64 array"},
    {"summary", py_summary, METH_VARARGS,
     "summary(cust, day, amount, k, period, lo, hi) -> 9 per-customer arrays"},
    {"factorize_int64", py_factorize_int64, METH_VARARGS,
     "factorize_int64(ids) -> (codes, sorted uniques)"},
    {"group_rows", py_group_rows, METH_VARARGS,
     "group_rows(cust, day, k) -> (offsets, perm, day_sorted, cust_sorted)"},
    {"set_num_threads", py_set_num_threads, METH_VARARGS, "set_num_threads(n)"},
    {"get_num_threads", py_get_num_threads, METH_NOARGS, "get_num_threads() -> int"},
    {NULL, NULL, 0, NULL},
};
