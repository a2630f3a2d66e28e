/* coupon.h -- a coupon's row in MySQL (table `coupons`), for the operator
 * tools: create, read, change the quantity or the state, fix the counter.
 *
 * MySQL is the truth about a sale: Redis holds only what admission needs
 * and may be rebuilt from here (couponqctl rebuild). Times are unix ms; the
 * DATETIME columns are written and read in the connection's time zone, so a
 * value written here reads back unchanged. Implemented in db_coupon.c (only
 * common/db*.c include mysql.h). */
#ifndef COUPONQ_COUPON_H
#define COUPONQ_COUPON_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"

#define COUPON_TITLE_MAX 200
#define COUPON_STATE_MAX 16

/* The use budget of a redemption (DESIGN.md "Redemption"): the columns of
 * schemas/mysql/003_redemption.sql, which `couponqctl create` writes and
 * the Redis `use` hash mirrors (schemas/redemption.md). */
typedef struct coupon_use {
    int64_t limit;       /* use_limit; -1 = NULL: only ownership bounds use */
    int64_t used;        /* used_quantity (read only: the workers count it) */
    int64_t hold_ttl_ms; /* hold_ttl_ms */
    int64_t until_ms;    /* use_until; -1 = NULL (none) */
    int64_t vendor_id;   /* vendor_id; 0 = NULL (platform-funded) */
    int64_t share_bps;   /* vendor_share_bps, 0..10000 */
    int reuse;           /* reuse_after_reverse (1|0) */
} coupon_use_t;

typedef struct coupon {
    int64_t id; /* 0 on create: AUTO_INCREMENT picks one */
    char title[COUPON_TITLE_MAX + 1];
    int64_t total;      /* total_quantity; -1 = unlimited (NULL) */
    int64_t issued;     /* issued_quantity */
    int64_t discount;   /* discount_amount */
    int64_t min_amount; /* min_available_amount */
    int64_t start_ms, end_ms;
    char state[COUPON_STATE_MAX + 1]; /* open | closed | archived */
    coupon_use_t use;
} coupon_t;

/* Inserts the row (state c->state, "open" when empty, and the use columns
 * of c->use but used_quantity); sets c->id when it was 0. A duplicate id
 * fails with the server's error. */
int db_coupon_create(db_t *db, coupon_t *c);

/* Reads one row; *found = 0 when there is none (returns 0). */
int db_coupon_get(db_t *db, int64_t id, coupon_t *c, int *found);

/* total_quantity = total (-1 = NULL, unlimited). The table's CHECK refuses a
 * total below issued_quantity. *found = 0 when no such coupon. */
int db_coupon_set_total(db_t *db, int64_t id, int64_t total, int *found);
/* use_limit = limit (-1 = NULL) only while it is expected (-1 = NULL): a
 * compare-and-set; *swapped = 0 when it was something else or there is no
 * such coupon (nothing written). The table's CHECK refuses a limit below
 * used_quantity. */
int db_coupon_cas_use_limit(db_t *db, int64_t id, int64_t expected,
                            int64_t limit, int *swapped);
/* The coupon's use-limit lock (a MariaDB named lock, GET_LOCK, held by this
 * session until db_coupon_unlock_use_limit or the session ends, also by a
 * crash): couponqctl use adjust holds it, so two adjusts never interleave
 * their compare-and-sets on MySQL and Redis (see tools/redeem.c). *got = 0
 * when another session held it for timeout_s. */
int db_coupon_lock_use_limit(db_t *db, int64_t id, int timeout_s, int *got);
int db_coupon_unlock_use_limit(db_t *db, int64_t id);
int db_coupon_set_state(db_t *db, int64_t id, const char *state, int *found);

/* issued_quantity and the number of coupon_issues rows, read by one
 * statement (one consistent snapshot, so a worker commit in between cannot
 * make them disagree). *found = 0 when no such coupon. */
int db_coupon_counts(db_t *db, int64_t id, int64_t *issued, int64_t *rows,
                     int *found);

/* issued_quantity = the number of rows; *issued gets the new value. */
int db_coupon_fix_issued(db_t *db, int64_t id, int64_t *issued);

/* The user ids having a row for the coupon, ascending, malloc'd (caller
 * frees *users; NULL when *n is 0). */
int db_coupon_users(db_t *db, int64_t id, int64_t **users, size_t *n);

/* Deletes the coupon's coupon_issues rows and sets issued_quantity to 0
 * (operators and tests preparing a replay); *deleted gets the row count. */
int db_coupon_clear_issues(db_t *db, int64_t id, int64_t *deleted);

/* Upserts coupon_live_counts (the live Redis counts copied for dashboards
 * that read MySQL: couponqctl sync). */
int db_coupon_save_live(db_t *db, int64_t id, int64_t admitted,
                        int64_t persisted);

#endif
