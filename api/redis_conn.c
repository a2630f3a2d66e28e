/* redis_conn.c -- hiredis async on libuv, our own glue. See redis_conn.h.
 *
 * Each connection attempt gets a fresh glue (a uv_poll on the socket). The
 * hiredis cleanup hook is the one place that learns a context is gone, for
 * any reason (connect failed, socket error, redis_conn_reset, free): it
 * closes the poll handle and schedules the reconnect.
 *
 * Writes are deferred to the loop's check phase: commands queued while the
 * loop handles a batch of HTTP reads or Kafka reports leave in one write,
 * and a connected socket is written without waiting for a writable event
 * (no epoll_ctl per batch). Only a write that would block, or a connect in
 * progress, polls for UV_WRITABLE. A caller that gathers commands during the
 * iteration (admission batches) gets its flush hook called in that same
 * check callback, right before the write, so nothing waits for the next
 * iteration. */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "redis_conn.h"
#include "url.h"

#define BACKOFF_MIN_MS     50
#define BACKOFF_MAX_MS     2000
#define CONNECT_TIMEOUT_MS 2000

typedef struct glue {
    uv_poll_t poll;
    redis_conn_t *r;
    redisAsyncContext *ac; /* NULL once hiredis freed it */
    int events;
    int want_write; /* hiredis has output buffered */
} glue_t;

struct redis_conn {
    uv_loop_t *loop;
    url_t url;
    redis_conn_state_fn fn;
    void *ud;
    redisAsyncContext *ac; /* current context, NULL while down */
    uv_timer_t timer;      /* reconnect backoff, or connect timeout */
    uv_getaddrinfo_t gai;  /* resolving a host name (thread pool) */
    int resolving;
    uv_check_t check; /* deferred writes */
    redis_conn_flush_fn flush_fn;
    void *flush_ud;
    int flush_wanted;
    uint64_t backoff_ms;
    int up;
    uint64_t up_since_ms;
    int freeing;
    int open_handles; /* while being freed */
    char last_err[128];
};

static void connect_start(redis_conn_t *r);

static void on_reconnect(uv_timer_t *t)
{
    connect_start(t->data);
}

static void glue_closed(uv_handle_t *h)
{
    free(h->data);
}

static void on_poll(uv_poll_t *h, int status, int events);
static void on_check(uv_check_t *h);

/* The hooks hiredis calls; idempotent as it requires. */
static void glue_set(glue_t *g, int add, int ev)
{
    int events = add ? (g->events | ev) : (g->events & ~ev);

    if (events == g->events)
        return;
    g->events = events;
    if (events)
        uv_poll_start(&g->poll, events, on_poll);
    else
        uv_poll_stop(&g->poll);
}
static void add_read(void *p)
{
    glue_set(p, 1, UV_READABLE);
}
static void del_read(void *p)
{
    glue_set(p, 0, UV_READABLE);
}
static void add_write(void *p)
{
    glue_t *g = p;

    g->want_write = 1;
    if (g->r->up)
        uv_check_start(&g->r->check, on_check);
    else /* connecting: writable means connected (or failed) */
        glue_set(g, 1, UV_WRITABLE);
}
static void del_write(void *p)
{
    glue_t *g = p;

    g->want_write = 0;
    glue_set(g, 0, UV_WRITABLE);
}

/* Writes what hiredis buffered; polls for writability only if the socket
 * could not take it all (hiredis then asked for the write again). */
static void on_check(uv_check_t *h)
{
    redis_conn_t *r = h->data;
    glue_t *g;

    if (r->flush_wanted) { /* may queue commands: before the write */
        r->flush_wanted = 0;
        r->flush_fn(r->flush_ud);
    }
    uv_check_stop(h);
    g = r->ac != NULL ? r->ac->ev.data : NULL;
    if (g == NULL || !g->want_write || (g->events & UV_WRITABLE))
        return;
    g->want_write = 0;
    redisAsyncHandleWrite(g->ac);
    if (g->ac != NULL && g->want_write)
        glue_set(g, 1, UV_WRITABLE);
}

/* The next attempt after the current backoff, which doubles up to the max. */
static void retry_later(redis_conn_t *r)
{
    r->timer.data = r;
    uv_timer_start(&r->timer, on_reconnect, r->backoff_ms, 0);
    r->backoff_ms =
        r->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : r->backoff_ms * 2;
}

