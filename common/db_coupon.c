/* db_coupon.c -- the `coupons` row for the operator tools. See coupon.h.
 *
 * Statements carrying only integers are formatted with snprintf (every value
 * is an int64 we hold, nothing from outside); the title, the one free text,
 * goes through a prepared statement. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coupon.h"
#include "db_internal.h"

#define SQL_MAX 1024

/* The columns db_coupon_get reads, in the order dbc_parse_row expects. */
#define COUPON_COLS                                                            \
    "id, title, IFNULL(total_quantity, -1), issued_quantity, "                 \
    "discount_amount, min_available_amount, "                                  \
    "CAST(ROUND(UNIX_TIMESTAMP(date_issue_start) * 1000) AS SIGNED), "         \
    "CAST(ROUND(UNIX_TIMESTAMP(date_issue_end) * 1000) AS SIGNED), state, "    \
    "IFNULL(use_limit, -1), used_quantity, hold_ttl_ms, "                      \
    "IFNULL(CAST(ROUND(UNIX_TIMESTAMP(use_until) * 1000) AS SIGNED), -1), "    \
    "IFNULL(vendor_id, 0), vendor_share_bps, reuse_after_reverse"

static int dbc_ready(db_t *db)
{
    if (db->my != NULL)
        return 0;
    return db_failf(db, "mysql: not connected");
}

/* An UPDATE on the coupon's row; *found = 0 when it matched no row. We ask
 * for "found rows" semantics via the affected count of a WHERE on the id,
 * so check existence separately when nothing changed. */
static int dbc_update(db_t *db, int64_t id, const char *sql, int *found)
{
    char q[SQL_MAX];
    int64_t one;

    if (dbc_ready(db) != 0)
        return -1;
    if (mysql_query(db->my, sql) != 0)
        return db_fail(db);
    if (mysql_affected_rows(db->my) > 0) {
        *found = 1;
        db_clear_error(db);
        return 0;
    }
    snprintf(q, sizeof(q), "SELECT 1 FROM coupons WHERE id = %lld",
             (long long)id);
    return db_query_int(db, q, &one, found);
}

static int dbc_bind_create(db_t *db, MYSQL_STMT *st, coupon_t *c,
                           unsigned long *title_len)
{
    MYSQL_BIND b[1];

    memset(b, 0, sizeof(b));
    *title_len = strlen(c->title);
    b[0].buffer_type = MYSQL_TYPE_STRING;
    b[0].buffer = c->title;
    b[0].buffer_length = *title_len;
    b[0].length = title_len;
    if (mysql_stmt_bind_param(st, b) != 0)
        return db_stmt_fail(db, st);
    return 0;
}

/* "NULL" for a negative value (or 0 when zero_null), else the number. */
static const char *dbc_nullable(char *buf, size_t n, int64_t v, int zero_null)
{
    if (v < 0 || (zero_null && v == 0))
        snprintf(buf, n, "NULL");
    else
        snprintf(buf, n, "%lld", (long long)v);
    return buf;
}

int db_coupon_create(db_t *db, coupon_t *c)
{
    char q[SQL_MAX], total[32], idtext[32], limit[32], until[64], vendor[32];
    const coupon_use_t *u = &c->use;
    unsigned long title_len;
    MYSQL_STMT *st = NULL;
    int rc = -1;

    if (dbc_ready(db) != 0)
        return -1;
    dbc_nullable(total, sizeof(total), c->total, 0);
    dbc_nullable(idtext, sizeof(idtext), c->id, 1); /* NULL: AUTO_INCREMENT */
    dbc_nullable(limit, sizeof(limit), u->limit, 0);
    dbc_nullable(vendor, sizeof(vendor), u->vendor_id, 1);
    if (u->until_ms < 0)
        snprintf(until, sizeof(until), "NULL");
    else
        snprintf(until, sizeof(until), "FROM_UNIXTIME(%lld / 1000)",
                 (long long)u->until_ms);
    snprintf(q, sizeof(q),
             "INSERT INTO coupons (id, title, total_quantity, issued_quantity,"
             " discount_amount, min_available_amount, date_issue_start,"
             " date_issue_end, state, use_limit, hold_ttl_ms, use_until,"
             " vendor_id, vendor_share_bps, reuse_after_reverse) VALUES (%s,"
             " ?, %s, 0, %lld, %lld, FROM_UNIXTIME(%lld / 1000),"
             " FROM_UNIXTIME(%lld / 1000), '%s', %s, %lld, %s, %s, %lld, %d)",
             idtext, total, (long long)c->discount, (long long)c->min_amount,
             (long long)c->start_ms, (long long)c->end_ms,
             c->state[0] != '\0' ? c->state : "open", limit,
             (long long)u->hold_ttl_ms, until, vendor, (long long)u->share_bps,
             u->reuse ? 1 : 0);
    st = mysql_stmt_init(db->my);
    if (st == NULL)
        return db_fail(db);
    if (mysql_stmt_prepare(st, q, strlen(q)) != 0 ||
        dbc_bind_create(db, st, c, &title_len) != 0 ||
        mysql_stmt_execute(st) != 0) {
        db_stmt_fail(db, st);
        goto out;
    }
    if (c->id <= 0)
        c->id = (int64_t)mysql_stmt_insert_id(st);
    db_clear_error(db);
    rc = 0;
out:
    mysql_stmt_close(st);
    return rc;
}

