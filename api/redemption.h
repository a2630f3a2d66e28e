/* redemption.h -- coupon redemption in Redis: EVALSHA schemas/redis/use.lua
 * (the contract is schemas/redemption.md). Only this module knows the
 * script's arguments and its answer.
 *
 * redemption_call runs hold, confirm, cancel, reverse or get and parses
 * the 8-element answer (9 for hold: prev_user) into a use_answer_t, with
 * the event of the record it carries (the script answers the record, the
 * api builds the event);
 * redemption_undo takes a transition back (its event could not reach
 * Kafka, or its writes not the replicas), scoped by the transition's
 * version and event id, and keeps an undo whose outcome is unknown for the
 * next connection (redemption_undo.c); redemption_finish frees the budget
 * a cancel or a give-back reversal released, once its event is in Kafka,
 * and keeps a finish whose outcome is unknown the same way
 * (redemption_kept.c).
 * The script is loaded on each (re)connection and again on NOSCRIPT
 * (script.h).
 *
 * redemption_call's calls of one coupon made in one loop iteration leave
 * as one EVALSHA in use.lua's batch form at the end of the iteration (the
 * connection's flush hook), each answered as if alone: one Redis call per
 * batch instead of per request, no added wait (redemption.c).
 *
 * The module has its own Redis connection (redis_conn.h: reconnection,
 * Sentinel), so the admission path's batching and settling never wait on
 * it. When the connection breaks after a call was sent, the answer is lost
 * and the script may have run: the caller answers 503, and a retry of the
 * same request is idempotent (a hold replays by order id, a repeated
 * confirm/cancel/reverse answers the same), so the retry re-produces the
 * event of what ran.
 *
 * With redemption_set_min_replicas, a batch with a hold/confirm/cancel/
 * reverse in it is followed by one WAIT on the same connection, and those
 * calls answer replicated (below):
 * a primary failed over while it was paused (a zombie) accepts writes
 * that are then lost, so the caller must not produce what did not reach
 * the replicas.
 *
 * Every call returns 0 and later runs its callback exactly once, or
 * returns -1 (not connected, script not loaded yet) and never runs it.
 * Callbacks get the caller's ud and 64-bit token back. One redemption_t
 * per loop; not thread-safe. */
#ifndef COUPONQ_API_REDEMPTION_H
#define COUPONQ_API_REDEMPTION_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "rid.h"

typedef enum {
    USE_HOLD = 0,
    USE_CONFIRM,
    USE_CANCEL,
    USE_REVERSE,
    USE_GET,
    USE_NOPS
} use_op_t;

/* The script's codes (schemas/redemption.md, "Codes and HTTP answers"). */
typedef enum {
    USE_HELD = 0,
    USE_REPLAY,
    USE_ORDER_CONFLICT,
    USE_ALREADY_USED,
    USE_NOT_OWNED,
    USE_NOT_USABLE,
    USE_SOLD_OUT, /* use_sold_out */
    USE_BELOW_MIN_AMOUNT,
    USE_RID_TAKEN,
    USE_NOT_FOUND,
    USE_FENCED,
    USE_FORBIDDEN,
    USE_CONFIRMED,
    USE_HOLD_EXPIRED,
    USE_NOT_HELD,
    USE_RELEASED,
    USE_ALREADY_CONFIRMED,
    USE_REVERSED,
    USE_PARTIALLY_REVERSED,
    USE_REVERSAL_CONFLICT,
    USE_NOT_CONFIRMED,
    USE_AMOUNT_TOO_LARGE,
    USE_FOUND,
    USE_NCODES
} use_code_t;

const char *redemption_op_name(use_op_t op);       /* "hold", "confirm"... */
const char *redemption_code_name(use_code_t code); /* "held", "replay"... */

#define USE_ID_MAX    64   /* order and reversal ids */
#define USE_EVENT_MAX 2048 /* an event always fits (about 700 bytes) */
#define USE_PREV_MAX  4096 /* use.lua refuses a longer prev */

/* What one call asks. actor: the authenticated user, 0 for a service token
 * or --auth off. */
typedef struct use_call {
    use_op_t op;
    int64_t coupon_id; /* the rid's */
    char rid[RID_LEN + 1];
    char event_id[ULID_LEN + 1]; /* not for get */
    int64_t actor;
    int64_t user_id; /* hold */
    char order_id[USE_ID_MAX + 1];
    int64_t order_amount;
    char reversal_id[USE_ID_MAX + 1]; /* reverse */
    int64_t amount;
} use_call_t;

/* The answer, with the fields of the redemption it describes (else 0/"").
 * Strings are checked: rid a ULID, user decimal, order id of the id
 * charset, state a known one, so they are safe to put in JSON as is. */
typedef struct use_answer {
    use_code_t code;
    int is_new; /* a transition: event is its event */
    int finish; /* call redemption_finish once event is acknowledged */
    char rid[RID_LEN + 1];
    int64_t user_id;
    char order_id[USE_ID_MAX + 1];
    int64_t order_amount, discount;
    char state[24]; /* the view state (expired applied) */
    int64_t expires_ms, reversed_amount, refunded_discount, refund_this;
    int64_t version;
    char event_id[ULID_LEN + 1]; /* of the record's latest transition (e) */
    char event[USE_EVENT_MAX];   /* "" = nothing to produce */
    size_t event_len;
    char prev[USE_PREV_MAX + 1]; /* the record before the transition */
    char prev_user[RID_LEN + 1]; /* hold: for undo */
    /* 1: the call's writes reached min_replicas replicas (WAIT); 0: fewer
     * (or the WAIT's answer was lost); -1: not asked (get, or no
     * redemption_set_min_replicas). Set by redemption_call, not by the
     * parser. */
    int replicated;
} use_answer_t;

