# Networking the Xen way: vif<domid>.<devid> in Dom0 on a bridge or routed, netfront in the guest.
# Each test works inside a network namespace of its own, made and removed here; traffic only goes to
# that namespace's addresses.
. "$(dirname "$0")/testlib.bash"

net_cfg() {   # NAME CMDLINE VIF...
	local name=$1 cmdline=$2 vifs="" v
	shift 2
	for v in "$@"; do vifs="$vifs${vifs:+, }'$v'"; done
	make_cfg "$name" "cmdline = \"$cmdline\"" "vif = [ $vifs ]"
}

vif_master() { in_ns ip -o link show "$1" 2>/dev/null | grep -o 'master [^ ]*' | awk '{ print $2 }'; }

test_ping_guest_on_bridge() {
	make_bridge_netns br xenbr0
	xl_ns create "$(net_cfg pinged "test=net-echo" 'bridge=xenbr0,ip=10.0.0.2/24')" 2>"$WORK/err" ||
		fail "create: $(cat "$WORK/err")"
	expect_log pinged "net: eth0 .* up"
	local id; id=$(domain_id pinged)
	[ "$(vif_master vif$id.0)" = xenbr0 ] || fail "vif$id.0's master is '$(vif_master vif$id.0)', not xenbr0"
	in_ns ping -c 3 -W 2 10.0.0.2 >"$WORK/ping" 2>&1 || fail "ping 10.0.0.2: $(tail -3 "$WORK/ping")"
	xl_ns destroy pinged
	if in_ns ip link show "vif$id.0" >/dev/null 2>&1; then fail "vif$id.0 outlived its domain"; fi
	drop_netns
}

test_two_guests_ping_each_other() {
	make_bridge_netns pair xenbr0
	xl_ns create "$(net_cfg left "test=net-echo" 'bridge=xenbr0,ip=10.0.0.2/24')" 2>/dev/null
	expect_log left "net: eth0 .* up"
	xl_ns create "$(net_cfg right "test=net-ping dst=10.0.0.2 count=5" 'bridge=xenbr0,ip=10.0.0.3/24')" 2>/dev/null
	expect_log right "PASS net-ping" 30
	drop_netns
}

test_routed_vif() {
	make_bridge_netns route xenbr0
	xl_ns create "$(net_cfg routed "test=net-echo" 'script=vif-route,ip=10.0.1.2')" 2>"$WORK/err" ||
		fail "create: $(cat "$WORK/err")"
	expect_log routed "net: eth0 .* up"
	local id; id=$(domain_id routed)
	local routes; routes=$(in_ns ip route show) || fail "ip route show failed"
	grep -q "10.0.1.2 dev vif$id.0" <<<"$routes" || fail "no route to 10.0.1.2 via vif$id.0: $routes"
	in_ns ping -c 3 -W 2 10.0.1.2 >"$WORK/ping" 2>&1 || fail "ping 10.0.1.2 (routed): $(tail -3 "$WORK/ping")"
	xl_ns destroy routed
	routes=$(in_ns ip route show) || fail "ip route show failed"
	! grep -q "10.0.1.2" <<<"$routes" || fail "the route outlived the domain: $routes"
	drop_netns
}

test_missing_bridge_refused_cleanly() {
	make_bridge_netns nobr xenbr0
	if xl_ns create "$(net_cfg nobridge "test=net-echo" 'bridge=nosuchbr,ip=10.0.0.2/24')" >"$WORK/out" 2>&1; then
		fail "create with a missing bridge succeeded"
	fi
	grep -q "nosuchbr" "$WORK/out" || fail "the error does not name the bridge: $(cat "$WORK/out")"
	wait_for 5 no_vmm_left || fail "a VMM is left after the refused create"
	local links; links=$(in_ns ip -o link show) || fail "ip link show failed"
	! grep -q "vif" <<<"$links" || fail "a vif is left: $(grep vif <<<"$links")"
	drop_netns
}

