#!/usr/bin/env bash
# api_redemption_undo_kept.sh -- an undo that did not reach the replicas is
# kept by couponq-api and sent again to the next primary, on a real
# failover of a private primary A and its replica B:
#  - B replicates A through redis_proxy.py (R), so the test can hold A's
#    replication stream to B while B's ACKs still pass; the api reaches A
#    through a second proxy (P) whose target moves (TARGET_FILE + SIGHUP),
#    as a VIP or a DNS name does at a failover;
#  - a hold answered 201 by an api with --redis-min-replicas 1 is on B;
#  - an api with --redis-min-replicas 2 (one replica exists: every WAIT is
#    short) makes a second hold; once B has it, R holds A's stream, so the
#    undo that follows the 503 "not replicated" runs on A only; the undo's
#    own WAIT is short too, so the api keeps it;
#  - A is killed (-9), B promoted, P moved to B: on the new connection the
#    api sends the kept undo again, and B loses the orphan hold (record,
#    holds member, order and user entries); the 201 hold is untouched;
#  - the kept/re-sent metrics count it.
# Every wait polls with a bound; nothing depends on how long a step takes
# (the api's answers are held at P until R holds the stream).
#
# Proves the kept undo (api/redemption_undo.c): before it the api sent the
# undo once, to A, with no WAIT, and this test failed (at "the undo whose
# WAIT was short is kept"; with that wait skipped, at "B lost the orphan
# hold": expected 1 record, got 2 -- the hold stayed on the new primary
# with no event).
source "$(dirname "$0")/../lib.sh"

RA=$(free_port)
RB=$(free_port)
PR=$(free_port)
PA=$(free_port)
trap 'redis_private_stop $RB; redis_private_stop $RA; cleanup_lib' EXIT
bcli() { redis-cli -p "$RB" "$@"; }
redis_private "$RA"
start_bg repl_proxy python3 "$COUPONQ_SRC/tests/integration/redis_proxy.py" "$PR" "$RA"
REPL_PROXY=$BG_PID
wait_log repl_proxy listening 10
redis_private "$RB" --replicaof 127.0.0.1 "$PR"
wait_for "bcli INFO replication | grep -q 'master_link_status:up'" 30 || fail "B did not sync with A through the proxy"
echo "$RA" >"$TEST_TMP/target"
start_bg api_proxy python3 "$COUPONQ_SRC/tests/integration/redis_proxy.py" "$PA" "$RA" "$TEST_TMP/target"
API_PROXY=$BG_PID
wait_log api_proxy listening 10

C=$(private_use_coupon "$RA")
TOPIC=$(new_topic api_redemption_undo_kept)
RTOPIC=$(new_topic api_redemption_undo_kept_use)
API_ARGS=(--topic "$TOPIC" --redemption-topic "$RTOPIC" --redis "redis://127.0.0.1:$PA")
post() {
  curl -s -m 60 -w '\n%{http_code}' -H 'Content-Type: application/json' --data "$2" "http://127.0.0.1:$PORT$1" |
    { read -r body; read -r code; echo "$code $body"; }
}
hold() { post "/v1/coupons/$C/redemptions" "{\"user_id\":$1,\"order_id\":\"$2\",\"order_amount\":30000}"; }
recs() { redis-cli -p "$1" HLEN "$(ckey "$C" use:recs)"; }

log "a hold replicated to B (--redis-min-replicas 1): 201"
api_up api1 "${API_ARGS[@]}" --redis-min-replicas 1 --redis-replica-timeout-ms 2000 --redis-timeout-ms 3000 \
  --timeout-ms 8000
PORT=$API_PORT
out=$(hold 11 o-1)
assert_eq 201 "${out%% *}" "replicated hold: $out"
R1=$(sed -n 's/.*"redemption_id":"\([0-9A-Z]\{26\}\)".*/\1/p' <<<"$out")
wait_eq "bcli HEXISTS $(ckey "$C" use:recs) $R1" 1 "the 201 hold on B" 30
r1=$(bcli HGET "$(ckey "$C" use:recs)" "$R1")
proc_stop api1

