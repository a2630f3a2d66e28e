/* http.c -- HTTP/1.1 connections on libuv. See http.h.
 *
 * One read buffer serves every connection (reads are handled one at a time
 * on the loop and the parser copies what it keeps), so an idle connection
 * costs its struct only. Answers are queued per connection in request order;
 * connections with answers ready are put on a dirty list that a uv_check
 * handle flushes after each I/O phase, so all answers produced by one batch
 * of Redis or Kafka replies leave in one write per connection. */
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "http.h"
#include "http_resp.h"
#include "log.h"

#define READ_BUF    65536
#define RESP_INLINE 360 /* fits every answer but /metrics */
#define WRITE_BUFS  64
#define WRITE_HIGH  ((size_t)256 * 1024) /* unsent bytes: reading pauses */
#define SWEEP_MS    250
#define LISTENERS   4 /* addresses in one --listen list */
/* How long a closing connection keeps reading (and discarding) after its
 * last answer, for the client to read that answer (see conn_linger). */
#define LINGER_MS 2000

typedef struct conn conn_t;

struct http_resp {
    http_resp_t *next;
    conn_t *c;
    http_resp_t **ref;
    char *buf;
    size_t len;
    int done;
    int close;
    char inl[RESP_INLINE];
};

/* A connection's or a listener's stream: TCP, or a unix socket. */
typedef union io {
    uv_stream_t st;
    uv_tcp_t tcp;
    uv_pipe_t pipe;
} io_t;

struct conn {
    io_t io;
    http_server_t *srv;
    conn_t *prev, *next;   /* all connections */
    conn_t *dirty_next;    /* on the dirty list when dirty */
    conn_t *iprev, *inext; /* on the idle list when on_idle */
    int on_idle;
    int dirty;
    http_parser_t parser;
    http_resp_t *head, *tail; /* unwritten answers, request order */
    uint32_t pending;         /* entries in head..tail */
    uint32_t writes;          /* uv_write requests in flight */
    uint64_t last_ms;         /* last read or write */
    uint64_t req_start_ms;    /* when the request being read began */
    int spoke;                /* the client has sent at least one byte */
    int paused;               /* reading stopped for back-pressure */
    int eof;                  /* client sent FIN or reading ended */
    int close_after;          /* no more requests; close once written */
    int close_written;        /* an answer with Connection: close was written */
    int closing;
    int peer_fin;             /* the client sent FIN */
    int lingering;            /* answered, FIN sent, discarding input */
    uint64_t linger_until_ms; /* then closed in any case */
    uv_shutdown_t shut;
    int admitted; /* admit_peer let it in: peer_gone owed at close */
    int is_unix;  /* accepted on a unix socket: no peer address */
    struct sockaddr_storage peer;
};

typedef struct listener {
    io_t io;
    http_server_t *srv;
    int is_unix;
    int open; /* the handle is initialised and not yet closed */
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* unlinked */
} listener_t;

typedef struct wreq {
    uv_write_t req;
    conn_t *c;
    http_resp_t *first;
    unsigned n;
    uv_buf_t bufs[WRITE_BUFS];
} wreq_t;

struct http_server {
    uv_loop_t *loop;
    listener_t ls[LISTENERS];
    int nls;
    uv_check_t check;
    uv_timer_t sweep;
    http_limits_t lim;
    http_handler_fn fn;
    void *ud;
    conn_t *conns;
    conn_t *idle_head, *idle_tail; /* idle connections, longest idle first */
    conn_t *dirty;
    uint32_t nconns;        /* open or closing */
    uint32_t closing_conns; /* of nconns, closing (uv_close pending) */
    uint64_t refused;
    uint64_t evicted;
    uint64_t refused_peer;
    http_resp_t *free_resps;
    int listening;
    int draining;
    int freeing;
    int open_handles; /* listeners, check, sweep still to be closed */
    void (*drained)(void *);
    void *drained_ud;
    char rbuf[READ_BUF];
};

