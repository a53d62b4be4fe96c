# A domain at the size issue 10 aims at: 64 vCPUs (the limit, DOMAIN_MAX_VCPUS), 8 vifs and 8
# disks.  It boots and works with its last devices (the guest answers ping on eth7; it writes and
# verifies a pattern on the 8th disk, and the host sees the writes there and nowhere else), and xl
# reports it whole (64 vCPUs in `xl list`, 8 rows in `xl network-list` and `xl block-list`).
# One past each limit, a real `xl create` is refused with the config's file:line and starts
# nothing; tests/unit/test_domain_limits.c checks that xl and the VMM agree at every edge (without
# KVM), so only that refusal is here.
# shellcheck source=tests/system/testlib.bash
. "$(dirname "$0")/testlib.bash"
# The refusals need no KVM; the boots say need_kvm.
NEEDS_KVM=0

# DOMAIN_MAX_VCPUS, and DOMAIN_MAX_VIFS = DOMAIN_MAX_DISKS (src/lib/domain_limits.h).
VCPUS=64
MAX_DEVICES=16
DEVICES=8
BOOT_BOUND=120

# big_cfg NAME VCPUS NVIFS NDISKS CMDLINE: the test guest with that many vCPUs, vifs on xbr0 (the
# last one at 10.0.0.9) and 4 MiB disks xvda, xvdb, ...
big_cfg() {
	local name=$1 vcpus=$2 nvifs=$3 ndisks=$4 cmdline=$5 i vifs="" disks="" letters=abcdefghijklmnopqrstuvwxyz
	for ((i = 0; i < nvifs; i++)); do
		if [ "$i" = $((nvifs - 1)) ]; then vifs="$vifs${vifs:+, }'bridge=xbr0,ip=10.0.0.9/24'"
		else vifs="$vifs${vifs:+, }'bridge=xbr0'"; fi
	done
	for ((i = 0; i < ndisks; i++)); do
		[ -e "$WORK/$name-$i.img" ] || truncate -s 4M "$WORK/$name-$i.img"
		disks="$disks${disks:+, }'$WORK/$name-$i.img,raw,xvd${letters:i:1},rw'"
	done
	make_cfg "$name" "cmdline = \"$cmdline\"" "memory = 64" "vcpus = $vcpus" "vif = [ $vifs ]" "disk = [ $disks ]"
}

# device_rows KIND NAME: rows of `xl KIND-list NAME` (those starting with a number); what xl said
# stays in $WORK/KIND-list for the failure message.
device_rows() {
	"$XL" "$1-list" "$2" >"$WORK/$1-list" 2>&1 || true
	grep -c '^[0-9]' "$WORK/$1-list" || true
}
vcpus_listed() { "$XL" list 2>/dev/null | awk -v n="$1" '$1 == n { print $4 }'; }

test_64_vcpus_8_vifs_8_disks_boot_and_answer() {
	need_kvm
	trap undo_faults EXIT
	make_bridge_netns big
	local cfg id i n
	cfg=$(big_cfg big "$VCPUS" "$DEVICES" "$DEVICES" "test=net-echo vif=$((DEVICES - 1))")
	xl_ns create "$cfg" >"$WORK/create" 2>&1 || fail "xl create of $VCPUS vCPUs, $DEVICES vifs and $DEVICES disks failed: $(tr '\n' ' ' <"$WORK/create")"
	expect_log big "net: eth$((DEVICES - 1)) .* ip 10.0.0.9/24 up" "$BOOT_BOUND"
	id=$(domain_id big) || fail "xl domid big failed"
	[ "$(vcpus_listed big)" = "$VCPUS" ] || fail "xl list shows '$(vcpus_listed big)' vCPUs for big, not $VCPUS"
	n=$(device_rows network big)
	[ "$n" = "$DEVICES" ] || fail "xl network-list big shows $n vifs, not $DEVICES: $(tr '\n' ' ' <"$WORK/network-list")"
	n=$(device_rows block big)
	[ "$n" = "$DEVICES" ] || fail "xl block-list big shows $n disks, not $DEVICES: $(tr '\n' ' ' <"$WORK/block-list")"
	for ((i = 0; i < DEVICES; i++)); do
		[ "$(tap_master "vif$id.$i")" = xbr0 ] || fail "vif$id.$i is on '$(tap_master "vif$id.$i")', not xbr0 (TAPs: $(taps_in_ns))"
	done
	in_ns ping -c 3 -W 2 10.0.0.9 >"$WORK/ping" 2>&1 ||
		fail "ping of the guest's eth$((DEVICES - 1)) (10.0.0.9): $(tail -3 "$WORK/ping" | tr '\n' ' ')"
	log_lacks big "FAIL" || fail "the guest failed: $(grep -a FAIL "$(guest_log big)")"
	"$XL" destroy big >"$WORK/destroy" 2>&1 || fail "xl destroy big failed: $(cat "$WORK/destroy")"
	wait_for 10 no_vmm_left || fail "big's VMM still runs 10 s after xl destroy"
	local taps; taps=$(taps_in_ns)
	[ -z "$taps" ] || fail "TAPs left after xl destroy big: $taps"
}

