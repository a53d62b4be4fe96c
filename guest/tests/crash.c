/* Ends the domain with SHUTDOWN_crash, so the toolstack's on_crash action can be tested. */
#include "console.h"
#include "hypercall.h"
#include "tests/tests.h"

static const char *run(const char *cmdline, char *why)
{
    (void)cmdline, (void)why;
    printk("crashing on purpose\n");
    xen_shutdown(SHUTDOWN_crash);
}

const struct test test_crash = { "crash", run };
