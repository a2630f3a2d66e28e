/* userec.c -- the use:recs record, written and read. See userec.h. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "userec.h"

#define ULID_CHARS "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
#define ID_CHARS                                                               \
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-"
#define MAX_EXACT 9007199254740991LL /* 2^53 - 1: exact in a Lua double */
#define NTYPES    5

static const char *const types[NTYPES] = { "held", "confirmed", "released",
                                           "expired", "reversed" };

static int in_list(const char *s, const char *const *list, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return 1;
    return 0;
}

static int is_ulid(const char *s)
{
    return strlen(s) == USE_RID_LEN && strspn(s, ULID_CHARS) == USE_RID_LEN;
}

/* 1..max of ID_CHARS (min 0 allows the empty string). */
static int is_id(const char *s, size_t min, size_t max)
{
    size_t len = strlen(s);

    return len >= min && len <= max && strspn(s, ID_CHARS) == len;
}

static int is_user(const char *s)
{
    size_t len = strlen(s);

    return len >= 1 && len <= 20 && strspn(s, "0123456789") == len &&
           (s[0] != '0' || len == 1);
}

static int amounts_ok(const use_snap_t *s)
{
    const int64_t v[] = { s->order_amount,    s->discount,
                          s->version,         s->held_ms,
                          s->expires_ms,      s->confirmed_ms,
                          s->reversed_amount, s->refunded_discount,
                          s->vendor_id,       s->share_bps,
                          s->reversal_amount, s->reversal_refund };
    size_t i;

    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        if (v[i] < 0 || v[i] > MAX_EXACT)
            return 0;
    return s->version >= 1 && s->vendor_amount >= -MAX_EXACT &&
           s->vendor_amount <= MAX_EXACT;
}

/* The latest transition's type: the event's, else what the state implies
 * (a row whose event is missing from redemption_events). */
static const char *snap_type(const use_snap_t *s)
{
    if (s->type[0] != '\0')
        return s->type;
    return strcmp(s->state, "partially_reversed") == 0 ? "reversed" : s->state;
}

static int snap_check(const use_snap_t *s, char *errstr, size_t errn)
{
    const char *what = NULL;

    if (!is_ulid(s->rid))
        what = "redemption id";
    else if (!is_user(s->user))
        what = "user id";
    else if (!is_id(s->order_id, 1, USE_ORDER_MAX))
        what = "order id";
    else if (!in_list(s->state, use_state_names, USE_NSTATES))
        what = "state";
    else if (!in_list(snap_type(s), types, NTYPES))
        what = "event type";
    else if (s->event_id[0] != '\0' && !is_ulid(s->event_id))
        what = "event id";
    else if (!is_id(s->reversal_id, 0, USE_ORDER_MAX))
        what = "reversal id";
    else if (!amounts_ok(s))
        what = "amount, time or version";
    if (what == NULL)
        return 0;
    snprintf(errstr, errn, "redemption %.26s: invalid %s", s->rid, what);
    return -1;
}

int userec_build(const use_snap_t *s, char *buf, size_t n, char *errstr,
                 size_t errn)
{
    int len;

    if (snap_check(s, errstr, errn) != 0)
        return -1;
    len = snprintf(
        buf, n,
        "{\"u\":\"%s\",\"o\":\"%s\",\"a\":%" PRId64 ",\"d\":%" PRId64
        ",\"s\":\"%s\",\"h\":%" PRId64 ",\"x\":%" PRId64 ",\"c\":%" PRId64
        ",\"ra\":%" PRId64 ",\"rd\":%" PRId64 ",\"v\":%" PRId64
        ",\"vd\":%" PRId64 ",\"bp\":%" PRId64 ",\"ru\":%d,\"p\":0,\"f\":%d"
        ",\"e\":\"%s\",\"t\":\"%s\",\"ri\":\"%s\",\"rx\":%" PRId64
        ",\"rf\":%" PRId64 ",\"rw\":%" PRId64 "}",
        s->user, s->order_id, s->order_amount, s->discount, s->state,
        s->held_ms, s->expires_ms, s->confirmed_ms, s->reversed_amount,
        s->refunded_discount, s->version, s->vendor_id, s->share_bps,
        s->reuse ? 1 : 0, s->use_freed ? 1 : 0, s->event_id, snap_type(s),
        s->reversal_id, s->reversal_amount, s->reversal_refund,
        s->vendor_amount);
    if (len < 0 || (size_t)len >= n) {
        snprintf(errstr, errn, "redemption %.26s: record too long", s->rid);
        return -1;
    }
    return len;
}

int userec_reversal(const use_reversal_t *r, char *field, size_t nf,
                    char *value, size_t nv)
{
    int a, b;

    if (!is_ulid(r->rid) || !is_id(r->reversal_id, 1, USE_ORDER_MAX) ||
        !is_ulid(r->event_id))
        return -1;
    a = snprintf(field, nf, "%s/%s", r->rid, r->reversal_id);
    b = snprintf(value, nv,
                 "{\"a\":%" PRId64 ",\"r\":%" PRId64 ",\"w\":%" PRId64
                 ",\"e\":\"%s\"}",
                 r->amount, r->refund, r->vendor_amount, r->event_id);
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
        get_int(o, "h", &r->held_ms) != 0 ||
        get_int(o, "x", &r->expires_ms) != 0) {
        snprintf(errstr, errn, "record lacks u, s, v, h or x");
        goto out;
    }
    /* p, f and e are absent or zero/empty in some records (a fresh hold). */
    if ((json_object_get(o, "p") != NULL && get_int(o, "p", &p) != 0) ||
        (json_object_get(o, "f") != NULL && get_int(o, "f", &f) != 0) ||
        (json_object_get(o, "e") != NULL &&
         get_str(o, "e", r->event_id, sizeof(r->event_id)) != 0)) {
        snprintf(errstr, errn, "record has a bad p, f or e");
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
