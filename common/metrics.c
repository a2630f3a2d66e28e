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
    0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10,
};
const size_t metrics_latency_nbounds =
    sizeof(metrics_latency_bounds) / sizeof(metrics_latency_bounds[0]);

static const char *const type_names[] = { "counter", "gauge", "histogram" };

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

static metric_t *metrics_register(metrics_t *m, mtype_t type, const char *name,
                                  const char *help, const char *labels,
                                  const double *bounds, size_t nbounds)
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

static double metric_value_sum(const metric_t *x)
{
    return bits_to_double(
        atomic_load_explicit(&x->value, memory_order_relaxed));
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
    return metric_value_sum(x);
}

/* A growing output buffer; on out of memory it sets oom and stops. */
typedef struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
} sbuf_t;

static void sb_printf(sbuf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void sb_printf(sbuf_t *b, const char *fmt, ...)
{
    va_list ap;
    int need;

    if (b->oom)
        return;
    va_start(ap, fmt);
    need = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (need < 0) {
        b->oom = 1;
        return;
    }
    if ((size_t)need >= b->cap - b->len) {
        size_t cap = (b->cap + (size_t)need + 1) * 2;
        char *p = realloc(b->p, cap);

        if (p == NULL) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
        va_start(ap, fmt);
        vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)need;
}

/* Shortest text that reads back as the same double; Prometheus spellings
 * for the infinities and NaN. */
static void fmt_double(double v, char *out, size_t n)
{
    if (isnan(v)) {
        snprintf(out, n, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(out, n, "%s", v > 0 ? "+Inf" : "-Inf");
        return;
    }
    snprintf(out, n, "%.15g", v);
    if (strtod(out, NULL) != v)
        snprintf(out, n, "%.17g", v);
}

/* HELP text escapes backslash and newline (exposition format 0.0.4). */
static void render_header(sbuf_t *b, const metric_t *x)
{
    const char *s;

    sb_printf(b, "# HELP %s ", x->name);
    for (s = x->help; *s != '\0'; s++) {
        if (*s == '\\')
            sb_printf(b, "\\\\");
        else if (*s == '\n')
            sb_printf(b, "\\n");
        else
            sb_printf(b, "%c", *s);
    }
    sb_printf(b, "\n# TYPE %s %s\n", x->name, type_names[x->type]);
}

static void render_histogram(sbuf_t *b, const metric_t *x)
{
    const char *sep = x->labels[0] != '\0' ? "," : "";
    uint64_t cum = 0;
    char num[40];
    size_t i;

    for (i = 0; i <= x->nbounds; i++) {
        cum += atomic_load_explicit(&x->buckets[i], memory_order_relaxed);
        if (i < x->nbounds)
            fmt_double(x->bounds[i], num, sizeof(num));
        else
            snprintf(num, sizeof(num), "+Inf");
        sb_printf(b, "%s_bucket{%s%sle=\"%s\"} %llu\n", x->name, x->labels, sep,
                  num, (unsigned long long)cum);
    }
    fmt_double(metric_value_sum(x), num, sizeof(num));
    if (x->labels[0] != '\0') {
        sb_printf(b, "%s_sum{%s} %s\n", x->name, x->labels, num);
        sb_printf(b, "%s_count{%s} %llu\n", x->name, x->labels,
                  (unsigned long long)cum);
    } else {
        sb_printf(b, "%s_sum %s\n%s_count %llu\n", x->name, num, x->name,
                  (unsigned long long)cum);
    }
}

static void render_series(sbuf_t *b, const metric_t *x)
{
    char num[40];

    if (x->type == M_HISTOGRAM) {
        render_histogram(b, x);
        return;
    }
    fmt_double(metric_value(x), num, sizeof(num));
    if (x->labels[0] != '\0')
        sb_printf(b, "%s{%s} %s\n", x->name, x->labels, num);
    else
        sb_printf(b, "%s %s\n", x->name, num);
}

/* Families in order of first registration, each with all its series. */
char *metrics_render(metrics_t *m, size_t *len)
{
    sbuf_t b = { NULL, 0, 0, 0 };
    const metric_t *x, *y, *z;

    b.p = malloc(4096);
    if (b.p == NULL)
        return NULL;
    b.cap = 4096;
    b.p[0] = '\0';
    pthread_mutex_lock(&m->mu);
    for (x = m->head; x != NULL; x = x->next) {
        for (y = m->head; y != x; y = y->next)
            if (strcmp(y->name, x->name) == 0)
                break;
        if (y != x)
            continue; /* family already rendered */
        render_header(&b, x);
        for (z = x; z != NULL; z = z->next)
            if (strcmp(z->name, x->name) == 0)
                render_series(&b, z);
    }
    pthread_mutex_unlock(&m->mu);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    if (len != NULL)
        *len = b.len;
    return b.p;
}
