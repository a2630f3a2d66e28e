/* load.c -- the load engine. See load.h.
 *
 * Connections are opened (and counted) before the clock starts, so a run
 * measures the server, not the TCP handshakes. A 1 ms timer ends the send
 * phase and, in the open loop, sends what has become due; answers free a
 * slot and send again at once, so the timer's granularity only matters when
 * every connection is idle. The send lag histogram shows how late the
 * generator itself was: if its p99 is high, the generator (not the server)
 * was the bottleneck and the run says so. */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <llhttp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <uv.h>

#include "load.h"
#include "log.h"

#define READ_BUF 65536
#define BODY_KEEP                                                              \
    1024 /* a hold's 201 carries redemption_id after ~10 fields                \
          */
#define REQ_MAX    (400 + 32 + TOKENS_MAX_LEN) /* with a bearer token */
#define RETRY_MS   50
#define GIVE_UP_NS (5ULL * 1000000000ULL) /* no connection for this long */

enum { CONN_DOWN, CONN_CONNECTING, CONN_UP, CONN_CLOSING };

typedef struct pending {
    uint64_t intended, sent; /* ns since start */
    int64_t coupon, user;
    checkout_step_t step;    /* STEP_ISSUE, or the checkout's step */
    checkout_step_t planned; /* checkout: its second step, by plan */
    uint64_t start;          /* checkout: the hold's intended time */
} pending_t;

/* A checkout's second step, due as soon as its hold was answered. */
typedef struct follow {
    checkout_step_t step; /* STEP_ABANDON: none due */
    int64_t coupon, user;
    uint64_t start;
    char rid[CHECKOUT_RID_MAX + 1];
} follow_t;

typedef struct load load_t;

typedef struct conn {
    uv_tcp_t tcp;
    uv_connect_t creq;
    uv_timer_t retry;
    load_t *l;
    llhttp_t parser;
    int state;
    int keep_alive;
    int inflight, head; /* ring of `pipeline` pending requests */
    pending_t *ring;
    follow_t follow;
    char body[BODY_KEEP];
    size_t blen;
    char rbuf[READ_BUF];
} conn_t;

typedef struct wreq {
    uv_write_t req;
    char buf[REQ_MAX];
} wreq_t;

struct load {
    const load_opts_t *o;
    load_result_t *r;
    uv_loop_t loop;
    uv_timer_t tick;
    uv_poll_t due; /* timerfd armed at the next intended send time */
    int due_fd;
    uint64_t armed; /* ns since start the timerfd is armed for; 0 = none */
    int slot_wait;  /* due requests found every connection busy */
    llhttp_settings_t settings;
    struct sockaddr_storage addr;
    conn_t *conns;
    int nconns, cursor;
    int resolved; /* connections that connected or failed at start-up */
    int up;       /* connections in CONN_UP */
    int started, sending, stopping;
    uint64_t free_slots; /* sum over CONN_UP of pipeline - inflight */
    uint64_t inflight, idx;
    uint64_t start, send_end, last_answer, down_since; /* uv_hrtime ns */
    checkout_plan_t plan;
    char err[256];
};

static void conn_connect(conn_t *c);
static void load_stop(load_t *l);
static void load_fill(load_t *l, conn_t *c);

/* ---------------------------------------------------------------- results */

int load_result_init(load_result_t *r)
{
    memset(r, 0, sizeof(*r));
    if (checkout_result_init(&r->checkout) != 0)
        return -1;
    r->latency = hist_new();
    r->service = hist_new();
    r->lag = hist_new();
    r->timer_lag = hist_new();
    if (r->latency == NULL || r->service == NULL || r->lag == NULL ||
        r->timer_lag == NULL) {
        load_result_free(r);
        return -1;
    }
    return 0;
}

void load_result_free(load_result_t *r)
{
    hist_free(r->latency);
    hist_free(r->service);
    hist_free(r->lag);
    hist_free(r->timer_lag);
    r->latency = r->service = r->lag = r->timer_lag = NULL;
    checkout_result_free(&r->checkout);
}

uint64_t load_result_count(const load_result_t *r, const char *name)
{
    int i;

    for (i = 0; i < LOAD_MAX_RESULTS && r->results[i].name[0] != '\0'; i++)
        if (strcmp(r->results[i].name, name) == 0)
            return r->results[i].n;
    return 0;
}