static void conn_close(conn_t *c);
static void conn_linger(conn_t *c);
static void conn_flush(conn_t *c);
static void conn_read_start(conn_t *c);
static void idle_update(conn_t *c);

/* ---- answers ---- */

static http_resp_t *resp_new(conn_t *c)
{
    http_server_t *s = c->srv;
    http_resp_t *r = s->free_resps;

    if (r != NULL)
        s->free_resps = r->next;
    else if ((r = malloc(sizeof(*r))) == NULL)
        return NULL;
    r->next = NULL;
    r->c = c;
    r->ref = NULL;
    r->buf = NULL;
    r->len = 0;
    r->done = 0;
    r->close = 0;
    if (c->tail != NULL)
        c->tail->next = r;
    else
        c->head = r;
    c->tail = r;
    c->pending++;
    idle_update(c);
    return r;
}

static void resp_free(http_server_t *s, http_resp_t *r)
{
    if (r->buf != r->inl)
        free(r->buf);
    r->next = s->free_resps;
    s->free_resps = r;
}

static void mark_dirty(conn_t *c)
{
    if (c->dirty || c->closing)
        return;
    c->dirty = 1;
    c->dirty_next = c->srv->dirty;
    c->srv->dirty = c;
}

void http_resp_watch(http_resp_t *r, http_resp_t **ref)
{
    r->ref = ref;
    *ref = r;
}

/* Formats head + body into the answer: in its inline buffer when they fit
 * (the head formatted once), else in a malloc'd one sized by
 * http_resp_head_len(). */
static int resp_format(http_resp_t *r, int status, const char *ctype,
                       const char *extra, const char *body, size_t len,
                       int close)
{
    int hl = http_resp_head(r->inl, sizeof(r->inl), status, ctype, extra, len,
                            close);
    size_t need;

    if (hl >= 0 && (size_t)hl + len <= sizeof(r->inl)) {
        r->buf = r->inl;
    } else {
        hl = (int)http_resp_head_len(status, ctype, extra, len, close);
        need = (size_t)hl + len + 1; /* http_resp_head writes a NUL */
        if ((r->buf = malloc(need)) == NULL)
            return -1;
        http_resp_head(r->buf, need, status, ctype, extra, len, close);
    }
    memcpy(r->buf + hl, body, len);
    r->len = (size_t)hl + len;
    return 0;
}

void http_resp_send(http_resp_t *r, int status, const char *content_type,
                    const char *extra_headers, const char *body, size_t len)
{
    conn_t *c = r->c;
    int close = r->close || c->srv->draining;

    assert(!r->done);
    if (r->ref != NULL)
        *r->ref = NULL;
    r->ref = NULL;
    if (resp_format(r, status, content_type, extra_headers, body, len, close) !=
        0) {
        r->buf = r->inl; /* out of memory: the client gets a closed socket */
        r->len = 0;
        close = 1;
    }
    r->close = close;
    r->done = 1;
    mark_dirty(c);
}

/* An error answer from the server itself, after which the connection
 * closes: nothing more is read from it. */
static void conn_fail(conn_t *c, int status, const char *msg)
{
    char body[256];
    int len = http_resp_error_json(body, sizeof(body), msg);
    http_resp_t *r;

    c->close_after = 1;
    if (!c->eof)
        uv_read_stop(&c->io.st);
    c->eof = 1;
    if ((r = resp_new(c)) == NULL) {
        conn_close(c);
        return;
    }
    r->close = 1;
    http_resp_send(r, status, NULL, NULL, body, len < 0 ? 0 : (size_t)len);
}

/* ---- writing ---- */

static int conn_finished(const conn_t *c)
{
    return c->close_after && c->pending == 0 && c->writes == 0;
}

