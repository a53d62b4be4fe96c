/* The vCPU watchdog (vcpu_watch.h says what for).
 *
 * Kernels since the fixes for CVE-2024-53241 issue vmcall/vmmcall themselves.  Where KVM intercepts
 * Xen hypercalls, or where the loader rewrote the call sites (vmm/xen_call_sites.c), they reach us;
 * otherwise KVM answers each one as an unknown KVM hypercall (rax = -KVM_ENOSYS) and the guest, which
 * cannot boot without them, spins.  A guest that powers off by halting every CPU with interrupts off
 * never exits to us either.  So we look: at every tick (2 s) in which the domain made no hypercall we
 * have seen, each vCPU is kicked out of KVM_RUN once and its own thread records what it sees:
 *  - standing just past a vmcall/vmmcall with KVM's answer in rax: counted (xl list -l shows it), and
 *    the first one logged with what to do about it;
 *  - down (halted with IF clear, or never started): if at the next tick every vCPU of the domain was
 *    down in the last round and nothing happened since, the domain has powered off, as Xen decides. */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include "lib/error.h"
#include "vmm/domain.h"
#include "vmm/event_loop.h"
#include "vmm/guest_access.h"
#include "vmm/vcpu_watch.h"
#include "vmm/xen_call_sites.h"
#include "xen/vcpu_power.h"

#define WATCH_PERIOD_S 2
#define RFLAGS_IF (1ull << 9)

bool vcpu_watch_is_down(uint32_t mp_state, uint64_t rflags)
{
	switch (mp_state) {
	case KVM_MP_STATE_HALTED:
		return !(rflags & RFLAGS_IF);
	case KVM_MP_STATE_UNINITIALIZED:     /* an AP still waiting for INIT/SIPI */
	case KVM_MP_STATE_INIT_RECEIVED:
		return true;
	default:
		return false;
	}
}

/* Every vCPU reported down in the round that just closed. Caller holds dom->lock. */
static bool all_down_locked(struct domain *dom)
{
	/* A vCPU the guest took down (VCPUOP_down) is parked and never samples: it counts as down. */
	for (unsigned int i = 0; i < dom->n_vcpus; i++)
		if (!__atomic_load_n(&dom->vcpus[i].watch_down, __ATOMIC_ACQUIRE) &&
		    !vcpu_power_wants_park_locked(&dom->vcpus[i]))
			return false;
	return dom->n_vcpus > 0;
}

uint64_t vcpu_watch_seen(const struct domain *dom)
{
	uint64_t total = 0;

	for (unsigned int nr = 0; nr <= XEN_HYPERCALL_NR_MAX; nr++)
		total += __atomic_load_n(&dom->xen.calls[nr], __ATOMIC_RELAXED);
	return total;
}

static void on_tick(void *opaque, uint32_t events)
{
	struct domain *dom = opaque;
	struct vcpu_watch *w = &dom->vcpu_watch;
	uint64_t expirations, calls = vcpu_watch_seen(dom);
	(void)events;

	if (read(w->timer_fd, &expirations, sizeof(expirations)) < 0)
		return;
	bool quiet = calls == w->calls_at_last_tick, powered_off = false;
	w->calls_at_last_tick = calls;
	if (!quiet) {
		w->round_open = false;
		return;
	}
	pthread_mutex_lock(&dom->lock);
	if (dom->state == DOMAIN_RUNNING && !dom->paused) {
		powered_off = w->round_open && all_down_locked(dom);
		for (unsigned int i = 0; i < dom->n_vcpus && !powered_off; i++) {
			__atomic_store_n(&dom->vcpus[i].watch_down, false, __ATOMIC_RELEASE);
			__atomic_store_n(&dom->vcpus[i].sample_wanted, true, __ATOMIC_RELEASE);
			vcpu_kick(&dom->vcpus[i]);
		}
		w->round_open = !powered_off;
	} else {
		w->round_open = false;
	}
	pthread_mutex_unlock(&dom->lock);
	if (powered_off) {
		LOG("domain %d: every vCPU has halted with interrupts off: the guest powered off (as Xen "
		    "takes it)", dom->domid);
		domain_shutdown(dom, SHUTDOWN_poweroff);
	}
}

int vcpu_watch_start(struct domain *dom, char *err, size_t errlen)
{
	struct vcpu_watch *w = &dom->vcpu_watch;
	struct itimerspec every = { .it_interval = { WATCH_PERIOD_S, 0 }, .it_value = { WATCH_PERIOD_S, 0 } };

	w->timer_fd = -1;
	w->calls_at_last_tick = vcpu_watch_seen(dom);
	if (!dom->loop)
		return 0;       /* no main loop (unit tests): nothing to tick on */
	w->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (w->timer_fd < 0 || timerfd_settime(w->timer_fd, 0, &every, NULL) < 0 ||
	    event_loop_add(dom->loop, w->timer_fd, EPOLLIN, on_tick, dom) < 0) {
		ERR_SET(err, errlen, "the hypercall watchdog's timer: %s", strerror(errno));
		vcpu_watch_stop(dom);
		return -1;
	}
	return 0;
}

void vcpu_watch_stop(struct domain *dom)
{
	struct vcpu_watch *w = &dom->vcpu_watch;

	if (w->timer_fd < 0)
		return;
	if (dom->loop)
		event_loop_remove(dom->loop, w->timer_fd);
	close(w->timer_fd);
	w->timer_fd = -1;
}

void vcpu_watch_sample(struct vcpu *vcpu)
{
	struct domain *dom = vcpu->dom;
	const struct kvm_regs *regs = &vcpu->run->s.regs.regs;
	uint8_t before[3];
	enum xen_unseen_hypercall kind;

	if (!__atomic_exchange_n(&vcpu->sample_wanted, false, __ATOMIC_ACQ_REL))
		return;
	struct kvm_mp_state mp;
	if (ioctl(vcpu->fd, KVM_GET_MP_STATE, &mp) == 0 && vcpu_watch_is_down(mp.mp_state, regs->rflags))
		__atomic_store_n(&vcpu->watch_down, true, __ATOMIC_RELEASE);
	if (regs->rip < sizeof(before) ||
	    guest_copy_from(vcpu, before, regs->rip - sizeof(before), sizeof(before)) ||
	    (kind = xen_call_sites_unseen(before, regs->rax)) == XEN_UNSEEN_NONE)
		return;
	__atomic_fetch_add(&dom->vcpu_watch.unseen, 1, __ATOMIC_RELAXED);
	if (!__atomic_exchange_n(&dom->vcpu_watch.reported, true, __ATOMIC_ACQ_REL))
		LOG("domain %d: vCPU %u issues hypercalls with %s at rip %#llx that this host's KVM "
		    "answers itself with an error of its own: they never reach Xenith, so the guest cannot make "
		    "progress. The kernel's call sites were not rewritten; see docs/guest-abi.md",
		    dom->domid, vcpu->id, kind == XEN_UNSEEN_VMCALL ? "vmcall" : "vmmcall",
		    (unsigned long long)regs->rip);
}

uint64_t vcpu_watch_unseen(const struct domain *dom)
{
	return __atomic_load_n(&dom->vcpu_watch.unseen, __ATOMIC_RELAXED);
}
