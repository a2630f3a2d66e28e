/* rid_list.c -- growable arrays of redemption ids and of redemptions at a
 * version. See rid_list.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rid_list.h"

void *rid_list_grow(void *v, size_t *cap, size_t n, size_t size, size_t first)
{
    size_t ncap;
    void *grown;

    if (n < *cap)
        return v;
    ncap = *cap != 0 ? *cap * 2 : first;
    grown = realloc(v, ncap * size);
    if (grown != NULL)
        *cap = ncap;
    return grown;
}

int rid_list_add(rid_list_t *l, const char *rid)
{
    void *grown = rid_list_grow(l->v, &l->cap, l->n, sizeof(*l->v), 16);

    if (grown == NULL)
        return -1;
    l->v = grown;
    snprintf(l->v[l->n++], RID_LEN + 1, "%s", rid);
    return 0;
}

int rid_list_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

size_t rid_list_unique(rid_list_t *l)
{
    size_t i, k = 0;

    if (l->n < 2)
        return l->n;
    qsort(l->v, l->n, sizeof(*l->v), rid_list_cmp);
    for (i = 1; i < l->n; i++)
        if (strcmp(l->v[i], l->v[k]) != 0)
            memcpy(l->v[++k], l->v[i], sizeof(l->v[i]));
    l->n = k + 1;
    return l->n;
}

int due_list_add(due_list_t *l, const char *rid, int64_t version)
{
    void *grown = rid_list_grow(l->v, &l->cap, l->n, sizeof(*l->v), 16);

    if (grown == NULL)
        return -1;
    l->v = grown;
    snprintf(l->v[l->n].rid, sizeof(l->v[l->n].rid), "%s", rid);
    l->v[l->n++].version = version;
    return 0;
}

int due_list_cmp(const void *a, const void *b)
{
    const due_t *x = a, *y = b;
    int c = strcmp(x->rid, y->rid);

    if (c != 0)
        return c;
    return x->version < y->version ? -1 : x->version > y->version;
}
