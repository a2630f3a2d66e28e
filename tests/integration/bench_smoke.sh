# bench_smoke.sh -- couponq-bench end to end, small: against nginx `return
# 202` (the HTTP baseline), then the classic baseline, the checkout flow
# against the two redemption baselines (classic FOR UPDATE, DECRBY), and
# couponq-api. Asserts that the counts add up (sent = answered + errors,
# status and result counts match, 202s = quantity, the accepted file holds
# exactly the 202 users), never timings.
source "$(dirname "$0")/../lib.sh"

BENCH=$COUPONQ_BUILD/couponq-bench
[[ -x $BENCH ]] || fail "couponq-bench not built in $COUPONQ_BUILD"

# run NAME ARGS... -> the JSON line in $J; fails on a non-zero exit.
run() {
  local name=$1
  shift
  "$BENCH" --json --quiet "$@" >"$TEST_TMP/$name.json" 2>"$TEST_TMP/$name.err" ||
    fail "$name: couponq-bench exited $? ($(cat "$TEST_TMP/$name.err"))"
  J=$(tail -n 1 "$TEST_TMP/$name.json")
}
j() { jq -r "$1" <<<"$J"; }
# Every request sent is answered or counted as an error, and the per-status
# and per-result counts add up to the answers.
assert_counts_add_up() {
  assert_eq "$(j .sent)" "$(j '.answered + .socket_errors + .unanswered')" "$1: sent = answered + errors"
  assert_eq "$(j .answered)" "$(j '[.status[]] | add // 0')" "$1: status counts"
  assert_eq "$(j .answered)" "$(j .latency_ms.n)" "$1: latency samples"
}

# ---- nginx return 202
port=$(free_port)
ng=$TEST_TMP/nginx
mkdir -p "$ng/logs" "$ng/tmp"
cp "$COUPONQ_SRC/bench/baseline/nginx.conf" "$ng/"
echo "listen 127.0.0.1:$port;" >"$ng/listen.conf"
start_bg nginx nginx -e "$ng/logs/error.log" -p "$ng" -c "$ng/nginx.conf" -g "daemon off; pid $ng/nginx.pid;"
wait_http "$port" /

run closed --target "127.0.0.1:$port" --requests 3000 --connections 8
assert_counts_add_up closed
assert_eq 3000 "$(j .sent)" "closed: sent"
assert_eq 3000 "$(j '.status."202"')" "closed: 202s"
assert_eq 3000 "$(j .result.accepted)" "closed: result accepted"
assert_eq 0 "$(j '.socket_errors + .connect_errors + .parse_errors')" "closed: errors"
assert_eq 3000 "$(j .distinct_users)" "closed: seq users are unique"

run pipelined --target "127.0.0.1:$port" --requests 2000 --connections 4 --pipeline 8
assert_counts_add_up pipelined
assert_eq 2000 "$(j '.status."202"')" "pipelined: 202s"

# Fixed arrivals at 2000/s for 1 s: exactly 2000 requests are due, each one
# either sent or counted as missed.
run open --target "127.0.0.1:$port" --rate 2000 --arrival fixed --duration 1 --connections 16
assert_counts_add_up open
assert_eq 2000 "$(j '.sent + .missed')" "open: sent + missed"
assert_eq open "$(j .mode)" "open: mode"
assert_eq "$(j .sent)" "$(j .send_lag_ms.n)" "open: a send-lag sample per request"

run dup --target "127.0.0.1:$port" --requests 1000 --users dup --user-pool 100 \
  --accepted-file "$TEST_TMP/dup.accepted"
assert_eq 100 "$(j .distinct_users)" "dup: distinct users of a pool of 100"
assert_eq 1000 "$(wc -l <"$TEST_TMP/dup.accepted")" "dup: accepted file lines"
assert_eq 100 "$(awk '{print $2}' "$TEST_TMP/dup.accepted" | sort -u | wc -l)" "dup: users in accepted file"

run zipf --target "127.0.0.1:$port" --requests 2000 --users zipf --user-pool 50 --zipf-s 1.2
assert_counts_add_up zipf
assert_eq true "$(j '.distinct_users > 10 and .distinct_users <= 50')" "zipf: distinct users within the pool"

