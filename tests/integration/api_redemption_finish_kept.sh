#!/usr/bin/env bash
# api_redemption_finish_kept.sh -- a finish that Redis refused is kept by
# couponq-api and sent again on a new connection, so a cancelled hold's
# budget and the user's use come back without waiting for the hold's
# expiry, on a private redis-server A reached through redis_proxy.py (P):
#  - a hold (201), then its cancel: P holds A's answers until A has the
#    cancel, then A is set to refuse writes (min-replicas-to-write 1, no
#    replica: NOREPLICAS, a Redis error, not use.lua's refusal) and the
#    answers go on; the cancel's event is acknowledged, the api answers 200
#    and sends finish, which A refuses: the finish is kept, and the hold
#    still counts. NOREPLICAS also makes the api drop the connection (as
#    READONLY does); each new connection sends the finish again, refused
#    again while A refuses writes, so it stays kept;
#  - A accepts writes again: on the next connection (the api's backoff
#    reaches 2 s) the kept finish frees the hold: its member leaves
#    use:holds, the record's p goes to 0, the user can hold again (201);
#  - the kept/re-sent metrics count it; a second finish kept the same way
#    is logged when the api exits with it.
# Every wait polls with a bound.
#
# Proves the kept finish (api/redemption.c, api/redemption_kept.c): before
# it the api logged "finish failed" and forgot the finish, and this test
# failed at "the refused finish is kept" (no series
# couponq_api_redemption_finishes_kept: it logged "finish failed: the
# budget stays held" once and sent nothing again).
source "$(dirname "$0")/../lib.sh"

private_proxied

C=$(private_use_coupon "$RA")
TOPIC=$(new_topic api_redemption_finish_kept)
RTOPIC=$(new_topic api_redemption_finish_kept_use)
post() {
  curl -s -m 60 -w '\n%{http_code}' -H 'Content-Type: application/json' --data "$2" "http://127.0.0.1:$PORT$1" |
    { read -r body; read -r code; echo "$code $body"; }
}
hold() { post "/v1/coupons/$C/redemptions" "{\"user_id\":$1,\"order_id\":\"$2\",\"order_amount\":30000}"; }
rid_of() { sed -n 's/.*"redemption_id":"\([0-9A-Z]\{26\}\)".*/\1/p' <<<"$1"; }
rec() { acli HGET "$(ckey "$C" use:recs)" "$1"; }
score() { acli ZSCORE "$(ckey "$C" use:holds)" "$1"; }
# cancel RID: answered 200 while A refuses the finish that follows
cancel_refused() {
  kill -USR1 "$PROXY" # hold A's answers: the finish comes after them
  echo "$(post "/v1/redemptions/$1/cancel" '{}')" >"$TEST_TMP/cancel.out" &
  local pid=$!
  wait_for "rec $1 | grep -q '\"s\":\"released\"'" 30 || fail "A has no cancel of $1"
  acli CONFIG SET min-replicas-to-write 1 >/dev/null
  kill -USR1 "$PROXY"
  wait_for "! kill -0 $pid" 30 || fail "no answer to the cancel within 30 s"
  wait "$pid" || true
  assert_eq 200 "$(cut -d' ' -f1 "$TEST_TMP/cancel.out")" "cancel: $(cat "$TEST_TMP/cancel.out")"
}

api_up api1 --topic "$TOPIC" --redemption-topic "$RTOPIC" --redis "redis://127.0.0.1:$PA" \
  --redis-timeout-ms 10000 --timeout-ms 25000
PORT=$API_PORT
MPORT=$API_ADMIN_PORT

log "a hold, its cancel answered 200, its finish refused by Redis (NOREPLICAS)"
out=$(hold 11 o-1)
assert_eq 201 "${out%% *}" "hold: $out"
R1=$(rid_of "$out")
cancel_refused "$R1"
wait_eq "metric_value $MPORT couponq_api_redemption_finishes_kept" 1 "the refused finish is kept" 30
assert_contains "$(cat "$TEST_TMP/api1.log")" "finish failed: kept" "the failure logged as kept"
wait_log api1 "kept finish sent again: failed, kept" 30
assert_contains "$(rec "$R1")" '"p":1' "the record waits for its finish"
[[ -n $(score "$R1") ]] || fail "the cancelled hold no longer counts before its finish"
assert_metric "$(metrics "$MPORT")" couponq_api_redemption_finish_failures_total 0 "a kept finish is no failure"

log "A accepts writes again: a new connection sends the kept finish again"
acli CONFIG SET min-replicas-to-write 0 >/dev/null
wait_eq "score $R1" "" "the re-sent finish removed the cancelled hold" 30
assert_contains "$(rec "$R1")" '"p":0' "the record finished"
wait_eq "metric_value $MPORT couponq_api_redemption_finishes_resent_finished_total" 1 "the re-send counted as finishing" 30
m=$(metrics "$MPORT")
assert_metric "$m" couponq_api_redemption_finishes_kept 0 "nothing kept any more"
assert_metric "$m" couponq_api_redemption_finishes_resent_total 1 "one re-send answered"
assert_metric "$m" couponq_api_redemption_finishes_dropped_total 0 "none dropped"
assert_metric "$m" couponq_api_redemption_finish_failures_total 0 "no finish failed"
assert_metric "$m" couponq_api_redemption_undos_kept 0 "no undo kept"
assert_contains "$(cat "$TEST_TMP/api1.log")" "kept finish sent again: freed" "logged"
wait_healthy "$PORT"
out=$(hold 11 o-2)
assert_eq 201 "${out%% *}" "the user holds again: $out"
R2=$(rid_of "$out")

log "a finish still kept at exit is logged"
cancel_refused "$R2"
wait_eq "metric_value $MPORT couponq_api_redemption_finishes_kept" 1 "the second refused finish is kept" 30
proc_stop api1
acli CONFIG SET min-replicas-to-write 0 >/dev/null
assert_contains "$(cat "$TEST_TMP/api1.log")" "exit with finishes kept" "the kept finish logged at exit"
assert_contains "$(rec "$R2")" '"p":1' "not sent again after the exit (the hold counts until its expiry)"
log "ok"
