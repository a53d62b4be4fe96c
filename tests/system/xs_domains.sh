# Domains as xenstored sees them: introduced when built, released when they end (firing
# @introduceDomain and @releaseDomain), their nodes gone afterwards, and moved on a restart.
. "$(dirname "$0")/testlib.bash"
export XENSTORED_PATH="$XENITH_RUNDIR/xenstored/socket"

test_introduce_and_release_fire_watches() {
	need_xenstore_utils
	local cfg; cfg=$(make_cfg watched 'cmdline = "test=counter"')
	# The first domain starts xenstored; the watches go on before the domain of interest.
	"$XL" create "$(make_cfg starter 'cmdline = "test=counter"')" 2>/dev/null
	expect_log starter "counter 1"
	timeout 20 xenstore-watch -n 2 @introduceDomain >"$WORK/intro" 2>&1 &
	local intro=$!
	timeout 20 xenstore-watch -n 2 @releaseDomain >"$WORK/release" 2>&1 &
	local release=$!
	sleep 0.5
	"$XL" create "$cfg" 2>/dev/null
	expect_log watched "counter 1"
	local id; id=$(domain_id watched)
	[ "$(xenstore-read /local/domain/$id/name)" = watched ] || fail "no /local/domain/$id/name"
	"$XL" destroy watched
	wait "$intro" || fail "@introduceDomain did not fire for the new domain: $(cat "$WORK/intro")"
	wait "$release" || fail "@releaseDomain did not fire on destroy: $(cat "$WORK/release")"
	if xenstore-read /local/domain/$id/name >/dev/null 2>&1; then fail "/local/domain/$id outlived its domain"; fi
	"$XL" destroy starter
}

test_restart_moves_nodes_to_new_domid() {
	need_xenstore_utils
	local cfg id1 id2; cfg=$(make_cfg mover 'cmdline = "test=control"' 'on_reboot = "restart"')
	"$XL" create "$cfg" 2>/dev/null
	expect_log mover "control: ready"
	id1=$(domain_id mover)
	"$XL" reboot mover || fail "xl reboot failed"
	# The control test stays up after it comes back, so its new nodes can be read at leisure.
	wait_for 20 log_count_at_least mover "control: ready" 2 || fail "mover did not come back"
	id2=$(domain_id mover)
	[ "$id1" != "$id2" ] || fail "the reboot kept domid $id1"
	[ "$(xenstore-read /local/domain/$id2/name 2>/dev/null)" = mover ] || fail "/local/domain/$id2/name is not 'mover'"
	[ "$(xenstore-read /local/domain/$id2/domid 2>/dev/null)" = "$id2" ] || fail "/local/domain/$id2/domid is wrong"
	if xenstore-read /local/domain/$id1/name >/dev/null 2>&1; then fail "/local/domain/$id1 outlived its incarnation"; fi
	"$XL" destroy mover
	[ -z "$(xenstore-list /local/domain 2>/dev/null)" ] || fail "left in /local/domain: $(xenstore-list /local/domain | tr '\n' ' ')"
}

run_tests
