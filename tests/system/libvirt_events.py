"""An observer of lifecycle events through Debian's python3-libvirt, for tests/system/libvirt_events.sh.

    libvirt_events.py URI [--domain NAME] [--seconds N]

Registers a lifecycle callback for every domain (domainEventRegisterAny with libvirt's default
event loop, run in a thread as libvirt's own examples do) and, with --domain, a second one for
that domain only; prints "registered" once both hold, then one line per event:

    all NAME EVENT DETAIL          (the callback for every domain)
    only NAME EVENT DETAIL         (the --domain one)

with EVENT and DETAIL as libvirt's constant names without their prefix (STARTED BOOTED,
STOPPED DESTROYED, ...).  It ends when its stdin closes or after N seconds (default 60),
deregistering both callbacks and printing "deregistered" (or "error ..." and exit status 1)."""
import argparse
import sys
import threading
import time

import libvirt


LIFECYCLE = ("DEFINED", "UNDEFINED", "STARTED", "SUSPENDED", "RESUMED", "STOPPED", "SHUTDOWN",
             "PMSUSPENDED", "CRASHED")
EVENTS = {getattr(libvirt, "VIR_DOMAIN_EVENT_" + n): n for n in LIFECYCLE}


def detail_name(event, detail):
    """libvirt's name of a detail (VIR_DOMAIN_EVENT_STOPPED_DESTROYED -> DESTROYED)."""
    prefix = "VIR_DOMAIN_EVENT_%s_" % EVENTS.get(event, "?")
    for key in dir(libvirt):
        if key.startswith(prefix) and getattr(libvirt, key) == detail:
            return key[len(prefix):]
    return str(detail)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("uri")
    p.add_argument("--domain")
    p.add_argument("--seconds", type=float, default=60)
    a = p.parse_args()

    libvirt.virEventRegisterDefaultImpl()
    lock = threading.Lock()

    def loop():
        while True:
            libvirt.virEventRunDefaultImpl()

    threading.Thread(target=loop, daemon=True).start()
    conn = libvirt.open(a.uri)

    def callback(tag):
        def cb(_conn, dom, event, detail, _opaque):
            with lock:
                print("%s %s %s %s" % (tag, dom.name(), EVENTS.get(event, event),
                                       detail_name(event, detail)), flush=True)
        return cb

    ids = [conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                       callback("all"), None)]
    if a.domain:
        dom = conn.lookupByName(a.domain)
        ids.append(conn.domainEventRegisterAny(dom, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                               callback("only"), None))
    with lock:
        print("registered", flush=True)

    done = threading.Event()

    def watch_stdin():
        sys.stdin.read()
        done.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    done.wait(a.seconds)
    time.sleep(0.3)          # events already sent are delivered before we leave
    try:
        for i in ids:
            conn.domainEventDeregisterAny(i)
        conn.close()
    except libvirt.libvirtError as e:
        with lock:
            print("error %s" % e, flush=True)
        return 1
    with lock:
        print("deregistered", flush=True)
    return 0


sys.exit(main())
