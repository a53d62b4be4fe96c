/* vcpu_op and set_timer_op: where a vCPU's vcpu_info and runstate live, and its timers.
 * VCPUOP_register_vcpu_time_memory_area (a second pvclock record, for Linux's vDSO) is not offered:
 * the default case answers -ENOSYS, and Linux keeps clock_gettime in the kernel.
 * A 32-bit caller (Xen's compat vcpu_op) passes the singleshot timer as 12 bytes, the runstate area as
 * a 4-byte handle, and gets the 44-byte compat runstate record; set_timer_op's 64-bit deadline comes
 * in two registers (low, high).
 * initialise/up/down/is_up go to vcpu_power.c, which says how secondaries start. */
#include <string.h>
#include "lib/error.h"
#include "vmm/domain.h"
#include "vmm/guest_access.h"
#include "xen/compat.h"
#include "xen/hypercalls.h"
#include "xen/runstate.h"
#include "xen/vcpu_power.h"
#include "xen/xen_state.h"

/* Xen's bounds for periodic timers: no faster than 1 ms, no slower than its delta limit. */
#define PERIODIC_TIMER_MIN_NS 1000000ull
#define PERIODIC_TIMER_MAX_NS (1ull << 62)

static long register_vcpu_info(struct domain *dom, unsigned int id, struct vcpu_register_vcpu_info *r)
{
	struct xen_vcpu_state *v = &dom->xen.vcpu[id];

	/* Aligned, as its fields are updated atomically; a frame above 2^52 would wrap in the shift. */
	if (r->offset > 4096 - sizeof(struct vcpu_info) || r->offset % _Alignof(struct vcpu_info) ||
	    r->mfn >> 52)
		return -XEN_EINVAL;
	struct vcpu_info *info = vm_gpa_to_hva(&dom->vm, ((uint64_t)r->mfn << 12) + r->offset,
					       sizeof(struct vcpu_info));
	if (!info)
		return -XEN_EINVAL;
	if (v->info_registered)
		return -XEN_EINVAL;       /* Xen allows it once per vCPU */
	struct vcpu_info *old = xen_vcpu_info_locked(dom, id);
	if (old)
		memcpy(info, old, sizeof(*info));
	else
		memset(info, 0, sizeof(*info));
	v->info = info;
	v->info_registered = true;
	/* Events pending before the move must still be noticed. */
	info->evtchn_upcall_pending = 1;
	xen_vcpu_info_select_all_locked(dom, info);
	xen_time_update_locked(dom, id);
	return 0;
}

static long singleshot(struct domain *dom, unsigned int id, const struct vcpu_set_singleshot_timer *t)
{
	/* Xen 4.17.3 and later ignore VCPU_SSHOTTMR_future (old Linux mishandled -ETIME): a deadline
	 * already past fires at once, which timerfd does for an absolute time gone by. */
	dom->xen.vcpu[id].singleshot_ns = t->timeout_abs_ns ? t->timeout_abs_ns : 1;
	return xen_timer_arm_locked(dom, id) ? -XEN_EINVAL : 0;
}

/* initialise, up, down and is_up (xen/vcpu_power.c), under the domain's lock. */
static long power_op(struct vcpu *vcpu, uint64_t cmd, unsigned int id, uint64_t arg)
{
	struct domain *dom = vcpu->dom;
	struct vcpu_boot_context boot;
	bool shutdown = false;
	long r;

	if (cmd == VCPUOP_initialise) {
		struct vcpu_hvm_context ctx;
		char why[200];
		if (guest_copy_from(vcpu, &ctx, arg, sizeof(ctx)))
			return -XEN_EFAULT;
		r = vcpu_context_from_hvm(&ctx, &boot, why, sizeof(why));
		if (r) {
			LOG("domain %d: VCPUOP_initialise of vCPU %u refused: %s", dom->domid, id, why);
			return r;
		}
	}
	pthread_mutex_lock(&dom->lock);
	switch (cmd) {
	case VCPUOP_initialise:
		r = vcpu_power_initialise_locked(dom, id, &boot);
		break;
	case VCPUOP_up:
		r = vcpu_power_up_locked(dom, id);
		break;
	case VCPUOP_down:
		r = vcpu_power_down_locked(dom, id, &shutdown);
		break;
	default:
		r = vcpu_power_is_up_locked(&dom->vcpus[id]);
	}
	pthread_mutex_unlock(&dom->lock);
	if (shutdown)
		domain_shutdown(dom, SHUTDOWN_poweroff);
	else if (cmd == VCPUOP_down && id != vcpu->id)
		xen_wake_vcpus(dom);             /* out of SCHEDOP_block, to park */
	return r;
}

