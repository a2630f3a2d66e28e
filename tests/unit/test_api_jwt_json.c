/* test_api_jwt_json.c -- api/jwt_json, the fast path for token JSON: on
 * chosen cases and on 200,000 mutations of token-like objects, whenever it
 * answers 0, jansson (json_loadb with JSON_REJECT_DUPLICATES, api/jwt.c's
 * full parser) must accept the same text with exactly the same members and
 * values. Both answers must occur often, so both paths are exercised. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "unit.h"
#include <jansson.h>

#include "jwt_json.h"

/* A message naming the first difference between m and jansson's v, or
 * NULL when they agree. */
static const char *differs(const jwt_json_member_t *m, json_t *v)
{
    size_t i, n = 0;
    json_t *e;

    if (v == NULL)
        return "member missing in jansson";
    switch (m->type) {
    case JJ_STRING:
        if (!json_is_string(v) || json_string_length(v) != m->vlen ||
            memcmp(json_string_value(v), m->v, m->vlen) != 0)
            return "string differs";
        return NULL;
    case JJ_INT:
        if (!json_is_integer(v) || json_integer_value(v) != m->i)
            return "integer differs";
        return NULL;
    case JJ_LITERAL:
        if ((m->vlen == 4 && m->v[0] == 't' && !json_is_true(v)) ||
            (m->vlen == 5 && !json_is_false(v)) ||
            (m->vlen == 4 && m->v[0] == 'n' && !json_is_null(v)))
            return "literal differs";
        return NULL;
    case JJ_STRINGS:
        if (!json_is_array(v))
            return "not an array in jansson";
        json_array_foreach(v, i, e)
        {
            if (!json_is_string(e) ||
                !jwt_json_strings_has(m, json_string_value(e)))
                return "array element differs";
        }
        for (i = 0; i < m->vlen; i++)
            n += m->v[i] == '"';
        if (n != 2 * json_array_size(v))
            return "array length differs";
        return NULL;
    }
    return "unknown type";
}

/* -1: the fast path gave up; 0: handled, and jansson agrees (else the
 * test fails, naming the text). */
static int compare(const char *s, size_t len)
{
    jwt_json_t o;
    json_t *j;
    const char *why = NULL;
    char key[256];
    size_t k;

    if (jwt_json_scan(s, len, &o) != 0)
        return -1;
    j = json_loadb(s, len, JSON_REJECT_DUPLICATES, NULL);
    if (j == NULL || !json_is_object(j))
        why = "jansson refuses what the fast path took";
    else if (json_object_size(j) != o.n)
        why = "member count differs";
    for (k = 0; why == NULL && k < o.n; k++) {
        assert_true(o.m[k].klen < sizeof(key));
        memcpy(key, o.m[k].key, o.m[k].klen);
        key[o.m[k].klen] = '\0';
        why = differs(&o.m[k], json_object_get(j, key));
        if (why == NULL && jwt_json_get(&o, key, o.m[k].klen) != &o.m[k])
            why = "jwt_json_get finds another member";
    }
    json_decref(j);
    if (why != NULL)
        fail_msg("%s: %.*s", why, (int)len, s);
    return 0;
}

static void handled(const char *s)
{
    if (compare(s, strlen(s)) != 0)
        fail_msg("fast path gave up on: %s", s);
}

static void given_up(const char *s)
{
    jwt_json_t o;

    if (jwt_json_scan(s, strlen(s), &o) == 0)
        fail_msg("fast path took: %s", s);
}

