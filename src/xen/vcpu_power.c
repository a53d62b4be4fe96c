/* vCPU hotplug as Xen does it for HVM/PVH guests, on KVM vCPU threads.
 *
 * Two ways a secondary vCPU starts, decided per vCPU:
 *  - the native one (Linux PVH: INIT/SIPI through the local APIC, CPUs listed in the MADT): every
 *    secondary's thread sits in KVM_RUN from the start, KVM's in-kernel LAPIC holding it in the
 *    wait-for-SIPI state; its first real exit shows it was started, and it counts as up from then;
 *  - Xen's (VCPUOP_initialise with a vcpu_hvm_context, then VCPUOP_up): initialise kicks the thread
 *    out of KVM_RUN and parks it (Xen leaves an initialised vCPU down); up wakes it, and the thread
 *    loads the context (KVM_SET_SREGS/REGS, mp_state runnable) itself before it enters the guest.
 * VCPUOP_down parks a vCPU's thread outside KVM_RUN (runstate offline) until VCPUOP_up; downing the
 * last vCPU up powers the domain off, as in Xen.  The state is each struct vcpu's `power`, under
 * dom->lock; runstates stay under xen.lock and are switched by the vCPU's own thread. */
#include <stdio.h>
#include <string.h>
#include "lib/error.h"
#include "vmm/domain.h"
#include "xen/runstate.h"
#include "xen/vcpu_power.h"
#include "xen/xen_state.h"

#define CR0_PE (1ull << 0)
#define CR0_PG (1ull << 31)
#define CR4_PAE (1ull << 5)
#define EFER_SCE (1ull << 0)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)
/* CR4 bits a context may set: VME..OSXMMEXCPT, UMIP, FSGSBASE, PCIDE, OSXSAVE, SMEP, SMAP, PKE. */
#define CR4_VALID (0x7ffull | (1ull << 11) | (1ull << 16) | (1ull << 17) | (1ull << 18) | (1ull << 20) | \
		   (1ull << 21) | (1ull << 22))
#define EFER_VALID (EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE)
/* The flags a guest can hold, and bit 1, which is always set. */
#define RFLAGS_ALL 0x3f7fd5ull
#define RFLAGS_MBS 0x2ull
#define SYS_DESC_TSS_BUSY 0xb

enum seg_kind { SEG_CS, SEG_DS, SEG_SS, SEG_ES, SEG_TR };
static const char *const seg_names[] = { "CS", "DS", "SS", "ES", "TR" };

/* A segment from its 32-bit attribute word (hvm_vcpu.h's layout), checked as Xen checks it. */
static int segment_32(enum seg_kind kind, uint32_t base, uint32_t limit, uint16_t ar, struct kvm_segment *s,
		      char *why, size_t whylen)
{
	const char *name = seg_names[kind];

	*s = (struct kvm_segment){
		.base = base, .limit = limit, .type = ar & 0xf, .s = (ar >> 4) & 1, .dpl = (ar >> 5) & 3,
		.present = (ar >> 7) & 1, .avl = (ar >> 8) & 1, .l = (ar >> 9) & 1, .db = (ar >> 10) & 1,
		.g = (ar >> 11) & 1,
	};
	if (ar >> 12) {
		ERR_SET(why, whylen, "%s attribute bits 12-15 are not zero (%#x)", name, ar);
		return -1;
	}
	if (ar == 0) {
		if (kind != SEG_DS && kind != SEG_ES) {
			ERR_SET(why, whylen, "%s has null attributes", name);
			return -1;
		}
		s->unusable = 1;
		return 0;
	}
	if (s->present)
		s->type |= kind == SEG_TR ? 2 : 1;         /* accessed, or busy for the TSS */
	if (kind == SEG_TR ? s->s || s->type != SYS_DESC_TSS_BUSY : !s->s) {
		ERR_SET(why, whylen, "%s: a %s descriptor where a %s one belongs (attributes %#x)", name,
			s->s ? "code/data" : "system", kind == SEG_TR ? "32-bit TSS" : "code/data", ar);
		return -1;
	}
	if (!s->present) {
		ERR_SET(why, whylen, "%s is not present", name);
		return -1;
	}
	bool code = s->type & 8, writable_or_readable = s->type & 2;
	if ((kind == SEG_CS && !code) || (kind == SEG_SS && (code || !writable_or_readable)) ||
	    ((kind == SEG_DS || kind == SEG_ES) && code && !writable_or_readable)) {
		ERR_SET(why, whylen, "%s: type %#x does not fit the register", name, s->type);
		return -1;
	}
	return 0;
}

