/* test_api_auth.c -- api/auth: the three modes, the bearer header rules,
 * the trusted peers and header of gateway mode, the verified-token cache
 * (hits, the clock re-checked on a hit, forgotten on reload, bounded) and
 * the SIGHUP reload that keeps the old keys when the new file is bad. Keys
 * and tokens are made here (auth_fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "unit.h"

#include "auth.h"

#include "auth_fixture.h"

static auth_opts_t opts_jwt(const fixture_t *f, uint32_t cache)
{
    auth_opts_t o;

    memset(&o, 0, sizeof(o));
    o.mode = AUTH_JWT;
    o.keys_path = f->path;
    o.policy.issuer = o.policy.audience = "couponq";
    o.policy.leeway_s = 30;
    o.policy.max_lifetime_s = 3600;
    o.cache_entries = cache;
    return o;
}

static auth_t *jwt_auth(const fixture_t *f, uint32_t cache)
{
    auth_opts_t o = opts_jwt(f, cache);
    char err[256] = "";
    auth_t *a = auth_new(&o, err, sizeof(err));

    if (a == NULL)
        fail_msg("auth_new: %s", err);
    return a;
}

/* auth_check of one Authorization value from 192.0.2.1 at FIX_NOW + dt. */
static int check(auth_t *a, const char *hdr, size_t len, long long dt,
                 auth_result_t *r)
{
    struct sockaddr_storage ip = fix_addr("192.0.2.1");
    http_request_t req = fix_req(&ip, hdr, len);

    return auth_check(a, &req, FIX_NOW + dt, r);
}

static void refused(auth_t *a, const char *hdr, const char *why, int sent)
{
    auth_result_t r;

    assert_int_equal(check(a, hdr, strlen(hdr), 0, &r), -1);
    assert_string_equal(r.why, why);
    assert_int_equal(r.token_sent, sent);
}

static void test_modes(void **state)
{
    auth_opts_t o;
    char err[256];
    auth_t *a;
    fixture_t *f = fix_new(0);

    (void)state;
    assert_non_null(f);
    assert_int_equal(auth_mode_parse("jwt"), AUTH_JWT);
    assert_int_equal(auth_mode_parse("gateway"), AUTH_GATEWAY);
    assert_int_equal(auth_mode_parse("off"), AUTH_OFF);
    assert_int_equal(auth_mode_parse("JWT"), -1);
    assert_int_equal(auth_mode_parse(""), -1);
    memset(&o, 0, sizeof(o));
    assert_non_null(a = auth_new(&o, err, sizeof(err))); /* off */
    assert_int_equal(auth_mode(a), AUTH_OFF);
    assert_int_equal(auth_keys(a), 0);
    assert_int_equal(auth_reload(a, err, sizeof(err)), 0); /* nothing to do */
    auth_free(a);
    o = opts_jwt(f, 0);
    o.keys_path = NULL;
    assert_null(auth_new(&o, err, sizeof(err)));
    assert_string_equal(err, "--jwt-keys: required with --auth jwt");
    o.keys_path = "/nonexistent/jwks.json";
    assert_null(auth_new(&o, err, sizeof(err)));
    assert_string_equal(err, "--jwt-keys: /nonexistent/jwks.json: cannot open");
    a = jwt_auth(f, 0);
    assert_int_equal(auth_mode(a), AUTH_JWT);
    assert_int_equal(auth_keys(a), 1);
    auth_free(a);
    auth_free(NULL);
    fix_free(f);
}

