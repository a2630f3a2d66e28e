/* decrby.c -- couponq-decrby: the "common Redis way" of taking a use of a
 * coupon, the second redemption baseline couponq is measured against.
 *
 * What many services do: a use counter in Redis, DECRBY 1 per hold, and
 * when the result went negative INCRBY 1 back (compensation) and refuse;
 * the hold is a key with a TTL; confirm reads it and overwrites it; cancel
 * overwrites it and gives the use back with INCRBY. Each step is a few
 * separate commands, and the answer goes out as soon as Redis replied --
 * nothing is written to Kafka or MySQL. It is built the way couponq-api is
 * (one libuv loop, one async hiredis connection through api/redis_conn,
 * keep-alive HTTP/1.1 with llhttp), so the comparison with couponq is the
 * cost of what couponq does more, not of a thread model. What it does not
 * do, on purpose (these are the common way's known gaps, see BENCHMARKS.md):
 * a hold that expires never gives its use back (nothing runs INCRBY for
 * it: a cleanup job would), a confirm racing a cancel can both succeed
 * (GET then SET is not atomic), no idempotency by order id, no event.
 *
 * Keys (its own, beside couponq's, with couponq's hash tag):
 * bench:decrby:{c<ID>}:stock (the counter, set by the benchmark) and
 * bench:decrby:{c<ID>}:h:<rid> = "held|coupon|user|order|amount" (PX
 * --hold-ttl-ms), then "confirmed|..." or "released|...". The rid is a
 * ULID + "c" + the coupon id, so a confirm finds the coupon's keys (the
 * way couponq's rids carry their coupon).
 * Ownership is SISMEMBER of couponq's own issued set, as couponq checks it.
 * A benchmark baseline, not a product: loopback only, no /metrics. */
#include <arpa/inet.h>
#include <assert.h>
#include <hiredis/hiredis.h>
#include <llhttp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "config.h"
#include "log.h"
#include "redeem.h"
#include "redis_conn.h"
#include "ulid.h"

#define URL_MAX  256
#define BODY_MAX 4096
#define RESP_MAX 640
#define KEY_MAX  96
#define VAL_MAX  (KEY_MAX + REDEEM_ORDER_MAX + 64)

static const cfg_opt_t opts[] = {
    { "listen", "COUPONQ_DECRBY_LISTEN", CFG_STR, 0, 0, "127.0.0.1:8091",
      "HTTP listen address host:port (loopback)" },
    CFG_OPT_REDIS,
    { "hold-ttl-ms", NULL, CFG_INT, 1, 86400000, "600000",
      "a hold key's time to live" },
    CFG_OPT_LOG_LEVEL,
};

typedef struct req req_t;

typedef struct client {
    uv_tcp_t tcp;
    llhttp_t parser;
    char url[URL_MAX];
    size_t ulen;
    char body[BODY_MAX];
    size_t blen;
    int too_big, closed, handle_closed;
    req_t *head, *tail; /* answers go out in request order */
} client_t;

struct req {
    client_t *c;
    req_t *next;
    int done, rlen;
    redeem_route_t route;
    int step;
    int64_t coupon;
    redeem_hold_t h;
    char rid[REDEEM_RID_MAX + 1];
    char key[KEY_MAX];
    char val[VAL_MAX];
    char resp[RESP_MAX];
};

static uv_loop_t *loop;
static redis_conn_t *redis;
static llhttp_settings_t settings;
static long long hold_ttl_ms;

/* ---------------------------------------------------------- answering */

/* Freed once its handle is closed and no request of it is in flight. */
static void client_maybe_free(client_t *c)
{
    if (c->handle_closed && c->head == NULL)
        free(c);
}

static void on_closed(uv_handle_t *h)
{
    client_t *c = h->data;

    c->handle_closed = 1;
    client_maybe_free(c);
}

static void client_close(client_t *c)
{
    if (c->closed)
        return;
    c->closed = 1;
    uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void on_write(uv_write_t *w, int status)
{
    (void)status; /* a broken connection shows up as a read error too */
    free(w);
}

static void client_write(client_t *c, const char *buf, size_t len)
{
    uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
    int rc = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    uv_write_t *w;

    if (rc == (int)len)
        return;
    if (rc < 0 && rc != UV_EAGAIN) {
        client_close(c);
        return;
    }
    rc = rc < 0 ? 0 : rc;
    w = malloc(sizeof(*w) + len - (size_t)rc);
    if (w == NULL) {
        client_close(c);
        return;
    }
    memcpy(w + 1, buf + rc, len - (size_t)rc);
    b = uv_buf_init((char *)(w + 1), (unsigned)(len - (size_t)rc));
    if (uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, on_write) != 0) {
        free(w);
        client_close(c);
    }
}

