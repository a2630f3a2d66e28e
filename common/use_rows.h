/* use_rows.h -- a coupon's redemptions as MySQL has them (coupon_redemptions
 * and redemption_events of schemas/mysql/003_redemption.sql), for the
 * operator tools: reports, reconcile, and rebuilding the Redis use state.
 * Implemented in db_use.c.
 *
 * A row is the snapshot of the redemption's latest applied event (a worker
 * applies an event only when its version is higher), and that event's
 * payload -- the one in redemption_events with the row's version -- is the
 * same snapshot plus what Redis needs besides: the event id, its time, the
 * latest reversal. Rows and payloads are streamed to a callback (a coupon
 * may have many); the callback must not use the same db_t. */
#ifndef COUPONQ_USE_ROWS_H
#define COUPONQ_USE_ROWS_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "ulid.h"

/* The redemption states, in this order (counts of db_use_states). */
#define USE_NSTATES 6
extern const char *const use_state_names[USE_NSTATES];

typedef struct use_row {
    const char *rid;
    int64_t version;
    const char *state; /* stored: a held row may be past its expiry */
    /* The event of the row's version as consumed; NULL when
     * redemption_events lacks it (a worker writes both in one transaction,
     * so only a hand-made row has none). */
    const char *payload;
    size_t payload_len;
} use_row_t;

/* Redemption id lists: n ids of ULID_LEN characters, each in its own
 * USE_RID_STRIDE bytes (NUL-terminated: char[RID_LEN + 1] arrays), at most
 * USE_ROWS_IN_MAX per call; an id that is not a ULID is an error. */
#define USE_RID_STRIDE  (ULID_LEN + 1)
#define USE_ROWS_IN_MAX 500

/* fn per row of the coupon, by rid; fn returns 0 to go on, -1 to stop
 * (db_use_rows then returns -1, with fn's reason kept by the caller).
 * rids NULL: every row of the coupon; else only those rows. */
int db_use_rows(db_t *db, int64_t coupon_id, const char *rids, size_t n,
                int (*fn)(void *arg, const use_row_t *row), void *arg);
/* The same rows without their event (payload NULL): id, version and state
 * cost a fraction of the join with the events. */
int db_use_row_keys(db_t *db, int64_t coupon_id,
                    int (*fn)(void *arg, const use_row_t *row), void *arg);
/* fn per reversal event (its redemption id and payload) of the coupon's
 * redemptions (rids NULL) or of those (a list as above) that was not an
 * illegal transition. */
int db_use_reversals(db_t *db, int64_t coupon_id, const char *rids, size_t n,
                     int (*fn)(void *arg, const char *rid, const char *payload,
                               size_t len),
                     void *arg);
/* Rows per state of use_state_names; a held row whose expires_at <= NOW(3)
 * counts as expired. */
int db_use_states(db_t *db, int64_t coupon_id, int64_t counts[USE_NSTATES]);

#endif
