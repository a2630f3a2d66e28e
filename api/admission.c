/* admission.c -- admit/release scripts. See admission.h; the settle of lost
 * answers is in admission_settle.c, the reads in admission_reads.c, and
 * what they share in admission_internal.h.
 *
 * Each call carries a small context through hiredis' privdata. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "admission_internal.h"
#include "embedded.h"
#include "keys.h"
#include "log.h"

static const char *const result_names[] = {
    "accepted", "duplicate", "sold_out", "not_open",    "ended",
    "closed",   "not_found", "fenced",   "unavailable", "error",
};

const char *admission_result_name(admit_result_t r)
{
    return (unsigned)r <= ADMIT_ERROR ? result_names[r] : "error";
}

call_t *admission_call_new(admission_t *a, void *ud, uint64_t tok,
                           int64_t coupon_id, int64_t user_id)
{
    call_t *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    c->a = a;
    c->ud = ud;
    c->tok = tok;
    c->coupon_id = coupon_id;
    c->user_id = user_id;
    return c;
}

/* ---- scripts ---- */

static void on_redis_state(void *ud, redis_conn_t *rc, int up)
{
    admission_t *a = ud;
    int i;

    (void)rc;
    for (i = 0; i < NSCRIPTS && up; i++)
        if (script_load(&a->script[i], a->rc) != 0)
            LOG(LL_ERROR, "msg=\"SCRIPT LOAD not sent\"");
    if (up) {
        admission_resettle_kept(a);
        admission_settle_all(a); /* pipelined after the loads */
    }
}

/* Before the first successful SCRIPT LOAD of each script (script.h) a
 * call is refused and a load is (re)tried. */
int admission_ready(const admission_t *a)
{
    int i;

    for (i = 0; i < NSCRIPTS; i++)
        if (!script_ready(&a->script[i]))
            return 0;
    return redis_conn_up(a->rc);
}

int admission_scripts_usable(admission_t *a)
{
    int i, ok = redis_conn_up(a->rc);

    for (i = 0; i < NSCRIPTS; i++)
        ok &= script_usable(&a->script[i], a->rc);
    return ok;
}

/* EVALSHA <release sha> 1 <issued> <user id>. */
static int evalsha(call_t *c, int which, redisCallbackFn *fn)
{
    admission_t *a = c->a;
    char issued[KEYS_MAX], uid[24];
    const char *argv[5];
    size_t len[5];
    int i;

    keys_issued(issued, sizeof(issued), c->coupon_id);
    snprintf(uid, sizeof(uid), "%" PRId64, c->user_id);
    argv[0] = "EVALSHA";
    argv[1] = a->script[which].sha;
    argv[2] = "1";
    argv[3] = issued;
    argv[4] = uid;
    for (i = 0; i < 5; i++)
        len[i] = strlen(argv[i]);
    return redis_conn_command(a->rc, fn, c, 5, argv, len);
}

/* NOSCRIPT: load again and retry, pipelined: Redis runs the load first.
 * Returns 1 when the retry is on its way (the call lives on). */
static int retry_noscript(call_t *c, const redisReply *rep, int which,
                          redisCallbackFn *fn)
{
    return script_retry(&c->a->script[which], c->a->rc, rep, &c->retried) &&
           evalsha(c, which, fn) == 0;
}

/* ---- admit ---- */

/* Admissions for one coupon gathered during one loop iteration, sent as one
 * EVALSHA with up to ADMIT_GROUP_USERS user ids (admit.lua answers each, in
 * order). The flush hook of the Redis connection sends open batches at the
 * end of the iteration, before the connection's write, so batching adds no
 * wait: under load many requests arrive per iteration and Redis runs one
 * script for them; at low load a batch holds one user. */

static void batch_done(admit_batch_t *b, admit_result_t res, const char *err)
{
    int i;

    for (i = 0; i < b->n; i++)
        b->p[i].fn(b->p[i].ud, b->p[i].tok, res, 0, err);
    free(b);
}

static void on_admit(redisAsyncContext *ac, void *reply, void *pd);

