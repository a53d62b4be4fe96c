#!/bin/bash
# Domains that xl itself spawns, through xenith-libvirtd (issue 15) and Debian's virsh 9.0 and
# python3-libvirt, without KVM.  The VMM is a stand-in (spawn_standin_vmm.py, selected with
# XENITH_VMM and a KVM device /dev/null passes xl's check with); everything else is the real path:
# the daemon's procedures, the domain model, xl's library (config, argv, ready pipe, saved config,
# domid claim protocol of the run directory), bin/xl and the run directory.
#  - virsh define + start makes a domain xl list shows (name, id) and virsh list shows running;
#    virsh destroy ends it, and xl list no longer shows it;
#  - xl create of a real xl.cfg makes one virsh list shows, with the cfg's uuid (virsh domuuid) and
#    its config in virsh dumpxml (xl's saved config);
#  - virsh start --paused gives a paused domain; virsh create (transient) shows and is gone after
#    destroy;
#  - autostart: once per boot (the marker <rundir>/libvirt-autostarted, which a reboot clears and
#    the test removes to stand for one), a restarted daemon starts only the autostart domain, logs
#    one whose kernel is gone as not started and why, and after virsh destroy a second restart
#    starts nothing again;
#  - python3-libvirt gets STARTED and STOPPED lifecycle events for virsh start and destroy.
. "$(dirname "$0")/testlib.bash"
NEEDS_KVM=0

SPAWN_STANDIN="$ROOT/tests/system/spawn_standin_vmm.py"
OBSERVER="$ROOT/tests/system/libvirt_events.py"
# Debian's interpreter: python3-libvirt is its, and its prefix is built in.  (An interpreter found
# through its argv[0], as pyenv's is, gets lost when started as "xenith-vmm" from "/", as xl does.)
PY=/usr/bin/python3

v() { bounded 20 "$1" virsh -q -c "$URI" "${@:2}"; }
v_ok() { v "$@"; [ "$BOUNDED_RC" = 0 ] || fail "virsh ${*:2} exited $BOUNDED_RC: $(said "$1" err)"; }

# use_spawned_standin: xl (and the daemon xl's library runs in) spawns the stand-in, as
# `exec -a xenith-vmm` so that xl's process checks take it for a VMM; $WORK/kernel is its "kernel".
use_spawned_standin() {
	[ -x "$PY" ] || skip "no $PY (Debian's python3)"
	cat >"$WORK/xenith-vmm-standin" <<-EOF
	#!/bin/bash
	exec -a xenith-vmm "$PY" "$SPAWN_STANDIN" "\$@"
	EOF
	chmod +x "$WORK/xenith-vmm-standin"
	export XENITH_VMM="$WORK/xenith-vmm-standin" XENITH_KVM_DEVICE=/dev/null
	KVM_DEVICE=/dev/null          # for start_libvirtd
	echo "a stand-in boots nothing" >"$WORK/kernel"
}

# start_daemon: start_libvirtd with the spawnable stand-in, its pid in LIBVIRTD_PID.
start_daemon() {
	use_spawned_standin
	start_libvirtd
	LIBVIRTD_PID=${BG_PIDS[-1]}
}
stop_daemon() {
	kill -TERM "$LIBVIRTD_PID"
	wait_bounded 10 "$LIBVIRTD_PID" "xenith-libvirtd"
	rm -f "$SOCK"
}

# define NAME [KERNEL]: a definition of NAME through virsh define (64 MiB, 2 vCPUs).
define() {
	domain_xml "$1" "${2:-$WORK/kernel}" >"$WORK/$1.xml"
	v_ok def define "$WORK/$1.xml"
}
domain_xml() {
	cat <<-EOF
	<domain type='xen'>
	  <name>$1</name>
	  <memory unit='KiB'>65536</memory>
	  <vcpu>2</vcpu>
	  <os><type>xenpvh</type><kernel>$2</kernel><cmdline>spawn=$1</cmdline></os>
	</domain>
	EOF
}

# xl_row NAME: NAME's row of xl list, blanks squeezed ("sp 1 64 2 -b---- 0.5"), "" if none.
xl_row() { "$XL" list >"$WORK/xl.out" 2>&1 || true; awk -v n="$1" '$1 == n' "$WORK/xl.out" | tr -s ' \t' '  '; }
# virsh_row NAME: NAME's row in virsh list --all ("1 sp running", "- sp shut off"), "" if none.
virsh_row() { v list list --all; awk -v n="$1" '$2 == n' "$WORK/list.out" | tr -s ' ' | sed 's/^ //'; }
domstate_is() { v st domstate "$1"; [ "$(cat "$WORK/st.out")" = "$2" ]; }

