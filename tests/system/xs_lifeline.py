"""A stand-in VMM for tests/system/xs_lifeline.sh: writes a domain's home and a vif backend
directory, introduces the domain with a guest-RAM memfd and two eventfds (SCM_RIGHTS, as the VMM
does), prints "ready", then sleeps until it is killed.  Usage: xs_lifeline.py SOCKET DOMID NAME"""
import os
import socket
import struct
import sys
import time

from xs_wire import TYPES, Conn


def main():
    path, domid, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    c = Conn(path)
    home = "/local/domain/%d" % domid
    be = "/local/domain/0/backend/vif/%d/0" % domid
    for node, value in ((home + "/name", name), (be + "/state", "4"),
                        (home + "/device/vif/0/backend", be)):
        status, body = c.call("WRITE", node, raw=node.encode() + b"\0" + value.encode())
        if status != "OK":
            sys.exit("WRITE %s: %s" % (node, body))
    memfd = os.memfd_create(name, os.MFD_CLOEXEC)
    os.ftruncate(memfd, 16 * 4096)
    kick, notify = os.eventfd(0, os.EFD_CLOEXEC), os.eventfd(0, os.EFD_CLOEXEC)
    payload = b"%d\0%d\0%d\0" % (domid, 2, 1)
    c.req += 1
    socket.send_fds(c.s, [struct.pack("<IIII", TYPES["INTRODUCE"], c.req, 0, len(payload)) + payload],
                    [memfd, kick, notify])
    t, _, _, body = c.recv_msg()
    if t != TYPES["INTRODUCE"]:
        sys.exit("INTRODUCE: %r" % body)
    print("ready", flush=True)
    while True:
        time.sleep(60)


if __name__ == "__main__":
    main()