static long from_32(const struct vcpu_hvm_x86_32 *r, struct vcpu_boot_context *out, char *why, size_t whylen)
{
	if (r->pad1 || r->pad2[0] || r->pad2[1] || r->pad2[2]) {
		ERR_SET(why, whylen, "32-bit context: padding is not zero");
		return -XEN_EINVAL;
	}
	if (segment_32(SEG_CS, r->cs_base, r->cs_limit, r->cs_ar, &out->cs, why, whylen) ||
	    segment_32(SEG_DS, r->ds_base, r->ds_limit, r->ds_ar, &out->ds, why, whylen) ||
	    segment_32(SEG_SS, r->ss_base, r->ss_limit, r->ss_ar, &out->ss, why, whylen) ||
	    segment_32(SEG_ES, r->es_base, r->es_limit, r->es_ar, &out->es, why, whylen) ||
	    segment_32(SEG_TR, r->tr_base, r->tr_limit, r->tr_ar, &out->tr, why, whylen))
		return -XEN_EINVAL;
	uint64_t limit = out->cs.g ? ((uint64_t)out->cs.limit << 12) | 0xfff : out->cs.limit;
	if (r->eip > limit) {
		ERR_SET(why, whylen, "EIP %#x is outside CS's limit %#llx", r->eip, (unsigned long long)limit);
		return -XEN_EINVAL;
	}
	if (out->ss.dpl != out->cs.dpl || (out->ds.present && out->ds.dpl > out->cs.dpl) ||
	    (out->es.present && out->es.dpl > out->cs.dpl)) {
		ERR_SET(why, whylen, "segment privilege levels disagree with CS's DPL %u", out->cs.dpl);
		return -XEN_EINVAL;
	}
	if ((r->efer & EFER_LMA) && !(r->efer & EFER_LME)) {
		ERR_SET(why, whylen, "EFER %#llx has LMA without LME", (unsigned long long)r->efer);
		return -XEN_EINVAL;
	}
	out->regs = (struct kvm_regs){
		.rax = r->eax, .rcx = r->ecx, .rdx = r->edx, .rbx = r->ebx, .rsp = r->esp, .rbp = r->ebp,
		.rsi = r->esi, .rdi = r->edi, .rip = r->eip, .rflags = (r->eflags & RFLAGS_ALL) | RFLAGS_MBS,
	};
	out->cr0 = r->cr0;
	out->cr3 = r->cr3;
	out->cr4 = r->cr4;
	out->efer = r->efer;
	return 0;
}

static bool canonical(uint64_t va)
{
	return (uint64_t)((int64_t)(va << 16) >> 16) == va;
}

