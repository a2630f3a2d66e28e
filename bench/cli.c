/* cli.c -- couponq-bench's option table. See cli.h.
 *
 * Every run is bounded (--requests and/or --duration) and talks to loopback
 * only (load.c checks the address). Fractional values (seconds, ratios) are
 * strings in the table and checked here, with the flag's name in the error. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "log.h"

static const cfg_opt_t opts[] = {
    { "target", "COUPONQ_BENCH_TARGET", CFG_STR, 0, 0, "127.0.0.1:8080",
      "server host:port (loopback only)" },
    { "rate", NULL, CFG_INT, 0, 10000000, "0",
      "open loop: offered requests/s; 0 = closed loop (max throughput)" },
    { "arrival", NULL, CFG_STR, 0, 0, "poisson",
      "open loop arrivals: fixed or poisson" },
    { "connections", NULL, CFG_INT, 1, 20000, "64", "TCP connections" },
    { "pipeline", NULL, CFG_INT, 1, 1024, "1",
      "requests in flight per connection (HTTP/1.1 pipelining when > 1)" },
    { "requests", NULL, CFG_INT, 0, 1000000000000LL, "0",
      "stop after this many requests (0 = no limit)" },
    { "duration", NULL, CFG_STR, 0, 0, NULL,
      "stop sending after this many seconds (fractions allowed)" },
    { "drain", NULL, CFG_STR, 0, 0, "10",
      "then wait this many seconds for answers in flight" },
    { "coupon", NULL, CFG_INT, 1, 9000000000000000000LL, "1",
      "coupon id (the first one with --coupons)" },
    { "coupons", NULL, CFG_INT, 1, 1000000, "1",
      "spread requests over coupon .. coupon+N-1 (round robin)" },
    { "users", NULL, CFG_STR, 0, 0, "seq",
      "user mix: seq (unique), dup (repeats), zipf (hot users)" },
    { "user-base", NULL, CFG_INT, 1, 4000000000000000000LL, "1",
      "first user id" },
    { "user-pool", NULL, CFG_INT, 0, 1000000000000LL, "0",
      "distinct users (0 = unbounded for seq/dup; required for zipf)" },
    { "dup-ratio", NULL, CFG_STR, 0, 0, "0.2",
      "dup: share of requests that repeat an earlier user, [0, 1)" },
    { "zipf-s", NULL, CFG_STR, 0, 0, "1.0", "zipf: exponent s > 0" },
    { "seed", NULL, CFG_INT, 0, 9000000000000000000LL, "1",
      "seed of the user and arrival generators" },
    { "token-file", NULL, CFG_STR, 0, 0, NULL,
      "\"USER_ID TOKEN\" lines, loaded before the run: each request carries "
      "its user's Authorization: Bearer" },
    { "flow", NULL, CFG_STR, 0, 0, "issue",
      "issue (POST .../issues) or checkout (hold, then confirm/cancel on "
      "the same connection; see --abandon, --cancel)" },
    { "abandon", NULL, CFG_STR, 0, 0, "0",
      "checkout: share of holds never confirmed (left to expire), [0, 1]" },
    { "cancel", NULL, CFG_STR, 0, 0, "0",
      "checkout: share of holds cancelled instead of confirmed, [0, 1]" },
    { "order-amount", NULL, CFG_INT, 0, 2147483647, "30000",
      "checkout: the hold's order_amount (minor units)" },
    { "order-prefix", NULL, CFG_STR, 0, 0, "bench-",
      "checkout: order ids are this prefix + the checkout's index" },
    { "accepted-file", NULL, CFG_STR, 0, 0, NULL,
      "write \"coupon user\" of every 202 to this file (checkout: \"rid "
      "confirm|cancel|abandon\" of every 201)" },
    { "label", NULL, CFG_STR, 0, 0, NULL, "a name for the report" },
    { "json", NULL, CFG_BOOL, 0, 0, "false",
      "print one JSON line after the table" },
    { "quiet", NULL, CFG_BOOL, 0, 0, "false", "no table" },
    CFG_OPT_LOG_LEVEL,
};

static int cli_double(const config_t *cfg, const char *name, double lo,
                      double hi, double *out, char *errstr, size_t n)
{
    const char *s = config_str(cfg, name);
    char *end;

    *out = 0.0;
    if (s == NULL)
        return 0;
    errno = 0;
    *out = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !isfinite(*out) ||
        *out < lo || *out > hi) {
        snprintf(errstr, n, "--%s: want a number in [%g, %g], got \"%s\"", name,
                 lo, hi, s);
        return -1;
    }
    return 0;
}

static int cli_target(cli_t *c, char *errstr, size_t n)
{
    const char *t = config_str(c->cfg, "target");
    const char *colon = strrchr(t, ':');
    char *end;
    long port;

    if (colon == NULL || (size_t)(colon - t) >= sizeof(c->host)) {
        snprintf(errstr, n, "--target: want host:port, got \"%s\"", t);
        return -1;
    }
    port = strtol(colon + 1, &end, 10);
    if (*end != '\0' || port < 1 || port > 65535) {
        snprintf(errstr, n, "--target: bad port in \"%s\"", t);
        return -1;
    }
    memcpy(c->host, t, (size_t)(colon - t));
    c->host[colon - t] = '\0';
    if (c->host[0] == '[' && c->host[strlen(c->host) - 1] == ']') {
        memmove(c->host, c->host + 1, strlen(c->host));
        c->host[strlen(c->host) - 1] = '\0';
    }
    snprintf(c->target, sizeof(c->target), "%s", t);
    c->load.host = c->host;
    c->load.port = (int)port;
    return 0;
}

static int cli_users(cli_t *c, char *errstr, size_t n)
{
    users_opts_t uo = { 0 };
    int mode = users_mode_parse(config_str(c->cfg, "users"));
    char why[200];

    if (mode < 0) {
        snprintf(errstr, n, "--users: want seq, dup or zipf, got \"%s\"",
                 config_str(c->cfg, "users"));
        return -1;
    }
    uo.mode = (users_mode_t)mode;
    uo.base = config_int(c->cfg, "user-base");
    uo.n = (uint64_t)config_int(c->cfg, "user-pool");
    uo.seed = (uint64_t)config_int(c->cfg, "seed");
    if (cli_double(c->cfg, "dup-ratio", 0.0, 0.999999, &uo.dup_ratio, errstr,
                   n) != 0 ||
        cli_double(c->cfg, "zipf-s", 1e-6, 99.0, &uo.zipf_s, errstr, n) != 0)
        return -1;
    c->load.users = users_new(&uo, why, sizeof(why));
    if (c->load.users == NULL) {
        snprintf(errstr, n, "--users %s: %s", users_mode_name(uo.mode), why);
        return -1;
    }
    c->info.users = users_mode_name(uo.mode);
    return 0;
}

static int cli_sched(cli_t *c, char *errstr, size_t n)
{
    int mode = arrival_mode_parse(config_str(c->cfg, "arrival"));

    c->load.rate = (double)config_int(c->cfg, "rate");
    c->load.open_loop = c->load.rate > 0;
    if (mode < 0) {
        snprintf(errstr, n, "--arrival: want fixed or poisson, got \"%s\"",
                 config_str(c->cfg, "arrival"));
        return -1;
    }
    c->info.sched = arrival_mode_name((arrival_mode_t)mode);
    if (!c->load.open_loop)
        return 0;
    /* A different stream from the users', so changing one keeps the other. */
    c->load.sched = arrival_new((arrival_mode_t)mode, c->load.rate,
                                (uint64_t)config_int(c->cfg, "seed") ^ 0x5eed);
    if (c->load.sched == NULL) {
        snprintf(errstr, n, "out of memory");
        return -1;
    }
    return 0;
}

