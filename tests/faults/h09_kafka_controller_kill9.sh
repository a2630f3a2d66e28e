#!/usr/bin/env bash
# h09_kafka_controller_kill9 -- the active KRaft controller (the metadata
# quorum's leader, LeaderId of MetadataQuorumCommand; every node of
# scripts/stack --ha is broker+controller) is SIGKILLed mid-sale and
# restarted 5 s later with `stack up`. The 2 remaining voters elect a new
# quorum leader (controller.quorum.election.timeout.ms); the killed node's
# broker also goes, so the partitions it led move to in-sync followers when
# the new controller fences it (broker.session.timeout.ms), as in h04. A 202
# is still on 2 brokers (acks=all, min.insync 2): no loss, a short 503
# window, and the node rejoins the quorum and the ISRs on restart.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_kafka_ha.sh"
need couponq-api couponq-worker couponqctl

rate=$(size 200 2000)
qty=$(size 2000 20000)
sale_coupon "$qty"
ctrl=$(ha_controller) || die "MetadataQuorumCommand gave no LeaderId (see $WORK/tools.err)"
p0=$(ha_leader "$TOPIC" 0) || p0=unknown
led=$(ha_led_by "$TOPIC" "$ctrl")
log "active controller: $ctrl (leads $led of 6 partitions; partition 0 led by $p0)"
mapfile -t others < <(ha_others "$ctrl")
survivors="127.0.0.1:$(ha_kport "${others[0]}"),127.0.0.1:$(ha_kport "${others[1]}")"

sale_procs
sale_to_40 "$qty" "$rate"
cpid=$(ha_pid "$ctrl") || die "no pid for $ctrl"
log "SIGKILL of $ctrl ($cpid, the active controller) at $(admitted_of "$id") admitted"
T_FAULT=$(now)
kill -KILL "$cpid"
# Who leads the quorum now (one JVM, in the background, asked of the survivors).
ha_controller "$survivors" >"$WORK/controller_after_kill" &
q_pid=$!
api_watch 5
supervised stack up "$ctrl" || log "restarting $ctrl failed (see $WORK/stack.log)"
up_s=$(elapsed "$T_FAULT")
log "$ctrl restarted ${up_s}s after the kill"
wait "$q_pid" || true
new_ctrl=$(cat "$WORK/controller_after_kill")
log "controller after the kill: ${new_ctrl:-unknown}"
isr_wait "$TOPIC" 120 || log "partitions not fully in sync 120 s after the restart: $(ha_partitions "$TOPIC" | tr '\n' ';')"
isr_back=$(elapsed "$T_FAULT")
log "all partitions back to 3 in-sync replicas ${isr_back}s after the kill"
unknown_api=$(api_metric couponq_api_kafka_unknown_outcomes_total)
reproduced=$(api_metric couponq_api_kafka_reproduced_total)
sale_supervise
ctrl_end=$(ha_controller) || ctrl_end=unknown
api_revive # an exit just after the load is counted (and restarted) too
ok=pass
repair_if_restarted "$id" || ok=fail
sale_result "$id" "$qty" "$ok" "sale of $qty at ${rate}/s, 2 workers, RF 3 / min.insync 2; active KRaft controller $ctrl (leader of $led partitions) SIGKILLed at 40%, restarted after 5 s" \
  api_restarts="$API_RESTARTS" killed="$ctrl" back_up_after_s="$up_s" leader_p0_before="$p0" partitions_led_by_killed="$led" \
  controller_after_kill="${new_ctrl:-unknown}" controller_at_end="$ctrl_end" \
  isr_full_after_kill_s="$isr_back" ambiguous_answers="$(jget "$PRE.json" "result.get('ambiguous', 0)")" \
  unknown_outcomes_api="${unknown_api:-n/a}" reproduced_api="${reproduced:-n/a}"
