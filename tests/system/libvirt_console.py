"""Drives Debian's `virsh console` on a real terminal (a pty of our own), for
tests/system/libvirt_events.sh.

    libvirt_console.py URI NAME [--force] [--expect TEXT] [--send LINE --reply TEXT]
                       [--hold-file PATH] [--seconds N]

Runs `virsh -c URI console NAME [--force]` with its stdin and stdout on a pty and waits until its
output shows every --expect TEXT (in any order).  Then it types each --send LINE (with "\\r"; again
if unanswered, up to three times) and waits for the matching --reply TEXT; then, unless
--hold-file names a file to wait for first (another session's test may still need this one
open), it leaves with Ctrl-] as a user does.  It prints "attached" once the expected text came,
at the end what virsh wrote (non-printing bytes escaped) and "result ok", or "result fail: WHY"
with exit status 1.  Every wait is bounded by --seconds (default 15)."""
import argparse
import os
import pty
import select
import sys
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("uri")
    p.add_argument("name")
    p.add_argument("--force", action="store_true")
    p.add_argument("--expect", action="append", default=[])
    p.add_argument("--send", action="append", default=[])
    p.add_argument("--reply", action="append", default=[])
    p.add_argument("--hold-file")
    p.add_argument("--seconds", type=float, default=15)
    a = p.parse_args()
    argv = ["virsh", "-c", a.uri, "console", a.name] + (["--force"] if a.force else [])
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(argv[0], argv)
    seen = bytearray()
    status = None

    def pump(deadline, until=None):
        """Reads virsh's output until `until(seen)` holds, virsh ends, or the deadline."""
        nonlocal status
        while time.monotonic() < deadline:
            if until and until(seen):
                return True
            r, _, _ = select.select([fd], [], [], 0.05)
            if r:
                try:
                    data = os.read(fd, 4096)
                except OSError:
                    data = b""
                if not data:
                    break
                seen.extend(data)
            elif status is None:
                done, st = os.waitpid(pid, os.WNOHANG)
                if done:
                    status = st
        return bool(until and until(seen))

    def finish(why):
        if status is None:
            try:
                os.write(fd, b"\x1d")
            except OSError:
                pass
            pump(time.monotonic() + 3)
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        print("virsh said: %s" % seen.decode("ascii", "backslashreplace").encode("unicode_escape").decode())
        print("result " + ("ok" if why is None else "fail: " + why), flush=True)
        return 0 if why is None else 1

    deadline = time.monotonic() + a.seconds
    want = [t.encode() for t in a.expect]
    if not pump(deadline, lambda s: all(w in s for w in want)):
        return finish("never saw %s" % " and ".join(repr(t) for t in a.expect))
    print("attached", flush=True)
    if status is not None and (a.send or a.hold_file):
        return finish("virsh ended early")
    # virsh makes the terminal raw after its "Escape character" line, and that flushes what was
    # typed before: let it settle, and type a line again if it went unanswered.
    pump(time.monotonic() + 0.5)
    for line, reply in zip(a.send, a.reply):
        for _ in range(3):
            os.write(fd, line.encode() + b"\r")
            if pump(time.monotonic() + a.seconds / 3, lambda s, r=reply.encode(): r in s):
                break
        else:
            return finish("no reply %r to %r" % (reply, line))
    if a.hold_file:
        end = time.monotonic() + a.seconds
        while not os.path.exists(a.hold_file) and time.monotonic() < end:
            pump(time.monotonic() + 0.1)
    return finish(None)


sys.exit(main())
