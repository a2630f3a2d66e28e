/* live.c -- a sale's Redis keys for the operator tools. See live.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "embedded.h"
#include "keys.h"
#include "live.h"
#include "live_internal.h"
#include "redis_sync.h"

#define LIVE_TIMEOUT_S 5
#define LIVE_BATCH     1000 /* members per SADD / SSCAN COUNT */

struct live {
    url_t url;
    redisContext *rc; /* NULL after a connection or READONLY-style error */
    char err[256];
};

int live_fail(live_t *l, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(l->err, sizeof(l->err), fmt, ap);
    va_end(ap);
    return -1;
}

/* (Re)connects through redis_sync: the host is resolved, or the sentinels
 * asked, again. */
static int live_open(live_t *l)
{
    char err[512];

    if (l->rc != NULL)
        return 0;
    l->rc = redis_sync_connect_url(&l->url, LIVE_TIMEOUT_S * 1000, NULL, err,
                                   sizeof(err));
    return l->rc != NULL ? 0 : live_fail(l, "%s", err);
}

/* After a connection error, or a reply saying the server is no longer the
 * primary, the context is dropped: the failing call returns -1 and the
 * next one reconnects (to the new primary). */
static redisReply *live_checked(live_t *l, redisReply *r, const char *what)
{
    if (r == NULL) {
        live_fail(l, "redis: %s", l->rc->errstr);
        redisFree(l->rc);
        l->rc = NULL;
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        live_fail(l, "redis%s%s: %s", what[0] ? " " : "", what, r->str);
        if (redis_sync_is_readonly_error(r)) {
            redisFree(l->rc);
            l->rc = NULL;
        }
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

redisReply *live_cmd(live_t *l, int argc, const char **argv, const size_t *lens)
{
    if (live_open(l) != 0)
        return NULL;
    return live_checked(l, redisCommandArgv(l->rc, argc, argv, lens), argv[0]);
}

redisReply *live_cmdf(live_t *l, const char *fmt, ...)
{
    redisReply *r;
    va_list ap;

    if (live_open(l) != 0)
        return NULL;
    va_start(ap, fmt);
    r = redisvCommand(l->rc, fmt, ap);
    va_end(ap);
    return live_checked(l, r, "");
}

live_t *live_connect(const char *url, char *errstr, size_t n)
{
    live_t *l = calloc(1, sizeof(*l));

    if (l == NULL) {
        snprintf(errstr, n, "redis: out of memory");
        return NULL;
    }
    if (redis_sync_url(url, &l->url, errstr, n) != 0)
        goto err;
    if (live_open(l) != 0) {
        snprintf(errstr, n, "%s", l->err);
        goto err;
    }
    return l;
err:
    live_close(l);
    return NULL;
}

void live_close(live_t *l)
{
    if (l == NULL)
        return;
    if (l->rc != NULL)
        redisFree(l->rc);
    free(l);
}

const char *live_error(const live_t *l)
{
    return l->err;
}

static int parse_i64(const char *s, int64_t *out)
{
    char *end;
    long long v;

    if (s == NULL || *s == '\0')
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

static int live_meta_parse(live_t *l, const char *key, redisReply *r,
                           live_meta_t *m)
{
    const char *f[4];
    size_t i;

    for (i = 0; i < 4; i++)
        f[i] = r->element[i]->type == REDIS_REPLY_STRING ? r->element[i]->str
                                                         : NULL;
    if (parse_i64(f[0], &m->total) != 0 || m->total < -1 ||
        parse_i64(f[1], &m->start_ms) != 0 ||
        parse_i64(f[2], &m->end_ms) != 0 || f[3] == NULL ||
        strlen(f[3]) >= sizeof(m->state))
        return live_fail(l, "redis: %s is not a valid meta hash", key);
    snprintf(m->total_text, sizeof(m->total_text), "%s", f[0]);
    snprintf(m->state, sizeof(m->state), "%s", f[3]);
    return 0;
}

int live_meta_get(live_t *l, int64_t id, live_meta_t *m, int *found)
{
    char key[KEYS_MAX];
    redisReply *r;
    size_t i, nil = 0;
    int rc = -1;

    memset(m, 0, sizeof(*m));
    *found = 0;
    keys_meta(key, sizeof(key), id);
    r = live_cmdf(l, "HMGET %s total start_ms end_ms state", key);
    if (r == NULL)
        return -1;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 4) {
        live_fail(l, "redis: unexpected HMGET reply");
        goto out;
    }
    for (i = 0; i < 4; i++)
        nil += r->element[i]->type == REDIS_REPLY_NIL;
    if (nil == 4) {
        rc = 0;
        goto out;
    }
    if (live_meta_parse(l, key, r, m) != 0)
        goto out;
    *found = 1;
    rc = 0;
out:
    freeReplyObject(r);
    return rc;
}

/* The meta and its `fence` (the server's replication id) in one atomic step:
 * the hash is written from MySQL's row (create, rebuild), so the admitted
 * set that goes with it is the caller's to make complete (a new coupon has
 * none; rebuild writes `closed` first and fills the set before reopening). */
static const char meta_set_lua[] =
    "local r = string.match(redis.call('INFO', 'replication'), "
    "'master_replid:(%x+)') "
    "if r == nil then return redis.error_reply('ERR no master_replid') end "
    "redis.call('HSET', KEYS[1], 'total', ARGV[1], 'start_ms', ARGV[2], "
    "'end_ms', ARGV[3], 'state', ARGV[4], 'fence', r) return r";

int live_meta_set(live_t *l, int64_t id, const live_meta_t *m)
{
    char key[KEYS_MAX];
    redisReply *r;

    keys_meta(key, sizeof(key), id);
    r = live_cmdf(l, "EVAL %s 1 %s %lld %lld %lld %s", meta_set_lua, key,
                  (long long)m->total, (long long)m->start_ms,
                  (long long)m->end_ms, m->state);
    if (r == NULL)
        return -1;
    freeReplyObject(r);
    return 0;
}

/* WATCH meta; if it exists, MULTI HSET state EXEC. A nil EXEC means the
 * meta changed under us: try again (a few times). */
int live_set_state(live_t *l, int64_t id, const char *state, int *found)
{
    char key[KEYS_MAX];
    redisReply *r;
    int attempt;

    *found = 0;
    keys_meta(key, sizeof(key), id);
    for (attempt = 0; attempt < 10; attempt++) {
        long long exists;

        if ((r = live_cmdf(l, "WATCH %s", key)) == NULL)
            return -1;
        freeReplyObject(r);
        if ((r = live_cmdf(l, "EXISTS %s", key)) == NULL)
            return -1;
        exists = r->integer;
        freeReplyObject(r);
        if (!exists) {
            if ((r = live_cmdf(l, "UNWATCH")) == NULL)
                return -1;
            freeReplyObject(r);
            return 0;
        }
        if ((r = live_cmdf(l, "MULTI")) == NULL)
            return -1;
        freeReplyObject(r);
        if ((r = live_cmdf(l, "HSET %s state %s", key, state)) == NULL)
            return -1;
        freeReplyObject(r);
        if ((r = live_cmdf(l, "EXEC")) == NULL)
            return -1;
        exists = r->type == REDIS_REPLY_ARRAY;
        freeReplyObject(r);
        if (exists) {
            *found = 1;
            return 0;
        }
    }
    return live_fail(l, "redis: %s kept changing; state not set", key);
}

static int live_scard(live_t *l, const char *key, int64_t *out)
{
    redisReply *r = live_cmdf(l, "SCARD %s", key);

    if (r == NULL)
        return -1;
    *out = r->integer;
    freeReplyObject(r);
    return 0;
}

int live_counts(live_t *l, int64_t id, int64_t *admitted, int64_t *persisted)
{
    char key[KEYS_MAX];

    keys_issued(key, sizeof(key), id);
    if (live_scard(l, key, admitted) != 0)
        return -1;
    keys_persisted(key, sizeof(key), id);
    return live_scard(l, key, persisted);
}

static void set_key(char *key, size_t n, int64_t id, live_set_t which)
{
    if (which == LIVE_ISSUED)
        keys_issued(key, n, id);
    else
        keys_persisted(key, n, id);
}

static int push(int64_t **arr, size_t *n, size_t *cap, int64_t v)
{
    if (*n == *cap) {
        size_t ncap = *cap != 0 ? *cap * 2 : 256;
        int64_t *grown = realloc(*arr, ncap * sizeof(**arr));

        if (grown == NULL)
            return -1;
        *arr = grown;
        *cap = ncap;
    }
    (*arr)[(*n)++] = v;
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

/* One SSCAN page into the array; *cursor advances ("0" = done). */
static int live_scan_page(live_t *l, const char *key, char *cursor,
                          size_t ncursor, int64_t **users, size_t *n,
                          size_t *cap)
{
    redisReply *r, *page;
    size_t i;
    int64_t v;
    int rc = -1;

    r = live_cmdf(l, "SSCAN %s %s COUNT %d", key, cursor, LIVE_BATCH);
    if (r == NULL)
        return -1;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING) {
        live_fail(l, "redis: unexpected SSCAN reply");
        goto out;
    }
    snprintf(cursor, ncursor, "%s", r->element[0]->str);
    page = r->element[1];
    for (i = 0; i < page->elements; i++) {
        if (parse_i64(page->element[i]->str, &v) != 0) {
            live_fail(l, "redis: %s holds a non-integer member", key);
            goto out;
        }
        if (push(users, n, cap, v) != 0) {
            live_fail(l, "out of memory");
            goto out;
        }
    }
    rc = 0;
out:
    freeReplyObject(r);
    return rc;
}

int live_members(live_t *l, int64_t id, live_set_t which, int64_t **users,
                 size_t *n)
{
    char key[KEYS_MAX], cursor[32] = "0";
    size_t cap = 0, i, k;

    *users = NULL;
    *n = 0;
    set_key(key, sizeof(key), id, which);
    do {
        if (live_scan_page(l, key, cursor, sizeof(cursor), users, n, &cap) !=
            0) {
            free(*users);
            *users = NULL;
            *n = 0;
            return -1;
        }
    } while (strcmp(cursor, "0") != 0);
    if (*n == 0)
        return 0;
    /* SSCAN may return a member twice; sort and drop repeats. */
    qsort(*users, *n, sizeof(int64_t), cmp_i64);
    for (i = 1, k = 0; i < *n; i++)
        if ((*users)[i] != (*users)[k])
            (*users)[++k] = (*users)[i];
    *n = k + 1;
    return 0;
}

static int live_sadd_batch(live_t *l, const char *key, const int64_t *users,
                           size_t n, int64_t *added)
{
    const char *argv[LIVE_BATCH + 2];
    size_t lens[LIVE_BATCH + 2], i;
    char nums[LIVE_BATCH][24];
    redisReply *r;

    argv[0] = "SADD";
    argv[1] = key;
    lens[0] = 4;
    lens[1] = strlen(key);
    for (i = 0; i < n; i++) {
        lens[i + 2] = (size_t)snprintf(nums[i], sizeof(nums[i]), "%lld",
                                       (long long)users[i]);
        argv[i + 2] = nums[i];
    }
    r = live_cmd(l, (int)(n + 2), argv, lens);
    if (r == NULL)
        return -1;
    *added += r->integer;
    freeReplyObject(r);
    return 0;
}

int live_add(live_t *l, int64_t id, live_set_t which, const int64_t *users,
             size_t n, int64_t *added)
{
    char key[KEYS_MAX];
    int64_t total = 0;
    size_t off, k;

    set_key(key, sizeof(key), id, which);
    for (off = 0; off < n; off += k) {
        k = n - off < LIVE_BATCH ? n - off : LIVE_BATCH;
        if (live_sadd_batch(l, key, users + off, k, &total) != 0)
            return -1;
    }
    if (added != NULL)
        *added = total;
    return 0;
}

static int live_adj_result(live_t *l, redisReply *r, live_adj_t *result,
                           int64_t *value)
{
    static const char *const names[] = { "ok", "not_found", "changed",
                                         "below_admitted" };
    size_t i;

    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING ||
        r->element[1]->type != REDIS_REPLY_INTEGER)
        return live_fail(l, "redis: unexpected reply from adjust.lua");
    for (i = 0; i < 4; i++)
        if (strcmp(r->element[0]->str, names[i]) == 0) {
            *result = (live_adj_t)i;
            *value = r->element[1]->integer;
            return 0;
        }
    return live_fail(l, "redis: adjust.lua answered \"%s\"",
                     r->element[0]->str);
}

int live_adjust(live_t *l, int64_t id, const char *expected_text,
                int64_t new_total, live_adj_t *result, int64_t *value)
{
    char meta[KEYS_MAX], issued[KEYS_MAX], total[24];
    redisReply *r;
    int rc;

    keys_meta(meta, sizeof(meta), id);
    keys_issued(issued, sizeof(issued), id);
    snprintf(total, sizeof(total), "%lld", (long long)new_total);
    /* EVAL, not EVALSHA: an operator command runs once, so caching the
     * script buys nothing and NOSCRIPT handling would be dead weight. */
    r = live_cmdf(l, "EVAL %s 2 %s %s %s %s", embedded_adjust_lua, meta, issued,
                  expected_text, total);
    if (r == NULL)
        return -1;
    rc = live_adj_result(l, r, result, value);
    freeReplyObject(r);
    return rc;
}

/* MEMORY USAGE of a key, 0 when it does not exist or the command is not
 * supported (older servers): the freed figure is informative only. */
static int64_t live_memory(live_t *l, const char *key)
{
    redisReply *r;
    int64_t v = 0;

    if (live_open(l) != 0)
        return 0;
    r = redisCommand(l->rc, "MEMORY USAGE %s", key);
    if (r != NULL && r->type == REDIS_REPLY_INTEGER)
        v = r->integer;
    if (r != NULL)
        freeReplyObject(r);
    return v;
}

int live_delete(live_t *l, int64_t id, int64_t *keys, int64_t *bytes)
{
    char k[4][KEYS_MAX];
    redisReply *r;
    int i;

    keys_meta(k[0], sizeof(k[0]), id);
    keys_issued(k[1], sizeof(k[1]), id);
    keys_persisted(k[2], sizeof(k[2]), id);
    keys_calls(k[3], sizeof(k[3]), id);
    *bytes = 0;
    for (i = 0; i < 4; i++)
        *bytes += live_memory(l, k[i]);
    /* UNLINK frees a large set in the background; the keys are gone for
     * every client the moment it returns, like DEL. */
    r = live_cmdf(l, "UNLINK %s %s %s %s", k[0], k[1], k[2], k[3]);
    if (r == NULL)
        return -1;
    *keys = r->integer;
    freeReplyObject(r);
    return 0;
}

/* ------------------------------------------------------------ fence */

int live_replid(live_t *l, char *out, size_t n)
{
    redisReply *r = live_cmdf(l, "INFO replication");
    const char *p, *e;
    size_t len;

    if (r == NULL)
        return -1;
    if (r->type != REDIS_REPLY_STRING ||
        strstr(r->str, "role:master") == NULL) {
        freeReplyObject(r);
        return live_fail(l, "redis: the server is not a master");
    }
    p = strstr(r->str, "master_replid:");
    if (p == NULL) {
        freeReplyObject(r);
        return live_fail(l, "redis: INFO replication has no master_replid");
    }
    p += strlen("master_replid:");
    for (e = p; (*e >= '0' && *e <= '9') || (*e >= 'a' && *e <= 'f'); e++)
        ;
    len = (size_t)(e - p);
    if (len == 0 || len >= n) {
        freeReplyObject(r);
        return live_fail(l, "redis: bad master_replid");
    }
    memcpy(out, p, len);
    out[len] = '\0';
    freeReplyObject(r);
    return 0;
}

/* couponq:{c<ID>}:meta -> ID, or -1 when the key is not one of ours. */
static int64_t meta_key_id(const char *k)
{
    char tail[8];
    long long id;
    int used = 0;

    if (sscanf(k, "couponq:{c%lld}%7s%n", &id, tail, &used) != 2 ||
        strcmp(tail, ":meta") != 0 || k[used] != '\0' || id <= 0)
        return -1;
    return (int64_t)id;
}

static int fenced_push(live_t *l, int64_t **ids, size_t *n, size_t *cap,
                       int64_t id)
{
    if (*n == *cap) {
        size_t ncap = *cap != 0 ? *cap * 2 : 16;
        int64_t *grown = realloc(*ids, ncap * sizeof(*grown));

        if (grown == NULL)
            return live_fail(l, "out of memory");
        *ids = grown;
        *cap = ncap;
    }
    (*ids)[(*n)++] = id;
    return 0;
}

/* One HGET per meta key found by SCAN: fine for the handful of live sales
 * a Redis holds; the guard runs this only when the replication id changed
 * or every few seconds. */
static int fenced_check(live_t *l, const char *key, const char *replid,
                        int64_t **ids, size_t *n, size_t *cap)
{
    int64_t id = meta_key_id(key);
    redisReply *f;
    int differs;

    if (id < 0)
        return 0;
    if ((f = live_cmdf(l, "HGET %s fence", key)) == NULL)
        return -1;
    differs = f->type != REDIS_REPLY_STRING || strcmp(f->str, replid) != 0;
    freeReplyObject(f);
    return differs ? fenced_push(l, ids, n, cap, id) : 0;
}

int live_fenced(live_t *l, const char *replid, int64_t **ids, size_t *n)
{
    char cursor[32] = "0";
    size_t cap = 0, i;
    redisReply *r;
    int rc = -1;

    *ids = NULL;
    *n = 0;
    do {
        r = live_cmdf(l, "SCAN %s MATCH couponq:{c*}:meta COUNT 1000", cursor);
        if (r == NULL)
            goto out;
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
            r->element[0]->type != REDIS_REPLY_STRING ||
            r->element[1]->type != REDIS_REPLY_ARRAY) {
            live_fail(l, "redis: unexpected SCAN reply");
            goto out;
        }
        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
        for (i = 0; i < r->element[1]->elements; i++)
            if (r->element[1]->element[i]->type == REDIS_REPLY_STRING &&
                fenced_check(l, r->element[1]->element[i]->str, replid, ids, n,
                             &cap) != 0)
                goto out;
        freeReplyObject(r);
        r = NULL;
    } while (strcmp(cursor, "0") != 0);
    rc = 0;
out:
    if (r != NULL)
        freeReplyObject(r);
    if (rc != 0) {
        free(*ids);
        *ids = NULL;
        *n = 0;
    }
    return rc;
}

