# api_lib.bash -- helpers for the couponq-api integration tests (sourced
# after tests/lib.sh; not a test itself: ctest runs *.sh only).

API_BIN=${API_BIN:-$COUPONQ_BUILD/couponq-api}
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
  local i
  for ((i = 0; i < 300; i++)); do
    if [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/healthz") == 200 ]]; then
      return 0
    fi
    sleep 0.1
  done
  fail "couponq-api on port $1 not healthy after 30 s"
}

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

scard() { rcli SCARD "couponq:{c$1}:issued"; }
