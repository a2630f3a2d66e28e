/* metrics.c -- Prometheus registry. See metrics.h.
 *
 * Values are doubles stored as bit patterns in 64-bit atomics, updated with
 * compare-and-swap, so hot paths never take the registry's mutex. A
 * histogram keeps one non-cumulative count per bucket; the renderer sums
 * them, so the rendered +Inf bucket always equals _count even while other
 * threads observe. */
#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

typedef enum { M_COUNTER, M_GAUGE, M_HISTOGRAM } mtype_t;

struct metric {
    mtype_t type;
    char *name, *help, *labels; /* labels "" when none */
    _Atomic uint64_t value;     /* counter/gauge; histogram: sum */
    size_t nbounds;
    double *bounds;
    _Atomic uint64_t *buckets; /* nbounds + 1, the last is +Inf */
    struct metric *next;
};

struct metrics {
    pthread_mutex_t mu;
    metric_t *head, *tail;
};

const double metrics_latency_bounds[] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,     10,
};
const size_t metrics_latency_nbounds =
    sizeof(metrics_latency_bounds) / sizeof(metrics_latency_bounds[0]);

static const char *const type_names[] = {"counter", "gauge", "histogram"};

static double bits_to_double(uint64_t b)
{
    double d;

    memcpy(&d, &b, sizeof(d));
    return d;
}

static uint64_t double_to_bits(double d)
{
    uint64_t b;

    memcpy(&b, &d, sizeof(b));
    return b;
}

static void atomic_add_double(_Atomic uint64_t *p, double v)
{
    uint64_t old = atomic_load_explicit(p, memory_order_relaxed), sum;

    do {
        sum = double_to_bits(bits_to_double(old) + v);
    } while (!atomic_compare_exchange_weak_explicit(
        p, &old, sum, memory_order_relaxed, memory_order_relaxed));
}

metrics_t *metrics_new(void)
{
    metrics_t *m = calloc(1, sizeof(*m));

    if (m == NULL)
        return NULL;
    pthread_mutex_init(&m->mu, NULL);
    return m;
}

static void metric_free(metric_t *x)
{
    free(x->name);
    free(x->help);
    free(x->labels);
    free(x->bounds);
    free((void *)x->buckets);
    free(x);
}

void metrics_free(metrics_t *m)
{
    metric_t *x, *next;

    if (m == NULL)
        return;
    for (x = m->head; x != NULL; x = next) {
        next = x->next;
        metric_free(x);
    }
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static int valid_name(const char *s)
{
    size_t i;

    if (s == NULL || s[0] == '\0' || (s[0] >= '0' && s[0] <= '9'))
        return 0;
    for (i = 0; s[i] != '\0'; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == ':'))
            return 0;
    }
    return 1;
}

static metric_t *metric_alloc(mtype_t type, const char *name, const char *help,
                              const char *labels, const double *bounds,
                              size_t nbounds)
{
    metric_t *x = calloc(1, sizeof(*x));

    if (x == NULL)
        return NULL;
    x->type = type;
    x->name = strdup(name);
    x->help = strdup(help != NULL ? help : "");
    x->labels = strdup(labels != NULL ? labels : "");
    if (x->name == NULL || x->help == NULL || x->labels == NULL)
        goto err;
    if (type == M_HISTOGRAM) {
        x->nbounds = nbounds;
        x->bounds = malloc((nbounds + 1) * sizeof(double));
        x->buckets = calloc(nbounds + 1, sizeof(*x->buckets));
        if (x->bounds == NULL || x->buckets == NULL)
            goto err;
        if (nbounds > 0)
            memcpy(x->bounds, bounds, nbounds * sizeof(double));
    }
    return x;
err:
    metric_free(x);
    return NULL;
}

static metric_t *metrics_register(metrics_t *m, mtype_t type,
                                  const char *name, const char *help,
                                  const char *labels, const double *bounds,
                                  size_t nbounds)
{
    metric_t *x;

    if (!valid_name(name))
        return NULL;
    pthread_mutex_lock(&m->mu);
    for (x = m->head; x != NULL; x = x->next) {
        if (strcmp(x->name, name) != 0)
            continue;
        /* One family has one type: mixing them is a programming error. */
        assert(x->type == type);
        if (x->type == type &&
            strcmp(x->labels, labels != NULL ? labels : "") == 0)
            goto out;
        if (x->type != type) {
            x = NULL;
            goto out;
        }
    }
    x = metric_alloc(type, name, help, labels, bounds, nbounds);
    if (x != NULL) {
        if (m->tail != NULL)
            m->tail->next = x;
        else
            m->head = x;
        m->tail = x;
    }
out:
    pthread_mutex_unlock(&m->mu);
    return x;
}

metric_t *metrics_counter(metrics_t *m, const char *name, const char *help,
                          const char *labels)
{
    return metrics_register(m, M_COUNTER, name, help, labels, NULL, 0);
}

metric_t *metrics_gauge(metrics_t *m, const char *name, const char *help,
                        const char *labels)
{
    return metrics_register(m, M_GAUGE, name, help, labels, NULL, 0);
}

metric_t *metrics_histogram(metrics_t *m, const char *name, const char *help,
                            const char *labels, const double *bounds,
                            size_t nbounds)
{
    size_t i;

    for (i = 1; i < nbounds; i++)
        if (!(bounds[i - 1] < bounds[i]))
            return NULL; /* le buckets must ascend strictly */
    return metrics_register(m, M_HISTOGRAM, name, help, labels, bounds,
                            nbounds);
}

void metric_inc(metric_t *x)
{
    metric_add(x, 1.0);
}

void metric_add(metric_t *x, double v)
{
    assert(x->type != M_HISTOGRAM);
    assert(x->type != M_COUNTER || v >= 0); /* counters only go up */
    atomic_add_double(&x->value, v);
}

void metric_set(metric_t *x, double v)
{
    assert(x->type == M_GAUGE);
    atomic_store_explicit(&x->value, double_to_bits(v), memory_order_relaxed);
}

void metric_observe(metric_t *x, double v)
{
    size_t i = 0;

    assert(x->type == M_HISTOGRAM);
    while (i < x->nbounds && !(v <= x->bounds[i]))
        i++; /* NaN falls through to +Inf */
    atomic_fetch_add_explicit(&x->buckets[i], 1, memory_order_relaxed);
    atomic_add_double(&x->value, v);
}

static uint64_t hist_count(const metric_t *x)
{
    uint64_t n = 0;
    size_t i;

    for (i = 0; i <= x->nbounds; i++)
        n += atomic_load_explicit(&x->buckets[i], memory_order_relaxed);
    return n;
}

double metric_value(const metric_t *x)
{
    if (x->type == M_HISTOGRAM)
        return (double)hist_count(x);
    return bits_to_double(
        atomic_load_explicit(&x->value, memory_order_relaxed));
}