/* The lift is conditional on the replication id the set was verified
 * under: a second failover during the repair leaves the coupon fenced. */
static const char lift_lua[] =
    "local r = string.match(redis.call('INFO', 'replication'), "
    "'master_replid:(%x+)') "
    "if r ~= ARGV[1] or redis.call('EXISTS', KEYS[1]) == 0 then return 0 end "
    "redis.call('HSET', KEYS[1], 'fence', r) return 1";

int live_fence_lift(live_t *l, int64_t id, const char *replid, int *lifted)
{
    char key[KEYS_MAX];
    redisReply *r;

    keys_meta(key, sizeof(key), id);
    if ((r = live_cmdf(l, "EVAL %s 1 %s %s", lift_lua, key, replid)) == NULL)
        return -1;
    *lifted = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    freeReplyObject(r);
    return 0;
}

/* KEYS: meta, use, issued, use:holds. The hold is the earliest whose
 * expiry is after now (use.lua counts exactly those). */
static const char window_lua[] =
    "local t = redis.call('TIME') "
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) "
    "local m = redis.call('HMGET', KEYS[1], 'start_ms', 'end_ms', 'state') "
    "local h = redis.call('ZRANGEBYSCORE', KEYS[4], "
    "'(' .. string.format('%d', now), '+inf', 'WITHSCORES', 'LIMIT', 0, 1) "
    "return {string.format('%d', now), m[1], m[2], m[3], "
    "redis.call('HGET', KEYS[2], 'until_ms'), redis.call('SCARD', KEYS[3]), "
    "h[2] and string.format('%d', tonumber(h[2])) or false}";

