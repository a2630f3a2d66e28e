/* live_use.c -- the redemption keys of a coupon for the tools. See
 * live_use.h. Every script here names all its keys in KEYS (one coupon's
 * hash tag: one slot), and writes numbers with string.format('%d'), as
 * use.lua does (tostring would print 14 significant digits only). */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embedded.h"
#include "keys.h"
#include "live_internal.h"
#include "live_use.h"
#include "userec.h"

#define USE_BATCH 200 /* records per restore call */

static int int_reply(live_t *l, const redisReply *r, int64_t *out)
{
    if (r->type == REDIS_REPLY_INTEGER) {
        *out = r->integer;
        return 0;
    }
    return live_fail(l, "redis: unexpected reply type %d", r->type);
}

void live_use_from_coupon(const coupon_t *c, live_use_t *u)
{
    memset(u, 0, sizeof(*u));
    u->limit = c->use.limit;
    u->ttl_ms = c->use.hold_ttl_ms;
    u->until_ms = c->use.until_ms;
    u->discount = c->discount;
    u->min_amount = c->min_amount;
    u->vendor = c->use.vendor_id;
    u->share_bps = c->use.share_bps;
    u->reuse = c->use.reuse;
}

static const char use_set_lua[] =
    "if ARGV[1] == '1' and redis.call('EXISTS', KEYS[1]) == 1 then "
    "return 0 end "
    "redis.call('HSET', KEYS[1], 'limit', ARGV[2], 'ttl_ms', ARGV[3], "
    "'until_ms', ARGV[4], 'discount', ARGV[5], 'min_amount', ARGV[6], "
    "'vendor', ARGV[7], 'share_bps', ARGV[8], 'reuse', ARGV[9], "
    "'confirmed', ARGV[10]) return 1";

int live_use_set(live_t *l, int64_t id, const live_use_t *u, int only_new,
                 int *written)
{
    char key[KEYS_MAX];
    redisReply *r;
    int64_t w = 0;
    int rc;

    keys_use(key, sizeof(key), id);
    r = live_cmdf(
        l, "EVAL %s 1 %s %d %lld %lld %lld %lld %lld %lld %lld %d %lld",
        use_set_lua, key, only_new ? 1 : 0, (long long)u->limit,
        (long long)u->ttl_ms, (long long)u->until_ms, (long long)u->discount,
        (long long)u->min_amount, (long long)u->vendor, (long long)u->share_bps,
        u->reuse ? 1 : 0, (long long)u->confirmed);
    if (r == NULL)
        return -1;
    rc = int_reply(l, r, &w);
    freeReplyObject(r);
    if (written != NULL)
        *written = w == 1;
    return rc;
}

static const char budget_lua[] =
    "local t = redis.call('TIME') "
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) "
    "local u = redis.call('HMGET', KEYS[1], 'limit', 'confirmed') "
    "if u[1] == false then return {0, 0, 0, 0} end "
    "return {1, tonumber(u[1]), tonumber(u[2] or '0'), "
    "redis.call('ZCOUNT', KEYS[2], '(' .. string.format('%d', now), '+inf')}";

int live_use_budget(live_t *l, int64_t id, int64_t *limit, int64_t *confirmed,
                    int64_t *live_holds, int *found)
{
    char use[KEYS_MAX], holds[KEYS_MAX];
    int64_t v[4];
    redisReply *r;
    size_t i;
    int rc = -1;

    keys_use(use, sizeof(use), id);
    keys_use_holds(holds, sizeof(holds), id);
    r = live_cmdf(l, "EVAL %s 2 %s %s", budget_lua, use, holds);
    if (r == NULL)
        return -1;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 4) {
        live_fail(l, "redis: unexpected budget reply");
        goto out;
    }
    for (i = 0; i < 4; i++)
        if (int_reply(l, r->element[i], &v[i]) != 0)
            goto out;
    *found = v[0] == 1;
    *limit = v[1];
    *confirmed = v[2];
    *live_holds = v[3];
    rc = 0;
