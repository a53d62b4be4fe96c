#!/bin/bash
# Placement and share (issue 11, items 3 and 4; docs/sched.md).  Without KVM: the real xl's
# vcpu-list, vcpu-pin and sched-credit against stand-in domains (sched_standin_vmm.py) that log
# what xl asks: xl's columns byte for byte, the requests sent, the refusals in xl's words (and
# nothing sent then), a host without cgroup cpu control said on stderr.  With KVM (skip here): a
# pinned vCPU's thread shows the pin in /proc/<vmm>/task/<tid>/status, and vcpu-pin moves it.
. "$(dirname "$0")/testlib.bash"
NEEDS_KVM=0
STANDIN="$ROOT/tests/system/sched_standin_vmm.py"

# standin NAME DOMID VCPUS [WHY-UNENFORCED]
standin() {
	need python3
	mkdir -p "$XENITH_RUNDIR/domains"
	python3 "$STANDIN" --rundir "$XENITH_RUNDIR" --name "$1" --domid "$2" --vcpus "$3" \
		--log "$WORK/requests-$1" ${4:+--unenforced "$4"} >"$WORK/standin-$1" 2>&1 &
	track_bg "$!"
	wait_for 10 grep -qx ready "$WORK/standin-$1" || fail "stand-in $1 did not start: $(cat "$WORK/standin-$1")"
}

test_vcpu_list_columns() {
	standin web 3 3
	bounded 20 list "$XL" vcpu-list web
	[ "$BOUNDED_RC" = 0 ] || fail "vcpu-list web exited $BOUNDED_RC: $(said list err)"
	printf '%-32s %5s %5s %5s %5s %9s %s\n' Name ID VCPU CPU State 'Time(s)' 'Affinity (Hard / Soft)' >"$WORK/want"
	printf '%-32s %5u %5u%5u %3c%c- %9.1f  %s\n' web 3 0 0 r - 0.0 'all / all' web 3 1 1 - b 1.2 'all / all' >>"$WORK/want"
	printf '%-32s %5u %5u%5c %3c%cp %9.1f  %s\n' web 3 2 - - - 2.5 'all / all' >>"$WORK/want"
	diff "$WORK/want" "$WORK/list.out" >"$WORK/diff" || fail "vcpu-list web differs: $(tr '\n' '|' <"$WORK/diff")"
	standin db 4 1
	bounded 20 all "$XL" vcpu-list
	[ "$(grep -c '^web ' "$WORK/all.out")" = 3 ] && [ "$(grep -c '^db ' "$WORK/all.out")" = 1 ] ||
		fail "vcpu-list of all: $(said all out)"
}

test_vcpu_pin_requests_and_refusals() {
	standin pin 5 2
	bounded 20 one "$XL" vcpu-pin pin 1 0-3,^2
	[ "$BOUNDED_RC" = 0 ] || fail "vcpu-pin exited $BOUNDED_RC: $(said one err)"
	bounded 20 soft "$XL" vcpu-pin pin all - 1
	[ "$BOUNDED_RC" = 0 ] || fail "vcpu-pin all - 1 exited $BOUNDED_RC: $(said soft err)"
	[ "$(grep vcpu-pin "$WORK/requests-pin" | tr '\n' '|')" = "vcpu-pin 1 0-3,^2|vcpu-pin all - 1|" ] ||
		fail "requests sent: $(tr '\n' '|' <"$WORK/requests-pin")"
	bounded 20 list "$XL" vcpu-list pin
	grep -q ' 0-3,^2 / 1$' "$WORK/list.out" || fail "vcpu-list after the pins: $(said list out)"
	bounded 20 bad "$XL" vcpu-pin pin x 0
	[ "$BOUNDED_RC" = 1 ] && grep -qxF "Error: Invalid argument x as VCPU." "$WORK/bad.err" || fail "vcpu-pin x: $(said bad err)"
	bounded 20 force "$XL" vcpu-pin -f pin all 0
	grep -qxF "Error: --force and 'all' as VCPU not allowed." "$WORK/force.err" || fail "vcpu-pin -f all: $(said force err)"
	bounded 20 range "$XL" vcpu-pin pin 0 0-x
	[ "$BOUNDED_RC" = 1 ] && grep -qF "'0-x' is not a range of CPUs" "$WORK/range.err" || fail "vcpu-pin 0-x: $(said range err)"
	bounded 20 far "$XL" vcpu-pin pin 7 0
	[ "$BOUNDED_RC" = 1 ] && grep -qF "Could not set affinity for vcpu \`7': vCPU 7 does not exist" "$WORK/far.err" ||
		fail "vcpu-pin 7: $(said far err)"
	[ "$(grep -c vcpu-pin "$WORK/requests-pin")" = 3 ] || fail "a refused pin was sent: $(tr '\n' '|' <"$WORK/requests-pin")"
	bounded 20 dry "$XL" -N vcpu-pin pin 0 2 3
	[ "$(cat "$WORK/dry.out")" = "cpumap: 2 3" ] || fail "vcpu-pin -N said: $(said dry out)"
}

