/* classic_redeem.c -- the redemption transactions of couponq-classic: how
 * a typical MySQL service takes a use of a coupon, serialised on the
 * coupon's use counter row with SELECT ... FOR UPDATE.
 *
 * Hold: lock the counter row, check ownership (coupon_issues), the order
 * id and the budget (held + confirmed < limit), INSERT the redemption,
 * UPDATE the counter, COMMIT. Confirm and cancel: lock the redemption row
 * and the counter row, check the state and the expiry, UPDATE both,
 * COMMIT. An expired hold keeps counting in `held` until something looks
 * at it (a confirm or cancel of that hold here; a cleanup job in real
 * services): the classic design's known leak, which the benchmark avoids
 * with a long hold time. Its own tables (bench_classic_use,
 * bench_classic_redemptions), created when the server starts, so it never
 * touches the rows couponq's workers write. */
#include <stdio.h>

#include "classic_redeem.h"
#include "log.h"
#include "ulid.h"

int classic_redeem_schema(db_t *db)
{
    return db_exec(db, "CREATE TABLE IF NOT EXISTS bench_classic_use ("
                       " coupon_id BIGINT UNSIGNED NOT NULL PRIMARY KEY,"
                       " use_limit BIGINT NOT NULL,"
                       " held BIGINT NOT NULL DEFAULT 0,"
                       " confirmed BIGINT NOT NULL DEFAULT 0"
                       ") ENGINE=InnoDB") != 0 ||
                   db_exec(db, "CREATE TABLE IF NOT EXISTS "
                               "bench_classic_redemptions ("
                               " id CHAR(26) NOT NULL PRIMARY KEY,"
                               " coupon_id BIGINT UNSIGNED NOT NULL,"
                               " user_id BIGINT UNSIGNED NOT NULL,"
                               " order_id VARCHAR(64) NOT NULL,"
                               " order_amount BIGINT UNSIGNED NOT NULL,"
                               " state VARCHAR(20) NOT NULL,"
                               " held_at DATETIME(3) NOT NULL,"
                               " expires_at DATETIME(3) NOT NULL,"
                               " confirmed_at DATETIME(3) NULL,"
                               " UNIQUE KEY uq_bench_classic_order"
                               " (coupon_id, order_id)"
                               ") ENGINE=InnoDB") != 0
               ? -1
               : 0;
}

/* A failed statement: rolls back, says whether to retry. */
static redeem_code_t tx_fail(db_t *db, int *retry)
{
    *retry = db_is_transient(db);
    LOG(LL_WARN, "msg=\"transaction failed\" why=\"%s\"", db_error(db));
    db_rollback(db);
    if (*retry && db_errno(db) >= 2000) /* client-side: connection lost */
        db_reconnect(db);
    return RD_UNAVAILABLE;
}

/* Ownership and the order id, inside the hold's transaction. */
static int hold_checks(db_t *db, int64_t coupon, const redeem_hold_t *h,
                       redeem_code_t *refusal)
{
    char sql[400];
    int64_t v;
    int found;

    snprintf(sql, sizeof(sql),
             "SELECT COUNT(*) FROM coupon_issues WHERE coupon_id = %lld AND"
             " user_id = %lld",
             (long long)coupon, (long long)h->user);
    if (db_query_int(db, sql, &v, &found) != 0)
        return -1;
    if (v == 0) {
        *refusal = RD_NOT_OWNED;
        return 0;
    }
    /* order_id is [A-Za-z0-9._:-] only (redeem_parse_hold): no quoting. */
    snprintf(sql, sizeof(sql),
             "SELECT COUNT(*) FROM bench_classic_redemptions WHERE"
             " coupon_id = %lld AND order_id = '%s'",
             (long long)coupon, h->order);
    if (db_query_int(db, sql, &v, &found) != 0)
        return -1;
    if (v > 0)
        *refusal = RD_ORDER_CONFLICT;
    return 0;
}

