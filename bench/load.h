/* load.h -- the load engine of couponq-bench: one libuv loop, many
 * keep-alive HTTP/1.1 connections to one loopback server, each request a
 * `POST /v1/coupons/{id}/issues {"user_id":N}`, with the user's
 * `Authorization: Bearer` header when a token table is given.
 *
 * The checkout flow (LOAD_FLOW_CHECKOUT, checkout.h) replaces the issue by
 * a hold, and the hold's answer sends the checkout's second step (confirm
 * or cancel) on the same connection at once; the rate, --requests and the
 * open loop's intended times count checkouts, not requests.
 *
 * Open loop: requests are due at the times of a arrival_t; a due request goes
 * out on any connection with a free slot (fewer than `pipeline` in flight).
 * Its latency is measured from the intended time, so time spent waiting for
 * a free connection counts against the server. Requests still not sent when
 * the send phase ends are counted as `missed`.
 * Closed loop: every connection keeps `pipeline` requests in flight; the
 * latency of a request is measured from its write.
 *
 * The engine owns nothing it is given; load_result_t owns its histograms
 * (load_result_free). Not thread-safe: one engine per thread. */
#ifndef COUPONQ_BENCH_LOAD_H
#define COUPONQ_BENCH_LOAD_H

#include <stdint.h>
#include <stdio.h>

#include "hist.h"
#include "arrival.h"
#include "checkout.h"
#include "tokens.h"
#include "users.h"

#define LOAD_MAX_RESULTS 16 /* distinct `result` values counted by name */
#define LOAD_RESULT_LEN  24

typedef struct load_opts {
    const char *host; /* a loopback address: 127.x.y.z, ::1 or localhost */
    int port;
    int connections;   /* >= 1 */
    int pipeline;      /* requests in flight per connection, >= 1 */
    int open_loop;     /* 1 = rate-driven (sched), 0 = closed loop */
    arrival_t *sched;  /* open loop only; borrowed */
    double rate;       /* open loop: offered rate, for the report */
    uint64_t requests; /* stop sending after this many; 0 = no limit */
    double duration_s; /* stop sending after this long; 0 = no limit */
    double drain_s;    /* then wait this long for answers in flight */
    int64_t coupon;    /* first coupon id */
    int coupons;       /* coupon = coupon + (request index % coupons) */
    users_t *users;    /* borrowed */
    FILE *accepted;    /* "coupon user\n" per 202 (checkout: "rid step\n"
                        * per 201, step = its planned second step), or
                        * NULL; borrowed */
    /* Each request carries its user's Authorization header (a user with
     * no token in the table is sent without one); NULL: none. Borrowed. */
    const tokens_t *tokens;
    int flow; /* LOAD_FLOW_ISSUE, or LOAD_FLOW_CHECKOUT (pipeline must be 1) */
    double abandon, cancel;   /* checkout: shares of the second steps */
    int64_t order_amount;     /* checkout: the hold's order_amount */
    const char *order_prefix; /* checkout: order ids are prefix + index */
} load_opts_t;

enum { LOAD_FLOW_ISSUE = 0, LOAD_FLOW_CHECKOUT = 1 };

typedef struct load_result_count {
    char name[LOAD_RESULT_LEN];
    uint64_t n;
} load_result_count_t;

typedef struct load_result {
    uint64_t sent, answered;
    uint64_t missed;      /* open loop: due but never sent */
    uint64_t unanswered;  /* in flight when the drain time ran out */
    uint64_t queued;      /* open loop: sent late because every connection
                           * was busy (the rest of the lag is the generator) */
    uint64_t sock_errors; /* requests lost to a reset or closed connection */
    uint64_t connects, connect_errors, parse_errors;
    uint64_t status[600]; /* [0] = answers with a code outside 100..599 */
    load_result_count_t results[LOAD_MAX_RESULTS];
    uint64_t results_other; /* more than LOAD_MAX_RESULTS distinct names */
    uint64_t no_result;     /* answers without a "result" field */
    uint64_t distinct_users;
    double send_s;     /* first intended send to the end of the send phase */
    double total_s;    /* first send to the last answer */
    double last_202_s; /* first send to the last 202 (0: none) */
    hist_t *latency;   /* ns; open loop: from the intended time */
    hist_t *service;   /* ns; from the write of the request */
    hist_t *lag;       /* ns; open loop: write time minus intended time:
                        * waiting for a free connection + generator lateness */
    hist_t *timer_lag; /* ns; open loop: how late the generator woke up for a
                        * due request (CPU starvation, not the server) */
    checkout_result_t checkout; /* per-step counts of the checkout flow */
} load_result_t;

int load_result_init(load_result_t *r);
void load_result_free(load_result_t *r);
uint64_t load_result_count(const load_result_t *r, const char *name);

/* Runs to completion. 0 on success (the result holds the counts, which may
 * include errors); -1 with errstr when the run could not start or no
 * connection could be made. */
int load_run(const load_opts_t *o, load_result_t *r, char *errstr, size_t n);

/* Parses the value of "result" out of a JSON body, tolerating spaces:
 * `{"result": "accepted", ...}` -> "accepted". 0 on success, -1 when there
 * is no such string field. Exposed for tests. */
int load_parse_result(const char *body, size_t len, char *out, size_t n);

#endif
