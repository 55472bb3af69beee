/*
 * py_cohorts.c -- cohort, retention and survival kernels (sy_cohort.h).
 *
 * Glue only: parse -> coerce -> check -> allocate -> run the kernel without the GIL
 * (SY_NOGIL_BEGIN/END, which lets kernels poll for Ctrl-C) -> map status to exception.
 */
#include "py_glue.h"
#include "sy_cohort.h"

/* Wrappers of the cohort / retention / survival kernels (sy_cohort.h).  Each log kernel
   takes an optional last argument, the offsets of the stored (grouped) log; it then
   runs the grouped kernel and the customer codes may be None. */

/* The columns of a log given either as (cust, day, amount) or, with offsets (the stored
   log of siyu.Transactions: rows grouped by customer, sorted by day), as (None or cust,
   day, amount, offsets).  Returns 0 (offsets NULL when not given) or -1 with an error. */
static int coerce_log_or_grouped(PyObject *cust_obj, PyObject *day_obj, PyObject *amount_obj,
                                 PyObject *offsets_obj, Py_ssize_t k, PyArrayObject **cust,
                                 PyArrayObject **day, PyArrayObject **amount,
                                 PyArrayObject **offsets)
{
    *cust = *day = *amount = *offsets = NULL;
    if (offsets_obj == Py_None || offsets_obj == NULL) {
        if (cust_obj == Py_None) {
            PyErr_SetString(PyExc_TypeError, "customer codes are needed without offsets");
            return -1;
        }
        return sy_coerce_log(cust_obj, day_obj, amount_obj, cust, day, amount);
    }
    if (!(*day = sy_as_1d(day_obj, NPY_INT64, "time", -1))) return -1;
    npy_intp n = PyArray_DIM(*day, 0);
    if (cust_obj != Py_None && !(*cust = sy_as_1d(cust_obj, NPY_INT64, "customer", n))) return -1;
    if (amount_obj != Py_None && !(*amount = sy_as_1d(amount_obj, NPY_FLOAT64, "amount", n)))
        return -1;
    if (sy_check_days(*day, "time") < 0) return -1;
    if (!(*offsets = sy_as_1d(offsets_obj, NPY_INT64, "offsets", k + 1))) return -1;
    if (!sy_offsets_ok(SY_I64(*offsets), (int64_t)k, (int64_t)n)) {
        PyErr_SetString(PyExc_ValueError, "offsets must rise from 0 to the number of rows");
        return -1;
    }
    return 0;
}



/* 0, or -1 with ValueError when v[c] (a day or period index) is outside [SY_DAY_MIN,
   SY_DAY_MAX] for some c with sel[c] >= 0: the kernels subtract these values. */
static int check_selected_days(PyArrayObject *v, PyArrayObject *sel, const char *name)
{
    const int64_t *x = SY_I64(v), *s = SY_I64(sel);
    npy_intp k = PyArray_DIM(v, 0);
    for (npy_intp c = 0; c < k; c++) {
        if (s[c] >= 0 && (x[c] < SY_DAY_MIN || x[c] > SY_DAY_MAX)) {
            PyErr_Format(PyExc_ValueError, "argument '%s': entry %zd (%lld) is outside [%lld, "
                         "%lld]", name, (Py_ssize_t)c, (long long)x[c], (long long)SY_DAY_MIN,
                         (long long)SY_DAY_MAX);
            return -1;
        }
    }
    return 0;
}

/* cohort_first(cust, day, amount|None, group|None, k, end)
       -> (first_day, first_group, n_refund_only)
   first_day is INT64_MAX and first_group -1 for customers with no purchase by end. */
