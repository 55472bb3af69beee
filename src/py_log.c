/*
 * py_log.c -- calendar, summaries, id factorisation, row grouping, threads.
 *
 * Glue only: parse -> coerce -> check -> allocate -> run the kernel without the GIL
 * (SY_NOGIL_BEGIN/END, which lets kernels poll for Ctrl-C) -> map status to exception.
 */
#include "py_glue.h"
#include "sy_orders.h"

/* ------------------------------------------------------------------------ */
/* calendar                                                                  */
/* ------------------------------------------------------------------------ */

typedef struct {
    const int64_t *day;
    int64_t *out;
    int period;
    _Atomic int stop;       /* a worker saw an interrupt (SY_EINTR) */
} period_ctx;

static void period_range(void *vctx, int64_t i0, int64_t i1)
{
    period_ctx *x = (period_ctx *)vctx;
    if (sy_period_index_array(x->day + i0, i1 - i0, x->period, x->out + i0) != SY_OK)
        x->stop = 1;
}

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
    {
        /* the kernel range, and the first days of its first and last periods (period
           arithmetic is exact well beyond it) */
        const int64_t *d = SY_I64(day);
        for (npy_intp i = 0; i < n; i++) {
            if (d[i] < SY_DAY_MIN - 400 || d[i] > SY_DAY_MAX + 400) {
                PyErr_Format(PyExc_ValueError, "argument 'day': day numbers must lie in "
                             "[%lld, %lld] (got %lld); build the log with siyu.Transactions, "
                             "which checks the supported dates", (long long)SY_DAY_MIN,
                             (long long)SY_DAY_MAX, (long long)d[i]);
                goto fail;
            }
        }
    }
    if (!(out = sy_new_1d(n, NPY_INT64))) goto fail;
    SY_NOGIL_BEGIN
    if (n >= 1000000) {        /* calendar arithmetic per day: split across threads */
        period_ctx x = {(const int64_t *)PyArray_DATA(day), (int64_t *)PyArray_DATA(out), period, 0};
        sy_parallel_for((int64_t)n, 250000, period_range, &x);
        st = x.stop ? SY_EINTR : SY_OK;
    } else {
        st = sy_period_index_array((const int64_t *)PyArray_DATA(day), (int64_t)n, period,
                                   (int64_t *)PyArray_DATA(out));
    }
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
    {
        /* indices of periods within [SY_DAY_MIN, SY_DAY_MAX] (and the one after): their
           start days are computed without overflow */
        const int64_t *in = (const int64_t *)PyArray_DATA(idx);
        const int64_t lo = sy_period_index(SY_DAY_MIN, period);
        const int64_t hi = sy_period_index(SY_DAY_MAX, period) + 1;
        for (npy_intp i = 0; i < n; i++) {
            if (in[i] < lo || in[i] > hi) {
                PyErr_Format(PyExc_ValueError, "argument 'index': period index %lld is "
                             "outside [%lld, %lld] (periods of the days siyu supports)",
                             (long long)in[i], (long long)lo, (long long)hi);
                goto fail;
            }
        }
    }
    if (!(out = sy_new_1d(n, NPY_INT64))) goto fail;
    {
        const int64_t *in = (const int64_t *)PyArray_DATA(idx);
        int64_t *o = (int64_t *)PyArray_DATA(out);
        int st;
        SY_NOGIL_BEGIN
        st = sy_period_start_array(in, (int64_t)n, period, o);
        SY_NOGIL_END
        if (st != SY_OK) {
            sy_raise(st, "period_start");
            goto fail;
        }
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
 * summary(cust, day, amount_or_None, k, period, lo, hi[, offsets]) -> tuple of 9 arrays
 *   (n_occ, first_day, last_day, first_per, last_per, n_orders, revenue,
 *    first_amount, repeat_sum), each of length k, for rows with lo < day <= hi.
 *   offsets (k + 1, optional): the rows are the stored log (grouped by customer,
 *   sorted by day) and these delimit the customers; checked to be a partition of n.
 */
static PyObject *py_summary(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *cust_obj, *day_obj, *amount_obj, *offsets_obj = Py_None;
    Py_ssize_t k;
    int period;
    long long lo, hi;
    PyArrayObject *cust = NULL, *day = NULL, *amount = NULL, *offsets = NULL;
    PyArrayObject *out[9] = {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    int st;
    if (!PyArg_ParseTuple(args, "OOOniLL|O", &cust_obj, &day_obj, &amount_obj, &k, &period, &lo,
                          &hi, &offsets_obj))
        return NULL;
    if (sy_check_period(period)) return NULL;
    if (k < 0) {
        PyErr_SetString(PyExc_ValueError, "number of customers must be >= 0");
        return NULL;
    }
    if (cust_obj == Py_None && offsets_obj == Py_None) {
        PyErr_SetString(PyExc_TypeError, "summary: customer codes are needed without offsets");
        return NULL;
    }
    if (!(day = sy_as_1d(day_obj, NPY_INT64, "time", -1))) goto fail;
    npy_intp n = PyArray_DIM(day, 0);
    if (cust_obj != Py_None && !(cust = sy_as_1d(cust_obj, NPY_INT64, "customer", n))) goto fail;
    if (amount_obj != Py_None && !(amount = sy_as_1d(amount_obj, NPY_FLOAT64, "amount", n))) goto fail;
    if (offsets_obj != Py_None) {
        if (!(offsets = sy_as_1d(offsets_obj, NPY_INT64, "offsets", k + 1))) goto fail;
        const int64_t *o = SY_I64(offsets);
        int okay = o[0] == 0 && o[k] == (int64_t)n;
        for (Py_ssize_t c = 0; c < k && okay; c++) okay = o[c] <= o[c + 1];
        if (!okay) {
            PyErr_SetString(PyExc_ValueError, "summary: offsets must rise from 0 to the number of rows");
            goto fail;
        }
    }
    for (int j = 0; j < 9; j++) {
        if (!(out[j] = sy_new_1d(k, j >= 6 ? NPY_FLOAT64 : NPY_INT64))) goto fail;
    }
    {
        const int64_t *c = cust ? (const int64_t *)PyArray_DATA(cust) : NULL;
        const int64_t *d = (const int64_t *)PyArray_DATA(day);
        const double *a = amount ? (const double *)PyArray_DATA(amount) : NULL;
        SY_NOGIL_BEGIN
        const int64_t *go = offsets ? SY_I64(offsets) : NULL;
        st = sy_summary_compute(c, d, a, go, (int64_t)n, (int64_t)k, period, (int64_t)lo, (int64_t)hi,
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
    Py_XDECREF(cust);
    Py_DECREF(day);
    Py_XDECREF(amount);
    Py_XDECREF(offsets);
    return Py_BuildValue("(NNNNNNNNN)", out[0], out[1], out[2], out[3], out[4], out[5], out[6],
                         out[7], out[8]);
fail:
    Py_XDECREF(cust);
    Py_XDECREF(day);
    Py_XDECREF(amount);
    Py_XDECREF(offsets);
    for (int j = 0; j < 9; j++) Py_XDECREF(out[j]);
    return NULL;
}


/* summary_table(day, amount_or_None, offsets, period, lo, hi, end_per, end_day, scale,
                 include_first, date_scale) -> (n_kept, keep, frequency, recency, T,
   monetary_or_None, n_orders, revenue_or_None, first, last, since); columns hold k
   entries of which the first n_kept are the buyers (see sy_summary_table). */
static PyObject *py_summary_table(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *day_obj, *amount_obj, *offsets_obj, *res = NULL;
    int period, include_first;
    long long lo, hi, end_per, end_day, date_scale;
    double scale;
    PyArrayObject *day = NULL, *amount = NULL, *offsets = NULL, *keep = NULL;
    PyArrayObject *col[9] = {NULL};
    int64_t n_kept = 0;
    int st;
    if (!PyArg_ParseTuple(args, "OOOiLLLLdpL", &day_obj, &amount_obj, &offsets_obj, &period, &lo,
                          &hi, &end_per, &end_day, &scale, &include_first, &date_scale))
        return NULL;
    if (sy_check_period(period)) return NULL;
    if (!(day = sy_as_1d(day_obj, NPY_INT64, "day", -1))) goto fail;
    npy_intp n = PyArray_DIM(day, 0);
    if (amount_obj != Py_None && !(amount = sy_as_1d(amount_obj, NPY_FLOAT64, "amount", n))) goto fail;
    if (!(offsets = sy_as_1d(offsets_obj, NPY_INT64, "offsets", -1))) goto fail;
    npy_intp k = PyArray_DIM(offsets, 0) - 1;
    {
        const int64_t *o = SY_I64(offsets);
        int okay = k >= 0 && o[0] == 0 && o[k] == (int64_t)n;
        for (npy_intp c = 0; c < k && okay; c++) okay = o[c] <= o[c + 1];
        if (!okay) {
            PyErr_SetString(PyExc_ValueError, "summary_table: offsets must rise from 0 to the number of rows");
            goto fail;
        }
    }
    if (!(keep = sy_empty_1d(k, NPY_BOOL))) goto fail;
    static const int kinds[9] = {NPY_INT64, NPY_FLOAT64, NPY_FLOAT64, NPY_FLOAT64, NPY_INT64,
                                 NPY_FLOAT64, NPY_INT64, NPY_INT64, NPY_INT64};
    for (int j = 0; j < 9; j++) {
        if ((j == 3 || j == 5) && !amount) continue;
        if (!(col[j] = sy_empty_1d(k, kinds[j]))) goto fail;
    }
    SY_NOGIL_BEGIN
    st = sy_summary_table(SY_I64(day), SY_OPT_F64(amount), SY_I64(offsets), (int64_t)k, period,
                          (int64_t)lo, (int64_t)hi, (int64_t)end_per, (int64_t)end_day, scale,
                          include_first, (int64_t)date_scale, SY_I64(col[0]), SY_F64(col[1]),
                          SY_F64(col[2]), col[3] ? SY_F64(col[3]) : NULL, SY_I64(col[4]),
                          col[5] ? SY_F64(col[5]) : NULL, SY_I64(col[6]), SY_I64(col[7]),
                          SY_I64(col[8]), (uint8_t *)PyArray_DATA(keep), &n_kept);
    SY_NOGIL_END
    if (st != SY_OK) {
        sy_raise(st, "summary_table");
        goto fail;
    }
    res = Py_BuildValue("(LOOOOOOOOOO)", (long long)n_kept, (PyObject *)keep, (PyObject *)col[0],
                        (PyObject *)col[1], (PyObject *)col[2], col[3] ? (PyObject *)col[3] : Py_None,
                        (PyObject *)col[4], col[5] ? (PyObject *)col[5] : Py_None,
                        (PyObject *)col[6], (PyObject *)col[7], (PyObject *)col[8]);
fail:
    Py_XDECREF(day);
    Py_XDECREF(amount);
    Py_XDECREF(offsets);
    Py_XDECREF(keep);
    for (int j = 0; j < 9; j++) Py_XDECREF(col[j]);
    return res;
}

/* ------------------------------------------------------------------------ */
/* ids and row order                                                         */
/* ------------------------------------------------------------------------ */

/* take(values, idx) -> values[idx] for a 1-d array of plain items (bool, integers,
   floats, datetimes); idx int64 in [0, len(values)).  All threads, Ctrl-C polled. */
static PyObject *py_take(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *values_obj, *idx_obj;
    PyArrayObject *values = NULL, *idx = NULL, *out = NULL;
    int st;
    if (!PyArg_ParseTuple(args, "O!O", &PyArray_Type, &values_obj, &idx_obj)) return NULL;
    PyArray_Descr *d = PyArray_DESCR((PyArrayObject *)values_obj);
    if (PyArray_NDIM((PyArrayObject *)values_obj) != 1 || PyDataType_REFCHK(d) ||
        !strchr("biufcmM", d->kind)) {
        PyErr_SetString(PyExc_TypeError, "take: values must be a 1-d array of numbers, "
                        "booleans or datetimes");
        return NULL;
    }
    Py_INCREF(d);
    values = (PyArrayObject *)PyArray_FromAny(values_obj, d, 1, 1,
                                              NPY_ARRAY_C_CONTIGUOUS | NPY_ARRAY_ALIGNED, NULL);
    if (!values) return NULL;
    if (!(idx = sy_as_1d(idx_obj, NPY_INT64, "idx", -1))) goto fail;
    npy_intp n = PyArray_DIM(idx, 0);
    d = PyArray_DESCR(values);
    Py_INCREF(d);
    out = (PyArrayObject *)PyArray_Empty(1, &n, d, 0);
    if (!out) goto fail;
    SY_NOGIL_BEGIN
    st = sy_take(PyArray_DATA(values), (int64_t)PyArray_DIM(values, 0),
                 (size_t)PyArray_ITEMSIZE(values), SY_I64(idx), (int64_t)n, PyArray_DATA(out));
    SY_NOGIL_END
    if (st == SY_EINVAL) {
        PyErr_SetString(PyExc_IndexError, "take: an index lies outside [0, len(values))");
        goto fail;
    }
    if (st != SY_OK) {
        sy_raise(st, "take");
        goto fail;
    }
    Py_DECREF(values);
    Py_DECREF(idx);
    return (PyObject *)out;
fail:
    Py_XDECREF(values);
    Py_XDECREF(idx);
    Py_XDECREF(out);
    return NULL;
}

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


/* build_log(ids, t, div, mult, amount_or_None, want_perm, day_lo, day_hi)
     -> (offsets, day, amount_or_None, uniques, perm_or_None, n_dups, day_min, day_max,
         n_negative, n_zero)
   or an int when the validation pass found bad rows: 1 missing times, 2 times out of
   range, 3 NaN/inf amounts, 4 amounts whose sum overflows. */
static PyObject *py_build_log(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *ids_obj, *t_obj, *amount_obj, *res = NULL;
    long long div, mult, day_lo, day_hi;
    int want_perm;
    PyArrayObject *ids = NULL, *t = NULL, *amount = NULL, *day = NULL, *amt = NULL;
    PyArrayObject *perm = NULL, *offsets = NULL, *uniques = NULL;
    sy_build *b = NULL;
    sy_build_check check;
    int st;
    if (!PyArg_ParseTuple(args, "OOLLOpLL", &ids_obj, &t_obj, &div, &mult, &amount_obj,
                          &want_perm, &day_lo, &day_hi))
        return NULL;
    if (div < 1 || (mult != 1 && mult != 7) || (mult == 7 && div != 1) || day_lo > day_hi) {
        PyErr_SetString(PyExc_ValueError, "build_log: bad time scale or day range");
        return NULL;
    }
    if (!(ids = sy_as_1d(ids_obj, NPY_INT64, "customer", -1))) goto fail;
    npy_intp n = PyArray_DIM(ids, 0);
    if ((uint64_t)n > (uint64_t)UINT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "build_log: more than 2**32 - 1 rows are not supported");
        goto fail;
    }
    if (!(t = sy_as_1d(t_obj, NPY_INT64, "time", n))) goto fail;
    if (amount_obj != Py_None && !(amount = sy_as_1d(amount_obj, NPY_FLOAT64, "amount", n)))
        goto fail;
    if (!(day = sy_empty_1d(n, NPY_INT64)) || !(amt = sy_empty_1d(n, NPY_FLOAT64))) goto fail;
    if (want_perm && !(perm = sy_empty_1d(n, NPY_INT64))) goto fail;
    SY_NOGIL_BEGIN
    st = sy_build_begin(SY_I64(ids), SY_I64(t), (int64_t)div, (int64_t)mult, SY_OPT_F64(amount),
                        (int64_t)n, (int64_t)day_lo, (int64_t)day_hi, SY_I64(day), SY_F64(amt),
                        perm ? SY_I64(perm) : NULL, &check, &b);
    SY_NOGIL_END
    if (st != SY_OK) {
        sy_raise(st, "build_log");
        goto fail;
    }
    if (!b) {
        int code = check.nat ? 1 : check.out_of_range ? 2 : check.nonfinite ? 3 : 4;
        res = PyLong_FromLong(code);
        goto fail;   /* releases everything else */
    }
    {
        int64_t k = sy_build_k(b);
        if (!(offsets = sy_empty_1d((npy_intp)k + 1, NPY_INT64)) ||
            !(uniques = sy_empty_1d((npy_intp)k, NPY_INT64)))
            goto fail;
    }
    SY_NOGIL_BEGIN
    st = sy_build_finish(b, SY_I64(offsets), SY_I64(uniques));
    SY_NOGIL_END
    if (st != SY_OK) {
        sy_raise(st, "build_log");
        goto fail;
    }
    res = Py_BuildValue("(OOOOOLLLLL)", (PyObject *)offsets, (PyObject *)day,
                        amount ? (PyObject *)amt : Py_None, (PyObject *)uniques,
                        perm ? (PyObject *)perm : Py_None, (long long)check.dups,
                        (long long)check.day_min, (long long)check.day_max,
                        (long long)check.negative, (long long)check.zero);
fail:
    sy_build_free(b);
    Py_XDECREF(ids);
    Py_XDECREF(t);
    Py_XDECREF(amount);
    Py_XDECREF(day);
    Py_XDECREF(amt);
    Py_XDECREF(perm);
    Py_XDECREF(offsets);
    Py_XDECREF(uniques);
    return res;
}


/* days_from_times(t, div, mult, day_lo, day_hi) -> int64 days, or an int: 1 missing
   times, 2 times out of range. */
static PyObject *py_days_from_times(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *t_obj, *res = NULL;
    long long div, mult, day_lo, day_hi;
    PyArrayObject *t = NULL, *out = NULL;
    int64_t nat = 0, oor = 0;
    int st;
    if (!PyArg_ParseTuple(args, "OLLLL", &t_obj, &div, &mult, &day_lo, &day_hi)) return NULL;
    if (div < 1 || (mult != 1 && mult != 7) || (mult == 7 && div != 1) || day_lo > day_hi) {
        PyErr_SetString(PyExc_ValueError, "days_from_times: bad time scale or day range");
        return NULL;
    }
    if (!(t = sy_as_1d(t_obj, NPY_INT64, "time", -1))) goto fail;
    if (!(out = sy_empty_1d(PyArray_DIM(t, 0), NPY_INT64))) goto fail;
    SY_NOGIL_BEGIN
    st = sy_days_from_times(SY_I64(t), (int64_t)PyArray_DIM(t, 0), (int64_t)div, (int64_t)mult,
                            (int64_t)day_lo, (int64_t)day_hi, SY_I64(out), &nat, &oor);
    SY_NOGIL_END
    if (st != SY_OK) {
        sy_raise(st, "days_from_times");
        goto fail;
    }
    if (nat || oor) {
        res = PyLong_FromLong(nat ? 1 : 2);
        goto fail;
    }
    res = (PyObject *)out;
    out = NULL;
fail:
    Py_XDECREF(t);
    Py_XDECREF(out);
    return res;
}

/* orders_aggregate(order_or_None, m, cust, day, amount_or_None, refund_or_None,
                    status_or_None) -> (outcome, flags, net, row, n_mixed), m entries each
   (see sy_orders.h); order None: every row is its own order (m must be len(cust)). */
static PyObject *py_orders_aggregate(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *order_obj, *cust_obj, *day_obj, *amount_obj, *refund_obj, *status_obj, *res = NULL;
    Py_ssize_t m;
    PyArrayObject *order = NULL, *cust = NULL, *day = NULL, *amount = NULL, *refund = NULL;
    PyArrayObject *status = NULL, *outcome = NULL, *flags = NULL, *net = NULL, *row = NULL;
    int64_t n_mixed = 0;
    int st;
    if (!PyArg_ParseTuple(args, "OnOOOOO", &order_obj, &m, &cust_obj, &day_obj, &amount_obj,
                          &refund_obj, &status_obj))
        return NULL;
    if (!(cust = sy_as_1d(cust_obj, NPY_INT64, "customer", -1))) goto fail;
    npy_intp n = PyArray_DIM(cust, 0);
    if (m < 0 || (order_obj == Py_None && m != n)) {
        PyErr_SetString(PyExc_ValueError, "orders_aggregate: m must be >= 0 (and the number of rows without orders)");
        goto fail;
    }
    if (order_obj != Py_None && !(order = sy_as_1d(order_obj, NPY_INT64, "order", n))) goto fail;
    if (!(day = sy_as_1d(day_obj, NPY_INT64, "time", n))) goto fail;
    if (amount_obj != Py_None && !(amount = sy_as_1d(amount_obj, NPY_FLOAT64, "amount", n))) goto fail;
    if (refund_obj != Py_None && !(refund = sy_as_1d(refund_obj, NPY_FLOAT64, "refund", n))) goto fail;
    if (status_obj != Py_None && !(status = sy_as_1d(status_obj, NPY_INT8, "status", n))) goto fail;
    if (refund) {
        const double *r = SY_F64(refund);
        for (npy_intp i = 0; i < n; i++) {
            if (!(r[i] >= 0.0 && r[i] <= 1.79769313486231570815e308)) {
                PyErr_SetString(PyExc_ValueError, "orders_aggregate: refunds must be finite and >= 0");
                goto fail;
            }
        }
    }
    if (order) {
        const int64_t *o = SY_I64(order);
        for (npy_intp i = 0; i < n; i++) {
            if (o[i] < 0 || o[i] >= (int64_t)m) {
                PyErr_SetString(PyExc_ValueError, "orders_aggregate: order codes must lie in [0, m)");
                goto fail;
            }
        }
    }
    if (status) {
        const int8_t *s = (const int8_t *)PyArray_DATA(status);
        for (npy_intp i = 0; i < n; i++) {
            if (s[i] < SY_STATUS_PAID || s[i] > SY_STATUS_VOID) {
                PyErr_SetString(PyExc_ValueError, "orders_aggregate: status classes must be 0, 1 or 2");
                goto fail;
            }
        }
    }
    if (!(outcome = sy_new_1d(m, NPY_UINT8)) || !(flags = sy_new_1d(m, NPY_UINT8)) ||
        !(net = sy_empty_1d(m, NPY_FLOAT64)) || !(row = sy_empty_1d(m, NPY_INT64)))
        goto fail;
    SY_NOGIL_BEGIN
    st = sy_orders_aggregate(order ? SY_I64(order) : NULL, (int64_t)m, SY_I64(cust), SY_I64(day),
                             SY_OPT_F64(amount), SY_OPT_F64(refund),
                             status ? (const int8_t *)PyArray_DATA(status) : NULL, (int64_t)n,
                             (uint8_t *)PyArray_DATA(outcome), (uint8_t *)PyArray_DATA(flags),
                             SY_F64(net), SY_I64(row), &n_mixed);
    SY_NOGIL_END
    if (st != SY_OK) {
        sy_raise(st, "orders_aggregate");
        goto fail;
    }
    res = Py_BuildValue("(OOOOL)", (PyObject *)outcome, (PyObject *)flags, (PyObject *)net,
                        (PyObject *)row, (long long)n_mixed);
fail:
    Py_XDECREF(order);
    Py_XDECREF(cust);
    Py_XDECREF(day);
    Py_XDECREF(amount);
    Py_XDECREF(refund);
    Py_XDECREF(status);
    Py_XDECREF(outcome);
    Py_XDECREF(flags);
    Py_XDECREF(net);
    Py_XDECREF(row);
    return res;
}

#define SY_DUP_MAX_COLS 32

/* count_duplicates((col, col, ...)) -> rows equal in every column to an earlier row.
   Columns are 1-d arrays of one length: integers (any width up to 64 bits, bools) or
   float64 (compared by value, -0.0 as 0.0); other dtypes are converted to int64. */
static PyObject *py_count_duplicates(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *seq, *res = NULL;
    PyArrayObject *arrs[SY_DUP_MAX_COLS] = {NULL};
    sy_column cols[SY_DUP_MAX_COLS];
    int ncols = 0;
    int64_t dups = 0;
    int st;
    if (!PyArg_ParseTuple(args, "O!", &PyTuple_Type, &seq)) return NULL;
    Py_ssize_t nc = PyTuple_GET_SIZE(seq);
    if (nc < 1 || nc > SY_DUP_MAX_COLS) {
        PyErr_Format(PyExc_ValueError, "count_duplicates: 1 to %d columns", SY_DUP_MAX_COLS);
        return NULL;
    }
    npy_intp n = -1;
    for (Py_ssize_t c = 0; c < nc; c++) {
        PyObject *obj = PyTuple_GET_ITEM(seq, c);
        int type = NPY_INT64, kind = SY_COL_I64;
        if (PyArray_Check(obj)) {
            int t = PyArray_TYPE((PyArrayObject *)obj);
            if (t == NPY_FLOAT64) { type = NPY_FLOAT64; kind = SY_COL_F64; }
            else if (t == NPY_INT8 || t == NPY_UINT8 || t == NPY_BOOL) { type = NPY_INT8; kind = SY_COL_I8; }
            else if (t == NPY_INT16 || t == NPY_UINT16) { type = NPY_INT16; kind = SY_COL_I16; }
            else if (t == NPY_INT32 || t == NPY_UINT32) { type = NPY_INT32; kind = SY_COL_I32; }
        }
        if (!(arrs[c] = sy_as_1d(obj, type, "column", n))) goto fail;
        ncols++;
        n = PyArray_DIM(arrs[c], 0);
        cols[c].data = PyArray_DATA(arrs[c]);
        cols[c].kind = kind;
    }
    if ((uint64_t)n >= (uint64_t)UINT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "count_duplicates: too many rows");
        goto fail;
    }
    SY_NOGIL_BEGIN
    st = sy_count_duplicate_rows(cols, ncols, (int64_t)n, &dups);
    SY_NOGIL_END
    if (st != SY_OK) {
        sy_raise(st, "count_duplicates");
        goto fail;
    }
    res = PyLong_FromLongLong((long long)dups);
fail:
    for (int c = 0; c < ncols; c++) Py_XDECREF(arrs[c]);
    return res;
}

/* group_first(codes, m) -> first row of each group 0..m-1 (-1 if none); codes < 0 skipped. */
static PyObject *py_group_first(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *codes_obj, *res = NULL;
    Py_ssize_t m;
    PyArrayObject *codes = NULL, *first = NULL;
    int st;
    if (!PyArg_ParseTuple(args, "On", &codes_obj, &m)) return NULL;
    if (m < 0) {
        PyErr_SetString(PyExc_ValueError, "group_first: m must be >= 0");
        return NULL;
    }
    if (!(codes = sy_as_1d(codes_obj, NPY_INT64, "codes", -1))) goto fail;
    if (!(first = sy_empty_1d(m, NPY_INT64))) goto fail;
    SY_NOGIL_BEGIN
    st = sy_group_first(SY_I64(codes), (int64_t)PyArray_DIM(codes, 0), (int64_t)m, SY_I64(first));
    SY_NOGIL_END
    if (st != SY_OK) {
        if (st == SY_EINVAL)
            PyErr_SetString(PyExc_ValueError, "group_first: codes must be < m");
        else
            sy_raise(st, "group_first");
        goto fail;
    }
    res = (PyObject *)first;
    first = NULL;
fail:
    Py_XDECREF(codes);
    Py_XDECREF(first);
    return res;
}

/* ------------------------------------------------------------------------ */
/* threads                                                                   */
/* ------------------------------------------------------------------------ */

static PyObject *py_set_num_threads(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *obj, *idx;
    int overflow = 0;
    if (!PyArg_ParseTuple(args, "O", &obj)) return NULL;
    if (PyBool_Check(obj) || !PyIndex_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "set_num_threads(n): n must be a whole number of threads "
                     "from 1 to %d, e.g. siyu.set_num_threads(2); got %R", SY_THREADS_CAP, obj);
        return NULL;
    }
    if (!(idx = PyNumber_Index(obj))) return NULL;
    long long n = PyLong_AsLongLongAndOverflow(idx, &overflow);
    if (n == -1 && PyErr_Occurred()) {
        Py_DECREF(idx);
        return NULL;
    }
    if (overflow || n < 1 || n > SY_THREADS_CAP) {
        PyErr_Format(PyExc_ValueError, "set_num_threads(n): n must be from 1 to %d threads "
                     "(e.g. siyu.set_num_threads(os.cpu_count())); got %S", SY_THREADS_CAP, idx);
        Py_DECREF(idx);
        return NULL;
    }
    Py_DECREF(idx);
    sy_set_num_threads((int)n);
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
    {"summary_table", py_summary_table, METH_VARARGS,
     "summary_table(day, amount, offsets, period, lo, hi, end_per, end_day, scale, include_first, date_scale)"},
    {"take", py_take, METH_VARARGS, "take(values, idx) -> values[idx] (all threads, Ctrl-C polled)"},
    {"factorize_int64", py_factorize_int64, METH_VARARGS,
     "factorize_int64(ids) -> (codes, sorted uniques)"},
    {"group_rows", py_group_rows, METH_VARARGS,
     "group_rows(cust, day, k) -> (offsets, perm, day_sorted, cust_sorted)"},
    {"build_log", py_build_log, METH_VARARGS,
     "build_log(ids, t, div, mult, amount, want_perm, day_lo, day_hi) -> grouped log or bad-row code"},
    {"days_from_times", py_days_from_times, METH_VARARGS,
     "days_from_times(t, div, mult, day_lo, day_hi) -> int64 days or bad-row code"},
    {"orders_aggregate", py_orders_aggregate, METH_VARARGS,
     "orders_aggregate(order, m, cust, day, amount, refund, status) -> (outcome, flags, net, row, n_mixed)"},
    {"count_duplicates", py_count_duplicates, METH_VARARGS,
     "count_duplicates(tuple_of_columns) -> number of rows equal to an earlier row"},
    {"group_first", py_group_first, METH_VARARGS, "group_first(codes, m) -> first row per group"},
    {"set_num_threads", py_set_num_threads, METH_VARARGS, "set_num_threads(n)"},
    {"get_num_threads", py_get_num_threads, METH_NOARGS, "get_num_threads() -> int"},
    {NULL, NULL, 0, NULL},
};
