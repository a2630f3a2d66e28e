/* auth.c -- bearer tokens, the gateway header, the verified-token cache.
 * See auth.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "jose.h"
#include "log.h"
#include "peer.h"
#include "route.h"

#define HASH_KEEP 16 /* bytes of SHA-256 the cache compares */

typedef struct centry {
    uint8_t h[HASH_KEEP];
    uint32_t gen; /* keys generation; 0 = empty */
    jwt_claims_t c;
} centry_t;

struct auth {
    auth_opts_t o;
    jwks_t *keys;
    peer_cidrs_t peers;
    uint32_t gen;
    uint32_t sets; /* power of two; 2 entries each */
    centry_t *cache;
    uint64_t hits;
};

int auth_mode_parse(const char *s)
{
    if (strcmp(s, "jwt") == 0)
        return AUTH_JWT;
    if (strcmp(s, "gateway") == 0)
        return AUTH_GATEWAY;
    if (strcmp(s, "off") == 0)
        return AUTH_OFF;
    return -1;
}

auth_t *auth_new(const auth_opts_t *o, char *errstr, size_t n)
{
    auth_t *a = calloc(1, sizeof(*a));
    uint32_t sets = 1;

    if (a == NULL) {
        snprintf(errstr, n, "out of memory");
        return NULL;
    }
    a->o = *o;
    while (sets * 2 < o->cache_entries)
        sets *= 2;
    a->sets = sets;
    if (o->mode == AUTH_GATEWAY &&
        peer_cidrs_parse(o->trusted_peers, &a->peers, errstr, n) != 0)
        goto bad;
    if (o->mode == AUTH_JWT && o->cache_entries > 0 &&
        (a->cache = calloc((size_t)sets * 2, sizeof(centry_t))) == NULL)
        goto bad;
    if (o->mode == AUTH_JWT && auth_reload(a, errstr, n) != 0)
        goto bad;
    return a;
bad:
    auth_free(a);
    return NULL;
}

void auth_free(auth_t *a)
{
    if (a == NULL)
        return;
    jwks_free(a->keys);
    free(a->cache);
    free(a);
}

int auth_reload(auth_t *a, char *errstr, size_t n)
{
    char why[384];
    jwks_t *k;

    if (a->o.mode != AUTH_JWT)
        return 0;
    if (a->o.keys_path == NULL || a->o.keys_path[0] == '\0') {
        snprintf(errstr, n, "--jwt-keys: required with --auth jwt");
        return -1;
    }
    if ((k = jwks_load(a->o.keys_path, why, sizeof(why))) == NULL) {
        snprintf(errstr, n, "--jwt-keys: %s", why);
        return -1;
    }
    jwks_free(a->keys);
    a->keys = k;
    if (++a->gen == 0) /* 0 marks empty entries */
        a->gen = 1;
    return 0;
}

auth_mode_t auth_mode(const auth_t *a)
{
    return a->o.mode;
}

size_t auth_keys(const auth_t *a)
{
    return a->keys ? jwks_count(a->keys) : 0;
}

uint64_t auth_cache_hits(const auth_t *a)
{
    return a->hits;
}

static void hash_hex(const uint8_t *h, char out[13])
{
    static const char hex[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < 6; i++) {
        out[2 * i] = hex[h[i] >> 4];
        out[2 * i + 1] = hex[h[i] & 15];
    }
    out[12] = '\0';
}