/* Element i of a window reply as an integer; -1 when nil or not one. */
static int window_int(const redisReply *r, size_t i, int64_t *out)
{
    const redisReply *e = r->element[i];

    if (e->type == REDIS_REPLY_INTEGER) {
        *out = e->integer;
        return 0;
    }
    if (e->type != REDIS_REPLY_STRING)
        return -1;
    return parse_i64(e->str, out);
}

int live_window(live_t *l, int64_t id, fence_window_t *w)
{
    char k[4][KEYS_MAX];
    const redisReply *st;
    redisReply *r;

    memset(w, 0, sizeof(*w));
    w->id = id;
    w->hold_ms = -1;
    keys_meta(k[0], KEYS_MAX, id);
    keys_use(k[1], KEYS_MAX, id);
    keys_issued(k[2], KEYS_MAX, id);
    keys_use_holds(k[3], KEYS_MAX, id);
    r = live_cmdf(l, "EVAL %s 4 %s %s %s %s", window_lua, k[0], k[1], k[2],
                  k[3]);
    if (r == NULL)
        return -1;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 7 ||
        window_int(r, 0, &w->now_ms) != 0 ||
        window_int(r, 5, &w->admitted) != 0) {
        freeReplyObject(r);
        return live_fail(l, "redis: unexpected window reply");
    }
    st = r->element[3];
    w->meta = window_int(r, 1, &w->start_ms) == 0 &&
              window_int(r, 2, &w->end_ms) == 0 &&
              st->type == REDIS_REPLY_STRING;
    w->open = w->meta && strcmp(st->str, "open") == 0;
    w->use = window_int(r, 4, &w->until_ms) == 0;
    if (window_int(r, 6, &w->hold_ms) != 0)
        w->hold_ms = -1;
    freeReplyObject(r);
    return 0;
}
