/* auth.h -- who a request is: --auth jwt (Authorization: Bearer, see
 * jwt.h), gateway (a user header from a trusted peer) or off (the body's
 * user_id is believed). One auth_t per event loop; not thread-safe.
 *
 * ES256/RS256 tokens cost tens of microseconds to verify, so a verified
 * one is remembered (a fixed-size 2-way set-associative table keyed by the
 * SHA-256 of the token, so a lookup cannot be fooled by another token) and
 * used until its exp; a reload of the keys forgets them all. HS256 tokens
 * (a few microseconds) are verified every time. Memory is fixed at
 * creation: an attacker sending fresh tokens only evicts entries. */
#ifndef COUPONQ_API_AUTH_H
#define COUPONQ_API_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "http_parser.h"
#include "jwt.h"

typedef enum { AUTH_OFF = 0, AUTH_JWT, AUTH_GATEWAY } auth_mode_t;

typedef struct auth_opts {
    auth_mode_t mode;
    const char *keys_path; /* JWKS file (jwt) */
    jwt_policy_t policy;
    const char *trusted_header; /* gateway */
    const char *trusted_peers;  /* gateway: CIDR list; unix sockets always */
    uint32_t cache_entries;     /* verified ES256/RS256 tokens; 0 = none */
} auth_opts_t;

typedef struct auth_result {
    int service;     /* a service token: acts for the body's user */
    int64_t user_id; /* the user (0 for a service token) */
    int token_sent;  /* a credential was sent (WWW-Authenticate error=) */
    char sub[JWT_SERVICE_SUB + 1];
    char kid[JWKS_KID_MAX + 1];
    char hash[13]; /* first 6 bytes of SHA-256(token), hex; "" if none */
    char why[96];  /* on failure: the <why> of "unauthorized: <why>" */
} auth_result_t;

typedef struct auth auth_t;

/* NULL with errstr (--jwt-keys unreadable, --trusted-peers invalid...). */
auth_t *auth_new(const auth_opts_t *o, char *errstr, size_t n);
void auth_free(auth_t *a); /* NULL is a no-op */

/* Reads the key file again; on success the new keys replace the old ones
 * (requests in between use either set; the cache is cleared). On failure
 * the old keys stay. 0 or -1 with errstr. */
int auth_reload(auth_t *a, char *errstr, size_t n);

auth_mode_t auth_mode(const auth_t *a);
/* "jwt", "gateway", "off"; -1 for anything else. */
int auth_mode_parse(const char *s);
size_t auth_keys(const auth_t *a); /* keys loaded */
uint64_t auth_cache_hits(const auth_t *a);

/* 0 with r->user_id / r->service set, or -1 with r->why (answer 401).
 * now is Unix seconds. Never called with mode off. */
int auth_check(auth_t *a, const http_request_t *req, int64_t now,
               auth_result_t *r);

#endif
