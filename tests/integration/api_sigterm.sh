# api_sigterm.sh -- SIGTERM while requests are in flight: every request
# already received is answered (202, its event in Kafka), new connections
# are refused, and the process exits 0 after flushing.
# -X linger.ms=1500 keeps each produce in librdkafka for 1.5 s, so the
# requests are surely in flight when the signal arrives.
source "$(dirname "$0")/../lib.sh"

TOPIC=$(new_topic api_sigterm)
api_up api --topic "$TOPIC" -X linger.ms=1500
PORT=$API_PORT
C=$(open_coupon -1)

N=50
python3 "$API_CLIENT" sigterm "$PORT" "$C" "$N" 500 >"$TEST_TMP/client.out" 2>&1 &
CLIENT=$!
WAIT_STEP=0.05 wait_for 'grep -q READY "$TEST_TMP/client.out"' 5 || fail "client not ready: $(cat "$TEST_TMP/client.out")"
WAIT_STEP=0.02 wait_eq 'scard "$C"' "$N" "admitted before the signal (in flight)" 2
assert_eq 0 "$(topic_count "$TOPIC")" "nothing delivered yet (linger)"
kill -TERM "$API_PID"
sleep 0.2
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/healthz" || true)
assert_eq 000 "$code" "new connections during the drain"
wait "$CLIENT"
assert_contains "$(cat "$TEST_TMP/client.out")" "{\"codes\": {\"202\": $N}}" "answers to in-flight requests"
wait "$API_PID" && rc=0 || rc=$?
assert_eq 0 "$rc" "exit code after SIGTERM"
assert_eq "$N" "$(topic_count "$TOPIC")" "events after the drain"
assert_contains "$(cat "$TEST_TMP/api.log")" 'msg="drained: no connection, no request in flight"' "drain logged"
log "SO_REUSEPORT: two processes share one port"
start_api api2 --topic "$TOPIC" -X linger.ms=1500
P2=$API_PID
PORT2=$API_PORT
start_bg api3 "$API_BIN" --listen "127.0.0.1:$PORT2" --topic "$TOPIC" -X linger.ms=1500
P3=$BG_PID
wait_healthy "$PORT2"
sleep 0.5
kill -0 "$P3" 2>/dev/null || fail "second api on the same port exited: $(tail -n 2 "$TEST_TMP/api3.log")"
kill -TERM "$P3"
wait "$P3" && rc=0 || rc=$?
assert_eq 0 "$rc" "exit code of the second api"
wait_healthy "$PORT2" # the first one still serves the port

log "second SIGINT exits at once (130), even with requests in flight"
python3 "$API_CLIENT" sigterm "$PORT2" "$C" 5 900 >"$TEST_TMP/client2.out" 2>&1 &
WAIT_STEP=0.05 wait_for 'grep -q READY "$TEST_TMP/client2.out"' 5 || fail "client not ready: $(cat "$TEST_TMP/client2.out")"
sleep 0.2
kill -INT "$P2"
sleep 0.1
kill -INT "$P2"
wait "$P2" && rc=0 || rc=$?
assert_eq 130 "$rc" "exit code after a second SIGINT"
assert_contains "$(cat "$TEST_TMP/api2.log")" 'msg="second SIGINT: exiting now"' "second SIGINT logged"
wait || true
log "ok"