redeem_code_t classic_redeem_hold(db_t *db, int64_t coupon,
                                  const redeem_hold_t *h, long long ttl_ms,
                                  char rid[ULID_LEN + 1], int *retry)
{
    char sql[512];
    int64_t room;
    int found;
    redeem_code_t refusal = RD_HELD;

    if (db_begin(db) != 0)
        return tx_fail(db, retry);
    snprintf(sql, sizeof(sql),
             "SELECT use_limit - held - confirmed FROM bench_classic_use"
             " WHERE coupon_id = %lld FOR UPDATE",
             (long long)coupon);
    if (db_query_int(db, sql, &room, &found) != 0 ||
        hold_checks(db, coupon, h, &refusal) != 0)
        return tx_fail(db, retry);
    if (!found)
        refusal = RD_NOT_FOUND;
    else if (refusal == RD_HELD && room <= 0)
        refusal = RD_SOLD_OUT;
    if (refusal != RD_HELD) {
        db_rollback(db); /* read-only so far: ends the lock */
        return refusal;
    }
    ulid_generate(rid);
    snprintf(sql, sizeof(sql),
             "INSERT INTO bench_classic_redemptions (id, coupon_id, user_id,"
             " order_id, order_amount, state, held_at, expires_at) VALUES"
             " ('%s', %lld, %lld, '%s', %lld, 'held', NOW(3),"
             " NOW(3) + INTERVAL %lld MICROSECOND)",
             rid, (long long)coupon, (long long)h->user, h->order,
             (long long)h->amount, ttl_ms * 1000);
    if (db_exec(db, sql) != 0)
        return tx_fail(db, retry);
    snprintf(sql, sizeof(sql),
             "UPDATE bench_classic_use SET held = held + 1 WHERE"
             " coupon_id = %lld",
             (long long)coupon);
    if (db_exec(db, sql) != 0 || db_commit(db) != 0)
        return tx_fail(db, retry);
    return RD_HELD;
}

/* The transition a confirm or cancel makes from the locked row's state
 * (0 live hold, 1 expired hold, 2 confirmed, 3 released or expired):
 * the new state and its counter change, or NULL with the answer. */
static const char *step_plan(int cancel, int64_t st, const char **counter,
                             redeem_code_t *code)
{
    *counter = NULL;
    switch (st) {
    case 0:
        *code = cancel ? RD_RELEASED : RD_CONFIRMED;
        *counter = cancel ? "held = held - 1"
                          : "held = held - 1, confirmed = confirmed + 1";
        return cancel ? "released" : "confirmed";
    case 1: /* found expired: the classic gives its use back now */
        *code = RD_HOLD_EXPIRED;
        *counter = "held = held - 1";
        return "expired";
    case 2:
        *code = cancel ? RD_ALREADY_CONFIRMED : RD_CONFIRMED;
        return NULL;
    default:
        *code = cancel ? RD_RELEASED : RD_NOT_HELD;
        return NULL;
    }
}

redeem_code_t classic_redeem_step(db_t *db, const char *rid, int cancel,
                                  int *retry)
{
    char sql[512];
    const char *state, *counter;
    int64_t v, coupon, held;
    int found;
    redeem_code_t code;

    if (db_begin(db) != 0)
        return tx_fail(db, retry);
    /* One integer per row (db_query_int): coupon id x 4 + state. */
    snprintf(sql, sizeof(sql),
             "SELECT coupon_id * 4 + CASE WHEN state = 'held' AND"
             " expires_at > NOW(3) THEN 0 WHEN state = 'held' THEN 1"
             " WHEN state = 'confirmed' THEN 2 ELSE 3 END FROM"
             " bench_classic_redemptions WHERE id = '%s' FOR UPDATE",
             rid);
    if (db_query_int(db, sql, &v, &found) != 0)
        return tx_fail(db, retry);
    if (!found) {
        db_rollback(db);
        return RD_NOT_FOUND;
    }
    coupon = v / 4;
    state = step_plan(cancel, v % 4, &counter, &code);
    if (state == NULL) {
        db_rollback(db);
        return code;
    }
    snprintf(sql, sizeof(sql),
             "SELECT held FROM bench_classic_use WHERE coupon_id = %lld"
             " FOR UPDATE",
             (long long)coupon);
    if (db_query_int(db, sql, &held, &found) != 0)
        return tx_fail(db, retry);
    snprintf(sql, sizeof(sql),
             "UPDATE bench_classic_redemptions SET state = '%s',"
             " confirmed_at = IF('%s' = 'confirmed', NOW(3), NULL)"
             " WHERE id = '%s'",
             state, state, rid);
    if (db_exec(db, sql) != 0)
        return tx_fail(db, retry);
    snprintf(sql, sizeof(sql),
             "UPDATE bench_classic_use SET %s WHERE coupon_id = %lld", counter,
             (long long)coupon);
    if (db_exec(db, sql) != 0 || db_commit(db) != 0)
        return tx_fail(db, retry);
    return code;
}
