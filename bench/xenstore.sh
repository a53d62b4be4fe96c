#!/bin/bash
# bench/xenstore.sh: xenstored's request rate and latency over its Unix socket, for READ, WRITE
# and a watch firing (a write and the watcher's WATCH_EVENT).  Environment: COUNT (20000).
# Needs no /dev/kvm.  Prints a table; never fails on timings.
set -euo pipefail
export LC_ALL=C
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COUNT=${COUNT:-20000}
[[ $COUNT =~ ^[1-9][0-9]*$ ]] || { echo "COUNT must be a positive integer, not '$COUNT'" >&2; exit 2; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/xenith-bench-xs.XXXXXX")
cleanup() {
	pkill -f -- "xenstored.*$TMP" 2>/dev/null || true
	[ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

make -C "$ROOT" --no-print-directory bin/xenstored >"$TMP/make.log" 2>&1 ||
	{ tail -20 "$TMP/make.log" >&2; exit 1; }
${CC:-cc} -std=gnu11 -O2 -Wall -Wextra -Werror -D__XEN_INTERFACE_VERSION__=0x00040e00 \
	-iquote "$ROOT/src" "$ROOT/bench/xs_load.c" "$ROOT/src/lib/xs_client.c" "$ROOT/src/lib/error.c" \
	-o "$TMP/xs_load"

mkdir -p "$TMP/run/log"
"$ROOT/bin/xenstored" --rundir "$TMP/run" 2>"$TMP/run/log/xenstored.log"
SOCK=$TMP/run/xenstored/socket

echo "xenstored over its Unix socket, one request in flight, $COUNT round trips each"
printf '%-12s %10s %10s %10s\n' "operation" "req/s" "mean_us" "p99_us"
for kind in read write watch; do
	timeout 300 "$TMP/xs_load" "$SOCK" "$kind" "$COUNT"
done
echo "TODO: the same over a guest's xenstore ring (XS_INTRODUCE'd by the VMM), once guests talk to xenstored"
