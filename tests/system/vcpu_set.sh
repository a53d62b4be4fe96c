#!/bin/bash
# xl vcpu-set (issue 11, item 2) without KVM: the domain is a stand-in (xl_standin_vmm.py) and its
# cpu/<n>/availability nodes are written into a real xenstored as the VMM writes them at creation
# (vcpus online, the rest up to maxvcpus offline).  Checks the nodes vcpu-set writes, its refusals in
# xl's words (nothing written then), and that a stopped xenstored costs a bounded wait and a message.
# What a running guest makes of the nodes is smp.sh's (needs KVM).
. "$(dirname "$0")/testlib.bash"
NEEDS_KVM=0

use_test_xenstored
STANDIN="$ROOT/tests/system/xl_standin_vmm.py"


# domain NAME DOMID VCPUS MAXVCPUS: a stand-in domain with its cpu nodes.
domain() {
	local name=$1 domid=$2 vcpus=$3 max=$4 n args=()
	need python3
	need_xenstore_utils
	[ -n "${XS_PID:-}" ] || start_xenstored
	mkdir -p "$XENITH_RUNDIR/domains"
	python3 "$STANDIN" --rundir "$XENITH_RUNDIR" --name "$name" --domid "$domid" >"$WORK/standin-$name" 2>&1 &
	wait_for 10 grep -qx ready "$WORK/standin-$name" || fail "stand-in $name did not start: $(cat "$WORK/standin-$name")"
	for ((n = 0; n < max; n++)); do
		args+=("/local/domain/$domid/cpu/$n/availability" "$([ $n -lt "$vcpus" ] && echo online || echo offline)")
	done
	xs xenstore-write /local/domain/"$domid"/name "$name" "${args[@]}"
}

# availability DOMID MAX: the nodes as one line, "online online offline".
availability() {
	local n out=""
	for ((n = 0; n < $2; n++)); do
		out+="$(xs xenstore-read "/local/domain/$1/cpu/$n/availability" 2>&1) "
	done
	echo "${out% }"
}

test_vcpu_set_writes_availability() {
	domain web 5 2 4
	[ "$(availability 5 4)" = "online online offline offline" ] || fail "setup: $(availability 5 4)"
	bounded 20 up "$XL" vcpu-set -i web 3   # -i: this host may have fewer CPUs
	[ "$BOUNDED_RC" = 0 ] || fail "vcpu-set web 3 failed ($BOUNDED_RC): $(said up err)"
	[ ! -s "$WORK/up.err" ] && [ ! -s "$WORK/up.out" ] || fail "vcpu-set said something: $(said up err)"
	[ "$(availability 5 4)" = "online online online offline" ] || fail "after vcpu-set 3: $(availability 5 4)"
	bounded 20 down "$XL" vcpu-set 5 1
	[ "$BOUNDED_RC" = 0 ] || fail "vcpu-set 5 1 failed ($BOUNDED_RC): $(said down err)"
	[ "$(availability 5 4)" = "online offline offline offline" ] || fail "after vcpu-set 1: $(availability 5 4)"
	bounded 20 all "$XL" vcpu-set --ignore-host web 4
	[ "$(availability 5 4)" = "online online online online" ] || fail "after vcpu-set 4: $(availability 5 4)"
}

test_vcpu_set_refusals() {
	domain db 6 2 4
	bounded 20 zero "$XL" vcpu-set db 0
	[ "$BOUNDED_RC" = 1 ] || fail "vcpu-set 0 exited $BOUNDED_RC"
	grep -qF "Requested 0 VCPUs!" "$WORK/zero.err" || fail "vcpu-set 0 said: $(said zero err)"
	grep -qF "libxl_set_vcpuonline failed domid=6 max_vcpus=0, rc: -3" "$WORK/zero.err" || fail "vcpu-set 0 said: $(said zero err)"
	bounded 20 over "$XL" vcpu-set -i db 5
	[ "$BOUNDED_RC" = 1 ] || fail "vcpu-set 5 of 4 exited $BOUNDED_RC"
	grep -qF "Requested 5 VCPUs, however maxcpus is 4!" "$WORK/over.err" || fail "vcpu-set 5 said: $(said over err)"
	bounded 20 bad "$XL" vcpu-set db two
	[ "$BOUNDED_RC" = 1 ] && grep -qxF "Error: Invalid argument." "$WORK/bad.err" || fail "vcpu-set two: $BOUNDED_RC $(said bad err)"
	bounded 20 nodom "$XL" vcpu-set nosuch 2
	[ "$BOUNDED_RC" != 0 ] && grep -q "nosuch" "$WORK/nodom.err" || fail "vcpu-set of no domain: $BOUNDED_RC $(said nodom err)"
	bounded 20 noarg "$XL" vcpu-set db
	[ "$BOUNDED_RC" != 0 ] || fail "vcpu-set without a count succeeded"
	[ "$(availability 6 4)" = "online online offline offline" ] || fail "a refusal wrote nodes: $(availability 6 4)"
}

test_vcpu_set_overcommit() {
	local host max
	host=$(getconf _NPROCESSORS_CONF)
	max=$((host + 2))
	[ "$max" -le 64 ] || skip "this host has $host CPUs: a domain cannot have more vCPUs than 64"
	domain big 7 1 "$max"
	bounded 20 over "$XL" vcpu-set big $((host + 1))
	[ "$BOUNDED_RC" = 1 ] || fail "overcommitting vcpu-set exited $BOUNDED_RC"
	grep -qF "You are overcommmitting! You have $host physical CPUs and want $((host + 1)) vCPUs!" "$WORK/over.err" ||
		fail "overcommit said: $(said over err)"
	[ "$(xs xenstore-read /local/domain/7/cpu/1/availability)" = offline ] || fail "the refusal wrote nodes"
	bounded 20 forced "$XL" vcpu-set --ignore-host big $((host + 1))
	[ "$BOUNDED_RC" = 0 ] || fail "vcpu-set --ignore-host failed: $(said forced err)"
	[ "$(xs xenstore-read /local/domain/7/cpu/$host/availability)" = online ] || fail "--ignore-host wrote nothing"
	[ "$(xs xenstore-read /local/domain/7/cpu/$((host + 1))/availability)" = offline ] || fail "the last vCPU came online"
}

test_vcpu_set_stopped_xenstored() {
	domain slow 8 1 2
	kill -STOP "$XS_PID"
	local start=$SECONDS
	bounded 30 stuck "$XL" vcpu-set slow 2
	kill -CONT "$XS_PID"
	[ "$BOUNDED_RC" = 1 ] || fail "vcpu-set with xenstored stopped exited $BOUNDED_RC: $(said stuck err)"
	grep -q "did not answer" "$WORK/stuck.err" || fail "vcpu-set did not say xenstored did not answer: $(said stuck err)"
	[ $((SECONDS - start)) -le 15 ] || fail "vcpu-set took $((SECONDS - start)) s"
}

run_tests
