/* jwt.h -- JOSE compact JWS (RFC 7515) tokens as couponq-api accepts them
 * (RFC 7519 claims, rules of DESIGN.md "Identity"). Pure apart from the
 * OpenSSL calls: the clock is the caller's, unit-tested on vectors.
 *
 * Written here rather than taken from Debian 12's libjwt 1.10.2: that
 * library verifies with the algorithm the token's header names (so one
 * has to remember to compare it to the key's, and alg "none" is a
 * supported algorithm), checks no claim at all (exp, nbf, iss, aud are
 * left to every caller), has no JWKS or kid support, and accepts padded
 * or otherwise lax base64. Here the algorithm is pinned by the key, and
 * every check below happens in one place, in this order:
 *
 *   size <= JWT_MAX_LEN; exactly three non-empty base64url segments
 *   (strict: no padding, canonical); header a JSON object without
 *   duplicate members; "alg" one of HS256/ES256/RS256 ("none" in any
 *   spelling refused); no "crit", "jku", "jwk", "x5u", "x5c", "enc", "zip",
 *   "b64"; "kid" known (a token without kid only when the set holds one
 *   key); header alg == the key's alg; signature valid; payload a JSON
 *   object without duplicates; "exp" present and a number; "iss" equal;
 *   "aud" equal or an array containing it; exp + leeway > now;
 *   nbf <= now + leeway; iat <= now + leeway; exp - now <= max lifetime +
 *   leeway (and exp - iat too when iat is present); "sub" a user id
 *   (decimal 1..2^63-1, no sign, no leading zero) or, for a service token
 *   ("scope" holding the word couponq:service), 1..64 printable
 *   characters.
 *
 * The "why" texts are short, stable and safe to send to the client (the
 * api answers 401 {"error":"unauthorized: <why>"}); they never contain
 * the token. */
#ifndef COUPONQ_API_JWT_H
#define COUPONQ_API_JWT_H

#include <stddef.h>
#include <stdint.h>

#include "jwks.h"

#define JWT_MAX_LEN     4096 /* bytes of the compact token */
#define JWT_SERVICE_SUB 64
#define JWT_SCOPE       "couponq:service"

typedef struct jwt_policy {
    const char *issuer;
    const char *audience;
    int64_t leeway_s;       /* 30 */
    int64_t max_lifetime_s; /* --jwt-max-lifetime */
} jwt_policy_t;

typedef struct jwt_claims {
    int service;     /* a service token: acts for the body's user */
    int64_t user_id; /* sub of a user token; 0 for a service token */
    int64_t exp;
    char sub[JWT_SERVICE_SUB + 1];
    char kid[JWKS_KID_MAX + 1]; /* as the header named it (for logs) */
    jwt_alg_t alg;
} jwt_claims_t;

/* 0 with *c filled when tok[0..len) is valid at time now (Unix seconds);
 * -1 with why set otherwise (c->kid is filled as soon as the header was
 * read, for the audit log). */
int jwt_verify(const jwks_t *keys, const jwt_policy_t *p, const char *tok,
               size_t len, int64_t now, jwt_claims_t *c, char *why, size_t n);

/* The claims only, for a token whose signature is known to be good (the
 * api's verified-token cache re-checks the clock with them). 0 or -1. */
int jwt_check_time(const jwt_policy_t *p, const jwt_claims_t *c, int64_t now,
                   char *why, size_t n);

#endif
