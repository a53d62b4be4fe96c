/* The benchmark loop, shared by the guest (tests/compute.c) and the host (bench/hostloop.c). */
#ifndef GUEST_WORKLOAD_H
#define GUEST_WORKLOAD_H

#include <stdint.h>

uint64_t workload_run(uint64_t loops);

#endif
