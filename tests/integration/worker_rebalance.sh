#!/usr/bin/env bash
# worker_rebalance.sh -- graceful membership changes in the middle of a
# drain: workers join one by one while events keep arriving, then one
# leaves with SIGTERM. Each rebalance revokes the partitions; a revoked
# partition's open batch is written and its offsets committed before it is
# given up, so nothing is lost and nothing is counted twice: exact rows and
# issued_quantity, every over_quantity DLQ entry present, and none twice.
#
# "None twice" is the regression test for the workaround of
# confluentinc/librdkafka#4059 (worker.c): with cooperative-sticky,
# librdkafka 2.0.2 could fail a commit made between the two phases of an
# incremental rebalance with ILLEGAL_GENERATION and declare the assignment
# lost, and the next owner then replayed that batch (DLQ entries sent
# again). The eager assignor commits in the revoke callback, while the
# generation is still valid.
source "$(dirname "$0")/../lib.sh"

WORKER=$COUPONQ_BUILD/couponq-worker
GEN=$COUPONQ_SRC/bench/drain/gen_events.py
CHUNK=2500
CHUNKS=12
N=$((CHUNK * CHUNKS))
Q=25000
T=$(new_topic worker_rebalance)
GROUP=couponq-test-rebalance-$(date +%s%N)
C=$(new_coupon_id)
coupon_create_raw "$C" "$Q"

start_worker() {
  start_bg "worker$1" "$WORKER" --topic "$T" --group "$GROUP" \
    --batch-size 200 --batch-ms 50 --metrics-listen off
}
declare -A W
for ((k = 0; k < CHUNKS; k++)); do
  python3 "$GEN" "$C" $((k * CHUNK + 1)) "$CHUNK" $((k * CHUNK + 1)) |
    kcat -P -b "$COUPONQ_KAFKA" -t "$T" -K:
  case $k in
  0) start_worker a; W[a]=$BG_PID ;;
  2) start_worker b; W[b]=$BG_PID ;;
  4) start_worker c; W[c]=$BG_PID ;;
  7)
    kill -TERM "${W[a]}"
    rc=0
    wait "${W[a]}" || rc=$?
    assert_eq 0 "$rc" "exit status of the worker that left"
    ;;
  9) start_worker d; W[d]=$BG_PID ;;
  esac
  sleep 1
done

rows() { sql "SELECT COUNT(*) FROM coupon_issues WHERE coupon_id=$C"; }
dlq_entries() {
  { kcat -b "$COUPONQ_KAFKA" -C -t "$T.dlq" -e -q -f '%h\n' 2>/dev/null || true; } |
    { grep -o 'source_partition=[0-9]*,source_offset=[0-9]*' || true; }
}
for ((i = 0; i < 300; i++)); do
  if [[ $(rows) == "$Q" && $(dlq_entries | wc -l) -ge $((N - Q)) ]]; then break; fi
  sleep 0.2
done
sleep 1
for x in b c d; do
  kill -TERM "${W[$x]}"
  rc=0
  wait "${W[$x]}" || rc=$?
  assert_eq 0 "$rc" "exit status of worker $x"
done
assert_eq "$Q" "$(rows)" "rows"
assert_eq "$Q" "$(sql "SELECT issued_quantity FROM coupons WHERE id=$C")" "issued_quantity"
assert_eq $((N - Q)) "$(dlq_entries | sort -u | wc -l)" "distinct DLQ entries"
revokes=$(cat "$TEST_TMP"/worker*.log | grep -c 'partitions revoked' || true)
((revokes >= 3)) || fail "only $revokes revocations: the test did not rebalance"
lost=$(cat "$TEST_TMP"/worker*.log | grep -c 'lost=1' || true)
assert_eq 0 "$lost" "assignments lost"
assert_eq $((N - Q)) "$(dlq_entries | wc -l)" "DLQ entries (replayed batches send theirs twice)"
log "revocations=$revokes lost_assignments=$lost dlq_entries=$(dlq_entries | wc -l) (distinct $((N - Q)))"
log PASS
