/* Finishing instructions the host's KVM could not emulate (KVM_EXIT_INTERNAL_ERROR with suberror
 * KVM_INTERNAL_ERROR_EMULATION), with src/vmm/x86_emulate.c on the vCPU's real state. */
#ifndef XENITH_VCPU_EMULATE_H
#define XENITH_VCPU_EMULATE_H

#include <stdbool.h>
#include <stddef.h>
#include "vmm/x86_emulate.h"

struct vcpu;

/* Emulates the instruction at the vCPU's rip: executed (rip advanced), or the exception the CPU
 * would raise queued for the guest's IDT.  True if the vCPU may run on; false with `why` naming the
 * instruction's bytes, for the caller to crash the domain.  `stats` (may be NULL) counts by kind;
 * the first of each kind is logged. */
bool vcpu_emulate(struct vcpu *vcpu, struct x86_emu_stats *stats, char *why, size_t len);

#endif
