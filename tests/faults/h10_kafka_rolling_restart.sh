#!/usr/bin/env bash
# h10_kafka_rolling_restart -- all 3 brokers are restarted one after the
# other during the sale, as an upgrade would: `stack down kafkaN` (SIGTERM:
# a controlled shutdown that hands its partitions' leadership to in-sync
# followers first), `stack up kafkaN` (waits until it is in the metadata),
# then, before the next node, until every partition of the topic has its 3
# in-sync replicas again (bounded). While one broker is away the others
# hold min.insync 2, so produce goes on: the expectation is a 202 on every
# admission but for leadership moves and KRaft controller changes (a node
# is broker+controller), at most a few 503s, and 0 violations. The sale is
# paced so that the admissions span the whole restart (every request from a
# new user, sell-out near the end).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_kafka_ha.sh"
need couponq-api couponq-worker couponqctl

qty=$(size 2400 20000)
reqs=$((qty * 5 / 4))
rate=$(size 40 250)
sale_setup "$qty"
log "sale: $reqs requests from as many users at ${rate}/s for $qty coupons; rolling restart from 5% admitted"
load_bg "$id" "$reqs" "$reqs" "$rate" "$((reqs / rate + 120))" --timeout 30
wait_until 120 admitted_at_least "$id" $((qty / 20)) || die "the sale did not start"
T_FAULT=$(now)
steps=""
ok=pass
for n in kafka1 kafka2 kafka3; do
  t0=$(now)
  led=$(ha_led_by "$TOPIC" "$n")
  log "$n: SIGTERM (leads $led of 6 partitions) at $(admitted_of "$id") admitted"
  supervised stack down "$n" || log "stopping $n failed (see $WORK/stack.log)"
  down_s=$(elapsed "$t0")
  supervised stack up "$n" || { log "restarting $n failed (see $WORK/stack.log)"; ok=fail; }
  up_s=$(elapsed "$t0")
  if ! isr_wait "$TOPIC" 120; then
    log "$n: the topic's partitions not back to 3 in-sync replicas after 120 s: $(ha_partitions "$TOPIC" | tr '\n' ';')"
    ok=fail
  fi
  log "$n: stopped in ${down_s}s, up ${up_s}s after SIGTERM, ISR full ${ISR_WAIT_S}s later"
  steps+="$n ${down_s}/${up_s}/${ISR_WAIT_S}s; "
done
restart_s=$(elapsed "$T_FAULT")
adm_end=$(admitted_of "$id")
log "rolling restart done in ${restart_s}s with $adm_end of $qty admitted"
((adm_end < qty)) || log "the sale sold out before the rolling restart ended"
unknown_api=$(api_metric couponq_api_kafka_unknown_outcomes_total)
reproduced=$(api_metric couponq_api_kafka_reproduced_total)
sale_supervise
api_revive # an exit just after the load is counted (and restarted) too
repair_if_restarted "$id" || ok=fail
sale_result "$id" "$qty" "$ok" "$reqs requests (distinct users) at ${rate}/s for $qty coupons, 2 workers, RF 3 / min.insync 2; rolling restart (SIGTERM, up, ISR 3/3) of kafka1, kafka2, kafka3 from 5% admitted" \
  api_restarts="$API_RESTARTS" rolling_restart_s="$restart_s" admitted_when_restart_done="$adm_end" \
  steps_down_up_isr="${steps%; }" ambiguous_answers="$(jget "$PRE.json" "result.get('ambiguous', 0)")" \
  unknown_outcomes_api="${unknown_api:-n/a}" reproduced_api="${reproduced:-n/a}"
