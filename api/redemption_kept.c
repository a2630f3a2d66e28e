/* redemption_kept.c -- the undos (redemption_undo.c) and finishes
 * (redemption.c) whose outcome is unknown, kept on r->kept and sent again
 * on every new Redis connection. See redemption_internal.h.
 *
 * Both are single use.lua calls that answer 1 or 0 and that the script
 * scopes so a second run changes nothing: an undo takes back only the
 * record whose version and latest event id are the transition's, a finish
 * frees only the record at its version that still waits for it (p = 1,
 * back to 0 once it ran). So when the connection dropped before the
 * answer, Redis refused the call (LOADING, READONLY, NOREPLICAS...: it may
 * not have run), or it could not be sent (not connected), the caller keeps
 * it here, and every new connection (a reconnect, a sentinel switch, a
 * READONLY reset) sends each one again to whatever server it reached. The
 * script's own refusal would come again: it is not kept. A kept call is
 * forgotten once answered 1 or 0 (an undo with min_replicas only once it
 * also reached the replicas: redemption_undo.c), after USE_KEPT_MS, or
 * over USE_KEPT_MAX of its kind (counted: dropped). A finish forgotten
 * unanswered counts as a finish failure: its budget stays held. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "log.h"
#include "redemption_internal.h"

/* The words of each kind's log lines. */
static const struct {
    const char *one, *many;
    const char *did;  /* a re-send answered 1 */
    const char *none; /* answered 0 */
    const char *lost; /* forgotten unanswered */
} kinds[REDEMPTION_KEPT_KINDS] = {
    [K_UNDO] = { "undo", "undos",
                 "took back a transition the previous primary undid",
                 "nothing to take back",
                 "a failover since may leave its transition without its "
                 "event; couponqctl reconcile --repair finds its redemption" },
    [K_FINISH] = { "finish", "finishes",
                   "freed the budget the first one did not",
                   "nothing to finish (finished already, or the record moved "
                   "on)",
                   FINISH_LOST_WHY },
};

int redemption_kept_outcome(ucall_t *c, const redisReply *rep, const char **err)
{
    *err = NULL;
    c->fate = KEPT_ANSWERED;
    if (rep != NULL && rep->type == REDIS_REPLY_INTEGER)
        return rep->integer == 1;
    c->fate = KEPT_REFUSED;
    if (rep == NULL) {
        *err = "redis connection lost";
        c->fate = KEPT_UNKNOWN;
    } else if (rep->type == REDIS_REPLY_ERROR) {
        *err = rep->str;
        if (strncmp(rep->str, "ERR couponq", 11) != 0)
            c->fate = KEPT_UNKNOWN; /* LOADING, READONLY, BUSY... */
    } else {
        *err = "unexpected reply";
    }
    return -1;
}

/* Forgets the kept call after prev (NULL: the head). */
static void kept_forget(redemption_t *r, ucall_t *prev, ucall_t *c)
{
    if (prev == NULL)
        r->kept = c->next;
    else
        prev->next = c->next;
    r->ks[c->kind].kept--;
    if (c->kind == K_FINISH)
        r->finish_failures++; /* given up: its budget stays held */
    redemption_ucall_free(c);
}

/* Over the cap: the call of that kind kept first is forgotten (counted). */
static void kept_drop_oldest(redemption_t *r, int kind)
{
    ucall_t *p, *prev = NULL, *oldest = NULL, *oldest_prev = NULL;

    for (p = r->kept; p != NULL; prev = p, p = p->next)
        if (p->kind == kind && (oldest == NULL || p->kept_ms < oldest->kept_ms))
            oldest = p, oldest_prev = prev;
    if (oldest == NULL)
        return;
    r->ks[kind].dropped++;
    LOG(LL_WARN,
        "msg=\"kept %s over the cap: oldest forgotten, not sent again (%s)\" "
        "cap=%d coupon_id=%" PRId64 " redemption_id=%s version=%" PRId64
        " event_id=%s",
        kinds[kind].many, kinds[kind].lost, USE_KEPT_MAX, oldest->coupon_id,
        oldest->rid, oldest->version, oldest->event_id);
    kept_forget(r, oldest_prev, oldest);
}

