/* metrics.h -- a registry of counters, gauges and histograms rendered as
 * Prometheus text (exposition format 0.0.4).
 *
 * Metrics are registered at start-up and updated on hot paths: updates are
 * lock-free C11 atomics, so a worker thread may update while the loop thread
 * renders. Registration and rendering take a mutex. Several series of one
 * family share name/help/type and differ by their label text. */
#ifndef COUPONQ_METRICS_H
#define COUPONQ_METRICS_H

#include <stddef.h>

typedef struct metrics metrics_t;
typedef struct metric metric_t;

metrics_t *metrics_new(void);
void metrics_free(metrics_t *m); /* NULL is a no-op; frees its metrics */

/* labels is the text between braces, e.g. `route="issue",result="accepted"`,
 * or NULL. Registering the same name+labels twice returns the same metric.
 * Returns NULL only when out of memory or when name is not a valid metric
 * name ([a-zA-Z_:][a-zA-Z0-9_:]*). */
metric_t *metrics_counter(metrics_t *m, const char *name, const char *help,
                          const char *labels);
metric_t *metrics_gauge(metrics_t *m, const char *name, const char *help,
                        const char *labels);
/* bounds: ascending upper bounds (le), +Inf is implicit. */
metric_t *metrics_histogram(metrics_t *m, const char *name, const char *help,
                            const char *labels, const double *bounds,
                            size_t nbounds);

void metric_inc(metric_t *x);               /* counter += 1 */
void metric_add(metric_t *x, double v);     /* counter/gauge += v */
void metric_set(metric_t *x, double v);     /* gauge = v */
void metric_observe(metric_t *x, double v); /* histogram */
double metric_value(const metric_t *x);     /* counter/gauge; hist: count */

/* Prometheus text; malloc'd, caller frees. *len gets its length. NULL on
 * out of memory. */
char *metrics_render(metrics_t *m, size_t *len);

/* Latency buckets in seconds shared by api and bench: 0.1 ms .. 10 s. */
extern const double metrics_latency_bounds[];
extern const size_t metrics_latency_nbounds;

#endif
