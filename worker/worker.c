/* worker.c -- the consume -> batch -> transaction -> commit loop. See
 * worker.h.
 *
 * Ordering is the whole point: rows commit first (sink_apply for the issue
 * events, redemption_sink_apply for the redemption events, one transaction
 * each), then every DLQ entry of the batch is acknowledged, and only then
 * are the batch's offsets (highest + 1 per topic and partition) committed.
 * A crash anywhere replays at most the open batch, and replaying it changes
 * nothing that committed (issue rows are unique per (coupon, user),
 * redemption events per event_id; the DLQ is at-least-once).
 *
 * Both topics share one consumer, one group and one open batch; items carry
 * their topic and the batch is split by topic at flush. Why one batch and
 * not two: every guarantee above -- the pause of the whole assignment while
 * a batch is retried, the flush before a revoke, the carry, one offset
 * commit -- then holds for both topics with the machinery that exists, and
 * a revoke or a stop flushes one thing. The cost: a failing redemption
 * transaction also holds back the issue events of its batch (and the other
 * way round); both go to the same MySQL, so one failing usually means both
 * would. Each part remembers that it committed (applied[]), so a retry
 * re-runs only the part that failed.
 *
 * Rebalancing is eager (range, roundrobin), not cooperative-sticky, because
 * of librdkafka bug #4059 (fixed only in 2.10.0; Debian 12 ships 2.0.2): an
 * offset commit made between the two phases of an incremental rebalance can
 * fail with ILLEGAL_GENERATION and make librdkafka declare the whole
 * assignment lost, so the batch we had just written is replayed by the next
 * owner (its DLQ entries sent twice) and the member rejoins from scratch.
 * With an eager assignor librdkafka does not rejoin until the revoke
 * callback has returned, so the generation our commits carry stays valid
 * there: on revoke we write the open batch and commit its offsets
 * synchronously, then give every partition up with rd_kafka_assign(NULL).
 * The price is a stop-the-world pause per membership change, one batch
 * long. All members of a group must use the same protocol: a rolling
 * upgrade from a cooperative-sticky worker must stop the old ones first.
 * -X partition.assignment.strategy=cooperative-sticky still works (the
 * callback handles both protocols) and logs a warning on an affected
 * librdkafka.
 *
 * Membership is dynamic unless --instance-id gives the worker a static id
 * (KIP-345, group.instance.id). A dynamic member that is kill -9'ed stalls
 * the whole group: the broker waits session.timeout.ms for the dead member
 * before the eager rebalance its replacement asked for can finish. A static
 * member that comes back with the same id within session.timeout.ms gets
 * its old partitions back with no rebalance at all. Two costs: a clean stop
 * sends no LeaveGroup either, so the partitions of a static worker that is
 * stopped for good wait session.timeout.ms before the others get them; and
 * a second worker started with a running one's id fences the older one
 * (FENCED_INSTANCE_ID, fatal in librdkafka), which then commits nothing
 * more and exits 1 (check_fatal).
 *
 * Threads: everything here runs on the caller's thread, including
 * librdkafka's rebalance callback (served from rd_kafka_consumer_poll); the
 * /metrics thread only reads atomics. */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "backoff.h"
#include "batch.h"
#include "db.h"
#include "instance_id.h"
#include "kafka_conf.h"
#include "kafka_dlq.h"
#include "log.h"
#include "metrics.h"
#include "metrics_http.h"
#include "persist.h"
#include "redemption_sink.h"
#include "sink.h"
#include "verdict.h"
#include "worker.h"

#define WORKER_POLL_MS        100
#define WORKER_DLQ_TIMEOUT_MS 10000
#define WORKER_BACKOFF_BASE   50
#define WORKER_CONNECT_TRIES  30 /* MySQL at start-up, one a second */
#define WORKER_ASSIGNORS      "range,roundrobin" /* eager: see the top */
#define WORKER_RDKAFKA_FIXED  0x020a0000         /* 2.10.0 fixed #4059 */

const cfg_opt_t worker_options[] = {
    CFG_OPT_KAFKA,
    CFG_OPT_TOPIC,
    { "redemption-topic", "COUPONQ_REDEMPTION_TOPIC", CFG_STR, 0, 0,
      "couponq.redemptions",
      "Kafka topic of redemption events, consumed in the same group (its DLQ "
      "is <topic>.dlq; \"off\": issue requests only)" },
    CFG_OPT_MYSQL,
    CFG_OPT_REDIS,
    { "group", "COUPONQ_GROUP", CFG_STR, 0, 0, "couponq-workers",
      "Kafka consumer group" },
    { "instance-id", "COUPONQ_WORKER_INSTANCE_ID", CFG_STR, 0, 0, NULL,
      "static group membership (group.instance.id, over -X): an id unique "
      "in the group and kept across restarts, e.g. worker-1, so a restarted "
      "worker takes its partitions back at once; unset or empty: dynamic" },
    { "batch-size", "COUPONQ_BATCH_SIZE", CFG_INT, 1, 100000, "2000",
      "most events in one MySQL transaction" },
    { "batch-ms", "COUPONQ_BATCH_MS", CFG_INT, 1, 60000, "100",
      "longest a batch waits to fill, in ms" },
    { "retry-max-ms", "COUPONQ_RETRY_MAX_MS", CFG_INT, 100, 600000, "5000",
      "cap of the backoff between retries of a failed batch, in ms" },
    { "metrics-listen", "COUPONQ_WORKER_METRICS", CFG_STR, 0, 0,
      "127.0.0.1:9464", "address of GET /metrics, host:port (\"off\": none)" },
    CFG_OPT_LOG_LEVEL,
};
const size_t worker_noptions =
    sizeof(worker_options) / sizeof(worker_options[0]);

