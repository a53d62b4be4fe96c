#!/bin/bash
# xenith-libvirtd's connection, host procedures and protocol robustness (issue 15), no KVM needed:
# Debian's virsh 9.0 reads version, hostname, uri, nodeinfo and capabilities (parsed as XML) and
# lists domains; python3-libvirt opens the URI and gets libvirt's VIR_ERR_NO_SUPPORT for a
# procedure we do not serve; a client sending garbage, one sending an oversized length and one
# that never reads its replies are dropped without stalling a second client; a second daemon on
# the live socket refuses to start, and a stale socket is replaced.
. "$(dirname "$0")/testlib.bash"
NEEDS_KVM=0

PY=/usr/bin/python3     # Debian's python3, where python3-libvirt is installed

# A daemon started where a socket may already be (testlib's start_libvirtd removes it first):
# the second-daemon and stale-socket case needs the daemon itself to find it.
start_daemon_over_socket() {
	need virsh "libvirt-clients; scripts/install-deps"
	[ -x "$LIBVIRTD" ] || skip "no xenith-libvirtd at $LIBVIRTD (make tools)"
	mkdir -p "$WORK/state" "$XENITH_RUNDIR/log"
	"$LIBVIRTD" --rundir "$XENITH_RUNDIR" --state-dir "$WORK/state" --foreground \
		2>>"$WORK/libvirtd.log" &
	track_bg "$!"
	wait_for 10 sock_answers || fail "xenith-libvirtd did not listen: $(tail -c 300 "$WORK/libvirtd.log")"
}
# The socket takes connections (a stale one left there does not).
sock_answers() {
	"$PY" -c 'import socket, sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])' "$SOCK" 2>/dev/null
}
# Stops it (SIGTERM: a clean exit, where LeakSanitizer reports) and looks in its log.
stop_daemon() {
	stop_bg
	rm -f "$SOCK"
	! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$WORK/libvirtd.log" ||
		fail "sanitizer report: $(grep -m1 -E 'AddressSanitizer|LeakSanitizer|runtime error:' "$WORK/libvirtd.log")"
}

need_python_libvirt() {
	[ -x "$PY" ] && "$PY" -c 'import libvirt' 2>/dev/null || skip "python3-libvirt is missing (scripts/install-deps)"
}

v() { bounded 20 "$1" virsh -c "$URI" "${@:2}"; }
v_ok() { v "$@"; [ "$BOUNDED_RC" = 0 ] || fail "virsh ${*:2} exited $BOUNDED_RC: $(said "$1" err)"; }

test_virsh_host_facts() {
	start_libvirtd
	v_ok ver version
	grep -q '^Running hypervisor: Xen 4\.' "$WORK/ver.out" || fail "version: $(said ver out)"
	grep -q '^Using API: Xen ' "$WORK/ver.out" || fail "version: $(said ver out)"
	v_ok host hostname
	[ "$(cat "$WORK/host.out" | head -1)" = "$(hostname)" ] || fail "hostname: $(said host out)"
	v_ok uri uri
	[ "$(head -1 "$WORK/uri.out")" = "$URI" ] || fail "uri: $(said uri out)"
	v_ok node nodeinfo
	local cpus
	cpus=$(awk -F: '$1 == "CPU(s)" { gsub(/ /, "", $2); print $2 }' "$WORK/node.out")
	[ "$cpus" = "$(nproc --all 2>/dev/null || nproc)" ] || [ "$cpus" = "$(nproc)" ] ||
		fail "nodeinfo CPU(s) '$cpus': $(said node out)"
	grep -q '^CPU model: *x86_64' "$WORK/node.out" || fail "nodeinfo: $(said node out)"
	v_ok caps capabilities
	if command -v xmllint >/dev/null; then
		xmllint --noout "$WORK/caps.out" 2>"$WORK/xmllint.err" || fail "capabilities not XML: $(said xmllint err)"
	fi
	"$PY" - "$WORK/caps.out" >"$WORK/capsparse.out" 2>&1 <<-'PY' || fail "capabilities: $(said capsparse out)"
	import sys, xml.etree.ElementTree as ET
	root = ET.parse(sys.argv[1]).getroot()
	assert root.findtext("host/cpu/arch") == "x86_64", "host arch"
	kinds = {(g.findtext("os_type"), g.find("arch").get("name"), g.find("arch/domain").get("type"))
	         for g in root.findall("guest")}
	for want in (("xenpvh", "x86_64", "xen"), ("hvm", "x86_64", "xen"), ("xen", "x86_64", "xen")):
	    assert want in kinds, f"no guest {want}: {kinds}"
	PY
	v_ok list list --all
	grep -q 'Name' "$WORK/list.out" || fail "list --all: $(said list out)"
	v_ok maxv maxvcpus
	[ "$(head -1 "$WORK/maxv.out")" -ge 1 ] || fail "maxvcpus: $(said maxv out)"
	stop_daemon
}

