/* test_api_sticky.c -- api/sticky: the partition of the issuance events as
 * kafka_producer.c uses it -- one partition for every pick of a loop
 * iteration, the next one after an iteration that picked (idle iterations
 * move nothing), equal shares over many iterations, a topic that grows
 * used whole, partitions without a leader skipped while another has one,
 * and librdkafka's partitioner (STICKY_ANY) while the partitions are not
 * known; and sticky_group, the redemption events' partition: fixed per
 * coupon whatever the iteration, spread over the partitions, moved off a
 * partition without a leader and back once it has one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "unit.h"

#include "sticky.h"

/* One loop iteration that produces n events: the partition they got (all
 * the same, checked), then the uv_check. */
static int32_t iteration(sticky_t *s, int n)
{
    int32_t p = sticky_pick(s);
    int i;

    for (i = 1; i < n; i++)
        assert_int_equal(sticky_pick(s), p);
    sticky_next(s);
    return p;
}

static void test_unknown_is_any(void **state)
{
    sticky_t s;

    (void)state;
    memset(&s, 0, sizeof(s));
    assert_int_equal(sticky_pick(&s), STICKY_ANY);
    sticky_next(&s);
    assert_int_equal(iteration(&s, 3), STICKY_ANY);
    sticky_set(&s, 0, NULL); /* the topic not known */
    assert_int_equal(sticky_pick(&s), STICKY_ANY);
    sticky_set(&s, STICKY_MAX_PARTITIONS + 1, NULL); /* too many to follow */
    assert_int_equal(sticky_pick(&s), STICKY_ANY);
    sticky_set(&s, -1, NULL);
    assert_int_equal(sticky_pick(&s), STICKY_ANY);
}

static void test_round_robin_per_iteration(void **state)
{
    sticky_t s;
    int i;

    (void)state;
    memset(&s, 0, sizeof(s));
    sticky_set(&s, 6, NULL);
    for (i = 0; i < 18; i++)
        assert_int_equal(iteration(&s, 1 + i % 5), i % 6);
}

static void test_idle_iterations_move_nothing(void **state)
{
    sticky_t s;
    int i;

    (void)state;
    memset(&s, 0, sizeof(s));
    sticky_set(&s, 4, NULL);
    assert_int_equal(iteration(&s, 2), 0);
    for (i = 0; i < 10; i++)
        sticky_next(&s); /* iterations without a produce */
    /* a single idle event goes to the next partition, and so on */
    assert_int_equal(iteration(&s, 1), 1);
    sticky_next(&s);
    assert_int_equal(iteration(&s, 1), 2);
    assert_int_equal(iteration(&s, 1), 3);
    assert_int_equal(iteration(&s, 1), 0);
}

static void test_equal_shares(void **state)
{
    sticky_t s;
    int iters[7] = { 0 };
    long events[7] = { 0 }, total = 0;
    uint32_t x = 12345;
    int i, n;
    int32_t p;

    (void)state;
    memset(&s, 0, sizeof(s));
    sticky_set(&s, 7, NULL);
    for (i = 0; i < 7000; i++) {
        x = x * 1103515245u + 12345u; /* bursts of 1..64 events */
        n = 1 + (int)((x >> 16) % 64);
        if ((x >> 8) % 3 == 0)
            sticky_next(&s); /* an idle iteration in between */
        p = iteration(&s, n);
        assert_in_range(p, 0, 6);
        iters[p]++;
        events[p] += n;
        total += n;
    }
    for (i = 0; i < 7; i++) {
        assert_int_equal(iters[i], 1000);
        /* each share of the events within 10% of a seventh */
        assert_in_range(events[i] * 70, total * 9, total * 11);
    }
}

static void test_grown_topic_used_whole(void **state)
{
    sticky_t s;
    int seen[8] = { 0 }, i;

    (void)state;
    memset(&s, 0, sizeof(s));
    sticky_set(&s, 3, NULL);
    assert_int_equal(iteration(&s, 1), 0);
    assert_int_equal(iteration(&s, 1), 1);
    sticky_set(&s, 8, NULL); /* partitions added */
    assert_int_equal(iteration(&s, 1), 2);
    for (i = 0; i < 8; i++)
        seen[iteration(&s, 1)]++;
    for (i = 0; i < 8; i++)
        assert_int_equal(seen[i], 1);
    sticky_set(&s, 8, NULL); /* the same answer again changes nothing */
    assert_int_equal(iteration(&s, 1), 3);
}

static void test_partition_without_leader_skipped(void **state)
{
    sticky_t s;
    unsigned char down[6] = { 0, 0, 1, 0, 1, 0 };
    int i;
    const int32_t want[] = { 0, 1, 3, 5, 0, 1, 3, 5 };

    (void)state;
    memset(&s, 0, sizeof(s));
    sticky_set(&s, 6, down);
    assert_int_equal(s.ndown, 2);
    for (i = 0; i < 8; i++)
        assert_int_equal(iteration(&s, 2), want[i]);
    /* the leaders are back: every partition again */
    sticky_set(&s, 6, NULL);
    for (i = 0; i < 4; i++)
        assert_int_equal(iteration(&s, 1), i);
    /* the current partition (4) loses its leader: the next pick moves on,
     * within the iteration too */
    assert_int_equal(sticky_pick(&s), 4);
    memset(down, 0, sizeof(down));
    down[4] = 1;
    sticky_set(&s, 6, down);
    assert_int_equal(sticky_pick(&s), 5);
    sticky_next(&s);
    assert_int_equal(iteration(&s, 1), 0);
    assert_int_equal(iteration(&s, 1), 1);
    assert_int_equal(iteration(&s, 1), 2);
    assert_int_equal(iteration(&s, 1), 3);
    assert_int_equal(iteration(&s, 1), 5);
}