static long from_64(const struct vcpu_hvm_x86_64 *r, struct vcpu_boot_context *out, char *why, size_t whylen)
{
	if (!canonical(r->rip)) {
		ERR_SET(why, whylen, "RIP %#llx is not canonical", (unsigned long long)r->rip);
		return -XEN_EINVAL;
	}
	if (!(r->cr0 & CR0_PG) || !(r->cr4 & CR4_PAE) || !(r->efer & EFER_LME)) {
		ERR_SET(why, whylen, "64-bit context without long mode: CR0 %#llx (needs PG), CR4 %#llx (needs PAE), "
			"EFER %#llx (needs LME)", (unsigned long long)r->cr0, (unsigned long long)r->cr4,
			(unsigned long long)r->efer);
		return -XEN_EINVAL;
	}
	out->regs = (struct kvm_regs){
		.rax = r->rax, .rcx = r->rcx, .rdx = r->rdx, .rbx = r->rbx, .rsp = r->rsp, .rbp = r->rbp,
		.rsi = r->rsi, .rdi = r->rdi, .rip = r->rip, .rflags = (r->rflags & RFLAGS_ALL) | RFLAGS_MBS,
	};
	out->cr0 = r->cr0;
	out->cr3 = r->cr3;
	out->cr4 = r->cr4;
	out->efer = r->efer;
	/* The flat long-mode segments Xen gives such a vCPU. */
	out->cs = (struct kvm_segment){ .limit = ~0u, .type = 0xb, .s = 1, .present = 1, .l = 1, .g = 1 };
	out->ds = (struct kvm_segment){ .limit = ~0u, .type = 3, .s = 1, .present = 1, .db = 1, .g = 1 };
	out->es = out->ss = out->ds;
	out->tr = (struct kvm_segment){ .limit = 0x67, .type = SYS_DESC_TSS_BUSY, .present = 1 };
	return 0;
}

long vcpu_context_from_hvm(const struct vcpu_hvm_context *ctx, struct vcpu_boot_context *out, char *why,
			   size_t whylen)
{
	long r;

	*out = (struct vcpu_boot_context){ 0 };
	if (ctx->pad) {
		ERR_SET(why, whylen, "context padding is not zero");
		return -XEN_EINVAL;
	}
	if (ctx->mode == VCPU_HVM_MODE_32B)
		r = from_32(&ctx->cpu_regs.x86_32, out, why, whylen);
	else if (ctx->mode == VCPU_HVM_MODE_64B)
		r = from_64(&ctx->cpu_regs.x86_64, out, why, whylen);
	else {
		ERR_SET(why, whylen, "unknown context mode %u", ctx->mode);
		return -XEN_EINVAL;
	}
	if (r)
		return r;
	if (out->cr4 & ~CR4_VALID) {
		ERR_SET(why, whylen, "CR4 %#llx sets reserved bits %#llx", (unsigned long long)out->cr4,
			(unsigned long long)(out->cr4 & ~CR4_VALID));
		return -XEN_EINVAL;
	}
	if (out->efer & ~EFER_VALID) {
		ERR_SET(why, whylen, "EFER %#llx sets reserved bits %#llx", (unsigned long long)out->efer,
			(unsigned long long)(out->efer & ~EFER_VALID));
		return -XEN_EINVAL;
	}
	if ((out->cr0 & CR0_PG) && !(out->cr0 & CR0_PE)) {
		ERR_SET(why, whylen, "CR0 %#llx has PG without PE", (unsigned long long)out->cr0);
		return -XEN_EINVAL;
	}
	if ((out->cr0 & CR0_PG) && (out->efer & EFER_LME) && !(out->cr4 & CR4_PAE)) {
		ERR_SET(why, whylen, "long mode (EFER %#llx) without CR4.PAE (%#llx)", (unsigned long long)out->efer,
			(unsigned long long)out->cr4);
		return -XEN_EINVAL;
	}
	/* Xen sets LMA with LME; the hardware holds it only with paging on, so KVM gets it then only. */
	out->efer &= ~EFER_LMA;
	if ((out->efer & EFER_LME) && (out->cr0 & CR0_PG))
		out->efer |= EFER_LMA;
	/* FS and GS are not in the context: flat data, as DS; no LDT. */
	out->fs = out->gs = out->ds;
	if (out->ds.unusable)
		out->fs = out->gs = (struct kvm_segment){ .limit = 0xffff, .type = 3, .s = 1, .present = 1 };
	out->ldt = (struct kvm_segment){ .type = 2, .unusable = 1 };
	return 0;
}