/* hiredis frees the context: it is gone for whatever reason. */
static void cleanup(void *p)
{
    glue_t *g = p;
    redis_conn_t *r = g->r;
    int was_up = r->up;

    if (g->ac->err != 0 && g->ac->errstr != NULL)
        snprintf(r->last_err, sizeof(r->last_err), "%s", g->ac->errstr);
    if (r->ac == g->ac)
        r->ac = NULL;
    g->ac = NULL;
    uv_poll_stop(&g->poll);
    uv_close((uv_handle_t *)&g->poll, glue_closed);
    r->up = 0;
    if (r->freeing)
        return;
    if (was_up)
        LOG(LL_WARN, "msg=\"redis connection lost\" host=%s port=%d err=\"%s\"",
            r->url.host, r->url.port, r->last_err);
    r->fn(r->ud, r, 0);
    /* A connection that lived a while resets the backoff; one that dies at
     * once (e.g. a proxy that accepts and resets) keeps doubling it. */
    if (was_up && uv_now(r->loop) - r->up_since_ms > BACKOFF_MAX_MS)
        r->backoff_ms = BACKOFF_MIN_MS;
    retry_later(r);
}

/* The point of this glue: a poll error is a dead socket. hiredis 0.14.1's
 * adapter returns here and the context hangs forever. */
