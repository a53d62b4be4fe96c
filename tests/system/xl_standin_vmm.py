"""A stand-in for xenith-vmm's run-directory side, for tests/system/xl_faults.sh (no KVM needed):
it makes domains/<domid>/ as the VMM does (name, control.sock as SOCK_SEQPACKET, whole by rename)
and answers `info` and `destroy` on the control socket as docs/vmm-control.md says.

    xl_standin_vmm.py --rundir DIR --name NAME --domid N [--ready-fd FD] [--ignore-term] [--hang]
                      [--console] [--uuid UUID]

With --ready-fd it writes "ok N" there once listening, unless --hang, which never says anything
(a VMM stuck while starting).  --ignore-term ignores SIGTERM, as a VMM busy in its setup does.
Started as `exec -a xenith-vmm python3 ...`, its command line is a VMM's for xl's checks.
`pause` and `unpause` flip the state flags `info` reports ('p' while paused), as the VMM's do.
With --console it owns a real pty pair as the VMM's console backend does (the slave named in
domains/<domid>/console.tty, its own slave fd kept open): the banner "Xenith stand-in NAME console"
is written at start, and each line typed into the console is answered "stand-in got: LINE" (and
logged as "console LINE" with --log).
`vif-attach SPEC`, `vbd-attach SPEC`, their `-detach DEVID` and `-list` keep a device list as the
VMM's backends do (docs/netif.md, docs/blkif.md): a device waits in InitWait (state 2) for a
frontend that never comes, with no event channel or ring yet (-1); a devid another device holds,
or a detach of one that is not there, is refused as the VMM refuses it.
spawn_standin_vmm.py imports it (options, run) to be a stand-in xl itself spawns."""
import argparse
import os
import signal
import pty
import socket
import sys
import threading
import tty


