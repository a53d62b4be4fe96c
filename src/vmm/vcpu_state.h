/* One vCPU's architectural state as KVM holds it, for save/restore and migration (MIG_REC_VCPU,
 * docs/migration.md): general and segment registers, FPU/SSE/AVX (xsave, or the legacy FPU area
 * where the host has no XSAVE), XCRs, the MSRs that matter to a running guest (KVM's list, filtered
 * to those it can both get and set), the local APIC's registers, pending events (exceptions,
 * interrupts, NMI), debug registers and the multiprocessing state.
 *
 * Capture and load run on a vCPU that is not in KVM_RUN (the domain paused, its threads parked, or
 * not started yet).  Registers a vCPU thread left in its run area to be written on its next entry
 * (kvm_dirty_regs: a hypercall's result) are the current ones: capture takes them from there, and
 * load clears them so the loaded state wins.
 *
 * Record body (little-endian), a sequence of sections, each  u32 id  u32 len  len bytes:
 *   1 REGS (struct kvm_regs)   2 SREGS (struct kvm_sregs)   3 XSAVE (struct kvm_xsave, 4096 bytes)
 *   4 FPU (struct kvm_fpu)     5 XCRS (struct kvm_xcrs)      6 MSRS (u32 n, u32 pad, n x {u32 index,
 *   u32 pad, u64 data})        7 LAPIC (struct kvm_lapic_state)  8 EVENTS (struct kvm_vcpu_events)
 *   9 MP_STATE (struct kvm_mp_state)  10 DEBUGREGS (struct kvm_debugregs)
 * preceded by a fixed head: u32 vcpu_id  u32 flags (bit 0: online).  REGS, SREGS and MP_STATE are
 * required; exactly one of XSAVE and FPU; the rest as the source host had them.  Each section appears at
 * most once and has exactly its struct's size (MSRS: 8 + 16 n, n at most VCPU_STATE_MAX_MSRS).
 * A section id not listed is refused (a newer stream).  Loading checks what KVM cannot: segment and
 * control-register values a guest could never have had are left to KVM_SET_SREGS's own refusal,
 * which becomes the load's error. */
#ifndef XENITH_VCPU_STATE_H
#define XENITH_VCPU_STATE_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vcpu;

#define VCPU_STATE_MAX_MSRS 128

enum vcpu_state_section {
	VCPU_SEC_REGS = 1, VCPU_SEC_SREGS, VCPU_SEC_XSAVE, VCPU_SEC_FPU, VCPU_SEC_XCRS, VCPU_SEC_MSRS,
	VCPU_SEC_LAPIC, VCPU_SEC_EVENTS, VCPU_SEC_MP_STATE, VCPU_SEC_DEBUGREGS, VCPU_SEC_COUNT
};

struct vcpu_state_msr { uint32_t index, pad; uint64_t data; };

/* The decoded state: plain data, so the encoding is testable without KVM. */
struct vcpu_state {
	uint32_t vcpu_id;
	bool online;
	uint32_t present;                  /* bit per enum vcpu_state_section */
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_xsave xsave;
	struct kvm_fpu fpu;
	struct kvm_xcrs xcrs;
	uint32_t n_msrs;
	struct vcpu_state_msr msrs[VCPU_STATE_MAX_MSRS];
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events events;
	struct kvm_mp_state mp_state;
	struct kvm_debugregs debugregs;
};

/* The upper bound of an encoded record (stream.c's bound for MIG_REC_VCPU). */
size_t vcpu_state_encoded_max(void);
/* Encodes into buf (at least vcpu_state_encoded_max() bytes): the length. */
size_t vcpu_state_encode(const struct vcpu_state *s, uint8_t *buf);
/* Decodes and checks a record body (the rules above).  0, or -1 with err. */
int vcpu_state_decode(const uint8_t *body, size_t len, struct vcpu_state *s, char *err, size_t errlen);

/* Reads the vCPU's state from KVM (see above for when).  0, or -1 with err naming the ioctl. */
int vcpu_state_capture(struct vcpu *vcpu, struct vcpu_state *s, char *err, size_t errlen);
/* Loads a decoded state into the vCPU; MSRs KVM refuses are an error naming the MSR.  0, or -1. */
int vcpu_state_load(struct vcpu *vcpu, const struct vcpu_state *s, char *err, size_t errlen);
/* The register a suspended guest's SCHEDOP_shutdown(SHUTDOWN_suspend) returns in: Xen answers 0
 * when the domain was resumed elsewhere (restore, migration) and 1 when the suspend was cancelled
 * and it runs on where it was (xl save -c, a failed migration). */
void vcpu_state_set_return(struct vcpu_state *s, uint64_t value);
/* The same on a live vCPU that is not in KVM_RUN (the source after a cancel).  0, or -1 with err. */
int vcpu_set_return(struct vcpu *vcpu, uint64_t value, char *err, size_t errlen);

#endif
