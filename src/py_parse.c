/*
 * py_parse.c -- glue of the text-column parsers (sy_parse.c): amounts and times.
 *
 * Columns arrive in Arrow string layout as two arrays: the UTF-8 bytes (uint8) and the
 * n + 1 value offsets (int64).  Glue only: parse -> coerce -> check -> allocate -> run
 * the kernel without the GIL -> map status to exception.
 */
#include "py_glue.h"
#include "sy_parse.h"

static int coerce_strings(PyObject *data_obj, PyObject *off_obj, PyArrayObject **data,
                          PyArrayObject **offsets, npy_intp *n)
{
    if (!(*data = sy_as_1d(data_obj, NPY_UINT8, "data", -1))) return -1;
    if (!(*offsets = sy_as_1d(off_obj, NPY_INT64, "offsets", -1))) return -1;
    if (PyArray_DIM(*offsets, 0) < 1) {
        PyErr_SetString(PyExc_ValueError, "offsets must hold n + 1 >= 1 entries");
        return -1;
    }
    *n = PyArray_DIM(*offsets, 0) - 1;
    return 0;
}

/* Optional output array: `given` (may be None) must be a writable, aligned, C-contiguous
   1-d array of `typenum` with at least start + n entries; returns a new reference to it
   (or a fresh array of n entries when None) and the pointer to entry `start`. */
static PyArrayObject *out_array(PyObject *given, int typenum, npy_intp start, npy_intp n,
                                const char *name, char **ptr)
{
    if (given == NULL || given == Py_None) {
        PyArrayObject *a = sy_empty_1d(n, typenum);
        if (a) *ptr = PyArray_BYTES(a);
        return a;
    }
    if (!PyArray_Check(given) || PyArray_TYPE((PyArrayObject *)given) != typenum ||
        PyArray_NDIM((PyArrayObject *)given) != 1 ||
        !PyArray_ISCARRAY((PyArrayObject *)given)) {
        PyErr_Format(PyExc_TypeError, "%s must be a writable C-contiguous 1-d array of the "
                     "right dtype", name);
        return NULL;
    }
    PyArrayObject *a = (PyArrayObject *)given;
    if (start < 0 || PyArray_DIM(a, 0) < start || PyArray_DIM(a, 0) - start < n) {
        PyErr_Format(PyExc_ValueError, "%s is too short for %zd values at %zd", name,
                     (Py_ssize_t)n, (Py_ssize_t)start);
        return NULL;
    }
    Py_INCREF(a);
    *ptr = PyArray_BYTES(a) + start * PyArray_ITEMSIZE(a);
    return a;
}

/* parse_amounts(data, offsets, empty_value[, out, status, start])
     -> (values, status, n_bad, n_empty); with out/status given, the values are written
     at out[start:start + n] (no copy) and those arrays are returned. */
static PyObject *py_parse_amounts(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *data_obj, *off_obj, *out_obj = Py_None, *status_obj = Py_None;
    double empty_value;
    Py_ssize_t start = 0;
    PyArrayObject *data = NULL, *offsets = NULL, *out = NULL, *status = NULL;
    char *vp = NULL, *sp = NULL;
    int64_t n_bad = 0, n_empty = 0;
    npy_intp n = 0;
    int st;
    if (!PyArg_ParseTuple(args, "OOd|OOn", &data_obj, &off_obj, &empty_value, &out_obj,
                          &status_obj, &start))
        return NULL;
    if (coerce_strings(data_obj, off_obj, &data, &offsets, &n) < 0) goto fail;
    if (!(out = out_array(out_obj, NPY_FLOAT64, start, n, "out", &vp))) goto fail;
    if (!(status = out_array(status_obj, NPY_UINT8, start, n, "status", &sp))) goto fail;
    {
        const uint8_t *d = (const uint8_t *)PyArray_DATA(data);
        int64_t dlen = (int64_t)PyArray_DIM(data, 0);
        const int64_t *o = SY_I64(offsets);
        double *v = (double *)vp;
        uint8_t *s = (uint8_t *)sp;
        SY_NOGIL_BEGIN
        st = sy_parse_amounts(d, dlen, o, (int64_t)n, empty_value, v, s, &n_bad, &n_empty);
        SY_NOGIL_END
    }
    if (st != SY_OK) {
        if (st == SY_EINVAL)
            PyErr_SetString(PyExc_ValueError, "parse_amounts: offsets must be non-decreasing "
                                              "and lie within data");
        else
            sy_raise(st, "parse_amounts");
        goto fail;
    }
    Py_DECREF(data);
    Py_DECREF(offsets);
    return Py_BuildValue("(NNLL)", out, status, (long long)n_bad, (long long)n_empty);
fail:
    Py_XDECREF(data);
    Py_XDECREF(offsets);
    Py_XDECREF(out);
    Py_XDECREF(status);
    return NULL;
}

