/* kafka_dlq.c -- produce to "<topic>.dlq" and wait for the acks. See
 * kafka_dlq.h.
 *
 * Delivery reports carry the send's generation as their opaque, so a report
 * that arrives after a timed-out send (for a message of an old set) is not
 * counted against the current one. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kafka_conf.h"
#include "kafka_dlq.h"
#include "log.h"

struct kafka_dlq {
    rd_kafka_t *rk;
    uintptr_t gen; /* current kafka_dlq_send() call */
    size_t acked, failed;
    char err[512]; /* first delivery error of the current call */
};

static void dlq_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    kafka_dlq_t *d = opaque;

    (void)rk;
    if ((uintptr_t)m->_private != d->gen)
        return; /* from an earlier, abandoned send */
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        d->acked++;
        return;
    }
    if (d->failed++ == 0)
        snprintf(d->err, sizeof(d->err), "dlq %s: %s",
                 rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
}

kafka_dlq_t *kafka_dlq_new(const config_t *cfg, char *errstr, size_t n)
{
    static const char *const defaults[] = {
        "enable.idempotence",   "true", "acks", "all", "linger.ms", "5",
        "socket.nagle.disable", "true", NULL
    };
    kafka_dlq_t *d = calloc(1, sizeof(*d));
    rd_kafka_conf_t *kc = NULL;

    if (d == NULL) {
        snprintf(errstr, n, "dlq: out of memory");
        return NULL;
    }
    kc = kafka_conf_new(cfg, defaults, errstr, n);
    if (kc == NULL)
        goto err;
    rd_kafka_conf_set_dr_msg_cb(kc, dlq_dr_cb);
    rd_kafka_conf_set_opaque(kc, d);
    d->rk = rd_kafka_new(RD_KAFKA_PRODUCER, kc, errstr, n);
    if (d->rk == NULL)
        goto err;
    kc = NULL; /* owned by rk now */
    return d;
err:
    if (kc != NULL)
        rd_kafka_conf_destroy(kc);
    free(d);
    return NULL;
}

void kafka_dlq_destroy(kafka_dlq_t *d)
{
    if (d == NULL)
        return;
    if (rd_kafka_flush(d->rk, 5000) != RD_KAFKA_RESP_ERR_NO_ERROR)
        LOG(LL_WARN, "msg=\"dlq: messages still queued at shutdown\" n=%d",
            rd_kafka_outq_len(d->rk));
    rd_kafka_destroy(d->rk);
    free(d);
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static rd_kafka_resp_err_t dlq_produce(kafka_dlq_t *d, const kafka_dlq_msg_t *m,
                                       const char *topic)
{
    char part[16], off[24];
    const char *error = m->error != NULL ? m->error : "";

    snprintf(part, sizeof(part), "%" PRId32, m->source_partition);
    snprintf(off, sizeof(off), "%" PRId64, m->source_offset);
    return rd_kafka_producev(
        d->rk, RD_KAFKA_V_TOPIC(topic),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(m->key, m->key_len),
        RD_KAFKA_V_VALUE((void *)m->value, m->len),
        RD_KAFKA_V_HEADER("reason", m->reason, -1),
        RD_KAFKA_V_HEADER("error", error, -1),
        RD_KAFKA_V_HEADER("source_topic", m->source_topic, -1),
        RD_KAFKA_V_HEADER("source_partition", part, -1),
        RD_KAFKA_V_HEADER("source_offset", off, -1),
        RD_KAFKA_V_OPAQUE((void *)d->gen), RD_KAFKA_V_END);
}

int kafka_dlq_send(kafka_dlq_t *d, const kafka_dlq_msg_t *msgs, size_t n,
                   int timeout_ms, char *errstr, size_t errn)
{
    int64_t deadline = now_ms() + timeout_ms;
    rd_kafka_resp_err_t e;
    char topic[256];
    size_t i = 0;

    d->gen++;
    d->acked = d->failed = 0;
    d->err[0] = '\0';
    while (i < n) {
        if (kafka_dlq_topic(msgs[i].source_topic, topic, sizeof(topic)) != 0) {
            snprintf(errstr, errn, "dlq: topic name too long: %s",
                     msgs[i].source_topic);
            return -1;
        }
        e = dlq_produce(d, &msgs[i], topic);
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL && now_ms() < deadline) {
            rd_kafka_poll(d->rk, 10); /* serve reports to make room */
            continue;
        }
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            snprintf(errstr, errn, "dlq %s: produce: %s", topic,
                     rd_kafka_err2str(e));
            return -1;
        }
        i++;
    }
    while (d->acked + d->failed < n && now_ms() < deadline)
        rd_kafka_poll(d->rk, 20);
    if (d->failed > 0) {
        snprintf(errstr, errn, "%s (%zu of %zu failed)", d->err, d->failed, n);
        return -1;
    }
    if (d->acked < n) {
        snprintf(errstr, errn, "dlq: %zu of %zu not acknowledged in %d ms",
                 n - d->acked, n, timeout_ms);
        return -1;
    }
    return 0;
}
