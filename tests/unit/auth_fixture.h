/* auth_fixture.h -- keys, tokens and requests made in the test itself, for
 * test_api_auth.c and test_api_gate.c: a JWKS file in a fresh directory
 * (an HS256 secret the test chooses, and optionally a P-256 key generated
 * here), tokens signed with them (HS256 by common/jose, ES256 by OpenSSL
 * directly, independent of api/jwks.c), and http_request_t values with the
 * peer and headers a test wants. Static inline functions: each test
 * includes it and uses some. */
#ifndef COUPONQ_TESTS_AUTH_FIXTURE_H
#define COUPONQ_TESTS_AUTH_FIXTURE_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "http_parser.h"
#include "jose.h"

#define FIX_NOW                                                                \
    1900000000LL /* the clock test_api_auth passes to auth_check               \
                  */

typedef struct fixture {
    char dir[64];
    char path[96];           /* DIR/jwks.json */
    uint8_t secret[32];      /* kid "hs1" */
    EVP_PKEY *ec;            /* kid "es1", when made */
    char ec_x[48], ec_y[48]; /* its public point, base64url */
    long long now;           /* tokens are minted valid at this time */
} fixture_t;

/* Writes the key set: "hs1" (secret filled with seed), plus "es1" when
 * with_ec. 0 or -1. */
static inline int fix_write(fixture_t *f, const char *path, uint8_t seed,
                            int with_ec)
{
    char k[64];
    FILE *o;

    memset(f->secret, seed, sizeof(f->secret));
    if (jose_b64url_encode(f->secret, sizeof(f->secret), k, sizeof(k)) < 0 ||
        (o = fopen(path, "w")) == NULL)
        return -1;
    fprintf(o,
            "{\"keys\":[{\"kid\":\"hs1\",\"kty\":\"oct\",\"alg\":\"HS256\","
            "\"k\":\"%s\"}",
            k);
    if (with_ec)
        fprintf(o,
                ",{\"kid\":\"es1\",\"kty\":\"EC\",\"crv\":\"P-256\","
                "\"alg\":\"ES256\",\"x\":\"%s\",\"y\":\"%s\"}",
                f->ec_x, f->ec_y);
    fprintf(o, "]}");
    return fclose(o) == 0 ? 0 : -1;
}

static inline int fix_ec_new(fixture_t *f)
{
    uint8_t pub[65];
    size_t len = 0;

    if ((f->ec = EVP_EC_gen("P-256")) == NULL ||
        EVP_PKEY_get_octet_string_param(f->ec, OSSL_PKEY_PARAM_PUB_KEY, pub,
                                        sizeof(pub), &len) != 1 ||
        len != 65 ||
        jose_b64url_encode(pub + 1, 32, f->ec_x, sizeof(f->ec_x)) < 0 ||
        jose_b64url_encode(pub + 33, 32, f->ec_y, sizeof(f->ec_y)) < 0)
        return -1;
    return 0;
}

/* A directory with jwks.json: hs1, plus es1 when with_ec. NULL on failure. */
static inline fixture_t *fix_new(int with_ec)
{
    fixture_t *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return NULL;
    f->now = FIX_NOW;
    snprintf(f->dir, sizeof(f->dir), "/tmp/couponq-authfix.XXXXXX");
    if (mkdtemp(f->dir) != NULL)
        snprintf(f->path, sizeof(f->path), "%s/jwks.json", f->dir);
    if (f->path[0] == '\0' || (with_ec && fix_ec_new(f) != 0) ||
        fix_write(f, f->path, 0x5a, with_ec) != 0) {
        EVP_PKEY_free(f->ec);
        free(f);
        return NULL;
    }
    return f;
}

static inline void fix_free(fixture_t *f)
{
    char p[128];

    if (f == NULL)
        return;
    unlink(f->path);
    snprintf(p, sizeof(p), "%s/other.json", f->dir);
    unlink(p);
    rmdir(f->dir);
    EVP_PKEY_free(f->ec);
    free(f);
}

