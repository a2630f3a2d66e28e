/* test_fmt.c -- common/fmt.h: every appender writes exactly what the printf
 * conversion it replaces writes ("%lld", "%llu", "%0Nllu", "%s"), and the
 * bounds answer as `snprintf(...) >= n ? -1 : len` does, at every buffer
 * size around the exact fit, without touching a byte past buf[n - 1]. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "unit.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "fmt.h"

#define CANARY 0x5a

static const int64_t i64_cases[] = {
    0,
    1,
    -1,
    9,
    10,
    -9,
    -10,
    99,
    100,
    999999999,
    1000000000,
    -1000000000,
    999999999999999999LL,
    1000000000000000000LL,
    -999999999999999999LL,
    -1000000000000000000LL,
    INT64_MAX - 1,
    INT64_MAX,
    INT64_MIN + 1,
    INT64_MIN,
    INT32_MAX,
    INT32_MIN,
};

static const uint64_t u64_cases[] = {
    0,
    1,
    9,
    10,
    99,
    100,
    4294967295ULL,
    4294967296ULL,
    9999999999999999999ULL,
    10000000000000000000ULL,
    UINT64_MAX - 1,
    UINT64_MAX,
};

/* xorshift64: the same values on every run. */
static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void check_i64(int64_t v)
{
    char want[32], got[32];
    fmt_t f;
    int wl = snprintf(want, sizeof(want), "%lld", (long long)v);

    fmt_init(&f, got, sizeof(got));
    fmt_i64(&f, v);
    assert_int_equal(fmt_end(&f), wl);
    assert_string_equal(got, want);
    assert_int_equal(fmt_i64_len(v), wl);
}

static void check_u64(uint64_t v, int width)
{
    char want[48], got[48];
    fmt_t f;
    int wl =
        snprintf(want, sizeof(want), "%0*llu", width, (unsigned long long)v);

    fmt_init(&f, got, sizeof(got));
    fmt_u64_pad(&f, v, width);
    assert_int_equal(fmt_end(&f), wl);
    assert_string_equal(got, want);
    if (width == 0) {
        fmt_init(&f, got, sizeof(got));
        fmt_u64(&f, v);
        assert_int_equal(fmt_end(&f), wl);
        assert_string_equal(got, want);
        assert_int_equal(fmt_u64_digits(v), wl);
    }
}

static void test_i64_like_printf(void **state)
{
    uint64_t seed = 88172645463325252ULL;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(i64_cases) / sizeof(i64_cases[0]); i++)
        check_i64(i64_cases[i]);
    /* Random magnitudes of every width, both signs. */
    for (i = 0; i < 100000; i++)
        check_i64((int64_t)(next_rand(&seed) >> (1 + next_rand(&seed) % 63)) *
                  (i % 2 ? -1 : 1));
}

static void test_u64_like_printf(void **state)
{
    uint64_t seed = 2463534242ULL;
    size_t i;
    int w;

    (void)state;
    for (i = 0; i < sizeof(u64_cases) / sizeof(u64_cases[0]); i++)
        for (w = 0; w <= 20; w++)
            check_u64(u64_cases[i], w);
    for (i = 0; i < 100000; i++)
        check_u64(next_rand(&seed) >> (next_rand(&seed) % 64), (int)(i % 6));
}

static void test_pad_fixed_width(void **state)
{
    char buf[32];
    fmt_t f;

    (void)state;
    fmt_init(&f, buf, sizeof(buf));
    fmt_u64_pad(&f, 7, 4);
    fmt_char(&f, '-');
    fmt_u64_pad(&f, 0, 3);
    fmt_char(&f, '-');
    fmt_u64_pad(&f, 12345, 2); /* wider than width: all digits, as %02 */
    fmt_char(&f, '-');
    fmt_u64_pad(&f, 5, 0);
    assert_int_equal(fmt_end(&f), 16);
    assert_string_equal(buf, "0007-000-12345-5");
}

