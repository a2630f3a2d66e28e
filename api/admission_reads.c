/* admission_reads.c -- the api's Redis reads: a coupon's summary, a user's
 * status, PING. See admission.h.
 *
 * Multi-command reads send their commands back to back: Redis answers in
 * order, so the call counts replies and completes on the last one. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "admission_internal.h"
#include "keys.h"

/* Sends cmds (each a NULL-terminated argv of C strings) back to back for
 * one call; 0 when all were sent. A partial send cannot happen on a live
 * connection (hiredis only buffers), and a dead one fails the first. */
static int send_all(call_t *c, redisCallbackFn *fn, const char *const *cmds[],
                    int ncmds)
{
    const char *argv[4];
    size_t len[4];
    int i, n;

    for (i = 0; i < ncmds; i++) {
        for (n = 0; cmds[i][n] != NULL; n++) {
            argv[n] = cmds[i][n];
            len[n] = strlen(argv[n]);
        }
        if (redis_conn_command(c->a->rc, fn, c, n, argv, len) != 0)
            return i == 0 ? -1 : 0; /* sent ones will report NULL */
        c->replies++;
    }
    return 0;
}

static void reply_error(call_t *c, const redisReply *rep)
{
    if (c->failed)
        return;
    c->failed = 1;
    snprintf(c->err, sizeof(c->err), "%s",
             rep == NULL                      ? "redis connection lost"
             : rep->type == REDIS_REPLY_ERROR ? rep->str
                                              : "unexpected reply");
}

static int64_t int_or(const redisReply *r, int64_t dflt)
{
    char *end;
    long long v;

    if (r->type != REDIS_REPLY_STRING)
        return dflt;
    v = strtoll(r->str, &end, 10);
    return *end == '\0' && end != r->str ? v : dflt;
}

static void on_summary(redisAsyncContext *ac, void *reply, void *pd)
{
    redisReply *rep = reply;
    call_t *c = pd;
    int first = c->bits++ == 0;

    (void)ac;
    if (rep != NULL && first && rep->type == REDIS_REPLY_ARRAY &&
        rep->elements == 2) {
        c->sum.found = rep->element[0]->type != REDIS_REPLY_NIL ||
                       rep->element[1]->type != REDIS_REPLY_NIL;
        c->sum.total = int_or(rep->element[0], -1);
        snprintf(c->sum.state, sizeof(c->sum.state), "%s",
                 rep->element[1]->type == REDIS_REPLY_STRING
                     ? rep->element[1]->str
                     : "unknown");
    } else if (rep != NULL && !first && rep->type == REDIS_REPLY_INTEGER) {
        c->sum.admitted = rep->integer;
    } else {
        reply_error(c, rep); /* NULL, an error reply or a surprise */
    }
    if (--c->replies > 0)
        return;
    c->fn.summary(c->ud, c->tok, c->failed ? -1 : 0, &c->sum,
                  c->failed ? c->err : NULL);
    free(c);
}

int admission_summary(admission_t *a, int64_t coupon_id,
                      admission_summary_fn fn, void *ud, uint64_t tok)
{
    char meta[KEYS_MAX], issued[KEYS_MAX];
    const char *hmget[] = { "HMGET", meta, "total", "state", NULL };
    const char *scard[] = { "SCARD", issued, NULL };
    const char *const *cmds[] = { hmget, scard };
    call_t *c;

    if (!redis_conn_up(a->rc) ||
        (c = admission_call_new(a, ud, tok, coupon_id, 0)) == NULL)
        return -1;
    c->fn.summary = fn;
    keys_meta(meta, sizeof(meta), coupon_id);
    keys_issued(issued, sizeof(issued), coupon_id);
    if (send_all(c, on_summary, cmds, 2) != 0) {
        free(c);
        return -1;
    }
    return 0;
}

/* Replies in order: EXISTS meta, SISMEMBER persisted, SISMEMBER issued. */
static void on_status(redisAsyncContext *ac, void *reply, void *pd)
{
    static const int bit[3] = { 1, 2, 4 };
    redisReply *rep = reply;
    call_t *c = pd;
    int i = 3 - c->replies;
    user_status_t st;

    (void)ac;
    if (rep == NULL || rep->type != REDIS_REPLY_INTEGER)
        reply_error(c, rep);
    else if (rep->integer == 1)
        c->bits |= bit[i];
    if (--c->replies > 0)
        return;
    st = (c->bits & 2)   ? USER_ISSUED
         : (c->bits & 4) ? USER_PENDING
         : (c->bits & 1) ? USER_NONE
                         : USER_NO_COUPON;
    c->fn.status(c->ud, c->tok, c->failed ? -1 : 0, st,
                 c->failed ? c->err : NULL);
    free(c);
}

int admission_user_status(admission_t *a, int64_t coupon_id, int64_t user_id,
                          admission_status_fn fn, void *ud, uint64_t tok)
{
    char meta[KEYS_MAX], persisted[KEYS_MAX], issued[KEYS_MAX], uid[24];
    const char *exists[] = { "EXISTS", meta, NULL };
    const char *ispers[] = { "SISMEMBER", persisted, uid, NULL };
    const char *isiss[] = { "SISMEMBER", issued, uid, NULL };
    const char *const *cmds[] = { exists, ispers, isiss };
    call_t *c;

    if (!redis_conn_up(a->rc) ||
        (c = admission_call_new(a, ud, tok, coupon_id, user_id)) == NULL)
        return -1;
    c->fn.status = fn;
    keys_meta(meta, sizeof(meta), coupon_id);
    keys_persisted(persisted, sizeof(persisted), coupon_id);
    keys_issued(issued, sizeof(issued), coupon_id);
    snprintf(uid, sizeof(uid), "%" PRId64, user_id);
    if (send_all(c, on_status, cmds, 3) != 0) {
        free(c);
        return -1;
    }
    return 0;
}

static void on_ping(redisAsyncContext *ac, void *reply, void *pd)
{
    redisReply *rep = reply;
    call_t *c = pd;

    (void)ac;
    c->fn.ping(c->ud, c->tok,
               rep != NULL && rep->type == REDIS_REPLY_STATUS &&
                   strcmp(rep->str, "PONG") == 0);
    free(c);
}

int admission_ping(admission_t *a, admission_ping_fn fn, void *ud, uint64_t tok)
{
    const char *argv[1] = { "PING" };
    size_t len[1] = { 4 };
    call_t *c;

    if (!admission_scripts_usable(a) ||
        (c = admission_call_new(a, ud, tok, 0, 0)) == NULL)
        return -1;
    c->fn.ping = fn;
    if (redis_conn_command(a->rc, on_ping, c, 1, argv, len) != 0) {
        free(c);
        return -1;
    }
    return 0;
}
