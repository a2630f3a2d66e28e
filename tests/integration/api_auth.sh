# api_auth.sh -- couponq-api --auth jwt against hostile tokens and requests
# (tests/integration/api_auth_cases.py: each case asserts status, error text
# and WWW-Authenticate), then that nothing was admitted or produced, then a
# positive control per algorithm; gateway mode from an untrusted peer and
# over a unix socket (every client trusted); the
# abuse limits (500 users behind one IP pass, one user at 50/s is limited
# while another is not, an invalid-token flood from one IP is cut off); and
# a SIGHUP key rotation.
source "$(dirname "$0")/../lib.sh"

CASES="python3 $COUPONQ_SRC/tests/integration/api_auth_cases.py"
JT="python3 $COUPONQ_SRC/tests/jwt_tool.py"
K=$TEST_TMP/keys
$JT keygen "$K"
cp "$K/jwks.json" "$TEST_TMP/live-jwks.json"

TOPIC=$(new_topic api_auth)
api_up api --topic "$TOPIC" --auth jwt --jwt-keys "$TEST_TMP/live-jwks.json" --jwt-max-lifetime 3600
PORT=$API_PORT
MPORT=$API_ADMIN_PORT
API=$API_PID
C=$(new_coupon_id)
coupon_create_raw "$C" -1

log "catalogue of hostile tokens and requests"
out=$($CASES catalogue "$K" "$PORT" "$C") || { echo "$out" | grep FAIL >&2; fail "catalogue"; }
n=$(sed -n 's/^cases: //p' <<<"$out")
((n >= 40)) || fail "only $n cases"
log "$n cases answered as expected"
assert_eq 0 "$(scard "$C")" "SCARD after the hostile requests"
assert_eq 0 "$(topic_count "$TOPIC")" "events after the hostile requests"
m=$(metrics "$MPORT")
assert_metric "$m" 'couponq_api_refusals_total{reason="unauthorized"}' "" "refusals counted"
grep -q 'reason=unauthorized' "$TEST_TMP/api.log" || fail "no audit line"
if grep -q 'eyJ' "$TEST_TMP/api.log"; then fail "a token in the log"; fi
assert_eq '404 {"error":"no such path"}' "$(get "$PORT" /metrics)" "no /metrics on the public port"

log "controls: one valid token per algorithm is admitted"
u=2000
for kid in hs1 es1 rs1; do
  u=$((u + 1))
  t=$($JT mint "$K" "$kid" "$u")
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $t" -d '{}' "http://127.0.0.1:$PORT/v1/coupons/$C/issues")
  assert_eq 202 "$code" "$kid token"
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $t" "http://127.0.0.1:$PORT/v1/coupons/$C/issues/$u")
  assert_eq 200 "$code" "$kid status"
done
t=$($JT mint "$K" es1 777 300 "couponq:service")
out=$(curl -s -X POST -H "Authorization: Bearer $t" -d '{"user_id":4242}' "http://127.0.0.1:$PORT/v1/coupons/$C/issues")
assert_contains "$out" '"result":"accepted","coupon_id":'"$C"',"user_id":4242' "service token acts for the body user"
assert_eq 4 "$(scard "$C")" "SCARD after the controls"

log "SIGHUP: rotation to a new key; the old key's tokens are refused"
old=$($JT mint "$K" hs1 5001)
cp "$K/jwks-rotated.json" "$TEST_TMP/live-jwks.json"
kill -HUP "$API"
sleep 0.5
out=$(curl -s -X POST -H "Authorization: Bearer $old" -d '{}' "http://127.0.0.1:$PORT/v1/coupons/$C/issues")
assert_eq '{"error":"unauthorized: unknown kid"}' "$out" "old key after rotation"
new=$($JT mint "$K" hs2 5002)
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $new" -d '{}' "http://127.0.0.1:$PORT/v1/coupons/$C/issues")
assert_eq 202 "$code" "new key after rotation"
echo '{"keys":' >"$TEST_TMP/live-jwks.json" # broken: the old keys stay
kill -HUP "$API"
sleep 0.5
grep -q 'keys not reloaded' "$TEST_TMP/api.log" || fail "bad key file not reported"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $new" "http://127.0.0.1:$PORT/v1/coupons/$C/issues/5002")
assert_eq 200 "$code" "keys kept after a bad reload"

