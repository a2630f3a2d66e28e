/* keys.h -- Redis key names of DESIGN.md. Every key of one coupon carries the
 * hash tag {c<ID>}, so a coupon's keys live in one Redis Cluster slot and the
 * admission script may touch them together. */
#ifndef COUPONQ_KEYS_H
#define COUPONQ_KEYS_H

#include <stdint.h>
#include <stdio.h>

#define KEYS_MAX 64 /* enough for any key below */

static inline int keys_meta(char *buf, size_t n, int64_t coupon_id)
{
    return snprintf(buf, n, "couponq:{c%lld}:meta", (long long)coupon_id);
}
static inline int keys_issued(char *buf, size_t n, int64_t coupon_id)
{
    return snprintf(buf, n, "couponq:{c%lld}:issued", (long long)coupon_id);
}
static inline int keys_persisted(char *buf, size_t n, int64_t coupon_id)
{
    return snprintf(buf, n, "couponq:{c%lld}:persisted", (long long)coupon_id);
}

/* HASH admit.lua call id -> which of its users it accepted, until the api
 * read the answer (see schemas/redis/admit.lua and settle.lua). */
static inline int keys_calls(char *buf, size_t n, int64_t coupon_id)
{
    return snprintf(buf, n, "couponq:{c%lld}:calls", (long long)coupon_id);
}

/* Redemption (schemas/redemption.md): the use budget HASH, the holds ZSET
 * (rid -> expires_ms), the records HASH (rid -> JSON), order id -> rid,
 * user id -> rid, and "<rid>/<reversal_id>" -> reversal. */
static inline int keys_use(char *buf, size_t n, int64_t coupon_id)
{
    return snprintf(buf, n, "couponq:{c%lld}:use", (long long)coupon_id);
}
static inline int keys_use_holds(char *buf, size_t n, int64_t coupon_id)
{
    return snprintf(buf, n, "couponq:{c%lld}:use:holds", (long long)coupon_id);
}
static inline int keys_use_recs(char *buf, size_t n, int64_t coupon_id)
{
    return snprintf(buf, n, "couponq:{c%lld}:use:recs", (long long)coupon_id);
}
static inline int keys_use_orders(char *buf, size_t n, int64_t coupon_id)
{
    return snprintf(buf, n, "couponq:{c%lld}:use:orders", (long long)coupon_id);
}
static inline int keys_use_users(char *buf, size_t n, int64_t coupon_id)
{
    return snprintf(buf, n, "couponq:{c%lld}:use:users", (long long)coupon_id);
}
static inline int keys_use_revs(char *buf, size_t n, int64_t coupon_id)
{
    return snprintf(buf, n, "couponq:{c%lld}:use:revs", (long long)coupon_id);
}

#endif