/* parse_times(data, offsets, mode[, secs, offset_minutes, status, start])
     -> (seconds, offset_minutes, status, stats tuple); outputs as in parse_amounts. */
static PyObject *py_parse_times(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *data_obj, *off_obj, *secs_obj = Py_None, *offm_obj = Py_None, *status_obj = Py_None;
    int mode;
    Py_ssize_t start = 0;
    PyArrayObject *data = NULL, *offsets = NULL, *secs = NULL, *offm = NULL, *status = NULL;
    char *vp = NULL, *op = NULL, *sp = NULL;
    int64_t stats[SY_TIME_NSTATS] = {0};
    npy_intp n = 0;
    int st;
    if (!PyArg_ParseTuple(args, "OOi|OOOn", &data_obj, &off_obj, &mode, &secs_obj, &offm_obj,
                          &status_obj, &start))
        return NULL;
    if (mode != SY_TIME_AUTO && mode != SY_TIME_DMY && mode != SY_TIME_MDY) {
        PyErr_SetString(PyExc_ValueError, "parse_times: mode must be 0 (auto), 1 (DMY) or 2 (MDY)");
        return NULL;
    }
    if (coerce_strings(data_obj, off_obj, &data, &offsets, &n) < 0) goto fail;
    if (!(secs = out_array(secs_obj, NPY_INT64, start, n, "secs", &vp))) goto fail;
    if (!(offm = out_array(offm_obj, NPY_INT16, start, n, "offset_minutes", &op))) goto fail;
    if (!(status = out_array(status_obj, NPY_UINT8, start, n, "status", &sp))) goto fail;
    {
        const uint8_t *d = (const uint8_t *)PyArray_DATA(data);
        int64_t dlen = (int64_t)PyArray_DIM(data, 0);
        const int64_t *o = SY_I64(offsets);
        int64_t *sv = (int64_t *)vp;
        int16_t *ov = (int16_t *)op;
        uint8_t *s = (uint8_t *)sp;
        SY_NOGIL_BEGIN
        st = sy_parse_times(d, dlen, o, (int64_t)n, mode, sv, ov, s, stats);
        SY_NOGIL_END
    }
    if (st != SY_OK) {
        if (st == SY_EINVAL)
            PyErr_SetString(PyExc_ValueError, "parse_times: offsets must be non-decreasing "
                                              "and lie within data");
        else
            sy_raise(st, "parse_times");
        goto fail;
    }
    Py_DECREF(data);
    Py_DECREF(offsets);
    return Py_BuildValue("(NNN(LLLLLL))", secs, offm, status, (long long)stats[0],
                         (long long)stats[1], (long long)stats[2], (long long)stats[3],
                         (long long)stats[4], (long long)stats[5]);
fail:
    Py_XDECREF(data);
    Py_XDECREF(offsets);
    Py_XDECREF(secs);
    Py_XDECREF(offm);
    Py_XDECREF(status);
    return NULL;
}

