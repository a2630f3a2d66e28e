/* test_config.c -- flag parsing: precedence default < env < flag, strict
 * integers with ranges, booleans, -X pairs, positionals, errors that name
 * the flag, and the usage text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "unit.h"

#include "config.h"
#include "version.h"

static const cfg_opt_t opts[] = {
    CFG_OPT_REDIS,
    CFG_OPT_KAFKA,
    { "batch-size", "COUPONQ_TEST_BATCH", CFG_INT, 1, 5000, "500",
      "events per transaction" },
    { "dry-run", "COUPONQ_TEST_DRY", CFG_BOOL, 0, 0, "false",
      "change nothing" },
    { "name", NULL, CFG_STR, 0, 0, NULL, "optional name" },
    { "offset", NULL, CFG_INT, -5, 5, "0", "signed" },
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

/* Parses a NULL-terminated argument list (argv[0] is added here). */
static int parse(config_t **c, char *err, size_t n, ...)
{
    char *argv[32];
    int argc = 0;
    va_list ap;

    argv[argc++] = (char *)"prog";
    va_start(ap, n);
    while ((argv[argc] = va_arg(ap, char *)) != NULL)
        argc++;
    va_end(ap);
    *c = config_new(opts, NOPTS);
    assert_non_null(*c);
    err[0] = '\0';
    return config_parse(*c, argc, argv, err, n);
}

static int setup(void **state)
{
    (void)state;
    unsetenv("COUPONQ_REDIS");
    unsetenv("COUPONQ_KAFKA");
    unsetenv("COUPONQ_TEST_BATCH");
    unsetenv("COUPONQ_TEST_DRY");
    return 0;
}

static void test_defaults(void **state)
{
    config_t *c;
    char err[256];

    (void)state;
    assert_int_equal(parse(&c, err, sizeof(err), NULL), 0);
    assert_string_equal(config_str(c, "redis"), "redis://127.0.0.1:16379");
    assert_string_equal(config_str(c, "kafka"), "127.0.0.1:19092");
    assert_int_equal(config_int(c, "batch-size"), 500);
    assert_int_equal(config_bool(c, "dry-run"), 0);
    assert_null(config_str(c, "name"));
    assert_int_equal(config_is_set(c, "redis"), 0);
    assert_int_equal(config_npos(c), 0);
    assert_int_equal(config_nx(c), 0);
    config_free(c);
    config_free(NULL);
}

static void test_precedence(void **state)
{
    config_t *c;
    char err[256];

    (void)state;
    setenv("COUPONQ_REDIS", "redis://env:1", 1);
    setenv("COUPONQ_TEST_BATCH", "42", 1);
    setenv("COUPONQ_TEST_DRY", "yes", 1);
    assert_int_equal(parse(&c, err, sizeof(err), NULL), 0);
    assert_string_equal(config_str(c, "redis"), "redis://env:1");
    assert_int_equal(config_is_set(c, "redis"), 1);
    assert_int_equal(config_int(c, "batch-size"), 42);
    assert_int_equal(config_bool(c, "dry-run"), 1);
    config_free(c);
    assert_int_equal(parse(&c, err, sizeof(err), "--redis", "redis://flag:2",
                           "--batch-size=7", "--no-dry-run", NULL),
                     0);
    assert_string_equal(config_str(c, "redis"), "redis://flag:2");
    assert_int_equal(config_int(c, "batch-size"), 7);
    assert_int_equal(config_bool(c, "dry-run"), 0);
    config_free(c);
}

static void test_bad_env_names_flag_and_env(void **state)
{
    config_t *c;
    char err[256];

    (void)state;
    setenv("COUPONQ_TEST_BATCH", "lots", 1);
    assert_int_equal(parse(&c, err, sizeof(err), NULL), -1);
    assert_non_null(strstr(err, "--batch-size"));
    assert_non_null(strstr(err, "COUPONQ_TEST_BATCH"));
    config_free(c);
}

typedef struct bad {
    const char *a, *b; /* arguments (b may be NULL) */
    const char *want;  /* exact error text */
} bad_t;

