/* event.c -- coupon.issue.requested v1 codec. See event.h.
 *
 * Encoding runs once per accepted request on the api's event loop, and
 * every field is a number or a string we validated (ULID and timestamp need
 * no escaping). It appends the pieces with fmt.h rather than snprintf, whose
 * format parsing was a visible share of the api's CPU; the bytes are the
 * same. Decoding runs on untrusted Kafka payloads, so it uses a real JSON
 * parser (jansson, duplicate keys rejected) and checks every field; the first
 * problem found is reported with the field's name, and its reason becomes the
 * DLQ `reason` header.
 *
 * jansson was about half of the worker's CPU, and nearly every payload is
 * exactly what event_encode() wrote. So decoding first tries a byte-exact
 * matcher of that one form (event_decode_canonical) and falls back to
 * jansson on the first byte that differs: the matcher only has to be right
 * about what it accepts, and everything else — errors, messages, unusual
 * but valid JSON — still comes from jansson (event_internal.h). */
#include <string.h>

#include "event.h"
#include "event_internal.h"
#include "event_json.h"
#include "fmt.h"

/* Years 0000..9999 are what the text form can hold. */
#define EVENT_MIN_MS (-62167219200000LL) /* 0000-01-01T00:00:00.000Z */
#define EVENT_MAX_MS 253402300799999LL   /* 9999-12-31T23:59:59.999Z */

static const char *const reason_names[] = {
    "ok",
    "bad_json",
    "wrong_type",
    "wrong_version",
    "missing_field",
    "bad_field",
    "unknown_field",
    "too_big",
    "inconsistent",
};

const char *event_reason_name(event_reason_t r)
{
    if ((unsigned)r >= sizeof(reason_names) / sizeof(reason_names[0]))
        return "unknown";
    return reason_names[r];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil), valid for negative results too. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static int time_in_range(int64_t ms)
{
    return ms >= EVENT_MIN_MS && ms <= EVENT_MAX_MS;
}

/* Appends ms (in range) as "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ". */
static void fmt_time(fmt_t *f, int64_t ms)
{
    int64_t days, rem, y;
    int m, d;

    days = floor_div(ms, 86400000);
    rem = ms - days * 86400000;
    civil_from_days(days, &y, &m, &d);
    fmt_u64_pad(f, (uint64_t)y, 4);
    fmt_char(f, '-');
    fmt_u64_pad(f, (uint64_t)m, 2);
    fmt_char(f, '-');
    fmt_u64_pad(f, (uint64_t)d, 2);
    fmt_char(f, 'T');
    fmt_u64_pad(f, (uint64_t)(rem / 3600000), 2);
    fmt_char(f, ':');
    fmt_u64_pad(f, (uint64_t)(rem / 60000 % 60), 2);
    fmt_char(f, ':');
    fmt_u64_pad(f, (uint64_t)(rem / 1000 % 60), 2);
    fmt_char(f, '.');
    fmt_u64_pad(f, (uint64_t)(rem % 1000), 3);
    fmt_char(f, 'Z');
}

int event_format_time(int64_t ms, char *buf, size_t n)
{
    fmt_t f;

    if (!time_in_range(ms))
        return -1;
    fmt_init(&f, buf, n);
    fmt_time(&f, ms);
    return fmt_end(&f);
}

/* Fixed-width decimal field of s; -1 when any char is not a digit. */
static int digits(const char *s, int width)
{
    int v = 0, i;

    for (i = 0; i < width; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static int days_in_month(int y, int m)
{
    static const int dim[12] = {
        31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
    };
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 ? 28 + leap : dim[m - 1];
}

int event_parse_time(const char *s, int64_t *ms)
{
    int y, mo, d, h, mi, sec, milli;

    /* YYYY-MM-DDTHH:MM:SS.mmmZ, exactly 24 chars. */
    if (strlen(s) != 24 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
        s[13] != ':' || s[16] != ':' || s[19] != '.' || s[23] != 'Z')
        return -1;
    y = digits(s, 4);
    mo = digits(s + 5, 2);
    d = digits(s + 8, 2);
    h = digits(s + 11, 2);
    mi = digits(s + 14, 2);
    sec = digits(s + 17, 2);
    milli = digits(s + 20, 3);
    if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) ||
        h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59 ||
        milli < 0)
        return -1;
    *ms = days_from_civil(y, mo, d) * 86400000 +
          (int64_t)((h * 60 + mi) * 60 + sec) * 1000 + milli;
    return 0;
}

