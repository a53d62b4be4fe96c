/* The KVM side of the instruction emulator: registers from the sync-regs area of kvm_run (written
 * back through kvm_dirty_regs), memory through the guest's page tables (guest_access.c), the FPU
 * state through KVM_GET/SET_XSAVE (KVM_GET/SET_FPU where the host has no XSAVE) and XCR0 through
 * KVM_GET_XCRS, fetched only for instructions that need them, and exceptions queued with
 * KVM_SET_VCPU_EVENTS.  The logic is in x86_emulate.c, which the unit tests run on a fake vCPU. */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include "lib/error.h"
#include "vmm/domain.h"
#include "vmm/guest_access.h"
#include "vmm/vcpu_emulate.h"

#define PF_P 1u
#define PF_W 2u
#define PF_U 4u
#define PF_I 16u
#define EFER_NXE (1ull << 11)
#define EFER_LMA (1ull << 10)
#define RFLAGS_VM (1ull << 17)
#define MSR_IA32_XSS 0xda0

struct emu_ctx {
	struct vcpu *vcpu;
	bool xs_loaded, xs_from_fpu;
	struct x86_xstate xs;
	struct x86_xstate_layout layout;
	struct kvm_xsave xsave;
};

/* ---- memory ---- */

/* One page's worth of an access: its host address, or the fault with the CPU's error code. */
static enum x86_mem_result map_chunk(void *opaque, uint64_t la, size_t len, enum x86_access acc,
				     void **hva, uint32_t *pf_error, uint64_t *fault_addr)
{
	struct emu_ctx *c = opaque;
	const struct kvm_sregs *s = &c->vcpu->run->s.regs.sregs;
	bool write = acc == X86_ACC_WRITE || acc == X86_ACC_PROBE_WRITE;
	uint64_t gpa;

	if (guest_virt_to_phys(c->vcpu, la, write, &gpa)) {
		/* The walker tells no reason: a write that a read would pass hit a present page. */
		*pf_error = (write ? PF_W : 0) | (s->ss.dpl == 3 ? PF_U : 0) |
			    (acc == X86_ACC_FETCH && (s->efer & EFER_NXE) ? PF_I : 0);
		if (write && !guest_virt_to_phys(c->vcpu, la, false, &gpa))
			*pf_error |= PF_P;
		*fault_addr = la;
		return X86_MEM_FAULT;
	}
	*hva = vm_gpa_to_hva(&c->vcpu->dom->vm, gpa, len);
	return *hva ? X86_MEM_OK : X86_MEM_UNHANDLED;
}

static enum x86_mem_result emu_access(void *opaque, uint64_t la, void *buf, size_t len, enum x86_access acc,
				      uint32_t *pf_error, uint64_t *fault_addr)
{
	return x86_access_pages(opaque, map_chunk, la, buf, len, acc, pf_error, fault_addr);
}

/* Really atomic, as other vCPUs may be at the same word (SLUB's cmpxchg16b). */
static enum x86_mem_result emu_cmpxchg(void *opaque, uint64_t la, void *old, const void *new_val, size_t len,
				       bool *swapped, uint32_t *pf_error, uint64_t *fault_addr)
{
	uint64_t o[2], n[2];
	void *hva;
	enum x86_mem_result r = map_chunk(opaque, la, len, X86_ACC_WRITE, &hva, pf_error, fault_addr);

	if (r != X86_MEM_OK)
		return r;
	memcpy(o, old, len);
	memcpy(n, new_val, len);
	if (len == 16)
		__asm__ volatile("lock cmpxchg16b %2" : "+a"(o[0]), "+d"(o[1]), "+m"(*(volatile uint64_t (*)[2])hva),
				 "=@ccz"(*swapped) : "b"(n[0]), "c"(n[1]) : "memory");
	else
		__asm__ volatile("lock cmpxchgq %3, %1" : "+a"(o[0]), "+m"(*(volatile uint64_t *)hva), "=@ccz"(*swapped)
				 : "r"(n[0]) : "memory");
	memcpy(old, o, len);
	return X86_MEM_OK;
}

/* ---- FPU state ---- */

static uint32_t host_mxcsr_mask(void)
{
	uint8_t area[512] __attribute__((aligned(16))) = { 0 };
	uint32_t mask;

	__asm__ volatile("fxsave64 %0" : "=m"(area));
	memcpy(&mask, area + 28, 4);
	return mask;
}

static bool vcpu_msr(struct vcpu *vcpu, uint32_t index, uint64_t *value)
{
	struct { struct kvm_msrs hdr; struct kvm_msr_entry e; } m = { .hdr.nmsrs = 1, .e.index = index };

	if (ioctl(vcpu->fd, KVM_GET_MSRS, &m) != 1)
		return false;
	*value = m.e.data;
	return true;
}

