/* jose.c -- strict base64url, HMAC-SHA256, HS256 minting. See jose.h.
 *
 * HMAC goes through OpenSSL 3's EVP_MAC (one-shot: HMAC(), its documented
 * wrapper; prepared keys: an EVP_MAC_CTX each). Deprecated low-level APIs
 * are not used. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "jose.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t jose_b64url_len(size_t n)
{
    return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

int jose_b64url_encode(const uint8_t *in, size_t n, char *out, size_t cap)
{
    size_t need = jose_b64url_len(n), i, o = 0;
    uint32_t v;

    if (need + 1 > cap)
        return -1;
    for (i = 0; i + 2 < n; i += 3) {
        v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = alphabet[v >> 18 & 63];
        out[o++] = alphabet[v >> 12 & 63];
        out[o++] = alphabet[v >> 6 & 63];
        out[o++] = alphabet[v & 63];
    }
    if (n - i == 1) {
        v = (uint32_t)in[i] << 16;
        out[o++] = alphabet[v >> 18 & 63];
        out[o++] = alphabet[v >> 12 & 63];
    } else if (n - i == 2) {
        v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = alphabet[v >> 18 & 63];
        out[o++] = alphabet[v >> 12 & 63];
        out[o++] = alphabet[v >> 6 & 63];
    }
    out[o] = '\0';
    return (int)o;
}

/* The value of each byte in the alphabet; 128 for every other byte. */
/* clang-format off */
static const uint8_t dec[256] = {
    128,128,128,128,128,128,128,128,128,128,128,128,128,128,128,128,
    128,128,128,128,128,128,128,128,128,128,128,128,128,128,128,128,
    128,128,128,128,128,128,128,128,128,128,128,128,128, 62,128,128,
     52, 53, 54, 55, 56, 57, 58, 59, 60, 61,128,128,128,128,128,128,
    128,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14,
     15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25,128,128,128,128, 63,
    128, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
     41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51,128,128,128,128,128,
    128,128,128,128,128,128,128,128,128,128,128,128,128,128,128,128,
    128,128,128,128,128,128,128,128,128,128,128,128,128,128,128,128,
    128,128,128,128,128,128,128,128,128,128,128,128,128,128,128,128,
    128,128,128,128,128,128,128,128,128,128,128,128,128,128,128,128,
    128,128,128,128,128,128,128,128,128,128,128,128,128,128,128,128,
    128,128,128,128,128,128,128,128,128,128,128,128,128,128,128,128,
    128,128,128,128,128,128,128,128,128,128,128,128,128,128,128,128,
    128,128,128,128,128,128,128,128,128,128,128,128,128,128,128,128,
};
/* clang-format on */

/* Four characters (24 bits) at a time; the last 2 or 3 must leave their
 * unused low bits zero (canonical). */
int jose_b64url_decode(const char *s, size_t len, uint8_t *out, size_t cap,
                       size_t *outlen)
{
    const uint8_t *in = (const uint8_t *)s;
    size_t rem = len % 4, need = len / 4 * 3 + (rem ? rem - 1 : 0), i, o = 0;
    uint32_t a, b, c, d;

    if (rem == 1 || need > cap)
        return -1;
    for (i = 0; i + 4 <= len; i += 4, o += 3) {
        a = dec[in[i]];
        b = dec[in[i + 1]];
        c = dec[in[i + 2]];
        d = dec[in[i + 3]];
        if ((a | b | c | d) & 128)
            return -1;
        out[o] = (uint8_t)(a << 2 | b >> 4);
        out[o + 1] = (uint8_t)(b << 4 | c >> 2);
        out[o + 2] = (uint8_t)(c << 6 | d);
    }
    if (rem == 0)
        goto done;
    a = dec[in[i]];
    b = dec[in[i + 1]];
    c = rem == 3 ? dec[in[i + 2]] : 0;
    /* outside the alphabet, or unused low bits set (non-canonical) */
    if ((a | b | c) & 128 || (rem == 2 ? b & 15 : c & 3) != 0)
        return -1;
    out[o++] = (uint8_t)(a << 2 | b >> 4);
    if (rem == 3)
        out[o++] = (uint8_t)(b << 4 | c >> 2);
done:
    *outlen = o;
    return 0;
}

