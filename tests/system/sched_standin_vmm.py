"""A stand-in for xenith-vmm's placement and share requests, for tests/system/sched.sh (no KVM):
it makes domains/<domid>/ as the VMM does and answers `info`, `vcpu-list`, `vcpu-pin` and
`sched-credit` as docs/vmm-control.md says, keeping the affinities, weight and cap it was given.
Every request is appended to --log, so the test sees what xl sent.

    sched_standin_vmm.py --rundir DIR --name NAME --domid N --vcpus N --log FILE [--unenforced WHY]

With --unenforced it answers as a VMM without a cgroup: values with `unenforced=WHY`, and setting
them refused with ENOTSUP."""
import argparse
import os
import socket


def main():
    p = argparse.ArgumentParser()
    for opt in ("--rundir", "--name", "--log"):
        p.add_argument(opt, required=True)
    p.add_argument("--domid", type=int, required=True)
    p.add_argument("--vcpus", type=int, required=True)
    p.add_argument("--unenforced")
    a = p.parse_args()
    staging = os.path.join(a.rundir, "domains", ".new-%d" % os.getpid())
    final = os.path.join(a.rundir, "domains", str(a.domid))
    os.makedirs(staging)
    with open(os.path.join(staging, "name"), "w") as f:
        f.write(a.name)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    srv.bind(os.path.join(staging, "control.sock"))
    srv.listen(16)
    os.rename(staging, final)
    state = {"weight": 256, "cap": 0, "hard": ["all"] * a.vcpus, "soft": ["all"] * a.vcpus}
    print("ready", flush=True)
    while True:
        conn, _ = srv.accept()
        try:
            text = conn.recv(4096).decode(errors="replace")
            with open(a.log, "a") as log:
                log.write(text + "\n")
            conn.send(answer(text.split(), a, state).encode())
        except OSError:
            pass
        conn.close()


def answer(req, a, st):
    if not req:
        return "error EINVAL empty request"
    if req[0] == "info":
        return ("ok domid=%d name=%s mem=32 vcpus=%d state=-b---- cputime=0.5 hypercalls=7 "
                "unseen_hypercalls=0" % (a.domid, a.name, a.vcpus))
    if req[0] == "vcpu-list":
        lines = ["ok"]
        for i in range(a.vcpus):
            cpu, state = (-1, "p") if i == a.vcpus - 1 and a.vcpus > 1 else (i % 2, "rb"[i % 2])
            lines.append("vcpu=%d cpu=%d state=%s time=%.3f hard=%s soft=%s"
                         % (i, cpu, state, 1.25 * i, st["hard"][i], st["soft"][i]))
        return "\n".join(lines)
    if req[0] == "vcpu-pin":
        if len(req) not in (3, 4):
            return "error EINVAL usage: vcpu-pin VCPU HARD [SOFT]"
        ids = range(a.vcpus) if req[1] == "all" else [int(req[1])]
        if any(i >= a.vcpus for i in ids):
            return "error EINVAL vCPU %s does not exist (the domain has %d)" % (req[1], a.vcpus)
        for i in ids:
            if req[2] != "-":
                st["hard"][i] = req[2]
            if len(req) == 4 and req[3] != "-":
                st["soft"][i] = req[3]
        return "ok"
    if req[0] == "sched-credit":
        sets = dict(w.split("=", 1) for w in req[1:])
        if sets and a.unenforced:
            return "error ENOTSUP weight and cap are not enforced on this host: " + a.unenforced
        st.update({k: int(v) for k, v in sets.items()})
        tail = "unenforced=" + a.unenforced if a.unenforced else "cgroup=/sys/fs/cgroup/xenith.slice/x"
        return "ok weight=%d cap=%d %s" % (st["weight"], st["cap"], tail)
    return "error ENOSYS the stand-in does not do " + req[0]


main()
