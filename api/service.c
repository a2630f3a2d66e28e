/* service.c -- request handling of couponq-api. See service.h.
 *
 * Request life in the slot table:
 *   ADMIT   EVALSHA admit.lua sent          deadline: redis_timeout_ms
 *   PRODUCE event queued in librdkafka      the delivery report decides
 *   RELEASE EVALSHA release.lua sent         deadline: timeout_ms
 *   READ    GET reads / healthz PING sent    deadline: redis_timeout_ms
 * A slot is answered at most once (answered flag) and freed only when its
 * last callback ran, so a token in a late callback is never stale; the
 * generation check is the safety net.
 *
 * A delivery report whose outcome is unknown (timed out in flight: the
 * event may still be appended when a stalled broker resumes) neither
 * releases the admission nor answers 202: the user gets 503 "outcome
 * unknown" and the event moves to the re-produce table (its own slots_t,
 * capped at max_inflight), which sends the very same event (event_id, seq,
 * payload, key) again with backoff until Kafka acknowledges it. The worker
 * inserts by (coupon_id, user_id), so a second copy is harmless, and the
 * user's coupon is issued either way. */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "answer.h"
#include "body.h"
#include "event.h"
#include "fmt.h"
#include "http_resp.h"
#include "log.h"
#include "route.h"
#include "service_internal.h"

#define SWEEP_MS 20
/* Re-produce tokens carry this bit; slot indices stay below it (the cap,
 * max_inflight, is at most 1,000,000). */
#define RP_TAG         ((uint64_t)1 << 31)
#define RP_BACKOFF_MS  100 /* first retry; doubles per failed attempt */
#define RP_BACKOFF_MAX 5000
#define RP_DRAIN_MS    10000 /* a drain waits this long for re-produces */
#define TOK(p)         ((slot_token_t)(uintptr_t)(p))
#define PTR(t)         ((void *)(uintptr_t)(t))

/* Status codes we count; the last entry catches the rest. */
static const int codes[SERVICE_NCODES] = { 200, 201, 202, 400, 401, 403, 404,
                                           405, 408, 409, 410, 411, 413, 414,
                                           422, 429, 431, 500, 503, 0 };
#define NCODES SERVICE_NCODES

/* ---- metrics ---- */

static int register_metrics(service_t *s)
{
    char labels[96];
    int r, i;

    for (r = 0; r < ROUTE_COUNT; r++) {
        snprintf(labels, sizeof(labels), "route=\"%s\"", route_name(r));
        s->latency[r] = metrics_histogram(
            s->m, "couponq_api_request_duration_seconds",
            "Time from request parsed to answer queued", labels,
            metrics_latency_bounds, metrics_latency_nbounds);
        if (s->latency[r] == NULL)
            return -1;
    }
    for (i = 0; i <= ADMIT_ERROR; i++) {
        snprintf(labels, sizeof(labels), "result=\"%s\"",
                 admission_result_name(i));
        if ((s->admissions[i] =
                 metrics_counter(s->m, "couponq_api_admissions_total",
                                 "admit.lua outcomes", labels)) == NULL)
            return -1;
    }
#define C(f, name, help) (s->f = metrics_counter(s->m, name, help, NULL))
#define G(f, name, help) (s->f = metrics_gauge(s->m, name, help, NULL))
    if (!C(redis_errors, "couponq_api_redis_errors_total",
           "Redis unavailable or failing commands") ||
        !C(kafka_errors, "couponq_api_kafka_errors_total",
           "Events Kafka refused or did not acknowledge") ||
        !C(released, "couponq_api_releases_total",
           "Admissions rolled back with release.lua") ||
        !C(releases_failed, "couponq_api_release_failures_total",
           "Rollbacks that failed (couponqctl reconcile repairs them)") ||
        !C(deadline_503, "couponq_api_deadline_expired_total",
           "Requests answered 503 because Redis did not answer in time") ||
        !C(refused, "couponq_api_connections_refused_total",
           "Connections closed at accept: over the connection cap") ||
        !C(evicted, "couponq_api_connections_evicted_total",
           "Idle connections closed at the cap to admit a new one") ||
        !G(inflight, "couponq_api_inflight", "Requests in the slot table") ||
        !G(unsettled, "couponq_api_admissions_unsettled",
           "admit.lua calls whose answer was lost, to settle when Redis "
           "is back") ||
        !C(settled, "couponq_api_admissions_settled_total",
           "admit.lua calls with a lost answer settled (settle.lua)") ||
        !C(not_replicated, "couponq_api_admissions_not_replicated_total",
           "admit.lua calls on fewer Redis replicas than "
           "--redis-min-replicas: 503, settled") ||
        !G(rs_kept, "couponq_api_admissions_resettle_kept",
           "Settled calls whose settle did not reach the replicas, sent "
           "again on the next Redis connection") ||
        !C(rs_resettled, "couponq_api_admissions_resettled_total",
           "Kept settles sent again on a new Redis connection") ||
        !C(rs_removed, "couponq_api_admissions_resettle_removed_total",
           "Users the re-settles removed (left by a failover)") ||
        !C(rs_dropped, "couponq_api_admissions_resettle_dropped_total",
           "Kept settles forgotten over the cap") ||
        !C(unknown_outcomes, "couponq_api_kafka_unknown_outcomes_total",
           "Events whose delivery outcome was unknown (admission kept)") ||
        !C(reproduced, "couponq_api_kafka_reproduced_total",
           "Events of unknown outcome produced again and acknowledged") ||
        !G(rp_pending, "couponq_api_kafka_reproduce_pending",
           "Events of unknown outcome waiting to be acknowledged") ||
        !C(rp_overflow, "couponq_api_kafka_reproduce_overflow_total",
           "Unknown outcomes over the re-produce cap (reconcile --repair)") ||
        !G(kafka_queue, "couponq_api_kafka_queue_length",
           "Messages and requests waiting in librdkafka") ||
        !G(conns, "couponq_api_connections", "Open HTTP connections"))
        return -1;
#undef C
#undef G
    return use_register_metrics(s);
}