test_unsupported_procedure_error() {
	need_python_libvirt
	start_libvirtd
	v cpu nodecpustats
	[ "$BOUNDED_RC" != 0 ] || fail "nodecpustats succeeded: $(said cpu out)"
	grep -q 'not supported by the connection driver' "$WORK/cpu.err" || fail "nodecpustats: $(said cpu err)"
	bounded 20 py "$PY" - "$URI" <<-'PY'
	import sys, libvirt
	conn = libvirt.open(sys.argv[1])
	assert conn.getType() == "Xen", conn.getType()
	assert conn.isSecure() == 1
	assert conn.getURI() == sys.argv[1], conn.getURI()
	try:
	    conn.getSysinfo(0)
	except libvirt.libvirtError as e:
	    assert e.get_error_code() == libvirt.VIR_ERR_NO_SUPPORT, (e.get_error_code(), str(e))
	    print("no-support:", e)
	else:
	    raise SystemExit("getSysinfo succeeded")
	try:
	    libvirt.open(sys.argv[1].replace("/system", "/session"))
	except libvirt.libvirtError as e:
	    print("session refused:", e.get_error_code(), e)
	else:
	    raise SystemExit("xen:///session opened")
	conn.close()
	PY
	[ "$BOUNDED_RC" = 0 ] || fail "python3-libvirt: $(said py out) $(said py err)"
	grep -q '^no-support:' "$WORK/py.out" || fail "python3-libvirt: $(said py out)"
	stop_daemon
}

# A client that misbehaves (GARBAGE: a header of an unknown type; HUGE: a length past
# VIR_NET_MESSAGE_MAX; MUTE: calls and never reads) while a second client keeps working.
test_bad_clients_do_not_hurt_others() {
	need_python_libvirt
	start_libvirtd
	bounded 60 bad "$PY" - "$SOCK" "$URI" <<-'PY'
	import socket, struct, sys, time, libvirt
	path, uri = sys.argv[1], sys.argv[2]
	def frame(proc, body=b"", serial=1, typ=0):
	    hdr = struct.pack(">IIiIII", 0x20008086, 1, proc, typ, serial, 0)
	    return struct.pack(">I", 4 + len(hdr) + len(body)) + hdr + body
	def closed_by_server(s):
	    s.settimeout(5)
	    try:
	        return s.recv(4096) == b""
	    except ConnectionResetError:
	        return True
	good = libvirt.open(uri)
	garbage = socket.socket(socket.AF_UNIX); garbage.connect(path)
	garbage.sendall(frame(66, typ=77))
	assert closed_by_server(garbage), "garbage client not dropped"
	huge = socket.socket(socket.AF_UNIX); huge.connect(path)
	huge.sendall(struct.pack(">I", 33554432 + 5) + b"\0" * 24)
	assert closed_by_server(huge), "oversized length not dropped"
	short = socket.socket(socket.AF_UNIX); short.connect(path)
	short.sendall(struct.pack(">I", 8))
	assert closed_by_server(short), "undersized length not dropped"
	assert good.getHostname(), "good client after garbage"
	# MUTE: pipelines calls whose replies (capabilities, a few KiB each) it never reads.
	mute = socket.socket(socket.AF_UNIX); mute.connect(path)
	mute.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
	opencall = frame(1, struct.pack(">I", 0) + struct.pack(">I", 0))
	mute.sendall(opencall)
	mute.setblocking(False)
	sent, dropped, start = 0, False, time.time()
	burst = b"".join(frame(7, serial=i) for i in range(2, 200))
	while time.time() - start < 30:
	    t0 = time.time()
	    assert good.getVersion() > 0
	    assert time.time() - t0 < 2, "good client stalled behind the mute one"
	    try:
	        sent += mute.send(burst)
	    except (BlockingIOError, InterruptedError):
	        time.sleep(0.01)
	    except (BrokenPipeError, ConnectionResetError):
	        dropped = True
	        break
	assert dropped, f"the mute client was never dropped ({sent} bytes sent)"
	assert good.getType() == "Xen"
	good.close()
	print("ok", sent)
	PY
	[ "$BOUNDED_RC" = 0 ] || fail "bad clients: $(said bad out) $(said bad err)"
	sock_answers || fail "the daemon died: $(tail -c 300 "$WORK/libvirtd.log")"
	stop_daemon
}

test_second_daemon_and_stale_socket() {
	start_daemon_over_socket
	bounded 10 second "$LIBVIRTD" --rundir "$XENITH_RUNDIR" --state-dir "$WORK/state" --foreground
	[ "$BOUNDED_RC" != 0 ] || fail "a second daemon started on a live socket"
	grep -q 'already answers' "$WORK/second.err" || fail "second daemon: $(said second err)"
	v_ok ver1 version
	stop_bg                        # SIGTERM: the socket goes with the daemon
	[ ! -e "$SOCK" ] || fail "the socket outlived its daemon"
	# A stale socket (bound, nobody listening) is replaced.
	"$PY" -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$SOCK"
	[ -S "$SOCK" ] || fail "could not make a stale socket"
	start_daemon_over_socket
	v_ok ver2 version
	[ "$(stat -c %a "$SOCK")" = 600 ] || fail "socket mode $(stat -c %a "$SOCK")"
	stop_daemon
}

run_tests
