#!/usr/bin/env bash
# tools_lifecycle.sh -- a sale's whole life through couponqctl, with the
# real api and worker: create, 10,000 requests, adjust up and down (and a
# refused decrease), close, archive refused while rows are pending, drain,
# status, sync, archive (keys gone, final counts in MySQL).
source "$(dirname "$0")/../lib.sh"

need couponqctl couponq-api couponq-worker
private_topic lifecycle
ID=$(new_coupon_id)
PORT=$(free_port)

json() { json_get "$1"; }
rows() { coupon_rows "$ID"; }
wait_rows() { wait_coupon_rows "$ID" "$1"; }
load() { python3 "$LOAD" "$PORT" "$ID" "$1" "$2" 16 "$TEST_TMP/accepted"; }
meta_total() { rcli HGET "$(ckey "$ID" meta)" total; }
db_total() { sql "SELECT IFNULL(total_quantity, -1) FROM coupons WHERE id=$ID"; }

log "coupon $ID topic $T api :$PORT"
start_bg api "$API_BIN" --listen "127.0.0.1:$PORT"
wait_http "$PORT"
start_bg worker "$WORKER" --metrics-listen off --batch-ms 20
WORKER_PID=$BG_PID

out=$("$CTL" create --id "$ID" --title "lifecycle" --quantity 3000 --start now --end +1h)
assert_eq "$ID" "$out" "create prints the id"
assert_eq "3000 3000 open" "$(meta_total) $(db_total) $(rcli HGET "$(ckey "$ID" meta)" state)" "created in Redis and MySQL"

# 10,000 requests in three waves around the adjustments.
a=$(load 1 4000)
assert_eq '{"202": 3000, "410": 1000}' "$a" "wave 1 (quantity 3000)"

out=$("$CTL" adjust "$ID" --add 2000 --json)
assert_eq 5000 "$(json total <<<"$out")" "adjust --add"
set +e
err=$("$CTL" adjust "$ID" --quantity 2999 2>&1 >/dev/null)
rc=$?
set -e
assert_eq 3 "$rc" "decrease below the admitted count is refused"
assert_contains "$err" "3000 users are already admitted" "refusal names the admitted count"
assert_eq "5000 5000" "$(meta_total) $(db_total)" "totals unchanged by the refusal"

b=$(load 4001 5000)
assert_eq '{"202": 1000}' "$b" "wave 2 (quantity 5000)"
out=$("$CTL" adjust "$ID" --sub 500 --json)
assert_eq "5000 4500 4000" "$(json old_total <<<"$out") $(json total <<<"$out") $(json admitted <<<"$out")" "adjust --sub"
assert_eq "4500 4500" "$(meta_total) $(db_total)" "totals after the decrease"

# The worker stops so the last wave stays pending.
wait_rows 4000
kill -TERM "$WORKER_PID"
wait "$WORKER_PID" 2>/dev/null || true
c=$(load 5001 10000)
assert_eq '{"202": 500, "410": 4500}' "$c" "wave 3 (quantity 4500)"
assert_eq 4500 "$(sort -u "$TEST_TMP/accepted" | wc -l)" "distinct accepted users"

out=$("$CTL" status "$ID" --live --json)
assert_eq "4500 4000 500" "$(json admitted <<<"$out") $(json rows <<<"$out") $(json pending <<<"$out")" "status --live while pending"
[[ $(json consumer_lag <<<"$out") -ge 500 ]] || fail "consumer lag below the 500 pending events: $out"

"$CTL" close "$ID" >/dev/null
assert_eq closed "$(rcli HGET "$(ckey "$ID" meta)" state)" "Redis state after close"
assert_eq closed "$(sql "SELECT state FROM coupons WHERE id=$ID")" "MySQL state after close"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -d '{"user_id": 99999}' "http://127.0.0.1:$PORT/v1/coupons/$ID/issues")
assert_eq 403 "$code" "a request after close"

set +e
err=$("$CTL" archive "$ID" 2>&1 >/dev/null)
rc=$?
set -e
assert_eq 3 "$rc" "archive refused while rows are pending"
assert_contains "$err" "500 admitted users have no row yet" "archive refusal"
assert_eq 1 "$(rcli EXISTS "$(ckey "$ID" meta)")" "keys kept after the refusal"

start_bg worker2 "$WORKER" --metrics-listen off --batch-ms 20
wait_rows 4500
out=$("$CTL" status "$ID" --json)
assert_eq '4500 4500 "closed" 4500' "$(json rows <<<"$out") $(json issued_quantity <<<"$out") $(json state <<<"$out") $(json total <<<"$out")" "status after drain"
out=$("$CTL" status "$ID" --live --json)
assert_eq 0 "$(json pending <<<"$out")" "nothing pending after drain"
"$CTL" sync "$ID" >/dev/null
assert_eq 4500 "$(sql "SELECT admitted FROM coupon_live_counts WHERE coupon_id=$ID")" "sync copied the admitted count"
"$CTL" reconcile "$ID" >/dev/null || fail "reconcile after drain is not consistent"

out=$("$CTL" archive "$ID" --json)
assert_eq '"archived"' "$(json state <<<"$out")" "archive result"
[[ $(json freed_keys <<<"$out") -ge 2 ]] || fail "archive freed too few keys: $out"
assert_eq 0 "$(rcli EXISTS "$(ckey "$ID" meta)" "$(ckey "$ID" issued)" "$(ckey "$ID" persisted)" "$(ckey "$ID" calls)")" "Redis keys after archive"
assert_eq "archived 4500 4500" "$(sql "SELECT state, issued_quantity, total_quantity FROM coupons WHERE id=$ID" | tr '\t' ' ')" "MySQL after archive"
assert_eq 4500 "$(rows)" "rows after archive"
"$CTL" archive "$ID" >/dev/null || fail "a second archive is not idempotent"
log "ok (waves: $a $b $c)"
