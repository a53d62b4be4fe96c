#define _GNU_SOURCE
/* The callback vector, delivered straight to the vCPU.
 *
 * Xen treats HVM_PARAM_CALLBACK_IRQ's vector like a level on the CPU's interrupt pin: while the vCPU's
 * evtchn_upcall_pending is set and the vCPU has interrupts enabled, it takes that vector; the guest's
 * handler clears the flag.  No local APIC is involved, so guests neither enable theirs for it nor send
 * an EOI.  KVM offers this only with its own Xen support (KVM_CAP_XEN_HVM); elsewhere we do it here:
 *  - whoever raises the upcall marks the vCPU as owed one and kicks its thread out of KVM_RUN;
 *  - the vCPU thread, before entering the guest again, injects the vector if the vCPU could take an
 *    external interrupt now (IF set, no interrupt shadow, nothing else being delivered);
 *  - if it cannot, nothing tells us when it can (with the in-kernel irqchip KVM has no interrupt-window
 *    exits for userspace), so a one-shot timer kicks the thread again 1 ms later.  The timer's signal
 *    is blocked outside KVM_RUN and let through inside it (KVM_SET_SIGNAL_MASK), so a tick that lands
 *    while we are in userspace is not lost: the next KVM_RUN returns at once.
 * HVMOP_set_evtchn_upcall_vector stays an APIC interrupt (evtchn.c), as in Xen. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include "lib/error.h"
#include "vmm/domain.h"
#include "vmm/upcall.h"
#include "xen/xen_state.h"

#define UPCALL_RETRY_SIGNAL SIGUSR2
#define UPCALL_RETRY_NS 1000000L
#define RFLAGS_IF (1ull << 9)

enum upcall_verdict upcall_decide(uint64_t rflags, const struct kvm_vcpu_events *ev)
{
	if (!(rflags & RFLAGS_IF) || ev->interrupt.shadow)
		return UPCALL_WAIT;
	/* An event KVM is still delivering goes first; ours would overwrite it. */
	if (ev->interrupt.injected || ev->exception.injected || ev->exception.pending ||
	    ev->nmi.injected)
		return UPCALL_WAIT;
	return UPCALL_INJECT;
}

bool upcall_is_direct(const struct domain *dom, unsigned int vcpu)
{
	const struct xen_state *xen = &dom->xen;

	return !xen->vcpu[vcpu].upcall_vector &&
	       (xen->callback_via >> 56) == HVM_PARAM_CALLBACK_TYPE_VECTOR && (xen->callback_via & 0xff);
}

void upcall_request(struct domain *dom, unsigned int id)
{
	if (id >= dom->n_vcpus)
		return;
	struct vcpu *vcpu = &dom->vcpus[id];

	__atomic_store_n(&vcpu->upcall_owed, true, __ATOMIC_RELEASE);
	/* From the vCPU's own thread (a hypercall raised it) the check before KVM_RUN suffices. */
	if (vcpu->thread_started && !pthread_equal(pthread_self(), vcpu->thread)) {
		vcpu->run->immediate_exit = 1;
		pthread_kill(vcpu->thread, SIGUSR1);
	}
}

static void retry_handler(int sig)
{
	(void)sig;   /* only here to interrupt KVM_RUN */
}

