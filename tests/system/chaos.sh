# Chaos (issue 10): N domains, each with a vif on a bridge and a disk, under network load (the host
# pings the net-echo guests) and disk load (blk-pattern rounds without end), while at random one of
# Dom0's parts is killed each round: a VMM (SIGKILL), xenstored (SIGKILL), or an xl command in
# flight (`xl list`, `xl create`, `xl network-attach`, by SIGINT or SIGKILL).  Domains that died
# are created again, under the same name and disk.  Every round, every survivor must answer
# `xl list` (listed under its domid, not marked as not answering) and have its xenstore home.
# Afterwards everything is destroyed and nothing may be left: no VMM, no xenstored fd beyond its
# baseline, no TAP, no home or backend directory in xenstore, nothing in the run dir's domains/,
# no run-dir file but the usual ones and logs.
#
# The seed is printed; XENITH_CHAOS_SEED=N repeats a run's choices (not its timing),
# XENITH_CHAOS_ROUNDS changes the number of rounds (20).
# shellcheck source=tests/system/testlib.bash
. "$(dirname "$0")/testlib.bash"
export PYTHONPATH="$ROOT/tests/system"

N=4
ROUNDS=${XENITH_CHAOS_ROUNDS:-20}
SEED=${XENITH_CHAOS_SEED:-$RANDOM}
# What `xl list` says on stderr about a domain whose VMM does not answer (src/xl/xl_info.c).
NOT_ANSWERING='not answering'
BOUND=10        # s: a killed part noticed, a home back, a leftover gone
CMD_BOUND=30    # s: any one xl command
SPARE=chaos-x   # the domain whose `xl create` is interrupted

# Domain I (1..N, or 9 for the spare): its disk, its address 10.0.0.(10+I), its workload.
chaos_cfg() {
	local name=$1 i=$2 work
	[ -e "$WORK/$name.img" ] || truncate -s 4M "$WORK/$name.img"
	if [ $((i % 2)) = 1 ]; then work="test=net-echo"; else work="test=blk-pattern rounds=0 seed=$i"; fi
	make_cfg "$name" "cmdline = \"$work\"" "vif = [ 'bridge=xbr0,ip=10.0.0.$((10 + i))/24' ]" \
		"disk = [ '$WORK/$name.img,raw,xvda,rw' ]"
}

# create_domain NAME I WHY: xl create, which must succeed; records the domain as alive.
create_domain() {
	local cfg; cfg=$(chaos_cfg "$1" "$2")
	xl_ns create "$cfg" >"$WORK/create.out" 2>&1 ||
		fail "$3: xl create $1 failed: $(tr '\n' ' ' <"$WORK/create.out")"
	ALIVE[$1]=$(domain_id "$1") || fail "$3: xl create $1 succeeded, but xl domid $1 fails"
}

# ms_to_s MS: "S.mmm" for sleep.
ms_to_s() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }

