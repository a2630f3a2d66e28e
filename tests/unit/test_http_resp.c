/* test_http_resp.c -- api/http_resp: exact response heads (length,
 * Connection: close, extra headers) and JSON-safe error bodies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "unit.h"

#include "http_resp.h"

static void test_head(void **state)
{
    char buf[256];
    int n;

    (void)state;
    n = http_resp_head(buf, sizeof(buf), 202, NULL, NULL, 12, 0);
    assert_string_equal(buf, "HTTP/1.1 202 Accepted\r\nContent-Type: "
                             "application/json\r\nContent-Length: 12\r\n\r\n");
    assert_int_equal(n, (int)strlen(buf));
    assert_int_equal(http_resp_head_len(202, NULL, NULL, 12, 0), (size_t)n);
    n = http_resp_head(buf, sizeof(buf), 405, "text/plain", "Allow: GET\r\n", 0,
                       1);
    assert_string_equal(buf, "HTTP/1.1 405 Method Not Allowed\r\nContent-Type:"
                             " text/plain\r\nContent-Length: 0\r\nAllow: "
                             "GET\r\nConnection: close\r\n\r\n");
    assert_int_equal(
        http_resp_head_len(405, "text/plain", "Allow: GET\r\n", 0, 1),
        (size_t)n);
    assert_int_equal(http_resp_head(buf, 10, 200, NULL, NULL, 0, 0), -1);
    assert_string_equal(http_resp_reason(431),
                        "Request Header Fields Too Large");
}

/* http_resp_head_len() is arithmetic now: it must agree with what
 * http_resp_head() writes for every kind of argument. */
static void test_head_len_matches(void **state)
{
    static const int statuses[] = { 200, 202, 404, 431,  503,
                                    0,   99,  999, 1000, -7 };
    static const char *const types[] = { NULL, "",
                                         "text/plain; version=0.0.4" };
    static const char *const extras[] = { NULL, "", "Retry-After: 1\r\n" };
    static const size_t bodies[] = { 0, 9, 10, 12345, SIZE_MAX };
    char buf[512];
    size_t a, b, c, d;
    int cl, n;

    (void)state;
    for (a = 0; a < sizeof(statuses) / sizeof(statuses[0]); a++)
        for (b = 0; b < 3; b++)
            for (c = 0; c < 3; c++)
                for (d = 0; d < sizeof(bodies) / sizeof(bodies[0]); d++)
                    for (cl = 0; cl < 2; cl++) {
                        n = http_resp_head(buf, sizeof(buf), statuses[a],
                                           types[b], extras[c], bodies[d], cl);
                        assert_true(n > 0);
                        assert_int_equal((size_t)n, strlen(buf));
                        assert_int_equal(http_resp_head_len(statuses[a],
                                                            types[b], extras[c],
                                                            bodies[d], cl),
                                         (size_t)n);
                    }
}

/* Unusual values are written as printf's %d / %zu would, and the bound is
 * exact: head plus NUL fit, one byte less is -1 with nothing past it. */
static void test_head_exact_bounds(void **state)
{
    static const char want[] =
        "HTTP/1.1 999 Unknown\r\nContent-Type: \r\nContent-Length: "
        "18446744073709551615\r\nAllow: GET\r\nConnection: close\r\n\r\n";
    const int wl = (int)sizeof(want) - 1;
    char buf[sizeof(want) + 4];
    int n;

    (void)state;
    assert_int_equal(http_resp_head(buf, sizeof(buf), 999, "", "Allow: GET\r\n",
                                    SIZE_MAX, 1),
                     wl);
    assert_string_equal(buf, want);
    memset(buf, 'x', sizeof(buf));
    assert_int_equal(http_resp_head(buf, (size_t)wl + 1, 999, "",
                                    "Allow: GET\r\n", SIZE_MAX, 1),
                     wl);
    assert_string_equal(buf, want);
    memset(buf, 'x', sizeof(buf));
    assert_int_equal(
        http_resp_head(buf, (size_t)wl, 999, "", "Allow: GET\r\n", SIZE_MAX, 1),
        -1);
    assert_int_equal(buf[wl], 'x');
    assert_int_equal(http_resp_head(buf, 0, 200, NULL, NULL, 0, 0), -1);
    n = http_resp_head(buf, sizeof(buf), -7, NULL, NULL, 0, 0);
    assert_int_equal(n, (int)strlen(buf));
    assert_string_equal(buf, "HTTP/1.1 -7 Unknown\r\nContent-Type: "
                             "application/json\r\nContent-Length: 0\r\n\r\n");
}

static void test_error_json(void **state)
{
    char buf[64];

    (void)state;
    assert_int_equal(http_resp_error_json(buf, sizeof(buf), "a \"b\" \\ c"),
                     (int)strlen("{\"error\":\"a \\\"b\\\" \\\\ c\"}"));
    assert_string_equal(buf, "{\"error\":\"a \\\"b\\\" \\\\ c\"}");
    http_resp_error_json(buf, sizeof(buf), "x\n\xff");
    assert_string_equal(buf, "{\"error\":\"x\\u000a\\u00ff\"}");
    assert_int_equal(http_resp_error_json(buf, 12, "too long for this"), -1);
}

UNIT_TESTS(cmocka_unit_test(test_head), cmocka_unit_test(test_head_len_matches),
           cmocka_unit_test(test_head_exact_bounds),
           cmocka_unit_test(test_error_json))
