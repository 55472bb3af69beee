/*
 * sy_parse.c -- parsing text columns of shop exports: amounts and times.
 *
 * Input is a column of UTF-8 strings in Arrow layout: one byte buffer `data` and n + 1
 * int64 `offsets` (value i is data[offsets[i] .. offsets[i + 1])).  Every value gets a
 * status byte (SY_PARSE_OK, _EMPTY, _BAD, _AMBIG); nothing is guessed: a value that does
 * not match a documented form is BAD and the caller reports it with its line number.
 *
 * Amounts (DESIGN §2a): optional sign (- + − － ＋) and currency (¥ ￥ $ € £ RMB CNY
 * before, 元 RMB CNY after), (1,234.00) for negatives, ASCII or full-width digits,
 * thousands separators in groups of three, one decimal point, an optional exponent.
 *
 * Times: Y-M-D / Y/M/D / Y.M.D, Y年M月D日, YYYYMMDD and YYYYMMDDHHMMSS, and a/b/YYYY
 * (day-first or month-first, decided by the caller from the column: `mode`), each with
 * an optional time of day (H:MM[:SS[.fff]] or H时M分[S秒]) after a space or 'T' and an
 * optional UTC offset (Z, +08:00, +0800, +08).  The result is the wall-clock time in
 * seconds since 1970-01-01 plus the offset in minutes (SY_NO_OFFSET when absent).
 *
 * No Python here; the columns are split across threads (sy_run_jobs).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "siyu.h"
#include "sy_parse.h"

#define SY_PARSE_MIN_PER_THREAD 16384
#define SY_PARSE_POLL 4096

/* ---- shared scanning helpers ------------------------------------------- */
typedef struct {
    const uint8_t *p, *e;
} span;

static int is_ws(span *s, int at_end)
{
    /* ASCII blanks, NBSP (C2 A0), ideographic space (E3 80 80) */
    const uint8_t *p = s->p, *e = s->e;
    if (!at_end) {
        if (p < e && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) return 1;
        if (e - p >= 2 && p[0] == 0xC2 && p[1] == 0xA0) return 2;
        if (e - p >= 3 && p[0] == 0xE3 && p[1] == 0x80 && p[2] == 0x80) return 3;
        return 0;
    }
    if (p < e && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n')) return 1;
    if (e - p >= 2 && e[-2] == 0xC2 && e[-1] == 0xA0) return 2;
    if (e - p >= 3 && e[-3] == 0xE3 && e[-2] == 0x80 && e[-1] == 0x80) return 3;
    return 0;
}

static void trim(span *s)
{
    int k;
    while ((k = is_ws(s, 0)) > 0) s->p += k;
    while ((k = is_ws(s, 1)) > 0) s->e -= k;
}

/* Does s start (end) with the bytes of lit?  Consume them when it does. */
static int eat(span *s, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(s->e - s->p) >= n && memcmp(s->p, lit, n) == 0) {
        s->p += n;
        return 1;
    }
    return 0;
}

static int eat_ci(span *s, const char *lit)   /* ASCII letters, case-insensitive */
{
    size_t n = strlen(lit);
    if ((size_t)(s->e - s->p) < n) return 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s->p[i];
        if (c >= 'a' && c <= 'z') c = (uint8_t)(c - 32);
        if (c != (uint8_t)lit[i]) return 0;
    }
    s->p += n;
    return 1;
}

static int eat_end(span *s, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(s->e - s->p) >= n && memcmp(s->e - n, lit, n) == 0) {
        s->e -= n;
        return 1;
    }
    return 0;
}

static int eat_end_ci(span *s, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(s->e - s->p) < n) return 0;
    const uint8_t *q = s->e - n;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = q[i];
        if (c >= 'a' && c <= 'z') c = (uint8_t)(c - 32);
        if (c != (uint8_t)lit[i]) return 0;
    }
    s->e -= n;
    return 1;
}

