/* redemption_undo.c -- undo: take back a transition whose event could not
 * reach Kafka or whose writes did not reach the replicas (use.lua undo,
 * scoped by the transition's version and event id), and keep the undo for
 * the next primary when its outcome is unknown. See redemption_internal.h.
 *
 * With --redis-min-replicas a WAIT follows the undo too. An undo whose
 * outcome is unknown -- the connection dropped before its answer, Redis
 * refused it (LOADING, READONLY...; a refusal of the script itself would
 * come again, so it is not kept), or its WAIT counted fewer replicas --
 * and an undo that could not be sent (not connected) are kept (on
 * r->kept): the primary may be a zombie or fail over, and a
 * replica that has the transition but not the undo be promoted, which would
 * leave a transition with no event (a live hold eating budget until its
 * expiry, a confirmed use no event explains). Every new connection (a
 * reconnect, a sentinel switch, a READONLY reset) sends each kept undo
 * again to whatever primary it reached. use.lua undoes only the record
 * whose version and latest event id are the transition's, so a re-sent
 * undo is idempotent and never takes back a later transition (a retry of
 * the request after the first undo ran makes a new one, with a new event
 * id). A kept undo is forgotten once one was answered (1 or 0) and, with
 * min_replicas, reached the replicas; after UNDO_KEPT_MS; or over
 * UNDO_KEPT_MAX (counted: dropped).
 *
 * The caller's callback runs once, on the first answer or failure: the
 * client's 503 never waits for the WAIT or a re-send. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "log.h"
#include "redemption_internal.h"

static void on_undo(redisAsyncContext *ac, void *reply, void *pd);
static void on_undo_wait(redisAsyncContext *ac, void *reply, void *pd);

/* The undo, and with min_replicas its WAIT in the same write. */
static int undo_send(ucall_t *c)
{
    redemption_t *r = c->r;

    if (redemption_ucall_send(c, on_undo) != 0)
        return -1;
    c->replied = 0;
    if (r->min_replicas > 0 &&
        redis_conn_wait(r->rc, r->min_replicas, r->replica_timeout_ms,
                        on_undo_wait, c) == 0)
        c->nwait++;
    return 0; /* a WAIT not sent: the connection is gone, on_undo hears */
}

/* Forgets the kept undo after prev (NULL: the head). */
static void kept_forget(redemption_t *r, ucall_t *prev, ucall_t *c)
{
    if (prev == NULL)
        r->kept = c->next;
    else
        prev->next = c->next;
    r->ks.kept--;
    redemption_ucall_free(c);
}

/* Over the cap: the undo kept first is forgotten (counted). */
static void kept_drop_oldest(redemption_t *r)
{
    ucall_t *p, *prev = NULL, *oldest = r->kept, *oldest_prev = NULL;

    if (oldest == NULL)
        return;
    for (p = r->kept; p != NULL; prev = p, p = p->next)
        if (p->kept_ms < oldest->kept_ms)
            oldest = p, oldest_prev = prev;
    r->ks.dropped++;
    LOG(LL_WARN,
        "msg=\"kept undos over the cap: oldest forgotten, not sent again at "
        "a failover (couponqctl reconcile --repair finds its "
        "redemption)\" cap=%d coupon_id=%" PRId64
        " redemption_id=%s version=%" PRId64 " event_id=%s",
        UNDO_KEPT_MAX, oldest->coupon_id, oldest->rid, oldest->version,
        oldest->event_id);
    kept_forget(r, oldest_prev, oldest);
}

/* c's outcome is unknown or not on the replicas: kept for the next
 * connection. */
static void kept_add(redemption_t *r, ucall_t *c)
{
    if (r->ks.kept >= UNDO_KEPT_MAX)
        kept_drop_oldest(r);
    if (c->kept_ms == 0)
        c->kept_ms = uv_now(r->loop);
    c->next = r->kept;
    r->kept = c;
    r->ks.kept++;
}

/* The undo's answer and (with min_replicas) its WAIT's are in. replicated:
 * 1 enough replicas, 0 fewer (or the WAIT's answer lost), -1 not asked. */
static void undo_complete(ucall_t *c, int replicated)
{
    redemption_t *r = c->r;

    if (c->fate == UNDO_UNKNOWN ||
        (c->fate == UNDO_ANSWERED && replicated == 0)) {
        kept_add(r, c);
        return;
    }
    redemption_ucall_free(c);
}

/* 1 undone, 0 not, -1 failed (err), with c->fate. */
static int undo_outcome(ucall_t *c, const redisReply *rep, const char **err)
{
    *err = NULL;
    c->fate = UNDO_ANSWERED;
    if (rep != NULL && rep->type == REDIS_REPLY_INTEGER)
        return rep->integer == 1;
    c->fate = UNDO_REFUSED;
    if (rep == NULL) {
        *err = "redis connection lost";
        c->fate = UNDO_UNKNOWN;
    } else if (rep->type == REDIS_REPLY_ERROR) {
        *err = rep->str;
        if (strncmp(rep->str, "ERR couponq", 11) != 0)
            c->fate = UNDO_UNKNOWN; /* LOADING, READONLY, BUSY... */
    } else {
        *err = "unexpected reply";
    }
    return -1;
}

