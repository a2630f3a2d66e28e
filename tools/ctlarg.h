/* ctlarg.h -- argument checks shared by couponqctl and couponq-replay:
 * coupon ids, quantities, the --quantity/--add/--sub choice of `adjust`,
 * and --from-offsets lists. Pure functions (no I/O), unit-tested.
 *
 * Errors name the flag and say what was expected, e.g.
 * "--quantity: \"ten\" is not a number or \"unlimited\"". */
#ifndef COUPONQ_CTLARG_H
#define COUPONQ_CTLARG_H

#include <stddef.h>
#include <stdint.h>

#include "coupon.h"

/* coupons.total_quantity is INT UNSIGNED. */
#define CTLARG_QUANTITY_MAX 4294967295LL

/* A coupon id: decimal, 1 .. 2^63-1. */
int ctlarg_id(const char *s, int64_t *id, char *errstr, size_t n);

/* "unlimited" -> -1, else 0 .. CTLARG_QUANTITY_MAX. what names the flag. */
int ctlarg_quantity(const char *what, const char *s, int64_t *total,
                    char *errstr, size_t n);

typedef enum {
    CTLARG_ADJ_SET,
    CTLARG_ADJ_ADD,
    CTLARG_ADJ_SUB
} ctlarg_adj_kind_t;

typedef struct ctlarg_adjust {
    ctlarg_adj_kind_t kind;
    int64_t value; /* SET: new total (-1 unlimited); ADD/SUB: K >= 1 */
} ctlarg_adjust_t;

/* Exactly one of quantity/add/sub is non-NULL, else an error. */
int ctlarg_adjust_parse(const char *quantity, const char *add, const char *sub,
                        ctlarg_adjust_t *a, char *errstr, size_t n);

/* The new total from the current one (-1 = unlimited). --add/--sub on an
 * unlimited sale, a result below 0 or above the maximum are errors. Does not
 * know the admitted count: adjust.lua checks that atomically. */
int ctlarg_adjust_apply(const ctlarg_adjust_t *a, int64_t current,
                        int64_t *new_total, char *errstr, size_t n);

/* The use budget flags of `create`: --use-limit (N or "unlimited" -> -1),
 * --hold-ttl (a duration, 1 s .. 30 d) and --use-until (a time after now
 * and after the sale's start, or NULL -> -1) into u->limit, hold_ttl_ms,
 * until_ms. The other fields of u are left alone. */
#define CTLARG_HOLD_TTL_MIN_MS 1000LL
#define CTLARG_HOLD_TTL_MAX_MS (30LL * 86400000)
int ctlarg_use(const char *limit, const char *hold_ttl, const char *until,
               int64_t now_ms, int64_t start_ms, coupon_use_t *u, char *errstr,
               size_t n);

/* A redemption id carries its coupon in 48 bits (schemas/redemption.md):
 * 0 when id can have redemptions, -1 with errstr naming `what`. */
#define CTLARG_USE_COUPON_MAX ((1LL << 48) - 1)
int ctlarg_use_coupon(const char *what, int64_t id, char *errstr, size_t n);

typedef struct ctlarg_offset {
    int32_t partition;
    int64_t offset;
} ctlarg_offset_t;

/* "P:O,P:O,..." (partition >= 0, offset >= 0, no partition twice) into
 * out[0..max-1]; *count gets the number of pairs. */
int ctlarg_offsets(const char *s, ctlarg_offset_t *out, size_t max,
                   size_t *count, char *errstr, size_t n);

#endif
