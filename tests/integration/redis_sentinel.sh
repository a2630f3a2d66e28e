# redis_sentinel.sh -- couponq through Redis Sentinel, against its own servers:
# a primary, one replica and three sentinels on free ports under $TEST_TMP
# (requirepass set: the URL's password is the data one, sentinels take none),
# down-after-milliseconds 1000, failover-timeout 3000. Kafka is the stack's.
#  - couponq-api with COUPONQ_REDIS=redis-sentinel://... (the first sentinel
#    listed is dead: it is skipped) is healthy and admits (202);
#  - couponqctl status --live reads the same Redis through the sentinels;
#  - kill -9 the primary: within 20 s the api admits a new user on the new
#    primary (SISMEMBER there), and logged the switch;
#  - the old primary comes back as a replica, SENTINEL FAILOVER moves the
#    primary back without killing anything (the api's connection is to a
#    demoted server now): the api follows again;
#  - the sentinel the api subscribed to is frozen (SIGSTOP: no +switch-master
#    arrives) and the primary is moved again: the once-a-second check that
#    the sentinels still name the connected address makes the api follow;
#  - an api on redis:// pointed at a replica gets READONLY and resets its
#    connection (so a demoted endpoint is left).
#  - an api with --redis-min-replicas 1, the replica paused (SIGSTOP): 503
#    "not replicated", settled on the primary only; the orphan a partition
#    leaves (h07: the admission and its call mark reached the replica, the
#    settle did not) is recreated on the replica through the primary, and
#    SENTINEL FAILOVER promotes it: the api settles that call again on the
#    new primary (the user and the call mark are gone) and counts it.
source "$(dirname "$0")/../lib.sh"

PW=sentinel-test-pw
MASTER="couponq-test-$$"
P1=$(free_port)
P2=$(free_port)
S=()
for i in 1 2 3; do S+=("$(free_port)"); done
DEAD=$(free_port) # nothing listens there
CTL=$COUPONQ_BUILD/couponqctl

# Our servers are killed on exit (before lib.sh's own cleanup).
SRV_PIDS=()
kill_servers() {
  local p
  for p in "${SRV_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  cleanup_lib
}
trap kill_servers EXIT

r() { redis-cli -h 127.0.0.1 -p "$1" -a "$PW" --no-auth-warning "${@:2}"; }
replid() { r "$1" INFO replication | sed -n 's/^master_replid:\([0-9a-f]*\).*/\1/p'; }
role() { r "$1" ROLE 2>/dev/null | sed -n 1p; }

# start_redis PORT [replicaof-port]
start_redis() {
  local dir=$TEST_TMP/redis-$1
  mkdir -p "$dir"
  start_bg "redis-$1" redis-server --port "$1" --bind 127.0.0.1 --dir "$dir" \
    --save '' --appendonly no --requirepass "$PW" --masterauth "$PW" \
    ${2:+--replicaof 127.0.0.1 "$2"}
  SRV_PIDS+=("$BG_PID")
}

start_sentinel() {
  local conf=$TEST_TMP/sentinel-$1.conf
  cat >"$conf" <<EOF
port $1
bind 127.0.0.1
dir $TEST_TMP
sentinel monitor $MASTER 127.0.0.1 $P1 2
sentinel auth-pass $MASTER $PW
sentinel down-after-milliseconds $MASTER 1000
sentinel failover-timeout $MASTER 3000
sentinel parallel-syncs $MASTER 1
EOF
  start_bg "sentinel-$1" redis-server "$conf" --sentinel
  SRV_PIDS+=("$BG_PID")
}

start_redis "$P1"
P1_PID=$BG_PID
start_redis "$P2" "$P1"
S_PIDS=()
for s in "${S[@]}"; do
  start_sentinel "$s"
  S_PIDS+=("$BG_PID")
done

log "waiting for the replica and the sentinels to see each other"
for ((i = 0; i < 300; i++)); do
  ok=1
  [[ $(r "$P2" INFO replication) == *master_link_status:up* ]] || ok=0
  for s in "${S[@]}"; do
    n=$(redis-cli -p "$s" SENTINEL sentinels "$MASTER" 2>/dev/null | grep -c '^name$' || true)
    k=$(redis-cli -p "$s" SENTINEL replicas "$MASTER" 2>/dev/null | grep -c '^name$' || true)
    ((n == 2 && k == 1)) || ok=0
  done
  ((ok)) && break
  sleep 0.1
done
((ok)) || fail "sentinels/replica not ready after 30 s"

SURL="redis-sentinel://:$PW@127.0.0.1:$DEAD,127.0.0.1:${S[0]},127.0.0.1:${S[1]},127.0.0.1:${S[2]}/$MASTER"

