#!/usr/bin/env bash
# 01_worker_kill -- kill -9 of a worker every 2 s during a flash sale and
# until the drain ends, each killed worker restarted at once: 3 workers on 6
# partitions, each batch possibly cut between its MySQL commit and its offset
# commit. Replays must change nothing: exactly the 202 users get rows,
# issued_quantity matches, no duplicate, no oversell.
#
# A mixed group: w1 and w2 are static members (--instance-id fault-w1/-w2,
# as worker_start makes every worker), w3 is dynamic (WORKER_DYNAMIC=w3). A
# killed static worker takes its partitions back as it restarts, with no
# rebalance; a killed w3 is the rebalance-storm worst case that dynamic
# membership gives every kill: its restart joins as a new member, and the
# whole group waits session.timeout.ms (10 s) for the dead one. The second
# kill is always w3's, so every run has that case at least once (by chance
# alone, 6 kills miss w3 one run in 11). Quick size, Release: with only
# static workers killed (a run before that rule: 6 kills, none of w3) the
# rows were in 0.0 s after the sale (25 s in all); mixed, 29 s (19 kills, 5
# of w3; 56 s); all dynamic (WORKER_DYNAMIC=1), 126 s (61 kills; 154 s).
WORKER_STATIC="w1 w2"
WORKER_DYNAMIC="w3 ${WORKER_DYNAMIC:-}"
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
kills_dynamic=0
t0=$(now)
t_load_done=""
limit=$(size 180 900)
# Kill while the sale runs and until MySQL holds every admitted user.
while :; do
  sleep 2
  w=w$((RANDOM % 3 + 1))
  ((kills != 1)) || w=w3
  proc_kill "$w" KILL
  kills=$((kills + 1))
  [[ $w != w3 ]] || kills_dynamic=$((kills_dynamic + 1))
  worker_start "$w"
  if [[ -z $t_load_done ]] && ! kill -0 "$LOAD_PID" 2>/dev/null; then t_load_done=$(now); fi
  if [[ -n $t_load_done && $(rows_of "$id") == "$(admitted_of "$id")" ]]; then break; fi
  (($(printf '%.0f' "$(elapsed "$t0")") < limit)) || { log "kill loop: limit ${limit}s reached"; break; }
done
sale_wait
loop_drain_s=$(elapsed "${t_load_done:-$t0}")
drain_s=$(wait_drain "$id" 120) || true
log "$kills kills; drained under kills ${loop_drain_s}s after the sale ended (+${drain_s}s after the last kill)"

members="w1 w2 static, w3 dynamic"
[[ " $WORKER_DYNAMIC " != *" 1 "* ]] || members="all dynamic: WORKER_DYNAMIC=1"
ok=pass
check "$id" "$qty" "$pre" || ok=fail
load_result "$pre" done="$reqs requests ($users users) for $qty coupons at $(jget "$pre.json" rate)/s; 3 workers ($members); kill -9 of a random worker every 2 s ($kills kills, $kills_dynamic of w3), each restarted" \
  status="$ok" recovery="all rows ${loop_drain_s}s after the sale ended, under kills" kills="$kills" kills_dynamic="$kills_dynamic"
finish "$ok"
