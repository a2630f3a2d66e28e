/* kafka_conf.c -- couponq config -> rd_kafka_conf_t. See kafka_conf.h. */
#include <stdio.h>

#include "kafka_conf.h"

static int conf_set(rd_kafka_conf_t *kc, const char *origin, const char *k,
                    const char *v, char *errstr, size_t n)
{
    char why[256];

    if (rd_kafka_conf_set(kc, k, v, why, sizeof(why)) != RD_KAFKA_CONF_OK) {
        snprintf(errstr, n, "%s%s=%s: %s", origin, k, v, why);
        return -1;
    }
    return 0;
}

rd_kafka_conf_t *kafka_conf_new(const config_t *cfg,
                                const char *const *defaults, char *errstr,
                                size_t n)
{
    rd_kafka_conf_t *kc = rd_kafka_conf_new();
    const char *brokers = config_str(cfg, "kafka");
    size_t i;

    if (brokers != NULL &&
        conf_set(kc, "--kafka ", "bootstrap.servers", brokers, errstr, n) != 0)
        goto err;
    for (i = 0; defaults != NULL && defaults[i] != NULL; i += 2)
        if (conf_set(kc, "", defaults[i], defaults[i + 1], errstr, n) != 0)
            goto err;
    for (i = 0; i < config_nx(cfg); i++)
        if (conf_set(kc, "-X ", config_x_key(cfg, i), config_x_value(cfg, i),
                     errstr, n) != 0)
            goto err;
    return kc;
err:
    rd_kafka_conf_destroy(kc);
    return NULL;
}

int kafka_dlq_topic(const char *topic, char *buf, size_t n)
{
    int len = snprintf(buf, n, "%s.dlq", topic);

    return (len < 0 || (size_t)len >= n) ? -1 : 0;
}
