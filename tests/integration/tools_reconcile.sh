#!/usr/bin/env bash
# tools_reconcile.sh -- couponqctl reconcile against the real stack.
#
# The api-crash gap: users admitted by admit.lua whose event never reached
# Kafka. reconcile must report exactly them (exit 5), --repair must publish
# their events so a worker writes the rows, and a second reconcile exits 0.
# Then (b) a member lost from Redis and (c) a wrong issued_quantity, each
# found and repaired.
source "$(dirname "$0")/../lib.sh"

CTL=$COUPONQ_BUILD/couponqctl
WORKER=$COUPONQ_BUILD/couponq-worker
[[ -x $CTL && -x $WORKER ]] || fail "build couponqctl and couponq-worker first"

T=$(new_topic reconcile)
G="couponq.test.reconcile.$RANDOM$RANDOM"
ID=$(new_coupon_id)
export COUPONQ_TOPIC=$T COUPONQ_GROUP=$G
ADMIT=$(cat "$COUPONQ_SRC/schemas/redis/admit.lua")

admit() { rcli EVAL "$ADMIT" 2 "couponq:{c$ID}:meta" "couponq:{c$ID}:issued" "$1" | head -1; }
# json FIELD < json -> the field (lists as space-separated ids)
json() { python3 -c 'import json,sys; v=json.load(sys.stdin)[sys.argv[1]]; print(" ".join(map(str,v)) if isinstance(v,list) else json.dumps(v))' "$1"; }
rows() { sql "SELECT COUNT(*) FROM coupon_issues WHERE coupon_id=$ID"; }
wait_rows() {
  local i
  for ((i = 0; i < 300; i++)); do
    [[ $(rows) == "$1" ]] && return 0
    sleep 0.1
  done
  fail "expected $1 rows for coupon $ID, have $(rows)"
}
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

set +e
out=$("$CTL" reconcile "$ID" --json)
rc=$?
set -e
assert_eq 5 "$rc" "reconcile exit code while users are missing"
assert_eq "201 202 203 204 205" "$(json missing <<<"$out")" "missing users"
assert_eq "" "$(json lost <<<"$out")" "lost users"
assert_eq false "$(json consistent <<<"$out")" "consistent"

out=$("$CTL" reconcile "$ID" --repair --json) || fail "reconcile --repair failed: $out"
assert_eq 5 "$(json published <<<"$out")" "events published by --repair"
wait_rows 8
out=$("$CTL" reconcile "$ID" --json) || fail "second reconcile not consistent: $out"
assert_eq true "$(json consistent <<<"$out")" "consistent after repair"
users=$(sql "SELECT GROUP_CONCAT(user_id ORDER BY user_id SEPARATOR ' ') FROM coupon_issues WHERE coupon_id=$ID")
assert_eq "101 102 103 201 202 203 204 205" "$users" "rows after repair"
assert_eq 8 "$(sql "SELECT issued_quantity FROM coupons WHERE id=$ID")" "issued_quantity"

# (b) Redis lost a member that has a row; (c) the counter is wrong.
rcli SREM "couponq:{c$ID}:issued" 102 >/dev/null
sql "UPDATE coupons SET issued_quantity=7 WHERE id=$ID"
set +e
out=$("$CTL" reconcile "$ID" --json)
rc=$?
set -e
assert_eq 5 "$rc" "reconcile exit code with a lost member"
assert_eq "102" "$(json lost <<<"$out")" "lost users"
assert_eq true "$(json counter_off <<<"$out")" "counter_off"
assert_eq "" "$(json missing <<<"$out")" "missing users"
"$CTL" reconcile "$ID" --repair >/dev/null
assert_eq 1 "$(rcli SISMEMBER "couponq:{c$ID}:issued" 102)" "102 re-admitted"
assert_eq 8 "$(sql "SELECT issued_quantity FROM coupons WHERE id=$ID")" "issued_quantity fixed"
"$CTL" reconcile "$ID" >/dev/null || fail "reconcile not consistent after the second repair"

# Usage errors and unknown coupons have their own exit codes.
set +e
"$CTL" reconcile 2>/dev/null
assert_eq 2 "$?" "reconcile without an id"
"$CTL" reconcile "$(new_coupon_id)" >/dev/null 2>&1
rc=$?
set -e
assert_eq 4 "$rc" "reconcile of a coupon that does not exist"
log "ok"