static void load_result_add(load_result_t *r, const char *name)
{
    int i;

    for (i = 0; i < LOAD_MAX_RESULTS; i++) {
        if (r->results[i].name[0] == '\0') {
            snprintf(r->results[i].name, LOAD_RESULT_LEN, "%s", name);
            r->results[i].n = 1;
            return;
        }
        if (strcmp(r->results[i].name, name) == 0) {
            r->results[i].n++;
            return;
        }
    }
    r->results_other++;
}

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    return p;
}

int load_parse_result(const char *body, size_t len, char *out, size_t n)
{
    static const char key[] = "\"result\"";
    const char *p = body, *end = body + len, *q;

    while ((q = memmem(p, (size_t)(end - p), key, sizeof(key) - 1)) != NULL) {
        p = skip_ws(q + sizeof(key) - 1, end);
        if (p < end && *p == ':') {
            p = skip_ws(p + 1, end);
            if (p >= end || *p != '"')
                return -1;
            q = memchr(p + 1, '"', (size_t)(end - p - 1));
            if (q == NULL || (size_t)(q - p - 1) >= n || q == p + 1)
                return -1;
            memcpy(out, p + 1, (size_t)(q - p - 1));
            out[q - p - 1] = '\0';
            return 0;
        }
    }
    return -1;
}

/* ---------------------------------------------------------------- sending */

static uint64_t load_now(const load_t *l)
{
    return uv_hrtime() - l->start;
}

static void on_write(uv_write_t *req, int status)
{
    (void)status; /* a failed write shows up as a read error too */
    free(req->data);
}

static int conn_write(conn_t *c, const char *buf, size_t len)
{
    uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
    int rc = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    wreq_t *w;

    if (rc == (int)len)
        return 0;
    if (rc < 0 && rc != UV_EAGAIN)
        return -1;
    if (rc < 0)
        rc = 0;
    /* The socket buffer is full: queue the rest; libuv keeps the order. */
    w = malloc(sizeof(*w));
    if (w == NULL)
        return -1;
    memcpy(w->buf, buf + rc, len - (size_t)rc);
    w->req.data = w;
    b = uv_buf_init(w->buf, (unsigned)(len - (size_t)rc));
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write) != 0) {
        free(w);
        return -1;
    }
    return 0;
}

static void conn_fail(conn_t *c);

/* POST path with body (may be empty) as the pending request's user, and
 * the counters of a request in flight. */
static void conn_post(conn_t *c, pending_t *p, const char *path,
                      const char *body, int blen)
{
    load_t *l = c->l;
    const load_opts_t *o = l->o;
    char req[REQ_MAX];
    const char *auth = NULL;
    size_t alen = 0;
    int len;

    if (o->tokens != NULL &&
        (auth = tokens_header(o->tokens, p->user, &alen)) == NULL)
        alen = 0;
    len = snprintf(req, sizeof(req),
                   "POST %s HTTP/1.1\r\n"
                   "Host: %s:%d\r\nContent-Type: application/json\r\n"
                   "%.*sContent-Length: %d\r\n\r\n%s",
                   path, o->host, o->port, (int)alen, auth ? auth : "", blen,
                   body);
    assert(len > 0 && len < (int)sizeof(req));
    c->inflight++;
    l->free_slots--;
    l->inflight++;
    l->r->sent++;
    if (conn_write(c, req, (size_t)len) != 0)
        conn_fail(c);
}

/* A new unit of work: an issue, or a checkout's hold. */
static void conn_send(conn_t *c, uint64_t intended)
{
    load_t *l = c->l;
    const load_opts_t *o = l->o;
    pending_t *p;
    char path[128], body[256];
    int blen;

    assert(c->state == CONN_UP && c->inflight < o->pipeline);
    p = &c->ring[(c->head + c->inflight) % o->pipeline];
    p->coupon = o->coupon + (int64_t)(l->idx % (uint64_t)o->coupons);
    p->user = users_next(o->users);
    p->sent = load_now(l);
    p->intended = o->open_loop ? intended : p->sent;
    p->start = p->intended;
    if (o->flow == LOAD_FLOW_CHECKOUT) {
        p->step = STEP_HOLD;
        p->planned = checkout_plan_next(&l->plan);
        checkout_hold_path(path, sizeof(path), p->coupon);
        blen = checkout_hold_body(body, sizeof(body), p->user, o->order_prefix,
                                  l->idx, o->order_amount);
        l->r->checkout.started++;
    } else {
        p->step = STEP_ISSUE;
        snprintf(path, sizeof(path), "/v1/coupons/%lld/issues",
                 (long long)p->coupon);
        blen = snprintf(body, sizeof(body), "{\"user_id\":%lld}",
                        (long long)p->user);
    }
    assert(blen > 0);
    l->idx++;
    if (o->open_loop) {
        hist_record(l->r->lag, p->sent - p->intended);
        l->r->queued += (uint64_t)l->slot_wait;
    }
    conn_post(c, p, path, body, blen);
}

