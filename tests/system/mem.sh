#!/bin/bash
# Memory and monitoring (issue 11, items 5 and 6).  Without KVM: the real xl's mem-set, mem-max, top
# and uptime against stand-in domains (xl_standin_vmm.py, which logs the requests it gets) whose
# memory nodes are written into a real xenstored as the VMM writes them at creation: the nodes
# mem-set and mem-max write, their refusals in xl's words (nothing written or sent then), the
# request mem-max sends, a stopped xenstored costing a bounded wait, xl top -b's frames and xl
# uptime's lines.  With KVM (skip here): the test guest's balloon follows mem-set 256 -> 64 -> 256,
# the VMM's RSS drops and xl list's Mem column follows.
. "$(dirname "$0")/testlib.bash"
NEEDS_KVM=0

use_test_xenstored
STANDIN="$ROOT/tests/system/xl_standin_vmm.py"

# domain NAME DOMID TARGET-KIB STATIC-MAX-KIB: a stand-in domain "built" with STATIC-MAX, its
# memory nodes, and a /vm entry started an hour and a minute ago.
domain() {
	local name=$1 domid=$2 target=$3 max=$4 vm="/vm/00000000-0000-0000-0000-00000000000$2"
	need python3
	need_xenstore_utils
	[ -n "${XS_PID:-}" ] || start_xenstored
	mkdir -p "$XENITH_RUNDIR/domains"
	python3 "$STANDIN" --rundir "$XENITH_RUNDIR" --name "$name" --domid "$domid" --maxmem-kb "$max" \
		--log "$WORK/requests-$name" >"$WORK/standin-$name" 2>&1 &
	track_bg "$!"
	wait_for 10 grep -qsx ready "$WORK/standin-$name" || fail "stand-in $name did not start: $(cat "$WORK/standin-$name")"
	xs xenstore-write "/local/domain/$domid/name" "$name" "/local/domain/$domid/vm" "$vm" \
		"/local/domain/$domid/memory/target" "$target" "/local/domain/$domid/memory/static-max" "$max" \
		"$vm/start_time" "$(($(date +%s) - 3660)).25"
}

mem_node() { xs xenstore-read "/local/domain/$1/memory/$2" 2>&1; }
requests() { tr '\n' '|' <"$WORK/requests-$1" 2>/dev/null || true; }

test_mem_set_writes_target() {
	domain web 5 131072 262144
	bounded 20 small "$XL" mem-set web 64
	[ "$BOUNDED_RC" = 0 ] && [ ! -s "$WORK/small.out" ] && [ ! -s "$WORK/small.err" ] ||
		fail "mem-set web 64: $BOUNDED_RC $(said small err)"
	[ "$(mem_node 5 target)" = 65536 ] || fail "target after mem-set 64: $(mem_node 5 target)"
	bounded 20 sfx "$XL" mem-set 5 128m
	[ "$(mem_node 5 target)" = 131072 ] || fail "target after mem-set 128m: $(mem_node 5 target) $(said sfx err)"
	bounded 20 kib "$XL" mem-set web 262144k
	[ "$(mem_node 5 target)" = 262144 ] || fail "target after mem-set 262144k: $(mem_node 5 target)"
	bounded 20 bytes "$XL" mem-set web 67108864b
	[ "$(mem_node 5 target)" = 65536 ] || fail "target after mem-set 67108864b: $(mem_node 5 target)"
	[ "$(mem_node 5 static-max)" = 262144 ] || fail "mem-set changed static-max: $(mem_node 5 static-max)"
	# mem-set returns at once and asks the VMM nothing: the guest's balloon reads the target.
	! grep -q mem "$WORK/requests-web" 2>/dev/null || fail "mem-set sent requests: $(requests web)"
}

test_mem_set_refusals() {
	domain db 6 131072 262144
	bounded 20 over "$XL" mem-set db 300
	[ "$BOUNDED_RC" = 1 ] || fail "mem-set above static-max exited $BOUNDED_RC"
	grep -qxF "libxl: error: Domain 6:memory_dynamic_max must be less than or equal to memory_static_max" \
		"$WORK/over.err" || fail "mem-set 300 said: $(said over err)"
	grep -qxF "cannot set domid 6 dynamic max memory to : 300" "$WORK/over.err" || fail "mem-set 300 said: $(said over err)"
	bounded 20 bad "$XL" mem-set db 12x
	[ "$BOUNDED_RC" = 1 ] && grep -qxF "invalid memory size: 12x" "$WORK/bad.err" || fail "mem-set 12x: $BOUNDED_RC $(said bad err)"
	bounded 20 frac "$XL" mem-set db 1.5g
	[ "$BOUNDED_RC" = 1 ] && grep -qxF "invalid memory size: 1.5g" "$WORK/frac.err" || fail "mem-set 1.5g: $(said frac err)"
	bounded 20 nodom "$XL" mem-set nosuch 64
	[ "$BOUNDED_RC" != 0 ] && grep -q nosuch "$WORK/nodom.err" || fail "mem-set of no domain: $BOUNDED_RC $(said nodom err)"
	bounded 20 noarg "$XL" mem-set db
	[ "$BOUNDED_RC" != 0 ] || fail "mem-set without a size succeeded"
	[ "$(mem_node 6 target)" = 131072 ] || fail "a refusal wrote the target: $(mem_node 6 target)"
}

