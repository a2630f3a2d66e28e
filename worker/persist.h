/* persist.h -- after a batch committed, tell Redis which users now have a
 * row (couponq:{c<ID>}:persisted), so the api can answer "issued". One SADD
 * per coupon per batch, pipelined on one connection.
 *
 * The set is a cache (MySQL is the truth): a failure is reported to the
 * caller, which logs and counts it and moves on. A dead Redis is retried at
 * most once a second, so it never slows the drain. Not thread-safe. */
#ifndef COUPONQ_PERSIST_H
#define COUPONQ_PERSIST_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

typedef struct persist persist_t;

/* Checks the URL; connects lazily. NULL with errstr on a bad URL. */
persist_t *persist_new(const char *redis_url, int timeout_ms, char *errstr,
                       size_t n);
void persist_free(persist_t *p); /* NULL is a no-op */

/* SADDs the users of evs[idx[0..n)] to their coupons' persisted sets.
 * 0 on success, 1 when skipped (Redis down, retry later), -1 with errstr. */
int persist_record(persist_t *p, const event_t *evs, const size_t *idx,
                   size_t n, char *errstr, size_t errn);

#endif
