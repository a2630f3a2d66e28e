# bench/latency.bash -- the latency-floor scenario of bench/run (sourced by
# it; uses its bench, start_api, new_coupon, record, $OUT and its CPU
# helpers cpu_mark, cpu_since, gen_run, stack_pid).
#
# The accept path's latency and cost at low and moderate load, next to
# nginx, in one run: closed loop at LAT_LOADS' c1 c16 c64 c256 (connections)
# and open loop at r1000 r10000 (Poisson arrivals/s). Each load runs against
#   nginx    the do-nothing HTTP baseline (bench/baseline/nginx.conf)
#   before   couponq-api -X linger.ms=2 --kafka-partitioning key (the
#            produce path before issue 15)
#   after    couponq-api with its defaults
#   soldout  the "after" api on a sold-out coupon (c64 and c256 only): the
#            same HTTP and Redis round trip with no produce, i.e. the accept
#            path with a free Kafka -- the bound the targets are held to
# in LAT_ROUNDS interleaved rounds (the machine is shared: a round's noise
# hits every server alike). Around every run the CPU time of each process
# (utime + stime of all its threads, /proc/PID/stat) is read: the api, Redis,
# the Kafka broker (the stack's pid files), nginx (master and worker) and the
# generator itself (bash `times` of its subshell); the report divides each
# by the answers of the run. Idle CPU of Redis and the broker is measured
# first, with nothing running, so the low-load rows can be read net of it.

LAT_LOADS=${LAT_LOADS:-"c1 c16 c64 c256 r1000 r10000"}
LAT_ROUNDS=${LAT_ROUNDS:-2}
LAT_IDLE_S=${LAT_IDLE_S:-5}
LAT_USER=0 # users of each run start at a fresh base: every request is new

# lat_segs PID -- TCP segments with data the process has sent to the Kafka
# broker (ss -ti data_segs_out over its connections): with Nagle off about
# one per request, so events / segments is the events per produce request.
# librdkafka 2.0.2 builds one request per partition: "after" puts a loop
# iteration's events on one partition (--kafka-partitioning sticky), so one
# request per iteration; "before" spreads them over the partitions by key.
lat_segs() {
  ss -tinpH state established "( dport = :${COUPONQ_KAFKA##*:} )" 2>/dev/null |
    awk -v pid="pid=$1," 'index($0, pid) { want = 1; next }
      want { if (match($0, /data_segs_out:[0-9]+/)) n += substr($0, RSTART + 14, RLENGTH - 14); want = 0 }
      END { print n + 0 }'
}

# lat_gc PID -- "young-collections young-ms" of a JVM so far (jstat -gc),
# or "null null" without jstat: the broker's pauses are its tail latency.
lat_gc() {
  command -v jstat >/dev/null || { echo "null null"; return 0; }
  jstat -gc "$1" 2>/dev/null | awk 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i }
    NR == 2 { printf "%d %.0f\n", $c["YGC"], $c["YGCT"] * 1000 }' | grep . || echo "null null"
}