enum { DLQ_REASONS = 11 }; /* event reasons 1..7, 2 outcomes, db_error */
/* Redemptions: event reasons 1..8, illegal_transition, unknown_coupon,
 * db_error, other. */
enum { RDLQ_REASONS = 12 };

typedef struct worker_metrics {
    metric_t *events, *inserted, *duplicates, *batches, *retries;
    metric_t *commit_failures, *persist_failures, *lag;
    metric_t *batch_size, *batch_seconds;
    metric_t *dlq[DLQ_REASONS];
    const char *dlq_name[DLQ_REASONS];
    metric_t *revents, *rlag;
    metric_t *routcomes[REDEMPTION_SINK_NOUTCOMES];
    metric_t *rdlq[RDLQ_REASONS];
    const char *rdlq_name[RDLQ_REASONS];
} worker_metrics_t;

struct worker {
    const config_t *cfg;
    const char *topic;
    const char *topics[BATCH_TOPICS]; /* by BATCH_*; [REDEMPTION] NULL: off */
    size_t batch_size;
    int64_t batch_ms;
    rd_kafka_t *rk;
    kafka_dlq_t *dlq;
    db_t *db;
    sink_t *sink;
    redemption_sink_t *rsink;
    persist_t *persist;
    metrics_t *m;
    metrics_http_t *http;
    worker_metrics_t mx;
    batch_t *batch; /* the open batch */
    batch_t *carry; /* polled while the open batch was being retried */
    backoff_t backoff;
    int retrying; /* assignment paused, open batch failed at least once */
    /* applied[t]: the open batch's rows of topic t are committed (DLQ
     * pending) */
    int applied[BATCH_TOPICS];
    int db_failed; /* last failure was MySQL's: reconnect before retry */
    int fatal;
    volatile sig_atomic_t stop;
    /* group.instance.id as librdkafka holds it (--instance-id or -X); "":
     * dynamic membership */
    char instance_id[INSTANCE_ID_MAX + 1];
    int64_t lag_ms; /* last lag update */
    /* Scratch for one flush, sized to the batch. */
    size_t scap;
    event_t *evs;
    size_t *idx; /* evs[k] is batch item idx[k] */
    sink_outcome_t *out;
    redemption_event_t *revs;
    size_t *ridx; /* revs[k] is batch item ridx[k] */
    redemption_result_t *rout;
    unsigned char *bad[BATCH_TOPICS]; /* event k of topic t refused by
                                         MySQL on its own */
    size_t *keep;                     /* events whose row exists, for Redis */
    kafka_dlq_msg_t *dlqm;
    int *ctopics;
    int32_t *parts;
    int64_t *offs;
    char bad_err[BATCH_TOPICS][512];
};

/* The loop asks for the time several times per message: the coarse clock
 * (a few ms of resolution, plenty for batch ages) is the cheap one. */
static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void free_msg(void *msg)
{
    rd_kafka_message_destroy(msg);
}

/* ------------------------------------------------------------ metrics */

static const double batch_size_bounds[] = { 1,    10,   50,   100,   250,  500,
                                            1000, 2000, 5000, 10000, 50000 };

/* The redemption topic's series: couponq_worker_redemption_*. */
static int metrics_setup_redemption(worker_t *w)
{
    worker_metrics_t *x = &w->mx;
    char labels[64];
    int i;

    x->revents = metrics_counter(w->m, "couponq_worker_redemption_events_total",
                                 "Redemption messages consumed", NULL);
    x->rlag = metrics_gauge(w->m, "couponq_worker_redemption_consumer_lag",
                            "Redemption messages behind the log end, "
                            "assigned partitions",
                            NULL);
    for (i = 0; i < REDEMPTION_SINK_NOUTCOMES; i++) {
        snprintf(labels, sizeof(labels), "outcome=\"%s\"",
                 redemption_outcome_name((redemption_outcome_t)i));
        x->routcomes[i] =
            metrics_counter(w->m, "couponq_worker_redemption_outcomes_total",
                            "Redemption events by what they did", labels);
        if (x->routcomes[i] == NULL)
            return -1;
    }
    for (i = 0; i < RDLQ_REASONS; i++) {
        x->rdlq_name[i] =
            i < 8     ? event_reason_name((event_reason_t)(i + 1))
            : i == 8  ? redemption_outcome_name(REDEMPTION_SINK_ILLEGAL)
            : i == 9  ? redemption_outcome_name(REDEMPTION_SINK_UNKNOWN_COUPON)
            : i == 10 ? VERDICT_DB_ERROR
                      : "other";
        snprintf(labels, sizeof(labels), "reason=\"%s\"", x->rdlq_name[i]);
        x->rdlq[i] =
            metrics_counter(w->m, "couponq_worker_redemption_dlq_total",
                            "Redemption messages sent to the DLQ", labels);
        if (x->rdlq[i] == NULL)
            return -1;
    }
    return x->revents && x->rlag ? 0 : -1;
}

