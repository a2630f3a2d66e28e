/* kafka_producer.c -- librdkafka producer on the libuv loop. See
 * kafka_producer.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "kafka_conf.h"
#include "kafka_producer.h"
#include "log.h"
#include "sticky.h"

#define HEALTH_EVERY_MS 2000
#define POLL_EVERY_MS   100 /* backstop in case an io event was missed */
#define PART_KEY        0   /* librdkafka's partitioner on the key */
#define PART_STICKY     1   /* kafka_producer_sticky */
#define PART_GROUP      2   /* kafka_producer_grouped */

struct kafka_producer {
    uv_loop_t *loop;
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    /* The partition choice (loop thread), and what the health check's
     * metadata said (written by the worker thread, read in health_done):
     * partitions (-1: no answer) and which have no leader. */
    int part_mode; /* PART_KEY, PART_STICKY, PART_GROUP */
    sticky_t sticky;
    int32_t md_cnt;
    unsigned char md_down[STICKY_MAX_PARTITIONS];
    kafka_producer_dr_fn fn;
    void *ud;
    int pipe[2];
    uv_poll_t poll;
    uv_timer_t timer;  /* poll backstop */
    uv_timer_t health; /* starts a metadata check */
    uv_check_t check;  /* the end of each loop iteration: sticky_next */
    uv_work_t work;
    int work_busy;
    int work_ok; /* result written by the worker thread */
    atomic_int healthy;
    atomic_int fatal;
    kafka_producer_fatal_fn fatal_fn; /* told once, from serve() */
    void *fatal_ud;
    int fatal_told;
    int message_timeout_ms;
    char linger[24];           /* linger.ms as librdkafka holds it */
    uint64_t test_fatal_at_ms; /* 0 = no simulated fatal error */
    int open_handles;
    int freeing;
};

const char *kafka_outcome_name(kafka_outcome_t o)
{
    switch (o) {
    case KAFKA_DELIVERED:
        return "delivered";
    case KAFKA_NOT_PERSISTED:
        return "not_persisted";
    case KAFKA_UNKNOWN:
        return "unknown";
    }
    return "unknown";
}

/* Only a failure librdkafka knows was never written is NOT_PERSISTED: a
 * message that timed out in flight (a stalled broker) may still be appended
 * when the broker resumes, and after_append means it was. A PERSISTED
 * status with an error is not expected; it counts as unknown too. */
static kafka_outcome_t outcome_of(const rd_kafka_message_t *m)
{
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR)
        return KAFKA_DELIVERED;
    if (m->err == RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND)
        return KAFKA_UNKNOWN;
    if (rd_kafka_message_status(m) == RD_KAFKA_MSG_STATUS_NOT_PERSISTED)
        return KAFKA_NOT_PERSISTED;
    return KAFKA_UNKNOWN;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m,
                        void *opaque)
{
    kafka_producer_t *kp = opaque;
    uint64_t token = (uint64_t)(uintptr_t)m->_private;
    kafka_outcome_t o = outcome_of(m);

    (void)rk;
    kp->fn(kp->ud, token, o,
           o == KAFKA_DELIVERED ? NULL : rd_kafka_err2str(m->err));
}

/* Runs on librdkafka's threads: only logs and sets an atomic flag. */
static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    kafka_producer_t *kp = opaque;
    char why[256];

    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        rd_kafka_fatal_error(rk, why, sizeof(why));
        atomic_store(&kp->fatal, 1);
        LOG(LL_ERROR, "msg=\"kafka fatal error: producing stops\" err=\"%s\"",
            why);
        return;
    }
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
        atomic_store(&kp->healthy, 0);
    LOG(LL_WARN, "msg=\"kafka error\" err=\"%s\" reason=\"%s\"",
        rd_kafka_err2name(err), reason);
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac,
                   const char *buf)
{
    (void)rk;
    LOG(level <= 3   ? LL_ERROR
        : level <= 4 ? LL_WARN
                     : LL_DEBUG,
        "msg=\"rdkafka\" fac=%s text=\"%s\"", fac, buf);
}

/* on_error sets the flag, on whichever thread librdkafka runs it; serve()
 * tells the owner on the loop thread after each poll: at once when the
 * poll itself ran on_error, else within the POLL_EVERY_MS backstop. */
