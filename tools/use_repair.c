/* use_repair.c -- Redis use state vs MySQL and Kafka. See use_repair.h.
 *
 * Reads in the order that keeps a running system from looking broken: the
 * topic's committed offsets before the rows (an event below a committed
 * offset is in the rows read later; from the offset on, in the scan), and
 * the rows before the Redis records (a row implies its record existed
 * earlier, at that version or a later one). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "live_use.h"
#include "use_repair.h"
#include "use_rows.h"
#include "userec.h"

#define RESTORE_BATCH    200
#define FLUSH_TIMEOUT_MS 30000

/* ------------------------------------------------------------ rid lists */

/* The array at v, with room for *cap elements of size, holding n: itself
 * while there is room for one more, else grown (first elements at first,
 * then doubled); NULL when out of memory (v is kept). */
static void *grow(void *v, size_t *cap, size_t n, size_t size, size_t first)
{
    size_t ncap;
    void *grown;

    if (n < *cap)
        return v;
    ncap = *cap != 0 ? *cap * 2 : first;
    grown = realloc(v, ncap * size);
    if (grown != NULL)
        *cap = ncap;
    return grown;
}

typedef struct rid_list {
    char (*v)[RID_LEN + 1];
    size_t n, cap;
} rid_list_t;

static int list_add(rid_list_t *l, const char *rid)
{
    void *grown = grow(l->v, &l->cap, l->n, sizeof(*l->v), 16);

    if (grown == NULL)
        return -1;
    l->v = grown;
    snprintf(l->v[l->n++], RID_LEN + 1, "%s", rid);
    return 0;
}

static int rid_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Sorts the list and drops repeats; returns the new length. */
static size_t list_unique(rid_list_t *l)
{
    size_t i, k = 0;

    if (l->n < 2)
        return l->n;
    qsort(l->v, l->n, sizeof(*l->v), rid_cmp);
    for (i = 1; i < l->n; i++)
        if (strcmp(l->v[i], l->v[k]) != 0)
            memcpy(l->v[++k], l->v[i], sizeof(l->v[i]));
    l->n = k + 1;
    return l->n;
}

/* A redemption at one version: a record whose release (cancel, give-back
 * reversal) waits for its finish, or a release event that is durable. */
typedef struct due {
    char rid[RID_LEN + 1];
    int64_t version;
} due_t;

typedef struct due_list {
    due_t *v;
    size_t n, cap;
} due_list_t;

static int due_add(due_list_t *l, const char *rid, int64_t version)
{
    void *grown = grow(l->v, &l->cap, l->n, sizeof(*l->v), 16);

    if (grown == NULL)
        return -1;
    l->v = grown;
    snprintf(l->v[l->n].rid, sizeof(l->v[l->n].rid), "%s", rid);
    l->v[l->n++].version = version;
    return 0;
}

static int due_cmp(const void *a, const void *b)
{
    const due_t *x = a, *y = b;
    int c = strcmp(x->rid, y->rid);

    if (c != 0)
        return c;
    return x->version < y->version ? -1 : x->version > y->version;
}

/* ------------------------------------------------------------ restore */

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
            bsearch(rid, r->only, r->nonly, RID_LEN + 1, rid_cmp) != NULL);
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
        due_add(&r->released, ev->redemption_id, ev->version) != 0)
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
                                   sizeof(*r->need.v), rid_cmp) != NULL;
}

