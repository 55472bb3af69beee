/*
 * _coremodule.c -- assembles siyu._core from the glue files.
 *
 * Each area's wrappers live in src/py_<area>.c (calendar/summaries/grouping in
 * py_log.c, cohorts, segments, models, shop); their helpers in py_glue.c.  This file
 * only concatenates their method tables and creates the module's exception and
 * constants.
 */
#define SY_GLUE_IMPORT_ARRAY 1
#include "py_glue.h"

static PyMethodDef *const sy_tables[] = {
    sy_log_methods, sy_cohort_methods, sy_segment_methods, sy_model_methods, sy_shop_methods,
    sy_metric_methods,
    sy_parse_methods,
    sy_items_methods,
    sy_trust_methods,
};
#define SY_N_TABLES ((int)(sizeof(sy_tables) / sizeof(sy_tables[0])))

static struct PyModuleDef core_module = {
    PyModuleDef_HEAD_INIT, "siyu._core", "siyu C kernels (internal; use the siyu package).", -1,
    NULL, NULL, NULL, NULL, NULL,
};

/* Add every function of one method table to the module. */
static int sy_add_table(PyObject *m, PyMethodDef *defs)
{
    PyObject *modname = PyModule_GetNameObject(m);
    if (!modname) return -1;
    for (PyMethodDef *d = defs; d->ml_name != NULL; d++) {
        PyObject *f = PyCFunction_NewEx(d, m, modname);
        if (!f || PyModule_AddObject(m, d->ml_name, f) < 0) {
            Py_XDECREF(f);
            Py_DECREF(modname);
            return -1;
        }
    }
    Py_DECREF(modname);
    return 0;
}

PyMODINIT_FUNC PyInit__core(void)
{
    import_array();
    PyObject *m = PyModule_Create(&core_module);
    if (!m) return NULL;
    for (int i = 0; i < SY_N_TABLES; i++) {
        if (sy_add_table(m, sy_tables[i]) < 0) {
            Py_DECREF(m);
            return NULL;
        }
    }
    sy_ConvergenceError = PyErr_NewExceptionWithDoc(
        "siyu._core.ConvergenceError",
        "The optimiser did not converge. Try more iterations, a penalizer > 0, or check the data.",
        PyExc_RuntimeError, NULL);
    if (!sy_ConvergenceError || PyModule_AddObject(m, "ConvergenceError", sy_ConvergenceError) < 0) {
        Py_XDECREF(sy_ConvergenceError);
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(sy_ConvergenceError);  /* the module's reference was stolen; keep ours */
    if (PyModule_AddIntConstant(m, "PERIOD_D", SY_PERIOD_D) < 0 ||
        PyModule_AddIntConstant(m, "PERIOD_W", SY_PERIOD_W) < 0 ||
        PyModule_AddIntConstant(m, "PERIOD_M", SY_PERIOD_M) < 0 ||
        PyModule_AddIntConstant(m, "PERIOD_Q", SY_PERIOD_Q) < 0 ||
        PyModule_AddIntConstant(m, "PERIOD_Y", SY_PERIOD_Y) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
