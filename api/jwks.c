/* jwks.c -- JWKS parsing (jansson) and signature verification (OpenSSL 3
 * EVP). See jwks.h.
 *
 * ES256 signatures are the raw r||s of RFC 7518 section 3.4 (32 + 32
 * bytes); OpenSSL verifies DER, so they are re-encoded with
 * i2d_ECDSA_SIG first. RS256 is RSASSA-PKCS1-v1_5 with SHA-256, the EVP
 * default padding for RSA keys; the signature must be exactly as long as
 * the modulus. HS256 compares MACs with CRYPTO_memcmp (constant time). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "jose.h"
#include "jwks.h"

#define MAX_KEYS     64
#define SECRET_MIN   32 /* RFC 7518 3.2: a key of at least the hash size */
#define SECRET_MAX   512
#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 8192
#define FILE_MAX     ((size_t)1024 * 1024)

struct jwks_key {
    char kid[JWKS_KID_MAX + 1];
    jwt_alg_t alg;
    jose_hmac_t *hmac; /* HS256: the secret, prepared */
    EVP_PKEY *pkey;    /* ES256, RS256 */
};

struct jwks {
    size_t n;
    jwks_key_t keys[];
};

const char *jwt_alg_name(jwt_alg_t alg)
{
    switch (alg) {
    case JWT_ALG_HS256:
        return "HS256";
    case JWT_ALG_ES256:
        return "ES256";
    case JWT_ALG_RS256:
        return "RS256";
    }
    return "?";
}

/* A base64url member of the key, decoded into out; -1 with errstr. */
static int member_b64(json_t *key, const char *name, uint8_t *out, size_t cap,
                      size_t *len, char *errstr, size_t n)
{
    json_t *v = json_object_get(key, name);
    const char *s = json_string_value(v);

    if (s == NULL) {
        snprintf(errstr, n, "\"%s\": missing or not a string", name);
        return -1;
    }
    if (jose_b64url_decode(s, json_string_length(v), out, cap, len) != 0) {
        snprintf(errstr, n, "\"%s\": not base64url (or too long)", name);
        return -1;
    }
    return 0;
}

static int load_oct(json_t *j, jwks_key_t *k, char *errstr, size_t n)
{
    uint8_t secret[SECRET_MAX];
    size_t len = 0;
    int rc = -1;

    if (member_b64(j, "k", secret, sizeof(secret), &len, errstr, n) != 0)
        goto out;
    if (len < SECRET_MIN) {
        snprintf(errstr, n, "\"k\": an HS256 key needs >= %d bytes, got %zu",
                 SECRET_MIN, len);
        goto out;
    }
    if ((k->hmac = jose_hmac_new(secret, len)) == NULL) {
        snprintf(errstr, n, "\"k\": cannot prepare the HMAC key");
        goto out;
    }
    rc = 0;
out:
    OPENSSL_cleanse(secret, sizeof(secret));
    return rc;
}

/* A public key from OSSL_PARAMs; its public part checked. */
static EVP_PKEY *from_params(const char *type, OSSL_PARAM *params)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY_CTX *check = NULL;
    EVP_PKEY *pkey = NULL;

    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
        goto out;
    if ((check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL ||
        EVP_PKEY_public_check(check) != 1) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
out:
    EVP_PKEY_CTX_free(check);
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

static int load_ec(json_t *j, jwks_key_t *k, char *errstr, size_t n)
{
    uint8_t point[65];
    size_t xl = 0, yl = 0;
    char group[] = "prime256v1";
    OSSL_PARAM params[3];

    if (!json_is_string(json_object_get(j, "crv")) ||
        strcmp(json_string_value(json_object_get(j, "crv")), "P-256") != 0) {
        snprintf(errstr, n, "\"crv\": ES256 needs \"P-256\"");
        return -1;
    }
    point[0] = 0x04; /* uncompressed */
    if (member_b64(j, "x", point + 1, 32, &xl, errstr, n) != 0 ||
        member_b64(j, "y", point + 33, 32, &yl, errstr, n) != 0)
        return -1;
    if (xl != 32 || yl != 32) {
        snprintf(errstr, n, "\"x\", \"y\": P-256 coordinates are 32 bytes");
        return -1;
    }
    params[0] =
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
                                                  point, sizeof(point));
    params[2] = OSSL_PARAM_construct_end();
    if ((k->pkey = from_params("EC", params)) == NULL) {
        snprintf(errstr, n, "\"x\", \"y\": not a point on P-256");
        return -1;
    }
    return 0;
}

