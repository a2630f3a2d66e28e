/* test_api_route.c -- api/route: every route, its ids, and the 400/404/405
 * answers (with Allow) for everything else; the redemption routes with
 * their rid and the coupon it carries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <stdio.h>

#include <cmocka.h>

#include "unit.h"
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

static void test_redemption_routes(void **state)
{
    char rid[RID_LEN + 1], path[96];
    route_t r;

    (void)state;
    rid_encode(1469922850259ULL, 0x12345678u, 42, rid);
    r = match(HTTP_POST, "/v1/coupons/42/redemptions", 0);
    assert_int_equal(r.id, ROUTE_HOLD);
    assert_int_equal(r.coupon_id, 42);
    snprintf(path, sizeof(path), "/v1/redemptions/%s", rid);
    r = match(HTTP_GET, path, 0);
    assert_int_equal(r.id, ROUTE_REDEMPTION);
    assert_int_equal(r.coupon_id, 42);
    assert_string_equal(r.rid, rid);
    snprintf(path, sizeof(path), "/v1/redemptions/%s/confirm?a=b", rid);
    r = match(HTTP_POST, path, 0);
    assert_int_equal(r.id, ROUTE_CONFIRM);
    assert_string_equal(r.rid, rid);
    snprintf(path, sizeof(path), "/v1/redemptions/%s/cancel", rid);
    assert_int_equal(match(HTTP_POST, path, 0).id, ROUTE_CANCEL);
    snprintf(path, sizeof(path), "/v1/redemptions/%s/reverse", rid);
    assert_int_equal(match(HTTP_POST, path, 0).id, ROUTE_REVERSE);
    /* A ULID naming no coupon matches (coupon 0): the api answers 404. */
    r = match(HTTP_GET, "/v1/redemptions/01ARZ3NDEKTSV4RR0000000000", 0);
    assert_int_equal(r.coupon_id, 0);
    /* Lower case is upper-cased (the keys hold upper case). */
    r = match(HTTP_GET, "/v1/redemptions/01arz3ndektsv4rr000000001a", 0);
    assert_string_equal(r.rid, "01ARZ3NDEKTSV4RR000000001A");
    assert_int_equal(r.coupon_id, 42);
    assert_string_equal(route_name(ROUTE_HOLD), "hold");
    assert_string_equal(route_name(ROUTE_REDEMPTION), "redemption");
    assert_string_equal(route_name(ROUTE_REVERSE), "reverse");
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

#define R "/v1/redemptions/01ARZ3NDEKTSV4RR000000001A"

static void test_redemption_refusals(void **state)
{
    (void)state;
    expect(HTTP_GET, "/v1/coupons/1/redemptions", 405, "use POST", "POST");
    expect(HTTP_POST, "/v1/coupons/x/redemptions", 400, "coupon id", NULL);
    expect(HTTP_POST, R, 405, "use GET", "GET");
    expect(HTTP_DELETE, R, 405, "use GET", "GET");
    expect(HTTP_GET, R "/confirm", 405, "use POST", "POST");
    expect(HTTP_PUT, R "/cancel", 405, "use POST", "POST");
    expect(HTTP_GET, R "/reverse", 405, "use POST", "POST");
    expect(HTTP_GET, "/v1/redemptions/abc", 400, "redemption id", NULL);
    expect(HTTP_POST, "/v1/redemptions/abc/confirm", 400, "redemption id",
           NULL);
    /* 25 and 27 characters, I/L/O/U, over 128 bits */
    expect(HTTP_GET, "/v1/redemptions/01ARZ3NDEKTSV4RR000000001", 400,
           "redemption id", NULL);
    expect(HTTP_GET, "/v1/redemptions/01ARZ3NDEKTSV4RR000000001AA", 400,
           "redemption id", NULL);
    expect(HTTP_POST, "/v1/redemptions/01ARZ3NDEKTSV4RR00000000IA/cancel", 400,
           "redemption id", NULL);
    expect(HTTP_GET, "/v1/redemptions/81ARZ3NDEKTSV4RR000000001A", 400,
           "redemption id", NULL);
    expect(HTTP_GET, "/v1/redemptions", 404, "no such path", NULL);
    expect(HTTP_GET, "/v1/redemptions/", 404, "no such path", NULL);
    expect(HTTP_POST, R "/", 404, "no such path", NULL);
    expect(HTTP_POST, R "/refund", 404, "no such path", NULL);
    expect(HTTP_POST, R "/confirm/x", 404, "no such path", NULL);
    expect(HTTP_GET, "/v2/redemptions/01ARZ3NDEKTSV4RR000000001A", 404,
           "no such path", NULL);
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

UNIT_TESTS(cmocka_unit_test(test_routes), cmocka_unit_test(test_refusals),
           cmocka_unit_test(test_redemption_routes),
           cmocka_unit_test(test_redemption_refusals),
           cmocka_unit_test(test_parse_id))
