# Dom0 survives its parts (issue 10, "Any process may die"): each of Dom0's processes is killed,
# stopped or interrupted while domains run, and what the rest of Dom0 must do is checked from the
# outside, with Debian's xenstore-utils and /proc:
#   - a VMM with a vif and a disk SIGKILLed: xenstored releases its domain (home, backend
#     directories, IS_DOMAIN_INTRODUCED, fds, the guest's memfd), its TAP goes, `xl destroy` of the
#     dead domain succeeds and clears the run dir, and the name and disk serve a new domain;
#   - xenstored SIGKILLed under two domains: the next xl command (or the VMMs) restart it, both
#     homes come back, watches fire, `xl shutdown` reaches both guests;
#   - xenstored SIGSTOPped: list, create, shutdown and destroy each return within a bound, naming
#     xenstored when they fail; destroy still ends its domain; after SIGCONT all works;
#   - a VMM SIGSTOPped: `xl list` shows its domain, marked; `xl pause` returns with a message;
#     `xl destroy` ends it;
#   - `xl create` interrupted (SIGINT, as Ctrl-C sends it): either it said yes and the domain is
#     whole, or it did not and nothing of the domain is left.
# shellcheck source=tests/system/testlib.bash
. "$(dirname "$0")/testlib.bash"
export PYTHONPATH="$ROOT/tests/system"

# What `xl list` says on stderr about a domain whose VMM does not answer (src/xl/xl_info.c).
NOT_ANSWERING='not answering'
# Seconds: xenstored releasing a dead VMM's domain or coming back; any one xl command; a boot.
RELEASE_BOUND=10
CMD_BOUND=30
BOOT_BOUND=120

# A domain running the test guest, with optional extra cfg lines; fails with what xl said.
create() {
	local name=$1
	shift
	local cfg; cfg=$(make_cfg "$name" "$@")
	xl_or_ns create "$cfg" >"$WORK/create-$name" 2>&1 ||
		fail "xl create $name failed: $(tr '\n' ' ' <"$WORK/create-$name")"
}
# xl inside the test's namespace when it has one (so that vifs land there), else plainly.
xl_or_ns() { if [ -n "$NETNS" ]; then xl_ns "$@"; else "$XL" "$@"; fi; }

counter_value() { { grep -ao 'counter [0-9]*' "$(guest_log "$1")" || true; } | tail -1 | awk '{ print $2 }'; }
counter_above() { [ "$(counter_value "$1")" -gt "$2" ]; }
# expect_alive NAME: listed by xl list and its counter test still counting.
expect_alive() {
	domain_listed "$1" || fail "$1 is no longer listed by xl list"
	local c; c=$(counter_value "$1")
	wait_for 10 counter_above "$1" "${c:-0}" || fail "$1's counter stopped at ${c:-nothing}"
}
backend_dirs_of() {
	local b
	for b in $(xs_backend_dirs); do if [ "${b#*/}" = "$1" ]; then echo "$b"; fi; done | sort | tr '\n' ' ' | sed 's/ $//'
}
no_backend_dirs_of() { [ -z "$(backend_dirs_of "$1")" ]; }
tap_gone() { [[ " $(taps_in_ns) " != *" $1 "* ]]; }
no_homes() { [ -z "$(xs_domids)" ]; }
xenstored_replaced() { local p; p=$(xenstored_pid); [ -n "$p" ] && [ "$p" != "$1" ]; }

