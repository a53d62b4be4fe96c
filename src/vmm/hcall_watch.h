/* Hypercalls we never see: a guest that issues vmcall/vmmcall on a host whose KVM answers them itself
 * (no Xen interception) spins without a word.  A slow watchdog looks at such guests and says so. */
#ifndef XENITH_HCALL_WATCH_H
#define XENITH_HCALL_WATCH_H

#include <stdbool.h>
#include <stdint.h>

struct domain;
struct vcpu;

struct hcall_watch {
	int timer_fd;                /* -1: not running */
	uint64_t calls_at_last_tick;
	uint64_t unseen;             /* atomic: samples that caught a vCPU just past such an instruction */
	bool reported;               /* atomic: the log line was written */
};

/* Main thread: the watchdog ticks on the domain's loop while the domain runs.  0 or -1 with err. */
int hcall_watch_start(struct domain *dom, char *err, size_t errlen);
void hcall_watch_stop(struct domain *dom);
/* vCPU thread, before KVM_RUN: looks at where the vCPU is if the watchdog asked. */
void hcall_watch_sample(struct vcpu *vcpu);
uint64_t hcall_watch_unseen(const struct domain *dom);
/* Hypercalls that did reach us, all numbers together. */
uint64_t hcall_watch_seen(const struct domain *dom);

#endif
