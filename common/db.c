/* db.c -- one MySQL/MariaDB connection with classified errors. See db.h.
 *
 * We never let the client library reconnect behind our back
 * (MYSQL_OPT_RECONNECT off): a silent reconnect in the middle of a
 * transaction would lose the transaction's state without telling us. Callers
 * see a transient error instead, and retry the whole transaction after
 * db_reconnect(). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errmsg.h>
#include <mysqld_error.h>

#include "db_internal.h"

#define DB_CONNECT_TIMEOUT_S 5
#define DB_RW_TIMEOUT_S      30

/* MySQL 8 error numbers that MariaDB's headers do not define. */
#define DB_ER_CLIENT_INTERACTION_TIMEOUT 4031

int db_fail(db_t *db)
{
    db->errnum = mysql_errno(db->my);
    snprintf(db->err, sizeof(db->err), "mysql: %s (%u)", mysql_error(db->my),
             db->errnum);
    return -1;
}

int db_stmt_fail(db_t *db, MYSQL_STMT *st)
{
    db->errnum = mysql_stmt_errno(st);
    snprintf(db->err, sizeof(db->err), "mysql: %s (%u)", mysql_stmt_error(st),
             db->errnum);
    return -1;
}

int db_failf(db_t *db, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(db->err, sizeof(db->err), fmt, ap);
    va_end(ap);
    db->errnum = 0;
    return -1;
}

void db_clear_error(db_t *db)
{
    db->err[0] = '\0';
    db->errnum = 0;
}

/* A fresh MYSQL handle connected to db->url, or NULL with the error kept in
 * the handle. */
static MYSQL *db_open(db_t *db)
{
    const url_t *u = &db->url;
    unsigned connect_to = DB_CONNECT_TIMEOUT_S, rw_to = DB_RW_TIMEOUT_S;
    my_bool off = 0;
    MYSQL *my = mysql_init(NULL);

    if (my == NULL) {
        db_failf(db, "mysql: out of memory");
        return NULL;
    }
    mysql_options(my, MYSQL_OPT_CONNECT_TIMEOUT, &connect_to);
    mysql_options(my, MYSQL_OPT_READ_TIMEOUT, &rw_to);
    mysql_options(my, MYSQL_OPT_WRITE_TIMEOUT, &rw_to);
    mysql_options(my, MYSQL_OPT_RECONNECT, &off);
    mysql_options(my, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    if (mysql_real_connect(my, u->host, u->user,
                           u->password[0] != '\0' ? u->password : NULL,
                           u->path[0] != '\0' ? u->path : NULL,
                           (unsigned)u->port, NULL, 0) == NULL ||
        mysql_autocommit(my, 1) != 0) {
        db->errnum = mysql_errno(my);
        snprintf(db->err, sizeof(db->err), "mysql %s:%d: %s (%u)", u->host,
                 u->port, mysql_error(my), db->errnum);
        mysql_close(my);
        return NULL;
    }
    return my;
}

db_t *db_connect(const char *mysql_url, char *errstr, size_t n)
{
    db_t *db = calloc(1, sizeof(*db));

    if (db == NULL) {
        snprintf(errstr, n, "mysql: out of memory");
        return NULL;
    }
    if (url_parse(mysql_url, &db->url, errstr, n) != 0)
        goto err;
    if (strcmp(db->url.scheme, "mysql") != 0) {
        snprintf(errstr, n, "mysql url: scheme must be mysql://");
        goto err;
    }
    db->my = db_open(db);
    if (db->my == NULL) {
        snprintf(errstr, n, "%s", db->err);
        goto err;
    }
    db->gen = 1;
    return db;
err:
    free(db);
    return NULL;
}

void db_close(db_t *db)
{
    if (db == NULL)
        return;
    if (db->my != NULL)
        mysql_close(db->my);
    free(db);
}

int db_reconnect(db_t *db)
{
    /* Open the new connection before closing the old one, so the two never
     * share an address while both matter. */
    MYSQL *my = db_open(db);

    if (db->my != NULL)
        mysql_close(db->my);
    db->my = my;
    if (my == NULL)
        return -1;
    db->gen++;
    db_clear_error(db);
    return 0;
}

/* Every entry point checks this: after a failed reconnect there is no
 * MYSQL handle, and the error must say so (transiently, so callers retry). */
static int db_ready(db_t *db)
{
    if (db->my != NULL)
        return 0;
    db->errnum = CR_SERVER_GONE_ERROR;
    snprintf(db->err, sizeof(db->err), "mysql: not connected");
    return -1;
}

int db_exec(db_t *db, const char *sql)
{
    MYSQL_RES *res;

    if (db_ready(db) != 0)
        return -1;
    if (mysql_query(db->my, sql) != 0)
        return db_fail(db);
    /* A statement that unexpectedly returns rows must not leave them
     * pending: the next query would fail with "commands out of sync". */
    res = mysql_store_result(db->my);
    if (res != NULL)
        mysql_free_result(res);
    else if (mysql_field_count(db->my) != 0)
        return db_fail(db);
    db_clear_error(db);
    return 0;
}

int db_begin(db_t *db)
{
    return db_exec(db, "START TRANSACTION");
}

int db_commit(db_t *db)
{
    if (db_ready(db) != 0)
        return -1;
    if (mysql_commit(db->my) != 0)
        return db_fail(db);
    db_clear_error(db);
    return 0;
}

void db_rollback(db_t *db)
{
    /* Best effort: after a lost connection the server rolls back anyway.
     * The error that made the caller roll back stays in the handle. */
    if (db->my != NULL)
        (void)mysql_rollback(db->my);
}

static int db_parse_int(db_t *db, const char *s, int64_t *out)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return db_failf(db, "mysql: expected an integer, got \"%.64s\"", s);
    *out = (int64_t)v;
    return 0;
}

