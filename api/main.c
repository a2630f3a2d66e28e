/* main.c -- couponq-api: flags, the pieces, the loop, shutdown in
 * dependency order. See service.h for what a request goes through.
 *
 * Signals are handled here, on the loop (uv_signal: libuv's handler only
 * writes to its pipe). SIGTERM or SIGINT starts the service's drain; a
 * fatal Kafka producer error starts the same drain and makes the exit
 * status 1, so the supervisor (restart: unless-stopped in docker-compose,
 * systemd) starts a fresh process: an idempotent producer that failed
 * fatally cannot produce again. A second SIGINT during a drain exits at
 * once (130). SIGHUP reloads the JWT keys (a bad file is logged and the
 * old keys stay). SIGPIPE is ignored. Once drained the loop stops, and
 * main closes the listeners, flushes Kafka, closes Redis and frees. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admission.h"
#include "auth.h"
#include "gate.h"
#include "http.h"
#include "kafka_producer.h"
#include "log.h"
#include "metrics.h"
#include "options.h"
#include "redemption.h"
#include "service.h"

typedef struct app {
    uv_loop_t *loop;
    options_t o;
    metrics_t *m;
    auth_t *auth; /* until the gate owns it */
    gate_t *gate;
    admission_t *adm;
    redemption_t *red;
    kafka_producer_t *kp;  /* the issuance events */
    kafka_producer_t *ukp; /* the redemption events */
    service_t *svc;
    http_server_t *srv, *admin;
    uv_signal_t sigterm, sigint, sighup;
    int signals;   /* the signal handles are initialised */
    int exit_code; /* 1 after a fatal Kafka producer error */
} app_t;

/* ---- signals and the drain ---- */

static void on_drained(void *ud)
{
    app_t *a = ud;

    uv_signal_stop(&a->sigterm);
    uv_signal_stop(&a->sigint);
    uv_signal_stop(&a->sighup);
    uv_stop(a->loop);
}

static void on_signal(uv_signal_t *h, int signum)
{
    app_t *a = h->data;

    if (service_draining(a->svc)) {
        if (signum == SIGINT) {
            LOG(LL_WARN, "msg=\"second SIGINT: exiting now\" inflight=%u",
                service_inflight(a->svc));
            _exit(130);
        }
        return;
    }
    service_drain(a->svc, signum == SIGINT ? "SIGINT" : "SIGTERM", on_drained,
                  a);
}

static void on_sighup(uv_signal_t *h, int signum)
{
    app_t *a = h->data;
    auth_t *auth = gate_auth(a->gate);
    char err[512];

    (void)signum;
    if (auth_mode(auth) != AUTH_JWT)
        return;
    if (auth_reload(auth, err, sizeof(err)) != 0)
        LOG(LL_ERROR,
            "msg=\"SIGHUP: keys not reloaded, the old ones stay\" "
            "err=\"%s\"",
            err);
    else
        LOG(LL_INFO, "msg=\"SIGHUP: keys reloaded\" keys=%zu", auth_keys(auth));
}

/* Requests queued in librdkafka get 503 and their admission rolled back;
 * those whose event was in flight may have been written and keep it (503
 * "outcome unknown"; the drain logs them for reconcile --repair).
 * /healthz answers 503 from now on. A drain already under way (SIGTERM)
 * goes on and exits 0. */
static void on_kafka_fatal(void *ud, const char *why)
{
    app_t *a = ud;

    if (service_draining(a->svc))
        return;
    LOG(LL_ERROR,
        "msg=\"kafka producer failed fatally: draining, then exit 1 for a "
        "restart\" err=\"%s\"",
        why);
    a->exit_code = 1;
    service_drain(a->svc, "kafka-fatal", on_drained, a);
}

static void signals_start(app_t *a)
{
    signal(SIGPIPE, SIG_IGN);
    uv_signal_init(a->loop, &a->sigterm);
    uv_signal_init(a->loop, &a->sigint);
    uv_signal_init(a->loop, &a->sighup);
    a->sigterm.data = a->sigint.data = a->sighup.data = a;
    a->signals = 1;
    uv_signal_start(&a->sigterm, on_signal, SIGTERM);
    uv_signal_start(&a->sigint, on_signal, SIGINT);
    uv_signal_start(&a->sighup, on_sighup, SIGHUP);
}

/* ---- the pieces ---- */

/* The admin listener: the same limits, no user header, no per-IP hooks. */
static http_server_t *admin_new(app_t *a, char *err, size_t n)
{
    http_limits_t lim = a->o.http;

    lim.user_header = NULL;
    lim.admit_peer = NULL;
    lim.peer_gone = NULL;
    lim.max_conns = 64;
    return http_server_new(a->loop, a->o.admin_listen, &lim,
                           service_handle_admin, a->svc, err, n);
}