static void test_strings(void **state)
{
    char buf[32];
    fmt_t f;

    (void)state;
    fmt_init(&f, buf, sizeof(buf));
    FMT_LIT(&f, "ab\"c");
    fmt_str(&f, "");
    fmt_str(&f, "de");
    fmt_mem(&f, "fghij", 2); /* a prefix, no NUL needed */
    fmt_char(&f, ':');
    fmt_i64(&f, -42);
    assert_int_equal(fmt_end(&f), 12);
    assert_string_equal(buf, "ab\"cdefg:-42");
}

/* Appends a fixed mix of every appender; returns fmt_end(). */
static int compose(char *buf, size_t n)
{
    fmt_t f;

    fmt_init(&f, buf, n);
    FMT_LIT(&f, "{\"id\":");
    fmt_i64(&f, INT64_MIN);
    fmt_char(&f, ',');
    fmt_u64(&f, UINT64_MAX);
    fmt_str(&f, ",t=");
    fmt_u64_pad(&f, 9, 4);
    FMT_LIT(&f, "}");
    return fmt_end(&f);
}

/* At every n from 0 to past the fit: -1 exactly when snprintf would say
 * so, the text when it fits, and never a write at or past buf[n]. */
static void test_exact_boundaries(void **state)
{
    static const char want[] =
        "{\"id\":-9223372036854775808,18446744073709551615,t=0009}";
    const int wl = (int)sizeof(want) - 1;
    char buf[sizeof(want) + 8];
    size_t n, i;
    int r;

    (void)state;
    assert_int_equal(snprintf(buf, sizeof(buf), "{\"id\":%lld,%llu,t=%04u}",
                              (long long)INT64_MIN,
                              (unsigned long long)UINT64_MAX, 9u),
                     wl);
    assert_int_equal(compose(NULL, 0), -1); /* n == 0 touches nothing */
    for (n = 1; n <= sizeof(buf); n++) {
        memset(buf, CANARY, sizeof(buf));
        r = compose(buf, n);
        if (n <= (size_t)wl) {
            assert_int_equal(r, -1);
            /* What is there is a NUL-terminated prefix of the text. */
            assert_true(strlen(buf) < n);
            assert_memory_equal(buf, want, strlen(buf));
        } else {
            assert_int_equal(r, wl);
            assert_string_equal(buf, want);
        }
        for (i = n; i < sizeof(buf); i++)
            assert_int_equal((unsigned char)buf[i], CANARY);
    }
}

/* An append that does not fit writes nothing, and nothing after it does
 * either, even what would fit. */
static void test_overflow_sticky_all_or_nothing(void **state)
{
    char buf[8];
    fmt_t f;

    (void)state;
    memset(buf, CANARY, sizeof(buf));
    fmt_init(&f, buf, sizeof(buf));
    FMT_LIT(&f, "abcd");
    fmt_i64(&f, -123); /* "-123" needs 4 bytes, 3 are left before the NUL */
    assert_int_equal(f.len, 4);
    fmt_char(&f, 'x');
    assert_int_equal(f.len, 4);
    assert_int_equal(fmt_end(&f), -1);
    assert_string_equal(buf, "abcd");
    /* Exactly n - 1 bytes fit. */
    fmt_init(&f, buf, sizeof(buf));
    fmt_i64(&f, -123456);
    assert_int_equal(fmt_end(&f), 7);
    assert_string_equal(buf, "-123456");
    fmt_init(&f, buf, sizeof(buf));
    fmt_i64(&f, 12345678);
    assert_int_equal(fmt_end(&f), -1);
    assert_string_equal(buf, "");
}

UNIT_TESTS(cmocka_unit_test(test_i64_like_printf),
           cmocka_unit_test(test_u64_like_printf),
           cmocka_unit_test(test_pad_fixed_width),
           cmocka_unit_test(test_strings),
           cmocka_unit_test(test_exact_boundaries),
           cmocka_unit_test(test_overflow_sticky_all_or_nothing))
