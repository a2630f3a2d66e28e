#!/usr/bin/env bash
# tools_redemption.sh -- couponqctl's redemption tools on the real stack:
# create with every use flag (MySQL columns + the Redis use hash), vendor
# create/show, status's use budget, settle (twice = the same settlement; a
# crash before COMMIT leaves nothing and the re-run gives what an uncrashed
# run gives; a reversal after a settlement is a negative line in the next),
# then redemptions made by use.lua itself: the coupon's keys deleted (what
# a FLUSHALL does to them; the shared Redis is not flushed) and rebuild
# restores records, orders, users, revs, unexpired holds and the confirmed
# count from MySQL rows/events plus the events still in the topic, byte for
# byte; use adjust refuses below confirmed + live holds, and concurrent
# adjusts end with one limit in both Redis and MySQL; reconcile finds a
# record without a row, a lost record and a finish the api never ran, and
# --repair fixes them; the fence guard restores a record a failover lost
# and finishes the releases whose finish it lost (a cancel whose event is
# in MySQL, a give-back reversal whose event is only in the topic), so
# reconcile without --repair finds nothing after it.
#
# The settle part writes ledger lines with SQL; the redemptions are made
# by use.lua (EVAL, as the api calls it) and their events go through Kafka
# to couponq-worker, so rows, events and ledger lines are the worker's.
source "$(dirname "$0")/../lib.sh"

CTL=$COUPONQ_BUILD/couponqctl
WORKER=$COUPONQ_BUILD/couponq-worker
[[ -x $CTL && -x $WORKER ]] || fail "build couponqctl and couponq-worker first"

