#!/usr/bin/env bash
# h04_kafka_leader_kill9 -- the broker leading partition 0 of the sale's
# topic is SIGKILLed mid-sale and restarted 5 s later. Its partitions'
# leadership moves to the in-sync followers (RF 3, min.insync 2); the api
# keeps admitting after at most a short 503 window. A 202 means the event
# is on 2 brokers (acks=all), so the kill loses none. If librdkafka 2.0.2's
# idempotent producer goes fatal (upstream #4438), the api drains (503s,
# admissions rolled back or kept as unknown) and exits 1; the scenario then
# restarts it, as a supervisor would, and says so.
source "$(dirname "$0")/lib.sh"
need couponq-api couponq-worker couponqctl

rate=$(size 200 2000)
qty=$(size 2000 20000)
sale_setup "$qty"
sale_to_40 "$qty" "$rate"
leader=$(ha_leader "$TOPIC" 0) || die "no leader for $TOPIC/0"
log "SIGKILL of $leader (leader of $TOPIC/0) at $(admitted_of "$id") admitted"
T_FAULT=$(now)
kill -KILL "$(ha_pid "$leader")"
restarts=0
for ((i = 0; i < 25; i++)); do
  if ! kill -0 "$(api_pid)" 2>/dev/null; then
    restarts=$((restarts + 1))
    log "couponq-api exited ($(grep -o 'fatal[^"]*' "$WORK/api.log" | tail -n 1)); restarting it"
    api_start
  fi
  sleep 0.2
done
stack up "$leader" || log "restarting $leader failed (see $WORK/stack.log)"
log "$leader restarted after $(elapsed "$T_FAULT")s"
sale_wait
if ! kill -0 "$(api_pid)" 2>/dev/null; then restarts=$((restarts + 1)); fi
sale_result "$id" "$qty" pass "sale of $qty at ${rate}/s, 2 workers, RF 3 / min.insync 2; $leader (leader of partition 0) SIGKILLed at 40%, restarted after 5 s" \
  api_restarts="$restarts"