out:
    freeReplyObject(r);
    return rc;
}

/* One HSCAN page; *cursor advances ("0" = done). */
static int records_page(live_t *l, const char *key, char *cursor,
                        size_t ncursor, live_rec_fn fn, void *arg)
{
    redisReply *r, *page;
    size_t i;
    int rc = -1;

    r = live_cmdf(l, "HSCAN %s %s COUNT 1000", key, cursor);
    if (r == NULL)
        return -1;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING ||
        r->element[1]->type != REDIS_REPLY_ARRAY ||
        r->element[1]->elements % 2 != 0) {
        live_fail(l, "redis: unexpected HSCAN reply");
        goto out;
    }
    snprintf(cursor, ncursor, "%s", r->element[0]->str);
    page = r->element[1];
    for (i = 0; i < page->elements; i += 2)
        if (fn(arg, page->element[i]->str, page->element[i + 1]->str,
               page->element[i + 1]->len) != 0)
            goto out;
    rc = 0;
out:
    freeReplyObject(r);
    return rc;
}

int live_use_records(live_t *l, int64_t id, live_rec_fn fn, void *arg)
{
    char key[KEYS_MAX], cursor[32] = "0";

    keys_use_recs(key, sizeof(key), id);
    do {
        if (records_page(l, key, cursor, sizeof(cursor), fn, arg) != 0)
            return -1;
    } while (strcmp(cursor, "0") != 0);
    return 0;
}

/* KEYS: use, use:holds, use:recs, use:orders, use:users. ARGV: rid, json
 * pairs. A record is written only over an older version; a record that
 * takes a use (confirmed, partially_reversed, or reversed without the use
 * given back, `f` ~= 1) moves `confirmed` when the use hash exists. */
static const char restore_lua[] =
    "local t = redis.call('TIME') "
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) "
    "local counted = redis.call('EXISTS', KEYS[1]) == 1 "
    "local function takes(r) return r.s == 'confirmed' or "
    "r.s == 'partially_reversed' or (r.s == 'reversed' and r.f ~= 1) end "
    "local written, delta = 0, 0 "
    "for i = 1, #ARGV, 2 do "
    "  local rid, json = ARGV[i], ARGV[i + 1] "
    "  local r = cjson.decode(json) "
    "  local cur = redis.call('HGET', KEYS[3], rid) "
    "  local old = cur and cjson.decode(cur) or nil "
    "  if old == nil or old.v < r.v then "
    "    redis.call('HSET', KEYS[3], rid, json) "
    "    redis.call('HSET', KEYS[4], r.o, rid) "
    "    if r.s == 'held' and r.x > now then "
    "      redis.call('ZADD', KEYS[2], string.format('%d', r.x), rid) "
    "    else redis.call('ZREM', KEYS[2], rid) end "
    "    local u = redis.call('HGET', KEYS[5], r.u) "
    "    local latest = true "
    "    if u and u ~= rid then "
    "      local ur = redis.call('HGET', KEYS[3], u) "
    "      if ur then local o = cjson.decode(ur) "
    "        if o.h > r.h or (o.h == r.h and u > rid) then latest = false end "
    "      end "
    "    end "
    "    if latest then redis.call('HSET', KEYS[5], r.u, rid) end "
    "    if takes(r) then delta = delta + 1 end "
    "    if old ~= nil and takes(old) then delta = delta - 1 end "
    "    written = written + 1 "
    "  end "
    "end "
    "if counted and delta ~= 0 then "
    "  redis.call('HINCRBY', KEYS[1], 'confirmed', delta) end "
    "return {written, counted and 1 or 0}";

