/* body.c -- POST body validation with jansson. See body.h. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "body.h"
#include "route.h"

#define EXPECTED "expected {\"user_id\": <integer > 0>}"

static const char *json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number with a fraction or exponent";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "unknown";
}

static int check_object(json_t *root, int64_t *user_id, int optional,
                        char *errstr, size_t n)
{
    const char *key;
    json_t *v, *uid = NULL;

    if (!json_is_object(root)) {
        snprintf(errstr, n, "body: must be a JSON object, got %s; " EXPECTED,
                 json_type_name(root));
        return -1;
    }
    json_object_foreach(root, key, v)
    {
        if (strcmp(key, "user_id") != 0) {
            snprintf(errstr, n, "body: unknown field \"%.64s\"; " EXPECTED,
                     key);
            return -1;
        }
        uid = v;
    }
    if (uid == NULL && optional) {
        *user_id = 0;
        return 0;
    }
    if (uid == NULL) {
        snprintf(errstr, n, "user_id: missing; " EXPECTED);
        return -1;
    }
    if (!json_is_integer(uid)) {
        snprintf(errstr, n, "user_id: must be an integer, got %s",
                 json_type_name(uid));
        return -1;
    }
    if (json_integer_value(uid) <= 0) {
        snprintf(errstr, n, "user_id: must be > 0, got %lld",
                 (long long)json_integer_value(uid));
        return -1;
    }
    *user_id = json_integer_value(uid);
    return 0;
}

/* The bytes every well-behaved client sends, {"user_id":<id>} with no
 * spaces, are accepted without building a JSON tree; anything else goes
 * through jansson, so the answers are the same either way. */
static int fast_path(const char *buf, size_t len, int64_t *user_id)
{
    static const char head[] = "{\"user_id\":";
    const size_t hl = sizeof(head) - 1;

    if (len < hl + 2 || memcmp(buf, head, hl) != 0 || buf[len - 1] != '}')
        return -1;
    return route_parse_id(buf + hl, len - hl - 1, user_id);
}

/* The JSON value of buf, or NULL with errstr: empty, invalid, a number
 * beyond int64 (too_big names the field it can be), a duplicated field. */
static json_t *load(const char *buf, size_t len, const char *expected,
                    const char *too_big, char *errstr, size_t n)
{
    json_error_t jerr;
    json_t *root;

    if (len == 0) {
        snprintf(errstr, n, "body: empty; %s", expected);
        return NULL;
    }
    root =
        json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (root != NULL)
        return root;
    if (strstr(jerr.text, "too big") != NULL)
        snprintf(errstr, n, "%s", too_big);
    else if (strstr(jerr.text, "duplicate") != NULL)
        snprintf(errstr, n, "body: duplicate field; %s", expected);
    else
        snprintf(errstr, n, "body: invalid JSON: %s at offset %d", jerr.text,
                 jerr.position);
    return NULL;
}

static int parse(const char *buf, size_t len, int64_t *user_id, int optional,
                 char *errstr, size_t n)
{
    json_t *root;
    int rc;

    if (fast_path(buf, len, user_id) == 0)
        return 0;
    root = load(buf, len, EXPECTED,
                "user_id: out of range 1 .. "
                "9223372036854775807",
                errstr, n);
    if (root == NULL)
        return -1;
    rc = check_object(root, user_id, optional, errstr, n);
    json_decref(root);
    return rc;
}

int body_parse_issue(const char *buf, size_t len, int64_t *user_id,
                     char *errstr, size_t n)
{
    return parse(buf, len, user_id, 0, errstr, n);
}

int body_parse_issue_opt(const char *buf, size_t len, int64_t *user_id,
                         char *errstr, size_t n)
{
    if (len == 2 && memcmp(buf, "{}", 2) == 0) {
        *user_id = 0;
        return 0;
    }
    return parse(buf, len, user_id, 1, errstr, n);
}

/* ---- redemption bodies ---- */

#define HOLD_EXPECTED                                                          \
    "expected {\"user_id\": <integer > 0>, \"order_id\": \"<1..64 of "         \
    "A-Za-z0-9._:->\", \"order_amount\": <integer 0..2147483647>}"
#define REVERSE_EXPECTED                                                       \
    "expected {\"reversal_id\": \"<1..64 of A-Za-z0-9._:->\", \"amount\": "    \
    "<integer 1..2147483647>}"
#define AMOUNT_TOO_BIG                                                         \
    "body: a number is out of range (amounts: at most 2147483647)"

/* One expected field of an object body: its name and where it goes. */
typedef struct field {
    const char *name;
    json_t *v;
} field_t;

/* Fills f[i].v from root's fields; an unknown field or a non-object is
 * refused. */
static int fields_of(json_t *root, field_t *f, int nf, const char *expected,
                     char *errstr, size_t n)
{
    const char *key;
    json_t *v;
    int i;

    if (!json_is_object(root)) {
        snprintf(errstr, n, "body: must be a JSON object, got %s; %s",
                 json_type_name(root), expected);
        return -1;
    }
    json_object_foreach(root, key, v)
    {
        for (i = 0; i < nf && strcmp(key, f[i].name) != 0; i++)
            ;
        if (i == nf) {
            snprintf(errstr, n, "body: unknown field \"%.64s\"; %s", key,
                     expected);
            return -1;
        }
        f[i].v = v;
    }
    return 0;
}