static void test_chosen(void **state)
{
    jwt_json_t o;
    char many[512];
    size_t i, n = 0;

    (void)state;
    handled("{}");
    handled(" \t\r\n{ } \n");
    handled("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"hs1\"}");
    handled("{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}"); /* RFC 7515 A.1 */
    handled("{\"exp\":1900000300,\"n\":-0,\"z\":0,\"m\":-17}");
    handled("{\"e\":999999999999999999,\"f\":-999999999999999999}");
    handled("{\"aud\":[ \"a\" , \"couponq\" ],\"x\":[],\"y\":[ ]}");
    handled("{\"http://example.com/is_root\":true,\"b\":false,\"c\":null}");
    handled("{\"s\":\" !#$%&'()*+,-./:;<=>?@[]^_`{|}~\"}");
    given_up("");
    given_up("[1]");
    given_up("\"x\"");
    given_up("{\"a\":01}");
    given_up("{\"a\":1.5}");
    given_up("{\"a\":1e3}");
    given_up("{\"a\":1234567890123456789}"); /* 19 digits */
    given_up("{\"a\":-}");
    given_up("{\"a\":1,\"a\":2}");
    given_up("{\"a\":\"\\u0041\"}");
    given_up("{\"a\":\"x\x7f\"}");
    given_up("{\"a\":\"caf\xc3\xa9\"}");
    given_up("{\"a\":\"tab\there\"}");
    given_up("{\"a\":{}}");
    given_up("{\"a\":[1]}");
    given_up("{\"a\":[\"x\",]}");
    given_up("{\"a\":tru}");
    given_up("{\"a\":truex}");
    given_up("{\"a\":true}x");
    given_up("{\"a\":1,}");
    given_up("{,}");
    given_up("{\"a\"}");
    given_up("{\"a\":}");
    given_up("{\"a\" 1}");
    given_up("{\"a\":1");
    given_up("{\"a\":1}}");
    given_up("\xef\xbb\xbf{}");      /* a BOM */
    given_up("{\"a\":1,\f\"b\":2}"); /* JSON's blanks are four */
    given_up("{\"a\":1\v}");
    /* JWT_JSON_MAX members are taken, one more is not */
    n = (size_t)snprintf(many, sizeof(many), "{");
    for (i = 0; i < JWT_JSON_MAX; i++)
        n += (size_t)snprintf(many + n, sizeof(many) - n, "%s\"k%zu\":%zu",
                              i ? "," : "", i, i);
    snprintf(many + n, sizeof(many) - n, "}");
    handled(many);
    snprintf(many + n, sizeof(many) - n, ",\"last\":1}");
    given_up(many);
    assert_int_equal(jwt_json_scan("{\"a\":[\"b\",\"cd\"]}", 16, &o), 0);
    assert_true(jwt_json_strings_has(&o.m[0], "cd"));
    assert_false(jwt_json_strings_has(&o.m[0], "c"));
    assert_false(jwt_json_strings_has(&o.m[0], "b\",\"cd"));
    assert_null(jwt_json_get(&o, "b", 1));
}

/* xorshift64*: the same mutations on every run. */
static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint32_t rnd(uint32_t n)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (uint32_t)((rng * 0x2545f4914f6cdd1dULL) >> 33) % n;
}

static const char *const seeds[] = {
    "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"hs1\"}",
    "{\"iss\":\"couponq\",\"aud\":\"couponq\",\"sub\":\"1001\",\"iat\":"
    "1900000000,\"exp\":1900000300}",
    "{\"iss\":\"couponq\",\"aud\":[\"x\",\"couponq\"],\"sub\":\"svc\","
    "\"exp\":-5,\"scope\":\"read couponq:service\",\"n\":null,\"t\":true}",
    "{ \"a\" : [ ] , \"b\" : false , \"c\" : 0 }",
    "{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}",
};

/* Bytes that change JSON's structure or the fast path's decisions. */
static const char alphabet[] = "\"\\{}[],: \t\n\r\f\v0123456789-.eEtrufalsn"
                               "\x7f\x80\xc3\x01u";

static size_t mutate(char *buf, size_t len, size_t cap)
{
    uint32_t op = rnd(4), at = len ? rnd((uint32_t)len) : 0, span;
    char c = alphabet[rnd(sizeof(alphabet) - 1)];

    if (op == 0 && len > 0) { /* replace */
        buf[at] = c;
    } else if (op == 1 && len + 1 < cap) { /* insert */
        memmove(buf + at + 1, buf + at, len - at);
        buf[at] = c;
        len++;
    } else if (op == 2 && len > 0) { /* delete */
        memmove(buf + at, buf + at + 1, len - at - 1);
        len--;
    } else if (len > 0) { /* copy a span onto its end: duplicates */
        span = 1 + rnd((uint32_t)(len - at < 24 ? len - at : 24));
        if (len + span < cap) {
            memmove(buf + at + span, buf + at, len - at);
            len += span;
        }
    }
    return len;
}

static void test_differential(void **state)
{
    char buf[512];
    size_t len, took = 0, gave_up = 0;
    int i, k, ops;

    (void)state;
    for (i = 0; i < 200000; i++) {
        const char *s = seeds[rnd(sizeof(seeds) / sizeof(seeds[0]))];

        len = strlen(s);
        memcpy(buf, s, len);
        ops = 1 + (int)rnd(3);
        for (k = 0; k < ops; k++)
            len = mutate(buf, len, sizeof(buf));
        if (compare(buf, len) == 0)
            took++;
        else
            gave_up++;
    }
    print_message("took %zu, gave up %zu\n", took, gave_up);
    /* both paths happen: the mutations are not all fatal, nor all benign */
    if (took < 10000 || gave_up < 10000)
        fail_msg("took %zu, gave up %zu", took, gave_up);
}

UNIT_TESTS(cmocka_unit_test(test_chosen), cmocka_unit_test(test_differential))
