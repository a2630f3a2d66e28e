/* token.c -- couponqctl token --user N | --service. See token.h.
 *
 * The key is an HS256 ("kty":"oct") key of --keys (default: the
 * development key scripts/run writes, $COUPONQ_STACK_DIR/run/dev-jwks.json);
 * --kid picks one, else the first HS256 key. The claims are the ones
 * couponq-api requires: iss, aud, sub, iat, exp (now + --ttl). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "jose.h"
#include "timearg.h"
#include "token.h"

static const cfg_opt_t token_opts[] = {
    { "user", NULL, CFG_INT, 0, INT64_MAX, "0", "the user id (sub)" },
    { "service", NULL, CFG_BOOL, 0, 0, "false",
      "a service token (scope couponq:service) instead" },
    { "name", NULL, CFG_STR, 0, 0, "couponqctl", "sub of a service token" },
    { "ttl", NULL, CFG_STR, 0, 0, "5m", "lifetime (units ms s m h d)" },
    { "keys", "COUPONQ_JWT_KEYS", CFG_STR, 0, 0, NULL,
      "JWKS file (default: $COUPONQ_STACK_DIR/run/dev-jwks.json)" },
    { "kid", NULL, CFG_STR, 0, 0, NULL, "key id (default: the first HS256)" },
    { "issuer", "COUPONQ_JWT_ISSUER", CFG_STR, 0, 0, "couponq", "iss" },
    { "audience", "COUPONQ_JWT_AUDIENCE", CFG_STR, 0, 0, "couponq", "aud" },
    CFG_OPT_LOG_LEVEL,
    TOOL_OPT_JSON,
};

/* The secret of the chosen oct key into key[]; kid copied out. */
static int find_key(tool_t *t, const char *path, const char *want, uint8_t *key,
                    size_t *klen, char *kid, size_t kn)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr), *k;
    const char *s, *id;
    size_t i;
    int rc = -1;

    if (root == NULL) {
        tool_fail(t, TOOL_EXIT_USAGE, "--keys %s: %s", path, jerr.text);
        return -1;
    }
    json_array_foreach(json_object_get(root, "keys"), i, k)
    {
        id = json_string_value(json_object_get(k, "kid"));
        if ((s = json_string_value(json_object_get(k, "k"))) == NULL ||
            !json_is_string(json_object_get(k, "alg")) ||
            strcmp(json_string_value(json_object_get(k, "alg")), "HS256") !=
                0 ||
            (want != NULL && (id == NULL || strcmp(id, want) != 0)))
            continue;
        if (jose_b64url_decode(s, strlen(s), key, 512, klen) != 0)
            break;
        snprintf(kid, kn, "%s", id ? id : "");
        rc = 0;
        break;
    }
    json_decref(root);
    if (rc != 0)
        tool_fail(t, TOOL_EXIT_USAGE, "--keys %s: no usable HS256 key%s%s",
                  path, want ? " with kid " : "", want ? want : "");
    return rc;
}

static int claims(tool_t *t, const config_t *c, char *out, size_t n)
{
    int64_t now = (int64_t)time(NULL), exp_ms;
    char rel[64], err[128];
    json_t *j = json_object();
    char *text;

    snprintf(rel, sizeof(rel), "+%s", config_str(c, "ttl"));
    if (timearg_parse(rel, now * 1000, &exp_ms, err, sizeof(err)) != 0 ||
        exp_ms <= now * 1000) {
        json_decref(j);
        tool_fail(t, TOOL_EXIT_USAGE, "--ttl: %s", err);
        return -1;
    }
    json_object_set_new(j, "iss", json_string(config_str(c, "issuer")));
    json_object_set_new(j, "aud", json_string(config_str(c, "audience")));
    if (config_bool(c, "service")) {
        json_object_set_new(j, "sub", json_string(config_str(c, "name")));
        json_object_set_new(j, "scope", json_string("couponq:service"));
    } else {
        snprintf(rel, sizeof(rel), "%lld", config_int(c, "user"));
        json_object_set_new(j, "sub", json_string(rel));
    }
    json_object_set_new(j, "iat", json_integer(now));
    json_object_set_new(j, "exp", json_integer(exp_ms / 1000));
    text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (text == NULL || strlen(text) >= n) {
        free(text);
        tool_fail(t, TOOL_EXIT_ERROR, "out of memory");
        return -1;
    }
    memcpy(out, text, strlen(text) + 1);
    free(text);
    return 0;
}

static int cmd_token(tool_t *t)
{
    const config_t *c = tool_cfg(t);
    const char *path = config_str(c, "keys"), *dir;
    char def[1024], kid[80], payload[1024], tok[4096];
    uint8_t key[512];
    size_t klen = 0;
    int len;

    if (config_bool(c, "service") == (config_int(c, "user") > 0))
        return tool_fail(t, TOOL_EXIT_USAGE, "give --user N or --service");
    if (path == NULL) {
        dir = getenv("COUPONQ_STACK_DIR");
        snprintf(def, sizeof(def), "%s/run/dev-jwks.json",
                 dir && *dir ? dir : ".stack");
        path = def;
    }
    if (find_key(t, path, config_str(c, "kid"), key, &klen, kid, sizeof(kid)) !=
            0 ||
        claims(t, c, payload, sizeof(payload)) != 0)
        return TOOL_EXIT_USAGE;
    len = jose_mint_hs256(key, klen, kid[0] ? kid : NULL, payload, tok,
                          sizeof(tok));
    OPENSSL_cleanse(key, sizeof(key));
    if (len < 0)
        return tool_fail(t, TOOL_EXIT_ERROR, "token does not fit");
    tool_set_str(t, "token", tok);
    return TOOL_EXIT_OK;
}

const tool_cmd_t token_cmds[] = {
    { "token", "--user N | --service [--ttl DURATION] [--keys FILE] [--kid K]",
      "Prints a token for couponq-api (Authorization: Bearer <token>),\n"
      "signed with an HS256 key of --keys: by default the development key\n"
      "that scripts/run writes. Never give it a production key's file on a\n"
      "shared machine.",
      token_opts, sizeof(token_opts) / sizeof(token_opts[0]), cmd_token },
};

const size_t token_ncmds = 1;
