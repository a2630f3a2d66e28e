/* sink.h -- decoded issue events -> rows, one MySQL transaction per call.
 * Used by couponq-worker (a consumed batch) and couponq-replay (re-applied
 * ranges); both commit their Kafka offsets only after sink_apply() returned
 * SINK_OK, so a crash replays at most one call, and the replay changes
 * nothing that already committed.
 *
 * One call = one transaction:
 *   - each coupon of the batch is locked (SELECT ... FOR UPDATE, in ascending
 *     id order so two sinks never deadlock on each other);
 *   - a coupon that does not exist -> every event of it is UNKNOWN_COUPON;
 *   - an event whose (coupon_id, user_id) row exists, or that repeats a user
 *     already in the batch, is a DUPLICATE (not an error);
 *   - the remaining quantity (total - issued) goes to the new users in
 *     ascending `seq` order (admission order); later ones are OVER_QUANTITY
 *     and not inserted;
 *   - rows go in with one bound, array-bound INSERT ... ON DUPLICATE KEY
 *     UPDATE id=id, and coupons.issued_quantity rises by exactly the rows
 *     inserted (checked against the server's affected-rows count);
 *   - a new row's date_used comes from the user's redemption rows (a
 *     redemption confirmed before its issue event arrived), when the
 *     coupon has a use taken (used_quantity != 0).
 *
 * A sink_t borrows its db_t and keeps prepared statements on it; one thread.
 * After an error the statements are dropped and prepared again on the next
 * call, so the caller may db_reconnect() freely between calls. */
#ifndef COUPONQ_SINK_H
#define COUPONQ_SINK_H

#include <stddef.h>

#include "db.h"
#include "event.h"

typedef struct sink sink_t;

typedef enum {
    SINK_INSERTED = 0,  /* a new row; issued_quantity counted it */
    SINK_DUPLICATE,     /* the row already existed (or same user earlier
                           in this batch): nothing to do */
    SINK_OVER_QUANTITY, /* no quantity left: not inserted -> DLQ */
    SINK_UNKNOWN_COUPON /* no such coupon -> DLQ */
} sink_outcome_t;

/* sink_apply() results. */
#define SINK_OK 0
#define SINK_ERR_TRANSIENT                                                     \
    (-1) /* rolled back: retry the same events (after                          \
            a backoff, and db_reconnect()) */
#define SINK_ERR_PERMANENT                                                     \
    (-2) /* rolled back: retrying the same events                              \
            will fail the same way */

/* "inserted", "duplicate", "over_quantity", "unknown_coupon": the last two
 * are also the DLQ `reason` header values. */
const char *sink_outcome_name(sink_outcome_t o);

sink_t *sink_new(db_t *db, char *errstr, size_t n); /* db is borrowed */
void sink_free(sink_t *s);                          /* NULL is a no-op */

/* Applies evs[0..n) in one transaction. On SINK_OK the transaction
 * committed and out[i] says what happened to evs[i]; otherwise nothing
 * changed and errstr says why. n may be 0 (no transaction). */
int sink_apply(sink_t *s, const event_t *evs, size_t n, sink_outcome_t *out,
               char *errstr, size_t errn);

#endif
