/* redemption_event.c -- coupon.redemption.* v1 codec. See
 * redemption_event.h.
 *
 * Decoding goes through jansson (event_json.h, the same helpers and
 * messages as event.c) and then redemption_event_check(), which encoding
 * runs too, so nothing is written that the decoder would refuse. There is
 * no byte-exact fast path as in event.c: redemptions arrive at the rate of
 * purchases, not of a flash sale's admissions.
 *
 * The consistency rules are the contract's (schemas/redemption.md), stated
 * once in check_*() below; each names the fields that disagree. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "event_json.h"
#include "fmt.h"
#include "redemption_event.h"
#include "rid.h"

#define TYPE_PREFIX "coupon.redemption."
#define TIME_MAX_MS 253402300799999LL /* 9999-12-31T23:59:59.999Z */
#define VERSION_MAX 2147483647LL
#define BPS_MAX     10000

static const char *const type_names[REDEMPTION_NTYPES] = {
    TYPE_PREFIX "held",    TYPE_PREFIX "confirmed", TYPE_PREFIX "released",
    TYPE_PREFIX "expired", TYPE_PREFIX "reversed",
};

static const char *const state_names[REDEMPTION_NSTATES] = {
    "held",    "confirmed",          "released",
    "expired", "partially_reversed", "reversed",
};

const char *redemption_type_name(redemption_type_t t)
{
    return (unsigned)t < REDEMPTION_NTYPES ? type_names[t] : NULL;
}

const char *redemption_state_name(redemption_state_t s)
{
    return (unsigned)s < REDEMPTION_NSTATES ? state_names[s] : NULL;
}

static int name_index(const char *const *names, int count, const char *s,
                      size_t len)
{
    int i;

    for (i = 0; i < count; i++)
        if (strlen(names[i]) == len && memcmp(names[i], s, len) == 0)
            return i;
    return -1;
}

int redemption_state_parse(const char *s, size_t len)
{
    return name_index(state_names, REDEMPTION_NSTATES, s, len);
}

/* ------------------------------------------------------------ checks */

/* 1..64 of [A-Za-z0-9._:-]: order ids and reversal ids. */
static int id_valid(const char *s, size_t len)
{
    size_t i;

    if (len < 1 || len > REDEMPTION_ID_MAX)
        return 0;
    for (i = 0; i < len; i++) {
        char c = s[i];

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' ||
              c == '-'))
            return 0;
    }
    return 1;
}

