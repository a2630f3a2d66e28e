#!/usr/bin/env bash
# bench/drain/drain.sh -- drain throughput of couponq-worker (a benchmark,
# not a test). Pre-produces EVENTS events (default 1,000,000; distinct
# users of one coupon, the flash-sale shape) into a fresh 6-partition topic,
# drains them with 1 worker and then (fresh topic, fresh coupon) with 3
# workers, and compares with a raw bulk INSERT of the same number of rows in
# 1,000-row transactions through the mariadb client, in the same run.
#
#   COUPONQ_BUILD=build-rel bench/drain/drain.sh      (use a Release build)
#
# Prints rows/s: "total" counts from worker start (includes joining the
# group), "steady" from the first committed row to the last.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${COUPONQ_BUILD:-$SRC/build-rel}
EVENTS=${EVENTS:-1000000}
BATCH=${BATCH:-5000}
KAFKA=${COUPONQ_KAFKA:-127.0.0.1:19092}
MYSQL_PORT=${MYSQL_PORT:-13306}
GEN=$SRC/bench/drain/gen_events.py
TMP=$(mktemp -d /tmp/couponq-drain.XXXXXX)
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
sql() { mariadb --no-defaults -h127.0.0.1 -P"$MYSQL_PORT" -uroot couponq -N -B -e "$1"; }
now() { date +%s.%N; }
new_coupon() {
  local id=$(( ($(date +%s%N) / 1000) % 900000000000 + 2000000 + RANDOM ))
  sql "INSERT INTO coupons (id, title, total_quantity, date_issue_start, date_issue_end)
       VALUES ($id, 'drain bench', $EVENTS, NOW() - INTERVAL 1 MINUTE, NOW() + INTERVAL 1 DAY)"
  echo "$id"
}
prepare() { # prepare COUPON -> topic with EVENTS events
  local t="couponq.bench.drain.$(date +%s%N)"
  "$SRC/scripts/stack" topic "$t" 6 >/dev/null
  python3 "$GEN" "$1" 1 "$EVENTS" | kcat -P -b "$KAFKA" -t "$t" -K: -X linger.ms=50 -X batch.num.messages=10000
  echo "$t"
}
# drain NWORKERS TOPIC COUPON -> "total_rps steady_rps"
drain() {
  local n=$1 t=$2 c=$3 i t0 t1 tfirst="" rows=0
  t0=$(now)
  for ((i = 0; i < n; i++)); do
    "$BUILD/couponq-worker" --topic "$t" --group "bench-$t" --batch-size "$BATCH" \
      --batch-ms 200 --metrics-listen off --log-level warn >"$TMP/w$n.$i.log" 2>&1 &
    PIDS+=($!)
  done
  while ((rows < EVENTS)); do
    sleep 0.2
    rows=$(sql "SELECT issued_quantity FROM coupons WHERE id=$c")
    if [[ -z $tfirst && $rows -gt 0 ]]; then tfirst=$(now); fi
  done
  t1=$(now)
  for ((i = 0; i < n; i++)); do kill -TERM "${PIDS[-1 - i]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [[ $(sql "SELECT COUNT(*) FROM coupon_issues WHERE coupon_id=$c") == "$EVENTS" ]] || echo "WARNING: row count differs" >&2
  python3 -c "print('%.0f %.0f' % ($EVENTS/($t1-$t0), $EVENTS/($t1-$tfirst)))"
}
raw_insert() { # raw_insert COUPON -> rows/s of 1,000-row multi-row INSERT transactions
  local c=$1 t0 t1
  python3 - "$c" "$EVENTS" >"$TMP/raw.sql" <<'PY'
import sys
c, n = int(sys.argv[1]), int(sys.argv[2])
out = sys.stdout
for a in range(1, n + 1, 1000):
    out.write("START TRANSACTION;\nINSERT INTO coupon_issues (coupon_id,user_id,event_id,date_issued) VALUES ")
    out.write(",".join("(%d,%d,'01HZZZZZZZZZZZZZZZ%08d','2026-11-22 14:00:00.123')" % (c, u, u)
                       for u in range(a, min(a + 1000, n + 1))))
    out.write(";\nCOMMIT;\n")
PY
  t0=$(now)
  mariadb --no-defaults -h127.0.0.1 -P"$MYSQL_PORT" -uroot couponq <"$TMP/raw.sql"
  t1=$(now)
  python3 -c "print('%.0f' % ($EVENTS/($t1-$t0)))"
}

echo "drain bench: $EVENTS events, batch $BATCH, build $BUILD"
C1=$(new_coupon); T1=$(prepare "$C1")
C3=$(new_coupon); T3=$(prepare "$C3")
echo "produced 2 x $EVENTS events"
raw=$(raw_insert "$(new_coupon)")
read -r w1 w1s < <(drain 1 "$T1" "$C1")
read -r w3 w3s < <(drain 3 "$T3" "$C3")
echo "raw bulk INSERT (1,000-row transactions): $raw rows/s"
echo "1 worker : total $w1 rows/s, steady $w1s rows/s, ratio to raw $(python3 -c "print('%.2f' % ($w1/$raw))")"
echo "3 workers: total $w3 rows/s, steady $w3s rows/s, ratio to raw $(python3 -c "print('%.2f' % ($w3/$raw))")"