static int code_index(int status)
{
    size_t i;

    for (i = 0; i + 1 < NCODES; i++)
        if (codes[i] == status)
            return (int)i;
    return NCODES - 1;
}

/* Counted per route and status; registered on first use. */
static void count(service_t *s, int route, int status, uint64_t t0_ns)
{
    int ci = code_index(status);
    metric_t **slot = &s->requests[route][ci];
    char labels[64];

    if (*slot == NULL) {
        snprintf(labels, sizeof(labels), "route=\"%s\",code=\"%s\"",
                 route_name(route), ci == NCODES - 1 ? "other" : "");
        if (ci != NCODES - 1)
            snprintf(labels, sizeof(labels), "route=\"%s\",code=\"%d\"",
                     route_name(route), status);
        *slot = metrics_counter(s->m, "couponq_api_requests_total",
                                "HTTP requests answered, by route and status",
                                labels);
    }
    if (*slot != NULL)
        metric_inc(*slot);
    metric_observe(s->latency[route], (double)(uv_hrtime() - t0_ns) / 1e9);
}

/* ---- answers ---- */

/* Answers at once (no slot): bad input, metrics, refusals. */
void service_reply(service_t *s, http_resp_t *resp, int route, int status,
                   const char *extra, const char *body, size_t len, uint64_t t0)
{
    count(s, route, status, t0);
    http_resp_send(resp, status, NULL, extra, body, len);
}

void service_reply_error(service_t *s, http_resp_t *resp, int route, int status,
                         const char *extra, const char *msg, uint64_t t0)
{
    char body[512];
    int len = http_resp_error_json(body, sizeof(body), msg);

    service_reply(s, resp, route, status, extra, body,
                  len < 0 ? 0 : (size_t)len, t0);
}

/* Answers a slot's request once; the client may be gone (resp NULL). */
void service_answer(service_t *s, req_t *q, int status, const char *extra,
                    const char *body, size_t len)
{
    if (q->answered)
        return;
    q->answered = 1;
    count(s, q->route, status, q->t0_ns);
    if (q->resp != NULL)
        http_resp_send(q->resp, status, NULL, extra, body, len);
}

/* {"result":"unavailable","error":"unavailable: <why>"} + extra headers. */
static void answer_503(service_t *s, req_t *q, const char *extra,
                       const char *why)
{
    char msg[192], err[256], body[320];
    int len;

    snprintf(msg, sizeof(msg), "unavailable: %s", why);
    if (http_resp_error_json(err, sizeof(err), msg) < 0)
        snprintf(err, sizeof(err), "{\"error\":\"unavailable\"}");
    len =
        snprintf(body, sizeof(body), "{\"result\":\"unavailable\",%s", err + 1);
    service_answer(s, q, 503, extra, body,
                   len < 0 || (size_t)len >= sizeof(body) ? 0 : (size_t)len);
}

void service_unavailable(service_t *s, req_t *q, const char *why)
{
    answer_503(s, q, RETRY_AFTER, why);
}

/* The state is kept and its event is being produced again: a retry would
 * only get 409 duplicate (or a replay), so the user is told to wait about
 * one message timeout and to look at the status instead. */
void service_ambiguous(service_t *s, req_t *q, const char *look)
{
    int n = (kafka_producer_message_timeout(s->kp) + 999) / 1000 + 1;
    char extra[40], why[128];

    snprintf(extra, sizeof(extra), "Retry-After: %d\r\n", n);
    snprintf(why, sizeof(why), "outcome unknown, do not retry before %d s; %s",
             n, look);
    answer_503(s, q, extra, why);
}

static void check_drained(service_t *s);

void service_slot_done(service_t *s, slot_token_t tok)
{
    req_t *q = slots_get(s->slots, tok);

    free(q->use);
    slots_release(s->slots, tok);
    if (s->draining)
        check_drained(s);
}

static uint64_t wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- POST /v1/coupons/{id}/issues ---- */

