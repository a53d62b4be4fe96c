/* Segments and the TSS: what the CPU needs to run ring 3 and to trap back to ring 0. */
#ifndef GUEST_GDT_H
#define GUEST_GDT_H

#include <stdint.h>

/* Secondary CPUs the guest can run (smp_ap.c), the boot CPU included. */
#define SMP_MAX_CPUS 8

void gdt_init_tss(void);
/* On secondary CPU `cpu` (1 .. SMP_MAX_CPUS-1), in ring 0: loads its own GDT (the boot GDT's
 * segments) and TSS, whose rsp0 is `rsp0`: a busy TSS cannot be loaded by a second CPU. */
void gdt_load_cpu(unsigned int cpu, uint64_t rsp0);

#endif
