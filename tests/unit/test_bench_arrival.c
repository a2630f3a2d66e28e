/* test_bench_arrival.c -- the open-loop schedule of couponq-bench: fixed
 * arrivals do not drift, Poisson arrivals have the promised mean and
 * spread. Seeded, so exact and reproducible; no clocks involved. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "unit.h"

#include "arrival.h"

/* fixed: request i at exactly round(i * 1e9 / rate) -- no drift after a
 * million requests. */
static void test_arrival_fixed(void **state)
{
    arrival_t *s = arrival_new(ARRIVAL_FIXED, 30000, 1);
    uint64_t i, t = 0;

    (void)state;
    assert_int_equal(arrival_peek(s), 0);
    for (i = 0; i < 1000000; i++)
        t = arrival_next(s);
    assert_int_equal(t, (uint64_t)llround(999999 * 1e9 / 30000));
    assert_int_equal(arrival_peek(s), (uint64_t)llround(1e6 * 1e9 / 30000));
    arrival_free(s);
}

/* poisson: increasing times, mean gap 1/rate, and the gaps' coefficient
 * of variation is 1 (exponential), not 0 (fixed). */
static void test_arrival_poisson(void **state)
{
    const int n = 200000;
    arrival_t *s = arrival_new(ARRIVAL_POISSON, 10000, 7);
    uint64_t prev = arrival_next(s), t;
    double sum = 0, sum2 = 0, g, mean, cv;
    int i;

    (void)state;
    assert_int_equal(prev, 0);
    assert_true(arrival_peek(s) >= prev);
    for (i = 0; i < n; i++) {
        t = arrival_next(s);
        assert_true(t >= prev);
        g = (double)(t - prev);
        sum += g;
        sum2 += g * g;
        prev = t;
    }
    mean = sum / n;
    cv = sqrt(sum2 / n - mean * mean) / mean;
    assert_true(mean > 100000 * 0.99 && mean < 100000 * 1.01);
    assert_true(cv > 0.97 && cv < 1.03);
    arrival_free(s);
}

static void test_arrival_names(void **state)
{
    (void)state;
    assert_int_equal(arrival_mode_parse("fixed"), ARRIVAL_FIXED);
    assert_int_equal(arrival_mode_parse("poisson"), ARRIVAL_POISSON);
    assert_int_equal(arrival_mode_parse("burst"), -1);
    assert_string_equal(arrival_mode_name(ARRIVAL_POISSON), "poisson");
}

UNIT_TESTS(cmocka_unit_test(test_arrival_fixed),
           cmocka_unit_test(test_arrival_poisson),
           cmocka_unit_test(test_arrival_names))
