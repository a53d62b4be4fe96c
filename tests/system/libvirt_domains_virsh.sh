#!/bin/bash
# Domain procedures of xenith-libvirtd (issue 15) against Debian's unmodified clients: virsh 9.0
# and python3-libvirt.  Without KVM: define from XML, list --all, dominfo, dumpxml round trip,
# domxml-from/to-native xen-xl round trip, autostart, undefine, `virsh start` refused for want of
# the KVM device, a stand-in domain (xl_standin_vmm.py) seen by virsh and xl alike and reached by
# suspend/setmem/destroy, and libvirt's error codes for bad XML, unknown domains and procedures
# not supported.  With KVM (skips here): define + start + setmem/setvcpus/shutdown of the test
# guest, and a domain made by `xl create` in virsh list.
. "$(dirname "$0")/testlib.bash"
NEEDS_KVM=0

STANDIN="$ROOT/tests/system/xl_standin_vmm.py"
use_test_xenstored

v() { bounded 20 "$1" virsh -q -c "$URI" "${@:2}"; }
v_ok() { v "$@"; [ "$BOUNDED_RC" = 0 ] || fail "virsh ${*:2} exited $BOUNDED_RC: $(said "$1" err)"; }

define_d1() {
	cat >"$WORK/d1.xml" <<EOF
<domain type='xen'>
  <name>d1</name>
  <memory unit='KiB'>65536</memory>
  <vcpu>2</vcpu>
  <os>
    <type>xenpvh</type>
    <kernel>$GUEST</kernel>
    <cmdline>test=hello</cmdline>
  </os>
</domain>
EOF
	v_ok def define "$WORK/d1.xml"
}

# list_row NAME: NAME's row in virsh list --all, blanks squeezed ("- d1 shut off").
list_row() { v list list --all; awk -v n="$2" '$2 == n' "$WORK/list.out" | tr -s ' ' | sed 's/^ //'; }
dominfo_field() { v info dominfo "$1"; awk -F: -v k="$2" '$1 == k { sub(/^ +/, "", $2); print $2 }' "$WORK/info.out"; }

test_define_list_dominfo() {
	start_libvirtd
	define_d1
	[ "$(list_row list d1)" = "- d1 shut off" ] || fail "list --all: $(said list out)"
	[ "$(dominfo_field d1 State)" = "shut off" ] || fail "dominfo: $(said info out) $(said info err)"
	[ "$(dominfo_field d1 'OS Type')" = xenpvh ] || fail "dominfo OS Type: $(said info out)"
	[ "$(dominfo_field d1 'CPU(s)')" = 2 ] || fail "dominfo CPU(s): $(said info out)"
	[ "$(dominfo_field d1 'Max memory')" = "65536 KiB" ] || fail "dominfo Max memory: $(said info out)"
	[ "$(dominfo_field d1 Persistent)" = yes ] || fail "dominfo Persistent: $(said info out)"
	v_ok state domstate d1
	grep -qx "shut off" "$WORK/state.out" || fail "domstate: $(said state out)"
	v_ok inact list --inactive --name
	grep -qx d1 "$WORK/inact.out" || fail "list --inactive: $(said inact out)"
	v_ok act list --name
	! grep -qx d1 "$WORK/act.out" || fail "list (active only) shows d1: $(said act out)"
}

test_dumpxml_round_trip() {
	start_libvirtd
	define_d1
	v_ok x1 dumpxml d1
	grep -q "<name>d1</name>" "$WORK/x1.out" || fail "dumpxml: $(said x1 out)"
	cp "$WORK/x1.out" "$WORK/again.xml"
	v_ok def2 define "$WORK/again.xml"
	v_ok x2 dumpxml d1
	cmp -s "$WORK/x1.out" "$WORK/x2.out" || fail "dumpxml after defining the dump differs: $(diff "$WORK/x1.out" "$WORK/x2.out" | tr '\n' ' ')"
}

