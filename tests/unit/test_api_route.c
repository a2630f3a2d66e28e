/* test_api_route.c -- api/route: every route, its ids, and the 400/404/405
 * answers (with Allow) for everything else. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <llhttp.h>

#include "route.h"

static route_t match(int method, const char *target, int want_rc)
{
    route_t r;

    assert_int_equal(route_match(method, target, strlen(target), &r), want_rc);
    return r;
}

static void test_routes(void **state)
{
    route_t r;

    (void)state;
    r = match(HTTP_POST, "/v1/coupons/42/issues", 0);
    assert_int_equal(r.id, ROUTE_ISSUE);
    assert_int_equal(r.coupon_id, 42);
    r = match(HTTP_GET, "/v1/coupons/9223372036854775807", 0);
    assert_int_equal(r.id, ROUTE_COUPON);
    assert_int_equal(r.coupon_id, INT64_MAX);
    r = match(HTTP_GET, "/v1/coupons/1/issues/77?x=y", 0);
    assert_int_equal(r.id, ROUTE_STATUS);
    assert_int_equal(r.coupon_id, 1);
    assert_int_equal(r.user_id, 77);
    assert_int_equal(match(HTTP_GET, "/healthz", 0).id, ROUTE_HEALTHZ);
    assert_int_equal(match(HTTP_GET, "/metrics", 0).id, ROUTE_METRICS);
    assert_string_equal(route_name(ROUTE_ISSUE), "issue");
    assert_string_equal(route_name(ROUTE_NONE), "other");
}

static void expect(int method, const char *target, int status,
                   const char *error, const char *allow)
{
    route_t r = match(method, target, -1);

    assert_int_equal(r.id, ROUTE_NONE);
    assert_int_equal(r.status, status);
    assert_non_null(strstr(r.error, error));
    if (allow != NULL)
        assert_string_equal(r.allow, allow);
}

static void test_refusals(void **state)
{
    (void)state;
    expect(HTTP_GET, "/v1/coupons/1/issues", 405, "use POST", "POST");
    expect(HTTP_PUT, "/v1/coupons/1", 405, "use GET", "GET");
    expect(HTTP_POST, "/healthz", 405, "use GET", "GET");
    expect(HTTP_POST, "/v1/coupons/x/issues", 400, "coupon id", NULL);
    expect(HTTP_POST, "/v1/coupons/0/issues", 400, "coupon id", NULL);
    expect(HTTP_POST, "/v1/coupons/01/issues", 400, "coupon id", NULL);
    expect(HTTP_POST, "/v1/coupons/-1/issues", 400, "coupon id", NULL);
    expect(HTTP_GET, "/v1/coupons/9223372036854775808", 400, "coupon id", NULL);
    expect(HTTP_GET, "/v1/coupons/1/issues/abc", 400, "user id", NULL);
    expect(HTTP_GET, "/v1/coupons/1/issues/0", 400, "user id", NULL);
    expect(HTTP_GET, "/", 404, "no such path", NULL);
    expect(HTTP_GET, "", 404, "no such path", NULL);
    expect(HTTP_GET, "*", 404, "no such path", NULL);
    expect(HTTP_GET, "/v1/coupons", 404, "no such path", NULL);
    expect(HTTP_GET, "/v1/coupons/", 404, "no such path", NULL);
    expect(HTTP_GET, "/v1/coupons/1/", 404, "no such path", NULL);
    expect(HTTP_GET, "/v1/coupons/1/issues/", 404, "no such path", NULL);
    expect(HTTP_GET, "/v1/coupons/1/issues/2/3", 404, "no such path", NULL);
    expect(HTTP_GET, "/v1/coupons/1/other/2", 404, "no such path", NULL);
    expect(HTTP_GET, "/v2/coupons/1", 404, "no such path", NULL);
    expect(HTTP_GET, "//v1/coupons/1", 404, "no such path", NULL);
    expect(HTTP_GET, "/healthz/", 404, "no such path", NULL);
}

static void test_parse_id(void **state)
{
    int64_t v;

    (void)state;
    assert_int_equal(route_parse_id("1", 1, &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(route_parse_id("9223372036854775807", 19, &v), 0);
    assert_int_equal(v, INT64_MAX);
    assert_int_equal(route_parse_id("9223372036854775808", 19, &v), -1);
    assert_int_equal(route_parse_id("10000000000000000000", 20, &v), -1);
    assert_int_equal(route_parse_id("", 0, &v), -1);
    assert_int_equal(route_parse_id("+1", 2, &v), -1);
    assert_int_equal(route_parse_id("1 ", 2, &v), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_parse_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