/* One call of b, admit or settle: both scripts take the call id and the
 * call's user ids after their keys (admit: meta, issued, calls; settle:
 * issued, calls):
 *   EVALSHA <sha> <nkeys> <keys>... <call id> <uid>... */
int admission_call_send(admit_batch_t *b, int which, redisCallbackFn *fn)
{
    admission_t *a = b->a;
    char keys[3][KEYS_MAX], uids[ADMIT_GROUP_USERS][24];
    const char *argv[7 + ADMIT_GROUP_USERS];
    size_t len[7 + ADMIT_GROUP_USERS];
    int i, k = which == SCRIPT_ADMIT ? 0 : 1, argc = 0;

    keys_meta(keys[0], sizeof(keys[0]), b->coupon_id);
    keys_issued(keys[1], sizeof(keys[1]), b->coupon_id);
    keys_calls(keys[2], sizeof(keys[2]), b->coupon_id);
    argv[argc++] = "EVALSHA";
    argv[argc++] = a->script[which].sha;
    argv[argc++] = k == 0 ? "3" : "2";
    for (; k < 3; k++)
        argv[argc++] = keys[k];
    argv[argc++] = b->call;
    for (i = 0; i < argc; i++)
        len[i] = strlen(argv[i]);
    for (i = 0; i < b->n; i++, argc++) {
        argv[argc] = uids[i];
        len[argc] = (size_t)snprintf(uids[i], sizeof(uids[i]), "%" PRId64,
                                     b->p[i].user_id);
    }
    return redis_conn_command(a->rc, fn, b, argc, argv, len);
}

static void on_wait(redisAsyncContext *ac, void *reply, void *pd);

/* EVALSHA admit.lua, then (when replicas are required) WAIT in the same
 * write: Redis answers the WAIT once the script's writes reached that many
 * replicas, or at the timeout with how many did. */
static int batch_send(admit_batch_t *b)
{
    admission_t *a = b->a;

    if (admission_call_send(b, SCRIPT_ADMIT, on_admit) != 0)
        return -1;
    if (a->min_replicas == 0)
        return 0;
    if (redis_conn_wait(a->rc, a->min_replicas, a->replica_timeout_ms, on_wait,
                        b) == 0)
        b->nwait++;
    return 0; /* a WAIT not sent: the connection is gone, on_admit hears */
}

/* Sends b; if it cannot be sent (the connection dropped since the calls
 * were taken), every call in it is answered "unavailable" now. */
static void batch_flush(admit_batch_t *b)
{
    if (batch_send(b) != 0)
        batch_done(b, ADMIT_UNAVAILABLE, "redis connection lost");
}

/* ---- call records: deleted once read, settled when the answer was lost */

static void on_done_sent(redisAsyncContext *ac, void *reply, void *pd)
{
    redisReply *rep = reply;

    (void)ac;
    (void)pd;
    if (rep != NULL && rep->type == REDIS_REPLY_ERROR)
        LOG(LL_WARN, "msg=\"HDEL of call records failed\" err=\"%s\"",
            rep->str);
}

/* HDEL <calls> <call id>...; best effort: a record left behind (Redis
 * down) only costs a few bytes until couponqctl archive. */
static void done_send(admission_t *a, done_t *d)
{
    char calls[KEYS_MAX];
    const char *argv[2 + DONE_MAX];
    size_t len[2 + DONE_MAX];
    int i;

    keys_calls(calls, sizeof(calls), d->coupon_id);
    argv[0] = "HDEL";
    argv[1] = calls;
    len[0] = 4;
    len[1] = strlen(calls);
    for (i = 0; i < d->n; i++) {
        argv[2 + i] = d->call[i];
        len[2 + i] = ULID_LEN;
    }
    if (redis_conn_up(a->rc))
        redis_conn_command(a->rc, on_done_sent, NULL, 2 + d->n, argv, len);
    d->n = 0;
}

