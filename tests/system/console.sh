# xl console: attaches to a running domain's console pty, and Ctrl-] detaches leaving it running.
. "$(dirname "$0")/testlib.bash"

# Runs xl console under a pty of its own (as a user's terminal), waits for PATTERN, sends Ctrl-],
# and reports what it saw and how xl ended.
console_session() {
	need python3
	python3 - "$XL" "$1" "$2" <<'PY'
import os, pty, select, sys, time
xl, dom, pattern = sys.argv[1], sys.argv[2], sys.argv[3].encode()
pid, fd = pty.fork()
if pid == 0:
    os.execv(xl, [xl, "console", dom])
seen, deadline = b"", time.time() + 20
while pattern not in seen and time.time() < deadline:
    if select.select([fd], [], [], 0.2)[0]:
        try:
            seen += os.read(fd, 4096)
        except OSError:
            break
if pattern not in seen:
    print("never saw %r: %r" % (pattern, seen[-200:]))
    sys.exit(1)
os.write(fd, b"\x1d")
deadline = time.time() + 5
while time.time() < deadline:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        code = os.waitstatus_to_exitcode(status)
        print("detached, xl exited %d" % code)
        sys.exit(0 if code == 0 else 1)
    time.sleep(0.05)
os.kill(pid, 9)
print("xl console did not detach on Ctrl-]")
sys.exit(1)
PY
}

test_console_attach_and_detach() {
	local cfg; cfg=$(make_cfg talker 'cmdline = "test=counter"')
	"$XL" create "$cfg" 2>/dev/null
	expect_log talker "counter 1"
	# A fresh counter line proves the output is live, not only what was queued before attaching.
	local next=$(( $(grep -ao 'counter [0-9]*' "$(guest_log talker)" | tail -1 | awk '{print $2}') + 2 ))
	console_session talker "counter $next" >"$WORK/session" 2>&1 || fail "$(cat "$WORK/session")"
	grep -q "detached, xl exited 0" "$WORK/session" || fail "$(cat "$WORK/session")"
	domain_listed talker || fail "the domain did not survive the console detaching"
	[ "$(domain_state talker)" = "r-----" ] || fail "state after detach is $(domain_state talker)"
	"$XL" destroy talker
}

test_console_ends_when_domain_ends() {
	local cfg; cfg=$(make_cfg brief 'cmdline = "test=counter"')
	"$XL" create "$cfg" 2>/dev/null
	expect_log brief "counter 1"
	timeout 20 "$XL" console brief </dev/null >"$WORK/out" 2>&1 &
	local console_pid=$!
	wait_for 10 grep -q "counter" "$WORK/out" || fail "xl console showed nothing: $(cat "$WORK/out")"
	"$XL" destroy brief
	wait "$console_pid" || fail "xl console exited $? when the domain ended (0 expected)"
}

test_console_unknown_domain() {
	if "$XL" console nosuch >"$WORK/out" 2>&1; then fail "console of an unknown domain succeeded"; fi
	grep -q "nosuch" "$WORK/out" || fail "error does not name the domain: $(cat "$WORK/out")"
}

run_tests
