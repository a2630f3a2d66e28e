/* test_tools_reconcile.c -- the reconcile diff: missing vs in-flight vs
 * lost vs counter, the re-read of rows after the topic scan, and the
 * sort/unique helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "unit.h"

#include "reconcile.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void assert_ids(const int64_t *got, size_t n, const int64_t *want,
                       size_t nwant)
{
    size_t i;

    assert_int_equal(n, nwant);
    for (i = 0; i < n; i++)
        assert_int_equal(got[i], want[i]);
}

static void test_consistent(void **state)
{
    const int64_t admitted[] = { 1, 2, 3 }, rows[] = { 1, 2, 3 };
    reconcile_input_t in = { admitted, 3, rows, 3, NULL, 0, NULL, 0, 3, 3 };
    reconcile_report_t r;

    (void)state;
    assert_int_equal(reconcile_diff(&in, &r), 0);
    assert_int_equal(r.nmissing + r.nlost + r.nin_flight, 0);
    assert_false(r.counter_off);
    assert_true(reconcile_consistent(&r));
    reconcile_report_free(&r);
}

static void test_missing_inflight_lost(void **state)
{
    /* 4 and 7 admitted without row: 4 has an event (in flight), 7 none
     * (api crash). 9 has a row but is not admitted (Redis lost it). */
    const int64_t admitted[] = { 1, 2, 4, 7 }, rows[] = { 1, 2, 9 },
                  topic[] = { 1, 4, 100 };
    const int64_t want_missing[] = { 7 }, want_flight[] = { 4 },
                  want_lost[] = { 9 };
    reconcile_input_t in = { admitted, N(admitted), rows,     N(rows), NULL,
                             0,        topic,       N(topic), 3,       3 };
    reconcile_report_t r;

    (void)state;
    assert_int_equal(reconcile_diff(&in, &r), 0);
    assert_ids(r.missing, r.nmissing, want_missing, 1);
    assert_ids(r.in_flight, r.nin_flight, want_flight, 1);
    assert_ids(r.lost, r.nlost, want_lost, 1);
    assert_false(reconcile_consistent(&r));
    reconcile_report_free(&r);
}

static void test_inflight_only_is_consistent(void **state)
{
    const int64_t admitted[] = { 5, 6 }, topic[] = { 5, 6 };
    reconcile_input_t in = { admitted, 2, NULL, 0, NULL, 0, topic, 2, 0, 0 };
    reconcile_report_t r;

    (void)state;
    assert_int_equal(reconcile_diff(&in, &r), 0);
    assert_int_equal(r.nin_flight, 2);
    assert_true(reconcile_consistent(&r));
    reconcile_report_free(&r);
}

static void test_rows_after(void **state)
{
    /* 3 looked missing at first, but its row was committed during the
     * topic scan: not missing. 4 is still missing. */
    const int64_t admitted[] = { 3, 4 }, after[] = { 3 };
    const int64_t want[] = { 4 };
    reconcile_input_t in = { admitted, 2, NULL, 0, after, 1, NULL, 0, 0, 0 };
    reconcile_report_t r;

    (void)state;
    assert_int_equal(reconcile_diff(&in, &r), 0);
    assert_ids(r.missing, r.nmissing, want, 1);
    assert_int_equal(r.nin_flight, 0);
    reconcile_report_free(&r);
}

static void test_counter(void **state)
{
    const int64_t ids[] = { 1, 2 };
    reconcile_input_t in = { ids, 2, ids, 2, NULL, 0, NULL, 0, 5, 2 };
    reconcile_report_t r;

    (void)state;
    assert_int_equal(reconcile_diff(&in, &r), 0);
    assert_true(r.counter_off);
    assert_false(reconcile_consistent(&r));
    reconcile_report_free(&r);
}

static void test_empty_and_redis_lost_everything(void **state)
{
    const int64_t rows[] = { 10, 20, 30 };
    reconcile_input_t empty = { NULL, 0, NULL, 0, NULL, 0, NULL, 0, 0, 0 };
    reconcile_input_t lost = { NULL, 0, rows, 3, NULL, 0, NULL, 0, 3, 3 };
    reconcile_report_t r;

    (void)state;
    assert_int_equal(reconcile_diff(&empty, &r), 0);
    assert_true(reconcile_consistent(&r));
    reconcile_report_free(&r);
    assert_int_equal(reconcile_diff(&lost, &r), 0);
    assert_ids(r.lost, r.nlost, rows, 3);
    reconcile_report_free(&r);
}

static void test_sort_unique(void **state)
{
    int64_t a[] = { 5, 1, 5, 3, 1, INT64_MAX, -2 };
    const int64_t want[] = { -2, 1, 3, 5, INT64_MAX };
    size_t n = N(a);

    (void)state;
    reconcile_sort_unique(a, &n);
    assert_ids(a, n, want, N(want));
    assert_true(reconcile_contains(a, n, 3));
    assert_false(reconcile_contains(a, n, 4));
    assert_false(reconcile_contains(NULL, 0, 4));
    n = 0;
    reconcile_sort_unique(NULL, &n);
    assert_int_equal(n, 0);
}

UNIT_TESTS(cmocka_unit_test(test_consistent),
           cmocka_unit_test(test_missing_inflight_lost),
           cmocka_unit_test(test_inflight_only_is_consistent),
           cmocka_unit_test(test_rows_after), cmocka_unit_test(test_counter),
           cmocka_unit_test(test_empty_and_redis_lost_everything),
           cmocka_unit_test(test_sort_unique))
