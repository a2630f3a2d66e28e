#!/usr/bin/env bash
# worker_static.sh -- static group membership (--instance-id, KIP-345).
#
# (a) Two workers with static ids drain a sale; one is kill -9'ed and
#     restarted with the same id. The broker hands the restarted member its
#     old partitions without a rebalance: the surviving worker is never
#     revoked, the group still has the same two instance ids with the same
#     assignment, and the events produced after the restart all become rows.
#     (With dynamic membership the restart is a new member: the survivor is
#     revoked, after waiting session.timeout.ms for the dead one.)
# (b) A second worker started with the id of a running one: the broker
#     fences the older one, which exits 1 with one ERROR line naming the
#     duplicate --instance-id, while the newer one carries on; every user is
#     exactly one row, issued_quantity matches, no over_quantity DLQ entry
#     is missing.
# (c) Bad ids are flag errors: exit 2 with a message naming --instance-id;
#     the flag wins over -X group.instance.id, and an empty id is dynamic.
source "$(dirname "$0")/../lib.sh"
need couponq-worker

GEN=$COUPONQ_SRC/bench/drain/gen_events.py
produce() { # produce COUPON FIRST_USER COUNT
  python3 "$GEN" "$1" "$2" "$3" "$2" | kcat -P -b "$COUPONQ_KAFKA" -t "$T" -K:
}
# start_worker NAME ID [flags] -- a worker of $T in $GROUP with instance id ID
start_worker() {
  local name=$1 id=$2
  shift 2
  start_bg "$name" "$WORKER" --topic "$T" --redemption-topic off --group "$GROUP" \
    --instance-id "$id" --batch-size 200 --batch-ms 50 --metrics-listen off "$@"
}
# members -> "instance-id assignment" per member, sorted (the broker's view)
members() {
  kafka_java org.apache.kafka.tools.consumer.group.ConsumerGroupCommand \
    --bootstrap-server "$COUPONQ_KAFKA" --describe --group "$GROUP" --members --verbose 2>/dev/null |
    awk -v g="$GROUP" '$1 == g { print $3, $NF }' | sort
}
revokes() { grep -c 'partitions revoked' "$TEST_TMP/$1.log" || true; }
assigns() { grep -c 'partitions assigned' "$TEST_TMP/$1.log" || true; }

# ------------------------------------------------------------ (c) flags
for bad in 'has space' 'a/b' '..' "$(printf 'x%.0s' {1..250})" 'ünï'; do
  rc=0
  out=$("$WORKER" --instance-id "$bad" 2>&1) || rc=$?
  assert_eq 2 "$rc" "exit status for --instance-id '${bad:0:20}'"
  assert_contains "$out" "--instance-id: " "message for '${bad:0:20}'"
done
rc=0
out=$(COUPONQ_WORKER_INSTANCE_ID='no!' "$WORKER" 2>&1) || rc=$?
assert_eq 2 "$rc" "exit status for COUPONQ_WORKER_INSTANCE_ID='no!'"
assert_contains "$out" "--instance-id: character '!' at 3" "message for the environment"
log "(c) bad ids exit 2 with a message"

T=$(new_topic worker_static_flags 2)
GROUP=couponq-test-static-flags-$(date +%s%N)
start_worker flag over-x -X group.instance.id=from-x
wait_log flag 'msg="consuming"' 30
assert_contains "$(cat "$TEST_TMP/flag.log")" "instance_id=over-x " "--instance-id over -X"
proc_stop flag
start_bg dyn env COUPONQ_WORKER_INSTANCE_ID= "$WORKER" --topic "$T" --redemption-topic off \
  --group "$GROUP.dyn" --metrics-listen off
wait_log dyn 'msg="consuming"' 30
assert_contains "$(cat "$TEST_TMP/dyn.log")" "instance_id=dynamic " "empty id"
proc_stop dyn
assert_contains "$(cat "$TEST_TMP/dyn.log")" 'msg="left the group"' "a dynamic member leaves"

# ------------------------------------------------------------ (a) restart
T=$(new_topic worker_static 6)
GROUP=couponq-test-static-$(date +%s%N)
C=$(new_coupon_id)
coupon_create_raw "$C" -1
start_worker s1 static-1
start_worker s2 static-2
wait_log s1 'partitions assigned' 30
wait_log s2 'partitions assigned' 30
produce "$C" 1 3000
wait_coupon_rows "$C" 3000
before=$(members)
assert_eq 2 "$(wc -l <<<"$before")" "members before the kill: $before"
r1=$(revokes s1)
a1=$(assigns s1)
log "(a) group before: $(tr '\n' ' ' <<<"$before"); s1 revoked $r1 times so far"