void vcpu_context_apply(const struct vcpu_boot_context *ctx, struct kvm_sregs *s)
{
	s->cs = ctx->cs;
	s->ds = ctx->ds;
	s->es = ctx->es;
	s->fs = ctx->fs;
	s->gs = ctx->gs;
	s->ss = ctx->ss;
	s->tr = ctx->tr;
	s->ldt = ctx->ldt;
	s->cr0 = ctx->cr0;
	s->cr3 = ctx->cr3;
	s->cr4 = ctx->cr4;
	s->efer = ctx->efer;
}

void vcpu_power_init(struct domain *dom)
{
	pthread_mutex_lock(&dom->xen.lock);
	for (unsigned int i = 1; i < dom->n_vcpus && i < XEN_MAX_VCPUS; i++)
		dom->xen.vcpu[i].runstate.state = RUNSTATE_offline;
	pthread_mutex_unlock(&dom->xen.lock);
}

static bool initialised(const struct vcpu *vcpu)
{
	return vcpu->id == 0 || vcpu->power.initialised;
}

bool vcpu_power_is_up_locked(const struct vcpu *vcpu)
{
	return vcpu->power.state == VCPU_POWER_UP || (vcpu->power.state == VCPU_POWER_BOOT && vcpu->id == 0);
}

long vcpu_power_initialise_locked(struct domain *dom, unsigned int id, const struct vcpu_boot_context *ctx)
{
	struct vcpu *vcpu = &dom->vcpus[id];

	if (initialised(vcpu))
		return -XEN_EEXIST;
	vcpu->power.context = *ctx;
	vcpu->power.context_pending = true;
	vcpu->power.initialised = true;
	vcpu->power.state = VCPU_POWER_DOWN;      /* Xen leaves it down until VCPUOP_up */
	vcpu_kick(vcpu);                          /* out of its wait for SIPI, to park */
	return 0;
}

long vcpu_power_up_locked(struct domain *dom, unsigned int id)
{
	struct vcpu *vcpu = &dom->vcpus[id];

	if (!initialised(vcpu))
		return -XEN_EINVAL;
	if (vcpu->power.state == VCPU_POWER_DOWN) {
		vcpu->power.state = VCPU_POWER_UP;
		pthread_cond_broadcast(&dom->unpaused);
	}
	return 0;                                 /* already up: nothing to do, as Xen */
}

long vcpu_power_down_locked(struct domain *dom, unsigned int id, bool *shutdown)
{
	bool others_up = false;

	*shutdown = false;
	for (unsigned int i = 0; i < dom->n_vcpus; i++)
		if (i != id && vcpu_power_is_up_locked(&dom->vcpus[i]))
			others_up = true;
	if (!others_up) {
		*shutdown = true;                 /* the last one: Xen powers the domain off */
		return 0;
	}
	struct vcpu *vcpu = &dom->vcpus[id];
	if (vcpu->power.state != VCPU_POWER_DOWN) {
		vcpu->power.state = VCPU_POWER_DOWN;
		vcpu->power.initialised = true;    /* a SIPI-started one comes back by VCPUOP_up */
		vcpu_kick(vcpu);
	}
	return 0;
}

bool vcpu_power_wants_park_locked(const struct vcpu *vcpu)
{
	return vcpu->power.state == VCPU_POWER_DOWN;
}

bool vcpu_power_seen_running_locked(struct vcpu *vcpu)
{
	if (vcpu->power.state != VCPU_POWER_BOOT || vcpu->id == 0)
		return false;
	vcpu->power.state = VCPU_POWER_UP;
	vcpu->power.initialised = true;
	return true;
}

bool vcpu_power_take_context_locked(struct vcpu *vcpu, struct vcpu_boot_context *out)
{
	if (!vcpu->power.context_pending)
		return false;
	*out = vcpu->power.context;
	vcpu->power.context_pending = false;
	return true;
}

void vcpu_power_runstate(struct vcpu *vcpu, bool offline)
{
	pthread_mutex_lock(&vcpu->dom->xen.lock);
	xen_runstate_switch_locked(vcpu, offline ? RUNSTATE_offline : RUNSTATE_running);
	pthread_mutex_unlock(&vcpu->dom->xen.lock);
}
