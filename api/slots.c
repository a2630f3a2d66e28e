/* slots.c -- fixed slot table with generations. See slots.h. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "slots.h"

#define NIL UINT32_MAX

typedef struct slot_hdr {
    uint32_t gen;  /* odd while live, even while free: a stale token never
                      matches, even after 2^31 reuses of one slot */
    uint32_t prev; /* live list (allocation order) or free list (next) */
    uint32_t next;
} slot_hdr_t;

struct slots {
    uint32_t cap, used;
    size_t item_size;
    uint32_t free_head;
    uint32_t live_head, live_tail;
    slot_hdr_t *hdr;
    unsigned char *items;
};

slots_t *slots_new(uint32_t cap, size_t item_size)
{
    slots_t *s = calloc(1, sizeof(*s));
    uint32_t i;

    if (s == NULL || cap == 0 || cap >= NIL)
        goto err;
    s->hdr = calloc(cap, sizeof(*s->hdr));
    s->items = calloc(cap, item_size);
    if (s->hdr == NULL || s->items == NULL)
        goto err;
    s->cap = cap;
    s->item_size = item_size;
    for (i = 0; i < cap; i++)
        s->hdr[i].next = i + 1 < cap ? i + 1 : NIL;
    s->free_head = 0;
    s->live_head = s->live_tail = NIL;
    return s;
err:
    slots_free(s);
    return NULL;
}

void slots_free(slots_t *s)
{
    if (s == NULL)
        return;
    free(s->hdr);
    free(s->items);
    free(s);
}

static slot_token_t token(uint32_t idx, uint32_t gen)
{
    return ((uint64_t)gen << 32) | idx;
}

void *slots_alloc(slots_t *s, slot_token_t *tok)
{
    uint32_t i = s->free_head;
    slot_hdr_t *h;

    if (i == NIL)
        return NULL;
    h = &s->hdr[i];
    s->free_head = h->next;
    h->gen++; /* even -> odd: live */
    h->prev = s->live_tail;
    h->next = NIL;
    if (s->live_tail != NIL)
        s->hdr[s->live_tail].next = i;
    else
        s->live_head = i;
    s->live_tail = i;
    s->used++;
    *tok = token(i, h->gen);
    memset(s->items + (size_t)i * s->item_size, 0, s->item_size);
    return s->items + (size_t)i * s->item_size;
}

static int live_index(const slots_t *s, slot_token_t tok, uint32_t *idx)
{
    uint32_t i = (uint32_t)tok, gen = (uint32_t)(tok >> 32);

    if (i >= s->cap || (gen & 1) == 0 || s->hdr[i].gen != gen)
        return -1;
    *idx = i;
    return 0;
}

void *slots_get(const slots_t *s, slot_token_t tok)
{
    uint32_t i;

    if (live_index(s, tok, &i) != 0)
        return NULL;
    return s->items + (size_t)i * s->item_size;
}

void slots_release(slots_t *s, slot_token_t tok)
{
    uint32_t i;
    slot_hdr_t *h;
    int rc = live_index(s, tok, &i);

    assert(rc == 0);
    if (rc != 0)
        return;
    h = &s->hdr[i];
    if (h->prev != NIL)
        s->hdr[h->prev].next = h->next;
    else
        s->live_head = h->next;
    if (h->next != NIL)
        s->hdr[h->next].prev = h->prev;
    else
        s->live_tail = h->prev;
    h->gen++; /* odd -> even: free */
    h->next = s->free_head;
    s->free_head = i;
    s->used--;
}

uint32_t slots_used(const slots_t *s)
{
    return s->used;
}

uint32_t slots_cap(const slots_t *s)
{
    return s->cap;
}

slot_token_t slots_first(const slots_t *s)
{
    uint32_t i = s->live_head;

    return i == NIL ? 0 : token(i, s->hdr[i].gen);
}

slot_token_t slots_next(const slots_t *s, slot_token_t tok)
{
    uint32_t i;

    if (live_index(s, tok, &i) != 0)
        return 0;
    i = s->hdr[i].next;
    return i == NIL ? 0 : token(i, s->hdr[i].gen);
}
