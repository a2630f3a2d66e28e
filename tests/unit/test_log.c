/* test_log.c -- log line format, level filtering, truncation. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "unit.h"

#include "log.h"

/* Reads everything written to fd so far (fd is a temp file). */
static char *slurp(int fd, size_t *len)
{
    static char buf[16384];
    ssize_t r = pread(fd, buf, sizeof(buf) - 1, 0);

    assert_true(r >= 0);
    buf[r] = '\0';
    *len = (size_t)r;
    return buf;
}

static int tmpfd(void)
{
    FILE *f = tmpfile();

    assert_non_null(f);
    return dup(fileno(f)); /* the FILE leaks on purpose: tiny, test-only */
}

static void test_level_names(void **state)
{
    (void)state;
    assert_int_equal(log_level_parse("debug"), LL_DEBUG);
    assert_int_equal(log_level_parse("info"), LL_INFO);
    assert_int_equal(log_level_parse("warn"), LL_WARN);
    assert_int_equal(log_level_parse("error"), LL_ERROR);
    assert_int_equal(log_level_parse("verbose"), -1);
    assert_int_equal(log_level_parse("INFO"), -1);
    assert_string_equal(log_level_name(LL_WARN), "warn");
    assert_string_equal(log_level_name(LL_ERROR), "error");
    assert_string_equal(log_level_name(42), "unknown");
}

static int evaluated;

static int side_effect(void)
{
    evaluated++;
    return 7;
}

static void test_line_format_and_filter(void **state)
{
    int fd = tmpfd();
    size_t len;
    char *out;
    const char *rest;

    (void)state;
    log_init("test-prog", LL_INFO, fd);
    evaluated = 0;
    LOG(LL_DEBUG, "msg=\"hidden\" n=%d", side_effect());
    assert_int_equal(evaluated, 0); /* disabled lines format nothing */
    errno = EAGAIN;
    LOG(LL_WARN, "msg=\"shown\" n=%d", side_effect());
    assert_int_equal(errno, EAGAIN); /* logging keeps errno */
    assert_int_equal(evaluated, 1);
    out = slurp(fd, &len);
    /* ts=YYYY-MM-DDTHH:MM:SS.mmmZ */
    assert_true(len > 28);
    assert_memory_equal(out, "ts=", 3);
    assert_int_equal(out[3 + 10], 'T');
    assert_int_equal(out[3 + 19], '.');
    assert_int_equal(out[3 + 23], 'Z');
    rest = out + 3 + 24;
    assert_string_equal(rest, " level=warn prog=test-prog msg=\"shown\" n=7\n");
    close(fd);
}

static void test_long_line_truncated(void **state)
{
    int fd = tmpfd();
    char *big = malloc(10000);
    size_t len;
    char *out;

    (void)state;
    memset(big, 'a', 9999);
    big[9999] = '\0';
    log_init("p", LL_DEBUG, fd);
    LOG(LL_ERROR, "msg=%s", big);
    LOG(LL_DEBUG, "msg=next");
    out = slurp(fd, &len);
    /* One capped line, newline-terminated, then the next line intact. */
    assert_non_null(strchr(out, '\n'));
    assert_int_equal(strchr(out, '\n') - out + 1, 4095);
    assert_non_null(strstr(out + 4095, "level=debug prog=p msg=next\n"));
    assert_int_equal(len, 4095 + strlen(strstr(out + 4095, "ts=")));
    free(big);
    close(fd);
}

UNIT_TESTS(cmocka_unit_test(test_level_names),
           cmocka_unit_test(test_line_format_and_filter),
           cmocka_unit_test(test_long_line_truncated))