C=$(new_coupon_id)
now=$(date +%s%3N)
sql "INSERT INTO coupons (id, title, total_quantity, date_issue_start, date_issue_end, state)
     VALUES ($C, 'test $TEST_NAME', NULL, FROM_UNIXTIME($((now - 60000))/1000), FROM_UNIXTIME($((now + 3600000))/1000), 'open')"
r "$P1" HSET "$(ckey "$C" meta)" total -1 start_ms $((now - 60000)) end_ms $((now + 3600000)) \
  state open fence "$(replid "$P1")" >/dev/null
assert_eq 1 "$(r "$P1" WAIT 1 2000)" "meta replicated"

TOPIC=$(new_topic redis_sentinel)
api_up api --topic "$TOPIC" --redis "$SURL" --redis-timeout-ms 500 --timeout-ms 3000
PORT=$API_PORT
assert_contains "$(issue "$PORT" "$C" 1)" "202 " "admitted through the sentinels"
assert_eq 1 "$(r "$P1" SISMEMBER "$(ckey "$C" issued)" 1)" "user 1 on the primary"
wait_log api 'msg="sentinel subscribed"' # subscribed to +switch-master

log "couponqctl status --live through the sentinels"
out=$(COUPONQ_REDIS=$SURL "$CTL" status "$C" --live 2>&1) || fail "couponqctl status --live: $out"
assert_contains "$out" "admitted" "status --live output"
out=$(COUPONQ_REDIS="redis-sentinel://:$PW@127.0.0.1:$DEAD/$MASTER" "$CTL" status "$C" --live 2>&1) &&
  fail "status --live with only a dead sentinel succeeded: $out"
assert_contains "$out" "sentinel 127.0.0.1:$DEAD" "why the connect failed"

# follow NEWPORT OLDPORT FIRSTUSER WHAT -- polls (<= 20 s) until NEWPORT is
# the master and OLDPORT is not (dead or demoted: during a graceful failover
# both are masters for a moment), sets the fence there (what the automatic
# repair does), and a new user gets 202 from it. Prints the user admitted.
follow() {
  local np=$1 op=$2 u=$3 i res=
  for ((i = 0; i < 200; i++)); do
    if [[ $(role "$np") == master && $(role "$op") != master ]]; then
      r "$np" HSET "$(ckey "$C" meta)" fence "$(replid "$np")" >/dev/null
      res=$(issue "$PORT" "$C" "$u")
      if [[ $res == "202 "* ]]; then
        echo "$u"
        return 0
      fi
      u=$((u + 1))
    fi
    sleep 0.1
  done
  fail "$4: the api did not admit on 127.0.0.1:$np within 20 s (last: $res)"
}

log "kill -9 the primary: the api follows the sentinels to the replica"
t0=$(date +%s%3N)
kill -KILL "$P1_PID"
u=$(follow "$P2" "$P1" 100 "after kill -9")
log "admitted user $u on the new primary after $(($(date +%s%3N) - t0)) ms"
assert_eq 1 "$(r "$P2" SISMEMBER "$(ckey "$C" issued)" "$u")" "user $u on the new primary"
assert_contains "$(cat "$TEST_TMP/api.log")" 'msg="redis primary switched"' "switch logged"
assert_contains "$(cat "$TEST_TMP/api.log")" "via=switch-master" "+switch-master seen"
out=$(COUPONQ_REDIS=$SURL "$CTL" status "$C" --live 2>&1) || fail "status --live after failover: $out"
assert_contains "$out" "admitted" "status --live after failover"

log "the old primary returns as a replica; SENTINEL FAILOVER demotes the new one"
start_redis "$P1" "$P2"
for ((i = 0; i < 300; i++)); do
  [[ $(r "$P1" INFO replication 2>/dev/null) == *master_link_status:up* ]] && break
  sleep 0.1
done
[[ $(r "$P1" INFO replication) == *master_link_status:up* ]] || fail "old primary did not resync"
for ((i = 0; i < 100; i++)); do # the sentinels must see it as a good replica
  redis-cli -p "${S[0]}" SENTINEL FAILOVER "$MASTER" 2>&1 | grep -q '^OK' && break
  sleep 0.2
done
u=$(follow "$P1" "$P2" 200 "after SENTINEL FAILOVER")
assert_eq 1 "$(r "$P1" SISMEMBER "$(ckey "$C" issued)" "$u")" "user $u on the primary again"
assert_eq slave "$(role "$P2")" "demoted server"

