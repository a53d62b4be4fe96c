"""A stand-in for xenith-vmm's part of save, restore and migration (docs/migration.md), for
tests/system/migrate_xl.sh: xl's whole path runs (its stream head, the `save` request with the
stream's descriptor as SCM_RIGHTS, `--restore-fd`, `resume`, `destroy`, the run directory) and
only the domain is fake.  It is spawn_standin_vmm.py (which it imports, unchanged) plus:

  save [live] [debug]   the request comes in one SOCK_SEQPACKET message with fd 0 (the stream) and
                        optionally fd 1 (progress lines) attached.  It writes records of the real
                        format (src/migrate/stream.h): DOMAIN, PAGES holding its fake memory
                        (FAKE_PAGES pages of a fixed pattern, one of them zero), a ROUND per round
                        (two with live), DIGEST with debug, END; then answers
                        `ok rounds=R pages=P bytes=B suspend_ms=S downtime_ms=D` with the domain
                        suspended (state ---s--), or `error EPIPE ...` running as before.
  resume                a suspended domain runs again.
  --restore-fd FD       reads the stream from FD (positioned after CONFIG, as xl leaves it) to END,
                        checks every record's sum and its pages against the pattern, then is the
                        domain, paused, and says `ok <domid>` on the ready fd; a bad stream is
                        `error <why>` there, with nothing made.

Fault injection, from the environment (xl passes its environment to the VMM it spawns):
  STANDIN_RESTORE_DIE_AFTER=N   the restoring stand-in SIGKILLs itself after reading N records
                                (a target VMM killed mid-stream).
  STANDIN_SAVE_DELAY_MS=MS      the saving stand-in sleeps MS between records (a slow stream)."""
import argparse
import errno
import array
import os
import signal
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import spawn_standin_vmm as spawn  # noqa: E402
import xl_standin_vmm as standin  # noqa: E402

PAGE = 4096
FAKE_PAGES = 32
BATCH = 16
REC_DOMAIN, REC_PAGES, REC_ROUND, REC_DIGEST, REC_END = 2, 3, 4, 9, 10
RECORD_HEADER = struct.Struct("<IIQII")          # type, flags, body_len, body_sum, reserved
DOMAIN = struct.Struct("<QQQII16s65s7x")         # struct mig_domain
ROUND = struct.Struct("<IIQQQ")
DIGEST = struct.Struct("<QQ")
KNOWN_TYPES = range(1, 11)
ZERO_PAGE = FAKE_PAGES - 1


def fnv1a32(data):
    h = 2166136261
    for b in data:
        h = ((h ^ b) * 16777619) & 0xffffffff
    return h


def fnv1a64(data):
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
    return h


def page_pattern(index):
    """The fake guest memory: page `index` as the stand-in's guest left it."""
    if index == ZERO_PAGE:
        return bytes(PAGE)
    return bytes((index * 131 + j * 7 + 1) & 0xff for j in range(PAGE))


MEMORY = b"".join(page_pattern(i) for i in range(FAKE_PAGES))


# ---- Saving ----
class StreamWriter:
    def __init__(self, fd, delay_ms):
        self.fd, self.delay, self.bytes = fd, delay_ms / 1000.0, 0

    def record(self, rtype, body):
        data = RECORD_HEADER.pack(rtype, 0, len(body), fnv1a32(body), 0) + body
        view = memoryview(data)
        while view:
            n = os.write(self.fd, view)
            view = view[n:]
        self.bytes += len(data)
        if self.delay:
            time.sleep(self.delay)


def pages_body(indexes):
    entries, data = [], []
    for i in indexes:
        if i == ZERO_PAGE:
            entries.append(i << 4 | 1)               # MIG_PAGE_ZERO
        else:
            entries.append(i << 4)                   # MIG_PAGE_DATA
            data.append(MEMORY[i * PAGE:(i + 1) * PAGE])
    return struct.pack("<II", len(entries), 0) + struct.pack("<%dQ" % len(entries), *entries) + \
        b"".join(data)


def save(a, live, debug, stream_fd, progress_fd):
    """Writes the domain's part of the stream; returns the ok text.  Raises OSError."""
    w = StreamWriter(stream_fd, int(os.environ.get("STANDIN_SAVE_DELAY_MS", "0")))
    start = time.monotonic()
    ram = a.memory * 1024 * 1024
    w.record(REC_DOMAIN, DOMAIN.pack(ram, ram, min(ram, 3 << 30), a.vcpus, a.vcpus,
                                     bytes(16), a.name.encode()[:64]))
    rounds = [list(range(FAKE_PAGES))] + ([[1, 2, 3]] if live else [])
    pages = 0
    for number, indexes in enumerate(rounds):
        for first in range(0, len(indexes), BATCH):
            w.record(REC_PAGES, pages_body(indexes[first:first + BATCH]))
        pages += len(indexes)
        w.record(REC_ROUND, ROUND.pack(number, 0, len(indexes), 0, 1000))
        if progress_fd is not None:
            os.write(progress_fd, b"migration: round %d: %d pages sent, %d bytes so far\n"
                     % (number, len(indexes), w.bytes))
    suspended_at = time.monotonic()
    if debug:
        w.record(REC_DIGEST, DIGEST.pack(FAKE_PAGES, fnv1a64(MEMORY)))
    w.record(REC_END, b"")
    end = time.monotonic()
    return "rounds=%d pages=%d bytes=%d suspend_ms=0 downtime_ms=%d" % (
        len(rounds), pages, w.bytes, int((end - suspended_at) * 1000))


