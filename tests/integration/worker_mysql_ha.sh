#!/usr/bin/env bash
# worker_mysql_ha.sh -- COUPONQ_MYSQL lists two servers and the worker writes
# only to the writable one. B (read_only=ON) is listed first, A (writable)
# second: every row lands on A, none on B, and the log names B's skip. Then
# a promotion is simulated (A read_only=ON, B read_only=OFF): the worker's
# next commit finds A read-only, rolls back, reconnects to B and retries, so
# the new events land on B. Last, B dies (stopped) and A is promoted back:
# the worker's next batch loses its connection, reconnects past the dead B
# to A and writes there. Counted by event id over both servers, no event is
# lost or written twice.
#
# The worker logs in as root, which MariaDB lets write to a read-only server
# (SUPER): only the worker's own read_only checks keep it off, which is what
# this tests. Both servers are PRIVATE (own ports and data dirs under
# $TEST_TMP): flipping the shared stack's server to read-only would break
# the tests running next to this one. Kafka and Redis are the stack's.
source "$(dirname "$0")/../lib.sh"

WORKER=$COUPONQ_BUILD/couponq-worker
GEN=$COUPONQ_SRC/bench/drain/gen_events.py
N1=400
N2=400
N3=400
PA=$(free_port)
PB=$(free_port)
while [[ $PB == "$PA" ]]; do PB=$(free_port); done
URL_A="mysql://root@127.0.0.1:$PA/couponq"
URL_B="mysql://root@127.0.0.1:$PB/couponq"
pstack() { # pstack A|B up|down
  local port=PA url=URL_A
  if [[ $1 == B ]]; then port=PB url=URL_B; fi
  COUPONQ_STACK_DIR=$TEST_TMP/stack$1 COUPONQ_MYSQL=${!url} \
    "$COUPONQ_SRC/scripts/stack" "$2" mysql >>"$TEST_TMP/stack$1.log" 2>&1
}
sqlA() { mariadb --no-defaults -h127.0.0.1 -P"$PA" -uroot couponq -N -B -e "$1"; }
sqlB() { mariadb --no-defaults -h127.0.0.1 -P"$PB" -uroot couponq -N -B -e "$1"; }
cleanup_private() {
  cleanup_lib_workers
  pstack A down || true
  pstack B down || true
  cleanup_lib
}
cleanup_lib_workers() { # the worker first: it must not see the servers stop
  local p
  for p in "${BG_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
}
trap cleanup_private EXIT

log "starting private MariaDBs A (port $PA) and B (port $PB)"
pstack A up || fail "mysql A did not start: $(tail -5 "$TEST_TMP/stackA.log")"
pstack B up || fail "mysql B did not start: $(tail -5 "$TEST_TMP/stackB.log")"
C=$(new_coupon_id)
for s in sqlA sqlB; do # the schema is there (stack up); the coupon on both
  $s "INSERT INTO coupons (id, title, total_quantity, date_issue_start, date_issue_end)
      VALUES ($C, 'mysql ha', NULL, NOW() - INTERVAL 1 MINUTE, NOW() + INTERVAL 1 HOUR)"
done
sqlB "SET GLOBAL read_only = ON"
assert_eq 1 "$(sqlB 'SELECT @@global.read_only')" "B is read-only"

T=$(new_topic worker_mysql_ha)
GROUP=couponq-test-mysql-ha-$(date +%s%N)
start_bg worker "$WORKER" --topic "$T" --group "$GROUP" \
  --mysql "mysql://root@127.0.0.1:$PB,127.0.0.1:$PA/couponq" \
  --batch-size 50 --batch-ms 50 --retry-max-ms 500 --metrics-listen off
WPID=$BG_PID

rowsA() { sqlA "SELECT COUNT(*) FROM coupon_issues WHERE coupon_id=$C"; }
rowsB() { sqlB "SELECT COUNT(*) FROM coupon_issues WHERE coupon_id=$C"; }
wait_rows() { # wait_rows FN N
  local i
  for ((i = 0; i < 600; i++)); do
    [[ $($1) == "$2" ]] && return 0
    kill -0 "$WPID" 2>/dev/null || fail "the worker died: $(tail -5 "$TEST_TMP/worker.log")"
    sleep 0.1
  done
  fail "$1: expected $2 rows, got $($1)"
}
produce() { # produce FIRST_USER COUNT FILE
  python3 "$GEN" "$C" "$1" "$2" "$1" >"$3"
  kcat -P -b "$COUPONQ_KAFKA" -t "$T" -K: <"$3"
}

