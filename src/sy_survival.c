/*
 * sy_survival.c -- Kaplan-Meier survival with Greenwood's variance on integer
 * durations (days).  Counting by time (O(n + tmax)); no sort.
 */
#include "sy_cohort.h"

#include <string.h>

int sy_survival_km(const int64_t *duration, const int64_t *event, int64_t n, int64_t tmax,
                   int64_t *events, int64_t *censored, int64_t *at_risk,
                   double *survival, double *var_sum)
{
    if (n < 0 || tmax < 0) return SY_EINVAL;
    memset(events, 0, sizeof(int64_t) * (size_t)(tmax + 1));
    memset(censored, 0, sizeof(int64_t) * (size_t)(tmax + 1));
    for (int64_t i = 0; i < n; i++) {
        if ((i & ((1 << 20) - 1)) == (1 << 20) - 1 && sy_interrupted()) return SY_EINTR;
        int64_t t = duration[i];
        if (t < 0 || t > tmax || (event[i] != 0 && event[i] != 1)) return SY_EINVAL;
        if (event[i]) events[t]++;
        else censored[t]++;
    }
    int64_t risk = n;
    double s = 1.0, v = 0.0;
    for (int64_t t = 0; t <= tmax; t++) {
        int64_t d = events[t];
        at_risk[t] = risk;
        if (d > 0) {
            s *= 1.0 - (double)d / (double)risk;
            if (risk > d)   /* all at risk failing: no variance term (as lifelines) */
                v += (double)d / ((double)risk * (double)(risk - d));
        }
        survival[t] = s;
        var_sum[t] = v;
        risk -= d + censored[t];
    }
    return SY_OK;
}
