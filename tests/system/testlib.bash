# Shared by the system tests: each test file sources this, defines test_* functions, and calls
# run_tests.  Tests drive the real bin/xl and xenith-vmm on /dev/kvm, in a run directory of their own.
set -u
ROOT=${XENITH_TEST_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${XENITH_TEST_BUILD:-$ROOT/build/release}
XL="$BUILD/bin/xl"
[ -x "$XL" ] || XL="$ROOT/bin/xl"
GUEST="$ROOT/guest/out/xenith-guest.elf"
# The hotplug scripts are the repository's, whichever build's xl runs.
export XENITH_SCRIPTS="$ROOT/scripts"
export XENITH_RUNDIR
XENITH_RUNDIR=$(mktemp -d /tmp/xenith-test.XXXXXX)
WORK="$XENITH_RUNDIR/work"
mkdir -p "$WORK"
# Sanitizer reports from the VMM land in its log, where check_sanitizers looks for them; no test
# makes so many domains that the log folder's pruning (docs/vmm-control.md) drops one before then.
export XENITH_CONSOLE_LOGS_KEPT=${XENITH_CONSOLE_LOGS_KEPT:-1024}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

cleanup_domains() {
	local d
	# Every step may find nothing to do; under a test's set -e that must not end the test.
	for d in "$XENITH_RUNDIR"/domains/[0-9]*; do
		[ -e "$d" ] && "$XL" destroy "$(basename "$d")" >/dev/null 2>&1 || true
	done
	# A VMM that no longer answers is killed by its run directory, which only this test uses.
	pkill -KILL -f -- "xenith-vmm.*$XENITH_RUNDIR" 2>/dev/null || true
	pkill -f -- "xenstored.*$XENITH_RUNDIR" 2>/dev/null || true
	pkill -KILL -f -- "--rundir $XENITH_RUNDIR" 2>/dev/null || true
	return 0
}

# For tests that run xenstored themselves: the binary, its socket (where xenstore-utils look) and log.
use_test_xenstored() {
	XENSTORED="$BUILD/bin/xenstored"
	[ -x "$XENSTORED" ] || XENSTORED="$ROOT/bin/xenstored"
	XS_SOCK="$XENITH_RUNDIR/xenstored/socket"
	XS_LOG="$XENITH_RUNDIR/log/xenstored.log"
	export XENSTORED_PATH="$XS_SOCK"
}

# start_xenstored (after use_test_xenstored): this run directory's own xenstored, its pid in XS_PID.
start_xenstored() {
	[ -x "$XENSTORED" ] || skip "no xenstored binary at $XENSTORED (make tools)"
	mkdir -p "$XENITH_RUNDIR/log"
	"$XENSTORED" --rundir "$XENITH_RUNDIR" --pid-file "$WORK/xenstored.pid" 2>>"$XS_LOG" || fail "xenstored did not start"
	wait_for 5 test -s "$WORK/xenstored.pid" || fail "xenstored wrote no pid file"
	XS_PID=$(cat "$WORK/xenstored.pid")
}

# A test file's network namespace (NETNS, made by the file), with its domains; gone at exit too.
NETNS=""
in_ns() { ip netns exec "$NETNS" "$@"; }
xl_ns() { ip netns exec "$NETNS" "$XL" "$@"; }
drop_netns() {
	[ -n "$NETNS" ] || return 0
	cleanup_domains
	ip netns del "$NETNS" 2>/dev/null
	NETNS=""
}

finish() {
	drop_netns
	cleanup_domains
	rm -rf "$XENITH_RUNDIR"
}
trap finish EXIT

have_kvm() {
	[ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]
}

# make_cfg NAME [line...]: a cfg for the test guest; extra lines override the defaults.
make_cfg() {
	local name=$1
	shift
	{
		echo "name = \"$name\""
		echo "type = \"pvh\""
		echo "kernel = \"$GUEST\""
		echo "memory = 32"
		for line in "$@"; do echo "$line"; done
	} >"$WORK/$name.cfg"
	echo "$WORK/$name.cfg"
}

guest_log() { echo "$XENITH_RUNDIR/log/guest-$1.log"; }
vmm_log() { echo "$XENITH_RUNDIR/log/vmm-$1.log"; }

# wait_for SECONDS COMMAND...: polls until COMMAND succeeds.
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	while ! "$@"; do
		[ $SECONDS -ge $deadline ] && return 1
		sleep 0.05
	done
}

