/* fuzz_redemption_event.c -- libFuzzer target for redemption_event_decode(),
 * the worker's, couponq-replay's and the Redis rebuild's parser of untrusted
 * redemption payloads.
 *
 * Beyond "does not crash", it checks the codec's contract: a payload is
 * either accepted as an event that passes redemption_event_check() and
 * encodes again into bytes that decode to the very same event, or refused
 * with a named reason, an error text and a zeroed event. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "redemption_event.h"

static void check_accepted(const redemption_event_t *ev)
{
    char buf[REDEMPTION_EVENT_MAX_LEN], err[256];
    redemption_event_t again;
    int len;

    if (redemption_event_check(ev, err, sizeof(err)) != EVENT_OK)
        abort(); /* decode accepted what the checks refuse */
    len = redemption_event_encode(ev, buf, sizeof(buf));
    if (len < 0)
        abort(); /* decode accepted what encode refuses */
    if (redemption_event_decode(buf, (size_t)len, &again, err, sizeof(err)) !=
            EVENT_OK ||
        memcmp(&again, ev, sizeof(again)) != 0)
        abort();
}

static void check_rejected(event_reason_t r, const redemption_event_t *ev,
                           const char *err)
{
    static const redemption_event_t zero;

    if (strcmp(event_reason_name(r), "unknown") == 0 || err[0] == '\0' ||
        memcmp(ev, &zero, sizeof(zero)) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    redemption_event_t ev;
    event_reason_t r;

    err[0] = '\0';
    memset(&ev, 0x5a, sizeof(ev)); /* decode must write every byte */
    r = redemption_event_decode((const char *)data, size, &ev, err,
                                sizeof(err));
    if (r == EVENT_OK)
        check_accepted(&ev);
    else
        check_rejected(r, &ev, err);
    return 0;
}
