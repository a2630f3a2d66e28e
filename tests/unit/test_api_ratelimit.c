/* test_api_ratelimit.c -- api/ratelimit (GCRA: burst, rate, Retry-After,
 * bounded table) and api/peer (keys per IPv4 / IPv6 /64, CIDR lists). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "unit.h"

#include "peer.h"
#include "ratelimit.h"

static void test_burst_then_rate(void **state)
{
    ratelimit_t *r = ratelimit_new(64, 5, 10); /* 5/s, 10 at once */
    uint64_t t = 1000000;
    uint32_t retry = 0;
    int i, n;

    (void)state;
    for (i = 0; i < 10; i++)
        assert_int_equal(ratelimit_hit(r, 42, t, &retry), 0);
    assert_int_equal(ratelimit_hit(r, 42, t, &retry), -1);
    assert_int_equal(retry, 1);
    assert_int_equal(ratelimit_hit(r, 7, t, &retry), 0); /* others unharmed */
    /* 200 ms later one more is allowed (5/s), then refused again. */
    assert_int_equal(ratelimit_peek(r, 42, t + 200000, &retry), 0);
    assert_int_equal(ratelimit_hit(r, 42, t + 200000, &retry), 0);
    assert_int_equal(ratelimit_hit(r, 42, t + 200000, &retry), -1);
    /* at 50/s for 2 s, the burst + 2 s * 5/s get through */
    for (i = 0, n = 0, t += 1000000; i < 100; i++)
        n += ratelimit_hit(r, 99, t + (uint64_t)i * 20000, &retry) == 0;
    assert_in_range(n, 19, 21);
    ratelimit_free(r);
}

static void test_bounded(void **state)
{
    ratelimit_t *r = ratelimit_new(16, 1, 2);
    uint32_t retry;
    uint64_t k;

    (void)state;
    /* A million distinct keys: fixed memory, and every new key is allowed
     * (eviction only ever forgets, it never refuses). */
    for (k = 1; k <= 1000000; k++)
        assert_int_equal(ratelimit_hit(r, k, 5000000, &retry), 0);
    ratelimit_free(r);
}

static struct sockaddr_storage addr(const char *s)
{
    struct sockaddr_storage ss;

    memset(&ss, 0, sizeof(ss));
    if (inet_pton(AF_INET, s, &((struct sockaddr_in *)&ss)->sin_addr) == 1)
        ss.ss_family = AF_INET;
    else {
        assert_int_equal(
            inet_pton(AF_INET6, s, &((struct sockaddr_in6 *)&ss)->sin6_addr),
            1);
        ss.ss_family = AF_INET6;
    }
    return ss;
}

static void test_peer_keys(void **state)
{
    struct sockaddr_storage a = addr("2001:db8:1:2::1"),
                            b = addr("2001:db8:1:2:ffff::9"),
                            c = addr("2001:db8:1:3::1"), d = addr("192.0.2.7"),
                            e = addr("::ffff:192.0.2.7");

    (void)state;
    assert_true(peer_key(&a) == peer_key(&b)); /* same /64 */
    assert_true(peer_key(&a) != peer_key(&c));
    assert_true(peer_key(&d) == peer_key(&e)); /* mapped = plain */
    assert_true(peer_key(&d) != peer_key(&a));
}

static void test_cidrs(void **state)
{
    peer_cidrs_t c;
    char err[160];
    struct sockaddr_storage in = addr("10.1.2.3"), out = addr("11.0.0.1"),
                            v6 = addr("fd00::5"), m = addr("::ffff:10.9.9.9");

    (void)state;
    assert_int_equal(
        peer_cidrs_parse("10.0.0.0/8,fd00::/8,192.0.2.1", &c, err, sizeof(err)),
        0);
    assert_int_equal(c.n, 3);
    assert_true(peer_in(&c, &in));
    assert_true(peer_in(&c, &m));
    assert_true(peer_in(&c, &v6));
    assert_false(peer_in(&c, &out));
    assert_int_equal(peer_cidrs_parse("", &c, err, sizeof(err)), 0);
    assert_false(peer_in(&c, &in));
    assert_int_equal(peer_cidrs_parse("10.0.0.0/33", &c, err, sizeof(err)), -1);
    assert_int_equal(peer_cidrs_parse("nope", &c, err, sizeof(err)), -1);
    assert_int_equal(peer_cidrs_parse("1.2.3.4,", &c, err, sizeof(err)), -1);
}

UNIT_TESTS(cmocka_unit_test(test_burst_then_rate),
           cmocka_unit_test(test_bounded), cmocka_unit_test(test_peer_keys),
           cmocka_unit_test(test_cidrs))
