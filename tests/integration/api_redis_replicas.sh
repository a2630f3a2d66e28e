#!/usr/bin/env bash
# api_redis_replicas.sh -- couponq-api --redis-min-replicas 1 (WAIT after
# admit.lua), on a private primary + replica:
#  - an admission answered 202 is on the replica already;
#  - with the replica paused (SIGSTOP: the primary cannot reach any
#    replica, as a primary failed over while it was paused finds when it
#    resumes), the request gets 503 "not replicated", and the admission is
#    undone (settle.lua), so the 503 is true and no slot is lost;
#  - after SIGCONT the same user gets 202;
#  - redemptions likewise (WAIT after use.lua): with the replica paused a
#    hold and a confirm get 503 "not replicated", the transition is undone
#    (the coupon's use keys DUMP the same before and after) and no event
#    reaches the redemption topic; a replay gets 503 too; the undos' own
#    WAITs are short, so both undos are kept (api_redemption_undo_kept.sh
#    sends them again at a failover); after SIGCONT the hold and the confirm
#    succeed;
#  - the option is refused when its timeout is not below --redis-timeout-ms.
source "$(dirname "$0")/../lib.sh"

RP=$(free_port)
RR=$(free_port)
trap 'redis_private_stop $RR; redis_private_stop $RP; cleanup_lib' EXIT
redis_private "$RP"
redis_private "$RR" --replicaof 127.0.0.1 "$RP"
link_up() { redis-cli -p "$RR" INFO replication | grep -q 'master_link_status:up'; }
wait_for "redis-cli -p $RP INFO replication | grep -q 'connected_slaves:1' && link_up" 10 || true
link_up || fail "replica did not sync"
pcli() { redis-cli -p "$RP" "$@"; }

set +e
out=$("$COUPONQ_BUILD/couponq-api" --redis "redis://127.0.0.1:$RP" --redis-min-replicas 1 \
  --redis-timeout-ms 200 --redis-replica-timeout-ms 200 2>&1)
rc=$?
set -e
assert_eq 2 "$rc" "a WAIT timeout not below the Redis deadline is refused"
assert_contains "$out" "--redis-replica-timeout-ms: must be below --redis-timeout-ms" "its error"

TOPIC=$(new_topic api_redis_replicas)
RTOPIC=$(new_topic api_redis_replicas_use)
api_up api --topic "$TOPIC" --redemption-topic "$RTOPIC" --redis "redis://127.0.0.1:$RP" --redis-min-replicas 1 \
  --redis-replica-timeout-ms 150 --redis-timeout-ms 1000 --timeout-ms 4000
PORT=$API_PORT
MPORT=$API_ADMIN_PORT
C=$(new_coupon_id)
now=$(date +%s%3N)
fence=$(pcli INFO replication | tr -d '\r' | sed -n 's/^master_replid://p')
pcli HSET "$(ckey "$C" meta)" total 10 start_ms $((now - 60000)) end_ms $((now + 3600000)) state open fence "$fence" >/dev/null

assert_contains "$(issue "$PORT" "$C" 1)" "202 " "replicated admission"
assert_eq 1 "$(redis-cli -p "$RR" SISMEMBER "$(ckey "$C" issued)" 1)" "the 202'd user is on the replica"

log "replica paused: 503, admission undone"
kill -STOP "$(cat "$TEST_TMP/r$RR.pid")"
r=$(issue "$PORT" "$C" 2)
assert_contains "$r" '503 {"result":"unavailable","error":"unavailable: not replicated"}' "not replicated"
wait_eq 'pcli SISMEMBER "$(ckey "$C" issued)" 2' 0 "the unreplicated admission was undone" 5
assert_eq 1 "$(pcli SCARD "$(ckey "$C" issued)")" "only the replicated user is admitted"
assert_contains "$(cat "$TEST_TMP/api.log")" 'admission not on enough replicas' "logged"
resume() {
  kill -CONT "$(cat "$TEST_TMP/r$RR.pid")"
  wait_for link_up 10 || true
}
resume
assert_contains "$(issue "$PORT" "$C" 2)" "202 " "after the replica is back"
assert_eq 2 "$(pcli SCARD "$(ckey "$C" issued)")" "two admitted"
assert_metric "$(metrics "$MPORT")" couponq_api_admissions_not_replicated_total 1 "admission counted"

