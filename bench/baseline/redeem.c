/* redeem.c -- the redemption HTTP shape of the baselines. See redeem.h. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "redeem.h"

static const struct {
    int status;
    const char *text, *name;
} answers[] = {
    [RD_HELD] = { 201, "Created", "held" },
    [RD_CONFIRMED] = { 200, "OK", "confirmed" },
    [RD_RELEASED] = { 200, "OK", "released" },
    [RD_NOT_OWNED] = { 403, "Forbidden", "not_owned" },
    [RD_SOLD_OUT] = { 410, "Gone", "use_sold_out" },
    [RD_ORDER_CONFLICT] = { 409, "Conflict", "order_conflict" },
    [RD_HOLD_EXPIRED] = { 409, "Conflict", "hold_expired" },
    [RD_NOT_HELD] = { 409, "Conflict", "not_held" },
    [RD_ALREADY_CONFIRMED] = { 409, "Conflict", "already_confirmed" },
    [RD_NOT_FOUND] = { 404, "Not Found", "not_found" },
    [RD_UNAVAILABLE] = { 503, "Service Unavailable", "unavailable" },
};

int redeem_status(redeem_code_t c)
{
    return answers[c].status;
}

const char *redeem_status_text(redeem_code_t c)
{
    return answers[c].text;
}

const char *redeem_name(redeem_code_t c)
{
    return answers[c].name;
}

static int rid_ok(const char *s, size_t len)
{
    size_t i;

    if (len == 0 || len > REDEEM_RID_MAX)
        return 0;
    for (i = 0; i < len; i++)
        if (strchr("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                   "abcdefghijklmnopqrstuvwxyz",
                   s[i]) == NULL)
            return 0;
    return 1;
}

redeem_route_t redeem_route(const char *url, int64_t *coupon, char *rid,
                            size_t rn)
{
    static const char rp[] = "/v1/redemptions/";
    long long id;
    const char *slash;
    char tail[16];
    size_t len;

    if (sscanf(url, "/v1/coupons/%lld/redemption%15s", &id, tail) == 2 &&
        strcmp(tail, "s") == 0 && id > 0) {
        *coupon = id;
        return REDEEM_ROUTE_HOLD;
    }
    if (strncmp(url, rp, sizeof(rp) - 1) != 0)
        return REDEEM_ROUTE_NONE;
    url += sizeof(rp) - 1;
    slash = strchr(url, '/');
    len = slash == NULL ? 0 : (size_t)(slash - url);
    if (!rid_ok(url, len) || len >= rn)
        return REDEEM_ROUTE_NONE;
    memcpy(rid, url, len);
    rid[len] = '\0';
    if (strcmp(slash, "/confirm") == 0)
        return REDEEM_ROUTE_CONFIRM;
    if (strcmp(slash, "/cancel") == 0)
        return REDEEM_ROUTE_CANCEL;
    return REDEEM_ROUTE_NONE;
}

static int order_ok(const char *s)
{
    size_t len = strlen(s);

    return len >= 1 && len <= REDEEM_ORDER_MAX &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                     "0123456789._:-") == len;
}

int redeem_parse_hold(const char *body, size_t len, redeem_hold_t *h,
                      char *errstr, size_t n)
{
    json_t *j = json_loadb(body, len, 0, NULL), *u, *o, *a;
    int rc = -1;

    if (j == NULL || !json_is_object(j)) {
        snprintf(errstr, n, "body: want a JSON object");
        goto out;
    }
    u = json_object_get(j, "user_id");
    o = json_object_get(j, "order_id");
    a = json_object_get(j, "order_amount");
    if (!json_is_integer(u) || json_integer_value(u) <= 0) {
        snprintf(errstr, n, "user_id: must be an integer > 0");
        goto out;
    }
    if (!json_is_string(o) || !order_ok(json_string_value(o))) {
        snprintf(errstr, n, "order_id: want 1..64 of [A-Za-z0-9._:-]");
        goto out;
    }
    if (!json_is_integer(a) || json_integer_value(a) < 0 ||
        json_integer_value(a) > 2147483647) {
        snprintf(errstr, n, "order_amount: must be an integer >= 0");
        goto out;
    }
    h->user = (int64_t)json_integer_value(u);
    h->amount = (int64_t)json_integer_value(a);
    snprintf(h->order, sizeof(h->order), "%s", json_string_value(o));
    rc = 0;
out:
    json_decref(j);
    return rc;
}

int redeem_body(char *buf, size_t n, redeem_code_t c, const char *rid,
                int64_t coupon, const redeem_hold_t *h)
{
    int len;

    if (h != NULL)
        len = snprintf(buf, n,
                       "{\"result\":\"%s\",\"redemption_id\":\"%s\","
                       "\"coupon_id\":%lld,\"user_id\":%lld,"
                       "\"order_id\":\"%s\",\"order_amount\":%lld}",
                       answers[c].name, rid, (long long)coupon,
                       (long long)h->user, h->order, (long long)h->amount);
    else
        len = snprintf(buf, n, "{\"result\":\"%s\",\"redemption_id\":\"%s\"}",
                       answers[c].name, rid);
    return len < 0 || (size_t)len >= n ? -1 : len;
}