# log_count_at_least NAME PATTERN N: PATTERN occurs at least N times in NAME's console log.
log_count_at_least() { [ "$(grep -ac -- "$2" "$(guest_log "$1")" 2>/dev/null)" -ge "$3" ]; }
log_has() { grep -qa -- "$2" "$(guest_log "$1")" 2>/dev/null; }
# no_match FILE GREP-ARGS...: FILE can be read and no line of it matches.  (`! grep -q` alone would
# also pass when FILE is missing.)
no_match() {
	local file=$1 rc=0
	shift
	grep -q "$@" -- "$file" || rc=$?
	[ "$rc" -eq 1 ]
}
# log_lacks NAME PATTERN: NAME's console log exists and does not show PATTERN.
log_lacks() { no_match "$(guest_log "$1")" -a -e "$2"; }

# Commands' output is captured, then matched: under pipefail `cmd | grep -q` fails at random when
# grep exits early and cmd dies of SIGPIPE, and `! cmd | grep -q` then passes.
# domain_names: the names in xl list, one a line; fails if xl list does.
domain_names() {
	local out
	out=$("$XL" list 2>/dev/null) || return 1
	awk 'NR > 1 { print $1 }' <<<"$out"
}
domain_listed() { local names; names=$(domain_names) && grep -qxF -- "$1" <<<"$names"; }
domain_gone() { local names; names=$(domain_names) && ! grep -qxF -- "$1" <<<"$names"; }
vmm_count() { pgrep -fc -- "xenith-vmm.*$XENITH_RUNDIR" || true; }
vmm_count_is() { [ "$(vmm_count)" = "$1" ]; }
no_vmm_left() { vmm_count_is 0; }
# The state column of a domain in xl list.
domain_state() { "$XL" list 2>/dev/null | awk -v n="$1" '$1 == n { print $5 }'; }
state_is() { [ "$(domain_state "$1")" = "$2" ]; }
domain_id() { "$XL" domid "$1" 2>/dev/null; }

# expect_log NAME PATTERN [SECONDS]
expect_log() {
	wait_for "${3:-20}" log_has "$1" "$2" || fail "console of $1 never showed '$2'; it has: $(tail -c 400 "$(guest_log "$1")" 2>/dev/null | tr '\r\n' '  ')"
}

fail() {
	echo "$*" >"$WORK/.why"
	return 1
}

# skip WHY: ends the running test as `skip - name: WHY`; for what the host lacks, never a pass.
# Like fail, it returns 1, so that the test's set -e ends it.
skip() {
	echo "$*" >"$WORK/.skip"
	return 1
}

# need COMMAND [WHERE-FROM]: skips the running test when COMMAND is not installed.
need() {
	command -v "$1" >/dev/null 2>&1 || skip "$1 is missing (${2:-scripts/install-deps})"
}

# The xenstore clients the tests use as peers (Debian's xenstore-utils).
need_xenstore_utils() {
	local c
	for c in xenstore-read xenstore-write xenstore-ls xenstore-list xenstore-rm xenstore-watch \
		 xenstore-exists xenstore-chmod; do
		need "$c" "xenstore-utils; scripts/install-deps" || return 1
	done
}

check_sanitizers() {
	local f
	# The VMMs' logs, and xenith-libvirtd's (start_libvirtd's, and the detached daemon's own).
	for f in "$XENITH_RUNDIR"/log/vmm-*.log "$XENITH_RUNDIR"/log/vmm-*.log.old "$WORK/libvirtd.log" \
		 "$XENITH_RUNDIR"/log/libvirtd.log "$XENITH_RUNDIR"/log/libvirtd.log.old; do
		[ -e "$f" ] || continue
		if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$f"; then
			fail "sanitizer report in $(basename "$f"): $(grep -m1 -E 'AddressSanitizer|LeakSanitizer|runtime error:' "$f")"
			return 1
		fi
	done
	rm -f "$WORK/libvirtd.log"    # each test's daemon starts a log of its own
}

