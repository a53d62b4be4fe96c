/* The FIFO event-channel ABI's three operations, which we do not offer: guests get the 2-level ABI.
 *
 * What guests do with the answers: Linux (xen_init_IRQ) tries EVTCHNOP_init_control for the boot
 * CPU and, on any negative answer, says "falling back to n-level event channels" and uses 2-level;
 * it never sends expand_array without a control block, and set_priority only for FIFO tuning.  So:
 *  - an argument Xen 4.17 would refuse gets Xen's own answer, checked in Xen's order (-EFAULT for an
 *    unreadable argument, -ENOENT for a vCPU the domain lacks, -EINVAL for a control block that
 *    would cross its page or is not 8-byte aligned, or whose gfn is not populated RAM);
 *  - a well-formed init_control gets -ENOSYS: what every Xen before 4.4 answered, the answer guests
 *    are written to fall back on, and the one Xen's own proposal for domains created without FIFO
 *    (XEN_DOMCTL_CDF_evtchn_fifo, 2020) chose;
 *  - expand_array gets Xen 4.17's answer while no control block is set up: -EOPNOTSUPP;
 *  - set_priority gets Xen 4.17's answer on a 2-level domain: -EINVAL for a port outside the
 *    domain's table, else -ENOSYS (the 2-level ABI has no priorities).
 * None of them is an unknown sub-op: they are answered on purpose and not counted as such. */
#include "vmm/domain.h"
#include "vmm/guest_access.h"
#include "xen/hypercalls.h"
#include "xen/xen_state.h"

static long init_control(struct vcpu *vcpu, uint64_t arg)
{
	struct domain *dom = vcpu->dom;
	struct evtchn_init_control c;
	bool populated;

	if (guest_copy_from(vcpu, &c, arg, sizeof(c)))
		return -XEN_EFAULT;
	if (c.vcpu >= dom->n_vcpus)
		return -XEN_ENOENT;
	if (c.offset > 4096 - sizeof(struct evtchn_fifo_control_block) || (c.offset & 7))
		return -XEN_EINVAL;
	pthread_mutex_lock(&dom->xen.lock);
	populated = xen_gfn_populated_locked(dom, c.control_gfn);
	pthread_mutex_unlock(&dom->xen.lock);
	if (!populated)
		return -XEN_EINVAL;
	return -XEN_ENOSYS;
}

long evtchn_fifo_op(struct vcpu *vcpu, uint64_t cmd, uint64_t arg)
{
	switch (cmd) {
	case EVTCHNOP_init_control:
		return init_control(vcpu, arg);
	case EVTCHNOP_expand_array: {
		struct evtchn_expand_array e;
		return guest_copy_from(vcpu, &e, arg, sizeof(e)) ? -XEN_EFAULT : -XEN_EOPNOTSUPP;
	}
	case EVTCHNOP_set_priority: {
		struct evtchn_set_priority p;
		if (guest_copy_from(vcpu, &p, arg, sizeof(p)))
			return -XEN_EFAULT;
		return p.port >= EVTCHN_PORTS ? -XEN_EINVAL : -XEN_ENOSYS;
	}
	default:
		return xen_unknown_subop(vcpu, __HYPERVISOR_event_channel_op, cmd);
	}
}