static int metrics_setup(worker_t *w)
{
    worker_metrics_t *x = &w->mx;
    char labels[64];
    int i;

#define C(field, name, help)                                                   \
    x->field = metrics_counter(w->m, "couponq_worker_" name, help, NULL)
    C(events, "events_total", "Messages consumed");
    C(inserted, "rows_inserted_total", "Rows inserted into coupon_issues");
    C(duplicates, "duplicates_total", "Events whose row already existed");
    C(batches, "batches_total", "Batches committed");
    C(retries, "retries_total", "Failed batch attempts that were retried");
    C(commit_failures, "commit_failures_total", "Offset commits that failed");
    C(persist_failures, "persist_failures_total",
      "Batches whose Redis persisted-set update failed");
#undef C
    x->lag =
        metrics_gauge(w->m, "couponq_worker_consumer_lag",
                      "Messages behind the log end, assigned partitions", NULL);
    x->batch_size = metrics_histogram(
        w->m, "couponq_worker_batch_size", "Messages per batch", NULL,
        batch_size_bounds, sizeof(batch_size_bounds) / sizeof(double));
    x->batch_seconds =
        metrics_histogram(w->m, "couponq_worker_batch_seconds",
                          "Time from flush start to offsets committed", NULL,
                          metrics_latency_bounds, metrics_latency_nbounds);
    for (i = 0; i < DLQ_REASONS; i++) {
        x->dlq_name[i] = i < 7    ? event_reason_name((event_reason_t)(i + 1))
                         : i == 7 ? sink_outcome_name(SINK_OVER_QUANTITY)
                         : i == 8 ? sink_outcome_name(SINK_UNKNOWN_COUPON)
                         : i == 9 ? VERDICT_DB_ERROR
                                  : "other";
        snprintf(labels, sizeof(labels), "reason=\"%s\"", x->dlq_name[i]);
        x->dlq[i] = metrics_counter(w->m, "couponq_worker_dlq_total",
                                    "Messages sent to the DLQ", labels);
        if (x->dlq[i] == NULL)
            return -1;
    }
    if (w->topics[BATCH_REDEMPTION] != NULL && metrics_setup_redemption(w))
        return -1;
    return x->events && x->inserted && x->duplicates && x->batches &&
                   x->retries && x->commit_failures && x->persist_failures &&
                   x->lag && x->batch_size && x->batch_seconds
               ? 0
               : -1;
}

static void count_dlq(worker_t *w, const kafka_dlq_msg_t *d)
{
    int red = d->source_topic == w->topics[BATCH_REDEMPTION];
    int n = red ? RDLQ_REASONS : DLQ_REASONS, i;
    const char *const *names = red ? w->mx.rdlq_name : w->mx.dlq_name;

    for (i = 0; i < n - 1; i++)
        if (strcmp(names[i], d->reason) == 0)
            break;
    metric_inc(red ? w->mx.rdlq[i] : w->mx.dlq[i]);
}

/* BATCH_* of a topic name (the two are never equal: worker_new checks). */
static int topic_index(const worker_t *w, const char *name)
{
    const char *r = w->topics[BATCH_REDEMPTION];

    return r != NULL && strcmp(name, r) == 0 ? BATCH_REDEMPTION : BATCH_ISSUE;
}

/* Sum over the assignment of (high watermark - position), per topic; once a
 * second. */
static void update_lag(worker_t *w)
{
    rd_kafka_topic_partition_list_t *a = NULL;
    int64_t lo, hi, lag[BATCH_TOPICS] = { 0, 0 }, t = now_ms();
    int i;

    if (t - w->lag_ms < 1000)
        return;
    w->lag_ms = t;
    if (rd_kafka_assignment(w->rk, &a) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return;
    rd_kafka_position(w->rk, a);
    for (i = 0; i < a->cnt; i++) {
        int64_t pos = a->elems[i].offset;

        if (rd_kafka_get_watermark_offsets(w->rk, a->elems[i].topic,
                                           a->elems[i].partition, &lo,
                                           &hi) != RD_KAFKA_RESP_ERR_NO_ERROR ||
            hi < 0)
            continue;
        if (pos < 0)
            pos = lo;
        if (hi > pos)
            lag[topic_index(w, a->elems[i].topic)] += hi - pos;
    }
    rd_kafka_topic_partition_list_destroy(a);
    metric_set(w->mx.lag, (double)lag[BATCH_ISSUE]);
    if (w->mx.rlag != NULL)
        metric_set(w->mx.rlag, (double)lag[BATCH_REDEMPTION]);
}

/* ------------------------------------------------------------ intake */

/* 1 once librdkafka raised a fatal error (logged here, once): the worker
 * commits nothing more and exits. FENCED_INSTANCE_ID is the broker saying
 * that a newer member joined with our group.instance.id: it owns our
 * partitions now, and every commit of ours would be refused. */
static int check_fatal(worker_t *w)
{
    rd_kafka_resp_err_t e;
    char why[256];

    if (w->fatal)
        return 1;
    e = rd_kafka_fatal_error(w->rk, why, sizeof(why));
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
        return 0;
    if (e == RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID)
        LOG(LL_ERROR,
            "msg=\"fenced: another worker runs with the same --instance-id "
            "in this group and took its partitions; exiting without "
            "committing\" instance_id=%s group=%s error=\"%s\"",
            w->instance_id, config_str(w->cfg, "group"), why);
    else
        LOG(LL_ERROR, "msg=\"fatal consumer error\" error=\"%s\"", why);
    w->fatal = 1;
    return 1;
}

/* Decodes one consumed message into batch b (the open batch or the carry). */
static void take_msg(worker_t *w, batch_t *b, rd_kafka_message_t *m)
{
    batch_item_t *it;
    int t;

    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
            check_fatal(w);
        } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            LOG(LL_WARN, "msg=\"consumer error\" error=\"%s\"",
                rd_kafka_message_errstr(m));
        }
        rd_kafka_message_destroy(m);
        return;
    }
    t = topic_index(w, rd_kafka_topic_name(m->rkt));
    metric_inc(t == BATCH_ISSUE ? w->mx.events : w->mx.revents);
    it = batch_add(b, t, m->partition, m->offset, m, now_ms());
    if (it == NULL) {
        /* Dropping a consumed message could lose it once a later offset
         * commits: stop instead, the group replays it. */
        LOG(LL_ERROR, "msg=\"out of memory for the batch\"");
        rd_kafka_message_destroy(m);
        w->fatal = 1;
        return;
    }
    if (t == BATCH_REDEMPTION)
        it->reason = redemption_event_decode(m->payload, m->len, &it->rev,
                                             it->why, sizeof(it->why));
    else
        it->reason =
            event_decode(m->payload, m->len, &it->ev, it->why, sizeof(it->why));
}

