/* service_internal.h -- the insides of the service, shared by service.c
 * (routing, the issue path, reads, deadlines, re-produce, drain) and
 * use_service.c (the redemption requests). No other file includes it.
 *
 * Both kinds of request live in the same slot table, so they share the
 * in-flight cap, the deadline sweep, the drain, the latency and status
 * metrics; an event whose delivery outcome was unknown goes to the same
 * re-produce table, whichever topic it is for. */
#ifndef COUPONQ_API_SERVICE_INTERNAL_H
#define COUPONQ_API_SERVICE_INTERNAL_H

#include <stdint.h>

#include "event.h"
#include "gate.h"
#include "http_resp.h"
#include "redemption.h"
#include "route.h"
#include "service.h"
#include "slots.h"
#include "ulid.h"

#define RETRY_AFTER "Retry-After: 1\r\n"

/* A slot's state. The issue path: ADMIT -> PRODUCE [-> RELEASE]; reads:
 * READ; redemptions: USE -> [USE_PRODUCE] [-> USE_UNDO]. */
enum {
    ST_ADMIT = 1,
    ST_PRODUCE,
    ST_RELEASE,
    ST_READ,
    ST_USE,         /* use.lua sent                   redis_timeout_ms */
    ST_USE_PRODUCE, /* its event queued               the delivery report */
    ST_USE_UNDO     /* the transition being taken back     timeout_ms */
};

typedef struct use_req use_req_t; /* use_service.c */
typedef struct use_rp use_rp_t;   /* use_service.c */

typedef struct req {
    http_resp_t *resp; /* NULL once answered or when the client left */
    uint8_t route;
    uint8_t state;
    uint8_t answered;
    int64_t coupon_id, user_id, seq;
    int64_t requested_at_ms; /* the event's, set once at the first produce */
    uint64_t t0_ns;          /* for the latency histogram */
    uint64_t start_ms;       /* loop time at arrival */
    uint64_t answer_by_ms;   /* 0 = no deadline in this state */
    char event_id[ULID_LEN + 1];
    char why[96];   /* why a produce failed, for the 503 */
    use_req_t *use; /* a redemption's call and answer (owned), else NULL */
} req_t;

/* An event whose delivery outcome was unknown: an issue event (ev), or a
 * redemption event (use, owned; ev then names its coupon, user and
 * event id for the logs). */
typedef struct rp {
    event_t ev;
    use_rp_t *use;
    uint64_t next_ms; /* loop time of the next attempt */
    uint32_t attempts;
    uint8_t queued; /* in librdkafka: its delivery report decides */
} rp_t;

/* Status codes we count; the last entry catches the rest. */
#define SERVICE_NCODES 20

struct service {
    uv_loop_t *loop;
    service_opts_t o;
    admission_t *adm;
    redemption_t *red; /* NULL: the redemption routes answer 503 */
    kafka_producer_t *kp;
    kafka_producer_t *ukp; /* the redemption events' producer (topic 0) */
    http_server_t *srv;
    http_server_t *admin; /* NULL when --admin-listen off */
    gate_t *gate;
    metrics_t *m;
    slots_t *slots;
    slots_t *rps; /* re-produces, in the order their outcome was unknown */
    uint64_t rp_walk_ms, drain_until_ms;
    uv_timer_t sweep;
    int draining;
    service_drained_fn drained_fn; /* service_drain's; NULL once called */
    void *drained_ud;
    int http_drained;
    int http_draining; /* listeners still draining */
    /* metrics */
    metric_t *requests[ROUTE_COUNT][SERVICE_NCODES];
    metric_t *latency[ROUTE_COUNT];
    metric_t *admissions[ADMIT_ERROR + 1];
    metric_t *redis_errors, *kafka_errors, *releases_failed, *released;
    metric_t *deadline_503, *inflight, *kafka_queue, *conns, *refused, *evicted;
    uint64_t refused_seen, evicted_seen, settled_seen, not_replicated_seen;
    metric_t *unsettled, *settled, *not_replicated;
    metric_t *rs_kept, *rs_resettled, *rs_removed, *rs_dropped;
    admission_resettle_t rs_seen;
    metric_t *unknown_outcomes, *reproduced, *rp_pending, *rp_overflow;
    /* redemptions (use_service.c): answers by op and code, registered on
     * first use; undos, finish failures, and the kept undos and finishes */
    metric_t *use_answers[USE_NOPS][USE_NCODES];
    metric_t *use_undone, *use_undo_failed, *use_finish_failed;
    metric_t *use_not_replicated;
    /* the kept undos and finishes, by REDEMPTION_KEPT_* */
    metric_t *use_kept[REDEMPTION_KEPT_KINDS],
        *use_resent[REDEMPTION_KEPT_KINDS];
    metric_t *use_applied[REDEMPTION_KEPT_KINDS];
    metric_t *use_kept_dropped[REDEMPTION_KEPT_KINDS];
    redemption_kept_t use_kept_seen[REDEMPTION_KEPT_KINDS];
    uint64_t use_finish_failed_seen;
};

/* ---- service.c ---- */

/* Answers at once (no slot): bad input, refusals. */
void service_reply(service_t *s, http_resp_t *resp, int route, int status,
                   const char *extra, const char *body, size_t len,
                   uint64_t t0);
void service_reply_error(service_t *s, http_resp_t *resp, int route, int status,
                         const char *extra, const char *msg, uint64_t t0);
void service_refuse(service_t *s, http_resp_t *resp, int route,
                    const gate_refusal_t *ref, uint64_t t0);

/* A slot for a request that waits on Redis (state READ, deadline
 * redis_timeout_ms); NULL (and a 503 sent) when the table is full. */
req_t *service_slot_start(service_t *s, http_resp_t *resp, int route,
                          const route_t *rt, uint64_t t0, slot_token_t *tok);
/* Frees the slot (and q->use) once its last callback ran. */
void service_slot_done(service_t *s, slot_token_t tok);
/* Redis refused at once: 503, slot freed. */
void service_slot_unavailable(service_t *s, slot_token_t tok, req_t *q);

/* Answers a slot's request once; the client may be gone. */
void service_answer(service_t *s, req_t *q, int status, const char *extra,
                    const char *body, size_t len);
/* 503 {"result":"unavailable","error":"unavailable: <why>"}, Retry-After 1 */
void service_unavailable(service_t *s, req_t *q, const char *why);
/* 503 "outcome unknown, do not retry before <n> s; <look>", Retry-After n:
 * the event is being produced again. */
void service_ambiguous(service_t *s, req_t *q, const char *look);

/* A re-produce slot for an event of unknown outcome (counted); NULL over
 * the cap (counted too). The caller fills ev (and use). */
rp_t *service_rp_alloc(service_t *s);

/* ---- use_service.c ---- */

/* The five redemption routes. */
void use_start(service_t *s, const http_request_t *hr, http_resp_t *resp,
               route_t *rt, uint64_t t0);
/* The delivery report of a slot in ST_USE_PRODUCE. */
void use_delivered(service_t *s, slot_token_t tok, req_t *q, kafka_outcome_t o,
                   const char *err);
/* Re-produce of a redemption event: queue it again; 0 or -1 with err. */
int use_rp_send(service_t *s, const use_rp_t *u, uint64_t token, char *err,
                size_t n);
/* Acknowledged at last: finish it when its answer asked, then free it. */
void use_rp_acked(service_t *s, use_rp_t *u);
int use_register_metrics(service_t *s);
/* At /metrics. */
void use_update_metrics(service_t *s);

#endif
