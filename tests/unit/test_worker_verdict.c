/* test_worker_verdict.c -- worker/verdict: which messages of a flushed
 * batch go to the DLQ (and with which reason and error text), which issue
 * events count as persisted, and when refusals one by one retry the batch
 * instead of filling the DLQ. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "unit.h"

#include "verdict.h"

#define DB_ERR "Duplicate entry for key 'x'"

static void test_rejected_go_to_dlq(void **state)
{
    batch_item_t it;
    verdict_dlq_t d = { NULL, NULL };

    (void)state;
    memset(&it, 0, sizeof(it));
    it.reason = EVENT_OK;
    assert_int_equal(verdict_rejected(&it, &d), 0);
    assert_null(d.reason);
    it.reason = EVENT_ERR_JSON;
    strcpy(it.why, "not JSON at byte 1");
    assert_int_equal(verdict_rejected(&it, &d), 1);
    assert_string_equal(d.reason, "bad_json");
    assert_string_equal(d.error, "not JSON at byte 1");
    it.reason = EVENT_ERR_TOO_BIG;
    assert_int_equal(verdict_rejected(&it, &d), 1);
    assert_string_equal(d.reason, "too_big");
}

static void test_issue_outcomes(void **state)
{
    verdict_dlq_t d = { NULL, NULL };

    (void)state;
    /* A row that is in: no DLQ, persisted. */
    assert_int_equal(verdict_issue(0, SINK_INSERTED, DB_ERR, &d), 0);
    assert_int_equal(verdict_issue(0, SINK_DUPLICATE, DB_ERR, &d), 0);
    assert_null(d.reason);
    assert_true(verdict_issue_persisted(0, SINK_INSERTED));
    assert_true(verdict_issue_persisted(0, SINK_DUPLICATE));
    /* No row: DLQ with the sink's reason, not persisted. */
    assert_int_equal(verdict_issue(0, SINK_OVER_QUANTITY, DB_ERR, &d), 1);
    assert_string_equal(d.reason, "over_quantity");
    assert_string_equal(d.error, "no quantity left");
    assert_false(verdict_issue_persisted(0, SINK_OVER_QUANTITY));
    assert_int_equal(verdict_issue(0, SINK_UNKNOWN_COUPON, DB_ERR, &d), 1);
    assert_string_equal(d.reason, "unknown_coupon");
    assert_string_equal(d.error, "no such coupon");
    assert_false(verdict_issue_persisted(0, SINK_UNKNOWN_COUPON));
    /* Refused by MySQL on its own: db_error whatever out holds (it was not
     * written by a committed transaction). */
    assert_int_equal(verdict_issue(1, SINK_INSERTED, DB_ERR, &d), 1);
    assert_string_equal(d.reason, VERDICT_DB_ERROR);
    assert_string_equal(d.error, DB_ERR);
    assert_false(verdict_issue_persisted(1, SINK_INSERTED));
    assert_false(verdict_issue_persisted(1, SINK_DUPLICATE));
}

static void test_redemption_outcomes(void **state)
{
    redemption_result_t r;
    verdict_dlq_t d = { NULL, NULL };

    (void)state;
    memset(&r, 0, sizeof(r));
    strcpy(r.why, "confirm of a released redemption");
    r.outcome = REDEMPTION_SINK_APPLIED;
    assert_int_equal(verdict_redemption(0, &r, DB_ERR, &d), 0);
    r.outcome = REDEMPTION_SINK_STALE;
    assert_int_equal(verdict_redemption(0, &r, DB_ERR, &d), 0);
    r.outcome = REDEMPTION_SINK_DUPLICATE;
    assert_int_equal(verdict_redemption(0, &r, DB_ERR, &d), 0);
    assert_null(d.reason);
    r.outcome = REDEMPTION_SINK_ILLEGAL;
    assert_int_equal(verdict_redemption(0, &r, DB_ERR, &d), 1);
    assert_string_equal(d.reason, "illegal_transition");
    assert_string_equal(d.error, "confirm of a released redemption");
    r.outcome = REDEMPTION_SINK_UNKNOWN_COUPON;
    assert_int_equal(verdict_redemption(0, &r, DB_ERR, &d), 1);
    assert_string_equal(d.reason, "unknown_coupon");
    r.outcome = REDEMPTION_SINK_APPLIED;
    assert_int_equal(verdict_redemption(1, &r, DB_ERR, &d), 1);
    assert_string_equal(d.reason, VERDICT_DB_ERROR);
    assert_string_equal(d.error, DB_ERR);
}

static void test_singly_all_refused_retries(void **state)
{
    (void)state;
    assert_int_equal(verdict_singly(0, 3), SINK_OK);
    assert_int_equal(verdict_singly(2, 3), SINK_OK);
    assert_int_equal(verdict_singly(3, 3), SINK_ERR_PERMANENT);
    assert_int_equal(verdict_singly(1, 1), SINK_ERR_PERMANENT);
}

UNIT_TESTS(cmocka_unit_test(test_rejected_go_to_dlq),
           cmocka_unit_test(test_issue_outcomes),
           cmocka_unit_test(test_redemption_outcomes),
           cmocka_unit_test(test_singly_all_refused_retries))
