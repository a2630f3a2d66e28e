/* admit_reply.c -- admit.lua's reply and the call's fate. See
 * admit_reply.h. */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "admit_reply.h"

/* A result name; ADMIT_ERROR for anything else (unavailable and error are
 * ours, never the script's). */
static admit_result_t result_of(const redisReply *r)
{
    int i;

    if (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS)
        return ADMIT_ERROR;
    for (i = 0; i < ADMIT_UNAVAILABLE; i++)
        if (strcmp(r->str, admission_result_name((admit_result_t)i)) == 0)
            return (admit_result_t)i;
    return ADMIT_ERROR;
}

/* The reply is checked whole before any call is answered: a malformed one
 * answers every call "error" rather than some of them. */
static int reply_ok(const redisReply *rep, int n)
{
    size_t i;

    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != (size_t)n * 2)
        return 0;
    for (i = 0; i < rep->elements; i += 2)
        if (result_of(rep->element[i]) == ADMIT_ERROR ||
            rep->element[i + 1]->type != REDIS_REPLY_INTEGER)
            return 0;
    return 1;
}

admit_reply_t admit_reply_read(const redisReply *rep, int n,
                               admit_result_t *res, int64_t *seq,
                               admit_result_t *fail, char *err, size_t errn)
{
    int i;

    if (rep == NULL)
        return ADMIT_REPLY_LOST;
    if (rep->type == REDIS_REPLY_ERROR) {
        /* The script's own refusals start "ERR couponq"; anything else
         * (LOADING, BUSY, READONLY, OOM...) is Redis being unavailable. */
        *fail = strncmp(rep->str, "ERR couponq", 11) == 0 ? ADMIT_ERROR
                                                          : ADMIT_UNAVAILABLE;
        snprintf(err, errn, "%s", rep->str);
        return ADMIT_REPLY_FAILED;
    }
    if (!reply_ok(rep, n)) {
        *fail = ADMIT_ERROR;
        snprintf(err, errn, "unexpected reply from admit.lua");
        return ADMIT_REPLY_FAILED;
    }
    for (i = 0; i < n; i++) {
        res[i] = result_of(rep->element[(size_t)i * 2]);
        seq[i] = rep->element[(size_t)i * 2 + 1]->integer;
    }
    return ADMIT_REPLY_ANSWERED;
}

int admit_reply_accepted(const admit_result_t *res, int n)
{
    int i;

    for (i = 0; i < n; i++)
        if (res[i] == ADMIT_ACCEPTED)
            return 1;
    return 0;
}

admit_action_t admit_reply_action(admit_reply_t r, int replicated,
                                  const admit_result_t *res, int n)
{
    assert(r != ADMIT_REPLY_PENDING);
    if (r == ADMIT_REPLY_LOST)
        return ADMIT_SETTLE_LOST;
    if (r == ADMIT_REPLY_FAILED)
        return ADMIT_DELIVER_FAILURE;
    if (replicated == 0 && admit_reply_accepted(res, n))
        return ADMIT_SETTLE_UNREPLICATED;
    return ADMIT_DELIVER;
}