test_sched_credit_output_and_setting() {
	standin a 6 1
	standin b 7 2
	bounded 20 all "$XL" sched-credit
	[ "$BOUNDED_RC" = 0 ] || fail "sched-credit exited $BOUNDED_RC: $(said all err)"
	{
		echo "Cpupool Pool-0: [sched params unavailable]"
		printf '%-33s %4s %6s %4s\n' Name ID Weight Cap
		printf '%-33s %4u %6u %4u\n' a 6 256 0 b 7 256 0
	} >"$WORK/want"
	diff "$WORK/want" "$WORK/all.out" >"$WORK/diff" || fail "sched-credit differs: $(tr '\n' '|' <"$WORK/diff")"
	bounded 20 set "$XL" sched-credit -d b -w 512 -c 25
	[ "$BOUNDED_RC" = 0 ] && [ ! -s "$WORK/set.out" ] || fail "setting: $BOUNDED_RC $(said set err)"
	grep -qx "sched-credit weight=512 cap=25" "$WORK/requests-b" || fail "sent: $(tr '\n' '|' <"$WORK/requests-b")"
	bounded 20 one "$XL" sched-credit -d b
	printf '%-33s %4s %6s %4s\n%-33s %4u %6u %4u\n' Name ID Weight Cap b 7 512 25 >"$WORK/want"
	diff "$WORK/want" "$WORK/one.out" >/dev/null || fail "sched-credit -d b: $(said one out)"
	bounded 20 nodom "$XL" sched-credit -w 5
	[ "$BOUNDED_RC" = 1 ] && grep -qxF "Must specify a domain." "$WORK/nodom.err" || fail "-w without -d: $(said nodom err)"
	bounded 20 zero "$XL" sched-credit -d b -w 0
	[ "$BOUNDED_RC" = 1 ] && grep -qF "weight '0': expected 1 to 65535" "$WORK/zero.err" || fail "-w 0: $(said zero err)"
	bounded 20 pool "$XL" sched-credit -s
	[ "$BOUNDED_RC" = 1 ] && grep -qF "not supported by Xenith" "$WORK/pool.err" || fail "-s: $(said pool err)"
	[ "$(grep -c 'weight=' "$WORK/requests-b")" = 1 ] || fail "a refused setting was sent: $(tr '\n' '|' <"$WORK/requests-b")"
}

test_sched_credit_unenforced_is_said() {
	standin plain 8 1 "no cgroup file system with the cpu controller is mounted"
	bounded 20 read "$XL" sched-credit -d plain
	[ "$BOUNDED_RC" = 0 ] || fail "reading exited $BOUNDED_RC"
	grep -q "^plain  *8  *256  *0$" "$WORK/read.out" || fail "row: $(said read out)"
	grep -qF "weight and cap are not enforced: no cgroup file system" "$WORK/read.err" || fail "not said: $(said read err)"
	bounded 20 set "$XL" sched-credit -d plain -w 512
	[ "$BOUNDED_RC" = 1 ] && grep -qF "cannot set the credit scheduler parameters of domain 8 (plain): weight and cap are not enforced on this host" "$WORK/set.err" ||
		fail "setting unenforced: $BOUNDED_RC $(said set err)"
}

# /proc/<vmm>/task/*/status of the domain's VMM: the Cpus_allowed_list of each thread, one a line.
thread_masks() {
	local pid
	pid=$(vmm_pid_of "$1")
	[ -n "$pid" ] || return 1
	grep -h '^Cpus_allowed_list:' /proc/"$pid"/task/*/status 2>/dev/null | awk '{ print $2 }'
}

test_pinned_vcpu_thread_shows_the_pin() {
	need_kvm
	[ "$(getconf _NPROCESSORS_ONLN)" -ge 2 ] || skip "one host CPU: a pin cannot differ from all"
	local cfg
	cfg=$(make_cfg pinned 'vcpus = 1' 'cpus = "1"')
	bounded 60 create "$XL" create "$cfg"
	[ "$BOUNDED_RC" = 0 ] || fail "create: $(said create err)"
	wait_for 10 eval 'thread_masks pinned | grep -qx 1' || fail "no VMM thread pinned to CPU 1: $(thread_masks pinned | tr '\n' ' ')"
	bounded 20 pin "$XL" vcpu-pin pinned 0 0
	[ "$BOUNDED_RC" = 0 ] || fail "vcpu-pin: $(said pin err)"
	wait_for 5 eval 'thread_masks pinned | grep -qx 0' || fail "vcpu-pin 0 did not move the thread: $(thread_masks pinned | tr '\n' ' ')"
	bounded 20 list "$XL" vcpu-list pinned
	grep -qE '^pinned +[0-9]+ +0 .* 0 / all$' "$WORK/list.out" || fail "vcpu-list: $(said list out)"
}

run_tests
