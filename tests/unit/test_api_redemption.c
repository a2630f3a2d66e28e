/* test_api_redemption.c -- api/redemption's parser of use.lua's answer:
 * the 16/17 elements of schemas/redemption.md into a use_answer_t, and the
 * refusal of anything else (count, codes, states, ids the api puts into
 * JSON unescaped). Replies are built by hand as hiredis would. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "unit.h"
#include <hiredis/hiredis.h>

#include "redemption.h"

#define RID  "01ARZ3NDEKTSV4RR000000001A"
#define PREV "01ARZ3NDEKTSV4RR000000002A"

static redisReply *el(int type, const char *s, long long v)
{
    redisReply *r = calloc(1, sizeof(*r));

    r->type = type;
    if (s != NULL) {
        r->str = strdup(s);
        r->len = strlen(s);
    }
    r->integer = v;
    return r;
}
#define S(s) el(REDIS_REPLY_STRING, (s), 0)
#define N(v) el(REDIS_REPLY_INTEGER, NULL, (v))

/* A held answer; element i replaced by repl when i >= 0. */
static redisReply *held(size_t n, int i, redisReply *repl)
{
    redisReply *r = el(REDIS_REPLY_ARRAY, NULL, 0);
    redisReply *e[17] = {
        S("held"), N(1),     N(0),    S(RID),    S("9223372036854775807"),
        S("o-1"),  N(30000), N(5000), S("held"), N(1796127859001),
        N(0),      N(0),     N(0),    N(1),      S("{\"type\":\"x\"}"),
        S(""),     S(PREV),
    };
    size_t k;

    r->element = calloc(17, sizeof(*r->element));
    r->elements = n;
    for (k = 0; k < 17; k++) {
        if ((int)k == i) {
            freeReplyObject(e[k]);
            e[k] = repl;
        }
        if (k < n)
            r->element[k] = e[k];
        else
            freeReplyObject(e[k]);
    }
    return r;
}

static int parse(redisReply *r, use_op_t op, use_answer_t *a)
{
    int rc = redemption_parse_answer(r, op, a);

    freeReplyObject(r);
    return rc;
}

static void test_held(void **state)
{
    use_answer_t a;

    (void)state;
    assert_int_equal(parse(held(17, -1, NULL), USE_HOLD, &a), 0);
    assert_int_equal(a.code, USE_HELD);
    assert_int_equal(a.is_new, 1);
    assert_int_equal(a.finish, 0);
    assert_string_equal(a.rid, RID);
    assert_int_equal(a.user_id, INT64_MAX);
    assert_string_equal(a.order_id, "o-1");
    assert_int_equal(a.order_amount, 30000);
    assert_int_equal(a.discount, 5000);
    assert_string_equal(a.state, "held");
    assert_int_equal(a.expires_ms, 1796127859001LL);
    assert_int_equal(a.version, 1);
    assert_string_equal(a.event, "{\"type\":\"x\"}");
    assert_int_equal(a.event_len, 12);
    assert_string_equal(a.prev, "");
    assert_string_equal(a.prev_user, PREV);
    assert_string_equal(redemption_code_name(a.code), "held");
    /* numbers may come as decimal strings; "" is 0 */
    assert_int_equal(parse(held(17, 6, S("42")), USE_HOLD, &a), 0);
    assert_int_equal(a.order_amount, 42);
    assert_int_equal(parse(held(17, 12, S("")), USE_HOLD, &a), 0);
    assert_int_equal(a.refund_this, 0);
}

static void test_other_ops(void **state)
{
    use_answer_t a;

    (void)state;
    /* 16 elements for everything but hold */
    assert_int_equal(parse(held(16, 0, S("confirmed")), USE_CONFIRM, &a), 0);
    assert_int_equal(a.code, USE_CONFIRMED);
    assert_string_equal(a.prev_user, "");
    assert_int_equal(parse(held(17, 0, S("confirmed")), USE_CONFIRM, &a), -1);
    assert_int_equal(parse(held(16, -1, NULL), USE_HOLD, &a), -1);
    /* a refusal without a redemption: 0 and "" */
    {
        redisReply *r = held(16, 0, S("not_found"));
        size_t k;

        for (k = 1; k < 16; k++) {
            freeReplyObject(r->element[k]);
            r->element[k] =
                k == 3 || k == 4 || k == 5 || k == 8 || k >= 14 ? S("") : N(0);
        }
        assert_int_equal(parse(r, USE_GET, &a), 0);
        assert_int_equal(a.code, USE_NOT_FOUND);
        assert_string_equal(a.rid, "");
        assert_int_equal(a.user_id, 0);
        assert_int_equal(a.event_len, 0);
    }
}

static void test_refused(void **state)
{
    use_answer_t a;
    char big[USE_EVENT_MAX + 8];

    (void)state;
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(parse(N(1), USE_HOLD, &a), -1);
    assert_int_equal(parse(held(17, 0, S("heldx")), USE_HOLD, &a), -1);
    assert_int_equal(parse(held(17, 0, N(1)), USE_HOLD, &a), -1);
    assert_int_equal(parse(held(17, 3, S("not-a-ulid")), USE_HOLD, &a), -1);
    assert_int_equal(parse(held(17, 4, S("012")), USE_HOLD, &a), -1);
    assert_int_equal(parse(held(17, 4, S("1x")), USE_HOLD, &a), -1);
    assert_int_equal(parse(held(17, 4, N(11)), USE_HOLD, &a), -1);
    assert_int_equal(parse(held(17, 5, S("o\"1")), USE_HOLD, &a), -1);
    assert_int_equal(parse(held(17, 6, S("1.5")), USE_HOLD, &a), -1);
    assert_int_equal(parse(held(17, 8, S("gone")), USE_HOLD, &a), -1);
    assert_int_equal(parse(held(17, 14, S(big)), USE_HOLD, &a), -1);
    assert_int_equal(parse(held(17, 16, S("x")), USE_HOLD, &a), -1);
    assert_int_equal(
        parse(held(17, 13, el(REDIS_REPLY_ARRAY, NULL, 0)), USE_HOLD, &a), -1);
}

UNIT_TESTS(cmocka_unit_test(test_held), cmocka_unit_test(test_other_ops),
           cmocka_unit_test(test_refused))
