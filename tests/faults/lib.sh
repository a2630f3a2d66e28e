# tests/faults/lib.sh -- sourced by every fault scenario (tests/faults/NN_*.sh).
#
# A scenario runs against the PRIVATE stack that tests/faults/run started
# (ports 31379/31306/31092, data under $COUPONQ_STACK_DIR): it kills servers,
# restarts them and flushes Redis, so this file refuses to run against the
# shared development or test stacks. It gives a scenario: its binaries (or a
# clean SKIP while one is not built yet), an api and workers it can start,
# kill -9 and restart (logs in the scenario's work dir, killed at exit), a
# fresh coupon and Kafka topic, the load client, a drain wait, the checker,
# and `result` to record the row of RELIABILITY.md. What integration tests
# use as well (clients, key names, coupons, wait_for, background processes)
# comes from tests/lib.sh, sourced below.
set -euo pipefail

FAULTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$FAULTS_DIR/../.." && pwd)
SCENARIO=$(basename "${0%.sh}")
FAULTS_SIZE=${FAULTS_SIZE:-quick}
FAULTS_OUT=${FAULTS_OUT:-/tmp/couponq-faults/out}
FAULTS_BUILD=${FAULTS_BUILD:-${COUPONQ_BUILD:-$ROOT/build-faults}}
mkdir -p "$FAULTS_OUT"
WORK=$(mktemp -d "$FAULTS_OUT/$SCENARIO.XXXXXX")
T_START=$(date +%s.%N)

: "${COUPONQ_STACK_DIR:?run scenarios through tests/faults/run (private stack)}"
: "${COUPONQ_REDIS:?}" "${COUPONQ_MYSQL:?}" "${COUPONQ_KAFKA:?}"
# The shared harness: the work dir is its TEST_TMP (kept), the binaries come
# from FAULTS_BUILD, background processes get 10 s to exit at the end, and
# no check of the development stack (the checks below guard this one).
TEST_TMP=$WORK KEEP_TMP=1 BG_GRACE=10 LIB_STACK_CHECK=0 COUPONQ_BUILD=$FAULTS_BUILD
COUPON_TITLE=faults COUPON_OPEN_MS=7200000
# shellcheck source=../lib.sh
source "$FAULTS_DIR/../lib.sh"
# FAULTS_HA=1 (hNN_* scenarios): the replicated stack of `scripts/stack --ha`
# on COUPONQ_HA_BASE; Redis through the sentinels, MySQL at the writable node.
FAULTS_HA=${FAULTS_HA:-}
if [[ -n $FAULTS_HA ]]; then
  case ${COUPONQ_HA_BASE:-17000} in 17000)
    echo "[$SCENARIO] refusing to run against the shared HA stack (base 17000)" >&2
    exit 2 ;;
  esac
  REDIS_PORT="" MYSQL_PORT="" KAFKA_PORT=""
else
  KAFKA_PORT=${COUPONQ_KAFKA##*:}
fi
for p in $REDIS_PORT $MYSQL_PORT $KAFKA_PORT; do
  case $p in 16379 | 13306 | 19092 | 26379 | 23306 | 29092)
    echo "[$SCENARIO] refusing to run against the shared stack (port $p)" >&2
    exit 2 ;;
  esac
done
export COUPONQ_LOG_LEVEL=${COUPONQ_LOG_LEVEL:-info}
# (tests/lib.sh turned couponq-api's auth and abuse limits off: the
# scenarios send {"user_id": N} without tokens from one IP, the same user
# many times; /metrics is on the admin listener api_start chooses.)
# The sanitizer build must not fail a scenario on a leak report at kill -9.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0}

log() { echo "[$SCENARIO] $(date +%T) $*"; }
die() {
  echo "[$SCENARIO] ERROR: $*" >&2
  result status=fail notes="$*"
  exit 1
}
# What the shared harness fails with is recorded like any other error.
fail() { die "$@"; }
hastack() { "$ROOT/scripts/stack" --ha "$@" 9>&-; }
if [[ -n $FAULTS_HA ]]; then
  # The current primaries, asked each time (a failover moves them).
  rcli() { local hp; hp=$(hastack primary redis); redis-cli -h "${hp%:*}" -p "${hp##*:}" "$@"; }
  sql() {
    local hp
    hp=$(hastack primary mysql)
    mariadb --no-defaults -h"${hp%:*}" -P"${hp##*:}" -uroot couponq -N -B -e "$1"
  }
  sql_file() {
    local hp
    hp=$(hastack primary mysql)
    mariadb --no-defaults -h"${hp%:*}" -P"${hp##*:}" -uroot couponq -N -B <"$1"
  }
