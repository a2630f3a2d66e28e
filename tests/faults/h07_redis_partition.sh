#!/usr/bin/env bash
# h07_redis_partition -- a network partition isolates the Redis primary
# from the sentinels and its replicas, while the api can still reach it
# (split brain). The partition is an iptables rule on loopback: packets to
# the primary's port are dropped unless they come from the api, which runs
# as uid nobody. The sentinels promote a replica; until the api hears
# +switch-master it may still admit on the isolated primary, whose writes
# reach no replica: with --redis-min-replicas 1 WAIT answers 0, the api
# says 503 and undoes them, so none is a 202. The new primary is fenced
# until the guard verified it; after the partition heals the sentinels
# demote the old primary and its writes are discarded. Needs root and the
# iptables owner match (CI runs as root); otherwise the scenario fails with
# the reason, it does not skip.
source "$(dirname "$0")/lib.sh"
need couponq-api couponq-worker couponqctl
((EUID == 0)) || die "needs root for iptables"
command -v iptables >/dev/null || die "iptables not installed"
command -v setpriv >/dev/null || die "setpriv not installed"

rate=$(size 200 2000)
qty=$(size 2000 20000)
hold=$(size 4 10)
API_ARGS="--redis-min-replicas 1"
API_AS=65534 # nobody (gid 65534: nogroup)
sale_setup "$qty"
old=$(ha_node redis)
port=$((COUPONQ_HA_BASE + ${old#redis}))
RULE=(OUTPUT -o lo -p tcp --dport "$port" -m owner ! --uid-owner 65534 -j DROP)
heal() { while iptables -D "${RULE[@]}" 2>/dev/null; do :; done; }
trap 'heal; cleanup_faults' EXIT
log "sale of $qty at $rate/s; $old (:$port) partitioned from everyone but the api at 40%"
sale_to_40 "$qty" "$rate"
T_FAULT=$(now)
iptables -I "${RULE[@]}" || die "iptables refused the rule"
wait_until 30 redis_moved "$old" || { heal; die "no failover within 30 s of the partition"; }
new=$(ha_node redis)
log "sentinels promoted $new after $(elapsed "$T_FAULT")s; partition held ${hold}s more"
sleep "$hold"
heal
t_heal=$(now)
wait_until 60 redis_demoted "$port" || log "$old not demoted within 60 s of the heal"
log "partition healed; $old demoted after $(elapsed "$t_heal")s"
nrep=$(grep -c 'admission not on enough replicas' "$WORK/api.log" || true)
sale_wait
sale_result "$id" "$qty" pass "sale of $qty at ${rate}/s, 2 workers, api as uid nobody with --redis-min-replicas 1; $old cut off (iptables) from sentinels and replicas but not from the api; $new promoted; healed ${hold}s later" \
  unreplicated_calls_503="$nrep"
