/* slots.h -- the table of in-flight requests. Pure, unit-tested.
 *
 * A request that waits for Redis or Kafka lives in a slot. Callbacks that
 * may outlive the request's connection (hiredis privdata, Kafka delivery
 * report opaques) carry a token = slot index + generation, never a pointer:
 * slots_get() of a token whose slot was freed or reused returns NULL. The
 * table never grows (its capacity is the in-flight cap); live slots are
 * kept in allocation order, which is deadline order since every request
 * gets the same timeout. */
#ifndef COUPONQ_API_SLOTS_H
#define COUPONQ_API_SLOTS_H

#include <stddef.h>
#include <stdint.h>

typedef struct slots slots_t;
typedef uint64_t slot_token_t; /* 0 is never a valid token */

/* cap slots of item_size bytes each (zeroed on alloc). NULL on ENOMEM. */
slots_t *slots_new(uint32_t cap, size_t item_size);
void slots_free(slots_t *s); /* NULL is a no-op */

/* A zeroed item and its token, or NULL when all slots are in use. */
void *slots_alloc(slots_t *s, slot_token_t *tok);
/* The item, or NULL when tok is stale (freed, reused) or invalid. */
void *slots_get(const slots_t *s, slot_token_t tok);
/* Frees the slot; its token goes stale. tok must be live. */
void slots_release(slots_t *s, slot_token_t tok);

uint32_t slots_used(const slots_t *s);
uint32_t slots_cap(const slots_t *s);

/* Live slots in allocation order: first, then next until 0. */
slot_token_t slots_first(const slots_t *s);
slot_token_t slots_next(const slots_t *s, slot_token_t tok);

#endif