static void test_no_leader_anywhere_still_round_robin(void **state)
{
    sticky_t s;
    unsigned char down[3] = { 1, 1, 1 };
    int i;

    (void)state;
    memset(&s, 0, sizeof(s));
    sticky_set(&s, 3, down);
    for (i = 0; i < 6; i++)
        assert_int_equal(iteration(&s, 1), i % 3);
    /* one leader back: only it, from the next pick on */
    down[1] = 0;
    sticky_set(&s, 3, down);
    for (i = 0; i < 4; i++)
        assert_int_equal(iteration(&s, 1), 1);
}

static void test_many_partitions(void **state)
{
    sticky_t s;
    static unsigned char down[STICKY_MAX_PARTITIONS];
    int i;

    (void)state;
    memset(&s, 0, sizeof(s));
    memset(down, 1, sizeof(down));
    down[STICKY_MAX_PARTITIONS - 1] = 0;
    down[64] = 0;
    sticky_set(&s, STICKY_MAX_PARTITIONS, down);
    assert_int_equal(s.ndown, STICKY_MAX_PARTITIONS - 2);
    for (i = 0; i < 4; i++) {
        assert_int_equal(iteration(&s, 1), 64);
        assert_int_equal(iteration(&s, 1), STICKY_MAX_PARTITIONS - 1);
    }
}

static void test_group_fixed_and_spread(void **state)
{
    sticky_t s;
    int counts[6] = { 0 }, i;
    uint64_t g;

    (void)state;
    memset(&s, 0, sizeof(s));
    assert_int_equal(sticky_group(&s, 42), STICKY_ANY); /* not known */
    sticky_set(&s, 6, NULL);
    /* a group's partition does not follow the iterations */
    for (i = 0; i < 12; i++) {
        assert_int_equal(sticky_group(&s, 42), sticky_group(&s, 42));
        assert_int_equal(iteration(&s, 1 + i % 3), i % 6);
        assert_int_equal(sticky_group(&s, 42), sticky_group(&s, 42));
    }
    g = (uint64_t)sticky_group(&s, 42);
    for (i = 0; i < 12; i++) {
        assert_int_equal(sticky_group(&s, 42), (int32_t)g);
        sticky_next(&s);
    }
    /* consecutive coupon ids (as couponqctl makes them) spread: 6,000
     * groups, every partition within 20% of its share */
    for (g = 1000000; g < 1006000; g++) {
        int32_t p = sticky_group(&s, g);

        assert_true(p >= 0 && p < 6);
        counts[p]++;
    }
    for (i = 0; i < 6; i++)
        assert_true(counts[i] > 800 && counts[i] < 1200);
}

static void test_group_moves_off_a_partition_without_leader(void **state)
{
    sticky_t s;
    unsigned char down[6] = { 0 };
    int32_t home, i;
    uint64_t g;

    (void)state;
    memset(&s, 0, sizeof(s));
    sticky_set(&s, 6, NULL);
    for (g = 1; g < 200; g++) {
        home = sticky_group(&s, g);
        memset(down, 0, sizeof(down));
        down[home] = 1;
        down[(home + 1) % 6] = 1;
        sticky_set(&s, 6, down); /* its partition and the next: none */
        assert_int_equal(sticky_group(&s, g), (home + 2) % 6);
        memset(down, 1, sizeof(down));
        sticky_set(&s, 6, down); /* no leader anywhere: its own */
        assert_int_equal(sticky_group(&s, g), home);
        sticky_set(&s, 6, NULL); /* leaders back: home again */
        assert_int_equal(sticky_group(&s, g), home);
    }
    /* a topic that grew: the groups use every partition */
    sticky_set(&s, 12, NULL);
    for (i = 0, g = 1; g < 2000; g++)
        i |= sticky_group(&s, g) >= 6;
    assert_true(i);
}

UNIT_TESTS(cmocka_unit_test(test_unknown_is_any),
           cmocka_unit_test(test_round_robin_per_iteration),
           cmocka_unit_test(test_idle_iterations_move_nothing),
           cmocka_unit_test(test_equal_shares),
           cmocka_unit_test(test_grown_topic_used_whole),
           cmocka_unit_test(test_partition_without_leader_skipped),
           cmocka_unit_test(test_no_leader_anywhere_still_round_robin),
           cmocka_unit_test(test_many_partitions),
           cmocka_unit_test(test_group_fixed_and_spread),
           cmocka_unit_test(test_group_moves_off_a_partition_without_leader))
