# Xen's PV core from the guest's side: event channels, grant tables (Dom0's half through
# xenith-ctl), the xenstore client, the PV console ring (output and input), the control directory
# (xl shutdown/reboot/sysrq, a guest without a control driver, and one that claims the features but
# ignores them), console_io going to the hypervisor log (`xl dmesg`) with pv=0, xenstore's
# limits, garbage on a guest's ring, and the xenstore layout of a running domain.
. "$(dirname "$0")/testlib.bash"

CTL="$BUILD/bin/xenith-ctl"
[ -x "$CTL" ] || CTL="$ROOT/bin/xenith-ctl"
export XENSTORED_PATH="$XENITH_RUNDIR/xenstored/socket"

# boot NAME CMDLINE [cfg line...]: creates a test-guest domain and waits for its pv: line.
boot() {
	local name=$1 cmdline=$2
	shift 2
	local cfg; cfg=$(make_cfg "$name" "cmdline = \"$cmdline\"" "$@")
	"$XL" create "$cfg" 2>"$WORK/err" || fail "xl create $name failed: $(cat "$WORK/err")"
	expect_log "$name" "pv: shared_info"
}

# expect_clean_end NAME TEST: PASS TEST, then a poweroff the VMM recorded.
expect_clean_end() {
	expect_log "$1" "PASS $2" "${3:-30}"
	wait_for 10 domain_gone "$1" || fail "$1 still listed after PASS"
	grep -q "shut down: poweroff" "$(vmm_log "$1")" || fail "the VMM did not record a poweroff of $1"
}

xs_read() { xenstore-read "$@" 2>&1; }
# For wait_for, which re-runs a command (not a once-expanded test).
xs_is() { [ "$(xs_read "$1")" = "$2" ]; }
log_count_at_least() { [ "$(grep -ac -- "$2" "$(guest_log "$1")")" -ge "$3" ]; }

test_evtchn() {
	boot ev "test=evtchn"
	expect_clean_end ev evtchn 30
	local line; line=$(grep -ao 'timer: 20 ticks, mean period [0-9]* us' "$(guest_log ev)")
	[ -n "$line" ] || fail "no timer line in the log"
	log_has ev "evtchn: loopback ok" || fail "no loopback line"
	log_has ev "Dom0 answered" || fail "no round trip to Dom0"
}

# Linux PVH's way: HVM_PARAM_CALLBACK_IRQ's vector with the local APIC never enabled and no EOI.
# Xen delivers that vector straight to the vCPU, so every upcall must still arrive.
test_evtchn_callback_vector_without_apic() {
	boot evc "test=evtchn upcall=callback"
	expect_clean_end evc evtchn 30
	log_has evc "upcall HVM_PARAM_CALLBACK_IRQ (local APIC off)" || fail "the guest did not use the callback vector"
	log_has evc "evtchn: loopback ok" || fail "no loopback line"
	log_has evc "timer: 20 ticks, mean period" || fail "no timer line: timer upcalls were lost"
	log_has evc "Dom0 answered" || fail "no round trip to Dom0"
}

test_evtchn_other_period() {
	boot ev5 "test=evtchn period=5"
	expect_clean_end ev5 evtchn 30
	log_has ev5 "timer: 20 ticks, mean period" || fail "no timer line"
	log_has ev5 "requested 5000)" || fail "the period= parameter was not used: $(grep -a timer: "$(guest_log ev5)")"
}

