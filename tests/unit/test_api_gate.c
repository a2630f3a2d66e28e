/* test_api_gate.c -- api/gate: connections per IP (and per IPv6 /64) with
 * the open-addressing table checked against a model under churn, the loose
 * per-IP request rate, the strict failed-authentication budget (peeked
 * before any crypto), user/sub mismatch, service tokens that need a body
 * user, the per-user rate, and each refusal's status, headers, message,
 * counter and audit line (which names a hash of the token, never the
 * token).
 *
 * The limits run on the real monotonic clock, so rates here are one
 * request per 1,000 s: nothing refills while a test runs, and Retry-After
 * is known to the second. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "gate.h"
#include "log.h"

#include "auth_fixture.h"

#define SLOW 0.001 /* requests per second: one per 1,000 s */

typedef struct env {
    fixture_t *f;
    metrics_t *m;
    gate_t *g;
} env_t;

static gate_opts_t no_limits(void)
{
    gate_opts_t o;

    memset(&o, 0, sizeof(o));
    o.table_entries = 1024;
    o.max_conns = 64;
    return o;
}

/* A gate over an auth in mode (jwt: the fixture's keys, which the jwt
 * tests mint with). */
static env_t env_new(const gate_opts_t *o, auth_mode_t mode)
{
    env_t e = { fix_new(0), metrics_new(), NULL };
    auth_opts_t ao;
    char err[256] = "";
    auth_t *a;

    assert_non_null(e.f);
    assert_non_null(e.m);
    memset(&ao, 0, sizeof(ao));
    ao.mode = mode;
    ao.keys_path = e.f->path;
    ao.policy.issuer = ao.policy.audience = "couponq";
    ao.policy.leeway_s = 30;
    ao.policy.max_lifetime_s = 3600;
    e.f->now = (long long)time(NULL); /* gate_request reads the real clock */
    if ((a = auth_new(&ao, err, sizeof(err))) == NULL)
        fail_msg("auth_new: %s", err);
    if ((e.g = gate_new(o, a, e.m, err, sizeof(err))) == NULL)
        fail_msg("gate_new: %s", err);
    return e;
}

static void env_free(env_t *e)
{
    gate_free(e->g);
    metrics_free(e->m);
    fix_free(e->f);
}

static double refusals(env_t *e, const char *reason)
{
    char labels[64];

    snprintf(labels, sizeof(labels), "reason=\"%s\"", reason);
    return metric_value(metrics_counter(
        e->m, "couponq_api_refusals_total",
        "Requests or connections refused before Redis, by reason", labels));
}

static void is_429(const gate_refusal_t *ref, const char *which)
{
    char msg[64];
    unsigned retry = 0;

    snprintf(msg, sizeof(msg), "rate_limited: %s", which);
    assert_int_equal(ref->status, 429);
    assert_string_equal(ref->msg, msg);
    assert_int_equal(sscanf(ref->extra, "Retry-After: %u\r\n", &retry), 1);
    assert_in_range(retry, 990, 1000);
    assert_int_equal(strlen(ref->extra),
                     strlen("Retry-After: 1000\r\n") - (retry < 1000 ? 1 : 0));
}

/* ---- connections per IP ---- */

static void test_conns_per_ip(void **state)
{
    gate_opts_t o = no_limits();
    struct sockaddr_storage a = fix_addr("192.0.2.1"),
                            b = fix_addr("192.0.2.2"),
                            v6a = fix_addr("2001:db8:1:2::1"),
                            v6b = fix_addr("2001:db8:1:2:ffff::9"),
                            v6c = fix_addr("2001:db8:1:3::1");
    env_t e;
    int i;

    (void)state;
    o.conns_per_ip = 3;
    e = env_new(&o, AUTH_OFF);
    for (i = 0; i < 3; i++)
        assert_int_equal(gate_admit_peer(e.g, &a), 0);
    assert_int_equal(gate_admit_peer(e.g, &a), -1);
    assert_int_equal(gate_admit_peer(e.g, &a), -1);
    assert_int_equal(gate_admit_peer(e.g, &b), 0); /* another IP */
    assert_true(refusals(&e, "conns_per_ip") == 2);
    gate_peer_gone(e.g, &a);
    assert_int_equal(gate_admit_peer(e.g, &a), 0);
    assert_int_equal(gate_admit_peer(e.g, &a), -1);
    /* one /64 is one subscriber */
    for (i = 0; i < 2; i++)
        assert_int_equal(gate_admit_peer(e.g, &v6a), 0);
    assert_int_equal(gate_admit_peer(e.g, &v6b), 0);
    assert_int_equal(gate_admit_peer(e.g, &v6b), -1);
    assert_int_equal(gate_admit_peer(e.g, &v6c), 0);
    /* a peer that was never admitted going away changes nothing */
    gate_peer_gone(e.g, &(struct sockaddr_storage){ 0 });
    assert_int_equal(gate_admit_peer(e.g, &a), -1);
    env_free(&e);
    /* 0: no cap */
    o.conns_per_ip = 0;
    e = env_new(&o, AUTH_OFF);
    for (i = 0; i < 1000; i++)
        assert_int_equal(gate_admit_peer(e.g, &a), 0);
    assert_true(refusals(&e, "conns_per_ip") == 0);
    env_free(&e);
}