/* Writes every finished answer at the head of the client's queue. */
static void client_flush(client_t *c)
{
    req_t *q;

    while ((q = c->head) != NULL && q->done) {
        c->head = q->next;
        if (c->head == NULL)
            c->tail = NULL;
        if (!c->closed)
            client_write(c, q->resp, (size_t)q->rlen);
        free(q);
    }
    client_maybe_free(c); /* nothing touches c after this */
}

static void req_answer_raw(req_t *q, int status, const char *text,
                           const char *body)
{
    q->rlen = snprintf(q->resp, sizeof(q->resp),
                       "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                       "Content-Length: %zu\r\n\r\n%s",
                       status, text, strlen(body), body);
    assert(q->rlen > 0 && q->rlen < (int)sizeof(q->resp));
    q->done = 1;
    client_flush(q->c);
}

static void req_answer(req_t *q, redeem_code_t code)
{
    char body[RESP_MAX - 128];

    if (redeem_body(body, sizeof(body), code, q->rid, q->coupon,
                    q->route == REDEEM_ROUTE_HOLD && code == RD_HELD
                        ? &q->h
                        : NULL) < 0)
        snprintf(body, sizeof(body), "{\"result\":\"%s\"}", redeem_name(code));
    req_answer_raw(q, redeem_status(code), redeem_status_text(code), body);
}

/* ------------------------------------------------------------- Redis */

static void on_reply(redisAsyncContext *ac, void *reply, void *priv);

/* Sends a command of up to 5 words; 0 ok, else answers 503. */
static int req_cmd(req_t *q, int argc, const char **argv)
{
    size_t len[5];
    int i;

    assert(argc <= 5);
    for (i = 0; i < argc; i++)
        len[i] = strlen(argv[i]);
    if (redis_conn_command(redis, on_reply, q, argc, argv, len) == 0)
        return 0;
    req_answer(q, RD_UNAVAILABLE);
    return -1;
}

static void stock_key(char *buf, size_t n, int64_t coupon)
{
    snprintf(buf, n, "bench:decrby:{c%lld}:stock", (long long)coupon);
}

static void hold_key(req_t *q)
{
    snprintf(q->key, sizeof(q->key), "bench:decrby:{c%lld}:h:%s",
             (long long)q->coupon, q->rid);
}

static void stock_add(req_t *q, const char *delta)
{
    char k[KEY_MAX];
    const char *argv[] = { "INCRBY", k, delta };

    stock_key(k, sizeof(k), q->coupon);
    req_cmd(q, 3, argv);
}

/* Hold: SISMEMBER issued, DECRBY 1 (INCRBY 1 back when negative), SET the
 * hold key with its TTL. */
static void hold_step(req_t *q, const redisReply *r)
{
    char k[KEY_MAX], ttl[24];

    switch (q->step++) {
    case 0: {
        const char *argv[] = { "DECRBY", k, "1" };

        if (r->type != REDIS_REPLY_INTEGER || r->integer == 0) {
            req_answer(q, RD_NOT_OWNED);
            return;
        }
        stock_key(k, sizeof(k), q->coupon);
        req_cmd(q, 3, argv);
        return;
    }
    case 1: {
        const char *argv[] = { "SET", q->key, q->val, "PX", ttl };

        if (r->type != REDIS_REPLY_INTEGER) {
            req_answer(q, RD_UNAVAILABLE);
            return;
        }
        if (r->integer < 0) { /* compensate: the use was never there */
            q->step = 9;
            stock_add(q, "1");
            return;
        }
        ulid_generate(q->rid);
        snprintf(q->rid + ULID_LEN, sizeof(q->rid) - ULID_LEN, "c%lld",
                 (long long)q->coupon);
        hold_key(q);
        snprintf(q->val, sizeof(q->val), "held|%lld|%lld|%s|%lld",
                 (long long)q->coupon, (long long)q->h.user, q->h.order,
                 (long long)q->h.amount);
        snprintf(ttl, sizeof(ttl), "%lld", hold_ttl_ms);
        req_cmd(q, 5, argv);
        return;
    }
    case 2:
        req_answer(q, RD_HELD);
        return;
    default: /* 9: the compensation was applied */
        req_answer(q, RD_SOLD_OUT);
    }
}