fi
stack() { "$ROOT/scripts/stack" ${FAULTS_HA:+--ha} "$@" >>"$WORK/stack.log" 2>&1 9>&-; }
now() { date +%s.%N; }
elapsed() { python3 -c "print(round($(now) - $1, 1))"; }

# result key=value... -- merges into $FAULTS_OUT/$SCENARIO.json (the driver
# turns these into RELIABILITY.md). Numbers stay numbers.
result() {
  python3 - "$FAULTS_OUT/$SCENARIO.json" "$SCENARIO" "$@" <<'PY'
import json, os, sys
path, name, pairs = sys.argv[1], sys.argv[2], sys.argv[3:]
doc = {}
if os.path.exists(path):
    with open(path) as f:
        doc = json.load(f)
doc['scenario'] = name
for kv in pairs:
    k, _, v = kv.partition('=')
    try:
        v = int(v)
    except ValueError:
        try:
            v = float(v)
        except ValueError:
            pass
    doc[k] = v
with open(path, 'w') as f:
    json.dump(doc, f)
PY
}
rm -f "$FAULTS_OUT/$SCENARIO.json"

# size QUICK FULL -> the value for the current size.
size() { if [[ $FAULTS_SIZE == full ]]; then echo "$2"; else echo "$1"; fi; }

# ------------------------------------------------------------ HA stack
# ha_node KIND -> the node name (redis1..3 / mysql1..2) of the current primary.
ha_node() {
  local hp
  hp=$(hastack primary "$1") || return 1
  case $1 in
  redis) echo "redis$((${hp##*:} - COUPONQ_HA_BASE))" ;;
  mysql) echo "mysql$((${hp##*:} - COUPONQ_HA_BASE - 305))" ;;
  esac
}
ha_pid() { hastack pid "$1"; }
# redis_moved OLD -- the sentinels name a primary other than OLD.
redis_moved() { local n; n=$(ha_node redis) && [[ $n != "$1" ]]; }
# redis_demoted PORT -- the Redis on PORT is a replica.
redis_demoted() { redis-cli -p "$1" INFO replication | grep -q role:slave; }
# ha_leader TOPIC PARTITION -> the node name (kafka1..3) leading it.
ha_leader() {
  local id
  id=$(kcat -b "$COUPONQ_KAFKA" -L -t "$1" -m 5 2>/dev/null |
    sed -n "s/^ *partition $2, leader \([0-9]*\),.*/\1/p" | sed -n 1p)
  [[ -n $id ]] && echo "kafka$id"
}
# window_503 LOADPREFIX EPOCH -> seconds from the first to the end of the
# last 0.1 s bucket holding a 503 at or after EPOCH (0 when none): how long
# clients were told to come back.
window_503() {
  python3 - "$1.json" "$2" <<'PY'
import json, sys
tl = json.load(open(sys.argv[1]))['timeline']
t = float(sys.argv[2])
hits = [s for s, ok, n503, *_ in tl if n503 > 0 and s + 0.1 >= t]
print(round(hits[-1] + 0.1 - hits[0], 1) if hits else 0)
PY
}

# sale_setup QTY -- what every sale scenario starts with: sale_coupon QTY
# (a fresh coupon of QTY, its id in $id, and a fresh topic), then
# sale_procs (the api with API_ARGS and API_AS, the guard and two workers).
sale_coupon() {
  id=$(new_coupon_id)
  new_topic
  coupon_create "$id" "$1"
}
sale_procs() {
  api_start
  worker_start w1
  worker_start w2
}
sale_setup() {
  sale_coupon "$1"
  sale_procs
}

