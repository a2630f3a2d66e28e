/* main.c -- couponq-api: flags, the pieces, the loop, shutdown in
 * dependency order. See service.h for what a request goes through. */
#include <stdio.h>
#include <stdlib.h>

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

/* The admin listener: the same limits, no user header, no per-IP hooks. */
static http_server_t *admin_new(uv_loop_t *loop, const options_t *o,
                                service_t *svc, char *err, size_t n)
{
    http_limits_t lim = o->http;

    lim.user_header = NULL;
    lim.admit_peer = NULL;
    lim.peer_gone = NULL;
    lim.max_conns = 64;
    return http_server_new(loop, o->admin_listen, &lim, service_handle_admin,
                           svc, err, n);
}

static void log_listening(const options_t *o, gate_t *gate,
                          const kafka_producer_t *kp)
{
    LOG(LL_INFO,
        "msg=\"listening\" addr=%s admin=%s auth=%s keys=%zu topic=%s "
        "redemption_topic=%s message_timeout_ms=%d",
        o->listen, o->admin_listen ? o->admin_listen : "off",
        o->auth.mode == AUTH_JWT   ? "jwt"
        : o->auth.mode == AUTH_OFF ? "off"
                                   : "gateway",
        auth_keys(gate_auth(gate)), o->topic, o->redemption_topic,
        kafka_producer_message_timeout(kp));
}

int main(int argc, char **argv)
{
    uv_loop_t *loop = uv_default_loop();
    admission_t *adm = NULL;
    redemption_t *red = NULL;
    kafka_producer_t *kp = NULL;
    service_t *svc = NULL;
    http_server_t *srv = NULL, *admin = NULL;
    auth_t *auth = NULL;
    gate_t *gate = NULL;
    metrics_t *m = NULL;
    options_t o;
    char err[512];
    int rc = 1, left, started = 0, use_topic = -1;

    if ((rc = options_parse(&o, argc, argv)) != 0) {
        options_free(&o);
        return rc == 1 ? 0 : 2;
    }
    rc = 1;
    err[0] = '\0';
    if ((m = metrics_new()) == NULL) {
        snprintf(err, sizeof(err), "metrics: out of memory");
        goto out;
    }
    if ((auth = auth_new(&o.auth, err, sizeof(err))) == NULL ||
        (gate = gate_new(&o.gate, auth, m, err, sizeof(err))) == NULL)
        goto out;
    auth = NULL; /* owned by the gate now */
    o.http.admit_peer = gate_admit_peer;
    o.http.peer_gone = gate_peer_gone;
    o.http.peer_ud = gate;
    if ((adm = admission_new(loop, o.redis, err, sizeof(err))) == NULL ||
        (svc = service_new(loop, &o.svc, adm, gate, m, err, sizeof(err))) ==
            NULL ||
        (kp = kafka_producer_new(loop, o.cfg, o.topic, o.message_timeout_ms,
                                 service_delivered, svc, err, sizeof(err))) ==
            NULL ||
        (use_topic = kafka_producer_add_topic(kp, o.redemption_topic, err,
                                              sizeof(err))) < 0 ||
        (red = redemption_new(loop, o.redis, err, sizeof(err))) == NULL)
        goto out;
    admission_set_min_replicas(adm, o.redis_min_replicas,
                               o.redis_replica_timeout_ms);
    redemption_set_min_replicas(red, o.redis_min_replicas,
                                o.redis_replica_timeout_ms);
    service_set_producer(svc, kp);
    service_set_redemption(svc, red, use_topic);
    if ((srv = http_server_new(loop, o.listen, &o.http, service_handle, svc,
                               err, sizeof(err))) == NULL ||
        (o.admin_listen != NULL &&
         (admin = admin_new(loop, &o, svc, err, sizeof(err))) == NULL))
        goto out;
    service_set_admin(svc, admin);
    log_listening(&o, gate, kp);
    started = 1;
    rc = service_run(svc, srv); /* until SIGTERM (0) or a fatal Kafka error
                                   (1), and drained */
    http_server_free(srv);      /* listener and connections already closed */
    srv = NULL;
    http_server_free(admin);
    admin = NULL;
    if ((left = kafka_producer_flush(kp, 10000)) > 0)
        LOG(LL_ERROR, "msg=\"kafka flush timed out\" left=%d", left);
out:
    if (rc != 0 && !started)
        LOG(LL_ERROR, "msg=\"cannot start\" err=\"%s\"", err);
    http_server_free(srv);
    http_server_free(admin);
    admission_free(adm); /* before the service: callbacks may still run */
    redemption_free(red);
    service_free(svc);
    kafka_producer_free(kp);
    uv_run(loop, UV_RUN_DEFAULT); /* close callbacks free the rest */
    uv_loop_close(loop);
    gate_free(gate);
    auth_free(auth);
    metrics_free(m);
    options_free(&o);
    return rc;
}
