/* repair.c -- reconcile and rebuild: bring Redis, Kafka and MySQL back into
 * agreement after a crash or a data loss. See repair.h and reconcile.h.
 *
 * Reads happen in an order that avoids false alarms on a running sale:
 * MySQL rows before the Redis admitted set (a row implies its user was
 * admitted earlier, so it is in the set we read later), and the rows again
 * after the topic scan for the users that looked missing (their event may
 * have been consumed meanwhile). */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coupon.h"
#include "event.h"
#include "fence_order.h"
#include "log.h"
#include "reconcile.h"
#include "repair.h"
#include "use_repair.h"
#include "use_restore.h"

#define FLUSH_TIMEOUT_MS 30000
#define NOPTS(a)         (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------ topic scan */

typedef struct collect {
    int64_t coupon_id;
    int64_t *users;
    size_t n, cap;
    int64_t events, invalid;
} collect_t;

static int collect_push(collect_t *c, int64_t v)
{
    if (c->n == c->cap) {
        size_t ncap = c->cap != 0 ? c->cap * 2 : 256;
        int64_t *grown = realloc(c->users, ncap * sizeof(*grown));

        if (grown == NULL)
            return -1;
        c->users = grown;
        c->cap = ncap;
    }
    c->users[c->n++] = v;
    return 0;
}

static int collect_fn(void *arg, const topic_msg_t *m)
{
    collect_t *c = arg;
    char err[256];
    event_t ev;

    if (event_decode(m->value, m->len, &ev, err, sizeof(err)) != EVENT_OK) {
        c->invalid++;
        return 0;
    }
    if (ev.coupon_id != c->coupon_id)
        return 0;
    c->events++;
    return collect_push(c, ev.user_id);
}

/* The workers' committed offsets of --topic (-1 where none), read BEFORE
 * the MySQL rows: an event below a committed offset has its row committed
 * already (offsets are committed after the rows), so rows read later hold
 * it, and events from the offset on are in the scan. Reading the offsets
 * after the rows would miss an event committed in between. */
static int read_committed(tool_t *t, int32_t *n, int64_t *committed)
{
    const char *topic = config_str(tool_cfg(t), "topic");
    topic_t *k = tool_kafka(t);

    if (k == NULL)
        return -1;
    if (topic_partitions(k, topic, n) != 0 ||
        topic_committed(k, topic, *n, committed) != 0) {
        tool_fail(t, TOOL_EXIT_ERROR, "%s", topic_error(k));
        return -1;
    }
    return 0;
}

/* Users with an event of the coupon in [from, high watermark) of --topic;
 * from = max(low watermark, committed[p]) when committed is given (from
 * read_committed), else the low watermark. Sorted, unique. */
static int scan_users(tool_t *t, int64_t id, const int64_t *committed,
                      collect_t *c)
{
    const char *topic = config_str(tool_cfg(t), "topic");
    int64_t lo[TOPIC_MAX_PARTITIONS], hi[TOPIC_MAX_PARTITIONS];
    topic_t *k = tool_kafka(t);
    int32_t n, p;

    memset(c, 0, sizeof(*c));
    c->coupon_id = id;
    if (k == NULL)
        return -1;
    if (topic_partitions(k, topic, &n) != 0 ||
        topic_all_watermarks(k, topic, n, lo, hi) != 0)
        goto err;
    for (p = 0; committed != NULL && p < n; p++)
        if (committed[p] > lo[p])
            lo[p] = committed[p];
    if (topic_scan(k, topic, n, lo, hi, collect_fn, c) != 0)
        goto err;
    reconcile_sort_unique(c->users, &c->n);
    return 0;
err:
    tool_fail(t, TOOL_EXIT_ERROR, "%s", topic_error(k));
    free(c->users);
    c->users = NULL;
    return -1;
}

/* ------------------------------------------------------------ reconcile */