static PyObject *py_cohort_first(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *cust_obj, *day_obj, *amount_obj, *group_obj, *offsets_obj = Py_None;
    Py_ssize_t k;
    long long end;
    PyArrayObject *cust = NULL, *day = NULL, *amount = NULL, *group = NULL, *offsets = NULL;
    PyArrayObject *first = NULL, *fgroup = NULL;
    int64_t refund_only = 0;
    int st;
    if (!PyArg_ParseTuple(args, "OOOOnL|O", &cust_obj, &day_obj, &amount_obj, &group_obj, &k,
                          &end, &offsets_obj))
        return NULL;
    if (k < 0) {
        PyErr_SetString(PyExc_ValueError, "number of customers must be >= 0");
        return NULL;
    }
    if (sy_check_day((int64_t)end, "end") < 0) return NULL;
    if (coerce_log_or_grouped(cust_obj, day_obj, amount_obj, offsets_obj, k, &cust, &day, &amount,
                              &offsets))
        goto fail;
    npy_intp n = PyArray_DIM(day, 0);
    if (group_obj != Py_None && !(group = sy_as_1d(group_obj, NPY_INT64, "group", n))) goto fail;
    if (!(first = sy_new_1d(k, NPY_INT64)) || !(fgroup = sy_new_1d(k, NPY_INT64))) goto fail;
    SY_NOGIL_BEGIN
    if (offsets)
        st = sy_cohort_first_grouped(SY_I64(day), SY_OPT_F64(amount), group ? SY_I64(group) : NULL,
                                     SY_I64(offsets), (int64_t)k, (int64_t)end, SY_I64(first),
                                     SY_I64(fgroup), &refund_only);
    else
        st = sy_cohort_first(SY_I64(cust), SY_I64(day), SY_OPT_F64(amount),
                             group ? SY_I64(group) : NULL, (int64_t)n, (int64_t)k, (int64_t)end,
                             SY_I64(first), SY_I64(fgroup), &refund_only);
    SY_NOGIL_END
    if (st != SY_OK) {
        sy_raise_codes(st, "cohort_first");
        goto fail;
    }
    Py_XDECREF(cust);
    Py_DECREF(day);
    Py_XDECREF(amount);
    Py_XDECREF(group);
    Py_XDECREF(offsets);
    return Py_BuildValue("(NNL)", first, fgroup, (long long)refund_only);
fail:
    Py_XDECREF(cust);
    Py_XDECREF(day);
    Py_XDECREF(amount);
    Py_XDECREF(group);
    Py_XDECREF(offsets);
    Py_XDECREF(first);
    Py_XDECREF(fgroup);
    return NULL;
}

/* cohort_second(cust, day, amount|None, k, end, first_day) -> second_day (INT64_MAX: none) */
static PyObject *py_cohort_second(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *cust_obj, *day_obj, *amount_obj, *first_obj, *offsets_obj = Py_None;
    Py_ssize_t k;
    long long end;
    PyArrayObject *cust = NULL, *day = NULL, *amount = NULL, *first = NULL, *second = NULL;
    PyArrayObject *offsets = NULL;
    int st;
    if (!PyArg_ParseTuple(args, "OOOnLO|O", &cust_obj, &day_obj, &amount_obj, &k, &end, &first_obj,
                          &offsets_obj))
        return NULL;
    if (k < 0) {
        PyErr_SetString(PyExc_ValueError, "number of customers must be >= 0");
        return NULL;
    }
    if (sy_check_day((int64_t)end, "end") < 0) return NULL;
    if (coerce_log_or_grouped(cust_obj, day_obj, amount_obj, offsets_obj, k, &cust, &day, &amount,
                              &offsets))
        goto fail;
    npy_intp n = PyArray_DIM(day, 0);
    if (!(first = sy_as_1d(first_obj, NPY_INT64, "first_day", k))) goto fail;
    if (!(second = sy_new_1d(k, NPY_INT64))) goto fail;
    SY_NOGIL_BEGIN
    if (offsets)
        st = sy_cohort_second_grouped(SY_I64(day), SY_OPT_F64(amount), SY_I64(offsets), (int64_t)k,
                                      (int64_t)end, SY_I64(first), SY_I64(second));
    else
        st = sy_cohort_second(SY_I64(cust), SY_I64(day), SY_OPT_F64(amount), (int64_t)n,
                              (int64_t)k, (int64_t)end, SY_I64(first), SY_I64(second));
    SY_NOGIL_END
    if (st != SY_OK) {
        sy_raise_codes(st, "cohort_second");
        goto fail;
    }
    Py_XDECREF(cust);
    Py_DECREF(day);
    Py_XDECREF(amount);
    Py_DECREF(first);
    Py_XDECREF(offsets);
    return (PyObject *)second;
fail:
    Py_XDECREF(cust);
    Py_XDECREF(day);
    Py_XDECREF(amount);
    Py_XDECREF(first);
    Py_XDECREF(second);
    Py_XDECREF(offsets);
    return NULL;
}

/* cohort_matrix(cust, day, amount|None, k, end, period, cell_row, cust_per, n_rows, n_ages,
                 lo_day, max_bitset_words) -> (active, orders, revenue|None, n_dropped)
   with 2-d (n_rows, n_ages) outputs; revenue only when amounts are given. */