test_mem_max() {
	domain app 7 131072 262144
	bounded 20 set "$XL" mem-max app 200
	[ "$BOUNDED_RC" = 0 ] && [ ! -s "$WORK/set.err" ] || fail "mem-max app 200: $BOUNDED_RC $(said set err)"
	[ "$(mem_node 7 static-max)" = 204800 ] || fail "static-max after mem-max 200: $(mem_node 7 static-max)"
	[ "$(requests app)" = "mem-max 204800|" ] || fail "requests sent: $(requests app)"
	# Now mem-set is held to the new maximum.
	bounded 20 over "$XL" mem-set app 256
	[ "$BOUNDED_RC" = 1 ] || fail "mem-set above the new static-max exited $BOUNDED_RC"
	# Below the target: libxl's refusal, nothing sent.
	bounded 20 low "$XL" mem-max app 64
	[ "$BOUNDED_RC" = 1 ] || fail "mem-max below the target exited $BOUNDED_RC"
	grep -qxF "libxl: error: Domain 7:memory_static_max must be greater than or equal to memory_dynamic_max" \
		"$WORK/low.err" || fail "mem-max 64 said: $(said low err)"
	grep -qxF "cannot set domid 7 static max memory to : 64" "$WORK/low.err" || fail "mem-max 64 said: $(said low err)"
	# Above the RAM the domain was built with: the VMM refuses, static-max stays.
	bounded 20 big "$XL" mem-max app 1g
	[ "$BOUNDED_RC" = 1 ] || fail "mem-max above maxmem exited $BOUNDED_RC"
	grep -qF "above the 262144 KiB the domain was built with" "$WORK/big.err" &&
		grep -qxF "cannot set domid 7 static max memory to : 1g" "$WORK/big.err" || fail "mem-max 1g said: $(said big err)"
	[ "$(mem_node 7 static-max)" = 204800 ] || fail "a refused mem-max wrote static-max: $(mem_node 7 static-max)"
	[ "$(requests app)" = "mem-max 204800|mem-max 1048576|" ] || fail "requests sent: $(requests app)"
	bounded 20 bad "$XL" mem-max app lots
	[ "$BOUNDED_RC" = 1 ] && grep -qxF "invalid memory size: lots" "$WORK/bad.err" || fail "mem-max lots: $(said bad err)"
}

# xl list -l shows the balloon as the VMM reports it: what the guest holds against its maximum.
test_list_long_shows_the_balloon() {
	domain shop 9 131072 262144
	bounded 20 long "$XL" list -l shop
	[ "$BOUNDED_RC" = 0 ] || fail "list -l shop exited $BOUNDED_RC: $(said long err)"
	python3 - "$WORK/long.out" <<'EOF_PY' || fail "list -l shop: $(head -c 600 "$WORK/long.out")"
import json, sys
x = json.load(open(sys.argv[1]))[0]["xenith"]
assert x["mem_kb"] == 32768 and x["maxmem_kb"] == 262144 and x["target_kb"] == 0, x
EOF_PY
}

test_mem_set_bounded_on_a_stopped_xenstored() {
	domain stuck 8 131072 262144
	kill -STOP "$XS_PID"
	bounded 30 stopped "$XL" mem-set stuck 64
	kill -CONT "$XS_PID"
	[ "$BOUNDED_RC" = 1 ] || fail "mem-set with xenstored stopped exited $BOUNDED_RC"
	grep -q "xenstored" "$WORK/stopped.err" || fail "mem-set with xenstored stopped said: $(said stopped err)"
}

test_top_batch_frames() {
	domain web 5 131072 262144
	domain db 6 65536 65536
	bounded 30 top "$XL" top -b -i 2 -d 0.3
	[ "$BOUNDED_RC" = 0 ] || fail "xl top -b exited $BOUNDED_RC: $(said top err)"
	local header='      NAME  STATE   CPU(sec) CPU(%)     MEM(k) MEM(%)  MAXMEM(k) MAXMEM(%) VCPUS NETS NETTX(k) NETRX(k) VBDS   VBD_OO   VBD_RD   VBD_WR  VBD_RSECT  VBD_WSECT SSID'
	[ "$(grep -cxF "$header" "$WORK/top.out")" = 2 ] || fail "headers in two frames: $(said top out)"
	[ "$(wc -l <"$WORK/top.out")" = 6 ] || fail "two frames of two domains: $(said top out)"
	# Sorted by name; the stand-in says -b----, which xentop writes --b---; MEM(k) and MAXMEM(k).
	[ "$(awk 'NR == 2 || NR == 5 { print $1, $2, $5, $7, $9 }' "$WORK/top.out" | sort -u)" = "db --b--- 32768 65536 1" ] ||
		fail "db's rows: $(said top out)"
	[ "$(awk 'NR == 3 || NR == 6 { print $1, $2, $5, $7 }' "$WORK/top.out" | sort -u)" = "web --b--- 32768 262144" ] ||
		fail "web's rows: $(said top out)"
	bounded 20 tty "$XL" top -i 1
	[ "$BOUNDED_RC" = 1 ] && grep -qF "use xl top -b" "$WORK/tty.err" || fail "xl top without -b on a pipe: $BOUNDED_RC $(said tty err)"
	bounded 20 badi "$XL" top -b -i 0
	[ "$BOUNDED_RC" = 1 ] || fail "xl top -i 0 exited $BOUNDED_RC"
}

