#!/bin/bash
# SMP guests and vCPU hot-plug (issue 11, items 1-2; docs/pv-core.md "SMP").  Needs /dev/kvm: the test
# guest's `smp` program starts its secondaries with VCPUOP_initialise + VCPUOP_up and prints
# `smp: online 1111 counters C0 C1 C2 C3` every period; xl vcpu-set's cpu/<n>/availability makes a
# vCPU down itself and come back.  vcpu_set.sh checks xl's side without KVM.
. "$(dirname "$0")/testlib.bash"
NEEDS_KVM=0

# The newest `smp: online ...` line of domain NAME: "ONLINE C0 C1 ...".
last_smp() { grep -a "smp: online" "$(guest_log "$1")" 2>/dev/null | tail -1 | tr -d '\r' | sed 's/.*smp: online //; s/ counters//'; }
smp_lines() { local n; n=$(grep -ac "smp: online" "$(guest_log "$1")" 2>/dev/null) || true; echo "${n:-0}"; }
# Predicates for wait_for, which runs its command again each time: a $(...) in its arguments would be
# expanded once only.
more_smp_lines() { [ "$(smp_lines "$1")" -gt "$2" ]; }

# moving NAME ONLINE: two lines in a row with that online mask, and every online vCPU's counter
# larger in the second: they all run.
moving() {
	local name=$1 want=$2 n before after i a b
	n=$(smp_lines "$name")
	wait_for 10 more_smp_lines "$name" "$n" || return 1
	before=$(last_smp "$name")
	n=$(smp_lines "$name")
	wait_for 10 more_smp_lines "$name" "$n" || return 1
	after=$(last_smp "$name")
	read -r -a b <<<"$before"
	read -r -a a <<<"$after"
	[ "${b[0]}" = "$want" ] && [ "${a[0]}" = "$want" ] || return 1
	for ((i = 0; i < ${#want}; i++)); do
		[ "${want:$i:1}" = 1 ] || continue
		[ "${a[$((i + 1))]}" -gt "${b[$((i + 1))]}" ] || return 1
	done
}

# listed_vcpus NAME: xl list's VCPUs column.
listed_vcpus() { "$XL" list "$1" 2>/dev/null | awk -v n="$1" '$1 == n { print $4 }'; }
listed_vcpus_is() { [ "$(listed_vcpus "$1")" = "$2" ]; }

test_smp_four_counters_and_vcpu_set() {
	need_kvm
	local cfg; cfg=$(make_cfg quad 'vcpus = 4' 'cmdline = "test=smp period_ms=300"')
	"$XL" create "$cfg" 2>"$WORK/create.err" || fail "xl create: $(cat "$WORK/create.err")"
	expect_log quad "smp: 4 vCPUs"
	wait_for 20 moving quad 1111 || fail "four counters do not all move: $(last_smp quad)"
	wait_for 10 listed_vcpus_is quad 4 || fail "xl list shows $(listed_vcpus quad) VCPUs, not 4"
	"$XL" vcpu-set -i quad 2 || fail "xl vcpu-set quad 2 failed"
	wait_for 20 moving quad 1100 || fail "after vcpu-set 2: $(last_smp quad)"
	wait_for 10 listed_vcpus_is quad 2 || fail "xl list shows $(listed_vcpus quad) VCPUs after vcpu-set 2"
	"$XL" vcpu-set -i quad 4 || fail "xl vcpu-set quad 4 failed"
	wait_for 20 moving quad 1111 || fail "after vcpu-set 4: $(last_smp quad)"
	wait_for 10 listed_vcpus_is quad 4 || fail "xl list shows $(listed_vcpus quad) VCPUs after vcpu-set 4"
	"$XL" destroy quad
}

test_smp_maxvcpus_offline_until_set() {
	need_kvm
	need_xenstore_utils
	local cfg; cfg=$(make_cfg grow 'vcpus = 2' 'maxvcpus = 4' 'cmdline = "test=smp period_ms=300"')
	"$XL" create "$cfg" 2>"$WORK/create.err" || fail "xl create: $(cat "$WORK/create.err")"
	expect_log grow "smp: 4 vCPUs"
	wait_for 20 moving grow 1100 || fail "with vcpus=2 of 4: $(last_smp grow)"
	xs_read_is "/local/domain/$(domain_id grow)/cpu/3/availability" offline || fail "cpu/3 is not offline"
	"$XL" vcpu-set -i grow 3 || fail "xl vcpu-set grow 3 failed"
	wait_for 20 moving grow 1110 || fail "after vcpu-set 3: $(last_smp grow)"
	"$XL" vcpu-set -i grow 5 2>"$WORK/over.err" && fail "vcpu-set 5 of maxvcpus 4 succeeded"
	grep -qF "however maxcpus is 4" "$WORK/over.err" || fail "vcpu-set 5 said: $(cat "$WORK/over.err")"
	"$XL" destroy grow
}

run_tests