static void on_released(void *ud, uint64_t tok, int removed, const char *err)
{
    service_t *s = ud;
    req_t *q = slots_get(s->slots, tok);

    assert(q != NULL);
    if (removed < 0) {
        metric_inc(s->releases_failed);
        metric_inc(s->redis_errors);
        LOG(LL_ERROR,
            "msg=\"release failed: member left without event, run "
            "couponqctl reconcile\" coupon_id=%" PRId64 " user_id=%" PRId64
            " err=\"%s\"",
            q->coupon_id, q->user_id, err);
    } else {
        metric_inc(s->released);
    }
    service_unavailable(s, q, q->why);
    service_slot_done(s, tok);
}

/* Rolls the admission back; the 503 goes out when Redis confirmed. */
static void release(service_t *s, slot_token_t tok, req_t *q, const char *why)
{
    snprintf(q->why, sizeof(q->why), "%.*s", (int)sizeof(q->why) - 1, why);
    q->state = ST_RELEASE;
    q->answer_by_ms = q->start_ms + (uint64_t)s->o.timeout_ms;
    if (admission_release(s->adm, q->coupon_id, q->user_id, on_released, s,
                          tok) != 0)
        on_released(s, tok, -1, "redis unavailable");
}

static void event_of(const req_t *q, event_t *ev)
{
    memcpy(ev->event_id, q->event_id, sizeof(ev->event_id));
    ev->coupon_id = q->coupon_id;
    ev->user_id = q->user_id;
    ev->seq = q->seq;
    ev->requested_at_ms = q->requested_at_ms;
}

/* Encodes ev (key = user id) and queues it with token; 0 or -1 + err. The
 * same event always encodes to the same bytes, so a re-produce sends the
 * very payload of the first attempt. */
static int send_event(service_t *s, const event_t *ev, uint64_t token,
                      char *err, size_t n)
{
    char val[EVENT_MAX_LEN], key[24];
    int vlen, klen;
    fmt_t kf;

    if ((vlen = event_encode(ev, val, sizeof(val))) < 0) {
        snprintf(err, n, "could not encode the event");
        return -1;
    }
    fmt_init(&kf, key, sizeof(key));
    fmt_i64(&kf, ev->user_id);
    klen = fmt_end(&kf);
    assert(klen > 0); /* 24 bytes hold any int64 */
    return kafka_producer_send(s->kp, key, (size_t)klen, val, (size_t)vlen,
                               token, err, n);
}

static void produce(service_t *s, slot_token_t tok, req_t *q)
{
    event_t ev;
    char err[128];

    ulid_generate(q->event_id);
    q->requested_at_ms = (int64_t)wall_ms();
    q->state = ST_PRODUCE;
    q->answer_by_ms = 0; /* the delivery report decides */
    event_of(q, &ev);
    if (send_event(s, &ev, tok, err, sizeof(err)) != 0) {
        metric_inc(s->kafka_errors);
        release(s, tok, q, err); /* never queued: certainly not written */
    }
}

/* ---- re-produce: events whose delivery outcome was unknown ---- */

rp_t *service_rp_alloc(service_t *s)
{
    slot_token_t t;
    rp_t *rp = slots_alloc(s->rps, &t);

    metric_inc(s->unknown_outcomes);
    if (rp == NULL)
        metric_inc(s->rp_overflow);
    else
        rp->next_ms = uv_now(s->loop) + RP_BACKOFF_MS;
    return rp;
}

static void rp_backoff(rp_t *rp, uint64_t now, const char *err)
{
    uint32_t shift = rp->attempts < 6 ? rp->attempts : 6;
    uint64_t wait = (uint64_t)RP_BACKOFF_MS << shift;

    rp->next_ms = now + (wait < RP_BACKOFF_MAX ? wait : RP_BACKOFF_MAX);
    LOG(LL_DEBUG,
        "msg=\"re-produce failed, will retry\" coupon_id=%" PRId64
        " user_id=%" PRId64 " event_id=%s attempts=%u err=\"%s\"",
        rp->ev.coupon_id, rp->ev.user_id, rp->ev.event_id, rp->attempts, err);
}

/* Either producer failed fatally (the api is draining to exit then): 1
 * with librdkafka's reason, else 0. */
static int any_fatal(service_t *s, char *why, size_t n)
{
    return kafka_producer_fatal(s->kp, why, n) ||
           (s->ukp != NULL && kafka_producer_fatal(s->ukp, why, n));
}

/* Sends every due re-produce; from the sweep, at most every
 * RP_BACKOFF_MS. Nothing after a fatal producer error (sends are refused):
 * those stay for the drain to log, and reconcile --repair. */
