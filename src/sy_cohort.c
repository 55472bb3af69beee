/*
 * sy_cohort.c -- acquisition cohorts: first/second purchase per customer and the
 * cohort x age matrices (active customers, orders, revenue).
 *
 * No sort of the log: one pass finds each customer's first purchase, one pass drops
 * every row into its (cohort, age) cell.  Distinct active customers per cell come from
 * a per-customer bitset of ages (or, when that would be large, from bucketing the log
 * by customer).  Definitions: DESIGN.md section 2.
 */
#define _DEFAULT_SOURCE 1   /* madvise */
#include "sy_cohort.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

/* Allocate a zeroed per-customer table that is read at random once per log row.
   Large tables are 2 MiB aligned and marked for transparent huge pages, which removes
   most TLB misses of the random accesses (several-fold faster on 10M-row logs). */
void *sy_table_alloc(int64_t bytes)
{
    const int64_t huge = (int64_t)1 << 21;
    void *p;
    if (bytes <= 0) bytes = 64;
    if (bytes >= huge) {
        int64_t rounded = (bytes + huge - 1) / huge * huge;
        p = aligned_alloc((size_t)huge, (size_t)rounded);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
        if (p) madvise(p, (size_t)rounded, MADV_HUGEPAGE);
#endif
    } else {
        p = aligned_alloc(64, (size_t)((bytes + 63) / 64 * 64));
    }
    if (p) memset(p, 0, (size_t)bytes);
    return p;
}

#define IS_PURCHASE(amount, i) (!(amount) || (amount)[i] >= 0.0)

static _Atomic int64_t parallel_min_rows = SY_PARALLEL_MIN_ROWS;

void sy_set_parallel_min_rows(int64_t n)
{
    atomic_store_explicit(&parallel_min_rows, n < 0 ? 0 : n, memory_order_relaxed);
}

int sy_pass_threads(int64_t n)
{
    int t = sy_get_num_threads();
    if (n < atomic_load_explicit(&parallel_min_rows, memory_order_relaxed) || t < 1) return 1;
    return t > SY_MAX_THREADS ? SY_MAX_THREADS : t;
}

/* ---- first purchase ------------------------------------------------------ */
/* Single-threaded: a parallel version (per-thread records merged in row order) measured
   slower on 2 cores, the merge costing more than the halved row pass. */
int sy_cohort_first(const int64_t *cust, const int64_t *day, const double *amount,
                    const int64_t *group, int64_t n, int64_t k, int64_t end,
                    int64_t *first_day, int64_t *first_group, int64_t *n_refund_only)
{
    if (n < 0 || k < 0) return SY_EINVAL;
    /* (day, group) side by side: one cache miss per row instead of two */
    int64_t *rec = (int64_t *)sy_table_alloc((int64_t)sizeof(int64_t) * 2 * k);
    if (!rec) return SY_ENOMEM;
    for (int64_t c = 0; c < k; c++) {
        rec[2 * c] = SY_NO_DAY;
        rec[2 * c + 1] = -1;   /* -1: no row by end; -2: only refunds so far */
    }
    for (int64_t i = 0; i < n; i++) {
        int64_t c = cust[i];
        if (c < 0 || c >= k) {
            free(rec);
            return SY_EINVAL;
        }
        if ((i & (SY_POLL_WORK - 1)) == SY_POLL_WORK - 1 && sy_interrupted()) {
            free(rec);
            return SY_EINTR;
        }
        if (i + SY_PREFETCH < n) {
            int64_t cp = cust[i + SY_PREFETCH];
            if (cp >= 0 && cp < k) __builtin_prefetch(rec + 2 * cp, 1, 0);
        }
        int64_t d = day[i];
        if (d > end) continue;
        int64_t *r = rec + 2 * c;
        if (!IS_PURCHASE(amount, i)) {
            if (r[1] == -1) r[1] = -2;
            continue;
        }
        if (d < r[0]) {   /* strict: ties keep the lowest row index */
            r[0] = d;
            r[1] = group ? group[i] : 0;
        }
    }
    int64_t refund_only = 0;
    for (int64_t c = 0; c < k; c++) {
        first_day[c] = rec[2 * c];
        int64_t g = rec[2 * c + 1];
        if (g == -2) {
            refund_only++;
            g = -1;
        }
        if (first_group) first_group[c] = g;
    }
    free(rec);
    if (n_refund_only) *n_refund_only = refund_only;
    return SY_OK;
}