static void tell_fatal(kafka_producer_t *kp)
{
    char why[256];

    if (kp->fatal_told || kp->fatal_fn == NULL || !atomic_load(&kp->fatal))
        return;
    kp->fatal_told = 1;
    kafka_producer_fatal(kp, why, sizeof(why));
    kp->fatal_fn(kp->fatal_ud, why);
}

static void serve(kafka_producer_t *kp)
{
    char buf[64];

    while (read(kp->pipe[0], buf, sizeof(buf)) > 0)
        ;
    rd_kafka_poll(kp->rk, 0);
    tell_fatal(kp);
}

static void on_pipe(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    serve(h->data);
}

static void on_timer(uv_timer_t *t)
{
    serve(t->data);
}

/* ---- health (thread pool) ---- */

/* 1 when the broker knows the topic and it has partitions; then also its
 * partition count and which partitions have no leader into md_cnt and
 * md_down (md_cnt -1 otherwise). Worker thread. */
static int topic_ok(kafka_producer_t *kp)
{
    const struct rd_kafka_metadata *md = NULL;
    const rd_kafka_metadata_topic_t *t;
    rd_kafka_resp_err_t err;
    unsigned char *down = kp->md_down;
    int ok, i;

    kp->md_cnt = -1;
    err = rd_kafka_metadata(kp->rk, 0, kp->rkt, &md, 1500);
    ok = err == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 &&
         md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR &&
         md->topics[0].partition_cnt > 0;
    if (ok) {
        t = &md->topics[0];
        kp->md_cnt = t->partition_cnt;
        memset(down, 0, STICKY_MAX_PARTITIONS);
        for (i = 0; i < t->partition_cnt; i++)
            if (t->partitions[i].id >= 0 &&
                t->partitions[i].id < STICKY_MAX_PARTITIONS)
                down[t->partitions[i].id] = t->partitions[i].leader < 0;
    }
    if (md != NULL)
        rd_kafka_metadata_destroy(md);
    return ok;
}

static void health_work(uv_work_t *w)
{
    kafka_producer_t *kp = w->data;

    kp->work_ok = topic_ok(kp);
}

/* A metadata answer moves a sticky topic onto what it said (a failed
 * check keeps the last known partitions); a change is logged. */
static void sticky_update(kafka_producer_t *kp)
{
    sticky_t *st = &kp->sticky;
    int32_t cnt = st->cnt, ndown = st->ndown;

    if (kp->part_mode == PART_KEY || kp->md_cnt < 0)
        return;
    sticky_set(st, kp->md_cnt, kp->md_down);
    if (st->cnt != cnt || st->ndown != ndown)
        LOG(st->ndown > ndown ? LL_WARN : LL_INFO,
            "msg=\"kafka partitions\" topic=%s partitions=%d "
            "without_leader=%d partitioning=%s",
            rd_kafka_topic_name(kp->rkt), (int)kp->md_cnt, (int)st->ndown,
            st->cnt == 0                   ? "key"
            : kp->part_mode == PART_STICKY ? "sticky"
                                           : "group");
}

static void destroy_if_done(kafka_producer_t *kp);

static void health_done(uv_work_t *w, int status)
{
    kafka_producer_t *kp = w->data;

    kp->work_busy = 0;
    if (kp->freeing) {
        destroy_if_done(kp);
        return;
    }
    if (status != 0)
        return;
    atomic_store(&kp->healthy, kp->work_ok && !atomic_load(&kp->fatal));
    sticky_update(kp);
}

/* The end of a loop iteration (uv_check runs after the I/O callbacks,
 * where the admissions' answers produce): the next one's events go to
 * the next partition, if this one's produced any. */
static void on_check(uv_check_t *h)
{
    kafka_producer_t *kp = h->data;

    if (kp->part_mode == PART_STICKY)
        sticky_next(&kp->sticky);
}

