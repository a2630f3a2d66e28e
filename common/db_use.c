/* db_use.c -- a coupon's redemption rows and events. See use_rows.h.
 *
 * Only the coupon id (ours) is formatted into the statements. */
#include <stdio.h>
#include <string.h>

#include "db_internal.h"
#include "use_rows.h"

#define SQL_MAX      1024
#define EVENT_PREFIX "coupon.redemption."

const char *const use_state_names[USE_NSTATES] = {
    "held", "confirmed", "released", "expired", "partially_reversed", "reversed"
};

typedef struct rows_cb {
    int (*fn)(void *arg, const use_row_t *row);
    int (*payload_fn)(void *arg, const char *payload, size_t len);
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

int db_use_rows(db_t *db, int64_t coupon_id,
                int (*fn)(void *arg, const use_row_t *row), void *arg)
{
    rows_cb_t cb = { fn, NULL, arg };
    char q[SQL_MAX];

    /* The payload of the row's version, of the event the worker applied
     * (schemas/mysql/004: a stale or illegal one only sits beside it); two
     * applied events of one version (not possible: a version comes from
     * one use.lua transition) would show the row twice. */
    snprintf(q, sizeof(q),
             "SELECT r.id, r.version, r.state, e.payload FROM"
             " coupon_redemptions r LEFT JOIN redemption_events e ON"
             " e.redemption_id = r.id AND e.outcome = 'applied' AND"
             " CAST(JSON_EXTRACT(e.payload, '$.version') AS UNSIGNED) ="
             " r.version WHERE r.coupon_id = %lld ORDER BY r.id",
             (long long)coupon_id);
    return db_each_row(db, q, use_row, &cb);
}

static int reversal_row(db_t *db, MYSQL_ROW row, void *arg)
{
    rows_cb_t *cb = arg;

    if (row[0] == NULL)
        return db_failf(db, "mysql: reversal event without payload");
    if (cb->payload_fn(cb->arg, row[0], strlen(row[0])) != 0)
        return db_failf(db, "stopped while reading the reversal events");
    return 0;
}

int db_use_reversals(db_t *db, int64_t coupon_id,
                     int (*fn)(void *arg, const char *payload, size_t len),
                     void *arg)
{
    rows_cb_t cb = { NULL, fn, arg };
    char q[SQL_MAX];

    /* Applied or stale (a real reversal consumed after a later version);
     * an illegal transition is no reversal use.lua made from that row. */
    snprintf(q, sizeof(q),
             "SELECT e.payload FROM redemption_events e JOIN"
             " coupon_redemptions r ON r.id = e.redemption_id WHERE"
             " r.coupon_id = %lld AND e.type = '" EVENT_PREFIX "reversed'"
             " AND e.outcome <> 'illegal_transition'"
             " ORDER BY e.redemption_id, e.event_id",
             (long long)coupon_id);
    return db_each_row(db, q, reversal_row, &cb);
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
