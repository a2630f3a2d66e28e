/* redeem.h -- the redemption HTTP shape the two redemption baselines share
 * (couponq-classic's FOR UPDATE routes and couponq-decrby), so that
 * couponq-bench --flow checkout drives them exactly as it drives
 * couponq-api: the same routes, bodies, status codes and `result` names
 * (DESIGN.md "Redemption"), nothing more. */
#ifndef COUPONQ_BENCH_REDEEM_H
#define COUPONQ_BENCH_REDEEM_H

#include <stddef.h>
#include <stdint.h>

#define REDEEM_ORDER_MAX 64
#define REDEEM_RID_MAX   48 /* couponq-decrby: a ULID, "c", the coupon id */

typedef enum {
    REDEEM_ROUTE_NONE = 0,
    REDEEM_ROUTE_HOLD,    /* POST /v1/coupons/{id}/redemptions */
    REDEEM_ROUTE_CONFIRM, /* POST /v1/redemptions/{rid}/confirm */
    REDEEM_ROUTE_CANCEL   /* POST /v1/redemptions/{rid}/cancel */
} redeem_route_t;

/* The answers, by name: held, confirmed, released, not_owned,
 * use_sold_out, order_conflict, hold_expired, not_held,
 * already_confirmed, not_found, unavailable. */
typedef enum {
    RD_HELD,
    RD_CONFIRMED,
    RD_RELEASED,
    RD_NOT_OWNED,
    RD_SOLD_OUT,
    RD_ORDER_CONFLICT,
    RD_HOLD_EXPIRED,
    RD_NOT_HELD,
    RD_ALREADY_CONFIRMED,
    RD_NOT_FOUND,
    RD_UNAVAILABLE
} redeem_code_t;

typedef struct redeem_hold {
    int64_t user, amount;
    char order[REDEEM_ORDER_MAX + 1];
} redeem_hold_t;

/* The route of a POST url; *coupon for a hold, rid (1..REDEEM_RID_MAX of
 * [0-9A-Za-z]) for a confirm or cancel. REDEEM_ROUTE_NONE otherwise. */
redeem_route_t redeem_route(const char *url, int64_t *coupon, char *rid,
                            size_t rn);

/* {"user_id":N>0,"order_id":"<1..64 of [A-Za-z0-9._:-]>",
 * "order_amount":N>=0}. 0, or -1 with the reason in errstr. */
int redeem_parse_hold(const char *body, size_t len, redeem_hold_t *h,
                      char *errstr, size_t n);

int redeem_status(redeem_code_t c);              /* 201, 200, 403, ... */
const char *redeem_status_text(redeem_code_t c); /* "Created", ... */
const char *redeem_name(redeem_code_t c);        /* "held", ... */

/* The answer body: {"result":"<name>","redemption_id":"<rid>"[, the hold's
 * fields when h is not NULL]}. Its length, or -1 when n is too small. */
int redeem_body(char *buf, size_t n, redeem_code_t c, const char *rid,
                int64_t coupon, const redeem_hold_t *h);

#endif
