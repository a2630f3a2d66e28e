/* use_repair.c -- reconcile's redemption half: Redis use records vs MySQL
 * rows, and their repair. See use_repair.h.
 *
 * Reads the rows before the Redis records, which keeps a running system
 * from looking broken: a row implies its record existed earlier, at that
 * version or a later one. What Redis lacks is restored by use_restore.c. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "live_use.h"
#include "rid_list.h"
#include "use_repair.h"
#include "use_restore.h"
#include "use_rows.h"
#include "userec.h"

#define FLUSH_TIMEOUT_MS 30000

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
    grown = rid_list_grow(x->rows, &x->cap, x->nrows, sizeof(*x->rows), 256);
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

    int64_t *grown = rid_list_grow(x->finish_version, &x->nfinish_cap, l->n,
                                   sizeof(*grown), 16);

    if (grown == NULL)
        return -1;
    x->finish_version = grown;
    x->finish_version[l->n] = version;
    return rid_list_add(l, rid);
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
        return rid_list_add(&x->d[D_BAD_RECORD], rid);
    snprintf(key.rid, sizeof(key.rid), "%.26s", rid);
    row = x->nrows > 0
              ? bsearch(&key, x->rows, x->nrows, sizeof(*x->rows), key_cmp)
              : NULL;
    if (row == NULL)
        return rid_list_add(&x->d[D_MISSING_ROW], rid);
    if (row->seen++)
        return 0; /* HSCAN returned it twice */
    if (row->version < r.version && rid_list_add(&x->d[D_ROW_BEHIND], rid) != 0)
        return -1;
    if (row->version > r.version)
        return rid_list_add(&x->d[D_REDIS_BEHIND], rid);
    if (row->version == r.version && strcmp(row->state, r.state) != 0 &&
        rid_list_add(&x->d[D_STATE_DIFFERS], rid) != 0)
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
            rid_list_add(&x->d[D_REDIS_MISSING], x->rows[i].rid) != 0)
            return tool_fail(x->t, TOOL_EXIT_ERROR, "out of memory"), -1;
    /* A record HSCAN returned twice without a row is listed once. */
    rid_list_unique(&x->d[D_MISSING_ROW]);
    rid_list_unique(&x->d[D_BAD_RECORD]);
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
    size_t i, j;
    int rc = -1;

    for (j = D_REDIS_MISSING; j <= D_REDIS_BEHIND; j++)
        for (i = 0; i < x->d[j].n; i++)
            if (rid_list_add(&only, x->d[j].v[i]) != 0) {
                tool_fail(x->t, TOOL_EXIT_ERROR, "out of memory");
                goto out;
            }
    rid_list_unique(&only);
    if (use_restore_only(x->t, tool_live(x->t), c, (const char *)only.v, only.n,
                         &st) == 0) {
        *written = st.written;
        rc = 0;
    }
out:
    free(only.v);
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
