# tests/faults/lib_kafka_ha.sh -- sourced after lib.sh by the Kafka HA
# scenarios (h08-h11): the partitions of a topic as the brokers report them
# (asked of chosen brokers only: a SIGSTOPped one in the bootstrap list can
# stall the answer), the active KRaft controller, and a supervisor for
# couponq-api (restart it whenever it exits, as h04 does once).

# ha_kport NODE -> the client port of broker kafkaN.
ha_kport() { echo $((COUPONQ_HA_BASE + 90 + ${1#kafka})); }
# ha_others NODE -> the other two brokers.
ha_others() { local n; for n in kafka1 kafka2 kafka3; do [[ $n == "$1" ]] || echo "$n"; done; }
# ha_partitions TOPIC [NODE...] -> "partition leader replicas isrs" per
# partition of TOPIC (ids comma separated), from the given brokers (default
# all three).
ha_partitions() {
  local t=$1 n bs=()
  shift
  (($#)) || set -- kafka1 kafka2 kafka3
  for n in "$@"; do bs+=("127.0.0.1:$(ha_kport "$n")"); done
  kcat -b "$(IFS=,; echo "${bs[*]}")" -L -t "$t" -m 5 2>/dev/null |
    sed -n 's/^ *partition \([0-9]*\), leader \(-\{0,1\}[0-9]*\), replicas: \([0-9,]*\), isrs: \([0-9,]*\).*/\1 \2 \3 \4/p'
}
# ha_isr_full TOPIC [NODE...] -- every partition of TOPIC has all its
# replicas in sync (and a leader).
ha_isr_full() {
  ha_partitions "$@" | awk '{ n++; if ($2 < 0 || split($3, r, ",") != split($4, i, ",")) bad++ }
    END { exit !(n > 0 && bad == 0) }'
}
# ha_isr_of TOPIC PARTITION [NODE...] -> the in-sync replicas of one partition.
ha_isr_of() { local t=$1 p=$2; shift 2; ha_partitions "$t" "$@" | awk -v p="$p" '$1 == p { print $4 }'; }
# ha_led_by TOPIC NODE [NODE...] -> how many partitions of TOPIC NODE leads
# (asked of the brokers after it, default all).
ha_led_by() {
  local t=$1 id=${2#kafka}
  shift 2
  ha_partitions "$t" "$@" | awk -v id="$id" '$2 == id { n++ } END { print n + 0 }'
}
# ha_controller [BOOTSTRAP] -> kafkaN, the active KRaft controller (the
# metadata quorum's leader, LeaderId of MetadataQuorumCommand), bounded to
# 40 s (a JVM start on a busy host takes several seconds).
ha_controller() {
  local id
  id=$(timeout 40 java -Xmx128m -XX:TieredStopAtLevel=1 \
    -Dlog4j.configuration="file:$COUPONQ_STACK_DIR/kafka/tools-log4j.properties" \
    -cp "$COUPONQ_STACK_DIR/kafka/libs/*" org.apache.kafka.tools.MetadataQuorumCommand \
    --bootstrap-server "${1:-$COUPONQ_KAFKA}" describe --status 2>>"$WORK/tools.err" |
    sed -n 's/^LeaderId: *\([0-9][0-9]*\).*/\1/p')
  [[ -n $id ]] && echo "kafka$id"
}

# api_revive -- restart couponq-api if it has exited (librdkafka 2.0.2's
# idempotent producer can go fatal when a broker dies, upstream #4438: the
# api drains and exits 1 for its supervisor), counting API_RESTARTS.
API_RESTARTS=0
api_revive() {
  kill -0 "$(api_pid)" 2>/dev/null && return 0
  API_RESTARTS=$((API_RESTARTS + 1))
  log "couponq-api exited ($(grep -o 'fatal[^"]*' "$WORK/api.log" | tail -n 1)); restarting it"
  api_start
}
# api_watch SECONDS -- api_revive every 0.2 s for SECONDS.
api_watch() {
  local i
  for ((i = 0; i < $1 * 5; i++)); do api_revive; sleep 0.2; done
}
# sale_supervise -- api_revive until the load client of sale_load ends,
# then sale_wait.
sale_supervise() {
  while kill -0 "$LOAD_PID" 2>/dev/null; do api_revive; sleep 0.2; done
  sale_wait
}
# supervised CMD... -- runs CMD (e.g. `stack up kafka2`, which blocks for
# seconds) in the background with api_revive every 0.2 s; CMD's status.
supervised() {
  local p rc=0
  "$@" &
  p=$!
  while kill -0 "$p" 2>/dev/null; do api_revive; sleep 0.2; done
  wait "$p" || rc=$?
  return $rc
}
# isr_wait TOPIC LIMIT -- until every partition of TOPIC is fully in sync,
# with api_revive (so never in a $(...) subshell); the seconds it took in
# ISR_WAIT_S ("never" and status 1 after LIMIT s).
isr_wait() {
  local t0
  t0=$(now)
  ISR_WAIT_S=never
  while (($(printf '%.0f' "$(elapsed "$t0")") < $2)); do
    api_revive
    if ha_isr_full "$1"; then ISR_WAIT_S=$(elapsed "$t0"); return 0; fi
    sleep 0.3
  done
  return 1
}
# kafka_pause NODE SECONDS WATCH -- SIGSTOP of broker NODE (T_FAULT; never
# left stopped: the EXIT trap resumes it) for SECONDS, with api_revive and
# the function WATCH every 0.3 s; then SIGCONT (t_cont) and isr_wait (120 s)
# for every partition of the sale's topic back in sync (ISR_WAIT_S).
kafka_pause() {
  local node=$1 secs=$2 watch=$3
  PAUSED_PID=$(ha_pid "$node") || die "no pid for $node"
  trap 'kill -CONT "$PAUSED_PID" 2>/dev/null || true; cleanup_faults' EXIT
  log "SIGSTOP of $node ($PAUSED_PID) at $(admitted_of "$id") admitted, for ${secs}s"
  T_FAULT=$(now)
  kill -STOP "$PAUSED_PID"
  while (($(printf '%.0f' "$(python3 -c "print(($(now) - $T_FAULT) * 10)")") < secs * 10)); do
    api_revive
    "$watch"
    sleep 0.3
  done
  kill -CONT "$PAUSED_PID"
  t_cont=$(now)
  log "SIGCONT of $node after $(elapsed "$T_FAULT")s, $(admitted_of "$id") admitted"
  isr_wait "$TOPIC" 120 || log "partitions not fully in sync 120 s after SIGCONT: $(ha_partitions "$TOPIC" | tr '\n' ';')"
  log "all partitions back to 3 in-sync replicas ${ISR_WAIT_S}s after SIGCONT"
}
# reproduce_settle -- with api_revive, until the api has no re-produce
# pending (60 s at most): `settle` = seconds since t_cont (n/a: never, or a
# build without re-produces); unknown_api and reproduced = its counters.
reproduce_settle() {
  local i p
  settle=n/a
  for ((i = 0; i < 300; i++)); do
    api_revive
    p=$(api_metric couponq_api_kafka_reproduce_pending)
    [[ -z $p ]] && break
    if [[ ${p%.*} == 0 ]]; then settle=$(elapsed "$t_cont"); break; fi
    sleep 0.2
  done
  unknown_api=$(api_metric couponq_api_kafka_unknown_outcomes_total)
  reproduced=$(api_metric couponq_api_kafka_reproduced_total)
}
# repair_if_restarted ID -- after an api exit (a fatal producer leaves
# what it could not re-produce admitted, logged "run couponqctl reconcile
# --repair"), does what the README tells the operator: once the rows are
# stable, `couponqctl reconcile --repair` publishes those events. The
# checker is then told the api exited (--api-crashed: a request on a
# keep-alive connection the exiting api closed has no answer; see
# unanswered_at_api_exit). Records reconcile_repair; fails if it fails.
repair_if_restarted() {
  local id=$1 rc=0
  ((API_RESTARTS > 0)) || return 0
  SALE_CHECK_ARGS=--api-crashed
  result unanswered_at_api_exit="$(jget "$PRE.json" unknown_users)"
  wait_stable "$id" 5 "$(size 120 600)" >/dev/null || true
  log "api restarted $API_RESTARTS time(s): admitted $(admitted_of "$id"), rows $(rows_of "$id"), unanswered requests $(jget "$PRE.json" unknown_users); couponqctl reconcile --repair"
  ctl reconcile "$id" --repair >"$WORK/repair.txt" 2>&1 || rc=$?
  log "reconcile --repair exit $rc: $(grep -E '^(missing|published|consistent):' "$WORK/repair.txt" | tr '\n' ' ')"
  result reconcile_repair="exit $rc, $(grep -E '^(missing|published):' "$WORK/repair.txt" | tr '\n' ' ')"
  ((rc == 0))
}
