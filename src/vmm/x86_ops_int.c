/* Integer instructions: cmpxchg8b/cmpxchg16b, popcnt, lzcnt, tzcnt and crc32. */
#include "vmm/x86_emulate_int.h"

int x86_op_cmpxchg8b(struct emu *e)
{
	struct x86_emu_cpu *c = e->cpu;
	unsigned int half = rex_w(e) ? 8 : 4;
	uint64_t old[2], new_val[2], la;
	uint32_t pf = 0;
	uint64_t addr = 0;
	bool swapped = false;

	e->res->kind = half == 8 ? X86_KIND_CMPXCHG16B : X86_KIND_CMPXCHG8B;
	if (half == 8 && emu_require_alignment(e, 16))
		return STOP;
	if (emu_operand_la(e, 0, 2 * half, &la))
		return STOP;
	if (half == 8) {
		old[0] = c->gpr[X86_RAX], old[1] = c->gpr[X86_RDX];
		new_val[0] = c->gpr[X86_RBX], new_val[1] = c->gpr[X86_RCX];
	} else {
		old[0] = (c->gpr[X86_RAX] & 0xffffffffull) | c->gpr[X86_RDX] << 32;
		new_val[0] = (c->gpr[X86_RBX] & 0xffffffffull) | c->gpr[X86_RCX] << 32;
	}
	if ((la & 4095) + 2 * half > 4096)
		return emu_give_up(e, "cmpxchg8b operand crosses a page");
	enum x86_mem_result r = e->ops->cmpxchg(e->opaque, la, old, new_val, 2 * half, &swapped, &pf, &addr);
	if (emu_mem_result(e, r, pf, addr))
		return STOP;
	if (swapped) {
		emu_set_flags(e, X86_FLAGS_ZF, X86_FLAGS_ZF);
	} else {
		emu_set_flags(e, X86_FLAGS_ZF, 0);
		emu_reg_set(e, X86_RAX, half, half == 8 ? old[0] : old[0] & 0xffffffffull);
		emu_reg_set(e, X86_RDX, half, half == 8 ? old[1] : old[0] >> 32);
	}
	return 0;
}

int x86_op_popcnt(struct emu *e)
{
	uint64_t v;

	if (emu_rm_value(e, e->op_bytes, &v))
		return STOP;
	emu_set_flags(e, X86_FLAGS_ARITH, v ? 0 : X86_FLAGS_ZF);
	emu_reg_set(e, e->reg, e->op_bytes, (uint64_t)__builtin_popcountll(v));
	return 0;
}

/* lzcnt, tzcnt: CF says the source was 0 (the count is the operand's width), ZF that the count is 0. */
static int zero_count(struct emu *e, bool leading)
{
	unsigned int bytes = e->op_bytes, bits = bytes * 8;
	uint64_t v, r;

	if (emu_rm_value(e, bytes, &v))
		return STOP;
	if (!v)
		r = bits;
	else
		r = leading ? (uint64_t)(__builtin_clzll(v) - (64 - bits)) : (uint64_t)__builtin_ctzll(v);
	emu_set_flags(e, X86_FLAGS_CF | X86_FLAGS_ZF, (v ? 0 : X86_FLAGS_CF) | (r ? 0 : X86_FLAGS_ZF));
	emu_reg_set(e, e->reg, bytes, r);
	return 0;
}

int x86_op_lzcnt(struct emu *e) { return zero_count(e, true); }
int x86_op_tzcnt(struct emu *e) { return zero_count(e, false); }

/* CRC-32C (Castagnoli), bit-reflected, without the pre/post inversion software adds. */
int x86_op_crc32(struct emu *e)
{
	unsigned int bytes = e->opcode == 0xf0 ? 1 : e->op_bytes;
	uint64_t v;
	uint32_t crc = (uint32_t)e->cpu->gpr[e->reg];

	if (emu_rm_value(e, bytes, &v))
		return STOP;
	for (unsigned int i = 0; i < bytes * 8; i++, v >>= 1) {
		crc ^= v & 1;
		crc = (crc >> 1) ^ (0x82f63b78u & -(crc & 1));
	}
	emu_reg_set(e, e->reg, 4, crc);   /* the 64-bit form too: the upper half is cleared */
	return 0;
}
