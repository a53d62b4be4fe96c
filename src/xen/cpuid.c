/* CPUID as a Xen HVM guest sees it: the host's features as KVM offers them, with Xen's leaves at
 * 0x40000000 in place of KVM's, so guests find "XenVMMXenVMM" and the hypercall MSR. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include "lib/error.h"
#include "lib/xen_version.h"
#include "vmm/domain.h"
#include "xen/xen_state.h"

#define CPUID_MAX_ENTRIES 256
#define XEN_CPUID_BASE 0x40000000u
#define XEN_CPUID_LAST 0x40000004u

static void put_signature(struct kvm_cpuid_entry2 *e)
{
	static const char sig[12] = "XenVMMXenVMM";

	memcpy(&e->ebx, sig, 4);
	memcpy(&e->ecx, sig + 4, 4);
	memcpy(&e->edx, sig + 8, 4);
}

/* Fills Xen's leaves; returns how many entries it used. */
static unsigned int xen_leaves(struct kvm_cpuid_entry2 *out)
{
	for (uint32_t leaf = XEN_CPUID_BASE; leaf <= XEN_CPUID_LAST; leaf++)
		out[leaf - XEN_CPUID_BASE] = (struct kvm_cpuid_entry2){ .function = leaf };
	out[0].eax = XEN_CPUID_LAST;
	put_signature(&out[0]);
	out[1].eax = (XENITH_XEN_MAJOR << 16) | XENITH_XEN_MINOR;
	out[2].eax = 1;                      /* hypercall pages */
	out[2].ebx = XEN_HYPERCALL_MSR;
	/* Leaves 3 (time) and 4 (HVM features) stay zero until the PV-core features exist. */
	return XEN_CPUID_LAST - XEN_CPUID_BASE + 1;
}

int xen_vcpu_setup(struct domain *dom, struct vcpu *vcpu, char *err, size_t errlen)
{
	size_t size = sizeof(struct kvm_cpuid2) + CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *cpuid = calloc(1, size);
	unsigned int n = 0;
	int r = -1;

	if (!cpuid) {
		ERR_SET(err, errlen, "out of memory for CPUID");
		return -1;
	}
	cpuid->nent = CPUID_MAX_ENTRIES - 8;
	if (ioctl(dom->vm.kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) < 0) {
		ERR_SET(err, errlen, "KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		goto out;
	}
	for (unsigned int i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		/* KVM's own paravirt leaves would tell the guest it runs on KVM: drop them. */
		if (e->function >= XEN_CPUID_BASE && e->function < XEN_CPUID_BASE + 0x10000)
			continue;
		if (e->function == 1) {
			e->ebx = (e->ebx & 0x00ffffff) | (vcpu->id << 24);   /* initial APIC ID */
			e->ecx |= 1u << 31;      /* "hypervisor present", as under Xen */
		}
		if (e->function == 0xb || e->function == 0x1f)
			e->edx = vcpu->id;       /* x2APIC ID */
		cpuid->entries[n++] = *e;
	}
	n += xen_leaves(&cpuid->entries[n]);
	cpuid->nent = n;
	if (ioctl(vcpu->fd, KVM_SET_CPUID2, cpuid) < 0) {
		ERR_SET(err, errlen, "KVM_SET_CPUID2 for vCPU %u: %s", vcpu->id, strerror(errno));
		goto out;
	}
	r = xen_time_vcpu_setup(dom, vcpu, err, errlen);
out:
	free(cpuid);
	return r;
}
