#!/usr/bin/env bash
# 06_mysql_outage -- MariaDB stopped for 20 s in the middle of a drain: two
# workers are writing rows when it stops, more events arrive while it is
# down, it comes back; the workers must retry (keeping their batch, committing
# no offset) and end with every event a row: no loss, no duplicate.
# Events are produced straight to Kafka (as the api would after its 202s),
# so this scenario needs only the worker.
source "$(dirname "$0")/lib.sh"
need couponq-worker

n=$(size 40000 200000)
outage=20
id=$(new_coupon_id)
new_topic
coupon_create "$id" "$n"
pre=$WORK/load
python3 "$FAULTS_DIR/events.py" --coupon "$id" --missing-coupon 1 --valid "$n" --each 0 \
  --user-base "$((id * 10))" --expect "$WORK/expect.json" >"$WORK/events.tsv"
python3 -c 'import json,sys; print("\n".join(map(str, json.load(open(sys.argv[1]))["valid_users"])))' \
  "$WORK/expect.json" >"$pre.accepted"
: >"$pre.unknown"
xargs -n 1000 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" SADD "$(ckey "$id" issued)" <"$pre.accepted" >/dev/null
half=$((n / 2))
produce() { kcat -b "$COUPONQ_KAFKA" -P -t "$TOPIC" -K $'\t' || die "kcat could not produce"; }

head -n "$half" "$WORK/events.tsv" | produce
worker_start w1
worker_start w2
for _ in $(seq 600); do (($(rows_of "$id") > 0)) && break; sleep 0.05; done
rows_at_stop=$(rows_of "$id")
log "rows=$rows_at_stop: stopping MariaDB for ${outage}s"
t_down=$(now)
stack down mysql
tail -n "+$((half + 1))" "$WORK/events.tsv" | produce
sleep "$(python3 -c "print(max(0, $outage - ($(now) - $t_down)))")"
alive=0
for w in w1 w2; do kill -0 "${PROC_PID[$w]}" 2>/dev/null && alive=$((alive + 1)); done
log "workers alive during the outage: $alive/2; starting MariaDB"
stack up mysql
down_s=$(elapsed "$t_down")
drain_s=$(wait_drain "$id" "$(size 180 900)") || true
log "drained ${drain_s}s after MariaDB came back"
retries=$(cat "$WORK"/w[12].log | grep -ciE 'retry|backoff|reconnect' || true)

ok=pass
((alive == 2)) || { log "a worker died during the outage"; ok=fail; }
check "$id" "$n" "$pre" || ok=fail
result done="$n events, 2 workers; MariaDB stopped ${down_s}s mid-drain (at $rows_at_stop rows), $((n - half)) events produced during it" \
  requests="$n" accepted="$n" recovery="drained ${drain_s}s after MariaDB restart" \
  workers_alive_during_outage="$alive/2" worker_retry_log_lines="$retries"
finish "$ok"