test_network_attach_and_detach() {
	make_bridge_netns hot xenbr0
	xl_ns create "$(net_cfg hotplug "test=net-echo" 'bridge=xenbr0,ip=10.0.0.2/24')" 2>/dev/null
	expect_log hotplug "net: eth0 .* up"
	local id; id=$(domain_id hotplug)
	xl_ns network-attach hotplug bridge=xenbr0 ip=10.0.0.4/24 2>"$WORK/err" || fail "network-attach: $(cat "$WORK/err")"
	expect_log hotplug "net: eth1 .* up"
	[ "$(vif_master vif$id.1)" = xenbr0 ] || fail "vif$id.1 is not on xenbr0"
	in_ns ping -c 2 -W 2 10.0.0.4 >"$WORK/ping" 2>&1 || fail "ping over the attached vif: $(tail -2 "$WORK/ping")"
	xl_ns network-list hotplug >"$WORK/list" || fail "network-list failed"
	[ "$(grep -c '^[0-9]' "$WORK/list")" = 2 ] || fail "network-list shows: $(cat "$WORK/list")"
	xl_ns network-detach hotplug 1 || fail "network-detach failed"
	wait_for 5 bash -c "! ip netns exec $NETNS ip link show vif$id.1 >/dev/null 2>&1" || fail "vif$id.1 still there"
	in_ns ping -c 2 -W 2 10.0.0.2 >"$WORK/ping" 2>&1 || fail "vif 0 stopped working after the detach"
	drop_netns
}

test_udp_echo_10000_lossless() {
	need python3
	make_bridge_netns udp xenbr0
	xl_ns create "$(net_cfg echo "test=net-echo stats=1" 'bridge=xenbr0,ip=10.0.0.2/24')" 2>/dev/null
	expect_log echo "net: eth0 .* up"
	# A windowed sender: never more than 32 datagrams in flight, so neither side is overloaded.
	in_ns python3 - <<'PY' >"$WORK/udp" 2>&1 || fail "UDP echo: $(cat "$WORK/udp")"
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2.0)
N, window, sent, got = 10000, 32, 0, set()
deadline = time.time() + 120
while len(got) < N and time.time() < deadline:
    while sent < N and sent - len(got) < window:
        s.sendto(b"%08d" % sent + b"x" * 56, ("10.0.0.2", 7)); sent += 1
    try:
        data, _ = s.recvfrom(2048)
        got.add(int(data[:8]))
    except socket.timeout:
        break
print("sent", sent, "echoed", len(got))
sys.exit(0 if len(got) == N else 1)
PY
	grep -q "sent 10000 echoed 10000" "$WORK/udp" || fail "$(cat "$WORK/udp")"
	# The guest's own count agrees once its next stats line is out.
	wait_for 5 grep -qa "udp-echoed 10000 " "$(guest_log echo)" ||
		fail "guest counters: $(grep -a 'net: rx' "$(guest_log echo)" | tail -1)"
	drop_netns
}

test_hostile_netfront_contained() {
	make_bridge_netns bad xenbr0
	xl_ns create "$(net_cfg good "test=net-echo" 'bridge=xenbr0,ip=10.0.0.2/24')" 2>/dev/null
	expect_log good "net: eth0 .* up"
	xl_ns create "$(net_cfg evil "test=net-hostile" 'bridge=xenbr0,ip=10.0.0.9/24')" 2>/dev/null
	expect_log evil "PASS net-hostile" 60
	grep -qiE "drop|bad|invalid|refus" "$(vmm_log evil)" || fail "the evil domain's VMM logged nothing about its requests"
	no_match "$(vmm_log evil)" -E "AddressSanitizer|runtime error" || fail "the evil domain's VMM hit a sanitizer report"
	in_ns ping -c 3 -W 2 10.0.0.2 >"$WORK/ping" 2>&1 || fail "the good domain stopped answering: $(tail -2 "$WORK/ping")"
	drop_netns
}

run_tests
