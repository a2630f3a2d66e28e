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
 * iteration.
 *
 * Finding the server. redis://: a host name is resolved again on every
 * (re)connect (uv_getaddrinfo, thread pool), so a DNS name or VIP that moves
 * is followed. redis-sentinel://: every (re)connect asks the sentinels on
 * the thread pool (redis_sync, short timeouts, the answer checked with
 * ROLE) and then connects to that address on the loop. Three things make
 * the connection follow the primary: a subscription to +switch-master on
 * one sentinel (the same glue; resubscribed with backoff, to the next
 * sentinel, when lost); a check on the thread pool every second that the
 * sentinels still name the connected address; and any READONLY-style reply
 * (the server was demoted). Each resets the connection, which reconnects
 * through the sentinels. */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "redis_conn.h"
#include "redis_sync.h"

#define BACKOFF_MIN_MS      50
#define BACKOFF_MAX_MS      2000
#define CONNECT_TIMEOUT_MS  2000
#define SENTINEL_TIMEOUT_MS 500  /* per sentinel and per candidate, pool */
#define SENTINEL_CHECK_MS   1000 /* the safety net's period */

typedef struct glue {
    uv_poll_t poll;
    redis_conn_t *r;
    redisAsyncContext *ac; /* NULL once hiredis freed it */
    int events;
    int want_write; /* hiredis has output buffered */
    int sub;        /* the sentinel subscription, not the data connection */
} glue_t;

/* A job on the thread pool: the sentinels' answer (next connect, or the
 * periodic check). The pool thread writes only found, rc and err. */
typedef struct sjob {
    uv_work_t work;
    redis_conn_t *r;
    int busy;
    int rc;
    url_addr_t found;
    url_addr_t asked_for; /* check: the address connected when queued */
    char err[256];
} sjob_t;

struct redis_conn {
    uv_loop_t *loop;
    url_t url;
    redis_conn_state_fn fn;
    void *ud;
    redisAsyncContext *ac; /* current context, NULL while down */
    uv_timer_t timer;      /* reconnect backoff, or connect timeout */
    uv_getaddrinfo_t gai;  /* resolving a host name (thread pool) */
    int resolving;
    uv_check_t check_h; /* deferred writes */
    redis_conn_flush_fn flush_fn;
    void *flush_ud;
    int flush_wanted;
    uint64_t backoff_ms;
    int up;
    uint64_t up_since_ms;
    int freeing;
    int open_handles; /* while being freed */
    char last_err[256];
    url_addr_t addr; /* the server connected to, or being connected to */
    /* redis-sentinel:// only */
    int sentinel;
    sjob_t resolve, check;
    uv_timer_t tick; /* SENTINEL_CHECK_MS */
    redisAsyncContext *sub_ac;
    uv_timer_t sub_timer; /* resubscribe backoff, or connect timeout */
    uv_getaddrinfo_t sub_gai;
    int sub_resolving;
    int sub_idx; /* the sentinel subscribed to (or tried next) */
    uint64_t sub_backoff_ms;
};

static void connect_start(redis_conn_t *r);
static void sub_lost(redis_conn_t *r);

/* One of the handles or requests counted by redis_conn_free is done. */
static void release(redis_conn_t *r)
{
    if (--r->open_handles == 0)
        free(r);
}

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
    /* Connecting, writable means connected (or failed); the subscription
     * writes little and is not deferred. */
    if (g->r->up && !g->sub)
        uv_check_start(&g->r->check_h, on_check);
    else
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

    if (g->sub) {
        if (r->sub_ac == g->ac)
            r->sub_ac = NULL;
        g->ac = NULL;
        uv_poll_stop(&g->poll);
        uv_close((uv_handle_t *)&g->poll, glue_closed);
        if (!r->freeing)
            sub_lost(r);
        return;
    }
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
            r->addr.host, r->addr.port, r->last_err);
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
        if (!g->sub)
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
    LOG(LL_INFO, "msg=\"redis connected\" host=%s port=%d", r->addr.host,
        r->addr.port);
    /* Pipelined: whatever the state callback sends runs after these. */
    send_setup(r);
    r->fn(r->ud, r, 1);
}

