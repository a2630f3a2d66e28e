/* classic.c -- couponq-classic: the "classic" FCFS handler that couponq is
 * measured against, small on purpose.
 *
 * It does what a typical Spring Boot + JPA coupon service does per request,
 * with the same defaults: a thread per connection (Tomcat's 200 threads) and
 * a pool of 10 MySQL connections (HikariCP's default). Each POST
 * /v1/coupons/{id}/issues {"user_id":N} runs one blocking transaction:
 * SELECT ... FOR UPDATE on the coupon row (serialising every request for the
 * coupon), check window, quantity and duplicate, INSERT the issue, UPDATE the
 * counter, COMMIT, answer. Answers use the api's status codes and `result`
 * names so couponq-bench counts both the same way.
 *
 * It also serves the redemption routes (hold, confirm, cancel: DESIGN.md
 * "Redemption", the shapes of redeem.h) with the same threads and pool,
 * each a FOR UPDATE transaction on the coupon's use counter row
 * (classic_redeem.c). This is a benchmark baseline, not a product:
 * loopback only, no /metrics, no TLS. */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <llhttp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "classic_redeem.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "redeem.h"
#include "ulid.h"

#define BODY_MAX 4096
#define URL_MAX  256
#define TX_TRIES 3

static const cfg_opt_t opts[] = {
    { "listen", "COUPONQ_CLASSIC_LISTEN", CFG_STR, 0, 0, "127.0.0.1:8090",
      "HTTP listen address host:port (loopback)" },
    CFG_OPT_MYSQL,
    { "threads", NULL, CFG_INT, 1, 4096, "200",
      "connection threads (Tomcat's default 200)" },
    { "pool", NULL, CFG_INT, 1, 1024, "10",
      "MySQL connections (HikariCP's default 10)" },
    { "hold-ttl-ms", NULL, CFG_INT, 1, 86400000, "600000",
      "redemption: a hold's time to live" },
    CFG_OPT_LOG_LEVEL,
};

/* ------------------------------------------------------------ the pool */

typedef struct pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    db_t **free;
    int nfree;
} pool_t;

static pool_t pool = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
                       NULL, 0 };

static db_t *pool_get(void)
{
    db_t *db;

    pthread_mutex_lock(&pool.mu);
    while (pool.nfree == 0)
        pthread_cond_wait(&pool.cv, &pool.mu);
    db = pool.free[--pool.nfree];
    pthread_mutex_unlock(&pool.mu);
    return db;
}

static void pool_put(db_t *db)
{
    pthread_mutex_lock(&pool.mu);
    pool.free[pool.nfree++] = db;
    pthread_cond_signal(&pool.cv);
    pthread_mutex_unlock(&pool.mu);
}

static int pool_open(const char *url, int n)
{
    char err[256];
    int i;

    pool.free = calloc((size_t)n, sizeof(db_t *));
    if (pool.free == NULL)
        return -1;
    for (i = 0; i < n; i++) {
        pool.free[i] = db_connect(url, err, sizeof(err));
        if (pool.free[i] == NULL) {
            LOG(LL_ERROR, "msg=\"mysql connect failed\" why=\"%s\"", err);
            return -1;
        }
        pool.nfree++;
    }
    return 0;
}

/* ----------------------------------------------------- the transaction */

typedef enum {
    R_ACCEPTED,
    R_DUPLICATE,
    R_SOLD_OUT,
    R_NOT_OPEN,
    R_NOT_FOUND,
    R_ERROR
} result_t;

