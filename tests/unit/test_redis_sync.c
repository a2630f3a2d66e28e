/* test_redis_sync.c -- the server-free parts of redis_sync: ROLE and
 * get-master-addr-by-name replies, READONLY-style errors, sentinel order,
 * URL checks, and a connect whose sentinels are all dead. */
#include <stdio.h>
#include <string.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "unit.h"

#include "redis_sync.h"

static redisReply str_reply(int type, const char *s)
{
    redisReply r;

    memset(&r, 0, sizeof(r));
    r.type = type;
    r.str = (char *)s;
    r.len = s != NULL ? strlen(s) : 0;
    return r;
}

static redisReply array_reply(redisReply **el, size_t n)
{
    redisReply r;

    memset(&r, 0, sizeof(r));
    r.type = REDIS_REPLY_ARRAY;
    r.element = el;
    r.elements = n;
    return r;
}

static void test_role(void **state)
{
    redisReply m = str_reply(REDIS_REPLY_STRING, "master");
    redisReply s = str_reply(REDIS_REPLY_STRING, "slave");
    redisReply off = { .type = REDIS_REPLY_INTEGER, .integer = 42 };
    redisReply *el[3] = { &m, &off, NULL };
    redisReply arr = array_reply(el, 2), empty = array_reply(el, 0);
    redisReply err = str_reply(REDIS_REPLY_ERROR, "NOAUTH Authentication");
    char role[16];

    (void)state;
    assert_int_equal(redis_sync_parse_role(&arr, role, sizeof(role)), 1);
    assert_string_equal(role, "master");
    el[0] = &s;
    assert_int_equal(redis_sync_parse_role(&arr, role, sizeof(role)), 0);
    assert_string_equal(role, "slave");
    el[0] = &off;
    assert_int_equal(redis_sync_parse_role(&arr, role, sizeof(role)), -1);
    assert_int_equal(redis_sync_parse_role(&empty, role, sizeof(role)), -1);
    assert_int_equal(redis_sync_parse_role(&err, role, sizeof(role)), -1);
    assert_int_equal(redis_sync_parse_role(NULL, role, sizeof(role)), -1);
}

static void test_master_addr(void **state)
{
    redisReply h = str_reply(REDIS_REPLY_STRING, "10.0.0.7");
    redisReply p = str_reply(REDIS_REPLY_STRING, "6380");
    redisReply *el[2] = { &h, &p };
    redisReply arr = array_reply(el, 2), one = array_reply(el, 1);
    redisReply nil = { .type = REDIS_REPLY_NIL };
    redisReply err = str_reply(REDIS_REPLY_ERROR, "ERR unknown command");
    redisReply bad = str_reply(REDIS_REPLY_STRING, "63x");
    redisReply zero = str_reply(REDIS_REPLY_STRING, "0");
    redisReply empty = str_reply(REDIS_REPLY_STRING, "");
    url_addr_t a;
    char why[128];

    (void)state;
    assert_int_equal(redis_sync_parse_master_addr(&arr, &a, why, sizeof(why)),
                     0);
    assert_string_equal(a.host, "10.0.0.7");
    assert_int_equal(a.port, 6380);
    assert_int_equal(redis_sync_parse_master_addr(&nil, &a, why, sizeof(why)),
                     -1);
    assert_non_null(strstr(why, "does not know the master name"));
    assert_int_equal(redis_sync_parse_master_addr(&err, &a, why, sizeof(why)),
                     -1);
    assert_string_equal(why, "ERR unknown command");
    assert_int_equal(redis_sync_parse_master_addr(&one, &a, why, sizeof(why)),
                     -1);
    assert_non_null(strstr(why, "unexpected"));
    el[1] = &bad;
    assert_int_equal(redis_sync_parse_master_addr(&arr, &a, why, sizeof(why)),
                     -1);
    el[1] = &zero;
    assert_int_equal(redis_sync_parse_master_addr(&arr, &a, why, sizeof(why)),
                     -1);
    el[1] = &p;
    el[0] = &empty;
    assert_int_equal(redis_sync_parse_master_addr(&arr, &a, why, sizeof(why)),
                     -1);
    assert_int_equal(redis_sync_parse_master_addr(NULL, &a, why, sizeof(why)),
                     -1);
}

