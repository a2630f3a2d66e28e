/* test_event.c -- event codec: exact round trips, and a table of malformed
 * payloads that must each be rejected with the right reason and a message
 * naming the offending field. The decoder's fast path (canonical bytes
 * only) is checked against the jansson path alone: encoder outputs must take
 * the fast path, and near-canonical payloads must fall back and come out
 * exactly as jansson alone decides (reason, message, event). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "event_internal.h"

#define T                 "\"type\":\"coupon.issue.requested\""
#define V                 "\"v\":1"
#define E                 "\"event_id\":\"01JDBX7K3M4N5P6Q7R8S9T0V1W\""
#define C                 "\"coupon_id\":42"
#define U                 "\"user_id\":1001"
#define S                 "\"seq\":17"
#define R                 "\"requested_at\":\"2026-11-22T14:00:00.123Z\""
#define OBJ(...)          "{" __VA_ARGS__ "}"
#define EVENT_MIN_TIME_MS (-62167219200000LL) /* 0000-01-01T00:00:00.000Z */

static const char example[] = OBJ(T "," V "," E "," C "," U "," S "," R);

static void test_decode_example(void **state)
{
    event_t ev;
    char err[256] = "";

    (void)state;
    assert_int_equal(
        event_decode(example, strlen(example), &ev, err, sizeof(err)),
        EVENT_OK);
    assert_string_equal(ev.event_id, "01JDBX7K3M4N5P6Q7R8S9T0V1W");
    assert_int_equal(ev.coupon_id, 42);
    assert_int_equal(ev.user_id, 1001);
    assert_int_equal(ev.seq, 17);
    assert_int_equal(ev.requested_at_ms, 1795356000123LL);
}

static void test_encode_example_exact(void **state)
{
    event_t ev = { "01JDBX7K3M4N5P6Q7R8S9T0V1W", 42, 1001, 17,
                   1795356000123LL };
    char buf[EVENT_MAX_LEN];
    int len;

    (void)state;
    len = event_encode(&ev, buf, sizeof(buf));
    assert_int_equal(len, (int)strlen(example));
    assert_string_equal(buf, example);
}

static void round_trip(const event_t *in)
{
    char buf[EVENT_MAX_LEN], err[256] = "";
    event_t out;
    int len = event_encode(in, buf, sizeof(buf));

    assert_true(len > 0);
    assert_int_equal(event_decode(buf, (size_t)len, &out, err, sizeof(err)),
                     EVENT_OK);
    assert_string_equal(out.event_id, in->event_id);
    assert_int_equal(out.coupon_id, in->coupon_id);
    assert_int_equal(out.user_id, in->user_id);
    assert_int_equal(out.seq, in->seq);
    assert_int_equal(out.requested_at_ms, in->requested_at_ms);
}

static void test_round_trip(void **state)
{
    event_t ev = { "", 1, 1, 1, 0 };
    const int64_t times[] = { 0,
                              1,
                              999,
                              1709251199999LL,
                              1795356000123LL,
                              253402300799999LL,
                              -1,
                              -62135596800000LL };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        ulid_generate(ev.event_id);
        ev.requested_at_ms = times[i];
        ev.coupon_id = (int64_t)i + 1;
        ev.user_id = INT64_MAX - (int64_t)i;
        ev.seq = i % 2 ? INT64_MAX : 1;
        round_trip(&ev);
    }
    /* The largest encoding fits EVENT_MAX_LEN. */
    ev.coupon_id = ev.user_id = ev.seq = INT64_MAX;
    ev.requested_at_ms = 253402300799999LL;
    round_trip(&ev);
}

static void test_encode_rejects_invalid(void **state)
{
    event_t ok = { "01JDBX7K3M4N5P6Q7R8S9T0V1W", 42, 1001, 17, 0 };
    event_t ev;
    char buf[EVENT_MAX_LEN];

    (void)state;
    ev = ok;
    ev.coupon_id = 0;
    assert_int_equal(event_encode(&ev, buf, sizeof(buf)), -1);
    ev = ok;
    ev.user_id = -3;
    assert_int_equal(event_encode(&ev, buf, sizeof(buf)), -1);
    ev = ok;
    ev.seq = 0;
    assert_int_equal(event_encode(&ev, buf, sizeof(buf)), -1);
    ev = ok;
    strcpy(ev.event_id, "not-a-ulid");
    assert_int_equal(event_encode(&ev, buf, sizeof(buf)), -1);
    ev = ok;
    ev.requested_at_ms = 253402300800000LL; /* year 10000 */
    assert_int_equal(event_encode(&ev, buf, sizeof(buf)), -1);
    /* Too small a buffer is an error, never a cut event. */
    assert_int_equal(event_encode(&ok, buf, 20), -1);
    assert_true(event_encode(&ok, buf, sizeof(buf)) > 0);
}