/* Without XSAVE on the host: the KVM_GET_FPU layout moved into a legacy region (x87 and SSE only). */
static bool load_fpu(struct emu_ctx *c)
{
	struct kvm_fpu f;
	uint8_t *b = (uint8_t *)c->xsave.region;
	uint64_t bv = 3;

	if (ioctl(c->vcpu->fd, KVM_GET_FPU, &f) < 0)
		return false;
	memset(&c->xsave, 0, sizeof(c->xsave));
	memcpy(b + 0, &f.fcw, 2);
	memcpy(b + 2, &f.fsw, 2);
	b[4] = f.ftwx;
	memcpy(b + 6, &f.last_opcode, 2);
	memcpy(b + 8, &f.last_ip, 8);
	memcpy(b + 16, &f.last_dp, 8);
	memcpy(b + 24, &f.mxcsr, 4);
	memcpy(b + 32, f.fpr, sizeof(f.fpr));
	memcpy(b + 160, f.xmm, sizeof(f.xmm));
	memcpy(b + 512, &bv, 8);
	c->xs.xcr0 = 3;
	c->xs_from_fpu = true;
	return true;
}

static bool store_fpu(struct emu_ctx *c)
{
	struct kvm_fpu f = { 0 };
	const uint8_t *b = (const uint8_t *)c->xsave.region;

	memcpy(&f.fcw, b + 0, 2);
	memcpy(&f.fsw, b + 2, 2);
	f.ftwx = b[4];
	memcpy(&f.last_opcode, b + 6, 2);
	memcpy(&f.last_ip, b + 8, 8);
	memcpy(&f.last_dp, b + 16, 8);
	memcpy(&f.mxcsr, b + 24, 4);
	memcpy(f.fpr, b + 32, sizeof(f.fpr));
	memcpy(f.xmm, b + 160, sizeof(f.xmm));
	return ioctl(c->vcpu->fd, KVM_SET_FPU, &f) == 0;
}

static struct x86_xstate *emu_xstate(void *opaque)
{
	struct emu_ctx *c = opaque;
	struct kvm_xcrs xcrs;

	if (c->xs_loaded)
		return &c->xs;
	c->xs = (struct x86_xstate){ .buf = (uint8_t *)c->xsave.region, .size = sizeof(c->xsave.region),
				     .layout = &c->layout, .mxcsr_mask = host_mxcsr_mask() };
	x86_xstate_layout_host(&c->layout);
	if (ioctl(c->vcpu->fd, KVM_GET_XSAVE, &c->xsave) == 0) {
		c->xs.xcr0 = 3;
		if (ioctl(c->vcpu->fd, KVM_GET_XCRS, &xcrs) == 0)
			for (unsigned int i = 0; i < xcrs.nr_xcrs && i < KVM_MAX_XCRS; i++)
				if (xcrs.xcrs[i].xcr == 0)
					c->xs.xcr0 = xcrs.xcrs[i].value;
		if (!vcpu_msr(c->vcpu, MSR_IA32_XSS, &c->xs.xss))
			c->xs.xss = 0;
	} else if (!load_fpu(c)) {
		return NULL;
	}
	c->xs_loaded = true;
	return &c->xs;
}

static bool emu_read_msr(void *opaque, uint32_t index, uint64_t *value)
{
	return vcpu_msr(((struct emu_ctx *)opaque)->vcpu, index, value);
}

static bool emu_write_msr(void *opaque, uint32_t index, uint64_t value)
{
	struct vcpu *vcpu = ((struct emu_ctx *)opaque)->vcpu;
	struct { struct kvm_msrs hdr; struct kvm_msr_entry e; } m = { .hdr.nmsrs = 1, .e.index = index, .e.data = value };

	return ioctl(vcpu->fd, KVM_SET_MSRS, &m) == 1;
}

static bool emu_random(void *opaque, uint64_t *value)
{
	(void)opaque;
	return getrandom(value, sizeof(*value), GRND_NONBLOCK) == sizeof(*value);
}

static const struct x86_emu_ops emu_ops = {
	.access = emu_access, .cmpxchg = emu_cmpxchg, .xstate = emu_xstate,
	.read_msr = emu_read_msr, .write_msr = emu_write_msr, .random = emu_random,
};

/* ---- registers in and out ---- */

static void cpu_from_run(struct x86_emu_cpu *cpu, const struct kvm_run *run)
{
	const struct kvm_regs *r = &run->s.regs.regs;
	const struct kvm_sregs *s = &run->s.regs.sregs;
	const uint64_t gpr[16] = { r->rax, r->rcx, r->rdx, r->rbx, r->rsp, r->rbp, r->rsi, r->rdi,
				   r->r8, r->r9, r->r10, r->r11, r->r12, r->r13, r->r14, r->r15 };
	const struct kvm_segment *seg[X86_NSEGS] = { &s->es, &s->cs, &s->ss, &s->ds, &s->fs, &s->gs };

	*cpu = (struct x86_emu_cpu){ .rip = r->rip, .rflags = r->rflags, .cpl = s->ss.dpl,
				     .cr0 = s->cr0, .cr2 = s->cr2, .cr4 = s->cr4 };
	memcpy(cpu->gpr, gpr, sizeof(gpr));
	for (int i = 0; i < X86_NSEGS; i++)
		cpu->seg_base[i] = seg[i]->base;
	if (!(s->cr0 & 1) || (r->rflags & RFLAGS_VM))
		cpu->mode = X86_MODE_UNSUPPORTED;
	else if ((s->efer & EFER_LMA) && s->cs.l)
		cpu->mode = X86_MODE_LONG64;
	else
		cpu->mode = s->cs.db ? X86_MODE_PROT32 : X86_MODE_PROT16;
}

