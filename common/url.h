/* url.h -- parses the redis:// and mysql:// URLs of the configuration.
 *
 * redis://[:password@]host[:port][/db]       (port 6379, db 0)
 * mysql://user[:password]@host[:port]/dbname (port 3306)
 * User and password may be percent-encoded. IPv6 hosts go in brackets. */
#ifndef COUPONQ_URL_H
#define COUPONQ_URL_H

#include <stddef.h>

typedef struct url {
    char scheme[16];
    char user[64];
    char password[128];
    char host[256];
    int port;
    char path[128]; /* database name (mysql) or "" */
    int db;         /* redis database index */
} url_t;

/* 0 on success; -1 with errstr naming the part that is wrong. */
int url_parse(const char *s, url_t *u, char *errstr, size_t n);

#endif
