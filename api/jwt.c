/* jwt.c -- compact JWS parsing, verification and claim checks. See jwt.h
 * for the rules and the reasons this is not libjwt.
 *
 * A segment's JSON goes through the allocation-free fast path of
 * jwt_json.h when it has the usual flat shape, else through jansson; both
 * fill the same view of the members (head_t, body_t), and every check reads
 * only that view, so the rules exist once. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "jose.h"
#include "jwt.h"
#include "jwt_json.h"
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

/* ---- the members the checks read, from either parser ---- */

/* One member as the checks see it. Strings point into the decoded segment
 * (fast path) or into jansson's value; both live until jwt_verify returns. */
typedef enum { V_ABSENT = 0, V_STRING, V_NUMBER, V_OTHER } vkind_t;
typedef struct val {
    vkind_t kind;
    const char *s; /* V_STRING, not NUL-terminated */
    size_t len;
    int64_t num; /* V_NUMBER: an integer, or a real clamped into int64 */
} val_t;

/* Header parameters refused (jwt.h), with their lengths. */
static const struct name {
    const char *s;
    size_t len;
} refused[] = { { "crit", 4 }, { "jku", 3 }, { "jwk", 3 }, { "x5u", 3 },
                { "x5c", 3 },  { "enc", 3 }, { "zip", 3 }, { "b64", 3 } };
#define N_REFUSED (sizeof(refused) / sizeof(refused[0]))

typedef struct head {
    val_t alg, kid;
    const char *refused; /* the first of refused[] present, or NULL */
} head_t;

typedef struct body {
    val_t exp, nbf, iat, iss, sub, scope;
    int aud_ok; /* aud is the audience or an array holding it */
} body_t;

/* A decoded segment: the fast path's members or jansson's object. */
typedef struct seg {
    uint8_t text[SEG_MAX];
    size_t len;
    jwt_json_t flat;
    json_t *j; /* NULL when the fast path took it */
} seg_t;

/* Decodes and parses s[0..len): 0, or -1 when it is not base64url of a
 * JSON object without duplicate members. */
static int seg_parse(seg_t *g, const char *s, size_t len)
{
    g->j = NULL;
    if (jose_b64url_decode(s, len, g->text, sizeof(g->text), &g->len) != 0)
        return -1;
    if (jwt_json_scan((const char *)g->text, g->len, &g->flat) == 0)
        return 0;
    g->j =
        json_loadb((const char *)g->text, g->len, JSON_REJECT_DUPLICATES, NULL);
    if (g->j != NULL && !json_is_object(g->j)) {
        json_decref(g->j);
        g->j = NULL;
    }
    return g->j != NULL ? 0 : -1;
}

static void val_json(json_t *v, val_t *out)
{
    double d;

    if (v == NULL)
        out->kind = V_ABSENT;
    else if (json_is_string(v)) {
        out->kind = V_STRING;
        out->s = json_string_value(v);
        out->len = json_string_length(v);
    } else if (json_is_integer(v)) {
        out->kind = V_NUMBER;
        out->num = (int64_t)json_integer_value(v);
    } else if (json_is_real(v)) {
        out->kind = V_NUMBER;
        d = json_real_value(v);
        out->num = d >= 9.2e18    ? INT64_MAX
                   : d <= -9.2e18 ? INT64_MIN
                                  : (int64_t)d;
    } else
        out->kind = V_OTHER;
}

static void val_flat(const jwt_json_member_t *m, val_t *out)
{
    if (m == NULL)
        out->kind = V_ABSENT;
    else if (m->type == JJ_STRING) {
        out->kind = V_STRING;
        out->s = m->v;
        out->len = m->vlen;
    } else if (m->type == JJ_INT) {
        out->kind = V_NUMBER;
        out->num = m->i;
    } else
        out->kind = V_OTHER;
}

/* The member called name (nlen bytes, a literal) into *out. */
static void seg_get(const seg_t *g, const char *name, size_t nlen, val_t *out)
{
    memset(out, 0, sizeof(*out));
    if (g->j != NULL)
        val_json(json_object_get(g->j, name), out);
    else
        val_flat(jwt_json_get(&g->flat, name, nlen), out);
}
#define SEG_GET(g, lit, out) seg_get((g), (lit), sizeof(lit) - 1, (out))

