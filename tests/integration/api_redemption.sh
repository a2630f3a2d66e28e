# api_redemption.sh -- the five redemption endpoints (DESIGN.md
# "Redemption") against the real stack and use.lua: every answer of every
# endpoint (201, the 200 replay, each 409/403/410/422/404/400/405/411, 503
# fenced, 503 when Kafka refuses the event -- the transition undone, a
# replay's re-produce not -- 503 when Redis answers after the deadline, the
# late transition then undone, 503 when the answer is lost with the
# connection, a retry replaying, and 503 when Redis is unreachable); bad input
# of every kind changes nothing (the coupon's Redis keys and the topic's
# event count are compared); every answer that describes a redemption
# waited for its event, which is on the topic with its type and version;
# finish frees the budget after a cancel and a give-back reversal; a hold
# expires without a cleanup job; a user token acts for its sub, a service
# token for the body's user.
source "$(dirname "$0")/../lib.sh"

T=$(new_topic api_redemption 3)
api_up api --topic "$T" --redemption-topic "$T"
PORT=$API_PORT
MPORT=$API_ADMIN_PORT
assert_eq '200 {"status":"ok","redis":"up","kafka":"up","redemptions":"up"}' "$(get "$PORT" /healthz)" "healthz"

# post PATH BODY [curl args] -> "<status> <body>" (BODY - : no body at all)
post() {
  local path=$1 data=$2
  shift 2
  if [[ $data == - ]]; then set -- "$@" -X POST; else set -- "$@" --data "$data"; fi
  curl -s -w '\n%{http_code}' -H 'Content-Type: application/json' "$@" "http://127.0.0.1:${P:-$PORT}$path" |
    { read -r body; read -r code; echo "$code $body"; }
}
hold() { post "/v1/coupons/$1/redemptions" "{\"user_id\":$2,\"order_id\":\"$3\",\"order_amount\":$4}" "${@:5}"; }
op() { post "/v1/redemptions/$1/$2" "${3:-}" "${@:4}"; }
rget() { # RID [curl args]
  local rid=$1
  shift
  curl -s -w '\n%{http_code}' "$@" "http://127.0.0.1:${P:-$PORT}/v1/redemptions/$rid" |
    { read -r body; read -r code; echo "$code $body"; }
}
rid_of() { sed -n 's/.*"redemption_id":"\([0-9A-Z]\{26\}\)".*/\1/p' <<<"$1"; }
body_of() { echo "${1#* }"; }
# jqt 'filter' "<status> <body>" WHAT -- the body satisfies the jq filter
jqt() { jq -e "$1" >/dev/null <<<"$(body_of "$2")" || fail "$3: $1 does not hold for $2"; }
keys_of() { jq -c 'keys_unsorted' <<<"$(body_of "$1")"; }
HOLD_KEYS='["result","redemption_id","coupon_id","user_id","order_id","order_amount","discount","expires_at"]'
VIEW_KEYS='["redemption_id","coupon_id","user_id","order_id","order_amount","discount","state","expires_at","reversed_amount","refunded_discount"]'

# use_state C -- every use key of coupon C, for "nothing changed"
use_state() {
  local c=$1 k
  for k in use use:holds use:recs use:orders use:users use:revs; do
    echo "== $k"
    case $k in
      use:holds) rcli ZRANGE "couponq:{c$c}:$k" 0 -1 WITHSCORES ;;
      *) rcli HGETALL "couponq:{c$c}:$k" | paste - - | sort ;;
    esac
  done
}
# last_event RID -> "<type> <version> <state>" of its latest event on $T
last_event() {
  kcat -b "$COUPONQ_KAFKA" -C -t "$T" -e -q -f '%k\t%s\n' 2>/dev/null | awk -F'\t' -v k="$1" '$1 == k { v = $2 } END { print v }' |
    jq -r '"\(.type) \(.version) \(.state)"'
}
# answered RID 'type version state' WHAT -- the answer's event is on the topic
answered() { assert_eq "$2" "$(last_event "$1")" "$3: event on the topic"; }
new_use_coupon() { # ID LIMIT TTL_MS [UNTIL_MS] -- discount 5000, minimum 1000, users 11-16 admitted
  coupon_create_raw "$1" -1
  coupon_use_raw "$1" "$2" "$3" 5000 1000 0 10000 1 "${4:--1}"
  rcli SADD "$(ckey "$1" issued)" 11 12 13 14 15 16 >/dev/null
}

