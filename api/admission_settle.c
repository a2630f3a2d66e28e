/* admission_settle.c -- settle: undo an admit.lua call whose answer was lost
 * or not replicated (settle.lua, scoped by the call id), and keep the undo
 * for the next primary. See admission_internal.h.
 *
 * With --redis-min-replicas a WAIT follows settle.lua too. A settle that
 * did not reach the replicas is kept (on a->kept): the primary may lose it
 * at a failover while a replica has the call's admissions (only its ACK
 * was cut, as in a partition of the primary), which would leave users
 * admitted with no 202, no event and no row. Every new connection (a
 * reconnect, a sentinel switch, a READONLY reset) sends each kept settle
 * again to whatever primary it reached; settle.lua is scoped by the call
 * id and idempotent, so a user admitted again in another call is never
 * touched. A kept settle is forgotten once one reached the replicas, after
 * KEPT_MS, or when over KEPT_MAX (counted: dropped). */
#include <inttypes.h>
#include <stdlib.h>

#include <hiredis/hiredis.h>

#include "admission_internal.h"
#include "log.h"

static void on_settled(redisAsyncContext *ac, void *reply, void *pd);
static void on_settle_wait(redisAsyncContext *ac, void *reply, void *pd);

static void settle_send(admit_batch_t *b)
{
    admission_t *a = b->a;

    b->settle_ok = 0;
    if (admission_call_send(b, SCRIPT_SETTLE, on_settled) != 0) {
        b->next = a->unsettled, a->unsettled = b; /* the next connection */
        return;
    }
    if (a->min_replicas > 0 &&
        redis_conn_wait(a->rc, a->min_replicas, a->replica_timeout_ms,
                        on_settle_wait, b) == 0)
        b->nwait++;
}

/* Forgets the kept settle after prev (NULL: the head). */
static void kept_forget(admission_t *a, admit_batch_t *prev, admit_batch_t *b)
{
    if (prev == NULL)
        a->kept = b->next;
    else
        prev->next = b->next;
    a->rs.kept--;
    free(b);
}

/* Over the cap: the kept settle kept first is forgotten (counted). */
static void kept_drop_oldest(admission_t *a)
{
    admit_batch_t *p, *prev = NULL, *oldest = a->kept, *oldest_prev = NULL;

    if (oldest == NULL)
        return;
    for (p = a->kept; p != NULL; prev = p, p = p->next)
        if (p->kept_ms < oldest->kept_ms)
            oldest = p, oldest_prev = prev;
    a->rs.dropped++;
    LOG(LL_WARN,
        "msg=\"kept settles over the cap: oldest forgotten, not re-settled "
        "at a failover (couponqctl reconcile finds its users)\" cap=%d "
        "coupon_id=%" PRId64 " call=%s users=%d",
        KEPT_MAX, oldest->coupon_id, oldest->call, oldest->n);
    kept_forget(a, oldest_prev, oldest);
}

/* b's settle is on the primary only: kept for the next connection. */
static void kept_add(admission_t *a, admit_batch_t *b)
{
    if (a->rs.kept >= KEPT_MAX)
        kept_drop_oldest(a);
    if (b->kept_ms == 0)
        b->kept_ms = uv_now(a->loop);
    b->next = a->kept;
    a->kept = b;
    a->rs.kept++;
}

/* The settle's answer and (with min replicas) its WAIT's are in.
 * replicated as batch_complete's. */
static void settle_complete(admit_batch_t *b, int replicated)
{
    admission_t *a = b->a;

    if (!b->settle_ok) { /* retried by the next connection or the tick */
        b->next = a->unsettled;
        a->unsettled = b;
        return;
    }
    a->nunsettled--;
    if (!b->resettle) {
        a->settled++;
        LOG(LL_INFO,
            "msg=\"lost admit.lua answer settled\" coupon_id=%" PRId64
            " call=%s users=%d released=%lld replicated=%d",
            b->coupon_id, b->call, b->n, b->released, replicated);
    } else {
        a->rs.resettled++;
        a->rs.removed += (uint64_t)b->released;
        if (b->released > 0)
            LOG(LL_WARN,
                "msg=\"re-settle removed admissions the previous primary "
                "had undone\" coupon_id=%" PRId64 " call=%s released=%lld",
                b->coupon_id, b->call, b->released);
    }
    if (replicated == 0)
        kept_add(a, b);
    else
        free(b);
}

