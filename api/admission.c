/* admission.c -- admit/release scripts and Redis reads. See admission.h.
 *
 * Each call carries a small context through hiredis' privdata. Multi-
 * command reads (summary, user status) send their commands back to back:
 * Redis answers in order, so the context counts replies and completes on
 * the last one. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "admission.h"
#include "admit_group.h"
#include "admit_reply.h"
#include "embedded.h"
#include "keys.h"
#include "log.h"
#include "redis_conn.h"
#include "script.h"
#include "ulid.h"

/* Retry of settle.lua calls that failed on a live connection (LOADING). */
#define SETTLE_RETRY_MS 500
/* Call records to delete (HDEL ... :calls) per coupon and iteration. */
#define DONE_MAX 256
/* Settled calls kept for a re-settle (see "kept" below): at most this many,
 * for at most this long (a sentinel failover takes seconds). */
#define KEPT_MAX 256
#define KEPT_MS  60000

enum { SCRIPT_ADMIT = 0, SCRIPT_RELEASE, SCRIPT_SETTLE, NSCRIPTS };

typedef struct call {
    admission_t *a;
    union {
        admission_admit_fn admit;
        admission_release_fn release;
        admission_summary_fn summary;
        admission_status_fn status;
        admission_ping_fn ping;
    } fn;
    void *ud;
    uint64_t tok;
    int64_t coupon_id, user_id;
    int retried;
    int replies; /* still expected */
    int failed;
    char err[128];
    admission_summary_t sum;
    int bits; /* user status: 1 meta exists, 2 persisted, 4 issued */
} call_t;

typedef struct admit_batch admit_batch_t;

typedef struct done { /* call records whose answer arrived, one coupon */
    int64_t coupon_id;
    int n;
    char call[DONE_MAX][ULID_LEN + 1];
} done_t;

struct admission {
    uv_loop_t *loop;
    redis_conn_t *rc;
    script_t script[NSCRIPTS];
    admit_group_t open; /* calls taken, not yet sent */
    done_t done[ADMIT_GROUP_OPEN];
    int ndone;
    admit_batch_t *unsettled; /* sent, answer lost: settle.lua pending */
    int min_replicas;         /* WAIT for them after admit.lua; 0: no */
    int replica_timeout_ms;
    uint64_t not_replicated;
    unsigned nunsettled;
    uint64_t settled;
    uint64_t settle_at_ms; /* next retry by admission_tick */
    admit_batch_t *kept;   /* settled, the settle not on the replicas */
    admission_resettle_t rs;
};

static const char *const result_names[] = {
    "accepted", "duplicate", "sold_out", "not_open",    "ended",
    "closed",   "not_found", "fenced",   "unavailable", "error",
};

const char *admission_result_name(admit_result_t r)
{
    return (unsigned)r <= ADMIT_ERROR ? result_names[r] : "error";
}

static call_t *call_new(admission_t *a, void *ud, uint64_t tok,
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

static void settle_all(admission_t *a);
static void resettle_kept(admission_t *a);

static void on_redis_state(void *ud, redis_conn_t *rc, int up)
{
    admission_t *a = ud;
    int i;

    (void)rc;
    for (i = 0; i < NSCRIPTS && up; i++)
        if (script_load(&a->script[i], a->rc) != 0)
            LOG(LL_ERROR, "msg=\"SCRIPT LOAD not sent\"");
    if (up) {
        resettle_kept(a);
        settle_all(a); /* pipelined after the loads */
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

static int scripts_usable(admission_t *a)
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

typedef struct pending {
    admission_admit_fn fn;
    void *ud;
    uint64_t tok;
    int64_t user_id;
} pending_t;

struct admit_batch {
    admission_t *a;
    int64_t coupon_id;
    int n;
    int retried;
    int nwait; /* WAITs sent after its EVALSHA, not yet answered */
    /* What admit.lua answered, kept until its WAIT (if any) is in. */
    admit_reply_t outcome;
    int resettle;       /* settled once already: sent again after a switch */
    int settle_ok;      /* settle.lua answered an integer: released */
    long long released; /* users the last settle.lua removed */
    uint64_t kept_ms;   /* first kept (0: never) */
    admit_result_t fail_res;
    char err[128];
    char call[ULID_LEN + 1]; /* the call id admit.lua records */
    admit_batch_t *next;     /* on the unsettled list */
    pending_t p[ADMIT_GROUP_USERS];
    admit_result_t res[ADMIT_GROUP_USERS]; /* when ANSWERED: p[i]'s result */
    int64_t seq[ADMIT_GROUP_USERS];
};

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
static int call_send(admit_batch_t *b, int which, redisCallbackFn *fn)
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

    if (call_send(b, SCRIPT_ADMIT, on_admit) != 0)
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

/* ---- settle: undo a call whose answer was lost or not replicated ----
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

static void on_settled(redisAsyncContext *ac, void *reply, void *pd);
static void on_settle_wait(redisAsyncContext *ac, void *reply, void *pd);

static void settle_send(admit_batch_t *b)
{
    admission_t *a = b->a;

    b->settle_ok = 0;
    if (call_send(b, SCRIPT_SETTLE, on_settled) != 0) {
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
static void settle_all(admission_t *a)
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
static void resettle_kept(admission_t *a)
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
    settle_all(a);
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

    if (!scripts_usable(a))
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

    if (!scripts_usable(a) ||
        (c = call_new(a, ud, tok, coupon_id, user_id)) == NULL)
        return -1;
    c->fn.release = fn;
    if (evalsha(c, SCRIPT_RELEASE, on_release) != 0) {
        free(c);
        return -1;
    }
    return 0;
}

/* ---- reads ---- */

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
        (c = call_new(a, ud, tok, coupon_id, 0)) == NULL)
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
        (c = call_new(a, ud, tok, coupon_id, user_id)) == NULL)
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

    if (!scripts_usable(a) || (c = call_new(a, ud, tok, 0, 0)) == NULL)
        return -1;
    c->fn.ping = fn;
    if (redis_conn_command(a->rc, on_ping, c, 1, argv, len) != 0) {
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
    while (a->kept != NULL)
        kept_forget(a, NULL, a->kept);
    free(a);
}
