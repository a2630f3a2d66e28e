/* backoff.c -- capped exponential backoff with jitter. See backoff.h. */
#include <assert.h>

#include "backoff.h"

void backoff_init(backoff_t *b, int64_t base_ms, int64_t max_ms, uint64_t seed)
{
    assert(base_ms > 0 && max_ms >= base_ms);
    b->base_ms = base_ms;
    b->max_ms = max_ms;
    b->attempt = 0;
    b->rng = seed != 0 ? seed : 0x9e3779b97f4a7c15ULL;
}

static uint64_t xorshift(backoff_t *b)
{
    uint64_t x = b->rng;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    b->rng = x;
    return x;
}

int64_t backoff_next(backoff_t *b)
{
    int64_t ceil = b->base_ms, half;
    unsigned i;

    /* Doubling stops at the cap, so a long outage cannot overflow. */
    for (i = 0; i < b->attempt && ceil < b->max_ms; i++)
        ceil *= 2;
    if (ceil > b->max_ms)
        ceil = b->max_ms;
    b->attempt++;
    half = ceil / 2;
    return ceil - half + (int64_t)(xorshift(b) % (uint64_t)(half + 1));
}

void backoff_reset(backoff_t *b)
{
    b->attempt = 0;
}
