# tests/lib.sh -- the one shell library of couponq's tests: sourced by every
# integration test (tests/integration/*.sh) and, through tests/faults/lib.sh,
# by every fault scenario.
#
# Gives each test: strict mode, the build and source dirs and the binaries,
# clients for the stack's servers, the Redis key names, unique coupon ids and
# private Kafka topics (so tests never collide, even when run in parallel),
# coupons written directly, polling with a bound (wait_for), background
# processes that are stopped when the test exits (their output goes to log
# files, never the terminal), and small assertions that print what differed.
#
# A fault scenario sets TEST_TMP (its work dir, kept) and LIB_STACK_CHECK=0
# before sourcing: it checks its private stack itself.
set -euo pipefail

COUPONQ_SRC=${COUPONQ_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
COUPONQ_BUILD=${COUPONQ_BUILD:-$COUPONQ_SRC/build}
export COUPONQ_REDIS=${COUPONQ_REDIS:-redis://127.0.0.1:16379}
export COUPONQ_MYSQL=${COUPONQ_MYSQL:-mysql://root@127.0.0.1:13306/couponq}
export COUPONQ_KAFKA=${COUPONQ_KAFKA:-127.0.0.1:19092}
export COUPONQ_STACK_DIR=${COUPONQ_STACK_DIR:-$COUPONQ_SRC/.stack}
# couponq-api defaults to --auth jwt with per-IP and per-user limits and an
# admin listener on 127.0.0.1:9090. The tests predate identity: they send
# {"user_id": N} without a token, from one IP, often the same user many
# times, and start several apis at once. So the harness runs them with auth
# and the abuse limits off and no admin listener, unless a test says
# otherwise (tests/integration/api_auth.sh does).
export COUPONQ_AUTH=${COUPONQ_AUTH:-off}
export COUPONQ_ADMIN_LISTEN=${COUPONQ_ADMIN_LISTEN:-off}
export COUPONQ_API_CONNS_PER_IP=${COUPONQ_API_CONNS_PER_IP:-0}
export COUPONQ_API_LIMIT_IP_RATE=${COUPONQ_API_LIMIT_IP_RATE:-0}
export COUPONQ_API_LIMIT_AUTH_FAIL_RATE=${COUPONQ_API_LIMIT_AUTH_FAIL_RATE:-0}
export COUPONQ_API_LIMIT_USER_RATE=${COUPONQ_API_LIMIT_USER_RATE:-0}
# url_port URL -> its port (redis://h:P, mysql://u@h:P/db).
url_port() { sed -E 's#^[a-z-]+://([^@/]*@)?[^:/]+:([0-9]+).*$#\2#' <<<"$1"; }
REDIS_PORT=$(url_port "$COUPONQ_REDIS")
MYSQL_PORT=$(url_port "$COUPONQ_MYSQL")
TEST_NAME=$(basename "${0%.sh}")
TEST_TMP=${TEST_TMP:-$(mktemp -d "/tmp/couponq-$TEST_NAME.XXXXXX")}
BG_PIDS=()

# The binaries, and need NAME... -- fails unless each is built (a missing
# binary is a broken build, never a reason to skip).
API_BIN=$COUPONQ_BUILD/couponq-api
CTL=$COUPONQ_BUILD/couponqctl
WORKER=$COUPONQ_BUILD/couponq-worker
REPLAY=$COUPONQ_BUILD/couponq-replay
LOAD=$COUPONQ_SRC/tests/integration/tools_load.py

log() { echo "[$TEST_NAME] $*"; }
fail() {
  echo "[$TEST_NAME] FAIL: $*" >&2
  exit 1
}
# assert_eq EXPECTED ACTUAL WHAT
assert_eq() { [[ "$1" == "$2" ]] || fail "$3: expected '$1', got '$2'"; }
assert_le() { (("$2" <= "$1")) || fail "$3: expected <= $1, got $2"; }
assert_contains() { [[ "$1" == *"$2"* ]] || fail "$3: '$2' not found in '$1'"; }

# assert_metric TEXT SERIES VALUE WHAT -- the Prometheus TEXT has exactly the
# line "SERIES VALUE" (whole line: an expected 2 does not pass at 20).
# assert_metric TEXT SERIES "" WHAT -- the series exists, any value.
assert_metric() {
  local line
  line=$(grep -F -- "$2 " <<<"$1" | grep -E -- "^$(sed 's/[][\.*^$(){}+?|/]/\\&/g' <<<"$2") [^ ]+$" | head -n 1 || true)
  [[ -n $line ]] || fail "$4: no series $2 in the metrics"
  [[ -z $3 || $line == "$2 $3" ]] || fail "$4: expected '$2 $3', got '$line'"
}

need() {
  local b
  for b in "$@"; do [[ -x $COUPONQ_BUILD/$b ]] || fail "$b not built (looked in $COUPONQ_BUILD)"; done
}

rcli() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }
# ckey ID PART -> the Redis key of coupon ID's PART (meta, issued, use,
# use:recs, ...; schemas/redemption.md): one hash slot per coupon.
ckey() { echo "couponq:{c$1}:$2"; }
# The server's replication id: a coupon's meta `fence` field (admit.lua admits
# only while it equals this; see the script's header).
redis_replid() { rcli INFO replication | tr -d '\r' | sed -n 's/^master_replid://p'; }
# sql 'SELECT ...' -> tab-separated rows, no header.
sql() { mariadb --no-defaults -h127.0.0.1 -P"$MYSQL_PORT" -uroot couponq -N -B -e "$1"; }
sql_file() { mariadb --no-defaults -h127.0.0.1 -P"$MYSQL_PORT" -uroot couponq -N -B <"$1"; }
kafka_java() {
  java -Xmx256m -Dlog4j.configuration="file:$COUPONQ_STACK_DIR/kafka/tools-log4j.properties" \
    -cp "$COUPONQ_STACK_DIR/kafka/libs/*" "$@"
}

# A coupon id no other test or run uses: time-based, > 1,000,000.
new_coupon_id() {
  local ns
  ns=$(date +%s%N)
  echo $(((ns / 1000) % 900000000000 + 1000000 + RANDOM))
}

# coupon_create_raw ID QUANTITY [START_MS END_MS] -- the MySQL row and the
# Redis meta (fenced to the server's replid), written directly (for tests
# that do not exercise couponqctl). QUANTITY -1 = unlimited. Default window:
# opened a minute ago, for COUPON_OPEN_MS (one hour) from now.
coupon_create_raw() {
  local id=$1 qty=$2 now start end total
  now=$(($(date +%s%3N)))
  start=${3:-$((now - 60000))}
  end=${4:-$((now + ${COUPON_OPEN_MS:-3600000}))}
  if [[ $qty == -1 ]]; then total=NULL; else total=$qty; fi
  sql "INSERT INTO coupons (id, title, total_quantity, date_issue_start, date_issue_end, state)
       VALUES ($id, '${COUPON_TITLE:-test} $TEST_NAME', $total, FROM_UNIXTIME($start/1000), FROM_UNIXTIME($end/1000), 'open')"
  coupon_meta_raw "$id" "$qty" "$start" "$end"
}
# coupon_meta_raw ID QUANTITY [START_MS END_MS] -- only the Redis meta (what
# the api reads), same defaults: for api tests that need no MySQL row.
coupon_meta_raw() {
  local now
  now=$(($(date +%s%3N)))
  rcli HSET "$(ckey "$1" meta)" total "$2" start_ms "${3:-$((now - 60000))}" \
    end_ms "${4:-$((now + ${COUPON_OPEN_MS:-3600000}))}" state open fence "$(redis_replid)" >/dev/null
}

# coupon_use_raw ID [LIMIT TTL_MS DISCOUNT MIN_AMOUNT VENDOR SHARE_BPS REUSE UNTIL_MS]
# -- the coupon's use budget hash (schemas/redemption.md), written directly,
# for tests that do not exercise couponqctl create. Defaults: unlimited, 10
# min holds, discount 5000, no minimum, platform-funded, share 10000, reuse,
# no use-until. The MySQL columns get the same values.
coupon_use_raw() {
  local id=$1 limit=${2:--1} ttl=${3:-600000} disc=${4:-5000} min=${5:-0}
  local vendor=${6:-0} bps=${7:-10000} reuse=${8:-1} until=${9:--1} ul uu vd
  if [[ $limit == -1 ]]; then ul=NULL; else ul=$limit; fi
  if [[ $until == -1 ]]; then uu=NULL; else uu="FROM_UNIXTIME($until/1000)"; fi
  if [[ $vendor == 0 ]]; then vd=NULL; else vd=$vendor; fi
  sql "UPDATE coupons SET use_limit=$ul, hold_ttl_ms=$ttl, discount_amount=$disc,
       min_available_amount=$min, vendor_id=$vd, vendor_share_bps=$bps,
       reuse_after_reverse=$reuse, use_until=$uu WHERE id=$id"
  rcli HSET "$(ckey "$id" use)" limit "$limit" ttl_ms "$ttl" until_ms "$until" \
    discount "$disc" min_amount "$min" vendor "$vendor" share_bps "$bps" \
    reuse "$reuse" confirmed 0 >/dev/null
}

# open_coupon QUANTITY -> the id of a new coupon with only its Redis meta
# (coupon_meta_raw), open for an hour.
open_coupon() {
  local id
  id=$(new_coupon_id)
  coupon_meta_raw "$id" "$1"
  echo "$id"
}

# new_ulid -> a random ULID (26 Crockford base32 chars, the time part 48
# bits); new_rid ID -> a redemption id carrying coupon ID in its low 48 bits
# (common/rid.h), the rest random. Pure bash: cheap enough to call per op.
CROCKFORD=0123456789ABCDEFGHJKMNPQRSTVWXYZ
crockford_chars() {
  local i s=
  for ((i = 0; i < $1; i++)); do s+=${CROCKFORD:RANDOM%32:1}; done
  echo "$s"
}
new_ulid() { echo "${CROCKFORD:RANDOM%8:1}$(crockford_chars 25)"; }
new_rid() {
  # the last 10 chars are 50 bits: 2 random, then the 48-bit coupon id
  local n=$(((RANDOM % 4) << 48 | $1)) i s=
  for ((i = 9; i >= 0; i--)); do s+=${CROCKFORD:(n >> (5 * i)) & 31:1}; done
  echo "${CROCKFORD:RANDOM%8:1}$(crockford_chars 15)$s"
}

# wait_for 'CONDITION' SECONDS -- polls the condition (a string for eval,
# true when it exits 0, its output discarded) every WAIT_STEP s (0.1) for
# SECONDS (polls, not wall time: a slow condition gets its polls); returns 1
# when they run out. Every wait of the tests is this one, with a bound.
wait_for() {
  local _i _n
  _n=$(awk -v s="$2" -v d="${WAIT_STEP:-0.1}" 'BEGIN { printf "%d", s / d + 0.5 }')
  for ((_i = 0; _i < _n; _i++)); do
    if eval "$1" >/dev/null 2>&1; then return 0; fi
    sleep "${WAIT_STEP:-0.1}"
  done
  return 1
}

# wait_eq 'COMMAND' VALUE WHAT [SECONDS] -- polls until the command (a
# string for eval) prints VALUE, every 0.1 s for SECONDS (default 5), then
# fails naming WHAT and the last output.
wait_eq() {
  local _cmd=$1 _want=$2
  # shellcheck disable=SC2016 # expanded by wait_for's eval
  wait_for '[[ $(eval "$_cmd") == "$_want" ]]' "${4:-5}" ||
    fail "$3: expected '$2', got '$(eval "$1")'"
}

# coupon_rows ID -> its rows in MySQL; wait_coupon_rows ID N -- until it
# has exactly N (60 s at most, then fail).
coupon_rows() { sql "SELECT COUNT(*) FROM coupon_issues WHERE coupon_id=$1"; }
# scard ID -> how many users Redis admitted for coupon ID.
scard() { rcli SCARD "$(ckey "$1" issued)"; }
wait_coupon_rows() { wait_eq "coupon_rows $1" "$2" "rows of coupon $1" 60; }

# private_topic NAME -- a fresh topic (new_topic) in $T and a fresh consumer
# group in $G, exported as COUPONQ_TOPIC and COUPONQ_GROUP for the api,
# workers and couponqctl this test starts.
private_topic() {
  T=$(new_topic "$1")
  G="couponq.test.$1.$RANDOM$RANDOM"
  export COUPONQ_TOPIC=$T COUPONQ_GROUP=$G
}

# json_get PATH < JSON -> the value at PATH (dot-separated keys) as JSON;
# null when absent.
json_get() {
  python3 -c 'import json,sys; d=json.load(sys.stdin)
for k in sys.argv[1].split("."): d=d.get(k) if isinstance(d, dict) else None
print(json.dumps(d))' "$1"
}

# new_topic NAME -> prints a fresh topic couponq.test.NAME.<n> (and its .dlq).
new_topic() {
  local t="couponq.test.$1.$(date +%s%N)"
  "$COUPONQ_SRC/scripts/stack" topic "$t" "${2:-6}" >/dev/null
  echo "$t"
}

# topic_count TOPIC -> number of messages (sum over partitions).
topic_count() {
  kcat -b "$COUPONQ_KAFKA" -C -t "$1" -e -q -f '.\n' 2>/dev/null | wc -l
}

# free_port -> a TCP port free on 127.0.0.1 right now. With
# COUPONQ_PORT_BASE set (a shared machine where each user owns a range), one
# of BASE..BASE+999 not handed out before in this test ($TEST_TMP/.ports
# remembers them, since callers bind later); else one of 20000..32767 the
# same way, outside the ranges of the stacks the tests start (below): the
# fault suite runs beside the other tests (CMakeLists.txt), kills and
# restarts its servers on their ports, and takes its own ports from
# COUPONQ_PORT_BASE=30000 (tests/faults/run).
free_port() {
  python3 - "${COUPONQ_PORT_BASE:-}" "$TEST_TMP/.ports" <<'PY'
import os, random, socket, sys
base, seen_file = sys.argv[1], sys.argv[2]
# Without a base: 20000..32767, below the kernel's ephemeral range (32768+).
# A port the kernel handed out (bind to 0) is in that range, and once the
# test stops its server there (a kill -9 and restart on the same port) any
# outgoing connection may take it as its source port (most likely what
# failed ci7's redis_sentinel: its killed primary, restarted on its port,
# never came back as a replica).
lo, n = (int(base), 1000) if base else (20000, 12768)
# Not handed out without a base: the test stack (scripts/test), the
# replicated stacks of stack_ha (27000), api_partitioning_ha (25000) and the
# fault suite (28000, scripts/stack --ha takes BASE..BASE+399), the fault
# suite's single stack (31xxx) and its own range (30000..30999).
taken = {23306, 26379, 29092, 29093}
def reserved(p):
    return p in taken or any(b <= p < b + 500 for b in (25000, 27000, 28000)) or 30000 <= p < 31500
seen = set(open(seen_file).read().split()) if os.path.exists(seen_file) else set()
for p in random.sample(range(lo, lo + n), n):
    if str(p) in seen or (not base and reserved(p)):
        continue
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    open(seen_file, "a").write("%d\n" % p)
    print(p); sys.exit(0)
sys.exit("free_port: no free port in %d..%d" % (lo, lo + n - 1))
PY
}

# redis_private PORT [ARG...] -- a redis-server of the test's own on
# 127.0.0.1:PORT, daemonized, no RDB saves (ARGs add to or override the
# config: --replicaof, --appendonly...); its files in $TEST_TMP (dPORT.rdb,
# rPORT.pid, rPORT.log). redis_private_stop PORT -- SHUTDOWN NOSAVE (a
# SIGSTOPped one is continued first); quiet when it is not running.
redis_private() {
  redis-server --bind 127.0.0.1 --port "$1" --dir "$TEST_TMP" --dbfilename "d$1.rdb" --save '' \
    --daemonize yes --pidfile "$TEST_TMP/r$1.pid" --logfile "$TEST_TMP/r$1.log" "${@:2}"
}
redis_private_stop() {
  kill -CONT "$(cat "$TEST_TMP/r$1.pid" 2>/dev/null)" 2>/dev/null || true
  redis-cli -p "$1" shutdown nosave >/dev/null 2>&1 || true
}
# private_use_coupon PORT -> a new coupon id, open for an hour with its
# fence on the redis-server at PORT (redis_private), users 11 and 12 issued,
# a use budget of 10 (10 min holds, discount 5000, reuse): Redis only.
private_use_coupon() {
  local id now fence
  id=$(new_coupon_id)
  now=$(date +%s%3N)
  fence=$(redis-cli -p "$1" INFO replication | tr -d '\r' | sed -n 's/^master_replid://p')
  redis-cli -p "$1" HSET "$(ckey "$id" meta)" total 10 start_ms $((now - 60000)) end_ms $((now + 3600000)) \
    state open fence "$fence" >/dev/null
  redis-cli -p "$1" SADD "$(ckey "$id" issued)" 11 12 >/dev/null
  redis-cli -p "$1" HSET "$(ckey "$id" use)" limit 10 ttl_ms 600000 until_ms -1 discount 5000 min_amount 0 \
    vendor 0 share_bps 10000 reuse 1 confirmed 0 >/dev/null
  echo "$id"
}

# private_proxied -- a private redis-server A (port $RA, redis_private,
# stopped at exit with the rest) reached through redis_proxy.py (port $PA,
# pid $PROXY, log api_proxy), and acli, redis-cli on A.
private_proxied() {
  RA=$(free_port)
  PA=$(free_port)
  trap 'redis_private_stop $RA; cleanup_lib' EXIT
  redis_private "$RA"
  start_bg api_proxy python3 "$COUPONQ_SRC/tests/integration/redis_proxy.py" "$PA" "$RA"
  PROXY=$BG_PID
  wait_log api_proxy listening 10
}
acli() { redis-cli -p "$RA" "$@"; }

# proc_start NAME CMD... -- runs CMD in the background, output appended to
# $TEST_TMP/NAME.log; stopped at exit. The pid is in $BG_PID and
# PROC_PID[NAME] (a later proc_start NAME replaces the name's pid).
# start_bg NAME CMD... -- the same with the log started afresh.
declare -A PROC_PID=()
proc_start() {
  local name=$1
  shift
  "$@" </dev/null >>"$TEST_TMP/$name.log" 2>&1 &
  BG_PID=$!
  BG_PIDS+=("$BG_PID")
  PROC_PID[$name]=$BG_PID
}
start_bg() {
  : >"$TEST_TMP/$1.log"
  proc_start "$@"
}
# forget_pid PID -- a child that is gone and reaped: exit's cleanup must not
# signal its number again.
forget_pid() {
  local p keep=()
  for p in ${BG_PIDS[@]+"${BG_PIDS[@]}"}; do [[ $p == "$1" ]] || keep+=("$p"); done
  BG_PIDS=(${keep[@]+"${keep[@]}"})
}
# stop_pid PID [GRACE_S] -- TERM, up to GRACE_S (20) for it to exit, then
# KILL; reaped.
stop_pid() {
  kill -TERM "$1" 2>/dev/null || true
  wait_for "! kill -0 $1" "${2:-20}" || kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  forget_pid "$1"
}
# proc_kill NAME [SIGNAL] -- the signal (TERM) to NAME; after KILL, reaped.
proc_kill() {
  local pid=${PROC_PID[$1]:-}
  [[ -n $pid ]] || return 0
  kill "-${2:-TERM}" "$pid" 2>/dev/null || true
  if [[ ${2:-TERM} == KILL ]]; then
    wait "$pid" 2>/dev/null || true
    forget_pid "$pid"
  fi
}
# proc_stop NAME -- stop_pid on NAME's process, and forget the name.
proc_stop() {
  local pid=${PROC_PID[$1]:-}
  [[ -n $pid ]] || return 0
  stop_pid "$pid"
  unset "PROC_PID[$1]"
}

# wait_http PORT [PATH] -- until the URL answers (any status), 30 s at most.
wait_http() {
  wait_for "curl -s -o /dev/null 'http://127.0.0.1:$1${2:-/healthz}'" 30 ||
    fail "nothing answers on 127.0.0.1:$1 after 30 s"
}
# wait_log NAME TEXT [SECONDS] -- until $TEST_TMP/NAME.log has TEXT (5 s at
# most), else fails: for a helper that says when it is ready.
wait_log() {
  wait_for "grep -qF -- '$2' '$TEST_TMP/$1.log'" "${3:-5}" || fail "$1 did not log '$2' within ${3:-5} s"
}
# http_code PORT PATH -> the status of a GET (000 when nothing answers).
http_code() { curl -s -o /dev/null -m 5 -w '%{http_code}' "http://127.0.0.1:$1$2" || true; }

# ------------------------------------------------------------ couponq-api
API_CLIENT=$COUPONQ_SRC/tests/integration/api_client.py

# start_api NAME [flags...] -- starts couponq-api on a free port, its admin
# listener (/metrics) on another; sets API_PORT, API_ADMIN_PORT and API_PID.
# Output goes to $TEST_TMP/NAME.log.
start_api() {
  local name=$1
  shift
  API_PORT=$(free_port)
  API_ADMIN_PORT=$(free_port)
  start_bg "$name" "$API_BIN" --listen "127.0.0.1:$API_PORT" \
    --admin-listen "127.0.0.1:$API_ADMIN_PORT" "$@"
  API_PID=$BG_PID
}

# wait_healthy PORT -- until /healthz answers 200 (Redis up, scripts loaded,
# Kafka topic visible), 30 s at most.
wait_healthy() {
  wait_for "[[ \$(http_code $1 /healthz) == 200 ]]" 30 ||
    fail "couponq-api on port $1 not healthy after 30 s"
}

# api_up NAME [flags...] -- start_api, then wait_healthy.
api_up() {
  start_api "$@"
  wait_healthy "$API_PORT"
}

# metrics PORT -> the Prometheus text of the admin listener on PORT;
# metric_line PORT SERIES -> that series' line ("SERIES VALUE"), empty if none.
metrics() { curl -s -m 5 "http://127.0.0.1:$1/metrics"; }
metric_line() { metrics "$1" | grep "^$2 " || true; }
# metric_value PORT SERIES -> its value, empty if none (or no answer).
metric_value() { { metrics "$1" || true; } | awk -v m="$2" '$1 == m { print $2 }'; }

# issue PORT COUPON USER -> "<status> <body>"
issue() {
  curl -s -w '\n%{http_code}' -X POST -H 'Content-Type: application/json' \
    --data "{\"user_id\": $3}" "http://127.0.0.1:$1/v1/coupons/$2/issues" |
    { read -r body; read -r code; echo "$code $body"; }
}

# get PORT PATH -> "<status> <body>"
get() {
  curl -s -w '\n%{http_code}' "http://127.0.0.1:$1$2" |
    { read -r body; read -r code; echo "$code $body"; }
}

# raw PORT 'escaped bytes' -> lines "<status>\t<body>\t<closed|open>..."
raw() {
  printf '%s' "$2" | python3 "$API_CLIENT" raw "$1"
}

# At exit: TERM to every background process, BG_GRACE (5) s each to exit,
# then KILL; the temp dir goes unless KEEP_TMP=1.
cleanup_lib() {
  local p
  for p in ${BG_PIDS[@]+"${BG_PIDS[@]}"}; do kill -TERM "$p" 2>/dev/null || true; done
  for p in ${BG_PIDS[@]+"${BG_PIDS[@]}"}; do
    wait_for "! kill -0 $p" "${BG_GRACE:-5}" || kill -KILL "$p" 2>/dev/null || true
  done
  if [[ ${KEEP_TMP:-0} != 1 ]]; then rm -rf "$TEST_TMP"; fi
}
trap cleanup_lib EXIT

if [[ ${LIB_STACK_CHECK:-1} == 1 ]]; then
  "$COUPONQ_SRC/scripts/stack" status >/dev/null 2>&1 ||
    fail "the stack is not up: run scripts/stack up ($("$COUPONQ_SRC/scripts/stack" status 2>&1 | tr '\n' ' '))"
fi
