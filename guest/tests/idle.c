/*
 * For density runs (bench/density.sh, tests/system/density.sh): after the banner, says `idle` once
 * and then blocks in SCHEDOP_block for ever.  No timer is armed, so the domain costs the host
 * nothing until an event arrives; an event (a console or xenstore notification) only wakes it to
 * block again.  The harness destroys the domain.  A VMM that refuses SCHEDOP_block fails the test.
 */
#include <stddef.h>
#include <stdint.h>
#include "console.h"
#include "hypercall.h"
#include "klib.h"
#include "tests/tests.h"

static const char *run(const char *cmdline, char *why)
{
    (void)cmdline;
    printk("idle: blocking in SCHEDOP_block with no timer\n");
    for (;;) {
        long rc = sched_op(SCHEDOP_block, NULL);

        if (rc) {
            snprintf(why, WHY_SIZE, "SCHEDOP_block returned %ld", rc);
            return why;
        }
    }
}

const struct test test_idle = { "idle", run };