static int scratch_grow(worker_t *w, size_t n)
{
    if (n <= w->scap)
        return 0;
#define GROW(f)                                                                \
    do {                                                                       \
        void *p = realloc(w->f, n * sizeof(*w->f));                            \
        if (p == NULL)                                                         \
            return -1;                                                         \
        w->f = p;                                                              \
    } while (0)
    GROW(evs);
    GROW(idx);
    GROW(out);
    GROW(revs);
    GROW(ridx);
    GROW(rout);
    GROW(bad[BATCH_ISSUE]);
    GROW(bad[BATCH_REDEMPTION]);
    GROW(keep);
    GROW(dlqm);
    GROW(ctopics);
    GROW(parts);
    GROW(offs);
#undef GROW
    w->scap = n;
    return 0;
}

/* ------------------------------------------------------------ flush steps */

/* Events [from, from + n) of topic t's part through its sink. */
static int part_apply(worker_t *w, int t, size_t from, size_t n, char *err,
                      size_t errn)
{
    if (t == BATCH_ISSUE)
        return sink_apply(w->sink, &w->evs[from], n, &w->out[from], err, errn);
    return redemption_sink_apply(w->rsink, &w->revs[from], n, &w->rout[from],
                                 err, errn);
}

static void log_refused(const worker_t *w, int t, size_t k, const char *err)
{
    if (t == BATCH_ISSUE)
        LOG(LL_ERROR,
            "msg=\"event refused by mysql\" event_id=%s "
            "coupon_id=%" PRId64 " user_id=%" PRId64 " error=\"%s\"",
            w->evs[k].event_id, w->evs[k].coupon_id, w->evs[k].user_id, err);
    else
        LOG(LL_ERROR,
            "msg=\"redemption event refused by mysql\" event_id=%s "
            "redemption_id=%s coupon_id=%" PRId64 " error=\"%s\"",
            w->revs[k].event_id, w->revs[k].redemption_id, w->revs[k].coupon_id,
            err);
}

/* After a permanent failure of the whole part: one transaction per event,
 * so only an event MySQL refuses on its own goes to the DLQ (reason
 * db_error). When every event is refused the cause is not in the events
 * (missing table, no privilege...): nothing goes to the DLQ, the batch is
 * retried until an operator fixes it. */
static int apply_singly(worker_t *w, int t, size_t ne)
{
    char err[512];
    size_t k, nbad = 0;
    int rc;

    for (k = 0; k < ne; k++) {
        rc = part_apply(w, t, k, 1, err, sizeof(err));
        if (rc == SINK_ERR_TRANSIENT)
            return rc;
        if (rc == SINK_ERR_PERMANENT) {
            log_refused(w, t, k, err);
            w->bad[t][k] = 1;
            nbad++;
            snprintf(w->bad_err[t], sizeof(w->bad_err[t]), "%s", err);
        }
    }
    if (verdict_singly(nbad, ne) != SINK_OK) {
        LOG(LL_ERROR,
            "msg=\"mysql refuses every event of the batch: not "
            "sending them to the DLQ, retrying\" topic=%s error=\"%s\"",
            w->topics[t], w->bad_err[t]);
        return SINK_ERR_PERMANENT;
    }
    return SINK_OK;
}

/* Topic t's ne valid events of the open batch, in one transaction. */
static int apply_part(worker_t *w, int t, size_t ne)
{
    char err[512];
    int rc;

    if (w->applied[t] || ne == 0)
        return 0; /* rows committed by an earlier attempt, or none */
    memset(w->bad[t], 0, ne);
    rc = part_apply(w, t, 0, ne, err, sizeof(err));
    if (rc == SINK_ERR_PERMANENT) {
        LOG(LL_ERROR,
            "msg=\"batch refused by mysql, applying one by one\" "
            "topic=%s error=\"%s\"",
            w->topics[t], err);
        rc = apply_singly(w, t, ne);
    }
    if (rc != SINK_OK) {
        LOG(LL_WARN,
            "msg=\"batch failed, will retry\" topic=%s events=%zu "
            "error=\"%s\"",
            w->topics[t], ne, err);
        w->db_failed = 1;
        return -1;
    }
    w->applied[t] = 1;
    return 0;
}

