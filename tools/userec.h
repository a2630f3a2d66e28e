/* userec.h -- the redemption record of use:recs (schemas/redemption.md "The
 * record", schemas/redis/use.lua's encode()), as the tools write it when
 * they restore Redis from MySQL and Kafka, and read it when they compare
 * Redis with MySQL. Pure (no I/O), unit-tested.
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
