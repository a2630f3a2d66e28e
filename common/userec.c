/* userec.c -- the use:recs record, written and read. See userec.h.
 *
 * userec_decode is a cursor over the one form encode() writes, field by
 * field: the api reads a record from every answer that describes a
 * redemption, and this is what lets it do without a JSON parser. */
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

/* ------------------------------------------------------------ decode */

typedef struct cur {
    const char *p, *end;
    int bad; /* sticky: checked once, at the end */
} cur_t;

/* The literal lit, next. */
static void lit(cur_t *c, const char *lit)
{
    size_t n = strlen(lit);

    if (c->bad || (size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0) {
        c->bad = 1;
        return;
    }
    c->p += n;
}

/* An integer as %d prints it (no "+", "-0", leading zero or exponent), of
 * at most 18 digits (the record's numbers are below 2^53: 16). */
static int64_t num(cur_t *c)
{
    const char *start;
    int neg = 0;
    int64_t v = 0;

    if (c->bad)
        return 0;
    if (c->p < c->end && *c->p == '-') {
        neg = 1;
        c->p++;
    }
    start = c->p;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9' && c->p - start < 18)
        v = v * 10 + (*c->p++ - '0');
    if (c->p == start || (c->p < c->end && *c->p >= '0' && *c->p <= '9') ||
        (*start == '0' && c->p - start > 1) || (neg && v == 0))
        c->bad = 1;
    return neg ? -v : v;
}

/* The characters up to the next '"' into out (n with the NUL); none may be
 * a backslash or a control character: encode() writes no escapes. */
static void str(cur_t *c, char *out, size_t n)
{
    size_t len = 0;

    out[0] = '\0';
    if (c->bad)
        return;
    while (c->p < c->end && *c->p != '"') {
        if (*c->p == '\\' || (unsigned char)*c->p < 0x20 || len + 1 >= n) {
            c->bad = 1;
            out[0] = '\0';
            return;
        }
        out[len++] = *c->p++;
    }
    out[len] = '\0';
}

/* A string field's value and the literal that follows it. */
#define STR(c, out, next) (str((c), (out), sizeof(out)), lit((c), (next)))
/* A number field's value and the literal that follows it. */
#define NUM(c, out, next) ((out) = num(c), lit((c), (next)))

static int parse_user(const char *s, int64_t *out)
{
    uint64_t v = 0;
    size_t i, len = strlen(s);

    if (len < 1 || len > 19 || s[0] == '0')
        return -1;
    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > INT64_MAX) /* 19 digits never wrap a uint64_t */
        return -1;
    *out = (int64_t)v;
    return 0;
}

static int parse_type(const char *s)
{
    int t;

    for (t = 0; t < REDEMPTION_NTYPES; t++)
        if (strcmp(short_type((redemption_type_t)t), s) == 0)
            return t;
    return -1;
}

int userec_decode(const char *json, size_t len, userec_fields_t *r)
{
    cur_t c = { json, json + len, 0 };
    char user[24], state[24], type[16];
    int64_t ru, p, f, ep;
    int st, ty;

    memset(r, 0, sizeof(*r));
    lit(&c, "{\"u\":\"");
    STR(&c, user, "\",\"o\":\"");
    STR(&c, r->order_id, "\",\"a\":");
    NUM(&c, r->amount, ",\"d\":");
    NUM(&c, r->discount, ",\"s\":\"");
    STR(&c, state, "\",\"h\":");
    NUM(&c, r->held_ms, ",\"x\":");
    NUM(&c, r->expires_ms, ",\"c\":");
    NUM(&c, r->confirmed_ms, ",\"ra\":");
    NUM(&c, r->reversed, ",\"rd\":");
    NUM(&c, r->refunded, ",\"v\":");
    NUM(&c, r->version, ",\"vd\":");
    NUM(&c, r->vendor, ",\"bp\":");
    NUM(&c, r->share_bps, ",\"ru\":");
    NUM(&c, ru, ",\"p\":");
    NUM(&c, p, ",\"f\":");
    NUM(&c, f, ",\"e\":\"");
    STR(&c, r->event_id, "\",\"t\":\"");
    STR(&c, type, "\",\"et\":");
    NUM(&c, r->event_ms, ",\"ep\":");
    NUM(&c, ep, ",\"ri\":\"");
    STR(&c, r->reversal_id, "\",\"rx\":");
    NUM(&c, r->rev_amount, ",\"rf\":");
    NUM(&c, r->rev_refund, ",\"rw\":");
    NUM(&c, r->rev_vendor, "}");
    if (c.bad || c.p != c.end || parse_user(user, &r->user_id) != 0 ||
        (st = redemption_state_parse(state, strlen(state))) < 0 ||
        (ty = parse_type(type)) < 0 || (ru | p | f | ep) & ~1)
        return -1;
    r->state = (redemption_state_t)st;
    r->type = (redemption_type_t)ty;
    r->reuse = (int)ru;
    r->pending = (int)p;
    r->freed = (int)f;
    r->handed_out = (int)ep;
    return 0;
}

int userec_event(const userec_fields_t *r, const char *rid, int64_t coupon_id,
                 char *buf, size_t n)
{
    redemption_event_t ev;
    int rev = r->type == REDEMPTION_REVERSED;

    memset(&ev, 0, sizeof(ev));
    if (strlen(rid) != RID_LEN)
        return -1;
    ev.type = r->type;
    memcpy(ev.event_id, r->event_id, sizeof(ev.event_id));
    memcpy(ev.redemption_id, rid, RID_LEN + 1);
    ev.coupon_id = coupon_id;
    ev.user_id = r->user_id;
    memcpy(ev.order_id, r->order_id, sizeof(ev.order_id));
    ev.order_amount = r->amount;
    ev.discount = r->discount;
    ev.state = r->state;
    ev.version = r->version;
    ev.held_at_ms = r->held_ms;
    ev.expires_at_ms = r->expires_ms;
    ev.confirmed_at_ms = r->confirmed_ms;
    ev.reversed_amount = r->reversed;
    ev.refunded_discount = r->refunded;
    ev.vendor_id = r->vendor;
    ev.vendor_share_bps = r->share_bps;
    ev.reuse = r->reuse;
    /* what the latest transition moved: a reversal its own fields (and the
     * use, when it reversed all under reuse), a confirm the vendor's share
     * of the discount (amounts below 2^31 times at most 10000: exact) */
    if (rev) {
        ev.use_freed = r->reversed == r->amount && r->reuse == 1;
        memcpy(ev.reversal_id, r->reversal_id, sizeof(ev.reversal_id));
        ev.reversal_amount = r->rev_amount;
        ev.reversal_refund = r->rev_refund;
        ev.vendor_amount = r->rev_vendor;
    } else if (r->type == REDEMPTION_CONFIRMED && r->vendor != 0) {
        ev.vendor_amount = r->discount * r->share_bps / 10000;
    }
    ev.occurred_at_ms = r->event_ms;
    return redemption_event_encode(&ev, buf, n);
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
