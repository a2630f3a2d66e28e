#!/usr/bin/env bash
# zz_faults -- the fault and abuse suite (tests/faults/run --quick) as one
# ctest test. It does not use the test stack: tests/faults/run starts its own
# private stack (ports 31379/31306/31092) because its scenarios kill servers
# and FLUSHALL, and stops it at the end; then the replicated stack
# (scripts/stack --ha, base 28000) for the hNN_* scenarios. Uses the binaries
# of this build. Quick sizes: about 23 minutes on 2 cores (ctest timeout 45
# minutes, CMakeLists.txt); scripts/test runs it beside the other tests,
# which is why its api/worker ports come from a range of their own.
# `tests/faults/run --full` for the issue's sizes.
set -euo pipefail
COUPONQ_SRC=${COUPONQ_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
COUPONQ_BUILD=${COUPONQ_BUILD:-$COUPONQ_SRC/build}
# The ctest environment points COUPONQ_* at the test stack; run overrides them.
exec "$COUPONQ_SRC/tests/faults/run" --quick --build "$COUPONQ_BUILD"