/* The widest fields, written exactly, and the buffer bound at the byte:
 * the text plus its NUL fit, one byte less is -1 with nothing written past
 * the buffer. */
static void test_encode_extremes_exact(void **state)
{
    static const char want[] =
        "{\"type\":\"coupon.issue.requested\",\"v\":1,\"event_id\":"
        "\"7ZZZZZZZZZZZZZZZZZZZZZZZZZ\",\"coupon_id\":9223372036854775807,"
        "\"user_id\":9223372036854775807,\"seq\":9223372036854775807,"
        "\"requested_at\":\"9999-12-31T23:59:59.999Z\"}";
    const int wl = (int)sizeof(want) - 1;
    event_t ev = { "7ZZZZZZZZZZZZZZZZZZZZZZZZZ", INT64_MAX, INT64_MAX,
                   INT64_MAX, 253402300799999LL };
    char buf[EVENT_MAX_LEN + 1];
    int n;

    (void)state;
    assert_true(wl < EVENT_MAX_LEN);
    assert_int_equal(event_encode(&ev, buf, sizeof(buf)), wl);
    assert_string_equal(buf, want);
    memset(buf, 'x', sizeof(buf));
    assert_int_equal(event_encode(&ev, buf, (size_t)wl + 1), wl);
    assert_string_equal(buf, want);
    memset(buf, 'x', sizeof(buf));
    assert_int_equal(event_encode(&ev, buf, (size_t)wl), -1);
    assert_int_equal(buf[wl], 'x');
    assert_int_equal(event_encode(&ev, buf, 0), -1);
    /* The smallest fields and the earliest time. */
    ev.coupon_id = ev.user_id = ev.seq = 1;
    ev.requested_at_ms = EVENT_MIN_TIME_MS;
    strcpy(ev.event_id, "00000000000000000000000000");
    n = event_encode(&ev, buf, sizeof(buf));
    assert_int_equal(n, (int)strlen(buf));
    assert_string_equal(
        buf, "{\"type\":\"coupon.issue.requested\",\"v\":1,\"event_id\":"
             "\"00000000000000000000000000\",\"coupon_id\":1,\"user_id\":1,"
             "\"seq\":1,\"requested_at\":\"0000-01-01T00:00:00.000Z\"}");
}

static void test_time_format_bounds(void **state)
{
    char buf[32];

    (void)state;
    assert_int_equal(event_format_time(EVENT_MIN_TIME_MS, buf, sizeof(buf)),
                     24);
    assert_string_equal(buf, "0000-01-01T00:00:00.000Z");
    assert_int_equal(event_format_time(253402300799999LL, buf, 25), 24);
    assert_string_equal(buf, "9999-12-31T23:59:59.999Z");
    assert_int_equal(event_format_time(951868800000LL, buf, 25), 24);
    assert_string_equal(buf, "2000-03-01T00:00:00.000Z");
    assert_int_equal(event_format_time(EVENT_MIN_TIME_MS - 1, buf, 25), -1);
    assert_int_equal(event_format_time(253402300800000LL, buf, 25), -1);
    assert_int_equal(event_format_time(INT64_MIN, buf, 25), -1);
    assert_int_equal(event_format_time(INT64_MAX, buf, 25), -1);
    assert_int_equal(event_format_time(0, buf, 0), -1);
}

static void test_time_format_parse(void **state)
{
    char buf[32];
    int64_t ms;

    (void)state;
    assert_int_equal(event_format_time(0, buf, sizeof(buf)), 24);
    assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
    assert_int_equal(event_format_time(-1, buf, sizeof(buf)), 24);
    assert_string_equal(buf, "1969-12-31T23:59:59.999Z");
    assert_int_equal(event_format_time(1709251199999LL, buf, sizeof(buf)), 24);
    assert_string_equal(buf, "2024-02-29T23:59:59.999Z");
    assert_int_equal(event_format_time(0, buf, 24), -1); /* no room for NUL */
    assert_int_equal(event_parse_time("2026-11-22T14:00:00.123Z", &ms), 0);
    assert_int_equal(ms, 1795356000123LL);
    assert_int_equal(event_parse_time("2000-02-29T00:00:00.000Z", &ms), 0);
    assert_int_equal(event_parse_time("1900-02-29T00:00:00.000Z", &ms), -1);
    assert_int_equal(event_parse_time("2026-04-31T00:00:00.000Z", &ms), -1);
    assert_int_equal(event_parse_time("2026-11-22T14:00:60.000Z", &ms), -1);
    assert_int_equal(event_parse_time("2026-11-22T14:00:00.123Zx", &ms), -1);
    assert_int_equal(event_parse_time("2026-11-22t14:00:00.123Z", &ms), -1);
    assert_int_equal(event_parse_time("", &ms), -1);
}