int sy_cohort_second(const int64_t *cust, const int64_t *day, const double *amount,
                     int64_t n, int64_t k, int64_t end, const int64_t *first_day,
                     int64_t *second_day)
{
    if (n < 0 || k < 0) return SY_EINVAL;
    for (int64_t c = 0; c < k; c++) second_day[c] = SY_NO_DAY;
    for (int64_t i = 0; i < n; i++) {
        int64_t c = cust[i];
        if (c < 0 || c >= k) return SY_EINVAL;
        if ((i & (SY_POLL_WORK - 1)) == SY_POLL_WORK - 1 && sy_interrupted()) return SY_EINTR;
        int64_t d = day[i];
        if (d > end || !IS_PURCHASE(amount, i)) continue;
        if (first_day[c] != SY_NO_DAY && d > first_day[c] && d < second_day[c]) second_day[c] = d;
    }
    return SY_OK;
}

/* Neumaier compensated addition. */
static inline void kahan_add(double *sum, double *comp, double x)
{
    double s = *sum, t = s + x;
    if ((s >= 0 ? s : -s) >= (x >= 0 ? x : -x))
        *comp += (s - t) + x;
    else
        *comp += (x - t) + s;
    *sum = t;
}

/* Largest day span for which period indices are tabulated instead of computed. */
#define SY_TABLE_MAX_DAYS ((int64_t)1 << 22)

/* ---- cohort x age matrix ------------------------------------------------- */
/* Fixed number of row chunks with separate partial sums (see sy_cohort_matrix). */
#define SY_CHUNKS 8

typedef struct {
    const int64_t *cust, *day;
    const double *revenue_amount;   /* amounts when revenue is wanted, else NULL */
    const double *amount;           /* amounts (purchase test), may be NULL */
    int64_t n, k, end, lo_day, n_ages, cells, stride;
    int period, use_bits;
    const int64_t *table;
    int64_t *rec;
    int chunks, t, nthreads;
    int64_t *ord_c;
    double *rev_c, *cmp_c;
    int64_t dropped;
    int st;
} matrix_job;

/* Thread t handles chunks t, t + T, ...; age bits are set with atomic OR when several
   threads share the per-customer records. */
static void *matrix_worker(void *arg)
{
    matrix_job *j = (matrix_job *)arg;
    const int64_t *cust = j->cust, *day = j->day, *table = j->table;
    const double *amount = j->amount, *ramount = j->revenue_amount;
    const int64_t n = j->n, k = j->k, end = j->end, lo_day = j->lo_day, n_ages = j->n_ages;
    const int64_t cells = j->cells, stride = j->stride;
    int64_t *rec = j->rec, dropped = 0;
    const int use_bits = j->use_bits, atomic = j->nthreads > 1;
    for (int ch = j->t; ch < j->chunks && j->st == SY_OK; ch += j->nthreads) {
        const int64_t lo = n * ch / j->chunks, hi = n * (ch + 1) / j->chunks;
        int64_t *ord = j->ord_c + (int64_t)ch * cells;
        double *rev = j->rev_c ? j->rev_c + (int64_t)ch * cells : NULL;
        double *cmp = j->cmp_c ? j->cmp_c + (int64_t)ch * cells : NULL;
        for (int64_t i = lo; i < hi; i++) {
            int64_t c = cust[i];
            if (c < 0 || c >= k) {
                j->st = SY_EINVAL;
                break;
            }
            if (((i - lo) & (SY_POLL_WORK - 1)) == SY_POLL_WORK - 1 && sy_interrupted()) {
                j->st = SY_EINTR;
                break;
            }
            if (i + SY_PREFETCH < hi) {
                int64_t cp = cust[i + SY_PREFETCH];
                if (cp >= 0 && cp < k) __builtin_prefetch(rec + cp * stride, 1, 0);
            }
            int64_t d = day[i];
            if (d > end) continue;
            int64_t *rc = rec + c * stride;
            int64_t r = rc[0];
            if (r < 0) continue;
            if (d < lo_day) { dropped++; continue; }
            int64_t per = table ? table[d - lo_day] : sy_period_index(d, j->period);
            int64_t age = per - rc[1];
            if (age < 0) { dropped++; continue; }
            if (age >= n_ages) {
                j->st = SY_EINVAL;
                break;
            }
            int64_t cell = r * n_ages + age;
            if (ramount) kahan_add(&rev[cell], &cmp[cell], ramount[i]);
            if (IS_PURCHASE(amount, i)) {
                ord[cell]++;
                if (use_bits) {
                    uint64_t *w = (uint64_t *)rc + 2 + (age >> 6);
                    uint64_t m = (uint64_t)1 << (age & 63);
                    if (__atomic_load_n(w, __ATOMIC_RELAXED) & m) continue;
                    if (atomic)
                        __atomic_fetch_or(w, m, __ATOMIC_RELAXED);
                    else
                        *w |= m;
                }
            }
        }
    }
    j->dropped = dropped;
    return NULL;
}

