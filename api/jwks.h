/* jwks.h -- a JSON Web Key Set (RFC 7517) read from a local file: the keys
 * couponq-api accepts tokens from, each pinned to one algorithm.
 *
 * Every key must name its "alg" (HS256, ES256 or RS256) and a matching
 * "kty" (oct, EC with "crv":"P-256", RSA); a token is verified only with
 * the algorithm of its key, never with the one its header asks for, so
 * algorithm confusion (an RSA public key used as an HMAC secret, "none")
 * cannot happen. HS256 secrets are at least 32 bytes, RSA moduli 2048 to
 * 8192 bits, EC points are checked to lie on the curve. "kid" (1..64
 * printable characters) is required when the file holds several keys and
 * must be unique. "use", when present, must be "sig". Private parts ("d",
 * "p", ...) of EC/RSA keys are ignored.
 *
 * A jwks_t does not change once built, so a reload builds a new one and
 * swaps it in. Verification is synchronous (OpenSSL EVP) and not
 * thread-safe: an HS256 key keeps one prepared MAC context that every
 * verification re-initialises (use a set from one thread, as couponq-api's
 * event loop does). */
#ifndef COUPONQ_API_JWKS_H
#define COUPONQ_API_JWKS_H

#include <stddef.h>
#include <stdint.h>

typedef enum { JWT_ALG_HS256 = 1, JWT_ALG_ES256, JWT_ALG_RS256 } jwt_alg_t;

#define JWKS_KID_MAX 64

typedef struct jwks jwks_t;
typedef struct jwks_key jwks_key_t;

/* From JSON text / a file. NULL with errstr ("keys[1]: ..." etc.). */
jwks_t *jwks_parse(const char *json, size_t len, char *errstr, size_t n);
jwks_t *jwks_load(const char *path, char *errstr, size_t n);
void jwks_free(jwks_t *k); /* NULL is a no-op */

size_t jwks_count(const jwks_t *k);
/* The key with this kid, or NULL. */
const jwks_key_t *jwks_find(const jwks_t *k, const char *kid, size_t len);
/* The only key when the set holds exactly one, else NULL. */
const jwks_key_t *jwks_only(const jwks_t *k);

/* 1 when some key is ES256 or RS256 (worth caching verified tokens). */
int jwks_asymmetric(const jwks_t *k);

jwt_alg_t jwks_key_alg(const jwks_key_t *key);
const char *jwks_key_kid(const jwks_key_t *key); /* "" when it has none */

/* 1 when sig is a valid signature of msg under key with its pinned
 * algorithm; 0 otherwise (including a signature of the wrong length). */
int jwks_key_verify(const jwks_key_t *key, const char *msg, size_t len,
                    const uint8_t *sig, size_t siglen);

/* "HS256", "ES256", "RS256". */
const char *jwt_alg_name(jwt_alg_t alg);

#endif
