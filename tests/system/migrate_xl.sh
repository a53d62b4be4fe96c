#!/bin/bash
# xl save, restore, migrate and migrate-receive without KVM (issue 12): the VMM is a stand-in
# (migrate_standin_vmm.py: the real stream format, `save` with SCM_RIGHTS, --restore-fd), the rest
# is real: bin/xl, its stream head, the run directories, and two Dom0s in two network namespaces
# (examples/migrate/two-dom0.sh) joined by examples/migrate/ns-ssh as the SSHCOMMAND.
#  - save -> restore: a new domid, the same name, running; save -c runs on; save -p stays paused
#  - restore of a corrupt, truncated or foreign file, or with the name in use: refused with the
#    reader's message, nothing spawned, nothing left
#  - migrate A -> B: on B, gone from A; 10 times back and forth
#  - target refuses (name in use), target VMM killed mid-stream, stream cut, SSHCOMMAND failing:
#    the source still listed, answering info, running; nothing left on B
. "$(dirname "$0")/testlib.bash"
NEEDS_KVM=0

STANDIN="$ROOT/tests/system/migrate_standin_vmm.py"
TWO_DOM0="$ROOT/examples/migrate/two-dom0.sh"
NS_SSH="$ROOT/examples/migrate/ns-ssh"
PY=/usr/bin/python3
export TWO_DOM0_A="xm$$-a" TWO_DOM0_B="xm$$-b" TWO_DOM0_BASE="$XENITH_RUNDIR/hosts"
export XENITH_BIN
XENITH_BIN=$(dirname "$XL")
A=$TWO_DOM0_A
B=$TWO_DOM0_B

setup() {
	need ip iproute2
	[ -x "$PY" ] || skip "no $PY (Debian's python3)"
	cat >"$WORK/xenith-vmm-standin" <<-EOF2
	#!/bin/bash
	exec -a xenith-vmm "$PY" "$STANDIN" "\$@"
	EOF2
	chmod +x "$WORK/xenith-vmm-standin"
	export XENITH_VMM="$WORK/xenith-vmm-standin" XENITH_KVM_DEVICE=/dev/null
	echo "a stand-in boots nothing" >"$WORK/kernel"
	"$TWO_DOM0" down
	"$TWO_DOM0" up || fail "two-dom0.sh up failed"
}
teardown() {
	local h
	for h in "$A" "$B"; do
		for d in "$TWO_DOM0_BASE/$h"/domains/[0-9]*; do
			[ -e "$d" ] && on "$h" destroy "$(basename "$d")" >/dev/null 2>&1 || true
		done
	done
	"$TWO_DOM0" down
}

# on HOST XL-ARGS...: xl in HOST's namespace and run directory.
on() { local h=$1; shift; ip netns exec "$h" env XENITH_RUNDIR="$TWO_DOM0_BASE/$h" "$XL" "$@"; }
# run_on TAG HOST XL-ARGS...: bounded, output in $WORK/TAG.out/.err, status in BOUNDED_RC.
run_on() { local tag=$1 h=$2; shift 2; bounded 60 "$tag" ip netns exec "$h" env XENITH_RUNDIR="$TWO_DOM0_BASE/$h" "$XL" "$@"; }
row_of() { on "$1" list 2>/dev/null | awk -v n="$2" '$1 == n' | tr -s ' ' ' '; }
listed_on() { [ -n "$(row_of "$1" "$2")" ]; }
state_on() { row_of "$1" "$2" | awk '{ print $5 }'; }
id_on() { row_of "$1" "$2" | awk '{ print $2 }'; }
vmms_on() { pgrep -fc -- "xenith-vmm.*--rundir $TWO_DOM0_BASE/$1 " || true; }
# Nothing of NAME on HOST: not listed, no VMM, no domain directory or staging, no saved config.
nothing_on() {
	local h=$1 out="" d
	listed_on "$h" "$2" && out="$out listed;"
	[ "$(vmms_on "$h")" = 0 ] || out="$out $(vmms_on "$h") VMM(s);"
	for d in "$TWO_DOM0_BASE/$h"/domains/* "$TWO_DOM0_BASE/$h"/domains/.*; do
		case ${d##*/} in .|..|'*'|'.*') continue ;; esac
		[ -e "$d" ] && out="$out ${d#"$TWO_DOM0_BASE"/};"
	done
	echo "${out# }"
}
# source_fine HOST NAME: listed, running, answering.
source_fine() {
	listed_on "$1" "$2" || fail "$2 is not listed on $1 any more"
	[ "$(state_on "$1" "$2")" = "r-----" ] || fail "$2 on $1 is in state '$(state_on "$1" "$2")', not running"
	run_on info "$1" list -l "$2"
	[ "$BOUNDED_RC" = 0 ] || fail "$2 on $1 does not answer: $(said info err)"
}
create_on() {
	make_cfg "$2" "kernel = \"$WORK/kernel\"" >/dev/null
	run_on create "$1" create "$WORK/$2.cfg"
	[ "$BOUNDED_RC" = 0 ] || fail "xl create $2 on $1: $(said create err)"
}
migrate() { local from=$1 name=$2 to=$3; shift 3; run_on mig "$from" migrate -s "${SSH:-$NS_SSH}" "$@" "$name" "$to"; }

