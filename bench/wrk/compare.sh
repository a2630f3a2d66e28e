#!/usr/bin/env bash
# compare.sh -- couponq-api vs nginx `return 202` with the same wrk script
# (a unique user per request), in the same run, on this machine.
#
#   bench/wrk/compare.sh [BUILD_DIR] [SECONDS] ["CONNECTIONS ..."]
#
# BUILD_DIR should be a Release build without sanitizers (default
# build-api-rel). Needs the stack up (scripts/stack up). Prints:
#   1. throughput at each connection count (default 128 and 1000): nginx,
#      then the api (202s/s, Kafka-acknowledged), and their ratio;
#   2. latency at about half the api's max rate: wrk cannot pace requests
#      (no -R; wrk2 is not packaged), so the script lowers the number of
#      connections (closed loop: rate ~ connections / latency) and reports
#      the run whose rate is nearest half of the max;
#   3. the api's RSS with 1,000 open connections (wrk -c1000 running).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$SRC/build-api-rel}
SECS=${2:-10}
CONNS_LIST=${3:-128 1000}
THREADS=2
TMP=$(mktemp -d /tmp/couponq-compare.XXXXXX)
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  sleep 1
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
REDIS_PORT=${REDIS_PORT:-16379}

# Unlimited coupon, own topic (6 partitions).
C=$(( $(date +%s%N) / 1000 % 900000000000 + 1000000 ))
now=$(date +%s%3N)
redis-cli -p "$REDIS_PORT" HSET "couponq:{c$C}:meta" total -1 start_ms $((now - 60000)) end_ms $((now + 36000000)) state open \
  fence "$(redis-cli -p "$REDIS_PORT" INFO replication | tr -d '\r' | sed -n 's/^master_replid://p')" >/dev/null
TOPIC="couponq.test.bench.$(date +%s%N)"
"$SRC/scripts/stack" topic "$TOPIC" >/dev/null

NPORT=$(free_port)
mkdir -p "$TMP/nginx"
sed -e "s#@DIR@#$TMP/nginx#g" -e "s#@PORT@#$NPORT#g" "$SRC/bench/wrk/nginx.conf.in" >"$TMP/nginx/nginx.conf"
nginx -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/error.log" >"$TMP/nginx/out.log" 2>&1 &
PIDS+=($!)
APORT=$(free_port)
MPORT=$(free_port)
# wrk sends {"user_id": N} without tokens, from one IP: auth and limits off.
"$BUILD/couponq-api" --listen "127.0.0.1:$APORT" --admin-listen "127.0.0.1:$MPORT" --topic "$TOPIC" --log-level warn \
  --auth off --conns-per-ip 0 --limit-ip-rate 0 --limit-user-rate 0 >"$TMP/api.log" 2>&1 &
API=$!
PIDS+=("$API")
for _ in $(seq 100); do
  [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$APORT/healthz") == 200 ]] && break
  sleep 0.1
done

# run NAME PORT CONNS SECS -> wrk output in $TMP/NAME.txt; prints 202/s.
# Each run gets its own range of user ids (runs are in subshells).
run() {
  local base
  base=$(( ($(date +%s%N) / 1000000) % 1000000000 * 1000 + 1 ))
  WRK_COUPON=$C WRK_USER_BASE=$base WRK_THREADS=$THREADS \
    wrk -t$THREADS -c"$3" -d"$4"s --latency -s "$SRC/bench/wrk/issue.lua" "http://127.0.0.1:$2/" >"$TMP/$1.txt"
  sed -nE 's/^status 202: [0-9]+ \(([0-9]+)\/s\)$/\1/p' "$TMP/$1.txt"
}
lat() { sed -nE 's/^latency p50 (.*) ms p99 (.*) ms$/p50 \1 ms, p99 \2 ms/p' "$TMP/$1.txt"; }
others() { grep '^status' "$TMP/$1.txt" | grep -v '^status 202' | tr '\n' ' ' || true; }

echo "machine: $(nproc) cores, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "wrk -t$THREADS -d${SECS}s --latency, bench/wrk/issue.lua (unique user per request)"
A=0
CONNS=0
for c in $CONNS_LIST; do
  run nginx_warm$c "$NPORT" "$c" 2 >/dev/null
  n=$(run nginx$c "$NPORT" "$c" "$SECS")
  echo "-c$c nginx return 202:  $n req/s ($(lat nginx$c))"
  run api_warm$c "$APORT" "$c" 2 >/dev/null
  a=$(run api$c "$APORT" "$c" "$SECS")
  echo "-c$c couponq-api 202s:  $a accepted/s ($(lat api$c)) $(others api$c)"
  echo "-c$c ratio api/nginx:   $(python3 -c "print(round($a / $n, 2))")"
  if ((a > A)); then A=$a; CONNS=$c; fi
done

echo "latency near half the best rate ($A/s at -c$CONNS; target $((A / 2))/s):"
for c in $((CONNS / 2)) $((CONNS / 4)) $((CONNS / 8)) $((CONNS / 16)) $((CONNS / 32)); do
  ((c >= 4)) || c=4
  r=$(run half$c "$APORT" "$c" "$((SECS / 2 > 3 ? SECS / 2 : 3))")
  echo "  -c$c: $r accepted/s, $(lat half$c)"
done

run rss "$APORT" 1000 8 >/dev/null &
W=$!
sleep 5
echo "api RSS with 1,000 connections open (wrk -c1000): $(awk '/VmRSS/ {print $2, $3}' /proc/$API/status), $(ls /proc/$API/fd | wc -l) fds"
wait $W
echo "  (-c1000 run: $(sed -nE 's/^status 202: [0-9]+ \(([0-9]+)\/s\)$/\1/p' "$TMP/rss.txt") accepted/s, $(lat rss))"
echo "api after the runs: $(curl -s "http://127.0.0.1:$MPORT/metrics" | grep -E '^couponq_api_(kafka_errors|redis_errors|deadline_expired)_total' | tr '\n' ' ')"
