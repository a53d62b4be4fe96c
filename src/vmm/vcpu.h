/* A vCPU: one thread in a KVM_RUN loop that hands every exit to the domain's tables. */
#ifndef XENITH_VCPU_H
#define XENITH_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <time.h>
#include "vmm/kvm_stats.h"
#include "vmm/x86_emulate.h"
#include "xen/vcpu_power.h"

/* The signal that makes a vCPU thread leave KVM_RUN. */
#define VCPU_KICK_SIGNAL SIGUSR1

struct domain;

struct vcpu {
	struct domain *dom;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool thread_started;
	clockid_t cpu_clock;       /* the thread's CPU-time clock, for xl list's Time column */
	/* The callback vector's direct path (upcall.c). */
	bool upcall_owed;          /* atomic: an upcall was raised and may not have been taken yet */
	bool upcall_timer_made;
	timer_t upcall_timer;      /* kicks this thread to retry while the guest has interrupts off */
	uint64_t upcalls_direct;   /* vectors injected */
	bool sample_wanted;        /* atomic: the watchdog wants a look (vcpu_watch.c) */
	bool watch_down;           /* atomic: at its last look the vCPU was halted for good */
	struct x86_emu_stats emu_stats;  /* instructions the VMM emulated for KVM (vcpu_emulate.c) */
	struct vcpu_power power;   /* up or down (xen/vcpu_power.c), under dom->lock */
	bool seen_running;         /* the thread's own: it has had an exit other than a kick */
	bool nmi_pending;          /* atomic: xl trigger nmi; the thread injects it before its next entry */
	/* Exits, for benches' "exits per packet": those that reached us (the thread's, read relaxed),
	 * and KVM's own count of all of them where it keeps binary stats (vmm/kvm_stats.h). */
	uint64_t user_exits;
	bool kvm_exits_known;
	struct kvm_stat_counter kvm_exits;
};

int vcpu_create(struct vcpu *vcpu, struct domain *dom, unsigned int id, char *err, size_t errlen);
int vcpu_start(struct vcpu *vcpu, char *err, size_t errlen);
/* Makes the vCPU leave KVM_RUN soon so it sees a new pause, stop or power state. Caller holds
 * dom->lock.  Inline, so the Xen code (and the fuzzers that link it without vcpu.c) can call it. */
static inline void vcpu_kick(struct vcpu *vcpu)
{
	if (!vcpu->thread_started)
		return;
	vcpu->run->immediate_exit = 1;
	pthread_kill(vcpu->thread, VCPU_KICK_SIGNAL);
}
void vcpu_join(struct vcpu *vcpu);
/* From any thread: an NMI for the vCPU, injected by its own thread (KVM_NMI) before it next enters
 * the guest. */
void vcpu_inject_nmi(struct vcpu *vcpu);
void vcpu_destroy(struct vcpu *vcpu);
/* The signal used for kicks; installed once per process. */
void vcpu_install_kick_signal(void);

#endif