# Real: virsh, the daemon's define/start/destroy, xl's spawn and destroy, bin/xl list.
test_virsh_start_shows_in_xl_list_destroy_ends_it() {
	start_daemon
	define sp
	v_ok start start sp
	local id
	id=$(awk '$1 == "sp" { print $2 }' <<<"$(xl_row sp)")
	[[ "$id" =~ ^[0-9]+$ ]] && [ "$id" -ge 1 ] || fail "xl list after virsh start: $(cat "$WORK/xl.out")"
	[ "$(xl_row sp)" = "sp $id 64 2 r----- 0.5" ] || fail "xl list's row: '$(xl_row sp)'"
	[ "$(virsh_row sp)" = "$id sp running" ] || fail "virsh list --all: $(said list out)"
	v_ok dom domid sp
	[ "$(cat "$WORK/dom.out")" = "$id" ] || fail "virsh domid: $(said dom out), xl list: $id"
	vmm_count_is 1 || fail "VMMs of this run directory: $(vmm_count)"
	v_ok destroy destroy sp
	[ -z "$(xl_row sp)" ] || fail "xl list after virsh destroy: $(cat "$WORK/xl.out")"
	[ "$(virsh_row sp)" = "- sp shut off" ] || fail "virsh list --all after destroy: $(said list out)"
	wait_for 5 no_vmm_left || fail "a VMM outlived virsh destroy: $(vmm_count)"
	[ -z "$(ls -A "$XENITH_RUNDIR/domains")" ] || fail "left in domains/: $(ls -A "$XENITH_RUNDIR/domains")"
}

# Real: bin/xl create of an xl.cfg, its saved config, the daemon's list, domuuid and dumpxml.
test_xl_create_shows_in_virsh_with_uuid_and_config() {
	start_daemon
	local uuid=5f0c2d7e-8b1a-4c3d-9e2f-a1b2c3d4e5f6
	cat >"$WORK/xc.cfg" <<-EOF
	name = "xc"
	type = "pvh"
	uuid = "$uuid"
	kernel = "$WORK/kernel"
	cmdline = "console=hvc0 made=by-xl"
	memory = 48
	vcpus = 2
	on_reboot = "destroy"
	EOF
	"$XL" create "$WORK/xc.cfg" >"$WORK/create.out" 2>&1 || fail "xl create: $(cat "$WORK/create.out")"
	[ -s "$XENITH_RUNDIR/domains/$(domain_id xc)/config" ] || fail "no saved config in domains/$(domain_id xc)"
	[ "$(virsh_row xc)" = "$(domain_id xc) xc running" ] || fail "virsh list --all: $(said list out)"
	v_ok u domuuid xc
	[ "$(cat "$WORK/u.out")" = "$uuid" ] || fail "virsh domuuid: $(said u out), the cfg's: $uuid"
	v_ok x dumpxml xc
	local want
	for want in "<name>xc</name>" "<uuid>$uuid</uuid>" "<memory unit='KiB'>49152</memory>" \
		    "<vcpu placement='static'>2</vcpu>" "<kernel>$WORK/kernel</kernel>" \
		    "<cmdline>console=hvc0 made=by-xl</cmdline>" "<on_reboot>destroy</on_reboot>"; do
		grep -qF -- "$want" "$WORK/x.out" || fail "dumpxml lacks $want: $(said x out)"
	done
	v_ok info dominfo xc
	grep -q "^Persistent: *no" "$WORK/info.out" || fail "dominfo of an xl-made domain: $(said info out)"
}

# Real: virsh start --paused through xl's --paused; the stand-in starts paused as the VMM does.
test_virsh_start_paused() {
	start_daemon
	define pz
	v_ok start start --paused pz
	wait_for 3 domstate_is pz paused || fail "virsh domstate after start --paused: $(said st out)"
	[ "$(awk '{ print $5 }' <<<"$(xl_row pz)")" = "--p---" ] || fail "xl list: $(cat "$WORK/xl.out")"
	v_ok res resume pz
	wait_for 3 domstate_is pz running || fail "virsh domstate after resume: $(said st out)"
}

# Real: virsh create of XML (transient: no definition stays), destroy through the daemon.
test_virsh_create_transient() {
	start_daemon
	domain_xml tr "$WORK/kernel" >"$WORK/tr.xml"
	v_ok create create "$WORK/tr.xml"
	[ "$(virsh_row tr)" = "$(domain_id tr) tr running" ] || fail "virsh list after create: $(said list out)"
	v_ok info dominfo tr
	grep -q "^Persistent: *no" "$WORK/info.out" || fail "dominfo of a transient domain: $(said info out)"
	v_ok destroy destroy tr
	[ -z "$(virsh_row tr)" ] || fail "virsh list --all after destroying a transient domain: $(said list out)"
	v gone dominfo tr
	[ "$BOUNDED_RC" != 0 ] && grep -q "failed to get domain 'tr'" "$WORK/gone.err" || fail "dominfo after destroy: $(said gone out) $(said gone err)"
	[ -z "$(xl_row tr)" ] || fail "xl list after destroy: $(cat "$WORK/xl.out")"
}

