/* redemption_sink.h -- decoded redemption events -> rows, one MySQL
 * transaction per call. Used by couponq-worker (the redemption part of a
 * consumed batch) and couponq-replay; both commit their Kafka offsets only
 * after redemption_sink_apply() returned SINK_OK, so a crash replays at
 * most one call, and the replay changes nothing that already committed.
 *
 * Every event is a snapshot with a version (redemption_event.h). One call:
 *   - each coupon of the batch is locked (SELECT ... FOR UPDATE, ascending
 *     id, as sink.h does, so the two sinks and two workers never deadlock
 *     on each other); a coupon that does not exist -> every event of it is
 *     UNKNOWN_COUPON (nothing recorded: a redrive after the coupon exists
 *     applies it);
 *   - then each redemption's row (ascending id, FOR UPDATE), and its events
 *     in version order;
 *   - every event goes into redemption_events (event_id PK; INSERT ... ON
 *     DUPLICATE KEY UPDATE, not INSERT IGNORE, which would also swallow
 *     real errors): only a NEW event has side effects, so counters and the
 *     ledger are exactly once through crashes and replays;
 *   - a new event whose version is above the row's, and whose state is
 *     reachable from the row's (held -> confirmed | released | expired ->
 *     ..., confirmed -> partially_reversed | reversed, partially_reversed ->
 *     partially_reversed | reversed; transitively, since versions may be
 *     skipped by out-of-order delivery), moves the row to its snapshot
 *     (APPLIED; no row yet: any snapshot creates it). A lower version is
 *     STALE: the row stays, but its side effects happen (it is new).
 *   - ILLEGAL_TRANSITION: the event contradicts the row -- a higher version
 *     the row's state cannot reach, an older one that cannot lead to the
 *     row's state, the same version with another state or amounts, amounts
 *     going backwards, or another user, order, amount, discount or vendor
 *     terms. It is recorded (outcome illegal_transition), nothing else
 *     changes, and the caller sends it to the DLQ; a replay of it is
 *     ILLEGAL_TRANSITION again (read back from its row), so the DLQ entry
 *     survives a crash between commit and DLQ ack. Redriving it does the
 *     same: it is a record of a divergence, not something to retry.
 *   - side effects of a new, legal event: coupons.used_quantity +1 per
 *     confirmed event, -1 per event with use_freed 1 (summed per coupon);
 *     a vendor_ledger line (vendor_id, event_id, redemption_id,
 *     vendor_amount) for vendor_amount != 0 (UNIQUE event_id too);
 *   - coupon_issues.date_used of the user is recomputed from the rows
 *     whenever one of its redemptions changed: the confirmed_at of the
 *     user's redemption that holds the use (confirmed, partially_reversed,
 *     or reversed without use_freed), NULL when none does -- so out-of-order
 *     events and a later reuse leave the right value. A user whose
 *     coupon_issues row is not written yet (its issue event still in
 *     flight) gets it when the row arrives: db_sink.c runs the same
 *     statement (DB_SQL_DATE_USED) for its new rows, under the same
 *     coupon lock.
 *
 * A redemption_sink_t borrows its db_t and keeps prepared statements on it;
 * one thread. After an error they are dropped and prepared again on the
 * next call, so the caller may db_reconnect() freely between calls. */
#ifndef COUPONQ_REDEMPTION_SINK_H
#define COUPONQ_REDEMPTION_SINK_H

#include <stddef.h>

#include "db.h"
#include "redemption_event.h"
#include "sink.h" /* SINK_OK, SINK_ERR_TRANSIENT, SINK_ERR_PERMANENT */

typedef struct redemption_sink redemption_sink_t;

typedef enum {
    REDEMPTION_SINK_APPLIED = 0, /* new; the row took its snapshot */
    REDEMPTION_SINK_STALE,       /* new, not above the row's version: side
                                    effects only */
    REDEMPTION_SINK_DUPLICATE,   /* event_id seen before: nothing */
    REDEMPTION_SINK_ILLEGAL,     /* recorded only -> DLQ illegal_transition */
    REDEMPTION_SINK_UNKNOWN_COUPON, /* nothing -> DLQ unknown_coupon */
    REDEMPTION_SINK_NOUTCOMES
} redemption_outcome_t;

#define REDEMPTION_SINK_WHY 160

typedef struct redemption_result {
    redemption_outcome_t outcome;
    char why[REDEMPTION_SINK_WHY]; /* ILLEGAL: what contradicts what */
} redemption_result_t;

/* "applied", "stale", "duplicate", "illegal_transition", "unknown_coupon":
 * the last two are also the DLQ `reason` header values. */
const char *redemption_outcome_name(redemption_outcome_t o);

/* dry_run: every call rolls its transaction back instead of committing
 * (couponq-replay --dry-run: the outcomes as they would be). */
redemption_sink_t *redemption_sink_new(db_t *db, int dry_run, char *errstr,
                                       size_t n);
void redemption_sink_free(redemption_sink_t *s); /* NULL is a no-op */

/* Applies evs[0..n) (any order) in one transaction. SINK_OK: committed and
 * out[i] says what happened to evs[i]; SINK_ERR_TRANSIENT / _PERMANENT:
 * nothing changed, errstr says why. n may be 0 (no transaction). */
int redemption_sink_apply(redemption_sink_t *s, const redemption_event_t *evs,
                          size_t n, redemption_result_t *out, char *errstr,
                          size_t errn);

#endif