test_save_then_restore_gives_a_new_domid_same_name_running() {
	setup
	create_on "$A" sr
	local old
	old=$(id_on "$A" sr)
	run_on save "$A" save sr "$WORK/sr.save"
	[ "$BOUNDED_RC" = 0 ] || fail "xl save: $(said save err)"
	[ -s "$WORK/sr.save" ] || fail "no save file"
	[ -z "$(ls "$WORK"/sr.save.tmp-* 2>/dev/null)" ] || fail "a temporary file was left"
	[ -z "$(nothing_on "$A" sr)" ] || fail "after save: $(nothing_on "$A" sr)"
	run_on rest "$A" restore "$WORK/sr.save"
	[ "$BOUNDED_RC" = 0 ] || fail "xl restore: $(said rest err)"
	source_fine "$A" sr
	[ "$(id_on "$A" sr)" != "$old" ] || fail "restored with the old domid $old"
	teardown
}

test_save_c_runs_on_and_save_p_stays_paused() {
	setup
	create_on "$A" sc
	local id
	id=$(id_on "$A" sc)
	run_on save "$A" save -c sc "$WORK/sc.save"
	[ "$BOUNDED_RC" = 0 ] || fail "xl save -c: $(said save err)"
	[ -s "$WORK/sc.save" ] || fail "no save file"
	source_fine "$A" sc
	[ "$(id_on "$A" sc)" = "$id" ] || fail "save -c changed the domid"
	run_on save "$A" save -p sc "$WORK/sc.save"
	[ "$BOUNDED_RC" = 0 ] || fail "xl save -p: $(said save err)"
	[ "$(state_on "$A" sc)" = "--p---" ] || fail "after save -p the state is '$(state_on "$A" sc)'"
	teardown
}

