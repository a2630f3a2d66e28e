/* db.c -- one MySQL/MariaDB connection with classified errors. See db.h.
 *
 * The URL may list several servers (a primary and its replicas, in any
 * order); a connection is only ever made to a writable one: after
 * connecting we ask @@global.read_only and @@global.innodb_read_only and
 * skip a server that says yes, and every COMMIT asks again first. That
 * check, not error 1290, is what keeps us off a read-only server: a user
 * with SUPER (root on the local stack) or READ_ONLY ADMIN may write to one.
 * A demoted or dead server surfaces as a transient error; db_reconnect()
 * walks the list again from the first host.
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
#include <strings.h>
#include <time.h>

#include <errmsg.h>
#include <mysqld_error.h>

#include "db_internal.h"
#include "log.h"

#define DB_CONNECT_TIMEOUT_S 5
#define DB_RW_TIMEOUT_S      30
#define DB_READ_ONLY_SQL     "SELECT @@global.read_only, @@global.innodb_read_only"

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

/* ------------------------------------------------------------ hosts */

int db_hosts_parse(const char *s, url_t *hosts, size_t max, size_t *n,
                   char *errstr, size_t errn)
{
    const char *rest = strstr(s, "://"), *at, *list, *end, *p, *comma;
    size_t len = strlen(s), k = 0;
    char *one = NULL;
    int rc = -1;

    *n = 0;
    if (rest == NULL) /* url_parse says what is wrong */
        return url_parse(s, &hosts[0], errstr, errn);
    at = strrchr(rest + 3, '@');
    list = at != NULL ? at + 1 : rest + 3;
    end = strchr(list, '/');
    if (end == NULL)
        end = s + len;
    one = malloc(len + 1);
    if (one == NULL) {
        snprintf(errstr, errn, "mysql url: out of memory");
        return -1;
    }
    for (p = list;; p = comma + 1) {
        comma = memchr(p, ',', (size_t)(end - p));
        if (comma == NULL)
            comma = end;
        if (comma == p) {
            snprintf(errstr, errn, "mysql url: empty host in the host list");
            goto out;
        }
        if (k == max) {
            snprintf(errstr, errn, "mysql url: more than %zu hosts", max);
            goto out;
        }
        /* The same URL with only this host: prefix, host, path. */
        snprintf(one, len + 1, "%.*s%.*s%s", (int)(list - s), s,
                 (int)(comma - p), p, end);
        if (url_parse(one, &hosts[k], errstr, errn) != 0)
            goto out;
        k++;
        if (comma == end)
            break;
    }
    *n = k;
    rc = 0;
out:
    free(one);
    return rc;
}

int db_flag_on(const char *v)
{
    return v != NULL && strcmp(v, "0") != 0 && strcasecmp(v, "OFF") != 0;
}

/* ------------------------------------------------------------ connect */

/* Records my's error, naming the server u; returns -1. */
static int db_fail_on(db_t *db, MYSQL *my, const url_t *u, const char *what)
{
    db->errnum = mysql_errno(my);
    snprintf(db->err, sizeof(db->err), "mysql %s:%d: %s%s (%u)", u->host,
             u->port, what, mysql_error(my), db->errnum);
    return -1;
}

/* A fresh MYSQL handle connected to u, or NULL with the error kept in the
 * handle. */
static MYSQL *db_open(db_t *db, const url_t *u)
{
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
        db_fail_on(db, my, u, "");
        mysql_close(my);
        return NULL;
    }
    return my;
}

/* 1 when the server behind my takes writes; 0 when it is read-only (the
 * reason in the handle as error 1290, transient); -1 when the check itself
 * failed (its error in the handle). A user with SUPER or READ_ONLY ADMIN
 * may write to a read-only server, so we ask instead of waiting for 1290. */