static void maybe_resume(conn_t *c)
{
    if (!c->paused || c->eof || c->close_after)
        return;
    if (c->pending * 2 > c->srv->lim.max_pipeline ||
        c->io.st.write_queue_size > WRITE_HIGH / 2)
        return;
    c->paused = 0;
    conn_read_start(c);
}

static void free_chain(http_server_t *s, http_resp_t *r, unsigned n)
{
    http_resp_t *next;

    for (; n > 0; n--, r = next) {
        next = r->next;
        resp_free(s, r);
    }
}

/* After bytes left: close when the last answer is out, else maybe read
 * again. */
static void after_written(conn_t *c)
{
    if ((c->close_written && c->writes == 0) || conn_finished(c)) {
        conn_linger(c);
        return;
    }
    maybe_resume(c);
    idle_update(c);
}

static void on_write(uv_write_t *req, int status)
{
    wreq_t *w = (wreq_t *)req;
    conn_t *c = w->c;

    free_chain(c->srv, w->first, w->n);
    free(w);
    c->writes--;
    c->last_ms = uv_now(c->srv->loop);
    if (c->closing)
        return;
    if (status < 0) {
        LOG(LL_DEBUG, "msg=\"write failed\" err=%s", uv_strerror(status));
        conn_close(c);
        return;
    }
    after_written(c);
}

/* Queues what uv_try_write could not send; w owns the answers until
 * on_write. -1 (connection closed) on failure. */
static int write_rest(conn_t *c, http_resp_t *first, unsigned n, uv_buf_t *bufs,
                      size_t sent)
{
    wreq_t *w = malloc(sizeof(*w));
    unsigned i, k = 0;

    if (w == NULL)
        goto fail;
    w->c = c;
    w->first = first;
    w->n = n;
    for (i = 0; i < n; i++) { /* skip the bytes already sent */
        if (sent >= bufs[i].len) {
            sent -= bufs[i].len;
            continue;
        }
        w->bufs[k++] =
            uv_buf_init(bufs[i].base + sent, (unsigned)(bufs[i].len - sent));
        sent = 0;
    }
    c->writes++;
    if (uv_write(&w->req, &c->io.st, w->bufs, k, on_write) == 0)
        return 0;
    c->writes--;
    free(w);
fail:
    free_chain(c->srv, first, n);
    conn_close(c);
    return -1;
}

/* Writes the answered prefix of the queue, up to WRITE_BUFS answers per
 * writev. uv_try_write first: when the socket takes it all (the usual
 * case) no request is allocated and libuv does not re-arm epoll, which
 * uv_write's completion path does once per write in libuv 1.44. */
static void conn_flush(conn_t *c)
{
    while (c->head != NULL && c->head->done && !c->closing) {
        http_resp_t *r = c->head, *first = c->head, *last = NULL;
        uv_buf_t bufs[WRITE_BUFS];
        unsigned n = 0;
        size_t total = 0;
        ssize_t sent;
        int close = 0;

        while (r != NULL && r->done && n < WRITE_BUFS && !close) {
            bufs[n++] = uv_buf_init(r->buf, (unsigned)r->len);
            total += r->len;
            close = r->close;
            last = r;
            r = r->next;
        }
        c->head = r;
        if (r == NULL)
            c->tail = NULL;
        c->pending -= n;
        last->next = NULL;
        if (close) { /* answers queued after a closing one are dropped */
            c->close_after = 1;
            c->close_written = 1;
        }
        sent = c->writes == 0 ? uv_try_write(&c->io.st, bufs, n) : UV_EAGAIN;
        if (sent < 0 && sent != UV_EAGAIN) {
            free_chain(c->srv, first, n);
            conn_close(c);
            return;
        }
        if (sent >= 0 && (size_t)sent == total) {
            free_chain(c->srv, first, n);
            c->last_ms = uv_now(c->srv->loop);
            after_written(c);
        } else if (write_rest(c, first, n, bufs, sent < 0 ? 0 : (size_t)sent) !=
                   0) {
            return;
        }
        if (close)
            break;
    }
}

