/* backoff.h -- capped exponential backoff with jitter, for retrying a batch
 * while MySQL or Kafka is away. Delay n (from 0) is drawn from
 * [c/2, c] where c = min(max_ms, base_ms * 2^n): it never exceeds the cap,
 * and workers that failed together do not retry in lock step. A plain value
 * type; pure logic. */
#ifndef COUPONQ_BACKOFF_H
#define COUPONQ_BACKOFF_H

#include <stdint.h>

typedef struct backoff {
    int64_t base_ms, max_ms;
    unsigned attempt; /* delays handed out since the last reset */
    uint64_t rng;     /* xorshift state, never 0 */
} backoff_t;

void backoff_init(backoff_t *b, int64_t base_ms, int64_t max_ms, uint64_t seed);
int64_t backoff_next(backoff_t *b); /* the next delay, in ms */
void backoff_reset(backoff_t *b);   /* after a success */

#endif