/* Per-customer records of the matrix pass: [row, cohort period, bits...]. */
int sy_cohort_matrix(const int64_t *cust, const int64_t *day, const double *amount,
                     int64_t n, int64_t k, int64_t end, int period,
                     const int64_t *cell_row, const int64_t *cust_per,
                     int64_t n_rows, int64_t n_ages, int64_t lo_day,
                     int64_t max_bitset_words,
                     int64_t *active, int64_t *orders, double *revenue, int64_t *n_dropped)
{
    int64_t cells, words, nbits, bytes, stride;
    int st = SY_OK;
    if (period < SY_PERIOD_D || period > SY_PERIOD_Y) return SY_EINVAL;
    if (n < 0 || k < 0 || n_rows < 0 || n_ages < 0 || lo_day > end + 1) return SY_EINVAL;
    if (revenue && !amount) return SY_EINVAL;
    if (!sy_mul_ok(n_rows, n_ages, &cells)) return SY_ENOMEM;
    *n_dropped = 0;
    words = (n_ages + 63) / 64;
    int use_bits = sy_mul_ok(k, words, &nbits) && nbits <= max_bitset_words;
    stride = sy_record_stride(use_bits ? words : 0);

    int64_t *table = NULL;
    int64_t *rec = NULL;
    int64_t span = end - lo_day + 1;
    if (span > 0 && span <= SY_TABLE_MAX_DAYS) {
        table = (int64_t *)malloc(sizeof(int64_t) * (size_t)span);
        if (!table) return SY_ENOMEM;
        for (int64_t j = 0; j < span; j++) table[j] = sy_period_index(lo_day + j, period);
    }
    if (!sy_mul_ok(k > 0 ? k : 1, stride * (int64_t)sizeof(int64_t), &bytes)) { st = SY_ENOMEM; goto done; }
    rec = (int64_t *)sy_table_alloc(bytes);
    if (!rec && use_bits) {   /* retry without the bitset; distinct customers by bucketing */
        use_bits = 0;
        stride = 2;
        if (!sy_mul_ok(k > 0 ? k : 1, stride * (int64_t)sizeof(int64_t), &bytes)) { st = SY_ENOMEM; goto done; }
        rec = (int64_t *)sy_table_alloc(bytes);
    }
    if (!rec) { st = SY_ENOMEM; goto done; }
    for (int64_t c = 0; c < k; c++) {
        int64_t r = cell_row[c];
        if (r >= n_rows) { st = SY_EINVAL; goto done; }
        rec[c * stride] = r < 0 ? -1 : r;
        rec[c * stride + 1] = cust_per[c];
    }

    {
        /* the rows are cut into SY_CHUNKS fixed ranges (1 when the per-chunk cells would
           exceed 64 MiB) with their own counts and compensated sums, combined in chunk
           order: identical results for any thread count */
        int64_t chunks = SY_CHUNKS, chunk_cells;
        if (!sy_mul_ok(cells, SY_CHUNKS * (int64_t)(sizeof(int64_t) + 2 * sizeof(double)), &bytes) ||
            bytes > ((int64_t)64 << 20))
            chunks = 1;
        if (!sy_mul_ok(chunks, cells > 0 ? cells : 1, &chunk_cells)) { st = SY_ENOMEM; goto done; }
        int64_t *ord_c = (int64_t *)calloc((size_t)chunk_cells, sizeof(int64_t));
        double *rev_c = revenue ? (double *)calloc((size_t)chunk_cells, sizeof(double)) : NULL;
        double *cmp_c = revenue ? (double *)calloc((size_t)chunk_cells, sizeof(double)) : NULL;
        if (!ord_c || (revenue && (!rev_c || !cmp_c))) {
            free(ord_c);
            free(rev_c);
            free(cmp_c);
            st = SY_ENOMEM;
            goto done;
        }
        matrix_job jobs[SY_MAX_THREADS];
        int T = sy_pass_threads(n);
        if (T > chunks) T = (int)chunks;
        for (int t = 0; t < T; t++) {
            matrix_job jb = {cust, day, revenue ? amount : NULL, amount, n, k, end, lo_day,
                             n_ages, cells, stride, period, use_bits, table, rec, (int)chunks,
                             t, T, ord_c, rev_c, cmp_c, 0, SY_OK};
            jobs[t] = jb;
        }
        sy_run_jobs(matrix_worker, jobs, sizeof(matrix_job), T);
        for (int t = 0; t < T; t++) {
            if (jobs[t].st != SY_OK) st = jobs[t].st;
            *n_dropped += jobs[t].dropped;
        }
        if (st == SY_OK) {
            for (int64_t cell = 0; cell < cells; cell++) {
                int64_t o = 0;
                double sum = 0.0, cmp = 0.0;
                for (int64_t ch = 0; ch < chunks; ch++) {
                    o += ord_c[ch * cells + cell];
                    if (revenue) {
                        kahan_add(&sum, &cmp, rev_c[ch * cells + cell]);
                        kahan_add(&sum, &cmp, cmp_c[ch * cells + cell]);
                    }
                }
                orders[cell] = o;
                if (revenue) revenue[cell] = sum + cmp;
            }
        }
        free(ord_c);
        free(rev_c);
        free(cmp_c);
        if (st != SY_OK) goto done;
    }

    if (use_bits) {
        for (int64_t c = 0; c < k; c++) {
            const int64_t *rc = rec + c * stride;
            if (rc[0] < 0) continue;
            const uint64_t *b = (const uint64_t *)rc + 2;
            int64_t *row = active + rc[0] * n_ages;
            for (int64_t w = 0; w < words; w++) {
                uint64_t x = b[w];
                while (x) {
                    row[w * 64 + __builtin_ctzll(x)]++;
                    x &= x - 1;
                }
            }
        }
    } else {
        /* bucket the rows by customer, order each customer's rows by day, count each
           (customer, age) once */
        int64_t *offsets = (int64_t *)malloc(sizeof(int64_t) * (size_t)(k + 1));
        sy_row *rows = NULL;
        if (!offsets) { st = SY_ENOMEM; goto done; }
        st = sy_bucket_by_customer(cust, day, amount, n, k, lo_day - 1, end, offsets, &rows);
        if (st != SY_OK) { free(offsets); goto done; }
        int64_t work = 0;
        for (int64_t c = 0; c < k; c++) {
            int64_t r = cell_row[c];
            if (r < 0) continue;
            sy_row *rr = rows + offsets[c];
            int64_t len = offsets[c + 1] - offsets[c];
            if ((work += len + 1) >= SY_POLL_WORK) {
                work = 0;
                if (sy_interrupted()) {
                    st = SY_EINTR;
                    break;
                }
            }
            sy_sort_rows(rr, len);
            int64_t last = -1;
            for (int64_t j = 0; j < len; j++) {
                if (amount && rr[j].amount < 0.0) continue;
                int64_t d = rr[j].day;
                int64_t age = (table ? table[d - lo_day] : sy_period_index(d, period)) - cust_per[c];
                if (age < 0 || age >= n_ages || age == last) continue;
                active[r * n_ages + age]++;
                last = age;
            }
        }
        free(rows);
        free(offsets);
    }
done:
    free(table);
    free(rec);
    return st;
}

