/* use_service.c -- the redemption requests of couponq-api (DESIGN.md
 * "Redemption", schemas/redemption.md): hold, confirm, cancel, reverse and
 * GET of a redemption. Part of the service (service_internal.h): the same
 * slots, deadlines, drain and re-produce table as the issue path.
 *
 * A request's life in its slot:
 *   USE          use.lua sent                        redis_timeout_ms
 *   USE_PRODUCE  the answer's event queued           the delivery report
 *   USE_UNDO     undo sent (the event not written)   timeout_ms
 *
 * The answer is sent only once Kafka acknowledged the answer's event,
 * whether the call made a transition (new) or handed out the record's
 * latest event again (a replay, a refusal that describes a redemption), so
 * a client never sees a state Kafka does not have. GET produces nothing.
 * When Kafka certainly did not write the event of a transition, undo takes
 * the transition back and the client gets 503; a replay's failed
 * re-produce is a 503 with nothing undone. When the outcome is unknown the
 * state is kept, the client gets 503 "outcome unknown", and the event goes
 * to the re-produce table until Kafka acknowledges it. An answer with
 * finish = 1 (a cancel, a reversal that gives the use back) runs finish
 * once its event is acknowledged.
 *
 * With --redis-min-replicas, an answer with an event is produced only when
 * use.lua's writes reached that many replicas (redemption.h): otherwise
 * the server may be a zombie primary whose writes are lost, so nothing is
 * produced, a transition is undone and the client gets 503 "not
 * replicated" (a replay too, with nothing to undo). The undo may not reach
 * the replicas either: then the redemption module keeps it and sends it
 * again to the next primary (redemption_undo.c).
 *
 * Identity: a user token acts for its sub (a hold body's user_id must be
 * absent or equal; on rid routes the script answers forbidden for another
 * user's redemption); a service token or --auth off acts as actor 0 and a
 * hold must name the user. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "body.h"
#include "log.h"
#include "service_internal.h"

#define RID_DRAWS 3 /* rid_taken: draw again at most this often */
#define LOOK      "GET the redemption"

struct use_req {
    use_call_t call;
    use_answer_t ans;
    int draws; /* rids drawn again after rid_taken */
};

/* A redemption event of unknown outcome, in the re-produce table. */
struct use_rp {
    char rid[RID_LEN + 1];
    int64_t coupon_id, version;
    int finish;
    size_t len;
    char event[]; /* len bytes */
};

static const route_id_t op_route[USE_NOPS] = {
    [USE_HOLD] = ROUTE_HOLD,      [USE_CONFIRM] = ROUTE_CONFIRM,
    [USE_CANCEL] = ROUTE_CANCEL,  [USE_REVERSE] = ROUTE_REVERSE,
    [USE_GET] = ROUTE_REDEMPTION,
};

static use_op_t op_of(route_id_t id)
{
    switch (id) {
    case ROUTE_CONFIRM:
        return USE_CONFIRM;
    case ROUTE_CANCEL:
        return USE_CANCEL;
    case ROUTE_REVERSE:
        return USE_REVERSE;
    case ROUTE_REDEMPTION:
        return USE_GET;
    default:
        return USE_HOLD;
    }
}

/* ---- metrics ---- */

/* The kept calls' series, by REDEMPTION_KEPT_*: kept (a gauge), resent,
 * applied, dropped, each name then help (redemption_kept_t). */
static const char *const kept_series[REDEMPTION_KEPT_KINDS][4][2] = {
    [REDEMPTION_KEPT_UNDO] = { { "couponq_api_redemption_undos_kept",
                                 "Undos of unknown outcome or not on the "
                                 "replicas, sent again on "
                                 "the next Redis connection" },
                               { "couponq_api_redemption_undos_resent_total",
                                 "Kept undos sent again on a new Redis "
                                 "connection and answered" },
                               { "couponq_api_redemption_undos_resent_undone_"
                                 "total",
                                 "Re-sent undos that took a transition back "
                                 "(left by a failover)" },
                               { "couponq_api_redemption_undos_dropped_total",
                                 "Kept undos forgotten over the cap" } },
    [REDEMPTION_KEPT_FINISH] = { { "couponq_api_redemption_finishes_kept",
                                   "Finishes of unknown outcome or not sent, "
                                   "sent again on the next "
                                   "Redis connection" },
                                 { "couponq_api_redemption_finishes_resent_"
                                   "total",
                                   "Kept finishes sent again on a new Redis "
                                   "connection and answered" },
                                 { "couponq_api_redemption_finishes_resent_"
                                   "finished_total",
                                   "Re-sent finishes that freed the budget "
                                   "(the first one's answer "
                                   "was lost or Redis refused it)" },
                                 { "couponq_api_redemption_finishes_dropped_"
                                   "total",
                                   "Kept finishes forgotten over the cap "
                                   "(counted as finish "
                                   "failures too)" } },
};

