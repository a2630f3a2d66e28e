/* route.c -- method + path -> route. See route.h. */
#include <ctype.h>
#include <string.h>

#include <llhttp.h>

#include "route.h"

#define ID_TEXT "an integer between 1 and 9223372036854775807"
#define RID_TEXT                                                               \
    "redemption id: must be a ULID (26 characters of Crockford base32: "       \
    "0-9 A-Z without I L O U)"

static const char *const names[ROUTE_COUNT] = {
    "other", "issue",   "coupon", "status",  "healthz",    "metrics",
    "hold",  "confirm", "cancel", "reverse", "redemption",
};

const char *route_name(route_id_t id)
{
    return (unsigned)id < ROUTE_COUNT ? names[id] : "other";
}

int route_parse_id(const char *s, size_t len, int64_t *out)
{
    static const char max[] = "9223372036854775807";
    uint64_t v = 0;
    size_t i;

    if (len < 1 || len > sizeof(max) - 1 || s[0] == '0')
        return -1;
    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (len == sizeof(max) - 1 && memcmp(s, max, len) > 0)
        return -1;
    *out = (int64_t)v;
    return 0;
}

static int fail(route_t *r, int status, const char *error, const char *allow)
{
    r->id = ROUTE_NONE;
    r->status = status;
    r->error = error;
    r->allow = allow;
    return -1;
}

/* Splits "a/b/c" into at most 4 segments; returns their count or -1 when
 * there are more (or an empty one, e.g. "//" or a trailing "/"). */
static int split(const char *p, size_t len, const char *seg[4], size_t sl[4])
{
    int n = 0;
    size_t i, start = 0;

    for (i = 0; i <= len; i++) {
        if (i < len && p[i] != '/')
            continue;
        if (n == 4 || i == start)
            return -1;
        seg[n] = p + start;
        sl[n++] = i - start;
        start = i + 1;
    }
    return n;
}

static int is(const char *s, size_t len, const char *lit)
{
    return strlen(lit) == len && memcmp(s, lit, len) == 0;
}

static int match_method(int method, int want, route_t *r)
{
    if (method == want)
        return 0;
    return fail(r, 405,
                want == HTTP_POST ? "method not allowed: use POST"
                                  : "method not allowed: use GET",
                want == HTTP_POST ? "POST" : "GET");
}

/* /v1/coupons/... with segs[0..1] already "v1","coupons". */
static int match_coupons(int method, const char *seg[4], size_t sl[4], int n,
                         route_t *r)
{
    if (n == 3)
        r->id = ROUTE_COUPON;
    else if (n == 4 && is(seg[3], sl[3], "issues"))
        r->id = ROUTE_ISSUE;
    else if (n == 4 && is(seg[3], sl[3], "redemptions"))
        r->id = ROUTE_HOLD;
    else
        return fail(r, 404, "no such path", NULL);
    if (match_method(method, r->id == ROUTE_COUPON ? HTTP_GET : HTTP_POST, r))
        return -1;
    if (route_parse_id(seg[2], sl[2], &r->coupon_id) != 0)
        return fail(r, 400, "coupon id: must be " ID_TEXT, NULL);
    return 0;
}

/* /v1/redemptions/{rid}[/confirm|cancel|reverse]. */
static int match_redemptions(int method, const char *seg[4], size_t sl[4],
                             int n, route_t *r)
{
    size_t i;

    if (n == 3)
        r->id = ROUTE_REDEMPTION;
    else if (n == 4 && is(seg[3], sl[3], "confirm"))
        r->id = ROUTE_CONFIRM;
    else if (n == 4 && is(seg[3], sl[3], "cancel"))
        r->id = ROUTE_CANCEL;
    else if (n == 4 && is(seg[3], sl[3], "reverse"))
        r->id = ROUTE_REVERSE;
    else
        return fail(r, 404, "no such path", NULL);
    if (match_method(method, r->id == ROUTE_REDEMPTION ? HTTP_GET : HTTP_POST,
                     r))
        return -1;
    if (sl[2] != RID_LEN)
        return fail(r, 400, RID_TEXT, NULL);
    /* Crockford base32 is case-insensitive; Redis keys hold upper case. */
    for (i = 0; i < RID_LEN; i++)
        r->rid[i] = (char)toupper((unsigned char)seg[2][i]);
    r->rid[RID_LEN] = '\0';
    if (rid_coupon(r->rid, RID_LEN, &r->coupon_id) != 0)
        return fail(r, 400, RID_TEXT, NULL);
    return 0;
}

static int match_status(int method, const char *seg[4], size_t sl[4],
                        const char *uid, size_t ulen, route_t *r)
{
    if (!is(seg[3], sl[3], "issues"))
        return fail(r, 404, "no such path", NULL);
    r->id = ROUTE_STATUS;
    if (match_method(method, HTTP_GET, r))
        return -1;
    if (route_parse_id(seg[2], sl[2], &r->coupon_id) != 0)
        return fail(r, 400, "coupon id: must be " ID_TEXT, NULL);
    if (route_parse_id(uid, ulen, &r->user_id) != 0)
        return fail(r, 400, "user id: must be " ID_TEXT, NULL);
    return 0;
}

int route_match(int method, const char *target, size_t len, route_t *r)
{
    const char *seg[4], *q, *last;
    size_t sl[4], lastlen;
    int n;

    memset(r, 0, sizeof(*r));
    q = memchr(target, '?', len);
    if (q != NULL)
        len = (size_t)(q - target);
    if (len < 2 || target[0] != '/')
        return fail(r, 404, "no such path", NULL);
    if (is(target, len, "/healthz") || is(target, len, "/metrics")) {
        r->id = target[1] == 'h' ? ROUTE_HEALTHZ : ROUTE_METRICS;
        return match_method(method, HTTP_GET, r);
    }
    /* The status route has 5 segments: peel the last one off first. */
    last = memrchr(target, '/', len);
    lastlen = len - (size_t)(last - target) - 1;
    n = split(target + 1, len - 1, seg, sl);
    if (n == -1 && last > target) {
        n = split(target + 1, (size_t)(last - target) - 1, seg, sl);
        if (n != 4 || lastlen == 0 || !is(seg[0], sl[0], "v1") ||
            !is(seg[1], sl[1], "coupons"))
            return fail(r, 404, "no such path", NULL);
        return match_status(method, seg, sl, last + 1, lastlen, r);
    }
    if (n < 3 || !is(seg[0], sl[0], "v1"))
        return fail(r, 404, "no such path", NULL);
    if (is(seg[1], sl[1], "redemptions"))
        return match_redemptions(method, seg, sl, n, r);
    if (!is(seg[1], sl[1], "coupons"))
        return fail(r, 404, "no such path", NULL);
    return match_coupons(method, seg, sl, n, r);
}
