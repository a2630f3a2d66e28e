# api_admission.sh -- couponq-api against the real Redis and Kafka: every
# admission outcome and its status code, the 202's event in Kafka exactly
# once, the GET endpoints, NOSCRIPT recovery, compensation when Kafka
# refuses (503 + Retry-After, member released), Redis unreachable (503).
source "$(dirname "$0")/../lib.sh"

TOPIC=$(new_topic api_admission)
# No redemption topic: /healthz reports it down, the status stays the issue path's.
api_up api --topic "$TOPIC" --redemption-topic "couponq.test.missing.$(date +%s%N)"
PORT=$API_PORT
MPORT=$API_ADMIN_PORT
now=$(date +%s%3N)

log "outcomes"
C=$(open_coupon 2)
r=$(issue "$PORT" "$C" 11)
assert_contains "$r" '202 {"result":"accepted","coupon_id":'"$C"',"user_id":11,"event_id":"' "first user"
assert_contains "$r" '"seq":1}' "first user's seq"
EV1=$(sed -E 's/.*"event_id":"([0-9A-Z]{26})".*/\1/' <<<"$r")
assert_eq '409 {"result":"duplicate","coupon_id":'"$C"',"user_id":11}' "$(issue "$PORT" "$C" 11)" "same user again"
r=$(issue "$PORT" "$C" 12)
assert_contains "$r" '"seq":2}' "second user"
EV2=$(sed -E 's/.*"event_id":"([0-9A-Z]{26})".*/\1/' <<<"$r")
assert_eq '410 {"result":"sold_out","coupon_id":'"$C"',"user_id":13}' "$(issue "$PORT" "$C" 13)" "third user"
assert_eq 2 "$(scard "$C")" "SCARD after sell-out"

C2=$(new_coupon_id)
coupon_meta_raw "$C2" 5 $((now + 3600000)) $((now + 7200000))
assert_eq '403 {"result":"not_open","coupon_id":'"$C2"',"user_id":1}' "$(issue "$PORT" "$C2" 1)" "not open yet"
rcli HSET "$(ckey "$C2" meta)" start_ms $((now - 7200000)) end_ms $((now - 3600000)) >/dev/null
assert_eq '403 {"result":"ended","coupon_id":'"$C2"',"user_id":1}' "$(issue "$PORT" "$C2" 1)" "ended"
rcli HSET "$(ckey "$C2" meta)" end_ms $((now + 3600000)) state closed >/dev/null
assert_eq '403 {"result":"closed","coupon_id":'"$C2"',"user_id":1}' "$(issue "$PORT" "$C2" 1)" "closed"
C3=$(new_coupon_id)
assert_eq '404 {"result":"not_found","coupon_id":'"$C3"',"user_id":1}' "$(issue "$PORT" "$C3" 1)" "no such coupon"
assert_eq 0 "$(scard "$C2")" "nothing admitted on refused coupons"

log "events in kafka: exactly the two 202s, once each, key = user id"
events=$(kcat -b "$COUPONQ_KAFKA" -C -t "$TOPIC" -e -q -f '%k %s\n' | sort)
assert_eq 2 "$(wc -l <<<"$events")" "events in the topic"
assert_contains "$events" "11 {\"type\":\"coupon.issue.requested\",\"v\":1,\"event_id\":\"$EV1\",\"coupon_id\":$C,\"user_id\":11,\"seq\":1," "event of user 11"
assert_contains "$events" "12 {\"type\":\"coupon.issue.requested\",\"v\":1,\"event_id\":\"$EV2\",\"coupon_id\":$C,\"user_id\":12,\"seq\":2," "event of user 12"

log "GET endpoints"
assert_eq '200 {"coupon_id":'"$C"',"total":2,"admitted":2,"remaining":0,"state":"open"}' "$(get "$PORT" "/v1/coupons/$C")" "summary"
C4=$(new_coupon_id)
coupon_meta_raw "$C4" -1 0 $((now + 3600000))
assert_eq '200 {"coupon_id":'"$C4"',"total":null,"admitted":0,"remaining":null,"state":"open"}' "$(get "$PORT" "/v1/coupons/$C4")" "unlimited summary"
assert_eq '404 {"error":"coupon not found"}' "$(get "$PORT" "/v1/coupons/$C3")" "summary of no coupon"
assert_eq '200 {"coupon_id":'"$C"',"user_id":11,"status":"pending"}' "$(get "$PORT" "/v1/coupons/$C/issues/11")" "admitted, not persisted"
rcli SADD "$(ckey "$C" persisted)" 11 >/dev/null
assert_eq '200 {"coupon_id":'"$C"',"user_id":11,"status":"issued"}' "$(get "$PORT" "/v1/coupons/$C/issues/11")" "persisted"
assert_eq '200 {"coupon_id":'"$C"',"user_id":13,"status":"none"}' "$(get "$PORT" "/v1/coupons/$C/issues/13")" "refused user"
assert_eq '404 {"error":"coupon not found"}' "$(get "$PORT" "/v1/coupons/$C3/issues/1")" "status on no coupon"
assert_eq '200 {"status":"ok","redis":"up","kafka":"up","redemptions":"down"}' "$(get "$PORT" /healthz)" "healthz (no redemption topic: reported, status ok)"
assert_eq '404 {"error":"no such path"}' "$(get "$PORT" /metrics)" "no /metrics on the public listener"
m=$(metrics "$MPORT")
assert_metric "$m" 'couponq_api_requests_total{route="issue",code="202"}' 2 "metrics: 202s"
assert_metric "$m" 'couponq_api_admissions_total{result="sold_out"}' 1 "metrics: sold_out"
assert_metric "$m" 'couponq_api_request_duration_seconds_count{route="issue"}' "" "metrics: latency"
assert_metric "$m" 'couponq_api_inflight' "" "metrics: in-flight"
assert_metric "$m" 'couponq_api_kafka_queue_length' "" "metrics: kafka queue"

