#!/usr/bin/env bash
# api_redis_replicas.sh -- couponq-api --redis-min-replicas 1 (WAIT after
# admit.lua), on a private primary + replica:
#  - an admission answered 202 is on the replica already;
#  - with the replica paused (SIGSTOP: the primary cannot reach any
#    replica, as a primary failed over while it was paused finds when it
#    resumes), the request gets 503 "not replicated", and the admission is
#    undone (settle.lua), so the 503 is true and no slot is lost;
#  - after SIGCONT the same user gets 202;
#  - the option is refused when its timeout is not below --redis-timeout-ms.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/api_lib.bash"

RP=$(free_port)
RR=$(free_port)
rs() { redis-server --bind 127.0.0.1 --port "$1" --dir "$TEST_TMP" --dbfilename "d$1.rdb" \
  --save '' --daemonize yes --pidfile "$TEST_TMP/r$1.pid" --logfile "$TEST_TMP/r$1.log" "${@:2}"; }
rstop() { kill -CONT "$(cat "$TEST_TMP/r$1.pid")" 2>/dev/null || true; redis-cli -p "$1" shutdown nosave >/dev/null 2>&1 || true; }
trap 'rstop $RR; rstop $RP; cleanup_lib' EXIT
rs "$RP"
rs "$RR" --replicaof 127.0.0.1 "$RP"
for ((i = 0; i < 100; i++)); do
  redis-cli -p "$RP" INFO replication | grep -q 'connected_slaves:1' &&
    redis-cli -p "$RR" INFO replication | grep -q 'master_link_status:up' && break
  sleep 0.1
done
redis-cli -p "$RR" INFO replication | grep -q 'master_link_status:up' || fail "replica did not sync"
pcli() { redis-cli -p "$RP" "$@"; }

set +e
out=$("$COUPONQ_BUILD/couponq-api" --redis "redis://127.0.0.1:$RP" --redis-min-replicas 1 \
  --redis-timeout-ms 200 --redis-replica-timeout-ms 200 2>&1)
rc=$?
set -e
assert_eq 2 "$rc" "a WAIT timeout not below the Redis deadline is refused"
assert_contains "$out" "--redis-replica-timeout-ms: must be below --redis-timeout-ms" "its error"

TOPIC=$(new_topic api_redis_replicas)
start_api api --topic "$TOPIC" --redis "redis://127.0.0.1:$RP" --redis-min-replicas 1 \
  --redis-replica-timeout-ms 150 --redis-timeout-ms 1000 --timeout-ms 4000
PORT=$API_PORT
wait_healthy "$PORT"
C=$(new_coupon_id)
now=$(date +%s%3N)
fence=$(pcli INFO replication | tr -d '\r' | sed -n 's/^master_replid://p')
pcli HSET "couponq:{c$C}:meta" total 10 start_ms $((now - 60000)) end_ms $((now + 3600000)) state open fence "$fence" >/dev/null

assert_contains "$(issue "$PORT" "$C" 1)" "202 " "replicated admission"
assert_eq 1 "$(redis-cli -p "$RR" SISMEMBER "couponq:{c$C}:issued" 1)" "the 202'd user is on the replica"

log "replica paused: 503, admission undone"
kill -STOP "$(cat "$TEST_TMP/r$RR.pid")"
r=$(issue "$PORT" "$C" 2)
assert_contains "$r" '503 {"result":"unavailable","error":"unavailable: not replicated"}' "not replicated"
for ((i = 0; i < 50; i++)); do
  [[ $(pcli SISMEMBER "couponq:{c$C}:issued" 2) == 0 ]] && break
  sleep 0.1
done
assert_eq 0 "$(pcli SISMEMBER "couponq:{c$C}:issued" 2)" "the unreplicated admission was undone"
assert_eq 1 "$(pcli SCARD "couponq:{c$C}:issued")" "only the replicated user is admitted"
assert_contains "$(cat "$TEST_TMP/api.log")" 'admission not on enough replicas' "logged"
kill -CONT "$(cat "$TEST_TMP/r$RR.pid")"
for ((i = 0; i < 100; i++)); do
  redis-cli -p "$RR" INFO replication | grep -q 'master_link_status:up' && break
  sleep 0.1
done
assert_contains "$(issue "$PORT" "$C" 2)" "202 " "after the replica is back"
assert_eq 2 "$(pcli SCARD "couponq:{c$C}:issued")" "two admitted"
log "ok"
