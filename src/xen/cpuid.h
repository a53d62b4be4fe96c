/* CPUID as a Xen HVM/PVH guest sees it (cpuid.c).  The table is built without KVM, so tests can check
 * it on the host's own leaves. */
#ifndef XENITH_XEN_CPUID_H
#define XENITH_XEN_CPUID_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>

#define XEN_CPUID_BASE 0x40000000u
#define XEN_CPUID_LAST 0x40000005u       /* Xen 4.17's limit (XEN_CPUID_MAX_NUM_LEAVES) */

struct xen_cpuid_vcpu {
	unsigned int vcpu_id;
	uint16_t domid;
	bool tsc_deadline;               /* KVM's in-kernel LAPIC has the TSC-deadline timer */
};

/* Rewrites the `n` entries KVM supports, in place, for one vCPU: KVM's own paravirt leaves dropped,
 * the APIC IDs and feature bits a Xen guest expects set, Xen's leaves appended.  Returns the new
 * count, or 0 if `max` entries cannot hold it. */
unsigned int xen_cpuid_build(struct kvm_cpuid_entry2 *e, unsigned int n, unsigned int max,
			     const struct xen_cpuid_vcpu *v);

#endif
