#!/usr/bin/env bash
# fence.sh -- the Redis fence (schemas/redis/admit.lua, couponqctl fence).
#
# 1. The mechanism: master_replid changes when a replica is promoted and
#    when Redis restarts (checked on a private redis-server), so a dataset
#    that may have lost acknowledged writes always has a new id.
# 2. A coupon whose meta `fence` differs from the server's id admits nobody
#    (503 "fenced", nothing written), however many apis run.
# 3. The guard rebuilds the admitted set from the MySQL rows and the
#    unconsumed events, lifts the fence, and the sale goes on exactly:
#    users admitted before the loss are duplicates, the rest fill the
#    quantity, every 202 has a row, no row beyond the quantity.
# 4. `couponqctl fence --watch` does it by itself.
# The shared Redis must not be restarted, so "the dataset changed" is the
# loss of some members plus a fence that no longer matches (exactly what a
# promoted lagging replica looks like to admit.lua).
source "$(dirname "$0")/../lib.sh"

need couponqctl couponq-api couponq-worker

# ---- 1. master_replid on restart and on promotion (private servers)
P1=$(free_port)
P2=$(free_port)
rs() { redis_private "$1" --appendonly yes --appendfilename "a$1.aof" --appenddirname "aof$1" "${@:2}"; }
rid() { redis-cli -p "$1" INFO replication | tr -d '\r' | sed -n 's/^master_replid://p'; }
rdown() { # shutdown, then wait until the process is gone
  local pid
  pid=$(cat "$TEST_TMP/r$1.pid" 2>/dev/null || true)
  redis-cli -p "$1" shutdown ${2:-} >/dev/null 2>&1 || true
  for _ in $(seq 100); do [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
}
trap 'rdown $P1 nosave; rdown $P2 nosave; cleanup_lib' EXIT
rs "$P1"
for _ in $(seq 50); do redis-cli -p "$P1" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p "$P1" SET k v >/dev/null
id1=$(rid "$P1")
rdown "$P1"
rs "$P1"
for _ in $(seq 50); do redis-cli -p "$P1" ping >/dev/null 2>&1 && break; sleep 0.1; done
assert_eq v "$(redis-cli -p "$P1" GET k)" "the AOF brought the data back"
id2=$(rid "$P1")
[[ -n $id1 && $id1 != "$id2" ]] || fail "master_replid did not change on restart ($id1 -> $id2)"
rs "$P2" --replicaof 127.0.0.1 "$P1"
for _ in $(seq 100); do [[ $(redis-cli -p "$P2" GET k) == v ]] && break; sleep 0.1; done
# (A master without a backlog takes a new id when its first replica
# attaches: a spurious fence, costing one pause, never a coupon.)
assert_eq "$(rid "$P1")" "$(rid "$P2")" "a replica shares its master's id"
redis-cli -p "$P2" REPLICAOF NO ONE >/dev/null
id3=$(rid "$P2")
[[ $id3 != "$(rid "$P1")" ]] || fail "master_replid did not change on promotion"
log "master_replid: restart $id1 -> $id2, promotion -> $id3"
rdown "$P1" nosave
rdown "$P2" nosave

# ---- 2, 3. a sale whose dataset loses members
private_topic fence
ID=$(new_coupon_id)
PORT=$(free_port)
PORT2=$(free_port)
Q=500
rows() { coupon_rows "$ID"; }
wait_rows() { wait_coupon_rows "$ID" "$1"; }
load() { python3 "$LOAD" "$1" "$ID" "$2" "$3" 8 "$TEST_TMP/accepted"; }
fence_of() { rcli HGET "$(ckey "$ID" meta)" fence; }

log "coupon $ID topic $T apis :$PORT :$PORT2"
start_bg api "$API_BIN" --listen "127.0.0.1:$PORT"
start_bg api2 "$API_BIN" --listen "127.0.0.1:$PORT2"
wait_http "$PORT"
wait_http "$PORT2"
start_bg worker "$WORKER" --metrics-listen off --batch-ms 20
WORKER_PID=$BG_PID
"$CTL" create --id "$ID" --title "fence" --quantity $Q --end +1h >/dev/null
assert_eq "$(redis_replid)" "$(fence_of)" "couponqctl create writes the fence"

assert_eq '{"202": 300}' "$(load "$PORT" 1 300)" "first wave"
wait_rows 300
kill -TERM "$WORKER_PID"
wait "$WORKER_PID" 2>/dev/null || true
assert_eq '{"202": 100}' "$(load "$PORT2" 301 400)" "second wave (not consumed yet)"

# The dataset changes: 150 members are gone (100 with rows, 50 with only
# an event) and the fence no longer matches the server.
# shellcheck disable=SC2046
rcli SREM "$(ckey "$ID" issued)" $(seq 101 200) $(seq 351 400) >/dev/null
rcli HSET "$(ckey "$ID" meta)" fence 0000000000000000000000000000000000000001 >/dev/null
assert_eq 250 "$(rcli SCARD "$(ckey "$ID" issued)")" "members left after the loss"
for p in "$PORT" "$PORT2"; do
  body=$(curl -s -w ' %{http_code}' -X POST "http://127.0.0.1:$p/v1/coupons/$ID/issues" -d '{"user_id": 9001}')
  assert_contains "$body" "fenced" "a fenced answer from :$p"
  assert_contains "$body" " 503" "503 while fenced from :$p"
done
assert_eq '{"503": 40}' "$(load "$PORT" 1001 1040)" "new users while fenced"
assert_eq '{"503": 20}' "$(load "$PORT2" 101 120)" "lost users while fenced (not told duplicate by a partial set)"
assert_eq 250 "$(rcli SCARD "$(ckey "$ID" issued)")" "nothing admitted while fenced"
assert_eq 0 "$(rcli SISMEMBER "$(ckey "$ID" issued)" 1001)" "user 1001 not admitted"

out=$("$CTL" fence --wait-ms 0 --json) || fail "couponqctl fence failed: $out"
assert_contains "$out" '"lifted":1' "the guard lifted one fence"
assert_eq 400 "$(rcli SCARD "$(ckey "$ID" issued)")" "the set is back: 300 row users + 100 event users"
assert_eq "$(redis_replid)" "$(fence_of)" "fence = the server's id"
out=$("$CTL" fence --wait-ms 0 --json) || fail "second couponqctl fence failed: $out"
assert_contains "$out" '"lifted":0' "nothing left to lift"

start_bg worker2 "$WORKER" --metrics-listen off --batch-ms 20
assert_eq '{"409": 100}' "$(load "$PORT" 101 200)" "users lost from the set are duplicates again"
assert_eq '{"202": 100, "410": 500}' "$(load "$PORT2" 1001 1600)" "the rest fills the quantity exactly"
wait_rows $Q
sleep 1
assert_eq $Q "$(rows)" "rows never exceed the quantity"
assert_eq $Q "$(sort -u "$TEST_TMP/accepted" | wc -l)" "every 202 user once"
missing=$(comm -23 <(sort -u "$TEST_TMP/accepted") <(sql "SELECT user_id FROM coupon_issues WHERE coupon_id=$ID" | sort -u) | wc -l)
assert_eq 0 "$missing" "accepted users without a row"

# ---- 4. the guard as a daemon lifts a fence by itself
start_bg guard "$CTL" fence --watch --wait-ms 300 --interval-ms 100 --rescan-ms 500
rcli HSET "$(ckey "$ID" meta)" fence 0000000000000000000000000000000000000002 >/dev/null
wait_eq fence_of "$(redis_replid)" "couponqctl fence --watch lifted the fence by itself" 20
assert_contains "$(cat "$TEST_TMP/guard.log")" "verified against the event log" "the guard's log"
log "ok"
