# A xenstored killed and started again (src/xenstore/persist.c, resume.c; docs/xenstored.md):
# what clients wrote comes back with its permissions, fresh watches fire, an introduced domain
# awaits its VMM and is released when nobody introduces it again, or resumes its ring (a request
# queued meanwhile answered, the guest's watch firing again) when its VMM comes back; with KVM,
# two running domains get their homes back and `xl shutdown` works.  The no-KVM tests use Debian's
# xenstore-utils as the clients and tests/system/xs_lifeline.py and xs_resume_vmm.py as stand-in
# VMMs (the latter is its guest too, on the ring page in its memfd).
. "$(dirname "$0")/testlib.bash"
NEEDS_KVM=0

use_test_xenstored
XS_PID="$XENITH_RUNDIR/xenstored.pid"
export PYTHONPATH="$ROOT/tests/system"

# The way xl and the VMMs start it: xenstored_ensure (src/lib/xs_client.c).
build_ensure() {
	need cc "a C compiler: gcc; scripts/install-deps" || return 1
	[ -x "$WORK/ensure" ] && return 0
	cat >"$WORK/ensure.c" <<'EOF_C'
#include <stdio.h>
#include "lib/xs_client.h"
int main(void)
{
	char err[512];
	if (xenstored_ensure(NULL, NULL, err, sizeof(err))) { fprintf(stderr, "%s\n", err); return 1; }
	return 0;
}
EOF_C
	# The library's own files, whichever of them error.c needs now (logfile.c for bounded logs).
	local libs=("$ROOT/src/lib/xs_client.c" "$ROOT/src/lib/error.c" "$ROOT/src/lib/unix_socket.c")
	[ -e "$ROOT/src/lib/logfile.c" ] && libs+=("$ROOT/src/lib/logfile.c")
	cc -std=gnu11 -D__XEN_INTERFACE_VERSION__=0x00040e00 -iquote "$ROOT/src" "$WORK/ensure.c" \
		"${libs[@]}" -o "$WORK/ensure" || fail "building the xenstored_ensure helper failed"
}
ensure() { XENITH_XENSTORED="$XENSTORED" "$WORK/ensure"; }
kill_xenstored() {
	local pid; pid=$(xenstored_pid)
	[ -n "$pid" ] || fail "no xenstored to kill" || return 1
	kill -KILL "$pid"
	wait_for 5 bash -c "! kill -0 $pid 2>/dev/null" || fail "xenstored $pid outlived SIGKILL"
}
# Each test starts with no xenstored of this run directory alive (cleanup_domains signals them
# without waiting) and no snapshot: one test's dying daemon or leftover store must not become the
# next test's.
fresh_store() {
	wait_for 5 bash -c "! pgrep -f -- 'xenstored --rundir $XENITH_RUNDIR( |\$)' >/dev/null" ||
		fail "a xenstored of an earlier test outlived it: $(pgrep -a -f -- "xenstored --rundir $XENITH_RUNDIR")"
	rm -rf "$XENITH_RUNDIR/xenstored"
}
introduced_state() { python3 "$ROOT/tests/system/xs_wire.py" "$XS_SOCK" control quota "$1" 2>&1 | sed -n 's/^introduced *//p'; }
introduced_is() { [ "$(introduced_state "$1")" = "$2" ]; }
home_gone() { local out; ! out=$(xenstore-read "/local/domain/$1/name" 2>&1); }