test_killed_vmm_with_vif_and_disk_releases_everything() {
	need_xenstore_utils
	need python3
	trap undo_faults EXIT
	make_bridge_netns kill
	# A witness domain starts xenstored, and shows that the kill stays with the victim.
	create witness 'cmdline = "test=counter"'
	expect_log witness "counter 1"
	local xsd; xsd=$(xenstored_pid)
	[ -n "$xsd" ] || fail "no xenstored for $XENITH_RUNDIR after the witness was created"
	local before; before=$(steady_fds "$xsd")
	truncate -s 4M "$WORK/victim.img"
	local vif="vif = [ 'bridge=xbr0,ip=10.0.0.2/24' ]" disk="disk = [ '$WORK/victim.img,raw,xvda,rw' ]"
	create victim 'cmdline = "test=blk-pattern rounds=0 seed=3"' "$vif" "$disk"
	expect_log victim "blk-pattern: wrote and verified" "$BOOT_BOUND"
	local id pid vm inodes
	id=$(domain_id victim) || fail "xl domid victim failed"
	pid=$(vmm_pid_of victim)
	[ -n "$pid" ] || fail "no VMM process for victim"
	# Everything that must go is first seen to be there, so that its absence later means something.
	xs_read_is "/local/domain/$id/name" victim ||
		fail "before the kill: /local/domain/$id/name is '$(xs xenstore-read "/local/domain/$id/name" 2>&1)', not victim"
	local dirs; dirs=" $(backend_dirs_of "$id") "
	[[ $dirs == *" vbd/$id "* && $dirs == *" vif/$id "* ]] ||
		fail "before the kill: backend directories for domain $id are '$(backend_dirs_of "$id")', without vbd/$id and vif/$id"
	[ "$(xs_introduced "$id")" = T ] || fail "before the kill: IS_DOMAIN_INTRODUCED $id says '$(xs_introduced "$id")', not T"
	[ "$(tap_master "vif$id.0")" = xbr0 ] || fail "before the kill: vif$id.0's master is '$(tap_master "vif$id.0")', not xbr0"
	vm=$(xs xenstore-read "/local/domain/$id/vm" 2>/dev/null) || vm=""
	inodes=$(memfd_inodes "$pid")
	[ -n "$inodes" ] || fail "the victim's VMM (pid $pid) has no memfd open: nothing to look for in xenstored"
	# shellcheck disable=SC2086 # one inode a word
	holds_any_inode "$xsd" $inodes >/dev/null ||
		fail "before the kill xenstored (pid $xsd) holds none of the guest's memfds (inodes ${inodes//$'\n'/ }): the check after it would prove nothing"

	kill -KILL "$pid"
	wait_for 5 pid_dead "$pid" || fail "the victim's VMM (pid $pid) survived SIGKILL"
	wait_for "$RELEASE_BOUND" not_introduced "$id" ||
		fail "IS_DOMAIN_INTRODUCED $id still says '$(xs_introduced "$id")' $RELEASE_BOUND s after its VMM was killed (F expected)"
	wait_for "$RELEASE_BOUND" xs_absent "/local/domain/$id" ||
		fail "/local/domain/$id outlived its VMM by $RELEASE_BOUND s: $(xs xenstore-ls "/local/domain/$id" 2>&1 | head -5 | tr '\n' ' ')"
	wait_for "$RELEASE_BOUND" no_backend_dirs_of "$id" ||
		fail "Dom0's backend directories for domain $id outlived its VMM by $RELEASE_BOUND s: $(backend_dirs_of "$id")"
	if [ -n "$vm" ]; then
		wait_for "$RELEASE_BOUND" xs_absent "$vm" || fail "$vm outlived the victim's VMM by $RELEASE_BOUND s"
	fi
	wait_for "$RELEASE_BOUND" fds_of_is "$xsd" "$before" ||
		fail "xenstored (pid $xsd) holds $(fds_of "$xsd") fds $RELEASE_BOUND s after the kill; $before before the victim was created"
	local held
	# shellcheck disable=SC2086
	held=$(holds_any_inode "$xsd" $inodes) && fail "xenstored still holds the killed guest's memory: $held"
	[ "$(xenstored_pid)" = "$xsd" ] || fail "xenstored went from pid $xsd to '$(xenstored_pid)': it was to release the domain, not die"
	wait_for "$RELEASE_BOUND" tap_gone "vif$id.0" || fail "vif$id.0 outlived its VMM by $RELEASE_BOUND s: $(taps_in_ns)"

	# xl destroy of the dead domain succeeds and takes what is left in the run dir.
	bounded "$CMD_BOUND" destroy "$XL" destroy "$id"
	[ "$BOUNDED_RC" = 0 ] || fail "xl destroy $id of the killed domain exited $BOUNDED_RC (0 expected): $(said destroy err)"
	[ ! -e "$XENITH_RUNDIR/domains/$id" ] || fail "domains/$id is still in the run dir after xl destroy $id"
	local left; left=$(leftovers_of victim "$id")
	[ -z "$left" ] || fail "after xl destroy of the killed domain, left: $left"
	domain_gone victim || fail "xl list still shows victim after xl destroy"
	expect_alive witness

	# The same name and the same disk serve a new domain, which boots and uses both devices.
	create victim 'cmdline = "test=blk-pattern seed=4"' "$vif" "$disk"
	local id2; id2=$(domain_id victim) || fail "xl domid victim failed for the new domain"
	[ "$(tap_master "vif$id2.0")" = xbr0 ] || fail "the new domain's vif$id2.0 is on '$(tap_master "vif$id2.0")', not xbr0"
	expect_log victim "PASS blk-pattern" "$BOOT_BOUND"
	log_has victim "blk-pattern: wrote and verified 8192 sectors" || fail "the new domain did not verify all 8192 sectors of the reused disk"
	wait_for 10 domain_gone victim || fail "the new victim still listed 10 s after its PASS (it powers off)"
	expect_alive witness
	"$XL" destroy witness || fail "xl destroy witness failed"
}