static int register_kept(service_t *s)
{
    const char *const(*n)[2];
    int k;

    for (k = 0; k < REDEMPTION_KEPT_KINDS; k++) {
        n = kept_series[k];
        if (!(s->use_kept[k] = metrics_gauge(s->m, n[0][0], n[0][1], NULL)) ||
            !(s->use_resent[k] =
                  metrics_counter(s->m, n[1][0], n[1][1], NULL)) ||
            !(s->use_applied[k] =
                  metrics_counter(s->m, n[2][0], n[2][1], NULL)) ||
            !(s->use_kept_dropped[k] =
                  metrics_counter(s->m, n[3][0], n[3][1], NULL)))
            return -1;
    }
    return 0;
}

int use_register_metrics(service_t *s)
{
#define C(f, name, help) (s->f = metrics_counter(s->m, name, help, NULL))
    if (!C(use_undone, "couponq_api_redemption_undos_total",
           "Redemption transitions taken back: Kafka did not write the "
           "event") ||
        !C(use_undo_failed, "couponq_api_redemption_undo_failures_total",
           "Undos that failed or were refused (the state stands, a retry "
           "or reconcile --repair re-produces its event)") ||
        !C(use_finish_failed, "couponq_api_redemption_finish_failures_total",
           "finish calls refused by use.lua or given up (not kept, or "
           "forgotten over the cap or after 60 s: budget held until expiry "
           "or reconcile --repair); a kept one is not counted") ||
        !C(use_not_replicated, "couponq_api_redemption_not_replicated_total",
           "use.lua answers on fewer Redis replicas than "
           "--redis-min-replicas: 503, nothing produced, a transition "
           "undone"))
        return -1;
#undef C
    return register_kept(s);
}

void use_update_metrics(service_t *s)
{
    uint64_t n = s->red != NULL ? redemption_finish_failures(s->red) : 0;
    redemption_kept_t k[REDEMPTION_KEPT_KINDS], *seen = s->use_kept_seen;
    int i;

    metric_add(s->use_finish_failed, (double)(n - s->use_finish_failed_seen));
    s->use_finish_failed_seen = n;
    memcpy(k, seen, sizeof(k));
    if (s->red != NULL)
        redemption_kept_stats(s->red, k);
    for (i = 0; i < REDEMPTION_KEPT_KINDS; i++) {
        metric_set(s->use_kept[i], k[i].kept);
        metric_add(s->use_resent[i], (double)(k[i].resent - seen[i].resent));
        metric_add(s->use_applied[i], (double)(k[i].applied - seen[i].applied));
        metric_add(s->use_kept_dropped[i],
                   (double)(k[i].dropped - seen[i].dropped));
    }
    memcpy(seen, k, sizeof(k));
}

/* use.lua's answers by operation and code; registered on first use. */
static void count_answer(service_t *s, use_op_t op, use_code_t code)
{
    metric_t **m = &s->use_answers[op][code];
    char labels[80];

    if (*m == NULL) {
        snprintf(labels, sizeof(labels), "route=\"%s\",result=\"%s\"",
                 route_name(op_route[op]), redemption_code_name(code));
        *m = metrics_counter(s->m, "couponq_api_redemptions_total",
                             "use.lua answers, by route and result", labels);
    }
    if (*m != NULL)
        metric_inc(*m);
}

/* ---- answers ---- */

/* The answer of the code, once its event (if any) is in Kafka. */
static void answer_code(service_t *s, req_t *q)
{
    use_req_t *u = q->use;
    char body[1024];
    int len;

    if (u->ans.code == USE_FORBIDDEN) {
        len = http_resp_error_json(body, sizeof(body),
                                   "forbidden: user_mismatch");
        service_answer(s, q, 403, NULL, body, (size_t)len);
        return;
    }
    if (u->ans.code == USE_FENCED) {
        /* Nothing written: a worker is verifying the coupon's data after a
         * change of the Redis dataset. */
        service_unavailable(s, q, "fenced: redis dataset changed, verifying");
        return;
    }
    if (u->ans.code == USE_RID_TAKEN) {
        service_unavailable(s, q, "no free redemption id after 4 draws");
        return;
    }
    if ((len = answer_use_body(body, sizeof(body), &u->call, &u->ans)) < 0) {
        LOG(LL_ERROR, "msg=\"redemption answer too long\" rid=%s", u->ans.rid);
        len = http_resp_error_json(body, sizeof(body), "internal error");
        service_answer(s, q, 500, NULL, body, (size_t)len);
        return;
    }
    service_answer(s, q, answer_use_status(u->ans.code), NULL, body,
                   (size_t)len);
}