test_gnttab() {
	need_xenstore_utils
	boot gt "test=gnttab"
	expect_log gt "gnttab: refs rw="
	local domid; domid=$(domain_id gt)
	local refs; refs=$(grep -ao 'gnttab: refs .*' "$(guest_log gt)" | tr -d '\r')
	local rw ro foreign revoked
	rw=$(sed -n 's/.*rw=\([0-9]*\).*/\1/p' <<<"$refs")
	ro=$(sed -n 's/.*ro=\([0-9]*\).*/\1/p' <<<"$refs")
	foreign=$(sed -n 's/.*foreign=\([0-9]*\).*/\1/p' <<<"$refs")
	revoked=$(sed -n 's/.*revoked=\([0-9]*\).*/\1/p' <<<"$refs")
	# The refs in xenstore are the ones in the log.
	local base=/local/domain/$domid/data/gnttab
	[ "$(xs_read $base/rw)" = "$rw" ] || fail "xenstore $base/rw is '$(xs_read $base/rw)', log says $rw"
	[ "$(xs_read $base/ready)" = 1 ] || fail "$base/ready is '$(xs_read $base/ready)'"
	# Dom0 reads what was granted to it...
	local got
	got=$("$CTL" "$domid" grant-read "$rw" 15 2>&1) || fail "grant-read rw ref $rw: $got"
	[ "$got" = "xenith-grant-rw" ] || fail "grant-read rw ref $rw gave '$got'"
	got=$("$CTL" "$domid" grant-read "$ro" 15 2>&1) || fail "grant-read ro ref $ro: $got"
	[ "$got" = "xenith-grant-ro" ] || fail "grant-read ro ref $ro gave '$got'"
	# ...but may not write a read-only grant, nor touch one for domain 7 or a revoked one.
	if got=$("$CTL" "$domid" grant-write "$ro" scribble 2>&1); then fail "grant-write to read-only ref $ro succeeded"; fi
	if got=$("$CTL" "$domid" grant-read "$foreign" 8 2>&1); then fail "Dom0 read ref $foreign granted to domain 7: $got"; fi
	if got=$("$CTL" "$domid" grant-read "$revoked" 8 2>&1); then fail "Dom0 read revoked ref $revoked: $got"; fi
	if got=$("$CTL" "$domid" grant-read 100000 8 2>&1); then fail "Dom0 read ref 100000 (beyond the table): $got"; fi
	# Dom0 writes the rw page; the guest checks it and that the in-use bits were dropped.
	xenstore-write $base/expect written-by-dom0 || fail "xenstore-write $base/expect failed"
	got=$("$CTL" "$domid" grant-write "$rw" written-by-dom0 2>&1) || fail "grant-write rw ref $rw: $got"
	xenstore-write $base/done 1 || fail "xenstore-write $base/done failed"
	expect_clean_end gt gnttab 30
	log_has gt "gnttab: Dom0 wrote 'written-by-dom0'" || fail "the guest did not confirm Dom0's write"
	log_has gt "GNTTABOP_copy through self-grant" || fail "no GNTTABOP_copy line"
}

test_gnttab_times_out_without_dom0() {
	boot gt2 "test=gnttab timeout=2"
	expect_log gt2 "FAIL gnttab: timed out waiting for data/gnttab/done" 20
}

test_xenbus() {
	boot xb "test=xenbus"
	expect_clean_end xb xenbus 60
	log_has xb "xenbus: name xb, domid $(grep -ao 'domain [0-9]* (xb) built' "$(vmm_log xb)" | awk '{print $2}')" ||
		fail "the guest's name/domid line is not 'xb' and its domid: $(grep -a 'xenbus: name' "$(guest_log xb)")"
}

test_xs_hostile() {
	boot xh "test=xs-hostile"
	expect_clean_end xh xs-hostile 90
	log_has xh "xs-hostile: node quota after" || fail "no quota line"
}

# Types LINE into xl console under a pty, after PATTERN shows; reports what it saw.
console_type() {
	need python3
	python3 - "$XL" "$1" "$2" "$3" <<'PY'
import os, pty, select, sys, time
xl, dom, pattern, line = sys.argv[1], sys.argv[2], sys.argv[3].encode(), sys.argv[4].encode()
pid, fd = pty.fork()
if pid == 0:
    os.execv(xl, [xl, "console", dom])
def read_until(want, seconds):
    global seen
    deadline = time.time() + seconds
    while want not in seen and time.time() < deadline:
        if select.select([fd], [], [], 0.2)[0]:
            try:
                seen += os.read(fd, 4096)
            except OSError:
                break
    return want in seen
seen = b""
if not read_until(pattern, 20):
    print("never saw %r: %r" % (pattern, seen[-200:])); sys.exit(1)
os.write(fd, line + b"\r")
ok = read_until(b"console input: " + line, 20)
try:
    os.write(fd, b"\x1d")
except OSError:
    pass
time.sleep(0.5)
try:
    os.kill(pid, 9)
except OSError:
    pass
print("echoed" if ok else "no echo: %r" % seen[-300:])
sys.exit(0 if ok else 1)
PY
}