/* One attempt. *retry = 1 when the error is transient. */
static result_t issue_tx(db_t *db, long long coupon, long long user, int *retry)
{
    char sql[512], ulid[ULID_LEN + 1];
    int64_t v, state;
    int found;
    result_t r = R_ERROR;

    if (db_begin(db) != 0)
        goto fail;
    snprintf(sql, sizeof(sql),
             "SELECT CASE WHEN state <> 'open' OR NOW(3) < date_issue_start"
             " OR NOW(3) >= date_issue_end THEN 0 WHEN total_quantity IS"
             " NOT NULL AND issued_quantity >= total_quantity THEN 1 ELSE 2"
             " END FROM coupons WHERE id = %lld FOR UPDATE",
             coupon);
    if (db_query_int(db, sql, &v, &found) != 0)
        goto fail;
    if (!found || v == 0) {
        r = !found ? R_NOT_FOUND : R_NOT_OPEN;
        goto done;
    }
    state = v;
    /* The api's order: a duplicate is told so even when sold out. */
    snprintf(sql, sizeof(sql),
             "SELECT COUNT(*) FROM coupon_issues WHERE coupon_id = %lld AND"
             " user_id = %lld",
             coupon, user);
    if (db_query_int(db, sql, &v, &found) != 0)
        goto fail;
    if (v > 0 || state == 1) {
        r = v > 0 ? R_DUPLICATE : R_SOLD_OUT;
        goto done;
    }
    ulid_generate(ulid);
    snprintf(sql, sizeof(sql),
             "INSERT INTO coupon_issues (coupon_id, user_id, event_id,"
             " date_issued) VALUES (%lld, %lld, '%s', NOW(3))",
             coupon, user, ulid);
    if (db_exec(db, sql) != 0)
        goto fail;
    snprintf(sql, sizeof(sql),
             "UPDATE coupons SET issued_quantity = issued_quantity + 1"
             " WHERE id = %lld",
             coupon);
    if (db_exec(db, sql) != 0 || db_commit(db) != 0)
        goto fail;
    return R_ACCEPTED;
done:
    db_rollback(db); /* read-only so far: nothing to undo, ends the lock */
    return r;
fail:
    *retry = db_is_transient(db);
    LOG(LL_WARN, "msg=\"transaction failed\" why=\"%s\"", db_error(db));
    db_rollback(db);
    if (*retry && db_errno(db) >= 2000) /* client-side: connection lost */
        db_reconnect(db);
    return R_ERROR;
}

static result_t issue(long long coupon, long long user)
{
    db_t *db = pool_get();
    result_t r = R_ERROR;
    int i, retry = 1;

    for (i = 0; i < TX_TRIES && retry; i++) {
        retry = 0;
        r = issue_tx(db, coupon, user, &retry);
    }
    pool_put(db);
    return r;
}

/* Redemption: hold (h != NULL) or confirm/cancel of rid, retried while
 * transient like issue(). */
static long long hold_ttl_ms;

static redeem_code_t redeem(redeem_route_t route, int64_t coupon,
                            const redeem_hold_t *h, char *rid)
{
    db_t *db = pool_get();
    redeem_code_t r = RD_UNAVAILABLE;
    int i, retry = 1;

    for (i = 0; i < TX_TRIES && retry; i++) {
        retry = 0;
        if (route == REDEEM_ROUTE_HOLD)
            r = classic_redeem_hold(db, coupon, h, hold_ttl_ms, rid, &retry);
        else
            r = classic_redeem_step(db, rid, route == REDEEM_ROUTE_CANCEL,
                                    &retry);
    }
    pool_put(db);
    return r;
}

/* Its own connection, before the pool: the tables exist before a request. */
static int classic_redeem_tables(const char *url)
{
    char err[256];
    db_t *db = db_connect(url, err, sizeof(err));
    int rc = -1;

    if (db == NULL) {
        LOG(LL_ERROR, "msg=\"mysql connect failed\" why=\"%s\"", err);
        return -1;
    }
    rc = classic_redeem_schema(db);
    if (rc != 0)
        LOG(LL_ERROR, "msg=\"redemption tables\" why=\"%s\"", db_error(db));
    db_close(db);
    return rc;
}

/* ------------------------------------------------------------ HTTP */