# run_tests: runs every test_* function, reporting each.  Tests needing KVM skip without it.
run_tests() {
	local t status=0
	for t in $(declare -F | awk '{ print $3 }' | grep '^test_'); do
		local name=${t#test_}
		name=${name//_/-}
		if ! have_kvm && [ "${NEEDS_KVM:-1}" = 1 ]; then
			echo "skip - $name: no usable /dev/kvm (needs KVM and root)"
			continue
		fi
		rm -f "$WORK/.why" "$WORK/.skip"
		# Not in a condition, so that set -e holds inside the test: the first failing step ends it.
		(set -e -o pipefail; $t)
		local rc=$?
		if [ -e "$WORK/.skip" ]; then
			echo "skip - $name: $(cat "$WORK/.skip")"
		elif [ $rc -eq 0 ] && check_sanitizers; then
			echo "ok - $name"
		else
			echo "not ok - $name: $(cat "$WORK/.why" 2>/dev/null || echo "exited non-zero")"
			status=1
		fi
		cleanup_domains
	done
	return $status
}

# ---- Fault tests (faults.sh, chaos.sh, big_domain.sh): processes, descriptors, leftovers ----
# Every wait is bounded; every helper that looks at xenstore goes through timeout, since a stopped
# xenstored would otherwise hang the test itself.

# need_kvm: for a file that sets NEEDS_KVM=0 because only some of its tests boot a guest.
need_kvm() {
	have_kvm || skip "no usable /dev/kvm (needs KVM and root)" || return 1
	[ -e "$GUEST" ] || skip "no test guest at $GUEST (make guest)"
}

# The VMM serving domain NAME (the newest, should two be there), and xenstored of this run dir.
vmm_pid_of() { pgrep -n -f -- "xenith-vmm.*$XENITH_RUNDIR.*--name $1( |\$)" || true; }
xenstored_pid() { pgrep -n -f -- "xenstored --rundir $XENITH_RUNDIR( |\$)" || true; }
pid_alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }
pid_dead() { ! pid_alive "$1"; }

fds_of() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
fds_of_is() { [ "$(fds_of "$1")" = "$2" ]; }
# steady_fds PID: PID's fd count once it held for a second (transient clients gone), at most 10 s.
steady_fds() {
	local n m i
	n=$(fds_of "$1")
	for i in $(seq 20); do
		sleep 0.5
		m=$(fds_of "$1")
		[ "$m" = "$n" ] && [ "$i" -ge 2 ] && break
		n=$m
	done
	echo "$n"
}
# memfd_inodes PID: the inodes of PID's memfds (guest RAM and the like), one a line.
memfd_inodes() {
	local f
	for f in "/proc/$1"/fd/*; do
		if [[ $(readlink "$f" 2>/dev/null) == /memfd:* ]]; then stat -L -c %i "$f" 2>/dev/null || true; fi
	done | sort -u
}
# holds_any_inode PID INODE...: PID has one of these files open or mapped; prints where.
holds_any_inode() {
	local pid=$1 f i maps
	shift
	for f in "/proc/$pid"/fd/*; do
		i=$(stat -L -c %i "$f" 2>/dev/null) || continue
		[[ " $* " == *" $i "* ]] && { echo "fd $(basename "$f") -> $(readlink "$f")"; return 0; }
	done
	maps=$(awk '{ print $5 }' "/proc/$pid/maps" 2>/dev/null | sort -u)
	for i in "$@"; do
		grep -qx -- "$i" <<<"$maps" && { echo "a mapping of inode $i"; return 0; }
	done
	return 1
}

# xenstore-utils (Debian's) on this run dir's xenstored, never waiting more than XS_WAIT seconds.
XS_WAIT=${XS_WAIT:-10}
xs() { XENSTORED_PATH="$XENITH_RUNDIR/xenstored/socket" timeout "$XS_WAIT" "$@"; }
xs_read_is() { [ "$(xs xenstore-read "$1" 2>/dev/null)" = "$2" ]; }
xs_absent() { ! xs xenstore-exists "$1" 2>/dev/null; }
# The domids with a home, Dom0 left out, on one line ("" if none, or no /local/domain at all).
xs_domids() { { xs xenstore-list /local/domain 2>/dev/null || true; } | { grep -vx 0 || true; } | tr '\n' ' ' | sed 's/ $//'; }
# Backend directories in Dom0's home (backend/<type>/<domid>), as "type/domid" words.
xs_backend_dirs() {
	local t
	for t in $( { xs xenstore-list /local/domain/0/backend 2>/dev/null || true; }); do
		{ xs xenstore-list "/local/domain/0/backend/$t" 2>/dev/null || true; } | sed "s|^|$t/|"
	done | tr '\n' ' ' | sed 's/ $//'
}
# xs_introduced DOMID: xenstored's IS_DOMAIN_INTRODUCED answer (T or F) through xs_wire.py.
xs_introduced() {
	PYTHONPATH="$ROOT/tests/system" timeout "$XS_WAIT" python3 -c '
import sys, xs_wire
c = xs_wire.Conn(sys.argv[1])
status, body = c.call("IS_DOMAIN_INTRODUCED", sys.argv[2])
print(body.rstrip(b"\0").decode() if status == "OK" else "error " + body)' \
		"$XENITH_RUNDIR/xenstored/socket" "$1" 2>&1
}
not_introduced() { [ "$(xs_introduced "$1")" = F ]; }

# make_bridge_netns TAG [BRIDGE]: a network namespace of the test's own (NETNS) with BRIDGE (xbr0)
# at 10.0.0.1/24; drop_netns removes it.
make_bridge_netns() {
	local bridge=${2:-xbr0}
	need ip iproute2
	NETNS="xf$$-$1"
	ip netns add "$NETNS" || fail "cannot make network namespace $NETNS"
	in_ns ip link set lo up
	in_ns ip link add "$bridge" type bridge
	in_ns ip addr add 10.0.0.1/24 dev "$bridge"
	in_ns ip link set "$bridge" up
}
# The vif TAPs in the test's namespace, one line ("" if none).
taps_in_ns() { in_ns ip -o link show | awk -F': ' '$2 ~ /^vif/ { sub(/@.*/, "", $2); print $2 }' | tr '\n' ' ' | sed 's/ $//'; }
tap_master() { in_ns ip -o link show "$1" 2>/dev/null | grep -o 'master [^ ]*' | awk '{ print $2 }'; }

