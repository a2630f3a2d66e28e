# api_concurrency.sh -- 200 connections, 20,000 requests for 5,000 distinct
# users (each 4 times, interleaved) against a coupon of quantity 1,000:
# exactly 1,000 202s for 1,000 distinct users, each 202's event in Kafka
# exactly once (and nothing else there), SCARD == 1,000, no 5xx.
# Then 12 coupons at once (the api gathers admissions per coupon into one
# admit.lua call each, at most 8 coupons open per loop iteration): every
# coupon sells exactly its quantity, to distinct users, no 5xx.
source "$(dirname "$0")/../lib.sh"

TOPIC=$(new_topic api_concurrency)
api_up api --topic "$TOPIC"
PORT=$API_PORT
C=$(open_coupon 1000)

log "20,000 requests, 200 connections"
summary=$(python3 "$API_CLIENT" load "$PORT" "$C" --conns 200 --users 5000 --repeat 4 \
  --base 100000 --accepted "$TEST_TMP/accepted.txt")
log "$summary"
codes=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(" ".join("%s=%s" % kv for kv in sorted(d["codes"].items())))' "$summary")
assert_eq 20000 "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["requests"])' "$summary")" "answers"
assert_contains " $codes" " 202=1000 " "exactly 1,000 accepted"
[[ $codes != *" 5"* && $codes != 5* ]] || fail "5xx answers: $codes"
assert_eq 1000 "$(cut -d' ' -f1 "$TEST_TMP/accepted.txt" | sort -u | wc -l)" "distinct accepted users"
assert_eq 1000 "$(scard "$C")" "SCARD"

log "every 202's event in Kafka exactly once"
kcat -b "$COUPONQ_KAFKA" -C -t "$TOPIC" -e -q -f '%k %s\n' |
  sed -E 's/^([0-9]+) .*"event_id":"([0-9A-Z]+)".*"coupon_id":([0-9]+).*/\1 \2 \3/' >"$TEST_TMP/events.txt"
assert_eq 1000 "$(wc -l <"$TEST_TMP/events.txt")" "events in the topic"
assert_eq 1000 "$(cut -d' ' -f2 "$TEST_TMP/events.txt" | sort -u | wc -l)" "distinct event ids"
assert_eq "" "$(cut -d' ' -f3 "$TEST_TMP/events.txt" | grep -v "^$C\$" || true)" "events of other coupons"
diff <(sort "$TEST_TMP/accepted.txt") <(cut -d' ' -f1,2 "$TEST_TMP/events.txt" | sort) >"$TEST_TMP/diff.txt" ||
  fail "202s and events differ: $(head -5 "$TEST_TMP/diff.txt")"
diff <(rcli SMEMBERS "$(ckey "$C" issued)" | sort) <(cut -d' ' -f1 "$TEST_TMP/accepted.txt" | sort) >/dev/null ||
  fail "the issued set is not the set of accepted users"

log "12 coupons of 50 at once: 24,000 requests (20% repeats), 200 connections"
M=$(new_coupon_id)
for ((i = 0; i < 12; i++)); do
  coupon_meta_raw "$((M + i))" 50
done
"$COUPONQ_BUILD/couponq-bench" --target "127.0.0.1:$PORT" --coupon "$M" --coupons 12 \
  --requests 24000 --connections 200 --users dup --dup-ratio 0.2 --user-pool 3000 \
  --accepted-file "$TEST_TMP/multi.txt" --json >"$TEST_TMP/multi.json" 2>"$TEST_TMP/multi.err" ||
  fail "couponq-bench: $(tail -3 "$TEST_TMP/multi.err")"
status=$(tail -1 "$TEST_TMP/multi.json" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(" ".join("%s=%s" % kv for kv in sorted(d["status"].items())), d["answered"])')
log "answers: $status"
assert_contains "$status" " 24000" "every request answered"
assert_contains " $status" " 202=600 " "12 x 50 accepted"
[[ " $status" != *" 5"??"="* ]] || fail "5xx answers: $status"
for ((i = 0; i < 12; i++)); do
  assert_eq 50 "$(scard $((M + i)))" "SCARD of coupon $((M + i))"
  assert_eq 50 "$(grep -c "^$((M + i)) " "$TEST_TMP/multi.txt")" "202s of coupon $((M + i))"
done
assert_eq 600 "$(sort -u "$TEST_TMP/multi.txt" | wc -l)" "distinct (coupon, user) accepted"
log "ok"