test_killed_xenstored_restarts_homes_and_watches_back() {
	need_xenstore_utils
	need python3
	trap undo_faults EXIT
	local name id xsd
	declare -A ids
	for name in home-a home-b; do
		create "$name" 'cmdline = "test=control timeout=600"'
	done
	for name in home-a home-b; do
		expect_log "$name" "control: ready"
		ids[$name]=$(domain_id "$name") || fail "xl domid $name failed"
		id=${ids[$name]}
		xs_read_is "/local/domain/$id/control/feature-poweroff" 1 ||
			fail "before the kill: $name's control/feature-poweroff is '$(xs xenstore-read "/local/domain/$id/control/feature-poweroff" 2>&1)', not 1"
	done
	xsd=$(xenstored_pid)
	[ -n "$xsd" ] || fail "no xenstored for $XENITH_RUNDIR with two domains running"
	kill -KILL "$xsd"
	wait_for 5 pid_dead "$xsd" || fail "xenstored (pid $xsd) survived SIGKILL"

	# The next xl command finds both domains, and xenstored is back (started by it or by the VMMs).
	bounded "$CMD_BOUND" list "$XL" list
	[ "$BOUNDED_RC" = 0 ] || fail "the first xl list after xenstored was killed exited $BOUNDED_RC: $(said list err)"
	for name in home-a home-b; do
		grep -qE "^$name +${ids[$name]} " "$WORK/list.out" || fail "the first xl list after the kill does not show $name (domid ${ids[$name]}): $(said list out)"
	done
	wait_for "$RELEASE_BOUND" xenstored_replaced "$xsd" || fail "no new xenstored $RELEASE_BOUND s after the old one (pid $xsd) was killed and xl list ran"
	for name in home-a home-b; do
		id=${ids[$name]}
		wait_for "$RELEASE_BOUND" xs_read_is "/local/domain/$id/name" "$name" ||
			fail "/local/domain/$id/name is '$(xs xenstore-read "/local/domain/$id/name" 2>&1)' $RELEASE_BOUND s after xenstored came back, not $name"
		xs_read_is "/local/domain/$id/domid" "$id" ||
			fail "/local/domain/$id/domid is '$(xs xenstore-read "/local/domain/$id/domid" 2>&1)' after the restart, not $id"
		xs_read_is "/local/domain/$id/control/feature-poweroff" 1 ||
			fail "$name's control/feature-poweroff is '$(xs xenstore-read "/local/domain/$id/control/feature-poweroff" 2>&1)' after the restart, not 1"
		[ "$(xs_introduced "$id")" = T ] || fail "IS_DOMAIN_INTRODUCED $id says '$(xs_introduced "$id")' after the restart, not T"
	done

	# A watch on a home fires when Dom0 writes below it (among whatever else fires there).
	id=${ids[home-a]}
	XENSTORED_PATH="$XENITH_RUNDIR/xenstored/socket" timeout 20 stdbuf -oL xenstore-watch "/local/domain/$id" >"$WORK/watch" 2>&1 &
	track_bg "$!"
	wait_for 5 test -s "$WORK/watch" || fail "xenstore-watch on /local/domain/$id did not fire on registration: $(tr '\n' ' ' <"$WORK/watch")"
	xs xenstore-write "/local/domain/$id/data/fault-probe" 1 || fail "xenstore-write below /local/domain/$id failed after the restart"
	wait_for 10 grep -q "^/local/domain/$id/data/fault-probe" "$WORK/watch" ||
		fail "xenstore-watch on /local/domain/$id saw no event for data/fault-probe within 10 s: $(tr '\n' ' ' <"$WORK/watch")"
	stop_bg

	# The guests' own watches on control/shutdown work again: xl shutdown powers both off.
	for name in home-a home-b; do
		bounded "$CMD_BOUND" "shutdown-$name" "$XL" shutdown "${ids[$name]}"
		[ "$BOUNDED_RC" = 0 ] || fail "xl shutdown ${ids[$name]} ($name) after the restart exited $BOUNDED_RC: $(said "shutdown-$name" err)"
		expect_log "$name" "control: shutdown request poweroff"
		wait_for 10 domain_gone "$name" || fail "$name still listed 10 s after it took the poweroff request"
		grep -q "shut down: poweroff" "$(vmm_log "$name")" || fail "$name's VMM log does not record the poweroff"
	done
}

