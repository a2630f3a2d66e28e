/* fuzz_event.c -- libFuzzer target for event_decode(), the worker's and
 * replay's parser of untrusted Kafka payloads.
 *
 * Beyond "does not crash", it checks the codec's contract: a payload either
 * decodes to an event whose fields are all in range, or is rejected with a
 * named reason, an error text and a zeroed event; and an accepted event
 * encodes again and decodes to the same fields (the round trip the api and
 * the worker rely on). And it checks the decoder's fast path differentially:
 * event_decode() (canonical fast path, then jansson) must give the same
 * reason, error text and event bytes as jansson alone (event_internal.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "event_internal.h"

/* Field by field (event_t has padding); the whole id array counts. */
static int same_event(const event_t *a, const event_t *b)
{
    return memcmp(a->event_id, b->event_id, sizeof(a->event_id)) == 0 &&
           a->coupon_id == b->coupon_id && a->user_id == b->user_id &&
           a->seq == b->seq && a->requested_at_ms == b->requested_at_ms;
}

static void check_accepted(const event_t *ev)
{
    char buf[EVENT_MAX_LEN], err[256];
    event_t again;
    int len;

    if (ev->coupon_id <= 0 || ev->user_id <= 0 || ev->seq < 1 ||
        strlen(ev->event_id) != ULID_LEN)
        abort();
    len = event_encode(ev, buf, sizeof(buf));
    if (len < 0)
        abort(); /* decode accepted what encode refuses */
    if (event_decode(buf, (size_t)len, &again, err, sizeof(err)) != EVENT_OK)
        abort();
    if (again.coupon_id != ev->coupon_id || again.user_id != ev->user_id ||
        again.seq != ev->seq || again.requested_at_ms != ev->requested_at_ms ||
        strcmp(again.event_id, ev->event_id) != 0)
        abort();
}

static void check_rejected(event_reason_t r, const event_t *ev, const char *err)
{
    static const event_t zero;

    if (strcmp(event_reason_name(r), "unknown") == 0 || err[0] == '\0' ||
        !same_event(ev, &zero))
        abort();
}

/* Fast path + fallback == jansson alone, for every input. Both start from
 * the same buffers, so anything one leaves unwritten shows as a difference. */
static void check_same_as_slow(const char *buf, size_t size, event_reason_t r,
                               const event_t *ev, const char *err)
{
    char slow_err[256];
    event_t slow_ev, fast_ev;
    event_reason_t slow_r;

    slow_err[0] = '\0';
    memset(&slow_ev, 0x5a, sizeof(slow_ev));
    slow_r = event_decode_slow(buf, size, &slow_ev, slow_err, sizeof(slow_err));
    if (slow_r != r || strcmp(slow_err, err) != 0 || !same_event(&slow_ev, ev))
        abort();
    /* The fast path alone never accepts what jansson refuses. */
    if (event_decode_canonical(buf, size, &fast_ev) == 0 &&
        (slow_r != EVENT_OK || !same_event(&fast_ev, &slow_ev)))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    event_t ev;
    event_reason_t r;

    err[0] = '\0';
    memset(&ev, 0x5a, sizeof(ev));
    r = event_decode((const char *)data, size, &ev, err, sizeof(err));
    check_same_as_slow((const char *)data, size, r, &ev, err);
    if (r == EVENT_OK)
        check_accepted(&ev);
    else
        check_rejected(r, &ev, err);
    return 0;
}