typedef struct bad_case {
    const char *json;
    event_reason_t reason;
    const char *field; /* errstr must contain it */
} bad_case_t;

static const bad_case_t bad_cases[] = {
    { "not json", EVENT_ERR_JSON, "json" },
    { "", EVENT_ERR_JSON, "json" },
    { "[1,2,3]", EVENT_ERR_JSON, "json" },
    { OBJ(T "," V "," E "," C "," U "," S "," R) " x", EVENT_ERR_JSON, "json" },
    { OBJ(T "," V "," E "," C "," U "," U "," S "," R), EVENT_ERR_JSON,
      "user_id" }, /* duplicate key */
    { "{" T "," V "," E "," C "," U "," S "," R, EVENT_ERR_JSON, "json" },
    { OBJ(V "," E "," C "," U "," S "," R), EVENT_ERR_MISSING, "type" },
    { OBJ("\"type\":\"coupon.issued\"," V "," E "," C "," U "," S "," R),
      EVENT_ERR_TYPE, "type" },
    { OBJ("\"type\":5," V "," E "," C "," U "," S "," R), EVENT_ERR_TYPE,
      "type" },
    { OBJ(T "," E "," C "," U "," S "," R), EVENT_ERR_MISSING, "v" },
    { OBJ(T ",\"v\":2," E "," C "," U "," S "," R), EVENT_ERR_VERSION, "v:" },
    { OBJ(T ",\"v\":\"1\"," E "," C "," U "," S "," R), EVENT_ERR_VERSION,
      "v:" },
    { OBJ(T ",\"v\":1.0," E "," C "," U "," S "," R), EVENT_ERR_VERSION, "v:" },
    { OBJ(T "," V "," C "," U "," S "," R), EVENT_ERR_MISSING, "event_id" },
    { OBJ(T "," V ",\"event_id\":\"abc\"," C "," U "," S "," R),
      EVENT_ERR_FIELD, "event_id" },
    { OBJ(T "," V ",\"event_id\":\"01JDBX7K3M4N5P6Q7R8S9T0V1U\"," C "," U "," S
            "," R),
      EVENT_ERR_FIELD, "event_id" }, /* U is not Crockford */
    { OBJ(T "," V ",\"event_id\":\"81JDBX7K3M4N5P6Q7R8S9T0V1W\"," C "," U "," S
            "," R),
      EVENT_ERR_FIELD, "event_id" }, /* over 128 bits */
    { OBJ(T "," V ",\"event_id\":\"01jdbx7k3m4n5p6q7r8s9t0v1w\"," C "," U "," S
            "," R),
      EVENT_ERR_FIELD, "event_id" },
    { OBJ(T "," V ",\"event_id\":12345," C "," U "," S "," R), EVENT_ERR_FIELD,
      "event_id" },
    { OBJ(T "," V "," E "," U "," S "," R), EVENT_ERR_MISSING, "coupon_id" },
    { OBJ(T "," V "," E ",\"coupon_id\":0," U "," S "," R), EVENT_ERR_FIELD,
      "coupon_id" },
    { OBJ(T "," V "," E ",\"coupon_id\":-1," U "," S "," R), EVENT_ERR_FIELD,
      "coupon_id" },
    { OBJ(T "," V "," E ",\"coupon_id\":42.0," U "," S "," R), EVENT_ERR_FIELD,
      "coupon_id" },
    { OBJ(T "," V "," E ",\"coupon_id\":\"42\"," U "," S "," R),
      EVENT_ERR_FIELD, "coupon_id" },
    { OBJ(T "," V "," E ",\"coupon_id\":true," U "," S "," R), EVENT_ERR_FIELD,
      "coupon_id" },
    { OBJ(T "," V "," E ",\"coupon_id\":null," U "," S "," R), EVENT_ERR_FIELD,
      "coupon_id" },
    { OBJ(T "," V "," E "," C "," S "," R), EVENT_ERR_MISSING, "user_id" },
    { OBJ(T "," V "," E "," C ",\"user_id\":\"abc\"," S "," R), EVENT_ERR_FIELD,
      "user_id" },
    { OBJ(T "," V "," E "," C ",\"user_id\":1e3," S "," R), EVENT_ERR_FIELD,
      "user_id" },
    { OBJ(T "," V "," E "," C ",\"user_id\":0," S "," R), EVENT_ERR_FIELD,
      "user_id" },
    { OBJ(T "," V "," E "," C ",\"user_id\":false," S "," R), EVENT_ERR_FIELD,
      "user_id" },
    { OBJ(T "," V "," E "," C "," U "," R), EVENT_ERR_MISSING, "seq" },
    { OBJ(T "," V "," E "," C "," U ",\"seq\":0," R), EVENT_ERR_FIELD, "seq" },
    { OBJ(T "," V "," E "," C "," U ",\"seq\":-5," R), EVENT_ERR_FIELD, "seq" },
    { OBJ(T "," V "," E "," C "," U ",\"seq\":1.5," R), EVENT_ERR_FIELD,
      "seq" },
    { OBJ(T "," V "," E "," C "," U "," S), EVENT_ERR_MISSING, "requested_at" },
    { OBJ(T "," V "," E "," C "," U "," S
            ",\"requested_at\":\"2026-11-22T14:00:00Z\""),
      EVENT_ERR_FIELD, "requested_at" },
    { OBJ(T "," V "," E "," C "," U "," S
            ",\"requested_at\":\"2026-02-30T00:00:00.000Z\""),
      EVENT_ERR_FIELD, "requested_at" },
    { OBJ(T "," V "," E "," C "," U "," S
            ",\"requested_at\":\"2025-02-29T00:00:00.000Z\""),
      EVENT_ERR_FIELD, "requested_at" },
    { OBJ(T "," V "," E "," C "," U "," S
            ",\"requested_at\":\"2026-13-01T00:00:00.000Z\""),
      EVENT_ERR_FIELD, "requested_at" },
    { OBJ(T "," V "," E "," C "," U "," S
            ",\"requested_at\":\"2026-11-22T24:00:00.000Z\""),
      EVENT_ERR_FIELD, "requested_at" },
    { OBJ(T "," V "," E "," C "," U "," S
            ",\"requested_at\":\"2026-11-22T14:00:00.123+01:00\""),
      EVENT_ERR_FIELD, "requested_at" },
    { OBJ(T "," V "," E "," C "," U "," S
            ",\"requested_at\":\"2026-11-22 14:00:00.123Z\""),
      EVENT_ERR_FIELD, "requested_at" },
    { OBJ(T "," V "," E "," C "," U "," S ",\"requested_at\":1795356000123"),
      EVENT_ERR_FIELD, "requested_at" },
    { OBJ(T "," V "," E "," C "," U "," S "," R ",\"foo\":1"), EVENT_ERR_EXTRA,
      "foo" },
    { OBJ(T "," V "," E "," C "," U "," S "," R ",\"User_id\":1"),
      EVENT_ERR_EXTRA, "User_id" },
};

