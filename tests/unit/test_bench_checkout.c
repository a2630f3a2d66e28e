/* test_bench_checkout.c -- the checkout flow's pure parts (bench/checkout.c):
 * the plan gives exact shares spread over the run, the request texts are
 * what DESIGN.md "Redemption" names, a redemption_id is read only when it
 * is safe in a path, and the answers count and chain the steps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "unit.h"

#include "checkout.h"

/* 1,000,000 checkouts with 30% abandoned and 10% cancelled: exactly
 * 300,000 abandoned, every window of 10 has 3 of them, and the cancels
 * (which yield to an abandon due at the same checkout) lag by one at most. */
static void test_plan_exact_shares(void **state)
{
    checkout_plan_t p;
    uint64_t i, ab = 0, ca = 0, co = 0, win = 0;

    (void)state;
    checkout_plan_init(&p, 0.3, 0.1);
    for (i = 0; i < 1000000; i++) {
        checkout_step_t s = checkout_plan_next(&p);

        ab += s == STEP_ABANDON;
        ca += s == STEP_CANCEL;
        co += s == STEP_CONFIRM;
        win += s == STEP_ABANDON;
        if (i % 10 == 9) {
            assert_int_equal(win, 3);
            win = 0;
        }
    }
    assert_int_equal(ab, 300000);
    assert_true(ca == 100000 || ca == 99999);
    assert_int_equal(ab + ca + co, 1000000);
    checkout_plan_init(&p, 0, 0);
    for (i = 0; i < 1000; i++)
        assert_int_equal(checkout_plan_next(&p), STEP_CONFIRM);
    checkout_plan_init(&p, 1, 0);
    for (i = 0; i < 1000; i++)
        assert_int_equal(checkout_plan_next(&p), STEP_ABANDON);
}

static void test_request_texts(void **state)
{
    char b[256];

    (void)state;
    assert_int_equal(checkout_hold_path(b, sizeof(b), 42), 26);
    assert_string_equal(b, "/v1/coupons/42/redemptions");
    assert_true(checkout_hold_body(b, sizeof(b), 1001, "o-", 7, 30000) > 0);
    assert_string_equal(
        b, "{\"user_id\":1001,\"order_id\":\"o-7\",\"order_amount\":30000}");
    checkout_step_path(b, sizeof(b), STEP_CONFIRM, "01ABC");
    assert_string_equal(b, "/v1/redemptions/01ABC/confirm");
    checkout_step_path(b, sizeof(b), STEP_CANCEL, "01ABC");
    assert_string_equal(b, "/v1/redemptions/01ABC/cancel");
    assert_int_equal(checkout_hold_body(b, 10, 1, "o-", 1, 1), -1);
}

static void test_parse_rid(void **state)
{
    const char *ok = "{\"result\":\"held\",\"redemption_id\" : "
                     "\"01J9Z3K7M2QX4W8V6T5R1N0PAB\",\"coupon_id\":42}";
    const char *bad[] = {
        "{\"result\":\"held\"}",
        "{\"redemption_id\":\"\"}",
        "{\"redemption_id\":\"01/../x\"}",
        "{\"redemption_id\":42}",
        "{\"redemption_id\":\"01ABC", /* cut off */
        "{\"redemption_id\":\"0123456789012345678901234567890123456789"
        "0123456789012345678901234567890\"}", /* 71 > CHECKOUT_RID_MAX */
    };
    char rid[CHECKOUT_RID_MAX + 1];
    size_t i;

    (void)state;
    assert_int_equal(checkout_parse_rid(ok, strlen(ok), rid, sizeof(rid)), 0);
    assert_string_equal(rid, "01J9Z3K7M2QX4W8V6T5R1N0PAB");
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(
            checkout_parse_rid(bad[i], strlen(bad[i]), rid, sizeof(rid)), -1);
}

/* A 201 with a rid chains the planned step; a refused hold or a 201
 * without a rid chains nothing; only a confirm's 200 is a pair. */
static void test_answers(void **state)
{
    checkout_result_t r;

    (void)state;
    assert_int_equal(checkout_result_init(&r), 0);
    assert_int_equal(
        checkout_answer(&r, STEP_HOLD, STEP_CONFIRM, 201, 1, 1000, 1000),
        STEP_CONFIRM);
    assert_int_equal(
        checkout_answer(&r, STEP_HOLD, STEP_ABANDON, 201, 1, 1000, 1000),
        STEP_ABANDON);
    assert_int_equal(
        checkout_answer(&r, STEP_HOLD, STEP_CANCEL, 201, 0, 1000, 1000),
        STEP_ABANDON);
    assert_int_equal(
        checkout_answer(&r, STEP_HOLD, STEP_CONFIRM, 410, 0, 1000, 1000),
        STEP_ABANDON);
    checkout_answer(&r, STEP_CONFIRM, STEP_CONFIRM, 200, 0, 500, 2500);
    checkout_answer(&r, STEP_CONFIRM, STEP_CONFIRM, 409, 0, 500, 2500);
    checkout_answer(&r, STEP_CANCEL, STEP_CANCEL, 200, 0, 500, 2500);
    assert_int_equal(r.held, 2);
    assert_int_equal(r.no_rid, 1);
    assert_int_equal(r.abandoned, 1);
    assert_int_equal(r.confirmed, 1);
    assert_int_equal(r.cancelled, 1);
    assert_int_equal(r.hold_status[201], 3);
    assert_int_equal(r.hold_status[410], 1);
    assert_int_equal(r.confirm_status[409], 1);
    assert_int_equal(hist_count(r.pair), 1);
    assert_int_equal(hist_count(r.confirm), 2);
    checkout_result_free(&r);
}

UNIT_TESTS(cmocka_unit_test(test_plan_exact_shares),
           cmocka_unit_test(test_request_texts),
           cmocka_unit_test(test_parse_rid), cmocka_unit_test(test_answers))
