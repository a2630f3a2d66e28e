/* event_json.h -- the jansson field checks shared by the event decoders
 * (event.c for issue requests, redemption_event.c for redemptions), so both
 * report a problem the same way: the reason code that becomes the DLQ
 * `reason` header, and a message "<field>: <why>, got <value>".
 *
 * Every function returns EVENT_OK or the reason, and on a reason writes
 * errstr. Internal to the decoders; nothing else needs jansson types. */
#ifndef COUPONQ_EVENT_JSON_H
#define COUPONQ_EVENT_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "event.h"

#define EVENT_JSON_MAX_PAYLOAD 65536 /* larger payloads are not parsed */

/* Parses buf (NULL = an empty Kafka message) into *root, an object with no
 * duplicate keys; the caller json_decref()s it. EVENT_ERR_TOO_BIG over
 * EVENT_JSON_MAX_PAYLOAD bytes, EVENT_ERR_JSON for anything not an object. */
event_reason_t event_json_load(const char *buf, size_t len, json_t **root,
                               char *errstr, size_t n);

/* Formats "<field>: <why>, got <v as compact JSON, cut>" and returns r. */
event_reason_t event_json_field_err(event_reason_t r, const char *field,
                                    const char *why, const json_t *v,
                                    char *errstr, size_t n);

/* *v = obj[field]; EVENT_ERR_MISSING ("<field>: missing") when absent. */
event_reason_t event_json_need(const json_t *obj, const char *field, json_t **v,
                               char *errstr, size_t n);

/* A JSON integer in min..max (reals, strings, booleans refused:
 * EVENT_ERR_FIELD with why). jansson reads integers exactly (strtoll), and
 * one beyond int64 is a parse error, so *out is the integer written. */
event_reason_t event_json_int(const json_t *obj, const char *field, int64_t min,
                              int64_t max, const char *why, int64_t *out,
                              char *errstr, size_t n);

/* EVENT_ERR_EXTRA ("<key>: unknown field") for the first key of obj that is
 * not one of known[0..nknown). */
event_reason_t event_json_known(const json_t *obj, const char *const *known,
                                size_t nknown, char *errstr, size_t n);

#endif
