/* db_use.c -- a coupon's redemption rows and events. See use_rows.h.
 *
 * Only the coupon id (ours) and redemption ids that passed ulid_valid (26
 * Crockford characters: nothing to quote) are formatted into the
 * statements. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_internal.h"
#include "ulid.h"
#include "use_rows.h"

#define SQL_MAX      1024
#define EVENT_PREFIX "coupon.redemption."

const char *const use_state_names[USE_NSTATES] = {
    "held", "confirmed", "released", "expired", "partially_reversed", "reversed"
};

typedef struct rows_cb {
    int (*fn)(void *arg, const use_row_t *row);
    int (*payload_fn)(void *arg, const char *rid, const char *payload,
                      size_t len);
    void *arg;
} rows_cb_t;

static int use_row(db_t *db, MYSQL_ROW row, void *arg)
{
    rows_cb_t *cb = arg;
    use_row_t r;

    memset(&r, 0, sizeof(r));
    if (row[0] == NULL || row[2] == NULL ||
        db_col_int(db, row[1], &r.version) != 0)
        return db_failf(db, "mysql: unexpected redemption row");
    r.rid = row[0];
    r.state = row[2];
    r.payload = row[3];
    r.payload_len = row[3] != NULL ? strlen(row[3]) : 0;
    if (cb->fn(cb->arg, &r) != 0)
        return db_failf(db, "stopped while reading the redemption rows");
    return 0;
}

/* " AND r.id IN ('<rid>',...)" for rids (n of them, RID stride), or ""
 * when rids is NULL; malloc'd, NULL (reported) on a bad id or no memory. */
static char *rid_filter(db_t *db, const char *col, const char *rids, size_t n)
{
    size_t i, len = 0, cap = 32 + strlen(col) + n * (ULID_LEN + 3);
    char *f = malloc(cap);

    if (f == NULL) {
        db_failf(db, "out of memory");
        return NULL;
    }
    f[0] = '\0';
    if (rids == NULL)
        return f;
    if (n == 0 || n > USE_ROWS_IN_MAX) {
        free(f);
        db_failf(db, "redemption id list of %zu (1..%d)", n, USE_ROWS_IN_MAX);
        return NULL;
    }
    len = (size_t)snprintf(f, cap, " AND %s IN (", col);
    for (i = 0; i < n; i++) {
        const char *rid = rids + i * USE_RID_STRIDE;

        if (!ulid_valid(rid, strnlen(rid, USE_RID_STRIDE))) {
            free(f);
            db_failf(db, "not a redemption id: %.32s", rid);
            return NULL;
        }
        len +=
            (size_t)snprintf(f + len, cap - len, "%s'%s'", i ? "," : "", rid);
    }
    snprintf(f + len, cap - len, ")");
    return f;
}

/* A statement of the format fmt ("%lld ... %s": the coupon id, then the
 * rid filter) streamed to row_fn. */
static int rows_query(db_t *db, const char *fmt, int64_t coupon_id,
                      const char *col, const char *rids, size_t n,
                      db_row_fn row_fn, rows_cb_t *cb)
{
    char *filter = rid_filter(db, col, rids, n), *q;
    size_t cap;
    int rc;

    if (filter == NULL)
        return -1;
    cap = strlen(fmt) + strlen(filter) + 32;
    if ((q = malloc(cap)) == NULL) {
        free(filter);
        return db_failf(db, "out of memory");
    }
    snprintf(q, cap, fmt, (long long)coupon_id, filter);
    rc = db_each_row(db, q, row_fn, cb);
    free(q);
    free(filter);
    return rc;
}

int db_use_rows(db_t *db, int64_t coupon_id, const char *rids, size_t n,
                int (*fn)(void *arg, const use_row_t *row), void *arg)
{
    rows_cb_t cb = { fn, NULL, arg };

    /* The payload of the row's version, of the event the worker applied
     * (schemas/mysql/004: a stale or illegal one only sits beside it); two
     * applied events of one version (not possible: a version comes from
     * one use.lua transition) would show the row twice. */
    return rows_query(db,
                      "SELECT r.id, r.version, r.state, e.payload FROM"
                      " coupon_redemptions r LEFT JOIN redemption_events e ON"
                      " e.redemption_id = r.id AND e.outcome = 'applied' AND"
                      " CAST(JSON_EXTRACT(e.payload, '$.version') AS UNSIGNED)"
                      " = r.version WHERE r.coupon_id = %lld%s ORDER BY r.id",
                      coupon_id, "r.id", rids, n, use_row, &cb);
}

int db_use_row_keys(db_t *db, int64_t coupon_id,
                    int (*fn)(void *arg, const use_row_t *row), void *arg)
{
    rows_cb_t cb = { fn, NULL, arg };

    return rows_query(db,
                      "SELECT id, version, state, NULL FROM coupon_redemptions"
                      " WHERE coupon_id = %lld%s ORDER BY id",
                      coupon_id, "id", NULL, 0, use_row, &cb);
}

static int reversal_row(db_t *db, MYSQL_ROW row, void *arg)
{
    rows_cb_t *cb = arg;

    if (row[0] == NULL || row[1] == NULL)
        return db_failf(db, "mysql: reversal event without payload");
    if (cb->payload_fn(cb->arg, row[0], row[1], strlen(row[1])) != 0)
        return db_failf(db, "stopped while reading the reversal events");
    return 0;
}

int db_use_reversals(db_t *db, int64_t coupon_id, const char *rids, size_t n,
                     int (*fn)(void *arg, const char *rid, const char *payload,
                               size_t len),
                     void *arg)
{
    rows_cb_t cb = { NULL, fn, arg };

    /* Applied or stale (a real reversal consumed after a later version);
     * an illegal transition is no reversal use.lua made from that row. */
    return rows_query(
        db,
        "SELECT e.redemption_id, e.payload FROM redemption_events e JOIN"
        " coupon_redemptions r ON r.id = e.redemption_id WHERE"
        " r.coupon_id = %lld%s AND e.type = '" EVENT_PREFIX
        "reversed' AND e.outcome <> 'illegal_transition'"
        " ORDER BY e.redemption_id, e.event_id",
        coupon_id, "r.id", rids, n, reversal_row, &cb);
}

static int state_row(db_t *db, MYSQL_ROW row, void *arg)
{
    int64_t *counts = arg, v;
    size_t i;

    if (row[0] == NULL || db_col_int(db, row[1], &v) != 0)
        return db_failf(db, "mysql: unexpected state row");
    for (i = 0; i < USE_NSTATES; i++)
        if (strcmp(row[0], use_state_names[i]) == 0)
            counts[i] += v;
    return 0;
}

int db_use_states(db_t *db, int64_t coupon_id, int64_t counts[USE_NSTATES])
{
    char q[SQL_MAX];

    memset(counts, 0, USE_NSTATES * sizeof(counts[0]));
    snprintf(q, sizeof(q),
             "SELECT IF(state = 'held' AND expires_at <= NOW(3), 'expired',"
             " state) AS s, COUNT(*) FROM coupon_redemptions WHERE"
             " coupon_id = %lld GROUP BY s",
             (long long)coupon_id);
    return db_each_row(db, q, state_row, counts);
}