/* ---- undo: the event of a transition could not be written ---- */

static void on_undone(void *ud, uint64_t tok, int undone, const char *err)
{
    service_t *s = ud;
    req_t *q = slots_get(s->slots, tok);
    use_req_t *u = q->use;

    if (undone == 1) {
        metric_inc(s->use_undone);
    } else {
        /* Redis ahead of Kafka, the recoverable direction: a retry of the
         * request (idempotent) or reconcile --repair re-produces. */
        metric_inc(s->use_undo_failed);
        LOG(LL_ERROR,
            "msg=\"undo %s: the transition stays without its event; a "
            "retry or couponqctl reconcile --repair re-produces it\" "
            "coupon_id=%" PRId64 " redemption_id=%s version=%" PRId64
            " err=\"%s\"",
            undone == 0 ? "refused" : "failed", q->coupon_id, u->ans.rid,
            u->ans.version, err ? err : "the record moved on");
    }
    service_unavailable(s, q, q->why);
    service_slot_done(s, tok);
}

/* The 503 goes out when Redis answered the undo (or it failed): not
 * after its WAIT, nor after a re-send of an undo kept because its outcome
 * is unknown (redemption.h). */
static void undo(service_t *s, slot_token_t tok, req_t *q, const char *why)
{
    snprintf(q->why, sizeof(q->why), "%.*s", (int)sizeof(q->why) - 1, why);
    q->state = ST_USE_UNDO;
    q->answer_by_ms = q->start_ms + (uint64_t)s->o.timeout_ms;
    if (redemption_undo(s->red, q->coupon_id, &q->use->ans, on_undone, s,
                        tok) != 0)
        on_undone(s, tok, -1,
                  "redis unavailable: not sent now, kept for the next "
                  "connection");
}

/* Certainly not written: a transition is taken back, a replay is not. */
static void not_persisted(service_t *s, slot_token_t tok, req_t *q,
                          const char *why)
{
    if (q->use->ans.is_new) {
        undo(s, tok, q, why);
        return;
    }
    service_unavailable(s, q, why);
    service_slot_done(s, tok);
}

/* ---- produce ---- */

/* The event's key: the rid of the redemption the answer describes. */
static const char *event_key(const use_req_t *u)
{
    return u->ans.rid[0] != '\0' ? u->ans.rid : u->call.rid;
}

static void produce(service_t *s, slot_token_t tok, req_t *q)
{
    use_req_t *u = q->use;
    char err[256];

    q->state = ST_USE_PRODUCE;
    q->answer_by_ms = 0; /* the delivery report decides */
    if (kafka_producer_send_group(s->ukp, (uint64_t)q->coupon_id, event_key(u),
                                  RID_LEN, u->ans.event, u->ans.event_len, tok,
                                  err, sizeof(err)) != 0) {
        metric_inc(s->kafka_errors);
        not_persisted(s, tok, q, err); /* never queued */
    }
}

/* The answer's writes did not reach enough replicas: its event must not
 * go to Kafka (a zombie primary's state is lost at the failover, and Kafka
 * ahead of Redis cannot be repaired). */
static void not_replicated(service_t *s, slot_token_t tok, req_t *q)
{
    use_req_t *u = q->use;

    metric_inc(s->use_not_replicated);
    metric_inc(s->redis_errors);
    LOG(LL_WARN,
        "msg=\"redemption not on enough replicas: 503%s\" op=%s "
        "coupon_id=%" PRId64 " redemption_id=%s version=%" PRId64,
        u->ans.is_new ? ", undone" : "", redemption_op_name(u->call.op),
        q->coupon_id, event_key(u), u->ans.version);
    not_persisted(s, tok, q, "not replicated");
}

/* The event may be in Kafka: keep the state and produce it again until it
 * is acknowledged; over the cap the state is kept without a re-produce
 * (reconcile --repair publishes it). */