# Background processes a test starts (watchers, pings, xl commands in flight): stopped by pid,
# and only while they are still this shell's jobs (a reaped pid may since belong to another).
BG_PIDS=()
track_bg() { BG_PIDS+=("$@"); }
own_bg() {
	local p j
	for p in "${BG_PIDS[@]}"; do
		for j in $(jobs -p); do [ "$p" = "$j" ] && echo "$p"; done
	done
	return 0
}
stop_bg() {
	local p live
	live=$(own_bg)
	for p in $live; do kill -TERM "$p" 2>/dev/null || true; done
	[ -z "$live" ] || sleep 0.2
	for p in $(own_bg); do kill -KILL "$p" 2>/dev/null || true; done
	for p in $live; do wait "$p" 2>/dev/null || true; done     # reaped quietly
	BG_PIDS=()
	return 0
}

# bounded SECONDS TAG COMMAND...: runs COMMAND under timeout with its stdout in $WORK/TAG.out and
# stderr in $WORK/TAG.err; its status goes to BOUNDED_RC.  A command still running after SECONDS
# fails the test, naming it.
BOUNDED_RC=0
bounded() {
	local secs=$1 tag=$2
	shift 2
	BOUNDED_RC=0
	timeout -k 5 "$secs" "$@" >"$WORK/$tag.out" 2>"$WORK/$tag.err" || BOUNDED_RC=$?
	if [ "$BOUNDED_RC" = 124 ] || [ "$BOUNDED_RC" = 137 ]; then
		fail "'$*' did not return within $secs s (killed by timeout); it said: $(tail -c 300 "$WORK/$tag.err" | tr '\n' ' ')"
	fi
}
said() { tr '\n' ' ' <"$WORK/$1.$2"; }

