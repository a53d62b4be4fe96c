# xenstored against peers nobody here wrote: Debian's xenstore-utils, and a small Python client
# speaking the wire protocol (tests/system/xs_wire.py) for what the utils cannot do.
# No guest is involved, so these run without KVM.
. "$(dirname "$0")/testlib.bash"
NEEDS_KVM=0

use_test_xenstored
WIRE="$ROOT/tests/system/xs_wire.py"
export PYTHONPATH="$ROOT/tests/system"

xs_start() {
	mkdir -p "$XENITH_RUNDIR/log"
	"$XENSTORED" --rundir "$XENITH_RUNDIR" 2>>"$XS_LOG" || fail "xenstored did not start: $(tail -3 "$XS_LOG")"
	[ -S "$XS_SOCK" ] || fail "no socket at $XS_SOCK"
}

# Stops it with SIGTERM (so sanitizers report leaks) and checks it removed its socket.
xs_stop() {
	local pid; pid=$(pgrep -f -- "xenstored.*$XENITH_RUNDIR" | head -1)
	[ -n "$pid" ] || fail "xenstored is not running"
	kill -TERM "$pid"
	wait_for 5 bash -c "! kill -0 $pid 2>/dev/null" || fail "xenstored ignored SIGTERM"
	[ ! -e "$XS_SOCK" ] || fail "socket left behind after SIGTERM"
	if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$XS_LOG"; then
		fail "sanitizer report: $(grep -m1 -E 'AddressSanitizer|LeakSanitizer|runtime error:' "$XS_LOG")"
	fi
}

control() { need python3 && python3 "$WIRE" "$XS_SOCK" control "$@"; }

# expect_out "what" EXPECTED COMMAND...: output of COMMAND (stdout+stderr) must equal EXPECTED.
expect_out() {
	local what=$1 want=$2 got; shift 2
	got=$("$@" 2>&1) || true
	[ "$got" = "$want" ] || fail "$what: got '$got', expected '$want'"
}

test_utils_write_read_ls_rm() {
	need_xenstore_utils
	xs_start
	xenstore-write /t/a 1 /t/b "two words" /t/c/d deep
	expect_out "read" "1" xenstore-read /t/a
	expect_out "read spaces" "two words" xenstore-read /t/b
	expect_out "list" "$(printf 'a\nb\nc')" xenstore-list /t
	expect_out "ls" "$(printf 'a = "1"\nb = "two words"\nc = ""\n d = "deep"')" xenstore-ls /t
	xenstore-exists /t/c/d || fail "exists /t/c/d"
	xenstore-rm /t/c
	! xenstore-exists /t/c/d || fail "/t/c/d survived rm of /t/c"
	expect_out "read missing" "xenstore-read: couldn't read path /t/c" xenstore-read /t/c
	expect_out "root ls" "$(printf 'tool = ""\n xenstored = ""\nt = ""\n a = "1"\n b = "two words"')" xenstore-ls /
	xs_stop
}

test_utils_chmod_and_unpriv_denials() {
	need_xenstore_utils
	need python3
	xs_start
	xenstore-write /secret s
	local sock; sock=$(control unpriv-socket 5)
	[ "$sock" = "$XENITH_RUNDIR/xenstored/socket.d/5" ] || fail "unpriv socket is '$sock'"
	expect_out "denied read" "xenstore-read: couldn't read path /secret" \
		env XENSTORED_PATH="$sock" xenstore-read /secret
	expect_out "denied ls" "xenstore-ls: xs_directory (/): Permission denied" \
		env XENSTORED_PATH="$sock" xenstore-ls /
	if XENSTORED_PATH="$sock" xenstore-write /secret x 2>/dev/null; then fail "write allowed"; fi
	xenstore-chmod /secret n0 r5
	local listing; listing=$(xenstore-ls -p /) || fail "xenstore-ls -p / failed"
	grep -qE '^secret = "s" [ .]+\(n0,r5\)$' <<<"$listing" || fail "perms: $(grep '^secret' <<<"$listing")"
	expect_out "granted read" "s" env XENSTORED_PATH="$sock" xenstore-read /secret
	if XENSTORED_PATH="$sock" xenstore-write /secret x 2>/dev/null; then fail "r5 allowed a write"; fi
	xenstore-chmod /secret n0 b5
	XENSTORED_PATH="$sock" xenstore-write /secret mine || fail "b5 did not allow a write"
	expect_out "written" "mine" xenstore-read /secret
	xs_stop
}