/* One digit (ASCII or full-width U+FF10..FF19) at s->p: its value, or -1. */
static int digit_at(const span *s, int *len)
{
    const uint8_t *p = s->p;
    if (p < s->e && *p >= '0' && *p <= '9') {
        *len = 1;
        return *p - '0';
    }
    if (s->e - p >= 3 && p[0] == 0xEF && p[1] == 0xBC && p[2] >= 0x90 && p[2] <= 0x99) {
        *len = 3;
        return p[2] - 0x90;
    }
    return -1;
}

/* ---- amounts ------------------------------------------------------------ */
static int eat_sign(span *s, int *neg)
{
    if (eat(s, "-") || eat(s, "\xE2\x88\x92") || eat(s, "\xEF\xBC\x8D")) {
        *neg = 1;
        return 1;
    }
    if (eat(s, "+") || eat(s, "\xEF\xBC\x8B")) return 1;
    return 0;
}

static int eat_currency(span *s)
{
    return eat(s, "\xC2\xA5") || eat(s, "\xEF\xBF\xA5") || eat(s, "$") ||
           eat(s, "\xE2\x82\xAC") || eat(s, "\xC2\xA3") || eat_ci(s, "RMB") ||
           eat_ci(s, "CNY") || eat(s, "\xEF\xBC\x84");
}

static int eat_currency_end(span *s)
{
    return eat_end(s, "\xE5\x85\x83") || eat_end_ci(s, "RMB") || eat_end_ci(s, "CNY");
}

static const double pow10_exact[23] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

/* Parse one amount; returns a SY_PARSE_* status and sets *out. */
static int parse_amount(const uint8_t *b, const uint8_t *e, double *out)
{
    span s = {b, e};
    int neg = 0, paren = 0, have_sign = 0, have_cur = 0;
    trim(&s);
    if (s.p == s.e) return SY_PARSE_EMPTY;
    if ((eat(&s, "(") && eat_end(&s, ")")) ||
        (eat(&s, "\xEF\xBC\x88") && eat_end(&s, "\xEF\xBC\x89"))) {
        paren = 1;
        trim(&s);
    } else {
        s.p = b;  /* an unmatched parenthesis: start again, it will be BAD below */
        s.e = e;
        trim(&s);
    }
    /* prefix: sign and currency in either order, blanks between */
    for (int round = 0; round < 2; round++) {
        if (!have_sign && eat_sign(&s, &neg)) {
            have_sign = 1;
            trim(&s);
        }
        if (!have_cur && eat_currency(&s)) {
            have_cur = 1;
            trim(&s);
        }
    }
    /* suffix currency (元 / RMB / CNY) */
    if (eat_currency_end(&s)) {
        if (have_cur) return SY_PARSE_BAD;
        trim(&s);
    }
    if (paren && have_sign) return SY_PARSE_BAD;
    /* the number: ASCII copy into buf */
    char buf[80];
    int nb = 0, nd = 0, nfrac = 0, seen_point = 0, seen_exp = 0, ngroup = 0, first_group = -1;
    int grouped = 0, nsig = 0;
    uint64_t mant = 0;
    while (s.p < s.e) {
        int len, d = digit_at(&s, &len);
        if (d >= 0) {
            if (nb >= 70) return SY_PARSE_BAD;
            buf[nb++] = (char)('0' + d);
            s.p += len;
            if (seen_exp) continue;
            nd++;
            ngroup++;
            if (seen_point) nfrac++;
            if (nsig > 0 || d != 0) nsig++;
            if (nsig <= 18) mant = mant * 10 + (uint64_t)d;
            continue;
        }
        if (!seen_exp && !seen_point && (eat(&s, ",") || eat(&s, "\xEF\xBC\x8C"))) {
            /* thousands separator: the first group has 1-3 digits, later ones exactly 3 */
            if (ngroup == 0) return SY_PARSE_BAD;
            if (first_group < 0) {
                if (ngroup > 3) return SY_PARSE_BAD;
                first_group = ngroup;
            } else if (ngroup != 3) {
                return SY_PARSE_BAD;
            }
            grouped = 1;
            ngroup = 0;
            continue;
        }
        if (!seen_exp && !seen_point && (eat(&s, ".") || eat(&s, "\xEF\xBC\x8E"))) {
            if (grouped && ngroup != 3) return SY_PARSE_BAD;
            seen_point = 1;
            buf[nb++] = '.';
            continue;
        }
        if (!seen_exp && nd > 0 && (*s.p == 'e' || *s.p == 'E')) {
            if (grouped && !seen_point && ngroup != 3) return SY_PARSE_BAD;
            seen_exp = 1;
            buf[nb++] = 'e';
            s.p++;
            if (s.p < s.e && (*s.p == '-' || *s.p == '+')) buf[nb++] = (char)*s.p++;
            if (!(s.p < s.e && *s.p >= '0' && *s.p <= '9')) return SY_PARSE_BAD;
            continue;
        }
        return SY_PARSE_BAD;
    }
    if (nd == 0) return SY_PARSE_BAD;
    if (grouped && !seen_point && !seen_exp && ngroup != 3) return SY_PARSE_BAD;
    double v;
    if (!seen_exp && nsig <= 15 && nfrac <= 22) {
        /* both operands exact: one correctly rounded division */
        v = (double)mant / pow10_exact[nfrac];
    } else {
        buf[nb] = '\0';
        char *endp = NULL;
        v = strtod(buf, &endp);
        if (endp != buf + nb) return SY_PARSE_BAD;
    }
    if (!isfinite(v)) return SY_PARSE_BAD;
    *out = (neg || paren) ? -v : v;
    return SY_PARSE_OK;
}