static int load_rsa(json_t *j, jwks_key_t *k, char *errstr, size_t n)
{
    uint8_t nb[RSA_MAX_BITS / 8], eb[8];
    size_t nl = 0, el = 0;
    BIGNUM *bn_n = NULL, *bn_e = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    int rc = -1, bits;

    if (member_b64(j, "n", nb, sizeof(nb), &nl, errstr, n) != 0 ||
        member_b64(j, "e", eb, sizeof(eb), &el, errstr, n) != 0)
        return -1;
    if (el == 0 || (eb[el - 1] & 1) == 0 || (el == 1 && eb[0] < 3)) {
        snprintf(errstr, n, "\"e\": must be an odd exponent >= 3");
        return -1;
    }
    if ((bn_n = BN_bin2bn(nb, (int)nl, NULL)) == NULL ||
        (bn_e = BN_bin2bn(eb, (int)el, NULL)) == NULL ||
        (bld = OSSL_PARAM_BLD_new()) == NULL ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) ||
        (params = OSSL_PARAM_BLD_to_param(bld)) == NULL) {
        snprintf(errstr, n, "out of memory");
        goto out;
    }
    bits = BN_num_bits(bn_n);
    if (bits < RSA_MIN_BITS) {
        snprintf(errstr, n, "\"n\": RS256 needs >= %d bits, got %d",
                 RSA_MIN_BITS, bits);
        goto out;
    }
    if ((k->pkey = from_params("RSA", params)) == NULL) {
        snprintf(errstr, n, "\"n\", \"e\": not an RSA public key");
        goto out;
    }
    rc = 0;
out:
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn_e);
    BN_free(bn_n);
    return rc;
}

static int parse_alg(const char *s, jwt_alg_t *alg)
{
    if (s == NULL)
        return -1;
    if (strcmp(s, "HS256") == 0)
        *alg = JWT_ALG_HS256;
    else if (strcmp(s, "ES256") == 0)
        *alg = JWT_ALG_ES256;
    else if (strcmp(s, "RS256") == 0)
        *alg = JWT_ALG_RS256;
    else
        return -1;
    return 0;
}

static int kid_ok(const char *s, size_t len)
{
    size_t i;

    if (len < 1 || len > JWKS_KID_MAX)
        return 0;
    for (i = 0; i < len; i++)
        if (s[i] < 0x21 || s[i] > 0x7e)
            return 0;
    return 1;
}

