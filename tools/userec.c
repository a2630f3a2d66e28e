/* userec.c -- the use:recs record, written and read. See userec.h. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "userec.h"

#define TYPE_PREFIX "coupon.redemption."

/* "held" of "coupon.redemption.held": the record's `t`. */
static const char *short_type(redemption_type_t t)
{
    return redemption_type_name(t) + strlen(TYPE_PREFIX);
}

int userec_build(const redemption_event_t *ev, char *buf, size_t n,
                 char *errstr, size_t errn)
{
    int rev = ev->type == REDEMPTION_REVERSED, len;

    if (redemption_event_check(ev, errstr, errn) != EVENT_OK)
        return -1;
    len = snprintf(
        buf, n,
        "{\"u\":\"%" PRId64 "\",\"o\":\"%s\",\"a\":%" PRId64 ",\"d\":%" PRId64
        ",\"s\":\"%s\",\"h\":%" PRId64 ",\"x\":%" PRId64 ",\"c\":%" PRId64
        ",\"ra\":%" PRId64 ",\"rd\":%" PRId64 ",\"v\":%" PRId64
        ",\"vd\":%" PRId64 ",\"bp\":%" PRId64 ",\"ru\":%d,\"p\":0,\"f\":%d"
        ",\"e\":\"%s\",\"t\":\"%s\",\"et\":%" PRId64 ",\"ep\":1"
        ",\"ri\":\"%s\",\"rx\":%" PRId64 ",\"rf\":%" PRId64 ",\"rw\":%" PRId64
        "}",
        ev->user_id, ev->order_id, ev->order_amount, ev->discount,
        redemption_state_name(ev->state), ev->held_at_ms, ev->expires_at_ms,
        ev->confirmed_at_ms, ev->reversed_amount, ev->refunded_discount,
        ev->version, ev->vendor_id, ev->vendor_share_bps, ev->reuse ? 1 : 0,
        ev->use_freed ? 1 : 0, ev->event_id, short_type(ev->type),
        ev->occurred_at_ms, rev ? ev->reversal_id : "",
        rev ? ev->reversal_amount : 0, rev ? ev->reversal_refund : 0,
        rev ? ev->vendor_amount : 0);
    if (len < 0 || (size_t)len >= n) {
        snprintf(errstr, errn, "redemption %s: record too long",
                 ev->redemption_id);
        return -1;
    }
    return len;
}

int userec_reversal(const redemption_event_t *ev, char *field, size_t nf,
                    char *value, size_t nv)
{
    int a, b;

    if (ev->type != REDEMPTION_REVERSED || ev->reversal_id[0] == '\0')
        return -1;
    a = snprintf(field, nf, "%s/%s", ev->redemption_id, ev->reversal_id);
    b = snprintf(value, nv,
                 "{\"a\":%" PRId64 ",\"r\":%" PRId64 ",\"w\":%" PRId64
                 ",\"e\":\"%s\"}",
                 ev->reversal_amount, ev->reversal_refund, ev->vendor_amount,
                 ev->event_id);
    return a < 0 || (size_t)a >= nf || b < 0 || (size_t)b >= nv ? -1 : 0;
}

static int get_int(json_t *o, const char *k, int64_t *out)
{
    json_t *v = json_object_get(o, k);

    if (!json_is_integer(v))
        return -1;
    *out = json_integer_value(v);
    return 0;
}

static int get_str(json_t *o, const char *k, char *out, size_t n)
{
    json_t *v = json_object_get(o, k);

    if (!json_is_string(v) || json_string_length(v) >= n)
        return -1;
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

int userec_parse(const char *json, size_t len, userec_t *r, char *errstr,
                 size_t errn)
{
    json_t *o = json_loadb(json, len, 0, NULL);
    int64_t p = 0, f = 0;
    int rc = -1;

    memset(r, 0, sizeof(*r));
    if (!json_is_object(o)) {
        snprintf(errstr, errn, "record is not a JSON object");
        goto out;
    }
    if (get_str(o, "u", r->user, sizeof(r->user)) != 0 ||
        get_str(o, "s", r->state, sizeof(r->state)) != 0 ||
        get_int(o, "v", &r->version) != 0 ||
        get_int(o, "x", &r->expires_ms) != 0 || get_int(o, "p", &p) != 0 ||
        get_int(o, "f", &f) != 0 ||
        get_str(o, "e", r->event_id, sizeof(r->event_id)) != 0) {
        snprintf(errstr, errn, "record lacks one of u, s, v, x, p, f, e");
        goto out;
    }
    r->pending = p == 1;
    r->freed = f == 1;
    rc = 0;
out:
    json_decref(o);
    return rc;
}

int userec_takes_use(const char *state, int freed)
{
    return strcmp(state, "confirmed") == 0 ||
           strcmp(state, "partially_reversed") == 0 ||
           (strcmp(state, "reversed") == 0 && !freed);
}

const char *userec_view_state(const char *state, int64_t expires_ms,
                              int64_t now_ms)
{
    return strcmp(state, "held") == 0 && expires_ms <= now_ms ? "expired"
                                                              : state;
}