static void on_check(uv_check_t *h)
{
    http_server_t *s = h->data;
    conn_t *c;

    while ((c = s->dirty) != NULL) {
        s->dirty = c->dirty_next;
        c->dirty = 0;
        if (!c->closing)
            conn_flush(c);
    }
}

/* ---- reading ---- */

static void on_request(void *ud, const http_request_t *req)
{
    conn_t *c = ud;
    http_request_t full;
    http_resp_t *r;

    if (c->close_after || c->closing)
        return; /* pipelined after a closing request: not answered */
    if ((r = resp_new(c)) == NULL) {
        conn_fail(c, 503, "out of memory");
        return;
    }
    if (!req->keep_alive || c->srv->draining) {
        r->close = 1;
        c->close_after = 1;
    }
    full = *req;
    full.peer = c->is_unix ? NULL : &c->peer;
    full.peer_unix = c->is_unix;
    c->srv->fn(c->srv->ud, &full, r);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    conn_t *c = h->data;

    (void)hint;
    *buf = uv_buf_init(c->srv->rbuf, sizeof(c->srv->rbuf));
}

static void pause_if_busy(conn_t *c)
{
    if (c->paused || c->eof || c->closing)
        return;
    if (c->pending >= c->srv->lim.max_pipeline ||
        c->io.st.write_queue_size > WRITE_HIGH) {
        c->paused = 1;
        uv_read_stop(&c->io.st);
    }
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    conn_t *c = st->data;

    if (nread == 0)
        return;
    if (c->lingering) { /* input after the last answer: discarded */
        if (nread < 0)
            conn_close(c);
        return;
    }
    if (nread < 0) {
        uv_read_stop(st);
        c->eof = 1;
        c->peer_fin = nread == UV_EOF;
        /* A half-closed client still gets the answers it asked for. */
        if (nread != UV_EOF || c->pending == 0 ||
            http_parser_mid_request(&c->parser))
            conn_close(c);
        else
            c->close_after = 1;
        return;
    }
    c->last_ms = uv_now(c->srv->loop);
    c->spoke = 1;
    if (!http_parser_mid_request(&c->parser))
        c->req_start_ms = c->last_ms;
    if (http_parser_feed(&c->parser, buf->base, (size_t)nread) != 0) {
        if (!c->closing && !c->close_after)
            conn_fail(c, http_parser_status(&c->parser),
                      http_parser_error(&c->parser));
        return;
    }
    if (c->close_after && !c->eof) {
        uv_read_stop(st);
        c->eof = 1;
    }
    pause_if_busy(c);
    idle_update(c);
}

static void conn_read_start(conn_t *c)
{
    uv_read_start(&c->io.st, on_alloc, on_read);
}

/* ---- connections ---- */

static void server_maybe_free(http_server_t *s)
{
    http_resp_t *r;

    if (!s->freeing || s->open_handles > 0 || s->nconns > 0)
        return;
    while ((r = s->free_resps) != NULL) {
        s->free_resps = r->next;
        free(r);
    }
    free(s);
}

static void on_conn_closed(uv_handle_t *h)
{
    conn_t *c = h->data;
    http_server_t *s = c->srv;

    http_parser_free(&c->parser);
    if (c->admitted && s->lim.peer_gone != NULL)
        s->lim.peer_gone(s->lim.peer_ud, &c->peer);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    s->nconns--;
    s->closing_conns--;
    free(c);
    if (s->freeing) {
        server_maybe_free(s);
        return;
    }
    if (s->draining && s->nconns == 0 && s->drained != NULL) {
        void (*done)(void *) = s->drained;

        s->drained = NULL;
        done(s->drained_ud);
    }
}