log "NOSCRIPT recovery: SCRIPT FLUSH between requests"
rcli SCRIPT FLUSH >/dev/null
assert_contains "$(issue "$PORT" "$C4" 21)" '202 {"result":"accepted"' "admit after SCRIPT FLUSH"
rcli SCRIPT FLUSH >/dev/null
assert_contains "$(issue "$PORT" "$C4" 22)" '202 {"result":"accepted"' "admit after a second SCRIPT FLUSH"
assert_eq 4 "$(topic_count "$TOPIC")" "events after NOSCRIPT"

log "compensation: Kafka refuses (topic does not exist) -> 503, member released"
start_api api_notopic --topic "couponq.test.missing.$(date +%s%N)" --redemption-topic "couponq.test.missing.r$(date +%s%N)" --timeout-ms 2000 --redis-timeout-ms 300
NP=$API_PORT
NMP=$API_ADMIN_PORT
wait_http "$NP"
# Redis connected and scripts loaded
wait_for '[[ $(get "$NP" /healthz) == *"\"redis\":\"up\""* ]]' 10 || true
assert_eq '503 {"status":"unavailable","redis":"up","kafka":"down","redemptions":"down"}' "$(get "$NP" /healthz)" "healthz without the topic"
out=$(curl -s -i -X POST --data '{"user_id": 31}' "http://127.0.0.1:$NP/v1/coupons/$C4/issues" | tr -d '\r')
assert_contains "$out" "HTTP/1.1 503" "503 when Kafka refuses"
assert_contains "$out" "Retry-After: 1" "Retry-After"
assert_contains "$out" '{"result":"unavailable","error":"unavailable: ' "503 body"
assert_eq 0 "$(rcli SISMEMBER "$(ckey "$C4" issued)" 31)" "member released after the failed produce"
assert_eq '200 {"coupon_id":'"$C4"',"user_id":31,"status":"none"}' "$(get "$PORT" "/v1/coupons/$C4/issues/31")" "status after release"
m=$(metrics "$NMP")
assert_metric "$m" 'couponq_api_releases_total' 1 "metrics: release counted"
assert_metric "$m" 'couponq_api_kafka_errors_total' 1 "metrics: kafka error counted"

log "Redis unreachable -> 503 at once"
start_api api_noredis --topic "$TOPIC" --redis "redis://127.0.0.1:$(free_port)"
RP=$API_PORT
wait_http "$RP"
t0=$(date +%s%3N)
out=$(curl -s -i -X POST --data '{"user_id": 41}' "http://127.0.0.1:$RP/v1/coupons/$C4/issues" | tr -d '\r')
t1=$(date +%s%3N)
assert_contains "$out" "HTTP/1.1 503" "503 without Redis"
assert_contains "$out" "Retry-After: 1" "Retry-After without Redis"
assert_contains "$out" '"error":"unavailable: redis"' "503 body without Redis"
assert_le 500 $((t1 - t0)) "milliseconds to answer without Redis"
assert_eq 503 "$(get "$RP" /healthz | cut -d' ' -f1)" "healthz without Redis"
assert_eq 503 "$(get "$RP" "/v1/coupons/$C4" | cut -d' ' -f1)" "summary without Redis"
assert_eq 0 "$(rcli SISMEMBER "$(ckey "$C4" issued)" 41)" "nothing admitted without Redis"
assert_eq 4 "$(topic_count "$TOPIC")" "nothing produced without Redis"

log "SIGTERM: exit code 0"
kill -TERM "$API_PID"
wait "$API_PID" && rc=0 || rc=$?
assert_eq 0 "$rc" "exit code after SIGTERM"
log "ok"
