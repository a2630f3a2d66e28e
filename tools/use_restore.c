/* use_restore.c -- restoring a coupon's Redis use state from MySQL and
 * Kafka. See use_restore.h.
 *
 * Reads in the order that keeps a running system from looking broken: the
 * topic's committed offsets before the rows (an event below a committed
 * offset is in the rows read later; from the offset on, in the scan), and
 * the rows before the Redis records (a row implies its record existed
 * earlier, at that version or a later one). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "live_use.h"
#include "rid_list.h"
#include "use_restore.h"
#include "use_rows.h"
#include "userec.h"

#define RESTORE_BATCH 200
#define REV_FIELD_MAX (RID_LEN + REDEMPTION_ID_MAX + 2)
#define REV_VALUE_MAX 256

/* Restoring reads only what Redis lacks. The rows' ids and versions come
 * first (no events: cheap), then use:recs is asked which of those it has
 * (live_use_probe), and only the redemptions it lacks or has older, or
 * whose finish is pending at the row's version, get their events read and
 * their records written. A record use.lua wrote came with its use:revs
 * entries in the same script, and the restore writes a redemption's revs
 * entries before its record, so a record at the row's version has its
 * reversals too. A dataset that kept most records (an AOF restart, a
 * failover with a short lag) thus costs a version check per row, not an
 * event decode. */
typedef struct restore {
    tool_t *t;
    live_t *live;
    int64_t id;
    use_restore_t *st;
    /* With filtered, only these rids (sorted char[RID_LEN + 1]). */
    int filtered;
    const char *only;
    size_t nonly;
    char rid[RESTORE_BATCH][RID_LEN + 1];
    char json[RESTORE_BATCH][USEREC_MAX];
    live_rec_t recs[RESTORE_BATCH];
    size_t n;
    char field[RESTORE_BATCH][REV_FIELD_MAX];
    char value[RESTORE_BATCH][REV_VALUE_MAX];
    const char *fields[RESTORE_BATCH], *values[RESTORE_BATCH];
    size_t nrev;
    int counted;     /* the use hash existed at the last batch */
    int failed;      /* a callback failed and reported why */
    due_list_t rows; /* the rows (wanted ones), rid and version */
    rid_list_t need; /* those whose events are read (sorted) */
    int streamed;    /* read all the coupon's events, keep need's */
    /* With finish, the release events seen (rows and topic): a record
     * still pending at one of those versions gets its finish. */
    int finish;
    due_list_t released;
} restore_t;

/* A failure of the restore's Redis connection, reported. */
static int restore_live_fail(restore_t *r)
{
    r->failed = 1;
    return tool_fail(r->t, TOOL_EXIT_ERROR, "%s", live_error(r->live)), -1;
}

static int restore_oom(restore_t *r)
{
    r->failed = 1;
    return tool_fail(r->t, TOOL_EXIT_ERROR, "out of memory"), -1;
}

/* The revs entries first, then the records: see above. */
static int restore_flush(restore_t *r)
{
    int64_t written = 0;

    if (r->nrev > 0 && live_use_restore_revs(r->live, r->id, r->fields,
                                             r->values, r->nrev, &written) != 0)
        return restore_live_fail(r);
    r->st->revs += written;
    r->nrev = 0;
    written = 0;
    if (live_use_restore(r->live, r->id, r->recs, r->n, &written,
                         &r->counted) != 0)
        return restore_live_fail(r);
    r->st->written += written;
    r->n = 0;
    return 0;
}

static int wanted(const restore_t *r, const char *rid)
{
    return !r->filtered ||
           (r->nonly > 0 &&
            bsearch(rid, r->only, r->nonly, RID_LEN + 1, rid_list_cmp) != NULL);
}

/* One redemption's latest event into the batch. */
static int restore_add(restore_t *r, const redemption_event_t *ev)
{
    char err[256];

    if (!wanted(r, ev->redemption_id))
        return 0;
    if (r->finish &&
        (ev->type == REDEMPTION_RELEASED ||
         (ev->type == REDEMPTION_REVERSED && ev->use_freed)) &&
        due_list_add(&r->released, ev->redemption_id, ev->version) != 0)
        return restore_oom(r);
    if (userec_build(ev, r->json[r->n], USEREC_MAX, err, sizeof(err)) < 0) {
        tool_note(r->t, "redemption %s: %s; skipped", ev->redemption_id, err);
        r->st->invalid++;
        return 0;
    }
    memcpy(r->rid[r->n], ev->redemption_id, RID_LEN + 1);
    r->recs[r->n].rid = r->rid[r->n];
    r->recs[r->n].json = r->json[r->n];
    if (++r->n == RESTORE_BATCH)
        return restore_flush(r);
    return 0;
}

