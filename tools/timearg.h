/* timearg.h -- time arguments of the operator tools (--start, --end,
 * --since, --until): RFC 3339, relative to now, or unix milliseconds.
 *
 * Accepted forms:
 *   now
 *   +10m  -30s  +1h30m  +2d  +500ms     now plus/minus a sum of N<unit>,
 *                                       units ms s m h d
 *   2026-11-22T14:00:00Z  2026-11-22T14:00:00.123+09:00   RFC 3339
 *   (a space may replace the T; the fraction may have 1..9 digits)
 *   @1700000000000                      unix ms
 * Pure: "now" is the caller's, so tests need no clock. */
#ifndef COUPONQ_TIMEARG_H
#define COUPONQ_TIMEARG_H

#include <stddef.h>
#include <stdint.h>

/* 0 and *out = unix ms; -1 with errstr ("\"+10x\": unknown unit \"x\" ..."). */
int timearg_parse(const char *s, int64_t now_ms, int64_t *out, char *errstr,
                  size_t n);

/* A duration without sign: "10m", "1h30m", "500ms" (the units above);
 * 0 and *ms, or -1 with errstr naming `what` (the flag). */
int timearg_duration(const char *what, const char *s, int64_t *ms, char *errstr,
                     size_t n);

#endif
