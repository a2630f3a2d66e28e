/* kafka_conf.h -- one place that turns couponq's configuration into a
 * librdkafka configuration: bootstrap servers from --kafka, then every
 * `-X key=value` in order (so an operator can override anything, including
 * what a binary set before calling this). */
#ifndef COUPONQ_KAFKA_CONF_H
#define COUPONQ_KAFKA_CONF_H

#include <stddef.h>
#include <librdkafka/rdkafka.h>

#include "config.h"

/* defaults: NULL-terminated key, value, key, value... applied after
 * bootstrap.servers and before -X. Returns a new conf or NULL with errstr
 * ("-X linger.ms=abc: Invalid value ..."). */
rd_kafka_conf_t *kafka_conf_new(const config_t *cfg,
                                const char *const *defaults, char *errstr,
                                size_t n);

/* The DLQ topic of a topic: "<topic>.dlq" into buf. */
int kafka_dlq_topic(const char *topic, char *buf, size_t n);

#endif
