#!/usr/bin/env bash
# 00_checker -- the checker can fail: a consistent fabricated sale passes, and
# each kind of damage (oversell, wrong counter, lost 202, row without a 202,
# admitted without row, unanswered request) is reported as its invariant.
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
rcli SADD "couponq:{c$id}:issued" 11 12 13 >/dev/null

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
rcli SADD "couponq:{c$id}:issued" 99 >/dev/null
expect 'redis admitted = rows' --quantity 5
rcli SREM "couponq:{c$id}:issued" 99 13 >/dev/null
expect 'redis admitted = rows' --quantity 5

result done="fabricated sale; 8 kinds of damage injected one at a time" requests=0 accepted=3 rows=3 \
  violations="$fails" recovery="-" check="checker caught every injected violation"
if ((fails == 0)); then finish pass; else finish fail; fi
