/* main.c -- couponq-api: flags, the pieces, the loop, shutdown in
 * dependency order. See service.h for what a request goes through. */
#include <stdio.h>
#include <stdlib.h>

#include "admission.h"
#include "http.h"
#include "kafka_producer.h"
#include "log.h"
#include "metrics.h"
#include "options.h"
#include "service.h"

int main(int argc, char **argv)
{
    uv_loop_t *loop = uv_default_loop();
    admission_t *adm = NULL;
    kafka_producer_t *kp = NULL;
    service_t *svc = NULL;
    http_server_t *srv = NULL;
    metrics_t *m = NULL;
    options_t o;
    char err[512];
    int rc = 1, left, started = 0;

    if ((rc = options_parse(&o, argc, argv)) != 0) {
        options_free(&o);
        return rc == 1 ? 0 : 2;
    }
    rc = 1;
    if ((m = metrics_new()) == NULL ||
        (adm = admission_new(loop, o.redis, err, sizeof(err))) == NULL ||
        (svc = service_new(loop, &o.svc, adm, m, err, sizeof(err))) == NULL ||
        (kp = kafka_producer_new(loop, o.cfg, o.topic, o.message_timeout_ms,
                                 service_delivered, svc, err, sizeof(err))) ==
            NULL)
        goto out;
    admission_set_min_replicas(adm, o.redis_min_replicas,
                               o.redis_replica_timeout_ms);
    service_set_producer(svc, kp);
    if ((srv = http_server_new(loop, o.listen, &o.http, service_handle, svc,
                               err, sizeof(err))) == NULL)
        goto out;
    LOG(LL_INFO, "msg=\"listening\" addr=%s topic=%s message_timeout_ms=%d",
        o.listen, o.topic, kafka_producer_message_timeout(kp));
    started = 1;
    rc = service_run(svc, srv); /* until SIGTERM (0) or a fatal Kafka error
                                   (1), and drained */
    http_server_free(srv);      /* listener and connections already closed */
    srv = NULL;
    if ((left = kafka_producer_flush(kp, 10000)) > 0)
        LOG(LL_ERROR, "msg=\"kafka flush timed out\" left=%d", left);
out:
    if (rc != 0 && !started)
        LOG(LL_ERROR, "msg=\"cannot start\" err=\"%s\"", err);
    http_server_free(srv);
    admission_free(adm); /* before the service: callbacks may still run */
    service_free(svc);
    kafka_producer_free(kp);
    uv_run(loop, UV_RUN_DEFAULT); /* close callbacks free the rest */
    uv_loop_close(loop);
    metrics_free(m);
    options_free(&o);
    return rc;
}