log "redemptions: a replicated hold is on the replica"
# post PATH BODY -> "<status> <body>"
post() {
  curl -s -w '\n%{http_code}' -H 'Content-Type: application/json' --data "$2" "http://127.0.0.1:$PORT$1" |
    { read -r body; read -r code; echo "$code $body"; }
}
hold() { post "/v1/coupons/$C/redemptions" "{\"user_id\":$1,\"order_id\":\"$2\",\"order_amount\":30000}"; }
confirm() { post "/v1/redemptions/$1/confirm" ""; }
# every use key of the coupon, byte for byte (DUMP; a missing key is nil)
use_dump() {
  local k
  for k in use use:holds use:recs use:orders use:users use:revs; do
    echo "$k $(pcli --no-raw DUMP "couponq:{c$C}:$k")"
  done
}
pcli SADD "$(ckey "$C" issued)" 11 12 >/dev/null
pcli HSET "$(ckey "$C" use)" limit 10 ttl_ms 600000 until_ms -1 discount 5000 min_amount 0 \
  vendor 0 share_bps 10000 reuse 1 confirmed 0 >/dev/null
out=$(hold 11 o-1)
assert_eq 201 "${out%% *}" "replicated hold: $out"
R1=$(sed -n 's/.*"redemption_id":"\([0-9A-Z]\{26\}\)".*/\1/p' <<<"$out")
assert_eq 1 "$(redis-cli -p "$RR" HEXISTS "$(ckey "$C" use:recs)" "$R1")" "the 201'd hold is on the replica"
assert_eq 1 "$(topic_count "$RTOPIC")" "its event"

log "replica paused: hold and confirm 503, undone, nothing produced"
kill -STOP "$(cat "$TEST_TMP/r$RR.pid")"
NR='503 {"result":"unavailable","error":"unavailable: not replicated"}'
before=$(use_dump)
assert_eq "$NR" "$(hold 12 o-2)" "hold not replicated"
assert_eq "$before" "$(use_dump)" "the unreplicated hold was undone"
assert_eq "$NR" "$(confirm "$R1")" "confirm not replicated"
assert_eq "$before" "$(use_dump)" "the unreplicated confirm was undone"
assert_eq "$NR" "$(hold 11 o-1)" "a replay not replicated (nothing to undo)"
assert_eq held "$(pcli HGET "$(ckey "$C" use:recs)" "$R1" | jq -r .s)" "the hold stands"
assert_eq 1 "$(topic_count "$RTOPIC")" "no event produced while not replicated"
assert_contains "$(cat "$TEST_TMP/api.log")" 'redemption not on enough replicas: 503, undone' "logged"
m=$(metrics "$MPORT")
assert_metric "$m" couponq_api_redemption_not_replicated_total 3 "counted: hold, confirm, replay"
assert_metric "$m" couponq_api_redemption_undos_total 2 "two transitions undone"
# the undos' own WAITs found no replica either: kept for the next connection
wait_eq "metric_value $MPORT couponq_api_redemption_undos_kept" 2 "both undos kept" 10

log "replica back: hold and confirm succeed"
resume
pcli SCRIPT FLUSH >/dev/null # NOSCRIPT: load, the EVALSHA again and its own WAIT
out=$(hold 12 o-2)
assert_eq 201 "${out%% *}" "hold after the replica is back (and a SCRIPT FLUSH): $out"
out=$(confirm "$R1")
assert_eq 200 "${out%% *}" "confirm after the replica is back: $out"
assert_eq confirmed "$(redis-cli -p "$RR" HGET "$(ckey "$C" use:recs)" "$R1" | jq -r .s)" "the confirm is on the replica"
assert_eq 1 "$(redis-cli -p "$RR" HGET "$(ckey "$C" use)" confirmed)" "confirmed 1 on the replica"
assert_eq 3 "$(topic_count "$RTOPIC")" "their events"
log "ok"
