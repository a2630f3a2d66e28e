#!/usr/bin/env bash
# The replicated stack (scripts/stack --ha) on a PRIVATE base and directory:
# Redis primary + 2 replicas under 3 agreeing sentinels, a sentinel failover
# after kill -9 of the primary and the old primary back as a replica; Kafka
# topics with 6 partitions x 3 replicas and min.insync.replicas=2; MariaDB
# GTID semi-sync replication to a read-only replica; and `down` leaving none
# of our processes.
#
# Does not source tests/lib.sh: that one requires the single stack to be up.
# Sourced (`source tests/integration/stack_ha.sh`), it only defines the ha_*
# helpers below for fault scenarios; everything they do goes through
# scripts/stack commands (env, pid, primary, up NODE, down NODE).
set -euo pipefail

COUPONQ_SRC=${COUPONQ_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
STACK=$COUPONQ_SRC/scripts/stack
export COUPONQ_HA_BASE=${COUPONQ_HA_TEST_BASE:-27000}
export COUPONQ_STACK_DIR=${COUPONQ_HA_TEST_DIR:-/tmp/couponq-ha-test}
export COUPONQ_TOPIC=couponq.issue-requests
TEST_NAME=stack_ha

log() { echo "[$TEST_NAME] $*"; }
fail() {
  echo "[$TEST_NAME] FAIL: $*" >&2
  exit 1
}
assert_eq() { [[ "$1" == "$2" ]] || fail "$3: expected '$1', got '$2'"; }

ha() { "$STACK" --ha "$@"; }
# ha_env NAME -> a value of `stack --ha env`
ha_env() { ha env | sed -n "s/^$1=//p"; }
# ha_rcli NODE ARGS... -- redis-cli against one Redis node or sentinel
ha_rcli() {
  local n=$1 i
  shift
  i=${n//[a-z]/}
  case $n in
  redis*) redis-cli -h 127.0.0.1 -p $((COUPONQ_HA_BASE + i)) "$@" ;;
  sentinel*) redis-cli -h 127.0.0.1 -p $((COUPONQ_HA_BASE + 10 + i)) "$@" ;;
  esac
}
ha_rinfo() { ha_rcli "$1" info replication | tr -d '\r' | sed -n "s/^$2://p"; }
# ha_sql NODE SQL -> tab-separated rows, no header
ha_sql() {
  mariadb --no-defaults -h127.0.0.1 -P$((COUPONQ_HA_BASE + 305 + ${1#mysql})) -uroot couponq -N -B -e "$2"
}
# ha_wait SECONDS WHAT CMD... -- polls CMD every 0.2 s; fails after SECONDS.
ha_wait() {
  local s=$1 what=$2 i
  shift 2
  for ((i = 0; i < s * 5; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  fail "$what: not within ${s}s"
}
# ha_redis_moved FROM -> true once the sentinels name a primary other than FROM
ha_redis_moved() {
  local m
  m=$(ha primary redis 2>/dev/null) && [[ -n $m && $m != "$1" ]]
}

# Every pid of the HA stack, from its pid files.
ha_pids() { cat "$COUPONQ_STACK_DIR"/*/*.pid 2>/dev/null | xargs; }

ha_test_main() {
  local pids t0 ms old new n s m id replicas meta desc out nmig
  # A previous run that died leaves its servers: stop them and start clean.
  ha reset >/dev/null 2>&1 || true
  trap 'ha down >/dev/null 2>&1 || true; rm -rf "$COUPONQ_STACK_DIR"' EXIT

  t0=$(date +%s%N)
  out=$(ha up 2>&1) || fail "stack --ha up: $out"
  ms=$((($(date +%s%N) - t0) / 1000000))
  log "stack --ha up in ${ms} ms"
  ha status >/dev/null || fail "status after up: $(ha status 2>&1 | grep -v ': up' | xargs)"
  pids=$(ha_pids)
  # Idempotent: a second up starts nothing.
  ha up >/dev/null 2>&1 || fail "second up"
  assert_eq "$pids" "$(ha_pids)" "pids after a second up"
  assert_eq "redis-sentinel://127.0.0.1:$((COUPONQ_HA_BASE + 11)),127.0.0.1:$((COUPONQ_HA_BASE + 12)),127.0.0.1:$((COUPONQ_HA_BASE + 13))/couponq" \
    "$(ha_env COUPONQ_REDIS)" "env COUPONQ_REDIS"

  # ---- Redis + Sentinel
  assert_eq master "$(ha_rinfo redis1 role)" "redis1 role"
  assert_eq 2 "$(ha_rinfo redis1 connected_slaves)" "redis1 replicas"
  for n in redis1 redis2 redis3; do
    assert_eq "min-replicas-to-write 1" "$(ha_rcli "$n" config get min-replicas-to-write | xargs)" "$n"
    assert_eq "min-replicas-max-lag 5" "$(ha_rcli "$n" config get min-replicas-max-lag | xargs)" "$n"
  done
  old=127.0.0.1:$((COUPONQ_HA_BASE + 1))
  for s in sentinel1 sentinel2 sentinel3; do
    assert_eq "127.0.0.1 $((COUPONQ_HA_BASE + 1))" \
      "$(ha_rcli "$s" sentinel get-master-addr-by-name couponq | xargs)" "$s master"
  done
  assert_eq "$old" "$(ha primary redis)" "stack primary redis"
  ha_rcli redis1 set couponq:ha:test before >/dev/null
  ha_wait 10 "key replicated to redis2" bash -c \
    "[[ \$(redis-cli -p $((COUPONQ_HA_BASE + 2)) get couponq:ha:test) == before ]]"

  kill -9 "$(ha pid redis1)"
  t0=$(date +%s%N)
  ha_wait 15 "sentinel failover after kill -9 of redis1" ha_redis_moved "$old"
  new=$(ha primary redis)
  log "failover $old -> $new in $((($(date +%s%N) - t0) / 1000000)) ms"
  for s in sentinel1 sentinel2 sentinel3; do
    ha_wait 10 "$s agrees on $new" bash -c \
      "[[ \$(redis-cli -p $((COUPONQ_HA_BASE + 10 + ${s#sentinel})) sentinel get-master-addr-by-name couponq | xargs) == '${new/:/ }' ]]"
  done
  ha up redis1 >/dev/null || fail "stack --ha up redis1"
  assert_eq slave "$(ha_rinfo redis1 role)" "restarted redis1 role"
  assert_eq "${new#*:}" "$(ha_rinfo redis1 master_port)" "restarted redis1 follows"
  ha_wait 10 "redis1 link up" bash -c "redis-cli -p $((COUPONQ_HA_BASE + 1)) info replication | grep -q 'master_link_status:up'"
  assert_eq before "$(ha_rcli redis1 get couponq:ha:test)" "data on the restarted redis1"

  # ---- Kafka
  meta=$(kcat -b "$(ha_env COUPONQ_KAFKA)" -L 2>&1)
  assert_eq 3 "$(grep -c 'broker [123] at' <<<"$(sed -n '/brokers:/,/topics:/p' <<<"$meta")")" "kafka brokers"
  for t in "$COUPONQ_TOPIC" "$COUPONQ_TOPIC.dlq"; do
    grep -q "topic \"$t\" with 6 partitions" <<<"$meta" || fail "topic $t: not 6 partitions: $meta"
    desc=$(java -Xmx128m -Dlog4j.configuration="file:$COUPONQ_STACK_DIR/kafka/tools-log4j.properties" \
      -cp "$COUPONQ_STACK_DIR/kafka/libs/*" org.apache.kafka.tools.TopicCommand \
      --bootstrap-server "$(ha_env COUPONQ_KAFKA)" --describe --topic "$t" 2>&1)
    grep -q 'ReplicationFactor: 3' <<<"$desc" || fail "topic $t replication factor: $desc"
    grep -q 'min.insync.replicas=2' <<<"$desc" || fail "topic $t min.insync.replicas: $desc"
    replicas=$(grep -cE 'Replicas: [1-3],[1-3],[1-3]\s+Isr: [1-3],[1-3],[1-3](\s|$)' <<<"$desc" || true)
    assert_eq 6 "$replicas" "topic $t partitions with 3 replicas all in sync"
  done
  echo "k:hello" | kcat -b "$(ha_env COUPONQ_KAFKA)" -P -t "$COUPONQ_TOPIC" -K: -X acks=all 2>/dev/null
  assert_eq hello "$(kcat -b "$(ha_env COUPONQ_KAFKA)" -C -t "$COUPONQ_TOPIC" -e -q -c 1 2>/dev/null)" "kafka round trip"

  # ---- MariaDB
  assert_eq 127.0.0.1:$((COUPONQ_HA_BASE + 306)) "$(ha primary mysql)" "stack primary mysql"
  assert_eq 0 "$(ha_sql mysql1 'SELECT @@read_only')" "mysql1 read_only"
  assert_eq 1 "$(ha_sql mysql2 'SELECT @@read_only')" "mysql2 read_only"
  assert_eq "Rpl_semi_sync_master_status	ON" \
    "$(ha_sql mysql1 "SHOW STATUS LIKE 'Rpl_semi_sync_master_status'")" "mysql1 semi-sync"
  assert_eq "Rpl_semi_sync_slave_status	ON" \
    "$(ha_sql mysql2 "SHOW STATUS LIKE 'Rpl_semi_sync_slave_status'")" "mysql2 semi-sync"
  id=$(($(date +%s%N) / 1000 % 900000000000 + 1000000))
  ha_sql mysql1 "INSERT INTO coupons (id, title, total_quantity, date_issue_start, date_issue_end, state)
                 VALUES ($id, 'test $TEST_NAME', 1, NOW(), NOW() + INTERVAL 1 HOUR, 'open')"
  ha_wait 10 "row $id on mysql2" bash -c \
    "[[ \$(mariadb --no-defaults -h127.0.0.1 -P$((COUPONQ_HA_BASE + 307)) -uroot couponq -N -B \
       -e 'SELECT COUNT(*) FROM coupons WHERE id=$id') == 1 ]]"
  nmig=$(find "$COUPONQ_SRC/schemas/mysql" -name '*.sql' | wc -l)
  for m in mysql1 mysql2; do
    assert_eq "$nmig" "$(ha_sql "$m" "SELECT COUNT(*) FROM schema_migrations")" "$m migrations"
  done

  # ---- down
  pids=$(ha_pids)
  ha down >/dev/null || fail "stack --ha down"
  for n in $pids; do
    if kill -0 "$n" 2>/dev/null && [[ $(awk '{print $3}' "/proc/$n/stat" 2>/dev/null) != Z ]]; then
      fail "pid $n ($(ps -o comm= -p "$n")) still running after down"
    fi
  done
  [[ -z $(ha_pids) ]] || fail "pid files left after down: $(ha_pids)"
  log "stack --ha ok"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then ha_test_main "$@"; fi
