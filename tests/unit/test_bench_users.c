/* test_bench_users.c -- couponq-bench's user generators: the mixes promise
 * exact counts (seq, dup's pool) and distributions (dup ratio, zipf head);
 * all seeded, so these are reproducible checks. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "unit.h"

#include "users.h"

static users_t *mk(users_mode_t m, int64_t base, uint64_t n, double r, double s)
{
    users_opts_t o = { m, base, n, r, s, 42 };
    char err[200];
    users_t *u = users_new(&o, err, sizeof(err));

    assert_non_null(u);
    return u;
}

static void test_seq(void **state)
{
    users_t *u = mk(USERS_SEQ, 1000, 0, 0, 0);
    int i;

    (void)state;
    for (i = 0; i < 100; i++)
        assert_int_equal(users_next(u), 1000 + i);
    assert_int_equal(users_distinct(u), 100);
    users_free(u);
    u = mk(USERS_SEQ, 1, 3, 0, 0); /* wraps after 3 */
    assert_int_equal(users_next(u), 1);
    assert_int_equal(users_next(u), 2);
    assert_int_equal(users_next(u), 3);
    assert_int_equal(users_next(u), 1);
    assert_int_equal(users_distinct(u), 3);
    users_free(u);
}

/* dup: ~ratio of requests repeat an earlier user; new users come in order;
 * every repeat is a user already sent. */
static void test_dup_ratio(void **state)
{
    const int n = 100000;
    users_t *u = mk(USERS_DUP, 1, 0, 0.2, 0);
    int64_t maxsent = 0, v;
    int i, repeats = 0;

    (void)state;
    for (i = 0; i < n; i++) {
        v = users_next(u);
        assert_true(v >= 1);
        if (v <= maxsent) {
            repeats++;
        } else {
            assert_int_equal(v, maxsent + 1); /* next new user, in order */
            maxsent = v;
        }
    }
    assert_int_equal(users_distinct(u), (uint64_t)maxsent);
    assert_int_equal(repeats + maxsent, n);
    /* binomial sd ~ 126: 5 sd either side */
    assert_in_range(repeats, 20000 - 650, 20000 + 650);
    users_free(u);
}

/* The flash-sale mix: 1,000,000 requests over a pool of 400,000 users:
 * exactly 400,000 distinct, none outside the pool. */
static void test_dup_pool_exhausted(void **state)
{
    users_t *u = mk(USERS_DUP, 5000001, 400000, 0.2, 0);
    uint8_t *seen = calloc(400000, 1);
    int64_t v;
    int i, distinct = 0;

    (void)state;
    assert_non_null(seen);
    for (i = 0; i < 1000000; i++) {
        v = users_next(u) - 5000001;
        assert_in_range(v, 0, 399999);
        if (!seen[v]++)
            distinct++;
    }
    assert_int_equal(distinct, 400000);
    assert_int_equal(users_distinct(u), 400000);
    free(seen);
    users_free(u);
}

/* zipf s=1 over 1000 users: P(rank 1) = 1/H(1000) = 0.1336;
 * P(rank 2) = half of that; ranks stay within the pool. */
static void test_zipf_head(void **state)
{
    const int n = 200000;
    users_t *u = mk(USERS_ZIPF, 1, 1000, 0, 1.0);
    int i, c1 = 0, c2 = 0;
    int64_t v;
    double h = 0;

    (void)state;
    for (i = 1; i <= 1000; i++)
        h += 1.0 / i;
    for (i = 0; i < n; i++) {
        v = users_next(u);
        assert_in_range(v, 1, 1000);
        c1 += v == 1;
        c2 += v == 2;
    }
    assert_in_range(c1, (int)(n / h * 0.97), (int)(n / h * 1.03));
    assert_in_range(c2, (int)(n / h / 2 * 0.96), (int)(n / h / 2 * 1.04));
    assert_true(users_distinct(u) > 900 && users_distinct(u) <= 1000);
    users_free(u);
}

static void test_same_seed_same_users(void **state)
{
    users_t *a = mk(USERS_DUP, 1, 0, 0.5, 0), *b = mk(USERS_DUP, 1, 0, 0.5, 0);
    int i;

    (void)state;
    for (i = 0; i < 1000; i++)
        assert_int_equal(users_next(a), users_next(b));
    users_free(a);
    users_free(b);
}

static void test_bad_options(void **state)
{
    users_opts_t o = { USERS_DUP, 1, 0, 1.0, 0, 1 };
    char err[200];

    (void)state;
    assert_null(users_new(&o, err, sizeof(err)));
    assert_non_null(strstr(err, "dup ratio"));
    o.mode = USERS_ZIPF;
    o.zipf_s = 1.0;
    o.n = 0;
    assert_null(users_new(&o, err, sizeof(err)));
    o.n = 10;
    o.base = 0;
    assert_null(users_new(&o, err, sizeof(err)));
    assert_int_equal(users_mode_parse("zipf"), USERS_ZIPF);
    assert_int_equal(users_mode_parse("nope"), -1);
}

UNIT_TESTS(cmocka_unit_test(test_seq), cmocka_unit_test(test_dup_ratio),
           cmocka_unit_test(test_dup_pool_exhausted),
           cmocka_unit_test(test_zipf_head),
           cmocka_unit_test(test_same_seed_same_users),
           cmocka_unit_test(test_bad_options))
