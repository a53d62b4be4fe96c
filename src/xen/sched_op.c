/* sched_op: yielding, blocking until an event, polling ports, and shutting down. */
#include <errno.h>
#include <sched.h>
#include <time.h>
#include "vmm/domain.h"
#include "vmm/guest_access.h"
#include "xen/hypercalls.h"
#include "xen/xen_state.h"

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

#define SCHED_POLL_MAX_PORTS 128

static bool vcpu_must_leave(struct domain *dom)
{
	return __atomic_load_n(&dom->stop_vcpus, __ATOMIC_ACQUIRE) ||
	       __atomic_load_n(&dom->paused, __ATOMIC_ACQUIRE);
}

/* Blocks until an event is pending for the vCPU, re-enabling event delivery as Xen does.  A pause
 * or stop ends the wait early; the guest sees a spurious wake-up, which the ABI allows. */
static long block_op(struct vcpu *vcpu)
{
	struct domain *dom = vcpu->dom;
	struct vcpu_info *vi;

	pthread_mutex_lock(&dom->xen.lock);
	vi = xen_vcpu_info_locked(dom, vcpu->id);
	if (vi)
		vi->evtchn_upcall_mask = 0;
	while (!evtchn_vcpu_has_pending_locked(dom, vcpu->id) && !vcpu_must_leave(dom))
		pthread_cond_wait(&dom->xen.wake, &dom->xen.lock);
	pthread_mutex_unlock(&dom->xen.lock);
	return 0;
}

static bool any_port_pending_locked(struct domain *dom, const evtchn_port_t *ports, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		if (evtchn_port_pending_locked(dom, ports[i]))
			return true;
	return false;
}

static long poll_op(struct vcpu *vcpu, uint64_t arg)
{
	struct domain *dom = vcpu->dom;
	evtchn_port_t ports[SCHED_POLL_MAX_PORTS];
	struct sched_poll p;

	if (guest_copy_from(vcpu, &p, arg, sizeof(p)))
		return -XEN_EFAULT;
	if (p.nr_ports > SCHED_POLL_MAX_PORTS)
		return -XEN_EINVAL;
	if (guest_copy_from(vcpu, ports, (uint64_t)(uintptr_t)p.ports.p, p.nr_ports * sizeof(ports[0])))
		return -XEN_EFAULT;
	for (unsigned int i = 0; i < p.nr_ports; i++)
		if (ports[i] == 0 || ports[i] >= EVTCHN_PORTS)
			return -XEN_EINVAL;
	struct timespec deadline = { 0 };
	if (p.timeout) {
		uint64_t abs = dom->xen.boot_ns + p.timeout;
		deadline.tv_sec = (time_t)(abs / 1000000000ull);
		deadline.tv_nsec = (long)(abs % 1000000000ull);
	}
	pthread_mutex_lock(&dom->xen.lock);
	while (!any_port_pending_locked(dom, ports, p.nr_ports) && !vcpu_must_leave(dom)) {
		if (!p.timeout)
			pthread_cond_wait(&dom->xen.wake, &dom->xen.lock);
		else if (pthread_cond_timedwait(&dom->xen.wake, &dom->xen.lock, &deadline) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&dom->xen.lock);
	return 0;
}

long hcall_sched_op(struct vcpu *vcpu, const uint64_t args[5])
{
	switch (args[0]) {
	case SCHEDOP_yield:
		sched_yield();
		return 0;
	case SCHEDOP_shutdown:
		return shutdown_op(vcpu, args[1]);
	case SCHEDOP_block:
		return block_op(vcpu);
	case SCHEDOP_poll:
		return poll_op(vcpu, args[1]);
	case SCHEDOP_remote_shutdown:
		return -XEN_EPERM;   /* only a privileged domain may shut others down */
	default:
		return xen_unknown_subop(vcpu, __HYPERVISOR_sched_op, args[0]);
	}
}