json() { python3 -c 'import json,sys; d=json.load(sys.stdin)
for k in sys.argv[1].split("."): d=d.get(k) if isinstance(d, dict) else None
print(json.dumps(d) if not isinstance(d, str) else d)' "$1"; }
# expect_rc CODE WHAT CMD... -- runs CMD, asserts its exit code; stdout in $out.
expect_rc() {
  local want=$1 what=$2 rc=0
  shift 2
  out=$("$@" 2>"$TEST_TMP/stderr") || rc=$?
  assert_eq "$want" "$rc" "$what (stderr: $(cat "$TEST_TMP/stderr"))"
}
ulid() { python3 -c 'import random; print("".join(random.choice("0123456789ABCDEFGHJKMNPQRSTVWXYZ") for _ in range(26)))'; }
# line VENDOR AMOUNT AGE_SQL -- a ledger line dated NOW(3) - AGE_SQL.
line() {
  sql "INSERT INTO vendor_ledger (vendor_id, event_id, redemption_id, amount, date_created)
       VALUES ($1, '$(ulid)', '$(ulid)', $2, NOW(3) - INTERVAL $3)"
}

# ------------------------------------------------------------ vendor create
VNAME="vendor $TEST_NAME $(date +%s%N)"
V=$("$CTL" vendor create --name "$VNAME") || fail "vendor create failed"
assert_eq "$VNAME" "$(sql "SELECT name FROM vendors WHERE id=$V")" "vendor row"
expect_rc 3 "a vendor name is unique" "$CTL" vendor create --name "$VNAME"
expect_rc 2 "vendor create needs --name" "$CTL" vendor create
expect_rc 4 "vendor show of no vendor" "$CTL" vendor show 999999999999
expect_rc 2 "vendor without a subcommand" "$CTL" vendor

# ------------------------------------------------------------ create
ID=$(new_coupon_id)
log "coupon $ID vendor $V"
out=$("$CTL" create --id "$ID" --title "use flags" --quantity 100 --end +1h \
  --discount 5000 --min-amount 10000 --use-limit 40 --hold-ttl 90s \
  --use-until +2h --vendor "$V" --vendor-share-bps 2500 --no-reuse --json) ||
  fail "create with every use flag failed: $out"
assert_eq "40 90000 $V 2500 0 5000 10000 0" \
  "$(sql "SELECT use_limit, hold_ttl_ms, vendor_id, vendor_share_bps, reuse_after_reverse,
          discount_amount, min_available_amount, used_quantity FROM coupons WHERE id=$ID" | tr '\t' ' ')" \
  "MySQL use columns"
until_ms=$(sql "SELECT CAST(ROUND(UNIX_TIMESTAMP(use_until)*1000) AS SIGNED) FROM coupons WHERE id=$ID")
now_ms=$(date +%s%3N)
(( until_ms > now_ms + 7000000 && until_ms < now_ms + 7300000 )) || fail "use_until $until_ms is not about now + 2h"
assert_eq "40 90000 $until_ms 5000 10000 $V 2500 0 0" \
  "$(rcli HMGET "couponq:{c$ID}:use" limit ttl_ms until_ms discount min_amount vendor share_bps reuse confirmed | tr '\n' ' ' | sed 's/ $//')" \
  "Redis use hash"
assert_eq "open" "$(rcli HGET "couponq:{c$ID}:meta" state)" "meta written with the use hash"

# Defaults: no use limit (-1 in Redis, NULL in MySQL), 10 min holds, reuse.
ID2=$(new_coupon_id)
"$CTL" create --id "$ID2" --title "use defaults" --quantity 10 --end +1h >/dev/null || fail "create with defaults"
assert_eq "-1 600000 -1 0 0 0 10000 1 0" \
  "$(rcli HMGET "couponq:{c$ID2}:use" limit ttl_ms until_ms discount min_amount vendor share_bps reuse confirmed | tr '\n' ' ' | sed 's/ $//')" \
  "Redis use hash defaults"
assert_eq "NULL 600000 NULL NULL 10000 1" \
  "$(sql "SELECT IFNULL(use_limit,'NULL'), hold_ttl_ms, IFNULL(use_until,'NULL'), IFNULL(vendor_id,'NULL'),
          vendor_share_bps, reuse_after_reverse FROM coupons WHERE id=$ID2" | tr '\t' ' ')" \
  "MySQL use column defaults"

# Bad use flags change nothing.
ID3=$(new_coupon_id)
expect_rc 2 "--vendor must exist" "$CTL" create --id "$ID3" --title x --quantity 1 --end +1h --vendor 999999999999
expect_rc 2 "--vendor-share-bps above 10000" "$CTL" create --id "$ID3" --title x --quantity 1 --end +1h --vendor-share-bps 10001
expect_rc 2 "--hold-ttl not a duration" "$CTL" create --id "$ID3" --title x --quantity 1 --end +1h --hold-ttl soon
expect_rc 2 "--hold-ttl below 1s" "$CTL" create --id "$ID3" --title x --quantity 1 --end +1h --hold-ttl 10ms
expect_rc 2 "--use-until in the past" "$CTL" create --id "$ID3" --title x --quantity 1 --end +1h --use-until -1m
expect_rc 2 "--use-limit not a number" "$CTL" create --id "$ID3" --title x --quantity 1 --end +1h --use-limit many
assert_eq 0 "$(sql "SELECT COUNT(*) FROM coupons WHERE id=$ID3")" "no row after refused creates"
assert_eq 0 "$(rcli EXISTS "couponq:{c$ID3}:use")" "no use hash after refused creates"
expect_rc 2 "a coupon id >= 2^48 is refused" "$CTL" create --id 281474976710656 --title x --quantity 1 --end +1h
assert_contains "$(cat "$TEST_TMP/stderr")" "2^48" "the refusal says why"
assert_eq 0 "$(sql "SELECT COUNT(*) FROM coupons WHERE id=281474976710656")" "no row for the refused id"

# ------------------------------------------------------------ status
# Rows as a worker writes them: one confirmed, one held (live), one held
# past its expiry (reported as expired), one released.
redemption_row() { # ID RID USER ORDER STATE EXPIRES_SQL
  sql "INSERT INTO coupon_redemptions (id, coupon_id, user_id, order_id, order_amount, discount,
         state, version, held_at, expires_at, vendor_id, vendor_share_bps, reuse_after_reverse)
       VALUES ('$2', $1, $3, '$4', 30000, 5000, '$5', 1, NOW(3) - INTERVAL 1 MINUTE, $6, NULL, 10000, 1)"
}
redemption_row "$ID" "$(ulid)" 1 o-1 confirmed "NOW(3) + INTERVAL 1 MINUTE"
redemption_row "$ID" "$(ulid)" 2 o-2 held "NOW(3) + INTERVAL 1 MINUTE"
redemption_row "$ID" "$(ulid)" 3 o-3 held "NOW(3) - INTERVAL 1 SECOND"
redemption_row "$ID" "$(ulid)" 4 o-4 released "NOW(3) + INTERVAL 1 MINUTE"
out=$("$CTL" status "$ID" --json) || fail "status failed: $out"
assert_eq '{"held": 1, "confirmed": 1, "released": 1, "expired": 1, "partially_reversed": 0, "reversed": 0}' \
  "$(json redemptions <<<"$out")" "status: redemptions by state"
