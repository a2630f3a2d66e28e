/* userec.h -- the redemption record of use:recs (schemas/redemption.md "The
 * record", schemas/redis/use.lua's encode()): read by couponq-api from
 * use.lua's answers, which carry the record rather than its event, so the
 * api builds the event (the script's costliest string) off the Redis
 * thread; written by the tools when they restore Redis from MySQL and
 * Kafka, and read when they compare Redis with MySQL. Pure (no I/O),
 * unit-tested.
 *
 * A restored record is made from the redemption's latest event (a full
 * snapshot, common/redemption_event.h) and is what use.lua would hold after
 * that transition and its finish: the event is durable (MySQL or Kafka has
 * it), so a pending finish is due and applied (`p` 0, `f` = use_freed, no
 * holds entry for a release), and the event counts as handed out (`ep` 1:
 * use.lua's undo must not take back a transition that is in Kafka). Fields
 * in use.lua's order, numbers as integers, the user id as a string. */
#ifndef COUPONQ_USEREC_H
#define COUPONQ_USEREC_H

#include <stddef.h>
#include <stdint.h>

#include "redemption_event.h"

#define USEREC_MAX 1024 /* longest record JSON */

/* The record JSON of the snapshot ev (which must pass
 * redemption_event_check) into buf; its length, or -1 with errstr. */
int userec_build(const redemption_event_t *ev, char *buf, size_t n,
                 char *errstr, size_t errn);

/* The use:revs entry of a reversal event: field "<rid>/<reversal_id>" and
 * value {"a","r","w","e"} as use.lua writes it; -1 when ev is not a
 * reversal or a buffer is too small. */
int userec_reversal(const redemption_event_t *ev, char *field, size_t nf,
                    char *value, size_t nv);

/* Every field of a record, use.lua's name in the comment. */
typedef struct userec_fields {
    int64_t user_id;                            /* u: a decimal string */
    char order_id[REDEMPTION_ID_MAX + 1];       /* o */
    int64_t amount, discount;                   /* a, d */
    redemption_state_t state;                   /* s */
    int64_t held_ms, expires_ms, confirmed_ms;  /* h, x, c */
    int64_t reversed, refunded;                 /* ra, rd */
    int64_t version;                            /* v */
    int64_t vendor, share_bps;                  /* vd, bp */
    int reuse, pending, freed;                  /* ru, p, f */
    char event_id[ULID_LEN + 1];                /* e */
    redemption_type_t type;                     /* t */
    int64_t event_ms;                           /* et */
    int handed_out;                             /* ep */
    char reversal_id[REDEMPTION_ID_MAX + 1];    /* ri */
    int64_t rev_amount, rev_refund, rev_vendor; /* rx, rf, rw */
} userec_fields_t;

/* Reads a record in exactly the form use.lua's encode() and userec_build
 * write it (their field order, no spaces, integers without a sign but rw's,
 * strings without escapes): 0, or -1 for anything else, however valid as
 * JSON. The form is checked and each number fits its field; what the
 * values mean together is userec_event's check (redemption_event_check). */
int userec_decode(const char *json, size_t len, userec_fields_t *r);

/* The event of the record's latest transition: the redemption's snapshot
 * plus what that transition moved (schemas/redemption.md "Events"), byte
 * for byte as use.lua wrote it when the script built its events. The
 * record of redemption rid of coupon_id; the JSON's length, or -1 when it
 * does not fit in n or does not pass redemption_event_check. */
int userec_event(const userec_fields_t *r, const char *rid, int64_t coupon_id,
                 char *buf, size_t n);

/* What the tools read back from a record. */
typedef struct userec {
    char user[24];
    char state[20];
    int64_t version;
    int64_t expires_ms;
    int pending; /* p: a finish is due */
    int freed;   /* f: a full reversal gave the use back */
    char event_id[ULID_LEN + 1];
} userec_t;

/* 0, or -1 when json is not a record (errstr says what is wrong). */
int userec_parse(const char *json, size_t len, userec_t *r, char *errstr,
                 size_t errn);

/* 1 when a redemption in this state takes a use of the budget (counted in
 * the use hash's `confirmed`): confirmed, partially_reversed, or reversed
 * without the use given back. */
int userec_takes_use(const char *state, int freed);

/* The redemption's view state: held past expires_ms is expired. */
const char *userec_view_state(const char *state, int64_t expires_ms,
                              int64_t now_ms);

#endif