static void rp_walk(service_t *s, uint64_t now)
{
    slot_token_t t;
    char err[256];
    rp_t *rp;

    if (now < s->rp_walk_ms || slots_used(s->rps) == 0 ||
        any_fatal(s, err, sizeof(err)))
        return;
    s->rp_walk_ms = now + RP_BACKOFF_MS;
    for (t = slots_first(s->rps); t != 0; t = slots_next(s->rps, t)) {
        rp = slots_get(s->rps, t);
        if (rp->queued || now < rp->next_ms)
            continue;
        rp->attempts++;
        if ((rp->use != NULL
                 ? use_rp_send(s, rp->use, t | RP_TAG, err, sizeof(err))
                 : send_event(s, &rp->ev, t | RP_TAG, err, sizeof(err))) == 0)
            rp->queued = 1;
        else
            rp_backoff(rp, now, err);
    }
}

static void rp_delivered(service_t *s, slot_token_t t, kafka_outcome_t o,
                         const char *err)
{
    rp_t *rp = slots_get(s->rps, t);

    if (rp == NULL) {
        LOG(LL_ERROR,
            "msg=\"delivery report for no re-produce\" token=%" PRIu64, t);
        return;
    }
    rp->queued = 0;
    if (o != KAFKA_DELIVERED) { /* whatever the outcome: send it again */
        metric_inc(s->kafka_errors);
        rp_backoff(rp, uv_now(s->loop), err);
        return;
    }
    metric_inc(s->reproduced);
    LOG(LL_INFO,
        "msg=\"re-produced event acknowledged: %s\" "
        "coupon_id=%" PRId64 " user_id=%" PRId64 " event_id=%s attempts=%u",
        rp->use != NULL ? "the redemption stands" : "the coupon will be issued",
        rp->ev.coupon_id, rp->ev.user_id, rp->ev.event_id, rp->attempts);
    if (rp->use != NULL)
        use_rp_acked(s, rp->use);
    slots_release(s->rps, t);
    if (s->draining)
        check_drained(s);
}

/* The event may be in Kafka (or be appended when a stalled broker
 * resumes): releasing would give the slot to another user while a worker
 * may still write this user's row. Keep the admission, answer 503 "outcome
 * unknown", and produce the same event again until it is acknowledged.
 * Over the cap the admission is kept without a re-produce: couponqctl
 * reconcile --repair publishes it if no event reached the topic. */
static void settle_unknown(service_t *s, slot_token_t tok, req_t *q,
                           const char *err)
{
    rp_t *rp = service_rp_alloc(s);

    if (rp == NULL) {
        LOG(LL_ERROR,
            "msg=\"kafka outcome unknown, re-produce table full: admission "
            "kept without event, run couponqctl reconcile --repair\" "
            "coupon_id=%" PRId64 " user_id=%" PRId64 " event_id=%s err=\"%s\"",
            q->coupon_id, q->user_id, q->event_id, err);
    } else {
        event_of(q, &rp->ev);
        LOG(LL_WARN,
            "msg=\"kafka outcome unknown: admission kept, producing the "
            "event again\" coupon_id=%" PRId64 " user_id=%" PRId64
            " event_id=%s err=\"%s\"",
            q->coupon_id, q->user_id, q->event_id, err);
    }
    service_ambiguous(s, q, "GET the issue status");
    service_slot_done(s, tok);
}

static void answer_accepted(service_t *s, req_t *q)
{
    char body[256];
    int len = answer_admit_accepted(body, sizeof(body), q->coupon_id,
                                    q->user_id, q->event_id, q->seq);

    assert(len > 0); /* 256 bytes hold three int64s and a ULID */
    service_answer(s, q, 202, NULL, body, (size_t)len);
}

void service_delivered(void *ud, uint64_t tok, kafka_outcome_t o,
                       const char *err)
{
    service_t *s = ud;
    req_t *q;

    if (tok & RP_TAG) {
        rp_delivered(s, tok & ~RP_TAG, o, err);
        return;
    }
    q = slots_get(s->slots, tok);
    if (q != NULL && q->state == ST_USE_PRODUCE) {
        use_delivered(s, tok, q, o, err);
        return;
    }
    if (q == NULL || q->state != ST_PRODUCE) {
        LOG(LL_ERROR, "msg=\"delivery report for no request\" token=%" PRIu64,
            tok);
        return;
    }
    if (o == KAFKA_DELIVERED) {
        answer_accepted(s, q);
        service_slot_done(s, tok);
        return;
    }
    metric_inc(s->kafka_errors);
    if (o == KAFKA_NOT_PERSISTED)
        release(s, tok, q, err);
    else
        settle_unknown(s, tok, q, err);
}

