/* test_api_redemption_kept.c -- api/redemption_kept's pure parts: what an
 * undo's or a finish's answer says (answered, unknown: kept, refused:
 * forgotten), the kept list's cap per kind (the oldest of that kind goes,
 * never one of the other kind), its time limit, the counts it keeps and
 * that a finish forgotten unanswered is a finish failure. No Redis: the
 * handle is built by hand with no connection, and nothing is sent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "unit.h"
#include <hiredis/hiredis.h>

#include "redemption_internal.h"

#define RID "01ARZ3NDEKTSV4RR000000002A"

static uv_loop_t loop;

static int setup(void **state)
{
    redemption_t *r = calloc(1, sizeof(*r));

    assert_non_null(r);
    assert_int_equal(uv_loop_init(&loop), 0);
    r->loop = &loop;
    *state = r;
    return 0;
}

static int teardown(void **state)
{
    redemption_t *r = *state;

    redemption_kept_free(r);
    free(r);
    assert_int_equal(uv_loop_close(&loop), 0);
    return 0;
}

/* c's outcome for a reply of type with str (or the integer v). */
static int outcome(ucall_t *c, int type, const char *str, long long v,
                   const char **err)
{
    redisReply rep;

    memset(&rep, 0, sizeof(rep));
    rep.type = type;
    rep.integer = v;
    rep.str = (char *)(uintptr_t)str;
    rep.len = str != NULL ? strlen(str) : 0;
    return redemption_kept_outcome(c, &rep, err);
}

static void test_outcome(void **state)
{
    ucall_t *c = redemption_ucall_new(*state, K_FINISH, 42, RID);
    const char *err;

    assert_int_equal(outcome(c, REDIS_REPLY_INTEGER, NULL, 1, &err), 1);
    assert_int_equal(c->fate, KEPT_ANSWERED);
    assert_null(err);
    assert_int_equal(outcome(c, REDIS_REPLY_INTEGER, NULL, 0, &err), 0);
    assert_int_equal(c->fate, KEPT_ANSWERED);
    /* lost, or Redis itself refused: it may not have run */
    assert_int_equal(redemption_kept_outcome(c, NULL, &err), -1);
    assert_int_equal(c->fate, KEPT_UNKNOWN);
    assert_string_equal(err, "redis connection lost");
    assert_int_equal(outcome(c, REDIS_REPLY_ERROR,
                             "LOADING Redis is loading the dataset", 0, &err),
                     -1);
    assert_int_equal(c->fate, KEPT_UNKNOWN);
    assert_string_equal(err, "LOADING Redis is loading the dataset");
    assert_int_equal(outcome(c, REDIS_REPLY_ERROR,
                             "NOREPLICAS Not enough good replicas", 0, &err),
                     -1);
    assert_int_equal(c->fate, KEPT_UNKNOWN);
    /* the script's refusal, or a reply not as agreed: it would come again */
    assert_int_equal(outcome(c, REDIS_REPLY_ERROR,
                             "ERR couponq use: version must be an integer", 0,
                             &err),
                     -1);
    assert_int_equal(c->fate, KEPT_REFUSED);
    assert_int_equal(outcome(c, REDIS_REPLY_STATUS, "OK", 0, &err), -1);
    assert_int_equal(c->fate, KEPT_REFUSED);
    assert_string_equal(err, "unexpected reply");
    redemption_ucall_free(c);
}

/* A kept call of kind, first kept at ms (0: now). */
static ucall_t *keep(redemption_t *r, int kind, uint64_t ms)
{
    ucall_t *c = redemption_ucall_new(r, kind, 42, RID);

    assert_non_null(c);
    c->kept_ms = ms;
    c->version = (int64_t)ms;
    redemption_kept_add(r, c);
    return c;
}

static int listed(const redemption_t *r, const ucall_t *c)
{
    const ucall_t *p;

    for (p = r->kept; p != NULL; p = p->next)
        if (p == c)
            return 1;
    return 0;
}

static void test_cap_per_kind(void **state)
{
    redemption_t *r = *state;
    redemption_kept_t ks[REDEMPTION_KEPT_KINDS];
    ucall_t *undo, *first, *second;
    int i;

    undo = keep(r, K_UNDO, 1); /* the oldest of all */
    first = keep(r, K_FINISH, 2);
    second = keep(r, K_FINISH, 3);
    for (i = 2; i < USE_KEPT_MAX; i++)
        keep(r, K_FINISH, 100 + (uint64_t)i);
    redemption_kept_stats(r, ks);
    assert_int_equal(ks[K_FINISH].kept, USE_KEPT_MAX);
    assert_int_equal(ks[K_UNDO].kept, 1);
    assert_int_equal(ks[K_FINISH].dropped, 0);

    /* one finish over the cap: the oldest finish goes, not the undo */
    keep(r, K_FINISH, 1000);
    redemption_kept_stats(r, ks);
    assert_int_equal(ks[K_FINISH].kept, USE_KEPT_MAX);
    assert_int_equal(ks[K_FINISH].dropped, 1);
    assert_int_equal(ks[K_UNDO].kept, 1);
    assert_int_equal(ks[K_UNDO].dropped, 0);
    assert_true(listed(r, undo));
    assert_false(listed(r, first));
    assert_true(listed(r, second));
    assert_int_equal(r->finish_failures, 1); /* its budget stays held */
}

