#!/usr/bin/env bash
# h01_redis_sentinel_kill9 -- the replicated stack: the Redis primary is
# SIGKILLed mid-sale; the sentinels promote a replica (the one with the
# highest offset), the api follows (+switch-master / re-resolution), the
# new primary's replication id fences the coupon until the guard verified
# the admitted set against the event log, then the sale sells out exactly.
# The api runs with --redis-min-replicas 1, so a 202 always had its
# admission on a replica before the kill.
source "$(dirname "$0")/lib.sh"
need couponq-api couponq-worker couponqctl

rate=$(size 200 2000)
qty=$(size 2000 20000)
reqs=$((qty * 3))
users=$((reqs * 3 / 4))
secs=$((reqs / rate))
API_ARGS="--redis-min-replicas 1"
sale_setup "$qty"

pre=$WORK/load
old=$(ha_node redis)
log "sale: $reqs requests at $rate/s for $qty coupons; primary $old SIGKILLed at 40%"
load "$pre" --coupon "$id" --requests "$reqs" --users "$users" --user-base "$((id * 10))" \
  --conns 64 --rate "$rate" --timeout 30 --max-seconds "$((secs + 90))" &
load_pid=$!
wait_until 120 admitted_at_least "$id" $((qty * 2 / 5)) || die "the sale did not start"
before=$(admitted_of "$id")
t_kill=$(now)
kill -KILL "$(ha_pid "$old")"
moved() { local n; n=$(ha_node redis) && [[ $n != "$old" ]]; }
wait_until 30 moved || die "no failover within 30 s"
t_promoted=$(now)
new=$(ha_node redis)
log "failover $old -> $new after $(elapsed "$t_kill")s; $before admitted before, $(admitted_of "$id") on $new"
stack up "$old" || log "restarting $old failed (see $WORK/stack.log)"

wait "$load_pid" || die "load client failed: $(tail -n 3 "$pre.err")"
rec=$(first_202_after "$pre" "$t_kill")
s503=$(count_in "$pre" 1 "$t_kill" "$(now)")
lifted=$(grep -c 'verified against the event log' "$WORK/guard.log" || true)
drain_s=$(wait_drain "$id" "$(size 120 600)") || true
ok=pass
[[ $rec != never ]] || { log "admission did not resume"; ok=fail; }
check "$id" "$qty" "$pre" || ok=fail
result done="$reqs requests at ${rate}/s for $qty coupons, 2 workers, Sentinel URL, --redis-min-replicas 1; primary $old SIGKILLed at $before admitted, $new promoted" \
  requests="$(jget "$pre.json" requests)" accepted="$(jget "$pre.json" "status.get('202', 0)")" \
  statuses="$(jget "$pre.json" "' '.join(k+':'+str(v) for k,v in status.items())")" \
  answers_503_after_kill="$s503" fence_repairs="$lifted" \
  recovery="failover $(python3 -c "print(round($t_promoted - $t_kill, 1))")s; first 202 ${rec}s after the kill; drained ${drain_s}s after the sale"
finish "$ok"
