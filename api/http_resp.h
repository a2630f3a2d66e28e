/* http_resp.h -- builds HTTP/1.1 responses into caller buffers. Pure,
 * unit-tested; http.c queues the bytes in pipeline order.
 *
 * Every response has Content-Length (so keep-alive works) and, when the
 * connection is to be closed after it, "Connection: close". */
#ifndef COUPONQ_API_HTTP_RESP_H
#define COUPONQ_API_HTTP_RESP_H

#include <stddef.h>

/* "OK", "Accepted", ... ; "Unknown" for codes we never send. */
const char *http_resp_reason(int status);

/* Length of the head (status line + headers + blank line) that
 * http_resp_head() writes, so callers can size buffers. */
size_t http_resp_head_len(int status, const char *content_type,
                          const char *extra_headers, size_t body_len,
                          int close);

/* Writes the head; extra_headers is "" or complete lines ("Allow: GET\r\n").
 * content_type NULL means application/json. Returns the length written, or
 * -1 when n is too small. */
int http_resp_head(char *buf, size_t n, int status, const char *content_type,
                   const char *extra_headers, size_t body_len, int close);

/* {"error":"<msg escaped>"}; returns its length or -1 when n is too small. */
int http_resp_error_json(char *buf, size_t n, const char *msg);

#endif