static int missing(const char *name, const char *expected, char *errstr,
                   size_t n)
{
    snprintf(errstr, n, "%s: missing; %s", name, expected);
    return -1;
}

/* An integer field within min..max. */
static int int_field(const field_t *f, int64_t min, int64_t max, int64_t *out,
                     char *errstr, size_t n)
{
    json_int_t v;

    if (!json_is_integer(f->v)) {
        snprintf(errstr, n, "%s: must be an integer, got %s", f->name,
                 json_type_name(f->v));
        return -1;
    }
    v = json_integer_value(f->v);
    if (v < min || v > max) {
        snprintf(errstr, n, "%s: must be %lld .. %lld, got %lld", f->name,
                 (long long)min, (long long)max, (long long)v);
        return -1;
    }
    *out = v;
    return 0;
}

/* 1..64 of [A-Za-z0-9._:-]: safe in a Redis hash field, a Kafka key, a
 * path and a JSON string without escaping. */
static int id_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' ||
           c == '-';
}

static int id_field(const field_t *f, char out[BODY_ID_MAX + 1], char *errstr,
                    size_t n)
{
    const char *s;
    size_t len, i;

    if (!json_is_string(f->v)) {
        snprintf(errstr, n, "%s: must be a string, got %s", f->name,
                 json_type_name(f->v));
        return -1;
    }
    s = json_string_value(f->v);
    len = json_string_length(f->v);
    if (len < 1 || len > BODY_ID_MAX) {
        snprintf(errstr, n,
                 "%s: must be 1 to 64 characters of A-Z a-z 0-9 . _ : -, got "
                 "%zu characters",
                 f->name, len);
        return -1;
    }
    for (i = 0; i < len; i++)
        if (!id_char(s[i])) {
            snprintf(errstr, n,
                     "%s: character %zu (0x%02x) is not one of A-Z a-z 0-9 . "
                     "_ : -",
                     f->name, i + 1, (unsigned)(unsigned char)s[i]);
            return -1;
        }
    memcpy(out, s, len + 1);
    return 0;
}

static int check_hold(json_t *root, int user_optional, body_hold_t *out,
                      char *errstr, size_t n)
{
    field_t f[3] = { { "user_id", NULL },
                     { "order_id", NULL },
                     { "order_amount", NULL } };
    body_hold_t h = { 0, "", 0 };

    if (fields_of(root, f, 3, HOLD_EXPECTED, errstr, n) != 0)
        return -1;
    if (f[0].v == NULL && !user_optional)
        return missing("user_id", HOLD_EXPECTED, errstr, n);
    if (f[1].v == NULL)
        return missing("order_id", HOLD_EXPECTED, errstr, n);
    if (f[2].v == NULL)
        return missing("order_amount", HOLD_EXPECTED, errstr, n);
    if ((f[0].v != NULL &&
         int_field(&f[0], 1, INT64_MAX, &h.user_id, errstr, n) != 0) ||
        id_field(&f[1], h.order_id, errstr, n) != 0 ||
        int_field(&f[2], 0, BODY_AMOUNT_MAX, &h.order_amount, errstr, n) != 0)
        return -1;
    *out = h;
    return 0;
}

int body_parse_hold(const char *buf, size_t len, int user_optional,
                    body_hold_t *h, char *errstr, size_t n)
{
    json_t *root = load(buf, len, HOLD_EXPECTED, AMOUNT_TOO_BIG, errstr, n);
    int rc;

    if (root == NULL)
        return -1;
    rc = check_hold(root, user_optional, h, errstr, n);
    json_decref(root);
    return rc;
}

static int check_reverse(json_t *root, body_reverse_t *out, char *errstr,
                         size_t n)
{
    field_t f[2] = { { "reversal_id", NULL }, { "amount", NULL } };
    body_reverse_t r = { "", 0 };

    if (fields_of(root, f, 2, REVERSE_EXPECTED, errstr, n) != 0)
        return -1;
    if (f[0].v == NULL)
        return missing("reversal_id", REVERSE_EXPECTED, errstr, n);
    if (f[1].v == NULL)
        return missing("amount", REVERSE_EXPECTED, errstr, n);
    if (id_field(&f[0], r.reversal_id, errstr, n) != 0 ||
        int_field(&f[1], 1, BODY_AMOUNT_MAX, &r.amount, errstr, n) != 0)
        return -1;
    *out = r;
    return 0;
}

int body_parse_reverse(const char *buf, size_t len, body_reverse_t *r,
                       char *errstr, size_t n)
{
    json_t *root = load(buf, len, REVERSE_EXPECTED, AMOUNT_TOO_BIG, errstr, n);
    int rc;

    if (root == NULL)
        return -1;
    rc = check_reverse(root, r, errstr, n);
    json_decref(root);
    return rc;
}

int body_parse_empty(const char *buf, size_t len, char *errstr, size_t n)
{
    static const char expected[] = "expected no body or {}";
    json_t *root;
    int rc;

    if (len == 0)
        return 0;
    if ((root = load(buf, len, expected, "body: expected no body or {}", errstr,
                     n)) == NULL)
        return -1;
    rc = fields_of(root, NULL, 0, expected, errstr, n);
    json_decref(root);
    return rc;
}
