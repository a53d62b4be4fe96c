/* The instruction emulator behind vcpu_emulate.c.
 *
 * KVM on PVM hosts runs guest ring-0 code through its own emulator, which gives up (an internal
 * error exit) on a few instructions Linux executes while booting.  These files finish those: the
 * bytes at rip are fetched through ops->access (the guest's page tables) and decoded (prefixes, the
 * opcode and the ModRM/SIB/displacement forms of 16-, 32- and 64-bit addressing: x86_decode.c), the
 * encoding is looked up in the one table of instruction forms below, and the row's function runs
 * against struct x86_emu_cpu, the XSAVE-format FPU state and guest memory (x86_ops_*.c, one file per
 * family; x86_emulate_int.h says which file holds what).
 *
 * Order matters as on the CPU: nothing is changed until every check and memory access that can
 * fault has passed.  Each function computes its results, writes memory (a write covers all of its
 * bytes or none, and multi-piece stores probe every piece first), and only then touches registers
 * and advances rip.  A fault leaves rip at the instruction and raises the exception the CPU would
 * (#UD, #NM, #GP(0), #PF with the error code the ops report, #MF).
 *
 * An opcode the table does not know at all is "unhandled": the caller crashes the domain naming the
 * bytes.  An unknown encoding of an opcode whose every valid form we know (0F AE, 0F C7, 0F B8) is
 * #UD, as the CPU would raise for it.  A new instruction is a function in its family's file and a
 * row here. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "vmm/x86_emulate_int.h"

/* ---- outcomes ---- */

int emu_raise(struct emu *e, enum x86_event_type type, uint8_t vector, bool has_error, uint32_t error)
{
	e->res->status = X86_EMU_EXCEPTION;
	e->res->event = (struct x86_event){ .type = type, .vector = vector, .has_error_code = has_error,
					     .error_code = error };
	return STOP;
}

int emu_fault(struct emu *e, uint8_t vector) { return emu_raise(e, X86_EVENT_FAULT, vector, false, 0); }
int emu_gp0(struct emu *e) { return emu_raise(e, X86_EVENT_FAULT, X86_VEC_GP, true, 0); }

int emu_page_fault(struct emu *e, uint64_t addr, uint32_t error)
{
	e->cpu->cr2 = addr;
	e->cpu->sregs_dirty = true;
	return emu_raise(e, X86_EVENT_FAULT, X86_VEC_PF, true, error);
}

int emu_give_up(struct emu *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	e->res->status = X86_EMU_UNHANDLED;
	vsnprintf(e->res->why, sizeof(e->res->why), fmt, ap);
	va_end(ap);
	return STOP;
}

void emu_advance_rip(struct emu *e)
{
	struct x86_emu_cpu *c = e->cpu;

	c->rip = (c->rip + e->res->length) & (c->mode == X86_MODE_LONG64 ? ~0ull : 0xffffffffull);
	c->regs_dirty = true;
}

/* ---- the table of instruction forms ---- */

