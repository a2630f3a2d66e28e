/* db_sink.c -- decoded events -> one MySQL transaction. See sink.h.
 *
 * Exact path (apply_exact), per coupon of the batch, in one transaction:
 *   SELECT total_quantity, issued_quantity ... FOR UPDATE   (lock + budget)
 *   SELECT user_id ... WHERE coupon_id=? AND user_id IN (...) (who exists)
 *   INSERT ... ON DUPLICATE KEY UPDATE id=id                 (array-bound)
 *   UPDATE coupon_issues SET date_used = ...   (array-bound; only once the
 *                                               coupon has a use taken)
 *   UPDATE coupons SET issued_quantity = issued_quantity + ?
 * then one COMMIT. Rows are counted only under the coupon lock; the
 * INSERT's affected-rows count (1 per new row, 0 per untouched duplicate)
 * must match what the existence check predicted, and a mismatch rolls back
 * as a transient error instead of miscounting. The session runs READ
 * COMMITTED so each statement sees the latest commits.
 *
 * Optimistic path (apply_optimistic): when a coupon has room for every user
 * of the batch, no outcome depends on which rows exist, so rows go in first,
 * without the existence query and without the coupon lock; the lock is
 * taken only to re-check the room and count. If the affected-rows count or
 * the re-check disagrees (a replay, or the coupon nearly sold out), the
 * whole call rolls back and runs again on the exact path above. A writer
 * that inserts before locking can only make an exact writer wait or
 * deadlock (a transient error, retried), never miscount: rows are counted
 * only under the lock. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_internal.h"
#include "sink.h"

#define SINK_EXIST_CHUNK 500 /* user ids per existence query */
#define SINK_SLOW        1   /* apply_*(): redo without the fast path */

typedef struct sink_row { /* one coupon_issues row, row-wise array binding */
    long long coupon_id;
    long long user_id;
    char event_id[ULID_LEN + 1];
    unsigned long event_id_len;
    MYSQL_TIME issued;
} sink_row_t;

struct sink {
    db_t *db;
    MYSQL *prepared_on; /* connection the statements belong to, or NULL */
    MYSQL_STMT *st_peek, *st_lock, *st_exist, *st_insert, *st_update;
    MYSQL_STMT *st_used; /* date_used of new rows (DB_SQL_DATE_USED) */
    char *exist_sql;
    int bulk;           /* the server executes array-bound statements */
    int mismatch;       /* last error: affected rows disagreed (transient) */
    int fast;           /* this attempt takes the optimistic path */
    long long p_coupon; /* bound parameters of st_lock/st_exist/st_update */
    long long p_count;
    long long used; /* used_quantity, as the last read_coupon saw it */
    long long p_ids[SINK_EXIST_CHUNK];
    size_t cap;       /* capacity of the arrays below */
    size_t *ord;      /* event indices by (coupon, seq) */
    size_t *byuser;   /* one coupon's events by (user, seq) */
    size_t *rep;      /* rep[i]: first event of evs[i]'s (coupon, user) */
    long long *exist; /* existing user ids of the current coupon, sorted */
    size_t nexist;
    sink_row_t *rows;
};

static const char *const outcome_names[] = { "inserted", "duplicate",
                                             "over_quantity",
                                             "unknown_coupon" };

const char *sink_outcome_name(sink_outcome_t o)
{
    return (unsigned)o < 4 ? outcome_names[o] : "unknown";
}

/* ------------------------------------------------------------ statements */

static void sink_drop(sink_t *s)
{
    MYSQL_STMT **sts[] = { &s->st_peek,   &s->st_lock,   &s->st_exist,
                           &s->st_insert, &s->st_update, &s->st_used };
    size_t i;

    for (i = 0; i < sizeof(sts) / sizeof(sts[0]); i++) {
        if (*sts[i] != NULL)
            mysql_stmt_close(*sts[i]);
        *sts[i] = NULL;
    }
    s->prepared_on = NULL;
}

