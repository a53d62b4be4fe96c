/*
 * hostloop LOOPS: the guest's compute workload (guest/workload.c) run natively on the host, timed
 * with rdtsc like tests/compute.c does in the guest, so the two lines compare directly.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include "workload.h"

static uint64_t rdtsc(void)
{
    uint32_t lo, hi;

    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

int main(int argc, char **argv)
{
    char *end;

    if (argc != 2) {
        fprintf(stderr, "usage: %s LOOPS\n", argv[0]);
        return 2;
    }
    uint64_t loops = strtoull(argv[1], &end, 0);
    if (!*argv[1] || *end) {
        fprintf(stderr, "%s: LOOPS must be a number, not '%s'\n", argv[0], argv[1]);
        return 2;
    }
    uint64_t t0 = rdtsc();
    uint64_t result = workload_run(loops);
    uint64_t t1 = rdtsc();
    printf("hostloop loops=%" PRIu64 " tsc=%" PRIu64 " result=%" PRIu64 "\n", loops, t1 - t0, result);
    return 0;
}
