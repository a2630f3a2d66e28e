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

static int parse(const char *buf, size_t len, int64_t *user_id, int optional,
                 char *errstr, size_t n)
{
    json_error_t jerr;
    json_t *root;
    int rc;

    if (fast_path(buf, len, user_id) == 0)
        return 0;
    if (len == 0) {
        snprintf(errstr, n, "body: empty; " EXPECTED);
        return -1;
    }
    root =
        json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (root == NULL) {
        if (strstr(jerr.text, "too big") != NULL)
            snprintf(errstr, n,
                     "user_id: out of range 1 .. "
                     "9223372036854775807");
        else if (strstr(jerr.text, "duplicate") != NULL)
            snprintf(errstr, n, "body: duplicate field; " EXPECTED);
        else
            snprintf(errstr, n, "body: invalid JSON: %s at offset %d",
                     jerr.text, jerr.position);
        return -1;
    }
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
