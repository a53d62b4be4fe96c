"""A tiny xenstore wire-protocol client for tests/system/xenstore.sh (xs_wire.h's framing:
type, req_id, tx_id, len, then len bytes)."""
import socket
import struct
import sys

TYPES = dict(CONTROL=0, DIRECTORY=1, READ=2, GET_PERMS=3, WATCH=4, UNWATCH=5,
             TRANSACTION_START=6, TRANSACTION_END=7, INTRODUCE=8, RELEASE=9,
             GET_DOMAIN_PATH=10, WRITE=11, MKDIR=12, RM=13, SET_PERMS=14, WATCH_EVENT=15,
             ERROR=16, IS_DOMAIN_INTRODUCED=17)


class Conn:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(10)
        self.s.connect(path)
        self.req = 1

    def send_raw(self, data):
        self.s.sendall(data)

    def recv_exact(self, n):
        out = b""
        while len(out) < n:
            chunk = self.s.recv(n - len(out))
            if not chunk:
                raise EOFError("xenstored closed the connection")
            out += chunk
        return out

    def recv_msg(self):
        t, r, tx, n = struct.unpack("<IIII", self.recv_exact(16))
        return t, r, tx, self.recv_exact(n)

    def call(self, kind, *args, tx=0, raw=None):
        """Sends a request; returns ('OK'|'ERROR', body) skipping watch events."""
        payload = raw if raw is not None else b"".join(
            (a if isinstance(a, bytes) else a.encode()) + b"\0" for a in args)
        req = self.req
        self.req += 1
        self.send_raw(struct.pack("<IIII", TYPES[kind], req, tx, len(payload)) + payload)
        while True:
            t, r, rtx, body = self.recv_msg()
            if t == TYPES["WATCH_EVENT"]:
                continue
            assert r == req and rtx == tx, (r, req, rtx, tx)
            if t == TYPES["ERROR"]:
                return "ERROR", body.rstrip(b"\0").decode()
            assert t == TYPES[kind], (t, kind)
            return "OK", body

    def close(self):
        self.s.close()


def control(path, *args):
    c = Conn(path)
    status, body = c.call("CONTROL", *args)
    c.close()
    if status != "OK":
        sys.exit("CONTROL %s: %s" % (" ".join(args), body))
    return body.rstrip(b"\0").decode()


if __name__ == "__main__":
    # xs_wire.py SOCKET control ARGS...: prints the answer
    if sys.argv[2] == "control":
        print(control(sys.argv[1], *sys.argv[3:]))