int upcall_vcpu_thread_init(struct vcpu *vcpu)
{
	struct sigaction sa = { .sa_handler = retry_handler };
	struct sigevent sev = { .sigev_notify = SIGEV_THREAD_ID, .sigev_signo = UPCALL_RETRY_SIGNAL };
	sigset_t during_run;
	/* KVM's sigset is the kernel's: 8 bytes on x86-64. */
	union { struct kvm_signal_mask head; uint8_t bytes[sizeof(struct kvm_signal_mask) + 8]; } mask = { 0 };

	sigemptyset(&sa.sa_mask);
	sigaction(UPCALL_RETRY_SIGNAL, &sa, NULL);   /* no SA_RESTART: KVM_RUN must return EINTR */
	/* The thread starts with the retry signal blocked (vcpu_start); inside KVM_RUN it is let in. */
	pthread_sigmask(SIG_BLOCK, NULL, &during_run);
	sigdelset(&during_run, UPCALL_RETRY_SIGNAL);
	mask.head.len = 8;
	memcpy(mask.head.sigset, &during_run, 8);
	if (ioctl(vcpu->fd, KVM_SET_SIGNAL_MASK, &mask) < 0) {
		LOG("vCPU %u: KVM_SET_SIGNAL_MASK: %s; the callback vector waits for the next exit "
		    "instead of retrying", vcpu->id, strerror(errno));
		return -1;
	}
	sev._sigev_un._tid = gettid();   /* glibc 2.36 names no accessor for it */
	if (timer_create(CLOCK_MONOTONIC, &sev, &vcpu->upcall_timer) < 0) {
		LOG("vCPU %u: timer_create: %s; the callback vector waits for the next exit instead of "
		    "retrying", vcpu->id, strerror(errno));
		return -1;
	}
	vcpu->upcall_timer_made = true;
	return 0;
}

void upcall_vcpu_thread_exit(struct vcpu *vcpu)
{
	if (vcpu->upcall_timer_made)
		timer_delete(vcpu->upcall_timer);
	vcpu->upcall_timer_made = false;
}

static void arm_retry(struct vcpu *vcpu)
{
	struct itimerspec once = { .it_value = { .tv_nsec = UPCALL_RETRY_NS } };

	if (vcpu->upcall_timer_made)
		timer_settime(vcpu->upcall_timer, 0, &once, NULL);
}

/* Whether the guest still has an upcall pending for this vCPU on the direct path. */
static bool still_pending(struct vcpu *vcpu, unsigned int *vector)
{
	struct domain *dom = vcpu->dom;
	bool pending = false;

	pthread_mutex_lock(&dom->xen.lock);
	if (upcall_is_direct(dom, vcpu->id)) {
		*vector = dom->xen.callback_via & 0xff;
		pending = evtchn_vcpu_has_pending_locked(dom, vcpu->id);
	}
	pthread_mutex_unlock(&dom->xen.lock);
	return pending;
}

void upcall_deliver(struct vcpu *vcpu)
{
	struct kvm_vcpu_events ev;
	unsigned int vector = 0;

	if (!__atomic_load_n(&vcpu->upcall_owed, __ATOMIC_ACQUIRE))
		return;
	if (!still_pending(vcpu, &vector)) {
		/* The guest took it, or cleared the flag itself: nothing is owed until it rises again. */
		__atomic_store_n(&vcpu->upcall_owed, false, __ATOMIC_RELEASE);
		return;
	}
	if (ioctl(vcpu->fd, KVM_GET_VCPU_EVENTS, &ev) < 0 ||
	    upcall_decide(vcpu->run->s.regs.regs.rflags, &ev) != UPCALL_INJECT) {
		arm_retry(vcpu);
		return;
	}
	ev.interrupt.injected = 1;
	ev.interrupt.nr = (uint8_t)vector;
	ev.interrupt.soft = 0;
	ev.flags = 0;     /* leave NMI-pending, SIPI and shadow as KVM has them */
	if (ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS, &ev) < 0) {
		arm_retry(vcpu);
		return;
	}
	/* An interrupt ends HLT, as on the real CPU. */
	struct kvm_mp_state mp;
	if (ioctl(vcpu->fd, KVM_GET_MP_STATE, &mp) == 0 && mp.mp_state == KVM_MP_STATE_HALTED) {
		mp.mp_state = KVM_MP_STATE_RUNNABLE;
		ioctl(vcpu->fd, KVM_SET_MP_STATE, &mp);
	}
	vcpu->upcalls_direct++;
	/* Still owed: like Xen's level, the vector comes again while the flag stays set with IF on. */
}