/* The claims the api accepts at f->now for sub (a string, unquoted), with
 * extra JSON members appended (or ""). */
static inline void fix_claims(const fixture_t *f, char *out, size_t cap,
                              const char *sub, long long exp_in,
                              const char *extra)
{
    snprintf(out, cap,
             "{\"iss\":\"couponq\",\"aud\":\"couponq\",\"sub\":\"%s\","
             "\"iat\":%lld,\"exp\":%lld%s}",
             sub, f->now, f->now + exp_in, extra);
}

/* "Bearer <HS256 token>" for sub into out; its length. */
static inline int fix_hs(const fixture_t *f, const char *sub, const char *extra,
                         char *out, size_t cap)
{
    char claims[512];
    int n;

    fix_claims(f, claims, sizeof(claims), sub, 300, extra);
    memcpy(out, "Bearer ", 7);
    n = jose_mint_hs256(f->secret, sizeof(f->secret), "hs1", claims, out + 7,
                        cap - 7);
    return n < 0 ? -1 : n + 7;
}

/* "Bearer <ES256 token>" (kid es1) for sub, valid for exp_in seconds. */
static inline int fix_es(const fixture_t *f, const char *sub, long long exp_in,
                         char *out, size_t cap)
{
    static const char head[] = "{\"alg\":\"ES256\",\"kid\":\"es1\"}";
    char claims[512];
    uint8_t der[80], rs[64];
    const uint8_t *p = der;
    size_t dl = sizeof(der);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    ECDSA_SIG *sig = NULL;
    int n = 7, k, rc = -1;

    fix_claims(f, claims, sizeof(claims), sub, exp_in, "");
    memcpy(out, "Bearer ", 7);
    if ((k = jose_b64url_encode((const uint8_t *)head, strlen(head), out + n,
                                cap - (size_t)n)) < 0)
        goto out;
    n += k;
    out[n++] = '.';
    if ((k = jose_b64url_encode((const uint8_t *)claims, strlen(claims),
                                out + n, cap - (size_t)n)) < 0)
        goto out;
    n += k;
    if (md == NULL ||
        EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, f->ec) != 1 ||
        EVP_DigestSign(md, der, &dl, (const uint8_t *)out + 7, (size_t)n - 7) !=
            1 ||
        (sig = d2i_ECDSA_SIG(NULL, &p, (long)dl)) == NULL ||
        BN_bn2binpad(ECDSA_SIG_get0_r(sig), rs, 32) != 32 ||
        BN_bn2binpad(ECDSA_SIG_get0_s(sig), rs + 32, 32) != 32)
        goto out;
    out[n++] = '.';
    if ((k = jose_b64url_encode(rs, sizeof(rs), out + n, cap - (size_t)n)) < 0)
        goto out;
    rc = n + k;
out:
    ECDSA_SIG_free(sig);
    EVP_MD_CTX_free(md);
    return rc;
}

/* An address: IPv4 or IPv6 text. */
static inline struct sockaddr_storage fix_addr(const char *s)
{
    struct sockaddr_storage ss;

    memset(&ss, 0, sizeof(ss));
    if (inet_pton(AF_INET, s, &((struct sockaddr_in *)&ss)->sin_addr) == 1)
        ss.ss_family = AF_INET;
    else if (inet_pton(AF_INET6, s, &((struct sockaddr_in6 *)&ss)->sin6_addr) ==
             1)
        ss.ss_family = AF_INET6;
    return ss;
}

/* A request from peer (NULL: a unix socket) with this Authorization value
 * (NULL: none). */
static inline http_request_t fix_req(const struct sockaddr_storage *peer,
                                     const char *auth, size_t len)
{
    http_request_t r;

    memset(&r, 0, sizeof(r));
    r.peer = peer;
    r.peer_unix = peer == NULL;
    if (auth != NULL) {
        r.auth = auth;
        r.auth_len = len;
        r.auth_count = 1;
    }
    return r;
}

#endif