static int dbc_parse_row(db_t *db, MYSQL_ROW row, void *arg)
{
    coupon_t *c = arg;
    int64_t reuse;

    if (db_col_int(db, row[0], &c->id) != 0 ||
        db_col_int(db, row[2], &c->total) != 0 ||
        db_col_int(db, row[3], &c->issued) != 0 ||
        db_col_int(db, row[4], &c->discount) != 0 ||
        db_col_int(db, row[5], &c->min_amount) != 0 ||
        db_col_int(db, row[6], &c->start_ms) != 0 ||
        db_col_int(db, row[7], &c->end_ms) != 0 ||
        db_col_int(db, row[9], &c->use.limit) != 0 ||
        db_col_int(db, row[10], &c->use.used) != 0 ||
        db_col_int(db, row[11], &c->use.hold_ttl_ms) != 0 ||
        db_col_int(db, row[12], &c->use.until_ms) != 0 ||
        db_col_int(db, row[13], &c->use.vendor_id) != 0 ||
        db_col_int(db, row[14], &c->use.share_bps) != 0 ||
        db_col_int(db, row[15], &reuse) != 0)
        return -1;
    c->use.reuse = reuse != 0;
    snprintf(c->title, sizeof(c->title), "%s", row[1] != NULL ? row[1] : "");
    snprintf(c->state, sizeof(c->state), "%s", row[8] != NULL ? row[8] : "");
    return 0;
}

int db_coupon_get(db_t *db, int64_t id, coupon_t *c, int *found)
{
    char q[SQL_MAX];

    memset(c, 0, sizeof(*c));
    snprintf(q, sizeof(q),
             "SELECT " COUPON_COLS " FROM coupons WHERE id = %lld",
             (long long)id);
    return db_one_row(db, q, dbc_parse_row, c, found);
}

int db_coupon_set_total(db_t *db, int64_t id, int64_t total, int *found)
{
    char q[SQL_MAX], t[32];

    snprintf(q, sizeof(q),
             "UPDATE coupons SET total_quantity = %s WHERE id = %lld",
             dbc_nullable(t, sizeof(t), total, 0), (long long)id);
    return dbc_update(db, id, q, found);
}

int db_coupon_cas_use_limit(db_t *db, int64_t id, int64_t expected,
                            int64_t limit, int *swapped)
{
    char q[SQL_MAX], l[32], e[32];
    int same = (expected < 0 && limit < 0) || expected == limit;
    int64_t one;

    *swapped = 0;
    if (dbc_ready(db) != 0)
        return -1;
    dbc_nullable(e, sizeof(e), expected, 0);
    snprintf(q, sizeof(q),
             "UPDATE coupons SET use_limit = %s WHERE id = %lld AND "
             "use_limit <=> %s",
             dbc_nullable(l, sizeof(l), limit, 0), (long long)id, e);
    if (mysql_query(db->my, q) != 0)
        return db_fail(db);
    db_clear_error(db);
    *swapped = mysql_affected_rows(db->my) > 0;
    if (*swapped || !same)
        return 0;
    /* Setting the value it has changes no row: whether it had it is a
     * question of its own. */
    snprintf(q, sizeof(q),
             "SELECT 1 FROM coupons WHERE id = %lld AND use_limit <=> %s",
             (long long)id, e);
    return db_query_int(db, q, &one, swapped);
}

int db_coupon_lock_use_limit(db_t *db, int64_t id, int timeout_s, int *got)
{
    char q[SQL_MAX];
    int64_t v = 0;
    int found;

    *got = 0;
    snprintf(q, sizeof(q), "SELECT GET_LOCK('couponq.use_limit.%lld', %d)",
             (long long)id, timeout_s);
    if (db_query_int(db, q, &v, &found) != 0)
        return -1;
    if (!found) /* NULL: the server could not take it (killed, out of memory) */
        return db_failf(db, "GET_LOCK of coupon %lld's use limit failed",
                        (long long)id);
    *got = v == 1;
    return 0;
}

