/* redemption_event.h -- the coupon.redemption.* v1 events of topic
 * couponq.redemptions (key = redemption id): strict decode + validation for
 * the worker, couponq-replay and the Redis rebuild; encode for the api and
 * the tools, which build an event from the record use.lua answers with
 * (userec.h: userec_event), and for tests.
 *
 * Wire form (schemas/events/coupon.redemption.v1.json, schemas/redemption.md
 * "Events"), one shape for all five types, a full snapshot of the
 * redemption after the transition plus what the transition moved:
 * {"type":"coupon.redemption.confirmed","v":1,"event_id":"<ULID>",
 *  "redemption_id":"<rid>","coupon_id":42,"user_id":1001,"order_id":"o-1",
 *  "order_amount":30000,"discount":5000,"state":"confirmed","version":2,
 *  "held_at_ms":..,"expires_at_ms":..,"confirmed_at_ms":..,
 *  "reversed_amount":0,"refunded_discount":0,"vendor_id":7,
 *  "vendor_share_bps":10000,"reuse":1,"use_freed":0,"reversal_id":"",
 *  "reversal_amount":0,"reversal_refund":0,"vendor_amount":5000,
 *  "occurred_at_ms":..}
 *
 * Decoding rejects, with an event.h reason (the DLQ `reason` header) and a
 * message naming the field: bad JSON, an unknown type or v, a missing,
 * mistyped, out-of-range or unknown field (user ids are exact int64: a
 * real, a string or anything beyond int64 is refused), and -- reason
 * "inconsistent" -- fields that contradict each other or the contract:
 * the redemption id's coupon part is not coupon_id; the state does not fit
 * the type or the version; discount > order_amount; reversed amounts and
 * refunds outside what the state allows, or not the contract's arithmetic;
 * vendor_amount not the contract's share (0 when vendor_id is 0); use_freed
 * not exactly "a full reversal under reuse 1". An accepted event is one
 * use.lua can have written, so the sink can trust every number. */
#ifndef COUPONQ_REDEMPTION_EVENT_H
#define COUPONQ_REDEMPTION_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "rid.h"
#include "ulid.h"

#define REDEMPTION_EVENT_VERSION 1
#define REDEMPTION_EVENT_MAX_LEN 1024 /* an encoded event always fits */
#define REDEMPTION_ID_MAX        64   /* order_id, reversal_id: 1..64 chars */
#define REDEMPTION_AMOUNT_MAX    2147483647LL   /* 2^31-1 minor units */
#define REDEMPTION_COUPON_MAX    RID_COUPON_MAX /* the rid's coupon part */

typedef enum {
    REDEMPTION_HELD = 0,
    REDEMPTION_CONFIRMED,
    REDEMPTION_RELEASED,
    REDEMPTION_EXPIRED,
    REDEMPTION_REVERSED,
    REDEMPTION_NTYPES
} redemption_type_t;

typedef enum {
    REDEMPTION_STATE_HELD = 0,
    REDEMPTION_STATE_CONFIRMED,
    REDEMPTION_STATE_RELEASED,
    REDEMPTION_STATE_EXPIRED,
    REDEMPTION_STATE_PARTIALLY_REVERSED,
    REDEMPTION_STATE_REVERSED,
    REDEMPTION_NSTATES
} redemption_state_t;

typedef struct redemption_event {
    redemption_type_t type;
    char event_id[ULID_LEN + 1];
    char redemption_id[ULID_LEN + 1];
    int64_t coupon_id; /* 1..2^48-1, = the redemption id's coupon part
                          (rid_coupon) */
    int64_t user_id;   /* 1..INT64_MAX */
    char order_id[REDEMPTION_ID_MAX + 1];
    int64_t order_amount; /* 0..2^31-1 */
    int64_t discount;     /* 0..order_amount */
    redemption_state_t state;
    int64_t version; /* 1 for the hold, +1 per transition */
    int64_t held_at_ms, expires_at_ms;
    int64_t confirmed_at_ms; /* 0 until confirmed */
    int64_t reversed_amount, refunded_discount;
    int64_t vendor_id;        /* 0 = platform-funded */
    int64_t vendor_share_bps; /* 0..10000 */
    int reuse;                /* 0|1: the use comes back on a full reversal */
    int use_freed;            /* 1: this event gave the use back */
    char reversal_id[REDEMPTION_ID_MAX + 1]; /* "" unless type reversed */
    int64_t reversal_amount, reversal_refund;
    int64_t vendor_amount; /* signed ledger amount of this event */
    int64_t occurred_at_ms;
} redemption_event_t;

/* "coupon.redemption.held" ... ; NULL when out of range. */
const char *redemption_type_name(redemption_type_t t);
/* "held", "confirmed", ..., "partially_reversed", "reversed"; NULL when out
 * of range. */
const char *redemption_state_name(redemption_state_t s);
/* The state named by s[0..len), or -1. */
int redemption_state_parse(const char *s, size_t len);

/* The checks decoding makes, on a struct: EVENT_OK, or EVENT_ERR_FIELD (a
 * field out of range) / EVENT_ERR_INCONSISTENT with errstr. */
event_reason_t redemption_event_check(const redemption_event_t *ev,
                                      char *errstr, size_t n);

/* Writes the JSON (field order as above, NUL written too) into buf; returns
 * its length, or -1 when buf is too small or ev does not pass
 * redemption_event_check(). */
int redemption_event_encode(const redemption_event_t *ev, char *buf, size_t n);

/* Decodes and validates; EVENT_OK or a reason, with errstr like
 * "user_id: must be an integer > 0, got \"abc\"". *ev is zeroed on error. */
event_reason_t redemption_event_decode(const char *buf, size_t len,
                                       redemption_event_t *ev, char *errstr,
                                       size_t n);

#endif
