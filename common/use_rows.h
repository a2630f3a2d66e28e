/* use_rows.h -- a coupon's redemptions as MySQL has them (coupon_redemptions
 * and redemption_events of schemas/mysql/003_redemption.sql), for the
 * operator tools: reports, reconcile, and rebuilding the Redis use state.
 * Implemented in db_use.c.
 *
 * A row is the snapshot of the redemption's latest event (the workers apply
 * an event only when its version is higher); with the event itself (same
 * version) it gives everything a Redis record holds, including the latest
 * transition's event id and reversal. */
#ifndef COUPONQ_USE_ROWS_H
#define COUPONQ_USE_ROWS_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"

#define USE_RID_LEN   26
#define USE_ORDER_MAX 64

/* The redemption states, in this order (counts of db_use_states). */
#define USE_NSTATES 6
extern const char *const use_state_names[USE_NSTATES];

typedef struct use_snap {
    char rid[USE_RID_LEN + 1];
    char user[24]; /* decimal, as the record's "u" */
    char order_id[USE_ORDER_MAX + 1];
    int64_t order_amount, discount;
    char state[20]; /* stored state (a held one may be past expires) */
    int64_t version, held_ms, expires_ms, confirmed_ms; /* confirmed: 0 */
    int64_t reversed_amount, refunded_discount;
    int64_t vendor_id, share_bps; /* vendor 0 = platform-funded */
    int reuse, use_freed;
    /* The latest transition (the event whose version is the row's); all
     * empty / 0 when redemption_events lacks it. */
    char event_id[USE_RID_LEN + 1];
    char type[20]; /* held, confirmed, released, expired, reversed */
    char reversal_id[USE_ORDER_MAX + 1];
    int64_t reversal_amount, reversal_refund, vendor_amount;
} use_snap_t;

typedef struct use_reversal {
    char rid[USE_RID_LEN + 1];
    char reversal_id[USE_ORDER_MAX + 1];
    char event_id[USE_RID_LEN + 1];
    int64_t amount, refund, vendor_amount;
} use_reversal_t;

/* The coupon's rows (with their latest events), by rid; malloc'd array
 * (NULL when *n is 0). */
int db_use_snaps(db_t *db, int64_t coupon_id, use_snap_t **out, size_t *n);
/* Every reversal event of the coupon's redemptions (malloc'd). */
int db_use_reversals(db_t *db, int64_t coupon_id, use_reversal_t **out,
                     size_t *n);
/* Rows per state of use_state_names; a held row whose expires_at <= NOW(3)
 * counts as expired. */
int db_use_states(db_t *db, int64_t coupon_id, int64_t counts[USE_NSTATES]);
/* *found = 1 when event_id is in redemption_events (a worker applied it). */
int db_use_has_event(db_t *db, const char *event_id, int *found);

#endif
