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
# Sanitizer reports from the VMM land in its log, where check_sanitizers looks for them.
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
	for f in "$XENITH_RUNDIR"/log/vmm-*.log; do
		[ -e "$f" ] || continue
		if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$f"; then
			fail "sanitizer report in $(basename "$f"): $(grep -m1 -E 'AddressSanitizer|LeakSanitizer|runtime error:' "$f")"
			return 1
		fi
	done
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