proc_kill s2 KILL
start_worker s2b static-2
wait_log s2b 'partitions assigned' 30
produce "$C" 3001 3000
wait_coupon_rows "$C" 6000
after=$(members)
log "(a) group after the restart: $(tr '\n' ' ' <<<"$after")"
assert_eq "$before" "$after" "members and their partitions after kill -9 + restart"
assert_eq "$r1" "$(revokes s1)" "revocations of the surviving worker"
assert_eq "$a1" "$(assigns s1)" "assignments of the surviving worker"
assert_eq 1 "$(assigns s2b)" "assignments of the restarted worker"
n=$(grep -o 'partitions assigned" n=[0-9]*' "$TEST_TMP/s2.log" | tail -n 1)
assert_eq "$n" "$(grep -o 'partitions assigned" n=[0-9]*' "$TEST_TMP/s2b.log")" "partitions of the restarted worker"
assert_eq 6000 "$(sql "SELECT COUNT(DISTINCT user_id) FROM coupon_issues WHERE coupon_id=$C")" "distinct users"
proc_stop s1
proc_stop s2b
assert_contains "$(cat "$TEST_TMP/s1.log")" 'static member, still in the group' "a static member's stop"

# ------------------------------------------------------------ (b) duplicate
N=12000
Q=10000
T=$(new_topic worker_static_dup 6)
GROUP=couponq-test-static-dup-$(date +%s%N)
C=$(new_coupon_id)
coupon_create_raw "$C" "$Q"
start_worker d1 dup --log-level debug
start_worker d2 other
wait_log d1 'partitions assigned' 30
wait_log d2 'partitions assigned' 30
for ((k = 0; k < 4; k++)); do
  produce "$C" $((k * 1500 + 1)) 1500
  if ((k == 1)); then
    start_worker d3 dup
    wait_log d3 'partitions assigned' 30
  fi
  sleep 0.5
done
# shellcheck disable=SC2016 # expanded by wait_for's eval
wait_for '! kill -0 "${PROC_PID[d1]}"' 30 || fail "the older worker with the id 'dup' still runs"
rc=0
wait "${PROC_PID[d1]}" || rc=$?
forget_pid "${PROC_PID[d1]}"
assert_eq 1 "$rc" "exit status of the fenced worker"
fenced=$(grep -c 'level=error.*another worker runs with the same --instance-id' "$TEST_TMP/d1.log" || true)
assert_eq 1 "$fenced" "ERROR lines naming the duplicate id in the fenced worker's log"
# d1 runs at debug level: every batch whose offsets it commits logs "batch
# committed". Once it knows it is fenced it commits nothing and revokes nothing.
sed -n '/same --instance-id/,$p' "$TEST_TMP/d1.log" >"$TEST_TMP/d1.after"
assert_eq 0 "$(grep -c 'batch committed\|partitions revoked' "$TEST_TMP/d1.after" || true)" \
  "batches committed or partitions revoked by the fenced worker after its ERROR line"
kill -0 "${PROC_PID[d3]}" || fail "the newer worker with the id 'dup' exited: $(tail -n 3 "$TEST_TMP/d3.log")"
kill -0 "${PROC_PID[d2]}" || fail "the other worker exited: $(tail -n 3 "$TEST_TMP/d2.log")"
for ((k = 4; k < N / 1500; k++)); do produce "$C" $((k * 1500 + 1)) 1500; done
dlq_distinct() {
  { kcat -b "$COUPONQ_KAFKA" -C -t "$T.dlq" -e -q -f '%h\n' 2>/dev/null || true; } |
    { grep 'reason=over_quantity' || true; } |
    { grep -o 'source_partition=[0-9]*,source_offset=[0-9]*' || true; } | sort -u | wc -l
}
wait_coupon_rows "$C" "$Q"
wait_eq dlq_distinct $((N - Q)) "distinct over_quantity DLQ entries" 60
sleep 1 # a late, wrong write would show now
assert_eq "$Q" "$(coupon_rows "$C")" "rows"
assert_eq "$Q" "$(sql "SELECT COUNT(DISTINCT user_id) FROM coupon_issues WHERE coupon_id=$C")" "distinct users"
assert_eq "$Q" "$(sql "SELECT issued_quantity FROM coupons WHERE id=$C")" "issued_quantity"
kcat -b "$COUPONQ_KAFKA" -C -t "$T.dlq" -e -q -f '%s\n' 2>/dev/null |
  grep -o '"user_id":[0-9]*' | cut -d: -f2 | sort -u >"$TEST_TMP/dlq_users"
sql "SELECT user_id FROM coupon_issues WHERE coupon_id=$C" | sort -u >"$TEST_TMP/row_users"
assert_eq 0 "$(comm -12 "$TEST_TMP/dlq_users" "$TEST_TMP/row_users" | wc -l)" "users both in the DLQ and in rows"
assert_eq "$N" "$(sort -u "$TEST_TMP/dlq_users" "$TEST_TMP/row_users" | wc -l)" "users accounted for"
log "(b) the older 'dup' exited $rc, fenced; rows=$Q over_quantity=$((N - Q))"
log PASS