static int cli_bounds(cli_t *c, char *errstr, size_t n)
{
    c->load.requests = (uint64_t)config_int(c->cfg, "requests");
    if (cli_double(c->cfg, "duration", 0.001, 86400, &c->load.duration_s,
                   errstr, n) != 0 ||
        cli_double(c->cfg, "drain", 0, 3600, &c->load.drain_s, errstr, n) != 0)
        return -1;
    if (c->load.requests == 0 && c->load.duration_s == 0) {
        snprintf(errstr, n, "--requests or --duration: a run must be bounded");
        return -1;
    }
    return 0;
}

/* --flow and the checkout's options. */
static int cli_flow(cli_t *c, char *errstr, size_t n)
{
    const char *flow = config_str(c->cfg, "flow");
    const char *prefix = config_str(c->cfg, "order-prefix");
    size_t i;

    if (strcmp(flow, "issue") == 0) {
        c->load.flow = LOAD_FLOW_ISSUE;
    } else if (strcmp(flow, "checkout") == 0) {
        c->load.flow = LOAD_FLOW_CHECKOUT;
    } else {
        snprintf(errstr, n, "--flow: want issue or checkout, got \"%s\"", flow);
        return -1;
    }
    c->info.flow = flow;
    if (cli_double(c->cfg, "abandon", 0, 1, &c->load.abandon, errstr, n) != 0 ||
        cli_double(c->cfg, "cancel", 0, 1, &c->load.cancel, errstr, n) != 0)
        return -1;
    if (c->load.abandon + c->load.cancel > 1) {
        snprintf(errstr, n, "--abandon + --cancel: at most 1");
        return -1;
    }
    /* Order ids are 1..64 of [A-Za-z0-9._:-]; the index adds up to 20. */
    for (i = 0; prefix[i] != '\0'; i++)
        if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                   "0123456789._:-",
                   prefix[i]) == NULL)
            break;
    if (prefix[i] != '\0' || i > 40) {
        snprintf(errstr, n,
                 "--order-prefix: want at most 40 of [A-Za-z0-9._:-], got "
                 "\"%s\"",
                 prefix);
        return -1;
    }
    c->load.order_prefix = prefix;
    c->load.order_amount = config_int(c->cfg, "order-amount");
    if (c->load.flow == LOAD_FLOW_CHECKOUT &&
        config_int(c->cfg, "pipeline") != 1) {
        snprintf(errstr, n,
                 "--flow checkout: --pipeline must be 1 (the "
                 "second step follows its hold's answer)");
        return -1;
    }
    return 0;
}