int event_encode(const event_t *ev, char *buf, size_t n)
{
    fmt_t f;

    if (!ulid_valid(ev->event_id, strnlen(ev->event_id, ULID_LEN + 1)) ||
        ev->coupon_id <= 0 || ev->user_id <= 0 || ev->seq < 1 ||
        !time_in_range(ev->requested_at_ms))
        return -1;
    fmt_init(&f, buf, n);
    FMT_LIT(&f, "{\"type\":\"" EVENT_TYPE "\",\"v\":");
    fmt_i64(&f, EVENT_VERSION);
    FMT_LIT(&f, ",\"event_id\":\"");
    fmt_mem(&f, ev->event_id, ULID_LEN); /* ulid_valid: exactly that long */
    FMT_LIT(&f, "\",\"coupon_id\":");
    fmt_i64(&f, ev->coupon_id);
    FMT_LIT(&f, ",\"user_id\":");
    fmt_i64(&f, ev->user_id);
    FMT_LIT(&f, ",\"seq\":");
    fmt_i64(&f, ev->seq);
    FMT_LIT(&f, ",\"requested_at\":\"");
    fmt_time(&f, ev->requested_at_ms);
    FMT_LIT(&f, "\"}");
    return fmt_end(&f);
}

static event_reason_t check_header(const json_t *obj, char *errstr, size_t n)
{
    json_t *v;
    event_reason_t r = event_json_need(obj, "type", &v, errstr, n);

    if (r != EVENT_OK)
        return r;
    if (!json_is_string(v) || strcmp(json_string_value(v), EVENT_TYPE) != 0)
        return event_json_field_err(EVENT_ERR_TYPE, "type",
                                    "must be \"" EVENT_TYPE "\"", v, errstr, n);
    r = event_json_need(obj, "v", &v, errstr, n);
    if (r != EVENT_OK)
        return r;
    if (!json_is_integer(v) || json_integer_value(v) != EVENT_VERSION)
        return event_json_field_err(EVENT_ERR_VERSION, "v",
                                    "must be the integer 1", v, errstr, n);
    return EVENT_OK;
}

static event_reason_t get_strings(const json_t *obj, event_t *ev, char *errstr,
                                  size_t n)
{
    json_t *v;
    event_reason_t r = event_json_need(obj, "event_id", &v, errstr, n);

    if (r != EVENT_OK)
        return r;
    if (!json_is_string(v) ||
        !ulid_valid(json_string_value(v), json_string_length(v)))
        return event_json_field_err(
            EVENT_ERR_FIELD, "event_id",
            "must be a ULID (26 Crockford base32 chars)", v, errstr, n);
    memcpy(ev->event_id, json_string_value(v), ULID_LEN + 1);
    r = event_json_need(obj, "requested_at", &v, errstr, n);
    if (r != EVENT_OK)
        return r;
    if (!json_is_string(v) ||
        strlen(json_string_value(v)) != json_string_length(v) ||
        event_parse_time(json_string_value(v), &ev->requested_at_ms) != 0)
        return event_json_field_err(
            EVENT_ERR_FIELD, "requested_at",
            "must be an RFC 3339 UTC time with milliseconds "
            "(YYYY-MM-DDTHH:MM:SS.mmmZ)",
            v, errstr, n);
    return EVENT_OK;
}

static event_reason_t check_object(const json_t *obj, event_t *ev, char *errstr,
                                   size_t n)
{
    static const char *const known[] = { "type",        "v",       "event_id",
                                         "coupon_id",   "user_id", "seq",
                                         "requested_at" };
    event_reason_t r;

    if ((r = check_header(obj, errstr, n)) != EVENT_OK ||
        (r = get_strings(obj, ev, errstr, n)) != EVENT_OK ||
        (r = event_json_int(obj, "coupon_id", 1, INT64_MAX,
                            "must be an integer > 0", &ev->coupon_id, errstr,
                            n)) != EVENT_OK ||
        (r = event_json_int(obj, "user_id", 1, INT64_MAX,
                            "must be an integer > 0", &ev->user_id, errstr,
                            n)) != EVENT_OK ||
        (r = event_json_int(obj, "seq", 1, INT64_MAX, "must be an integer >= 1",
                            &ev->seq, errstr, n)) != EVENT_OK)
        return r;
    return event_json_known(obj, known, sizeof(known) / sizeof(known[0]),
                            errstr, n);
}