static void on_connect_timeout(uv_timer_t *t)
{
    redis_conn_reset(t->data, "connect timed out");
}

/* A context on ip:port (numeric: hiredis' own getaddrinfo call then needs
 * no DNS and cannot block the loop) driven by a fresh glue. NULL with
 * last_err. */
static redisAsyncContext *glue_connect(redis_conn_t *r, const char *ip,
                                       int port, int sub)
{
    redisAsyncContext *ac = redisAsyncConnect(ip, port);
    glue_t *g;

    if (ac == NULL || ac->err != 0 || (g = calloc(1, sizeof(*g))) == NULL) {
        snprintf(r->last_err, sizeof(r->last_err), "%s",
                 ac ? ac->errstr : "out of memory");
        if (ac != NULL)
            redisAsyncFree(ac);
        return NULL;
    }
    g->r = r;
    g->ac = ac;
    g->sub = sub;
    uv_poll_init(r->loop, &g->poll, ac->c.fd);
    g->poll.data = g;
    ac->data = r;
    ac->ev.data = g;
    ac->ev.addRead = add_read;
    ac->ev.delRead = del_read;
    ac->ev.addWrite = add_write;
    ac->ev.delWrite = del_write;
    ac->ev.cleanup = cleanup;
    return ac;
}

static void connect_addr(redis_conn_t *r, const char *ip, int port)
{
    redisAsyncContext *ac = glue_connect(r, ip, port, 0);

    if (ac == NULL) {
        retry_later(r);
        return;
    }
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
        release(r);
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
    snprintf(r->addr.host, sizeof(r->addr.host), "%s", ip);
    r->addr.port = r->url.port;
    connect_addr(r, ip, r->url.port);
}

/* ---------------------------------------------------------------- sentinel */

static int addr_eq(const url_addr_t *a, const url_addr_t *b)
{
    return a->port == b->port && strcmp(a->host, b->host) == 0;
}

/* Pool thread: the primary the sentinels name, checked with ROLE. */
static void on_resolve_work(uv_work_t *w)
{
    sjob_t *j = w->data;
    redis_conn_t *r = j->r;
    redisContext *c = redis_sync_connect_url(&r->url, SENTINEL_TIMEOUT_MS,
                                             &j->found, j->err, sizeof(j->err));

    j->rc = c != NULL ? 0 : -1;
    if (c != NULL)
        redisFree(c);
}

/* A sentinel job is back on the loop: not busy any more; NULL when the
 * connection is being freed (then freed now, and the job's result unused). */
static redis_conn_t *job_finish(sjob_t *j)
{
    redis_conn_t *r = j->r;

    j->busy = 0;
    if (r->freeing) {
        release(r);
        return NULL;
    }
    return r;
}

static void on_resolve_done(uv_work_t *w, int status)
{
    sjob_t *j = w->data;
    redis_conn_t *r = job_finish(j);

    if (r == NULL)
        return;
    if (status < 0 || j->rc != 0) {
        snprintf(r->last_err, sizeof(r->last_err), "%s",
                 status < 0 ? uv_strerror(status) : j->err);
        LOG(LL_WARN, "msg=\"redis primary not found\" master=%s err=\"%s\"",
            r->url.master, r->last_err);
        retry_later(r);
        return;
    }
    if (r->addr.host[0] != '\0' && !addr_eq(&r->addr, &j->found))
        LOG(LL_WARN,
            "msg=\"redis primary switched\" master=%s from=%s:%d to=%s:%d "
            "via=sentinels",
            r->url.master, r->addr.host, r->addr.port, j->found.host,
            j->found.port);
    r->addr = j->found;
    connect_addr(r, r->addr.host, r->addr.port);
}

static void sentinel_resolve(redis_conn_t *r)
{
    int rc;

    r->resolve.work.data = &r->resolve;
    rc = uv_queue_work(r->loop, &r->resolve.work, on_resolve_work,
                       on_resolve_done);
    if (rc != 0) {
        snprintf(r->last_err, sizeof(r->last_err), "uv_queue_work: %s",
                 uv_strerror(rc));
        retry_later(r);
        return;
    }
    r->resolve.busy = 1;
}