typedef struct client {
    int fd;
    llhttp_t parser;
    char url[URL_MAX];
    size_t ulen;
    char body[BODY_MAX];
    size_t blen;
    int too_big;
    int dead; /* a write failed */
} client_t;

static void reply(client_t *c, int code, const char *text, const char *body)
{
    char buf[512];
    int len = snprintf(buf, sizeof(buf),
                       "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                       "Content-Length: %zu\r\n\r\n%s",
                       code, text, strlen(body), body);
    size_t off = 0;
    ssize_t w;

    while (off < (size_t)len && !c->dead) {
        w = send(c->fd, buf + off, (size_t)len - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            c->dead = 1;
        else
            off += (size_t)w;
    }
}

/* {"user_id": N} with N > 0, else -1. */
static long long parse_user(const char *body, size_t len)
{
    json_t *j = json_loadb(body, len, 0, NULL), *u;
    long long user = -1;

    if (j != NULL && (u = json_object_get(j, "user_id")) != NULL &&
        json_is_integer(u) && json_integer_value(u) > 0)
        user = (long long)json_integer_value(u);
    json_decref(j);
    return user;
}

/* The redemption routes; 0 when the url is none of them. */
static int handle_redeem(client_t *c)
{
    redeem_hold_t h;
    int64_t coupon = 0;
    char rid[REDEEM_RID_MAX + 1] = "", err[128], body[400];
    redeem_route_t route = redeem_route(c->url, &coupon, rid, sizeof(rid));
    redeem_code_t r;

    if (route == REDEEM_ROUTE_NONE ||
        llhttp_get_method(&c->parser) != HTTP_POST)
        return 0;
    if (route == REDEEM_ROUTE_HOLD &&
        redeem_parse_hold(c->body, c->blen, &h, err, sizeof(err)) != 0) {
        snprintf(body, sizeof(body), "{\"error\":\"%s\"}", err);
        reply(c, 400, "Bad Request", body);
        return 1;
    }
    r = redeem(route, coupon, route == REDEEM_ROUTE_HOLD ? &h : NULL, rid);
    if (redeem_body(body, sizeof(body), r, rid, coupon,
                    r == RD_HELD ? &h : NULL) < 0)
        snprintf(body, sizeof(body), "{\"result\":\"%s\"}", redeem_name(r));
    reply(c, redeem_status(r), redeem_status_text(r), body);
    return 1;
}

static void handle(client_t *c)
{
    static const struct {
        int code;
        const char *text, *name;
    } ans[] = {
        [R_ACCEPTED] = { 202, "Accepted", "accepted" },
        [R_DUPLICATE] = { 409, "Conflict", "duplicate" },
        [R_SOLD_OUT] = { 410, "Gone", "sold_out" },
        [R_NOT_OPEN] = { 403, "Forbidden", "not_open" },
        [R_NOT_FOUND] = { 404, "Not Found", "not_found" },
        [R_ERROR] = { 503, "Service Unavailable", "unavailable" },
    };
    long long coupon, user;
    char body[256], tail[8];
    result_t r;

    c->url[c->ulen] = '\0';
    if (!c->too_big && handle_redeem(c))
        return;
    if (llhttp_get_method(&c->parser) != HTTP_POST ||
        sscanf(c->url, "/v1/coupons/%lld/issue%7s", &coupon, tail) != 2 ||
        strcmp(tail, "s") != 0 || coupon <= 0) {
        reply(c, 404, "Not Found", "{\"error\":\"no such route\"}");
        return;
    }
    if (c->too_big) {
        reply(c, 413, "Payload Too Large", "{\"error\":\"body too large\"}");
        return;
    }
    user = parse_user(c->body, c->blen);
    if (user <= 0) {
        reply(c, 400, "Bad Request",
              "{\"error\":\"user_id: must be an integer > 0\"}");
        return;
    }
    r = issue(coupon, user);
    snprintf(body, sizeof(body),
             "{\"result\":\"%s\",\"coupon_id\":%lld,\"user_id\":%lld}",
             ans[r].name, coupon, user);
    reply(c, ans[r].code, ans[r].text, body);
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

    handle(c);
    return c->dead ? -1 : 0;
}

static llhttp_settings_t settings;

/* Serves one keep-alive connection until the peer closes it. */
static void serve(int fd)
{
    client_t *c = calloc(1, sizeof(*c));
    char buf[16384];
    ssize_t n;

    if (c == NULL) {
        close(fd);
        return;
    }
    c->fd = fd;
    llhttp_init(&c->parser, HTTP_REQUEST, &settings);
    c->parser.data = c;
    for (;;) {
        n = recv(fd, buf, sizeof(buf), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || llhttp_execute(&c->parser, buf, (size_t)n) != HPE_OK)
            break;
    }
    close(fd);
    free(c);
}

static void *acceptor(void *arg)
{
    int lfd = *(int *)arg, fd;

    for (;;) {
        fd = accept(lfd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE)
                continue;
            LOG(LL_ERROR, "msg=\"accept failed\" why=\"%s\"", strerror(errno));
            return NULL;
        }
        serve(fd);
    }
}