static int load_key(json_t *j, jwks_key_t *k, char *errstr, size_t n)
{
    static const char *const kty_of[] = { "", "oct", "EC", "RSA" };
    json_t *kid = json_object_get(j, "kid"), *use = json_object_get(j, "use");
    const char *kty = json_string_value(json_object_get(j, "kty"));

    if (!json_is_object(j)) {
        snprintf(errstr, n, "not an object");
        return -1;
    }
    if (kid != NULL &&
        (!json_is_string(kid) ||
         !kid_ok(json_string_value(kid), json_string_length(kid)))) {
        snprintf(errstr, n, "\"kid\": 1..%d printable characters",
                 JWKS_KID_MAX);
        return -1;
    }
    if (kid != NULL)
        memcpy(k->kid, json_string_value(kid), json_string_length(kid) + 1);
    if (use != NULL &&
        (!json_is_string(use) || strcmp(json_string_value(use), "sig") != 0)) {
        snprintf(errstr, n, "\"use\": must be \"sig\"");
        return -1;
    }
    if (parse_alg(json_string_value(json_object_get(j, "alg")), &k->alg)) {
        snprintf(errstr, n, "\"alg\": required, one of HS256, ES256, RS256");
        return -1;
    }
    if (kty == NULL || strcmp(kty, kty_of[k->alg]) != 0) {
        snprintf(errstr, n, "\"kty\": %s needs \"%s\"", jwt_alg_name(k->alg),
                 kty_of[k->alg]);
        return -1;
    }
    if (k->alg == JWT_ALG_HS256)
        return load_oct(j, k, errstr, n);
    if (k->alg == JWT_ALG_ES256)
        return load_ec(j, k, errstr, n);
    return load_rsa(j, k, errstr, n);
}

/* kids unique; required as soon as there is more than one key. */
static int check_kids(const jwks_t *k, char *errstr, size_t n)
{
    size_t i, j;

    for (i = 0; i < k->n; i++) {
        if (k->n > 1 && k->keys[i].kid[0] == '\0') {
            snprintf(errstr, n,
                     "keys[%zu]: \"kid\" required with several "
                     "keys",
                     i);
            return -1;
        }
        for (j = 0; j < i; j++)
            if (strcmp(k->keys[i].kid, k->keys[j].kid) == 0) {
                snprintf(errstr, n, "keys[%zu]: duplicate kid \"%s\"", i,
                         k->keys[i].kid);
                return -1;
            }
    }
    return 0;
}

static jwks_t *build(json_t *root, char *errstr, size_t n)
{
    json_t *arr = json_object_get(root, "keys");
    size_t i, count = json_array_size(arr);
    char why[200];
    jwks_t *k;

    if (!json_is_array(arr) || count == 0 || count > MAX_KEYS) {
        snprintf(errstr, n, "expected {\"keys\": [1..%d keys]}", MAX_KEYS);
        return NULL;
    }
    if ((k = calloc(1, sizeof(*k) + count * sizeof(k->keys[0]))) == NULL) {
        snprintf(errstr, n, "out of memory");
        return NULL;
    }
    for (i = 0; i < count; i++, k->n++)
        if (load_key(json_array_get(arr, i), &k->keys[i], why, sizeof(why))) {
            snprintf(errstr, n, "keys[%zu]: %s", i, why);
            k->n++; /* so that free releases this one too */
            goto bad;
        }
    if (check_kids(k, errstr, n) == 0)
        return k;
bad:
    jwks_free(k);
    return NULL;
}

jwks_t *jwks_parse(const char *json, size_t len, char *errstr, size_t n)
{
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    jwks_t *k;

    if (root == NULL) {
        snprintf(errstr, n, "invalid JSON: %s at line %d", jerr.text,
                 jerr.line);
        return NULL;
    }
    k = build(root, errstr, n);
    json_decref(root);
    return k;
}

jwks_t *jwks_load(const char *path, char *errstr, size_t n)
{
    char why[256], *buf = NULL;
    FILE *f = fopen(path, "rb");
    size_t len;
    jwks_t *k = NULL;

    if (f == NULL) {
        snprintf(errstr, n, "%s: cannot open", path);
        return NULL;
    }
    if ((buf = malloc(FILE_MAX + 1)) == NULL) {
        snprintf(errstr, n, "%s: out of memory", path);
        goto out;
    }
    len = fread(buf, 1, FILE_MAX + 1, f);
    if (ferror(f) || len > FILE_MAX) {
        snprintf(errstr, n, "%s: unreadable or over %zu bytes", path, FILE_MAX);
        goto out;
    }
    if ((k = jwks_parse(buf, len, why, sizeof(why))) == NULL)
        snprintf(errstr, n, "%s: %s", path, why);
out:
    if (buf != NULL)
        OPENSSL_cleanse(buf, FILE_MAX + 1); /* it held secrets */
    free(buf);
    fclose(f);
    return k;
}