/* ========================================================================== */
/* Grouped log (rows grouped by customer, sorted by day: siyu.Transactions).   */
/* ========================================================================== */
/*
 * The same figures as above, computed customer by customer: no per-customer record
 * table, no atomics.  Work is cut into SY_CHUNKS fixed customer ranges (boundaries at
 * the customers nearest n * ch / SY_CHUNKS rows), each with its own partial counts
 * and compensated sums combined in chunk order, so results are identical for any
 * thread count.
 */

int sy_offsets_ok(const int64_t *offsets, int64_t k, int64_t n)
{
    if (k < 0 || offsets[0] != 0 || offsets[k] != n) return 0;
    for (int64_t c = 0; c < k; c++)
        if (offsets[c] > offsets[c + 1]) return 0;
    return 1;
}

/* first customer of each of `chunks` customer ranges (chunk_start has chunks + 1) */
static void customer_chunks(const int64_t *offsets, int64_t k, int64_t chunks, int64_t *chunk_start)
{
    int64_t n = offsets[k];
    chunk_start[0] = 0;
    for (int64_t ch = 1; ch < chunks; ch++) {
        int64_t target = n * ch / chunks, lo = chunk_start[ch - 1], hi = k;
        while (lo < hi) {                    /* first customer starting at or after target */
            int64_t mid = lo + (hi - lo) / 2;
            if (offsets[mid] < target) lo = mid + 1;
            else hi = mid;
        }
        chunk_start[ch] = lo;
    }
    chunk_start[chunks] = k;
}

