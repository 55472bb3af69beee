/*
 * py_items.c -- item-level kernels (sy_items.h): replenishment intervals, due products,
 * own purchase gaps, cross-sell records.
 *
 * Glue only: parse -> coerce -> check -> allocate -> run the kernel without the GIL
 * (SY_NOGIL_BEGIN/END, which lets kernels poll for Ctrl-C) -> map status to exception.
 */
#include "py_glue.h"

#include "sy_items.h"

/* Coerce (day, offsets[, key]) and check offsets: 0..n, non-decreasing, k + 1 entries.
   Returns 0 or -1 (exception set). */
static int coerce_rows(const char *what, PyObject *day_obj, PyObject *off_obj,
                       PyObject *key_obj, PyArrayObject **day, PyArrayObject **off,
                       PyArrayObject **key)
{
    if (!(*day = sy_as_1d(day_obj, NPY_INT64, "day", -1))) return -1;
    npy_intp n = PyArray_DIM(*day, 0);
    if (!(*off = sy_as_1d(off_obj, NPY_INT64, "offsets", -1))) return -1;
    npy_intp m = PyArray_DIM(*off, 0);
    const int64_t *o = SY_I64(*off);
    if (m < 1 || o[0] != 0 || o[m - 1] != (int64_t)n) {
        PyErr_Format(PyExc_ValueError, "%s: offsets must run from 0 to the number of rows", what);
        return -1;
    }
    for (npy_intp i = 1; i < m; i++)
        if (o[i] < o[i - 1]) {
            PyErr_Format(PyExc_ValueError, "%s: offsets must be non-decreasing", what);
            return -1;
        }
    if (key && !(*key = sy_as_1d(key_obj, NPY_INT64, "key", n))) return -1;
    return 0;
}

static int check_n_keys(const char *what, Py_ssize_t n_keys)
{
    if (n_keys < 0 || n_keys > INT32_MAX) {
        PyErr_Format(PyExc_ValueError, "%s: n_keys must be in [0, 2**31)", what);
        return -1;
    }
    return 0;
}

static PyObject *raise_items(int st, const char *what)
{
    if (st == SY_EINVAL) {
        PyErr_Format(PyExc_ValueError, "%s: keys must lie in [-1, n_keys) and days be sorted "
                     "within each customer", what);
        return NULL;
    }
    if (st == SY_ERANGE) {
        PyErr_Format(PyExc_OverflowError, "%s: the log spans more than 2**31 days", what);
        return NULL;
    }
    return sy_raise(st, what);
}

/* items_gaps(day, offsets, key, n_keys, end[, max_dense_cells]) -> (n_buyers, n_rebuyers,
   n_closed, obs_q (n_keys * 3), km_q (n_keys * 3), c_key, c_time, c_risk, c_events,
   c_censored, c_surv, c_var).  max_dense_cells (default 8e6; 8 bytes each per thread)
   bounds the per-key duration histograms; above it the intervals are sorted instead. */