# start_interruptible VAR OUTFILE COMMAND...: COMMAND in the background (stdout and stderr to
# OUTFILE), in a process group of its own, with SIGINT at its default (a non-interactive shell's
# background jobs ignore it), so that `kill -INT -- -PID` reaches it as Ctrl-C in a terminal
# would.  Its pid goes to VAR; `wait` gives its status.
start_interruptible() {
	local var=$1 out=$2
	shift 2
	setsid env --default-signal=INT "$@" >"$out" 2>&1 &
	printf -v "$var" %s "$!"
	track_bg "$!"
}
# finished PID: a child of this shell has exited (a zombie until waited for, which kill -0 misses).
finished() { [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null || echo gone)" = Z ] || [ ! -e "/proc/$1" ]; }
# wait_bounded SECONDS PID WHAT: waits for child PID; its status goes to WAIT_RC (read by the
# test files).
WAIT_RC=0
# shellcheck disable=SC2034
wait_bounded() {
	wait_for "$1" finished "$2" || fail "$3 (pid $2) still runs $1 s later"
	WAIT_RC=0
	wait "$2" 2>/dev/null || WAIT_RC=$?
}

# SIGSTOP with a record, so that the test's EXIT trap (undo_faults) resumes what it stopped.
STOPPED_PIDS=()
stop_pid() { kill -STOP "$1" && STOPPED_PIDS+=("$1"); }
resume_pids() {
	local p
	for p in "${STOPPED_PIDS[@]}"; do kill -CONT "$p" 2>/dev/null || true; done
	STOPPED_PIDS=()
}
# For a test's `trap undo_faults EXIT`: nothing it stopped stays stopped, nothing it started in the
# background runs on, and its namespace goes (run_tests cannot see a NETNS set inside the test).
undo_faults() { resume_pids; stop_bg; drop_netns; }

# Leftovers of a domain that should be gone, by name (and domid when known), as one line:
# "" when nothing is left.  Looks at processes, the run directory, xenstore and the namespace.
leftovers_of() {
	local name=$1 id=${2:-} out="" d
	[ -n "$(vmm_pid_of "$name")" ] && out="$out VMM pid $(vmm_pid_of "$name");"
	for d in "$XENITH_RUNDIR"/domains/* "$XENITH_RUNDIR"/domains/.new-*; do
		[ -e "$d" ] || continue
		if [ "$(cat "$d/name" 2>/dev/null)" = "$name" ] || [ "$(basename "$d")" = "$id" ] ||
		   [[ $(basename "$d") == .new-* ]]; then
			out="$out run dir domains/$(basename "$d");"
		fi
	done
	if [ -n "$id" ]; then
		xs_absent "/local/domain/$id" || out="$out xenstore /local/domain/$id;"
		local b
		for b in $(xs_backend_dirs); do [ "${b#*/}" = "$id" ] && out="$out xenstore backend/$b;"; done
		[ -n "$NETNS" ] && [[ " $(taps_in_ns) " == *" vif$id."* ]] && out="$out TAP of vif$id;"
	fi
	echo "${out# }"
}
nothing_left_of() { [ -z "$(leftovers_of "$@")" ]; }

# Run-dir entries besides the ones a run dir always has (logs included).
rundir_extras() {
	local f out=""
	for f in "$XENITH_RUNDIR"/* "$XENITH_RUNDIR"/.[!.]*; do
		[ -e "$f" ] || continue
		case ${f##*/} in
		domains|log|work|domid.lock|last-domid|xenstored|xenstored.lock) ;;
		*) out="$out ${f##*/}" ;;
		esac
	done
	echo "${out# }"
}
# ---- end of the fault tests' helpers ----

# xenith-libvirtd for the libvirt tests: the daemon of this run directory (LIBVIRTD), its socket
# (SOCK) and URI for virsh (URI).  start_libvirtd runs it in the background with its definitions
# in $WORK/state and its log in $WORK/libvirtd.log; the KVM device it checks is one that does not
# exist unless KVM_DEVICE says otherwise.  Arguments, if any, are a command it runs under (e.g.
# `ip netns exec NS`).
LIBVIRTD="$BUILD/bin/xenith-libvirtd"
[ -x "$LIBVIRTD" ] || LIBVIRTD="$ROOT/bin/xenith-libvirtd"
SOCK="$XENITH_RUNDIR/libvirt-sock"
URI="xen+unix:///system?socket=$SOCK"
start_libvirtd() {
	need virsh "libvirt-clients; scripts/install-deps"
	[ -x "$LIBVIRTD" ] || skip "no xenith-libvirtd at $LIBVIRTD (make tools)"
	mkdir -p "$WORK/state" "$XENITH_RUNDIR/log"
	rm -f "$SOCK"     # the last test's daemon went with its domains (cleanup_domains)
	XENITH_KVM_DEVICE=${KVM_DEVICE:-$WORK/no-kvm} "$@" "$LIBVIRTD" --rundir "$XENITH_RUNDIR" \
		--state-dir "$WORK/state" --foreground 2>>"$WORK/libvirtd.log" &
	track_bg "$!"
	wait_for 10 test -S "$SOCK" || fail "xenith-libvirtd did not listen: $(tail -c 300 "$WORK/libvirtd.log")"
}
