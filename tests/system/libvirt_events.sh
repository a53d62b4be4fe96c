#!/bin/bash
# Lifecycle events and the console stream of xenith-libvirtd (issue 15) against Debian's unmodified
# clients.  Without KVM the domains are stand-ins (xl_standin_vmm.py, started as "xenith-vmm" so
# that xl's checks take them for VMMs, with a real pty as their console):
#  - python3-libvirt (domainEventRegisterAny on libvirt's default event loop) sees a stand-in
#    start, pause, resume and end, each once, in order; a callback for one domain sees only it;
#  - `virsh event --all --loop` sees the same, and virsh's own define/undefine/destroy give
#    DEFINED/UNDEFINED and STOPPED DESTROYED;
#  - an event ID other than lifecycle gets libvirt's "not supported" error;
#  - `virsh console` on a terminal shows the console's banner and what is typed reaches the
#    domain; a second session is refused with libvirt's "Active console session exists for this
#    domain", `--force` takes over; a domain that is not running is refused.
# With KVM (skips here): virsh console shows the real test guest's banner.
. "$(dirname "$0")/testlib.bash"
NEEDS_KVM=0

LIBVIRTD="$BUILD/bin/xenith-libvirtd"
[ -x "$LIBVIRTD" ] || LIBVIRTD="$ROOT/bin/xenith-libvirtd"
STANDIN="$ROOT/tests/system/xl_standin_vmm.py"
OBSERVER="$ROOT/tests/system/libvirt_events.py"
CONSOLE="$ROOT/tests/system/libvirt_console.py"
SOCK="$XENITH_RUNDIR/libvirt-sock"
URI="xen+unix:///system?socket=$SOCK"
# python3-libvirt is Debian's: the system interpreter, whatever python3 comes first on PATH.
PY_LIBVIRT=/usr/bin/python3

start_daemon() {
	need virsh "libvirt-clients; scripts/install-deps"
	[ -x "$LIBVIRTD" ] || skip "no xenith-libvirtd at $LIBVIRTD (make tools)"
	mkdir -p "$WORK/state" "$XENITH_RUNDIR/log"
	rm -f "$SOCK"
	XENITH_KVM_DEVICE=${KVM_DEVICE:-$WORK/no-kvm} "$LIBVIRTD" --rundir "$XENITH_RUNDIR" \
		--state-dir "$WORK/state" --foreground 2>>"$WORK/libvirtd.log" &
	track_bg "$!"
	wait_for 10 test -S "$SOCK" || fail "xenith-libvirtd did not listen: $(tail -c 300 "$WORK/libvirtd.log")"
}

need_python_libvirt() {
	"$PY_LIBVIRT" -c 'import libvirt' 2>/dev/null || skip "python3-libvirt is missing (scripts/install-deps)"
}

# standin NAME DOMID [ARGS...]: a stand-in domain with a console, its pid in STANDIN_PID.
standin() {
	local name=$1 domid=$2 py
	shift 2
	need python3
	py=$(python3 -c 'import sys; print(sys.executable)')
	mkdir -p "$WORK/vmmbin" "$XENITH_RUNDIR/domains"
	ln -sf "$py" "$WORK/vmmbin/xenith-vmm"
	"$WORK/vmmbin/xenith-vmm" "$STANDIN" --rundir "$XENITH_RUNDIR" --name "$name" --domid "$domid" \
		--console --log "$WORK/requests-$name" "$@" >"$WORK/standin-$name" 2>&1 &
	STANDIN_PID=$!
	track_bg "$!"
	wait_for 10 grep -qsx ready "$WORK/standin-$name" || fail "stand-in $name did not start: $(cat "$WORK/standin-$name")"
}

v() { bounded 20 "$1" virsh -q -c "$URI" "${@:2}"; }
v_ok() { v "$@"; [ "$BOUNDED_RC" = 0 ] || fail "virsh ${*:2} exited $BOUNDED_RC: $(said "$1" err)"; }

