/* hist.c -- log-linear histogram. See hist.h.
 *
 * Index of v: below 2^(SUB+1) the value itself; above, with e = floor(log2
 * v), the top SUB+1 bits of v (a number in [2^SUB, 2^(SUB+1))) plus
 * (e - SUB) * 2^SUB. Consecutive octaves thus take consecutive runs of 2^SUB
 * indexes, and the index grows with v, so percentiles are a prefix sum. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "hist.h"

#define SUB      HIST_SUB_BITS
#define HALF     (1ULL << SUB)
#define LINEAR   (1ULL << (SUB + 1))
#define NBUCKETS ((size_t)((HIST_MAX_EXP - SUB) * HALF + LINEAR))
#define VMAX     ((1ULL << (HIST_MAX_EXP + 1)) - 1)

struct hist {
    uint64_t count;
    uint64_t min;
    uint64_t max;
    long double sum;
    uint64_t b[NBUCKETS];
};

hist_t *hist_new(void)
{
    hist_t *h = calloc(1, sizeof(*h));

    return h;
}

void hist_free(hist_t *h)
{
    free(h);
}

void hist_reset(hist_t *h)
{
    memset(h, 0, sizeof(*h));
}

size_t hist_nbuckets(void)
{
    return NBUCKETS;
}

size_t hist_bucket_index(uint64_t v)
{
    int e;

    if (v > VMAX)
        v = VMAX;
    if (v < LINEAR)
        return (size_t)v;
    e = 63 - __builtin_clzll(v);
    return (size_t)((uint64_t)(e - SUB) * HALF + (v >> (e - SUB)));
}

uint64_t hist_bucket_low(size_t i)
{
    int e;
    uint64_t sub;

    assert(i < NBUCKETS);
    if (i < LINEAR)
        return i;
    e = (int)(i >> SUB) + SUB - 1;
    sub = i - (uint64_t)(e - SUB) * HALF;
    return sub << (e - SUB);
}

uint64_t hist_bucket_high(size_t i)
{
    int e;

    assert(i < NBUCKETS);
    if (i < LINEAR)
        return i;
    e = (int)(i >> SUB) + SUB - 1;
    return hist_bucket_low(i) + (1ULL << (e - SUB)) - 1;
}

void hist_record_n(hist_t *h, uint64_t v, uint64_t n)
{
    if (n == 0)
        return;
    if (h->count == 0 || v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
    h->count += n;
    h->sum += (long double)v * n;
    h->b[hist_bucket_index(v)] += n;
}

void hist_record(hist_t *h, uint64_t v)
{
    hist_record_n(h, v, 1);
}

void hist_merge(hist_t *dst, const hist_t *src)
{
    size_t i;

    if (src->count == 0)
        return;
    if (dst->count == 0 || src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
    dst->count += src->count;
    dst->sum += src->sum;
    for (i = 0; i < NBUCKETS; i++)
        dst->b[i] += src->b[i];
}

uint64_t hist_count(const hist_t *h)
{
    return h->count;
}

uint64_t hist_min(const hist_t *h)
{
    return h->min;
}

uint64_t hist_max(const hist_t *h)
{
    return h->max;
}

double hist_mean(const hist_t *h)
{
    return h->count == 0 ? 0.0 : (double)(h->sum / h->count);
}

uint64_t hist_percentile(const hist_t *h, double q)
{
    uint64_t rank, seen = 0, hi;
    size_t i;

    if (h->count == 0)
        return 0;
    if (q > 100.0)
        q = 100.0;
    /* ceil(q% * count) computed in integers where q is exact enough. */
    rank = (uint64_t)((long double)q / 100.0L * h->count + 0.999999999L);
    if (rank < 1)
        rank = 1;
    if (rank > h->count)
        rank = h->count;
    for (i = 0; i < NBUCKETS; i++) {
        seen += h->b[i];
        if (seen >= rank)
            break;
    }
    assert(i < NBUCKETS);
    hi = hist_bucket_high(i);
    if (hi > h->max)
        hi = h->max;
    if (hi < h->min)
        hi = h->min;
    return hi;
}
