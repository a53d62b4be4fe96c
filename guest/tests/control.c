/*
 * `control [timeout=S] [ignore=1]`: the toolstack's requests, as Linux's manage.c takes them.
 * Advertises feature-poweroff/reboot, prints `control: ready`, then answers control/sysrq
 * (`sysrq: KEY`) until a control/shutdown request: `control: shutdown request WHAT`, and shuts down
 * with that reason.  A "suspend" request is Xen's cooperative suspend (suspend.c):
 * `control: suspend resumed in a new domain` or `control: suspend cancelled`, and it carries on.
 *
 * ignore=1: a guest that claims the features (and sets the watches) but never acts on a request:
 * prints `control: ready (ignoring requests)` and sleeps in SCHEDOP_poll on no port until the timeout,
 * never reading the store ring, so requests stay in control/shutdown, uncleared (xl must time out).
 * Then `control: timeout, N s without taking a request` and PASS.
 */
#include <stddef.h>
#include "cmdline.h"
#include "console.h"
#include "control.h"
#include "events.h"
#include "hypercall.h"
#include "klib.h"
#include "pv.h"
#include "suspend.h"
#include "tests/tests.h"
#include "time.h"
#include "xerrno.h"

static const char *run(const char *cmdline, char *why)
{
    const char *fail;
    int rc;

    if ((fail = pv_need("xenstore", pv_status.xenbus, why)))
        return fail;
    if ((rc = control_init())) {
        snprintf(why, WHY_SIZE, "control_init: %s (%d)", errno_name(rc), rc);
        return why;
    }
    uint64_t timeout_s = cmdline_u64(cmdline, "timeout", 120);
    uint64_t deadline = monotonic_ns() + timeout_s * NS_PER_S;
    if (cmdline_u64(cmdline, "ignore", 0)) {
        printk("control: ready (ignoring requests)\n");
        /* No ports: only the deadline (or a spurious wake-up, after which we sleep again) ends it. */
        while (evtchn_wait(NULL, 0, deadline) != -XEN_ETIMEDOUT)
            ;
        printk("control: timeout, %lu s without taking a request\n", (unsigned long)timeout_s);
        return NULL;
    }
    printk("control: ready\n");
    for (;;) {
        struct control_request req;
        if ((rc = control_wait(&req, deadline))) {
            snprintf(why, WHY_SIZE, "waiting for control/shutdown: %s (%d)", errno_name(rc), rc);
            return why;
        }
        if (req.kind == CONTROL_SYSRQ) {
            printk("sysrq: %s\n", req.what);
            continue;
        }
        printk("control: shutdown request %s\n", req.what);
        if (req.kind == CONTROL_SUSPEND) {
            struct suspend_outcome out;
            enum suspend_result r = guest_suspend(&out, why);
            if (r == SUSPEND_FAILED)
                return why;
            printk("control: suspend %s\n", r == SUSPEND_RESUMED ? "resumed in a new domain" : "cancelled");
            continue;
        }
        if (!strcmp(req.what, "poweroff") || !strcmp(req.what, "halt"))
            xen_shutdown(SHUTDOWN_poweroff);
        if (!strcmp(req.what, "reboot"))
            xen_shutdown(SHUTDOWN_reboot);
        printk("control: unknown shutdown request ignored\n");
    }
}

const struct test test_control = { "control", run };
