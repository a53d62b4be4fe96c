#!/bin/bash
# xl save / restore of a real test guest (issue 12's first acceptance item), on /dev/kvm: the guest
# runs `migrate-workload` (guest/README.md) counting, dirtying memory, pinging the host through its
# vif on a bridge and reading a disk blk-pattern wrote first.
#  - save -> restore: the guest says it resumed in a new domain, its counter goes on from where it
#    was, its memory verifies, no ping beyond the pause is lost, its disk reads verify; the host
#    pings it through the restored vif
#  - save -c: the guest's suspend is cancelled and it runs on in the same domain
. "$(dirname "$0")/testlib.bash"
NEEDS_KVM=0

WORKLOAD="test=migrate-workload dirty_mib=4 ping=10.0.0.1 disk=1 report_ms=200"

# A disk holding blk-pattern's seed-1 pattern, and the workload domain NAME using it.
start_workload() {
	need_kvm
	make_bridge_netns sr
	dd if=/dev/zero of="$WORK/disk.img" bs=1M count=16 status=none
	xl_ns create "$(make_cfg writer 'cmdline = "test=blk-pattern seed=1 rounds=0"' \
		"disk = [ '$WORK/disk.img,raw,xvda,rw' ]")" 2>/dev/null || fail "cannot create the writer"
	expect_log writer "blk-pattern: wrote and verified" 120
	xl_ns destroy writer
	xl_ns create "$(make_cfg "$1" "cmdline = \"$WORKLOAD\"" "memory = 64" \
		"vif = [ 'bridge=xbr0,ip=10.0.0.2/24' ]" "disk = [ '$WORK/disk.img,raw,xvda,rw' ]")" \
		2>/dev/null || fail "cannot create $1"
	expect_log "$1" "mig: start dirty_mib=4" 30
	wait_for 30 log_count_at_least "$1" "mig: count=" 3 || fail "$1 does not report"
}
# The last counter NAME reported.
last_count() { grep -ao 'mig: count=[0-9]*' "$(guest_log "$1")" | tail -1 | cut -d= -f2; }
no_failures() { no_match "$(guest_log "$1")" -a "FAIL migrate-workload" || fail "$(grep -a -m1 FAIL "$(guest_log "$1")")"; }

test_save_restore_guest_carries_on() {
	start_workload sr
	local before after
	bounded 120 save xl_ns save sr "$WORK/sr.save"
	[ "$BOUNDED_RC" = 0 ] || fail "xl save: $(said save err)"
	before=$(last_count sr)
	domain_gone sr || fail "sr still listed after save"
	bounded 120 rest xl_ns restore "$WORK/sr.save"
	[ "$BOUNDED_RC" = 0 ] || fail "xl restore: $(said rest err)"
	expect_log sr "mig: resumed in a new domain" 30
	expect_log sr "mig: memory verified" 30
	wait_for 30 log_count_at_least sr "mig: count=" $(( $(grep -ac "mig: count=" "$(guest_log sr)") + 3 )) || fail "sr stopped reporting"
	after=$(last_count sr)
	[ "$after" -gt "$before" ] || fail "the counter went from $before to $after"
	in_ns ping -c 3 -W 2 10.0.0.2 >"$WORK/ping.out" 2>&1 || fail "the restored vif does not answer: $(said ping out)"
	grep -aq "disk_reads=[1-9]" "$(guest_log sr)" || fail "no disk reads verified"
	no_failures sr
}

test_save_c_cancels_the_suspend_and_runs_on() {
	start_workload sc
	local id
	id=$(domain_id sc)
	bounded 120 save xl_ns save -c sc "$WORK/sc.save"
	[ "$BOUNDED_RC" = 0 ] || fail "xl save -c: $(said save err)"
	expect_log sc "mig: suspend cancelled, running on" 30
	[ "$(domain_id sc)" = "$id" ] || fail "save -c changed the domid"
	wait_for 30 log_count_at_least sc "mig: count=" $(( $(grep -ac "mig: count=" "$(guest_log sc)") + 2 )) || fail "sc stopped reporting"
	no_failures sc
}

run_tests