/* Answers still being worked on are dropped: their watchers learn it. */
static void conn_close(conn_t *c)
{
    http_resp_t *r, *next;

    if (c->closing)
        return;
    c->closing = 1;
    c->srv->closing_conns++;
    for (r = c->head; r != NULL; r = next) {
        next = r->next;
        if (r->ref != NULL)
            *r->ref = NULL;
        resp_free(c->srv, r);
    }
    c->head = c->tail = NULL;
    c->pending = 0;
    idle_update(c);
    uv_close((uv_handle_t *)&c->io.st, on_conn_closed);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)req; /* closing cancels it (UV_ECANCELED): nothing to free */
    (void)status;
}

/* The last answer is written and the connection is to close. Closing at
 * once would lose that answer whenever the client had sent more (a
 * pipelined request, the rest of a refused body): the kernel answers a
 * close with unread input by a reset, and the reset can destroy the answer
 * before the client read it. So, as nginx's lingering close does: send FIN
 * (the answer is complete), keep reading and discarding until the client
 * closes too or LINGER_MS passed (the sweep), then close. A client that
 * already sent FIN has nothing more to send: closed at once. */
static void conn_linger(conn_t *c)
{
    if (c->closing || c->lingering)
        return;
    if (c->peer_fin) {
        conn_close(c);
        return;
    }
    c->shut.data = c;
    if (uv_shutdown(&c->shut, &c->io.st, on_shutdown) != 0) {
        conn_close(c);
        return;
    }
    c->lingering = 1;
    c->linger_until_ms = uv_now(c->srv->loop) + LINGER_MS;
    uv_read_stop(&c->io.st);
    conn_read_start(c);
    idle_update(c);
}

/* Idle = nothing owed to the client and no request being read: closing it
 * loses nothing (a keep-alive client reconnects). */
static int conn_idle(const conn_t *c)
{
    return !c->closing && c->pending == 0 && c->writes == 0 &&
           !http_parser_mid_request(&c->parser);
}

static void idle_unlink(http_server_t *s, conn_t *c)
{
    if (c->iprev != NULL)
        c->iprev->inext = c->inext;
    else
        s->idle_head = c->inext;
    if (c->inext != NULL)
        c->inext->iprev = c->iprev;
    else
        s->idle_tail = c->iprev;
    c->iprev = c->inext = NULL;
    c->on_idle = 0;
}

/* Keeps the idle list exact: a connection joins its tail when it becomes
 * idle (so the head is the longest idle) and leaves it on any request
 * byte, answer or close. A lingering connection is done: it goes to the
 * head, the first to make room. Called wherever idleness can change. */
static void idle_update(conn_t *c)
{
    http_server_t *s = c->srv;
    int idle = conn_idle(c);

    if (idle == c->on_idle && !(idle && c->lingering && s->idle_head != c))
        return;
    if (c->on_idle)
        idle_unlink(s, c);
    if (!idle)
        return;
    c->on_idle = 1;
    if (c->lingering) {
        c->inext = s->idle_head;
        if (s->idle_head != NULL)
            s->idle_head->iprev = c;
        else
            s->idle_tail = c;
        s->idle_head = c;
    } else {
        c->iprev = s->idle_tail;
        if (s->idle_tail != NULL)
            s->idle_tail->inext = c;
        else
            s->idle_head = c;
        s->idle_tail = c;
    }
}

/* At the connection cap, the longest-idle connection makes room for a new
 * one (as nginx reuses keep-alive connections): otherwise thousands of
 * connections that never send a byte would lock every new client out until
 * their timeouts. Returns 0 when a connection was closed, -1 when every
 * connection is busy. O(1): the head of the idle list (a lingering one
 * first), or the next one when the head is the newcomer itself. */
static int evict_idle(http_server_t *s, const conn_t *except)
{
    conn_t *victim = s->idle_head;

    if (victim == except && victim != NULL)
        victim = victim->inext;
    if (victim == NULL)
        return -1;
    s->evicted++;
    conn_close(victim);
    return 0;
}

/* The peer's address and the per-IP hook; a unix-socket connection has
 * no address and is not counted per IP (it is the gateway's). */
