/* topic.c -- Kafka reads and writes of the operator tools. See topic.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "kafka_conf.h"
#include "log.h"
#include "topic.h"

#define TOPIC_TIMEOUT_MS 10000
#define TOPIC_IDLE_MS    30000 /* a scan gives up after this long without data */

struct topic {
    const config_t *cfg;
    rd_kafka_t *consumer;
    rd_kafka_t *producer; /* made by the first topic_produce */
    int64_t failed;       /* deliveries that failed (dr callback) */
    char err[512];
};

static int topic_fail(topic_t *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int topic_fail(topic_t *t, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(t->err, sizeof(t->err), fmt, ap);
    va_end(ap);
    return -1;
}

const char *topic_error(const topic_t *t)
{
    return t->err;
}

topic_t *topic_open(const config_t *cfg, const char *group, char *errstr,
                    size_t n)
{
    const char *defaults[] = { "group.id",
                               group,
                               "enable.auto.commit",
                               "false",
                               "enable.auto.offset.store",
                               "false",
                               "enable.partition.eof",
                               "true",
                               "auto.offset.reset",
                               "earliest",
                               NULL };
    topic_t *t = calloc(1, sizeof(*t));
    rd_kafka_conf_t *kc;

    if (t == NULL) {
        snprintf(errstr, n, "kafka: out of memory");
        return NULL;
    }
    t->cfg = cfg;
    kc = kafka_conf_new(cfg, defaults, errstr, n);
    if (kc == NULL)
        goto err;
    t->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, kc, errstr, n);
    if (t->consumer == NULL) {
        rd_kafka_conf_destroy(kc);
        goto err;
    }
    kc = NULL; /* owned by the consumer now */
    rd_kafka_poll_set_consumer(t->consumer);
    return t;
err:
    free(t);
    return NULL;
}

void topic_close(topic_t *t)
{
    if (t == NULL)
        return;
    if (t->producer != NULL) {
        rd_kafka_flush(t->producer, TOPIC_TIMEOUT_MS);
        rd_kafka_destroy(t->producer);
    }
    if (t->consumer != NULL) {
        rd_kafka_consumer_close(t->consumer);
        rd_kafka_destroy(t->consumer);
    }
    free(t);
}

/* missing_ok: a topic the broker does not know is *nparts = 0, no error. */
static int partitions(topic_t *t, const char *topic, int missing_ok,
                      int32_t *nparts)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(t->consumer, topic, NULL);
    rd_kafka_resp_err_t e;
    int rc = -1;

    if (rkt == NULL)
        return topic_fail(t, "kafka %s: %s", topic,
                          rd_kafka_err2str(rd_kafka_last_error()));
    e = rd_kafka_metadata(t->consumer, 0, rkt, &md, TOPIC_TIMEOUT_MS);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        topic_fail(t, "kafka %s: metadata: %s", topic, rd_kafka_err2str(e));
        goto out;
    }
    if (missing_ok && md->topic_cnt == 1 &&
        md->topics[0].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
        *nparts = 0;
        rc = 0;
        goto out;
    }
    if (md->topic_cnt != 1 || md->topics[0].err != 0 ||
        md->topics[0].partition_cnt <= 0) {
        topic_fail(t, "kafka %s: %s", topic,
                   md->topic_cnt == 1 && md->topics[0].err != 0
                       ? rd_kafka_err2str(md->topics[0].err)
                       : "no partitions");
        goto out;
    }
    if (md->topics[0].partition_cnt > TOPIC_MAX_PARTITIONS) {
        topic_fail(t, "kafka %s: more than %d partitions", topic,
                   TOPIC_MAX_PARTITIONS);
        goto out;
    }
    *nparts = md->topics[0].partition_cnt;
    rc = 0;
out:
    if (md != NULL)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return rc;
}

int topic_partitions(topic_t *t, const char *topic, int32_t *nparts)
{
    return partitions(t, topic, 0, nparts);
}

int topic_partitions_any(topic_t *t, const char *topic, int32_t *nparts)
{
    return partitions(t, topic, 1, nparts);
}

int topic_watermarks(topic_t *t, const char *topic, int32_t part, int64_t *lo,
                     int64_t *hi)
{
    rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(
        t->consumer, topic, part, lo, hi, TOPIC_TIMEOUT_MS);

    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
        return topic_fail(t, "kafka %s [%d]: watermarks: %s", topic, (int)part,
                          rd_kafka_err2str(e));
    return 0;
}

int topic_all_watermarks(topic_t *t, const char *topic, int32_t nparts,
                         int64_t *lo, int64_t *hi)
{
    int32_t p;

    for (p = 0; p < nparts; p++)
        if (topic_watermarks(t, topic, p, &lo[p], &hi[p]) != 0)
            return -1;
    return 0;
}

static rd_kafka_topic_partition_list_t *parts_new(const char *topic,
                                                  int32_t nparts)
{
    rd_kafka_topic_partition_list_t *l =
        rd_kafka_topic_partition_list_new(nparts);
    int32_t p;

    for (p = 0; p < nparts; p++)
        rd_kafka_topic_partition_list_add(l, topic, p);
    return l;
}