test_store_survives_sigkill() {
	fresh_store
	need_xenstore_utils
	build_ensure
	ensure || fail "xenstored_ensure did not start xenstored: $(tail -3 "$XS_LOG")"
	xenstore-write /t/value hello /t/nested/deep 42
	xenstore-chmod /t/value n0 r5 w7
	kill_xenstored
	[ -s "$XENITH_RUNDIR/xenstored/tree" ] || fail "no snapshot in $XENITH_RUNDIR/xenstored"
	ensure || fail "xenstored_ensure did not start it again: $(tail -3 "$XS_LOG")"
	local out
	out=$(xenstore-read /t/value) || fail "/t/value lost"
	[ "$out" = hello ] || fail "/t/value is '$out'"
	out=$(xenstore-read /t/nested/deep) || fail "/t/nested/deep lost"
	[ "$out" = 42 ] || fail "/t/nested/deep is '$out'"
	out=$(xenstore-ls -p /t) || fail "xenstore-ls failed"
	grep -q 'value = "hello".*(n0,r5,w7)' <<<"$out" || fail "permissions not kept: $out"
	# A client that watches anew is served: the first event on setting, then the change.
	timeout 5 xenstore-watch -n 2 /t/value >"$WORK/watch" 2>&1 &
	local watch=$!
	sleep 0.3
	xenstore-write /t/value again
	wait "$watch" || fail "the new watch did not fire: $(cat "$WORK/watch")"
	grep -q loaded "$XS_LOG" || fail "the log does not say the snapshot was loaded"
	# A clean stop with no domain leaves no snapshot behind.
	local pid; pid=$(xenstored_pid)
	kill -TERM "$pid"
	wait_for 5 bash -c "! kill -0 $pid 2>/dev/null" || fail "xenstored ignored SIGTERM"
	[ ! -e "$XENITH_RUNDIR/xenstored/tree" ] || fail "a clean stop without domains kept the snapshot"
}

test_corrupt_snapshot_kept_aside() {
	fresh_store
	need_xenstore_utils
	mkdir -p "$XENITH_RUNDIR/xenstored" "$XENITH_RUNDIR/log"
	head -c 300 /dev/urandom >"$XENITH_RUNDIR/xenstored/tree"
	"$XENSTORED" --rundir "$XENITH_RUNDIR" --pid-file "$XS_PID" 2>>"$XS_LOG" || fail "xenstored did not start on a corrupt snapshot"
	[ -e "$XENITH_RUNDIR/xenstored/tree.bad" ] || fail "the corrupt snapshot was not kept as tree.bad"
	grep -q "unusable" "$XS_LOG" || fail "the log does not say why: $(tail -3 "$XS_LOG")"
	local out; out=$(xenstore-read /tool/xenstored 2>&1) || fail "the empty store does not answer: $out"
	kill -TERM "$(cat "$XS_PID")"
}

# A domain introduced before the kill: after the restart it awaits its VMM (its home stays); the
# stand-in VMM never introduces it again, so it is released when the bound passes.
test_domain_released_without_its_vmm() {
	fresh_store
	need_xenstore_utils
	need python3
	mkdir -p "$XENITH_RUNDIR/log"
	"$XENSTORED" --rundir "$XENITH_RUNDIR" --pid-file "$XS_PID" 2>>"$XS_LOG" || fail "xenstored did not start"
	trap stop_bg EXIT         # the stand-in goes with the test, even a failed one
	python3 "$ROOT/tests/system/xs_lifeline.py" "$XS_SOCK" 12 restart-me >"$WORK/ready" 2>&1 &
	local vmm=$!
	track_bg "$vmm"
	wait_for 5 grep -qsx ready "$WORK/ready" || fail "the stand-in VMM did not introduce: $(cat "$WORK/ready")"
	kill_xenstored
	"$XENSTORED" --rundir "$XENITH_RUNDIR" --pid-file "$XS_PID" --reconnect-ms 3000 2>>"$XS_LOG" || fail "xenstored did not start again"
	# Watching first: on a loaded host the checks below may take a while of the bound.
	timeout 10 xenstore-watch -n 2 @releaseDomain >"$WORK/release" 2>&1 &
	local watch=$!
	local name; name=$(xenstore-read /local/domain/12/name) || fail "home lost in the restart"
	[ "$name" = restart-me ] || fail "name is '$name'"
	introduced_is 12 "awaiting its VMM" || fail "domain 12 is '$(introduced_state 12)', not awaiting its VMM"
	wait "$watch" || fail "no @releaseDomain within the bound: $(cat "$WORK/release")"
	wait_for 3 introduced_is 12 no || fail "domain 12 is still '$(introduced_state 12)'"
	wait_for 3 home_gone 12 || fail "/local/domain/12 outlived the bound"
	grep -q "did not introduce it again" "$XS_LOG" || fail "the log does not say why it went"
	kill -KILL "$vmm" 2>/dev/null || true
	wait "$vmm" 2>/dev/null || true
	kill -TERM "$(cat "$XS_PID")"
}