test_native_round_trip() {
	start_libvirtd
	make_cfg nat 'vcpus = 2' 'cmdline = "console=hvc0"' >/dev/null
	v_ok from domxml-from-native xen-xl "$WORK/nat.cfg"
	grep -q "<name>nat</name>" "$WORK/from.out" || fail "from-native: $(said from out) $(said from err)"
	cp "$WORK/from.out" "$WORK/nat.xml"
	v_ok to domxml-to-native xen-xl "$WORK/nat.xml"
	grep -q 'name = "nat"' "$WORK/to.out" || fail "to-native: $(said to out) $(said to err)"
	cp "$WORK/to.out" "$WORK/nat2.cfg"
	v_ok from2 domxml-from-native xen-xl "$WORK/nat2.cfg"
	cmp -s "$WORK/from.out" "$WORK/from2.out" || fail "xl.cfg -> XML -> xl.cfg -> XML differs: $(diff "$WORK/from.out" "$WORK/from2.out" | tr '\n' ' ')"
	v bad domxml-from-native qemu-argv "$WORK/nat.cfg"
	[ "$BOUNDED_RC" != 0 ] && grep -q "unsupported config type qemu-argv" "$WORK/bad.err" || fail "qemu-argv: $BOUNDED_RC $(said bad err)"
}

test_autostart_undefine() {
	start_libvirtd
	define_d1
	v_ok on autostart d1
	[ "$(dominfo_field d1 Autostart)" = enable ] || fail "dominfo after autostart: $(said info out)"
	v_ok auto list --all --autostart --name
	grep -qx d1 "$WORK/auto.out" || fail "list --autostart: $(said auto out)"
	v_ok off autostart --disable d1
	[ "$(dominfo_field d1 Autostart)" = disable ] || fail "dominfo after --disable: $(said info out)"
	v_ok undef undefine d1
	[ -z "$(list_row list d1)" ] || fail "d1 still listed after undefine: $(said list out)"
	v gone dominfo d1
	[ "$BOUNDED_RC" != 0 ] && grep -q "failed to get domain 'd1'" "$WORK/gone.err" || fail "dominfo after undefine: $(said gone err)"
}

test_start_without_kvm_names_the_device() {
	start_libvirtd
	define_d1
	v start start d1
	[ "$BOUNDED_RC" != 0 ] || fail "virsh start succeeded without a KVM device"
	grep -qF "$WORK/no-kvm" "$WORK/start.err" || fail "virsh start said: $(said start err)"
	[ "$(list_row list d1)" = "- d1 shut off" ] || fail "after the failed start: $(said list out)"
}

# A running domain xl started (here a stand-in VMM on its control socket) with its xenstore nodes.
standin_domain() {
	local name=$1 domid=$2
	need python3
	need_xenstore_utils
	[ -n "${XS_PID:-}" ] || start_xenstored
	mkdir -p "$XENITH_RUNDIR/domains"
	python3 "$STANDIN" --rundir "$XENITH_RUNDIR" --name "$name" --domid "$domid" --maxmem-kb 65536 \
		--log "$WORK/requests-$name" >"$WORK/standin-$name" 2>&1 &
	track_bg "$!"
	wait_for 10 grep -qsx ready "$WORK/standin-$name" || fail "stand-in $name did not start: $(cat "$WORK/standin-$name")"
	xs xenstore-write "/local/domain/$domid/name" "$name" "/local/domain/$domid/memory/target" 32768 \
		"/local/domain/$domid/memory/static-max" 65536
}

