/* http_parser.h -- one connection's request stream: llhttp plus the limits
 * couponq enforces. Pure (no sockets), unit-tested with byte strings.
 *
 * http_parser_feed() may deliver several pipelined requests from one read,
 * in order; chunked bodies are decoded by llhttp and count against the body
 * limit like any other. When the stream is broken (malformed HTTP, a limit
 * exceeded, an upgrade) the parser stops for good: the caller answers with
 * http_parser_error()'s status and text and closes the connection, since
 * the request boundary is lost. */
#ifndef COUPONQ_API_HTTP_PARSER_H
#define COUPONQ_API_HTTP_PARSER_H

#include <stddef.h>
#include <stdint.h>

#include <llhttp.h>

#define HTTP_PARSER_MAX_URL 1024 /* longer targets get 414 */

typedef struct http_request {
    int method;         /* llhttp_method_t */
    const char *target; /* not NUL-terminated */
    size_t target_len;
    const char *body;
    size_t body_len;
    int has_length; /* Content-Length or chunked was given */
    int keep_alive; /* the client wants the connection kept */
} http_request_t;

typedef void (*http_parser_cb)(void *ud, const http_request_t *req);

typedef struct http_parser {
    llhttp_t ll;
    http_parser_cb cb;
    void *ud;
    size_t max_headers; /* bytes of request line + headers; 431 beyond */
    size_t max_body;    /* 413 beyond */
    size_t head_bytes;
    char url[HTTP_PARSER_MAX_URL];
    size_t url_len;
    char *body; /* max_body bytes, allocated on first use */
    size_t body_len;
    int mid;    /* a request has begun and is not complete */
    int status; /* 0 while healthy; else the status to answer with */
    char error[160];
} http_parser_t;

void http_parser_init(http_parser_t *p, size_t max_headers, size_t max_body,
                      http_parser_cb cb, void *ud);
void http_parser_free(http_parser_t *p); /* frees the body buffer */

/* 0 when all bytes were consumed; -1 when the stream is broken. */
int http_parser_feed(http_parser_t *p, const char *data, size_t len);

/* Status (400, 413, 414, 431, 505...) and error text after feed failed. */
int http_parser_status(const http_parser_t *p);
const char *http_parser_error(const http_parser_t *p);

/* 1 while bytes of an incomplete request have been received. */
int http_parser_mid_request(const http_parser_t *p);

#endif
