/* sched_op: yielding and shutting down.  Blocking and polling join with event channels. */
#include <sched.h>
#include "vmm/domain.h"
#include "vmm/guest_access.h"
#include "xen/hypercalls.h"
#include "xen/xen_public.h"

static long shutdown_op(struct vcpu *vcpu, uint64_t arg)
{
	struct sched_shutdown req;

	if (guest_copy_from(vcpu, &req, arg, sizeof(req)))
		return -XEN_EFAULT;
	switch (req.reason) {
	case SHUTDOWN_poweroff:
	case SHUTDOWN_reboot:
	case SHUTDOWN_suspend:
	case SHUTDOWN_crash:
	case SHUTDOWN_watchdog:
		domain_shutdown(vcpu->dom, (int)req.reason);
		return 0;
	case SHUTDOWN_soft_reset:
		return -XEN_EOPNOTSUPP;
	default:
		return -XEN_EINVAL;
	}
}

long hcall_sched_op(struct vcpu *vcpu, const uint64_t args[5])
{
	switch (args[0]) {
	case SCHEDOP_yield:
		sched_yield();
		return 0;
	case SCHEDOP_shutdown:
		return shutdown_op(vcpu, args[1]);
	case SCHEDOP_remote_shutdown:
		return -XEN_EPERM;   /* only a privileged domain may shut others down */
	default:
		return -XEN_ENOSYS;
	}
}
