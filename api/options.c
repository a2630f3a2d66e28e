/* options.c -- couponq-api's option table. See options.h. */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "options.h"

static const cfg_opt_t table[] = {
    CFG_OPT_REDIS,
    CFG_OPT_KAFKA,
    CFG_OPT_TOPIC,
    { "redemption-topic", "COUPONQ_REDEMPTION_TOPIC", CFG_STR, 0, 0,
      "couponq.redemptions",
      "Kafka topic of redemption events (hold, confirm, cancel, reverse; "
      "key = redemption id)" },
    { "kafka-partitioning", "COUPONQ_API_KAFKA_PARTITIONING", CFG_STR, 0, 0,
      "sticky",
      "partition of the issuance events: sticky (one per loop iteration, "
      "round robin: fewer, larger produce requests) or key (librdkafka's "
      "partitioner on the user id, see -X partitioner=)" },
    { "redemption-partitioning", "COUPONQ_API_REDEMPTION_PARTITIONING", CFG_STR,
      0, 0, "coupon",
      "partition of the redemption events: coupon (a coupon's events on "
      "one partition: fewer, larger produce requests; a redemption's "
      "events stay in order) or key (librdkafka's partitioner on the "
      "redemption id); the key is the redemption id either way" },
    { "redemption-linger-ms", "COUPONQ_API_REDEMPTION_LINGER_MS", CFG_INT, 0,
      1000, "2",
      "linger.ms of the redemption events' own producer (over -X): a few "
      "ms of batching that a checkout does not feel and a hot coupon's "
      "broker and api CPU do; the issuance producer keeps linger.ms=0" },
    { "redemption-inflight", "COUPONQ_API_REDEMPTION_INFLIGHT", CFG_INT, 0, 64,
      "2",
      "use.lua batches sent to Redis and not answered yet, at most; the "
      "calls made meanwhile wait and go together in the next batch (0: "
      "no limit, a batch per loop iteration)" },
    { "listen", "COUPONQ_LISTEN", CFG_STR, 0, 0, "127.0.0.1:8080",
      "HTTP listen addresses, comma-separated: host:port, [IPv6]:port or "
      "unix:PATH (with --auth gateway every unix-socket client is a "
      "trusted peer)" },
    CFG_OPT_LOG_LEVEL,
    { "timeout-ms", "COUPONQ_API_TIMEOUT_MS", CFG_INT, 500, 120000, "5000",
      "deadline of a request; message.timeout.ms defaults to it minus the "
      "Redis phase and a rollback" },
    { "redis-timeout-ms", "COUPONQ_API_REDIS_TIMEOUT_MS", CFG_INT, 50, 30000,
      "1000", "deadline of the Redis phase (admission, reads)" },
    { "redis-min-replicas", "COUPONQ_API_REDIS_MIN_REPLICAS", CFG_INT, 0, 16,
      "0",
      "answer 202 (and redemption transitions) only once the write reached "
      "this many Redis replicas (WAIT); 1 with Sentinel (see README, "
      "Running highly available)" },
    { "redis-replica-timeout-ms", "COUPONQ_API_REDIS_REPLICA_TIMEOUT_MS",
      CFG_INT, 1, 10000, "200",
      "how long WAIT waits for --redis-min-replicas; then 503, undone" },
    { "max-inflight", "COUPONQ_API_MAX_INFLIGHT", CFG_INT, 1, 1000000, "65536",
      "requests waiting on Redis/Kafka; beyond it 503" },
    { "max-conns", "COUPONQ_API_MAX_CONNS", CFG_INT, 1, 1000000, "10000",
      "open connections; beyond it new ones are closed" },
    { "max-body", "COUPONQ_API_MAX_BODY", CFG_INT, 16, 1048576, "1024",
      "request body bytes (413 beyond)" },
    { "max-headers", "COUPONQ_API_MAX_HEADERS", CFG_INT, 256, 1048576, "8192",
      "request line + header bytes (431 beyond)" },
    { "max-pipeline", "COUPONQ_API_MAX_PIPELINE", CFG_INT, 1, 100000, "256",
      "unanswered requests per connection before reading pauses" },
    { "header-timeout-ms", "COUPONQ_API_HEADER_TIMEOUT_MS", CFG_INT, 100,
      600000, "10000", "a begun request must be received by then (408)" },
    { "idle-timeout-ms", "COUPONQ_API_IDLE_TIMEOUT_MS", CFG_INT, 100, 3600000,
      "60000", "idle keep-alive connections are closed after it" },
    { "admin-listen", "COUPONQ_ADMIN_LISTEN", CFG_STR, 0, 0, "127.0.0.1:9090",
      "listener of /metrics and /healthz (\"off\": none); the public one "
      "answers 404 to /metrics" },
    { "auth", "COUPONQ_AUTH", CFG_STR, 0, 0, "jwt",
      "jwt (Authorization: Bearer), gateway (--trusted-header from "
      "--trusted-peers) or off (the body's user_id is believed)" },
    { "jwt-keys", "COUPONQ_JWT_KEYS", CFG_STR, 0, 0, "",
      "JWKS file (RFC 7517), every key with its alg (HS256, ES256, RS256); "
      "reloaded on SIGHUP" },
    { "jwt-issuer", "COUPONQ_JWT_ISSUER", CFG_STR, 0, 0, "couponq",
      "the iss every token must carry" },
    { "jwt-audience", "COUPONQ_JWT_AUDIENCE", CFG_STR, 0, 0, "couponq",
      "the aud every token must name" },
    { "jwt-max-lifetime", "COUPONQ_JWT_MAX_LIFETIME", CFG_INT, 1, 2592000,
      "3600", "seconds: a token whose exp lies further ahead is refused" },
    { "jwt-cache", "COUPONQ_JWT_CACHE", CFG_INT, 0, 4194304, "16384",
      "verified ES256/RS256 tokens remembered until their exp; 0 = no "
      "cache (every token verified)" },
    { "trusted-header", "COUPONQ_TRUSTED_HEADER", CFG_STR, 0, 0,
      "X-Couponq-User", "gateway: the header naming the user" },
    { "trusted-peers", "COUPONQ_TRUSTED_PEERS", CFG_STR, 0, 0, "",
      "gateway: comma-separated addresses/CIDRs allowed to send it "
      "(besides clients of a unix:PATH --listen, always trusted)" },
    { "conns-per-ip", "COUPONQ_API_CONNS_PER_IP", CFG_INT, 0, 1000000, "256",
      "open connections per IP (IPv6: per /64), beyond closed at accept; "
      "0 = no cap" },
    { "limit-ip-rate", "COUPONQ_API_LIMIT_IP_RATE", CFG_INT, 0, 100000000,
      "2000", "requests/s per IP (loose: many users share a NAT); 0 = off" },
    { "limit-ip-burst", "COUPONQ_API_LIMIT_IP_BURST", CFG_INT, 1, 100000000,
      "4000", "requests per IP at once" },
    { "limit-auth-fail-rate", "COUPONQ_API_LIMIT_AUTH_FAIL_RATE", CFG_INT, 0,
      1000000, "1", "failed authentications/s per IP; beyond 429; 0 = off" },
    { "limit-auth-fail-burst", "COUPONQ_API_LIMIT_AUTH_FAIL_BURST", CFG_INT, 1,
      1000000, "20", "failed authentications per IP at once" },
    { "limit-user-rate", "COUPONQ_API_LIMIT_USER_RATE", CFG_INT, 0, 1000000,
      "5", "requests/s per user (GCRA); 0 = off" },
    { "limit-user-burst", "COUPONQ_API_LIMIT_USER_BURST", CFG_INT, 1, 1000000,
      "10", "requests per user at once" },
    { "limit-table", "COUPONQ_API_LIMIT_TABLE", CFG_INT, 64, 16777216, "65536",
      "entries of each rate table (fixed memory, ~16 B each)" },
};