# define_shut_off NAME: a definition of NAME through virsh define (skips while define is not served).
define_shut_off() {
	cat >"$WORK/$1.xml" <<EOF
<domain type='xen'>
  <name>$1</name>
  <memory unit='KiB'>65536</memory>
  <vcpu>1</vcpu>
  <os><type>xenpvh</type><kernel>$WORK/kernel</kernel></os>
</domain>
EOF
	v def define "$WORK/$1.xml"
	grep -q "not supported" "$WORK/def.err" && skip "virsh define is not served yet: $(said def err)"
	[ "$BOUNDED_RC" = 0 ] || fail "virsh define: $(said def err)"
}

# observe TAG [ARGS...]: libvirt_events.py in the background, its output in $WORK/TAG.events;
# `stop_observing TAG` closes its stdin, so that it deregisters and ends.
observe() {
	local tag=$1
	shift
	need_python_libvirt
	mkfifo "$WORK/$tag.in"
	"$PY_LIBVIRT" "$OBSERVER" "$URI" --seconds 60 "$@" <"$WORK/$tag.in" >"$WORK/$tag.events" 2>&1 &
	track_bg "$!"
	OBSERVER_PID=$!
	exec {OBSERVER_FD}>"$WORK/$tag.in"
	wait_for 10 grep -qsx registered "$WORK/$tag.events" || fail "the observer did not register: $(cat "$WORK/$tag.events")"
}
stop_observing() {
	exec {OBSERVER_FD}>&-
	wait_bounded 10 "$OBSERVER_PID" "libvirt_events.py"
	grep -qx deregistered "$WORK/$1.events" || fail "the observer did not deregister: $(tr '\n' '|' <"$WORK/$1.events")"
}
saw() { grep -qxF -- "$2" "$WORK/$1.events"; }
expect_event() { wait_for 10 saw "$1" "$2" || fail "no '$2' among: $(tr '\n' '|' <"$WORK/$1.events")"; }
# The events of TAG, one line, "registered"/"deregistered" left out.
events_of() { grep -v 'registered$' "$WORK/$1.events" | tr '\n' '|'; }

test_python_sees_start_pause_resume_stop() {
	start_daemon
	observe py
	standin ev1 3
	expect_event py "all ev1 STARTED BOOTED"
	"$XL" pause ev1 >"$WORK/xl.out" 2>&1 || fail "xl pause: $(cat "$WORK/xl.out")"
	expect_event py "all ev1 SUSPENDED PAUSED"
	"$XL" unpause ev1 >"$WORK/xl.out" 2>&1 || fail "xl unpause: $(cat "$WORK/xl.out")"
	expect_event py "all ev1 RESUMED UNPAUSED"
	"$XL" destroy ev1 >"$WORK/xl.out" 2>&1 || fail "xl destroy: $(cat "$WORK/xl.out")"
	# Ended by xl, not by the daemon: as far as libvirt can tell, the domain shut down.
	expect_event py "all ev1 STOPPED SHUTDOWN"
	stop_observing py
	[ "$(events_of py)" = "all ev1 STARTED BOOTED|all ev1 SUSPENDED PAUSED|all ev1 RESUMED UNPAUSED|all ev1 STOPPED SHUTDOWN|" ] ||
		fail "events, each once and in order, expected; got: $(events_of py)"
}

test_callback_for_one_domain() {
	start_daemon
	standin fa 4
	standin fb 5
	observe filt --domain fb
	"$XL" pause fa >/dev/null 2>&1 && "$XL" pause fb >/dev/null 2>&1 || fail "xl pause failed"
	expect_event filt "only fb SUSPENDED PAUSED"
	expect_event filt "all fa SUSPENDED PAUSED"
	expect_event filt "all fb SUSPENDED PAUSED"
	stop_observing filt
	! saw filt "only fa SUSPENDED PAUSED" || fail "the callback for fb saw fa: $(events_of filt)"
}

# probe_until_seen NAME FILE: pauses and unpauses stand-in NAME until FILE shows an event of it
# (the listener has registered), at most 10 s.
probe_until_seen() {
	local i
	# Each state is held past a poll (200 ms), or the poller sees no change.
	for i in $(seq 15); do
		"$XL" pause "$1" >/dev/null 2>&1 || true
		sleep 0.3
		"$XL" unpause "$1" >/dev/null 2>&1 || true
		sleep 0.3
		grep -q "domain '$1'" "$2" 2>/dev/null && return 0
	done
	fail "no event of $1 reached the listener: $(tr '\n' ' ' <"$2")"
}

