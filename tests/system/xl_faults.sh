#!/bin/bash
# xl when parts of Dom0 fail (issue 10, item 4; docs/xl.md): every wait is bounded and says what did
# not answer; `xl destroy` kills a VMM that does not go, but never a stranger; `xl list` marks an
# unresponsive domain instead of hiding it; a dead VMM's leftovers are reaped; an interrupted
# `xl create` leaves nothing.
#
# Without KVM the domains are stand-ins (xl_standin_vmm.py: the run-directory side of a VMM, with a
# real SOCK_SEQPACKET control socket), killed and stopped with real signals, against the real bin/xl
# and a real xenstored; the stand-in runs under a link named xenith-vmm when it must pass xl's check
# that a pid is the domain's VMM.  The tests at the end boot real guests and skip without /dev/kvm.
. "$(dirname "$0")/testlib.bash"
NEEDS_KVM=0

use_test_xenstored
STANDIN="$ROOT/tests/system/xl_standin_vmm.py"

# The interpreter itself, not a shim script, so that the pid we signal is the stand-in.
python_binary() { python3 -c 'import sys; print(sys.executable)'; }

# standin NAME DOMID [as-vmm] [STAND-IN OPTION...]: starts a stand-in domain, its pid in STANDIN_PID.
standin() {
	local name=$1 domid=$2 as=${3:-} py
	shift 2; [ $# -gt 0 ] && shift
	py=$(python_binary)
	if [ "$as" = as-vmm ]; then
		mkdir -p "$WORK/vmmbin"
		ln -sf "$py" "$WORK/vmmbin/xenith-vmm"
		py="$WORK/vmmbin/xenith-vmm"
	fi
	"$py" "$STANDIN" --rundir "$XENITH_RUNDIR" --name "$name" --domid "$domid" "$@" \
		>"$WORK/standin-$name" 2>&1 &
	STANDIN_PID=$!
	wait_for 10 grep -qx ready "$WORK/standin-$name" || fail "stand-in $name did not start: $(cat "$WORK/standin-$name")"
}

alive() { kill -0 "$1" 2>/dev/null; }
gone_pid() { ! alive "$1"; }
# elapsed_ms START_NS: milliseconds since START_NS (date +%s%N).
elapsed_ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

stop_xenstored() {
	[ -n "${XS_PID:-}" ] || return 0
	kill -CONT "$XS_PID" 2>/dev/null || true
	kill -TERM "$XS_PID" 2>/dev/null || true
	XS_PID=""
}

test_dead_vmm_reaped_by_list() {
	need python3
	mkdir -p "$XENITH_RUNDIR/domains"
	standin ghost 7
	kill -KILL "$STANDIN_PID"
	wait "$STANDIN_PID" 2>/dev/null || true
	[ -S "$XENITH_RUNDIR/domains/7/control.sock" ] || fail "the killed stand-in left no socket to reap"
	local out rc=0
	out=$("$XL" list 2>&1) || rc=$?
	[ $rc -eq 0 ] || fail "xl list failed ($rc): $out"
	no_match <(echo "$out") -w ghost || fail "xl list shows the dead domain: $out"
	[ ! -e "$XENITH_RUNDIR/domains/7" ] || fail "xl list left domains/7: $(ls -a "$XENITH_RUNDIR/domains/7")"
}

test_dead_vmm_cleaned_by_destroy() {
	need python3
	need_xenstore_utils
	start_xenstored
	standin ghost 8
	# What the dead VMM would have left in a xenstored that did not see it die.
	xenstore-write /local/domain/8/name ghost /local/domain/8/vm /vm/1234-ghost /vm/1234-ghost/name ghost \
		/libxl/8/type pvh /local/domain/0/backend/vif/8/0/state 4 /local/domain/0/backend/vbd/9/51712/state 4 \
		|| fail "xenstore-write failed"
	kill -KILL "$STANDIN_PID"
	wait "$STANDIN_PID" 2>/dev/null || true
	local out rc=0
	out=$("$XL" destroy ghost 2>&1) || rc=$?
	[ $rc -eq 0 ] || fail "xl destroy of a dead domain failed ($rc): $out"
	[ ! -e "$XENITH_RUNDIR/domains/8" ] || fail "domains/8 is still there"
	local p
	for p in /local/domain/8 /vm/1234-ghost /libxl/8 /local/domain/0/backend/vif; do
		out=$(xenstore-read "$p" 2>&1) && fail "$p outlived xl destroy: $out"
		out=$(xenstore-list "$p" 2>&1) && fail "$p outlived xl destroy: $out"
	done
	out=$(xenstore-read /local/domain/0/backend/vbd/9/51712/state) || fail "another domain's backend went too"
	[ "$out" = 4 ] || fail "another domain's backend node holds '$out'"
	out=$("$XL" destroy 8 2>&1) && fail "a second destroy says it destroyed something: $out"
	stop_xenstored
}

test_stopped_vmm_marked_in_list() {
	need python3
	mkdir -p "$XENITH_RUNDIR/domains"
	standin hung 4
	local hung=$STANDIN_PID
	standin web1 5; standin web2 6; standin web3 7
	kill -STOP "$hung"
	local out err rc=0 t0 ms
	t0=$(date +%s%N)
	out=$("$XL" list 2>"$WORK/err") || rc=$?
	ms=$(elapsed_ms "$t0")
	err=$(cat "$WORK/err")
	kill -CONT "$hung"
	[ $rc -eq 0 ] || fail "xl list failed ($rc): $err"
	# 1 hung + 3 answering: the bound (2 s) once, not per domain.
	[ "$ms" -lt 3500 ] || fail "xl list took $ms ms with one stopped VMM"
	awk '$1 == "hung" && $2 == 4 && $5 == "??????" { found = 1 } END { exit !found }' <<<"$out" \
		|| fail "the stopped domain is not listed, marked: $out"
	local n
	for n in web1 web2 web3; do
		awk -v n=$n '$1 == n && $3 == 32 && $5 == "-b----" { found = 1 } END { exit !found }' <<<"$out" \
			|| fail "$n is missing or wrong: $out"
	done
	grep -q "domain 4 (hung) is not answering: .*pid $hung, python3, stopped) did not answer 'info' within 2 s" <<<"$err" \
		|| fail "no line saying what did not answer: $err"
	kill -STOP "$hung"
	out=$("$XL" list -l 2>/dev/null) || { kill -CONT "$hung"; fail "xl list -l failed"; }
	kill -CONT "$hung"
	python3 -c '
import json, sys
doms = {d["config"]["c_info"]["name"]: d for d in json.load(sys.stdin)}
x = doms["hung"]["xenith"]
assert x["unresponsive"] is True and "did not answer" in x["problem"], x
assert "unresponsive" not in doms["web1"]["xenith"], doms["web1"]
' <<<"$out" || fail "xl list -l does not mark the domain: $out"
}

test_destroy_refuses_to_kill_a_stranger() {
	need python3
	mkdir -p "$XENITH_RUNDIR/domains"
	standin hung 4
	local hung=$STANDIN_PID out rc=0 t0 ms
	kill -STOP "$hung"
	t0=$(date +%s%N)
	out=$("$XL" destroy hung 2>&1) || rc=$?
	ms=$(elapsed_ms "$t0")
	alive "$hung" || fail "xl destroy killed a process that is not a xenith-vmm"
	kill -CONT "$hung"
	[ $rc -ne 0 ] || fail "xl destroy reported success while the domain's process lives: $out"
	[ "$ms" -lt 7000 ] || fail "xl destroy took $ms ms"
	grep -q "did not answer 'destroy' within 5 s.*is not the xenith-vmm of domain 'hung'.*not killed" <<<"$out" \
		|| fail "xl destroy does not say why: $out"
	[ -d "$XENITH_RUNDIR/domains/4" ] || fail "the stranger's directory was removed under it"
}

test_destroy_kills_a_stopped_vmm() {
	need python3
	mkdir -p "$XENITH_RUNDIR/domains"
	standin stuck 5 as-vmm
	local vmm=$STANDIN_PID out rc=0 t0 ms
	kill -STOP "$vmm"
	t0=$(date +%s%N)
	out=$("$XL" destroy stuck 2>&1) || rc=$?
	ms=$(elapsed_ms "$t0")
	[ $rc -eq 0 ] || fail "xl destroy failed ($rc): $out"
	gone_pid "$vmm" || fail "xl destroy succeeded while pid $vmm lives"
	[ "$ms" -lt 12000 ] || fail "xl destroy took $ms ms"
	grep -q "its VMM (pid $vmm, stopped) did not answer 'destroy' within 5 s; killed its VMM (pid $vmm)" <<<"$out" \
		|| fail "xl destroy does not say what it did: $out"
	[ ! -e "$XENITH_RUNDIR/domains/5" ] || fail "domains/5 is still there"
	out=$("$XL" list 2>&1) || fail "xl list failed: $out"
	no_match <(echo "$out") -w stuck || fail "still listed: $out"
}

test_destroy_of_answering_vmm_waits_for_exit() {
	need python3
	mkdir -p "$XENITH_RUNDIR/domains"
	standin fine 6
	local vmm=$STANDIN_PID out
	out=$("$XL" destroy fine 2>&1) || fail "xl destroy failed: $out"
	[ -z "$out" ] || fail "xl destroy printed: $out"
	gone_pid "$vmm" || { wait_for 1 gone_pid "$vmm" && fail "xl destroy returned before pid $vmm exited"; fail "pid $vmm lives"; }
}

# An hvm domain without PV drivers (no control/feature-poweroff): xl shutdown says so and points at
# -F, which presses the ACPI power button through the VMM (xl reboot -F: the reset line); xl trigger
# reaches the VMM and reports its refusals.
test_shutdown_F_and_trigger_press_the_buttons() {
	need python3
	start_xenstored
	standin noacpi 4 "" --type hvm --log "$WORK/requests-noacpi"
	local out rc=0
	out=$("$XL" shutdown noacpi 2>&1) || rc=$?
	[ $rc -ne 0 ] || fail "xl shutdown of an hvm domain without PV drivers succeeded: $out"
	grep -q 'has no PV drivers' <<<"$out" && grep -q -- '-F' <<<"$out" || fail "xl shutdown does not say why or point at -F: $out"
	out=$("$XL" shutdown -F noacpi 2>&1) || fail "xl shutdown -F failed: $out"
	grep -qx 'trigger power' "$WORK/requests-noacpi" || fail "no power button pressed: $(tr '\n' '|' <"$WORK/requests-noacpi")"
	out=$("$XL" reboot -F noacpi 2>&1) || fail "xl reboot -F failed: $out"
	grep -qx 'trigger reset' "$WORK/requests-noacpi" || fail "no reset pulled: $(tr '\n' '|' <"$WORK/requests-noacpi")"
	out=$("$XL" trigger noacpi nmi 1 2>&1) || fail "xl trigger nmi failed: $out"
	grep -qx 'trigger nmi 1' "$WORK/requests-noacpi" || fail "the nmi did not reach the VMM"
	rc=0; out=$("$XL" trigger noacpi sleep 2>&1) || rc=$?
	[ $rc -ne 0 ] && grep -q 'not supported' <<<"$out" || fail "xl trigger sleep: rc $rc: $out"
	rc=0; out=$("$XL" trigger noacpi 'power now' 2>&1) || rc=$?
	[ $rc -ne 0 ] && grep -q 'invalid trigger' <<<"$out" || fail "a trigger with a space: rc $rc: $out"
	"$XL" destroy noacpi >/dev/null 2>&1 || true
	stop_xenstored
}

test_stopped_xenstored_bounded() {
	need python3
	start_xenstored
	standin calm 3
	local calm=$STANDIN_PID
	kill -STOP "$XS_PID"
	local out rc=0 t0 ms
	t0=$(date +%s%N)
	out=$("$XL" shutdown calm 2>&1) || rc=$?
	ms=$(elapsed_ms "$t0")
	[ $rc -ne 0 ] || fail "xl shutdown succeeded with xenstored stopped: $out"
	[ "$ms" -lt 8000 ] || fail "xl shutdown took $ms ms"
	grep -q "xenstored ($XS_SOCK) did not answer within 5 s" <<<"$out" || fail "xl shutdown does not name xenstored: $out"
	# xl list needs no xenstored.
	rc=0; t0=$(date +%s%N)
	out=$("$XL" list 2>&1) || rc=$?
	ms=$(elapsed_ms "$t0")
	[ $rc -eq 0 ] && [ "$ms" -lt 3000 ] || fail "xl list with xenstored stopped: rc $rc, $ms ms: $out"
	# A dead VMM's domain: destroyed, and the xenstore part said.
	kill -KILL "$calm"
	wait "$calm" 2>/dev/null || true
	rc=0; t0=$(date +%s%N)
	out=$("$XL" destroy calm 2>&1) || rc=$?
	ms=$(elapsed_ms "$t0")
	[ $rc -eq 0 ] || fail "xl destroy of a dead domain failed with xenstored stopped ($rc): $out"
	[ "$ms" -lt 8000 ] || fail "xl destroy took $ms ms"
	grep -q "xenstored ($XS_SOCK) did not answer within 5 s" <<<"$out" || fail "xl destroy does not say xenstored did not answer: $out"
	[ ! -e "$XENITH_RUNDIR/domains/3" ] || fail "domains/3 is still there"
	stop_xenstored
}

# A stand-in for the VMM that xl spawns (XENITH_VMM), with a KVM device any file stands for.
standin_spawned() {
	local extra=$1 py
	py=$(python_binary)
	mkdir -p "$WORK/vmmbin"
	ln -sf "$py" "$WORK/vmmbin/xenith-vmm"
	cat >"$WORK/spawned" <<-EOF
	#!/bin/bash
	echo \$\$ >"$WORK/spawned.pid"
	exec "$WORK/vmmbin/xenith-vmm" "$STANDIN" --domid 9 $extra "\$@"
	EOF
	chmod +x "$WORK/spawned"
	printf 'name = "slow"\ntype = "pvh"\nkernel = "/bin/true"\nmemory = 32\n' >"$WORK/slow.cfg"
}

interrupted_create() {
	local sig=$1 extra=$2 want=$3 out rc=0 vmm
	need python3
	standin_spawned "$extra"
	rm -f "$WORK/spawned.pid"
	XENITH_VMM="$WORK/spawned" XENITH_KVM_DEVICE=/dev/null "$XL" create "$WORK/slow.cfg" >"$WORK/create.out" 2>&1 &
	local xl=$!
	wait_for 10 test -d "$XENITH_RUNDIR/domains/9" || { kill -KILL $xl; fail "the stand-in never made its domain: $(cat "$WORK/create.out")"; }
	vmm=$(cat "$WORK/spawned.pid")
	kill "-$sig" $xl
	wait $xl || rc=$?
	out=$(cat "$WORK/create.out")
	[ $rc -eq "$want" ] || fail "xl create ended with $rc, not $want: $out"
	grep -q "xl: interrupted; domain slow was not created" <<<"$out" || fail "no message: $out"
	gone_pid "$vmm" || fail "the VMM (pid $vmm) outlived the interrupted create"
	out=$(ls -A "$XENITH_RUNDIR/domains")
	[ -z "$out" ] || fail "left in domains/: $out"
}

test_sigint_create_leaves_nothing() { interrupted_create INT --hang 130; }
# A VMM that ignores SIGTERM while it sets up is killed after the grace time.
test_sigterm_create_kills_a_deaf_vmm() { interrupted_create TERM "--hang --ignore-term" 143; }

# ---- with real guests (need /dev/kvm) ----

test_kvm_stopped_vmm_listed_and_killed() {
	need_kvm
	local cfg out rc=0 vmm
	cfg=$(make_cfg stopped)
	"$XL" create "$cfg" >/dev/null 2>&1 || fail "xl create failed"
	vmm=$(vmm_pid_of stopped)
	[ -n "$vmm" ] || fail "no VMM process for the domain"
	kill -STOP "$vmm"
	out=$("$XL" list 2>"$WORK/err") || rc=$?
	[ $rc -eq 0 ] || fail "xl list failed: $(cat "$WORK/err")"
	awk '$1 == "stopped" && $5 == "??????" { f = 1 } END { exit !f }' <<<"$out" || fail "not marked: $out"
	grep -q "its VMM (pid $vmm, stopped) did not answer 'info'" "$WORK/err" || fail "no message: $(cat "$WORK/err")"
	out=$("$XL" destroy stopped 2>&1) || fail "xl destroy failed: $out"
	gone_pid "$vmm" || fail "the VMM lives after xl destroy"
	domain_gone stopped || fail "still listed"
	[ -z "$(ls -A "$XENITH_RUNDIR/domains")" ] || fail "left in domains/: $(ls -A "$XENITH_RUNDIR/domains")"
}

test_kvm_sigint_create_leaves_nothing() {
	need_kvm
	need ip
	local cfg out rc=0 taps_before taps_after
	cfg=$(make_cfg early)
	taps_before=$(ip -o link show | awk -F': ' '{ print $2 }' | grep -c '^vif' || true)
	"$XL" create "$cfg" >"$WORK/create.out" 2>&1 &
	local xl=$!
	# Interrupt as soon as the VMM exists, before it can have said ok.
	wait_for 10 bash -c "pgrep -f -- 'xenith-vmm.*$XENITH_RUNDIR.*--name early' >/dev/null" || true
	kill -INT $xl
	wait $xl || rc=$?
	out=$(cat "$WORK/create.out")
	if [ $rc -eq 0 ]; then
		# It was ready before the signal: then the domain exists, and create is done.
		domain_listed early || fail "create said ok but no domain: $out"
		return 0
	fi
	[ $rc -eq 130 ] || fail "xl create ended with $rc: $out"
	grep -q "interrupted; domain early was not created" <<<"$out" || fail "no message: $out"
	[ -z "$(vmm_pid_of early)" ] || fail "a VMM is left"
	[ -z "$(ls -A "$XENITH_RUNDIR/domains")" ] || fail "left in domains/: $(ls -A "$XENITH_RUNDIR/domains")"
	taps_after=$(ip -o link show | awk -F': ' '{ print $2 }' | grep -c '^vif' || true)
	[ "$taps_after" = "$taps_before" ] || fail "TAP devices: $taps_before before, $taps_after after"
	if command -v xenstore-ls >/dev/null; then
		out=$(XENSTORED_PATH="$XS_SOCK" xenstore-ls /local/domain 2>/dev/null | grep -v '^0 ' || true)
		[ -z "$out" ] || fail "xenstore homes left: $out"
	fi
}

test_kvm_destroy_of_killed_vmm() {
	need_kvm
	local cfg out vmm id
	cfg=$(make_cfg killed)
	"$XL" create "$cfg" >/dev/null 2>&1 || fail "xl create failed"
	id=$(domain_id killed)
	vmm=$(vmm_pid_of killed)
	kill -KILL "$vmm"
	wait_for 5 gone_pid "$vmm" || fail "SIGKILL did not end the VMM"
	out=$("$XL" destroy "$id" 2>&1) || fail "xl destroy of the killed domain failed: $out"
	[ ! -e "$XENITH_RUNDIR/domains/$id" ] || fail "domains/$id left"
	if command -v xenstore-read >/dev/null; then
		out=$(XENSTORED_PATH="$XS_SOCK" xenstore-read "/local/domain/$id/name" 2>&1) && fail "home left: $out"
	fi
	return 0
}

run_tests
