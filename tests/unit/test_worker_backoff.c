/* test_worker_backoff.c -- capped exponential backoff with jitter: delays
 * stay within [ceiling/2, ceiling], the ceiling doubles up to the cap and
 * stays there, reset starts over, seeds give different sequences. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "unit.h"

#include "backoff.h"

static void test_doubles_within_jitter(void **state)
{
    backoff_t b;
    int64_t ceil = 50;
    int i;
    (void)state;

    backoff_init(&b, 50, 5000, 12345);
    for (i = 0; i < 20; i++) {
        int64_t d = backoff_next(&b);

        assert_true(d >= ceil - ceil / 2);
        assert_true(d <= ceil);
        ceil = ceil * 2 > 5000 ? 5000 : ceil * 2;
    }
}

static void test_cap_holds_for_long_outages(void **state)
{
    backoff_t b;
    int i;
    (void)state;

    backoff_init(&b, 100, 3000, 7);
    for (i = 0; i < 10000; i++) {
        int64_t d = backoff_next(&b);

        assert_true(d > 0);
        assert_true(d <= 3000);
    }
    assert_true(backoff_next(&b) >= 1500);
}

static void test_reset_starts_over(void **state)
{
    backoff_t b;
    int i;
    (void)state;

    backoff_init(&b, 10, 10000, 99);
    for (i = 0; i < 12; i++)
        backoff_next(&b);
    backoff_reset(&b);
    assert_true(backoff_next(&b) <= 10);
    assert_true(backoff_next(&b) <= 20);
}

static void test_seeds_differ(void **state)
{
    backoff_t a, b;
    int i, same = 0;
    (void)state;

    backoff_init(&a, 1000, 1000, 1);
    backoff_init(&b, 1000, 1000, 2);
    for (i = 0; i < 50; i++)
        same += backoff_next(&a) == backoff_next(&b);
    assert_true(same < 50);
}

UNIT_TESTS(cmocka_unit_test(test_doubles_within_jitter),
           cmocka_unit_test(test_cap_holds_for_long_outages),
           cmocka_unit_test(test_reset_starts_over),
           cmocka_unit_test(test_seeds_differ))
