/* event_internal.h -- the two halves of event_decode(), exposed only so the
 * unit test and the fuzzer can check them against each other. Production
 * code calls event_decode() (event.h) and nothing here.
 *
 * event_decode() = event_decode_canonical(), and on any deviation from the
 * exact bytes event_encode() writes, event_decode_slow() (jansson). The
 * contract: for every input, event_decode() returns the same reason, writes
 * the same errstr and the same event as event_decode_slow() alone. */
#ifndef COUPONQ_EVENT_INTERNAL_H
#define COUPONQ_EVENT_INTERNAL_H

#include <stddef.h>

#include "event.h"

/* 0 and *ev filled when buf is byte for byte an event_encode() output whose
 * fields all pass validation; -1 otherwise, *ev untouched. Never writes an
 * error: a -1 only means "ask the slow path". */
int event_decode_canonical(const char *buf, size_t len, event_t *ev);

/* The jansson decoder, same signature and contract as event_decode(). */
event_reason_t event_decode_slow(const char *buf, size_t len, event_t *ev,
                                 char *errstr, size_t n);

#endif
