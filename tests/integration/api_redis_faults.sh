# api_redis_faults.sh -- couponq-api when Redis misbehaves, through a proxy
# (redis_proxy.py) so the shared Redis is never touched:
#  - connection reset: requests get 503 at once, the api reconnects with
#    backoff and admits again (our own hiredis/libuv glue notices errors);
#  - replies held past --redis-timeout-ms: 503 at the deadline, and when the
#    late reply says "accepted" the admission is released (a 503 never
#    leaves a member behind);
#  - the answer of admit.lua lost (reply held, then the connection reset):
#    503, and once Redis is reachable settle.lua removes exactly what that
#    call admitted, so a user admitted by an earlier 202 keeps the coupon;
#  - a client that disconnects before its answer: no crash, its slot is
#    freed, and the coupon is issued (event in Kafka, status pending);
#  - a host name (localhost) is resolved off the loop and works; a name
#    that does not resolve leaves the api up, answering 503, and says why.
source "$(dirname "$0")/../lib.sh"

PPORT=$(free_port)
start_bg proxy python3 "$COUPONQ_SRC/tests/integration/redis_proxy.py" "$PPORT" "$REDIS_PORT"
PROXY=$BG_PID
wait_log proxy listening
TOPIC=$(new_topic api_redis_faults)
api_up api --topic "$TOPIC" --redis "redis://127.0.0.1:$PPORT" --redis-timeout-ms 500 --timeout-ms 3000
PORT=$API_PORT
MPORT=$API_ADMIN_PORT
C=$(open_coupon -1)
assert_contains "$(issue "$PORT" "$C" 1)" "202 " "through the proxy"

log "connection reset: 503 at once, then reconnect"
kill -USR2 "$PROXY" # reset + refuse
sleep 0.3
r=$(issue "$PORT" "$C" 2)
assert_contains "$r" '503 {"result":"unavailable","error":"unavailable: redis' "while Redis is unreachable"
assert_eq 503 "$(get "$PORT" /healthz | cut -d' ' -f1)" "healthz while Redis is unreachable"
assert_contains "$(cat "$TEST_TMP/api.log")" 'msg="redis connection lost"' "loss logged"
kill -USR2 "$PROXY" # accept again
wait_healthy "$PORT"
assert_contains "$(issue "$PORT" "$C" 2)" "202 " "after reconnecting"

log "replies held past the deadline: 503, then the late admission is released"
kill -USR1 "$PROXY" # hold replies
t0=$(date +%s%3N)
r=$(issue "$PORT" "$C" 3)
t1=$(date +%s%3N)
assert_contains "$r" '503 {"result":"unavailable","error":"unavailable: redis did not answer in time"}' "held reply"
assert_le 1500 $((t1 - t0)) "ms until the deadline answer"
assert_eq 1 "$(rcli SISMEMBER "$(ckey "$C" issued)" 3)" "admitted in Redis meanwhile"
kill -USR1 "$PROXY" # release the replies
wait_eq 'rcli SISMEMBER "$(ckey "$C" issued)" 3' 0 "late admission released" 5
assert_contains "$(issue "$PORT" "$C" 3)" "202 " "the user may try again"

