# What happens when a guest crashes, reboots or is paused, and what xl does to running domains.
. "$(dirname "$0")/testlib.bash"

test_crash_preserve_keeps_domain() {
	local cfg; cfg=$(make_cfg keep 'cmdline = "test=crash"' 'on_crash = "preserve"')
	"$XL" create "$cfg" 2>/dev/null
	expect_log keep "crashing on purpose"
	wait_for 10 state_is keep ----c- ||
		fail "preserved domain's state is '$(domain_state keep)', not ----c-"
	"$XL" destroy keep || fail "destroy of the preserved domain failed"
	domain_gone keep || fail "keep is still listed after destroy"
}

test_crash_restart_same_name_new_id() {
	local cfg id1 id2
	cfg=$(make_cfg phoenix 'cmdline = "test=crash"' 'on_crash = "restart"')
	"$XL" create "$cfg" 2>/dev/null
	id1=$(domain_id phoenix) || fail "no domid for phoenix"
	# Each incarnation prints the banner once; a second banner means it restarted.
	wait_for 20 log_count_at_least phoenix "crashing on purpose" 2 ||
		fail "phoenix did not restart after its crash"
	wait_for 5 domain_listed phoenix || fail "phoenix is not listed after restarting"
	id2=$(domain_id phoenix) || fail "no domid for phoenix after restart"
	[ "$id1" != "$id2" ] || fail "restarted domain kept domid $id1 (Xen gives a new one)"
	"$XL" destroy phoenix
}

test_reboot_restarts() {
	local cfg; cfg=$(make_cfg reboot1 'cmdline = "test=reboot"')
	"$XL" create "$cfg" 2>/dev/null
	wait_for 20 log_count_at_least reboot1 "rebooting on purpose" 2 ||
		fail "reboot1 did not come back after rebooting (on_reboot defaults to restart)"
	grep -q "restarted as domain" "$(vmm_log reboot1)" || fail "VMM log does not record the restart"
	"$XL" destroy reboot1
}

test_reboot_destroy_action() {
	local cfg; cfg=$(make_cfg reboot2 'cmdline = "test=reboot"' 'on_reboot = "destroy"')
	"$XL" create "$cfg" 2>/dev/null
	expect_log reboot2 "rebooting on purpose"
	wait_for 10 domain_gone reboot2 || fail "reboot2 listed after a reboot with on_reboot=destroy"
}

counter_value() { grep -ao 'counter [0-9]*' "$(guest_log "$1")" | tail -1 | awk '{ print $2 }'; }
counter_above() { [ "$(counter_value "$1")" -gt "$2" ]; }

test_pause_stops_progress_unpause_resumes() {
	local cfg a b c; cfg=$(make_cfg ticker 'cmdline = "test=counter"')
	"$XL" create "$cfg" 2>/dev/null
	expect_log ticker "counter 3"
	"$XL" pause ticker || fail "xl pause failed"
	[ "$(domain_state ticker)" = "--p---" ] || fail "paused state is '$(domain_state ticker)', not --p---"
	sleep 0.3     # let a line already under way land
	a=$(counter_value ticker)
	sleep 1.5
	b=$(counter_value ticker)
	[ "$a" = "$b" ] || fail "counter moved from $a to $b while paused"
	"$XL" unpause ticker || fail "xl unpause failed"
	wait_for 10 counter_above ticker "$b" ||
		fail "counter stayed at $b after unpause"
	c=$(counter_value ticker)
	[ "$(domain_state ticker)" = "r-----" ] || fail "state after unpause is '$(domain_state ticker)'"
	echo "# counter: $a before pause, $b after 1.5 s paused, $c after unpause"
	"$XL" destroy ticker
}

test_destroy_running_domain() {
	local cfg; cfg=$(make_cfg victim 'cmdline = "test=counter"')
	"$XL" create "$cfg" 2>/dev/null
	expect_log victim "counter 1"
	"$XL" destroy victim || fail "xl destroy failed"
	domain_gone victim || fail "victim still listed right after destroy"
	wait_for 5 no_vmm_left || fail "victim's VMM is still running"
	[ -z "$(ls "$XENITH_RUNDIR/domains")" ] || fail "left in domains/: $(ls "$XENITH_RUNDIR/domains")"
}

