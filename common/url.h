/* url.h -- parses the redis://, redis-sentinel:// and mysql:// URLs of the
 * configuration.
 *
 * redis://[:password@]host[:port][/db]       (port 6379, db 0)
 * redis-sentinel://[:password@]h1[:p1][,h2[:p2]...]/master-name[?db=N]
 *                                            (port 26379, up to 8 sentinels;
 *                                            the password is the data one,
 *                                            sentinels take no AUTH)
 * mysql://user[:password]@host[:port]/dbname (port 3306)
 * User and password may be percent-encoded. IPv6 hosts go in brackets. */
#ifndef COUPONQ_URL_H
#define COUPONQ_URL_H

#include <stddef.h>

#define URL_MAX_SENTINELS 8

typedef struct url_addr {
    char host[256];
    int port;
} url_addr_t;

typedef struct url {
    char scheme[16];
    char user[64];
    char password[128];
    char host[256];
    int port;
    char path[128]; /* database name (mysql) or "" */
    int db;         /* redis database index */
    /* redis-sentinel only; host/port above are then the first sentinel. */
    int nsentinels;
    url_addr_t sentinel[URL_MAX_SENTINELS];
    char master[128]; /* the master name the sentinels monitor */
} url_t;

/* 0 on success; -1 with errstr naming the part that is wrong. */
int url_parse(const char *s, url_t *u, char *errstr, size_t n);

#endif