static int conn_admit(http_server_t *s, conn_t *c)
{
    int plen = sizeof(struct sockaddr_storage);

    if (c->is_unix)
        return 0;
    if (uv_tcp_getpeername(&c->io.tcp, (struct sockaddr *)&c->peer, &plen) != 0)
        return -1;
    if (s->lim.admit_peer != NULL) {
        if (s->lim.admit_peer(s->lim.peer_ud, &c->peer) != 0) {
            s->refused_peer++;
            return -1;
        }
        c->admitted = 1;
    }
    uv_tcp_nodelay(&c->io.tcp, 1);
    return 0;
}

static void on_connection(uv_stream_t *st, int status)
{
    listener_t *l = st->data;
    http_server_t *s = l->srv;
    conn_t *c;

    if (status < 0) {
        LOG(LL_WARN, "msg=\"accept failed\" err=%s", uv_strerror(status));
        return;
    }
    if ((c = calloc(1, sizeof(*c))) == NULL)
        return;
    c->srv = s;
    c->is_unix = l->is_unix;
    if (c->is_unix)
        uv_pipe_init(s->loop, &c->io.pipe, 0);
    else
        uv_tcp_init(s->loop, &c->io.tcp);
    c->io.st.data = c;
    c->next = s->conns;
    if (s->conns != NULL)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    http_parser_init(&c->parser, s->lim.max_headers, s->lim.max_body,
                     on_request, c);
    http_parser_capture(&c->parser, s->lim.user_header);
    /* nconns counts connections still closing too: they free their slot. */
    if (s->nconns - s->closing_conns > s->lim.max_conns && !s->draining)
        (void)evict_idle(s, c);
    if (uv_accept(st, &c->io.st) != 0 ||
        s->nconns - s->closing_conns > s->lim.max_conns || s->draining) {
        if (s->nconns - s->closing_conns > s->lim.max_conns)
            s->refused++;
        conn_close(c);
        return;
    }
    if (conn_admit(s, c) != 0) {
        conn_close(c);
        return;
    }
    c->last_ms = uv_now(s->loop);
    conn_read_start(c);
    idle_update(c);
}

/* A connection that never sent a byte gets the header timeout from accept
 * (silent connections must not hold the cap for the idle timeout); any
 * other expires when idle, or when its client stopped reading. */
static int conn_expired(const conn_t *c, uint64_t now)
{
    const http_limits_t *lim = &c->srv->lim;

    if (!c->spoke)
        return now - c->last_ms > lim->header_timeout_ms;
    return now - c->last_ms > lim->idle_timeout_ms &&
           (c->pending == 0 || c->writes > 0);
}

/* Header/request timeout (408) and idle keep-alive timeout. */
static void on_sweep(uv_timer_t *t)
{
    http_server_t *s = t->data;
    uint64_t now = uv_now(s->loop);
    conn_t *c, *next;

    for (c = s->conns; c != NULL; c = next) {
        next = c->next;
        if (c->closing)
            continue;
        if (c->lingering) {
            if (now >= c->linger_until_ms)
                conn_close(c);
            continue;
        }
        if (http_parser_mid_request(&c->parser) && !c->close_after &&
            now - c->req_start_ms > s->lim.header_timeout_ms)
            conn_fail(c, 408, "request not received in time");
        else if (conn_expired(c, now))
            conn_close(c);
    }
}

/* ---- server ---- */

