/* jose.c -- strict base64url, HMAC-SHA256, HS256 minting. See jose.h.
 *
 * HMAC goes through the one-shot HMAC() of OpenSSL 3 (deprecated low-level
 * APIs are not used: HMAC() is the documented EVP_MAC wrapper). */
#include <stdio.h>
#include <string.h>

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

static int value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

int jose_b64url_decode(const char *s, size_t len, uint8_t *out, size_t cap,
                       size_t *outlen)
{
    size_t rem = len % 4, need = len / 4 * 3 + (rem ? rem - 1 : 0), i, o = 0;
    uint32_t v = 0;
    int d, bits = 0;

    if (rem == 1 || need > cap)
        return -1;
    for (i = 0; i < len; i++) {
        if ((d = value(s[i])) < 0)
            return -1;
        v = v << 6 | (uint32_t)d;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(v >> bits);
            v &= (1u << bits) - 1;
        }
    }
    if (v != 0) /* non-canonical: unused trailing bits set */
        return -1;
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