static int restore_batch(live_t *l, char keys[5][KEYS_MAX],
                         const live_rec_t *recs, size_t n, int64_t *written,
                         int *counted)
{
    const char *argv[3 + 5 + 2 * USE_BATCH];
    size_t lens[3 + 5 + 2 * USE_BATCH], i, argc = 0;
    int64_t v[2] = { 0, 0 }; /* gcc -O2 cannot see int_reply set them */
    redisReply *r;
    int rc = -1;

    argv[argc++] = "EVAL";
    argv[argc++] = restore_lua;
    argv[argc++] = "5";
    for (i = 0; i < 5; i++)
        argv[argc++] = keys[i];
    for (i = 0; i < n; i++) {
        argv[argc++] = recs[i].rid;
        argv[argc++] = recs[i].json;
    }
    for (i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    if ((r = live_cmd(l, (int)argc, argv, lens)) == NULL)
        return -1;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        int_reply(l, r->element[0], &v[0]) != 0 ||
        int_reply(l, r->element[1], &v[1]) != 0) {
        live_fail(l, "redis: unexpected restore reply");
        goto out;
    }
    *written += v[0];
    *counted = v[1] == 1;
    rc = 0;
out:
    freeReplyObject(r);
    return rc;
}

int live_use_restore(live_t *l, int64_t id, const live_rec_t *recs, size_t n,
                     int64_t *written, int *counted)
{
    char keys[5][KEYS_MAX];
    size_t off, k;

    keys_use(keys[0], KEYS_MAX, id);
    keys_use_holds(keys[1], KEYS_MAX, id);
    keys_use_recs(keys[2], KEYS_MAX, id);
    keys_use_orders(keys[3], KEYS_MAX, id);
    keys_use_users(keys[4], KEYS_MAX, id);
    *written = 0;
    *counted = 0;
    if (n == 0) { /* still say whether the hash exists */
        redisReply *r = live_cmdf(l, "EXISTS %s", keys[0]);

        if (r == NULL)
            return -1;
        *counted = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
        freeReplyObject(r);
        return 0;
    }
    for (off = 0; off < n; off += k) {
        k = n - off < USE_BATCH ? n - off : USE_BATCH;
        if (restore_batch(l, keys, recs + off, k, written, counted) != 0)
            return -1;
    }
    return 0;
}

/* KEYS: use:revs. ARGV: field, value pairs. */
static const char revs_lua[] =
    "local w = 0 "
    "for i = 1, #ARGV, 2 do "
    "  w = w + redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) "
    "end "
    "return w";

/* EVAL script 1 key a[0] b[0] ... a[n-1] b[n-1], n <= USE_BATCH: the
 * reply (NULL with l's error). The restore's batched scripts take pairs. */