int db_coupon_unlock_use_limit(db_t *db, int64_t id)
{
    char q[SQL_MAX];
    int64_t v;
    int found;

    snprintf(q, sizeof(q), "SELECT RELEASE_LOCK('couponq.use_limit.%lld')",
             (long long)id);
    return db_query_int(db, q, &v, &found);
}

int db_coupon_set_state(db_t *db, int64_t id, const char *state, int *found)
{
    char q[SQL_MAX];

    /* Only our own constants reach here; still refuse anything odd. */
    if (strspn(state, "abcdefghijklmnopqrstuvwxyz") != strlen(state) ||
        strlen(state) > COUPON_STATE_MAX)
        return db_failf(db, "coupon state: invalid \"%.32s\"", state);
    snprintf(q, sizeof(q), "UPDATE coupons SET state = '%s' WHERE id = %lld",
             state, (long long)id);
    return dbc_update(db, id, q, found);
}

static int dbc_parse_counts(db_t *db, MYSQL_ROW row, void *arg)
{
    int64_t *v = arg;

    if (db_col_int(db, row[0], &v[0]) != 0 ||
        db_col_int(db, row[1], &v[1]) != 0)
        return -1;
    return 0;
}

int db_coupon_counts(db_t *db, int64_t id, int64_t *issued, int64_t *rows,
                     int *found)
{
    char q[SQL_MAX];
    int64_t v[2] = { 0, 0 };

    snprintf(q, sizeof(q),
             "SELECT c.issued_quantity, (SELECT COUNT(*) FROM coupon_issues i"
             " WHERE i.coupon_id = c.id) FROM coupons c WHERE c.id = %lld",
             (long long)id);
    if (db_one_row(db, q, dbc_parse_counts, v, found) != 0)
        return -1;
    *issued = v[0];
    *rows = v[1];
    return 0;
}

int db_coupon_fix_issued(db_t *db, int64_t id, int64_t *issued)
{
    char q[SQL_MAX];
    int found = 0;

    snprintf(q, sizeof(q),
             "UPDATE coupons SET issued_quantity = (SELECT COUNT(*) FROM"
             " coupon_issues WHERE coupon_id = %lld) WHERE id = %lld",
             (long long)id, (long long)id);
    if (dbc_update(db, id, q, &found) != 0)
        return -1;
    if (!found)
        return db_failf(db, "coupon %lld: not found", (long long)id);
    snprintf(q, sizeof(q),
             "SELECT issued_quantity FROM coupons WHERE id = %lld",
             (long long)id);
    return db_query_int(db, q, issued, &found);
}

static int dbc_user_row(db_t *db, MYSQL_ROW row, void *item)
{
    return db_col_int(db, row[0], item);
}

int db_coupon_users(db_t *db, int64_t id, int64_t **users, size_t *n)
{
    char q[SQL_MAX];

    snprintf(q, sizeof(q),
             "SELECT user_id FROM coupon_issues WHERE coupon_id = %lld"
             " ORDER BY user_id",
             (long long)id);
    return db_rows_array(db, q, sizeof(int64_t), dbc_user_row, (void **)users,
                         n);
}

int db_coupon_clear_issues(db_t *db, int64_t id, int64_t *deleted)
{
    char q[SQL_MAX];

    if (db_begin(db) != 0)
        return -1;
    snprintf(q, sizeof(q), "DELETE FROM coupon_issues WHERE coupon_id = %lld",
             (long long)id);
    if (mysql_query(db->my, q) != 0)
        goto err;
    *deleted = (int64_t)mysql_affected_rows(db->my);
    snprintf(q, sizeof(q),
             "UPDATE coupons SET issued_quantity = 0 WHERE id = %lld",
             (long long)id);
    if (mysql_query(db->my, q) != 0)
        goto err;
    return db_commit(db);
err:
    db_fail(db);
    db_rollback(db);
    return -1;
}

int db_coupon_save_live(db_t *db, int64_t id, int64_t admitted,
                        int64_t persisted)
{
    char q[SQL_MAX];

    snprintf(q, sizeof(q),
             "INSERT INTO coupon_live_counts (coupon_id, admitted, persisted,"
             " date_synced) VALUES (%lld, %lld, %lld, CURRENT_TIMESTAMP(3))"
             " ON DUPLICATE KEY UPDATE admitted = VALUES(admitted),"
             " persisted = VALUES(persisted),"
             " date_synced = VALUES(date_synced)",
             (long long)id, (long long)admitted, (long long)persisted);
    return db_exec(db, q);
}