typedef enum {
    USE_RC_OK = 0,
    USE_RC_UNAVAILABLE, /* Redis refused or the answer was lost */
    USE_RC_ERROR        /* a script error or an answer not as agreed */
} use_rc_t;

typedef struct redemption redemption_t;

redemption_t *redemption_new(uv_loop_t *loop, const char *redis_url,
                             char *errstr, size_t n);
/* Pending callbacks run (USE_RC_UNAVAILABLE). NULL is a no-op. */
void redemption_free(redemption_t *r);

/* WAIT n timeout_ms after each use.lua call but get; n 0: no WAIT. */
void redemption_set_min_replicas(redemption_t *r, int n, int timeout_ms);

/* At most n batches sent and not answered (0: no limit, a new handle's;
 * the api sets its --redemption-inflight, 2):
 * while n are out, the calls made wait in their open batch and leave when
 * one is answered. Redis runs one script at a time, so a batch sent
 * behind n others would only have queued there, while waiting in the api
 * it takes in every call made meanwhile: under load fewer, larger batches,
 * each paying the script's fixed cost once; with nothing out, a call
 * leaves in its own loop iteration as before. */
void redemption_set_inflight(redemption_t *r, unsigned n);

/* Connected and use.lua loaded. */
int redemption_ready(const redemption_t *r);

/* ans belongs to the caller and must live until fn ran; it is filled when
 * rc is USE_RC_OK. err is NULL then, else the reason. */
typedef void (*redemption_fn)(void *ud, uint64_t tok, use_rc_t rc,
                              const char *err);
int redemption_call(redemption_t *r, const use_call_t *c, use_answer_t *ans,
                    redemption_fn fn, void *ud, uint64_t tok);

/* undone: 1 taken back, 0 not (the record moved on, or its event was
 * handed out since: the state stands), -1 failed (err). */
typedef void (*redemption_undo_fn)(void *ud, uint64_t tok, int undone,
                                   const char *err);
/* The transition of ans (its coupon, rid, version, prev, prev_user, event
 * id). fn runs on the first answer or failure; with min_replicas the undo
 * is followed by a WAIT, which fn does not wait for. An undo whose outcome
 * is unknown (the answer lost, a Redis error that is not the script's
 * refusal, its WAIT short) is kept and sent again on every new connection
 * until an answer came and, with min_replicas, reached the replicas: the
 * primary may fail over to a replica that has the transition but not the
 * undo. -1: not sent now (not connected), fn never runs; the undo is kept
 * for the next connection all the same (unless out of memory, logged). */
int redemption_undo(redemption_t *r, int64_t coupon_id, const use_answer_t *ans,
                    redemption_undo_fn fn, void *ud, uint64_t tok);

/* Kept calls, undos and finishes alike: at most 256 of each kind, each for
 * 60 s (USE_KEPT_MAX, USE_KEPT_MS). kept: waiting for a new connection;
 * resent: sent again and answered; applied: re-sent ones answered 1 (an
 * undo that took a transition back, left by a failover; a finish that
 * freed the budget); dropped: forgotten over the cap. */
enum { REDEMPTION_KEPT_UNDO, REDEMPTION_KEPT_FINISH, REDEMPTION_KEPT_KINDS };
typedef struct redemption_kept {
    unsigned kept;
    uint64_t resent, applied, dropped;
} redemption_kept_t;
/* out[REDEMPTION_KEPT_UNDO], out[REDEMPTION_KEPT_FINISH]. */
void redemption_kept_stats(const redemption_t *r,
                           redemption_kept_t out[REDEMPTION_KEPT_KINDS]);
/* Forgets kept calls older than 60 s. Call it periodically. */
void redemption_tick(redemption_t *r, uint64_t now_ms);

/* Frees the budget once the transition's event is acknowledged. Never
 * waits for replicas (redemption.c says why). A finish whose outcome is
 * unknown (the answer lost, a Redis error that is not the script's
 * refusal) or that cannot be sent now (not connected) is kept, as an undo
 * is, and sent again on every new connection until answered; use.lua
 * finishes only the record at that version still waiting for it, so a
 * re-send never frees twice. One refused by the script, or given up
 * (over the cap, after 60 s, out of memory), is logged and counted: the
 * budget stays held (a cancelled hold until its expiry, a given-back use
 * until couponqctl reconcile --repair finishes it). */
void redemption_finish(redemption_t *r, int64_t coupon_id, const char *rid,
                       int64_t version);

/* finish calls sent (first or again) and not answered yet: a kept one is
 * not in flight; finishes given up so far (above).
 * redemption_on_finished: fn(ud) runs each time the last finish in flight
 * was answered (redemption_finishing() back to 0), e.g. for a drain that
 * waits for them. */
unsigned redemption_finishing(const redemption_t *r);
typedef void (*redemption_finished_fn)(void *ud);
void redemption_on_finished(redemption_t *r, redemption_finished_fn fn,
                            void *ud);
uint64_t redemption_finish_failures(const redemption_t *r);

/* Parses use.lua's answer to op, a call on coupon_id, into *a
 * (redemption_call's parser; pure, unit-tested): the redemption's fields
 * from the record the answer carries, and the event of its latest
 * transition built from it (userec.h). 0, or -1 when the answer is not as
 * agreed (element count, a code or state not known, a malformed rid or
 * order id, a string too long, a record not in encode()'s form or whose
 * event fails redemption_event_check). */
struct redisReply;
int redemption_parse_answer(const struct redisReply *rep, use_op_t op,
                            int64_t coupon_id, use_answer_t *a);

/* Drops the connection (replies overdue): pending callbacks run now with
 * USE_RC_UNAVAILABLE, and it reconnects. Not from inside a callback. */
void redemption_reset(redemption_t *r, const char *why);

#endif
