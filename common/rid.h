/* rid.h -- redemption ids (schemas/redemption.md): ULIDs whose low 48
 * random bits are the coupon id, so /v1/redemptions/{rid} finds the
 * coupon's hash tag {c<ID>} without a lookup key in another slot.
 *
 * Layout of the 128 bits: 48-bit ms time, 32 random bits, 48-bit coupon id.
 * Monotonic within one thread, as ulid_generate: two ids of the same ms
 * increment the 32-bit part, so one thread's ids sort by creation. Two
 * processes draw the same id in the same ms with probability 2^-32 per
 * pair; use.lua answers rid_taken and the api draws again. */
#ifndef COUPONQ_RID_H
#define COUPONQ_RID_H

#include <stddef.h>
#include <stdint.h>

#include "ulid.h"

#define RID_LEN        ULID_LEN
#define RID_COUPON_MAX ((int64_t)0xFFFFFFFFFFFF) /* 2^48 - 1 */

/* coupon_id must be 1 .. RID_COUPON_MAX. out gets RID_LEN chars + NUL. */
void rid_make(int64_t coupon_id, char out[RID_LEN + 1]);

/* Deterministic form for tests: time ms, the 32 random bits, the coupon. */
void rid_encode(uint64_t ms, uint32_t rnd, int64_t coupon_id,
                char out[RID_LEN + 1]);

/* 0 with *coupon_id when s is a ULID (ulid_valid: 26 upper-case Crockford
 * characters); *coupon_id is 0 for a ULID that names no coupon (no such
 * redemption: 404). -1 when s is not a ULID (400). */
int rid_coupon(const char *s, size_t len, int64_t *coupon_id);

#endif
