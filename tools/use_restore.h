/* use_restore.h -- restoring a coupon's Redis use state (schemas/redemption.md)
 * from MySQL's rows and events and the events of --redemption-topic: the
 * restore of couponqctl rebuild and the fence guard, and the one
 * reconcile --repair runs for the records Redis lacks (use_repair.h).
 *
 * The event log is the truth, as for issues: an event acknowledged by Kafka
 * is either in MySQL (a worker applied it) or in the topic past the
 * workers' committed offsets. Restoring takes every redemption's latest
 * event from there and writes its record where Redis has none or an older
 * version (atomically per batch, use:recs/orders/users/holds and the
 * `confirmed` counter together), so restoring twice, or restoring over a
 * partly surviving dataset, gives the same state. */
#ifndef COUPONQ_USE_RESTORE_H
#define COUPONQ_USE_RESTORE_H

#include <stddef.h>
#include <stdint.h>

#include "coupon.h"
#include "live.h"
#include "tool.h"

typedef struct use_restore {
    int64_t rows;         /* MySQL rows read */
    int64_t fetched;      /* of those, rows whose events were read (Redis
                             lacked or had older their record, or a finish
                             of it pending) */
    int64_t rows_skipped; /* rows whose latest event is not in MySQL */
    int64_t events;       /* unconsumed events of the coupon in the topic */
    int64_t invalid;      /* payloads the codec refused (skipped) */
    int64_t written;      /* records written (missing or older in Redis) */
    int64_t revs;         /* use:revs entries written */
    int64_t finished;     /* lost finishes run (their release is durable) */
    int use_hash_written; /* the use hash was missing and is written now */
} use_restore_t;

/* Restores coupon c's use state on live: the records from MySQL (rows and
 * their latest events), then from the events of --redemption-topic at or
 * after --group's committed offsets (read before the rows: see
 * repair.c's read_committed), the revs entries, and, when the use hash is
 * missing, the hash from the row with `confirmed` counted from the
 * records. Only the rows whose record Redis lacks, has at an older
 * version or holds pending at the row's version have their events read
 * (st->fetched): a record at the row's version came with its revs entries.
 * Then the finishes the dataset lost: a record still pending
 * (`p` 1) at a version whose release event (released, or reversed with
 * use_freed) is among those rows and events gets use.lua's finish, as the
 * api ran it after Kafka's acknowledgement. 0, or -1 (reported). */
int use_repair_restore(tool_t *t, live_t *live, const coupon_t *c,
                       use_restore_t *st);

/* The same restore limited to the nonly rids at only (sorted, without
 * repeats, char[RID_LEN + 1] each; none restores no record), from MySQL
 * alone: no topic scan and no lost finishes (reconcile --repair: Redis had
 * the topic's unconsumed events when they were made, and finishes its own
 * list). A missing use hash is still written. 0, or -1 (reported). */
int use_restore_only(tool_t *t, live_t *live, const coupon_t *c,
                     const char *only, size_t nonly, use_restore_t *st);

#endif
