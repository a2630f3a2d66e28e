#!/usr/bin/env bash
# h02_redis_zombie -- the Redis primary is paused (SIGSTOP) mid-sale long
# enough for the sentinels to promote a replica, then resumed: a zombie
# that still believes it is the primary, with the api's last commands in
# its socket buffers. Whatever it admits when it resumes is on no replica
# (--redis-min-replicas 1: WAIT answers 0, the api says 503 and settles) and
# is thrown away when the sentinels demote it; the new primary is fenced
# until the guard verified it. 0 violations.
source "$(dirname "$0")/lib.sh"
need couponq-api couponq-worker couponqctl

rate=$(size 200 2000)
qty=$(size 2000 20000)
pause=$(size 6 10)
API_ARGS="--redis-min-replicas 1"
old=$(ha_node redis)
log "sale of $qty at $rate/s; primary $old paused ${pause}s at 40%"
sale_setup "$qty"
sale_to_40 "$qty" "$rate"
T_FAULT=$(now)
kill -STOP "$(ha_pid "$old")"
sleep "$pause"
new=$(ha_node redis || echo none)
kill -CONT "$(ha_pid "$old")"
log "after ${pause}s the sentinels name $new; $old resumed as a zombie"
wait_until 60 redis_demoted "$((COUPONQ_HA_BASE + ${old#redis}))" || log "$old was not demoted within 60 s"
sale_wait
ok=pass
[[ $new != "$old" && $new != none ]] || { log "no failover happened during the pause"; ok=fail; }
sale_result "$id" "$qty" "$ok" "sale of $qty at ${rate}/s, 2 workers, --redis-min-replicas 1; primary $old SIGSTOPped ${pause}s (sentinels promoted $new), resumed as a zombie and demoted"
