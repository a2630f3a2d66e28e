#!/usr/bin/env bash
# worker_crash.sh -- 50,000 events for 50,000 users of a coupon of quantity
# 40,000, drained by 3 workers while one of them is kill -9'ed (and
# restarted) every 2 s: exactly 40,000 rows, issued_quantity 40,000, the
# other 10,000 users in the DLQ as over_quantity and without a row, no
# duplicate. (The DLQ is at-least-once: a worker killed between the DLQ ack
# and its offset commit sends those entries again on replay, so entries are
# counted by distinct source partition/offset.) The events are produced in
# paced chunks while the workers run, so the kills land mid-drain however
# fast the workers are.
source "$(dirname "$0")/../lib.sh"

WORKER=$COUPONQ_BUILD/couponq-worker
GEN=$COUPONQ_SRC/bench/drain/gen_events.py
N=${CRASH_EVENTS:-50000}
Q=${CRASH_QUANTITY:-40000}
T=$(new_topic worker_crash)
GROUP=couponq-test-crash-$(date +%s%N)
C=$(new_coupon_id)
coupon_create_raw "$C" "$Q"

CHUNKS=${CRASH_CHUNKS:-25} # one chunk a second: ~25 s of traffic, ~12 kills
produce() {
  local i per=$((N / CHUNKS))
  for ((i = 0; i < CHUNKS; i++)); do
    python3 "$GEN" "$C" $((1 + i * per)) "$per" $((1 + i * per)) |
      kcat -P -b "$COUPONQ_KAFKA" -t "$T" -K:
    sleep 1
  done
}
((N % CHUNKS == 0)) || fail "CRASH_EVENTS must be a multiple of CRASH_CHUNKS"
log "producing $N events to $T in $CHUNKS paced chunks while workers run"
start_bg producer produce
PRODUCER=$BG_PID

W=()
start_worker() { # start_worker SLOT
  start_bg "worker$1.$(date +%s%N)" "$WORKER" --topic "$T" --group "$GROUP" \
    --batch-size 500 --batch-ms 100 --metrics-listen off \
    -X session.timeout.ms=6000 -X heartbeat.interval.ms=500
  W[$1]=$BG_PID
}
for s in 0 1 2; do start_worker "$s"; done

rows() { sql "SELECT COUNT(*) FROM coupon_issues WHERE coupon_id=$C"; }
dlq_distinct() {
  { kcat -b "$COUPONQ_KAFKA" -C -t "$T.dlq" -e -q -f '%h\n' 2>/dev/null || true; } |
    { grep 'reason=over_quantity' || true; } |
    { grep -o 'source_partition=[0-9]*,source_offset=[0-9]*' || true; } | sort -u | wc -l
}
kills=0
deadline=$((SECONDS + 400))
while ((SECONDS < deadline)); do
  sleep 2
  r=$(rows)
  d=$(dlq_distinct)
  log "rows=$r over_quantity_dlq=$d kills=$kills"
  if [[ $r == "$Q" && $d == $((N - Q)) ]] && ! kill -0 "$PRODUCER" 2>/dev/null; then break; fi
  s=$((RANDOM % 3))
  kill -KILL "${W[$s]}" 2>/dev/null || true
  wait "${W[$s]}" 2>/dev/null || true
  kills=$((kills + 1))
  start_worker "$s"
done
((SECONDS < deadline)) || fail "not drained in time: rows=$(rows) dlq=$(dlq_distinct)"
((kills >= 3)) || fail "only $kills kills happened: the test did not test crashes"
assert_eq "$N" "$(topic_count "$T")" "events in the topic"
sleep 2 # a late, wrong write would show now

assert_eq "$Q" "$(rows)" "rows"
assert_eq "$Q" "$(sql "SELECT COUNT(DISTINCT user_id) FROM coupon_issues WHERE coupon_id=$C")" "distinct users"
assert_eq "$Q" "$(sql "SELECT issued_quantity FROM coupons WHERE id=$C")" "issued_quantity"
assert_eq $((N - Q)) "$(dlq_distinct)" "distinct over_quantity DLQ entries"
# Every user is either a row or an over_quantity DLQ entry, never both.
kcat -b "$COUPONQ_KAFKA" -C -t "$T.dlq" -e -q -f '%s\n' 2>/dev/null |
  grep -o '"user_id":[0-9]*' | cut -d: -f2 | sort -u >"$TEST_TMP/dlq_users"
sql "SELECT user_id FROM coupon_issues WHERE coupon_id=$C" | sort -u >"$TEST_TMP/row_users"
assert_eq $((N - Q)) "$(wc -l <"$TEST_TMP/dlq_users")" "distinct users in the DLQ"
assert_eq 0 "$(comm -12 "$TEST_TMP/dlq_users" "$TEST_TMP/row_users" | wc -l)" "users both in the DLQ and in rows"
assert_eq "$N" "$(sort -u "$TEST_TMP/dlq_users" "$TEST_TMP/row_users" | wc -l)" "users accounted for"
total=$(kcat -b "$COUPONQ_KAFKA" -C -t "$T.dlq" -e -q -f '.\n' 2>/dev/null | wc -l)
log "kills=$kills dlq_entries_total=$total (distinct $((N - Q)))"
log PASS