test_watch_fires_on_write_and_rm() {
	need_xenstore_utils
	xs_start
	xenstore-write /w/x 0
	timeout 10 xenstore-watch -n 4 /w >"$WORK/events" &
	local watcher=$!
	sleep 0.3
	xenstore-write /w/x 1
	xenstore-write /elsewhere 1
	xenstore-write /w/y/z 2
	xenstore-rm /w
	wait $watcher || fail "xenstore-watch did not see 4 events: $(cat "$WORK/events")"
	expect_out "events" "$(printf '/w\n/w/x\n/w/y/z\n/w')" cat "$WORK/events"
	xs_stop
}

test_transaction_conflict() {
	need python3
	xs_start
	python3 - "$XS_SOCK" <<'PY' || fail "transaction conflict: see above"
import sys
from xs_wire import Conn
a, b = Conn(sys.argv[1]), Conn(sys.argv[1])
a.call("WRITE", "/k", raw=b"/k\0v0")
st, t1 = a.call("TRANSACTION_START", "")
st, t2 = b.call("TRANSACTION_START", "")
t1, t2 = int(t1.rstrip(b"\0")), int(t2.rstrip(b"\0"))
assert a.call("READ", "/k", tx=t1) == ("OK", b"v0")
assert b.call("READ", "/k", tx=t2) == ("OK", b"v0")
assert a.call("WRITE", raw=b"/k\0from-a", tx=t1)[0] == "OK"
assert b.call("WRITE", raw=b"/k\0from-b", tx=t2)[0] == "OK"
assert a.call("READ", "/k") == ("OK", b"v0"), "uncommitted write visible"
assert a.call("TRANSACTION_END", "T", tx=t1) == ("OK", b"OK\0")
r = b.call("TRANSACTION_END", "T", tx=t2)
assert r == ("ERROR", "EAGAIN"), r
assert a.call("READ", "/k") == ("OK", b"from-a")
PY
	xs_stop
}

test_quotas_for_unprivileged() {
	need python3
	xs_start
	control quota set nodes 20 >/dev/null
	local sock; sock=$(control unpriv-socket 7)
	python3 - "$XS_SOCK" "$sock" <<'PY' || fail "quotas: see above"
import sys
from xs_wire import Conn
dom0, d7 = Conn(sys.argv[1]), Conn(sys.argv[2])
dom0.call("MKDIR", "/local/domain/7")
dom0.call("SET_PERMS", "/local/domain/7", "n7")
results = [d7.call("WRITE", raw=b"n%d\0x" % i) for i in range(25)]
ok = [r for r in results if r[0] == "OK"]
assert len(ok) == 19, results          # its home counts as one of the 20
assert results[19] == ("ERROR", "ENOSPC"), results[19]
big = d7.call("WRITE", raw=b"big\0" + b"v" * 2049)
assert big == ("ERROR", "ENOSPC"), big
d7.call("RM", "n0")
assert d7.call("WRITE", raw=b"v2048\0" + b"v" * 2048)[0] == "OK"
assert d7.call("TRANSACTION_START", "")[0] == "OK"
assert d7.call("CONTROL", "quota") == ("ERROR", "EACCES")
PY
	local quota; quota=$(control quota 7) || fail "control quota 7 failed"
	grep -q '^nodes *20$' <<<"$quota" || fail "quota 7: $quota"
	xs_stop
}

