/* The vCPU watchdog: a slow look at the vCPUs of a domain that has gone quiet (no hypercall reached
 * us for a while), for two things no exit tells us about:
 *  - a guest issuing vmcall/vmmcall that this host's KVM answers itself (no Xen interception): it
 *    spins without a word, so we count and log it;
 *  - a guest whose every vCPU has halted with interrupts off (or never started): Xen takes that as
 *    the guest powering off (hvm_hlt -> hvm_vcpu_down), which is how Linux PVH without ACPI sleep
 *    states powers off; with the in-kernel irqchip KVM keeps such a HLT to itself. */
#ifndef XENITH_VCPU_WATCH_H
#define XENITH_VCPU_WATCH_H

#include <stdbool.h>
#include <stdint.h>

struct domain;
struct vcpu;

struct vcpu_watch {
	int timer_fd;                /* -1: not running */
	uint64_t calls_at_last_tick;
	bool round_open;             /* samples were asked for at the last tick */
	uint64_t unseen;             /* atomic: samples that caught a vCPU just past such an instruction */
	bool reported;               /* atomic: the log line was written */
};

/* Main thread: the watchdog ticks on the domain's loop while the domain runs.  0 or -1 with err. */
int vcpu_watch_start(struct domain *dom, char *err, size_t errlen);
void vcpu_watch_stop(struct domain *dom);
/* vCPU thread, before KVM_RUN: looks at where the vCPU is if the watchdog asked. */
void vcpu_watch_sample(struct vcpu *vcpu);
uint64_t vcpu_watch_unseen(const struct domain *dom);
/* Hypercalls that did reach us, all numbers together. */
uint64_t vcpu_watch_seen(const struct domain *dom);

/* Whether a vCPU in this KVM mp_state with these flags is down in Xen's sense: halted with interrupts
 * off (nothing can wake it), or never started.  Pure, for tests. */
bool vcpu_watch_is_down(uint32_t mp_state, uint64_t rflags);

#endif