test_standin_domain_through_virsh() {
	start_libvirtd
	standin_domain sd 7
	row=$(list_row list sd)
	[[ $row == "7 sd "* ]] || fail "virsh list --all: $(said list out) $(said list err)"
	"$XL" list >"$WORK/xl.out" 2>&1 || fail "xl list: $(cat "$WORK/xl.out")"
	awk '$1 == "sd" { print $2 }' "$WORK/xl.out" | grep -qx 7 || fail "xl list: $(tr '\n' ' ' <"$WORK/xl.out")"
	v_ok id domid sd
	grep -qx 7 "$WORK/id.out" || fail "domid: $(said id out)"
	v susp suspend sd
	grep -q pause "$WORK/requests-sd" || fail "suspend did not reach the VMM ($(said susp err); it got: $(tr '\n' '|' <"$WORK/requests-sd"))"
	v_ok mem setmem sd 16M --live
	xs_read_is /local/domain/7/memory/target 16384 || fail "setmem 16M: target $(xs xenstore-read /local/domain/7/memory/target)"
	v_ok destroy destroy sd
	grep -q destroy "$WORK/requests-sd" || fail "destroy did not reach the VMM: $(tr '\n' '|' <"$WORK/requests-sd")"
	wait_for 10 test ! -e "$XENITH_RUNDIR/domains/7" || fail "domain 7 still there after virsh destroy"
	[ -z "$(list_row list sd)" ] || fail "sd listed after destroy: $(said list out)"
}

test_error_codes() {
	start_libvirtd
	define_d1
	/usr/bin/python3 - "$URI" >"$WORK/py.out" 2>&1 <<'EOF' || fail "python3-libvirt: $(tr '\n' ' ' <"$WORK/py.out")"
import sys, libvirt
libvirt.registerErrorHandler(lambda ctx, err: None, None)
c = libvirt.open(sys.argv[1])
def code(f):
    try:
        f()
    except libvirt.libvirtError as e:
        return e.get_error_code(), e.get_error_message()
    return None, "no error"
checks = [
    ("unknown name", lambda: c.lookupByName("nope"), libvirt.VIR_ERR_NO_DOMAIN, "no domain with matching name 'nope'"),
    ("unknown id", lambda: c.lookupByID(4242), libvirt.VIR_ERR_NO_DOMAIN, "Domain not found"),
    ("bad XML", lambda: c.defineXML("<domain type='xen'><name>x"), libvirt.VIR_ERR_XML_ERROR, ""),
    ("save", lambda: c.lookupByName("d1").save("/tmp/x"), libvirt.VIR_ERR_OPERATION_UNSUPPORTED, "issue 12"),
    ("no such procedure", lambda: c.lookupByName("d1").blockStats("xvda"), libvirt.VIR_ERR_NO_SUPPORT,
     "this function is not supported by the connection driver: virDomainBlockStats"),
    ("node CPU stats", lambda: c.getCPUStats(-1), libvirt.VIR_ERR_NO_SUPPORT, "virNodeGetCPUStats"),
    ("destroy shut off", lambda: c.lookupByName("d1").destroy(), libvirt.VIR_ERR_OPERATION_INVALID, "domain is not running"),
]
bad = 0
for name, f, want, text in checks:
    got, msg = code(f)
    if got != want or text not in (msg or ""):
        print("%s: code %s (%s), wanted %s with '%s'" % (name, got, msg, want, text)); bad = 1
sys.exit(bad)
EOF
}

test_kvm_define_start_resources() {
	need_kvm
	KVM_DEVICE=/dev/kvm start_libvirtd
	define_d1
	# A guest that stays up and answers the toolstack (control/shutdown) until told to go.
	sed -i 's|<cmdline>test=hello</cmdline>|<cmdline>test=control timeout=600</cmdline>|' "$WORK/d1.xml"
	v_ok redef define "$WORK/d1.xml"
	v_ok start start d1
	[[ $(list_row list d1) =~ \ d1\ (running|idle)$ ]] || fail "after start: $(said list out)"
	domain_listed d1 || fail "xl list lacks d1 started by virsh"
	expect_log d1 "control: ready"
	v_ok mem setmem d1 48M --live
	v_ok cpus setvcpus d1 1 --live
	v_ok off shutdown d1
	wait_for 20 domain_gone d1 || fail "d1 did not shut down"
	"$XL" create "$(make_cfg xlmade 'cmdline = "test=control timeout=600"')" >/dev/null 2>&1 ||
		fail "xl create failed"
	[[ $(list_row list xlmade) =~ \ xlmade\ (running|idle)$ ]] || fail "virsh list lacks the xl-made domain: $(said list out)"
}

run_tests
