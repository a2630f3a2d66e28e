/* arrival.c -- intended send times. See arrival.h.
 *
 * peek/next keep one computed time ahead, so the generator can look at the
 * next due time without consuming a random draw it may not use yet. */
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "arrival.h"

struct arrival {
    arrival_mode_t mode;
    double rate;
    rng_t rng;
    uint64_t i;     /* index of the time in `ahead` */
    double t;       /* POISSON: running time in ns */
    uint64_t ahead; /* the next intended time */
};

static uint64_t arrival_compute(arrival_t *s)
{
    double gap;

    if (s->mode == ARRIVAL_FIXED)
        return (uint64_t)llround((double)s->i * 1e9 / s->rate);
    if (s->i == 0)
        return 0; /* the first request goes at the start */
    /* 1 - u is in (0, 1], so the log is finite. */
    gap = -log(1.0 - rng_double(&s->rng)) * 1e9 / s->rate;
    s->t += gap;
    return (uint64_t)llround(s->t);
}

arrival_t *arrival_new(arrival_mode_t mode, double rate, uint64_t seed)
{
    arrival_t *s;

    assert(rate > 0.0);
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->mode = mode;
    s->rate = rate;
    rng_seed(&s->rng, seed);
    s->ahead = arrival_compute(s);
    return s;
}

void arrival_free(arrival_t *s)
{
    free(s);
}

uint64_t arrival_peek(arrival_t *s)
{
    return s->ahead;
}

uint64_t arrival_next(arrival_t *s)
{
    uint64_t t = s->ahead;

    s->i++;
    s->ahead = arrival_compute(s);
    return t;
}

int arrival_mode_parse(const char *s)
{
    if (strcmp(s, "fixed") == 0)
        return ARRIVAL_FIXED;
    if (strcmp(s, "poisson") == 0)
        return ARRIVAL_POISSON;
    return -1;
}

const char *arrival_mode_name(arrival_mode_t m)
{
    return m == ARRIVAL_POISSON ? "poisson" : "fixed";
}
