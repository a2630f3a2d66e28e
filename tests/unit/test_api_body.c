/* test_api_body.c -- api/body: exactly {"user_id": <1..2^63-1>} passes;
 * the redemption bodies (hold, reverse, confirm/cancel) take exactly their
 * fields; everything else is refused with a message that names the
 * problem, and the output is untouched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "unit.h"

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

static void hold_ok(const char *json, int optional, int64_t uid,
                    const char *order, int64_t amount)
{
    body_hold_t h;
    char err[512] = "";

    if (body_parse_hold(json, strlen(json), optional, &h, err, sizeof(err)) !=
        0)
        fail_msg("%s: refused: %s", json, err);
    assert_int_equal(h.user_id, uid);
    assert_string_equal(h.order_id, order);
    assert_int_equal(h.order_amount, amount);
}

static void hold_bad(const char *json, int optional, const char *msg)
{
    body_hold_t h = { -1, "x", -1 };
    char err[512] = "";

    assert_int_equal(
        body_parse_hold(json, strlen(json), optional, &h, err, sizeof(err)),
        -1);
    assert_int_equal(h.user_id, -1);
    assert_string_equal(h.order_id, "x");
    if (strstr(err, msg) == NULL)
        fail_msg("%s: got \"%s\", want \"%s\"", json, err, msg);
}

static void test_hold(void **state)
{
    (void)state;
    hold_ok("{\"user_id\":7,\"order_id\":\"o-1\",\"order_amount\":30000}", 0, 7,
            "o-1", 30000);
    hold_ok("{\"order_amount\":0,\"order_id\":\"A.b_c:d-9\"}", 1, 0,
            "A.b_c:d-9", 0);
    hold_ok("{\"user_id\":9223372036854775807,\"order_id\":"
            "\"0123456789012345678901234567890123456789012345678901234567890123"
            "\",\"order_amount\":2147483647}",
            0, INT64_MAX,
            "0123456789012345678901234567890123456789012345678901234567890123",
            2147483647);
    hold_bad("", 0, "body: empty");
    hold_bad("{", 0, "invalid JSON");
    hold_bad("[]", 0, "must be a JSON object, got an array");
    hold_bad("{\"order_id\":\"o\",\"order_amount\":1}", 0, "user_id: missing");
    hold_bad("{\"user_id\":1,\"order_amount\":1}", 1, "order_id: missing");
    hold_bad("{\"user_id\":1,\"order_id\":\"o\"}", 1, "order_amount: missing");
    hold_bad("{\"order_id\":\"o\",\"order_amount\":1,\"x\":1}", 1,
             "unknown field \"x\"");
    hold_bad("{\"user_id\":1,\"user_id\":1,\"order_id\":\"o\","
             "\"order_amount\":1}",
             0, "duplicate");
    hold_bad("{\"user_id\":0,\"order_id\":\"o\",\"order_amount\":1}", 0,
             "user_id: must be 1 ..");
    hold_bad("{\"user_id\":\"1\",\"order_id\":\"o\",\"order_amount\":1}", 0,
             "user_id: must be an integer, got a string");
    hold_bad("{\"order_id\":1,\"order_amount\":1}", 1,
             "order_id: must be a string, got an integer");
    hold_bad("{\"order_id\":\"\",\"order_amount\":1}", 1,
             "order_id: must be 1 to 64 characters");
    hold_bad(
        "{\"order_id\":"
        "\"01234567890123456789012345678901234567890123456789012345678901234"
        "\",\"order_amount\":1}",
        1, "got 65 characters");
    hold_bad("{\"order_id\":\"a b\",\"order_amount\":1}", 1,
             "order_id: character 2 (0x20) is not one of");
    hold_bad("{\"order_id\":\"a/b\",\"order_amount\":1}", 1, "character 2");
    hold_bad("{\"order_id\":\"\\u00e9\",\"order_amount\":1}", 1,
             "character 1 (0xc3)");
    hold_bad("{\"order_id\":\"a\\u0000\",\"order_amount\":1}", 1,
             "invalid JSON");
    hold_bad("{\"order_id\":\"o\",\"order_amount\":-1}", 1,
             "order_amount: must be 0 .. 2147483647, got -1");
    hold_bad("{\"order_id\":\"o\",\"order_amount\":2147483648}", 1,
             "order_amount: must be 0 .. 2147483647, got 2147483648");
    hold_bad("{\"order_id\":\"o\",\"order_amount\":1.5}", 1,
             "order_amount: must be an integer, got a number");
    hold_bad("{\"order_id\":\"o\",\"order_amount\":\"5\"}", 1,
             "must be an integer, got a string");
    hold_bad("{\"order_id\":\"o\",\"order_amount\":null}", 1, "got null");
    hold_bad("{\"order_id\":\"o\",\"order_amount\":99999999999999999999}", 1,
             "out of range");
}

static void reverse_bad(const char *json, const char *msg)
{
    body_reverse_t r = { "x", -1 };
    char err[512] = "";

    assert_int_equal(
        body_parse_reverse(json, strlen(json), &r, err, sizeof(err)), -1);
    assert_int_equal(r.amount, -1);
    if (strstr(err, msg) == NULL)
        fail_msg("%s: got \"%s\", want \"%s\"", json, err, msg);
}

static void test_reverse(void **state)
{
    static const char ok[] = "{\"reversal_id\":\"r:1\",\"amount\":100}";
    body_reverse_t r;
    char err[512] = "";

    (void)state;
    assert_int_equal(body_parse_reverse(ok, strlen(ok), &r, err, sizeof(err)),
                     0);
    assert_string_equal(r.reversal_id, "r:1");
    assert_int_equal(r.amount, 100);
    reverse_bad("", "body: empty");
    reverse_bad("{}", "reversal_id: missing");
    reverse_bad("{\"reversal_id\":\"r\"}", "amount: missing");
    reverse_bad("{\"reversal_id\":\"r\",\"amount\":0}",
                "amount: must be 1 .. 2147483647, got 0");
    reverse_bad("{\"reversal_id\":\"r\",\"amount\":2147483648}",
                "must be 1 .. 2147483647");
    reverse_bad("{\"reversal_id\":\"r!\",\"amount\":1}",
                "reversal_id: character 2");
    reverse_bad("{\"reversal_id\":[],\"amount\":1}",
                "reversal_id: must be a string, got an array");
    reverse_bad("{\"reversal_id\":\"r\",\"amount\":1,\"order_id\":\"o\"}",
                "unknown field \"order_id\"");
    reverse_bad("\"r\"", "must be a JSON object, got a string");
}

static void empty_bad(const char *json, const char *msg)
{
    char err[256] = "";

    assert_int_equal(body_parse_empty(json, strlen(json), err, sizeof(err)),
                     -1);
    if (strstr(err, msg) == NULL)
        fail_msg("%s: got \"%s\", want \"%s\"", json, err, msg);
}

static void test_empty(void **state)
{
    char err[256];

    (void)state;
    assert_int_equal(body_parse_empty("", 0, err, sizeof(err)), 0);
    assert_int_equal(body_parse_empty("{}", 2, err, sizeof(err)), 0);
    assert_int_equal(body_parse_empty(" { } ", 5, err, sizeof(err)), 0);
    empty_bad("{\"a\":1}", "unknown field \"a\"");
    empty_bad("[]", "must be a JSON object, got an array");
    empty_bad("null", "got null");
    empty_bad(" ", "invalid JSON");
    empty_bad("{} {}", "invalid JSON");
}

UNIT_TESTS(cmocka_unit_test(test_valid), cmocka_unit_test(test_invalid),
           cmocka_unit_test(test_hold), cmocka_unit_test(test_reverse),
           cmocka_unit_test(test_empty))
