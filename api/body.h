/* body.h -- the JSON body of POST /v1/coupons/{id}/issues:
 * exactly {"user_id": <integer 1 .. 2^63-1>}. Pure, unit-tested.
 *
 * Anything else is refused with a message naming what is wrong: not JSON,
 * not an object, user_id missing, of the wrong JSON type or out of range,
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

#endif
