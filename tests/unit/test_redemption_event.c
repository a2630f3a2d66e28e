/* test_redemption_event.c -- the coupon.redemption.* codec: the contract's
 * example decodes and encodes byte for byte, every transition of a life
 * round-trips, the redemption id's coupon part is read right, and a table
 * of malformed and contradictory payloads is each refused with the right
 * reason and a message naming the field. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redemption_event.h"

#define RID  "01M81RWZVV28T5CY000000001A" /* coupon part 42 */
#define RID2 "01M81RWZVV28T5CY000000001B" /* coupon part 43 */
#define EID  "01M81RWZVX0000000000000002"

/* The confirmed example of schemas/events/coupon.redemption.v1.json. */
static const char example[] =
    "{\"type\":\"coupon.redemption.confirmed\",\"v\":1,\"event_id\":\"" EID
    "\",\"redemption_id\":\"" RID "\",\"coupon_id\":42,\"user_id\":1001,"
    "\"order_id\":\"o-1\",\"order_amount\":30000,\"discount\":5000,"
    "\"state\":\"confirmed\",\"version\":2,\"held_at_ms\":1795356000123,"
    "\"expires_at_ms\":1795356600123,\"confirmed_at_ms\":1795356060000,"
    "\"reversed_amount\":0,\"refunded_discount\":0,\"vendor_id\":7,"
    "\"vendor_share_bps\":10000,\"reuse\":1,\"use_freed\":0,"
    "\"reversal_id\":\"\",\"reversal_amount\":0,\"reversal_refund\":0,"
    "\"vendor_amount\":5000,\"occurred_at_ms\":1795356060000}";

static redemption_event_t confirmed(void)
{
    redemption_event_t ev;

    memset(&ev, 0, sizeof(ev));
    ev.type = REDEMPTION_CONFIRMED;
    strcpy(ev.event_id, EID);
    strcpy(ev.redemption_id, RID);
    ev.coupon_id = 42;
    ev.user_id = 1001;
    strcpy(ev.order_id, "o-1");
    ev.order_amount = 30000;
    ev.discount = 5000;
    ev.state = REDEMPTION_STATE_CONFIRMED;
    ev.version = 2;
    ev.held_at_ms = 1795356000123LL;
    ev.expires_at_ms = 1795356600123LL;
    ev.confirmed_at_ms = 1795356060000LL;
    ev.vendor_id = 7;
    ev.vendor_share_bps = 10000;
    ev.reuse = 1;
    ev.vendor_amount = 5000;
    ev.occurred_at_ms = 1795356060000LL;
    return ev;
}

static void test_decode_example(void **state)
{
    redemption_event_t ev, want = confirmed();
    char err[256] = "";

    (void)state;
    assert_int_equal(redemption_event_decode(example, strlen(example), &ev, err,
                                             sizeof(err)),
                     EVENT_OK);
    assert_memory_equal(&ev, &want, sizeof(ev));
}

static void test_encode_example_exact(void **state)
{
    redemption_event_t ev = confirmed();
    char buf[REDEMPTION_EVENT_MAX_LEN];

    (void)state;
    assert_int_equal(redemption_event_encode(&ev, buf, sizeof(buf)),
                     (int)strlen(example));
    assert_string_equal(buf, example);
    assert_int_equal(redemption_event_encode(&ev, buf, strlen(example)), -1);
}

static void round_trip(const redemption_event_t *in)
{
    char buf[REDEMPTION_EVENT_MAX_LEN], err[256] = "";
    redemption_event_t out;
    int len = redemption_event_encode(in, buf, sizeof(buf));

    if (len < 0) {
        redemption_event_check(in, err, sizeof(err));
        fail_msg("encode refused: %s", err);
    }
    assert_int_equal(
        redemption_event_decode(buf, (size_t)len, &out, err, sizeof(err)),
        EVENT_OK);
    assert_memory_equal(&out, in, sizeof(out));
}

