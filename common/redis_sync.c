/* redis_sync.c -- synchronous connect through redis:// or sentinels. See
 * redis_sync.h.
 *
 * A sentinel that is down, does not know the master name, or names a
 * server that turns out not to be a master (a failover in progress, or a
 * stale sentinel) is passed over, and the reason is added to errstr, so
 * "no primary" comes with one reason per sentinel. */
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "redis_sync.h"

static void why_add(char *errstr, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Appends one reason to errstr, "; "-separated. */
static void why_add(char *errstr, size_t n, const char *fmt, ...)
{
    size_t len = strnlen(errstr, n);
    va_list ap;

    if (n == 0 || len + 3 >= n)
        return;
    if (len > 0) {
        memcpy(errstr + len, "; ", 3);
        len += 2;
    }
    va_start(ap, fmt);
    vsnprintf(errstr + len, n - len, fmt, ap);
    va_end(ap);
}

int redis_sync_is_readonly_error(const redisReply *r)
{
    static const char *const codes[] = { "READONLY", "MASTERDOWN",
                                         "NOREPLICAS" };
    size_t i;

    if (r == NULL || r->type != REDIS_REPLY_ERROR || r->str == NULL)
        return 0;
    for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        size_t len = strlen(codes[i]);

        if (strncmp(r->str, codes[i], len) == 0 &&
            (r->str[len] == ' ' || r->str[len] == '\0'))
            return 1;
    }
    return 0;
}

int redis_sync_parse_role(const redisReply *r, char *role, size_t n)
{
    const redisReply *e;

    if (n > 0)
        role[0] = '\0';
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < 1)
        return -1;
    e = r->element[0];
    if (e->type != REDIS_REPLY_STRING && e->type != REDIS_REPLY_STATUS)
        return -1;
    snprintf(role, n, "%s", e->str);
    return strcmp(e->str, "master") == 0 ? 1 : 0;
}

int redis_sync_parse_master_addr(const redisReply *r, url_addr_t *a,
                                 char *errstr, size_t n)
{
    const redisReply *h, *p;
    char *end;
    long port;

    if (r == NULL || r->type == REDIS_REPLY_NIL) {
        snprintf(errstr, n, "%s",
                 r == NULL ? "no reply" : "does not know the master name");
        return -1;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(errstr, n, "%s", r->str);
        return -1;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING ||
        r->element[1]->type != REDIS_REPLY_STRING)
        goto junk;
    h = r->element[0];
    p = r->element[1];
    port = strtol(p->str, &end, 10);
    if (h->len == 0 || h->len >= sizeof(a->host) || p->len == 0 ||
        *end != '\0' || port < 1 || port > 65535)
        goto junk;
    memcpy(a->host, h->str, h->len + 1);
    a->port = (int)port;
    return 0;
junk:
    snprintf(errstr, n, "unexpected get-master-addr-by-name reply");
    return -1;
}

int redis_sync_sentinel_at(int start, int k, int nsentinels)
{
    if (nsentinels <= 0)
        return 0;
    if (start < 0 || start >= nsentinels)
        start = 0;
    return (start + k) % nsentinels;
}

int redis_sync_url(const char *s, url_t *u, char *errstr, size_t n)
{
    char why[256];

    if (url_parse(s, u, why, sizeof(why)) != 0) {
        snprintf(errstr, n, "--redis: %s", why);
        return -1;
    }
    if (strcmp(u->scheme, "redis") != 0 &&
        strcmp(u->scheme, "redis-sentinel") != 0) {
        snprintf(errstr, n, "--redis: expected redis:// or redis-sentinel://");
        return -1;
    }
    return 0;
}

int redis_sync_numeric(url_addr_t *a, char *errstr, size_t n)
{
    struct addrinfo hints, *ai = NULL;
    char ip[64]; /* INET6_ADDRSTRLEN and then some */
    int rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(a->host, NULL, &hints, &ai);
    if (rc == 0)
        rc = getnameinfo(ai->ai_addr, ai->ai_addrlen, ip, sizeof(ip), NULL, 0,
                         NI_NUMERICHOST);
    if (ai != NULL)
        freeaddrinfo(ai);
    if (rc != 0) {
        snprintf(errstr, n, "resolve %.100s: %s", a->host, gai_strerror(rc));
        return -1;
    }
    snprintf(a->host, sizeof(a->host), "%s", ip);
    return 0;
}

/* The numeric address of the connected peer. */
static void peer_of(redisContext *c, const url_addr_t *fallback,
                    url_addr_t *peer)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char port[8];

    if (getpeername(c->fd, (struct sockaddr *)&ss, &len) == 0 &&
        getnameinfo((struct sockaddr *)&ss, len, peer->host, sizeof(peer->host),
                    port, sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) == 0)
        peer->port = atoi(port);
    else /* not a TCP socket, or getnameinfo wrote half of host */
        *peer = *fallback;
}

static int sync_ok(redisContext *c, const char *what, char *errstr, size_t n,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* One command whose reply must not be an error (AUTH, SELECT). */
static int sync_ok(redisContext *c, const char *what, char *errstr, size_t n,
                   const char *fmt, ...)
{
    redisReply *r;
    va_list ap;
    int rc = 0;

    va_start(ap, fmt);
    r = redisvCommand(c, fmt, ap);
    va_end(ap);
    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        snprintf(errstr, n, "%s: %s", what, r != NULL ? r->str : c->errstr);
        rc = -1;
    }
    if (r != NULL)
        freeReplyObject(r);
    return rc;
}

