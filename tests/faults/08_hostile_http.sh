#!/usr/bin/env bash
# 08_hostile_http -- the api under hostile HTTP: slowloris connections
# dribbling a byte a second, thousands of idle connections, 64 KiB headers,
# 1 GB and over-limit chunked bodies, pipelined garbage, random bytes -- all
# at once, while a normal client keeps buying coupons. The normal client must
# get every answer (p99 measured before, during and after the attack), the
# api's memory must stay bounded, and after the attack it must be healthy.
#
# Then a hostile-token flood: a second api with --auth jwt, a JWKS and the
# default abuse limits; one IP (127.0.0.1) sends invalid tokens at 1,000/s
# (under the loose per-IP limit of 2,000/s, so the failed-authentication
# limit is what answers; bounded: 20,000 requests or 20 s) while a normal client with valid HS256 tokens
# (from 127.0.0.2, another IP) buys coupons. The flood must be refused
# (401 until the failed-authentication budget of 20 is spent, then 429
# rate_limited: auth_failures), nothing admitted for it; the normal client
# must get a 202 for every request, and its p50/p99 and 202 count before and
# during the flood are recorded (no timed bound).
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
log "token flood: a second api with --auth jwt and the default limits"
K=$WORK/keys
python3 "$ROOT/tests/jwt_tool.py" keygen "$K"
id2=$(new_coupon_id)
coupon_create "$id2" -1 # the normal client's, with valid tokens
id3=$(new_coupon_id)
coupon_create "$id3" -1 # the flood's
ub=$((id2 % 1000000 * 1000))
{
  python3 "$ROOT/tests/jwt_tool.py" tokens "$K" hs1 "$((ub + 1))" 4000
  python3 "$ROOT/tests/jwt_tool.py" tokens "$K" hs1 "$((ub + 100001))" 8000
} >"$K/normal.tok"
main_port=$API_PORT main_admin=$API_ADMIN_PORT
API_PORT='' API_ADMIN_PORT=''
API_ARGS="--auth jwt --jwt-keys $K/jwks.json --conns-per-ip 256 --limit-ip-rate 2000 --limit-ip-burst 4000
  --limit-auth-fail-rate 1 --limit-auth-fail-burst 20 --limit-user-rate 5 --limit-user-burst 10" api_start apij
jport=$API_PORT jpid=$(api_pid apij)
API_PORT=$main_port API_ADMIN_PORT=$main_admin
pre2=$WORK/jload
: >"$pre2.accepted"
: >"$pre2.unknown"
jnormal() { # jnormal PHASE SECONDS USER_OFFSET
  python3 "$FAULTS_DIR/hostile.py" --role normal --port "$jport" --coupon "$id2" --seconds "$2" \
    --rate 200 --user-base "$((ub + $3))" --pid "$jpid" --accepted "$pre2.accepted" \
    --token-file "$K/normal.tok" --source 127.0.0.2 >"$WORK/jnormal_$1.json"
}
log "flood baseline: the normal client with tokens alone for 8 s"
jnormal before 8 0
log "flood: invalid tokens from 127.0.0.1 at 1,000/s, 20,000 requests or 20 s"
python3 "$FAULTS_DIR/hostile.py" --role flood --port "$jport" --coupon "$id3" --seconds 20 \
  --requests 20000 --rate 1000 >"$WORK/flood.json" 2>"$WORK/flood.err" &
flood_pid=$!
sleep 1
jnormal during 18 100000
wait "$flood_pid" || log "flood exited non-zero: $(tail -n 3 "$WORK/flood.err")"
python3 - "$WORK" >"$WORK/flood_verdict.txt" <<'PY' || verdict=fail
import json, sys
w = sys.argv[1]
f = json.load(open(w + '/flood.json'))
ph = {p: json.load(open('%s/jnormal_%s.json' % (w, p))) for p in ('before', 'during')}
ok = True
print('flood: %d requests in %s s (%s/s), answers %s, first runs %s, 202s %d, errors %s'
      % (f['requests'], f['seconds'], f['rate'], f['answers'], f['runs'][:4], f['accepted'], f['errors']))
n401 = sum(v for k, v in f['answers'].items() if k.startswith('401'))
n429a = f['answers'].get('429 rate_limited: auth_failures', 0)
if f['accepted'] or any(not (k.startswith('401') or k.startswith('429 rate_limited')) for k in f['answers']):
    print('  FAIL: a flood request was not refused'); ok = False
if not f['runs'] or not f['runs'][0][0].startswith('401'):
    print('  FAIL: the flood was not answered 401 first'); ok = False
