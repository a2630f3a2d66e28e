/* batch.c -- the worker's open batch. See batch.h. */
#include <stdlib.h>
#include <string.h>

#include "batch.h"

struct batch {
    batch_item_t *items;
    size_t len, cap;
    int64_t first_ms; /* when the first item was added */
};

batch_t *batch_new(void)
{
    return calloc(1, sizeof(batch_t));
}

void batch_free(batch_t *b, batch_free_fn free_msg)
{
    if (b == NULL)
        return;
    batch_clear(b, free_msg);
    free(b->items);
    free(b);
}

batch_item_t *batch_add(batch_t *b, int topic, int32_t partition,
                        int64_t offset, void *msg, int64_t now_ms)
{
    batch_item_t *it;

    if (b->len == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        batch_item_t *p = realloc(b->items, cap * sizeof(*p));

        if (p == NULL)
            return NULL;
        b->items = p;
        b->cap = cap;
    }
    if (b->len == 0)
        b->first_ms = now_ms;
    it = &b->items[b->len++];
    memset(it, 0, sizeof(*it));
    it->topic = topic;
    it->partition = partition;
    it->offset = offset;
    it->msg = msg;
    return it;
}

size_t batch_len(const batch_t *b)
{
    return b->len;
}

batch_item_t *batch_item(batch_t *b, size_t i)
{
    return i < b->len ? &b->items[i] : NULL;
}

int batch_due(const batch_t *b, size_t max_n, int64_t max_ms, int64_t now_ms)
{
    if (b->len == 0)
        return 0;
    return b->len >= max_n || now_ms - b->first_ms >= max_ms;
}

int64_t batch_wait_ms(const batch_t *b, int64_t max_ms, int64_t now_ms)
{
    int64_t left;

    if (b->len == 0)
        return -1;
    left = b->first_ms + max_ms - now_ms;
    return left > 0 ? left : 0;
}

size_t batch_events(const batch_t *b, event_t *evs, size_t *idx)
{
    size_t i, n = 0;

    for (i = 0; i < b->len; i++) {
        if (b->items[i].topic != BATCH_ISSUE || b->items[i].reason != EVENT_OK)
            continue;
        evs[n] = b->items[i].ev;
        idx[n++] = i;
    }
    return n;
}

size_t batch_redemptions(const batch_t *b, redemption_event_t *evs, size_t *idx)
{
    size_t i, n = 0;

    for (i = 0; i < b->len; i++) {
        if (b->items[i].topic != BATCH_REDEMPTION ||
            b->items[i].reason != EVENT_OK)
            continue;
        evs[n] = b->items[i].rev;
        idx[n++] = i;
    }
    return n;
}

size_t batch_commit_offsets(const batch_t *b, int *topics, int32_t *parts,
                            int64_t *offs)
{
    size_t i, k, np = 0;

    for (i = 0; i < b->len; i++) {
        const batch_item_t *it = &b->items[i];

        for (k = 0;
             k < np && (parts[k] != it->partition || topics[k] != it->topic);
             k++)
            ;
        if (k == np) {
            topics[np] = it->topic;
            parts[np] = it->partition;
            offs[np++] = it->offset + 1;
        } else if (it->offset + 1 > offs[k]) {
            offs[k] = it->offset + 1;
        }
    }
    return np;
}

size_t batch_drop_partition(batch_t *b, int topic, int32_t p,
                            batch_free_fn free_msg)
{
    size_t i, kept = 0, dropped;

    for (i = 0; i < b->len; i++) {
        if (b->items[i].partition == p && b->items[i].topic == topic) {
            if (free_msg != NULL && b->items[i].msg != NULL)
                free_msg(b->items[i].msg);
            continue;
        }
        if (kept != i)
            b->items[kept] = b->items[i];
        kept++;
    }
    dropped = b->len - kept;
    b->len = kept;
    return dropped;
}

void batch_clear(batch_t *b, batch_free_fn free_msg)
{
    size_t i;

    for (i = 0; free_msg != NULL && i < b->len; i++)
        if (b->items[i].msg != NULL)
            free_msg(b->items[i].msg);
    b->len = 0;
}

void batch_swap(batch_t *a, batch_t *b)
{
    batch_t t = *a;

    *a = *b;
    *b = t;
}