# lat_run VARIANT LOAD TARGET COUPON ROLE=PID[,PID]... -- one generator run
# with the CPU of every role and of the generator around it, recorded.
lat_run() {
  local variant=$1 load=$2 target=$3 coupon=$4 args=() r
  local json out cpu
  shift 4
  LAT_USER=$((LAT_USER + 1))
  args=(--target "$target" --duration "$MEASURE_S" --drain 5
    --label "latency floor: $variant, $load")
  [[ $coupon != - ]] && args+=(--coupon "$coupon" --user-base "$((LAT_USER * 1000000000))")
  case $load in
    c*) args+=(--connections "${load#c}") ;;
    r*) args+=(--rate "${load#r}" --connections 256) ;;
  esac
  cpu_mark "$@"
  local segs0=0 segs1=0 api_pid=
  for r in "$@"; do [[ $r == api=* ]] && api_pid=${r#api=}; done
  [[ -n $api_pid ]] && segs0=$(lat_segs "$api_pid")
  local gc0 gc1
  gc0=$(lat_gc "$LAT_KAFKA")
  out=$OUT/logs/latency-$variant-$load-$(date +%s%N)
  local loadavg
  loadavg=$(cut -d' ' -f1 /proc/loadavg)
  echo "\$ couponq-bench ${args[*]}"
  gen_run "$out.out" "${args[@]}" >/dev/null
  grep -v '^{' "$out.out" || true
  json=$(grep '^{' "$out.out" | tail -n 1)
  [[ -n $json ]] || fail "latency-floor: couponq-bench printed no JSON ($out.out)"
  [[ -n $api_pid ]] && segs1=$(lat_segs "$api_pid")
  gc1=$(lat_gc "$LAT_KAFKA")
  cpu=$(cpu_since "{\"generator\":$(gen_cpu_s "$out.out")}")
  json=$(jq -c --arg v "$variant" --arg l "$load" --argjson cpu "$cpu" \
    --argjson round "$LAT_ROUND" --argjson la "$loadavg" --argjson segs "$((segs1 - segs0))" \
    --argjson gc "[${gc0// /,},${gc1// /,}]" \
    --arg cmd "couponq-bench$(printf ' %q' "${args[@]}")" --arg exp "${LAT_EXP_ARGS:-}" \
    '. + {scenario:"latency-floor", variant:$v, load:$l, round:$round,
          args:(if $v == "exp" then "`" + $exp + "`" else null end),
          cpu_s:$cpu, kafka_segments:$segs, loadavg_before:$la, cmd:$cmd,
          broker_young_gc:(if $gc[0] == null or $gc[2] == null then null
            else {count:($gc[2] - $gc[0]), ms:($gc[3] - $gc[1])} end)}' <<<"$json")
  record "$json"
  jq -r '([.answered, 1] | max) as $n | "  cpu µs per answer: " +
    ([.cpu_s | to_entries[] | "\(.key) \(.value * 1e8 / $n | round / 100)"]
    | join(", "))' <<<"$json"
}

# lat_idle -- the CPU Redis and the broker use with nothing running.
lat_idle() {
  local r0 k0 r1 k1 hz
  hz=$(getconf CLK_TCK)
  r0=$(cpu_ticks "$LAT_REDIS") k0=$(cpu_ticks "$LAT_KAFKA")
  sleep "$LAT_IDLE_S"
  r1=$(cpu_ticks "$LAT_REDIS") k1=$(cpu_ticks "$LAT_KAFKA")
  record "$(jq -nc --argjson r "$((r1 - r0))" --argjson k "$((k1 - k0))" \
    --argjson s "$LAT_IDLE_S" --argjson hz "$hz" \
    '{scenario:"latency-idle", seconds:$s, redis_cpu_s:($r / $hz), kafka_cpu_s:($k / $hz)}')"
  say "latency-floor: idle for ${LAT_IDLE_S} s: Redis $(((r1 - r0) * 1000 / hz)) ms, Kafka broker $(((k1 - k0) * 1000 / hz)) ms of CPU"
}

scn_latency_floor() {
  local d=$OUT/nginx-latency nport npids b_pid b_port a_pid a_port
  local b_id a_id s_id load stack t port id
  LAT_REDIS=$(stack_pid redis)
  LAT_KAFKA=$(stack_pid kafka)
  stack="redis=$LAT_REDIS kafka=$LAT_KAFKA"
  mkdir -p "$d/logs" "$d/tmp"
  cp "$SRC/bench/baseline/nginx.conf" "$d/"
  nport=$(free_port)
  echo "listen 127.0.0.1:$nport;" >"$d/listen.conf"
  start_bg nginx-latency nginx -e "$d/logs/error.log" -p "$d" -c "$d/nginx.conf" \
    -g "daemon off; pid $d/nginx.pid;"
  npids=$BG_PID
  wait_http "$nport" /
  npids="$npids,$(pgrep -P "$BG_PID" | paste -sd, -)"
  start_api latency-before -X linger.ms=2 --kafka-partitioning key
  b_pid=$API_PID b_port=$API_PORT
  start_api latency-after
  a_pid=$API_PID a_port=$API_PORT
  # LAT_EXP_ARGS: a third api ("exp") with these arguments beside the
  # defaults, for trying a produce setting in the same run.
  local e_pid= e_port= e_id=
  if [[ -n ${LAT_EXP_ARGS:-} ]]; then
    # shellcheck disable=SC2086 # word-split on purpose: arguments
    start_api latency-exp $LAT_EXP_ARGS
    e_pid=$API_PID e_port=$API_PORT e_id=$(new_coupon -1)
  fi
  b_id=$(new_coupon -1) a_id=$(new_coupon -1) s_id=$(new_coupon 1)
  # Warm-up: connections to Redis and Kafka made, the broker's JIT warm.
  for t in "$b_port $b_id" "$a_port $a_id" ${e_pid:+"$e_port $e_id"}; do
    read -r port id <<<"$t"
    "$BENCH" --target "127.0.0.1:$port" --coupon "$id" --user-base 1 \
      --duration 2 --connections 64 --quiet >/dev/null
  done
  lat_idle
  for ((LAT_ROUND = 1; LAT_ROUND <= LAT_ROUNDS; LAT_ROUND++)); do
    say "latency-floor: round $LAT_ROUND of $LAT_ROUNDS (load average $(cut -d' ' -f1-3 /proc/loadavg))"
    for load in $LAT_LOADS; do
      lat_run nginx "$load" "127.0.0.1:$nport" - "nginx=$npids" $stack
      lat_run before "$load" "127.0.0.1:$b_port" "$b_id" "api=$b_pid" $stack
      lat_run after "$load" "127.0.0.1:$a_port" "$a_id" "api=$a_pid" $stack
      [[ -n $e_pid ]] && lat_run exp "$load" "127.0.0.1:$e_port" "$e_id" "api=$e_pid" $stack
      if [[ $load == c64 || $load == c256 ]]; then
        lat_run soldout "$load" "127.0.0.1:$a_port" "$s_id" "api=$a_pid" $stack
      fi
    done
  done
  kill -TERM "$b_pid" "$a_pid" $e_pid "${npids%%,*}" 2>/dev/null || true
  API_PID=
}

