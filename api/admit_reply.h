/* admit_reply.h -- what admit.lua's reply to one call (the users of one
 * coupon gathered in a loop iteration, admission.h) means, and what then
 * becomes of the call. The reply is one (name, seq) pair per user, in the
 * call's order: ["accepted", 17, "duplicate", 0, ...].
 *
 * Pure (it reads hiredis reply structs; no connection), so unit-tested
 * alone; admission.c sends the calls and acts on the verdicts. */
#ifndef COUPONQ_API_ADMIT_REPLY_H
#define COUPONQ_API_ADMIT_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include "admission.h"

struct redisReply;

typedef enum {
    ADMIT_REPLY_PENDING = 0, /* not in yet */
    ADMIT_REPLY_ANSWERED,    /* a result and a seq per user */
    ADMIT_REPLY_FAILED,      /* one result and error text for every user */
    ADMIT_REPLY_LOST         /* none: the connection broke after the send */
} admit_reply_t;

/* Reads rep (NULL: lost) for a call of n users. ANSWERED fills res[0..n)
 * and seq[0..n). FAILED sets *fail -- ADMIT_ERROR for the script's own
 * refusals ("ERR couponq ...") and for a reply not as agreed (checked
 * whole first: no user is answered from a malformed reply),
 * ADMIT_UNAVAILABLE for Redis refusing (LOADING, BUSY, READONLY, OOM) --
 * and the error text. */
admit_reply_t admit_reply_read(const struct redisReply *rep, int n,
                               admit_result_t *res, int64_t *seq,
                               admit_result_t *fail, char *err, size_t errn);

/* What becomes of a call once its reply (and its WAIT, when replicas are
 * required) are in. */
typedef enum {
    ADMIT_DELIVER,            /* each user gets its result */
    ADMIT_DELIVER_FAILURE,    /* every user gets the failure */
    ADMIT_SETTLE_LOST,        /* 503 "redis connection lost"; settle.lua */
    ADMIT_SETTLE_UNREPLICATED /* 503 "not replicated"; settle.lua */
} admit_action_t;

/* replicated: -1 no WAIT asked, 0 too few replicas (or unknown), 1 enough.
 * A call that accepted someone and did not reach the replicas is never
 * answered 202: the server may be a primary failed over while paused. */
admit_action_t admit_reply_action(admit_reply_t r, int replicated,
                                  const admit_result_t *res, int n);

/* 1 when res[0..n) accepts someone: admit.lua recorded the call. */
int admit_reply_accepted(const admit_result_t *res, int n);

#endif
