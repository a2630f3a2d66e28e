/* persist.c -- pipelined SADD of persisted users. See persist.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "keys.h"
#include "persist.h"
#include "redis_sync.h"

#define PERSIST_RETRY_MS 1000

struct persist {
    url_t url;
    int timeout_ms;
    redisContext *c;
    int64_t next_try_ms; /* no connection attempt before this */
    size_t *ord;         /* scratch: indices by coupon */
    size_t cap;
};

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

persist_t *persist_new(const char *redis_url, int timeout_ms, char *errstr,
                       size_t n)
{
    persist_t *p = calloc(1, sizeof(*p));

    if (p == NULL) {
        snprintf(errstr, n, "persist: out of memory");
        return NULL;
    }
    if (redis_sync_url(redis_url, &p->url, errstr, n) != 0) {
        free(p);
        return NULL;
    }
    p->timeout_ms = timeout_ms;
    return p;
}

void persist_free(persist_t *p)
{
    if (p == NULL)
        return;
    if (p->c != NULL)
        redisFree(p->c);
    free(p->ord);
    free(p);
}

static void persist_disconnect(persist_t *p)
{
    if (p->c != NULL)
        redisFree(p->c);
    p->c = NULL;
    p->next_try_ms = now_ms() + PERSIST_RETRY_MS;
}

/* A new connection each time (after persist_disconnect): redis_sync
 * resolves the host or asks the sentinels again, so a moved primary is
 * followed. 1: not before next_try_ms. */
static int persist_connect(persist_t *p, char *errstr, size_t errn)
{
    if (p->c != NULL)
        return 0;
    if (now_ms() < p->next_try_ms)
        return 1;
    p->c = redis_sync_connect_url(&p->url, p->timeout_ms, NULL, errstr, errn);
    if (p->c == NULL) {
        persist_disconnect(p);
        return -1;
    }
    return 0;
}

static int cmp_coupon(const void *a, const void *b, void *ctx)
{
    const event_t *evs = ctx;
    int64_t x = evs[*(const size_t *)a].coupon_id;
    int64_t y = evs[*(const size_t *)b].coupon_id;

    return (x > y) - (x < y);
}

/* Appends one SADD per coupon (ord: indices sorted by coupon); returns how
 * many commands were appended, or -1. */
static int append_sadds(persist_t *p, const event_t *evs, size_t n,
                        const char **argv, char (*num)[24])
{
    char key[KEYS_MAX];
    size_t a = 0, b, k;
    int ncmd = 0;

    while (a < n) {
        int64_t cid = evs[p->ord[a]].coupon_id;

        keys_persisted(key, sizeof(key), cid);
        argv[0] = "SADD";
        argv[1] = key;
        for (b = a; b < n && evs[p->ord[b]].coupon_id == cid; b++) {
            k = b - a;
            snprintf(num[k], sizeof(num[k]), "%lld",
                     (long long)evs[p->ord[b]].user_id);
            argv[k + 2] = num[k];
        }
        if (redisAppendCommandArgv(p->c, (int)(b - a + 2), argv, NULL) != 0)
            return -1;
        ncmd++;
        a = b;
    }
    return ncmd;
}

int persist_record(persist_t *p, const event_t *evs, const size_t *idx,
                   size_t n, char *errstr, size_t errn)
{
    const char **argv = NULL;
    char(*num)[24] = NULL;
    redisReply *r;
    int rc = -1, ncmd, i, bad = 0, readonly = 0;

    if (n == 0)
        return 0;
    rc = persist_connect(p, errstr, errn);
    if (rc != 0)
        return rc;
    rc = -1;
    if (n > p->cap) {
        size_t *o = realloc(p->ord, n * sizeof(*o));

        if (o == NULL)
            goto oom;
        p->ord = o;
        p->cap = n;
    }
    memcpy(p->ord, idx, n * sizeof(*idx));
    qsort_r(p->ord, n, sizeof(*p->ord), cmp_coupon, (void *)evs);
    argv = malloc((n + 2) * sizeof(*argv));
    num = malloc(n * sizeof(*num));
    if (argv == NULL || num == NULL)
        goto oom;
    ncmd = append_sadds(p, evs, n, argv, num);
    for (i = 0; i < ncmd; i++) {
        if (redisGetReply(p->c, (void **)&r) != REDIS_OK) {
            snprintf(errstr, errn, "redis: SADD: %s", p->c->errstr);
            persist_disconnect(p);
            goto out;
        }
        if (r->type == REDIS_REPLY_ERROR && bad++ == 0)
            snprintf(errstr, errn, "redis: SADD: %s", r->str);
        readonly |= redis_sync_is_readonly_error(r);
        freeReplyObject(r);
    }
    if (readonly) /* demoted: find the primary on the next batch */
        persist_disconnect(p);
    if (ncmd < 0) {
        snprintf(errstr, errn, "redis: out of memory");
        persist_disconnect(p);
    }
    rc = (ncmd < 0 || bad > 0) ? -1 : 0;
    goto out;
oom:
    snprintf(errstr, errn, "persist: out of memory");
out:
    free(num);
    free(argv);
    return rc;
}
