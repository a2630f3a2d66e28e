/* test_http_parser.c -- api/http_parser: requests come out whole and in
 * order however TCP cuts the bytes; pipelining, chunked bodies, keep-alive
 * flags, and every limit (413, 414, 431) and malformed input (400, 505),
 * unknown methods (501) stop the stream with the right status. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "unit.h"

#include "http_parser.h"

typedef struct seen {
    int n;
    char target[8][128];
    char body[8][128];
    int method[8], keep_alive[8], has_length[8];
} seen_t;

static void on_req(void *ud, const http_request_t *r)
{
    seen_t *s = ud;

    assert_true(s->n < 8);
    snprintf(s->target[s->n], 128, "%.*s", (int)r->target_len, r->target);
    snprintf(s->body[s->n], 128, "%.*s", (int)r->body_len, r->body);
    s->method[s->n] = r->method;
    s->keep_alive[s->n] = r->keep_alive;
    s->has_length[s->n] = r->has_length;
    s->n++;
}

/* Feeds text in pieces of `step` bytes (0 = all at once). */
static int feed(http_parser_t *p, const char *text, size_t step)
{
    size_t len = strlen(text), off = 0, k;

    if (step == 0)
        step = len;
    while (off < len) {
        k = len - off < step ? len - off : step;
        if (http_parser_feed(p, text + off, k) != 0)
            return -1;
        off += k;
    }
    return 0;
}

