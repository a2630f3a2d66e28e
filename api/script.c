/* script.c -- SCRIPT LOAD and the NOSCRIPT retry. See script.h. */
#include <string.h>

#include "log.h"
#include "script.h"

void script_init(script_t *sc, const char *text)
{
    memset(sc, 0, sizeof(*sc));
    sc->text = text;
}

static void on_loaded(redisAsyncContext *ac, void *reply, void *pd)
{
    redisReply *rep = reply;
    script_t *sc = pd;

    (void)ac;
    sc->loading = 0;
    if (rep == NULL)
        return; /* connection lost; loaded again on reconnect */
    if (rep->type != REDIS_REPLY_STRING || rep->len != SCRIPT_SHA_LEN) {
        /* e.g. LOADING after a Redis restart: the next request retries */
        LOG(LL_ERROR, "msg=\"SCRIPT LOAD failed\" err=\"%s\"",
            rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
        return;
    }
    memcpy(sc->sha, rep->str, SCRIPT_SHA_LEN);
    sc->sha[SCRIPT_SHA_LEN] = '\0';
}

int script_load(script_t *sc, redis_conn_t *rc)
{
    const char *argv[3] = { "SCRIPT", "LOAD", sc->text };
    size_t len[3] = { 6, 4, strlen(sc->text) };

    if (redis_conn_command(rc, on_loaded, sc, 3, argv, len) != 0)
        return -1;
    sc->loading = 1;
    return 0;
}

int script_ready(const script_t *sc)
{
    return sc->sha[0] != '\0';
}

int script_usable(script_t *sc, redis_conn_t *rc)
{
    if (script_ready(sc))
        return 1;
    if (!sc->loading && redis_conn_up(rc))
        script_load(sc, rc);
    return 0;
}

int script_noscript(const redisReply *rep)
{
    return rep != NULL && rep->type == REDIS_REPLY_ERROR &&
           strncmp(rep->str, "NOSCRIPT", 8) == 0;
}

int script_retry(script_t *sc, redis_conn_t *rc, const redisReply *rep,
                 int *retried)
{
    if (!script_noscript(rep) || *retried)
        return 0;
    *retried = 1;
    LOG(LL_WARN, "msg=\"script missing in redis, loading it again\"");
    return script_load(sc, rc) == 0;
}