int jose_hs256(const uint8_t *key, size_t klen, const void *msg, size_t len,
               uint8_t mac[JOSE_SHA256_LEN])
{
    unsigned int mlen = 0;

    if (klen > 0x7fffffff)
        return -1;
    if (HMAC(EVP_sha256(), key, (int)klen, msg, len, mac, &mlen) == NULL ||
        mlen != JOSE_SHA256_LEN)
        return -1;
    return 0;
}

struct jose_hmac {
    EVP_MAC_CTX *ctx;
};

jose_hmac_t *jose_hmac_new(const uint8_t *key, size_t klen)
{
    char digest[] = "SHA256";
    OSSL_PARAM params[2] = { OSSL_PARAM_construct_utf8_string(
                                 OSSL_MAC_PARAM_DIGEST, digest, 0),
                             OSSL_PARAM_construct_end() };
    jose_hmac_t *h = calloc(1, sizeof(*h));
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);

    if (h == NULL || mac == NULL || (h->ctx = EVP_MAC_CTX_new(mac)) == NULL ||
        EVP_MAC_init(h->ctx, key, klen, params) != 1) {
        jose_hmac_free(h);
        h = NULL;
    }
    EVP_MAC_free(mac); /* the context holds its own reference */
    return h;
}

void jose_hmac_free(jose_hmac_t *h)
{
    if (h == NULL)
        return;
    EVP_MAC_CTX_free(h->ctx); /* HMAC contexts cleanse their key */
    free(h);
}

int jose_hmac_sha256(jose_hmac_t *h, const void *msg, size_t len,
                     uint8_t mac[JOSE_SHA256_LEN])
{
    size_t mlen = 0;

    /* init without a key restarts from the key's prepared inner state */
    if (EVP_MAC_init(h->ctx, NULL, 0, NULL) != 1 ||
        EVP_MAC_update(h->ctx, msg, len) != 1 ||
        EVP_MAC_final(h->ctx, mac, &mlen, JOSE_SHA256_LEN) != 1 ||
        mlen != JOSE_SHA256_LEN)
        return -1;
    return 0;
}

int jose_sha256(const void *msg, size_t len, uint8_t md[JOSE_SHA256_LEN])
{
    unsigned int mlen = 0;

    if (EVP_Digest(msg, len, md, &mlen, EVP_sha256(), NULL) != 1 ||
        mlen != JOSE_SHA256_LEN)
        return -1;
    return 0;
}

int jose_mint_hs256(const uint8_t *key, size_t klen, const char *kid,
                    const char *payload_json, char *out, size_t cap)
{
    char header[160];
    uint8_t mac[JOSE_SHA256_LEN];
    int hl, n, pl, sl;

    if (kid != NULL && strpbrk(kid, "\"\\") != NULL)
        return -1; /* not escaped below */
    if (kid != NULL)
        hl =
            snprintf(header, sizeof(header),
                     "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", kid);
    else
        hl = snprintf(header, sizeof(header),
                      "{\"alg\":\"HS256\",\"typ\":\"JWT\"}");
    if (hl < 0 || (size_t)hl >= sizeof(header))
        return -1;
    if ((n = jose_b64url_encode((const uint8_t *)header, (size_t)hl, out,
                                cap)) < 0 ||
        (size_t)n + 1 >= cap)
        return -1;
    out[n++] = '.';
    if ((pl = jose_b64url_encode((const uint8_t *)payload_json,
                                 strlen(payload_json), out + n,
                                 cap - (size_t)n)) < 0)
        return -1;
    n += pl;
    if (jose_hs256(key, klen, out, (size_t)n, mac) != 0 || (size_t)n + 1 >= cap)
        return -1;
    out[n++] = '.';
    if ((sl = jose_b64url_encode(mac, sizeof(mac), out + n, cap - (size_t)n)) <
        0)
        return -1;
    return n + sl;
}