test_virsh_event_loop() {
	start_daemon
	standin probe 5
	# Line-buffered: virsh's stdio would hold the events back from a file until it ends.
	stdbuf -oL virsh -c "$URI" event --all --loop --timeout 15 >"$WORK/vev.out" 2>"$WORK/vev.err" &
	local vpid=$!
	track_bg "$vpid"
	probe_until_seen probe "$WORK/vev.out"
	# The poller compares every 200 ms: each step waits to be seen before the next.
	standin ve 6
	wait_for 10 grep -q "domain 've': Started" "$WORK/vev.out" || true
	"$XL" pause ve >/dev/null 2>&1 || fail "xl pause failed"
	wait_for 10 grep -q "domain 've': Suspended" "$WORK/vev.out" || true
	"$XL" destroy ve >/dev/null 2>&1 || fail "xl destroy failed"
	wait_bounded 25 "$vpid" "virsh event --all --loop"
	grep -q "event 'lifecycle' for domain 've': Started Booted" "$WORK/vev.out" &&
		grep -q "event 'lifecycle' for domain 've': Suspended Paused" "$WORK/vev.out" &&
		grep -q "event 'lifecycle' for domain 've': Stopped Shutdown" "$WORK/vev.out" ||
		fail "virsh event --all --loop: $(said vev out) $(said vev err)"
	grep -q "events received: $(grep -c "^event 'lifecycle'" "$WORK/vev.out")\$" "$WORK/vev.out" ||
		fail "virsh event counted other than it printed: $(said vev out)"
}

# Define and undefine through the daemon.
test_define_undefine_through_virsh() {
	start_daemon
	observe dd
	define_shut_off dd
	expect_event dd "all dd DEFINED ADDED"
	v_ok undef undefine dd
	expect_event dd "all dd UNDEFINED REMOVED"
	stop_observing dd
}

# virsh destroy: the daemon notes what it did (virt_events_note), so the stop is DESTROYED.
test_destroy_through_virsh_is_destroyed() {
	start_daemon
	observe vd
	standin vd 7
	expect_event vd "all vd STARTED BOOTED"
	v_ok destroy destroy vd
	expect_event vd "all vd STOPPED DESTROYED"
	stop_observing vd
}

test_listener_killed_without_deregistering() {
	start_daemon
	observe gone
	kill -KILL "$OBSERVER_PID"
	exec {OBSERVER_FD}>&-
	standin lk 10
	"$XL" pause lk >/dev/null 2>&1 || fail "xl pause failed"
	observe next
	"$XL" unpause lk >/dev/null 2>&1 || fail "xl unpause failed"
	expect_event next "all lk RESUMED UNPAUSED"
	stop_observing next
}

test_other_event_ids_not_supported() {
	start_daemon
	need_python_libvirt
	bounded 20 ids "$PY_LIBVIRT" -c '
import sys, libvirt
libvirt.virEventRegisterDefaultImpl()
c = libvirt.open(sys.argv[1])
libvirt.registerErrorHandler(lambda *a: None, None)
for ev in (libvirt.VIR_DOMAIN_EVENT_ID_REBOOT, libvirt.VIR_DOMAIN_EVENT_ID_BALLOON_CHANGE):
    try:
        c.domainEventRegisterAny(None, ev, lambda *a: None, None)
        print("registered", ev)
    except libvirt.libvirtError as e:
        print("refused", ev, e.get_error_code() == libvirt.VIR_ERR_NO_SUPPORT, e.get_error_message())
i = c.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, lambda *a: None, None)
c.domainEventDeregisterAny(i)
try:
    c.domainEventDeregisterAny(i)
    print("deregistered twice")
except libvirt.libvirtError as e:
    print("second deregister refused")