/* Connects to a, with the timeout for connect and commands; AUTH, SELECT. */
static redisContext *connect_addr(const url_t *u, const url_addr_t *a,
                                  int timeout_ms, char *errstr, size_t n)
{
    struct timeval tv = { timeout_ms / 1000,
                          (suseconds_t)(timeout_ms % 1000) * 1000 };
    redisContext *c = redisConnectWithTimeout(a->host, a->port, tv);

    if (c == NULL || c->err != 0) {
        snprintf(errstr, n, "redis %s:%d: %s", a->host, a->port,
                 c != NULL ? c->errstr : "out of memory");
        goto err;
    }
    redisSetTimeout(c, tv);
    if (u->password[0] != '\0' &&
        sync_ok(c, "AUTH", errstr, n, "AUTH %s", u->password) != 0)
        goto err;
    if (u->db != 0 && sync_ok(c, "SELECT", errstr, n, "SELECT %d", u->db) != 0)
        goto err;
    return c;
err:
    if (c != NULL)
        redisFree(c);
    return NULL;
}

/* Asks one sentinel for the master's address. */
static int ask_sentinel(const url_addr_t *s, const char *master, int timeout_ms,
                        url_addr_t *out, char *why, size_t n)
{
    struct timeval tv = { timeout_ms / 1000,
                          (suseconds_t)(timeout_ms % 1000) * 1000 };
    redisContext *c = redisConnectWithTimeout(s->host, s->port, tv);
    redisReply *r = NULL;
    int rc = -1;

    if (c == NULL || c->err != 0) {
        snprintf(why, n, "%s", c != NULL ? c->errstr : "out of memory");
        goto out;
    }
    redisSetTimeout(c, tv);
    r = redisCommand(c, "SENTINEL get-master-addr-by-name %s", master);
    if (r == NULL) {
        snprintf(why, n, "%s", c->errstr);
        goto out;
    }
    rc = redis_sync_parse_master_addr(r, out, why, n);
out:
    if (r != NULL)
        freeReplyObject(r);
    if (c != NULL)
        redisFree(c);
    return rc;
}

int redis_sync_sentinel_master(const url_t *u, int timeout_ms,
                               url_addr_t *master, char *errstr, size_t n)
{
    char why[160];
    int k;

    if (n > 0)
        errstr[0] = '\0';
    for (k = 0; k < u->nsentinels; k++) {
        const url_addr_t *s =
            &u->sentinel[redis_sync_sentinel_at(0, k, u->nsentinels)];

        if (ask_sentinel(s, u->master, timeout_ms, master, why, sizeof(why)) ==
                0 &&
            redis_sync_numeric(master, why, sizeof(why)) == 0)
            return 0;
        why_add(errstr, n, "sentinel %s:%d: %s", s->host, s->port, why);
    }
    return -1;
}

/* Connects to what the sentinel s names, if ROLE there says master. */
static redisContext *via_sentinel(const url_t *u, const url_addr_t *s,
                                  int timeout_ms, url_addr_t *peer, char *why,
                                  size_t n)
{
    url_addr_t m;
    redisContext *c;
    redisReply *r;
    char role[32];
    int is_master;

    if (ask_sentinel(s, u->master, timeout_ms, &m, why, n) != 0)
        return NULL;
    c = connect_addr(u, &m, timeout_ms, why, n);
    if (c == NULL)
        return NULL;
    r = redisCommand(c, "ROLE");
    is_master = redis_sync_parse_role(r, role, sizeof(role));
    if (is_master != 1 && n > 0) {
        /* why_add, not snprintf: a long host name may cut this text short,
         * which is fine for a reason and keeps gcc's truncation check quiet. */
        why[0] = '\0';
        why_add(why, n, "%s:%d is not a master (ROLE: %s)", m.host, m.port,
                r == NULL                      ? c->errstr
                : r->type == REDIS_REPLY_ERROR ? r->str
                                               : role);
    }
    if (r != NULL)
        freeReplyObject(r);
    if (is_master != 1) {
        redisFree(c);
        return NULL;
    }
    if (peer != NULL)
        peer_of(c, &m, peer);
    return c;
}

redisContext *redis_sync_connect_url(const url_t *u, int timeout_ms,
                                     url_addr_t *peer, char *errstr, size_t n)
{
    url_addr_t a;
    redisContext *c;
    char why[256];
    int k;

    if (strcmp(u->scheme, "redis-sentinel") != 0) {
        snprintf(a.host, sizeof(a.host), "%s", u->host);
        a.port = u->port;
        c = connect_addr(u, &a, timeout_ms, errstr, n);
        if (c != NULL && peer != NULL)
            peer_of(c, &a, peer);
        return c;
    }
    if (n > 0)
        errstr[0] = '\0';
    for (k = 0; k < u->nsentinels; k++) {
        const url_addr_t *s =
            &u->sentinel[redis_sync_sentinel_at(0, k, u->nsentinels)];

        c = via_sentinel(u, s, timeout_ms, peer, why, sizeof(why));
        if (c != NULL)
            return c;
        why_add(errstr, n, "sentinel %s:%d: %s", s->host, s->port, why);
    }
    why_add(errstr, n, "no primary for \"%s\"", u->master);
    return NULL;
}

redisContext *redis_sync_connect(const char *url, int timeout_ms, char *errstr,
                                 size_t n)
{
    url_t u;

    if (redis_sync_url(url, &u, errstr, n) != 0)
        return NULL;
    return redis_sync_connect_url(&u, timeout_ms, NULL, errstr, n);
}