static int bind_socket(const char *listen, int *fd, char *errstr, size_t n)
{
    char host[256];
    const char *colon = strrchr(listen, ':');
    struct sockaddr_storage ss;
    int one = 1, port, s;
    char *end;

    if (colon == NULL || (size_t)(colon - listen) >= sizeof(host))
        goto bad;
    port = (int)strtol(colon + 1, &end, 10);
    if (*end != '\0' || port < 0 || port > 65535 || end == colon + 1)
        goto bad;
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        memmove(host, host + 1, strlen(host) - 2);
        host[strlen(host) - 2] = '\0';
        if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) != 0)
            goto bad;
    } else if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) != 0) {
        goto bad;
    }
    s = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
        setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) ||
        bind(s, (struct sockaddr *)&ss,
             ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                      : sizeof(struct sockaddr_in)) != 0) {
        snprintf(errstr, n, "--listen %s: %s", listen, strerror(errno));
        if (s >= 0)
            close(s);
        return -1;
    }
    *fd = s;
    return 0;
bad:
    snprintf(errstr, n, "--listen %s: expected IPv4:port or [IPv6]:port",
             listen);
    return -1;
}

static void on_server_handle_closed(uv_handle_t *h)
{
    http_server_t *s = h->data;

    s->open_handles--;
    server_maybe_free(s);
}

/* Each connection is a descriptor: raise the soft limit towards the cap,
 * and lower the cap when the hard limit is below it (with room for Redis,
 * Kafka and the listener). */
static uint32_t fit_fd_limit(uint32_t max_conns)
{
    const rlim_t reserve = 64;
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return max_conns;
    if (rl.rlim_cur < max_conns + reserve && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max < max_conns + reserve ? rl.rlim_max
                                                        : max_conns + reserve;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur >= max_conns + reserve)
        return max_conns;
    LOG(LL_WARN,
        "msg=\"connection cap lowered to the descriptor limit\" "
        "max_conns=%u nofile=%llu",
        max_conns, (unsigned long long)rl.rlim_cur);
    return rl.rlim_cur > reserve ? (uint32_t)(rl.rlim_cur - reserve) : 1;
}

/* A socket file left by a process that is gone is removed; one that
 * still accepts connections belongs to a running server and is kept. */
static void unlink_stale(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct stat st;
    int fd;

    if (lstat(path, &st) != 0 || !S_ISSOCK(st.st_mode))
        return;
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        return;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 &&
        errno == ECONNREFUSED)
        unlink(path);
    close(fd);
}

/* "unix:PATH" or a TCP address; l->open once its handle exists. */
static int listener_open(http_server_t *s, listener_t *l, const char *spec,
                         char *errstr, size_t n)
{
    int fd = -1, rc;

    l->srv = s;
    l->io.st.data = l;
    if (strncmp(spec, "unix:", 5) == 0) {
        if (spec[5] == '\0' || strlen(spec + 5) >= sizeof(l->path)) {
            snprintf(errstr, n, "--listen %s: want unix:PATH (< %zu bytes)",
                     spec, sizeof(l->path));
            return -1;
        }
        l->is_unix = 1;
        uv_pipe_init(s->loop, &l->io.pipe, 0);
        l->io.st.data = l;
        l->open = 1;
        s->open_handles++;
        unlink_stale(spec + 5);
        if ((rc = uv_pipe_bind(&l->io.pipe, spec + 5)) != 0)
            goto uv_fail;
        snprintf(l->path, sizeof(l->path), "%s", spec + 5);
    } else {
        if (bind_socket(spec, &fd, errstr, n) != 0)
            return -1;
        uv_tcp_init(s->loop, &l->io.tcp);
        l->io.st.data = l;
        l->open = 1;
        s->open_handles++;
        if ((rc = uv_tcp_open(&l->io.tcp, fd)) != 0) {
            close(fd); /* not owned by the handle */
            goto uv_fail;
        }
    }
    if ((rc = uv_listen(&l->io.st, 4096, on_connection)) != 0)
        goto uv_fail;
    return 0;
uv_fail:
    snprintf(errstr, n, "--listen %s: %s", spec, uv_strerror(rc));
    return -1;
}

static void on_listener_closed(uv_handle_t *h)
{
    listener_t *l = h->data;
    http_server_t *s = l->srv;

    s->open_handles--;
    server_maybe_free(s); /* l lies inside s: not touched after this */
}

