#!/bin/bash
# vCPUs, the credit scheduler and devices through xenith-libvirtd (issue 15) with Debian's virsh,
# no KVM needed: the domains are stand-ins that log every request they get.
#  - sched_standin_vmm.py: `virsh vcpuinfo` columns (VCPU, CPU, State, CPU time, CPU Affinity),
#    `virsh vcpupin` sends xl's vcpu-pin and shows in vcpuinfo, `virsh schedinfo` reads and sets
#    weight and cap (xl's sched-credit request), `virsh setvcpus --live` writes the domain's
#    cpu/<n>/availability in a real xenstored as xl vcpu-set does;
#  - xl_standin_vmm.py: `attach-interface` / `attach-disk` with --live --config reach the stand-in
#    as vif-attach / vbd-attach and put the device in `dumpxml --inactive`; `detach-interface` /
#    `detach-disk` --live --config send vif-detach / vbd-detach and take it out of both; the live
#    dumpxml shows what runs (a live-only interface, the VMM's saved config) and --inactive the
#    definition; detaching a device that is not there is libvirt's VIR_ERR_DEVICE_MISSING.
. "$(dirname "$0")/testlib.bash"
NEEDS_KVM=0
SCHED_STANDIN="$ROOT/tests/system/sched_standin_vmm.py"
STANDIN="$ROOT/tests/system/xl_standin_vmm.py"

v() { bounded 20 "$1" virsh -q -c "$URI" "${@:2}"; }
v_ok() { v "$@"; [ "$BOUNDED_RC" = 0 ] || fail "virsh ${*:2} exited $BOUNDED_RC: $(said "$1" err)"; }
# field FILE KEY: the value after "KEY:" in a virsh report, blanks trimmed ("web 0" for the first).
field() { awk -F: -v k="$2" '$1 ~ "^"k" *$" { sub(/^ +/, "", $2); print $2; exit }' "$WORK/$1.out"; }

# sched_standin NAME DOMID VCPUS: its requests in $WORK/requests-NAME.
sched_standin() {
	need python3
	mkdir -p "$XENITH_RUNDIR/domains"
	python3 "$SCHED_STANDIN" --rundir "$XENITH_RUNDIR" --name "$1" --domid "$2" --vcpus "$3" \
		--log "$WORK/requests-$1" >"$WORK/standin-$1" 2>&1 &
	track_bg "$!"
	wait_for 10 grep -qsx ready "$WORK/standin-$1" || fail "stand-in $1 did not start: $(cat "$WORK/standin-$1")"
}

test_vcpuinfo_vcpupin_schedinfo() {
	start_libvirtd
	sched_standin web 6 3
	v_ok info vcpuinfo web
	# vCPU 1 (the stand-in's second): blocked on CPU 1 after 1.25 s; vCPU 2 has no thread.
	awk 'BEGIN { RS = ""; FS = "\n" } NR == 2' "$WORK/info.out" >"$WORK/v1.out"
	[ "$(field v1 VCPU)" = 1 ] && [ "$(field v1 CPU)" = 1 ] && [ "$(field v1 State)" = blocked ] &&
		[ "$(field v1 'CPU time')" = 1.2s ] || fail "vcpuinfo's vCPU 1: $(said info out)"
	awk 'BEGIN { RS = ""; FS = "\n" } NR == 3' "$WORK/info.out" >"$WORK/v2.out"
	[ "$(field v2 State)" = offline ] || fail "vcpuinfo's vCPU 2: $(said info out)"
	local all
	all=$(field v1 'CPU Affinity')
	[[ "$all" =~ ^y+$ ]] || fail "an unpinned vCPU's affinity: '$all'"

	v_ok pin vcpupin web 1 0
	grep -qx "vcpu-pin 1 0" "$WORK/requests-web" || fail "requests: $(tr '\n' '|' <"$WORK/requests-web")"
	v_ok info vcpuinfo web
	awk 'BEGIN { RS = ""; FS = "\n" } NR == 2' "$WORK/info.out" >"$WORK/v1.out"
	[ "$(field v1 'CPU Affinity')" = "y$(tr y - <<<"${all:1}")" ] ||
		fail "vCPU 1 pinned to CPU 0: $(field v1 'CPU Affinity')"

	v_ok sched schedinfo web
	[ "$(field sched Scheduler)" = credit ] && [ "$(field sched weight)" = 256 ] && [ "$(field sched cap)" = 0 ] ||
		fail "schedinfo: $(said sched out)"
	v_ok set schedinfo web --set weight=512
	v_ok set2 schedinfo web --set cap=25
	grep -qx "sched-credit weight=512" "$WORK/requests-web" && grep -qx "sched-credit cap=25" "$WORK/requests-web" ||
		fail "requests: $(tr '\n' '|' <"$WORK/requests-web")"
	v_ok sched schedinfo web
	[ "$(field sched weight)" = 512 ] && [ "$(field sched cap)" = 25 ] || fail "schedinfo after --set: $(said sched out)"
	v bad schedinfo web --set weight=0
	[ "$BOUNDED_RC" != 0 ] && grep -q "weight 0 is outside 1..65535" "$WORK/bad.err" || fail "weight=0: $(said bad err)"
}