/* One reversal's revs entry into the batch. */
static int restore_rev(restore_t *r, const redemption_event_t *ev)
{
    size_t i = r->nrev;

    if (!wanted(r, ev->redemption_id) ||
        userec_reversal(ev, r->field[i], REV_FIELD_MAX, r->value[i],
                        REV_VALUE_MAX) != 0)
        return 0;
    r->fields[i] = r->field[i];
    r->values[i] = r->value[i];
    if (++r->nrev == RESTORE_BATCH)
        return restore_flush(r);
    return 0;
}

static int decode(restore_t *r, const char *json, size_t len,
                  redemption_event_t *ev)
{
    char err[256];

    if (redemption_event_decode(json, len, ev, err, sizeof(err)) == EVENT_OK)
        return 0;
    r->st->invalid++;
    return -1;
}

/* Of the events read from MySQL, the ones of r->need. */
static int needed(const restore_t *r, const char *rid)
{
    return !r->streamed || bsearch(rid, r->need.v, r->need.n,
                                   sizeof(*r->need.v), rid_list_cmp) != NULL;
}

/* A row's id and version (db_use_row_keys). */
static int key_fn(void *arg, const use_row_t *row)
{
    restore_t *r = arg;

    r->st->rows++;
    if (!wanted(r, row->rid))
        return 0;
    return due_list_add(&r->rows, row->rid, row->version) != 0 ? restore_oom(r)
                                                               : 0;
}

/* What Redis has of each redemption of l at its version (live_use_probe):
 * a malloc'd array of l->n (> 0), or NULL (reported). */
static live_rec_status_t *probe(restore_t *r, const due_list_t *l)
{
    live_rec_status_t *s = malloc(l->n * sizeof(*s));
    live_ver_t *v = malloc(l->n * sizeof(*v));
    size_t i;

    if (v == NULL || s == NULL) {
        restore_oom(r);
        goto err;
    }
    for (i = 0; i < l->n; i++) {
        v[i].rid = l->v[i].rid;
        v[i].version = l->v[i].version;
    }
    if (live_use_probe(r->live, r->id, v, l->n, s) != 0) {
        restore_live_fail(r);
        goto err;
    }
    free(v);
    return s;
err:
    free(v);
    free(s);
    return NULL;
}

/* r->need: the rows whose record Redis lacks, has older, or holds pending
 * at the row's version (its finish may be due: the row's event says). */
static int restore_needed(restore_t *r)
{
    live_rec_status_t *s;
    size_t i;
    int rc = 0;

    if (r->rows.n == 0)
        return 0;
    if ((s = probe(r, &r->rows)) == NULL)
        return -1;
    for (i = 0; i < r->rows.n && rc == 0; i++)
        if (s[i] != LIVE_REC_HAVE &&
            rid_list_add(&r->need, r->rows.v[i].rid) != 0)
            rc = restore_oom(r);
    free(s);
    rid_list_unique(&r->need);
    return rc;
}

static int row_fn(void *arg, const use_row_t *row)
{
    restore_t *r = arg;
    redemption_event_t ev;

    if (!needed(r, row->rid))
        return 0;
    r->st->fetched++;
    if (row->payload == NULL) {
        /* Without its event the record would lack the event id that a
         * re-produce must carry (a new id would be a second ledger line). */
        tool_note(r->t,
                  "redemption %s: no event of version %" PRId64
                  " in redemption_events; not restored",
                  row->rid, row->version);
        r->st->rows_skipped++;
        return 0;
    }
    if (decode(r, row->payload, row->payload_len, &ev) != 0)
        return 0;
    return restore_add(r, &ev);
}

static int rev_fn(void *arg, const char *rid, const char *payload, size_t len)
{
    restore_t *r = arg;
    redemption_event_t ev;

    if (!needed(r, rid) || decode(r, payload, len, &ev) != 0)
        return 0;
    return restore_rev(r, &ev);
}