long hcall_vcpu_op(struct vcpu *vcpu, const uint64_t args[5])
{
	struct domain *dom = vcpu->dom;
	uint64_t cmd = args[0], id = args[1], arg = args[2];
	long r;

	if (id >= dom->n_vcpus)
		return -XEN_ENOENT;
	switch (cmd) {
	case VCPUOP_initialise:
	case VCPUOP_up:
	case VCPUOP_down:
	case VCPUOP_is_up:
		return power_op(vcpu, cmd, (unsigned int)id, arg);
	case VCPUOP_register_vcpu_info: {
		struct vcpu_register_vcpu_info reg;
		if (guest_copy_from(vcpu, &reg, arg, sizeof(reg)))
			return -XEN_EFAULT;
		pthread_mutex_lock(&dom->xen.lock);
		r = register_vcpu_info(dom, (unsigned int)id, &reg);
		pthread_mutex_unlock(&dom->xen.lock);
		return r;
	}
	case VCPUOP_register_runstate_memory_area: {
		uint64_t area;                   /* the union's handle: a xen_ulong_t wide */
		if (xen_ulong_in(vcpu, arg, 0, &area))
			return -XEN_EFAULT;
		pthread_mutex_lock(&dom->xen.lock);
		xen_runstate_register_locked(vcpu, (unsigned int)id, area);
		pthread_mutex_unlock(&dom->xen.lock);
		return 0;
	}
	case VCPUOP_get_runstate_info: {
		struct vcpu_runstate_info info;
		pthread_mutex_lock(&dom->xen.lock);
		xen_runstate_get_locked(dom, (unsigned int)id, &info);
		pthread_mutex_unlock(&dom->xen.lock);
		return xen_arg_out(vcpu, &xen_abi_vcpu_runstate_info, arg, &info) ? -XEN_EFAULT : 0;
	}
	case VCPUOP_set_singleshot_timer:
	case VCPUOP_stop_singleshot_timer:
	case VCPUOP_set_periodic_timer:
	case VCPUOP_stop_periodic_timer:
		break;
	default:
		return xen_unknown_subop(vcpu, __HYPERVISOR_vcpu_op, cmd);   /* after the vCPU check, as Xen */
	}
	/* Singleshot timers are a vCPU's own, as Xen requires; periodic ones may be set for any. */
	if (id != vcpu->id && (cmd == VCPUOP_set_singleshot_timer || cmd == VCPUOP_stop_singleshot_timer))
		return -XEN_EINVAL;
	struct vcpu_set_singleshot_timer shot;
	struct vcpu_set_periodic_timer per;
	if (cmd == VCPUOP_set_singleshot_timer && xen_arg_in(vcpu, &xen_abi_vcpu_set_singleshot_timer, arg, &shot))
		return -XEN_EFAULT;
	if (cmd == VCPUOP_set_periodic_timer && guest_copy_from(vcpu, &per, arg, sizeof(per)))
		return -XEN_EFAULT;
	pthread_mutex_lock(&dom->xen.lock);
	struct xen_vcpu_state *v = &dom->xen.vcpu[id];
	switch (cmd) {
	case VCPUOP_set_singleshot_timer:
		r = singleshot(dom, (unsigned int)id, &shot);
		break;
	case VCPUOP_stop_singleshot_timer:
		v->singleshot_ns = 0;
		r = xen_timer_arm_locked(dom, (unsigned int)id) ? -XEN_EINVAL : 0;
		break;
	case VCPUOP_set_periodic_timer:
		if (per.period_ns < PERIODIC_TIMER_MIN_NS || per.period_ns > PERIODIC_TIMER_MAX_NS) {
			r = -XEN_EINVAL;
			break;
		}
		v->period_ns = per.period_ns;
		v->next_period_ns = xen_system_time_ns(dom) + per.period_ns;
		r = xen_timer_arm_locked(dom, (unsigned int)id) ? -XEN_EINVAL : 0;
		break;
	default:
		v->period_ns = 0;
		r = xen_timer_arm_locked(dom, (unsigned int)id) ? -XEN_EINVAL : 0;
	}
	pthread_mutex_unlock(&dom->xen.lock);
	return r;
}

long hcall_set_timer_op(struct vcpu *vcpu, const uint64_t args[5])
{
	struct domain *dom = vcpu->dom;
	/* Xen's compat_set_timer_op(lo, hi) puts the halves together. */
	uint64_t deadline = xen_call_compat(vcpu) ? (uint32_t)args[0] | (uint64_t)args[1] << 32 : args[0];
	long r;

	pthread_mutex_lock(&dom->xen.lock);
	dom->xen.vcpu[vcpu->id].singleshot_ns = deadline;   /* 0 cancels */
	r = xen_timer_arm_locked(dom, vcpu->id) ? -XEN_EINVAL : 0;
	pthread_mutex_unlock(&dom->xen.lock);
	return r;
}