static void unknown(service_t *s, slot_token_t tok, req_t *q, const char *err)
{
    use_req_t *u = q->use;
    rp_t *rp = service_rp_alloc(s);
    use_rp_t *r = NULL;

    if (rp != NULL && (r = malloc(sizeof(*r) + u->ans.event_len)) != NULL) {
        memcpy(r->rid, event_key(u), sizeof(r->rid));
        r->coupon_id = q->coupon_id;
        r->version = u->ans.version;
        r->finish = u->ans.finish;
        r->len = u->ans.event_len;
        memcpy(r->event, u->ans.event, r->len);
        rp->use = r;
        rp->ev.coupon_id = q->coupon_id;
        rp->ev.user_id = u->ans.user_id;
        memcpy(rp->ev.event_id, u->ans.event_id, sizeof(rp->ev.event_id));
    }
    LOG(r != NULL ? LL_WARN : LL_ERROR,
        "msg=\"kafka outcome unknown: redemption kept, %s\" coupon_id=%" PRId64
        " redemption_id=%s version=%" PRId64 " err=\"%s\"",
        r != NULL ? "producing the event again"
                  : "re-produce table full, run couponqctl reconcile --repair",
        q->coupon_id, event_key(u), u->ans.version, err);
    service_ambiguous(s, q, LOOK);
    service_slot_done(s, tok);
}

void use_delivered(service_t *s, slot_token_t tok, req_t *q, kafka_outcome_t o,
                   const char *err)
{
    use_req_t *u = q->use;

    if (o == KAFKA_DELIVERED) {
        answer_code(s, q);
        if (u->ans.finish)
            redemption_finish(s->red, q->coupon_id, event_key(u),
                              u->ans.version);
        service_slot_done(s, tok);
        return;
    }
    metric_inc(s->kafka_errors);
    if (o == KAFKA_NOT_PERSISTED)
        not_persisted(s, tok, q, err);
    else
        unknown(s, tok, q, err);
}

int use_rp_send(service_t *s, const use_rp_t *u, uint64_t token, char *err,
                size_t n)
{
    return kafka_producer_send_group(s->ukp, (uint64_t)u->coupon_id, u->rid,
                                     RID_LEN, u->event, u->len, token, err, n);
}

void use_rp_acked(service_t *s, use_rp_t *u)
{
    if (u->finish && s->red != NULL)
        redemption_finish(s->red, u->coupon_id, u->rid, u->version);
    free(u);
}

/* ---- the script's answer ---- */

static int call(service_t *s, slot_token_t tok, req_t *q);

static void on_answer(void *ud, uint64_t tok, use_rc_t rc, const char *err)
{
    service_t *s = ud;
    req_t *q = slots_get(s->slots, tok);
    use_req_t *u = q->use;
    char body[128];
    int len;

    if (rc != USE_RC_OK) {
        metric_inc(s->redis_errors);
        if (rc == USE_RC_UNAVAILABLE) {
            service_unavailable(s, q, err);
        } else {
            LOG(LL_ERROR,
                "msg=\"use.lua failed\" op=%s coupon_id=%" PRId64
                " redemption_id=%s err=\"%s\"",
                redemption_op_name(u->call.op), q->coupon_id, u->call.rid, err);
            len = http_resp_error_json(body, sizeof(body), "redemption failed");
            service_answer(s, q, 500, NULL, body, (size_t)len);
        }
        service_slot_done(s, tok);
        return;
    }
    count_answer(s, u->call.op, u->ans.code);
    if (q->answered) { /* told 503 at the deadline: take it back */
        if (u->ans.is_new)
            undo(s, tok, q, "redis answered after the deadline");
        else
            service_slot_done(s, tok);
        return;
    }
    if (u->ans.code == USE_RID_TAKEN && u->draws < RID_DRAWS) {
        u->draws++;
        rid_make(q->coupon_id, u->call.rid);
        if (call(s, tok, q) != 0)
            service_slot_unavailable(s, tok, q);
        return;
    }
    if (u->ans.event_len > 0 && u->call.op != USE_GET) {
        if (u->ans.replicated == 0)
            not_replicated(s, tok, q);
        else
            produce(s, tok, q);
        return;
    }
    answer_code(s, q);
    service_slot_done(s, tok);
}

static int call(service_t *s, slot_token_t tok, req_t *q)
{
    use_req_t *u = q->use;

    if (u->call.op != USE_GET)
        ulid_generate(u->call.event_id);
    return redemption_call(s->red, &u->call, &u->ans, on_answer, s, tok);
}

/* ---- requests ---- */

