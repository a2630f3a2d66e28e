/* jwt_json.h -- the fast path for the JSON of a JWS header or claims set:
 * one flat object whose member values are plain strings (printable ASCII,
 * no escapes), integers of at most 18 digits, true/false/null, or arrays of
 * plain strings. Read in one pass, nothing allocated; the members point
 * into the caller's text.
 *
 * It is a filter, not a parser. It answers 0 only for text that jansson
 * (json_loadb with JSON_REJECT_DUPLICATES, which api/jwt.c uses otherwise)
 * accepts with exactly these members and values; everything else --
 * escapes, non-ASCII bytes, reals, nested objects, more than JWT_JSON_MAX
 * members, and all invalid JSON -- answers -1, and the caller hands the text
 * to jansson, which decides. So the fast path can make a token cheaper,
 * never acceptable when it would not be. tests/unit/test_api_jwt_json.c
 * compares the two on mutated inputs. Pure. */
#ifndef COUPONQ_API_JWT_JSON_H
#define COUPONQ_API_JWT_JSON_H

#include <stddef.h>
#include <stdint.h>

#define JWT_JSON_MAX 24 /* members */

typedef enum {
    JJ_STRING = 1, /* v[0..vlen): the contents, no quotes */
    JJ_INT,        /* i */
    JJ_LITERAL,    /* true, false or null: v[0..vlen) */
    JJ_STRINGS     /* v[0..vlen): the text between the brackets */
} jwt_json_type_t;

typedef struct jwt_json_member {
    const char *key; /* not NUL-terminated */
    size_t klen;
    jwt_json_type_t type;
    const char *v;
    size_t vlen;
    int64_t i;
} jwt_json_member_t;

typedef struct jwt_json {
    size_t n;
    jwt_json_member_t m[JWT_JSON_MAX];
} jwt_json_t;

/* 0 with o filled when s[0..len) is such an object; -1 otherwise (not
 * necessarily invalid JSON: ask the full parser). */
int jwt_json_scan(const char *s, size_t len, jwt_json_t *o);

/* The member named key[0..klen), or NULL. */
const jwt_json_member_t *jwt_json_get(const jwt_json_t *o, const char *key,
                                      size_t klen);

/* 1 when the JJ_STRINGS member m holds the string want (a C string). */
int jwt_json_strings_has(const jwt_json_member_t *m, const char *want);

#endif