/* Copies per-partition offsets out of a list (whose order librdkafka may
 * keep or not: index by the partition number). Negative = -1. */
static int parts_offsets(topic_t *t, const rd_kafka_topic_partition_list_t *l,
                         int32_t nparts, int64_t *offs)
{
    int i;

    for (i = 0; i < l->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &l->elems[i];

        if (tp->err != RD_KAFKA_RESP_ERR_NO_ERROR)
            return topic_fail(t, "kafka %s [%d]: %s", tp->topic,
                              (int)tp->partition, rd_kafka_err2str(tp->err));
        if (tp->partition >= 0 && tp->partition < nparts)
            offs[tp->partition] = tp->offset >= 0 ? tp->offset : -1;
    }
    return 0;
}

int topic_committed(topic_t *t, const char *topic, int32_t nparts,
                    int64_t *offs)
{
    rd_kafka_topic_partition_list_t *l = parts_new(topic, nparts);
    rd_kafka_resp_err_t e;
    int32_t p;
    int rc;

    for (p = 0; p < nparts; p++)
        offs[p] = -1;
    e = rd_kafka_committed(t->consumer, l, TOPIC_TIMEOUT_MS);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
        rc = topic_fail(t, "kafka %s: committed offsets: %s", topic,
                        rd_kafka_err2str(e));
    else
        rc = parts_offsets(t, l, nparts, offs);
    rd_kafka_topic_partition_list_destroy(l);
    return rc;
}

int topic_offsets_for_times(topic_t *t, const char *topic, int32_t nparts,
                            int64_t ts_ms, int64_t *offs)
{
    rd_kafka_topic_partition_list_t *l = parts_new(topic, nparts);
    int64_t lo, hi;
    rd_kafka_resp_err_t e;
    int i, rc;

    for (i = 0; i < l->cnt; i++)
        l->elems[i].offset = ts_ms; /* the query: a timestamp per partition */
    e = rd_kafka_offsets_for_times(t->consumer, l, TOPIC_TIMEOUT_MS);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
        rc = topic_fail(t, "kafka %s: offsets for times: %s", topic,
                        rd_kafka_err2str(e));
    else
        rc = parts_offsets(t, l, nparts, offs);
    rd_kafka_topic_partition_list_destroy(l);
    /* No message at or after ts_ms: the answer is -1 (end); use the high
     * watermark so the caller's range is simply empty. */
    for (i = 0; rc == 0 && i < nparts; i++)
        if (offs[i] < 0) {
            rc = topic_watermarks(t, topic, i, &lo, &hi);
            offs[i] = hi;
        }
    return rc;
}

/* Scan state: which partitions still have messages to read. */
typedef struct scan {
    const int64_t *end;
    char *done; /* per partition */
    int32_t left;
} scan_t;

static void scan_mark_done(scan_t *s, int32_t p)
{
    if (!s->done[p]) {
        s->done[p] = 1;
        s->left--;
    }
}

/* A decimal header value, -1 when absent or not a number. */
static int64_t header_int(rd_kafka_headers_t *hdrs, const char *name)
{
    const void *v;
    char buf[24];
    size_t len;
    int64_t x = 0;
    size_t i;

    if (rd_kafka_header_get_last(hdrs, name, &v, &len) !=
            RD_KAFKA_RESP_ERR_NO_ERROR ||
        v == NULL || len == 0 || len > 18) /* 18 digits fit int64 */
        return -1;
    memcpy(buf, v, len);
    for (i = 0; i < len; i++) {
        if (buf[i] < '0' || buf[i] > '9')
            return -1;
        x = x * 10 + (buf[i] - '0');
    }
    return x;
}

/* The DLQ headers of kafka_dlq.h, when present. */
static void msg_headers(const rd_kafka_message_t *m, topic_msg_t *tm)
{
    rd_kafka_headers_t *hdrs = NULL;
    const void *v;
    size_t len;

    tm->source_partition = -1;
    tm->source_offset = -1;
    if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return;
    if (rd_kafka_header_get_last(hdrs, "reason", &v, &len) ==
            RD_KAFKA_RESP_ERR_NO_ERROR &&
        v != NULL) {
        tm->reason = v;
        tm->reason_len = len;
    }
    tm->source_partition = (int32_t)header_int(hdrs, "source_partition");
    tm->source_offset = header_int(hdrs, "source_offset");
}

