/* admit_group.h -- how admission.c groups the admissions taken during one
 * loop iteration into admit.lua calls: one open call per coupon, in
 * arrival order, at most ADMIT_GROUP_USERS users per call (a full call is
 * sent at once and the next admission opens another), at most
 * ADMIT_GROUP_OPEN coupons open at once (one more sends the most recently
 * opened call first). Whatever is open is sent at the end of the
 * iteration.
 *
 * Pure bookkeeping over the caller's call objects (void *), so it is
 * unit-tested alone; the caller creates, fills and sends them. */
#ifndef COUPONQ_API_ADMIT_GROUP_H
#define COUPONQ_API_ADMIT_GROUP_H

#include <stdint.h>

/* Users per admit.lua call: bounds one script's run time in Redis. */
#define ADMIT_GROUP_USERS 128
/* Coupons with a call open at once (a flash sale has one or a few). */
#define ADMIT_GROUP_OPEN 8

typedef struct admit_group {
    void *call[ADMIT_GROUP_OPEN];
    int64_t coupon[ADMIT_GROUP_OPEN];
    int n;
} admit_group_t; /* zeroed: empty */

/* The open call of coupon_id, or NULL: then the caller opens one with
 * admit_group_open(), after sending *send when it is set (the table was
 * full; that call is out of it now). */
void *admit_group_find(admit_group_t *g, int64_t coupon_id, void **send);
void admit_group_open(admit_group_t *g, int64_t coupon_id, void *call);

/* An admission joined call, which now holds n users: 1 when the call is
 * full and out of the table (send it now), else 0. */
int admit_group_added(admit_group_t *g, void *call, int n);

/* Takes an open call out (to send it, or to fail it at shutdown); NULL
 * when none is open. */
void *admit_group_pop(admit_group_t *g);

#endif