# load_bg ID REQS USERS RATE MAX_S [load.py flags] -- in the background:
# REQS requests for coupon ID from USERS users (ids from ID*10) at RATE/s on
# 64 connections, MAX_S s at most; sets PRE (the load prefix) and LOAD_PID.
# sale_wait then waits for it.
load_bg() {
  local id=$1 reqs=$2 users=$3 rate=$4 max=$5
  shift 5
  PRE=$WORK/load
  load "$PRE" --coupon "$id" --requests "$reqs" --users "$users" --user-base "$((id * 10))" \
    --conns 64 --rate "$rate" --max-seconds "$max" "$@" &
  LOAD_PID=$!
}
# sale_load ID QTY RATE -- load_bg of 3 x QTY requests from 2.25 x QTY users
# at RATE/s (30 s timeout).
sale_load() {
  local reqs=$(($2 * 3))
  load_bg "$1" "$reqs" "$((reqs * 3 / 4))" "$3" "$((reqs / $3 + 120))" --timeout 30
}
sale_wait() { wait "$LOAD_PID" || die "load client failed: $(tail -n 3 "$PRE.err")"; }
# sale_to_40 QTY RATE -- sale_load of coupon $id, then until 40% of QTY is
# admitted (120 s at most): the moment the HA scenarios strike.
sale_to_40() {
  sale_load "$id" "$1" "$2"
  wait_40 "$1"
}
# wait_40 QTY [rows] -- until 40% of QTY is admitted (with "rows": has its
# rows), 120 s at most, else the scenario fails.
wait_40() {
  if [[ ${2:-} == rows ]]; then
    wait_until 120 rows_at_least "$id" $(($1 * 2 / 5)) || die "no rows written"
  else
    wait_until 120 admitted_at_least "$id" $(($1 * 2 / 5)) || die "the sale did not start"
  fi
}
# timed_sale RATE SECS QTY_DIV WHAT -- a sale of RATE x SECS requests
# ($reqs) from 3/4 as many users ($users) for reqs / QTY_DIV coupons ($qty):
# sale_setup, then load_bg at RATE/s (30 s timeout, SECS + 60 s at most);
# sets rate, secs, reqs, users, qty, PRE and LOAD_PID, logs WHAT.
timed_sale() {
  rate=$1 secs=$2
  reqs=$((rate * secs))
  users=$((reqs * 3 / 4))
  qty=$((reqs / $3))
  sale_setup "$qty"
  log "sale: $reqs requests at $rate/s for $qty coupons; $4"
  load_bg "$id" "$reqs" "$users" "$rate" "$((secs + 60))" --timeout 30
}
# server_down NAME -- stack down NAME (redis, kafka, mysql); the time before
# in t_stop, after in t_down. server_up NAME [OUTAGE_S] -- sleeps what is
# left of OUTAGE_S since t_down, then stack up NAME; t_up0 before, t_up
# once it answers.
server_down() {
  t_stop=$(now)
  stack down "$1"
  t_down=$(now)
}
server_up() {
  [[ -z ${2:-} ]] || sleep "$(python3 -c "print(max(0, $2 - ($(now) - $t_down)))")"
  t_up0=$(now)
  stack up "$1"
  t_up=$(now)
}
# redis_kill9 -- SIGKILL of the private stack's Redis (no final fsync: the
# AOF is fsynced every second), 2 s down, then stack up redis; t_kill
# before, t_up once it answers.
redis_kill9() {
  t_kill=$(now)
  kill -KILL "$(cat "$COUPONQ_STACK_DIR/redis/redis.pid")"
  sleep 2
  stack up redis
  t_up=$(now)
}
# reconcile_run NAME ID [flags] -- couponqctl reconcile ID [flags], its
# output in $WORK/NAME.txt and (300 characters of it) in the log; the exit
# status in RC (the scenario decides what it means).
reconcile_run() {
  local name=$1
  shift
  RC=0
  ctl reconcile "$@" >"$WORK/$name.txt" 2>&1 || RC=$?
  log "reconcile $* exit $RC: $(tr '\n' ' ' <"$WORK/$name.txt" | cut -c1-300)"
}
# repair_verify ID DRAIN -- what an operator runs after a crash:
# reconcile --repair, the drain (DRAIN ID 120, e.g. wait_drain; its seconds
# in drain_s), then a plain reconcile that must find the sale consistent.
# Either one failing logs why and sets ok=fail.
repair_verify() {
  local id=$1 repair_rc
  reconcile_run repair "$id" --repair
  repair_rc=$RC
  drain_s=$("$2" "$id" 120) || true
  reconcile_run reconcile2 "$id"
  [[ $repair_rc == 0 ]] || { log "reconcile --repair exited $repair_rc"; ok=fail; }
  [[ $RC == 0 ]] || { log "not consistent after the repair: $(cat "$WORK/reconcile2.txt")"; ok=fail; }
}
# kill9_during_load TIMES PAUSE_S NAME... -- up to TIMES times while the
# load client runs: PAUSE_S s, then kill -9 of each NAME (the api or a
# worker), each restarted after 1 s. The kill times are in KILLS.
kill9_during_load() {
  local times=$1 pause=$2 k n
  shift 2
  KILLS=()
  for ((k = 1; k <= times; k++)); do
    sleep "$pause"
    kill -0 "$LOAD_PID" 2>/dev/null || break
    KILLS+=("$(now)")
    for n in "$@"; do proc_kill "$n" KILL; done
    log "$* killed ($k); restarting in 1 s"
    sleep 1
    for n in "$@"; do if [[ $n == api ]]; then api_start; else worker_start "$n"; fi; done
  done
}
# load_result LOADPREFIX [key=value...] -- records the load client's
# requests, 202s and statuses with the rest of the row.
load_result() {
  local pre=$1
  shift
  result requests="$(jget "$pre.json" requests)" accepted="$(jget "$pre.json" "status.get('202', 0)")" \
    statuses="$(jget "$pre.json" "' '.join(k+':'+str(v) for k,v in status.items())")" "$@"
}
# sale_result ID QTY OK DONE [key=value...] -- drain, checker, the result
# row (requests, 202s, statuses, 503s since $T_FAULT, first 202 after it,
# fence repairs), then finish. SALE_CHECK_ARGS: more checker flags (e.g.
# --api-crashed once couponq-api has exited mid-sale).
sale_result() {
  local id=$1 qty=$2 ok=$3 done=$4 rec drain_s s503 win
  shift 4
  rec=$(first_202_after "$PRE" "$T_FAULT")
  s503=$(count_in "$PRE" 1 "$T_FAULT" "$(now)")
  win=$(window_503 "$PRE" "$T_FAULT")
  drain_s=$(wait_drain "$id" "$(size 120 600)") || true
  [[ $rec != never ]] || { log "admission did not resume"; ok=fail; }
  check "$id" "$qty" "$PRE" ${SALE_CHECK_ARGS:-} || ok=fail
  load_result "$PRE" done="$done" answers_503_after_fault="$s503" \
    fence_repairs="$(grep -c 'verified against the event log' "$WORK/guard.log" 2>/dev/null || true)" \
    window_503_s="$win" \
    recovery="503s for ${win}s; first 202 ${rec}s after the fault; drained ${drain_s}s after the sale" "$@"
  finish "$ok"
}

