/* test_rid.c -- redemption ids: the coupon id in the low 48 bits, the
 * round trip, per-thread monotonicity, and what rid_coupon refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "unit.h"

#include "rid.h"

static void test_layout(void **state)
{
    char out[RID_LEN + 1];
    int64_t c = -1;

    (void)state;
    rid_encode(0, 0, 1, out);
    assert_string_equal(out, "00000000000000000000000001");
    rid_encode(0, 0, RID_COUPON_MAX, out);
    /* 48 one bits: the last 9 characters and 3 bits of the 10th. */
    assert_string_equal(out, "00000000000000007ZZZZZZZZZ");
    assert_int_equal(rid_coupon(out, RID_LEN, &c), 0);
    assert_int_equal(c, RID_COUPON_MAX);
    rid_encode(1469922850259ULL, 0xFFFFFFFFu, 42, out);
    assert_int_equal(ulid_time_ms(out), 1469922850259ULL);
    assert_int_equal(rid_coupon(out, RID_LEN, &c), 0);
    assert_int_equal(c, 42);
}

static void test_make(void **state)
{
    char a[RID_LEN + 1], b[RID_LEN + 1];
    int64_t c;
    int i;

    (void)state;
    rid_make(1000001, a);
    assert_true(ulid_valid(a, RID_LEN));
    assert_int_equal(rid_coupon(a, RID_LEN, &c), 0);
    assert_int_equal(c, 1000001);
    /* Monotonic within the thread, whatever the coupon. */
    for (i = 0; i < 10000; i++) {
        rid_make(i % 2 ? 7 : 900000000000LL, b);
        if (strcmp(a, b) >= 0)
            fail_msg("not monotonic: %s then %s", a, b);
        assert_int_equal(rid_coupon(b, RID_LEN, &c), 0);
        assert_int_equal(c, i % 2 ? 7 : 900000000000LL);
        memcpy(a, b, sizeof(a));
    }
}

static void test_refused(void **state)
{
    int64_t c = 99;

    (void)state;
    assert_int_equal(rid_coupon("0000000000000000000000000", 25, &c), -1);
    assert_int_equal(rid_coupon("000000000000000000000000011", 27, &c), -1);
    assert_int_equal(rid_coupon("0000000000000000000000000I", 26, &c), -1);
    assert_int_equal(rid_coupon("0000000000000000000000000a", 26, &c), -1);
    assert_int_equal(rid_coupon("8000000000000000000000000A", 26, &c), -1);
    assert_int_equal(c, 99); /* untouched */
    /* A ULID that names no coupon: 0 (the api answers 404). */
    assert_int_equal(rid_coupon("01ARZ3NDEKTSV4RR0000000000", 26, &c), 0);
    assert_int_equal(c, 0);
}

UNIT_TESTS(cmocka_unit_test(test_layout), cmocka_unit_test(test_make),
           cmocka_unit_test(test_refused))
