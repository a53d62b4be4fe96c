/* Which vCPUs are up: Xen's VCPUOP_initialise/up/down/is_up over KVM vCPU threads (vcpu_power.c).
 * The state lives in each struct vcpu and is guarded by the domain's lock (dom->lock). */
#ifndef XENITH_VCPU_POWER_H
#define XENITH_VCPU_POWER_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include "xen/xen_public.h"
#include <xen/hvm/hvm_vcpu.h>

struct domain;
struct vcpu;

enum vcpu_power_state {
	VCPU_POWER_BOOT,   /* as built (zero): vCPU 0 runs its boot context; the others wait in KVM for INIT/SIPI */
	VCPU_POWER_UP,     /* running: VCPUOP_up, or a secondary seen running after the guest's SIPI */
	VCPU_POWER_DOWN,   /* initialised and down: its thread waits outside KVM_RUN, runstate offline */
};

/* A VCPUOP_initialise context checked and put in KVM's terms; the thread overlays it on its own
 * sregs (the APIC base and pending interrupts stay the vCPU's). */
struct vcpu_boot_context {
	struct kvm_regs regs;
	struct kvm_segment cs, ds, es, fs, gs, ss, tr, ldt;
	uint64_t cr0, cr3, cr4, efer;
};

struct vcpu_power {
	enum vcpu_power_state state;
	bool initialised;          /* Xen's is_initialised for a secondary: a context was given or it ran */
	bool context_pending;      /* the thread loads `context` before it next enters the guest */
	bool parked;               /* the thread waits outside KVM_RUN (its runstate says offline) */
	struct vcpu_boot_context context;
};

/* Checks a vcpu_hvm_context as Xen's arch_set_info_hvm_guest does: 0, or -XEN_EINVAL with why. */
long vcpu_context_from_hvm(const struct vcpu_hvm_context *ctx, struct vcpu_boot_context *out, char *why,
			   size_t whylen);
/* Puts the context on top of sregs read from the vCPU (KVM_GET_SREGS). */
void vcpu_context_apply(const struct vcpu_boot_context *ctx, struct kvm_sregs *sregs);

/* At build: secondaries' runstates start offline (they run only once started). */
void vcpu_power_init(struct domain *dom);

/* The sub-ops, each with dom->lock held; answers as Xen's.  *shutdown is set when the last vCPU up
 * went down: the caller powers the domain off (Xen does) once it dropped the lock. */
long vcpu_power_initialise_locked(struct domain *dom, unsigned int id, const struct vcpu_boot_context *ctx);
long vcpu_power_up_locked(struct domain *dom, unsigned int id);
long vcpu_power_down_locked(struct domain *dom, unsigned int id, bool *shutdown);
bool vcpu_power_is_up_locked(const struct vcpu *vcpu);

/* For the vCPU's own thread, with dom->lock held. */
bool vcpu_power_wants_park_locked(const struct vcpu *vcpu);
/* A secondary that left KVM_RUN for a real exit was started by the guest's SIPI: it is up now.
 * True when that is news (its runstate then goes to running). */
bool vcpu_power_seen_running_locked(struct vcpu *vcpu);
/* Takes a pending context: true and *out filled when there was one. */
bool vcpu_power_take_context_locked(struct vcpu *vcpu, struct vcpu_boot_context *out);
/* From the vCPU's own thread, without dom->lock: its runstate goes offline or back to running. */
void vcpu_power_runstate(struct vcpu *vcpu, bool offline);

#endif
