/* sched_op: yielding, blocking until an event, polling ports, and shutting down.  A vCPU in
 * SCHEDOP_block or SCHEDOP_poll is RUNSTATE_blocked for that time (runstate.c).  Of the structs,
 * only sched_poll differs in Xen's compat layout (a 32-bit handle, a 4-byte-aligned timeout). */
#include <errno.h>
#include <sched.h>
#include <time.h>
#include "vmm/domain.h"
#include "vmm/guest_access.h"
#include "xen/compat.h"
#include "xen/hypercalls.h"
#include "xen/runstate.h"
#include "xen/xen_state.h"

#define RFLAGS_IF (1ull << 9)

static long shutdown_op(struct vcpu *vcpu, uint64_t arg)
{
	struct sched_shutdown req;

	if (guest_copy_from(vcpu, &req, arg, sizeof(req)))
		return -XEN_EFAULT;
	switch (req.reason) {
	case SHUTDOWN_suspend:
		/* Returns 0 now; a save stream keeps that ("resumed elsewhere"), a cancel makes it 1. */
		domain_suspend(vcpu->dom, vcpu->id);
		return 0;
	case SHUTDOWN_poweroff:
	case SHUTDOWN_reboot:
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
	if (!evtchn_vcpu_has_pending_locked(dom, vcpu->id) && !vcpu_must_leave(dom)) {
		xen_runstate_switch_locked(vcpu, RUNSTATE_blocked);
		while (!evtchn_vcpu_has_pending_locked(dom, vcpu->id) && !vcpu_must_leave(dom))
			pthread_cond_wait(&dom->xen.wake, &dom->xen.lock);
		xen_runstate_switch_locked(vcpu, RUNSTATE_running);
	}
	pthread_mutex_unlock(&dom->xen.lock);
	return 0;
}

/* Xen's evtchn_port_poll over the list, in order: the first port out of range is -EINVAL, unless a
 * pending one came before it (1).  0: none pending.  Port 0 is valid and never pending. */
static int ports_poll_locked(struct domain *dom, const evtchn_port_t *ports, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		if (ports[i] >= EVTCHN_PORTS)
			return -XEN_EINVAL;
		if (evtchn_port_pending_locked(dom, ports[i]))
			return 1;
	}
	return 0;
}

/* Xen's local_events_need_delivery for an HVM vCPU: an upcall is pending and the vCPU could take it
 * now (interrupts on, as the registers were at the hypercall). */
static bool upcall_deliverable_locked(struct vcpu *vcpu)
{
	return evtchn_vcpu_has_pending_locked(vcpu->dom, vcpu->id) &&
	       (vcpu->run->s.regs.regs.rflags & RFLAGS_IF);
}

/* Waits until a polled port is pending, or an upcall is raised for this vCPU (Xen kicks a polling
 * vCPU awake then, as from SCHEDOP_block), or the deadline in system time passes.  Any of those
 * returns 0, as in Xen; so does a pause or stop, a wake-up the ABI allows to be spurious. */
static long poll_op(struct vcpu *vcpu, uint64_t arg)
{
	struct domain *dom = vcpu->dom;
	evtchn_port_t ports[SCHED_POLL_MAX_PORTS];
	struct sched_poll p;
	long r;

	if (xen_arg_in(vcpu, &xen_abi_sched_poll, arg, &p))
		return -XEN_EFAULT;
	if (p.nr_ports > SCHED_POLL_MAX_PORTS)
		return -XEN_EINVAL;
	if (guest_copy_from(vcpu, ports, (uint64_t)(uintptr_t)p.ports.p, p.nr_ports * sizeof(ports[0])))
		return -XEN_EFAULT;
	struct timespec deadline = { 0 };
	if (p.timeout)
		xen_system_time_to_monotonic(dom, p.timeout, &deadline);
	pthread_mutex_lock(&dom->xen.lock);
	if (upcall_deliverable_locked(vcpu)) {
		r = 0;
		goto out;
	}
	r = ports_poll_locked(dom, ports, p.nr_ports);
	if (r) {
		r = r > 0 ? 0 : r;
		goto out;
	}
	/* An upcall already pending (with interrupts off) raises no new kick: only a fresh one ends the wait. */
	bool upcall_before = evtchn_vcpu_has_pending_locked(dom, vcpu->id);
	xen_runstate_switch_locked(vcpu, RUNSTATE_blocked);
	while (ports_poll_locked(dom, ports, p.nr_ports) == 0 && !vcpu_must_leave(dom) &&
	       (upcall_before || !evtchn_vcpu_has_pending_locked(dom, vcpu->id))) {
		if (!p.timeout)
			pthread_cond_wait(&dom->xen.wake, &dom->xen.lock);
		else if (pthread_cond_timedwait(&dom->xen.wake, &dom->xen.lock, &deadline) == ETIMEDOUT)
			break;
	}
	xen_runstate_switch_locked(vcpu, RUNSTATE_running);
out:
	pthread_mutex_unlock(&dom->xen.lock);
	return r;
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
