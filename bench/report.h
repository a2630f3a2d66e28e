/* report.h -- couponq-bench output: a human table and one JSON line.
 *
 * The JSON line is the contract with bench/run and the tests: one object,
 * keys stable, latencies in milliseconds, rates in requests per second. */
#ifndef COUPONQ_BENCH_REPORT_H
#define COUPONQ_BENCH_REPORT_H

#include <stdio.h>

#include "load.h"

typedef struct report_info {
    const char *label;  /* free text from --label, or NULL */
    const char *target; /* host:port */
    int open_loop;
    const char *sched; /* open loop: "fixed" or "poisson" */
    double rate;       /* open loop: offered rate */
    int connections, pipeline;
    const char *users; /* "seq", "dup", "zipf" */
    long long coupon;
    int coupons;
    const char *flow; /* "issue" or "checkout" */
} report_info_t;

void report_table(FILE *out, const report_info_t *ri, const load_result_t *r);
/* malloc'd JSON text without a newline; NULL when out of memory. */
char *report_json(const report_info_t *ri, const load_result_t *r);

#endif