static void test_malformed_table(void **state)
{
    size_t i;

    (void)state;
    assert_true(sizeof(bad_cases) / sizeof(bad_cases[0]) >= 25);
    for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const bad_case_t *bc = &bad_cases[i];
        char err[256] = "";
        event_t ev;
        event_reason_t r;

        memset(&ev, 0x5a, sizeof(ev));
        r = event_decode(bc->json, strlen(bc->json), &ev, err, sizeof(err));
        if (r != bc->reason || strstr(err, bc->field) == NULL)
            fail_msg("case %zu %s: got %s \"%s\", want %s naming %s", i,
                     bc->json, event_reason_name(r), err,
                     event_reason_name(bc->reason), bc->field);
        /* A rejected event leaves nothing half-filled behind. */
        assert_int_equal(ev.coupon_id, 0);
        assert_int_equal(ev.user_id, 0);
    }
}

static void test_error_message_text(void **state)
{
    const char *j = OBJ(T "," V "," E "," C ",\"user_id\":\"abc\"," S "," R);
    char err[256];
    event_t ev;

    (void)state;
    assert_int_equal(event_decode(j, strlen(j), &ev, err, sizeof(err)),
                     EVENT_ERR_FIELD);
    assert_string_equal(err, "user_id: must be an integer > 0, got \"abc\"");
}

