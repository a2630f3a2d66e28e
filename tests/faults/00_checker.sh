#!/usr/bin/env bash
# 00_checker -- the checker can fail: a consistent fabricated sale passes, and
# each kind of damage (oversell, wrong counter, lost 202, row without a 202,
# admitted without row, unanswered request, a 202 whose event is not in the
# topic, an over_quantity DLQ entry for a 202) is reported as its invariant,
# and a row for a user told 503 "outcome unknown" is not a violation.
# Needs only the stack, no couponq binary.
source "$(dirname "$0")/lib.sh"

id=$(new_coupon_id)
coupon_create "$id" 5
p=$WORK/fab
printf '%s\n' 11 12 13 >"$p.accepted"
: >"$p.unknown"
sql "INSERT INTO coupon_issues (coupon_id, user_id, event_id, date_issued) VALUES
     ($id, 11, '01JD0000000000000000000011', NOW(3)),
     ($id, 12, '01JD0000000000000000000012', NOW(3)),
     ($id, 13, '01JD0000000000000000000013', NOW(3));
     UPDATE coupons SET issued_quantity=3 WHERE id=$id"
rcli SADD "$(ckey "$id" issued)" 11 12 13 >/dev/null

fails=0
# expect WANT(pass|NAME) CHECK-ARGS...
expect() {
  local want=$1 out rc=0
  shift
  out=$("$FAULTS_DIR/check" --coupon "$id" --accepted "$p.accepted" --unknown "$p.unknown" "$@" 2>&1) || rc=$?
  if [[ $want == pass ]]; then
    [[ $rc == 0 ]] || { log "FAIL: a consistent sale was flagged: $out"; fails=$((fails + 1)); }
  elif [[ $rc != 1 ]] || ! grep -q "FAIL *$want" <<<"$out"; then
    log "FAIL: '$want' not reported (rc=$rc): $out"
    fails=$((fails + 1))
  else
    log "caught: $want"
  fi
}

expect pass --quantity 5
expect 'rows <= quantity' --quantity 2
sql "UPDATE coupons SET issued_quantity=2 WHERE id=$id"
expect 'issued_quantity = rows' --quantity 5
sql "UPDATE coupons SET issued_quantity=3 WHERE id=$id"
echo 14 >>"$p.accepted"
expect 'every 202 has a row' --quantity 5
sed -i '/^1[34]$/d' "$p.accepted"
expect 'no row without a 202' --quantity 5
# An unanswered, admitted user with a row is a repair only if the api crashed.
echo 13 >"$p.unknown"
expect 'no row without a 202' --quantity 5
expect pass --quantity 5 --api-crashed
expect 'every request answered' --quantity 5 --no-redis
echo 13 >>"$p.accepted"
: >"$p.unknown"
rcli SADD "$(ckey "$id" issued)" 99 >/dev/null
expect 'redis admitted = rows' --quantity 5
rcli SREM "$(ckey "$id" issued)" 99 13 >/dev/null
expect 'redis admitted = rows' --quantity 5
rcli SADD "$(ckey "$id" issued)" 13 >/dev/null
expect pass --quantity 5

# Ambiguous (503 "outcome unknown"): the admission was kept, a row is fine.
sed -i '/^13$/d' "$p.accepted"
echo 13 >"$p.ambiguous"
expect pass --quantity 5 --ambiguous "$p.ambiguous"
: >"$p.ambiguous"
expect 'no row without a 202' --quantity 5 --ambiguous "$p.ambiguous"
echo 13 >>"$p.accepted"

# The topic: every 202's event_id must be in it; no 202 in the DLQ.
new_topic
ev() { printf '{"type":"coupon.issue.requested","v":1,"event_id":"01JD00000000000000000000%s","coupon_id":%s,"user_id":%s,"seq":1,"requested_at":"2026-01-01T00:00:00.000Z"}\n' "$1" "$id" "$1"; }
{ ev 11; ev 12; } | kcat -b "$COUPONQ_KAFKA" -P -t "$TOPIC" -k 1
printf '%s 01JD00000000000000000000%s\n' 11 11 12 12 13 13 >"$p.events"
expect 'every 202 event in topic' --quantity 5 --events "$p.events" --topic "$TOPIC"
ev 13 | kcat -b "$COUPONQ_KAFKA" -P -t "$TOPIC" -k 13
expect pass --quantity 5 --events "$p.events" --topic "$TOPIC"
ev 12 | kcat -b "$COUPONQ_KAFKA" -P -t "$TOPIC.dlq" -k 12 -H reason=over_quantity -H error="no quantity left"
expect 'no 202 over_quantity (DLQ)' --quantity 5 --events "$p.events" --topic "$TOPIC"

result done="fabricated sale; 11 kinds of damage injected one at a time" requests=0 accepted=3 rows=3 \
  violations="$fails" recovery="-" check="checker caught every injected violation"
if ((fails == 0)); then finish pass; else finish fail; fi