/* A re-sent undo answered: counted and logged (the caller heard the first
 * one). */
static void resent_answered(ucall_t *c, int undone, const char *err)
{
    redemption_t *r = c->r;

    if (undone >= 0)
        r->ks.resent++;
    if (undone == 1)
        r->ks.retaken++;
    LOG(undone == 1   ? LL_WARN
        : undone == 0 ? LL_INFO
                      : LL_ERROR,
        "msg=\"kept undo sent again: %s\" coupon_id=%" PRId64
        " redemption_id=%s version=%" PRId64 " event_id=%s resends=%u "
        "err=\"%s\"",
        undone == 1   ? "took back a transition the previous primary undid"
        : undone == 0 ? "nothing to take back"
        : c->fate == UNDO_UNKNOWN ? "failed, kept"
                                  : "refused by use.lua, forgotten",
        c->coupon_id, c->rid, c->version, c->event_id, c->resends,
        err != NULL ? err : "");
}

static void on_undo(redisAsyncContext *ac, void *reply, void *pd)
{
    redisReply *rep = reply;
    ucall_t *c = pd;
    redemption_t *r = c->r;
    const char *err;
    int undone;

    (void)ac;
    if (script_retry(&r->use, r->rc, rep, &c->retried) && undo_send(c) == 0)
        return;
    c->replied = 1;
    undone = undo_outcome(c, rep, &err);
    if (c->fn.undo != NULL) {
        c->fn.undo(c->ud, c->tok, undone, err);
        c->fn.undo = NULL; /* a re-send has no caller */
    } else {
        resent_answered(c, undone, err);
    }
    if (c->nwait > 0)
        return; /* the WAIT sent after it completes the undo */
    undo_complete(c, r->min_replicas > 0 ? 0 : -1); /* no WAIT was sent */
}

static void on_undo_wait(redisAsyncContext *ac, void *reply, void *pd)
{
    ucall_t *c = pd;

    (void)ac;
    if (--c->nwait > 0 || !c->replied)
        return; /* the WAIT of an undo retried after NOSCRIPT */
    undo_complete(c, redis_conn_waited(reply, c->r->min_replicas));
}

int redemption_undo(redemption_t *r, int64_t coupon_id, const use_answer_t *a,
                    redemption_undo_fn fn, void *ud, uint64_t tok)
{
    ucall_t *c = redemption_ucall_new(r, K_UNDO, coupon_id, a->rid);

    if (c == NULL || (c->prev = strdup(a->prev)) == NULL) {
        redemption_ucall_free(c);
        LOG(LL_ERROR,
            "msg=\"undo not sent nor kept: out of memory\" coupon_id=%" PRId64
            " redemption_id=%s version=%" PRId64,
            coupon_id, a->rid, a->version);
        return -1;
    }
    c->fn.undo = fn;
    c->ud = ud;
    c->tok = tok;
    c->version = a->version;
    memcpy(c->prev_user, a->prev_user, sizeof(c->prev_user));
    memcpy(c->event_id, a->event_id, sizeof(c->event_id));
    redemption_arg(c, "undo");
    redemption_arg(c, c->rid);
    redemption_arg(c, redemption_num(c, 0, a->version));
    redemption_arg(c, c->prev);
    redemption_arg(c, c->prev_user);
    redemption_arg(c, c->event_id);
    if (!redemption_usable(r) || undo_send(c) != 0) {
        /* The transition may be on the replicas already: the next
         * connection sends the undo. */
        c->fn.undo = NULL;
        kept_add(r, c);
        return -1;
    }
    return 0;
}

void redemption_resend_kept(redemption_t *r)
{
    ucall_t *c, *list = r->kept;

    if (list == NULL)
        return;
    LOG(LL_WARN,
        "msg=\"new redis connection: sending again the undos whose outcome "
        "was unknown or that did not reach the replicas\" undos=%u",
        r->ks.kept);
    r->kept = NULL;
    r->ks.kept = 0;
    while ((c = list) != NULL) {
        list = c->next;
        c->next = NULL;
        c->resends++;
        c->retried = 0;
        if (undo_send(c) != 0)
            kept_add(r, c); /* the connection is gone again: the next one */
    }
}

void redemption_tick(redemption_t *r, uint64_t now_ms)
{
    ucall_t *c = r->kept, *prev = NULL, *next;
    unsigned n = 0;

    for (; c != NULL; c = next) {
        next = c->next;
        if (now_ms - c->kept_ms < UNDO_KEPT_MS) {
            prev = c;
            continue;
        }
        kept_forget(r, prev, c);
        n++;
    }
    if (n > 0)
        LOG(LL_INFO, "msg=\"kept undos expired\" undos=%u kept=%u", n,
            r->ks.kept);
}

void redemption_kept_stats(const redemption_t *r, redemption_kept_t *out)
{
    *out = r->ks;
}

void redemption_kept_free(redemption_t *r)
{
    if (r->kept != NULL)
        LOG(LL_WARN,
            "msg=\"exit with undos kept: not sent again (a failover since "
            "may leave their transitions without events; couponqctl "
            "reconcile --repair)\" undos=%u",
            r->ks.kept);
    while (r->kept != NULL)
        kept_forget(r, NULL, r->kept);
}
