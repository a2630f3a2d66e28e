/* verdict.h -- what becomes of each message of a flushed batch, from its
 * decoding and its part's sink results: its row is in (an issue event's
 * user then goes to Redis's persisted set), it goes to the DLQ with a
 * reason and an error text, or the whole batch is retried.
 *
 * Pure (no Kafka, no MySQL), so it is unit-tested alone; worker.c acts on
 * the answers in its order: rows, then the DLQ, then the offsets. */
#ifndef COUPONQ_VERDICT_H
#define COUPONQ_VERDICT_H

#include <stddef.h>

#include "batch.h"
#include "redemption_sink.h"
#include "sink.h"

/* DLQ reason of a row MySQL refused on its own (one event, one
 * transaction). */
#define VERDICT_DB_ERROR "db_error"

/* A DLQ entry's reason header and error text (both static or owned by the
 * caller's inputs). */
typedef struct verdict_dlq {
    const char *reason;
    const char *error;
} verdict_dlq_t;

/* A message that did not decode goes to the DLQ with its reason. 1 and d
 * filled when it goes there, else 0. */
int verdict_rejected(const batch_item_t *it, verdict_dlq_t *d);

/* A valid issue event: refused (by MySQL on its own, db_err says why) or
 * its sink outcome. 1 and d filled when it goes to the DLQ (db_error,
 * over_quantity, unknown_coupon), else 0. */
int verdict_issue(int refused, sink_outcome_t out, const char *db_err,
                  verdict_dlq_t *d);

/* 1 when the issue event's row exists (inserted, or there already), so its
 * user belongs in the persisted set. */
int verdict_issue_persisted(int refused, sink_outcome_t out);

/* A valid redemption event: refused, or its sink result. 1 and d filled
 * for the DLQ (db_error, illegal_transition, unknown_coupon), else 0. */
int verdict_redemption(int refused, const redemption_result_t *r,
                       const char *db_err, verdict_dlq_t *d);

/* After a part's events went one per transaction because the part as a
 * whole was refused: nbad of n (n > 0) were refused on their own. SINK_OK
 * (the refused ones go to the DLQ) unless every event was refused: then
 * the cause is not in the events (a missing table, a privilege) and
 * SINK_ERR_PERMANENT keeps the batch for a retry, out of the DLQ. */
int verdict_singly(size_t nbad, size_t n);

#endif
