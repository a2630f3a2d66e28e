/* test_url.c -- redis://, redis-sentinel:// and mysql:// URL parsing. */
#include <stdio.h>
#include <string.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "unit.h"

#include "url.h"

static void test_mysql(void **state)
{
    url_t u;
    char err[256] = "";

    (void)state;
    assert_int_equal(
        url_parse("mysql://root@127.0.0.1:13306/couponq", &u, err, sizeof(err)),
        0);
    assert_string_equal(u.scheme, "mysql");
    assert_string_equal(u.user, "root");
    assert_string_equal(u.password, "");
    assert_string_equal(u.host, "127.0.0.1");
    assert_int_equal(u.port, 13306);
    assert_string_equal(u.path, "couponq");
    assert_int_equal(url_parse("mysql://app:s%2Fe%40cret@db.local/shop_1", &u,
                               err, sizeof(err)),
                     0);
    assert_string_equal(u.user, "app");
    assert_string_equal(u.password, "s/e@cret");
    assert_string_equal(u.host, "db.local");
    assert_int_equal(u.port, 3306);
    assert_string_equal(u.path, "shop_1");
}

static void test_redis(void **state)
{
    url_t u;
    char err[256] = "";

    (void)state;
    assert_int_equal(url_parse("redis://127.0.0.1:16379", &u, err, sizeof(err)),
                     0);
    assert_string_equal(u.scheme, "redis");
    assert_string_equal(u.host, "127.0.0.1");
    assert_int_equal(u.port, 16379);
    assert_int_equal(u.db, 0);
    assert_int_equal(url_parse("redis://:pw@localhost/3", &u, err, sizeof(err)),
                     0);
    assert_string_equal(u.user, "");
    assert_string_equal(u.password, "pw");
    assert_int_equal(u.port, 6379);
    assert_int_equal(u.db, 3);
    assert_int_equal(url_parse("redis://[::1]:7000/", &u, err, sizeof(err)), 0);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 7000);
    assert_int_equal(url_parse("redis://[::1]", &u, err, sizeof(err)), 0);
    assert_int_equal(u.port, 6379);
}

static void test_sentinel(void **state)
{
    url_t u;
    char err[256] = "";

    (void)state;
    assert_int_equal(url_parse("redis-sentinel://127.0.0.1:26379/mymaster", &u,
                               err, sizeof(err)),
                     0);
    assert_string_equal(u.scheme, "redis-sentinel");
    assert_int_equal(u.nsentinels, 1);
    assert_string_equal(u.sentinel[0].host, "127.0.0.1");
    assert_int_equal(u.sentinel[0].port, 26379);
    assert_string_equal(u.master, "mymaster");
    assert_int_equal(u.db, 0);
    assert_string_equal(u.password, "");
    assert_int_equal(
        url_parse("redis-sentinel://:s%40cret@a:1,b,[::1]:3/shop.main-1?db=4",
                  &u, err, sizeof(err)),
        0);
    assert_string_equal(u.password, "s@cret");
    assert_int_equal(u.nsentinels, 3);
    assert_string_equal(u.sentinel[0].host, "a");
    assert_int_equal(u.sentinel[0].port, 1);
    assert_string_equal(u.sentinel[1].host, "b");
    assert_int_equal(u.sentinel[1].port, 26379);
    assert_string_equal(u.sentinel[2].host, "::1");
    assert_int_equal(u.sentinel[2].port, 3);
    assert_string_equal(u.host, "a"); /* the first sentinel */
    assert_int_equal(u.port, 1);
    assert_string_equal(u.master, "shop.main-1");
    assert_int_equal(u.db, 4);
    assert_int_equal(
        url_parse("redis-sentinel://a,b,c,d,e,f,g,h/m", &u, err, sizeof(err)),
        0);
    assert_int_equal(u.nsentinels, 8);
    assert_string_equal(u.sentinel[7].host, "h");
}

static void test_errors(void **state)
{
    static const struct {
        const char *url, *part;
    } bad[] = {
        { "127.0.0.1:6379", "scheme" },
        { "http://x", "scheme" },
        { "://x", "scheme" },
        { "redis://", "host" },
        { "redis://:pw@", "host" },
        { "redis://h:0", "port" },
        { "redis://h:65536", "port" },
        { "redis://h:12ab", "port" },
        { "redis://h:", "port" },
        { "redis://h/x", "db" },
        { "redis://h/-1", "db" },
        { "redis://[::1", "host" },
        { "redis://[::1]x", "host" },
        { "mysql://u:p%zz@h/d", "password" },
        { "mysql://u%4@h/d", "user" },
        { "mysql://u@h/d;DROP", "database" },
        { "mysql://u@h/a/b", "database" },
        { "redis-sentinel://", "sentinels: missing" },
        { "redis-sentinel://:pw@/m", "sentinels: missing" },
        { "redis-sentinel://h:1", "master name: missing" },
        { "redis-sentinel://h:1/", "master name: missing" },
        { "redis-sentinel://h:1/?db=1", "master name: missing" },
        { "redis-sentinel://h:1/a/b", "master name: bad character '/'" },
        { "redis-sentinel://h:1/a b", "master name: bad character ' '" },
        { "redis-sentinel://h:1/m?db=x", "db" },
        { "redis-sentinel://h:1/m?db=", "db" },
        { "redis-sentinel://h:1/m?x=1", "query" },
        { "redis-sentinel://h:1/m/3", "master name" },
        { "redis-sentinel://h:0/m", "sentinel 1: port" },
        { "redis-sentinel://a,b:99999/m", "sentinel 2: port" },
        { "redis-sentinel://a,b:/m", "sentinel 2: port" },
        { "redis-sentinel://a,,c/m", "sentinel 2: host: missing" },
        { "redis-sentinel://a,/m", "sentinel 2: host: missing" },
        { "redis-sentinel://,a/m", "sentinel 1: host: missing" },
        { "redis-sentinel://a,[::1/m", "sentinel 2: host: missing ']'" },
        { "redis-sentinel://a,b,c,d,e,f,g,h,i/m", "more than 8" },
        { "redis-sentinel://:p%zz@a/m", "password" },
        { "rediss-sentinel://a/m", "scheme" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        url_t u;
        char err[256] = "";

        if (url_parse(bad[i].url, &u, err, sizeof(err)) != -1 ||
            strstr(err, bad[i].part) == NULL)
            fail_msg("%s: \"%s\", want an error naming %s", bad[i].url, err,
                     bad[i].part);
    }
}

static void test_too_long(void **state)
{
    char s[600], err[256];
    url_t u;

    (void)state;
    snprintf(s, sizeof(s), "mysql://%0200d@h/d", 0);
    assert_int_equal(url_parse(s, &u, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "user"));
    snprintf(s, sizeof(s), "redis://%0300d:1", 0);
    assert_int_equal(url_parse(s, &u, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "host"));
    snprintf(s, sizeof(s), "redis-sentinel://a/%0200d", 0);
    assert_int_equal(url_parse(s, &u, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "master name: too long"));
}

UNIT_TESTS(cmocka_unit_test(test_mysql), cmocka_unit_test(test_redis),
           cmocka_unit_test(test_sentinel), cmocka_unit_test(test_errors),
           cmocka_unit_test(test_too_long))
