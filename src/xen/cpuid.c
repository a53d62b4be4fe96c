/* CPUID as a Xen HVM guest sees it: the host's features as KVM offers them, with Xen's leaves at
 * 0x40000000 in place of KVM's, so guests find "XenVMMXenVMM" and the hypercall MSR. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include "lib/error.h"
#include <xen/arch-x86/cpuid.h>
#include "lib/xen_version.h"
#include "vmm/domain.h"
#include "xen/cpuid.h"
#include "xen/xen_state.h"

#define CPUID_MAX_ENTRIES 256
#define CPUID1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID1_ECX_HYPERVISOR (1u << 31)

static void put_signature(struct kvm_cpuid_entry2 *e)
{
	static const char sig[12] = "XenVMMXenVMM";

	memcpy(&e->ebx, sig, 4);
	memcpy(&e->ecx, sig + 4, 4);
	memcpy(&e->edx, sig + 8, 4);
}

/* Fills Xen's leaves; returns how many entries it used.  Leaf 4 (HVM features, sub-leaf 0) says what
 * Xen 4.17 says for a PVH guest, less what we do not do:
 *  - XEN_HVM_CPUID_VCPU_ID_PRESENT / DOMID_PRESENT, ebx = vCPU id, ecx = domid;
 *  - XEN_HVM_CPUID_IOMMU_MAPPINGS, which Xen sets always (grant maps honour DMA requests);
 *  - not XEN_HVM_CPUID_UPCALL_VECTOR: with it Linux takes per-vCPU APIC upcalls and then calls
 *    HVMOP_set_param(CALLBACK_IRQ, 1) (GSI 1, "to trick the toolstack"), which we refuse, having no
 *    GSI routing; Linux would fall back with vCPU 0's APIC vector already set.  Without the flag it
 *    uses the domain-wide callback vector, which we deliver straight to the vCPU (vmm/upcall.c);
 *  - not APIC_ACCESS_VIRT / X2APIC_VIRT, which describe VT-x features of the host Xen runs on.
 * Leaf 3 (TSC) stays zero: Linux PVH reads it nowhere; leaf 5 is for PV guests only. */
static unsigned int xen_leaves(struct kvm_cpuid_entry2 *out, const struct xen_cpuid_vcpu *v)
{
	for (uint32_t leaf = XEN_CPUID_BASE; leaf <= XEN_CPUID_LAST; leaf++)
		out[leaf - XEN_CPUID_BASE] = (struct kvm_cpuid_entry2){ .function = leaf };
	out[0].eax = XEN_CPUID_LAST;
	put_signature(&out[0]);
	out[1].eax = (XENITH_XEN_MAJOR << 16) | XENITH_XEN_MINOR;
	out[2].eax = 1;                      /* hypercall pages */
	out[2].ebx = XEN_HYPERCALL_MSR;
	struct kvm_cpuid_entry2 *hvm = &out[4];
	hvm->flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;   /* sub-leaf 0 only, as Xen */
	hvm->index = 0;
	hvm->eax = XEN_HVM_CPUID_IOMMU_MAPPINGS | XEN_HVM_CPUID_VCPU_ID_PRESENT | XEN_HVM_CPUID_DOMID_PRESENT;
	hvm->ebx = v->vcpu_id;
	hvm->ecx = v->domid;
	return XEN_CPUID_LAST - XEN_CPUID_BASE + 1;
}

unsigned int xen_cpuid_build(struct kvm_cpuid_entry2 *e, unsigned int n, unsigned int max,
			     const struct xen_cpuid_vcpu *v)
{
	unsigned int out = 0;

	if (n > max)
		return 0;
	for (unsigned int i = 0; i < n; i++) {
		struct kvm_cpuid_entry2 cur = e[i];

		/* KVM's own paravirt leaves would tell the guest it runs on KVM: drop them. */
		if (cur.function >= XEN_CPUID_BASE && cur.function < XEN_CPUID_BASE + 0x10000)
			continue;
		if (cur.function == 1) {
			cur.ebx = (cur.ebx & 0x00ffffff) | (v->vcpu_id << 24);   /* initial APIC ID */
			cur.ecx |= CPUID1_ECX_HYPERVISOR;       /* as under Xen */
			/* KVM emulates the TSC-deadline timer but never lists it (api.rst): without it Linux
			 * would also set up a PIT clockevent, which costs exits. */
			if (v->tsc_deadline)
				cur.ecx |= CPUID1_ECX_TSC_DEADLINE;
		}
		if (cur.function == 0xb || cur.function == 0x1f)
			cur.edx = v->vcpu_id;                   /* x2APIC ID */
		e[out++] = cur;
	}
	if (max - out < XEN_CPUID_LAST - XEN_CPUID_BASE + 1)
		return 0;
	return out + xen_leaves(&e[out], v);
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
	const struct xen_cpuid_vcpu v = {
		.vcpu_id = vcpu->id,
		.domid = (uint16_t)dom->domid,
		.tsc_deadline = ioctl(dom->vm.kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0,
	};
	n = xen_cpuid_build(cpuid->entries, cpuid->nent, CPUID_MAX_ENTRIES, &v);
	if (!n) {
		ERR_SET(err, errlen, "CPUID for vCPU %u: more than %u entries", vcpu->id, CPUID_MAX_ENTRIES);
		goto out;
	}
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
