/* test_api_admit_group.c -- api/admit_group: the admissions of one loop
 * iteration grouped into admit.lua calls as admission.c uses it -- one
 * call per coupon with its users in arrival order, a call sent as soon as
 * it holds ADMIT_GROUP_USERS, at most ADMIT_GROUP_OPEN coupons open (one
 * more sends the latest opened first), the rest sent at the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "unit.h"

#include "admit_group.h"

typedef struct call {
    int64_t coupon;
    int n;
    int64_t users[ADMIT_GROUP_USERS];
} call_t;

typedef struct sim {
    admit_group_t g;
    call_t pool[64];
    int npool;
    call_t *sent[64]; /* in the order they were sent */
    int nsent;
} sim_t;

/* What admission_admit() does with the group. */
static void take(sim_t *s, int64_t coupon, int64_t user)
{
    void *send;
    call_t *c = admit_group_find(&s->g, coupon, &send);

    if (c == NULL) {
        if (send != NULL)
            s->sent[s->nsent++] = send;
        assert_true(s->npool < 64);
        c = &s->pool[s->npool++];
        c->coupon = coupon;
        c->n = 0;
        admit_group_open(&s->g, coupon, c);
    }
    c->users[c->n++] = user;
    if (admit_group_added(&s->g, c, c->n))
        s->sent[s->nsent++] = c;
}

/* The end of the loop iteration: everything open is sent. */
static void end_iteration(sim_t *s)
{
    call_t *c;

    while ((c = admit_group_pop(&s->g)) != NULL)
        s->sent[s->nsent++] = c;
    assert_int_equal(s->g.n, 0);
}

static void expect_call(const call_t *c, int64_t coupon, int64_t first,
                        int64_t step, int n)
{
    int i;

    assert_int_equal(c->coupon, coupon);
    assert_int_equal(c->n, n);
    for (i = 0; i < n; i++)
        assert_int_equal(c->users[i], first + step * i);
}

static void test_one_call_per_coupon_in_order(void **state)
{
    sim_t s;
    int u;

    (void)state;
    memset(&s, 0, sizeof(s));
    for (u = 1; u <= 6; u++)
        take(&s, u % 2 ? 7 : 8, u);
    assert_int_equal(s.nsent, 0); /* nothing sent before the end */
    end_iteration(&s);
    assert_int_equal(s.nsent, 2);
    expect_call(s.sent[0], 8, 2, 2, 3); /* the latest opened first */
    expect_call(s.sent[1], 7, 1, 2, 3);
}

static void test_full_call_sent_at_once(void **state)
{
    sim_t s;
    int u;

    (void)state;
    memset(&s, 0, sizeof(s));
    for (u = 1; u <= 300; u++) {
        take(&s, 7, u);
        if (u == ADMIT_GROUP_USERS)
            assert_int_equal(s.nsent, 1); /* the moment it is full */
    }
    take(&s, 9, 1000);
    assert_int_equal(s.nsent, 2);
    end_iteration(&s);
    assert_int_equal(s.nsent, 4);
    expect_call(s.sent[0], 7, 1, 1, 128);
    expect_call(s.sent[1], 7, 129, 1, 128);
    expect_call(s.sent[2], 9, 1000, 1, 1);
    expect_call(s.sent[3], 7, 257, 1, 44);
}

/* A call taken out because it is full leaves the others findable. */
static void test_full_call_leaves_others(void **state)
{
    sim_t s;
    int u;

    (void)state;
    memset(&s, 0, sizeof(s));
    take(&s, 1, 1);
    take(&s, 2, 1);
    take(&s, 3, 1);
    for (u = 2; u <= ADMIT_GROUP_USERS; u++)
        take(&s, 1, u); /* coupon 1 (not the last opened) fills */
    assert_int_equal(s.nsent, 1);
    take(&s, 2, 2);
    take(&s, 3, 2);
    assert_int_equal(s.npool, 3); /* joined their calls, none opened */
    end_iteration(&s);
    assert_int_equal(s.nsent, 3);
    expect_call(s.sent[0], 1, 1, 1, ADMIT_GROUP_USERS);
    expect_call(s.sent[1], 2, 1, 1, 2); /* 3 took 1's place in the table */
    expect_call(s.sent[2], 3, 1, 1, 2);
}

static void test_too_many_coupons_send_the_latest(void **state)
{
    sim_t s;
    int c;

    (void)state;
    memset(&s, 0, sizeof(s));
    for (c = 1; c <= ADMIT_GROUP_OPEN; c++)
        take(&s, c, 100 + c);
    assert_int_equal(s.nsent, 0);
    take(&s, 99, 1); /* one coupon too many: coupon 8's call goes first */
    assert_int_equal(s.nsent, 1);
    expect_call(s.sent[0], ADMIT_GROUP_OPEN, 100 + ADMIT_GROUP_OPEN, 1, 1);
    take(&s, 1, 2);                /* still open */
    take(&s, ADMIT_GROUP_OPEN, 2); /* opens anew: sends 99's call */
    assert_int_equal(s.nsent, 2);
    expect_call(s.sent[1], 99, 1, 1, 1);
    end_iteration(&s);
    assert_int_equal(s.nsent, 1 + 1 + ADMIT_GROUP_OPEN);
    expect_call(s.sent[2], ADMIT_GROUP_OPEN, 2, 1, 1);
    expect_call(s.sent[9], 1, 101, -99, 2); /* users 101, 2 */
}

UNIT_TESTS(cmocka_unit_test(test_one_call_per_coupon_in_order),
           cmocka_unit_test(test_full_call_sent_at_once),
           cmocka_unit_test(test_full_call_leaves_others),
           cmocka_unit_test(test_too_many_coupons_send_the_latest))
