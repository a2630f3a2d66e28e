/* fmt.h -- append-style formatting into a caller's buffer, without printf.
 *
 * The api formats an event, a response head and a body for every accepted
 * request; through snprintf that was ~8% of its CPU (format parsing,
 * vfprintf's stream machinery), for output that is only strings and
 * integers. These appenders write the same bytes as "%s", "%.*s", "%lld",
 * "%llu" and "%0Nllu" would, straight into the buffer.
 *
 * Usage: fmt_init(), any number of fmt_* appends, then fmt_end(), which
 * writes the NUL and returns the length, or -1 when the text and its NUL
 * did not fit in n bytes: the same answer as
 * `len = snprintf(buf, n, ...); return len >= n ? -1 : len;`.
 * Overflow is sticky, so callers check once, at fmt_end(). An append that
 * does not fit writes nothing; after an overflow buf holds a NUL-terminated
 * prefix of the text (when n > 0) and nothing past buf[n - 1] is touched.
 *
 * Header-only (static inline) because the callers are per-request hot
 * paths and each append is a few instructions. */
#ifndef COUPONQ_FMT_H
#define COUPONQ_FMT_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define FMT_U64_MAX_DIGITS 20 /* 18446744073709551615 */

typedef struct fmt {
    char *buf;
    size_t n;     /* capacity of buf, the NUL included */
    size_t len;   /* bytes appended so far; < n unless n == 0 */
    int overflow; /* an append did not fit (or n == 0) */
} fmt_t;

static inline void fmt_init(fmt_t *f, char *buf, size_t n)
{
    f->buf = buf;
    f->n = n;
    f->len = 0;
    f->overflow = n == 0; /* not even the NUL fits */
}

/* Appends len bytes of s (which need not be NUL-terminated). Keeps one
 * byte free for fmt_end()'s NUL. */
static inline void fmt_mem(fmt_t *f, const char *s, size_t len)
{
    if (f->overflow || len >= f->n - f->len) {
        f->overflow = 1;
        return;
    }
    memcpy(f->buf + f->len, s, len);
    f->len += len;
}

/* A string literal, its length known at compile time. */
#define FMT_LIT(f, lit) fmt_mem((f), "" lit, sizeof(lit) - 1)

static inline void fmt_str(fmt_t *f, const char *s)
{
    fmt_mem(f, s, strlen(s));
}

static inline void fmt_char(fmt_t *f, char c)
{
    fmt_mem(f, &c, 1);
}

/* Decimal digits of v ("0" has one). */
static inline int fmt_u64_digits(uint64_t v)
{
    int d = 1;

    while (v >= 10) {
        v /= 10;
        d++;
    }
    return d;
}

/* Length of fmt_i64's text of v: digits plus a '-' when negative. */
static inline int fmt_i64_len(int64_t v)
{
    /* 0 - (uint64_t)v is |v| without signed overflow, INT64_MIN too. */
    return v < 0 ? 1 + fmt_u64_digits(0 - (uint64_t)v)
                 : fmt_u64_digits((uint64_t)v);
}

/* v in decimal, zero-padded on the left to at least width digits (printf's
 * "%0*llu"; width <= 0 means no padding, width is capped at 20). */
static inline void fmt_u64_pad(fmt_t *f, uint64_t v, int width)
{
    char tmp[FMT_U64_MAX_DIGITS];
    int d = fmt_u64_digits(v), i;

    if (width > FMT_U64_MAX_DIGITS)
        width = FMT_U64_MAX_DIGITS;
    if (d < width)
        d = width;
    for (i = d - 1; i >= 0; i--) {
        tmp[i] = (char)('0' + v % 10);
        v /= 10;
    }
    fmt_mem(f, tmp, (size_t)d);
}

/* v in decimal, as "%llu". */
static inline void fmt_u64(fmt_t *f, uint64_t v)
{
    fmt_u64_pad(f, v, 0);
}

/* v in decimal with a leading '-' when negative, as "%lld" (INT64_MIN
 * included). Sign and digits go in together or not at all. */
static inline void fmt_i64(fmt_t *f, int64_t v)
{
    char tmp[1 + FMT_U64_MAX_DIGITS];
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    int d = fmt_u64_digits(u), neg = v < 0, i;

    tmp[0] = '-';
    for (i = neg + d - 1; i >= neg; i--) {
        tmp[i] = (char)('0' + u % 10);
        u /= 10;
    }
    fmt_mem(f, tmp, (size_t)neg + (size_t)d);
}

/* Writes the NUL; returns the length, or -1 on overflow (then buf holds a
 * NUL-terminated prefix when n > 0). */
static inline int fmt_end(fmt_t *f)
{
    if (f->n > 0)
        f->buf[f->len] = '\0';
    if (f->overflow || f->len > (size_t)INT_MAX)
        return -1;
    return (int)f->len;
}

#endif