# report_latency FILE|- [replace] -- the "Latency floor" section, appended
# to FILE after report() wrote it, or with "replace" in place of FILE's own
# (up to the next "## " heading); "-": the summary lines.
report_latency() {
  python3 - "$RESULTS" "$1" "${2:-append}" <<'PY'
import json, sys
res = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
dest, how = sys.argv[2], sys.argv[3]
runs = [r for r in res if r.get("scenario") == "latency-floor"]
idle = next((r for r in res if r.get("scenario") == "latency-idle"), None)
env = next((r for r in res if r.get("scenario") == "env"), {})
if not runs:
    sys.exit(0)
ROLES = ("api", "redis", "kafka", "nginx", "generator")
def rate(r):
    n = r["result"].get("accepted", 0) if r["variant"] in ("before", "after", "exp") else r["answered"]
    return n / r["total_s"] if r["total_s"] > 0 else 0.0
def per(r, role):  # µs of CPU per answer (accepted on the accept path)
    n = r["result"].get("accepted", 0) if r["variant"] in ("before", "after", "exp") else r["answered"]
    v = r["cpu_s"].get(role)
    return None if v is None or n == 0 else v * 1e6 / n
def mean(xs):
    xs = [x for x in xs if x is not None]
    return sum(xs) / len(xs) if xs else None
loads = []
for r in runs:
    if r["load"] not in loads:
        loads.append(r["load"])
VARIANTS = [("nginx", "nginx `return 202`"), ("before", "api, `-X linger.ms=2 --kafka-partitioning key` (before)"),
            ("after", "api, defaults (after)"), ("soldout", "api, sold-out path (no produce)")]
if any(r["variant"] == "exp" for r in runs):  # LAT_EXP_ARGS: a trial beside them
    VARIANTS.insert(3, ("exp", "api, " + next(r for r in runs if r["variant"] == "exp").get("args", "LAT_EXP_ARGS")))
def group(v, l):
    return [r for r in runs if r["variant"] == v and r["load"] == l]
def agg(v, l):
    g = group(v, l)
    if not g:
        return None
    return {"rate": mean([rate(r) for r in g]),
            "p50": mean([r["latency_ms"]["p50"] for r in g]),
            "p99": mean([r["latency_ms"]["p99"] for r in g]),
            "cpu": {k: mean([per(r, k) for r in g]) for k in ROLES},
            "per_req": mean([r["result"].get("accepted", 0) / r["kafka_segments"]
                             for r in g if r.get("kafka_segments")]) if v in ("before", "after", "exp") else None,
            "gc": [r["broker_young_gc"] for r in g if r.get("broker_young_gc")],
            "load": [r.get("loadavg_before") for r in g], "n": len(g), "runs": g}
def fmt(x, d=0):
    return "n/a" if x is None else f"{x:,.{d}f}"
def gcs(a):  # per run, mean of the rounds
    if not a["gc"]:
        return ""
    return f"{mean([g['count'] for g in a['gc']]):.1f}, {mean([g['ms'] for g in a['gc']]):.0f}"
def cell(x):
    return "" if x is None else f"{x:,.1f}"
def lname(l):
    return f"closed, {l[1:]} conn{'s' if l != 'c1' else ''}" if l[0] == "c" else f"open, {int(l[1:]):,}/s"
A = {(v, l): agg(v, l) for v, _ in VARIANTS for l in loads}
def ratio(a, b):
    return None if a is None or not b else a / b
after64, after256 = A.get(("after", "c64")), A.get(("after", "c256"))
nginx256 = A.get(("nginx", "c256"))
before256, sold256 = A.get(("before", "c256")), A.get(("soldout", "c256"))
def fx(x):
    return "n/a" if x is None else f"{x:.2f}×"
def acc_ratio(x):
    return ratio(x["rate"], nginx256["rate"]) if x and nginx256 else None
def cpu_ratio(x):
    return ratio(x["cpu"]["api"], nginx256["cpu"]["nginx"]) if x and nginx256 else None
def met(ok):
    return "not measured" if ok is None else ("met" if ok else "**not met**")
t1 = None if after64 is None else (after64["p50"] <= 1.5 and after64["p99"] <= 4)
t2 = None if acc_ratio(after256) is None else acc_ratio(after256) >= 0.65
t3 = None if cpu_ratio(after256) is None else cpu_ratio(after256) <= 1.25
if dest == "-":
    print("\n== latency floor (same run) ==")
    if after64:
        print(f"  after, 64 conns: p50 {after64['p50']:.3f} ms, p99 {after64['p99']:.3f} ms   target p50 <= 1.5, p99 <= 4: {met(t1)}")
    print(f"  accept path / nginx at 256: after {fmt(acc_ratio(after256), 2)}, before {fmt(acc_ratio(before256), 2)}, sold-out {fmt(acc_ratio(sold256), 2)}   target >= 0.65: {met(t2)}")
    print(f"  api CPU per request / nginx's at 256: after {fmt(cpu_ratio(after256), 2)}, before {fmt(cpu_ratio(before256), 2)}, sold-out {fmt(cpu_ratio(sold256), 2)}   target <= 1.25: {met(t3)}")
    sys.exit(0)
L = []
w = L.append
ncores = int(env.get("cores", "2") or 2)
w("## Latency floor: the accept path at low and moderate load\n")
w(f"Measured on {env.get('date', '?')} (commit `{env.get('commit', '?')}`, {env.get('build_type', '?')} "
  f"build) by `bench/run --only env,latency-floor` (`--report-latency` puts this section in place "
  "without touching the others; a full `--report` run includes it).\n")
nr = max(r["round"] for r in runs)
w(f"Closed loop at 1, 16, 64 and 256 connections and open loop (Poisson) at 1,000 and 10,000/s, "
  f"{runs[0]['total_s']:.0f} s each, {nr} interleaved round{'s' if nr > 1 else ''} (every figure is the "
  "mean of the rounds), against nginx, the api as it was before issue 15 (`-X linger.ms=2 --kafka-partitioning key`), the api "
  "with its defaults, and that api on a sold-out coupon (the same HTTP and Redis work, no produce: "
  "the accept path with a free Kafka). CPU is utime + stime of every thread of each process "
  "(`/proc/PID/stat`) read around each run, divided by the run's answers (accepted requests on the "
  "accept path); the generator's is its own (`times`). Rates are accepted/s on the accept path, "
  "answers/s otherwise. *Events per produce request*: accepted events ÷ TCP segments the api sent "
  "to the broker (`ss -ti` data_segs_out; with Nagle off about one per request). librdkafka "
  "builds one ProduceRequest per partition (6 here): the defaults put each loop iteration's events "
  "on one partition (`--kafka-partitioning sticky`), before spread them over the 6 by key.\n")
if idle:
    w(f"Idle, with nothing running, for {idle['seconds']} s: Redis used "
      f"{idle['redis_cpu_s'] * 1000 / idle['seconds']:.1f} ms/s of CPU and the Kafka broker "
      f"{idle['kafka_cpu_s'] * 1000 / idle['seconds']:.1f} ms/s; at 1 connection or 1,000/s that "
      "idle share is part of the per-request figures.\n")
def ba(l, what):
    b, a = A.get(("before", l)), A.get(("after", l))
    if not b or not a:
        return None
    return what(b), what(a)
facts = []
for l, label, what, unit, d in (
        ("c1", "1 connection, p50", lambda x: x["p50"], " ms", 2),
        ("c64", "64 connections, p50", lambda x: x["p50"], " ms", 2),
        ("c64", "64 connections, p99", lambda x: x["p99"], " ms", 2),
        ("c64", "64 connections", lambda x: x["rate"], " accepted/s", 0),
        ("c256", "256 connections", lambda x: x["rate"], " accepted/s", 0),
        ("r10000", "10,000/s, the broker's CPU per event", lambda x: x["cpu"]["kafka"], " µs", 1),
        ("r10000", "10,000/s, events per produce request", lambda x: x["per_req"], "", 1)):
    v = ba(l, what)
    if v and None not in v:
        facts.append(f"{label} {fmt(v[0], d)} → {fmt(v[1], d)}{unit}")
if facts:
    w("**Before → after** (means of the rounds): " + "; ".join(facts) + ".\n")
w("CPU columns: µs of CPU per answer (per accepted request on the accept path). Redis and the "
  "broker are left blank in the nginx rows: they took no part.\n")
w("| load | server | rate/s | p50 ms | p99 ms | events per produce request | api | Redis | Kafka broker | nginx | generator | broker young GCs (pauses, ms) | load avg before (each round) |")
w("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for l in loads:
    for v, name in VARIANTS:
        a = A[(v, l)]
        if a is None:
            continue
        c = dict(a["cpu"])
        if v == "nginx":
            c["redis"] = c["kafka"] = None
        w(f"| {lname(l)} | {name} | {fmt(a['rate'])} | {a['p50']:.3f} | {a['p99']:.3f} | "
          f"{'' if a['per_req'] is None else fmt(a['per_req'], 1)} | "
          f"{cell(c['api'])} | {cell(c['redis'])} | {cell(c['kafka'])} | {cell(c['nginx'])} | "
          f"{cell(c['generator'])} | {gcs(a)} | {' / '.join(str(x) for x in a['load'])} |")
w("")
w("### Targets (same run)\n")
w("| target | before | after | sold-out path (no produce) | |")
w("|---|---|---|---|---|")
b64 = A.get(("before", "c64"))
s64 = A.get(("soldout", "c64"))
def lat(x):
    return "" if x is None else f"p50 {x['p50']:.2f} / p99 {x['p99']:.2f} ms"
w(f"| p50 ≤ 1.5 ms and p99 ≤ 4 ms at 64 connections, closed loop | {lat(b64)} | {lat(after64)} | {lat(s64)} | {met(t1)} |")
w(f"| accept path ≥ 0.65× nginx at 256 connections | {fx(acc_ratio(before256))} | {fx(acc_ratio(after256))} | {fx(acc_ratio(sold256))} | {met(t2)} |")
w(f"| api CPU per accepted request ≤ 1.25× nginx's per request (256 connections) | {fx(cpu_ratio(before256))} | {fx(cpu_ratio(after256))} | {fx(cpu_ratio(sold256))} | {met(t3)} |")
w("")
def gc_note(a):
    if not a["gc"]:
        return ""
    n = sum(g["count"] for g in a["gc"])
    ms = sum(g["ms"] for g in a["gc"])
    span = sum(r["total_s"] for r in a["runs"]) * 1000
    if n == 0:
        return " The broker did not pause for a young collection during these runs."
    return (f" The tail: during these runs the broker paused {n} times for a young collection "
            f"(jstat -gc), {ms / n:.0f} ms on average, {100 * ms / span:.1f}% of the time; a request "
            "in flight during a pause waits for it, so once that share nears 1% the p99 is about "
            "a pause long, whatever the produce path does.")
def total(x, roles=("api", "redis", "kafka", "generator")):
    return sum(x["cpu"][k] for k in roles if x["cpu"][k] is not None)
if after64:
    busy = total(after64) * after64["rate"] / 1e6
    w(f"**Why the latency at 64 connections is what it is.** A closed loop of 64 connections "
      f"waits 64 ÷ rate on average (Little's law): {64e3 / after64['rate']:.2f} ms at the "
      f"{after64['rate']:,.0f}/s measured. At that rate the api, Redis, the broker and the "
      f"generator kept {busy:.2f} of the {ncores} cores busy ({total(after64):.1f} µs per request), "
      "beside whatever else ran on the machine"
      + (": with more runnable processes than cores (load averages above) the rate, and so the "
         "latency, is set by the CPU these processes get." if max(x for x in after64["load"] if x is not None) > ncores
         else ".")
      + gc_note(after64) + "\n")
if after256 and nginx256:
    c = after256["cpu"]
    tot = total(after256)
    ng = total(nginx256, ("nginx", "generator"))
    cap = ncores / tot * 1e6
    need_us = ng / 0.65
    base = (c["generator"] or 0) + (c["redis"] or 0) + (sold256["cpu"]["api"] if sold256 else 0)
    w(f"**The CPU budget at 256 connections.** An accepted request cost {tot:.1f} µs of CPU in all "
      f"(api {fmt(c['api'], 1)}, Redis {fmt(c['redis'], 1)}, broker {fmt(c['kafka'], 1)}, generator "
      f"{fmt(c['generator'], 1)}), an nginx answer {ng:.1f} µs (nginx and generator). On {ncores} cores "
      f"the accept path tops out at {cap:,.0f}/s with the machine to itself, and when both sides are "
      f"bound by the CPU they get, their rates are in the inverse ratio of these costs: "
      f"{ng / tot:.2f}×. 0.65× at equal CPU needs at most {need_us:.1f} µs per accepted request for "
      "all four processes"
      + (f"; the generator ({fmt(c['generator'], 1)}), Redis's admission ({fmt(c['redis'], 1)}) and the "
         f"api without any produce (the sold-out row, {fmt(sold256['cpu']['api'], 1)}) already take "
         f"{base:.1f} µs before the broker does any work" if sold256 else "")
      + (": out of reach on this machine." if sold256 and base >= need_us
         else ": not at this cost." if tot > need_us else ".") + "\n")
    if sold256:
        sc = sold256["cpu"]["api"]
        w(f"**The api's CPU.** The sold-out path does the same HTTP and Redis round trip with no "
          f"produce; it cost the api {fmt(sc, 1)} µs per answer, {fmt(cpu_ratio(sold256), 2)}× "
          f"nginx's {fmt(nginx256['cpu']['nginx'], 1)} µs. The target (1.25× = "
          f"{1.25 * nginx256['cpu']['nginx']:.1f} µs) "
          + (f"leaves {1.25 * nginx256['cpu']['nginx'] - sc:.1f} µs per event for the whole produce path"
             if sc < 1.25 * nginx256['cpu']['nginx'] else
             f"is exceeded by {sc - 1.25 * nginx256['cpu']['nginx']:.1f} µs before any produce")
          + " (librdkafka's copy and queueing, its broker thread, the delivery report); "
          f"the produce path took "
          f"{c['api'] - sc:.1f} µs with linger.ms=0 and "
          + (f"{before256['cpu']['api'] - sc:.1f} µs with linger.ms=2." if before256 else "n/a before.")
          + "\n")
loads_all = [r.get("loadavg_before") for r in runs if r.get("loadavg_before") is not None]
if loads_all:
    w(f"Load average before these runs: {min(loads_all):.2f}–{max(loads_all):.2f} on {ncores} cores"
      + (" -- **more runnable processes than cores: other work competed with every server here, "
         "so read the rates and tails as this run's, and the CPU per request and the ratios "
         "between rows of the same round as the comparable part.**" if max(loads_all) > ncores else ".")
      + "\n")
w("Commands (one round; the user base changes per run):\n```")
for r in runs:
    if r["round"] == 1:
        w(r["cmd"])
w("```\n")
new = L + [""]
if how == "replace":
    old = open(dest).read().split("\n")
    heads = [i for i, l in enumerate(old) if l.startswith("## ")]
    at = next((i for i in heads if old[i].startswith("## Latency floor")), None)
    if at is None:
        while old and old[-1] == "":
            old.pop()
        old, at, upto = old + [""], len(old) + 1, len(old) + 1
    else:
        upto = next((i for i in heads if i > at), len(old))
    open(dest, "w").write("\n".join(old[:at] + new + old[upto:]))
    print(f"bench/run: replaced the Latency floor section of {dest}")
else:
    with open(dest, "a") as f:
        f.write("\n".join(new))
    print(f"bench/run: appended the Latency floor section to {dest}")
PY
}