admitted_at_least() { (($(admitted_of "$1" 2>/dev/null || echo 0) >= $2)); }
rows_at_least() { (($(rows_of "$1" 2>/dev/null || echo 0) >= $2)); }
# wait_until SECONDS CMD... -- polls CMD every 0.2 s; 1 when time runs out.
wait_until() {
  local _argv=("${@:2}")
  # shellcheck disable=SC2016 # expanded by wait_for's eval
  WAIT_STEP=0.2 wait_for '"${_argv[@]}"' "$1"
}
# (processes: proc_start NAME CMD..., proc_kill NAME [SIGNAL], proc_stop
# NAME come from tests/lib.sh; logs in $WORK/NAME.log, all stopped at exit
# by cleanup_lib, which a scenario's own EXIT trap calls as cleanup_faults.)
cleanup_faults() { cleanup_lib; }

# ------------------------------------------------------------ couponq
TOPIC=""
API_PORT=""
API_ADMIN_PORT=""
new_topic() { # fresh topic (and .dlq) for this scenario -> $TOPIC
  TOPIC="couponq.faults.$SCENARIO.$(date +%s%N)"
  "$ROOT/scripts/stack" ${FAULTS_HA:+--ha} topic "$TOPIC" 6 >>"$WORK/stack.log" 2>&1 9>&- || die "cannot create topic $TOPIC"
  export COUPONQ_TOPIC=$TOPIC
  # and the redemption events' topic (and .dlq), read by the same workers
  "$ROOT/scripts/stack" ${FAULTS_HA:+--ha} topic "$TOPIC.redemptions" 6 >>"$WORK/stack.log" 2>&1 9>&- ||
    die "cannot create topic $TOPIC.redemptions"
  export COUPONQ_REDEMPTION_TOPIC=$TOPIC.redemptions
  # Its own consumer group; workers serve no /metrics (several per host).
  export COUPONQ_GROUP="faults.$SCENARIO.$(date +%s%N)"
  export COUPONQ_WORKER_METRICS=off
}
# coupon_create ID QUANTITY -- open now for two hours; MySQL row + Redis meta.
coupon_create() { coupon_create_raw "$1" "$2"; }

