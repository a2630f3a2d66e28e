#!/usr/bin/env bash
# api_partitioning.sh -- couponq-api --kafka-partitioning (issue 15, sticky
# partitioning of the issuance events) on a private 6-partition topic:
#   sticky (the default): 12 bursts of 40 requests, each written at once on
#   one connection (one read, one loop iteration): every burst's events
#   share one partition, each burst's the next one round robin (nothing
#   else produces in between), so every partition gets two; then 3,000
#   requests on 64 connections reach every partition too. Every event's
#   key is its user id, every 202 is in the topic once, and a worker writes
#   every row.
#   key: each event on the partition librdkafka's partitioner gives its key
#   (the same keys produced by kcat land on the same partitions of another
#   6-partition topic), a user's events of two coupons on one partition,
#   and a burst spread over several partitions: the behaviour before.
#   Any other value is refused (exit 2).
# --redemption-partitioning (issue 12) on a private 6-partition redemption
# topic:
#   coupon (the default): 12 coupons, 5 holds each and 2 confirms: every
#   coupon's events on one partition, the coupons over several, every
#   event's key its redemption id;
#   key: one coupon's 30 holds spread over several partitions, each
#   redemption's events on one. Any other value is refused (exit 2).
# The redemption events have a producer of their own (issue 12): its
# linger.ms is --redemption-linger-ms (default 2) over -X, while the
# issuance producer keeps linger.ms 0 or what -X says, as each producer's
# librdkafka conf reports it in the start line; a value beyond 0..1000 is
# refused (exit 2). Fails on the code before (one producer: no
# redemption_linger_ms in the start line, the option unknown).
# Fails on the code before sticky partitioning (the bursts' events spread
# over the partitions by key, and --kafka-partitioning is unknown), and on
# the code before coupon partitioning (a coupon's redemption events spread
# by redemption id, and --redemption-partitioning is unknown).
source "$(dirname "$0")/../lib.sh"
need couponq-worker

BURSTS=12
SIZE=40
LOAD_USERS=3000

# events TOPIC -> "partition key value" lines, every message of the topic
events() { kcat -b "$COUPONQ_KAFKA" -C -t "$1" -e -q -f '%p %k %s\n'; }

# check_events FILE COUPON N -> asserts N events of COUPON, each with its
# user id as key, distinct event ids and users; prints "user partition".
check_events() {
  python3 - "$@" <<'PY'
import json, sys
path, coupon, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rows, ids, users = [], set(), set()
for line in open(path):
    p, k, v = line.rstrip("\n").split(" ", 2)
    ev = json.loads(v)
    if ev["coupon_id"] != coupon:
        continue
    if k != str(ev["user_id"]):
        raise SystemExit(f"event key {k!r} is not its user id {ev['user_id']}")
    ids.add(ev["event_id"])
    users.add(ev["user_id"])
    rows.append((ev["user_id"], int(p)))
if not (len(rows) == len(ids) == len(users) == n):
    raise SystemExit(f"expected {n} events of coupon {coupon} (distinct ids and "
                     f"users), got {len(rows)} ({len(ids)} ids, {len(users)} users)")
for u, p in rows:
    print(u, p)
PY
}

# bursts PORT COUPON BASE ROUNDS -> "round user" of the 202s (all must be)
bursts() {
  python3 "$API_CLIENT" bursts "$1" "$2" "$3" "$4" "$SIZE" >"$TEST_TMP/bursts.raw" ||
    fail "bursts client failed"
  assert_eq 0 "$(awk '$3 != 202' "$TEST_TMP/bursts.raw" | wc -l)" "bursts answered other than 202"
  assert_eq $(($4 * SIZE)) "$(wc -l <"$TEST_TMP/bursts.raw")" "burst answers"
  cut -d' ' -f1,2 "$TEST_TMP/bursts.raw"
}