#define K(x) X86_KIND_##x
static const struct insn_form forms[] = {
	{ 0, 0x9b, P_ANY, M_NONE, -1, -1, 0, 0, K(FWAIT), x86_op_fwait },
	{ 0, 0xcc, P_ANY, M_NONE, -1, -1, 0, 0, K(INT3), x86_op_int3 },
	{ 0, 0xcd, P_ANY, M_NONE, -1, -1, 1, 0, K(INTN), x86_op_intn },
	{ 0, 0xd9, P_ANY, M_REG, 2, 0, 0, 0, K(FNOP), x86_op_fnop },
	{ 0, 0xd9, P_ANY, M_MEM, 5, -1, 0, 0, K(FLDCW), x86_op_fldcw },
	{ 0, 0xd9, P_ANY, M_MEM, 7, -1, 0, 0, K(FNSTCW), x86_op_fnstcw },
	{ 0, 0xdb, P_ANY, M_REG, 4, 2, 0, 0, K(FNCLEX), x86_op_fnclex },
	{ 0, 0xdb, P_ANY, M_REG, 4, 3, 0, 0, K(FNINIT), x86_op_fninit },
	{ 0, 0xdd, P_ANY, M_MEM, 7, -1, 0, 0, K(FNSTSW), x86_op_fnstsw },
	{ 0, 0xdf, P_ANY, M_REG, 4, 0, 0, 0, K(FNSTSW), x86_op_fnstsw },
	{ 1, 0x01, P_NP, M_REG, 1, 2, 0, 0, K(CLAC_STAC), x86_op_clac_stac },
	{ 1, 0x01, P_NP, M_REG, 1, 3, 0, 0, K(CLAC_STAC), x86_op_clac_stac },
	{ 1, 0x01, P_NP, M_REG, 2, 0, 0, 0, K(XGETBV), x86_op_xgetbv },
	{ 1, 0x01, P_ANY, M_REG, 7, 0, 0, F_64, K(SWAPGS), x86_op_swapgs },
	{ 1, 0x01, P_NP, M_REG, 5, 0, 0, 0, K(SERIALIZE), x86_op_nop },
	{ 1, 0x01, P_NP, M_REG, 5, 6, 0, 0, K(PKRU), x86_op_pkru },
	{ 1, 0x01, P_NP, M_REG, 5, 7, 0, 0, K(PKRU), x86_op_pkru },
	{ 1, 0x78, P_NP, M_ANY, -1, -1, 0, 0, K(VMX), x86_op_ud },          /* vmread */
	{ 1, 0x79, P_NP, M_ANY, -1, -1, 0, 0, K(VMX), x86_op_ud },          /* vmwrite */
	{ 1, 0xae, P_NP, M_MEM, 0, -1, 0, 0, K(FXSAVE), x86_op_fxsave },
	{ 1, 0xae, P_NP, M_MEM, 1, -1, 0, 0, K(FXRSTOR), x86_op_fxrstor },
	{ 1, 0xae, P_NP, M_MEM, 2, -1, 0, 0, K(LDMXCSR), x86_op_ldmxcsr },
	{ 1, 0xae, P_NP, M_MEM, 3, -1, 0, 0, K(STMXCSR), x86_op_stmxcsr },
	{ 1, 0xae, P_NP, M_MEM, 4, -1, 0, 0, K(XSAVE), x86_op_xsave },
	{ 1, 0xae, P_NP, M_MEM, 5, -1, 0, 0, K(XRSTOR), x86_op_xrstor },
	{ 1, 0xae, P_NP, M_MEM, 6, -1, 0, 0, K(XSAVEOPT), x86_op_xsave },   /* done as xsave, which it may be */
	{ 1, 0xae, P_66, M_MEM, 6, -1, 0, 0, K(CLFLUSH), x86_op_clflush },  /* clwb */
	{ 1, 0xae, P_NP, M_MEM, 7, -1, 0, 0, K(CLFLUSH), x86_op_clflush },
	{ 1, 0xae, P_66, M_MEM, 7, -1, 0, 0, K(CLFLUSH), x86_op_clflush },  /* clflushopt */
	{ 1, 0xae, P_NP, M_REG, 5, -1, 0, 0, K(FENCE), x86_op_nop },        /* lfence */
	{ 1, 0xae, P_NP, M_REG, 6, -1, 0, 0, K(FENCE), x86_op_nop },        /* mfence */
	{ 1, 0xae, P_NP, M_REG, 7, -1, 0, 0, K(FENCE), x86_op_nop },        /* sfence */
	{ 1, 0xae, P_F3, M_REG, 0, -1, 0, F_64, K(FSGSBASE), x86_op_fsgsbase },
	{ 1, 0xae, P_F3, M_REG, 1, -1, 0, F_64, K(FSGSBASE), x86_op_fsgsbase },
	{ 1, 0xae, P_F3, M_REG, 2, -1, 0, F_64, K(FSGSBASE), x86_op_fsgsbase },
	{ 1, 0xae, P_F3, M_REG, 3, -1, 0, F_64, K(FSGSBASE), x86_op_fsgsbase },
	{ 1, 0xb8, P_F3, M_ANY, -1, -1, 0, 0, K(POPCNT), x86_op_popcnt },
	{ 1, 0xbc, P_F3, M_ANY, -1, -1, 0, 0, K(TZCNT), x86_op_tzcnt },
	{ 1, 0xbd, P_F3, M_ANY, -1, -1, 0, 0, K(LZCNT), x86_op_lzcnt },
	{ 1, 0xc7, P_ANY, M_MEM, 1, -1, 0, F_LOCK, K(CMPXCHG8B), x86_op_cmpxchg8b },   /* and cmpxchg16b */
	{ 1, 0xc7, P_NP, M_MEM, 3, -1, 0, 0, K(XRSTORS), x86_op_xrstors },
	{ 1, 0xc7, P_NP, M_MEM, 4, -1, 0, 0, K(XSAVEC), x86_op_xsavec },
	{ 1, 0xc7, P_NP, M_MEM, 5, -1, 0, 0, K(XSAVES), x86_op_xsaves },
	{ 1, 0xc7, P_ANY, M_MEM, 6, -1, 0, 0, K(VMX), x86_op_ud },          /* vmptrld, vmclear, vmxon */
	{ 1, 0xc7, P_NP, M_MEM, 7, -1, 0, 0, K(VMX), x86_op_ud },           /* vmptrst */
	{ 1, 0xc7, P_NOREP, M_REG, 6, -1, 0, 0, K(RDRAND), x86_op_rdrand },
	{ 1, 0xc7, P_NOREP, M_REG, 7, -1, 0, 0, K(RDRAND), x86_op_rdrand }, /* rdseed */
	{ 1, 0xc7, P_F3, M_REG, 7, -1, 0, 0, K(RDPID), x86_op_rdpid },
	{ 2, 0xf0, P_F2, M_ANY, -1, -1, 0, 0, K(CRC32), x86_op_crc32 },
	{ 2, 0xf1, P_F2, M_ANY, -1, -1, 0, 0, K(CRC32), x86_op_crc32 },
};
#undef K