static void dlq_msg(worker_t *w, size_t *nd, batch_item_t *it,
                    const verdict_dlq_t *v)
{
    rd_kafka_message_t *m = it->msg;
    kafka_dlq_msg_t *d = &w->dlqm[(*nd)++];

    d->key = m->key;
    d->key_len = m->key_len;
    d->value = m->payload;
    d->len = m->len;
    d->reason = v->reason;
    d->error = v->error;
    d->source_topic = w->topics[it->topic]; /* count_dlq compares pointers */
    d->source_partition = it->partition;
    d->source_offset = it->offset;
}

/* The redemption part's refusals: db_error, illegal_transition,
 * unknown_coupon. */
static void redemption_dlq(worker_t *w, size_t *nd, size_t nr)
{
    verdict_dlq_t v;
    size_t k;

    for (k = 0; k < nr; k++)
        if (verdict_redemption(w->bad[BATCH_REDEMPTION][k], &w->rout[k],
                               w->bad_err[BATCH_REDEMPTION], &v))
            dlq_msg(w, nd, batch_item(w->batch, w->ridx[k]), &v);
}

/* Every DLQ entry of the batch, acknowledged; 0 or -1 (retry the batch). */
static int send_dlq(worker_t *w, size_t ne, size_t nr)
{
    size_t i, k, nd = 0;
    char err[512];
    verdict_dlq_t v;

    for (i = 0; i < batch_len(w->batch); i++)
        if (verdict_rejected(batch_item(w->batch, i), &v))
            dlq_msg(w, &nd, batch_item(w->batch, i), &v);
    for (k = 0; k < ne; k++)
        if (verdict_issue(w->bad[BATCH_ISSUE][k], w->out[k],
                          w->bad_err[BATCH_ISSUE], &v))
            dlq_msg(w, &nd, batch_item(w->batch, w->idx[k]), &v);
    redemption_dlq(w, &nd, nr);
    if (nd == 0)
        return 0;
    if (kafka_dlq_send(w->dlq, w->dlqm, nd, WORKER_DLQ_TIMEOUT_MS, err,
                       sizeof(err)) != 0) {
        LOG(LL_WARN,
            "msg=\"dlq produce failed, will retry\" n=%zu "
            "error=\"%s\"",
            nd, err);
        return -1;
    }
    for (k = 0; k < nd; k++)
        count_dlq(w, &w->dlqm[k]);
    return 0;
}

/* Offsets after the rows and the DLQ. A failed commit is not retried: the
 * batch is done, and whoever replays it changes nothing. Nothing is sent
 * once a fatal error is known (a fenced member's partitions are another's,
 * and the broker would refuse it anyway): -1, the batch is not done. */
static int commit_offsets(worker_t *w)
{
    size_t np, i;
    rd_kafka_topic_partition_list_t *l;
    rd_kafka_resp_err_t e;

    if (check_fatal(w))
        return -1;
    np = batch_commit_offsets(w->batch, w->ctopics, w->parts, w->offs);
    l = rd_kafka_topic_partition_list_new((int)np);
    for (i = 0; i < np; i++)
        rd_kafka_topic_partition_list_add(l, w->topics[w->ctopics[i]],
                                          w->parts[i])
            ->offset = w->offs[i];
    e = rd_kafka_commit(w->rk, l, 0);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        LOG(LL_WARN, "msg=\"offset commit failed\" error=\"%s\"",
            rd_kafka_err2str(e));
        metric_inc(w->mx.commit_failures);
    }
    rd_kafka_topic_partition_list_destroy(l);
    return 0;
}

/* Users whose row now exists -> Redis; counts rows. Never fails the batch. */
static void record_persisted(worker_t *w, size_t ne)
{
    size_t k, nk = 0, ins = 0, dup = 0;
    char err[256];

    for (k = 0; k < ne; k++) {
        if (!verdict_issue_persisted(w->bad[BATCH_ISSUE][k], w->out[k]))
            continue;
        if (w->out[k] == SINK_INSERTED)
            ins++;
        else
            dup++;
        w->keep[nk++] = k;
    }
    metric_add(w->mx.inserted, (double)ins);
    metric_add(w->mx.duplicates, (double)dup);
    if (persist_record(w->persist, w->evs, w->keep, nk, err, sizeof(err)) < 0) {
        LOG(LL_WARN, "msg=\"persisted set update failed\" error=\"%s\"", err);
        metric_inc(w->mx.persist_failures);
    }
}

/* The redemption part's outcomes, once its batch is done. */
static void count_redemptions(worker_t *w, size_t nr)
{
    size_t k;

    for (k = 0; k < nr; k++)
        if (!w->bad[BATCH_REDEMPTION][k])
            metric_inc(w->mx.routcomes[w->rout[k].outcome]);
}

/* One attempt at the open batch. 0: done and cleared; -1: kept for a
 * retry (nothing of it committed to Kafka). */
