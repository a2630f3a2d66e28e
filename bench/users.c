/* users.c -- user id generators. See users.h.
 *
 * Distinct users are tracked in a bitmap over the pool (1 bit per user), so
 * a zipf run can report how many different users it really sent; SEQ and DUP
 * hand out new users in order and only need a counter. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "users.h"

struct users {
    users_opts_t o;
    rng_t rng;
    uint64_t i;        /* requests generated */
    uint64_t fresh;    /* new users handed out (SEQ/DUP) */
    uint64_t distinct; /* ZIPF: bits set in seen */
    uint8_t *seen;     /* ZIPF: bitmap over ranks */
    double *cdf;       /* ZIPF: cdf[k] = P(rank <= k+1) */
};

static int users_check(const users_opts_t *o, char *errstr, size_t n)
{
    if (o->base < 1) {
        snprintf(errstr, n, "user base must be >= 1");
        return -1;
    }
    if (o->mode == USERS_DUP && !(o->dup_ratio >= 0.0 && o->dup_ratio < 1.0)) {
        snprintf(errstr, n, "dup ratio must be in [0, 1), got %g",
                 o->dup_ratio);
        return -1;
    }
    if (o->mode == USERS_ZIPF) {
        if (!(o->zipf_s > 0.0 && o->zipf_s < 100.0)) {
            snprintf(errstr, n, "zipf exponent must be in (0, 100), got %g",
                     o->zipf_s);
            return -1;
        }
        if (o->n < 1 || o->n > USERS_ZIPF_MAX) {
            snprintf(errstr, n, "zipf needs 1 <= users <= %llu",
                     (unsigned long long)USERS_ZIPF_MAX);
            return -1;
        }
    }
    return 0;
}

static int users_zipf_init(users_t *u, char *errstr, size_t n)
{
    uint64_t k;
    double sum = 0.0;

    u->cdf = malloc(u->o.n * sizeof(*u->cdf));
    u->seen = calloc((u->o.n + 7) / 8, 1);
    if (u->cdf == NULL || u->seen == NULL) {
        snprintf(errstr, n, "out of memory for %llu zipf users",
                 (unsigned long long)u->o.n);
        return -1;
    }
    for (k = 0; k < u->o.n; k++) {
        sum += pow((double)(k + 1), -u->o.zipf_s);
        u->cdf[k] = sum;
    }
    for (k = 0; k < u->o.n; k++)
        u->cdf[k] /= sum;
    u->cdf[u->o.n - 1] = 1.0; /* no rounding gap at the top */
    return 0;
}

users_t *users_new(const users_opts_t *o, char *errstr, size_t n)
{
    users_t *u;

    if (users_check(o, errstr, n) != 0)
        return NULL;
    u = calloc(1, sizeof(*u));
    if (u == NULL) {
        snprintf(errstr, n, "out of memory");
        return NULL;
    }
    u->o = *o;
    rng_seed(&u->rng, o->seed);
    if (o->mode == USERS_ZIPF && users_zipf_init(u, errstr, n) != 0) {
        users_free(u);
        return NULL;
    }
    return u;
}

void users_free(users_t *u)
{
    if (u == NULL)
        return;
    free(u->cdf);
    free(u->seen);
    free(u);
}

/* First k with cdf[k] >= x. */
static uint64_t users_zipf_rank(const users_t *u, double x)
{
    uint64_t lo = 0, hi = u->o.n - 1;

    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;

        if (u->cdf[mid] >= x)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static uint64_t users_next_zipf(users_t *u)
{
    uint64_t k = users_zipf_rank(u, rng_double(&u->rng));

    if (!(u->seen[k / 8] & (1u << (k % 8)))) {
        u->seen[k / 8] |= (uint8_t)(1u << (k % 8));
        u->distinct++;
    }
    return k;
}

static uint64_t users_next_dup(users_t *u)
{
    int exhausted = u->o.n > 0 && u->fresh >= u->o.n;

    if (u->fresh > 0 && (exhausted || rng_double(&u->rng) < u->o.dup_ratio))
        return rng_below(&u->rng, u->fresh);
    return u->fresh++;
}

int64_t users_next(users_t *u)
{
    uint64_t k;

    switch (u->o.mode) {
    case USERS_ZIPF:
        k = users_next_zipf(u);
        break;
    case USERS_DUP:
        k = users_next_dup(u);
        break;
    default:
        k = u->o.n > 0 ? u->i % u->o.n : u->i;
        if (k >= u->fresh)
            u->fresh = k + 1;
        break;
    }
    u->i++;
    return u->o.base + (int64_t)k;
}

uint64_t users_distinct(const users_t *u)
{
    return u->o.mode == USERS_ZIPF ? u->distinct : u->fresh;
}

int users_mode_parse(const char *s)
{
    if (strcmp(s, "seq") == 0)
        return USERS_SEQ;
    if (strcmp(s, "dup") == 0)
        return USERS_DUP;
    if (strcmp(s, "zipf") == 0)
        return USERS_ZIPF;
    return -1;
}

const char *users_mode_name(users_mode_t m)
{
    switch (m) {
    case USERS_DUP:
        return "dup";
    case USERS_ZIPF:
        return "zipf";
    default:
        return "seq";
    }
}
