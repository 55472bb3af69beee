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
   order, -1 never), eligible and service flags. */
int sy_shop_fill(const sy_shop_params *p, int64_t n, uint64_t seed, const int64_t *count,
                 const int64_t *offset, int64_t *order_day, double *order_amount,
                 uint8_t *order_member, int64_t *channel, int64_t *acq_day, double *dropout,
                 int64_t *member_since, uint8_t *eligible, uint8_t *service);

#endif /* SY_SHOP_H */