test_setvcpus_live_through_xenstore() {
	need_xenstore_utils
	use_test_xenstored
	start_xenstored
	start_libvirtd
	sched_standin web 3 3
	local i
	for i in 0 1 2; do
		xs xenstore-write "/local/domain/3/cpu/$i/availability" online || fail "xenstore-write cpu/$i"
	done
	v_ok set setvcpus web 2 --live
	xs_read_is /local/domain/3/cpu/1/availability online && xs_read_is /local/domain/3/cpu/2/availability offline ||
		fail "cpu/<n>/availability after setvcpus 2: $(xs xenstore-ls /local/domain/3/cpu | tr '\n' ' ')"
	v big setvcpus web 4 --live
	[ "$BOUNDED_RC" != 0 ] && grep -q "Requested 4 VCPUs, however maxcpus is 3" "$WORK/big.err" ||
		fail "setvcpus 4: $(said big err)"
}

# The stand-in "dev" (domid 5) with the definition of the same name and UUID.
devices_domain() {
	need python3
	mkdir -p "$WORK/sysfs/xenbr0/bridge" "$XENITH_RUNDIR/domains"
	export XENITH_SYSFS_NET="$WORK/sysfs"
	start_libvirtd
	cat >"$WORK/dev.xml" <<EOF2
<domain type='xen'>
  <name>dev</name>
  <uuid>6f1c3c1e-1111-4222-8333-0123456789ad</uuid>
  <memory unit='KiB'>65536</memory>
  <os><type>xenpvh</type><kernel>$GUEST</kernel></os>
</domain>
EOF2
	v_ok def define "$WORK/dev.xml"
	(exec -a xenith-vmm python3 "$STANDIN" --rundir "$XENITH_RUNDIR" --name dev --domid 5 \
		--uuid 6f1c3c1e-1111-4222-8333-0123456789ad --log "$WORK/requests-dev") >"$WORK/standin-dev" 2>&1 &
	track_bg "$!"
	wait_for 10 grep -qsx ready "$WORK/standin-dev" || fail "stand-in dev did not start: $(cat "$WORK/standin-dev")"
}

# netback_bridge DEVID: the backend nodes the VMM's netback writes for vif DEVID of domain 5 (the
# stand-in has no netback), from which the live XML knows the interface's bridge.
netback_bridge() {
	xs xenstore-write "/local/domain/0/backend/vif/5/$1/bridge" xenbr0 || fail "xenstore-write vif $1"
}

