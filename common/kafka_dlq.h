/* kafka_dlq.h -- the dead-letter queue: events a consumer could not turn
 * into rows go to "<source_topic>.dlq" (each topic has its own DLQ; one
 * producer serves them all) with headers that say why and where from:
 *
 *   reason            e.g. bad_json, over_quantity, unknown_coupon
 *   error             human-readable detail
 *   source_topic      the topic the event was read from
 *   source_partition  decimal
 *   source_offset     decimal
 *
 * Key and value are the original message's, byte for byte. kafka_dlq_send()
 * returns only when the broker acknowledged every message (acks=all,
 * idempotent producer), so a consumer may commit the source offsets after
 * it. Delivery is at-least-once: a crash between the ack and the offset
 * commit sends the same entries again; DLQ readers dedupe by
 * (source_topic, source_partition, source_offset).
 *
 * One kafka_dlq_t owns one producer; kafka_dlq_send() is for one thread. */
#ifndef COUPONQ_KAFKA_DLQ_H
#define COUPONQ_KAFKA_DLQ_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

typedef struct kafka_dlq kafka_dlq_t;

typedef struct kafka_dlq_msg {
    const void *key; /* may be NULL */
    size_t key_len;
    const void *value; /* may be NULL */
    size_t len;
    const char *reason;
    const char *error; /* may be NULL */
    const char *source_topic;
    int32_t source_partition;
    int64_t source_offset;
} kafka_dlq_msg_t;

/* A DLQ producer, configured from cfg (--kafka, -X). NULL with errstr on
 * failure. */
kafka_dlq_t *kafka_dlq_new(const config_t *cfg, char *errstr, size_t n);
void kafka_dlq_destroy(kafka_dlq_t *d); /* NULL is a no-op; flushes 5 s */

/* Produces msgs[0..n), each to "<its source_topic>.dlq", and waits up to
 * timeout_ms for all acknowledgements.
 * 0 when every message was acknowledged; -1 with errstr otherwise (then
 * send the whole set again: some may have been written already). */
int kafka_dlq_send(kafka_dlq_t *d, const kafka_dlq_msg_t *msgs, size_t n,
                   int timeout_ms, char *errstr, size_t errn);

#endif