/* The table against a model: 20,000 random connects and disconnects of 50
 * IPs (their keys collide in a 128-slot table), at most 64 open, as
 * http.c guarantees. Backward-shift deletion must keep every count. */
static void test_conns_table_churn(void **state)
{
    gate_opts_t o = no_limits();
    struct sockaddr_storage ip[50];
    int open[50] = { 0 }, total = 0, i, k, want;
    char s[32];
    uint64_t rng = 88172645463325252ULL;
    env_t e;

    (void)state;
    o.conns_per_ip = 4;
    o.max_conns = 64;
    e = env_new(&o, AUTH_OFF);
    for (k = 0; k < 50; k++) {
        snprintf(s, sizeof(s), "10.%d.%d.1", k % 7, k);
        ip[k] = fix_addr(s);
    }
    for (i = 0; i < 20000; i++) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        k = (int)(rng % 50);
        if ((rng >> 32) % 2 == 0 && open[k] > 0) {
            gate_peer_gone(e.g, &ip[k]);
            open[k]--;
            total--;
        } else if (total < 64) {
            want = open[k] < 4 ? 0 : -1;
            if (gate_admit_peer(e.g, &ip[k]) != want)
                fail_msg("step %d: ip %d with %d open: want %d", i, k, open[k],
                         want);
            if (want == 0) {
                open[k]++;
                total++;
            }
        }
    }
    env_free(&e);
}

/* ---- per-IP request rate ---- */

static void test_ip_rate(void **state)
{
    gate_opts_t o = no_limits();
    struct sockaddr_storage a = fix_addr("198.51.100.7"),
                            b = fix_addr("198.51.100.8");
    http_request_t ra = fix_req(&a, NULL, 0), rb = fix_req(&b, NULL, 0),
                   ru = fix_req(NULL, NULL, 0);
    gate_refusal_t ref;
    gate_who_t who;
    env_t e;
    int i;

    (void)state;
    o.ip_rate = SLOW;
    o.ip_burst = 3;
    e = env_new(&o, AUTH_OFF);
    for (i = 0; i < 3; i++)
        assert_int_equal(gate_ip(e.g, &ra, 1, &ref), 0);
    assert_int_equal(gate_ip(e.g, &ra, 1, &ref), -1);
    is_429(&ref, "ip");
    /* gate_request applies the same limit first */
    assert_int_equal(gate_request(e.g, &ra, 1, &who, &ref), -1);
    is_429(&ref, "ip");
    assert_int_equal(gate_request(e.g, &rb, 1, &who, &ref), 0);
    assert_int_equal(who.authed, 0); /* --auth off */
    for (i = 0; i < 10; i++) /* a unix socket is the gateway: not limited */
        assert_int_equal(gate_ip(e.g, &ru, 1, &ref), 0);
    assert_true(refusals(&e, "rate_limited_ip") == 2);
    env_free(&e);
}

/* ---- failed authentications ---- */