static void test_bearer(void **state)
{
    fixture_t *f = fix_new(0);
    auth_t *a = jwt_auth(f, 0);
    char hdr[2048], tok[JWT_MAX_LEN + 64];
    uint8_t h[JOSE_SHA256_LEN];
    auth_result_t r;
    char hex[13];
    int n;

    (void)state;
    n = fix_hs(f, "1001", "", hdr, sizeof(hdr));
    assert_int_equal(check(a, hdr, (size_t)n, 0, &r), 0);
    assert_int_equal(r.user_id, 1001);
    assert_int_equal(r.service, 0);
    assert_string_equal(r.sub, "1001");
    assert_string_equal(r.kid, "hs1");
    /* the scheme is case-insensitive; blanks after it are skipped */
    n = fix_hs(f, "1001", "", tok, sizeof(tok));
    snprintf(hdr, sizeof(hdr), "bEaReR \t %s", tok + 7);
    assert_int_equal(check(a, hdr, strlen(hdr), 0, &r), 0);
    /* a service token acts for nobody until the body names a user */
    n = fix_hs(f, "orders", ",\"scope\":\"couponq:service\"", hdr, sizeof(hdr));
    assert_int_equal(check(a, hdr, (size_t)n, 0, &r), 0);
    assert_int_equal(r.service, 1);
    assert_int_equal(r.user_id, 0);
    assert_string_equal(r.sub, "orders");
    /* the clock is the caller's: 300 s + the 30 s leeway */
    n = fix_hs(f, "1001", "", hdr, sizeof(hdr));
    assert_int_equal(check(a, hdr, (size_t)n, 329, &r), 0);
    assert_int_equal(check(a, hdr, (size_t)n, 330, &r), -1);
    assert_string_equal(r.why, "expired");
    /* a refused token is named by a short hash of it, never by itself */
    hdr[n - 3] = hdr[n - 3] == 'A' ? 'B' : 'A';
    assert_int_equal(check(a, hdr, (size_t)n, 0, &r), -1);
    assert_string_equal(r.why, "bad signature");
    assert_string_equal(r.kid, "hs1");
    assert_int_equal(r.token_sent, 1);
    assert_int_equal(jose_sha256(hdr + 7, (size_t)n - 7, h), 0);
    snprintf(hex, sizeof(hex), "%02x%02x%02x%02x%02x%02x", h[0], h[1], h[2],
             h[3], h[4], h[5]);
    assert_string_equal(r.hash, hex);
    refused(a, "Basic dXNlcjpwYXNz", "expected Authorization: Bearer <token>",
            1);
    refused(a, "Bearer", "expected Authorization: Bearer <token>", 1);
    refused(a, "Bearer   ", "expected Authorization: Bearer <token>", 1);
    refused(a, "Bearerx.y.z", "expected Authorization: Bearer <token>", 1);
    refused(a, "Bearer a.b", "malformed token: expected 3 segments", 1);
    memset(tok, 'A', sizeof(tok));
    memcpy(tok, "Bearer ", 7);
    tok[7 + JWT_MAX_LEN + 1] = '\0';
    refused(a, tok, "token too large", 1);
    auth_free(a);
    fix_free(f);
}

/* Header counts and sizes come from the parser: refused before parsing. */
static void test_bearer_headers(void **state)
{
    fixture_t *f = fix_new(0);
    auth_t *a = jwt_auth(f, 0);
    struct sockaddr_storage ip = fix_addr("192.0.2.1");
    http_request_t req = fix_req(&ip, NULL, 0);
    char hdr[1024];
    auth_result_t r;
    int n = fix_hs(f, "5", "", hdr, sizeof(hdr));

    (void)state;
    assert_int_equal(auth_check(a, &req, FIX_NOW, &r), -1);
    assert_string_equal(r.why, "missing bearer token");
    assert_int_equal(r.token_sent, 0); /* no error="invalid_token" */
    assert_string_equal(r.hash, "");
    req = fix_req(&ip, hdr, (size_t)n);
    req.auth_count = 2;
    assert_int_equal(auth_check(a, &req, FIX_NOW, &r), -1);
    assert_string_equal(r.why, "more than one Authorization header");
    assert_int_equal(r.token_sent, 1);
    req.auth_count = 1;
    req.auth_too_long = 1;
    assert_int_equal(auth_check(a, &req, FIX_NOW, &r), -1);
    assert_string_equal(r.why, "token too large");
    req.auth_too_long = 0;
    assert_int_equal(auth_check(a, &req, FIX_NOW, &r), 0);
    assert_int_equal(r.user_id, 5);
    auth_free(a);
    fix_free(f);
}

static auth_t *gateway(const char *peers, const char *err_want)
{
    auth_opts_t o;
    char err[256] = "";
    auth_t *a;

    memset(&o, 0, sizeof(o));
    o.mode = AUTH_GATEWAY;
    o.trusted_header = "X-Couponq-User";
    o.trusted_peers = peers;
    a = auth_new(&o, err, sizeof(err));
    if (err_want != NULL) {
        assert_null(a);
        assert_non_null(strstr(err, err_want));
    } else if (a == NULL)
        fail_msg("auth_new: %s", err);
    return a;
}

/* A gateway request from peer with the user header value v (NULL: none). */
static int gw(auth_t *a, const char *peer, const char *v, auth_result_t *r)
{
    struct sockaddr_storage ip = fix_addr(peer ? peer : "0.0.0.0");
    http_request_t req = fix_req(peer ? &ip : NULL, NULL, 0);

    if (v != NULL) {
        req.user_hdr = v;
        req.user_hdr_len = strlen(v);
        req.user_hdr_count = 1;
    }
    return auth_check(a, &req, FIX_NOW, r);
}

