/* shared_info and vcpu_info.  Until the guest places shared_info (XENMEM_add_to_physmap) it lives in
 * a page of the VMM's; placing it copies what is there (pending bits included) into the guest page,
 * so no event is lost, as when Xen moves the frame. */
#include <string.h>
#include "vmm/domain.h"
#include "xen/xen_state.h"

struct vcpu_info *xen_vcpu_info_locked(struct domain *dom, unsigned int vcpu)
{
	struct xen_vcpu_state *v = &dom->xen.vcpu[vcpu];

	if (vcpu >= XEN_MAX_VCPUS)
		return NULL;
	if (v->info_registered)
		return v->info;
	return vcpu < XEN_LEGACY_MAX_VCPUS ? &dom->xen.shared_info->vcpu_info[vcpu] : NULL;
}

int shared_info_place_locked(struct domain *dom, uint64_t gfn)
{
	struct xen_state *xen = &dom->xen;
	/* A gfn above 2^52 would wrap in the shift and alias a low frame. */
	struct shared_info *page = gfn >> 52 ? NULL : vm_gpa_to_hva(&dom->vm, gfn << 12, 4096);

	if (!page)
		return -XEN_EINVAL;
	if (page != xen->shared_info) {
		memcpy(page, xen->shared_info, sizeof(*page));
		memset((uint8_t *)page + sizeof(*page), 0, 4096 - sizeof(*page));
		xen->shared_info = page;
	}
	xen->shared_info_gfn = gfn;
	for (unsigned int v = 0; v < dom->n_vcpus; v++)
		xen_time_update_locked(dom, v);
	return 0;
}
