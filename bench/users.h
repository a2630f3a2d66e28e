/* users.h -- who sends each request: the user id generators of
 * couponq-bench.
 *
 *   USERS_SEQ   base, base+1, base+2, ...; wraps after n users when n > 0.
 *   USERS_DUP   a repeat with probability dup_ratio (a user already sent,
 *               chosen uniformly: the "clicked twice" crowd), else the next
 *               new user of the pool; once all n users have been sent, every
 *               request is a repeat.
 *   USERS_ZIPF  rank k in 1..n with probability proportional to 1/k^s (a
 *               hot-user mix: rank 1 is user base); s > 0.
 *
 * Deterministic for a given seed. distinct() counts the users handed out so
 * far, which is what bounds the number of 202s a coupon can give. */
#ifndef COUPONQ_BENCH_USERS_H
#define COUPONQ_BENCH_USERS_H

#include <stddef.h>
#include <stdint.h>

typedef enum { USERS_SEQ, USERS_DUP, USERS_ZIPF } users_mode_t;

typedef struct users_opts {
    users_mode_t mode;
    int64_t base;     /* first user id, >= 1 */
    uint64_t n;       /* pool size; 0 = unbounded (USERS_SEQ/USERS_DUP) */
    double dup_ratio; /* USERS_DUP: 0 <= r < 1 */
    double zipf_s;    /* USERS_ZIPF: exponent > 0 */
    uint64_t seed;
} users_opts_t;

#define USERS_ZIPF_MAX 50000000ULL /* the CDF table is 8 bytes per user */

typedef struct users users_t;

/* NULL with errstr naming the bad option. */
users_t *users_new(const users_opts_t *o, char *errstr, size_t n);
void users_free(users_t *u); /* NULL is a no-op */

int64_t users_next(users_t *u);
uint64_t users_distinct(const users_t *u);
/* "seq", "dup", "zipf" -> mode; -1 when unknown. */
int users_mode_parse(const char *s);
const char *users_mode_name(users_mode_t m);

#endif