test_64_vcpus_last_of_8_disks_written() {
	need_kvm
	trap undo_faults EXIT
	make_bridge_netns disk
	local cfg i last=$((DEVICES - 1)) letters=abcdefghijklmnop
	# xvda is 51712; each next xvd letter is 16 further (Xen's vdev numbers).
	cfg=$(big_cfg bigdisk "$VCPUS" "$DEVICES" "$DEVICES" "test=blk-pattern vbd=$((51712 + 16 * last)) seed=8")
	xl_ns create "$cfg" >"$WORK/create" 2>&1 || fail "xl create failed: $(tr '\n' ' ' <"$WORK/create")"
	expect_log bigdisk "PASS blk-pattern" "$BOOT_BOUND"
	log_has bigdisk "blk-pattern: wrote and verified 8192 sectors" ||
		fail "no 'wrote and verified 8192 sectors' line: $(grep -a 'blk' "$(guest_log bigdisk)" | tr '\r\n' '  ')"
	wait_for 10 domain_gone bigdisk || fail "bigdisk still listed 10 s after its PASS (it powers off)"
	grep -q "shut down: poweroff" "$(vmm_log bigdisk)" || fail "bigdisk's VMM log does not record a poweroff"
	# The writes went to the 8th image, and only there.
	if cmp -s -n $((4 << 20)) "$WORK/bigdisk-$last.img" /dev/zero; then
		fail "disk $last (xvd${letters:last:1}) is still all zeros after the guest wrote its pattern"
	fi
	for ((i = 0; i < last; i++)); do
		cmp -s -n $((4 << 20)) "$WORK/bigdisk-$i.img" /dev/zero ||
			fail "disk $i (xvd${letters:i:1}) changed, though the guest wrote only to xvd${letters:last:1}"
	done
}

# refused_at_line CFG KEY WHAT LIMIT: xl create CFG fails naming CFG:LINE of KEY and the limit
# ("at most LIMIT"; another error on that line would not do), and starts nothing.
refused_at_line() {
	local cfg=$1 key=$2 what=$3 limit=$4 line
	line=$(grep -n "^$key = " "$cfg" | cut -d: -f1)
	if "$XL" create "$cfg" >"$WORK/refused" 2>&1; then
		"$XL" destroy "$(basename "$cfg" .cfg)" >/dev/null 2>&1 || true
		fail "xl create of $what succeeded"
	fi
	grep -qF "$cfg:$line:" "$WORK/refused" || fail "the refusal of $what does not name $cfg:$line ($key): $(tr '\n' ' ' <"$WORK/refused")"
	grep -qF "at most $limit" "$WORK/refused" || fail "the refusal of $what does not give the limit ($limit): $(tr '\n' ' ' <"$WORK/refused")"
	no_match "$WORK/refused" -E '\.c:[0-9]+' || fail "the refusal of $what names a C source location: $(tr '\n' ' ' <"$WORK/refused")"
	vmm_count_is 0 || fail "a VMM runs after the refusal of $what"
	[ -z "$(ls -A "$XENITH_RUNDIR/domains" 2>/dev/null)" ] || fail "the refusal of $what left domains/$(ls -A "$XENITH_RUNDIR/domains")"
}

test_one_past_each_limit_refused_at_its_line() {
	refused_at_line "$(big_cfg vcpus65 $((VCPUS + 1)) 1 1 test=hello)" vcpus "$((VCPUS + 1)) vCPUs" "$VCPUS"
	refused_at_line "$(big_cfg vifs17 1 $((MAX_DEVICES + 1)) 1 test=hello)" vif "$((MAX_DEVICES + 1)) vifs" "$MAX_DEVICES"
	refused_at_line "$(big_cfg disks17 1 1 $((MAX_DEVICES + 1)) test=hello)" disk "$((MAX_DEVICES + 1)) disks" "$MAX_DEVICES"
}

run_tests
