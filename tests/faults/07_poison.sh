#!/usr/bin/env bash
# 07_poison -- poison events injected into the topic among valid ones: bad
# JSON, wrong type, wrong version, missing/bad/unknown fields, a 100 KiB
# payload, an unknown coupon. Every poison event must land in the DLQ with
# its reason (and source headers), every valid event must become a row, and
# the pipeline must not stall: two workers drain it all within the limit.
source "$(dirname "$0")/lib.sh"
need couponq-worker

valid=$(size 2000 20000)
each=$(size 20 200)
id=$(new_coupon_id)
missing=$((id + 1))
new_topic
coupon_create "$id" "$valid"
pre=$WORK/load
python3 "$FAULTS_DIR/events.py" --coupon "$id" --missing-coupon "$missing" --valid "$valid" \
  --each "$each" --user-base "$((id * 10))" --expect "$WORK/expect.json" >"$WORK/events.tsv"
# The valid users are what the api would have admitted and answered 202.
python3 -c 'import json,sys; print("\n".join(map(str, json.load(open(sys.argv[1]))["valid_users"])))' \
  "$WORK/expect.json" >"$pre.accepted"
: >"$pre.unknown"
xargs -n 1000 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" SADD "$(ckey "$id" issued)" <"$pre.accepted" >/dev/null
npoison=$((each * 8))
log "producing $valid valid + $npoison poison events to $TOPIC"
kcat -b "$COUPONQ_KAFKA" -P -t "$TOPIC" -K $'\t' -X message.max.bytes=1000000 <"$WORK/events.tsv" ||
  die "kcat could not produce"

t0=$(now)
worker_start w1
worker_start w2
drain_s=$(wait_drain "$id" "$(size 120 600)") || true
# The DLQ: one entry per poison event, each with the right reason.
dlq_json() { kcat -b "$COUPONQ_KAFKA" -C -t "$TOPIC.dlq" -e -q -J 2>/dev/null; }
for _ in $(seq 120); do
  n=$(dlq_json | wc -l)
  ((n >= npoison)) && break
  sleep 0.5
done
all_s=$(elapsed "$t0")
dlq_json >"$WORK/dlq.jsonl"
python3 - "$WORK/expect.json" "$WORK/dlq.jsonl" "$TOPIC" >"$WORK/dlq.txt" <<'PY' || dlq_bad=1
import json, sys
want = json.load(open(sys.argv[1]))['reasons']
got, seen, bad = {}, set(), 0
for line in open(sys.argv[2]):
    m = json.loads(line)
    h = m.get('headers') or []
    hd = dict(zip(h[0::2], h[1::2])) if h and isinstance(h[0], str) else {}
    src = (hd.get('source_topic'), hd.get('source_partition'), hd.get('source_offset'))
    if src in seen:  # at-least-once DLQ: dedupe by source, as its readers do
        continue
    seen.add(src)
    if src[0] != sys.argv[3] or src[1] is None or src[2] is None:
        bad += 1
    r = hd.get('reason', '?')
    got[r] = got.get(r, 0) + 1
for r in sorted(set(want) | set(got)):
    print('  %-15s expected %5d  in DLQ %5d  %s' % (r, want.get(r, 0), got.get(r, 0),
          'ok' if want.get(r, 0) == got.get(r, 0) else 'MISMATCH'))
print('  entries without source headers: %d' % bad)
sys.exit(0 if got == want and bad == 0 else 1)
PY
cat "$WORK/dlq.txt"
ok=pass
[[ ${dlq_bad:-0} == 0 ]] || { log "DLQ reasons differ from the poison injected"; ok=fail; }
check "$id" "$valid" "$pre" || ok=fail
result done="$valid valid + $npoison poison events (8 kinds) in one topic, 2 workers" \
  requests="$((valid + npoison))" accepted="$valid" \
  recovery="all rows in ${drain_s}s; all DLQ entries in ${all_s}s" \
  dlq="$(grep -c ok "$WORK/dlq.txt" || true)/8 reasons exact"
finish "$ok"
