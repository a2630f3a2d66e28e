/* test_api_jwt.c -- api/jwks + api/jwt (+ common/jose): RFC 7515 examples
 * A.1 (HS256) and A.3 (ES256), the openssl-signed vectors of
 * jwt_vectors.h (each with its expected answer), JWKS refusals, strict
 * base64url and HS256 minting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "unit.h"

#include "jose.h"
#include "jwks.h"
#include "jwt.h"

#include "jwt_vectors.h"

static const jwt_policy_t policy = { "couponq", "couponq", 30, 3600 };

static jwks_t *keys_of(const char *json)
{
    char err[256] = "";
    jwks_t *k = jwks_parse(json, strlen(json), err, sizeof(err));

    if (k == NULL)
        fail_msg("jwks: %s", err);
    return k;
}

static void jwks_bad(const char *json, const char *want)
{
    char err[256] = "";

    assert_null(jwks_parse(json, strlen(json), err, sizeof(err)));
    if (strstr(err, want) == NULL)
        fail_msg("%s: got \"%s\", want \"%s\"", json, err, want);
}

/* ---- RFC 7515 appendix A ---- */

#define RFC_PAYLOAD                                                            \
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNv" \
    "bS9pc19yb290Ijp0cnVlfQ"
#define A1_TOKEN                                                               \
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9." RFC_PAYLOAD                    \
    ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define A1_KEY                                                                 \
    "{\"keys\":[{\"kty\":\"oct\",\"alg\":\"HS256\",\"k\":"                     \
    "\"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hc"  \
    "gUuTwjAzZr1Z9CAow\"}]}"
#define A3_TOKEN                                                               \
    "eyJhbGciOiJFUzI1NiJ9." RFC_PAYLOAD                                        \
    ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfK" \
    "TUJqPP3-Kg6NU1Q"
#define A3_KEY                                                                 \
    "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"alg\":\"ES256\",\"x\":"    \
    "\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\",\"y\":"                   \
    "\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}]}"
#define RFC_NOW 1300819000 /* before the examples' exp, 1300819380 */

/* The examples carry iss "joe" and no aud: with issuer "joe" the
 * signature passes and the first claim that fails is aud. A tampered
 * copy fails on the signature instead, so the path is really checked. */
static void rfc_case(const char *keys_json, const char *token)
{
    const jwt_policy_t joe = { "joe", "couponq", 30, 1000000000 };
    jwks_t *k = keys_of(keys_json);
    char why[128], bad[512];
    jwt_claims_t c;
    size_t len = strlen(token);

    assert_int_equal(
        jwt_verify(k, &joe, token, len, RFC_NOW, &c, why, sizeof(why)), -1);
    assert_string_equal(why, "wrong audience");
    /* 300 s past exp (beyond the leeway): expired, signature fine. */
    assert_int_equal(
        jwt_verify(k, &joe, token, len, 1300819380 + 300, &c, why, sizeof(why)),
        -1);
    assert_string_equal(why, "wrong audience"); /* aud is checked first */
    memcpy(bad, token, len + 1);
    bad[len - 2] = bad[len - 2] == 'A' ? 'B' : 'A';
    assert_int_equal(
        jwt_verify(k, &joe, bad, len, RFC_NOW, &c, why, sizeof(why)), -1);
    assert_string_equal(why, "bad signature");
    jwks_free(k);
}

static void test_rfc7515_a1_hs256(void **state)
{
    (void)state;
    rfc_case(A1_KEY, A1_TOKEN);
}

static void test_rfc7515_a3_es256(void **state)
{
    (void)state;
    rfc_case(A3_KEY, A3_TOKEN);
}

/* The A.1 key against the A.3 token: alg pinned by the key. */
static void test_rfc_alg_pinned(void **state)
{
    const jwt_policy_t joe = { "joe", "couponq", 30, 1000000000 };
    jwks_t *k = keys_of(A1_KEY);
    char why[128];
    jwt_claims_t c;

    (void)state;
    assert_int_equal(jwt_verify(k, &joe, A3_TOKEN, strlen(A3_TOKEN), RFC_NOW,
                                &c, why, sizeof(why)),
                     -1);
    assert_string_equal(why, "alg does not match the key");
    jwks_free(k);
}

/* ---- generated vectors ---- */

static void test_vectors(void **state)
{
    jwks_t *k = keys_of(VEC_JWKS);
    size_t i, nok = 0;
    char why[128];
    jwt_claims_t c;
    int rc;

    (void)state;
    for (i = 0; i < sizeof(VECS) / sizeof(VECS[0]); i++) {
        const struct vec *v = &VECS[i];

        why[0] = '\0';
        rc = jwt_verify(k, &policy, v->token, strlen(v->token), VEC_NOW, &c,
                        why, sizeof(why));
        if (v->why[0] == '\0') {
            if (rc != 0)
                fail_msg("%s: refused: %s", v->name, why);
            if (c.service != v->service || c.user_id != v->user)
                fail_msg("%s: service %d user %lld", v->name, c.service,
                         (long long)c.user_id);
            nok++;
        } else if (rc == 0 || strcmp(why, v->why) != 0) {
            fail_msg("%s: rc %d why \"%s\", want \"%s\"", v->name, rc, why,
                     v->why);
        }
    }
    assert_true(nok >= 5);
    assert_true(i - nok >= 60);
    jwks_free(k);
}

/* One key: a token without kid is accepted; its kid is "" in claims. */
static void test_single_key_no_kid(void **state)
{
    static const char one[] =
        "{\"keys\":[{\"kty\":\"oct\",\"alg\":\"HS256\",\"k\":"
        "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}]}";
    uint8_t key[32] = { 0 };
    char tok[512], why[128], payload[160];
    jwks_t *k = keys_of(one);
    jwt_claims_t c;
    int len;

    (void)state;
    snprintf(payload, sizeof(payload),
             "{\"iss\":\"couponq\",\"aud\":\"couponq\",\"sub\":\"7\","
             "\"exp\":%d}",
             VEC_NOW + 60);
    len = jose_mint_hs256(key, sizeof(key), NULL, payload, tok, sizeof(tok));
    assert_true(len > 0);
    assert_int_equal(
        jwt_verify(k, &policy, tok, (size_t)len, VEC_NOW, &c, why, sizeof(why)),
        0);
    assert_int_equal(c.user_id, 7);
    assert_int_equal(c.alg, JWT_ALG_HS256);
    /* minted with a kid the set does not know */
    len = jose_mint_hs256(key, sizeof(key), "k9", payload, tok, sizeof(tok));
    assert_int_equal(
        jwt_verify(k, &policy, tok, (size_t)len, VEC_NOW, &c, why, sizeof(why)),
        -1);
    assert_string_equal(why, "unknown kid");
    assert_string_equal(c.kid, "k9");
    jwks_free(k);
}

static void test_check_time(void **state)
{
    jwt_claims_t c = { .exp = VEC_NOW };
    char why[64];

    (void)state;
    assert_int_equal(jwt_check_time(&policy, &c, VEC_NOW + 29, why, 64), 0);
    assert_int_equal(jwt_check_time(&policy, &c, VEC_NOW + 30, why, 64), -1);
    assert_string_equal(why, "expired");
    c.exp = INT64_MAX;
    assert_int_equal(jwt_check_time(&policy, &c, VEC_NOW, why, 64), 0);
}

/* ---- JWKS ---- */

static void test_jwks_refusals(void **state)
{
    char json[1024];

    (void)state;
    jwks_bad("", "invalid JSON");
    jwks_bad("{\"keys\":[]}", "expected {\"keys\": [1..");
    jwks_bad("{\"keys\":{}}", "expected {\"keys\": [1..");
    jwks_bad("[1]", "expected {\"keys\"");
    jwks_bad("{\"keys\":[1]}", "keys[0]: not an object");
    jwks_bad("{\"keys\":[{\"kty\":\"oct\",\"k\":\"AAAA\"}]}",
             "keys[0]: \"alg\": required");
    jwks_bad("{\"keys\":[{\"kty\":\"oct\",\"alg\":\"none\",\"k\":\"AAAA\"}]}",
             "\"alg\": required, one of HS256, ES256, RS256");
    jwks_bad("{\"keys\":[{\"kty\":\"RSA\",\"alg\":\"HS256\",\"k\":\"AAAA\"}]}",
             "\"kty\": HS256 needs \"oct\"");
    jwks_bad("{\"keys\":[{\"kty\":\"oct\",\"alg\":\"ES256\",\"k\":\"AAAA\"}]}",
             "\"kty\": ES256 needs \"EC\"");
    jwks_bad("{\"keys\":[{\"kty\":\"oct\",\"alg\":\"HS256\",\"k\":"
             "\"AAAAAAAAAAAAAAAAAAAAAA\"}]}",
             "an HS256 key needs >= 32 bytes, got 16");
    jwks_bad("{\"keys\":[{\"kty\":\"oct\",\"alg\":\"HS256\",\"k\":\"A=\"}]}",
             "\"k\": not base64url");
    jwks_bad("{\"keys\":[{\"kty\":\"oct\",\"alg\":\"HS256\",\"use\":\"enc\","
             "\"k\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}]}",
             "\"use\": must be \"sig\"");
    jwks_bad("{\"keys\":[{\"kty\":\"oct\",\"alg\":\"HS256\",\"kid\":\"\","
             "\"k\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}]}",
             "\"kid\": 1..64 printable");
    snprintf(json, sizeof(json), "{\"keys\":[%s]}", VEC_JWK_RS1024);
    jwks_bad(json, "RS256 needs >= 2048 bits, got 1024");
    snprintf(json, sizeof(json), "{\"keys\":[%s,%s]}", VEC_JWK_ES2,
             VEC_JWK_ES2);
    jwks_bad(json, "keys[1]: duplicate kid \"es2\"");
    jwks_bad(
        "{\"keys\":[{\"kty\":\"oct\",\"alg\":\"HS256\",\"k\":"
        "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"},{\"kty\":\"oct\","
        "\"alg\":\"HS256\",\"kid\":\"b\",\"k\":"
        "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}]}",
        "keys[0]: \"kid\" required with several keys");
    jwks_bad("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-384\",\"alg\":\"ES256\","
             "\"x\":\"AA\",\"y\":\"AA\"}]}",
             "\"crv\": ES256 needs \"P-256\"");
    /* A.3's x with a wrong y: not on the curve */
    jwks_bad("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"alg\":\"ES256\","
             "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\",\"y\":"
             "\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a4\"}]}",
             "not a point on P-256");
    jwks_bad("{\"keys\":[{\"kty\":\"RSA\",\"alg\":\"RS256\",\"n\":\"AQAB\","
             "\"e\":\"AQA\"}]}",
             "\"e\": must be an odd exponent");
    jwks_bad("{\"keys\":[{\"kty\":\"oct\",\"kty\":\"oct\"}]}", "invalid JSON");
}

static void test_jwks_lookup(void **state)
{
    jwks_t *k = keys_of(VEC_JWKS);

    (void)state;
    assert_int_equal(jwks_count(k), 3);
    assert_null(jwks_only(k));
    assert_non_null(jwks_find(k, "es1", 3));
    assert_int_equal(jwks_key_alg(jwks_find(k, "rs1", 3)), JWT_ALG_RS256);
    assert_null(jwks_find(k, "es", 2));
    assert_null(jwks_find(k, "", 0));
    assert_string_equal(jwt_alg_name(JWT_ALG_ES256), "ES256");
    jwks_free(k);
    assert_null(jwks_load("/nonexistent/jwks.json", (char[64]){ 0 }, 64));
}

/* ---- base64url ---- */

static void test_b64url(void **state)
{
    uint8_t out[16];
    char enc[32];
    size_t n = 99;

    (void)state;
    assert_int_equal(
        jose_b64url_encode((const uint8_t *)"\xfb\xff", 2, enc, sizeof(enc)),
        3);
    assert_string_equal(enc, "-_8");
    assert_int_equal(jose_b64url_decode("-_8", 3, out, sizeof(out), &n), 0);
    assert_int_equal(n, 2);
    assert_memory_equal(out, "\xfb\xff", 2);
    assert_int_equal(jose_b64url_decode("", 0, out, sizeof(out), &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(jose_b64url_decode("-_9", 3, out, 16, &n), -1); /* bits */
    assert_int_equal(jose_b64url_decode("+/8", 3, out, 16, &n), -1);
    assert_int_equal(jose_b64url_decode("-_8=", 4, out, 16, &n), -1);
    assert_int_equal(jose_b64url_decode("AAAAA", 5, out, 16, &n), -1);
    assert_int_equal(jose_b64url_decode("AA A", 4, out, 16, &n), -1);
    assert_int_equal(jose_b64url_decode("AAAAAAAA", 8, out, 5, &n), -1);
    assert_int_equal(jose_b64url_encode((const uint8_t *)"abc", 3, enc, 4), -1);
    assert_int_equal(jose_b64url_len(32), 43);
}

static void test_mint_matches_rfc_hmac(void **state)
{
    /* RFC 4231 test case 2 (key "Jefe"). */
    static const uint8_t want[32] = { 0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75,
                                      0x4e, 0x6a, 0x04, 0x24, 0x26, 0x08, 0x95,
                                      0x75, 0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d,
                                      0x27, 0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9,
                                      0x64, 0xec, 0x38, 0x43 };
    static const char msg[] = "what do ya want for nothing?";
    uint8_t mac[32];

    (void)state;
    assert_int_equal(
        jose_hs256((const uint8_t *)"Jefe", 4, msg, sizeof(msg) - 1, mac), 0);
    assert_memory_equal(mac, want, 32);
}

UNIT_TESTS(cmocka_unit_test(test_rfc7515_a1_hs256),
           cmocka_unit_test(test_rfc7515_a3_es256),
           cmocka_unit_test(test_rfc_alg_pinned),
           cmocka_unit_test(test_vectors),
           cmocka_unit_test(test_single_key_no_kid),
           cmocka_unit_test(test_check_time),
           cmocka_unit_test(test_jwks_refusals),
           cmocka_unit_test(test_jwks_lookup), cmocka_unit_test(test_b64url),
           cmocka_unit_test(test_mint_matches_rfc_hmac))
