/* rid_list.h -- growable arrays of redemption ids (rid_list_t) and of
 * redemptions at a version (due_list_t), for the tools' redemption half.
 *
 * use_restore.c and use_repair.c collect the redemptions they act on (the
 * rows Redis lacks, the records that differ, the releases whose finish is
 * due) while callbacks stream rows and records, then sort them to look
 * them up or drop repeats. The lists are plain values, not handles: their
 * elements are read in place (v[0..n)), a zeroed list ({ NULL, 0, 0 }) is
 * empty, and its owner frees v. Not thread-safe. */
#ifndef COUPONQ_RID_LIST_H
#define COUPONQ_RID_LIST_H

#include <stddef.h>
#include <stdint.h>

#include "rid.h"

typedef struct rid_list {
    char (*v)[RID_LEN + 1];
    size_t n, cap;
} rid_list_t;

/* A redemption at one version: a record whose release (cancel, give-back
 * reversal) waits for its finish, or a release event that is durable. */
typedef struct due {
    char rid[RID_LEN + 1];
    int64_t version;
} due_t;

typedef struct due_list {
    due_t *v;
    size_t n, cap;
} due_list_t;

/* The array at v, with room for *cap elements of size, holding n: itself
 * while there is room for one more, else grown (first elements at first,
 * then doubled); NULL when out of memory (v is kept). The lists grow with
 * it; so may any other array kept as (v, n, cap). */
void *rid_list_grow(void *v, size_t *cap, size_t n, size_t size, size_t first);

/* Appends rid; 0, or -1 when out of memory (l unchanged). */
int rid_list_add(rid_list_t *l, const char *rid);

/* qsort/bsearch order of rids (char[RID_LEN + 1] elements). */
int rid_list_cmp(const void *a, const void *b);

/* Sorts the list and drops repeats; returns the new length. */
size_t rid_list_unique(rid_list_t *l);

/* Appends (rid, version); 0, or -1 when out of memory (l unchanged). */
int due_list_add(due_list_t *l, const char *rid, int64_t version);

/* qsort order of due_t: by rid, then version. */
int due_list_cmp(const void *a, const void *b);

#endif