typedef struct {
    const int64_t *day, *group, *offsets;
    const double *amount;
    int64_t end;
    int64_t *first_day, *first_group;
    _Atomic int64_t refund_only;   /* integer sum: the same for any thread count */
    _Atomic int stop;
} first_ctx;

static void first_range(void *vctx, int64_t c0, int64_t c1)
{
    first_ctx *x = (first_ctx *)vctx;
    int64_t ro = 0;
    int64_t work = 0;
    for (int64_t c = c0; c < c1; c++) {
        if ((work += x->offsets[c + 1] - x->offsets[c] + 1) >= SY_POLL_WORK) {
            work = 0;
            if (sy_interrupted()) {
                x->stop = 1;
                return;
            }
        }
        int64_t i = x->offsets[c], e = x->offsets[c + 1], fd = SY_NO_DAY, fg = -1;
        int any = 0;
        for (; i < e && x->day[i] <= x->end; i++) {
            any = 1;
            if (IS_PURCHASE(x->amount, i)) {
                fd = x->day[i];
                fg = x->group ? x->group[i] : 0;
                break;
            }
        }
        ro += any && fd == SY_NO_DAY;
        x->first_day[c] = fd;
        if (x->first_group) x->first_group[c] = fg;
    }
    atomic_fetch_add_explicit(&x->refund_only, ro, memory_order_relaxed);
}

int sy_cohort_first_grouped(const int64_t *day, const double *amount, const int64_t *group,
                            const int64_t *offsets, int64_t k, int64_t end, int64_t *first_day,
                            int64_t *first_group, int64_t *n_refund_only)
{
    first_ctx x;
    memset(&x, 0, sizeof x);
    x.day = day;
    x.group = group;
    x.offsets = offsets;
    x.amount = amount;
    x.end = end;
    x.first_day = first_day;
    x.first_group = first_group;
    sy_parallel_for(k, 50000, first_range, &x);
    if (x.stop) return SY_EINTR;
    if (n_refund_only) *n_refund_only = x.refund_only;
    return SY_OK;
}

typedef struct {
    const int64_t *day, *offsets, *first_day;
    const double *amount;
    int64_t end;
    int64_t *second_day;
    _Atomic int stop;
} second_ctx;