test_stopped_xenstored_every_command_returns() {
	need_xenstore_utils
	trap undo_faults EXIT
	create held 'cmdline = "test=control timeout=600"'
	expect_log held "control: ready"
	local id vmm xsd
	id=$(domain_id held) || fail "xl domid held failed"
	vmm=$(vmm_pid_of held)
	xsd=$(xenstored_pid)
	if [ -z "$vmm" ] || [ -z "$xsd" ]; then fail "no VMM ('$vmm') or no xenstored ('$xsd') for held"; fi
	stop_pid "$xsd"

	# xl list needs no xenstored; should it fail all the same, it must say why.
	bounded "$CMD_BOUND" list "$XL" list
	if [ "$BOUNDED_RC" != 0 ]; then
		grep -qi xenstored "$WORK/list.err" || fail "xl list exited $BOUNDED_RC with xenstored stopped, without naming xenstored: $(said list err)"
	else
		grep -qE "^held +$id " "$WORK/list.out" || fail "xl list with xenstored stopped does not show held: $(said list out)"
	fi
	local cfg; cfg=$(make_cfg late 'cmdline = "test=hello"')
	bounded "$CMD_BOUND" create "$XL" create "$cfg"
	[ "$BOUNDED_RC" != 0 ] || fail "xl create succeeded with xenstored stopped (the domain cannot have its home)"
	grep -qi xenstored "$WORK/create.err" || fail "xl create's failure with xenstored stopped does not name xenstored: $(said create err)"
	wait_for "$RELEASE_BOUND" nothing_left_of late ||
		fail "the failed create left, $RELEASE_BOUND s later: $(leftovers_of late)"
	bounded "$CMD_BOUND" shutdown "$XL" shutdown held
	[ "$BOUNDED_RC" != 0 ] || fail "xl shutdown held succeeded with xenstored stopped (it cannot have written control/shutdown)"
	grep -qi xenstored "$WORK/shutdown.err" || fail "xl shutdown's failure with xenstored stopped does not name xenstored: $(said shutdown err)"
	bounded "$CMD_BOUND" destroy "$XL" destroy held
	[ "$BOUNDED_RC" = 0 ] || fail "xl destroy held exited $BOUNDED_RC with xenstored stopped (it must still end the domain): $(said destroy err)"
	wait_for 2 pid_dead "$vmm" || fail "xl destroy held succeeded, but its VMM (pid $vmm) still runs"
	[ ! -e "$XENITH_RUNDIR/domains/$id" ] || fail "domains/$id is still in the run dir after xl destroy"

	resume_pids
	wait_for "$RELEASE_BOUND" xs_absent "/local/domain/$id" ||
		fail "held's home /local/domain/$id is still in xenstore $RELEASE_BOUND s after xenstored resumed"
	wait_for "$RELEASE_BOUND" no_homes || fail "homes left in xenstore $RELEASE_BOUND s after xenstored resumed: $(xs_domids)"
	bounded "$CMD_BOUND" list2 "$XL" list
	[ "$BOUNDED_RC" = 0 ] || fail "xl list after SIGCONT exited $BOUNDED_RC: $(said list2 err)"
	create after 'cmdline = "test=control timeout=600"'
	expect_log after "control: ready"
	bounded "$CMD_BOUND" shutdown2 "$XL" shutdown after
	[ "$BOUNDED_RC" = 0 ] || fail "xl shutdown after SIGCONT exited $BOUNDED_RC: $(said shutdown2 err)"
	expect_log after "control: shutdown request poweroff"
	wait_for 10 domain_gone after || fail "after still listed 10 s after it took the poweroff request"
}

