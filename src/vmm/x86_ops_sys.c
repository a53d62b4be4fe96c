/* System instructions: int3 and int N, the VMX instructions (#UD: no nested VMX), xgetbv, the
 * fences and serialize (no-ops here), clflush and its
 * kin, rdrand/rdseed, rdpid, rd/wr fs/gs base, swapgs, clac/stac and rdpkru/wrpkru. */
#include "vmm/x86_emulate_int.h"

#define XS_PKRU 9
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_TSC_AUX 0xc0000103

int x86_op_nop(struct emu *e) { (void)e; return 0; }

int x86_op_ud(struct emu *e) { return emu_fault(e, X86_VEC_UD); }

int x86_op_clflush(struct emu *e)
{
	uint64_t la;
	return emu_operand_la(e, 0, 1, &la);   /* caches are the host's business; the address must be good */
}

int x86_op_int3(struct emu *e)
{
	emu_advance_rip(e);
	return emu_raise(e, X86_EVENT_TRAP, X86_VEC_BP, false, 0);
}

int x86_op_intn(struct emu *e)
{
	emu_advance_rip(e);
	return emu_raise(e, X86_EVENT_SOFT_INT, e->imm8, false, 0);
}

int x86_op_xgetbv(struct emu *e)
{
	struct x86_emu_cpu *c = e->cpu;
	uint64_t v;

	if (!(c->cr4 & X86_CR4_OSXSAVE))
		return emu_fault(e, X86_VEC_UD);
	if (emu_get_xstate(e))
		return STOP;
	switch ((uint32_t)c->gpr[X86_RCX]) {
	case 0: v = e->xs->xcr0; break;
	case 1: v = e->xs->xcr0 & xs_bv(e->xs); break;   /* XINUSE */
	default: return emu_gp0(e);
	}
	emu_reg_set(e, X86_RAX, 4, v & 0xffffffffull);
	emu_reg_set(e, X86_RDX, 4, v >> 32);
	return 0;
}

int x86_op_fsgsbase(struct emu *e)
{
	struct x86_emu_cpu *c = e->cpu;
	unsigned int seg = e->reg & 1 ? X86_GS : X86_FS;
	unsigned int bytes = rex_w(e) ? 8 : 4;

	if (!(c->cr4 & X86_CR4_FSGSBASE))
		return emu_fault(e, X86_VEC_UD);
	if ((e->reg & 7) < 2) {
		emu_reg_set(e, e->rm, bytes, c->seg_base[seg]);
		return 0;
	}
	uint64_t v = emu_reg_get(e, e->rm, bytes);
	unsigned int bits = c->cr4 & X86_CR4_LA57 ? 57 : 48;
	if ((uint64_t)((int64_t)(v << (64 - bits)) >> (64 - bits)) != v)
		return emu_gp0(e);
	c->seg_base[seg] = v;
	c->sregs_dirty = true;
	return 0;
}

int x86_op_rdrand(struct emu *e)
{
	uint64_t v = 0;
	bool ok = e->ops->random && e->ops->random(e->opaque, &v);

	emu_reg_set(e, e->rm, e->op_bytes, ok ? v : 0);
	emu_set_flags(e, X86_FLAGS_ARITH, ok ? X86_FLAGS_CF : 0);
	return 0;
}

int x86_op_rdpid(struct emu *e)
{
	uint64_t v;

	if (!e->ops->read_msr || !e->ops->read_msr(e->opaque, MSR_TSC_AUX, &v))
		return emu_give_up(e, "rdpid: IA32_TSC_AUX cannot be read");
	emu_reg_set(e, e->rm, long64(e) ? 8 : 4, long64(e) ? v : v & 0xffffffffull);
	return 0;
}

/* clac, stac: SMAP's override, kernel only. */
int x86_op_clac_stac(struct emu *e)
{
	if (e->cpu->cpl)
		return emu_fault(e, X86_VEC_UD);
	emu_set_flags(e, X86_FLAGS_AC, e->rm_low == 3 ? X86_FLAGS_AC : 0);
	return 0;
}

/* rdpkru, wrpkru: PKRU is XSAVE component 9 of the state (0 while in its init state). */
int x86_op_pkru(struct emu *e)
{
	struct x86_emu_cpu *c = e->cpu;
	bool write = e->rm_low == 7;

	if (!(c->cr4 & X86_CR4_PKE))
		return emu_fault(e, X86_VEC_UD);
	if ((uint32_t)c->gpr[X86_RCX] || (write && (uint32_t)c->gpr[X86_RDX]))
		return emu_gp0(e);
	if (emu_get_xstate(e))
		return STOP;
	struct x86_xstate *xs = e->xs;
	uint32_t off = xs->layout->offset[XS_PKRU];
	if (xs->layout->size[XS_PKRU] < 4 || off < XSAVE_AREA_MIN || off > xs->size - 4)
		return emu_give_up(e, "PKRU is not in the VMM's state buffer");
	if (!write) {
		emu_reg_set(e, X86_RAX, 4, xs_bv(xs) & (1ull << XS_PKRU) ? get32(xs->buf + off) : 0);
		emu_reg_set(e, X86_RDX, 4, 0);
		return 0;
	}
	if (!(xs_bv(xs) & (1ull << XS_PKRU)))
		memset(xs->buf + off, 0, xs->layout->size[XS_PKRU]);
	put32(xs->buf + off, (uint32_t)c->gpr[X86_RAX]);
	xs_set_bv(xs, xs_bv(xs) | (1ull << XS_PKRU));
	return 0;
}

int x86_op_swapgs(struct emu *e)
{
	struct x86_emu_cpu *c = e->cpu;
	uint64_t kernel_gs;

	if (c->cpl)
		return emu_gp0(e);
	if (!e->ops->read_msr || !e->ops->write_msr || !e->ops->read_msr(e->opaque, MSR_KERNEL_GS_BASE, &kernel_gs) ||
	    !e->ops->write_msr(e->opaque, MSR_KERNEL_GS_BASE, c->seg_base[X86_GS]))
		return emu_give_up(e, "swapgs: IA32_KERNEL_GS_BASE cannot be read or written");
	c->seg_base[X86_GS] = kernel_gs;
	c->sregs_dirty = true;
	return 0;
}