/* Metrics, identity, Redis, the service and Kafka, the listeners. */
static int build(app_t *a, char *err, size_t n)
{
    options_t *o = &a->o;

    if ((a->m = metrics_new()) == NULL) {
        snprintf(err, n, "metrics: out of memory");
        return -1;
    }
    if ((a->auth = auth_new(&o->auth, err, n)) == NULL ||
        (a->gate = gate_new(&o->gate, a->auth, a->m, err, n)) == NULL)
        return -1;
    a->auth = NULL; /* owned by the gate now */
    o->http.admit_peer = gate_admit_peer;
    o->http.peer_gone = gate_peer_gone;
    o->http.peer_ud = a->gate;
    if ((a->adm = admission_new(a->loop, o->redis, err, n)) == NULL ||
        (a->svc = service_new(a->loop, &o->svc, a->adm, a->gate, a->m, err,
                              n)) == NULL ||
        (a->kp = kafka_producer_new(
             a->loop, o->cfg, o->topic, o->message_timeout_ms, -1,
             service_delivered, a->svc, err, n)) == NULL ||
        (a->ukp =
             kafka_producer_new(a->loop, o->cfg, o->redemption_topic,
                                o->message_timeout_ms, o->redemption_linger_ms,
                                service_delivered, a->svc, err, n)) == NULL ||
        (a->red = redemption_new(a->loop, o->redis, err, n)) == NULL)
        return -1;
    admission_set_min_replicas(a->adm, o->redis_min_replicas,
                               o->redis_replica_timeout_ms);
    redemption_set_min_replicas(a->red, o->redis_min_replicas,
                                o->redis_replica_timeout_ms);
    redemption_set_inflight(a->red, o->redemption_inflight);
    if (o->kafka_sticky)
        kafka_producer_sticky(a->kp);
    if (o->redemption_grouped)
        kafka_producer_grouped(a->ukp);
    kafka_producer_on_fatal(a->kp, on_kafka_fatal, a);
    kafka_producer_on_fatal(a->ukp, on_kafka_fatal, a);
    service_set_producer(a->svc, a->kp);
    service_set_redemption(a->svc, a->red, a->ukp);
    if ((a->srv = http_server_new(a->loop, o->listen, &o->http, service_handle,
                                  a->svc, err, n)) == NULL ||
        (o->admin_listen != NULL && (a->admin = admin_new(a, err, n)) == NULL))
        return -1;
    service_set_admin(a->svc, a->admin);
    return 0;
}

static void log_listening(const app_t *a)
{
    const options_t *o = &a->o;

    LOG(LL_INFO,
        "msg=\"listening\" addr=%s admin=%s auth=%s keys=%zu topic=%s "
        "redemption_topic=%s partitioning=%s redemption_partitioning=%s "
        "linger_ms=%s redemption_linger_ms=%s redemption_inflight=%u "
        "message_timeout_ms=%d",
        o->listen, o->admin_listen ? o->admin_listen : "off",
        o->auth.mode == AUTH_JWT   ? "jwt"
        : o->auth.mode == AUTH_OFF ? "off"
                                   : "gateway",
        auth_keys(gate_auth(a->gate)), o->topic, o->redemption_topic,
        o->kafka_sticky ? "sticky" : "key",
        o->redemption_grouped ? "coupon" : "key", kafka_producer_linger(a->kp),
        kafka_producer_linger(a->ukp), o->redemption_inflight,
        kafka_producer_message_timeout(a->kp));
}

/* ---- shutdown, in dependency order ---- */

/* After the drain: listeners (their connections are closed already), then
 * what librdkafka still holds. */
static void stop_serving(app_t *a)
{
    int left;

    http_server_free(a->srv);
    a->srv = NULL;
    http_server_free(a->admin);
    a->admin = NULL;
    if ((left = kafka_producer_flush(a->kp, 10000)) > 0)
        LOG(LL_ERROR, "msg=\"kafka flush timed out\" left=%d", left);
    if ((left = kafka_producer_flush(a->ukp, 10000)) > 0)
        LOG(LL_ERROR,
            "msg=\"kafka flush timed out (redemption events)\" left=%d", left);
}

static void free_all(app_t *a)
{
    http_server_free(a->srv);
    http_server_free(a->admin);
    admission_free(a->adm); /* before the service: callbacks may still run */
    redemption_free(a->red);
    service_free(a->svc);
    kafka_producer_free(a->kp);
    kafka_producer_free(a->ukp);
    if (a->signals) {
        uv_close((uv_handle_t *)&a->sigterm, NULL);
        uv_close((uv_handle_t *)&a->sigint, NULL);
        uv_close((uv_handle_t *)&a->sighup, NULL);
    }
    uv_run(a->loop, UV_RUN_DEFAULT); /* close callbacks free the rest */
    uv_loop_close(a->loop);
    gate_free(a->gate);
    auth_free(a->auth);
    metrics_free(a->m);
    options_free(&a->o);
}

int main(int argc, char **argv)
{
    char err[512] = "";
    app_t a;
    int rc;

    memset(&a, 0, sizeof(a));
    a.loop = uv_default_loop();
    if ((rc = options_parse(&a.o, argc, argv)) != 0) {
        options_free(&a.o);
        return rc == 1 ? 0 : 2;
    }
    rc = 1;
    if (build(&a, err, sizeof(err)) != 0) {
        LOG(LL_ERROR, "msg=\"cannot start\" err=\"%s\"", err);
    } else {
        signals_start(&a);
        service_start(a.svc, a.srv);
        log_listening(&a);
        uv_run(a.loop, UV_RUN_DEFAULT); /* until drained (on_drained) */
        stop_serving(&a);
        rc = a.exit_code;
    }
    free_all(&a);
    return rc;
}
