/* db_vendor.c -- vendors, the ledger and settlements. See vendor.h.
 *
 * Integers are formatted into the statements (values we hold); the vendor
 * name, the one free text, goes through a prepared statement. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_internal.h"
#include "vendor.h"

#define SQL_MAX 1024
#define MS(col) "CAST(ROUND(UNIX_TIMESTAMP(" col ") * 1000) AS SIGNED)"
#define SETTLEMENT_COLS                                                        \
    "id, vendor_id, " MS("until") ", total, line_count, " MS("date_created")

int db_vendor_create(db_t *db, const char *name, int64_t *id)
{
    static const char q[] = "INSERT INTO vendors (name) VALUES (?)";
    unsigned long len = strlen(name);
    MYSQL_STMT *st;
    MYSQL_BIND b;
    int rc = -1;

    if (db->my == NULL)
        return db_failf(db, "mysql: not connected");
    if ((st = mysql_stmt_init(db->my)) == NULL)
        return db_fail(db);
    memset(&b, 0, sizeof(b));
    b.buffer_type = MYSQL_TYPE_STRING;
    b.buffer = (void *)name;
    b.buffer_length = len;
    b.length = &len;
    if (mysql_stmt_prepare(st, q, sizeof(q) - 1) != 0 ||
        mysql_stmt_bind_param(st, &b) != 0 || mysql_stmt_execute(st) != 0) {
        db_stmt_fail(db, st);
        goto out;
    }
    *id = (int64_t)mysql_stmt_insert_id(st);
    db_clear_error(db);
    rc = 0;
out:
    mysql_stmt_close(st);
    return rc;
}

typedef struct name_buf {
    char *s;
    size_t n;
} name_buf_t;

static int vendor_row(db_t *db, MYSQL_ROW row, void *arg)
{
    name_buf_t *nb = arg;

    (void)db;
    if (nb->s != NULL)
        snprintf(nb->s, nb->n, "%s", row[0] != NULL ? row[0] : "");
    return 0;
}

int db_vendor_get(db_t *db, int64_t id, char *name, size_t n, int *found)
{
    name_buf_t nb = { name, n };
    char q[SQL_MAX];

    snprintf(q, sizeof(q), "SELECT name FROM vendors WHERE id = %lld",
             (long long)id);
    return db_one_row(db, q, vendor_row, &nb, found);
}

static int ints_row(db_t *db, MYSQL_ROW row, void *arg)
{
    int64_t *v = arg;

    if (db_col_int(db, row[0], &v[0]) != 0 ||
        db_col_int(db, row[1], &v[1]) != 0 ||
        db_col_int(db, row[2], &v[2]) != 0)
        return -1;
    return 0;
}

int db_vendor_balance(db_t *db, int64_t id, int64_t *balance, int64_t *open_sum,
                      int64_t *open_count)
{
    int64_t v[3] = { 0, 0, 0 };
    char q[SQL_MAX];
    int found;

    snprintf(q, sizeof(q),
             "SELECT CAST(COALESCE(SUM(amount), 0) AS SIGNED),"
             " CAST(COALESCE(SUM(IF(settlement_id IS NULL, amount, 0)), 0)"
             " AS SIGNED), CAST(COALESCE(SUM(settlement_id IS NULL), 0) AS"
             " SIGNED) FROM vendor_ledger WHERE vendor_id = %lld",
             (long long)id);
    if (db_one_row(db, q, ints_row, v, &found) != 0)
        return -1;
    *balance = v[0];
    *open_sum = v[1];
    *open_count = v[2];
    return 0;
}

static int settlement_parse(db_t *db, MYSQL_ROW row, void *item)
{
    vendor_settlement_t *s = item;

    if (db_col_int(db, row[0], &s->id) != 0 ||
        db_col_int(db, row[1], &s->vendor_id) != 0 ||
        db_col_int(db, row[2], &s->until_ms) != 0 ||
        db_col_int(db, row[3], &s->total) != 0 ||
        db_col_int(db, row[4], &s->line_count) != 0 ||
        db_col_int(db, row[5], &s->created_ms) != 0)
        return -1;
    return 0;
}

int db_vendor_settlements(db_t *db, int64_t id, vendor_settlement_t **out,
                          size_t *n)
{
    char q[SQL_MAX];

    snprintf(q, sizeof(q),
             "SELECT " SETTLEMENT_COLS " FROM settlements WHERE vendor_id ="
             " %lld ORDER BY until, id",
             (long long)id);
    return db_rows_array(db, q, sizeof(**out), settlement_parse, (void **)out,
                         n);
}

static int line_parse(db_t *db, MYSQL_ROW row, void *item)
{
    vendor_line_t *l = item;

    if (db_col_int(db, row[0], &l->id) != 0 ||
        db_col_int(db, row[3], &l->amount) != 0 ||
        db_col_int(db, row[4], &l->created_ms) != 0)
        return -1;
    snprintf(l->event_id, sizeof(l->event_id), "%s", row[1]);
    snprintf(l->redemption_id, sizeof(l->redemption_id), "%s", row[2]);
    return 0;
}

int db_vendor_open_lines(db_t *db, int64_t id, vendor_line_t **out, size_t *n)
{
    char q[SQL_MAX];

    snprintf(q, sizeof(q),
             "SELECT id, event_id, redemption_id, amount, " MS(
                 "date_created") " FROM vendor_ledger WHERE vendor_id = %lld "
                                 "AND settlement_id IS"
                                 " NULL ORDER BY date_created, id",
             (long long)id);
    return db_rows_array(db, q, sizeof(**out), line_parse, (void **)out, n);
}

/* ------------------------------------------------------------ settle */