static const cfg_opt_t reconcile_opts[] = {
    TOOL_OPTS_COMMON,
    CFG_OPT_REDEMPTION_TOPIC,
    { "repair", NULL, CFG_BOOL, 0, 0, "false",
      "fix what was found (publish missing events, re-add lost members, fix "
      "the counter)" },
    { "grace-ms", NULL, CFG_INT, 0, 3600000, "10000",
      "--repair: a user without row or event is repaired only if still so "
      "after this wait (longer than the api's --timeout-ms: a request in "
      "flight settles by then); 0 after a crash with no api running" },
};

typedef struct rec {
    int64_t id;
    int64_t *rows, *admitted, *rows_after;
    size_t nrows, nadmitted, nrows_after;
    collect_t topic;
    int64_t issued, row_count, persisted;
    int meta_found;
    reconcile_report_t r;
} rec_t;

static void rec_free(rec_t *x)
{
    free(x->rows);
    free(x->admitted);
    free(x->rows_after);
    free(x->topic.users);
    reconcile_report_free(&x->r);
}

static int any_without_row(const rec_t *x)
{
    size_t i;

    for (i = 0; i < x->nadmitted; i++)
        if (!reconcile_contains(x->rows, x->nrows, x->admitted[i]))
            return 1;
    return 0;
}

/* Rows, then Redis, then (only if someone looks missing) the topic and the
 * rows again. */
static int rec_gather(tool_t *t, rec_t *x)
{
    db_t *db = tool_db(t);
    live_t *live = tool_live(t);
    int64_t ignored;
    live_meta_t m;
    int found;

    if (db == NULL || live == NULL)
        return -1;
    if (db_coupon_users(db, x->id, &x->rows, &x->nrows) != 0)
        return tool_fail(t, TOOL_EXIT_ERROR, "%s", db_error(db)), -1;
    if (live_meta_get(live, x->id, &m, &x->meta_found) != 0 ||
        live_members(live, x->id, LIVE_ISSUED, &x->admitted, &x->nadmitted) !=
            0 ||
        live_counts(live, x->id, &ignored, &x->persisted) != 0)
        return tool_fail(t, TOOL_EXIT_ERROR, "%s", live_error(live)), -1;
    if (any_without_row(x)) {
        if (scan_users(t, x->id, NULL, &x->topic) != 0)
            return -1;
        if (db_coupon_users(db, x->id, &x->rows_after, &x->nrows_after) != 0)
            return tool_fail(t, TOOL_EXIT_ERROR, "%s", db_error(db)), -1;
    }
    if (db_coupon_counts(db, x->id, &x->issued, &x->row_count, &found) != 0)
        return tool_fail(t, TOOL_EXIT_ERROR, "%s", db_error(db)), -1;
    return 0;
}

static int rec_diff(tool_t *t, rec_t *x)
{
    reconcile_input_t in;

    memset(&in, 0, sizeof(in));
    in.admitted = x->admitted;
    in.nadmitted = x->nadmitted;
    in.rows = x->rows;
    in.nrows = x->nrows;
    in.rows_after = x->rows_after;
    in.nrows_after = x->nrows_after;
    in.in_topic = x->topic.users;
    in.nin_topic = x->topic.n;
    in.issued_quantity = x->issued;
    in.row_count = x->row_count;
    if (reconcile_diff(&in, &x->r) != 0)
        return tool_fail(t, TOOL_EXIT_ERROR, "out of memory"), -1;
    return 0;
}

static void rec_report(tool_t *t, const rec_t *x)
{
    tool_set_bool(t, "redis_meta", x->meta_found);
    tool_set_int(t, "admitted", (int64_t)x->nadmitted);
    tool_set_int(t, "persisted", x->persisted);
    tool_set_int(t, "rows", x->row_count);
    tool_set_int(t, "issued_quantity", x->issued);
    tool_set_int(t, "in_flight", (int64_t)x->r.nin_flight);
    tool_set_ints(t, "missing", x->r.missing, x->r.nmissing);
    tool_set_ints(t, "lost", x->r.lost, x->r.nlost);
    tool_set_bool(t, "counter_off", x->r.counter_off);
    tool_set_bool(t, "consistent", reconcile_consistent(&x->r));
}