static void on_poll(uv_poll_t *h, int status, int events)
{
    glue_t *g = h->data;

    if (g->ac == NULL)
        return;
    if (status < 0) { /* libuv says EBADF for POLLERR: ask the socket */
        int err = 0;
        socklen_t len = sizeof(err);

        getsockopt(g->ac->c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        snprintf(g->r->last_err, sizeof(g->r->last_err), "socket: %s",
                 err != 0 ? strerror(err) : uv_strerror(status));
        redisAsyncFree(g->ac);
        return;
    }
    if (events & UV_READABLE)
        redisAsyncHandleRead(g->ac);
    if (g->ac != NULL && (events & UV_WRITABLE))
        redisAsyncHandleWrite(g->ac);
}

static void on_auth_or_select(redisAsyncContext *ac, void *reply, void *pd)
{
    redisReply *rep = reply;
    redis_conn_t *r = ac->data;

    (void)pd;
    if (rep != NULL && rep->type == REDIS_REPLY_ERROR) {
        LOG(LL_ERROR, "msg=\"redis rejected AUTH/SELECT\" err=\"%s\"",
            rep->str);
        redis_conn_reset(r, rep->str);
    }
}

static void send_setup(redis_conn_t *r)
{
    char db[16];
    const char *argv[2];
    size_t len[2];

    if (r->url.password[0] != '\0') {
        argv[0] = "AUTH";
        argv[1] = r->url.password;
        len[0] = 4;
        len[1] = strlen(r->url.password);
        redisAsyncCommandArgv(r->ac, on_auth_or_select, NULL, 2, argv, len);
    }
    if (r->url.db != 0) {
        snprintf(db, sizeof(db), "%d", r->url.db);
        argv[0] = "SELECT";
        argv[1] = db;
        len[0] = 6;
        len[1] = strlen(db);
        redisAsyncCommandArgv(r->ac, on_auth_or_select, NULL, 2, argv, len);
    }
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    redis_conn_t *r = ac->data;

    if (status != REDIS_OK) {
        LOG(LL_DEBUG, "msg=\"redis connect failed\" err=\"%s\"", ac->errstr);
        return; /* hiredis frees the context: cleanup() retries */
    }
    uv_timer_stop(&r->timer);
    r->up = 1;
    r->up_since_ms = uv_now(r->loop);
    r->last_err[0] = '\0';
    LOG(LL_INFO, "msg=\"redis connected\" host=%s port=%d", r->url.host,
        r->url.port);
    /* Pipelined: whatever the state callback sends runs after these. */
    send_setup(r);
    r->fn(r->ud, r, 1);
}

static void on_connect_timeout(uv_timer_t *t)
{
    redis_conn_reset(t->data, "connect timed out");
}

/* ip is numeric: hiredis' own getaddrinfo call then needs no DNS and cannot
 * block the loop. */
static void connect_addr(redis_conn_t *r, const char *ip)
{
    redisAsyncContext *ac = redisAsyncConnect(ip, r->url.port);
    glue_t *g;

    if (ac == NULL || ac->err != 0 || (g = calloc(1, sizeof(*g))) == NULL) {
        snprintf(r->last_err, sizeof(r->last_err), "%s",
                 ac ? ac->errstr : "out of memory");
        if (ac != NULL)
            redisAsyncFree(ac);
        retry_later(r);
        return;
    }
    g->r = r;
    g->ac = ac;
    uv_poll_init(r->loop, &g->poll, ac->c.fd);
    g->poll.data = g;
    ac->data = r;
    ac->ev.data = g;
    ac->ev.addRead = add_read;
    ac->ev.delRead = del_read;
    ac->ev.addWrite = add_write;
    ac->ev.delWrite = del_write;
    ac->ev.cleanup = cleanup;
    r->ac = ac;
    redisAsyncSetConnectCallback(ac, on_connect);
    r->timer.data = r;
    uv_timer_start(&r->timer, on_connect_timeout, CONNECT_TIMEOUT_MS, 0);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *ai)
{
    redis_conn_t *r = req->data;
    char ip[INET6_ADDRSTRLEN];

    r->resolving = 0;
    if (r->freeing) {
        uv_freeaddrinfo(ai);
        if (--r->open_handles == 0)
            free(r);
        return;
    }
    if (status < 0 || ai == NULL ||
        uv_ip_name(ai->ai_addr, ip, sizeof(ip)) != 0) {
        snprintf(r->last_err, sizeof(r->last_err), "resolve %.60s: %.50s",
                 r->url.host, status < 0 ? uv_strerror(status) : "no address");
        LOG(LL_WARN, "msg=\"redis host not resolved\" err=\"%s\"", r->last_err);
        uv_freeaddrinfo(ai);
        retry_later(r);
        return;
    }
    uv_freeaddrinfo(ai);
    connect_addr(r, ip);
}

/* A host name is resolved on libuv's thread pool: getaddrinfo can block
 * for seconds (a slow DNS server in a container network), and the loop
 * serves every request. Numeric addresses connect at once. */
static void connect_start(redis_conn_t *r)
{
    struct addrinfo hints;
    unsigned char buf[sizeof(struct in6_addr)];
    int rc;

    if (inet_pton(AF_INET, r->url.host, buf) == 1 ||
        inet_pton(AF_INET6, r->url.host, buf) == 1) {
        connect_addr(r, r->url.host);
        return;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    r->gai.data = r;
    rc = uv_getaddrinfo(r->loop, &r->gai, on_resolved, r->url.host, NULL,
                        &hints);
    if (rc != 0) {
        snprintf(r->last_err, sizeof(r->last_err), "resolve %.60s: %.50s",
                 r->url.host, uv_strerror(rc));
        retry_later(r);
        return;
    }
    r->resolving = 1;
}

redis_conn_t *redis_conn_new(uv_loop_t *loop, const char *url,
                             redis_conn_state_fn fn, void *ud, char *errstr,
                             size_t n)
{
    redis_conn_t *r = calloc(1, sizeof(*r));

    if (r == NULL) {
        snprintf(errstr, n, "out of memory");
        return NULL;
    }
    if (url_parse(url, &r->url, errstr, n) != 0 ||
        strcmp(r->url.scheme, "redis") != 0) {
        if (strcmp(r->url.scheme, "redis") != 0)
            snprintf(errstr, n, "--redis %s: expected redis://", url);
        free(r);
        return NULL;
    }
    r->loop = loop;
    r->fn = fn;
    r->ud = ud;
    r->backoff_ms = BACKOFF_MIN_MS;
    uv_timer_init(loop, &r->timer);
    uv_check_init(loop, &r->check);
    r->timer.data = r->check.data = r;
    connect_start(r);
    return r;
}

static void handle_closed(uv_handle_t *h)
{
    redis_conn_t *r = h->data;

    if (--r->open_handles == 0)
        free(r);
}

void redis_conn_free(redis_conn_t *r)
{
    if (r == NULL)
        return;
    r->freeing = 1;
    uv_timer_stop(&r->timer);
    if (r->ac != NULL)
        redisAsyncFree(r->ac); /* pending callbacks get NULL now */
    r->open_handles = 2;
    if (r->resolving) { /* on_resolved runs (canceled or not) and counts */
        r->open_handles++;
        uv_cancel((uv_req_t *)&r->gai);
    }
    uv_close((uv_handle_t *)&r->timer, handle_closed);
    uv_close((uv_handle_t *)&r->check, handle_closed);
}

int redis_conn_up(const redis_conn_t *r)
{
    return r->up;
}

int redis_conn_command(redis_conn_t *r, redisCallbackFn *fn, void *privdata,
                       int argc, const char **argv, const size_t *argvlen)
{
    if (!r->up || r->ac == NULL)
        return -1;
    return redisAsyncCommandArgv(r->ac, fn, privdata, argc, argv, argvlen) ==
                   REDIS_OK
               ? 0
               : -1;
}

void redis_conn_reset(redis_conn_t *r, const char *why)
{
    if (r->ac == NULL)
        return;
    snprintf(r->last_err, sizeof(r->last_err), "%s", why);
    LOG(LL_WARN, "msg=\"redis connection reset\" why=\"%s\"", why);
    redisAsyncFree(r->ac);
}

void redis_conn_set_flush(redis_conn_t *r, redis_conn_flush_fn fn, void *ud)
{
    r->flush_fn = fn;
    r->flush_ud = ud;
}

void redis_conn_want_flush(redis_conn_t *r)
{
    if (r->flush_fn == NULL || r->freeing)
        return;
    r->flush_wanted = 1;
    uv_check_start(&r->check, on_check);
}
