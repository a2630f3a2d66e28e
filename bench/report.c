/* report.c -- the table and the JSON line. See report.h.
 *
 * Rates: `sent` is requests written per second of send phase; `achieved` is
 * answers per second from the first send to the last answer. In the open
 * loop `offered` is the configured rate; when achieved falls short of it, or
 * `missed` is not zero, the server (or the generator, see its wake-up lag) did
 * not keep up. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

static double ms(uint64_t ns)
{
    return (double)ns / 1e6;
}

static double per_s(uint64_t n, double s)
{
    return s > 0 ? (double)n / s : 0.0;
}

static void report_hist_row(FILE *out, const char *what, const hist_t *h)
{
    if (hist_count(h) == 0) {
        fprintf(out, "  %-22s (none)\n", what);
        return;
    }
    fprintf(out, "  %-22s %9.3f %9.3f %9.3f %9.3f %9.3f %9.3f\n", what,
            ms(hist_percentile(h, 50)), ms(hist_percentile(h, 90)),
            ms(hist_percentile(h, 99)), ms(hist_percentile(h, 99.9)),
            ms(hist_max(h)), ms((uint64_t)hist_mean(h)));
}

static void report_status_line(FILE *out, const char *what,
                               const uint64_t *status)
{
    int i;

    fprintf(out, "  %-9s", what);
    for (i = 0; i < 600; i++)
        if (status[i] > 0)
            fprintf(out, " %d:%llu", i, (unsigned long long)status[i]);
    fprintf(out, "\n");
}

static void report_counts(FILE *out, const load_result_t *r)
{
    int i;

    report_status_line(out, "status", r->status);
    fprintf(out, "  result   ");
    for (i = 0; i < LOAD_MAX_RESULTS && r->results[i].name[0]; i++)
        fprintf(out, " %s:%llu", r->results[i].name,
                (unsigned long long)r->results[i].n);
    if (r->results_other > 0)
        fprintf(out, " (other):%llu", (unsigned long long)r->results_other);
    if (r->no_result > 0)
        fprintf(out, " (none):%llu", (unsigned long long)r->no_result);
    fprintf(out, "\n");
}

/* The checkout flow: completed pairs per second and each step's latency. */
static void report_checkout_table(FILE *out, const load_result_t *r)
{
    const checkout_result_t *co = &r->checkout;

    fprintf(out,
            "  checkout  started %llu  held %llu  confirmed %llu  "
            "cancelled %llu  abandoned %llu  201 without rid %llu\n",
            (unsigned long long)co->started, (unsigned long long)co->held,
            (unsigned long long)co->confirmed,
            (unsigned long long)co->cancelled,
            (unsigned long long)co->abandoned, (unsigned long long)co->no_rid);
    fprintf(out, "  pairs     %.1f hold+confirm/s\n",
            per_s(co->confirmed, r->total_s));
    fprintf(out, "  %-22s %9s %9s %9s %9s %9s %9s\n", "checkout (ms)", "p50",
            "p90", "p99", "p99.9", "max", "mean");
    report_hist_row(out, "hold", co->hold);
    report_hist_row(out, "confirm (from write)", co->confirm);
    if (hist_count(co->cancel) > 0)
        report_hist_row(out, "cancel (from write)", co->cancel);
    report_hist_row(out, "hold + confirm", co->pair);
    report_status_line(out, "hold", co->hold_status);
    report_status_line(out, "confirm", co->confirm_status);
    if (hist_count(co->cancel) > 0)
        report_status_line(out, "cancel", co->cancel_status);
}

void report_table(FILE *out, const report_info_t *ri, const load_result_t *r)
{
    fprintf(out,
            "couponq-bench %s%s%s -> %s, %d conn x %d, users %s, "
            "coupon %lld%s\n",
            ri->label ? "[" : "", ri->label ? ri->label : "",
            ri->label ? "] " : "", ri->target, ri->connections, ri->pipeline,
            ri->users, ri->coupon, ri->coupons > 1 ? "+" : "");
    if (ri->open_loop)
        fprintf(out, "  mode      open loop, %s, offered %.0f %s/s\n",
                ri->sched, ri->rate,
                ri->flow != NULL && strcmp(ri->flow, "checkout") == 0
                    ? "checkouts"
                    : "req");
    else
        fprintf(out, "  mode      closed loop (max throughput)\n");
    fprintf(out,
            "  requests  sent %llu  answered %llu  missed %llu  "
            "unanswered %llu  socket errors %llu  queued %llu\n",
            (unsigned long long)r->sent, (unsigned long long)r->answered,
            (unsigned long long)r->missed, (unsigned long long)r->unanswered,
            (unsigned long long)r->sock_errors, (unsigned long long)r->queued);
    fprintf(out,
            "  time      send %.3f s  total %.3f s  last 202 at %.3f s  "
            "distinct users %llu\n",
            r->send_s, r->total_s, r->last_202_s,
            (unsigned long long)r->distinct_users);
    fprintf(out, "  rate      sent %.1f req/s  achieved %.1f req/s\n",
            per_s(r->sent, r->send_s), per_s(r->answered, r->total_s));
    fprintf(out, "  %-22s %9s %9s %9s %9s %9s %9s\n", "latency (ms)", "p50",
            "p90", "p99", "p99.9", "max", "mean");
    report_hist_row(out, ri->open_loop ? "from intended send" : "from send",
                    r->latency);
    if (ri->open_loop) {
        report_hist_row(out, "service (from write)", r->service);
        report_hist_row(out, "wait before write", r->lag);
        report_hist_row(out, "generator wake-up lag", r->timer_lag);
    }
    report_counts(out, r);
    if (ri->flow != NULL && strcmp(ri->flow, "checkout") == 0)
        report_checkout_table(out, r);
}

