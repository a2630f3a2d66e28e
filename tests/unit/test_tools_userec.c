/* test_tools_userec.c -- the use:recs record the tools write when they
 * restore Redis from MySQL (byte for byte what use.lua reads), the revs
 * entry, reading a record back, and which states take a use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "userec.h"

static char err[256];

static use_snap_t confirmed_snap(void)
{
    use_snap_t s;

    memset(&s, 0, sizeof(s));
    strcpy(s.rid, "01KB0000000000000000000042");
    strcpy(s.user, "9223372036854775807");
    strcpy(s.order_id, "o-1:A.b_c");
    s.order_amount = 30000;
    s.discount = 5000;
    strcpy(s.state, "confirmed");
    s.version = 2;
    s.held_ms = 1795358371468LL;
    s.expires_ms = 1795358971468LL;
    s.confirmed_ms = 1795358372000LL;
    s.vendor_id = 7;
    s.share_bps = 2500;
    s.reuse = 1;
    strcpy(s.event_id, "01KB00000000000000000000E2");
    strcpy(s.type, "confirmed");
    s.vendor_amount = 1250;
    return s;
}

static void test_build(void **state)
{
    use_snap_t s = confirmed_snap();
    char buf[USEREC_MAX];

    (void)state;
    assert_true(userec_build(&s, buf, sizeof(buf), err, sizeof(err)) > 0);
    assert_string_equal(
        buf, "{\"u\":\"9223372036854775807\",\"o\":\"o-1:A.b_c\",\"a\":30000,"
             "\"d\":5000,\"s\":\"confirmed\",\"h\":1795358371468,"
             "\"x\":1795358971468,\"c\":1795358372000,\"ra\":0,\"rd\":0,"
             "\"v\":2,\"vd\":7,\"bp\":2500,\"ru\":1,\"p\":0,\"f\":0,"
             "\"e\":\"01KB00000000000000000000E2\",\"t\":\"confirmed\","
             "\"ri\":\"\",\"rx\":0,\"rf\":0,\"rw\":1250}");
}

static void test_build_reversed(void **state)
{
    use_snap_t s = confirmed_snap();
    char buf[USEREC_MAX];
    userec_t r;

    (void)state;
    strcpy(s.state, "reversed");
    s.version = 3;
    s.reversed_amount = 30000;
    s.refunded_discount = 5000;
    s.use_freed = 1;
    strcpy(s.type, "reversed");
    strcpy(s.reversal_id, "r-1");
    s.reversal_amount = 30000;
    s.reversal_refund = 5000;
    s.vendor_amount = -1250;
    assert_true(userec_build(&s, buf, sizeof(buf), err, sizeof(err)) > 0);
    assert_non_null(strstr(buf, "\"f\":1,"));
    assert_non_null(strstr(buf, "\"ri\":\"r-1\",\"rx\":30000,\"rf\":5000,"
                                "\"rw\":-1250}"));
    assert_int_equal(userec_parse(buf, strlen(buf), &r, err, sizeof(err)), 0);
    assert_string_equal(r.state, "reversed");
    assert_int_equal(r.version, 3);
    assert_int_equal(r.freed, 1);
    assert_int_equal(r.pending, 0);
    assert_string_equal(r.user, "9223372036854775807");
}

/* A row whose event is missing: the type follows from the state. */
static void test_build_no_event(void **state)
{
    use_snap_t s = confirmed_snap();
    char buf[USEREC_MAX];

    (void)state;
    s.event_id[0] = '\0';
    s.type[0] = '\0';
    strcpy(s.state, "partially_reversed");
    assert_true(userec_build(&s, buf, sizeof(buf), err, sizeof(err)) > 0);
    assert_non_null(strstr(buf, "\"e\":\"\",\"t\":\"reversed\""));
}

static void refuse(use_snap_t s, const char *want)
{
    char buf[USEREC_MAX];

    assert_int_equal(userec_build(&s, buf, sizeof(buf), err, sizeof(err)), -1);
    if (strstr(err, want) == NULL)
        fail_msg("error \"%s\" lacks \"%s\"", err, want);
}

