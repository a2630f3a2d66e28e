/* verdict.c -- a flushed batch's messages: row, DLQ or retry. See
 * verdict.h. */
#include <assert.h>

#include "verdict.h"

static int dlq(verdict_dlq_t *d, const char *reason, const char *error)
{
    d->reason = reason;
    d->error = error;
    return 1;
}

int verdict_rejected(const batch_item_t *it, verdict_dlq_t *d)
{
    if (it->reason == EVENT_OK)
        return 0;
    return dlq(d, event_reason_name(it->reason), it->why);
}

int verdict_issue(int refused, sink_outcome_t out, const char *db_err,
                  verdict_dlq_t *d)
{
    if (refused)
        return dlq(d, VERDICT_DB_ERROR, db_err);
    if (out == SINK_OVER_QUANTITY)
        return dlq(d, "over_quantity", "no quantity left");
    if (out == SINK_UNKNOWN_COUPON)
        return dlq(d, "unknown_coupon", "no such coupon");
    return 0;
}

int verdict_issue_persisted(int refused, sink_outcome_t out)
{
    return !refused && (out == SINK_INSERTED || out == SINK_DUPLICATE);
}

int verdict_redemption(int refused, const redemption_result_t *r,
                       const char *db_err, verdict_dlq_t *d)
{
    if (refused)
        return dlq(d, VERDICT_DB_ERROR, db_err);
    if (r->outcome == REDEMPTION_SINK_ILLEGAL ||
        r->outcome == REDEMPTION_SINK_UNKNOWN_COUPON)
        return dlq(d, redemption_outcome_name(r->outcome), r->why);
    return 0;
}

int verdict_singly(size_t nbad, size_t n)
{
    assert(n > 0 && nbad <= n);
    return nbad == n ? SINK_ERR_PERMANENT : SINK_OK;
}