static int str_is(const val_t *v, const char *want)
{
    size_t wl = strlen(want);

    return v->kind == V_STRING && v->len == wl && memcmp(v->s, want, wl) == 0;
}

static int aud_json(json_t *aud, const char *want)
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

static int aud_flat(const jwt_json_member_t *m, const char *want)
{
    val_t v;

    if (m == NULL)
        return 0;
    if (m->type == JJ_STRINGS)
        return jwt_json_strings_has(m, want);
    val_flat(m, &v);
    return str_is(&v, want);
}

/* The first of refused[] the header holds, or NULL. The fast path looks
 * at the few members there are rather than for each refused name. */
static const char *refused_of(const seg_t *g)
{
    size_t i, k, first = N_REFUSED;
    const jwt_json_member_t *m;

    if (g->j != NULL) {
        for (i = 0; i < N_REFUSED; i++)
            if (json_object_get(g->j, refused[i].s) != NULL)
                return refused[i].s;
        return NULL;
    }
    for (k = 0; k < g->flat.n; k++) {
        m = &g->flat.m[k];
        for (i = 0; i < first; i++)
            if (m->klen == refused[i].len &&
                memcmp(m->key, refused[i].s, m->klen) == 0)
                first = i;
    }
    return first < N_REFUSED ? refused[first].s : NULL;
}

static void head_of(const seg_t *g, head_t *h)
{
    SEG_GET(g, "alg", &h->alg);
    SEG_GET(g, "kid", &h->kid);
    h->refused = refused_of(g);
}

static void body_of(const seg_t *g, const char *audience, body_t *b)
{
    SEG_GET(g, "exp", &b->exp);
    SEG_GET(g, "nbf", &b->nbf);
    SEG_GET(g, "iat", &b->iat);
    SEG_GET(g, "iss", &b->iss);
    SEG_GET(g, "sub", &b->sub);
    SEG_GET(g, "scope", &b->scope);
    b->aud_ok = g->j != NULL
                    ? aud_json(json_object_get(g->j, "aud"), audience)
                    : aud_flat(jwt_json_get(&g->flat, "aud", 3), audience);
}

/* ---- the checks ---- */

static int header_alg(const head_t *h, jwt_alg_t *alg, char *why, size_t n)
{
    if (h->alg.kind != V_STRING)
        return fail(why, n, "malformed token: no alg");
    if (h->alg.len == 4 && strncasecmp(h->alg.s, "none", 4) == 0)
        return fail(why, n, "alg none is not accepted");
    if (str_is(&h->alg, "HS256"))
        *alg = JWT_ALG_HS256;
    else if (str_is(&h->alg, "ES256"))
        *alg = JWT_ALG_ES256;
    else if (str_is(&h->alg, "RS256"))
        *alg = JWT_ALG_RS256;
    else
        return fail(why, n, "alg not accepted");
    if (h->refused != NULL) {
        snprintf(why, n, "header parameter \"%s\" is not accepted", h->refused);
        return -1;
    }
    return 0;
}