static PyObject *py_items_gaps(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *day_obj, *off_obj, *key_obj;
    Py_ssize_t n_keys;
    long long end, max_cells = 8000000;
    PyArrayObject *day = NULL, *off = NULL, *key = NULL;
    PyArrayObject *per[5] = {NULL, NULL, NULL, NULL, NULL};
    PyArrayObject *cur[7] = {NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    sy_gap_state *state = NULL;
    int64_t n_rows = 0;
    int st;
    if (!PyArg_ParseTuple(args, "OOOnL|L", &day_obj, &off_obj, &key_obj, &n_keys, &end,
                          &max_cells))
        return NULL;
    if (check_n_keys("items_gaps", n_keys) < 0) return NULL;
    if (coerce_rows("items_gaps", day_obj, off_obj, key_obj, &day, &off, &key) < 0) goto fail;
    const int64_t k = (int64_t)PyArray_DIM(off, 0) - 1;
    SY_NOGIL_BEGIN
    st = sy_items_gaps_prepare(SY_I64(day), SY_I64(off), k, SY_I64(key), (int64_t)n_keys,
                               (int64_t)end, (int64_t)max_cells, &state, &n_rows);
    SY_NOGIL_END
    if (st != SY_OK) {
        raise_items(st, "items_gaps");
        goto fail;
    }
    int64_t nq;
    if (!sy_mul_ok((int64_t)n_keys, 3, &nq)) {
        sy_raise(SY_ENOMEM, "items_gaps");
        goto fail;
    }
    for (int j = 0; j < 5; j++)
        if (!(per[j] = sy_empty_1d(j < 3 ? (npy_intp)n_keys : (npy_intp)nq,
                                   j < 3 ? NPY_INT64 : NPY_FLOAT64)))
            goto fail;
    for (int j = 0; j < 7; j++)
        if (!(cur[j] = sy_empty_1d((npy_intp)n_rows, j < 5 ? NPY_INT64 : NPY_FLOAT64))) goto fail;
    SY_NOGIL_BEGIN
    st = sy_items_gaps_finish(state, SY_I64(per[0]), SY_I64(per[1]), SY_I64(per[2]),
                              SY_F64(per[3]), SY_F64(per[4]), SY_I64(cur[0]), SY_I64(cur[1]),
                              SY_I64(cur[2]), SY_I64(cur[3]), SY_I64(cur[4]), SY_F64(cur[5]),
                              SY_F64(cur[6]));
    SY_NOGIL_END
    if (st != SY_OK) {
        raise_items(st, "items_gaps");
        goto fail;
    }
    sy_items_gaps_free(state);
    Py_DECREF(day);
    Py_DECREF(off);
    Py_DECREF(key);
    return Py_BuildValue("(NNNNNNNNNNNN)", per[0], per[1], per[2], per[3], per[4], cur[0],
                         cur[1], cur[2], cur[3], cur[4], cur[5], cur[6]);
fail:
    sy_items_gaps_free(state);
    Py_XDECREF(day);
    Py_XDECREF(off);
    Py_XDECREF(key);
    for (int j = 0; j < 5; j++) Py_XDECREF(per[j]);
    for (int j = 0; j < 7; j++) Py_XDECREF(cur[j]);
    return NULL;
}

/* items_due(day, offsets, key, n_keys, cycle, as_of, lead, stale, m)
   -> (n_due, min_cycle, due_key (k * m), due_over (k * m), due_last (k * m)) */
static PyObject *py_items_due(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *day_obj, *off_obj, *key_obj, *cyc_obj;
    Py_ssize_t n_keys, m;
    long long as_of;
    double lead, stale;
    PyArrayObject *day = NULL, *off = NULL, *key = NULL, *cyc = NULL;
    PyArrayObject *out[5] = {NULL, NULL, NULL, NULL, NULL};
    int st;
    if (!PyArg_ParseTuple(args, "OOOnOLddn", &day_obj, &off_obj, &key_obj, &n_keys, &cyc_obj,
                          &as_of, &lead, &stale, &m))
        return NULL;
    if (check_n_keys("items_due", n_keys) < 0) return NULL;
    if (m < 1 || m > 1000) {
        PyErr_SetString(PyExc_ValueError, "items_due: m must be in [1, 1000]");
        return NULL;
    }
    if (isnan(lead) || isnan(stale)) {
        PyErr_SetString(PyExc_ValueError, "items_due: lead and stale must not be NaN");
        return NULL;
    }
    if (coerce_rows("items_due", day_obj, off_obj, key_obj, &day, &off, &key) < 0) goto fail;
    if (!(cyc = sy_as_1d(cyc_obj, NPY_FLOAT64, "cycle", (npy_intp)n_keys))) goto fail;
    const int64_t k = (int64_t)PyArray_DIM(off, 0) - 1;
    int64_t km;
    if (!sy_mul_ok(k, (int64_t)m, &km) || km > (int64_t)(NPY_MAX_INTP / 8)) {
        sy_raise(SY_ENOMEM, "items_due");
        goto fail;
    }
    if (!(out[0] = sy_empty_1d((npy_intp)k, NPY_INT64)) ||
        !(out[1] = sy_empty_1d((npy_intp)k, NPY_FLOAT64)) ||
        !(out[2] = sy_empty_1d((npy_intp)km, NPY_INT64)) ||
        !(out[3] = sy_empty_1d((npy_intp)km, NPY_FLOAT64)) ||
        !(out[4] = sy_empty_1d((npy_intp)km, NPY_INT64)))
        goto fail;
    SY_NOGIL_BEGIN
    st = sy_items_due(SY_I64(day), SY_I64(off), k, SY_I64(key), (int64_t)n_keys, SY_F64(cyc),
                      (int64_t)as_of, lead, stale, (int64_t)m, SY_I64(out[0]), SY_F64(out[1]),
                      SY_I64(out[2]), SY_F64(out[3]), SY_I64(out[4]));
    SY_NOGIL_END
    if (st != SY_OK) {
        raise_items(st, "items_due");
        goto fail;
    }
    Py_DECREF(day);
    Py_DECREF(off);
    Py_DECREF(key);
    Py_DECREF(cyc);
    return Py_BuildValue("(NNNNN)", out[0], out[1], out[2], out[3], out[4]);
fail:
    Py_XDECREF(day);
    Py_XDECREF(off);
    Py_XDECREF(key);
    Py_XDECREF(cyc);
    for (int j = 0; j < 5; j++) Py_XDECREF(out[j]);
    return NULL;
}

/* items_own_gaps(day, amount_or_None, offsets, as_of) -> (n_gaps, median_gap, last_day,
   revenue) */
static PyObject *py_items_own_gaps(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *day_obj, *amt_obj, *off_obj;
    long long as_of;
    PyArrayObject *day = NULL, *off = NULL, *amt = NULL, *ng = NULL, *med = NULL, *last = NULL;
    PyArrayObject *rev = NULL;
    int st;
    if (!PyArg_ParseTuple(args, "OOOL", &day_obj, &amt_obj, &off_obj, &as_of)) return NULL;
    if (coerce_rows("items_own_gaps", day_obj, off_obj, NULL, &day, &off, NULL) < 0) goto fail;
    if (amt_obj != Py_None &&
        !(amt = sy_as_1d(amt_obj, NPY_FLOAT64, "amount", PyArray_DIM(day, 0))))
        goto fail;
    const int64_t k = (int64_t)PyArray_DIM(off, 0) - 1;
    if (!(ng = sy_empty_1d((npy_intp)k, NPY_INT64)) ||
        !(med = sy_empty_1d((npy_intp)k, NPY_FLOAT64)) ||
        !(last = sy_empty_1d((npy_intp)k, NPY_INT64)) ||
        !(rev = sy_empty_1d((npy_intp)k, NPY_FLOAT64)))
        goto fail;
    SY_NOGIL_BEGIN
    st = sy_items_own_gaps(SY_I64(day), SY_OPT_F64(amt), SY_I64(off), k, (int64_t)as_of,
                           SY_I64(ng), SY_F64(med), SY_I64(last), SY_F64(rev));
    SY_NOGIL_END
    if (st != SY_OK) {
        raise_items(st, "items_own_gaps");
        goto fail;
    }
    Py_DECREF(day);
    Py_DECREF(off);
    Py_XDECREF(amt);
    return Py_BuildValue("(NNNN)", ng, med, last, rev);
fail:
    Py_XDECREF(day);
    Py_XDECREF(off);
    Py_XDECREF(amt);
    Py_XDECREF(ng);
    Py_XDECREF(med);
    Py_XDECREF(last);
    Py_XDECREF(rev);
    return NULL;
}

/* items_cross(day, offsets, key, n_keys, amount_or_None, end, period)
   -> (first_day, rev_total, rev_beyond, x_cust, x_a, x_b, x_days, f_cust, f_key, b_cust,
       b_age) */
static PyObject *py_items_cross(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *day_obj, *off_obj, *key_obj, *amt_obj;
    Py_ssize_t n_keys;
    long long end;
    int period;
    PyArrayObject *day = NULL, *off = NULL, *key = NULL, *amt = NULL;
    PyArrayObject *out[11] = {NULL};
    sy_cross_out o;
    memset(&o, 0, sizeof(o));
    int st;
    if (!PyArg_ParseTuple(args, "OOOnOLi", &day_obj, &off_obj, &key_obj, &n_keys, &amt_obj,
                          &end, &period))
        return NULL;
    if (check_n_keys("items_cross", n_keys) < 0 || sy_check_period(period) < 0) return NULL;
    if (coerce_rows("items_cross", day_obj, off_obj, key_obj, &day, &off, &key) < 0) goto fail;
    if (amt_obj != Py_None &&
        !(amt = sy_as_1d(amt_obj, NPY_FLOAT64, "amount", PyArray_DIM(day, 0))))
        goto fail;
    const int64_t k = (int64_t)PyArray_DIM(off, 0) - 1;
    if (!(out[0] = sy_empty_1d((npy_intp)k, NPY_INT64)) ||
        !(out[1] = sy_empty_1d((npy_intp)k, NPY_FLOAT64)) ||
        !(out[2] = sy_empty_1d((npy_intp)k, NPY_FLOAT64)))
        goto fail;
    o.first_day = SY_I64(out[0]);
    o.rev_total = SY_F64(out[1]);
    o.rev_beyond = SY_F64(out[2]);
    SY_NOGIL_BEGIN
    st = sy_items_cross(SY_I64(day), SY_I64(off), k, SY_I64(key), (int64_t)n_keys,
                        SY_OPT_F64(amt), (int64_t)end, period, &o);
    SY_NOGIL_END
    if (st != SY_OK) {
        raise_items(st, "items_cross");
        goto fail;
    }
    const int64_t lim = (int64_t)(NPY_MAX_INTP / 8);
    if (o.n_cross > lim || o.n_first > lim || o.n_breadth > lim) {
        sy_raise(SY_ENOMEM, "items_cross");
        goto fail;
    }
    for (int j = 3; j < 11; j++) {
        npy_intp len = (npy_intp)(j < 7 ? o.n_cross : (j < 9 ? o.n_first : o.n_breadth));
        if (!(out[j] = sy_empty_1d(len, NPY_INT64))) goto fail;
    }
    o.cross_cap = o.n_cross;
    o.first_cap = o.n_first;
    o.breadth_cap = o.n_breadth;
    o.x_cust = SY_I64(out[3]);
    o.x_a = SY_I64(out[4]);
    o.x_b = SY_I64(out[5]);
    o.x_days = SY_I64(out[6]);
    o.f_cust = SY_I64(out[7]);
    o.f_key = SY_I64(out[8]);
    o.b_cust = SY_I64(out[9]);
    o.b_age = SY_I64(out[10]);
    SY_NOGIL_BEGIN
    st = sy_items_cross(SY_I64(day), SY_I64(off), k, SY_I64(key), (int64_t)n_keys,
                        SY_OPT_F64(amt), (int64_t)end, period, &o);
    SY_NOGIL_END
    if (st != SY_OK) {
        raise_items(st, "items_cross");
        goto fail;
    }
    Py_DECREF(day);
    Py_DECREF(off);
    Py_DECREF(key);
    Py_XDECREF(amt);
    return Py_BuildValue("(NNNNNNNNNNN)", out[0], out[1], out[2], out[3], out[4], out[5],
                         out[6], out[7], out[8], out[9], out[10]);
fail:
    Py_XDECREF(day);
    Py_XDECREF(off);
    Py_XDECREF(key);
    Py_XDECREF(amt);
    for (int j = 0; j < 11; j++) Py_XDECREF(out[j]);
    return NULL;
}

/* items_rank(k1, k2, k3) -> order: positions sorted by (k1, k2, k3, position). */
static PyObject *py_items_rank(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *o1, *o2, *o3;
    PyArrayObject *a = NULL, *b = NULL, *c = NULL, *out = NULL;
    int st;
    if (!PyArg_ParseTuple(args, "OOO", &o1, &o2, &o3)) return NULL;
    if (!(a = sy_as_1d(o1, NPY_FLOAT64, "k1", -1))) goto fail;
    const npy_intp n = PyArray_DIM(a, 0);
    if (!(b = sy_as_1d(o2, NPY_FLOAT64, "k2", n)) || !(c = sy_as_1d(o3, NPY_FLOAT64, "k3", n)) ||
        !(out = sy_empty_1d(n, NPY_INT64)))
        goto fail;
    SY_NOGIL_BEGIN
    st = sy_items_rank(SY_F64(a), SY_F64(b), SY_F64(c), (int64_t)n, SY_I64(out));
    SY_NOGIL_END
    if (st != SY_OK) {
        if (st == SY_EINVAL)
            PyErr_SetString(PyExc_ValueError, "items_rank: keys must not be NaN");
        else
            sy_raise(st, "items_rank");
        goto fail;
    }
    Py_DECREF(a);
    Py_DECREF(b);
    Py_DECREF(c);
    return (PyObject *)out;
fail:
    Py_XDECREF(a);
    Py_XDECREF(b);
    Py_XDECREF(c);
    Py_XDECREF(out);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* text_rows: plain-words texts of many rows from templates (the recall list's
   reasons and product lists), one Python str per row without per-piece objects.   */
/* ------------------------------------------------------------------------ */

/* text_rows(templates, choice, ints, tables, sep) -> (offsets, data): the texts of n
   rows as UTF-8 in the layout of an Arrow large_string array (offsets int64 (n + 1),
   data uint8), built without the GIL and without a Python object per row.
   templates: sequence of templates; a template is a sequence of pieces: a str (literal),
   an int f (the decimal value of ints[f, row]) or a pair (f, t) (tables[t][ints[f, row]]).
   choice: int64 (P, n): template of part p for row i, -1 = part absent.  ints: int64
   (F, n).  tables: sequence of sequences of str.  Present parts are joined by sep. */
static PyObject *py_text_rows(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *tpl_obj, *choice_obj, *ints_obj, *tables_obj, *sep_obj;
    PyArrayObject *choice = NULL, *ints = NULL, *offs = NULL, *data = NULL;
    PyObject *res = NULL;
    sy_text_piece **tpl = NULL;
    int64_t *tpl_len = NULL;
    Py_ssize_t n_tpl = 0, n_tab = 0;
    int64_t *lit_len = NULL;
    sy_text_table *tabs = NULL;
    const char *sep;
    Py_ssize_t sep_len;
    if (!PyArg_ParseTuple(args, "OOOOU", &tpl_obj, &choice_obj, &ints_obj, &tables_obj, &sep_obj))
        return NULL;
    if (!(sep = PyUnicode_AsUTF8AndSize(sep_obj, &sep_len))) return NULL;
    choice = (PyArrayObject *)PyArray_FROM_OTF(choice_obj, NPY_INT64, NPY_ARRAY_IN_ARRAY);
    ints = (PyArrayObject *)PyArray_FROM_OTF(ints_obj, NPY_INT64, NPY_ARRAY_IN_ARRAY);
    if (!choice || !ints) goto fail;
    if (PyArray_NDIM(choice) != 2 || PyArray_NDIM(ints) != 2 ||
        PyArray_DIM(choice, 1) != PyArray_DIM(ints, 1)) {
        PyErr_SetString(PyExc_ValueError, "text_rows: choice (P, n) and ints (F, n) must be 2-d "
                        "with the same n");
        goto fail;
    }
    const npy_intp P = PyArray_DIM(choice, 0), n = PyArray_DIM(choice, 1);
    const npy_intp F = PyArray_DIM(ints, 0);
    /* tables */
    PyObject *tseq = PySequence_Fast(tables_obj, "text_rows: tables must be a sequence");
    if (!tseq) goto fail;
    n_tab = PySequence_Fast_GET_SIZE(tseq);
    tabs = (sy_text_table *)PyMem_Calloc((size_t)(n_tab > 0 ? n_tab : 1), sizeof(sy_text_table));
    if (!tabs) {
        Py_DECREF(tseq);
        PyErr_NoMemory();
        goto fail;
    }
    for (Py_ssize_t t = 0; t < n_tab; t++) {
        PyObject *seq = PySequence_Fast(PySequence_Fast_GET_ITEM(tseq, t),
                                        "text_rows: each table must be a sequence of str");
        if (!seq) {
            Py_DECREF(tseq);
            goto fail;
        }
        Py_ssize_t m = PySequence_Fast_GET_SIZE(seq);
        tabs[t].n_str = m;
        tabs[t].s = (const char **)PyMem_Calloc((size_t)(m > 0 ? m : 1), sizeof(char *));
        tabs[t].len = (int64_t *)PyMem_Calloc((size_t)(m > 0 ? m : 1), sizeof(int64_t));
        if (!tabs[t].s || !tabs[t].len) {
            Py_DECREF(seq);
            Py_DECREF(tseq);
            PyErr_NoMemory();
            goto fail;
        }
        for (Py_ssize_t j = 0; j < m; j++) {
            /* the UTF-8 form is cached by the str, which the caller's tables keep alive */
            Py_ssize_t ulen = 0;
            const char *u = PyUnicode_Check(PySequence_Fast_GET_ITEM(seq, j))
                                ? PyUnicode_AsUTF8AndSize(PySequence_Fast_GET_ITEM(seq, j), &ulen)
                                : NULL;
            tabs[t].len[j] = (int64_t)ulen;
            if (!u) {
                if (!PyErr_Occurred())
                    PyErr_SetString(PyExc_TypeError, "text_rows: table entries must be str");
                Py_DECREF(seq);
                Py_DECREF(tseq);
                goto fail;
            }
            tabs[t].s[j] = u;
        }
        Py_DECREF(seq);
    }
    Py_DECREF(tseq);
    /* templates */
    PyObject *pseq = PySequence_Fast(tpl_obj, "text_rows: templates must be a sequence");
    if (!pseq) goto fail;
    n_tpl = PySequence_Fast_GET_SIZE(pseq);
    tpl = (sy_text_piece **)PyMem_Calloc((size_t)(n_tpl > 0 ? n_tpl : 1), sizeof(sy_text_piece *));
    tpl_len = (int64_t *)PyMem_Calloc((size_t)(n_tpl > 0 ? n_tpl : 1), sizeof(int64_t));
    lit_len = (int64_t *)PyMem_Calloc((size_t)(n_tpl > 0 ? n_tpl : 1), sizeof(int64_t));
    if (!tpl || !tpl_len || !lit_len) {
        Py_DECREF(pseq);
        PyErr_NoMemory();
        goto fail;
    }
    for (Py_ssize_t k = 0; k < n_tpl; k++) {
        PyObject *pieces = PySequence_Fast(PySequence_Fast_GET_ITEM(pseq, k),
                                           "text_rows: a template must be a sequence");
        if (!pieces) {
            Py_DECREF(pseq);
            goto fail;
        }
        Py_ssize_t m = PySequence_Fast_GET_SIZE(pieces);
        tpl_len[k] = m;
        tpl[k] = (sy_text_piece *)PyMem_Calloc((size_t)(m > 0 ? m : 1), sizeof(sy_text_piece));
        if (!tpl[k]) {
            Py_DECREF(pieces);
            Py_DECREF(pseq);
            PyErr_NoMemory();
            goto fail;
        }
        for (Py_ssize_t j = 0; j < m; j++) {
            PyObject *pc = PySequence_Fast_GET_ITEM(pieces, j);
            sy_text_piece *q = &tpl[k][j];
            int ok = 1;
            if (PyUnicode_Check(pc)) {
                q->kind = 0;
                Py_ssize_t ulen = 0;
                if (!(q->s = PyUnicode_AsUTF8AndSize(pc, &ulen))) ok = 0;
                q->len = (int64_t)ulen;
                lit_len[k] += q->len;
            } else if (PyLong_Check(pc)) {
                q->kind = 1;
                q->field = PyLong_AsSsize_t(pc);
                ok = q->field >= 0 && q->field < F;
            } else if (PyTuple_Check(pc) && PyTuple_GET_SIZE(pc) == 2) {
                q->kind = 2;
                q->field = PyLong_AsSsize_t(PyTuple_GET_ITEM(pc, 0));
                q->table = PyLong_AsSsize_t(PyTuple_GET_ITEM(pc, 1));
                ok = q->field >= 0 && q->field < F && q->table >= 0 && q->table < n_tab;
            } else {
                ok = 0;
            }
            if (!ok) {
                if (!PyErr_Occurred())
                    PyErr_SetString(PyExc_ValueError, "text_rows: a piece must be a str, a field "
                                    "index or a (field, table) pair within range");
                Py_DECREF(pieces);
                Py_DECREF(pseq);
                goto fail;
            }
        }
        Py_DECREF(pieces);
    }
    Py_DECREF(pseq);
    {
        /* pass 1: each row's byte length (offsets[i + 1]); pass 2: the bytes */
        const npy_intp n1 = n + 1;
        if (!(offs = sy_empty_1d(n1, NPY_INT64))) goto fail;
        int64_t *off = SY_I64(offs);
        const int64_t *ch = SY_I64(choice), *iv = SY_I64(ints);
        sy_text_job job = {tpl, tpl_len, n_tpl, tabs, sep, sep_len, ch, iv, (int64_t)P, (int64_t)n,
                           lit_len};
        int st;
        SY_NOGIL_BEGIN
        st = sy_text_offsets(&job, off);
        SY_NOGIL_END
        if (st == SY_OK) {
            npy_intp total = (npy_intp)off[n];
            if (!(data = sy_empty_1d(total, NPY_UINT8))) goto fail;
            char *dst = (char *)PyArray_DATA(data);
            SY_NOGIL_BEGIN
            st = sy_text_write(&job, off, dst);
            SY_NOGIL_END
        }
        if (st != SY_OK) {
            if (st == SY_EINVAL)
                PyErr_SetString(PyExc_ValueError, "text_rows: template index out of range");
            else if (st == SY_TEXT_ETABLE)
                PyErr_SetString(PyExc_ValueError, "text_rows: table index out of range");
            else if (st == SY_ERANGE)
                PyErr_SetString(PyExc_ValueError, "text_rows: the texts exceed 2**62 bytes");
            else
                sy_raise(st, "text_rows");
            goto fail;
        }
    }
    res = Py_BuildValue("(OO)", offs, data);
fail:
    if (tpl)
        for (Py_ssize_t k = 0; k < n_tpl; k++) PyMem_Free(tpl[k]);
    PyMem_Free(tpl);
    PyMem_Free(tpl_len);
    PyMem_Free(lit_len);
    if (tabs)
        for (Py_ssize_t t = 0; t < n_tab; t++) {
            PyMem_Free((void *)tabs[t].s);
            PyMem_Free(tabs[t].len);
        }
    PyMem_Free(tabs);
    Py_XDECREF(choice);
    Py_XDECREF(ints);
    Py_XDECREF(offs);
    Py_XDECREF(data);
    return res;
}

PyMethodDef sy_items_methods[] = {
    {"items_gaps", py_items_gaps, METH_VARARGS,
     "items_gaps(day, offsets, key, n_keys, end[, max_dense_cells]) -> (n_buyers, n_rebuyers, "
     "n_closed, obs_q, "
     "km_q, c_key, c_time, c_risk, c_events, c_censored, c_surv, c_var)"},
    {"items_due", py_items_due, METH_VARARGS,
     "items_due(day, offsets, key, n_keys, cycle, as_of, lead, stale, m) -> (n_due, "
     "min_cycle, due_key, due_over, due_last)"},
    {"items_own_gaps", py_items_own_gaps, METH_VARARGS,
     "items_own_gaps(day, amount, offsets, as_of) -> (n_gaps, median_gap, last_day, "
     "revenue)"},
    {"items_rank", py_items_rank, METH_VARARGS,
     "items_rank(k1, k2, k3) -> positions sorted by (k1, k2, k3, position)"},
    {"text_rows", py_text_rows, METH_VARARGS,
     "text_rows(templates, choice, ints, tables, sep) -> (offsets, data) of an Arrow large_string array"},
    {"items_cross", py_items_cross, METH_VARARGS,
     "items_cross(day, offsets, key, n_keys, amount, end, period) -> (first_day, rev_total, "
     "rev_beyond, x_cust, x_a, x_b, x_days, f_cust, f_key, b_cust, b_age)"},
    {NULL, NULL, 0, NULL},
};