static void on_admitted(void *ud, uint64_t tok, admit_result_t r, int64_t seq,
                        const char *err)
{
    service_t *s = ud;
    req_t *q = slots_get(s->slots, tok);
    char body[256];
    int len;

    assert(q != NULL);
    metric_inc(s->admissions[r]);
    if (r == ADMIT_ACCEPTED) {
        q->seq = seq;
        if (q->answered) /* told 503 at the deadline: undo */
            release(s, tok, q, "redis answered after the deadline");
        else
            produce(s, tok, q);
        return;
    }
    if (r == ADMIT_FENCED) {
        /* Nothing was written: a worker is verifying this coupon's admitted
         * set against the event log after a change of the Redis dataset. */
        service_unavailable(s, q, "fenced: redis dataset changed, verifying");
    } else if (r == ADMIT_UNAVAILABLE) {
        /* Outcome unknown: the script may have run. Not released, since
         * the member may be another request's; reconcile repairs it. */
        metric_inc(s->redis_errors);
        service_unavailable(s, q, err ? err : "redis");
    } else if (r == ADMIT_ERROR) {
        metric_inc(s->redis_errors);
        LOG(LL_ERROR,
            "msg=\"admit.lua failed\" coupon_id=%" PRId64 " err=\"%s\"",
            q->coupon_id, err);
        len = http_resp_error_json(body, sizeof(body), "admission failed");
        service_answer(s, q, 500, NULL, body, (size_t)len);
    } else {
        len = answer_admit_refusal(body, sizeof(body), r, q->coupon_id,
                                   q->user_id);
        assert(len > 0); /* a name and two int64s */
        service_answer(s, q, answer_admit_status(r), NULL, body, (size_t)len);
    }
    service_slot_done(s, tok);
}

/* A slot for a request that waits on Redis; NULL (and a 503 sent) when the
 * table is full. */
req_t *service_slot_start(service_t *s, http_resp_t *resp, int route,
                          const route_t *rt, uint64_t t0, slot_token_t *tok)
{
    req_t *q = slots_alloc(s->slots, tok);

    if (q == NULL) {
        service_reply_error(s, resp, route, 503, RETRY_AFTER,
                            "unavailable: too many requests in flight", t0);
        return NULL;
    }
    q->route = (uint8_t)route;
    q->state = route == ROUTE_ISSUE ? ST_ADMIT : ST_READ;
    q->coupon_id = rt->coupon_id;
    q->user_id = rt->user_id;
    q->t0_ns = t0;
    q->start_ms = uv_now(s->loop);
    q->answer_by_ms = q->start_ms + (uint64_t)s->o.redis_timeout_ms;
    http_resp_watch(resp, &q->resp);
    return q;
}

/* Redis refused at once: answer and free the slot. */
void service_slot_unavailable(service_t *s, slot_token_t tok, req_t *q)
{
    metric_inc(s->redis_errors);
    service_unavailable(s, q, "redis");
    service_slot_done(s, tok);
}

void service_refuse(service_t *s, http_resp_t *resp, int route,
                    const gate_refusal_t *ref, uint64_t t0)
{
    service_reply_error(s, resp, route, ref->status,
                        ref->extra[0] ? ref->extra : NULL, ref->msg, t0);
}

static void start_issue(service_t *s, const http_request_t *hr,
                        http_resp_t *resp, route_t *rt, uint64_t t0)
{
    char err[256];
    gate_refusal_t ref;
    gate_who_t who;
    slot_token_t tok;
    int64_t named;
    req_t *q;

    if (gate_request(s->gate, hr, rt->coupon_id, &who, &ref) != 0) {
        service_refuse(s, resp, ROUTE_ISSUE, &ref, t0);
        return;
    }
    if (!hr->has_length) {
        service_reply_error(s, resp, ROUTE_ISSUE, 411, NULL,
                            "body required: send Content-Length or "
                            "Transfer-Encoding: chunked",
                            t0);
        return;
    }
    if ((who.authed ? body_parse_issue_opt : body_parse_issue)(
            hr->body, hr->body_len, &named, err, sizeof(err)) != 0) {
        service_reply_error(s, resp, ROUTE_ISSUE, 400, NULL, err, t0);
        return;
    }
    if (gate_user(s->gate, hr, &who, rt->coupon_id, named, &rt->user_id,
                  &ref) != 0) {
        service_refuse(s, resp, ROUTE_ISSUE, &ref, t0);
        return;
    }
    if ((q = service_slot_start(s, resp, ROUTE_ISSUE, rt, t0, &tok)) == NULL)
        return;
    if (admission_admit(s->adm, q->coupon_id, q->user_id, on_admitted, s,
                        tok) != 0)
        service_slot_unavailable(s, tok, q);
}

/* ---- GET routes ---- */

static void on_summary(void *ud, uint64_t tok, int rc,
                       const admission_summary_t *sum, const char *err)
{
    service_t *s = ud;
    req_t *q = slots_get(s->slots, tok);
    char body[320];
    int len;

    assert(q != NULL);
    if (rc != 0) {
        metric_inc(s->redis_errors);
        service_unavailable(s, q, err);
    } else if (!sum->found) {
        len = http_resp_error_json(body, sizeof(body), "coupon not found");
        service_answer(s, q, 404, NULL, body, (size_t)len);
    } else {
        len = answer_summary(body, sizeof(body), q->coupon_id, sum);
        assert(len > 0); /* four int64s and a state of 16 bytes at most */
        service_answer(s, q, 200, NULL, body, (size_t)len);
    }
    service_slot_done(s, tok);
}

