/* classic_redeem.h -- couponq-classic's redemption transactions (SELECT ...
 * FOR UPDATE of the coupon's use counter row), one attempt each; the
 * caller owns the connection and retries while *retry is set (a transient
 * error: deadlock, lock wait timeout, lost connection). */
#ifndef COUPONQ_BENCH_CLASSIC_REDEEM_H
#define COUPONQ_BENCH_CLASSIC_REDEEM_H

#include <stdint.h>

#include "db.h"
#include "redeem.h"
#include "ulid.h"

/* CREATE TABLE IF NOT EXISTS of its two tables. 0 or -1 (db_error). */
int classic_redeem_schema(db_t *db);

/* RD_HELD (rid filled), RD_NOT_FOUND (no counter row), RD_NOT_OWNED,
 * RD_ORDER_CONFLICT, RD_SOLD_OUT or RD_UNAVAILABLE. */
redeem_code_t classic_redeem_hold(db_t *db, int64_t coupon,
                                  const redeem_hold_t *h, long long ttl_ms,
                                  char rid[ULID_LEN + 1], int *retry);

/* Confirm (cancel = 0) or cancel of redemption rid. */
redeem_code_t classic_redeem_step(db_t *db, const char *rid, int cancel,
                                  int *retry);

#endif