static void test_gateway(void **state)
{
    auth_t *a = gateway("10.0.0.0/8,2001:db8::/32", NULL);
    auth_result_t r;

    (void)state;
    assert_int_equal(gw(a, "10.1.2.3", "42", &r), 0);
    assert_int_equal(r.user_id, 42);
    assert_string_equal(r.sub, "42");
    assert_int_equal(gw(a, "2001:db8:1::7", "43", &r), 0);
    assert_int_equal(gw(a, "::ffff:10.9.9.9", "44", &r), 0); /* mapped v4 */
    assert_int_equal(gw(a, NULL, "45", &r), 0); /* a unix socket: trusted */
    assert_int_equal(r.user_id, 45);
    assert_int_equal(gw(a, "192.0.2.1", "42", &r), -1);
    assert_string_equal(r.why, "trusted header from an untrusted peer");
    assert_int_equal(r.token_sent, 1);
    assert_int_equal(gw(a, "2001:db9::1", "42", &r), -1);
    assert_string_equal(r.why, "trusted header from an untrusted peer");
    assert_int_equal(gw(a, "192.0.2.1", NULL, &r), -1);
    assert_string_equal(r.why, "untrusted peer");
    assert_int_equal(r.token_sent, 0);
    assert_int_equal(gw(a, "10.0.0.1", NULL, &r), -1);
    assert_string_equal(r.why, "missing trusted user header");
    assert_int_equal(gw(a, "10.0.0.1", "0", &r), -1);
    assert_string_equal(r.why, "trusted header: not one user id");
    assert_int_equal(gw(a, "10.0.0.1", "01", &r), -1);
    assert_int_equal(gw(a, "10.0.0.1", "1 2", &r), -1);
    assert_int_equal(gw(a, "10.0.0.1", "9223372036854775808", &r), -1);
    assert_int_equal(gw(a, "10.0.0.1", "9223372036854775807", &r), 0);
    auth_free(a);
    /* no peers: only a unix socket is trusted */
    a = gateway("", NULL);
    assert_int_equal(gw(a, "127.0.0.1", "42", &r), -1);
    assert_string_equal(r.why, "trusted header from an untrusted peer");
    assert_int_equal(gw(a, NULL, "42", &r), 0);
    auth_free(a);
    gateway("10.0.0.0/8,10.0.0.0/33", "--trusted-peers: \"10.0.0.0/33\"");
}

static void test_gateway_header_rules(void **state)
{
    auth_t *a = gateway("10.0.0.0/8", NULL);
    struct sockaddr_storage ip = fix_addr("10.0.0.2");
    http_request_t req = fix_req(&ip, NULL, 0);
    auth_result_t r;

    (void)state;
    req.user_hdr = "42";
    req.user_hdr_len = 2;
    req.user_hdr_count = 2;
    assert_int_equal(auth_check(a, &req, FIX_NOW, &r), -1);
    assert_string_equal(r.why, "trusted header: not one user id");
    req.user_hdr_count = 1;
    req.user_hdr_too_long = 1;
    assert_int_equal(auth_check(a, &req, FIX_NOW, &r), -1);
    req.user_hdr_too_long = 0;
    /* a bearer token is not a way in for the gateway mode */
    req.user_hdr_count = 0;
    req.auth = "Bearer x.y.z";
    req.auth_len = 12;
    req.auth_count = 1;
    assert_int_equal(auth_check(a, &req, FIX_NOW, &r), -1);
    assert_string_equal(r.why, "missing trusted user header");
    auth_free(a);
}