/* A whole life with a vendor at 33.33%: held, confirmed, two partial
 * reversals, the last one; the ledger lines sum to 0. */
static void test_life_round_trips(void **state)
{
    redemption_event_t ev = confirmed();
    int64_t ledger;

    (void)state;
    ev.type = REDEMPTION_HELD;
    ev.state = REDEMPTION_STATE_HELD;
    ev.version = 1;
    ev.confirmed_at_ms = 0;
    ev.vendor_share_bps = 3333;
    ev.vendor_amount = 0;
    round_trip(&ev);
    ev.type = REDEMPTION_CONFIRMED;
    ev.state = REDEMPTION_STATE_CONFIRMED;
    ev.version = 2;
    ev.confirmed_at_ms = 1795356060000LL;
    ev.vendor_amount = 5000 * 3333 / 10000; /* 1666 */
    ledger = ev.vendor_amount;
    round_trip(&ev);
    ev.type = REDEMPTION_REVERSED;
    ev.state = REDEMPTION_STATE_PARTIALLY_REVERSED;
    ev.version = 3;
    strcpy(ev.reversal_id, "r-1");
    ev.reversal_amount = ev.reversed_amount = 10000;
    ev.reversal_refund = ev.refunded_discount = 1666; /* floor(5000/3) */
    ev.vendor_amount = -(1666 * 3333 / 10000);        /* -555 */
    ledger += ev.vendor_amount;
    round_trip(&ev);
    ev.version = 4;
    strcpy(ev.reversal_id, "r-2");
    ev.reversal_amount = 7;
    ev.reversed_amount = 10007;
    ev.reversal_refund = 5000 * 7 / 30000; /* 1 */
    ev.refunded_discount = 1667;
    ev.vendor_amount = -(1667 * 3333 / 10000 - 1666 * 3333 / 10000);
    ledger += ev.vendor_amount;
    round_trip(&ev);
    ev.state = REDEMPTION_STATE_REVERSED;
    ev.version = 5;
    strcpy(ev.reversal_id, "r-3");
    ev.reversal_amount = 30000 - 10007;
    ev.reversed_amount = 30000;
    ev.reversal_refund = 5000 - 1667; /* the rest */
    ev.refunded_discount = 5000;
    ev.use_freed = 1;
    ev.vendor_amount = -(5000 * 3333 / 10000 - 1667 * 3333 / 10000);
    ledger += ev.vendor_amount;
    round_trip(&ev);
    assert_int_equal(ledger, 0);
    ev.reuse = 0; /* no reuse: the full reversal keeps the use */
    ev.use_freed = 0;
    round_trip(&ev);
}

static void test_other_ends_round_trip(void **state)
{
    redemption_event_t ev = confirmed();

    (void)state;
    ev.confirmed_at_ms = 0;
    ev.vendor_amount = 0;
    ev.type = REDEMPTION_RELEASED;
    ev.state = REDEMPTION_STATE_RELEASED;
    round_trip(&ev);
    ev.type = REDEMPTION_EXPIRED;
    ev.state = REDEMPTION_STATE_EXPIRED;
    round_trip(&ev);
    /* Platform-funded, the largest ids and amounts. */
    ev = confirmed();
    ev.vendor_id = 0;
    ev.vendor_amount = 0;
    ev.user_id = INT64_MAX;
    ev.order_amount = ev.discount = 2147483647LL;
    memset(ev.order_id, 'z', REDEMPTION_ID_MAX);
    ev.order_id[REDEMPTION_ID_MAX] = '\0';
    round_trip(&ev);
}

/* The example with one "key":value replaced (or removed: repl NULL, or
 * added: key not in it). */