test_console_ring() {
	boot cr "test=console"
	console_type cr "console: waiting for a line of input" "typed-through-xl-console" >"$WORK/session" 2>&1 ||
		fail "console input: $(cat "$WORK/session")"
	expect_clean_end cr console 30
	local log; log=$(guest_log cr)
	# All 200 lines, in order, each once.
	grep -ao 'console line [0-9]* of 200' "$log" | awk '{print $3}' >"$WORK/lines"
	seq 1 200 | cmp -s - "$WORK/lines" ||
		fail "console lines missing, duplicated or out of order: $(seq 1 200 | diff - "$WORK/lines" | head -5 | tr '\n' ' ')"
	[ "$(grep -ac 'PASS console' "$log")" = 1 ] || fail "PASS console appears $(grep -ac 'PASS console' "$log") times"
	[ "$(grep -ac 'pv: shared_info' "$log")" = 1 ] || fail "the pv: line is duplicated in the log"
	log_has cr "console input: typed-through-xl-console" || fail "no echo of the input line"
}

test_control_poweroff() {
	boot cp "test=control"
	expect_log cp "control: ready"
	local domid; domid=$(domain_id cp)
	[ "$(xs_read /local/domain/$domid/control/feature-poweroff)" = 1 ] || fail "feature-poweroff not advertised"
	[ "$(xs_read /local/domain/$domid/control/feature-reboot)" = 1 ] || fail "feature-reboot not advertised"
	"$XL" sysrq cp h 2>"$WORK/err" || fail "xl sysrq failed: $(cat "$WORK/err")"
	expect_log cp "sysrq: h"
	wait_for 5 xs_is /local/domain/$domid/control/sysrq "" || fail "control/sysrq not cleared"
	"$XL" shutdown cp 2>"$WORK/err" || fail "xl shutdown failed: $(cat "$WORK/err")"
	expect_log cp "control: shutdown request poweroff"
	wait_for 10 domain_gone cp || fail "cp still listed after a poweroff request"
	grep -q "shut down: poweroff" "$(vmm_log cp)" || fail "the VMM did not record a poweroff"
}

test_control_reboot() {
	boot crb "test=control"
	expect_log crb "control: ready"
	"$XL" reboot crb 2>"$WORK/err" || fail "xl reboot failed: $(cat "$WORK/err")"
	expect_log crb "control: shutdown request reboot"
	# on_reboot = restart: the guest comes back and says ready again.
	wait_for 20 log_count_at_least crb "control: ready" 2 ||
		fail "the rebooted guest did not come back: $(tail -c 300 "$(guest_log crb)" | tr '\r\n' '  ')"
	grep -q "shut down: reboot" "$(vmm_log crb)" || fail "the VMM did not record a reboot"
	"$XL" destroy crb
}

# A PVH guest with no control driver (it never wrote control/feature-poweroff): as libxl does for
# PV and PVH domains, xl asks all the same, then times out waiting for the acknowledgement.
test_shutdown_of_guest_that_ignores_it() {
	boot deaf "test=counter"
	expect_log deaf "counter 1"
	local domid; domid=$(domain_id deaf)
	[ -z "$(xs_read /local/domain/$domid/control/feature-poweroff 2>/dev/null | grep -x 1)" ] ||
		fail "the counter guest advertises feature-poweroff; this test needs one that does not"
	local rc=0
	XENITH_SHUTDOWN_TIMEOUT=2 timeout 60 "$XL" shutdown -w deaf >"$WORK/out" 2>&1 || rc=$?
	[ $rc -ne 0 ] || fail "xl shutdown -w of a guest that ignores it succeeded: $(cat "$WORK/out")"
	[ $rc -ne 124 ] || fail "xl shutdown -w hung (killed by timeout after 60 s)"
	grep -q "did not acknowledge the poweroff request within 2 s (timed out" "$WORK/out" ||
		fail "xl shutdown's error does not say it timed out waiting for the guest: $(cat "$WORK/out")"
	! grep -q "PV control interface not available" "$WORK/out" ||
		fail "xl refused a PVH domain for lack of control/feature-poweroff: $(cat "$WORK/out")"
	[ "$(xs_read /local/domain/$domid/control/shutdown)" = poweroff ] ||
		fail "control/shutdown is '$(xs_read /local/domain/$domid/control/shutdown)': xl did not ask"
	domain_listed deaf || fail "the deaf guest was destroyed by xl shutdown"
	"$XL" destroy deaf
}

