/* kafka_producer.h -- the api's idempotent Kafka producer, driven by the
 * libuv loop. One of the few files that include rdkafka.h.
 *
 * enable.idempotence=true (acks=all, ordered, no duplicates on retry),
 * small linger.ms, Nagle off; message.timeout.ms comes from the caller so a
 * delivery report always arrives before the request's deadline. Delivery
 * reports are served on the loop thread: librdkafka writes a byte to a pipe
 * when its main queue becomes non-empty (rd_kafka_queue_io_event_enable), a
 * uv_poll on the pipe runs rd_kafka_poll(rk, 0). Each message carries the
 * caller's 64-bit token (a slot token, never a pointer) back to dr_fn,
 * with what librdkafka knows about the outcome (rd_kafka_message_status()).
 *
 * Health: a metadata request for the topic runs every 2 s on libuv's thread
 * pool (it blocks, so never on the loop); kafka_producer_healthy() reports
 * the last answer, or 0 after a fatal producer error. The same answer
 * gives kafka_producer_sticky's topics their partitions.
 *
 * One producer per topic: the api makes two (api/main.c), so that the
 * redemption events' linger.ms (--redemption-linger-ms) can differ from
 * the issuance events', librdkafka's linger.ms being per producer. */
#ifndef COUPONQ_API_KAFKA_PRODUCER_H
#define COUPONQ_API_KAFKA_PRODUCER_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "config.h"

typedef struct kafka_producer kafka_producer_t;

/* The outcome of one message, as its delivery report tells it. */
typedef enum {
    KAFKA_DELIVERED = 0, /* the broker acknowledged it (acks=all) */
    KAFKA_NOT_PERSISTED, /* failed and certainly not written (never sent,
                            or refused before the append) */
    KAFKA_UNKNOWN        /* failed, but may have been written: timed out or
                            cut off in flight (POSSIBLY_PERSISTED), or
                            NOT_ENOUGH_REPLICAS_AFTER_APPEND */
} kafka_outcome_t;

const char *kafka_outcome_name(kafka_outcome_t o);

/* err is NULL for KAFKA_DELIVERED, else librdkafka's reason. */
typedef void (*kafka_producer_dr_fn)(void *ud, uint64_t token,
                                     kafka_outcome_t outcome, const char *err);

/* -X pairs in cfg override the defaults, message_timeout_ms included;
 * linger_ms >= 0 then sets linger.ms over both (the redemption producer's
 * --redemption-linger-ms), -1 leaves it to the default (0) and -X. */
kafka_producer_t *kafka_producer_new(uv_loop_t *loop, const config_t *cfg,
                                     const char *topic, int message_timeout_ms,
                                     int linger_ms, kafka_producer_dr_fn fn,
                                     void *ud, char *errstr, size_t n);

/* Queues one message; 0 when queued (dr_fn will run exactly once), -1 when
 * refused now (queue full, fatal error...) with errstr; dr_fn will not run. */
int kafka_producer_send(kafka_producer_t *kp, const char *key, size_t klen,
                        const char *value, size_t vlen, uint64_t token,
                        char *errstr, size_t n);

int kafka_producer_healthy(const kafka_producer_t *kp);

/* From now on the events go to one partition per loop iteration, round
 * robin (sticky.h), instead of to librdkafka's partitioner (the key's
 * hash, or what -X partitioner= says); the key is sent as before. The
 * partitions come from the health check's metadata (every 2 s, so a topic
 * that grew is used whole); until its first answer the partitioner
 * decides. Before the loop runs. */
void kafka_producer_sticky(kafka_producer_t *kp);
/* From now on an event sent with kafka_producer_send_group goes to its
 * group's partition (sticky_group: a hash of the group, the next
 * partition with a leader while that one has none), the key sent as
 * before; partitions from the same metadata, the partitioner until then.
 * The redemption events are grouped by coupon: one coupon's events in one
 * ProduceRequest per loop iteration, where keyed by redemption id a hot
 * coupon's burst went to every partition. Before the loop runs. */
void kafka_producer_grouped(kafka_producer_t *kp);
/* kafka_producer_send with the event's group (kafka_producer_grouped;
 * otherwise g is not used). */
int kafka_producer_send_group(kafka_producer_t *kp, uint64_t g, const char *key,
                              size_t klen, const char *value, size_t vlen,
                              uint64_t token, char *errstr, size_t n);

/* 1 after a fatal producer error (the idempotent producer cannot go on:
 * librdkafka fails what is queued, and every later send is refused), with
 * librdkafka's reason in why; else 0. Loop thread.
 *
 * Test hook: COUPONQ_API_TEST_KAFKA_FATAL_MS=N in the environment raises a
 * simulated fatal error (rd_kafka_test_fatal_error) at the first health
 * tick (every 2 s) N ms after start: the only way to reach this path
 * against a healthy broker. */
int kafka_producer_fatal(kafka_producer_t *kp, char *why, size_t n);
/* fn(ud, why) runs once, on the loop thread, right after librdkafka
 * reported a fatal error (kafka_producer_fatal answers 1 from then on). */
typedef void (*kafka_producer_fatal_fn)(void *ud, const char *why);
void kafka_producer_on_fatal(kafka_producer_t *kp, kafka_producer_fatal_fn fn,
                             void *ud);
int kafka_producer_queue_len(const kafka_producer_t *kp);
/* The effective message.timeout.ms (after -X). */
int kafka_producer_message_timeout(const kafka_producer_t *kp);
/* The effective linger.ms, as librdkafka reports it (after -X and
 * linger_ms), for the startup log. */
const char *kafka_producer_linger(const kafka_producer_t *kp);

/* Blocks until delivered or timeout (shutdown only; reports are served).
 * Returns the number of messages still queued. */
int kafka_producer_flush(kafka_producer_t *kp, int timeout_ms);

/* Stops the loop handles; the producer is destroyed once they closed.
 * NULL is a no-op. */
void kafka_producer_free(kafka_producer_t *kp);

#endif
