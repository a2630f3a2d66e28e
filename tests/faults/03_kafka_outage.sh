#!/usr/bin/env bash
# 03_kafka_outage -- the Kafka broker stopped for 15 s during a sale, then
# restarted. While it is down the api must answer 503 (Retry-After) and
# never 202 (a 202 means Kafka acknowledged the event), releasing each
# admission it could not publish; when it is back the api recovers by itself
# (no restart) and the workers resume. The checker then proves nothing was
# promised and lost, and no 503'd user got a row.
source "$(dirname "$0")/lib.sh"
need couponq-api couponq-worker

outage=15
# as many coupons as requests: never sells out, every answer is about Kafka
timed_sale "$(size 800 3000)" "$(size 40 60)" 1 "Kafka stopped for ${outage}s after 8 s"
pre=$PRE
sleep 8
server_down kafka
log "kafka stopped (took $(elapsed "$t_stop")s)"
sleep 3
health=$(http_code "$API_PORT" /healthz)
server_up kafka "$outage"
log "kafka back (start took $(elapsed "$t_up0")s); /healthz during the outage answered $health"
sale_wait
ok=pass
during=$(count_in "$pre" 0 "$(python3 -c "print($t_down + 1)")" "$t_up0")
s503=$(count_in "$pre" 1 "$t_stop" "$t_up")
rec=$(first_202_after "$pre" "$t_up")
log "202s while the broker was down: $during; 503s during the outage: $s503; first 202 ${rec}s after Kafka was up"
((during == 0)) || { log "202 answered while no broker could acknowledge"; ok=fail; }
((s503 > 0)) || { log "no 503 during the outage"; ok=fail; }
[[ $health == 503 ]] || { log "/healthz answered $health during the outage, not 503"; ok=fail; }
[[ $rec != never ]] || { log "the api did not recover by itself"; ok=fail; }
drain_s=$(wait_drain "$id" "$(size 120 600)") || true

check "$id" "$qty" "$pre" || ok=fail
load_result "$pre" done="$reqs requests at ${rate}/s, 2 workers; Kafka stopped $(python3 -c "print(round($t_up0 - $t_down, 1))")s mid-sale, then restarted (ready $(python3 -c "print(round($t_up - $t_up0, 1))")s later)" \
  answers_202_while_down="$during" answers_503_during_outage="$s503" healthz_during_outage="$health" \
  recovery="first 202 ${rec}s after Kafka was back (no api restart); drained ${drain_s}s after the sale"
finish "$ok"