#define SUMMARY                                                                \
    "[flags] [-X librdkafka.key=value ...]\n"                                  \
    "couponq-api: HTTP front of couponq (admission in Redis, events to Kafka)"

static void fill_auth(options_t *o)
{
    config_t *c = o->cfg;
    gate_opts_t *g = &o->gate;

    o->admin_listen = config_str(c, "admin-listen");
    if (strcmp(o->admin_listen, "off") == 0)
        o->admin_listen = NULL;
    o->auth.mode = (auth_mode_t)auth_mode_parse(config_str(c, "auth"));
    o->auth.keys_path = config_str(c, "jwt-keys");
    o->auth.policy.issuer = config_str(c, "jwt-issuer");
    o->auth.policy.audience = config_str(c, "jwt-audience");
    o->auth.policy.leeway_s = 30;
    o->auth.policy.max_lifetime_s = config_int(c, "jwt-max-lifetime");
    o->auth.trusted_header = config_str(c, "trusted-header");
    o->auth.trusted_peers = config_str(c, "trusted-peers");
    o->auth.cache_entries = (uint32_t)config_int(c, "jwt-cache");
    if (o->auth.mode == AUTH_GATEWAY)
        o->http.user_header = o->auth.trusted_header;
    g->conns_per_ip = (uint32_t)config_int(c, "conns-per-ip");
    g->ip_rate = (double)config_int(c, "limit-ip-rate");
    g->ip_burst = (double)config_int(c, "limit-ip-burst");
    g->fail_rate = (double)config_int(c, "limit-auth-fail-rate");
    g->fail_burst = (double)config_int(c, "limit-auth-fail-burst");
    g->user_rate = (double)config_int(c, "limit-user-rate");
    g->user_burst = (double)config_int(c, "limit-user-burst");
    g->table_entries = (uint32_t)config_int(c, "limit-table");
    g->max_conns = o->http.max_conns;
}

