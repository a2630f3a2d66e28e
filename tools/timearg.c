/* timearg.c -- time arguments: RFC 3339, relative, unix ms. See timearg.h. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "timearg.h"

/* A hundred years either way is far beyond any sale window and keeps every
 * sum below far from int64 overflow. */
#define TIMEARG_MAX_REL_MS (100LL * 366 * 86400000)

static int64_t unit_ms(const char *u, size_t len)
{
    static const struct {
        const char *name;
        int64_t ms;
    } units[] = { { "ms", 1 },
                  { "s", 1000 },
                  { "m", 60000 },
                  { "h", 3600000 },
                  { "d", 86400000 } };
    size_t i;

    for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (strlen(units[i].name) == len && memcmp(units[i].name, u, len) == 0)
            return units[i].ms;
    return -1;
}

/* "+1h30m" / "-5m": a sign, then one or more N<unit>. */
static int timearg_relative(const char *s, int64_t now_ms, int64_t *out,
                            char *errstr, size_t n)
{
    int sign = s[0] == '-' ? -1 : 1;
    const char *p = s + 1;
    int64_t sum = 0;

    if (*p == '\0')
        goto bad;
    while (*p != '\0') {
        const char *u;
        long long v;
        int64_t ms;
        char *end;

        if (!isdigit((unsigned char)*p))
            goto bad;
        errno = 0;
        v = strtoll(p, &end, 10);
        if (errno != 0 || v > TIMEARG_MAX_REL_MS)
            goto range;
        for (u = end; isalpha((unsigned char)*end); end++)
            ;
        ms = unit_ms(u, (size_t)(end - u));
        if (ms < 0) {
            snprintf(errstr, n,
                     "\"%s\": unknown unit \"%.*s\" (use ms, s, m, h or d)", s,
                     (int)(end - u), u);
            return -1;
        }
        if (v > TIMEARG_MAX_REL_MS / ms || sum + v * ms > TIMEARG_MAX_REL_MS)
            goto range;
        sum += v * ms;
        p = end;
    }
    *out = now_ms + sign * sum;
    return 0;
bad:
    snprintf(errstr, n, "\"%s\": expected e.g. +10m, +1h30m or -30s", s);
    return -1;
range:
    snprintf(errstr, n, "\"%s\": more than 100 years from now", s);
    return -1;
}

/* Reads exactly `width` digits. */
static int take_digits(const char **p, int width, int *out)
{
    int v = 0, i;

    for (i = 0; i < width; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += width;
    *out = v;
    return 0;
}

/* Optional fraction (1..9 digits, truncated to ms), then Z or +HH:MM. */
static int rfc3339_tail(const char *p, int *frac_ms, int *offset_min)
{
    int hh, mm, digits = 0;

    *frac_ms = 0;
    if (*p == '.') {
        for (p++; isdigit((unsigned char)*p); p++, digits++)
            if (digits < 3)
                *frac_ms = *frac_ms * 10 + (*p - '0');
        if (digits == 0 || digits > 9)
            return -1;
        for (; digits < 3; digits++)
            *frac_ms *= 10;
    }
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
        *offset_min = 0;
        return 0;
    }
    if (*p != '+' && *p != '-')
        return -1;
    {
        const char *q = p + 1;

        if (take_digits(&q, 2, &hh) != 0 || *q++ != ':' ||
            take_digits(&q, 2, &mm) != 0 || *q != '\0' || hh > 23 || mm > 59)
            return -1;
    }
    *offset_min = (*p == '-' ? -1 : 1) * (hh * 60 + mm);
    return 0;
}

static int timearg_rfc3339(const char *s, int64_t *out)
{
    char base[32];
    const char *p = s;
    int y, mo, d, h, mi, sec, frac_ms, offset_min;
    int64_t ms;

    if (take_digits(&p, 4, &y) != 0 || *p++ != '-' ||
        take_digits(&p, 2, &mo) != 0 || *p++ != '-' ||
        take_digits(&p, 2, &d) != 0)
        return -1;
    if (*p != 'T' && *p != 't' && *p != ' ')
        return -1;
    p++;
    if (take_digits(&p, 2, &h) != 0 || *p++ != ':' ||
        take_digits(&p, 2, &mi) != 0 || *p++ != ':' ||
        take_digits(&p, 2, &sec) != 0 ||
        rfc3339_tail(p, &frac_ms, &offset_min) != 0)
        return -1;
    /* event_parse_time validates the calendar (month lengths, leap years). */
    /* take_digits bounds every field, so this always fits; a result that
     * did not would be refused rather than parsed cut short. */
    if (snprintf(base, sizeof(base), "%04d-%02d-%02dT%02d:%02d:%02d.000Z", y,
                 mo, d, h, mi, sec) >= (int)sizeof(base) ||
        event_parse_time(base, &ms) != 0)
        return -1;
    *out = ms + frac_ms - (int64_t)offset_min * 60000;
    return 0;
}

static int timearg_unix_ms(const char *s, int64_t *out)
{
    char *end;
    long long v;

    if (!isdigit((unsigned char)s[1]))
        return -1;
    errno = 0;
    v = strtoll(s + 1, &end, 10);
    if (errno != 0 || *end != '\0' || v > 253402300799999LL)
        return -1;
    *out = v;
    return 0;
}

int timearg_parse(const char *s, int64_t now_ms, int64_t *out, char *errstr,
                  size_t n)
{
    if (s == NULL || *s == '\0') {
        snprintf(errstr, n, "empty time");
        return -1;
    }
    if (strcmp(s, "now") == 0) {
        *out = now_ms;
        return 0;
    }
    if (s[0] == '+' || s[0] == '-')
        return timearg_relative(s, now_ms, out, errstr, n);
    if (s[0] == '@') {
        if (timearg_unix_ms(s, out) == 0)
            return 0;
        snprintf(errstr, n, "\"%s\": expected @<unix milliseconds>", s);
        return -1;
    }
    if (timearg_rfc3339(s, out) == 0)
        return 0;
    snprintf(errstr, n,
             "\"%s\": not a time (RFC 3339 like 2026-11-22T14:00:00Z, "
             "now, +10m, -1h, or @<unix ms>)",
             s);
    return -1;
}

int timearg_duration(const char *what, const char *s, int64_t *ms, char *errstr,
                     size_t n)
{
    char buf[64], ignored[128];

    if (s == NULL || !isdigit((unsigned char)s[0]) ||
        snprintf(buf, sizeof(buf), "+%s", s) >= (int)sizeof(buf) ||
        timearg_relative(buf, 0, ms, ignored, sizeof(ignored)) != 0) {
        snprintf(errstr, n,
                 "%s: \"%s\" is not a duration (e.g. 10m, 90s, 1h30m, "
                 "500ms; units ms s m h d)",
                 what, s != NULL ? s : "");
        return -1;
    }
    return 0;
}