static int flush_once(worker_t *w, int64_t t0)
{
    size_t n = batch_len(w->batch), ne, nr;
    int64_t t[4];

    if (n == 0)
        return 0;
    if (scratch_grow(w, n) != 0) {
        LOG(LL_ERROR, "msg=\"out of memory for a flush\"");
        return -1;
    }
    w->db_failed = 0;
    ne = batch_events(w->batch, w->evs, w->idx);
    nr = batch_redemptions(w->batch, w->revs, w->ridx);
    if (apply_part(w, BATCH_ISSUE, ne) != 0 ||
        apply_part(w, BATCH_REDEMPTION, nr) != 0)
        return -1;
    t[0] = now_ms();
    if (send_dlq(w, ne, nr) != 0)
        return -1;
    t[1] = now_ms();
    if (commit_offsets(w) != 0)
        return -1;
    t[2] = now_ms();
    record_persisted(w, ne);
    count_redemptions(w, nr);
    t[3] = now_ms();
    metric_inc(w->mx.batches);
    metric_observe(w->mx.batch_size, (double)n);
    metric_observe(w->mx.batch_seconds, (double)(t[3] - t0) / 1000.0);
    LOG(LL_DEBUG,
        "msg=\"batch committed\" messages=%zu events=%zu redemptions=%zu "
        "mysql_ms=%" PRId64 " dlq_ms=%" PRId64 " commit_ms=%" PRId64
        " redis_ms=%" PRId64,
        n, ne, nr, t[0] - t0, t[1] - t[0], t[2] - t[1], t[3] - t[2]);
    batch_clear(w->batch, free_msg);
    memset(w->applied, 0, sizeof(w->applied));
    return 0;
}

/* ------------------------------------------------------------ retries */

static void set_paused(worker_t *w, int paused)
{
    rd_kafka_topic_partition_list_t *a = NULL;

    if (rd_kafka_assignment(w->rk, &a) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (paused)
            rd_kafka_pause_partitions(w->rk, a);
        else
            rd_kafka_resume_partitions(w->rk, a);
        rd_kafka_topic_partition_list_destroy(a);
    }
    w->retrying = paused;
}

/* Sleeps ms while polling, so heartbeats, rebalances and the poll interval
 * keep us in the group. Anything polled meanwhile waits in the carry. */
static void wait_polling(worker_t *w, int64_t ms)
{
    int64_t end = now_ms() + ms, left;
    rd_kafka_message_t *m;

    while ((left = end - now_ms()) > 0 && !w->fatal) {
        m = rd_kafka_consumer_poll(
            w->rk, left < WORKER_POLL_MS ? (int)left : WORKER_POLL_MS);
        if (m != NULL)
            take_msg(w, w->carry, m);
    }
}

/* Flushes the open batch, retrying until it is done (or its partitions are
 * all revoked); then the carry becomes the open batch. */
static void flush_until_done(worker_t *w)
{
    int64_t t0 = now_ms(), delay;

    while (batch_len(w->batch) > 0 && !w->fatal && flush_once(w, t0) != 0) {
        if (!w->retrying)
            set_paused(w, 1);
        metric_inc(w->mx.retries);
        delay = backoff_next(&w->backoff);
        LOG(LL_INFO, "msg=\"retrying batch\" in_ms=%" PRId64 " messages=%zu",
            delay, batch_len(w->batch));
        wait_polling(w, delay);
        if (w->db_failed && db_reconnect(w->db) != 0)
            LOG(LL_WARN, "msg=\"mysql reconnect failed\" error=\"%s\"",
                db_error(w->db));
    }
    if (w->retrying) {
        set_paused(w, 0);
        LOG(LL_INFO, "msg=\"batch done after retries, resuming\"");
    }
    backoff_reset(&w->backoff);
    if (batch_len(w->batch) == 0)
        batch_swap(w->batch, w->carry);
}

/* ------------------------------------------------------------ rebalance */

static void drop_partitions(worker_t *w,
                            const rd_kafka_topic_partition_list_t *parts)
{
    size_t dropped = 0;
    int i;

    for (i = 0; i < parts->cnt; i++) {
        int t = topic_index(w, parts->elems[i].topic);
        int32_t p = parts->elems[i].partition;

        dropped += batch_drop_partition(w->batch, t, p, free_msg);
        dropped += batch_drop_partition(w->carry, t, p, free_msg);
    }
    if (dropped > 0) {
        /* the batch changed: apply it again (idempotent) */
        memset(w->applied, 0, sizeof(w->applied));
        LOG(LL_WARN,
            "msg=\"dropped uncommitted messages of revoked "
            "partitions; their next owner replays them\" n=%zu",
            dropped);
    }
}

static void on_revoke(worker_t *w, rd_kafka_topic_partition_list_t *parts,
                      int coop)
{
    int lost = rd_kafka_assignment_lost(w->rk);

    LOG(LL_INFO, "msg=\"partitions revoked\" n=%d lost=%d open=%zu", parts->cnt,
        lost, batch_len(w->batch));
    /* Finish what we hold for these partitions while they are still ours:
     * rows, DLQ, then a synchronous offset commit, all before we give them
     * up (eager: the group waits for us). A lost assignment commits
     * nothing, and a batch already failing is not retried here (no polling
     * allowed in a callback): the next owner replays those messages. */
    if (!lost && !w->retrying && !w->fatal && batch_len(w->batch) > 0 &&
        flush_once(w, now_ms()) != 0)
        LOG(LL_WARN, "msg=\"could not flush before revoke\"");
    drop_partitions(w, parts);
    if (coop)
        rd_kafka_incremental_unassign(w->rk, parts);
    else
        rd_kafka_assign(w->rk, NULL);
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    worker_t *w = opaque;
    int coop = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;

    if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        on_revoke(w, parts, coop);
        return;
    }
    if (err != RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        LOG(LL_ERROR, "msg=\"rebalance error\" error=\"%s\"",
            rd_kafka_err2str(err));
        if (coop)
            rd_kafka_incremental_unassign(rk, parts);
        else
            rd_kafka_assign(rk, NULL);
        return;
    }
    LOG(LL_INFO, "msg=\"partitions assigned\" n=%d", parts->cnt);
    if (coop)
        rd_kafka_incremental_assign(rk, parts);
    else
        rd_kafka_assign(rk, parts);
    if (w->retrying) /* keep the whole assignment paused while retrying */
        rd_kafka_pause_partitions(rk, parts);
}

