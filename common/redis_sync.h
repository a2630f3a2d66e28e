/* redis_sync.h -- the one synchronous Redis connect: the worker, the tools,
 * and the api's thread pool (which asks the sentinels there) all use it.
 *
 * redis://[:password@]host[:port][/db]: the host is resolved on every call,
 * so a DNS name or VIP that moves to a new primary is followed by simply
 * reconnecting. redis-sentinel://[:password@]h1:p1,.../name[?db=N]: the
 * sentinels are asked in order (SENTINEL get-master-addr-by-name), and the
 * answer is accepted only if ROLE there says "master". Either way the
 * context is connected with the timeout, AUTH'd and SELECTed, and has the
 * timeout set for commands. The caller owns it (redisFree). Thread-safe:
 * no shared state. */
#ifndef COUPONQ_REDIS_SYNC_H
#define COUPONQ_REDIS_SYNC_H

#include <stddef.h>

#include <hiredis/hiredis.h>

#include "url.h"

/* NULL with errstr (for sentinels: why each one was passed over). */
redisContext *redis_sync_connect(const char *url, int timeout_ms, char *errstr,
                                 size_t n);

/* 1 when an error reply means "this server no longer takes writes, find
 * the primary again": READONLY (demoted), MASTERDOWN (a replica lost its
 * primary), NOREPLICAS (an isolated primary). The caller drops the
 * connection and reconnects. 0 for anything else, NULL included. */
int redis_sync_is_readonly_error(const redisReply *r);

/* url_parse() restricted to redis:// and redis-sentinel://, errors as
 * "--redis: why". */
int redis_sync_url(const char *s, url_t *u, char *errstr, size_t n);

/* redis_sync_connect() on a parsed URL; *peer (may be NULL) gets the
 * numeric address connected to. */
redisContext *redis_sync_connect_url(const url_t *u, int timeout_ms,
                                     url_addr_t *peer, char *errstr, size_t n);

/* The first answer of the URL's sentinels (asked in order, dead ones
 * skipped), resolved to a numeric address; no ROLE check. 0 or -1. */
int redis_sync_sentinel_master(const url_t *u, int timeout_ms,
                               url_addr_t *master, char *errstr, size_t n);

/* Resolves a->host in place to its first numeric address. 0 or -1. */
int redis_sync_numeric(url_addr_t *a, char *errstr, size_t n);

/* Pure parts, testable without a server. */

/* A ROLE reply: 1 master, 0 anything else (role gets its name, e.g.
 * "slave"), -1 not a ROLE reply. */
int redis_sync_parse_role(const redisReply *r, char *role, size_t n);

/* A SENTINEL get-master-addr-by-name reply: [ip, port] -> 0; nil (the
 * sentinel does not know the name), an error or junk -> -1 with errstr. */
int redis_sync_parse_master_addr(const redisReply *r, url_addr_t *a,
                                 char *errstr, size_t n);

/* The k-th sentinel to ask (k = 0..nsentinels-1) when starting at start:
 * each is asked once, wrapping around. */
int redis_sync_sentinel_at(int start, int k, int nsentinels);

#endif
