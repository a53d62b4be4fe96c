/* shared_info and vcpu_info.  Until the guest places shared_info (XENMEM_add_to_physmap) it lives in
 * a page of the VMM's; placing it copies what is there (pending bits included) into the guest page,
 * so no event is lost, as when Xen moves the frame.
 * Their layout is the domain's latched width (xen_state.shinfo_compat, Xen's has_32bit_shinfo): a
 * 32-bit guest's event arrays are of 32-bit words, its mask array and wallclock sit elsewhere, and its
 * vcpu_info selector is 32 bits at offset 4 (compat.c's tables).  Bit n of either layout's pending or
 * mask array is bit n % 32 of the 32-bit word n / 32 (x86 is little-endian), so the event code works
 * on 32-bit words at the layout's offset for both.  Switching width moves nothing, as in Xen (which
 * only rewrites the wallclock). */
#include <stddef.h>
#include <string.h>
#include "vmm/domain.h"
#include "xen/compat.h"
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

static uint32_t *shared_words(struct domain *dom, const char *member)
{
	size_t at = xen_abi_offset(&xen_abi_shared_info, member, dom->xen.shinfo_compat);

	return (uint32_t *)((uint8_t *)dom->xen.shared_info + at);
}

uint32_t *xen_evtchn_pending_words_locked(struct domain *dom)
{
	return shared_words(dom, "evtchn_pending");
}

uint32_t *xen_evtchn_mask_words_locked(struct domain *dom)
{
	return shared_words(dom, "evtchn_mask");
}

uint32_t *xen_wallclock_word_locked(struct domain *dom, const char *member)
{
	return shared_words(dom, member);
}

void xen_vcpu_info_select_locked(struct domain *dom, struct vcpu_info *vi, unsigned int port)
{
	if (dom->xen.shinfo_compat) {
		uint32_t *sel = (uint32_t *)((uint8_t *)vi + xen_abi_offset(&xen_abi_vcpu_info, "evtchn_pending_sel", true));
		__atomic_fetch_or(sel, 1u << (port / 32 % 32), __ATOMIC_ACQ_REL);
	} else {
		__atomic_fetch_or(&vi->evtchn_pending_sel, (xen_ulong_t)1 << (port / 64 % 64), __ATOMIC_ACQ_REL);
	}
}

void xen_vcpu_info_select_all_locked(struct domain *dom, struct vcpu_info *vi)
{
	if (dom->xen.shinfo_compat)
		*(uint32_t *)((uint8_t *)vi + xen_abi_offset(&xen_abi_vcpu_info, "evtchn_pending_sel", true)) = ~0u;
	else
		vi->evtchn_pending_sel = ~(xen_ulong_t)0;
}

void xen_shinfo_latch_locked(struct domain *dom, bool compat)
{
	if (dom->xen.shinfo_compat == compat)
		return;
	dom->xen.shinfo_compat = compat;
	/* Xen rewrites the wallclock where the new width has it; the vCPUs' time records stay put. */
	if (dom->n_vcpus)
		xen_time_update_locked(dom, 0);
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
