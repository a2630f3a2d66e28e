#!/usr/bin/env bash
# api_kafka_fatal.sh -- a fatal error of the idempotent producer (its
# sequence state is lost: it can never produce again). Requests in flight
# get 503 and their admission is rolled back (not in the issued set, no
# event), /healthz stops answering 200, and the api drains and exits 1 so
# its supervisor starts a fresh process.
#
# A real broker does not fail a healthy producer on demand, so the api's
# test hook COUPONQ_API_TEST_KAFKA_FATAL_MS raises librdkafka's own
# simulated fatal error (rd_kafka_test_fatal_error) at the first 2-s health
# tick after 4 s. -X linger.ms=20000 holds every event in librdkafka's
# queue until then, so the requests are surely in flight at that moment.
source "$(dirname "$0")/../lib.sh"

TOPIC=$(new_topic api_kafka_fatal)
T0=$(date +%s%3N)
COUPONQ_API_TEST_KAFKA_FATAL_MS=4000 api_up api --topic "$TOPIC" --timeout-ms 30000 \
  -X linger.ms=20000
PORT=$API_PORT
(($(date +%s%3N) - T0 < 3500)) ||
  fail "the api took over 3.5 s to become healthy: the simulated fatal error would come first"
C=$(open_coupon -1)

N=20
python3 "$API_CLIENT" sigterm "$PORT" "$C" "$N" 500 >"$TEST_TMP/client.out" 2>&1 &
CLIENT=$!
WAIT_STEP=0.02 wait_eq 'scard "$C"' "$N" "admitted, waiting in librdkafka" 2

log "the simulated fatal error: in-flight requests get 503, admissions rolled back"
wait "$CLIENT"
assert_contains "$(cat "$TEST_TMP/client.out")" "{\"codes\": {\"503\": $N}}" "answers to the in-flight requests"
assert_eq 0 "$(scard "$C")" "issued set after the rollbacks"
wait "$API_PID" && rc=0 || rc=$?
assert_eq 1 "$rc" "exit code after a fatal producer error"
assert_eq 0 "$(topic_count "$TOPIC")" "events in the topic"
logf=$(cat "$TEST_TMP/api.log")
assert_contains "$logf" 'simulating a fatal kafka error (test hook)' "hook logged"
assert_contains "$logf" 'msg="kafka producer failed fatally: draining, then exit 1 for a restart"' "fatal logged"
assert_contains "$logf" 'msg="draining" why=kafka-fatal' "drain logged"
[[ $logf != *'cannot start'* ]] || fail "a fatal error after start is not a start failure"
log "ok"