test_restore_refuses_bad_files_before_spawning_anything() {
	setup
	create_on "$A" bf
	run_on save "$A" save bf "$WORK/bf.save"
	[ "$BOUNDED_RC" = 0 ] || fail "xl save: $(said save err)"
	local size
	size=$(stat -c %s "$WORK/bf.save")
	head -c $((size - 3000)) "$WORK/bf.save" >"$WORK/truncated.save"
	cp "$WORK/bf.save" "$WORK/corrupt.save"
	printf '\x55' | dd of="$WORK/corrupt.save" bs=1 seek=$((size - 5000)) conv=notrunc status=none
	echo 'name = "bf"' >"$WORK/foreign.save"
	: >"$WORK/empty.save"
	local f pat
	for f in truncated:truncated corrupt:checksum foreign:"not a Xenith save stream" empty:truncated; do
		pat=${f#*:}
		run_on rest "$A" restore "$WORK/${f%%:*}.save"
		[ "$BOUNDED_RC" != 0 ] || fail "restore of the ${f%%:*} file succeeded"
		grep -q -- "$pat" "$WORK/rest.err" || fail "restore of the ${f%%:*} file said: $(said rest err) (expected '$pat')"
		[ -z "$(nothing_on "$A" bf)" ] || fail "after the ${f%%:*} file: $(nothing_on "$A" bf)"
	done
	teardown
}

test_restore_refuses_a_name_in_use() {
	setup
	create_on "$A" nu
	run_on save "$A" save -c nu "$WORK/nu.save"
	[ "$BOUNDED_RC" = 0 ] || fail "xl save -c: $(said save err)"
	run_on rest "$A" restore "$WORK/nu.save"
	[ "$BOUNDED_RC" != 0 ] || fail "restore over a running namesake succeeded"
	grep -q "already exists" "$WORK/rest.err" || fail "restore said: $(said rest err)"
	[ "$(vmms_on "$A")" = 1 ] || fail "$(vmms_on "$A") VMMs on $A, not 1"
	source_fine "$A" nu
	teardown
}

test_migrate_moves_the_domain_and_back_ten_times() {
	setup
	create_on "$A" mv
	local i from=$A to=$B t
	for i in $(seq 10); do
		migrate "$from" mv "$to"
		[ "$BOUNDED_RC" = 0 ] || fail "migration $i ($from -> $to): $(said mig err)"
		source_fine "$to" mv
		[ -z "$(nothing_on "$from" mv)" ] || fail "after migration $i, on $from: $(nothing_on "$from" mv)"
		t=$from; from=$to; to=$t
	done
	grep -q "round 0" "$WORK/mig.err" || fail "no progress lines on xl's stderr: $(said mig err)"
	migrate "$from" mv "$to" --debug
	[ "$BOUNDED_RC" = 0 ] || fail "migration with --debug: $(said mig err)"
	teardown
}

test_migrate_refused_by_the_target_keeps_the_source() {
	setup
	create_on "$A" rf
	create_on "$B" rf
	migrate "$A" rf "$B"
	[ "$BOUNDED_RC" != 0 ] || fail "migration onto a namesake succeeded"
	grep -q "refused: .*already exists" "$WORK/mig.err" || fail "xl migrate said: $(said mig err)"
	source_fine "$A" rf
	[ "$(vmms_on "$B")" = 1 ] || fail "$(vmms_on "$B") VMMs on $B, not its own 1"
	teardown
}

test_migrate_target_vmm_killed_mid_stream_keeps_the_source() {
	setup
	create_on "$A" tk
	STANDIN_RESTORE_DIE_AFTER=3 migrate "$A" tk "$B"
	[ "$BOUNDED_RC" != 0 ] || fail "migration to a killed target succeeded"
	source_fine "$A" tk
	[ -z "$(nothing_on "$B" tk)" ] || fail "on $B: $(nothing_on "$B" tk)"
	teardown
}

test_migrate_stream_cut_keeps_the_source() {
	local t0=$SECONDS
	setup
	create_on "$A" sc
	cat >"$WORK/cut-ssh" <<-EOF2
	#!/bin/bash
	dd bs=1 count=20000 status=none | "$NS_SSH" "\$@"
	EOF2
	chmod +x "$WORK/cut-ssh"
	SSH="$WORK/cut-ssh" migrate "$A" sc "$B"
	[ "$BOUNDED_RC" != 0 ] || fail "a cut migration succeeded"
	grep -q "truncated" "$WORK/mig.err" || fail "the cut was not seen mid-stream: $(said mig err)"
	[ $((SECONDS - t0)) -lt 20 ] || fail "the cut took $((SECONDS - t0)) s to notice: $(said mig err)"
	source_fine "$A" sc
	wait_for 10 test -z "$(nothing_on "$B" sc)" || fail "on $B: $(nothing_on "$B" sc)"
	teardown
}

test_migrate_with_a_failing_sshcommand_keeps_the_source() {
	setup
	create_on "$A" sf
	SSH=false migrate "$A" sf "$B"
	[ "$BOUNDED_RC" != 0 ] || fail "migration through 'false' succeeded"
	grep -q "closed" "$WORK/mig.err" || fail "xl migrate said: $(said mig err)"
	source_fine "$A" sf
	migrate "$A" sf "no-such-host-$$"
	[ "$BOUNDED_RC" != 0 ] || fail "migration to a missing host succeeded"
	grep -q "no network namespace" "$WORK/mig.err" || fail "xl migrate said: $(said mig err)"
	source_fine "$A" sf
	[ -z "$(nothing_on "$B" sf)" ] || fail "on $B: $(nothing_on "$B" sf)"
	teardown
}

trap 'teardown >/dev/null 2>&1; finish' EXIT
run_tests
