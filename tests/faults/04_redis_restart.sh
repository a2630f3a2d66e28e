#!/usr/bin/env bash
# 04_redis_restart -- Redis shut down (AOF fsynced) and restarted during a
# sale that sells out after the restart. While Redis is down the api answers
# 503 at once and admits nothing; afterwards admission resumes by itself
# from the AOF-restored sets: no user admitted twice, no oversell, every 202
# a row.
source "$(dirname "$0")/lib.sh"
need couponq-api couponq-worker

rate=$(size 1000 3000)
secs=$(size 30 60)
reqs=$((rate * secs))
users=$((reqs * 3 / 4))
qty=$((reqs / 2))
down=5
sale_setup "$qty"

pre=$WORK/load
log "sale: $reqs requests at $rate/s for $qty coupons; Redis restarted after 8 s"
load "$pre" --coupon "$id" --requests "$reqs" --users "$users" --user-base "$((id * 10))" \
  --conns 64 --rate "$rate" --timeout 30 --max-seconds "$((secs + 60))" &
load_pid=$!
sleep 8
before=$(admitted_of "$id")
t_stop=$(now)
stack down redis
t_down=$(now)
health=$(curl -s -o /dev/null -w '%{http_code}' -m 5 "http://127.0.0.1:$API_PORT/healthz" || true)
sleep "$(python3 -c "print(max(0, $down - ($(now) - $t_down)))")"
t_up0=$(now)
stack up redis
t_up=$(now)
after=$(admitted_of "$id")
log "Redis restarted: admitted $before before, $after after the AOF reload; /healthz while down: $health"
wait "$load_pid" || die "load client failed: $(tail -n 3 "$pre.err")"
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
result done="$reqs requests at ${rate}/s for $qty coupons (sells out after the restart), 2 workers; Redis shut down $(python3 -c "print(round($t_up0 - $t_down, 1))")s mid-sale and restarted from its AOF" \
  requests="$(jget "$pre.json" requests)" accepted="$(jget "$pre.json" "status.get('202', 0)")" \
  statuses="$(jget "$pre.json" "' '.join(k+':'+str(v) for k,v in status.items())")" \
  admitted_before_after_restart="$before/$after" requests_sent_while_down_answered_202="$during" answers_503="$s503" healthz_while_down="$health" \
  recovery="first 202 ${rec}s after Redis was back (no api restart); drained ${drain_s}s after the sale"
finish "$ok"