/* One consumed message or event; 1 = keep going, 0 = all done, -1 = error. */
static int scan_one(topic_t *t, scan_t *s, const rd_kafka_message_t *m,
                    int32_t nparts, topic_msg_fn fn, void *arg)
{
    topic_msg_t tm;
    int32_t p = m->partition;

    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        if (p >= 0 && p < nparts)
            scan_mark_done(s, p);
        return s->left > 0;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR)
        return topic_fail(t, "kafka: consume: %s", rd_kafka_message_errstr(m));
    if (p < 0 || p >= nparts || s->done[p] || m->offset >= s->end[p])
        return s->left > 0;
    memset(&tm, 0, sizeof(tm));
    tm.partition = p;
    tm.offset = m->offset;
    tm.timestamp_ms = rd_kafka_message_timestamp(m, NULL);
    tm.key = m->key;
    tm.key_len = m->key_len;
    tm.value = m->payload;
    tm.len = m->len;
    msg_headers(m, &tm);
    if (fn(arg, &tm) != 0) {
        if (t->err[0] == '\0')
            topic_fail(t, "scan stopped at %d:%lld", (int)p,
                       (long long)m->offset);
        return -1;
    }
    if (m->offset + 1 >= s->end[p])
        scan_mark_done(s, p);
    return s->left > 0;
}

static int scan_loop(topic_t *t, scan_t *s, int32_t nparts, topic_msg_fn fn,
                     void *arg)
{
    int idle_ms = 0, rc = 1;

    while (rc > 0 && s->left > 0) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(t->consumer, 200);

        if (m == NULL) {
            idle_ms += 200;
            if (idle_ms >= TOPIC_IDLE_MS)
                return topic_fail(t,
                                  "kafka: no data for %d s while %d "
                                  "partition(s) still had messages",
                                  TOPIC_IDLE_MS / 1000, (int)s->left);
            continue;
        }
        idle_ms = 0;
        rc = scan_one(t, s, m, nparts, fn, arg);
        rd_kafka_message_destroy(m);
    }
    return rc < 0 ? -1 : 0;
}

int topic_scan(topic_t *t, const char *topic, int32_t nparts,
               const int64_t *start, const int64_t *end, topic_msg_fn fn,
               void *arg)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    scan_t s = { end, calloc((size_t)nparts, 1), 0 };
    rd_kafka_resp_err_t e;
    int32_t p;
    int rc = -1;

    t->err[0] = '\0';
    if (s.done == NULL) {
        topic_fail(t, "out of memory");
        goto out;
    }
    for (p = 0; p < nparts; p++) {
        if (start[p] >= end[p]) {
            s.done[p] = 1;
            continue;
        }
        rd_kafka_topic_partition_list_add(l, topic, p)->offset = start[p];
        s.left++;
    }
    if (s.left == 0) {
        rc = 0;
        goto out;
    }
    e = rd_kafka_assign(t->consumer, l);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        topic_fail(t, "kafka %s: assign: %s", topic, rd_kafka_err2str(e));
        goto out;
    }
    rc = scan_loop(t, &s, nparts, fn, arg);
    rd_kafka_assign(t->consumer, NULL);
out:
    free(s.done);
    rd_kafka_topic_partition_list_destroy(l);
    return rc;
}

static void topic_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    topic_t *t = opaque;

    (void)rk;
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        t->failed++;
        LOG(LL_ERROR, "msg=\"delivery failed\" topic=%s err=\"%s\"",
            rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
    }
}

static int topic_producer(topic_t *t)
{
    static const char *const defaults[] = {
        "enable.idempotence", "true", "acks", "all", "linger.ms", "5", NULL
    };
    char errstr[512];
    rd_kafka_conf_t *kc =
        kafka_conf_new(t->cfg, defaults, errstr, sizeof(errstr));

    if (kc == NULL)
        return topic_fail(t, "%s", errstr);
    rd_kafka_conf_set_dr_msg_cb(kc, topic_dr);
    rd_kafka_conf_set_opaque(kc, t);
    t->producer = rd_kafka_new(RD_KAFKA_PRODUCER, kc, errstr, sizeof(errstr));
    if (t->producer == NULL) {
        rd_kafka_conf_destroy(kc);
        return topic_fail(t, "kafka: %s", errstr);
    }
    return 0; /* kc is owned by the producer now */
}

int topic_produce(topic_t *t, const char *topic, const void *key,
                  size_t key_len, const void *value, size_t len)
{
    rd_kafka_resp_err_t e;

    if (t->producer == NULL && topic_producer(t) != 0)
        return -1;
    for (;;) {
        e = rd_kafka_producev(t->producer, RD_KAFKA_V_TOPIC(topic),
                              RD_KAFKA_V_KEY((void *)key, key_len),
                              RD_KAFKA_V_VALUE((void *)value, len),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_END);
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            break;
        rd_kafka_poll(t->producer, 100); /* wait for room */
    }
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
        return topic_fail(t, "kafka %s: produce: %s", topic,
                          rd_kafka_err2str(e));
    rd_kafka_poll(t->producer, 0);
    return 0;
}

int topic_flush(topic_t *t, int timeout_ms, int64_t *failed)
{
    rd_kafka_resp_err_t e;

    *failed = 0;
    if (t->producer == NULL)
        return 0;
    e = rd_kafka_flush(t->producer, timeout_ms);
    *failed = t->failed;
    t->failed = 0;
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
        return topic_fail(t, "kafka: flush: %s (%d message(s) still queued)",
                          rd_kafka_err2str(e), rd_kafka_outq_len(t->producer));
    return 0;
}
