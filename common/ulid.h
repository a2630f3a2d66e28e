/* ulid.h -- ULIDs (26 Crockford base32 chars: 48-bit ms time + 80 random
 * bits) for event ids. Monotonic within one thread: two ids generated in the
 * same millisecond increment the random part, so ids sort by creation. */
#ifndef COUPONQ_ULID_H
#define COUPONQ_ULID_H

#include <stddef.h>
#include <stdint.h>

#define ULID_LEN 26

/* out gets ULID_LEN chars plus NUL. Seeds its per-thread state from
 * getrandom(2) on first use. */
void ulid_generate(char out[ULID_LEN + 1]);
/* Deterministic form for tests: time ms and 10 random bytes. */
void ulid_encode(uint64_t ms, const uint8_t rnd[10], char out[ULID_LEN + 1]);
/* 1 when s is exactly 26 valid Crockford chars and the time fits 48 bits. */
int ulid_valid(const char *s, size_t len);
/* Time part of a valid ULID. */
uint64_t ulid_time_ms(const char *s);
/* The inverse of ulid_encode for a valid ULID (ulid_valid). */
void ulid_decode(const char *s, uint64_t *ms, uint8_t rnd[10]);
/* 64 bits from the per-thread generator that ulid_generate uses (seeded
 * the same way): for ids that lay out their random part themselves. */
uint64_t ulid_random(void);

#endif
