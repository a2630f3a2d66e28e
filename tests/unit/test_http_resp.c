/* test_http_resp.c -- api/http_resp: exact response heads (length,
 * Connection: close, extra headers) and JSON-safe error bodies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_head),
        cmocka_unit_test(test_error_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
