#!/usr/bin/env bash
# 08_hostile_http -- the api under hostile HTTP: slowloris connections
# dribbling a byte a second, thousands of idle connections, 64 KiB headers,
# 1 GB and over-limit chunked bodies, pipelined garbage, random bytes -- all
# at once, while a normal client keeps buying coupons. The normal client must
# get every answer (p99 measured before, during and after the attack), the
# api's memory must stay bounded, and after the attack it must be healthy.
source "$(dirname "$0")/lib.sh"
need couponq-api couponq-worker

attack_s=$(size 20 60)
slow=$(size 300 1000)
idle=$(size 2000 10000)
# ASan's shadow memory makes RSS several times larger; the bound follows.
if grep -q 'SANITIZE:BOOL=ON' "$FAULTS_BUILD/CMakeCache.txt" 2>/dev/null; then rss_limit=${FAULTS_RSS_LIMIT_MB:-1024}; else rss_limit=${FAULTS_RSS_LIMIT_MB:-256}; fi
p99_limit=${FAULTS_P99_LIMIT_MS:-250}
id=$(new_coupon_id)
new_topic
coupon_create "$id" -1
api_start
worker_start w1
pid=$(api_pid)
pre=$WORK/load
: >"$pre.accepted"
: >"$pre.unknown"
normal() { # normal PHASE SECONDS
  python3 "$FAULTS_DIR/hostile.py" --role normal --port "$API_PORT" --coupon "$id" --seconds "$2" \
    --rate 200 --user-base "$((id * 10 + $3))" --pid "$pid" --accepted "$pre.accepted" >"$WORK/normal_$1.json"
}
log "baseline: normal client alone for 8 s"
normal before 8 0
log "attack for ${attack_s}s: $slow slowloris, $idle idle, big headers/bodies, pipelined garbage, random bytes"
python3 "$FAULTS_DIR/hostile.py" --role attack --port "$API_PORT" --coupon "$id" --seconds "$attack_s" \
  --slowloris "$slow" --idle "$idle" >"$WORK/attack.json" 2>"$WORK/attack.err" &
attack_pid=$!
sleep 2
normal during "$((attack_s - 2))" 1000000
wait "$attack_pid" || log "attacker exited non-zero: $(tail -n 3 "$WORK/attack.err")"
t_end=$(now)
normal after 5 2000000
health=$(curl -s -o /dev/null -w '%{http_code}' -m 5 "http://127.0.0.1:$API_PORT/healthz" || true)
alive=$(kill -0 "$pid" 2>/dev/null && echo yes || echo no)

python3 - "$WORK" "$p99_limit" "$rss_limit" >"$WORK/verdict.txt" <<'PY' || verdict=fail
import json, sys
w, p99_limit, rss_limit = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]) * 1024
ph = {p: json.load(open('%s/normal_%s.json' % (w, p))) for p in ('before', 'during', 'after')}
att = json.load(open(w + '/attack.json'))
ok = True
for p, d in ph.items():
    print('normal client %-6s: %4d requests, %4d answered, errors %s, statuses %s, p50 %s ms, p99 %s ms, max %s ms'
          % (p, d['requests'], d['answered'], d['errors'] or 0, d['status'], d['p50_ms'], d['p99_ms'], d['max_ms']))
    if d['errors'] or d['answered'] == 0 or set(d['status']) != {'202'}:
        print('  FAIL: the normal client did not get a 202 for every request'); ok = False
    if d['p99_ms'] is None or d['p99_ms'] > p99_limit:
        print('  FAIL: p99 over %s ms' % p99_limit); ok = False
rss = ph['during']['rss_kib']
base = ph['before']['rss_kib']['baseline']
peak = max(ph[p]['rss_kib']['peak'] for p in ph)
print('api RSS: %d KiB before, peak %d KiB, %d KiB after (limit %d KiB)' % (base, peak, ph['after']['rss_kib']['end'], rss_limit))
if peak > rss_limit:
    print('  FAIL: RSS over the limit'); ok = False
for k in sorted(att):
    print('attack %-9s %s' % (k, json.dumps(att[k], sort_keys=True)))
json.dump({'p99_before': ph['before']['p99_ms'], 'p99_during': ph['during']['p99_ms'],
           'p99_after': ph['after']['p99_ms'], 'rss_base_kib': base, 'rss_peak_kib': peak,
           'normal_requests': sum(d['requests'] for d in ph.values()),
           'normal_errors': {p: sum(d['errors'].values()) for p, d in ph.items()},
           'normal_202': sum(d['status'].get('202', 0) for d in ph.values())},
          open(w + '/verdict.json', 'w'))
sys.exit(0 if ok else 1)
PY
cat "$WORK/verdict.txt"
ok=pass
[[ ${verdict:-} == fail ]] && ok=fail
[[ $health == 200 && $alive == yes ]] || { log "api after the attack: alive=$alive healthz=$health"; ok=fail; }
drain_s=$(wait_drain "$id" 60) || true
check "$id" -1 "$pre" || ok=fail
v=$WORK/verdict.json
result done="${attack_s}s attack: $slow slowloris + $idle idle conns, 64 KiB headers, 1 GB / chunked bodies, pipelined garbage, random bytes; a normal client at 200 req/s before, during, after" \
  requests="$(jget "$v" normal_requests)" accepted="$(jget "$v" normal_202)" \
  p99_ms_before_during_after="$(jget "$v" p99_before)/$(jget "$v" p99_during)/$(jget "$v" p99_after)" \
  api_rss_mib_before_peak="$(jget "$v" "round(rss_base_kib/1024)")/$(jget "$v" "round(rss_peak_kib/1024)")" \
  api_alive_healthz_after="$alive/$health" \
  normal_errors_before_during_after="$(jget "$v" "'/'.join(str(normal_errors[p]) for p in ('before','during','after'))")" \
  attack="$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("; ".join(k+" "+" ".join("%s=%s" % kv for kv in sorted(v.items())) for k, v in sorted(d.items())))' "$WORK/attack.json")" \
  recovery="normal client p99 $(jget "$v" p99_before) ms before, $(jget "$v" p99_during) ms during, $(jget "$v" p99_after) ms after; errors $(jget "$v" "'/'.join(str(normal_errors[p]) for p in ('before','during','after'))"); api peak RSS $(jget "$v" "round(rss_peak_kib/1024)") MiB"
finish "$ok"