typedef struct {
    const uint8_t *data;
    const int64_t *offsets;
    int64_t begin, end;
    double *out;
    uint8_t *status;
    double empty_value;
    int64_t n_bad, n_empty;
    int st;
} amount_job;

static void *amount_worker(void *arg)
{
    amount_job *j = (amount_job *)arg;
    for (int64_t i = j->begin; i < j->end; i++) {
        if (((i - j->begin) & (SY_PARSE_POLL - 1)) == 0 && sy_interrupted()) {
            j->st = SY_EINTR;
            return NULL;
        }
        double v = NAN;
        int st = parse_amount(j->data + j->offsets[i], j->data + j->offsets[i + 1], &v);
        if (st == SY_PARSE_EMPTY) {
            v = j->empty_value;
            j->n_empty++;
        } else if (st != SY_PARSE_OK) {
            v = NAN;
            j->n_bad++;
        }
        j->out[i] = v;
        j->status[i] = (uint8_t)st;
    }
    return NULL;
}

static int check_offsets(const int64_t *offsets, int64_t n, int64_t data_len)
{
    if (n < 0 || data_len < 0) return 0;
    if (offsets[0] < 0 || offsets[n] > data_len) return 0;
    for (int64_t i = 0; i < n; i++)
        if (offsets[i + 1] < offsets[i]) return 0;
    return 1;
}

static int n_jobs(int64_t n)
{
    int nt = sy_get_num_threads();
    int64_t most = n / SY_PARSE_MIN_PER_THREAD;
    if (most < nt) nt = (int)(most < 1 ? 1 : most);
    if (nt > SY_THREADS_CAP) nt = SY_THREADS_CAP;
    return nt < 1 ? 1 : nt;
}

