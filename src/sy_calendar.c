/*
 * sy_calendar.c -- calendar arithmetic on int64 day numbers (days since 1970-01-01).
 *
 * Civil conversions use the era-based algorithms of H. Hinnant ("chrono-compatible
 * low-level date algorithms").  Every function is free of signed overflow for any int64
 * day in [SY_DAY_MIN, SY_DAY_MAX] (siyu.h), far wider than the supported calendar (years
 * 1..9999); the glue rejects days outside that range before a kernel runs.
 */
#include "siyu.h"

static int64_t floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
    return q;
}

/* floor((day + 3) / 7) without forming day + 3 */
static int64_t week_index(int64_t day)
{
    int64_t q = floordiv(day, 7);
    return q + (day - q * 7 + 3) / 7;
}

void sy_civil_from_days(int64_t z, int64_t *y, int64_t *m, int64_t *d)
{
    /* shift to 0000-03-01 without overflowing z itself: split into eras first */
    int64_t era = floordiv(z, 146097);
    int64_t doe = z - era * 146097 + 719468;                         /* [719468, 865564] */
    era += doe / 146097;
    doe %= 146097;                                                   /* [0, 146096] */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    int64_t yy = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);          /* [0, 365] */
    int64_t mp = (5 * doy + 2) / 153;                               /* [0, 11] */
    int64_t dd = doy - (153 * mp + 2) / 5 + 1;                      /* [1, 31] */
    int64_t mm = mp < 10 ? mp + 3 : mp - 9;                          /* [1, 12] */
    *y = yy + (mm <= 2);
    *m = mm;
    *d = dd;
}

int64_t sy_days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = floordiv(y, 400);
    int64_t yoe = y - era * 400;                                       /* [0, 399] */
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;    /* [0, 365] */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;              /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

int64_t sy_period_index(int64_t day, int period)
{
    int64_t y, m, d;
    switch (period) {
    case SY_PERIOD_D:
        return day;
    case SY_PERIOD_W:
        /* 1970-01-01 was a Thursday; Monday 1969-12-29 is day -3. */
        return week_index(day);
    case SY_PERIOD_M:
        sy_civil_from_days(day, &y, &m, &d);
        return y * 12 + (m - 1);
    case SY_PERIOD_Q:
        sy_civil_from_days(day, &y, &m, &d);
        return y * 4 + (m - 1) / 3;
    case SY_PERIOD_Y:
        sy_civil_from_days(day, &y, &m, &d);
        return y;
    default:
        return 0;
    }
}

int64_t sy_period_start(int64_t index, int period)
{
    switch (period) {
    case SY_PERIOD_D:
        return index;
    case SY_PERIOD_W:
        return index * 7 - 3;
    case SY_PERIOD_M:
        return sy_days_from_civil(floordiv(index, 12), index - 12 * floordiv(index, 12) + 1, 1);
    case SY_PERIOD_Q:
        return sy_days_from_civil(floordiv(index, 4), 3 * (index - 4 * floordiv(index, 4)) + 1, 1);
    case SY_PERIOD_Y:
        return sy_days_from_civil(index, 1, 1);
    default:
        return 0;
    }
}

/* Rows converted between two sy_interrupted() polls. */
#define SY_CAL_CHUNK 65536

int sy_period_index_array(const int64_t *day, int64_t n, int period, int64_t *out)
{
    if (period < SY_PERIOD_D || period > SY_PERIOD_Y || n < 0) return SY_EINVAL;
    for (int64_t lo = 0; lo < n; lo += SY_CAL_CHUNK) {
        const int64_t hi = n - lo > SY_CAL_CHUNK ? lo + SY_CAL_CHUNK : n;
        if (lo > 0 && sy_interrupted()) return SY_EINTR;
        if (period == SY_PERIOD_D)
            for (int64_t i = lo; i < hi; i++) out[i] = day[i];
        else if (period == SY_PERIOD_W)
            for (int64_t i = lo; i < hi; i++) out[i] = week_index(day[i]);
        else
            for (int64_t i = lo; i < hi; i++) out[i] = sy_period_index(day[i], period);
    }
    return SY_OK;
}

int sy_period_start_array(const int64_t *index, int64_t n, int period, int64_t *out)
{
    if (period < SY_PERIOD_D || period > SY_PERIOD_Y || n < 0) return SY_EINVAL;
    for (int64_t lo = 0; lo < n; lo += SY_CAL_CHUNK) {
        const int64_t hi = n - lo > SY_CAL_CHUNK ? lo + SY_CAL_CHUNK : n;
        if (lo > 0 && sy_interrupted()) return SY_EINTR;
        for (int64_t i = lo; i < hi; i++) out[i] = sy_period_start(index[i], period);
    }
    return SY_OK;
}
