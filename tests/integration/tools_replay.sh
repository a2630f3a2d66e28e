#!/usr/bin/env bash
# tools_replay.sh -- couponq-replay against the real stack.
#
# 1. A sale's events are consumed by a worker; the coupon's rows are then
#    deleted (and issued_quantity reset); `replay --coupon ID
#    --from-beginning` brings back identical rows; a second replay changes
#    nothing; --dry-run counts duplicates; --since in the future is empty.
# 2. Events of a coupon that does not exist yet land in the DLQ
#    (unknown_coupon); `--dlq` lists them by reason; after creating the
#    coupon, `--dlq --redrive --reason unknown_coupon` re-publishes them and
#    the worker writes their rows.
source "$(dirname "$0")/../lib.sh"

need couponqctl couponq-replay couponq-worker
private_topic replay
ID=$(new_coupon_id)
ID2=$((ID + 1))
N=40

json() { python3 -c 'import json,sys; d=json.load(sys.stdin)
for k in sys.argv[1].split("."): d=d.get(k, 0) if isinstance(d, dict) else 0
print(json.dumps(d))' "$1"; }
rows() { coupon_rows "$1"; }
wait_rows() { wait_eq "rows $1" "$2" "rows of coupon $1" 30; }
snapshot() {
  sql "SELECT user_id, event_id, date_issued FROM coupon_issues WHERE coupon_id=$1 ORDER BY user_id"
}
# events COUPON FIRST_USER COUNT -> key<TAB>event lines, as the api writes them
events() {
  local c=$1 u=$2 i
  for ((i = 0; i < $3; i++)); do
    printf '%s\t{"type":"coupon.issue.requested","v":1,"event_id":"01JDBX7K3M4N5P6Q7R8S%06d","coupon_id":%s,"user_id":%s,"seq":%s,"requested_at":"2026-11-22T14:00:%02d.%03dZ"}\n' \
      $((u + i)) $((u + i)) "$c" $((u + i)) $((i + 1)) $((i % 60)) $((i * 7 % 1000))
  done
}
produce() { kcat -b "$COUPONQ_KAFKA" -P -t "$T" -K $'\t'; }

log "coupon $ID (and $ID2) topic $T"
"$CTL" create --id "$ID" --title "replay test" --quantity 100 --end +1h >/dev/null
events "$ID" 5000 $N | produce
start_bg worker "$WORKER" --group "$G" --metrics-listen off --batch-ms 20
WORKER_PID=$BG_PID
wait_rows "$ID" $N
before=$(snapshot "$ID")

# The worker stops: replay alone must bring the rows back.
kill -TERM "$WORKER_PID"
wait "$WORKER_PID" 2>/dev/null || true
sql "DELETE FROM coupon_issues WHERE coupon_id=$ID; UPDATE coupons SET issued_quantity=0 WHERE id=$ID"
assert_eq 0 "$(rows "$ID")" "rows deleted"

out=$("$REPLAY" --coupon "$ID" --from-beginning --dry-run --json 2>/dev/null)
assert_eq $N "$(json inserted <<<"$out")" "dry run: would insert"
assert_eq 0 "$(rows "$ID")" "dry run writes nothing"

out=$("$REPLAY" --coupon "$ID" --from-beginning --json 2>/dev/null) || fail "replay failed: $out"
assert_eq $N "$(json inserted <<<"$out")" "replay inserted"
assert_eq $N "$(json matched <<<"$out")" "replay matched"
assert_eq "$before" "$(snapshot "$ID")" "rows after replay"
assert_eq $N "$(sql "SELECT issued_quantity FROM coupons WHERE id=$ID")" "issued_quantity after replay"

out=$("$REPLAY" --coupon "$ID" --from-beginning --json 2>/dev/null) || fail "second replay failed: $out"
assert_eq 0 "$(json inserted <<<"$out")" "second replay inserted"
assert_eq $N "$(json duplicate <<<"$out")" "second replay duplicates"
assert_eq "$before" "$(snapshot "$ID")" "rows after the second replay"
assert_eq $N "$(sql "SELECT issued_quantity FROM coupons WHERE id=$ID")" "issued_quantity after the second replay"

out=$("$REPLAY" --coupon "$ID" --from-beginning --dry-run --json 2>/dev/null)
assert_eq "0 $N" "$(json inserted <<<"$out") $(json duplicate <<<"$out")" "dry run after replay"
out=$("$REPLAY" --coupon "$ID" --since +1h --json 2>/dev/null)
assert_eq 0 "$(json scanned <<<"$out")" "--since in the future scans nothing"
out=$("$REPLAY" --coupon "$ID" --from-offsets 0:0 --json 2>/dev/null)
p0=$(kcat -b "$COUPONQ_KAFKA" -C -t "$T" -p 0 -e -q -f '.\n' | wc -l)
assert_eq "$p0" "$(json scanned <<<"$out")" "--from-offsets 0:0 scans partition 0 only"

set +e
"$REPLAY" --coupon "$ID" >/dev/null 2>&1
assert_eq 2 "$?" "replay without a start"
"$REPLAY" --from-offsets 0:x >/dev/null 2>&1
assert_eq 2 "$?" "replay with bad offsets"
"$REPLAY" --from-beginning --redrive >/dev/null 2>&1
assert_eq 2 "$?" "--redrive without --dlq"
set -e

# DLQ: events of a coupon that does not exist yet.
events "$ID2" 7000 5 | produce
start_bg worker2 "$WORKER" --group "$G" --metrics-listen off --batch-ms 20
dlq_unknown() { "$REPLAY" --dlq --coupon "$ID2" --json 2>/dev/null | json reasons.unknown_coupon; }
wait_eq dlq_unknown 5 "DLQ entries with reason unknown_coupon" 30
assert_eq 0 "$(rows "$ID2")" "no rows for the missing coupon"
# The DLQ is at-least-once: one more entry, written twice (same source).
for _ in 1 2; do
  events "$ID2" 7100 1 | kcat -b "$COUPONQ_KAFKA" -P -t "$T.dlq" -K $'\t' \
    -H reason=unknown_coupon -H source_topic="$T" -H source_partition=5 -H source_offset=999999
done
out=$("$REPLAY" --dlq --coupon "$ID2" --json 2>/dev/null)
assert_eq "6 1" "$(json reasons.unknown_coupon <<<"$out") $(json repeats <<<"$out")" "DLQ listing counts a repeated entry once"

"$CTL" create --id "$ID2" --title "created late" --quantity 10 --end +1h >/dev/null
out=$("$REPLAY" --dlq --redrive --reason over_quantity --coupon "$ID2" --json 2>/dev/null)
assert_eq 0 "$(json redriven <<<"$out")" "redrive of another reason"
out=$("$REPLAY" --dlq --redrive --reason unknown_coupon --coupon "$ID2" --json 2>/dev/null)
assert_eq 6 "$(json redriven <<<"$out")" "entries redriven"
wait_rows "$ID2" 6
assert_eq 6 "$(sql "SELECT issued_quantity FROM coupons WHERE id=$ID2")" "issued_quantity of the redriven coupon"
log "ok"
