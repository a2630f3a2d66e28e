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
#include "embedded.h"
#include "keys.h"
#include "log.h"
#include "redis_conn.h"

#define SHA_LEN 40

enum { SCRIPT_ADMIT = 0, SCRIPT_RELEASE = 1 };

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

typedef struct script {
    admission_t *a;
    const char *text;
    char sha[SHA_LEN + 1];
    int loading; /* a SCRIPT LOAD is in flight */
} script_t;

struct admission {
    redis_conn_t *rc;
    script_t script[2];
};

static const char *const result_names[] = {
    "accepted", "duplicate", "sold_out",    "not_open", "ended",
    "closed",   "not_found", "unavailable", "error",
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

static void on_script_loaded(redisAsyncContext *ac, void *reply, void *pd)
{
    redisReply *rep = reply;
    script_t *sc = pd;

    (void)ac;
    sc->loading = 0;
    if (rep == NULL)
        return; /* connection lost; loaded again on reconnect */
    if (rep->type != REDIS_REPLY_STRING || rep->len != SHA_LEN) {
        /* e.g. LOADING after a Redis restart: the next request retries */
        LOG(LL_ERROR, "msg=\"SCRIPT LOAD failed\" err=\"%s\"",
            rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
        return;
    }
    memcpy(sc->sha, rep->str, SHA_LEN);
    sc->sha[SHA_LEN] = '\0';
}

static int script_load(admission_t *a, script_t *sc, redisCallbackFn *fn)
{
    const char *argv[3] = { "SCRIPT", "LOAD", sc->text };
    size_t len[3] = { 6, 4, strlen(sc->text) };

    if (redis_conn_command(a->rc, fn, sc, 3, argv, len) != 0)
        return -1;
    sc->loading = 1;
    return 0;
}

static void on_redis_state(void *ud, redis_conn_t *rc, int up)
{
    admission_t *a = ud;
    int i;

    (void)rc;
    for (i = 0; i < 2 && up; i++)
        if (script_load(a, &a->script[i], on_script_loaded) != 0)
            LOG(LL_ERROR, "msg=\"SCRIPT LOAD not sent\"");
}

/* A script's sha stays valid across reconnections (it is the hash of the
 * text): a Redis that lost the script answers NOSCRIPT and the call loads
 * it again. Only before the first successful SCRIPT LOAD is a script
 * unusable; then the call is refused and a load is (re)tried. */
int admission_ready(const admission_t *a)
{
    return redis_conn_up(a->rc) && a->script[0].sha[0] != '\0' &&
           a->script[1].sha[0] != '\0';
}

static int scripts_usable(admission_t *a)
{
    int i;

    if (admission_ready(a))
        return 1;
    for (i = 0; i < 2 && redis_conn_up(a->rc); i++)
        if (a->script[i].sha[0] == '\0' && !a->script[i].loading)
            script_load(a, &a->script[i], on_script_loaded);
    return 0;
}

/* EVALSHA <sha> <nkeys> keys... <user id>. */
static int evalsha(call_t *c, int which, redisCallbackFn *fn)
{
    admission_t *a = c->a;
    char meta[KEYS_MAX], issued[KEYS_MAX], uid[24];
    const char *argv[6];
    size_t len[6];
    int i, n = 0;

    keys_meta(meta, sizeof(meta), c->coupon_id);
    keys_issued(issued, sizeof(issued), c->coupon_id);
    snprintf(uid, sizeof(uid), "%" PRId64, c->user_id);
    argv[n++] = "EVALSHA";
    argv[n++] = a->script[which].sha;
    argv[n++] = which == SCRIPT_ADMIT ? "2" : "1";
    if (which == SCRIPT_ADMIT)
        argv[n++] = meta;
    argv[n++] = issued;
    argv[n++] = uid;
    for (i = 0; i < n; i++)
        len[i] = strlen(argv[i]);
    return redis_conn_command(a->rc, fn, c, n, argv, len);
}

/* NOSCRIPT: load again and retry, pipelined: Redis runs the load first.
 * Returns 1 when the retry is on its way (the call lives on). */
static int retry_noscript(call_t *c, const redisReply *rep, int which,
                          redisCallbackFn *fn)
{
    if (rep == NULL || rep->type != REDIS_REPLY_ERROR ||
        strncmp(rep->str, "NOSCRIPT", 8) != 0 || c->retried)
        return 0;
    c->retried = 1;
    LOG(LL_WARN, "msg=\"script missing in redis, loading it again\"");
    if (script_load(c->a, &c->a->script[which], on_script_loaded) != 0 ||
        evalsha(c, which, fn) != 0)
        return 0;
    return 1;
}

/* ---- admit ---- */

static admit_result_t parse_name(const redisReply *r)
{
    int i;

    if (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS)
        return ADMIT_ERROR;
    for (i = 0; i < ADMIT_UNAVAILABLE; i++)
        if (strcmp(r->str, result_names[i]) == 0)
            return (admit_result_t)i;
    return ADMIT_ERROR;
}

static void on_admit(redisAsyncContext *ac, void *reply, void *pd)
{
    redisReply *rep = reply;
    call_t *c = pd;
    admit_result_t res = ADMIT_UNAVAILABLE;
    int64_t seq = 0;
    const char *err = "redis connection lost";

    (void)ac;
    if (retry_noscript(c, rep, SCRIPT_ADMIT, on_admit))
        return;
    if (rep != NULL && rep->type == REDIS_REPLY_ERROR) {
        /* The script's own refusals start "ERR couponq"; anything else
         * (LOADING, BUSY, READONLY, OOM...) is Redis being unavailable. */
        res = strncmp(rep->str, "ERR couponq", 11) == 0 ? ADMIT_ERROR
                                                        : ADMIT_UNAVAILABLE;
        err = rep->str;
    } else if (rep != NULL) {
        res = ADMIT_ERROR;
        err = "unexpected reply from admit.lua";
        if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
            rep->element[1]->type == REDIS_REPLY_INTEGER &&
            (res = parse_name(rep->element[0])) != ADMIT_ERROR) {
            seq = rep->element[1]->integer;
            err = NULL;
        }
    }
    c->fn.admit(c->ud, c->tok, res, seq, err);
    free(c);
}

int admission_admit(admission_t *a, int64_t coupon_id, int64_t user_id,
                    admission_admit_fn fn, void *ud, uint64_t tok)
{
    call_t *c;

    if (!scripts_usable(a) ||
        (c = call_new(a, ud, tok, coupon_id, user_id)) == NULL)
        return -1;
    c->fn.admit = fn;
    if (evalsha(c, SCRIPT_ADMIT, on_admit) != 0) {
        free(c);
        return -1;
    }
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
    a->script[SCRIPT_ADMIT].a = a;
    a->script[SCRIPT_ADMIT].text = embedded_admit_lua;
    a->script[SCRIPT_RELEASE].a = a;
    a->script[SCRIPT_RELEASE].text = embedded_release_lua;
    a->rc = redis_conn_new(loop, redis_url, on_redis_state, a, errstr, n);
    if (a->rc == NULL) {
        free(a);
        return NULL;
    }
    return a;
}

void admission_free(admission_t *a)
{
    if (a == NULL)
        return;
    redis_conn_free(a->rc);
    free(a);
}