# ---- refusals: not loopback, unbounded, nobody listening
set +e
"$BENCH" --target 10.1.2.3:80 --requests 1 >/dev/null 2>"$TEST_TMP/e1"
rc1=$?
"$BENCH" --target "127.0.0.1:$port" >/dev/null 2>"$TEST_TMP/e2"
rc2=$?
"$BENCH" --target "127.0.0.1:$(free_port)" --requests 10 --connections 2 >/dev/null 2>"$TEST_TMP/e3"
rc3=$?
set -e
assert_eq 1 "$rc1" "non-loopback target: exit code"
assert_contains "$(cat "$TEST_TMP/e1")" "not a loopback" "non-loopback target"
assert_eq 2 "$rc2" "unbounded run: exit code"
assert_contains "$(cat "$TEST_TMP/e2")" "bounded" "unbounded run"
assert_eq 1 "$rc3" "nobody listening: exit code"
assert_contains "$(cat "$TEST_TMP/e3")" "connect" "nobody listening"
log "nginx and refusals: ok"

# ---- classic baseline: 202s = quantity = rows
if [[ -x $COUPONQ_BUILD/couponq-classic ]]; then
  id=$(new_coupon_id)
  coupon_create_raw "$id" 30
  cport=$(free_port)
  start_bg classic "$COUPONQ_BUILD/couponq-classic" --listen "127.0.0.1:$cport" --threads 16
  wait_http "$cport" /
  run classic --target "127.0.0.1:$cport" --coupon "$id" --requests 300 --connections 8 \
    --users dup --user-pool 100
  assert_counts_add_up classic
  assert_eq 30 "$(j '.status."202"')" "classic: 202s"
  assert_eq 270 "$(j '(.status."409" // 0) + (.status."410" // 0)')" "classic: 409 + 410"
  assert_eq 30 "$(sql "SELECT COUNT(*) FROM coupon_issues WHERE coupon_id = $id")" "classic: rows"
  sql "DELETE FROM coupon_issues WHERE coupon_id = $id; DELETE FROM coupons WHERE id = $id"
  # --coupons 2: requests alternate between coupon and coupon+1.
  coupon_create_raw "$((id + 1))" 10
  coupon_create_raw "$((id + 2))" 10
  run classic2 --target "127.0.0.1:$cport" --coupon "$((id + 1))" --coupons 2 --requests 200 \
    --connections 4 --users seq
  assert_counts_add_up classic2
  assert_eq 20 "$(j '.status."202"')" "classic, 2 coupons: 202s"
  assert_eq "10 10" "$(sql "SELECT COUNT(*) FROM coupon_issues WHERE coupon_id IN ($((id + 1)), $((id + 2))) GROUP BY coupon_id" | tr '\n' ' ' | sed 's/ $//')" "classic, 2 coupons: rows per coupon"
  sql "DELETE FROM coupon_issues WHERE coupon_id IN ($((id + 1)), $((id + 2))); DELETE FROM coupons WHERE id IN ($((id + 1)), $((id + 2)))"
  log "classic: ok"
else
  fail "couponq-classic not built in $COUPONQ_BUILD (a missing binary is a broken build, not a skip)"
fi