/* Stop accepting everywhere; socket files are removed. */
static void listeners_close(http_server_t *s)
{
    int i;

    s->listening = 0;
    for (i = 0; i < s->nls; i++) {
        listener_t *l = &s->ls[i];

        if (!l->open)
            continue;
        l->open = 0;
        if (l->path[0] != '\0')
            unlink(l->path);
        uv_close((uv_handle_t *)&l->io.st, on_listener_closed);
    }
}

/* Each comma-separated address of the list. */
static int listeners_open(http_server_t *s, const char *list, char *errstr,
                          size_t n)
{
    char spec[256];
    const char *p = list, *comma;
    size_t len;

    do {
        comma = strchr(p, ',');
        len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == 0 || len >= sizeof(spec) || s->nls == LISTENERS) {
            snprintf(errstr, n,
                     "--listen %s: want 1..%d comma-separated "
                     "HOST:PORT, [IPv6]:PORT or unix:PATH",
                     list, LISTENERS);
            return -1;
        }
        memcpy(spec, p, len);
        spec[len] = '\0';
        if (listener_open(s, &s->ls[s->nls++], spec, errstr, n) != 0)
            return -1;
        p = comma + 1;
    } while (comma != NULL);
    return 0;
}

http_server_t *http_server_new(uv_loop_t *loop, const char *listen,
                               const http_limits_t *lim, http_handler_fn fn,
                               void *ud, char *errstr, size_t n)
{
    http_server_t *s = calloc(1, sizeof(*s));

    if (s == NULL) {
        snprintf(errstr, n, "out of memory");
        return NULL;
    }
    s->loop = loop;
    s->lim = *lim;
    s->lim.max_conns = fit_fd_limit(lim->max_conns);
    s->fn = fn;
    s->ud = ud;
    uv_check_init(loop, &s->check);
    uv_timer_init(loop, &s->sweep);
    s->check.data = s->sweep.data = s;
    s->open_handles = 2;
    s->listening = 1;
    if (listeners_open(s, listen, errstr, n) != 0) {
        http_server_free(s);
        return NULL;
    }
    uv_check_start(&s->check, on_check);
    uv_timer_start(&s->sweep, on_sweep, SWEEP_MS, SWEEP_MS);
    return s;
}

void http_server_drain(http_server_t *s, void (*done)(void *), void *ud)
{
    conn_t *c, *next;

    s->draining = 1;
    s->drained = done;
    s->drained_ud = ud;
    if (s->listening)
        listeners_close(s);
    for (c = s->conns; c != NULL; c = next) {
        next = c->next;
        if (c->closing)
            continue;
        if (c->pending == 0 && c->writes == 0)
            conn_linger(c); /* FIN: a request on the wire sees a close,
                               not a reset */
        else if (!c->close_after) {
            c->close_after = 1;
            if (!c->eof)
                uv_read_stop(&c->io.st);
            c->eof = 1;
        }
    }
    if (s->nconns == 0 && s->drained != NULL) {
        s->drained = NULL;
        done(ud);
    }
}

uint32_t http_server_conns(const http_server_t *s)
{
    return s->nconns;
}

uint64_t http_server_refused(const http_server_t *s)
{
    return s->refused;
}

uint64_t http_server_refused_peer(const http_server_t *s)
{
    return s->refused_peer;
}

uint64_t http_server_evicted(const http_server_t *s)
{
    return s->evicted;
}

void http_server_free(http_server_t *s)
{
    conn_t *c;

    if (s == NULL)
        return;
    s->freeing = 1;
    s->drained = NULL;
    for (c = s->conns; c != NULL; c = c->next)
        conn_close(c);
    if (s->listening)
        listeners_close(s);
    uv_close((uv_handle_t *)&s->check, on_server_handle_closed);
    uv_close((uv_handle_t *)&s->sweep, on_server_handle_closed);
}