static void test_cache(void **state)
{
    fixture_t *f = fix_new(1);
    auth_t *a;
    char hdr[1024], hs[1024], was;
    auth_result_t r;
    int n, m;

    (void)state;
    assert_non_null(f);
    a = jwt_auth(f, 64);
    n = fix_es(f, "77", 300, hdr, sizeof(hdr));
    assert_true(n > 0);
    assert_int_equal(check(a, hdr, (size_t)n, 0, &r), 0);
    assert_int_equal(r.user_id, 77);
    assert_int_equal(auth_cache_hits(a), 0);
    assert_int_equal(check(a, hdr, (size_t)n, 0, &r), 0);
    assert_int_equal(auth_cache_hits(a), 1);
    assert_int_equal(r.user_id, 77);
    assert_string_equal(r.kid, "es1");
    assert_string_equal(r.sub, "77");
    /* a hit still honours exp */
    assert_int_equal(check(a, hdr, (size_t)n, 330, &r), -1);
    assert_string_equal(r.why, "expired");
    assert_int_equal(auth_cache_hits(a), 1);
    /* one changed byte is another token: verified, and refused */
    was = hdr[n - 2];
    hdr[n - 2] = was == 'A' ? 'B' : 'A';
    assert_int_equal(check(a, hdr, (size_t)n, 0, &r), -1);
    assert_string_equal(r.why, "bad signature");
    hdr[n - 2] = was;
    /* HS256 tokens are never cached, even in a set with ES256 keys */
    m = fix_hs(f, "78", "", hs, sizeof(hs));
    assert_int_equal(check(a, hs, (size_t)m, 0, &r), 0);
    assert_int_equal(check(a, hs, (size_t)m, 0, &r), 0);
    assert_int_equal(auth_cache_hits(a), 1);
    /* a reload forgets: the next check verifies again, then hits */
    assert_int_equal(auth_reload(a, r.why, sizeof(r.why)), 0);
    assert_int_equal(check(a, hdr, (size_t)n, 0, &r), 0);
    assert_int_equal(auth_cache_hits(a), 1);
    assert_int_equal(check(a, hdr, (size_t)n, 0, &r), 0);
    assert_int_equal(auth_cache_hits(a), 2);
    /* a key removed by a reload revokes its cached tokens at once */
    assert_int_equal(fix_write(f, f->path, 0x5a, 0), 0);
    assert_int_equal(auth_reload(a, r.why, sizeof(r.why)), 0);
    assert_int_equal(check(a, hdr, (size_t)n, 0, &r), -1);
    assert_string_equal(r.why, "unknown kid");
    auth_free(a);
    /* --jwt-cache 0: never a hit */
    assert_int_equal(fix_write(f, f->path, 0x5a, 1), 0);
    a = jwt_auth(f, 0);
    assert_int_equal(check(a, hdr, (size_t)n, 0, &r), 0);
    assert_int_equal(check(a, hdr, (size_t)n, 0, &r), 0);
    assert_int_equal(auth_cache_hits(a), 0);
    auth_free(a);
    fix_free(f);
}

/* 40 tokens through a table of 4 entries: evictions never give one
 * token's user to another, and memory stays what it was sized to. */
static void test_cache_bounded(void **state)
{
    fixture_t *f = fix_new(1);
    auth_t *a = jwt_auth(f, 4);
    static char hdr[40][512];
    int len[40], i, pass;
    char sub[16];
    auth_result_t r;

    (void)state;
    for (i = 0; i < 40; i++) {
        snprintf(sub, sizeof(sub), "%d", 100 + i);
        assert_true((len[i] = fix_es(f, sub, 300, hdr[i], 512)) > 0);
    }
    for (pass = 0; pass < 3; pass++)
        for (i = 0; i < 40; i++) {
            assert_int_equal(check(a, hdr[i], (size_t)len[i], 0, &r), 0);
            assert_int_equal(r.user_id, 100 + i);
        }
    assert_true(auth_cache_hits(a) < 3 * 40 - 40); /* most were evicted */
    auth_free(a);
    fix_free(f);
}

/* SIGHUP: a bad file keeps the old keys; a good one replaces them. */
static void test_reload(void **state)
{
    fixture_t *f = fix_new(0);
    auth_t *a = jwt_auth(f, 16);
    char hdr[1024], err[256], other[1024];
    auth_result_t r;
    FILE *o;
    int n, m;

    (void)state;
    n = fix_hs(f, "9", "", hdr, sizeof(hdr));
    assert_int_equal(check(a, hdr, (size_t)n, 0, &r), 0);
    o = fopen(f->path, "w");
    assert_non_null(o);
    fputs("{\"keys\": [", o); /* truncated, as a half-written file is */
    fclose(o);
    assert_int_equal(auth_reload(a, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "--jwt-keys: "));
    assert_non_null(strstr(err, f->path));
    assert_non_null(strstr(err, "invalid JSON"));
    assert_int_equal(auth_keys(a), 1);
    assert_int_equal(check(a, hdr, (size_t)n, 0, &r), 0); /* old key */
    assert_int_equal(unlink(f->path), 0);
    assert_int_equal(auth_reload(a, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "cannot open"));
    assert_int_equal(check(a, hdr, (size_t)n, 0, &r), 0);
    /* a valid file with another secret for hs1: old tokens stop working */
    assert_int_equal(fix_write(f, f->path, 0x33, 0), 0);
    assert_int_equal(auth_reload(a, err, sizeof(err)), 0);
    assert_int_equal(check(a, hdr, (size_t)n, 0, &r), -1);
    assert_string_equal(r.why, "bad signature");
    m = fix_hs(f, "9", "", other, sizeof(other));
    assert_int_equal(check(a, other, (size_t)m, 0, &r), 0);
    auth_free(a);
    fix_free(f);
}

UNIT_TESTS(cmocka_unit_test(test_modes), cmocka_unit_test(test_bearer),
           cmocka_unit_test(test_bearer_headers),
           cmocka_unit_test(test_gateway),
           cmocka_unit_test(test_gateway_header_rules),
           cmocka_unit_test(test_cache), cmocka_unit_test(test_cache_bounded),
           cmocka_unit_test(test_reload))
