/* test_api_body.c -- api/body: exactly {"user_id": <1..2^63-1>} passes;
 * everything else is refused with a message that names the problem. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "body.h"

static void ok(const char *json, int64_t want)
{
    int64_t uid = 0;
    char err[256] = "";

    assert_int_equal(
        body_parse_issue(json, strlen(json), &uid, err, sizeof(err)), 0);
    assert_int_equal(uid, want);
}

static void bad(const char *json, size_t len, const char *msg)
{
    int64_t uid = -1;
    char err[256] = "";

    assert_int_equal(body_parse_issue(json, len, &uid, err, sizeof(err)), -1);
    assert_int_equal(uid, -1); /* untouched */
    if (strstr(err, msg) == NULL)
        fail_msg("%s: got \"%s\", want \"%s\"", json, err, msg);
}
#define BAD(json, msg) bad(json, strlen(json), msg)

static void test_valid(void **state)
{
    (void)state;
    ok("{\"user_id\":1}", 1);
    ok(" { \"user_id\" : 9223372036854775807 } \n", INT64_MAX);
}

static void test_invalid(void **state)
{
    (void)state;
    bad("", 0, "body: empty");
    BAD("{", "invalid JSON");
    BAD("{\"user_id\":1} x", "invalid JSON");
    BAD("[1]", "must be a JSON object, got an array");
    BAD("null", "must be a JSON object, got null");
    BAD("{}", "user_id: missing");
    BAD("{\"user_id\":\"1\"}", "must be an integer, got a string");
    BAD("{\"user_id\":1.0}", "must be an integer, got a number");
    BAD("{\"user_id\":false}", "must be an integer, got a boolean");
    BAD("{\"user_id\":[1]}", "must be an integer, got an array");
    BAD("{\"user_id\":0}", "must be > 0, got 0");
    BAD("{\"user_id\":-1}", "must be > 0, got -1");
    BAD("{\"user_id\":9223372036854775808}", "out of range");
    BAD("{\"user_id\":1,\"a\":1}", "unknown field \"a\"");
    BAD("{\"a\":1,\"user_id\":1}", "unknown field \"a\"");
    BAD("{\"user_id\":1,\"user_id\":1}", "duplicate");
    bad("{\"user_id\":1}\0", 14, "invalid JSON");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
