#!/usr/bin/env bash
# use_lua.sh -- schemas/redis/use.lua against the real Redis, directly.
#
# Every operation and every answer code; every argument check, and that a
# refused call changed none of the 8 keys (DUMP before/after); replays (the
# same request gets the same answer forever, other parameters
# order_conflict); the already_used rules; forbidden actors; exact expiry
# (a short hold counts while its score > now and never after; confirm after
# it is hold_expired with new=1 once); a cancel counts until its finish;
# undo of each transition restores exactly the previous record and
# counters, only with the matching version and event id (a re-sent undo
# after a later transition of the same version answers 0); finish is
# idempotent; adjust refuses below in-use and, given the expected limit,
# when it changed;
# refunds exact at the 2^31-1 edge where a double division would be one
# off; a full reversal's vendor lines sum to minus the confirm line;
# fenced answers. Then use_lua_model.py drives a few thousand random
# operations against a Python reference model.
source "$(dirname "$0")/../lib.sh"

SCRIPT=$(cat "$COUPONQ_SRC/schemas/redis/use.lua")
MAXAMT=2147483647
keys() {
  local p="couponq:{c$1}:"
  echo "${p}meta ${p}use ${p}use:holds ${p}use:recs ${p}use:orders ${p}use:users ${p}issued ${p}use:revs"
}
# The script answers {code, new, finish, rid, state, refund_this, rec, prev
# [, prev_user]}; the checks below read the redemption's fields and the
# event the api builds from rec spelled out (use_lua_model.py's legacy):
# {code, new, finish, rid, user, order_id, order_amount, discount, state,
# expires_ms, reversed_amount, refunded_discount, refund_this, version,
# event, prev[, prev_user]}. It refuses a rec not in encode()'s form.
LEGACY="import sys; sys.path.insert(0, '$COUPONQ_SRC/tests/integration'); import use_lua_model as m; m.legacy_lines()"
# use ID OP ARG... -- the answer in ANS (one element per entry; "END" keeps
# the trailing empty strings), a refusal's text in ANS[0]
use() {
  local id=$1 out
  shift
  # shellcheck disable=SC2046
  out=$({ rcli EVAL "$SCRIPT" 8 $(keys "$id") "$@" 2>&1 || true; } | python3 -c "$LEGACY" "${1:-}" "$id" && echo END)
  mapfile -t ANS <<<"$out"
  unset 'ANS[${#ANS[@]}-1]'
}
# the answer's code new finish state version, one line (undo, finish and
# adjust answer one element, an error two (text, blank): just that)
brief() {
  if ((${#ANS[@]} <= 2)); then echo "${ANS[0]}"; else echo "${ANS[0]} ${ANS[1]} ${ANS[2]} ${ANS[8]} ${ANS[13]}"; fi
}
# u ID OP ARG... -> brief (for assert_eq)
u() {
  use "$@"
  brief
}
# dump ID -> DUMP of the 8 keys (exact bytes: "changed nothing")
dump() {
  # shellcheck disable=SC2046
  printf 'DUMP %s\n' $(keys "$1") | rcli --no-raw
}
# state ID -> the 8 keys' contents, sorted (equal content, any encoding)
state() {
  local p="couponq:{c$1}:" k
  for k in meta use use:recs use:orders use:users use:revs; do
    echo "$k:"
    rcli HGETALL "$p$k" | paste - - | sort
  done
  echo "holds:"
  rcli ZRANGE "${p}use:holds" 0 -1 WITHSCORES | paste - -
  echo "issued:"
  rcli SMEMBERS "${p}issued" | sort
}
rec() { rcli HGET "$(ckey "$1" use:recs)" "$2"; }
field() { rcli HGET "$(ckey "$1" use)" "$2"; }
# json FIELD <<< JSON -> the field's value (strings bare)
json() { python3 -c 'import json,sys; v=json.load(sys.stdin)[sys.argv[1]]; print(v)' "$1"; }
# redis_ms -> the server's clock (the script's clock), ms
redis_ms() { rcli TIME | tr '\n' ' ' | awk '{ printf "%d\n", $1 * 1000 + int($2 / 1000) }'; }
IDS=()
# setup [LIMIT TTL DISCOUNT MIN VENDOR BPS REUSE UNTIL] -> a fresh coupon id
# with meta (fenced to this server), use hash and users 1001..1005 issued
new() {
  local id
  id=$(new_coupon_id)
  coupon_create_raw "$id" -1 >/dev/null
  coupon_use_raw "$id" "$@"
  rcli SADD "$(ckey "$id" issued)" 1001 1002 1003 1004 1005 9223372036854775807 >/dev/null
  IDS+=("$id")
  echo "$id"
}
cleanup() {
  local id
  # shellcheck disable=SC2046
  for id in "${IDS[@]}"; do rcli DEL $(keys "$id") >/dev/null; done
  cleanup_lib
}
trap cleanup EXIT
E=$(new_ulid) # event ids are the caller's; the script only checks their form

log "hold: the answer, the record, the event"
A=$(new 10 600000 5000 100 7 3333 1)
R1=$(new_rid "$A")
t0=$(redis_ms)
use "$A" hold "$R1" "$E" 0 1001 o-1 30000
t1=$(redis_ms)
assert_eq 17 "${#ANS[@]}" "hold answers 9 elements (17 spelled out)"
assert_eq "held 1 0 $R1 1001 o-1 30000 5000 held" "${ANS[*]:0:9}" "new hold"
assert_eq "0 0 0 1" "${ANS[*]:10:4}" "reversed, refunded, refund_this, version"
assert_eq "" "${ANS[15]}${ANS[16]}" "prev and prev_user of a first hold"
x=${ANS[9]}
h=$(rec "$A" "$R1" | json h)
assert_eq $((h + 600000)) "$x" "expires = held + ttl"
((t0 <= h && h <= t1)) || fail "held_ms $h not within [$t0, $t1]"
ev=${ANS[14]}
assert_eq "coupon.redemption.held $E $R1 $A 1001 o-1 30000 5000 held 1 $h $x 0" \
  "$(python3 -c 'import json,sys; e=json.loads(sys.argv[1]); print(*[e[k] for k in ("type","event_id","redemption_id","coupon_id","user_id","order_id","order_amount","discount","state","version","held_at_ms","expires_at_ms","confirmed_at_ms")])' "$ev")" \
  "held event fields"
assert_eq "7 3333 1 0 0 $h" "$(python3 -c 'import json,sys; e=json.loads(sys.argv[1]); print(*[e[k] for k in ("vendor_id","vendor_share_bps","reuse","use_freed","vendor_amount","occurred_at_ms")])' "$ev")" \
  "held event: vendor settings, no ledger amount"
assert_eq '"u":"1001"' "$(rec "$A" "$R1" | grep -o '"u":"1001"')" "user id stored as a string"
assert_eq "$R1" "$(rcli HGET "$(ckey "$A" use:orders)" o-1)" "orders index"
assert_eq "$R1" "$(rcli HGET "$(ckey "$A" use:users)" 1001)" "users index"
assert_eq "$x" "$(rcli ZSCORE "$(ckey "$A" use:holds)" "$R1")" "holds member scored expires_ms"
use "$A" hold "$(new_rid "$A")" "$E" 0 1002 o-2 100
assert_eq "held 100 100" "${ANS[0]} ${ANS[6]} ${ANS[7]}" "discount = min(coupon discount, order amount)"
R2=${ANS[3]}
use "$A" hold "$(new_rid "$A")" "$E" 0 9223372036854775807 o-big 40000
assert_eq "held 9223372036854775807" "${ANS[0]} ${ANS[4]}" "user 2^63-1 answered exactly"
assert_eq 9223372036854775807 "$(json user_id <<<"${ANS[14]}")" "user 2^63-1 exact in the event"

log "hold replays and conflicts: the same request, the same answer forever"
use "$A" hold "$(new_rid "$A")" "$(new_ulid)" 0 1001 o-1 30000
assert_eq "replay 0 0 held 1" "$(brief)" "replay"
assert_eq "$R1 $ev" "${ANS[3]} ${ANS[14]}" "a replay names the first rid and re-produces its event"
use "$A" hold "$(new_rid "$A")" "$E" 1001 1001 o-1 30000
assert_eq "replay 0 0 held 1" "$(brief)" "replay by the user"
use "$A" hold "$(new_rid "$A")" "$E" 0 1001 o-1 30001
assert_eq "order_conflict 0 0 held 1" "$(brief)" "same order, other amount"
assert_eq "$R1 1001 30000" "${ANS[3]} ${ANS[4]} ${ANS[6]}" "order_conflict carries the existing redemption"
use "$A" hold "$(new_rid "$A")" "$E" 0 1003 o-1 30000
assert_eq "order_conflict 0 0 held 1" "$(brief)" "same order, other user (service)"
use "$A" hold "$(new_rid "$A")" "$E" 1003 1003 o-1 30000
assert_eq "order_conflict 0 0  0" "$(brief)" "another user's order: nothing of it shown"
assert_eq "||0|0" "${ANS[3]}|${ANS[4]}|${ANS[6]}|${ANS[9]}" "order_conflict to another user is blank"
use "$A" hold "$(new_rid "$A")" "$E" 1003 1001 o-9 30000
assert_eq "forbidden 0 0  0" "$(brief)" "hold for another user"
assert_eq 17 "${#ANS[@]}" "a hold refusal has 9 elements too (17 spelled out)"

log "hold refusals in order"
use "$A" hold "$(new_rid "$A")" "$E" 0 1001 o-3 30000
assert_eq "already_used 0 0 held 1" "$(brief)" "the user holds already"
assert_eq "$R1" "${ANS[3]}" "already_used names the redemption that takes the use"
use "$A" hold "$(new_rid "$A")" "$E" 0 4242 o-3 30000
assert_eq "not_owned 0 0  0" "$(brief)" "never admitted"
use "$A" hold "$(new_rid "$A")" "$E" 0 1003 o-3 99
assert_eq "below_min_amount 0 0  0" "$(brief)" "below the minimum"
use "$A" hold "$(new_rid "$A")" "$E" 0 1003 o-3 100
assert_eq "held" "$(brief | cut -d' ' -f1)" "the minimum itself"
TAKEN=$(rcli HGET "$(ckey "$A" use:orders)" o-3)
use "$A" hold "$TAKEN" "$E" 0 1004 o-4 500
assert_eq "rid_taken 0 0  0" "$(brief)" "a rid drawn twice"
rcli HSET "$(ckey "$A" meta)" state closed >/dev/null
use "$A" hold "$(new_rid "$A")" "$E" 0 1004 o-4 500
assert_eq "not_usable 0 0  0" "$(brief)" "closed"
use "$A" hold "$(new_rid "$A")" "$E" 0 1001 o-1 30000
assert_eq "replay 0 0 held 1" "$(brief)" "replay after close"
rcli HSET "$(ckey "$A" meta)" state open >/dev/null
rcli HSET "$(ckey "$A" use)" until_ms $(($(redis_ms) - 1)) >/dev/null
use "$A" hold "$(new_rid "$A")" "$E" 0 1004 o-4 500
assert_eq "not_usable 0 0  0" "$(brief)" "past use_until"
until=$(($(redis_ms) + 5000))
rcli HSET "$(ckey "$A" use)" until_ms "$until" >/dev/null
use "$A" hold "$(new_rid "$A")" "$E" 0 1004 o-4 500
assert_eq "held $until" "${ANS[0]} ${ANS[9]}" "a hold never outlives use_until"
rcli HSET "$(ckey "$A" use)" until_ms -1 >/dev/null
N=$(new_coupon_id)
use "$N" hold "$(new_rid "$N")" "$E" 0 1001 o-1 1
assert_eq "not_found 0 0  0" "$(brief)" "no meta"
coupon_create_raw "$N" -1
IDS+=("$N")
use "$N" hold "$(new_rid "$N")" "$E" 0 1001 o-1 1
assert_eq "not_found 0 0  0" "$(brief)" "no use hash"

log "the budget: use_sold_out at confirmed + live holds = limit"
S=$(new 2)
use "$S" hold "$(new_rid "$S")" "$E" 0 1001 s-1 1000
S1=${ANS[3]}
use "$S" hold "$(new_rid "$S")" "$E" 0 1002 s-2 1000
S2=${ANS[3]}
use "$S" hold "$(new_rid "$S")" "$E" 0 1003 s-3 1000
assert_eq "use_sold_out 0 0  0" "$(brief)" "2 holds of 2"
use "$S" confirm "$S1" "$E" 0
assert_eq "confirmed 1 0 confirmed 2" "$(brief)" "confirm"
assert_eq "1 $S2" "$(field "$S" confirmed) $(rcli ZRANGE "$(ckey "$S" use:holds)" 0 -1)" "confirmed 1, its hold gone"
use "$S" hold "$(new_rid "$S")" "$E" 0 1003 s-3 1000
assert_eq "use_sold_out 0 0  0" "$(brief)" "1 confirmed + 1 hold of 2"
use "$S" cancel "$S2" "$E" 0
assert_eq "released 1 1 released 2" "$(brief)" "cancel: finish pending"
use "$S" hold "$(new_rid "$S")" "$E" 0 1003 s-3 1000
assert_eq "use_sold_out 0 0  0" "$(brief)" "a cancelled hold counts until finish"
use "$S" finish "$S2" 2
assert_eq 1 "$(brief)" "finish"
use "$S" finish "$S2" 2
assert_eq 0 "$(brief)" "finish twice"
assert_eq 0 "$(rcli ZCARD "$(ckey "$S" use:holds)")" "finish removed the hold"
use "$S" cancel "$S2" "$E" 0
assert_eq "released 0 0 released 2" "$(brief)" "cancel repeated"
use "$S" hold "$(new_rid "$S")" "$E" 0 1003 s-3 1000
assert_eq "held" "$(brief | cut -d' ' -f1)" "the slot is free"
use "$S" adjust 1
assert_eq "ERR couponq use: below_in_use 2" "$(brief | cut -d' ' -f1-5)" "adjust below in-use"
assert_eq 2 "$(field "$S" limit)" "refused adjust left the limit"
use "$S" adjust 2
assert_eq 2 "$(brief)" "adjust to in-use"
use "$S" adjust -1
assert_eq 2 "$(brief)" "adjust to unlimited"
assert_eq -1 "$(field "$S" limit)" "unlimited written"
use "$S" hold "$(new_rid "$S")" "$E" 0 1004 s-4 1000
assert_eq "held" "$(brief | cut -d' ' -f1)" "unlimited: owners only"
use "$S" adjust 3
assert_eq 3 "$(brief)" "adjust back to 3"
# The compare-and-set form (couponqctl use adjust): refused unless the limit
# is still the expected one.
use "$S" adjust 4 2
assert_eq "ERR couponq use: limit_changed 3" "$(brief | cut -d' ' -f1-5)" "adjust with a stale expected limit"
assert_eq 3 "$(field "$S" limit)" "a refused compare-and-set left the limit"
use "$S" adjust 4 3
assert_eq "3 4" "$(brief) $(field "$S" limit)" "adjust with the expected limit"
use "$S" adjust 3 4
assert_eq "3 3" "$(brief) $(field "$S" limit)" "and back"
use "$S" adjust 4294967296
assert_contains "$(brief)" "ERR couponq use: limit must be an integer -1..4294967295" "adjust beyond INT UNSIGNED"
use "$N" adjust 5
assert_contains "$(brief)" "ERR couponq use: not_found" "adjust without use hash"

log "confirm and cancel: every state"
C=$(new)
use "$C" hold "$(new_rid "$C")" "$E" 0 1001 c-1 1000
C1=${ANS[3]}
use "$C" confirm "$C1" "$E" 1002
assert_eq "forbidden 0 0  0" "$(brief)" "confirm by another user"
use "$C" cancel "$C1" "$E" 1002
assert_eq "forbidden 0 0  0" "$(brief)" "cancel by another user"
use "$C" get "$C1" 1002
assert_eq "forbidden 0 0  0" "$(brief)" "get by another user"
use "$C" reverse "$C1" "$E" 1002 r1 1
assert_eq "forbidden 0 0  0" "$(brief)" "reverse by another user"
use "$C" confirm "$(new_rid "$C")" "$E" 0
assert_eq "not_found 0 0  0" "$(brief)" "confirm of an unknown rid"
use "$C" cancel "$(new_rid "$C")" "$E" 0
assert_eq "not_found 0 0  0" "$(brief)" "cancel of an unknown rid"
use "$C" reverse "$(new_rid "$C")" "$E" 0 r1 1
assert_eq "not_found 0 0  0" "$(brief)" "reverse of an unknown rid"
use "$C" get "$(new_rid "$C")" 0
assert_eq "not_found 0 0  0" "$(brief)" "get of an unknown rid"
use "$C" reverse "$C1" "$E" 0 r1 1
assert_eq "not_confirmed 0 0 held 1" "$(brief)" "reverse of a hold"
use "$C" get "$C1" 1001
assert_eq "found 0 0 held 1" "$(brief)" "get by the user"
use "$C" confirm "$C1" "$(new_ulid)" 1001
assert_eq "confirmed 1 0 confirmed 2" "$(brief)" "confirm by the user"
CEV=${ANS[14]}
use "$C" confirm "$C1" "$(new_ulid)" 0
assert_eq "confirmed 0 0 confirmed 2" "$(brief)" "confirm repeated"
assert_eq "$CEV" "${ANS[14]}" "a repeat re-produces the confirm event"
use "$C" cancel "$C1" "$E" 0
assert_eq "already_confirmed 0 0 confirmed 2" "$(brief)" "cancel after confirm"
use "$C" hold "$(new_rid "$C")" "$E" 0 1002 c-2 1000
C2=${ANS[3]}
use "$C" cancel "$C2" "$E" 0
assert_eq "released 1 1 released 2" "$(brief)" "cancel"
use "$C" confirm "$C2" "$E" 0
assert_eq "not_held 0 1 released 2" "$(brief)" "confirm after cancel (finish still pending: 1)"
use "$C" reverse "$C2" "$E" 0 r1 1
assert_eq "not_confirmed 0 1 released 2" "$(brief)" "reverse after cancel"
use "$C" finish "$C2" 2
assert_eq 1 "$(brief)" "finish the cancel"
use "$C" confirm "$C2" "$E" 0
assert_eq "not_held 0 0 released 2" "$(brief)" "confirm after cancel, finished"

log "the already_used rules"
use "$C" hold "$(new_rid "$C")" "$E" 0 1001 c-3 1000
assert_eq "already_used 0 0 confirmed 2" "$(brief)" "confirmed takes the use"
use "$C" hold "$(new_rid "$C")" "$E" 0 1002 c-4 1000
assert_eq "held" "$(brief | cut -d' ' -f1)" "released and finished frees the user"
C4=${ANS[3]}
use "$C" cancel "$C4" "$E" 0
assert_eq "released 1 1" "$(brief | cut -d' ' -f1-3)" "cancel again"
use "$C" hold "$(new_rid "$C")" "$E" 0 1002 c-5 1000
assert_eq "already_used 0 1 released 2" "$(brief)" "released, finish pending: still the user's (an undo could restore it)"
use "$C" finish "$C4" 2
assert_eq 1 "$(brief)" "finish"
use "$C" hold "$(new_rid "$C")" "$E" 0 1002 c-5 1000
assert_eq "held" "$(brief | cut -d' ' -f1)" "free after the finish"
assert_eq "$C4" "${ANS[16]}" "prev_user names the user's previous redemption"

log "exact expiry: a short hold counts while its score > now, never after"
X=$(new 1 400)
use "$X" hold "$(new_rid "$X")" "$E" 0 1001 x-1 1000
X1=${ANS[3]} xx=${ANS[9]}
rcli HSET "$(ckey "$X" use)" ttl_ms 600000 >/dev/null # the holds below stay
for ((i = 0; ; i++)); do
  ((i < 400)) || fail "the 400 ms hold never expired"
  b=$(redis_ms)
  use "$X" hold "$(new_rid "$X")" "$E" 0 1002 x-2 1000
  a=$(redis_ms)
  if [[ ${ANS[0]} == use_sold_out ]]; then
    ((b < xx)) || fail "sold out at $b..$a, but the hold expired at $xx"
  else
    assert_eq held "${ANS[0]}" "the slot after expiry"
    ((a >= xx)) || fail "held at $b..$a, before the hold expired at $xx"
    X2=${ANS[3]}
    break
  fi
  sleep 0.01
done
log "  polled $i times; the slot came free at $xx"
use "$X" get "$X1" 0
assert_eq "found 0 0 expired 1" "$(brief)" "the view state is expired (unwritten)"
assert_eq held "$(rec "$X" "$X1" | json s)" "the record still says held"
use "$X" hold "$(new_rid "$X")" "$E" 0 1003 x-3 1000
assert_eq "use_sold_out 0 0  0" "$(brief)" "budget back to exactly the limit"
use "$X" confirm "$X1" "$(new_ulid)" 0
assert_eq "hold_expired 1 0 expired 2" "$(brief)" "confirm after expiry: the expired transition"
assert_eq coupon.redemption.expired "$(json type <<<"${ANS[14]}")" "expired event"
use "$X" confirm "$X1" "$(new_ulid)" 0
assert_eq "hold_expired 0 0 expired 2" "$(brief)" "then no new transition"
use "$X" cancel "$X1" "$(new_ulid)" 0
assert_eq "hold_expired 0 0 expired 2" "$(brief)" "cancel of it neither"
assert_eq 0 "$(field "$X" confirmed)" "no use taken"
# 1001's expired hold no longer takes its use: the answer is the budget's
use "$X" hold "$(new_rid "$X")" "$E" 0 1001 x-4 1000
assert_eq "use_sold_out" "${ANS[0]}" "expired frees the user (not already_used); the budget is X2's"
use "$X" cancel "$X2" "$E" 0
rcli HSET "$(ckey "$X" use)" ttl_ms 300 >/dev/null
use "$X" finish "$X2" 2
use "$X" hold "$(new_rid "$X")" "$E" 0 1003 x-5 1000
X3=${ANS[3]}
for ((i = 0; i < 400; i++)); do
  [[ $(u "$X" get "$X3" 0) == "found 0 0 expired 1" ]] && break
  sleep 0.01
done
use "$X" cancel "$X3" "$(new_ulid)" 0
assert_eq "hold_expired 1 0 expired 2" "$(brief)" "cancel after expiry: the expired transition"

log "reverse: partial, replay, conflict, too large, the last one refunds the rest"
V=$(new -1 600000 5000 0 7 3333 1)
use "$V" hold "$(new_rid "$V")" "$E" 0 1001 v-1 30000
V1=${ANS[3]}
use "$V" confirm "$V1" "$(new_ulid)" 0
line_confirm=$(json vendor_amount <<<"${ANS[14]}")
assert_eq $((5000 * 3333 / 10000)) "$line_confirm" "confirm's vendor line"
use "$V" reverse "$V1" "$(new_ulid)" 0 rv-1 10000
assert_eq "partially_reversed 1 0 partially_reversed 3 10000 1666 1666" "$(brief) ${ANS[10]} ${ANS[11]} ${ANS[12]}" "reverse 1/3"
l1=$(json vendor_amount <<<"${ANS[14]}")
assert_eq "rv-1 10000 1666 0" "$(python3 -c 'import json,sys; e=json.loads(sys.argv[1]); print(e["reversal_id"], e["reversal_amount"], e["reversal_refund"], e["use_freed"])' "${ANS[14]}")" "reversal event fields"
use "$V" reverse "$V1" "$(new_ulid)" 0 rv-1 10000
assert_eq "partially_reversed 0 0 partially_reversed 3 1666" "$(brief) ${ANS[12]}" "the same reversal again"
use "$V" reverse "$V1" "$(new_ulid)" 0 rv-1 10001
assert_eq "reversal_conflict 0 0 partially_reversed 3" "$(brief)" "the same reversal id, another amount"
use "$V" reverse "$V1" "$(new_ulid)" 0 rv-2 20001
assert_eq "amount_too_large 0 0 partially_reversed 3" "$(brief)" "more than is left"
use "$V" reverse "$V1" "$(new_ulid)" 0 rv-2 0
assert_contains "$(brief)" "ERR couponq use: reversal amount must be an integer 1..2147483647" "amount 0"
use "$V" reverse "$V1" "$(new_ulid)" 0 rv-2 10000
assert_eq "partially_reversed 1 0 partially_reversed 4 20000 3332 1666" "$(brief) ${ANS[10]} ${ANS[11]} ${ANS[12]}" "reverse 2/3"
l2=$(json vendor_amount <<<"${ANS[14]}")
use "$V" reverse "$V1" "$(new_ulid)" 0 rv-3 10000
assert_eq "reversed 1 1 reversed 5 30000 5000 1668" "$(brief) ${ANS[10]} ${ANS[11]} ${ANS[12]}" "the last reversal refunds the rest (finish: the use comes back)"
l3=$(json vendor_amount <<<"${ANS[14]}")
assert_eq 1 "$(json use_freed <<<"${ANS[14]}")" "use_freed on the give-back reversal"
assert_eq 0 $((line_confirm + l1 + l2 + l3)) "vendor lines of a full reversal sum to minus the confirm line ($line_confirm $l1 $l2 $l3)"
use "$V" reverse "$V1" "$(new_ulid)" 0 rv-4 1
assert_eq "amount_too_large 0 1 reversed 5" "$(brief)" "nothing left"
use "$V" hold "$(new_rid "$V")" "$E" 0 1001 v-2 1000
assert_eq "already_used 0 1 reversed 5" "$(brief)" "reversed, finish pending: still the user's"
assert_eq 1 "$(field "$V" confirmed)" "the use is given back only by finish"
use "$V" finish "$V1" 5
assert_eq 1 "$(brief)" "finish the give-back"
assert_eq "0 1 0" "$(field "$V" confirmed) $(rec "$V" "$V1" | json f) $(rec "$V" "$V1" | json p)" "confirmed -1, f 1, p 0"
use "$V" finish "$V1" 5
assert_eq 0 "$(brief)" "finish twice"
assert_eq 0 "$(field "$V" confirmed)" "finish twice changed nothing"
use "$V" hold "$(new_rid "$V")" "$E" 0 1001 v-2 1000
assert_eq "held" "$(brief | cut -d' ' -f1)" "a use given back is usable again"
use "$V" reverse "$V1" "$(new_ulid)" 0 rv-1 10000
assert_eq "reversed 0 0 reversed 5 1666" "$(brief) ${ANS[12]}" "the first reversal replayed at the end"
assert_eq 3 "$(rcli HLEN "$(ckey "$V" use:revs)")" "three revs entries"
assert_eq '{"a":10000,"r":1666,"w":-555,"e":' "$(rcli HGET "$(ckey "$V" use:revs)" "$V1/rv-1" | cut -c1-33)" "a revs entry"

log "reverse without reuse: the use stays taken"
W=$(new -1 600000 5000 0 0 10000 0)
use "$W" hold "$(new_rid "$W")" "$E" 0 1001 w-1 5000
W1=${ANS[3]}
use "$W" confirm "$W1" "$E" 0
assert_eq 0 "$(json vendor_amount <<<"${ANS[14]}")" "a platform-funded coupon has no vendor lines"
use "$W" reverse "$W1" "$E" 0 all 5000
assert_eq "reversed 1 0 reversed 3 5000" "$(brief) ${ANS[12]}" "a full reversal in one step, no finish"
assert_eq "0 0" "$(json use_freed <<<"${ANS[14]}") $(json vendor_amount <<<"${ANS[14]}")" "no use freed, no vendor line"
use "$W" hold "$(new_rid "$W")" "$E" 0 1001 w-2 5000
assert_eq "already_used 0 0 reversed 3" "$(brief)" "no reuse: the user's use is gone"
assert_eq 1 "$(field "$W" confirmed)" "the use stays counted"
use "$W" finish "$W1" 3
assert_eq 0 "$(brief)" "nothing to finish"
use "$W" hold "$(new_rid "$W")" "$E" 0 1002 w-0 0
W0=${ANS[3]}
use "$W" confirm "$W0" "$E" 0
use "$W" reverse "$W0" "$E" 0 r 1
assert_eq "amount_too_large 0 0 confirmed 2" "$(brief)" "an order of 0 has nothing to reverse"

log "refunds exact at the 2^31-1 edge (floor of a double division would be one off)"
# discount 2000000011 on an order of 2^31-1: reversing 1686690870 refunds
# floor(d*x/a) = 1570853292, where a double computes 1570853293
for c in "2147483647 2000000011 1686690870" "2147483647 1234567891 1689694454" \
  "2147483629 2147483000 40969481" "2147483647 2147483646 2147483645" \
  "2147483647 2147483647 1073741823"; do
  read -r a d x <<<"$c"
  M=$(new -1 600000 "$d")
  use "$M" hold "$(new_rid "$M")" "$E" 0 1001 m-1 "$a"
  MR=${ANS[3]}
  assert_eq "$d" "${ANS[7]}" "discount $d"
  use "$M" confirm "$MR" "$E" 0
  use "$M" reverse "$MR" "$E" 0 p1 "$x"
  want=$((d * x / a)) # bash: 64-bit integers, d*x < 2^62
  assert_eq "partially_reversed $want" "${ANS[0]} ${ANS[12]}" "floor($d*$x/$a)"
  naive=$(python3 -c 'import sys,math; a,d,x=map(int,sys.argv[1:]); print(math.floor(float(d)*x/a))' "$a" "$d" "$x")
  [[ $naive != "$want" ]] && log "  ($a, $d, $x): a double would say $naive"
  left=$((a - x))
  use "$M" reverse "$MR" "$E" 0 p2 1
  got1=${ANS[12]}
  assert_eq $((d * 1 / a)) "$got1" "floor($d*1/$a)"
  use "$M" reverse "$MR" "$E" 0 p3 $((left - 1))
  assert_eq "reversed $((d - want - got1))" "${ANS[0]} ${ANS[12]}" "the last reversal refunds the rest"
  assert_eq "$a $d" "${ANS[10]} ${ANS[11]}" "reversed all, refunded the whole discount"
done
n=0
for c in "2147483647 2000000011 1686690870" "2147483647 1234567891 1689694454" "2147483629 2147483000 40969481"; do
  read -r a d x <<<"$c"
  naive=$(python3 -c 'import sys,math; a,d,x=map(int,sys.argv[1:]); print(math.floor(float(d)*x/a))' "$a" "$d" "$x")
  [[ $naive != $((d * x / a)) ]] && n=$((n + 1))
done
assert_eq 3 "$n" "the edge cases are ones a double division gets wrong"

log "undo: each transition, exactly back, only with the matching version"
U=$(new 5 600000 5000 0 7 5000 1)
# hold over an earlier redemption of the same user: prev_user comes back
use "$U" hold "$(new_rid "$U")" "$E" 0 1001 u-0 1000
U0=${ANS[3]}
use "$U" cancel "$U0" "$E" 0
use "$U" finish "$U0" 2
before=$(state "$U")
use "$U" hold "$(new_rid "$U")" "$E" 0 1001 u-1 1000
U1=${ANS[3]}
assert_eq "$U0" "${ANS[16]}" "prev_user"
use "$U" undo "$U1" 2 "$(rec "$U" "$U1")" "" "$E"
assert_eq 0 "$(brief)" "undo with another version"
use "$U" undo "$U1" 1 "" "$U0" "$E"
assert_eq 1 "$(brief)" "undo the hold"
assert_eq "$before" "$(state "$U")" "undo of a hold restores every key"
use "$U" undo "$U1" 1 "" "$U0" "$E"
assert_eq 0 "$(brief)" "undo twice"
# a hold that expired before its undo, under a later hold of the same user:
# undo of the later one must not point the user at the deleted one
rcli HSET "$(ckey "$U" use)" ttl_ms 50 >/dev/null
use "$U" hold "$(new_rid "$U")" "$E" 0 1002 u-6 1000
U6=${ANS[3]}
rcli HSET "$(ckey "$U" use)" ttl_ms 600000 >/dev/null
for ((i = 0; i < 400; i++)); do
  (($(redis_ms) >= $(rec "$U" "$U6" | json x))) && break
  sleep 0.01
done
use "$U" hold "$(new_rid "$U")" "$E" 0 1002 u-7 1000
U7=${ANS[3]}
assert_eq "held $U6" "${ANS[0]} ${ANS[16]}" "a hold after an expired one"
use "$U" undo "$U6" 1 "" "" "$E"
assert_eq "1 $U7" "$(brief) $(rcli HGET "$(ckey "$U" use:users)" 1002)" "undo of the expired hold leaves the user's latest"
use "$U" undo "$U7" 1 "" "$U6" "$E"
assert_eq "1 0" "$(brief) $(rcli HEXISTS "$(ckey "$U" use:users)" 1002)" "undo of the later one: prev_user is gone, so no entry"
use "$U" hold "$(new_rid "$U")" "$E" 0 1002 u-2 1000
U2=${ANS[3]}
# confirm
before=$(state "$U")
use "$U" confirm "$U2" "$E" 0
assert_eq "confirmed 1" "${ANS[0]} ${ANS[1]}" "confirm to undo"
prev=${ANS[15]}
assert_eq "$(echo "$before" | grep -F "$U2" | grep '"s":"held"' | cut -f2)" "$prev" "prev is the record before"
use "$U" undo "$U2" 1 "" "" "$E"
assert_eq 0 "$(brief)" "undo with the version before"
use "$U" undo "$U2" 3 "$prev" "" "$E"
assert_eq 0 "$(brief)" "undo with a later version"
use "$U" undo "$U2" 2 "$(rec "$U" "$U2")" "" "$E"
assert_contains "$(brief)" "ERR couponq use: prev is not the record before version 2" "undo with the wrong prev"
use "$U" undo "$U2" 2 "" "" "$E"
assert_contains "$(brief)" "ERR couponq use: prev is not a record" "undo without prev"
use "$U" undo "$U2" 2 "$prev" "$U0" "$E"
assert_contains "$(brief)" "ERR couponq use: prev_user is only for the undo of a hold" "prev_user on a confirm"
use "$U" undo "$U2" 2 "$prev" "" "$E"
assert_eq 1 "$(brief)" "undo the confirm"
assert_eq "$before" "$(state "$U")" "undo of a confirm: record, confirmed and the hold back"
# cancel
use "$U" cancel "$U2" "$E" 0
prev=${ANS[15]}
use "$U" undo "$U2" 2 "$prev" "" "$E"
assert_eq 1 "$(brief)" "undo the cancel"
assert_eq "$before" "$(state "$U")" "undo of a cancel"
# a cancel whose finish ran cannot be undone
use "$U" cancel "$U2" "$E" 0
prev=${ANS[15]}
use "$U" finish "$U2" 2
use "$U" undo "$U2" 2 "$prev" "" "$E"
assert_eq 0 "$(brief)" "undo after the finish"
assert_eq released "$(rec "$U" "$U2" | json s)" "still released"
# an event handed out (GET, a replay) cannot be undone
use "$U" hold "$(new_rid "$U")" "$E" 0 1003 u-3 1000
U3=${ANS[3]}
use "$U" get "$U3" 0
assert_eq 1 "$(rec "$U" "$U3" | json ep)" "get marks the event handed out"
use "$U" undo "$U3" 1 "" "" "$E"
assert_eq 0 "$(brief)" "undo of a hold another answer re-produced"
use "$U" confirm "$U3" "$E" 0
prev=${ANS[15]}
use "$U" confirm "$U3" "$E" 0
use "$U" undo "$U3" 2 "$prev" "" "$E"
assert_eq 0 "$(brief)" "undo of a confirm a repeat re-produced"
assert_eq confirmed "$(rec "$U" "$U3" | json s)" "still confirmed"
# expired
rcli HSET "$(ckey "$U" use)" ttl_ms 200 >/dev/null
use "$U" hold "$(new_rid "$U")" "$E" 0 1004 u-4 1000
U4=${ANS[3]}
rcli HSET "$(ckey "$U" use)" ttl_ms 600000 >/dev/null
for ((i = 0; i < 400; i++)); do
  (($(redis_ms) >= $(rec "$U" "$U4" | json x))) && break
  sleep 0.01
done
before=$(state "$U")
use "$U" confirm "$U4" "$E" 0
assert_eq "hold_expired 1" "${ANS[0]} ${ANS[1]}" "expired transition to undo"
use "$U" undo "$U4" 2 "${ANS[15]}" "" "$E"
assert_eq 1 "$(brief)" "undo the expired transition"
assert_eq "$before" "$(state "$U")" "undo of an expired transition"
# reversals: a partial one and the give-back
use "$U" hold "$(new_rid "$U")" "$E" 0 1005 u-5 3000
U5=${ANS[3]}
use "$U" confirm "$U5" "$E" 0
before=$(state "$U")
use "$U" reverse "$U5" "$E" 0 r-1 1000
use "$U" undo "$U5" 3 "${ANS[15]}" "" "$E"
assert_eq 1 "$(brief)" "undo a partial reversal"
assert_eq "$before" "$(state "$U")" "undo of a partial reversal (revs entry gone)"
use "$U" reverse "$U5" "$E" 0 r-1 1000
before=$(state "$U")
use "$U" reverse "$U5" "$E" 0 r-2 2000
assert_eq "reversed 1 1" "${ANS[0]} ${ANS[1]} ${ANS[2]}" "give-back reversal to undo"
use "$U" undo "$U5" 4 "${ANS[15]}" "" "$E"
assert_eq 1 "$(brief)" "undo the give-back reversal"
assert_eq "$before" "$(state "$U")" "undo of a full reversal"
use "$U" reverse "$U5" "$E" 0 r-2 2000
prev=${ANS[15]}
use "$U" finish "$U5" 3
assert_eq 0 "$(brief)" "finish with another version"
use "$U" finish "$U5" 4
assert_eq 1 "$(brief)" "finish the give-back"
use "$U" undo "$U5" 4 "$prev" "" "$E"
assert_eq 0 "$(brief)" "undo after its finish"

log "undo: scoped by the transition's event id (a re-send never takes back a later transition)"
W=$(new 5 600000 5000 0 7 5000 1)
E1=$(new_ulid)
E2=$(new_ulid)
E3=$(new_ulid)
use "$W" hold "$(new_rid "$W")" "$E1" 0 1001 w-1 1000
W1=${ANS[3]}
before=$(dump "$W")
use "$W" undo "$W1" 1 "" "" "$E2"
assert_eq 0 "$(brief)" "undo of the hold with another event id"
assert_eq "$before" "$(dump "$W")" "undo with another event id changed nothing"
use "$W" confirm "$W1" "$E2" 0
assert_eq "confirmed 1" "${ANS[0]} ${ANS[1]}" "confirm to undo"
prev=${ANS[15]}
before=$(dump "$W")
use "$W" undo "$W1" 2 "$prev" "" "$E1"
assert_eq 0 "$(brief)" "undo of the confirm with the hold's event id"
assert_eq "$before" "$(dump "$W")" "undo with the event id of an earlier transition changed nothing"
use "$W" undo "$W1" 2 "$prev" "" "$E2"
assert_eq 1 "$(brief)" "undo with the confirm's event id"
assert_eq "held 1 $E1" "$(rec "$W" "$W1" | jq -r '"\(.s) \(.v) \(.e)"')" "back to the hold"
# the client retries: a new confirm of the same version, a new event id (in
# Kafka); the first undo, kept by an api that did not see it reach the
# replicas, comes again (a new primary, or the same one after a reconnect)
use "$W" confirm "$W1" "$E3" 0
assert_eq "confirmed 1 $prev" "${ANS[0]} ${ANS[1]} ${ANS[15]}" "the retry: same version, same prev"
before=$(dump "$W")
use "$W" undo "$W1" 2 "$prev" "" "$E2"
assert_eq 0 "$(brief)" "a re-sent undo after a later transition of the same version"
assert_eq "$before" "$(dump "$W")" "the re-sent undo changed nothing"
assert_eq "confirmed 2 $E3 1" "$(rec "$W" "$W1" | jq -r '"\(.s) \(.v) \(.e)"') $(field "$W" confirmed)" "the later confirm stands"
use "$W" undo "$W1" 2 "$prev" "" "$E3"
assert_eq 1 "$(brief)" "the retry's own undo still works"
use "$W" undo "$W1" 1 "" "" "$E1"
assert_eq "1 0 0" "$(brief) $(rcli HLEN "$(ckey "$W" use:recs)") $(field "$W" confirmed)" "then the hold's, by its event id"

log "fenced: every operation, nothing written"
F=$(new)
use "$F" hold "$(new_rid "$F")" "$E" 0 1001 f-1 1000
F1=${ANS[3]}
rcli HSET "$(ckey "$F" meta)" fence 0123456789abcdef0123456789abcdef01234567 >/dev/null
before=$(dump "$F")
use "$F" hold "$(new_rid "$F")" "$E" 0 1002 f-2 1000
assert_eq "fenced 0 0  0" "$(brief)" "hold fenced"
use "$F" hold "$(new_rid "$F")" "$E" 0 1001 f-1 1000
assert_eq "fenced 0 0  0" "$(brief)" "a replay fenced too"
use "$F" confirm "$F1" "$E" 0
assert_eq "fenced 0 0  0" "$(brief)" "confirm fenced"
use "$F" cancel "$F1" "$E" 0
assert_eq "fenced 0 0  0" "$(brief)" "cancel fenced"
use "$F" reverse "$F1" "$E" 0 r 1
assert_eq "fenced 0 0  0" "$(brief)" "reverse fenced"
use "$F" get "$F1" 0
assert_eq "fenced 0 0  0" "$(brief)" "get fenced"
use "$F" adjust 5
assert_contains "$(brief)" "ERR couponq use: fenced" "adjust fenced"
# shellcheck disable=SC2046
out=$(rcli EVAL "$SCRIPT" 8 $(keys "$F") batch 7 hold "$(new_rid "$F")" "$E" 0 1002 f-3 1000 4 confirm "$F1" "$E" 0 3 get "$F1" 0)
assert_eq "fenced fenced fenced" "$(sed -n '1p;10p;18p' <<<"$out" | tr '\n' ' ' | sed 's/ $//')" "a batch fenced: every operation"
assert_eq "$before" "$(dump "$F")" "fenced calls wrote nothing"
rcli HDEL "$(ckey "$F" meta)" fence >/dev/null
use "$F" get "$F1" 0
assert_eq "fenced 0 0  0" "$(brief)" "no fence field"
rcli HSET "$(ckey "$F" meta)" fence "$(redis_replid)" >/dev/null
use "$F" get "$F1" 0
assert_eq "found 0 0 held 1" "$(brief)" "this server's fence"

log "bad arguments and corrupt state: an error, no key changed"
B=$(new 5)
use "$B" hold "$(new_rid "$B")" "$E" 0 1001 b-1 1000
B1=${ANS[3]}
use "$B" confirm "$B1" "$E" 0
use "$B" get "$B1" 0 # marks ep now, so no check below is a first replay
OTHER=$(new_rid $((B + 1)))
long=$(printf 'o%.0s' {1..65})
refuse() { # refuse WHAT EXPECTED-TEXT OP ARG...
  local what=$1 want=$2 before
  shift 2
  before=$(dump "$B")
  use "$B" "$@"
  [[ ${ANS[0]} == "ERR couponq use: "* ]] || fail "$what: expected an error, got '${ANS[*]}'"
  assert_contains "${ANS[0]}" "$want" "$what"
  assert_eq "$before" "$(dump "$B")" "$what: no key changed"
}
for bad in "" "$(echo "$B1" | tr 'A-Z' 'a-z')" "${B1:0:25}" "${B1}0" "I${B1:1}" "8${B1:1}" "U${B1:1}"; do
  refuse "rid '$bad'" "rid must be a ULID" confirm "$bad" "$E" 0
done
refuse "a rid of another coupon" "does not carry coupon $B" confirm "$OTHER" "$E" 0
refuse "hold with a rid of another coupon" "does not carry coupon $B" hold "$OTHER" "$E" 0 1002 b-2 1
# The coupon part's top bits (45..47) sit in the rid's 17th character, the
# other 45 in its last 9: a rid equal to B's in those 9 is still refused.
for k in 1 4 7; do
  refuse "a rid of coupon B + $k * 2^45" "does not carry coupon $B" confirm "$(new_rid $((B + (k << 45))))" "$E" 0
done
# ... and a coupon with those bits set takes its own rids, not B's
H=$((B + (5 << 45)))
IDS+=("$H")
coupon_meta_raw "$H" -1
coupon_use_raw "$H" 5
rcli SADD "$(ckey "$H" issued)" 1001 >/dev/null
use "$H" hold "$(new_rid "$H")" "$E" 0 1001 h-1 1000
assert_eq "held 1 0 held 1" "$(brief)" "a hold on coupon B + 5 * 2^45"
use "$H" get "$(new_rid "$B")" 0
assert_contains "${ANS[0]}" "does not carry coupon $H" "coupon B + 5 * 2^45 refuses a rid of B"
for bad in "" "${E:0:25}" "$(echo "$E" | tr 'A-Z' 'a-z')" "O${E:1}"; do
  refuse "event id '$bad'" "event id must be a ULID" confirm "$B1" "$bad" 0
done
for bad in "" 01 -1 abc 1.5 9223372036854775808 " 1"; do
  refuse "actor '$bad'" "actor must be a decimal integer" get "$B1" "$bad"
done
for bad in 0 "" 01 x 9223372036854775808 12345678901234567890; do
  refuse "user '$bad'" "user id must be a decimal integer" hold "$(new_rid "$B")" "$E" 0 "$bad" b-2 1
done
for bad in "" "$long" "a b" "a/b" 'a"b' "é"; do
  refuse "order id '$bad'" "order id must be 1 to 64" hold "$(new_rid "$B")" "$E" 0 1002 "$bad" 1
done
for bad in "" -1 01 1.5 2147483648 1e3 " 1" 99999999999999999999; do
  refuse "order amount '$bad'" "order amount must be an integer 0..2147483647" hold "$(new_rid "$B")" "$E" 0 1002 b-2 "$bad"
done
for bad in "" "$long" "a/b"; do
  refuse "reversal id '$bad'" "reversal id must be 1 to 64" reverse "$B1" "$E" 0 "$bad" 1
done
for bad in 0 -5 2147483648 x; do
  refuse "reversal amount '$bad'" "reversal amount must be an integer 1..2147483647" reverse "$B1" "$E" 0 r "$bad"
done
for bad in 0 -1 x ""; do
  refuse "version '$bad'" "version must be an integer" finish "$B1" "$bad"
  refuse "undo version '$bad'" "version must be an integer" undo "$B1" "$bad" "" "" "$E"
done
refuse "undo prev not JSON" "prev is not a record" undo "$B1" 2 "{nope" "" "$E"
refuse "undo prev missing a field" "prev is not a record (ep)" undo "$B1" 2 "$(rec "$B" "$B1" | sed 's/,"ep":[01]//')" "" "$E"
refuse "undo prev with a numeric user" "prev is not a record (u)" undo "$B1" 2 "$(rec "$B" "$B1" | sed 's/"u":"1001"/"u":1001/')" "" "$E"
refuse "undo of a hold with a prev" "undo of version 1 (a hold) takes prev" undo "$B1" 1 "$(rec "$B" "$B1")" "" "$E"
refuse "undo prev_user not a rid" "prev_user must be a ULID" undo "$B1" 1 "" "nope" "$E"
refuse "undo event id not a ULID" "event id must be a ULID" undo "$B1" 1 "" "" "nope"
refuse "undo event id empty" "event id must be a ULID" undo "$B1" 1 "" "" ""
refuse "adjust limit" "limit must be an integer -1..4294967295" adjust -2
refuse "adjust limit x" "limit must be an integer" adjust x
refuse "hold: 5 arguments" "hold expects 6 arguments" hold "$(new_rid "$B")" "$E" 0 1002 b-2
refuse "confirm: 4 arguments" "confirm expects 3 arguments" confirm "$B1" "$E" 0 extra
refuse "cancel: 2 arguments" "cancel expects 3 arguments" cancel "$B1" "$E"
refuse "reverse: 4 arguments" "reverse expects 5 arguments" reverse "$B1" "$E" 0 r
refuse "get: 1 argument" "get expects 2 arguments" get "$B1"
refuse "undo: 3 arguments" "undo expects 5 arguments" undo "$B1" 2 ""
refuse "undo: 4 arguments (the form before the event id)" "undo expects 5 arguments" undo "$B1" 1 "" ""
refuse "finish: 1 argument" "finish expects 2 arguments" finish "$B1"
refuse "adjust: none" "adjust expects 1 or 2 arguments" adjust
refuse "adjust: 3 arguments" "adjust expects 1 or 2 arguments" adjust 5 5 5
refuse "adjust expected x" "expected limit must be an integer -1..4294967295" adjust 5 x
refuse "unknown operation" "unknown operation" redeem "$B1"
refuse "no operation" "unknown operation"
# the batch form's framing is checked whole before any operation runs
refuse "batch without operations" "batch: no operation" batch
refuse "batch count 0" "batch: argument 2 must count the operation and its arguments that follow (1..3)" batch 0 get "$B1" 0
refuse "batch count beyond the arguments" "batch: argument 2 must count" batch 4 get "$B1" 0
refuse "batch count 8" "batch: argument 2 must count the operation and its arguments that follow (1..7)" batch 8 hold a b c d e f g
refuse "batch: a good hold, then a bad count" "batch: argument 10 must count" batch 7 hold "$(new_rid "$B")" "$E" 0 1002 b-9 1 x get "$B1" 0
before=$(dump "$B")
# shellcheck disable=SC2046
assert_contains "$(rcli EVAL "$SCRIPT" 7 $(keys "$B" | cut -d' ' -f1-7) get "$B1" 0 2>&1)" "ERR couponq use: expects the 8 keys" "7 keys"
# shellcheck disable=SC2046
assert_contains "$(rcli EVAL "$SCRIPT" 8 $(keys "$B" | awk '{print $1, $3, $2, $4, $5, $6, $7, $8}') get "$B1" 0 2>&1)" "ERR couponq use: key 2 must be couponq:{c$B}:use" "keys out of order"
# shellcheck disable=SC2046
assert_contains "$(rcli EVAL "$SCRIPT" 8 $(keys "$B" | cut -d' ' -f1-7) "couponq:{c$((B + 1))}:use:revs" get "$B1" 0 2>&1)" "ERR couponq use: key 8 must be" "a key of another coupon"
assert_eq "$before" "$(dump "$B")" "bad keys: no key changed"
# corrupt stored state
rcli HSET "$(ckey "$B" use)" share_bps 10001 >/dev/null
refuse "use hash share_bps 10001" "corrupt use hash couponq:{c$B}:use field share_bps" hold "$(new_rid "$B")" "$E" 0 1002 b-2 1
rcli HSET "$(ckey "$B" use)" share_bps 10000 confirmed -1 >/dev/null
refuse "use hash confirmed -1" "field confirmed" confirm "$B1" "$E" 0
rcli HSET "$(ckey "$B" use)" confirmed 1 >/dev/null
rcli HDEL "$(ckey "$B" use)" ttl_ms >/dev/null
refuse "use hash without ttl_ms" "field ttl_ms" get "$B1" 0
rcli HSET "$(ckey "$B" use)" ttl_ms 600000 >/dev/null
rcli HSET "$(ckey "$B" meta)" state paused >/dev/null
refuse "meta state paused" "corrupt meta hash" get "$B1" 0
rcli HSET "$(ckey "$B" meta)" state open >/dev/null
good=$(rec "$B" "$B1")
for bad in 'not json' '{"u":"1001"}' "$(sed 's/"rd":0/"rd":5001/' <<<"$good")" "$(sed 's/"s":"confirmed"/"s":"reversed"/' <<<"$good")" \
  "$(sed 's/"a":1000/"a":1000.5/' <<<"$good")" "$(sed 's/"p":0/"p":1/' <<<"$good")"; do
  rcli HSET "$(ckey "$B" use:recs)" "$B1" "$bad" >/dev/null
  refuse "corrupt record '${bad:0:40}...'" "corrupt record $B1" reverse "$B1" "$E" 0 r 1
done
rcli HSET "$(ckey "$B" use:recs)" "$B1" "$good" >/dev/null
use "$B" get "$B1" 0
assert_eq "found 0 0 confirmed 2" "$(brief)" "the good record again"

log "replays forever: every earlier request, its first answer's code"
use "$A" hold "$(new_rid "$A")" "$E" 0 1001 o-1 30000
assert_eq "replay 0 0 held 1" "$(brief)" "hold o-1"
use "$C" confirm "$C1" "$E" 0
assert_eq "confirmed 0 0 confirmed 2" "$(brief)" "confirm c-1"
use "$C" cancel "$C2" "$E" 0
assert_eq "released 0 0 released 2" "$(brief)" "cancel c-2"
use "$V" reverse "$V1" "$E" 0 rv-3 10000
assert_eq "reversed 0 0 reversed 5 1668" "$(brief) ${ANS[12]}" "reverse rv-3"
use "$V" hold "$(new_rid "$V")" "$E" 0 1001 v-1 30000
assert_eq "replay 0 0 reversed 5" "$(brief)" "hold v-1 after its full reversal"
use "$V" hold "$(new_rid "$V")" "$E" 0 1001 v-1 29999
assert_eq "order_conflict 0 0 reversed 5" "$(brief)" "hold v-1, other amount"

log "the batch form: each operation as if alone, in order; an invalid one answers its error and stops none"
G=$(new 5)
G1=$(new_rid "$G")
GX=$(new_rid $((G + 1)))
# shellcheck disable=SC2046
out=$(rcli EVAL "$SCRIPT" 8 $(keys "$G") batch 7 hold "$G1" "$E" 0 1001 g-1 1000 4 confirm "$GX" "$E" 0 \
  4 confirm "$G1" "$E" 0 3 get "$G1" 0 1 nope 4 cancel "$G1" "$E" 0)
# hold: 9 lines, an error: 2 (its text, a blank), the others 8
assert_eq "held|ERR couponq use: rid $GX does not carry coupon $G|confirmed|found|ERR couponq use: unknown operation (hold confirm cancel reverse get undo finish adjust)|already_confirmed" \
  "$(sed -n '1p;10p;12p;20p;28p;30p' <<<"$out" | tr '\n' '|' | sed 's/|$//')" "a batch's answers, in order"
assert_eq "confirmed 1 2" "$(rec "$G" "$G1" | json s) $(field "$G" confirmed) $(rec "$G" "$G1" | json v)" \
  "the batch's transitions: hold and confirm written, the get marked the record, the refusals nothing"

log "the randomized model (use_lua_model.py), single calls and batches"
MOD=$(new_coupon_id)
IDS+=("$MOD" $((MOD + 1)))
python3 "$COUPONQ_SRC/tests/integration/use_lua_model.py" --port "$REDIS_PORT" \
  --script "$COUPONQ_SRC/schemas/redis/use.lua" --coupon "$MOD" --seed "${USE_MODEL_SEED:-12345}" \
  --ops "${USE_MODEL_OPS:-6000}" || fail "the model test failed (seed ${USE_MODEL_SEED:-12345})"
log "ok"
