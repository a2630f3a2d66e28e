/* route.h -- maps an HTTP method and request target to one of the api's
 * routes, with the ids the path carries. Pure: no I/O, unit-tested.
 *
 * Ids are decimal integers 1 .. 2^63-1 without sign or leading zeros, and
 * redemption ids are ULIDs (rid.h); any other text where an id belongs is
 * a 400 naming the id, not a 404, so a client learns what was wrong. A
 * query string is ignored. */
#ifndef COUPONQ_API_ROUTE_H
#define COUPONQ_API_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "rid.h"

typedef enum {
    ROUTE_NONE = 0,   /* no route: 400/404/405 */
    ROUTE_ISSUE,      /* POST /v1/coupons/{id}/issues */
    ROUTE_COUPON,     /* GET  /v1/coupons/{id} */
    ROUTE_STATUS,     /* GET  /v1/coupons/{id}/issues/{user_id} */
    ROUTE_HEALTHZ,    /* GET  /healthz */
    ROUTE_METRICS,    /* GET  /metrics */
    ROUTE_HOLD,       /* POST /v1/coupons/{id}/redemptions */
    ROUTE_CONFIRM,    /* POST /v1/redemptions/{rid}/confirm */
    ROUTE_CANCEL,     /* POST /v1/redemptions/{rid}/cancel */
    ROUTE_REVERSE,    /* POST /v1/redemptions/{rid}/reverse */
    ROUTE_REDEMPTION, /* GET /v1/redemptions/{rid} */
    ROUTE_COUNT
} route_id_t;

typedef struct route {
    route_id_t id;
    int64_t coupon_id; /* for a rid route: the rid's (0: names none, 404) */
    int64_t user_id;
    char rid[RID_LEN + 1]; /* the rid routes' redemption id */
    int status;            /* when id == ROUTE_NONE: 400, 404 or 405 */
    const char *error;     /* when id == ROUTE_NONE: text for {"error": ...} */
    const char *allow;     /* 405: value of the Allow header */
} route_t;

/* method is an llhttp_method_t. Returns 0 when a route matched and the
 * method is allowed, -1 otherwise with r->status and r->error set. */
int route_match(int method, const char *target, size_t len, route_t *r);

/* "issue", "coupon", "status", "healthz", "metrics", "hold", "confirm",
 * "cancel", "reverse", "redemption" or "other" (metrics). */
const char *route_name(route_id_t id);

/* Strict id: 1..19 digits, first not 0, <= INT64_MAX. 0 or -1. */
int route_parse_id(const char *s, size_t len, int64_t *out);

#endif
