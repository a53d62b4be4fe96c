/* The Xen guest ABI's per-domain state, and the entry points the VMM core calls. */
#ifndef XENITH_XEN_STATE_H
#define XENITH_XEN_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "xen/xen_public.h"

struct domain;
struct vcpu;

#define XEN_HYPERCALL_MSR 0x40000000u    /* CPUID 0x40000002 ebx tells the guest this */
#define XEN_HYPERCALL_PORT 0x5c          /* the stubs' `out` port when KVM does not intercept */
#define XEN_HYPERCALL_SLOTS 128          /* 32-byte stubs in one 4 KiB page */
#define XEN_HYPERCALL_NR_MAX 64          /* counters kept per number below this; the rest share one */

struct xen_state {
	bool kvm_intercepts_hypercalls;      /* KVM_CAP_XEN_HVM with KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL */
	uint64_t calls[XEN_HYPERCALL_NR_MAX + 1];
	uint64_t unknown_calls;              /* -ENOSYS answers: counted, never fatal */
};

/* Picks the hypercall path and registers the MSR and port handlers. 0, or -1 with err. */
int xen_init(struct domain *dom, char *err, size_t errlen);
/* Per vCPU: the CPUID table with Xen's leaves. */
int xen_vcpu_setup(struct domain *dom, struct vcpu *vcpu, char *err, size_t errlen);
/* A KVM_EXIT_XEN exit (hypercall intercepted by KVM). */
void xen_handle_kvm_xen_exit(struct vcpu *vcpu);
/* One log line with the counts, when a domain (or one incarnation of it) ends. */
void xen_log_stats(const struct domain *dom);
/* Runs hypercall `nr` for the vCPU; returns the value for rax. */
long xen_hypercall_dispatch(struct vcpu *vcpu, uint64_t nr, const uint64_t args[5]);

#endif
