#!/usr/bin/env bash
# 01_worker_kill -- kill -9 of a worker every 2 s during a flash sale and
# until the drain ends, each killed worker restarted at once: 3 workers on 6
# partitions, each batch possibly cut between its MySQL commit and its offset
# commit. Replays must change nothing: exactly the 202 users get rows,
# issued_quantity matches, no duplicate, no oversell.
source "$(dirname "$0")/lib.sh"
need couponq-api couponq-worker

reqs=$(size 20000 200000)
users=$(size 12000 120000)
qty=$(size 8000 80000)
sale_setup "$qty"
worker_start w3

log "flash sale: $reqs requests from $users users for $qty coupons; killing a worker every 2 s"
load_bg "$id" "$reqs" "$users" "$(size 1500 5000)" "$(size 120 600)"
pre=$PRE
kills=0
t0=$(now)
t_load_done=""
limit=$(size 180 900)
# Kill while the sale runs and until MySQL holds every admitted user.
while :; do
  sleep 2
  w=w$((RANDOM % 3 + 1))
  proc_kill "$w" KILL
  kills=$((kills + 1))
  worker_start "$w"
  if [[ -z $t_load_done ]] && ! kill -0 "$LOAD_PID" 2>/dev/null; then t_load_done=$(now); fi
  if [[ -n $t_load_done && $(rows_of "$id") == "$(admitted_of "$id")" ]]; then break; fi
  (($(printf '%.0f' "$(elapsed "$t0")") < limit)) || { log "kill loop: limit ${limit}s reached"; break; }
done
sale_wait
loop_drain_s=$(elapsed "${t_load_done:-$t0}")
drain_s=$(wait_drain "$id" 120) || true
log "$kills kills; drained under kills ${loop_drain_s}s after the sale ended (+${drain_s}s after the last kill)"

ok=pass
check "$id" "$qty" "$pre" || ok=fail
load_result "$pre" done="$reqs requests ($users users) for $qty coupons at $(jget "$pre.json" rate)/s; 3 workers; kill -9 of a random worker every 2 s ($kills kills), each restarted" \
  status="$ok" recovery="all rows ${loop_drain_s}s after the sale ended, under kills" kills="$kills"
finish "$ok"
