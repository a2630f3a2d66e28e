/* fence_order.c -- the fence guard's lift order. See fence_order.h. */
#include <stdlib.h>

#include "fence_order.h"

fence_class_t fence_class(const fence_window_t *w)
{
    int64_t now = w->now_ms;

    if (!w->meta)
        return FENCE_IDLE;
    if (w->open && w->start_ms <= now && now < w->end_ms)
        return FENCE_SELLING;
    /* A live hold can be confirmed even on a closed coupon (use.lua
     * refuses only new holds there). */
    if (w->hold_ms > now)
        return FENCE_USING;
    if (w->open && w->use && w->admitted > 0 &&
        (w->until_ms == -1 || now < w->until_ms))
        return FENCE_USING;
    if (w->open && now < w->start_ms)
        return FENCE_UPCOMING;
    return FENCE_IDLE;
}

const char *fence_class_name(fence_class_t c)
{
    static const char *const names[] = { "selling", "using", "upcoming",
                                         "idle" };

    return names[c];
}

/* The deadline that orders a class (INT64_MAX: none). */
static int64_t deadline(const fence_window_t *w, fence_class_t c)
{
    switch (c) {
    case FENCE_SELLING:
        return w->end_ms;
    case FENCE_USING:
        if (w->hold_ms > w->now_ms)
            return w->hold_ms; /* a hold never outlives use_until */
        return w->until_ms == -1 ? INT64_MAX : w->until_ms;
    case FENCE_UPCOMING:
        return w->start_ms;
    case FENCE_IDLE:
        break;
    }
    return INT64_MAX;
}

static int cmp_i64(int64_t a, int64_t b)
{
    return (a > b) - (a < b);
}

static int window_cmp(const void *a, const void *b)
{
    const fence_window_t *x = a, *y = b;
    fence_class_t cx = fence_class(x), cy = fence_class(y);
    int c;

    if (cx != cy)
        return cx < cy ? -1 : 1;
    if ((c = cmp_i64(deadline(x, cx), deadline(y, cy))) != 0)
        return c;
    return cmp_i64(x->id, y->id);
}

void fence_order(fence_window_t *v, size_t n)
{
    if (n > 1)
        qsort(v, n, sizeof(*v), window_cmp);
}