test_interface_attach_detach() {
	need_xenstore_utils
	use_test_xenstored
	start_xenstored
	devices_domain
	v_ok att attach-interface dev bridge xenbr0 --mac 00:16:3e:00:00:0a --live --config
	netback_bridge 0
	grep -q "^vif-attach mac=00:16:3e:00:00:0a,bridge=xenbr0,script=" "$WORK/requests-dev" ||
		fail "requests: $(tr '\n' '|' <"$WORK/requests-dev")"
	v_ok xml dumpxml dev --inactive
	grep -q "<mac address='00:16:3e:00:00:0a'/>" "$WORK/xml.out" && grep -q "<source bridge='xenbr0'/>" "$WORK/xml.out" ||
		fail "dumpxml --inactive after attach: $(said xml out)"
	# Live only: in what runs (the VMM's vif-list), not in the definition.
	v_ok att2 attach-interface dev bridge xenbr0 --mac 00:16:3e:00:00:0c --live
	netback_bridge 1
	v_ok live dumpxml dev
	grep -q "<mac address='00:16:3e:00:00:0c'/>" "$WORK/live.out" && grep -q "<mac address='00:16:3e:00:00:0a'/>" "$WORK/live.out" ||
		fail "live dumpxml after attach --live: $(said live out)"
	v_ok xml dumpxml dev --inactive
	! grep -q "00:16:3e:00:00:0c" "$WORK/xml.out" || fail "dumpxml --inactive has a live-only interface: $(said xml out)"
	# One command for both: virsh 9.0 detaches it from the definition (found in dumpxml --inactive),
	# then from the running domain (found in the live dumpxml).
	v_ok det detach-interface dev bridge --mac 00:16:3e:00:00:0a --live --config
	grep -qx "vif-detach 0" "$WORK/requests-dev" || fail "requests: $(tr '\n' '|' <"$WORK/requests-dev")"
	v_ok xml dumpxml dev --inactive
	! grep -q "00:16:3e:00:00:0a" "$WORK/xml.out" || fail "dumpxml --inactive after detach: $(said xml out)"
	v_ok live dumpxml dev
	! grep -q "00:16:3e:00:00:0a" "$WORK/live.out" && grep -q "00:16:3e:00:00:0c" "$WORK/live.out" ||
		fail "live dumpxml after detach: $(said live out)"
	cat >"$WORK/nic.xml" <<EOF2
<interface type='bridge'><mac address='00:16:3e:00:00:0b'/><source bridge='xenbr0'/></interface>
EOF2
	v none detach-device dev "$WORK/nic.xml" --config
	[ "$BOUNDED_RC" != 0 ] && grep -q "device not found: domain 'dev' has no interface with MAC 00:16:3e:00:00:0b" "$WORK/none.err" ||
		fail "detach of an interface the definition lacks: $(said none err)"
	/usr/bin/python3 - "$URI" "$WORK/nic.xml" >"$WORK/py.out" 2>&1 <<'EOF2' || fail "python3-libvirt: $(tr '\n' ' ' <"$WORK/py.out")"
import sys, libvirt
libvirt.registerErrorHandler(lambda ctx, err: None, None)
dom = libvirt.open(sys.argv[1]).lookupByName("dev")
nic = open(sys.argv[2]).read()
for flags in (libvirt.VIR_DOMAIN_AFFECT_CONFIG, libvirt.VIR_DOMAIN_AFFECT_LIVE):
    try:
        dom.detachDeviceFlags(nic, flags)
        sys.exit("detached a missing interface (flags %d)" % flags)
    except libvirt.libvirtError as e:
        if e.get_error_code() != libvirt.VIR_ERR_DEVICE_MISSING:
            sys.exit("flags %d: code %d: %s" % (flags, e.get_error_code(), e.get_error_message()))
EOF2
}

# The live XML is the config the VMM was started with (domains/<id>/config, which xl writes and
# the stand-in does not), and the definition where there is none.
test_live_xml_is_what_runs() {
	devices_domain
	v_ok live dumpxml dev
	grep -q "<domain type='xen' id='5'>" "$WORK/live.out" || fail "live dumpxml without a saved config: $(said live out)"
	cat >"$XENITH_RUNDIR/domains/5/config" <<EOF2
name = 'dev'
uuid = '6f1c3c1e-1111-4222-8333-0123456789ad'
kernel = '$GUEST'
extra = 'started=as-saved'
memory = 32
EOF2
	v_ok live dumpxml dev
	v_ok xml dumpxml dev --inactive
	rm -f "$XENITH_RUNDIR/domains/5/config"    # the stand-in's destroy removes only its own files
	grep -q "<cmdline>started=as-saved</cmdline>" "$WORK/live.out" || fail "live dumpxml: $(said live out)"
	! grep -q "started=as-saved" "$WORK/xml.out" && ! grep -q "id='5'" "$WORK/xml.out" ||
		fail "dumpxml --inactive shows the running config: $(said xml out)"
}

test_disk_attach_detach() {
	devices_domain
	truncate -s 1M "$WORK/disk.img"
	v_ok att attach-disk dev "$WORK/disk.img" xvdb --live --config
	grep -qx "vbd-attach vdev=xvdb,devid=51728,access=rw,devtype=disk,target=$WORK/disk.img" "$WORK/requests-dev" ||
		fail "requests: $(tr '\n' '|' <"$WORK/requests-dev")"
	v_ok xml dumpxml dev --inactive
	grep -q "<target dev='xvdb'" "$WORK/xml.out" && grep -q "$WORK/disk.img" "$WORK/xml.out" ||
		fail "dumpxml --inactive after attach: $(said xml out)"
	v_ok det detach-disk dev xvdb --live --config
	grep -qx "vbd-detach 51728" "$WORK/requests-dev" || fail "requests: $(tr '\n' '|' <"$WORK/requests-dev")"
	v_ok xml dumpxml dev --inactive
	! grep -q "xvdb" "$WORK/xml.out" || fail "dumpxml --inactive after detach: $(said xml out)"
	cat >"$WORK/disk.xml" <<EOF2
<disk type='file' device='disk'><source file='$WORK/disk.img'/><target dev='xvdc'/></disk>
EOF2
	v none detach-device dev "$WORK/disk.xml" --live
	[ "$BOUNDED_RC" != 0 ] && grep -q "device not found: domain 'dev' has no disk at xvdc" "$WORK/none.err" ||
		fail "detach of a disk the domain lacks: $(said none err)"
}

run_tests