# A guest that claims feature-poweroff but never takes the request: xl must time out, not hang, and
# must leave the domain alone.
test_shutdown_acknowledged_feature_but_ignored() {
	boot ign "test=control ignore=1 timeout=60"
	expect_log ign "control: ready (ignoring requests)"
	local domid; domid=$(domain_id ign)
	[ "$(xs_read /local/domain/$domid/control/feature-poweroff)" = 1 ] || fail "feature-poweroff not advertised"
	local rc=0
	XENITH_SHUTDOWN_TIMEOUT=2 timeout 30 "$XL" shutdown ign >"$WORK/out" 2>&1 || rc=$?
	[ $rc -ne 0 ] || fail "xl shutdown of a guest that ignores the request succeeded: $(cat "$WORK/out")"
	[ $rc -ne 124 ] || fail "xl shutdown hung (killed by timeout after 30 s)"
	grep -q "did not acknowledge the poweroff request within 2 s" "$WORK/out" ||
		fail "xl shutdown's error does not say it waited the configured 2 s: $(cat "$WORK/out")"
	grep -q "timed out" "$WORK/out" || fail "xl shutdown's error does not say 'timed out': $(cat "$WORK/out")"
	domain_listed ign || fail "the domain is gone after an unacknowledged shutdown"
	[ "$(xs_read /local/domain/$domid/control/shutdown)" = poweroff ] ||
		fail "control/shutdown is '$(xs_read /local/domain/$domid/control/shutdown)', the guest was to leave it"
	log_lacks ign "control: shutdown request" || fail "the ignoring guest took the request"
	rc=0
	XENITH_SHUTDOWN_TIMEOUT=2 timeout 30 "$XL" reboot ign >"$WORK/out" 2>&1 || rc=$?
	[ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "xl reboot of the ignoring guest: exit $rc: $(cat "$WORK/out")"
	grep -q "did not acknowledge the reboot request within 2 s (timed out" "$WORK/out" ||
		fail "xl reboot's error: $(cat "$WORK/out")"
	domain_listed ign || fail "the domain is gone after an unacknowledged reboot"
	"$XL" destroy ign
	wait_for 10 domain_gone ign || fail "ign still listed after xl destroy"
}

xenstored_pid() { pgrep -f -- "xenstored.*$XENITH_RUNDIR" | head -1; }

# Each way of corrupting a ring, in its own domain, each followed by a well-behaved domain started
# after it; xenstored (the same process throughout) keeps serving them and Dom0.
test_xs_garbage_does_not_hurt_xenstored() {
	need_xenstore_utils
	local pid="" mode n=0
	for mode in len indices type; do
		n=$((n + 1))
		# hold=4: the hostile domain, its ring broken, stays introduced while the good one runs.
		boot "garb$n" "test=xs-garbage mode=$mode hold=4"
		[ -n "$pid" ] || pid=$(xenstored_pid)
		[ -n "$pid" ] || fail "no xenstored running for $XENITH_RUNDIR"
		expect_log "garb$n" "xs-garbage: holding" 30
		boot "good$n" "test=xenbus"
		domain_listed "garb$n" || fail "garb$n (mode=$mode) was gone before good$n started"
		expect_clean_end "good$n" xenbus 60
		expect_clean_end "garb$n" xs-garbage 30
		[ "$(xenstored_pid)" = "$pid" ] || fail "xenstored changed from pid $pid to '$(xenstored_pid)' after mode=$mode"
		echo "# mode=$mode: $(grep -ao 'xs-garbage: xenstored answered.*' "$(guest_log "garb$n")" | tr -d '\r')"
	done
	grep -aq "xenstored answered ring error PROTO" "$(guest_log garb1)" ||
		fail "mode=len: $(grep -ao 'xenstored answered.*' "$(guest_log garb1)")"
	grep -aq "xenstored answered ring error RINGIDX" "$(guest_log garb2)" ||
		fail "mode=indices: $(grep -ao 'xenstored answered.*' "$(guest_log garb2)")"
	grep -aq "XS_ERROR" "$(guest_log garb3)" ||
		fail "mode=type: $(grep -ao 'xenstored answered.*' "$(guest_log garb3)")"
	xenstore-write /xs-garbage-check still-serving || fail "xenstore-write from Dom0 failed after the garbage"
	[ "$(xs_read /xs-garbage-check)" = still-serving ] || fail "xenstore-read from Dom0: '$(xs_read /xs-garbage-check)'"
	xenstore-rm /xs-garbage-check
	no_match "$XENITH_RUNDIR/log/xenstored.log" -E 'AddressSanitizer|LeakSanitizer|runtime error:' ||
		fail "sanitizer report from xenstored: $(grep -m1 -E 'AddressSanitizer|LeakSanitizer|runtime error:' "$XENITH_RUNDIR/log/xenstored.log")"
	[ "$(xenstored_pid)" = "$pid" ] || fail "xenstored changed from pid $pid to '$(xenstored_pid)'"
}

test_xenstore_layout_of_running_domain() {
	need_xenstore_utils
	boot lay "test=counter"
	expect_log lay "counter 1"
	local domid; domid=$(domain_id lay)
	local d=/local/domain/$domid
	xenstore-ls -f "$d" >"$WORK/ls" 2>&1 || fail "xenstore-ls $d: $(cat "$WORK/ls")"
	[ "$(xs_read $d/name)" = lay ] || fail "$d/name is '$(xs_read $d/name)'"
	[ "$(xs_read $d/domid)" = "$domid" ] || fail "$d/domid is '$(xs_read $d/domid)'"
	local k v
	for k in console/ring-ref console/port store/ring-ref store/port; do
		v=$(xs_read $d/$k) || fail "$d/$k: $v"
		[[ "$v" =~ ^[0-9]+$ ]] || fail "$d/$k is '$v', not a number"
	done
	[ "$(xs_read $d/store/port)" = 1 ] || fail "store/port is $(xs_read $d/store/port), HVM_PARAM_STORE_EVTCHN is 1"
	[ "$(xs_read $d/console/port)" = 2 ] || fail "console/port is $(xs_read $d/console/port)"
	"$XL" destroy lay
	wait_for 10 domain_gone lay
	wait_for 5 sh -c "! xenstore-read $d/name >/dev/null 2>&1" || fail "$d still in xenstore after destroy"
}

dmesg_has() { local out; out=$("$XL" dmesg 2>/dev/null) && grep -qa -- "$1" <<<"$out"; }

# Without the PV core the guest has no console ring, only console_io; Xen puts a DomU's console_io
# lines in its own log ("(d<domid>) " lines, `xl dmesg`), never in the domain's console.
test_existing_tests_still_pass_without_pv() {
	local cfg; cfg=$(make_cfg raw 'cmdline = "test=hello pv=0"')
	"$XL" create "$cfg" 2>/dev/null
	local domid; domid=$(domain_id raw) || true
	wait_for 20 dmesg_has ") PASS hello" || fail "xl dmesg never showed PASS hello: $("$XL" dmesg 2>&1 | tail -5 | tr '\n' ' ')"
	[ -z "$domid" ] || dmesg_has "(d$domid) PASS hello" || fail "PASS hello is not prefixed (d$domid): $("$XL" dmesg 2>&1 | tail -3)"
	! dmesg_has "pv: shared_info" || fail "pv=0 still ran the PV set-up"
	log_lacks raw "PASS hello" || fail "console_io output reached the domain's console log"
	# -c prints, then clears.
	"$XL" dmesg -c >"$WORK/dmesg" 2>&1 || fail "xl dmesg -c failed: $(cat "$WORK/dmesg")"
	grep -q ") PASS hello" "$WORK/dmesg" || fail "xl dmesg -c did not print the log first"
	! dmesg_has ") PASS hello" || fail "xl dmesg -c did not clear the log"
}

run_tests
