/* metrics_http.h -- the worker's /metrics endpoint: a tiny blocking HTTP/1.0
 * server on its own thread (the worker's main thread is busy in poll and
 * MySQL). GET /metrics renders the registry; GET /healthz answers "ok".
 * One request per connection; nothing else is served. */
#ifndef COUPONQ_METRICS_HTTP_H
#define COUPONQ_METRICS_HTTP_H

#include <stddef.h>

#include "metrics.h"

typedef struct metrics_http metrics_http_t;

/* Listens on host:port ("127.0.0.1:9464"; port 0 = any free port, logged)
 * and starts the thread. NULL with errstr when the address is bad or taken. */
metrics_http_t *metrics_http_start(metrics_t *m, const char *addr, char *errstr,
                                   size_t n);
void metrics_http_stop(metrics_http_t *h); /* joins; NULL is a no-op */

#endif
