/* sticky.h -- which partition the api's issuance events go to: the same
 * one for every event produced during one event-loop iteration, the next
 * one (round robin) in the next iteration that produces anything.
 *
 * Why: librdkafka 2.0.2 builds one ProduceRequest per partition, and the
 * broker's cost is per request. Keyed by user id, one iteration's burst of
 * admissions spread over every partition: 6 small requests where one
 * would do (kafka_producer.c, above make_conf, has the figures). The key
 * stays the user id; nothing in couponq depends on which partition a key
 * lands in (workers insert idempotently, the tools read every partition).
 *
 * Over many iterations each partition gets about the same share, and a
 * single event of an idle api goes to the next partition. Partitions
 * whose leader the last metadata answer did not know (-1: no replica can
 * lead it) are skipped while another has one: their events would only wait
 * in librdkafka's queue for the leader or message.timeout.ms.
 *
 * Pure bookkeeping, no librdkafka and no loop, so it is unit-tested alone:
 * kafka_producer.c feeds it the metadata (sticky_set), asks it for each
 * event's partition (sticky_pick) and ends each loop iteration
 * (sticky_next, from a uv_check). Not thread-safe: the loop thread only. */
#ifndef COUPONQ_API_STICKY_H
#define COUPONQ_API_STICKY_H

#include <stdint.h>

/* The most partitions followed; a topic with more is left to librdkafka's
 * partitioner (the tools refuse such a topic too: TOPIC_MAX_PARTITIONS). */
#define STICKY_MAX_PARTITIONS 1024
/* sticky_pick's "not known": librdkafka's partitioner decides (the key). */
#define STICKY_ANY (-1)

typedef struct sticky {
    int32_t cnt;   /* partitions; 0 = not known (yet) */
    int32_t cur;   /* the partition of the current iteration */
    int32_t ndown; /* partitions without a leader */
    int used;      /* sticky_pick ran since the last sticky_next */
    uint64_t down[STICKY_MAX_PARTITIONS / 64]; /* bit p: no leader */
} sticky_t; /* zeroed: not known, every pick STICKY_ANY */

/* What the last metadata answer said: cnt partitions (0: the topic is not
 * known; more than STICKY_MAX_PARTITIONS counts as not known), down[p]
 * nonzero where partition p has no leader (down may be NULL: all have
 * one). A topic that grew is used whole from the next pick on; when the
 * current partition lost its leader the next pick moves on. */
void sticky_set(sticky_t *s, int32_t cnt, const unsigned char *down);

/* The partition of an event produced now, or STICKY_ANY. */
int32_t sticky_pick(sticky_t *s);

/* The partition of an event of group g (the redemption events: their
 * coupon) that should stay with its group: a fixed partition per group,
 * from a hash of g, or the next one with a leader while it has none (the
 * group moves for that time: its events are versioned snapshots, so a
 * consumer applying them out of order still ends right). STICKY_ANY when
 * the partitions are not known. Changes nothing in s. */
int32_t sticky_group(const sticky_t *s, uint64_t g);

/* The end of a loop iteration: when anything was picked in it, the next
 * pick gets the next partition that has a leader (any next one when none
 * has). */
void sticky_next(sticky_t *s);

#endif