/* (a): a new event per missing user, placed after everyone else in line. */
static int repair_missing(tool_t *t, const rec_t *x)
{
    const char *topic = config_str(tool_cfg(t), "topic");
    topic_t *k = tool_kafka(t);
    int64_t now = tool_now_ms(), failed;
    char buf[EVENT_MAX_LEN], key[24];
    size_t i;
    int len;

    for (i = 0; i < x->r.nmissing; i++) {
        event_t ev = { .coupon_id = x->id,
                       .user_id = x->r.missing[i],
                       .seq = (int64_t)(x->nadmitted - x->r.nmissing + i + 1),
                       .requested_at_ms = now };

        ulid_generate(ev.event_id);
        len = event_encode(&ev, buf, sizeof(buf));
        snprintf(key, sizeof(key), "%" PRId64, ev.user_id);
        if (len < 0 ||
            topic_produce(k, topic, key, strlen(key), buf, (size_t)len) != 0)
            return tool_fail(t, TOOL_EXIT_ERROR, "%s", topic_error(k)), -1;
    }
    if (topic_flush(k, FLUSH_TIMEOUT_MS, &failed) != 0 || failed > 0)
        return tool_fail(t, TOOL_EXIT_ERROR,
                         "%" PRId64 " event(s) not "
                         "delivered: %s",
                         failed, topic_error(k)),
               -1;
    return 0;
}

static int rec_repair(tool_t *t, const rec_t *x)
{
    live_t *live = tool_live(t);
    db_t *db = tool_db(t);
    int64_t added = 0, issued;

    if (x->r.nmissing > 0 && repair_missing(t, x) != 0)
        return -1;
    /* (b) the rows are the truth: their users are admitted (and persisted). */
    if (x->r.nlost > 0 && (live_add(live, x->id, LIVE_ISSUED, x->r.lost,
                                    x->r.nlost, &added) != 0 ||
                           live_add(live, x->id, LIVE_PERSISTED, x->r.lost,
                                    x->r.nlost, NULL) != 0))
        return tool_fail(t, TOOL_EXIT_ERROR, "%s", live_error(live)), -1;
    if (x->r.counter_off && db_coupon_fix_issued(db, x->id, &issued) != 0)
        return tool_fail(t, TOOL_EXIT_ERROR, "%s", db_error(db)), -1;
    tool_set_int(t, "published", (int64_t)x->r.nmissing);
    tool_set_int(t, "readded", added);
    tool_set_bool(t, "counter_fixed", x->r.counter_off);
    return 0;
}

/* A live sale has requests between admission and Kafka's acknowledgement:
 * such a user looks missing, yet the api will either deliver its event or
 * release it (SREM) and answer 503. Publishing an event for it could give
 * a coupon to a user told 503, behind the api's back. So before --repair
 * publishes anything, wait --grace-ms, read everything again, and keep as
 * missing only the users missing both times; one missing only now is too
 * young to judge (reported as "deferred", left for a later run). */
static int settle(tool_t *t, rec_t *x)
{
    int64_t grace = config_int(tool_cfg(t), "grace-ms"), *first, id;
    int64_t deferred = 0;
    size_t nfirst = x->r.nmissing, i, n = 0;
    struct timespec ts = { grace / 1000, (long)(grace % 1000) * 1000000L };

    if (grace <= 0)
        return 0;
    if ((first = malloc(nfirst * sizeof(*first))) == NULL)
        return tool_fail(t, TOOL_EXIT_ERROR, "out of memory"), -1;
    memcpy(first, x->r.missing, nfirst * sizeof(*first));
    tool_note(t,
              "%zu user(s) without row or event; checking again in %" PRId64
              " ms (requests in flight settle first)",
              nfirst, grace);
    nanosleep(&ts, NULL);
    id = x->id;
    rec_free(x);
    memset(x, 0, sizeof(*x));
    x->id = id;
    if (rec_gather(t, x) != 0 || rec_diff(t, x) != 0) {
        free(first);
        return -1;
    }
    for (i = 0; i < x->r.nmissing; i++) {
        if (reconcile_contains(first, nfirst, x->r.missing[i]))
            x->r.missing[n++] = x->r.missing[i];
        else
            deferred++;
    }
    x->r.nmissing = n;
    tool_set_int(t, "settled", (int64_t)(nfirst - n));
    tool_set_int(t, "deferred", deferred);
    free(first);
    return 0;
}