event_reason_t event_decode_slow(const char *buf, size_t len, event_t *ev,
                                 char *errstr, size_t n)
{
    json_t *root;
    event_reason_t r;

    memset(ev, 0, sizeof(*ev));
    r = event_json_load(buf, len, &root, errstr, n);
    if (r != EVENT_OK)
        return r;
    r = check_object(root, ev, errstr, n);
    json_decref(root);
    if (r != EVENT_OK)
        memset(ev, 0, sizeof(*ev));
    return r;
}

/* The fast path. A cursor over the payload; every step either consumes
 * exactly what event_encode() writes there or fails, and a failure anywhere
 * sends the whole payload to jansson. */
typedef struct cursor {
    const char *p;
    const char *end;
} cursor_t;

static int lit(cursor_t *c, const char *s, size_t n)
{
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, s, n) != 0)
        return -1;
    c->p += n;
    return 0;
}

#define LIT(c, s) lit((c), (s), sizeof(s) - 1)

/* The literal below spells the version; a v2 must revisit this matcher. */
_Static_assert(EVENT_VERSION == 1, "event_decode_canonical matches \"v\":1");

/* What %lld writes for a value in 1..INT64_MAX: no sign, no leading zero.
 * Overflow fails here, so jansson reports it ("too big integer"). What
 * follows the digits (".5", "e3") is left for the next literal to refuse. */
static int posint(cursor_t *c, int64_t *out)
{
    int64_t v = 0;
    int d;

    if (c->p == c->end || *c->p < '1' || *c->p > '9')
        return -1;
    for (; c->p < c->end && *c->p >= '0' && *c->p <= '9'; c->p++) {
        d = *c->p - '0';
        if (v > (INT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* width bytes then the closing quote; the caller validates the bytes. */
static int fixed_str(cursor_t *c, size_t width, const char **s)
{
    if ((size_t)(c->end - c->p) < width + 1 || c->p[width] != '"')
        return -1;
    *s = c->p;
    c->p += width + 1;
    return 0;
}

/* The same checks get_strings() makes. Every byte accepted here is ASCII
 * and none is '"', '\\' or a control char, so jansson would read the same
 * string without escapes or UTF-8 questions. */
static int canonical_strings(const char *id, const char *ts, event_t *ev)
{
    char t[25];

    if (!ulid_valid(id, ULID_LEN))
        return -1;
    memcpy(t, ts, 24);
    t[24] = '\0'; /* an embedded NUL makes it short: parse_time refuses */
    if (event_parse_time(t, &ev->requested_at_ms) != 0)
        return -1;
    memcpy(ev->event_id, id, ULID_LEN);
    ev->event_id[ULID_LEN] = '\0';
    return 0;
}

int event_decode_canonical(const char *buf, size_t len, event_t *ev)
{
    cursor_t c;
    const char *id, *ts;
    event_t e;

    if (buf == NULL) /* NULL + 0 is undefined, so before the cursor */
        return -1;
    c.p = buf;
    c.end = buf + len;
    memset(&e, 0, sizeof(e)); /* as the slow path leaves it: padding too */
    if (LIT(&c, "{\"type\":\"" EVENT_TYPE "\",\"v\":1,\"event_id\":\"") ||
        fixed_str(&c, ULID_LEN, &id) || LIT(&c, ",\"coupon_id\":") ||
        posint(&c, &e.coupon_id) || LIT(&c, ",\"user_id\":") ||
        posint(&c, &e.user_id) || LIT(&c, ",\"seq\":") || posint(&c, &e.seq) ||
        LIT(&c, ",\"requested_at\":\"") || fixed_str(&c, 24, &ts) ||
        LIT(&c, "}") || c.p != c.end)
        return -1;
    if (canonical_strings(id, ts, &e) != 0)
        return -1;
    memcpy(ev, &e, sizeof(e));
    return 0;
}

event_reason_t event_decode(const char *buf, size_t len, event_t *ev,
                            char *errstr, size_t n)
{
    if (event_decode_canonical(buf, len, ev) == 0)
        return EVENT_OK;
    return event_decode_slow(buf, len, ev, errstr, n);
}