# guard_start -- the fence guard (couponqctl fence --watch), as every
# deployment runs it beside the workers; started once, by the first
# api_start, after new_topic has chosen the topic and group.
guard_start() {
  [[ -z ${PROC_PID[guard]:-} ]] || return 0
  proc_start guard "$FAULTS_BUILD/couponqctl" fence --watch --interval-ms 100
}
api_start() { # api_start [NAME] -- on $API_PORT (chosen once), waits for it
  local name=${1:-api}
  guard_start
  [[ -n $API_PORT ]] || API_PORT=$(free_port)
  [[ -n $API_ADMIN_PORT ]] || API_ADMIN_PORT=$(free_port)
  # API_AS=UID runs it as that uid and gid (the partition scenario tells its
  # packets from everyone else's by uid).
  proc_start "$name" ${API_AS:+setpriv --reuid="$API_AS" --regid="$API_AS" --clear-groups} \
    "$FAULTS_BUILD/couponq-api" --listen "127.0.0.1:$API_PORT" \
    --admin-listen "127.0.0.1:$API_ADMIN_PORT" ${API_ARGS:-}
  # until it answers or exits
  # shellcheck disable=SC2016 # expanded by wait_for's eval
  wait_for 'curl -s -o /dev/null -m 1 "http://127.0.0.1:$API_PORT/healthz" || ! kill -0 "${PROC_PID[$name]}"' 30 ||
    die "couponq-api does not answer on $API_PORT after 30 s"
  kill -0 "${PROC_PID[$name]}" 2>/dev/null || die "couponq-api exited at start: $(tail -n 5 "$WORK/$name.log")"
}
api_pid() { echo "${PROC_PID[${1:-api}]}"; }
# api_metric NAME -> a value from couponq-api's /metrics (empty if none).
api_metric() { metric_value "${API_ADMIN_PORT:-$API_PORT}" "$1"; }

# worker_start NAME -- couponq-worker NAME with WORKER_ARGS, a static group
# member by default (--instance-id fault-NAME): NAME killed and restarted
# takes its partitions back at once, with no rebalance, as scripts/run's
# workers do. A static member that stops does not leave the group either:
# its partitions wait session.timeout.ms (10 s) for it before the others get
# them (no scenario stops one for good: 05_redis_flush restarts its two,
# within those 10 s or after, and either way they take the partitions back).
# Only the workers WORKER_STATIC names are static members: on librdkafka
# 2.0.2 a static member fenced itself when the group coordinator's broker
# died (h05_kafka_two_down, ci15: both workers "Static consumer fenced by
# other consumer with same group.instance.id" after their session timed
# out, and exited), so only scenario 01 (single broker) uses it.
# WORKER_DYNAMIC: names (e.g. "w3"), or 1 for every worker, dynamic anyway.
worker_start() {
  local id=()
  case " ${WORKER_STATIC:-} " in *" $1 "*) id=(--instance-id "fault-$1") ;; esac
  case " ${WORKER_DYNAMIC:-} " in *" 1 "* | *" $1 "*) id=() ;; esac
  proc_start "$1" "$FAULTS_BUILD/couponq-worker" ${id[@]+"${id[@]}"} ${WORKER_ARGS:-}
}
ctl() { "$FAULTS_BUILD/couponqctl" "$@"; }

# load OUTPREFIX ARGS... -- the load client; summary JSON in OUTPREFIX.json,
# 202 users in OUTPREFIX.accepted, unanswered users in OUTPREFIX.unknown,
# users told 503 "outcome unknown" in OUTPREFIX.ambiguous, "user event_id"
# of every 202 in OUTPREFIX.events.
load() {
  local out=$1
  shift
  python3 "$FAULTS_DIR/load.py" --port "$API_PORT" --accepted "$out.accepted" \
    --unknown "$out.unknown" --ambiguous "$out.ambiguous" --events "$out.events" \
    "$@" >"$out.json" 2>"$out.err"
}
jget() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], dict(d)))' "$@"; }

rows_of() { coupon_rows "$1"; }
admitted_of() { scard "$1"; }

# wait_drain ID TIMEOUT_S -- until the rows equal the Redis admitted count
# (or, with the count unknown, stop growing for 10 s). Prints the seconds it
# took; returns 1 on timeout.
wait_drain() {
  local id=$1 limit=$2 t0 rows adm last=-1 same=0
  t0=$(now)
  while :; do
    rows=$(rows_of "$id" 2>/dev/null || echo -1)
    adm=$(admitted_of "$id" 2>/dev/null || echo -2)
    if [[ $rows == "$adm" ]]; then elapsed "$t0"; return 0; fi
    if [[ $rows == "$last" ]]; then same=$((same + 1)); else same=0; fi
    last=$rows
    if (($(printf '%.0f' "$(elapsed "$t0")") > limit)); then
      log "drain: timeout after ${limit}s (rows=$rows admitted=$adm)"
      elapsed "$t0"
      return 1
    fi
    sleep 0.5
  done
}

