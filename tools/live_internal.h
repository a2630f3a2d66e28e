/* live_internal.h -- what live.c shares with live_use.c (the redemption
 * keys): running commands on the one connection with live.c's error and
 * reconnect rules. Other modules see the opaque live_t of live.h. */
#ifndef COUPONQ_LIVE_INTERNAL_H
#define COUPONQ_LIVE_INTERNAL_H

#include <stddef.h>

#include <hiredis/hiredis.h>

#include "live.h"

/* Records the reason (live_error) and returns -1. */
int live_fail(live_t *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Run a command; NULL (with live_error) on a connection error or an error
 * reply, after which a connection error or a READONLY-style reply drops
 * the connection (the next call reconnects). The caller frees the reply. */
redisReply *live_cmd(live_t *l, int argc, const char **argv,
                     const size_t *lens);
redisReply *live_cmdf(live_t *l, const char *fmt, ...);

#endif