log "sticky: $BURSTS bursts of $SIZE, then $LOAD_USERS requests on 64 connections"
private_topic api_partitioning
C=$(new_coupon_id)
coupon_create_raw "$C" -1
api_up sticky --topic "$T" --redemption-topic "$T.r"
# healthy = the first metadata answer is in, and with it the partitions
B=$((C % 100000 * 100000))
bursts "$API_PORT" "$C" "$B" "$BURSTS" >"$TEST_TMP/burst_users.txt"
summary=$(python3 "$API_CLIENT" load "$API_PORT" "$C" --conns 64 --users "$LOAD_USERS" \
  --repeat 1 --base $((B + 50000)) --accepted "$TEST_TMP/load_accepted.txt")
log "load: $summary"
assert_eq "$LOAD_USERS" "$(wc -l <"$TEST_TMP/load_accepted.txt")" "202s of the load"
N=$((BURSTS * SIZE + LOAD_USERS))
wait_eq "topic_count $T" "$N" "events in the topic" 30
events "$T" >"$TEST_TMP/sticky_events.txt"
check_events "$TEST_TMP/sticky_events.txt" "$C" "$N" >"$TEST_TMP/sticky_parts.txt" ||
  fail "sticky events"
python3 - "$TEST_TMP/burst_users.txt" "$TEST_TMP/sticky_parts.txt" "$BURSTS" <<'PY' ||
import sys
bursts = {}
for line in open(sys.argv[1]):
    r, u = map(int, line.split())
    bursts[u] = r
nb = int(sys.argv[3])
of_burst, load_parts = {}, set()
for line in open(sys.argv[2]):
    u, p = map(int, line.split())
    if u in bursts:
        of_burst.setdefault(bursts[u], set()).add(p)
    else:
        load_parts.add(p)
for r in range(nb):
    if len(of_burst.get(r, ())) != 1:
        raise SystemExit(f"burst {r}: its events are on partitions {sorted(of_burst.get(r, ()))}, not one")
seq = [next(iter(of_burst[r])) for r in range(nb)]
for r in range(1, nb):
    if seq[r] != (seq[r - 1] + 1) % 6:
        raise SystemExit(f"bursts went to partitions {seq}: not round robin")
if load_parts != set(range(6)):
    raise SystemExit(f"the load's events reached partitions {sorted(load_parts)}, not all 6")
print("bursts on partitions", " ".join(map(str, seq)))
PY
  fail "sticky partitioning"
log "events per partition: $(awk '{print $2}' "$TEST_TMP/sticky_parts.txt" | sort | uniq -c |
  awk '{printf "%s:%s ", $2, $1}')"
assert_contains "$(cat "$TEST_TMP/sticky.log")" "partitioning=sticky" "the api's start line"
assert_contains "$(grep 'msg="kafka partitions"' "$TEST_TMP/sticky.log")" \
  "partitions=6 without_leader=0 partitioning=sticky" "the partitions the api logged"
start_bg worker "$WORKER" --topic "$T" --group "$G" --redemption-topic off \
  --metrics-listen "127.0.0.1:$(free_port)"
wait_coupon_rows "$C" "$N"
proc_stop sticky

log "key: each event on its key's partition, as before"
T2=$(new_topic api_partitioning_key)
C2=$(new_coupon_id)
C3=$((C2 + 1))
coupon_meta_raw "$C2" -1
coupon_meta_raw "$C3" -1
api_up keyed --topic "$T2" --redemption-topic "$T2.r" --kafka-partitioning key
assert_contains "$(cat "$TEST_TMP/keyed.log")" "partitioning=key" "the api's start line"
B2=$((B + 200000))
bursts "$API_PORT" "$C2" "$B2" 3 >"$TEST_TMP/key_users.txt"
bursts "$API_PORT" "$C3" "$B2" 3 >/dev/null # the same users, another coupon
wait_eq "topic_count $T2" $((6 * SIZE)) "events in the key topic" 30
events "$T2" >"$TEST_TMP/key_events.txt"
check_events "$TEST_TMP/key_events.txt" "$C2" $((3 * SIZE)) >"$TEST_TMP/key_parts2.txt" ||
  fail "key events, coupon $C2"
