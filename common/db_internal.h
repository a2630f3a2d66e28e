/* db_internal.h -- struct db, shared by common/db*.c only (they alone include
 * mysql.h). Other modules see the opaque db_t of db.h.
 *
 * Error convention: a failing db_* function records the reason in the handle
 * with db_fail() (MySQL's own errno/text) or db_failf() (our text, errno 0)
 * and returns -1; db_error()/db_errno()/db_is_transient() read it back. */
#ifndef COUPONQ_DB_INTERNAL_H
#define COUPONQ_DB_INTERNAL_H

#include <mysql.h>

#include "db.h"
#include "url.h"

#define DB_MAX_HOSTS 8 /* servers one mysql:// URL may list */

struct db {
    MYSQL *my;       /* NULL after a failed reconnect */
    char err[512];   /* last error text, "" when none */
    unsigned errnum; /* last MySQL error number, 0 for our own errors */
    /* The URL's servers, in its order, parsed once by db_connect; every
     * (re)connect takes the first writable one, hosts[cur]. */
    url_t hosts[DB_MAX_HOSTS];
    size_t nhosts;
    size_t cur;
    /* Bumped by every successful (re)connect. Prepared statements belong to
     * one connection: compare this, not the MYSQL pointer, to know whether
     * to prepare again (a new MYSQL may reuse a freed one's address). */
    unsigned long gen;
};

/* Copies mysql_errno/mysql_error of db->my into the handle; returns -1. */
int db_fail(db_t *db);
/* Copies a statement's error into the handle; returns -1. */
int db_stmt_fail(db_t *db, MYSQL_STMT *st);
/* Records an error of our own (errnum 0, not transient); returns -1. */
int db_failf(db_t *db, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void db_clear_error(db_t *db);

/* A column as an integer; NULL or anything but a decimal integer is an
 * error recorded in the handle (-1). */
int db_col_int(db_t *db, const char *s, int64_t *out);

/* Parses one result row; -1 (with the reason in the handle) stops. */
typedef int (*db_row_fn)(db_t *db, MYSQL_ROW row, void *arg);
/* A query returning at most one row: fn parses it; *found = 0 when empty. */
int db_one_row(db_t *db, const char *sql, db_row_fn fn, void *arg, int *found);
/* A query whose rows are streamed (mysql_use_result) to fn, in order. */
int db_each_row(db_t *db, const char *sql, db_row_fn fn, void *arg);

/* A query's rows as a malloc'd array of fixed-size items (NULL when *n is
 * 0): parse fills one zeroed item from a row, or returns -1 to stop. */
int db_rows_array(db_t *db, const char *sql, size_t size,
                  int (*parse)(db_t *db, MYSQL_ROW row, void *item), void **out,
                  size_t *n);

/* coupon_issues.date_used of one user (parameters: coupon_id, user_id)
 * from the user's redemption rows: the confirmed_at of the one that holds
 * the use (confirmed, partially_reversed, or reversed without use_freed),
 * NULL when none does. Run by db_redemption.c when a redemption moved and
 * by db_sink.c when the issue row arrives, each under the coupon's row
 * lock, so whichever commits second sees the other's rows. */
#define DB_SQL_DATE_USED                                                       \
    "UPDATE coupon_issues ci SET ci.date_used = (SELECT MAX(r.confirmed_at) "  \
    "FROM coupon_redemptions r WHERE r.coupon_id = ci.coupon_id AND "          \
    "r.user_id = ci.user_id AND r.use_freed = 0 AND r.state IN "               \
    "('confirmed', 'partially_reversed', 'reversed')) WHERE ci.coupon_id = "   \
    "? AND ci.user_id = ?"

/* A statement prepared on db's connection; NULL with the error recorded.
 * The caller closes it (mysql_stmt_close) and prepares again after a
 * reconnect (db->gen changed). */
MYSQL_STMT *db_stmt_prepare(db_t *db, const char *sql);
/* b = one LONGLONG parameter or result at *v (the rest of *b zeroed). */
void db_bind_ll(MYSQL_BIND *b, long long *v);
/* Unix ms (>= 0) -> a DATETIME(3) value in UTC. */
void db_time_from_ms(int64_t ms, MYSQL_TIME *t);

/* mysql://user[:pass]@h1[:p1],h2[:p2],.../dbname -> one url_t per host, in
 * order, each parsed by url_parse() as if the URL named only that host.
 * The userinfo ends at the last '@' (as in url.c), so a password may hold
 * ',' too. 0, or -1 with errstr. Pure: for the unit tests. */
int db_hosts_parse(const char *mysql_url, url_t *hosts, size_t max, size_t *n,
                   char *errstr, size_t errn);
/* 1 when a read_only-like variable's value means "on" ("1", "ON", any
 * non-OFF value of MariaDB 11's enum), 0 for "0"/"OFF"/NULL. */
int db_flag_on(const char *value);

#endif
