/* answer.c -- statuses and bodies of the api's answers. See answer.h. */
#include <inttypes.h>
#include <stdio.h>

#include "answer.h"
#include "event.h"
#include "fmt.h"

/* ---- issue path ---- */

int answer_admit_status(admit_result_t r)
{
    switch (r) {
    case ADMIT_ACCEPTED:
        return 202;
    case ADMIT_DUPLICATE:
        return 409;
    case ADMIT_SOLD_OUT:
        return 410;
    case ADMIT_NOT_OPEN:
    case ADMIT_ENDED:
    case ADMIT_CLOSED:
        return 403;
    case ADMIT_NOT_FOUND:
        return 404;
    case ADMIT_FENCED:
    case ADMIT_UNAVAILABLE:
        return 503;
    case ADMIT_ERROR:
        return 500;
    }
    return 500;
}

/* Every accepted request comes through here: fmt.h, not snprintf. */
int answer_admit_accepted(char *buf, size_t n, int64_t coupon_id,
                          int64_t user_id, const char *event_id, int64_t seq)
{
    fmt_t f;

    fmt_init(&f, buf, n);
    FMT_LIT(&f, "{\"result\":\"accepted\",\"coupon_id\":");
    fmt_i64(&f, coupon_id);
    FMT_LIT(&f, ",\"user_id\":");
    fmt_i64(&f, user_id);
    FMT_LIT(&f, ",\"event_id\":\"");
    fmt_str(&f, event_id);
    FMT_LIT(&f, "\",\"seq\":");
    fmt_i64(&f, seq);
    FMT_LIT(&f, "}");
    return fmt_end(&f);
}

/* ,"NAME":"VALUE" -- a string field after the first (VALUE as fmt_str
 * writes it). */
#define STR_FIELD(f, name, v)                                                  \
    do {                                                                       \
        FMT_LIT((f), ",\"" name "\":\"");                                      \
        fmt_str((f), (v));                                                     \
        FMT_LIT((f), "\"");                                                    \
    } while (0)

static int fitted(int len, size_t n)
{
    return len < 0 || (size_t)len >= n ? -1 : len;
}

int answer_admit_refusal(char *buf, size_t n, admit_result_t r,
                         int64_t coupon_id, int64_t user_id)
{
    return fitted(snprintf(buf, n,
                           "{\"result\":\"%s\",\"coupon_id\":%" PRId64
                           ",\"user_id\":%" PRId64 "}",
                           admission_result_name(r), coupon_id, user_id),
                  n);
}

int answer_summary(char *buf, size_t n, int64_t coupon_id,
                   const admission_summary_t *s)
{
    char total[24], remaining[24];

    snprintf(total, sizeof(total), "%" PRId64, s->total);
    snprintf(remaining, sizeof(remaining), "%" PRId64,
             s->total > s->admitted ? s->total - s->admitted : 0);
    return fitted(snprintf(buf, n,
                           "{\"coupon_id\":%" PRId64 ",\"total\":%s,"
                           "\"admitted\":%" PRId64 ",\"remaining\":%s,"
                           "\"state\":\"%s\"}",
                           coupon_id, s->total < 0 ? "null" : total,
                           s->admitted, s->total < 0 ? "null" : remaining,
                           s->state),
                  n);
}

int answer_user_status(char *buf, size_t n, int64_t coupon_id, int64_t user_id,
                       user_status_t st)
{
    static const char *const names[] = { "none", "pending", "issued" };

    return fitted(snprintf(buf, n,
                           "{\"coupon_id\":%" PRId64 ",\"user_id\":%" PRId64
                           ",\"status\":\"%s\"}",
                           coupon_id, user_id,
                           (unsigned)st < 3 ? names[st] : "none"),
                  n);
}

/* ---- redemptions ---- */

/* HTTP status of each code; 0: not an answer (rid_taken draws again). */
static const short statuses[USE_NCODES] = {
    [USE_HELD] = 201,
    [USE_REPLAY] = 200,
    [USE_ORDER_CONFLICT] = 409,
    [USE_ALREADY_USED] = 409,
    [USE_NOT_OWNED] = 403,
    [USE_NOT_USABLE] = 403,
    [USE_SOLD_OUT] = 410,
    [USE_BELOW_MIN_AMOUNT] = 422,
    [USE_RID_TAKEN] = 503,
    [USE_NOT_FOUND] = 404,
    [USE_FENCED] = 503,
    [USE_FORBIDDEN] = 403,
    [USE_CONFIRMED] = 200,
    [USE_HOLD_EXPIRED] = 409,
    [USE_NOT_HELD] = 409,
    [USE_RELEASED] = 200,
    [USE_ALREADY_CONFIRMED] = 409,
    [USE_REVERSED] = 200,
    [USE_PARTIALLY_REVERSED] = 200,
    [USE_REVERSAL_CONFLICT] = 409,
    [USE_NOT_CONFIRMED] = 409,
    [USE_AMOUNT_TOO_LARGE] = 422,
    [USE_FOUND] = 200,
};

