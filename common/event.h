/* event.h -- the coupon.issue.requested v1 event: encode for the api and
 * tools, decode + validate for the worker and replay.
 *
 * Wire form (schemas/events/coupon.issue.requested.v1.json):
 * {"type":"coupon.issue.requested","v":1,"event_id":"<ULID>","coupon_id":42,
 *  "user_id":1001,"seq":17,"requested_at":"2026-11-22T14:00:00.123Z"}
 * Decoding rejects anything else with a reason code (for the DLQ header) and
 * a message that names the field. Unknown extra fields are rejected too:
 * producers are ours, so an extra field means a producer bug. */
#ifndef COUPONQ_EVENT_H
#define COUPONQ_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "ulid.h"

#define EVENT_TYPE    "coupon.issue.requested"
#define EVENT_VERSION 1
#define EVENT_MAX_LEN 512 /* an encoded event always fits */

typedef struct event {
    char event_id[ULID_LEN + 1];
    int64_t coupon_id;       /* > 0 */
    int64_t user_id;         /* > 0 */
    int64_t seq;             /* >= 1: admission order within the coupon */
    int64_t requested_at_ms; /* unix ms, UTC */
} event_t;

/* Reasons, also the DLQ `reason` header values (event_reason_name). The
 * redemption decoder (redemption_event.h) reports with the same codes. */
typedef enum {
    EVENT_OK = 0,
    EVENT_ERR_JSON,    /* "bad_json": not JSON, or not an object */
    EVENT_ERR_TYPE,    /* "wrong_type": type is not coupon.issue.requested */
    EVENT_ERR_VERSION, /* "wrong_version": v is not 1 */
    EVENT_ERR_MISSING, /* "missing_field" */
    EVENT_ERR_FIELD,   /* "bad_field": wrong JSON type or out of range */
    EVENT_ERR_EXTRA,   /* "unknown_field" */
    EVENT_ERR_TOO_BIG, /* "too_big": payload over 64 KiB, not parsed */
    /* "inconsistent": every field is well-formed but they contradict each
     * other (redemption events: redemption_event.h) */
    EVENT_ERR_INCONSISTENT
} event_reason_t;

const char *event_reason_name(event_reason_t r);

/* Writes the JSON (no NUL needed by the caller, but one is written) into
 * buf; returns its length, or -1 when buf is too small or ev is invalid. */
int event_encode(const event_t *ev, char *buf, size_t n);

/* Decodes and validates; EVENT_OK or a reason, with errstr like
 * "user_id: must be an integer > 0, got \"abc\"". */
event_reason_t event_decode(const char *buf, size_t len, event_t *ev,
                            char *errstr, size_t n);

/* RFC 3339 UTC with milliseconds <-> unix ms. parse returns -1 on bad text. */
int event_format_time(int64_t ms, char *buf, size_t n);
int event_parse_time(const char *s, int64_t *ms);

#endif
