/* test_worker_batch.c -- the worker's batch bookkeeping: growth, age and
 * size triggers, valid events of each topic in arrival order, commit
 * offsets per (topic, partition), dropping a revoked partition of one
 * topic, swapping with the carry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "unit.h"

#include "batch.h"

static int freed;
static void count_free(void *msg)
{
    (void)msg;
    freed++;
}

/* Adds a valid event of topic t (user = offset) or a rejected message. */
static void add_to(batch_t *b, int t, int32_t part, int64_t off, int ok,
                   int64_t now)
{
    batch_item_t *it = batch_add(b, t, part, off, &freed, now);

    assert_non_null(it);
    assert_int_equal(it->topic, t);
    it->reason = ok ? EVENT_OK : EVENT_ERR_JSON;
    if (t == BATCH_REDEMPTION) {
        it->rev.coupon_id = 42;
        it->rev.user_id = off;
        return;
    }
    it->ev.coupon_id = 42;
    it->ev.user_id = off;
    it->ev.seq = off;
}

static void add(batch_t *b, int32_t part, int64_t off, int ok, int64_t now)
{
    add_to(b, BATCH_ISSUE, part, off, ok, now);
}

static void test_due_by_size_and_age(void **state)
{
    batch_t *b = batch_new();
    (void)state;

    assert_false(batch_due(b, 3, 100, 1000));
    assert_int_equal(batch_wait_ms(b, 100, 1000), -1);
    add(b, 0, 1, 1, 1000);
    assert_false(batch_due(b, 3, 100, 1050));
    assert_int_equal(batch_wait_ms(b, 100, 1050), 50);
    add(b, 0, 2, 1, 1090); /* age counts from the first item */
    assert_true(batch_due(b, 3, 100, 1100));
    assert_int_equal(batch_wait_ms(b, 100, 1200), 0);
    add(b, 0, 3, 1, 1095);
    assert_true(batch_due(b, 3, 100000, 1095));
    batch_free(b, NULL);
}

static void test_grows_past_any_limit(void **state)
{
    batch_t *b = batch_new();
    int64_t i;
    (void)state;

    for (i = 0; i < 5000; i++)
        add(b, (int32_t)(i % 6), i, 1, 0);
    assert_int_equal(batch_len(b), 5000);
    assert_int_equal(batch_item(b, 4999)->offset, 4999);
    assert_null(batch_item(b, 5000));
    batch_free(b, NULL);
}

static void test_events_skip_rejected(void **state)
{
    batch_t *b = batch_new();
    redemption_event_t revs[7];
    event_t evs[7];
    size_t idx[7], n;
    (void)state;

    add(b, 0, 10, 1, 0);
    add(b, 0, 11, 0, 0);
    add_to(b, BATCH_REDEMPTION, 0, 20, 1, 0);
    add(b, 1, 7, 1, 0);
    add(b, 1, 8, 0, 0);
    add_to(b, BATCH_REDEMPTION, 1, 21, 0, 0);
    add_to(b, BATCH_REDEMPTION, 1, 22, 1, 0);
    n = batch_events(b, evs, idx);
    assert_int_equal(n, 2);
    assert_int_equal(evs[0].user_id, 10);
    assert_int_equal(idx[0], 0);
    assert_int_equal(evs[1].user_id, 7);
    assert_int_equal(idx[1], 3);
    n = batch_redemptions(b, revs, idx);
    assert_int_equal(n, 2);
    assert_int_equal(revs[0].user_id, 20);
    assert_int_equal(idx[0], 2);
    assert_int_equal(revs[1].user_id, 22);
    assert_int_equal(idx[1], 6);
    batch_free(b, NULL);
}

static void test_commit_offsets_highest_plus_one(void **state)
{
    batch_t *b = batch_new();
    int topics[8];
    int32_t parts[8];
    int64_t offs[8];
    size_t n;
    (void)state;

    add(b, 3, 100, 1, 0);
    add(b, 1, 5, 0, 0); /* a rejected message is committed too */
    add_to(b, BATCH_REDEMPTION, 3, 7, 1, 0); /* same partition, other topic */
    add(b, 3, 101, 1, 0);
    add(b, 1, 6, 1, 0);
    add(b, 3, 99, 1, 0); /* out of order: the highest still wins */
    add_to(b, BATCH_REDEMPTION, 3, 8, 0, 0);
    n = batch_commit_offsets(b, topics, parts, offs);
    assert_int_equal(n, 3);
    assert_int_equal(topics[0], BATCH_ISSUE);
    assert_int_equal(parts[0], 3);
    assert_int_equal(offs[0], 102);
    assert_int_equal(topics[1], BATCH_ISSUE);
    assert_int_equal(parts[1], 1);
    assert_int_equal(offs[1], 7);
    assert_int_equal(topics[2], BATCH_REDEMPTION);
    assert_int_equal(parts[2], 3);
    assert_int_equal(offs[2], 9);
    batch_free(b, NULL);
}

static void test_drop_partition_keeps_order(void **state)
{
    batch_t *b = batch_new();
    int topics[8];
    int32_t parts[8];
    int64_t offs[8];
    (void)state;

    freed = 0;
    add(b, 0, 1, 1, 0);
    add(b, 2, 1, 1, 0);
    add_to(b, BATCH_REDEMPTION, 2, 4, 1, 0); /* survives: other topic */
    add(b, 0, 2, 1, 0);
    add(b, 2, 2, 1, 0);
    add(b, 1, 9, 1, 0);
    assert_int_equal(batch_drop_partition(b, BATCH_ISSUE, 2, count_free), 2);
    assert_int_equal(freed, 2);
    assert_int_equal(batch_len(b), 4);
    assert_int_equal(batch_item(b, 0)->offset, 1);
    assert_int_equal(batch_item(b, 1)->topic, BATCH_REDEMPTION);
    assert_int_equal(batch_item(b, 2)->offset, 2);
    assert_int_equal(batch_item(b, 3)->partition, 1);
    assert_int_equal(batch_commit_offsets(b, topics, parts, offs), 3);
    assert_int_equal(batch_drop_partition(b, BATCH_ISSUE, 5, count_free), 0);
    assert_int_equal(batch_drop_partition(b, BATCH_REDEMPTION, 2, count_free),
                     1);
    batch_clear(b, count_free);
    assert_int_equal(freed, 6);
    assert_int_equal(batch_len(b), 0);
    assert_int_equal(batch_commit_offsets(b, topics, parts, offs), 0);
    batch_free(b, count_free);
    assert_int_equal(freed, 6);
}

static void test_swap_with_carry(void **state)
{
    batch_t *open = batch_new(), *carry = batch_new();
    (void)state;

    add(carry, 4, 50, 1, 7000);
    batch_swap(open, carry);
    assert_int_equal(batch_len(open), 1);
    assert_int_equal(batch_len(carry), 0);
    assert_int_equal(batch_item(open, 0)->offset, 50);
    /* the carry's age came along */
    assert_int_equal(batch_wait_ms(open, 100, 7040), 60);
    batch_free(open, NULL);
    batch_free(carry, NULL);
}

UNIT_TESTS(cmocka_unit_test(test_due_by_size_and_age),
           cmocka_unit_test(test_grows_past_any_limit),
           cmocka_unit_test(test_events_skip_rejected),
           cmocka_unit_test(test_commit_offsets_highest_plus_one),
           cmocka_unit_test(test_drop_partition_keeps_order),
           cmocka_unit_test(test_swap_with_carry))