/* Who acts, and the body: 0 with c filled, or -1 when answered. */
static int hold_args(service_t *s, const http_request_t *hr, http_resp_t *resp,
                     const route_t *rt, const gate_who_t *who, use_call_t *c,
                     uint64_t t0)
{
    gate_refusal_t ref;
    body_hold_t h;
    char err[512];

    if (!hr->has_length) {
        service_reply_error(s, resp, rt->id, 411, NULL,
                            "body required: send Content-Length or "
                            "Transfer-Encoding: chunked",
                            t0);
        return -1;
    }
    if (body_parse_hold(hr->body, hr->body_len, who->authed, &h, err,
                        sizeof(err)) != 0) {
        service_reply_error(s, resp, rt->id, 400, NULL, err, t0);
        return -1;
    }
    if (gate_user(s->gate, hr, who, rt->coupon_id, h.user_id, &c->user_id,
                  &ref) != 0) {
        service_refuse(s, resp, rt->id, &ref, t0);
        return -1;
    }
    memcpy(c->order_id, h.order_id, sizeof(c->order_id));
    c->order_amount = h.order_amount;
    return 0;
}

static int rid_args(service_t *s, const http_request_t *hr, http_resp_t *resp,
                    const route_t *rt, const gate_who_t *who, use_call_t *c,
                    uint64_t t0)
{
    gate_refusal_t ref;
    body_reverse_t r;
    char err[512];
    int64_t user;
    int rc = 0;

    if (rt->id == ROUTE_REVERSE && !hr->has_length) {
        service_reply_error(s, resp, rt->id, 411, NULL,
                            "body required: send Content-Length or "
                            "Transfer-Encoding: chunked",
                            t0);
        return -1;
    }
    if (rt->id == ROUTE_REVERSE)
        rc = body_parse_reverse(hr->body, hr->body_len, &r, err, sizeof(err));
    else if (rt->id != ROUTE_REDEMPTION)
        rc = body_parse_empty(hr->body, hr->body_len, err, sizeof(err));
    if (rc != 0) {
        service_reply_error(s, resp, rt->id, 400, NULL, err, t0);
        return -1;
    }
    if (rt->id == ROUTE_REVERSE) {
        memcpy(c->reversal_id, r.reversal_id, sizeof(c->reversal_id));
        c->amount = r.amount;
    }
    /* A user acts for itself (and is rate-limited as such); the script
     * answers forbidden for another user's redemption. */
    if (who->authed && !who->service &&
        gate_user(s->gate, hr, who, rt->coupon_id, 0, &user, &ref) != 0) {
        service_refuse(s, resp, rt->id, &ref, t0);
        return -1;
    }
    return 0;
}

/* 404 at once: the rid names no coupon, or the coupon cannot have
 * redemptions (ids beyond 48 bits). */
static void not_found(service_t *s, http_resp_t *resp, const route_t *rt,
                      const use_call_t *c, uint64_t t0)
{
    use_answer_t a;
    char body[512];
    int len;

    memset(&a, 0, sizeof(a));
    a.code = USE_NOT_FOUND;
    len = answer_use_body(body, sizeof(body), c, &a);
    service_reply(s, resp, rt->id, 404, NULL, body, len < 0 ? 0 : (size_t)len,
                  t0);
}

void use_start(service_t *s, const http_request_t *hr, http_resp_t *resp,
               route_t *rt, uint64_t t0)
{
    gate_refusal_t ref;
    gate_who_t who;
    slot_token_t tok;
    use_call_t c;
    req_t *q;

    memset(&c, 0, sizeof(c));
    c.op = op_of(rt->id);
    c.coupon_id = rt->coupon_id;
    memcpy(c.rid, rt->rid, sizeof(c.rid));
    if (gate_request(s->gate, hr, rt->coupon_id, &who, &ref) != 0) {
        service_refuse(s, resp, rt->id, &ref, t0);
        return;
    }
    if ((c.op == USE_HOLD ? hold_args : rid_args)(s, hr, resp, rt, &who, &c,
                                                  t0) != 0)
        return;
    c.actor = who.authed && !who.service ? who.user_id : 0;
    if (c.coupon_id < 1 || c.coupon_id > RID_COUPON_MAX) {
        not_found(s, resp, rt, &c, t0);
        return;
    }
    if (c.op == USE_HOLD)
        rid_make(c.coupon_id, c.rid);
    if ((q = service_slot_start(s, resp, rt->id, rt, t0, &tok)) == NULL)
        return;
    q->state = ST_USE;
    q->user_id = c.user_id;
    if ((q->use = calloc(1, sizeof(*q->use))) == NULL || s->red == NULL) {
        service_slot_unavailable(s, tok, q);
        return;
    }
    q->use->call = c;
    if (call(s, tok, q) != 0)
        service_slot_unavailable(s, tok, q);
}
