/*
 * Secondary CPUs started the Xen way (VCPUOP_initialise with a 64-bit vcpu_hvm_context, then
 * VCPUOP_up), each running its own ring-3 function.  smp_start is called from ring 3 on CPU 0.
 */
#ifndef GUEST_SMP_H
#define GUEST_SMP_H

#include "gdt.h"

/* How many vCPUs the domain has (ids answering VCPUOP_is_up), at most SMP_MAX_CPUS. */
unsigned int smp_cpu_count(void);
/* Initialises vCPU `cpu` to run fn(cpu) in ring 3 on a stack of its own, and ups it: 0 or -errno
 * (Xen's); *step says which call failed. */
long smp_start(unsigned int cpu, void (*fn)(unsigned long cpu), const char **step);

#endif