static void second_range(void *vctx, int64_t c0, int64_t c1)
{
    second_ctx *x = (second_ctx *)vctx;
    int64_t work = 0;
    for (int64_t c = c0; c < c1; c++) {
        if ((work += x->offsets[c + 1] - x->offsets[c] + 1) >= SY_POLL_WORK) {
            work = 0;
            if (sy_interrupted()) {
                x->stop = 1;
                return;
            }
        }
        int64_t sd = SY_NO_DAY, f = x->first_day[c];
        if (f != SY_NO_DAY) {
            for (int64_t i = x->offsets[c]; i < x->offsets[c + 1] && x->day[i] <= x->end; i++) {
                if (x->day[i] > f && IS_PURCHASE(x->amount, i)) {
                    sd = x->day[i];
                    break;
                }
            }
        }
        x->second_day[c] = sd;
    }
}

int sy_cohort_second_grouped(const int64_t *day, const double *amount, const int64_t *offsets,
                             int64_t k, int64_t end, const int64_t *first_day, int64_t *second_day)
{
    second_ctx x = {day, offsets, first_day, amount, end, second_day, 0};
    sy_parallel_for(k, 50000, second_range, &x);
    return x.stop ? SY_EINTR : SY_OK;
}

typedef struct {
    const int64_t *day, *offsets, *cell_row, *cust_per, *table, *chunk_start;
    const double *amount, *revenue_amount;
    int64_t end, lo_day, n_ages, cells;
    int period, chunks;
    int64_t *act_c, *ord_c;
    double *rev_c, *cmp_c;
    int64_t *dropped_c;
    _Atomic int64_t next;
    _Atomic int st;
} gmatrix_ctx;

static void *gmatrix_worker(void *arg)
{
    gmatrix_ctx *x = (gmatrix_ctx *)arg;
    const int64_t *day = x->day, *table = x->table;
    const double *amount = x->amount, *ramount = x->revenue_amount;
    for (;;) {
        int64_t ch = atomic_fetch_add_explicit(&x->next, 1, memory_order_relaxed);
        if (ch >= x->chunks || x->st != SY_OK) break;
        int64_t *act = x->act_c + ch * x->cells, *ord = x->ord_c + ch * x->cells;
        double *rev = x->rev_c ? x->rev_c + ch * x->cells : NULL;
        double *cmp = x->cmp_c ? x->cmp_c + ch * x->cells : NULL;
        int64_t dropped = 0, work = 0;
        for (int64_t c = x->chunk_start[ch]; c < x->chunk_start[ch + 1]; c++) {
            if ((work += x->offsets[c + 1] - x->offsets[c] + 1) >= SY_POLL_WORK) {
                work = 0;
                if (sy_interrupted()) {
                    x->st = SY_EINTR;
                    return NULL;
                }
            }
            int64_t r = x->cell_row[c];
            if (r < 0) continue;
            int64_t cp = x->cust_per[c], last = -1, *arow = act + r * x->n_ages;
            int64_t *orow = ord + r * x->n_ages;
            for (int64_t i = x->offsets[c]; i < x->offsets[c + 1]; i++) {
                int64_t d = day[i];
                if (d > x->end) break;       /* sorted by day */
                if (d < x->lo_day) { dropped++; continue; }
                int64_t age = (table ? table[d - x->lo_day] : sy_period_index(d, x->period)) - cp;
                if (age < 0) { dropped++; continue; }
                if (age >= x->n_ages) {
                    x->st = SY_EINVAL;
                    return NULL;
                }
                if (ramount) kahan_add(&rev[r * x->n_ages + age], &cmp[r * x->n_ages + age], ramount[i]);
                if (IS_PURCHASE(amount, i)) {
                    orow[age]++;
                    if (age != last) {       /* ages are non-decreasing: distinct = changes */
                        arow[age]++;
                        last = age;
                    }
                }
            }
        }
        x->dropped_c[ch] = dropped;
    }
    return NULL;
}

static void *gmatrix_job(void *arg)
{
    return gmatrix_worker(*(gmatrix_ctx **)arg);
}