int db_query_int(db_t *db, const char *sql, int64_t *out, int *found)
{
    MYSQL_RES *res = NULL;
    MYSQL_ROW row;
    int rc = -1;

    *found = 0;
    if (db_ready(db) != 0)
        return -1;
    if (mysql_query(db->my, sql) != 0) {
        db_fail(db);
        goto out;
    }
    res = mysql_store_result(db->my);
    if (res == NULL) {
        if (mysql_field_count(db->my) == 0)
            db_failf(db, "mysql: query returned no result set");
        else
            db_fail(db);
        goto out;
    }
    row = mysql_fetch_row(res);
    if (row != NULL && mysql_num_fields(res) > 0 && row[0] != NULL) {
        if (db_parse_int(db, row[0], out) != 0)
            goto out;
        *found = 1;
    }
    db_clear_error(db);
    rc = 0;
out:
    if (res != NULL)
        mysql_free_result(res);
    return rc;
}

const char *db_error(const db_t *db)
{
    return db->err;
}

unsigned db_errno(const db_t *db)
{
    return db->errnum;
}

int db_is_transient(const db_t *db)
{
    switch (db->errnum) {
    case CR_CONNECTION_ERROR:          /* 2002 */
    case CR_CONN_HOST_ERROR:           /* 2003 */
    case CR_SERVER_GONE_ERROR:         /* 2006 */
    case CR_SERVER_LOST:               /* 2013 */
    case CR_SERVER_LOST_EXTENDED:      /* 2055 */
    case ER_CON_COUNT_ERROR:           /* 1040: too many connections */
    case ER_SERVER_SHUTDOWN:           /* 1053 */
    case ER_NET_READ_INTERRUPTED:      /* 1159 */
    case ER_NET_WRITE_INTERRUPTED:     /* 1161 */
    case ER_LOCK_WAIT_TIMEOUT:         /* 1205 */
    case ER_LOCK_DEADLOCK:             /* 1213 */
    case ER_OPTION_PREVENTS_STATEMENT: /* 1290: --read-only during failover */
    case ER_QUERY_INTERRUPTED:         /* 1317: KILL QUERY */
    case ER_LOCK_ABORTED:              /* 1689 */
    case ER_READ_ONLY_MODE:            /* 1836 */
    case ER_CONNECTION_KILLED:         /* 1927 */
    case ER_STATEMENT_TIMEOUT:         /* 1969 */
    case DB_ER_CLIENT_INTERACTION_TIMEOUT: /* 4031 */
        return 1;
    default:
        return 0;
    }
}
