#!/usr/bin/env bash
# api_redemption_inflight.sh -- --redemption-inflight: while that many
# use.lua batches are sent and not answered, couponq-api holds the calls
# made meanwhile and sends them together when one is answered, on a private
# redis-server A reached through redis_proxy.py (P), whose SIGUSR1 holds
# A's answers (the commands still reach A):
#  - inflight 1: a hold is sent and its answer held; 39 more holds reach
#    the api meanwhile. A has run 1 EVALSHA (none of the 39 was sent); once
#    the answers go on, all 40 are 201 and A ran exactly 2 EVALSHA: the
#    first, then one batch of the 39;
#  - inflight 0 (no limit, the api before the flag): the same 39 holds are
#    sent while the first answer is held, each loop iteration's calls in
#    their own EVALSHA (A runs more than 1): what the test tells apart;
#  - calls held when the connection drops are answered 503 at once, and the
#    api serves again on the next connection;
#  - the default is 2 (the start line), and 65 is refused (exit 2).
# Every wait polls with a bound; the one wait for nothing to happen (the 39
# not sent) can only let the old code pass, never fail the new.
#
# Proves api/redemption.c's in-flight limit: with the api before it this
# test fails at the start (unknown option --redemption-inflight, exit 2).
source "$(dirname "$0")/../lib.sh"

private_proxied

C=$(private_use_coupon "$RA")
acli HSET "$(ckey "$C" use)" limit 1000 >/dev/null
acli SADD "$(ckey "$C" issued)" $(seq 101 240) >/dev/null
TOPIC=$(new_topic api_redemption_inflight)
RTOPIC=$(new_topic api_redemption_inflight_use)
evalsha() { acli INFO commandstats | tr -d '\r' | sed -n 's/^cmdstat_evalsha:calls=\([0-9]*\),.*/\1/p' | grep . || echo 0; }
holds() { acli ZCARD "$(ckey "$C" use:holds)"; }
# hold_bg USER ORDER -- a hold in the background; its status goes to $TEST_TMP/h.USER
hold_bg() {
  curl -s -m 60 -o /dev/null -w '%{http_code}\n' -H 'Content-Type: application/json' \
    --data "{\"user_id\":$1,\"order_id\":\"$2\",\"order_amount\":30000}" \
    "http://127.0.0.1:$API_PORT/v1/coupons/$C/redemptions" >"$TEST_TMP/h.$1" 2>/dev/null &
  HOLD_PIDS+=($!)
}
# round FIRST: one hold of user FIRST sent and its answer held, then 39 more
# (FIRST+1..FIRST+39) reach the api; leaves A's answers held
round() {
  HOLD_PIDS=()
  acli CONFIG RESETSTAT >/dev/null
  kill -USR1 "$PROXY"
  hold_bg "$1" "o-$1"
  wait_eq evalsha 1 "the first hold reached A" 30
  for ((u = $1 + 1; u < $1 + 40; u++)); do hold_bg "$u" "o-$u"; done
  wait_eq "metric_value $API_ADMIN_PORT couponq_api_inflight" 40 "the 40 holds in the api" 30
}
answers() { for ((u = $1; u < $1 + 40; u++)); do cat "$TEST_TMP/h.$u"; done | sort | uniq -c | awk '{ printf "%s:%s ", $2, $1 }'; }
wait_holds() { for p in "${HOLD_PIDS[@]}"; do wait "$p" || true; done; }

log "the default is 2; 65 is refused"
api_up api0 --topic "$TOPIC" --redemption-topic "$RTOPIC" --redis "redis://127.0.0.1:$PA"
assert_contains "$(cat "$TEST_TMP/api0.log")" "redemption_inflight=2 " "the default on the start line"
proc_stop api0
rc=0
"$API_BIN" --redemption-inflight 65 >"$TEST_TMP/bad.log" 2>&1 || rc=$?
assert_eq 2 "$rc" "--redemption-inflight 65: $(cat "$TEST_TMP/bad.log")"

log "inflight 1: the 39 holds made while the first is out wait in the api, then go as one batch"
COUPONQ_API_REDEMPTION_INFLIGHT=1 api_up api1 --topic "$TOPIC" --redemption-topic "$RTOPIC" \
  --redis "redis://127.0.0.1:$PA" --redis-timeout-ms 10000 --timeout-ms 25000
assert_contains "$(cat "$TEST_TMP/api1.log")" "redemption_inflight=1 " "the env sets it"
round 101
sleep 1 # nothing may reach A meanwhile (the old api sends within this)
assert_eq 1 "$(evalsha)" "EVALSHA run by A while the first answer is held"
kill -USR1 "$PROXY"
wait_holds
assert_eq "201:40 " "$(answers 101)" "every hold answered"
assert_eq 2 "$(evalsha)" "EVALSHA for the 40 holds (the first, then one batch)"
assert_eq 40 "$(holds)" "live holds"

log "a connection lost with calls held answers them 503 at once"
round 141
kill -USR2 "$PROXY" # reset every connection; new ones refused
wait_holds
a=$(answers 141)
[[ $a == "503:39 " || $a == "503:40 " ]] || fail "answers with the connection lost: $a"
kill -USR1 "$PROXY" # hold answers no more
kill -USR2 "$PROXY" # connections accepted again
wait_healthy "$API_PORT"
h=$(holds)
[[ $h == 40 || $h == 41 ]] || fail "live holds after the lost connection: $h (the 39 held must not have run)"
HOLD_PIDS=()
hold_bg 190 o-190
wait_holds
assert_eq 201 "$(cat "$TEST_TMP/h.190")" "a hold on the new connection"
proc_stop api1

log "inflight 0 (no limit): the same holds are sent while the first answer is held"
api_up api2 --topic "$TOPIC" --redemption-topic "$RTOPIC" --redis "redis://127.0.0.1:$PA" \
  --redemption-inflight 0 --redis-timeout-ms 10000 --timeout-ms 25000
round 201
wait_for '[[ $(evalsha) -gt 1 ]]' 30 || fail "inflight 0 sent nothing while the first answer was held"
kill -USR1 "$PROXY"
wait_holds
assert_eq "201:40 " "$(answers 201)" "every hold answered"
log "ok"