/* The key the header names, its algorithm pinned. */
static const jwks_key_t *header_key(const jwks_t *keys, const head_t *h,
                                    jwt_claims_t *c, char *why, size_t n)
{
    const jwks_key_t *key;
    jwt_alg_t alg;

    if (h->kid.kind != V_ABSENT &&
        (h->kid.kind != V_STRING || h->kid.len == 0 ||
         h->kid.len > JWKS_KID_MAX)) {
        fail(why, n, "unknown kid");
        return NULL;
    }
    if (h->kid.kind == V_STRING) {
        memcpy(c->kid, h->kid.s, h->kid.len);
        c->kid[h->kid.len] = '\0';
    }
    if (header_alg(h, &alg, why, n) != 0)
        return NULL;
    if (h->kid.kind == V_STRING)
        key = jwks_find(keys, c->kid, h->kid.len);
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

/* w appears in s[0..len) as a word: between blanks or the ends. */
static int has_word(const char *s, size_t len, const char *w)
{
    size_t wl = strlen(w), i = 0, j;

    while (i < len) {
        for (j = i; j < len && s[j] != ' '; j++)
            ;
        if (j - i == wl && memcmp(s + i, w, wl) == 0)
            return 1;
        i = j + 1;
    }
    return 0;
}

static int sub_ok(const body_t *b, jwt_claims_t *c, char *why, size_t n)
{
    const char *s = b->sub.s;
    size_t len = b->sub.len, i;

    if (b->scope.kind != V_ABSENT && b->scope.kind != V_STRING)
        return fail(why, n, "scope: must be a string");
    c->service = b->scope.kind == V_STRING &&
                 has_word(b->scope.s, b->scope.len, JWT_SCOPE);
    if (b->sub.kind == V_ABSENT)
        return fail(why, n, "sub missing");
    if (b->sub.kind != V_STRING)
        return fail(why, n, "sub: must be a string");
    if (c->service) {
        if (len < 1 || len > JWT_SERVICE_SUB)
            return fail(why, n, "sub: a service name of 1..64 characters");
        for (i = 0; i < len; i++)
            if (s[i] < 0x20 || s[i] > 0x7e)
                return fail(why, n,
                            "sub: a service name of printable characters");
    } else if (route_parse_id(s, len, &c->user_id) != 0)
        return fail(why, n, "sub: not a user id");
    memcpy(c->sub, s, len);
    c->sub[len] = '\0';
    return 0;
}

static int claims_ok(const jwt_policy_t *p, const body_t *b, int64_t now,
                     jwt_claims_t *c, char *why, size_t n)
{
    int has_nbf = b->nbf.kind != V_ABSENT, has_iat = b->iat.kind != V_ABSENT;

    if (b->exp.kind == V_ABSENT)
        return fail(why, n, "exp missing");
    if (b->exp.kind != V_NUMBER)
        return fail(why, n, "exp: not a number");
    c->exp = b->exp.num;
    if ((has_nbf && b->nbf.kind != V_NUMBER) ||
        (has_iat && b->iat.kind != V_NUMBER))
        return fail(why, n, "nbf/iat: not a number");
    if (!str_is(&b->iss, p->issuer))
        return fail(why, n, "wrong issuer");
    if (!b->aud_ok)
        return fail(why, n, "wrong audience");
    if (jwt_check_time(p, c, now, why, n) != 0)
        return -1;
    if (has_nbf && b->nbf.num > now + p->leeway_s)
        return fail(why, n, "not valid yet (nbf)");
    if (has_iat && b->iat.num > now + p->leeway_s)
        return fail(why, n, "issued in the future (iat)");
    if (c->exp - now > p->max_lifetime_s + p->leeway_s ||
        (has_iat && b->iat.num < c->exp &&
         c->exp - b->iat.num > p->max_lifetime_s + p->leeway_s))
        return fail(why, n, "lifetime too long");
    return sub_ok(b, c, why, n);
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
    seg_t hs, ps; /* header, payload */
    head_t h;
    body_t b;
    int rc = -1;

    memset(c, 0, sizeof(*c));
    hs.j = ps.j = NULL;
    if (len > JWT_MAX_LEN)
        return fail(why, n, "token too large");
    if (split(tok, len, seg, sl) != 0)
        return fail(why, n, "malformed token: expected 3 segments");
    if (seg_parse(&hs, seg[0], sl[0]) != 0)
        return fail(why, n, "malformed token: header");
    head_of(&hs, &h);
    if ((key = header_key(keys, &h, c, why, n)) == NULL)
        goto out;
    if (jose_b64url_decode(seg[2], sl[2], sig, sizeof(sig), &siglen) != 0) {
        fail(why, n, "malformed token: signature");
        goto out;
    }
    if (!jwks_key_verify(key, tok, sl[0] + 1 + sl[1], sig, siglen)) {
        fail(why, n, "bad signature");
        goto out;
    }
    if (seg_parse(&ps, seg[1], sl[1]) != 0) {
        fail(why, n, "malformed token: payload");
        goto out;
    }
    body_of(&ps, p->audience, &b);
    rc = claims_ok(p, &b, now, c, why, n);
out:
    json_decref(ps.j);
    json_decref(hs.j);
    return rc;
}
