/* use_repair.h -- the redemption half of couponqctl reconcile, rebuild and
 * the fence guard: Redis's use state (schemas/redemption.md) against MySQL's
 * rows and events and the events of --redemption-topic.
 *
 * The event log is the truth, as for issues: an event acknowledged by Kafka
 * is either in MySQL (a worker applied it) or in the topic past the
 * workers' committed offsets. Restoring takes every redemption's latest
 * event from there and writes its record where Redis has none or an older
 * version (atomically per batch, use:recs/orders/users/holds and the
 * `confirmed` counter together), so restoring twice, or restoring over a
 * partly surviving dataset, gives the same state. */
#ifndef COUPONQ_USE_REPAIR_H
#define COUPONQ_USE_REPAIR_H

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

/* Redis records vs MySQL rows (version and state); the differences go into
 * the result. With repair: re-produce the latest event (use.lua get) of a
 * record whose row is missing or older, restore from MySQL the records
 * Redis lacks or has older, and finish records whose pending finish (`p`)
 * is due (their event is in MySQL); a missing use hash is written from
 * the row. *consistent = 1 when nothing differed (or all was repaired).
 * Returns a TOOL_EXIT_* code. */
int use_repair_reconcile(tool_t *t, const coupon_t *c, int repair,
                         int *consistent);

#endif