static void test_build_refuses(void **state)
{
    use_snap_t s;

    (void)state;
    s = confirmed_snap();
    strcpy(s.order_id, "o 1\"");
    refuse(s, "invalid order id");
    s = confirmed_snap();
    s.order_id[0] = '\0';
    refuse(s, "invalid order id");
    s = confirmed_snap();
    strcpy(s.user, "-1");
    refuse(s, "invalid user id");
    s = confirmed_snap();
    strcpy(s.state, "gone");
    refuse(s, "invalid state");
    s = confirmed_snap();
    strcpy(s.rid, "01KB000000000000000000004I"); /* I: not Crockford */
    refuse(s, "invalid redemption id");
    s = confirmed_snap();
    s.discount = -1;
    refuse(s, "invalid amount");
    s = confirmed_snap();
    s.version = 0;
    refuse(s, "invalid amount");
    s = confirmed_snap();
    strcpy(s.event_id, "short");
    refuse(s, "invalid event id");
}

static void test_reversal(void **state)
{
    use_reversal_t r;
    char f[128], v[256];

    (void)state;
    memset(&r, 0, sizeof(r));
    strcpy(r.rid, "01KB0000000000000000000042");
    strcpy(r.reversal_id, "refund-7");
    strcpy(r.event_id, "01KB00000000000000000000E3");
    r.amount = 10000;
    r.refund = 1666;
    r.vendor_amount = -416;
    assert_int_equal(userec_reversal(&r, f, sizeof(f), v, sizeof(v)), 0);
    assert_string_equal(f, "01KB0000000000000000000042/refund-7");
    assert_string_equal(v, "{\"a\":10000,\"r\":1666,\"w\":-416,"
                           "\"e\":\"01KB00000000000000000000E3\"}");
    strcpy(r.reversal_id, "bad id");
    assert_int_equal(userec_reversal(&r, f, sizeof(f), v, sizeof(v)), -1);
}

/* What use.lua writes for a fresh hold may lack p/f; a cancel leaves p 1. */
static void test_parse(void **state)
{
    static const char hold[] =
        "{\"u\":\"1001\",\"o\":\"o-1\",\"a\":100,\"d\":50,\"s\":\"released\","
        "\"h\":10,\"x\":20,\"c\":0,\"ra\":0,\"rd\":0,\"v\":2,\"vd\":0,"
        "\"bp\":10000,\"ru\":1,\"p\":1,\"e\":\"01KB00000000000000000000E2\","
        "\"t\":\"released\"}";
    userec_t r;

    (void)state;
    assert_int_equal(userec_parse(hold, strlen(hold), &r, err, sizeof(err)), 0);
    assert_int_equal(r.pending, 1);
    assert_int_equal(r.freed, 0);
    assert_int_equal(r.expires_ms, 20);
    assert_string_equal(r.event_id, "01KB00000000000000000000E2");
    assert_int_equal(userec_parse("[1]", 3, &r, err, sizeof(err)), -1);
    assert_int_equal(
        userec_parse("{\"u\":1001,\"s\":\"held\",\"v\":1,\"h\":1,\"x\":2}", 44,
                     &r, err, sizeof(err)),
        -1); /* a numeric user id: not a record of ours */
    assert_int_equal(userec_parse("{", 1, &r, err, sizeof(err)), -1);
}

static void test_takes_use(void **state)
{
    (void)state;
    assert_true(userec_takes_use("confirmed", 0));
    assert_true(userec_takes_use("partially_reversed", 0));
    assert_true(userec_takes_use("reversed", 0)); /* --no-reuse, or p 1 */
    assert_false(userec_takes_use("reversed", 1));
    assert_false(userec_takes_use("held", 0));
    assert_false(userec_takes_use("released", 0));
    assert_false(userec_takes_use("expired", 0));
    assert_string_equal(userec_view_state("held", 100, 100), "expired");
    assert_string_equal(userec_view_state("held", 101, 100), "held");
    assert_string_equal(userec_view_state("confirmed", 1, 100), "confirmed");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build),
        cmocka_unit_test(test_build_reversed),
        cmocka_unit_test(test_build_no_event),
        cmocka_unit_test(test_build_refuses),
        cmocka_unit_test(test_reversal),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_takes_use),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