def options():
    """The options of every stand-in; spawn_standin_vmm.py adds the VMM's own.  No abbreviations:
    xl's --maxmem must not pass for --maxmem-kb."""
    p = argparse.ArgumentParser(allow_abbrev=False)
    p.add_argument("--rundir", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--ready-fd", type=int)
    p.add_argument("--ignore-term", action="store_true")
    p.add_argument("--hang", action="store_true")
    # mem.sh: the RAM it was "built" with (mem-max refuses more) and a log of the requests it gets.
    p.add_argument("--maxmem-kb", type=int, default=32768)
    p.add_argument("--log")
    p.add_argument("--console", action="store_true")
    p.add_argument("--uuid")
    # xl_faults.sh: an hvm domain (info says type=hvm) for xl shutdown -F and xl trigger.
    p.add_argument("--type")
    return p


def main():
    p = options()
    p.add_argument("--domid", type=int, required=True)
    a, _ = p.parse_known_args()

    def place(staging):
        os.rename(staging, domain_dir(a.rundir, a.domid))
        return a.domid
    run(a, place)


def domain_dir(rundir, domid):
    return os.path.join(rundir, "domains", str(domid))


def remove_domain_dir(path):
    """What a stand-in puts in its directory, the name first (from then on nobody lists it)."""
    for entry in ("name", "control.sock", "console.tty", "config"):
        if os.path.exists(os.path.join(path, entry)):
            os.unlink(os.path.join(path, entry))
    os.rmdir(path)


def run(a, place):
    """Makes the domain's directory as domains/.new-<pid>, as the VMM does (name, console, control
    socket), has place(staging) make it whole and return the domid, says ready, and serves the
    control socket until `destroy`.  a.mem_kb, a.vcpus, a.paused and a.run_flags (xl's state flags
    while not paused) are the domain's, if set (32 MiB, one vCPU, not paused, "-b----")."""
    a.paused = getattr(a, "paused", False)
    a.devices = {"vif": {}, "vbd": {}}
    if a.ignore_term:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    staging = os.path.join(a.rundir, "domains", ".new-%d" % os.getpid())
    os.makedirs(staging)
    with open(os.path.join(staging, "name"), "w") as f:
        f.write(a.name)
    if a.console:
        master, slave = pty.openpty()
        tty.setraw(slave)
        with open(os.path.join(staging, "console.tty"), "w") as f:
            f.write(os.ttyname(slave) + "\n")
        os.write(master, b"Xenith stand-in %s console\r\n" % a.name.encode())
        threading.Thread(target=serve_console, args=(master, a), daemon=True).start()
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    srv.bind(os.path.join(staging, "control.sock"))
    srv.listen(16)
    a.domid = place(staging)
    final = domain_dir(a.rundir, a.domid)
    if a.ready_fd is not None and not a.hang:
        os.write(a.ready_fd, b"ok %d\n" % a.domid)
        os.close(a.ready_fd)
    print("ready", flush=True)
    while True:
        conn, _ = srv.accept()
        try:
            serve(conn, a, final)
        except OSError:
            pass            # xl gave up on a request we were too stopped to answer
        conn.close()


def serve_console(master, a):
    """Answers each line typed on the console; a reader that went away (EIO) is waited out, as
    the VMM keeps its pty for the next one."""
    line = b""
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:
            threading.Event().wait(0.05)
            continue
        for b in data:
            if b in (10, 13):
                if line:
                    if a.log:
                        with open(a.log, "a") as f:
                            f.write("console %s\n" % line.decode(errors="replace"))
                    os.write(master, b"\r\nstand-in got: " + line + b"\r\n")
                line = b""
            else:
                line += bytes([b])


def device_request(a, req):
    kind, verb = req[0].split("-")
    devs = a.devices[kind]
    if verb == "list":
        lines = ["ok"]
        for devid in sorted(devs):
            d = devs[devid]
            if kind == "vif":
                lines.append("%d %s 2 -1 -1 -1 %s" % (devid, d["mac"], d["vifname"]))
            else:
                lines.append("%d %s 2 -1 -1 %s %s" % (devid, d["vdev"], d["access"], d["target"]))
        return "\n".join(lines)
    if len(req) != 2:
        return "error EINVAL usage: %s %s" % (req[0], "DEVID" if verb == "detach" else "SPEC")
    if verb == "detach":
        if not req[1].isdigit() or int(req[1]) not in devs:
            return "error ENOENT no %s %s" % (kind, req[1])
        del devs[int(req[1])]
        return "ok"
    spec, rest = {}, req[1]
    while rest:             # key=value,...; a vbd's target= is the rest, commas and all
        key, _, rest = rest.partition("=")
        if key == "target":
            spec[key], rest = rest, ""
        else:
            spec[key], _, rest = rest.partition(",")
    devid = int(spec.get("devid", -1))
    if devid < 0:
        devid = min(set(range(len(devs) + 1)) - set(devs))
    if devid in devs:
        return "error EEXIST %s %d already exists" % (kind, devid)
    if kind == "vif":
        spec.setdefault("vifname", "vif%d.%d" % (a.domid, devid))
        devs[devid] = spec
        return "ok devid=%d vifname=%s" % (devid, spec["vifname"])
    devs[devid] = spec
    return "ok devid=%d" % devid


def serve(conn, a, final):
    req = conn.recv(4096).decode(errors="replace").split()
    if not req:
        return
    if a.log:
        with open(a.log, "a") as f:
            f.write(" ".join(req) + "\n")
    if req[0] == "info":
        mem_kb = getattr(a, "mem_kb", 32768)
        conn.send(("ok domid=%d name=%s mem=%d vcpus=%d state=%s cputime=0.5 "
                   "hypercalls=7 unseen_hypercalls=0 mem_kb=%d maxmem_kb=%d%s"
                   % (a.domid, a.name, mem_kb // 1024, getattr(a, "vcpus", 1),
                      "--p---" if a.paused else getattr(a, "run_flags", "-b----"), mem_kb,
                      getattr(a, "max_kb", a.maxmem_kb),
                      (" uuid=" + a.uuid if a.uuid else "") +
                      (" type=" + a.type if getattr(a, "type", None) else ""))).encode())
    elif req[0] in ("pause", "unpause"):
        a.paused = req[0] == "pause"
        conn.send(b"ok")
    elif req[0] == "mem-max" and len(req) == 2 and req[1].isdigit():
        if int(req[1]) > a.maxmem_kb:
            conn.send(b"error EINVAL %s KiB is above the %d KiB the domain was built with (xl.cfg maxmem)"
                      % (req[1].encode(), a.maxmem_kb))
        else:
            a.max_kb = int(req[1]) // 4 * 4
            conn.send(b"ok maxmem_kb=%d mem_kb=32768" % a.max_kb)
    elif req[0] in ("vif-attach", "vbd-attach", "vif-detach", "vbd-detach", "vif-list", "vbd-list"):
        conn.send(device_request(a, req).encode())
    elif req[0] == "trigger" and len(req) >= 2:
        # As the VMM: power needs an hvm domain's ACPI power button; every request is logged.
        if req[1] == "power" and getattr(a, "type", None) != "hvm":
            conn.send(b"error ENOTSUP a PVH domain has no ACPI power button; use xl shutdown")
        elif req[1] in ("power", "reset", "nmi"):
            conn.send(b"ok")
        else:
            conn.send(b"error ENOTSUP trigger " + req[1].encode() + b" is not supported yet")
    elif req[0] == "destroy":
        conn.send(b"ok")
        conn.close()
        remove_domain_dir(final)
        sys.exit(0)
    else:
        conn.send(b"error ENOSYS the stand-in does not do " + req[0].encode())


if __name__ == "__main__":
    main()
