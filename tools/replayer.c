/* replayer.c -- couponq-replay. See replayer.h.
 *
 * The range is fixed before reading (start offsets from --from-beginning,
 * --from-offsets or --since; ends at --until or the high watermarks taken
 * at start), so a replay of a live topic terminates. Events go through
 * sink_apply() -- the same code and transaction as the workers' -- in
 * batches, so replaying anything twice changes nothing: existing rows are
 * duplicates, and issued_quantity only counts rows really inserted.
 * With --redemptions the topic is the redemption topic and the sink
 * redemption_sink_apply(), the workers' too: recorded events are
 * duplicates, so counters and ledger lines never move twice.
 * Offsets are never committed: replay does not join or move any group. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "coupon.h"
#include "ctlarg.h"
#include "event.h"
#include "kafka_conf.h"
#include "progress.h"
#include "reconcile.h"
#include "redemption_sink.h"
#include "replayer.h"
#include "sink.h"
#include "timearg.h"

#define RP_ATTEMPTS    8
#define RP_MAX_REASONS 32
#define RP_FLUSH_MS    30000

static const cfg_opt_t replay_opts[] = {
    TOOL_OPTS_COMMON,
    CFG_OPT_REDEMPTION_TOPIC,
    { "redemptions", NULL, CFG_BOOL, 0, 0, "false",
      "work on --redemption-topic (and its .dlq) instead of --topic, through "
      "the workers' redemption sink" },
    { "from-beginning", NULL, CFG_BOOL, 0, 0, "false",
      "start at the oldest retained offset of every partition" },
    { "from-offsets", NULL, CFG_STR, 0, 0, NULL,
      "start at P:O,... (only the partitions listed)" },
    { "since", NULL, CFG_STR, 0, 0, NULL,
      "start at the first event at or after TIME" },
    { "until", NULL, CFG_STR, 0, 0, NULL,
      "stop before the first event at or after TIME (default: the end as of "
      "the start)" },
    { "coupon", NULL, CFG_INT, 0, INT64_MAX, "0",
      "only events of this coupon (0 = all)" },
    { "dry-run", NULL, CFG_BOOL, 0, 0, "false",
      "count what would be inserted, duplicates, invalid; write nothing "
      "(--redemptions: each batch is applied and rolled back)" },
    { "batch-size", NULL, CFG_INT, 1, 100000, "1000",
      "events per MySQL transaction" },
    { "dlq", NULL, CFG_BOOL, 0, 0, "false",
      "work on <topic>.dlq: list entries grouped by reason" },
    { "redrive", NULL, CFG_BOOL, 0, 0, "false",
      "with --dlq: re-publish the entries to the main topic" },
    { "reason", NULL, CFG_STR, 0, 0, NULL,
      "with --dlq: only entries with this reason" },
    { "progress", NULL, CFG_BOOL, 0, 0, "true",
      "progress on stderr (a bar on a terminal, lines otherwise)" },
};

typedef struct dry_coupon {
    int64_t id;
    int64_t *users; /* candidates seen in the range */
    size_t n, cap;
} dry_coupon_t;

typedef struct rp {
    tool_t *t;
    int64_t coupon;
    int dry_run;
    int red; /* --redemptions */
    size_t batch_size;
    sink_t *sink;
    event_t *batch;
    sink_outcome_t *out;
    redemption_sink_t *rsink;
    redemption_event_t *rbatch;
    redemption_result_t *rout;
    size_t nbatch;
    int64_t scanned, matched, invalid, outcomes[4];
    int64_t routcomes[REDEMPTION_SINK_NOUTCOMES];
    dry_coupon_t *dry;
    size_t ndry;
    progress_t *prog;
    /* DLQ mode */
    const char *main_topic, *reason;
    int redrive;
    int64_t redriven, dlq_repeats;
    uint64_t *seen; /* open addressing set of source (partition, offset) */
    size_t seen_cap, seen_n;
    char reasons[RP_MAX_REASONS][64];
    int64_t reason_counts[RP_MAX_REASONS];
    size_t nreasons;
} rp_t;

/* ------------------------------------------------------------ range */

