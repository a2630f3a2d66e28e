/* fuzz_body.c -- libFuzzer target for body_parse_issue(), the api's parser
 * of the POST /v1/coupons/{id}/issues JSON body (untrusted client bytes).
 *
 * Beyond "does not crash", it checks the contract of api/body.h against an
 * independent reading of the same bytes: the body is accepted exactly when
 * it is a JSON object whose only key is the 7 bytes "user_id" and whose
 * value is an integer 1 .. 2^63-1, and then *user_id is that integer; a
 * refusal always comes with an error text. The reference walks keys with
 * their lengths, so a key such as "user_id\u0000x" cannot pass as user_id. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "body.h"

/* 1 with *uid set when the bytes are exactly {"user_id": <int > 0>}. */
static int reference(const uint8_t *data, size_t size, int64_t *uid)
{
    json_t *root, *v;
    const char *key;
    size_t klen;
    int ok = 1, seen = 0;

    root = json_loadb((const char *)data, size,
                      JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
    if (root == NULL)
        return 0;
    if (!json_is_object(root))
        ok = 0;
    else
        json_object_keylen_foreach(root, key, klen, v)
        {
            if (klen != 7 || memcmp(key, "user_id", 7) != 0 ||
                !json_is_integer(v) || json_integer_value(v) <= 0)
                ok = 0;
            else
                *uid = json_integer_value(v), seen = 1;
        }
    json_decref(root);
    return ok && seen;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    int64_t got = 0, want = 0;
    int rc, ref;

    err[0] = '\0';
    rc = body_parse_issue((const char *)data, size, &got, err, sizeof(err));
    ref = reference(data, size, &want);
    if (rc == 0 && (!ref || got != want))
        abort(); /* accepted something that is not {"user_id": N > 0} */
    if (rc != 0 && (ref || err[0] == '\0'))
        abort(); /* refused a valid body, or refused without a reason */
    return 0;
}
