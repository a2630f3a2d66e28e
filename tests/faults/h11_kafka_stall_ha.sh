#!/usr/bin/env bash
# h11_kafka_stall_ha -- 10_kafka_stall on the replicated stack: the broker
# leading partition 0 of the sale's topic is SIGSTOPped mid-sale for longer
# than the api's message timeout (3 s: --timeout-ms 5000 minus 2 x
# --redis-timeout-ms 1000), then SIGCONT. Produce requests already on its
# socket are appended when it resumes, so their timeouts are unknown
# outcomes: the api keeps those admissions, answers 503 "outcome unknown"
# and re-produces the same event until acknowledged. Partitions it does not
# lead stall too while it is in their ISR (acks=all). A stalled broker is
# not dead: the controller moves its leadership only once it fences it
# (broker.session.timeout.ms, Kafka's default 9 s; sooner nothing moves),
# and if it was the active controller the quorum elects another first --
# the scenario records which happened. Quick stalls 6 s, full 10 s. The
# checker then proves the same invariants as after 10_kafka_stall.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_kafka_ha.sh"
need couponq-api couponq-worker couponqctl

rate=$(size 200 2000)
qty=$(size 2000 20000)
stall=$(size 6 10)
sale_coupon "$qty"
ctrl=$(ha_controller) || ctrl=unknown
leader=$(ha_leader "$TOPIC" 0) || die "no leader for $TOPIC/0"
mapfile -t others < <(ha_others "$leader")
led_before=$(ha_led_by "$TOPIC" "$leader")
log "partition 0 led by $leader (leads $led_before of 6 partitions); active controller $ctrl"

sale_procs
sale_to_40 "$qty" "$rate"
moved=no
p0_during=$leader
# while stalled: when partition 0's leadership moves
watch_leader() {
  [[ $moved == no ]] || return 0
  l=$(ha_partitions "$TOPIC" "${others[@]}" | awk '$1 == 0 { print $2 }')
  if [[ -n $l && kafka$l != "$leader" ]]; then
    moved="after $(elapsed "$T_FAULT")s"
    p0_during=kafka$l
    log "partition 0's leadership moved to $p0_during $moved"
  fi
}
kafka_pause "$leader" "$stall" watch_leader
reproduce_settle
p0_after=$(ha_leader "$TOPIC" 0) || p0_after=unknown
ctrl_after=$(ha_controller) || ctrl_after=unknown
log "after: partition 0 led by $p0_after, controller $ctrl_after; api unknown outcomes ${unknown_api:-n/a}, re-produced ${reproduced:-n/a}, re-produces acknowledged ${settle}s after SIGCONT"
sale_supervise
rec=$(first_202_after "$PRE" "$t_cont")
api_revive # an exit just after the load is counted (and restarted) too
ok=pass
repair_if_restarted "$id" || ok=fail
s503=$(count_in "$PRE" 1 "$T_FAULT" "$(now)")
((s503 > 0)) || { log "no 503 after the stall began: it did not outlast the message timeout"; ok=fail; }
amb=$(jget "$PRE.json" "result.get('ambiguous', 0)")
((amb > 0)) || log "no 'outcome unknown' answer: nothing was in flight to $leader when it stopped"
sale_result "$id" "$qty" "$ok" "sale of $qty at ${rate}/s, 2 workers, RF 3 / min.insync 2; $leader (leader of partition 0, controller $ctrl) SIGSTOPped ${stall}s at 40%, then SIGCONT" \
  api_restarts="$API_RESTARTS" stalled="$leader" controller_before="$ctrl" controller_after="$ctrl_after" \
  leader_p0_moved_during_stall="$moved" leader_p0_after="$p0_after" \
  isr_full_after_sigcont_s="$ISR_WAIT_S" reproduce_settled_after_sigcont_s="$settle" \
  first_202_after_sigcont_s="$rec" ambiguous_answers="$amb" \
  unknown_outcomes_api="${unknown_api:-n/a}" reproduced_api="${reproduced:-n/a}"