static int range_start(tool_t *t, topic_t *k, const char *topic, int32_t n,
                       const int64_t *lo, const int64_t *hi, int64_t *start)
{
    const config_t *cfg = tool_cfg(t);
    const char *offs = config_str(cfg, "from-offsets");
    const char *since = config_str(cfg, "since");
    int beginning = config_bool(cfg, "from-beginning");
    ctlarg_offset_t o[TOPIC_MAX_PARTITIONS];
    size_t no = 0, i;
    int64_t ms;
    char err[256];

    if (beginning + (offs != NULL) + (since != NULL) != 1 &&
        !config_bool(cfg, "dlq"))
        return tool_fail(t, TOOL_EXIT_USAGE,
                         "give one of --from-beginning, "
                         "--from-offsets, --since");
    memcpy(start, lo, (size_t)n * sizeof(*start));
    memset(o, 0, sizeof(o));
    if (offs != NULL) {
        if (ctlarg_offsets(offs, o, TOPIC_MAX_PARTITIONS, &no, err,
                           sizeof(err)) != 0)
            return tool_fail(t, TOOL_EXIT_USAGE, "%s", err);
        memcpy(start, hi, (size_t)n * sizeof(*start)); /* others: nothing */
        for (i = 0; i < no; i++) {
            if (o[i].partition >= n)
                return tool_fail(t, TOOL_EXIT_USAGE,
                                 "--from-offsets: %s has "
                                 "no partition %d",
                                 topic, (int)o[i].partition);
            start[o[i].partition] = o[i].offset;
        }
    } else if (since != NULL) {
        if (timearg_parse(since, tool_now_ms(), &ms, err, sizeof(err)) != 0)
            return tool_fail(t, TOOL_EXIT_USAGE, "--since: %s", err);
        if (topic_offsets_for_times(k, topic, n, ms, start) != 0)
            return tool_fail(t, TOOL_EXIT_ERROR, "%s", topic_error(k));
    }
    return TOOL_EXIT_OK;
}

/* [start, end) per partition of topic, clamped to what is retained. */
static int rp_range(tool_t *t, const char *topic, int32_t *n, int64_t *start,
                    int64_t *end, int64_t *total)
{
    int64_t lo[TOPIC_MAX_PARTITIONS] = { 0 }, ms;
    const char *until = config_str(tool_cfg(t), "until");
    topic_t *k = tool_kafka(t);
    char err[256];
    int32_t p;
    int rc;

    if (k == NULL)
        return TOOL_EXIT_ERROR;
    if (topic_partitions(k, topic, n) != 0 ||
        topic_all_watermarks(k, topic, *n, lo, end) != 0)
        return tool_fail(t, TOOL_EXIT_ERROR, "%s", topic_error(k));
    if ((rc = range_start(t, k, topic, *n, lo, end, start)) != TOOL_EXIT_OK)
        return rc;
    if (until != NULL) {
        if (timearg_parse(until, tool_now_ms(), &ms, err, sizeof(err)) != 0)
            return tool_fail(t, TOOL_EXIT_USAGE, "--until: %s", err);
        if (topic_offsets_for_times(k, topic, *n, ms, end) != 0)
            return tool_fail(t, TOOL_EXIT_ERROR, "%s", topic_error(k));
    }
    for (*total = 0, p = 0; p < *n; p++) {
        if (start[p] < lo[p])
            start[p] = lo[p];
        if (end[p] < start[p])
            end[p] = start[p];
        *total += end[p] - start[p];
    }
    return TOOL_EXIT_OK;
}

/* ------------------------------------------------------------ apply */

static void rp_sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

static int rp_apply(rp_t *r, char *err, size_t n)
{
    if (r->red)
        return redemption_sink_apply(r->rsink, r->rbatch, r->nbatch, r->rout,
                                     err, n);
    return sink_apply(r->sink, r->batch, r->nbatch, r->out, err, n);
}