/* digit_keys(data, offsets) -> keys (int64) or None when some id is not 1..17 digits */
static PyObject *py_digit_keys(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *data_obj, *off_obj;
    PyArrayObject *data = NULL, *offsets = NULL, *keys = NULL;
    npy_intp n = 0;
    int st, all_digits = 0;
    if (!PyArg_ParseTuple(args, "OO", &data_obj, &off_obj)) return NULL;
    if (coerce_strings(data_obj, off_obj, &data, &offsets, &n) < 0) goto fail;
    if (!(keys = sy_empty_1d(n, NPY_INT64))) goto fail;
    {
        const uint8_t *d = (const uint8_t *)PyArray_DATA(data);
        int64_t dlen = (int64_t)PyArray_DIM(data, 0);
        const int64_t *o = SY_I64(offsets);
        int64_t *k = SY_I64(keys);
        SY_NOGIL_BEGIN
        st = sy_parse_digit_keys(d, dlen, o, (int64_t)n, k, &all_digits);
        SY_NOGIL_END
    }
    if (st != SY_OK) {
        if (st == SY_EINVAL)
            PyErr_SetString(PyExc_ValueError, "digit_keys: offsets must be non-decreasing "
                                              "and lie within data");
        else
            sy_raise(st, "digit_keys");
        goto fail;
    }
    Py_DECREF(data);
    Py_DECREF(offsets);
    if (!all_digits) {
        Py_DECREF(keys);
        Py_RETURN_NONE;
    }
    return (PyObject *)keys;
fail:
    Py_XDECREF(data);
    Py_XDECREF(offsets);
    Py_XDECREF(keys);
    return NULL;
}

/* gb18030_to_utf8(data, two, four, out) -> (n_written, bad_position or -1) */
static PyObject *py_gb18030_to_utf8(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *data_obj, *two_obj, *four_obj, *out_obj;
    PyArrayObject *data = NULL, *two = NULL, *four = NULL;
    int64_t out_len = 0, bad = -1;
    int st;
    if (!PyArg_ParseTuple(args, "OOOO", &data_obj, &two_obj, &four_obj, &out_obj)) return NULL;
    if (!(data = sy_as_1d(data_obj, NPY_UINT8, "data", -1))) goto fail;
    if (!(two = sy_as_1d(two_obj, NPY_UINT32, "two", 126 * 191))) goto fail;
    if (!(four = sy_as_1d(four_obj, NPY_UINT32, "four", SY_GB_FOUR_BMP))) goto fail;
    if (!PyArray_Check(out_obj) || PyArray_TYPE((PyArrayObject *)out_obj) != NPY_UINT8 ||
        PyArray_NDIM((PyArrayObject *)out_obj) != 1 || !PyArray_ISCARRAY((PyArrayObject *)out_obj)) {
        PyErr_SetString(PyExc_TypeError, "out must be a writable C-contiguous uint8 array");
        goto fail;
    }
    {
        npy_intp n = PyArray_DIM(data, 0);
        npy_intp cap = PyArray_DIM((PyArrayObject *)out_obj, 0);
        if (cap / 2 < n) {
            PyErr_SetString(PyExc_ValueError, "out must hold 2 * len(data) bytes");
            goto fail;
        }
        const uint8_t *in = (const uint8_t *)PyArray_DATA(data);
        const uint32_t *tw = (const uint32_t *)PyArray_DATA(two);
        const uint32_t *fo = (const uint32_t *)PyArray_DATA(four);
        uint8_t *o = (uint8_t *)PyArray_DATA((PyArrayObject *)out_obj);
        SY_NOGIL_BEGIN
        st = sy_gb18030_to_utf8(in, (int64_t)n, tw, fo, o, (int64_t)cap, &out_len, &bad);
        SY_NOGIL_END
    }
    if (st != SY_OK) {
        sy_raise(st, "gb18030_to_utf8");
        goto fail;
    }
    Py_DECREF(data);
    Py_DECREF(two);
    Py_DECREF(four);
    return Py_BuildValue("(LL)", (long long)out_len, (long long)bad);
fail:
    Py_XDECREF(data);
    Py_XDECREF(two);
    Py_XDECREF(four);
    return NULL;
}

PyMethodDef sy_parse_methods[] = {
    {"gb18030_to_utf8", py_gb18030_to_utf8, METH_VARARGS,
     "gb18030_to_utf8(data, two, four, out) -> (bytes written, first bad position or -1)"},
    {"digit_keys", py_digit_keys, METH_VARARGS,
     "digit_keys(data, offsets) -> int64 keys ordered like the texts, or None"},
    {"parse_amounts", py_parse_amounts, METH_VARARGS,
     "parse_amounts(data, offsets, empty_value[, out, status, start]) -> (values, status, n_bad, "
     "n_empty)"},
    {"parse_times", py_parse_times, METH_VARARGS,
     "parse_times(data, offsets, mode[, secs, offset_minutes, status, start]) -> (seconds, "
     "offset_minutes, status, stats)"},
    {NULL, NULL, 0, NULL},
};