static void test_auth_failures(void **state)
{
    gate_opts_t o = no_limits();
    struct sockaddr_storage a = fix_addr("203.0.113.5"),
                            b = fix_addr("203.0.113.6");
    char good[1024], bad[1024];
    gate_refusal_t ref;
    gate_who_t who;
    http_request_t r;
    env_t e;
    int n, i;

    (void)state;
    o.fail_rate = SLOW;
    o.fail_burst = 2;
    e = env_new(&o, AUTH_JWT);
    n = fix_hs(e.f, "1001", "", good, sizeof(good));
    memcpy(bad, good, (size_t)n + 1);
    bad[n - 3] = bad[n - 3] == 'A' ? 'B' : 'A';
    /* successes do not spend the budget */
    for (i = 0; i < 5; i++) {
        r = fix_req(&a, good, (size_t)n);
        assert_int_equal(gate_request(e.g, &r, 1, &who, &ref), 0);
        assert_int_equal(who.authed, 1);
        assert_int_equal(who.user_id, 1001);
        assert_string_equal(who.kid, "hs1");
    }
    r = fix_req(&a, bad, (size_t)n);
    assert_int_equal(gate_request(e.g, &r, 1, &who, &ref), -1);
    assert_int_equal(ref.status, 401);
    assert_string_equal(ref.msg, "unauthorized: bad signature");
    assert_string_equal(ref.extra,
                        "WWW-Authenticate: Bearer realm=\"couponq\", "
                        "error=\"invalid_token\"\r\n");
    r = fix_req(&a, NULL, 0); /* no token at all: a failure too */
    assert_int_equal(gate_request(e.g, &r, 1, &who, &ref), -1);
    assert_int_equal(ref.status, 401);
    assert_string_equal(ref.msg, "unauthorized: missing bearer token");
    assert_string_equal(ref.extra,
                        "WWW-Authenticate: Bearer realm=\"couponq\"\r\n");
    /* budget spent: even a good token is refused, before it is verified */
    r = fix_req(&a, good, (size_t)n);
    assert_int_equal(gate_request(e.g, &r, 1, &who, &ref), -1);
    is_429(&ref, "auth_failures");
    r = fix_req(&b, good, (size_t)n); /* other IPs are not affected */
    assert_int_equal(gate_request(e.g, &r, 1, &who, &ref), 0);
    assert_true(refusals(&e, "unauthorized") == 2);
    assert_true(refusals(&e, "rate_limited_auth") == 1);
    env_free(&e);
}

/* ---- who acts for whom ---- */

static void test_user(void **state)
{
    gate_opts_t o = no_limits();
    struct sockaddr_storage a = fix_addr("192.0.2.9");
    char tok[1024], svc[1024];
    gate_refusal_t ref;
    gate_who_t who, swho;
    http_request_t r;
    int64_t user = 0;
    env_t e;
    int n;

    (void)state;
    e = env_new(&o, AUTH_JWT);
    n = fix_hs(e.f, "1001", "", tok, sizeof(tok));
    r = fix_req(&a, tok, (size_t)n);
    assert_int_equal(gate_request(e.g, &r, 5, &who, &ref), 0);
    assert_int_equal(gate_user(e.g, &r, &who, 5, 0, &user, &ref), 0);
    assert_int_equal(user, 1001); /* the body may leave the user out */
    user = 0;
    assert_int_equal(gate_user(e.g, &r, &who, 5, 1001, &user, &ref), 0);
    assert_int_equal(user, 1001);
    assert_int_equal(gate_user(e.g, &r, &who, 5, 1002, &user, &ref), -1);
    assert_int_equal(ref.status, 403);
    assert_string_equal(ref.msg, "forbidden: user_mismatch");
    assert_string_equal(ref.extra, "");
    n = fix_hs(e.f, "orders", ",\"scope\":\"couponq:service\"", svc,
               sizeof(svc));
    r = fix_req(&a, svc, (size_t)n);
    assert_int_equal(gate_request(e.g, &r, 5, &swho, &ref), 0);
    assert_int_equal(swho.service, 1);
    assert_int_equal(gate_user(e.g, &r, &swho, 5, 0, &user, &ref), -1);
    assert_int_equal(ref.status, 400);
    assert_string_equal(ref.msg, "user_id: missing; a service token acts for "
                                 "the user_id it names");
    assert_string_equal(ref.extra, "");
    assert_int_equal(gate_user(e.g, &r, &swho, 5, 77, &user, &ref), 0);
    assert_int_equal(user, 77);
    assert_true(refusals(&e, "forbidden") == 1);
    assert_true(refusals(&e, "service_without_user") == 1);
    env_free(&e);
    /* --auth off: the body's user is believed */
    e = env_new(&o, AUTH_OFF);
    r = fix_req(&a, NULL, 0);
    assert_int_equal(gate_request(e.g, &r, 5, &who, &ref), 0);
    assert_int_equal(gate_user(e.g, &r, &who, 5, 31, &user, &ref), 0);
    assert_int_equal(user, 31);
    env_free(&e);
}

