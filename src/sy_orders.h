/*
 * sy_orders.h -- kernels that turn shop exports into orders (DESIGN.md section 2a).
 *
 * Pure C (no Python.h).  Statuses arrive already mapped to a class per row.
 */
#ifndef SY_ORDERS_H
#define SY_ORDERS_H

#include "siyu.h"

/* status class of a row */
#define SY_STATUS_PAID 0       /* a real purchase (or a refund row that was carried out) */
#define SY_STATUS_REFUNDED 1   /* refunded: revenue 0, not an occasion */
#define SY_STATUS_VOID 2       /* never paid: dropped */

/* outcome of an order */
#define SY_ORD_NONE 0           /* no rows */
#define SY_ORD_PURCHASE 1       /* kept: a purchase whose amount is net */
#define SY_ORD_REFUND 2         /* kept as a refund: negative rows with no purchase to net against */
#define SY_ORD_VOID 3           /* dropped: only void rows */
#define SY_ORD_REFUNDED 4       /* dropped: its purchase rows are refunded by status */
#define SY_ORD_FULL_COLUMN 5    /* dropped: net <= 0 after the refund column */
#define SY_ORD_FULL_NEGATIVE 6  /* dropped: net <= 0 after negative rows */

/* flags of an order */
#define SY_ORDF_PARTIAL 1          /* kept purchase whose amount a refund lowered */
#define SY_ORDF_ZERO 2             /* kept purchase of amount 0 with no refund */
#define SY_ORDF_REFUNDED_ITEMS 4   /* some purchase rows refunded by status (dropped) */
#define SY_ORDF_NETTED_NEGATIVE 8  /* negative rows netted against the purchase */
#define SY_ORDF_MIXED_CUSTOMERS 16 /* rows of several customers share the order id */

/*
 * Aggregate rows into orders.  order[i] in [0, m) is the order of row i, or order ==
 * NULL when every row is its own order (then m == n).  status (may be NULL: all paid)
 * holds SY_STATUS_* per row; amount and refund may be NULL (zeros); refund >= 0.
 * Per order (m entries, flags zeroed by the caller or not -- it is cleared here):
 *   outcome  SY_ORD_*
 *   flags    SY_ORDF_*
 *   net      amount of a kept order: paid purchase rows + negative rows - refunds
 *            (purchase), or negative rows - refunds (refund); 0 otherwise
 *   row      the order's row: first paid purchase row by (day, row) for a purchase,
 *            first negative row by (day, row) for a refund, first row otherwise, -1
 *            for an order without rows.
 * Rules: void rows are ignored; refunded-status rows with amount >= 0 are dropped (an
 * order without paid purchase rows but with such rows is SY_ORD_REFUNDED, its negative
 * rows going with it); a purchase whose net is <= 0 with a refund (column or negative
 * rows) is fully refunded.  *n_mixed counts orders whose rows name several customers.
 */
int sy_orders_aggregate(const int64_t *order, int64_t m, const int64_t *cust, const int64_t *day,
                        const double *amount, const double *refund, const int8_t *status,
                        int64_t n, uint8_t *outcome, uint8_t *flags, double *net, int64_t *row,
                        int64_t *n_mixed);

/* A column of n values for sy_count_duplicate_rows. */
#define SY_COL_I8 1
#define SY_COL_I16 2
#define SY_COL_I32 3
#define SY_COL_I64 4
#define SY_COL_F64 5   /* compared by value bits, -0.0 as 0.0 */
typedef struct {
    const void *data;
    int kind;
} sy_column;

/* Rows equal in every column to an earlier row (n < 2^32).  Rows are hashed, radix-
   partitioned by hash and counted per partition; equal hashes are compared exactly. */
int sy_count_duplicate_rows(const sy_column *cols, int ncols, int64_t n, int64_t *dups);

/* first[g] = first i with codes[i] == g (-1 if none); codes < 0 are skipped. */
int sy_group_first(const int64_t *codes, int64_t n, int64_t m, int64_t *first);

#endif /* SY_ORDERS_H */
