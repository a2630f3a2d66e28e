/* live_use.h -- a coupon's redemption state in Redis, for the operator
 * tools (schemas/redemption.md "Redis keys"): the `use` hash (settings and
 * the confirmed counter), the holds, records, orders, users and revs.
 *
 * Runs on live.h's connection. The hot path (hold, confirm, cancel,
 * reverse) is use.lua's, in the api; the tools read budgets, restore lost
 * state from MySQL and Kafka (rebuild, the fence guard, reconcile
 * --repair), and run use.lua's operator ops (adjust, get, finish). */
#ifndef COUPONQ_LIVE_USE_H
#define COUPONQ_LIVE_USE_H

#include <stddef.h>
#include <stdint.h>

#include "coupon.h"
#include "live.h"

/* The `use` hash. */
typedef struct live_use {
    int64_t limit;    /* -1 = unlimited: only ownership bounds use */
    int64_t ttl_ms;   /* hold lifetime */
    int64_t until_ms; /* -1 = none */
    int64_t discount, min_amount;
    int64_t vendor;    /* 0 = platform-funded */
    int64_t share_bps; /* 0..10000 */
    int reuse;         /* a full reversal gives the use back */
    int64_t confirmed; /* uses taken */
} live_use_t;

/* The hash's settings from the coupon's MySQL row (confirmed 0). */
void live_use_from_coupon(const coupon_t *c, live_use_t *u);

/* Writes every field. With only_new, only when the hash does not exist
 * (*written = 0 otherwise; may be NULL), atomically. */
int live_use_set(live_t *l, int64_t id, const live_use_t *u, int only_new,
                 int *written);

/* limit, confirmed and the live holds (ZCOUNT holds (now, +inf), now the
 * Redis clock), read atomically; *found = 0 when there is no use hash. */
int live_use_budget(live_t *l, int64_t id, int64_t *limit, int64_t *confirmed,
                    int64_t *live_holds, int *found);

/* Calls fn for every record of use:recs (HSCAN: a record may come twice;
 * nothing blocks Redis for long). fn returns 0 to go on, -1 to stop. */
typedef int (*live_rec_fn)(void *arg, const char *rid, const char *json,
                           size_t len);
int live_use_records(live_t *l, int64_t id, live_rec_fn fn, void *arg);

/* A record to restore: its rid and its JSON (userec.h). */
typedef struct live_rec {
    const char *rid;
    const char *json;
} live_rec_t;

/* Restores records, each only where Redis has none or an older version
 * (`v`), atomically per batch: the record, its orders entry, its holds
 * entry (a held record until its expiry; none for any other state), users
 * (the user's latest redemption by held time) and, when the use hash
 * exists, `confirmed` by the change in uses taken. *written = records
 * written; *counted = 0 when there was no use hash (the caller counts
 * `confirmed` itself and writes the hash). */
int live_use_restore(live_t *l, int64_t id, const live_rec_t *recs, size_t n,
                     int64_t *written, int *counted);
/* use:revs entries ("<rid>/<reversal_id>" -> JSON), written only where
 * missing (HSETNX, one script per batch); *written = how many were. */
int live_use_restore_revs(live_t *l, int64_t id, const char *const *fields,
                          const char *const *values, size_t n,
                          int64_t *written);

/* What Redis has of a redemption at a version (live_use_probe). */
typedef struct live_ver {
    const char *rid;
    int64_t version;
} live_ver_t;
typedef enum {
    LIVE_REC_HAVE,   /* a later version, or this one with nothing due */
    LIVE_REC_NEED,   /* no record, or an older one */
    LIVE_REC_PENDING /* at this version, its finish pending (`p` 1) */
} live_rec_status_t;
/* out[i] for v[i], read in one script per batch (the records' JSON stays
 * in Redis: only the answer comes back). */
int live_use_probe(live_t *l, int64_t id, const live_ver_t *v, size_t n,
                   live_rec_status_t *out);

/* use.lua's operator ops (schemas/redemption.md). */
typedef enum {
    LIVE_USE_OK,
    LIVE_USE_NOT_FOUND, /* no meta, no use hash, or no such record */
    LIVE_USE_FENCED,    /* the dataset is not verified (fence guard) */
    LIVE_USE_BELOW,     /* adjust: below confirmed + live holds */
    LIVE_USE_CHANGED    /* adjust: the limit is not the expected one */
} live_use_res_t;

/* adjust: limit (-1 = unlimited) unless below confirmed + live holds, and
 * only while the limit is still expected (a compare-and-set, atomic in
 * use.lua). *n gets confirmed + live holds
 * (also with LIVE_USE_BELOW), or with LIVE_USE_CHANGED the limit Redis
 * has. */
int live_use_adjust(live_t *l, int64_t id, int64_t limit, int64_t expected,
                    live_use_res_t *res, int64_t *n);

/* get (actor 0): the record's view state, version, whether a finish is
 * due (`p`) and its latest event (use.lua rebuilds it from the record, for
 * reconcile --repair to re-produce). */
typedef struct live_use_get {
    char state[20];
    int64_t version;
    int finish;
    char event[1024];
} live_use_get_t;
int live_use_get(live_t *l, int64_t id, const char *rid, live_use_res_t *res,
                 live_use_get_t *g);

/* finish rid version: *done = 1 when it freed the budget it waited for. */
int live_use_finish(live_t *l, int64_t id, const char *rid, int64_t version,
                    int *done);

#endif