static void test_int64_overflow_is_bad_json(void **state)
{
    const char *j =
        OBJ(T "," V "," E "," C ",\"user_id\":9223372036854775808," S "," R);
    const char *max =
        OBJ(T "," V "," E "," C ",\"user_id\":9223372036854775807," S "," R);
    char err[256];
    event_t ev;

    (void)state;
    assert_int_equal(event_decode(j, strlen(j), &ev, err, sizeof(err)),
                     EVENT_ERR_JSON);
    assert_int_equal(event_decode(max, strlen(max), &ev, err, sizeof(err)),
                     EVENT_OK);
    assert_int_equal(ev.user_id, INT64_MAX);
}

static void test_too_big_not_parsed(void **state)
{
    size_t big = 65537, limit = 65536, pad;
    char *buf = malloc(big + 1);
    char err[256];
    event_t ev;

    (void)state;
    assert_non_null(buf);
    /* Garbage over the limit: too_big, proving it was never parsed. */
    memset(buf, '!', big);
    assert_int_equal(event_decode(buf, big, &ev, err, sizeof(err)),
                     EVENT_ERR_TOO_BIG);
    assert_non_null(strstr(err, "payload"));
    /* A valid event padded with whitespace to exactly the limit parses. */
    pad = limit - strlen(example);
    memset(buf, ' ', pad);
    /* Length-delimited like a Kafka payload, so no NUL is wanted. */
    memcpy(buf + pad, example,
           sizeof(example) -
               1); /* NOLINT(bugprone-not-null-terminated-result) */
    assert_int_equal(event_decode(buf, limit, &ev, err, sizeof(err)), EVENT_OK);
    free(buf);
}

static void test_not_nul_terminated(void **state)
{
    char buf[EVENT_MAX_LEN + 8];
    char err[256];
    event_t ev;
    size_t len = strlen(example);

    (void)state;
    /* Kafka payloads have a length, not a NUL: trailing bytes are ignored. */
    memcpy(buf, example, len); /* NOLINT(bugprone-not-null-terminated-result) */
    memcpy(buf + len, "garbage",
           7); /* NOLINT(bugprone-not-null-terminated-result) */
    assert_int_equal(event_decode(buf, len, &ev, err, sizeof(err)), EVENT_OK);
    assert_int_equal(event_decode(NULL, 0, &ev, err, sizeof(err)),
                     EVENT_ERR_JSON);
}

/* Field by field: event_t has padding, so memcmp would compare noise. The
 * whole id array counts, so a difference after the NUL shows too. */
static int same_event(const event_t *a, const event_t *b)
{
    return memcmp(a->event_id, b->event_id, sizeof(a->event_id)) == 0 &&
           a->coupon_id == b->coupon_id && a->user_id == b->user_id &&
           a->seq == b->seq && a->requested_at_ms == b->requested_at_ms;
}

/* Decodes buf both ways -- event_decode() (fast path, then fallback) and
 * event_decode_slow() alone -- and fails unless reason, errstr and event are
 * identical. Returns the reason. */
static event_reason_t same_as_slow(const char *buf, size_t len)
{
    char err_a[256], err_b[256];
    event_t a, b;
    event_reason_t ra, rb;

    memset(err_a, 'e', sizeof(err_a));
    memset(err_b, 'e', sizeof(err_b));
    err_a[sizeof(err_a) - 1] = err_b[sizeof(err_b) - 1] = '\0';
    memset(&a, 0x5a, sizeof(a));
    memset(&b, 0x5a, sizeof(b));
    ra = event_decode(buf, len, &a, err_a, sizeof(err_a));
    rb = event_decode_slow(buf, len, &b, err_b, sizeof(err_b));
    if (ra != rb || strcmp(err_a, err_b) != 0 || !same_event(&a, &b))
        fail_msg("%.*s: event_decode %s \"%.60s\", jansson alone %s \"%.60s\"",
                 (int)len, buf, event_reason_name(ra), err_a,
                 event_reason_name(rb), err_b);
    return ra;
}

