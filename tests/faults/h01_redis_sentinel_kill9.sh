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
old=$(ha_node redis)
log "sale: $reqs requests at $rate/s for $qty coupons; primary $old SIGKILLed at 40%"
sale_setup "$qty"
load_bg "$id" "$reqs" "$users" "$rate" "$((secs + 90))" --timeout 30
pre=$PRE
wait_40 "$qty"
before=$(admitted_of "$id")
t_kill=$(now)
kill -KILL "$(ha_pid "$old")"
wait_until 30 redis_moved "$old" || die "no failover within 30 s"
t_promoted=$(now)
new=$(ha_node redis)
log "failover $old -> $new after $(elapsed "$t_kill")s; $before admitted before, $(admitted_of "$id") on $new"
stack up "$old" || log "restarting $old failed (see $WORK/stack.log)"

sale_wait
rec=$(first_202_after "$pre" "$t_kill")
s503=$(count_in "$pre" 1 "$t_kill" "$(now)")
lifted=$(grep -c 'verified against the event log' "$WORK/guard.log" || true)
drain_s=$(wait_drain "$id" "$(size 120 600)") || true
ok=pass
[[ $rec != never ]] || { log "admission did not resume"; ok=fail; }
check "$id" "$qty" "$pre" || ok=fail
load_result "$pre" done="$reqs requests at ${rate}/s for $qty coupons, 2 workers, Sentinel URL, --redis-min-replicas 1; primary $old SIGKILLed at $before admitted, $new promoted" \
  answers_503_after_kill="$s503" fence_repairs="$lifted" \
  recovery="failover $(python3 -c "print(round($t_promoted - $t_kill, 1))")s; first 202 ${rec}s after the kill; drained ${drain_s}s after the sale"
finish "$ok"
