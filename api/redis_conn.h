/* redis_conn.h -- one hiredis async connection driven by the libuv loop,
 * with our own glue (uv_poll on the socket) and automatic reconnection.
 *
 * Why not hiredis' libuv adapter: in 0.14.1 it ignores a poll error status,
 * so a dead socket is never noticed. Here a poll error tears the context
 * down: every pending command's callback runs with a NULL reply (callers
 * treat NULL as "Redis unavailable"), and a timer reconnects with backoff
 * (50 ms doubling to 2 s). While disconnected, redis_conn_command() fails
 * at once, so requests are refused quickly instead of queueing. A reply
 * that says the server no longer takes writes (READONLY, MASTERDOWN,
 * NOREPLICAS) resets the connection after its callback ran. */
#ifndef COUPONQ_API_REDIS_CONN_H
#define COUPONQ_API_REDIS_CONN_H

#include <stddef.h>

#include <hiredis/async.h>
#include <uv.h>

typedef struct redis_conn redis_conn_t;

/* Runs after each successful (re)connection, before other commands may be
 * sent by it (e.g. to load scripts), and with up = 0 when it is lost. */
typedef void (*redis_conn_state_fn)(void *ud, redis_conn_t *r, int up);

/* redis://[:password@]host[:port][/db] (the host resolved again on every
 * reconnect) or redis-sentinel://[:password@]h1:p1,.../name[?db=N] (the
 * sentinels asked again on every reconnect; the connection is reset when
 * they report a switch, when they name another address, or when a reply
 * says READONLY). Starts connecting; NULL with errstr only when the URL is
 * bad. */
redis_conn_t *redis_conn_new(uv_loop_t *loop, const char *url,
                             redis_conn_state_fn fn, void *ud, char *errstr,
                             size_t n);

/* Tears the connection down (pending callbacks get NULL) and frees once the
 * loop has closed the handles. NULL is a no-op. */
void redis_conn_free(redis_conn_t *r);

/* 1 when connected (AUTH/SELECT sent; scripts are the caller's business). */
int redis_conn_up(const redis_conn_t *r);

/* Sends a command. 0: fn will run exactly once, with the reply or NULL.
 * -1: not connected, fn will not run. */
int redis_conn_command(redis_conn_t *r, redisCallbackFn *fn, void *privdata,
                       int argc, const char **argv, const size_t *argvlen);

/* WAIT n timeout_ms, to send right after a write (same connection, so the
 * same write to the socket): Redis answers once that write reached n
 * replicas, or at the timeout with how many it did. 0/-1 as
 * redis_conn_command. redis_conn_waited(reply, n): 1 when the reply says
 * n or more acknowledged, 0 otherwise (NULL, an error). */
int redis_conn_wait(redis_conn_t *r, int n, int timeout_ms, redisCallbackFn *fn,
                    void *privdata);
struct redisReply;
int redis_conn_waited(const struct redisReply *reply, int n);

/* The flush hook: after redis_conn_want_flush(), fn(ud) runs once at the
 * end of this loop iteration (libuv's check phase), right before the
 * commands buffered in the iteration are written, so commands it sends
 * leave in the same write. It runs whether or not the connection is up. */
typedef void (*redis_conn_flush_fn)(void *ud);
void redis_conn_set_flush(redis_conn_t *r, redis_conn_flush_fn fn, void *ud);
void redis_conn_want_flush(redis_conn_t *r);

/* Drops the connection now (e.g. replies are overdue) and reconnects. */
void redis_conn_reset(redis_conn_t *r, const char *why);

#endif
