"""A stand-in for xenith-vmm that xl itself spawns (no KVM needed), for tests/system/libvirt_spawn.sh:
`xl create`, `virsh start` and xenith-libvirtd's autostart run their whole path (xl.cfg, the
argv xl builds, the ready pipe, the saved config, the run directory) and only the domain is fake.

    XENITH_VMM=WRAPPER XENITH_KVM_DEVICE=/dev/null xl create CFG

where WRAPPER is a script that runs `exec -a xenith-vmm PYTHON spawn_standin_vmm.py "$@"`, so that
its command line is a VMM's for xl's checks (xl destroy's fallback looks for xenith-vmm with this
run directory and name).  It takes the VMM's command line (docs/vmm-control.md, "Starting a
domain"): --rundir, --name, --uuid, --memory, --maxmem, --vcpus, --paused, --config and --ready-fd
are used, every other option is ignored.  Like the VMM it makes domains/.new-<pid> (name, console
pty, control socket, and the config xl wrote, moved in), claims a domid under domid.lock by the
rules of src/lib/rundir.c (rundir_claim_domid: no other live domain of the name, the next free
domid after last-domid, its name index entry names/=<name>, the directory renamed whole,
last-domid updated), writes "ok <domid>" on
the ready fd, or "error <why>" having removed what it made, and serves the control socket as
xl_standin_vmm.py does.  SIGTERM tears the domain down as the VMM's handler does."""
import errno
import fcntl
import os
import signal
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xl_standin_vmm as standin  # noqa: E402

DOMID_FIRST = 1
DOMID_LAST = 0x7fef                 # src/lib/rundir.h: Xen's DOMID_FIRST_RESERVED - 1
DOMAIN_NAME_MAX = 64                # src/lib/domain_limits.h


def parse_domid(text):
    """rundir.c's parse_domid: decimal digits only, within DOMID_FIRST..DOMID_LAST; else None."""
    if not text or not all("0" <= c <= "9" for c in text):
        return None
    value = int(text)
    return value if DOMID_FIRST <= value <= DOMID_LAST else None


def read_small_file(path, limit):
    """rundir.c's read_small_file: at most limit bytes, up to the first newline; None if unreadable."""
    try:
        with open(path, "rb") as f:
            data = f.read(limit)
    except OSError:
        return None
    return data.split(b"\n", 1)[0].decode(errors="surrogateescape")


def indexed_domid(rundir, name):
    """rundir.c's rundir_find_name: the domid names/=<name> points at if that domain is live with
    this name (the index is checked against domains/<domid>/name), else None."""
    try:
        domid = parse_domid(os.readlink(os.path.join(rundir, "names", "=" + name)))
    except OSError:
        return None
    if domid is None:
        return None
    live = read_small_file(os.path.join(rundir, "domains", str(domid), "name"), DOMAIN_NAME_MAX + 1)
    return domid if live == name else None


def claim_domid(rundir, staging, name):
    """rundir_claim_domid with keep_domid -1: the domid, or raises OSError (EEXIST: name taken)."""
    lock = os.open(os.path.join(rundir, "domid.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if indexed_domid(rundir, name) is not None:
            raise OSError(errno.EEXIST, "name taken")
        last_path = os.path.join(rundir, "last-domid")
        last = parse_domid(read_small_file(last_path, 31) or "") or 0
        for step in range(1, DOMID_LAST + 1):
            cand = (last + step - 1) % DOMID_LAST + 1
            target = os.path.join(rundir, "domains", str(cand))
            try:
                os.stat(target)
                continue            # in use
            except FileNotFoundError:
                break
            except OSError:
                continue            # cannot tell: not this one
        else:
            raise OSError(errno.ENOSPC, "no free domain ID")
        # The name index (rundir.c): names/=<name> -> domid, so that xl finds it without a scan.
        link = os.path.join(rundir, "names", "=" + name)
        os.makedirs(os.path.dirname(link), exist_ok=True)
        try:
            os.unlink(link)
        except FileNotFoundError:
            pass
        os.symlink(str(cand), link)
        os.rename(staging, target)
        tmp = os.path.join(rundir, "last-domid.new")
        try:
            with open(tmp, "w") as f:
                f.write("%d\n" % cand)
            os.rename(tmp, last_path)
        except OSError:
            pass                    # as rundir.c: the domid is ours all the same
        return cand
    finally:
        os.close(lock)


def main():
    p = standin.options()
    p.add_argument("--memory", type=int, default=32)          # MiB
    p.add_argument("--maxmem", type=int)                      # MiB, only when above --memory
    p.add_argument("--vcpus", type=int, default=1)
    p.add_argument("--paused", action="store_true")
    p.add_argument("--config")
    a, _ = p.parse_known_args()
    a.console = True                # the VMM always has a console pty
    a.run_flags = "r-----"          # a guest at work: libvirt's "running", where "-b----" is "idle"
    a.mem_kb = a.memory * 1024
    a.maxmem_kb = max(a.maxmem or 0, a.memory) * 1024
    a.uuid = a.uuid or str(uuid.uuid4())     # the VMM makes one when xl gives none
    staging = os.path.join(a.rundir, "domains", ".new-%d" % os.getpid())
    made = {"dir": staging}

    def teardown(_sig, _frame):
        if os.path.isdir(made["dir"]):
            standin.remove_domain_dir(made["dir"])
        os._exit(0)

    def place(stage):
        if a.config:                # keep_config: xl's saved config goes with the domain
            try:
                os.rename(a.config, os.path.join(stage, "config"))
            except OSError as e:
                print("keeping the config %s: %s" % (a.config, e.strerror), file=sys.stderr)
        try:
            domid = claim_domid(a.rundir, stage, a.name)
        except OSError as e:
            why = ("a domain named '%s' already exists" % a.name if e.errno == errno.EEXIST
                   else "choosing a domain ID: %s" % e.strerror)
            standin.remove_domain_dir(stage)
            if a.ready_fd is not None:
                os.write(a.ready_fd, b"error %s\n" % why.encode())
            print("error %s" % why, file=sys.stderr)
            sys.exit(1)
        made["dir"] = standin.domain_dir(a.rundir, domid)
        return domid

    if not a.ignore_term:
        signal.signal(signal.SIGTERM, teardown)
    standin.run(a, place)


if __name__ == "__main__":
    main()
