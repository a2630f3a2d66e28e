/* sticky.c -- one partition per loop iteration, round robin, or one per
 * group. See sticky.h. */
#include <string.h>

#include "sticky.h"

static int is_down(const sticky_t *s, int32_t p)
{
    return ((s->down[p / 64] >> (p % 64)) & 1) != 0;
}

/* The first partition after from that has a leader; from + 1 when none
 * has (their events wait for a leader wherever they go). */
static int32_t after(const sticky_t *s, int32_t from)
{
    int32_t i, p;

    for (i = 1; i <= s->cnt; i++) {
        p = (from + i) % s->cnt;
        if (!is_down(s, p))
            return p;
    }
    return (from + 1) % s->cnt;
}

void sticky_set(sticky_t *s, int32_t cnt, const unsigned char *down)
{
    int32_t p;

    if (cnt <= 0 || cnt > STICKY_MAX_PARTITIONS)
        cnt = 0;
    s->cnt = cnt;
    s->ndown = 0;
    memset(s->down, 0, sizeof(s->down));
    for (p = 0; p < cnt && down != NULL; p++)
        if (down[p]) {
            s->down[p / 64] |= UINT64_C(1) << (p % 64);
            s->ndown++;
        }
    if (cnt == 0) {
        s->cur = 0;
        return;
    }
    if (s->cur >= cnt) /* cannot happen (topics only grow): start over */
        s->cur = 0;
    if (is_down(s, s->cur) && s->ndown < cnt)
        s->cur = after(s, s->cur);
}

int32_t sticky_pick(sticky_t *s)
{
    if (s->cnt == 0)
        return STICKY_ANY;
    s->used = 1;
    return s->cur;
}

int32_t sticky_group(const sticky_t *s, uint64_t g)
{
    int32_t p;

    if (s->cnt == 0)
        return STICKY_ANY;
    /* splitmix64's finalizer: consecutive coupon ids spread evenly */
    g ^= g >> 30;
    g *= UINT64_C(0xbf58476d1ce4e5b9);
    g ^= g >> 27;
    g *= UINT64_C(0x94d049bb133111eb);
    g ^= g >> 31;
    p = (int32_t)(g % (uint64_t)s->cnt);
    if (is_down(s, p) && s->ndown < s->cnt)
        p = after(s, p);
    return p;
}

void sticky_next(sticky_t *s)
{
    if (!s->used)
        return;
    s->used = 0;
    s->cur = after(s, s->cur);
}
