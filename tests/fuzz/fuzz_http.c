/* fuzz_http.c -- libFuzzer target for the api's request handling without
 * sockets: the bytes of one connection go through http_parser_feed() (llhttp
 * + couponq's limits), every complete request through route_match(), and
 * the body of every POST .../issues through body_parse_issue() -- what
 * api/http.c does with the bytes it reads.
 *
 * Input: byte 0 seeds how the stream is cut into reads, the rest is the
 * stream. Checked beyond "does not crash":
 *  - the same bytes fed in one read and cut into many reads give the same
 *    requests (method, target, body, flags) and the same final status:
 *    TCP may split a request anywhere. One tolerated difference, found by
 *    this target: a request that is both malformed and over a limit may be
 *    refused as 400 or as 413/414/431 depending on the cut, because llhttp
 *    reports a partial header/URL/body span at the end of each read (so the
 *    limit may trip first) but not before an error inside one read. Both
 *    answers refuse the request and close the connection;
 *  - requests respect the limits (target <= HTTP_PARSER_MAX_URL, body <=
 *    max body); a broken stream has a 4xx/5xx status and a reason, and
 *    stays broken (no request is delivered after the error);
 *  - a route either matched with positive ids or has 400/404/405 and an
 *    error text (405 with an Allow header). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "body.h"
#include "http_parser.h"
#include "route.h"

#define MAX_HEADERS 2048
#define MAX_BODY    1024

typedef struct trace {
    uint64_t hash; /* FNV-1a over every delivered request */
    unsigned n;
} trace_t;

static void mix(trace_t *t, const void *p, size_t len)
{
    const unsigned char *b = p;
    size_t i;

    for (i = 0; i < len; i++)
        t->hash = (t->hash ^ b[i]) * 1099511628211ULL;
}

static void check_route(const http_request_t *req)
{
    route_t r;
    int64_t uid;
    char err[256];

    memset(&r, 0, sizeof(r));
    if (route_match(req->method, req->target, req->target_len, &r) == 0) {
        if (r.id <= ROUTE_NONE || r.id >= ROUTE_COUNT)
            abort();
        if ((r.id == ROUTE_ISSUE || r.id == ROUTE_COUPON ||
             r.id == ROUTE_STATUS) &&
            r.coupon_id <= 0)
            abort();
        if (r.id == ROUTE_STATUS && r.user_id <= 0)
            abort();
        if (r.id == ROUTE_ISSUE) {
            err[0] = '\0';
            if (body_parse_issue(req->body, req->body_len, &uid, err,
                                 sizeof(err)) == 0) {
                if (uid <= 0)
                    abort();
            } else if (err[0] == '\0') {
                abort();
            }
        }
        return;
    }
    if ((r.status != 400 && r.status != 404 && r.status != 405) ||
        r.error == NULL || r.error[0] == '\0' ||
        (r.status == 405 && r.allow == NULL))
        abort();
}

static void on_request(void *ud, const http_request_t *req)
{
    trace_t *t = ud;

    if (req->target_len > HTTP_PARSER_MAX_URL || req->body_len > MAX_BODY ||
        (req->body_len > 0 && req->body == NULL))
        abort();
    t->n++;
    mix(t, &req->method, sizeof(req->method));
    mix(t, &req->target_len, sizeof(req->target_len));
    mix(t, req->target, req->target_len);
    mix(t, &req->body_len, sizeof(req->body_len));
    mix(t, req->body, req->body_len);
    mix(t, &req->has_length, sizeof(req->has_length));
    mix(t, &req->keep_alive, sizeof(req->keep_alive));
    check_route(req);
}

/* Feeds data in reads cut by seed (0 = one read); returns the final status
 * and fills t. Checks that a broken stream stays broken. */
static int run(const char *data, size_t size, unsigned seed, trace_t *t)
{
    http_parser_t p;
    size_t off = 0, cut;
    unsigned n_at_error;
    int status;

    memset(t, 0, sizeof(*t));
    t->hash = 14695981039346656037ULL;
    http_parser_init(&p, MAX_HEADERS, MAX_BODY, on_request, t);
    while (off < size) {
        cut = seed == 0 ? size - off : 1 + ((size_t)seed * 31 + off * 7) % 17;
        if (cut > size - off)
            cut = size - off;
        if (http_parser_feed(&p, data + off, cut) != 0)
            break;
        off += cut;
    }
    status = http_parser_status(&p);
    if (status != 0) {
        if (status < 400 || status > 599 || http_parser_error(&p)[0] == '\0')
            abort();
        n_at_error = t->n;
        if (http_parser_feed(&p, "GET /healthz HTTP/1.1\r\n\r\n", 25) != -1 ||
            t->n != n_at_error)
            abort(); /* a broken stream must stay broken */
    }
    http_parser_free(&p);
    return status;
}

/* 400 (malformed) or a size limit: see the header comment. */
static int limit_or_malformed(int status)
{
    return status == 400 || status == 413 || status == 414 || status == 431;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    trace_t whole, pieces;
    int s1, s2;

    if (size < 1)
        return 0;
    s1 = run((const char *)data + 1, size - 1, 0, &whole);
    s2 = run((const char *)data + 1, size - 1, 1u + data[0], &pieces);
    if (whole.n != pieces.n || whole.hash != pieces.hash)
        abort(); /* the requests depend on how TCP cut the stream */
    if (s1 != s2 && !(limit_or_malformed(s1) && limit_or_malformed(s2)))
        abort(); /* so does the verdict, beyond 400 vs a limit */
    return 0;
}
