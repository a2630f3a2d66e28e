/* admit_group.c -- the open admit.lua calls, per coupon. See
 * admit_group.h. */
#include <assert.h>
#include <stddef.h>

#include "admit_group.h"

void *admit_group_find(admit_group_t *g, int64_t coupon_id, void **send)
{
    int i;

    *send = NULL;
    for (i = 0; i < g->n; i++)
        if (g->coupon[i] == coupon_id)
            return g->call[i];
    if (g->n == ADMIT_GROUP_OPEN) /* many coupons at once: make room */
        *send = admit_group_pop(g);
    return NULL;
}

void admit_group_open(admit_group_t *g, int64_t coupon_id, void *call)
{
    assert(g->n < ADMIT_GROUP_OPEN);
    g->call[g->n] = call;
    g->coupon[g->n] = coupon_id;
    g->n++;
}

int admit_group_added(admit_group_t *g, void *call, int n)
{
    int i;

    if (n < ADMIT_GROUP_USERS)
        return 0;
    for (i = 0; g->call[i] != call; i++) /* full: out, the next one opens */
        assert(i + 1 < g->n);
    g->n--;
    g->call[i] = g->call[g->n];
    g->coupon[i] = g->coupon[g->n];
    return 1;
}

void *admit_group_pop(admit_group_t *g)
{
    if (g->n == 0)
        return NULL;
    return g->call[--g->n];
}