# pick_alive: one of the live domains' names, at random, into PICKED ("" if none).  Not in $(...):
# a subshell's RANDOM would not follow the seed.
PICKED=""
pick_alive() {
	local names
	mapfile -t names < <(printf '%s\n' "${!ALIVE[@]}" | sort)
	PICKED=""
	[ ${#names[@]} -eq 0 ] || PICKED=${names[RANDOM % ${#names[@]}]}
}
# pick_signal: INT or KILL, at random, into SIG.
SIG=INT
pick_signal() { if ((RANDOM % 2)); then SIG=INT; else SIG=KILL; fi; }

# in_flight TAG SIGNAL DELAY_MS COMMAND...: COMMAND started, then SIGNAL after DELAY_MS (SIGINT to
# its process group as Ctrl-C would, SIGKILL to the process); its status goes to WAIT_RC.
in_flight() {
	local tag=$1 sig=$2 ms=$3 pid
	shift 3
	start_interruptible pid "$WORK/$tag.out" "$@"
	sleep "$(ms_to_s "$ms")"
	if [ "$sig" = INT ]; then kill -INT -- "-$pid" 2>/dev/null || true; else kill -KILL "$pid" 2>/dev/null || true; fi
	wait_bounded "$CMD_BOUND" "$pid" "$tag, sent SIG$sig after $ms ms,"
}

# whole NAME: listed, answering, with its home; still so half a second later (a VMM tearing down
# what an interrupted create began can look whole for a moment).
whole_now() {
	local id; id=$(domain_id "$1") || return 1
	domain_listed "$1" && [ -n "$(vmm_pid_of "$1")" ] && xs_read_is "/local/domain/$id/name" "$1"
}
whole() { whole_now "$1" && sleep 0.5 && whole_now "$1"; }
whole_or_gone() { nothing_left_of "$1" || whole "$1"; }

# One round's fault; NOTE says what it was (printed, and in every failure message).
NOTE=""
fault_vmm() {
	local victim pid
	pick_alive
	victim=$PICKED
	[ -n "$victim" ] || { NOTE="no domain to kill"; return 0; }
	pid=$(vmm_pid_of "$victim")
	NOTE="SIGKILL of $victim's VMM (domid ${ALIVE[$victim]}, pid ${pid:-none})"
	[ -n "$pid" ] || fail "$NOTE: $victim is believed alive but has no VMM"
	kill -KILL "$pid"
	wait_for 5 pid_dead "$pid" || fail "$NOTE: the VMM survived SIGKILL"
	unset "ALIVE[$victim]"
}
fault_xenstored() {
	local pid; pid=$(xenstored_pid)
	NOTE="SIGKILL of xenstored (pid ${pid:-none})"
	[ -z "$pid" ] && return 0     # killed last round and not yet needed again
	kill -KILL "$pid"
	wait_for 5 pid_dead "$pid" || fail "$NOTE: xenstored survived SIGKILL"
}
fault_xl_list() {
	local sig=$1 ms=$((RANDOM % 300))
	NOTE="SIG$sig of xl list after $ms ms"
	in_flight list "$sig" "$ms" "$XL" list
}
fault_xl_create() {
	local sig=$1 ms=$((RANDOM % 1500)) cfg
	if [ -n "${ALIVE[$SPARE]:-}" ]; then
		"$XL" destroy "$SPARE" >"$WORK/destroy.out" 2>&1 ||
			fail "destroying $SPARE before its next create: $(tr '\n' ' ' <"$WORK/destroy.out")"
		unset "ALIVE[$SPARE]"
	fi
	NOTE="SIG$sig of xl create $SPARE after $ms ms"
	cfg=$(chaos_cfg "$SPARE" 9)
	in_flight create "$sig" "$ms" ip netns exec "$NETNS" "$XL" create "$cfg"
	NOTE="$NOTE (exit $WAIT_RC)"
	# Success said means whole.  Interrupted by SIGINT means nothing left; by SIGKILL, which may
	# land after the VMM said ok and before xl could say anything, whole or nothing left.
	if [ "$WAIT_RC" = 0 ]; then
		whole "$SPARE" || fail "$NOTE: xl create exited 0, but $SPARE is not whole (listed, with a VMM and a home)"
	elif [ "$sig" = INT ]; then
		wait_for "$BOUND" nothing_left_of "$SPARE" ||
			fail "$NOTE: interrupted, but $BOUND s later left: $(leftovers_of "$SPARE")"
		return 0
	else
		wait_for "$BOUND" whole_or_gone "$SPARE" ||
			fail "$NOTE: neither whole nor gone $BOUND s later; left: $(leftovers_of "$SPARE")"
		nothing_left_of "$SPARE" && return 0
		NOTE="$NOTE, created whole before the kill"
	fi
	ALIVE[$SPARE]=$(domain_id "$SPARE")
}
fault_xl_network_attach() {
	local sig=$1 ms=$((RANDOM % 500)) target
	pick_alive
	target=$PICKED
	[ -n "$target" ] || { NOTE="no domain to attach to"; return 0; }
	NOTE="SIG$sig of xl network-attach $target after $ms ms"
	in_flight attach "$sig" "$ms" ip netns exec "$NETNS" "$XL" network-attach "$target" bridge=xbr0
	NOTE="$NOTE (exit $WAIT_RC)"
}

# start_xenstored_by_a_domain: a domain created and destroyed, which leaves xenstored running.
start_xenstored_by_a_domain() {
	xl_ns create "$(make_cfg chaos-start 'cmdline = "test=counter"')" >"$WORK/create.out" 2>&1 ||
		fail "creating the domain that starts xenstored: $(tr '\n' ' ' <"$WORK/create.out")"
	"$XL" destroy chaos-start >"$WORK/destroy.out" 2>&1 || fail "xl destroy chaos-start: $(tr '\n' ' ' <"$WORK/destroy.out")"
	[ -n "$(xenstored_pid)" ] || fail "no xenstored after a domain was created"
}

# survivors_answer: xl list answers, showing every live domain under its domid, none marked; and
# each has its home in xenstore (back within BOUND s if xenstored was just killed).
survivors_answer() {
	local name id marked
	bounded "$CMD_BOUND" list "$XL" list
	[ "$BOUNDED_RC" = 0 ] || fail "round $1 ($NOTE): xl list exited $BOUNDED_RC: $(said list err)"
	for name in "${!ALIVE[@]}"; do
		id=${ALIVE[$name]}
		grep -qE "^$name +$id " "$WORK/list.out" ||
			fail "round $1 ($NOTE): survivor $name (domid $id) is not in xl list: $(said list out)"
		# A row with one of xl's six state flags, as an answering domain has (xl.sh checks the form).
		grep -qE "^$name +$id +[0-9]+ +[0-9]+ +[-rbpscd]{6} " "$WORK/list.out" ||
			fail "round $1 ($NOTE): survivor $name's row in xl list is marked: $(grep -E "^$name " "$WORK/list.out")"
		marked=$(grep -F -- "$NOT_ANSWERING" "$WORK/list.err" || true)
		if grep -qF "($name)" <<<"$marked"; then
			fail "round $1 ($NOTE): xl list says survivor $name is $NOT_ANSWERING: $marked"
		fi
		wait_for "$BOUND" xs_read_is "/local/domain/$id/name" "$name" ||
			fail "round $1 ($NOTE): survivor $name has no home in xenstore (/local/domain/$id/name: '$(xs xenstore-read "/local/domain/$id/name" 2>&1)')"
	done
}

test_chaos_leaves_nothing_behind() {
	need_xenstore_utils
	need python3
	need setsid util-linux
	trap undo_faults EXIT
	echo "# chaos seed $SEED, $ROUNDS rounds (XENITH_CHAOS_SEED=$SEED repeats the choices)"
	RANDOM=$SEED
	make_bridge_netns chaos
	declare -A ALIVE=()
	local i r name xsd baseline

	# xenstored as a domain's creation starts it, and its fds with no domain at all: the baseline.
	start_xenstored_by_a_domain
	xsd=$(xenstored_pid)
	baseline=$(steady_fds "$xsd")

	for i in $(seq "$N"); do create_domain "chaos-$i" "$i" "start"; done
	for i in $(seq "$N"); do
		if [ $((i % 2)) = 1 ]; then
			expect_log "chaos-$i" "net: eth0 .* up" 60
			ip netns exec "$NETNS" ping -q -i 0.2 "10.0.0.$((10 + i))" >/dev/null 2>&1 &
			track_bg "$!"
		else
			expect_log "chaos-$i" "blk: xvda sectors" 60
		fi
	done

	for r in $(seq "$ROUNDS"); do
		pick_signal
		case $((RANDOM % 6)) in
		0|1) fault_vmm ;;
		2) fault_xenstored ;;
		3) fault_xl_list "$SIG" ;;
		4) fault_xl_create "$SIG" ;;
		5) fault_xl_network_attach "$SIG" ;;
		esac
		echo "# round $r: $NOTE"
		survivors_answer "$r"
		for i in $(seq "$N"); do
			[ -n "${ALIVE[chaos-$i]:-}" ] || create_domain "chaos-$i" "$i" "round $r ($NOTE), creating chaos-$i again"
		done
	done

	stop_bg
	for name in "${!ALIVE[@]}"; do
		bounded "$CMD_BOUND" destroy "$XL" destroy "$name"
		[ "$BOUNDED_RC" = 0 ] || fail "after the rounds: xl destroy $name exited $BOUNDED_RC: $(said destroy err)"
	done
	bounded "$CMD_BOUND" list "$XL" list
	[ "$BOUNDED_RC" = 0 ] || fail "after the rounds: xl list exited $BOUNDED_RC: $(said list err)"
	local others; others=$(awk 'NR > 1 && $1 != "Domain-0" { print $1 }' "$WORK/list.out" | tr '\n' ' ')
	[ -z "$others" ] || fail "after destroying every domain the test made, xl list still shows: $others"
	wait_for "$BOUND" no_vmm_left ||
		fail "xenith-vmm processes left: $(pgrep -a -f -- "xenith-vmm.*$XENITH_RUNDIR" | cut -c1-200 | tr '\n' ';')"
	# Killed in the last round and not needed since: started the usual way again, so that what
	# it keeps (or reloads) can be looked at.
	[ -n "$(xenstored_pid)" ] || start_xenstored_by_a_domain
	xsd=$(xenstored_pid)
	wait_for "$BOUND" fds_of_is "$xsd" "$baseline" ||
		fail "xenstored (pid $xsd) holds $(fds_of "$xsd") fds with no domain left; with none at the start it held $baseline"
	local taps; taps=$(taps_in_ns)
	[ -z "$taps" ] || fail "TAPs left in the namespace: $taps"
	local homes backends vms
	homes=$(xs_domids) backends=$(xs_backend_dirs)
	vms=$( { xs xenstore-list /vm 2>/dev/null || true; } | tr '\n' ' ')
	[ -z "$homes" ] || fail "homes left in xenstore's /local/domain besides 0: $homes"
	[ -z "$backends" ] || fail "backend directories left in Dom0's home: $backends"
	[ -z "${vms// /}" ] || fail "entries left in xenstore's /vm: $vms"
	local left; left=$(ls -A "$XENITH_RUNDIR/domains")
	[ -z "$left" ] || fail "left in the run dir's domains/: $left"
	left=$(rundir_extras)
	[ -z "$left" ] || fail "unexpected files in the run dir: $left"
}

run_tests
