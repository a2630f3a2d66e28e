/* gate.c -- abuse limits and authentication in front of Redis. See gate.h.
 *
 * Connections per IP are counted exactly in an open-addressing table of
 * twice the connection cap (so it never fills: every entry is an open
 * connection), deleted by backward shift. The request limits are GCRA
 * tables (ratelimit.h). The failed-authentication budget is peeked before
 * a token is verified, so an IP over it costs one table lookup, no crypto. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gate.h"
#include "log.h"
#include "peer.h"
#include "ratelimit.h"

enum {
    R_UNAUTHORIZED,
    R_FORBIDDEN,
    R_BAD_REQUEST,
    R_IP,
    R_AUTH_FAIL,
    R_USER,
    R_CONNS,
    R_COUNT
};

static const char *const reason_names[R_COUNT] = {
    "unauthorized",    "forbidden",         "service_without_user",
    "rate_limited_ip", "rate_limited_auth", "rate_limited_user",
    "conns_per_ip",
};

typedef struct cslot {
    uint64_t key;
    uint32_t n; /* 0 = empty */
} cslot_t;

struct gate {
    gate_opts_t o;
    auth_t *auth;
    ratelimit_t *ip, *fail, *user;
    cslot_t *conns;
    uint32_t cmask;
    metric_t *refused[R_COUNT];
    uint64_t log_ms[R_COUNT], unlogged[R_COUNT];
};

static uint64_t mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* A rate 0 turns that limit off (no table). */
static int table(ratelimit_t **r, uint32_t entries, double rate, double burst)
{
    if (rate <= 0)
        return 0;
    *r = ratelimit_new(entries, rate, burst < 1 ? 1 : burst);
    return *r == NULL ? -1 : 0;
}

gate_t *gate_new(const gate_opts_t *o, auth_t *auth, metrics_t *m, char *errstr,
                 size_t n)
{
    gate_t *g = calloc(1, sizeof(*g));
    char labels[64];
    uint32_t size = 2;
    int i;

    if (g == NULL)
        goto oom;
    g->o = *o;
    g->auth = auth;
    while (size < o->max_conns * 2)
        size *= 2;
    g->cmask = size - 1;
    if ((g->conns = calloc(size, sizeof(cslot_t))) == NULL ||
        table(&g->ip, o->table_entries, o->ip_rate, o->ip_burst) != 0 ||
        table(&g->fail, o->table_entries, o->fail_rate, o->fail_burst) != 0 ||
        table(&g->user, o->table_entries, o->user_rate, o->user_burst) != 0)
        goto oom;
    for (i = 0; i < R_COUNT; i++) {
        snprintf(labels, sizeof(labels), "reason=\"%s\"", reason_names[i]);
        if ((g->refused[i] = metrics_counter(
                 m, "couponq_api_refusals_total",
                 "Requests or connections refused before Redis, by reason",
                 labels)) == NULL)
            goto oom;
    }
    return g;
oom:
    snprintf(errstr, n, "out of memory");
    if (g != NULL)
        g->auth = NULL; /* the caller still owns it */
    gate_free(g);
    return NULL;
}

void gate_free(gate_t *g)
{
    if (g == NULL)
        return;
    ratelimit_free(g->user);
    ratelimit_free(g->fail);
    ratelimit_free(g->ip);
    free(g->conns);
    auth_free(g->auth);
    free(g);
}

auth_t *gate_auth(gate_t *g)
{
    return g->auth;
}

/* ---- audit ---- */

/* Counted always; logged at most once a second per reason. */
static void audit(gate_t *g, int reason, const http_request_t *req,
                  int64_t coupon_id, int64_t user, const auth_result_t *ar,
                  const char *why)
{
    uint64_t now_ms = mono_us() / 1000;
    char ip[64];

    metric_inc(g->refused[reason]);
    if (now_ms - g->log_ms[reason] < 1000 && g->log_ms[reason] != 0) {
        g->unlogged[reason]++;
        return;
    }
    g->log_ms[reason] = now_ms;
    peer_format(req != NULL ? req->peer : NULL, ip, sizeof(ip));
    LOG(LL_WARN,
        "msg=\"refused\" reason=%s why=\"%s\" coupon_id=%" PRId64
        " user_id=%" PRId64 " ip=%s kid=\"%s\" token=%s unlogged=%" PRIu64,
        reason_names[reason], why, coupon_id, user, ip,
        ar != NULL ? ar->kid : "", ar != NULL && ar->hash[0] ? ar->hash : "-",
        g->unlogged[reason]);
    g->unlogged[reason] = 0;
}

static int limited(gate_refusal_t *ref, const char *which, uint32_t retry)
{
    ref->status = 429;
    snprintf(ref->extra, sizeof(ref->extra), "Retry-After: %u\r\n", retry);
    snprintf(ref->msg, sizeof(ref->msg), "rate_limited: %s", which);
    return -1;
}

/* ---- connections per IP ---- */

int gate_admit_peer(void *ud, const struct sockaddr_storage *peer)
{
    gate_t *g = ud;
    uint64_t key = peer_key(peer);
    uint32_t i = (uint32_t)(key * 0x9e3779b97f4a7c15ULL >> 32) & g->cmask;

    if (g->o.conns_per_ip == 0)
        return 0;
    while (g->conns[i].n != 0 && g->conns[i].key != key)
        i = (i + 1) & g->cmask;
    if (g->conns[i].n >= g->o.conns_per_ip) {
        audit(g, R_CONNS, NULL, 0, 0, NULL, "connections per IP");
        return -1;
    }
    g->conns[i].key = key;
    g->conns[i].n++;
    return 0;
}

