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
use_sale_setup "$checkouts" "$limit"

log "checkouts: $checkouts at $rate/s on a use limit of $limit; Kafka stopped for ${outage}s after 6 s"
use_sale_load "$checkouts" "$rate" --retries 30
pre=$PRE
sleep 6
t_stop=$(now)
stack down kafka
t_down=$(now)
sleep "$outage"
t_up0=$(now)
stack up kafka
t_up=$(now)
log "kafka down $(python3 -c "print(round($t_up0 - $t_down, 1))")s"
use_sale_wait
ok=pass
ok2xx=$(python3 - "$pre.json" "$(python3 -c "print($t_down + 1)")" "$t_up0" <<'PY'
import json, sys
tl = json.load(open(sys.argv[1]))['timeline']
a, b = float(sys.argv[2]), float(sys.argv[3])
print(sum(r[1] for r in tl if a <= r[0] and r[0] + 0.1 <= b))
PY
)
s503=$(python3 - "$pre.json" "$t_stop" "$t_up" <<'PY'
import json, sys
tl = json.load(open(sys.argv[1]))['timeline']
a, b = float(sys.argv[2]), float(sys.argv[3])
print(sum(r[2] for r in tl if a <= r[0] and r[0] + 0.1 <= b))
PY
)
log "2xx while the broker was down: $ok2xx; 503s during the outage: $s503"
((ok2xx == 0)) || { log "a success answered while no broker could acknowledge"; ok=fail; }
((s503 > 0)) || { log "no 503 during the outage"; ok=fail; }
sleep 4
drain_s=$(wait_use_drain "$id" 120) || true
use_check_run "$id" "$pre" || ok=fail
result done="$checkouts checkouts at ${rate}/s on a use limit of $limit, 2 workers; Kafka stopped $(python3 -c "print(round($t_up0 - $t_down, 1))")s, then restarted" \
  requests="$(jget "$pre.json" requests)" statuses="$(use_statuses "$pre")" \
  answers_2xx_while_down="$ok2xx" answers_503_during_outage="$s503" \
  max_in_use="$(jget "$pre.json" max_in_use)" \
  recovery="no api restart; drained ${drain_s}s after the load"
finish "$ok"
