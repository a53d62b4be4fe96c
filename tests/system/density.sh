#!/bin/bash
# Density (issue 16): 200 domains through `xl create`, all in `xl list`, destroyed, nothing left.
#  - kvm-200-idle-domains (needs KVM): real VMMs booting the test guest's `idle` program (16 MiB),
#    each seen blocking, all listed with state 'b'; after `xl destroy` of each: no VMM process, no
#    domains/ entry, no xenstore /local/domain/<id>, no cgroup of theirs.
#  - standin-200-domains-toolstack-leftovers (no KVM): the same through the stand-in VMM
#    (spawn_standin_vmm.py, which xl spawns and which claims its domid as the VMM does), so only
#    the toolstack's side is checked: xl create/list/destroy against a real xenstored, the run
#    directory (domains/, the name index names/), the stand-ins' processes.  It says nothing of the
#    VMM's own teardown.
. "$(dirname "$0")/testlib.bash"
NEEDS_KVM=0
COUNT=${DENSITY_TEST_COUNT:-200}
SPAWN_STANDIN="$ROOT/tests/system/spawn_standin_vmm.py"

# create_all CFG_MAKER: `xl create` of dens-1..dens-COUNT, each cfg from CFG_MAKER NAME.
create_all() {
	local i cfg
	for i in $(seq "$COUNT"); do
		cfg=$("$1" "dens-$i")
		"$XL" create -q "$cfg" >"$WORK/create.out" 2>&1 ||
			fail "xl create dens-$i (of $COUNT): $(cat "$WORK/create.out")"
	done
}

# all_listed_with STATE: every dens-N is in one `xl list`, with STATE in its state column.
all_listed_with() {
	"$XL" list >"$WORK/list.out" 2>"$WORK/list.err" || fail "xl list: $(cat "$WORK/list.err")"
	local listed bad
	listed=$(awk '$1 ~ /^dens-[0-9]+$/' "$WORK/list.out" | wc -l)
	[ "$listed" = "$COUNT" ] || fail "xl list shows $listed of $COUNT domains: $(head -c 600 "$WORK/list.out")"
	bad=$(awk -v s="$1" '$1 ~ /^dens-[0-9]+$/ && $5 != s { print $1 " " $5 }' "$WORK/list.out" | head -5)
	[ -z "$bad" ] || fail "domains not in state $1: $bad"
	[ ! -s "$WORK/list.err" ] || fail "xl list complained: $(head -c 600 "$WORK/list.err")"
}

destroy_all() {
	local i
	for i in $(seq "$COUNT"); do
		"$XL" destroy "dens-$i" >"$WORK/destroy.out" 2>&1 ||
			fail "xl destroy dens-$i: $(cat "$WORK/destroy.out")"
	done
}

# nothing_in_run_dir: no domain directory (staging ones included) and no live name index entry.
nothing_in_run_dir() {
	local left
	left=$(find "$XENITH_RUNDIR/domains" -mindepth 1 -maxdepth 1 -printf '%f ' 2>/dev/null)
	[ -z "$left" ] || fail "left in domains/: $left"
	left=$(find "$XENITH_RUNDIR/names" -mindepth 1 -maxdepth 1 -name '=dens-*' -printf '%f ' 2>/dev/null)
	[ -z "$left" ] || fail "left in the name index names/: $left"
}

# no_domain_nodes: xenstore's /local/domain holds no domain but 0 (xenstore-list of a real xenstored).
no_domain_nodes() {
	local out
	pid_alive "$(xenstored_pid)" || fail "no xenstored of this run directory to ask"
	timeout 10 xenstore-exists /local/domain 2>/dev/null || return 0     # not even the directory
	out=$(timeout 10 xenstore-list /local/domain 2>&1) || fail "xenstore-list /local/domain: $out"
	out=$(grep -vx 0 <<<"$out" | tr '\n' ' ')
	[ -z "$out" ] || fail "xenstore still has /local/domain/ for: $out"
}

idle_cfg() { make_cfg "$1" 'memory = 16' 'cmdline = "test=idle"'; }

test_kvm_200_idle_domains() {
	need_kvm
	need_xenstore_utils
	use_test_xenstored
	local i cgroups=() d
	create_all idle_cfg
	for i in $(seq "$COUNT"); do
		wait_for 20 log_has "dens-$i" "idle: blocking" ||
			fail "dens-$i never blocked: $(tail -c 300 "$(guest_log "dens-$i")" 2>/dev/null | tr '\r\n' '  ')"
	done
	sleep 0.5                   # a vCPU that just printed is seen blocked at the next info
	all_listed_with "-b----"
	for d in "$XENITH_RUNDIR"/domains/[0-9]*; do
		[ -s "$d/cgroup" ] && cgroups+=("$(cat "$d/cgroup")")
	done
	destroy_all
	wait_for 10 no_vmm_left || fail "VMMs left after destroying them all: $(vmm_count)"
	nothing_in_run_dir
	no_domain_nodes
	for d in ${cgroups[@]+"${cgroups[@]}"}; do
		[ ! -e "$d" ] || fail "cgroup $d is still there"
	done
}

# The stand-in, as xl spawns it (tests/system/libvirt_spawn.sh's wrapper).
use_spawned_standin() {
	[ -x /usr/bin/python3 ] || skip "no /usr/bin/python3 for the stand-in VMM"
	cat >"$WORK/xenith-vmm-standin" <<-EOF
	#!/bin/bash
	exec -a xenith-vmm /usr/bin/python3 "$SPAWN_STANDIN" "\$@"
	EOF
	chmod +x "$WORK/xenith-vmm-standin"
	export XENITH_VMM="$WORK/xenith-vmm-standin" XENITH_KVM_DEVICE=/dev/null
	echo "a stand-in boots nothing" >"$WORK/kernel"
}
standin_cfg() {
	printf 'name = "%s"\ntype = "pvh"\nkernel = "%s"\nmemory = 16\n' "$1" "$WORK/kernel" >"$WORK/$1.cfg"
	echo "$WORK/$1.cfg"
}

test_standin_200_domains_toolstack_leftovers() {
	need_xenstore_utils
	use_test_xenstored
	start_xenstored
	use_spawned_standin
	create_all standin_cfg
	all_listed_with "r-----"     # the stand-in's state: a guest at work
	vmm_count_is "$COUNT" || fail "$(vmm_count) stand-in VMMs for $COUNT domains"
	# A second domain of a name in use is refused, found through the name index.
	"$XL" create -q "$(standin_cfg dens-7)" >"$WORK/dup.out" 2>&1 && fail "a second dens-7 was created"
	grep -q "a domain named 'dens-7' already exists (domid [0-9]*)" "$WORK/dup.out" ||
		fail "xl create of a second dens-7 said: $(cat "$WORK/dup.out")"
	destroy_all
	wait_for 10 no_vmm_left || fail "stand-ins left after destroying them all: $(vmm_count)"
	nothing_in_run_dir
	no_domain_nodes
}

run_tests