static int db_check_writable(db_t *db, MYSQL *my, const url_t *u)
{
    MYSQL_RES *res;
    MYSQL_ROW row;
    int ro;

    if (mysql_query(my, DB_READ_ONLY_SQL) != 0 ||
        (res = mysql_store_result(my)) == NULL)
        return db_fail_on(db, my, u, "checking read_only: ");
    row = mysql_fetch_row(res);
    if (row == NULL || mysql_num_fields(res) != 2) {
        mysql_free_result(res);
        return db_failf(db, "mysql %s:%d: read_only check returned no row",
                        u->host, u->port);
    }
    ro = db_flag_on(row[0]) || db_flag_on(row[1]);
    if (ro) {
        snprintf(db->err, sizeof(db->err),
                 "mysql %s:%d: server is read-only (read_only=%s "
                 "innodb_read_only=%s)",
                 u->host, u->port, row[0] ? row[0] : "NULL",
                 row[1] ? row[1] : "NULL");
        db->errnum = ER_OPTION_PREVENTS_STATEMENT;
    }
    mysql_free_result(res);
    return !ro;
}

/* The first server of the list that answers and is writable, or NULL with
 * the reasons of all of them in the handle (transient if any one failed
 * transiently: the next attempt may find it promoted or back). */
static MYSQL *db_select(db_t *db)
{
    char why[sizeof(db->err)] = "no writable server: ";
    unsigned errnum = 0;
    size_t i, len = strlen(why);
    int transient = 0;

    for (i = 0; i < db->nhosts; i++) {
        const url_t *u = &db->hosts[i];
        MYSQL *my = db_open(db, u);

        if (my != NULL && db_check_writable(db, my, u) == 1) {
            /* The reasons for the servers skipped before this one are no
             * error of the connection: callers test db->err after calls. */
            db_clear_error(db);
            db->cur = i;
            if (db->nhosts > 1)
                LOG(LL_INFO, "msg=\"mysql connected\" host=%s port=%d", u->host,
                    u->port);
            return my;
        }
        if (my != NULL)
            mysql_close(my);
        if (db->nhosts > 1)
            LOG(LL_WARN,
                "msg=\"skipping mysql server\" host=%s port=%d "
                "reason=\"%s\"",
                u->host, u->port, db->err);
        if (!transient)
            errnum = db->errnum;
        transient = transient || db_is_transient(db);
        if (len < sizeof(why))
            len += (size_t)snprintf(why + len, sizeof(why) - len, "%s%s",
                                    i > 0 ? "; " : "", db->err);
    }
    if (db->nhosts > 1) {
        memcpy(db->err, why, sizeof(why));
        db->errnum = errnum;
    }
    return NULL;
}

