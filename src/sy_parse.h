/*
 * sy_parse.h -- kernels that parse text columns of shop exports (sy_parse.c).
 */
#ifndef SY_PARSE_H
#define SY_PARSE_H

#include <stdint.h>

/* per-value status */
#define SY_PARSE_OK     0
#define SY_PARSE_EMPTY  1   /* blank (after trimming)                       */
#define SY_PARSE_BAD    2   /* not a documented form                        */
#define SY_PARSE_AMBIG  3   /* a/b/YYYY date with mode SY_TIME_AUTO         */

/* date orders for a/b/YYYY values */
#define SY_TIME_AUTO 0      /* such values are SY_PARSE_AMBIG               */
#define SY_TIME_DMY  1
#define SY_TIME_MDY  2

#define SY_NO_OFFSET (-32768)   /* offset[i] when the value has no UTC offset */
#define SY_TIME_NSTATS 6

/* Parse n amounts.  Blank values get empty_value (NaN to flag them); bad ones NaN.
   status[i] is a SY_PARSE_* code.  Returns SY_OK, SY_EINVAL (offsets outside data)
   or SY_EINTR. */
int sy_parse_amounts(const uint8_t *data, int64_t data_len, const int64_t *offsets, int64_t n,
                     double empty_value, double *out, uint8_t *status, int64_t *n_bad,
                     int64_t *n_empty);

/* Parse n times to wall-clock seconds since 1970-01-01 and UTC offsets in minutes
   (SY_NO_OFFSET when absent).  stats (SY_TIME_NSTATS): n_bad, n_empty, n_ambig,
   n_with_offset, max first field and max second field of a/b/YYYY values. */
int sy_parse_times(const uint8_t *data, int64_t data_len, const int64_t *offsets, int64_t n,
                   int mode, int64_t *secs, int16_t *offset, uint8_t *status, int64_t *stats);

/* Keys of ids made of 1..17 ASCII digits (see sy_parse.c): distinct per text, ordered
   like the texts; -1 for blank ids.  *all_digits = 0 when some id is anything else
   (keys are then incomplete). */
int sy_parse_digit_keys(const uint8_t *data, int64_t data_len, const int64_t *offsets,
                        int64_t n, int64_t *keys, int *all_digits);

/* GB18030 (and GBK, GB2312) bytes -> UTF-8, on all cores.  two: 126 * 191 code points of
   the two-byte sequences, four: SY_GB_FOUR_BMP of the four-byte BMP sequences (0 =
   invalid).  out needs 2 * n bytes.  *bad = input position of the first undecodable
   byte (an incomplete sequence at the end counts), else -1; *out_len bytes written
   (those before *bad). */
#define SY_GB_FOUR_BMP 39420
int sy_gb18030_to_utf8(const uint8_t *in, int64_t n, const uint32_t *two, const uint32_t *four,
                       uint8_t *out, int64_t out_cap, int64_t *out_len, int64_t *bad);

#endif /* SY_PARSE_H */
