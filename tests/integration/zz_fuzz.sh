#!/usr/bin/env bash
# zz_fuzz -- builds the libFuzzer targets (tests/fuzz/fuzz_*.c) with clang in
# a build dir of their own (<build>-fuzz; every module compiled with
# -fsanitize=fuzzer-no-link so libFuzzer sees their coverage, plus ASan and
# UBSan) and runs each from its seed corpus for FUZZ_SECONDS (default 30,
# down from 45 to keep scripts/test within 40 minutes: it took 41.7 on this
# session's slower machine). The targets run FUZZ_JOBS at a time (default:
# the cores): each libFuzzer process is one thread, so on 2 cores two
# targets fuzz side by side for the same 30 s each, and the test takes half
# the wall time with the same fuzzing per target.
# Fails on any crash, leak, sanitizer report or timeout; a crashing input is
# left under the work dir (its path is printed) to be added to the corpus
# once fixed. Needs no stack.
set -euo pipefail
COUPONQ_SRC=${COUPONQ_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
COUPONQ_BUILD=${COUPONQ_BUILD:-$COUPONQ_SRC/build}
FUZZ_BUILD=${FUZZ_BUILD:-$COUPONQ_BUILD-fuzz}
SECONDS_EACH=${FUZZ_SECONDS:-30}
WORK=$(mktemp -d /tmp/couponq-fuzz.XXXXXX)

command -v clang >/dev/null || { echo "zz_fuzz: clang not found" >&2; exit 1; }
cmake -S "$COUPONQ_SRC" -B "$FUZZ_BUILD" -DFUZZ=ON -DSANITIZE=ON \
  -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link >"$WORK/cmake.log" 2>&1 ||
  { tail -n 30 "$WORK/cmake.log"; exit 1; }

JOBS=${FUZZ_JOBS:-$(nproc)}
failed=0
targets=()
for src in "$COUPONQ_SRC"/tests/fuzz/fuzz_*.c; do
  t=$(basename "$src" .c)
  if ! cmake --build "$FUZZ_BUILD" -j2 --target "$t" >"$WORK/$t.build.log" 2>&1; then
    grep -E -A3 'error' "$WORK/$t.build.log" | head -n 40
    echo "zz_fuzz: FAIL: $t does not build"
    failed=1
    continue
  fi
  targets+=("$t")
done

# One target's run; its exit status goes to $WORK/$t.rc.
fuzz_one() {
  local t=$1 rc=0
  mkdir -p "$WORK/$t.corpus" "$WORK/$t.artifacts"
  # New inputs go to the work dir; the seed corpus in the repo stays as is.
  (cd "$WORK" && "$FUZZ_BUILD/$t" -max_total_time="$SECONDS_EACH" -timeout=10 \
    -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 \
    -artifact_prefix="$WORK/$t.artifacts/" "$WORK/$t.corpus" \
    "$COUPONQ_SRC/tests/fuzz/corpus/$t" >"$WORK/$t.log" 2>&1) || rc=$?
  echo "$rc" >"$WORK/$t.rc"
}

# JOBS at a time: start one, and once JOBS run, wait for the oldest.
pids=()
for t in "${targets[@]}"; do
  fuzz_one "$t" &
  pids+=($!)
  if ((${#pids[@]} >= JOBS)); then
    wait "${pids[0]}"
    pids=("${pids[@]:1}")
  fi
done
for p in "${pids[@]}"; do wait "$p"; done

for t in "${targets[@]}"; do
  rc=$(cat "$WORK/$t.rc" 2>/dev/null || echo "no exit status")
  runs=$(grep -E '^stat::number_of_executed_units' "$WORK/$t.log" | awk '{print $2}' || true)
  cov=$(grep -E '#[0-9]+.*cov:' "$WORK/$t.log" | tail -n 1 | grep -oE 'cov: [0-9]+' || true)
  if [[ $rc != 0 ]]; then
    echo "zz_fuzz: FAIL: $t exited $rc after ${runs:-?} executions; log $WORK/$t.log, input(s):"
    ls "$WORK/$t.artifacts/"
    grep -E -m1 -A12 'ERROR|SUMMARY|deadly signal' "$WORK/$t.log" || tail -n 20 "$WORK/$t.log"
    failed=1
  else
    echo "zz_fuzz: ok: $t ${runs:-?} executions in ${SECONDS_EACH}s, $cov, no crash"
  fi
done
if ((failed)); then
  echo "zz_fuzz: work dir kept: $WORK"
  exit 1
fi
rm -rf "$WORK"
