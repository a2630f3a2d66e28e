#!/usr/bin/env bash
# h03_redis_planned_failover -- the control: SENTINEL FAILOVER mid-sale
# (an operator's switchover). Nothing is lost; the new primary's
# replication id fences the coupon for the guard's wait (seconds), then
# the sale sells out exactly.
source "$(dirname "$0")/lib.sh"
need couponq-api couponq-worker couponqctl

rate=$(size 200 2000)
qty=$(size 2000 20000)
API_ARGS="--redis-min-replicas 1"
old=$(ha_node redis)
log "sale of $qty at $rate/s; SENTINEL FAILOVER at 40% (primary $old)"
sale_setup "$qty"
sale_to_40 "$qty" "$rate"
before=$(admitted_of "$id")
T_FAULT=$(now)
redis-cli -p "$((COUPONQ_HA_BASE + 11))" SENTINEL FAILOVER couponq >/dev/null
wait_until 30 redis_moved "$old" || die "no switchover within 30 s"
new=$(ha_node redis)
after=$(admitted_of "$id")
log "switchover $old -> $new in $(elapsed "$T_FAULT")s; admitted $before before, $after on $new"
sale_wait
ok=pass
((after >= before)) || { log "the switchover lost admissions ($before -> $after)"; ok=fail; }
sale_result "$id" "$qty" "$ok" "sale of $qty at ${rate}/s, 2 workers; SENTINEL FAILOVER $old -> $new at $before admitted" \
  admitted_before_after="$before/$after"
