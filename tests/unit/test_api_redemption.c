/* test_api_redemption.c -- api/redemption's parser of use.lua's answer:
 * the 8/9 elements of schemas/redemption.md into a use_answer_t, the
 * redemption's fields read from the record the answer carries and the
 * event of its latest transition built from it, and the refusal of
 * anything else (count, codes, states, ids the api puts into JSON
 * unescaped, a record not in encode()'s form, an event the check refuses).
 * Replies are built by hand as hiredis would. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "unit.h"
#include <hiredis/hiredis.h>

#include "redemption.h"
#include "rid.h"

#define COUPON 42
#define PREV   "01ARZ3NDEKTSV4RR000000002A"
#define EID    "01KB00000000000000000000E1"

static char rid[RID_LEN + 1];
/* use.lua's encode() of a new hold of rid, and the event it makes */
static char rec[512], event[1024];

static int setup(void **state)
{
    (void)state;
    rid_encode(1796127259001ULL, 7, COUPON, rid);
    snprintf(rec, sizeof(rec),
             "{\"u\":\"9223372036854775807\",\"o\":\"o-1\",\"a\":30000,"
             "\"d\":5000,\"s\":\"held\",\"h\":1796127259001,"
             "\"x\":1796127859001,\"c\":0,\"ra\":0,\"rd\":0,\"v\":1,"
             "\"vd\":7,\"bp\":2500,\"ru\":1,\"p\":0,\"f\":0,\"e\":\"" EID
             "\",\"t\":\"held\",\"et\":1796127259001,\"ep\":0,\"ri\":\"\","
             "\"rx\":0,\"rf\":0,\"rw\":0}");
    snprintf(event, sizeof(event),
             "{\"type\":\"coupon.redemption.held\",\"v\":1,"
             "\"event_id\":\"" EID "\",\"redemption_id\":\"%s\","
             "\"coupon_id\":42,\"user_id\":9223372036854775807,"
             "\"order_id\":\"o-1\",\"order_amount\":30000,"
             "\"discount\":5000,\"state\":\"held\",\"version\":1,"
             "\"held_at_ms\":1796127259001,\"expires_at_ms\":1796127859001,"
             "\"confirmed_at_ms\":0,\"reversed_amount\":0,"
             "\"refunded_discount\":0,\"vendor_id\":7,"
             "\"vendor_share_bps\":2500,\"reuse\":1,\"use_freed\":0,"
             "\"reversal_id\":\"\",\"reversal_amount\":0,"
             "\"reversal_refund\":0,\"vendor_amount\":0,"
             "\"occurred_at_ms\":1796127259001}",
             rid);
    return 0;
}

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

/* A held answer of n elements; element i replaced by repl when i >= 0. */
static redisReply *held(size_t n, int i, redisReply *repl)
{
    redisReply *r = el(REDIS_REPLY_ARRAY, NULL, 0);
    redisReply *e[9] = {
        S("held"), N(1), N(0), S(rid), S("held"), N(0), S(rec), S(""), S(PREV),
    };
    size_t k;

    r->element = calloc(9, sizeof(*r->element));
    r->elements = n;
    for (k = 0; k < 9; k++) {
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
    int rc = redemption_parse_answer(r, op, COUPON, a);

    freeReplyObject(r);
    return rc;
}

/* rec with its first from replaced by to */
static const char *rec_with(const char *from, const char *to)
{
    static char buf[600];
    const char *p = strstr(rec, from);

    assert_non_null(p);
    snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(p - rec), rec, to,
             p + strlen(from));
    return buf;
}

static void test_held(void **state)
{
    use_answer_t a;

    (void)state;
    assert_int_equal(parse(held(9, -1, NULL), USE_HOLD, &a), 0);
    assert_int_equal(a.code, USE_HELD);
    assert_int_equal(a.is_new, 1);
    assert_int_equal(a.finish, 0);
    assert_string_equal(a.rid, rid);
    assert_int_equal(a.user_id, INT64_MAX);
    assert_string_equal(a.order_id, "o-1");
    assert_int_equal(a.order_amount, 30000);
    assert_int_equal(a.discount, 5000);
    assert_string_equal(a.state, "held");
    assert_int_equal(a.expires_ms, 1796127859001LL);
    assert_int_equal(a.reversed_amount, 0);
    assert_int_equal(a.version, 1);
    /* the event, byte for byte what use.lua's event() wrote */
    assert_string_equal(a.event, event);
    assert_int_equal(a.event_len, strlen(event));
    assert_string_equal(a.prev, "");
    assert_string_equal(a.prev_user, PREV);
    assert_string_equal(redemption_code_name(a.code), "held");
    /* the view state is the script's: a hold past x answers expired */
    assert_int_equal(parse(held(9, 4, S("expired")), USE_HOLD, &a), 0);
    assert_string_equal(a.state, "expired");
    /* numbers may come as decimal strings; "" is 0 */
    assert_int_equal(parse(held(9, 5, S("42")), USE_HOLD, &a), 0);
    assert_int_equal(a.refund_this, 42);
    assert_int_equal(parse(held(9, 5, S("")), USE_HOLD, &a), 0);
    assert_int_equal(a.refund_this, 0);
}

