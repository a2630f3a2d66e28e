/* test_common_userec.c -- the use:recs record: the tools write it when they
 * restore Redis from MySQL or Kafka (from an event in use.lua's former
 * event() format, the record must be use.lua's encode() of the same
 * redemption byte for byte, finish applied, ep 1); the revs entry; reading
 * a record back, leniently (the tools) and in encode()'s form only (the
 * api, userec_decode); the event the api builds from a record, byte for
 * byte that format for every type; which states take a use. */
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

/* An event in the contract's format, as use.lua's event() wrote it and
 * userec_event writes it now (coupon 42, vendor 7 at 25%). */
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

/* event_json's event made one that was never confirmed (confirmed_at_ms
 * 0); a hold's happened when it was held. */
static void unconfirm(char *json, int hold)
{
    char *p = strstr(json, "\"confirmed_at_ms\":1795358372000");

    assert_non_null(p);
    p[18] = '0'; /* after "confirmed_at_ms": */
    memmove(p + 19, p + 31, strlen(p + 31) + 1);
    if (hold && (p = strstr(json, "\"occurred_at_ms\":1795358380000")) != NULL)
        memcpy(p + 17, "1795358371468", 13);
}

/* Every type of event -> the record the tools restore -> the event the api
 * builds from that record: the same bytes. */
static void test_event_round_trip(void **state)
{
    static const struct {
        const char *type, *state, *ri;
        int version, freed;
        int64_t ra, rd, rx, rf, vamount;
    } cases[] = {
        { "held", "held", "", 1, 0, 0, 0, 0, 0, 0 },
        { "confirmed", "confirmed", "", 2, 0, 0, 0, 0, 0, 1250 },
        { "released", "released", "", 2, 0, 0, 0, 0, 0, 0 },
        { "expired", "expired", "", 2, 0, 0, 0, 0, 0, 0 },
        { "reversed", "partially_reversed", "refund-7", 3, 0, 10000, 1666,
          10000, 1666, -416 },
        { "reversed", "reversed", "r-2", 4, 1, 30000, 5000, 20000, 3334, -834 },
    };
    char ev_json[1024], buf[USEREC_MAX], out[1024];
    redemption_event_t ev;
    userec_fields_t r;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        event_json(ev_json, sizeof(ev_json), cases[i].type, cases[i].state,
                   cases[i].version, cases[i].ra, cases[i].rd, cases[i].freed,
                   cases[i].ri, cases[i].rx, cases[i].rf, cases[i].vamount);
        if (cases[i].version <= 2 && strcmp(cases[i].type, "confirmed") != 0)
            unconfirm(ev_json, cases[i].version == 1);
        decode(ev_json, &ev);
        assert_true(userec_build(&ev, buf, sizeof(buf), err, sizeof(err)) > 0);
        assert_int_equal(userec_decode(buf, strlen(buf), &r), 0);
        assert_int_equal(userec_event(&r, rid, 42, out, sizeof(out)),
                         (int)strlen(ev_json));
        assert_string_equal(out, ev_json);
    }
    /* the fields, and an event that does not fit */
    assert_int_equal(r.user_id, INT64_MAX);
    assert_string_equal(r.order_id, "o-1:A.b_c");
    assert_int_equal(r.state, REDEMPTION_STATE_REVERSED);
    assert_int_equal(r.type, REDEMPTION_REVERSED);
    assert_int_equal(r.version, 4);
    assert_int_equal(r.freed, 1);
    assert_int_equal(r.handed_out, 1);
    assert_int_equal(r.rev_vendor, -834);
    assert_int_equal(userec_event(&r, rid, 42, out, 100), -1);
    /* a rid that does not carry the coupon: the event check refuses it */
    assert_int_equal(userec_event(&r, rid, 43, out, sizeof(out)), -1);
}

/* userec_decode takes encode()'s form and nothing else. */
static void test_decode_form(void **state)
{
    static const char rec[] =
        "{\"u\":\"1001\",\"o\":\"o-1\",\"a\":100,\"d\":50,\"s\":\"released\","
        "\"h\":10,\"x\":20,\"c\":0,\"ra\":0,\"rd\":0,\"v\":2,\"vd\":0,"
        "\"bp\":10000,\"ru\":1,\"p\":1,\"f\":0,"
        "\"e\":\"01KB00000000000000000000E2\",\"t\":\"released\",\"et\":15,"
        "\"ep\":0,\"ri\":\"\",\"rx\":0,\"rf\":0,\"rw\":-7}";
    static const char *const bad[][2] = {
        { "{\"u\"", "{ \"u\"" },                        /* a space */
        { "\"a\":100,\"d\":50", "\"d\":50,\"a\":100" }, /* order */
        { "\"a\":100", "\"a\":0100" },                  /* a leading zero */
        { "\"c\":0", "\"c\":-0" },                      /* minus zero */
        { "\"a\":100", "\"a\":1e2" },                   /* an exponent */
        { "\"a\":100", "\"a\":100.0" },                 /* a fraction */
        { "\"a\":100", "\"a\":1234567890123456789" },   /* 19 digits */
        { "\"u\":\"1001\"", "\"u\":1001" },             /* a numeric user */
        { "\"u\":\"1001\"", "\"u\":\"01001\"" },
        { "\"u\":\"1001\"", "\"u\":\"9223372036854775808\"" },
        { "\"o\":\"o-1\"", "\"o\":\"o\\u002d1\"" }, /* an escape */
        { "\"s\":\"released\"", "\"s\":\"gone\"" },
        { "\"t\":\"released\"", "\"t\":\"partially_reversed\"" },
        { "\"p\":1", "\"p\":2" },
        { "\"rw\":-7}", "\"rw\":-7} " }, /* trailing bytes */
        { "\"rw\":-7}", "\"rw\":-7" },   /* cut short */
    };
    char buf[USEREC_MAX];
    userec_fields_t r;
    size_t i;

    (void)state;
    assert_int_equal(userec_decode(rec, strlen(rec), &r), 0);
    assert_int_equal(r.user_id, 1001);
    assert_int_equal(r.state, REDEMPTION_STATE_RELEASED);
    assert_int_equal(r.type, REDEMPTION_RELEASED);
    assert_int_equal(r.pending, 1);
    assert_int_equal(r.event_ms, 15);
    assert_int_equal(r.rev_vendor, -7);
    assert_string_equal(r.reversal_id, "");
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *p = strstr(rec, bad[i][0]);

        assert_non_null(p);
        snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(p - rec), rec, bad[i][1],
                 p + strlen(bad[i][0]));
        if (userec_decode(buf, strlen(buf), &r) != -1)
            fail_msg("accepted: %s", buf);
    }
    assert_int_equal(userec_decode(rec, strlen(rec) - 1, &r), -1);
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
        cmocka_unit_test(test_confirmed),
        cmocka_unit_test(test_reversed),
        cmocka_unit_test(test_refuses),
        cmocka_unit_test(test_reversal_entry),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_event_round_trip),
        cmocka_unit_test(test_decode_form),
        cmocka_unit_test(test_takes_use),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
