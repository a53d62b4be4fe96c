# The test guest's network stack against the VMM's netback (the guest side; net.sh has the main
# network tests): net-stream's datagrams arrive numbered and intact at a listener in Dom0, and
# net-ping gets its echo replies from another guest's net-echo; the same with netfront asking for no
# features (net-features=none), with tx frames over several slots, and with busy-polled rings (poll=1).
. "$(dirname "$0")/testlib.bash"

guest_cfg() { make_cfg "$1" "cmdline = \"$2\"" "vif = [ '$3' ]"; }

# stream_case NAME OPTIONS: net-stream (its command line plus OPTIONS) from a guest NAME to a
# listener in Dom0: 300 numbered datagrams of 1000 bytes arrive, every byte intact.
stream_case() {
	local name=$1 opts=$2
	need python3
	make_bridge_netns "$name"
	in_ns python3 - >"$WORK/listen-$name" 2>&1 <<'PY' &
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
	xl_ns create "$(guest_cfg "$name" "test=net-stream dst=10.0.0.1 port=9999 count=300 size=1000 gap_us=100 $opts" 'bridge=xbr0,ip=10.0.0.3/24')" \
		2>"$WORK/err" || fail "create: $(cat "$WORK/err")"
	expect_log "$name" "PASS net-stream" 30
	log_has "$name" "net-stream: sent 300" || fail "no 'sent 300' line"
	wait "$listener" || true
	grep -q "got 300 bad 0" "$WORK/listen-$name" || fail "listener: $(cat "$WORK/listen-$name")"
	drop_netns
}

test_stream_arrives_intact() {
	stream_case stream ""
}

# The plain path (one slot per frame, checksums computed, one port) against a backend that may offer
# every feature: netfront asks for none and says so.
test_stream_without_features() {
	stream_case plain "net-features=none"
	log_has plain "features sg=0 csum-offload=0 split-event-channels=0" ||
		fail "no 'features sg=0 csum-offload=0 split-event-channels=0' line: $(grep -a 'features' "$(guest_log plain)")"
}

# Every frame split over 256-byte tx slots when the backend offers feature-sg (one slot when it
# does not): the datagrams still arrive intact.
test_stream_over_sg_slots() {
	stream_case sgslots "net-sg-slot=256"
}

# Eight flows (source ports) over as many queues as the backend offers (up to 2): intact, and the
# queue lines printed.
test_stream_over_queues() {
	stream_case flows "flows=8"
	log_has flows "net-stream: eth0 queue 0 tx " || fail "no queue line: $(grep -a 'queue' "$(guest_log flows)")"
}

# Busy-polled rings: the same data, and the notifies/events line the benches read.
test_stream_polled() {
	stream_case polled "poll=1"
	log_has polled "net-stream: notifies [0-9][0-9]* events [0-9][0-9]* packets [0-9][0-9]* per-packet " ||
		fail "no notifies line: $(grep -a 'net-stream:' "$(guest_log polled)")"
}

# ping_case PREFIX ECHO-OPTIONS PING-OPTIONS: guest PREFIX-target runs net-echo, PREFIX-pinger
# net-ping to it: 10 echo requests, 10 replies.
ping_case() {
	local target=$1-target pinger=$1-pinger
	make_bridge_netns "$1"
	xl_ns create "$(guest_cfg "$target" "test=net-echo $2" 'bridge=xbr0,ip=10.0.0.2/24')" 2>/dev/null
	expect_log "$target" "net: eth0 .* up"
	xl_ns create "$(guest_cfg "$pinger" "test=net-ping dst=10.0.0.2 count=10 interval=50 $3" 'bridge=xbr0,ip=10.0.0.4/24')" 2>/dev/null
	expect_log "$pinger" "PASS net-ping" 30
	log_has "$pinger" "net-ping: 10 sent, 10 received" || fail "$(grep -a net-ping: "$(guest_log "$pinger")")"
	drop_netns
}

test_guest_pings_guest() {
	ping_case ping "" ""
}

# Both guests with busy-polled rings, one asking for no features: pings still answered.
test_polled_guests_ping() {
	ping_case pollping "poll=1 net-features=none" "poll=1"
}

run_tests
