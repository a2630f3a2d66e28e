/* bench_encode.c -- not a test: times the per-accepted-request formatting of
 * couponq-api, event_encode() and http_resp_head(), and prints ns per call.
 * Run it before and after a change to either and compare the numbers of the
 * same machine; absolute values mean little on a shared box.
 *
 * Not built by CMake (machine-dependent numbers have no place in ctest):
 *   cmake -S . -B build-enc-rel -DCMAKE_BUILD_TYPE=Release
 *   cmake --build build-enc-rel -j2 --target common couponq-api_core
 *   cc -O2 -Icommon -Iapi tests/perf/bench_encode.c \
 *      build-enc-rel/libcouponq-api_core.a build-enc-rel/libcommon.a \
 *      -ljansson -o build-enc-rel/bench_encode
 *   build-enc-rel/bench_encode [calls]   (default 1000000) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "event.h"
#include "http_resp.h"

#define DISTINCT 1024

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Seconds for `count` encodes round-robin over evs; exits on a failure so a
 * broken encoder cannot look fast. The sum keeps the work observable. */
static double run_encode(const event_t *evs, long count, long *sum)
{
    char buf[EVENT_MAX_LEN];
    double t0 = now_s();
    long i;
    int len;

    for (i = 0; i < count; i++) {
        len = event_encode(&evs[i % DISTINCT], buf, sizeof(buf));
        if (len < 0) {
            fprintf(stderr, "event_encode failed\n");
            exit(1);
        }
        *sum += len + buf[len - 3];
    }
    return now_s() - t0;
}

/* The api's 202: default content type, no extra headers, keep-alive. */
static double run_head(long count, long *sum)
{
    char buf[512];
    double t0 = now_s();
    long i;
    int len;

    for (i = 0; i < count; i++) {
        len = http_resp_head(buf, sizeof(buf), 202, NULL, NULL,
                             (size_t)(100 + i % 64), 0);
        if (len < 0) {
            fprintf(stderr, "http_resp_head failed\n");
            exit(1);
        }
        *sum += len + buf[len - 5];
    }
    return now_s() - t0;
}

int main(int argc, char **argv)
{
    static event_t evs[DISTINCT];
    long count = argc > 1 ? atol(argv[1]) : 1000000;
    double enc = 1e30, head = 1e30, t;
    long sum = 0;
    int i;

    if (count <= 0)
        return 2;
    /* Realistic spread: fresh ULIDs, ids and seqs of varying width. */
    for (i = 0; i < DISTINCT; i++) {
        ulid_generate(evs[i].event_id);
        evs[i].coupon_id = 1000 + i % 37;
        evs[i].user_id = 1 + (int64_t)i * 7919;
        evs[i].seq = 1 + i;
        evs[i].requested_at_ms = 1795356000123LL + (int64_t)i * 13;
    }
    /* Best of 3, alternating, so neither gets only a cold or noisy slot. */
    for (i = 0; i < 3; i++) {
        t = run_encode(evs, count, &sum);
        enc = t < enc ? t : enc;
        t = run_head(count, &sum);
        head = t < head ? t : head;
    }
    printf("calls=%ld event_encode=%.1f ns/call http_resp_head=%.1f ns/call "
           "(sum %ld)\n",
           count, enc * 1e9 / (double)count, head * 1e9 / (double)count, sum);
    return 0;
}