test_stopped_vmm_listed_marked_and_destroyed() {
	trap undo_faults EXIT
	create frozen 'cmdline = "test=counter"'
	create bystander 'cmdline = "test=counter"'
	expect_log frozen "counter 1"
	expect_log bystander "counter 1"
	local id vmm
	id=$(domain_id frozen) || fail "xl domid frozen failed"
	vmm=$(vmm_pid_of frozen)
	[ -n "$vmm" ] || fail "no VMM process for frozen"
	stop_pid "$vmm"

	bounded "$CMD_BOUND" list "$XL" list
	grep -qE "^frozen +$id " "$WORK/list.out" ||
		fail "xl list (exit $BOUNDED_RC) hides the domain whose VMM is stopped: $(said list out)"
	grep -q -- "$NOT_ANSWERING" "$WORK/list.err" ||
		fail "xl list's stderr does not say '$NOT_ANSWERING' of frozen: $(said list err)"
	grep -qE "^bystander " "$WORK/list.out" || fail "xl list does not show bystander: $(said list out)"
	bounded "$CMD_BOUND" pause "$XL" pause frozen
	[ "$BOUNDED_RC" != 0 ] || fail "xl pause of a domain whose VMM is stopped said it succeeded"
	grep -qE "frozen|domain $id" "$WORK/pause.err" || fail "xl pause's failure does not name the domain: $(said pause err)"
	bounded "$CMD_BOUND" destroy "$XL" destroy frozen
	[ "$BOUNDED_RC" = 0 ] || fail "xl destroy of the stopped domain exited $BOUNDED_RC: $(said destroy err)"
	wait_for 5 pid_dead "$vmm" || fail "xl destroy frozen returned 0, but its VMM (pid $vmm) still runs"
	[ ! -e "$XENITH_RUNDIR/domains/$id" ] || fail "domains/$id is still in the run dir after xl destroy"
	domain_gone frozen || fail "xl list still shows frozen after xl destroy"
	expect_alive bystander
	"$XL" destroy bystander || fail "xl destroy bystander failed"
}

# check_create_contract NAME RC WHAT: after `xl create` of NAME ended with status RC, either RC is 0
# and the domain is whole (listed, answering, with its home, its VMM and its TAP, booting), or RC
# is not 0 and nothing of it is left.  Sets OUTCOME to "created" or "interrupted".  (Not to be
# called in $(...), where set -e does not hold and a failed step would go on.)
OUTCOME=""
check_create_contract() {
	local name=$1 rc=$2 what=$3 id
	if [ "$rc" = 0 ]; then
		domain_listed "$name" || fail "$what: xl create exited 0, but $name is not listed"
		id=$(domain_id "$name") || fail "$what: xl create exited 0, but xl domid $name fails"
		xs_read_is "/local/domain/$id/name" "$name" || fail "$what: xl create exited 0, but /local/domain/$id/name is not $name"
		[ -n "$(vmm_pid_of "$name")" ] || fail "$what: xl create exited 0, but no VMM serves $name"
		[ "$(tap_master "vif$id.0")" = xbr0 ] || fail "$what: xl create exited 0, but vif$id.0 is not on xbr0"
		expect_log "$name" "Xenith test guest"
		"$XL" destroy "$name" >"$WORK/destroy.err" 2>&1 || fail "$what: xl destroy $name failed: $(cat "$WORK/destroy.err")"
		wait_for "$RELEASE_BOUND" nothing_left_of "$name" "$id" || fail "$what: after xl destroy, left: $(leftovers_of "$name" "$id")"
		OUTCOME=created
		return 0
	fi
	wait_for "$RELEASE_BOUND" nothing_left_of "$name" ||
		fail "$what: xl create was interrupted (exit $rc: $(tr '\n' ' ' <"$WORK/intr.out")), but $RELEASE_BOUND s later left: $(leftovers_of "$name")"
	local homes backends taps
	homes=$(xs_domids) backends=$(xs_backend_dirs) taps=$(taps_in_ns)
	[ -z "$homes$backends$taps" ] ||
		fail "$what: xl create was interrupted (exit $rc), but left homes '$homes', backends '$backends', TAPs '$taps'"
	OUTCOME=interrupted
}

