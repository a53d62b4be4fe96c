/* hvm_op: HVM parameters (the callback vector, where the store and console rings are) and the
 * per-vCPU upcall vector.  Its structs are the same in Xen's compat layout (Xen runs do_hvm_op for
 * 32-bit callers too); setting the callback latches the domain's shared_info width, as in Xen. */
#include "vmm/domain.h"
#include "vmm/guest_access.h"
#include "xen/compat.h"
#include "xen/hypercalls.h"
#include "xen/xen_state.h"

static long set_param(struct vcpu *vcpu, struct xen_hvm_param *p)
{
	struct domain *dom = vcpu->dom;

	/* A guest may choose how it is called back; the rest is the toolstack's to set. */
	if (p->index != HVM_PARAM_CALLBACK_IRQ)
		return -XEN_EPERM;
	uint64_t type = p->value >> 56;
	if (p->value && type != HVM_PARAM_CALLBACK_TYPE_VECTOR)
		return -XEN_EOPNOTSUPP;   /* GSI and PCI INTx callbacks need emulated interrupt routing */
	if (p->value && (p->value & 0xff) < 0x10)
		return -XEN_EINVAL;
	dom->xen.callback_via = p->value;
	dom->xen.params[HVM_PARAM_CALLBACK_IRQ] = p->value;
	/* Xen's hvm_latch_shinfo_size, after the value is taken (and even where it is 0). */
	xen_shinfo_latch_locked(dom, xen_call_compat(vcpu));
	return 0;
}

/* A hint for shadow paging.  Xen 4.17 acts on it only for a shadow-paged guest; with HAP (what a PVH
 * guest gets, and what KVM's paging is) its own domain is -EINVAL, another one -EOPNOTSUPP, an
 * unknown one -ESRCH.  Linux probes it once at boot and, only on success, calls it at every process
 * exit: an error here spares a PVM host an exit per process. */
static long pagetable_dying(struct vcpu *vcpu, uint64_t arg)
{
	struct xen_hvm_pagetable_dying a;

	if (guest_copy_from(vcpu, &a, arg, sizeof(a)))
		return -XEN_EFAULT;
	if (a.domid == DOMID_SELF || a.domid == (domid_t)vcpu->dom->domid)
		return -XEN_EINVAL;
	return a.domid == 0 ? -XEN_EOPNOTSUPP : -XEN_ESRCH;   /* Dom0 always exists; others we cannot see */
}

long hcall_hvm_op(struct vcpu *vcpu, const uint64_t args[5])
{
	struct domain *dom = vcpu->dom;
	long r;

	switch (args[0]) {
	case HVMOP_set_param:
	case HVMOP_get_param: {
		struct xen_hvm_param p;
		if (guest_copy_from(vcpu, &p, args[1], sizeof(p)))
			return -XEN_EFAULT;
		if (p.domid != DOMID_SELF && p.domid != (domid_t)dom->domid)
			return -XEN_ESRCH;
		if (p.index >= HVM_NR_PARAMS)
			return -XEN_EINVAL;
		pthread_mutex_lock(&dom->xen.lock);
		if (args[0] == HVMOP_set_param) {
			r = set_param(vcpu, &p);
		} else {
			p.value = dom->xen.params[p.index];
			r = 0;
		}
		pthread_mutex_unlock(&dom->xen.lock);
		if (!r && args[0] == HVMOP_get_param && guest_copy_to(vcpu, args[1], &p, sizeof(p)))
			return -XEN_EFAULT;
		return r;
	}
	case HVMOP_set_evtchn_upcall_vector: {
		struct xen_hvm_evtchn_upcall_vector u;
		if (guest_copy_from(vcpu, &u, args[1], sizeof(u)))
			return -XEN_EFAULT;
		if (u.vcpu >= dom->n_vcpus)
			return -XEN_ENOENT;
		if (u.vector < 0x10)
			return -XEN_EINVAL;
		pthread_mutex_lock(&dom->xen.lock);
		dom->xen.vcpu[u.vcpu].upcall_vector = u.vector;
		pthread_mutex_unlock(&dom->xen.lock);
		return 0;
	}
	case HVMOP_pagetable_dying:
		return pagetable_dying(vcpu, args[1]);
	default:
		return xen_unknown_subop(vcpu, __HYPERVISOR_hvm_op, args[0]);
	}
}
