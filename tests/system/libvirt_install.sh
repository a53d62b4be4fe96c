#!/bin/bash
# virt-install (Debian's virtinst 4.1) against xenith-libvirtd (issue 15).  The flags a xen
# connection needs: `--disk type=file,source.file=PATH,device=disk` (a bare `--disk PATH` works
# too: virt-install then manages the file through the storage procedures, libvirt_storage.sh;
# test_bare_disk_path below), `--graphics none` (Xenith has
# no framebuffer; the domain XML refuses <graphics>), `--boot kernel=,initrd=,kernel_args=` for a
# PV(H) kernel, `--network bridge=BR`, `--os-variant generic`, `--noautoconsole`.
# Without KVM: --print-xml gives XML our define takes (and dumpxml gives back the disk, the bridge
# and the kernel), --dry-run completes.  With KVM (skips here): a real run makes a domain that runs
# the test guest, in xl list too.
. "$(dirname "$0")/testlib.bash"
NEEDS_KVM=0

# start_daemon [PREFIX...]: testlib's start_libvirtd, once virt-install is known to be there.
start_daemon() {
	need virt-install "virtinst; scripts/install-deps"
	start_libvirtd "$@"
}

# vinst TAG NAME KERNEL [ARGS...]: virt-install with the flags above, output in $WORK/TAG.*.
vinst() {
	local tag=$1 name=$2 kernel=$3
	shift 3
	truncate -s 64M "$WORK/$name.img"
	bounded 120 "$tag" virt-install --connect "$URI" --name "$name" --memory 128 --vcpus 1 --import \
		--disk "type=file,source.file=$WORK/$name.img,device=disk" --network bridge=xbr0 \
		--boot "kernel=$kernel,kernel_args=console=hvc0" --graphics none --os-variant generic \
		--noautoconsole "$@"
}

v() { bounded 20 "$1" virsh -q -c "$URI" "${@:2}"; }
v_ok() { v "$@"; [ "$BOUNDED_RC" = 0 ] || fail "virsh ${*:2} exited $BOUNDED_RC: $(said "$1" err)"; }

test_print_xml_is_defined() {
	start_daemon
	: >"$WORK/kernel"
	vinst px vi1 "$WORK/kernel" --print-xml
	[ "$BOUNDED_RC" = 0 ] || fail "virt-install --print-xml: $(said px err)"
	grep -q "<domain type=\"xen\">" "$WORK/px.out" || fail "not a xen domain: $(said px out)"
	cp "$WORK/px.out" "$WORK/vi1.xml"
	v def define "$WORK/vi1.xml"
	grep -q "not supported" "$WORK/def.err" && skip "virsh define is not served yet: $(said def err)"
	[ "$BOUNDED_RC" = 0 ] || fail "our define refused virt-install's XML: $(said def err) -- $(said px out)"
	v_ok dump dumpxml vi1
	grep -q "<source file='$WORK/vi1.img'/>" "$WORK/dump.out" &&
		grep -q "<source bridge='xbr0'/>" "$WORK/dump.out" &&
		grep -q "<kernel>$WORK/kernel</kernel>" "$WORK/dump.out" &&
		grep -q "<cmdline>console=hvc0</cmdline>" "$WORK/dump.out" ||
		fail "dumpxml lost what virt-install asked for: $(said dump out)"
	v_ok undef undefine vi1
}

test_dry_run() {
	start_daemon
	: >"$WORK/kernel"
	vinst dry vi2 "$WORK/kernel" --dry-run
	[ "$BOUNDED_RC" = 0 ] && grep -q "Dry run completed successfully" "$WORK/dry.out" ||
		fail "virt-install --dry-run: rc $BOUNDED_RC: $(said dry out) $(said dry err)"
	v list list --all
	! grep -qw vi2 "$WORK/list.out" || fail "a dry run made a domain: $(said list out)"
}

test_bare_disk_path() {
	start_daemon
	: >"$WORK/kernel"
	truncate -s 64M "$WORK/vi4.img"
	bounded 120 bare virt-install --connect "$URI" --name vi4 --memory 128 --vcpus 1 --import \
		--disk "$WORK/vi4.img" --network bridge=xbr0 --boot "kernel=$WORK/kernel" \
		--graphics none --os-variant generic --noautoconsole --print-xml
	[ "$BOUNDED_RC" = 0 ] && grep -q "<source file=\"$WORK/vi4.img\"/>" "$WORK/bare.out" ||
		fail "virt-install --disk PATH: rc $BOUNDED_RC: $(said bare err)"
}

test_install_runs_the_test_guest() {
	need_kvm
	make_bridge_netns inst
	KVM_DEVICE=/dev/kvm start_daemon ip netns exec "$NETNS"
	vinst real vi3 "$GUEST"
	[ "$BOUNDED_RC" = 0 ] || fail "virt-install: $(said real err)"
	wait_for 20 domain_listed vi3 || fail "vi3 is not in xl list"
	expect_log vi3 "Xenith test guest"
}

run_tests