static void test_errors(void **state)
{
    static const bad_t cases[] = {
        { "--batch-size", "0", "--batch-size: 0 is below the minimum 1" },
        { "--batch-size=5001", NULL,
          "--batch-size: 5001 is above the maximum 5000" },
        { "--batch-size=abc", NULL, "--batch-size: \"abc\" is not an integer" },
        { "--batch-size=12x", NULL, "--batch-size: \"12x\" is not an integer" },
        { "--batch-size= 12", NULL, "--batch-size: \" 12\" is not an integer" },
        { "--batch-size=", NULL, "--batch-size: \"\" is not an integer" },
        { "--batch-size=99999999999999999999", NULL,
          "--batch-size: \"99999999999999999999\" is not an integer" },
        { "--batch-size=1.5", NULL, "--batch-size: \"1.5\" is not an integer" },
        { "--offset=-6", NULL, "--offset: -6 is below the minimum -5" },
        { "--batch-size", NULL, "--batch-size: missing value" },
        { "--redis", "--kafka", "--redis: missing value" },
        { "--dry-run=maybe", NULL,
          "--dry-run: \"maybe\" is not a boolean (true/false)" },
        { "--bogus", NULL, "--bogus: unknown flag" },
        { "--bogus=1", NULL, "--bogus: unknown flag" },
        { "--no-redis", NULL, "--no-redis: unknown flag" },
        { "-q", NULL, "-q: unknown flag" },
        { "-X", "foo", "-X foo: expected key=value" },
        { "-X", "=v", "-X =v: expected key=value" },
        { "-X", NULL, "-X: missing key=value" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        config_t *c;
        char err[256];
        int rc = parse(&c, err, sizeof(err), cases[i].a, cases[i].b, NULL);

        if (rc != -1 || strcmp(err, cases[i].want) != 0)
            fail_msg("%s %s: rc %d \"%s\", want \"%s\"", cases[i].a,
                     cases[i].b ? cases[i].b : "", rc, err, cases[i].want);
        config_free(c);
    }
}

static void test_int_edges(void **state)
{
    config_t *c;
    char err[256];

    (void)state;
    assert_int_equal(parse(&c, err, sizeof(err), "--offset", "-5",
                           "--batch-size", "5000", NULL),
                     0);
    assert_int_equal(config_int(c, "offset"), -5);
    assert_int_equal(config_int(c, "batch-size"), 5000);
    config_free(c);
}

static void test_x_and_positionals(void **state)
{
    config_t *c;
    char err[256];

    (void)state;
    assert_int_equal(parse(&c, err, sizeof(err), "create", "-X", "linger.ms=5",
                           "42", "-Xacks=all", "--dry-run", "-X",
                           "client.id=a=b", "-7", "--", "--not-a-flag", NULL),
                     0);
    assert_int_equal(config_nx(c), 3);
    assert_string_equal(config_x_key(c, 0), "linger.ms");
    assert_string_equal(config_x_value(c, 0), "5");
    assert_string_equal(config_x_key(c, 1), "acks");
    assert_string_equal(config_x_value(c, 1), "all");
    assert_string_equal(config_x_key(c, 2), "client.id");
    assert_string_equal(config_x_value(c, 2), "a=b");
    assert_null(config_x_key(c, 3));
    assert_int_equal(config_bool(c, "dry-run"), 1);
    assert_int_equal(config_npos(c), 4);
    assert_string_equal(config_pos(c, 0), "create");
    assert_string_equal(config_pos(c, 1), "42");
    assert_string_equal(config_pos(c, 2), "-7");
    assert_string_equal(config_pos(c, 3), "--not-a-flag");
    assert_null(config_pos(c, 4));
    config_free(c);
}

static void test_help(void **state)
{
    config_t *c;
    char err[256];

    (void)state;
    assert_int_equal(parse(&c, err, sizeof(err), "--help", NULL), 1);
    config_free(c);
    assert_int_equal(parse(&c, err, sizeof(err), "x", "-h", NULL), 1);
    config_free(c);
}

static void test_usage(void **state)
{
    config_t *c = config_new(opts, NOPTS);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    (void)state;
    config_usage(c, "couponq-test", "[options] COMMAND", f);
    fclose(f);
    assert_non_null(strstr(text, "usage: couponq-test [options] COMMAND\n"));
    assert_non_null(strstr(text, "--redis VALUE"));
    assert_non_null(strstr(text, "env COUPONQ_REDIS"));
    assert_non_null(strstr(text, "default redis://127.0.0.1:16379"));
    assert_non_null(strstr(text, "--batch-size N"));
    assert_non_null(strstr(text, "[1..5000]"));
    assert_non_null(strstr(text, "env COUPONQ_TEST_BATCH, default 500"));
    assert_non_null(strstr(text, "--[no-]dry-run"));
    assert_non_null(strstr(text, "-X key=value"));
    assert_non_null(strstr(text, "--help"));
    assert_non_null(strstr(text, "--version"));
    free(text);
    config_free(c);
}

/* --version prints this line and exits (config_parse); the line names the
 * program and the one project version. */
static void test_version(void **state)
{
    char *text = NULL, want[128];
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    (void)state;
    config_print_version(f);
    fclose(f);
    snprintf(want, sizeof(want), "test_config (couponq) %s\n", COUPONQ_VERSION);
    assert_string_equal(text, want);
    assert_true(strlen(COUPONQ_VERSION) >= 5); /* MAJOR.MINOR.PATCH */
    free(text);
}

UNIT_TESTS(cmocka_unit_test_setup(test_defaults, setup),
           cmocka_unit_test_setup(test_precedence, setup),
           cmocka_unit_test_setup(test_bad_env_names_flag_and_env, setup),
           cmocka_unit_test_setup(test_errors, setup),
           cmocka_unit_test_setup(test_int_edges, setup),
           cmocka_unit_test_setup(test_x_and_positionals, setup),
           cmocka_unit_test_setup(test_help, setup),
           cmocka_unit_test_setup(test_usage, setup),
           cmocka_unit_test(test_version))
