/* bench_event_decode.c -- not a test: times event_decode() (canonical fast
 * path) against event_decode_slow() (jansson alone) on the same encoded
 * events, in one run, and prints ns per event and the ratio.
 *
 * Not built by CMake (machine-dependent numbers have no place in ctest):
 *   cmake -S . -B build-event-rel -DCMAKE_BUILD_TYPE=Release
 *   cmake --build build-event-rel -j2 --target common
 *   cc -O2 -Icommon tests/perf/bench_event_decode.c \
 *      build-event-rel/libcommon.a -ljansson -o build-event-rel/bench_event
 *   build-event-rel/bench_event [events]   (default 1000000) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "event.h"
#include "event_internal.h"

#define DISTINCT 1024

typedef event_reason_t (*decode_fn)(const char *, size_t, event_t *, char *,
                                    size_t);

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Seconds to decode `count` events round-robin from bufs; exits on any
 * failure so a broken decoder cannot look fast. */
static double run(decode_fn fn, char (*bufs)[EVENT_MAX_LEN], const int *lens,
                  long count, int64_t *sum)
{
    char err[256];
    event_t ev;
    double t0 = now_s();
    long i;

    for (i = 0; i < count; i++) {
        if (fn(bufs[i % DISTINCT], (size_t)lens[i % DISTINCT], &ev, err,
               sizeof(err)) != EVENT_OK) {
            fprintf(stderr, "decode failed: %s\n", err);
            exit(1);
        }
        *sum += ev.seq + ev.requested_at_ms;
    }
    return now_s() - t0;
}

int main(int argc, char **argv)
{
    static char bufs[DISTINCT][EVENT_MAX_LEN];
    static int lens[DISTINCT];
    long count = argc > 1 ? atol(argv[1]) : 1000000;
    double slow = 1e30, fast = 1e30, t;
    int64_t sum_slow = 0, sum_fast = 0;
    event_t ev;
    int i;

    /* Realistic spread: fresh ULIDs, ids and seqs of varying width. */
    for (i = 0; i < DISTINCT; i++) {
        ulid_generate(ev.event_id);
        ev.coupon_id = 1000 + i % 37;
        ev.user_id = 1 + (int64_t)i * 7919;
        ev.seq = 1 + i;
        ev.requested_at_ms = 1795356000123LL + (int64_t)i * 13;
        lens[i] = event_encode(&ev, bufs[i], sizeof(bufs[i]));
        if (lens[i] < 0)
            return 1;
    }
    /* Best of 3, alternating, so neither side gets a cold or noisy slot. */
    for (i = 0; i < 3; i++) {
        t = run(event_decode_slow, bufs, lens, count, &sum_slow);
        slow = t < slow ? t : slow;
        t = run(event_decode, bufs, lens, count, &sum_fast);
        fast = t < fast ? t : fast;
    }
    if (sum_slow != sum_fast)
        return 1;
    printf("events=%ld slow(jansson)=%.1f ns/event fast=%.1f ns/event "
           "ratio=%.1fx\n",
           count, slow * 1e9 / (double)count, fast * 1e9 / (double)count,
           slow / fast);
    return 0;
}
