"""A stand-in VMM and its guest for tests/system/xs_restart.sh: the ring of an introduced domain
resumes in a restarted xenstored.

As the VMM it writes the domain's home (owned by the domain), introduces it with a guest-RAM memfd
and two eventfds (SCM_RIGHTS, as xenstore_link.c does).  As the guest it sets a watch on its name
and reads it through the ring page in that memfd, then prints "ready".  When xenstored's socket
hangs up (the test SIGKILLs it), the guest queues another READ and kicks (the kick waits in the
eventfd, as a real guest's does); the VMM connects again as soon as a xenstored answers and sends
INTRODUCE again with the same memfd and eventfds.  It then waits for the queued READ's answer and
the watch firing again, and prints "resumed <value> watch <path> <token>".
Usage: xs_resume_vmm.py SOCKET DOMID NAME"""
import mmap
import os
import socket
import struct
import sys
import time

from xs_wire import TYPES, Conn

RING_PAGE = 2                   # the ring's page in the memfd (INTRODUCE's mfn)
RING_SIZE = 1024                # XENSTORE_RING_SIZE
REQ, RSP = 0, 1024              # struct xenstore_domain_interface: req[1024], rsp[1024], then
REQ_CONS, REQ_PROD, RSP_CONS, RSP_PROD = 2048, 2052, 2056, 2060   # the four indices
TOKEN = "gtok"


class Ring:
    def __init__(self, memfd):
        self.m = mmap.mmap(memfd, 4096, offset=RING_PAGE * 4096)
        self.pending = b""
        self.seen = []

    def u32(self, off):
        return struct.unpack_from("<I", self.m, off)[0]

    def set_u32(self, off, v):
        struct.pack_into("<I", self.m, off, v & 0xffffffff)

    def put(self, kind, req_id, payload):
        msg = struct.pack("<IIII", TYPES[kind], req_id, 0, len(payload)) + payload
        prod = self.u32(REQ_PROD)
        if len(msg) > RING_SIZE - (prod - self.u32(REQ_CONS)):
            sys.exit("guest: no room in the request ring")
        for i, b in enumerate(msg):
            self.m[REQ + (prod + i) % RING_SIZE] = b
        self.set_u32(REQ_PROD, prod + len(msg))

    def messages(self):
        """Takes what xenstored wrote to the response ring; yields whole messages."""
        cons, prod = self.u32(RSP_CONS), self.u32(RSP_PROD)
        if prod - cons > RING_SIZE:
            sys.exit("guest: response ring indices out of range (%d, %d)" % (cons, prod))
        self.pending += bytes(self.m[RSP + (cons + i) % RING_SIZE] for i in range(prod - cons))
        self.set_u32(RSP_CONS, prod)
        while len(self.pending) >= 16:
            t, r, _, n = struct.unpack_from("<IIII", self.pending)
            if len(self.pending) < 16 + n:
                break
            body, self.pending = self.pending[16:16 + n], self.pending[16 + n:]
            yield t, r, body


def kick(fd):
    os.write(fd, struct.pack("<Q", 1))


def wait_for(ring, want, what, seconds=10):
    """Takes the first response, in ring order, for which want(t, req_id, body) holds (waiting
    for it up to `seconds`); returns its body.  Others stay for later calls."""
    deadline = time.monotonic() + seconds
    while True:
        ring.seen.extend(ring.messages())
        for i, (t, r, body) in enumerate(ring.seen):
            if t == TYPES["ERROR"]:
                sys.exit("guest: %s: error %r" % (what, body))
            if want(t, r, body):
                del ring.seen[i]
                return body
        if time.monotonic() > deadline:
            sys.exit("guest: no %s within %d s" % (what, seconds))
        time.sleep(0.02)


def introduce(c, domid, memfd, kickfd, notify):
    payload = b"%d\0%d\0%d\0" % (domid, RING_PAGE, 1)
    c.req += 1
    socket.send_fds(c.s, [struct.pack("<IIII", TYPES["INTRODUCE"], c.req, 0, len(payload)) + payload],
                    [memfd, kickfd, notify])
    t, _, _, body = c.recv_msg()
    if t != TYPES["INTRODUCE"]:
        sys.exit("vmm: INTRODUCE: %r" % body)


def main():
    path, domid, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    home = "/local/domain/%d" % domid
    c = Conn(path)
    node = home + "/name"
    status, body = c.call("WRITE", raw=node.encode() + b"\0" + name.encode())
    if status != "OK":
        sys.exit("vmm: WRITE %s: %s" % (node, body))
    for node in (home, node):
        status, body = c.call("SET_PERMS", node, "n%d" % domid)
        if status != "OK":
            sys.exit("vmm: SET_PERMS %s: %s" % (node, body))
    memfd = os.memfd_create(name, os.MFD_CLOEXEC)
    os.ftruncate(memfd, 16 * 4096)
    kickfd, notify = os.eventfd(0, os.EFD_CLOEXEC), os.eventfd(0, os.EFD_CLOEXEC)
    ring = Ring(memfd)
    introduce(c, domid, memfd, kickfd, notify)

    name_path = (home + "/name").encode()
    ring.put("WATCH", 1, name_path + b"\0" + TOKEN.encode() + b"\0")
    ring.put("READ", 2, name_path + b"\0")
    kick(kickfd)
    wait_for(ring, lambda t, r, b: t == TYPES["WATCH_EVENT"], "first watch event")
    first = wait_for(ring, lambda t, r, b: t == TYPES["READ"] and r == 2, "READ answer")
    if first != name.encode():
        sys.exit("guest: READ gave %r" % first)
    print("ready", flush=True)

    c.s.settimeout(None)
    try:
        while c.s.recv(4096):
            pass
    except OSError:
        pass
    c.close()
    # xenstored is gone: the guest goes on and queues a request; its kick waits in the eventfd.
    ring.put("READ", 3, name_path + b"\0")
    kick(kickfd)
    # As the VMM's xenstore link does (src/backends/xenstore_link.c): connect and introduce again
    # until it takes, so a connection lost on the way (said on stdout) is retried, not fatal.
    deadline = time.monotonic() + 15
    while True:
        try:
            c = Conn(path)
            introduce(c, domid, memfd, kickfd, notify)
            break
        except (OSError, EOFError) as e:
            if not isinstance(e, (FileNotFoundError, ConnectionRefusedError)):
                print("retry after %s" % e, flush=True)
            if time.monotonic() > deadline:
                sys.exit("vmm: no xenstored took the introduction within 15 s")
            time.sleep(0.1)
    value = wait_for(ring, lambda t, r, b: t == TYPES["READ"] and r == 3, "queued READ's answer")
    event = wait_for(ring, lambda t, r, b: t == TYPES["WATCH_EVENT"], "watch firing again")
    wpath, wtoken = (event.split(b"\0") + [b"", b""])[:2]
    print("resumed %s watch %s %s" % (value.decode(), wpath.decode(), wtoken.decode()), flush=True)
    while True:
        time.sleep(60)


if __name__ == "__main__":
    main()
