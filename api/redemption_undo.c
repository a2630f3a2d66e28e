/* redemption_undo.c -- undo: take back a transition whose event could not
 * reach Kafka or whose writes did not reach the replicas (use.lua undo,
 * scoped by the transition's version and event id), and keep the undo for
 * the next primary when its outcome is unknown (on the list of
 * redemption_kept.c, shared with finish). See redemption_internal.h.
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
 * min_replicas, reached the replicas; after USE_KEPT_MS; or over
 * USE_KEPT_MAX (counted: dropped).
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
int redemption_undo_send(ucall_t *c)
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

/* The undo's answer and (with min_replicas) its WAIT's are in. replicated:
 * 1 enough replicas, 0 fewer (or the WAIT's answer lost), -1 not asked. */
static void undo_complete(ucall_t *c, int replicated)
{
    redemption_t *r = c->r;

    if (c->fate == KEPT_UNKNOWN ||
        (c->fate == KEPT_ANSWERED && replicated == 0)) {
        redemption_kept_add(r, c);
        return;
    }
    redemption_ucall_free(c);
}

static void on_undo(redisAsyncContext *ac, void *reply, void *pd)
{
    redisReply *rep = reply;
    ucall_t *c = pd;
    redemption_t *r = c->r;
    const char *err;
    int undone;

    (void)ac;
    if (script_retry(&r->use, r->rc, rep, &c->retried) &&
        redemption_undo_send(c) == 0)
        return;
    c->replied = 1;
    undone = redemption_kept_outcome(c, rep, &err);
    if (c->fn.undo != NULL) {
        c->fn.undo(c->ud, c->tok, undone, err);
        c->fn.undo = NULL; /* a re-send has no caller */
    } else {
        redemption_kept_answered(c, undone, err);
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
    if (!redemption_usable(r) || redemption_undo_send(c) != 0) {
        /* The transition may be on the replicas already: the next
         * connection sends the undo. */
        c->fn.undo = NULL;
        redemption_kept_add(r, c);
        return -1;
    }
    return 0;
}