test_uptime() {
	domain web 5 131072 262144
	bounded 20 all "$XL" uptime
	[ "$BOUNDED_RC" = 0 ] || fail "xl uptime exited $BOUNDED_RC: $(said all err)"
	[ "$(head -1 "$WORK/all.out")" = "$(printf '%-33s %4s %s' Name ID Uptime)" ] || fail "header: $(said all out)"
	grep -qE '^Domain-0 +0 ' "$WORK/all.out" || fail "no Domain-0 line: $(said all out)"
	# Started 3660 s ago: 1:01:00 or a second or two more.
	grep -qE "^$(printf '%-33s %4s' web 5) +1:01:0[0-9]\$" "$WORK/all.out" || fail "web's line: $(said all out)"
	bounded 20 short "$XL" uptime -s web
	grep -qE '^ [0-9]{2}:[0-9]{2}:[0-9]{2} up +1:01, web \(5\)$' "$WORK/short.out" || fail "uptime -s web: $(said short out)"
	[ "$(wc -l <"$WORK/short.out")" = 1 ] || fail "uptime -s printed a header: $(said short out)"
}

# ---- with KVM ----

vmm_rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
list_mem() { "$XL" list "$1" 2>/dev/null | awk -v n="$1" '$1 == n { print $3 }'; }

test_guest_balloons_to_the_target() {
	need_kvm
	local cfg; cfg=$(make_cfg bal 'memory = 256' 'cmdline = "test=balloon"')
	bounded 60 create "$XL" create "$cfg"
	[ "$BOUNDED_RC" = 0 ] || fail "create: $(said create err)"
	wait_for 30 log_has bal "balloon: ready" || fail "the balloon never started: $(tail -5 "$(guest_log bal)")"
	local pid before after
	pid=$(vmm_pid_of bal)
	# Touch the RAM first, so that giving it back shows in the RSS.
	wait_for 30 log_has bal "balloon: touched" || fail "the guest did not touch its RAM"
	before=$(vmm_rss_kb "$pid")
	bounded 20 down "$XL" mem-set bal 64
	[ "$BOUNDED_RC" = 0 ] || fail "mem-set 64: $(said down err)"
	wait_for 30 test "$(list_mem bal)" = 64 || fail "xl list shows $(list_mem bal) MiB after mem-set 64"
	after=$(vmm_rss_kb "$pid")
	[ "$after" -lt $((before - 150 * 1024)) ] || fail "VMM RSS went from $before to $after KiB"
	bounded 20 up "$XL" mem-set bal 256
	wait_for 30 test "$(list_mem bal)" = 256 || fail "xl list shows $(list_mem bal) MiB after mem-set 256"
	log_lacks bal "FAIL" || fail "the guest failed: $(grep FAIL "$(guest_log bal)")"
}

# Needs static-max = maxmem from the VMM's xenstore layout (backends/xenstore_link.c fills max_memory_kb).
test_guest_balloons_up_into_maxmem() {
	need_kvm
	local cfg; cfg=$(make_cfg grow 'memory = 64' 'maxmem = 256' 'cmdline = "test=balloon touch=0"')
	bounded 60 create "$XL" create "$cfg"
	[ "$BOUNDED_RC" = 0 ] || fail "create: $(said create err)"
	wait_for 30 log_has grow "balloon: ready" || fail "the balloon never started: $(tail -5 "$(guest_log grow)")"
	[ "$(list_mem grow)" = 64 ] || fail "xl list shows $(list_mem grow) MiB at start, not 64"
	[ "$(xs xenstore-read "/local/domain/$(domain_id grow)/memory/static-max")" = 262144 ] ||
		fail "static-max is not maxmem"
	bounded 20 up "$XL" mem-set grow 200
	[ "$BOUNDED_RC" = 0 ] || fail "mem-set 200: $(said up err)"
	wait_for 30 test "$(list_mem grow)" = 200 || fail "xl list shows $(list_mem grow) MiB after mem-set 200"
	bounded 20 over "$XL" mem-set grow 300
	[ "$BOUNDED_RC" = 1 ] || fail "mem-set above maxmem exited $BOUNDED_RC"
}

run_tests
