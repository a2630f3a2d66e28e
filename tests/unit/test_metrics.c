/* test_metrics.c -- registry semantics and the exact Prometheus text. */
#include <math.h>
#include <threads.h> /* not pthread.h: bench/sched.h shadows <sched.h> */
#include <stdlib.h>
#include <string.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "unit.h"

#include "metrics.h"

static void test_render_exact(void **state)
{
    static const double bounds[] = { 0.005, 0.1, 1 };
    metrics_t *m = metrics_new();
    metric_t *acc, *dup, *g, *h, *plain;
    char *text;
    size_t len = 0;
    const char *want =
        "# HELP couponq_requests_total HTTP requests by result.\n"
        "# TYPE couponq_requests_total counter\n"
        "couponq_requests_total{route=\"issue\",result=\"accepted\"} 3\n"
        "couponq_requests_total{route=\"issue\",result=\"duplicate\"} 1\n"
        "# HELP couponq_inflight In-flight requests.\n"
        "# TYPE couponq_inflight gauge\n"
        "couponq_inflight -2.5\n"
        "# HELP couponq_latency_seconds Latency; \\\\ and \\n escaped.\n"
        "# TYPE couponq_latency_seconds histogram\n"
        "couponq_latency_seconds_bucket{route=\"issue\",le=\"0.005\"} 1\n"
        "couponq_latency_seconds_bucket{route=\"issue\",le=\"0.1\"} 3\n"
        "couponq_latency_seconds_bucket{route=\"issue\",le=\"1\"} 3\n"
        "couponq_latency_seconds_bucket{route=\"issue\",le=\"+Inf\"} 4\n"
        "couponq_latency_seconds_sum{route=\"issue\"} 5.125\n"
        "couponq_latency_seconds_count{route=\"issue\"} 4\n"
        "# HELP couponq_plain_seconds Unlabelled histogram.\n"
        "# TYPE couponq_plain_seconds histogram\n"
        "couponq_plain_seconds_bucket{le=\"0.005\"} 0\n"
        "couponq_plain_seconds_bucket{le=\"0.1\"} 0\n"
        "couponq_plain_seconds_bucket{le=\"1\"} 0\n"
        "couponq_plain_seconds_bucket{le=\"+Inf\"} 0\n"
        "couponq_plain_seconds_sum 0\n"
        "couponq_plain_seconds_count 0\n";

    (void)state;
    assert_non_null(m);
    acc =
        metrics_counter(m, "couponq_requests_total", "HTTP requests by result.",
                        "route=\"issue\",result=\"accepted\"");
    g = metrics_gauge(m, "couponq_inflight", "In-flight requests.", NULL);
    h = metrics_histogram(m, "couponq_latency_seconds",
                          "Latency; \\ and \n escaped.", "route=\"issue\"",
                          bounds, 3);
    /* Registered after other families: still rendered with its family. */
    dup = metrics_counter(m, "couponq_requests_total", "ignored",
                          "route=\"issue\",result=\"duplicate\"");
    plain = metrics_histogram(m, "couponq_plain_seconds",
                              "Unlabelled histogram.", NULL, bounds, 3);
    assert_non_null(acc);
    assert_non_null(dup);
    assert_non_null(g);
    assert_non_null(h);
    assert_non_null(plain);
    metric_inc(acc);
    metric_add(acc, 2);
    metric_inc(dup);
    metric_set(g, 1);
    metric_add(g, -3.5);
    metric_observe(h, 0.005); /* le is inclusive */
    metric_observe(h, 0.05);
    metric_observe(h, 0.07);
    metric_observe(h, 5.0);
    text = metrics_render(m, &len);
    assert_non_null(text);
    assert_string_equal(text, want);
    assert_int_equal(len, strlen(want));
    free(text);
    metrics_free(m);
}

