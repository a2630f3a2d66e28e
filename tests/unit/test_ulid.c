/* test_ulid.c -- ULID encoding, validation and per-thread monotonicity. */
#include <string.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "unit.h"

#include "ulid.h"

static void test_encode_known(void **state)
{
    static const uint8_t zero[10] = { 0 };
    static const uint8_t ones[10] = { 0xff, 0xff, 0xff, 0xff, 0xff,
                                      0xff, 0xff, 0xff, 0xff, 0xff };
    static const uint8_t seq[10] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
    char out[ULID_LEN + 1];

    (void)state;
    ulid_encode(0, zero, out);
    assert_string_equal(out, "00000000000000000000000000");
    ulid_encode(0xFFFFFFFFFFFFULL, ones, out);
    assert_string_equal(out, "7ZZZZZZZZZZZZZZZZZZZZZZZZZ");
    /* The ULID spec's example "01ARZ3NDEKTSV4RRFFQ69G5FAV" has this time;
     * the random part was computed independently (Python big ints). */
    ulid_encode(1469922850259ULL, zero, out);
    assert_string_equal(out, "01ARZ3NDEK0000000000000000");
    assert_int_equal(ulid_time_ms("01ARZ3NDEKTSV4RRFFQ69G5FAV"),
                     1469922850259ULL);
    ulid_encode(1469922850259ULL, seq, out);
    assert_string_equal(out, "01ARZ3NDEK041061050R3GG28A");
    assert_int_equal(ulid_time_ms(out), 1469922850259ULL);
    assert_true(ulid_valid(out, strlen(out)));
}

static void test_decode(void **state)
{
    static const uint8_t seq[10] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
    uint8_t rnd[10];
    uint64_t ms;

    (void)state;
    ulid_decode("01ARZ3NDEK041061050R3GG28A", &ms, rnd);
    assert_int_equal(ms, 1469922850259ULL);
    assert_memory_equal(rnd, seq, 10);
    ulid_decode("7ZZZZZZZZZZZZZZZZZZZZZZZZZ", &ms, rnd);
    assert_int_equal(ms, 0xFFFFFFFFFFFFULL);
    assert_int_equal(rnd[0], 0xff);
    assert_int_equal(rnd[9], 0xff);
}

static void test_valid(void **state)
{
    (void)state;
    assert_true(ulid_valid("01JDBX7K3M4N5P6Q7R8S9T0V1W", 26));
    assert_true(ulid_valid("7ZZZZZZZZZZZZZZZZZZZZZZZZZ", 26));
    assert_false(ulid_valid("8ZZZZZZZZZZZZZZZZZZZZZZZZZ", 26)); /* > 128 bit */
    assert_false(ulid_valid("01JDBX7K3M4N5P6Q7R8S9T0V1", 25));
    assert_false(ulid_valid("01JDBX7K3M4N5P6Q7R8S9T0V1WX", 27));
    assert_false(ulid_valid("01JDBX7K3M4N5P6Q7R8S9T0V1I", 26)); /* I */
    assert_false(ulid_valid("01JDBX7K3M4N5P6Q7R8S9T0V1L", 26)); /* L */
    assert_false(ulid_valid("01JDBX7K3M4N5P6Q7R8S9T0V1O", 26)); /* O */
    assert_false(ulid_valid("01JDBX7K3M4N5P6Q7R8S9T0V1U", 26)); /* U */
    assert_false(ulid_valid("01jdbx7k3m4n5p6q7r8s9t0v1w", 26)); /* lower */
    assert_false(ulid_valid("01JDBX7K3M4N5P6Q7R8S9T0V1\0", 26));
}

static void test_generate_monotonic(void **state)
{
    char prev[ULID_LEN + 1], cur[ULID_LEN + 1];
    int i;

    (void)state;
    ulid_generate(prev);
    assert_true(ulid_valid(prev, strlen(prev)));
    /* Many ids within the same few milliseconds still sort strictly. */
    for (i = 0; i < 100000; i++) {
        ulid_generate(cur);
        assert_true(ulid_valid(cur, strlen(cur)));
        if (strcmp(prev, cur) >= 0)
            fail_msg("not monotonic: %s then %s", prev, cur);
        memcpy(prev, cur, sizeof(cur));
    }
}

UNIT_TESTS(cmocka_unit_test(test_encode_known), cmocka_unit_test(test_decode),
           cmocka_unit_test(test_valid),
           cmocka_unit_test(test_generate_monotonic))
