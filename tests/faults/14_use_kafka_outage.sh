#!/usr/bin/env bash
# 14_use_kafka_outage -- the Kafka broker stopped for 10 s during checkouts,
# then restarted. While it is down every hold, confirm, cancel and reversal
# must answer 503 + Retry-After, and each transition the script made must be
# undone (its event was certainly not written) -- nothing half: no hold
# keeps budget, no confirm takes a use, no state exists without its event.
# When the broker is back the api recovers by itself and the client's
# retries of the same requests succeed.
source "$(dirname "$0")/lib.sh"
need couponq-api couponq-worker

checkouts=$(size 3000 40000)
limit=$(size 900 12000)
rate=$(size 250 800)
outage=10
use_sale "$checkouts" "$limit" "$rate" "Kafka stopped for ${outage}s after 6 s" --retries 30
pre=$PRE
sleep 6
server_down kafka
server_up kafka "$outage"
log "kafka down $(python3 -c "print(round($t_up0 - $t_down, 1))")s"
use_sale_wait
ok=pass
# the timeline's columns: [start, 2xx, 503, ...] (count_in: 0 = 2xx, 1 = 503)
ok2xx=$(count_in "$pre" 0 "$(python3 -c "print($t_down + 1)")" "$t_up0")
s503=$(count_in "$pre" 1 "$t_stop" "$t_up")
log "2xx while the broker was down: $ok2xx; 503s during the outage: $s503"
((ok2xx == 0)) || { log "a success answered while no broker could acknowledge"; ok=fail; }
((s503 > 0)) || { log "no 503 during the outage"; ok=fail; }
sleep 4
drain_s=$(wait_use_drain "$id" 120) || true
use_check_run "$id" "$pre" || ok=fail
use_result "$pre" done="$checkouts checkouts at ${rate}/s on a use limit of $limit, 2 workers; Kafka stopped $(python3 -c "print(round($t_up0 - $t_down, 1))")s, then restarted" \
  answers_2xx_while_down="$ok2xx" answers_503_during_outage="$s503" \
  recovery="no api restart; drained ${drain_s}s after the load"
finish "$ok"
