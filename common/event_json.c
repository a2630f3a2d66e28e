/* event_json.c -- jansson field checks for the event decoders. See
 * event_json.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_json.h"

event_reason_t event_json_load(const char *buf, size_t len, json_t **root,
                               char *errstr, size_t n)
{
    json_error_t jerr;

    *root = NULL;
    if (buf == NULL) /* an empty Kafka message has no payload pointer */
        buf = "", len = 0;
    if (len > EVENT_JSON_MAX_PAYLOAD) {
        snprintf(errstr, n, "payload: %zu bytes is over the %d-byte limit", len,
                 EVENT_JSON_MAX_PAYLOAD);
        return EVENT_ERR_TOO_BIG;
    }
    *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (*root == NULL) {
        snprintf(errstr, n, "json: %s at line %d column %d", jerr.text,
                 jerr.line, jerr.column);
        return EVENT_ERR_JSON;
    }
    if (!json_is_object(*root)) {
        snprintf(errstr, n, "json: expected an object");
        json_decref(*root);
        *root = NULL;
        return EVENT_ERR_JSON;
    }
    return EVENT_OK;
}

/* Compact JSON of v for error messages, cut to fit. */
static void describe(const json_t *v, char *out, size_t n)
{
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

    if (s == NULL) {
        snprintf(out, n, "?");
        return;
    }
    if (strlen(s) > 64)
        snprintf(out, n, "%.61s...", s);
    else
        snprintf(out, n, "%s", s);
    free(s);
}

event_reason_t event_json_field_err(event_reason_t r, const char *field,
                                    const char *why, const json_t *v,
                                    char *errstr, size_t n)
{
    char got[72];

    describe(v, got, sizeof(got));
    snprintf(errstr, n, "%s: %s, got %s", field, why, got);
    return r;
}

event_reason_t event_json_need(const json_t *obj, const char *field, json_t **v,
                               char *errstr, size_t n)
{
    *v = json_object_get(obj, field);
    if (*v == NULL) {
        snprintf(errstr, n, "%s: missing", field);
        return EVENT_ERR_MISSING;
    }
    return EVENT_OK;
}

event_reason_t event_json_int(const json_t *obj, const char *field, int64_t min,
                              int64_t max, const char *why, int64_t *out,
                              char *errstr, size_t n)
{
    json_t *v;
    event_reason_t r = event_json_need(obj, field, &v, errstr, n);

    if (r != EVENT_OK)
        return r;
    if (!json_is_integer(v) || json_integer_value(v) < min ||
        json_integer_value(v) > max)
        return event_json_field_err(EVENT_ERR_FIELD, field, why, v, errstr, n);
    *out = (int64_t)json_integer_value(v);
    return EVENT_OK;
}

event_reason_t event_json_known(const json_t *obj, const char *const *known,
                                size_t nknown, char *errstr, size_t n)
{
    const char *key;
    json_t *v;
    size_t i;

    json_object_foreach((json_t *)obj, key, v)
    {
        for (i = 0; i < nknown; i++)
            if (strcmp(key, known[i]) == 0)
                break;
        if (i == nknown) {
            snprintf(errstr, n, "%.64s: unknown field", key);
            return EVENT_ERR_EXTRA;
        }
    }
    return EVENT_OK;
}