/* The batch through the sink, retrying transient failures with backoff. */
static int rp_flush(rp_t *r)
{
    char err[512];
    db_t *db = tool_db(r->t);
    size_t i;
    int attempt, rc = SINK_ERR_TRANSIENT;

    if (r->nbatch == 0)
        return 0;
    for (attempt = 0; attempt < RP_ATTEMPTS; attempt++) {
        rc = rp_apply(r, err, sizeof(err));
        if (rc != SINK_ERR_TRANSIENT)
            break;
        tool_note(r->t, "transient MySQL error, retrying: %s", err);
        rp_sleep_ms(100L << (attempt < 6 ? attempt : 6));
        db_reconnect(db);
    }
    if (rc != SINK_OK)
        return tool_fail(r->t, TOOL_EXIT_ERROR, "sink: %s", err), -1;
    for (i = 0; i < r->nbatch; i++) {
        if (r->red)
            r->routcomes[r->rout[i].outcome]++;
        else
            r->outcomes[r->out[i]]++;
    }
    r->nbatch = 0;
    return 0;
}

static dry_coupon_t *dry_find(rp_t *r, int64_t id)
{
    dry_coupon_t *grown;
    size_t i;

    for (i = 0; i < r->ndry; i++)
        if (r->dry[i].id == id)
            return &r->dry[i];
    grown = realloc(r->dry, (r->ndry + 1) * sizeof(*grown));
    if (grown == NULL)
        return NULL;
    r->dry = grown;
    memset(&r->dry[r->ndry], 0, sizeof(r->dry[0]));
    r->dry[r->ndry].id = id;
    return &r->dry[r->ndry++];
}

static int dry_add(rp_t *r, const event_t *ev)
{
    dry_coupon_t *d = dry_find(r, ev->coupon_id);

    if (d == NULL)
        return -1;
    if (d->n == d->cap) {
        size_t ncap = d->cap != 0 ? d->cap * 2 : 256;
        int64_t *grown = realloc(d->users, ncap * sizeof(*grown));

        if (grown == NULL)
            return -1;
        d->users = grown;
        d->cap = ncap;
    }
    d->users[d->n++] = ev->user_id;
    return 0;
}

/* One message of the redemption topic (--redemptions). */
static int rp_redemption(rp_t *r, const topic_msg_t *m)
{
    redemption_event_t *ev = &r->rbatch[r->nbatch];
    char err[256];

    if (redemption_event_decode(m->value, m->len, ev, err, sizeof(err)) !=
        EVENT_OK) {
        r->invalid++;
        return 0;
    }
    if (r->coupon != 0 && ev->coupon_id != r->coupon)
        return 0;
    r->matched++;
    r->nbatch++;
    return r->nbatch < r->batch_size ? 0 : rp_flush(r);
}

static int rp_event(void *arg, const topic_msg_t *m)
{
    rp_t *r = arg;
    char err[256];
    event_t ev;

    progress_update(r->prog, ++r->scanned);
    if (r->red)
        return rp_redemption(r, m);
    if (event_decode(m->value, m->len, &ev, err, sizeof(err)) != EVENT_OK) {
        r->invalid++;
        return 0;
    }
    if (r->coupon != 0 && ev.coupon_id != r->coupon)
        return 0;
    r->matched++;
    if (r->dry_run)
        return dry_add(r, &ev) == 0
                   ? 0
                   : (tool_fail(r->t, TOOL_EXIT_ERROR, "out of memory"), -1);
    r->batch[r->nbatch++] = ev;
    return r->nbatch < r->batch_size ? 0 : rp_flush(r);
}

/* Dry run: what the sink would do with each coupon's candidates (counts
 * only; the quantity cap is applied to the number of new users). */
static int dry_classify(rp_t *r, dry_coupon_t *d)
{
    db_t *db = tool_db(r->t);
    int64_t *have = NULL, fresh = 0, room;
    size_t nhave = 0, n = d->n, i;
    coupon_t c;
    int found;

    if (db_coupon_get(db, d->id, &c, &found) != 0)
        return tool_fail(r->t, TOOL_EXIT_ERROR, "%s", db_error(db)), -1;
    if (!found) {
        r->outcomes[SINK_UNKNOWN_COUPON] += (int64_t)d->n;
        return 0;
    }
    if (db_coupon_users(db, d->id, &have, &nhave) != 0)
        return tool_fail(r->t, TOOL_EXIT_ERROR, "%s", db_error(db)), -1;
    reconcile_sort_unique(d->users, &n);
    r->outcomes[SINK_DUPLICATE] += (int64_t)(d->n - n);
    for (i = 0; i < n; i++) {
        if (reconcile_contains(have, nhave, d->users[i]))
            r->outcomes[SINK_DUPLICATE]++;
        else
            fresh++;
    }
    room = c.total < 0 ? fresh : c.total - c.issued;
    if (room < 0)
        room = 0;
    r->outcomes[SINK_INSERTED] += fresh < room ? fresh : room;
    r->outcomes[SINK_OVER_QUANTITY] += fresh > room ? fresh - room : 0;
    free(have);
    return 0;
}

