#!/usr/bin/env bash
# api_conncap.sh -- connections that never send a byte cannot lock clients
# out (found by the fault suite's 10,000-idle-connection attack):
#  1. at the connection cap, a new client is served: the longest-idle
#     connection is closed to make room (as nginx reuses keep-alive ones);
#  2. a connection that sends nothing is closed after the header timeout,
#     not the (much longer) idle timeout;
#  3. at the in-flight cap (--max-inflight), a request is refused at once
#     with 503 + Retry-After and admits nothing; the slots come back.
# (Connections owed an answer or mid-request are never evicted: see conn_idle.)
source "$(dirname "$0")/../lib.sh"

TOPIC=$(new_topic api_conncap)
CAP=40
api_up api --topic "$TOPIC" --max-conns "$CAP" --header-timeout-ms 2000 --idle-timeout-ms 600000
PORT=$API_PORT
MPORT=$API_ADMIN_PORT

python3 - "$PORT" "$CAP" >"$TEST_TMP/cap.out" 2>&1 <<'PY' || { cat "$TEST_TMP/cap.out"; fail "connection cap scenario"; }
import socket, sys, time
port, cap = int(sys.argv[1]), int(sys.argv[2])

def get(sock):
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            return None
        data += chunk
    return data.split(b" ", 2)[1].decode()

# A keep-alive client that has been served (it is busy later, see 3).
busy = socket.create_connection(("127.0.0.1", port))
assert get(busy) in ("200", "503"), "first client not served"
# Fill the cap with silent connections.
silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(cap - 1)]
time.sleep(0.3)
# 1. New clients are still served, each evicting the longest-idle one.
for i in range(5):
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(5)
    code = get(s)
    print("new client", i, "->", code)
    assert code in ("200", "503"), "new client at the cap was not served (%r)" % code
    s.close()
    time.sleep(0.05)
# 2. Silent connections are closed after the header timeout (2 s): within
#    10 s every one of them reads EOF.
deadline = time.time() + 10
closed = 0
for s in silent:
    s.settimeout(max(0.1, deadline - time.time()))
    try:
        if s.recv(1) == b"":
            closed += 1
    except (socket.timeout, ConnectionResetError):
        closed += 1 if isinstance(sys.exc_info()[1], ConnectionResetError) else 0
print("silent closed:", closed, "of", len(silent))
assert closed == len(silent), "silent connections kept open past the header timeout"
PY
cat "$TEST_TMP/cap.out"
ev=$(metrics "$MPORT" | awk '$1=="couponq_api_connections_evicted_total"{print int($2)}')
((${ev:-0} >= 1)) || fail "eviction not counted in /metrics (got '${ev}')"
log "evicted=$ev"

log "in-flight cap: 5 slots, 8 requests held in librdkafka (linger 1.5 s)"
api_up api_slots --topic "$TOPIC" --max-inflight 5 -X linger.ms=1500
SPORT=$API_PORT
SMPORT=$API_ADMIN_PORT
C=$(open_coupon -1)
r=$(python3 "$API_CLIENT" sigterm "$SPORT" "$C" 8 100 | tail -n 1)
assert_eq "202=5 503=3" "$(python3 -c 'import json,sys; print(" ".join("%s=%s" % kv for kv in sorted(json.loads(sys.argv[1])["codes"].items())))' "$r")" "answers at the in-flight cap"
assert_eq 5 "$(scard "$C")" "admitted: only the requests that got a slot"
assert_eq "couponq_api_inflight 0" "$(metrics "$SMPORT" | grep '^couponq_api_inflight ')" "slots back"
r=$(curl -s -i -X POST -H 'Content-Type: application/json' --data '{"user_id": 200}' "http://127.0.0.1:$SPORT/v1/coupons/$C/issues" | tr -d '\r')
assert_contains "$r" "HTTP/1.1 202" "a request after the burst"
held=()
for ((i = 0; i < 5; i++)); do
  curl -s -o /dev/null -X POST --data "{\"user_id\": $((300 + i))}" "http://127.0.0.1:$SPORT/v1/coupons/$C/issues" &
  held+=($!)
done
sleep 0.3
r=$(curl -s -i -X POST -H 'Content-Type: application/json' --data '{"user_id": 400}' "http://127.0.0.1:$SPORT/v1/coupons/$C/issues" | tr -d '\r')
assert_contains "$r" "HTTP/1.1 503" "the sixth request while 5 are in flight"
assert_contains "$r" "Retry-After:" "503 carries Retry-After"
assert_contains "$r" '"error":"unavailable: too many requests in flight"' "503 says why"
wait "${held[@]}"
assert_eq 0 "$(rcli SISMEMBER "$(ckey "$C" issued)" 400)" "the refused user was not admitted"
log PASS