/* Pool thread: the sentinels' answer, without ROLE (cheap, every second). */
static void on_check_work(uv_work_t *w)
{
    sjob_t *j = w->data;
    redis_conn_t *r = j->r;

    j->rc = redis_sync_sentinel_master(&r->url, SENTINEL_TIMEOUT_MS, &j->found,
                                       j->err, sizeof(j->err));
}

/* The safety net behind +switch-master (a lost message, a subscription
 * down): the connection is still to the address it was when the check was
 * queued, and the sentinels name another one. */
static void on_check_done(uv_work_t *w, int status)
{
    sjob_t *j = w->data;
    redis_conn_t *r = job_finish(j);

    if (r == NULL)
        return;
    if (status < 0 || j->rc != 0) {
        LOG(LL_DEBUG, "msg=\"sentinel check failed\" err=\"%s\"", j->err);
        return;
    }
    if (r->up && addr_eq(&r->addr, &j->asked_for) &&
        !addr_eq(&r->addr, &j->found)) {
        LOG(LL_WARN,
            "msg=\"redis primary switched\" master=%s from=%s:%d to=%s:%d "
            "via=check",
            r->url.master, r->addr.host, r->addr.port, j->found.host,
            j->found.port);
        redis_conn_reset(r, "the sentinels name another primary");
    }
}

static void on_tick(uv_timer_t *t)
{
    redis_conn_t *r = t->data;

    if (!r->up || r->check.busy)
        return;
    r->check.asked_for = r->addr;
    r->check.work.data = &r->check;
    if (uv_queue_work(r->loop, &r->check.work, on_check_work, on_check_done) ==
        0)
        r->check.busy = 1;
}

/* +switch-master payload: "<name> <old-ip> <old-port> <new-ip> <new-port>". */
static void on_switch(redis_conn_t *r, const char *msg)
{
    char name[128], oip[64], nip[64];
    int oport, nport;

    if (sscanf(msg, "%127s %63s %d %63s %d", name, oip, &oport, nip, &nport) !=
            5 ||
        strcmp(name, r->url.master) != 0)
        return;
    LOG(LL_WARN,
        "msg=\"redis primary switched\" master=%s from=%s:%d to=%s:%d "
        "via=switch-master",
        name, oip, oport, nip, nport);
    if (r->ac != NULL && r->addr.port == nport &&
        strcmp(r->addr.host, nip) == 0) {
        return; /* a late message: already there */
    } else if (r->ac != NULL) {
        redis_conn_reset(r, "sentinel +switch-master");
    } else if (!r->resolve.busy && !r->freeing) { /* waiting to retry */
        uv_timer_stop(&r->timer);
        r->backoff_ms = BACKOFF_MIN_MS;
        connect_start(r);
    }
}

static void on_sub_msg(redisAsyncContext *ac, void *reply, void *pd)
{
    redisReply *rep = reply;
    redis_conn_t *r = ac->data;
    const redisReply *kind;

    (void)pd;
    if (rep == NULL || rep->type != REDIS_REPLY_ARRAY || rep->elements < 3)
        return;
    kind = rep->element[0];
    if (kind->type != REDIS_REPLY_STRING)
        return;
    if (strcmp(kind->str, "subscribe") == 0) {
        uv_timer_stop(&r->sub_timer);
        r->sub_backoff_ms = BACKOFF_MIN_MS;
        LOG(LL_INFO, "msg=\"sentinel subscribed\" sentinel=%s:%d master=%s",
            r->url.sentinel[r->sub_idx].host, r->url.sentinel[r->sub_idx].port,
            r->url.master);
    } else if (strcmp(kind->str, "message") == 0 &&
               rep->element[2]->type == REDIS_REPLY_STRING) {
        on_switch(r, rep->element[2]->str);
    }
}

static void on_sub_timeout(uv_timer_t *t)
{
    redis_conn_t *r = t->data;

    if (r->sub_ac != NULL)
        redisAsyncFree(r->sub_ac); /* cleanup() -> sub_lost() */
}