check_events "$TEST_TMP/key_events.txt" "$C3" $((3 * SIZE)) >"$TEST_TMP/key_parts3.txt" ||
  fail "key events, coupon $C3"
diff <(sort "$TEST_TMP/key_parts2.txt") <(sort "$TEST_TMP/key_parts3.txt") >"$TEST_TMP/key_diff.txt" ||
  fail "a user's events of two coupons on different partitions: $(head -3 "$TEST_TMP/key_diff.txt")"
# librdkafka's partitioner on the same keys, through kcat (same library,
# same default partitioner) into another 6-partition topic
T3=$(new_topic api_partitioning_kcat)
awk '{print $1 ":x"}' "$TEST_TMP/key_parts2.txt" | kcat -P -b "$COUPONQ_KAFKA" -t "$T3" -K: ||
  fail "kcat produce"
wait_eq "topic_count $T3" $((3 * SIZE)) "kcat's messages" 30
kcat -b "$COUPONQ_KAFKA" -C -t "$T3" -e -q -f '%k %p\n' | sort >"$TEST_TMP/kcat_parts.txt"
diff "$TEST_TMP/kcat_parts.txt" <(sort "$TEST_TMP/key_parts2.txt") >"$TEST_TMP/kcat_diff.txt" ||
  fail "key partitioning is not librdkafka's partitioner on the key: $(head -3 "$TEST_TMP/kcat_diff.txt")"
spread=$(python3 - "$TEST_TMP/key_users.txt" "$TEST_TMP/key_parts2.txt" <<'PY'
import sys
r_of = dict(reversed(line.split()) for line in open(sys.argv[1]))
parts = {}
for line in open(sys.argv[2]):
    u, p = line.split()
    parts.setdefault(r_of[u], set()).add(p)
print(min(len(s) for s in parts.values()))
PY
)
[[ $spread -gt 1 ]] || fail "key: a burst's events all on one partition"
proc_stop keyed