static char *with(const char *key, const char *repl)
{
    static char buf[4096];
    char pat[64];
    const char *p, *end;

    snprintf(pat, sizeof(pat), "\"%s\":", key);
    p = strstr(example, pat);
    if (p == NULL) {
        snprintf(buf, sizeof(buf), "%.*s,\"%s\":%s}",
                 (int)(strlen(example) - 1), example, key, repl);
        return buf;
    }
    end = p + strlen(pat);
    if (*end == '"')
        end = strchr(end + 1, '"') + 1;
    else
        while (*end != ',' && *end != '}')
            end++;
    if (repl == NULL) {
        if (*end == ',')
            end++;
        else if (p[-1] == ',')
            p--;
        snprintf(buf, sizeof(buf), "%.*s%s", (int)(p - example), example, end);
    } else {
        snprintf(buf, sizeof(buf), "%.*s%s%s%s", (int)(p - example), example,
                 pat, repl, end);
    }
    return buf;
}

typedef struct bad_case {
    const char *key, *repl; /* repl NULL: key removed */
    event_reason_t reason;
    const char *msg; /* errstr must contain it */
} bad_case_t;

static const bad_case_t bad_cases[] = {
    { "type", "\"coupon.issue.requested\"", EVENT_ERR_TYPE, "type: must be" },
    { "type", "\"coupon.redemption.cancelled\"", EVENT_ERR_TYPE, "type:" },
    { "type", "7", EVENT_ERR_TYPE, "type:" },
    { "v", "2", EVENT_ERR_VERSION, "v: must be the integer 1, got 2" },
    { "v", "\"1\"", EVENT_ERR_VERSION, "v:" },
    { "event_id", "\"not-a-ulid\"", EVENT_ERR_FIELD,
      "event_id: must be a ULID" },
    { "redemption_id", "\"01M81RWZVV28T5CY00000000\"", EVENT_ERR_FIELD,
      "redemption_id: must be a ULID" },
    { "redemption_id", "\"" RID2 "\"", EVENT_ERR_INCONSISTENT,
      "redemption_id: its coupon part 43 is not coupon_id 42" },
    { "coupon_id", "43", EVENT_ERR_INCONSISTENT, "coupon part 42" },
    { "redemption_id", "\"01M81RWZVV0000018000000000\"", EVENT_ERR_INCONSISTENT,
      "its coupon part 0 is not coupon_id 42" },
    { "coupon_id", "0", EVENT_ERR_FIELD, "coupon_id: must be" },
    { "coupon_id", "281474976710656", EVENT_ERR_FIELD, "coupon_id:" },
    { "user_id", "\"1001\"", EVENT_ERR_FIELD,
      "user_id: must be an integer > 0, got \"1001\"" },
    { "user_id", "1001.0", EVENT_ERR_FIELD, "user_id: must be an integer" },
    { "user_id", "1e3", EVENT_ERR_FIELD, "user_id:" },
    { "user_id", "0", EVENT_ERR_FIELD, "user_id:" },
    { "user_id", "-5", EVENT_ERR_FIELD, "user_id:" },
    { "user_id", "9223372036854775808", EVENT_ERR_JSON, "json:" },
    { "user_id", "true", EVENT_ERR_FIELD, "user_id:" },
    { "order_id", "\"\"", EVENT_ERR_FIELD, "order_id: must be 1..64" },
    { "order_id", "\"o 1\"", EVENT_ERR_FIELD, "order_id:" },
    { "order_id", "\"o\\u00001\"", EVENT_ERR_JSON, "is not allowed" },
    { "order_id",
      "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"",
      EVENT_ERR_FIELD, "order_id:" },
    { "order_amount", "2147483648", EVENT_ERR_FIELD, "order_amount:" },
    { "order_amount", "4999", EVENT_ERR_INCONSISTENT,
      "discount: 5000 is more than order_amount 4999" },
    { "discount", "-1", EVENT_ERR_FIELD, "discount:" },
    { "state", "\"cancelled\"", EVENT_ERR_FIELD, "state: must be held" },
    { "state", "\"held\"", EVENT_ERR_INCONSISTENT,
      "state: \"held\" does not fit type coupon.redemption.confirmed" },
    { "version", "3", EVENT_ERR_INCONSISTENT, "version: 3 does not fit" },
    { "version", "0", EVENT_ERR_FIELD, "version:" },
    { "held_at_ms", "0", EVENT_ERR_FIELD, "held_at_ms:" },
    { "expires_at_ms", "1795356000122", EVENT_ERR_INCONSISTENT,
      "expires_at_ms: before held_at_ms" },
    { "confirmed_at_ms", "0", EVENT_ERR_INCONSISTENT,
      "confirmed_at_ms: 0 does not fit state \"confirmed\"" },
    { "reversed_amount", "1", EVENT_ERR_INCONSISTENT, "reversed_amount: 1" },
    { "refunded_discount", "1", EVENT_ERR_INCONSISTENT, "refunded_discount:" },
    { "vendor_id", "-1", EVENT_ERR_FIELD, "vendor_id:" },
    { "vendor_id", "0", EVENT_ERR_INCONSISTENT,
      "vendor_amount: 5000, the vendor's share of this "
      "coupon.redemption.confirmed is 0" },
    { "vendor_share_bps", "10001", EVENT_ERR_FIELD, "vendor_share_bps:" },
    { "vendor_share_bps", "5000", EVENT_ERR_INCONSISTENT, "is 2500" },
    { "vendor_amount", "4999", EVENT_ERR_INCONSISTENT, "vendor_amount: 4999" },
    { "vendor_amount", "5000.5", EVENT_ERR_FIELD, "vendor_amount:" },
    { "reuse", "2", EVENT_ERR_FIELD, "reuse: must be 0 or 1" },
    { "use_freed", "1", EVENT_ERR_INCONSISTENT, "use_freed: 1" },
    { "reversal_id", "\"r-1\"", EVENT_ERR_INCONSISTENT, "reversal_id," },
    { "reversal_id", "null", EVENT_ERR_FIELD, "reversal_id: must be" },
    { "reversal_amount", "5", EVENT_ERR_INCONSISTENT, "reversal_amount" },
    { "occurred_at_ms", "253402300800000", EVENT_ERR_FIELD, "occurred_at_ms:" },
    { "extra", "1", EVENT_ERR_EXTRA, "extra: unknown field" },
    { "event_id", NULL, EVENT_ERR_MISSING, "event_id: missing" },
    { "user_id", NULL, EVENT_ERR_MISSING, "user_id: missing" },
    { "use_freed", NULL, EVENT_ERR_MISSING, "use_freed: missing" },
    { "occurred_at_ms", NULL, EVENT_ERR_MISSING, "occurred_at_ms: missing" },
};

