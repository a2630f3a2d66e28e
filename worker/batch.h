/* batch.h -- the worker's open batch: consumed messages of both topics
 * (issue requests, redemptions) in arrival order, each with its decoded
 * event or the reason it was rejected, plus the per-(topic, partition)
 * offsets to commit once the batch is done.
 *
 * Pure bookkeeping (no Kafka, no MySQL), so it is unit-tested alone. The
 * batch grows as needed: a message handed to it is never refused, because
 * a consumed message that is dropped unprocessed would be lost once a later
 * offset of its partition is committed. "Full" is the caller's policy
 * (batch_len() >= its limit). Not thread-safe. */
#ifndef COUPONQ_BATCH_H
#define COUPONQ_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "redemption_event.h"

/* Topic indices (the worker maps names to them). */
#define BATCH_ISSUE      0 /* issue requests: items carry ev */
#define BATCH_REDEMPTION 1 /* redemption events: items carry rev */
#define BATCH_TOPICS     2

typedef struct batch batch_t;

typedef struct batch_item {
    int topic; /* BATCH_ISSUE or BATCH_REDEMPTION */
    int32_t partition;
    int64_t offset;
    void *msg;             /* the caller's message (owned by the batch's
                              owner; freed through the free_msg callback) */
    event_reason_t reason; /* EVENT_OK: the event is valid; else why[] */
    union {
        event_t ev;             /* topic BATCH_ISSUE */
        redemption_event_t rev; /* topic BATCH_REDEMPTION */
    };
    char why[160];
} batch_item_t;

typedef void (*batch_free_fn)(void *msg);

batch_t *batch_new(void);
void batch_free(batch_t *b, batch_free_fn free_msg); /* NULL is a no-op */

/* Appends a message; the caller fills reason/ev/why of the returned item.
 * now_ms starts the batch's age when it is the first item. NULL only when
 * out of memory. */
batch_item_t *batch_add(batch_t *b, int topic, int32_t partition,
                        int64_t offset, void *msg, int64_t now_ms);

size_t batch_len(const batch_t *b);
batch_item_t *batch_item(batch_t *b, size_t i);
/* 1 when the batch holds at least max_n items, or its first item was added
 * max_ms or more before now_ms. An empty batch is never due. */
int batch_due(const batch_t *b, size_t max_n, int64_t max_ms, int64_t now_ms);
/* ms until batch_due() by age (0 = already), or -1 when empty. */
int64_t batch_wait_ms(const batch_t *b, int64_t max_ms, int64_t now_ms);

/* The valid issue events in arrival order: evs[k] = item idx[k]'s event.
 * Both arrays hold batch_len() entries. Returns how many. */
size_t batch_events(const batch_t *b, event_t *evs, size_t *idx);
/* The same for the valid redemption events. */
size_t batch_redemptions(const batch_t *b, redemption_event_t *evs,
                         size_t *idx);

/* What to commit: for each (topic, partition) in the batch, its highest
 * offset + 1, in order of first appearance. topics/parts/offs hold
 * batch_len() entries. Returns how many. */
size_t batch_commit_offsets(const batch_t *b, int *topics, int32_t *parts,
                            int64_t *offs);

/* Removes the items of topic's partition p (its assignment was revoked or
 * lost), keeps the others in order. Returns how many were removed. */
size_t batch_drop_partition(batch_t *b, int topic, int32_t p,
                            batch_free_fn free_msg);
void batch_clear(batch_t *b, batch_free_fn free_msg);
/* Exchanges the contents of two batches. */
void batch_swap(batch_t *a, batch_t *b);

#endif