/* The redemption half (use_repair.h), after the issue half answered rc. */
static int reconcile_use(tool_t *t, const coupon_t *c, int rc)
{
    int consistent, urc;

    urc = use_repair_reconcile(t, c, config_bool(tool_cfg(t), "repair"),
                               &consistent);
    if (urc != TOOL_EXIT_OK)
        return urc;
    return consistent ? rc : TOOL_EXIT_INCONSISTENT;
}

static int cmd_reconcile(tool_t *t)
{
    rec_t x;
    coupon_t c;
    int rc;

    memset(&x, 0, sizeof(x));
    if ((rc = tool_coupon_id(t, &x.id)) != TOOL_EXIT_OK)
        return rc;
    if ((rc = tool_coupon(t, x.id, &c)) != TOOL_EXIT_OK)
        return rc;
    if (rec_gather(t, &x) != 0 || rec_diff(t, &x) != 0) {
        rec_free(&x);
        return TOOL_EXIT_ERROR;
    }
    if (config_bool(tool_cfg(t), "repair") && x.r.nmissing > 0 &&
        settle(t, &x) != 0) {
        rec_free(&x);
        return TOOL_EXIT_ERROR;
    }
    rec_report(t, &x);
    if (reconcile_consistent(&x.r))
        rc = TOOL_EXIT_OK;
    else if (!config_bool(tool_cfg(t), "repair"))
        rc = TOOL_EXIT_INCONSISTENT;
    else
        rc = rec_repair(t, &x) == 0 ? TOOL_EXIT_OK : TOOL_EXIT_ERROR;
    rec_free(&x);
    return rc == TOOL_EXIT_ERROR ? rc : reconcile_use(t, &c, rc);
}

/* ------------------------------------------------------------ rebuild */

static const cfg_opt_t rebuild_opts[] = {
    TOOL_OPTS_COMMON,
    CFG_OPT_REDEMPTION_TOPIC,
    { "force", NULL, CFG_BOOL, 0, 0, "false",
      "rebuild even though the sale's meta still exists in Redis" },
};

/* Meta from the row, closed while we refill the admitted set. */
static int rebuild_meta(tool_t *t, const coupon_t *c, const char *state)
{
    live_t *live = tool_live(t);
    live_meta_t m;

    memset(&m, 0, sizeof(m));
    m.total = c->total;
    m.start_ms = c->start_ms;
    m.end_ms = c->end_ms;
    snprintf(m.state, sizeof(m.state), "%.15s", state);
    if (live_meta_set(live, c->id, &m) != 0)
        return tool_fail(t, TOOL_EXIT_ERROR, "%s", live_error(live)), -1;
    return 0;
}

/* The admitted set from the event log: the MySQL rows and the events the
 * workers have not committed yet (offsets read first, see read_committed).
 * persisted gets the row users. Shared by rebuild and the fence guard. */
static int refill_sets(tool_t *t, live_t *live, int64_t id, int64_t *nrows_out,
                       int64_t *events_out, int64_t *added_out)
{
    int64_t committed[TOPIC_MAX_PARTITIONS], from_rows = 0, from_topic = 0;
    int64_t *rows = NULL;
    size_t nrows = 0;
    db_t *db = tool_db(t);
    collect_t topic;
    int32_t nparts;
    int rc = -1;

    memset(&topic, 0, sizeof(topic));
    if (db == NULL || read_committed(t, &nparts, committed) != 0)
        goto out;
    if (db_coupon_users(db, id, &rows, &nrows) != 0) {
        tool_fail(t, TOOL_EXIT_ERROR, "%s", db_error(db));
        goto out;
    }
    if (scan_users(t, id, committed, &topic) != 0)
        goto out;
    if (live_add(live, id, LIVE_ISSUED, rows, nrows, &from_rows) != 0 ||
        live_add(live, id, LIVE_PERSISTED, rows, nrows, NULL) != 0 ||
        live_add(live, id, LIVE_ISSUED, topic.users, topic.n, &from_topic) !=
            0) {
        tool_fail(t, TOOL_EXIT_ERROR, "%s", live_error(live));
        goto out;
    }
    *nrows_out = (int64_t)nrows;
    *events_out = topic.events;
    added_out[0] = from_rows;
    added_out[1] = from_topic;
    rc = 0;
out:
    free(rows);
    free(topic.users);
    return rc;
}