static void expect_bad(const char *buf, size_t len, event_reason_t reason,
                       const char *msg)
{
    redemption_event_t ev, zero;
    char err[256] = "";
    event_reason_t r = redemption_event_decode(buf, len, &ev, err, sizeof(err));

    memset(&zero, 0, sizeof(zero));
    if (r != reason || strstr(err, msg) == NULL)
        fail_msg("%.*s: got %s \"%s\", want %s \"%s\"", (int)len, buf,
                 event_reason_name(r), err, event_reason_name(reason), msg);
    assert_memory_equal(&ev, &zero, sizeof(ev));
}

static void test_bad_fields(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const char *p = with(bad_cases[i].key, bad_cases[i].repl);

        expect_bad(p, strlen(p), bad_cases[i].reason, bad_cases[i].msg);
    }
}

static void test_bad_json(void **state)
{
    static char big[70000];

    (void)state;
    expect_bad(NULL, 0, EVENT_ERR_JSON, "json:");
    expect_bad("", 0, EVENT_ERR_JSON, "json:");
    expect_bad("[1]", 3, EVENT_ERR_JSON, "json: expected an object");
    expect_bad(example, strlen(example) - 1, EVENT_ERR_JSON, "json:");
    expect_bad("{\"v\":1,\"v\":1}", 13, EVENT_ERR_JSON, "duplicate");
    memset(big, ' ', sizeof(big));
    expect_bad(big, sizeof(big), EVENT_ERR_TOO_BIG, "over the 65536-byte");
    assert_string_equal(event_reason_name(EVENT_ERR_INCONSISTENT),
                        "inconsistent");
}