static void on_health(uv_timer_t *t)
{
    kafka_producer_t *kp = t->data;

    if (kp->test_fatal_at_ms != 0 && uv_now(kp->loop) >= kp->test_fatal_at_ms) {
        kp->test_fatal_at_ms = 0;
        LOG(LL_WARN, "msg=\"simulating a fatal kafka error (test hook)\"");
        rd_kafka_test_fatal_error(
            kp->rk, RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
            "simulated by COUPONQ_API_TEST_KAFKA_FATAL_MS");
    }
    if (kp->work_busy || kp->freeing)
        return;
    kp->work.data = kp;
    if (uv_queue_work(kp->loop, &kp->work, health_work, health_done) == 0)
        kp->work_busy = 1;
}

/* ---- life ---- */

/* linger.ms=0: no timer between admission and the broker. Batches still
 * follow the load, without waiting: admission answers a loop iteration's
 * requests together, so events reach librdkafka in bursts and its broker
 * thread puts each partition's burst in one ProduceRequest; while requests
 * are in flight (at most 5 with idempotence, and none built while one is
 * still unsent: queue.buffering.backpressure.threshold=1), new events
 * accumulate in the partition queues and leave together. So an idle api
 * sends each event at once, and a busy one sends larger requests.
 *
 * librdkafka 2.0.2 builds one request per partition, and the broker's cost
 * is per request: keyed by user id, a burst went to all 6 partitions as 6
 * small requests. So the issuance topic is sticky (sticky.h,
 * --kafka-partitioning): every event of one loop iteration goes to one
 * partition, the next iteration's to the next. Measured before -> after
 * (Release, 6 partitions, 8 s runs, 2 rounds, load 0.9-2.8; the first
 * "before" run at 64 is an outlier), events per produce request as
 * bench/latency.bash counts them:
 *   64 connections: 16.2k, 27.6k -> 29.7k, 31.0k accepted/s, p50 3.42,
 *     2.02 -> 1.88, 1.75 ms, broker 58.9, 21.1 -> 14.5, 11.5 us of CPU
 *     per event (one partition: 8.4-9.3), 4.9, 3.9 -> 9.4, 9.9 per request;
 *   256 connections: 38.8k, 39.5k -> 45.6k, 45.2k/s, broker 11.4, 9.9 ->
 *     6.7, 6.8 us, 10.6, 9.8 -> 18.9, 18.4 per request;
 *   10,000/s: broker 56.6, 56.8 -> 47.0, 46.5 us, 1.6 -> 2.5, 2.2.
 * linger.ms=2 made 5 per request at 10,000/s and 31-38 at 256 (keyed),
 * so -X linger.ms=2 still trades 2 ms for broker CPU where that matters more.
 * Holding events in the api while a batch is in flight was tried and made
 * no larger requests: librdkafka already sends each partition's burst at
 * once. The sub-ms values do not help: librdkafka's broker thread waits in
 * poll() with a millisecond timeout, so linger.ms=0.5 waits about 1 ms.
 *
 * The redemption events go through a second producer (api/main.c) whose
 * linger_ms is --redemption-linger-ms (2): a hot coupon's checkouts are
 * bound by CPU, not by a floor of 2 ms, and at 512 connections linger.ms=2
 * gave 14-37% more checkouts with about half the broker's CPU per pair
 * (README, "Kafka batching").
 *
 * Tried and not kept (session 8): holding a sticky partition until a
 * delivery report of it came back, so that what accumulates behind a
 * request in flight leaves as one request, with and without
 * max.in.flight.requests.per.connection=1. Two latency-floor rounds showed
 * no gain above the noise, and in-flight 1 was worse at 16 connections
 * (8.9k and 10.6k against 14.2k and 13.0k accepted/s, p50 1.06-1.26 against
 * 0.88-0.89 ms). */

