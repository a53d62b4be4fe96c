/* A vCPU: one thread in a KVM_RUN loop that hands every exit to the domain's tables. */
#ifndef XENITH_VCPU_H
#define XENITH_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <time.h>
#include "vmm/x86_emulate.h"

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
};

int vcpu_create(struct vcpu *vcpu, struct domain *dom, unsigned int id, char *err, size_t errlen);
int vcpu_start(struct vcpu *vcpu, char *err, size_t errlen);
/* Makes the vCPU leave KVM_RUN soon so it sees a new pause or stop flag. Caller holds dom->lock. */
void vcpu_kick(struct vcpu *vcpu);
void vcpu_join(struct vcpu *vcpu);
void vcpu_destroy(struct vcpu *vcpu);
/* The signal used for kicks; installed once per process. */
void vcpu_install_kick_signal(void);

#endif