/* The checkout's second step, on the connection that got its hold's
 * answer (the slot that answer freed), before any new work. */
static void conn_send_follow(conn_t *c)
{
    load_t *l = c->l;
    follow_t *f = &c->follow;
    pending_t *p;
    char path[128 + CHECKOUT_RID_MAX];

    if (f->step != STEP_CONFIRM && f->step != STEP_CANCEL)
        return; /* none due (also the zeroed state of a new connection) */
    assert(c->state == CONN_UP && c->inflight < l->o->pipeline);
    p = &c->ring[(c->head + c->inflight) % l->o->pipeline];
    p->step = f->step;
    p->planned = f->step;
    p->coupon = f->coupon;
    p->user = f->user;
    p->start = f->start;
    p->sent = p->intended = load_now(l);
    f->step = STEP_ABANDON;
    checkout_step_path(path, sizeof(path), p->step, f->rid);
    conn_post(c, p, path, "", 0);
}

static uint64_t load_duration_ns(const load_t *l)
{
    return l->o->duration_s > 0 ? (uint64_t)(l->o->duration_s * 1e9)
                                : UINT64_MAX;
}

static int load_may_send(const load_t *l)
{
    if (!l->sending || l->stopping)
        return 0;
    if (l->o->requests != 0 && l->idx >= l->o->requests)
        return 0;
    /* Open loop: nothing intended at or after the end of the run. */
    return !l->o->open_loop || arrival_peek(l->o->sched) < load_duration_ns(l);
}

static conn_t *load_pick(load_t *l)
{
    int i;

    for (i = 0; i < l->nconns; i++) {
        conn_t *c = &l->conns[(l->cursor + i) % l->nconns];

        if (c->state == CONN_UP && c->inflight < l->o->pipeline) {
            l->cursor = (l->cursor + i + 1) % l->nconns;
            return c;
        }
    }
    return NULL;
}

/* Wakes the loop at the next intended time with the timerfd's ns
 * precision (libuv timers have 1 ms), so the generator itself adds tens of
 * microseconds of lag, not half a millisecond. */