test_interrupted_create_leaves_all_or_nothing() {
	need_xenstore_utils
	need setsid util-linux
	trap undo_faults EXIT
	make_bridge_netns intr
	truncate -s 4M "$WORK/intr.img"
	# A hotplug script that is slow to bring the vif online, and says when it starts: SIGINT then
	# reaches xl while its VMM is building the domain, whatever the machine's speed.
	local mark="$WORK/hotplug-online" script="$WORK/slow-vif-bridge"
	cat >"$script" <<EOF
#!/bin/sh
if [ "\${1:-\${command:-}}" = online ]; then : >"$mark"; sleep 3; fi
exec "$ROOT/scripts/vif-bridge" "\$@"
EOF
	chmod +x "$script"
	local disk="disk = [ '$WORK/intr.img,raw,xvda,rw' ]" cmd='cmdline = "test=counter"'
	local slow fast
	slow=$(make_cfg intr "$cmd" "vif = [ 'bridge=xbr0,script=$script' ]" "$disk")
	cp "$slow" "$WORK/intr-slow.cfg"
	fast=$(make_cfg intr "$cmd" "vif = [ 'bridge=xbr0' ]" "$disk")
	local xlpid interrupted=0 created=0 delay

	rm -f "$mark"
	start_interruptible xlpid "$WORK/intr.out" ip netns exec "$NETNS" "$XL" create "$WORK/intr-slow.cfg"
	wait_for 30 test -e "$mark" || fail "the VMM never ran the vif's hotplug script: $(tr '\n' ' ' <"$WORK/intr.out")"
	[ -n "$(vmm_pid_of intr)" ] || fail "no VMM for intr while its hotplug script runs"
	kill -INT -- "-$xlpid" || fail "cannot send SIGINT to xl create's process group $xlpid (it ended before its VMM was built?)"
	wait_bounded "$CMD_BOUND" "$xlpid" "xl create, sent SIGINT while its VMM was building,"
	check_create_contract intr "$WAIT_RC" "SIGINT while the vif's hotplug script ran"
	echo "# SIGINT during the build: xl create exited $WAIT_RC: $OUTCOME"

	# Then at delays from the start: before, during and after the build, whatever comes.
	for delay in 0 0.002 0.005 0.01 0.02 0.05 0.1 0.2 0.5 1; do
		start_interruptible xlpid "$WORK/intr.out" ip netns exec "$NETNS" "$XL" create "$fast"
		sleep "$delay"
		kill -INT -- "-$xlpid" 2>/dev/null || true     # it may have ended already
		wait_bounded "$CMD_BOUND" "$xlpid" "xl create, sent SIGINT after $delay s,"
		check_create_contract intr "$WAIT_RC" "SIGINT $delay s after xl create started"
		if [ "$OUTCOME" = created ]; then created=$((created + 1)); else interrupted=$((interrupted + 1)); fi
	done
	echo "# SIGINT at 10 delays: $interrupted interrupted leaving nothing, $created created whole"

	# The name, disk and bridge are free for a plain create.
	create intr "$cmd" "vif = [ 'bridge=xbr0' ]" "$disk"
	expect_log intr "counter 1"
	"$XL" destroy intr || fail "xl destroy intr failed"
}

run_tests
