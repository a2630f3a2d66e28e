/* test_tools_timearg.c -- time arguments of couponqctl/couponq-replay:
 * relative (+10m), now, RFC 3339 with fractions and offsets, @unix-ms, and
 * the errors for everything else. "now" is passed in: no clock involved. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "unit.h"

#include "timearg.h"

#define NOW 1795358371468LL /* 2026-11-22T14:39:31.468Z */

static int64_t ok(const char *s)
{
    char err[256] = "";
    int64_t v = 0;

    if (timearg_parse(s, NOW, &v, err, sizeof(err)) != 0)
        fail_msg("\"%s\" rejected: %s", s, err);
    return v;
}

static void bad(const char *s, const char *want)
{
    char err[256] = "";
    int64_t v = 42;

    assert_int_equal(timearg_parse(s, NOW, &v, err, sizeof(err)), -1);
    assert_int_equal(v, 42); /* untouched */
    if (strstr(err, want) == NULL)
        fail_msg("\"%s\": error \"%s\" lacks \"%s\"", s, err, want);
}

static void test_relative(void **state)
{
    (void)state;
    assert_int_equal(ok("now"), NOW);
    assert_int_equal(ok("+10m"), NOW + 600000);
    assert_int_equal(ok("-30s"), NOW - 30000);
    assert_int_equal(ok("+1h30m"), NOW + 5400000);
    assert_int_equal(ok("+2d"), NOW + 2 * 86400000LL);
    assert_int_equal(ok("+500ms"), NOW + 500);
    assert_int_equal(ok("+0s"), NOW);
}

static void test_rfc3339(void **state)
{
    (void)state;
    assert_int_equal(ok("2026-11-22T14:39:31Z"), NOW - 468);
    assert_int_equal(ok("2026-11-22T14:39:31.468Z"), NOW);
    assert_int_equal(ok("2026-11-22T14:39:31.4Z"), NOW - 68);
    assert_int_equal(ok("2026-11-22T14:39:31.468999999Z"), NOW);
    assert_int_equal(ok("2026-11-22 14:39:31.468z"), NOW);
    assert_int_equal(ok("2026-11-22T23:39:31.468+09:00"), NOW);
    assert_int_equal(ok("2026-11-22T09:39:31.468-05:00"), NOW);
    assert_int_equal(ok("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(ok("2024-02-29T00:00:00Z"), 1709164800000LL);
    assert_int_equal(ok("@1795358371468"), NOW);
}

static void test_errors(void **state)
{
    (void)state;
    bad("", "empty");
    bad("+10x", "unknown unit \"x\"");
    bad("+", "expected e.g. +10m");
    bad("+m", "expected e.g. +10m");
    bad("+10", "unknown unit \"\"");
    bad("+99999999d", "100 years");
    bad("+9223372036854775807ms", "100 years");
    bad("tomorrow", "not a time");
    bad("2026-11-22", "not a time");
    bad("2026-11-22T14:39:31", "not a time");  /* no zone */
    bad("2026-02-30T00:00:00Z", "not a time"); /* no such day */
    bad("2025-02-29T00:00:00Z", "not a time"); /* not a leap year */
    bad("2026-11-22T24:00:00Z", "not a time");
    bad("2026-11-22T14:39:31.Z", "not a time");
    bad("2026-11-22T14:39:31.1234567890Z", "not a time");
    bad("2026-11-22T14:39:31+9:00", "not a time");
    bad("2026-11-22T14:39:31Zjunk", "not a time");
    bad("@", "@<unix milliseconds>");
    bad("@12x", "@<unix milliseconds>");
}

static void test_duration(void **state)
{
    char err[256] = "";
    int64_t v = 0;

    (void)state;
    assert_int_equal(
        timearg_duration("--hold-ttl", "10m", &v, err, sizeof(err)), 0);
    assert_int_equal(v, 600000);
    assert_int_equal(
        timearg_duration("--hold-ttl", "1h30m", &v, err, sizeof(err)), 0);
    assert_int_equal(v, 5400000);
    assert_int_equal(
        timearg_duration("--hold-ttl", "500ms", &v, err, sizeof(err)), 0);
    assert_int_equal(v, 500);
    v = 42;
    assert_int_equal(
        timearg_duration("--hold-ttl", "+10m", &v, err, sizeof(err)), -1);
    assert_int_equal(v, 42);
    assert_non_null(strstr(err, "--hold-ttl: \"+10m\" is not a duration"));
    assert_int_equal(
        timearg_duration("--hold-ttl", "10x", &v, err, sizeof(err)), -1);
    assert_int_equal(timearg_duration("--hold-ttl", "", &v, err, sizeof(err)),
                     -1);
    assert_int_equal(timearg_duration("--hold-ttl", NULL, &v, err, sizeof(err)),
                     -1);
    assert_int_equal(timearg_duration("--hold-ttl", "10", &v, err, sizeof(err)),
                     -1);
}

UNIT_TESTS(cmocka_unit_test(test_relative), cmocka_unit_test(test_rfc3339),
           cmocka_unit_test(test_errors), cmocka_unit_test(test_duration))
