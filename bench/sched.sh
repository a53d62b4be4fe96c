#!/bin/bash
# bench/sched.sh: what the credit scheduler's weight and cap become on this host's cgroups
# (docs/sched.md).  Runs test_cgroup's measuring cases RUNS times with real busy processes (no
# KVM needed) and prints each figure: the CPU time two processes pinned to one CPU get with
# weights 256 and 512, and the share a busy process gets under cap 25.  Environment: RUNS (3),
# BUILD (build/release).  Prints figures; fails only when the test binary cannot be built.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${RUNS:-3}
BUILD=${BUILD:-build/release}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "RUNS must be a positive integer, not '$RUNS'" >&2; exit 2; }
make -s -C "$ROOT" -j2 BUILD="$BUILD" "$BUILD/tests/test_cgroup" >&2
echo "credit weight and cap on $(uname -r), $(nproc) CPUs"
for ((i = 1; i <= RUNS; i++)); do
    out=$(XENITH_SCHED_FIGURES=1 "$ROOT/$BUILD/tests/test_cgroup" || true)
    if grep -q '^skip - weights' <<<"$out"; then
        grep '^skip - weights' <<<"$out"
        exit 0
    fi
    echo "run $i:"
    grep '^# \(weights\|cap\)' <<<"$out" | sed 's/^# /  /' || true
    grep '^not ok' <<<"$out" | sed 's/^/  /' || true
done
