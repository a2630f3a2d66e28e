/* test_bench_hist.c -- the log-linear histogram of couponq-bench: bucket
 * geometry, percentiles against exactly known distributions, merge. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "unit.h"

#include "hist.h"
#include "load.h"

/* Every bucket starts right after the previous one ends, and index() maps
 * both ends of a bucket back to it: no gaps, no overlaps. */
static void test_geometry_contiguous(void **state)
{
    size_t i, nb = hist_nbuckets();

    (void)state;
    assert_int_equal(hist_bucket_low(0), 0);
    for (i = 0; i < nb; i++) {
        assert_true(hist_bucket_low(i) <= hist_bucket_high(i));
        assert_int_equal(hist_bucket_index(hist_bucket_low(i)), i);
        assert_int_equal(hist_bucket_index(hist_bucket_high(i)), i);
        if (i + 1 < nb)
            assert_int_equal(hist_bucket_high(i) + 1, hist_bucket_low(i + 1));
    }
}

/* The promised precision: a bucket is at most 1/128 of its low end wide. */
static void test_geometry_precision(void **state)
{
    size_t i, nb = hist_nbuckets();

    (void)state;
    for (i = 0; i < 256; i++)
        assert_int_equal(hist_bucket_high(i), hist_bucket_low(i));
    for (i = 256; i < nb; i++) {
        uint64_t lo = hist_bucket_low(i), w = hist_bucket_high(i) - lo + 1;

        assert_true(w * 128 <= lo);
    }
}

static void test_clamp_huge(void **state)
{
    hist_t *h = hist_new();

    (void)state;
    hist_record(h, UINT64_MAX);
    assert_int_equal(hist_bucket_index(UINT64_MAX), hist_nbuckets() - 1);
    assert_int_equal(hist_max(h), UINT64_MAX);
    assert_int_equal(hist_percentile(h, 50), UINT64_MAX); /* min == max */
    hist_free(h);
}

static void test_empty(void **state)
{
    hist_t *h = hist_new();

    (void)state;
    assert_int_equal(hist_count(h), 0);
    assert_int_equal(hist_percentile(h, 99), 0);
    assert_int_equal(hist_max(h), 0);
    assert_true(hist_mean(h) == 0.0);
    hist_free(h);
}

/* 1..1000 exactly: percentiles equal the true value within 1/128. */
static void test_percentiles_uniform(void **state)
{
    hist_t *h = hist_new();
    uint64_t v;

    (void)state;
    for (v = 1; v <= 1000; v++)
        hist_record(h, v * 1000); /* 1 us .. 1 ms in ns */
    assert_int_equal(hist_count(h), 1000);
    assert_int_equal(hist_min(h), 1000);
    assert_int_equal(hist_max(h), 1000000);
    assert_true(hist_mean(h) == 500500.0);
    v = hist_percentile(h, 50);
    assert_true(v >= 500000 && v <= 500000 + 500000 / 128);
    v = hist_percentile(h, 99);
    assert_true(v >= 990000 && v <= 990000 + 990000 / 128);
    v = hist_percentile(h, 99.9);
    assert_true(v >= 999000 && v <= 1000000);
    assert_int_equal(hist_percentile(h, 100), 1000000);
    hist_free(h);
}

/* 990 fast answers and 10 slow ones: p99 is fast, p99.9 is slow. A
 * histogram that averaged or dropped the tail would fail this. */
static void test_percentiles_tail(void **state)
{
    hist_t *h = hist_new();

    (void)state;
    hist_record_n(h, 200, 990);
    hist_record_n(h, 50000000, 10);
    assert_int_equal(hist_percentile(h, 50), 200);
    assert_int_equal(hist_percentile(h, 99), 200);
    assert_true(hist_percentile(h, 99.1) >= 50000000);
    assert_true(hist_percentile(h, 99.9) >= 50000000);
    assert_int_equal(hist_max(h), 50000000);
    hist_free(h);
}

static void test_merge_reset(void **state)
{
    hist_t *a = hist_new(), *b = hist_new();

    (void)state;
    hist_record_n(a, 100, 3);
    hist_record_n(b, 7, 1);
    hist_record_n(b, 5000, 1);
    hist_merge(a, b);
    assert_int_equal(hist_count(a), 5);
    assert_int_equal(hist_min(a), 7);
    assert_int_equal(hist_max(a), 5000);
    assert_int_equal(hist_percentile(a, 20), 7);
    assert_int_equal(hist_percentile(a, 80), 100);
    hist_reset(a);
    assert_int_equal(hist_count(a), 0);
    assert_int_equal(hist_percentile(a, 50), 0);
    hist_free(a);
    hist_free(b);
}

static void test_parse_result(void **state)
{
    char out[LOAD_RESULT_LEN];
    const char *ok = "{\"result\":\"accepted\",\"seq\":3}";
    const char *sp = "{ \"coupon_id\": 1, \"result\" : \"sold_out\" }";
    const char *err = "{\"error\":\"user_id: must be > 0\"}";
    const char *trick = "{\"note\":\"result\",\"result\":\"dup\"}";

    (void)state;
    assert_int_equal(load_parse_result(ok, strlen(ok), out, sizeof(out)), 0);
    assert_string_equal(out, "accepted");
    assert_int_equal(load_parse_result(sp, strlen(sp), out, sizeof(out)), 0);
    assert_string_equal(out, "sold_out");
    assert_int_equal(load_parse_result(err, strlen(err), out, sizeof(out)), -1);
    assert_int_equal(load_parse_result("{\"result\":", 10, out, sizeof(out)),
                     -1);
    assert_int_equal(load_parse_result("", 0, out, sizeof(out)), -1);
    /* "result" inside a string value is not followed by a colon. */
    assert_int_equal(load_parse_result(trick, strlen(trick), out, sizeof(out)),
                     0);
    assert_string_equal(out, "dup");
}

UNIT_TESTS(cmocka_unit_test(test_geometry_contiguous),
           cmocka_unit_test(test_geometry_precision),
           cmocka_unit_test(test_clamp_huge), cmocka_unit_test(test_empty),
           cmocka_unit_test(test_percentiles_uniform),
           cmocka_unit_test(test_percentiles_tail),
           cmocka_unit_test(test_merge_reset),
           cmocka_unit_test(test_parse_result))