# ---- checkout flow (--flow checkout) against the two redemption baselines:
# every step counted, the plan's shares exact, the server's own counter
# equal to the confirms the generator was told of, and the budget's edge
# (a limit of 50 for 100 checkouts: 50 x 201, 50 x 410).
[[ -x $COUPONQ_BUILD/couponq-decrby ]] || fail "couponq-decrby not built in $COUPONQ_BUILD"
# checkout_admit ID N -- users 1..N own the coupon (issued set and rows).
checkout_admit() {
  local u vals=()
  for ((u = 1; u <= $2; u++)); do vals+=("($1,$u,'$(printf '%026d' "$u")',NOW(3))"); done
  sql "INSERT INTO coupon_issues (coupon_id, user_id, event_id, date_issued) VALUES $(IFS=,; echo "${vals[*]}")"
  rcli SADD "$(ckey "$1" issued)" $(seq 1 "$2") >/dev/null
}
# checkout_runs NAME PORT LIMIT_CMD COUNTER_CMD -- LIMIT_CMD ID LIMIT sets the
# budget, COUNTER_CMD ID prints the server's confirmed count.
checkout_runs() {
  local name=$1 port=$2 id
  id=$(new_coupon_id)
  coupon_create_raw "$id" -1
  checkout_admit "$id" 300
  "$3" "$id" 1000
  run "$name-co" --target "127.0.0.1:$port" --flow checkout --coupon "$id" --requests 300 \
    --connections 8 --abandon 0.2 --cancel 0.1 --accepted-file "$TEST_TMP/$name.rids"
  assert_counts_add_up "$name-co"
  assert_eq checkout "$(j .flow)" "$name: flow"
  assert_eq 300 "$(j .checkout.held)" "$name: holds 201"
  assert_eq 60 "$(j .checkout.abandoned)" "$name: abandoned (20% of 300, exact)"
  assert_eq true "$(j '.checkout.cancelled == 30 or .checkout.cancelled == 29')" "$name: cancelled"
  assert_eq 300 "$(j '.checkout.abandoned + .checkout.cancelled + .checkout.confirmed')" "$name: every hold ends one way"
  assert_eq "$(j .checkout.confirmed)" "$(j .checkout.pair_ms.n)" "$name: a pair latency per confirm"
  assert_eq "$(j '.sent')" "$(j '300 + .checkout.cancelled + .checkout.confirmed')" "$name: requests = holds + second steps"
  assert_eq 300 "$(wc -l <"$TEST_TMP/$name.rids")" "$name: a rid per 201"
  assert_eq 60 "$(grep -c ' abandon$' "$TEST_TMP/$name.rids")" "$name: abandoned rids"
  assert_eq "$(j .checkout.confirmed)" "$("$4" "$id")" "$name: server's confirmed count"
  first=$id
  id=$(new_coupon_id)
  coupon_create_raw "$id" -1
  checkout_admit "$id" 100
  "$3" "$id" 50
  run "$name-edge" --target "127.0.0.1:$port" --flow checkout --coupon "$id" --requests 100 --connections 8
  assert_eq 50 "$(j '.checkout.hold_status."201"')" "$name: 201s at the limit"
  assert_eq 50 "$(j '.checkout.hold_status."410"')" "$name: 410s past the limit"
  assert_eq 50 "$(j .checkout.confirmed)" "$name: confirmed at the limit"
  assert_eq 50 "$("$4" "$id")" "$name: server's confirmed at the limit"
  for id in "$first" "$id"; do
    sql "DELETE FROM bench_classic_redemptions WHERE coupon_id = $id; DELETE FROM bench_classic_use WHERE coupon_id = $id;
         DELETE FROM coupon_issues WHERE coupon_id = $id; DELETE FROM coupons WHERE id = $id"
    rcli DEL "$(ckey "$id" meta)" "$(ckey "$id" issued)" "bench:decrby:{c$id}:stock" >/dev/null
    rcli --scan --pattern "bench:decrby:{c$id}:h:*" | xargs -r redis-cli -h 127.0.0.1 -p "$REDIS_PORT" DEL >/dev/null
  done
}
classic_limit() { sql "INSERT INTO bench_classic_use (coupon_id, use_limit) VALUES ($1, $2)"; }
classic_confirmed() { sql "SELECT confirmed FROM bench_classic_use WHERE coupon_id = $1"; }
checkout_runs classic "$cport" classic_limit classic_confirmed
dport=$(free_port)
start_bg decrby "$COUPONQ_BUILD/couponq-decrby" --listen "127.0.0.1:$dport"
wait_http "$dport" /
decrby_limit() { rcli SET "bench:decrby:{c$1}:stock" "$2" >/dev/null; DECRBY_LIMIT=$2; }
decrby_confirmed() { echo $((DECRBY_LIMIT - $(rcli GET "bench:decrby:{c$1}:stock"))); }
# Abandoned holds never give their use back with DECRBY; cancels do: the
# stock left is the limit minus confirmed minus abandoned.
decrby_taken() { echo $(($(decrby_confirmed "$1") - $(j .checkout.abandoned))); }
checkout_runs decrby "$dport" decrby_limit decrby_taken
"$BENCH" --flow checkout --pipeline 2 --requests 1 >/dev/null 2>"$TEST_TMP/e4" && fail "checkout with --pipeline 2 accepted"
assert_contains "$(cat "$TEST_TMP/e4")" "--pipeline must be 1" "checkout: pipeline refused"
"$BENCH" --flow checkout --abandon 0.7 --cancel 0.5 --requests 1 >/dev/null 2>"$TEST_TMP/e5" && fail "shares over 1 accepted"
assert_contains "$(cat "$TEST_TMP/e5")" "at most 1" "checkout: shares refused"
log "checkout flow against the redemption baselines: ok"