/* The answer of b arrived and b accepted someone: its record can go. */
static void done_add(admission_t *a, const admit_batch_t *b)
{
    done_t *d = NULL;
    int i;

    for (i = 0; i < a->ndone && d == NULL; i++)
        if (a->done[i].coupon_id == b->coupon_id)
            d = &a->done[i];
    if (d == NULL) {
        if (a->ndone == ADMIT_GROUP_OPEN) /* many coupons: make room */
            done_send(a, &a->done[--a->ndone]);
        d = &a->done[a->ndone++];
        d->coupon_id = b->coupon_id;
        d->n = 0;
        redis_conn_want_flush(a->rc);
    }
    memcpy(d->call[d->n++], b->call, ULID_LEN + 1);
    if (d->n == DONE_MAX)
        done_send(a, d); /* stays open, empty, for the next ones */
}

static void flush_open(void *ud)
{
    admission_t *a = ud;
    admit_batch_t *b;

    while ((b = admit_group_pop(&a->open)) != NULL)
        batch_flush(b);
    while (a->ndone > 0)
        done_send(a, &a->done[--a->ndone]);
}

/* The answer is lost (or not replicated): 503 now; settle.lua undoes
 * exactly this call's admissions once Redis is reachable, so the 503 is
 * true. */
static void batch_lost(admit_batch_t *b, const char *why)
{
    int i;

    for (i = 0; i < b->n; i++)
        b->p[i].fn(b->p[i].ud, b->p[i].tok, ADMIT_UNAVAILABLE, 0, why);
    b->next = b->a->unsettled;
    b->a->unsettled = b;
    b->a->nunsettled++;
}

static void batch_deliver(admit_batch_t *b)
{
    int i;

    for (i = 0; i < b->n; i++)
        b->p[i].fn(b->p[i].ud, b->p[i].tok, b->res[i], b->seq[i], NULL);
    /* admit.lua recorded a call that accepted someone: the answer is in */
    if (admit_reply_accepted(b->res, b->n))
        done_add(b->a, b);
    free(b);
}

/* replicated: -1 no WAIT asked, 0 too few replicas (or unknown), 1 enough
 * (admit_reply.h says what each case becomes). */
static void batch_complete(admit_batch_t *b, int replicated)
{
    switch (admit_reply_action(b->outcome, replicated, b->res, b->n)) {
    case ADMIT_SETTLE_LOST:
        batch_lost(b, "redis connection lost");
        return;
    case ADMIT_DELIVER_FAILURE:
        batch_done(b, b->fail_res, b->err);
        return;
    case ADMIT_SETTLE_UNREPLICATED:
        b->a->not_replicated++;
        LOG(LL_WARN,
            "msg=\"admission not on enough replicas: 503, settled\" "
            "coupon_id=%" PRId64 " call=%s users=%d min_replicas=%d",
            b->coupon_id, b->call, b->n, b->a->min_replicas);
        batch_lost(b, "not replicated");
        return;
    case ADMIT_DELIVER:
        batch_deliver(b);
        return;
    }
}

static void on_admit(redisAsyncContext *ac, void *reply, void *pd)
{
    redisReply *rep = reply;
    admit_batch_t *b = pd;

    (void)ac;
    /* NOSCRIPT: load again and retry once, pipelined: Redis runs the load
     * first. */
    if (script_retry(&b->a->script[SCRIPT_ADMIT], b->a->rc, rep, &b->retried) &&
        batch_send(b) == 0)
        return;
    b->outcome = admit_reply_read(rep, b->n, b->res, b->seq, &b->fail_res,
                                  b->err, sizeof(b->err));
    if (b->nwait == 0)
        batch_complete(b, -1);
    /* else the WAIT sent after it completes the batch */
}

static void on_wait(redisAsyncContext *ac, void *reply, void *pd)
{
    redisReply *rep = reply;
    admit_batch_t *b = pd;

    (void)ac;
    if (--b->nwait > 0 || b->outcome == ADMIT_REPLY_PENDING)
        return; /* the WAIT of a call retried after NOSCRIPT */
    batch_complete(b, redis_conn_waited(rep, b->a->min_replicas));
}