/* The settlement (vendor, until), locked; *found = 0 when none. */
static int settle_find(db_t *db, int64_t vendor, int64_t until,
                       vendor_settlement_t *s, int *found)
{
    char q[SQL_MAX];

    snprintf(q, sizeof(q),
             "SELECT " SETTLEMENT_COLS " FROM settlements WHERE vendor_id ="
             " %lld AND until = FROM_UNIXTIME(%lld / 1000) FOR UPDATE",
             (long long)vendor, (long long)until);
    return db_one_row(db, q, settlement_parse, s, found);
}

/* Inside the transaction, once the vendor row is locked and no settlement
 * (vendor, until) exists: make it and move the lines into it. */
static int settle_make(db_t *db, int64_t vendor, int64_t until,
                       vendor_settlement_t *s)
{
    char q[SQL_MAX];
    int64_t id;
    int found;

    snprintf(q, sizeof(q),
             "INSERT INTO settlements (vendor_id, until, total, line_count)"
             " VALUES (%lld, FROM_UNIXTIME(%lld / 1000), 0, 0)",
             (long long)vendor, (long long)until);
    if (db_exec(db, q) != 0)
        return -1;
    id = (int64_t)mysql_insert_id(db->my);
    snprintf(q, sizeof(q),
             "UPDATE vendor_ledger SET settlement_id = %lld WHERE vendor_id ="
             " %lld AND settlement_id IS NULL AND date_created <="
             " FROM_UNIXTIME(%lld / 1000)",
             (long long)id, (long long)vendor, (long long)until);
    if (db_exec(db, q) != 0)
        return -1;
    snprintf(q, sizeof(q),
             "UPDATE settlements s SET total = (SELECT COALESCE(SUM(amount),"
             " 0) FROM vendor_ledger l WHERE l.settlement_id = s.id),"
             " line_count = (SELECT COUNT(*) FROM vendor_ledger l WHERE"
             " l.settlement_id = s.id) WHERE s.id = %lld",
             (long long)id);
    if (db_exec(db, q) != 0 || settle_find(db, vendor, until, s, &found) != 0)
        return -1;
    if (!found)
        return db_failf(db, "mysql: settlement %lld vanished", (long long)id);
    return 0;
}

int db_vendor_settle(db_t *db, int64_t vendor_id, int64_t until_ms,
                     void (*before_commit)(void *), void *arg,
                     vendor_settlement_t *s, db_settle_t *result)
{
    char q[SQL_MAX];
    int64_t v;
    int found;

    memset(s, 0, sizeof(*s));
    if (db_begin(db) != 0)
        return -1;
    /* The vendor's row lock orders every settle of one vendor. */
    snprintf(q, sizeof(q), "SELECT id FROM vendors WHERE id = %lld FOR UPDATE",
             (long long)vendor_id);
    if (db_query_int(db, q, &v, &found) != 0)
        goto err;
    *result = DB_SETTLE_NO_VENDOR;
    if (!found)
        goto done;
    if (settle_find(db, vendor_id, until_ms, s, &found) != 0)
        goto err;
    *result = DB_SETTLE_EXISTING;
    if (found)
        goto done;
    snprintf(q, sizeof(q), "SELECT FROM_UNIXTIME(%lld / 1000) > NOW(3)",
             (long long)until_ms);
    if (db_query_int(db, q, &v, &found) != 0)
        goto err;
    *result = DB_SETTLE_FUTURE;
    if (!found || v != 0)
        goto done;
    if (settle_make(db, vendor_id, until_ms, s) != 0)
        goto err;
    *result = DB_SETTLE_MADE;
    if (before_commit != NULL)
        before_commit(arg);
    if (db_commit(db) != 0)
        goto err;
    return 0;
done:
    db_rollback(db); /* nothing was written */
    return 0;
err:
    db_rollback(db);
    return -1;
}