int sy_cohort_matrix_grouped(const int64_t *day, const double *amount, const int64_t *offsets,
                             int64_t k, int64_t end, int period, const int64_t *cell_row,
                             const int64_t *cust_per, int64_t n_rows, int64_t n_ages,
                             int64_t lo_day, int64_t *active, int64_t *orders, double *revenue,
                             int64_t *n_dropped)
{
    int64_t cells, bytes;
    int st = SY_OK;
    if (period < SY_PERIOD_D || period > SY_PERIOD_Y) return SY_EINVAL;
    if (k < 0 || n_rows < 0 || n_ages < 0 || lo_day > end + 1) return SY_EINVAL;
    if (revenue && !amount) return SY_EINVAL;
    if (!sy_mul_ok(n_rows, n_ages, &cells)) return SY_ENOMEM;
    for (int64_t c = 0; c < k; c++)
        if (cell_row[c] >= n_rows) return SY_EINVAL;
    *n_dropped = 0;
    int64_t chunks = SY_CHUNKS;
    if (!sy_mul_ok(cells, SY_CHUNKS * (int64_t)(2 * sizeof(int64_t) + 2 * sizeof(double)), &bytes) ||
        bytes > ((int64_t)64 << 20))
        chunks = 1;
    int64_t chunk_start[SY_CHUNKS + 1], dropped_c[SY_CHUNKS] = {0};
    customer_chunks(offsets, k, chunks, chunk_start);
    int64_t *table = NULL, span = end - lo_day + 1, cc;
    if (span > 0 && span <= SY_TABLE_MAX_DAYS) {
        table = (int64_t *)malloc(sizeof(int64_t) * (size_t)span);
        if (!table) return SY_ENOMEM;
        for (int64_t j = 0; j < span; j++) table[j] = sy_period_index(lo_day + j, period);
    }
    if (!sy_mul_ok(chunks, cells > 0 ? cells : 1, &cc)) {
        free(table);
        return SY_ENOMEM;
    }
    int64_t *act_c = (int64_t *)calloc((size_t)cc, sizeof(int64_t));
    int64_t *ord_c = (int64_t *)calloc((size_t)cc, sizeof(int64_t));
    double *rev_c = revenue ? (double *)calloc((size_t)cc, sizeof(double)) : NULL;
    double *cmp_c = revenue ? (double *)calloc((size_t)cc, sizeof(double)) : NULL;
    if (!act_c || !ord_c || (revenue && (!rev_c || !cmp_c))) {
        st = SY_ENOMEM;
        goto done;
    }
    {
        gmatrix_ctx x;
        memset(&x, 0, sizeof x);
        x.day = day;
        x.offsets = offsets;
        x.cell_row = cell_row;
        x.cust_per = cust_per;
        x.table = table;
        x.chunk_start = chunk_start;
        x.amount = amount;
        x.revenue_amount = revenue ? amount : NULL;
        x.end = end;
        x.lo_day = lo_day;
        x.n_ages = n_ages;
        x.cells = cells;
        x.period = period;
        x.chunks = (int)chunks;
        x.act_c = act_c;
        x.ord_c = ord_c;
        x.rev_c = rev_c;
        x.cmp_c = cmp_c;
        x.dropped_c = dropped_c;
        int T = sy_pass_threads(offsets[k]);
        if (T > chunks) T = (int)chunks;
        /* every job runs the same shared context (jobs pull chunks from x.next) */
        gmatrix_ctx *jobs[SY_MAX_THREADS];
        for (int t = 0; t < T; t++) jobs[t] = &x;
        sy_run_jobs(gmatrix_job, jobs, sizeof(gmatrix_ctx *), T);
        st = x.st;
    }
    if (st == SY_OK) {
        for (int64_t cell = 0; cell < cells; cell++) {
            int64_t a = 0, o = 0;
            double sum = 0.0, cmp = 0.0;
            for (int64_t ch = 0; ch < chunks; ch++) {
                a += act_c[ch * cells + cell];
                o += ord_c[ch * cells + cell];
                if (revenue) {
                    kahan_add(&sum, &cmp, rev_c[ch * cells + cell]);
                    kahan_add(&sum, &cmp, cmp_c[ch * cells + cell]);
                }
            }
            active[cell] = a;
            orders[cell] = o;
            if (revenue) revenue[cell] = sum + cmp;
        }
        for (int64_t ch = 0; ch < chunks; ch++) *n_dropped += dropped_c[ch];
    }
done:
    free(table);
    free(act_c);
    free(ord_c);
    free(rev_c);
    free(cmp_c);
    return st;
}
