#!/bin/bash
# Storage through xenith-libvirtd (docs/libvirt.md, "Storage"): Debian's virsh pool-*/vol-* on a
# dir pool, python3-libvirt's listAllStoragePools, and virt-install's everyday --disk forms (a bare
# path to an existing image, and path=...,size=N for a new one), which go through the storage
# procedures.  No KVM needed: --print-xml makes no domain.
. "$(dirname "$0")/testlib.bash"
NEEDS_KVM=0
PY_LIBVIRT=/usr/bin/python3      # Debian's python3-libvirt lives with the system interpreter

v() { bounded 20 "$1" virsh -q -c "$URI" "${@:2}"; }
v_ok() { v "$@"; [ "$BOUNDED_RC" = 0 ] || fail "virsh ${*:2} exited $BOUNDED_RC: $(said "$1" err)"; }

test_pool_and_volumes() {
	start_libvirtd
	mkdir -p "$WORK/pool"
	v_ok def pool-define-as sp dir --target "$WORK/pool"
	v_ok start pool-start sp
	v_ok auto pool-autostart sp
	v_ok list pool-list --all
	grep -Eq '^ *sp +active +yes' "$WORK/list.out" || fail "pool-list: $(said list out)"
	v_ok create vol-create-as sp a.raw 10M
	[ "$(stat -c %s "$WORK/pool/a.raw")" = 10485760 ] || fail "a.raw is not 10 MiB: $(ls -l "$WORK/pool")"
	v_ok vols vol-list sp
	grep -q "a.raw *$WORK/pool/a.raw" "$WORK/vols.out" || fail "vol-list: $(said vols out)"
	v_ok info vol-info --pool sp a.raw
	grep -q "Capacity: *10.00 MiB" "$WORK/info.out" || fail "vol-info: $(said info out)"
	v_ok bypath vol-info "$WORK/pool/a.raw"
	v again vol-create-as sp a.raw 1M
	[ "$BOUNDED_RC" != 0 ] && grep -q "exists already" "$WORK/again.err" ||
		fail "a second a.raw was not refused: $(said again err)"
	v evil vol-create-as sp ../evil.raw 1M
	[ "$BOUNDED_RC" != 0 ] && [ ! -e "$WORK/evil.raw" ] || fail "a volume name with '/' was taken"
	v_ok del vol-delete --pool sp a.raw
	[ ! -e "$WORK/pool/a.raw" ] || fail "vol-delete left the file"
	v_ok destroy pool-destroy sp
	v_ok undef pool-undefine sp
	v_ok list2 pool-list --all
	! grep -q sp "$WORK/list2.out" || fail "sp still listed: $(said list2 out)"
}

test_python_lists_pools() {
	start_libvirtd
	mkdir -p "$WORK/pool"
	v_ok def pool-define-as pypool dir --target "$WORK/pool"
	bounded 20 py "$PY_LIBVIRT" -c '
import sys, libvirt
c = libvirt.open(sys.argv[1])
print(" ".join(sorted(p.name() for p in c.listAllStoragePools())))' "$URI"
	grep -q "No module named" "$WORK/py.err" && skip "no python3-libvirt for $PY_LIBVIRT"
	[ "$BOUNDED_RC" = 0 ] && grep -qx pypool "$WORK/py.out" ||
		fail "listAllStoragePools: $(said py out) $(said py err)"
}

# vinst TAG NAME DISK: virt-install --print-xml with --disk DISK.
vinst() {
	need virt-install "virtinst; scripts/install-deps"
	: >"$WORK/kernel"
	bounded 120 "$1" virt-install --connect "$URI" --name "$2" --memory 128 --vcpus 1 --import \
		--disk "$3" --network bridge=xbr0 --boot "kernel=$WORK/kernel" --graphics none \
		--os-variant generic --noautoconsole --print-xml
}

test_virt_install_bare_disk_path() {
	start_libvirtd
	mkdir -p "$WORK/imgs"
	truncate -s 16M "$WORK/imgs/img.raw"
	vinst bare vs1 "$WORK/imgs/img.raw"
	[ "$BOUNDED_RC" = 0 ] || fail "virt-install --disk PATH: $(said bare err)"
	grep -q "<source file=\"$WORK/imgs/img.raw\"/>" "$WORK/bare.out" ||
		fail "the disk is not in the XML: $(said bare out)"
}

test_virt_install_new_disk() {
	start_libvirtd
	mkdir -p "$WORK/imgs"
	vinst new vs2 "path=$WORK/imgs/new.raw,size=0.01"
	[ "$BOUNDED_RC" = 0 ] || fail "virt-install --disk path=,size=: $(said new err)"
	grep -q "<source file=\"$WORK/imgs/new.raw\"/>" "$WORK/new.out" ||
		fail "the new disk is not in the XML: $(said new out)"
	[ -f "$WORK/imgs/new.raw" ] && [ "$(stat -c %s "$WORK/imgs/new.raw")" -ge 10000000 ] ||
		fail "no 0.01 GiB file made: $(ls -l "$WORK/imgs")"
}

run_tests
