#!/usr/bin/env bash
# tools_rebuild.sh -- Redis loses a running sale's keys; couponqctl rebuild
# restores them from MySQL rows plus the events the workers have not
# consumed yet, and the sale continues without ever exceeding its quantity.
#
# The shared Redis must not be flushed, so "Redis lost the sale" is a DEL of
# exactly this coupon's keys (what a restart without AOF does to them).
source "$(dirname "$0")/../lib.sh"

need couponqctl couponq-api couponq-worker
private_topic rebuild
ID=$(new_coupon_id)
PORT=$(free_port)
Q=500

json() { json_get "$1"; }
rows() { coupon_rows "$ID"; }
wait_rows() { wait_coupon_rows "$ID" "$1"; }
load() { python3 "$LOAD" "$PORT" "$ID" "$1" "$2" 8 "$TEST_TMP/accepted"; }
keys() { ckey "$ID" meta; ckey "$ID" issued; ckey "$ID" persisted; }

log "coupon $ID topic $T api :$PORT"
start_bg api "$API_BIN" --listen "127.0.0.1:$PORT"
wait_http "$PORT"
start_bg worker "$WORKER" --metrics-listen off --batch-ms 20
WORKER_PID=$BG_PID
"$CTL" create --id "$ID" --title "rebuild" --quantity $Q --end +1h >/dev/null

assert_eq '{"202": 300}' "$(load 1 300)" "first wave"
wait_rows 300
# Workers stop: the next wave's events stay unconsumed in the topic.
kill -TERM "$WORKER_PID"
wait "$WORKER_PID" 2>/dev/null || true
assert_eq '{"202": 100}' "$(load 301 400)" "second wave (not consumed yet)"

# Redis loses the sale.
# shellcheck disable=SC2046
rcli DEL $(keys) >/dev/null
assert_eq '{"404": 10}' "$(python3 "$LOAD" "$PORT" "$ID" 9001 9010 2)" "requests while the keys are gone"
set +e
"$CTL" reconcile "$ID" >/dev/null 2>&1
assert_eq 5 "$?" "reconcile sees the lost members"
set -e

out=$("$CTL" rebuild "$ID" --json) || fail "rebuild failed: $out"
assert_eq "300 100 400" "$(json rows <<<"$out") $(json added_from_topic <<<"$out") $(json admitted <<<"$out")" "rebuild: rows, unconsumed events, admitted"
assert_eq "open $Q" "$(rcli HGET "$(ckey "$ID" meta)" state) $(rcli HGET "$(ckey "$ID" meta)" total)" "meta after rebuild"
set +e
"$CTL" rebuild "$ID" >/dev/null 2>&1
assert_eq 3 "$?" "a second rebuild is refused while the meta exists"
set -e

# The sale continues: old users are duplicates, new ones fill the rest.
start_bg worker2 "$WORKER" --metrics-listen off --batch-ms 20
dups=$(load 1 50)
assert_eq '{"409": 50}' "$dups" "users admitted before the loss are duplicates"
rest=$(load 401 1000)
assert_eq '{"202": 100, "410": 500}' "$rest" "third wave fills the quantity exactly"
wait_rows $Q
sleep 1
assert_eq $Q "$(rows)" "rows never exceed the quantity"
assert_eq $Q "$(sql "SELECT issued_quantity FROM coupons WHERE id=$ID")" "issued_quantity"
assert_eq $Q "$(sort -u "$TEST_TMP/accepted" | wc -l)" "every 202 user once"
missing=$(comm -23 <(sort -u "$TEST_TMP/accepted") <(sql "SELECT user_id FROM coupon_issues WHERE coupon_id=$ID" | sort -u) | wc -l)
assert_eq 0 "$missing" "accepted users without a row"
"$CTL" reconcile "$ID" >/dev/null || fail "reconcile after the sale is not consistent"
log "ok"