/* A row's id and version (db_use_row_keys). */
static int key_fn(void *arg, const use_row_t *row)
{
    restore_t *r = arg;

    r->st->rows++;
    if (!wanted(r, row->rid))
        return 0;
    return due_add(&r->rows, row->rid, row->version) != 0 ? restore_oom(r) : 0;
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
        if (s[i] != LIVE_REC_HAVE && list_add(&r->need, r->rows.v[i].rid) != 0)
            rc = restore_oom(r);
    free(s);
    list_unique(&r->need);
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
        return list_add(taken, rid);
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
    u.confirmed = (int64_t)list_unique(&taken);
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
    qsort(d, r->released.n, sizeof(*d), due_cmp);
    for (i = n = 0; i < r->released.n; i++) /* the same event twice */
        if (n == 0 || due_cmp(&d[i], &d[n - 1]) != 0)
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

/* ------------------------------------------------------------ reconcile */

typedef struct row_key {
    char rid[RID_LEN + 1];
    int64_t version;
    char state[20];
    int seen;
} row_key_t;

/* The differences, in the order reported. */
enum {
    D_MISSING_ROW,   /* a record, no row: its events never reached MySQL */
    D_ROW_BEHIND,    /* the row is older than the record */
    D_REDIS_MISSING, /* a row, no record: Redis lost it */
    D_REDIS_BEHIND,  /* the record is older than the row */
    D_STATE_DIFFERS, /* same version, other state */
    D_FINISH_DUE,    /* p = 1 and the event is in MySQL */
    D_BAD_RECORD,    /* a record use.lua would refuse too */
    D_N
};

static const char *const diff_names[D_N] = {
    "use_missing_row",  "use_row_behind",    "use_redis_missing",
    "use_redis_behind", "use_state_differs", "use_finish_due",
    "use_bad_record",
};

typedef struct rec {
    tool_t *t;
    int64_t id;
    row_key_t *rows;
    size_t nrows, cap;
    int64_t records;
    int use_hash; /* the use hash exists */
    rid_list_t d[D_N];
    int64_t *finish_version; /* per D_FINISH_DUE entry */
    size_t nfinish_cap;
} rec_t;

static int key_row(void *arg, const use_row_t *row)
{
    rec_t *x = arg;
    row_key_t *k;
    void *grown;

    if (x->nrows > 0 && strcmp(x->rows[x->nrows - 1].rid, row->rid) == 0)
        return 0; /* the same row twice (see db_use_rows) */
    grown = grow(x->rows, &x->cap, x->nrows, sizeof(*x->rows), 256);
    if (grown == NULL)
        return -1;
    x->rows = grown;
    k = &x->rows[x->nrows++];
    memset(k, 0, sizeof(*k));
    snprintf(k->rid, sizeof(k->rid), "%s", row->rid);
    snprintf(k->state, sizeof(k->state), "%s", row->state);
    k->version = row->version;
    return 0;
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp(((const row_key_t *)a)->rid, ((const row_key_t *)b)->rid);
}

static int finish_add(rec_t *x, const char *rid, int64_t version)
{
    rid_list_t *l = &x->d[D_FINISH_DUE];

    int64_t *grown =
        grow(x->finish_version, &x->nfinish_cap, l->n, sizeof(*grown), 16);

    if (grown == NULL)
        return -1;
    x->finish_version = grown;
    x->finish_version[l->n] = version;
    return list_add(l, rid);
}

/* One Redis record against its row. */
static int rec_fn(void *arg, const char *rid, const char *json, size_t len)
{
    rec_t *x = arg;
    row_key_t key, *row;
    char err[128];
    userec_t r;

    x->records++;
    if (userec_parse(json, len, &r, err, sizeof(err)) != 0)
        return list_add(&x->d[D_BAD_RECORD], rid);
    snprintf(key.rid, sizeof(key.rid), "%.26s", rid);
    row = x->nrows > 0
              ? bsearch(&key, x->rows, x->nrows, sizeof(*x->rows), key_cmp)
              : NULL;
    if (row == NULL)
        return list_add(&x->d[D_MISSING_ROW], rid);
    if (row->seen++)
        return 0; /* HSCAN returned it twice */
    if (row->version < r.version && list_add(&x->d[D_ROW_BEHIND], rid) != 0)
        return -1;
    if (row->version > r.version)
        return list_add(&x->d[D_REDIS_BEHIND], rid);
    if (row->version == r.version && strcmp(row->state, r.state) != 0 &&
        list_add(&x->d[D_STATE_DIFFERS], rid) != 0)
        return -1;
    if (r.pending && row->version == r.version)
        return finish_add(x, rid, r.version);
    return 0;
}

static void rec_free(rec_t *x)
{
    size_t i;

    free(x->rows);
    for (i = 0; i < D_N; i++)
        free(x->d[i].v);
    free(x->finish_version);
}

static int rec_gather(rec_t *x)
{
    db_t *db = tool_db(x->t);
    live_t *live = tool_live(x->t);
    int64_t limit, confirmed, holds;
    size_t i;

    if (db == NULL || live == NULL)
        return -1;
    if (db_use_row_keys(db, x->id, key_row, x) != 0)
        return tool_fail(x->t, TOOL_EXIT_ERROR, "%s", db_error(db)), -1;
    if (x->nrows > 1)
        qsort(x->rows, x->nrows, sizeof(*x->rows), key_cmp);
    if (live_use_budget(live, x->id, &limit, &confirmed, &holds,
                        &x->use_hash) != 0 ||
        live_use_records(live, x->id, rec_fn, x) != 0)
        return tool_fail(x->t, TOOL_EXIT_ERROR, "%s", live_error(live)), -1;
    for (i = 0; i < x->nrows; i++)
        if (!x->rows[i].seen &&
            list_add(&x->d[D_REDIS_MISSING], x->rows[i].rid) != 0)
            return tool_fail(x->t, TOOL_EXIT_ERROR, "out of memory"), -1;
    /* A record HSCAN returned twice without a row is listed once. */
    list_unique(&x->d[D_MISSING_ROW]);
    list_unique(&x->d[D_BAD_RECORD]);
    return 0;
}

/* A coupon without a use hash is a difference only once it has redemption
 * state: one made before redemptions existed (or by hand) has none. */
static int rec_differs(const rec_t *x)
{
    size_t i;

    for (i = 0; i < D_N; i++)
        if (x->d[i].n > 0)
            return 1;
    return !x->use_hash && (x->nrows > 0 || x->records > 0);
}

static void rec_report(tool_t *t, const rec_t *x)
{
    size_t i;

    tool_set_bool(t, "use_hash", x->use_hash);
    tool_set_int(t, "use_records", x->records);
    tool_set_int(t, "use_rows", (int64_t)x->nrows);
    for (i = 0; i < D_N; i++)
        tool_set_strs(t, diff_names[i], (const char *)x->d[i].v, RID_LEN + 1,
                      x->d[i].n);
    tool_set_bool(t, "use_consistent", !rec_differs(x));
}

/* --repair (a): the latest event of each record Kafka/MySQL lack. Once
 * Kafka acknowledged them, the finishes they waited for run too (*finished
 * counts them): the api finishes right after the acknowledgement, so the
 * repair may as well -- waiting for the rows would leave those finishes to
 * a second --repair. */
static int repair_produce(rec_t *x, int64_t *produced, int64_t *finished)
{
    const char *topic = config_str(tool_cfg(x->t), "redemption-topic");
    static const int lists[] = { D_MISSING_ROW, D_ROW_BEHIND };
    live_t *live = tool_live(x->t);
    topic_t *k = tool_kafka(x->t);
    live_use_res_t res;
    live_use_get_t g;
    int64_t failed;
    size_t i, j, ndue = 0;
    due_t *due;
    int rc = -1, done;

    if (k == NULL)
        return -1;
    due =
        calloc(x->d[D_MISSING_ROW].n + x->d[D_ROW_BEHIND].n + 1, sizeof(*due));
    if (due == NULL)
        return tool_fail(x->t, TOOL_EXIT_ERROR, "out of memory"), -1;
    for (j = 0; j < 2; j++)
        for (i = 0; i < x->d[lists[j]].n; i++) {
            const char *rid = x->d[lists[j]].v[i];

            if (live_use_get(live, x->id, rid, &res, &g) != 0) {
                tool_fail(x->t, TOOL_EXIT_ERROR, "%s", live_error(live));
                goto out;
            }
            if (res == LIVE_USE_FENCED) {
                tool_fail(x->t, TOOL_EXIT_REFUSED,
                          "coupon %" PRId64 " is fenced; repair after "
                          "the fence guard lifted it",
                          x->id);
                goto out;
            }
            if (res != LIVE_USE_OK || g.event[0] == '\0')
                continue;
            if (topic_produce(k, topic, rid, RID_LEN, g.event,
                              strlen(g.event)) != 0) {
                tool_fail(x->t, TOOL_EXIT_ERROR, "%s", topic_error(k));
                goto out;
            }
            (*produced)++;
            if (g.finish) {
                snprintf(due[ndue].rid, sizeof(due[ndue].rid), "%s", rid);
                due[ndue++].version = g.version;
            }
        }
    if (topic_flush(k, FLUSH_TIMEOUT_MS, &failed) != 0 || failed > 0) {
        tool_fail(x->t, TOOL_EXIT_ERROR,
                  "%" PRId64 " event(s) not delivered: %s", failed,
                  topic_error(k));
        goto out;
    }
    for (i = 0; i < ndue; i++) {
        if (live_use_finish(live, x->id, due[i].rid, due[i].version, &done) !=
            0) {
            tool_fail(x->t, TOOL_EXIT_ERROR, "%s", live_error(live));
            goto out;
        }
        *finished += done;
    }
    rc = 0;
out:
    free(due);
    return rc;
}

/* --repair (b): what Redis lacks, from the rows (the same restore as
 * rebuild, limited to these rids; the topic's unconsumed events are not
 * needed: Redis had them when they were made). */
static int repair_restore(rec_t *x, const coupon_t *c, int64_t *written)
{
    rid_list_t only = { NULL, 0, 0 };
    use_restore_t st;
    restore_t *r = restore_new(x->t, tool_live(x->t), c, &st);
    size_t i, j;
    int rc = -1;

    if (r == NULL)
        return -1;
    for (j = D_REDIS_MISSING; j <= D_REDIS_BEHIND; j++)
        for (i = 0; i < x->d[j].n; i++)
            if (list_add(&only, x->d[j].v[i]) != 0) {
                tool_fail(x->t, TOOL_EXIT_ERROR, "out of memory");
                goto out;
            }
    list_unique(&only);
    r->filtered = 1;
    r->only = (const char *)only.v;
    r->nonly = only.n;
    if (restore_run(r, c, 0) == 0) {
        *written = st.written;
        rc = 0;
    }
out:
    free(only.v);
    restore_free(r);
    return rc;
}

/* --repair (c): finishes an api never ran. */
static int repair_finish(rec_t *x, int64_t *finished)
{
    live_t *live = tool_live(x->t);
    size_t i;
    int done;

    for (i = 0; i < x->d[D_FINISH_DUE].n; i++) {
        if (live_use_finish(live, x->id, x->d[D_FINISH_DUE].v[i],
                            x->finish_version[i], &done) != 0)
            return tool_fail(x->t, TOOL_EXIT_ERROR, "%s", live_error(live)), -1;
        *finished += done;
    }
    return 0;
}

int use_repair_reconcile(tool_t *t, const coupon_t *c, int repair,
                         int *consistent)
{
    int64_t produced = 0, written = 0, finished = 0;
    rec_t x;
    int rc = TOOL_EXIT_ERROR;

    memset(&x, 0, sizeof(x));
    x.t = t;
    x.id = c->id;
    *consistent = 0;
    if (rec_gather(&x) != 0)
        goto out;
    rec_report(t, &x);
    *consistent = !rec_differs(&x);
    rc = TOOL_EXIT_OK;
    if (*consistent || !repair)
        goto out;
    if (repair_produce(&x, &produced, &finished) != 0 ||
        repair_restore(&x, c, &written) != 0 ||
        repair_finish(&x, &finished) != 0) {
        rc = TOOL_EXIT_ERROR;
        goto out;
    }
    tool_set_int(t, "use_reproduced", produced);
    tool_set_int(t, "use_restored", written);
    tool_set_int(t, "use_finished", finished);
    /* State differences and bad records need a person: nothing here can
     * tell which side is right. */
    *consistent = x.d[D_STATE_DIFFERS].n == 0 && x.d[D_BAD_RECORD].n == 0;
    tool_set_bool(t, "use_repaired", *consistent);
out:
    rec_free(&x);
    return rc;
}
