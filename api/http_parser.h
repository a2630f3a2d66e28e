/* http_parser.h -- one connection's request stream: llhttp plus the limits
 * couponq enforces. Pure (no sockets), unit-tested with byte strings.
 *
 * http_parser_feed() may deliver several pipelined requests from one read,
 * in order; chunked bodies are decoded by llhttp and count against the body
 * limit like any other. When the stream is broken (malformed HTTP, a limit
 * exceeded, an upgrade) the parser stops for good: the caller answers with
 * http_parser_error()'s status and text and closes the connection, since
 * the request boundary is lost.
 *
 * A method llhttp does not know (QUERY, FROB) is not malformed when it is a
 * valid token (RFC 9110 tchar, at most HTTP_PARSER_MAX_METHOD bytes)
 * followed by a space: it gets 501. Anything else in its place gets 400.
 * The verdict waits until the token has ended, so it is the same however
 * the bytes were cut into reads; until then feed returns 0 and the request
 * is incomplete (the caller's request timeout applies). */
#ifndef COUPONQ_API_HTTP_PARSER_H
#define COUPONQ_API_HTTP_PARSER_H

#include <stddef.h>
#include <stdint.h>

#include <llhttp.h>

#define HTTP_PARSER_MAX_URL 1024 /* longer targets get 414 */
/* Authorization values kept; a longer one is flagged (auth_too_long). */
#define HTTP_PARSER_MAX_AUTH   4200
#define HTTP_PARSER_MAX_UHDR   64 /* the trusted user header's value */
#define HTTP_PARSER_MAX_FIELD  64
#define HTTP_PARSER_MAX_METHOD 32 /* a longer unknown method is 400 */

typedef struct http_request {
    int method;         /* llhttp_method_t */
    const char *target; /* not NUL-terminated */
    size_t target_len;
    const char *body;
    size_t body_len;
    int has_length; /* Content-Length or chunked was given */
    int keep_alive; /* the client wants the connection kept */
    /* Authorization (and the gateway's user header, when one is named):
     * the value of the first occurrence, trailing blanks removed, and how
     * many times the header came (a client sending two is refused). */
    const char *auth;
    size_t auth_len;
    int auth_count;
    int auth_too_long;
    const char *user_hdr;
    size_t user_hdr_len;
    int user_hdr_count;
    int user_hdr_too_long;
    /* Set by http.c: the peer (NULL on a unix socket). */
    const void *peer; /* struct sockaddr_storage */
    int peer_unix;
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
    const char *user_header; /* header name captured as user_hdr, or NULL */
    char field[HTTP_PARSER_MAX_FIELD];
    size_t field_len; /* > sizeof(field): a name we do not keep */
    int capture;      /* 0 none, 1 Authorization, 2 the user header */
    char *auth;       /* HTTP_PARSER_MAX_AUTH bytes, allocated on first use */
    size_t auth_len;
    int auth_count, auth_too_long;
    char uhdr[HTTP_PARSER_MAX_UHDR];
    size_t uhdr_len;
    int uhdr_count, uhdr_too_long;
    int mid;    /* a request has begun and is not complete */
    int status; /* 0 while healthy; else the status to answer with */
    /* The current request's method token, scanned by us beside llhttp so
     * that a method llhttp does not know is judged on the whole token
     * (501 when it is a valid token, else 400) however TCP cut it. */
    int method_state; /* HTTP_PARSER_M_* in http_parser.c */
    size_t method_len;
    int method_refused; /* llhttp refused it; the verdict awaits its end */
    char error[160];
} http_parser_t;

void http_parser_init(http_parser_t *p, size_t max_headers, size_t max_body,
                      http_parser_cb cb, void *ud);
void http_parser_free(http_parser_t *p); /* frees the body buffer */
/* Also capture this header (case-insensitive name; NULL: none) into the
 * request's user_hdr. The string must outlive the parser. */
void http_parser_capture(http_parser_t *p, const char *user_header);

/* 0 when all bytes were consumed; -1 when the stream is broken. */
int http_parser_feed(http_parser_t *p, const char *data, size_t len);

/* Status (400, 413, 414, 431, 505...) and error text after feed failed. */
int http_parser_status(const http_parser_t *p);
const char *http_parser_error(const http_parser_t *p);

/* 1 while bytes of an incomplete request have been received. */
int http_parser_mid_request(const http_parser_t *p);

#endif