static void cli_fill(cli_t *c)
{
    const config_t *cfg = c->cfg;

    c->load.connections = (int)config_int(cfg, "connections");
    c->load.pipeline = (int)config_int(cfg, "pipeline");
    c->load.coupon = config_int(cfg, "coupon");
    c->load.coupons = (int)config_int(cfg, "coupons");
    c->json = config_bool(cfg, "json");
    c->quiet = config_bool(cfg, "quiet");
    c->accepted_path = config_str(cfg, "accepted-file");
    c->info.label = config_str(cfg, "label");
    c->info.target = c->target;
    c->info.open_loop = c->load.open_loop;
    c->info.rate = c->load.rate;
    c->info.connections = c->load.connections;
    c->info.pipeline = c->load.pipeline;
    c->info.coupon = c->load.coupon;
    c->info.coupons = c->load.coupons;
}

int cli_parse(cli_t *c, int argc, char **argv, char *errstr, size_t n)
{
    int rc, level;

    memset(c, 0, sizeof(*c));
    c->cfg = config_new(opts, sizeof(opts) / sizeof(opts[0]));
    if (c->cfg == NULL) {
        snprintf(errstr, n, "out of memory");
        return -1;
    }
    rc = config_parse(c->cfg, argc, argv, errstr, n);
    if (rc == 1)
        config_usage(c->cfg, "couponq-bench",
                     "open/closed-loop HTTP load generator for couponq",
                     stdout);
    if (rc != 0)
        return rc;
    level = log_level_parse(config_str(c->cfg, "log-level"));
    if (level < 0) {
        snprintf(errstr, n, "--log-level: want debug, info, warn or error");
        return -1;
    }
    log_init("couponq-bench", level, 2);
    if (config_nx(c->cfg) > 0) {
        snprintf(errstr, n, "-X: couponq-bench talks HTTP only, no Kafka");
        return -1;
    }
    if (config_npos(c->cfg) > 0) {
        snprintf(errstr, n, "unexpected argument \"%s\"",
                 config_pos(c->cfg, 0));
        return -1;
    }
    if (cli_target(c, errstr, n) != 0 || cli_bounds(c, errstr, n) != 0 ||
        cli_sched(c, errstr, n) != 0 || cli_users(c, errstr, n) != 0 ||
        cli_flow(c, errstr, n) != 0)
        return -1;
    cli_fill(c);
    if (config_str(c->cfg, "token-file") != NULL &&
        (c->tokens =
             tokens_load(config_str(c->cfg, "token-file"), errstr, n)) == NULL)
        return -1;
    c->load.tokens = c->tokens;
    return 0;
}

void cli_free(cli_t *c)
{
    tokens_free(c->tokens);
    users_free(c->load.users);
    arrival_free(c->load.sched);
    config_free(c->cfg);
    memset(c, 0, sizeof(*c));
}
