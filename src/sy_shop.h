/*
 * sy_shop.h -- scenario simulator of a private-domain shop (issue #6).
 *
 * Customers are acquired on a day of the window drawn from acq_cdf (uniform by default), each into one channel with its
 * own purchase rate, dropout (exponential lifetime) and order values (gamma).  While
 * alive, repeat orders follow a Poisson process whose rate is multiplied on holiday days
 * and after the customer joins the membership; members pay discounted prices and drop
 * out more slowly.  Pure C: no Python.h.
 */
#ifndef SY_SHOP_H
#define SY_SHOP_H

#include <stdint.h>

/* Products (optional, issue #16).  The first order holds an *entry* product drawn from
   entry_cum.  A replenished product (cycle_mean > 0) bought at the first order is bought
   again, in its own orders, every max(1, round(G)) days, G ~ Gamma(cycle_shape, mean
   cycle_mean), while the customer is alive at the start of that day and the day is in the
   window.  Regular repeat orders on later days hold a durable product (cycle_mean <= 0)
   of a category B drawn from row A (the entry product's category) of ext_cum, then a
   durable of B from dur_cum; regular orders on the acquisition day hold the entry
   product again. */
typedef struct {
    int64_t n_products, n_categories;
    const int64_t *category;    /* category of each product, 0 .. n_categories - 1        */
    const double *entry_cum;    /* cumulative entry probability per product, last = 1     */
    const double *cycle_mean;   /* replenishment cycle (days); <= 0: durable               */
    const double *cycle_shape;  /* gamma shape of the cycle (1 / cv^2), > 0 when cycled    */
    const double *ext_cum;      /* n_categories x n_categories, cumulative rows; the row
                                   of every entry category ends at 1                        */
    const int64_t *dur_off;     /* n_categories + 1: durables of B are dur_prod[dur_off[B]
                                   .. dur_off[B + 1])                                       */
    const int64_t *dur_prod;
    const double *dur_cum;      /* cumulative weight within each category, last = 1        */
} sy_shop_products;

typedef struct {
    int64_t n_channels;
    const double *share_cum;    /* cumulative channel shares, last = 1               */
    const double *rate;         /* repeat orders per day while alive (base)           */
    const double *life;         /* mean lifetime in days (exponential dropout)        */
    const double *aov;          /* mean list order value                              */
    const double *aov_shape;    /* gamma shape = 1 / cv^2 (0: constant order values)  */
    int64_t n_days;             /* window length in days                              */
    const double *day_mult;     /* rate multiplier per window day (holidays), >= 0    */
    const double *acq_cdf;      /* cumulative acquisition probability by window day
                                   (non-decreasing, last = 1); NULL: uniform           */
    double member_share;        /* share of customers eligible for membership         */
    double member_threshold;    /* cumulative paid spend at which eligible ones join  */
    double member_rate_mult;    /* rate multiplier after joining                      */
    double member_life_mult;    /* mean remaining lifetime multiplier after joining   */
    double member_discount;     /* price discount on orders after the joining order   */
    double service_share;       /* share of customers with one-to-one service         */
    double service_aov_mult;    /* their order-value multiplier                        */
    const sy_shop_products *products;  /* NULL: orders carry no products                */
} sy_shop_params;

/* Validate the parameters: SY_OK or SY_EINVAL; SY_ERANGE when a customer could draw
   an absurd number of orders (rate * multipliers * n_days > 1e8). */
int sy_shop_check(const sy_shop_params *p);

/* Phase 1: number of orders (first order included) of each of n customers. */
int sy_shop_count(const sy_shop_params *p, int64_t n, uint64_t seed, int64_t *count);

/* Phase 2: the same draws again, written out.  offset[i] = sum of count[0..i-1].
   Orders (customer-major, time-ordered): day (0-based window day), amount paid,
   member flag (1 from the joining order on).  Customers: channel index, acquisition
   day, dropout time (window days, may exceed n_days), member_since (day of the joining
   order, -1 never), eligible and service flags.  With products: order_product,
   order_replenish (1 for the replenishment orders) and entry_product (per customer);
   otherwise these may be NULL.  Replenishment orders are drawn from their own random
   streams, so the other orders are the same with and without products. */
int sy_shop_fill(const sy_shop_params *p, int64_t n, uint64_t seed, const int64_t *count,
                 const int64_t *offset, int64_t *order_day, double *order_amount,
                 uint8_t *order_member, int64_t *channel, int64_t *acq_day, double *dropout,
                 int64_t *member_since, uint8_t *eligible, uint8_t *service,
                 int64_t *order_product, uint8_t *order_replenish, int64_t *entry_product);

#endif /* SY_SHOP_H */