static int listen_on(const char *addr)
{
    struct sockaddr_in sin = { 0 };
    char host[64];
    int port, fd, one = 1;

    if (sscanf(addr, "%63[^:]:%d", host, &port) != 2 ||
        inet_pton(AF_INET, host, &sin.sin_addr) != 1 ||
        (ntohl(sin.sin_addr.s_addr) >> 24) != 127) {
        fprintf(stderr, "couponq-classic: --listen: want 127.x.y.z:port\n");
        return -1;
    }
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)port);
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
        listen(fd, 4096) != 0) {
        fprintf(stderr, "couponq-classic: listen %s: %s\n", addr,
                strerror(errno));
        return -1;
    }
    return fd;
}

int main(int argc, char **argv)
{
    config_t *cfg = config_new(opts, sizeof(opts) / sizeof(opts[0]));
    char err[256];
    int rc, i, lfd, nthreads;
    pthread_t t;

    rc = cfg == NULL ? -1 : config_parse(cfg, argc, argv, err, sizeof(err));
    if (rc != 0) {
        if (rc == 1)
            config_usage(cfg, "couponq-classic",
                         "baseline: synchronous per-request MySQL FCFS",
                         stdout);
        else
            fprintf(stderr, "couponq-classic: %s\n", cfg ? err : "no memory");
        config_free(cfg);
        return rc == 1 ? 0 : 2;
    }
    log_init("couponq-classic", log_level_parse(config_str(cfg, "log-level")),
             2);
    signal(SIGPIPE, SIG_IGN);
    lfd = listen_on(config_str(cfg, "listen"));
    if (lfd < 0 ||
        pool_open(config_str(cfg, "mysql"), (int)config_int(cfg, "pool")) != 0)
        return 1;
    hold_ttl_ms = config_int(cfg, "hold-ttl-ms");
    if (classic_redeem_tables(config_str(cfg, "mysql")) != 0)
        return 1;
    llhttp_settings_init(&settings);
    settings.on_message_begin = on_begin;
    settings.on_url = on_url;
    settings.on_body = on_body;
    settings.on_message_complete = on_complete;
    nthreads = (int)config_int(cfg, "threads");
    for (i = 0; i < nthreads; i++)
        if (pthread_create(&t, NULL, acceptor, &lfd) != 0 ||
            pthread_detach(t) != 0)
            return 1;
    LOG(LL_INFO, "msg=\"listening\" addr=%s threads=%d pool=%lld",
        config_str(cfg, "listen"), nthreads, config_int(cfg, "pool"));
    pause(); /* SIGTERM/SIGINT end the process: nothing to drain */
    return 0;
}