int sy_parse_amounts(const uint8_t *data, int64_t data_len, const int64_t *offsets, int64_t n,
                     double empty_value, double *out, uint8_t *status, int64_t *n_bad,
                     int64_t *n_empty)
{
    if (!check_offsets(offsets, n, data_len)) return SY_EINVAL;
    int nt = n_jobs(n);
    amount_job jobs[SY_THREADS_CAP];
    for (int t = 0; t < nt; t++) {
        jobs[t].data = data;
        jobs[t].offsets = offsets;
        jobs[t].begin = n * t / nt;
        jobs[t].end = n * (t + 1) / nt;
        jobs[t].out = out;
        jobs[t].status = status;
        jobs[t].empty_value = empty_value;
        jobs[t].n_bad = jobs[t].n_empty = 0;
        jobs[t].st = SY_OK;
    }
    sy_run_jobs(amount_worker, jobs, sizeof(amount_job), nt);
    *n_bad = *n_empty = 0;
    int st = SY_OK;
    for (int t = 0; t < nt; t++) {
        *n_bad += jobs[t].n_bad;
        *n_empty += jobs[t].n_empty;
        if (jobs[t].st != SY_OK) st = jobs[t].st;
    }
    return st;
}

/* ---- times ---------------------------------------------------------------- */
/* Read 1..maxd ASCII digits; returns the count read (0 = none). */
static int read_int(span *s, int maxd, int64_t *v)
{
    int k = 0;
    int64_t x = 0;
    while (k < maxd && s->p < s->e && *s->p >= '0' && *s->p <= '9') {
        x = x * 10 + (*s->p - '0');
        s->p++;
        k++;
    }
    *v = x;
    return k;
}

static int is_digit_next(const span *s)
{
    return s->p < s->e && *s->p >= '0' && *s->p <= '9';
}

static int days_in_month(int64_t y, int64_t m)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
    return dm[m - 1];
}

static int valid_date(int64_t y, int64_t m, int64_t d)
{
    return y >= 1 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= days_in_month(y, m);
}

/* time of day after the date: H:MM[:SS[.fff]] or H时M分[S秒]; then an optional offset */
static int parse_clock(span *s, int64_t *secs, int *offset)
{
    int64_t h = 0, mi = 0, se = 0;
    *offset = SY_NO_OFFSET;
    if (s->p == s->e) return 1;
    if (eat(s, "T") || eat(s, "t")) {
        /* ISO separator */
    } else {
        const uint8_t *before = s->p;
        span t = *s;
        int k;
        while ((k = is_ws(&t, 0)) > 0) t.p += k;
        if (t.p == before) return 0;
        *s = t;
    }
    if (!read_int(s, 2, &h)) return 0;
    if (eat(s, ":") || eat(s, "\xEF\xBC\x9A")) {
        if (read_int(s, 2, &mi) != 2) return 0;
        if (eat(s, ":") || eat(s, "\xEF\xBC\x9A")) {
            if (read_int(s, 2, &se) != 2) return 0;
            if (eat(s, ".") || eat(s, ",")) {
                int64_t frac;
                if (!read_int(s, 9, &frac)) return 0;
                while (is_digit_next(s)) s->p++;
            }
        }
    } else if (eat(s, "\xE6\x97\xB6") || eat(s, "\xE7\x82\xB9")) {   /* 时 / 点 */
        if (read_int(s, 2, &mi)) {
            if (!eat(s, "\xE5\x88\x86")) return 0;                     /* 分 */
            if (read_int(s, 2, &se) && !eat(s, "\xE7\xA7\x92")) return 0;  /* 秒 */
        }
    } else {
        return 0;
    }
    if (h > 23 || mi > 59 || se > 60) return 0;
    if (se == 60) se = 59;   /* a leap second stays in its minute */
    *secs = h * 3600 + mi * 60 + se;
    /* offset */
    {
        int k;
        while ((k = is_ws(s, 0)) > 0) s->p += k;
    }
    if (s->p == s->e) return 1;
    if (eat(s, "Z") || eat(s, "z")) {
        *offset = 0;
        return s->p == s->e;
    }
    if (s->p < s->e && (*s->p == '+' || *s->p == '-')) {
        int sign = *s->p == '-' ? -1 : 1;
        int64_t oh = 0, om = 0;
        s->p++;
        if (read_int(s, 2, &oh) != 2) return 0;
        if (eat(s, ":")) {
            if (read_int(s, 2, &om) != 2) return 0;
        } else if (is_digit_next(s) && read_int(s, 2, &om) != 2) {
            return 0;
        }
        if (oh > 18 || om > 59) return 0;
        *offset = sign * (int)(oh * 60 + om);
        return s->p == s->e;
    }
    return 0;
}