log "the subscribed sentinel frozen: the 1 s check follows the next failover"
# The api skipped the dead sentinel and subscribed on S[0].
assert_contains "$(cat "$TEST_TMP/api.log")" "msg=\"sentinel subscribed\" sentinel=127.0.0.1:${S[0]} " "subscribed on the first live sentinel"
kill -STOP "${S_PIDS[0]}"
for ((i = 0; i < 100; i++)); do
  redis-cli -p "${S[1]}" SENTINEL FAILOVER "$MASTER" 2>&1 | grep -q '^OK' && break
  sleep 0.2
done
u=$(follow "$P2" "$P1" 300 "after a failover the subscription missed")
assert_eq 1 "$(r "$P2" SISMEMBER "$(ckey "$C" issued)" "$u")" "user $u on the primary P2 again"
kill -CONT "${S_PIDS[0]}"

log "redis:// to a replica: READONLY resets the connection"
start_api api_ro --topic "$TOPIC" --redis "redis://:$PW@127.0.0.1:$P1" --redis-timeout-ms 500 --timeout-ms 3000
wait_healthy "$API_PORT"
res=$(issue "$API_PORT" "$C" 400)
assert_eq 0 "$(r "$P1" SISMEMBER "$(ckey "$C" issued)" 400)" "nothing written on the replica"
for ((i = 0; i < 50; i++)); do
  grep -q 'msg="redis connection reset" why="READONLY' "$TEST_TMP/api_ro.log" && break
  sleep 0.1
done
assert_contains "$(cat "$TEST_TMP/api_ro.log")" 'msg="redis connection reset" why="READONLY' "READONLY reset ($res)"
log "a settle on the primary only is sent again to the new primary"
api_up api_mr --topic "$TOPIC" --redis "$SURL" --redis-min-replicas 1 \
  --redis-replica-timeout-ms 150 --redis-timeout-ms 1000 --timeout-ms 3000
MR=$API_PORT
MR_ADMIN=$API_ADMIN_PORT
wait_for '[[ $(r "$P1" INFO replication) == *master_link_status:up* && $(r "$P2" WAIT 1 100) == 1 ]]' 20 ||
  fail "P1 not replicating from P2"
assert_contains "$(issue "$MR" "$C" 500)" "202 " "replicated admission on P2"
pid1=$(r "$P1" INFO server | tr -d '\r' | sed -n 's/^process_id://p')
kill -STOP "$pid1"
assert_contains "$(issue "$MR" "$C" 501)" "not replicated" "503 with the replica paused"
# the settle answered (and its WAIT, if any) before the replica resumes
wait_eq 'metric_value "$MR_ADMIN" couponq_api_admissions_settled_total' 1 "settled on the primary"
assert_eq 0 "$(r "$P2" SISMEMBER "$(ckey "$C" issued)" 501)" "the 503'd user gone from the primary"
call=$(sed -n 's/.*admission not on enough replicas.* call=\([0-9A-Z]*\) .*/\1/p' "$TEST_TMP/api_mr.log")
[[ $call =~ ^[0-9A-Z]{26}$ ]] || fail "the 503's call id not logged: '$call'"
kill -CONT "$pid1"
wait_for '[[ $(r "$P1" INFO replication) == *master_link_status:up* ]]' 10 || fail "P1 did not resume"
# What the partition left on the replica that was promoted in h07.
r "$P2" SADD "$(ckey "$C" issued)" 501 >/dev/null
r "$P2" HSET "$(ckey "$C" calls)" "$call" a >/dev/null
assert_eq 1 "$(r "$P2" WAIT 1 2000)" "the orphan replicated"
assert_eq 1 "$(r "$P1" SISMEMBER "$(ckey "$C" issued)" 501)" "the orphan on the replica"
for ((i = 0; i < 100; i++)); do
  redis-cli -p "${S[2]}" SENTINEL FAILOVER "$MASTER" 2>&1 | grep -q '^OK' && break
  sleep 0.2
done
wait_for '[[ $(role "$P1") == master && $(role "$P2") != master ]]' 20 || fail "P1 not promoted"
wait_eq 'r "$P1" SISMEMBER "$(ckey "$C" issued)" 501' 0 "the orphan re-settled on the new primary" 20
assert_eq 0 "$(r "$P1" HEXISTS "$(ckey "$C" calls)" "$call")" "its call mark gone"
assert_eq 1 "$(r "$P1" SISMEMBER "$(ckey "$C" issued)" 500)" "the 202'd user kept"
m=$(metrics "$MR_ADMIN")
assert_metric "$m" couponq_api_admissions_resettle_removed_total 1 "one user removed by a re-settle"
n=$(awk '$1 == "couponq_api_admissions_resettled_total" { print $2 }' <<<"$m")
((${n:-0} >= 1)) || fail "re-settles not counted: '$n'"
assert_contains "$(cat "$TEST_TMP/api_mr.log")" 'msg="new redis connection: settling again' "logged"
log "ok"
