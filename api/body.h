/* body.h -- the JSON bodies of the POST routes. Pure, unit-tested.
 *
 * POST /v1/coupons/{id}/issues: exactly {"user_id": <integer 1 .. 2^63-1>}.
 * POST /v1/coupons/{id}/redemptions: {"user_id"?, "order_id", "order_amount"}
 * POST /v1/redemptions/{rid}/reverse: {"reversal_id", "amount"}
 * POST /v1/redemptions/{rid}/confirm|cancel: no body, or {}.
 * Order and reversal ids are 1..64 of [A-Za-z0-9._:-]; amounts are integers
 * 0 .. 2^31-1 minor units (a reversal's amount > 0), as use.lua takes them.
 *
 * Anything else is refused with a message naming what is wrong: not JSON,
 * not an object, a field missing, of the wrong JSON type or out of range,
 * an unknown or duplicated field. */
#ifndef COUPONQ_API_BODY_H
#define COUPONQ_API_BODY_H

#include <stddef.h>
#include <stdint.h>

/* 0 with *user_id set, or -1 with errstr (for {"error": ...}). */
int body_parse_issue(const char *buf, size_t len, int64_t *user_id,
                     char *errstr, size_t n);

/* The same, but user_id may be absent ({} from an authenticated user):
 * then *user_id = 0. */
int body_parse_issue_opt(const char *buf, size_t len, int64_t *user_id,
                         char *errstr, size_t n);

#define BODY_ID_MAX     64         /* order_id, reversal_id */
#define BODY_AMOUNT_MAX 2147483647 /* 2^31-1 minor units */

typedef struct body_hold {
    int64_t user_id; /* 0 when absent (only with user_optional) */
    char order_id[BODY_ID_MAX + 1];
    int64_t order_amount;
} body_hold_t;

typedef struct body_reverse {
    char reversal_id[BODY_ID_MAX + 1];
    int64_t amount;
} body_reverse_t;

/* user_optional: an authenticated request may leave user_id out. 0 with
 * *h set, or -1 with errstr (and *h untouched). */
int body_parse_hold(const char *buf, size_t len, int user_optional,
                    body_hold_t *h, char *errstr, size_t n);
int body_parse_reverse(const char *buf, size_t len, body_reverse_t *r,
                       char *errstr, size_t n);
/* No bytes, or a JSON object without fields. */
int body_parse_empty(const char *buf, size_t len, char *errstr, size_t n);

#endif