/* Confirm: GET, then SET "confirmed|..." without a TTL. Cancel: GET, SET
 * "released|..." (kept as long as the hold would have been), INCRBY 1. */
static void step_step(req_t *q, const redisReply *r)
{
    const char *rest;
    size_t rest_len;
    int cancel = q->route == REDEEM_ROUTE_CANCEL;

    if (q->step++ > 0) {
        if (cancel && q->step == 2) {
            stock_add(q, "1");
            return;
        }
        req_answer(q, cancel ? RD_RELEASED : RD_CONFIRMED);
        return;
    }
    if (r->type != REDIS_REPLY_STRING) {
        req_answer(q, RD_HOLD_EXPIRED); /* gone: expired (or never held) */
        return;
    }
    /* After the state word: "|coupon|user|order|amount". */
    rest = memchr(r->str, '|', r->len);
    rest_len = rest == NULL ? 0 : r->len - (size_t)(rest - r->str);
    if (rest == NULL || rest_len + 16 >= sizeof(q->val)) {
        req_answer(q, RD_UNAVAILABLE);
        return;
    }
    if (strncmp(r->str, "held|", 5) != 0) {
        int confirmed = strncmp(r->str, "confirmed|", 10) == 0;

        if (cancel)
            req_answer(q, confirmed ? RD_ALREADY_CONFIRMED : RD_RELEASED);
        else
            req_answer(q, confirmed ? RD_CONFIRMED : RD_NOT_HELD);
        return;
    }
    snprintf(q->val, sizeof(q->val), "%s%.*s",
             cancel ? "released" : "confirmed", (int)rest_len, rest);
    {
        char ttl[24];
        const char *argv[] = { "SET", q->key, q->val, "PX", ttl };

        snprintf(ttl, sizeof(ttl), "%lld", hold_ttl_ms);
        req_cmd(q, cancel ? 5 : 3, argv);
    }
}

static void on_reply(redisAsyncContext *ac, void *reply, void *priv)
{
    req_t *q = priv;
    const redisReply *r = reply;

    (void)ac;
    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        if (r != NULL)
            LOG(LL_WARN, "msg=\"redis error\" why=\"%s\"", r->str);
        req_answer(q, RD_UNAVAILABLE);
        return;
    }
    if (q->route == REDEEM_ROUTE_HOLD)
        hold_step(q, r);
    else
        step_step(q, r);
}

/* --------------------------------------------------------------- HTTP */

static void req_start(req_t *q)
{
    client_t *c = q->c;
    char err[128], issued[KEY_MAX];

    q->route = llhttp_get_method(&c->parser) == HTTP_POST
                   ? redeem_route(c->url, &q->coupon, q->rid, sizeof(q->rid))
                   : REDEEM_ROUTE_NONE;
    if (q->route == REDEEM_ROUTE_NONE) {
        req_answer_raw(q, 404, "Not Found", "{\"error\":\"no such route\"}");
        return;
    }
    if (c->too_big) {
        req_answer_raw(q, 413, "Payload Too Large",
                       "{\"error\":\"body too large\"}");
        return;
    }
    if (q->route != REDEEM_ROUTE_HOLD) {
        const char *argv[] = { "GET", q->key };
        const char *cpart = strrchr(q->rid, 'c');

        q->coupon = cpart == NULL ? 0 : strtoll(cpart + 1, NULL, 10);
        if (q->coupon <= 0) {
            req_answer(q, RD_NOT_FOUND);
            return;
        }
        hold_key(q);
        req_cmd(q, 2, argv);
        return;
    }
    if (redeem_parse_hold(c->body, c->blen, &q->h, err, sizeof(err)) != 0) {
        char body[200];

        snprintf(body, sizeof(body), "{\"error\":\"%s\"}", err);
        req_answer_raw(q, 400, "Bad Request", body);
        return;
    }
    {
        char user[24];
        const char *argv[] = { "SISMEMBER", issued, user };

        snprintf(issued, sizeof(issued), "couponq:{c%lld}:issued",
                 (long long)q->coupon);
        snprintf(user, sizeof(user), "%lld", (long long)q->h.user);
        req_cmd(q, 3, argv);
    }
}