/* A db_use_* read that stopped: the callback reported why, else the db. */
static int restore_db_fail(restore_t *r, db_t *db)
{
    if (!r->failed)
        tool_fail(r->t, TOOL_EXIT_ERROR, "%s", db_error(db));
    return -1;
}

/* The events of r->need from MySQL, the reversals (revs entries) before
 * the rows' latest events (records): USE_ROWS_IN_MAX redemptions a query,
 * or, when more than a quarter of the rows are needed, all the coupon's
 * in one streamed query each, the rest skipped (a list of ids costs a
 * lookup per id: about twice the streamed join per row, measured). */
static int restore_rows(restore_t *r, db_t *db)
{
    const char *rids;
    size_t off, k;

    if (r->need.n > r->rows.n / 4) {
        r->streamed = 1;
        if (db_use_reversals(db, r->id, NULL, 0, rev_fn, r) != 0 ||
            (r->nrev > 0 && restore_flush(r) != 0) ||
            db_use_rows(db, r->id, NULL, 0, row_fn, r) != 0)
            return restore_db_fail(r, db);
        return 0;
    }
    for (off = 0; off < r->need.n; off += k) {
        k = r->need.n - off;
        if (k > USE_ROWS_IN_MAX)
            k = USE_ROWS_IN_MAX;
        rids = (const char *)r->need.v[off];
        if (db_use_reversals(db, r->id, rids, k, rev_fn, r) != 0 ||
            (r->nrev > 0 && restore_flush(r) != 0) ||
            db_use_rows(db, r->id, rids, k, row_fn, r) != 0)
            return restore_db_fail(r, db);
    }
    return 0;
}

static int topic_fn(void *arg, const topic_msg_t *m)
{
    restore_t *r = arg;
    redemption_event_t ev;

    if (decode(r, m->value, m->len, &ev) != 0 || ev.coupon_id != r->id)
        return 0;
    r->st->events++;
    if ((ev.type == REDEMPTION_REVERSED && restore_rev(r, &ev) != 0) ||
        restore_add(r, &ev) != 0)
        return -1;
    return 0;
}

/* The redemption topic's committed offsets (-1 where none), read first;
 * *n = 0 when the topic does not exist (then it holds no events). */
static int restore_offsets(tool_t *t, int32_t *n, int64_t *committed)
{
    const char *topic = config_str(tool_cfg(t), "redemption-topic");
    topic_t *k = tool_kafka(t);

    if (k == NULL)
        return -1;
    if (topic_partitions_any(k, topic, n) != 0 ||
        (*n > 0 && topic_committed(k, topic, *n, committed) != 0))
        return tool_fail(t, TOOL_EXIT_ERROR, "%s", topic_error(k)), -1;
    return 0;
}

static int restore_topic(restore_t *r, int32_t n, const int64_t *committed)
{
    const char *topic = config_str(tool_cfg(r->t), "redemption-topic");
    int64_t lo[TOPIC_MAX_PARTITIONS], hi[TOPIC_MAX_PARTITIONS];
    topic_t *k = tool_kafka(r->t);
    int32_t p;

    if (n == 0)
        return 0;
    if (topic_all_watermarks(k, topic, n, lo, hi) != 0)
        return tool_fail(r->t, TOOL_EXIT_ERROR, "%s", topic_error(k)), -1;
    for (p = 0; p < n; p++)
        if (committed[p] > lo[p])
            lo[p] = committed[p];
    if (topic_scan(k, topic, n, lo, hi, topic_fn, r) != 0) {
        if (topic_error(k)[0] != '\0')
            tool_fail(r->t, TOOL_EXIT_ERROR, "%s", topic_error(k));
        return -1;
    }
    return 0;
}

/* The records taking a use, by rid (HSCAN may return one twice). */
static int count_fn(void *arg, const char *rid, const char *json, size_t len)
{
    rid_list_t *taken = arg;
    char err[128];
    userec_t rec;

    if (userec_parse(json, len, &rec, err, sizeof(err)) == 0 &&
        userec_takes_use(rec.state, rec.freed))
        return rid_list_add(taken, rid);
    return 0;
}

/* No use hash: while it is missing every use.lua op answers not_found, so
 * the records stand still and `confirmed` is the number taking a use. */