static const char pipelined[] =
    "POST /v1/coupons/7/issues HTTP/1.1\r\nHost: x\r\n"
    "Content-Length: 13\r\n\r\n{\"user_id\":1}"
    "GET /v1/coupons/7 HTTP/1.1\r\n\r\n"
    "POST /v1/coupons/7/issues HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    "5\r\n{\"use\r\n8\r\nr_id\":2}\r\n0\r\n\r\n"
    "GET /healthz?x=1 HTTP/1.1\r\nConnection: close\r\n\r\n";

static void test_pipelined_any_split(void **state)
{
    size_t step;

    (void)state;
    for (step = 0; step < 40; step++) {
        http_parser_t p;
        seen_t s = { 0 };

        http_parser_init(&p, 4096, 1024, on_req, &s);
        assert_int_equal(feed(&p, pipelined, step), 0);
        assert_int_equal(s.n, 4);
        assert_string_equal(s.target[0], "/v1/coupons/7/issues");
        assert_string_equal(s.body[0], "{\"user_id\":1}");
        assert_int_equal(s.method[0], HTTP_POST);
        assert_true(s.has_length[0]);
        assert_string_equal(s.target[1], "/v1/coupons/7");
        assert_int_equal(s.method[1], HTTP_GET);
        assert_false(s.has_length[1]);
        assert_string_equal(s.body[1], "");
        assert_string_equal(s.body[2], "{\"user_id\":2}");
        assert_true(s.has_length[2]);
        assert_true(s.keep_alive[2]);
        assert_string_equal(s.target[3], "/healthz?x=1");
        assert_false(s.keep_alive[3]);
        assert_false(http_parser_mid_request(&p));
        http_parser_free(&p);
    }
}

static void test_mid_request(void **state)
{
    http_parser_t p;
    seen_t s = { 0 };

    (void)state;
    http_parser_init(&p, 4096, 1024, on_req, &s);
    assert_false(http_parser_mid_request(&p));
    assert_int_equal(feed(&p, "GET /healthz HTT", 0), 0);
    assert_true(http_parser_mid_request(&p));
    assert_int_equal(feed(&p, "P/1.1\r\n\r\n", 0), 0);
    assert_false(http_parser_mid_request(&p));
    assert_int_equal(s.n, 1);
    http_parser_free(&p);
}

/* Each broken input: its status, its error text, and no request after. */
static void expect_broken(const char *text, int status, const char *error)
{
    http_parser_t p;
    seen_t s = { 0 };

    http_parser_init(&p, 256, 64, on_req, &s);
    assert_int_equal(feed(&p, text, 0), -1);
    assert_int_equal(http_parser_status(&p), status);
    assert_non_null(strstr(http_parser_error(&p), error));
    /* stays broken */
    assert_int_equal(http_parser_feed(&p, "GET / HTTP/1.1\r\n\r\n", 18), -1);
    assert_int_equal(s.n, 0);
    http_parser_free(&p);
}

static void test_limits(void **state)
{
    char big[600], url[1200], chunk[200];

    (void)state;
    snprintf(chunk, sizeof(chunk),
             "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
             "41\r\n%065d",
             0);
    expect_broken(chunk, 413, "body too large"); /* decoded bytes count */
    expect_broken("POST / HTTP/1.1\r\nContent-Length: 65\r\n\r\n", 413,
                  "body too large");
    snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nX: %0300d\r\n\r\n", 0);
    expect_broken(big, 431, "header fields too large");
    snprintf(url, sizeof(url), "GET /%01100d HTTP/1.1\r\n\r\n", 0);
    expect_broken(url, 414, "target too long");
}

static void test_malformed(void **state)
{
    (void)state;
    expect_broken("GARBAGE\r\n\r\n", 400, "malformed HTTP");
    expect_broken("\x01\x02 / HTTP/1.1\r\n\r\n", 400, "invalid method");
    expect_broken("GET / HTTP/7.3\r\n\r\n", 505, "HTTP/1.0 and HTTP/1.1");
    expect_broken("POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n", 400,
                  "Content-Length");
    expect_broken("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "zz\r\n",
                  400, "chunk size");
    expect_broken("GET / HTTP/1.1\r\nConnection: upgrade\r\nUpgrade: ws\r\n"
                  "\r\n",
                  400, "upgrades");
}

/* One run of text cut in two at `cut` (0: one read), then byte by byte
 * when bytewise; checks the verdict, that n requests came before it and
 * that the stream stays broken. */
static void verdict_run(const char *text, size_t cut, int bytewise, int n,
                        int status, const char *error)
{
    http_parser_t p;
    seen_t s = { 0 };
    size_t len = strlen(text);
    int rc;

    http_parser_init(&p, 256, 64, on_req, &s);
    if (bytewise)
        rc = feed(&p, text, 1);
    else if (cut > 0 && http_parser_feed(&p, text, cut) != 0)
        rc = -1;
    else
        rc = http_parser_feed(&p, text + cut, len - cut);
    if (rc != -1 || http_parser_status(&p) != status ||
        strstr(http_parser_error(&p), error) == NULL || s.n != n)
        fail_msg("%s cut at %zu%s: rc %d, status %d (%s), %d requests; "
                 "want %d (%s), %d",
                 text, cut, bytewise ? " bytewise" : "", rc,
                 http_parser_status(&p), http_parser_error(&p), s.n, status,
                 error, n);
    assert_int_equal(http_parser_feed(&p, "GET / HTTP/1.1\r\n\r\n", 18), -1);
    assert_int_equal(s.n, n);
    http_parser_free(&p);
}

/* The same verdict for one read, every split in two and byte by byte. */
static void expect_verdict(const char *text, int n, int status,
                           const char *error)
{
    size_t cut;

    for (cut = 0; cut < strlen(text); cut++)
        verdict_run(text, cut, 0, n, status, error);
    verdict_run(text, 0, 1, n, status, error);
}

#define ONE_OK  "GET /healthz HTTP/1.1\r\n\r\n"
#define UNKNOWN "method not implemented"

/* A method llhttp does not know: 501 when it is a valid token followed by
 * a space, 400 otherwise, however the bytes are cut (zz_fuzz's fuzz_http
 * once found GETX + CRLF answered 501 in two reads and 400 in one). */
static void test_unknown_method_any_split(void **state)
{
    (void)state;
    expect_verdict("QUERY /v1/coupons/7 HTTP/1.1\r\n\r\n", 0, 501, UNKNOWN);
    expect_verdict("GETX / HTTP/1.1\r\n\r\n", 0, 501, UNKNOWN);
    expect_verdict("FROB / HTTP/1.1\r\n\r\n", 0, 501, UNKNOWN);
    expect_verdict("get / HTTP/1.1\r\n\r\n", 0, 501, UNKNOWN);
    expect_verdict("M-SEARCHX * HTTP/1.1\r\n\r\n", 0, 501, UNKNOWN);
    expect_verdict("\r\n\r\nQUERY / HTTP/1.1\r\n\r\n", 0, 501, UNKNOWN);
    expect_verdict("GETX\r\n\r\n", 0, 400, "invalid method");
    expect_verdict("GE\r\n\r\n", 0, 400, "invalid method");
    expect_verdict("GETX\t/ HTTP/1.1\r\n\r\n", 0, 400, "invalid method");
    expect_verdict("G@T / HTTP/1.1\r\n\r\n", 0, 400, "invalid method");
    expect_verdict(" GET / HTTP/1.1\r\n\r\n", 0, 400, "invalid method");
    expect_verdict("QUERY\x01/ HTTP/1.1\r\n\r\n", 0, 400, "invalid method");
    /* 32 token bytes are a method; 33 are not. */
    expect_verdict("ABCDEFGHIJKLMNOPQRSTUVWXYZ012345 / HTTP/1.1\r\n\r\n", 0,
                   501, UNKNOWN);
    expect_verdict("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456 / HTTP/1.1\r\n\r\n", 0,
                   400, "invalid method");
    /* Pipelined: the scan starts where the previous request ended, so a
     * body ending in token bytes does not lengthen the method. */
    expect_verdict(ONE_OK "QUERY / HTTP/1.1\r\n\r\n", 1, 501, UNKNOWN);
    expect_verdict(ONE_OK ONE_OK "GETX\r\n", 2, 400, "invalid method");
    expect_verdict("POST / HTTP/1.1\r\nContent-Length: 30\r\n\r\n"
                   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                   "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345 / HTTP/1.1\r\n\r\n",
                   1, 501, UNKNOWN);
}

/* Until the token ends there is no verdict: the request is incomplete. */
static void test_unknown_method_waits(void **state)
{
    http_parser_t p;
    seen_t s = { 0 };

    (void)state;
    http_parser_init(&p, 4096, 1024, on_req, &s);
    assert_int_equal(feed(&p, "GETX", 0), 0);
    assert_int_equal(http_parser_status(&p), 0);
    assert_true(http_parser_mid_request(&p));
    assert_int_equal(feed(&p, "YZ", 0), 0);
    assert_int_equal(feed(&p, "\r\n", 0), -1);
    assert_int_equal(http_parser_status(&p), 400);
    http_parser_free(&p);

    http_parser_init(&p, 4096, 1024, on_req, &s);
    assert_int_equal(feed(&p, "QUERY", 0), 0);
    assert_int_equal(feed(&p, " /", 0), -1);
    assert_int_equal(http_parser_status(&p), 501);
    assert_string_equal(http_parser_error(&p), UNKNOWN);
    http_parser_free(&p);
    assert_int_equal(s.n, 0);
}

UNIT_TESTS(cmocka_unit_test(test_pipelined_any_split),
           cmocka_unit_test(test_mid_request), cmocka_unit_test(test_limits),
           cmocka_unit_test(test_malformed),
           cmocka_unit_test(test_unknown_method_any_split),
           cmocka_unit_test(test_unknown_method_waits))
