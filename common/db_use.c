/* db_use.c -- a coupon's redemption rows and events. See use_rows.h.
 *
 * Only the coupon id (ours) and an event id checked to be a ULID are
 * formatted into the statements. */
#include <stdio.h>
#include <string.h>

#include "db_internal.h"
#include "use_rows.h"

#define SQL_MAX      2048
#define EVENT_PREFIX "coupon.redemption."
/* The latest transition's fields out of its event's payload. */
#define EVENT_COLS                                                             \
    "IFNULL(e.event_id, ''), IFNULL(e.type, ''), "                             \
    "IFNULL(JSON_UNQUOTE(JSON_EXTRACT(e.payload, '$.reversal_id')), ''), "     \
    "IFNULL(CAST(JSON_EXTRACT(e.payload, '$.reversal_amount') AS SIGNED), "    \
    "0), "                                                                     \
    "IFNULL(CAST(JSON_EXTRACT(e.payload, '$.reversal_refund') AS SIGNED), "    \
    "0), "                                                                     \
    "IFNULL(CAST(JSON_EXTRACT(e.payload, '$.vendor_amount') AS SIGNED), 0)"
#define ROW_COLS                                                               \
    "r.id, r.user_id, r.order_id, r.order_amount, r.discount, r.state, "       \
    "r.version, CAST(ROUND(UNIX_TIMESTAMP(r.held_at) * 1000) AS SIGNED), "     \
    "CAST(ROUND(UNIX_TIMESTAMP(r.expires_at) * 1000) AS SIGNED), "             \
    "IFNULL(CAST(ROUND(UNIX_TIMESTAMP(r.confirmed_at) * 1000) AS SIGNED), "    \
    "0), "                                                                     \
    "r.reversed_amount, r.refunded_discount, IFNULL(r.vendor_id, 0), "         \
    "r.vendor_share_bps, r.reuse_after_reverse, r.use_freed"

const char *const use_state_names[USE_NSTATES] = {
    "held", "confirmed", "released", "expired", "partially_reversed", "reversed"
};

/* Copies a column into a fixed buffer; a NULL or a longer value is an
 * error (the schema bounds every one of them). */
static int col_str(db_t *db, const char *s, char *out, size_t n)
{
    if (s == NULL || strlen(s) >= n)
        return db_failf(db, "mysql: unexpected value \"%.64s\"",
                        s != NULL ? s : "NULL");
    memcpy(out, s, strlen(s) + 1);
    return 0;
}

static int snap_event(db_t *db, MYSQL_ROW row, use_snap_t *s)
{
    const char *type = row[17] != NULL ? row[17] : "";

    if (strncmp(type, EVENT_PREFIX, strlen(EVENT_PREFIX)) == 0)
        type += strlen(EVENT_PREFIX);
    if (col_str(db, row[16], s->event_id, sizeof(s->event_id)) != 0 ||
        col_str(db, type, s->type, sizeof(s->type)) != 0 ||
        col_str(db, row[18], s->reversal_id, sizeof(s->reversal_id)) != 0 ||
        db_col_int(db, row[19], &s->reversal_amount) != 0 ||
        db_col_int(db, row[20], &s->reversal_refund) != 0 ||
        db_col_int(db, row[21], &s->vendor_amount) != 0)
        return -1;
    return 0;
}

