/* test_tools_progress.c -- the replay progress bar's text: fill, counts,
 * percentage, rate and ETA, and the edges (nothing to do, overshoot). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "unit.h"

#include "progress.h"

static void test_half(void **state)
{
    char buf[256];

    (void)state;
    progress_format(buf, sizeof(buf), 450, 1000, 3.0, 20);
    assert_string_equal(buf,
                        "[#########           ] 450/1000 45% 150/s ETA 4s");
}

static void test_done_and_empty(void **state)
{
    char buf[256];

    (void)state;
    progress_format(buf, sizeof(buf), 1000, 1000, 2.0, 10);
    assert_string_equal(buf, "[##########] 1000/1000 100% 500/s");
    progress_format(buf, sizeof(buf), 0, 0, 0.0, 4);
    assert_string_equal(buf, "[####] 0/0 100% 0/s");
    progress_format(buf, sizeof(buf), 0, 10, 0.0, 4);
    assert_string_equal(buf, "[    ] 0/10 0% 0/s");
}

static void test_overshoot_and_small_buffer(void **state)
{
    char buf[256], tiny[8];

    (void)state;
    /* More events than the range (a topic grew): the bar stays full. */
    progress_format(buf, sizeof(buf), 12, 10, 1.0, 4);
    assert_string_equal(buf, "[####] 12/10 100% 12/s");
    progress_format(tiny, sizeof(tiny), 5, 10, 1.0, 4);
    assert_string_equal(tiny, "[##  ] "); /* truncated, terminated */
}

UNIT_TESTS(cmocka_unit_test(test_half), cmocka_unit_test(test_done_and_empty),
           cmocka_unit_test(test_overshoot_and_small_buffer))
