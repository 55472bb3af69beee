/*
 * py_glue.c -- helpers shared by the glue files, and the Ctrl-C polling behind
 * sy_interrupted() (see py_glue.h).
 */
#include "py_glue.h"

#include <stdatomic.h>
#include <time.h>

PyObject *sy_ConvergenceError = NULL;

/* Raise the exception that matches a kernel status; returns NULL. */
PyObject *sy_raise(int status, const char *what)
{
    switch (status) {
    case SY_ENOMEM:
        PyErr_Format(PyExc_MemoryError, "%s: out of memory (or size overflow)", what);
        break;
    case SY_ERANGE:
        PyErr_Format(PyExc_OverflowError, "%s: value out of range", what);
        break;
    case SY_ENOCONV:
        PyErr_Format(sy_ConvergenceError, "%s: optimiser did not converge", what);
        break;
    case SY_ENAN:
        PyErr_Format(PyExc_FloatingPointError, "%s: non-finite value encountered", what);
        break;
    case SY_EINTR:
        if (!PyErr_Occurred()) PyErr_SetNone(PyExc_KeyboardInterrupt);
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
PyArrayObject *sy_as_1d(PyObject *obj, int typenum, const char *name, npy_intp expected)
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

PyArrayObject *sy_new_1d(npy_intp n, int typenum)
{
    npy_intp dims[1] = {n};
    return (PyArrayObject *)PyArray_ZEROS(1, dims, typenum, 0);
}

/* An uninitialised 1-d array, for outputs the kernel writes in full. */
PyArrayObject *sy_empty_1d(npy_intp n, int typenum)
{
    npy_intp dims[1] = {n};
    return (PyArrayObject *)PyArray_EMPTY(1, dims, typenum, 0);
}

int sy_check_period(int period)
{
    if (period < SY_PERIOD_D || period > SY_PERIOD_Y) {
        PyErr_Format(PyExc_ValueError, "period code must be in 0..4, got %d", period);
        return -1;
    }
    return 0;
}

/* Coerce the (customer, time, amount-or-None) columns of a log; returns 0 or -1. */
int sy_check_days(PyArrayObject *day, const char *name)
{
    const int64_t *d = (const int64_t *)PyArray_DATA(day);
    npy_intp n = PyArray_DIM(day, 0);
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (npy_intp i = 0; i < n; i++) {
        lo = d[i] < lo ? d[i] : lo;
        hi = d[i] > hi ? d[i] : hi;
    }
    if (n > 0 && (lo < SY_DAY_MIN || hi > SY_DAY_MAX)) {
        PyErr_Format(PyExc_ValueError, "argument '%s': day numbers must lie in [%lld, %lld] "
                     "(got %lld .. %lld); build the log with siyu.Transactions, which checks "
                     "the supported dates", name, (long long)SY_DAY_MIN, (long long)SY_DAY_MAX,
                     (long long)lo, (long long)hi);
        return -1;
    }
    return 0;
}

int sy_check_day(int64_t day, const char *name)
{
    if (day < SY_DAY_MIN || day > SY_DAY_MAX) {
        PyErr_Format(PyExc_ValueError, "argument '%s': day number %lld is outside [%lld, %lld]",
                     name, (long long)day, (long long)SY_DAY_MIN, (long long)SY_DAY_MAX);
        return -1;
    }
    return 0;
}

int sy_coerce_log(PyObject *cust_obj, PyObject *day_obj, PyObject *amount_obj,
                         PyArrayObject **cust, PyArrayObject **day, PyArrayObject **amount)
{
    if (!(*cust = sy_as_1d(cust_obj, NPY_INT64, "customer", -1))) return -1;
    npy_intp n = PyArray_DIM(*cust, 0);
    if (!(*day = sy_as_1d(day_obj, NPY_INT64, "time", n))) return -1;
    if (sy_check_days(*day, "time") < 0) return -1;
    if (amount_obj != Py_None && !(*amount = sy_as_1d(amount_obj, NPY_FLOAT64, "amount", n)))
        return -1;
    return 0;
}


PyObject *sy_raise_codes(int st, const char *what)
{
    if (st == SY_EINVAL) {
        PyErr_Format(PyExc_ValueError, "%s: customer codes must lie in [0, k) and arguments "
                     "must be consistent", what);
        return NULL;
    }
    return sy_raise(st, what);
}

/* ------------------------------------------------------------------------ */
/* interrupts                                                                */
/* ------------------------------------------------------------------------ */

/* The call state of this thread: the wrapper's own (sy_owner = 1: this thread released
   the GIL and may re-take it) or, in a worker of sy_parallel_for, the caller's. */
/* initial-exec: in the module's static TLS block (a few bytes of glibc's surplus), so no
   thread allocates a dynamic TLS vector on first use (glibc's lazy dtv allocation and its
   free at thread exit are what ThreadSanitizer reports as a race in run_job) */
#if defined(__GNUC__)
#define SY_TLS _Thread_local __attribute__((tls_model("initial-exec")))
#else
#define SY_TLS _Thread_local
#endif
static SY_TLS sy_call_state *sy_cur = NULL;
static SY_TLS int sy_owner = 0;

#define SY_POLL_NS 4000000  /* re-take the GIL at most every 4 ms */

static int64_t sy_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void sy_glue_begin(sy_call_state *cs)
{
    cs->prev = sy_cur;
    cs->last_poll_ns = sy_now_ns();
    atomic_store_explicit(&cs->stop, 0, memory_order_relaxed);
    cs->ts = PyEval_SaveThread();
    sy_cur = cs;
    sy_owner = 1;
}

void sy_glue_end(sy_call_state *cs)
{
    PyEval_RestoreThread(cs->ts);
    sy_cur = cs->prev;
    sy_owner = cs->prev != NULL;
}

int sy_interrupted(void)
{
    sy_call_state *cs = sy_cur;
    if (cs == NULL) return 0;
    if (atomic_load_explicit(&cs->stop, memory_order_relaxed)) return 1;
    if (!sy_owner) return 0;
    int64_t now = sy_now_ns();
    if (now - cs->last_poll_ns < SY_POLL_NS) return 0;
    cs->last_poll_ns = now;
    PyEval_RestoreThread(cs->ts);
    int r = PyErr_CheckSignals();
    cs->ts = PyEval_SaveThread();
    if (r != 0) {
        atomic_store_explicit(&cs->stop, 1, memory_order_relaxed);
        return 1;
    }
    return 0;
}

void *sy_intr_context(void)
{
    return sy_cur;
}

void sy_intr_adopt(void *ctx)
{
    sy_cur = (sy_call_state *)ctx;
    sy_owner = 0;
}
