/* reconcile.h -- the diff behind `couponqctl reconcile`: Redis admitted set
 * vs MySQL rows vs events in the topic, and the row counter. Pure (the
 * caller fetches the sets), so every case is unit-tested.
 *
 * Every admitted user must end up with exactly one row, and every row must
 * belong to an admitted user. Differences, in the terms:
 *   (a) missing   admitted, no row, no event in the topic: the api crashed
 *                 between admission and Kafka's acknowledgement.
 *       in_flight admitted, no row, but an event is in the topic: a worker
 *                 will write it; pending, not an inconsistency.
 *   (b) lost      a row whose user is not admitted: Redis lost data.
 *   (c) counter   coupons.issued_quantity differs from the row count. */
#ifndef COUPONQ_RECONCILE_H
#define COUPONQ_RECONCILE_H

#include <stddef.h>
#include <stdint.h>

typedef struct reconcile_input {
    const int64_t *admitted; /* sorted, unique */
    size_t nadmitted;
    const int64_t *rows; /* user ids with a row; sorted, unique */
    size_t nrows;
    /* Rows read again after the topic scan (NULL: use rows). A user counts
     * as missing only if absent from both reads. */
    const int64_t *rows_after;
    size_t nrows_after;
    const int64_t *in_topic; /* users with an event of the coupon; sorted */
    size_t nin_topic;
    int64_t issued_quantity;
    int64_t row_count; /* COUNT(*) read with issued_quantity */
} reconcile_input_t;

typedef struct reconcile_report {
    int64_t *missing; /* (a), ascending; malloc'd */
    size_t nmissing;
    int64_t *in_flight;
    size_t nin_flight;
    int64_t *lost; /* (b) */
    size_t nlost;
    int counter_off; /* (c) */
} reconcile_report_t;

/* 0, or -1 when out of memory. r is zeroed first. */
int reconcile_diff(const reconcile_input_t *in, reconcile_report_t *r);
void reconcile_report_free(reconcile_report_t *r);
/* 1 when nothing is missing, lost or miscounted (in-flight is fine). */
int reconcile_consistent(const reconcile_report_t *r);

/* Sorts ascending and drops duplicates in place. */
void reconcile_sort_unique(int64_t *a, size_t *n);
/* 1 when v is in the sorted array. */
int reconcile_contains(const int64_t *a, size_t n, int64_t v);

#endif