static void sub_connect(redis_conn_t *r, const char *ip, int port)
{
    const char *argv[] = { "SUBSCRIBE", "+switch-master" };
    size_t len[] = { 9, 14 };

    r->sub_ac = glue_connect(r, ip, port, 1);
    if (r->sub_ac == NULL) {
        sub_lost(r);
        return;
    }
    redisEnableKeepAlive(&r->sub_ac->c);
    redisAsyncCommandArgv(r->sub_ac, on_sub_msg, NULL, 2, argv, len);
    uv_timer_start(&r->sub_timer, on_sub_timeout, CONNECT_TIMEOUT_MS, 0);
}

static void on_sub_resolved(uv_getaddrinfo_t *req, int status,
                            struct addrinfo *ai)
{
    redis_conn_t *r = req->data;
    char ip[INET6_ADDRSTRLEN];

    r->sub_resolving = 0;
    if (r->freeing) {
        uv_freeaddrinfo(ai);
        release(r);
        return;
    }
    if (status < 0 || ai == NULL ||
        uv_ip_name(ai->ai_addr, ip, sizeof(ip)) != 0) {
        uv_freeaddrinfo(ai);
        sub_lost(r);
        return;
    }
    uv_freeaddrinfo(ai);
    sub_connect(r, ip, r->url.sentinel[r->sub_idx].port);
}