static void on_settled(redisAsyncContext *ac, void *reply, void *pd)
{
    redisReply *rep = reply;
    admit_batch_t *b = pd;
    admission_t *a = b->a;

    (void)ac;
    if (rep != NULL && rep->type == REDIS_REPLY_INTEGER) {
        b->settle_ok = 1;
        b->released = rep->integer;
    } else if (rep != NULL) {
        /* Redis refused (LOADING...): the next connection or admission_tick
         * retries; a script error is logged and retried likewise. */
        LOG(LL_WARN,
            "msg=\"settling a lost admit.lua answer failed, retried\" "
            "coupon_id=%" PRId64 " err=\"%s\"",
            b->coupon_id,
            rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
        /* A restarted Redis lost the script (and may have refused the load
         * sent while it was LOADING): load it; the retry follows it. */
        if (script_noscript(rep) && !a->script[SCRIPT_SETTLE].loading)
            script_load(&a->script[SCRIPT_SETTLE], a->rc);
    }
    if (b->nwait == 0)
        settle_complete(b, -1);
}

static void on_settle_wait(redisAsyncContext *ac, void *reply, void *pd)
{
    admit_batch_t *b = pd;

    (void)ac;
    b->nwait--;
    settle_complete(b, redis_conn_waited(reply, b->a->min_replicas));
}

/* Every unsettled call, now (on a new connection, after the loads). */
void admission_settle_all(admission_t *a)
{
    admit_batch_t *b = a->unsettled, *next;

    a->unsettled = NULL;
    for (; b != NULL; b = next) {
        next = b->next;
        settle_send(b);
    }
}

/* A new connection: every kept settle becomes unsettled again, for
 * settle_all to send to the server now connected. */
void admission_resettle_kept(admission_t *a)
{
    admit_batch_t *b;

    if (a->kept == NULL)
        return;
    LOG(LL_WARN,
        "msg=\"new redis connection: settling again the calls undone on "
        "the previous one without reaching its replicas\" calls=%u",
        a->rs.kept);
    while ((b = a->kept) != NULL) {
        a->kept = b->next;
        b->resettle = 1;
        b->next = a->unsettled;
        a->unsettled = b;
        a->nunsettled++;
    }
    a->rs.kept = 0;
}

/* Kept settles older than KEPT_MS are forgotten. */
static void kept_expire(admission_t *a, uint64_t now_ms)
{
    admit_batch_t *b = a->kept, *prev = NULL, *next;
    unsigned n = 0;

    for (; b != NULL; b = next) {
        next = b->next;
        if (now_ms - b->kept_ms < KEPT_MS) {
            prev = b;
            continue;
        }
        kept_forget(a, prev, b);
        n++;
    }
    if (n > 0)
        LOG(LL_INFO, "msg=\"kept settles expired\" calls=%u kept=%u", n,
            a->rs.kept);
}

void admission_tick(admission_t *a, uint64_t now_ms)
{
    kept_expire(a, now_ms);
    if (a->unsettled == NULL || now_ms < a->settle_at_ms || !admission_ready(a))
        return;
    a->settle_at_ms = now_ms + SETTLE_RETRY_MS;
    admission_settle_all(a);
}

unsigned admission_unsettled(const admission_t *a)
{
    return a->nunsettled;
}

uint64_t admission_settled(const admission_t *a)
{
    return a->settled;
}

void admission_resettle_stats(const admission_t *a, admission_resettle_t *out)
{
    *out = a->rs;
}

void admission_kept_free(admission_t *a)
{
    while (a->kept != NULL)
        kept_forget(a, NULL, a->kept);
}