typedef struct {
    int64_t max_first, max_second;    /* of a/b/YYYY values */
    int64_t n_bad, n_empty, n_ambig, n_offset;
} time_stats;

static int parse_time(const uint8_t *b, const uint8_t *e, int mode, int64_t *secs_out,
                      int16_t *off_out, time_stats *stats)
{
    span s = {b, e};
    int64_t y = 0, m = 0, d = 0, clock = 0;
    int offset = SY_NO_OFFSET, ambiguous = 0;
    trim(&s);
    if (s.p == s.e) return SY_PARSE_EMPTY;
    span start = s;
    int64_t a;
    int na = read_int(&s, 14, &a);
    if (na == 4 && s.p < s.e && (*s.p == '-' || *s.p == '/' || *s.p == '.')) {
        uint8_t sep = *s.p++;
        y = a;
        if (!read_int(&s, 2, &m) || !(s.p < s.e && *s.p == sep)) return SY_PARSE_BAD;
        s.p++;
        if (!read_int(&s, 2, &d)) return SY_PARSE_BAD;
    } else if (na == 4 && eat(&s, "\xE5\xB9\xB4")) {                 /* 年 */
        y = a;
        if (!read_int(&s, 2, &m) || !eat(&s, "\xE6\x9C\x88")) return SY_PARSE_BAD;  /* 月 */
        if (!read_int(&s, 2, &d)) return SY_PARSE_BAD;
        if (!eat(&s, "\xE6\x97\xA5")) eat(&s, "\xE5\x8F\xB7");      /* 日 / 号 */
    } else if (na == 8 || na == 14) {
        /* YYYYMMDD[HHMMSS] */
        const uint8_t *q = start.p;
        y = (q[0] - '0') * 1000 + (q[1] - '0') * 100 + (q[2] - '0') * 10 + (q[3] - '0');
        m = (q[4] - '0') * 10 + (q[5] - '0');
        d = (q[6] - '0') * 10 + (q[7] - '0');
        if (na == 14) {
            int64_t h = (q[8] - '0') * 10 + (q[9] - '0');
            int64_t mi = (q[10] - '0') * 10 + (q[11] - '0');
            int64_t se = (q[12] - '0') * 10 + (q[13] - '0');
            if (h > 23 || mi > 59 || se > 59) return SY_PARSE_BAD;
            if (s.p != s.e) return SY_PARSE_BAD;
            if (!valid_date(y, m, d)) return SY_PARSE_BAD;
            *secs_out = sy_days_from_civil(y, m, d) * 86400 + h * 3600 + mi * 60 + se;
            *off_out = (int16_t)SY_NO_OFFSET;
            return SY_PARSE_OK;
        }
    } else if ((na == 1 || na == 2) && s.p < s.e && (*s.p == '/' || *s.p == '-' || *s.p == '.')) {
        /* a/b/YYYY: day-first or month-first, as the caller decided */
        uint8_t sep = *s.p++;
        int64_t bb;
        if (!read_int(&s, 2, &bb) || !(s.p < s.e && *s.p == sep)) return SY_PARSE_BAD;
        s.p++;
        if (read_int(&s, 4, &y) != 4) return SY_PARSE_BAD;
        if (a > stats->max_first) stats->max_first = a;
        if (bb > stats->max_second) stats->max_second = bb;
        if (mode == SY_TIME_DMY) {
            d = a;
            m = bb;
        } else if (mode == SY_TIME_MDY) {
            m = a;
            d = bb;
        } else {
            ambiguous = 1;
            m = 1;
            d = 1;
        }
    } else {
        return SY_PARSE_BAD;
    }
    if (!parse_clock(&s, &clock, &offset)) return SY_PARSE_BAD;
    if (ambiguous) return SY_PARSE_AMBIG;
    if (!valid_date(y, m, d)) return SY_PARSE_BAD;
    *secs_out = sy_days_from_civil(y, m, d) * 86400 + clock;
    *off_out = (int16_t)offset;
    if (offset != SY_NO_OFFSET) stats->n_offset++;
    return SY_PARSE_OK;
}