void jwks_free(jwks_t *k)
{
    size_t i;

    if (k == NULL)
        return;
    for (i = 0; i < k->n; i++) {
        EVP_PKEY_free(k->keys[i].pkey);
        jose_hmac_free(k->keys[i].hmac);
    }
    OPENSSL_cleanse(k, sizeof(*k) + k->n * sizeof(k->keys[0]));
    free(k);
}

size_t jwks_count(const jwks_t *k)
{
    return k->n;
}

const jwks_key_t *jwks_find(const jwks_t *k, const char *kid, size_t len)
{
    size_t i;

    for (i = 0; i < k->n; i++)
        if (strlen(k->keys[i].kid) == len && len > 0 &&
            memcmp(k->keys[i].kid, kid, len) == 0)
            return &k->keys[i];
    return NULL;
}

const jwks_key_t *jwks_only(const jwks_t *k)
{
    return k->n == 1 ? &k->keys[0] : NULL;
}

int jwks_asymmetric(const jwks_t *k)
{
    size_t i;

    for (i = 0; i < k->n; i++)
        if (k->keys[i].alg != JWT_ALG_HS256)
            return 1;
    return 0;
}

jwt_alg_t jwks_key_alg(const jwks_key_t *key)
{
    return key->alg;
}

const char *jwks_key_kid(const jwks_key_t *key)
{
    return key->kid;
}

static int verify_evp(EVP_PKEY *pkey, const char *msg, size_t len,
                      const uint8_t *sig, size_t siglen)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = 0;

    if (md != NULL &&
        EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pkey) == 1)
        ok = EVP_DigestVerify(md, sig, siglen, (const unsigned char *)msg,
                              len) == 1;
    EVP_MD_CTX_free(md);
    return ok;
}

/* r||s (32 + 32 bytes) -> DER, then EVP. */
static int verify_es256(EVP_PKEY *pkey, const char *msg, size_t len,
                        const uint8_t *sig, size_t siglen)
{
    ECDSA_SIG *es = NULL;
    BIGNUM *r = NULL, *s = NULL;
    unsigned char der[80], *p = der;
    int dl, ok = 0;

    if (siglen != 64)
        return 0;
    if ((es = ECDSA_SIG_new()) == NULL ||
        (r = BN_bin2bn(sig, 32, NULL)) == NULL ||
        (s = BN_bin2bn(sig + 32, 32, NULL)) == NULL ||
        ECDSA_SIG_set0(es, r, s) != 1)
        goto out;
    r = s = NULL; /* owned by es now */
    if ((dl = i2d_ECDSA_SIG(es, NULL)) <= 0 || (size_t)dl > sizeof(der) ||
        i2d_ECDSA_SIG(es, &p) != dl)
        goto out;
    ok = verify_evp(pkey, msg, len, der, (size_t)dl);
out:
    BN_free(s);
    BN_free(r);
    ECDSA_SIG_free(es);
    return ok;
}

int jwks_key_verify(const jwks_key_t *key, const char *msg, size_t len,
                    const uint8_t *sig, size_t siglen)
{
    uint8_t mac[JOSE_SHA256_LEN];

    switch (key->alg) {
    case JWT_ALG_HS256:
        if (siglen != sizeof(mac) ||
            jose_hmac_sha256(key->hmac, msg, len, mac) != 0)
            return 0;
        return CRYPTO_memcmp(mac, sig, sizeof(mac)) == 0;
    case JWT_ALG_ES256:
        return verify_es256(key->pkey, msg, len, sig, siglen);
    case JWT_ALG_RS256:
        if (siglen != (size_t)EVP_PKEY_get_size(key->pkey))
            return 0;
        return verify_evp(key->pkey, msg, len, sig, siglen);
    }
    return 0;
}
