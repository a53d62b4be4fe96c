/* x87 control (fwait, fnop, fninit, fnclex, fnstcw, fldcw, fnstsw) and SSE state (ldmxcsr, stmxcsr,
 * fxsave, fxrstor), on the XSAVE-format state of x86_xstate.c.  CR0.EM/TS/MP/NE and CR4.OSFXSR
 * decide #NM, #UD and #MF as on the CPU. */
#include "vmm/x86_emulate_int.h"

static int check_x87(struct emu *e)
{
	if (e->cpu->cr0 & (X86_CR0_EM | X86_CR0_TS))
		return emu_fault(e, X86_VEC_NM);
	return emu_get_xstate(e);
}

/* Waiting x87 instructions first deliver a pending unmasked exception. */
static int check_pending_x87(struct emu *e)
{
	uint8_t *fx = e->xs->buf;
	if ((xs_bv(e->xs) & XS_X87) && (get16(fx + FX_FSW) & 0x80) && (e->cpu->cr0 & X86_CR0_NE))
		return emu_fault(e, X86_VEC_MF);
	return 0;
}

static uint16_t x87_word(struct emu *e, unsigned int off)
{
	if (!(xs_bv(e->xs) & XS_X87))
		return off == FX_FCW ? FCW_INIT : 0;
	return get16(e->xs->buf + off);
}

static int check_sse(struct emu *e)
{
	if ((e->cpu->cr0 & X86_CR0_EM) || !(e->cpu->cr4 & X86_CR4_OSFXSR))
		return emu_fault(e, X86_VEC_UD);
	if (e->cpu->cr0 & X86_CR0_TS)
		return emu_fault(e, X86_VEC_NM);
	return emu_get_xstate(e);
}

/* ---- x87 ---- */

int x86_op_fwait(struct emu *e)
{
	if ((e->cpu->cr0 & (X86_CR0_MP | X86_CR0_TS)) == (X86_CR0_MP | X86_CR0_TS))
		return emu_fault(e, X86_VEC_NM);
	return emu_get_xstate(e) ?: check_pending_x87(e);
}

int x86_op_fnop(struct emu *e)
{
	return check_x87(e) ?: check_pending_x87(e);
}

int x86_op_fninit(struct emu *e)
{
	if (check_x87(e))
		return STOP;
	xs_make_live(e->xs, 0);
	uint8_t *fx = e->xs->buf;
	memset(fx, 0, FX_MXCSR);
	put16(fx + FX_FCW, FCW_INIT);
	return 0;
}

int x86_op_fnclex(struct emu *e)
{
	if (check_x87(e))
		return STOP;
	xs_make_live(e->xs, 0);
	put16(e->xs->buf + FX_FSW, get16(e->xs->buf + FX_FSW) & 0x7f00);   /* exception flags, SF, ES, B */
	return 0;
}

static int store16(struct emu *e, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
	return emu_write_operand(e, 0, b, 2, false);
}

int x86_op_fnstcw(struct emu *e)
{
	return check_x87(e) ?: store16(e, x87_word(e, FX_FCW));
}

int x86_op_fnstsw(struct emu *e)
{
	if (check_x87(e))
		return STOP;
	uint16_t sw = x87_word(e, FX_FSW);
	if (!e->mem) {
		emu_reg_set(e, X86_RAX, 2, sw);
		return 0;
	}
	return store16(e, sw);
}

int x86_op_fldcw(struct emu *e)
{
	uint8_t b[2];

	if (check_x87(e) || check_pending_x87(e) || emu_read_operand(e, 0, b, 2))
		return STOP;
	xs_make_live(e->xs, 0);
	uint16_t cw = get16(b), sw = get16(e->xs->buf + FX_FSW);
	/* ES and B follow the exceptions the new mask leaves unmasked. */
	sw = (sw & 0x3f & ~cw) ? sw | 0x8080 : sw & 0x7f7f;
	put16(e->xs->buf + FX_FCW, cw);
	put16(e->xs->buf + FX_FSW, sw);
	return 0;
}

/* ---- SSE ---- */

int x86_op_stmxcsr(struct emu *e)
{
	if (check_sse(e))
		return STOP;
	uint8_t b[4];
	put32(b, xs_mxcsr(e->xs));
	return emu_write_operand(e, 0, b, 4, false);
}

int x86_op_ldmxcsr(struct emu *e)
{
	uint8_t b[4];

	if (check_sse(e) || emu_read_operand(e, 0, b, 4))
		return STOP;
	if (get32(b) & ~xs_mxcsr_mask(e->xs))
		return emu_gp0(e);
	xs_make_live(e->xs, 1);
	put32(e->xs->buf + FX_MXCSR, get32(b));
	return 0;
}

int x86_op_fxsave(struct emu *e)
{
	uint8_t img[FX_SIZE];
	unsigned int len = FX_XMM + 16 * n_xmm(e);

	if (e->cpu->cr0 & (X86_CR0_EM | X86_CR0_TS))
		return emu_fault(e, X86_VEC_NM);
	if (emu_require_alignment(e, 16) || emu_get_xstate(e))
		return STOP;
	emu_legacy_image(e, img, rex_w(e));
	return emu_write_operand(e, 0, img, len, false);
}

int x86_op_fxrstor(struct emu *e)
{
	uint8_t img[FX_SIZE];

	if (e->cpu->cr0 & (X86_CR0_EM | X86_CR0_TS))
		return emu_fault(e, X86_VEC_NM);
	if (emu_require_alignment(e, 16) || emu_get_xstate(e) || emu_read_operand(e, 0, img, FX_SIZE))
		return STOP;
	if (get32(img + FX_MXCSR) & ~xs_mxcsr_mask(e->xs))
		return emu_gp0(e);
	xs_make_live(e->xs, 0);
	xs_make_live(e->xs, 1);
	emu_load_legacy(e, e->xs->buf, img, rex_w(e), true, true, true);
	return 0;
}
