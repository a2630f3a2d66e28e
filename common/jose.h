/* jose.h -- the pure pieces of JOSE (RFC 7515) that both couponq-api's
 * verifier and couponqctl's token minting need: strict base64url, HMAC-SHA256
 * (one-shot, or with a key prepared once) and SHA-256 on OpenSSL 3, and
 * minting an HS256 compact JWS.
 *
 * Strict base64url (RFC 7515 section 2): the URL-safe alphabet only, no
 * padding, no whitespace, and the unused low bits of the last character
 * must be zero, so one byte string has exactly one encoding (a token cannot
 * be altered into a second valid spelling of itself). */
#ifndef COUPONQ_JOSE_H
#define COUPONQ_JOSE_H

#include <stddef.h>
#include <stdint.h>

#define JOSE_SHA256_LEN 32

/* Encoded length of n bytes (no padding), without the NUL. */
size_t jose_b64url_len(size_t n);

/* Writes the encoding of in[0..n) and a NUL into out (cap bytes). Returns
 * its length, or -1 when it does not fit. */
int jose_b64url_encode(const uint8_t *in, size_t n, char *out, size_t cap);

/* Decodes s[0..len) into out (cap bytes); *outlen set. -1 on any character
 * outside the alphabet, a length of 4k+1, non-zero trailing bits, or when it
 * does not fit. */
int jose_b64url_decode(const char *s, size_t len, uint8_t *out, size_t cap,
                       size_t *outlen);

/* HMAC-SHA256(key, msg) into mac. 0 or -1. */
int jose_hs256(const uint8_t *key, size_t klen, const void *msg, size_t len,
               uint8_t mac[JOSE_SHA256_LEN]);

/* An HMAC-SHA256 key prepared once (OpenSSL's EVP_MAC context with the key
 * set): each jose_hmac_sha256() re-initialises it instead of fetching the
 * algorithm and deriving the padded key again, which is most of what a
 * one-shot jose_hs256() of a short message costs. A handle is one context:
 * not thread-safe. The key is wiped when it is freed. */
typedef struct jose_hmac jose_hmac_t;

jose_hmac_t *jose_hmac_new(const uint8_t *key, size_t klen); /* NULL: oom */
void jose_hmac_free(jose_hmac_t *h); /* NULL is a no-op */
/* HMAC-SHA256(the key, msg) into mac. 0 or -1. */
int jose_hmac_sha256(jose_hmac_t *h, const void *msg, size_t len,
                     uint8_t mac[JOSE_SHA256_LEN]);

/* SHA-256(msg) into md. 0 or -1. */
int jose_sha256(const void *msg, size_t len, uint8_t md[JOSE_SHA256_LEN]);

/* Mints header.payload.signature with header {"alg":"HS256","typ":"JWT"}
 * (plus "kid" when kid is not NULL) and payload the given JSON text.
 * Returns the token's length, or -1 when it does not fit in cap. */
int jose_mint_hs256(const uint8_t *key, size_t klen, const char *kid,
                    const char *payload_json, char *out, size_t cap);

#endif
