/* checkout.c -- the checkout flow's pure parts. See checkout.h.
 *
 * The plan is counter-based rather than random so that a run's abandoned
 * share is exact: the expiry scenario (bench/run redeem-expiry) checks the
 * budget against the confirmed count, and a fixed share makes two runs of
 * the same size comparable. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "checkout.h"

void checkout_plan_init(checkout_plan_t *p, double abandon, double cancel)
{
    memset(p, 0, sizeof(*p));
    p->abandon = abandon;
    p->cancel = cancel;
}

checkout_step_t checkout_plan_next(checkout_plan_t *p)
{
    double next = (double)(p->n + 1);
    checkout_step_t s = STEP_CONFIRM;

    if ((double)p->abandoned < floor(next * p->abandon)) {
        p->abandoned++;
        s = STEP_ABANDON;
    } else if ((double)p->cancelled < floor(next * p->cancel)) {
        p->cancelled++;
        s = STEP_CANCEL;
    }
    p->n++;
    return s;
}

static int fit(int len, size_t n)
{
    return len < 0 || (size_t)len >= n ? -1 : len;
}

int checkout_hold_path(char *buf, size_t n, int64_t coupon)
{
    return fit(
        snprintf(buf, n, "/v1/coupons/%lld/redemptions", (long long)coupon), n);
}

int checkout_hold_body(char *buf, size_t n, int64_t user, const char *prefix,
                       uint64_t idx, int64_t amount)
{
    return fit(snprintf(buf, n,
                        "{\"user_id\":%lld,\"order_id\":\"%s%llu\","
                        "\"order_amount\":%lld}",
                        (long long)user, prefix, (unsigned long long)idx,
                        (long long)amount),
               n);
}

int checkout_step_path(char *buf, size_t n, checkout_step_t step,
                       const char *rid)
{
    return fit(snprintf(buf, n, "/v1/redemptions/%s/%s", rid,
                        step == STEP_CANCEL ? "cancel" : "confirm"),
               n);
}

static int rid_char(char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= 'a' && ch <= 'z');
}

int checkout_parse_rid(const char *body, size_t len, char *out, size_t n)
{
    static const char key[] = "\"redemption_id\"";
    const char *p = body, *end = body + len, *q;
    size_t k;

    q = memmem(p, len, key, sizeof(key) - 1);
    if (q == NULL)
        return -1;
    p = q + sizeof(key) - 1;
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    if (p >= end || *p++ != ':')
        return -1;
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    if (p >= end || *p++ != '"')
        return -1;
    for (k = 0; p + k < end && rid_char(p[k]); k++)
        if (k >= CHECKOUT_RID_MAX || k + 1 >= n)
            return -1;
    if (k == 0 || p + k >= end || p[k] != '"')
        return -1;
    memcpy(out, p, k);
    out[k] = '\0';
    return 0;
}

const char *checkout_step_name(checkout_step_t step)
{
    switch (step) {
    case STEP_CONFIRM:
        return "confirm";
    case STEP_CANCEL:
        return "cancel";
    case STEP_ABANDON:
        return "abandon";
    case STEP_HOLD:
        return "hold";
    default:
        return "issue";
    }
}

int checkout_result_init(checkout_result_t *r)
{
    memset(r, 0, sizeof(*r));
    r->hold = hist_new();
    r->confirm = hist_new();
    r->cancel = hist_new();
    r->pair = hist_new();
    if (r->hold == NULL || r->confirm == NULL || r->cancel == NULL ||
        r->pair == NULL) {
        checkout_result_free(r);
        return -1;
    }
    return 0;
}

void checkout_result_free(checkout_result_t *r)
{
    hist_free(r->hold);
    hist_free(r->confirm);
    hist_free(r->cancel);
    hist_free(r->pair);
    r->hold = r->confirm = r->cancel = r->pair = NULL;
}

static uint64_t *status_slot(uint64_t *table, int status)
{
    return &table[status >= 100 && status < 600 ? status : 0];
}

checkout_step_t checkout_answer(checkout_result_t *r, checkout_step_t step,
                                checkout_step_t planned, int status,
                                int has_rid, uint64_t service_ns,
                                uint64_t since_start_ns)
{
    switch (step) {
    case STEP_HOLD:
        (*status_slot(r->hold_status, status))++;
        hist_record(r->hold, service_ns);
        if (status != 201)
            return STEP_ABANDON; /* refused: nothing to confirm */
        if (!has_rid) {
            r->no_rid++;
            return STEP_ABANDON;
        }
        r->held++;
        if (planned == STEP_ABANDON)
            r->abandoned++;
        return planned;
    case STEP_CONFIRM:
        (*status_slot(r->confirm_status, status))++;
        hist_record(r->confirm, service_ns);
        if (status == 200) {
            r->confirmed++;
            hist_record(r->pair, since_start_ns);
        }
        return STEP_ABANDON;
    case STEP_CANCEL:
        (*status_slot(r->cancel_status, status))++;
        hist_record(r->cancel, service_ns);
        if (status == 200)
            r->cancelled++;
        return STEP_ABANDON;
    default:
        return STEP_ABANDON;
    }
}
