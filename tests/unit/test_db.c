/* test_db.c -- the pure parts of common/db.c: splitting a multi-host
 * mysql:// URL, reading read_only values, classifying errors. (Talking to a
 * server is tested by tests/integration/worker_mysql_ha.sh.) */
#include <stdio.h>
#include <string.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "unit.h"

#include <errmsg.h>
#include <mysqld_error.h>

#include "db_internal.h"

static int split(const char *s, url_t *h, size_t *n)
{
    char err[256] = "";

    return db_hosts_parse(s, h, DB_MAX_HOSTS, n, err, sizeof(err));
}

static void test_one_host(void **state)
{
    url_t h[DB_MAX_HOSTS];
    size_t n = 99;

    (void)state;
    assert_int_equal(split("mysql://root@127.0.0.1:13306/couponq", h, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(h[0].user, "root");
    assert_string_equal(h[0].host, "127.0.0.1");
    assert_int_equal(h[0].port, 13306);
    assert_string_equal(h[0].path, "couponq");
    assert_int_equal(split("mysql://root@db/x", h, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(h[0].port, 3306);
}

static void test_host_list(void **state)
{
    url_t h[DB_MAX_HOSTS];
    size_t n = 0;

    (void)state;
    assert_int_equal(split("mysql://app:pw@h1:3307,h2,[::1]:3309/shop", h, &n),
                     0);
    assert_int_equal(n, 3);
    assert_string_equal(h[0].host, "h1");
    assert_int_equal(h[0].port, 3307);
    assert_string_equal(h[1].host, "h2");
    assert_int_equal(h[1].port, 3306);
    assert_string_equal(h[2].host, "::1");
    assert_int_equal(h[2].port, 3309);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(h[i].scheme, "mysql");
        assert_string_equal(h[i].user, "app");
        assert_string_equal(h[i].password, "pw");
        assert_string_equal(h[i].path, "shop");
    }
}

/* The userinfo ends at the last '@': a password may hold ',' '@' '/'. */
static void test_password_punctuation(void **state)
{
    url_t h[DB_MAX_HOSTS];
    size_t n = 0;

    (void)state;
    assert_int_equal(split("mysql://u:a,b@c/d@h1:1,h2:2/db", h, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(h[0].password, "a,b@c/d");
    assert_string_equal(h[1].password, "a,b@c/d");
    assert_string_equal(h[0].host, "h1");
    assert_string_equal(h[1].host, "h2");
    assert_int_equal(h[1].port, 2);
    assert_string_equal(h[1].path, "db");
    assert_int_equal(split("mysql://u:p%2C@h1,h2/db", h, &n), 0);
    assert_string_equal(h[1].password, "p,");
}

static void test_bad_lists(void **state)
{
    url_t h[DB_MAX_HOSTS];
    char err[256] = "";
    size_t n = 7;

    (void)state;
    assert_int_equal(split("mysql://u@h1,,h2/db", h, &n), -1);
    assert_int_equal(n, 0);
    assert_int_equal(split("mysql://u@h1,/db", h, &n), -1);
    assert_int_equal(split("mysql://u@,h1/db", h, &n), -1);
    assert_int_equal(split("mysql://u@/db", h, &n), -1);
    assert_int_equal(split("mysql://u@h1:0,h2/db", h, &n), -1);
    assert_int_equal(split("mysql://u@h1,h2:x/db", h, &n), -1);
    assert_int_equal(split("mysql://u@h1,h2/bad name", h, &n), -1);
    assert_int_equal(split("h1,h2/db", h, &n), -1);
    assert_int_equal(
        db_hosts_parse("mysql://u@a,b,c/db", h, 2, &n, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "more than 2 hosts"));
    assert_int_equal(
        db_hosts_parse("mysql://u@a,b/db", h, 2, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 2);
}

static void test_flag_on(void **state)
{
    (void)state;
    assert_int_equal(db_flag_on("0"), 0);
    assert_int_equal(db_flag_on("OFF"), 0);
    assert_int_equal(db_flag_on("off"), 0);
    assert_int_equal(db_flag_on(NULL), 0);
    assert_int_equal(db_flag_on("1"), 1);
    assert_int_equal(db_flag_on("ON"), 1);
    assert_int_equal(db_flag_on("NO_LOCK"), 1); /* MariaDB 11 enum values */
    assert_int_equal(db_flag_on("NO_LOCK_NO_ADMIN"), 1);
}

static int transient(unsigned errnum)
{
    struct db d;

    memset(&d, 0, sizeof(d));
    d.errnum = errnum;
    return db_is_transient(&d);
}

/* Everything that a failover, a dead server or a demotion produces is
 * transient (retry the whole transaction after db_reconnect); errors in the
 * statement or the schema are not. */
static void test_transient(void **state)
{
    (void)state;
    assert_true(transient(ER_OPTION_PREVENTS_STATEMENT)); /* 1290 */
    assert_true(transient(ER_READ_ONLY_MODE));            /* 1836 */
    assert_true(transient(CR_SERVER_LOST));               /* 2013 */
    assert_true(transient(CR_SERVER_GONE_ERROR));         /* 2006 */
    assert_true(transient(CR_CONNECTION_ERROR));          /* 2002 */
    assert_true(transient(CR_CONN_HOST_ERROR));           /* 2003 */
    assert_true(transient(ER_SERVER_SHUTDOWN));           /* 1053 */
    assert_true(transient(ER_CONNECTION_KILLED));         /* 1927 */
    assert_true(transient(ER_LOCK_DEADLOCK));             /* 1213 */
    assert_false(transient(0));                           /* our own errors */
    assert_false(transient(ER_NO_SUCH_TABLE));            /* 1146 */
    assert_false(transient(ER_ACCESS_DENIED_ERROR));      /* 1045 */
    assert_false(transient(ER_PARSE_ERROR));              /* 1064 */
    assert_false(transient(ER_DATA_TOO_LONG));            /* 1406 */
    assert_false(transient(ER_TABLEACCESS_DENIED_ERROR)); /* 1142 */
}

UNIT_TESTS(cmocka_unit_test(test_one_host), cmocka_unit_test(test_host_list),
           cmocka_unit_test(test_password_punctuation),
           cmocka_unit_test(test_bad_lists), cmocka_unit_test(test_flag_on),
           cmocka_unit_test(test_transient))