db_t *db_connect(const char *mysql_url, char *errstr, size_t n)
{
    db_t *db = calloc(1, sizeof(*db));

    if (db == NULL) {
        snprintf(errstr, n, "mysql: out of memory");
        return NULL;
    }
    if (db_hosts_parse(mysql_url, db->hosts, DB_MAX_HOSTS, &db->nhosts, errstr,
                       n) != 0)
        goto err;
    if (strcmp(db->hosts[0].scheme, "mysql") != 0) {
        snprintf(errstr, n, "mysql url: scheme must be mysql://");
        goto err;
    }
    db->my = db_select(db);
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
    MYSQL *my = db_select(db);

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
    /* The server may have been demoted since we connected: look again just
     * before the commit, so a transaction never commits on a read-only
     * server (the caller rolls back and retries after db_reconnect). */
    if (db_check_writable(db, db->my, &db->hosts[db->cur]) != 1)
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

int db_col_int(db_t *db, const char *s, int64_t *out)
{
    char *end;
    long long v;

    if (s == NULL)
        return db_failf(db, "mysql: unexpected NULL");
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
        if (db_col_int(db, row[0], out) != 0)
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

int db_one_row(db_t *db, const char *sql, db_row_fn fn, void *arg, int *found)
{
    MYSQL_RES *res;
    MYSQL_ROW row;
    int rc = -1;

    *found = 0;
    if (db_ready(db) != 0)
        return -1;
    if (mysql_query(db->my, sql) != 0 ||
        (res = mysql_store_result(db->my)) == NULL)
        return db_fail(db);
    row = mysql_fetch_row(res);
    if (row != NULL) {
        if (fn(db, row, arg) != 0)
            goto out;
        *found = 1;
    }
    db_clear_error(db);
    rc = 0;
out:
    mysql_free_result(res);
    return rc;
}

int db_each_row(db_t *db, const char *sql, db_row_fn fn, void *arg)
{
    MYSQL_RES *res;
    MYSQL_ROW row;
    int rc = 0;

    if (db_ready(db) != 0)
        return -1;
    if (mysql_query(db->my, sql) != 0 ||
        (res = mysql_use_result(db->my)) == NULL)
        return db_fail(db);
    /* Every row is fetched even after fn failed: a streamed result must
     * be read to its end before the connection takes another query. */
    while ((row = mysql_fetch_row(res)) != NULL)
        if (rc == 0 && fn(db, row, arg) != 0)
            rc = -1;
    if (rc == 0 && mysql_errno(db->my) != 0)
        rc = db_fail(db);
    mysql_free_result(res);
    if (rc == 0)
        db_clear_error(db);
    return rc;
}

typedef struct rows_array {
    char *items;
    size_t n, cap, size;
    int (*parse)(db_t *db, MYSQL_ROW row, void *item);
} rows_array_t;

static int rows_array_add(db_t *db, MYSQL_ROW row, void *arg)
{
    rows_array_t *a = arg;

    if (a->n == a->cap) {
        size_t ncap = a->cap != 0 ? a->cap * 2 : 16;
        char *grown = realloc(a->items, ncap * a->size);

        if (grown == NULL)
            return db_failf(db, "mysql: out of memory");
        a->items = grown;
        a->cap = ncap;
    }
    memset(a->items + a->n * a->size, 0, a->size);
    if (a->parse(db, row, a->items + a->n * a->size) != 0)
        return -1;
    a->n++;
    return 0;
}

int db_rows_array(db_t *db, const char *sql, size_t size,
                  int (*parse)(db_t *db, MYSQL_ROW row, void *item), void **out,
                  size_t *n)
{
    rows_array_t a = { NULL, 0, 0, size, parse };

    *out = NULL;
    *n = 0;
    if (db_each_row(db, sql, rows_array_add, &a) != 0) {
        free(a.items);
        return -1;
    }
    *out = a.items;
    *n = a.n;
    return 0;
}

MYSQL_STMT *db_stmt_prepare(db_t *db, const char *sql)
{
    MYSQL_STMT *st;

    if (db_ready(db) != 0)
        return NULL;
    st = mysql_stmt_init(db->my);
    if (st == NULL) {
        db_fail(db);
        return NULL;
    }
    if (mysql_stmt_prepare(st, sql, strlen(sql)) != 0) {
        db_stmt_fail(db, st);
        mysql_stmt_close(st);
        return NULL;
    }
    return st;
}

void db_bind_ll(MYSQL_BIND *b, long long *v)
{
    memset(b, 0, sizeof(*b));
    b->buffer_type = MYSQL_TYPE_LONGLONG;
    b->buffer = v;
}

void db_time_from_ms(int64_t ms, MYSQL_TIME *t)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&secs, &tm);
    memset(t, 0, sizeof(*t));
    t->year = (unsigned)tm.tm_year + 1900;
    t->month = (unsigned)tm.tm_mon + 1;
    t->day = (unsigned)tm.tm_mday;
    t->hour = (unsigned)tm.tm_hour;
    t->minute = (unsigned)tm.tm_min;
    t->second = (unsigned)tm.tm_sec;
    t->second_part = (unsigned long)(ms % 1000) * 1000;
    t->time_type = MYSQL_TIMESTAMP_DATETIME;
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
