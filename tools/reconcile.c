/* reconcile.c -- admitted set vs rows vs topic. See reconcile.h. */
#include <stdlib.h>
#include <string.h>

#include "reconcile.h"

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

void reconcile_sort_unique(int64_t *a, size_t *n)
{
    size_t i, k = 0;

    if (*n == 0)
        return;
    qsort(a, *n, sizeof(*a), cmp_i64);
    for (i = 1; i < *n; i++)
        if (a[i] != a[k])
            a[++k] = a[i];
    *n = k + 1;
}

int reconcile_contains(const int64_t *a, size_t n, int64_t v)
{
    return n > 0 && bsearch(&v, a, n, sizeof(*a), cmp_i64) != NULL;
}

/* Members of a (sorted) that are not in b (sorted), into a new array. */
static int sorted_minus(const int64_t *a, size_t na, const int64_t *b,
                        size_t nb, int64_t **out, size_t *nout)
{
    size_t i = 0, j = 0;

    *out = NULL;
    *nout = 0;
    if (na == 0)
        return 0;
    *out = malloc(na * sizeof(**out));
    if (*out == NULL)
        return -1;
    while (i < na) {
        if (j < nb && b[j] < a[i])
            j++;
        else if (j < nb && b[j] == a[i])
            i++;
        else
            (*out)[(*nout)++] = a[i++];
    }
    return 0;
}

int reconcile_diff(const reconcile_input_t *in, reconcile_report_t *r)
{
    int64_t *no_row = NULL;
    size_t nno_row = 0, i;

    memset(r, 0, sizeof(*r));
    if (sorted_minus(in->admitted, in->nadmitted, in->rows, in->nrows, &no_row,
                     &nno_row) != 0 ||
        sorted_minus(in->rows, in->nrows, in->admitted, in->nadmitted, &r->lost,
                     &r->nlost) != 0)
        goto oom;
    if (nno_row > 0) {
        r->missing = malloc(nno_row * sizeof(int64_t));
        r->in_flight = malloc(nno_row * sizeof(int64_t));
        if (r->missing == NULL || r->in_flight == NULL)
            goto oom;
    }
    for (i = 0; i < nno_row; i++) {
        if (in->rows_after != NULL &&
            reconcile_contains(in->rows_after, in->nrows_after, no_row[i]))
            continue; /* its row was committed while we looked */
        if (reconcile_contains(in->in_topic, in->nin_topic, no_row[i]))
            r->in_flight[r->nin_flight++] = no_row[i];
        else
            r->missing[r->nmissing++] = no_row[i];
    }
    r->counter_off = in->issued_quantity != in->row_count;
    free(no_row);
    return 0;
oom:
    free(no_row);
    reconcile_report_free(r);
    return -1;
}

void reconcile_report_free(reconcile_report_t *r)
{
    free(r->missing);
    free(r->in_flight);
    free(r->lost);
    memset(r, 0, sizeof(*r));
}

int reconcile_consistent(const reconcile_report_t *r)
{
    return r->nmissing == 0 && r->nlost == 0 && !r->counter_off;
}
