/* test_api_answer.c -- api/answer: the status and body of each admission
 * and redemption result, byte for byte as DESIGN.md and
 * schemas/openapi.yaml promise, and -1 (not a cut body) when the buffer is
 * too small. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "unit.h"

#include "answer.h"

#define RID "01JD0000000000000000000001"
#define T0  1764600000000 /* 2025-12-01T14:40:00.000Z */

static void test_admit_statuses(void **state)
{
    static const struct {
        admit_result_t r;
        int status;
    } cases[] = {
        { ADMIT_ACCEPTED, 202 },    { ADMIT_DUPLICATE, 409 },
        { ADMIT_SOLD_OUT, 410 },    { ADMIT_NOT_OPEN, 403 },
        { ADMIT_ENDED, 403 },       { ADMIT_CLOSED, 403 },
        { ADMIT_NOT_FOUND, 404 },   { ADMIT_FENCED, 503 },
        { ADMIT_UNAVAILABLE, 503 }, { ADMIT_ERROR, 500 },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(answer_admit_status(cases[i].r), cases[i].status);
    assert_int_equal(answer_admit_status((admit_result_t)99), 500);
}

static void test_admit_bodies(void **state)
{
    char b[256];
    int len;

    (void)state;
    len = answer_admit_accepted(b, sizeof(b), 7, 9223372036854775807,
                                "01JD0000000000000000000002", 3);
    assert_int_equal(len, (int)strlen(b));
    assert_string_equal(b, "{\"result\":\"accepted\",\"coupon_id\":7,"
                           "\"user_id\":9223372036854775807,\"event_id\":"
                           "\"01JD0000000000000000000002\",\"seq\":3}");
    assert_int_equal(answer_admit_accepted(b, 40, 7, 1, RID, 3), -1);
    assert_true(answer_admit_refusal(b, sizeof(b), ADMIT_SOLD_OUT, 7, 5) > 0);
    assert_string_equal(
        b, "{\"result\":\"sold_out\",\"coupon_id\":7,\"user_id\":5}");
    assert_true(answer_admit_refusal(b, sizeof(b), ADMIT_NOT_OPEN, 7, 5) > 0);
    assert_string_equal(
        b, "{\"result\":\"not_open\",\"coupon_id\":7,\"user_id\":5}");
    assert_int_equal(answer_admit_refusal(b, 20, ADMIT_DUPLICATE, 7, 5), -1);
}

static void test_reads(void **state)
{
    admission_summary_t s = { 1, -1, 12, "open" };
    char b[320];

    (void)state;
    assert_true(answer_summary(b, sizeof(b), 7, &s) > 0);
    assert_string_equal(b, "{\"coupon_id\":7,\"total\":null,\"admitted\":12,"
                           "\"remaining\":null,\"state\":\"open\"}");
    s.total = 100;
    strcpy(s.state, "closed");
    assert_true(answer_summary(b, sizeof(b), 7, &s) > 0);
    assert_string_equal(b, "{\"coupon_id\":7,\"total\":100,\"admitted\":12,"
                           "\"remaining\":88,\"state\":\"closed\"}");
    s.total = 10; /* more admitted than total (lowered by adjust): 0 left */
    assert_true(answer_summary(b, sizeof(b), 7, &s) > 0);
    assert_string_equal(b, "{\"coupon_id\":7,\"total\":10,\"admitted\":12,"
                           "\"remaining\":0,\"state\":\"closed\"}");
    assert_true(answer_user_status(b, sizeof(b), 7, 5, USER_NONE) > 0);
    assert_string_equal(b,
                        "{\"coupon_id\":7,\"user_id\":5,\"status\":\"none\"}");
    assert_true(answer_user_status(b, sizeof(b), 7, 5, USER_PENDING) > 0);
    assert_string_equal(
        b, "{\"coupon_id\":7,\"user_id\":5,\"status\":\"pending\"}");
    assert_true(answer_user_status(b, sizeof(b), 7, 5, USER_ISSUED) > 0);
    assert_string_equal(
        b, "{\"coupon_id\":7,\"user_id\":5,\"status\":\"issued\"}");
}

/* schemas/redemption.md "Codes and HTTP answers". */
static void test_use_statuses(void **state)
{
    static const short want[USE_NCODES] = {
        [USE_HELD] = 201,
        [USE_REPLAY] = 200,
        [USE_ORDER_CONFLICT] = 409,
        [USE_ALREADY_USED] = 409,
        [USE_NOT_OWNED] = 403,
        [USE_NOT_USABLE] = 403,
        [USE_SOLD_OUT] = 410,
        [USE_BELOW_MIN_AMOUNT] = 422,
        [USE_RID_TAKEN] = 503,
        [USE_NOT_FOUND] = 404,
        [USE_FENCED] = 503,
        [USE_FORBIDDEN] = 403,
        [USE_CONFIRMED] = 200,
        [USE_HOLD_EXPIRED] = 409,
        [USE_NOT_HELD] = 409,
        [USE_RELEASED] = 200,
        [USE_ALREADY_CONFIRMED] = 409,
        [USE_REVERSED] = 200,
        [USE_PARTIALLY_REVERSED] = 200,
        [USE_REVERSAL_CONFLICT] = 409,
        [USE_NOT_CONFIRMED] = 409,
        [USE_AMOUNT_TOO_LARGE] = 422,
        [USE_FOUND] = 200,
    };
    int i;

    (void)state;
    for (i = 0; i < USE_NCODES; i++)
        assert_int_equal(answer_use_status((use_code_t)i), want[i]);
}

static void redemption(use_answer_t *a, use_code_t code, const char *st)
{
    memset(a, 0, sizeof(*a));
    a->code = code;
    strcpy(a->rid, RID);
    a->user_id = 5;
    strcpy(a->order_id, "o-1");
    a->order_amount = 10000;
    a->discount = 1000;
    strcpy(a->state, st);
    a->expires_ms = T0;
}

#define HEAD                                                                   \
    "\"redemption_id\":\"" RID "\",\"coupon_id\":7,\"user_id\":5,"             \
    "\"order_id\":\"o-1\",\"order_amount\":10000,\"discount\":1000"

static void test_use_bodies(void **state)
{
    use_call_t c;
    use_answer_t a;
    char b[1024];

    (void)state;
    memset(&c, 0, sizeof(c));
    c.op = USE_GET;
    c.coupon_id = 7;
    strcpy(c.rid, RID);
    redemption(&a, USE_FOUND, "held");
    assert_true(answer_use_body(b, sizeof(b), &c, &a) > 0);
    assert_string_equal(b, "{" HEAD ",\"state\":\"held\",\"expires_at\":"
                           "\"2025-12-01T14:40:00.000Z\",\"reversed_amount\":0,"
                           "\"refunded_discount\":0}");
    c.op = USE_HOLD;
    redemption(&a, USE_HELD, "held");
    assert_true(answer_use_body(b, sizeof(b), &c, &a) > 0);
    assert_string_equal(b, "{\"result\":\"held\"," HEAD ",\"expires_at\":"
                           "\"2025-12-01T14:40:00.000Z\"}");
    /* A replay's result is the redemption's state now. */
    redemption(&a, USE_REPLAY, "confirmed");
    assert_true(answer_use_body(b, sizeof(b), &c, &a) > 0);
    assert_string_equal(b, "{\"result\":\"confirmed\"," HEAD ",\"expires_at\":"
                           "\"2025-12-01T14:40:00.000Z\"}");
    /* A refused hold says what was asked, and the other redemption. */
    c.user_id = 5;
    strcpy(c.order_id, "o-2");
    redemption(&a, USE_ALREADY_USED, "");
    assert_true(answer_use_body(b, sizeof(b), &c, &a) > 0);
    assert_string_equal(b, "{\"result\":\"already_used\",\"coupon_id\":7,"
                           "\"user_id\":5,\"order_id\":\"o-2\","
                           "\"redemption_id\":\"" RID "\"}");
    a.rid[0] = '\0';
    assert_true(answer_use_body(b, sizeof(b), &c, &a) > 0);
    assert_string_equal(b, "{\"result\":\"already_used\",\"coupon_id\":7,"
                           "\"user_id\":5,\"order_id\":\"o-2\"}");
    /* 200 on a rid route: the result and the redemption; a reversal adds
     * this call's refund. */
    c.op = USE_REVERSE;
    redemption(&a, USE_PARTIALLY_REVERSED, "confirmed");
    a.reversed_amount = 4000;
    a.refunded_discount = 400;
    a.refund_this = 400;
    assert_true(answer_use_body(b, sizeof(b), &c, &a) > 0);
    assert_string_equal(b, "{\"result\":\"partially_reversed\"," HEAD
                           ",\"state\":\"confirmed\",\"expires_at\":"
                           "\"2025-12-01T14:40:00.000Z\",\"reversed_amount\":"
                           "4000,\"refunded_discount\":400,\"refund\":400}");
    /* A refusal on a rid route: the rid asked, and the state when known. */
    c.op = USE_CONFIRM;
    redemption(&a, USE_HOLD_EXPIRED, "expired");
    assert_true(answer_use_body(b, sizeof(b), &c, &a) > 0);
    assert_string_equal(b, "{\"result\":\"hold_expired\",\"redemption_id\":"
                           "\"" RID "\",\"state\":\"expired\"}");
    redemption(&a, USE_NOT_FOUND, "");
    assert_true(answer_use_body(b, sizeof(b), &c, &a) > 0);
    assert_string_equal(b, "{\"result\":\"not_found\",\"redemption_id\":"
                           "\"" RID "\"}");
    assert_int_equal(answer_use_body(b, 30, &c, &a), -1);
}

UNIT_TESTS(cmocka_unit_test(test_admit_statuses),
           cmocka_unit_test(test_admit_bodies), cmocka_unit_test(test_reads),
           cmocka_unit_test(test_use_statuses),
           cmocka_unit_test(test_use_bodies))
