/* xen_version: who we say we are.  Only platform_parameters (one xen_ulong_t) differs in Xen's compat
 * layout; the strings and feature_info are the same for a 32-bit caller. */
#include <string.h>
#include "lib/xen_version.h"
#include "vmm/domain.h"
#include "vmm/guest_access.h"
#include "xen/compat.h"
#include "xen/hypercalls.h"
#include "xen/xen_state.h"

static long copy_out(struct vcpu *vcpu, uint64_t gva, const void *src, size_t len)
{
	return guest_copy_to(vcpu, gva, src, len) ? -XEN_EFAULT : 0;
}

static uint32_t feature_submap(uint32_t index)
{
	/* What is true of an HVM-style guest here: its own page tables, the vector callback, and a
	 * pvclock whose TSC is stable. */
	(void)index;
	return (1u << XENFEAT_writable_page_tables) | (1u << XENFEAT_auto_translated_physmap) |
	       (1u << XENFEAT_hvm_callback_vector) | (1u << XENFEAT_hvm_safe_pvclock);
}

long hcall_xen_version(struct vcpu *vcpu, const uint64_t args[5])
{
	uint64_t cmd = args[0], arg = args[1];

	switch (cmd) {
	case XENVER_version:
		return (XENITH_XEN_MAJOR << 16) | XENITH_XEN_MINOR;
	case XENVER_extraversion: {
		xen_extraversion_t extra = { 0 };
		strncpy(extra, XENITH_XEN_EXTRA, sizeof(extra) - 1);
		return copy_out(vcpu, arg, extra, sizeof(extra));
	}
	case XENVER_compile_info: {
		struct xen_compile_info info = { 0 };
		strncpy(info.compiler, "gcc", sizeof(info.compiler) - 1);
		strncpy(info.compile_by, "xenith", sizeof(info.compile_by) - 1);
		strncpy(info.compile_domain, "xenith", sizeof(info.compile_domain) - 1);
		strncpy(info.compile_date, __DATE__, sizeof(info.compile_date) - 1);
		return copy_out(vcpu, arg, &info, sizeof(info));
	}
	case XENVER_capabilities: {
		xen_capabilities_info_t caps = { 0 };
		strncpy(caps, "hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64", sizeof(caps) - 1);
		return copy_out(vcpu, arg, caps, sizeof(caps));
	}
	case XENVER_changeset: {
		xen_changeset_info_t cs = { 0 };
		strncpy(cs, "xenith", sizeof(cs) - 1);
		return copy_out(vcpu, arg, cs, sizeof(cs));
	}
	case XENVER_platform_parameters: {
		xen_platform_parameters_t p = { .virt_start = 0 };
		return xen_arg_out(vcpu, &xen_abi_platform_parameters, arg, &p) ? -XEN_EFAULT : 0;
	}
	case XENVER_get_features: {
		xen_feature_info_t fi;
		if (guest_copy_from(vcpu, &fi, arg, sizeof(fi)))
			return -XEN_EFAULT;
		if (fi.submap_idx != 0)
			return -XEN_EINVAL;     /* XENFEAT_NR_SUBMAPS is 1 */
		fi.submap = feature_submap(fi.submap_idx);
		return copy_out(vcpu, arg, &fi, sizeof(fi));
	}
	case XENVER_pagesize:
		return 4096;
	case XENVER_guest_handle: {
		xen_domain_handle_t handle = { 0 };
		return copy_out(vcpu, arg, handle, sizeof(handle));
	}
	case XENVER_commandline: {
		xen_commandline_t line = { 0 };
		return copy_out(vcpu, arg, line, sizeof(line));
	}
	case XENVER_build_id:
		return -XEN_ENODATA;
	default:
		return xen_unknown_subop(vcpu, __HYPERVISOR_xen_version, cmd);
	}
}