C=$(new_coupon_id)
new_use_coupon "$C" 2 600000

log "hold: 201, then the same request replays 200 with the same body"
out=$(hold "$C" 11 o-1 30000)
jqt '.result == "held" and .coupon_id == '"$C"' and .user_id == 11 and .order_id == "o-1" and .order_amount == 30000 and .discount == 5000' "$out" "hold"
assert_eq 201 "${out%% *}" "hold status"
assert_eq "$HOLD_KEYS" "$(keys_of "$out")" "hold body fields"
jqt '.expires_at | test("^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$")' "$out" "expires_at RFC 3339 ms Z"
R1=$(rid_of "$out")
x=$(rcli HGET "$(ckey "$C" use:recs)" "$R1" | jq .x)
assert_eq "$(python3 -c "import datetime,sys; print(datetime.datetime.fromtimestamp($x/1000, datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.')+'%03dZ' % ($x % 1000))")" \
  "$(body_of "$out" | jq -r .expires_at)" "expires_at is the record's x"
answered "$R1" "coupon.redemption.held 1 held" "hold"
n=$(topic_count "$T")
assert_eq "200 $(body_of "$out")" "$(hold "$C" 11 o-1 30000)" "replay"
assert_eq $((n + 1)) "$(topic_count "$T")" "a replay re-produces the event"

log "hold refusals: 409 order_conflict, already_used; 403 not_owned; 422 below_min_amount; 410 use_sold_out"
assert_eq '409 {"result":"order_conflict","coupon_id":'"$C"',"user_id":11,"order_id":"o-1","redemption_id":"'"$R1"'"}' "$(hold "$C" 11 o-1 3000)" "order_conflict"
assert_eq '409 {"result":"order_conflict","coupon_id":'"$C"',"user_id":12,"order_id":"o-1","redemption_id":"'"$R1"'"}' "$(hold "$C" 12 o-1 30000)" "order_conflict, another user"
assert_eq '409 {"result":"already_used","coupon_id":'"$C"',"user_id":11,"order_id":"o-2","redemption_id":"'"$R1"'"}' "$(hold "$C" 11 o-2 30000)" "already_used"
assert_eq '403 {"result":"not_owned","coupon_id":'"$C"',"user_id":99,"order_id":"o-3"}' "$(hold "$C" 99 o-3 30000)" "not_owned"
assert_eq '422 {"result":"below_min_amount","coupon_id":'"$C"',"user_id":12,"order_id":"o-3"}' "$(hold "$C" 12 o-3 999)" "below_min_amount"
out=$(hold "$C" 12 o-3 1000)
assert_eq 201 "${out%% *}" "second hold (limit 2)"
jqt '.discount == 1000' "$out" "discount = min(coupon discount, order amount)"
R2=$(rid_of "$out")
assert_eq '410 {"result":"use_sold_out","coupon_id":'"$C"',"user_id":13,"order_id":"o-4"}' "$(hold "$C" 13 o-4 30000)" "use_sold_out"

log "bad input changes nothing (Redis keys, topic count)"
before=$(use_state "$C")
n=$(topic_count "$T")
H=/v1/coupons/$C/redemptions
bad() { # PATH BODY STATUS 'error text'
  local out
  out=$(post "$1" "$2")
  assert_eq "$3" "${out%% *}" "$1 $2: status"
  assert_contains "$out" "$4" "$1 $2: error"
}
bad "$H" '' 400 'body: empty'
bad "$H" '{' 400 'body: invalid JSON'
bad "$H" '[]' 400 'body: must be a JSON object, got an array'
bad "$H" '{"order_id":"o","order_amount":1}' 400 'user_id: missing'
bad "$H" '{"user_id":13,"order_amount":1}' 400 'order_id: missing'
bad "$H" '{"user_id":13,"order_id":"o"}' 400 'order_amount: missing'
bad "$H" '{"user_id":13,"order_id":"o","order_amount":1,"coupon":1}' 400 'unknown field \"coupon\"'
bad "$H" '{"user_id":13,"user_id":13,"order_id":"o","order_amount":1}' 400 'duplicate field'
bad "$H" '{"user_id":0,"order_id":"o","order_amount":1}' 400 'user_id: must be 1 .. 9223372036854775807, got 0'
bad "$H" '{"user_id":"13","order_id":"o","order_amount":1}' 400 'user_id: must be an integer, got a string'
bad "$H" '{"user_id":13,"order_id":"","order_amount":1}' 400 'order_id: must be 1 to 64 characters'
bad "$H" '{"user_id":13,"order_id":"'"$(printf 'o%.0s' {1..65})"'","order_amount":1}' 400 'got 65 characters'
bad "$H" '{"user_id":13,"order_id":"a b","order_amount":1}' 400 'order_id: character 2 (0x20)'
bad "$H" '{"user_id":13,"order_id":7,"order_amount":1}' 400 'order_id: must be a string, got an integer'
bad "$H" '{"user_id":13,"order_id":"o","order_amount":-1}' 400 'order_amount: must be 0 .. 2147483647, got -1'
bad "$H" '{"user_id":13,"order_id":"o","order_amount":2147483648}' 400 'order_amount: must be 0 .. 2147483647'
bad "$H" '{"user_id":13,"order_id":"o","order_amount":1.5}' 400 'order_amount: must be an integer, got a number'
bad "$H" '{"user_id":13,"order_id":"o","order_amount":99999999999999999999}' 400 'out of range'
bad "$H" - 411 'body required'
bad "/v1/coupons/x/redemptions" '{}' 400 'coupon id: must be'
bad "/v1/redemptions/$R1/confirm" '{"a":1}' 400 'unknown field \"a\"'
bad "/v1/redemptions/$R1/cancel" '[]' 400 'must be a JSON object'
bad "/v1/redemptions/$R1/reverse" '{}' 400 'reversal_id: missing'
bad "/v1/redemptions/$R1/reverse" '{"reversal_id":"r"}' 400 'amount: missing'
bad "/v1/redemptions/$R1/reverse" '{"reversal_id":"r","amount":0}' 400 'amount: must be 1 .. 2147483647, got 0'
bad "/v1/redemptions/$R1/reverse" '{"reversal_id":"r/1","amount":1}' 400 'reversal_id: character 2'
bad "/v1/redemptions/$R1/reverse" - 411 'body required'
bad "/v1/redemptions/abc/confirm" '' 400 'redemption id: must be a ULID'
bad "/v1/redemptions/${R1:0:25}I/cancel" '' 400 'redemption id: must be a ULID'
bad "/v1/redemptions/$R1/refund" '' 404 'no such path'
bad "/v1/redemptions/$R1" '' 405 'method not allowed: use GET'
assert_eq '400 {"error":"redemption id: must be a ULID (26 characters of Crockford base32: 0-9 A-Z without I L O U)"}' "$(get "$PORT" /v1/redemptions/8ZZZZZZZZZZZZZZZZZZZZZZZZZ)" "GET of a malformed rid"
out=$(curl -s -i "http://127.0.0.1:$PORT/v1/redemptions/$R1/confirm" | tr -d '\r')
assert_contains "$out" "HTTP/1.1 405" "GET confirm"
assert_contains "$out" "Allow: POST" "GET confirm: Allow"
out=$(curl -s -i "http://127.0.0.1:$PORT$H" | tr -d '\r')
assert_contains "$out" "Allow: POST" "GET of the hold route: Allow"
assert_eq "$before" "$(use_state "$C")" "Redis keys after bad input"
assert_eq "$n" "$(topic_count "$T")" "events after bad input"

log "404: no redemption, a rid naming no coupon, a coupon without a use budget or beyond 48 bits"
assert_eq '404 {"result":"not_found","redemption_id":"0000000000'"${R1:10}"'"}' "$(rget "0000000000${R1:10}")" "unknown rid"
assert_eq '404 {"result":"not_found","redemption_id":"01ARZ3NDEKTSV4RR0000000000"}' "$(op 01ARZ3NDEKTSV4RR0000000000 confirm)" "rid of coupon 0"
assert_eq '404 {"result":"not_found","redemption_id":"0000000000'"${R1:10}"'"}' "$(op "0000000000${R1:10}" reverse '{"reversal_id":"r","amount":1}')" "reverse of no redemption"
C0=$(new_coupon_id)
coupon_create_raw "$C0" -1
assert_eq '404 {"result":"not_found","coupon_id":'"$C0"',"user_id":11,"order_id":"o-1"}' "$(hold "$C0" 11 o-1 1)" "coupon without use hash"
assert_eq '404 {"result":"not_found","coupon_id":281474976710656,"user_id":11,"order_id":"o-1"}' "$(hold 281474976710656 11 o-1 1)" "coupon id beyond 48 bits"
lower=$(tr 'A-Z' 'a-z' <<<"$R1")
assert_eq "200" "$(rget "$lower" | cut -d' ' -f1)" "a lower-case rid"

log "GET, confirm, cancel, reverse: every answer, each event on the topic"
out=$(rget "$R1")
assert_eq "$VIEW_KEYS" "$(keys_of "$out")" "GET body fields"
jqt '.state == "held" and .redemption_id == "'"$R1"'" and .reversed_amount == 0 and .refunded_discount == 0' "$out" "GET held"
n=$(topic_count "$T")
assert_eq '409 {"result":"not_confirmed","redemption_id":"'"$R1"'","state":"held"}' "$(op "$R1" reverse '{"reversal_id":"r1","amount":1}')" "reverse of a hold"
out=$(op "$R1" confirm)
jqt '.result == "confirmed" and .state == "confirmed"' "$out" "confirm"
assert_eq 200 "${out%% *}" "confirm status"
assert_eq "$(jq -c '["result"] + .' <<<"$VIEW_KEYS")" "$(keys_of "$out")" "confirm body fields"
answered "$R1" "coupon.redemption.confirmed 2 confirmed" "confirm"
assert_eq 1 "$(rcli HGET "$(ckey "$C" use)" confirmed)" "confirmed counter"
assert_eq "$out" "$(op "$R1" confirm '{}')" "confirm repeated (body {})"
assert_eq '409 {"result":"already_confirmed","redemption_id":"'"$R1"'","state":"confirmed"}' "$(op "$R1" cancel)" "cancel of a confirmed one"
out=$(op "$R1" reverse '{"reversal_id":"r1","amount":10000}')
jqt '.result == "partially_reversed" and .state == "partially_reversed" and .reversed_amount == 10000 and .refunded_discount == 1666 and .refund == 1666' "$out" "partial reversal"
answered "$R1" "coupon.redemption.reversed 3 partially_reversed" "partial reversal"
assert_eq "$out" "$(op "$R1" reverse '{"reversal_id":"r1","amount":10000}')" "the same reversal again"
assert_eq '409 {"result":"reversal_conflict","redemption_id":"'"$R1"'","state":"partially_reversed"}' "$(op "$R1" reverse '{"reversal_id":"r1","amount":100}')" "reversal_conflict"
assert_eq '422 {"result":"amount_too_large","redemption_id":"'"$R1"'","state":"partially_reversed"}' "$(op "$R1" reverse '{"reversal_id":"r2","amount":20001}')" "amount_too_large"
out=$(op "$R1" reverse '{"reversal_id":"r2","amount":20000}')
jqt '.result == "reversed" and .reversed_amount == 30000 and .refunded_discount == 5000 and .refund == 3334' "$out" "full reversal: refunds sum to the discount"
answered "$R1" "coupon.redemption.reversed 4 reversed" "full reversal"
wait_eq "rcli HGET 'couponq:{c$C}:use' confirmed" 0 "finish gave the use back"
assert_eq '422 {"result":"amount_too_large","redemption_id":"'"$R1"'","state":"reversed"}' "$(op "$R1" reverse '{"reversal_id":"r3","amount":1}')" "nothing left to reverse"
out=$(op "$R2" cancel)
jqt '.result == "released" and .state == "released"' "$out" "cancel"
answered "$R2" "coupon.redemption.released 2 released" "cancel"
wait_eq "rcli ZSCORE 'couponq:{c$C}:use:holds' $R2" "" "finish removed the cancelled hold"
assert_eq "$out" "$(op "$R2" cancel)" "cancel repeated"
assert_eq '409 {"result":"not_held","redemption_id":"'"$R2"'","state":"released"}' "$(op "$R2" confirm)" "confirm of a released one"
out=$(hold "$C" 12 o-5 5000)
assert_eq 201 "${out%% *}" "the user holds again after the cancel"
m=$(metrics "$MPORT")
assert_metric "$m" 'couponq_api_redemptions_total{route="hold",result="held"}' 3 "holds by route and result"
assert_metric "$m" 'couponq_api_redemptions_total{route="reverse",result="reversal_conflict"}' 1 "a reversal_conflict counted"
assert_metric "$m" 'couponq_api_requests_total{route="hold",code="201"}' 3 "201 counted"
assert_metric "$m" 'couponq_api_requests_total{route="confirm",code="409"}' 1 "409 of confirm counted"

log "403 not_usable (closed, past use_until); 503 fenced (nothing written)"
C2=$(new_coupon_id)
new_use_coupon "$C2" -1 600000
rcli HSET "$(ckey "$C2" meta)" state closed >/dev/null
assert_eq '403 {"result":"not_usable","coupon_id":'"$C2"',"user_id":11,"order_id":"o-1"}' "$(hold "$C2" 11 o-1 5000)" "closed"
C3=$(new_coupon_id)
new_use_coupon "$C3" -1 600000 $(($(date +%s%3N) - 1000))
assert_eq '403 {"result":"not_usable","coupon_id":'"$C3"',"user_id":11,"order_id":"o-1"}' "$(hold "$C3" 11 o-1 5000)" "past use_until"
rcli HSET "$(ckey "$C" meta)" fence not-this-dataset >/dev/null
before=$(use_state "$C")
n=$(topic_count "$T")
out=$(curl -s -i --data '{"user_id":13,"order_id":"o-9","order_amount":5000}' "http://127.0.0.1:$PORT$H" | tr -d '\r')
assert_contains "$out" "HTTP/1.1 503" "fenced hold"
assert_contains "$out" "Retry-After: 1" "fenced: Retry-After"
assert_contains "$out" '"error":"unavailable: fenced' "fenced: why"
assert_eq 503 "$(op "$R2" confirm | cut -d' ' -f1)" "fenced confirm"
assert_eq "$before" "$(use_state "$C")" "Redis keys while fenced"
assert_eq "$n" "$(topic_count "$T")" "no event while fenced"
rcli HSET "$(ckey "$C" meta)" fence "$(redis_replid)" >/dev/null

log "expiry: a 1 s hold expires on its own, frees the budget, and confirm answers 409 hold_expired"
CE=$(new_coupon_id)
new_use_coupon "$CE" 1 1000
out=$(hold "$CE" 11 o-1 5000)
RE=$(rid_of "$out")
assert_eq 410 "$(hold "$CE" 12 o-2 5000 | cut -d' ' -f1)" "limit 1 taken"
wait_eq "rget $RE | cut -d' ' -f2- | jq -r .state" expired "GET shows the hold expired"
out=$(hold "$CE" 12 o-2 5000)
assert_eq 201 "${out%% *}" "the budget is free again"
assert_eq '409 {"result":"hold_expired","redemption_id":"'"$RE"'","state":"expired"}' "$(op "$RE" confirm)" "confirm after expiry"
answered "$RE" "coupon.redemption.expired 2 expired" "the expired transition"
assert_eq '409 {"result":"hold_expired","redemption_id":"'"$RE"'","state":"expired"}' "$(op "$RE" cancel)" "cancel after expiry"
assert_eq "coupon.redemption.expired 2 expired" "$(last_event "$RE")" "no second transition"

log "user and service tokens"
JT="python3 $COUPONQ_SRC/tests/jwt_tool.py"
K=$TEST_TMP/keys
$JT keygen "$K" >/dev/null
api_up api_jwt --topic "$T" --redemption-topic "$T" --auth jwt --jwt-keys "$K/jwks.json"
JPORT=$API_PORT
CA=$(new_coupon_id)
new_use_coupon "$CA" -1 600000
rcli SADD "$(ckey "$CA" issued)" 21 22 >/dev/null
t21="Authorization: Bearer $($JT mint "$K" hs1 21)"
t22="Authorization: Bearer $($JT mint "$K" es1 22)"
svc="Authorization: Bearer $($JT mint "$K" rs1 777 300 couponq:service)"
P=$JPORT
out=$(post "/v1/coupons/$CA/redemptions" '{"order_id":"a-1","order_amount":5000}' -H "$t21")
jqt '.result == "held" and .user_id == 21' "$out" "a user token holds for its sub"
RA=$(rid_of "$out")
assert_eq '403 {"error":"forbidden: user_mismatch"}' "$(post "/v1/coupons/$CA/redemptions" '{"user_id":22,"order_id":"a-2","order_amount":5000}' -H "$t21")" "body user_id of another user"
assert_contains "$(post "/v1/coupons/$CA/redemptions" '{"user_id":22,"order_id":"a-2","order_amount":5000}')" '401 {"error":"unauthorized' "no token"
assert_eq "200" "$(rget "$RA" -H "$t21" | cut -d' ' -f1)" "GET own"
before=$(use_state "$CA")
assert_eq '403 {"error":"forbidden: user_mismatch"}' "$(rget "$RA" -H "$t22")" "GET of another user's"
assert_eq '403 {"error":"forbidden: user_mismatch"}' "$(op "$RA" confirm '' -H "$t22")" "confirm of another user's"
assert_eq '403 {"error":"forbidden: user_mismatch"}' "$(op "$RA" reverse '{"reversal_id":"x","amount":1}' -H "$t22")" "reverse of another user's"
assert_eq "$before" "$(use_state "$CA")" "nothing changed by the other user"
assert_contains "$(post "/v1/coupons/$CA/redemptions" '{"order_id":"a-3","order_amount":5000}' -H "$svc")" '400 {"error":"user_id: missing; a service token acts for the user_id it names"}' "service token without user_id"
out=$(post "/v1/coupons/$CA/redemptions" '{"user_id":22,"order_id":"a-3","order_amount":5000}' -H "$svc")
jqt '.result == "held" and .user_id == 22' "$out" "a service token holds for the body's user"
assert_eq 200 "$(op "$RA" confirm '' -H "$svc" | cut -d' ' -f1)" "a service token confirms any redemption"
answered "$RA" "coupon.redemption.confirmed 2 confirmed" "service confirm"
unset P

log "Kafka refuses the event: a transition is undone (503), a replay's re-produce is not"
start_api api_nokafka --topic "$T" --redemption-topic "couponq.test.missing.$(date +%s%N)" --timeout-ms 3000 --redis-timeout-ms 500
BPORT=$API_PORT
BMPORT=$API_ADMIN_PORT
wait_healthy "$BPORT" # the issue topic is there: healthy, redemptions down
CK=$(new_coupon_id)
new_use_coupon "$CK" -1 600000
out=$(hold "$CK" 11 o-1 5000)
RK=$(rid_of "$out")
before=$(use_state "$CK")
n=$(topic_count "$T")
P=$BPORT
out=$(curl -s -i --data '{"user_id":12,"order_id":"o-2","order_amount":5000}' "http://127.0.0.1:$BPORT/v1/coupons/$CK/redemptions" | tr -d '\r')
assert_contains "$out" "HTTP/1.1 503" "hold when Kafka refuses"
assert_contains "$out" "Retry-After: 1" "Retry-After"
assert_eq "$before" "$(use_state "$CK")" "the hold was undone"
assert_eq 503 "$(op "$RK" confirm | cut -d' ' -f1)" "confirm when Kafka refuses"
assert_eq "held 1" "$(rcli HGET "$(ckey "$CK" use:recs)" "$RK" | jq -r '"\(.s) \(.v)"')" "the confirm was undone"
assert_eq 0 "$(rcli HGET "$(ckey "$CK" use)" confirmed)" "confirmed counter after undo"
assert_eq 503 "$(hold "$CK" 11 o-1 5000 | cut -d' ' -f1)" "replay when Kafka refuses"
assert_eq "held 1" "$(rcli HGET "$(ckey "$CK" use:recs)" "$RK" | jq -r '"\(.s) \(.v)"')" "the replay left the hold"
assert_eq 200 "$(rget "$RK" | cut -d' ' -f1)" "GET needs no Kafka"
assert_eq "$n" "$(topic_count "$T")" "no event from the api without a topic"
m=$(metrics "$BMPORT")
assert_metric "$m" couponq_api_redemption_undos_total 2 "two undos"
assert_metric "$m" couponq_api_redemption_undo_failures_total 0 "no undo failed"
unset P

log "Redis answers after the deadline: 503, the late transition undone; an answer lost with the connection: a retry replays"
PPORT=$(free_port)
start_bg proxy python3 "$COUPONQ_SRC/tests/integration/redis_proxy.py" "$PPORT" "$REDIS_PORT"
PROXY=$BG_PID
wait_eq "grep -c listening '$TEST_TMP/proxy.log'" 1 "proxy listening"
start_api api_proxy --topic "$T" --redemption-topic "$T" --redis "redis://127.0.0.1:$PPORT" --redis-timeout-ms 300 --timeout-ms 2000
wait_healthy "$API_PORT"
P=$API_PORT
CD=$(new_coupon_id)
new_use_coupon "$CD" -1 600000
before=$(use_state "$CD")
n=$(topic_count "$T")
kill -USR1 "$PROXY" # hold replies
assert_eq '503 {"result":"unavailable","error":"unavailable: redis did not answer in time"}' "$(hold "$CD" 11 o-1 5000)" "hold past the deadline"
kill -USR1 "$PROXY" # release them: the hold's answer arrives late
wait_eq "use_state $CD" "$before" "the late hold undone"
assert_eq "$n" "$(topic_count "$T")" "no event for the late hold"
kill -USR1 "$PROXY" # hold replies again
echo "$(hold "$CD" 12 o-2 5000)" >"$TEST_TMP/lost.out" &
lost=$!
wait_eq "rcli HEXISTS 'couponq:{c$CD}:use:orders' o-2" 1 "the hold ran in Redis"
kill -USR2 "$PROXY" # reset: its answer is lost with the connection
wait "$lost"
assert_contains "$(cat "$TEST_TMP/lost.out")" '503 {"result":"unavailable"' "answer lost"
kill -USR2 "$PROXY" # accept again
kill -USR1 "$PROXY" # stop holding
unset P
out=$(hold "$CD" 12 o-2 5000)
assert_eq 200 "${out%% *}" "the retry replays the hold that ran"
answered "$(rid_of "$out")" "coupon.redemption.held 1 held" "the replay produced its event"

log "Redis unreachable: 503 at once"
start_api api_noredis --topic "$T" --redemption-topic "$T" --redis "redis://127.0.0.1:$(free_port)"
wait_http "$API_PORT"
P=$API_PORT
assert_contains "$(hold "$C" 13 o-7 5000)" '503 {"result":"unavailable","error":"unavailable: redis' "hold without Redis"
assert_contains "$(op "$R1" confirm)" '503 {"result":"unavailable"' "confirm without Redis"
assert_contains "$(rget "$R1")" '503 {"result":"unavailable"' "GET without Redis"
unset P
assert_eq "" "$(rcli HGET "$(ckey "$C" use:orders)" o-7)" "nothing held"

log "SIGTERM: exit code 0"
kill -TERM "$API_PID"
wait "$API_PID" || fail "api_noredis exit code $?"
log ok
