/* test_tools_fence_order.c -- the fence guard's lift order: each class
 * (selling, using, upcoming, idle) and its edges, then the sort: class
 * first, the class's deadline next, id last. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "unit.h"

#include "fence_order.h"

#define NOW 1000000

/* An open coupon with a use hash, no use_until, no admitted user, no hold,
 * and the issue window [start, end). */
static fence_window_t win(int64_t id, int64_t start, int64_t end)
{
    fence_window_t w = { .id = id,
                         .now_ms = NOW,
                         .meta = 1,
                         .start_ms = start,
                         .end_ms = end,
                         .open = 1,
                         .use = 1,
                         .until_ms = -1,
                         .hold_ms = -1 };

    return w;
}

static void test_selling(void **state)
{
    fence_window_t w = win(1, NOW, NOW + 1);

    (void)state;
    assert_int_equal(FENCE_SELLING, fence_class(&w)); /* start is inside */
    w.end_ms = NOW;                                   /* end is not */
    assert_int_equal(FENCE_IDLE, fence_class(&w));
    w = win(1, NOW - 10, NOW + 10);
    w.open = 0; /* closed: admit.lua answers closed */
    assert_int_equal(FENCE_IDLE, fence_class(&w));
    w.meta = 0; /* no usable meta: nothing to judge by */
    w.open = 1;
    assert_int_equal(FENCE_IDLE, fence_class(&w));
    assert_string_equal("selling", fence_class_name(FENCE_SELLING));
    assert_string_equal("idle", fence_class_name(FENCE_IDLE));
}

static void test_using(void **state)
{
    fence_window_t w = win(1, NOW - 100, NOW - 50); /* the sale is over */

    (void)state;
    assert_int_equal(FENCE_IDLE, fence_class(&w)); /* nobody owns one */
    w.admitted = 3;
    assert_int_equal(FENCE_USING, fence_class(&w)); /* no use_until */
    w.until_ms = NOW + 1;
    assert_int_equal(FENCE_USING, fence_class(&w));
    w.until_ms = NOW; /* use.lua: now >= until_ms is not_usable */
    assert_int_equal(FENCE_IDLE, fence_class(&w));
    w.until_ms = -1;
    w.use = 0; /* no use hash: use.lua answers not_found */
    assert_int_equal(FENCE_IDLE, fence_class(&w));
    w.use = 1;
    w.open = 0; /* closed: no new hold */
    assert_int_equal(FENCE_IDLE, fence_class(&w));
    w.hold_ms = NOW + 5; /* ... but a live hold can still be confirmed */
    assert_int_equal(FENCE_USING, fence_class(&w));
    w.hold_ms = NOW; /* expired exactly now */
    assert_int_equal(FENCE_IDLE, fence_class(&w));
    assert_string_equal("using", fence_class_name(FENCE_USING));
}

static void test_upcoming(void **state)
{
    fence_window_t w = win(1, NOW + 1, NOW + 100);

    (void)state;
    assert_int_equal(FENCE_UPCOMING, fence_class(&w));
    w.admitted = 1; /* owners already, holds allowed: using goes first */
    w.until_ms = NOW + 1000;
    assert_int_equal(FENCE_USING, fence_class(&w)); /* holds can be taken */
    w.admitted = 0;
    w.open = 0;
    assert_int_equal(FENCE_IDLE, fence_class(&w)); /* closed before it began */
    assert_string_equal("upcoming", fence_class_name(FENCE_UPCOMING));
}

static void test_order(void **state)
{
    fence_window_t v[9];
    static const int64_t want[9] = { 40, 41, 42, 31, 30, 32, 20, 10, 11 };
    size_t i;

    (void)state;
    v[0] = win(10, NOW - 100, NOW - 50);  /* idle */
    v[1] = win(20, NOW + 500, NOW + 600); /* upcoming */
    v[2] = win(30, NOW - 100, NOW - 50);  /* using: until NOW + 300 */
    v[2].admitted = 1;
    v[2].until_ms = NOW + 300;
    v[3] = win(31, NOW - 100, NOW - 50); /* using: a hold until NOW + 200 */
    v[3].admitted = 1;
    v[3].hold_ms = NOW + 200;
    v[4] = win(32, NOW - 100, NOW - 50); /* using: no until (last of them) */
    v[4].admitted = 1;
    v[5] = win(40, NOW - 100, NOW + 30); /* selling, ends first */
    v[6] = win(42, NOW - 100, NOW + 90); /* selling, ends last */
    v[7] = win(41, NOW - 100, NOW + 30); /* selling, same end: by id */
    v[8] = win(11, NOW - 100, NOW - 50); /* idle: by id */
    fence_order(v, 9);
    for (i = 0; i < 9; i++)
        assert_int_equal(want[i], v[i].id);
    fence_order(v, 0); /* nothing to sort */
}

UNIT_TESTS(cmocka_unit_test(test_selling), cmocka_unit_test(test_using),
           cmocka_unit_test(test_upcoming), cmocka_unit_test(test_order))
