#!/bin/bash
# The benches' host-ceiling rows (issue 14), a smoke run of each in quick mode; no /dev/kvm needed.
#  - net-host-ceiling: bench/net.sh (BENCH_QUICK=1, 5000 datagrams a row) exits 0 and prints
#    `host veth` and `host tap` rows, unpaced and paced, at 64 and 1448 bytes, each with numeric
#    packets, pkt/s, Mbit/s, offered/s, loss % and CPU per packet; without /dev/kvm also its
#    `guest rows: SKIP` line.
#  - blk-host-ceiling: bench/blk.sh (BENCH_QUICK=1, 2000 requests) exits 0 and prints, for each mode
#    at depths 1 and 32, numeric fio IOPS, MB/s and CPU per request; without /dev/kvm its guest SKIP
#    line, with it numeric guest IOPS on the depth-1 rows.
#  - rings-backend-alone: bench/rings.sh (QUICK=1, 1 s a row) exits 0 and prints every net row
#    (tx and rx, 64 and 1448 bytes, POLL_US 50 and 0) and every blk row (randread and randwrite,
#    depth 1 and 32, io_uring and threads, POLL_US 50 and 0) with numeric rate, events, CPU, kicks
#    and sleeps, and numeric fio figures beside the blk rows unless it said fio is missing; an
#    io_uring row may instead say SKIP with the kernel's refusal (never a threads row).
# The figures' values are not checked: these are benchmarks.  Both scripts make and remove their
# own namespaces, TAPs and temp dirs.
. "$(dirname "$0")/testlib.bash"
NEEDS_KVM=0

need_root_netns() {
	[ "$(id -u)" = 0 ] || skip "not root (network namespaces need it)" || return 1
	need ip "iproute2" || return 1
	local probe=xbc$$
	ip netns add "$probe" 2>"$WORK/netns.err" || skip "cannot make a network namespace: $(cat "$WORK/netns.err")" || return 1
	ip netns del "$probe"
	[ -c /dev/net/tun ] || skip "no /dev/net/tun (the TAP row needs it)"
}

# count_rows FILE REGEX: how many lines of FILE match REGEX (0 when none).
count_rows() { grep -cE -- "$2" "$1" || true; }

test_net_host_ceiling() {
	need_root_netns
	need cc "gcc; scripts/install-deps"
	local out=$WORK/net.out rc=0 size path num='[0-9]+' dec='[0-9]+(\.[0-9]+)?'
	BENCH_QUICK=1 HOST_COUNT=5000 COUNT=5000 SIZES=64 timeout 120 bash "$ROOT/bench/net.sh" >"$out" 2>&1 || rc=$?
	[ "$rc" = 0 ] || fail "bench/net.sh exited $rc: $(tail -c 600 "$out")"
	grep -q '^host ceiling: SKIP' "$out" && skip "$(grep -m1 '^host ceiling: SKIP' "$out")"
	for size in 64 1448; do
		for path in veth "veth paced" tap "tap paced"; do
			[ "$(count_rows "$out" "^host $path +$size +$num +$num +$dec +$num +$dec +$dec\$")" = 1 ] ||
				fail "no numeric 'host $path' row at $size B in: $(grep '^host ' "$out" | tr '\n' '|')"
		done
	done
	grep -q '^Issue 14 target' "$out" || fail "no target line"
	if ! have_kvm; then
		grep -q '^guest rows: SKIP: no /dev/kvm' "$out" || fail "no guest SKIP line without /dev/kvm: $(tail -c 300 "$out")"
	fi
}

test_blk_host_ceiling() {
	need cc "gcc; scripts/install-deps"
	need python3
	local out=$WORK/blk.out rc=0 mode depth num='[0-9]+' dec='[0-9]+(\.[0-9]+)?'
	# blk.sh installs Debian's fio itself when it is missing.
	BENCH_QUICK=1 COUNT=2000 timeout 120 bash "$ROOT/bench/blk.sh" >"$out" 2>&1 || rc=$?
	[ "$rc" = 0 ] || fail "bench/blk.sh exited $rc: $(tail -c 600 "$out")"
	grep -q 'fio missing' "$out" && skip "fio could not be installed: $(grep -m2 -B1 'apt-get install failed' "$out" | tr '\n' ' ')"
	grep -q 'fio runs neither' "$out" && skip "$(grep -m1 'fio runs neither' "$out")"
	for mode in seqread seqwrite randread randwrite; do
		for depth in 1 32; do
			[ "$(count_rows "$out" "^$mode +$depth \| .* \| +$num +$dec +$dec \| +")" = 1 ] ||
				fail "no numeric fio figures for $mode at depth $depth in: $(grep -E '^(seq|rand)' "$out" | tr '\n' '|')"
		done
		if have_kvm; then
			[ "$(count_rows "$out" "^$mode +1 \| +$num +$dec ")" = 1 ] || fail "no numeric guest figures for $mode at depth 1"
		fi
	done
	grep -q '^Issue 14 target' "$out" || fail "no target line"
	if ! have_kvm; then
		grep -q '^guest:  SKIP: no /dev/kvm' "$out" || fail "no guest SKIP line without /dev/kvm: $(head -c 600 "$out")"
	fi
}

test_rings_backend_alone() {
	need cc "gcc; scripts/install-deps"
	need python3
	local out=$WORK/rings.out rc=0 dir size poll mode depth engine fio row
	local num='[0-9]+' dec='[0-9]+(\.[0-9]+)?'
	# The program this run built (make check's sanitizer build), not a `make all` of its own.
	[ -x "$BUILD/tests/backend_rings" ] || skip "no $BUILD/tests/backend_rings (make tools builds it)"
	RINGS_BIN=$BUILD/tests/backend_rings QUICK=1 timeout 180 bash "$ROOT/bench/rings.sh" >"$out" 2>&1 || rc=$?
	[ "$rc" = 0 ] || fail "bench/rings.sh exited $rc: $(tail -c 600 "$out")"
	grep -q "^Issue 14: the backends' own ceiling" "$out" || fail "no heading: $(head -c 300 "$out")"
	for dir in tx rx; do
		for size in 64 1448; do
			for poll in 50 0; do
				[ "$(count_rows "$out" "^net-$dir +$size +$poll \| +$num +$dec +$dec +$dec +$num +$num\$")" = 1 ] ||
					fail "no numeric net-$dir row at $size B, poll $poll in: $(grep '^net-' "$out" | tr '\n' '|')"
			done
		done
	done
	fio="$num +$dec"
	grep -qE '^fio (missing|runs neither)' "$out" && fio='- +-'
	for mode in randread randwrite; do
		for depth in 1 32; do
			for engine in io_uring threads; do
				for poll in 50 0; do
					row="^$mode +$depth +$engine +$poll "
					[ "$(count_rows "$out" "$row\| +$num +$dec +$dec +$dec +$num +$num \| +$fio\$")" = 1 ] && continue
					[ "$engine" = io_uring ] && [ "$(count_rows "$out" "$row+SKIP: .+")" = 1 ] && continue
					fail "no numeric $mode row at depth $depth, $engine, poll $poll in: $(grep -E '^rand' "$out" | tr '\n' '|')"
				done
			done
		done
	done
}

run_tests