/* ------------------------------------------------------------ DLQ */

static void dlq_count_reason(rp_t *r, const topic_msg_t *m)
{
    char reason[64];
    size_t i, len = m->reason != NULL ? m->reason_len : 0;

    if (len >= sizeof(reason))
        len = sizeof(reason) - 1;
    memcpy(reason, m->reason != NULL ? m->reason : "", len);
    reason[len] = '\0';
    if (len == 0)
        snprintf(reason, sizeof(reason), "(none)");
    for (i = 0; i < r->nreasons; i++)
        if (strcmp(r->reasons[i], reason) == 0)
            break;
    if (i == r->nreasons) {
        if (r->nreasons == RP_MAX_REASONS)
            i = RP_MAX_REASONS - 1; /* lump the rest together */
        else
            snprintf(r->reasons[r->nreasons++], sizeof(r->reasons[0]), "%s",
                     reason);
    }
    r->reason_counts[i]++;
}

/* Adds a source position to the set: 1 when new, 0 when seen before, -1
 * when out of memory. The DLQ is at-least-once (kafka_dlq.h): the same
 * source message may be there twice, and must count and redrive once. */
static int seen_add(rp_t *r, int32_t part, int64_t off)
{
    uint64_t key = ((uint64_t)part << 48 ^ (uint64_t)off) + 1, *old = r->seen;
    size_t i, oldcap = r->seen_cap;

    if (2 * (r->seen_n + 1) > r->seen_cap) {
        r->seen_cap = oldcap != 0 ? oldcap * 2 : 1024;
        r->seen = calloc(r->seen_cap, sizeof(*r->seen));
        if (r->seen == NULL) {
            r->seen = old;
            r->seen_cap = oldcap;
            return -1;
        }
        r->seen_n = 0;
        for (i = 0; i < oldcap; i++)
            if (old[i] != 0)
                seen_add(r, (int32_t)((old[i] - 1) >> 48),
                         (int64_t)((old[i] - 1) & 0xffffffffffffULL));
        free(old);
    }
    for (i = (size_t)(key * 0x9E3779B97F4A7C15ULL) % r->seen_cap;
         r->seen[i] != 0; i = (i + 1) % r->seen_cap)
        if (r->seen[i] == key)
            return 0;
    r->seen[i] = key;
    r->seen_n++;
    return 1;
}

static int reason_is(const topic_msg_t *m, const char *want)
{
    return m->reason != NULL && strlen(want) == m->reason_len &&
           memcmp(m->reason, want, m->reason_len) == 0;
}

/* The coupon of a DLQ entry's event, or 0 when it does not decode. */
static int64_t dlq_coupon(const rp_t *r, const topic_msg_t *m)
{
    redemption_event_t rev;
    char err[256];
    event_t ev;

    if (r->red)
        return redemption_event_decode(m->value, m->len, &rev, err,
                                       sizeof(err)) == EVENT_OK
                   ? rev.coupon_id
                   : 0;
    return event_decode(m->value, m->len, &ev, err, sizeof(err)) == EVENT_OK
               ? ev.coupon_id
               : 0;
}

static int rp_dlq_entry(void *arg, const topic_msg_t *m)
{
    rp_t *r = arg;
    topic_t *k = tool_kafka(r->t);

    progress_update(r->prog, ++r->scanned);
    if (r->coupon != 0 && dlq_coupon(r, m) != r->coupon)
        return 0;
    if (m->source_partition >= 0 && m->source_offset >= 0) {
        int fresh = seen_add(r, m->source_partition, m->source_offset);

        if (fresh < 0)
            return tool_fail(r->t, TOOL_EXIT_ERROR, "out of memory"), -1;
        if (fresh == 0) {
            r->dlq_repeats++;
            return 0;
        }
    }
    r->matched++;
    dlq_count_reason(r, m);
    if (!r->redrive || (r->reason != NULL && !reason_is(m, r->reason)))
        return 0;
    if (topic_produce(k, r->main_topic, m->key, m->key_len, m->value, m->len) !=
        0)
        return -1;
    r->redriven++;
    return 0;
}