log "gateway: the trusted header from an untrusted peer is refused, over the unix socket honoured"
GW=$(free_port)
SOCK=$TEST_TMP/gw.sock
start_bg gw "$API_BIN" --listen "127.0.0.1:$GW,unix:$SOCK" --admin-listen off \
  --topic "$TOPIC" --auth gateway --trusted-peers 192.0.2.0/24
GW_PID=$BG_PID
wait_healthy "$GW"
out=$(curl -s -X POST -H 'X-Couponq-User: 1001' -d '{}' "http://127.0.0.1:$GW/v1/coupons/$C/issues")
assert_eq '{"error":"unauthorized: trusted header from an untrusted peer"}' "$out" "untrusted peer"
out=$(curl -s --unix-socket "$SOCK" -X POST -H 'X-Couponq-User: 6010' -d '{}' "http://gw/v1/coupons/$C/issues")
assert_contains "$out" '"result":"accepted","coupon_id":'"$C"',"user_id":6010' "unix socket: trusted"
out=$(curl -s --unix-socket "$SOCK" -H 'X-Couponq-User: 6010' "http://gw/v1/coupons/$C/issues/6010")
assert_contains "$out" '"user_id":6010' "unix socket: own status"
out=$(curl -s --unix-socket "$SOCK" -H 'X-Couponq-User: 6010' "http://gw/v1/coupons/$C/issues/6011")
assert_eq '{"error":"forbidden: user_mismatch"}' "$out" "unix socket: another user's status"
out=$(curl -s --unix-socket "$SOCK" -X POST -d '{"user_id":6012}' "http://gw/v1/coupons/$C/issues")
assert_eq '{"error":"unauthorized: missing trusted user header"}' "$out" "unix socket: no header"
kill -TERM "$GW_PID"
wait "$GW_PID" || fail "gateway api exit status"
[[ ! -e $SOCK ]] || fail "socket file left after SIGTERM"
api_up gw2 --topic "$TOPIC" --auth gateway --trusted-peers 127.0.0.0/8
GW2=$API_PORT
out=$(curl -s -X POST -H 'X-Couponq-User: 6001' -d '{}' "http://127.0.0.1:$GW2/v1/coupons/$C/issues")
assert_contains "$out" '"result":"accepted","coupon_id":'"$C"',"user_id":6001' "trusted peer"
out=$(curl -s -X POST -H 'X-Couponq-User: 6002' -H 'X-Couponq-User: 6003' -d '{}' "http://127.0.0.1:$GW2/v1/coupons/$C/issues")
assert_eq '{"error":"unauthorized: trusted header: not one user id"}' "$out" "two user headers"
assert_eq 7 "$(scard "$C")" "SCARD after gateway"

log "abuse limits (defaults of --help)"
cp "$K/jwks.json" "$TEST_TMP/live-jwks.json"
api_up lim --topic "$TOPIC" --auth jwt --jwt-keys "$TEST_TMP/live-jwks.json" \
  --conns-per-ip 256 --limit-ip-rate 2000 --limit-ip-burst 4000 --limit-auth-fail-rate 1 \
  --limit-auth-fail-burst 20 --limit-user-rate 5 --limit-user-burst 10
LP=$API_PORT
C2=$(new_coupon_id)
coupon_create_raw "$C2" -1
out=$($CASES users "$K" "$LP" "$C2" 500)
assert_eq '{"202": 500}' "$out" "500 users behind one IP"
out=$($CASES hot "$K" "$LP" "$C2")
log "one user at 50/s, another at 2/s: $out"
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["1"].get("429", 0) >= 70, d; assert "429" not in d["2"], d' "$out" ||
  fail "per-user limit: $out"
out=$($CASES flood "$LP" "$C2" 200)
log "invalid-token flood from one IP: $out"
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d.get("429 rate_limited",0) >= 170 and d.get("401 unauthorized",0) <= 30, d' "$out" ||
  fail "failed-auth limit: $out"
assert_eq 500 "$(scard "$C2")" "SCARD: only the 500 users"
log "ok"
