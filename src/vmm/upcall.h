/* Xen's callback vector (HVM_PARAM_CALLBACK_IRQ of type vector), delivered the way Xen delivers it:
 * straight to the vCPU, as if by the CPU's interrupt pin, never through its local APIC.  Guests that
 * use it (Linux PVH among them) never enable their APIC for it and never send an EOI. */
#ifndef XENITH_UPCALL_H
#define XENITH_UPCALL_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

struct domain;
struct vcpu;

enum upcall_verdict {
	UPCALL_INJECT,           /* the vCPU takes an interrupt now */
	UPCALL_WAIT,             /* interrupts are off or another event is in flight: try again soon */
};

/* Whether an external interrupt can be injected into a vCPU in this state, as the CPU would take one
 * at an instruction boundary.  Pure, for tests. */
enum upcall_verdict upcall_decide(uint64_t rflags, const struct kvm_vcpu_events *events);

/* The vCPU's evtchn_upcall_pending went from 0 to 1 and the domain uses the callback vector: make the
 * vCPU see it.  Any thread; the caller holds xen.lock. */
void upcall_request(struct domain *dom, unsigned int vcpu);
/* Whether the domain's upcall for this vCPU takes the direct path.  Caller holds xen.lock. */
bool upcall_is_direct(const struct domain *dom, unsigned int vcpu);

/* On the vCPU's own thread: set up (a retry timer that kicks this thread) and tear down. */
int upcall_vcpu_thread_init(struct vcpu *vcpu);
void upcall_vcpu_thread_exit(struct vcpu *vcpu);
/* On the vCPU's own thread, before each KVM_RUN: inject the callback vector if an upcall is owed and
 * the vCPU can take it; otherwise leave the retry timer armed. */
void upcall_deliver(struct vcpu *vcpu);

#endif