/* ------------------------------------------------------------ command */

static int rp_setup_redemptions(rp_t *r, tool_t *t)
{
    char err[512];

    r->rsink = redemption_sink_new(tool_db(t), r->dry_run, err, sizeof(err));
    r->rbatch = calloc(r->batch_size, sizeof(*r->rbatch));
    r->rout = calloc(r->batch_size, sizeof(*r->rout));
    if (r->rsink == NULL || r->rbatch == NULL || r->rout == NULL)
        return tool_fail(t, TOOL_EXIT_ERROR, "redemption sink: %s",
                         r->rsink == NULL ? err : "out of memory");
    return TOOL_EXIT_OK;
}

static int rp_setup(rp_t *r, tool_t *t)
{
    const config_t *cfg = tool_cfg(t);
    char err[512];

    memset(r, 0, sizeof(*r));
    r->t = t;
    r->coupon = config_int(cfg, "coupon");
    r->dry_run = config_bool(cfg, "dry-run");
    r->batch_size = (size_t)config_int(cfg, "batch-size");
    r->red = config_bool(cfg, "redemptions");
    r->main_topic = config_str(cfg, r->red ? "redemption-topic" : "topic");
    r->reason = config_str(cfg, "reason");
    r->redrive = config_bool(cfg, "redrive");
    if (config_npos(cfg) != 0)
        return tool_fail(t, TOOL_EXIT_USAGE, "takes no arguments, only flags");
    if (!config_bool(cfg, "dlq") && (r->redrive || r->reason != NULL))
        return tool_fail(t, TOOL_EXIT_USAGE,
                         "--redrive and --reason need "
                         "--dlq");
    if (config_bool(cfg, "dlq") || (r->dry_run && !r->red))
        return TOOL_EXIT_OK;
    if (tool_db(t) == NULL)
        return TOOL_EXIT_ERROR;
    if (r->red)
        return rp_setup_redemptions(r, t);
    r->sink = sink_new(tool_db(t), err, sizeof(err));
    r->batch = calloc(r->batch_size, sizeof(*r->batch));
    r->out = calloc(r->batch_size, sizeof(*r->out));
    if (r->sink == NULL || r->batch == NULL || r->out == NULL)
        return tool_fail(t, TOOL_EXIT_ERROR, "sink: %s",
                         r->sink == NULL ? err : "out of memory");
    return TOOL_EXIT_OK;
}

static void rp_free(rp_t *r)
{
    size_t i;

    for (i = 0; i < r->ndry; i++)
        free(r->dry[i].users);
    free(r->dry);
    free(r->seen);
    free(r->batch);
    free(r->out);
    sink_free(r->sink);
    free(r->rbatch);
    free(r->rout);
    redemption_sink_free(r->rsink);
}

static void rp_report(rp_t *r, int dlq)
{
    size_t i;

    tool_set_int(r->t, "scanned", r->scanned);
    tool_set_int(r->t, "matched", r->matched);
    if (dlq) {
        for (i = 0; i < r->nreasons; i++)
            tool_set_count(r->t, "reasons", r->reasons[i], r->reason_counts[i]);
        tool_set_int(r->t, "repeats", r->dlq_repeats);
        if (r->redrive)
            tool_set_int(r->t, "redriven", r->redriven);
        return;
    }
    tool_set_bool(r->t, "dry_run", r->dry_run);
    if (r->red) {
        for (i = 0; i < REDEMPTION_SINK_NOUTCOMES; i++)
            tool_set_int(r->t, redemption_outcome_name((redemption_outcome_t)i),
                         r->routcomes[i]);
        tool_set_int(r->t, "invalid", r->invalid);
        return;
    }
    tool_set_int(r->t, "inserted", r->outcomes[SINK_INSERTED]);
    tool_set_int(r->t, "duplicate", r->outcomes[SINK_DUPLICATE]);
    tool_set_int(r->t, "over_quantity", r->outcomes[SINK_OVER_QUANTITY]);
    tool_set_int(r->t, "unknown_coupon", r->outcomes[SINK_UNKNOWN_COUPON]);
    tool_set_int(r->t, "invalid", r->invalid);
}

