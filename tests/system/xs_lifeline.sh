# A VMM killed without RELEASE (src/xenstore/lifeline.c), seen by Debian's xenstore-utils: the
# introducing process (tests/system/xs_lifeline.py, a stand-in VMM in another language) is
# SIGKILLed; xenstore-watch sees @releaseDomain, xenstore-read no longer finds the domain's nodes,
# xenstored's fds and mappings are what they were, and the utils still work.  No guest: no KVM.
. "$(dirname "$0")/testlib.bash"
NEEDS_KVM=0

use_test_xenstored
XS_PID="$XENITH_RUNDIR/xenstored.pid"
export PYTHONPATH="$ROOT/tests/system"

fd_count() { ls "/proc/$1/fd" | wc -l; }
fd_count_is() { [ "$(fd_count "$1")" = "$2" ]; }
not_introduced() { [ "$(python3 "$ROOT/tests/system/xs_wire.py" "$XS_SOCK" control quota "$1" 2>&1 | awk '/introduced/ { print $2 }')" = no ]; }

test_killed_introducer_seen_by_utils() {
	need_xenstore_utils
	need python3
	mkdir -p "$XENITH_RUNDIR/log"
	"$XENSTORED" --rundir "$XENITH_RUNDIR" --pid-file "$XS_PID" 2>>"$XS_LOG" || fail "xenstored did not start"
	wait_for 5 test -s "$XS_PID" || fail "no pid file"
	local xs; xs=$(cat "$XS_PID")
	local before; before=$(fd_count "$xs")
	local round
	for round in 1 2 3 4 5; do
		local ready="$WORK/ready.$round"
		python3 "$ROOT/tests/system/xs_lifeline.py" "$XS_SOCK" 11 "lifeline-$round" >"$ready" 2>&1 &
		local vmm=$!
		wait_for 5 grep -qx ready "$ready" || fail "round $round: the stand-in VMM did not introduce: $(cat "$ready")"
		local name; name=$(xenstore-read /local/domain/11/name) || fail "round $round: no home"
		[ "$name" = "lifeline-$round" ] || fail "round $round: name is '$name'"
		grep -q "memfd:lifeline-$round" "/proc/$xs/maps" || fail "round $round: ring not mapped"
		timeout 10 xenstore-watch -n 2 @releaseDomain >"$WORK/release" 2>&1 &
		local watch=$!
		sleep 0.3
		kill -KILL "$vmm"
		wait "$vmm" 2>/dev/null || true
		wait "$watch" || fail "round $round: xenstore-watch saw no @releaseDomain: $(cat "$WORK/release")"
		wait_for 2 not_introduced 11 || fail "round $round: domain 11 still introduced"
		local out; out=$(xenstore-read /local/domain/11/name 2>&1) && fail "round $round: home outlived its VMM: $out"
		out=$(xenstore-ls /local/domain 2>&1) || true
		[ -z "$out" ] || fail "round $round: left in /local/domain: $out"
		wait_for 2 fd_count_is "$xs" "$before" || fail "round $round: xenstored holds $(fd_count "$xs") fds, $before before"
		out=$(grep "memfd:lifeline-$round" "/proc/$xs/maps") && fail "round $round: still mapped: $out"
		xenstore-write /t/round "$round" || fail "round $round: xenstore-write failed"
		[ "$(xenstore-read /t/round)" = "$round" ] || fail "round $round: xenstore-read disagrees"
	done
	kill -TERM "$xs"
	wait_for 5 bash -c "! kill -0 $xs 2>/dev/null" || fail "xenstored ignored SIGTERM"
}

run_tests
