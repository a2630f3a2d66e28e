/* options.h -- couponq-api's flags (each with an environment default) and
 * the settings derived from them, in one table. */
#ifndef COUPONQ_API_OPTIONS_H
#define COUPONQ_API_OPTIONS_H

#include "auth.h"
#include "config.h"
#include "gate.h"
#include "http.h"
#include "service.h"

typedef struct options {
    config_t *cfg; /* owns the strings below; -X pairs for librdkafka */
    const char *redis, *topic, *listen;
    const char *redemption_topic;
    const char *admin_listen; /* NULL when "off" */
    auth_opts_t auth;
    gate_opts_t gate;
    http_limits_t http;
    service_opts_t svc;
    int message_timeout_ms; /* default for librdkafka's message.timeout.ms */
    int kafka_sticky;       /* --kafka-partitioning sticky: issuance events */
    int redemption_grouped; /* --redemption-partitioning coupon */
    int redemption_linger_ms;
    unsigned redemption_inflight; /* use.lua batches in flight; 0: any */
    /* WAIT after admit.lua and use.lua */
    int redis_min_replicas, redis_replica_timeout_ms;
} options_t;

/* 0 = run, 1 = --help printed (exit 0), -1 = error printed (exit 2).
 * Also initialises logging (--log-level). */
int options_parse(options_t *o, int argc, char **argv);
void options_free(options_t *o);

#endif