void redemption_kept_add(redemption_t *r, ucall_t *c)
{
    if (r->ks[c->kind].kept >= USE_KEPT_MAX)
        kept_drop_oldest(r, c->kind);
    if (c->kept_ms == 0)
        c->kept_ms = uv_now(r->loop);
    c->next = r->kept;
    r->kept = c;
    r->ks[c->kind].kept++;
}

void redemption_kept_answered(ucall_t *c, int done, const char *err)
{
    redemption_kept_t *ks = &c->r->ks[c->kind];

    if (done >= 0)
        ks->resent++;
    if (done == 1)
        ks->applied++;
    LOG(done == 1   ? LL_WARN
        : done == 0 ? LL_INFO
                    : LL_ERROR,
        "msg=\"kept %s sent again: %s\" coupon_id=%" PRId64
        " redemption_id=%s version=%" PRId64 " event_id=%s resends=%u "
        "err=\"%s\"",
        kinds[c->kind].one,
        done == 1                 ? kinds[c->kind].did
        : done == 0               ? kinds[c->kind].none
        : c->fate == KEPT_UNKNOWN ? "failed, kept"
                                  : "refused by use.lua, forgotten",
        c->coupon_id, c->rid, c->version, c->event_id, c->resends,
        err != NULL ? err : "");
}

void redemption_resend_kept(redemption_t *r)
{
    ucall_t *c, *list = r->kept;
    int k, sent;

    if (list == NULL)
        return;
    LOG(LL_WARN,
        "msg=\"new redis connection: sending again the undos and finishes "
        "whose outcome was unknown (undos also: not on the replicas)\" "
        "undos=%u finishes=%u",
        r->ks[K_UNDO].kept, r->ks[K_FINISH].kept);
    r->kept = NULL;
    for (k = 0; k < REDEMPTION_KEPT_KINDS; k++)
        r->ks[k].kept = 0;
    while ((c = list) != NULL) {
        list = c->next;
        c->next = NULL;
        c->resends++;
        c->retried = 0;
        sent = c->kind == K_UNDO ? redemption_undo_send(c)
                                 : redemption_finish_send(c);
        if (sent != 0)
            redemption_kept_add(r, c); /* the connection is gone again */
    }
}

void redemption_tick(redemption_t *r, uint64_t now_ms)
{
    ucall_t *c = r->kept, *prev = NULL, *next;
    unsigned n[REDEMPTION_KEPT_KINDS] = { 0 };

    for (; c != NULL; c = next) {
        next = c->next;
        if (now_ms - c->kept_ms < USE_KEPT_MS) {
            prev = c;
            continue;
        }
        n[c->kind]++;
        kept_forget(r, prev, c);
    }
    if (n[K_UNDO] + n[K_FINISH] > 0)
        LOG(LL_INFO,
            "msg=\"kept undos and finishes expired (finishes: %s)\" "
            "undos=%u finishes=%u kept_undos=%u kept_finishes=%u",
            kinds[K_FINISH].lost, n[K_UNDO], n[K_FINISH], r->ks[K_UNDO].kept,
            r->ks[K_FINISH].kept);
}

void redemption_kept_stats(const redemption_t *r,
                           redemption_kept_t out[REDEMPTION_KEPT_KINDS])
{
    memcpy(out, r->ks, sizeof(r->ks));
}

void redemption_kept_free(redemption_t *r)
{
    int k;

    for (k = 0; k < REDEMPTION_KEPT_KINDS; k++)
        if (r->ks[k].kept > 0)
            LOG(LL_WARN, "msg=\"exit with %s kept: not sent again (%s)\" %s=%u",
                kinds[k].many, kinds[k].lost, kinds[k].many, r->ks[k].kept);
    while (r->kept != NULL)
        kept_forget(r, NULL, r->kept);
}
