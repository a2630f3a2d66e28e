#!/usr/bin/env bash
# worker_mysql_outage.sh -- MySQL stopped for 20 s in the middle of a drain
# and started again: the workers retry (paused, still in the group), nothing
# is lost, nothing is written twice. Runs against a PRIVATE MariaDB (its own
# port and data dir under $TEST_TMP), never the shared one.
source "$(dirname "$0")/../lib.sh"

WORKER=$COUPONQ_BUILD/couponq-worker
GEN=$COUPONQ_SRC/bench/drain/gen_events.py
N1=10000
N2=20000
N=$((N1 + N2))
Q=25000
PPORT=$(free_port)
PRIV="mysql://root@127.0.0.1:$PPORT/couponq"
pstack() { COUPONQ_STACK_DIR=$TEST_TMP/stack COUPONQ_MYSQL=$PRIV "$COUPONQ_SRC/scripts/stack" "$@" >>"$TEST_TMP/stack.log" 2>&1; }
psql_() { mariadb --no-defaults -h127.0.0.1 -P"$PPORT" -uroot couponq -N -B -e "$1"; }
cleanup_private() {
  pstack down mysql || true
  cleanup_lib
}
trap cleanup_private EXIT

log "starting a private MariaDB on port $PPORT"
pstack up mysql || fail "private mysql did not start: $(tail -5 "$TEST_TMP/stack.log")"
C=$(new_coupon_id)
psql_ "INSERT INTO coupons (id, title, total_quantity, date_issue_start, date_issue_end)
       VALUES ($C, 'outage', $Q, NOW() - INTERVAL 1 MINUTE, NOW() + INTERVAL 1 HOUR)"

T=$(new_topic worker_outage)
GROUP=couponq-test-outage-$(date +%s%N)
python3 "$GEN" "$C" 1 "$N1" | kcat -P -b "$COUPONQ_KAFKA" -t "$T" -K:
for s in 0 1; do
  start_bg "worker$s" "$WORKER" --topic "$T" --group "$GROUP" --mysql "$PRIV" \
    --batch-size 200 --batch-ms 50 --retry-max-ms 2000 --metrics-listen off
done

rows() { psql_ "SELECT COUNT(*) FROM coupon_issues WHERE coupon_id=$C" 2>/dev/null || echo down; }
for ((i = 0; i < 300; i++)); do
  r=$(rows)
  if [[ $r != down && $r -gt 0 ]]; then break; fi
  sleep 0.1
done
log "rows before the outage: $(rows)"
pstack down mysql
log "mysql stopped; producing $N2 more events during the outage"
python3 "$GEN" "$C" $((N1 + 1)) "$N2" $((N1 + 1)) | kcat -P -b "$COUPONQ_KAFKA" -t "$T" -K:
sleep 20
for f in "$TEST_TMP"/worker*.log; do
  grep -q 'retrying batch' "$f" || fail "$(basename "$f"): no retry during the outage"
done
for p in "${BG_PIDS[@]}"; do kill -0 "$p" || fail "a worker died during the outage"; done
pstack up mysql || fail "private mysql did not restart"
log "mysql back; rows=$(rows)"

dlq_distinct() {
  { kcat -b "$COUPONQ_KAFKA" -C -t "$T.dlq" -e -q -f '%h\n' 2>/dev/null || true; } |
    { grep -o 'reason=over_quantity.*source_partition=[0-9]*,source_offset=[0-9]*' || true; } |
    sed -E 's/.*(source_partition=[0-9]*,source_offset=[0-9]*)/\1/' | sort -u | wc -l
}
for ((i = 0; i < 120; i++)); do
  if [[ $(rows) == "$Q" && $(dlq_distinct) == $((N - Q)) ]]; then break; fi
  sleep 0.5
done
sleep 1
assert_eq "$Q" "$(rows)" "rows after the outage"
assert_eq "$Q" "$(psql_ "SELECT COUNT(DISTINCT user_id) FROM coupon_issues WHERE coupon_id=$C")" "distinct users"
assert_eq "$Q" "$(psql_ "SELECT issued_quantity FROM coupons WHERE id=$C")" "issued_quantity"
assert_eq $((N - Q)) "$(dlq_distinct)" "over_quantity DLQ entries"
for f in "$TEST_TMP"/worker*.log; do
  if grep -q 'lost=1' "$f"; then fail "$(basename "$f") lost its assignment during the outage"; fi
done
log PASS
