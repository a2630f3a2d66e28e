#!/usr/bin/env bash
# zz_fuzz -- builds the libFuzzer targets (tests/fuzz/fuzz_*.c) with clang in
# a build dir of their own (<build>-fuzz; every module compiled with
# -fsanitize=fuzzer-no-link so libFuzzer sees their coverage, plus ASan and
# UBSan) and runs each from its seed corpus for FUZZ_SECONDS (default 30,
# down from 45 to keep scripts/test within 40 minutes: it took 41.7 on this
# session's slower machine).
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

failed=0
for src in "$COUPONQ_SRC"/tests/fuzz/fuzz_*.c; do
  t=$(basename "$src" .c)
  if ! cmake --build "$FUZZ_BUILD" -j2 --target "$t" >"$WORK/$t.build.log" 2>&1; then
    grep -E -A3 'error' "$WORK/$t.build.log" | head -n 40
    echo "zz_fuzz: FAIL: $t does not build"
    failed=1
    continue
  fi
  mkdir -p "$WORK/$t.corpus" "$WORK/$t.artifacts"
  rc=0
  # New inputs go to the work dir; the seed corpus in the repo stays as is.
  (cd "$WORK" && "$FUZZ_BUILD/$t" -max_total_time="$SECONDS_EACH" -timeout=10 \
    -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 \
    -artifact_prefix="$WORK/$t.artifacts/" "$WORK/$t.corpus" \
    "$COUPONQ_SRC/tests/fuzz/corpus/$t" >"$WORK/$t.log" 2>&1) || rc=$?
  runs=$(grep -E '^stat::number_of_executed_units' "$WORK/$t.log" | awk '{print $2}')
  cov=$(grep -E '#[0-9]+.*cov:' "$WORK/$t.log" | tail -n 1 | grep -oE 'cov: [0-9]+' || true)
  if ((rc != 0)); then
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