log "phase 1: B (listed first) read-only, A writable; $N1 events"
produce 1 "$N1" "$TEST_TMP/events1"
wait_rows rowsA "$N1"
sleep 2 # offsets committed; a wrong write to B would show now
assert_eq "$N1" "$(rowsA)" "rows on A"
assert_eq 0 "$(rowsB)" "rows on B (read-only)"
skip=$(grep 'skipping mysql server' "$TEST_TMP/worker.log" | head -1 || true)
assert_contains "$skip" "port=$PB" "the logged skip of B"
assert_contains "$skip" "server is read-only" "the logged reason"
# The fence guard through the same list, after a "failover" of this
# coupon's Redis dataset: it must read the rows from A. Before the fix in
# db_select, the skipped server's reason stayed in the handle and the
# guard's first multi-row read failed with "server is read-only".
rcli HSET "$(ckey "$C" meta)" total -1 start_ms 0 end_ms 99999999999999 state open \
  fence 0000000000000000000000000000000000000003 >/dev/null
out=$("$COUPONQ_BUILD/couponqctl" fence --wait-ms 0 --json \
  --mysql "mysql://root@127.0.0.1:$PB,127.0.0.1:$PA/couponq" --topic "$T" --group "$GROUP" 2>&1) ||
  fail "couponqctl fence through the list failed: $out"
assert_contains "$out" '"failed":0' "the guard's repairs"
assert_eq "$(redis_replid)" "$(rcli HGET "$(ckey "$C" meta)" fence)" "the guard lifted the fence"
assert_eq "$N1" "$(rcli SCARD "$(ckey "$C" issued)")" "the guard re-added the $N1 row users from A"
rcli DEL "$(ckey "$C" meta)" "$(ckey "$C" issued)" "$(ckey "$C" persisted)" >/dev/null

log "phase 2: promotion: A read_only=ON, B read_only=OFF; $N2 events"
sqlA "SET GLOBAL read_only = ON"
sqlB "SET GLOBAL read_only = OFF"
produce $((N1 + 1)) "$N2" "$TEST_TMP/events2"
wait_rows rowsB "$N2"
sleep 2
assert_eq "$N1" "$(rowsA)" "rows on A after its demotion"
assert_eq "$N2" "$(rowsB)" "rows on B after its promotion"
assert_eq "$N1" "$(sqlA "SELECT issued_quantity FROM coupons WHERE id=$C")" "issued_quantity on A"
assert_eq "$N2" "$(sqlB "SELECT issued_quantity FROM coupons WHERE id=$C")" "issued_quantity on B"

grep -q "mysql connected\" host=127.0.0.1 port=$PB" "$TEST_TMP/worker.log" ||
  fail "the worker never reconnected to B: $(tail -5 "$TEST_TMP/worker.log")"
refused=$(grep -c "127.0.0.1:$PA: server is read-only" "$TEST_TMP/worker.log" || true)
((refused >= 1)) || fail "no commit was refused on the demoted A"

log "phase 3: B dies, A promoted again; $N3 events"
pstack B down
sqlA "SET GLOBAL read_only = OFF"
produce $((N1 + N2 + 1)) "$N3" "$TEST_TMP/events3"
wait_rows rowsA $((N1 + N3))
sleep 2
assert_eq $((N1 + N3)) "$(sqlA "SELECT issued_quantity FROM coupons WHERE id=$C")" "issued_quantity on A"
kill -TERM "$WPID"
rc=0
wait "$WPID" || rc=$?
assert_eq 0 "$rc" "exit status of the worker"
pstack B up || fail "mysql B did not restart: $(tail -5 "$TEST_TMP/stackB.log")"
assert_eq "$N2" "$(rowsB)" "rows on B after its death"

# Every produced event exactly once over both servers, by event id.
cat "$TEST_TMP"/events[123] | grep -o '"event_id":"[0-9A-Z]*"' |
  cut -d'"' -f4 | sort >"$TEST_TMP/produced"
{
  sqlA "SELECT event_id FROM coupon_issues WHERE coupon_id=$C"
  sqlB "SELECT event_id FROM coupon_issues WHERE coupon_id=$C"
} | sort >"$TEST_TMP/stored"
assert_eq $((N1 + N2 + N3)) "$(sort -u "$TEST_TMP/produced" | wc -l)" "distinct events produced"
assert_eq 0 "$(uniq -d "$TEST_TMP/stored" | wc -l)" "events stored twice"
assert_eq 0 "$(comm -3 "$TEST_TMP/produced" "$TEST_TMP/stored" | wc -l)" "events lost or unknown"
assert_eq 0 "$(topic_count "$T.dlq")" "DLQ entries"
log "refused_commits_on_A=$refused"
log PASS