static rd_kafka_conf_t *make_conf(kafka_producer_t *kp, const config_t *cfg,
                                  int message_timeout_ms, int linger_ms,
                                  char *errstr, size_t n)
{
    char mt[32], got[32], lg[32];
    size_t gl = sizeof(got);
    const char *defaults[] = {
        "enable.idempotence",
        "true",
        "acks",
        "all",
        "linger.ms",
        "0",
        "socket.nagle.disable",
        "true",
        "message.timeout.ms",
        mt,
        "queue.buffering.max.messages",
        "500000",
        "client.id",
        "couponq-api",
        NULL,
    };
    rd_kafka_conf_t *conf;

    snprintf(mt, sizeof(mt), "%d", message_timeout_ms);
    if ((conf = kafka_conf_new(cfg, defaults, errstr, n)) == NULL)
        return NULL;
    snprintf(lg, sizeof(lg), "%d", linger_ms);
    if (linger_ms >= 0 && rd_kafka_conf_set(conf, "linger.ms", lg, errstr, n) !=
                              RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_log_cb(conf, on_log);
    rd_kafka_conf_set_opaque(conf, kp);
    kp->message_timeout_ms = message_timeout_ms;
    gl = sizeof(kp->linger);
    if (rd_kafka_conf_get(conf, "linger.ms", kp->linger, &gl) !=
        RD_KAFKA_CONF_OK)
        snprintf(kp->linger, sizeof(kp->linger), "?");
    gl = sizeof(got);
    if (rd_kafka_conf_get(conf, "message.timeout.ms", got, &gl) ==
        RD_KAFKA_CONF_OK)
        kp->message_timeout_ms = atoi(got);
    return conf;
}

static int start_loop_side(kafka_producer_t *kp, char *errstr, size_t n)
{
    const char *test_fatal = getenv("COUPONQ_API_TEST_KAFKA_FATAL_MS");
    rd_kafka_queue_t *q;

    if (pipe2(kp->pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
        snprintf(errstr, n, "pipe: %s", strerror(errno));
        return -1;
    }
    q = rd_kafka_queue_get_main(kp->rk);
    rd_kafka_queue_io_event_enable(q, kp->pipe[1], "1", 1);
    rd_kafka_queue_destroy(q);
    uv_poll_init(kp->loop, &kp->poll, kp->pipe[0]);
    uv_timer_init(kp->loop, &kp->timer);
    uv_timer_init(kp->loop, &kp->health);
    uv_check_init(kp->loop, &kp->check);
    kp->poll.data = kp->timer.data = kp->health.data = kp->check.data = kp;
    kp->open_handles = 4;
    uv_poll_start(&kp->poll, UV_READABLE, on_pipe);
    uv_check_start(&kp->check, on_check);
    uv_timer_start(&kp->timer, on_timer, POLL_EVERY_MS, POLL_EVERY_MS);
    if (test_fatal != NULL && atoi(test_fatal) > 0) /* checked by on_health */
        kp->test_fatal_at_ms = uv_now(kp->loop) + (uint64_t)atoi(test_fatal);
    uv_timer_start(&kp->health, on_health, 0, HEALTH_EVERY_MS);
    return 0;
}

kafka_producer_t *kafka_producer_new(uv_loop_t *loop, const config_t *cfg,
                                     const char *topic, int message_timeout_ms,
                                     int linger_ms, kafka_producer_dr_fn fn,
                                     void *ud, char *errstr, size_t n)
{
    kafka_producer_t *kp = calloc(1, sizeof(*kp));
    rd_kafka_conf_t *conf = NULL;

    if (kp == NULL) {
        snprintf(errstr, n, "out of memory");
        return NULL;
    }
    kp->loop = loop;
    kp->fn = fn;
    kp->ud = ud;
    kp->pipe[0] = kp->pipe[1] = -1;
    if ((conf = make_conf(kp, cfg, message_timeout_ms, linger_ms, errstr, n)) ==
        NULL)
        goto err;
    kp->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, n);
    if (kp->rk == NULL)
        goto err;
    conf = NULL; /* owned by rk now */
    if ((kp->rkt = rd_kafka_topic_new(kp->rk, topic, NULL)) == NULL) {
        snprintf(errstr, n, "--topic %s: %s", topic,
                 rd_kafka_err2str(rd_kafka_last_error()));
        goto err;
    }
    if (start_loop_side(kp, errstr, n) != 0)
        goto err;
    return kp;
err:
    if (conf != NULL)
        rd_kafka_conf_destroy(conf);
    if (kp->rkt != NULL)
        rd_kafka_topic_destroy(kp->rkt);
    if (kp->rk != NULL)
        rd_kafka_destroy(kp->rk);
    free(kp);
    return NULL;
}

int kafka_producer_send(kafka_producer_t *kp, const char *key, size_t klen,
                        const char *value, size_t vlen, uint64_t token,
                        char *errstr, size_t n)
{
    return kafka_producer_send_group(kp, 0, key, klen, value, vlen, token,
                                     errstr, n);
}

void kafka_producer_sticky(kafka_producer_t *kp)
{
    kp->part_mode = PART_STICKY;
}

void kafka_producer_grouped(kafka_producer_t *kp)
{
    kp->part_mode = PART_GROUP;
}

static rd_kafka_resp_err_t produce(kafka_producer_t *kp, int32_t part,
                                   const char *key, size_t klen,
                                   const char *value, size_t vlen,
                                   uint64_t token)
{
    return rd_kafka_producev(
        kp->rk, RD_KAFKA_V_RKT(kp->rkt), RD_KAFKA_V_PARTITION(part),
        RD_KAFKA_V_KEY(key, klen), RD_KAFKA_V_VALUE((void *)value, vlen),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_OPAQUE((void *)(uintptr_t)token), RD_KAFKA_V_END);
}

int kafka_producer_send_group(kafka_producer_t *kp, uint64_t g, const char *key,
                              size_t klen, const char *value, size_t vlen,
                              uint64_t token, char *errstr, size_t n)
{
    int32_t part = STICKY_ANY;
    rd_kafka_resp_err_t err;

    if (atomic_load(&kp->fatal)) {
        snprintf(errstr, n, "kafka producer failed fatally");
        return -1;
    }
    if (kp->part_mode == PART_STICKY)
        part = sticky_pick(&kp->sticky);
    else if (kp->part_mode == PART_GROUP)
        part = sticky_group(&kp->sticky, g);
    if (part == STICKY_ANY)
        part = RD_KAFKA_PARTITION_UA;
    err = produce(kp, part, key, klen, value, vlen, token);
    /* Our metadata saw partitions that librdkafka's own has not yet (a
     * topic that just grew): its partitioner, this once. */
    if (err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION &&
        part != RD_KAFKA_PARTITION_UA)
        err = produce(kp, RD_KAFKA_PARTITION_UA, key, klen, value, vlen, token);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(errstr, n, "kafka: %s", rd_kafka_err2str(err));
        return -1;
    }
    return 0;
}

