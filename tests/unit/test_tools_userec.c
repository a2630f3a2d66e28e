/* test_tools_userec.c -- the use:recs record the tools write when they
 * restore Redis from MySQL or Kafka: from an event as use.lua's event()
 * writes it, the record must be use.lua's encode() of the same redemption
 * byte for byte (finish applied, ep 1); the revs entry; reading a record
 * back; which states take a use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rid.h"
#include "userec.h"

static char err[256];
static char rid[RID_LEN + 1];

/* An event in use.lua's event() format (coupon 42, vendor 7 at 25%). */
static void event_json(char *buf, size_t n, const char *type, const char *state,
                       int version, int64_t ra, int64_t rd, int freed,
                       const char *ri, int64_t rx, int64_t rf, int64_t vamount)
{
    snprintf(buf, n,
             "{\"type\":\"coupon.redemption.%s\",\"v\":1,"
             "\"event_id\":\"01KB00000000000000000000E%d\","
             "\"redemption_id\":\"%s\",\"coupon_id\":42,"
             "\"user_id\":9223372036854775807,\"order_id\":\"o-1:A.b_c\","
             "\"order_amount\":30000,\"discount\":5000,\"state\":\"%s\","
             "\"version\":%d,\"held_at_ms\":1795358371468,"
             "\"expires_at_ms\":1795358971468,"
             "\"confirmed_at_ms\":1795358372000,\"reversed_amount\":%lld,"
             "\"refunded_discount\":%lld,\"vendor_id\":7,"
             "\"vendor_share_bps\":2500,\"reuse\":1,\"use_freed\":%d,"
             "\"reversal_id\":\"%s\",\"reversal_amount\":%lld,"
             "\"reversal_refund\":%lld,\"vendor_amount\":%lld,"
             "\"occurred_at_ms\":1795358380000}",
             type, version, rid, state, version, (long long)ra, (long long)rd,
             freed, ri, (long long)rx, (long long)rf, (long long)vamount);
}

static void decode(const char *json, redemption_event_t *ev)
{
    if (redemption_event_decode(json, strlen(json), ev, err, sizeof(err)) !=
        EVENT_OK)
        fail_msg("event refused: %s\n%s", err, json);
}

static int setup(void **state)
{
    (void)state;
    rid_encode(1795358371468ULL, 7, 42, rid);
    return 0;
}

static void test_confirmed(void **state)
{
    char ev_json[1024], buf[USEREC_MAX], want[USEREC_MAX];
    redemption_event_t ev;

    (void)state;
    event_json(ev_json, sizeof(ev_json), "confirmed", "confirmed", 2, 0, 0, 0,
               "", 0, 0, 1250);
    decode(ev_json, &ev);
    assert_true(userec_build(&ev, buf, sizeof(buf), err, sizeof(err)) > 0);
    /* use.lua's encode() after the confirm; the confirm's vendor line is
     * not a reversal, so rw stays 0 */
    snprintf(want, sizeof(want),
             "{\"u\":\"9223372036854775807\",\"o\":\"o-1:A.b_c\",\"a\":30000,"
             "\"d\":5000,\"s\":\"confirmed\",\"h\":1795358371468,"
             "\"x\":1795358971468,\"c\":1795358372000,\"ra\":0,\"rd\":0,"
             "\"v\":2,\"vd\":7,\"bp\":2500,\"ru\":1,\"p\":0,\"f\":0,"
             "\"e\":\"01KB00000000000000000000E2\",\"t\":\"confirmed\","
             "\"et\":1795358380000,\"ep\":1,\"ri\":\"\",\"rx\":0,\"rf\":0,"
             "\"rw\":0}");
    assert_string_equal(buf, want);
}

