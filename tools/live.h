/* live.h -- a sale's live state in Redis, for the operator tools: the meta
 * hash, the admitted (`issued`) and `persisted` sets (keys in keys.h).
 *
 * One synchronous hiredis connection; tools are short-lived and sequential.
 * Large sets are read with SSCAN and written in batches, so a tool never
 * blocks Redis (and with it admission) for long. Errors: -1 and the reason
 * in live_error(). */
#ifndef COUPONQ_LIVE_H
#define COUPONQ_LIVE_H

#include <stddef.h>
#include <stdint.h>

#include "fence_order.h"

typedef struct live live_t;

typedef struct live_meta {
    int64_t total; /* -1 = unlimited */
    int64_t start_ms, end_ms;
    char state[16];
    char total_text[24]; /* as stored: adjust.lua compares this text */
} live_meta_t;

typedef enum { LIVE_ISSUED, LIVE_PERSISTED } live_set_t;

/* redis://... or redis-sentinel://... (redis_sync.h). NULL with errstr.
 * A connection error or a READONLY-style reply drops the connection; the
 * next call reconnects (to the primary of the moment). */
live_t *live_connect(const char *url, char *errstr, size_t n);
void live_close(live_t *l); /* NULL is a no-op */
const char *live_error(const live_t *l);

/* *found = 0 when the meta hash does not exist. A hash that exists but is
 * not a valid meta is an error. */
int live_meta_get(live_t *l, int64_t id, live_meta_t *m, int *found);
int live_meta_set(live_t *l, int64_t id, const live_meta_t *m);
/* HSET state, only when the meta exists (*found says); WATCH makes that
 * atomic, so a concurrent archive never leaves a half meta behind. */
int live_set_state(live_t *l, int64_t id, const char *state, int *found);

int live_counts(live_t *l, int64_t id, int64_t *admitted, int64_t *persisted);
/* Members of one set, ascending, unique; malloc'd (NULL when *n is 0). */
int live_members(live_t *l, int64_t id, live_set_t which, int64_t **users,
                 size_t *n);
/* SADD users into one set; *added gets how many were new (may be NULL). */
int live_add(live_t *l, int64_t id, live_set_t which, const int64_t *users,
             size_t n, int64_t *added);

typedef enum {
    LIVE_ADJ_OK,            /* *value = admitted count */
    LIVE_ADJ_NOT_FOUND,     /* no meta */
    LIVE_ADJ_CHANGED,       /* total is no longer expected; *value = current */
    LIVE_ADJ_BELOW_ADMITTED /* *value = admitted count; nothing written */
} live_adj_t;

/* adjust.lua: total = new_total if it still is expected_text and not below
 * the admitted count. -1 on a Redis error. */
int live_adjust(live_t *l, int64_t id, const char *expected_text,
                int64_t new_total, live_adj_t *result, int64_t *value);

/* The fence (see schemas/redis/admit.lua): the server's master_replid into
 * out (-1 when it is not a master); the coupons whose meta `fence` differs
 * from replid (malloc'd ids); and the lift: fence = replid, only if the
 * server's id still is replid (*lifted = 0 otherwise, or without meta). */
int live_replid(live_t *l, char *out, size_t n);
int live_fenced(live_t *l, const char *replid, int64_t **ids, size_t *n);
int live_fence_lift(live_t *l, int64_t id, const char *replid, int *lifted);
/* What the guard orders the fenced coupons by (fence_order.h): the meta's
 * window and state, the use hash's until_ms, the admitted count and the
 * earliest live hold, on the Redis clock, read in one script. A field
 * that is missing or not a number leaves its part unset (meta, use 0;
 * hold_ms -1). */
int live_window(live_t *l, int64_t id, fence_window_t *w);

/* Deletes the coupon's keys; *keys = how many existed, *bytes = their
 * MEMORY USAGE just before (0 when the server does not support it). */
int live_delete(live_t *l, int64_t id, int64_t *keys, int64_t *bytes);

#endif
