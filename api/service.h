/* service.h -- what couponq-api does with a request: route it, admit in
 * Redis, produce to Kafka, answer; plus the in-flight table, deadlines,
 * metrics and the drain (main.c decides when: SIGTERM, SIGINT, a fatal
 * Kafka producer error).
 *
 * POST /v1/coupons/{id}/issues: admit.lua decides; only "accepted" produces
 * the event, and the 202 is sent from the Kafka delivery report. A failed
 * delivery (error, message timeout, queue full, fatal producer) runs
 * release.lua and answers 503 + Retry-After once the member is removed --
 * but only when the event was certainly not written (KAFKA_NOT_PERSISTED).
 * When the outcome is unknown (timed out in flight, e.g. a stalled broker
 * that may still append it), the admission is kept, the user gets 503 with
 * "outcome unknown, do not retry before <n> s; GET the issue status", and
 * the same event is produced again with backoff until Kafka acknowledges
 * it (at most max_inflight such events are held; beyond, the admission is
 * kept without a re-produce and logged for couponqctl reconcile --repair).
 * The coupon is then issued either way; a retry gets 409 duplicate. A drain
 * waits up to 10 s for those re-produces and logs what is left.
 *
 * Deadlines: the Redis phase of a request must finish within
 * redis_timeout_ms, else 503 (and if admit.lua accepted after all, the
 * member is released). Once produced, the delivery report decides: librdkafka
 * reports within message.timeout.ms, which defaults to timeout_ms minus the
 * Redis phase and the release, so every answer comes within timeout_ms.
 *
 * If the Redis connection breaks after admit.lua was sent, the answer is
 * lost: 503, nothing produced, and the admission module settles the call
 * once Redis is reachable (settle.lua removes exactly the users that call
 * admitted; see admission.h). If the process stops first, couponqctl
 * reconcile finds those users (admitted, no event).
 *
 * The redemption routes (POST /v1/coupons/{id}/redemptions, POST
 * /v1/redemptions/{rid}/confirm|cancel|reverse, GET /v1/redemptions/{rid})
 * run in use_service.c on the same slots and deadlines: use.lua decides,
 * the answer waits for its event on the redemption topic, a transition
 * whose event Kafka certainly did not write is undone (503), an unknown
 * outcome is re-produced as above.
 *
 * A client that disconnects does not cancel its request: the admission and
 * the produce run to completion and the coupon is issued if Kafka acks (the
 * user sees it with GET .../issues/{user_id}); on failure it is released as
 * usual. Its slot is freed when the last callback ran. */
#ifndef COUPONQ_API_SERVICE_H
#define COUPONQ_API_SERVICE_H

#include <stdint.h>

#include <uv.h>

#include "admission.h"
#include "gate.h"
#include "http.h"
#include "kafka_producer.h"
#include "metrics.h"
#include "redemption.h"

typedef struct service_opts {
    uint32_t max_inflight; /* slots; beyond it 503 at once */
    int redis_timeout_ms;  /* Redis phase deadline */
    int timeout_ms;        /* whole request deadline */
} service_opts_t;

typedef struct service service_t;

/* gate: limits and authentication of user requests (not owned). */
service_t *service_new(uv_loop_t *loop, const service_opts_t *o,
                       admission_t *adm, gate_t *gate, metrics_t *m,
                       char *errstr, size_t n);
void service_set_producer(service_t *s, kafka_producer_t *kp);
/* The redemption routes' Redis calls and the producer of their events
 * (its topic 0; not owned); without, those routes answer 503. */
void service_set_redemption(service_t *s, redemption_t *red,
                            kafka_producer_t *ukp);
/* The admin listener (/metrics, /healthz), drained with the public one;
 * NULL when --admin-listen off. */
void service_set_admin(service_t *s, http_server_t *admin);
void service_free(service_t *s); /* NULL is a no-op */

/* The http_handler_fn and the kafka_producer_dr_fn (ud = service). */
void service_handle(void *ud, const http_request_t *req, http_resp_t *resp);
/* The admin listener's handler: /metrics and /healthz only. */
void service_handle_admin(void *ud, const http_request_t *req,
                          http_resp_t *resp);
void service_delivered(void *ud, uint64_t token, kafka_outcome_t outcome,
                       const char *err);

/* Serves srv (the public listener; its handler is service_handle): starts
 * the deadline sweep. The caller runs the loop. */
void service_start(service_t *s, http_server_t *srv);

/* Starts the drain: both listeners stop accepting, and once every
 * connection was answered and closed, no request is in flight, the
 * re-produces were acknowledged (at most 10 s, none after a fatal producer
 * error) and the finish calls answered, the sweep stops and done(ud) runs,
 * once. why names the cause in the log. A drain under way ignores later
 * calls. Requests during a drain after a fatal producer error get 503 and
 * their admission rolled back, as the producer refuses them. */
typedef void (*service_drained_fn)(void *ud);
void service_drain(service_t *s, const char *why, service_drained_fn done,
                   void *ud);
int service_draining(const service_t *s);
/* Requests in the slot table. */
uint32_t service_inflight(const service_t *s);

#endif