test_two_domains_distinct_ids() {
	local a b ida idb
	a=$(make_cfg twin-a 'cmdline = "test=counter"')
	b=$(make_cfg twin-b 'cmdline = "test=counter"')
	# Started together, they race for IDs: the lock must give them different ones.
	"$XL" create "$a" 2>/dev/null & "$XL" create "$b" 2>/dev/null & wait
	expect_log twin-a "counter 1"
	expect_log twin-b "counter 1"
	ida=$(domain_id twin-a) idb=$(domain_id twin-b)
	[ -n "$ida" ] && [ -n "$idb" ] && [ "$ida" != "$idb" ] || fail "IDs '$ida' and '$idb' are not distinct"
	[ "$("$XL" domname "$ida")" = twin-a ] || fail "xl domname $ida is not twin-a"
	"$XL" destroy twin-a
	log_has twin-b "counter" && domain_listed twin-b || fail "destroying twin-a took twin-b with it"
	"$XL" destroy twin-b
}

test_same_name_twice_refused() {
	local cfg; cfg=$(make_cfg only 'cmdline = "test=counter"')
	"$XL" create "$cfg" 2>/dev/null
	if "$XL" create "$cfg" 2>"$WORK/err"; then fail "a second domain named 'only' was created"; fi
	grep -q "only" "$WORK/err" || fail "the refusal does not name the domain: $(cat "$WORK/err")"
	[ "$("$XL" list | grep -c '^only ')" = 1 ] || fail "xl list shows 'only' more than once"
	"$XL" destroy only
}

vmm_fds() { ls "/proc/$(pgrep -f -- "xenith-vmm.*$XENITH_RUNDIR.*--name $1 ")/fd" | wc -l; }

test_twenty_cycles_leave_nothing() {
	need_xenstore_utils
	local cfg witness i fds_before fds_after
	# A domain that lives through the cycles shows whether anything leaks into other domains' VMMs.
	witness=$(make_cfg witness 'cmdline = "test=counter"')
	"$XL" create "$witness" 2>/dev/null
	fds_before=$(vmm_fds witness)
	cfg=$(make_cfg cycle 'cmdline = "test=counter"')
	for i in $(seq 20); do
		"$XL" create "$cfg" 2>/dev/null || fail "create $i failed"
		"$XL" destroy cycle || fail "destroy $i failed"
	done
	wait_for 5 vmm_count_is 1 ||
		fail "$(vmm_count) VMM processes left after 20 cycles (1 expected: the witness)"
	fds_after=$(vmm_fds witness)
	[ "$fds_after" = "$fds_before" ] || fail "witness VMM's fds went from $fds_before to $fds_after"
	# xenstore keeps only the witness: every cycled domain took its nodes with it.
	local in_store; in_store=$(XENSTORED_PATH="$XENITH_RUNDIR/xenstored/socket" xenstore-list /local/domain | tr '\n' ' ')
	[ "$in_store" = "$(domain_id witness) " ] || fail "/local/domain holds '$in_store' after the cycles"
	local vms; vms=$(XENSTORED_PATH="$XENITH_RUNDIR/xenstored/socket" xenstore-list /vm | wc -l)
	[ "$vms" = 1 ] || fail "/vm holds $vms entries after the cycles (1 expected)"
	"$XL" destroy witness
	wait_for 5 no_vmm_left || fail "VMMs left: $(vmm_count)"
	[ -z "$(ls -A "$XENITH_RUNDIR/domains")" ] || fail "left in domains/: $(ls -A "$XENITH_RUNDIR/domains")"
	local extra; extra=$(ls -A "$XENITH_RUNDIR" | grep -vxE 'domains|log|work|domid.lock|last-domid|xenstored|xenstored.lock' || true)
	[ -z "$extra" ] || fail "unexpected run-dir files: $extra"
	# One console log and one VMM log per name, plus the previous console log.
	[ "$(ls "$XENITH_RUNDIR/log" | grep -c cycle)" -le 3 ] || fail "logs pile up: $(ls "$XENITH_RUNDIR/log")"
}

run_tests
