/* worker.h -- couponq-worker: consume issue events and redemption events
 * (--topic and --redemption-topic, one group), write them to MySQL in
 * batches, commit offsets after the rows.
 *
 * One worker_t is one consumer in the group (eager range/roundrobin
 * assignment, manual commits; worker.c says why not cooperative). Its loop
 * polls Kafka into an open batch; when the batch is full or old enough it
 * is flushed: one sink_apply() transaction for its issue events and one
 * redemption_sink_apply() for its redemption events, then the DLQ entries
 * (malformed, unknown_coupon, over_quantity; for redemptions inconsistent,
 * illegal_transition, unknown_coupon), each to its topic's <topic>.dlq,
 * acknowledged, then the batch's offsets committed, then the persisted
 * users SADDed to Redis.
 * A transient failure pauses the assigned partitions and retries the same
 * batch with capped exponential backoff while still polling, so the worker
 * stays in the group and commits nothing until the batch is done. */
#ifndef COUPONQ_WORKER_H
#define COUPONQ_WORKER_H

#include <stddef.h>

#include "config.h"

typedef struct worker worker_t;

extern const cfg_opt_t worker_options[];
extern const size_t worker_noptions;

/* Connects MySQL, the DLQ producer, the consumer (subscribed), /metrics.
 * cfg must outlive the worker. NULL with errstr on failure. */
worker_t *worker_new(const config_t *cfg, char *errstr, size_t n);
/* Runs until worker_stop(): then finishes and commits the open batch and
 * leaves the group (a static member, --instance-id, stays in it until
 * session.timeout.ms). 0 on a clean stop, -1 on a fatal consumer error,
 * fencing by a newer member with the same --instance-id among them. */
int worker_run(worker_t *w);
void worker_stop(worker_t *w);    /* async-signal-safe: only sets a flag */
void worker_destroy(worker_t *w); /* NULL is a no-op */

#endif