static redisReply *eval_pairs(live_t *l, const char *script, const char *key,
                              const char *const *a, const char *const *b,
                              size_t n)
{
    const char *argv[4 + 2 * USE_BATCH];
    size_t lens[4 + 2 * USE_BATCH], i, argc = 0;

    argv[argc++] = "EVAL";
    argv[argc++] = script;
    argv[argc++] = "1";
    argv[argc++] = key;
    for (i = 0; i < n; i++) {
        argv[argc++] = a[i];
        argv[argc++] = b[i];
    }
    for (i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    return live_cmd(l, (int)argc, argv, lens);
}

int live_use_restore_revs(live_t *l, int64_t id, const char *const *fields,
                          const char *const *values, size_t n, int64_t *written)
{
    size_t off, k;
    char key[KEYS_MAX];
    redisReply *r;
    int64_t w = 0; /* gcc -O2 cannot see int_reply set it */
    int rc;

    keys_use_revs(key, sizeof(key), id);
    *written = 0;
    for (off = 0; off < n; off += k) {
        k = n - off < USE_BATCH ? n - off : USE_BATCH;
        r = eval_pairs(l, revs_lua, key, fields + off, values + off, k);
        if (r == NULL)
            return -1;
        rc = int_reply(l, r, &w);
        freeReplyObject(r);
        if (rc != 0)
            return -1;
        *written += w;
    }
    return 0;
}

/* KEYS: use:recs. ARGV: rid, version pairs. Per pair 0 (a later record,
 * or this version with nothing due), 1 (none, or an older one), 2 (this
 * version, its finish pending). A record cjson cannot read stops the
 * script, as restore_lua would. */
static const char probe_lua[] =
    "local out = {} "
    "for i = 1, #ARGV, 2 do "
    "  local cur = redis.call('HGET', KEYS[1], ARGV[i]) "
    "  local s = 1 "
    "  if cur then "
    "    local r, v = cjson.decode(cur), tonumber(ARGV[i + 1]) "
    "    if r.v > v then s = 0 "
    "    elseif r.v == v then s = r.p == 1 and 2 or 0 end "
    "  end "
    "  out[#out + 1] = s "
    "end "
    "return out";

static int probe_batch(live_t *l, const char *key, const live_ver_t *v,
                       size_t n, live_rec_status_t *out)
{
    const char *rid[USE_BATCH], *vp[USE_BATCH];
    char ver[USE_BATCH][24];
    redisReply *r;
    size_t i;
    int rc = -1;

    for (i = 0; i < n; i++) {
        snprintf(ver[i], sizeof(ver[i]), "%lld", (long long)v[i].version);
        rid[i] = v[i].rid;
        vp[i] = ver[i];
    }
    if ((r = eval_pairs(l, probe_lua, key, rid, vp, n)) == NULL)
        return -1;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != n) {
        live_fail(l, "redis: unexpected probe reply");
        goto out;
    }
    for (i = 0; i < n; i++) {
        const redisReply *e = r->element[i];

        if (e->type != REDIS_REPLY_INTEGER || e->integer < 0 ||
            e->integer > LIVE_REC_PENDING) {
            live_fail(l, "redis: unexpected probe reply");
            goto out;
        }
        out[i] = (live_rec_status_t)e->integer;
    }
    rc = 0;
out:
    freeReplyObject(r);
    return rc;
}

