/* test_bench_tokens.c -- bench/tokens (couponq-bench --token-file): the
 * header line kept per user, comments, blank lines and CRLF, every refusal
 * with its line number, and a table of 50,000 users (the arena grows past
 * its first megabyte; every user still finds its own line). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "unit.h"

#include "tokens.h"

static char path[64];

static void write_file(const char *text)
{
    FILE *f;

    snprintf(path, sizeof(path), "/tmp/couponq-tokens.%d", (int)getpid());
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void header_is(const tokens_t *t, int64_t user, const char *tok)
{
    char want[4096];
    const char *h;
    size_t len = 0;

    snprintf(want, sizeof(want), "Authorization: Bearer %s\r\n", tok);
    h = tokens_header(t, user, &len);
    if (h == NULL)
        fail_msg("user %lld: no header", (long long)user);
    if (len != strlen(want) || memcmp(h, want, len) != 0)
        fail_msg("user %lld: got \"%.*s\"", (long long)user, (int)len, h);
}

static void test_load(void **state)
{
    tokens_t *t;
    char err[256] = "";
    size_t len;

    (void)state;
    write_file("# USER TOKEN\n"
               "\n"
               "1 aaa.bbb.ccc\n"
               "2\teyJ-_.x_-.sig\r\n"
               "9223372036854775807   z.z.z\n"
               "42 last.line.no_newline");
    t = tokens_load(path, err, sizeof(err));
    if (t == NULL)
        fail_msg("tokens_load: %s", err);
    assert_int_equal(tokens_count(t), 4);
    header_is(t, 1, "aaa.bbb.ccc");
    header_is(t, 2, "eyJ-_.x_-.sig");
    header_is(t, INT64_MAX, "z.z.z");
    header_is(t, 42, "last.line.no_newline");
    assert_null(tokens_header(t, 3, &len));
    assert_null(tokens_header(t, 0, &len));
    tokens_free(t);
    tokens_free(NULL);
    unlink(path);
}

static void refused(const char *text, const char *want)
{
    char err[256] = "", full[320];

    write_file(text);
    assert_null(tokens_load(path, err, sizeof(err)));
    snprintf(full, sizeof(full), "%s%s", path, want);
    if (strcmp(err, full) != 0)
        fail_msg("got \"%s\", want \"%s\"", err, full);
    unlink(path);
}

static void test_refusals(void **state)
{
    char big[TOKENS_MAX_LEN + 16], err[256];
    tokens_t *t;

    (void)state;
    refused("1 a.b.c\n0 a.b.c\n", ":2: want \"USER_ID TOKEN\"");
    refused("-5 a.b.c\n", ":1: want \"USER_ID TOKEN\"");
    refused("# x\n\n7\n", ":3: want \"USER_ID TOKEN\"");
    refused("7 \n", ":1: want \"USER_ID TOKEN\"");
    refused("x7 a.b.c\n", ":1: want \"USER_ID TOKEN\"");
    refused("7a a.b.c\n", ":1: want \"USER_ID TOKEN\"");
    refused("7 a.b+c\n", ":1: want \"USER_ID TOKEN\"");
    refused("7 a.b.c=\n", ":1: want \"USER_ID TOKEN\"");
    refused("7 a.b.c\n8 a.b.c\n7 d.e.f\n", ": a user comes twice");
    refused("", ": no token");
    refused("# only a comment\n\n", ": no token");
    /* TOKENS_MAX_LEN bytes are taken, one more is not */
    memset(big, 'A', sizeof(big));
    memcpy(big, "3 ", 2);
    big[2 + TOKENS_MAX_LEN] = '\0';
    write_file(big);
    t = tokens_load(path, err, sizeof(err));
    if (t == NULL)
        fail_msg("a token of TOKENS_MAX_LEN: %s", err);
    assert_int_equal(tokens_count(t), 1);
    tokens_free(t);
    big[2 + TOKENS_MAX_LEN] = 'A';
    big[3 + TOKENS_MAX_LEN] = '\0';
    refused(big, ":1: want \"USER_ID TOKEN\"");
    assert_null(tokens_load("/nonexistent/tokens", err, sizeof(err)));
    assert_string_equal(err, "/nonexistent/tokens: cannot open");
}

static void test_many(void **state)
{
    FILE *f;
    tokens_t *t;
    char err[256] = "", tok[64];
    int64_t u;

    (void)state;
    snprintf(path, sizeof(path), "/tmp/couponq-tokens.%d", (int)getpid());
    f = fopen(path, "w");
    assert_non_null(f);
    /* users spread over the id space, tokens of 40 bytes: 2.5 MB of lines */
    for (u = 1; u <= 50000; u++)
        fprintf(f, "%lld h.p%lld.signature-of-this-user-%lld\n",
                (long long)(u * 1000003), (long long)u, (long long)u);
    fclose(f);
    t = tokens_load(path, err, sizeof(err));
    if (t == NULL)
        fail_msg("tokens_load: %s", err);
    unlink(path);
    assert_int_equal(tokens_count(t), 50000);
    for (u = 1; u <= 50000; u++) {
        snprintf(tok, sizeof(tok), "h.p%lld.signature-of-this-user-%lld",
                 (long long)u, (long long)u);
        header_is(t, u * 1000003, tok);
        assert_null(tokens_header(t, u * 1000003 + 1, &(size_t){ 0 }));
    }
    tokens_free(t);
}

UNIT_TESTS(cmocka_unit_test(test_load), cmocka_unit_test(test_refusals),
           cmocka_unit_test(test_many))