# Real: the daemon's autostart at its start (autostart.c), virt_domain_start through xl's spawn.
test_autostart_once_per_boot() {
	start_daemon
	define auto1
	define manual
	define broken "$WORK/kernel-gone"
	v_ok on autostart auto1
	cp "$WORK/kernel" "$WORK/kernel-gone"
	v_ok on2 autostart broken
	rm "$WORK/kernel-gone"
	stop_daemon
	# The first daemon of this run directory made the marker; a reboot would have emptied the tmpfs.
	[ -e "$XENITH_RUNDIR/libvirt-autostarted" ] || fail "no marker after the first daemon"
	rm "$XENITH_RUNDIR/libvirt-autostarted"
	start_daemon
	# The socket listens before autostart is done; clients are served after it.
	[ "$(virsh_row auto1)" = "$(domain_id auto1) auto1 running" ] || fail "virsh list: $(said list out)"
	[ -n "$(xl_row auto1)" ] || fail "auto1 was not autostarted: $(cat "$WORK/xl.out"); log: $(tail -c 400 "$WORK/libvirtd.log")"
	[ -z "$(xl_row manual)" ] || fail "manual was started without autostart: $(cat "$WORK/xl.out")"
	grep -q "autostart: started domain 'auto1' (id $(domain_id auto1))" "$WORK/libvirtd.log" ||
		fail "no log line of auto1's start: $(tail -c 400 "$WORK/libvirtd.log")"
	grep -q "autostart: domain 'broken' did not start: kernel $WORK/kernel-gone: No such file" "$WORK/libvirtd.log" ||
		fail "no log line of broken's failure: $(tail -c 400 "$WORK/libvirtd.log")"
	v_ok destroy destroy auto1
	stop_daemon
	start_daemon
	[ "$(virsh_row auto1)" = "- auto1 shut off" ] || fail "virsh list after a restart: $(said list out)"
	[ -z "$(xl_row auto1)" ] || fail "a restarted daemon started auto1 again: $(cat "$WORK/xl.out")"
	grep -q "autostart: done already since the host booted" "$WORK/libvirtd.log" ||
		fail "the restarted daemon did not say why it started nothing: $(tail -c 400 "$WORK/libvirtd.log")"
}

# Real: python3-libvirt's event loop and callbacks, the daemon's events for its own start and
# destroy (libvirt_events.py listens).
test_python_events_for_virsh_start_and_destroy() {
	start_daemon
	"$PY" -c 'import libvirt' 2>/dev/null || skip "python3-libvirt is missing (scripts/install-deps)"
	define ev
	mkfifo "$WORK/ev.in"
	"$PY" "$OBSERVER" "$URI" --seconds 60 <"$WORK/ev.in" >"$WORK/ev.events" 2>&1 &
	local observer=$! hold
	track_bg "$observer"
	exec {hold}>"$WORK/ev.in"
	wait_for 10 grep -qsx registered "$WORK/ev.events" || fail "the observer did not register: $(cat "$WORK/ev.events")"
	v_ok start start ev
	wait_for 10 grep -qx "all ev STARTED BOOTED" "$WORK/ev.events" || fail "no STARTED: $(tr '\n' '|' <"$WORK/ev.events")"
	v_ok destroy destroy ev
	wait_for 10 grep -qx "all ev STOPPED DESTROYED" "$WORK/ev.events" || fail "no STOPPED: $(tr '\n' '|' <"$WORK/ev.events")"
	exec {hold}>&-
	wait_bounded 10 "$observer" "libvirt_events.py"
	[ "$(grep -c '^all ev STARTED' "$WORK/ev.events")" = 1 ] && [ "$(grep -c '^all ev STOPPED' "$WORK/ev.events")" = 1 ] &&
		grep -qx deregistered "$WORK/ev.events" || fail "events, each once: $(tr '\n' '|' <"$WORK/ev.events")"
}

# With KVM (skips here): the same virsh start and destroy with the real VMM and test guest.
test_virsh_start_boots_the_test_guest() {
	need_kvm
	KVM_DEVICE=/dev/kvm
	start_libvirtd
	# The guest's control program stays up until the toolstack acts (no test= would end at once).
	domain_xml kg "$GUEST" | sed 's|<cmdline>spawn=kg</cmdline>|<cmdline>test=control timeout=600</cmdline>|' \
		>"$WORK/kg.xml"
	v_ok def define "$WORK/kg.xml"
	v_ok start start kg
	expect_log kg "control: ready"
	v_ok destroy destroy kg
	[ -z "$(xl_row kg)" ] || fail "xl list after destroy: $(cat "$WORK/xl.out")"
}

run_tests