static int on_begin(llhttp_t *p)
{
    client_t *c = p->data;

    c->ulen = c->blen = 0;
    c->too_big = 0;
    return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len)
{
    client_t *c = p->data;

    if (c->ulen + len >= URL_MAX)
        len = URL_MAX - 1 - c->ulen;
    memcpy(c->url + c->ulen, at, len);
    c->ulen += len;
    c->url[c->ulen] = '\0';
    return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
    client_t *c = p->data;

    if (c->blen + len > BODY_MAX) {
        c->too_big = 1;
        return 0;
    }
    memcpy(c->body + c->blen, at, len);
    c->blen += len;
    return 0;
}

static int on_complete(llhttp_t *p)
{
    client_t *c = p->data;
    req_t *q = calloc(1, sizeof(*q));

    if (q == NULL)
        return -1;
    q->c = c;
    if (c->tail != NULL)
        c->tail->next = q;
    else
        c->head = q;
    c->tail = q;
    req_start(q);
    return 0;
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    static char rbuf[65536]; /* one loop: parsed before the next read */

    (void)h;
    (void)hint;
    *buf = uv_buf_init(rbuf, sizeof(rbuf));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    client_t *c = s->data;

    if (nread == 0)
        return;
    if (nread < 0 ||
        llhttp_execute(&c->parser, buf->base, (size_t)nread) != HPE_OK)
        client_close(c);
}

static void on_conn(uv_stream_t *server, int status)
{
    client_t *c;

    if (status != 0 || (c = calloc(1, sizeof(*c))) == NULL)
        return;
    uv_tcp_init(loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        client_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    llhttp_init(&c->parser, HTTP_REQUEST, &settings);
    c->parser.data = c;
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

/* ------------------------------------------------------------- main */

static void on_redis(void *ud, redis_conn_t *r, int up)
{
    (void)ud;
    (void)r;
    LOG(up ? LL_INFO : LL_WARN, "msg=\"redis %s\"", up ? "up" : "down");
}

static int listen_on(uv_tcp_t *srv, const char *addr)
{
    struct sockaddr_in sin;
    char host[64];
    int port;

    if (sscanf(addr, "%63[^:]:%d", host, &port) != 2 ||
        uv_ip4_addr(host, port, &sin) != 0 ||
        (ntohl(sin.sin_addr.s_addr) >> 24) != 127) {
        fprintf(stderr, "couponq-decrby: --listen: want 127.x.y.z:port\n");
        return -1;
    }
    uv_tcp_init(loop, srv);
    if (uv_tcp_bind(srv, (struct sockaddr *)&sin, 0) != 0 ||
        uv_listen((uv_stream_t *)srv, 4096, on_conn) != 0) {
        fprintf(stderr, "couponq-decrby: listen %s failed\n", addr);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    config_t *cfg = config_new(opts, sizeof(opts) / sizeof(opts[0]));
    char err[256];
    uv_tcp_t srv;
    int rc = cfg == NULL ? -1 : config_parse(cfg, argc, argv, err, sizeof(err));

    if (rc != 0) {
        if (rc == 1)
            config_usage(cfg, "couponq-decrby",
                         "baseline: DECRBY with compensation in Redis", stdout);
        else
            fprintf(stderr, "couponq-decrby: %s\n", cfg ? err : "no memory");
        config_free(cfg);
        return rc == 1 ? 0 : 2;
    }
    log_init("couponq-decrby", log_level_parse(config_str(cfg, "log-level")),
             2);
    signal(SIGPIPE, SIG_IGN);
    hold_ttl_ms = config_int(cfg, "hold-ttl-ms");
    loop = uv_default_loop();
    llhttp_settings_init(&settings);
    settings.on_message_begin = on_begin;
    settings.on_url = on_url;
    settings.on_body = on_body;
    settings.on_message_complete = on_complete;
    redis = redis_conn_new(loop, config_str(cfg, "redis"), on_redis, NULL, err,
                           sizeof(err));
    if (redis == NULL) {
        fprintf(stderr, "couponq-decrby: --redis: %s\n", err);
        return 2;
    }
    if (listen_on(&srv, config_str(cfg, "listen")) != 0)
        return 1;
    LOG(LL_INFO, "msg=\"listening\" addr=%s", config_str(cfg, "listen"));
    return uv_run(loop, UV_RUN_DEFAULT); /* SIGTERM ends the process */
}