typedef struct {
    const uint8_t *data;
    const int64_t *offsets;
    int64_t begin, end;
    int mode;
    int64_t *secs;
    int16_t *offset;
    uint8_t *status;
    time_stats stats;
    int st;
} time_job;

static void *time_worker(void *arg)
{
    time_job *j = (time_job *)arg;
    for (int64_t i = j->begin; i < j->end; i++) {
        if (((i - j->begin) & (SY_PARSE_POLL - 1)) == 0 && sy_interrupted()) {
            j->st = SY_EINTR;
            return NULL;
        }
        int64_t v = 0;
        int16_t off = (int16_t)SY_NO_OFFSET;
        int st = parse_time(j->data + j->offsets[i], j->data + j->offsets[i + 1], j->mode, &v,
                            &off, &j->stats);
        if (st == SY_PARSE_EMPTY) j->stats.n_empty++;
        else if (st == SY_PARSE_AMBIG) j->stats.n_ambig++;
        else if (st != SY_PARSE_OK) j->stats.n_bad++;
        if (st != SY_PARSE_OK) {
            v = 0;
            off = (int16_t)SY_NO_OFFSET;
        }
        j->secs[i] = v;
        j->offset[i] = off;
        j->status[i] = (uint8_t)st;
    }
    return NULL;
}

int sy_parse_times(const uint8_t *data, int64_t data_len, const int64_t *offsets, int64_t n,
                   int mode, int64_t *secs, int16_t *offset, uint8_t *status, int64_t *stats)
{
    if (!check_offsets(offsets, n, data_len)) return SY_EINVAL;
    if (mode != SY_TIME_AUTO && mode != SY_TIME_DMY && mode != SY_TIME_MDY) return SY_EINVAL;
    int nt = n_jobs(n);
    time_job jobs[SY_THREADS_CAP];
    for (int t = 0; t < nt; t++) {
        memset(&jobs[t], 0, sizeof(time_job));
        jobs[t].data = data;
        jobs[t].offsets = offsets;
        jobs[t].begin = n * t / nt;
        jobs[t].end = n * (t + 1) / nt;
        jobs[t].mode = mode;
        jobs[t].secs = secs;
        jobs[t].offset = offset;
        jobs[t].status = status;
        jobs[t].st = SY_OK;
    }
    sy_run_jobs(time_worker, jobs, sizeof(time_job), nt);
    int st = SY_OK;
    for (int k = 0; k < SY_TIME_NSTATS; k++) stats[k] = 0;
    for (int t = 0; t < nt; t++) {
        time_stats *q = &jobs[t].stats;
        stats[0] += q->n_bad;
        stats[1] += q->n_empty;
        stats[2] += q->n_ambig;
        stats[3] += q->n_offset;
        if (q->max_first > stats[4]) stats[4] = q->max_first;
        if (q->max_second > stats[5]) stats[5] = q->max_second;
        if (jobs[t].st != SY_OK) st = jobs[t].st;
    }
    return st;
}

/* ---- ids made of digits ----------------------------------------------------- */
/* An id of 1..17 ASCII digits maps to key = (digits right-padded with zeros to 17
   places) * 18 + length: distinct ids get distinct keys and keys sort like the texts
   ("00123" < "123" < "1230" < "124").  Blank ids get -1; any other id stops the scan
   (*all_digits = 0) so the caller takes the general path. */
