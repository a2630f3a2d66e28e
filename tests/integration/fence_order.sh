#!/usr/bin/env bash
# fence_order.sh -- the fence guard lifts the coupons users can act on now
# first (tools/fence_order.h), not in the order Redis's SCAN finds them.
#
# Six coupons on a private Redis (AOF), all fenced by a real restart:
#   SELL  a sale in its issue window (open, start <= now < end)
#   USE   the sale is over, owners, use_until an hour away: holds can be taken
#   UP    a sale that starts in an hour
#   OLD1..OLD3  closed or over in both windows, each with FENCE_ORDER_ROWS
#         (1000) redemptions applied by the worker: the expensive ones.
# The guard must verify and lift them as SELL, USE, UP, then OLD1..3 by id
# (1), and again after the replication id moved on while it ran as a
# daemon (2: REPLICAOF a dead port, then NO ONE: a new id, the data kept);
# there the old coupons' records are intact, so the guard reads none of
# their events (use_rows_fetched=0: only the versions are compared).
# No durations are asserted: only the order of the guard's "verified" log
# lines and the fences it leaves.
#
# Fails on the guard before the lift order (it lifted in SCAN order): before
# running the guard the test checks that SCAN does not return SELL first of
# the six (restarting Redis again, which reseeds its hash, until it does
# not), so a scan-order guard lifts something else before SELL.
source "$(dirname "$0")/../lib.sh"

need couponqctl couponq-worker

ROWS=${FENCE_ORDER_ROWS:-1000}
GEN=$COUPONQ_SRC/tests/integration/redemption_events.py

# ---- a private Redis: the shared one must not be restarted
RP=$(free_port)
DEAD=$(free_port) # nothing listens here: REPLICAOF to it keeps the data
rs() {
  redis-server --bind 127.0.0.1 --port "$RP" --dir "$TEST_TMP" --dbfilename d.rdb \
    --appendonly yes --appendfilename a.aof --appenddirname aof --save '' \
    --daemonize yes --pidfile "$TEST_TMP/redis.pid" --logfile "$TEST_TMP/redis.log"
  wait_for "redis-cli -p $RP ping 2>/dev/null | grep -q PONG" 20 || fail "private redis did not start"
}
rdown() {
  local pid
  pid=$(cat "$TEST_TMP/redis.pid" 2>/dev/null || true)
  redis-cli -p "$RP" shutdown ${1:-} >/dev/null 2>&1 || true
  wait_for "! kill -0 ${pid:-0} 2>/dev/null" 20 || true
}
trap 'rdown nosave; cleanup_lib' EXIT
rs
REDIS_PORT=$RP # rcli, ckey, coupon_*_raw and redis_replid now use it
export COUPONQ_REDIS=redis://127.0.0.1:$RP

IT=$(new_topic fence_order_issue)
RT=$(new_topic fence_order_use)
G=couponq.test.fence_order.$RANDOM$RANDOM
export COUPONQ_TOPIC=$IT COUPONQ_REDEMPTION_TOPIC=$RT COUPONQ_GROUP=$G

now=$(date +%s%3N)
H=3600000
# owners ID N -- users 1..N own the coupon (row + admitted member).
owners() {
  sql "INSERT INTO coupon_issues (coupon_id, user_id, event_id, date_issued)
       SELECT $1, seq, '01M8RRK7EHMPHY0G000000001A', NOW(3) FROM seq_1_to_$2"
  # shellcheck disable=SC2046
  rcli SADD "$(ckey "$1" issued)" $(seq "$2") >/dev/null
  # shellcheck disable=SC2046
  rcli SADD "$(ckey "$1" persisted)" $(seq "$2") >/dev/null
}
SELL=$(new_coupon_id)
coupon_create_raw "$SELL" 100
coupon_use_raw "$SELL"
owners "$SELL" 5
USE=$(new_coupon_id)
coupon_create_raw "$USE" 100 $((now - H)) $((now - 60000))
coupon_use_raw "$USE" -1 600000 5000 0 0 10000 1 $((now + H))
owners "$USE" 3
UP=$(new_coupon_id)
coupon_create_raw "$UP" 100 $((now + H)) $((now + 2 * H))
coupon_use_raw "$UP"
OLD=()
for i in 1 2 3; do
  id=$(new_coupon_id)
  OLD+=("$id")
  coupon_create_raw "$id" -1 $((now - 3 * H)) $((now - 2 * H))
  coupon_use_raw "$id" -1 600000 5000 0 0 10000 1 $((now - H)) # no vendor: no ledger lines
  owners "$id" "$ROWS"
  python3 "$GEN" bulk "$id" 1 "$ROWS" 0 10000 >>"$TEST_TMP/bulk"
done
# Two of the old ones closed (admit.lua: closed), one just over.
for id in "${OLD[0]}" "${OLD[2]}"; do
  sql "UPDATE coupons SET state='closed' WHERE id=$id"
  rcli HSET "$(ckey "$id" meta)" state closed >/dev/null
done
kcat -P -b "$COUPONQ_KAFKA" -t "$RT" -K: <"$TEST_TMP/bulk"
E=$(wc -l <"$TEST_TMP/bulk")
log "coupons SELL $SELL USE $USE UP $UP OLD ${OLD[*]}; $E redemption events for the old ones"
start_bg worker "$WORKER" --metrics-listen off --batch-ms 50
old_events() {
  sql "SELECT COUNT(*) FROM redemption_events e JOIN coupon_redemptions r ON r.id=e.redemption_id
       WHERE r.coupon_id IN (${OLD[0]}, ${OLD[1]}, ${OLD[2]})"
}
wait_eq old_events "$E" "the old coupons' events applied" 300
proc_stop worker # its offsets committed: nothing unconsumed