/* Encoder output takes the fast path, and decodes as jansson decodes it. */
static void expect_fast(const event_t *in)
{
    char buf[EVENT_MAX_LEN];
    event_t out;
    int len = event_encode(in, buf, sizeof(buf));

    assert_true(len > 0);
    memset(&out, 0x5a, sizeof(out));
    if (event_decode_canonical(buf, (size_t)len, &out) != 0)
        fail_msg("fast path refused encoder output %s", buf);
    assert_memory_equal(out.event_id, in->event_id, ULID_LEN + 1);
    assert_int_equal(out.coupon_id, in->coupon_id);
    assert_int_equal(out.user_id, in->user_id);
    assert_int_equal(out.seq, in->seq);
    assert_int_equal(out.requested_at_ms, in->requested_at_ms);
    assert_int_equal(same_as_slow(buf, (size_t)len), EVENT_OK);
}

static void test_fast_path_canonical(void **state)
{
    const int64_t ints[] = { 1,
                             9,
                             10,
                             42,
                             1001,
                             999999999,
                             1000000000000LL,
                             INT64_MAX / 10,
                             INT64_MAX - 1,
                             INT64_MAX };
    const int64_t times[] = {
        EVENT_MIN_TIME_MS, -1, 0, 1709251199999LL, 1795356000123LL,
        253402300799999LL
    };
    event_t ev = { "", 1, 1, 1, 0 };
    event_t out;
    size_t i;

    (void)state;
    assert_int_equal(event_decode_canonical(example, strlen(example), &out), 0);
    assert_int_equal(out.requested_at_ms, 1795356000123LL);
    for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        ulid_generate(ev.event_id);
        ev.coupon_id = ints[i];
        ev.user_id = ints[(i + 3) % (sizeof(ints) / sizeof(ints[0]))];
        ev.seq = ints[(i + 7) % (sizeof(ints) / sizeof(ints[0]))];
        ev.requested_at_ms = times[i % (sizeof(times) / sizeof(times[0]))];
        expect_fast(&ev);
    }
    /* ULID edge values: the largest (7ZZ...) and all zeros. */
    strcpy(ev.event_id, "7ZZZZZZZZZZZZZZZZZZZZZZZZZ");
    expect_fast(&ev);
    strcpy(ev.event_id, "00000000000000000000000000");
    expect_fast(&ev);
}

typedef struct near_case {
    const char *json;
    size_t len;            /* 0: strlen(json) */
    event_reason_t reason; /* what jansson alone says */
} near_case_t;

#define CANON_HEAD T "," V "," E
#define NUL_ID     "\"event_id\":\"01JDBX7K3M4N5P6Q7\0R8S9T0V1W\""
#define NUL_TS     "\"requested_at\":\"2026-11-22T14:00\0:00.123Z\""