/* Subscribes on sentinel sub_idx (its name resolved on the pool). */
static void sub_start(uv_timer_t *t)
{
    redis_conn_t *r = t->data;
    const url_addr_t *s = &r->url.sentinel[r->sub_idx];
    unsigned char buf[sizeof(struct in6_addr)];
    struct addrinfo hints;

    if (inet_pton(AF_INET, s->host, buf) == 1 ||
        inet_pton(AF_INET6, s->host, buf) == 1) {
        sub_connect(r, s->host, s->port);
        return;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    r->sub_gai.data = r;
    if (uv_getaddrinfo(r->loop, &r->sub_gai, on_sub_resolved, s->host, NULL,
                       &hints) != 0) {
        sub_lost(r);
        return;
    }
    r->sub_resolving = 1;
}

/* The subscription failed or was lost: the next sentinel, after a backoff. */
static void sub_lost(redis_conn_t *r)
{
    LOG(LL_DEBUG, "msg=\"sentinel subscription lost\" sentinel=%s:%d",
        r->url.sentinel[r->sub_idx].host, r->url.sentinel[r->sub_idx].port);
    r->sub_idx = redis_sync_sentinel_at(r->sub_idx, 1, r->url.nsentinels);
    uv_timer_start(&r->sub_timer, sub_start, r->sub_backoff_ms, 0);
    r->sub_backoff_ms = r->sub_backoff_ms * 2 > BACKOFF_MAX_MS
                            ? BACKOFF_MAX_MS
                            : r->sub_backoff_ms * 2;
}

static void sentinel_init(redis_conn_t *r)
{
    r->sentinel = 1;
    r->sub_backoff_ms = BACKOFF_MIN_MS;
    uv_timer_init(r->loop, &r->tick);
    uv_timer_init(r->loop, &r->sub_timer);
    r->tick.data = r->sub_timer.data = r;
    uv_timer_start(&r->tick, on_tick, SENTINEL_CHECK_MS, SENTINEL_CHECK_MS);
    sub_start(&r->sub_timer);
}

/* -------------------------------------------------------------- connecting */

/* A host name is resolved on libuv's thread pool: getaddrinfo can block
 * for seconds (a slow DNS server in a container network), and the loop
 * serves every request. Numeric addresses connect at once. */
static void connect_start(redis_conn_t *r)
{
    struct addrinfo hints;
    unsigned char buf[sizeof(struct in6_addr)];
    int rc;

    if (r->sentinel) {
        sentinel_resolve(r);
        return;
    }
    if (inet_pton(AF_INET, r->url.host, buf) == 1 ||
        inet_pton(AF_INET6, r->url.host, buf) == 1) {
        r->addr.port = r->url.port;
        snprintf(r->addr.host, sizeof(r->addr.host), "%s", r->url.host);
        connect_addr(r, r->url.host, r->url.port);
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
    if (redis_sync_url(url, &r->url, errstr, n) != 0) {
        free(r);
        return NULL;
    }
    r->loop = loop;
    r->fn = fn;
    r->ud = ud;
    r->backoff_ms = BACKOFF_MIN_MS;
    r->resolve.r = r->check.r = r;
    uv_timer_init(loop, &r->timer);
    uv_check_init(loop, &r->check_h);
    r->timer.data = r->check_h.data = r;
    if (strcmp(r->url.scheme, "redis-sentinel") == 0)
        sentinel_init(r);
    connect_start(r);
    return r;
}

static void handle_closed(uv_handle_t *h)
{
    release(h->data);
}

/* A request in flight on the pool completes (canceled or not) and counts. */
static void cancel_req(redis_conn_t *r, int busy, uv_req_t *req)
{
    if (!busy)
        return;
    r->open_handles++;
    uv_cancel(req);
}

void redis_conn_free(redis_conn_t *r)
{
    if (r == NULL)
        return;
    r->freeing = 1;
    uv_timer_stop(&r->timer);
    if (r->ac != NULL)
        redisAsyncFree(r->ac); /* pending callbacks get NULL now */
    if (r->sub_ac != NULL)
        redisAsyncFree(r->sub_ac);
    r->open_handles = r->sentinel ? 4 : 2;
    cancel_req(r, r->resolving, (uv_req_t *)&r->gai);
    cancel_req(r, r->sub_resolving, (uv_req_t *)&r->sub_gai);
    cancel_req(r, r->resolve.busy, (uv_req_t *)&r->resolve.work);
    cancel_req(r, r->check.busy, (uv_req_t *)&r->check.work);
    uv_close((uv_handle_t *)&r->timer, handle_closed);
    uv_close((uv_handle_t *)&r->check_h, handle_closed);
    if (r->sentinel) {
        uv_close((uv_handle_t *)&r->tick, handle_closed);
        uv_close((uv_handle_t *)&r->sub_timer, handle_closed);
    }
}

int redis_conn_up(const redis_conn_t *r)
{
    return r->up;
}

/* Wraps each command's callback: a READONLY-style reply means the server
 * was demoted (or lost its primary), so after the caller has seen it the
 * connection is reset and reconnects to the primary of the moment. */
typedef struct call {
    redis_conn_t *r;
    redisCallbackFn *fn;
    void *privdata;
} call_t;

static void on_reply(redisAsyncContext *ac, void *reply, void *pd)
{
    call_t c = *(call_t *)pd;

    free(pd);
    if (c.fn != NULL)
        c.fn(ac, reply, c.privdata);
    if (redis_sync_is_readonly_error(reply) && c.r->ac == ac && !c.r->freeing)
        redis_conn_reset(c.r, ((redisReply *)reply)->str);
}

int redis_conn_command(redis_conn_t *r, redisCallbackFn *fn, void *privdata,
                       int argc, const char **argv, const size_t *argvlen)
{
    call_t *c;

    if (!r->up || r->ac == NULL || (c = malloc(sizeof(*c))) == NULL)
        return -1;
    c->r = r;
    c->fn = fn;
    c->privdata = privdata;
    if (redisAsyncCommandArgv(r->ac, on_reply, c, argc, argv, argvlen) !=
        REDIS_OK) {
        free(c);
        return -1;
    }
    return 0;
}

int redis_conn_wait(redis_conn_t *r, int n, int timeout_ms, redisCallbackFn *fn,
                    void *privdata)
{
    char num[16], ms[16];
    const char *argv[3] = { "WAIT", num, ms };
    size_t len[3];

    len[0] = 4;
    len[1] = (size_t)snprintf(num, sizeof(num), "%d", n);
    len[2] = (size_t)snprintf(ms, sizeof(ms), "%d", timeout_ms);
    return redis_conn_command(r, fn, privdata, 3, argv, len);
}

int redis_conn_waited(const redisReply *reply, int n)
{
    return reply != NULL && reply->type == REDIS_REPLY_INTEGER &&
           reply->integer >= n;
}

void redis_conn_reset(redis_conn_t *r, const char *why)
{
    if (r->ac == NULL || (r->ac->c.flags & REDIS_FREEING))
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
    uv_check_start(&r->check_h, on_check);
}