/* ------------------------------------------------------------ run */

int worker_run(worker_t *w)
{
    rd_kafka_message_t *m;
    int64_t wait;
    int timeout;

    LOG(LL_INFO,
        "msg=\"consuming\" topic=%s redemption_topic=%s group=%s "
        "instance_id=%s batch_size=%zu batch_ms=%" PRId64,
        w->topic,
        w->topics[BATCH_REDEMPTION] ? w->topics[BATCH_REDEMPTION] : "off",
        config_str(w->cfg, "group"),
        w->instance_id[0] != '\0' ? w->instance_id : "dynamic", w->batch_size,
        w->batch_ms);
    while (!w->stop && !w->fatal) {
        wait = batch_wait_ms(w->batch, w->batch_ms, now_ms());
        timeout =
            wait < 0 || wait > WORKER_POLL_MS ? WORKER_POLL_MS : (int)wait;
        m = rd_kafka_consumer_poll(w->rk, timeout);
        if (m != NULL)
            take_msg(w, w->batch, m);
        if (batch_due(w->batch, w->batch_size, w->batch_ms, now_ms()))
            flush_until_done(w);
        update_lag(w);
    }
    if (!w->fatal) {
        LOG(LL_INFO, "msg=\"stopping: committing the open batch\" open=%zu",
            batch_len(w->batch));
        flush_until_done(w);
        flush_until_done(w); /* what the carry held */
    }
    /* After a fatal error this returns at once: no revoke, no commit. */
    rd_kafka_consumer_close(w->rk);
    if (w->fatal)
        LOG(LL_INFO, "msg=\"consumer closed after a fatal error\"");
    else if (w->instance_id[0] != '\0')
        /* A static member sends no LeaveGroup: its partitions wait for it
         * (a restart with the same id) up to session.timeout.ms. */
        LOG(LL_INFO,
            "msg=\"consumer closed; static member, still in the "
            "group until session.timeout.ms\" instance_id=%s",
            w->instance_id);
    else
        LOG(LL_INFO, "msg=\"left the group\"");
    return w->fatal ? -1 : 0;
}

void worker_stop(worker_t *w)
{
    if (w != NULL)
        w->stop = 1;
}

/* ------------------------------------------------------------ setup */

static db_t *connect_mysql(const char *url, char *errstr, size_t n)
{
    db_t *db;
    int i;

    /* MySQL may still be starting (compose, restarts): wait a little. */
    for (i = 0;; i++) {
        db = db_connect(url, errstr, n);
        if (db != NULL || i + 1 >= WORKER_CONNECT_TRIES)
            return db;
        LOG(LL_WARN, "msg=\"mysql not reachable, retrying\" error=\"%s\"",
            errstr);
        sleep(1);
    }
}

/* -X may ask for cooperative-sticky again: fine on a fixed librdkafka. */
static void warn_cooperative(rd_kafka_conf_t *kc)
{
    char v[256];
    size_t len = sizeof(v);

    if (rd_kafka_version() < WORKER_RDKAFKA_FIXED &&
        rd_kafka_conf_get(kc, "partition.assignment.strategy", v, &len) ==
            RD_KAFKA_CONF_OK &&
        strstr(v, "cooperative") != NULL)
        LOG(LL_WARN,
            "msg=\"cooperative rebalancing on librdkafka %s can lose the "
            "assignment on a commit mid-rebalance (librdkafka#4059); "
            "batches may be replayed\" strategy=%s",
            rd_kafka_version_str(), v);
}

/* --instance-id, over -X; then what librdkafka holds (a bare -X
 * group.instance.id counts too) into w->instance_id. */
static int set_membership(worker_t *w, rd_kafka_conf_t *kc, char *errstr,
                          size_t n)
{
    const char *id = config_str(w->cfg, "instance-id");
    size_t len = sizeof(w->instance_id);

    if (id != NULL && id[0] != '\0' &&
        rd_kafka_conf_set(kc, "group.instance.id", id, errstr, n) !=
            RD_KAFKA_CONF_OK)
        return -1;
    if (rd_kafka_conf_get(kc, "group.instance.id", w->instance_id, &len) !=
        RD_KAFKA_CONF_OK)
        w->instance_id[0] = '\0';
    return 0;
}

