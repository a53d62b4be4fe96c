#!/usr/bin/python3
"""bench/qmp_migrate.py: drives one QEMU live migration for bench/migrate.sh over QMP.

    qmp_migrate.py SOURCE_QMP_SOCKET TARGET_QMP_SOCKET URI TIMEOUT_S

Both QEMUs were started with `-qmp unix:SOCKET,server=on,wait=off`, the target with `-incoming URI`.
Lifts the bandwidth cap (QEMU's default throttles the copy; we measure the mechanism, not the
throttle), starts `migrate`, polls `query-migrate` every 5 ms until it completes, fails or TIMEOUT_S
pass (then `migrate_cancel`), and checks that the target runs.  Prints one line:

    status=S total_ms=T downtime_ms=D setup_ms=U sent_bytes=B ram_total=R rounds=N wall_ms=W target=ST

(QEMU's own figures: total-time, downtime, setup-time, ram.transferred, ram.total,
ram.dirty-sync-count; wall_ms from our `migrate` command to the poll that saw it end).  A figure
QEMU did not give is "n/a".  Exit status 0 when the migration completed, 1 otherwise, 2 on usage.
"""
import json
import socket
import sys
import time

BANDWIDTH = 100 << 30      # bytes/s: effectively unlimited
POLL_S = 0.005


class Qmp:
    """A QMP connection: greeting read, capabilities negotiated; events are skipped."""

    def __init__(self, path, timeout_s):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout_s)
        self.sock.connect(path)
        self.buf = b""
        self.read_message()                 # the greeting
        self.call("qmp_capabilities")

    def read_message(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"{self.path}: QEMU closed the QMP connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def call(self, command, **arguments):
        msg = {"execute": command}
        if arguments:
            msg["arguments"] = arguments
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            reply = self.read_message()
            if "return" in reply:
                return reply["return"]
            if "error" in reply:
                raise RuntimeError(f"{self.path}: {command}: {reply['error'].get('desc', reply['error'])}")


def figure(d, *keys):
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return "n/a"
        d = d[k]
    return str(d)


def main(argv):
    if len(argv) != 5:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    src_path, dst_path, uri, timeout_s = argv[1], argv[2], argv[3], float(argv[4])
    src = Qmp(src_path, 30)
    dst = Qmp(dst_path, 30)
    src.call("migrate-set-parameters", **{"max-bandwidth": BANDWIDTH})
    t0 = time.monotonic()
    src.call("migrate", uri=uri)
    info = {}
    while True:
        info = src.call("query-migrate")
        status = info.get("status", "n/a")
        if status in ("completed", "failed", "cancelled"):
            break
        if time.monotonic() - t0 > timeout_s:
            src.call("migrate_cancel")
            status = f"timeout-after-{int(timeout_s)}s"
            break
        time.sleep(POLL_S)
    wall_ms = (time.monotonic() - t0) * 1000
    target = "n/a"
    if status == "completed":
        # The target may take a moment to switch to running after the source sees "completed".
        for _ in range(400):
            target = dst.call("query-status").get("status", "n/a")
            if target == "running":
                break
            time.sleep(POLL_S)
    print(f"status={status} total_ms={figure(info, 'total-time')} downtime_ms={figure(info, 'downtime')}"
          f" setup_ms={figure(info, 'setup-time')} sent_bytes={figure(info, 'ram', 'transferred')}"
          f" ram_total={figure(info, 'ram', 'total')} rounds={figure(info, 'ram', 'dirty-sync-count')}"
          f" wall_ms={wall_ms:.1f} target={target}"
          + (f" error={info['error-desc']!r}" if "error-desc" in info else ""))
    return 0 if status == "completed" and target == "running" else 1


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (OSError, RuntimeError, ValueError) as e:
        print(f"status=error error={str(e)!r}")
        sys.exit(1)
