#!/usr/bin/env bash
# worker_basic.sh -- couponq-worker against the real stack: events become
# rows, duplicates become nothing, over-quantity and every malformed kind go
# to the DLQ with their reason, offsets are committed (a restarted worker of
# the same group re-reads nothing), SIGTERM exits 0.
source "$(dirname "$0")/../lib.sh"

WORKER=$COUPONQ_BUILD/couponq-worker
GEN=$COUPONQ_SRC/bench/drain/gen_events.py
T=$(new_topic worker_basic)
GROUP=couponq-test-basic-$(date +%s%N)
A=$(new_coupon_id)   # quantity 5
B=$((A + 1))         # unlimited
U=$((A + 2))         # never created: unknown_coupon
coupon_create_raw "$A" 5
coupon_create_raw "$B" -1
MPORT=$(free_port)

produce() { kcat -P -b "$COUPONQ_KAFKA" -t "$T" -K: ; }
ev() { # ev COUPON USER SEQ -> one valid event line
  python3 "$GEN" "$1" "$2" 1 "$3"
}
# coupon B: 20 users, then users 1..5 again (new events, same users)
python3 "$GEN" "$B" 1 20 | produce
python3 "$GEN" "$B" 1 5 100 | produce
# coupon A (quantity 5): 8 users -> 5 rows, 3 over_quantity
python3 "$GEN" "$A" 1 8 | produce
# one of each malformed kind, and an unknown coupon
good=$(ev "$B" 999 1 | cut -d: -f2-)
{
  echo "7:this is not json"
  echo "7:${good/\"v\":1/\"v\":2}"
  echo "7:${good/\"user_id\":999,/}"
  echo "7:${good/\"type\":\"coupon.issue.requested\"/\"type\":\"other\"}"
  echo "7:${good/\}/,\"extra\":1\}}"
  ev "$U" 5 1
} | produce

start_bg worker "$WORKER" --topic "$T" --group "$GROUP" --batch-ms 200 \
  --metrics-listen "127.0.0.1:$MPORT" --log-level debug
WPID=$BG_PID

rows() { sql "SELECT COUNT(*) FROM coupon_issues WHERE coupon_id=$1"; }
dlq() { kcat -b "$COUPONQ_KAFKA" -C -t "$T.dlq" -e -q -f '%h %s\n' 2>/dev/null; }
for ((i = 0; i < 300; i++)); do
  if [[ $(rows "$B") == 20 && $(rows "$A") == 5 && $(dlq | wc -l) -ge 9 ]]; then break; fi
  sleep 0.2
done
sleep 1 # anything extra would show now
assert_eq 20 "$(rows "$B")" "rows of coupon B"
assert_eq 20 "$(sql "SELECT issued_quantity FROM coupons WHERE id=$B")" "issued_quantity of B"
assert_eq 5 "$(rows "$A")" "rows of coupon A (quantity 5)"
assert_eq 5 "$(sql "SELECT issued_quantity FROM coupons WHERE id=$A")" "issued_quantity of A"
assert_eq 0 "$(rows "$U")" "rows of the unknown coupon"
assert_eq 0 "$(sql "SELECT COUNT(*) FROM coupon_issues WHERE coupon_id=$B AND user_id=999")" "row of a malformed event"

D=$(dlq)
log "DLQ:"$'\n'"$D"
assert_eq 9 "$(wc -l <<<"$D")" "DLQ entries"
reasons=$(grep -o 'reason=[a-z_]*' <<<"$D" | sort | uniq -c | awk '{print $2"x"$1}' | tr '\n' ' ')
assert_eq "reason=bad_jsonx1 reason=missing_fieldx1 reason=over_quantityx3 reason=unknown_couponx1 reason=unknown_fieldx1 reason=wrong_typex1 reason=wrong_versionx1 " \
  "$reasons" "DLQ reasons"
assert_contains "$D" "source_topic=$T" "DLQ source_topic header"
assert_contains "$D" "source_partition=" "DLQ source_partition header"
assert_contains "$D" "source_offset=" "DLQ source_offset header"
assert_contains "$(grep 'reason=bad_json' <<<"$D")" "this is not json" "DLQ keeps the original value"

assert_eq 20 "$(rcli SCARD "$(ckey "$B" persisted)")" "persisted set of B"
assert_eq 5 "$(rcli SCARD "$(ckey "$A" persisted)")" "persisted set of A"

M=$(metrics "$MPORT")
assert_metric "$M" "couponq_worker_rows_inserted_total" 25 "rows metric"
assert_metric "$M" "couponq_worker_duplicates_total" 5 "duplicates metric"
assert_metric "$M" 'couponq_worker_dlq_total{reason="over_quantity"}' 3 "dlq metric"
assert_metric "$M" "couponq_worker_events_total" 39 "events metric"

# SIGTERM: clean exit 0.
kill -TERM "$WPID"
rc=0
wait "$WPID" || rc=$?
assert_eq 0 "$rc" "worker exit status after SIGTERM"

# Same group again: offsets were committed, so nothing is re-read; new
# duplicates of committed users change nothing.
python3 "$GEN" "$B" 1 5 200 | produce
start_bg worker2 "$WORKER" --topic "$T" --group "$GROUP" --batch-ms 200 \
  --metrics-listen "127.0.0.1:$MPORT"
for ((i = 0; i < 150; i++)); do
  M=$(metrics "$MPORT" || true)
  if [[ $M == *"couponq_worker_duplicates_total 5"* ]]; then break; fi
  sleep 0.2
done
sleep 1
M=$(metrics "$MPORT")
assert_metric "$M" "couponq_worker_events_total" 5 "events re-read after restart (offsets committed)"
assert_metric "$M" "couponq_worker_duplicates_total" 5 "duplicates after restart"
assert_eq 20 "$(rows "$B")" "rows of B after duplicate replays"
assert_eq 20 "$(sql "SELECT issued_quantity FROM coupons WHERE id=$B")" "issued_quantity of B after duplicates"
assert_eq 9 "$(dlq | wc -l)" "DLQ entries after restart"
kill -TERM "$BG_PID"
wait "$BG_PID" || fail "worker2 did not exit 0 after SIGTERM"

# SIGTERM with an open batch (a batch that would wait a minute to fill):
# the worker writes it and commits before it exits. (No redemption topic:
# the shared couponq.redemptions may hold other tests' events, which would
# join the open batch and its count.)
python3 "$GEN" "$B" 21 10 300 | produce
start_bg worker3 "$WORKER" --topic "$T" --group "$GROUP" --batch-ms 60000 \
  --batch-size 100000 --metrics-listen "127.0.0.1:$MPORT" --redemption-topic off
W3=$BG_PID
for ((i = 0; i < 150; i++)); do
  M=$(metrics "$MPORT" || true)
  if [[ $M == *"couponq_worker_events_total 10"* ]]; then break; fi
  sleep 0.2
done
assert_metric "$M" "couponq_worker_events_total" 10 "events held in the open batch"
assert_eq 20 "$(rows "$B")" "rows before SIGTERM (batch still open)"
kill -TERM "$W3"
rc=0
wait "$W3" || rc=$?
assert_eq 0 "$rc" "exit status after SIGTERM with an open batch"
assert_eq 30 "$(rows "$B")" "rows after SIGTERM flushed the open batch"
assert_eq 30 "$(sql "SELECT issued_quantity FROM coupons WHERE id=$B")" "issued_quantity after SIGTERM"
grep -q 'stopping: committing the open batch" open=10' "$TEST_TMP/worker3.log" ||
  fail "worker3 did not report its open batch at stop"
log PASS
