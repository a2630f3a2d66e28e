/* hist.h -- a log-linear histogram of unsigned 64-bit values (nanoseconds in
 * couponq-bench), in the manner of HdrHistogram.
 *
 * Values below 256 are counted exactly; above, each power of two is split
 * into 128 equal buckets, so a reported percentile is at most 1/128 (0.8%)
 * above the true value. Values up to 2^42 (about 73 minutes in ns) are
 * kept; larger ones are clamped into the last bucket (max stays exact).
 * Recording is O(1) and allocation-free; one hist_t per thread. */
#ifndef COUPONQ_BENCH_HIST_H
#define COUPONQ_BENCH_HIST_H

#include <stddef.h>
#include <stdint.h>

#define HIST_SUB_BITS 7  /* 2^7 = 128 buckets per power of two */
#define HIST_MAX_EXP  42 /* largest power of two kept */

typedef struct hist hist_t;

hist_t *hist_new(void);
void hist_free(hist_t *h); /* NULL is a no-op */
void hist_reset(hist_t *h);

void hist_record(hist_t *h, uint64_t v);
void hist_record_n(hist_t *h, uint64_t v, uint64_t n);
void hist_merge(hist_t *dst, const hist_t *src);

uint64_t hist_count(const hist_t *h);
uint64_t hist_min(const hist_t *h); /* exact; 0 when empty */
uint64_t hist_max(const hist_t *h); /* exact; 0 when empty */
double hist_mean(const hist_t *h);  /* exact; 0 when empty */

/* The value at percentile q (0 < q <= 100): the upper end of the bucket
 * that holds the ceil(q% * count)-th smallest value, never above max.
 * 0 when empty. */
uint64_t hist_percentile(const hist_t *h, double q);

/* Bucket geometry, exposed for tests. */
size_t hist_nbuckets(void);
size_t hist_bucket_index(uint64_t v);
uint64_t hist_bucket_low(size_t i);  /* smallest value in bucket i */
uint64_t hist_bucket_high(size_t i); /* largest value in bucket i */

#endif
