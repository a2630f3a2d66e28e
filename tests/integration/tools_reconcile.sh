#!/usr/bin/env bash
# tools_reconcile.sh -- couponqctl reconcile against the real stack.
#
# The api-crash gap: users admitted by admit.lua whose event never reached
# Kafka. reconcile must report exactly them (exit 5), --repair must publish
# their events so a worker writes the rows, and a second reconcile exits 0.
# Then (b) a member lost from Redis and (c) a wrong issued_quantity, each
# found and repaired, and (d) --repair during a live sale publishes nothing
# for requests still in flight (the grace period).
source "$(dirname "$0")/../lib.sh"

need couponqctl couponq-worker
private_topic reconcile
ID=$(new_coupon_id)
ADMIT=$(cat "$COUPONQ_SRC/schemas/redis/admit.lua")

admit() { rcli EVAL "$ADMIT" 3 "$(ckey "$ID" meta)" "$(ckey "$ID" issued)" "$(ckey "$ID" calls)" "C$1" "$1" | sed -n 1p; }
# json FIELD < json -> the field (lists as space-separated ids)
json() { python3 -c 'import json,sys; v=json.load(sys.stdin)[sys.argv[1]]; print(" ".join(map(str,v)) if isinstance(v,list) else json.dumps(v))' "$1"; }
rows() { coupon_rows "$ID"; }
wait_rows() { wait_eq rows "$1" "rows of coupon $ID" 30; }
# produce_event USER SEQ: what the api would have produced
produce_event() {
  printf '%s\t{"type":"coupon.issue.requested","v":1,"event_id":"01JDBX7K3M4N5P6Q7R8S9T%04d","coupon_id":%s,"user_id":%s,"seq":%s,"requested_at":"2026-11-22T14:00:00.123Z"}\n' \
    "$1" "$1" "$ID" "$1" "$2" | kcat -b "$COUPONQ_KAFKA" -P -t "$T" -K $'\t'
}

log "coupon $ID topic $T"
out=$("$CTL" create --id "$ID" --title "reconcile test" --quantity 100 --end +1h)
assert_eq "$ID" "$out" "create prints the id"

# Users 101..103 go the normal way (admitted + event); 201..205 are the gap.
seq=0
for u in 101 102 103; do assert_eq accepted "$(admit $u)" "admit $u"; produce_event $u $((++seq)); done
for u in 201 202 203 204 205; do assert_eq accepted "$(admit $u)" "admit $u"; done
start_bg worker "$WORKER" --group "$G" --metrics-listen off --batch-ms 20
wait_rows 3

out=$("$CTL" reconcile "$ID" --json) && rc=0 || rc=$?
assert_eq 5 "$rc" "reconcile exit code while users are missing"
assert_eq "201 202 203 204 205" "$(json missing <<<"$out")" "missing users"
assert_eq "" "$(json lost <<<"$out")" "lost users"
assert_eq false "$(json consistent <<<"$out")" "consistent"

out=$("$CTL" reconcile "$ID" --repair --grace-ms 500 --json) || fail "reconcile --repair failed: $out"
assert_eq 5 "$(json published <<<"$out")" "events published by --repair"
assert_eq 0 "$(json deferred <<<"$out")" "deferred (none admitted during the grace)"
wait_rows 8
out=$("$CTL" reconcile "$ID" --json) || fail "second reconcile not consistent: $out"
assert_eq true "$(json consistent <<<"$out")" "consistent after repair"
users=$(sql "SELECT GROUP_CONCAT(user_id ORDER BY user_id SEPARATOR ' ') FROM coupon_issues WHERE coupon_id=$ID")
assert_eq "101 102 103 201 202 203 204 205" "$users" "rows after repair"
assert_eq 8 "$(sql "SELECT issued_quantity FROM coupons WHERE id=$ID")" "issued_quantity"

# (b) Redis lost a member that has a row; (c) the counter is wrong.
rcli SREM "$(ckey "$ID" issued)" 102 >/dev/null
sql "UPDATE coupons SET issued_quantity=7 WHERE id=$ID"
out=$("$CTL" reconcile "$ID" --json) && rc=0 || rc=$?
assert_eq 5 "$rc" "reconcile exit code with a lost member"
assert_eq "102" "$(json lost <<<"$out")" "lost users"
assert_eq true "$(json counter_off <<<"$out")" "counter_off"
assert_eq "" "$(json missing <<<"$out")" "missing users"
"$CTL" reconcile "$ID" --repair >/dev/null
assert_eq 1 "$(rcli SISMEMBER "$(ckey "$ID" issued)" 102)" "102 re-admitted"
assert_eq 8 "$(sql "SELECT issued_quantity FROM coupons WHERE id=$ID")" "issued_quantity fixed"
"$CTL" reconcile "$ID" >/dev/null || fail "reconcile not consistent after the second repair"

# (d) A live sale: users that look missing may be requests in flight. During
# --repair's grace the api releases 301 (Kafka refused: SREM + 503),
# delivers 302's event, and admits 303 (too young to judge). Nothing may be
# published for any of them; 303 is repaired by a later run.
for u in 301 302; do assert_eq accepted "$(admit $u)" "admit $u"; done
"$CTL" reconcile "$ID" --repair --grace-ms 3000 --json >"$TEST_TMP/live.json" 2>"$TEST_TMP/live.err" &
REC=$!
sleep 1
rcli SREM "$(ckey "$ID" issued)" 301 >/dev/null
produce_event 302 10
assert_eq accepted "$(admit 303)" "admit 303"
wait "$REC" || fail "reconcile --repair during a live sale: $(cat "$TEST_TMP/live.err" "$TEST_TMP/live.json")"
out=$(cat "$TEST_TMP/live.json")
assert_contains "$(cat "$TEST_TMP/live.err")" "2 user(s) without row or event; checking again in 3000 ms" "grace announced"
assert_eq "" "$(json missing <<<"$out")" "missing (so nothing published) for users in flight"
assert_eq true "$(json consistent <<<"$out")" "consistent: the rest is in flight"
assert_eq 2 "$(json settled <<<"$out")" "settled during the grace (301 released, 302 delivered)"
assert_eq 1 "$(json deferred <<<"$out")" "deferred (303, admitted during the grace)"
wait_rows 9
assert_eq 0 "$(sql "SELECT COUNT(*) FROM coupon_issues WHERE coupon_id=$ID AND user_id=301")" "no row for the released user"
out=$("$CTL" reconcile "$ID" --repair --grace-ms 0 --json) || fail "repair of 303: $out"
assert_eq 1 "$(json published <<<"$out")" "303 published by a later run"
wait_rows 10
"$CTL" reconcile "$ID" >/dev/null || fail "reconcile not consistent after the live-sale repair"

# Usage errors and unknown coupons have their own exit codes.
set +e
"$CTL" reconcile 2>/dev/null
assert_eq 2 "$?" "reconcile without an id"
"$CTL" reconcile "$(new_coupon_id)" >/dev/null 2>&1
rc=$?
set -e
assert_eq 4 "$rc" "reconcile of a coupon that does not exist"
log "ok"