static void cpu_to_run(const struct x86_emu_cpu *cpu, struct kvm_run *run)
{
	struct kvm_regs *r = &run->s.regs.regs;
	struct kvm_sregs *s = &run->s.regs.sregs;
	__u64 *gpr[16] = { &r->rax, &r->rcx, &r->rdx, &r->rbx, &r->rsp, &r->rbp, &r->rsi, &r->rdi,
			      &r->r8, &r->r9, &r->r10, &r->r11, &r->r12, &r->r13, &r->r14, &r->r15 };

	if (cpu->regs_dirty) {
		for (int i = 0; i < 16; i++)
			*gpr[i] = cpu->gpr[i];
		r->rip = cpu->rip;
		r->rflags = cpu->rflags;
		run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
	}
	if (cpu->sregs_dirty) {
		s->cr2 = cpu->cr2;
		s->fs.base = cpu->seg_base[X86_FS];
		s->gs.base = cpu->seg_base[X86_GS];
		run->kvm_dirty_regs |= KVM_SYNC_X86_SREGS;
	}
}

static bool queue_event(struct vcpu *vcpu, const struct x86_event *ev, char *why, size_t len)
{
	struct kvm_vcpu_events events;

	if (ioctl(vcpu->fd, KVM_GET_VCPU_EVENTS, &events) < 0) {
		ERR_SET(why, len, "vCPU %u: KVM_GET_VCPU_EVENTS: %s", vcpu->id, strerror(errno));
		return false;
	}
	if (events.exception.injected || events.exception.pending || events.interrupt.injected) {
		ERR_SET(why, len, "vCPU %u: an event is already being delivered (vector %u)", vcpu->id,
			events.exception.injected ? events.exception.nr : events.interrupt.nr);
		return false;
	}
	if (ev->type == X86_EVENT_SOFT_INT) {
		events.interrupt.injected = 1;
		events.interrupt.nr = ev->vector;
		events.interrupt.soft = 1;
	} else {
		events.exception.injected = 1;
		events.exception.nr = ev->vector;
		events.exception.has_error_code = ev->has_error_code;
		events.exception.error_code = ev->error_code;
	}
	events.flags &= ~KVM_VCPUEVENT_VALID_PAYLOAD;
	if (ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS, &events) < 0) {
		ERR_SET(why, len, "vCPU %u: KVM_SET_VCPU_EVENTS: %s", vcpu->id, strerror(errno));
		return false;
	}
	return true;
}

static void describe_bytes(const struct x86_emu_result *res, char *out, size_t len)
{
	unsigned int count = res->length ? res->length : res->n_bytes;   /* the instruction, once decoded */
	size_t n = 0;

	out[0] = 0;
	for (unsigned int i = 0; i < count && n + 4 < len; i++)
		n += (size_t)snprintf(out + n, len - n, "%s%02x", i ? " " : "", res->bytes[i]);
	if (!res->n_bytes)
		snprintf(out, len, "(unreadable)");
}

bool vcpu_emulate(struct vcpu *vcpu, struct x86_emu_stats *stats, char *why, size_t len)
{
	struct emu_ctx ctx = { .vcpu = vcpu };
	struct x86_emu_cpu cpu;
	struct x86_emu_result res;
	char bytes[64];

	cpu_from_run(&cpu, vcpu->run);
	uint64_t rip = cpu.rip;
	x86_emulate(&cpu, &emu_ops, &ctx, &res);
	describe_bytes(&res, bytes, sizeof(bytes));
	if (res.status == X86_EMU_UNHANDLED) {
		if (stats)
			stats->unhandled++;
		snprintf(why, len, "vCPU %u: no emulation at rip %#llx (%s): %s",
			 vcpu->id, (unsigned long long)rip, bytes, res.why);
		return false;
	}
	if (ctx.xs.dirty) {
		bool ok = ctx.xs_from_fpu ? store_fpu(&ctx) : ioctl(vcpu->fd, KVM_SET_XSAVE, &ctx.xsave) == 0;
		if (!ok) {
			snprintf(why, len, "vCPU %u: storing the FPU state after emulating %s: %s", vcpu->id,
				 x86_emu_kind_name(res.kind), strerror(errno));
			return false;
		}
	}
	if (res.status == X86_EMU_EXCEPTION && !queue_event(vcpu, &res.event, why, len))
		return false;
	cpu_to_run(&cpu, vcpu->run);
	if (stats && res.kind < X86_KIND_COUNT && stats->count[res.kind]++ == 0)
		LOG("vCPU %u: emulating %s for KVM (first at rip %#llx: %s)", vcpu->id,
		    x86_emu_kind_name(res.kind), (unsigned long long)rip, bytes);
	return true;
}