static void on_user_status(void *ud, uint64_t tok, int rc, user_status_t st,
                           const char *err)
{
    service_t *s = ud;
    req_t *q = slots_get(s->slots, tok);
    char body[256];
    int len;

    assert(q != NULL);
    if (rc != 0) {
        metric_inc(s->redis_errors);
        service_unavailable(s, q, err);
    } else if (st == USER_NO_COUPON) {
        len = http_resp_error_json(body, sizeof(body), "coupon not found");
        service_answer(s, q, 404, NULL, body, (size_t)len);
    } else {
        len = answer_user_status(body, sizeof(body), q->coupon_id, q->user_id,
                                 st);
        assert(len > 0); /* two int64s and a status name */
        service_answer(s, q, 200, NULL, body, (size_t)len);
    }
    service_slot_done(s, tok);
}

static void on_ping(void *ud, uint64_t tok, int ok)
{
    service_t *s = ud;
    req_t *q = slots_get(s->slots, tok);
    int kafka = kafka_producer_healthy(s->kp);
    /* Redemptions (their script, their topic) are reported, but the
     * status is the issue path's: a deployment may run it alone. */
    int use = s->red != NULL && redemption_ready(s->red) && s->ukp != NULL &&
              kafka_producer_healthy(s->ukp);
    char body[160];
    int len;

    assert(q != NULL);
    len = snprintf(body, sizeof(body),
                   "{\"status\":\"%s\",\"redis\":\"%s\",\"kafka\":\"%s\","
                   "\"redemptions\":\"%s\"}",
                   ok && kafka ? "ok" : "unavailable", ok ? "up" : "down",
                   kafka ? "up" : "down", use ? "up" : "down");
    service_answer(s, q, ok && kafka ? 200 : 503, NULL, body, (size_t)len);
    service_slot_done(s, tok);
}

/* GET status acts for the path's user: only that user (or a service)
 * may read it. GET coupon needs no identity, only the per-IP limit. */
static int gate_read(service_t *s, const http_request_t *hr, http_resp_t *resp,
                     route_t *rt, uint64_t t0)
{
    gate_refusal_t ref;
    gate_who_t who;
    int64_t user;

    if (rt->id == ROUTE_HEALTHZ)
        return 0;
    if (rt->id == ROUTE_COUPON
            ? gate_ip(s->gate, hr, rt->coupon_id, &ref) == 0
            : gate_request(s->gate, hr, rt->coupon_id, &who, &ref) == 0 &&
                  gate_user(s->gate, hr, &who, rt->coupon_id, rt->user_id,
                            &user, &ref) == 0)
        return 0;
    service_refuse(s, resp, rt->id, &ref, t0);
    return -1;
}

static void start_read(service_t *s, const http_request_t *hr,
                       http_resp_t *resp, route_t *rt, uint64_t t0)
{
    slot_token_t tok;
    req_t *q;
    int rc;

    if (hr != NULL && gate_read(s, hr, resp, rt, t0) != 0)
        return;
    if ((q = service_slot_start(s, resp, rt->id, rt, t0, &tok)) == NULL)
        return;
    if (rt->id == ROUTE_COUPON)
        rc = admission_summary(s->adm, rt->coupon_id, on_summary, s, tok);
    else if (rt->id == ROUTE_STATUS)
        rc = admission_user_status(s->adm, rt->coupon_id, rt->user_id,
                                   on_user_status, s, tok);
    else
        rc = admission_ping(s->adm, on_ping, s, tok);
    if (rc == 0)
        return;
    if (rt->id == ROUTE_HEALTHZ)
        on_ping(s, tok, 0);
    else
        service_slot_unavailable(s, tok, q);
}

static void resettle_metrics(service_t *s)
{
    admission_resettle_t rs;

    admission_resettle_stats(s->adm, &rs);
    metric_set(s->rs_kept, rs.kept);
    metric_add(s->rs_resettled, (double)(rs.resettled - s->rs_seen.resettled));
    metric_add(s->rs_removed, (double)(rs.removed - s->rs_seen.removed));
    metric_add(s->rs_dropped, (double)(rs.dropped - s->rs_seen.dropped));
    s->rs_seen = rs;
}

static void serve_metrics(service_t *s, http_resp_t *resp, uint64_t t0)
{
    uint64_t refused = s->srv ? http_server_refused(s->srv) : 0;
    uint64_t evicted = s->srv ? http_server_evicted(s->srv) : 0;
    size_t len;
    char *text;

    metric_set(s->inflight, slots_used(s->slots));
    metric_set(s->kafka_queue,
               kafka_producer_queue_len(s->kp) +
                   (s->ukp != NULL ? kafka_producer_queue_len(s->ukp) : 0));
    metric_set(s->rp_pending, slots_used(s->rps));
    metric_set(s->conns, s->srv ? http_server_conns(s->srv) : 0);
    metric_add(s->refused, (double)(refused - s->refused_seen));
    s->refused_seen = refused;
    metric_add(s->evicted, (double)(evicted - s->evicted_seen));
    s->evicted_seen = evicted;
    metric_set(s->unsettled, admission_unsettled(s->adm));
    metric_add(s->settled,
               (double)(admission_settled(s->adm) - s->settled_seen));
    s->settled_seen = admission_settled(s->adm);
    metric_add(s->not_replicated, (double)(admission_not_replicated(s->adm) -
                                           s->not_replicated_seen));
    s->not_replicated_seen = admission_not_replicated(s->adm);
    resettle_metrics(s);
    use_update_metrics(s);
    count(s, ROUTE_METRICS, 200, t0); /* counted before rendering */
    if ((text = metrics_render(s->m, &len)) == NULL) {
        http_resp_send(resp, 500, NULL, NULL, "{\"error\":\"out of memory\"}",
                       25);
        return;
    }
    http_resp_send(resp, 200, "text/plain; version=0.0.4", NULL, text, len);
    free(text);
}

