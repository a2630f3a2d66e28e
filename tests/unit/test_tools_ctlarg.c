/* test_tools_ctlarg.c -- couponqctl argument validation: ids, quantities,
 * the --quantity/--add/--sub choice and its arithmetic, --from-offsets,
 * the use budget flags of create and the 2^48 coupon id bound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "unit.h"

#include "ctlarg.h"

static char err[256];

static void want_err(const char *want)
{
    if (strstr(err, want) == NULL)
        fail_msg("error \"%s\" lacks \"%s\"", err, want);
}

static void test_id(void **state)
{
    int64_t id = 0;

    (void)state;
    assert_int_equal(ctlarg_id("42", &id, err, sizeof(err)), 0);
    assert_int_equal(id, 42);
    assert_int_equal(ctlarg_id("9223372036854775807", &id, err, sizeof(err)),
                     0);
    assert_int_equal(id, INT64_MAX);
    assert_int_equal(ctlarg_id("0", &id, err, sizeof(err)), -1);
    want_err("not an integer >= 1");
    assert_int_equal(ctlarg_id("-1", &id, err, sizeof(err)), -1);
    assert_int_equal(ctlarg_id("12a", &id, err, sizeof(err)), -1);
    assert_int_equal(ctlarg_id(" 12", &id, err, sizeof(err)), -1);
    assert_int_equal(ctlarg_id("9223372036854775808", &id, err, sizeof(err)),
                     -1);
    assert_int_equal(ctlarg_id(NULL, &id, err, sizeof(err)), -1);
    want_err("missing coupon id");
}

static void test_quantity(void **state)
{
    int64_t q = 0;

    (void)state;
    assert_int_equal(
        ctlarg_quantity("--quantity", "unlimited", &q, err, sizeof(err)), 0);
    assert_int_equal(q, -1);
    assert_int_equal(ctlarg_quantity("--quantity", "100", &q, err, sizeof(err)),
                     0);
    assert_int_equal(q, 100);
    assert_int_equal(
        ctlarg_quantity("--quantity", "4294967295", &q, err, sizeof(err)), 0);
    assert_int_equal(
        ctlarg_quantity("--quantity", "4294967296", &q, err, sizeof(err)), -1);
    want_err("above the maximum");
    assert_int_equal(ctlarg_quantity("--quantity", "ten", &q, err, sizeof(err)),
                     -1);
    want_err("--quantity: \"ten\" is not a number or \"unlimited\"");
    assert_int_equal(ctlarg_quantity("--quantity", "-5", &q, err, sizeof(err)),
                     -1);
}

static void test_adjust_parse(void **state)
{
    ctlarg_adjust_t a;

    (void)state;
    assert_int_equal(
        ctlarg_adjust_parse(NULL, NULL, NULL, &a, err, sizeof(err)), -1);
    want_err("exactly one of --quantity, --add, --sub (got 0)");
    assert_int_equal(ctlarg_adjust_parse("5", "1", NULL, &a, err, sizeof(err)),
                     -1);
    want_err("(got 2)");
    assert_int_equal(ctlarg_adjust_parse(NULL, "7", NULL, &a, err, sizeof(err)),
                     0);
    assert_int_equal(a.kind, CTLARG_ADJ_ADD);
    assert_int_equal(a.value, 7);
    assert_int_equal(ctlarg_adjust_parse(NULL, NULL, "0", &a, err, sizeof(err)),
                     -1);
    want_err("--sub: \"0\" is not an integer 1 ..");
    assert_int_equal(
        ctlarg_adjust_parse("unlimited", NULL, NULL, &a, err, sizeof(err)), 0);
    assert_int_equal(a.kind, CTLARG_ADJ_SET);
    assert_int_equal(a.value, -1);
}

static void test_adjust_apply(void **state)
{
    ctlarg_adjust_t add = { CTLARG_ADJ_ADD, 10 }, sub = { CTLARG_ADJ_SUB, 10 },
                    set = { CTLARG_ADJ_SET, 3 };
    int64_t v = 0;

    (void)state;
    assert_int_equal(ctlarg_adjust_apply(&add, 100, &v, err, sizeof(err)), 0);
    assert_int_equal(v, 110);
    assert_int_equal(ctlarg_adjust_apply(&sub, 100, &v, err, sizeof(err)), 0);
    assert_int_equal(v, 90);
    assert_int_equal(ctlarg_adjust_apply(&sub, 10, &v, err, sizeof(err)), 0);
    assert_int_equal(v, 0);
    assert_int_equal(ctlarg_adjust_apply(&sub, 9, &v, err, sizeof(err)), -1);
    want_err("more than the quantity 9");
    assert_int_equal(ctlarg_adjust_apply(&add, -1, &v, err, sizeof(err)), -1);
    want_err("unlimited");
    assert_int_equal(
        ctlarg_adjust_apply(&add, 4294967290LL, &v, err, sizeof(err)), -1);
    want_err("above the maximum");
    assert_int_equal(ctlarg_adjust_apply(&set, -1, &v, err, sizeof(err)), 0);
    assert_int_equal(v, 3);
}

static void test_offsets(void **state)
{
    ctlarg_offset_t o[4];
    size_t n = 0;

    (void)state;
    assert_int_equal(
        ctlarg_offsets("0:10,3:0,5:123456789012", o, 4, &n, err, sizeof(err)),
        0);
    assert_int_equal(n, 3);
    assert_int_equal(o[0].partition, 0);
    assert_int_equal(o[0].offset, 10);
    assert_int_equal(o[2].partition, 5);
    assert_int_equal(o[2].offset, 123456789012LL);
    assert_int_equal(ctlarg_offsets("1:2,1:3", o, 4, &n, err, sizeof(err)), -1);
    want_err("partition 1 given twice");
    assert_int_equal(
        ctlarg_offsets("0:1,1:1,2:1,3:1,4:1", o, 4, &n, err, sizeof(err)), -1);
    want_err("more than 4 pairs");
    assert_int_equal(ctlarg_offsets("", o, 4, &n, err, sizeof(err)), -1);
    assert_int_equal(ctlarg_offsets("1:", o, 4, &n, err, sizeof(err)), -1);
    assert_int_equal(ctlarg_offsets("1:2,", o, 4, &n, err, sizeof(err)), -1);
    assert_int_equal(ctlarg_offsets("a:2", o, 4, &n, err, sizeof(err)), -1);
    assert_int_equal(ctlarg_offsets("1:-2", o, 4, &n, err, sizeof(err)), -1);
    want_err("PARTITION:OFFSET");
}

#define NOW   1795358371468LL /* 2026-11-22T14:39:31.468Z */
#define START (NOW - 60000)

