#!/bin/bash
# bench/xenstore.sh: xenstored's request rate and latency for READ, WRITE and a watch firing (a
# write and the watcher's WATCH_EVENT), over its Unix socket (bench/xs_load.c from the host) and over
# a guest's xenstore ring (the test guest's `xs-bench`, booted through bin/xl).  Environment: COUNT
# (20000, socket round trips), GUEST_COUNT (2000, ring round trips).  The socket part needs no
# /dev/kvm; without it the ring rows say SKIP.  Prints one table; never fails on timings.
set -euo pipefail
export LC_ALL=C
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROOT=$BENCH_ROOT
COUNT=${COUNT:-20000}
GUEST_COUNT=${GUEST_COUNT:-2000}
[[ $COUNT =~ ^[1-9][0-9]*$ ]] || { echo "COUNT must be a positive integer, not '$COUNT'" >&2; exit 2; }
[[ $GUEST_COUNT =~ ^[1-9][0-9]*$ ]] && ((GUEST_COUNT <= 50000)) ||
	{ echo "GUEST_COUNT must be an integer from 1 to 50000, not '$GUEST_COUNT'" >&2; exit 2; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/xenith-bench-xs.XXXXXX")
BENCH_TMP=$TMP
# The guest part's own run directory: its VMM and the xenstored xl starts on demand carry it in their
# environment, which is how bench_cleanup finds whatever xl destroy did not stop.
export XENITH_RUNDIR=$TMP/guest-run
cleanup() {
	local rc=$?
	set +e
	pkill -f -- "xenstored --rundir $TMP/run" 2>/dev/null || true    # the socket part's daemon
	pkill -f -- "xenstored --rundir $XENITH_RUNDIR( |$)" 2>/dev/null || true    # the one xl started
	(exit "$rc")
	bench_cleanup       # domains, our children, anything carrying XENITH_RUNDIR; removes $TMP
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkfifo "$TMP/nap"
exec {BENCH_NAPFD}<>"$TMP/nap"

make -C "$ROOT" --no-print-directory bin/xenstored >"$TMP/make.log" 2>&1 ||
	{ tail -20 "$TMP/make.log" >&2; exit 1; }
${CC:-cc} -std=gnu11 -O2 -Wall -Wextra -Werror -D__XEN_INTERFACE_VERSION__=0x00040e00 \
	-iquote "$ROOT/src" "$ROOT/bench/xs_load.c" "$ROOT/src/lib/xs_client.c" "$ROOT/src/lib/unix_socket.c" \
	"$ROOT/src/lib/error.c" \
	-o "$TMP/xs_load"

mkdir -p "$TMP/run/log"
"$ROOT/bin/xenstored" --rundir "$TMP/run" 2>"$TMP/run/log/xenstored.log"
SOCK=$TMP/run/xenstored/socket

row() { printf '%-8s %-8s %10s %10s %10s\n' "$@"; }

echo "xenstored, one request in flight: Unix socket ($COUNT round trips each, xs_load from the host);"
echo "guest ring ($GUEST_COUNT each, test guest xs-bench: guest -> event channel -> VMM -> xenstored -> back)"
row transport operation req/s mean_us p99_us
for kind in read write watch; do
	# xs_load prints "KIND req/s mean_us p99_us"
	out=$(timeout 300 "$TMP/xs_load" "$SOCK" "$kind" "$COUNT") || { echo "xs_load $kind failed" >&2; exit 1; }
	read -r k rate mean p99 <<<"$out"
	row socket "$k" "$rate" "$mean" "$p99"
done

# The guest's ring.  The req/s column is 1e6 / mean_us: one request in flight, back to back.
ring_skip() { for kind in read write watch; do row ring "$kind" - - -; done; echo "ring: SKIP: $*"; }
if [[ ! -e /dev/kvm ]]; then
	ring_skip "no /dev/kvm"
	exit 0
fi
if ! timeout 900 make -C "$ROOT" all >"$TMP/build.log" 2>&1; then
	tail -20 "$TMP/build.log" >&2
	bench_msg "build failed (make -C $ROOT all)"
	exit 1
fi
mkdir -p "$XENITH_RUNDIR"
name=bench-xs-$$
bench_xl_create "$name" "test=xs-bench count=$GUEST_COUNT" 32
rc=0
bench_wait_line "$XENITH_RUNDIR/log/guest-$name.log" '^PASS xs-bench' '^(FAIL |exception )' 600 bench_xl_alive || rc=$?
if ((rc)); then
	case $rc in
	1) why="no PASS within 600 s" ;;
	2) why="the guest said: $BENCH_LINE" ;;
	*) why="xl create failed: $(tr '\n' ' ' <"$BENCH_XL_OUT")" ;;
	esac
	ring_skip "$why"
	exit 1
fi
for kind in read write watch; do
	line=$(grep -a "^xs-bench $kind " "$XENITH_RUNDIR/log/guest-$name.log" | tr -d '\r' | tail -1)
	mean=$(sed -n 's/.* mean_us=\([0-9.]*\).*/\1/p' <<<"$line")
	p99=$(sed -n 's/.* p99_us=\([0-9.]*\).*/\1/p' <<<"$line")
	[[ -n $mean && -n $p99 ]] || { row ring "$kind" - - -; continue; }
	row ring "$kind" "$(awk -v m="$mean" 'BEGIN { printf "%.0f", (m > 0 ? 1e6 / m : 0) }')" "$mean" "$p99"
done
# The guest powers off after PASS: let its VMM finish (up to 10 s) before destroying anything.
bench_xl_finish "$name" 2000