# red_events TOPIC -> "partition coupon rid type" of every redemption event,
# each checked to carry its redemption id as key
red_events() {
  events "$1" | python3 -c '
import json, sys
for line in sys.stdin:
    p, k, v = line.rstrip("\n").split(" ", 2)
    ev = json.loads(v)
    if k != ev["redemption_id"]:
        raise SystemExit("event key %r is not its redemption id %s" % (k, ev["redemption_id"]))
    print(p, ev["coupon_id"], k, ev["type"])'
}
# holds PORT COUPON USERS CONFIRMS -- USERS holds (users 1..USERS, admitted
# here), one request at a time, then the first CONFIRMS confirmed
holds() {
  local port=$1 c=$2 n=$3 k=$4 u out rid rids=()
  coupon_create_raw "$c" -1
  coupon_use_raw "$c" -1 600000
  rcli SADD "$(ckey "$c" issued)" $(seq "$n") >/dev/null
  for ((u = 1; u <= n; u++)); do
    out=$(curl -s -w ' %{http_code}' -H 'Content-Type: application/json' \
      --data "{\"user_id\":$u,\"order_id\":\"o-$u\",\"order_amount\":30000}" \
      "http://127.0.0.1:$port/v1/coupons/$c/redemptions")
    [[ ${out##* } == 201 ]] || fail "hold $c/$u: $out"
    rid=$(sed -n 's/.*"redemption_id":"\([0-9A-Z]\{26\}\)".*/\1/p' <<<"$out")
    rids+=("$rid")
  done
  for ((u = 0; u < k; u++)); do
    out=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$port/v1/redemptions/${rids[u]}/confirm")
    [[ $out == 200 ]] || fail "confirm ${rids[u]}: $out"
  done
}

log "redemptions, coupon (the default): 12 coupons x (5 holds, 2 confirms)"
RT=$(new_topic api_partitioning_red)
api_up red --topic "$T" --redemption-topic "$RT"
assert_contains "$(cat "$TEST_TMP/red.log")" "redemption_partitioning=coupon" "the api's start line"
assert_contains "$(cat "$TEST_TMP/red.log")" "linger_ms=0 redemption_linger_ms=2 " "the producers' linger.ms by default"
RC=$((C2 + 10))
for ((i = 0; i < 12; i++)); do holds "$API_PORT" $((RC + i)) 5 2; done
wait_eq "topic_count $RT" $((12 * 7)) "redemption events" 30
red_events "$RT" >"$TEST_TMP/red_coupon.txt" || fail "redemption events (coupon)"
assert_eq $((12 * 7)) "$(wc -l <"$TEST_TMP/red_coupon.txt")" "redemption events read"
assert_eq 12 "$(awk '{print $2}' "$TEST_TMP/red_coupon.txt" | sort -u | wc -l)" "coupons among them"
multi=$(awk '{print $2, $1}' "$TEST_TMP/red_coupon.txt" | sort -u | awk '{print $1}' | uniq -d)
[[ -z $multi ]] || fail "coupon partitioning: coupon(s) $multi have events on more than one partition"
used=$(awk '{print $1}' "$TEST_TMP/red_coupon.txt" | sort -u | wc -l)
# 12 coupons on at most 2 of 6 partitions by chance: p < 3e-5
[[ $used -ge 3 ]] || fail "coupon partitioning: 12 coupons on $used partition(s), not spread"
log "12 coupons on $used partitions, each coupon's events on one"
proc_stop red

log "redemptions, key: one coupon's 30 holds by redemption id"
RT2=$(new_topic api_partitioning_redkey)
api_up redkey --topic "$T" --redemption-topic "$RT2" --redemption-partitioning key \
  -X linger.ms=5 --redemption-linger-ms 0
assert_contains "$(cat "$TEST_TMP/redkey.log")" "redemption_partitioning=key" "the api's start line"
assert_contains "$(cat "$TEST_TMP/redkey.log")" "linger_ms=5 redemption_linger_ms=0 " \
  "-X linger.ms sets the issuance producer, --redemption-linger-ms the redemption one"
holds "$API_PORT" $((RC + 20)) 30 10
wait_eq "topic_count $RT2" 40 "redemption events (key)" 30
red_events "$RT2" >"$TEST_TMP/red_key.txt" || fail "redemption events (key)"
multi=$(awk '{print $3, $1}' "$TEST_TMP/red_key.txt" | sort -u | awk '{print $1}' | uniq -d)
[[ -z $multi ]] || fail "key partitioning: redemption(s) $multi on more than one partition"
used=$(awk '{print $1}' "$TEST_TMP/red_key.txt" | sort -u | wc -l)
[[ $used -gt 1 ]] || fail "key partitioning: a coupon's 30 redemptions all on one partition"
proc_stop redkey
rc=0
"$API_BIN" --redemption-partitioning user >"$TEST_TMP/bad.log" 2>&1 || rc=$?
assert_eq 2 "$rc" "exit status of --redemption-partitioning user"
assert_contains "$(cat "$TEST_TMP/bad.log")" "--redemption-partitioning: expected coupon or key" "its message"

rc=0
"$API_BIN" --redemption-linger-ms 1001 >"$TEST_TMP/bad.log" 2>&1 || rc=$?
assert_eq 2 "$rc" "exit status of --redemption-linger-ms 1001"
assert_contains "$(cat "$TEST_TMP/bad.log")" "redemption-linger-ms" "its message"

rc=0
"$API_BIN" --kafka-partitioning hash >"$TEST_TMP/bad.log" 2>&1 || rc=$?
assert_eq 2 "$rc" "exit status of --kafka-partitioning hash"
assert_contains "$(cat "$TEST_TMP/bad.log")" "--kafka-partitioning: expected sticky or key" "its message"
log "ok"
