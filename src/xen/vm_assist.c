/* vm_assist (hypercall 21): optional behaviours a guest switches on.  For HVM and PVH guests Xen 4.17
 * offers one, VMASST_TYPE_runstate_update_flag (runstate.c frames its writes with it); Linux PVH asks
 * for it and, if granted, also reads other CPUs' runstates.  Any other type is -EINVAL, as Xen's
 * HVM_VM_ASSIST_MASK makes it; an unknown command on a valid type is -ENOSYS. */
#include "vmm/domain.h"
#include "xen/xen_state.h"

#define HVM_VM_ASSIST_MASK (1ull << VMASST_TYPE_runstate_update_flag)

long hcall_vm_assist(struct vcpu *vcpu, const uint64_t args[5])
{
	struct domain *dom = vcpu->dom;
	uint32_t cmd = (uint32_t)args[0], type = (uint32_t)args[1];   /* unsigned ints in Xen's prototype */

	if (type >= 64 || !(HVM_VM_ASSIST_MASK & (1ull << type)))
		return -XEN_EINVAL;
	if (cmd != VMASST_CMD_enable && cmd != VMASST_CMD_disable)
		return xen_unknown_subop(vcpu, __HYPERVISOR_vm_assist, cmd);
	pthread_mutex_lock(&dom->xen.lock);
	if (cmd == VMASST_CMD_enable)
		dom->xen.vm_assist |= 1ull << type;
	else
		dom->xen.vm_assist &= ~(1ull << type);
	pthread_mutex_unlock(&dom->xen.lock);
	return 0;
}
