/* script.h -- a Lua script kept loaded on a redis_conn, for EVALSHA.
 *
 * The caller loads it on each (re)connection (script_load from its
 * redis_conn state callback). The sha stays valid across reconnections (it
 * is the hash of the text), so only before the first successful SCRIPT
 * LOAD is a script unusable. A Redis that lost it (restarted, SCRIPT
 * FLUSH) answers NOSCRIPT: script_retry loads it again and the caller
 * sends its call once more, pipelined on the same connection, so Redis
 * runs the load first. Shared by admission (admit, release, settle) and
 * redemption (use). Loop thread only. */
#ifndef COUPONQ_API_SCRIPT_H
#define COUPONQ_API_SCRIPT_H

#include <hiredis/hiredis.h>

#include "redis_conn.h"

#define SCRIPT_SHA_LEN 40

typedef struct script {
    const char *text;             /* not owned (an embedded script) */
    char sha[SCRIPT_SHA_LEN + 1]; /* "" until a load answered */
    int loading;                  /* a SCRIPT LOAD is in flight */
} script_t;

void script_init(script_t *sc, const char *text);

/* Sends SCRIPT LOAD; 0, or -1 when not connected. */
int script_load(script_t *sc, redis_conn_t *rc);

/* The sha is known: EVALSHA sc->sha may be sent. */
int script_ready(const script_t *sc);

/* script_ready, after sending a load when the sha is unknown and none is
 * in flight (the one sent at connection time failed, e.g. LOADING). */
int script_usable(script_t *sc, redis_conn_t *rc);

/* 1 when rep is a NOSCRIPT error. */
int script_noscript(const redisReply *rep);

/* For the answer rep of a call: when it is NOSCRIPT and *retried is 0,
 * sets *retried, loads the script again and returns 1: the caller now
 * sends its call again (and keeps it alive). 0 otherwise. */
int script_retry(script_t *sc, redis_conn_t *rc, const redisReply *rep,
                 int *retried);

#endif