static centry_t *cache_set(auth_t *a, const uint8_t *h)
{
    uint32_t i = ((uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 |
                  (uint32_t)h[3] << 24) &
                 (a->sets - 1);

    return &a->cache[(size_t)i * 2];
}

static const jwt_claims_t *cache_get(auth_t *a, const uint8_t *h)
{
    centry_t *set = cache_set(a, h);
    int w;

    for (w = 0; w < 2; w++)
        if (set[w].gen == a->gen && memcmp(set[w].h, h, HASH_KEEP) == 0)
            return &set[w].c;
    return NULL;
}

/* Into the empty way, else over the one expiring first. */
static void cache_put(auth_t *a, const uint8_t *h, const jwt_claims_t *c)
{
    centry_t *set = cache_set(a, h), *e = &set[0];

    if (set[0].gen == a->gen &&
        (set[1].gen != a->gen || set[1].c.exp < set[0].c.exp))
        e = &set[1];
    memcpy(e->h, h, HASH_KEEP);
    e->gen = a->gen;
    e->c = *c;
}

static int refuse(auth_result_t *r, const char *why)
{
    snprintf(r->why, sizeof(r->why), "%s", why);
    return -1;
}

static void take(auth_result_t *r, const jwt_claims_t *c)
{
    r->service = c->service;
    r->user_id = c->user_id;
    memcpy(r->sub, c->sub, sizeof(r->sub));
}

static int check_token(auth_t *a, const char *tok, size_t len, int64_t now,
                       auth_result_t *r)
{
    uint8_t h[JOSE_SHA256_LEN];
    const jwt_claims_t *hit;
    int hashed = 0;
    jwt_claims_t c;

    if (len > JWT_MAX_LEN)
        return refuse(r, "token too large");
    if (a->cache != NULL && jwks_asymmetric(a->keys) &&
        jose_sha256(tok, len, h) == 0) {
        hashed = 1;
        hash_hex(h, r->hash);
        if ((hit = cache_get(a, h)) != NULL) {
            memcpy(r->kid, hit->kid, sizeof(r->kid));
            if (jwt_check_time(&a->o.policy, hit, now, r->why,
                               sizeof(r->why)) != 0)
                return -1;
            a->hits++;
            take(r, hit);
            return 0;
        }
    }
    if (jwt_verify(a->keys, &a->o.policy, tok, len, now, &c, r->why,
                   sizeof(r->why)) != 0) {
        memcpy(r->kid, c.kid, sizeof(r->kid));
        if (!hashed && jose_sha256(tok, len, h) == 0)
            hash_hex(h, r->hash);
        return -1;
    }
    memcpy(r->kid, c.kid, sizeof(r->kid));
    if (hashed && c.alg != JWT_ALG_HS256)
        cache_put(a, h, &c);
    take(r, &c);
    return 0;
}

static int check_bearer(auth_t *a, const http_request_t *req, int64_t now,
                        auth_result_t *r)
{
    const char *v = req->auth;
    size_t len = req->auth_len, i = 6;

    if (req->auth_count == 0)
        return refuse(r, "missing bearer token");
    r->token_sent = 1;
    if (req->auth_count > 1)
        return refuse(r, "more than one Authorization header");
    if (req->auth_too_long)
        return refuse(r, "token too large");
    if (len < 7 || strncasecmp(v, "bearer", 6) != 0 ||
        (v[6] != ' ' && v[6] != '\t'))
        return refuse(r, "expected Authorization: Bearer <token>");
    while (i < len && (v[i] == ' ' || v[i] == '\t'))
        i++;
    if (i == len)
        return refuse(r, "expected Authorization: Bearer <token>");
    return check_token(a, v + i, len - i, now, r);
}

static int check_gateway(auth_t *a, const http_request_t *req, auth_result_t *r)
{
    int trusted =
        req->peer_unix || (req->peer != NULL && peer_in(&a->peers, req->peer));

    if (req->user_hdr_count == 0)
        return refuse(r, trusted ? "missing trusted user header"
                                 : "untrusted peer");
    r->token_sent = 1;
    if (!trusted)
        return refuse(r, "trusted header from an untrusted peer");
    if (req->user_hdr_count > 1 || req->user_hdr_too_long ||
        route_parse_id(req->user_hdr, req->user_hdr_len, &r->user_id) != 0)
        return refuse(r, "trusted header: not one user id");
    snprintf(r->sub, sizeof(r->sub), "%lld", (long long)r->user_id);
    return 0;
}

int auth_check(auth_t *a, const http_request_t *req, int64_t now,
               auth_result_t *r)
{
    memset(r, 0, sizeof(*r));
    if (a->o.mode == AUTH_GATEWAY)
        return check_gateway(a, req, r);
    return check_bearer(a, req, now, r);
}
