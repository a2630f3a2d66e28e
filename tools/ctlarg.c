/* ctlarg.c -- argument checks of the operator tools. See ctlarg.h. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlarg.h"
#include "timearg.h"

/* Strict decimal 0 .. max: digits only, no sign, no spaces, no overflow.
 * *end (when not NULL) may stop at a non-digit instead of at NUL. */
static int parse_u63(const char *s, long long max, long long *out,
                     const char **end)
{
    char *e;

    if (!isdigit((unsigned char)s[0]))
        return -1;
    errno = 0;
    *out = strtoll(s, &e, 10);
    if (errno != 0 || *out > max)
        return -1;
    if (end != NULL)
        *end = e;
    else if (*e != '\0')
        return -1;
    return 0;
}

int ctlarg_id(const char *s, int64_t *id, char *errstr, size_t n)
{
    long long v;

    if (s == NULL) {
        snprintf(errstr, n, "missing coupon id");
        return -1;
    }
    if (parse_u63(s, INT64_MAX, &v, NULL) != 0 || v < 1) {
        snprintf(errstr, n, "coupon id: \"%s\" is not an integer >= 1", s);
        return -1;
    }
    *id = v;
    return 0;
}

int ctlarg_quantity(const char *what, const char *s, int64_t *total,
                    char *errstr, size_t n)
{
    long long v;

    if (strcmp(s, "unlimited") == 0) {
        *total = -1;
        return 0;
    }
    if (parse_u63(s, INT64_MAX, &v, NULL) != 0) {
        snprintf(errstr, n, "%s: \"%s\" is not a number or \"unlimited\"", what,
                 s);
        return -1;
    }
    if (v > CTLARG_QUANTITY_MAX) {
        snprintf(errstr, n, "%s: %lld is above the maximum %lld", what, v,
                 CTLARG_QUANTITY_MAX);
        return -1;
    }
    *total = v;
    return 0;
}

static int adjust_step(const char *what, const char *s, int64_t *k,
                       char *errstr, size_t n)
{
    long long v;

    if (parse_u63(s, CTLARG_QUANTITY_MAX, &v, NULL) != 0 || v < 1) {
        snprintf(errstr, n, "%s: \"%s\" is not an integer 1 .. %lld", what, s,
                 CTLARG_QUANTITY_MAX);
        return -1;
    }
    *k = v;
    return 0;
}

int ctlarg_adjust_parse(const char *quantity, const char *add, const char *sub,
                        ctlarg_adjust_t *a, char *errstr, size_t n)
{
    int given = (quantity != NULL) + (add != NULL) + (sub != NULL);

    if (given != 1) {
        snprintf(errstr, n,
                 "give exactly one of --quantity, --add, --sub "
                 "(got %d)",
                 given);
        return -1;
    }
    if (quantity != NULL) {
        a->kind = CTLARG_ADJ_SET;
        return ctlarg_quantity("--quantity", quantity, &a->value, errstr, n);
    }
    if (add != NULL) {
        a->kind = CTLARG_ADJ_ADD;
        return adjust_step("--add", add, &a->value, errstr, n);
    }
    a->kind = CTLARG_ADJ_SUB;
    return adjust_step("--sub", sub, &a->value, errstr, n);
}

int ctlarg_adjust_apply(const ctlarg_adjust_t *a, int64_t current,
                        int64_t *new_total, char *errstr, size_t n)
{
    int64_t v;

    if (a->kind == CTLARG_ADJ_SET) {
        *new_total = a->value;
        return 0;
    }
    if (current < 0) {
        snprintf(errstr, n, "%s: the sale is unlimited; use --quantity N",
                 a->kind == CTLARG_ADJ_ADD ? "--add" : "--sub");
        return -1;
    }
    v = a->kind == CTLARG_ADJ_ADD ? current + a->value : current - a->value;
    if (v < 0) {
        snprintf(errstr, n, "--sub: %lld is more than the quantity %lld",
                 (long long)a->value, (long long)current);
        return -1;
    }
    if (v > CTLARG_QUANTITY_MAX) {
        snprintf(errstr, n, "--add: %lld + %lld is above the maximum %lld",
                 (long long)current, (long long)a->value, CTLARG_QUANTITY_MAX);
        return -1;
    }
    *new_total = v;
    return 0;
}

int ctlarg_use(const char *limit, const char *hold_ttl, const char *until,
               int64_t now_ms, int64_t start_ms, coupon_use_t *u, char *errstr,
               size_t n)
{
    char err[200];
    int64_t ttl, at = -1;

    if (ctlarg_quantity("--use-limit", limit, &u->limit, errstr, n) != 0 ||
        timearg_duration("--hold-ttl", hold_ttl, &ttl, errstr, n) != 0)
        return -1;
    if (ttl < CTLARG_HOLD_TTL_MIN_MS || ttl > CTLARG_HOLD_TTL_MAX_MS) {
        snprintf(errstr, n, "--hold-ttl: \"%s\" is not within 1s .. 30d",
                 hold_ttl);
        return -1;
    }
    if (until != NULL &&
        timearg_parse(until, now_ms, &at, err, sizeof(err)) != 0) {
        snprintf(errstr, n, "--use-until: %s", err);
        return -1;
    }
    if (until != NULL && (at <= now_ms || at <= start_ms)) {
        snprintf(errstr, n, "--use-until must be after now and after --start");
        return -1;
    }
    u->hold_ttl_ms = ttl;
    u->until_ms = at;
    return 0;
}

int ctlarg_use_coupon(const char *what, int64_t id, char *errstr, size_t n)
{
    if (id <= CTLARG_USE_COUPON_MAX)
        return 0;
    snprintf(errstr, n,
             "%s: %lld is >= 2^48: a redemption id carries its coupon id in "
             "48 bits (schemas/redemption.md)",
             what, (long long)id);
    return -1;
}

static int offsets_pair(const char **p, ctlarg_offset_t *o)
{
    long long part, off;
    const char *e;

    if (parse_u63(*p, INT32_MAX, &part, &e) != 0 || *e != ':')
        return -1;
    if (parse_u63(e + 1, INT64_MAX, &off, &e) != 0 ||
        (*e != ',' && *e != '\0') || (*e == ',' && e[1] == '\0'))
        return -1;
    o->partition = (int32_t)part;
    o->offset = off;
    *p = *e == ',' ? e + 1 : e;
    return 0;
}

int ctlarg_offsets(const char *s, ctlarg_offset_t *out, size_t max,
                   size_t *count, char *errstr, size_t n)
{
    const char *p = s;
    size_t i, k = 0;

    while (*p != '\0' || k == 0) {
        if (k == max) {
            snprintf(errstr, n, "--from-offsets: more than %zu pairs", max);
            return -1;
        }
        if (offsets_pair(&p, &out[k]) != 0) {
            snprintf(errstr, n,
                     "--from-offsets: \"%s\": expected "
                     "PARTITION:OFFSET[,PARTITION:OFFSET...]",
                     s);
            return -1;
        }
        for (i = 0; i < k; i++)
            if (out[i].partition == out[k].partition) {
                snprintf(errstr, n, "--from-offsets: partition %d given twice",
                         (int)out[k].partition);
                return -1;
            }
        k++;
        if (*p == '\0')
            break;
    }
    *count = k;
    return 0;
}
