/*
 * py_metrics.c -- glue of the operators' metrics kernels (sy_metrics.c).
 *
 * Parse -> coerce -> check -> allocate -> run the kernel without the GIL (polling for
 * Ctrl-C) -> map the status to an exception.
 */
#include "py_glue.h"
#include "sy_metrics.h"

/*
 * metric_periods(cust, day, amount|None, k, group|None, n_groups, lo, hi, period, p0,
 *                n_buckets, count_orders)
 *   -> (buyers, repeaters, units, returned), each int64 (n_groups, n_buckets)
 *   period = -1: the window [lo, hi] is one bucket (n_buckets = 1).
 */
static PyObject *py_metric_periods(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *cust_obj, *day_obj, *amount_obj, *group_obj;
    Py_ssize_t k, n_groups, n_buckets;
    long long lo, hi, p0;
    int period, count_orders;
    PyArrayObject *cust = NULL, *day = NULL, *amount = NULL, *group = NULL;
    PyArrayObject *out[4] = {NULL, NULL, NULL, NULL};
    int st;
    if (!PyArg_ParseTuple(args, "OOOnOnLLiLnp", &cust_obj, &day_obj, &amount_obj, &k, &group_obj,
                          &n_groups, &lo, &hi, &period, &p0, &n_buckets, &count_orders))
        return NULL;
    if (k < 0 || n_groups < 1 || n_buckets < 1) {
        PyErr_SetString(PyExc_ValueError, "metric_periods: k must be >= 0, n_groups and "
                        "n_buckets >= 1");
        return NULL;
    }
    if (period != SY_METRICS_WINDOW && sy_check_period(period) < 0) return NULL;
    if (period == SY_METRICS_WINDOW && n_buckets != 1) {
        PyErr_SetString(PyExc_ValueError, "metric_periods: a whole-window count has one bucket");
        return NULL;
    }
    int64_t cells;
    if (!sy_mul_ok((int64_t)n_groups, (int64_t)n_buckets, &cells) || cells > (int64_t)1 << 25) {
        PyErr_Format(PyExc_ValueError, "metric_periods: %zd groups x %zd periods is too many "
                     "cells; use a longer period or fewer groups", n_groups, n_buckets);
        return NULL;
    }
    if (period != SY_METRICS_WINDOW && sy_check_day((int64_t)p0, "p0") < 0) return NULL;
    /* every day of the log lies in [SY_DAY_MIN, SY_DAY_MAX] (checked below), so clamping
       the window there selects the same rows and keeps the kernel's day arithmetic exact */
    if (lo < SY_DAY_MIN) lo = SY_DAY_MIN;
    if (hi > SY_DAY_MAX) hi = SY_DAY_MAX;
    if (sy_coerce_log(cust_obj, day_obj, amount_obj, &cust, &day, &amount)) goto fail;
    npy_intp n = PyArray_DIM(cust, 0);
    if (group_obj != Py_None && !(group = sy_as_1d(group_obj, NPY_INT64, "group", k))) goto fail;
    {
        npy_intp dims[2] = {n_groups, n_buckets};
        for (int j = 0; j < 4; j++)
            if (!(out[j] = (PyArrayObject *)PyArray_ZEROS(2, dims, NPY_INT64, 0))) goto fail;
    }
    SY_NOGIL_BEGIN
    st = sy_metrics_periods(SY_I64(cust), SY_I64(day), SY_OPT_F64(amount),
                            (int64_t)n, (int64_t)k, group ? SY_I64(group) : NULL,
                            (int64_t)n_groups, (int64_t)lo, (int64_t)hi, period, (int64_t)p0,
                            (int64_t)n_buckets, count_orders, SY_I64(out[0]), SY_I64(out[1]),
                            SY_I64(out[2]), SY_I64(out[3]));
    SY_NOGIL_END
    if (st != SY_OK) {
        if (st == SY_EINVAL)
            PyErr_SetString(PyExc_ValueError, "metric_periods: rows must be grouped by customer "
                            "code in [0, k) with days ascending within a customer, group codes "
                            "in [-1, n_groups) and every purchase day in a bucket");
        else
            sy_raise(st, "metric_periods");
        goto fail;
    }
    Py_DECREF(cust);
    Py_DECREF(day);
    Py_XDECREF(amount);
    Py_XDECREF(group);
    return Py_BuildValue("(NNNN)", out[0], out[1], out[2], out[3]);
fail:
    Py_XDECREF(cust);
    Py_XDECREF(day);
    Py_XDECREF(amount);
    Py_XDECREF(group);
    for (int j = 0; j < 4; j++) Py_XDECREF(out[j]);
    return NULL;
}

PyMethodDef sy_metric_methods[] = {
    {"metric_periods", py_metric_periods, METH_VARARGS,
     "metric_periods(cust, day, amount, k, group, n_groups, lo, hi, period, p0, n_buckets, "
     "count_orders) -> (buyers, repeaters, units, returned) int64 (n_groups, n_buckets)"},
    {NULL, NULL, 0, NULL},
};
