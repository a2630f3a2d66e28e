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

struct db {
    MYSQL *my;       /* NULL after a failed reconnect */
    char err[512];   /* last error text, "" when none */
    unsigned errnum; /* last MySQL error number, 0 for our own errors */
    url_t url;       /* parsed once by db_connect, reused by db_reconnect */
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

#endif
