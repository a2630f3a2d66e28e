/* use_repair.h -- the redemption half of couponqctl reconcile: Redis's use
 * state (schemas/redemption.md) against MySQL's rows, and its repair.
 *
 * The event log is the truth, as for issues: a record whose row is missing
 * or older has its latest event produced again, and what Redis lacks or
 * has older is restored from MySQL (use_restore.h, which also holds the
 * restore of rebuild and the fence guard). */
#ifndef COUPONQ_USE_REPAIR_H
#define COUPONQ_USE_REPAIR_H

#include "coupon.h"
#include "tool.h"

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
