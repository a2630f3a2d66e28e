/* ratelimit.h -- GCRA (generic cell rate algorithm: a token bucket kept as
 * one timestamp) per key, in a fixed-size table. Pure, unit-tested.
 *
 * A key may send `burst` requests at once and `rate` per second after
 * that. The table is 4-way set-associative with a fixed number of entries
 * chosen at creation: a new key takes the way whose bucket is fullest
 * (the state that says least), so an attacker rotating keys (IPs, users)
 * costs no memory and can only make the limits more lenient for others,
 * never refuse them. */
#ifndef COUPONQ_API_RATELIMIT_H
#define COUPONQ_API_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

typedef struct ratelimit ratelimit_t;

/* entries rounded up to a power of two (>= 4); rate > 0, burst >= 1. */
ratelimit_t *ratelimit_new(uint32_t entries, double rate, double burst);
void ratelimit_free(ratelimit_t *r); /* NULL is a no-op */

/* Counts one request of key at now_us (monotonic microseconds): 0 when
 * allowed, else -1 with *retry_s (>= 1) set and nothing counted. */
int ratelimit_hit(ratelimit_t *r, uint64_t key, uint64_t now_us,
                  uint32_t *retry_s);

/* Like ratelimit_hit but counts nothing: would one more be allowed? */
int ratelimit_peek(ratelimit_t *r, uint64_t key, uint64_t now_us,
                   uint32_t *retry_s);

#endif
