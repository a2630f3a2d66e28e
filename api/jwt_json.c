/* jwt_json.c -- the flat-object fast path for token JSON. See jwt_json.h.
 *
 * Every rule below is one jansson also enforces, narrowed where that is
 * simpler: a string is accepted only without escapes or bytes outside
 * 0x20..0x7e (jansson also takes escapes and UTF-8), an integer only in
 * the form -?(0|[1-9][0-9]{0,17}) followed by a delimiter (jansson also
 * takes reals and up to 19 digits, and refuses leading zeros, as we do by
 * giving up). Whitespace is the four characters of RFC 8259, as in
 * jansson. Whatever is not understood gives up (-1). */
#include <string.h>

#include "jwt_json.h"

typedef struct cur {
    const unsigned char *s;
    size_t i, len;
} cur_t;

static void skip_ws(cur_t *c)
{
    while (c->i < c->len && (c->s[c->i] == ' ' || c->s[c->i] == '\t' ||
                             c->s[c->i] == '\n' || c->s[c->i] == '\r'))
        c->i++;
}

/* At '"': a plain string; its contents in *v, *vlen. */
static int plain_string(cur_t *c, const char **v, size_t *vlen)
{
    size_t j = c->i + 1;

    if (c->i >= c->len || c->s[c->i] != '"')
        return -1;
    while (j < c->len && c->s[j] >= 0x20 && c->s[j] <= 0x7e && c->s[j] != '"' &&
           c->s[j] != '\\')
        j++;
    if (j >= c->len || c->s[j] != '"')
        return -1; /* an escape, a control or non-ASCII byte, or the end */
    *v = (const char *)c->s + c->i + 1;
    *vlen = j - c->i - 1;
    c->i = j + 1;
    return 0;
}

static int is_digit(const cur_t *c, size_t j)
{
    return j < c->len && c->s[j] >= '0' && c->s[j] <= '9';
}

static int integer(cur_t *c, int64_t *out)
{
    size_t j = c->i, d0;
    int64_t v = 0;
    int neg = 0;

    if (j < c->len && c->s[j] == '-') {
        neg = 1;
        j++;
    }
    d0 = j;
    while (is_digit(c, j) && j - d0 < 18)
        v = v * 10 + (c->s[j++] - '0');
    /* A fraction or exponent (a real) fails later: the caller wants a
     * blank, ',' or '}' next. */
    if (j == d0 || is_digit(c, j) || (c->s[d0] == '0' && j - d0 > 1))
        return -1; /* no digit, 19 or more, or a leading zero */
    *out = neg ? -v : v;
    c->i = j;
    return 0;
}

static int literal(cur_t *c, jwt_json_member_t *m)
{
    static const char *const words[] = { "true", "false", "null" };
    size_t k, wl;

    for (k = 0; k < 3; k++) {
        wl = strlen(words[k]);
        if (c->len - c->i >= wl && memcmp(c->s + c->i, words[k], wl) == 0) {
            m->type = JJ_LITERAL;
            m->v = (const char *)c->s + c->i;
            m->vlen = wl;
            c->i += wl;
            return 0;
        }
    }
    return -1;
}

/* At '[': plain strings separated by commas, possibly none. */
static int strings(cur_t *c, jwt_json_member_t *m)
{
    const char *v;
    size_t vl, start = ++c->i;

    skip_ws(c);
    if (c->i < c->len && c->s[c->i] == ']')
        goto close;
    for (;;) {
        if (plain_string(c, &v, &vl) != 0)
            return -1;
        skip_ws(c);
        if (c->i < c->len && c->s[c->i] == ']')
            goto close;
        if (c->i >= c->len || c->s[c->i] != ',')
            return -1;
        c->i++;
        skip_ws(c);
    }
close:
    m->type = JJ_STRINGS;
    m->v = (const char *)c->s + start;
    m->vlen = c->i - start;
    c->i++;
    return 0;
}

static int value(cur_t *c, jwt_json_member_t *m)
{
    if (c->i >= c->len)
        return -1;
    if (c->s[c->i] == '"') {
        m->type = JJ_STRING;
        return plain_string(c, &m->v, &m->vlen);
    }
    if (c->s[c->i] == '[')
        return strings(c, m);
    if (c->s[c->i] == '-' || is_digit(c, c->i)) {
        m->type = JJ_INT;
        return integer(c, &m->i);
    }
    return literal(c, m);
}

/* Claim names are short and mostly of one length: the first byte decides
 * most comparisons without a call. */
static int same_key(const jwt_json_member_t *m, const char *key, size_t klen)
{
    return m->klen == klen && (klen == 0 || (m->key[0] == key[0] &&
                                             memcmp(m->key, key, klen) == 0));
}

static int duplicate(const jwt_json_t *o, const char *key, size_t klen)
{
    size_t k;

    for (k = 0; k < o->n; k++)
        if (same_key(&o->m[k], key, klen))
            return 1;
    return 0;
}

/* "key" ws ':' ws value */
static int member(cur_t *c, jwt_json_t *o)
{
    jwt_json_member_t *m = &o->m[o->n];

    if (o->n >= JWT_JSON_MAX || plain_string(c, &m->key, &m->klen) != 0 ||
        duplicate(o, m->key, m->klen))
        return -1; /* a duplicate is invalid: jansson refuses it */
    skip_ws(c);
    if (c->i >= c->len || c->s[c->i] != ':')
        return -1;
    c->i++;
    skip_ws(c);
    if (value(c, m) != 0)
        return -1;
    o->n++;
    return 0;
}

int jwt_json_scan(const char *s, size_t len, jwt_json_t *o)
{
    cur_t c = { (const unsigned char *)s, 0, len };

    o->n = 0;
    skip_ws(&c);
    if (c.i >= len || c.s[c.i] != '{')
        return -1;
    c.i++;
    skip_ws(&c);
    if (c.i < len && c.s[c.i] == '}')
        goto close;
    for (;;) {
        if (member(&c, o) != 0)
            return -1;
        skip_ws(&c);
        if (c.i < len && c.s[c.i] == '}')
            goto close;
        if (c.i >= len || c.s[c.i] != ',')
            return -1;
        c.i++;
        skip_ws(&c);
    }
close:
    c.i++;
    skip_ws(&c);
    return c.i == len ? 0 : -1;
}

const jwt_json_member_t *jwt_json_get(const jwt_json_t *o, const char *key,
                                      size_t klen)
{
    size_t k;

    for (k = 0; k < o->n; k++)
        if (same_key(&o->m[k], key, klen))
            return &o->m[k];
    return NULL;
}

int jwt_json_strings_has(const jwt_json_member_t *m, const char *want)
{
    const char *p = m->v, *end = m->v + m->vlen, *q;
    size_t wl = strlen(want);

    /* The scan let only plain strings, blanks and commas in: quotes pair. */
    while ((p = memchr(p, '"', (size_t)(end - p))) != NULL) {
        q = memchr(p + 1, '"', (size_t)(end - p - 1));
        if ((size_t)(q - p - 1) == wl && memcmp(p + 1, want, wl) == 0)
            return 1;
        p = q + 1;
    }
    return 0;
}
