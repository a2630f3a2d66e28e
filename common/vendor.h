/* vendor.h -- vendors, their ledger and its settlements in MySQL (tables
 * vendors, vendor_ledger, settlements of schemas/mysql/003_redemption.sql),
 * for the operator tools. Implemented in db_vendor.c.
 *
 * The workers write the ledger: one line per redemption event that moves
 * money (+ the vendor's share of a confirmed discount, - its refund on a
 * reversal). A line is edited once, when a settlement takes it
 * (settlement_id NULL -> the settlement's id), and never again: a reversal
 * after a settlement is a new, negative line that the next settlement
 * takes. Times are unix ms, in the connection's time zone like coupon.h. */
#ifndef COUPONQ_VENDOR_H
#define COUPONQ_VENDOR_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"

#define VENDOR_NAME_MAX 200

typedef struct vendor_settlement {
    int64_t id, vendor_id;
    int64_t until_ms; /* the lines dated up to and including this instant */
    int64_t total;    /* sum of its lines (signed) */
    int64_t line_count;
    int64_t created_ms;
} vendor_settlement_t;

typedef struct vendor_line {
    int64_t id;
    char event_id[27], redemption_id[27];
    int64_t amount; /* signed */
    int64_t created_ms;
} vendor_line_t;

/* Inserts a vendor; *id gets its id. A name in use fails with the
 * server's duplicate-key error (db_errno 1062). */
int db_vendor_create(db_t *db, const char *name, int64_t *id);
/* *found = 0 when there is no such vendor; name may be NULL. */
int db_vendor_get(db_t *db, int64_t id, char *name, size_t n, int *found);

/* balance: the sum of all the vendor's lines; open_sum/open_count: those
 * of the lines no settlement took yet. One statement, one snapshot. */
int db_vendor_balance(db_t *db, int64_t id, int64_t *balance, int64_t *open_sum,
                      int64_t *open_count);
/* The vendor's settlements, oldest first / its lines not yet settled,
 * oldest first (malloc'd; NULL when *n is 0). */
int db_vendor_settlements(db_t *db, int64_t id, vendor_settlement_t **out,
                          size_t *n);
int db_vendor_open_lines(db_t *db, int64_t id, vendor_line_t **out, size_t *n);

typedef enum {
    DB_SETTLE_MADE,      /* a new settlement, committed */
    DB_SETTLE_EXISTING,  /* (vendor, until) was settled before: that one */
    DB_SETTLE_FUTURE,    /* until lies after the database's NOW(3) */
    DB_SETTLE_NO_VENDOR, /* no such vendor */
} db_settle_t;

/* One transaction: the settlement row (UNIQUE vendor, until), every open
 * line of the vendor dated <= until moved into it, its total and
 * line_count. Settling the same (vendor, until) again answers the existing
 * settlement and changes nothing. until is checked against the database
 * clock: a line dated later than "now" cannot exist yet, while one dated
 * before a future until could still arrive after the settlement was made.
 * before_commit (may be NULL) runs just before COMMIT (a test hook: a
 * crash there must leave nothing behind). */
int db_vendor_settle(db_t *db, int64_t vendor_id, int64_t until_ms,
                     void (*before_commit)(void *), void *arg,
                     vendor_settlement_t *s, db_settle_t *result);

#endif
