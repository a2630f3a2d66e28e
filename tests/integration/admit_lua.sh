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
# A call that accepted someone is recorded under its call id; settle.lua
# removes exactly that call's admissions (the api's answer was lost).
source "$(dirname "$0")/../lib.sh"

SCRIPT=$(cat "$COUPONQ_SRC/schemas/redis/admit.lua")
SETTLE=$(cat "$COUPONQ_SRC/schemas/redis/settle.lua")
keys() { echo "$(ckey "$1" meta)" "$(ckey "$1" issued)" "$(ckey "$1" calls)"; }
# admit ID USER... -> the flat reply on one line ("accepted 1 duplicate 0 ...");
# a fresh call id each time
admit() {
  local id=$1
  shift
  admit_raw "$id" "X$RANDOM$RANDOM" "$@"
}
# admit_raw ID CALL USER...
admit_raw() {
  local id=$1
  shift
  # shellcheck disable=SC2046
  rcli EVAL "$SCRIPT" 3 $(keys "$id") "$@" 2>&1 | tr '\n' ' ' | sed 's/ $//'
}
settle() { # settle ID CALL USER...
  local id=$1
  shift
  rcli EVAL "$SETTLE" 2 "$(ckey "$id" issued)" "$(ckey "$id" calls)" "$@" 2>&1
}
meta() { rcli HSET "$(ckey "$1" meta)" total "$2" start_ms "$3" end_ms "$4" state "$5" fence "$(redis_replid)" >/dev/null; }
scard() { rcli SCARD "$(ckey "$1" issued)"; }
now=$(date +%s%3N)
IDS=()
new() { local id; id=$(new_coupon_id); IDS+=("$id"); echo "$id"; }
cleanup() {
  local id
  # shellcheck disable=SC2046
  for id in "${IDS[@]}"; do rcli DEL $(keys "$id") >/dev/null; done
  cleanup_lib
}
trap cleanup EXIT

log "a call of 7 users, quantity 4: repeats inside the call, the gate mid-call"
A=$(new)
meta "$A" 4 $((now - 1000)) $((now + 3600000)) open
assert_eq "accepted 1 duplicate 0" "$(admit_raw "$A" C1 10 10)" "C1: a user twice"
assert_eq "accepted 2 duplicate 0 duplicate 0 accepted 3 accepted 4 sold_out 0 duplicate 0" \
  "$(admit_raw "$A" C2 11 11 10 12 13 14 12)" "C2: batch of 7"
assert_eq 4 "$(scard "$A")" "SCARD after the batch"
assert_eq 0 "$(rcli SISMEMBER "$(ckey "$A" issued)" 14)" "sold-out user not in the set"
assert_eq "duplicate 0 sold_out 0 duplicate 0" "$(admit_raw "$A" C3 13 15 10)" "C3: after sold out"
assert_eq "C1 C2" "$(rcli HKEYS "$(ckey "$A" calls)" | sort | tr '\n' ' ' | sed 's/ $//')" "records of the calls that accepted someone (not C3)"
assert_eq "a-" "$(rcli HGET "$(ckey "$A" calls)" C1)" "C1's record"
assert_eq "a--aa--" "$(rcli HGET "$(ckey "$A" calls)" C2)" "C2's record"

log "settle.lua: a call whose answer was lost; only its own admissions go"
assert_eq 3 "$(settle "$A" C2 11 11 10 12 13 14 12)" "settle C2 (11, 12, 13 were its admissions)"
assert_eq 1 "$(rcli SISMEMBER "$(ckey "$A" issued)" 10)" "10 stays (admitted by C1)"
for u in 11 12 13; do assert_eq 0 "$(rcli SISMEMBER "$(ckey "$A" issued)" $u)" "$u released"; done
assert_eq "" "$(rcli HGET "$(ckey "$A" calls)" C2)" "C2's record gone"
assert_eq 0 "$(settle "$A" C2 11 11 10 12 13 14 12)" "settling twice changes nothing"
assert_eq 0 "$(settle "$A" C99 10)" "a call that never ran"
assert_eq 1 "$(rcli SISMEMBER "$(ckey "$A" issued)" 10)" "10 still there"
assert_contains "$(settle "$A" C1 10)" "the call had 2 users" "wrong user count"
assert_contains "$(settle "$A" C1 10 x)" "ERR couponq settle" "bad id"
assert_contains "$(settle "$A")" "ERR couponq settle" "no call id"

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

log "bad ids and tags refuse the whole call"
B=$(new)
meta "$B" 10 $((now - 1000)) $((now + 3600000)) open
for bad in 0 -1 01 abc 1.5 "" 9223372036854775808 12345678901234567890; do
  out=$(admit "$B" 1 2 "$bad")
  assert_contains "$out" "ERR couponq admit" "bad id '$bad' last in the call"
done
out=$(admit "$B" 1 x 2)
assert_contains "$out" "user id must be a decimal integer" "bad id in the middle"
for bad in "" "a-b" "a b" "$(printf 'A%.0s' {1..65})"; do
  assert_contains "$(admit_raw "$B" "$bad" 1 2)" "call id must be 1 to 64 letters or digits" "bad call id '$bad'"
done
# shellcheck disable=SC2046
out=$(rcli EVAL "$SCRIPT" 3 $(keys "$B") 2>&1)
assert_contains "$out" "expects 3 keys, a call id and 1 to 1000 user ids" "no ids"
mapfile -t many < <(seq 1 1001)
out=$(admit "$B" "${many[@]}")
assert_contains "$out" "expects 3 keys, a call id and 1 to 1000 user ids" "1001 ids"
assert_eq 0 "$(scard "$B")" "over-long call wrote nothing"
assert_eq 0 "$(rcli EXISTS "$(ckey "$B" calls)")" "no records of refused calls"
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

log "the fence: a missing or other fence admits nobody and writes nothing"
F=$(new)
rcli HSET "$(ckey "$F" meta)" total 10 start_ms $((now - 1000)) end_ms $((now + 3600000)) state open >/dev/null
assert_eq "fenced 0 fenced 0" "$(admit_raw "$F" F1 1 2)" "no fence field"
rcli HSET "$(ckey "$F" meta)" fence 0123456789abcdef0123456789abcdef01234567 >/dev/null
assert_eq "fenced 0" "$(admit_raw "$F" F2 1)" "a fence from another dataset"
assert_eq 0 "$(scard "$F")" "fenced calls wrote nothing"
assert_eq 0 "$(rcli EXISTS "$(ckey "$F" calls)")" "no records of fenced calls"
rcli HSET "$(ckey "$F" meta)" state closed >/dev/null
assert_eq "closed 0" "$(admit_raw "$F" F3 1)" "closed is answered before fenced"
rcli HSET "$(ckey "$F" meta)" state open fence "$(redis_replid)" >/dev/null
assert_eq "accepted 1 accepted 2" "$(admit_raw "$F" F4 1 2)" "the fence of this server admits"
log "ok"
