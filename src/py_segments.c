/*
 * py_segments.c -- lifecycle stages, value tiers, migration, RFM scores.
 *
 * Glue only: parse -> coerce -> check -> allocate -> run the kernel without the GIL
 * (SY_NOGIL_BEGIN/END, which lets kernels poll for Ctrl-C) -> map status to exception.
 */
#include "py_glue.h"

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
    if (sy_check_days(day, "time") < 0) goto fail;
    if (!(ends = sy_as_1d(ends_obj, NPY_INT64, "ends", -1))) goto fail;
    if (sy_check_days(ends, "ends") < 0) goto fail;
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
        SY_NOGIL_BEGIN
        st = sy_segments_sweep(c, d, a, mb, (int64_t)n, (int64_t)k, e, (int64_t)m, mode, b, nb,
                               so, lo, oo, ro, mo);
        SY_NOGIL_END
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
        SY_NOGIL_BEGIN
        st = sy_segments_transitions(in, (int64_t)k, (int64_t)m, (int64_t)s, o);
        SY_NOGIL_END
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
        SY_NOGIL_BEGIN
        st = sy_segments_scores(v, (int64_t)n, (int64_t)bins, ties, o);
        SY_NOGIL_END
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

PyMethodDef sy_segment_methods[] = {
    {"segment_sweep", py_segment_sweep, METH_VARARGS,
     "segment_sweep(cust, day, amount, member, k, ends, mode, bounds, with_stages) -> "
     "(stages (m, k) int8 or None, last_day, occasions, revenue or None, member_day)"},
    {"segment_transitions", py_segment_transitions, METH_VARARGS,
     "segment_transitions(stages, n_states) -> int64 (m-1, s, s) counts"},
    {"quantile_scores", py_quantile_scores, METH_VARARGS,
     "quantile_scores(values, bins, ties) -> int64 scores 1..bins"},
    {NULL, NULL, 0, NULL},
};