assert_eq "40 0 40 0 0 90000" \
  "$(for k in use_limit used_quantity redis_use_limit redis_confirmed redis_live_holds hold_ttl_ms; do json $k <<<"$out"; done | tr '\n' ' ' | sed 's/ $//')" \
  "status: use budget"
rcli ZADD "couponq:{c$ID}:use:holds" $((now_ms + 600000)) LIVE1 $((now_ms - 1000)) GONE1 >/dev/null
assert_eq 1 "$("$CTL" status "$ID" --json | json redis_live_holds)" "status: only unexpired holds are live"
assert_contains "$("$CTL" status "$ID2")" "use_limit: unlimited" "status text: no use limit"

# ------------------------------------------------------------ settle
line "$V" 1000 "3 HOUR"
line "$V" 250 "2 HOUR"
line "$V" -100 "90 MINUTE"
line "$V" 400 "30 MINUTE"
T1=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%S.000Z)
T2=$(date -u -d '-10 minute' +%Y-%m-%dT%H:%M:%S.000Z)
out=$("$CTL" settle --vendor "$V" --until "$T1" --json) || fail "settle failed: $out"
S1=$(json settlement_id <<<"$out")
assert_eq "1150 3 false" "$(json total <<<"$out") $(json line_count <<<"$out") $(json existing <<<"$out")" "first settlement"
out=$("$CTL" settle --vendor "$V" --until "$T1" --json) || fail "second settle failed: $out"
assert_eq "$S1 1150 3 true" "$(json settlement_id <<<"$out") $(json total <<<"$out") $(json line_count <<<"$out") $(json existing <<<"$out")" \
  "settling again gives the same settlement"
assert_eq 1 "$(sql "SELECT COUNT(*) FROM settlements WHERE vendor_id=$V")" "one settlement row"
expect_rc 3 "--until in the future" "$CTL" settle --vendor "$V" --until +1h
expect_rc 4 "settle of no vendor" "$CTL" settle --vendor 999999999999 --until "$T1"
expect_rc 2 "settle needs --until" "$CTL" settle --vendor "$V"

# A crash before COMMIT leaves nothing.
expect_rc 86 "the crash hook" env COUPONQ_TEST_SETTLE_CRASH=after_lines "$CTL" settle --vendor "$V" --until "$T2"
assert_eq 1 "$(sql "SELECT COUNT(*) FROM settlements WHERE vendor_id=$V")" "no settlement after the crash"
assert_eq 1 "$(sql "SELECT COUNT(*) FROM vendor_ledger WHERE vendor_id=$V AND settlement_id IS NULL")" "the crash moved no line"
out=$("$CTL" settle --vendor "$V" --until "$T2" --json) || fail "settle after the crash failed: $out"
S2=$(json settlement_id <<<"$out")
assert_eq "400 1 false" "$(json total <<<"$out") $(json line_count <<<"$out") $(json existing <<<"$out")" \
  "the re-run after the crash settles what an uncrashed run would"

# A reversal after the settlement: a negative line in the next one; the
# settled lines are never touched.
before=$(sql "SELECT GROUP_CONCAT(id, ':', amount, ':', settlement_id ORDER BY id) FROM vendor_ledger WHERE vendor_id=$V AND settlement_id IS NOT NULL")
line "$V" -250 "1 SECOND"
out=$("$CTL" vendor show "$V" --json) || fail "vendor show failed: $out"
assert_eq "1300 -250 1 2" "$(json balance <<<"$out") $(json open_total <<<"$out") $(json open_line_count <<<"$out") $(json settlement_count <<<"$out")" \
  "vendor show: balance, open lines, settlements"
