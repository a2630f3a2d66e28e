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
#define KEYS_USE_SUFFIXES(X)                                                   \
    X(use, "use") X(use_holds, "use:holds") X(use_recs, "use:recs")            \
    X(use_orders, "use:orders") X(use_users, "use:users")                      \
    X(use_revs, "use:revs")
#define KEYS_USE_FN(name, suffix)                                              \
    static inline int keys_##name(char *buf, size_t n, int64_t coupon_id)      \
    {                                                                          \
        return snprintf(buf, n, "couponq:{c%lld}:" suffix,                     \
                        (long long)coupon_id);                                 \
    }
KEYS_USE_SUFFIXES(KEYS_USE_FN)
#undef KEYS_USE_FN

#endif