/* The full reversal under reuse: the use came back (finish applied). */
static void test_reversed(void **state)
{
    char ev_json[1024], buf[USEREC_MAX];
    redemption_event_t ev;
    userec_t r;

    (void)state;
    event_json(ev_json, sizeof(ev_json), "reversed", "reversed", 4, 30000, 5000,
               1, "r-2", 20000, 3334, -834);
    decode(ev_json, &ev);
    assert_true(userec_build(&ev, buf, sizeof(buf), err, sizeof(err)) > 0);
    assert_non_null(strstr(buf, "\"s\":\"reversed\""));
    assert_non_null(strstr(buf, "\"ra\":30000,\"rd\":5000,\"v\":4,"));
    assert_non_null(strstr(buf, "\"p\":0,\"f\":1,"));
    assert_non_null(strstr(buf, "\"t\":\"reversed\",\"et\":1795358380000,"
                                "\"ep\":1,\"ri\":\"r-2\",\"rx\":20000,"
                                "\"rf\":3334,\"rw\":-834}"));
    assert_int_equal(userec_parse(buf, strlen(buf), &r, err, sizeof(err)), 0);
    assert_string_equal(r.state, "reversed");
    assert_int_equal(r.version, 4);
    assert_int_equal(r.freed, 1);
    assert_int_equal(r.pending, 0);
    assert_string_equal(r.user, "9223372036854775807");
    assert_string_equal(r.event_id, "01KB00000000000000000000E4");
}

static void test_refuses(void **state)
{
    char ev_json[1024], buf[USEREC_MAX];
    redemption_event_t ev;

    (void)state;
    event_json(ev_json, sizeof(ev_json), "confirmed", "confirmed", 2, 0, 0, 0,
               "", 0, 0, 1250);
    decode(ev_json, &ev);
    ev.vendor_amount = 1; /* not the contract's share */
    assert_int_equal(userec_build(&ev, buf, sizeof(buf), err, sizeof(err)), -1);
    decode(ev_json, &ev);
    assert_int_equal(userec_build(&ev, buf, 100, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "too long"));
}

static void test_reversal_entry(void **state)
{
    char ev_json[1024], f[128], v[256];
    redemption_event_t ev;

    (void)state;
    event_json(ev_json, sizeof(ev_json), "reversed", "partially_reversed", 3,
               10000, 1666, 0, "refund-7", 10000, 1666, -416);
    decode(ev_json, &ev);
    assert_int_equal(userec_reversal(&ev, f, sizeof(f), v, sizeof(v)), 0);
    assert_string_equal(f + RID_LEN, "/refund-7");
    assert_memory_equal(f, rid, RID_LEN);
    assert_string_equal(v, "{\"a\":10000,\"r\":1666,\"w\":-416,"
                           "\"e\":\"01KB00000000000000000000E3\"}");
    event_json(ev_json, sizeof(ev_json), "confirmed", "confirmed", 2, 0, 0, 0,
               "", 0, 0, 1250);
    decode(ev_json, &ev);
    assert_int_equal(userec_reversal(&ev, f, sizeof(f), v, sizeof(v)), -1);
}

/* A cancel as use.lua leaves it: p 1 until its finish. */
static void test_parse(void **state)
{
    static const char rec[] =
        "{\"u\":\"1001\",\"o\":\"o-1\",\"a\":100,\"d\":50,\"s\":\"released\","
        "\"h\":10,\"x\":20,\"c\":0,\"ra\":0,\"rd\":0,\"v\":2,\"vd\":0,"
        "\"bp\":10000,\"ru\":1,\"p\":1,\"f\":0,"
        "\"e\":\"01KB00000000000000000000E2\",\"t\":\"released\",\"et\":15,"
        "\"ep\":0,\"ri\":\"\",\"rx\":0,\"rf\":0,\"rw\":0}";
    userec_t r;

    (void)state;
    assert_int_equal(userec_parse(rec, strlen(rec), &r, err, sizeof(err)), 0);
    assert_int_equal(r.pending, 1);
    assert_int_equal(r.freed, 0);
    assert_int_equal(r.expires_ms, 20);
    assert_string_equal(r.event_id, "01KB00000000000000000000E2");
    assert_int_equal(userec_parse("[1]", 3, &r, err, sizeof(err)), -1);
    assert_int_equal(
        userec_parse("{\"u\":1001,\"s\":\"held\",\"v\":1,\"x\":2,\"p\":0,"
                     "\"f\":0,\"e\":\"\"}",
                     56, &r, err, sizeof(err)),
        -1); /* a numeric user id: not a record of use.lua's */
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
        cmocka_unit_test(test_confirmed), cmocka_unit_test(test_reversed),
        cmocka_unit_test(test_refuses),   cmocka_unit_test(test_reversal_entry),
        cmocka_unit_test(test_parse),     cmocka_unit_test(test_takes_use),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