static const near_case_t near_cases[] = {
    { "{ " T "," V "," E "," C "," U "," S "," R "}", 0, EVENT_OK },
    { OBJ(T ", " V "," E "," C "," U "," S "," R), 0, EVENT_OK },
    { OBJ("\"type\": \"coupon.issue.requested\"," V "," E "," C "," U "," S
          "," R),
      0, EVENT_OK },
    { " " OBJ(CANON_HEAD "," C "," U "," S "," R), 0, EVENT_OK },
    { OBJ(CANON_HEAD "," C "," U "," S "," R) "\n", 0, EVENT_OK },
    { OBJ(V "," T "," E "," C "," U "," S "," R), 0, EVENT_OK },
    { OBJ(CANON_HEAD "," U "," C "," S "," R), 0, EVENT_OK },
    { OBJ(CANON_HEAD "," C "," U "," R "," S), 0, EVENT_OK },
    { OBJ("\"type\":\"coupon.issue.requeste\\u0064\"," V "," E "," C "," U "," S
          "," R),
      0, EVENT_OK }, /* escapes are JSON, just not canonical */
    { OBJ(T "," V ",\"event_id\":\"\\u00301JDBX7K3M4N5P6Q7R8S9T0V1W\"," C "," U
            "," S "," R),
      0, EVENT_OK },
    { OBJ(CANON_HEAD ",\"coupon_id\":042," U "," S "," R), 0, EVENT_ERR_JSON },
    { OBJ(CANON_HEAD ",\"coupon_id\":00," U "," S "," R), 0, EVENT_ERR_JSON },
    { OBJ(CANON_HEAD ",\"coupon_id\":+42," U "," S "," R), 0, EVENT_ERR_JSON },
    { OBJ(CANON_HEAD ",\"coupon_id\":-42," U "," S "," R), 0, EVENT_ERR_FIELD },
    { OBJ(CANON_HEAD ",\"coupon_id\":-0," U "," S "," R), 0, EVENT_ERR_FIELD },
    { OBJ(CANON_HEAD ",\"coupon_id\":42.0," U "," S "," R), 0,
      EVENT_ERR_FIELD },
    { OBJ(CANON_HEAD ",\"coupon_id\":42e0," U "," S "," R), 0,
      EVENT_ERR_FIELD },
    { OBJ(CANON_HEAD "," C ",\"user_id\":9223372036854775808," S "," R), 0,
      EVENT_ERR_JSON },
    { OBJ(CANON_HEAD "," C ",\"user_id\":9223372036854775810," S "," R), 0,
      EVENT_ERR_JSON },
    { OBJ(CANON_HEAD "," C ",\"user_id\":18446744073709551616," S "," R), 0,
      EVENT_ERR_JSON },
    { OBJ(CANON_HEAD "," C ",\"user_id\":99999999999999999999999," S "," R), 0,
      EVENT_ERR_JSON },
    { OBJ(CANON_HEAD "," C ",\"user_id\":-9223372036854775809," S "," R), 0,
      EVENT_ERR_JSON },
    { OBJ(CANON_HEAD "," C "," U ",\"seq\":0," R), 0, EVENT_ERR_FIELD },
    { OBJ(CANON_HEAD "," C "," U ",\"seq\":\"17\"," R), 0, EVENT_ERR_FIELD },
    { OBJ(T ",\"v\":01," E "," C "," U "," S "," R), 0, EVENT_ERR_JSON },
    { OBJ(T ",\"v\":1.0," E "," C "," U "," S "," R), 0, EVENT_ERR_VERSION },
    { OBJ(T ",\"v\":10," E "," C "," U "," S "," R), 0, EVENT_ERR_VERSION },
    { "{" CANON_HEAD "," C "," U "," S "," R, 0, EVENT_ERR_JSON },
    { OBJ(CANON_HEAD "," C "," U "," S "," R) "x", 0, EVENT_ERR_JSON },
    { OBJ(CANON_HEAD "," C "," U "," S "," R) "}", 0, EVENT_ERR_JSON },
    { OBJ(CANON_HEAD "," C "," U "," S "," R) "{}", 0, EVENT_ERR_JSON },
    { "{" CANON_HEAD "," C "," U "," S "," R "," S "}", 0, EVENT_ERR_JSON },
    { OBJ(CANON_HEAD "," C "," U "," S "," R ",\"x\":1"), 0, EVENT_ERR_EXTRA },
    { OBJ(T "," V "," NUL_ID "," C "," U "," S "," R),
      sizeof(OBJ(T "," V "," NUL_ID "," C "," U "," S "," R)) - 1,
      EVENT_ERR_JSON },
    { OBJ(CANON_HEAD "," C "," U "," S "," NUL_TS),
      sizeof(OBJ(CANON_HEAD "," C "," U "," S "," NUL_TS)) - 1,
      EVENT_ERR_JSON },
    { OBJ(CANON_HEAD "," C "," U "," S "," R) "\0",
      sizeof(OBJ(CANON_HEAD "," C "," U "," S "," R) "\0") - 1,
      EVENT_ERR_JSON },
    { OBJ(T "," V ",\"event_id\":\"01jdbx7k3m4n5p6q7r8s9t0v1w\"," C "," U "," S
            "," R),
      0, EVENT_ERR_FIELD },
    { OBJ(T "," V ",\"event_id\":\"81JDBX7K3M4N5P6Q7R8S9T0V1W\"," C "," U "," S
            "," R),
      0, EVENT_ERR_FIELD },
    { OBJ(T "," V ",\"event_id\":\"01JDBX7K3M4N5P6Q7R8S9T0V1WX\"," C "," U "," S
            "," R),
      0, EVENT_ERR_FIELD },
    { OBJ(CANON_HEAD "," C "," U "," S
                     ",\"requested_at\":\"2025-02-29T00:00:00.000Z\""),
      0, EVENT_ERR_FIELD },
    { OBJ(CANON_HEAD "," C "," U "," S
                     ",\"requested_at\":\"2026-11-22T24:00:00.000Z\""),
      0, EVENT_ERR_FIELD },
    { OBJ(CANON_HEAD "," C "," U "," S
                     ",\"requested_at\":\"2026-11-22T14:00:00.1234\""),
      0, EVENT_ERR_FIELD },
    { "\xef\xbb\xbf" OBJ(CANON_HEAD "," C "," U "," S "," R), 0,
      EVENT_ERR_JSON }, /* a UTF-8 BOM */
};

