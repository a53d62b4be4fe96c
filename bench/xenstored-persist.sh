#!/bin/bash
# bench/xenstored-persist.sh: what xenstored's persistence (src/xenstore/persist.c, journal.c)
# costs.  For each count in DOMAINS, a store holding that many domains' worth of nodes (the
# libxl-like home and a vif backend each, ~40 nodes per domain) is loaded from a snapshot made
# here, then one client writes COUNT values one request at a time (each its own round, so each
# write is one journal record, and a fresh snapshot whenever the journal outgrows the last one)
# with persistence on and with --no-persist.  Prints writes/s for both, their ratio, the
# snapshot's size, the journal's size at the end and the start+load time.  No /dev/kvm.
# Environment: DOMAINS ("10 1000"), COUNT (3000), XENSTORED (build/release/bin/xenstored, else bin/).
set -euo pipefail
export LC_ALL=C
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DOMAINS=${DOMAINS:-10 1000}
COUNT=${COUNT:-3000}
[[ $DOMAINS =~ ^[0-9]+( [0-9]+)*$ && $COUNT =~ ^[1-9][0-9]*$ ]] || { echo "DOMAINS (numbers) and COUNT are numbers" >&2; exit 2; }
XENSTORED=${XENSTORED:-$ROOT/build/release/bin/xenstored}
[ -x "$XENSTORED" ] || XENSTORED=$ROOT/bin/xenstored
[ -x "$XENSTORED" ] || { echo "no xenstored binary (make)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 is needed" >&2; exit 1; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/xenith-bench-persist.XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT

# The snapshot, in persist.c's format (its header comment).
make_snapshot() {   # file, domains
	python3 - "$1" "$2" <<'PY'
import struct, sys
out, n = sys.argv[1], int(sys.argv[2])
def s(b): return struct.pack("<I", len(b)) + b
nodes = []
def node(path, value=b"", perms=((0, 0),)):
    nodes.append(s(path) + s(value) + struct.pack("<QI", 1, len(perms)) +
                 b"".join(struct.pack("<IB", d, p) for d, p in perms))
for p in (b"/", b"/tool", b"/tool/xenstored", b"/local", b"/local/domain", b"/local/domain/0",
          b"/local/domain/0/backend", b"/local/domain/0/backend/vif", b"/vm"):
    node(p)
for d in range(1, n + 1):
    home = b"/local/domain/%d" % d
    mine = ((d, 0),)
    node(home, b"", ((0, 0), (d, 1)))
    for k, v in ((b"name", b"guest-%d" % d), (b"domid", b"%d" % d), (b"vm", b"/vm/%08d" % d)):
        node(home + b"/" + k, v, ((0, 0), (d, 1)))
    for sub in (b"memory", b"cpu", b"store", b"console", b"control", b"device", b"data"):
        node(home + b"/" + sub, b"", mine)
    for k in (b"memory/target", b"memory/static-max", b"cpu/0", b"cpu/0/availability",
              b"store/port", b"store/ring-ref", b"console/port", b"console/ring-ref",
              b"console/tty", b"control/shutdown", b"control/feature-poweroff"):
        node(home + b"/" + k, b"1", mine)
    node(home + b"/device/vif", b"", mine)
    node(home + b"/device/vif/0", b"", mine)
    for k in (b"backend", b"backend-id", b"state", b"handle", b"mac", b"tx-ring-ref", b"rx-ring-ref",
              b"event-channel"):
        node(home + b"/device/vif/0/" + k, b"1", mine)
    be = b"/local/domain/0/backend/vif/%d" % d
    node(be, b"", ((0, 0), (d, 1)))
    node(be + b"/0", b"", ((0, 0), (d, 1)))
    for k in (b"frontend", b"frontend-id", b"online", b"state", b"script", b"mac", b"handle",
              b"bridge"):
        node(be + b"/0/" + k, b"1", ((0, 0), (d, 1)))
    node(b"/vm/%08d" % d, b"")
    node(b"/vm/%08d/name" % d, b"guest-%d" % d)
payload = struct.pack("<QI", 2, len(nodes)) + b"".join(nodes) + struct.pack("<I", 0)
h = 0xcbf29ce484222325
for x in payload: h = ((h ^ x) * 0x100000001b3) & 0xffffffffffffffff
open(out, "wb").write(b"XNTHXS01" + struct.pack("<QQ", len(payload), h) + payload)
print(len(nodes))
PY
}

# COUNT writes, each answered before the next: writes/s.
write_rate() {   # socket
	PYTHONPATH="$ROOT/tests/system" python3 - "$1" "$COUNT" <<'PY'
import sys, time
from xs_wire import Conn
c, n = Conn(sys.argv[1]), int(sys.argv[2])
start = time.monotonic()
for i in range(n):
    st, body = c.call("WRITE", raw=b"/bench/key\0%d" % i)
    assert st == "OK", body
print("%.0f" % (n / (time.monotonic() - start)))
PY
}

run() {   # name, xenstored options...
	local name=$1 dir=$TMP/$1
	shift
	mkdir -p "$dir/xenstored" "$dir/log"
	cp "$TMP/tree" "$dir/xenstored/tree"
	local t0; t0=$(date +%s%N)
	"$XENSTORED" --rundir "$dir" --pid-file "$dir/pid" "$@" 2>>"$dir/log/xenstored.log"
	local t1; t1=$(date +%s%N)
	pids+=("$(cat "$dir/pid")")
	echo "$(( (t1 - t0) / 1000000 ))" >"$dir/start_ms"
	write_rate "$dir/xenstored/socket" >"$dir/rate"
	stat -c %s "$dir/xenstored/tree.journal" 2>/dev/null >"$dir/journal" || echo - >"$dir/journal"
}

printf 'xenstored persistence cost: %s writes, one per round\n' "$COUNT"
printf '%-8s %-8s %-24s %10s %8s %12s %13s %14s\n' domains nodes "" writes/s ratio "snapshot KiB" "journal KiB" "start+load ms"
for domains in $DOMAINS; do
	rm -rf "$TMP/persist" "$TMP/no-persist"
	nodes=$(make_snapshot "$TMP/tree" "$domains")
	size=$(stat -c %s "$TMP/tree")
	run persist
	run no-persist --no-persist
	p=$(cat "$TMP/persist/rate") n=$(cat "$TMP/no-persist/rate") j=$(cat "$TMP/persist/journal")
	[ "$j" = - ] || j=$((j / 1024))
	printf '%-8s %-8s %-24s %10s %8s %12s %13s %14s\n' "$domains" "$nodes" "journal (persistent)" "$p" \
		"$(awk -v a="$n" -v b="$p" 'BEGIN { printf "%.2f", b ? a / b : 0 }')" $((size / 1024)) "$j" \
		"$(cat "$TMP/persist/start_ms")"
	printf '%-8s %-8s %-24s %10s %8s %12s %13s %14s\n' "" "" "--no-persist" "$n" 1.00 - - \
		"$(cat "$TMP/no-persist/start_ms")"
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	pids=()
done