if n401 > 20 + f['seconds'] * 1 + 5:
    print('  FAIL: %d x 401: the failed-authentication budget did not hold' % n401); ok = False
if n429a < f['requests'] // 2:
    print('  FAIL: only %d x 429 auth_failures' % n429a); ok = False
for p, d in ph.items():
    print('normal client (tokens) %-6s: %4d requests, statuses %s, errors %s, p50 %s ms, p99 %s ms'
          % (p, d['requests'], d['status'], d['errors'] or 0, d['p50_ms'], d['p99_ms']))
    if d['errors'] or d['answered'] == 0 or set(d['status']) != {'202'}:
        print('  FAIL: the normal client did not get a 202 for every request'); ok = False
json.dump({'flood_requests': f['requests'], 'flood_s': f['seconds'], 'flood_rate': f['rate'],
           'flood_401': n401, 'flood_429_auth': n429a,
           'flood_429_ip': f['answers'].get('429 rate_limited: ip', 0), 'flood_202': f['accepted'],
           'p50_before': ph['before']['p50_ms'], 'p99_before': ph['before']['p99_ms'],
           'p50_during': ph['during']['p50_ms'], 'p99_during': ph['during']['p99_ms'],
           'n202_before': ph['before']['status'].get('202', 0),
           'n202_during': ph['during']['status'].get('202', 0)}, open(w + '/flood_verdict.json', 'w'))
sys.exit(0 if ok else 1)
PY
cat "$WORK/flood_verdict.txt"
fl_scard=$(admitted_of "$id3")
[[ $fl_scard == 0 ]] || { log "flood coupon: SCARD $fl_scard, want 0"; verdict=fail; }
fv=$WORK/flood_verdict.json
result flood="$(jget "$fv" flood_requests) invalid tokens from one IP in $(jget "$fv" flood_s) s ($(jget "$fv" flood_rate)/s) against --auth jwt with the default limits: $(jget "$fv" flood_401) x 401, $(jget "$fv" flood_429_auth) x 429 auth_failures, $(jget "$fv" flood_429_ip) x 429 ip, $(jget "$fv" flood_202) x 202, SCARD $fl_scard" \
  flood_normal_202_before_during="$(jget "$fv" n202_before)/$(jget "$fv" n202_during)" \
  flood_normal_p50_ms_before_during="$(jget "$fv" p50_before)/$(jget "$fv" p50_during)" \
  flood_normal_p99_ms_before_during="$(jget "$fv" p99_before)/$(jget "$fv" p99_during)"
[[ ${verdict:-} == fail ]] && ok=fail
wait_drain "$id2" 60 >/dev/null || true
check "$id2" -1 "$pre2" || ok=fail
drain_s=$(wait_drain "$id" 60) || true
check "$id" -1 "$pre" || ok=fail
v=$WORK/verdict.json
result done="${attack_s}s attack: $slow slowloris + $idle idle conns, 64 KiB headers, 1 GB / chunked bodies, pipelined garbage, random bytes; a normal client at 200 req/s before, during, after; then a hostile-token flood: invalid tokens from one IP at 1,000/s against --auth jwt with the default limits, beside a normal client with valid tokens from another IP" \
  requests="$(jget "$v" normal_requests)" accepted="$(jget "$v" normal_202)" \
  p99_ms_before_during_after="$(jget "$v" p99_before)/$(jget "$v" p99_during)/$(jget "$v" p99_after)" \
  api_rss_mib_before_peak="$(jget "$v" "round(rss_base_kib/1024)")/$(jget "$v" "round(rss_peak_kib/1024)")" \
  api_alive_healthz_after="$alive/$health" \
  normal_errors_before_during_after="$(jget "$v" "'/'.join(str(normal_errors[p]) for p in ('before','during','after'))")" \
  attack="$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("; ".join(k+" "+" ".join("%s=%s" % kv for kv in sorted(v.items())) for k, v in sorted(d.items())))' "$WORK/attack.json")" \
  recovery="normal client p99 $(jget "$v" p99_before) ms before, $(jget "$v" p99_during) ms during, $(jget "$v" p99_after) ms after; errors $(jget "$v" "'/'.join(str(normal_errors[p]) for p in ('before','during','after'))"); api peak RSS $(jget "$v" "round(rss_peak_kib/1024)") MiB; token flood: $(jget "$fv" flood_401) x 401, $(jget "$fv" flood_429_auth) x 429 auth_failures, $(jget "$fv" flood_202) x 202 of $(jget "$fv" flood_requests), the client with tokens all 202, p99 $(jget "$fv" p99_before) ms before, $(jget "$fv" p99_during) ms during"
finish "$ok"
