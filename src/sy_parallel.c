/*
 * sy_parallel.c -- the thread count shared by kernels that split work across cores.
 */
#include "siyu.h"

#include <unistd.h>

/* ---- thread count ------------------------------------------------------ */
static int sy_num_threads = 0;   /* 0 = not yet set: use online cores */

int sy_get_num_threads(void)
{
    if (sy_num_threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        sy_num_threads = (n >= 1 && n <= 256) ? (int)n : 1;
    }
    return sy_num_threads;
}

void sy_set_num_threads(int n)
{
    sy_num_threads = n < 1 ? 1 : (n > 256 ? 256 : n);
}

/* ---- parallel for ------------------------------------------------------ */
#include <pthread.h>

typedef struct {
    void (*fn)(void *, int64_t, int64_t);
    void *ctx;
    int64_t begin, end;
} sy_task;

static void *run_task(void *arg)
{
    sy_task *t = (sy_task *)arg;
    t->fn(t->ctx, t->begin, t->end);
    return NULL;
}

void sy_parallel_for(int64_t n, int64_t min_per_thread, void (*fn)(void *, int64_t, int64_t),
                     void *ctx)
{
    int nt = sy_get_num_threads();
    if (min_per_thread < 1) min_per_thread = 1;
    if (n / min_per_thread < nt) nt = (int)(n / min_per_thread);
    if (nt <= 1) {
        if (n > 0) fn(ctx, 0, n);
        return;
    }
    sy_task tasks[256];
    pthread_t threads[256];
    int started[256];
    for (int t = 0; t < nt; t++) {
        tasks[t].fn = fn;
        tasks[t].ctx = ctx;
        tasks[t].begin = n * t / nt;
        tasks[t].end = n * (t + 1) / nt;
    }
    /* thread 0's share runs on the calling thread; others on new threads.  If a
       thread cannot be created its share runs here too, so the result never depends
       on how many threads actually ran. */
    for (int t = 1; t < nt; t++)
        started[t] = pthread_create(&threads[t], NULL, run_task, &tasks[t]) == 0;
    run_task(&tasks[0]);
    for (int t = 1; t < nt; t++) {
        if (started[t]) pthread_join(threads[t], NULL);
        else run_task(&tasks[t]);
    }
}