' "$URI"
	grep -q "^refused 1 True this function is not supported" "$WORK/ids.out" &&
		grep -q "^refused 13 True" "$WORK/ids.out" && grep -qx "second deregister refused" "$WORK/ids.out" ||
		fail "event IDs: $(said ids out) $(said ids err)"
}

test_console_banner_and_input() {
	start_daemon
	need_python_libvirt
	standin con 8
	bounded 30 con1 "$PY_LIBVIRT" "$CONSOLE" "$URI" con --expect "Xenith stand-in con console" \
		--send "hello-console" --reply "stand-in got: hello-console"
	[ "$BOUNDED_RC" = 0 ] || fail "virsh console: $(said con1 out)"
	grep -qx "console hello-console" "$WORK/requests-con" || fail "the stand-in never got the line: $(cat "$WORK/requests-con" 2>/dev/null)"
	# The session ended with Ctrl-]: the next one is let in, and the console still answers.
	bounded 30 con2 "$PY_LIBVIRT" "$CONSOLE" "$URI" con --expect "Escape character" \
		--send "again" --reply "stand-in got: again"
	[ "$BOUNDED_RC" = 0 ] || fail "a second virsh console after the first left: $(said con2 out)"
}

test_console_one_session_force_takes_over() {
	start_daemon
	need_python_libvirt
	standin busy 9
	"$PY_LIBVIRT" "$CONSOLE" "$URI" busy --expect "Xenith stand-in busy console" \
		--hold-file "$WORK/release" --seconds 30 >"$WORK/first.out" 2>&1 &
	local first=$!
	track_bg "$first"
	wait_for 15 grep -qx attached "$WORK/first.out" || fail "the first session did not start: $(cat "$WORK/first.out")"
	bounded 20 second "$PY_LIBVIRT" "$CONSOLE" "$URI" busy \
		--expect "error: operation failed: Active console session exists for this domain"
	[ "$BOUNDED_RC" = 0 ] || fail "a second session without --force: $(said second out)"
	bounded 20 forced "$PY_LIBVIRT" "$CONSOLE" "$URI" busy --force --expect "Escape character" \
		--send "taken" --reply "stand-in got: taken"
	[ "$BOUNDED_RC" = 0 ] || fail "virsh console --force: $(said forced out)"
	touch "$WORK/release"
	wait_bounded 20 "$first" "the first console session"
	# The session that lost the console is told why, not left silent.
	grep -q "taken over by another session" "$WORK/first.out" ||
		fail "the first session was not told it lost the console: $(cat "$WORK/first.out")"
}

test_console_of_a_domain_not_running() {
	start_daemon
	define_shut_off off
	# virsh checks the state itself first; the procedure's own answer is libvirt's too.
	v con console off
	[ "$BOUNDED_RC" != 0 ] && grep -q "The domain is not running" "$WORK/con.err" ||
		fail "virsh console of a shut-off domain: rc $BOUNDED_RC, $(said con err)"
	need_python_libvirt
	bounded 20 open "$PY_LIBVIRT" -c '
import sys, libvirt
c = libvirt.open(sys.argv[1])
libvirt.registerErrorHandler(lambda *a: None, None)
try:
    c.lookupByName("off").openConsole(None, c.newStream(0), 0)
    print("opened")
except libvirt.libvirtError as e:
    print(e.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID, e.get_error_message())
' "$URI"
	grep -qx "True Requested operation is not valid: domain is not running" "$WORK/open.out" ||
		fail "openConsole of a shut-off domain: $(said open out) $(said open err)"
}

test_console_shows_the_test_guests_banner() {
	need_kvm
	start_daemon
	need_python_libvirt
	KVM_DEVICE=/dev/kvm
	cfg=$(make_cfg kcon)
	"$XL" create "$cfg" >"$WORK/xl.out" 2>&1 || fail "xl create: $(cat "$WORK/xl.out")"
	bounded 40 kcon "$PY_LIBVIRT" "$CONSOLE" "$URI" kcon --expect "Xenith test guest" --seconds 30
	[ "$BOUNDED_RC" = 0 ] || fail "virsh console of the test guest: $(said kcon out)"
}

run_tests