static void test_other_ops(void **state)
{
    use_answer_t a;

    (void)state;
    /* 8 elements for everything but hold */
    assert_int_equal(parse(held(8, 0, S("replay")), USE_CONFIRM, &a), 0);
    assert_int_equal(a.code, USE_REPLAY);
    assert_string_equal(a.prev_user, "");
    assert_string_equal(a.event, event);
    assert_int_equal(parse(held(9, 0, S("confirmed")), USE_CONFIRM, &a), -1);
    assert_int_equal(parse(held(8, -1, NULL), USE_HOLD, &a), -1);
    /* a refusal without a redemption: 0 and "", nothing to produce */
    {
        redisReply *r = held(8, 0, S("not_found"));
        size_t k;

        for (k = 1; k < 8; k++) {
            freeReplyObject(r->element[k]);
            r->element[k] = k == 3 || k == 4 || k >= 6 ? S("") : N(0);
        }
        assert_int_equal(parse(r, USE_GET, &a), 0);
        assert_int_equal(a.code, USE_NOT_FOUND);
        assert_string_equal(a.rid, "");
        assert_int_equal(a.user_id, 0);
        assert_int_equal(a.version, 0);
        assert_int_equal(a.event_len, 0);
    }
}

static void test_refused(void **state)
{
    use_answer_t a;
    char big[USE_PREV_MAX + 8];

    (void)state;
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(parse(N(1), USE_HOLD, &a), -1);
    assert_int_equal(parse(held(9, 0, S("heldx")), USE_HOLD, &a), -1);
    assert_int_equal(parse(held(9, 0, N(1)), USE_HOLD, &a), -1);
    assert_int_equal(parse(held(9, 3, S("not-a-ulid")), USE_HOLD, &a), -1);
    assert_int_equal(parse(held(9, 4, S("gone")), USE_HOLD, &a), -1);
    assert_int_equal(parse(held(9, 4, S("")), USE_HOLD, &a), -1);
    assert_int_equal(parse(held(9, 5, S("1.5")), USE_HOLD, &a), -1);
    assert_int_equal(parse(held(9, 7, S(big)), USE_HOLD, &a), -1);
    assert_int_equal(parse(held(9, 8, S("x")), USE_HOLD, &a), -1);
    assert_int_equal(
        parse(held(9, 6, el(REDIS_REPLY_ARRAY, NULL, 0)), USE_HOLD, &a), -1);
    /* a state or rid without a record */
    assert_int_equal(parse(held(9, 6, S("")), USE_HOLD, &a), -1);
    /* records not in encode()'s form, or not a record at all */
    assert_int_equal(parse(held(9, 6, S("{}")), USE_HOLD, &a), -1);
    assert_int_equal(
        parse(held(9, 6, S(rec_with("\"a\":30000", "\"a\": 30000"))), USE_HOLD,
              &a),
        -1);
    assert_int_equal(
        parse(held(9, 6, S(rec_with("\"u\":\"9", "\"u\":\"09"))), USE_HOLD, &a),
        -1);
    assert_int_equal(
        parse(held(9, 6, S(rec_with("\"o\":\"o-1", "\"o\":\"o\\\"1"))),
              USE_HOLD, &a),
        -1);
    assert_int_equal(parse(held(9, 6, S(rec_with("\"a\":30000", "\"a\":1.5"))),
                           USE_HOLD, &a),
                     -1);
    assert_int_equal(
        parse(held(9, 6, S(rec_with("\"s\":\"held", "\"s\":\"gone"))), USE_HOLD,
              &a),
        -1);
    /* in form, but its event is refused: the discount above the amount,
     * an order id outside the id charset */
    assert_int_equal(parse(held(9, 6, S(rec_with("\"d\":5000", "\"d\":50000"))),
                           USE_HOLD, &a),
                     -1);
    assert_int_equal(
        parse(held(9, 6, S(rec_with("\"o\":\"o-1", "\"o\":\"o/1"))), USE_HOLD,
              &a),
        -1);
    /* a rid of another coupon than the call's */
    {
        redisReply *r = held(9, -1, NULL);

        assert_int_equal(redemption_parse_answer(r, USE_HOLD, COUPON + 1, &a),
                         -1);
        freeReplyObject(r);
    }
}

UNIT_TESTS(cmocka_unit_test_setup(test_held, setup),
           cmocka_unit_test_setup(test_other_ops, setup),
           cmocka_unit_test_setup(test_refused, setup))
