/* ratelimit.c -- GCRA in a set-associative table. See ratelimit.h.
 *
 * Per key: tat, the theoretical arrival time. A request at now is allowed
 * when tat - now <= tau (tau = (burst - 1) * T, T = 1 / rate), and then
 * tat = max(tat, now) + T. An entry whose tat is in the past holds no
 * information (a full bucket), which is what eviction prefers. */
#include <stdlib.h>

#include "ratelimit.h"

#define WAYS 4

typedef struct entry {
    uint64_t key;
    uint64_t tat; /* microseconds; 0 = empty */
} entry_t;

struct ratelimit {
    uint32_t sets; /* power of two */
    uint64_t t_us, tau_us;
    uint64_t seed;
    entry_t *e;
};

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

ratelimit_t *ratelimit_new(uint32_t entries, double rate, double burst)
{
    ratelimit_t *r = calloc(1, sizeof(*r));
    uint32_t sets = 1;

    if (r == NULL)
        return NULL;
    while (sets * WAYS < entries)
        sets *= 2;
    r->sets = sets;
    r->t_us = (uint64_t)(1e6 / rate);
    if (r->t_us == 0)
        r->t_us = 1;
    r->tau_us = (uint64_t)((burst - 1) * (double)r->t_us);
    /* Keys are spread with a per-process seed, so nobody can aim a set. */
    r->seed = mix((uint64_t)(uintptr_t)r ^ (uint64_t)rand());
    if ((r->e = calloc((size_t)sets * WAYS, sizeof(entry_t))) == NULL) {
        free(r);
        return NULL;
    }
    return r;
}

void ratelimit_free(ratelimit_t *r)
{
    if (r == NULL)
        return;
    free(r->e);
    free(r);
}

/* The key's entry, or the way to reuse for it (tat cleared). */
static entry_t *find(ratelimit_t *r, uint64_t key, uint64_t now)
{
    entry_t *set = &r->e[(size_t)(mix(key ^ r->seed) & (r->sets - 1)) * WAYS];
    entry_t *victim = &set[0];
    int w;

    for (w = 0; w < WAYS; w++) {
        if (set[w].tat != 0 && set[w].key == key)
            return &set[w];
        if (set[w].tat < victim->tat)
            victim = &set[w];
    }
    (void)now;
    victim->key = key;
    victim->tat = 0;
    return victim;
}

static int check(ratelimit_t *r, uint64_t key, uint64_t now, uint32_t *retry_s,
                 int count)
{
    entry_t *e;
    uint64_t tat;

    now += 1; /* tat 0 means empty */
    e = find(r, key, now);
    tat = e->tat > now ? e->tat : now;
    if (tat - now > r->tau_us) {
        *retry_s = (uint32_t)((tat - now - r->tau_us + 999999) / 1000000);
        if (*retry_s == 0)
            *retry_s = 1;
        if (e->tat == 0)
            e->tat = now; /* a cleared victim stays a valid empty bucket */
        return -1;
    }
    if (count)
        e->tat = tat + r->t_us;
    else if (e->tat == 0)
        e->tat = now;
    return 0;
}

int ratelimit_hit(ratelimit_t *r, uint64_t key, uint64_t now_us,
                  uint32_t *retry_s)
{
    return check(r, key, now_us, retry_s, 1);
}

int ratelimit_peek(ratelimit_t *r, uint64_t key, uint64_t now_us,
                   uint32_t *retry_s)
{
    return check(r, key, now_us, retry_s, 0);
}