/* 0 when option name is a or b, else -1 with "--name: expected a or b". */
static int either(const config_t *c, const char *name, const char *a,
                  const char *b, char *err, size_t n)
{
    const char *v = config_str(c, name);

    if (strcmp(v, a) == 0 || strcmp(v, b) == 0)
        return 0;
    snprintf(err, n, "--%s: expected %s or %s", name, a, b);
    return -1;
}

static void fill(options_t *o)
{
    config_t *c = o->cfg;

    o->redis = config_str(c, "redis");
    o->topic = config_str(c, "topic");
    o->redemption_topic = config_str(c, "redemption-topic");
    o->listen = config_str(c, "listen");
    o->kafka_sticky =
        strcmp(config_str(c, "kafka-partitioning"), "sticky") == 0;
    o->redemption_grouped =
        strcmp(config_str(c, "redemption-partitioning"), "coupon") == 0;
    o->redemption_linger_ms = (int)config_int(c, "redemption-linger-ms");
    o->redemption_inflight = (unsigned)config_int(c, "redemption-inflight");
    o->http.max_headers = (size_t)config_int(c, "max-headers");
    o->http.max_body = (size_t)config_int(c, "max-body");
    o->http.max_conns = (uint32_t)config_int(c, "max-conns");
    o->http.max_pipeline = (uint32_t)config_int(c, "max-pipeline");
    o->http.header_timeout_ms = (uint64_t)config_int(c, "header-timeout-ms");
    o->http.idle_timeout_ms = (uint64_t)config_int(c, "idle-timeout-ms");
    o->svc.max_inflight = (uint32_t)config_int(c, "max-inflight");
    o->svc.timeout_ms = (int)config_int(c, "timeout-ms");
    o->svc.redis_timeout_ms = (int)config_int(c, "redis-timeout-ms");
    o->redis_min_replicas = (int)config_int(c, "redis-min-replicas");
    o->redis_replica_timeout_ms =
        (int)config_int(c, "redis-replica-timeout-ms");
    /* Admission, then the produce, then maybe a rollback: all within the
     * request deadline. */
    o->message_timeout_ms = o->svc.timeout_ms - 2 * o->svc.redis_timeout_ms;
    fill_auth(o);
}

int options_parse(options_t *o, int argc, char **argv)
{
    char err[512];
    int rc, level;

    memset(o, 0, sizeof(*o));
    if ((o->cfg = config_new(table, sizeof(table) / sizeof(table[0]))) == NULL)
        return -1;
    rc = config_parse(o->cfg, argc, argv, err, sizeof(err));
    if (rc == 1) {
        config_usage(o->cfg, "couponq-api", SUMMARY, stdout);
        return 1;
    }
    if (rc == 0 && config_npos(o->cfg) > 0) {
        snprintf(err, sizeof(err), "unexpected argument: %s",
                 config_pos(o->cfg, 0));
        rc = -1;
    }
    if (rc == 0 &&
        (level = log_level_parse(config_str(o->cfg, "log-level"))) < 0) {
        snprintf(err, sizeof(err), "--log-level: unknown level \"%s\"",
                 config_str(o->cfg, "log-level"));
        rc = -1;
    }
    if (rc == 0 && auth_mode_parse(config_str(o->cfg, "auth")) < 0) {
        snprintf(err, sizeof(err), "--auth: expected jwt, gateway or off");
        rc = -1;
    }
    if (rc == 0 && (either(o->cfg, "kafka-partitioning", "sticky", "key", err,
                           sizeof(err)) != 0 ||
                    either(o->cfg, "redemption-partitioning", "coupon", "key",
                           err, sizeof(err)) != 0))
        rc = -1;
    if (rc == 0)
        fill(o);
    if (rc == 0 && o->message_timeout_ms < 100) {
        snprintf(err, sizeof(err),
                 "--timeout-ms: must exceed twice "
                 "--redis-timeout-ms by at least 100");
        rc = -1;
    }
    if (rc == 0 && o->redis_min_replicas > 0 &&
        o->redis_replica_timeout_ms >= o->svc.redis_timeout_ms) {
        snprintf(err, sizeof(err),
                 "--redis-replica-timeout-ms: must be below "
                 "--redis-timeout-ms");
        rc = -1;
    }
    if (rc != 0) {
        fprintf(stderr, "couponq-api: %s (try --help)\n", err);
        return -1;
    }
    log_init("couponq-api", level, 2);
    return 0;
}

void options_free(options_t *o)
{
    config_free(o->cfg);
    o->cfg = NULL;
}
