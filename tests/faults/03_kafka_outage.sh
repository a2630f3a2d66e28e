#!/usr/bin/env bash
# 03_kafka_outage -- the Kafka broker stopped for 15 s during a sale, then
# restarted. While it is down the api must answer 503 (Retry-After) and
# never 202 (a 202 means Kafka acknowledged the event), releasing each
# admission it could not publish; when it is back the api recovers by itself
# (no restart) and the workers resume. The checker then proves nothing was
# promised and lost, and no 503'd user got a row.
source "$(dirname "$0")/lib.sh"
need couponq-api couponq-worker

rate=$(size 800 3000)
secs=$(size 40 60)
reqs=$((rate * secs))
users=$((reqs * 3 / 4))
qty=$reqs # never sells out: every answer is about Kafka
outage=15
sale_setup "$qty"

pre=$WORK/load
log "sale: $reqs requests at $rate/s; Kafka stopped for ${outage}s after 8 s"
load "$pre" --coupon "$id" --requests "$reqs" --users "$users" --user-base "$((id * 10))" \
  --conns 64 --rate "$rate" --timeout 30 --max-seconds "$((secs + 60))" &
load_pid=$!
sleep 8
t_stop=$(now)
stack down kafka
t_down=$(now)
log "kafka stopped (took $(elapsed "$t_stop")s)"
sleep 3
health=$(curl -s -o /dev/null -w '%{http_code}' -m 5 "http://127.0.0.1:$API_PORT/healthz" || true)
sleep "$(python3 -c "print(max(0, $outage - ($(now) - $t_down)))")"
t_up0=$(now)
stack up kafka
t_up=$(now)
log "kafka back (start took $(elapsed "$t_up0")s); /healthz during the outage answered $health"
wait "$load_pid" || die "load client failed: $(tail -n 3 "$pre.err")"
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
result done="$reqs requests at ${rate}/s, 2 workers; Kafka stopped $(python3 -c "print(round($t_up0 - $t_down, 1))")s mid-sale, then restarted (ready $(python3 -c "print(round($t_up - $t_up0, 1))")s later)" \
  requests="$(jget "$pre.json" requests)" accepted="$(jget "$pre.json" "status.get('202', 0)")" \
  statuses="$(jget "$pre.json" "' '.join(k+':'+str(v) for k,v in status.items())")" \
  answers_202_while_down="$during" answers_503_during_outage="$s503" healthz_during_outage="$health" \
  recovery="first 202 ${rec}s after Kafka was back (no api restart); drained ${drain_s}s after the sale"
finish "$ok"
