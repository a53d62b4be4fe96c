# The test guest's network stack against the VMM's netback (the guest side; net.sh has the main
# network tests): net-stream's datagrams arrive numbered and intact at a listener in Dom0, and
# net-ping gets its echo replies from another guest's net-echo.
. "$(dirname "$0")/testlib.bash"

guest_cfg() { make_cfg "$1" "cmdline = \"$2\"" "vif = [ '$3' ]"; }

test_stream_arrives_intact() {
	need python3
	make_bridge_netns stream
	in_ns python3 - >"$WORK/listen" 2>&1 <<'PY' &
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
s.bind(("10.0.0.1", 9999)); s.settimeout(20)
seen, bad = set(), 0
try:
    while len(seen) < 300:
        d, a = s.recvfrom(4096)
        i = int.from_bytes(d[:4], "big")
        bad += not (len(d) == 1000 and all(d[k] == (i + k) & 0xff for k in range(4, len(d))))
        seen.add(i)
except socket.timeout:
    pass
print("got", len(seen), "bad", bad)
PY
	local listener=$!
	sleep 0.5
	xl_ns create "$(guest_cfg stream 'test=net-stream dst=10.0.0.1 port=9999 count=300 size=1000 gap_us=100' 'bridge=xbr0,ip=10.0.0.3/24')" \
		2>"$WORK/err" || fail "create: $(cat "$WORK/err")"
	expect_log stream "PASS net-stream" 30
	log_has stream "net-stream: sent 300" || fail "no 'sent 300' line"
	wait "$listener" || true
	grep -q "got 300 bad 0" "$WORK/listen" || fail "listener: $(cat "$WORK/listen")"
	drop_netns
}

test_guest_pings_guest() {
	make_bridge_netns ping
	xl_ns create "$(guest_cfg target 'test=net-echo' 'bridge=xbr0,ip=10.0.0.2/24')" 2>/dev/null
	expect_log target "net: eth0 .* up"
	xl_ns create "$(guest_cfg pinger 'test=net-ping dst=10.0.0.2 count=10 interval=50' 'bridge=xbr0,ip=10.0.0.4/24')" 2>/dev/null
	expect_log pinger "PASS net-ping" 30
	log_has pinger "net-ping: 10 sent, 10 received" || fail "$(grep -a net-ping: "$(guest_log pinger)")"
	drop_netns
}

run_tests