assert_eq "[$S1, $S2]" "$(python3 -c 'import json,sys; print([s["id"] for s in json.load(sys.stdin)["settlements"]])' <<<"$out")" "vendor show lists the settlements"
assert_eq "[-250]" "$(python3 -c 'import json,sys; print([l["amount"] for l in json.load(sys.stdin)["open_lines"]])' <<<"$out")" "vendor show lists the open line"
out=$("$CTL" settle --vendor "$V" --until now --json) || fail "third settle failed: $out"
assert_eq "-250 1" "$(json total <<<"$out") $(json line_count <<<"$out")" "the reversal is a negative line of the next settlement"
assert_eq "$before" "$(sql "SELECT GROUP_CONCAT(id, ':', amount, ':', settlement_id ORDER BY id) FROM vendor_ledger WHERE vendor_id=$V AND settlement_id IN ($S1, $S2)")" \
  "settled lines unchanged"
assert_eq "1300 0" "$("$CTL" vendor show "$V" --json | json balance) $("$CTL" vendor show "$V" --json | json open_line_count)" "all settled"
log "settle ok"

# ------------------------------------------------------------ use.lua
# Redemption and event ids from the worker tests' generator.
GEN="import sys; sys.path.insert(0, '$COUPONQ_SRC/tests/integration'); import redemption_events as g"
new_rid() { python3 -c "$GEN; print(g.rid($1))"; }
USE_LUA=$(cat "$COUPONQ_SRC/schemas/redis/use.lua")
RT=$(new_topic redemptions)
export COUPONQ_TOPIC=$(new_topic issues) COUPONQ_REDEMPTION_TOPIC=$RT
export COUPONQ_GROUP="couponq.test.redemption.$RANDOM$RANDOM"
k() { echo "couponq:{c$1}:$2"; }
ukeys() { local s; for s in meta use use:holds use:recs use:orders use:users issued use:revs; do k "$1" "$s"; done; }
# The answer spelled out (use_lua_model.py's legacy): the fields of the
# record it carries, and the event the api builds from that record.
LEGACY="import sys; sys.path.insert(0, '$COUPONQ_SRC/tests/integration'); import use_lua_model as m; m.legacy_lines()"
# op COUPON WANT OP ARGS... -- use.lua; asserts the code; a transition's
# event goes to $TEST_TMP/ev (the last one), a finish it asks for is run.
op() {
  local c=$1 want=$2 out
  shift 2
  # shellcheck disable=SC2046
  out=$(rcli EVAL "$USE_LUA" 8 $(ukeys "$c") "$@" | python3 -c "$LEGACY" "$1" "$c")
  assert_eq "$want" "$(sed -n 1p <<<"$out")" "use.lua $* answers"
  [[ $(sed -n 2p <<<"$out") == 1 ]] && sed -n 15p <<<"$out" >"$TEST_TMP/ev"
  if [[ $(sed -n 3p <<<"$out") == 1 && ${NOFINISH:-0} != 1 ]]; then
    # shellcheck disable=SC2046
    assert_eq 1 "$(rcli EVAL "$USE_LUA" 8 $(ukeys "$c") finish "$(sed -n 4p <<<"$out")" "$(sed -n 14p <<<"$out")")" "finish"
  fi
  return 0
}
eid() { python3 -c "$GEN; print(g.ulid())"; }
hold() { # COUPON USER ORDER AMOUNT -> prints the rid
  local r
  r=$(new_rid "$1")
  op "$1" held hold "$r" "$(eid)" 0 "$2" "$3" "$4" >/dev/null
  echo "$r"
}
evf() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1" <"$TEST_TMP/ev"; }
# to_kafka: the last event produced (as the api does, key = rid); to_mysql:
# produced and waited for until the worker applied it (60 s at most)
to_kafka() { printf '%s\t%s\n' "$(evf redemption_id)" "$(cat "$TEST_TMP/ev")" | kcat -b "$COUPONQ_KAFKA" -P -t "$RT" -K $'\t'; }
wait_row() { # RID VERSION
  local i
  for ((i = 0; i < 600; i++)); do
    [[ $(sql "SELECT version >= $2 FROM coupon_redemptions WHERE id='$1'") == 1 ]] && return 0
    sleep 0.1
  done
  fail "redemption $1: no row of version $2 after 60 s ($(tail -n 3 "$TEST_TMP"/worker*.log | tr '\n' ' '))"
}
to_mysql() { to_kafka && wait_row "$(evf redemption_id)" "$(evf version)"; }
worker() { start_bg "worker$1" "$WORKER" --metrics-listen off --batch-ms 20; WORKER_PID=$BG_PID; }
worker_stop() { kill -TERM "$WORKER_PID" && wait "$WORKER_PID" 2>/dev/null || true; }
# owners COUPON USERS... -- admitted users with their coupon_issues rows
owners() {
  local c=$1 u
  shift
  for u in "$@"; do
    sql "INSERT INTO coupon_issues (coupon_id, user_id, event_id, date_issued) VALUES ($c, $u, '$(eid)', NOW(3))"
    rcli SADD "$(k "$c" issued)" "$u" >/dev/null
    rcli SADD "$(k "$c" persisted)" "$u" >/dev/null
  done
  sql "UPDATE coupons SET issued_quantity = (SELECT COUNT(*) FROM coupon_issues WHERE coupon_id = $c) WHERE id = $c"
}
# use_state COUPON -- the coupon's redemption keys, canonical (ep is 1 after
# a restore: the event of a restored record is in MySQL or Kafka).
use_state() {
  local c=$1 now
  now=$(date +%s%3N)
  rcli HGETALL "$(k "$c" use:recs)" | paste - - | sed 's/"ep":0/"ep":1/' | sort
  for s in use use:orders use:users use:revs; do echo "== $s"; rcli HGETALL "$(k "$c" "$s")" | paste - - | sort; done
  echo "== live holds"
  rcli ZRANGEBYSCORE "$(k "$c" use:holds)" "($now" +inf WITHSCORES | paste - -
}
del_coupon_keys() { rcli --scan --pattern "couponq:{c$1}:*" | xargs -r redis-cli -h 127.0.0.1 -p "$REDIS_PORT" DEL >/dev/null; }

