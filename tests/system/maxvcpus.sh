#!/bin/bash
# maxvcpus above vcpus (issue 11, item 2) without KVM: what xl create hands the VMM, and what the VMM
# refuses before it touches KVM.  xl runs a recording stand-in for the VMM (XENITH_VMM) that writes
# its arguments and exits, so the command line is the one a real VMM would get.  What a running guest
# makes of the extra vCPUs (offline until vcpu-set) is smp.sh's (needs KVM).
. "$(dirname "$0")/testlib.bash"
NEEDS_KVM=0

VMM="$(dirname "$XL")/xenith-vmm"

# spawn_args TAG CFG-LINE...: xl create with the recording VMM; its arguments, one a line, go to
# $WORK/TAG.args (absent when xl never started it), xl's own output to $WORK/TAG.{out,err}.
spawn_args() {
	local tag=$1 cfg
	shift
	cat >"$WORK/recording-vmm" <<-EOF
	#!/bin/bash
	printf '%s\n' "\$@" >"$WORK/\$XENITH_TEST_TAG.args"
	exit 1
	EOF
	chmod +x "$WORK/recording-vmm"
	cfg="$WORK/$tag.cfg"
	printf 'name = "%s"\ntype = "pvh"\nkernel = "/bin/true"\nmemory = 32\n' "$tag" >"$cfg"
	printf '%s\n' "$@" >>"$cfg"
	rm -f "$WORK/$tag.args"
	XENITH_TEST_TAG=$tag XENITH_VMM="$WORK/recording-vmm" XENITH_KVM_DEVICE=/dev/null \
		bounded 30 "$tag" "$XL" create "$cfg"
}

# option_of TAG OPTION: the value after OPTION in TAG's recorded arguments, or "absent".
option_of() {
	awk -v o="$2" 'found { print; exit } $0 == o { found = 1 } END { if (!found) print "absent" }' "$WORK/$1.args"
}

test_maxvcpus_reaches_the_vmm() {
	spawn_args plug "vcpus = 2" "maxvcpus = 4"
	[ -s "$WORK/plug.args" ] || fail "xl never started the VMM: $(said plug err)"
	[ "$(option_of plug --vcpus)" = 2 ] || fail "--vcpus is $(option_of plug --vcpus): $(tr '\n' ' ' <"$WORK/plug.args")"
	[ "$(option_of plug --max-vcpus)" = 4 ] || fail "--max-vcpus is $(option_of plug --max-vcpus): $(tr '\n' ' ' <"$WORK/plug.args")"
	# Without maxvcpus, or with it equal to vcpus, there is nothing to plug: no --max-vcpus.
	spawn_args fixed "vcpus = 3"
	[ "$(option_of fixed --vcpus)" = 3 ] && [ "$(option_of fixed --max-vcpus)" = absent ] ||
		fail "vcpus = 3 alone gave: $(tr '\n' ' ' <"$WORK/fixed.args")"
	spawn_args same "vcpus = 2" "maxvcpus = 2"
	[ "$(option_of same --max-vcpus)" = absent ] || fail "maxvcpus = vcpus gave: $(tr '\n' ' ' <"$WORK/same.args")"
}

test_maxvcpus_below_vcpus_refused_by_xl() {
	spawn_args less "vcpus = 4" "maxvcpus = 2"
	[ "$BOUNDED_RC" != 0 ] || fail "xl create accepted maxvcpus below vcpus"
	grep -qF "maxvcpus (2) must not be less than vcpus (4)" "$WORK/less.err" || fail "xl said: $(said less err)"
	[ ! -e "$WORK/less.args" ] || fail "xl started the VMM anyway: $(tr '\n' ' ' <"$WORK/less.args")"
}

# The VMM checks its own options before it opens KVM (a VMM may be started by hand).
test_vmm_checks_max_vcpus() {
	[ -x "$VMM" ] || skip "no xenith-vmm at $VMM (make tools)"
	bounded 10 less env XENITH_KVM_DEVICE=/dev/null "$VMM" --name t --kernel /bin/true --vcpus 4 --max-vcpus 2
	[ "$BOUNDED_RC" = 1 ] && grep -qF -- "--max-vcpus 2: less than --vcpus 4" "$WORK/less.err" ||
		fail "--vcpus 4 --max-vcpus 2: $BOUNDED_RC $(said less err)"
	bounded 10 zero env XENITH_KVM_DEVICE=/dev/null "$VMM" --name t --kernel /bin/true --max-vcpus 0
	[ "$BOUNDED_RC" = 1 ] && grep -qF -- "--max-vcpus '0': expected a number of vCPUs from 1 to" "$WORK/zero.err" ||
		fail "--max-vcpus 0: $BOUNDED_RC $(said zero err)"
	bounded 10 many env XENITH_KVM_DEVICE=/dev/null "$VMM" --name t --kernel /bin/true --max-vcpus 100000
	[ "$BOUNDED_RC" = 1 ] && grep -qF -- "--max-vcpus '100000': expected a number of vCPUs from 1 to" "$WORK/many.err" ||
		fail "--max-vcpus 100000: $BOUNDED_RC $(said many err)"
}

run_tests