ALL=("$SELL" "$USE" "$UP" "${OLD[@]}")
OLD_SORTED=$(printf '%s\n' "${OLD[@]}" | sort -n | tr '\n' ' ')
WANT="$SELL $USE $UP ${OLD_SORTED% }"
# ours_in_scan -> our coupons in the order a full SCAN returns their metas.
ours_in_scan() {
  local cursor=0 k
  while :; do
    mapfile -t page < <(rcli SCAN "$cursor" MATCH 'couponq:{c*}:meta' COUNT 1000)
    cursor=${page[0]}
    for k in "${page[@]:1}"; do
      k=${k#couponq:\{c}
      echo "${k%\}:meta}"
    done
    [[ $cursor == 0 ]] && break
  done | grep -x -F -f <(printf '%s\n' "${ALL[@]}") | tr '\n' ' ' | sed 's/ $//'
}
fenced_all() {
  local id rid
  rid=$(redis_replid)
  for id in "${ALL[@]}"; do [[ $(rcli HGET "$(ckey "$id" meta)" fence) != "$rid" ]] || return 1; done
}
lifted_all() {
  local id rid
  rid=$(redis_replid)
  for id in "${ALL[@]}"; do [[ $(rcli HGET "$(ckey "$id" meta)" fence) == "$rid" ]] || return 1; done
}
# lift_order LOG [REPLID] -> our coupons in the order LOG's guard lifted
# them (lifted=1), under REPLID if given.
lift_order() {
  grep -F 'verified against the event log' "$1" | grep -F 'lifted=1' |
    { if [[ -n ${2:-} ]]; then grep -F "replid=$2 "; else cat; fi; } |
    sed -E 's/.* coupon_id=([0-9]+) .*/\1/' |
    grep -x -F -f <(printf '%s\n' "${ALL[@]}") | tr '\n' ' ' | sed 's/ $//'
}

# ---- 1. a restart fences all six; one guard pass lifts them in order
old_id=$(redis_replid)
for try in $(seq 10); do
  rdown
  rs
  scan=$(ours_in_scan)
  [[ ${scan%% *} != "$SELL" ]] && break
  log "SCAN returns SELL first ($scan); restarting again (try $try)"
done
[[ ${scan%% *} != "$SELL" ]] || fail "SCAN kept returning SELL first"
[[ $(redis_replid) != "$old_id" ]] || fail "the restart did not change the replication id"
fenced_all || fail "not every coupon is fenced after the restart"
assert_eq "$ROWS" "$(rcli SCARD "$(ckey "${OLD[0]}" issued)")" "the AOF brought the sets back"
log "SCAN order: $scan; want the lifts as: $WANT"

out=$("$CTL" fence --wait-ms 0 --json 2>"$TEST_TMP/guard1.log") ||
  fail "couponqctl fence failed: $out $(tail -3 "$TEST_TMP/guard1.log")"
assert_contains "$out" '"lifted":6' "one pass lifts all six"
lifted_all || fail "a fence is left after the pass"
assert_eq "$WANT" "$(lift_order "$TEST_TMP/guard1.log")" "lift order after the restart (scan order was $scan)"
for id in "${OLD[@]}"; do
  line=$(grep -F "coupon_id=$id " "$TEST_TMP/guard1.log")
  assert_contains "$line" "class=idle" "old coupon $id is idle"
  assert_contains "$line" "use_rows=$ROWS use_rows_fetched=$ROWS " "old coupon $id: every row's events read (Redis had no record)"
  assert_eq "$ROWS" "$(rcli HLEN "$(ckey "$id" use:recs)")" "old coupon $id: its records restored"
done
assert_contains "$(grep -F "coupon_id=$SELL " "$TEST_TMP/guard1.log")" "class=selling" "SELL's class"
assert_contains "$(grep -F "coupon_id=$USE " "$TEST_TMP/guard1.log")" "class=using" "USE's class"
assert_contains "$(grep -F "coupon_id=$UP " "$TEST_TMP/guard1.log")" "class=upcoming" "UP's class"

# ---- 2. the daemon, and a new replication id while it works
start_bg guard "$CTL" fence --watch --wait-ms 0 --interval-ms 50 --rescan-ms 1000
wait_log guard 'msg="fence: replication id"' 10
rdown
rs
wait_log guard "coupon_id=$SELL class=selling replid=$(redis_replid) " 60
# A second new id, likely while the guard is still on the old coupons:
# every coupon is fenced again and must be lifted again, SELL first.
rcli REPLICAOF 127.0.0.1 "$DEAD" >/dev/null
rcli REPLICAOF NO ONE >/dev/null
rid=$(redis_replid)
wait_for lifted_all 120 || fail "the guard did not lift every fence under $rid"
assert_eq "$WANT" "$(lift_order "$TEST_TMP/guard.log" "$rid")" "lift order under the id that changed mid-pass"
# The records survived the restart: the guard checked their versions and
# read no event of the old coupons (use_restore.h).
for id in "${OLD[@]}"; do
  line=$(grep -F "coupon_id=$id " "$TEST_TMP/guard.log" | grep -F "replid=$rid " | grep -F 'lifted=1')
  assert_contains "$line" "use_rows=$ROWS use_rows_fetched=0 " "old coupon $id: no event read for the records Redis kept"
  assert_eq "$ROWS" "$(rcli HLEN "$(ckey "$id" use:recs)")" "old coupon $id: its records after the second lift"
done
log "ok: lifted as $WANT twice"
