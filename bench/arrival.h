/* arrival.h -- intended send times for the open-loop generator.
 *
 * The generator asks for the next request's intended time and measures its
 * latency from that time, not from when it actually managed to write it: a
 * server that stalls is charged for every request that should have been sent
 * during the stall (no coordinated omission). Times are ns since the start.
 *
 *   ARRIVAL_FIXED    request i at round(i * 1e9 / rate): no drift over a run.
 *   ARRIVAL_POISSON  exponential gaps with mean 1e9 / rate (seeded). */
#ifndef COUPONQ_BENCH_ARRIVAL_H
#define COUPONQ_BENCH_ARRIVAL_H

#include <stdint.h>

typedef enum { ARRIVAL_FIXED, ARRIVAL_POISSON } arrival_mode_t;

typedef struct arrival arrival_t;

/* rate in requests per second, > 0. NULL when out of memory. */
arrival_t *arrival_new(arrival_mode_t mode, double rate, uint64_t seed);
void arrival_free(arrival_t *s); /* NULL is a no-op */

/* The intended time of the next request; each call advances by one. */
uint64_t arrival_next(arrival_t *s);
/* The intended time of the next request, without advancing. */
uint64_t arrival_peek(arrival_t *s);

/* "fixed", "poisson" -> mode; -1 when unknown. */
int arrival_mode_parse(const char *s);
const char *arrival_mode_name(arrival_mode_t m);

#endif