static int rebuild_sets(tool_t *t, int64_t id)
{
    int64_t nrows, events, added[2];

    if (refill_sets(t, tool_live(t), id, &nrows, &events, added) != 0)
        return -1;
    tool_set_int(t, "rows", nrows);
    tool_set_int(t, "unconsumed_events", events);
    tool_set_int(t, "added_from_rows", added[0]);
    tool_set_int(t, "added_from_topic", added[1]);
    return 0;
}

static void put_restore(tool_t *t, const use_restore_t *st)
{
    tool_set_int(t, "use_rows", st->rows);
    tool_set_int(t, "use_rows_fetched", st->fetched);
    tool_set_int(t, "use_unconsumed_events", st->events);
    tool_set_int(t, "use_restored", st->written);
    tool_set_int(t, "use_revs", st->revs);
    tool_set_int(t, "use_finished", st->finished);
    tool_set_int(t, "use_rows_skipped", st->rows_skipped);
    tool_set_int(t, "use_invalid", st->invalid);
    tool_set_bool(t, "use_hash_written", st->use_hash_written);
}

static int cmd_rebuild(tool_t *t)
{
    use_restore_t st;
    int64_t id, admitted, persisted;
    live_meta_t m;
    coupon_t c;
    live_t *live;
    int rc, found;

    if ((rc = tool_coupon_id(t, &id)) != TOOL_EXIT_OK)
        return rc;
    if ((rc = tool_coupon(t, id, &c)) != TOOL_EXIT_OK)
        return rc;
    if ((live = tool_live(t)) == NULL)
        return TOOL_EXIT_ERROR;
    if (strcmp(c.state, "archived") == 0)
        return tool_fail(t, TOOL_EXIT_REFUSED,
                         "coupon %" PRId64 " is archived; nothing to rebuild",
                         id);
    if (live_meta_get(live, id, &m, &found) != 0)
        return tool_fail(t, TOOL_EXIT_ERROR, "%s", live_error(live));
    if (found && !config_bool(tool_cfg(t), "force"))
        return tool_fail(t, TOOL_EXIT_REFUSED,
                         "coupon %" PRId64 " still has "
                         "its meta in Redis (use reconcile, or --force)",
                         id);
    /* Closed until the set is complete: the api answers `closed`, never
     * admits against a partial set. */
    if (rebuild_meta(t, &c, "closed") != 0 || rebuild_sets(t, id) != 0 ||
        use_repair_restore(t, live, &c, &st) != 0 ||
        rebuild_meta(t, &c, c.state) != 0)
        return TOOL_EXIT_ERROR;
    put_restore(t, &st);
    if (live_counts(live, id, &admitted, &persisted) != 0)
        return tool_fail(t, TOOL_EXIT_ERROR, "%s", live_error(live));
    tool_set_int(t, "admitted", admitted);
    tool_set_total(t, "total", c.total);
    tool_set_str(t, "state", c.state);
    return TOOL_EXIT_OK;
}

/* ------------------------------------------------------------ fence */

