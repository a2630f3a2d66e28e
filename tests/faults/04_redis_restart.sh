#!/usr/bin/env bash
# 04_redis_restart -- Redis shut down (AOF fsynced) and restarted during a
# sale that sells out after the restart. While Redis is down the api answers
# 503 at once and admits nothing; afterwards admission resumes by itself
# from the AOF-restored sets: no user admitted twice, no oversell, every 202
# a row.
source "$(dirname "$0")/lib.sh"
need couponq-api couponq-worker

down=5
timed_sale "$(size 1000 3000)" "$(size 30 60)" 2 "Redis restarted after 8 s"
pre=$PRE
sleep 8
before=$(admitted_of "$id")
server_down redis
health=$(http_code "$API_PORT" /healthz)
server_up redis "$down"
after=$(admitted_of "$id")
log "Redis restarted: admitted $before before, $after after the AOF reload; /healthz while down: $health"
sale_wait
ok=pass
during=$(sent202_in "$pre" "$t_down" "$t_up0")
s503=$(count_in "$pre" 1 "$t_stop" "$t_up")
rec=$(first_202_after "$pre" "$t_up")
log "202s for requests sent while Redis was down: $during; 503s: $s503; first 202 ${rec}s after Redis was up"
((during == 0)) || { log "202 answered while Redis was down"; ok=fail; }
((after >= before)) || { log "the AOF lost admitted users ($before -> $after)"; ok=fail; }
[[ $rec != never ]] || { log "admission did not resume"; ok=fail; }
drain_s=$(wait_drain "$id" "$(size 120 600)") || true

check "$id" "$qty" "$pre" || ok=fail
load_result "$pre" done="$reqs requests at ${rate}/s for $qty coupons (sells out after the restart), 2 workers; Redis shut down $(python3 -c "print(round($t_up0 - $t_down, 1))")s mid-sale and restarted from its AOF" \
  admitted_before_after_restart="$before/$after" requests_sent_while_down_answered_202="$during" answers_503="$s503" healthz_while_down="$health" \
  recovery="first 202 ${rec}s after Redis was back (no api restart); drained ${drain_s}s after the sale"
finish "$ok"