test_malformed_traffic_survived() {
	need python3
	xs_start
	python3 - "$XS_SOCK" <<'PY' || fail "malformed traffic: see above"
import os, random, socket, struct, sys, time
from xs_wire import Conn
path = sys.argv[1]
def fresh():
    return Conn(path)
# garbage header, then a huge len: dropped, as Xen does
c = fresh(); c.send_raw(os.urandom(16) + os.urandom(100)); c.close()
c = fresh(); c.send_raw(struct.pack("<IIII", 2, 1, 0, 0xffffffff))
try:
    c.recv_msg(); sys.exit("huge len answered")
except (EOFError, ConnectionResetError):
    pass
# a wrong type is an error reply, and the connection lives on
c = fresh()
assert c.call("READ", raw=b"/tool\0") == ("OK", b"")
c.send_raw(struct.pack("<IIII", 999, 5, 0, 2) + b"/\0")
t, r, tx, body = c.recv_msg()
assert t == 16 and r == 5 and body == b"ENOSYS\0", (t, r, body)
# a truncated message, then the peer goes away
c2 = fresh(); c2.send_raw(struct.pack("<IIII", 11, 1, 0, 100) + b"/half"); c2.close()
# 10k random messages on a few connections
rng = random.Random(1234)
sent = 0
for k in range(20):
    s = socket.socket(socket.AF_UNIX); s.connect(path); s.setblocking(False)
    for i in range(500):
        t = rng.choice([rng.randrange(0, 30), rng.randrange(0, 1 << 32)])
        body = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 64)))
        if rng.random() < 0.5:
            body = rng.choice([b"/r", b"/tool", b"@releaseDomain", b"rel", b""]) + b"\0" + body
        msg = struct.pack("<IIII", t, i, rng.randrange(0, 3), len(body)) + body
        try:
            s.send(msg)
        except (BlockingIOError, BrokenPipeError, ConnectionResetError):
            break
        sent += 1
    s.close()
assert sent > 5000, sent
time.sleep(0.2)
ok = fresh()
assert ok.call("WRITE", raw=b"/alive\0yes") == ("OK", b"OK\0")
assert ok.call("READ", "/alive") == ("OK", b"yes")
PY
	expect_out "still answers" "yes" xenstore-read /alive
	xs_stop
}

test_second_instance_refused() {
	xs_start
	if "$XENSTORED" --rundir "$XENITH_RUNDIR" --foreground 2>"$WORK/second"; then
		fail "a second xenstored started"
	fi
	grep -q "already answers" "$WORK/second" || fail "second instance said: $(cat "$WORK/second")"
	xs_stop
}

# xenstored_ensure (src/lib/xs_client.c): two callers at once start exactly one daemon.
test_ensure_starts_one_daemon() {
	need cc "a C compiler: gcc; scripts/install-deps"
	cat >"$WORK/ensure.c" <<'EOF_C'
#include <stdio.h>
#include "lib/xs_client.h"
int main(void)
{
	char err[512];
	if (xenstored_ensure(NULL, NULL, err, sizeof(err))) { fprintf(stderr, "%s\n", err); return 1; }
	struct xs_client *xs = xs_open(NULL, err, sizeof(err));
	if (!xs || xs_write_str(xs, 0, "/ensured", "yes")) { fprintf(stderr, "%s\n", err); return 1; }
	xs_close(xs);
	return 0;
}
EOF_C
	cc -std=gnu11 -D__XEN_INTERFACE_VERSION__=0x00040e00 -iquote "$ROOT/src" "$WORK/ensure.c" \
		"$ROOT/src/lib/xs_client.c" "$ROOT/src/lib/error.c" "$ROOT/src/lib/logfile.c" "$ROOT/src/lib/unix_socket.c" -o "$WORK/ensure"
	XENITH_XENSTORED="$XENSTORED" "$WORK/ensure" & local p1=$!
	XENITH_XENSTORED="$XENSTORED" "$WORK/ensure" & local p2=$!
	wait $p1 || fail "first xenstored_ensure failed"
	wait $p2 || fail "second xenstored_ensure failed"
	[ "$(pgrep -fc -- "xenstored.*$XENITH_RUNDIR")" = 1 ] || fail "not exactly one xenstored: $(pgrep -fa xenstored)"
	[ -f "$XS_LOG" ] || fail "no $XS_LOG"
	expect_out "written through it" "yes" xenstore-read /ensured
	xs_stop
}

run_tests