# A domain whose (stand-in) VMM comes back: the guest's request queued while xenstored was dead is
# answered from the resumed ring, and the guest's watch fires again, once the VMM introduces it
# again to the xenstored that xenstored_ensure started.
test_ring_resumes_when_vmm_returns() {
	fresh_store
	need_xenstore_utils
	need python3
	build_ensure
	ensure || fail "xenstored_ensure did not start xenstored: $(tail -3 "$XS_LOG")"
	trap stop_bg EXIT
	python3 "$ROOT/tests/system/xs_resume_vmm.py" "$XS_SOCK" 13 resume-me >"$WORK/vmm" 2>&1 &
	local vmm=$!
	track_bg "$vmm"
	wait_for 5 grep -qsx ready "$WORK/vmm" || fail "the stand-in did not get going: $(cat "$WORK/vmm")"
	kill_xenstored
	ensure || fail "xenstored_ensure did not start it again: $(tail -3 "$XS_LOG")"
	wait_for 10 grep -qs '^resumed' "$WORK/vmm" ||
		fail "the ring did not resume: $(cat "$WORK/vmm"); xenstored's log: $(tail -5 "$XS_LOG")"
	grep -qx "resumed resume-me watch /local/domain/13/name gtok" "$WORK/vmm" ||
		fail "the stand-in saw: $(cat "$WORK/vmm")"
	# A connection lost while introducing again is retried, as by the VMM; say so, with the log.
	if grep -q '^retry' "$WORK/vmm"; then
		sed 's/^/# stand-in: /' "$WORK/vmm" | grep '^# stand-in: retry'
		grep -E 'epoll_ctl|recvmsg|refused' "$XS_LOG" | sed 's/^/# xenstored: /' || true
	fi
	introduced_is 13 yes || fail "domain 13 is '$(introduced_state 13)' after its VMM came back"
	kill -KILL "$vmm" 2>/dev/null || true
	wait "$vmm" 2>/dev/null || true
	wait_for 3 home_gone 13 || fail "/local/domain/13 outlived its stand-in VMM"
	kill -TERM "$(xenstored_pid)"
}

# With KVM: two running domains, xenstored SIGKILLed; their VMMs start it again and re-introduce
# them, the homes are there, the guests' rings are served, and `xl shutdown` works.
test_two_domains_survive_xenstored_kill() {
	fresh_store
	need_kvm
	need_xenstore_utils
	local a b; a=$(make_cfg survivor-a 'cmdline = "test=control"') b=$(make_cfg survivor-b 'cmdline = "test=control"')
	"$XL" create "$a" 2>/dev/null || fail "xl create survivor-a failed"
	"$XL" create "$b" 2>/dev/null || fail "xl create survivor-b failed"
	expect_log survivor-a "control: ready"
	expect_log survivor-b "control: ready"
	local ida idb; ida=$(domain_id survivor-a) idb=$(domain_id survivor-b)
	kill_xenstored
	wait_for 10 xenstore-read "/local/domain/$ida/name" >/dev/null 2>&1 || fail "survivor-a's home never came back"
	wait_for 10 xenstore-read "/local/domain/$idb/name" >/dev/null 2>&1 || fail "survivor-b's home never came back"
	wait_for 10 introduced_is "$ida" yes || fail "survivor-a is '$(introduced_state "$ida")'"
	wait_for 10 introduced_is "$idb" yes || fail "survivor-b is '$(introduced_state "$idb")'"
	grep -q "reconnected to xenstored" "$XENITH_RUNDIR"/log/vmm-*.log || fail "no VMM says it reconnected"
	timeout 30 "$XL" shutdown -w survivor-a || fail "xl shutdown of survivor-a failed after the restart"
	wait_for 20 domain_gone survivor-a || fail "survivor-a did not go"
	timeout 30 "$XL" shutdown -w survivor-b || fail "xl shutdown of survivor-b failed after the restart"
	wait_for 20 domain_gone survivor-b || fail "survivor-b did not go"
}

run_tests