static void test_readonly(void **state)
{
    static const struct {
        const char *s;
        int type;
        int want;
    } cases[] = {
        { "READONLY You can't write against a read only replica.",
          REDIS_REPLY_ERROR, 1 },
        { "READONLY You can't write against a read only replica. script: "
          "e760, on @user_script:1.",
          REDIS_REPLY_ERROR, 1 },
        { "MASTERDOWN Link with MASTER is down", REDIS_REPLY_ERROR, 1 },
        { "NOREPLICAS Not enough good replicas", REDIS_REPLY_ERROR, 1 },
        { "READONLY", REDIS_REPLY_ERROR, 1 },
        { "READONLYX nope", REDIS_REPLY_ERROR, 0 },
        { "ERR wrong number of arguments", REDIS_REPLY_ERROR, 0 },
        { "NOSCRIPT No matching script", REDIS_REPLY_ERROR, 0 },
        { "READONLY", REDIS_REPLY_STATUS, 0 },
        { "READONLY", REDIS_REPLY_STRING, 0 },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        redisReply r = str_reply(cases[i].type, cases[i].s);

        if (redis_sync_is_readonly_error(&r) != cases[i].want)
            fail_msg("\"%s\" (type %d): want %d", cases[i].s, cases[i].type,
                     cases[i].want);
    }
    assert_int_equal(redis_sync_is_readonly_error(NULL), 0);
}

static void test_sentinel_order(void **state)
{
    int seen[3] = { 0, 0, 0 }, k;

    (void)state;
    assert_int_equal(redis_sync_sentinel_at(0, 0, 3), 0);
    assert_int_equal(redis_sync_sentinel_at(0, 2, 3), 2);
    assert_int_equal(redis_sync_sentinel_at(2, 0, 3), 2);
    assert_int_equal(redis_sync_sentinel_at(2, 1, 3), 0);
    assert_int_equal(redis_sync_sentinel_at(7, 1, 3), 1); /* bad start: 0 */
    assert_int_equal(redis_sync_sentinel_at(0, 0, 0), 0);
    for (k = 0; k < 3; k++)
        seen[redis_sync_sentinel_at(1, k, 3)]++;
    assert_int_equal(seen[0] * seen[1] * seen[2], 1); /* each exactly once */
}

static void test_url(void **state)
{
    url_t u;
    char err[256];

    (void)state;
    assert_int_equal(redis_sync_url("redis://h:1/2", &u, err, sizeof(err)), 0);
    assert_int_equal(
        redis_sync_url("redis-sentinel://a,b/m", &u, err, sizeof(err)), 0);
    assert_int_equal(u.nsentinels, 2);
    assert_int_equal(redis_sync_url("mysql://u@h/d", &u, err, sizeof(err)), -1);
    assert_string_equal(err, "--redis: expected redis:// or redis-sentinel://");
    assert_int_equal(
        redis_sync_url("redis-sentinel://a,b", &u, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "--redis: url: master name: missing"));
    assert_null(redis_sync_connect("redis://h:0", 100, err, sizeof(err)));
    assert_non_null(strstr(err, "--redis: url: port"));
}

/* Ports 1 and 2 on loopback refuse: both sentinels are passed over, and
 * errstr says why for each. */
static void test_dead_sentinels(void **state)
{
    char err[512];

    (void)state;
    assert_null(redis_sync_connect("redis-sentinel://127.0.0.1:1,127.0.0.1:2/m",
                                   200, err, sizeof(err)));
    assert_non_null(strstr(err, "sentinel 127.0.0.1:1: "));
    assert_non_null(strstr(err, "; sentinel 127.0.0.1:2: "));
    assert_non_null(strstr(err, "no primary for \"m\""));
    assert_null(
        redis_sync_connect("redis://127.0.0.1:1", 200, err, sizeof(err)));
    assert_non_null(strstr(err, "redis 127.0.0.1:1: "));
}

UNIT_TESTS(cmocka_unit_test(test_role), cmocka_unit_test(test_master_addr),
           cmocka_unit_test(test_readonly),
           cmocka_unit_test(test_sentinel_order), cmocka_unit_test(test_url),
           cmocka_unit_test(test_dead_sentinels))