static void test_use(void **state)
{
    coupon_use_t u;

    (void)state;
    memset(&u, 0, sizeof(u));
    u.vendor_id = 7; /* left alone */
    assert_int_equal(
        ctlarg_use("40", "90s", "+2h", NOW, START, &u, err, sizeof(err)), 0);
    assert_int_equal(u.limit, 40);
    assert_int_equal(u.hold_ttl_ms, 90000);
    assert_int_equal(u.until_ms, NOW + 7200000);
    assert_int_equal(u.vendor_id, 7);
    assert_int_equal(
        ctlarg_use("unlimited", "10m", NULL, NOW, START, &u, err, sizeof(err)),
        0);
    assert_int_equal(u.limit, -1);
    assert_int_equal(u.hold_ttl_ms, 600000);
    assert_int_equal(u.until_ms, -1);
    assert_int_equal(ctlarg_use("0", "1s", "@1795358371469", NOW, START, &u,
                                err, sizeof(err)),
                     0);
    assert_int_equal(u.limit, 0);
    assert_int_equal(u.until_ms, NOW + 1);
    assert_int_equal(u.hold_ttl_ms, 1000);
    assert_int_equal(
        ctlarg_use("30d", "10m", NULL, NOW, START, &u, err, sizeof(err)), -1);
    want_err("--use-limit: \"30d\" is not a number or \"unlimited\"");
    assert_int_equal(
        ctlarg_use("4294967296", "10m", NULL, NOW, START, &u, err, sizeof(err)),
        -1);
    want_err("above the maximum");
    assert_int_equal(
        ctlarg_use("5", "soon", NULL, NOW, START, &u, err, sizeof(err)), -1);
    want_err("--hold-ttl: \"soon\" is not a duration");
    assert_int_equal(
        ctlarg_use("5", "999ms", NULL, NOW, START, &u, err, sizeof(err)), -1);
    want_err("--hold-ttl: \"999ms\" is not within 1s .. 30d");
    assert_int_equal(
        ctlarg_use("5", "31d", NULL, NOW, START, &u, err, sizeof(err)), -1);
    want_err("not within 1s .. 30d");
    assert_int_equal(
        ctlarg_use("5", "10m", "-1m", NOW, START, &u, err, sizeof(err)), -1);
    want_err("--use-until must be after now and after --start");
    assert_int_equal(
        ctlarg_use("5", "10m", "now", NOW, START, &u, err, sizeof(err)), -1);
    want_err("--use-until must be after now");
    assert_int_equal(
        ctlarg_use("5", "10m", "+1m", NOW, NOW + 120000, &u, err, sizeof(err)),
        -1);
    want_err("after --start");
    assert_int_equal(
        ctlarg_use("5", "10m", "tomorrow", NOW, START, &u, err, sizeof(err)),
        -1);
    want_err("--use-until: \"tomorrow\": not a time");
}

static void test_use_coupon(void **state)
{
    (void)state;
    assert_int_equal(
        ctlarg_use_coupon("--id", 281474976710655LL, err, sizeof(err)), 0);
    assert_int_equal(ctlarg_use_coupon("--id", 1, err, sizeof(err)), 0);
    assert_int_equal(
        ctlarg_use_coupon("--id", 281474976710656LL, err, sizeof(err)), -1);
    want_err("--id: 281474976710656 is >= 2^48");
    assert_int_equal(ctlarg_use_coupon("--id", INT64_MAX, err, sizeof(err)),
                     -1);
}

UNIT_TESTS(cmocka_unit_test(test_use), cmocka_unit_test(test_use_coupon),
           cmocka_unit_test(test_id), cmocka_unit_test(test_quantity),
           cmocka_unit_test(test_adjust_parse),
           cmocka_unit_test(test_adjust_apply), cmocka_unit_test(test_offsets))