/* Backward-shift deletion keeps every probe chain unbroken. */
static void conn_delete(gate_t *g, uint32_t i)
{
    uint32_t j = i, home;

    for (;;) {
        g->conns[i].n = 0;
        for (;;) {
            j = (j + 1) & g->cmask;
            if (g->conns[j].n == 0)
                return;
            home = (uint32_t)(g->conns[j].key * 0x9e3779b97f4a7c15ULL >> 32) &
                   g->cmask;
            /* may the entry at j move to i? (home not in (i, j]) */
            if (i <= j ? (home <= i || home > j) : (home <= i && home > j))
                break;
        }
        g->conns[i] = g->conns[j];
        i = j;
    }
}

void gate_peer_gone(void *ud, const struct sockaddr_storage *peer)
{
    gate_t *g = ud;
    uint64_t key = peer_key(peer);
    uint32_t i = (uint32_t)(key * 0x9e3779b97f4a7c15ULL >> 32) & g->cmask;

    if (g->o.conns_per_ip == 0)
        return;
    while (g->conns[i].n != 0 && g->conns[i].key != key)
        i = (i + 1) & g->cmask;
    if (g->conns[i].n == 0)
        return;
    if (--g->conns[i].n == 0)
        conn_delete(g, i);
}

/* ---- requests ---- */

static int unauthorized(gate_refusal_t *ref, const auth_result_t *ar)
{
    ref->status = 401;
    snprintf(ref->extra, sizeof(ref->extra),
             "WWW-Authenticate: Bearer realm=\"couponq\"%s\r\n",
             ar->token_sent ? ", error=\"invalid_token\"" : "");
    snprintf(ref->msg, sizeof(ref->msg), "unauthorized: %s", ar->why);
    return -1;
}

int gate_ip(gate_t *g, const http_request_t *req, int64_t coupon_id,
            gate_refusal_t *ref)
{
    uint32_t retry;

    if (g->ip != NULL && req->peer != NULL &&
        ratelimit_hit(g->ip, peer_key(req->peer), mono_us(), &retry) != 0) {
        audit(g, R_IP, req, coupon_id, 0, NULL, "requests per IP");
        return limited(ref, "ip", retry);
    }
    return 0;
}

int gate_request(gate_t *g, const http_request_t *req, int64_t coupon_id,
                 gate_who_t *who, gate_refusal_t *ref)
{
    uint64_t now, key = req->peer ? peer_key(req->peer) : 0;
    auth_result_t ar;
    uint32_t retry;

    memset(who, 0, sizeof(*who));
    if (gate_ip(g, req, coupon_id, ref) != 0)
        return -1;
    if (auth_mode(g->auth) == AUTH_OFF)
        return 0;
    now = mono_us();
    if (g->fail != NULL && req->peer != NULL &&
        ratelimit_peek(g->fail, key, now, &retry) != 0) {
        audit(g, R_AUTH_FAIL, req, coupon_id, 0, NULL,
              "failed authentications per IP");
        return limited(ref, "auth_failures", retry);
    }
    if (auth_check(g->auth, req, (int64_t)time(NULL), &ar) != 0) {
        if (g->fail != NULL && req->peer != NULL)
            (void)ratelimit_hit(g->fail, key, now, &retry);
        audit(g, R_UNAUTHORIZED, req, coupon_id, 0, &ar, ar.why);
        return unauthorized(ref, &ar);
    }
    who->authed = 1;
    who->service = ar.service;
    who->user_id = ar.user_id;
    memcpy(who->sub, ar.sub, sizeof(who->sub));
    memcpy(who->kid, ar.kid, sizeof(who->kid));
    memcpy(who->hash, ar.hash, sizeof(who->hash));
    return 0;
}

static void audit_who(gate_t *g, int reason, const http_request_t *req,
                      int64_t coupon_id, int64_t user, const gate_who_t *who,
                      const char *why)
{
    auth_result_t ar;

    memset(&ar, 0, sizeof(ar));
    memcpy(ar.kid, who->kid, sizeof(ar.kid));
    memcpy(ar.hash, who->hash, sizeof(ar.hash));
    audit(g, reason, req, coupon_id, user, &ar, why);
}

int gate_user(gate_t *g, const http_request_t *req, const gate_who_t *who,
              int64_t coupon_id, int64_t named, int64_t *user,
              gate_refusal_t *ref)
{
    uint32_t retry;

    if (!who->authed || who->service) {
        if (named == 0) {
            audit_who(g, R_BAD_REQUEST, req, coupon_id, 0, who,
                      "service token without user_id");
            ref->status = 400;
            ref->extra[0] = '\0';
            snprintf(ref->msg, sizeof(ref->msg),
                     "user_id: missing; a service token acts for the "
                     "user_id it names");
            return -1;
        }
        *user = named;
    } else if (named != 0 && named != who->user_id) {
        audit_who(g, R_FORBIDDEN, req, coupon_id, named, who, "user_mismatch");
        ref->status = 403;
        ref->extra[0] = '\0';
        snprintf(ref->msg, sizeof(ref->msg), "forbidden: user_mismatch");
        return -1;
    } else {
        *user = who->user_id;
    }
    if (g->user != NULL &&
        ratelimit_hit(g->user, (uint64_t)*user, mono_us(), &retry) != 0) {
        audit_who(g, R_USER, req, coupon_id, *user, who, "requests per user");
        return limited(ref, "user", retry);
    }
    return 0;
}
