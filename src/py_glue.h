/*
 * py_glue.h -- what the Python glue files (py_<area>.c, _coremodule.c) share.
 *
 * Every wrapper follows one pattern: parse arguments -> coerce arrays (copying only
 * when needed) -> check shapes and values -> allocate outputs -> run the kernel with
 * the GIL released -> map the status code to an exception.  Owned references start
 * NULL and a single `fail:` label releases them all.  Kernels (sy_<area>.c) never
 * include this header.
 */
#ifndef SY_PY_GLUE_H
#define SY_PY_GLUE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#ifndef NPY_NO_DEPRECATED_API
#define NPY_NO_DEPRECATED_API NPY_1_23_API_VERSION
#endif
#define PY_ARRAY_UNIQUE_SYMBOL siyu_ARRAY_API
#ifndef SY_GLUE_IMPORT_ARRAY
#define NO_IMPORT_ARRAY
#endif
#include <numpy/arrayobject.h>

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "siyu.h"

/* siyu._core.ConvergenceError (created by the module init). */
extern PyObject *sy_ConvergenceError;

/* Raise the exception that matches a kernel status; returns NULL.  SY_EINTR keeps the
   KeyboardInterrupt (or other error) that the signal handler set. */
PyObject *sy_raise(int status, const char *what);
/* As sy_raise, with SY_EINVAL explained as inconsistent customer codes/arguments. */
PyObject *sy_raise_codes(int st, const char *what);

/* Coerce `obj` to an aligned, C-contiguous (native byte order) 1-d array of `typenum`
   (a new reference); `expected` < 0 accepts any length.  Errors name the argument. */
PyArrayObject *sy_as_1d(PyObject *obj, int typenum, const char *name, npy_intp expected);
/* Zero-filled / uninitialised 1-d arrays. */
PyArrayObject *sy_new_1d(npy_intp n, int typenum);
PyArrayObject *sy_empty_1d(npy_intp n, int typenum);
/* 0, or -1 with ValueError when `period` is not a SY_PERIOD_* code. */
int sy_check_period(int period);
/* 0, or -1 with ValueError naming `name` when a day number (array) lies outside
   [SY_DAY_MIN, SY_DAY_MAX]. */
int sy_check_days(PyArrayObject *day, const char *name);
int sy_check_day(int64_t day, const char *name);
/* Coerce the (customer, time, amount-or-None) columns of a log (the days range-checked);
   returns 0 or -1. */
int sy_coerce_log(PyObject *cust_obj, PyObject *day_obj, PyObject *amount_obj,
                  PyArrayObject **cust, PyArrayObject **day, PyArrayObject **amount);

#define SY_I64(a) ((int64_t *)PyArray_DATA(a))
#define SY_F64(a) ((double *)PyArray_DATA(a))
#define SY_OPT_F64(a) ((a) ? (const double *)PyArray_DATA(a) : NULL)

/* ---- releasing the GIL with Ctrl-C polling -----------------------------------
   SY_NOGIL_BEGIN / SY_NOGIL_END replace Py_BEGIN/END_ALLOW_THREADS.  Between them,
   kernels may call sy_interrupted() (siyu.h): on this thread it re-takes the GIL at most
   every few milliseconds to run Python's signal handlers; when one raises (Ctrl-C ->
   KeyboardInterrupt) every thread of the call sees the stop flag, the kernel returns
   SY_EINTR and the wrapper returns NULL with the exception set (sy_raise). */
typedef struct sy_call_state {
    PyThreadState *ts;
    int64_t last_poll_ns;
    _Atomic int stop;               /* set once a signal handler raised */
    struct sy_call_state *prev;
} sy_call_state;

void sy_glue_begin(sy_call_state *cs);
void sy_glue_end(sy_call_state *cs);

#define SY_NOGIL_BEGIN { sy_call_state sy_cs_; sy_glue_begin(&sy_cs_);
#define SY_NOGIL_END sy_glue_end(&sy_cs_); }

/* Method tables of the glue files, assembled by _coremodule.c. */
extern PyMethodDef sy_log_methods[];
extern PyMethodDef sy_cohort_methods[];
extern PyMethodDef sy_segment_methods[];
extern PyMethodDef sy_model_methods[];
extern PyMethodDef sy_shop_methods[];
extern PyMethodDef sy_metric_methods[];
extern PyMethodDef sy_parse_methods[];
extern PyMethodDef sy_items_methods[];
extern PyMethodDef sy_trust_methods[];

#endif /* SY_PY_GLUE_H */