static PyObject *py_cohort_matrix(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *cust_obj, *day_obj, *amount_obj, *row_obj, *per_obj, *offsets_obj = Py_None;
    Py_ssize_t k, n_rows, n_ages;
    long long end, lo_day, max_words;
    int period, st;
    int64_t dropped = 0;
    PyArrayObject *cust = NULL, *day = NULL, *amount = NULL, *row = NULL, *per = NULL;
    PyArrayObject *active = NULL, *orders = NULL, *revenue = NULL, *offsets = NULL;
    if (!PyArg_ParseTuple(args, "OOOnLiOOnnLL|O", &cust_obj, &day_obj, &amount_obj, &k, &end,
                          &period, &row_obj, &per_obj, &n_rows, &n_ages, &lo_day, &max_words,
                          &offsets_obj))
        return NULL;
    if (sy_check_period(period)) return NULL;
    if (k < 0 || n_rows < 0 || n_ages < 0) {
        PyErr_SetString(PyExc_ValueError, "cohort_matrix: sizes must be >= 0");
        return NULL;
    }
    if (sy_check_day((int64_t)end, "end") < 0 || sy_check_day((int64_t)lo_day, "lo_day") < 0)
        return NULL;
    {
        int64_t cells;
        if (!sy_mul_ok((int64_t)n_rows, (int64_t)n_ages, &cells) || cells > NPY_MAX_INTP / 8) {
            PyErr_SetString(PyExc_MemoryError, "cohort_matrix: cohort x age matrix too large");
            return NULL;
        }
    }
    if (coerce_log_or_grouped(cust_obj, day_obj, amount_obj, offsets_obj, k, &cust, &day, &amount,
                              &offsets))
        goto fail;
    npy_intp n = PyArray_DIM(day, 0);
    if (!(row = sy_as_1d(row_obj, NPY_INT64, "cell_row", k))) goto fail;
    if (!(per = sy_as_1d(per_obj, NPY_INT64, "cust_per", k))) goto fail;
    if (check_selected_days(per, row, "cust_per") < 0) goto fail;
    {
        npy_intp dims[2] = {n_rows, n_ages};
        if (!(active = (PyArrayObject *)PyArray_ZEROS(2, dims, NPY_INT64, 0))) goto fail;
        if (!(orders = (PyArrayObject *)PyArray_ZEROS(2, dims, NPY_INT64, 0))) goto fail;
        if (amount && !(revenue = (PyArrayObject *)PyArray_ZEROS(2, dims, NPY_FLOAT64, 0)))
            goto fail;
    }
    SY_NOGIL_BEGIN
    if (offsets)
        st = sy_cohort_matrix_grouped(SY_I64(day), SY_OPT_F64(amount), SY_I64(offsets), (int64_t)k,
                                      (int64_t)end, period, SY_I64(row), SY_I64(per),
                                      (int64_t)n_rows, (int64_t)n_ages, (int64_t)lo_day,
                                      SY_I64(active), SY_I64(orders),
                                      revenue ? SY_F64(revenue) : NULL, &dropped);
    else
        st = sy_cohort_matrix(SY_I64(cust), SY_I64(day), SY_OPT_F64(amount), (int64_t)n, (int64_t)k,
                              (int64_t)end, period, SY_I64(row), SY_I64(per), (int64_t)n_rows,
                              (int64_t)n_ages, (int64_t)lo_day, (int64_t)max_words, SY_I64(active),
                              SY_I64(orders), revenue ? SY_F64(revenue) : NULL, &dropped);
    SY_NOGIL_END
    if (st != SY_OK) {
        sy_raise_codes(st, "cohort_matrix");
        goto fail;
    }
    Py_XDECREF(cust);
    Py_DECREF(day);
    Py_XDECREF(amount);
    Py_DECREF(row);
    Py_DECREF(per);
    Py_XDECREF(offsets);
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
    Py_XDECREF(offsets);
    return NULL;
}

/* retention_count(cust, day, amount|None, k, end, first_day, group, n_groups, kind, lo, hi,
                   max_bitset_words) -> (eligible, retained), each (n_groups, len(lo)) */
