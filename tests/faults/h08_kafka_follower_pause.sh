#!/usr/bin/env bash
# h08_kafka_follower_pause -- a broker that FOLLOWS partition 0 of the sale's
# topic (not its leader; not the active controller when another follower
# can be chosen) is SIGSTOPped mid-sale for longer than the api's message
# timeout (3 s: --timeout-ms 5000 minus 2 x --redis-timeout-ms 1000), then
# SIGCONT. With RF 3 every partition has it as a replica, so while it is in
# the ISR acks=all waits for it: produce stalls everywhere, in-flight events
# time out with an unknown outcome (503 "outcome unknown", admission kept,
# the same event re-produced) and queued ones are rolled back (plain 503).
# The ISR shrinks when the leader stops seeing it fetch
# (replica.lag.time.max.ms, Kafka's default 30 s; scripts/stack does not set
# it) or when the controller fences it (broker.session.timeout.ms, default
# 9 s after its last heartbeat, which came up to 2 s before the SIGSTOP):
# quick pauses 8 s (around the fence: it may or may not come), full 35 s
# (both). Produce then resumes on the 2 remaining in-sync replicas
# (min.insync 2), and the follower rejoins the ISRs after SIGCONT. The
# scenario records when partition 0's ISR lost the follower, how long until
# all partitions are fully in sync again, and the ambiguous outcomes.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_kafka_ha.sh"
need couponq-api couponq-worker couponqctl

rate=$(size 200 1000)
qty=$(size 2000 20000)
pause=$(size 8 35)
sale_coupon "$qty"
ctrl=$(ha_controller) || ctrl=unknown
read -r _ lid replicas _ < <(ha_partitions "$TOPIC" | awk '$1 == 0') || die "no metadata for $TOPIC/0"
leader=kafka$lid
follower=""
for r in ${replicas//,/ }; do
  [[ kafka$r == "$leader" ]] && continue
  if [[ -z $follower || $follower == "$ctrl" ]]; then follower=kafka$r; fi
done
[[ -n $follower ]] || die "no follower of $TOPIC/0 (replicas $replicas)"
mapfile -t others < <(ha_others "$follower")
led_before=$(ha_led_by "$TOPIC" "$follower")
log "partition 0: leader $leader, replicas $replicas; controller $ctrl; pausing follower $follower (leads $led_before of 6 partitions)"

sale_procs
sale_to_40 "$qty" "$rate"
isr_shrunk=never
led_during=$led_before
# while paused: when partition 0's ISR drops the follower
watch_isr() {
  [[ $isr_shrunk == never ]] || return 0
  isr=$(ha_isr_of "$TOPIC" 0 "${others[@]}")
  if [[ -n $isr && ,$isr, != *,${follower#kafka},* ]]; then
    isr_shrunk=$(elapsed "$T_FAULT")
    led_during=$(ha_led_by "$TOPIC" "$follower" "${others[@]}")
    log "partition 0's ISR is $isr after ${isr_shrunk}s ($follower now leads $led_during partitions)"
  fi
}
kafka_pause "$follower" "$pause" watch_isr
isr_back=$ISR_WAIT_S
reproduce_settle
sale_supervise
rec=$(first_202_after "$PRE" "$t_cont")
api_revive # an exit just after the load is counted (and restarted) too
ok=pass
repair_if_restarted "$id" || ok=fail
sale_result "$id" "$qty" "$ok" "sale of $qty at ${rate}/s, 2 workers, RF 3 / min.insync 2; follower $follower of partition 0 (leader $leader, controller $ctrl) SIGSTOPped ${pause}s at 40%, then SIGCONT" \
  api_restarts="$API_RESTARTS" paused="$follower" leader_p0="$leader" controller="$ctrl" \
  isr_p0_shrunk_after_s="$isr_shrunk" partitions_led_by_paused="$led_before->$led_during" \
  isr_full_after_sigcont_s="$isr_back" reproduce_settled_after_sigcont_s="$settle" \
  first_202_after_sigcont_s="$rec" ambiguous_answers="$(jget "$PRE.json" "result.get('ambiguous', 0)")" \
  unknown_outcomes_api="${unknown_api:-n/a}" reproduced_api="${reproduced:-n/a}"
