/* test_worker_instance_id.c -- --instance-id: empty is dynamic membership;
 * what the broker accepts as a group.instance.id passes; too long, "." and
 * "..", and any character outside [A-Za-z0-9._-] fail with a reason that
 * names it. */
#include <string.h>

#include "unit.h"

#include "instance_id.h"

static void test_empty_is_dynamic(void **state)
{
    char err[128] = "";
    (void)state;

    assert_int_equal(instance_id_check(NULL, err, sizeof(err)), 0);
    assert_int_equal(instance_id_check("", err, sizeof(err)), 0);
    assert_string_equal(err, "");
}

static void test_legal_ids(void **state)
{
    const char *ok[] = { "worker-1", "fault-w3",        "a", "A.b_C-9", "...",
                         "-",        "couponq.worker_2" };
    char err[128];
    size_t i;
    (void)state;

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        assert_int_equal(instance_id_check(ok[i], err, sizeof(err)), 0);
}

static void test_length(void **state)
{
    char id[INSTANCE_ID_MAX + 2], err[128];
    (void)state;

    memset(id, 'x', sizeof(id) - 1);
    id[INSTANCE_ID_MAX] = '\0';
    assert_int_equal(instance_id_check(id, err, sizeof(err)), 0);
    id[INSTANCE_ID_MAX] = 'x';
    id[INSTANCE_ID_MAX + 1] = '\0';
    assert_int_equal(instance_id_check(id, err, sizeof(err)), -1);
    assert_string_equal(err, "249 characters at most, got 250");
}

static void test_dots(void **state)
{
    char err[128];
    (void)state;

    assert_int_equal(instance_id_check(".", err, sizeof(err)), -1);
    assert_string_equal(err, "\".\" is not allowed");
    assert_int_equal(instance_id_check("..", err, sizeof(err)), -1);
    assert_string_equal(err, "\"..\" is not allowed");
}

static void test_illegal_characters(void **state)
{
    const char *bad[] = {
        "a b", "a/b", "a:b", "w\t1", "x\n", "ü", "a,b", "a*"
    };
    char err[128];
    size_t i;
    (void)state;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(instance_id_check(bad[i], err, sizeof(err)), -1);
    instance_id_check("ab/c", err, sizeof(err));
    assert_string_equal(err, "character '/' at 3: only A-Z a-z 0-9 . _ - are "
                             "allowed");
    instance_id_check("w 1", err, sizeof(err));
    assert_string_equal(err,
                        "byte 0x20 at 2: only A-Z a-z 0-9 . _ - are allowed");
    instance_id_check("\xc3\xbc", err, sizeof(err));
    assert_string_equal(err,
                        "byte 0xc3 at 1: only A-Z a-z 0-9 . _ - are allowed");
}

UNIT_TESTS(cmocka_unit_test(test_empty_is_dynamic),
           cmocka_unit_test(test_legal_ids), cmocka_unit_test(test_length),
           cmocka_unit_test(test_dots),
           cmocka_unit_test(test_illegal_characters))