static json_t *report_hist_json(const hist_t *h)
{
    return json_pack(
        "{s:I,s:f,s:f,s:f,s:f,s:f,s:f}", "n", (json_int_t)hist_count(h), "p50",
        ms(hist_percentile(h, 50)), "p90", ms(hist_percentile(h, 90)), "p99",
        ms(hist_percentile(h, 99)), "p999", ms(hist_percentile(h, 99.9)), "max",
        ms(hist_max(h)), "mean", hist_mean(h) / 1e6);
}

static json_t *report_status_json(const uint64_t *status)
{
    json_t *o = json_object();
    char key[8];
    int i;

    for (i = 0; i < 600; i++) {
        if (status[i] == 0)
            continue;
        snprintf(key, sizeof(key), "%d", i);
        json_object_set_new(o, key, json_integer((json_int_t)status[i]));
    }
    return o;
}

static json_t *report_counts_json(const load_result_t *r, json_t **results)
{
    json_t *status = report_status_json(r->status);
    int i;

    *results = json_object();
    for (i = 0; i < LOAD_MAX_RESULTS && r->results[i].name[0]; i++)
        json_object_set_new(*results, r->results[i].name,
                            json_integer((json_int_t)r->results[i].n));
    return status;
}

static json_t *report_checkout_json(const load_result_t *r)
{
    const checkout_result_t *co = &r->checkout;

    return json_pack(
        "{s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "started",
        (json_int_t)co->started, "held", (json_int_t)co->held, "confirmed",
        (json_int_t)co->confirmed, "cancelled", (json_int_t)co->cancelled,
        "abandoned", (json_int_t)co->abandoned, "no_rid",
        (json_int_t)co->no_rid, "pair_rate", per_s(co->confirmed, r->total_s),
        "hold_status", report_status_json(co->hold_status), "confirm_status",
        report_status_json(co->confirm_status), "cancel_status",
        report_status_json(co->cancel_status), "hold_ms",
        report_hist_json(co->hold), "confirm_ms", report_hist_json(co->confirm),
        "cancel_ms", report_hist_json(co->cancel), "pair_ms",
        report_hist_json(co->pair));
}

char *report_json(const report_info_t *ri, const load_result_t *r)
{
    json_t *o, *results, *status = report_counts_json(r, &results);
    char *text;

    o = json_pack(
        "{s:s?,s:s,s:s,s:s?,s:f,s:i,s:i,s:s,s:I,s:i,s:I,s:I,s:I,s:I,s:I,s:I,"
        "s:I,s:I,s:I,s:f,s:f,s:f,s:f,s:f,s:o,s:o,s:o,s:o,s:o,s:o}",
        "label", ri->label, "target", ri->target, "mode",
        ri->open_loop ? "open" : "closed", "sched",
        ri->open_loop ? ri->sched : NULL, "offered_rate",
        ri->open_loop ? ri->rate : 0.0, "connections", ri->connections,
        "pipeline", ri->pipeline, "users", ri->users, "coupon",
        (json_int_t)ri->coupon, "coupons", ri->coupons, "sent",
        (json_int_t)r->sent, "answered", (json_int_t)r->answered, "missed",
        (json_int_t)r->missed, "unanswered", (json_int_t)r->unanswered,
        "queued", (json_int_t)r->queued, "socket_errors",
        (json_int_t)r->sock_errors, "connect_errors",
        (json_int_t)r->connect_errors, "parse_errors",
        (json_int_t)r->parse_errors, "distinct_users",
        (json_int_t)r->distinct_users, "send_s", r->send_s, "total_s",
        r->total_s, "last_202_s", r->last_202_s, "sent_rate",
        per_s(r->sent, r->send_s), "achieved_rate",
        per_s(r->answered, r->total_s), "status", status, "result", results,
        "latency_ms", report_hist_json(r->latency), "service_ms",
        report_hist_json(r->service), "send_lag_ms", report_hist_json(r->lag),
        "timer_lag_ms", report_hist_json(r->timer_lag));
    if (o == NULL)
        return NULL;
    json_object_set_new(o, "flow", json_string(ri->flow ? ri->flow : "issue"));
    if (ri->flow != NULL && strcmp(ri->flow, "checkout") == 0)
        json_object_set_new(o, "checkout", report_checkout_json(r));
    text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6));
    json_decref(o);
    return text;
}