int live_use_probe(live_t *l, int64_t id, const live_ver_t *v, size_t n,
                   live_rec_status_t *out)
{
    char key[KEYS_MAX];
    size_t off, k;

    keys_use_recs(key, sizeof(key), id);
    for (off = 0; off < n; off += k) {
        k = n - off < USE_BATCH ? n - off : USE_BATCH;
        if (probe_batch(l, key, v + off, k, out + off) != 0)
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ use.lua */

/* EVAL use.lua with its 8 keys and args; the reply, or NULL (live_error
 * has the reason; a refusal of the script is "... ERR couponq use: ..."). */
static redisReply *use_eval(live_t *l, int64_t id, const char **args,
                            size_t nargs)
{
    char keys[8][KEYS_MAX];
    const char *argv[3 + 8 + 8];
    size_t lens[3 + 8 + 8], i, argc = 0;

    assert(nargs <= 8);
    keys_meta(keys[0], KEYS_MAX, id);
    keys_use(keys[1], KEYS_MAX, id);
    keys_use_holds(keys[2], KEYS_MAX, id);
    keys_use_recs(keys[3], KEYS_MAX, id);
    keys_use_orders(keys[4], KEYS_MAX, id);
    keys_use_users(keys[5], KEYS_MAX, id);
    keys_issued(keys[6], KEYS_MAX, id);
    keys_use_revs(keys[7], KEYS_MAX, id);
    argv[argc++] = "EVAL";
    argv[argc++] = embedded_use_lua;
    argv[argc++] = "8";
    for (i = 0; i < 8; i++)
        argv[argc++] = keys[i];
    for (i = 0; i < nargs; i++)
        argv[argc++] = args[i];
    for (i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    return live_cmd(l, (int)argc, argv, lens);
}

/* not_found and fenced, the answers every op may give: 1 and *res. */
static int common_code(const char *code, live_use_res_t *res)
{
    if (code != NULL && strcmp(code, "not_found") == 0)
        *res = LIVE_USE_NOT_FOUND;
    else if (code != NULL && strcmp(code, "fenced") == 0)
        *res = LIVE_USE_FENCED;
    else
        return 0;
    return 1;
}

/* The script's refusal word after "ERR couponq use: ", or NULL when the
 * last error was something else (a connection error, a bug). */
static const char *use_refusal(const live_t *l)
{
    const char *p = strstr(live_error(l), "ERR couponq use: ");

    return p != NULL ? p + strlen("ERR couponq use: ") : NULL;
}

int live_use_adjust(live_t *l, int64_t id, int64_t limit, int64_t expected,
                    live_use_res_t *res, int64_t *n)
{
    const char *args[3], *why;
    char text[24], want[24];
    redisReply *r;
    long long v;
    int rc;

    snprintf(text, sizeof(text), "%lld", (long long)limit);
    snprintf(want, sizeof(want), "%lld", (long long)expected);
    args[0] = "adjust";
    args[1] = text;
    args[2] = want;
    *n = 0;
    *res = LIVE_USE_OK;
    if ((r = use_eval(l, id, args, 3)) == NULL) {
        why = use_refusal(l);
        if (why != NULL && sscanf(why, "below_in_use %lld", &v) == 1)
            *res = LIVE_USE_BELOW;
        else if (why != NULL && sscanf(why, "limit_changed %lld", &v) == 1)
            *res = LIVE_USE_CHANGED;
        else
            return common_code(why, res) ? 0 : -1;
        *n = v;
        return 0;
    }
    rc = int_reply(l, r, n);
    freeReplyObject(r);
    return rc;
}

/* get's answer {code, new, finish, rid, state, refund_this, rec, prev}: the
 * view state, and the version and latest event of the record it carries. */
static int get_answer(live_t *l, int64_t id, const redisReply *r,
                      live_use_res_t *res, live_use_get_t *g)
{
    userec_fields_t rec;
    size_t i;

    if (r->type != REDIS_REPLY_ARRAY || r->elements != 8)
        return live_fail(l, "redis: unexpected use.lua answer");
    for (i = 0; i < 8; i++)
        if (r->element[i]->type != REDIS_REPLY_STRING &&
            r->element[i]->type != REDIS_REPLY_INTEGER)
            return live_fail(l, "redis: unexpected use.lua answer");
    if (r->element[0]->type != REDIS_REPLY_STRING)
        return live_fail(l, "redis: unexpected use.lua answer");
    if (common_code(r->element[0]->str, res))
        return 0;
    if (strcmp(r->element[0]->str, "found") != 0 ||
        r->element[3]->type != REDIS_REPLY_STRING ||
        r->element[4]->type != REDIS_REPLY_STRING ||
        r->element[6]->type != REDIS_REPLY_STRING ||
        r->element[4]->len >= sizeof(g->state) ||
        userec_decode(r->element[6]->str, r->element[6]->len, &rec) != 0 ||
        userec_event(&rec, r->element[3]->str, id, g->event, sizeof(g->event)) <
            0)
        return live_fail(l, "redis: use.lua get answered \"%s\"",
                         r->element[0]->str);
    memcpy(g->state, r->element[4]->str, r->element[4]->len + 1);
    g->version = rec.version;
    g->finish = r->element[2]->integer == 1;
    *res = LIVE_USE_OK;
    return 0;
}

int live_use_get(live_t *l, int64_t id, const char *rid, live_use_res_t *res,
                 live_use_get_t *g)
{
    const char *args[3] = { "get", rid, "0" };
    redisReply *r;
    int rc;

    memset(g, 0, sizeof(*g));
    if ((r = use_eval(l, id, args, 3)) == NULL)
        return -1;
    rc = get_answer(l, id, r, res, g);
    freeReplyObject(r);
    return rc;
}

int live_use_finish(live_t *l, int64_t id, const char *rid, int64_t version,
                    int *done)
{
    const char *args[3];
    char v[24];
    redisReply *r;
    int64_t one = 0;
    int rc;

    snprintf(v, sizeof(v), "%lld", (long long)version);
    args[0] = "finish";
    args[1] = rid;
    args[2] = v;
    if ((r = use_eval(l, id, args, 3)) == NULL)
        return -1;
    rc = int_reply(l, r, &one);
    freeReplyObject(r);
    *done = one == 1;
    return rc;
}