static int snap_parse(db_t *db, MYSQL_ROW row, void *item)
{
    use_snap_t *s = item;
    int64_t reuse, freed;

    if (col_str(db, row[0], s->rid, sizeof(s->rid)) != 0 ||
        col_str(db, row[1], s->user, sizeof(s->user)) != 0 ||
        col_str(db, row[2], s->order_id, sizeof(s->order_id)) != 0 ||
        db_col_int(db, row[3], &s->order_amount) != 0 ||
        db_col_int(db, row[4], &s->discount) != 0 ||
        col_str(db, row[5], s->state, sizeof(s->state)) != 0 ||
        db_col_int(db, row[6], &s->version) != 0 ||
        db_col_int(db, row[7], &s->held_ms) != 0 ||
        db_col_int(db, row[8], &s->expires_ms) != 0 ||
        db_col_int(db, row[9], &s->confirmed_ms) != 0 ||
        db_col_int(db, row[10], &s->reversed_amount) != 0 ||
        db_col_int(db, row[11], &s->refunded_discount) != 0 ||
        db_col_int(db, row[12], &s->vendor_id) != 0 ||
        db_col_int(db, row[13], &s->share_bps) != 0 ||
        db_col_int(db, row[14], &reuse) != 0 ||
        db_col_int(db, row[15], &freed) != 0)
        return -1;
    s->reuse = reuse != 0;
    s->use_freed = freed != 0;
    return snap_event(db, row, s);
}

int db_use_snaps(db_t *db, int64_t coupon_id, use_snap_t **out, size_t *n)
{
    char q[SQL_MAX];
    size_t i, k;

    /* The event of the row's version carries the latest transition; a
     * row without one (not expected: a worker writes both in one
     * transaction) gets empty event fields. */
    snprintf(q, sizeof(q),
             "SELECT " ROW_COLS ", " EVENT_COLS
             " FROM coupon_redemptions r LEFT JOIN redemption_events e ON"
             " e.redemption_id = r.id AND CAST(JSON_EXTRACT(e.payload,"
             " '$.version') AS UNSIGNED) = r.version WHERE r.coupon_id ="
             " %lld ORDER BY r.id, e.event_id",
             (long long)coupon_id);
    if (db_rows_array(db, q, sizeof(**out), snap_parse, (void **)out, n) != 0)
        return -1;
    /* Two events of one version would repeat a row: keep the first. */
    for (i = 1, k = 0; i < *n; i++)
        if (strcmp((*out)[i].rid, (*out)[k].rid) != 0)
            (*out)[++k] = (*out)[i];
    if (*n > 0)
        *n = k + 1;
    return 0;
}

static int reversal_parse(db_t *db, MYSQL_ROW row, void *item)
{
    use_reversal_t *r = item;

    if (col_str(db, row[0], r->rid, sizeof(r->rid)) != 0 ||
        col_str(db, row[1], r->event_id, sizeof(r->event_id)) != 0 ||
        col_str(db, row[3], r->reversal_id, sizeof(r->reversal_id)) != 0 ||
        db_col_int(db, row[4], &r->amount) != 0 ||
        db_col_int(db, row[5], &r->refund) != 0 ||
        db_col_int(db, row[6], &r->vendor_amount) != 0)
        return -1;
    return 0;
}

int db_use_reversals(db_t *db, int64_t coupon_id, use_reversal_t **out,
                     size_t *n)
{
    char q[SQL_MAX];

    /* EVENT_COLS: event id, type, reversal id, amount, refund, vendor
     * amount (the type is read and dropped). */
    snprintf(
        q, sizeof(q),
        "SELECT e.redemption_id, " EVENT_COLS
        " FROM redemption_events e JOIN coupon_redemptions r ON r.id ="
        " e.redemption_id WHERE r.coupon_id = %lld AND e.type = '" EVENT_PREFIX
        "reversed' ORDER BY e.redemption_id, e.event_id",
        (long long)coupon_id);
    return db_rows_array(db, q, sizeof(**out), reversal_parse, (void **)out, n);
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

int db_use_has_event(db_t *db, const char *event_id, int *found)
{
    char q[SQL_MAX];
    int64_t one;

    if (strlen(event_id) != USE_RID_LEN ||
        strspn(event_id, "0123456789ABCDEFGHJKMNPQRSTVWXYZ") != USE_RID_LEN)
        return db_failf(db, "event id \"%.40s\" is not a ULID", event_id);
    snprintf(q, sizeof(q),
             "SELECT 1 FROM redemption_events WHERE event_id = '%s'", event_id);
    return db_query_int(db, q, &one, found);
}