static const struct opcode_ref owned_opcodes[] = {
	{ 1, 0xae }, { 1, 0xb8 }, { 1, 0xc7 },
};

static const struct insn_table insn_table = {
	.forms = forms, .n_forms = sizeof(forms) / sizeof(forms[0]),
	.owned = owned_opcodes, .n_owned = sizeof(owned_opcodes) / sizeof(owned_opcodes[0]),
};

static const char *const kind_names[] = {
#define X86_EMU_KIND_NAME(name, text) text,
	X86_EMU_KINDS(X86_EMU_KIND_NAME)
#undef X86_EMU_KIND_NAME
};

const char *x86_emu_kind_name(enum x86_emu_kind kind)
{
	return (unsigned int)kind < X86_KIND_COUNT ? kind_names[kind] : "?";
}

void x86_emulate(struct x86_emu_cpu *cpu, const struct x86_emu_ops *ops, void *opaque,
		 struct x86_emu_result *res)
{
	struct emu e = { .cpu = cpu, .ops = ops, .opaque = opaque, .res = res };

	memset(res, 0, sizeof(*res));
	res->kind = X86_KIND_COUNT;
	if (cpu->mode == X86_MODE_UNSUPPORTED) {
		emu_give_up(&e, "the vCPU is in real or virtual-8086 mode");
		return;
	}
	emu_prefetch(&e);
	res->n_bytes = e.avail;
	if (emu_decode(&e, &insn_table) || e.form->exec(&e))
		return;
	emu_advance_rip(&e);
	res->status = X86_EMU_DONE;
}
