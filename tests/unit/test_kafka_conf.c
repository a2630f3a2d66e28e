/* test_kafka_conf.c -- --kafka and -X reach librdkafka, in order; bad -X
 * pairs are rejected with a message naming them. */
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
#include "kafka_conf.h"

static const cfg_opt_t opts[] = { CFG_OPT_KAFKA, CFG_OPT_TOPIC };

static config_t *parsed(int argc, const char **argv)
{
    config_t *c = config_new(opts, 2);
    char err[256];

    assert_non_null(c);
    unsetenv("COUPONQ_KAFKA");
    if (config_parse(c, argc, (char **)argv, err, sizeof(err)) != 0)
        fail_msg("config_parse: %s", err);
    return c;
}

static void expect(rd_kafka_conf_t *kc, const char *key, const char *want)
{
    char val[256];
    size_t n = sizeof(val);

    assert_int_equal(rd_kafka_conf_get(kc, key, val, &n), RD_KAFKA_CONF_OK);
    assert_string_equal(val, want);
}

static void test_bootstrap_defaults_and_x(void **state)
{
    const char *argv[] = { "p",  "--kafka",     "10.0.0.1:9092",
                           "-X", "linger.ms=7", "-Xclient.id=couponq-test",
                           NULL };
    static const char *const defaults[] = { "linger.ms", "5",
                                            "socket.nagle.disable", "true",
                                            NULL };
    config_t *c = parsed(6, argv);
    char err[512] = "";
    rd_kafka_conf_t *kc = kafka_conf_new(c, defaults, err, sizeof(err));

    (void)state;
    assert_non_null(kc);
    expect(kc, "bootstrap.servers", "10.0.0.1:9092");
    expect(kc, "linger.ms", "7"); /* -X wins over the binary's default */
    expect(kc, "socket.nagle.disable", "true");
    expect(kc, "client.id", "couponq-test");
    rd_kafka_conf_destroy(kc);
    config_free(c);
}

static void test_bad_x(void **state)
{
    static const struct {
        const char *x, *want;
    } cases[] = {
        { "linger.ms=abc", "-X linger.ms=abc: " },
        { "no.such.property=1", "-X no.such.property=1: " },
        { "linger.ms=-5", "-X linger.ms=-5: " },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *argv[] = { "p", "-X", cases[i].x, NULL };
        config_t *c = parsed(3, argv);
        char err[512] = "";
        rd_kafka_conf_t *kc = kafka_conf_new(c, NULL, err, sizeof(err));

        assert_null(kc);
        if (strncmp(err, cases[i].want, strlen(cases[i].want)) != 0 ||
            strlen(err) <= strlen(cases[i].want))
            fail_msg("-X %s: \"%s\", want \"%s<why>\"", cases[i].x, err,
                     cases[i].want);
        config_free(c);
    }
}

static void test_x_without_equals_rejected_by_config(void **state)
{
    const char *argv[] = { "p", "-X", "linger.ms", NULL };
    config_t *c = config_new(opts, 2);
    char err[256] = "";

    (void)state;
    assert_int_equal(config_parse(c, 3, (char **)argv, err, sizeof(err)), -1);
    assert_string_equal(err, "-X linger.ms: expected key=value");
    config_free(c);
}

static void test_dlq_topic(void **state)
{
    char buf[64];

    (void)state;
    assert_int_equal(
        kafka_dlq_topic("couponq.issue-requests", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "couponq.issue-requests.dlq");
    assert_int_equal(kafka_dlq_topic("abcde", buf, 10), 0);
    assert_int_equal(kafka_dlq_topic("abcdef", buf, 10), -1);
}

UNIT_TESTS(cmocka_unit_test(test_bootstrap_defaults_and_x),
           cmocka_unit_test(test_bad_x),
           cmocka_unit_test(test_x_without_equals_rejected_by_config),
           cmocka_unit_test(test_dlq_topic))