/* Contradictions only a struct can show (several fields at once). */
static void test_check_rules(void **state)
{
    redemption_event_t ev = confirmed();
    char err[256] = "";

    (void)state;
    ev.type = REDEMPTION_REVERSED;
    ev.state = REDEMPTION_STATE_PARTIALLY_REVERSED;
    ev.version = 3;
    strcpy(ev.reversal_id, "r-1");
    ev.reversal_amount = ev.reversed_amount = 10000;
    ev.reversal_refund = ev.refunded_discount = 1667; /* floor is 1666 */
    ev.vendor_amount = -1667;
    assert_int_equal(redemption_event_check(&ev, err, sizeof(err)),
                     EVENT_ERR_INCONSISTENT);
    assert_non_null(strstr(err, "reversal_refund: 1667"));
    ev.reversal_refund = ev.refunded_discount = 1666;
    ev.vendor_amount = -1666;
    assert_int_equal(redemption_event_check(&ev, err, sizeof(err)), EVENT_OK);
    ev.reversed_amount = 30000; /* all of it, but state partial */
    assert_int_equal(redemption_event_check(&ev, err, sizeof(err)),
                     EVENT_ERR_INCONSISTENT);
    ev.state = REDEMPTION_STATE_REVERSED; /* refunds must reach discount */
    assert_int_equal(redemption_event_check(&ev, err, sizeof(err)),
                     EVENT_ERR_INCONSISTENT);
    assert_non_null(strstr(err, "refunded_discount"));
    ev.refunded_discount = 5000;
    ev.reversal_refund = 5000;
    ev.reversal_amount = 30000;
    ev.vendor_amount = -5000;
    ev.use_freed = 1;
    assert_int_equal(redemption_event_check(&ev, err, sizeof(err)), EVENT_OK);
    ev.version = 2; /* a reversal is at least the third version */
    assert_int_equal(redemption_event_check(&ev, err, sizeof(err)),
                     EVENT_ERR_INCONSISTENT);
    ev = confirmed();
    ev.order_amount = ev.discount = 0; /* nothing to reverse, ever */
    ev.vendor_amount = 0;
    assert_int_equal(redemption_event_check(&ev, err, sizeof(err)), EVENT_OK);
    ev.type = REDEMPTION_REVERSED;
    ev.state = REDEMPTION_STATE_REVERSED;
    ev.version = 3;
    assert_int_equal(redemption_event_check(&ev, err, sizeof(err)),
                     EVENT_ERR_INCONSISTENT);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(redemption_type_name(REDEMPTION_REVERSED),
                        "coupon.redemption.reversed");
    assert_null(redemption_type_name(REDEMPTION_NTYPES));
    assert_string_equal(
        redemption_state_name(REDEMPTION_STATE_PARTIALLY_REVERSED),
        "partially_reversed");
    assert_int_equal(redemption_state_parse("expired", 7),
                     REDEMPTION_STATE_EXPIRED);
    assert_int_equal(redemption_state_parse("expire", 6), -1);
}

UNIT_TESTS(cmocka_unit_test(test_decode_example),
           cmocka_unit_test(test_encode_example_exact),
           cmocka_unit_test(test_life_round_trips),
           cmocka_unit_test(test_other_ends_round_trip),
           cmocka_unit_test(test_bad_fields), cmocka_unit_test(test_bad_json),
           cmocka_unit_test(test_check_rules), cmocka_unit_test(test_names))