# ---- couponq-api: 202s = quantity, and exactly the users Redis admitted
if [[ -x $COUPONQ_BUILD/couponq-api ]]; then
  topic=$(new_topic bench_smoke)
  id=$(new_coupon_id)
  coupon_create_raw "$id" 50
  aport=$(free_port)
  rtopic=$(new_topic bench_smoke.redemptions)
  start_bg api env COUPONQ_LISTEN="127.0.0.1:$aport" COUPONQ_TOPIC="$topic" \
    COUPONQ_REDEMPTION_TOPIC="$rtopic" "$COUPONQ_BUILD/couponq-api"
  for _ in $(seq 300); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$aport/healthz") == 200 ]] && break
    sleep 0.1
  done
  run api --target "127.0.0.1:$aport" --coupon "$id" --requests 1000 --connections 8 \
    --users dup --user-pool 200 --accepted-file "$TEST_TMP/api.accepted"
  assert_counts_add_up api
  assert_eq 50 "$(j '.status."202"')" "api: 202s"
  assert_eq 50 "$(j .result.accepted)" "api: result accepted"
  assert_eq 950 "$(j '(.result.duplicate // 0) + (.result.sold_out // 0)')" "api: duplicate + sold_out"
  assert_eq 50 "$(awk '{print $2}' "$TEST_TMP/api.accepted" | sort -u | wc -l)" "api: distinct 202 users"
  assert_eq "$(awk '{print $2}' "$TEST_TMP/api.accepted" | sort | tr '\n' ' ')" \
    "$(rcli SMEMBERS "$(ckey "$id" issued)" | sort | tr '\n' ' ')" "api: 202 users = Redis issued set"
  rcli DEL "$(ckey "$id" meta)" "$(ckey "$id" issued)" "$(ckey "$id" persisted)" >/dev/null
  sql "DELETE FROM coupons WHERE id = $id"
  log "api: ok"

  # ---- couponq-api, checkout flow: the redeem and redeem-expiry scenarios
  # of bench/run, tiny. A limit of 300 for 300 checkouts (30% abandoned,
  # 10% cancelled, 2 s holds); the use hash's confirmed = the confirms;
  # after the holds expired (no cleanup job) no hold is live, GET says
  # expired for an abandoned one, and exactly limit - confirmed more holds
  # succeed, the next 10 get 410.
  id=$(new_coupon_id)
  coupon_create_raw "$id" -1
  coupon_use_raw "$id" 300 2000
  rcli SADD "$(ckey "$id" issued)" $(seq 1 440) >/dev/null
  run api-co --target "127.0.0.1:$aport" --flow checkout --coupon "$id" --requests 300 \
    --connections 8 --abandon 0.3 --cancel 0.1 --accepted-file "$TEST_TMP/api.rids"
  assert_counts_add_up api-co
  assert_eq 300 "$(j .checkout.held)" "api checkout: holds 201"
  assert_eq 90 "$(j .checkout.abandoned)" "api checkout: abandoned"
  assert_eq "$(j '.checkout.cancel_status."200" // 0')" "$(j .checkout.cancelled)" "api checkout: cancels 200"
  assert_eq 300 "$(j '.checkout.abandoned + .checkout.cancelled + .checkout.confirmed')" "api checkout: every hold ends one way"
  confirmed=$(j .checkout.confirmed)
  assert_eq "$confirmed" "$(rcli HGET "$(ckey "$id" use)" confirmed)" "api checkout: use hash confirmed"
  live=1
  for _ in $(seq 100); do
    now=$(rcli TIME | tr '\n' ' ' | awk '{printf "%d", $1 * 1000 + int($2 / 1000)}')
    live=$(rcli ZCOUNT "$(ckey "$id" use:holds)" "($now" +inf)
    [[ $live == 0 ]] && break
    sleep 0.1
  done
  assert_eq 0 "$live" "api checkout: live holds after the TTL"
  rid=$(awk '$2 == "abandon" {print $1; exit}' "$TEST_TMP/api.rids")
  assert_eq expired "$(curl -s "http://127.0.0.1:$aport/v1/redemptions/$rid" | jq -r .state)" "api checkout: GET abandoned"
  rid=$(awk '$2 == "confirm" {print $1; exit}' "$TEST_TMP/api.rids")
  assert_eq confirmed "$(curl -s "http://127.0.0.1:$aport/v1/redemptions/$rid" | jq -r .state)" "api checkout: GET confirmed"
  rcli HSET "$(ckey "$id" use)" ttl_ms 600000 >/dev/null
  left=$((300 - confirmed))
  run api-refill --target "127.0.0.1:$aport" --flow checkout --coupon "$id" --requests "$((left + 10))" \
    --user-base 301 --connections 8 --abandon 1 --order-prefix refill-
  assert_eq "$left" "$(j '.checkout.hold_status."201"')" "api checkout: holds on the budget left"
  assert_eq 10 "$(j '.checkout.hold_status."410"')" "api checkout: then use_sold_out"
  log "api checkout: ok"
else
  fail "couponq-api not built in $COUPONQ_BUILD (a missing binary is a broken build, not a skip)"
fi
log "ok"
