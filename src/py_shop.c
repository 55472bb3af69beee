/*
 * py_shop.c -- the shop scenario simulator (sy_shop.h).
 *
 * Glue only: parse -> coerce -> check -> allocate -> run the kernel without the GIL
 * (SY_NOGIL_BEGIN/END, which lets kernels poll for Ctrl-C) -> map status to exception.
 */
#include "py_glue.h"

/* ------------------------------------------------------------------------ */
/* shop scenario simulator (sy_shop.c)                                       */
/* ------------------------------------------------------------------------ */
#include "sy_shop.h"

/* shop_simulate(share_cum, rate, life, aov, aov_shape, day_mult, scalars, n, seed[, acq_cdf
   [, products]]) -> (count, order_day, order_amount, order_member, channel, acq_day,
    dropout, member_since, eligible, service[, order_product, order_replenish,
    entry_product]).  scalars = [member_share, member_threshold, member_rate_mult,
    member_life_mult, member_discount, service_share, service_aov_mult]; acq_cdf (None or
   n_days values): cumulative acquisition probability by day, default uniform; products
   (None or a tuple (category, entry_cum, cycle_mean, cycle_shape, ext_cum, dur_off,
   dur_prod, dur_cum, n_categories), see sy_shop_products). */
static PyObject *py_shop_simulate(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *o[7], *cdf_obj = Py_None, *prod_obj = Py_None;
    PyArrayObject *cdf = NULL;
    PyArrayObject *pa[8] = {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    PyArrayObject *oprod = NULL, *orep = NULL, *entry = NULL;
    sy_shop_products prods;
    memset(&prods, 0, sizeof(prods));
    Py_ssize_t n_in;
    unsigned long long seed;
    static const char *names[7] = {"share_cum", "rate", "life", "aov", "aov_shape", "day_mult",
                                   "scalars"};
    PyArrayObject *in[7] = {NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    PyArrayObject *count = NULL, *offset = NULL, *oday = NULL, *oamt = NULL, *omem = NULL;
    PyArrayObject *chan = NULL, *acq = NULL, *drop = NULL, *since = NULL, *elig = NULL,
                  *svc = NULL;
    int st;
    if (!PyArg_ParseTuple(args, "OOOOOOOnK|OO", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6],
                          &n_in, &seed, &cdf_obj, &prod_obj))
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
    if (prod_obj != Py_None) {
        static const char *pn[8] = {"category", "entry_cum", "cycle_mean", "cycle_shape",
                                    "ext_cum", "dur_off", "dur_prod", "dur_cum"};
        static const int pt[8] = {NPY_INT64, NPY_FLOAT64, NPY_FLOAT64, NPY_FLOAT64,
                                  NPY_FLOAT64, NPY_INT64, NPY_INT64, NPY_FLOAT64};
        Py_ssize_t ncat;
        if (!PyTuple_Check(prod_obj) || PyTuple_GET_SIZE(prod_obj) != 9) {
            PyErr_SetString(PyExc_TypeError, "shop_simulate: products must be a 9-tuple");
            goto fail;
        }
        for (int j = 0; j < 8; j++)
            if (!(pa[j] = sy_as_1d(PyTuple_GET_ITEM(prod_obj, j), pt[j], pn[j], -1))) goto fail;
        ncat = PyLong_AsSsize_t(PyTuple_GET_ITEM(prod_obj, 8));
        if (ncat == -1 && PyErr_Occurred()) goto fail;
        const npy_intp np_ = PyArray_DIM(pa[0], 0);
        if (ncat < 1 || ncat > 100000 || np_ < 1 || PyArray_DIM(pa[1], 0) != np_ ||
            PyArray_DIM(pa[2], 0) != np_ || PyArray_DIM(pa[3], 0) != np_ ||
            PyArray_DIM(pa[4], 0) != (npy_intp)(ncat * ncat) ||
            PyArray_DIM(pa[5], 0) != (npy_intp)(ncat + 1) ||
            PyArray_DIM(pa[6], 0) != PyArray_DIM(pa[7], 0)) {
            PyErr_SetString(PyExc_ValueError, "shop_simulate: inconsistent product arrays");
            goto fail;
        }
        prods.n_products = (int64_t)np_;
        prods.n_categories = (int64_t)ncat;
        prods.category = SY_I64(pa[0]);
        prods.entry_cum = SY_F64(pa[1]);
        prods.cycle_mean = SY_F64(pa[2]);
        prods.cycle_shape = SY_F64(pa[3]);
        prods.ext_cum = SY_F64(pa[4]);
        prods.dur_off = SY_I64(pa[5]);
        prods.dur_prod = SY_I64(pa[6]);
        prods.dur_cum = SY_F64(pa[7]);
        if (SY_I64(pa[5])[ncat] > PyArray_DIM(pa[6], 0)) {
            PyErr_SetString(PyExc_ValueError, "shop_simulate: inconsistent product arrays");
            goto fail;
        }
    }
    const double *sc = (const double *)PyArray_DATA(in[6]);
    sy_shop_params p = {
        (int64_t)nc, (const double *)PyArray_DATA(in[0]), (const double *)PyArray_DATA(in[1]),
        (const double *)PyArray_DATA(in[2]), (const double *)PyArray_DATA(in[3]),
        (const double *)PyArray_DATA(in[4]), (int64_t)PyArray_DIM(in[5], 0),
        (const double *)PyArray_DATA(in[5]), cdf ? (const double *)PyArray_DATA(cdf) : NULL,
        sc[0], sc[1], sc[2], sc[3], sc[4], sc[5], sc[6], prod_obj != Py_None ? &prods : NULL};
    st = sy_shop_check(&p);
    if (st != SY_OK) {
        if (st == SY_ERANGE)
            PyErr_SetString(PyExc_OverflowError, "shop_simulate: orders_per_year x rate "
                            "multipliers x window days exceeds 1e8 orders per customer; lower "
                            "orders_per_year or shorten the window");
        else
            PyErr_SetString(PyExc_ValueError, "shop_simulate: invalid parameters (or products)");
        goto fail;
    }
    npy_intp n = (npy_intp)n_in;
    if (!(count = sy_empty_1d(n, NPY_INT64)) || !(offset = sy_empty_1d(n, NPY_INT64))) goto fail;
    int64_t total = 0;
    SY_NOGIL_BEGIN
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
    SY_NOGIL_END
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
    if (p.products && (!(oprod = sy_empty_1d((npy_intp)total, NPY_INT64)) ||
                       !(orep = sy_empty_1d((npy_intp)total, NPY_BOOL)) ||
                       !(entry = sy_empty_1d(n, NPY_INT64))))
        goto fail;
    SY_NOGIL_BEGIN
    st = sy_shop_fill(&p, (int64_t)n, (uint64_t)seed, (const int64_t *)PyArray_DATA(count),
                      (const int64_t *)PyArray_DATA(offset), (int64_t *)PyArray_DATA(oday),
                      (double *)PyArray_DATA(oamt), (uint8_t *)PyArray_DATA(omem),
                      (int64_t *)PyArray_DATA(chan), (int64_t *)PyArray_DATA(acq),
                      (double *)PyArray_DATA(drop), (int64_t *)PyArray_DATA(since),
                      (uint8_t *)PyArray_DATA(elig), (uint8_t *)PyArray_DATA(svc),
                      oprod ? SY_I64(oprod) : NULL, orep ? (uint8_t *)PyArray_DATA(orep) : NULL,
                      entry ? SY_I64(entry) : NULL);
    SY_NOGIL_END
    if (st != SY_OK) {
        sy_raise(st, "shop_simulate");
        goto fail;
    }
    for (int j = 0; j < 7; j++) Py_DECREF(in[j]);
    for (int j = 0; j < 8; j++) Py_XDECREF(pa[j]);
    Py_XDECREF(cdf);
    Py_DECREF(offset);
    if (oprod)
        return Py_BuildValue("(NNNNNNNNNNNNN)", count, oday, oamt, omem, chan, acq, drop, since,
                             elig, svc, oprod, orep, entry);
    return Py_BuildValue("(NNNNNNNNNN)", count, oday, oamt, omem, chan, acq, drop, since, elig,
                         svc);
fail:
    for (int j = 0; j < 7; j++) Py_XDECREF(in[j]);
    for (int j = 0; j < 8; j++) Py_XDECREF(pa[j]);
    Py_XDECREF(oprod);
    Py_XDECREF(orep);
    Py_XDECREF(entry);
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

PyMethodDef sy_shop_methods[] = {
    {"shop_simulate", py_shop_simulate, METH_VARARGS,
     "shop_simulate(share_cum, rate, life, aov, aov_shape, day_mult, scalars, n, seed[, acq_cdf"
     "[, products]]) -> 10 arrays (13 with products)"},
    {NULL, NULL, 0, NULL},
};