static rd_kafka_t *consumer_new(worker_t *w, char *errstr, size_t n)
{
    /* clang-format off */
    const char *defaults[] = {
        "group.id", config_str(w->cfg, "group"),
        "partition.assignment.strategy", WORKER_ASSIGNORS,
        "enable.auto.commit", "false",
        "enable.auto.offset.store", "false",
        "auto.offset.reset", "earliest",
        "session.timeout.ms", "10000",
        "heartbeat.interval.ms", "1000",
        "fetch.wait.max.ms", "100",
        "queued.max.messages.kbytes", "16384",
        "socket.nagle.disable", "true",
        "client.id", "couponq-worker",
        NULL};
    /* clang-format on */
    rd_kafka_conf_t *kc = kafka_conf_new(w->cfg, defaults, errstr, n);
    rd_kafka_topic_partition_list_t *sub;
    rd_kafka_resp_err_t e;
    rd_kafka_t *rk;

    if (kc == NULL)
        return NULL;
    if (set_membership(w, kc, errstr, n) != 0) {
        rd_kafka_conf_destroy(kc);
        return NULL;
    }
    warn_cooperative(kc);
    rd_kafka_conf_set_rebalance_cb(kc, rebalance_cb);
    rd_kafka_conf_set_opaque(kc, w);
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, kc, errstr, n);
    if (rk == NULL) {
        rd_kafka_conf_destroy(kc);
        return NULL;
    }
    kc = NULL; /* owned by rk now */
    rd_kafka_poll_set_consumer(rk);
    sub = rd_kafka_topic_partition_list_new(BATCH_TOPICS);
    rd_kafka_topic_partition_list_add(sub, w->topic, RD_KAFKA_PARTITION_UA);
    if (w->topics[BATCH_REDEMPTION] != NULL)
        rd_kafka_topic_partition_list_add(sub, w->topics[BATCH_REDEMPTION],
                                          RD_KAFKA_PARTITION_UA);
    e = rd_kafka_subscribe(rk, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(errstr, n, "subscribe %s: %s", w->topic, rd_kafka_err2str(e));
        rd_kafka_destroy(rk);
        return NULL;
    }
    return rk;
}

static int worker_open(worker_t *w, char *errstr, size_t n)
{
    const char *ml = config_str(w->cfg, "metrics-listen");

    w->m = metrics_new();
    if (w->m == NULL || metrics_setup(w) != 0) {
        snprintf(errstr, n, "metrics: out of memory");
        return -1;
    }
    if (ml != NULL && ml[0] != '\0' && strcmp(ml, "off") != 0 &&
        (w->http = metrics_http_start(w->m, ml, errstr, n)) == NULL)
        return -1;
    w->batch = batch_new();
    w->carry = batch_new();
    if (w->batch == NULL || w->carry == NULL) {
        snprintf(errstr, n, "batch: out of memory");
        return -1;
    }
    w->persist = persist_new(config_str(w->cfg, "redis"), 1000, errstr, n);
    if (w->persist == NULL)
        return -1;
    w->db = connect_mysql(config_str(w->cfg, "mysql"), errstr, n);
    if (w->db == NULL || (w->sink = sink_new(w->db, errstr, n)) == NULL ||
        (w->rsink = redemption_sink_new(w->db, 0, errstr, n)) == NULL)
        return -1;
    w->dlq = kafka_dlq_new(w->cfg, errstr, n);
    if (w->dlq == NULL)
        return -1;
    w->rk = consumer_new(w, errstr, n);
    return w->rk != NULL ? 0 : -1;
}

worker_t *worker_new(const config_t *cfg, char *errstr, size_t n)
{
    worker_t *w = calloc(1, sizeof(*w));
    const char *rt;

    if (w == NULL) {
        snprintf(errstr, n, "worker: out of memory");
        return NULL;
    }
    w->cfg = cfg;
    w->topic = w->topics[BATCH_ISSUE] = config_str(cfg, "topic");
    rt = config_str(cfg, "redemption-topic");
    if (rt != NULL && rt[0] != '\0' && strcmp(rt, "off") != 0)
        w->topics[BATCH_REDEMPTION] = rt;
    if (rt != NULL && strcmp(rt, w->topic) == 0) {
        snprintf(errstr, n, "--redemption-topic: must differ from --topic");
        free(w);
        return NULL;
    }
    w->batch_size = (size_t)config_int(cfg, "batch-size");
    w->batch_ms = config_int(cfg, "batch-ms");
    backoff_init(&w->backoff, WORKER_BACKOFF_BASE,
                 config_int(cfg, "retry-max-ms"),
                 (uint64_t)getpid() * 2654435761u + (uint64_t)now_ms());
    if (worker_open(w, errstr, n) != 0) {
        worker_destroy(w);
        return NULL;
    }
    return w;
}

void worker_destroy(worker_t *w)
{
    if (w == NULL)
        return;
    /* Messages first: they belong to the consumer, which must outlive them. */
    if (w->batch != NULL)
        batch_clear(w->batch, free_msg);
    if (w->carry != NULL)
        batch_clear(w->carry, free_msg);
    if (w->rk != NULL)
        rd_kafka_destroy(w->rk);
    kafka_dlq_destroy(w->dlq);
    sink_free(w->sink);
    redemption_sink_free(w->rsink);
    db_close(w->db);
    persist_free(w->persist);
    metrics_http_stop(w->http);
    metrics_free(w->m);
    batch_free(w->batch, NULL);
    batch_free(w->carry, NULL);
    free(w->evs);
    free(w->idx);
    free(w->out);
    free(w->revs);
    free(w->ridx);
    free(w->rout);
    free(w->bad[BATCH_ISSUE]);
    free(w->bad[BATCH_REDEMPTION]);
    free(w->keep);
    free(w->dlqm);
    free(w->ctopics);
    free(w->parts);
    free(w->offs);
    free(w);
}
