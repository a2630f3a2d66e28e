#!/usr/bin/env bash
# 13_use_worker_kill -- kill -9 of both workers, mid-batch, four times during
# checkouts (restarted after 1 s). A killed batch's transaction rolls back
# and its offsets were not committed, so the restarted workers consume the
# same events again: every event must still give exactly one
# redemption_events row and, when it moves money, exactly one ledger line;
# used_quantity counts each confirm once.
source "$(dirname "$0")/lib.sh"
need couponq-api couponq-worker couponqctl

checkouts=$(size 4000 40000)
limit=$(size 1200 12000)
rate=$(size 300 1000)
WORKER_ARGS="--batch-size 500 ${WORKER_ARGS:-}"
use_sale "$checkouts" "$limit" "$rate" "kill -9 of both workers 4 times"
pre=$PRE
kill9_during_load 4 "$(size 2 6)" w1 w2
use_sale_wait
drain_s=$(wait_use_drain "$id" 120) || true

ok=pass
use_check_run "$id" "$pre" || ok=fail
dup=$(sql "SELECT COUNT(*) - COUNT(DISTINCT event_id) FROM vendor_ledger WHERE vendor_id=$VENDOR")
[[ $dup == 0 ]] || { log "$dup duplicate ledger lines"; ok=fail; }
use_result "$pre" done="$checkouts checkouts at ${rate}/s on a use limit of $limit; kill -9 of both workers 4 times, restarted after 1 s" \
  recovery="every event applied once; drained ${drain_s}s after the load"
finish "$ok"