typedef struct {
    const uint8_t *data;
    const int64_t *offsets;
    int64_t begin, end;
    int64_t *keys;
    int ok;
    int st;
} key_job;

static const int64_t pow10_i64[18] = {
    1LL, 10LL, 100LL, 1000LL, 10000LL, 100000LL, 1000000LL, 10000000LL, 100000000LL,
    1000000000LL, 10000000000LL, 100000000000LL, 1000000000000LL, 10000000000000LL,
    100000000000000LL, 1000000000000000LL, 10000000000000000LL, 100000000000000000LL,
};

static void *key_worker(void *arg)
{
    key_job *j = (key_job *)arg;
    for (int64_t i = j->begin; i < j->end; i++) {
        if (((i - j->begin) & (SY_PARSE_POLL - 1)) == 0 && sy_interrupted()) {
            j->st = SY_EINTR;
            return NULL;
        }
        const uint8_t *p = j->data + j->offsets[i];
        int64_t len = j->offsets[i + 1] - j->offsets[i];
        if (len == 0) {
            j->keys[i] = -1;
            continue;
        }
        if (len > 17) {
            j->ok = 0;
            return NULL;
        }
        int64_t v = 0;
        for (int64_t q = 0; q < len; q++) {
            uint8_t c = p[q];
            if (c < '0' || c > '9') {
                j->ok = 0;
                return NULL;
            }
            v = v * 10 + (c - '0');
        }
        j->keys[i] = v * pow10_i64[17 - len] * 18 + len;
    }
    return NULL;
}

int sy_parse_digit_keys(const uint8_t *data, int64_t data_len, const int64_t *offsets,
                        int64_t n, int64_t *keys, int *all_digits)
{
    if (!check_offsets(offsets, n, data_len)) return SY_EINVAL;
    int nt = n_jobs(n);
    key_job jobs[SY_THREADS_CAP];
    for (int t = 0; t < nt; t++) {
        jobs[t].data = data;
        jobs[t].offsets = offsets;
        jobs[t].begin = n * t / nt;
        jobs[t].end = n * (t + 1) / nt;
        jobs[t].keys = keys;
        jobs[t].ok = 1;
        jobs[t].st = SY_OK;
    }
    sy_run_jobs(key_worker, jobs, sizeof(key_job), nt);
    int st = SY_OK;
    *all_digits = 1;
    for (int t = 0; t < nt; t++) {
        if (!jobs[t].ok) *all_digits = 0;
        if (jobs[t].st != SY_OK) st = jobs[t].st;
    }
    return st;
}

/* ---- GB18030 / GBK -> UTF-8 --------------------------------------------------- */
/* Tables come from the caller (built once from Python's codec): two[(b1 - 0x81) * 191 +
   (b2 - 0x40)] is the code point of a two-byte sequence (0 = invalid), four[i] that of
   the i-th four-byte sequence of the BMP (i < SY_GB_FOUR_BMP; 0 = invalid).  Four-byte
   sequences from 0x90308130 on are the supplementary planes, in order.  The input is
   split at newlines (a newline byte is never part of a multi-byte sequence) and the
   pieces transcoded on all cores. */