V2=$("$CTL" vendor create --name "$VNAME rebuild") || fail "second vendor"
A=$(new_coupon_id)
"$CTL" create --id "$A" --title "rebuild use" --quantity 100 --end +1h --discount 1000 \
  --use-limit 10 --hold-ttl 10m --vendor "$V2" --vendor-share-bps 5000 >/dev/null || fail "create $A"
owners "$A" 1 2 3 4 5 6 7 8 9
worker 1
log "coupon $A: redemptions through use.lua and the worker"
R1=$(hold "$A" 1 o-1 3000); to_mysql
op "$A" confirmed confirm "$R1" "$(eid)" 0; to_mysql
R2=$(hold "$A" 2 o-2 3000); to_mysql
op "$A" confirmed confirm "$R2" "$(eid)" 0; to_mysql
op "$A" partially_reversed reverse "$R2" "$(eid)" 0 r-1 1000; to_mysql
R3=$(hold "$A" 3 o-3 2000); to_mysql
op "$A" confirmed confirm "$R3" "$(eid)" 0; to_mysql
op "$A" reversed reverse "$R3" "$(eid)" 0 r-2 2000; to_mysql # gives the use back (finish)
R4=$(hold "$A" 4 o-4 5000); to_mysql                         # a live hold
R5=$(hold "$A" 5 o-5 3000); to_mysql
op "$A" released cancel "$R5" "$(eid)" 0; to_mysql           # finish frees it
# Coupon B: a hold that expired without a transition (1 s holds).
B=$(new_coupon_id)
"$CTL" create --id "$B" --title "rebuild expired" --quantity 10 --end +1h --hold-ttl 1s >/dev/null || fail "create $B"
owners "$B" 1
RB=$(hold "$B" 1 o-1 100); to_mysql
for ((i = 0; i < 100; i++)); do
  (($(date +%s%3N) > $(rcli ZSCORE "$(k "$B" use:holds)" "$RB"))) && break
  sleep 0.1
done
before_b=$(use_state "$B")