int admission_admit(admission_t *a, int64_t coupon_id, int64_t user_id,
                    admission_admit_fn fn, void *ud, uint64_t tok)
{
    admit_batch_t *b;
    void *send;

    if (!admission_scripts_usable(a))
        return -1;
    if ((b = admit_group_find(&a->open, coupon_id, &send)) == NULL) {
        if (send != NULL) /* many coupons at once: room made */
            batch_flush(send);
        if ((b = malloc(sizeof(*b))) == NULL)
            return -1;
        b->a = a;
        b->coupon_id = coupon_id;
        b->n = 0;
        b->retried = 0;
        b->nwait = 0;
        b->outcome = ADMIT_REPLY_PENDING;
        b->resettle = 0;
        b->kept_ms = 0;
        ulid_generate(b->call);
        admit_group_open(&a->open, coupon_id, b);
        redis_conn_want_flush(a->rc);
    }
    b->p[b->n++] = (pending_t){ fn, ud, tok, user_id };
    if (admit_group_added(&a->open, b, b->n)) /* full: sent now */
        batch_flush(b);
    return 0;
}

/* ---- release ---- */

static void on_release(redisAsyncContext *ac, void *reply, void *pd)
{
    redisReply *rep = reply;
    call_t *c = pd;
    admission_release_fn fn = c->fn.release;

    (void)ac;
    if (retry_noscript(c, rep, SCRIPT_RELEASE, on_release))
        return;
    if (rep == NULL)
        fn(c->ud, c->tok, -1, "redis connection lost");
    else if (rep->type == REDIS_REPLY_INTEGER)
        fn(c->ud, c->tok, rep->integer == 1, NULL);
    else
        fn(c->ud, c->tok, -1,
           rep->type == REDIS_REPLY_ERROR
               ? rep->str
               : "unexpected reply from release.lua");
    free(c);
}

int admission_release(admission_t *a, int64_t coupon_id, int64_t user_id,
                      admission_release_fn fn, void *ud, uint64_t tok)
{
    call_t *c;

    if (!admission_scripts_usable(a) ||
        (c = admission_call_new(a, ud, tok, coupon_id, user_id)) == NULL)
        return -1;
    c->fn.release = fn;
    if (evalsha(c, SCRIPT_RELEASE, on_release) != 0) {
        free(c);
        return -1;
    }
    return 0;
}

void admission_set_min_replicas(admission_t *a, int n, int timeout_ms)
{
    a->min_replicas = n;
    a->replica_timeout_ms = timeout_ms;
}

uint64_t admission_not_replicated(const admission_t *a)
{
    return a->not_replicated;
}

void admission_reset(admission_t *a, const char *why)
{
    redis_conn_reset(a->rc, why);
}

/* ---- life ---- */

admission_t *admission_new(uv_loop_t *loop, const char *redis_url, char *errstr,
                           size_t n)
{
    admission_t *a = calloc(1, sizeof(*a));

    if (a == NULL) {
        snprintf(errstr, n, "out of memory");
        return NULL;
    }
    script_init(&a->script[SCRIPT_ADMIT], embedded_admit_lua);
    script_init(&a->script[SCRIPT_RELEASE], embedded_release_lua);
    script_init(&a->script[SCRIPT_SETTLE], embedded_settle_lua);
    a->loop = loop;
    a->rc = redis_conn_new(loop, redis_url, on_redis_state, a, errstr, n);
    if (a->rc == NULL) {
        free(a);
        return NULL;
    }
    redis_conn_set_flush(a->rc, flush_open, a);
    return a;
}

void admission_free(admission_t *a)
{
    admit_batch_t *b;

    if (a == NULL)
        return;
    while ((b = admit_group_pop(&a->open)) != NULL) /* taken, never sent */
        batch_done(b, ADMIT_UNAVAILABLE, "shutting down");
    redis_conn_free(a->rc); /* settle.lua calls in flight come back */
    while ((b = a->unsettled) != NULL) {
        LOG(LL_WARN,
            "msg=\"lost admit.lua answer not settled at exit: couponqctl "
            "reconcile finds its users\" coupon_id=%" PRId64
            " call=%s users=%d",
            b->coupon_id, b->call, b->n);
        a->unsettled = b->next;
        free(b);
    }
    admission_kept_free(a);
    free(a);
}