# ---- Restoring ----
class BadStream(Exception):
    pass


def read_exact(fd, n, what, offset):
    data = b""
    while len(data) < n:
        chunk = os.read(fd, n - len(data))
        if not chunk:
            raise BadStream("the stream ends at byte %d inside %s: truncated" % (offset, what))
        data += chunk
    return data


def restore(fd):
    """Reads records to END; raises BadStream with why."""
    die_after = int(os.environ.get("STANDIN_RESTORE_DIE_AFTER", "0"))
    memory = bytearray(FAKE_PAGES * PAGE)
    offset, count, digest = 0, 0, None
    while True:
        rtype, flags, length, rsum, reserved = RECORD_HEADER.unpack(
            read_exact(fd, RECORD_HEADER.size, "a record header", offset))
        if rtype not in KNOWN_TYPES or flags or reserved or length > 8 << 20:
            raise BadStream("bad record header at offset %d (type %d, %d bytes)" % (offset, rtype, length))
        body = read_exact(fd, length, "a record", offset)
        if fnv1a32(body) != rsum:
            raise BadStream("the record at offset %d (type %d) has a bad checksum" % (offset, rtype))
        offset += RECORD_HEADER.size + length
        count += 1
        if die_after and count >= die_after:
            os.kill(os.getpid(), signal.SIGKILL)
        if rtype == REC_PAGES:
            n = struct.unpack_from("<I", body)[0]
            entries = struct.unpack_from("<%dQ" % n, body, 8)
            at = 8 + 8 * n
            for e in entries:
                i, kind = e >> 4, e & 15
                if i >= FAKE_PAGES:
                    raise BadStream("page %d is beyond the fake memory" % i)
                if kind == 0:
                    memory[i * PAGE:(i + 1) * PAGE] = body[at:at + PAGE]
                    at += PAGE
                else:
                    memory[i * PAGE:(i + 1) * PAGE] = bytes(PAGE)
        elif rtype == REC_DIGEST:
            digest = DIGEST.unpack(body)[1]
        elif rtype == REC_END:
            break
    if bytes(memory) != MEMORY:
        bad = next(i for i in range(FAKE_PAGES) if memory[i * PAGE:(i + 1) * PAGE] != page_pattern(i))
        raise BadStream("page %d does not hold what the source's guest wrote" % bad)
    if digest is not None and digest != fnv1a64(memory):
        raise BadStream("the RAM digest differs from the source's")


# ---- The control socket: save and resume besides what the stand-ins serve ----
class Replayed:
    """A connection whose first message was already read (with its descriptors), for standin.serve."""
    def __init__(self, conn, data):
        self.conn, self.data = conn, data

    def recv(self, _n):
        data, self.data = self.data, b""
        return data

    def send(self, data):
        return self.conn.send(data)

    def close(self):
        self.conn.close()


SERVE = standin.serve


def serve(conn, a, final):
    fds = array.array("i")
    data, anc, _flags, _addr = conn.recvmsg(4096, socket.CMSG_SPACE(4 * fds.itemsize))
    for level, ctype, cdata in anc:
        if level == socket.SOL_SOCKET and ctype == socket.SCM_RIGHTS:
            fds.frombytes(cdata[:len(cdata) - len(cdata) % fds.itemsize])
    try:
        req = data.decode(errors="replace").split()
        if req and req[0] == "save":
            if not fds:
                conn.send(b"error EINVAL save needs the stream's descriptor")
                return
            try:
                text = save(a, "live" in req[1:], "debug" in req[1:], fds[0],
                            fds[1] if len(fds) > 1 else None)
            except OSError as e:
                conn.send(("error %s writing the stream: %s; the domain runs on"
                           % (errno.errorcode.get(e.errno, "EIO"), e.strerror)).encode())
                return
            a.run_flags = "---s--"
            conn.send(("ok " + text).encode())
        elif req and req[0] == "resume":
            if a.run_flags != "---s--":
                conn.send(b"error EINVAL domain is not suspended")
                return
            a.run_flags = "r-----"
            conn.send(b"ok")
        else:
            SERVE(Replayed(conn, data), a, final)
    finally:
        for fd in fds:
            os.close(fd)


def main():
    p = argparse.ArgumentParser(allow_abbrev=False)
    p.add_argument("--restore-fd", type=int)
    p.add_argument("--ready-fd", type=int)
    a, _ = p.parse_known_args()
    if a.restore_fd is not None:
        try:
            restore(a.restore_fd)
        except (BadStream, OSError, struct.error) as e:
            if a.ready_fd is not None:
                os.write(a.ready_fd, b"error %s\n" % str(e).encode())
            print("error restoring: %s" % e, file=sys.stderr)
            sys.exit(1)
        os.close(a.restore_fd)
    standin.serve = serve
    spawn.main()


if __name__ == "__main__":
    main()
