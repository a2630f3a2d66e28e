#!/usr/bin/env bash
# h05_kafka_two_down -- 2 of the 3 brokers are SIGKILLed mid-sale: no
# partition can reach min.insync.replicas=2, so produce fails
# (NOT_ENOUGH_REPLICAS or timeouts): the api answers 503 with the admission
# rolled back (or, for an outcome Kafka cannot tell, kept and re-sent), no
# 202 while they are down, and the sale resumes by itself once they are
# back.
source "$(dirname "$0")/lib.sh"
need couponq-api couponq-worker couponqctl

rate=$(size 200 2000)
qty=$(size 2000 20000)
down=$(size 8 20)
sale_setup "$qty"
sale_to_40 "$qty" "$rate"
log "SIGKILL of kafka2 and kafka3 at $(admitted_of "$id") admitted, for ${down}s"
T_FAULT=$(now)
kill -KILL "$(ha_pid kafka2)" "$(ha_pid kafka3)"
sleep "$down"
t_back=$(now)
stack up kafka2 kafka3 || log "restarting the brokers failed (see $WORK/stack.log)"
restarts=0
if ! kill -0 "$(api_pid)" 2>/dev/null; then
  restarts=1
  log "couponq-api exited (fatal producer); restarting it"
  api_start
fi
sale_wait
# Requests sent while only one broker lived (after a 2 s grace for acks in
# flight at the kill) must not have been answered 202.
during=$(sent202_in "$PRE" "$(python3 -c "print($T_FAULT + 2)")" "$t_back")
ok=pass
((during == 0)) || { log "$during requests sent with one broker alive were answered 202"; ok=fail; }
sale_result "$id" "$qty" "$ok" "sale of $qty at ${rate}/s, 2 workers; kafka2+kafka3 SIGKILLed for ${down}s (1 of 3 brokers left, min.insync 2)" \
  requests_sent_while_down_answered_202="$during" api_restarts="$restarts"
