#!/usr/bin/env bash
# h12_use_redis_failover -- the replicated stack, during checkouts: the
# Redis primary is SIGKILLed; the sentinels promote a replica, which may
# lag the primary by the last writes. The new replication id fences
# use.lua (503) until the guard has rebuilt the coupon's redemption state
# from MySQL and the events the workers have not consumed yet, so budget
# that a lost hold or confirm still owns is never handed out again. The api
# runs with --redis-min-replicas 1: a success answer had its transition on
# a replica before the kill. The guard also finishes the budget releases
# the failover lost (see below); reconcile without --repair then finds
# nothing. Checked as the single-stack scenarios are, with the sampler
# following the primary the sentinels name.
source "$(dirname "$0")/lib.sh"
need couponq-api couponq-worker couponqctl

checkouts=$(size 3000 30000)
limit=$(size 800 8000)
rate=$(size 150 600)
API_ARGS="--redis-min-replicas 1"
use_sale_setup "$checkouts" "$limit"

old=$(ha_node redis)
log "checkouts: $checkouts at $rate/s on a use limit of $limit; primary $old SIGKILLed after 8 s"
use_sale_load "$checkouts" "$rate" --conns 32 --retries 40
pre=$PRE
sleep 8
T_FAULT=$(now)
kill -KILL "$(ha_pid "$old")"
moved() { local n; n=$(ha_node redis) && [[ $n != "$old" ]]; }
wait_until 30 moved || die "no failover within 30 s"
t_promoted=$(now)
new=$(ha_node redis)
log "failover $old -> $new after $(elapsed "$T_FAULT")s"
stack up "$old" || log "restarting $old failed (see $WORK/stack.log)"
use_sale_wait
sleep 4
drain_s=$(wait_use_drain "$id" 180) || true
lifted=$(grep -c 'verified against the event log' "$WORK/guard.log" || true)
# A finish (the budget a cancel or a give-back reversal releases) that was
# in flight at the kill, or acknowledged by the old primary but not yet
# replicated, is lost with it while its transition may have reached the
# replica: the new primary would hold that budget for ever (the safe
# direction: never over the limit). The fence guard finishes each such
# release whose event is in MySQL or the topic before it lifts the fence
# (the api finishes only after Kafka's acknowledgement), so no operator
# repair is needed: reconcile without --repair must find nothing, and the
# checker demands Redis = MySQL exactly.
finished=$(guard_finished "$id")
ok=pass
use_reconcile_clean "$id" || ok=fail
log "the guard finished $finished lost finish(es); reconcile: $ok"
use_check_run "$id" "$pre" || ok=fail
result done="$checkouts checkouts at ${rate}/s on a use limit of $limit, 2 workers, Sentinel URL, --redis-min-replicas 1; primary $old SIGKILLed, $new promoted" \
  requests="$(jget "$pre.json" requests)" statuses="$(use_statuses "$pre")" \
  max_in_use="$(jget "$pre.json" max_in_use)" fence_repairs="$lifted" finishes_repaired="$finished" \
  recovery="failover $(python3 -c "print(round($t_promoted - $T_FAULT, 1))")s; drained ${drain_s}s after the load"
finish "$ok"
