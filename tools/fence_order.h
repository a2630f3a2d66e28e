/* fence_order.h -- the order in which the fence guard verifies and lifts
 * fenced coupons (tools/repair.c). Pure, unit-tested.
 *
 * The guard verifies one coupon at a time, and a coupon with a long
 * redemption history costs seconds; while it works every other fenced
 * coupon stays paused. So the coupons users can act on right now go first,
 * soonest deadline first within their class, and those nobody can act on
 * (a sale long over) go last, where they delay nobody:
 *
 *   FENCE_SELLING   open and start_ms <= now < end_ms: admit.lua admits
 *                   it but for the fence. By end_ms: the sale ending soonest
 *                   loses the largest share of what is left of it.
 *   FENCE_USING     a live hold (its confirm must come before it expires),
 *                   or open with admitted users and use_until not passed
 *                   (holds can be taken). By the first live hold's expiry,
 *                   else use_until (none: last).
 *   FENCE_UPCOMING  open, its sale starts later. By start_ms.
 *   FENCE_IDLE      the rest (closed, or both windows over): only a
 *                   reversal of a confirmed use can still come. By id.
 *
 * The window is what admit.lua and use.lua will judge by once the fence is
 * lifted: the meta and the use hash as the (possibly older) dataset has
 * them, on the Redis clock. */
#ifndef COUPONQ_FENCE_ORDER_H
#define COUPONQ_FENCE_ORDER_H

#include <stddef.h>
#include <stdint.h>

/* One fenced coupon as Redis has it (live_window in live.h reads it). */
typedef struct fence_window {
    int64_t id;
    int64_t now_ms;           /* Redis TIME when it was read */
    int meta;                 /* start_ms, end_ms and state parsed */
    int64_t start_ms, end_ms; /* the meta's issue window */
    int open;                 /* meta state "open" (else closed) */
    int use;                  /* the use hash has a valid until_ms */
    int64_t until_ms;         /* -1 = no use_until */
    int64_t admitted;         /* SCARD issued */
    int64_t hold_ms;          /* the earliest live hold's expiry; -1 none */
} fence_window_t;

typedef enum {
    FENCE_SELLING,
    FENCE_USING,
    FENCE_UPCOMING,
    FENCE_IDLE
} fence_class_t;

fence_class_t fence_class(const fence_window_t *w);
const char *fence_class_name(fence_class_t c); /* "selling", ... */

/* Sorts v into the guard's order: class, then the class's deadline, then
 * id (so two guards with the same view go the same way). */
void fence_order(fence_window_t *v, size_t n);

#endif