void service_handle(void *ud, const http_request_t *hr, http_resp_t *resp)
{
    service_t *s = ud;
    uint64_t t0 = uv_hrtime();
    char allow[64];
    route_t rt;

    if (route_match(hr->method, hr->target, hr->target_len, &rt) != 0) {
        snprintf(allow, sizeof(allow), "Allow: %s\r\n",
                 rt.allow ? rt.allow : "");
        service_reply_error(s, resp, ROUTE_NONE, rt.status,
                            rt.status == 405 ? allow : NULL, rt.error, t0);
        return;
    }
    switch (rt.id) {
    case ROUTE_ISSUE:
        start_issue(s, hr, resp, &rt, t0);
        break;
    case ROUTE_METRICS: /* on the admin listener only */
        service_reply_error(s, resp, ROUTE_NONE, 404, NULL, "no such path", t0);
        break;
    case ROUTE_HOLD:
    case ROUTE_CONFIRM:
    case ROUTE_CANCEL:
    case ROUTE_REVERSE:
    case ROUTE_REDEMPTION:
        use_start(s, hr, resp, &rt, t0);
        break;
    default:
        start_read(s, hr, resp, &rt, t0);
        break;
    }
}

void service_handle_admin(void *ud, const http_request_t *hr, http_resp_t *resp)
{
    service_t *s = ud;
    uint64_t t0 = uv_hrtime();
    route_t rt;

    if (route_match(hr->method, hr->target, hr->target_len, &rt) != 0 ||
        (rt.id != ROUTE_METRICS && rt.id != ROUTE_HEALTHZ)) {
        service_reply_error(
            s, resp, ROUTE_NONE, rt.id == ROUTE_NONE ? rt.status : 404, NULL,
            rt.id == ROUTE_NONE ? rt.error : "no such path", t0);
        return;
    }
    if (rt.id == ROUTE_METRICS)
        serve_metrics(s, resp, t0);
    else
        start_read(s, NULL, resp, &rt, t0);
}

/* ---- deadlines ---- */

/* Slots are in arrival order and every deadline is at least arrival +
 * redis_timeout_ms, so the walk stops at the first younger slot. A reply
 * overdue by a whole request timeout means Redis hangs: drop the
 * connection, which runs every pending callback now. */
static void on_sweep(uv_timer_t *t)
{
    service_t *s = t->data;
    uint64_t now = uv_now(s->loop);
    slot_token_t tok, next;
    int hung = 0; /* 1: the admission connection, 2: redemption's */
    req_t *q;

    for (tok = slots_first(s->slots); tok != 0; tok = next) {
        next = slots_next(s->slots, tok);
        q = slots_get(s->slots, tok);
        if (q->start_ms + (uint64_t)s->o.redis_timeout_ms > now)
            break;
        if (q->state != ST_PRODUCE && q->state != ST_USE_PRODUCE &&
            now > q->start_ms + 2 * (uint64_t)s->o.timeout_ms)
            hung |= q->use != NULL ? 2 : 1;
        if (q->answered || q->answer_by_ms == 0 || now < q->answer_by_ms)
            continue;
        metric_inc(s->deadline_503);
        service_unavailable(s, q,
                            q->state == ST_RELEASE || q->state == ST_USE_UNDO
                                ? "redis did not confirm the rollback"
                                : "redis did not answer in time");
    }
    if (hung & 1)
        admission_reset(s->adm, "replies overdue");
    else
        admission_tick(s->adm, now);
    if ((hung & 2) && s->red != NULL)
        redemption_reset(s->red, "replies overdue");
    else if (s->red != NULL)
        redemption_tick(s->red, now);
    rp_walk(s, now);
    if (s->draining)
        check_drained(s); /* the re-produce wait may be over */
}

/* ---- drain ---- */

/* What a drain could not re-produce: admissions kept without an
 * acknowledged event. One still queued may yet be delivered by the final
 * flush; reconcile --repair publishes the others. */
