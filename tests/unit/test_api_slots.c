/* test_api_slots.c -- api/slots: tokens of freed or reused slots are
 * stale, the table never exceeds its capacity, and live slots are walked in
 * allocation order (the deadline order the api relies on). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "unit.h"

#include "slots.h"

typedef struct item {
    int v;
} item_t;

static void test_generations(void **state)
{
    slots_t *s = slots_new(2, sizeof(item_t));
    slot_token_t a, b, c;
    item_t *ia, *ic;

    (void)state;
    ia = slots_alloc(s, &a);
    assert_non_null(ia);
    assert_int_not_equal(a, 0);
    ia->v = 7;
    assert_ptr_equal(slots_get(s, a), ia);
    assert_non_null(slots_alloc(s, &b));
    assert_null(slots_alloc(s, &c)); /* full */
    assert_int_equal(slots_used(s), 2);
    slots_release(s, a);
    assert_null(slots_get(s, a)); /* stale once freed */
    ic = slots_alloc(s, &c);      /* reuses a's slot */
    assert_ptr_equal(ic, ia);
    assert_int_equal(ic->v, 0); /* zeroed */
    assert_int_not_equal(c, a);
    assert_null(slots_get(s, a)); /* still stale after reuse */
    assert_ptr_equal(slots_get(s, c), ic);
    assert_null(slots_get(s, 0));
    assert_null(slots_get(s, ((uint64_t)1 << 32) | 99)); /* bad index */
    slots_free(s);
}

static void test_order(void **state)
{
    slots_t *s = slots_new(8, sizeof(item_t));
    slot_token_t t[8], k;
    int i, n;

    (void)state;
    for (i = 0; i < 5; i++) {
        ((item_t *)slots_alloc(s, &t[i]))->v = i;
    }
    slots_release(s, t[0]);
    slots_release(s, t[2]);
    ((item_t *)slots_alloc(s, &t[5]))->v = 5;
    {
        int want[] = { 1, 3, 4, 5 };

        for (n = 0, k = slots_first(s); k != 0; k = slots_next(s, k), n++)
            assert_int_equal(((item_t *)slots_get(s, k))->v, want[n]);
        assert_int_equal(n, 4);
    }
    for (i = 0; i < 6; i++)
        if (slots_get(s, t[i]) != NULL)
            slots_release(s, t[i]);
    assert_int_equal(slots_used(s), 0);
    assert_int_equal(slots_first(s), 0);
    slots_free(s);
}

/* Many cycles through one slot: its tokens never repeat. */
static void test_reuse_cycles(void **state)
{
    slots_t *s = slots_new(1, sizeof(item_t));
    slot_token_t first, t;
    int i;

    (void)state;
    assert_non_null(slots_alloc(s, &first));
    slots_release(s, first);
    for (i = 0; i < 100000; i++) {
        assert_non_null(slots_alloc(s, &t));
        assert_int_not_equal(t, first);
        slots_release(s, t);
    }
    slots_free(s);
}

UNIT_TESTS(cmocka_unit_test(test_generations), cmocka_unit_test(test_order),
           cmocka_unit_test(test_reuse_cycles))