static void test_user_rate(void **state)
{
    gate_opts_t o = no_limits();
    struct sockaddr_storage a = fix_addr("192.0.2.10");
    char svc[1024];
    gate_refusal_t ref;
    gate_who_t who;
    http_request_t r = fix_req(&a, NULL, 0);
    int64_t user;
    env_t e;
    int n;

    (void)state;
    o.user_rate = SLOW;
    o.user_burst = 2;
    e = env_new(&o, AUTH_OFF);
    assert_int_equal(gate_request(e.g, &r, 5, &who, &ref), 0);
    assert_int_equal(gate_user(e.g, &r, &who, 5, 1001, &user, &ref), 0);
    assert_int_equal(gate_user(e.g, &r, &who, 6, 1001, &user, &ref), 0);
    assert_int_equal(gate_user(e.g, &r, &who, 7, 1001, &user, &ref), -1);
    is_429(&ref, "user"); /* per user, whatever the coupon */
    assert_int_equal(gate_user(e.g, &r, &who, 7, 1002, &user, &ref), 0);
    assert_true(refusals(&e, "rate_limited_user") == 1);
    env_free(&e);
    /* a service token is limited as the user it acts for */
    e = env_new(&o, AUTH_JWT);
    n = fix_hs(e.f, "orders", ",\"scope\":\"couponq:service\"", svc,
               sizeof(svc));
    r = fix_req(&a, svc, (size_t)n);
    assert_int_equal(gate_request(e.g, &r, 5, &who, &ref), 0);
    assert_int_equal(gate_user(e.g, &r, &who, 5, 9, &user, &ref), 0);
    assert_int_equal(gate_user(e.g, &r, &who, 5, 9, &user, &ref), 0);
    assert_int_equal(gate_user(e.g, &r, &who, 5, 9, &user, &ref), -1);
    is_429(&ref, "user");
    assert_int_equal(gate_user(e.g, &r, &who, 5, 10, &user, &ref), 0);
    env_free(&e);
}

/* ---- the audit line ---- */

static void test_audit(void **state)
{
    gate_opts_t o = no_limits();
    struct sockaddr_storage a = fix_addr("192.0.2.77");
    char tok[1024], path[] = "/tmp/couponq-gatelog.XXXXXX", text[8192];
    gate_refusal_t ref;
    gate_who_t who;
    http_request_t r;
    time_t t0 = time(NULL);
    const char *p;
    FILE *in;
    size_t len;
    int fd, n, i, lines = 0;
    env_t e;

    (void)state;
    fd = mkstemp(path);
    assert_true(fd >= 0);
    log_init("test_api_gate", LL_WARN, fd);
    e = env_new(&o, AUTH_JWT);
    n = fix_hs(e.f, "1001", "", tok, sizeof(tok));
    tok[n - 3] = tok[n - 3] == 'A' ? 'B' : 'A';
    for (i = 0; i < 50; i++) {
        r = fix_req(&a, tok, (size_t)n);
        assert_int_equal(gate_request(e.g, &r, 4242, &who, &ref), -1);
    }
    assert_true(refusals(&e, "unauthorized") == 50); /* all counted */
    log_init("test_api_gate", LL_ERROR, 2);
    in = fdopen(fd, "r");
    assert_non_null(in);
    rewind(in);
    len = fread(text, 1, sizeof(text) - 1, in);
    text[len] = '\0';
    fclose(in);
    unlink(path);
    for (p = text; (p = strstr(p, "reason=unauthorized")) != NULL; p++)
        lines++;
    /* at most one line a second per reason */
    assert_in_range(lines, 1, 1 + (time(NULL) - t0));
    assert_non_null(strstr(text, "why=\"bad signature\""));
    assert_non_null(strstr(text, "coupon_id=4242"));
    assert_non_null(strstr(text, "ip=192.0.2.77"));
    assert_non_null(strstr(text, "kid=\"hs1\""));
    assert_non_null(strstr(text, "token="));
    assert_null(strstr(text, "token=-")); /* a hash was given */
    /* not the token, nor its signature or payload */
    assert_null(strstr(text, tok + 7));
    assert_null(strstr(text, strrchr(tok, '.') + 1));
    env_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conns_per_ip),
        cmocka_unit_test(test_conns_table_churn),
        cmocka_unit_test(test_ip_rate),
        cmocka_unit_test(test_auth_failures),
        cmocka_unit_test(test_user),
        cmocka_unit_test(test_user_rate),
        cmocka_unit_test(test_audit),
    };

    log_init("test_api_gate", LL_ERROR, 2); /* test_audit reads its lines */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
