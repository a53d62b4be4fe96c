#!/usr/bin/env python3
"""Drives a Linux guest's shell through its console, as a person at the keyboard would.

    linux_console.py [--timeout S] [--log FILE] [--detach BYTES] ACTION... -- PROGRAM [ARGS...]

PROGRAM runs on a pty of its own: `xl console NAME` for a Xenith domain, or QEMU itself with
-nographic (the serial console on stdio).  The actions run in the order given:

    --wait REGEX   wait until REGEX (a Python bytes regex) appears in what PROGRAM prints from here on
    --send TEXT    type TEXT (Python escapes allowed: '\\r', '\\x1d')
    --cmd CMD      type CMD at the shell between two markers made unique by this run, wait for the
                   second, and print CMD's output (carriage returns dropped) on stdout

The markers are printed with printf from pieces, so the shell's echo of the typed line never matches
them.  Kernel messages the console shows meanwhile ("[   12.345678] ...", printk with timestamps)
are taken out of CMD's output, also when one lands in the middle of a line.  Each wait gives up after --timeout seconds.  At the end the --detach bytes are typed (default
Ctrl-], which detaches xl console; Ctrl-A x ends QEMU) and PROGRAM is given 3 s to exit before it is
killed.

Exit status: 0 when every action succeeded and every CMD exited 0; a CMD's own non-zero status
(the first one, capped at 123); 124 when a wait timed out; 125 when PROGRAM could not start or
ended early.  Failures are explained on stderr with the tail of what PROGRAM printed.
"""
import argparse
import codecs
import os
import pty
import re
import select
import signal
import sys
import time


class Append(argparse.Action):
    """Keeps --wait/--send/--cmd in one list, in command-line order."""

    def __call__(self, parser, namespace, values, option_string=None):
        actions = getattr(namespace, "actions", None) or []
        actions.append((self.dest, values))
        namespace.actions = actions


class Ended(Exception):
    pass


class Console:
    def __init__(self, argv, log):
        self.seen = b""
        self.mark = 0            # waits look only at what came after the last thing matched
        self.log = open(log, "ab") if log else None
        try:
            self.pid, self.fd = pty.fork()
        except OSError as e:
            raise Ended("cannot start %s: %s" % (argv[0], e))
        if self.pid == 0:
            try:
                os.execvp(argv[0], argv)
            except OSError as e:
                os.write(2, ("cannot run %s: %s\n" % (argv[0], e)).encode())
            os._exit(127)

    def _read(self, seconds):
        if not select.select([self.fd], [], [], seconds)[0]:
            return
        try:
            data = os.read(self.fd, 65536)
        except OSError:
            data = b""
        if not data:
            raise Ended("the console program ended")
        self.seen += data
        if self.log:
            self.log.write(data)
            self.log.flush()

    def wait(self, regex, seconds):
        """The match of regex after the mark, moving the mark past it; None on timeout."""
        pattern = re.compile(regex, re.S)
        deadline = time.monotonic() + seconds
        while True:
            m = pattern.search(self.seen, self.mark)
            if m:
                self.mark = m.end()
                return m
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self._read(min(left, 0.5))

    def send(self, data):
        while data:
            n = os.write(self.fd, data)
            data = data[n:]

    def tail(self, n=400):
        return self.seen[-n:].decode("utf-8", "replace")

    def close(self, detach):
        try:
            if detach:
                self.send(detach)
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline:
                pid, _ = os.waitpid(self.pid, os.WNOHANG)
                if pid:
                    return
                try:
                    self._read(0.1)
                except Ended:
                    pass
        except OSError:
            pass
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                break
            time.sleep(0.2)
            if os.waitpid(self.pid, os.WNOHANG)[0]:
                break
        else:
            os.waitpid(self.pid, 0)


KERNEL_LINE = re.compile(rb"\[ *\d+\.\d{6}\] [^\n]*\n")


def run_cmd(con, cmd, serial, timeout):
    """Runs cmd at the guest's shell; returns (output, status) or None on timeout."""
    tag = "%d-%d" % (os.getpid(), serial)
    line = "printf '@@%%s@@\\n' B%s; %s; printf '@@%%s@@ %%d\\n' E%s $?\r" % (tag, cmd, tag)
    con.send(line.encode())
    if not con.wait(re.escape(b"@@B" + tag.encode() + b"@@"), timeout):
        return None
    start = con.mark
    m = con.wait(re.escape(b"@@E" + tag.encode() + b"@@ ") + rb"(\d+)\r*\n", timeout)
    if not m:
        return None
    out = KERNEL_LINE.sub(b"", con.seen[start:m.start()].replace(b"\r", b""))
    if out.startswith(b"\n"):          # the end of the begin marker's line
        out = out[1:]
    return out.decode("utf-8", "replace"), int(m.group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--log")
    ap.add_argument("--detach", default="\\x1d")
    ap.add_argument("--wait", action=Append)
    ap.add_argument("--send", action=Append)
    ap.add_argument("--cmd", action=Append)
    ap.add_argument("program", nargs="+")
    args = ap.parse_args()
    actions = getattr(args, "actions", None) or []
    detach = codecs.decode(args.detach, "unicode_escape").encode("latin-1")

    status = 0
    try:
        con = Console(args.program, args.log)
    except Ended as e:
        print("linux_console: %s" % e, file=sys.stderr)
        return 125
    try:
        for serial, (kind, value) in enumerate(actions):
            if kind == "wait":
                if not con.wait(value.encode(), args.timeout):
                    print("linux_console: no %r within %g s; the console showed: %r"
                          % (value, args.timeout, con.tail()), file=sys.stderr)
                    return 124
            elif kind == "send":
                con.send(codecs.decode(value, "unicode_escape").encode("latin-1"))
            else:
                got = run_cmd(con, value, serial, args.timeout)
                if got is None:
                    print("linux_console: %r did not finish within %g s; the console showed: %r"
                          % (value, args.timeout, con.tail()), file=sys.stderr)
                    return 124
                sys.stdout.write(got[0])
                sys.stdout.flush()
                if got[1] and not status:
                    status = min(got[1], 123)
    except Ended as e:
        print("linux_console: %s; it printed: %r" % (e, con.tail()), file=sys.stderr)
        return 125
    finally:
        con.close(detach)
    return status


if __name__ == "__main__":
    sys.exit(main())
