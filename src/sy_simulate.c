/*
 * sy_simulate.c -- draw customers from BG/NBD or Pareto/NBD and amounts from Gamma-Gamma.
 * Every customer has its own random stream (xoshiro256** seeded by splitmix64 of the seed
 * and the customer index), so results do not depend on the order of work and the two
 * phases (count, then fill) see identical draws.
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>

#include "siyu.h"
#include "sy_rng.h"
#include "sy_models.h"

static int sim_range(int model, const double *p0, int per_row, int64_t lo, int64_t n,
                     const double *T, uint64_t seed, int64_t *count, const int64_t *offset,
                     double *times, double *tx)
{
    for (int64_t i = lo; i < n; i++) {
        const double *p = per_row ? p0 + 4 * i : p0;
        if (per_row)
            for (int j = 0; j < 4; j++)
                if (!(p[j] > 0) || !isfinite(p[j])) return SY_EINVAL;
        sy_rng rg;
        sy_rng_seed(&rg, seed, (uint64_t)i);
        const double Ti = T[i];
        if (!(Ti >= 0) || !isfinite(Ti)) return SY_EINVAL;
        double lam = sy_rng_gamma(&rg, p[0]) / p[1];
        double pdrop = 0.0, life = INFINITY;
        if (model == SY_MODEL_BGNBD) {
            double g1 = sy_rng_gamma(&rg, p[2]), g2 = sy_rng_gamma(&rg, p[3]);
            pdrop = g1 / (g1 + g2);
        } else {
            double mu = sy_rng_gamma(&rg, p[2]) / p[3];
            life = sy_rng_exp(&rg) / mu;
        }
        if (lam * Ti > 1e8) return SY_ERANGE;
        const double end = life < Ti ? life : Ti;
        double t = 0.0, last = 0.0;
        int64_t k = 0;
        for (;;) {
            t += sy_rng_exp(&rg) / lam;
            if (!(t <= end)) break;
            if (times) times[offset[i] + k] = t;
            k++;
            last = t;
            if (model == SY_MODEL_BGNBD && sy_rng_unif(&rg) < pdrop) break;
        }
        if (!times) count[i] = k;
        else if (k != count[i]) return SY_EINVAL; /* phase 2 must see phase 1's draws */
        if (tx) tx[i] = last;
    }
    return SY_OK;
}

/* ---- split customers over threads (each customer has its own stream, so the output
   does not depend on the number of threads) ---------------------------------------- */
typedef struct {
    int kind; /* 0 purchases, 1 amounts */
    int model;
    int per_row; /* parameters per customer (4 or 3 per row) */
    const double *p;
    int64_t lo, hi;
    const double *T;
    uint64_t seed;
    int64_t *count;
    const int64_t *kcount;
    const int64_t *offset;
    double *out, *tx;
    int status;
} sim_job;

static int amounts_range(const double *pqg, int per_row, int64_t lo, int64_t n, const int64_t *k,
                         const int64_t *offset, uint64_t seed, double *amounts);

static void *sim_worker(void *arg)
{
    sim_job *j = (sim_job *)arg;
    if (j->kind == 0)
        j->status = sim_range(j->model, j->p, j->per_row, j->lo, j->hi, j->T, j->seed, j->count,
                              j->offset, j->out, j->tx);
    else
        j->status = amounts_range(j->p, j->per_row, j->lo, j->hi, j->kcount, j->offset, j->seed,
                                  j->out);
    return NULL;
}

static int sim_parallel(sim_job proto, int64_t n)
{
    int nth = sy_get_num_threads();
    if (nth > 64) nth = 64;
    if (n < 20000) nth = 1;
    sim_job jobs[64];
    pthread_t th[64];
    int started[64] = {0};
    for (int t = 0; t < nth; t++) {
        jobs[t] = proto;
        jobs[t].lo = n * t / nth;
        jobs[t].hi = n * (t + 1) / nth;
        jobs[t].status = SY_OK;
    }
    for (int t = 1; t < nth; t++) started[t] = pthread_create(&th[t], NULL, sim_worker, &jobs[t]) == 0;
    sim_worker(&jobs[0]);
    for (int t = 1; t < nth; t++) {
        if (started[t]) pthread_join(th[t], NULL);
        else sim_worker(&jobs[t]);
    }
    for (int t = 0; t < nth; t++)
        if (jobs[t].status != SY_OK) return jobs[t].status;
    return SY_OK;
}

int sy_simulate_purchases_ex(int model, const double *p, int per_row, int64_t n, const double *T,
                             uint64_t seed, int64_t *count, const int64_t *offset, double *times,
                             double *tx)
{
    if (model != SY_MODEL_BGNBD && model != SY_MODEL_PARETO) return SY_EINVAL;
    if (!per_row)
        for (int j = 0; j < 4; j++)
            if (!(p[j] > 0) || !isfinite(p[j])) return SY_EINVAL;
    sim_job proto = {0, model, per_row, p, 0, n, T, seed, count, NULL, offset, times, tx, SY_OK};
    return sim_parallel(proto, n);
}

int sy_simulate_purchases(int model, const double *p, int64_t n, const double *T, uint64_t seed,
                          int64_t *count, const int64_t *offset, double *times, double *tx)
{
    return sy_simulate_purchases_ex(model, p, 0, n, T, seed, count, offset, times, tx);
}

int sy_simulate_amounts_ex(const double *pqg, int per_row, int64_t n, const int64_t *k,
                           const int64_t *offset, uint64_t seed, double *amounts)
{
    if (!per_row && !(pqg[0] > 0 && pqg[1] > 0 && pqg[2] > 0)) return SY_EINVAL;
    sim_job proto = {1, 0, per_row, pqg, 0, n, NULL, seed, NULL, k, offset, amounts, NULL, SY_OK};
    return sim_parallel(proto, n);
}

int sy_simulate_amounts(const double *pqg, int64_t n, const int64_t *k, const int64_t *offset,
                        uint64_t seed, double *amounts)
{
    return sy_simulate_amounts_ex(pqg, 0, n, k, offset, seed, amounts);
}

static int amounts_range(const double *pqg0, int per_row, int64_t lo, int64_t n, const int64_t *k,
                         const int64_t *offset, uint64_t seed, double *amounts)
{
    for (int64_t i = lo; i < n; i++) {
        const double *pqg = per_row ? pqg0 + 3 * i : pqg0;
        const double pp = pqg[0], q = pqg[1], g = pqg[2];
        if (!(pp > 0 && q > 0 && g > 0) || !isfinite(pp + q + g)) return SY_EINVAL;
        sy_rng rg;
        sy_rng_seed(&rg, seed ^ 0x5bd1e9955bd1e995ULL, (uint64_t)i);
        double nu = sy_rng_gamma(&rg, q) / g;
        for (int64_t j = 0; j < k[i]; j++) amounts[offset[i] + j] = sy_rng_gamma(&rg, pp) / nu;
    }
    return SY_OK;
}
