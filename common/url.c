/* url.c -- redis:// and mysql:// URLs of the configuration. See url.h.
 *
 * The userinfo ends at the last '@', so a password with a literal '/' or '@'
 * still parses; percent-encoding is the documented way to write such bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "url.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..len) into out (size cap); -1 on bad or long input. */
static int url_decode(const char *what, const char *s, size_t len, char *out,
                      size_t cap, char *errstr, size_t n)
{
    size_t i, o = 0;

    for (i = 0; i < len; i++) {
        char c = s[i];

        if (c == '%') {
            int hi = i + 2 < len ? hexval(s[i + 1]) : -1;
            int lo = i + 2 < len ? hexval(s[i + 2]) : -1;

            if (i + 2 >= len || hi < 0 || lo < 0) {
                snprintf(errstr, n, "url: %s: bad percent-encoding", what);
                return -1;
            }
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (c == '\0' || o + 1 >= cap) {
            snprintf(errstr, n, "url: %s: %s", what,
                     c == '\0' ? "contains NUL" : "too long");
            return -1;
        }
        out[o++] = c;
    }
    out[o] = '\0';
    return 0;
}

static int url_userinfo(const char *s, size_t len, url_t *u, char *errstr,
                        size_t n)
{
    const char *colon = memchr(s, ':', len);
    size_t ulen = colon != NULL ? (size_t)(colon - s) : len;

    if (url_decode("user", s, ulen, u->user, sizeof(u->user), errstr, n) != 0)
        return -1;
    if (colon == NULL)
        return 0;
    return url_decode("password", colon + 1, len - ulen - 1, u->password,
                      sizeof(u->password), errstr, n);
}

/* Strict decimal in [lo, hi] from s[0..len). */
static int url_number(const char *s, size_t len, long lo, long hi, long *out)
{
    long v = 0;
    size_t i;

    if (len == 0 || len > 10)
        return -1;
    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* host[:port] or [v6][:port] from s[0..len) into a (port kept when absent).
 * what prefixes the error ("" or "sentinel 2: "). */
static int url_hostport(const char *what, const char *s, size_t len,
                        url_addr_t *a, char *errstr, size_t n)
{
    const char *hend, *port = NULL;
    const char *hstart = s;
    long v;

    if (len > 0 && s[0] == '[') {
        hstart = s + 1;
        hend = memchr(s, ']', len);
        if (hend == NULL) {
            snprintf(errstr, n, "url: %shost: missing ']'", what);
            return -1;
        }
        if (hend + 1 < s + len) {
            if (hend[1] != ':') {
                snprintf(errstr, n, "url: %shost: junk after ']'", what);
                return -1;
            }
            port = hend + 2;
        }
    } else {
        hend = memchr(s, ':', len);
        if (hend != NULL)
            port = hend + 1;
        else
            hend = s + len;
    }
    if (hend == hstart || (size_t)(hend - hstart) >= sizeof(a->host)) {
        snprintf(errstr, n, "url: %shost: %s", what,
                 hend == hstart ? "missing" : "too long");
        return -1;
    }
    memcpy(a->host, hstart, (size_t)(hend - hstart));
    a->host[hend - hstart] = '\0';
    if (port != NULL) {
        if (url_number(port, (size_t)(s + len - port), 1, 65535, &v) != 0) {
            snprintf(errstr, n, "url: %sport: must be 1..65535, got \"%.*s\"",
                     what, (int)(s + len - port), port);
            return -1;
        }
        a->port = (int)v;
    }
    return 0;
}

/* h1[:p1],h2[:p2]... from s[0..len), at most URL_MAX_SENTINELS. */
static int url_sentinels(const char *s, size_t len, url_t *u, char *errstr,
                         size_t n)
{
    const char *end = s + len;

    if (len == 0) {
        snprintf(errstr, n, "url: sentinels: missing (want h1:p1,h2:p2/name)");
        return -1;
    }
    while (s <= end) {
        const char *comma = memchr(s, ',', (size_t)(end - s));
        const char *e = comma != NULL ? comma : end;
        char what[32];
        url_addr_t *a;

        if (u->nsentinels == URL_MAX_SENTINELS) {
            snprintf(errstr, n, "url: sentinels: more than %d",
                     URL_MAX_SENTINELS);
            return -1;
        }
        a = &u->sentinel[u->nsentinels++];
        a->port = 26379;
        snprintf(what, sizeof(what), "sentinel %d: ", u->nsentinels);
        if (url_hostport(what, s, (size_t)(e - s), a, errstr, n) != 0)
            return -1;
        s = e + 1;
    }
    memcpy(u->host, u->sentinel[0].host, sizeof(u->host));
    u->port = u->sentinel[0].port;
    return 0;
}

/* master-name[?db=N] after the '/' of a redis-sentinel URL. */
static int url_master(const char *p, url_t *u, char *errstr, size_t n)
{
    const char *q = strchr(p, '?');
    size_t len = q != NULL ? (size_t)(q - p) : strlen(p), i;
    long v;

    if (len == 0) {
        snprintf(errstr, n, "url: master name: missing (want .../name)");
        return -1;
    }
    if (len >= sizeof(u->master)) {
        snprintf(errstr, n, "url: master name: too long");
        return -1;
    }
    for (i = 0; i < len; i++) {
        char c = p[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.')) {
            snprintf(errstr, n, "url: master name: bad character '%c'", c);
            return -1;
        }
    }
    memcpy(u->master, p, len);
    u->master[len] = '\0';
    if (q == NULL)
        return 0;
    if (strncmp(q, "?db=", 4) != 0) {
        snprintf(errstr, n, "url: query: expected ?db=N, got \"%s\"", q);
        return -1;
    }
    if (url_number(q + 4, strlen(q + 4), 0, 1000000, &v) != 0) {
        snprintf(errstr, n, "url: db: must be a database number, got \"%s\"",
                 q + 4);
        return -1;
    }
    u->db = (int)v;
    return 0;
}

static int url_path(const char *p, url_t *u, char *errstr, size_t n)
{
    size_t len = strlen(p), i;
    long v;

    if (strcmp(u->scheme, "redis") == 0) {
        if (len == 0)
            return 0;
        if (url_number(p, len, 0, 1000000, &v) != 0) {
            snprintf(errstr, n,
                     "url: db: must be a database number, got \"%s\"", p);
            return -1;
        }
        u->db = (int)v;
        return 0;
    }
    for (i = 0; i < len; i++) {
        char c = p[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '$' || c == '-')) {
            snprintf(errstr, n, "url: database name: bad character '%c'", c);
            return -1;
        }
    }
    if (len >= sizeof(u->path)) {
        snprintf(errstr, n, "url: database name: too long");
        return -1;
    }
    memcpy(u->path, p, len + 1);
    return 0;
}

int url_parse(const char *s, url_t *u, char *errstr, size_t n)
{
    const char *rest = strstr(s, "://");
    const char *at, *host, *slash;
    url_addr_t a;
    size_t slen;

    memset(u, 0, sizeof(*u));
    slen = rest != NULL ? (size_t)(rest - s) : 0;
    if (rest == NULL || slen == 0 || slen >= sizeof(u->scheme)) {
        snprintf(errstr, n,
                 "url: scheme: expected redis://, "
                 "redis-sentinel:// or mysql://");
        return -1;
    }
    memcpy(u->scheme, s, slen);
    if (strcmp(u->scheme, "redis") != 0 && strcmp(u->scheme, "mysql") != 0 &&
        strcmp(u->scheme, "redis-sentinel") != 0) {
        snprintf(errstr, n,
                 "url: scheme: \"%s\" is not redis, redis-sentinel or mysql",
                 u->scheme);
        return -1;
    }
    u->port = strcmp(u->scheme, "redis") == 0 ? 6379 : 3306;
    rest += 3;
    at = strrchr(rest, '@');
    host = rest;
    if (at != NULL) {
        if (url_userinfo(rest, (size_t)(at - rest), u, errstr, n) != 0)
            return -1;
        host = at + 1;
    }
    slash = strchr(host, '/');
    if (slash == NULL)
        slash = host + strlen(host);
    if (strcmp(u->scheme, "redis-sentinel") == 0) {
        if (url_sentinels(host, (size_t)(slash - host), u, errstr, n) != 0)
            return -1;
        if (*slash != '/') {
            snprintf(errstr, n, "url: master name: missing (want .../name)");
            return -1;
        }
        return url_master(slash + 1, u, errstr, n);
    }
    a.port = u->port;
    if (url_hostport("", host, (size_t)(slash - host), &a, errstr, n) != 0)
        return -1;
    memcpy(u->host, a.host, sizeof(u->host));
    u->port = a.port;
    return url_path(*slash == '/' ? slash + 1 : slash, u, errstr, n);
}
