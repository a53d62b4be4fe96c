/* Ends the domain with SHUTDOWN_reboot, so the toolstack's on_reboot action can be tested. */
#include "console.h"
#include "hypercall.h"
#include "tests/tests.h"

static const char *run(const char *cmdline, char *why)
{
    (void)cmdline, (void)why;
    printk("rebooting on purpose\n");
    xen_shutdown(SHUTDOWN_reboot);
}

const struct test test_reboot = { "reboot", run };
