#!/usr/bin/env bash
# 05_redis_flush -- Redis loses all its data (FLUSHALL) in the middle of a
# sale. Until an operator runs `couponqctl rebuild`, the api must answer
# not_found and admit nobody (the sale's meta is gone); rebuild restores the
# meta and the admitted set from the MySQL rows plus the events still
# unconsumed in Kafka, and the sale continues. Final rows never exceed the
# quantity, and every 202 -- before and after the loss -- has its row.
# The workers are stopped 2 s before the loss and restarted after the
# rebuild, so events admitted before the loss are still unconsumed and only
# the topic can tell rebuild about them.
source "$(dirname "$0")/lib.sh"
need couponq-api couponq-worker couponqctl

gap=5
timed_sale "$(size 1000 3000)" "$(size 30 60)" 2 "FLUSHALL after 8 s, rebuild ${gap}s later"
pre=$PRE
sleep 6
proc_stop w1
proc_stop w2
sleep 2
before=$(admitted_of "$id")
rcli FLUSHALL >/dev/null
# the loss is certain once FLUSHALL has answered: a request sent before that
# may have been admitted before the flush ran, and rightly got its 202
t_flush=$(now)
log "FLUSHALL at $before admitted"
sleep 1
nf=$(curl -s -m 5 -X POST -d '{"user_id": 1}' "http://127.0.0.1:$API_PORT/v1/coupons/$id/issues" || true)
sleep "$(python3 -c "print(max(0, $gap - ($(now) - $t_flush)))")"
t_rb=$(now)
rc=0
ctl rebuild "$id" >"$WORK/rebuild.txt" 2>&1 || rc=$?
t_rb_done=$(now)
log "rebuild exit $rc in $(elapsed "$t_rb")s: $(tr '\n' ' ' <"$WORK/rebuild.txt" | cut -c1-300)"
from_topic=$(sed -nE 's/^added_from_topic: *([0-9]+).*/\1/p' "$WORK/rebuild.txt")
worker_start w1
worker_start w2
sale_wait
ok=pass
[[ $rc == 0 ]] || ok=fail
during=$(sent202_in "$pre" "$t_flush" "$t_rb")
rec=$(first_202_after "$pre" "$t_rb_done")
log "answer to a new user after the loss: $nf; 202s for requests sent between loss and rebuild: $during; first 202 ${rec}s after rebuild"
[[ $nf == *not_found* ]] || { log "the api did not answer not_found after the loss"; ok=fail; }
((during == 0)) || { log "admitted users while the sale's state was lost"; ok=fail; }
[[ $rec != never ]] || { log "the sale did not continue after rebuild"; ok=fail; }
drain_s=$(wait_drain "$id" "$(size 120 600)") || true

check "$id" "$qty" "$pre" || ok=fail
load_result "$pre" done="$reqs requests at ${rate}/s for $qty coupons, 2 workers; workers stopped, FLUSHALL at $before admitted, couponqctl rebuild ${gap}s later (${from_topic:-?} users only in unconsumed events), workers restarted" \
  requests_sent_between_loss_and_rebuild_answered_202="$during" rebuild_added_from_topic="${from_topic:-?}" rebuild_s="$(python3 -c "print(round($t_rb_done - $t_rb, 2))")" \
  recovery="rebuild took $(python3 -c "print(round($t_rb_done - $t_rb, 1))")s, first 202 ${rec}s after it; drained ${drain_s}s after the sale"
finish "$ok"
