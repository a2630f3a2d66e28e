/* admission.h -- FCFS admission in Redis and the reads the api serves from
 * Redis. Only this module knows the Lua scripts' reply formats.
 *
 * admit = EVALSHA schemas/redis/admit.lua (dedupe + quantity gate, atomic).
 * Admissions taken during one loop iteration are sent at its end as one
 * call per coupon (up to 128 users; the script answers each, in arrival
 * order, as separate calls would): under load Redis runs one script for
 * many requests, and no request waits for a later iteration.
 * When the connection breaks after a call was sent, its answer is lost:
 * the script may or may not have run. Its requests get "unavailable", and
 * once Redis is reachable settle.lua removes exactly the users that call
 * admitted (admit.lua records each call's acceptances under its call id in
 * couponq:{c<ID>}:calls; the record is deleted once the answer is read),
 * so the 503 is true and no coupon is lost.
 * release = EVALSHA release.lua (SREM), the compensation when the event
 * could not be handed to Kafka. Scripts are loaded with SCRIPT LOAD on each
 * (re)connection; a NOSCRIPT answer (Redis restarted, SCRIPT FLUSH) loads
 * the script again and retries once, pipelined on the same connection.
 *
 * Every call returns 0 and later runs its callback exactly once, or returns
 * -1 (Redis unavailable, nothing sent) and never runs it. Callbacks get the
 * caller's ud and 64-bit token back (a slot token: the caller checks it is
 * still live). One admission_t per loop; not thread-safe. */
#ifndef COUPONQ_API_ADMISSION_H
#define COUPONQ_API_ADMISSION_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

typedef enum {
    ADMIT_ACCEPTED = 0,
    ADMIT_DUPLICATE,
    ADMIT_SOLD_OUT,
    ADMIT_NOT_OPEN,
    ADMIT_ENDED,
    ADMIT_CLOSED,
    ADMIT_NOT_FOUND,
    ADMIT_FENCED,      /* the Redis dataset changed (failover, restart,
                          restore) and this coupon's admitted set is not yet
                          verified against the event log: nothing written */
    ADMIT_UNAVAILABLE, /* Redis unreachable or refused; or the answer was
                          lost with the connection (then settled later) */
    ADMIT_ERROR        /* the script refused (e.g. corrupt meta): no write */
} admit_result_t;

/* "accepted", "duplicate", ... "unavailable", "error". */
const char *admission_result_name(admit_result_t r);

typedef struct admission admission_t;

admission_t *admission_new(uv_loop_t *loop, const char *redis_url, char *errstr,
                           size_t n);
void admission_free(admission_t *a); /* pending callbacks run (unavailable) */

/* After each admit.lua call, WAIT until its writes reached n replicas (at
 * most timeout_ms); a call that accepted someone and reached fewer is
 * answered "unavailable" and settled (its admissions undone), never 202.
 * n = 0 (the default) sends no WAIT. With Sentinel, n = 1 keeps a primary
 * that was failed over while paused (SIGSTOP, a long GC-like stall, a
 * partition) from admitting anyone when it resumes. */
void admission_set_min_replicas(admission_t *a, int n, int timeout_ms);
uint64_t admission_not_replicated(const admission_t *a); /* calls so far */

/* Connected and both scripts loaded. */
int admission_ready(const admission_t *a);

typedef void (*admission_admit_fn)(void *ud, uint64_t tok, admit_result_t r,
                                   int64_t seq, const char *err);
int admission_admit(admission_t *a, int64_t coupon_id, int64_t user_id,
                    admission_admit_fn fn, void *ud, uint64_t tok);

/* removed: 1 member removed, 0 it was not there, -1 failed (err says). */
typedef void (*admission_release_fn)(void *ud, uint64_t tok, int removed,
                                     const char *err);
int admission_release(admission_t *a, int64_t coupon_id, int64_t user_id,
                      admission_release_fn fn, void *ud, uint64_t tok);

typedef struct admission_summary {
    int found;        /* the meta hash exists */
    int64_t total;    /* -1 = unlimited */
    int64_t admitted; /* SCARD issued */
    char state[16];   /* open | closed */
} admission_summary_t;

/* rc 0 with s filled, or -1 with err. */
typedef void (*admission_summary_fn)(void *ud, uint64_t tok, int rc,
                                     const admission_summary_t *s,
                                     const char *err);
int admission_summary(admission_t *a, int64_t coupon_id,
                      admission_summary_fn fn, void *ud, uint64_t tok);

typedef enum {
    USER_NONE = 0,
    USER_PENDING, /* admitted, row not yet committed */
    USER_ISSUED,  /* row committed (persisted set) */
    USER_NO_COUPON
} user_status_t;

typedef void (*admission_status_fn)(void *ud, uint64_t tok, int rc,
                                    user_status_t st, const char *err);
int admission_user_status(admission_t *a, int64_t coupon_id, int64_t user_id,
                          admission_status_fn fn, void *ud, uint64_t tok);

typedef void (*admission_ping_fn)(void *ud, uint64_t tok, int ok);
int admission_ping(admission_t *a, admission_ping_fn fn, void *ud,
                   uint64_t tok);

/* Retries unsettled calls (every 500 ms at most) while connected: a
 * settle.lua refused on a live connection (Redis still LOADING its AOF)
 * would otherwise wait for the next reconnection. Call it periodically. */
void admission_tick(admission_t *a, uint64_t now_ms);

/* Calls whose answer was lost and that settle.lua has not settled yet;
 * calls settled since the start. */
unsigned admission_unsettled(const admission_t *a);
uint64_t admission_settled(const admission_t *a);

/* Settles that did not reach --redis-min-replicas replicas are kept (at
 * most 256, for 60 s) and sent again on every new connection (a failover
 * may promote a replica that has the call's admissions but not the
 * settle). kept: waiting for a new connection; resettled: sent again and
 * answered; removed: users those re-settles removed; dropped: forgotten
 * over the cap. */
typedef struct admission_resettle {
    unsigned kept;
    uint64_t resettled, removed, dropped;
} admission_resettle_t;
void admission_resettle_stats(const admission_t *a, admission_resettle_t *out);

/* Drops the Redis connection (replies overdue): pending callbacks run now
 * with "unavailable", and it reconnects. Not from inside a callback. */
void admission_reset(admission_t *a, const char *why);

#endif