static void load_arm(load_t *l)
{
    uint64_t next = arrival_peek(l->o->sched), at = l->start + next;
    struct itimerspec its = { 0 };

    if (next == l->armed)
        return;
    its.it_value.tv_sec = (time_t)(at / 1000000000ULL);
    its.it_value.tv_nsec = (long)(at % 1000000000ULL);
    if (timerfd_settime(l->due_fd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
        l->armed = next;
}

/* Open loop: sends every request that is due, while slots are free; when
 * none is due yet, arms the timer for the next. With no free slot, the next
 * answer calls this again. */
static void load_dispatch(load_t *l)
{
    uint64_t now = load_now(l);
    conn_t *c;

    while (load_may_send(l)) {
        if (arrival_peek(l->o->sched) > now) {
            l->slot_wait = 0; /* caught up */
            load_arm(l);
            break;
        }
        if (l->free_slots == 0) {
            l->slot_wait = 1; /* the next answer sends it */
            break;
        }
        c = load_pick(l);
        if (c == NULL)
            break;
        conn_send(c, arrival_next(l->o->sched));
    }
}

static void on_due(uv_poll_t *p, int status, int events)
{
    load_t *l = p->data;
    uint64_t expirations, now;

    (void)status;
    (void)events;
    if (read(l->due_fd, &expirations, sizeof(expirations)) < 0)
        expirations = 0; /* EAGAIN: a re-arm raced the wake-up; harmless */
    now = load_now(l);
    if (l->armed != 0 && l->sending && now >= l->armed)
        hist_record(l->r->timer_lag, now - l->armed);
    l->armed = 0;
    load_dispatch(l);
}

/* Closed loop: keeps the connection's pipeline full. */
static void load_fill(load_t *l, conn_t *c)
{
    while (load_may_send(l) && c->state == CONN_UP &&
           c->inflight < l->o->pipeline)
        conn_send(c, 0);
}

/* -------------------------------------------------------------- receiving */

static int on_message_begin(llhttp_t *p)
{
    conn_t *c = p->data;

    c->blen = 0;
    return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
    conn_t *c = p->data;
    size_t room = sizeof(c->body) - c->blen;

    if (len > room)
        len = room; /* the result field comes first; the rest is not needed */
    memcpy(c->body + c->blen, at, len);
    c->blen += len;
    return 0;
}

/* Checkout: counts the step and sets up the second one. */
static void load_record_checkout(conn_t *c, const pending_t *pd, int status,
                                 uint64_t now)
{
    follow_t *f = &c->follow;
    int has_rid = 0;

    if (pd->step == STEP_HOLD && status == 201)
        has_rid =
            checkout_parse_rid(c->body, c->blen, f->rid, sizeof(f->rid)) == 0;
    f->step = checkout_answer(
        &c->l->r->checkout, pd->step, pd->planned, status, has_rid,
        now - (pd->step == STEP_HOLD ? pd->intended : pd->sent),
        now - pd->start);
    f->coupon = pd->coupon;
    f->user = pd->user;
    f->start = pd->start;
    if (has_rid && c->l->o->accepted != NULL)
        fprintf(c->l->o->accepted, "%s %s\n", f->rid,
                checkout_step_name(pd->planned));
}

static void load_record(load_t *l, const pending_t *pd, int status,
                        const char *body, size_t blen)
{
    load_result_t *r = l->r;
    uint64_t now = load_now(l);
    char result[LOAD_RESULT_LEN];

    r->answered++;
    r->status[status >= 100 && status < 600 ? status : 0]++;
    hist_record(r->latency, now - pd->intended);
    hist_record(r->service, now - pd->sent);
    if (load_parse_result(body, blen, result, sizeof(result)) == 0)
        load_result_add(r, result);
    else
        r->no_result++;
    if (status == 202) {
        r->last_202_s = (double)now / 1e9;
        if (l->o->accepted != NULL)
            fprintf(l->o->accepted, "%lld %lld\n", (long long)pd->coupon,
                    (long long)pd->user);
    }
    l->last_answer = now;
}

static int on_message_complete(llhttp_t *p)
{
    conn_t *c = p->data;
    load_t *l = c->l;

    if (c->inflight == 0) {
        l->r->parse_errors++; /* an answer nobody asked for */
        return HPE_USER;
    }
    load_record(l, &c->ring[c->head], llhttp_get_status_code(p), c->body,
                c->blen);
    if (c->ring[c->head].step != STEP_ISSUE)
        load_record_checkout(c, &c->ring[c->head], llhttp_get_status_code(p),
                             load_now(l));
    c->head = (c->head + 1) % l->o->pipeline;
    c->inflight--;
    l->inflight--;
    l->free_slots++;
    if (!llhttp_should_keep_alive(p))
        c->keep_alive = 0;
    return 0;
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    conn_t *c = h->data;

    (void)hint;
    *buf = uv_buf_init(c->rbuf, sizeof(c->rbuf));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    conn_t *c = s->data;
    load_t *l = c->l;
    llhttp_errno_t e;

    if (nread == 0)
        return;
    if (nread < 0) {
        conn_fail(c);
        return;
    }
    e = llhttp_execute(&c->parser, buf->base, (size_t)nread);
    if (e != HPE_OK) {
        if (e != HPE_USER)
            l->r->parse_errors++;
        conn_fail(c);
        return;
    }
    if (!c->keep_alive) {
        conn_fail(c); /* the server closes: reconnect */
        return;
    }
    if (!l->stopping)
        conn_send_follow(c);
    if (l->o->open_loop)
        load_dispatch(l);
    else
        load_fill(l, c);
}

/* ------------------------------------------------------------ connections */

static void on_retry(uv_timer_t *t)
{
    conn_t *c = t->data;

    if (!c->l->stopping && c->state == CONN_DOWN)
        conn_connect(c);
}

static void on_closed(uv_handle_t *h)
{
    conn_t *c = h->data;
    load_t *l = c->l;

    c->state = CONN_DOWN;
    if (!l->stopping && l->started)
        uv_timer_start(&c->retry, on_retry, RETRY_MS, 0);
}

/* Lost connection: its requests in flight are errors, not latencies. */
static void conn_fail(conn_t *c)
{
    load_t *l = c->l;

    if (c->state == CONN_CLOSING || c->state == CONN_DOWN)
        return;
    if (c->state == CONN_UP) {
        l->free_slots -= (uint64_t)(l->o->pipeline - c->inflight);
        l->up--;
        if (l->up == 0)
            l->down_since = uv_hrtime();
    }
    c->follow.step = STEP_ABANDON; /* a due second step is lost with it */
    l->r->sock_errors += (uint64_t)c->inflight;
    l->inflight -= (uint64_t)c->inflight;
    c->inflight = 0;
    c->head = 0;
    c->state = CONN_CLOSING;
    uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void load_check_started(load_t *l);

static void on_connect(uv_connect_t *req, int status)
{
    conn_t *c = req->data;
    load_t *l = c->l;

    if (l->stopping)
        return; /* load_stop() closed the handle already */
    if (!l->started)
        l->resolved++;
    if (status != 0) {
        l->r->connect_errors++;
        snprintf(l->err, sizeof(l->err), "connect %s:%d: %s", l->o->host,
                 l->o->port, uv_strerror(status));
        conn_fail(c);
    } else {
        c->state = CONN_UP;
        c->keep_alive = 1;
        l->up++;
        l->free_slots += (uint64_t)l->o->pipeline;
        l->r->connects++;
        llhttp_init(&c->parser, HTTP_RESPONSE, &l->settings);
        c->parser.data = c;
        uv_tcp_nodelay(&c->tcp, 1);
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
        if (l->started && !l->o->open_loop)
            load_fill(l, c);
    }
    load_check_started(l);
}

static void conn_connect(conn_t *c)
{
    load_t *l = c->l;
    int rc;

    uv_tcp_init(&l->loop, &c->tcp);
    c->tcp.data = c;
    c->creq.data = c;
    c->state = CONN_CONNECTING;
    rc = uv_tcp_connect(&c->creq, &c->tcp, (struct sockaddr *)&l->addr,
                        on_connect);
    if (rc != 0) {
        /* No callback will come: account for it as a failed connect. */
        l->r->connect_errors++;
        if (!l->started)
            l->resolved++;
        snprintf(l->err, sizeof(l->err), "connect: %s", uv_strerror(rc));
        conn_fail(c);
        load_check_started(l);
    }
}

/* ----------------------------------------------------------------- phases */

/* Due but never sent: the server held every slot. */
static void load_count_missed(load_t *l, uint64_t now)
{
    uint64_t end = load_duration_ns(l);

    /* Due by now, and intended before the end (as load_may_send()). */
    while (arrival_peek(l->o->sched) <= now &&
           arrival_peek(l->o->sched) < end &&
           (l->o->requests == 0 || l->idx + l->r->missed < l->o->requests)) {
        arrival_next(l->o->sched);
        l->r->missed++;
    }
}

static void load_end_send(load_t *l, uint64_t now)
{
    l->sending = 0;
    l->send_end = now;
    if (l->o->open_loop)
        load_count_missed(l, now);
}

static void on_tick(uv_timer_t *t)
{
    load_t *l = t->data;
    const load_opts_t *o = l->o;
    uint64_t now = load_now(l);

    if (l->sending) {
        int done;

        if (o->open_loop)
            load_dispatch(l);
        done = now >= load_duration_ns(l) ||
               (o->requests > 0 && l->idx >= o->requests);

        if (l->up == 0 && uv_hrtime() - l->down_since > GIVE_UP_NS) {
            /* l->err keeps the last connect error, which says why. */
            LOG(LL_WARN, "msg=\"no connection for 5 s, giving up\"");
            done = 1;
        }
        if (done)
            load_end_send(l, now);
    }
    if (!l->sending &&
        (l->inflight == 0 || (double)(now - l->send_end) >= o->drain_s * 1e9))
        load_stop(l);
}

static void load_begin(load_t *l)
{
    int i;

    l->started = 1;
    if (l->up == 0) {
        load_stop(l);
        return;
    }
    l->err[0] = '\0';
    l->sending = 1;
    l->start = uv_hrtime();
    uv_timer_start(&l->tick, on_tick, 1, 1);
    if (l->o->open_loop) {
        load_dispatch(l);
        return;
    }
    for (i = 0; i < l->nconns; i++)
        load_fill(l, &l->conns[i]);
}

static void load_check_started(load_t *l)
{
    if (!l->started && l->resolved == l->nconns)
        load_begin(l);
}

static void load_stop(load_t *l)
{
    int i;

    if (l->stopping)
        return;
    l->stopping = 1;
    l->r->unanswered = l->inflight;
    if (l->start != 0) {
        l->r->send_s = (double)l->send_end / 1e9;
        l->r->total_s = (double)l->last_answer / 1e9;
    }
    l->r->distinct_users = users_distinct(l->o->users);
    uv_close((uv_handle_t *)&l->tick, NULL);
    uv_close((uv_handle_t *)&l->due, NULL);
    for (i = 0; i < l->nconns; i++) {
        conn_t *c = &l->conns[i];

        uv_close((uv_handle_t *)&c->retry, NULL);
        if (c->state == CONN_UP || c->state == CONN_CONNECTING) {
            c->state = CONN_CLOSING;
            uv_close((uv_handle_t *)&c->tcp, NULL);
        }
    }
}

/* ------------------------------------------------------------------- run */

/* Loopback only: a benchmark must never load someone else's server. */
static int load_addr(const load_opts_t *o, struct sockaddr_storage *ss,
                     char *errstr, size_t n)
{
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    const char *host =
        strcmp(o->host, "localhost") == 0 ? "127.0.0.1" : o->host;

    if (uv_ip4_addr(host, o->port, in4) == 0) {
        if ((ntohl(in4->sin_addr.s_addr) >> 24) == 127)
            return 0;
    } else if (uv_ip6_addr(host, o->port, in6) == 0) {
        if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
            return 0;
    } else {
        snprintf(errstr, n, "%s: not an IP address", o->host);
        return -1;
    }
    snprintf(errstr, n, "%s: not a loopback address (127.0.0.0/8, ::1)",
             o->host);
    return -1;
}

static int load_setup(load_t *l, char *errstr, size_t n)
{
    int i;

    l->conns = calloc((size_t)l->nconns, sizeof(*l->conns));
    if (l->conns == NULL)
        goto oom;
    for (i = 0; i < l->nconns; i++) {
        l->conns[i].ring = calloc((size_t)l->o->pipeline, sizeof(pending_t));
        if (l->conns[i].ring == NULL)
            goto oom;
        l->conns[i].l = l;
    }
    llhttp_settings_init(&l->settings);
    l->settings.on_message_begin = on_message_begin;
    l->settings.on_body = on_body;
    l->settings.on_message_complete = on_message_complete;
    return 0;
oom:
    snprintf(errstr, n, "out of memory for %d connections", l->nconns);
    return -1;
}

static void load_teardown(load_t *l)
{
    int i;

    if (l->conns == NULL)
        return;
    for (i = 0; i < l->nconns; i++)
        free(l->conns[i].ring);
    free(l->conns);
}

int load_run(const load_opts_t *o, load_result_t *r, char *errstr, size_t n)
{
    load_t l;
    int i, rc = -1;

    assert(o->connections >= 1 && o->pipeline >= 1 && o->coupons >= 1);
    assert(o->users != NULL && (!o->open_loop || o->sched != NULL));
    assert(o->flow != LOAD_FLOW_CHECKOUT ||
           (o->pipeline == 1 && o->order_prefix != NULL));
    assert(o->requests > 0 || o->duration_s > 0); /* bounded */
    memset(&l, 0, sizeof(l));
    l.o = o;
    l.r = r;
    l.nconns = o->connections;
    checkout_plan_init(&l.plan, o->abandon, o->cancel);
    if (load_addr(o, &l.addr, errstr, n) != 0)
        return -1;
    if (load_setup(&l, errstr, n) != 0)
        goto out;
    l.due_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (l.due_fd < 0) {
        snprintf(errstr, n, "timerfd_create: %s", strerror(errno));
        goto out;
    }
    uv_loop_init(&l.loop);
    uv_timer_init(&l.loop, &l.tick);
    l.tick.data = &l;
    uv_poll_init(&l.loop, &l.due, l.due_fd);
    l.due.data = &l;
    uv_poll_start(&l.due, UV_READABLE, on_due);
    for (i = 0; i < l.nconns; i++) {
        uv_timer_init(&l.loop, &l.conns[i].retry);
        l.conns[i].retry.data = &l.conns[i];
    }
    for (i = 0; i < l.nconns && !l.stopping; i++)
        conn_connect(&l.conns[i]);
    uv_run(&l.loop, UV_RUN_DEFAULT);
    uv_loop_close(&l.loop);
    if (r->connects == 0) {
        snprintf(errstr, n, "%s", l.err[0] ? l.err : "no connection");
        goto out;
    }
    snprintf(errstr, n, "%s", l.err); /* a warning, or "" */
    rc = 0;
out:
    if (l.due_fd > 0)
        close(l.due_fd);
    load_teardown(&l);
    return rc;
}