static PyObject *py_retention_count(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *cust_obj, *day_obj, *amount_obj, *first_obj, *group_obj, *lo_obj, *hi_obj;
    PyObject *offsets_obj = Py_None;
    Py_ssize_t k, n_groups;
    long long end, max_words;
    int kind, st;
    PyArrayObject *cust = NULL, *day = NULL, *amount = NULL, *first = NULL, *group = NULL;
    PyArrayObject *lo = NULL, *hi = NULL, *elig = NULL, *ret = NULL, *offsets = NULL;
    if (!PyArg_ParseTuple(args, "OOOnLOOniOOL|O", &cust_obj, &day_obj, &amount_obj, &k, &end,
                          &first_obj, &group_obj, &n_groups, &kind, &lo_obj, &hi_obj, &max_words,
                          &offsets_obj))
        return NULL;
    if (k < 0 || n_groups < 0) {
        PyErr_SetString(PyExc_ValueError, "retention_count: sizes must be >= 0");
        return NULL;
    }
    if (sy_check_day((int64_t)end, "end") < 0) return NULL;
    if (kind != SY_RET_NDAY && kind != SY_RET_UNBOUNDED && kind != SY_RET_BRACKET) {
        PyErr_Format(PyExc_ValueError, "retention_count: kind code must be 0, 1 or 2, got %d", kind);
        return NULL;
    }
    if (coerce_log_or_grouped(cust_obj, day_obj, amount_obj, offsets_obj, k, &cust, &day, &amount,
                              &offsets))
        goto fail;
    npy_intp n = PyArray_DIM(day, 0);
    if (!(first = sy_as_1d(first_obj, NPY_INT64, "first_day", k))) goto fail;
    if (!(group = sy_as_1d(group_obj, NPY_INT64, "group", k))) goto fail;
    if (check_selected_days(first, group, "first_day") < 0) goto fail;
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
    SY_NOGIL_BEGIN
    if (offsets)
        st = sy_retention_count_grouped(SY_I64(day), SY_OPT_F64(amount), SY_I64(offsets),
                                        (int64_t)k, (int64_t)end, SY_I64(first), SY_I64(group),
                                        (int64_t)n_groups, kind, SY_I64(lo), SY_I64(hi), (int64_t)m,
                                        SY_I64(elig), SY_I64(ret));
    else
        st = sy_retention_count(SY_I64(cust), SY_I64(day), SY_OPT_F64(amount), (int64_t)n,
                                (int64_t)k, (int64_t)end, SY_I64(first), SY_I64(group),
                                (int64_t)n_groups, kind, SY_I64(lo), SY_I64(hi), (int64_t)m,
                                (int64_t)max_words, SY_I64(elig), SY_I64(ret));
    SY_NOGIL_END
    if (st != SY_OK) {
        sy_raise_codes(st, "retention_count");
        goto fail;
    }
    Py_XDECREF(cust);
    Py_DECREF(day);
    Py_XDECREF(amount);
    Py_DECREF(first);
    Py_DECREF(group);
    Py_DECREF(lo);
    Py_DECREF(hi);
    Py_XDECREF(offsets);
    return Py_BuildValue("(NN)", elig, ret);
fail:
    Py_XDECREF(offsets);
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
    PyObject *cust_obj, *day_obj, *amount_obj, *offsets_obj = Py_None;
    Py_ssize_t k;
    long long end;
    int st;
    int64_t *gaps = NULL, n_gaps = 0;
    PyArrayObject *cust = NULL, *day = NULL, *amount = NULL, *count = NULL, *out = NULL;
    PyArrayObject *offsets = NULL;
    if (!PyArg_ParseTuple(args, "OOOnL|O", &cust_obj, &day_obj, &amount_obj, &k, &end, &offsets_obj))
        return NULL;
    if (k < 0) {
        PyErr_SetString(PyExc_ValueError, "number of customers must be >= 0");
        return NULL;
    }
    if (sy_check_day((int64_t)end, "end") < 0) return NULL;
    if (coerce_log_or_grouped(cust_obj, day_obj, amount_obj, offsets_obj, k, &cust, &day, &amount,
                              &offsets))
        goto fail;
    npy_intp n = PyArray_DIM(day, 0);
    if (!(count = sy_new_1d(k, NPY_INT64))) goto fail;
    SY_NOGIL_BEGIN
    if (offsets)
        st = sy_retention_interpurchase_grouped(SY_I64(day), SY_OPT_F64(amount), SY_I64(offsets),
                                                (int64_t)k, (int64_t)end, SY_I64(count), &gaps,
                                                &n_gaps);
    else
        st = sy_retention_interpurchase(SY_I64(cust), SY_I64(day), SY_OPT_F64(amount), (int64_t)n,
                                        (int64_t)k, (int64_t)end, SY_I64(count), &gaps, &n_gaps);
    SY_NOGIL_END
    if (st != SY_OK) {
        sy_raise_codes(st, "interpurchase");
        goto fail;
    }
    if (!(out = sy_new_1d((npy_intp)n_gaps, NPY_INT64))) goto fail;
    if (n_gaps > 0) memcpy(PyArray_DATA(out), gaps, sizeof(int64_t) * (size_t)n_gaps);
    free(gaps);
    Py_XDECREF(cust);
    Py_DECREF(day);
    Py_XDECREF(amount);
    Py_XDECREF(offsets);
    return Py_BuildValue("(NN)", count, out);
fail:
    free(gaps);
    Py_XDECREF(offsets);
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
    SY_NOGIL_BEGIN
    st = sy_survival_km(SY_I64(dur), SY_I64(ev), (int64_t)n, (int64_t)tmax, SY_I64(out[0]),
                        SY_I64(out[1]), SY_I64(out[2]), SY_F64(out[3]), SY_F64(out[4]));
    SY_NOGIL_END
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


PyMethodDef sy_cohort_methods[] = {
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
    {NULL, NULL, 0, NULL},
};