log "admit.lua's answer lost: the call is settled once Redis is back"
assert_contains "$(issue "$PORT" "$C" 8)" "202 " "user 8 admitted (202)"
kill -USR1 "$PROXY" # hold replies
# (not `issue`: in a background job, set -e ends it at its final read)
post_bg() { curl -s -w ' %{http_code}' -X POST --data "{\"user_id\": $1}" "http://127.0.0.1:$PORT/v1/coupons/$C/issues" >"$TEST_TMP/u$1" & }
post_bg 7
P7=$!
post_bg 8
P8=$!
WAIT_STEP=0.02 wait_for '[[ $(rcli SISMEMBER "$(ckey "$C" issued)" 7) == 1 ]]' 1 || true
sleep 0.1 # user 8's script (a duplicate) ran too
kill -USR2 "$PROXY" # reset + refuse: the held answers are lost
wait "$P7" "$P8"
assert_contains "$(cat "$TEST_TMP/u7")" '"error":"unavailable: redis connection lost"} 503' "user 7 (answer lost)"
assert_contains "$(cat "$TEST_TMP/u8")" '"error":"unavailable: redis connection lost"} 503' "user 8's second request (answer lost)"
assert_eq 1 "$(rcli SISMEMBER "$(ckey "$C" issued)" 7)" "7 admitted in Redis while the api cannot reach it"
m=$(metrics "$MPORT" | awk '$1=="couponq_api_admissions_unsettled"{print int($2)}')
((m >= 1)) || fail "calls waiting to be settled: got '$m'"
kill -USR1 "$PROXY" # stop holding
kill -USR2 "$PROXY" # accept again
wait_eq 'rcli SISMEMBER "$(ckey "$C" issued)" 7' 0 "7 released: the 503 it got is true" 5
assert_eq 1 "$(rcli SISMEMBER "$(ckey "$C" issued)" 8)" "8 keeps the admission of its 202"
wait_for '[[ $(metric_line "$MPORT" couponq_api_admissions_unsettled) == "couponq_api_admissions_unsettled 0" ]]' 2 || true
m=$(metrics "$MPORT")
assert_metric "$m" "couponq_api_admissions_unsettled" 0 "nothing left to settle"
assert_metric "$m" "couponq_api_admissions_settled_total" "" "settled counter"
released=$(grep -o 'msg="lost admit.lua answer settled" coupon_id='"$C"' call=[0-9A-Z]* users=[0-9]* released=[0-9]*' "$TEST_TMP/api.log" |
  sed 's/.*released=//' | awk '{ n += $1 } END { print n + 0 }')
assert_eq 1 "$released" "members released by settle.lua (7 only)"
assert_eq 0 "$(rcli HLEN "$(ckey "$C" calls)")" "call records after answers and settling"
assert_contains "$(issue "$PORT" "$C" 7)" "202 " "user 7 may try again"

log "client disconnects before its answer"
printf 'POST /v1/coupons/%s/issues HTTP/1.1\r\nContent-Length: 13\r\n\r\n{"user_id":4}' "$C" |
  timeout 2 python3 -c 'import socket,sys; s=socket.create_connection(("127.0.0.1",int(sys.argv[1]))); s.sendall(sys.stdin.buffer.read()); s.close()' "$PORT"
wait_for '[[ $(metric_line "$MPORT" couponq_api_inflight) == "couponq_api_inflight 0" ]]' 5 || true
assert_eq '200 {"coupon_id":'"$C"',"user_id":4,"status":"pending"}' "$(get "$PORT" "/v1/coupons/$C/issues/4")" "issued to the client that left"
assert_eq 6 "$(kcat -b "$COUPONQ_KAFKA" -C -t "$TOPIC" -e -q -f '%k\n' | sort -u | tr '\n' ' ' | wc -w)" "events: users 1, 2, 3, 4, 7 and 8"
assert_eq "couponq_api_inflight 0" "$(metrics "$MPORT" | grep '^couponq_api_inflight ')" "no slot leaked"
kill -TERM "$API_PID"
wait "$API_PID" && rc=0 || rc=$?
assert_eq 0 "$rc" "exit code after SIGTERM"

log "a host name: resolved on the thread pool, then admission works"
start_api api_name --topic "$TOPIC" --redis "redis://localhost:$REDIS_PORT"
wait_healthy "$API_PORT"
assert_contains "$(issue "$API_PORT" "$C" 5)" "202 " "through redis://localhost"
kill -TERM "$API_PID"
wait "$API_PID" || fail "api with redis://localhost did not exit 0"

log "a host name that does not resolve: the api stays up, 503, the reason logged"
start_api api_nxdomain --topic "$TOPIC" --redis "redis://no-such-host.invalid:$REDIS_PORT"
sleep 1.5
kill -0 "$API_PID" 2>/dev/null || fail "api exited: $(tail -n 3 "$TEST_TMP/api_nxdomain.log")"
assert_contains "$(issue "$API_PORT" "$C" 6)" "503 " "admission without Redis"
assert_eq 503 "$(get "$API_PORT" /healthz | cut -d' ' -f1)" "healthz without Redis"
assert_contains "$(cat "$TEST_TMP/api_nxdomain.log")" 'msg="redis host not resolved" err="resolve no-such-host.invalid:' "resolve failure logged"
n=$(grep -c 'redis host not resolved' "$TEST_TMP/api_nxdomain.log")
# Two connections resolve (admission's, redemption's): at most 8 each.
assert_le 16 "$n" "resolve attempts in 1.5 s (backoff doubles from 50 ms)"
kill -TERM "$API_PID"
wait "$API_PID" || fail "api with an unresolvable Redis host did not exit 0"
log "ok"
