#!/usr/bin/env bash
# admit_lua.sh -- schemas/redis/admit.lua against the real Redis, directly.
#
# The api sends the admissions of one loop iteration for one coupon as one
# call (ARGV = several user ids). The call must answer exactly as the same
# users one call each, in order: a user repeated inside the call is
# "duplicate" the second time, the quantity gate falls in the middle of a
# call, a member is "duplicate" (not "sold_out") after the sale is sold out,
# seq is the place in line. A bad id anywhere refuses the whole call and
# writes nothing; so do 0 or 1,001 ids. Window/state answers cover every id.
source "$(dirname "$0")/../lib.sh"

SCRIPT=$(cat "$COUPONQ_SRC/schemas/redis/admit.lua")
# admit ID USER... -> the flat reply on one line ("accepted 1 duplicate 0 ...")
admit() {
  local id=$1
  shift
  rcli EVAL "$SCRIPT" 2 "couponq:{c$id}:meta" "couponq:{c$id}:issued" "$@" 2>&1 | tr '\n' ' ' | sed 's/ $//'
}
meta() { rcli HSET "couponq:{c$1}:meta" total "$2" start_ms "$3" end_ms "$4" state "$5" >/dev/null; }
scard() { rcli SCARD "couponq:{c$1}:issued"; }
now=$(date +%s%3N)
IDS=()
new() { local id; id=$(new_coupon_id); IDS+=("$id"); echo "$id"; }
cleanup() {
  local id
  for id in "${IDS[@]}"; do rcli DEL "couponq:{c$id}:meta" "couponq:{c$id}:issued" >/dev/null; done
  cleanup_lib
}
trap cleanup EXIT

log "a call of 7 users, quantity 4: repeats inside the call, the gate mid-call"
A=$(new)
meta "$A" 4 $((now - 1000)) $((now + 3600000)) open
assert_eq "accepted 1" "$(admit "$A" 10)" "single user (the one-user reply shape)"
assert_eq "accepted 2 duplicate 0 duplicate 0 accepted 3 accepted 4 sold_out 0 duplicate 0" \
  "$(admit "$A" 11 11 10 12 13 14 12)" "batch of 7"
assert_eq 4 "$(scard "$A")" "SCARD after the batch"
assert_eq 0 "$(rcli SISMEMBER "couponq:{c$A}:issued" 14)" "sold-out user not in the set"
assert_eq "duplicate 0 sold_out 0 duplicate 0" "$(admit "$A" 13 15 10)" "after sold out"

log "unlimited (-1): seq keeps counting across calls"
U=$(new)
meta "$U" -1 $((now - 1000)) $((now + 3600000)) open
assert_eq "accepted 1 accepted 2" "$(admit "$U" 1 2)" "unlimited 1"
assert_eq "duplicate 0 accepted 3" "$(admit "$U" 2 9223372036854775807)" "unlimited 2 (max id)"

log "quantity 0: nobody"
Z=$(new)
meta "$Z" 0 $((now - 1000)) $((now + 3600000)) open
assert_eq "sold_out 0 sold_out 0" "$(admit "$Z" 1 2)" "quantity 0"

log "window and state answer every id, write nothing"
N=$(new)
assert_eq "not_found 0 not_found 0" "$(admit "$N" 1 2)" "no meta"
meta "$N" 10 $((now + 3600000)) $((now + 7200000)) open
assert_eq "not_open 0 not_open 0" "$(admit "$N" 1 2)" "before start"
meta "$N" 10 $((now - 7200000)) $((now - 3600000)) open
assert_eq "ended 0 ended 0 ended 0" "$(admit "$N" 1 2 3)" "after end"
meta "$N" 10 $((now - 1000)) $((now + 3600000)) closed
assert_eq "closed 0" "$(admit "$N" 1)" "closed"
assert_eq 0 "$(scard "$N")" "nothing written for window/state answers"

log "bad ids refuse the whole call"
B=$(new)
meta "$B" 10 $((now - 1000)) $((now + 3600000)) open
for bad in 0 -1 01 abc 1.5 "" 9223372036854775808 12345678901234567890; do
  out=$(admit "$B" 1 2 "$bad")
  assert_contains "$out" "ERR couponq admit" "bad id '$bad' last in the call"
done
out=$(admit "$B" 1 x 2)
assert_contains "$out" "user id must be a decimal integer" "bad id in the middle"
assert_eq 0 "$(scard "$B")" "a refused call wrote nothing"
out=$(rcli EVAL "$SCRIPT" 2 "couponq:{c$B}:meta" "couponq:{c$B}:issued" 2>&1)
assert_contains "$out" "expects 2 keys and 1 to 1000 user ids" "no ids"
mapfile -t many < <(seq 1 1001)
out=$(admit "$B" "${many[@]}")
assert_contains "$out" "expects 2 keys and 1 to 1000 user ids" "1001 ids"
assert_eq 0 "$(scard "$B")" "over-long call wrote nothing"
L=$(new)
meta "$L" -1 $((now - 1000)) $((now + 3600000)) open
out=$(admit "$L" "${many[@]:0:1000}")
assert_eq 1000 "$(echo "$out" | grep -o accepted | wc -l)" "1000 ids accepted"
assert_contains "$out" "accepted 1000" "last seq of 1000"

log "corrupt meta refuses"
C=$(new)
meta "$C" ten $((now - 1000)) $((now + 3600000)) open
assert_contains "$(admit "$C" 1 2)" "corrupt meta hash" "corrupt total"
assert_eq 0 "$(scard "$C")" "corrupt meta wrote nothing"
log "ok"