static void test_near_canonical_falls_back(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(near_cases) / sizeof(near_cases[0]); i++) {
        const near_case_t *nc = &near_cases[i];
        size_t len = nc->len ? nc->len : strlen(nc->json);
        event_t ev;
        event_reason_t r;

        if (event_decode_canonical(nc->json, len, &ev) == 0)
            fail_msg("case %zu: fast path accepted %.*s", i, (int)len,
                     nc->json);
        r = same_as_slow(nc->json, len);
        if (r != nc->reason)
            fail_msg("case %zu %.*s: got %s, want %s", i, (int)len, nc->json,
                     event_reason_name(r), event_reason_name(nc->reason));
    }
}

/* Kafka payloads are length-delimited: bytes past len are not the event,
 * and a canonical event inside them still takes the fast path. */
static void test_fast_path_respects_len(void **state)
{
    char buf[EVENT_MAX_LEN + 8];
    size_t len = strlen(example), i;
    event_t ev;

    (void)state;
    memcpy(buf, example, len); /* NOLINT(bugprone-not-null-terminated-result) */
    memcpy(buf + len, "}garbage",
           8); /* NOLINT(bugprone-not-null-terminated-result) */
    assert_int_equal(event_decode_canonical(buf, len, &ev), 0);
    assert_int_equal(same_as_slow(buf, len), EVENT_OK);
    assert_int_equal(same_as_slow(buf, len + 1), EVENT_ERR_JSON);
    /* Every proper prefix is refused by both paths alike. */
    for (i = 0; i < len; i++) {
        assert_int_equal(event_decode_canonical(buf, i, &ev), -1);
        assert_int_not_equal(same_as_slow(buf, i), EVENT_OK);
    }
    assert_int_equal(event_decode_canonical(NULL, 0, &ev), -1);
    assert_int_equal(same_as_slow(NULL, 0), EVENT_ERR_JSON);
}

/* Every single-byte change of the canonical example, for bytes that matter
 * to either parser, decodes exactly as jansson alone decodes it. */
static void test_one_byte_mutations(void **state)
{
    static const char subst[] = " \t\n0159+-.eE\"\\,:{}[]xZTU\x7f\x80\xff";
    char buf[sizeof(example)];
    size_t len = strlen(example), i, j;
    int fast = 0;
    event_t ev;

    (void)state;
    for (i = 0; i < len; i++) {
        for (j = 0; j <= sizeof(subst) - 1; j++) { /* the last is a NUL */
            memcpy(buf, example, sizeof(example));
            buf[i] = subst[j];
            fast += event_decode_canonical(buf, len, &ev) == 0;
            (void)same_as_slow(buf, len);
        }
    }
    /* Some mutations are still canonical (a digit for a digit). */
    assert_true(fast > 0);
}

static void test_reason_names(void **state)
{
    (void)state;
    assert_string_equal(event_reason_name(EVENT_OK), "ok");
    assert_string_equal(event_reason_name(EVENT_ERR_JSON), "bad_json");
    assert_string_equal(event_reason_name(EVENT_ERR_TYPE), "wrong_type");
    assert_string_equal(event_reason_name(EVENT_ERR_VERSION), "wrong_version");
    assert_string_equal(event_reason_name(EVENT_ERR_MISSING), "missing_field");
    assert_string_equal(event_reason_name(EVENT_ERR_FIELD), "bad_field");
    assert_string_equal(event_reason_name(EVENT_ERR_EXTRA), "unknown_field");
    assert_string_equal(event_reason_name(EVENT_ERR_TOO_BIG), "too_big");
}

UNIT_TESTS(cmocka_unit_test(test_decode_example),
           cmocka_unit_test(test_encode_example_exact),
           cmocka_unit_test(test_round_trip),
           cmocka_unit_test(test_encode_rejects_invalid),
           cmocka_unit_test(test_encode_extremes_exact),
           cmocka_unit_test(test_time_format_parse),
           cmocka_unit_test(test_time_format_bounds),
           cmocka_unit_test(test_malformed_table),
           cmocka_unit_test(test_error_message_text),
           cmocka_unit_test(test_int64_overflow_is_bad_json),
           cmocka_unit_test(test_too_big_not_parsed),
           cmocka_unit_test(test_not_nul_terminated),
           cmocka_unit_test(test_fast_path_canonical),
           cmocka_unit_test(test_near_canonical_falls_back),
           cmocka_unit_test(test_fast_path_respects_len),
           cmocka_unit_test(test_one_byte_mutations),
           cmocka_unit_test(test_reason_names))