/* The fence guard. admit.lua admits a coupon only while its meta `fence`
 * equals the server's replication id, which changes whenever the dataset
 * may have lost acknowledged writes (failover, restart, restore). The guard
 * watches for coupons whose fence differs, waits --wait-ms, rebuilds their
 * admitted sets from the event log and lifts the fence under the id it
 * verified. Why the wait: an api may still hold admissions made on the old
 * dataset whose Kafka acknowledgement is pending; each of those gets its
 * 202 before its request deadline (the api's --timeout-ms, 5 s by default)
 * or never, so after the wait every event that backs a 202 is in the topic
 * and the scan sees it (so is the event of a release whose finish the
 * dataset lost: the api finishes only after the acknowledgement; the guard
 * finishes it). The coupons are verified one at a time, those users can
 * act on now first (fence_order.h: a sale in its window, then holds and
 * uses, then sales still to come, then the rest), and a pass stops when
 * the replication id moves on, so the next one orders them again. The
 * window a sale pauses is thus about detection (--interval-ms) + --wait-ms
 * + its own repair (a scan of the unconsumed tail, its rows) and those of
 * the coupons ahead of it in that order, never an old coupon's. Several
 * guards may run: the repair only adds users who have an event or a row,
 * and the lift is conditional, so running it twice gives the same set. */

static const cfg_opt_t fence_opts[] = {
    TOOL_OPTS_COMMON,
    CFG_OPT_REDEMPTION_TOPIC,
    { "watch", NULL, CFG_BOOL, 0, 0, "false",
      "keep guarding (the daemon mode): check every --interval-ms" },
    { "interval-ms", NULL, CFG_INT, 50, 60000, "250",
      "how often the server's replication id is read" },
    { "rescan-ms", NULL, CFG_INT, 100, 3600000, "5000",
      "how often every coupon's fence is read even without an id change" },
    { "wait-ms", NULL, CFG_INT, 0, 600000, "5500",
      "wait between seeing a fence and reading the event log; longer than "
      "the api's --timeout-ms (see above); 0 when no api is running" },
};

static volatile sig_atomic_t fence_stop;

static void fence_on_signal(int sig)
{
    (void)sig;
    fence_stop = 1;
}

static void fence_sleep(int64_t ms)
{
    struct timespec ts = { 0, 10 * 1000000L };
    int64_t end = tool_now_ms() + ms;

    while (!fence_stop && tool_now_ms() < end)
        nanosleep(&ts, NULL);
}

typedef struct guard {
    tool_t *t;
    live_t *live; /* our own: dropped and made again after an error, and
                     once a second: a switchover keeps the old primary a
                     master (same id) for seconds, so a connection that
                     stays on it would not see the new primary's id */
    int64_t connected_ms;
    char last[48];
    int64_t next_scan_ms;
    int64_t repaired, failed;
    int64_t finished; /* lost finishes the restores ran */
} guard_t;

static int guard_live(guard_t *g)
{
    char err[256];

    if (g->live != NULL && tool_now_ms() - g->connected_ms < 1000)
        return 0;
    live_close(g->live);
    g->connected_ms = tool_now_ms();
    g->live =
        live_connect(config_str(tool_cfg(g->t), "redis"), err, sizeof(err));
    if (g->live == NULL)
        return tool_fail(g->t, TOOL_EXIT_ERROR, "%s", err), -1;
    return 0;
}

/* The coupon's redemption state too (use_restore.h), before the lift: the
 * records the dataset lost, and the finishes it lost (releases whose event
 * is in MySQL or the topic; finish is not fenced, and nothing else can
 * change a record while the fence holds). */
static int guard_use(guard_t *g, int64_t id, use_restore_t *st)
{
    db_t *db = tool_db(g->t);
    coupon_t c;
    int found;

    if (db == NULL)
        return -1;
    if (db_coupon_get(db, id, &c, &found) != 0)
        return tool_fail(g->t, TOOL_EXIT_ERROR, "%s", db_error(db)), -1;
    memset(st, 0, sizeof(*st));
    if (!found)
        return 0; /* a meta without a row: nothing to verify against */
    return use_repair_restore(g->t, g->live, &c, st);
}

