/* topic.h -- the Kafka reads and writes of the operator tools: partitions,
 * watermarks, the workers' committed offsets, offsets for times, bounded
 * scans of a topic (main or DLQ), and idempotent produce.
 *
 * One topic_t = one consumer handle (group.id = the group whose committed
 * offsets we read; it never subscribes and never commits, so it does not
 * join or disturb that group) plus a producer made on first use. Scans
 * read a fixed range [start, end) per partition, fixed when the scan
 * begins, so a scan of a live topic terminates.
 *
 * (The tools include rdkafka.h here, in tools/, rather than through a
 * common/kafka_* module: nothing else needs these operations.) */
#ifndef COUPONQ_TOPIC_H
#define COUPONQ_TOPIC_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define TOPIC_MAX_PARTITIONS 1024

typedef struct topic topic_t;

typedef struct topic_msg {
    int32_t partition;
    int64_t offset;
    int64_t timestamp_ms; /* -1 when unknown */
    const char *key;
    size_t key_len;
    const char *value;
    size_t len;
    const char *reason; /* DLQ "reason" header (not NUL-terminated) or NULL */
    size_t reason_len;
    /* DLQ "source_partition"/"source_offset" headers; -1 when absent. */
    int32_t source_partition;
    int64_t source_offset;
} topic_msg_t;

/* Called for each message of a scan; return 0 to go on, -1 to stop (the
 * scan then returns -1 and keeps the callback's topic_error text, if set
 * with topic_fail). */
typedef int (*topic_msg_fn)(void *arg, const topic_msg_t *m);

/* cfg supplies --kafka and -X pairs. NULL with errstr on failure. */
topic_t *topic_open(const config_t *cfg, const char *group, char *errstr,
                    size_t n);
void topic_close(topic_t *t); /* NULL is a no-op; flushes the producer */
const char *topic_error(const topic_t *t);

int topic_partitions(topic_t *t, const char *topic, int32_t *nparts);
/* The same, but a topic the broker does not know has 0 partitions (no
 * error): a topic never created holds no events. */
int topic_partitions_any(topic_t *t, const char *topic, int32_t *nparts);
int topic_watermarks(topic_t *t, const char *topic, int32_t part, int64_t *lo,
                     int64_t *hi);
/* lo[]/hi[] for partitions 0..nparts-1. */
int topic_all_watermarks(topic_t *t, const char *topic, int32_t nparts,
                         int64_t *lo, int64_t *hi);
/* The group's committed offset per partition; -1 where it has none. */
int topic_committed(topic_t *t, const char *topic, int32_t nparts,
                    int64_t *offs);
/* The first offset per partition whose timestamp is >= ts_ms; the high
 * watermark where there is none. */
int topic_offsets_for_times(topic_t *t, const char *topic, int32_t nparts,
                            int64_t ts_ms, int64_t *offs);

/* Reads [start[p], end[p]) of every partition (empty ranges skipped) and
 * calls fn per message in partition order within each partition. Fails
 * when nothing arrives for 30 s. */
int topic_scan(topic_t *t, const char *topic, int32_t nparts,
               const int64_t *start, const int64_t *end, topic_msg_fn fn,
               void *arg);

/* Queues one message (idempotent producer, acks=all); topic_flush() waits
 * for all deliveries and reports how many failed. */
int topic_produce(topic_t *t, const char *topic, const void *key,
                  size_t key_len, const void *value, size_t len);
int topic_flush(topic_t *t, int timeout_ms, int64_t *failed);

#endif
