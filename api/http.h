/* http.h -- the HTTP/1.1 server of couponq-api, on libuv + llhttp.
 *
 * Keep-alive and pipelining: requests of one connection are handed to the
 * handler in order, each with an http_resp_t; answers may come in any order
 * and at any later time (after Redis and Kafka replied), but are written in
 * request order. Answers ready in the same loop iteration are written with
 * one uv_write per connection. Limits: header bytes (431), body bytes (413),
 * open connections (beyond the cap new ones are closed at once), unanswered
 * requests per connection (reading pauses), time to receive a request once
 * begun (408) and keep-alive idle time. Malformed HTTP is answered with 400
 * and the connection closed.
 *
 * A connection may close while its requests are still being worked on: the
 * handler learns it through http_resp_watch(), whose pointer is set to NULL,
 * and must not touch the http_resp_t after that (nor after sending). */
#ifndef COUPONQ_API_HTTP_H
#define COUPONQ_API_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "http_parser.h"

typedef struct http_limits {
    size_t max_headers;         /* request line + header bytes */
    size_t max_body;            /* body bytes (decoded, for chunked) */
    uint32_t max_conns;         /* open connections */
    uint32_t max_pipeline;      /* unanswered requests before reading pauses */
    uint64_t header_timeout_ms; /* a begun request must be complete by then */
    uint64_t idle_timeout_ms;   /* keep-alive connection with nothing to do */
    const char *user_header;    /* captured into http_request_t (or NULL) */
    /* Called at accept with the peer address: non-zero closes the
     * connection at once (a per-IP cap); peer_gone is called for every
     * connection admit_peer let in, when it closes. NULL: no hook. */
    int (*admit_peer)(void *ud, const struct sockaddr_storage *peer);
    void (*peer_gone)(void *ud, const struct sockaddr_storage *peer);
    void *peer_ud;
} http_limits_t;

typedef struct http_server http_server_t;
typedef struct http_resp http_resp_t;

/* Called once per complete request. The handler answers through resp, now
 * or later; it must answer exactly once unless the connection goes away. */
typedef void (*http_handler_fn)(void *ud, const http_request_t *req,
                                http_resp_t *resp);

/* Listens on a comma-separated list of up to 4 addresses: host:port (IPv4,
 * or [IPv6]:port) with SO_REUSEPORT, so several processes may share the
 * port, or unix:PATH (a stale socket file is replaced, a live one is not;
 * the file is removed when the server stops). A request that came over a
 * unix socket has peer NULL and peer_unix 1, and is not counted per IP
 * (admit_peer is not called). NULL with errstr on failure. */
http_server_t *http_server_new(uv_loop_t *loop, const char *listen,
                               const http_limits_t *lim, http_handler_fn fn,
                               void *ud, char *errstr, size_t n);

/* Stop accepting; close idle connections now and the others once their
 * answered requests are written (requests still arriving are not read).
 * done(ud) runs when no connection is left. */
void http_server_drain(http_server_t *s, void (*done)(void *), void *ud);

uint32_t http_server_conns(const http_server_t *s);
uint64_t http_server_refused(const http_server_t *s); /* over the cap */
/* Closed at accept because admit_peer refused them. */
uint64_t http_server_refused_peer(const http_server_t *s);
/* Idle connections closed at the cap to admit a new one. */
uint64_t http_server_evicted(const http_server_t *s);

/* Closes what is left; the caller then runs the loop until the handles'
 * close callbacks ran (uv_run) and the memory is freed. NULL is a no-op. */
void http_server_free(http_server_t *s);

/* *ref = r now; *ref = NULL when the answer is sent or the connection
 * closes, whichever comes first. */
void http_resp_watch(http_resp_t *r, http_resp_t **ref);

/* Answers; content_type NULL = application/json; extra_headers NULL or
 * complete header lines. r is invalid afterwards. */
void http_resp_send(http_resp_t *r, int status, const char *content_type,
                    const char *extra_headers, const char *body, size_t len);

#endif
