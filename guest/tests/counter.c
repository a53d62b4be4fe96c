/*
 * Counts forever, printing `counter N` after each chunk of about 50 ms of ring-3 work, so a harness
 * can see that pause stops progress and unpause resumes it.  The harness destroys the domain.
 */
#include <stdint.h>
#include "console.h"
#include "tests/tests.h"
#include "workload.h"

#define CHUNK_LOOPS 25000000    /* about 50 ms natively (measured with bench/hostloop) */

/* Never returns: the harness destroys the domain. */
static __attribute__((noreturn)) const char *run(const char *cmdline, char *why)
{
    (void)cmdline, (void)why;
    for (uint64_t n = 1;; n++) {
        workload_run(CHUNK_LOOPS);
        printk("counter %lu\n", n);
    }
}

const struct test test_counter = { "counter", run };