# check ID QUANTITY LOADPREFIX [check flags...] -- runs the checker, its
# output to the terminal and $WORK/check.txt; records rows, violations and
# ambiguous outcomes. The .ambiguous and .events files are passed when the
# load client wrote them (scenarios that fabricate a sale have neither).
check() {
  local id=$1 qty=$2 pre=$3 rc=0 more=()
  shift 3
  [[ -f $pre.ambiguous ]] && more+=(--ambiguous "$pre.ambiguous")
  [[ -f $pre.events ]] && more+=(--events "$pre.events")
  local env=()
  if [[ -n $FAULTS_HA ]]; then # the checker reads one Redis and one MySQL
    env=("COUPONQ_REDIS=redis://$(hastack primary redis)"
      "COUPONQ_MYSQL=mysql://root@$(hastack primary mysql)/couponq")
  fi
  env ${env[@]+"${env[@]}"} "$FAULTS_DIR/check" --coupon "$id" --quantity "$qty" --accepted "$pre.accepted" \
    --unknown "$pre.unknown" ${more[@]+"${more[@]}"} --json "$WORK/check.json" "$@" |
    tee -a "$WORK/check.txt" || rc=$?
  if [[ -f $WORK/check.json ]]; then
    result rows="$(jget "$WORK/check.json" rows)" violations="$(jget "$WORK/check.json" violations)" \
      ambiguous="$(jget "$WORK/check.json" ambiguous)" \
      check="$(jget "$WORK/check.json" "' '.join(failed) or 'all invariants hold'")"
  fi
  return $rc
}

# finish OK|FAIL -- records the status and the scenario's wall time.
finish() {
  result status="$1" elapsed_s="$(elapsed "$T_START")" work="$WORK"
  log "$1 (work dir $WORK)"
  [[ $1 == pass ]]
}

# wait_stable ID QUIET_S LIMIT_S -- until the row count has not changed for
# QUIET_S seconds (a drain that cannot reach the admitted count, e.g. after
# an api crash left admissions without events). Prints the seconds taken.
wait_stable() {
  local id=$1 quiet=$2 limit=$3 t0 last=-1 since rows
  t0=$(now)
  since=$t0
  while :; do
    rows=$(rows_of "$id" 2>/dev/null || echo -1)
    if [[ $rows != "$last" ]]; then last=$rows; since=$(now); fi
    if (($(printf '%.0f' "$(elapsed "$since")") >= quiet)); then elapsed "$t0"; return 0; fi
    if (($(printf '%.0f' "$(elapsed "$t0")") > limit)); then elapsed "$t0"; return 1; fi
    sleep 0.5
  done
}

# first_202_after LOADPREFIX EPOCH -> seconds from EPOCH to the first 0.1 s
# bucket of the load's timeline that began after EPOCH and holds a 202 (so
# at most 0.1 s late), or "never".
first_202_after() {
  python3 - "$1.json" "$2" <<'PY'
import json, sys
tl = json.load(open(sys.argv[1]))['timeline']
t = float(sys.argv[2])
hits = [s for s, ok, *_ in tl if ok > 0 and s >= t]
print(round(max(0.0, hits[0] - t), 1) if hits else 'never')
PY
}

# count_in LOADPREFIX COL FROM TO -> sum of a timeline column (0: 202s,
# 1: 503s, 2: other answers, 3: errors) over the 0.1 s buckets wholly
# inside [FROM, TO].
count_in() {
  python3 - "$1.json" "$2" "$3" "$4" <<'PY'
import json, sys
tl = json.load(open(sys.argv[1]))['timeline']
col, a, b = int(sys.argv[2]) + 1, float(sys.argv[3]), float(sys.argv[4])
print(sum(row[col] for row in tl if a <= row[0] and row[0] + 0.1 <= b))
PY
}

# sent202_in LOADPREFIX FROM TO -> 202s whose request was SENT in a 0.1 s
# bucket wholly inside [FROM, TO]: admissions that happened in that window
# (an answer may arrive later than its admission, its send time cannot).
sent202_in() {
  python3 - "$1.json" "$2" "$3" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))['sent202']
a, b = float(sys.argv[2]), float(sys.argv[3])
print(sum(n for t, n in rows if a <= t and t + 0.1 <= b))
PY
}