static void rp_log_left(service_t *s)
{
    slot_token_t t;
    rp_t *rp;

    for (t = slots_first(s->rps); t != 0; t = slots_next(s->rps, t)) {
        rp = slots_get(s->rps, t);
        LOG(LL_ERROR,
            "msg=\"re-produce not acknowledged at shutdown: %s kept, "
            "run couponqctl reconcile --repair\" coupon_id=%" PRId64
            " user_id=%" PRId64 " event_id=%s attempts=%u queued=%d",
            rp->use != NULL ? "redemption" : "admission", rp->ev.coupon_id,
            rp->ev.user_id, rp->ev.event_id, rp->attempts, rp->queued);
    }
}

/* Done when no connection and no request is left, and the re-produces
 * were acknowledged, or RP_DRAIN_MS passed, or the producer cannot send.
 * Called by whatever may have been the last thing waited for (a slot or
 * re-produce freed, a listener drained, the last finish answered) and by
 * the sweep, for the RP_DRAIN_MS limit. */
static void check_drained(service_t *s)
{
    uint32_t left = slots_used(s->rps);
    service_drained_fn fn = s->drained_fn;
    char why[256];

    if (fn == NULL || !s->http_drained || slots_used(s->slots) > 0)
        return;
    if (left > 0 && uv_now(s->loop) < s->drain_until_ms &&
        !any_fatal(s, why, sizeof(why)))
        return;
    /* finish calls in flight free budget: let them be answered */
    if (s->red != NULL && redemption_finishing(s->red) > 0 &&
        uv_now(s->loop) < s->drain_until_ms)
        return;
    LOG(LL_INFO,
        "msg=\"drained: no connection, no request in flight\" "
        "reproduce_left=%u",
        left);
    if (left > 0)
        rp_log_left(s);
    uv_timer_stop(&s->sweep);
    s->drained_fn = NULL; /* once */
    fn(s->drained_ud);
}

static void on_http_drained(void *ud)
{
    service_t *s = ud;

    if (--s->http_draining > 0)
        return;
    s->http_drained = 1;
    check_drained(s);
}

static void on_finished(void *ud)
{
    service_t *s = ud;

    if (s->draining)
        check_drained(s);
}

/* The drain: stop accepting on both listeners; the rest comes back through
 * check_drained. */
void service_drain(service_t *s, const char *why, service_drained_fn done,
                   void *ud)
{
    assert(done != NULL);
    if (s->draining)
        return;
    s->draining = 1;
    s->drained_fn = done;
    s->drained_ud = ud;
    s->drain_until_ms = uv_now(s->loop) + RP_DRAIN_MS;
    LOG(LL_INFO,
        "msg=\"draining\" why=%s inflight=%u conns=%u reproduce_pending=%u",
        why, slots_used(s->slots), http_server_conns(s->srv),
        slots_used(s->rps));
    s->http_draining = s->admin != NULL ? 2 : 1;
    if (s->admin != NULL)
        http_server_drain(s->admin, on_http_drained, s);
    http_server_drain(s->srv, on_http_drained, s);
}

int service_draining(const service_t *s)
{
    return s->draining;
}

uint32_t service_inflight(const service_t *s)
{
    return slots_used(s->slots);
}

void service_start(service_t *s, http_server_t *srv)
{
    s->srv = srv;
    uv_timer_start(&s->sweep, on_sweep, SWEEP_MS, SWEEP_MS);
}

/* ---- life ---- */

service_t *service_new(uv_loop_t *loop, const service_opts_t *o,
                       admission_t *adm, gate_t *gate, metrics_t *m,
                       char *errstr, size_t n)
{
    service_t *s = calloc(1, sizeof(*s));

    if (s == NULL)
        goto oom;
    s->loop = loop;
    s->o = *o;
    s->adm = adm;
    s->gate = gate;
    s->m = m;
    assert(o->max_inflight < RP_TAG);
    if ((s->slots = slots_new(o->max_inflight, sizeof(req_t))) == NULL ||
        (s->rps = slots_new(o->max_inflight, sizeof(rp_t))) == NULL ||
        register_metrics(s) != 0)
        goto oom;
    uv_timer_init(loop, &s->sweep);
    s->sweep.data = s;
    return s;
oom:
    snprintf(errstr, n, "out of memory");
    if (s != NULL) {
        slots_free(s->rps);
        slots_free(s->slots);
    }
    free(s);
    return NULL;
}

void service_set_producer(service_t *s, kafka_producer_t *kp)
{
    s->kp = kp;
}

void service_set_redemption(service_t *s, redemption_t *red,
                            kafka_producer_t *ukp)
{
    s->red = red;
    s->ukp = ukp;
    if (red != NULL)
        redemption_on_finished(red, on_finished, s);
}

void service_set_admin(service_t *s, http_server_t *admin)
{
    s->admin = admin;
}

static void on_sweep_closed(uv_handle_t *h)
{
    service_t *s = h->data;
    slot_token_t t;

    for (t = slots_first(s->rps); t != 0; t = slots_next(s->rps, t))
        free(((rp_t *)slots_get(s->rps, t))->use);
    slots_free(s->rps);
    slots_free(s->slots);
    free(s);
}

void service_free(service_t *s)
{
    if (s == NULL)
        return;
    uv_close((uv_handle_t *)&s->sweep, on_sweep_closed);
}
