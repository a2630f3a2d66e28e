#!/usr/bin/env bash
# 11_redis_lagging_promote -- the HA issue's own case: couponq-api reaches
# Redis through one address that moves on failover (a managed endpoint /
# VIP: tests/integration/redis_proxy.py). The primary's only replica loses
# its replication link and falls behind; later the primary is SIGKILLed and
# the lagging replica is promoted behind the same address. Its admitted set
# misses every user admitted after the link broke -- before the fence, the
# new primary admitted them again: more 202s than coupons, users told 202
# with no coupon. Now admit.lua sees a replication id the coupon's fence
# does not know and answers "fenced" (503 + Retry-After); the fence guard
# (couponqctl fence --watch, started with the api) waits out the requests in
# flight, re-adds every user with a row or an event, lifts the fence, and
# the sale sells out exactly. No operator; no WAIT (--redis-min-replicas 0)
# here, so the fence alone is what is tested.
source "$(dirname "$0")/lib.sh"
need couponq-api couponq-worker couponqctl

rate=$(size 400 2000)
qty=$(size 2000 20000)
reqs=$((qty * 3))
users=$((reqs * 3 / 4))
secs=$((reqs / rate))
id=$(new_coupon_id)
new_topic

# ---- a primary, its replica, and the moving address in front of them
R1=$(free_port)
R2=$(free_port)
PX=$(free_port)
DEAD=$(free_port) # where the replica is sent to "lose its link"
redis_proc() { # redis_proc NAME PORT [ARGS...]
  mkdir -p "$WORK/$1"
  proc_start "$1" redis-server --bind 127.0.0.1 --port "$2" --dir "$WORK/$1" \
    --appendonly yes --appendfsync everysec --save '' --protected-mode no "${@:3}"
}
r() { local p=$1; shift; redis-cli -p "$p" "$@"; }
replid_of() { r "$1" INFO replication | tr -d '\r' | sed -n 's/^master_replid://p'; }
redis_proc r1 "$R1"
redis_proc r2 "$R2" --replicaof 127.0.0.1 "$R1"
for ((i = 0; i < 100; i++)); do
  r "$R2" INFO replication 2>/dev/null | grep -q 'master_link_status:up' && break
  sleep 0.1
done
r "$R2" INFO replication | grep -q 'master_link_status:up' || die "replica did not sync"
echo "$R1" >"$WORK/target"
proc_start proxy python3 "$ROOT/tests/integration/redis_proxy.py" "$PX" "$R1" "$WORK/target"
for ((i = 0; i < 50; i++)); do grep -q listening "$WORK/proxy.log" && break; sleep 0.1; done
export COUPONQ_REDIS=redis://127.0.0.1:$PX # api, workers, guard, checker
REDIS_PORT=$PX                            # rcli, admitted_of

now_ms=$(date +%s%3N)
sql "INSERT INTO coupons (id, title, total_quantity, date_issue_start, date_issue_end, state)
     VALUES ($id, 'faults $SCENARIO', $qty, FROM_UNIXTIME($((now_ms - 60000))/1000),
             FROM_UNIXTIME($((now_ms + 7200000))/1000), 'open')"
r "$R1" HSET "$(ckey "$id" meta)" total "$qty" start_ms $((now_ms - 60000)) \
  end_ms $((now_ms + 7200000)) state open fence "$(replid_of "$R1")" >/dev/null
api_start
worker_start w1
worker_start w2

pre=$WORK/load
log "sale: $reqs requests at $rate/s for $qty coupons through :$PX -> r1 :$R1 (replica r2 :$R2)"
load "$pre" --coupon "$id" --requests "$reqs" --users "$users" --user-base "$((id * 10))" \
  --conns 64 --rate "$rate" --timeout 30 --max-seconds "$((secs + 90))" &
load_pid=$!
adm() { r "$1" SCARD "$(ckey "$id" issued)" 2>/dev/null || echo 0; }
wait_adm() { # wait_adm PORT N -- until the set on PORT has N members
  local i
  for ((i = 0; i < 1200; i++)); do (($(adm "$1") >= $2)) && return 0; sleep 0.1; done
  die "admitted never reached $2 (have $(adm "$1"))"
}
wait_adm "$R1" $((qty * 2 / 5))
r "$R2" REPLICAOF 127.0.0.1 "$DEAD" >/dev/null # the link breaks: r2 lags from here
lag_at=$(adm "$R2")
wait_adm "$R1" $((qty * 4 / 5))
before=$(adm "$R1")
t_fail=$(now)
proc_kill r1 KILL
r "$R2" REPLICAOF NO ONE >/dev/null
echo "$R2" >"$WORK/target"
kill -HUP "${PROC_PID[proxy]}"
t_promoted=$(now)
promoted=$(adm "$R2")
log "r1 ($before admitted) SIGKILLed; r2 promoted with $promoted (it lagged from $lag_at): $((before - promoted)) admissions lost"
((before > promoted)) || die "the replica did not lag (nothing to test)"

wait "$load_pid" || die "load client failed: $(tail -n 3 "$pre.err")"
rec=$(first_202_after "$pre" "$t_promoted")
fenced=$(grep -c 'fenced' "$WORK/api.log" || true)
s503=$(count_in "$pre" 1 "$t_fail" "$(now)")
lifted=$(grep -c 'verified against the event log' "$WORK/guard.log" || true)
log "first 202 ${rec}s after the promotion; 503s after the failure: $s503; guard repairs: $lifted"
drain_s=$(wait_drain "$id" "$(size 120 600)") || true

ok=pass
[[ $rec != never ]] || { log "admission did not resume by itself"; ok=fail; }
((lifted >= 1)) || { log "the guard never verified the coupon"; ok=fail; }
accepted=$(jget "$pre.json" "status.get('202', 0)")
((accepted <= qty)) || { log "$accepted users told 202 for $qty coupons"; ok=fail; }
check "$id" "$qty" "$pre" || ok=fail
result done="$reqs requests at ${rate}/s for $qty coupons, 2 workers, one moving Redis address; replica link broken at $lag_at admitted, primary SIGKILLed at $before, the lagging replica promoted behind the address" \
  requests="$(jget "$pre.json" requests)" accepted="$accepted" \
  statuses="$(jget "$pre.json" "' '.join(k+':'+str(v) for k,v in status.items())")" \
  lost_admissions="$((before - promoted))" answers_503_after_failure="$s503" \
  window_503_s="$(window_503 "$pre" "$t_fail")" \
  recovery="first 202 ${rec}s after the promotion (fence lifted by the guard, no operator); drained ${drain_s}s after the sale"
finish "$ok"