static event_reason_t bad(event_reason_t r, char *errstr, size_t n,
                          const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static event_reason_t bad(event_reason_t r, char *errstr, size_t n,
                          const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(errstr, n, fmt, ap);
    va_end(ap);
    return r;
}

static int in(int64_t v, int64_t lo, int64_t hi)
{
    return v >= lo && v <= hi;
}

/* Every field within its own range (what decoding checked per field). */
static event_reason_t check_ranges(const redemption_event_t *ev, char *errstr,
                                   size_t n)
{
    const char *f = NULL;

    if ((unsigned)ev->type >= REDEMPTION_NTYPES)
        f = "type";
    else if ((unsigned)ev->state >= REDEMPTION_NSTATES)
        f = "state";
    else if (!ulid_valid(ev->event_id, strnlen(ev->event_id, ULID_LEN + 1)))
        f = "event_id";
    else if (!ulid_valid(ev->redemption_id,
                         strnlen(ev->redemption_id, ULID_LEN + 1)))
        f = "redemption_id";
    else if (!in(ev->coupon_id, 1, REDEMPTION_COUPON_MAX))
        f = "coupon_id";
    else if (ev->user_id < 1)
        f = "user_id";
    else if (!id_valid(ev->order_id,
                       strnlen(ev->order_id, REDEMPTION_ID_MAX + 1)))
        f = "order_id";
    else if (!in(ev->order_amount, 0, REDEMPTION_AMOUNT_MAX) ||
             !in(ev->discount, 0, REDEMPTION_AMOUNT_MAX) ||
             !in(ev->reversed_amount, 0, REDEMPTION_AMOUNT_MAX) ||
             !in(ev->refunded_discount, 0, REDEMPTION_AMOUNT_MAX) ||
             !in(ev->reversal_amount, 0, REDEMPTION_AMOUNT_MAX) ||
             !in(ev->reversal_refund, 0, REDEMPTION_AMOUNT_MAX) ||
             !in(ev->vendor_amount, -REDEMPTION_AMOUNT_MAX,
                 REDEMPTION_AMOUNT_MAX))
        f = "amounts";
    else if (!in(ev->version, 1, VERSION_MAX))
        f = "version";
    else if (!in(ev->held_at_ms, 1, TIME_MAX_MS) ||
             !in(ev->expires_at_ms, 1, TIME_MAX_MS) ||
             !in(ev->confirmed_at_ms, 0, TIME_MAX_MS) ||
             !in(ev->occurred_at_ms, 1, TIME_MAX_MS))
        f = "times";
    else if (ev->vendor_id < 0 || !in(ev->vendor_share_bps, 0, BPS_MAX) ||
             !in(ev->reuse, 0, 1) || !in(ev->use_freed, 0, 1))
        f = "vendor_id, vendor_share_bps, reuse or use_freed";
    else if (ev->reversal_id[0] != '\0' &&
             !id_valid(ev->reversal_id,
                       strnlen(ev->reversal_id, REDEMPTION_ID_MAX + 1)))
        f = "reversal_id";
    if (f != NULL)
        return bad(EVENT_ERR_FIELD, errstr, n, "%s: out of range", f);
    return EVENT_OK;
}

/* The state a type may carry, and the version it has: the hold is v1, a
 * hold's only transition (confirm, release, expiry) v2, reversals after. */
static event_reason_t check_type(const redemption_event_t *ev, char *errstr,
                                 size_t n)
{
    static const int state_of[REDEMPTION_NTYPES] = {
        REDEMPTION_STATE_HELD, REDEMPTION_STATE_CONFIRMED,
        REDEMPTION_STATE_RELEASED, REDEMPTION_STATE_EXPIRED,
        REDEMPTION_STATE_REVERSED
    };
    int64_t cid = 0;
    int ok;

    if (rid_coupon(ev->redemption_id, ULID_LEN, &cid) != 0 ||
        cid != ev->coupon_id)
        return bad(EVENT_ERR_INCONSISTENT, errstr, n,
                   "redemption_id: its coupon part %lld is not coupon_id %lld",
                   (long long)cid, (long long)ev->coupon_id);
    ok = (int)ev->state == state_of[ev->type] ||
         (ev->type == REDEMPTION_REVERSED &&
          ev->state == REDEMPTION_STATE_PARTIALLY_REVERSED);
    if (!ok)
        return bad(EVENT_ERR_INCONSISTENT, errstr, n,
                   "state: \"%s\" does not fit type %s", state_names[ev->state],
                   type_names[ev->type]);
    ok = ev->type == REDEMPTION_HELD       ? ev->version == 1
         : ev->type == REDEMPTION_REVERSED ? ev->version >= 3
                                           : ev->version == 2;
    if (!ok)
        return bad(EVENT_ERR_INCONSISTENT, errstr, n,
                   "version: %lld does not fit type %s (held 1, confirmed, "
                   "released and expired 2, reversed 3 or more)",
                   (long long)ev->version, type_names[ev->type]);
    return EVENT_OK;
}

static int was_confirmed(redemption_state_t s)
{
    return s == REDEMPTION_STATE_CONFIRMED ||
           s == REDEMPTION_STATE_PARTIALLY_REVERSED ||
           s == REDEMPTION_STATE_REVERSED;
}

/* The snapshot's amounts against its state. */
static event_reason_t check_snapshot(const redemption_event_t *ev, char *errstr,
                                     size_t n)
{
    int64_t a = ev->order_amount, ra = ev->reversed_amount;
    redemption_state_t s = ev->state;
    int ok;

    if (ev->discount > a)
        return bad(EVENT_ERR_INCONSISTENT, errstr, n,
                   "discount: %lld is more than order_amount %lld",
                   (long long)ev->discount, (long long)a);
    if (ev->expires_at_ms < ev->held_at_ms)
        return bad(EVENT_ERR_INCONSISTENT, errstr, n,
                   "expires_at_ms: before held_at_ms");
    if ((ev->confirmed_at_ms > 0) != was_confirmed(s))
        return bad(EVENT_ERR_INCONSISTENT, errstr, n,
                   "confirmed_at_ms: %lld does not fit state \"%s\"",
                   (long long)ev->confirmed_at_ms, state_names[s]);
    ok = s == REDEMPTION_STATE_REVERSED             ? a > 0 && ra == a
         : s == REDEMPTION_STATE_PARTIALLY_REVERSED ? ra > 0 && ra < a
                                                    : ra == 0;
    if (!ok)
        return bad(EVENT_ERR_INCONSISTENT, errstr, n,
                   "reversed_amount: %lld of order_amount %lld does not fit "
                   "state \"%s\"",
                   (long long)ra, (long long)a, state_names[s]);
    ok = s == REDEMPTION_STATE_REVERSED ? ev->refunded_discount == ev->discount
         : s == REDEMPTION_STATE_PARTIALLY_REVERSED
             ? ev->refunded_discount <= ev->discount
             : ev->refunded_discount == 0;
    if (!ok)
        return bad(EVENT_ERR_INCONSISTENT, errstr, n,
                   "refunded_discount: %lld of discount %lld does not fit "
                   "state \"%s\"",
                   (long long)ev->refunded_discount, (long long)ev->discount,
                   state_names[s]);
    return EVENT_OK;
}

/* What a reversal moved: present only on reversals; the refund is
 * floor(d x amount / a), the last one the rest of the discount (then
 * refunded_discount = discount, which check_snapshot() saw). */
static event_reason_t check_reversal(const redemption_event_t *ev, char *errstr,
                                     size_t n)
{
    int64_t want;

    if (ev->type != REDEMPTION_REVERSED) {
        if (ev->reversal_id[0] != '\0' || ev->reversal_amount != 0 ||
            ev->reversal_refund != 0)
            return bad(EVENT_ERR_INCONSISTENT, errstr, n,
                       "reversal_id, reversal_amount, reversal_refund: must "
                       "be \"\", 0, 0 on %s",
                       type_names[ev->type]);
        return EVENT_OK;
    }
    if (ev->reversal_id[0] == '\0' || ev->reversal_amount < 1 ||
        ev->reversal_amount > ev->reversed_amount ||
        ev->reversal_refund > ev->refunded_discount)
        return bad(EVENT_ERR_INCONSISTENT, errstr, n,
                   "reversal_id, reversal_amount, reversal_refund: a reversal "
                   "needs an id, 1 <= amount <= reversed_amount and refund <= "
                   "refunded_discount");
    if (ev->state == REDEMPTION_STATE_PARTIALLY_REVERSED) {
        want = ev->discount * ev->reversal_amount / ev->order_amount;
        if (ev->reversal_refund != want)
            return bad(EVENT_ERR_INCONSISTENT, errstr, n,
                       "reversal_refund: %lld, floor(discount x "
                       "reversal_amount / order_amount) is %lld",
                       (long long)ev->reversal_refund, (long long)want);
    }
    return EVENT_OK;
}

/* The ledger amount and the use this event moved. */
static event_reason_t check_money(const redemption_event_t *ev, char *errstr,
                                  size_t n)
{
    int64_t bp = ev->vendor_share_bps, rd = ev->refunded_discount, want = 0;
    int freed = ev->state == REDEMPTION_STATE_REVERSED && ev->reuse == 1;

    if (ev->use_freed != freed)
        return bad(EVENT_ERR_INCONSISTENT, errstr, n,
                   "use_freed: %d, must be 1 exactly on the full reversal of "
                   "a reuse 1 redemption",
                   ev->use_freed);
    if (ev->vendor_id != 0 && ev->type == REDEMPTION_CONFIRMED)
        want = ev->discount * bp / 10000;
    else if (ev->vendor_id != 0 && ev->type == REDEMPTION_REVERSED)
        want = -(rd * bp / 10000 - (rd - ev->reversal_refund) * bp / 10000);
    if (ev->vendor_amount != want)
        return bad(EVENT_ERR_INCONSISTENT, errstr, n,
                   "vendor_amount: %lld, the vendor's share of this %s is "
                   "%lld (vendor_id %lld, vendor_share_bps %lld)",
                   (long long)ev->vendor_amount, type_names[ev->type],
                   (long long)want, (long long)ev->vendor_id, (long long)bp);
    return EVENT_OK;
}

event_reason_t redemption_event_check(const redemption_event_t *ev,
                                      char *errstr, size_t n)
{
    event_reason_t r;

    if ((r = check_ranges(ev, errstr, n)) != EVENT_OK ||
        (r = check_type(ev, errstr, n)) != EVENT_OK ||
        (r = check_snapshot(ev, errstr, n)) != EVENT_OK ||
        (r = check_reversal(ev, errstr, n)) != EVENT_OK)
        return r;
    return check_money(ev, errstr, n);
}

/* ------------------------------------------------------------ encode */

static void put_int(fmt_t *f, const char *key, size_t klen, int64_t v)
{
    fmt_mem(f, key, klen);
    fmt_i64(f, v);
}

#define PUT_INT(f, key, v) put_int((f), ",\"" key "\":", sizeof(key) + 3, (v))

/* Strings here are ULIDs, names and ids of [A-Za-z0-9._:-]: no escaping. */
static void put_str(fmt_t *f, const char *key, size_t klen, const char *v)
{
    fmt_mem(f, key, klen);
    fmt_str(f, v);
    fmt_char(f, '"');
}

#define PUT_STR(f, key, v) put_str((f), ",\"" key "\":\"", sizeof(key) + 4, (v))

int redemption_event_encode(const redemption_event_t *ev, char *buf, size_t n)
{
    char err[256];
    fmt_t f;

    if (redemption_event_check(ev, err, sizeof(err)) != EVENT_OK)
        return -1;
    fmt_init(&f, buf, n);
    FMT_LIT(&f, "{\"type\":\"");
    fmt_str(&f, type_names[ev->type]);
    FMT_LIT(&f, "\",\"v\":1");
    PUT_STR(&f, "event_id", ev->event_id);
    PUT_STR(&f, "redemption_id", ev->redemption_id);
    PUT_INT(&f, "coupon_id", ev->coupon_id);
    PUT_INT(&f, "user_id", ev->user_id);
    PUT_STR(&f, "order_id", ev->order_id);
    PUT_INT(&f, "order_amount", ev->order_amount);
    PUT_INT(&f, "discount", ev->discount);
    PUT_STR(&f, "state", state_names[ev->state]);
    PUT_INT(&f, "version", ev->version);
    PUT_INT(&f, "held_at_ms", ev->held_at_ms);
    PUT_INT(&f, "expires_at_ms", ev->expires_at_ms);
    PUT_INT(&f, "confirmed_at_ms", ev->confirmed_at_ms);
    PUT_INT(&f, "reversed_amount", ev->reversed_amount);
    PUT_INT(&f, "refunded_discount", ev->refunded_discount);
    PUT_INT(&f, "vendor_id", ev->vendor_id);
    PUT_INT(&f, "vendor_share_bps", ev->vendor_share_bps);
    PUT_INT(&f, "reuse", ev->reuse);
    PUT_INT(&f, "use_freed", ev->use_freed);
    PUT_STR(&f, "reversal_id", ev->reversal_id);
    PUT_INT(&f, "reversal_amount", ev->reversal_amount);
    PUT_INT(&f, "reversal_refund", ev->reversal_refund);
    PUT_INT(&f, "vendor_amount", ev->vendor_amount);
    PUT_INT(&f, "occurred_at_ms", ev->occurred_at_ms);
    fmt_char(&f, '}');
    return fmt_end(&f);
}

/* ------------------------------------------------------------ decode */

static const char *const known_fields[] = {
    "type",
    "v",
    "event_id",
    "redemption_id",
    "coupon_id",
    "user_id",
    "order_id",
    "order_amount",
    "discount",
    "state",
    "version",
    "held_at_ms",
    "expires_at_ms",
    "confirmed_at_ms",
    "reversed_amount",
    "refunded_discount",
    "vendor_id",
    "vendor_share_bps",
    "reuse",
    "use_freed",
    "reversal_id",
    "reversal_amount",
    "reversal_refund",
    "vendor_amount",
    "occurred_at_ms",
};

/* A JSON string without NULs; *s and *len its bytes. */
static event_reason_t get_str(const json_t *obj, const char *field,
                              const char *why, const char **s, size_t *len,
                              char *errstr, size_t n)
{
    json_t *v;
    event_reason_t r = event_json_need(obj, field, &v, errstr, n);

    if (r != EVENT_OK)
        return r;
    if (!json_is_string(v) ||
        strlen(json_string_value(v)) != json_string_length(v))
        return event_json_field_err(EVENT_ERR_FIELD, field, why, v, errstr, n);
    *s = json_string_value(v);
    *len = json_string_length(v);
    return EVENT_OK;
}

static event_reason_t get_header(const json_t *obj, redemption_event_t *ev,
                                 char *errstr, size_t n)
{
    json_t *v;
    event_reason_t r = event_json_need(obj, "type", &v, errstr, n);
    int t;

    if (r != EVENT_OK)
        return r;
    t = json_is_string(v)
            ? name_index(type_names, REDEMPTION_NTYPES, json_string_value(v),
                         json_string_length(v))
            : -1;
    if (t < 0)
        return event_json_field_err(EVENT_ERR_TYPE, "type",
                                    "must be \"" TYPE_PREFIX
                                    "held|confirmed|released|expired|"
                                    "reversed\"",
                                    v, errstr, n);
    ev->type = (redemption_type_t)t;
    r = event_json_need(obj, "v", &v, errstr, n);
    if (r != EVENT_OK)
        return r;
    if (!json_is_integer(v) ||
        json_integer_value(v) != REDEMPTION_EVENT_VERSION)
        return event_json_field_err(EVENT_ERR_VERSION, "v",
                                    "must be the integer 1", v, errstr, n);
    return EVENT_OK;
}

static event_reason_t get_ulid(const json_t *obj, const char *field,
                               char out[ULID_LEN + 1], char *errstr, size_t n)
{
    static const char why[] = "must be a ULID (26 Crockford base32 chars)";
    event_reason_t r;
    const char *s = "";
    size_t len = 0;

    if ((r = get_str(obj, field, why, &s, &len, errstr, n)) != EVENT_OK)
        return r;
    if (!ulid_valid(s, len))
        return event_json_field_err(EVENT_ERR_FIELD, field, why,
                                    json_object_get(obj, field), errstr, n);
    memcpy(out, s, ULID_LEN + 1);
    return EVENT_OK;
}

/* order_id (1..64 chars) or reversal_id (0..64: "" when not a reversal). */
static event_reason_t get_id(const json_t *obj, const char *field,
                             size_t min_len, char out[REDEMPTION_ID_MAX + 1],
                             char *errstr, size_t n)
{
    const char *why = min_len > 0 ? "must be 1..64 of [A-Za-z0-9._:-]"
                                  : "must be \"\" or 1..64 of [A-Za-z0-9._:-]";
    event_reason_t r;
    const char *s = "";
    size_t len = 0;

    if ((r = get_str(obj, field, why, &s, &len, errstr, n)) != EVENT_OK)
        return r;
    if (!(len == 0 && min_len == 0) && !id_valid(s, len))
        return event_json_field_err(EVENT_ERR_FIELD, field, why,
                                    json_object_get(obj, field), errstr, n);
    memcpy(out, s, len + 1);
    return EVENT_OK;
}

static event_reason_t get_strings(const json_t *obj, redemption_event_t *ev,
                                  char *errstr, size_t n)
{
    static const char why[] = "must be held, confirmed, released, expired, "
                              "partially_reversed or reversed";
    event_reason_t r;
    const char *s = "";
    size_t len = 0;
    int st;

    if ((r = get_ulid(obj, "event_id", ev->event_id, errstr, n)) != EVENT_OK ||
        (r = get_ulid(obj, "redemption_id", ev->redemption_id, errstr, n)) !=
            EVENT_OK ||
        (r = get_id(obj, "order_id", 1, ev->order_id, errstr, n)) != EVENT_OK ||
        (r = get_id(obj, "reversal_id", 0, ev->reversal_id, errstr, n)) !=
            EVENT_OK ||
        (r = get_str(obj, "state", why, &s, &len, errstr, n)) != EVENT_OK)
        return r;
    st = redemption_state_parse(s, len);
    if (st < 0)
        return event_json_field_err(EVENT_ERR_FIELD, "state", why,
                                    json_object_get(obj, "state"), errstr, n);
    ev->state = (redemption_state_t)st;
    return EVENT_OK;
}

typedef struct int_field {
    const char *name;
    int64_t *out;
    int64_t min, max;
    const char *why;
} int_field_t;

#define AMOUNT 0, REDEMPTION_AMOUNT_MAX, "must be an integer in 0..2147483647"
#define TIME(m)                                                                \
    (m), TIME_MAX_MS, "must be unix ms, an integer in " #m "..253402300799999"

static event_reason_t get_ints(const json_t *obj, redemption_event_t *ev,
                               char *errstr, size_t n)
{
    int64_t reuse = 0, freed = 0;
    const int_field_t f[] = {
        { "coupon_id", &ev->coupon_id, 1, REDEMPTION_COUPON_MAX,
          "must be an integer in 1..2^48-1" },
        { "user_id", &ev->user_id, 1, INT64_MAX, "must be an integer > 0" },
        { "order_amount", &ev->order_amount, AMOUNT },
        { "discount", &ev->discount, AMOUNT },
        { "version", &ev->version, 1, VERSION_MAX,
          "must be an integer in 1..2147483647" },
        { "held_at_ms", &ev->held_at_ms, TIME(1) },
        { "expires_at_ms", &ev->expires_at_ms, TIME(1) },
        { "confirmed_at_ms", &ev->confirmed_at_ms, TIME(0) },
        { "reversed_amount", &ev->reversed_amount, AMOUNT },
        { "refunded_discount", &ev->refunded_discount, AMOUNT },
        { "vendor_id", &ev->vendor_id, 0, INT64_MAX,
          "must be an integer >= 0" },
        { "vendor_share_bps", &ev->vendor_share_bps, 0, BPS_MAX,
          "must be an integer in 0..10000" },
        { "reuse", &reuse, 0, 1, "must be 0 or 1" },
        { "use_freed", &freed, 0, 1, "must be 0 or 1" },
        { "reversal_amount", &ev->reversal_amount, AMOUNT },
        { "reversal_refund", &ev->reversal_refund, AMOUNT },
        { "vendor_amount", &ev->vendor_amount, -REDEMPTION_AMOUNT_MAX,
          REDEMPTION_AMOUNT_MAX,
          "must be an integer in -2147483647..2147483647" },
        { "occurred_at_ms", &ev->occurred_at_ms, TIME(1) },
    };
    event_reason_t r;
    size_t i;

    for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
        r = event_json_int(obj, f[i].name, f[i].min, f[i].max, f[i].why,
                           f[i].out, errstr, n);
        if (r != EVENT_OK)
            return r;
    }
    ev->reuse = (int)reuse;
    ev->use_freed = (int)freed;
    return EVENT_OK;
}

event_reason_t redemption_event_decode(const char *buf, size_t len,
                                       redemption_event_t *ev, char *errstr,
                                       size_t n)
{
    json_t *root;
    event_reason_t r;

    memset(ev, 0, sizeof(*ev));
    r = event_json_load(buf, len, &root, errstr, n);
    if (r != EVENT_OK)
        return r;
    if ((r = get_header(root, ev, errstr, n)) == EVENT_OK &&
        (r = get_strings(root, ev, errstr, n)) == EVENT_OK &&
        (r = get_ints(root, ev, errstr, n)) == EVENT_OK &&
        (r = event_json_known(root, known_fields,
                              sizeof(known_fields) / sizeof(known_fields[0]),
                              errstr, n)) == EVENT_OK)
        r = redemption_event_check(ev, errstr, n);
    json_decref(root);
    if (r != EVENT_OK)
        memset(ev, 0, sizeof(*ev));
    return r;
}