# The worker stops: R6's events stay in the topic, past its committed offsets.
worker_stop
R6=$(hold "$A" 6 o-6 3000); to_kafka
op "$A" confirmed confirm "$R6" "$(eid)" 0; to_kafka
op "$A" found get "$R1" 0 # an event handed out (ep 1)
assert_eq "3 1" "$(rcli HGET "$(k "$A" use)" confirmed) $(rcli ZCOUNT "$(k "$A" use:holds)" "($(date +%s%3N)" +inf)" "use.lua: confirmed, live holds"
assert_eq 2 "$(sql "SELECT used_quantity FROM coupons WHERE id=$A")" "used_quantity as the worker counted it"
before=$(use_state "$A")

# ------------------------------------------------------------ rebuild
del_coupon_keys "$A"
del_coupon_keys "$B"
assert_eq 0 "$(rcli EXISTS "$(k "$A" use)" "$(k "$A" use:recs)" "$(k "$A" meta)")" "the coupon's keys are gone"
out=$("$CTL" rebuild "$A" --json) || fail "rebuild $A failed: $out"
assert_eq "5 2 7 2 true" \
  "$(for f in use_rows use_unconsumed_events use_restored use_revs use_hash_written; do json $f <<<"$out"; done | tr '\n' ' ' | sed 's/ $//')" \
  "rebuild: rows, topic events, records written (R6 twice: v1, v2), revs, use hash"
after=$(use_state "$A")
[[ $before == "$after" ]] || fail "rebuild did not restore the use state byte for byte:
$(diff <(echo "$before") <(echo "$after"))"
assert_contains "$after" "$R4" "the live hold is back"
out=$("$CTL" rebuild "$B" --json) || fail "rebuild $B failed: $out"
assert_eq "$before_b" "$(use_state "$B")" "coupon B restored"
assert_eq 0 "$(rcli ZCARD "$(k "$B" use:holds)")" "an expired hold is not restored into the holds"
assert_eq 1 "$("$CTL" status "$B" --json | json redemptions.expired)" "status: the expired hold"
s=$("$CTL" status "$A" --json)
assert_eq "3 1 2" "$(json redis_confirmed <<<"$s") $(json redis_live_holds <<<"$s") $(json used_quantity <<<"$s")" "status after rebuild"

# The coupon works on: a replay, a used coupon, a reuse after a full
# reversal, and the restored hold confirms; the worker consumes again.
worker 2
op "$A" replay hold "$(new_rid "$A")" "$(eid)" 0 1 o-1 3000
op "$A" already_used hold "$(new_rid "$A")" "$(eid)" 0 1 o-1b 3000
op "$A" not_owned hold "$(new_rid "$A")" "$(eid)" 0 99 o-99 3000
R3B=$(hold "$A" 3 o-3b 3000); to_mysql
op "$A" confirmed confirm "$R4" "$(eid)" 0; to_mysql
assert_eq "4 1" "$(rcli HGET "$(k "$A" use)" confirmed) $(rcli ZCOUNT "$(k "$A" use:holds)" "($(date +%s%3N)" +inf)" "confirmed, live holds after rebuild"

# ------------------------------------------------------------ use adjust
expect_rc 3 "use adjust below confirmed + live holds" "$CTL" use adjust "$A" --limit 4
assert_contains "$(cat "$TEST_TMP/stderr")" "cannot go below 5" "the refusal names the uses in use"
assert_eq "10 10" "$(rcli HGET "$(k "$A" use)" limit) $(sql "SELECT use_limit FROM coupons WHERE id=$A")" "a refused adjust changes nothing"
out=$("$CTL" use adjust "$A" --limit 5 --json) || fail "use adjust 5: $out"
assert_eq "5 5 5" "$(json in_use <<<"$out") $(rcli HGET "$(k "$A" use)" limit) $(sql "SELECT use_limit FROM coupons WHERE id=$A")" "use adjust down to the uses in use"
op "$A" use_sold_out hold "$(new_rid "$A")" "$(eid)" 0 7 o-7 3000
"$CTL" use adjust "$A" --limit unlimited >/dev/null || fail "use adjust unlimited"
assert_eq "-1 NULL" "$(rcli HGET "$(k "$A" use)" limit) $(sql "SELECT IFNULL(use_limit, 'NULL') FROM coupons WHERE id=$A")" "use adjust to unlimited"
# Concurrent adjusts (raises MySQL-first, lowers Redis-first) take the
# coupon's use-limit lock (GET_LOCK), so they run one at a time, each
# changing a store only from the limit it read: both stores end with the
# same limit. Without the lock the compare-and-sets alone let 8 at once end
# apart in about 1 round of 30 (a take-back restoring another adjust's
# value that was itself taken back: Redis 12, MySQL 40), hence 20 rounds.
# (Before those, a raise and a lower could interleave into Redis with one
# limit and MySQL with the other every time.)
CC=$(new_coupon_id)
"$CTL" create --id "$CC" --title "concurrent adjusts" --quantity 10 --end +1h --use-limit 20 >/dev/null || fail "create $CC"
limits() { echo "$(rcli HGET "$(k "$CC" use)" limit) $(sql "SELECT IFNULL(use_limit, -1) FROM coupons WHERE id=$CC")"; }
raced=0
for round in $(seq 20); do
  pids=()
  for l in 10 30 15 40 5 unlimited 25 12; do
    "$CTL" use adjust "$CC" --limit "$l" >/dev/null 2>"$TEST_TMP/adj.$l" &
    pids+=("$!:$l")
  done
  codes=""
  for p in "${pids[@]}"; do
    rc=0
    wait "${p%%:*}" || rc=$?
    codes+=" $rc"
    case $rc in
    0) ;;
    3) assert_contains "$(cat "$TEST_TMP/adj.${p#*:}")" "while this adjust ran" "round $round: why --limit ${p#*:} was refused"
       raced=$((raced + 1)) ;;
    *) fail "round $round: use adjust --limit ${p#*:} exited $rc: $(cat "$TEST_TMP/adj.${p#*:}")" ;;
    esac
  done
  read -r rl ml <<<"$(limits)"
  [[ $rl == "$ml" ]] || fail "round $round: Redis limit $rl, MySQL $ml after concurrent adjusts (exit codes$codes)"
  log "concurrent adjusts, round $round: exit codes$codes -> limit $rl in both"
done
log "concurrent adjusts: $raced refused for a race"
expect_rc 4 "use adjust of no coupon" "$CTL" use adjust 999999999999 --limit 1
expect_rc 2 "use adjust without --limit" "$CTL" use adjust "$A"

# ------------------------------------------------------------ reconcile
# Once the worker caught up on R6, reconcile finds nothing.
wait_row "$R6" 2
out=$("$CTL" reconcile "$A" --json) || fail "reconcile after the workers caught up: $out"
assert_eq "true 7 7" "$(json use_consistent <<<"$out") $(json use_records <<<"$out") $(json use_rows <<<"$out")" "reconcile: consistent"

# Three faults: a hold whose event never left Redis (the api died before
# Kafka), a cancel whose finish never ran, a record Redis lost.
R8=$(hold "$A" 8 o-8 3000)
R9=$(hold "$A" 9 o-9 3000); to_mysql
NOFINISH=1 op "$A" released cancel "$R9" "$(eid)" 0; to_mysql
rec1=$(rcli HGET "$(k "$A" use:recs)" "$R1")
rcli HDEL "$(k "$A" use:recs)" "$R1" >/dev/null
expect_rc 5 "reconcile finds the faults" "$CTL" reconcile "$A" --json
assert_eq "[\"$R8\"] [\"$R9\"] [\"$R1\"] []" \
  "$(for f in use_missing_row use_finish_due use_redis_missing use_row_behind; do json $f <<<"$out"; done | tr '\n' ' ' | sed 's/ $//')" \
  "reconcile: missing row, finish due, lost record"
assert_contains "$(rcli ZRANGE "$(k "$A" use:holds)" 0 -1)" "$R9" "the unfinished cancel still holds its budget"
out=$("$CTL" reconcile "$A" --repair --json) || fail "reconcile --repair failed: $out"
assert_eq "1 1 1 true" \
  "$(for f in use_reproduced use_restored use_finished use_repaired; do json $f <<<"$out"; done | tr '\n' ' ' | sed 's/ $//')" \
  "reconcile --repair: re-produced, restored, finished"
assert_eq "$rec1" "$(rcli HGET "$(k "$A" use:recs)" "$R1")" "the lost record is back byte for byte"
assert_eq "" "$(rcli ZSCORE "$(k "$A" use:holds)" "$R9")" "the finish freed the cancelled hold"
assert_contains "$(rcli HGET "$(k "$A" use:recs)" "$R9")" '"p":0' "the record's finish is done"
assert_eq 1 "$(kcat -b "$COUPONQ_KAFKA" -C -t "$RT" -e -q -f '%k\n' | grep -c "$R8")" "the missing event is in the topic"
wait_row "$R8" 1
out=$("$CTL" reconcile "$A" --json) || fail "reconcile after the repair and the workers: $out"
assert_eq "true 9 9" "$(json use_consistent <<<"$out") $(json use_records <<<"$out") $(json use_rows <<<"$out")" "reconcile: consistent again"
assert_eq held "$(sql "SELECT state FROM coupon_redemptions WHERE id='$R8'")" "the re-produced hold reached MySQL"

# ------------------------------------------------------------ fence guard
# A failover that lost R8's hold (the record, its order and hold entries:
# the dataset as it was before the hold) and changed the replication id:
# use.lua answers fenced until the guard restored R8 and lifted the fence.
rec8=$(rcli HGET "$(k "$A" use:recs)" "$R8")
score8=$(rcli ZSCORE "$(k "$A" use:holds)" "$R8")
rcli HDEL "$(k "$A" use:recs)" "$R8" >/dev/null
rcli HDEL "$(k "$A" use:orders)" o-8 >/dev/null
rcli ZREM "$(k "$A" use:holds)" "$R8" >/dev/null
rcli HSET "$(k "$A" use:users)" 8 "$R8" >/dev/null
# The same failover lost two finishes the apis ran after Kafka's
# acknowledgement (the transitions survived): R10's cancel, its event in
# MySQL, and R11's give-back reversal, its event only in the topic (the
# worker is stopped). Both records stay pending, their budget held.
owners "$A" 10 11
R10=$(hold "$A" 10 o-10 3000); to_mysql
NOFINISH=1 op "$A" released cancel "$R10" "$(eid)" 0; to_mysql
R11=$(hold "$A" 11 o-11 2000); to_mysql
op "$A" confirmed confirm "$R11" "$(eid)" 0; to_mysql
worker_stop
NOFINISH=1 op "$A" reversed reverse "$R11" "$(eid)" 0 r-3 2000; to_kafka
confirmed11=$(rcli HGET "$(k "$A" use)" confirmed)
assert_contains "$(rcli HGET "$(k "$A" use:recs)" "$R11")" '"p":1' "the give-back reversal waits for its finish"
assert_eq "$R10" "$(rcli ZRANGEBYSCORE "$(k "$A" use:holds)" "($(date +%s%3N)" +inf | grep "$R10")" "the unfinished cancel still holds its budget"
rcli HSET "$(k "$A" meta)" fence stale >/dev/null
op "$A" fenced get "$R1" 0
out=$("$CTL" fence --wait-ms 0 --json) || fail "fence guard pass failed: $out"
assert_eq 2 "$(json use_finished <<<"$out")" "the guard finished the two lost finishes"
assert_eq "" "$(rcli ZSCORE "$(k "$A" use:holds)" "$R10")" "the guard freed the cancelled hold (its event in MySQL)"
assert_contains "$(rcli HGET "$(k "$A" use:recs)" "$R10")" '"p":0' "R10's finish is done"
assert_contains "$(rcli HGET "$(k "$A" use:recs)" "$R11")" '"p":0,"f":1' "R11's use is given back (its event in the topic)"
assert_eq $((confirmed11 - 1)) "$(rcli HGET "$(k "$A" use)" confirmed)" "the given-back use left the confirmed count"
out=$("$CTL" fence --wait-ms 0 --json) || fail "second fence guard pass failed: $out"
assert_eq "0 0" "$(json lifted <<<"$out") $(json use_finished <<<"$out")" "nothing left for a second pass"
assert_eq "$(redis_replid)" "$(rcli HGET "$(k "$A" meta)" fence)" "the guard lifted the fence"
assert_eq "$rec8" "$(rcli HGET "$(k "$A" use:recs)" "$R8")" "the guard restored the lost record"
assert_eq "$score8 $R8" "$(rcli ZSCORE "$(k "$A" use:holds)" "$R8") $(rcli HGET "$(k "$A" use:orders)" o-8)" "and its hold and order"
op "$A" found get "$R8" 0
worker 3
wait_row "$R11" 3
out=$("$CTL" reconcile "$A" --json) || fail "reconcile after the guard: $out"
assert_eq "true []" "$(json use_consistent <<<"$out") $(json use_finish_due <<<"$out")" "reconcile after the guard: nothing left to do"

# The worker's ledger of it all, settled: confirms +500 each (R1 R2 R3 R4
# R6 R11: 50% of 1000), R2's partial reversal -166, R3's and R11's full
# reversals -500 each.
out=$("$CTL" settle --vendor "$V2" --until now --json) || fail "settle $V2: $out"
assert_eq "1834 9" "$(json total <<<"$out") $(json line_count <<<"$out")" "the worker's ledger lines, settled"
assert_eq "1834 0" "$("$CTL" vendor show "$V2" --json | json balance) $("$CTL" vendor show "$V2" --json | json open_total)" "vendor $V2 balance"
log "ok"
