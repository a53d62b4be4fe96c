#!/bin/bash
# Live migration of a real test guest between two Dom0s on this machine (issue 12), on /dev/kvm:
# examples/migrate/two-dom0.sh makes them (namespaces, run directories, bridges xenbr0 joined by a
# veth pair), examples/migrate/ns-ssh is the SSHCOMMAND.  The guest runs `migrate-workload` dirtying
# memory, pinging 10.77.0.1 (A's bridge) and reading a disk both hosts see (the same path).
#  - 10 migrations back and forth: each time the guest resumed in a new domain, its counter goes
#    on, its memory verifies, the target's namespace pings it, its disk reads verify; --debug's
#    digest agrees
#  - the target refuses (name in use) and the target VMM is killed mid-stream: the source guest
#    runs on ("suspend cancelled" or no suspend at all) and nothing is left on the target
. "$(dirname "$0")/testlib.bash"
NEEDS_KVM=0

TWO_DOM0="$ROOT/examples/migrate/two-dom0.sh"
NS_SSH="$ROOT/examples/migrate/ns-ssh"
export TWO_DOM0_A="xk$$-a" TWO_DOM0_B="xk$$-b" TWO_DOM0_BASE="$XENITH_RUNDIR/hosts"
export XENITH_BIN
XENITH_BIN=$(dirname "$XL")
A=$TWO_DOM0_A
B=$TWO_DOM0_B

on() { local h=$1; shift; ip netns exec "$h" env XENITH_RUNDIR="$TWO_DOM0_BASE/$h" "$XL" "$@"; }
run_on() { local tag=$1 h=$2; shift 2; bounded 300 "$tag" ip netns exec "$h" env XENITH_RUNDIR="$TWO_DOM0_BASE/$h" "$XL" "$@"; }
glog() { echo "$TWO_DOM0_BASE/$1/log/guest-$2.log"; }
listed_on() { on "$1" list 2>/dev/null | awk -v n="$2" '$1 == n { f = 1 } END { exit !f }'; }
vmms_on() { pgrep -fc -- "xenith-vmm.*--rundir $TWO_DOM0_BASE/$1 " || true; }
count_in() { grep -ac "$3" "$(glog "$1" "$2")" 2>/dev/null || echo 0; }
expect_in() {
	wait_for "$4" test "$(count_in "$1" "$2" "$3")" -ge "${5:-1}" || fail "$2 on $1 never showed '$3': $(tail -c 300 "$(glog "$1" "$2")" | tr '\r\n' '  ')"
}

setup() {
	need_kvm
	need ip iproute2
	"$TWO_DOM0" down
	"$TWO_DOM0" up || fail "two-dom0.sh up failed"
	dd if=/dev/zero of="$WORK/disk.img" bs=1M count=16 status=none
	make_cfg writer 'cmdline = "test=blk-pattern seed=1 rounds=0"' "disk = [ '$WORK/disk.img,raw,xvda,rw' ]" >/dev/null
	run_on w "$A" create "$WORK/writer.cfg"
	expect_in "$A" writer "blk-pattern: wrote and verified" 120
	on "$A" destroy writer
	make_cfg mg 'cmdline = "test=migrate-workload dirty_mib=8 ping=10.77.0.1 disk=1 report_ms=200"' \
		"memory = 64" "vif = [ 'bridge=xenbr0,ip=10.77.0.3/24' ]" \
		"disk = [ '$WORK/disk.img,raw,xvda,rw' ]" >/dev/null
	run_on c "$A" create "$WORK/mg.cfg"
	[ "$BOUNDED_RC" = 0 ] || fail "xl create: $(said c err)"
	expect_in "$A" mg "mig: count=" 30 3
}
teardown() {
	local h d
	for h in "$A" "$B"; do
		for d in "$TWO_DOM0_BASE/$h"/domains/[0-9]*; do
			[ -e "$d" ] && on "$h" destroy "$(basename "$d")" >/dev/null 2>&1 || true
		done
	done
	"$TWO_DOM0" down
}
no_failures() { no_match "$(glog "$1" mg)" -a "FAIL migrate-workload" || fail "$(grep -a -m1 FAIL "$(glog "$1" mg)")"; }

test_migrate_back_and_forth_ten_times_under_a_dirtying_guest() {
	setup
	local i from=$A to=$B t resumed
	for i in $(seq 10); do
		resumed=$(count_in "$to" mg "mig: resumed in a new domain")
		run_on mig "$from" migrate -s "$NS_SSH" $([ "$i" = 10 ] && echo --debug) mg "$to"
		[ "$BOUNDED_RC" = 0 ] || fail "migration $i ($from -> $to): $(said mig err)"
		listed_on "$to" mg || fail "mg is not on $to after migration $i"
		! listed_on "$from" mg || fail "mg is still on $from after migration $i"
		[ "$(vmms_on "$from")" = 0 ] || fail "a VMM is left on $from"
		expect_in "$to" mg "mig: resumed in a new domain" 30 $((resumed + 1))
		expect_in "$to" mg "mig: memory verified" 30
		ip netns exec "$to" ping -c 2 -W 2 10.77.0.3 >"$WORK/ping.out" 2>&1 || fail "mg does not answer on $to's bridge: $(said ping out)"
		no_failures "$to"
		t=$from; from=$to; to=$t
	done
	grep -aq "disk_reads=[1-9]" "$(glog "$from" mg)" || fail "no disk reads verified"
	teardown
}

test_migrate_refused_or_target_killed_keeps_the_guest_on_the_source() {
	setup
	make_cfg mg2 "memory = 32" >/dev/null
	sed -i 's/^name = .*/name = "mg"/' "$WORK/mg2.cfg"
	run_on c "$B" create "$WORK/mg2.cfg"
	run_on mig "$A" migrate -s "$NS_SSH" mg "$B"
	[ "$BOUNDED_RC" != 0 ] || fail "migration onto a namesake succeeded"
	on "$B" destroy mg
	local reports
	reports=$(count_in "$A" mg "mig: count=")
	expect_in "$A" mg "mig: count=" 30 $((reports + 2))
	# The target's VMM dies as soon as the stream flows.
	( sleep 0.5; pkill -KILL -f -- "xenith-vmm.*--rundir $TWO_DOM0_BASE/$B " ) &
	track_bg $!
	run_on mig "$A" migrate -s "$NS_SSH" mg "$B"
	[ "$BOUNDED_RC" != 0 ] || fail "migration to a killed target succeeded"
	listed_on "$A" mg || fail "mg is gone from $A"
	! listed_on "$B" mg || fail "mg is on $B"
	[ "$(vmms_on "$B")" = 0 ] || fail "a VMM is left on $B"
	reports=$(count_in "$A" mg "mig: count=")
	expect_in "$A" mg "mig: count=" 30 $((reports + 2))
	no_failures "$A"
	teardown
}

trap 'teardown >/dev/null 2>&1; finish' EXIT
run_tests
