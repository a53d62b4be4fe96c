/*
 * `hcall-bench count=N`: the cost of a hypercall (xen_version, which does nothing) and of a bare
 * port exit (`outb` to 0x80, which the VMM discards), both from ring 3, in TSC ticks for N of them.
 */
#include <stdint.h>
#include "cmdline.h"
#include "console.h"
#include "hypercall.h"
#include "klib.h"
#include "tests/tests.h"
#include "x86.h"

static const char *run(const char *cmdline, char *why)
{
    uint64_t count = cmdline_u64(cmdline, "count", 100000);
    uint64_t failures = 0;
    long first = 0;

    uint64_t t0 = rdtsc();
    for (uint64_t i = 0; i < count; i++) {
        long rc = xen_version(XENVER_version, NULL);
        failures += rc < 0;
        first = i ? first : rc;
    }
    uint64_t t1 = rdtsc();
    printk("hcall-bench count=%lu tsc=%lu\n", count, t1 - t0);

    t0 = rdtsc();
    for (uint64_t i = 0; i < count; i++)
        outb(0x80, 0);
    t1 = rdtsc();
    printk("portio-bench count=%lu tsc=%lu\n", count, t1 - t0);

    if (failures) {
        snprintf(why, WHY_SIZE, "%lu of %lu xen_version calls failed (first: %ld)", failures, count,
                 first);
        return why;
    }
    return NULL;
}

const struct test test_hcall_bench = { "hcall-bench", run };