log "--redis-min-replicas 2: a hold on B, its undo held back from B"
api_up api2 "${API_ARGS[@]}" --redis-min-replicas 2 --redis-replica-timeout-ms 3000 \
  --redis-timeout-ms 10000 --timeout-ms 25000
PORT=$API_PORT
MPORT=$API_ADMIN_PORT
kill -USR1 "$API_PROXY" # hold A's answers to the api: no undo before R holds
echo "$(hold 12 o-2)" >"$TEST_TMP/hold.out" &
HOLD=$!
wait_eq "recs $RB" 2 "B has the second hold" 30
kill -USR1 "$REPL_PROXY" # hold A's replication stream to B (B's ACKs pass)
kill -USR1 "$API_PROXY"  # release the answers: the api undoes on A only
wait_for "! kill -0 $HOLD" 30 || fail "no answer to the hold within 30 s"
wait "$HOLD" || true
assert_eq '503 {"result":"unavailable","error":"unavailable: not replicated"}' "$(cat "$TEST_TMP/hold.out")" "the hold not replicated"
R2=$(bcli HGET "$(ckey "$C" use:orders)" o-2)
assert_eq 26 "${#R2}" "B has the second hold's order ($R2)"
wait_eq "recs $RA" 1 "A undid the second hold" 30
assert_eq 2 "$(recs "$RB")" "B still has it (the undo was held back)"
wait_eq "metric_value $MPORT couponq_api_redemption_undos_kept" 1 "the undo whose WAIT was short is kept" 30
assert_metric "$(metrics "$MPORT")" couponq_api_redemption_undos_total 1 "the undo ran on A"

log "A killed, B promoted, the api moved to B: the kept undo is sent again"
kill -KILL "$(cat "$TEST_TMP/r$RA.pid")"
wait_for "! acli PING" 30 || fail "A still answers after kill -9"
bcli REPLICAOF NO ONE >/dev/null
wait_for "bcli INFO replication | grep -q 'role:master'" 30 || fail "B not promoted"
echo "$RB" >"$TEST_TMP/target"
kill -HUP "$API_PROXY"
wait_eq "recs $RB" 1 "B lost the orphan hold (the kept undo re-sent)" 30
assert_eq "0 0 0" "$(bcli HEXISTS "$(ckey "$C" use:recs)" "$R2") $(bcli HEXISTS "$(ckey "$C" use:orders)" o-2) $(bcli HEXISTS "$(ckey "$C" use:users)" 12)" \
  "the orphan's record, order and user entries are gone"
assert_eq "" "$(bcli ZSCORE "$(ckey "$C" use:holds)" "$R2")" "its holds member is gone"
assert_eq "$r1 $R1" "$(bcli HGET "$(ckey "$C" use:recs)" "$R1") $(bcli HGET "$(ckey "$C" use:users)" 11)" "the 201 hold is untouched"
assert_eq 1 "$(bcli ZCARD "$(ckey "$C" use:holds)")" "one hold counts on B"
wait_eq "metric_value $MPORT couponq_api_redemption_undos_resent_undone_total" 1 "the re-send counted as taking the hold back" 30
m=$(metrics "$MPORT")
assert_metric "$m" couponq_api_redemption_undos_resent_total 1 "one re-send answered"
assert_metric "$m" couponq_api_redemption_undos_dropped_total 0 "none dropped"
assert_contains "$(cat "$TEST_TMP/api2.log")" "kept undo sent again: took back a transition" "logged"
# B has no replica either: the re-sent undo's WAIT is short, so it stays
# kept (for the next connection, 60 s at most)
wait_eq "metric_value $MPORT couponq_api_redemption_undos_kept" 1 "still kept after the short WAIT on B" 30
log "ok"