# ------------------------------------------------------------ redemption
# use_setup ID USERS LIMIT TTL_MS [VENDOR SHARE_BPS REUSE] -- a coupon of
# USERS coupons, all issued (rows + the admitted set, written directly: the
# issuance path has its own scenarios), with a use budget of LIMIT (-1 =
# unlimited) and holds of TTL_MS; funded by VENDOR (created when "new",
# 0 = platform) at SHARE_BPS. Users are ID*10+1 .. ID*10+USERS.
use_setup() {
  local id=$1 users=$2 limit=$3 ttl=$4 vendor=${5:-new} bps=${6:-7000} reuse=${7:-1} ul vd
  coupon_create "$id" "$users"
  if [[ $vendor == new ]]; then
    sql "INSERT INTO vendors (name) VALUES ('faults $SCENARIO $id')"
    vendor=$(sql "SELECT id FROM vendors WHERE name='faults $SCENARIO $id'")
  fi
  VENDOR=$vendor
  if [[ $limit == -1 ]]; then ul=NULL; else ul=$limit; fi
  if [[ $vendor == 0 ]]; then vd=NULL; else vd=$vendor; fi
  sql "UPDATE coupons SET use_limit=$ul, hold_ttl_ms=$ttl, discount_amount=5000,
       vendor_id=$vd, vendor_share_bps=$bps, reuse_after_reverse=$reuse WHERE id=$id"
  python3 - "$id" "$users" >"$WORK/use_setup.sql" <<'PY'
import sys
c, n = int(sys.argv[1]), int(sys.argv[2])
vals = ','.join("(%d,%d,'01ARZ3NDEKTSV4RRFFQ69G5FAV',NOW(3))" % (c, c * 10 + u)
                for u in range(1, n + 1))
print('INSERT INTO coupon_issues (coupon_id, user_id, event_id, date_issued) '
      'VALUES %s; UPDATE coupons SET issued_quantity=%d WHERE id=%d' % (vals, n, c))
PY
  sql_file "$WORK/use_setup.sql"
  seq $((id * 10 + 1)) $((id * 10 + users)) | xargs -n 1000 redis-cli ${REDIS_PORT:+-p "$REDIS_PORT"} \
    ${FAULTS_HA:+-h "$(hastack primary redis | cut -d: -f1)" -p "$(hastack primary redis | cut -d: -f2)"} \
    SADD "$(ckey "$id" issued)" >/dev/null
  rcli HSET "$(ckey "$id" use)" limit "$limit" ttl_ms "$ttl" until_ms -1 discount 5000 \
    min_amount 0 vendor "$vendor" share_bps "$bps" reuse "$reuse" confirmed 0 >/dev/null
  [[ $(rcli SCARD "$(ckey "$id" issued)") == "$users" ]] || die "use_setup: admitted set incomplete"
}

# use_load OUTPREFIX ARGS... -- the checkout client (use_load.py) against
# $API_PORT with the Redis sampler; summary in OUTPREFIX.json, history in
# OUTPREFIX.hist.
use_load() {
  local out=$1 rp=$REDIS_PORT
  shift
  local sp=()
  if [[ -n $FAULTS_HA ]]; then
    rp=$(hastack primary redis | cut -d: -f2)
    sp=(--sentinel-port "$((COUPONQ_HA_BASE + 11))")
  fi
  python3 "$FAULTS_DIR/use_load.py" --port "$API_PORT" --redis-port "$rp" "${sp[@]}" \
    --history "$out.hist" "$@" >"$out.json" 2>"$out.err"
}