/* Parameters that live in the sink are bound once per preparation. */
static int sink_bind_fixed(sink_t *s)
{
    MYSQL_BIND p[SINK_EXIST_CHUNK + 1];
    size_t i;

    db_bind_ll(&p[0], &s->p_coupon);
    if (mysql_stmt_bind_param(s->st_lock, p) != 0)
        return db_stmt_fail(s->db, s->st_lock);
    if (mysql_stmt_bind_param(s->st_peek, p) != 0)
        return db_stmt_fail(s->db, s->st_peek);
    for (i = 0; i < SINK_EXIST_CHUNK; i++)
        db_bind_ll(&p[i + 1], &s->p_ids[i]);
    if (mysql_stmt_bind_param(s->st_exist, p) != 0)
        return db_stmt_fail(s->db, s->st_exist);
    db_bind_ll(&p[0], &s->p_count);
    db_bind_ll(&p[1], &s->p_coupon);
    if (mysql_stmt_bind_param(s->st_update, p) != 0)
        return db_stmt_fail(s->db, s->st_update);
    return 0;
}

static int sink_prepare(sink_t *s)
{
    db_t *db = s->db;
    unsigned long caps = 0;

    if (db->my == NULL)
        return db_exec(db, "SELECT 1"); /* records "not connected" */
    if (s->prepared_on == db->my)
        return 0;
    sink_drop(s);
    if (db_exec(db, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED"))
        return -1;
    s->st_lock = db_stmt_prepare(db, "SELECT total_quantity, issued_quantity, "
                                     "used_quantity FROM coupons WHERE id = ? "
                                     "FOR UPDATE");
    s->st_peek = s->st_lock
                     ? db_stmt_prepare(db, "SELECT total_quantity, "
                                           "issued_quantity, used_quantity "
                                           "FROM coupons WHERE id = ?")
                     : NULL;
    s->st_exist = s->st_peek ? db_stmt_prepare(db, s->exist_sql) : NULL;
    s->st_insert = s->st_exist
                       ? db_stmt_prepare(
                             db, "INSERT INTO coupon_issues (coupon_id, "
                                 "user_id, event_id, date_issued) VALUES "
                                 "(?, ?, ?, ?) ON DUPLICATE KEY UPDATE id = id")
                       : NULL;
    s->st_update =
        s->st_insert ? db_stmt_prepare(db, "UPDATE coupons SET issued_quantity "
                                           "= issued_quantity + ? WHERE id = ?")
                     : NULL;
    s->st_used = s->st_update ? db_stmt_prepare(db, DB_SQL_DATE_USED) : NULL;
    if (s->st_used == NULL || sink_bind_fixed(s) != 0) {
        sink_drop(s);
        return -1;
    }
    /* MariaDB executes an array-bound INSERT in one round trip; a server
     * without that capability gets one execution per row. */
    mariadb_get_infov(db->my, MARIADB_CONNECTION_EXTENDED_SERVER_CAPABILITIES,
                      &caps);
    s->bulk = (caps & (MARIADB_CLIENT_STMT_BULK_OPERATIONS >> 32)) != 0;
    s->prepared_on = db->my;
    return 0;
}

/* ------------------------------------------------------------ lifecycle */

static char *exist_sql_new(void)
{
    static const char head[] = "SELECT user_id FROM coupon_issues WHERE "
                               "coupon_id = ? AND user_id IN (";
    size_t len = sizeof(head) + (size_t)2 * SINK_EXIST_CHUNK + 2;
    char *sql = malloc(len), *p;
    size_t i;

    if (sql == NULL)
        return NULL;
    memcpy(sql, head, sizeof(head) - 1);
    p = sql + sizeof(head) - 1;
    for (i = 0; i < SINK_EXIST_CHUNK; i++) {
        *p++ = i == 0 ? '?' : ',';
        if (i > 0)
            *p++ = '?';
    }
    *p++ = ')';
    *p = '\0';
    return sql;
}

sink_t *sink_new(db_t *db, char *errstr, size_t n)
{
    sink_t *s = calloc(1, sizeof(*s));

    if (s == NULL || (s->exist_sql = exist_sql_new()) == NULL) {
        snprintf(errstr, n, "sink: out of memory");
        free(s);
        return NULL;
    }
    s->db = db;
    return s;
}

void sink_free(sink_t *s)
{
    if (s == NULL)
        return;
    sink_drop(s);
    free(s->exist_sql);
    free(s->ord);
    free(s->byuser);
    free(s->rep);
    free(s->exist);
    free(s->rows);
    free(s);
}

static int sink_grow(sink_t *s, size_t n)
{
    size_t cap = s->cap ? s->cap : 256;
    void *p[5];

    if (n <= s->cap)
        return 0;
    while (cap < n)
        cap *= 2;
    p[0] = realloc(s->ord, cap * sizeof(*s->ord));
    if (p[0] != NULL)
        s->ord = p[0];
    p[1] = realloc(s->byuser, cap * sizeof(*s->byuser));
    if (p[1] != NULL)
        s->byuser = p[1];
    p[2] = realloc(s->rep, cap * sizeof(*s->rep));
    if (p[2] != NULL)
        s->rep = p[2];
    p[3] = realloc(s->exist, cap * sizeof(*s->exist));
    if (p[3] != NULL)
        s->exist = p[3];
    p[4] = realloc(s->rows, cap * sizeof(*s->rows));
    if (p[4] != NULL)
        s->rows = p[4];
    if (!p[0] || !p[1] || !p[2] || !p[3] || !p[4])
        return db_failf(s->db, "sink: out of memory for %zu events", n);
    s->cap = cap;
    return 0;
}

/* ------------------------------------------------------------ ordering */

static int cmp_i64(int64_t a, int64_t b)
{
    return (a > b) - (a < b);
}

/* By coupon, then seq (admission order), then arrival: the order in which
 * the remaining quantity is handed out. */
static int cmp_coupon_seq(const void *a, const void *b, void *ctx)
{
    const event_t *evs = ctx;
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    int c = cmp_i64(evs[i].coupon_id, evs[j].coupon_id);

    if (c == 0)
        c = cmp_i64(evs[i].seq, evs[j].seq);
    return c != 0 ? c : (i > j) - (i < j);
}

static int cmp_user_seq(const void *a, const void *b, void *ctx)
{
    const event_t *evs = ctx;
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    int c = cmp_i64(evs[i].user_id, evs[j].user_id);

    if (c == 0)
        c = cmp_i64(evs[i].seq, evs[j].seq);
    return c != 0 ? c : (i > j) - (i < j);
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;

    return (x > y) - (x < y);
}

/* rep[i] for one coupon's events: the user's first event (lowest seq). */
static void mark_reps(sink_t *s, const event_t *evs, const size_t *grp,
                      size_t n)
{
    size_t k, first = 0;

    memcpy(s->byuser, grp, n * sizeof(*grp));
    qsort_r(s->byuser, n, sizeof(*s->byuser), cmp_user_seq, (void *)evs);
    for (k = 0; k < n; k++) {
        size_t i = s->byuser[k];

        if (k == 0 || evs[i].user_id != evs[first].user_id)
            first = i;
        s->rep[i] = first;
    }
}

/* ------------------------------------------------------------ statements */

/* Reads the coupon row with st (st_lock: and locks it). *found = 0 when
 * there is none; *left = -1 when the coupon is unlimited, else what is left
 * of its total. */
static int read_coupon(sink_t *s, MYSQL_STMT *st, int64_t coupon_id, int *found,
                       long long *left)
{
    long long total = 0, issued = 0;
    my_bool total_null = 0;
    MYSQL_BIND r[3];
    int rc;

    s->p_coupon = coupon_id;
    if (mysql_stmt_execute(st) != 0 || mysql_stmt_store_result(st) != 0)
        return db_stmt_fail(s->db, st);
    db_bind_ll(&r[0], &total);
    r[0].is_null = &total_null;
    db_bind_ll(&r[1], &issued);
    db_bind_ll(&r[2], &s->used);
    if (mysql_stmt_bind_result(st, r) != 0)
        return db_stmt_fail(s->db, st);
    rc = mysql_stmt_fetch(st);
    mysql_stmt_free_result(st);
    if (rc == 1)
        return db_stmt_fail(s->db, st);
    *found = rc != MYSQL_NO_DATA;
    if (total_null)
        *left = -1;
    else
        *left = total > issued ? total - issued : 0;
    return 0;
}

/* One existence query for up to SINK_EXIST_CHUNK ids (s->p_ids, padded);
 * appends the ids found to s->exist. */
static int exist_chunk(sink_t *s)
{
    long long uid = 0;
    MYSQL_BIND r[1];
    int rc;

    if (mysql_stmt_execute(s->st_exist) != 0 ||
        mysql_stmt_store_result(s->st_exist) != 0)
        return db_stmt_fail(s->db, s->st_exist);
    db_bind_ll(&r[0], &uid);
    if (mysql_stmt_bind_result(s->st_exist, r) != 0)
        return db_stmt_fail(s->db, s->st_exist);
    while ((rc = mysql_stmt_fetch(s->st_exist)) == 0)
        s->exist[s->nexist++] = uid;
    mysql_stmt_free_result(s->st_exist);
    if (rc == 1)
        return db_stmt_fail(s->db, s->st_exist);
    return 0;
}

/* s->exist = the sorted user ids of this coupon's representatives that
 * already have a row. */
static int load_existing(sink_t *s, const event_t *evs, const size_t *grp,
                         size_t n)
{
    size_t k, m = 0;

    s->nexist = 0;
    s->p_coupon = evs[grp[0]].coupon_id;
    for (k = 0; k < n; k++) {
        size_t i = grp[k];

        if (s->rep[i] != i)
            continue;
        s->p_ids[m++] = evs[i].user_id;
        if (m == SINK_EXIST_CHUNK) {
            if (exist_chunk(s) != 0)
                return -1;
            m = 0;
        }
    }
    if (m > 0) {
        for (k = m; k < SINK_EXIST_CHUNK; k++) /* pad with a repeat */
            s->p_ids[k] = s->p_ids[m - 1];
        if (exist_chunk(s) != 0)
            return -1;
    }
    qsort(s->exist, s->nexist, sizeof(*s->exist), cmp_ll);
    return 0;
}

static void bind_row(MYSQL_BIND *p, sink_row_t *row)
{
    memset(p, 0, 4 * sizeof(*p));
    p[0].buffer_type = MYSQL_TYPE_LONGLONG;
    p[0].buffer = &row->coupon_id;
    p[1].buffer_type = MYSQL_TYPE_LONGLONG;
    p[1].buffer = &row->user_id;
    p[2].buffer_type = MYSQL_TYPE_STRING;
    p[2].buffer = row->event_id;
    p[2].length = &row->event_id_len;
    p[3].buffer_type = MYSQL_TYPE_DATETIME;
    p[3].buffer = &row->issued;
}

/* Runs st over s->rows[0..n), each row bound by bind_row (row-wise array
 * binding: one round trip when the server takes arrays; a statement of
 * fewer parameters takes the first ones); *affected = the rows the server
 * changed. */
static int exec_rows(sink_t *s, MYSQL_STMT *st, size_t n,
                     unsigned long long *affected)
{
    unsigned int array = s->bulk ? (unsigned int)n : 0;
    size_t row_size = sizeof(sink_row_t), i;
    MYSQL_BIND p[4];

    *affected = 0;
    if (mysql_stmt_attr_set(st, STMT_ATTR_ARRAY_SIZE, &array) != 0 ||
        mysql_stmt_attr_set(st, STMT_ATTR_ROW_SIZE, &row_size) != 0)
        return db_stmt_fail(s->db, st);
    for (i = 0; i < n; i++) {
        bind_row(p, &s->rows[i]);
        if (mysql_stmt_bind_param(st, p) != 0 || mysql_stmt_execute(st) != 0)
            return db_stmt_fail(s->db, st);
        *affected += mysql_stmt_affected_rows(st);
        if (s->bulk)
            break; /* row 0's binding + row size covered all n rows */
    }
    return 0;
}

/* Inserts s->rows[0..n); *affected = rows the server really inserted. */
static int insert_rows(sink_t *s, size_t n, unsigned long long *affected)
{
    return exec_rows(s, s->st_insert, n, affected);
}

/* The new rows' date_used (DB_SQL_DATE_USED: its parameters are the
 * row's first two, coupon_id and user_id), for users whose redemption was
 * confirmed before their issue event arrived (the issue topic lagging the
 * redemption topic). Runs under the coupon lock, as the redemption sink's
 * own date_used update does: whichever transaction commits second sees
 * the other's rows. used_quantity, read under that lock, is the number of
 * rows holding a use (the redemption sink moves it with them), so at 0 --
 * every coupon during its sale -- there is nothing to look up. */
static int fill_date_used(sink_t *s, size_t nrows)
{
    unsigned long long changed;

    if (s->used == 0 || nrows == 0)
        return 0;
    return exec_rows(s, s->st_used, nrows, &changed);
}

static int user_exists(const sink_t *s, long long uid)
{
    return bsearch(&uid, s->exist, s->nexist, sizeof(*s->exist), cmp_ll) !=
           NULL;
}

/* Decides each event of one coupon (grp: its events in seq order) given
 * what is left (-1 = unlimited); fills s->rows with the new rows. */
static size_t decide(sink_t *s, const event_t *evs, const size_t *grp, size_t n,
                     long long left, sink_outcome_t *out)
{
    size_t k, nrows = 0;

    for (k = 0; k < n; k++) {
        size_t i = grp[k];
        sink_row_t *row;

        if (s->rep[i] != i)
            continue; /* decided below, after its representative */
        if (user_exists(s, evs[i].user_id)) {
            out[i] = SINK_DUPLICATE;
            continue;
        }
        if (left == 0) {
            out[i] = SINK_OVER_QUANTITY;
            continue;
        }
        if (left > 0)
            left--;
        out[i] = SINK_INSERTED;
        row = &s->rows[nrows++];
        row->coupon_id = evs[i].coupon_id;
        row->user_id = evs[i].user_id;
        memcpy(row->event_id, evs[i].event_id, ULID_LEN + 1);
        row->event_id_len = strlen(row->event_id);
        db_time_from_ms(evs[i].requested_at_ms, &row->issued);
    }
    for (k = 0; k < n; k++) { /* repeats of a user follow their first */
        size_t i = grp[k], r = s->rep[i];

        if (r != i)
            out[i] = out[r] == SINK_INSERTED ? SINK_DUPLICATE : out[r];
    }
    return nrows;
}

/* 1 when the coupon has room for every distinct user of grp: then no
 * outcome depends on which rows exist, and the fast path may skip the
 * existence query. */
static int room_for_all(const sink_t *s, const size_t *grp, size_t n,
                        long long left)
{
    size_t k, users = 0;

    if (left < 0)
        return 1;
    for (k = 0; k < n; k++)
        users += s->rep[grp[k]] == grp[k];
    return (long long)users <= left;
}

/* Adds the inserted rows to the coupon's count, checking the server's
 * affected-rows count first. */
static int count_rows(sink_t *s, int64_t coupon_id, size_t nrows,
                      unsigned long long affected)
{
    if (affected != nrows) {
        /* Someone wrote this coupon's rows without its lock: our count
         * would be wrong. Roll back; the retry sees their rows. */
        s->mismatch = 1;
        return db_failf(s->db,
                        "sink: coupon %lld: inserted %llu rows, expected %zu",
                        (long long)coupon_id, affected, nrows);
    }
    if (fill_date_used(s, nrows) != 0)
        return -1;
    s->p_coupon = coupon_id;
    s->p_count = (long long)nrows;
    if (mysql_stmt_execute(s->st_update) != 0)
        return db_stmt_fail(s->db, s->st_update);
    return 0;
}

/* Exact path: lock the coupon, ask which rows exist, decide, insert. */
static int apply_exact(sink_t *s, const event_t *evs, const size_t *grp,
                       size_t n, sink_outcome_t *out)
{
    int64_t cid = evs[grp[0]].coupon_id;
    unsigned long long affected;
    long long left = 0;
    size_t k, nrows;
    int found = 0;

    if (read_coupon(s, s->st_lock, cid, &found, &left) != 0)
        return -1;
    if (!found) {
        for (k = 0; k < n; k++)
            out[grp[k]] = SINK_UNKNOWN_COUPON;
        return 0;
    }
    mark_reps(s, evs, grp, n);
    if (load_existing(s, evs, grp, n) != 0)
        return -1;
    nrows = decide(s, evs, grp, n, left, out);
    if (nrows == 0)
        return 0;
    if (insert_rows(s, nrows, &affected) != 0)
        return -1;
    return count_rows(s, cid, nrows, affected);
}

/* Optimistic path, for fresh traffic: when an unlocked read shows room for
 * every user, insert first and take the coupon lock only to count, so
 * workers of one hot coupon insert in parallel and serialize only on the
 * count and the commit. The affected-rows count must show that every row
 * is new, and the locked re-read that the room is still there; otherwise
 * SINK_SLOW sends the whole call down the exact path. */
static int apply_optimistic(sink_t *s, const event_t *evs, const size_t *grp,
                            size_t n, sink_outcome_t *out)
{
    int64_t cid = evs[grp[0]].coupon_id;
    unsigned long long affected;
    long long left = 0;
    size_t nrows;
    int found = 0;

    if (read_coupon(s, s->st_peek, cid, &found, &left) != 0)
        return -1;
    mark_reps(s, evs, grp, n);
    if (!found || !room_for_all(s, grp, n, left))
        return SINK_SLOW;
    s->nexist = 0;
    nrows = decide(s, evs, grp, n, -1, out);
    if (insert_rows(s, nrows, &affected) != 0)
        return -1;
    if (affected != nrows)
        return SINK_SLOW; /* some rows existed (a replay) */
    if (read_coupon(s, s->st_lock, cid, &found, &left) != 0)
        return -1;
    if (!found || (left >= 0 && (size_t)left < nrows))
        return SINK_SLOW; /* someone took the room meanwhile */
    return count_rows(s, cid, nrows, affected);
}

static int apply_coupon(sink_t *s, const event_t *evs, const size_t *grp,
                        size_t n, sink_outcome_t *out)
{
    return s->fast ? apply_optimistic(s, evs, grp, n, out)
                   : apply_exact(s, evs, grp, n, out);
}

static int apply_all(sink_t *s, const event_t *evs, size_t n,
                     sink_outcome_t *out)
{
    size_t a = 0, b, i;
    int rc;

    for (i = 0; i < n; i++)
        s->ord[i] = i;
    qsort_r(s->ord, n, sizeof(*s->ord), cmp_coupon_seq, (void *)evs);
    if (db_begin(s->db) != 0)
        return -1;
    while (a < n) {
        b = a + 1;
        while (b < n && evs[s->ord[b]].coupon_id == evs[s->ord[a]].coupon_id)
            b++;
        rc = apply_coupon(s, evs, s->ord + a, b - a, out);
        if (rc != 0)
            return rc;
        a = b;
    }
    return db_commit(s->db);
}

int sink_apply(sink_t *s, const event_t *evs, size_t n, sink_outcome_t *out,
               char *errstr, size_t errn)
{
    int rc;

    if (n == 0)
        return SINK_OK;
    s->mismatch = 0;
    s->fast = 1;
    if (sink_grow(s, n) == 0 && sink_prepare(s) == 0) {
        rc = apply_all(s, evs, n, out);
        if (rc == SINK_SLOW) { /* a replay: duplicates are expected */
            db_rollback(s->db);
            s->fast = 0;
            rc = apply_all(s, evs, n, out);
        }
        if (rc == 0)
            return SINK_OK;
    }
    rc = s->mismatch || db_is_transient(s->db) ? SINK_ERR_TRANSIENT
                                               : SINK_ERR_PERMANENT;
    snprintf(errstr, errn, "%s", db_error(s->db));
    db_rollback(s->db);
    /* The connection may be gone or about to be replaced: prepare afresh
     * on the next call rather than trust these statements. */
    sink_drop(s);
    return rc;
}
