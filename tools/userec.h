/* userec.h -- the redemption record of use:recs (schemas/redemption.md "The
 * record"), as the tools write it when they restore Redis from MySQL rows
 * and events, and read it when they compare Redis with MySQL. Pure (no
 * I/O), unit-tested.
 *
 * A restored record is what use.lua would hold after the snapshot's
 * transition and its finish: the event is durable (MySQL or Kafka has it),
 * so a pending finish (`p`) is due and applied: p 0, and `f` = the
 * snapshot's use_freed. Numbers are written as integers; the user id stays
 * a string (it may not fit a Lua double). */
#ifndef COUPONQ_USEREC_H
#define COUPONQ_USEREC_H

#include <stddef.h>
#include <stdint.h>

#include "use_rows.h"

#define USEREC_MAX 1024 /* longest record JSON */

/* The record JSON of a snapshot into buf; its length, or -1 when a field
 * is not what the record allows (ids, states, amounts; errstr says). */
int userec_build(const use_snap_t *s, char *buf, size_t n, char *errstr,
                 size_t errn);

/* The use:revs entry of a reversal: field "<rid>/<reversal_id>" and value
 * {"a","r","w","e"}; 0, or -1 when an id is not valid. */
int userec_reversal(const use_reversal_t *r, char *field, size_t nf,
                    char *value, size_t nv);

/* What the tools read back from a record. */
typedef struct userec {
    char user[24];
    char state[20];
    int64_t version;
    int64_t held_ms, expires_ms;
    int pending; /* p: a finish is due */
    int freed;   /* f: a full reversal gave the use back */
    char event_id[USE_RID_LEN + 1];
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
