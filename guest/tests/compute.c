/* `compute loops=N`: the ring-3 workload timed with rdtsc, to compare with bench/hostloop on the host. */
#include <stdint.h>
#include "cmdline.h"
#include "console.h"
#include "tests/tests.h"
#include "workload.h"
#include "x86.h"

static const char *run(const char *cmdline, char *why)
{
    uint64_t loops = cmdline_u64(cmdline, "loops", 100000000);

    (void)why;
    uint64_t t0 = rdtsc();
    uint64_t result = workload_run(loops);
    uint64_t t1 = rdtsc();
    printk("compute loops=%lu tsc=%lu result=%lu\n", loops, t1 - t0, result);
    return NULL;
}

const struct test test_compute = { "compute", run };
