/* jwt.c -- compact JWS parsing, verification and claim checks. See jwt.h
 * for the rules and the reasons this is not libjwt. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "jose.h"
#include "jwt.h"
#include "route.h"

#define SEG_MAX JWT_MAX_LEN /* decoded bytes of one segment */

static int fail(char *why, size_t n, const char *text)
{
    snprintf(why, n, "%s", text);
    return -1;
}

/* Splits into three non-empty segments. */
static int split(const char *tok, size_t len, const char *seg[3], size_t sl[3])
{
    const char *d1 = memchr(tok, '.', len), *d2;

    if (d1 == NULL)
        return -1;
    d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - tok));
    if (d2 == NULL || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - tok)))
        return -1;
    seg[0] = tok;
    sl[0] = (size_t)(d1 - tok);
    seg[1] = d1 + 1;
    sl[1] = (size_t)(d2 - d1 - 1);
    seg[2] = d2 + 1;
    sl[2] = len - (size_t)(d2 + 1 - tok);
    return sl[0] > 0 && sl[1] > 0 ? 0 : -1;
}

/* A segment decoded and parsed as a JSON object without duplicates. */
static json_t *segment_json(const char *s, size_t len)
{
    uint8_t buf[SEG_MAX];
    size_t dl;
    json_t *j;

    if (jose_b64url_decode(s, len, buf, sizeof(buf), &dl) != 0)
        return NULL;
    j = json_loadb((const char *)buf, dl, JSON_REJECT_DUPLICATES, NULL);
    if (j != NULL && !json_is_object(j)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static int header_alg(json_t *h, jwt_alg_t *alg, char *why, size_t n)
{
    static const char *const refused[] = { "crit", "jku", "jwk", "x5u",
                                           "x5c",  "enc", "zip", "b64" };
    const char *a = json_string_value(json_object_get(h, "alg"));
    size_t i;

    if (a == NULL)
        return fail(why, n, "malformed token: no alg");
    if (strcasecmp(a, "none") == 0)
        return fail(why, n, "alg none is not accepted");
    if (strcmp(a, "HS256") == 0)
        *alg = JWT_ALG_HS256;
    else if (strcmp(a, "ES256") == 0)
        *alg = JWT_ALG_ES256;
    else if (strcmp(a, "RS256") == 0)
        *alg = JWT_ALG_RS256;
    else
        return fail(why, n, "alg not accepted");
    for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        if (json_object_get(h, refused[i]) != NULL) {
            snprintf(why, n, "header parameter \"%s\" is not accepted",
                     refused[i]);
            return -1;
        }
    return 0;
}

/* The key the header names, its algorithm pinned. */
static const jwks_key_t *header_key(const jwks_t *keys, json_t *h,
                                    jwt_claims_t *c, char *why, size_t n)
{
    json_t *kid = json_object_get(h, "kid");
    const jwks_key_t *key;
    jwt_alg_t alg;

    if (kid != NULL && (!json_is_string(kid) || json_string_length(kid) == 0 ||
                        json_string_length(kid) > JWKS_KID_MAX)) {
        fail(why, n, "unknown kid");
        return NULL;
    }
    if (kid != NULL)
        memcpy(c->kid, json_string_value(kid), json_string_length(kid) + 1);
    if (header_alg(h, &alg, why, n) != 0)
        return NULL;
    if (kid != NULL)
        key = jwks_find(keys, c->kid, strlen(c->kid));
    else if ((key = jwks_only(keys)) == NULL) {
        fail(why, n, "kid required");
        return NULL;
    }
    if (key == NULL) {
        fail(why, n, "unknown kid");
        return NULL;
    }
    if (jwks_key_alg(key) != alg) {
        fail(why, n, "alg does not match the key");
        return NULL;
    }
    c->alg = alg;
    return key;
}

/* A NumericDate: integer or real, clamped into int64. */
static int num(json_t *v, int64_t *out)
{
    double d;

    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return 0;
    }
    if (!json_is_real(v))
        return -1;
    d = json_real_value(v);
    *out = d >= 9.2e18 ? INT64_MAX : d <= -9.2e18 ? INT64_MIN : (int64_t)d;
    return 0;
}

static int aud_ok(json_t *aud, const char *want)
{
    size_t i;
    json_t *v;

    if (json_is_string(aud))
        return strcmp(json_string_value(aud), want) == 0;
    json_array_foreach(aud, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), want) == 0)
            return 1;
    }
    return 0;
}

static int has_word(const char *s, const char *w)
{
    size_t wl = strlen(w);
    const char *p = s;

    while ((p = strstr(p, w)) != NULL) {
        if ((p == s || p[-1] == ' ') && (p[wl] == '\0' || p[wl] == ' '))
            return 1;
        p += wl;
    }
    return 0;
}