static int guard_repair(guard_t *g, const fence_window_t *w, const char *replid)
{
    int64_t nrows = 0, events = 0, added[2] = { 0, 0 }, id = w->id;
    use_restore_t st;
    int lifted = 0;

    if (refill_sets(g->t, g->live, id, &nrows, &events, added) != 0 ||
        guard_use(g, id, &st) != 0 ||
        live_fence_lift(g->live, id, replid, &lifted) != 0) {
        g->failed++;
        return -1;
    }
    LOG(LL_INFO,
        "msg=\"fence: verified against the event log\" coupon_id=%" PRId64
        " class=%s replid=%s rows=%" PRId64 " unconsumed_events=%" PRId64
        " added_from_rows=%" PRId64 " added_from_topic=%" PRId64
        " use_rows=%" PRId64 " use_rows_fetched=%" PRId64 " use_events=%" PRId64
        " use_restored=%" PRId64 " use_finished=%" PRId64 " lifted=%d",
        id, fence_class_name(fence_class(w)), replid, nrows, events, added[0],
        added[1], st.rows, st.fetched, st.events, st.written, st.finished,
        lifted);
    g->repaired += lifted;
    g->finished += st.finished;
    return 0;
}

/* The fenced coupons in the order they are lifted (fence_order.h), read
 * after the wait: the clock has moved. *out is malloc'd; NULL (reported)
 * when out of memory, else -1 is a Redis error (live_error). */
static int guard_order(guard_t *g, const int64_t *ids, size_t n,
                       fence_window_t **out)
{
    fence_window_t *w = calloc(n != 0 ? n : 1, sizeof(*w));
    size_t i;

    *out = w;
    if (w == NULL)
        return tool_fail(g->t, TOOL_EXIT_ERROR, "out of memory"), -1;
    for (i = 0; i < n; i++)
        if (live_window(g->live, ids[i], &w[i]) != 0)
            return -1;
    fence_order(w, n);
    return 0;
}

/* Between two coupons: has the replication id moved on (another failover
 * or restart)? Then every lift left would be refused, and the next pass
 * must order the coupons again, so the pass stops. 1, 0, or -1. */
static int guard_moved(guard_t *g, const char *replid)
{
    char now[48];

    if (live_replid(g->live, now, sizeof(now)) != 0)
        return -1;
    if (strcmp(now, replid) == 0)
        return 0;
    LOG(LL_INFO,
        "msg=\"fence: replication id changed during the pass; ordering "
        "again\" replid=%s previous=%s",
        now, replid);
    return 1;
}

/* One look: 0 (nothing to do, or repaired), -1 on an error (kept in t). */
static int guard_pass(guard_t *g, int64_t wait_ms, int64_t rescan_ms)
{
    char replid[48];
    int64_t *ids = NULL, now = tool_now_ms();
    fence_window_t *w = NULL;
    size_t n = 0, i;
    int rc = -1, moved;

    if (guard_live(g) != 0)
        return -1;
    if (live_replid(g->live, replid, sizeof(replid)) != 0)
        goto redis_err;
    if (strcmp(replid, g->last) == 0 && now < g->next_scan_ms)
        return 0;
    if (strcmp(replid, g->last) != 0)
        LOG(LL_INFO, "msg=\"fence: replication id\" replid=%s previous=%s",
            replid, g->last[0] != '\0' ? g->last : "none");
    if (live_fenced(g->live, replid, &ids, &n) != 0)
        goto redis_err;
    snprintf(g->last, sizeof(g->last), "%s", replid);
    g->next_scan_ms = now + rescan_ms;
    if (n > 0) {
        LOG(LL_INFO, "msg=\"fence: coupons fenced\" count=%zu wait_ms=%" PRId64,
            n, wait_ms);
        fence_sleep(wait_ms);
    }
    if (n > 0 && guard_order(g, ids, n, &w) != 0) {
        if (w != NULL)
            goto redis_err;
        free(ids); /* out of memory, reported */
        return -1;
    }
    rc = 0;
    for (i = 0; i < n && !fence_stop; i++) {
        if (i > 0 && (moved = guard_moved(g, replid)) != 0) {
            g->next_scan_ms = 0;
            if (moved < 0)
                goto redis_err;
            break;
        }
        if (guard_repair(g, &w[i], replid) != 0) {
            rc = -1;
            g->next_scan_ms = 0; /* look again at once */
        }
    }
    free(w);
    free(ids);
    return rc;
redis_err:
    free(w);
    free(ids);
    tool_fail(g->t, TOOL_EXIT_ERROR, "%s", live_error(g->live));
    live_close(g->live);
    g->live = NULL;
    g->last[0] = '\0';
    return -1;
}

