# tests/lib.sh -- sourced by every integration test (tests/integration/*.sh).
#
# Gives each test: strict mode, the build and source dirs, clients for the
# stack's servers, unique coupon ids and private Kafka topics (so tests never
# collide, even when run in parallel), background processes that are killed
# when the test exits (their output goes to log files, never the terminal),
# and small assertions that print what differed.
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
REDIS_PORT=$(sed -E 's#^.*:([0-9]+)(/.*)?$#\1#' <<<"$COUPONQ_REDIS")
MYSQL_PORT=$(sed -E 's#^.*:([0-9]+)/.*$#\1#' <<<"$COUPONQ_MYSQL")
TEST_NAME=$(basename "${0%.sh}")
TEST_TMP=$(mktemp -d "/tmp/couponq-$TEST_NAME.XXXXXX")
BG_PIDS=()

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

rcli() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }
# The server's replication id: a coupon's meta `fence` field (admit.lua admits
# only while it equals this; see the script's header).
redis_replid() { rcli INFO replication | tr -d '\r' | sed -n 's/^master_replid://p'; }
# sql 'SELECT ...' -> tab-separated rows, no header.
sql() { mariadb --no-defaults -h127.0.0.1 -P"$MYSQL_PORT" -uroot couponq -N -B -e "$1"; }
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
# Redis meta, written directly (for tests that do not exercise couponqctl).
# QUANTITY -1 = unlimited. Default window: open now, for one hour.
coupon_create_raw() {
  local id=$1 qty=$2 now start end total
  now=$(($(date +%s%3N)))
  start=${3:-$((now - 60000))}
  end=${4:-$((now + 3600000))}
  if [[ $qty == -1 ]]; then total=NULL; else total=$qty; fi
  sql "INSERT INTO coupons (id, title, total_quantity, date_issue_start, date_issue_end, state)
       VALUES ($id, 'test $TEST_NAME', $total, FROM_UNIXTIME($start/1000), FROM_UNIXTIME($end/1000), 'open')"
  rcli HSET "couponq:{c$id}:meta" total "$qty" start_ms "$start" end_ms "$end" state open fence "$(redis_replid)" >/dev/null
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
  rcli HSET "couponq:{c$id}:use" limit "$limit" ttl_ms "$ttl" until_ms "$until" \
    discount "$disc" min_amount "$min" vendor "$vendor" share_bps "$bps" \
    reuse "$reuse" confirmed 0 >/dev/null
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

# wait_eq 'COMMAND' VALUE WHAT [SECONDS] -- polls until the command (a
# string for eval) prints VALUE, every 0.1 s for SECONDS (default 5), then
# fails naming WHAT and the last output.
wait_eq() {
  local i
  for ((i = 0; i < ${4:-5} * 10; i++)); do
    [[ $(eval "$1") == "$2" ]] && return 0
    sleep 0.1
  done
  fail "$3: expected '$2', got '$(eval "$1")'"
}

# coupon_rows ID -> its rows in MySQL; wait_coupon_rows ID N -- until it
# has exactly N (60 s at most, then fail).
coupon_rows() { sql "SELECT COUNT(*) FROM coupon_issues WHERE coupon_id=$1"; }
wait_coupon_rows() { wait_eq "coupon_rows $1" "$2" "rows of coupon $1" 60; }

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
# remembers them, since callers bind later); else one the kernel picks.
free_port() {
  python3 - "${COUPONQ_PORT_BASE:-}" "$TEST_TMP/.ports" <<'PY'
import os, random, socket, sys
base, seen_file = sys.argv[1], sys.argv[2]
if not base:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); sys.exit(0)
seen = set(open(seen_file).read().split()) if os.path.exists(seen_file) else set()
for p in random.sample(range(int(base), int(base) + 1000), 1000):
    if str(p) in seen:
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
sys.exit("free_port: no free port in %s..%d" % (base, int(base) + 999))
PY
}

# start_bg NAME CMD... -- runs CMD in the background, output to
# $TEST_TMP/NAME.log; killed at exit. The pid is in $BG_PID.
start_bg() {
  local name=$1
  shift
  "$@" </dev/null >"$TEST_TMP/$name.log" 2>&1 &
  BG_PID=$!
  BG_PIDS+=("$BG_PID")
}

# wait_http PORT [PATH] -- until the URL answers (any status), 30 s at most.
wait_http() {
  local i
  for ((i = 0; i < 300; i++)); do
    if curl -s -o /dev/null "http://127.0.0.1:$1${2:-/healthz}"; then return 0; fi
    sleep 0.1
  done
  fail "nothing answers on 127.0.0.1:$1 after 30 s"
}

cleanup_lib() {
  local p
  for p in "${BG_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${BG_PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  if [[ ${KEEP_TMP:-0} != 1 ]]; then rm -rf "$TEST_TMP"; fi
}
trap cleanup_lib EXIT

"$COUPONQ_SRC/scripts/stack" status >/dev/null 2>&1 ||
  fail "the stack is not up: run scripts/stack up ($("$COUPONQ_SRC/scripts/stack" status 2>&1 | tr '\n' ' '))"
