/* checkout.h -- the checkout flow of couponq-bench (--flow checkout).
 *
 * One checkout is what a shop's order page does with a coupon the user
 * owns: POST /v1/coupons/{id}/redemptions (a hold for a fresh order id),
 * read redemption_id from the 201, then, on the same connection, POST
 * /v1/redemptions/{rid}/confirm -- or /cancel, or nothing at all (an
 * abandoned checkout, whose hold must expire by itself). load.c drives the
 * requests; this module holds the pure parts: which second step a checkout
 * takes, the request texts, the parse of the rid, and the per-step counts
 * and latencies. Not thread-safe: one per load engine. */
#ifndef COUPONQ_BENCH_CHECKOUT_H
#define COUPONQ_BENCH_CHECKOUT_H

#include <stddef.h>
#include <stdint.h>

#include "hist.h"

#define CHECKOUT_RID_MAX 64 /* longest redemption_id accepted from a body */

typedef enum {
    STEP_ISSUE = 0, /* the issue flow's only request */
    STEP_HOLD,
    STEP_CONFIRM,
    STEP_CANCEL,
    STEP_ABANDON /* no second request */
} checkout_step_t;

/* Which second step each checkout takes: checkout i (0-based) abandons
 * while fewer than floor((i + 1) x abandon) did, else cancels while fewer
 * than floor((i + 1) x cancel) did, else confirms. So after n checkouts
 * exactly floor(n x abandon) abandoned (cancels can lag by one), spread
 * evenly over the run, the same in every run. */
typedef struct checkout_plan {
    double abandon, cancel; /* shares, abandon + cancel <= 1 */
    uint64_t n, abandoned, cancelled;
} checkout_plan_t;

void checkout_plan_init(checkout_plan_t *p, double abandon, double cancel);
checkout_step_t checkout_plan_next(checkout_plan_t *p);

/* The hold's path and body: order id "<prefix><idx>", unique per request
 * of a run. The body carries user_id (required with --auth off; with a
 * token it must equal the token's user). Return the length, or -1 when the
 * buffer is too small. */
int checkout_hold_path(char *buf, size_t n, int64_t coupon);
int checkout_hold_body(char *buf, size_t n, int64_t user, const char *prefix,
                       uint64_t idx, int64_t amount);
/* POST path of the second step (STEP_CONFIRM or STEP_CANCEL). */
int checkout_step_path(char *buf, size_t n, checkout_step_t step,
                       const char *rid);

/* "redemption_id" out of a JSON body: 1..CHECKOUT_RID_MAX characters of
 * [0-9A-Za-z] (so it is safe in a path). 0 ok, -1 when absent or bad. */
int checkout_parse_rid(const char *body, size_t len, char *out, size_t n);

typedef struct checkout_result {
    uint64_t started;   /* holds sent */
    uint64_t held;      /* 201s with a usable redemption_id */
    uint64_t no_rid;    /* 201s without one (counted, no second step) */
    uint64_t confirmed; /* completed pairs: 201 then confirm 200 */
    uint64_t cancelled; /* 201 then cancel 200 */
    uint64_t abandoned; /* 201 and no second step, by plan */
    uint64_t hold_status[600], confirm_status[600], cancel_status[600];
    hist_t *hold;    /* ns; open loop: from the intended start */
    hist_t *confirm; /* ns; from the write of the confirm */
    hist_t *cancel;  /* ns; from the write of the cancel */
    hist_t *pair;    /* ns; hold start (intended) -> confirm's 200 */
} checkout_result_t;

/* "confirm", "cancel" or "abandon" (the --accepted-file's second word). */
const char *checkout_step_name(checkout_step_t step);

int checkout_result_init(checkout_result_t *r);
void checkout_result_free(checkout_result_t *r);

/* The answer to one step: counts it, and for a hold says what to send
 * next (STEP_CONFIRM, STEP_CANCEL or STEP_ABANDON when the plan says so;
 * STEP_ABANDON too when the hold was refused). `planned` is the plan's
 * step for this checkout, decided when the hold was sent. */
checkout_step_t checkout_answer(checkout_result_t *r, checkout_step_t step,
                                checkout_step_t planned, int status,
                                int has_rid, uint64_t service_ns,
                                uint64_t since_start_ns);

#endif