static void test_undo_cap(void **state)
{
    redemption_t *r = *state;
    redemption_kept_t ks[REDEMPTION_KEPT_KINDS];
    ucall_t *fin, *oldest;
    int i;

    fin = keep(r, K_FINISH, 1);
    oldest = keep(r, K_UNDO, 5);
    for (i = 1; i <= USE_KEPT_MAX; i++)
        keep(r, K_UNDO, 10 + (uint64_t)i);
    redemption_kept_stats(r, ks);
    assert_int_equal(ks[K_UNDO].kept, USE_KEPT_MAX);
    assert_int_equal(ks[K_UNDO].dropped, 1);
    assert_int_equal(ks[K_FINISH].kept, 1);
    assert_true(listed(r, fin));
    assert_false(listed(r, oldest));
    assert_int_equal(r->finish_failures, 0); /* an undo is no finish */
}

static void test_expiry(void **state)
{
    redemption_t *r = *state;
    redemption_kept_t ks[REDEMPTION_KEPT_KINDS];
    ucall_t *young_undo, *young_fin;

    keep(r, K_UNDO, 1000);
    keep(r, K_FINISH, 1000);
    keep(r, K_FINISH, 1500);
    young_undo = keep(r, K_UNDO, 2000);
    young_fin = keep(r, K_FINISH, 2000);

    redemption_tick(r, 1000 + USE_KEPT_MS - 1); /* none old enough */
    redemption_kept_stats(r, ks);
    assert_int_equal(ks[K_UNDO].kept, 2);
    assert_int_equal(ks[K_FINISH].kept, 3);

    redemption_tick(r, 1500 + USE_KEPT_MS);
    redemption_kept_stats(r, ks);
    assert_int_equal(ks[K_UNDO].kept, 1);
    assert_int_equal(ks[K_FINISH].kept, 1);
    assert_true(listed(r, young_undo));
    assert_true(listed(r, young_fin));
    assert_int_equal(ks[K_FINISH].dropped, 0); /* expired, not dropped */
    assert_int_equal(r->finish_failures, 2);
}

static void test_answered_counts(void **state)
{
    redemption_t *r = *state;
    redemption_kept_t ks[REDEMPTION_KEPT_KINDS];
    ucall_t *u = redemption_ucall_new(r, K_UNDO, 42, RID);
    ucall_t *f = redemption_ucall_new(r, K_FINISH, 42, RID);

    f->resends = u->resends = 1;
    redemption_kept_answered(f, 1, NULL);
    redemption_kept_answered(f, 0, NULL);
    f->fate = KEPT_UNKNOWN;
    redemption_kept_answered(f, -1, "redis connection lost");
    redemption_kept_answered(u, 0, NULL);
    redemption_kept_stats(r, ks);
    assert_int_equal(ks[K_FINISH].resent, 2); /* a failure is no answer */
    assert_int_equal(ks[K_FINISH].applied, 1);
    assert_int_equal(ks[K_UNDO].resent, 1);
    assert_int_equal(ks[K_UNDO].applied, 0);
    assert_int_equal(ks[K_FINISH].kept + ks[K_UNDO].kept, 0);
    redemption_ucall_free(u);
    redemption_ucall_free(f);
}

/* At exit the kept calls are forgotten (ASan: none leaks). */
static void test_exit(void **state)
{
    redemption_t *r = *state;

    keep(r, K_UNDO, 0);
    keep(r, K_FINISH, 0);
    redemption_kept_free(r);
    assert_null(r->kept);
    assert_int_equal(r->ks[K_UNDO].kept + r->ks[K_FINISH].kept, 0);
}

UNIT_TESTS(cmocka_unit_test_setup_teardown(test_outcome, setup, teardown),
           cmocka_unit_test_setup_teardown(test_cap_per_kind, setup, teardown),
           cmocka_unit_test_setup_teardown(test_undo_cap, setup, teardown),
           cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
           cmocka_unit_test_setup_teardown(test_answered_counts, setup,
                                           teardown),
           cmocka_unit_test_setup_teardown(test_exit, setup, teardown))