static void test_same_series_returned(void **state)
{
    metrics_t *m = metrics_new();
    metric_t *a = metrics_counter(m, "x_total", "X.", "a=\"1\"");
    metric_t *b = metrics_counter(m, "x_total", "X.", "a=\"1\"");
    metric_t *c = metrics_counter(m, "x_total", "X.", "a=\"2\"");
    metric_t *n1 = metrics_counter(m, "y_total", "Y.", NULL);
    metric_t *n2 = metrics_counter(m, "y_total", "Y.", "");

    (void)state;
    assert_ptr_equal(a, b);
    assert_ptr_not_equal(a, c);
    assert_ptr_equal(n1, n2); /* NULL and "" are both "no labels" */
    metric_inc(a);
    metric_inc(b);
    assert_true(metric_value(a) == 2.0);
    assert_true(metric_value(c) == 0.0);
    metrics_free(m);
}

static void test_invalid_names(void **state)
{
    static const double bad_bounds[] = { 1, 0.5 };
    metrics_t *m = metrics_new();

    (void)state;
    assert_null(metrics_counter(m, "", "h", NULL));
    assert_null(metrics_counter(m, "9lives", "h", NULL));
    assert_null(metrics_counter(m, "with-dash", "h", NULL));
    assert_null(metrics_gauge(m, "sp ace", "h", NULL));
    assert_non_null(metrics_gauge(m, "ns:sub_name9", "h", NULL));
    assert_null(metrics_histogram(m, "h_seconds", "h", NULL, bad_bounds, 2));
    metrics_free(m);
    metrics_free(NULL);
}

static void test_latency_bounds(void **state)
{
    size_t i;

    (void)state;
    assert_int_equal(metrics_latency_nbounds, 16);
    assert_true(metrics_latency_bounds[0] == 0.0001);
    assert_true(metrics_latency_bounds[metrics_latency_nbounds - 1] == 10);
    for (i = 1; i < metrics_latency_nbounds; i++)
        assert_true(metrics_latency_bounds[i - 1] < metrics_latency_bounds[i]);
}

static void test_value_formatting(void **state)
{
    metrics_t *m = metrics_new();
    metric_t *g = metrics_gauge(m, "g", "G.", NULL);
    char *text;

    (void)state;
    metric_set(g, 0.1);
    text = metrics_render(m, NULL);
    assert_non_null(strstr(text, "\ng 0.1\n"));
    free(text);
    metric_set(g, INFINITY);
    text = metrics_render(m, NULL);
    assert_non_null(strstr(text, "\ng +Inf\n"));
    free(text);
    metric_set(g, 1e20);
    text = metrics_render(m, NULL);
    assert_non_null(strstr(text, "\ng 1e+20\n"));
    free(text);
    metrics_free(m);
}

#define THREADS    4
#define PER_THREAD 20000

static int hammer(void *arg)
{
    metric_t **xs = arg;
    int i;

    for (i = 0; i < PER_THREAD; i++) {
        metric_inc(xs[0]);
        metric_observe(xs[1], 0.001 * (i % 3));
    }
    return 0;
}

/* Concurrent updates lose nothing (CAS loops on the double bits). */
static void test_concurrent_updates(void **state)
{
    metrics_t *m = metrics_new();
    metric_t *xs[2];
    thrd_t th[THREADS];
    int i;

    (void)state;
    xs[0] = metrics_counter(m, "c_total", "C.", NULL);
    xs[1] = metrics_histogram(m, "h_seconds", "H.", NULL,
                              metrics_latency_bounds, metrics_latency_nbounds);
    for (i = 0; i < THREADS; i++)
        assert_int_equal(thrd_create(&th[i], hammer, xs), thrd_success);
    for (i = 0; i < THREADS; i++)
        thrd_join(th[i], NULL);
    assert_true(metric_value(xs[0]) == (double)THREADS * PER_THREAD);
    assert_true(metric_value(xs[1]) == (double)THREADS * PER_THREAD);
    metrics_free(m);
}

UNIT_TESTS(cmocka_unit_test(test_render_exact),
           cmocka_unit_test(test_same_series_returned),
           cmocka_unit_test(test_invalid_names),
           cmocka_unit_test(test_latency_bounds),
           cmocka_unit_test(test_value_formatting),
           cmocka_unit_test(test_concurrent_updates))