int answer_use_status(use_code_t code)
{
    return (unsigned)code < USE_NCODES ? statuses[code] : 500;
}

static void fmt_time_field(fmt_t *f, const char *name, int64_t ms)
{
    char t[40];

    fmt_str(f, name);
    if (event_format_time(ms, t, sizeof(t)) < 0) {
        FMT_LIT(f, "null");
        return;
    }
    FMT_LIT(f, "\"");
    fmt_str(f, t);
    FMT_LIT(f, "\"");
}

/* "redemption_id","coupon_id","user_id","order_id","order_amount",
 * "discount": the head of every body that describes a redemption. */
static void fmt_head(fmt_t *f, const use_answer_t *a, int64_t coupon_id)
{
    FMT_LIT(f, "\"redemption_id\":\"");
    fmt_str(f, a->rid);
    FMT_LIT(f, "\",\"coupon_id\":");
    fmt_i64(f, coupon_id);
    FMT_LIT(f, ",\"user_id\":");
    fmt_i64(f, a->user_id);
    FMT_LIT(f, ",\"order_id\":\"");
    fmt_str(f, a->order_id);
    FMT_LIT(f, "\",\"order_amount\":");
    fmt_i64(f, a->order_amount);
    FMT_LIT(f, ",\"discount\":");
    fmt_i64(f, a->discount);
}

/* The GET body's fields: head, state, expires_at, amounts reversed. */
static void fmt_view(fmt_t *f, const use_answer_t *a, int64_t coupon_id)
{
    fmt_head(f, a, coupon_id);
    STR_FIELD(f, "state", a->state);
    fmt_time_field(f, ",\"expires_at\":", a->expires_ms);
    FMT_LIT(f, ",\"reversed_amount\":");
    fmt_i64(f, a->reversed_amount);
    FMT_LIT(f, ",\"refunded_discount\":");
    fmt_i64(f, a->refunded_discount);
}

/* A refusal: what was asked, and the redemption when the answer names one
 * (e.g. the user's other redemption for already_used). */
static void fmt_refusal(fmt_t *f, const use_call_t *c, const use_answer_t *a)
{
    if (c->op == USE_HOLD) {
        FMT_LIT(f, ",\"coupon_id\":");
        fmt_i64(f, c->coupon_id);
        FMT_LIT(f, ",\"user_id\":");
        fmt_i64(f, c->user_id);
        STR_FIELD(f, "order_id", c->order_id);
        if (a->rid[0] == '\0')
            return;
        STR_FIELD(f, "redemption_id", a->rid);
        return;
    }
    STR_FIELD(f, "redemption_id", c->rid);
    if (a->state[0] == '\0')
        return;
    STR_FIELD(f, "state", a->state);
}

int answer_use_body(char *buf, size_t n, const use_call_t *c,
                    const use_answer_t *a)
{
    int status = statuses[a->code];
    fmt_t f;

    fmt_init(&f, buf, n);
    if (a->code == USE_FOUND) {
        FMT_LIT(&f, "{");
        fmt_view(&f, a, c->coupon_id);
    } else if (a->code == USE_HELD || a->code == USE_REPLAY) {
        /* a replay's result is the redemption's current state */
        FMT_LIT(&f, "{\"result\":\"");
        fmt_str(&f, a->code == USE_HELD ? "held" : a->state);
        FMT_LIT(&f, "\",");
        fmt_head(&f, a, c->coupon_id);
        fmt_time_field(&f, ",\"expires_at\":", a->expires_ms);
    } else if (status == 200) {
        FMT_LIT(&f, "{\"result\":\"");
        fmt_str(&f, redemption_code_name(a->code));
        FMT_LIT(&f, "\",");
        fmt_view(&f, a, c->coupon_id);
        if (c->op == USE_REVERSE) {
            FMT_LIT(&f, ",\"refund\":");
            fmt_i64(&f, a->refund_this);
        }
    } else {
        FMT_LIT(&f, "{\"result\":\"");
        fmt_str(&f, redemption_code_name(a->code));
        FMT_LIT(&f, "\"");
        fmt_refusal(&f, c, a);
    }
    FMT_LIT(&f, "}");
    return fmt_end(&f);
}
