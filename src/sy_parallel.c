/*
 * sy_parallel.c -- the thread count shared by kernels that split work across cores.
 */
#define _POSIX_C_SOURCE 200809L   /* nanosleep */
#include "siyu.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

/* ---- thread count ------------------------------------------------------ */
/* 0 = not yet set: use the online cores.  Atomic: a running kernel reads it while
   another Python thread may call siyu.set_num_threads(); each kernel reads it once. */
static _Atomic int sy_num_threads = 0;

/* Nonzero on a thread that runs a part of a parallel region (a worker, or the caller
   while it takes its share): a kernel called from there runs on that one thread, so
   nested kernels never start threads of their own (no oversubscription). */
static _Thread_local int sy_in_region = 0;

int sy_get_num_threads(void)
{
    if (sy_in_region) return 1;
    int n = atomic_load_explicit(&sy_num_threads, memory_order_relaxed);
    if (n <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = (c >= 1 && c <= SY_THREADS_CAP) ? (int)c : 1;
        int expected = 0;
        atomic_compare_exchange_strong(&sy_num_threads, &expected, n);
        n = atomic_load_explicit(&sy_num_threads, memory_order_relaxed);
    }
    return n;
}

void sy_set_num_threads(int n)
{
    atomic_store_explicit(&sy_num_threads, n < 1 ? 1 : (n > SY_THREADS_CAP ? SY_THREADS_CAP : n),
                          memory_order_relaxed);
}

/* ---- waiting for workers ---------------------------------------------------
   The calling thread is the one that polls Python's signal handlers (sy_interrupted):
   once its own share is done it must keep polling while the workers finish, or a
   slow (e.g. descheduled) worker would delay Ctrl-C until it is done.  A Ctrl-C seen
   here sets the stop flag that the workers check. */
static void wait_polling(_Atomic int *done, int expected)
{
    struct timespec pause = {0, 200000};   /* 0.2 ms */
    while (atomic_load_explicit(done, memory_order_acquire) < expected) {
        (void)sy_interrupted();
        nanosleep(&pause, NULL);
    }
}

/* ---- parallel for ------------------------------------------------------ */
/* [0, n) is cut into contiguous chunks (up to 8 per thread, at least min_per_thread
   items each) that the threads pull from a shared counter, so a thread that the OS
   deschedules does not hold up the others: on a busy machine two threads are then
   never much slower than one.  fn writes only its chunk's outputs, so the result does
   not depend on which thread ran which chunk. */
typedef struct {
    void (*fn)(void *, int64_t, int64_t);
    void *ctx;
    int64_t n, nchunks;
    _Atomic int64_t next;
} sy_pf_shared;

typedef struct {
    sy_pf_shared *sh;
    void *intr;       /* the caller's interrupt context (sy_intr_adopt) */
    _Atomic int *done;
} sy_task;

static void pf_chunks(sy_pf_shared *sh)
{
    for (;;) {
        int64_t c = atomic_fetch_add_explicit(&sh->next, 1, memory_order_relaxed);
        if (c >= sh->nchunks) return;
        sh->fn(sh->ctx, sh->n * c / sh->nchunks, sh->n * (c + 1) / sh->nchunks);
    }
}