static int sub_ok(json_t *pl, jwt_claims_t *c, char *why, size_t n)
{
    json_t *scope = json_object_get(pl, "scope"), *sub;
    const char *s;
    size_t len, i;

    if (scope != NULL && !json_is_string(scope))
        return fail(why, n, "scope: must be a string");
    c->service = scope != NULL && has_word(json_string_value(scope), JWT_SCOPE);
    if ((sub = json_object_get(pl, "sub")) == NULL)
        return fail(why, n, "sub missing");
    if ((s = json_string_value(sub)) == NULL)
        return fail(why, n, "sub: must be a string");
    len = json_string_length(sub);
    if (c->service) {
        if (len < 1 || len > JWT_SERVICE_SUB)
            return fail(why, n, "sub: a service name of 1..64 characters");
        for (i = 0; i < len; i++)
            if (s[i] < 0x20 || s[i] > 0x7e)
                return fail(why, n,
                            "sub: a service name of printable characters");
        memcpy(c->sub, s, len + 1);
        return 0;
    }
    if (route_parse_id(s, len, &c->user_id) != 0)
        return fail(why, n, "sub: not a user id");
    memcpy(c->sub, s, len + 1);
    return 0;
}

static int claims_ok(const jwt_policy_t *p, json_t *pl, int64_t now,
                     jwt_claims_t *c, char *why, size_t n)
{
    json_t *nbf = json_object_get(pl, "nbf"), *iat = json_object_get(pl, "iat");
    const char *iss = json_string_value(json_object_get(pl, "iss"));
    int64_t t_nbf = 0, t_iat = 0;

    if (json_object_get(pl, "exp") == NULL)
        return fail(why, n, "exp missing");
    if (num(json_object_get(pl, "exp"), &c->exp) != 0)
        return fail(why, n, "exp: not a number");
    if ((nbf != NULL && num(nbf, &t_nbf) != 0) ||
        (iat != NULL && num(iat, &t_iat) != 0))
        return fail(why, n, "nbf/iat: not a number");
    if (iss == NULL || strcmp(iss, p->issuer) != 0)
        return fail(why, n, "wrong issuer");
    if (!aud_ok(json_object_get(pl, "aud"), p->audience))
        return fail(why, n, "wrong audience");
    if (jwt_check_time(p, c, now, why, n) != 0)
        return -1;
    if (nbf != NULL && t_nbf > now + p->leeway_s)
        return fail(why, n, "not valid yet (nbf)");
    if (iat != NULL && t_iat > now + p->leeway_s)
        return fail(why, n, "issued in the future (iat)");
    if (c->exp - now > p->max_lifetime_s + p->leeway_s ||
        (iat != NULL && t_iat < c->exp &&
         c->exp - t_iat > p->max_lifetime_s + p->leeway_s))
        return fail(why, n, "lifetime too long");
    return sub_ok(pl, c, why, n);
}

int jwt_check_time(const jwt_policy_t *p, const jwt_claims_t *c, int64_t now,
                   char *why, size_t n)
{
    if (c->exp > INT64_MAX - p->leeway_s || c->exp + p->leeway_s > now)
        return 0;
    return fail(why, n, "expired");
}

int jwt_verify(const jwks_t *keys, const jwt_policy_t *p, const char *tok,
               size_t len, int64_t now, jwt_claims_t *c, char *why, size_t n)
{
    uint8_t sig[1024];
    const char *seg[3];
    size_t sl[3], siglen;
    const jwks_key_t *key;
    json_t *h = NULL, *pl = NULL;
    int rc = -1;

    memset(c, 0, sizeof(*c));
    if (len > JWT_MAX_LEN)
        return fail(why, n, "token too large");
    if (split(tok, len, seg, sl) != 0)
        return fail(why, n, "malformed token: expected 3 segments");
    if ((h = segment_json(seg[0], sl[0])) == NULL)
        return fail(why, n, "malformed token: header");
    if ((key = header_key(keys, h, c, why, n)) == NULL)
        goto out;
    if (jose_b64url_decode(seg[2], sl[2], sig, sizeof(sig), &siglen) != 0) {
        fail(why, n, "malformed token: signature");
        goto out;
    }
    if (!jwks_key_verify(key, tok, sl[0] + 1 + sl[1], sig, siglen)) {
        fail(why, n, "bad signature");
        goto out;
    }
    if ((pl = segment_json(seg[1], sl[1])) == NULL) {
        fail(why, n, "malformed token: payload");
        goto out;
    }
    rc = claims_ok(p, pl, now, c, why, n);
out:
    json_decref(pl);
    json_decref(h);
    return rc;
}
