/* unit.h -- the main() of a cmocka test binary, written once.
 *
 *   UNIT_TESTS(cmocka_unit_test(test_a), cmocka_unit_test(test_b))
 *
 * at the end of tests/unit/test_<module>.c runs those tests in order, with no
 * group setup or teardown, and exits non-zero if any failed. A binary that
 * needs process-wide setup first (a log sink, a fixture for the whole group)
 * writes its own main() instead. */
#ifndef COUPONQ_TESTS_UNIT_H
#define COUPONQ_TESTS_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#define UNIT_TESTS(...)                                                        \
    int main(void)                                                             \
    {                                                                          \
        const struct CMUnitTest tests[] = { __VA_ARGS__ };                     \
        return cmocka_run_group_tests(tests, NULL, NULL);                      \
    }

#endif