static int put_utf8(uint32_t cp, uint8_t *o)
{
    if (cp < 0x80) {
        o[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (uint8_t)(0xC0 | (cp >> 6));
        o[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (uint8_t)(0xE0 | (cp >> 12));
        o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (uint8_t)(0xF0 | (cp >> 18));
    o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

typedef struct {
    const uint8_t *in;
    int64_t begin, end;          /* input range */
    uint8_t *out;                /* room for 2 * (end - begin) bytes */
    int64_t out_len;
    int64_t bad;                 /* input position of the first undecodable byte, or -1 */
    const uint32_t *two, *four;
    int st;
} gb_job;

static void *gb_worker(void *arg)
{
    gb_job *j = (gb_job *)arg;
    const uint8_t *in = j->in;
    uint8_t *o = j->out;
    int64_t i = j->begin, e = j->end, since_poll = 0;
    j->bad = -1;
    while (i < e) {
        if (++since_poll >= (1 << 16)) {
            since_poll = 0;
            if (sy_interrupted()) {
                j->st = SY_EINTR;
                return NULL;
            }
        }
        uint8_t b = in[i];
        if (b < 0x80) {
            *o++ = b;
            i++;
            continue;
        }
        uint32_t cp = 0;
        if (b >= 0x81 && b <= 0xFE && i + 1 < e) {
            uint8_t c = in[i + 1];
            if (c >= 0x40 && c <= 0xFE && c != 0x7F) {
                cp = j->two[(b - 0x81) * 191 + (c - 0x40)];
                if (cp) {
                    o += put_utf8(cp, o);
                    i += 2;
                    continue;
                }
            } else if (c >= 0x30 && c <= 0x39 && i + 3 < e && in[i + 2] >= 0x81 &&
                       in[i + 2] <= 0xFE && in[i + 3] >= 0x30 && in[i + 3] <= 0x39) {
                int64_t lin = (((int64_t)(b - 0x81) * 10 + (c - 0x30)) * 126 +
                               (in[i + 2] - 0x81)) * 10 + (in[i + 3] - 0x30);
                if (lin < SY_GB_FOUR_BMP) {
                    cp = j->four[lin];
                } else if (lin >= 189000 && lin < 189000 + 0x100000) {
                    cp = (uint32_t)(0x10000 + (lin - 189000));
                }
                if (cp) {
                    o += put_utf8(cp, o);
                    i += 4;
                    continue;
                }
            }
        }
        j->bad = i;
        break;
    }
    j->out_len = o - j->out;
    return NULL;
}

int sy_gb18030_to_utf8(const uint8_t *in, int64_t n, const uint32_t *two, const uint32_t *four,
                       uint8_t *out, int64_t out_cap, int64_t *out_len, int64_t *bad)
{
    int64_t need;
    if (n < 0 || !sy_mul_ok(n, 2, &need) || out_cap < need) return SY_EINVAL;
    int nt = sy_get_num_threads();
    if (n / (1 << 20) < nt) nt = (int)(n / (1 << 20));
    if (nt < 1) nt = 1;
    if (nt > SY_THREADS_CAP) nt = SY_THREADS_CAP;
    gb_job jobs[SY_THREADS_CAP];
    int64_t start = 0;
    int used = 0;
    for (int t = 0; t < nt && start < n; t++) {
        int64_t end = (t == nt - 1) ? n : n * (t + 1) / nt;
        if (end < start) end = start;
        while (end < n && in[end - 1] != '\n') end++;   /* cut after a newline */
        jobs[used].in = in;
        jobs[used].begin = start;
        jobs[used].end = end;
        jobs[used].out = out + 2 * start;
        jobs[used].two = two;
        jobs[used].four = four;
        jobs[used].st = SY_OK;
        jobs[used].out_len = 0;
        used++;
        start = end;
    }
    sy_run_jobs(gb_worker, jobs, sizeof(gb_job), used);
    int64_t pos = 0;
    *bad = -1;
    for (int t = 0; t < used; t++) {
        if (jobs[t].st != SY_OK) return jobs[t].st;
        if (jobs[t].bad >= 0 && *bad < 0) *bad = jobs[t].bad;
        if (*bad >= 0 && jobs[t].bad != *bad) break;
        if (jobs[t].out != out + pos) memmove(out + pos, jobs[t].out, (size_t)jobs[t].out_len);
        pos += jobs[t].out_len;
        if (*bad >= 0) break;
    }
    *out_len = pos;
    return SY_OK;
}