static int cmd_fence(tool_t *t)
{
    const config_t *cfg = tool_cfg(t);
    int watch = config_bool(cfg, "watch");
    int64_t interval = config_int(cfg, "interval-ms");
    guard_t g;
    int rc;

    memset(&g, 0, sizeof(g));
    g.t = t;
    signal(SIGTERM, fence_on_signal);
    signal(SIGINT, fence_on_signal);
    do {
        rc = guard_pass(&g, config_int(cfg, "wait-ms"),
                        config_int(cfg, "rescan-ms"));
        if (rc != 0 && watch)
            LOG(LL_WARN, "msg=\"fence: pass failed, retrying\"");
        if (watch)
            fence_sleep(rc != 0 ? 500 : interval);
    } while (watch && !fence_stop);
    live_close(g.live);
    tool_set_int(t, "lifted", g.repaired);
    tool_set_int(t, "use_finished", g.finished);
    tool_set_int(t, "failed", g.failed);
    return rc == 0 ? TOOL_EXIT_OK : TOOL_EXIT_ERROR;
}

const tool_cmd_t repair_cmds[] = {
    { "reconcile", "ID [--repair]",
      "Compares the Redis admitted set, the persisted set, the MySQL rows and\n"
      "the events in --topic. Reports (a) missing: admitted, no row, no event\n"
      "(the api crashed before Kafka acknowledged) -- --repair publishes new\n"
      "events; (b) lost: rows whose user is not admitted (Redis lost data) --\n"
      "--repair adds them back; (c) counter_off: issued_quantity differs from\n"
      "the rows -- --repair recounts. Redemptions: the Redis records\n"
      "(use:recs, version and state) against coupon_redemptions: a record\n"
      "whose row is missing or older -- --repair re-produces its latest\n"
      "event to --redemption-topic; a row Redis lacks or has older --\n"
      "--repair restores the record; a pending finish whose event is in\n"
      "MySQL (the api died before it) -- --repair finishes it. Exit 0 only\n"
      "when consistent (or when --repair fixed everything it found), 5 when\n"
      "not.",
      reconcile_opts, NOPTS(reconcile_opts), cmd_reconcile },
    { "rebuild", "ID [--force]",
      "After Redis lost a sale's keys: writes the meta from MySQL (closed),\n"
      "adds the users of the MySQL rows and of the events not yet committed\n"
      "by --group in --topic to the admitted set, restores the redemption\n"
      "state (records, orders, users, unexpired holds, revs, the use hash\n"
      "and its confirmed count) from coupon_redemptions, redemption_events\n"
      "and the unconsumed events of --redemption-topic (and finishes a\n"
      "surviving record's release whose event is there), then restores the\n"
      "state from MySQL (reopens an open sale).",
      rebuild_opts, NOPTS(rebuild_opts), cmd_rebuild },
    { "fence", "[--watch]",
      "The fence guard: finds the coupons whose admission admit.lua pauses\n"
      "because the Redis dataset changed (failover, restart, restore: a new\n"
      "replication id), waits --wait-ms for acknowledgements in flight,\n"
      "re-adds every user with a MySQL row or an unconsumed event in --topic\n"
      "to the admitted set, restores the redemption records Redis lacks (as\n"
      "rebuild), finishes the releases (cancel, give-back reversal) whose\n"
      "finish the dataset lost but whose event is in MySQL or the topic,\n"
      "and lifts the fence; one coupon at a time, those users can act on\n"
      "now first (in their issue window, then their use window, then sales\n"
      "still to come, then the rest). --watch keeps doing it (run\n"
      "it beside the workers: scripts/run and docker-compose do).",
      fence_opts, NOPTS(fence_opts), cmd_fence },
};

const size_t repair_ncmds = NOPTS(repair_cmds);