int kafka_producer_healthy(const kafka_producer_t *kp)
{
    return atomic_load(&kp->healthy) && !atomic_load(&kp->fatal);
}

int kafka_producer_fatal(kafka_producer_t *kp, char *why, size_t n)
{
    if (!atomic_load(&kp->fatal))
        return 0;
    if (rd_kafka_fatal_error(kp->rk, why, n) == RD_KAFKA_RESP_ERR_NO_ERROR)
        snprintf(why, n, "fatal error");
    return 1;
}

void kafka_producer_on_fatal(kafka_producer_t *kp, kafka_producer_fatal_fn fn,
                             void *ud)
{
    kp->fatal_fn = fn;
    kp->fatal_ud = ud;
}

int kafka_producer_queue_len(const kafka_producer_t *kp)
{
    return rd_kafka_outq_len(kp->rk);
}

int kafka_producer_message_timeout(const kafka_producer_t *kp)
{
    return kp->message_timeout_ms;
}

const char *kafka_producer_linger(const kafka_producer_t *kp)
{
    return kp->linger;
}

int kafka_producer_flush(kafka_producer_t *kp, int timeout_ms)
{
    rd_kafka_flush(kp->rk, timeout_ms);
    return rd_kafka_outq_len(kp->rk);
}

/* The health check may still be running on the thread pool with rk. */
static void destroy_if_done(kafka_producer_t *kp)
{
    if (kp->open_handles > 0 || kp->work_busy)
        return;
    rd_kafka_topic_destroy(kp->rkt);
    rd_kafka_destroy(kp->rk);
    close(kp->pipe[0]);
    close(kp->pipe[1]);
    free(kp);
}

static void on_closed(uv_handle_t *h)
{
    kafka_producer_t *kp = h->data;

    kp->open_handles--;
    destroy_if_done(kp);
}

void kafka_producer_free(kafka_producer_t *kp)
{
    if (kp == NULL)
        return;
    kp->freeing = 1;
    uv_close((uv_handle_t *)&kp->poll, on_closed);
    uv_close((uv_handle_t *)&kp->timer, on_closed);
    uv_close((uv_handle_t *)&kp->health, on_closed);
    uv_close((uv_handle_t *)&kp->check, on_closed);
}