/* Scans the range of the main topic or the DLQ, then finishes the work. */
static int rp_run(rp_t *r, int dlq)
{
    int64_t start[TOPIC_MAX_PARTITIONS] = { 0 },
            end[TOPIC_MAX_PARTITIONS] = { 0 }, total = 0, failed;
    char topic[256] = "";
    topic_t *k;
    int32_t n = 0;
    size_t i;
    int rc;

    if (dlq)
        kafka_dlq_topic(r->main_topic, topic, sizeof(topic));
    else
        snprintf(topic, sizeof(topic), "%s", r->main_topic);
    if ((rc = rp_range(r->t, topic, &n, start, end, &total)) != TOOL_EXIT_OK)
        return rc;
    k = tool_kafka(r->t);
    if (config_bool(tool_cfg(r->t), "progress"))
        r->prog = progress_new(stderr, "events", total, isatty(2));
    rc = topic_scan(k, topic, n, start, end, dlq ? rp_dlq_entry : rp_event, r);
    progress_finish(r->prog);
    r->prog = NULL;
    if (rc != 0)
        return tool_fail(r->t, TOOL_EXIT_ERROR, "%s", topic_error(k));
    if (!dlq && (!r->dry_run || r->red) && rp_flush(r) != 0)
        return TOOL_EXIT_ERROR;
    for (i = 0; i < r->ndry; i++)
        if (dry_classify(r, &r->dry[i]) != 0)
            return TOOL_EXIT_ERROR;
    if (dlq && r->redrive &&
        (topic_flush(k, RP_FLUSH_MS, &failed) != 0 || failed > 0))
        return tool_fail(r->t, TOOL_EXIT_ERROR,
                         "%" PRId64 " redriven "
                         "entries not delivered: %s",
                         failed, topic_error(k));
    return TOOL_EXIT_OK;
}

static int cmd_replay(tool_t *t)
{
    int dlq = config_bool(tool_cfg(t), "dlq");
    rp_t r;
    int rc;

    rc = rp_setup(&r, t);
    if (rc == TOOL_EXIT_OK)
        rc = rp_run(&r, dlq);
    rp_report(&r, dlq);
    if (rc == TOOL_EXIT_OK && !dlq && !r.dry_run &&
        r.outcomes[SINK_OVER_QUANTITY] + r.outcomes[SINK_UNKNOWN_COUPON] +
                r.routcomes[REDEMPTION_SINK_ILLEGAL] +
                r.routcomes[REDEMPTION_SINK_UNKNOWN_COUPON] >
            0)
        rc = TOOL_EXIT_PARTIAL;
    rp_free(&r);
    return rc;
}

const tool_cmd_t replayer_cmd = {
    "replay",
    "--from-beginning | --from-offsets P:O,... | --since TIME [--until TIME] "
    "[--coupon ID] [--dry-run] | --dlq [--redrive [--reason R]]; "
    "--redemptions: the same on --redemption-topic",
    "Re-applies events of --topic to MySQL through the workers' sink, in\n"
    "batches of one transaction each. Idempotent: rows that exist are\n"
    "counted as duplicates, so replaying twice changes nothing. Offsets are\n"
    "never committed. TIME: RFC 3339, now, +10m/-1h, @unix-ms.\n"
    "--dlq lists <topic>.dlq grouped by the reason header (whole DLQ unless\n"
    "--from-offsets/--since); --redrive re-publishes the entries (key and\n"
    "value unchanged) to --topic, optionally only those with --reason.\n"
    "--redemptions works on --redemption-topic instead, through the\n"
    "workers' redemption sink (outcomes applied, stale, duplicate,\n"
    "illegal_transition, unknown_coupon); --dry-run then applies each batch\n"
    "and rolls it back (a batch does not see the ones before it).\n"
    "Exit 6 when some events could not be applied (over_quantity,\n"
    "unknown_coupon, illegal_transition).",
    replay_opts,
    sizeof(replay_opts) / sizeof(replay_opts[0]),
    cmd_replay,
};