static int restore_use_hash(restore_t *r, const coupon_t *c)
{
    rid_list_t taken = { NULL, 0, 0 };
    live_use_t u;
    int written, rc = -1;

    if (live_use_records(r->live, r->id, count_fn, &taken) != 0) {
        tool_fail(r->t, TOOL_EXIT_ERROR, "%s", live_error(r->live));
        goto out;
    }
    live_use_from_coupon(c, &u);
    u.confirmed = (int64_t)rid_list_unique(&taken);
    if (live_use_set(r->live, r->id, &u, 1, &written) != 0) {
        tool_fail(r->t, TOOL_EXIT_ERROR, "%s", live_error(r->live));
        goto out;
    }
    r->st->use_hash_written = written;
    rc = 0;
out:
    free(taken.v);
    return rc;
}

/* The finishes the dataset lost. The api finishes a release right after
 * Kafka acknowledged its event; a crash before the AOF had that finish, or
 * a failover before a replica had it, loses the finish but may keep the
 * transition: the record stays pending (`p` 1) and its budget held for
 * ever (a given-back use) or until the hold's expiry. Its event being in
 * MySQL or the topic at the record's version is exactly what the api waited
 * for, so the finish is due; use.lua runs it only at that version and only
 * once (an api finishing the same record meanwhile makes ours answer 0).
 * The records still pending at a released version are asked for after the
 * restore (which writes none pending). */
static int restore_finish(restore_t *r)
{
    live_rec_status_t *s;
    due_t *d = r->released.v;
    size_t i, n;
    int done, rc = 0;

    if (r->released.n == 0) /* d is NULL then: qsort must not see it */
        return 0;
    qsort(d, r->released.n, sizeof(*d), due_list_cmp);
    for (i = n = 0; i < r->released.n; i++) /* the same event twice */
        if (n == 0 || due_list_cmp(&d[i], &d[n - 1]) != 0)
            d[n++] = d[i];
    r->released.n = n;
    if (n == 0)
        return 0;
    if ((s = probe(r, &r->released)) == NULL)
        return -1;
    for (i = 0; i < n && rc == 0; i++) {
        if (s[i] != LIVE_REC_PENDING)
            continue;
        if (live_use_finish(r->live, r->id, d[i].rid, d[i].version, &done) != 0)
            rc = restore_live_fail(r);
        else
            r->st->finished += done;
    }
    free(s);
    return rc;
}

static int restore_run(restore_t *r, const coupon_t *c, int with_topic)
{
    int64_t committed[TOPIC_MAX_PARTITIONS];
    db_t *db = tool_db(r->t);
    int32_t n = 0;

    if (db == NULL || (with_topic && restore_offsets(r->t, &n, committed) != 0))
        return -1;
    if (db_use_row_keys(db, r->id, key_fn, r) != 0)
        return restore_db_fail(r, db);
    if (restore_needed(r) != 0 || restore_rows(r, db) != 0 ||
        (with_topic && restore_topic(r, n, committed) != 0) ||
        restore_flush(r) != 0 || (r->finish && restore_finish(r) != 0))
        return -1;
    if (!r->counted && c != NULL)
        return restore_use_hash(r, c);
    return 0;
}

/* A restore_t for coupon c (calloc'd, with its batches: too large for
 * the stack), or NULL (reported). */
static restore_t *restore_new(tool_t *t, live_t *live, const coupon_t *c,
                              use_restore_t *st)
{
    restore_t *r = calloc(1, sizeof(*r));

    memset(st, 0, sizeof(*st));
    if (r == NULL) {
        tool_fail(t, TOOL_EXIT_ERROR, "out of memory");
        return NULL;
    }
    r->t = t;
    r->live = live;
    r->id = c->id;
    r->st = st;
    return r;
}

static void restore_free(restore_t *r)
{
    free(r->rows.v);
    free(r->need.v);
    free(r->released.v);
    free(r);
}

int use_repair_restore(tool_t *t, live_t *live, const coupon_t *c,
                       use_restore_t *st)
{
    restore_t *r = restore_new(t, live, c, st);
    int rc;

    if (r == NULL)
        return -1;
    r->finish = 1;
    rc = restore_run(r, c, 1);
    restore_free(r);
    return rc;
}

int use_restore_only(tool_t *t, live_t *live, const coupon_t *c,
                     const char *only, size_t nonly, use_restore_t *st)
{
    restore_t *r = restore_new(t, live, c, st);
    int rc;

    if (r == NULL)
        return -1;
    r->filtered = 1;
    r->only = only;
    r->nonly = nonly;
    rc = restore_run(r, c, 0);
    restore_free(r);
    return rc;
}