static void *run_task(void *arg)
{
    sy_task *t = (sy_task *)arg;
    sy_intr_adopt(t->intr);
    sy_in_region = 1;
    pf_chunks(t->sh);
    atomic_fetch_add_explicit(t->done, 1, memory_order_release);
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
    int64_t nchunks = 8 * (int64_t)nt;
    if (n / min_per_thread < nchunks) nchunks = n / min_per_thread;
    sy_pf_shared sh = {fn, ctx, n, nchunks, 0};
    sy_task tasks[SY_THREADS_CAP];
    pthread_t threads[SY_THREADS_CAP];
    int started[SY_THREADS_CAP];
    _Atomic int done = 0;
    int n_started = 0;
    void *intr = sy_intr_context();
    for (int t = 1; t < nt; t++) {
        tasks[t].sh = &sh;
        tasks[t].intr = intr;
        tasks[t].done = &done;
        started[t] = pthread_create(&threads[t], NULL, run_task, &tasks[t]) == 0;
        n_started += started[t];
    }
    /* the calling thread works too (it keeps its own interrupt context and polls
       Python's signals); chunks of threads that could not start are taken by the
       others, so the result never depends on how many threads actually ran */
    const int prev = sy_in_region;
    sy_in_region = 1;
    pf_chunks(&sh);
    sy_in_region = prev;
    wait_polling(&done, n_started);
    for (int t = 1; t < nt; t++)
        if (started[t]) pthread_join(threads[t], NULL);
}

/* ---- jobs ---------------------------------------------------------------- */
typedef struct {
    void *(*fn)(void *);
    void *job;
    void *intr;
    _Atomic int *done;
} sy_job_start;

static void *run_job(void *arg)
{
    sy_job_start *s = (sy_job_start *)arg;
    sy_intr_adopt(s->intr);
    sy_in_region = 1;
    void *r = s->fn(s->job);
    atomic_fetch_add_explicit(s->done, 1, memory_order_release);
    return r;
}

void sy_run_jobs(void *(*fn)(void *), void *jobs, size_t job_size, int nthreads)
{
    pthread_t th[SY_THREADS_CAP];
    sy_job_start starts[SY_THREADS_CAP];
    int started[SY_THREADS_CAP] = {0};
    _Atomic int done = 0;
    int n_started = 0;
    void *intr = sy_intr_context();
    if (nthreads > SY_THREADS_CAP) nthreads = SY_THREADS_CAP;
    for (int t = 1; t < nthreads; t++) {
        starts[t].fn = fn;
        starts[t].job = (char *)jobs + (size_t)t * job_size;
        starts[t].intr = intr;
        starts[t].done = &done;
        started[t] = pthread_create(&th[t], NULL, run_job, &starts[t]) == 0;
        n_started += started[t];
    }
    const int prev = sy_in_region;
    sy_in_region = 1;
    if (nthreads >= 1) fn(jobs);
    wait_polling(&done, n_started);
    for (int t = 1; t < nthreads; t++) {
        if (started[t])
            pthread_join(th[t], NULL);
        else
            fn((char *)jobs + (size_t)t * job_size);
    }
    sy_in_region = prev;
}

/* ---- fixed blocks with a shared status ------------------------------------ */
typedef struct {
    int (*fn)(void *, int64_t, int64_t);
    void *ctx;
    int64_t n, block;
    _Atomic int status;
} pb_ctx;

static void pb_stop(pb_ctx *c, int st)
{
    int ok = SY_OK;
    atomic_compare_exchange_strong(&c->status, &ok, st);
}

static void pb_chunk(void *vctx, int64_t blo, int64_t bhi)
{
    pb_ctx *c = (pb_ctx *)vctx;
    for (int64_t b = blo; b < bhi; b++) {
        if (atomic_load_explicit(&c->status, memory_order_relaxed) != SY_OK) return;
        if (sy_interrupted()) {
            pb_stop(c, SY_EINTR);
            return;
        }
        const int64_t lo = b * c->block, hi = c->n - lo < c->block ? c->n : lo + c->block;
        const int st = c->fn(c->ctx, lo, hi);
        if (st != SY_OK) {
            pb_stop(c, st);
            return;
        }
    }
}

int sy_parallel_blocks(int64_t n, int64_t block, int64_t min_blocks,
                       int (*fn)(void *, int64_t, int64_t), void *ctx)
{
    if (n <= 0) return SY_OK;
    if (block < 1) block = 1;
    pb_ctx c = {fn, ctx, n, block, SY_OK};
    sy_parallel_for((n - 1) / block + 1, min_blocks, pb_chunk, &c);
    return atomic_load(&c.status);
}
