/* rid.c -- redemption ids. See rid.h.
 *
 * The encoding is ulid.c's (ulid_encode/ulid_decode); only the layout of
 * the 80 "random" bits differs: 32 from ulid.c's per-thread generator,
 * then the coupon id. */
#include <assert.h>
#include <time.h>

#include "rid.h"

static _Thread_local struct {
    uint64_t last_ms;
    uint32_t rnd;
} rid_state;

void rid_encode(uint64_t ms, uint32_t rnd, int64_t coupon_id,
                char out[RID_LEN + 1])
{
    uint64_t c = (uint64_t)coupon_id;
    uint8_t b[10];
    int i;

    for (i = 0; i < 4; i++)
        b[i] = (uint8_t)(rnd >> (8 * (3 - i)));
    for (i = 0; i < 6; i++)
        b[4 + i] = (uint8_t)(c >> (8 * (5 - i)));
    ulid_encode(ms, b, out);
}

void rid_make(int64_t coupon_id, char out[RID_LEN + 1])
{
    struct timespec ts;
    uint64_t now;

    assert(coupon_id >= 1 && coupon_id <= RID_COUPON_MAX);
    clock_gettime(CLOCK_REALTIME, &ts);
    now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    if (now <= rid_state.last_ms) {
        /* Same ms or the clock stepped back: stay monotonic. */
        if (++rid_state.rnd == 0)
            rid_state.last_ms++;
    } else {
        rid_state.last_ms = now;
        /* The top bit clear leaves headroom: increments within one ms do
         * not wrap. */
        rid_state.rnd = (uint32_t)(ulid_random() >> 33);
    }
    rid_encode(rid_state.last_ms, rid_state.rnd, coupon_id, out);
}

int rid_coupon(const char *s, size_t len, int64_t *coupon_id)
{
    uint8_t b[10];
    uint64_t ms, c = 0;
    int i;

    if (!ulid_valid(s, len))
        return -1;
    ulid_decode(s, &ms, b);
    for (i = 4; i < 10; i++)
        c = (c << 8) | b[i];
    *coupon_id = (int64_t)c;
    return 0;
}