# use_versions ID -> "<sum of versions in Redis> <sum in MySQL>": equal once
# every transition's event is a row (the drain of redemptions is done).
use_versions() {
  local r m
  r=$(rcli EVAL "local s = 0
    for _, v in ipairs(redis.call('HVALS', KEYS[1])) do s = s + cjson.decode(v).v end
    return s" 1 "$(ckey "$1" use:recs)")
  m=$(sql "SELECT COALESCE(SUM(version), 0) FROM coupon_redemptions WHERE coupon_id=$1")
  echo "$r $m"
}
use_drained() { local v; v=$(use_versions "$1"); [[ ${v% *} == "${v#* }" ]]; }
# wait_use_drain ID TIMEOUT_S -- prints the seconds it took; 1 on timeout.
wait_use_drain() {
  local t0
  t0=$(now)
  if wait_until "$2" use_drained "$1"; then elapsed "$t0"; return 0; fi
  log "redemption drain: timeout after $2 s (Redis/MySQL versions $(use_versions "$1"))"
  elapsed "$t0"
  return 1
}

# wait_use_stable ID QUIET_S LIMIT_S -- until MySQL's sum of versions has not
# moved for QUIET_S seconds (a drain that cannot reach Redis's: an api crash
# left transitions without events). Prints the seconds taken.
wait_use_stable() {
  local t0 since last=-1 v
  t0=$(now)
  since=$t0
  while :; do
    v=$(use_versions "$1" 2>/dev/null || echo "x -1")
    if [[ ${v#* } != "$last" ]]; then last=${v#* }; since=$(now); fi
    if [[ ${v% *} == "${v#* }" ]] || (($(printf '%.0f' "$(elapsed "$since")") >= $2)); then
      elapsed "$t0"
      return 0
    fi
    if (($(printf '%.0f' "$(elapsed "$t0")") > $3)); then elapsed "$t0"; return 1; fi
    sleep 0.5
  done
}

# use_check_run ID LOADPREFIX [flags] -- the redemption checker (use_check),
# output to the terminal and $WORK/use_check.txt; records its counts.
use_check_run() {
  local id=$1 pre=$2 rc=0 env=()
  shift 2
  if [[ -n $FAULTS_HA ]]; then
    env=("COUPONQ_REDIS=redis://$(hastack primary redis)"
      "COUPONQ_MYSQL=mysql://root@$(hastack primary mysql)/couponq")
  fi
  env ${env[@]+"${env[@]}"} "$FAULTS_DIR/use_check" --coupon "$id" --load "$pre.json" \
    --history "$pre.hist" --json "$WORK/use_check.json" "$@" | tee -a "$WORK/use_check.txt" || rc=$?
  if [[ -f $WORK/use_check.json ]]; then
    result redemptions="$(jget "$WORK/use_check.json" redemptions)" \
      violations="$(jget "$WORK/use_check.json" violations)" \
      states="$(jget "$WORK/use_check.json" states)" \
      ledger_lines="$(jget "$WORK/use_check.json" ledger_lines)" \
      check="$(jget "$WORK/use_check.json" "' '.join(failed) or 'all invariants hold'")"
  fi
  return $rc
}
# guard_finished ID -- the lost finishes (a cancel's or a give-back
# reversal's budget release that the dataset lost after the api ran it) the
# fence guard ran for coupon ID: use_finished of its "verified" log lines.
guard_finished() {
  sed -n "s/.*verified against the event log.* coupon_id=$1 .* use_finished=\([0-9]*\).*/\1/p" \
    "$WORK/guard.log" 2>/dev/null | awk '{s += $1} END {print s + 0}'
}
# use_reconcile_clean ID -- couponqctl reconcile WITHOUT --repair must find
# nothing to do (Redis = MySQL = the topic, no finish due: whatever a fault
# lost, the guard restored). JSON in $WORK/reconcile.json; 1 when it found
# differences (logged).
use_reconcile_clean() {
  local rc=0
  ctl reconcile "$1" --json >"$WORK/reconcile.json" 2>"$WORK/reconcile.err" || rc=$?
  [[ $rc != 0 ]] || return 0
  log "reconcile exit $rc: $(python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
print(" ".join("%s=%s" % (k, v if not isinstance(v, list) else "%d:%s" % (len(v), v[:3]))
               for k, v in d.items() if v not in ([], 0, True, None)))' "$WORK/reconcile.json" 2>&1 |
    head -c 600) $(head -c 300 "$WORK/reconcile.err")"
  return 1
}
# use_statuses LOADPREFIX -> "op status:n ..." of the load client's summary.
use_statuses() { jget "$1.json" "' '.join(k.replace(' ', ':')+'='+str(v) for k,v in sorted(status.items()))"; }
# use_result LOADPREFIX [key=value...] -- records the checkout client's
# requests, statuses and highest held + confirmed with the rest of the row.
use_result() {
  local pre=$1
  shift
  result requests="$(jget "$pre.json" requests)" statuses="$(use_statuses "$pre")" \
    max_in_use="$(jget "$pre.json" max_in_use)" "$@"
}

# use_sale_setup CHECKOUTS LIMIT -- what every redemption scenario starts
# with: a fresh coupon (its id in $id) with CHECKOUTS owners, a use limit of
# LIMIT and 3 s holds, a fresh topic pair, the api (API_ARGS), the guard and
# two workers (WORKER_ARGS).
use_sale_setup() {
  id=$(new_coupon_id)
  new_topic
  use_setup "$id" "$1" "$2" 3000
  api_start
  worker_start w1
  worker_start w2
}
# use_sale_load CHECKOUTS RATE [use_load.py flags] -- in the background: one
# checkout per owner at RATE/s on 48 connections (3 s holds); sets PRE and
# LOAD_PID; use_sale_wait waits for it.
use_sale_load() {
  local n=$1 rate=$2
  shift 2
  PRE=$WORK/load
  use_load "$PRE" --coupon "$id" --checkouts "$n" --users "$n" --user-base "$((id * 10))" \
    --conns 48 --rate "$rate" --ttl-s 3 --max-seconds "$(size 240 900)" "$@" &
  LOAD_PID=$!
}
use_sale_wait() { sale_wait; }
# use_sale CHECKOUTS LIMIT RATE WHAT [use_load.py flags] -- use_sale_setup,
# then use_sale_load; logs WHAT.
use_sale() {
  local n=$1 limit=$2 rate=$3 what=$4
  shift 4
  use_sale_setup "$n" "$limit"
  log "checkouts: $n at $rate/s on a use limit of $limit (holds 3 s); $what"
  use_sale_load "$n" "$rate" "$@"
}
